/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpd.c - the small HTTP/1.1 server behind ses-feedback -H
 *
 * httpd_listen() binds the socket; httpd_run() polls it, accepts, and
 * hands each connection to a detached thread (serve) that reads one
 * request (read_request), calls the handler and writes the answer in one
 * write. A counter bounds the threads; shutdown waits for it to drain.
 * The whole request must arrive within READ_TIMEOUT_S (408 otherwise), so
 * a client trickling bytes (slowloris) cannot hold a thread.
 *
 * DIAGNOSTICS
 *   See ses_httpd.h.
 */
#include "config.h"

#include "ses_httpd.h"
#include "ses_listen.h"
#include "ses_log.h"
#include "ses_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_TIMEOUT_S 30

struct httpd {
    listener_t *l;
    atomic_int active;
};

typedef struct {
    httpd_t *h;
    int fd;
    httpd_handler_t fn;
    void *ctx;
    char peer[64];
} conn_t;

int httpd_listen(const char *spec, httpd_t **out, char *err, size_t errlen)
{
    /* 0660: the socket's group (a TLS proxy's) may connect, others not */
    listen_opts_t o = {spec, 0660, (uid_t)-1, (gid_t)-1, 64};
    httpd_t *h;

    *out = NULL;
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        snprintf(err, errlen, "%s: out of memory", spec);
        return -1;
    }
    if (listen_open(&o, &h->l, err, errlen) != LISTEN_OK) {
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

void httpd_free(httpd_t *h)
{
    if (h == NULL)
        return;
    listen_close(h->l);
    free(h);
}

static void answer(int fd, int code, const char *text)
{
    static const struct {
        int code;
        const char *reason;
    } reasons[] = {{200, "OK"},
                   {400, "Bad Request"},
                   {403, "Forbidden"},
                   {405, "Method Not Allowed"},
                   {408, "Request Timeout"},
                   {411, "Length Required"},
                   {413, "Payload Too Large"},
                   {431, "Request Header Fields Too Large"},
                   {500, "Internal Server Error"},
                   {503, "Service Unavailable"}};
    const char *reason = "Status";
    char out[1024];
    int n;

    for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
        if (reasons[i].code == code)
            reason = reasons[i].reason;
    n = snprintf(out, sizeof(out),
                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                 code, reason, strlen(text) + 1, text);
    if (n > 0 && (size_t)n < sizeof(out))
        (void)write_all(fd, out, (size_t)n);
}

/* The value of header `name` in the header block, copied into out. */
static const char *header(const char *hdrs, const char *name, char *out,
                          size_t outlen)
{
    size_t nl = strlen(name);

    for (const char *p = hdrs; p && *p; p = strstr(p, "\r\n")) {
        if (p[0] == '\r')
            p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e = strstr(v, "\r\n");
            size_t len;
            while (*v == ' ' || *v == '\t')
                v++;
            len = e ? (size_t)(e - v) : strlen(v);
            if (len >= outlen)
                return NULL;
            memcpy(out, v, len);
            out[len] = '\0';
            return out;
        }
    }
    return NULL;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read() that gives up at deadline (CLOCK_MONOTONIC ms): -2 then. */
static ssize_t read_until(int fd, char *buf, size_t len, long long deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        int r;

        if (left <= 0)
            return -2;
        r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r > 0)
            return read(fd, buf, len);
    }
}

