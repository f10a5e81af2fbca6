/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_url.h - URLs read the way libcurl reads them
 *
 * url_parse() splits an http:// or https:// URL with libcurl's own URL
 * parser (curl_url), so every rule about where a request may go looks at
 * the host libcurl will connect to: "http://127.0.0.1:80@evil.example/"
 * is user "127.0.0.1", password "80", host "evil.example". The
 * configuration check (conf_url_ok: http:// only to loopback), the
 * container-credentials agent check and the HTTP client's no-proxy rule
 * for loopback all use it.
 *
 * DIAGNOSTICS
 *   url_parse() returns 0, or -1 with the reason in err (not a URL libcurl
 *   accepts, a scheme other than http/https, a host too long); the URL
 *   itself is not repeated there, as it may carry a password. Nothing
 *   logs.
 */
#ifndef SES_URL_H
#define SES_URL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool https;     /* else http */
    bool userinfo;  /* user[:password]@ before the host */
    char host[256]; /* lower case; an IPv6 address in brackets */
    unsigned port;  /* the one given, else 80 or 443 */
} url_t;

int url_parse(const char *url, url_t *out, char *err, size_t errlen);

/* The host is a loopback address (127/8, ::1) or "localhost". */
bool url_is_loopback(const url_t *u);

#endif
