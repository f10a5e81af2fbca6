/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.c - ses-relay's LMTP mode: the daemon around lmtp_serve()
 *
 * Threads: RelayWorkers workers each poll the listening socket and a stop
 * pipe, accept a connection (the socket is non-blocking, so a worker that
 * loses the race for a connection just polls again), and serve it to the
 * end with lmtp_serve(). The worker count bounds the connections served
 * at once; further clients wait in the kernel's listen backlog. The main
 * thread blocks SIGTERM, SIGINT and SIGHUP before any worker exists and
 * takes them with sigwait(), so no signal handler runs anywhere.
 *
 * Stopping: the main thread removes the unix socket's name, writes one
 * byte to the stop pipe (never read, so it stays readable for everyone),
 * and joins the workers. lmtp_serve() finishes a transaction in progress
 * before it looks at the stop pipe.
 *
 * DIAGNOSTICS
 *   See server.h. One log line at start (socket, workers), at each reload
 *   and at stop.
 */
#include "config.h"

#include "server.h"
#include "deliver.h"
#include "ses_cli.h"
#include "ses_daemon.h"
#include "ses_lmtp.h"
#include "ses_listen.h"
#include "ses_log.h"
#include "ses_util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

typedef struct {
    relay_t *relay;
    listener_t *listener;
    int stop[2];
    char hostname[256];
} server_t;

typedef struct {
    server_t *srv;
    deliver_t *deliver;
    pthread_t thread;
    int started;
} worker_t;

/* ---- the LMTP handler ---- */

static void handler_limits(void *ud, lmtp_limits_t *lim)
{
    worker_t *w = ud;
    conf_t *c = relay_conf(w->srv->relay);

    lim->max_message = (size_t)conf_int(c, CK_MAX_MESSAGE_SIZE);
    lim->max_rcpts = (size_t)conf_int(c, CK_RELAY_MAX_RECIPIENTS);
    lim->timeout_ms = (int)conf_int(c, CK_RELAY_TIMEOUT);
    lim->hostname = w->srv->hostname;
    conf_unref(c);
}

static void handler_deliver(void *ud, const lmtp_txn_t *t, lmtp_reply_t *rep)
{
    worker_t *w = ud;
    ses_result_t *res = calloc(t->nrcpts, sizeof(*res));
    deliver_msg_t m = {t->sender,   t->rcpts, t->nrcpts,
                       t->queue_id, t->spool, false};

    if (res == NULL) {
        for (size_t i = 0; i < t->nrcpts; i++)
            rep[i].status = ST_TEMP_RESOURCE;
        return;
    }
    deliver_message(w->deliver, &m, res);
    for (size_t i = 0; i < t->nrcpts; i++) {
        rep[i].status = res[i].status;
        if (res[i].status == ST_OK)
            snprintf(rep[i].text, sizeof(rep[i].text), "Ok: queued as %s",
                     res[i].message_id);
        else
            str_copy(rep[i].text, res[i].detail, sizeof(rep[i].text));
    }
    free(res);
}

/* ---- workers ---- */

static void *worker_main(void *ud)
{
    worker_t *w = ud;
    server_t *srv = w->srv;
    lmtp_handler_t h = {handler_limits, handler_deliver, w};

    for (;;) {
        struct pollfd p[2] = {{listen_fd(srv->listener), POLLIN, 0},
                              {srv->stop[0], POLLIN, 0}};
        lmtp_limits_t lim;
        lmtp_end_t end;
        int fd;

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error(NULL, "poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents & POLLIN)
            break;
        if ((fd = listen_accept(srv->listener)) < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK &&
                errno != ECONNABORTED) {
                log_warning(NULL, "accept: %s", strerror(errno));
                usleep(100000); /* e.g. out of descriptors: do not spin */
            }
            continue;
        }
        handler_limits(w, &lim);
        end = lmtp_serve(fd, srv->stop[0], &lim, &h);
        if (end == LMTP_END_IO || end == LMTP_END_ERRORS ||
            end == LMTP_END_TIMEOUT)
            log_info(NULL, "LMTP connection ended: %s", lmtp_end_name(end));
        close(fd);
    }
    return NULL;
}

/* ---- start-up ---- */

static int open_socket(server_t *srv, const conf_t *conf, const char *spec)
{
    listen_opts_t o = {spec, 0660, (uid_t)-1, (gid_t)-1, 0};
    const char *owner = conf_str(conf, CK_RELAY_SOCKET_OWNER);
    char err[512];

    o.mode = (unsigned)strtoul(conf_str(conf, CK_SOCKET_MODE), NULL, 8);
    if (!sockspec_is_local(spec)) { /* -l; RelaySocket is checked too */
        log_error(NULL,
                  "cannot listen on %s: LMTP inet sockets are allowed only on "
                  "loopback addresses (127.0.0.1, ::1): anyone who can "
                  "connect sends mail through SES as anyone",
                  spec);
        return EX_CONFIG;
    }
    if (owner) {
        daemon_user_t u;
        if (daemon_user_lookup(owner, &u, err, sizeof(err)) < 0) {
            log_error(NULL, "RelaySocketOwner: %s", err);
            return EX_CONFIG;
        }
        o.uid = u.uid;
        o.gid = u.gid;
    }
    switch (listen_open(&o, &srv->listener, err, sizeof(err))) {
    case LISTEN_OK:
        return EX_OK;
    case LISTEN_INVALID:
        log_error(NULL, "cannot listen on %s: %s", spec, err);
        return EX_CONFIG;
    default:
        log_error(NULL, "cannot listen on %s: %s", spec, err);
        return EX_TEMPFAIL;
    }
}

