/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.c - what a long-running program does around its work
 *
 * User and group lookups go through getpwnam_r()/getgrnam_r(); a number
 * is taken as an id, and a numeric user's group comes from its passwd
 * entry (getpwuid_r) - a uid without one needs its group given, so no
 * daemon keeps group root. daemon_detach() is the classic fork + setsid;
 * the parent leaves with _exit(0) so no atexit handler or stdio buffer
 * runs twice.
 *
 * Files root creates in directories the service user may own (the pid
 * file, unix sockets) are never reached through a symbolic link: the pid
 * file is written to a temporary name created with O_EXCL|O_NOFOLLOW and
 * renamed (a reader never sees it half written, and a link planted under
 * either name is replaced, not followed); a socket is created with its
 * mode by the umask and handed to its owner through a descriptor opened
 * with O_PATH|O_NOFOLLOW that must be the socket root just created.
 *
 * DIAGNOSTICS
 *   See ses_daemon.h.
 */
#include "config.h"

#include "ses_daemon.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_id(const char *s, long *out)
{
    char *end;
    long v;

    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int lookup_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
    struct group gr, *res = NULL;
    char buf[4096];
    long id;

    if (parse_id(name, &id) == 0) {
        *gid = (gid_t)id;
        return 0;
    }
    if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
        snprintf(err, errlen, "no such group \"%s\"", name);
        return -1;
    }
    *gid = gr.gr_gid;
    return 0;
}

/* A numeric user's passwd entry, for its name and primary group. */
static bool lookup_uid(uid_t uid, daemon_user_t *out)
{
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
        return false;
    out->gid = pw.pw_gid;
    str_copy(out->name, pw.pw_name, sizeof(out->name));
    return true;
}

int daemon_user_lookup(const char *spec, daemon_user_t *out, char *err,
                       size_t errlen)
{
    char user[64];
    const char *colon = strchr(spec, ':');
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    struct passwd pw, *res = NULL;
    char buf[4096];
    long id;

    out->uid = (uid_t)-1;
    out->gid = (gid_t)-1;
    out->name[0] = '\0';
    if (ulen >= sizeof(user) || (ulen == 0 && (!colon || !colon[1]))) {
        snprintf(err, errlen, "\"%s\" is not user[:group]", spec);
        return -1;
    }
    memcpy(user, spec, ulen);
    user[ulen] = '\0';
    if (ulen) {
        if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res) {
            out->uid = pw.pw_uid;
            out->gid = pw.pw_gid;
            str_copy(out->name, pw.pw_name, sizeof(out->name));
        } else if (parse_id(user, &id) == 0) {
            out->uid = (uid_t)id;
            out->gid = (gid_t)-1;
            (void)lookup_uid(out->uid, out);
        } else {
            snprintf(err, errlen, "no such user \"%s\"", user);
            return -1;
        }
    }
    if (colon && colon[1] && lookup_group(colon + 1, &out->gid, err, errlen))
        return -1;
    return 0;
}

int daemon_userid_lookup(const char *spec, daemon_user_t *out, char *err,
                         size_t errlen)
{
    if (daemon_user_lookup(spec, out, err, errlen) < 0)
        return -1;
    if (out->uid == (uid_t)-1) {
        snprintf(err, errlen,
                 "\"%s\" names no user: the program would keep running as "
                 "root; give user[:group]",
                 spec);
        return -1;
    }
    if (out->gid == (gid_t)-1) {
        snprintf(err, errlen,
                 "uid %ld has no passwd entry, so its group is unknown: give "
                 "it as %s:GROUP",
                 (long)out->uid, spec);
        return -1;
    }
    return 0;
}

int daemon_detach(char *err, size_t errlen)
{
    pid_t pid;
    int fd;

    if ((pid = fork()) < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0) {
        snprintf(err, errlen, "setsid: %s", strerror(errno));
        return -1;
    }
    if (chdir("/") < 0) {
        snprintf(err, errlen, "chdir /: %s", strerror(errno));
        return -1;
    }
    if ((fd = open("/dev/null", O_RDWR)) < 0) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        return -1;
    }
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
    return 0;
}

