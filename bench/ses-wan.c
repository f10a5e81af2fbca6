/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses-wan - an SES-shaped server for the WAN benchmark (bench/wan.sh):
 * the SESv2 HTTPS API or the SES SMTP interface, answering after a fixed
 * service latency
 *
 * ses-wan -m https|smtp -l ADDRESS:PORT -c CERT -k KEY [-d LATENCY_MS]
 *         [-u USER:PASSWORD] [-P]
 *
 * https: TLS from the first byte (TLS 1.2 or newer, no ALPN, so HTTP/1.1),
 *   keep-alive. A request must carry Content-Length (libcurl's do); its
 *   body is counted, not kept. LATENCY_MS after the last byte of a
 *   request it answers POST /v2/email/outbound-emails with 200 and
 *   {"MessageId":...} as SESv2 SendEmail does, anything else with 404.
 * smtp: SES's submission dialogue on a plain connection: banner, EHLO
 *   (8BITMIME, STARTTLS, AUTH PLAIN LOGIN, and no PIPELINING, like
 *   email-smtp.REGION.amazonaws.com; -P adds PIPELINING), STARTTLS, AUTH
 *   PLAIN or LOGIN checked against USER:PASSWORD (default
 *   bench:bench-secret), MAIL, RCPT, DATA, RSET, NOOP, QUIT. AUTH and
 *   MAIL need TLS and authentication first, as SES's do. The "250 Ok"
 *   after the final dot comes LATENCY_MS after that dot; every other
 *   command is answered at once.
 *
 * One thread, epoll, non-blocking OpenSSL, TCP_NODELAY, and every answer
 * written in one write (one TLS record), so the server is not what limits
 * a benchmark: held answers wait in one FIFO (the latency is the same for
 * all) behind one timerfd.
 *
 * Output: "ready" on stdout once listening; on SIGUSR1 and, before
 * exiting, on SIGTERM or SIGINT, one line of totals "answered N errors E
 * connections C handshakes H tls13 T": N sends accepted (200 answers, 250
 * after DATA); E refused commands and requests, failed authentications
 * and TLS handshakes, connections dropped for oversized input; C
 * connections accepted; H TLS handshakes completed, T of them TLS 1.3.
 *
 * DIAGNOSTICS
 *   "ses-wan: ..." on stderr; exit 1 when it cannot listen or load the
 *   certificate, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX        (64 * 1024) /* unparsed input kept per connection */
#define OUT_MAX       2048        /* one answer */
#define SMTP_LINE_MAX 2048        /* an SMTP command line */
#define HOSTNAME      "email-smtp.amazonaws.com"

enum { MODE_HTTPS, MODE_SMTP };
enum { AUTH_NONE, AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

typedef struct conn conn_t;
struct conn {
    int fd;
    SSL *ssl;
    bool handshaking; /* SSL_accept not finished */
    bool closing;     /* close once the output is written */
    bool want_out;    /* EPOLLOUT requested */
    bool waiting;     /* the answer in out is held until due_ns */
    bool starttls;    /* start TLS once the output is written */
    char in[IN_MAX];
    size_t in_len;
    char out[OUT_MAX];
    size_t out_len, out_off;
    uint64_t due_ns;
    conn_t *q_next, *q_prev; /* the FIFO of held answers */
    /* https */
    bool in_body, http_close;
    size_t body_left;
    int status;
    /* smtp */
    bool authed, has_mail, has_rcpt, in_data;
    int auth_step;
    unsigned dot; /* progress through CR LF . CR LF */
    char login_user[256];
};

static int mode = MODE_HTTPS, ep_fd, timer_fd;
static uint64_t latency_ns = 30000000u, answered, errors, connections,
                handshakes, tls13;
static bool pipelining;
static const char *auth_user = "bench", *auth_pass = "bench-secret";
static SSL_CTX *ctx;
static conn_t *q_head, *q_tail;
static uint64_t armed_ns;
static volatile sig_atomic_t want_stats, stop;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        want_stats = 1;
    else
        stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ep_set(conn_t *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u),
                             .data.ptr = c};

    if (c->want_out != out) {
        epoll_ctl(ep_fd, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = out;
    }
}

