/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses-keygen - make a DKIM key for ses-milter and print the DNS records a
 * domain needs to send through Amazon SES
 *
 * ses-keygen [-c FILE] [-a rsa-2048|rsa-3072|ed25519] -d DOMAIN
 *            [-s SELECTOR] [-D DIR] [-r REGION] [-m SUBDOMAIN] [-u USER]
 *
 * Writes DIR/SELECTOR.private (PEM, mode 0600, never over an existing
 * file), and prints, in zone-file syntax ready to paste: the DKIM TXT
 * record (split into 255-byte strings), the custom MAIL FROM MX and SPF
 * records for the region, DMARC, and the ses-milter.conf, KeyTable and
 * SigningTable lines that use the key. No SPF record for the domain
 * itself: SES never sends from it.
 *
 * This file stays thin: options, then src/dkimkey.c does the keys.
 */
#include "config.h"

#include "ses_cli.h"
#include "ses_conf.h"
#include "ses_daemon.h"
#include "ses_dkimkey.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAME 253 /* a domain name */

static void usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: ses-keygen [-c FILE] [-a ALGORITHM] -d DOMAIN [-s SELECTOR] "
        "[-D DIR]\n"
        "                  [-r REGION] [-m SUBDOMAIN] [-u USER]\n"
        "       ses-keygen -V | -h\n"
        "\n"
        "  -a ALGORITHM  rsa-2048 (default), rsa-3072 or ed25519\n"
        "  -c FILE       configuration file (default %s; Region and "
        "UserID)\n"
        "  -d DOMAIN     signing domain\n"
        "  -s SELECTOR   DKIM selector (default sesYYYYMM)\n"
        "  -D DIR        directory for SELECTOR.private (default .)\n"
        "  -r REGION     SES region for the MAIL FROM MX record (default "
        "Region,\n"
        "                AWS_REGION, us-east-1)\n"
        "  -m SUBDOMAIN  custom MAIL FROM subdomain (default bounce)\n"
        "  -u USER       owner of the key file when run as root (default "
        "UserID)\n"
        "  -V, --version  print the version and exit\n"
        "  -h, --help     print this help and exit\n"
        "\n"
        "Exit: 0 done, 64 usage, 73 key file exists or cannot be written,\n"
        "67 unknown user, 78 bad configuration.\n",
        CLI_DEFAULT_CONF);
}

/* A host name: labels of letters, digits, '-' and '_' (selectors), dots
 * between them. */
static int name_ok(const char *s)
{
    size_t n = strlen(s), label = 0;

    if (n == 0 || n > MAX_NAME || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
            if (++label > 63)
                return 0;
        } else
            return 0;
    }
    return 1;
}

/* Owner of the key file: -u, else UserID (user[:group]), when root. */
static int key_owner(const char *user, uid_t *uid, gid_t *gid)
{
    char name[256], *group;
    struct passwd *pw;
    struct group *gr;

    str_copy(name, user, sizeof(name));
    if ((group = strchr(name, ':')) != NULL)
        *group++ = '\0';
    if ((pw = getpwnam(name)) == NULL)
        return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (group && *group) {
        if ((gr = getgrnam(group)) == NULL)
            return -1;
        *gid = gr->gr_gid;
    }
    return 0;
}

typedef struct {
    const char *domain, *selector, *region, *mailfrom, *keypath;
    const dkimkey_t *key;
} records_t;

