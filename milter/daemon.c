/*
 * daemon.c - running as a Unix daemon: user, socket, pid file, signals
 *
 * DIAGNOSTICS
 *   See daemon.h.
 */
#include "config.h"

#include "daemon.h"
#include "interpose.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int daemon_user_resolve(const char *spec, daemon_user_t *u, char *err,
                        size_t errlen)
{
    char buf[128], *colon;
    struct passwd *pw;

    if (str_copy(buf, spec, sizeof(buf)) >= sizeof(buf)) {
        snprintf(err, errlen, "UserID \"%.40s...\" is too long", spec);
        return -1;
    }
    if ((colon = strchr(buf, ':')) != NULL)
        *colon++ = '\0';
    if ((pw = getpwnam(buf)) == NULL) {
        snprintf(err, errlen, "UserID: no such user \"%s\"", buf);
        return -1;
    }
    str_copy(u->name, buf, sizeof(u->name));
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    if (colon) {
        struct group *gr = getgrnam(colon);
        if (gr == NULL) {
            snprintf(err, errlen, "UserID: no such group \"%s\"", colon);
            return -1;
        }
        u->gid = gr->gr_gid;
    }
    return 0;
}

int daemon_socket_perms(const char *sock, const char *mode,
                        const daemon_user_t *u, char *err, size_t errlen)
{
    const char *path;
    long m = strtol(mode, NULL, 8);

    if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0)
        path = strchr(sock, ':') + 1;
    else
        return 0;
    if (u && geteuid() == 0 && chown(path, u->uid, u->gid) < 0) {
        snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
        return -1;
    }
    if (chmod(path, (mode_t)m) < 0) {
        snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int daemon_drop_privileges(const daemon_user_t *u, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        if (geteuid() == u->uid)
            return 0;
        snprintf(err, errlen,
                 "UserID %s: only root can switch users (running as uid %lu)",
                 u->name, (unsigned long)geteuid());
        return -1;
    }
    if (initgroups(u->name, u->gid) < 0 || setgid(u->gid) < 0 ||
        setuid(u->uid) < 0) {
        snprintf(err, errlen, "cannot switch to user %s: %s", u->name,
                 strerror(errno));
        return -1;
    }
    if (u->uid != 0 && setuid(0) == 0) {
        snprintf(err, errlen, "could regain root after switching to %s",
                 u->name);
        return -1;
    }
    return 0;
}

int daemon_pidfile_write(const char *path, char *err, size_t errlen)
{
    char line[32];
    int fd, n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());

    fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || write_all(fd, line, (size_t)n) < 0) {
        snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

void daemon_pidfile_remove(const char *path)
{
    char line[32];
    ssize_t n;
    int fd;

    /* Only our own: a newer instance may have written its pid already. */
    if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return;
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n > 0) {
        line[n] = '\0';
        if (strtol(line, NULL, 10) == (long)getpid())
            (void)unlink(path);
    }
}

static void (*reload_fn)(void);

static void *reload_thread(void *arg)
{
    sigset_t set;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP)
            reload_fn();
    }
    return NULL;
}

int daemon_signals_start(void (*reload)(void), char *err, size_t errlen)
{
    sigset_t set;
    pthread_t tid;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
        snprintf(err, errlen, "pthread_sigmask: %s", strerror(rc));
        return -1;
    }
    interpose_reserve_sighup();
    reload_fn = reload;
    if ((rc = pthread_create(&tid, NULL, reload_thread, NULL)) != 0 ||
        (rc = pthread_detach(tid)) != 0) {
        snprintf(err, errlen, "cannot start the reload thread: %s",
                 strerror(rc));
        return -1;
    }
    return 0;
}
