/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * listen.c - listening sockets for the daemons: unix:PATH, inet:PORT@ADDR
 *
 * A unix socket is bound under a umask that yields exactly `mode` and
 * handed to its owner with daemon_socket_chown() (through a descriptor,
 * never following a link someone put in its place) before listen(): no
 * client can connect while the permissions are still wrong.
 * Before binding, an existing socket file is probed with connect(): refused
 * means a dead process left it (removed); accepted means another daemon is
 * running (refused to start). The device and inode of the socket are kept
 * so listen_close() removes only its own file, not a successor's.
 *
 * DIAGNOSTICS
 *   See ses_listen.h.
 */
#include "config.h"

#include "ses_daemon.h"
#include "ses_listen.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct listener {
    int fd;
    int is_unix;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev;
    ino_t ino;
};

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

/* Removes a stale socket at path; LISTEN_OK when the path is free. */
static listen_status_t clear_stale(const struct sockaddr_un *sa, char *err,
                                   size_t errlen)
{
    struct stat st;
    int fd, rc;

    if (lstat(sa->sun_path, &st) < 0) {
        if (errno == ENOENT)
            return LISTEN_OK;
        snprintf(err, errlen, "%s: %s", sa->sun_path, strerror(errno));
        return LISTEN_TEMPFAIL;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", sa->sun_path);
        return LISTEN_INVALID;
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return LISTEN_TEMPFAIL;
    }
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen,
                 "another process is listening on %s (is ses-relay already "
                 "running?)",
                 sa->sun_path);
        return LISTEN_TEMPFAIL;
    }
    if (errno != ECONNREFUSED) {
        snprintf(err, errlen, "cannot probe %s: %s", sa->sun_path,
                 strerror(errno));
        return LISTEN_TEMPFAIL;
    }
    if (unlink(sa->sun_path) < 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove the stale socket %s: %s",
                 sa->sun_path, strerror(errno));
        return LISTEN_TEMPFAIL;
    }
    return LISTEN_OK;
}

static listen_status_t open_unix(const listen_opts_t *o, const char *path,
                                 listener_t *l, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;
    listen_status_t ls;
    mode_t old;
    int rc;

    if (*path != '/' || strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen,
                 "socket path must be absolute and shorter "
                 "than %zu bytes",
                 sizeof(sa.sun_path));
        return LISTEN_INVALID;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    str_copy(sa.sun_path, path, sizeof(sa.sun_path));
    if ((ls = clear_stale(&sa, err, errlen)) != LISTEN_OK)
        return ls;
    if ((l->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || set_flags(l->fd) < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return LISTEN_TEMPFAIL;
    }
    old = umask((mode_t)(~o->mode & 0777));
    rc = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0) {
        snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
        return LISTEN_TEMPFAIL;
    }
    str_copy(l->path, path, sizeof(l->path));
    l->is_unix = 1;
    if (lstat(path, &st) == 0) {
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    if (daemon_socket_chown(path, o->uid, o->gid, err, errlen) < 0)
        return LISTEN_TEMPFAIL;
    return LISTEN_OK;
}

static listen_status_t open_inet(const char *spec, int family, listener_t *l,
                                 char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char port[16], host[256];
    const char *at = strchr(spec, '@');
    size_t plen = at ? (size_t)(at - spec) : strlen(spec);
    int on = 1, rc;

    if (plen == 0 || plen >= sizeof(port) ||
        strspn(spec, "0123456789") != plen || atoi(spec) < 1 ||
        atoi(spec) > 65535) {
        snprintf(err, errlen, "\"%s\" is not PORT[@ADDRESS]", spec);
        return LISTEN_INVALID;
    }
    memcpy(port, spec, plen);
    port[plen] = '\0';
    str_copy(host,
             at                   ? at + 1
             : family == AF_INET6 ? "::1"
                                  : "127.0.0.1",
             sizeof(host));
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
        return LISTEN_INVALID;
    }
    l->fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (l->fd < 0 || set_flags(l->fd) < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        freeaddrinfo(res);
        return LISTEN_TEMPFAIL;
    }
    (void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(l->fd, res->ai_addr, res->ai_addrlen) < 0) {
        snprintf(err, errlen, "bind %s port %s: %s", host, port,
                 strerror(errno));
        freeaddrinfo(res);
        return LISTEN_TEMPFAIL;
    }
    freeaddrinfo(res);
    return LISTEN_OK;
}

listen_status_t listen_open(const listen_opts_t *o, listener_t **out, char *err,
                            size_t errlen)
{
    listener_t *l = calloc(1, sizeof(*l));
    listen_status_t ls;
    const char *s = o->spec ? o->spec : "";

    *out = NULL;
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return LISTEN_TEMPFAIL;
    }
    l->fd = -1;
    if (str_has_prefix(s, "unix:"))
        ls = open_unix(o, s + 5, l, err, errlen);
    else if (str_has_prefix(s, "local:"))
        ls = open_unix(o, s + 6, l, err, errlen);
    else if (str_has_prefix(s, "inet:"))
        ls = open_inet(s + 5, AF_INET, l, err, errlen);
    else if (str_has_prefix(s, "inet6:"))
        ls = open_inet(s + 6, AF_INET6, l, err, errlen);
    else {
        snprintf(err, errlen,
                 "\"%s\" is not unix:PATH, local:PATH or inet:PORT@ADDRESS", s);
        ls = LISTEN_INVALID;
    }
    if (ls == LISTEN_OK &&
        listen(l->fd, o->backlog > 0 ? o->backlog : SOMAXCONN) < 0) {
        snprintf(err, errlen, "listen: %s", strerror(errno));
        ls = LISTEN_TEMPFAIL;
    }
    if (ls != LISTEN_OK) {
        listen_close(l);
        return ls;
    }
    *out = l;
    return LISTEN_OK;
}

int listen_fd(const listener_t *l)
{
    return l->fd;
}

int listen_is_unix(const listener_t *l)
{
    return l->is_unix;
}

const char *listen_path(const listener_t *l)
{
    return l->is_unix ? l->path : NULL;
}

int listen_accept(listener_t *l)
{
    int fd, on = 1;

    do
        fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0 && !l->is_unix)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return fd;
}

void listen_close(listener_t *l)
{
    struct stat st;

    if (l == NULL)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->is_unix && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
        st.st_ino == l->ino)
        unlink(l->path);
    free(l);
}
