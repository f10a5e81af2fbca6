/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * setup.c - what ses-milter sets up around libmilter: the socket, signals
 *
 * The reload thread waits for SIGHUP and SIGUSR1 (blocked in every thread
 * from setup_signals() on); SEAM_CHECK_SECONDS after the start it
 * checks once that libmilter's signal thread waits through the seam, and
 * says loudly when it does not (SIGHUP would then stop the milter).
 *
 * DIAGNOSTICS
 *   See setup.h.
 */
#include "config.h"

#include "setup.h"
#include "seam.h"
#include "ses_log.h"
#include "ses_util.h"

#include <dirent.h>
#include <libmilter/mfapi.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long after the start libmilter's signal thread has to be waiting
 * through the seam (it starts at once in smfi_main()). */
#define SEAM_CHECK_SECONDS 5

int setup_open_socket(const char *sock, const char *mode,
                      const daemon_user_t *u, char *err, size_t errlen)
{
    mode_t m = (mode_t)(strtol(mode, NULL, 8) & 0777), old;
    int rc;

    /* libmilter binds the socket itself: the umask gives it its mode from
     * the start, and only the owner is changed afterwards. */
    old = umask((mode_t)(~m & 0777));
    rc = smfi_opensocket(1);
    umask(old);
    if (rc != MI_SUCCESS) {
        snprintf(err, errlen, "cannot open the milter socket %s", sock);
        return -1;
    }
    if (strncmp(sock, "unix:", 5) != 0 && strncmp(sock, "local:", 6) != 0)
        return 0;
    if (u && geteuid() == 0 &&
        daemon_socket_chown(strchr(sock, ':') + 1, u->uid, u->gid, err,
                            errlen) < 0)
        return -1;
    return 0;
}

int setup_tcp_nodelay(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss), il = sizeof(int);
        int fd = atoi(de->d_name), listening = 0, type = 0, one = 1;

        if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(d))
            continue;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) < 0 ||
            !listening || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &il) < 0 ||
            type != SOCK_STREAM ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
            (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
            continue;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
            n = -1;
            break;
        }
        n++;
    }
    closedir(d);
    return n;
}

static void (*reload_fn)(void);

static void *reload_thread(void *arg)
{
    struct timespec check = {SEAM_CHECK_SECONDS, 0};
    sigset_t set;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        int sig = check.tv_sec ? sigtimedwait(&set, NULL, &check)
                               : sigwaitinfo(&set, NULL);
        if (sig == SIGHUP || sig == SIGUSR1)
            reload_fn();
        else if (sig < 0 && errno == EAGAIN) {
            check.tv_sec = 0; /* once */
            if (!seam_sigwait_reached())
                log_error(NULL,
                          "libmilter's signal thread does not wait through "
                          "ses-milter's seam: SIGHUP would stop the milter; "
                          "reload with SIGUSR1 (see SEAM in ses-milter(8))");
        }
    }
    return NULL;
}

int setup_signals(void (*reload)(void), char *err, size_t errlen)
{
    sigset_t set;
    pthread_t tid;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
        snprintf(err, errlen, "pthread_sigmask: %s", strerror(rc));
        return -1;
    }
    seam_reserve_sighup();
    reload_fn = reload;
    if ((rc = pthread_create(&tid, NULL, reload_thread, NULL)) != 0 ||
        (rc = pthread_detach(tid)) != 0) {
        snprintf(err, errlen, "cannot start the reload thread: %s",
                 strerror(rc));
        return -1;
    }
    return 0;
}
