/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snstest.h - a test signer for SNS messages (unit tests only)
 *
 * snstest_new() makes an RSA key and a self-signed certificate and stores
 * the certificate in a cache directory under the name ses-feedback looks
 * for (sns_cert_cache_name of the URL). snstest_envelope() writes an SNS
 * Notification envelope around a message, signed the way AWS documents
 * it: the string to sign is built here independently of src/sns.c.
 */
#ifndef SES_SNSTEST_H
#define SES_SNSTEST_H

#include "ses_sns.h"
#include "ses_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNSTEST_REGION "us-east-1"
#define SNSTEST_TOPIC  "arn:aws:sns:us-east-1:123456789012:ses-feedback"
#define SNSTEST_CERT_URL                                                       \
    "https://sns.us-east-1.amazonaws.com/"                                     \
    "SimpleNotificationService-0000000000000000000000000000test.pem"

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} snstest_t;

static inline snstest_t *snstest_new(const char *cache_dir, const char *url)
{
    snstest_t *t = calloc(1, sizeof(*t));
    char name[80], path[1024];
    FILE *fp;

    t->key = EVP_RSA_gen(2048);
    t->cert = X509_new();
    X509_set_version(t->cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(t->cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(t->cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(t->cert), 365L * 86400);
    X509_set_pubkey(t->cert, t->key);
    X509_NAME_add_entry_by_txt(
        X509_get_subject_name(t->cert), "CN", MBSTRING_ASC,
        (const unsigned char *)"sns.amazonaws.com", -1, -1, 0);
    X509_set_issuer_name(t->cert, X509_get_subject_name(t->cert));
    X509_sign(t->cert, t->key, EVP_sha256());
    if (cache_dir) {
        snprintf(path, sizeof(path), "%s/%s", cache_dir,
                 sns_cert_cache_name(url, name, sizeof(name)));
        if ((fp = fopen(path, "w")) != NULL) {
            PEM_write_X509(fp, t->cert);
            fclose(fp);
        }
    }
    return t;
}

static inline void snstest_free(snstest_t *t)
{
    if (t == NULL)
        return;
    EVP_PKEY_free(t->key);
    X509_free(t->cert);
    free(t);
}

/* base64 of the RSA signature of data (version "1": SHA1, "2": SHA256). */
static inline char *snstest_sign(snstest_t *t, const char *version,
                                 const char *data)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    char *b64 = malloc(2048);

    EVP_DigestSignInit(ctx, NULL,
                       strcmp(version, "1") == 0 ? EVP_sha1() : EVP_sha256(),
                       NULL, t->key);
    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data,
                   strlen(data));
    EVP_MD_CTX_free(ctx);
    EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
    return b64;
}

/* A signed Notification envelope around message (malloc'd JSON). */
static inline char *snstest_envelope(snstest_t *t, const char *version,
                                     const char *topic, const char *cert_url,
                                     const char *msg_id, const char *message)
{
    const char *ts = "2024-05-01T10:00:06.000Z";
    size_t n = strlen(message) + 1024;
    char *sts = malloc(n), *sig, *out;
    json_t *o;

    snprintf(sts, n,
             "Message\n%s\nMessageId\n%s\nTimestamp\n%s\nTopicArn\n%s\n"
             "Type\nNotification\n",
             message, msg_id, ts, topic);
    sig = snstest_sign(t, version, sts);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Type",
                  "Notification", "MessageId", msg_id, "TopicArn", topic,
                  "Message", message, "Timestamp", ts, "SignatureVersion",
                  version, "Signature", sig, "SigningCertURL", cert_url,
                  "UnsubscribeURL",
                  "https://sns.us-east-1.amazonaws.com/"
                  "?Action=Unsubscribe");
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(sig);
    free(sts);
    return out;
}

#endif
