/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses-relay - deliver mail from Postfix (or Sendmail) to Amazon SES
 *
 * Pipe mode: ses-relay [-c FILE] -f SENDER [-q QUEUEID] -- RCPT...
 * reads one message on stdin, sends it through the SES API to exactly the
 * envelope recipients, and exits with a <sysexits.h> status and, on
 * failure, one line "X.Y.Z text" that pipe(8) puts into the bounce or
 * defer reason. Any problem that is not certainly permanent - including
 * usage and configuration mistakes - exits EX_TEMPFAIL, so Postfix keeps
 * the message. How several outcomes fold into one exit status: deliver.h.
 *
 * LMTP mode: ses-relay [-c FILE] -l unix:PATH|inet:PORT@ADDR [-F] serves
 * Postfix's lmtp(8) client (server.h), one reply per recipient.
 *
 * For the operator: -n checks the configuration (and that one delivery's
 * time limit fits Postfix's), -b lists the host-wide SES breakers, -R
 * closes them all.
 *
 * This file stays thin: it parses options and wires the modules together.
 */
#include "config.h"

#include "deliver.h"
#include "server.h"
#include "ses_breaker.h"
#include "ses_addr.h"
#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_http.h"
#include "ses_log.h"
#include "ses_spool.h"
#include "ses_status.h"
#include "ses_store.h"
#include "ses_util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* Postfix's default lmtp_data_done_timeout, which -n holds
 * DeliveryTimeLimit against. */
#define RELAY_POSTFIX_DATA_DONE_MS 600000

static void usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: ses-relay [-c FILE] -f SENDER [-q QUEUEID] [--] RCPT...\n"
        "       ses-relay [-c FILE] -l unix:PATH|inet:PORT@ADDR [-F]\n"
        "       ses-relay [-c FILE] -n | -b | -R\n"
        "       ses-relay -V | -h\n"
        "\n"
        "  -c FILE     configuration file (default %s)\n"
        "  -f SENDER   envelope sender (\"\" for the null sender)\n"
        "  -q QUEUEID  Postfix queue id, for logs and the mta-queue-id tag\n"
        "  -l SOCKET   serve LMTP on SOCKET instead of pipe mode\n"
        "  -F          LMTP mode: stay in the foreground, log to stderr\n"
        "  -n          check the configuration and exit (0 valid, 78 not)\n"
        "  -b          list the host-wide SES breakers and exit\n"
        "  -R          close every breaker now (after fixing the cause; then\n"
        "              postqueue -f sends what Postfix deferred)\n"
        "  -V, --version  print the version and exit\n"
        "  -h, --help     print this help and exit\n"
        "\n"
        "Pipe mode reads the message on stdin and exits with a sysexits\n"
        "code: 0 sent, 75 try again later (the message stays queued),\n"
        "other codes bounce. Usage and configuration errors exit 75.\n"
        "LMTP mode (-l, or RelaySocket without -f) answers each recipient;\n"
        "SIGTERM finishes transactions in progress, SIGHUP reloads.\n",
        CLI_DEFAULT_CONF);
}

/* Pipe-mode exit: the diagnostic line on stdout, the status as exit code. */
static int finish(status_t st, const char *detail)
{
    char line[512];

    if (st != ST_OK) {
        status_diag(st, detail, line, sizeof(line));
        printf("%s\n", line);
        fflush(stdout);
    }
    return status_info(st)->sysexit;
}

/* An address as pipe(8) or a Sendmail mailer passes it, rewritten in
 * place by addr_unwrap() (never longer): "<a@b>" loses its brackets, and
 * a null sender in any spelling (SES could never take it as an address)
 * becomes "". false when out of memory. */
static bool pipe_address(char *a, int is_sender)
{
    char *in = strdup(a);

    if (in == NULL)
        return false;
    if (addr_unwrap(in, a, strlen(in) + 1) != ADDR_OK)
        str_copy(a, in, strlen(in) + 1);
    free(in);
    if (is_sender && addr_is_null(a))
        *a = '\0';
    return true;
}

static int pipe_mode(conf_t *conf, char *sender, const char *qid, char **rcpts,
                     int nrcpts)
{
    char err[512];
    spool_t *sp = NULL;
    relay_t *relay = NULL;
    deliver_t *d = NULL;
    ses_result_t *res = NULL;
    deliver_msg_t m = {
        sender, (const char *const *)rcpts, (size_t)nrcpts, qid, NULL, true};
    status_t st;
    bool mem = pipe_address(sender, 1);
    int rc;

    for (int i = 0; i < nrcpts; i++)
        mem = pipe_address(rcpts[i], 0) && mem;
    sp = mem ? spool_new((size_t)conf_int(conf, CK_MAX_MESSAGE_SIZE), 0) : NULL;
    res = calloc((size_t)nrcpts, sizeof(*res));
    relay = relay_new(conf_ref(conf), err, sizeof(err));
    d = relay ? deliver_new(relay) : NULL;
    if (sp == NULL || res == NULL || d == NULL) {
        rc = finish(ST_TEMP_RESOURCE, "out of memory");
        goto out;
    }
    if ((st = spool_from_fd(sp, STDIN_FILENO, err, sizeof(err))) != ST_OK) {
        log_msg(status_info(st)->loud ? LOG_ERR : LOG_INFO, qid, "%s", err);
        rc = finish(st, err);
        goto out;
    }
    m.spool = sp;
    deliver_message(d, &m, res);
    st = deliver_verdict(&m, res, err, sizeof(err));
    rc = st == ST_OK ? EX_OK : finish(st, err);
out:
    deliver_free(d);
    relay_free(relay);
    free(res);
    spool_free(sp);
    return rc;
}

