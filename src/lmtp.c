/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lmtp.c - the server side of one LMTP session (RFC 2033)
 *
 * A session is a buffered reader, an output buffer and the state of one
 * transaction. get_line() hands out complete command lines from the input
 * buffer; only when none is left does it flush the replies (one write for
 * a pipelined group) and wait, with poll(), for more input or for stop_fd.
 * read_data() streams the message into a spool through a four-state
 * machine (line start, in line, "." at line start, ".\r" at line start),
 * so dot-unstuffing and the end marker work across reads and lines of any
 * length. Bytes beyond MaxMessageSize are counted by the spool, not kept.
 *
 * DIAGNOSTICS
 *   See ses_lmtp.h. Protocol errors become replies; I/O errors, EOF and
 *   timeouts end the session without delivering the open transaction.
 */
#include "config.h"

#include "ses_addr.h"
#include "ses_lmtp.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_SIZE     65536
#define MAX_OUT     (1 << 20) /* replies queued before a write */
#define MAX_QID     40
#define ENHANCED_OK "2.0.0"

typedef enum {
    GL_OK = 0,
    GL_TOO_LONG,
    GL_EOF,
    GL_TIMEOUT,
    GL_STOP,
    GL_IO,
} gl_t;

typedef struct {
    int fd, stop_fd;
    lmtp_limits_t lim;
    const lmtp_handler_t *h;
    char in[IN_SIZE + 1];
    size_t r, w;    /* unread input is in[r..w) */
    int discarding; /* skipping the rest of an overlong line */
    buf_t out;
    int lhlo;
    /* the transaction */
    int in_txn;
    char *sender;
    char **rcpts;
    size_t nrcpts, cap;
    int smtputf8;
    char xident[MAX_QID + 1];
    unsigned errors;
} sess_t;

const char *lmtp_end_name(lmtp_end_t e)
{
    static const char *const names[] = {"quit",    "eof",    "timeout",
                                        "stopped", "errors", "i/o error"};

    return (unsigned)e < ARRAY_SIZE(names) ? names[e] : "?";
}

/* ---- I/O ---- */

