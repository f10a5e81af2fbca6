/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dsn.c - RFC 3464 delivery status notifications
 *
 * dsn_build() renders a bounce the way Postfix's bounce(8) does (the same
 * three parts, the same wording where it fits) from a dsn_t; dsn_send()
 * feeds it to sendmail(1) with the null sender.
 *
 * Every value from outside (addresses, diagnostic texts, header names and
 * values of the original message) goes through one cleaner: printable
 * ASCII only, no CR/LF, bounded length. The MIME boundary has 128 random
 * bits.
 *
 * DIAGNOSTICS
 *   See ses_dsn.h.
 */
#include "config.h"

#include "ses_addr.h"
#include "ses_dsn.h"
#include "ses_filecheck.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_VALUE 900 /* of a value on one line (RFC 5322: 998) */

/* Appends s reduced to printable ASCII on one line, at most max bytes. */
static int put_clean(buf_t *b, const char *s, size_t max)
{
    size_t n = 0;

    for (; s && *s && n < max; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (buf_putc(b, c == '\t' ? ' ' : (c < 0x20 || c > 0x7e) ? '?' : c) < 0)
            return -1;
    }
    return 0;
}

/* A header field name as RFC 5322 allows (printable, no colon/space). */
static int name_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (s[n] <= ' ' || s[n] > '~' || s[n] == ':' || n > 76)
            return 0;
    return n > 0;
}

const char *dsn_date(int64_t t, char *out, size_t outlen)
{
    return time_format_utc(t, "%a, %d %b %Y %H:%M:%S +0000", out, outlen);
}

static int put_field(buf_t *b, const char *name, const char *prefix,
                     const char *value)
{
    if (value == NULL || *value == '\0')
        return 0;
    return buf_printf(b, "%s: %s", name, prefix) < 0 ||
                   put_clean(b, value, LINE_MAX_VALUE) < 0 ||
                   buf_puts(b, "\n") < 0
               ? -1
               : 0;
}

static int put_date_field(buf_t *b, const char *name, int64_t t)
{
    char date[64];

    if (t <= 0)
        return 0;
    return buf_printf(b, "%s: %s\n", name, dsn_date(t, date, sizeof(date)));
}

/* "dsn; x" and "smtp; x" keep their type; a bare text gets one. */
static int put_typed(buf_t *b, const char *name, const char *type,
                     const char *value)
{
    const char *semi;

    if (value == NULL || *value == '\0')
        return 0;
    semi = strchr(value, ';');
    if (semi && semi - value < 16 &&
        strspn(value, "abcdefghijklmnopqrstuvwx"
                      "yzABCDEFGHIJKLMNOPQRSTUV"
                      "WXYZ0123456789-") == (size_t)(semi - value))
        return put_field(b, name, "", value);
    return buf_printf(b, "%s: %s; ", name, type) < 0 ||
                   put_clean(b, value, LINE_MAX_VALUE) < 0 ||
                   buf_puts(b, "\n") < 0
               ? -1
               : 0;
}

static int status_ok(const char *s)
{
    int a, b, c, n = 0;

    return s && sscanf(s, "%1d.%3d.%3d%n", &a, &b, &c, &n) == 3 &&
           s[n] == '\0' && (a == 2 || a == 4 || a == 5);
}

static int put_human(buf_t *b, const dsn_t *d)
{
    if (buf_puts(b, "This is the mail system at host ") < 0 ||
        put_clean(b, d->reporting_mta, 255) < 0 ||
        buf_puts(b, ".\n\n"
                    "I'm sorry to have to inform you that your message could "
                    "not\nbe delivered to one or more recipients. Its "
                    "headers are attached below.\n\n") < 0)
        return -1;
    if (d->explanation &&
        (put_clean(b, d->explanation, 2000) < 0 || buf_puts(b, "\n\n") < 0))
        return -1;
    if (buf_puts(b, "For further assistance, please send mail to "
                    "postmaster.\n\nIf you do so, please include this "
                    "problem report.\n\n                   The mail "
                    "system\n") < 0)
        return -1;
    for (size_t i = 0; i < d->nrcpts; i++) {
        const dsn_rcpt_t *r = &d->rcpts[i];
        if (buf_puts(b, "\n<") < 0 || put_clean(b, r->address, 320) < 0 ||
            buf_puts(b, ">: ") < 0)
            return -1;
        if (r->remote_mta &&
            (buf_puts(b, "host ") < 0 || put_clean(b, r->remote_mta, 255) < 0 ||
             buf_puts(b, " said: ") < 0))
            return -1;
        if (put_clean(b,
                      r->diagnostic ? r->diagnostic
                                    : "delivery failed after Amazon SES "
                                      "accepted the message",
                      LINE_MAX_VALUE) < 0 ||
            buf_puts(b, "\n") < 0)
            return -1;
    }
    return 0;
}

