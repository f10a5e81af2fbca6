/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sns.c - Amazon SNS messages: parsing and signature verification
 *
 * sns_parse() keeps the envelope's jansson document and points into it.
 * sns_verify(): URL rule (sns_url_ok), certificate from the memory cache,
 * then the file cache, then HTTPS; signature with OpenSSL's EVP_DigestVerify
 * (PKCS#1 v1.5, SHA1 for SignatureVersion 1, SHA256 for 2).
 *
 * The certificate cache is shared by threads (a mutex around the table);
 * cached files are written to a temporary name and renamed, mode 0644 (a
 * certificate is public).
 *
 * DIAGNOSTICS
 *   See ses_sns.h.
 */
#include "config.h"

#include "ses_jsonlimit.h"
#include "ses_sns.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CERT_BYTES (64 * 1024)
#define MAX_SIG_BYTES  1024
#define CERTS_IN_MEM   16

typedef struct {
    char *url;
    EVP_PKEY *key;
} cached_t;

struct sns_certs {
    char *dir;
    http_t *http;
    pthread_mutex_t lock;  /* the table */
    pthread_mutex_t fetch; /* the file cache and the one http_t */
    cached_t mem[CERTS_IN_MEM];
    size_t next; /* round-robin replacement */
};

/* ---- parsing ------------------------------------------------------- */

static int get_str(json_t *root, const char *key, const char **out, size_t *len,
                   char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return str_errf(err, errlen, "SNS field %s is not a plain string", key);
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return 0;
}

int sns_parse(const char *json, size_t len, sns_msg_t **out, char *err,
              size_t errlen)
{
    static const struct {
        const char *key;
        size_t off;
    } fields[] = {
        {"Type", offsetof(sns_msg_t, type)},
        {"MessageId", offsetof(sns_msg_t, message_id)},
        {"TopicArn", offsetof(sns_msg_t, topic_arn)},
        {"Subject", offsetof(sns_msg_t, subject)},
        {"Timestamp", offsetof(sns_msg_t, timestamp)},
        {"SignatureVersion", offsetof(sns_msg_t, signature_version)},
        {"Signature", offsetof(sns_msg_t, signature)},
        {"SigningCertURL", offsetof(sns_msg_t, signing_cert_url)},
        {"SubscribeURL", offsetof(sns_msg_t, subscribe_url)},
        {"Token", offsetof(sns_msg_t, token)},
    };
    json_t *root;
    sns_msg_t *m;

    *out = NULL;
    if (json == NULL || len == 0)
        return str_errf(err, errlen, "empty message");
    if (len > SNS_MAX_JSON)
        return str_errf(err, errlen,
                        "message of %zu bytes is over the %d limit", len,
                        SNS_MAX_JSON);
    if ((root = jsonlimit_load(json, len, JSON_REJECT_DUPLICATES, SNS_MAX_JSON,
                               err, errlen)) == NULL)
        return -1;
    if (!json_is_object(root) ||
        !json_is_string(json_object_get(root, "Type")) ||
        json_object_get(root, "TopicArn") == NULL) {
        json_decref(root);
        str_errf(err, errlen, "not an SNS message");
        return 1;
    }
    if ((m = calloc(1, sizeof(*m))) == NULL) {
        json_decref(root);
        return str_errf(err, errlen, "out of memory");
    }
    m->priv = root;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        if (get_str(root, fields[i].key,
                    (const char **)((char *)m + fields[i].off), NULL, err,
                    errlen) < 0)
            goto fail;
    if (get_str(root, "Message", &m->message, &m->message_len, err, errlen) < 0)
        goto fail;
    if (m->message_id == NULL || m->topic_arn == NULL || m->message == NULL) {
        str_errf(err, errlen,
                 "SNS message without MessageId, TopicArn or Message");
        goto fail;
    }
    *out = m;
    return 0;
fail:
    sns_msg_free(m);
    return -1;
}

void sns_msg_free(sns_msg_t *m)
{
    if (m == NULL)
        return;
    json_decref(m->priv);
    free(m);
}

static int put_kv(buf_t *b, const char *k, const char *v)
{
    return buf_printf(b, "%s\n%s\n", k, v);
}

int sns_string_to_sign(const sns_msg_t *m, buf_t *out, char *err, size_t errlen)
{
    int notification;

    if (m->type == NULL)
        return str_errf(err, errlen, "SNS message without Type");
    notification = strcmp(m->type, "Notification") == 0;
    if (!notification && strcmp(m->type, "SubscriptionConfirmation") != 0 &&
        strcmp(m->type, "UnsubscribeConfirmation") != 0)
        return str_errf(err, errlen, "unknown SNS message Type \"%.64s\"",
                        m->type);
    if (m->timestamp == NULL ||
        (!notification && (m->subscribe_url == NULL || m->token == NULL)))
        return str_errf(err, errlen, "SNS %s without the fields it signs",
                        m->type);
    buf_reset(out);
    if (put_kv(out, "Message", m->message) < 0 ||
        put_kv(out, "MessageId", m->message_id) < 0)
        goto full;
    if (notification) {
        if ((m->subject && put_kv(out, "Subject", m->subject) < 0) ||
            put_kv(out, "Timestamp", m->timestamp) < 0)
            goto full;
    } else {
        if (put_kv(out, "SubscribeURL", m->subscribe_url) < 0 ||
            put_kv(out, "Timestamp", m->timestamp) < 0 ||
            put_kv(out, "Token", m->token) < 0)
            goto full;
    }
    if (put_kv(out, "TopicArn", m->topic_arn) < 0 ||
        put_kv(out, "Type", m->type) < 0)
        goto full;
    return 0;
full:
    return str_errf(err, errlen, "string to sign too large");
}

/* ---- the certificate URL ------------------------------------------- */

/* "arn:PARTITION:sns:REGION:ACCOUNT:NAME" -> partition and region. */
static int arn_region(const char *arn, char *part, size_t partlen, char *region,
                      size_t regionlen)
{
    const char *p[6];
    const char *s = arn;
    int n = 0;

    if (arn == NULL || !str_has_prefix(arn, "arn:"))
        return -1;
    p[n++] = s;
    for (; *s && n < 6; s++)
        if (*s == ':')
            p[n++] = s + 1;
    if (n < 6 || strncmp(p[2], "sns:", 4) != 0)
        return -1;
    if ((size_t)(p[2] - p[1] - 1) >= partlen ||
        (size_t)(p[4] - p[3] - 1) >= regionlen || p[4] - p[3] - 1 < 1)
        return -1;
    memcpy(part, p[1], p[2] - p[1] - 1);
    part[p[2] - p[1] - 1] = '\0';
    memcpy(region, p[3], p[4] - p[3] - 1);
    region[p[4] - p[3] - 1] = '\0';
    return strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
                   strlen(region)
               ? 0
               : -1;
}

int sns_url_ok(const char *url, const char *topic_arn, int pem, char *err,
               size_t errlen)
{
    char part[32], region[64], host[160];
    const char *h, *path;
    size_t hl;

    if (url == NULL)
        return str_errf(err, errlen, "no certificate or subscribe URL");
    if (arn_region(topic_arn, part, sizeof(part), region, sizeof(region)) < 0)
        return str_errf(err, errlen,
                        "TopicArn \"%.200s\" is not an SNS topic ARN",
                        topic_arn ? topic_arn : "");
    if (!str_has_prefix(url, "https://"))
        return str_errf(err, errlen, "URL %.200s is not https", url);
    h = url + 8;
    path = h + strcspn(h, "/?#");
    hl = (size_t)(path - h);
    snprintf(host, sizeof(host), "sns.%s.amazonaws.com%s", region,
             strcmp(part, "aws-cn") == 0 ? ".cn" : "");
    if (hl != strlen(host) || strncmp(h, host, hl) != 0)
        return str_errf(err, errlen, "URL %.200s is not on %s", url, host);
    if (*path != '/')
        return str_errf(err, errlen, "URL %.200s has no path", url);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return str_errf(err, errlen,
                            "URL contains a blank or non-ASCII byte");
    if (pem) {
        size_t ul = strlen(url);
        if (strpbrk(path, "?#") || strstr(path, "..") || ul < 4 ||
            strcmp(url + ul - 4, ".pem") != 0)
            return str_errf(err, errlen,
                            "SigningCertURL %.200s is not a .pem file", url);
    }
    return 0;
}

const char *sns_cert_cache_name(const char *url, char *out, size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1)
        mdlen = 0;
    hex_encode(md, mdlen, hex);
    snprintf(out, outlen, "%s.pem", hex);
    return out;
}

