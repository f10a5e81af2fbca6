/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_dkim.c - DKIM keys, tables and signatures (libopendkim)
 *
 * Signatures are checked with libopendkim's verifier reading the public
 * key from a file (no DNS); the milter and integration tests check them
 * again with dkimpy, an independent implementation.
 */
#include "config.h"

#include "testutil.h"
#include "ses_conf.h"
#include "ses_signer.h"

#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <opendkim/dkim.h>

static char dir[] = "/tmp/ses-dkim-test.XXXXXX";
static char rsa_path[256], ed_path[256], rsa_pub[1024], ed_pub[128];

/* A key of the given type written 0600 to path; its public half in pub
 * as a DKIM TXT "p=" value. */
static void make_key(int type, const char *path, char *pub, size_t publen)
{
    EVP_PKEY *k = type == EVP_PKEY_RSA
                      ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                      : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    unsigned char der[1024], *p = der;
    size_t len = sizeof(der);
    FILE *fp = fopen(path, "w");

    assert_non_null(k);
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
    chmod(path, 0600);
    if (type == EVP_PKEY_RSA)
        len = (size_t)i2d_PUBKEY(k, &p);
    else
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, der, &len), 1);
    assert_true(EVP_EncodeBlock((unsigned char *)pub, der, (int)len) <
                (int)publen);
    EVP_PKEY_free(k);
}

static int setup(void **state)
{
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(rsa_path, sizeof(rsa_path), "%s/rsa.pem", dir);
    snprintf(ed_path, sizeof(ed_path), "%s/ed.pem", dir);
    make_key(EVP_PKEY_RSA, rsa_path, rsa_pub, sizeof(rsa_pub));
    make_key(EVP_PKEY_ED25519, ed_path, ed_pub, sizeof(ed_pub));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static char *write_in_dir(const char *name, const char *text)
{
    static char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

static signer_t *signer_of(const char *conftext)
{
    conf_t *c = tu_conf(conftext);
    signer_t *s = NULL;
    char err[512];

    if (signer_load(c, &s, err, sizeof(err)) != CONF_OK)
        fail_msg("load: %s", err);
    conf_unref(c);
    return s;
}

/* signer_load()'s error for a configuration, "" when it loads. */
static const char *load_error(const char *conftext)
{
    static char err[512];
    conf_t *c = tu_conf(conftext);
    signer_t *s = NULL;

    err[0] = '\0';
    if (signer_load(c, &s, err, sizeof(err)) == CONF_OK)
        err[0] = '\0';
    signer_free(s);
    conf_unref(c);
    return err;
}

static const char *const msg_headers[][2] = {
    {"From", "Alice <alice@example.com>"},
    {"To", "bob@example.net"},
    {"Subject", "quarterly report"},
    {"Date", "Wed, 25 Nov 2026 10:00:00 +0000"},
    {"Message-ID", "<1@example.com>"},
    {"X-SES-CONFIGURATION-SET", "tx"},
    {"MIME-Version", "1.0"},
};
static const char msg_body[] = "Hello Bob,\r\n\r\nthe numbers.\r\n";

/* Signs the test message; returns the DKIM-Signature value. */
static char *sign_msg(const signer_t *s, const char *from, bool *cached)
{
    static char sig[SIGNER_SIGNATURE_MAX];
    signer_msg_t *j = NULL;
    char err[256];

    assert_int_equal(signer_msg_start(s, from, "QID1", &j, err, sizeof(err)),
                     SIGNER_OK);
    for (size_t i = 0; i < sizeof(msg_headers) / sizeof(msg_headers[0]); i++)
        assert_int_equal(signer_msg_header(j, msg_headers[i][0],
                                           i == 0 ? from : msg_headers[i][1],
                                           false),
                         SIGNER_OK);
    assert_int_equal(signer_msg_eoh(j), SIGNER_OK);
    assert_int_equal(signer_msg_body(j, (const unsigned char *)msg_body,
                                     sizeof(msg_body) - 1),
                     SIGNER_OK);
    assert_int_equal(signer_msg_finish(j, sig, sizeof(sig)), SIGNER_OK);
    if (cached)
        *cached = signer_msg_used_cached_key(j);
    signer_msg_free(j);
    return sig;
}

/* Verifies sig over the test message as Amazon SES would deliver it:
 * Date and Message-ID replaced, X-SES-* removed. Returns DKIM_STAT_*. */
static int verify(const char *sig, const char *from, const char *keyrec)
{
    char keyfile[512], msg[8192];
    DKIM_LIB *lib = dkim_init(NULL, NULL);
    dkim_query_t q = DKIM_QUERY_FILE;
    DKIM_STAT st;
    DKIM *d;
    size_t n;

    snprintf(keyfile, sizeof(keyfile), "%s", write_in_dir("keys.txt", keyrec));
    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &q, sizeof(q));
    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, keyfile,
                 strlen(keyfile));
    n = (size_t)snprintf(msg, sizeof(msg),
                         "DKIM-Signature: %s\r\nFrom: %s\r\n"
                         "To: bob@example.net\r\nSubject: quarterly report\r\n"
                         "Date: Thu, 26 Nov 2026 11:11:11 +0000\r\n"
                         "Message-ID: <0100018c-ses@email.amazonses.com>\r\n"
                         "MIME-Version: 1.0\r\n\r\n%s",
                         sig, from, msg_body);
    for (char *p = msg; (p = strstr(p, "\n\t")) != NULL; p++)
        if (p[-1] != '\r') { /* libopendkim folds with bare LF */
            memmove(p + 1, p, strlen(p) + 1);
            *p = '\r';
            n++;
            p++;
        }
    d = dkim_verify(lib, (const u_char *)"test", NULL, &st);
    assert_non_null(d);
    st = dkim_chunk(d, (u_char *)msg, n);
    if (st == DKIM_STAT_OK)
        st = dkim_chunk(d, NULL, 0);
    if (st == DKIM_STAT_OK)
        st = dkim_eom(d, NULL);
    dkim_free(d);
    dkim_close(lib);
    return (int)st;
}

