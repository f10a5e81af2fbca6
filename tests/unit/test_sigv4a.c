/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sigv4a.c - SigV4a against AWS's own v4a test suite
 *
 * tests/data/sigv4a/ is aws-c-auth's tests/aws-signing-test-suite/v4a
 * (Apache-2.0, LICENSE and NOTICE beside it). For every case (header
 * signing): the canonical request and the string to sign match AWS's byte
 * for byte, the public key derived from the secret is AWS's exactly, AWS's
 * published signature verifies with that key (so the verification below
 * can fail), and our own signature - ECDSA is randomized, so never
 * compared as bytes - verifies with it too.
 */
#include "config.h"

#include "testutil.h"
#include "ses_sigv4.h"
#include "ses_util.h"

#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <time.h>

#define SUITE SRCDIR "/tests/data/sigv4a"

static int checked; /* cases with AWS's expectations, all matched */

/* The file SUITE/c/name, malloc'd and NUL-terminated, or NULL. */
static char *slurp(const char *c, const char *name)
{
    char path[1024];
    FILE *fp;
    char *data;
    long n;

    snprintf(path, sizeof(path), "%s/%s/%s", SUITE, c, name);
    if ((fp = fopen(path, "rb")) == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    data = calloc(1, (size_t)n + 1);
    if (data && fread(data, 1, (size_t)n, fp) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(fp);
    return data;
}

static int hexval(char c)
{
    return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
}

static size_t unhex(const char *hex, unsigned char *out, size_t max)
{
    size_t n = 0;

    while (hex[0] && hex[1] && isxdigit((unsigned char)hex[0]) && n < max) {
        out[n++] = (unsigned char)(hexval(hex[0]) * 16 + hexval(hex[1]));
        hex += 2;
    }
    return n;
}

/* The P-256 public key (X, Y hex) as an EVP_PKEY. */
static EVP_PKEY *public_key(const char *x, const char *y)
{
    unsigned char pub[65] = {4};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;

    assert_int_equal(unhex(x, pub + 1, 32), 32);
    assert_int_equal(unhex(y, pub + 33, 32), 32);
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                    "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                     sizeof(pub));
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
    assert_int_equal(EVP_PKEY_fromdata(pc, &key, EVP_PKEY_PUBLIC_KEY, params),
                     1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pc);
    return key;
}

/* 1 when the hex DER signature verifies over msg with key. */
static int verifies(EVP_PKEY *key, const char *sig_hex, const char *msg)
{
    unsigned char der[80];
    size_t n = unhex(sig_hex, der, sizeof(der));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(md, der, n, (const unsigned char *)msg,
                              strlen(msg)) == 1;

    EVP_MD_CTX_free(md);
    return ok;
}

typedef struct {
    char method[16];
    char host[256];
    char path[512];
    char query[512];
    char names[SIGV4_MAX_HEADERS][64];
    char values[SIGV4_MAX_HEADERS][256];
    sigv4_header_t h[SIGV4_MAX_HEADERS];
    size_t nh;
    const char *body;
} suite_request_t;

/* request.txt: "METHOD PATH[?QUERY] HTTP/1.1", "Name:value" lines (a line
 * starting with a blank continues the value), a blank line, the body. */
static void parse_request(char *text, suite_request_t *r)
{
    char *line = text, *next, *sp, *q, *target;

    memset(r, 0, sizeof(*r));
    next = strchr(line, '\n');
    *next++ = '\0';
    sp = strchr(line, ' ');
    *sp = '\0';
    str_copy(r->method, line, sizeof(r->method));
    target = sp + 1;
    *strrchr(target, ' ') = '\0'; /* " HTTP/1.1"; the path may have blanks */
    if ((q = strchr(target, '?')) != NULL) {
        *q = '\0';
        str_copy(r->query, q + 1, sizeof(r->query));
    }
    str_copy(r->path, target, sizeof(r->path));
    r->body = "";
    for (line = next; line && *line; line = next) {
        char *colon;
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        if (*line == '\0') {
            r->body = next ? next : "";
            break;
        }
        if (*line == ' ' || *line == '\t') { /* folded: keep the newline */
            size_t l = strlen(r->values[r->nh - 1]);
            snprintf(r->values[r->nh - 1] + l, sizeof(r->values[0]) - l, "\n%s",
                     line);
            continue;
        }
        colon = strchr(line, ':');
        assert_non_null(colon);
        *colon = '\0';
        if (str_iequal(line, "Host")) {
            str_copy(r->host, colon + 1, sizeof(r->host));
            continue;
        }
        assert_true(r->nh < SIGV4_MAX_HEADERS);
        str_copy(r->names[r->nh], line, sizeof(r->names[0]));
        str_copy(r->values[r->nh], colon + 1, sizeof(r->values[0]));
        r->nh++;
    }
    for (size_t i = 0; i < r->nh; i++)
        r->h[i] = (sigv4_header_t){r->names[i], r->values[i]};
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* One case of the suite; returns 1 when it was run. */
static int run_case(const char *name)
{
    char *ctx_text = slurp(name, "context.json");
    char *req_text = slurp(name, "request.txt");
    char *want_cr = slurp(name, "header-canonical-request.txt");
    char *want_sts = slurp(name, "header-string-to-sign.txt");
    char *want_sig = slurp(name, "header-signature.txt");
    char *want_pub = slurp(name, "public-key.json");
    char *cr = NULL, *sts = NULL, x[65], y[65], hash[65];
    json_t *ctx, *creds, *pub;
    suite_request_t *r = calloc(1, sizeof(*r));
    sigv4_result_t out;
    sigv4_creds_t cr_in;
    sigv4_request_t rq;
    struct tm tm = {0};
    time_t now;
    EVP_PKEY *key;

    if (ctx_text == NULL) { /* LICENSE, NOTICE, README */
        free(r);
        return 0;
    }
    assert_non_null(req_text);
    ctx = json_loads(ctx_text, 0, NULL);
    assert_non_null(ctx);
    creds = json_object_get(ctx, "credentials");
    cr_in = (sigv4_creds_t){
        jstr(creds, "access_key_id"), jstr(creds, "secret_access_key"),
        *jstr(creds, "token") &&
                !json_is_true(json_object_get(ctx, "omit_session_token"))
            ? jstr(creds, "token")
            : NULL};
    assert_non_null(
        strptime(jstr(ctx, "timestamp"), "%Y-%m-%dT%H:%M:%SZ", &tm));
    now = timegm(&tm);

    parse_request(req_text, r);
    sigv4_sha256_hex(r->body, strlen(r->body), hash);
    if (json_is_true(json_object_get(ctx, "sign_body"))) {
        str_copy(r->names[r->nh], "X-Amz-Content-Sha256", sizeof(r->names[0]));
        str_copy(r->values[r->nh], hash, sizeof(r->values[0]));
        r->h[r->nh] = (sigv4_header_t){r->names[r->nh], r->values[r->nh]};
        r->nh++;
    }
    rq = (sigv4_request_t){
        r->method, r->host,
        r->path,   r->query,
        r->h,      r->nh,
        hash,      !json_is_true(json_object_get(ctx, "normalize"))};

    /* canonical request and string to sign, byte for byte */
    assert_int_equal(sigv4a_string_to_sign(&rq, &cr_in, jstr(ctx, "region"),
                                           jstr(ctx, "service"), now, &cr,
                                           &sts),
                     0);
    assert_int_equal(sigv4a_public_key(&cr_in, x, y), 0);
    key = public_key(x, y);
    if (want_cr) { /* two cases of the suite come without expectations */
        if (strcmp(cr, want_cr) != 0)
            print_error("%s: canonical request\n%s\n--- want\n%s\n", name, cr,
                        want_cr);
        assert_string_equal(cr, want_cr);
        assert_non_null(want_sts);
        assert_string_equal(sts, want_sts);

        /* the derived public key */
        assert_non_null(want_pub);
        pub = json_loads(want_pub, 0, NULL);
        assert_non_null(pub);
        assert_string_equal(x, jstr(pub, "X"));
        assert_string_equal(y, jstr(pub, "Y"));
        json_decref(pub);

        /* AWS's signature verifies with it, and a wrong message does not */
        assert_non_null(want_sig);
        assert_true(verifies(key, want_sig, want_sts));
        assert_false(verifies(key, want_sig, want_cr));
        checked++;
    }

    /* ours does too, and the header around it is AWS's */
    assert_int_equal(sigv4a_sign(&rq, &cr_in, jstr(ctx, "region"),
                                 jstr(ctx, "service"), now, &out),
                     0);
    assert_string_equal(out.amz_date, "20150830T123600Z");
    assert_true(verifies(key, out.signature, sts));
    assert_true(str_has_prefix(
        out.authorization, "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/"
                           "20150830/service/aws4_request, SignedHeaders="));
    assert_non_null(strstr(out.authorization, out.signature));

    EVP_PKEY_free(key);
    json_decref(ctx);
    free(cr);
    free(sts);
    free(r);
    free(ctx_text);
    free(req_text);
    free(want_cr);
    free(want_sts);
    free(want_sig);
    free(want_pub);
    return 1;
}

static void test_aws_v4a_suite_every_case(void **state)
{
    DIR *d = opendir(SUITE);
    struct dirent *e;
    int cases = 0;

    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            cases += run_case(e->d_name);
    closedir(d);
    assert_int_equal(cases, 40);   /* every case of the suite ran */
    assert_int_equal(checked, 38); /* and every expectation it has held */
}

static void test_two_signatures_differ_and_both_verify(void **state)
{
    sigv4_creds_t cr = {"AKIDEXAMPLE",
                        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
    sigv4_request_t rq = {.method = "POST",
                          .host = "abc123.endpoints.email.amazonaws.com",
                          .path = "/v2/email/outbound-emails",
                          .payload_sha256 = "e3b0c44298fc1c149afbf4c8996fb924"
                                            "27ae41e4649b934ca495991b7852b855"};
    sigv4_result_t a, b;
    char x[65], y[65], *canon, *sts;
    EVP_PKEY *key;

    (void)state;
    assert_int_equal(sigv4a_sign(&rq, &cr, "*", "ses", 1440938160, &a), 0);
    assert_int_equal(sigv4a_sign(&rq, &cr, "*", "ses", 1440938160, &b), 0);
    assert_string_not_equal(a.signature, b.signature);
    assert_int_equal(
        sigv4a_string_to_sign(&rq, &cr, "*", "ses", 1440938160, &canon, &sts),
        0);
    assert_non_null(strstr(canon, "\nx-amz-region-set:*\n"));
    assert_non_null(strstr(sts, "\n20150830/ses/aws4_request\n"));
    assert_int_equal(sigv4a_public_key(&cr, x, y), 0);
    key = public_key(x, y);
    assert_true(verifies(key, a.signature, sts));
    assert_true(verifies(key, b.signature, sts));
    EVP_PKEY_free(key);
    free(canon);
    free(sts);
}

static void test_new_credentials_get_their_own_key(void **state)
{
    sigv4_creds_t a = {"AKIDEXAMPLE",
                       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
    sigv4_creds_t b = {"AKIDEXAMPLE", "anotherSecretKeyAfterRotation0123456",
                       NULL};
    sigv4_request_t rq = {.method = "GET",
                          .host = "h.example",
                          .path = "/",
                          .payload_sha256 = "00"};
    char xa[65], ya[65], xb[65], yb[65], *canon, *sts;
    sigv4_result_t out;
    EVP_PKEY *ka, *kb;

    (void)state;
    assert_int_equal(sigv4a_public_key(&a, xa, ya), 0);
    assert_int_equal(sigv4a_public_key(&b, xb, yb), 0);
    assert_string_not_equal(xa, xb);
    ka = public_key(xa, ya);
    kb = public_key(xb, yb);
    assert_int_equal(
        sigv4a_string_to_sign(&rq, &a, "*", "ses", 1440938160, &canon, &sts),
        0);
    /* a, then b, then a again: each signature is made with its own key,
     * whatever the process derived before */
    assert_int_equal(sigv4a_sign(&rq, &a, "*", "ses", 1440938160, &out), 0);
    assert_true(verifies(ka, out.signature, sts));
    assert_int_equal(sigv4a_sign(&rq, &b, "*", "ses", 1440938160, &out), 0);
    assert_true(verifies(kb, out.signature, sts));
    assert_false(verifies(ka, out.signature, sts));
    assert_int_equal(sigv4a_sign(&rq, &a, "*", "ses", 1440938160, &out), 0);
    assert_true(verifies(ka, out.signature, sts));
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    free(canon);
    free(sts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_v4a_suite_every_case),
        cmocka_unit_test(test_two_signatures_differ_and_both_verify),
        cmocka_unit_test(test_new_credentials_get_their_own_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
