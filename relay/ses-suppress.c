/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses-suppress - look at and change the suppression list
 *
 *   ses-suppress [-c FILE] list | export
 *   ses-suppress [-c FILE] check ADDR
 *   ses-suppress [-c FILE] add ADDR [--reason bounce|complaint|manual]
 *   ses-suppress [-c FILE] remove ADDR
 *   ses-suppress [-c FILE] import FILE|-
 *   ses-suppress [-c FILE] report [--days N]
 *   ses-suppress [-c FILE] sync [-n]
 *   ses-suppress [-c FILE] regions [-r REGION]... [IDENTITY...]
 *
 * Thin: each command opens the store and calls the library (store,
 * suppress_csv, suppress_report). Exit status: 0 done (check: suppressed),
 * 1 no (check: not suppressed; remove: was not; report: a rate at or above
 * SES's review threshold; regions: a region is not ready), 64 usage, 65 import
 * skipped bad lines, 75 the store is busy or failing, 78 configuration error.
 */
#include "config.h"

#include "ses_aws.h"
#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_http.h"
#include "ses_log.h"
#include "ses_setup_check.h"
#include "ses_store.h"
#include "ses_suppress_csv.h"
#include "ses_suppress_report.h"
#include "ses_suppress_sync.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define EXIT_NO  1
#define NO_STORE ((store_mode_t)0) /* a command that needs no store */

typedef struct {
    conf_t *conf;
    store_t *store;
    int argc;
    char **argv;
} ctx_t;

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: ses-suppress [-c FILE] COMMAND [ARGS]\n"
            "\n"
            "  list                  the suppressed addresses, one a line\n"
            "  check ADDR            exit 0 and the reason when ADDR is\n"
            "                        suppressed, 1 when not\n"
            "  add ADDR [--reason bounce|complaint|manual]\n"
            "  remove ADDR           exit 1 when ADDR was not suppressed\n"
            "  import FILE|-         CSV address,reason[,timestamp]; bad\n"
            "                        lines are reported and skipped (exit 65)\n"
            "  export                the same CSV on stdout\n"
            "  report [--days N]     bounce and complaint rates per\n"
            "                        configuration set over N days (7);\n"
            "                        exit 1 at SES's review thresholds\n"
            "  sync [-n]             two-way with the SESv2 account\n"
            "                        suppression list (-n: only show)\n"
            "  regions [-r REGION]... [IDENTITY...]\n"
            "                        is every region mail may go to (Region,\n"
            "                        FailoverRegion, each -r) ready: SESv2\n"
            "                        GetAccount and GetEmailIdentity (the\n"
            "                        IDENTITYs, else VerifiedIdentities,\n"
            "                        else the ARNs' identities) and\n"
            "                        GetConfigurationSet; exit 1 when not\n"
            "\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -V, --version  print the version and exit\n"
            "  -h, --help     print this help and exit\n",
            CLI_DEFAULT_CONF);
}

static int store_failed(const ctx_t *c)
{
    fprintf(stderr, "ses-suppress: %s\n", store_strerror(c->store));
    return EX_TEMPFAIL;
}