/* ---- the certificate cache ----------------------------------------- */

sns_certs_t *sns_certs_new(const char *cache_dir, http_t *http)
{
    sns_certs_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if (cache_dir && (c->dir = strdup(cache_dir)) == NULL) {
        free(c);
        return NULL;
    }
    c->http = http;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->fetch, NULL);
    return c;
}

void sns_certs_free(sns_certs_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CERTS_IN_MEM; i++) {
        free(c->mem[i].url);
        EVP_PKEY_free(c->mem[i].key);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->fetch);
    free(c->dir);
    free(c);
}

/* The public key of a PEM certificate that is valid now; NULL with a
 * reason otherwise. */
static EVP_PKEY *pem_key(const char *pem, size_t len, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = NULL;

    if (x == NULL)
        str_errf(err, errlen, "certificate is not PEM X.509");
    else if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0 ||
             X509_cmp_current_time(X509_get0_notBefore(x)) >= 0)
        str_errf(err, errlen, "certificate is expired or not yet valid");
    else if ((key = X509_get_pubkey(x)) == NULL ||
             EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        key = NULL;
        str_errf(err, errlen, "certificate has no RSA key");
    }
    X509_free(x);
    BIO_free(bio);
    return key;
}

/* Reads the cached file for url: 0 with *out, 1 when absent, -1 bad. */
static int file_get(sns_certs_t *c, const char *url, EVP_PKEY **out, char *err,
                    size_t errlen)
{
    char name[80], path[4096], data[MAX_CERT_BYTES];
    ssize_t n;
    int fd;

    if (c->dir == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/%s", c->dir,
             sns_cert_cache_name(url, name, sizeof(name)));
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT
                   ? 1
                   : str_errf(err, errlen, "%s: %s", path, strerror(errno));
    n = read(fd, data, sizeof(data));
    close(fd);
    if (n <= 0 || n == (ssize_t)sizeof(data))
        return str_errf(err, errlen, "%s: unreadable or too large", path);
    if ((*out = pem_key(data, (size_t)n, err, errlen)) == NULL) {
        unlink(path); /* expired: fetch a fresh one next time */
        return 1;
    }
    return 0;
}

