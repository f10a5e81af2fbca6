/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses-feedback - SES bounces and complaints into the suppression list and
 * back into the local MTA's queue as DSNs
 *
 *   ses-feedback [-c FILE] -F FILE|-          one notification from a file
 *   ses-feedback [-c FILE] -H inet:PORT@ADDR  SNS HTTP endpoint (daemon)
 *   ses-feedback [-c FILE] -Q                 long-poll FeedbackQueueUrl
 *
 * The work is done by the feedback module (src/feedback.c); this file
 * parses options, opens the store and the certificate cache, and runs the
 * chosen source. -H and -Q run in the foreground under a service manager
 * (systemd Type=simple); SIGTERM stops them, SIGHUP reloads. Exit status of -F:
 * 0 applied (or a duplicate, or nothing to do), 65 malformed, 77 forged or from
 * a topic not allowed, 75 try again later, 78 configuration error.
 */
#include "config.h"

#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_daemon.h"
#include "ses_feedback.h"
#include "ses_http.h"
#include "ses_httpd.h"
#include "ses_log.h"
#include "ses_sns.h"
#include "ses_sqs.h"
#include "ses_status.h"
#include "ses_store.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define EXPIRE_EVERY_S 3600
#define FLUSH_EVERY_S  30 /* the DSN outbox */

static volatile sig_atomic_t stop, reload, flush_all;
static const char *conffile;

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: ses-feedback [-c FILE] -F FILE|-\n"
            "       ses-feedback [-c FILE] -H inet:PORT@ADDR|unix:PATH [-f]\n"
            "       ses-feedback [-c FILE] -Q [-f]\n"
            "       ses-feedback -V | -h\n"
            "\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -F FILE  apply one notification (SNS envelope or bare SES\n"
            "           JSON) from FILE, - for stdin\n"
            "  -H SOCK  serve the SNS HTTP endpoint on SOCK\n"
            "  -Q       long-poll the SQS queue FeedbackQueueUrl; a message\n"
            "           is deleted only after it was applied\n"
            "  -f       log to stderr instead of syslog (LogFile wins)\n"
            "  -V, --version  print the version and exit\n"
            "  -h, --help     print this help and exit\n"
            "\n"
            "-F exits 0 when the notification was applied (or was a\n"
            "duplicate), 65 when it is malformed, 77 when its signature or\n"
            "topic is refused, 75 when it should be tried again later.\n",
            CLI_DEFAULT_CONF);
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload = 1;
    else if (sig == SIGUSR1)
        flush_all = 1;
    else
        stop = 1;
}

/* SIGTERM/SIGINT stop the daemons, SIGHUP reloads the configuration,
 * SIGUSR1 injects the whole DSN outbox now (after the MTA was fixed). */
static void catch_signals(void)
{
    struct sigaction sa;

    daemon_catch_signals(on_signal);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
}

/* Reads all of path ("-": stdin) up to limit bytes. */
static int read_input(const char *path, size_t limit, buf_t *out, char *err,
                      size_t errlen)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO
                                    : open(path, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    ssize_t n;

    buf_init(out, limit);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || buf_append(out, chunk, (size_t)n) < 0) {
            snprintf(err, errlen, "%s: %s", path,
                     n < 0 ? strerror(errno) : "larger than the 1 MB limit");
            if (fd != STDIN_FILENO)
                close(fd);
            return -2;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    return 0;
}

/* ---- -H ------------------------------------------------------------ */

typedef struct {
    feedback_t *fb;
    store_t *store;
    conf_t *conf; /* the daemon's reference */
    int64_t next_expire;
    int64_t next_flush;
} daemon_t;

/* After SIGHUP: the new file applies to notifications from now on (keys
 * read at start - DataDirectory, FeedbackQueueUrl, SnsCertCache, LogFile,
 * the listener - need a restart). A bad file keeps the running one. */
static void maybe_reload(daemon_t *d)
{
    char err[1024];
    conf_t *c = NULL;
    int level;

    if (!reload)
        return;
    reload = 0;
    if (cli_load_conf(conffile, &c, err, sizeof(err)) != CONF_OK) {
        log_lines(LOG_ERR, NULL, "reload: ", err,
                  "; keeping the running configuration");
        return;
    }
    if ((level = log_level_from_name(conf_str(c, CK_LOG_LEVEL))) >= 0)
        log_set_level(level);
    feedback_set_conf(d->fb, c);
    conf_unref(d->conf);
    d->conf = c;
    log_info(NULL, "configuration reloaded from %s", conf_path(c));
}

static int on_request(void *ctx, const httpd_req_t *req, char *text,
                      size_t textlen)
{
    daemon_t *d = ctx;
    status_t st;

    if (strcmp(req->method, "POST") != 0) {
        snprintf(text, textlen, "POST SNS messages here");
        return 405;
    }
    st = feedback_handle(d->fb, req->body, req->body_len, FB_FRESH_ONLY, NULL,
                         text, textlen);
    if (st == ST_OK)
        return 200;
    if (st == ST_PERM_FORGED)
        return 403;
    return status_is_permanent(st) ? 400 : 503;
}