static int want_args(const ctx_t *c, int n)
{
    if (c->argc != n) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ---- list, export -------------------------------------------------- */

/* list: one line per address under a header naming the columns (the
 * times are 20 characters, ISO 8601 UTC); export: the CSV import reads. */
#define LIST_FORMAT "%-40s %-9s %-8s %-20s %-20s "

typedef struct {
    buf_t out;
    int csv;
} print_t;

static void flush_out(print_t *p)
{
    if (p->out.len)
        fwrite(p->out.data, 1, p->out.len, stdout);
    buf_reset(&p->out);
}

static int print_one(void *ctx, const char *addr, const suppression_t *s,
                     int removed)
{
    print_t *p = ctx;
    char first[32], last[32];

    (void)removed;
    if (p->csv)
        suppress_export_line(&p->out, addr, s);
    else
        buf_printf(&p->out, LIST_FORMAT "%u\n", addr,
                   store_reason_name(s->reason), store_source_name(s->source),
                   suppress_iso_time(s->first, first, sizeof(first)),
                   suppress_iso_time(s->last, last, sizeof(last)), s->count);
    if (p->out.len > 60000)
        flush_out(p);
    return 0;
}

static int walk_print(ctx_t *c, int csv)
{
    print_t p;
    store_status_t rc;

    if (want_args(c, 1) < 0)
        return EX_USAGE;
    buf_init(&p.out, 0);
    p.csv = csv;
    if (!csv)
        buf_printf(&p.out, LIST_FORMAT "%s\n", "ADDRESS", "REASON", "SOURCE",
                   "FIRST", "LAST", "COUNT");
    rc = store_suppression_each(c->store, 0, print_one, &p);
    flush_out(&p);
    buf_free(&p.out);
    if (fflush(stdout) != 0)
        return EX_IOERR;
    return rc == STORE_OK ? EX_OK : store_failed(c);
}

static int cmd_list(ctx_t *c)
{
    return walk_print(c, 0);
}

static int cmd_export(ctx_t *c)
{
    return walk_print(c, 1);
}

/* ---- check, add, remove -------------------------------------------- */

static int cmd_check(ctx_t *c)
{
    suppression_t s;
    char first[32], last[32];

    if (want_args(c, 2) < 0)
        return EX_USAGE;
    switch (store_suppression_get(c->store, c->argv[1], &s)) {
    case STORE_OK:
        printf("%s: suppressed (%s, source %s, since %s, last %s, %u "
               "time%s)\n",
               c->argv[1], store_reason_name(s.reason),
               store_source_name(s.source),
               suppress_iso_time(s.first, first, sizeof(first)),
               suppress_iso_time(s.last, last, sizeof(last)), s.count,
               s.count == 1 ? "" : "s");
        return EX_OK;
    case STORE_NOTFOUND:
        printf("%s: not suppressed\n", c->argv[1]);
        return EXIT_NO;
    default:
        return store_failed(c);
    }
}

static int cmd_add(ctx_t *c)
{
    supp_reason_t reason = SUPP_MANUAL;
    int64_t now = time(NULL);
    suppression_t s;

    if (c->argc == 4 && strcmp(c->argv[2], "--reason") == 0) {
        if ((reason = store_reason_parse(c->argv[3])) == 0) {
            fprintf(stderr, "ses-suppress: reason must be bounce, complaint "
                            "or manual\n");
            return EX_USAGE;
        }
    } else if (want_args(c, 2) < 0) {
        return EX_USAGE;
    }
    s = (suppression_t){reason, SUPP_SRC_MANUAL, now, now, 1};
    switch (store_suppression_put(c->store, NULL, c->argv[1], &s)) {
    case STORE_OK:
        log_info(NULL, "added <%s> to the suppression list (%s)", c->argv[1],
                 store_reason_name(reason));
        return EX_OK;
    case STORE_PERMFAIL:
        fprintf(stderr, "ses-suppress: %s: %s\n", c->argv[1],
                store_strerror(c->store));
        return EX_DATAERR;
    default:
        return store_failed(c);
    }
}

static int cmd_remove(ctx_t *c)
{
    if (want_args(c, 2) < 0)
        return EX_USAGE;
    switch (store_suppression_del(c->store, NULL, c->argv[1], time(NULL))) {
    case STORE_OK:
        log_info(NULL, "removed <%s> from the suppression list", c->argv[1]);
        return EX_OK;
    case STORE_NOTFOUND:
        printf("%s: not suppressed\n", c->argv[1]);
        return EXIT_NO;
    default:
        return store_failed(c);
    }
}

/* ---- import -------------------------------------------------------- */

static void bad_line(void *ctx, size_t lineno, const char *why)
{
    fprintf(stderr, "ses-suppress: %s:%zu: %s; line skipped\n",
            (const char *)ctx, lineno, why);
}

static int cmd_import(ctx_t *c)
{
    const char *name;
    import_stats_t stats;
    store_status_t rc;
    char err[512];
    int fd;

    if (want_args(c, 2) < 0)
        return EX_USAGE;
    name = strcmp(c->argv[1], "-") == 0 ? "stdin" : c->argv[1];
    if (strcmp(c->argv[1], "-") == 0)
        fd = STDIN_FILENO;
    else if ((fd = open(c->argv[1], O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "ses-suppress: %s: %s\n", c->argv[1], strerror(errno));
        return EX_NOINPUT;
    }
    rc = suppress_import(c->store, fd, time(NULL), bad_line, (void *)name,
                         &stats, err, sizeof(err));
    if (fd != STDIN_FILENO)
        close(fd);
    log_info(NULL,
             "import from %s: %zu entries imported, %zu bad lines "
             "skipped",
             name, stats.imported, stats.bad);
    printf("%zu imported, %zu bad lines skipped\n", stats.imported, stats.bad);
    if (rc != STORE_OK) {
        fprintf(stderr, "ses-suppress: import stopped: %s\n", err);
        return EX_TEMPFAIL;
    }
    return stats.bad ? EX_DATAERR : EX_OK;
}

/* ---- report -------------------------------------------------------- */

typedef struct {
    int warnings;
    int rows;
} report_t;

static int report_row(void *ctx, const char *cs, const uint64_t *n)
{
    report_t *r = ctx;
    report_rates_t rr;

    suppress_report_rates(n, &rr);
    printf("%-24s %9llu %9llu %8llu %9llu %10llu %8.2f%% %10.3f%%\n",
           *cs ? cs : "(none)", (unsigned long long)n[STAT_SENT],
           (unsigned long long)n[STAT_DELIVERED],
           (unsigned long long)n[STAT_BOUNCE],
           (unsigned long long)n[STAT_TRANSIENT],
           (unsigned long long)n[STAT_COMPLAINT], 100.0 * rr.bounce_rate,
           100.0 * rr.complaint_rate);
    if (rr.bounce_warning) {
        printf("WARNING: %s: bounce rate %.2f%% is at or above SES's %.0f%% "
               "review threshold\n",
               *cs ? cs : "(none)", 100.0 * rr.bounce_rate,
               100.0 * REPORT_BOUNCE_REVIEW);
        r->warnings++;
    }
    if (rr.complaint_warning) {
        printf("WARNING: %s: complaint rate %.3f%% is at or above SES's "
               "%.1f%% review threshold\n",
               *cs ? cs : "(none)", 100.0 * rr.complaint_rate,
               100.0 * REPORT_COMPLAINT_REVIEW);
        r->warnings++;
    }
    r->rows++;
    return 0;
}

static int cmd_report(ctx_t *c)
{
    long days = 7;
    int64_t now = time(NULL);
    report_t r = {0, 0};
    char *end;

    if (c->argc == 3 && strcmp(c->argv[1], "--days") == 0) {
        days = strtol(c->argv[2], &end, 10);
        if (*end || days < 1 || days > 3660) {
            fprintf(stderr, "ses-suppress: --days wants 1..3660\n");
            return EX_USAGE;
        }
    } else if (want_args(c, 1) < 0) {
        return EX_USAGE;
    }
    printf("last %ld day%s, per configuration set\n", days,
           days == 1 ? "" : "s");
    printf("%-24s %9s %9s %8s %9s %10s %9s %11s\n", "configuration set", "sent",
           "delivered", "bounced", "transient", "complaints", "bounce",
           "complaint");
    if (store_stats_sum(c->store, now - days * 86400, now + 1, report_row,
                        &r) != STORE_OK)
        return store_failed(c);
    if (r.rows == 0)
        printf("(nothing sent or reported in this window)\n");
    return r.warnings ? EXIT_NO : EX_OK;
}

/* ---- sync ---------------------------------------------------------- */

static void sync_report(void *ctx, const char *action, const char *addr)
{
    if (*(int *)ctx)
        printf("%-14s %s\n", action, addr);
}

static int cmd_sync(ctx_t *c)
{
    const char *endpoint = conf_str(c->conf, CK_ENDPOINT);
    char region[64], url[1024], err[512];
    creds_provider_t *creds = NULL;
    aws_service_t *ses = NULL;
    aws_service_config_t cfg;
    http_t *http = NULL;
    sync_stats_t stats;
    int dry_run = 0, rc = EX_TEMPFAIL;
    status_t st;

    if (c->argc == 2 && strcmp(c->argv[1], "-n") == 0)
        dry_run = 1;
    else if (want_args(c, 1) < 0)
        return EX_USAGE;
    aws_region(c->conf, region, sizeof(region));
    if (endpoint)
        str_copy(url, endpoint, sizeof(url));
    else
        aws_default_endpoint("email", region, url, sizeof(url));
    cfg = (aws_service_config_t){"SES", "ses", region,
                                 url,   NULL,  conf_int(c->conf, CK_RETRY_TIME),
                                 NULL,  NULL};
    if (http_global_init() < 0 ||
        (creds = creds_provider_new(c->conf)) == NULL ||
        (http = http_new(conf_int(c->conf, CK_CONNECT_TIMEOUT),
                         conf_int(c->conf, CK_TIMEOUT))) == NULL) {
        fprintf(stderr, "ses-suppress: cannot set up the SES client\n");
        goto out;
    }
    cfg.creds = creds;
    if ((ses = aws_service_new(&cfg, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ses-suppress: %s\n", err);
        rc = EX_CONFIG;
        goto out;
    }
    st = suppress_sync(c->store, ses, http, dry_run, sync_report, &dry_run,
                       &stats, err, sizeof(err));
    printf("%s%zu in SES, %zu here; %zu pulled, %zu pushed, %zu deleted from "
           "SES, %zu removed here, %zu restored, %zu tombstones forgotten, "
           "%zu failed\n",
           dry_run ? "(dry run) " : "", stats.remote, stats.local, stats.pulled,
           stats.pushed, stats.deleted_remote, stats.removed_local,
           stats.restored, stats.purged, stats.failed);
    log_info(NULL,
             "sync with %s: %zu pulled, %zu pushed, %zu deleted from "
             "SES, %zu removed here, %zu failed",
             url, stats.pulled, stats.pushed, stats.deleted_remote,
             stats.removed_local, stats.failed);
    if (st != ST_OK)
        fprintf(stderr, "ses-suppress: sync: %s\n", err);
    rc = st == ST_OK ? EX_OK : status_info(st)->sysexit;
    if (rc == EX_OK && st != ST_OK)
        rc = EX_TEMPFAIL;
out:
    aws_service_free(ses);
    http_free(http);
    creds_provider_free(creds);
    return rc;
}

static void region_report(void *ud, const char *region, const char *what,
                          const char *name, bool ok, const char *text)
{
    (void)ud;
    printf("%-16s %-18s %s%s%s: %s\n", region, what, name, *name ? " " : "",
           ok ? "ok" : "NOT READY", text);
}

static int cmd_regions(ctx_t *c)
{
    const char *extra[32], *idents[64], *regions[64], *given[64];
    size_t nextra = 0, ngiven = 0, nregions, nidents;
    char primary[64], url[1024], err[512];
    creds_provider_t *creds = NULL;
    http_t *http = NULL;
    int rc = EX_OK;

    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "-r") == 0 && i + 1 < c->argc &&
            nextra + 1 < ARRAY_SIZE(extra))
            extra[nextra++] = c->argv[++i];
        else if (c->argv[i][0] != '-' && ngiven + 1 < ARRAY_SIZE(given))
            given[ngiven++] = c->argv[i];
        else {
            usage(stderr);
            return EX_USAGE;
        }
    }
    extra[nextra] = NULL;
    given[ngiven] = NULL;
    nregions = setup_check_regions(c->conf, extra, regions, ARRAY_SIZE(regions),
                                   primary, sizeof(primary));
    nidents =
        setup_check_identities(c->conf, given, idents, ARRAY_SIZE(idents));
    if (http_global_init() < 0 ||
        (creds = creds_provider_new(c->conf)) == NULL ||
        (http = http_new(conf_int(c->conf, CK_CONNECT_TIMEOUT),
                         conf_int(c->conf, CK_TIMEOUT))) == NULL) {
        fprintf(stderr, "ses-suppress: cannot set up the SES client\n");
        rc = EX_TEMPFAIL;
        goto out;
    }
    for (size_t i = 0; i < nregions; i++) {
        aws_service_config_t cfg = {.name = "SES",
                                    .signing_name = "ses",
                                    .region = regions[i],
                                    .endpoint = url,
                                    .creds = creds,
                                    .retry_time_ms =
                                        conf_int(c->conf, CK_RETRY_TIME)};
        aws_service_t *ses;
        bool ready = false;
        status_t st;

        setup_check_url(c->conf, regions[i], url, sizeof(url));
        if ((ses = aws_service_new(&cfg, err, sizeof(err))) == NULL) {
            fprintf(stderr, "ses-suppress: %s: %s\n", regions[i], err);
            rc = EX_CONFIG;
            goto out;
        }
        st = setup_check_region(ses, http, regions[i], c->conf, idents, nidents,
                                region_report, NULL, &ready, err, sizeof(err));
        aws_service_free(ses);
        if (st != ST_OK) {
            printf("%-16s %-18s could not ask: %s\n", regions[i], "region",
                   err);
            rc = EX_TEMPFAIL;
        } else if (!ready && rc == EX_OK)
            rc = EXIT_NO;
    }
out:
    http_free(http);
    creds_provider_free(creds);
    return rc;
}

/* ---- main ---------------------------------------------------------- */

static const struct {
    const char *name;
    int (*fn)(ctx_t *c);
    store_mode_t mode;
} cmds[] = {
    {"list", cmd_list, STORE_INSPECT},
    {"check", cmd_check, STORE_INSPECT},
    {"add", cmd_add, STORE_READWRITE},
    {"remove", cmd_remove, STORE_READWRITE},
    {"import", cmd_import, STORE_READWRITE},
    {"export", cmd_export, STORE_INSPECT},
    {"report", cmd_report, STORE_INSPECT},
    {"sync", cmd_sync, STORE_READWRITE},
    {"regions", cmd_regions, NO_STORE},
};

int main(int argc, char **argv)
{
    const char *conffile = NULL;
    char err[1024];
    ctx_t c = {0};
    size_t i;
    int ch, rc;

    store_exit_when_stuck(STORE_STUCK_EXIT_S); /* see ses_store.h */

    while ((ch = cli_getopt(argc, argv, "+c:Vh")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'V':
            printf("ses-suppress %s\n", cli_version());
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EX_USAGE;
    }
    for (i = 0; i < ARRAY_SIZE(cmds); i++)
        if (strcmp(cmds[i].name, argv[optind]) == 0)
            break;
    if (i == ARRAY_SIZE(cmds)) {
        fprintf(stderr, "ses-suppress: unknown command \"%s\"\n", argv[optind]);
        usage(stderr);
        return EX_USAGE;
    }
    if (cli_load_conf(conffile, &c.conf, err, sizeof(err)) != CONF_OK) {
        fprintf(stderr, "ses-suppress: %s\n", err);
        return EX_CONFIG;
    }
    cli_start("ses-suppress", c.conf, 0);
    if (cmds[i].mode != NO_STORE &&
        store_open(conf_str(c.conf, CK_DATA_DIRECTORY), cmds[i].mode, &c.store,
                   err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "ses-suppress: cannot open the store: %s\n", err);
        conf_unref(c.conf);
        return EX_TEMPFAIL;
    }
    c.argc = argc - optind;
    c.argv = argv + optind;
    rc = cmds[i].fn(&c);
    store_close(c.store);
    conf_unref(c.conf);
    return rc;
}
