/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sigv4.c - AWS Signature Version 4 and 4a
 *
 * Builds the canonical request (method, canonical URI, canonical query,
 * canonical headers, signed headers, payload hash) and the string to sign
 * (algorithm, time, scope, hash of the canonical request); both algorithms
 * share them (build_canonical(), string_to_sign()). SigV4 then derives the
 * signing key by the HMAC chain date -> region -> service -> "aws4_request"
 * and signs with HMAC-SHA256; SigV4a signs X-Amz-Region-Set as well,
 * derives an ECDSA P-256 key from the secret (v4a_key()) and signs with
 * ECDSA over SHA-256 through OpenSSL 3's EVP interface. See ses_sigv4.h for
 * the encoding rules and the key derivation.
 *
 * DIAGNOSTICS
 *   -1 on bounds exceeded (more than SIGV4_MAX_HEADERS headers, more than
 *   64 query pairs, a canonical request over 16 KB) or crypto failure.
 *   Intermediate keys are wiped (HMAC keys) or cleared and freed before
 *   returning; the last SigV4a key pair is kept for the next request
 *   (v4a_key_cached()), found by a fingerprint, never by the secret.
 */
#include "config.h"

#include "ses_sigv4.h"
#include "ses_util.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIGV4_MAX_QUERY    64
#define SIGV4_MAX_CANON    (16 * 1024)
#define SIGV4A_ALGORITHM   "AWS4-ECDSA-P256-SHA256"
#define SIGV4A_MAX_COUNTER 254 /* key derivation attempts, as aws-c-auth */

/* SHA-256 fetched once (see hmac_setup() below for why). */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;

static void md_setup(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    pthread_once(&md_once, md_setup);
    if (md_sha256 == NULL ||
        EVP_Digest(data, len, md, NULL, md_sha256, NULL) != 1)
        SHA256(data, len, md);
    hex_encode(md, sizeof(md), out);
}

static int unreserved(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int sigv4_uri_encode(const char *s, size_t len, int keep_slash, char *out,
                     size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            if (o + 1 >= outlen)
                return -1;
            out[o++] = (char)c;
        } else {
            if (o + 3 >= outlen)
                return -1;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= outlen)
        return -1;
    out[o] = '\0';
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into out; '+' stays '+' (it is not a form). */
static size_t uri_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < len && (h = hexval(s[i + 1])) >= 0 &&
            (l = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else
            out[o++] = s[i];
    }
    out[o] = '\0';
    return o;
}

/* Removes "." and ".." segments and empty segments, as botocore's
 * posixpath.normpath does, keeping a trailing slash. */
static void normalize_path(const char *in, buf_t *out)
{
    const char *segs[256];
    size_t lens[256], n = 0;
    const char *p = in;
    size_t inlen = strlen(in);
    int trailing = inlen > 1 && in[inlen - 1] == '/';

    while (*p) {
        const char *s;
        size_t l;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        s = p;
        l = strcspn(p, "/");
        p += l;
        if (l == 1 && s[0] == '.')
            continue;
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (n)
                n--;
            continue;
        }
        if (n < ARRAY_SIZE(segs)) {
            segs[n] = s;
            lens[n++] = l;
        }
    }
    buf_putc(out, '/');
    for (size_t i = 0; i < n; i++) {
        buf_append(out, segs[i], lens[i]);
        if (i + 1 < n)
            buf_putc(out, '/');
    }
    if (trailing && n)
        buf_putc(out, '/');
}

typedef struct {
    char *key; /* encoded */
    char *val; /* encoded */
} qpair_t;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->val, y->val);
}

static int canonical_query(const char *q, buf_t *out)
{
    qpair_t pairs[SIGV4_MAX_QUERY];
    size_t n = 0;
    int rc = -1;
    const char *p = q;

    while (p && *p) {
        size_t l = strcspn(p, "&"), kl;
        const char *eq = memchr(p, '=', l);
        char *dec, *enc;
        if (l == 0) {
            p++;
            continue;
        }
        if (n == SIGV4_MAX_QUERY)
            goto out;
        kl = eq ? (size_t)(eq - p) : l;
        for (int part = 0; part < 2; part++) {
            const char *s = part ? (eq ? eq + 1 : "") : p;
            size_t sl = part ? (eq ? l - kl - 1 : 0) : kl;
            dec = malloc(sl + 1);
            enc = malloc(sl * 3 + 1);
            if (!dec || !enc) {
                free(dec);
                free(enc);
                goto out;
            }
            size_t dl = uri_decode(s, sl, dec);
            sigv4_uri_encode(dec, dl, 0, enc, sl * 3 + 1);
            free(dec);
            if (part)
                pairs[n].val = enc;
            else
                pairs[n].key = enc;
        }
        n++;
        p += l;
        if (*p == '&')
            p++;
    }
    qsort(pairs, n, sizeof(pairs[0]), qpair_cmp);
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "%s%s=%s", i ? "&" : "", pairs[i].key, pairs[i].val);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].key);
        free(pairs[i].val);
    }
    return rc;
}