static void q_remove(conn_t *c)
{
    if (c->q_prev)
        c->q_prev->q_next = c->q_next;
    else if (q_head == c)
        q_head = c->q_next;
    if (c->q_next)
        c->q_next->q_prev = c->q_prev;
    else if (q_tail == c)
        q_tail = c->q_prev;
    c->q_next = c->q_prev = NULL;
}

static void conn_close(conn_t *c)
{
    if (c->waiting)
        q_remove(c);
    if (c->ssl)
        SSL_free(c->ssl);
    close(c->fd);
    free(c);
}

static void reply(conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reply(conn_t *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->out + c->out_len, OUT_MAX - c->out_len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < OUT_MAX - c->out_len)
        c->out_len += (size_t)n;
}

/* A refused command or request: counted as an error. */
static void refuse(conn_t *c, const char *text)
{
    errors++;
    reply(c, "%s", text);
}

/* Holds the answer in out for the latency: it is written when due. */
static void hold(conn_t *c)
{
    if (latency_ns == 0)
        return;
    c->waiting = true;
    c->due_ns = now_ns() + latency_ns;
    c->q_prev = q_tail;
    c->q_next = NULL;
    if (q_tail)
        q_tail->q_next = c;
    else
        q_head = c;
    q_tail = c;
}

static bool tls_start(conn_t *c)
{
    if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return false;
    SSL_set_accept_state(c->ssl);
    c->handshaking = true;
    return true;
}

/* Writes what out holds. Returns false when the connection is gone. */
static bool conn_flush(conn_t *c)
{
    while (c->out_off < c->out_len) {
        size_t left = c->out_len - c->out_off;
        ssize_t n;

        if (c->ssl) {
            int r = SSL_write(c->ssl, c->out + c->out_off, (int)left);

            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);

                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    ep_set(c, true);
                    return true;
                }
                conn_close(c);
                return false;
            }
            n = r;
        } else if ((n = send(c->fd, c->out + c->out_off, left, MSG_NOSIGNAL)) <
                   0) {
            if (errno == EAGAIN || errno == EINTR) {
                ep_set(c, true);
                return true;
            }
            conn_close(c);
            return false;
        }
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    ep_set(c, false);
    if (c->closing) {
        conn_close(c);
        return false;
    }
    if (c->starttls) {
        c->starttls = false;
        c->in_len = 0; /* RFC 3207: plaintext sent after STARTTLS is void */
        if (!tls_start(c)) {
            conn_close(c);
            return false;
        }
    }
    return true;
}

/* ---- https ---- */

/* Parses one request's head in in[0..len). Returns its length, 0 when it
 * is not complete, -1 when it is malformed or too long. */
static long http_head(conn_t *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4), *line, *next;
    char method[16], path[256], *version;
    size_t head_len;
    bool have_len = false;

    if (end == NULL)
        return c->in_len >= IN_MAX ? -1 : 0;
    head_len = (size_t)(end - c->in) + 4;
    *end = '\0';
    if (sscanf(c->in, "%15s %255s", method, path) != 2 ||
        (version = strstr(c->in, " HTTP/1.")) == NULL)
        return -1;
    c->body_left = 0;
    c->http_close = version[8] == '0'; /* HTTP/1.0: no keep-alive */
    for (line = strstr(c->in, "\r\n"); line; line = next) {
        line += 2;
        next = strstr(line, "\r\n");
        if (next)
            *next = '\0';
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            char *e;
            unsigned long long v = strtoull(line + 15, &e, 10);

            if (e == line + 15 || v > 64u * 1024 * 1024)
                return -1;
            c->body_left = (size_t)v;
            have_len = true;
        } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            return -1; /* chunked bodies are not needed here */
        } else if (strncasecmp(line, "Connection:", 11) == 0) {
            c->http_close = strcasestr(line + 11, "close") != NULL;
        }
    }
    c->status = strcmp(method, "POST") == 0 &&
                        strcmp(path, "/v2/email/outbound-emails") == 0 &&
                        have_len
                    ? 200
                    : 404;
    return (long)head_len;
}