static int print_records(const records_t *r)
{
    char pub[2048], txt[2200];
    buf_t q;
    int rc = 0;

    if (dkimkey_public(r->key, pub, sizeof(pub)) < 0)
        return -1;
    snprintf(txt, sizeof(txt), "v=DKIM1; k=%s; p=%s", dkimkey_type(r->key),
             pub);
    buf_init(&q, 0);
    if (dkimkey_txt_quote(txt, &q) < 0) {
        buf_free(&q);
        return -1;
    }
    printf("; DNS records for %s (ses-keygen, %s key, region %s)\n"
           "; private key: %s (mode 0600)\n\n",
           r->domain, dkimkey_type(r->key), r->region, r->keypath);
    printf("; 1. DKIM: ses-milter signs with the private key; receivers "
           "check\n;    with this one.\n"
           "%s._domainkey.%s. IN TXT ( %s )\n\n",
           r->selector, r->domain, q.data);
    if (strcmp(dkimkey_type(r->key), "ed25519") == 0)
        printf("; Many receivers do not check Ed25519 signatures yet: sign "
               "with an RSA\n; key too (a second KeyTable entry).\n\n");
    /* SPF checks the envelope sender's domain. SES sends from the custom
     * MAIL FROM domain below (or, without one, from amazonses.com), never
     * from the apex, so the apex's own SPF record needs no amazonses.com
     * (AWS, "Authenticating Email with SPF in Amazon SES"). */
    printf("; 2. Custom MAIL FROM domain %s.%s (region %s; set the same "
           "in SES).\n;    Bounces reach SES through the MX, and SPF passes "
           "for this\n;    subdomain of %s, which aligns for DMARC:\n"
           "%s.%s. IN MX 10 feedback-smtp.%s.amazonses.com.\n"
           "%s.%s. IN TXT \"v=spf1 include:amazonses.com ~all\"\n"
           ";    SPF is checked for this MAIL FROM domain, never for %s\n"
           ";    itself: %s's own SPF record needs no "
           "include:amazonses.com.\n\n",
           r->mailfrom, r->domain, r->region, r->domain, r->mailfrom, r->domain,
           r->region, r->mailfrom, r->domain, r->domain, r->domain);
    printf("; 3. DMARC: start with p=none, read the reports, then tighten "
           "to\n;    quarantine or reject.\n"
           "_dmarc.%s. IN TXT \"v=DMARC1; p=none; "
           "rua=mailto:dmarc-reports@%s\"\n\n",
           r->domain, r->domain);
    printf("; ses-milter.conf, for this one key:\n"
           ";   Domain              %s\n"
           ";   Selector            %s\n"
           ";   KeyFile             %s\n"
           ";   SignatureAlgorithm  %s\n"
           "; or, for several domains, a line in the KeyTable "
           "(KeyTable file:PATH):\n"
           ";   %s._domainkey.%s %s:%s:%s\n"
           "; and one in the SigningTable (SigningTable refile:PATH):\n"
           ";   *@%s %s._domainkey.%s\n",
           r->domain, r->selector, r->keypath,
           dkimkey_signature_algorithm(r->key), r->selector, r->domain,
           r->domain, r->selector, r->keypath, r->domain, r->selector,
           r->domain);
    buf_free(&q);
    if (fflush(stdout) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    const char *conffile = NULL, *algname = "rsa-2048", *domain = NULL;
    const char *selector = NULL, *dir = ".", *region = NULL;
    const char *mailfrom = "bounce", *user = NULL;
    char defsel[32], dirabs[PATH_MAX], keypath[PATH_MAX + 300], err[1024];
    dkimkey_alg_t alg;
    dkimkey_t *key = NULL;
    conf_t *conf = NULL;
    conf_status_t cst;
    int ch, rc = EX_OK;

    daemon_core_dumps(0); /* it holds a private key: never in a core */
    while ((ch = cli_getopt(argc, argv, "c:a:d:s:D:r:m:u:Vh")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'a':
            algname = optarg;
            break;
        case 'd':
            domain = optarg;
            break;
        case 's':
            selector = optarg;
            break;
        case 'D':
            dir = optarg;
            break;
        case 'r':
            region = optarg;
            break;
        case 'm':
            mailfrom = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'V':
            printf("ses-keygen %s\n", cli_version());
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc || domain == NULL) {
        fprintf(stderr, "ses-keygen: %s\n",
                domain ? "unexpected argument" : "-d DOMAIN is required");
        usage(stderr);
        return EX_USAGE;
    }
    if (dkimkey_alg_parse(algname, &alg) < 0) {
        fprintf(stderr,
                "ses-keygen: unknown algorithm \"%s\" (rsa-2048, rsa-3072 "
                "or ed25519)\n",
                algname);
        return EX_USAGE;
    }
    if (selector == NULL) {
        time_t now = time(NULL);
        strftime(defsel, sizeof(defsel), "ses%Y%m", gmtime(&now));
        selector = defsel;
    }
    if (!name_ok(domain) || !name_ok(selector) || !name_ok(mailfrom) ||
        (region && !name_ok(region))) {
        fprintf(stderr, "ses-keygen: domain, selector, subdomain and region "
                        "must be DNS names\n");
        return EX_USAGE;
    }
    /* The configuration is optional here: a key often comes before it. */
    cst = cli_load_conf(conffile, &conf, err, sizeof(err));
    if (cst == CONF_INVALID || (cst == CONF_NOFILE && conffile)) {
        fprintf(stderr, "ses-keygen: %s\n", err);
        return EX_CONFIG;
    }
    if (region == NULL && conf)
        region = conf_str(conf, CK_REGION);
    if (region == NULL && (region = getenv("AWS_REGION")) != NULL &&
        !name_ok(region))
        region = NULL;
    if (region == NULL)
        region = "us-east-1";
    if (user == NULL && conf)
        user = conf_str(conf, CK_USER_ID);
    if (realpath(dir, dirabs) == NULL) {
        fprintf(stderr, "ses-keygen: %s: %s\n", dir, strerror(errno));
        rc = EX_CANTCREAT;
        goto out;
    }
    snprintf(keypath, sizeof(keypath), "%s/%s.private", dirabs, selector);
    if ((key = dkimkey_generate(alg, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ses-keygen: %s\n", err);
        rc = EX_SOFTWARE;
        goto out;
    }
    switch (dkimkey_write_private(key, keypath, err, sizeof(err))) {
    case DKIMKEY_OK:
        break;
    case DKIMKEY_EXISTS:
    case DKIMKEY_FAIL:
        fprintf(stderr, "ses-keygen: %s\n", err);
        rc = EX_CANTCREAT;
        goto out;
    }
    if (user && geteuid() == 0) {
        uid_t uid;
        gid_t gid;
        if (key_owner(user, &uid, &gid) < 0) {
            fprintf(
                stderr,
                "ses-keygen: no user or group \"%s\" to own %s; removed it\n",
                user, keypath);
            unlink(keypath);
            rc = EX_NOUSER;
            goto out;
        }
        if (chown(keypath, uid, gid) < 0) {
            fprintf(stderr, "ses-keygen: chown %s: %s\n", keypath,
                    strerror(errno));
            rc = EX_CANTCREAT;
            goto out;
        }
    }
    {
        records_t r = {domain, selector, region, mailfrom, keypath, key};
        if (print_records(&r) < 0) {
            fprintf(stderr, "ses-keygen: cannot print the records\n");
            rc = EX_IOERR;
        }
    }
out:
    dkimkey_free(key);
    conf_unref(conf);
    return rc;
}