static void file_put(sns_certs_t *c, const char *url, const char *pem,
                     size_t len)
{
    char name[80], path[4096], tmp[4200];
    int fd;

    if (c->dir == NULL)
        return;
    (void)mkdir(c->dir, 0755);
    snprintf(path, sizeof(path), "%s/%s", c->dir,
             sns_cert_cache_name(url, name, sizeof(name)));
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return;
    if (write_all(fd, pem, len) < 0 || fsync(fd) < 0 || close(fd) < 0 ||
        rename(tmp, path) < 0)
        unlink(tmp);
}

static status_t fetch(sns_certs_t *c, const char *url, EVP_PKEY **out,
                      char *err, size_t errlen)
{
    http_request_t req = {
        .method = "GET", .url = url, .max_response = MAX_CERT_BYTES};
    http_response_t resp;
    status_t st;

    if (c->http == NULL) {
        str_errf(err, errlen, "certificate %.200s not in the cache", url);
        return ST_TEMP_CONNECT;
    }
    http_response_init(&resp);
    if ((st = http_perform(c->http, &req, &resp)) != ST_OK) {
        str_errf(err, errlen, "fetching %.200s: %s", url, resp.error);
    } else if (resp.code != 200) {
        str_errf(err, errlen, "fetching %.200s: HTTP %ld", url, resp.code);
        st = resp.code >= 500 ? ST_TEMP_SERVER : ST_PERM_FORGED;
    } else if ((*out = pem_key(resp.body.data, resp.body.len, err, errlen)) ==
               NULL) {
        st = ST_PERM_FORGED;
    } else {
        file_put(c, url, resp.body.data, resp.body.len);
    }
    http_response_free(&resp);
    return st;
}