static int become_daemon(const conf_t *conf, int foreground)
{
    const char *user = conf_str(conf, CK_USER_ID);
    const char *pidfile = conf_str(conf, CK_PID_FILE);
    daemon_user_t u;
    char err[512];

    if (user && daemon_userid_lookup(user, &u, err, sizeof(err)) < 0) {
        log_error(NULL, "UserID: %s", err);
        return EX_CONFIG;
    }
    if (!foreground && daemon_detach(err, sizeof(err)) < 0) {
        log_error(NULL, "cannot detach: %s", err);
        return EX_OSERR;
    }
    if (pidfile && daemon_pidfile_write(pidfile, err, sizeof(err)) < 0) {
        log_error(NULL, "%s", err);
        return EX_CANTCREAT;
    }
    if (user && daemon_drop_privileges(&u, err, sizeof(err)) < 0) {
        log_error(NULL, "UserID %s: %s", user, err);
        return EX_NOPERM;
    }
    return EX_OK;
}

static void reload(server_t *srv, const char *conffile)
{
    conf_t *c = NULL;
    char err[1024];
    int level;

    if (cli_load_conf(conffile, &c, err, sizeof(err)) != CONF_OK) {
        log_lines(LOG_ERR, NULL,
                  "reload failed, keeping the running configuration: ", err,
                  "");
        return;
    }
    level = log_level_from_name(conf_str(c, CK_LOG_LEVEL));
    if (level >= 0)
        log_set_level(level);
    if (relay_reload(srv->relay, c, err, sizeof(err)) < 0)
        log_error(NULL, "reload failed: %s", err);
    else
        log_info(NULL, "configuration reloaded from %s", conffile);
}

int server_run(const char *conffile, conf_t *conf, const char *spec,
               int foreground)
{
    server_t srv = {NULL, NULL, {-1, -1}, ""};
    worker_t *workers = NULL;
    sigset_t sigs;
    int nworkers = (int)conf_int(conf, CK_RELAY_WORKERS), rc, sig;
    char err[512];

    if (spec == NULL)
        spec = conf_str(conf, CK_RELAY_SOCKET);
    if (spec == NULL) {
        log_error(NULL, "LMTP mode needs -l SOCKET or RelaySocket");
        conf_unref(conf);
        return EX_CONFIG;
    }
    if (gethostname(srv.hostname, sizeof(srv.hostname) - 1) < 0)
        str_copy(srv.hostname, "localhost", sizeof(srv.hostname));
    if ((rc = open_socket(&srv, conf, spec)) != EX_OK ||
        (rc = become_daemon(conf, foreground)) != EX_OK) {
        listen_close(srv.listener);
        conf_unref(conf);
        return rc;
    }
    if (pipe(srv.stop) < 0 ||
        (srv.relay = relay_new(conf_ref(conf), err, sizeof(err))) == NULL ||
        (workers = calloc((size_t)nworkers, sizeof(*workers))) == NULL) {
        log_error(NULL, "cannot start: %s", srv.relay ? "out of memory" : err);
        rc = EX_OSERR;
        goto out;
    }
    /* Signals are taken by sigwait() below; every worker inherits the
     * mask, so none of them is interrupted. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (relay_start_writer(srv.relay, err, sizeof(err)) < 0)
        log_warning(NULL, "%s; each delivery writes its own record", err);
    for (int i = 0; i < nworkers; i++) {
        workers[i].srv = &srv;
        if ((workers[i].deliver = deliver_new(srv.relay)) == NULL ||
            pthread_create(&workers[i].thread, NULL, worker_main,
                           &workers[i]) != 0) {
            log_error(NULL, "cannot start worker %d of %d", i + 1, nworkers);
            rc = EX_OSERR;
            goto stop;
        }
        workers[i].started = 1;
    }
    log_info(NULL, "LMTP server on %s, %d workers, SES endpoint %s", spec,
             nworkers,
             conf_str(conf, CK_ENDPOINT) ? conf_str(conf, CK_ENDPOINT)
                                         : "(regional)");
    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&srv, conffile);
            continue;
        }
        log_info(NULL, "%s: finishing transactions in progress, then exiting",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    rc = EX_OK;
stop:
    if (srv.listener && listen_path(srv.listener))
        unlink(listen_path(srv.listener)); /* new clients fail fast */
    if (write(srv.stop[1], "x", 1) < 0)
        log_error(NULL, "cannot signal the workers: %s", strerror(errno));
    for (int i = 0; i < nworkers; i++)
        if (workers[i].started)
            pthread_join(workers[i].thread, NULL);
    if (rc == EX_OK)
        log_info(NULL, "stopped");
out:
    for (int i = 0; workers && i < nworkers; i++)
        deliver_free(workers[i].deliver);
    free(workers);
    relay_free(srv.relay);
    listen_close(srv.listener);
    if (srv.stop[0] >= 0)
        close(srv.stop[0]);
    if (srv.stop[1] >= 0)
        close(srv.stop[1]);
    if (conf_str(conf, CK_PID_FILE))
        daemon_pidfile_remove(conf_str(conf, CK_PID_FILE));
    conf_unref(conf);
    return rc;
}
