/*
 * ses-relay - deliver mail from Postfix (or Sendmail) to Amazon SES
 *
 * Pipe mode: ses-relay [-c FILE] -f SENDER [-q QUEUEID] -- RCPT...
 * reads one message on stdin, sends it through the SES API to exactly the
 * envelope recipients, and exits with a <sysexits.h> status and, on
 * failure, one line "X.Y.Z text" that pipe(8) puts into the bounce or
 * defer reason. Any problem that is not certainly permanent - including
 * usage and configuration mistakes - exits EX_TEMPFAIL, so Postfix keeps
 * the message.
 *
 * This file stays thin: it parses options and wires the library together.
 */
#include "config.h"

#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_http.h"
#include "ses_log.h"
#include "ses_metrics.h"
#include "ses_ses.h"
#include "ses_spool.h"
#include "ses_status.h"
#include "ses_util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static void usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: ses-relay [-c FILE] -f SENDER [-q QUEUEID] [--] RCPT...\n"
        "       ses-relay [-c FILE] -l unix:PATH|inet:PORT@ADDR [-F]\n"
        "       ses-relay -V | -h\n"
        "\n"
        "  -c FILE     configuration file (default %s)\n"
        "  -f SENDER   envelope sender (\"\" for the null sender)\n"
        "  -q QUEUEID  Postfix queue id, for logs and the mta-queue-id tag\n"
        "  -l SOCKET   serve LMTP on SOCKET instead of pipe mode\n"
        "  -F          LMTP mode: stay in the foreground, log to stderr\n"
        "  -V          print the version and exit\n"
        "  -h          print this help and exit\n"
        "\n"
        "Pipe mode reads the message on stdin and exits with a sysexits\n"
        "code: 0 sent, 75 try again later (the message stays queued),\n"
        "other codes bounce. Usage and configuration errors exit 75.\n",
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

static int pipe_mode(conf_t *conf, const char *sender, const char *qid,
                     char **rcpts, int nrcpts)
{
    char err[512];
    spool_t *sp = NULL;
    creds_provider_t *creds = NULL;
    ses_client_t *ses = NULL;
    ses_result_t *res = NULL;
    status_t st;
    int64_t t0 = clock_mono_ms();
    int rc;

    if (nrcpts > SES_MAX_RECIPIENTS) {
        rc = finish(ST_TEMP_RESOURCE, "too many recipients in one delivery");
        goto out;
    }
    sp = spool_new((size_t)conf_int(conf, CK_MAX_MESSAGE_SIZE), 0);
    res = calloc((size_t)nrcpts, sizeof(*res));
    if (sp == NULL || res == NULL) {
        rc = finish(ST_TEMP_RESOURCE, "out of memory");
        goto out;
    }
    if ((st = spool_from_fd(sp, STDIN_FILENO, err, sizeof(err))) != ST_OK) {
        log_msg(status_info(st)->loud ? LOG_ERR : LOG_INFO, qid, "%s", err);
        rc = finish(st, err);
        goto out;
    }
    if ((creds = creds_provider_new(conf)) == NULL ||
        (ses = ses_client_new(conf, creds, err, sizeof(err))) == NULL) {
        log_error(qid, "cannot set up the SES client: %s", err);
        rc = finish(ST_TEMP_CONFIG, err);
        goto out;
    }
    {
        ses_message_t m = {sender, (const char *const *)rcpts, (size_t)nrcpts,
                           qid, sp};
        st = ses_send(ses, &m, res);
    }
    /* metrics (ses-metrics(8)): one count per recipient, one latency */
    metrics_delivery(conf, sp, res, (size_t)nrcpts, clock_mono_ms() - t0);
    for (int i = 0; i < nrcpts; i++) {
        const status_info_t *si = status_info(res[i].status);
        log_msg(si->loud ? LOG_ERR : LOG_INFO, qid,
                "to=<%s>, relay=ses, size=%zu, delay=%.2f, status=%s (%s %s)",
                rcpts[i], spool_size(sp), (clock_mono_ms() - t0) / 1000.0,
                res[i].status == ST_OK               ? "sent"
                : status_is_permanent(res[i].status) ? "bounced"
                                                     : "deferred",
                si->dsn,
                res[i].status == ST_OK ? res[i].message_id : res[i].detail);
    }
    if (st == ST_OK) {
        rc = EX_OK;
    } else {
        const char *d = "";
        for (int i = 0; i < nrcpts; i++)
            if (res[i].status == st) {
                d = res[i].detail;
                break;
            }
        rc = finish(st, d);
    }
out:
    free(res);
    ses_client_free(ses);
    creds_provider_free(creds);
    spool_free(sp);
    return rc;
}

int main(int argc, char **argv)
{
    const char *conffile = NULL, *sender = NULL, *qid = NULL, *listen = NULL;
    conf_t *conf = NULL;
    char err[1024];
    int ch, foreground = 0, rc;

    opterr = 0;
    while ((ch = getopt(argc, argv, "c:f:q:l:FVh")) != -1) {
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
        case 'V':
            cli_version("ses-relay");
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            /* A master.cf mistake must not bounce mail: defer. */
            snprintf(err, sizeof(err), "ses-relay: bad option -%c (see -h)",
                     optopt);
            return finish(ST_TEMP_CONFIG, err);
        }
    }
    if (cli_load_conf(conffile, &conf, err, sizeof(err)) != CONF_OK)
        return finish(ST_TEMP_CONFIG, err);
    cli_logging("ses-relay", conf, foreground);
    if (http_global_init() < 0) {
        conf_unref(conf);
        return finish(ST_TEMP_RESOURCE, "cannot initialise libcurl");
    }
    if (listen) {
        log_error(NULL, "LMTP mode is not available yet in this build");
        rc = EX_TEMPFAIL;
    } else if (sender == NULL || optind >= argc) {
        rc = finish(ST_TEMP_CONFIG,
                    "ses-relay: pipe mode needs -f SENDER and at least one "
                    "recipient (see -h)");
    } else {
        rc = pipe_mode(conf, sender, qid, argv + optind, argc - optind);
    }
    conf_unref(conf);
    return rc;
}
