/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_sns.h - Amazon SNS messages: parsing and signature verification
 *
 * sns_parse() reads an SNS envelope (Notification, SubscriptionConfirmation,
 * UnsubscribeConfirmation). sns_verify() checks its signature the way AWS
 * documents it: SignatureVersion 1 (RSA SHA1) or 2 (RSA SHA256) over the
 * string to sign, whose fields and order depend on the message type; the
 * SigningCertURL must be https on sns.<region>.amazonaws.com (.com.cn in
 * the aws-cn partition), in the region of the TopicArn, ending in ".pem".
 *
 * Certificates are cached: in memory, and as files in a cache directory
 * named by the SHA-256 of their URL (sns_cert_cache_name()). A certificate
 * not in the cache is fetched over verified HTTPS when the sns_certs_t has
 * an http_t, and stored. Tests need no network: they sign with their own
 * key and put its certificate into the cache under the URL's name.
 *
 * DIAGNOSTICS
 *   sns_parse() returns 0 for an envelope, 1 for JSON that is not one (the
 *   caller may treat it as bare SES JSON), -1 when malformed; a reason in
 *   err. sns_verify() returns ST_OK; ST_PERM_FORGED when the message is
 *   forged or its certificate URL not acceptable (never retried); or a
 *   temporary status when the certificate cannot be fetched now.
 *   sns_confirm() returns ST_OK or the HTTP failure. Nothing here logs.
 */
#ifndef SES_SNS_H
#define SES_SNS_H

#include "ses_http.h"
#include "ses_status.h"

#include <stddef.h>

#define SNS_MAX_JSON (1024 * 1024)

typedef struct {
    const char *type; /* Notification, SubscriptionConfirmation, ... */
    const char *message_id;
    const char *topic_arn;
    const char *subject; /* may be NULL */
    const char *message;
    size_t message_len;
    const char *timestamp;
    const char *signature_version; /* "1" or "2" */
    const char *signature;         /* base64 */
    const char *signing_cert_url;
    const char *subscribe_url; /* confirmations */
    const char *token;         /* confirmations */
    void *priv;
} sns_msg_t;

int sns_parse(const char *json, size_t len, sns_msg_t **out, char *err,
              size_t errlen);
void sns_msg_free(sns_msg_t *m); /* NULL is fine */

/* The string AWS signs, for this message's type. -1 when a field the type
 * needs is missing or the type is unknown. */
int sns_string_to_sign(const sns_msg_t *m, buf_t *out, char *err,
                       size_t errlen);

/* 0 when url is an acceptable SigningCertURL/SubscribeURL for topic_arn
 * (scheme, host, region; .pem only when pem is set), else -1. */
int sns_url_ok(const char *url, const char *topic_arn, int pem, char *err,
               size_t errlen);

/* "<sha256 hex of url>.pem" into out (at least 70 bytes). */
const char *sns_cert_cache_name(const char *url, char *out, size_t outlen);

typedef struct sns_certs sns_certs_t;
/* cache_dir may be NULL (memory only); http may be NULL (never fetch);
 * the http_t stays the caller's. */
sns_certs_t *sns_certs_new(const char *cache_dir, http_t *http);
void sns_certs_free(sns_certs_t *c); /* NULL is fine */

status_t sns_verify(sns_certs_t *c, const sns_msg_t *m, char *err,
                    size_t errlen);

/* Confirms a verified SubscriptionConfirmation by fetching SubscribeURL. */
status_t sns_confirm(sns_certs_t *c, const sns_msg_t *m, char *err,
                     size_t errlen);

#endif
