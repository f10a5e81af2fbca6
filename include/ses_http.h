/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_http.h - HTTPS requests with libcurl
 *
 * One http_t per thread wraps a libcurl easy handle that is reused, so
 * connections to SES (and STS, SQS, ...) stay alive between requests. TLS is
 * at least 1.2 and always verified: there is no switch to turn it off.
 * Redirects are never followed. The request body comes from memory or from
 * a reader callback (streaming, with a rewind for retries); the response
 * body is kept up to a bound. GET and DELETE requests without a body send
 * none; a request with a body but no Content-Type header sends none either
 * (libcurl's form default is suppressed).
 *
 * Proxies: libcurl's https_proxy/no_proxy environment variables apply,
 * except to loopback hosts and to requests marked no_proxy (instance and
 * container metadata addresses, which a proxy could only answer wrongly).
 *
 * DIAGNOSTICS
 *   http_perform() returns ST_OK when an HTTP answer (of any status code)
 *   arrived, else the transport failure: ST_TEMP_TIMEOUT, ST_TEMP_CONNECT,
 *   ST_TEMP_DNS, ST_TEMP_TLS, ST_TEMP_RESET, ST_TEMP_PROTOCOL (answer too
 *   big or malformed) or ST_TEMP_RESOURCE, with curl's text in
 *   resp->error; resp->request_sent tells whether that failure came after
 *   the whole request had been sent (then the server may have acted on it:
 *   the outcome is ambiguous). When libcurl refuses one of the request's
 *   options nothing is sent: ST_TEMP_TLS for a TLS or protocol option,
 *   ST_TEMP_CONFIG for any other, with the option's name in resp->error.
 *   The caller classifies HTTP status codes.
 */
#ifndef SES_HTTP_H
#define SES_HTTP_H

#include "ses_status.h"
#include "ses_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HTTP_MAX_HEADERS          16
#define HTTP_DEFAULT_MAX_RESPONSE (1024 * 1024)

typedef struct http http_t;

/* Reader for streamed bodies: fills buf, returns bytes (0 at the end) or
 * -1 on error. rewind() restarts from the beginning (for retries). */
typedef struct {
    ssize_t (*read)(void *ctx, char *buf, size_t len);
    int (*rewind)(void *ctx);
    void *ctx;
    long long length; /* exact body length */
} http_body_reader_t;

typedef struct {
    const char *method; /* GET, PUT, POST, DELETE */
    const char *url;
    const char *headers[HTTP_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
    const void *body; /* memory body, or */
    size_t body_len;
    const http_body_reader_t *reader; /* a streamed body */
    size_t max_response;              /* 0: HTTP_DEFAULT_MAX_RESPONSE */
    long timeout_ms;                  /* 0: the handle's default */
    long connect_timeout_ms;          /* 0: the handle's default */
    bool no_proxy;                    /* connect directly, whatever the env */
} http_request_t;

typedef struct {
    long code; /* HTTP status code */
    buf_t body;
    char error_type[128]; /* x-amzn-ErrorType (as sent) */
    char request_id[128]; /* x-amzn-RequestId / x-amz-request-id */
    char content_type[128];
    char error[256]; /* transport error text */
    long long elapsed_ms;
    bool request_sent; /* a transport failure came after the whole request
                          was sent: the server may have acted on it */
} http_response_t;

/* Once per process, before threads: libcurl, and one cache of TLS
 * sessions and resolved names every handle of the process shares. */
int http_global_init(void);
http_t *http_new(long connect_timeout_ms, long timeout_ms);
void http_free(http_t *h); /* NULL is fine */

void http_response_init(http_response_t *r);
void http_response_free(http_response_t *r);

status_t http_perform(http_t *h, const http_request_t *req,
                      http_response_t *resp);

/* Splits "https://host[:port]/path?query" into its parts for signing.
 * host includes ":port" only when the port is not the scheme default.
 * Returns 0 or -1 when the URL is malformed or a part does not fit. */
int http_url_split(const char *url, char *host, size_t hostlen, char *path,
                   size_t pathlen, char *query, size_t querylen);

#endif