static void http_answer(conn_t *c)
{
    static unsigned seq;
    char body[160];
    int blen;

    seq++;
    if (c->status == 200) {
        blen = snprintf(body, sizeof(body),
                        "{\"MessageId\":\"0100018c%08x-5e5a4e7b-bench-"
                        "wan0-%012u-000000\"}",
                        seq, seq);
        answered++;
    } else {
        blen =
            snprintf(body, sizeof(body), "{\"message\":\"Unknown operation\"}");
        errors++;
    }
    reply(c,
          "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
          "Content-Length: %d\r\nx-amzn-RequestId: 5e5a4e7b-%04x-4000-8000-"
          "%012u\r\n%s\r\n%s",
          c->status, c->status == 200 ? "OK" : "Not Found", blen, seq & 0xffff,
          seq, c->http_close ? "Connection: close\r\n" : "", body);
    if (c->http_close)
        c->closing = true;
    hold(c);
}

/* Consumes what it can of in; returns the bytes used (0: wait for more). */
static size_t http_step(conn_t *c)
{
    long head;

    if (c->in_body) {
        size_t n = c->in_len < c->body_left ? c->in_len : c->body_left;

        c->body_left -= n;
        if (c->body_left == 0) {
            c->in_body = false;
            http_answer(c);
        }
        return n;
    }
    if ((head = http_head(c)) < 0) {
        errors++;
        reply(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n");
        c->closing = true;
        return c->in_len;
    }
    if (head == 0)
        return 0;
    if (c->body_left == 0)
        http_answer(c);
    else
        c->in_body = true;
    return (size_t)head;
}

/* ---- smtp ---- */

static bool auth_check(const char *user, const char *pass)
{
    return strcmp(user, auth_user) == 0 && strcmp(pass, auth_pass) == 0;
}

/* Decodes base64 IN into OUT (NUL-terminated); returns the length or -1. */
static int b64_decode(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in);
    int n;

    if (len == 0 || len % 4 != 0 || len / 4 * 3 + 1 > outlen)
        return -1;
    if ((n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in,
                             (int)len)) < 0)
        return -1;
    n -= (in[len - 1] == '=') + (len > 1 && in[len - 2] == '=');
    out[n] = '\0';
    return n;
}

static void auth_done(conn_t *c, bool ok)
{
    c->auth_step = AUTH_NONE;
    if (ok) {
        c->authed = true;
        reply(c, "235 Authentication successful.\r\n");
    } else {
        refuse(c, "535 Authentication Credentials Invalid\r\n");
    }
}

static void auth_plain(conn_t *c, const char *b64)
{
    char buf[600], *user, *pass;
    int n = b64_decode(b64, buf, sizeof(buf));

    /* authzid NUL authcid NUL password */
    if (n < 0 || (user = memchr(buf, '\0', (size_t)n)) == NULL ||
        (pass = memchr(user + 1, '\0', (size_t)(buf + n - user - 1))) == NULL) {
        auth_done(c, false);
        return;
    }
    auth_done(c, auth_check(user + 1, pass + 1));
}

static void smtp_auth_line(conn_t *c, const char *line)
{
    char buf[600];

    if (strcmp(line, "*") == 0) {
        c->auth_step = AUTH_NONE;
        refuse(c, "501 Authentication cancelled\r\n");
    } else if (c->auth_step == AUTH_PLAIN) {
        auth_plain(c, line);
    } else if (c->auth_step == AUTH_LOGIN_USER) {
        if (b64_decode(line, c->login_user, sizeof(c->login_user)) < 0) {
            auth_done(c, false);
            return;
        }
        c->auth_step = AUTH_LOGIN_PASS;
        reply(c, "334 UGFzc3dvcmQ6\r\n");
    } else {
        auth_done(c, b64_decode(line, buf, sizeof(buf)) >= 0 &&
                         auth_check(c->login_user, buf));
    }
}