static void reply(sess_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one reply line. Text that came from the client or from SES
 * (a parameter name, a rejection message) cannot break the line: control
 * characters become '?'. A full buffer drops the whole line. */
static void __attribute__((format(printf, 2, 0)))
reply_v(sess_t *s, const char *fmt, va_list ap)
{
    size_t start = s->out.len;

    if (buf_vprintf(&s->out, fmt, ap) < 0)
        return;
    for (size_t i = start; i < s->out.len; i++)
        if ((unsigned char)s->out.data[i] < 0x20 || s->out.data[i] == 0x7f)
            s->out.data[i] = '?';
    if (buf_append(&s->out, "\r\n", 2) < 0) {
        s->out.len = start; /* no reply without its line end */
        s->out.data[start] = '\0';
    }
}

static void reply(sess_t *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_v(s, fmt, ap);
    va_end(ap);
}

static int wait_fd(sess_t *s, short events, int with_stop)
{
    struct pollfd p[2] = {{s->fd, events, 0}, {s->stop_fd, POLLIN, 0}};
    int n = with_stop && s->stop_fd >= 0 ? 2 : 1, rc;

    do
        rc = poll(p, (nfds_t)n, s->lim.timeout_ms > 0 ? s->lim.timeout_ms : -1);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return GL_IO;
    if (rc == 0)
        return GL_TIMEOUT;
    if (n == 2 && (p[1].revents & POLLIN) && !(p[0].revents & events))
        return GL_STOP;
    return GL_OK;
}

static int flush_out(sess_t *s)
{
    size_t off = 0;

    while (off < s->out.len) {
        ssize_t n = send(s->fd, s->out.data + off, s->out.len - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(s, POLLOUT, 0);
            if (rc != GL_OK)
                return rc;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EPIPE || errno == ECONNRESET ? GL_EOF : GL_IO;
        off += (size_t)n;
    }
    buf_reset(&s->out);
    return GL_OK;
}

/* Flushes the replies, then waits for input (or stop, when allowed). */
static int fill(sess_t *s, int allow_stop)
{
    ssize_t n;
    int rc;

    if ((rc = flush_out(s)) != GL_OK)
        return rc;
    if (s->r == s->w)
        s->r = s->w = 0;
    else if (s->r > 0) {
        memmove(s->in, s->in + s->r, s->w - s->r);
        s->w -= s->r;
        s->r = 0;
    }
    for (;;) {
        if ((rc = wait_fd(s, POLLIN, allow_stop)) != GL_OK)
            return rc;
        n = recv(s->fd, s->in + s->w, IN_SIZE - s->w, MSG_DONTWAIT);
        if (n < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (n < 0)
            return errno == ECONNRESET ? GL_EOF : GL_IO;
        if (n == 0)
            return GL_EOF;
        s->w += (size_t)n;
        return GL_OK;
    }
}

/* The next command line, CRLF (or bare LF) removed, NUL-terminated. */
static int get_line(sess_t *s, char **line, size_t *len, int allow_stop)
{
    for (;;) {
        char *start = s->in + s->r;
        char *nl = memchr(start, '\n', s->w - s->r);
        if (nl) {
            size_t n = (size_t)(nl - start) + 1;
            s->r += n;
            if (s->discarding || n > LMTP_MAX_LINE) {
                s->discarding = 0;
                return GL_TOO_LONG;
            }
            *nl = '\0';
            if (n >= 2 && nl[-1] == '\r')
                nl[-1] = '\0', n--;
            *line = start;
            *len = n - 1;
            return GL_OK;
        }
        if (s->w - s->r >= LMTP_MAX_LINE) {
            s->discarding = 1; /* drop what we have, keep looking for LF */
            s->r = s->w;
        }
        {
            int rc = fill(s, allow_stop);
            if (rc != GL_OK)
                return rc;
        }
    }
}

/* ---- the message ---- */

/* Streams DATA into sp until the end marker. 0, or a GL_* failure. A
 * spool write error is remembered in *spool_failed and the data is still
 * read to its end, so the session stays in step with the client. */
static int read_data(sess_t *s, spool_t *sp, int *spool_failed)
{
    enum { BOL, MID, DOT, DOTCR } st = BOL;

    for (;;) {
        char *p, *end;
        if (s->r == s->w) {
            int rc = fill(s, 0);
            if (rc != GL_OK)
                return rc;
        }
        p = s->in + s->r;
        end = s->in + s->w;
        while (p < end) {
            switch (st) {
            case MID: {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                char *stop = nl ? nl + 1 : end;
                if (!*spool_failed &&
                    spool_write(sp, p, (size_t)(stop - p)) < 0)
                    *spool_failed = 1;
                p = stop;
                if (nl)
                    st = BOL;
                break;
            }
            case BOL:
                if (*p == '.') {
                    st = DOT;
                    p++;
                } else
                    st = MID;
                break;
            case DOT:
                if (*p == '\r') {
                    st = DOTCR;
                    p++;
                } else if (*p == '\n') {
                    s->r = (size_t)(p + 1 - s->in);
                    return GL_OK;
                } else
                    st = MID; /* a stuffed dot: dropped */
                break;
            case DOTCR:
                if (*p == '\n') {
                    s->r = (size_t)(p + 1 - s->in);
                    return GL_OK;
                }
                if (!*spool_failed && spool_write(sp, "\r", 1) < 0)
                    *spool_failed = 1;
                st = MID;
                break;
            }
        }
        s->r = s->w;
    }
}

int lmtp_received_queue_id(const char *received, char *out, size_t outlen)
{
    const char *p = received;

    while ((p = strstr(p, "id")) != NULL) {
        const char *q = p + 2;
        size_t n = 0;
        if ((p == received || isspace((unsigned char)p[-1])) &&
            isspace((unsigned char)*q)) {
            while (isspace((unsigned char)*q))
                q++;
            while (isalnum((unsigned char)q[n]))
                n++;
            if (n >= 4 && n <= MAX_QID && n < outlen &&
                (q[n] == '\0' || q[n] == ';' || isspace((unsigned char)q[n]))) {
                memcpy(out, q, n);
                out[n] = '\0';
                return 0;
            }
        }
        p += 2;
    }
    return -1;
}

/* ---- the transaction ---- */

static void txn_reset(sess_t *s)
{
    free(s->sender);
    s->sender = NULL;
    for (size_t i = 0; i < s->nrcpts; i++)
        free(s->rcpts[i]);
    s->nrcpts = 0;
    s->in_txn = 0;
    s->smtputf8 = 0;
}

static void refresh_limits(sess_t *s)
{
    if (s->h->limits)
        s->h->limits(s->h->ud, &s->lim);
}

/* Takes the next "KEY[=VALUE]" parameter from *pp (space-separated). */
static int next_param(const char **pp, char *key, size_t klen, char *val,
                      size_t vlen)
{
    const char *p = *pp, *e = p + strcspn(p, " "), *eq;
    size_t kn, vn;

    if (p == e)
        return 0;
    eq = memchr(p, '=', (size_t)(e - p));
    kn = (size_t)((eq ? eq : e) - p);
    vn = eq ? (size_t)(e - eq - 1) : 0;
    if (kn >= klen || vn >= vlen)
        return -1;
    memcpy(key, p, kn);
    key[kn] = '\0';
    if (eq)
        memcpy(val, eq + 1, vn);
    val[vn] = '\0';
    while (*e == ' ')
        e++;
    *pp = e;
    return 1;
}

static void protocol_error(sess_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void protocol_error(sess_t *s, const char *fmt, ...)
{
    va_list ap;

    s->errors++;
    va_start(ap, fmt);
    reply_v(s, fmt, ap);
    va_end(ap);
}

static void cmd_lhlo(sess_t *s, const char *arg)
{
    if (*arg == '\0') {
        protocol_error(s, "501 5.5.4 Syntax: LHLO hostname");
        return;
    }
    txn_reset(s);
    s->xident[0] = '\0';
    refresh_limits(s);
    s->lhlo = 1;
    reply(s, "250-%s", s->lim.hostname);
    reply(s, "250-PIPELINING");
    reply(s, "250-SIZE %zu", s->lim.max_message);
    reply(s, "250-ENHANCEDSTATUSCODES");
    reply(s, "250-8BITMIME");
    reply(s, "250-SMTPUTF8");
    reply(s, "250 XFORWARD IDENT");
}

static void cmd_mail(sess_t *s, const char *arg)
{
    char addr[LMTP_MAX_ADDR + 1], key[32], val[64];
    const char *p = arg;
    int smtputf8 = 0, rc;
    addr_status_t ast;

    if (!s->lhlo) {
        protocol_error(s, "503 5.5.1 Error: send LHLO first");
        return;
    }
    if (s->in_txn) {
        protocol_error(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    if (!str_ihas_prefix(p, "FROM:")) {
        protocol_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
        return;
    }
    p += 5;
    if ((ast = addr_path(&p, addr, sizeof(addr))) != ADDR_OK) {
        protocol_error(s, ast == ADDR_TOO_LONG
                              ? "501 5.1.7 Sender address too long"
                              : "501 5.1.7 Bad sender address syntax");
        return;
    }
    refresh_limits(s);
    while ((rc = next_param(&p, key, sizeof(key), val, sizeof(val))) > 0) {
        if (strcasecmp(key, "SIZE") == 0) {
            char *end;
            unsigned long long n;
            errno = 0;
            n = strtoull(val, &end, 10);
            if (*val == '\0' || *end || errno) {
                protocol_error(s, "501 5.5.4 Bad SIZE parameter");
                return;
            }
            if (n > s->lim.max_message) {
                reply(s,
                      "552 5.3.4 Message size exceeds fixed limit of %zu "
                      "bytes",
                      s->lim.max_message);
                return;
            }
        } else if (strcasecmp(key, "BODY") == 0) {
            if (strcasecmp(val, "7BIT") && strcasecmp(val, "8BITMIME")) {
                protocol_error(s, "501 5.5.4 Unsupported BODY type");
                return;
            }
        } else if (strcasecmp(key, "SMTPUTF8") == 0 && *val == '\0')
            smtputf8 = 1;
        else {
            protocol_error(s, "555 5.5.4 Unsupported MAIL FROM parameter %s",
                           key);
            return;
        }
    }
    if (rc < 0) {
        protocol_error(s, "555 5.5.4 Malformed MAIL FROM parameter");
        return;
    }
    if ((s->sender = strdup(addr)) == NULL) {
        reply(s, "451 4.3.0 Out of memory");
        return;
    }
    s->in_txn = 1;
    s->smtputf8 = smtputf8;
    reply(s, "250 2.1.0 Ok");
}

static void cmd_rcpt(sess_t *s, const char *arg)
{
    char addr[LMTP_MAX_ADDR + 1];
    const char *p = arg;
    addr_status_t ast;

    if (!s->in_txn) {
        protocol_error(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (!str_ihas_prefix(p, "TO:")) {
        protocol_error(s, "501 5.5.4 Syntax: RCPT TO:<address>");
        return;
    }
    p += 3;
    if ((ast = addr_path(&p, addr, sizeof(addr))) != ADDR_OK ||
        addr[0] == '\0') {
        protocol_error(s, ast == ADDR_TOO_LONG
                              ? "501 5.1.3 Recipient address too long"
                              : "501 5.1.3 Bad recipient address syntax");
        return;
    }
    if (*p) {
        protocol_error(s, "555 5.5.4 Unsupported RCPT TO parameter");
        return;
    }
    if (s->nrcpts >= s->lim.max_rcpts) {
        reply(s, "452 4.5.3 Error: too many recipients");
        return;
    }
    if (s->nrcpts == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **n = realloc(s->rcpts, cap * sizeof(*n));
        if (n == NULL) {
            reply(s, "451 4.3.0 Out of memory");
            return;
        }
        s->rcpts = n;
        s->cap = cap;
    }
    if ((s->rcpts[s->nrcpts] = strdup(addr)) == NULL) {
        reply(s, "451 4.3.0 Out of memory");
        return;
    }
    s->nrcpts++;
    reply(s, "250 2.1.5 Ok");
}

/* DATA: reads the message, delivers, one reply per recipient. Returns a
 * GL_* code; anything but GL_OK ends the session undelivered. */
static int cmd_data(sess_t *s)
{
    spool_t *sp;
    lmtp_reply_t *rep;
    int failed = 0, rc;

    if (!s->in_txn) {
        protocol_error(s, "503 5.5.1 Error: need MAIL command");
        return GL_OK;
    }
    if (s->nrcpts == 0) {
        protocol_error(s, "503 5.5.1 Error: no valid recipients");
        return GL_OK;
    }
    sp = spool_new(s->lim.max_message, 0);
    rep = calloc(s->nrcpts, sizeof(*rep));
    if (sp == NULL || rep == NULL) {
        spool_free(sp);
        free(rep);
        reply(s, "451 4.3.0 Out of memory");
        txn_reset(s);
        return GL_OK;
    }
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
    if ((rc = read_data(s, sp, &failed)) != GL_OK)
        goto out;
    if (!failed && spool_finish(sp) < 0)
        failed = 1;
    for (size_t i = 0; i < s->nrcpts; i++)
        rep[i].status = ST_TEMP_UNKNOWN;
    if (failed) {
        for (size_t i = 0; i < s->nrcpts; i++) {
            rep[i].status = ST_TEMP_RESOURCE;
            str_copy(rep[i].text, "cannot spool the message",
                     sizeof(rep[i].text));
        }
    } else if (spool_too_large(sp)) {
        for (size_t i = 0; i < s->nrcpts; i++) {
            rep[i].status = ST_PERM_TOO_LARGE;
            snprintf(rep[i].text, sizeof(rep[i].text),
                     "Message size exceeds fixed limit of %zu bytes",
                     s->lim.max_message);
        }
    } else {
        char v[1024], qid[MAX_QID + 1];
        const char *q = NULL;
        if (spool_header(sp, "Received", v, sizeof(v)) &&
            lmtp_received_queue_id(v, qid, sizeof(qid)) == 0)
            q = qid;
        else if (s->xident[0])
            q = s->xident;
        lmtp_txn_t t = {s->sender, (const char *const *)s->rcpts,
                        s->nrcpts, q,
                        sp,        s->smtputf8 != 0};
        s->h->deliver(s->h->ud, &t, rep);
    }
    for (size_t i = 0; i < s->nrcpts; i++) {
        char line[LMTP_MAX_TEXT + 32];
        reply(s, "%s",
              status_reply(rep[i].status, rep[i].text, line, sizeof(line)));
    }
    s->xident[0] = '\0';
out:
    txn_reset(s);
    spool_free(sp);
    free(rep);
    return rc;
}

/* XFORWARD NAME=... IDENT=queueid ...: only IDENT is kept. */
static void cmd_xforward(sess_t *s, const char *arg)
{
    const char *p = arg;
    char key[32], val[256];
    int rc;

    if (s->in_txn) {
        protocol_error(s, "503 5.5.1 Error: XFORWARD inside a transaction");
        return;
    }
    while ((rc = next_param(&p, key, sizeof(key), val, sizeof(val))) > 0) {
        if (strcasecmp(key, "IDENT") == 0) {
            size_t n = strlen(val);
            s->xident[0] = '\0';
            if (n >= 4 && n <= MAX_QID &&
                strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "abcdefghijklmnopqrstuvwxyz"
                            "0123456789") == n)
                str_copy(s->xident, val, sizeof(s->xident));
        }
    }
    if (rc < 0 || *arg == '\0') {
        protocol_error(s, "501 5.5.4 Syntax: XFORWARD attribute=value...");
        return;
    }
    reply(s, "250 2.0.0 Ok");
}

static int stop_requested(sess_t *s)
{
    struct pollfd p = {s->stop_fd, POLLIN, 0};

    return s->stop_fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

lmtp_end_t lmtp_serve(int fd, int stop_fd, const lmtp_limits_t *lim,
                      const lmtp_handler_t *h)
{
    sess_t *s = calloc(1, sizeof(*s));
    lmtp_end_t end = LMTP_END_IO;

    if (s == NULL)
        return LMTP_END_IO;
    s->fd = fd;
    s->stop_fd = stop_fd;
    s->lim = *lim;
    s->h = h;
    buf_init(&s->out, MAX_OUT);
    reply(s, "220 %s LMTP ses-relay ready", s->lim.hostname);
    for (;;) {
        char *line, *arg;
        size_t len, vlen;
        int rc;

        if (s->errors >= LMTP_MAX_ERRORS) {
            reply(s, "421 4.7.0 %s Error: too many errors", s->lim.hostname);
            end = LMTP_END_ERRORS;
            break;
        }
        rc = get_line(s, &line, &len, !s->in_txn);
        if (rc == GL_TOO_LONG) {
            protocol_error(s, "500 5.5.2 Error: line too long");
            continue;
        }
        if (rc == GL_STOP) {
            reply(s, "421 4.3.2 %s Service shutting down", s->lim.hostname);
            end = LMTP_END_STOP;
            break;
        }
        if (rc != GL_OK) {
            end = rc == GL_EOF       ? LMTP_END_EOF
                  : rc == GL_TIMEOUT ? LMTP_END_TIMEOUT
                                     : LMTP_END_IO;
            if (rc == GL_TIMEOUT)
                reply(s, "421 4.4.2 %s Error: timeout exceeded",
                      s->lim.hostname);
            break;
        }
        if (memchr(line, '\0', len) != NULL) {
            protocol_error(s, "500 5.5.2 Error: NUL byte in command");
            continue;
        }
        vlen = strcspn(line, " ");
        arg = line + vlen;
        while (*arg == ' ')
            arg++;
        if (vlen == 4 && strncasecmp(line, "LHLO", 4) == 0)
            cmd_lhlo(s, arg);
        else if (vlen == 4 && strncasecmp(line, "MAIL", 4) == 0) {
            if (!s->in_txn && stop_requested(s)) {
                reply(s, "421 4.3.2 %s Service shutting down", s->lim.hostname);
                end = LMTP_END_STOP;
                break;
            }
            cmd_mail(s, arg);
        } else if (vlen == 4 && strncasecmp(line, "RCPT", 4) == 0)
            cmd_rcpt(s, arg);
        else if (vlen == 4 && strncasecmp(line, "DATA", 4) == 0 && !*arg) {
            if ((rc = cmd_data(s)) != GL_OK) {
                end = rc == GL_EOF       ? LMTP_END_EOF
                      : rc == GL_TIMEOUT ? LMTP_END_TIMEOUT
                                         : LMTP_END_IO;
                break;
            }
        } else if (vlen == 4 && strncasecmp(line, "RSET", 4) == 0) {
            txn_reset(s);
            reply(s, "250 2.0.0 Ok");
        } else if (vlen == 4 && strncasecmp(line, "NOOP", 4) == 0)
            reply(s, "250 2.0.0 Ok");
        else if (vlen == 4 && strncasecmp(line, "QUIT", 4) == 0) {
            reply(s, "221 2.0.0 Bye");
            end = LMTP_END_QUIT;
            break;
        } else if (vlen == 8 && strncasecmp(line, "XFORWARD", 8) == 0)
            cmd_xforward(s, arg);
        else if (vlen == 4 && strncasecmp(line, "VRFY", 4) == 0)
            reply(s, "252 2.5.2 Cannot VRFY user");
        else if (vlen == 4 && strncasecmp(line, "HELP", 4) == 0)
            reply(s, "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP "
                     "QUIT");
        else if (vlen == 4 && (strncasecmp(line, "HELO", 4) == 0 ||
                               strncasecmp(line, "EHLO", 4) == 0))
            protocol_error(s, "500 5.5.1 Error: this is LMTP, use LHLO");
        else
            protocol_error(s, "500 5.5.2 Error: command not recognized");
    }
    (void)flush_out(s);
    txn_reset(s);
    free(s->rcpts);
    buf_free(&s->out);
    free(s);
    return end;
}