static void test_rsa_signature_verifies_after_ses_rewrites(void **state)
{
    char conf[1024], rec[1200];
    signer_t *s;
    const char *sig;
    bool cached = false;

    snprintf(conf, sizeof(conf),
             "Domain example.com\nSelector s1\nKeyFile %s\n", rsa_path);
    s = signer_of(conf);
    assert_int_equal(signer_key_count(s), 1);
    sig = sign_msg(s, "Alice <alice@example.com>", &cached);
    assert_true(cached); /* the seam handed over the loaded key */
    assert_non_null(strstr(sig, "a=rsa-sha256"));
    assert_non_null(strstr(sig, "c=relaxed/relaxed"));
    assert_non_null(strstr(sig, "h=From:To:Subject:MIME-Version:From;"));
    snprintf(rec, sizeof(rec),
             "s1._domainkey.example.com v=DKIM1; k=rsa; p=%s\n", rsa_pub);
    assert_int_equal(verify(sig, "Alice <alice@example.com>", rec),
                     DKIM_STAT_OK);
    /* and a changed From fails: the check can fail */
    assert_int_not_equal(verify(sig, "Mallory <alice@example.com>", rec),
                         DKIM_STAT_OK);
    signer_free(s);
}

static void test_ed25519_signature_verifies(void **state)
{
    char conf[1024], rec[512];
    signer_t *s;
    const char *sig;
    bool cached = false;

    snprintf(conf, sizeof(conf),
             "Domain example.com\nSelector ed\nKeyFile %s\n"
             "SignatureAlgorithm ed25519-sha256\n",
             ed_path);
    s = signer_of(conf);
    sig = sign_msg(s, "alice@example.com", &cached);
    assert_true(cached);
    assert_non_null(strstr(sig, "a=ed25519-sha256"));
    snprintf(rec, sizeof(rec),
             "ed._domainkey.example.com v=DKIM1; k=ed25519; p=%s\n", ed_pub);
    assert_int_equal(verify(sig, "alice@example.com", rec), DKIM_STAT_OK);
    signer_free(s);
}

