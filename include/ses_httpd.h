/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_httpd.h - the small HTTP/1.1 server behind ses-feedback -H
 *
 * Enough HTTP for Amazon SNS deliveries (or a TLS proxy in front): one
 * request per connection, a body with Content-Length (no chunked bodies),
 * bounded headers and body, every answer in one write with "Connection:
 * close". Requests are read by one event loop and only a whole one takes
 * a thread (max_conns at once, beyond: 503), so connections that send
 * nothing cannot lock SNS out: they must send their headers within 10 s
 * and their request within 30 s (408), and when too many wait (1024, or
 * what the descriptor limit allows, or 64 MB of requests together) the
 * one that waited longest is dropped (503), never the newest.
 *
 * httpd_listen() binds "inet:PORT@ADDR" or "unix:PATH" with listen_open()
 * (a unix socket gets mode 0660; a stale one is replaced, a live one is an
 * error; TCP connections get TCP_NODELAY); httpd_run() serves
 * until *stop becomes non-zero, calling tick() about once a second from
 * the accepting thread (housekeeping), and waits up to 10 s for requests
 * in flight.
 *
 * DIAGNOSTICS
 *   httpd_listen() returns 0, or -1 with the reason in err. Malformed
 *   requests get 400/405/411/413/431 answers and are logged at debug
 *   level only; nothing else logs.
 */
#ifndef SES_HTTPD_H
#define SES_HTTPD_H

#include <signal.h>
#include <stddef.h>

#define HTTPD_MAX_HEADER (16 * 1024)
#define HTTPD_MAX_BODY   (1024 * 1024 + 64 * 1024)

typedef struct {
    const char *method;
    const char *path;
    const char *sns_type; /* x-amz-sns-message-type, or NULL */
    const char *body;
    size_t body_len;
    const char *peer; /* "127.0.0.1:53422" */
} httpd_req_t;

/* Returns the HTTP status code; a short text for the body in text. */
typedef int (*httpd_handler_t)(void *ctx, const httpd_req_t *req, char *text,
                               size_t textlen);

typedef struct httpd httpd_t;

int httpd_listen(const char *spec, httpd_t **out, char *err, size_t errlen);
int httpd_run(httpd_t *h, httpd_handler_t fn, void *ctx, int max_conns,
              volatile sig_atomic_t *stop, void (*tick)(void *),
              void *tick_ctx);
void httpd_free(httpd_t *h); /* NULL is fine; closes the socket */

#endif
