/*
 * ses-milter - tag, police and sign mail for Amazon SES inside Postfix's
 * (or Sendmail's) SMTP conversation
 *
 * ses-milter [-c FILE] [-f] [-n] [-V] [-h]
 *
 * Per message it adds X-SES-CONFIGURATION-SET from ConfigurationSet. (Rules,
 * suppression, identity checks and DKIM signing are built on this in
 * milter/ by the milter issue.) Headers X-SES-* from the client are
 * replaced, never trusted blindly.
 *
 * This file stays thin: options, the configuration snapshot, libmilter
 * registration.
 */
#include "config.h"

#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_log.h"
#include "ses_status.h"
#include "ses_util.h"

#include <errno.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* Per-message context: holds the snapshot the message started with. */
typedef struct {
    conf_t *conf;
    char qid[64];
} msgctx_t;

static void msg_free(SMFICTX *ctx)
{
    msgctx_t *m = smfi_getpriv(ctx);

    if (m) {
        conf_unref(m->conf);
        free(m);
        smfi_setpriv(ctx, NULL);
    }
}

static sfsistat on_error(const conf_t *c)
{
    return c && conf_is(c, CK_ON_ERROR, "accept") ? SMFIS_ACCEPT
                                                  : SMFIS_TEMPFAIL;
}

static sfsistat mlfi_envfrom(SMFICTX *ctx, char **argv)
{
    msgctx_t *m;

    msg_free(ctx);
    if ((m = calloc(1, sizeof(*m))) == NULL) {
        conf_t *c = conf_current();
        sfsistat r = on_error(c);
        log_error(NULL, "out of memory");
        conf_unref(c);
        return r;
    }
    m->conf = conf_current();
    smfi_setpriv(ctx, m);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_eom(SMFICTX *ctx)
{
    msgctx_t *m = smfi_getpriv(ctx);
    const char *qid = smfi_getsymval(ctx, "i");
    const char *cs;

    if (m == NULL)
        return SMFIS_CONTINUE;
    str_copy(m->qid, qid ? qid : "", sizeof(m->qid));
    cs = conf_str(m->conf, CK_CONFIGURATION_SET);
    if (cs && !conf_is(m->conf, CK_MODE, "observe")) {
        /* index 1: the first instance; replaces one sent by the client */
        if (smfi_chgheader(ctx, "X-SES-CONFIGURATION-SET", 1, (char *)cs) !=
                MI_SUCCESS &&
            smfi_addheader(ctx, "X-SES-CONFIGURATION-SET", (char *)cs) !=
                MI_SUCCESS) {
            sfsistat r = on_error(m->conf);
            log_error(m->qid, "cannot add X-SES-CONFIGURATION-SET");
            return r;
        }
    }
    log_info(m->qid, "configuration-set=%s", cs ? cs : "(none)");
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_abort(SMFICTX *ctx)
{
    msg_free(ctx);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_close(SMFICTX *ctx)
{
    msg_free(ctx);
    return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
    .xxfi_name = "ses-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
    .xxfi_envfrom = mlfi_envfrom,
    .xxfi_eom = mlfi_eom,
    .xxfi_abort = mlfi_abort,
    .xxfi_close = mlfi_close,
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: ses-milter [-c FILE] [-f] [-n] [-V] [-h]\n"
            "\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -f       stay in the foreground, log to stderr\n"
            "  -n       check the configuration and exit (0 valid, 78 not)\n"
            "  -V       print the version and exit\n"
            "  -h       print this help and exit\n",
            CLI_DEFAULT_CONF);
}

int main(int argc, char **argv)
{
    const char *conffile = NULL;
    conf_t *conf = NULL;
    char err[1024], sock[256];
    int ch, foreground = 0, check = 0, rc;

    while ((ch = getopt(argc, argv, "c:fnVh")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'n':
            check = 1;
            break;
        case 'V':
            cli_version("ses-milter");
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "ses-milter: unexpected argument \"%s\"\n",
                argv[optind]);
        usage(stderr);
        return EX_USAGE;
    }
    if (cli_load_conf(conffile, &conf, err, sizeof(err)) != CONF_OK) {
        fprintf(stderr, "ses-milter: %s\n", err);
        return EX_CONFIG;
    }
    if (check) {
        conf_unref(conf);
        return EX_OK;
    }
    cli_logging("ses-milter", conf, foreground);
    str_copy(sock, conf_str(conf, CK_SOCKET), sizeof(sock));
    conf_current_set(conf);

    if (smfi_setconn(sock) != MI_SUCCESS ||
        smfi_register(filter) != MI_SUCCESS) {
        log_error(NULL, "cannot register with libmilter on %s", sock);
        return EX_SOFTWARE;
    }
    if (smfi_opensocket(1) != MI_SUCCESS) {
        log_error(NULL, "cannot open the milter socket %s", sock);
        return EX_OSERR;
    }
    if (!foreground && daemon(0, 0) < 0) {
        log_error(NULL, "cannot become a daemon: %s", strerror(errno));
        return EX_OSERR;
    }
    log_info(NULL, "starting on %s", sock);
    rc = smfi_main();
    log_info(NULL, "stopped");
    conf_current_set(NULL);
    return rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
