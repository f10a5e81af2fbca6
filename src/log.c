/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - logging to syslog (facility mail) or stderr
 *
 * One formatting path (log_format) builds "qid: text", replaces registered
 * secrets with "[redacted]" and non-printable bytes with '?'; log_vmsg()
 * then hands the line to syslog(3) or writes it to stderr in one write(2)
 * prefixed with "ident[pid]: level: ", like Postfix in the foreground.
 *
 * DIAGNOSTICS
 *   None: a line that does not fit LOG_LINE_MAX is cut, never an error.
 */
#include "config.h"

#include "ses_log.h"
#include "ses_util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX    2048
#define LOG_SECRETS_MAX 16

static const char *log_ident = "ses-milter";
static int log_stderr = 1;
static int log_threshold = LOG_INFO;
static bool log_opened;
static int log_fd = STDERR_FILENO;

static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[LOG_SECRETS_MAX];
static size_t nsecrets;

void log_init(const char *ident, int to_stderr)
{
    log_ident = ident;
    log_stderr = to_stderr;
    if (!to_stderr && !log_opened) {
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
        log_opened = true;
    }
}

int log_init_file(const char *ident, const char *path)
{
    /* O_NONBLOCK: a FIFO put in its place must not hang the start */
    int fd = open(path,
                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
                      O_NOCTTY | O_CLOEXEC,
                  0640);
    struct stat st = {0};

    log_ident = ident;
    log_stderr = 1;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) < 0) {
        int e = errno;
        if (st.st_nlink != 1)
            e = EMLINK;
        if (!S_ISREG(st.st_mode))
            e = EINVAL;
        close(fd);
        errno = e;
        return -1;
    }
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_set_level(int level)
{
    log_threshold = level;
}

int log_get_level(void)
{
    return log_threshold;
}

int log_level_from_name(const char *name)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"error", LOG_ERR},
                  {"warning", LOG_WARNING},
                  {"notice", LOG_NOTICE},
                  {"info", LOG_INFO},
                  {"debug", LOG_DEBUG}};

    for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
        if (str_iequal(name, levels[i].name))
            return levels[i].level;
    return -1;
}

void log_secret_add(const char *secret)
{
    if (secret == NULL || strlen(secret) < 6)
        return;
    pthread_mutex_lock(&secret_lock);
    for (size_t i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            goto out;
    if (nsecrets == LOG_SECRETS_MAX) { /* oldest first out */
        secure_zero(secrets[0], strlen(secrets[0]));
        free(secrets[0]);
        memmove(secrets, secrets + 1, (LOG_SECRETS_MAX - 1) * sizeof(*secrets));
        nsecrets--;
    }
    if ((secrets[nsecrets] = strdup(secret)) != NULL)
        nsecrets++;
out:
    pthread_mutex_unlock(&secret_lock);
}

void log_secret_clear(void)
{
    pthread_mutex_lock(&secret_lock);
    for (size_t i = 0; i < nsecrets; i++) {
        secure_zero(secrets[i], strlen(secrets[i]));
        free(secrets[i]);
    }
    nsecrets = 0;
    pthread_mutex_unlock(&secret_lock);
}

/* Appends n bytes of src to dst (room bytes in all), cutting at the end. */
static size_t put(char *dst, size_t off, size_t room, const char *src, size_t n)
{
    if (off + n >= room)
        n = room - 1 - off;
    memcpy(dst + off, src, n);
    return off + n;
}

/* Replaces every registered secret in line (size bytes of room) with
 * "[redacted]", and a tail that begins a secret (the line was cut in the
 * middle of one) too. */
static void scrub(char *line, size_t size)
{
    static const char mark[] = "[redacted]";
    char tmp[LOG_LINE_MAX + 128];
    size_t room = size < sizeof(tmp) ? size : sizeof(tmp);

    pthread_mutex_lock(&secret_lock);
    for (size_t i = 0; i < nsecrets; i++) {
        const char *sec = secrets[i], *p = line, *hit;
        size_t sl = strlen(sec), off = 0, len;

        if (strstr(line, sec) != NULL) {
            while ((hit = strstr(p, sec)) != NULL) {
                off = put(tmp, off, room, p, (size_t)(hit - p));
                off = put(tmp, off, room, mark, sizeof(mark) - 1);
                p = hit + sl;
            }
            off = put(tmp, off, room, p, strlen(p));
            tmp[off] = '\0';
            memcpy(line, tmp, off + 1);
        }
        len = strlen(line);
        for (size_t k = sl - 1; k >= 4; k--)
            if (len >= k && strncmp(line + len - k, sec, k) == 0) {
                str_copy(line + len - k, mark, size - (len - k));
                break;
            }
    }
    pthread_mutex_unlock(&secret_lock);
}

void log_format(char *out, size_t outlen, const char *qid, const char *fmt,
                va_list ap)
{
    size_t off = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (qid && *qid) {
        int n = snprintf(out, outlen, "%s: ", qid);
        off = n > 0 && (size_t)n < outlen ? (size_t)n : 0;
    }
    vsnprintf(out + off, outlen - off, fmt, ap);
    scrub(out, outlen);
    str_sanitize(out);
}

const char *log_redact(const char *s, char *out, size_t outlen)
{
    size_t n;

    if (s == NULL) {
        str_copy(out, "(none)", outlen);
        return out;
    }
    n = strlen(s);
    if (n <= 8)
        str_copy(out, "****", outlen);
    else
        snprintf(out, outlen, "%.4s...%s", s, s + n - 4);
    return out;
}

void log_vmsg(int prio, const char *qid, const char *fmt, va_list ap)
{
    static const char *const names[] = {"panic", "fatal",   "critical",
                                        "error", "warning", "notice",
                                        "info",  "debug"};
    char line[LOG_LINE_MAX], out[LOG_LINE_MAX + 128], stamp[32];
    int n;

    if (prio > log_threshold)
        return;
    log_format(line, sizeof(line), qid, fmt, ap);
    if (!log_stderr) {
        syslog(prio, "%s", line);
        return;
    }
    stamp[0] = '\0';
    if (log_fd != STDERR_FILENO) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S ", &tm);
    }
    if (prio == LOG_INFO || prio == LOG_DEBUG || prio == LOG_NOTICE)
        n = snprintf(out, sizeof(out), "%s%s[%ld]: %s\n", stamp, log_ident,
                     (long)getpid(), line);
    else
        n = snprintf(out, sizeof(out), "%s%s[%ld]: %s: %s\n", stamp, log_ident,
                     (long)getpid(), names[prio & 7], line);
    if (n > 0)
        (void)write_all(log_fd, out,
                        (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

void log_msg(int prio, const char *qid, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(prio, qid, fmt, ap);
    va_end(ap);
}

void log_lines(int prio, const char *qid, const char *prefix, const char *text,
               const char *suffix)
{
    const char *p = text, *nl;

    do {
        nl = strchr(p, '\n');
        log_msg(prio, qid, "%s%.*s%s", prefix,
                (int)(nl ? (size_t)(nl - p) : strlen(p)), p, suffix);
        p = nl ? nl + 1 : NULL;
    } while (p && *p);
}