static void smtp_command(conn_t *c, char *line)
{
    char *arg = strchr(line, ' ');

    if (c->auth_step != AUTH_NONE) {
        smtp_auth_line(c, line);
        return;
    }
    if (arg)
        *arg++ = '\0';
    if (strcasecmp(line, "EHLO") == 0) {
        c->has_mail = c->has_rcpt = false;
        reply(c,
              "250-" HOSTNAME "\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n%s%s"
              "250-AUTH PLAIN LOGIN\r\n250 Ok\r\n",
              pipelining ? "250-PIPELINING\r\n" : "",
              c->ssl ? "" : "250-STARTTLS\r\n");
    } else if (strcasecmp(line, "HELO") == 0) {
        c->has_mail = c->has_rcpt = false;
        reply(c, "250 " HOSTNAME "\r\n");
    } else if (strcasecmp(line, "STARTTLS") == 0) {
        if (c->ssl) {
            refuse(c, "503 TLS already active\r\n");
            return;
        }
        reply(c, "220 Ready to start TLS\r\n");
        c->starttls = true;
    } else if (strcasecmp(line, "AUTH") == 0) {
        char *ir = arg ? strchr(arg, ' ') : NULL;

        if (ir)
            *ir++ = '\0';
        if (!c->ssl) {
            refuse(c, "530 Must issue a STARTTLS command first\r\n");
        } else if (c->authed) {
            refuse(c, "503 Already authenticated\r\n");
        } else if (arg && strcasecmp(arg, "PLAIN") == 0) {
            if (ir) {
                auth_plain(c, ir);
            } else {
                c->auth_step = AUTH_PLAIN;
                reply(c, "334 \r\n");
            }
        } else if (arg && strcasecmp(arg, "LOGIN") == 0) {
            c->auth_step = AUTH_LOGIN_USER;
            if (ir)
                smtp_auth_line(c, ir);
            else
                reply(c, "334 VXNlcm5hbWU6\r\n");
        } else {
            refuse(c, "504 Unrecognized authentication type\r\n");
        }
    } else if (strcasecmp(line, "MAIL") == 0) {
        c->has_rcpt = false;
        if ((c->has_mail = c->ssl != NULL && c->authed))
            reply(c, "250 Ok\r\n");
        else
            refuse(c, "530 Authentication required\r\n");
    } else if (strcasecmp(line, "RCPT") == 0) {
        if ((c->has_rcpt = c->has_mail))
            reply(c, "250 Ok\r\n");
        else
            refuse(c, "503 Error: need MAIL command\r\n");
    } else if (strcasecmp(line, "DATA") == 0) {
        if ((c->in_data = c->has_rcpt)) {
            c->dot = 2; /* the data starts at the beginning of a line */
            reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
        } else {
            refuse(c, "503 Error: need RCPT command\r\n");
        }
    } else if (strcasecmp(line, "RSET") == 0) {
        c->has_mail = c->has_rcpt = false;
        reply(c, "250 Ok\r\n");
    } else if (strcasecmp(line, "NOOP") == 0) {
        reply(c, "250 Ok\r\n");
    } else if (strcasecmp(line, "QUIT") == 0) {
        reply(c, "221 Bye\r\n");
        c->closing = true;
    } else {
        refuse(c, "502 Command not implemented\r\n");
    }
}

/* Scans message data for CR LF . CR LF; returns the bytes used. */
static size_t smtp_data(conn_t *c)
{
    static unsigned seq;
    size_t i;

    for (i = 0; i < c->in_len; i++) {
        char b = c->in[i];

        switch (c->dot) {
        case 0:
            c->dot = b == '\r';
            break;
        case 1:
            c->dot = b == '\n' ? 2 : b == '\r';
            break;
        case 2:
            c->dot = b == '.' ? 3 : b == '\r';
            break;
        case 3:
            c->dot = b == '\r' ? 4 : 0;
            break;
        default:
            if (b == '\n') {
                c->in_data = c->has_mail = c->has_rcpt = false;
                answered++;
                seq++;
                reply(c,
                      "250 Ok 0100018c%08x-5e5a4e7b-bench-wan0-%012u-"
                      "000000\r\n",
                      seq, seq);
                hold(c);
                return i + 1;
            }
            c->dot = b == '\r';
        }
    }
    return i;
}