static int put_status(buf_t *b, const dsn_t *d)
{
    if (put_typed(b, "Reporting-MTA", "dns", d->reporting_mta) < 0 ||
        put_field(b, "X-Postfix-Queue-ID", "", d->queue_id) < 0 ||
        put_field(b, "X-SES-Message-ID", "", d->message_id) < 0 ||
        put_field(b, "Original-Envelope-Id", "", d->envid) < 0 ||
        put_date_field(b, "Arrival-Date", d->arrival) < 0)
        return -1;
    for (size_t i = 0; i < d->nrcpts; i++) {
        const dsn_rcpt_t *r = &d->rcpts[i];
        const char *st = status_ok(r->status) ? r->status
                         : d->permanent       ? "5.0.0"
                                              : "4.0.0";
        char mta[300];
        if (buf_puts(b, "\n") < 0 ||
            put_field(b, "Final-Recipient", "rfc822; ", r->address) < 0 ||
            buf_puts(b, "Action: failed\n") < 0 ||
            buf_printf(b, "Status: %s\n", st) < 0)
            return -1;
        if (r->remote_mta) {
            /* an address literal for an IP address, as Postfix writes */
            int ip = strspn(r->remote_mta, "0123456789.:abcdefABCDEF") ==
                         strlen(r->remote_mta) &&
                     strchr(r->remote_mta, ';') == NULL;
            snprintf(mta, sizeof(mta), ip ? "[%s]" : "%s", r->remote_mta);
            if (put_typed(b, "Remote-MTA", "dns", mta) < 0)
                return -1;
        }
        if (put_typed(b, "Diagnostic-Code", "smtp", r->diagnostic) < 0 ||
            put_date_field(b, "Last-Attempt-Date", r->last_attempt) < 0)
            return -1;
    }
    return 0;
}

static int put_headers(buf_t *b, const dsn_t *d)
{
    size_t n = 0;

    for (size_t i = 0; i < d->nheaders; i++) {
        const dsn_header_t *h = &d->headers[i];
        if (h->name == NULL || !name_ok(h->name))
            continue;
        if (buf_printf(b, "%s: ", h->name) < 0 ||
            put_clean(b, h->value, LINE_MAX_VALUE) < 0 || buf_puts(b, "\n") < 0)
            return -1;
        n++;
    }
    if (n == 0) /* SES did not pass them on: say what we know */
        if (put_field(b, "Subject", "", d->subject) < 0 ||
            put_field(b, "X-SES-Message-ID", "", d->message_id) < 0)
            return -1;
    return 0;
}

int dsn_build(const dsn_t *d, buf_t *out, char *err, size_t errlen)
{
    unsigned char rnd[16];
    char boundary[80], hex[33], date[64];
    buf_t b;

    if (d == NULL || d->nrcpts == 0 || !addr_safe(d->sender) ||
        d->reporting_mta == NULL || *d->reporting_mta == '\0') {
        snprintf(err, errlen, "nothing to report or no usable sender");
        return -1;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(err, errlen, "no random bytes for the MIME boundary");
        return -1;
    }
    hex_encode(rnd, sizeof(rnd), hex);
    snprintf(boundary, sizeof(boundary), "%s/%lld", hex, (long long)d->now);
    buf_init(&b, DSN_MAX_SIZE);
    if (buf_puts(&b, "From: MAILER-DAEMON@") < 0 ||
        put_clean(&b, d->reporting_mta, 255) < 0 ||
        buf_puts(&b, " (Mail Delivery System)\nSubject: Undelivered Mail "
                     "Returned to Sender\nTo: ") < 0 ||
        put_clean(&b, d->sender, 320) < 0 ||
        buf_printf(&b,
                   "\nAuto-Submitted: auto-replied\nDate: %s\n"
                   "Message-ID: <%s.%lld@",
                   dsn_date(d->now, date, sizeof(date)), hex,
                   (long long)d->now) < 0 ||
        put_clean(&b, d->reporting_mta, 255) < 0 ||
        buf_printf(&b,
                   ">\nMIME-Version: 1.0\nContent-Type: multipart/report; "
                   "report-type=delivery-status;\n\tboundary=\"%s\"\n"
                   "Content-Transfer-Encoding: 7bit\n\n"
                   "This is a MIME-encapsulated message.\n\n"
                   "--%s\nContent-Description: Notification\n"
                   "Content-Type: text/plain; charset=us-ascii\n\n",
                   boundary, boundary) < 0 ||
        put_human(&b, d) < 0 ||
        buf_printf(&b,
                   "\n--%s\nContent-Description: Delivery report\n"
                   "Content-Type: message/delivery-status\n\n",
                   boundary) < 0 ||
        put_status(&b, d) < 0 ||
        buf_printf(&b,
                   "\n--%s\nContent-Description: Undelivered Message "
                   "Headers\nContent-Type: text/rfc822-headers\n\n",
                   boundary) < 0 ||
        put_headers(&b, d) < 0 || buf_printf(&b, "\n--%s--\n", boundary) < 0) {
        buf_free(&b);
        snprintf(err, errlen, "DSN larger than %d bytes", DSN_MAX_SIZE);
        return -1;
    }
    buf_free(out);
    *out = b;
    return 0;
}

