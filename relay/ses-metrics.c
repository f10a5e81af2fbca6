/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses-metrics - show the package's delivery metrics in the Prometheus text
 * format
 *
 * ses-metrics [-c FILE]                 print them on stdout
 * ses-metrics [-c FILE] -t FILE         write a node_exporter textfile, exit
 * ses-metrics [-c FILE] -d [-f] [-l S]  serve MetricsListen (or -l S) and
 *                                       rewrite MetricsTextfile every
 *                                       MetricsInterval until SIGTERM
 *
 * The numbers live in DataDirectory/metrics.mmap, which every ses-relay,
 * ses-milter and ses-feedback process updates (src/metrics.c). SIGHUP
 * reloads the configuration (interval and textfile; the listener stays).
 *
 * This file stays thin: options, the configuration, the serving loop.
 */
#include "config.h"

#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_daemon.h"
#include "ses_exporter.h"
#include "ses_log.h"
#include "ses_breaker.h"
#include "ses_metrics.h"
#include "ses_util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: ses-metrics [-c FILE] [-t TEXTFILE]\n"
            "       ses-metrics [-c FILE] -d [-f] [-l inet:PORT@127.0.0.1]\n"
            "       ses-metrics -V | -h\n"
            "\n"
            "  -c FILE      configuration file (default %s)\n"
            "  -t TEXTFILE  write the metrics to TEXTFILE (atomically) and "
            "exit\n"
            "  -d           serve: MetricsListen over HTTP and/or "
            "MetricsTextfile\n"
            "  -l SOCKET    with -d: listen here instead of MetricsListen\n"
            "  -f           with -d: stay in the foreground, log to stderr\n"
            "  -V, --version  print the version and exit\n"
            "  -h, --help     print this help and exit\n"
            "\n"
            "Without -t or -d the metrics are printed on stdout.\n",
            CLI_DEFAULT_CONF);
}

/* Opens DataDirectory/metrics.mmap: creates it when we may, else reads. */
static metrics_t *open_store(const conf_t *conf, char *err, size_t errlen)
{
    char path[PATH_MAX];
    metrics_t *m = NULL;

    snprintf(path, sizeof(path), "%s/%s", conf_str(conf, CK_DATA_DIRECTORY),
             METRICS_FILE);
    if (metrics_open(path, METRICS_WRITE, &m, err, errlen) == METRICS_OK ||
        metrics_open(path, METRICS_READ, &m, err, errlen) == METRICS_OK)
        return m;
    return NULL;
}