/* Housekeeping from the accepting thread: the DSN outbox at start and
 * every FLUSH_EVERY_S, expiry once an hour. */
static void on_tick(void *ctx)
{
    daemon_t *d = ctx;
    int64_t now = time(NULL);
    size_t removed = 0;

    maybe_reload(d);
    if (now >= d->next_flush || flush_all) {
        int all = flush_all;
        flush_all = 0;
        d->next_flush = now + FLUSH_EVERY_S;
        feedback_flush(d->fb, all);
    }
    if (now < d->next_expire)
        return;
    d->next_expire = now + EXPIRE_EVERY_S;
    if (store_expire(
            d->store, now, conf_int(d->conf, CK_MESSAGE_RETENTION) / 1000,
            conf_int(d->conf, CK_SEEN_RETENTION) / 1000, &removed) != STORE_OK)
        log_warning(NULL, "expiry: %s", store_strerror(d->store));
    else if (removed)
        log_info(NULL, "expiry: removed %zu old entries", removed);
}

/* Runs the endpoint on the bound listener until SIGTERM. */
static int serve_http(httpd_t *h, const char *spec, conf_t *conf,
                      feedback_t *fb, store_t *store)
{
    daemon_t d = {fb, store, conf, 0, 0};

    catch_signals();
    log_info(NULL, "serving SNS notifications on %s", spec);
    httpd_run(h, on_request, &d,
              (int)conf_int(conf, CK_FEEDBACK_MAX_CONNECTIONS), &stop, on_tick,
              &d);
    log_info(NULL, "stopped");
    return EX_OK;
}

/* ---- -Q ------------------------------------------------------------ */

/* One received message: applied and deleted, or left for a redelivery
 * (temporary failure) or for the dead-letter queue (bad message). */
static void take_message(daemon_t *d, sqs_t *q, http_t *http, sqs_message_t *m)
{
    char id[600], detail[512], err[512];
    status_t st;

    snprintf(id, sizeof(id), "sqs:%.500s", m->message_id);
    if (!m->md5_ok) {
        log_warning(NULL,
                    "%s: body does not match its MD5; left in the "
                    "queue",
                    id);
        return;
    }
    st = feedback_handle(d->fb, m->body, m->body_len, FB_ALLOW_BARE, id, detail,
                         sizeof(detail));
    if (st == ST_OK) {
        if (sqs_delete(q, http, m->receipt_handle, err, sizeof(err)) != ST_OK)
            log_warning(NULL,
                        "%s: applied, but not deleted from the queue "
                        "(it will come back and be ignored): %s",
                        id, err);
        return;
    }
    if (status_is_permanent(st))
        log_warning(NULL,
                    "%s: not applied (%s); left in the queue for its "
                    "dead-letter queue (received %d time%s)",
                    id, detail, m->receive_count,
                    m->receive_count == 1 ? "" : "s");
    else
        log_info(NULL, "%s: not applied now (%s); SQS will deliver it again",
                 id, detail);
}

static int poll_sqs(conf_t *conf, feedback_t *fb, store_t *store,
                    creds_provider_t *creds, http_t *http)
{
    daemon_t d = {fb, store, conf_ref(conf), 0, 0};
    int64_t backoff = 0;
    char err[512];
    sqs_t *q;

    if ((q = sqs_new(conf, creds, conf_str(conf, CK_FEEDBACK_QUEUE_URL), err,
                     sizeof(err))) == NULL) {
        log_error(NULL, "%s", err);
        conf_unref(d.conf);
        return EX_CONFIG;
    }
    catch_signals();
    log_info(NULL, "polling %s", conf_str(conf, CK_FEEDBACK_QUEUE_URL));
    while (!stop) {
        sqs_message_t msgs[SQS_MAX_MESSAGES];
        size_t n = 0;
        status_t st;

        on_tick(&d);
        st = sqs_receive(q, http, 20, msgs, &n, err, sizeof(err));
        if (st != ST_OK) {
            backoff = backoff ? (backoff * 2 > 60 ? 60 : backoff * 2) : 1;
            log_warning(NULL, "receiving from SQS: %s; again in %lld s", err,
                        (long long)backoff);
            for (int64_t t = 0; t < backoff * 10 && !stop; t++)
                usleep(100 * 1000);
            continue;
        }
        backoff = 0;
        for (size_t i = 0; i < n; i++) {
            if (!stop)
                take_message(&d, q, http, &msgs[i]);
            sqs_message_clear(&msgs[i]);
        }
    }
    sqs_free(q);
    conf_unref(d.conf);
    log_info(NULL, "stopped");
    return EX_OK;
}

