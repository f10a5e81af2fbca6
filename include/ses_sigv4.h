/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_sigv4.h - AWS Signature Version 4 and 4a
 *
 * sigv4_sign() computes the Authorization header for one HTTP request, given
 * the request's method, host, path, query, the headers to sign, the hex
 * SHA-256 of the payload, credentials, region, service and the time. It is a
 * pure function of its inputs: the clock is a parameter, so signatures are
 * testable (tests cross-check against botocore's SigV4Auth).
 *
 * sigv4a_sign() is the asymmetric variant (AWS4-ECDSA-P256-SHA256) that
 * multi-region endpoints such as the SESv2 global endpoint require. The
 * canonical request is the same one, with X-Amz-Region-Set (the regions
 * the signature is good for, "*" for all) signed as well; the credential
 * scope has no region ("DATE/SERVICE/aws4_request"). The key is an ECDSA
 * P-256 key derived from the secret key as the AWS SDKs do (NIST SP 800-108
 * KDF in counter mode, HMAC-SHA256 keyed with "AWS4A" + secret, over the
 * algorithm name, the access key id and a counter, until the value is at
 * most n-2; the private key is that value + 1). ECDSA signatures are
 * randomized: two signatures of one request differ, and both verify with
 * the public key sigv4a_public_key() derives (AWS's v4a suite lists it).
 *
 * The canonical request follows botocore for non-S3 services: the path is
 * normalised and URI-encoded once more (so "%2F" signs as "%252F"), query
 * pairs are re-encoded (RFC 3986 unreserved set) and sorted, header names
 * are lower-cased and values trimmed with inner blank runs collapsed.
 * host and x-amz-date (and x-amz-security-token with a session token) are
 * always signed.
 *
 * DIAGNOSTICS
 *   sigv4_sign() and sigv4a_sign() return 0, or -1 when an input exceeds
 *   the bounds below or the crypto library fails. The secret key never leaves
 * this module except as the derived signature.
 */
#ifndef SES_SIGV4_H
#define SES_SIGV4_H

#include <stdbool.h>
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
    bool keep_path; /* sign the path as given, without removing "." and
                       ".." segments and empty segments (S3 style) */
} sigv4_request_t;

typedef struct {
    char amz_date[17];        /* X-Amz-Date: 20150830T123600Z */
    char authorization[1536]; /* Authorization header value */
    char signature[160]; /* hex (v4a: of the DER signature); for tests only,
                            never log it */
} sigv4_result_t;

int sigv4_sign(const sigv4_request_t *req, const sigv4_creds_t *creds,
               const char *region, const char *service, time_t now,
               sigv4_result_t *out);

/* SigV4a: region_set is the X-Amz-Region-Set value ("*", or regions
 * joined by ','). out->authorization is
 * "AWS4-ECDSA-P256-SHA256 Credential=AKID/DATE/SERVICE/aws4_request, ...". */
int sigv4a_sign(const sigv4_request_t *req, const sigv4_creds_t *creds,
                const char *region_set, const char *service, time_t now,
                sigv4_result_t *out);

/* The canonical request (for tests and debugging). */
int sigv4_canonical_request(const sigv4_request_t *req,
                            const sigv4_creds_t *creds, const char *amz_date,
                            char **out);

/* SigV4a's canonical request and string to sign, malloc'd (for tests). */
int sigv4a_string_to_sign(const sigv4_request_t *req,
                          const sigv4_creds_t *creds, const char *region_set,
                          const char *service, time_t now, char **canonical,
                          char **string_to_sign);

/* The P-256 public key SigV4a derives from the credentials: its affine
 * coordinates as lower-case hex (64 digits each). 0 or -1. */
int sigv4a_public_key(const sigv4_creds_t *creds, char x[65], char y[65]);

/* Hex SHA-256 of a memory block into out[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* RFC 3986 encoding of s (unreserved kept), appended to out; for forms and
 * query strings. Returns 0 or -1 when out is full. */
int sigv4_uri_encode(const char *s, size_t len, int keep_slash, char *out,
                     size_t outlen);

#endif