typedef struct {
    char name[128];
    const char *value;
    size_t order; /* position in the request: keeps repeated names in order */
} hdr_t;

static int hdr_cmp(const void *a, const void *b)
{
    const hdr_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends value trimmed with inner whitespace runs collapsed to one space. */
static void put_trimmed(buf_t *out, const char *v)
{
    int space = 0, any = 0;

    for (; *v; v++) {
        if (isspace((unsigned char)*v)) {
            space = any;
            continue;
        }
        if (space)
            buf_putc(out, ' ');
        buf_putc(out, *v);
        space = 0;
        any = 1;
    }
}

/* Canonical request into cr; the signed-header list into sh. region_set
 * (SigV4a) is signed as X-Amz-Region-Set; NULL for SigV4. */
static int build_canonical(const sigv4_request_t *req,
                           const sigv4_creds_t *creds, const char *amz_date,
                           const char *region_set, buf_t *cr, buf_t *sh)
{
    hdr_t h[SIGV4_MAX_HEADERS + 4];
    size_t n = 0;
    buf_t path;
    char *enc = NULL;
    int rc = -1;

    if (req->nheaders > SIGV4_MAX_HEADERS)
        return -1;
    buf_init(&path, 8192);
    if (req->keep_path)
        buf_puts(&path, req->path && *req->path ? req->path : "/");
    else
        normalize_path(req->path && *req->path ? req->path : "/", &path);
    if (path.data == NULL)
        goto out;
    if ((enc = malloc(path.len * 3 + 1)) == NULL ||
        sigv4_uri_encode(path.data, path.len, 1, enc, path.len * 3 + 1) < 0)
        goto out;

    buf_printf(cr, "%s\n%s\n", req->method, enc);
    if (canonical_query(req->query, cr) < 0)
        goto out;
    buf_putc(cr, '\n');

    for (size_t i = 0; i < req->nheaders; i++) {
        if (strlen(req->headers[i].name) >= sizeof(h[0].name))
            goto out;
        str_copy(h[n].name, req->headers[i].name, sizeof(h[n].name));
        str_lower(h[n].name);
        /* host, x-amz-date, the token and the region set are ours; the
         * caller's copies are dropped */
        if (strcmp(h[n].name, "host") == 0 ||
            strcmp(h[n].name, "x-amz-date") == 0 ||
            strcmp(h[n].name, "x-amz-security-token") == 0 ||
            strcmp(h[n].name, "x-amz-region-set") == 0)
            continue;
        h[n].value = req->headers[i].value;
        h[n].order = n;
        n++;
    }
    str_copy(h[n].name, "host", sizeof(h[n].name));
    h[n].order = n;
    h[n++].value = req->host;
    str_copy(h[n].name, "x-amz-date", sizeof(h[n].name));
    h[n].order = n;
    h[n++].value = amz_date;
    if (region_set) {
        str_copy(h[n].name, "x-amz-region-set", sizeof(h[n].name));
        h[n].order = n;
        h[n++].value = region_set;
    }
    if (creds->session_token && *creds->session_token) {
        str_copy(h[n].name, "x-amz-security-token", sizeof(h[n].name));
        h[n].order = n;
        h[n++].value = creds->session_token;
    }
    qsort(h, n, sizeof(h[0]), hdr_cmp);
    /* one line per name; repeated names join their values with ',' */
    for (size_t i = 0; i < n; i++) {
        int first = i == 0 || strcmp(h[i].name, h[i - 1].name) != 0;
        if (first) {
            if (i)
                buf_putc(cr, '\n');
            buf_printf(cr, "%s:", h[i].name);
            buf_printf(sh, "%s%s", sh->len ? ";" : "", h[i].name);
        } else
            buf_putc(cr, ',');
        put_trimmed(cr, h[i].value);
    }
    buf_putc(cr, '\n');
    buf_printf(cr, "\n%s\n%s", sh->data, req->payload_sha256);
    rc = cr->data && cr->len < SIGV4_MAX_CANON ? 0 : -1;
out:
    free(enc);
    buf_free(&path);
    return rc;
}

int sigv4_canonical_request(const sigv4_request_t *req,
                            const sigv4_creds_t *creds, const char *amz_date,
                            char **out)
{
    buf_t cr, sh;
    int rc;

    buf_init(&cr, SIGV4_MAX_CANON);
    buf_init(&sh, 4096);
    rc = build_canonical(req, creds, amz_date, NULL, &cr, &sh);
    buf_free(&sh);
    if (rc < 0) {
        buf_free(&cr);
        *out = NULL;
        return -1;
    }
    *out = buf_steal(&cr);
    return 0;
}

/* HMAC-SHA256 contexts are copied from one made at first use: a fresh
 * EVP_MAC (or HMAC()) looks the algorithm and the digest up by name in
 * OpenSSL's provider tables, under their locks, every time - the larger
 * part of a signature's cost, and contended between threads. */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC_CTX *hmac_template;

static void hmac_setup(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                               OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};

    if (mac && (hmac_template = EVP_MAC_CTX_new(mac)) != NULL &&
        EVP_MAC_CTX_set_params(hmac_template, params) != 1) {
        EVP_MAC_CTX_free(hmac_template);
        hmac_template = NULL;
    }
    EVP_MAC_free(mac); /* the context keeps its own reference */
}

