/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpd.c - the small HTTP/1.1 server behind ses-feedback -H
 *
 * httpd_listen() binds the socket. httpd_run() is one event loop that
 * accepts connections and reads their requests (non-blocking, poll), and
 * only a request that arrived whole goes to a thread (serve) that calls
 * the handler and writes the answer in one write. A connection that is
 * still sending - or sending nothing - costs a descriptor and its bytes,
 * never a thread, so idle clients cannot lock SNS out:
 *
 *   - the request headers must arrive within HEADER_TIMEOUT_S of the
 *     accept and the whole request within REQUEST_TIMEOUT_S (408);
 *   - at most max_pending connections wait for their request (1024, fewer
 *     when the descriptor limit is lower) holding at most MAX_BUFFERED
 *     bytes together: beyond either bound the connection that has waited
 *     longest is answered 503 and closed, never the new one - an SNS
 *     delivery sends its request at once, so it is always among the
 *     newest. No per-address limit: the endpoint sits behind a TLS proxy.
 *   - max_conns requests are handled at once; a request that arrives
 *     whole while all of them are busy is answered 503 (SNS retries).
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEADER_TIMEOUT_S  10
#define REQUEST_TIMEOUT_S 30
#define WRITE_TIMEOUT_S   30
#define MAX_PENDING       1024
#define MAX_BUFFERED      (64u << 20)
#define FD_RESERVE        64 /* descriptors kept for the handlers */

struct httpd {
    listener_t *l;
    atomic_int active; /* requests being handled */
};

/* A connection until its request is whole. */
typedef struct {
    int fd;
    buf_t b;
    size_t head_len; /* 0 until the header block is complete */
    size_t body_len;
    int64_t since; /* accepted, CLOCK_MONOTONIC ms */
    char peer[64];
} pending_t;

/* A request handed to a thread. */
typedef struct {
    httpd_t *h;
    httpd_handler_t fn;
    void *ctx;
    pending_t p;
} conn_t;