static void test_never_signed_headers(void **state)
{
    static const char *const never[] = {
        "Message-ID",         "date",        "Return-Path",    "Bounces-To",
        "X-SES-MESSAGE-TAGS", "x-ses-route", "DKIM-Signature", "Delivered-To"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        assert_true(signer_header_forbidden(never[i]));
        assert_false(signer_header_signed(never[i]));
    }
    assert_true(signer_header_signed("From"));
    assert_true(signer_header_signed("list-unsubscribe"));
    assert_false(signer_header_forbidden("Subject"));
}

static void test_signing_table_lookup_order(void **state)
{
    static const struct {
        const char *from;
        const char *selector; /* NULL: no key */
        const char *domain;
    } cases[] = {
        {"alice@a.example", "k1", "a.example"},
        {"other@a.example", "k2", "a.example"},
        {"bob@mail.b.example", "k3", "b.example"},
        {"eve@mail.b.example", "k4", "b.example"},
        {"carol@z.example", "k5", "z.example"}, /* % = From domain */
        {"x@z.example", "k6", "d6.example"},
        {"Display Name <ALICE@A.EXAMPLE>", "k1", "a.example"},
    };
    char kt[2048], st[512], conf[1300];
    signer_t *s;

    snprintf(kt, sizeof(kt),
             "k1 a.example:k1:%s\nk2 a.example:k2:%s\n"
             "k3 b.example:k3:%s\n# comment\nk4 b.example:k4:%s\n"
             "k5 %%:k5:%s\nk6 d6.example:k6:%s\n",
             rsa_path, rsa_path, rsa_path, rsa_path, rsa_path, rsa_path);
    snprintf(st, sizeof(st), "%s",
             "alice@a.example k1\na.example k2\nbob@.b.example k3\n"
             ".b.example k4\ncarol@* k5\n* k6\n");
    snprintf(conf, sizeof(conf), "KeyTable file:%s\n",
             write_in_dir("keytable", kt));
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
             "SigningTable file:%s\n", write_in_dir("signingtable", st));
    s = signer_of(conf);
    assert_int_equal(signer_key_count(s), 1); /* one file, one key */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        signer_msg_t *j = NULL;
        char err[256];
        assert_int_equal(
            signer_msg_start(s, cases[i].from, "Q", &j, err, sizeof(err)),
            SIGNER_OK);
        if (strcmp(signer_msg_selector(j), cases[i].selector) != 0 ||
            strcmp(signer_msg_domain(j), cases[i].domain) != 0)
            fail_msg("%s: got %s/%s, expected %s/%s", cases[i].from,
                     signer_msg_domain(j), signer_msg_selector(j),
                     cases[i].domain, cases[i].selector);
        signer_msg_free(j);
    }
    signer_free(s);
}

static void test_refile_patterns_in_file_order(void **state)
{
    char kt[1024], conf[1300];
    signer_t *s;
    signer_msg_t *j = NULL;
    char err[256];

    snprintf(kt, sizeof(kt), "ka a.example:sa:%s\nkb x.example:sb:%s\n",
             rsa_path, rsa_path);
    snprintf(conf, sizeof(conf), "KeyTable %s\n", write_in_dir("kt2", kt));
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
             "SigningTable refile:%s\n",
             write_in_dir("st2", "*@a.example ka\n*@*.example kb\n"));
    s = signer_of(conf);
    assert_int_equal(
        signer_msg_start(s, "u@A.example", "Q", &j, err, sizeof(err)),
        SIGNER_OK);
    assert_string_equal(signer_msg_selector(j), "sa");
    signer_msg_free(j);
    assert_int_equal(
        signer_msg_start(s, "u@mail.c.example", "Q", &j, err, sizeof(err)),
        SIGNER_OK);
    assert_string_equal(signer_msg_selector(j), "sb");
    signer_msg_free(j);
    assert_int_equal(
        signer_msg_start(s, "u@other.org", "Q", &j, err, sizeof(err)),
        SIGNER_NOKEY);
    assert_int_equal(signer_msg_start(s, "undisclosed-recipients:;", "Q", &j,
                                      err, sizeof(err)),
                     SIGNER_NOKEY);
    assert_int_equal(signer_msg_start(s, NULL, "Q", &j, err, sizeof(err)),
                     SIGNER_NOKEY);
    signer_free(s);
}