/* Splits path into its directory (opened) and its last component. */
static int open_parent(const char *path, const char **base, char *err,
                       size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int dfd;

    *base = slash ? slash + 1 : path;
    if (**base == '\0' || strlen(path) >= sizeof(dir) - 8) {
        snprintf(err, errlen, "\"%s\" is not a file name", path);
        return -1;
    }
    if (slash == NULL)
        str_copy(dir, ".", sizeof(dir));
    else if (slash == path)
        str_copy(dir, "/", sizeof(dir));
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return dfd;
}

int daemon_pidfile_write(const char *path, char *err, size_t errlen)
{
    char tmp[4200], line[32];
    const char *base;
    int dfd, fd = -1, n, saved;

    if ((dfd = open_parent(path, &base, err, errlen)) < 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s.tmp", base);
    /* A leftover (or planted) temporary name is removed, never followed;
     * if another one appears before the open, O_EXCL fails. */
    (void)unlinkat(dfd, tmp, 0);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0644);
    n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (fd < 0 || write_all(fd, line, (size_t)n) < 0 || close(fd) < 0 ||
        renameat(dfd, tmp, dfd, base) < 0) {
        saved = errno;
        snprintf(err, errlen, "cannot write the pid file %s: %s", path,
                 strerror(saved));
        if (fd >= 0)
            (void)unlinkat(dfd, tmp, 0);
        close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
}

int daemon_socket_chown(const char *path, uid_t uid, gid_t gid, char *err,
                        size_t errlen)
{
    struct stat st, dst;
    const char *base;
    int dfd, fd, rc = -1;

    if (uid == (uid_t)-1 && gid == (gid_t)-1)
        return 0;
    if ((dfd = open_parent(path, &base, err, errlen)) < 0)
        return -1;
    fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || fstat(dfd, &dst) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* Only the socket this process just bound: a socket, ours, with no
     * second name (not another file moved or linked into its place). */
    if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
        snprintf(err, errlen,
                 "%s is not the socket just created (it was replaced); not "
                 "changing its owner",
                 path);
        goto out;
    }
    if (dst.st_mode & S_ISGID)
        gid = (gid_t)-1; /* keep the group the directory gave it */
    if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0) {
        snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    close(dfd);
    return rc;
}

void daemon_pidfile_remove(const char *path)
{
    char line[32];
    ssize_t n;
    int fd;

    if (path == NULL ||
        (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return;
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n > 0) {
        line[n] = '\0';
        if (atol(line) == (long)getpid())
            unlink(path);
    }
}

static int core_dumps_allowed; /* the last daemon_core_dumps() choice */

void daemon_core_dumps(int allow)
{
    struct rlimit rl;

    core_dumps_allowed = allow;
    (void)prctl(PR_SET_DUMPABLE, allow ? 1 : 0, 0, 0, 0);
    if (!allow && getrlimit(RLIMIT_CORE, &rl) == 0) {
        rl.rlim_cur = 0; /* the soft limit: a later "yes" may raise it */
        (void)setrlimit(RLIMIT_CORE, &rl);
    }
}

int daemon_drop_privileges(const daemon_user_t *u, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        if ((u->uid == (uid_t)-1 || u->uid == geteuid()) &&
            (u->gid == (gid_t)-1 || u->gid == getegid()))
            return 0;
        snprintf(err, errlen, "UserID needs the program to start as root");
        return -1;
    }
    /* All or nothing: a user without a group (or the reverse) would leave
     * the process with root's uid or root's groups. */
    if (u->uid == (uid_t)-1 || u->gid == (gid_t)-1) {
        snprintf(err, errlen, "UserID needs a user and a group");
        return -1;
    }
    if (u->name[0] ? initgroups(u->name, u->gid) < 0
                   : setgroups(1, &u->gid) < 0) {
        snprintf(err, errlen, "setgroups: %s", strerror(errno));
        return -1;
    }
    if (setgid(u->gid) < 0) {
        snprintf(err, errlen, "setgid %ld: %s", (long)u->gid, strerror(errno));
        return -1;
    }
    if (setuid(u->uid) < 0) {
        snprintf(err, errlen, "setuid %ld: %s", (long)u->uid, strerror(errno));
        return -1;
    }
    if (u->uid != 0 && (setuid(0) == 0 || (u->gid != 0 && setgid(0) == 0))) {
        snprintf(err, errlen, "could regain root after setuid %ld",
                 (long)u->uid);
        return -1;
    }
    daemon_core_dumps(core_dumps_allowed); /* setuid() reset it */
    return 0;
}

void daemon_catch_signals(void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}