/* ---- main ---------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *file = NULL, *listen_on = NULL;
    char err[1024], certdir[4096];
    sns_certs_t *certs = NULL;
    creds_provider_t *creds = NULL;
    http_t *sqs_http = NULL;
    feedback_t *fb = NULL;
    forwarding_t *fwd = NULL;
    httpd_t *h = NULL;
    store_t *store = NULL;
    http_t *http = NULL;
    conf_t *conf = NULL;
    int ch, foreground = 0, queue = 0, rc = EX_TEMPFAIL;

    store_exit_when_stuck(STORE_STUCK_EXIT_S); /* see ses_store.h */

    while ((ch = cli_getopt(argc, argv, "c:F:H:QfVh")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'F':
            file = optarg;
            break;
        case 'H':
            listen_on = optarg;
            break;
        case 'Q':
            queue = 1;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'V':
            printf("ses-feedback %s\n", cli_version());
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc || (file != NULL) + (listen_on != NULL) + queue != 1) {
        usage(stderr);
        return EX_USAGE;
    }
    if (cli_load_conf(conffile, &conf, err, sizeof(err)) != CONF_OK) {
        fprintf(stderr, "ses-feedback: %s\n", err);
        return EX_CONFIG;
    }
    cli_start("ses-feedback", conf, foreground || file != NULL);
    if (queue && conf_str(conf, CK_FEEDBACK_QUEUE_URL) == NULL) {
        log_error(NULL, "-Q needs FeedbackQueueUrl in %s", conf_path(conf));
        rc = EX_CONFIG;
        goto out;
    }
    if (listen_on) {
        if (httpd_listen(listen_on, &h, err, sizeof(err)) < 0) {
            log_error(NULL, "cannot listen: %s", err);
            rc = EX_OSERR;
            goto out;
        }
    }
    /* -H and -Q are daemons: after binding, run as UserID (the store and
     * the certificate cache then belong to that user) */
    if (file == NULL && conf_str(conf, CK_USER_ID) && geteuid() == 0) {
        daemon_user_t u;
        if (daemon_userid_lookup(conf_str(conf, CK_USER_ID), &u, err,
                                 sizeof(err)) < 0) {
            log_error(NULL, "UserID: %s", err);
            rc = EX_CONFIG;
            goto out;
        }
        if (daemon_drop_privileges(&u, err, sizeof(err)) < 0) {
            log_error(NULL, "UserID %s: %s", conf_str(conf, CK_USER_ID), err);
            rc = EX_NOPERM;
            goto out;
        }
    }
    if (http_global_init() < 0 ||
        (http = http_new(conf_int(conf, CK_CONNECT_TIMEOUT),
                         conf_int(conf, CK_TIMEOUT))) == NULL) {
        log_error(NULL, "cannot set up libcurl");
        goto out;
    }
    if (conf_str(conf, CK_SNS_CERT_CACHE))
        str_copy(certdir, conf_str(conf, CK_SNS_CERT_CACHE), sizeof(certdir));
    else
        snprintf(certdir, sizeof(certdir), "%s/sns-certs",
                 conf_str(conf, CK_DATA_DIRECTORY));
    if ((certs = sns_certs_new(certdir, http)) == NULL) {
        log_error(NULL, "out of memory");
        goto out;
    }
    if (store_open(conf_str(conf, CK_DATA_DIRECTORY), STORE_READWRITE, &store,
                   err, sizeof(err)) != STORE_OK) {
        log_error(NULL, "cannot open the store: %s", err);
        goto out;
    }
    if ((fb = feedback_new(conf, store, certs)) == NULL) {
        log_error(NULL, "out of memory");
        goto out;
    }
    if (file == NULL && (creds = creds_provider_new(conf)) != NULL &&
        (fwd = forwarding_new(conf, creds, err, sizeof(err))) == NULL)
        log_info(NULL, "no check of SES email feedback forwarding: %s", err);
    feedback_set_forwarding(fb, fwd);
    if (file) {
        char detail[512];
        status_t st;
        buf_t in;
        int r = read_input(file, SNS_MAX_JSON, &in, err, sizeof(err));
        if (r < 0) {
            log_error(NULL, "%s", err);
            rc = r == -2 ? EX_DATAERR : EX_NOINPUT;
            buf_free(&in);
            goto out;
        }
        feedback_flush(fb, 0); /* what an earlier run left in the outbox */
        st = feedback_handle(fb, in.data ? in.data : "", in.len, FB_ALLOW_BARE,
                             NULL, detail, sizeof(detail));
        buf_free(&in);
        rc = status_info(st)->sysexit;
    } else if (listen_on) {
        rc = serve_http(h, listen_on, conf, fb, store);
    } else {
        if (creds == NULL ||
            (sqs_http = http_new(conf_int(conf, CK_CONNECT_TIMEOUT),
                                 conf_int(conf, CK_TIMEOUT))) == NULL) {
            log_error(NULL, "out of memory");
            goto out;
        }
        rc = poll_sqs(conf, fb, store, creds, sqs_http);
    }
out:
    httpd_free(h);
    feedback_free(fb);
    forwarding_free(fwd);
    store_close(store);
    sns_certs_free(certs);
    http_free(http);
    http_free(sqs_http);
    creds_provider_free(creds);
    conf_unref(conf);
    return rc;
}