/* Reads one request into b; returns 0 or an HTTP error code. */
static int read_request(int fd, buf_t *b, size_t *head_len, size_t *body_len)
{
    char chunk[16384], value[64], *end = NULL;
    long long clen, deadline = now_ms() + READ_TIMEOUT_S * 1000LL;

    *head_len = *body_len = 0;
    while ((end = b->len ? strstr(b->data, "\r\n\r\n") : NULL) == NULL) {
        ssize_t n = read_until(fd, chunk, sizeof(chunk), deadline);
        if (n == -2)
            return 408;
        if (n <= 0)
            return 400;
        if (b->len + (size_t)n > HTTPD_MAX_HEADER + HTTPD_MAX_BODY ||
            buf_append(b, chunk, (size_t)n) < 0)
            return 413;
        if (memchr(chunk, '\0', (size_t)n))
            return 400;
        if (strstr(b->data, "\r\n\r\n") == NULL && b->len > HTTPD_MAX_HEADER)
            return 431;
    }
    *head_len = (size_t)(end - b->data) + 4;
    if (*head_len > HTTPD_MAX_HEADER)
        return 431;
    end[2] = '\0'; /* headers end with their last CRLF */
    if (header(b->data, "Transfer-Encoding", value, sizeof(value)))
        return 411;
    if (header(b->data, "Content-Length", value, sizeof(value)) == NULL)
        return strncmp(b->data, "POST ", 5) == 0 ? 411 : 0;
    clen = strtoll(value, &end, 10);
    if (*end || clen < 0)
        return 400;
    if (clen > HTTPD_MAX_BODY)
        return 413;
    while (b->len < *head_len + (size_t)clen) {
        ssize_t n = read_until(fd, chunk, sizeof(chunk), deadline);
        if (n == -2)
            return 408;
        if (n <= 0)
            return 400;
        if (buf_append(b, chunk, (size_t)n) < 0)
            return 413;
    }
    *body_len = (size_t)clen;
    return 0;
}

static void *serve(void *arg)
{
    conn_t *c = arg;
    struct timeval tv = {READ_TIMEOUT_S, 0};
    size_t head_len, body_len;
    char method[16], path[1024], sns_type[64], text[512];
    httpd_req_t req;
    buf_t b;
    int code;

    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    buf_init(&b, HTTPD_MAX_HEADER + HTTPD_MAX_BODY);
    if ((code = read_request(c->fd, &b, &head_len, &body_len)) != 0) {
        log_debug(NULL, "%s: bad HTTP request (%d)", c->peer, code);
        answer(c->fd, code, "bad request");
        goto out;
    }
    if (sscanf(b.data, "%15s %1023s HTTP/1.%*1[01]", method, path) != 2) {
        answer(c->fd, 400, "bad request line");
        goto out;
    }
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.sns_type =
        header(b.data, "x-amz-sns-message-type", sns_type, sizeof(sns_type));
    req.body = b.data + head_len;
    req.body_len = body_len;
    req.peer = c->peer;
    text[0] = '\0';
    code = c->fn(c->ctx, &req, text, sizeof(text));
    str_sanitize(text);
    answer(c->fd, code, text);
out:
    buf_free(&b);
    close(c->fd);
    atomic_fetch_sub(&c->h->active, 1);
    free(c);
    return NULL;
}

int httpd_run(httpd_t *h, httpd_handler_t fn, void *ctx, int max_conns,
              volatile sig_atomic_t *stop, void (*tick)(void *), void *tick_ctx)
{
    int64_t last_tick = clock_mono_ms(), deadline;
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (!*stop) {
        struct pollfd pfd = {listen_fd(h->l), POLLIN, 0};
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        pthread_t tid;
        conn_t *c;
        int fd;

        if (tick && clock_mono_ms() - last_tick >= 1000) {
            tick(tick_ctx);
            last_tick = clock_mono_ms();
        }
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        if ((fd = listen_accept(h->l)) < 0) /* EAGAIN: another took it */
            continue;
        if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
            ss.ss_family = AF_UNSPEC;
        if (atomic_load(&h->active) >= max_conns ||
            (c = calloc(1, sizeof(*c))) == NULL) {
            answer(fd, 503, "busy");
            close(fd);
            continue;
        }
        c->h = h;
        c->fd = fd;
        c->fn = fn;
        c->ctx = ctx;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
            snprintf(c->peer, sizeof(c->peer), "%s:%u", a,
                     ntohs(sin->sin_port));
        } else {
            str_copy(c->peer, "local", sizeof(c->peer));
        }
        atomic_fetch_add(&h->active, 1);
        if (pthread_create(&tid, &attr, serve, c) != 0) {
            atomic_fetch_sub(&h->active, 1);
            answer(fd, 503, "busy");
            close(fd);
            free(c);
        }
    }
    pthread_attr_destroy(&attr);
    deadline = clock_mono_ms() + 10000;
    while (atomic_load(&h->active) > 0 && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    return atomic_load(&h->active) > 0 ? -1 : 0;
}