/* The key for url (a new reference). */
static status_t cert_key(sns_certs_t *c, const char *url, EVP_PKEY **out,
                         char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    status_t st = ST_OK;
    int rc;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < CERTS_IN_MEM; i++)
        if (c->mem[i].url && strcmp(c->mem[i].url, url) == 0) {
            EVP_PKEY_up_ref(c->mem[i].key);
            *out = c->mem[i].key;
            pthread_mutex_unlock(&c->lock);
            return ST_OK;
        }
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->fetch);
    if ((rc = file_get(c, url, &key, err, errlen)) < 0)
        st = ST_TEMP_RESOURCE;
    else if (rc == 1)
        st = fetch(c, url, &key, err, errlen);
    pthread_mutex_unlock(&c->fetch);
    if (st != ST_OK)
        return st;
    pthread_mutex_lock(&c->lock);
    {
        cached_t *slot = &c->mem[c->next++ % CERTS_IN_MEM];
        char *u = strdup(url);
        if (u) {
            free(slot->url);
            EVP_PKEY_free(slot->key);
            slot->url = u;
            slot->key = key;
            EVP_PKEY_up_ref(key);
        }
    }
    pthread_mutex_unlock(&c->lock);
    *out = key;
    return ST_OK;
}

/* ---- verification -------------------------------------------------- */

status_t sns_verify(sns_certs_t *c, const sns_msg_t *m, char *err,
                    size_t errlen)
{
    unsigned char sig[MAX_SIG_BYTES + 4];
    const EVP_MD *md;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *ctx = NULL;
    status_t st = ST_PERM_FORGED;
    size_t slen;
    int siglen;
    buf_t sts;

    buf_init(&sts, SNS_MAX_JSON + 4096);
    if (m->signature_version && strcmp(m->signature_version, "1") == 0)
        md = EVP_sha1();
    else if (m->signature_version && strcmp(m->signature_version, "2") == 0)
        md = EVP_sha256();
    else {
        str_errf(err, errlen, "unsupported SignatureVersion \"%.16s\"",
                 m->signature_version ? m->signature_version : "");
        goto out;
    }
    if (m->signature == NULL || (slen = strlen(m->signature)) == 0 ||
        slen > (MAX_SIG_BYTES / 3) * 4 || slen % 4) {
        str_errf(err, errlen, "missing or malformed Signature");
        goto out;
    }
    if ((siglen = EVP_DecodeBlock(sig, (const unsigned char *)m->signature,
                                  (int)slen)) < 0) {
        str_errf(err, errlen, "Signature is not base64");
        goto out;
    }
    while (slen && m->signature[slen - 1] == '=') { /* DecodeBlock pads */
        slen--;
        siglen--;
    }
    if (sns_url_ok(m->signing_cert_url, m->topic_arn, 1, err, errlen) < 0 ||
        sns_string_to_sign(m, &sts, err, errlen) < 0)
        goto out;
    if ((st = cert_key(c, m->signing_cert_url, &key, err, errlen)) != ST_OK)
        goto out;
    st = ST_PERM_FORGED;
    if ((ctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1) {
        str_errf(err, errlen, "cannot set up signature check");
        st = ST_TEMP_RESOURCE;
        goto out;
    }
    if (EVP_DigestVerify(ctx, sig, (size_t)siglen,
                         (const unsigned char *)sts.data, sts.len) != 1) {
        str_errf(err, errlen, "signature does not match (forged or altered)");
        goto out;
    }
    st = ST_OK;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    buf_free(&sts);
    return st;
}

status_t sns_confirm(sns_certs_t *c, const sns_msg_t *m, char *err,
                     size_t errlen)
{
    http_request_t req = {
        .method = "GET", .url = m->subscribe_url, .max_response = 64 * 1024};
    http_response_t resp;
    status_t st;

    if (m->type == NULL || strcmp(m->type, "SubscriptionConfirmation") != 0) {
        str_errf(err, errlen, "not a SubscriptionConfirmation");
        return ST_PERM_BAD_MESSAGE;
    }
    if (sns_url_ok(m->subscribe_url, m->topic_arn, 0, err, errlen) < 0)
        return ST_PERM_BAD_MESSAGE;
    if (c->http == NULL) {
        str_errf(err, errlen, "no HTTP client to confirm the subscription");
        return ST_TEMP_CONNECT;
    }
    http_response_init(&resp);
    pthread_mutex_lock(&c->fetch);
    st = http_perform(c->http, &req, &resp);
    pthread_mutex_unlock(&c->fetch);
    if (st != ST_OK)
        str_errf(err, errlen, "confirming subscription: %s", resp.error);
    else if (resp.code != 200) {
        str_errf(err, errlen, "confirming subscription: HTTP %ld", resp.code);
        st = resp.code >= 500 ? ST_TEMP_SERVER : ST_PERM_BAD_MESSAGE;
    }
    http_response_free(&resp);
    return st;
}