static size_t smtp_step(conn_t *c)
{
    char *nl, line[SMTP_LINE_MAX];
    size_t len;

    if (c->in_data)
        return smtp_data(c);
    nl = memchr(c->in, '\n', c->in_len);
    len = nl ? (size_t)(nl - c->in) : c->in_len;
    if (len >= SMTP_LINE_MAX) {
        refuse(c, "500 Line too long\r\n");
        c->closing = true;
        return c->in_len;
    }
    if (nl == NULL)
        return 0;
    memcpy(line, c->in, len);
    line[len > 0 && line[len - 1] == '\r' ? len - 1 : len] = '\0';
    smtp_command(c, line);
    return len + 1;
}

/* ---- the connection ---- */

/* Handles what in holds, as far as no answer is held. Returns false when
 * the connection is gone. */
static bool conn_process(conn_t *c)
{
    while (!c->waiting && !c->closing && !c->starttls && c->in_len > 0) {
        size_t used = mode == MODE_HTTPS ? http_step(c) : smtp_step(c);

        if (used == 0)
            break;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
    if (!c->waiting && c->out_len > 0)
        return conn_flush(c);
    return true;
}

static void conn_readable(conn_t *c)
{
    if (c->handshaking) {
        int r = SSL_accept(c->ssl), e;

        if (r != 1) {
            e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                ep_set(c, e == SSL_ERROR_WANT_WRITE);
                return;
            }
            errors++;
            conn_close(c);
            return;
        }
        c->handshaking = false;
        handshakes++;
        if (SSL_version(c->ssl) == TLS1_3_VERSION)
            tls13++;
        ep_set(c, false);
    }
    for (;;) {
        size_t room = IN_MAX - c->in_len;
        ssize_t n;

        if (room == 0) {
            if (c->waiting || c->starttls) {
                errors++; /* a client that does not wait for answers */
                conn_close(c);
                return;
            }
            if (!conn_process(c))
                return;
            if (c->in_len == IN_MAX) {
                errors++;
                conn_close(c);
                return;
            }
            continue;
        }
        if (c->ssl) {
            int r = SSL_read(c->ssl, c->in + c->in_len, (int)room);

            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);

                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    break;
                conn_close(c);
                return;
            }
            n = r;
        } else if ((n = recv(c->fd, c->in + c->in_len, room, 0)) <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            conn_close(c);
            return;
        }
        c->in_len += (size_t)n;
        if (!c->ssl && mode == MODE_SMTP)
            break; /* one plaintext read: STARTTLS may follow */
    }
    conn_process(c);
}

static void conn_writable(conn_t *c)
{
    if (c->handshaking) {
        conn_readable(c);
        return;
    }
    if (!c->waiting && conn_flush(c))
        conn_process(c);
}

static void accept_all(int lfd)
{
    int fd, one = 1;

    while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        conn_t *c = calloc(1, sizeof(*c));
        struct epoll_event ev = {.events = EPOLLIN};

        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        connections++;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        ev.data.ptr = c;
        if (epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            continue;
        }
        if (mode == MODE_HTTPS) {
            if (!tls_start(c))
                conn_close(c);
        } else {
            reply(c, "220 " HOSTNAME " ESMTP SimpleEmailService-bench\r\n");
            conn_flush(c);
        }
    }
}

