/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exporter.c - a minimal HTTP/1.x endpoint for Prometheus scrapes on a
 * loopback address
 *
 * One connection at a time, one request per connection, one write per
 * answer (headers and body in one buffer, so no Nagle/delayed-ACK stall).
 * A client gets EXPORTER_TIMEOUT_MS to send its request and at most
 * EXPORTER_MAX_REQUEST bytes; a scrape endpoint needs no more.
 *
 * exporter_listen() exporter_serve()
 *
 * DIAGNOSTICS
 *   See ses_exporter.h.
 */
#include "config.h"

#include "ses_exporter.h"
#include "ses_util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

listener_t *exporter_listen(const char *spec, char *err, size_t errlen)
{
    listen_opts_t o = {NULL, 0, (uid_t)-1, (gid_t)-1, 16};
    char host[256], norm[300];
    const char *p, *at;
    listener_t *l = NULL;

    if (sockspec_address(spec, host, sizeof(host)) < 0) {
        snprintf(err, errlen, "\"%s\" is not inet:PORT@ADDRESS", spec);
        return NULL;
    }
    p = strchr(spec, ':') + 1;
    at = strchr(p, '@');
    if (!sockspec_is_local(spec)) {
        snprintf(err, errlen,
                 "%s: the metrics endpoint has no authentication and listens "
                 "only on loopback addresses (127.0.0.1, ::1)",
                 spec);
        return NULL;
    }
    snprintf(norm, sizeof(norm), "%s%.*s@%s",
             strchr(host, ':') ? "inet6:" : "inet:",
             (int)(at ? at - p : (long)strlen(p)), p, host);
    o.spec = norm;
    if (listen_open(&o, &l, err, errlen) != LISTEN_OK)
        return NULL;
    return l;
}

/* Reads until the end of the request headers; 0, or -1 on a bad request
 * (too long, too slow, closed). */
static int read_request(int fd, char *req, size_t size)
{
    size_t len = 0;
    int64_t deadline = clock_mono_ms() + EXPORTER_TIMEOUT_MS;

    while (len + 1 < size) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int64_t left = deadline - clock_mono_ms();
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        if ((n = read(fd, req + len, size - 1 - len)) <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            return 0;
    }
    return -1;
}

static void answer(int fd, int code, const char *reason, const char *ctype,
                   const char *body, size_t blen)
{
    buf_t b;

    buf_init(&b, 0);
    buf_printf(&b,
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
               "Content-Length: %zu\r\nConnection: close\r\n\r\n",
               code, reason, ctype, blen);
    buf_append(&b, body, blen);
    (void)write_all(fd, b.data, b.len); /* the client may have gone */
    buf_free(&b);
}

int exporter_serve(listener_t *l, metrics_t *m)
{
    char req[EXPORTER_MAX_REQUEST], method[16], path[256];
    static const char text[] = "text/plain; charset=utf-8";
    int fd;

    if ((fd = listen_accept(l)) < 0)
        return -1;
    if (read_request(fd, req, sizeof(req)) < 0 ||
        sscanf(req, "%15s %255s HTTP/1.%*c", method, path) != 2) {
        answer(fd, 400, "Bad Request", text, "bad request\n", 12);
    } else if (strcmp(method, "GET") != 0) {
        answer(fd, 405, "Method Not Allowed", text, "GET only\n", 9);
    } else if (strcmp(path, "/metrics") != 0 && strcmp(path, "/") != 0) {
        answer(fd, 404, "Not Found", text, "try /metrics\n", 13);
    } else {
        buf_t b;
        buf_init(&b, 0);
        if (metrics_render(m, &b) == METRICS_OK)
            answer(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                   b.data, b.len);
        else
            answer(fd, 500, "Internal Server Error", text,
                   "cannot render metrics\n", 22);
        buf_free(&b);
    }
    close(fd);
    return 0;
}