/* ---- injection ----------------------------------------------------- */

/* Writes msg to fd before the deadline, without dying of SIGPIPE. */
static int write_deadline(int fd, const char *msg, size_t len, int64_t deadline)
{
    sigset_t pipe_set, old;
    int rc = 0;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    while (len > 0) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        int64_t left = deadline - clock_mono_ms();
        ssize_t n;
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            if (left > 0 && errno == EINTR)
                continue;
            errno = ETIMEDOUT;
            rc = -1;
            break;
        }
        if ((n = write(fd, msg, len)) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            rc = -1;
            break;
        }
        msg += n;
        len -= (size_t)n;
    }
    if (rc < 0 && errno == EPIPE) {
        struct timespec zero = {0, 0};
        int saved = errno;
        sigtimedwait(&pipe_set, NULL, &zero); /* the one we caused */
        errno = saved;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Waits for pid until deadline; 0 when it is still running then. The
 * wait ends as the child exits (a pidfd, Linux 5.3 and later) rather than
 * at the next poll, which keeps short the time between sendmail taking a
 * DSN and the caller recording that it did. */
static pid_t wait_child(pid_t pid, int *status, int64_t deadline)
{
    int64_t pause_ms = 1;
    pid_t w;
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);

    if (fd >= 0) {
        while ((w = waitpid(pid, status, WNOHANG)) == 0) {
            struct pollfd p = {fd, POLLIN, 0};
            int64_t left = deadline - clock_mono_ms();
            if (left <= 0)
                break;
            poll(&p, 1, left > 60000 ? 60000 : (int)left);
        }
        close(fd);
        return w;
    }
#endif
    while ((w = waitpid(pid, status, WNOHANG)) == 0 &&
           clock_mono_ms() < deadline) {
        usleep((useconds_t)pause_ms * 1000);
        if (pause_ms < 20)
            pause_ms *= 2;
    }
    return w;
}

status_t dsn_send(const char *sendmail, const char *rcpt, const char *msg,
                  size_t len, int timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
    int fds[2] = {-1, -1}, status = 0, werr = 0;
    pid_t pid, w;

    if (!addr_safe(rcpt)) {
        snprintf(err, errlen, "refusing to pass recipient to sendmail");
        return ST_PERM_BAD_ADDRESS;
    }
    if (sendmail == NULL || *sendmail != '/') {
        snprintf(err, errlen, "Sendmail must be an absolute path");
        return ST_TEMP_CONFIG;
    }
    /* nobody else may choose what runs (a missing program is left to
     * execv() to report) */
    if (filecheck_writers(sendmail, NULL, geteuid(), err, errlen) ==
        FILECHECK_UNSAFE)
        return ST_TEMP_CONFIG;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return ST_TEMP_RESOURCE;
    }
    if ((pid = fork()) < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return ST_TEMP_RESOURCE;
    }
    if (pid == 0) {
        char *argv[] = {
            (char *)"sendmail", (char *)"-i", (char *)"-f", (char *)"<>",
            (char *)"--",       (char *)rcpt, NULL};
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(fds[0], STDIN_FILENO) < 0)
            _exit(EX_OSERR);
        execv(sendmail, argv);
        _exit(127);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    if (write_deadline(fds[1], msg, len, deadline) < 0)
        werr = errno;
    close(fds[1]);
    if ((w = wait_child(pid, &status, deadline)) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(err, errlen, "%s did not finish in time; killed", sendmail);
        return ST_TEMP_RESOURCE;
    }
    if (w < 0) {
        snprintf(err, errlen, "waitpid: %s", strerror(errno));
        return ST_TEMP_RESOURCE;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && werr == 0)
        return ST_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        snprintf(err, errlen, "cannot run %s", sendmail);
    else if (WIFEXITED(status))
        snprintf(err, errlen, "%s exited with status %d%s%s", sendmail,
                 WEXITSTATUS(status), werr ? " after a write error: " : "",
                 werr ? strerror(werr) : "");
    else
        snprintf(err, errlen, "%s killed by signal %d", sendmail,
                 WTERMSIG(status));
    return ST_TEMP_RESOURCE;
}
