/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * util.c - small helpers shared by every module
 *
 * Growable bounded buffers (buf_*), string helpers (str_*), the size and
 * duration parsers of the configuration file, clocks (and the boot id that
 * makes monotonic times shareable), files shared in DataDirectory,
 * secure_zero().
 *
 * DIAGNOSTICS
 *   See ses_util.h: buffers report -1 when full, parsers -1 when malformed.
 */
#include "config.h"

#include "ses_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void buf_init(buf_t *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

static int buf_reserve(buf_t *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - b->len - 1)
        return -1;
    need = b->len + extra + 1;
    if (b->limit && need > b->limit + 1)
        return -1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->limit && cap > b->limit + 1)
        cap = b->limit + 1;
    if ((p = realloc(b->data, cap)) == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf_t *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) < 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(buf_t *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *buf_steal(buf_t *b)
{
    char *p = b->data;

    if (p == NULL)
        p = str_dup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_free(buf_t *b)
{
    if (b == NULL)
        return;
    if (b->data)
        secure_zero(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (size) {
        size_t m = n < size - 1 ? n : size - 1;
        memcpy(dst, src, m);
        dst[m] = '\0';
    }
    return n;
}

size_t str_appendf(char *out, size_t outlen, size_t off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (off >= outlen)
        return off;
    va_start(ap, fmt);
    n = vsnprintf(out + off, outlen - off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return off;
    return (size_t)n < outlen - off ? off + (size_t)n : outlen;
}

char *str_trim(char *s)
{
    char *e;

    while (*s && isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

bool str_iequal(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ihas_prefix(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

void str_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

char *str_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Iterative glob with backtracking to the last '*': linear in practice and
 * never recursive, so a hostile pattern cannot blow the stack. */
bool str_glob(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' ||
                   tolower((unsigned char)*p) == tolower((unsigned char)*s)) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

void str_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

int str_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    str_sanitize(err);
    return -1;
}

int64_t time_parse_iso8601(const char *s)
{
    struct tm tm;
    const char *p;
    int64_t t;
    int off = 0, n = 0;

    if (s == NULL)
        return -1;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 ||
        tm.tm_year < 1970)
        return -1;
    p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if ((*p == 'Z' && p[1] == '\0') || strcmp(p, "UTC") == 0) {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
               strspn(p + 1, "0123456789") == 2 &&
               strspn(p + 4, "0123456789") == 2) {
        int hh = (p[1] - '0') * 10 + (p[2] - '0');
        int mm = (p[4] - '0') * 10 + (p[5] - '0');
        if (hh > 23 || mm > 59)
            return -1;
        off = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if ((t = (int64_t)timegm(&tm)) == -1)
        return -1;
    return t - off;
}

const char *time_format_utc(int64_t t, const char *fmt, char *out,
                            size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;
    size_t n = 0;

    if (gmtime_r(&tt, &tm) != NULL) {
#pragma GCC diagnostic push /* fmt is checked where it is a literal */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        n = strftime(out, outlen, fmt, &tm);
#pragma GCC diagnostic pop
    }
    if (n == 0)
        str_copy(out, "?", outlen);
    return out;
}

static long long parse_scaled(const char *s, const char *const *units,
                              const long long *scale, long long bare)
{
    char *end;
    long long v, mul = bare;
    size_t i;

    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || v < 0)
        return -1;
    if (*end) {
        for (i = 0; units[i]; i++)
            if (str_iequal(end, units[i]))
                break;
        if (units[i] == NULL)
            return -1;
        mul = scale[i];
    }
    if (v > LLONG_MAX / mul)
        return -1;
    return v * mul;
}

long long parse_size(const char *s)
{
    static const char *const units[] = {"",   "b", "k",  "kb", "m",
                                        "mb", "g", "gb", NULL};
    static const long long scale[] = {
        1, 1, 1024, 1024, 1048576, 1048576, 1073741824LL, 1073741824LL};
    return parse_scaled(s, units, scale, 1);
}

long long parse_duration(const char *s)
{
    static const char *const units[] = {"ms", "s", "m", "h", "d", NULL};
    static const long long scale[] = {1, 1000, 60000, 3600000, 86400000};
    return parse_scaled(s, units, scale, 1000);
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

uint64_t clock_boot_id(void)
{
    char buf[64];
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    ssize_t n;
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    for (ssize_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)buf[i]) * 1099511628211ULL;
    return n > 0 ? h : 0;
}

void secure_zero(void *p, size_t n)
{
#ifdef HAVE_EXPLICIT_BZERO
    explicit_bzero(p, n);
#else
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
#endif
}

void hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int file_share_in_dir(int fd, const char *path)
{
    char dir[PATH_MAX];
    struct stat st;
    char *slash;

    if (fchmod(fd, 0660) < 0)
        return -1;
    if (geteuid() != 0)
        return 0;
    str_copy(dir, path, sizeof(dir));
    if ((slash = strrchr(dir, '/')) == NULL)
        str_copy(dir, ".", sizeof(dir));
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &st) < 0)
        return -1;
    return fchown(fd, st.st_uid, st.st_gid);
}

int file_reserve(int fd, off_t size)
{
    struct stat st;
    int rc;

    if (fstat(fd, &st) < 0)
        return -1;
    if (st.st_size >= size && (off_t)st.st_blocks * 512 >= size)
        return 0; /* every block allocated already */
    if ((rc = posix_fallocate(fd, 0, size)) != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

/* A regular file of the right size whose header reads back right. */
static bool shared_ready(int fd, const shared_file_t *f)
{
    unsigned char hdr[1024];
    struct stat st;

    return f->header_len <= sizeof(hdr) && fstat(fd, &st) == 0 &&
           S_ISREG(st.st_mode) && st.st_size == f->size &&
           pread(fd, hdr, f->header_len, 0) == (ssize_t)f->header_len &&
           f->header_ok(hdr);
}

/* Gives fd its size, blocks and header; 0, or -1 with errno. */
static int shared_make(int fd, const char *path, const shared_file_t *f)
{
    if (file_share_in_dir(fd, path) < 0 || file_reserve(fd, f->size) < 0)
        return -1;
    errno = 0;
    if (pwrite(fd, f->header, f->header_len, 0) != (ssize_t)f->header_len) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

/* Writes a new file under a temporary name and renames it over path; the
 * lock on the old one (fd) is held, and it is retired first. */
static int shared_replace(int fd, const char *path, const shared_file_t *f,
                          char *err, size_t errlen)
{
    char tmp[PATH_MAX + 32];
    int nfd;

    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    nfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0660);
    if (nfd < 0 || shared_make(nfd, path, f) < 0 || rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot replace the damaged %s: %s", path,
                 strerror(errno));
        if (nfd >= 0) {
            close(nfd);
            unlink(tmp);
        }
        return -1;
    }
    close(nfd);
    if (f->retire != NULL)
        f->retire(fd); /* mappers of the old file look here */
    return 0;
}

/* True when fd is still the file named path (not replaced meanwhile). */
static bool fd_is_path(int fd, const char *path)
{
    struct stat a, b;

    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

/* fd with every block reserved (one fstat when they are), or -1. */
static int shared_blocks(int fd, const char *path, const shared_file_t *f,
                         char *err, size_t errlen)
{
    if (file_reserve(fd, f->size) == 0)
        return fd;
    snprintf(err, errlen, "cannot allocate the blocks of %s: %s", path,
             strerror(errno));
    close(fd);
    return -1;
}

int file_open_shared(const char *path, const shared_file_t *f, char *err,
                     size_t errlen)
{
    for (int tries = 0; tries < 5; tries++) {
        struct stat st;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
        int rc;

        if (fd < 0) {
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        if (shared_ready(fd, f)) /* the common case: no lock taken */
            return shared_blocks(fd, path, f, err, errlen);
        while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
            ;
        if (rc < 0 || fstat(fd, &st) < 0) {
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (!fd_is_path(fd, path)) { /* replaced while we waited */
            close(fd);
            continue;
        }
        if (st.st_size == 0) {
            if (shared_make(fd, path, f) < 0) {
                snprintf(err, errlen, "cannot make %s: %s", path,
                         strerror(errno));
                (void)ftruncate(fd, 0); /* the next one tries again */
                close(fd);
                return -1;
            }
        } else if (!shared_ready(fd, f)) {
            rc = shared_replace(fd, path, f, err, errlen);
            close(fd); /* drops the lock on the old file */
            if (rc < 0)
                return -1;
            continue;
        }
        (void)flock(fd, LOCK_UN);
        return shared_blocks(fd, path, f, err, errlen);
    }
    snprintf(err, errlen, "%s keeps changing under us", path);
    return -1;
}

bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char tmp[64];
    size_t n = strlen(host);

    if (str_iequal(host, "localhost"))
        return true;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = '\0';
        host = tmp;
    }
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

int sockspec_address(const char *spec, char *host, size_t hostlen)
{
    const char *p, *at;
    size_t hl;

    if (str_has_prefix(spec, "inet:"))
        p = spec + 5;
    else if (str_has_prefix(spec, "inet6:"))
        p = spec + 6;
    else
        return -1;
    at = strchr(p, '@');
    if (str_copy(host,
                 at              ? at + 1
                 : p == spec + 5 ? "127.0.0.1"
                                 : "::1",
                 hostlen) >= hostlen)
        return -1;
    hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1] */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    return 0;
}

bool sockspec_is_local(const char *spec)
{
    char host[256];

    if (sockspec_address(spec, host, sizeof(host)) < 0)
        return true; /* unix:, local: */
    return host_is_loopback(host);
}