/* A context for hmac(), or NULL (then HMAC() is used). */
static EVP_MAC_CTX *hmac_new(void)
{
    pthread_once(&hmac_once, hmac_setup);
    return hmac_template ? EVP_MAC_CTX_dup(hmac_template) : NULL;
}

static int hmac(EVP_MAC_CTX *c, const void *key, size_t klen, const void *msg,
                size_t mlen, unsigned char out[32])
{
    unsigned int olen = 32;
    size_t len = 0;

    if (c == NULL)
        return HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) ? 0
                                                                         : -1;
    return EVP_MAC_init(c, key, klen, NULL) == 1 &&
                   EVP_MAC_update(c, msg, mlen) == 1 &&
                   EVP_MAC_final(c, out, &len, 32) == 1 && len == 32
               ? 0
               : -1;
}

static int hmac_str(EVP_MAC_CTX *c, const void *key, size_t klen,
                    const char *msg, unsigned char out[32])
{
    return hmac(c, key, klen, msg, strlen(msg), out);
}

/* Both algorithms: the time stamps, the canonical request (cr), the signed
 * headers (sh) and the string to sign (sts) for the scope
 * DATE/[REGION/]SERVICE/aws4_request. region_set is NULL for SigV4. */
static int string_to_sign(const sigv4_request_t *req,
                          const sigv4_creds_t *creds, const char *algorithm,
                          const char *region, const char *region_set,
                          const char *service, time_t now, char date[9],
                          sigv4_result_t *out, buf_t *cr, buf_t *sh, buf_t *sts)
{
    struct tm tm;
    char crhash[65];

    gmtime_r(&now, &tm);
    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, 9, "%Y%m%d", &tm);
    if (build_canonical(req, creds, out->amz_date, region_set, cr, sh) < 0)
        return -1;
    sigv4_sha256_hex(cr->data, cr->len, crhash);
    return buf_printf(sts, "%s\n%s\n%s/%s%s%s/aws4_request\n%s", algorithm,
                      out->amz_date, date, region ? region : "",
                      region ? "/" : "", service, crhash) < 0
               ? -1
               : 0;
}

int sigv4_sign(const sigv4_request_t *req, const sigv4_creds_t *creds,
               const char *region, const char *service, time_t now,
               sigv4_result_t *out)
{
    buf_t cr, sh, sts;
    char date[9], kbuf[300];
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    EVP_MAC_CTX *mac = hmac_new();
    int rc = -1;

    buf_init(&cr, SIGV4_MAX_CANON);
    buf_init(&sh, 4096);
    buf_init(&sts, 4096);
    if (string_to_sign(req, creds, "AWS4-HMAC-SHA256", region, NULL, service,
                       now, date, out, &cr, &sh, &sts) < 0)
        goto out;
    if (snprintf(kbuf, sizeof(kbuf), "AWS4%s", creds->secret_key) >=
        (int)sizeof(kbuf))
        goto out;
    if (hmac_str(mac, kbuf, strlen(kbuf), date, k1) < 0 ||
        hmac_str(mac, k1, 32, region, k2) < 0 ||
        hmac_str(mac, k2, 32, service, k3) < 0 ||
        hmac_str(mac, k3, 32, "aws4_request", k4) < 0 ||
        hmac_str(mac, k4, 32, sts.data, sig) < 0)
        goto out;
    hex_encode(sig, 32, out->signature);
    if (snprintf(out->authorization, sizeof(out->authorization),
                 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                 "SignedHeaders=%s, Signature=%s",
                 creds->access_key, date, region, service, sh.data,
                 out->signature) >= (int)sizeof(out->authorization))
        goto out;
    rc = 0;
out:
    secure_zero(kbuf, sizeof(kbuf));
    secure_zero(k1, sizeof(k1));
    secure_zero(k2, sizeof(k2));
    secure_zero(k3, sizeof(k3));
    secure_zero(k4, sizeof(k4));
    EVP_MAC_CTX_free(mac); /* OpenSSL wipes the key it holds */
    buf_free(&cr);
    buf_free(&sh);
    buf_free(&sts);
    return rc;
}