static int serve(conf_t *conf, metrics_t *m, const char *listen, int foreground)
{
    char err[PATH_MAX + 256];
    listener_t *l = NULL;
    int rc = EX_OK;
    int64_t next = 0;

    daemon_catch_signals(on_signal);

    if (listen == NULL)
        listen = conf_str(conf, CK_METRICS_LISTEN);
    if (listen == NULL && conf_str(conf, CK_METRICS_TEXTFILE) == NULL) {
        fprintf(stderr, "ses-metrics: -d needs MetricsListen, "
                        "MetricsTextfile or -l\n");
        rc = EX_CONFIG;
        goto out;
    }
    if (listen && (l = exporter_listen(listen, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ses-metrics: %s\n", err);
        rc = EX_CONFIG;
        goto out;
    }
    cli_start("ses-metrics", conf, foreground);
    if (!foreground && daemon(0, 0) < 0) {
        log_error(NULL, "cannot become a daemon: %s", strerror(errno));
        rc = EX_OSERR;
        goto out;
    }
    log_info(NULL, "serving metrics%s%s%s%s", listen ? " on " : "",
             listen ? listen : "",
             conf_str(conf, CK_METRICS_TEXTFILE) ? " to " : "",
             conf_str(conf, CK_METRICS_TEXTFILE)
                 ? conf_str(conf, CK_METRICS_TEXTFILE)
                 : "");
    while (!got_term) {
        const char *tf = conf_str(conf, CK_METRICS_TEXTFILE);
        int64_t now = clock_mono_ms(), wait = -1;
        struct pollfd pfd = {l ? listen_fd(l) : -1, POLLIN, 0};

        if (got_hup) {
            conf_t *fresh = NULL;
            got_hup = 0;
            if (cli_load_conf(conf_path(conf), &fresh, err, sizeof(err)) ==
                CONF_OK) {
                conf_unref(conf);
                conf = fresh;
                next = 0;
                log_info(NULL, "configuration reloaded");
            } else
                log_lines(
                    LOG_ERR, NULL,
                    "reload refused, keeping the old configuration: ", err, "");
            continue;
        }
        if (tf && now >= next) {
            if (metrics_write_textfile(m, tf, err, sizeof(err)) != METRICS_OK)
                log_error(NULL, "%s", err);
            next = now + conf_int(conf, CK_METRICS_INTERVAL);
        }
        if (tf)
            wait = next - now > 0 ? next - now : 0;
        if (poll(&pfd, l ? 1 : 0, (int)wait) > 0 && (pfd.revents & POLLIN) &&
            exporter_serve(l, m) < 0 && errno != EINTR &&
            errno != ECONNABORTED && errno != EAGAIN) {
            log_error(NULL, "accept: %s", strerror(errno));
            rc = EX_OSERR;
            break;
        }
    }
    log_info(NULL, "stopped");
out: /* serve() owns conf from its call: every way out releases it */
    listen_close(l);
    conf_unref(conf);
    return rc;
}

int main(int argc, char **argv)
{
    const char *conffile = NULL, *textfile = NULL, *listen = NULL;
    conf_t *conf = NULL;
    metrics_t *m = NULL;
    hoststate_t *hs = NULL;
    char err[PATH_MAX + 256];
    int ch, daemon_mode = 0, foreground = 0, rc;

    while ((ch = cli_getopt(argc, argv, "c:t:dl:fVh")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 't':
            textfile = optarg;
            break;
        case 'd':
            daemon_mode = 1;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'V':
            printf("ses-metrics %s\n", cli_version());
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc || (textfile && daemon_mode)) {
        usage(stderr);
        return EX_USAGE;
    }
    if (cli_load_conf(conffile, &conf, err, sizeof(err)) != CONF_OK) {
        fprintf(stderr, "ses-metrics: %s\n", err);
        return EX_CONFIG;
    }
    if ((m = open_store(conf, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ses-metrics: %s\n", err);
        conf_unref(conf);
        return EX_UNAVAILABLE;
    }
    /* the breakers' state lives in DataDirectory/hoststate */
    if (hoststate_open(conf_str(conf, CK_DATA_DIRECTORY), &hs, err,
                       sizeof(err)) == HOSTSTATE_OK)
        metrics_add_renderer(m, breaker_render_metrics, hs);
    else
        fprintf(stderr, "ses-metrics: no breaker metrics: %s\n", err);
    if (daemon_mode) { /* serve() keeps conf (reloads replace it) */
        rc = serve(conf, m, listen, foreground);
        metrics_close(m);
        hoststate_close(hs);
        return rc;
    }
    if (textfile) {
        rc = metrics_write_textfile(m, textfile, err, sizeof(err)) == METRICS_OK
                 ? EX_OK
                 : EX_CANTCREAT;
        if (rc != EX_OK)
            fprintf(stderr, "ses-metrics: %s\n", err);
    } else {
        buf_t b;
        buf_init(&b, 0);
        metrics_render(m, &b);
        rc = fwrite(b.data, 1, b.len, stdout) == b.len && fflush(stdout) == 0
                 ? EX_OK
                 : EX_IOERR;
        buf_free(&b);
    }
    metrics_close(m);
    hoststate_close(hs);
    conf_unref(conf);
    return rc;
}