/* -n: what a delivery needs of the times (see DeliveryTimeLimit). */
static int check_conf(const conf_t *conf)
{
    long long limit = conf_int(conf, CK_DELIVERY_TIME_LIMIT);
    long long timeout = conf_int(conf, CK_TIMEOUT);
    long long retry = conf_int(conf, CK_RETRY_TIME);

    if (timeout >= limit) {
        fprintf(stderr,
                "ses-relay: %s: Timeout (%lld s) must be shorter than "
                "DeliveryTimeLimit (%lld s): no SES request could start\n",
                conf_path(conf), timeout / 1000, limit / 1000);
        return EX_CONFIG;
    }
    if (limit >= RELAY_POSTFIX_DATA_DONE_MS)
        fprintf(stderr,
                "ses-relay: warning: DeliveryTimeLimit (%lld s) is not under "
                "Postfix's default lmtp_data_done_timeout (%d s): give the "
                "ses transport a longer one (-o lmtp_data_done_timeout=...), "
                "or Postfix gives up on a transaction ses-relay may still "
                "send\n",
                limit / 1000, RELAY_POSTFIX_DATA_DONE_MS / 1000);
    if (timeout + retry > limit)
        fprintf(stderr,
                "ses-relay: warning: Timeout + RetryTime (%lld s) exceed "
                "DeliveryTimeLimit (%lld s): retries end at the delivery's "
                "limit\n",
                (timeout + retry) / 1000, limit / 1000);
    return EX_OK;
}

static int print_breaker(void *ud, const breaker_key_t *k,
                         const breaker_info_t *info)
{
    char since[32];

    (void)ud;
    time_format_utc(info->since, "%Y-%m-%dT%H:%M:%SZ", since, sizeof(since));
    printf("%s %s %s: %s, %s for %lld s more (interval %d, %lld s), since "
           "%s: %s\n",
           k->region, breaker_scope_name(k->scope), k->name[0] ? k->name : "-",
           info->level ? "open" : "closed",
           info->probing   ? "probing"
           : info->left_ms ? "holding"
                           : "probe due",
           (long long)(info->left_ms + 999) / 1000, info->level,
           (long long)info->interval_ms / 1000, since, info->reason);
    return 0;
}

/* -b and -R: the breakers in DataDirectory/hoststate. */
static int breakers_admin(const conf_t *conf, int reset)
{
    hoststate_t *hs = NULL;
    char err[512];

    if (hoststate_open(conf_str(conf, CK_DATA_DIRECTORY), &hs, err,
                       sizeof(err)) != HOSTSTATE_OK) {
        fprintf(stderr, "ses-relay: %s\n", err);
        return EX_UNAVAILABLE;
    }
    if (reset)
        printf("%d breaker(s) closed\n", breaker_reset(hs));
    else
        breaker_each(hs, print_breaker, NULL);
    hoststate_close(hs);
    return EX_OK;
}

int main(int argc, char **argv)
{
    const char *conffile = NULL, *qid = NULL, *listen = NULL;
    char *sender = NULL;
    conf_t *conf = NULL;
    char err[1024];
    int ch, foreground = 0, rc, admin = 0;

    store_exit_when_stuck(STORE_STUCK_EXIT_S); /* see ses_store.h */

    opterr = 0;
    while ((ch = cli_getopt(argc, argv, "c:f:q:l:FnbRVh")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'f':
            sender = optarg;
            break;
        case 'q':
            qid = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'F':
            foreground = 1;
            break;
        case 'n':
        case 'b':
        case 'R':
            admin = ch;
            break;
        case 'V':
            printf("ses-relay %s\n", cli_version());
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            /* A master.cf mistake must not bounce mail: defer. */
            if (optopt != 0)
                snprintf(err, sizeof(err), "ses-relay: bad option -%c (see -h)",
                         optopt);
            else
                snprintf(err, sizeof(err), "ses-relay: bad option %s (see -h)",
                         argv[optind - 1]);
            return finish(ST_TEMP_CONFIG, err);
        }
    }
    if (cli_load_conf(conffile, &conf, err, sizeof(err)) != CONF_OK) {
        if (listen || admin) { /* a person or a daemon: say why */
            fprintf(stderr, "ses-relay: %s\n", err);
            return EX_CONFIG;
        }
        return finish(ST_TEMP_CONFIG, err);
    }
    if (admin) {
        rc = admin == 'n' ? check_conf(conf)
                          : breakers_admin(conf, admin == 'R');
        conf_unref(conf);
        return rc;
    }
    cli_start("ses-relay", conf, foreground);
    if (http_global_init() < 0) {
        conf_unref(conf);
        return finish(ST_TEMP_RESOURCE, "cannot initialise libcurl");
    }
    if (listen ||
        (sender == NULL && optind >= argc && conf_str(conf, CK_RELAY_SOCKET))) {
        return server_run(conffile ? conffile : CLI_DEFAULT_CONF, conf, listen,
                          foreground);
    } else if (sender == NULL || optind >= argc) {
        rc = finish(ST_TEMP_CONFIG,
                    "ses-relay: pipe mode needs -f SENDER and at least one "
                    "recipient (see -h)");
    } else if (argc - optind > SES_MAX_RECIPIENTS) {
        /* a configuration error (the transport's recipient limit), so the
         * mail stays queued until it is fixed */
        char why[160];
        snprintf(why, sizeof(why),
                 "ses-relay: %d recipients in one delivery, more than %d "
                 "(lower the transport's destination_recipient_limit)",
                 argc - optind, SES_MAX_RECIPIENTS);
        log_error(qid, "%s", why);
        rc = finish(ST_TEMP_CONFIG, why);
    } else {
        rc = pipe_mode(conf, sender, qid, argv + optind, argc - optind);
    }
    conf_unref(conf);
    return rc;
}
