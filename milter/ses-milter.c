/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses-milter - tag, police and sign mail for Amazon SES inside Postfix's
 * (or Sendmail's) SMTP conversation
 *
 * ses-milter [-c FILE] [-f] [-n] [-V] [-h]
 *
 * Start-up, in this order: read the configuration; open the milter socket
 * as root and give a unix socket SocketMode and the UserID's user and
 * group; check the whole configuration (rules, DKIM keys) before going to
 * the background, so a mistake is reported on the terminal with exit 78;
 * write PidFile; drop privileges to UserID; load the snapshot (rules, keys,
 * suppression store) as that user - exactly what a SIGHUP reload does
 * later, so a start that works means reloads work; then serve.
 * SIGHUP or SIGUSR1 reloads the configuration (an invalid one is logged
 * and the old one kept); SIGTERM stops cleanly. A start or reload with
 * DKIM keys that libopendkim does not hand to the key cache (the seam is
 * not in effect) is reported, as is a libmilter whose signal thread does
 * not wait through the seam (setup.c).
 *
 * The work per message is in filter.c; the snapshot in snapshot.c;
 * contexts in context.c; the socket and signals (TCP_NODELAY, reloads) in
 * setup.c; the three library calls taken over in seam.c.
 */
#include "config.h"

#include "setup.h"
#include "filter.h"
#include "seam.h"
#include "snapshot.h"
#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_keycache.h"
#include "ses_log.h"
#include "ses_route.h"
#include "ses_store.h"
#include "ses_util.h"

#include <errno.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

static const char *conffile;

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: ses-milter [-c FILE] [-f] [-n] [-V] [-h]\n"
            "\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -f       stay in the foreground, log to stderr\n"
            "  -n       check the configuration (rules, DKIM keys and "
            "each region's\n"
            "           endpoint and ARNs included)\n"
            "           and exit (0 valid, 78 not)\n"
            "  -V, --version  print the version and exit\n"
            "  -h, --help     print this help and exit\n",
            CLI_DEFAULT_CONF);
}

/* Summary of a snapshot for the start and reload log lines. */
/* Keys loaded, but libopendkim parses them at every signature. */
static bool keycache_bypassed(const snapshot_t *s)
{
    return signer_key_count(s->dkim) > 0 && !keycache_reached();
}

#define KEYCACHE_BYPASSED                                                      \
    "DKIM: libopendkim does not reach ses-milter's key cache (see SEAM in "    \
    "ses-milter(8)): every signature parses its key again, about twice the "   \
    "CPU"

static void describe(const snapshot_t *s, char *out, size_t outlen)
{
    snprintf(out, outlen,
             "Mode %s, %zu rule(s), %zu DKIM key(s), SuppressionAction %s",
             s->observe ? "observe" : "enforce", rules_count(s->rules),
             signer_key_count(s->dkim),
             conf_str(s->conf, CK_SUPPRESSION_ACTION));
}

/* Said by -n and at start when Socket is an inet socket off loopback. */
#define OPEN_SOCKET                                                            \
    "Socket is not on a loopback address: whoever can connect to it can "      \
    "claim any client address and have mail DKIM-signed; let only the MTA "    \
    "reach it (a firewall)"

/* What is valid but most likely a mistake, said where -n is run. A
 * CredentialsFile that does not exist is skipped by the credential chain
 * (ses-relay and ses-feedback then look further: the environment, an
 * instance role), so it is no error; a missing file is mostly a typo. An
 * inet Socket off loopback is allowed (Postfix may run on another host)
 * but lets whoever reaches it have mail signed. */
static void warn_doubtful(const conf_t *conf)
{
    const char *cf = conf_str(conf, CK_CREDENTIALS_FILE);
    struct stat sb;

    if (cf && stat(cf, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR))
        fprintf(stderr,
                "ses-milter: %s:%d: warning: CredentialsFile %s does not "
                "exist; ses-relay and ses-feedback skip it and look for AWS "
                "credentials elsewhere (environment, instance role)\n",
                conf_path(conf), conf_key_line(conf, CK_CREDENTIALS_FILE), cf);
    if (!sockspec_is_local(conf_str(conf, CK_SOCKET)))
        fprintf(stderr, "ses-milter: %s:%d: warning: %s\n", conf_path(conf),
                conf_key_line(conf, CK_SOCKET), OPEN_SOCKET);
}

/* SIGHUP (setup.c's thread): a new snapshot, or the old one kept. */
static void reload(void)
{
    conf_t *conf = NULL;
    snapshot_t *s = NULL;
    char err[1024], what[160];
    int level;

    if (cli_load_conf(conffile, &conf, err, sizeof(err)) != CONF_OK ||
        snapshot_load(conf, 0, &s, err, sizeof(err)) != CONF_OK ||
        /* the running snapshot may have a store: never trade it for none */
        (snapshot_store(s, err, sizeof(err)) == NULL && err[0])) {
        log_lines(LOG_ERR, NULL,
                  "reload failed, the previous configuration stays: ", err, "");
        snapshot_unref(s);
        conf_unref(conf);
        return;
    }
    if ((level = log_level_from_name(conf_str(conf, CK_LOG_LEVEL))) >= 0)
        log_set_level(level);
    if (keycache_bypassed(s))
        log_warning(NULL, "%s", KEYCACHE_BYPASSED);
    describe(s, what, sizeof(what));
    conf_unref(conf);
    snapshot_publish(s);
    log_info(NULL, "configuration reloaded: %s", what);
}

