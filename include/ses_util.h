/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_util.h - small helpers shared by every module
 *
 * buf_*: a growable byte buffer with a hard upper bound, so input from
 * outside can never make it grow without limit. str_*: string helpers that
 * never overflow. parse_size()/parse_duration(): the units used by the
 * configuration file. secure_zero(): wipes secrets.
 *
 * DIAGNOSTICS
 *   buf_* return 0 on success and -1 when the bound would be passed or memory
 *   runs out (the buffer keeps its previous contents). Nothing here logs.
 */
#ifndef SES_UTIL_H
#define SES_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    char *data; /* always NUL-terminated when len > 0 or after buf_init */
    size_t len;
    size_t cap;
    size_t limit; /* 0: no limit */
} buf_t;

void buf_init(buf_t *b, size_t limit);
int buf_append(buf_t *b, const void *data, size_t len);
int buf_puts(buf_t *b, const char *s);
int buf_putc(buf_t *b, char c);
int buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void buf_reset(buf_t *b);
char *buf_steal(buf_t *b); /* the data, NUL-terminated; buffer is reset */
void buf_free(buf_t *b);   /* wipes the contents too */

/* Copies at most size-1 bytes and terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Formats at out + off and returns the new end: off + the length written,
 * or outlen once out is full (then it holds a truncated, terminated text).
 * Does nothing when off >= outlen, so a loop of calls never points past
 * out's end. */
size_t str_appendf(char *out, size_t outlen, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
char *str_trim(char *s); /* in place; returns the first non-blank */
bool str_iequal(const char *a, const char *b);
bool str_has_prefix(const char *s, const char *prefix);
bool str_ihas_prefix(const char *s, const char *prefix);
void str_lower(char *s);
char *str_dup(const char *s); /* NULL-safe strdup */
/* Case-insensitive glob with * and ?; true on a match. */
bool str_glob(const char *pattern, const char *s);
/* Replaces bytes outside printable ASCII with '?' (for log lines). */
void str_sanitize(char *s);
/* Formats a reason into err, made printable as by str_sanitize(), and
 * returns -1: `return str_errf(err, errlen, "bad %s", what);`. */
int str_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Unix time of an ISO 8601 (RFC 3339) time as AWS writes them:
 * "YYYY-MM-DDThh:mm:ss[.fraction]" then "Z", "UTC" or "+hh:mm"/"-hh:mm";
 * the fraction is dropped. -1 when s is NULL, another form, or before
 * 1970. The one parser for such times in the package. */
int64_t time_parse_iso8601(const char *s);
/* strftime(3) of unix time t in UTC into out; returns out. */
__attribute__((format(strftime, 2, 0))) const char *
time_format_utc(int64_t t, const char *fmt, char *out, size_t outlen);

/* "10M" -> bytes, "30s" -> milliseconds; -1 on a malformed value. */
long long parse_size(const char *s);
long long parse_duration(const char *s);

/* Monotonic and wall clocks in milliseconds. */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void); /* the same clock in microseconds */
int64_t clock_wall_ms(void);
/* Sleeps ms milliseconds (restarted after signals). */
void clock_sleep_ms(int64_t ms);
/* This boot of the kernel (its boot_id, hashed; 0 when unknown): monotonic
 * times shared between processes through a file are valid only with it. */
uint64_t clock_boot_id(void);

void secure_zero(void *p, size_t n);

/* Hex of a byte string into out (2*len+1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);

/* Writes all of buf; returns 0, or -1 with errno. Retries EINTR. */
int write_all(int fd, const void *buf, size_t len);

/* A file every program of the package shares in DataDirectory: mode 0660
 * and, when root makes it, the owner of the directory holding path.
 * Returns 0, or -1 with errno. */
int file_share_in_dir(int fd, const char *path);

/* Gives the file at least size bytes, every block of them allocated now
 * (posix_fallocate), so that writes through a shared mapping can never meet
 * a full disk (SIGBUS): a full disk is ENOSPC here instead. Cheap when the
 * blocks are there already. Returns 0, or -1 with errno. */
int file_reserve(int fd, off_t size);

/* A fixed-size file that the package's processes map shared in
 * DataDirectory (hoststate, metrics): how file_open_shared() makes and
 * checks it. */
typedef struct {
    off_t size;                         /* the whole file */
    const void *header;                 /* written at offset 0 of a new file */
    size_t header_len;                  /* at most 1024 */
    bool (*header_ok)(const void *hdr); /* given header_len bytes read back */
    /* Optional: marks a damaged file (fd, still locked) so that processes
     * that map it look again; it is renamed over right after. */
    void (*retire)(int fd);
} shared_file_t;

/* Opens path, made when missing (file_share_in_dir(), every block
 * reserved, then the header, under an exclusive flock) and replaced by a
 * new file renamed over it when its size or header is wrong. A ready file
 * is opened without taking the lock. Returns the descriptor, or -1 with a
 * message naming path in err. */
int file_open_shared(const char *path, const shared_file_t *f, char *err,
                     size_t errlen);

/* true when the host is a loopback name or address (127/8, ::1, localhost) */
bool host_is_loopback(const char *host);
/* The address an inet:/inet6: socket spec names (without brackets;
 * 127.0.0.1 or ::1 when it names none); -1 for other specs. */
int sockspec_address(const char *spec, char *host, size_t hostlen);
/* A unix:/local: socket spec, or an inet one on a loopback address (127/8,
 * ::1, localhost): only this host can connect. */
bool sockspec_is_local(const char *spec);

#endif