/* ---- SigV4a ---- */

/* The private scalar d (1 <= d <= n-1) of the credentials, into a new
 * BIGNUM; *group gets P-256. NIST SP 800-108 counter-mode KDF with
 * HMAC-SHA256: K = HMAC("AWS4A" + secret, 00000001 || algorithm || 00 ||
 * access key id || counter || 00000100); the first K <= n-2 gives d = K+1. */
static BIGNUM *v4a_scalar(const sigv4_creds_t *creds, EC_GROUP **group)
{
    static const unsigned char one_be[4] = {0, 0, 0, 1};
    static const unsigned char bits_be[4] = {0, 0, 1, 0}; /* 256 */
    unsigned char input[4 + sizeof(SIGV4A_ALGORITHM) + 256 + 1 + 4], k[32];
    char key[300];
    size_t alen = strlen(creds->access_key), n = 0, ctr_at;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *d = BN_secure_new(), *limit = NULL;
    int found = 0;

    if (g == NULL || d == NULL || alen > 256 ||
        (size_t)snprintf(key, sizeof(key), "AWS4A%s", creds->secret_key) >=
            sizeof(key) ||
        (limit = BN_dup(EC_GROUP_get0_order(g))) == NULL ||
        !BN_sub_word(limit, 2))
        goto out;
    memcpy(input, one_be, 4);
    n = 4;
    memcpy(input + n, SIGV4A_ALGORITHM, sizeof(SIGV4A_ALGORITHM)); /* + NUL */
    n += sizeof(SIGV4A_ALGORITHM);
    memcpy(input + n, creds->access_key, alen);
    n += alen;
    ctr_at = n++;
    memcpy(input + n, bits_be, 4);
    n += 4;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    for (int ctr = 1; ctr <= SIGV4A_MAX_COUNTER && !found; ctr++) {
        input[ctr_at] = (unsigned char)ctr;
        if (hmac(NULL, key, strlen(key), input, n, k) < 0 ||
            BN_bin2bn(k, sizeof(k), d) == NULL)
            goto out;
        found = BN_cmp(d, limit) <= 0;
    }
    if (found && !BN_add_word(d, 1))
        found = 0;
out:
    secure_zero(key, sizeof(key));
    secure_zero(k, sizeof(k));
    BN_free(limit);
    if (!found) {
        BN_clear_free(d);
        EC_GROUP_free(g);
        return NULL;
    }
    *group = g;
    return d;
}

/* The public point of d, uncompressed (04 || X || Y), into pub[65]. */
static int v4a_public(const EC_GROUP *g, const BIGNUM *d, unsigned char pub[65])
{
    EC_POINT *p = EC_POINT_new(g);
    int ok = p && EC_POINT_mul(g, p, d, NULL, NULL, NULL) &&
             EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pub, 65,
                                NULL) == 65;

    EC_POINT_free(p);
    return ok ? 0 : -1;
}