int httpd_listen(const char *spec, httpd_t **out, char *err, size_t errlen)
{
    /* 0660: the socket's group (a TLS proxy's) may connect, others not */
    listen_opts_t o = {spec, 0660, (uid_t)-1, (gid_t)-1, 512};
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

/* The whole answer in one write (with TCP_NODELAY from listen_accept(), it
 * leaves at once). */
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

/* What p's bytes so far make: 0 = wait for more, -1 = a whole request,
 * or the HTTP error code to answer. */
static int progress(pending_t *p)
{
    char value[64], *end;
    long long clen;

    if (p->head_len == 0) {
        if ((end = strstr(p->b.data, "\r\n\r\n")) == NULL)
            return p->b.len > HTTPD_MAX_HEADER ? 431 : 0;
        p->head_len = (size_t)(end - p->b.data) + 4;
        if (p->head_len > HTTPD_MAX_HEADER)
            return 431;
        end[2] = '\0'; /* headers end with their last CRLF */
        if (header(p->b.data, "Transfer-Encoding", value, sizeof(value)))
            return 411;
        if (header(p->b.data, "Content-Length", value, sizeof(value)) == NULL) {
            if (strncmp(p->b.data, "POST ", 5) == 0)
                return 411;
            clen = 0;
        } else {
            clen = strtoll(value, &end, 10);
            if (*end || clen < 0 || end == value)
                return 400;
            if (clen > HTTPD_MAX_BODY)
                return 413;
        }
        p->body_len = (size_t)clen;
    }
    return p->b.len >= p->head_len + p->body_len ? -1 : 0;
}

/* Reads what the connection has; as progress(), or 400 when it closed
 * or failed before its request was whole. */
static int pending_read(pending_t *p, size_t *buffered)
{
    char chunk[16384];
    ssize_t n;
    int code;

    n = read(p->fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0)
        return 400;
    if (p->head_len == 0 && memchr(chunk, '\0', (size_t)n))
        return 400;
    if (p->b.len + (size_t)n > HTTPD_MAX_HEADER + HTTPD_MAX_BODY)
        return 413;
    if (buf_append(&p->b, chunk, (size_t)n) < 0)
        return 503;
    *buffered += (size_t)n;
    code = progress(p);
    return code;
}

static void *serve(void *arg)
{
    conn_t *c = arg;
    pending_t *p = &c->p;
    struct timeval tv = {WRITE_TIMEOUT_S, 0};
    char method[16], path[1024], sns_type[64], text[512];
    httpd_req_t req;
    int code;

    setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (sscanf(p->b.data, "%15s %1023s HTTP/1.%*1[01]", method, path) != 2) {
        answer(p->fd, 400, "bad request line");
        goto out;
    }
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.sns_type =
        header(p->b.data, "x-amz-sns-message-type", sns_type, sizeof(sns_type));
    req.body = p->b.data + p->head_len;
    req.body_len = p->body_len;
    req.peer = p->peer;
    text[0] = '\0';
    code = c->fn(c->ctx, &req, text, sizeof(text));
    str_sanitize(text);
    answer(p->fd, code, text);
out:
    buf_free(&p->b);
    close(p->fd);
    atomic_fetch_sub(&c->h->active, 1);
    free(c);
    return NULL;
}

static void peer_name(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
        snprintf(out, outlen, "%s:%u", a, ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
        snprintf(out, outlen, "[%s]:%u", a, ntohs(sin6->sin6_port));
    } else {
        str_copy(out, "local", outlen);
    }
}

/* The connections waiting for their request, oldest first. */
typedef struct {
    pending_t *v;
    size_t n, max, buffered;
} pendings_t;

/* Answers and drops pending connection i. */
static void drop(pendings_t *ps, size_t i, int code, const char *why)
{
    pending_t *p = &ps->v[i];

    if (code != 400) /* a client that closed or sent garbage gets none */
        answer(p->fd, code, why);
    log_debug(NULL, "%s: HTTP request not served (%d %s)", p->peer, code, why);
    close(p->fd);
    ps->buffered -= p->b.len;
    buf_free(&p->b);
    memmove(&ps->v[i], &ps->v[i + 1], (ps->n - i - 1) * sizeof(*ps->v));
    ps->n--;
}

/* Hands the whole request in pending i to a thread, or answers 503. */
static void dispatch(httpd_t *h, pendings_t *ps, size_t i, int max_conns,
                     httpd_handler_t fn, void *ctx, pthread_attr_t *attr)
{
    conn_t *c;
    pthread_t tid;

    if (atomic_load(&h->active) >= max_conns ||
        (c = calloc(1, sizeof(*c))) == NULL) {
        drop(ps, i, 503, "busy");
        return;
    }
    c->h = h;
    c->fn = fn;
    c->ctx = ctx;
    c->p = ps->v[i];
    atomic_fetch_add(&h->active, 1);
    if (pthread_create(&tid, attr, serve, c) != 0) {
        atomic_fetch_sub(&h->active, 1);
        free(c);
        drop(ps, i, 503, "busy");
        return;
    }
    /* the thread owns the descriptor and the buffer now */
    ps->buffered -= c->p.b.len;
    memmove(&ps->v[i], &ps->v[i + 1], (ps->n - i - 1) * sizeof(*ps->v));
    ps->n--;
}

/* How many connections may wait: MAX_PENDING, within the descriptor
 * limit. */
static size_t pending_limit(int max_conns)
{
    struct rlimit rl;
    long room = MAX_PENDING;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        room = (long)rl.rlim_cur - FD_RESERVE - max_conns;
    if (room > MAX_PENDING)
        room = MAX_PENDING;
    return room < 8 ? 8 : (size_t)room;
}

/* Takes one waiting connection; false when there is none. */
static bool accept_one(httpd_t *h, pendings_t *ps)
{
    pending_t *p;
    int fd;

    if ((fd = listen_accept(h->l)) < 0) /* EAGAIN: no more */
        return false;
    if (ps->n == ps->max) /* the one that waited longest makes room */
        drop(ps, 0, 503, "busy");
    p = &ps->v[ps->n++];
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->since = clock_mono_ms();
    buf_init(&p->b, HTTPD_MAX_HEADER + HTTPD_MAX_BODY);
    peer_name(fd, p->peer, sizeof(p->peer));
    return true;
}

int httpd_run(httpd_t *h, httpd_handler_t fn, void *ctx, int max_conns,
              volatile sig_atomic_t *stop, void (*tick)(void *), void *tick_ctx)
{
    int64_t last_tick = clock_mono_ms(), deadline;
    pendings_t ps = {0};
    struct pollfd *pfd;
    pthread_attr_t attr;

    ps.max = pending_limit(max_conns);
    ps.v = calloc(ps.max, sizeof(*ps.v));
    pfd = calloc(ps.max + 1, sizeof(*pfd));
    if (ps.v == NULL || pfd == NULL) {
        free(ps.v);
        free(pfd);
        return -1;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (!*stop) {
        int64_t now = clock_mono_ms(), wait = 1000;
        size_t n;

        if (tick && now - last_tick >= 1000) {
            tick(tick_ctx);
            last_tick = now = clock_mono_ms();
        }
        /* the deadlines: the headers within HEADER_TIMEOUT_S, the whole
         * request within REQUEST_TIMEOUT_S of the accept */
        for (size_t i = 0; i < ps.n;) {
            pending_t *p = &ps.v[i];
            int64_t left =
                p->since +
                (p->head_len ? REQUEST_TIMEOUT_S : HEADER_TIMEOUT_S) * 1000 -
                now;
            if (left <= 0) {
                drop(&ps, i, 408, "request timeout");
                continue;
            }
            if (left < wait)
                wait = left;
            i++;
        }
        n = ps.n;
        for (size_t i = 0; i < n; i++)
            pfd[i] = (struct pollfd){ps.v[i].fd, POLLIN, 0};
        pfd[n] = (struct pollfd){listen_fd(h->l), POLLIN, 0};
        if (poll(pfd, n + 1, (int)wait) <= 0)
            continue;
        /* reads first, newest to oldest (drop() and dispatch() move the
         * ones after i), then the new connection */
        for (size_t i = n; i-- > 0;) {
            int code;
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            code = pending_read(&ps.v[i], &ps.buffered);
            if (code == -1)
                dispatch(h, &ps, i, max_conns, fn, ctx, &attr);
            else if (code > 0)
                drop(&ps, i, code, code == 503 ? "busy" : "bad request");
        }
        while (ps.buffered > MAX_BUFFERED && ps.n > 0)
            drop(&ps, 0, 503, "busy");
        if (pfd[n].revents & POLLIN) /* a burst is taken in one round */
            for (int k = 0; k < 64 && accept_one(h, &ps); k++)
                ;
    }
    pthread_attr_destroy(&attr);
    while (ps.n > 0)
        drop(&ps, ps.n - 1, 503, "shutting down");
    free(ps.v);
    free(pfd);
    deadline = clock_mono_ms() + 10000;
    while (atomic_load(&h->active) > 0 && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    return atomic_load(&h->active) > 0 ? -1 : 0;
}
