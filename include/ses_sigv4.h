/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_sigv4.h - AWS Signature Version 4
 *
 * sigv4_sign() computes the Authorization header for one HTTP request, given
 * the request's method, host, path, query, the headers to sign, the hex
 * SHA-256 of the payload, credentials, region, service and the time. It is a
 * pure function of its inputs: the clock is a parameter, so signatures are
 * testable (tests cross-check against botocore's SigV4Auth).
 *
 * The canonical request follows botocore for non-S3 services: the path is
 * normalised and URI-encoded once more (so "%2F" signs as "%252F"), query
 * pairs are re-encoded (RFC 3986 unreserved set) and sorted, header names
 * are lower-cased and values trimmed with inner blank runs collapsed.
 * host and x-amz-date (and x-amz-security-token with a session token) are
 * always signed.
 *
 * DIAGNOSTICS
 *   sigv4_sign() returns 0, or -1 when an input exceeds the bounds below or
 *   the crypto library fails. The secret key never leaves this module
 *   except as the derived signature.
 */
#ifndef SES_SIGV4_H
#define SES_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_MAX_HEADERS 32

typedef struct {
    const char *name;
    const char *value;
} sigv4_header_t;

typedef struct {
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL for long-term keys */
} sigv4_creds_t;

typedef struct {
    const char *method;
    const char *host;  /* as in the Host header (with :port if not default) */
    const char *path;  /* as sent, percent-encoded; "" means "/" */
    const char *query; /* as sent, without '?'; NULL or "" for none */
    const sigv4_header_t *headers; /* extra headers to sign */
    size_t nheaders;
    const char *payload_sha256; /* lower-case hex of the body's SHA-256 */
} sigv4_request_t;

typedef struct {
    char amz_date[17];        /* X-Amz-Date: 20150830T123600Z */
    char authorization[1536]; /* Authorization header value */
    char signature[65];       /* for tests only; never log it */
} sigv4_result_t;

int sigv4_sign(const sigv4_request_t *req, const sigv4_creds_t *creds,
               const char *region, const char *service, time_t now,
               sigv4_result_t *out);

/* The canonical request and string to sign (for tests and debugging). */
int sigv4_canonical_request(const sigv4_request_t *req,
                            const sigv4_creds_t *creds, const char *amz_date,
                            char **out);

/* Hex SHA-256 of a memory block into out[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* RFC 3986 encoding of s (unreserved kept), appended to out; for forms and
 * query strings. Returns 0 or -1 when out is full. */
int sigv4_uri_encode(const char *s, size_t len, int keep_slash, char *out,
                     size_t outlen);

#endif