/* The credentials' SigV4a key pair as an EVP_PKEY, or NULL. */
static EVP_PKEY *v4a_key(const sigv4_creds_t *creds)
{
    EC_GROUP *g = NULL;
    BIGNUM *d = v4a_scalar(creds, &g);
    unsigned char pub[65];
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pc = NULL;
    EVP_PKEY *pkey = NULL;

    if (d == NULL || v4a_public(g, d, pub) < 0 ||
        (bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         SN_X9_62_prime256v1, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                          sizeof(pub)) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(pc) != 1 ||
        EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(pc);
    if (params) { /* OSSL_PARAM_clear_free() is OpenSSL 3.2 */
        OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY);
        if (p && p->data)
            OPENSSL_cleanse(p->data, p->data_size);
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    EC_GROUP_free(g);
    return pkey;
}

/* The last key derived, shared by the threads of the process: deriving
 * costs a scalar multiplication per request otherwise. It is found by a
 * SHA-256 fingerprint of the access key and secret (neither is kept) and
 * replaced when the credentials change (rotation, refreshed tokens). */
static pthread_mutex_t v4a_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char v4a_fingerprint[SHA256_DIGEST_LENGTH];
static EVP_PKEY *v4a_last;

static EVP_PKEY *v4a_key_cached(const sigv4_creds_t *creds)
{
    unsigned char fp[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY *key = NULL;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, creds->access_key,
                              strlen(creds->access_key) + 1) == 1 &&
             EVP_DigestUpdate(md, creds->secret_key,
                              strlen(creds->secret_key)) == 1 &&
             EVP_DigestFinal_ex(md, fp, NULL) == 1;

    EVP_MD_CTX_free(md);
    if (!ok)
        return v4a_key(creds);
    pthread_mutex_lock(&v4a_lock);
    if (v4a_last && memcmp(fp, v4a_fingerprint, sizeof(fp)) == 0 &&
        EVP_PKEY_up_ref(v4a_last) == 1)
        key = v4a_last;
    pthread_mutex_unlock(&v4a_lock);
    if (key || (key = v4a_key(creds)) == NULL)
        return key;
    pthread_mutex_lock(&v4a_lock);
    if (EVP_PKEY_up_ref(key) == 1) {
        EVP_PKEY_free(v4a_last);
        v4a_last = key;
        memcpy(v4a_fingerprint, fp, sizeof(fp));
    }
    pthread_mutex_unlock(&v4a_lock);
    return key;
}

int sigv4a_public_key(const sigv4_creds_t *creds, char x[65], char y[65])
{
    EC_GROUP *g = NULL;
    BIGNUM *d = v4a_scalar(creds, &g);
    unsigned char pub[65];
    int rc = -1;

    if (d && v4a_public(g, d, pub) == 0) {
        hex_encode(pub + 1, 32, x);
        hex_encode(pub + 33, 32, y);
        rc = 0;
    }
    BN_clear_free(d);
    EC_GROUP_free(g);
    return rc;
}

int sigv4a_string_to_sign(const sigv4_request_t *req,
                          const sigv4_creds_t *creds, const char *region_set,
                          const char *service, time_t now, char **canonical,
                          char **sts_out)
{
    buf_t cr, sh, sts;
    char date[9];
    sigv4_result_t res;
    int rc;

    buf_init(&cr, SIGV4_MAX_CANON);
    buf_init(&sh, 4096);
    buf_init(&sts, 4096);
    rc = string_to_sign(req, creds, SIGV4A_ALGORITHM, NULL, region_set, service,
                        now, date, &res, &cr, &sh, &sts);
    *canonical = rc == 0 ? buf_steal(&cr) : NULL;
    *sts_out = rc == 0 ? buf_steal(&sts) : NULL;
    buf_free(&cr);
    buf_free(&sh);
    buf_free(&sts);
    return rc;
}

int sigv4a_sign(const sigv4_request_t *req, const sigv4_creds_t *creds,
                const char *region_set, const char *service, time_t now,
                sigv4_result_t *out)
{
    buf_t cr, sh, sts;
    char date[9];
    unsigned char der[80];
    size_t derlen = sizeof(der);
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    int rc = -1;

    buf_init(&cr, SIGV4_MAX_CANON);
    buf_init(&sh, 4096);
    buf_init(&sts, 4096);
    if (string_to_sign(req, creds, SIGV4A_ALGORITHM, NULL, region_set, service,
                       now, date, out, &cr, &sh, &sts) < 0 ||
        (key = v4a_key_cached(creds)) == NULL ||
        (md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)sts.data,
                       sts.len) != 1 ||
        derlen * 2 >= sizeof(out->signature))
        goto out;
    hex_encode(der, derlen, out->signature);
    if (snprintf(out->authorization, sizeof(out->authorization),
                 SIGV4A_ALGORITHM " Credential=%s/%s/%s/aws4_request, "
                                  "SignedHeaders=%s, Signature=%s",
                 creds->access_key, date, service, sh.data,
                 out->signature) >= (int)sizeof(out->authorization))
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    buf_free(&cr);
    buf_free(&sh);
    buf_free(&sts);
    return rc;
}
