/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.c - what a long-running program does around its work
 *
 * User and group lookups go through getpwnam_r()/getgrnam_r(); a number
 * is taken as an id. daemon_detach() is the classic fork + setsid; the
 * parent leaves with _exit(0) so no atexit handler or stdio buffer runs
 * twice. The pid file is written to a temporary name and renamed, so a
 * reader never sees it half written.
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
        } else {
            snprintf(err, errlen, "no such user \"%s\"", user);
            return -1;
        }
    }
    if (colon && colon[1] && lookup_group(colon + 1, &out->gid, err, errlen))
        return -1;
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

int daemon_pidfile_write(const char *path, char *err, size_t errlen)
{
    char tmp[4096], line[32];
    int fd, n;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(err, errlen, "pid file path too long");
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (fd < 0 || write_all(fd, line, (size_t)n) < 0 || close(fd) < 0 ||
        rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot write the pid file %s: %s", path,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

void daemon_pidfile_remove(const char *path)
{
    char line[32];
    ssize_t n;
    int fd;

    if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
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
    if (u->gid != (gid_t)-1) {
        if (u->name[0] ? initgroups(u->name, u->gid) < 0
                       : setgroups(1, &u->gid) < 0) {
            snprintf(err, errlen, "setgroups: %s", strerror(errno));
            return -1;
        }
        if (setgid(u->gid) < 0) {
            snprintf(err, errlen, "setgid %ld: %s", (long)u->gid,
                     strerror(errno));
            return -1;
        }
    }
    if (u->uid != (uid_t)-1 && setuid(u->uid) < 0) {
        snprintf(err, errlen, "setuid %ld: %s", (long)u->uid, strerror(errno));
        return -1;
    }
    if (u->uid != (uid_t)-1 && u->uid != 0 && setuid(0) == 0) {
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
