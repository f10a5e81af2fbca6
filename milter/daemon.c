/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.c - the milter's own daemon chores: socket permissions, signals
 *
 * DIAGNOSTICS
 *   See daemon.h.
 */
#include "config.h"

#include "daemon.h"
#include "interpose.h"
#include "ses_util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