/* Writes the held answers that are due and arms the timer for the next. */
static void release_due(void)
{
    uint64_t now = now_ns();

    while (q_head && q_head->due_ns <= now) {
        conn_t *c = q_head;

        q_remove(c);
        c->waiting = false;
        if (conn_flush(c))
            conn_process(c);
    }
    if (q_head && q_head->due_ns != armed_ns) {
        struct itimerspec its = {0};

        armed_ns = q_head->due_ns;
        its.it_value.tv_sec = (time_t)(armed_ns / 1000000000u);
        its.it_value.tv_nsec = (long)(armed_ns % 1000000000u);
        timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
    }
}

static int listen_on(const char *spec)
{
    char host[256], *port;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST},
                    *ai;
    int fd, one = 1;

    if (strlen(spec) >= sizeof(host) ||
        (port = strrchr(strcpy(host, spec), ':')) == NULL) {
        fprintf(stderr, "ses-wan: -l wants ADDRESS:PORT\n");
        return -1;
    }
    *port++ = '\0';
    if (getaddrinfo(host, port, &hints, &ai) != 0) {
        fprintf(stderr, "ses-wan: bad address %s\n", spec);
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "ses-wan: cannot listen on %s: %s\n", spec,
                strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void stats_print(void)
{
    printf("answered %llu errors %llu connections %llu handshakes %llu "
           "tls13 %llu\n",
           (unsigned long long)answered, (unsigned long long)errors,
           (unsigned long long)connections, (unsigned long long)handshakes,
           (unsigned long long)tls13);
    fflush(stdout);
}

static void usage(void)
{
    fprintf(stderr, "usage: ses-wan -m https|smtp -l ADDRESS:PORT -c CERT "
                    "-k KEY [-d LATENCY_MS] [-u USER:PASSWORD] [-P]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *listen_spec = NULL, *cert = NULL, *key = NULL;
    struct sigaction sa = {.sa_handler = on_signal};
    struct epoll_event ev = {.events = EPOLLIN}, evs[64];
    int c, lfd;
    char *colon;

    while ((c = getopt(argc, argv, "m:l:c:k:d:u:P")) != -1) {
        switch (c) {
        case 'm':
            if (strcmp(optarg, "https") == 0)
                mode = MODE_HTTPS;
            else if (strcmp(optarg, "smtp") == 0)
                mode = MODE_SMTP;
            else
                usage();
            break;
        case 'l':
            listen_spec = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'd':
            latency_ns = strtoull(optarg, NULL, 10) * 1000000u;
            break;
        case 'u':
            if ((colon = strchr(optarg, ':')) == NULL)
                usage();
            *colon = '\0';
            auth_user = optarg;
            auth_pass = colon + 1;
            break;
        case 'P':
            pipelining = true;
            break;
        default:
            usage();
        }
    }
    if (listen_spec == NULL || cert == NULL || key == NULL)
        usage();
    signal(SIGPIPE, SIG_IGN);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "ses-wan: cannot load %s and %s: ", cert, key);
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);

    if ((lfd = listen_on(listen_spec)) < 0)
        return 1;
    ep_fd = epoll_create1(EPOLL_CLOEXEC);
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    ev.data.ptr = &lfd;
    epoll_ctl(ep_fd, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.ptr = &timer_fd;
    epoll_ctl(ep_fd, EPOLL_CTL_ADD, timer_fd, &ev);
    printf("ready\n");
    fflush(stdout);

    while (!stop) {
        int n = epoll_wait(ep_fd, evs, 64, -1);

        if (want_stats) {
            want_stats = 0;
            stats_print();
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &lfd) {
                accept_all(lfd);
            } else if (evs[i].data.ptr == &timer_fd) {
                uint64_t ticks;

                if (read(timer_fd, &ticks, sizeof(ticks)) < 0)
                    (void)0; /* nothing to do: release_due() checks */
                armed_ns = 0;
            } else {
                conn_t *cn = evs[i].data.ptr;

                /* one event per connection per round: a close in the
                 * read handler must not be followed by a write */
                if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                    conn_readable(cn);
                else if (evs[i].events & EPOLLOUT)
                    conn_writable(cn);
            }
        }
        release_due();
    }
    stats_print();
    return 0;
}