static void test_no_signing_configured_is_no_signer(void **state)
{
    conf_t *c = tu_conf("Region eu-west-1\n");
    signer_t *s = (signer_t *)1;
    char err[256];

    assert_int_equal(signer_load(c, &s, err, sizeof(err)), CONF_OK);
    assert_null(s);
    conf_unref(c);
}

static void test_configuration_errors(void **state)
{
    char conf[1024], unsafe[300], kt[600];
    const char *e;

    snprintf(unsafe, sizeof(unsafe), "%s/unsafe.pem", dir);
    snprintf(conf, sizeof(conf), "cp %s %s && chmod 644 %s", rsa_path, unsafe,
             unsafe);
    assert_int_equal(system(conf), 0);
    snprintf(conf, sizeof(conf), "Domain example.com\nSelector s\nKeyFile %s\n",
             unsafe);
    e = load_error(conf);
    assert_non_null(strstr(e, "readable or writable by every user"));
    assert_non_null(strstr(e, "RequireSafeKeys"));
    strcat(conf, "RequireSafeKeys no\n");
    assert_string_equal(load_error(conf), "");

    snprintf(conf, sizeof(conf),
             "Domain example.com\nSelector s\nKeyFile %s\n"
             "SignatureAlgorithm ed25519-sha256\n",
             rsa_path);
    assert_non_null(
        strstr(load_error(conf), "is an RSA key but SignatureAlgorithm"));

    snprintf(conf, sizeof(conf),
             "Domain example.com\nSelector s\nKeyFile %s\nOversignHeaders "
             "From,Date\n",
             rsa_path);
    assert_non_null(strstr(load_error(conf), "OversignHeaders: Date"));

    assert_non_null(strstr(load_error("Domain example.com\nSelector s\n"),
                           "needs Domain, Selector and KeyFile"));
    snprintf(conf, sizeof(conf), "KeyTable file:%s/kt\n", dir);
    assert_non_null(strstr(load_error(conf), "KeyTable needs SigningTable"));

    snprintf(kt, sizeof(kt), "k1 example.com:s1:%s\nbroken line\n", rsa_path);
    snprintf(conf, sizeof(conf), "KeyTable file:%s\n", write_in_dir("kt3", kt));
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
             "SigningTable file:%s\n", write_in_dir("st3", "* k1\n"));
    e = load_error(conf);
    assert_non_null(strstr(e, "/kt3:2: expected \"NAME DOMAIN:SELECTOR"));

    snprintf(kt, sizeof(kt), "k1 example.com:s1:%s\n", rsa_path);
    snprintf(conf, sizeof(conf), "KeyTable file:%s\n", write_in_dir("kt4", kt));
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
             "SigningTable file:%s\n",
             write_in_dir("st4", "a.example k1\nb.example nokey\n"));
    assert_non_null(strstr(
        load_error(conf), "/st4:2: key name \"nokey\" is not in the KeyTable"));

    snprintf(conf, sizeof(conf), "KeyTable file:%s\n",
             write_in_dir("kt5", "k1 example.com:s1:./rel.pem\n"));
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
             "SigningTable file:%s\n", write_in_dir("st5", "* k1\n"));
    assert_non_null(strstr(load_error(conf), "must be an absolute path"));

    snprintf(conf, sizeof(conf),
             "Domain example.com\nSelector s\nKeyFile %s/missing.pem\n", dir);
    assert_non_null(strstr(load_error(conf), "missing.pem: No such file"));

    snprintf(conf, sizeof(conf), "Domain example.com\nSelector s\nKeyFile %s\n",
             write_in_dir("notakey.pem", "hello\n"));
    chmod(write_in_dir("notakey.pem", "hello\n"), 0600);
    assert_non_null(strstr(load_error(conf), "not a private key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_signature_verifies_after_ses_rewrites),
        cmocka_unit_test(test_ed25519_signature_verifies),
        cmocka_unit_test(test_never_signed_headers),
        cmocka_unit_test(test_signing_table_lookup_order),
        cmocka_unit_test(test_refile_patterns_in_file_order),
        cmocka_unit_test(test_no_signing_configured_is_no_signer),
        cmocka_unit_test(test_configuration_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