int main(int argc, char **argv)
{
    conf_t *conf = NULL;
    snapshot_t *snap = NULL;
    daemon_user_t user, *runas = NULL;
    const char *userid, *pidfile = NULL;
    char err[1024], sock[256], what[160], pidbuf[4096];
    int ch, foreground = 0, check = 0, rc;

    store_exit_when_stuck(STORE_STUCK_EXIT_S); /* see ses_store.h */

    while ((ch = cli_getopt(argc, argv, "c:fnVh")) != -1) {
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
            printf("ses-milter %s\n", cli_version());
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
    userid = conf_str(conf, CK_USER_ID);
    if (userid && daemon_userid_lookup(userid, &user, err, sizeof(err)) < 0) {
        fprintf(stderr, "ses-milter: %s: UserID: %s\n", conf_path(conf), err);
        conf_unref(conf);
        return EX_CONFIG;
    }
    runas = userid ? &user : NULL;
    if (check || !foreground) {
        /* Everything but the store, checked where the user sees it. */
        if (snapshot_load(conf, SNAPSHOT_NO_STORE, &snap, err, sizeof(err)) !=
            CONF_OK) {
            fprintf(stderr, "ses-milter: %s\n", err);
            conf_unref(conf);
            return EX_CONFIG;
        }
        if (check && keycache_bypassed(snap))
            fprintf(stderr, "ses-milter: warning: %s\n", KEYCACHE_BYPASSED);
        snapshot_unref(snap);
        snap = NULL;
        warn_doubtful(conf);
        if (check) {
            /* where ses-relay will send: URLs and each region's ARNs */
            routes_t *routes = routes_new(conf, NULL, NULL, err, sizeof(err));
            int status = routes ? EX_OK : EX_CONFIG;
            if (routes == NULL)
                fprintf(stderr, "ses-milter: %s: %s\n", conf_path(conf), err);
            routes_free(routes);
            conf_unref(conf);
            return status;
        }
    }
    cli_start("ses-milter", conf, foreground);
    str_copy(sock, conf_str(conf, CK_SOCKET), sizeof(sock));
    if (!sockspec_is_local(sock))
        log_warning(NULL, "%s", OPEN_SOCKET);
    if (conf_str(conf, CK_PID_FILE)) { /* a copy: conf leaves with its
                                          snapshot before the exit */
        str_copy(pidbuf, conf_str(conf, CK_PID_FILE), sizeof(pidbuf));
        pidfile = pidbuf;
    }

    filter_init(str_has_prefix(sock, "inet"));
    if (smfi_setconn(sock) != MI_SUCCESS ||
        smfi_register(filter_desc) != MI_SUCCESS) {
        log_error(NULL, "cannot register with libmilter on %s", sock);
        return EX_SOFTWARE;
    }
    if (setup_open_socket(sock, conf_str(conf, CK_SOCKET_MODE), runas, err,
                          sizeof(err)) < 0) {
        log_error(NULL, "milter socket: %s", err);
        return EX_OSERR;
    }
    if (str_has_prefix(sock, "inet")) {
        if (setup_tcp_nodelay() > 0)
            log_debug(NULL,
                      "TCP_NODELAY set on the listening socket %s: every "
                      "connection accepted on it has it",
                      sock);
        else
            log_warning(NULL,
                        "cannot set TCP_NODELAY on the listening socket %s: "
                        "answers may wait 40 ms for delayed ACKs",
                        sock);
    }
    if (!foreground && daemon(0, 0) < 0) {
        log_error(NULL, "cannot become a daemon: %s", strerror(errno));
        return EX_OSERR;
    }
    if (pidfile && daemon_pidfile_write(pidfile, err, sizeof(err)) < 0) {
        log_error(NULL, "%s", err);
        return EX_CANTCREAT;
    }
    if (runas && daemon_drop_privileges(runas, err, sizeof(err)) < 0) {
        log_error(NULL, "%s", err);
        daemon_pidfile_remove(pidfile);
        return EX_NOPERM;
    }
    if (setup_signals(reload, err, sizeof(err)) < 0) {
        log_error(NULL, "%s", err);
        daemon_pidfile_remove(pidfile);
        return EX_OSERR;
    }
    if (snapshot_load(conf, 0, &snap, err, sizeof(err)) != CONF_OK) {
        log_error(NULL, "%s", err);
        daemon_pidfile_remove(pidfile);
        return EX_CONFIG;
    }
    if (keycache_bypassed(snap))
        log_warning(NULL, "%s", KEYCACHE_BYPASSED);
    if (snapshot_store(snap, err, sizeof(err)) == NULL && err[0])
        log_error(NULL,
                  "%s: %s; suppression lookups follow OnError %s until "
                  "it can be opened",
                  conf_path(conf), err,
                  snap->onerror_accept ? "accept" : "tempfail");
    describe(snap, what, sizeof(what));
    snapshot_publish(snap);
    conf_unref(conf);
    log_info(NULL, "starting on %s: %s", sock, what);
    rc = smfi_main();
    log_info(NULL, "stopped");
    log_debug(NULL, "seam: %lu command heads read, %lu quick ACKs",
              seam_heads_read(), seam_quick_acks());
    snapshot_publish(NULL);
    daemon_pidfile_remove(pidfile);
    return rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
