/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spool.c - a message held for sending
 *
 * Bytes go to a memory buffer until mem_limit, then everything moves to an
 * O_TMPFILE (or mkstemp()+unlink()) file in $TMPDIR or /tmp, so nothing is
 * left behind if the process dies. Bare LF becomes CRLF on the way in; the
 * state of a CR at the end of one write is carried to the next. The header
 * block (up to the first empty line, bounded) is copied aside for lookups.
 * Past max_size nothing more is stored, and every byte not stored (an
 * added CR included) is counted: spool_too_large() is true as soon as one
 * was dropped, so a cut message is never mistaken for a whole one.
 *
 * DIAGNOSTICS
 *   See ses_spool.h.
 */
#include "config.h"

#include "ses_spool.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct spool {
    size_t max_size;
    size_t mem_limit;
    char *mem; /* the message while it is small: size bytes */
    size_t mem_cap;
    int fd;         /* -1 while in memory */
    size_t size;    /* bytes stored */
    size_t seen;    /* bytes offered */
    size_t dropped; /* bytes (CRs added included) not stored: over max */
    int last_cr;    /* the previous byte written was CR */
    int in_headers; /* still in the header block */
    int line_start; /* at the start of a line (for the empty-line test) */
    buf_t headers;  /* copy of the header block, CRLF form */
    char *wbuf;     /* SPOOL_WBUF bytes on the way to mem or the file */
    size_t wlen;
};

#define SPOOL_WBUF      65536 /* the write buffer of a spool file */
#define SPOOL_MEM_FIRST 16384 /* the first memory block, doubled */

spool_t *spool_new(size_t max_size, size_t mem_limit)
{
    spool_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->max_size = max_size;
    s->mem_limit = mem_limit ? mem_limit : SPOOL_DEFAULT_MEM;
    buf_init(&s->headers, SPOOL_MAX_HEADER);
    s->fd = -1;
    s->in_headers = 1;
    s->line_start = 1;
    return s;
}

static int open_tmp(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    if ((size_t)snprintf(path, sizeof(path), "%s/ses-spool.XXXXXX", dir) >=
        sizeof(path))
        return -1;
    if ((fd = mkstemp(path)) < 0)
        return -1;
    unlink(path);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static int flush_wbuf(spool_t *s)
{
    if (s->wlen > 0 && write_all(s->fd, s->wbuf, s->wlen) < 0)
        return -1;
    s->wlen = 0;
    return 0;
}

/* From memory to the file, when the message outgrows mem_limit. */
static int to_file(spool_t *s)
{
    if ((s->fd = open_tmp()) < 0)
        return -1;
    if ((s->wbuf = malloc(SPOOL_WBUF)) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (write_all(s->fd, s->mem ? s->mem : "", s->size) < 0)
        return -1;
    free(s->mem);
    s->mem = NULL;
    s->mem_cap = 0;
    return 0;
}

/* n more bytes in memory; -1 when memory runs out. */
static int mem_grow(spool_t *s, size_t n)
{
    size_t cap = s->mem_cap ? s->mem_cap : SPOOL_MEM_FIRST;
    char *m;

    while (cap < s->size + n)
        cap *= 2;
    if (cap > s->mem_limit)
        cap = s->mem_limit;
    if (cap == s->mem_cap)
        return 0;
    if ((m = realloc(s->mem, cap)) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    s->mem = m;
    s->mem_cap = cap;
    return 0;
}

/* Stores n bytes, or counts them as dropped past max_size. In memory up
 * to mem_limit, then through wbuf to the file. */
static int store(spool_t *s, const char *p, size_t n)
{
    if (n > s->max_size - s->size) {
        s->dropped += n - (s->max_size - s->size); /* cut: never sent */
        n = s->max_size - s->size;
    }
    if (s->fd < 0 && s->size + n > s->mem_limit && to_file(s) < 0)
        return -1;
    if (s->fd < 0) {
        if (s->size + n > s->mem_cap && mem_grow(s, n) < 0)
            return -1;
        memcpy(s->mem + s->size, p, n);
        s->size += n;
        return 0;
    }
    while (n > 0) {
        size_t k = n < SPOOL_WBUF - s->wlen ? n : SPOOL_WBUF - s->wlen;
        memcpy(s->wbuf + s->wlen, p, k);
        s->wlen += k;
        s->size += k;
        p += k;
        n -= k;
        if (s->wlen == SPOOL_WBUF && flush_wbuf(s) < 0)
            return -1;
    }
    return 0;
}

/* One byte of the header block: stored and copied aside. */
static int put_header(spool_t *s, char c)
{
    if (s->size >= s->max_size) {
        s->dropped++;
        return 0;
    }
    if (c == '\n' && s->line_start) /* the empty line ends the headers */
        s->in_headers = 0;
    if (s->in_headers || c == '\n')
        (void)buf_putc(&s->headers, c); /* silently bounded */
    if (c == '\n')
        s->line_start = 1;
    else if (c != '\r')
        s->line_start = 0;
    return store(s, &c, 1);
}

/* The header block goes byte by byte (it is short and watched); the body
 * in runs up to each line feed. */
int spool_write(spool_t *s, const void *data, size_t len)
{
    const char *p = data, *end = p + len;

    while (p < end) {
        const char *nl;
        if (s->in_headers) {
            char c = *p++;
            s->seen++;
            if (c == '\n' && !s->last_cr && put_header(s, '\r') < 0)
                return -1;
            if (put_header(s, c) < 0)
                return -1;
            s->last_cr = c == '\r';
            continue;
        }
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        if (nl > p) {
            if (store(s, p, (size_t)(nl - p)) < 0)
                return -1;
            s->seen += (size_t)(nl - p);
            s->last_cr = nl[-1] == '\r';
            p = nl;
        }
        if (p < end) { /* a line feed, CR added when bare */
            s->seen++;
            if (store(s, &"\r\n"[s->last_cr], 2 - (size_t)s->last_cr) < 0)
                return -1;
            s->last_cr = 0;
            p++;
        }
    }
    return 0;
}

int spool_finish(spool_t *s)
{
    return s->fd < 0 ? 0 : flush_wbuf(s);
}

status_t spool_from_fd(spool_t *s, int fd, char *err, size_t errlen)
{
    char buf[65536];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "cannot read the message: %s",
                     strerror(errno));
            return ST_TEMP_RESOURCE;
        }
        if (n == 0)
            break;
        if (spool_write(s, buf, (size_t)n) < 0) {
            snprintf(err, errlen, "cannot spool the message: %s",
                     strerror(errno));
            return ST_TEMP_RESOURCE;
        }
    }
    if (spool_finish(s) < 0) {
        snprintf(err, errlen, "cannot spool the message: %s", strerror(errno));
        return ST_TEMP_RESOURCE;
    }
    if (spool_too_large(s)) {
        snprintf(err, errlen, "message size exceeds fixed limit of %zu bytes",
                 s->max_size);
        return ST_PERM_TOO_LARGE;
    }
    return ST_OK;
}

size_t spool_size(const spool_t *s)
{
    return s->size;
}

size_t spool_seen(const spool_t *s)
{
    return s->seen;
}

bool spool_too_large(const spool_t *s)
{
    /* what was dropped, not seen vs stored: the CRs added to bare LFs
     * count in the stored size, so a cut message could store as many
     * bytes as it was offered */
    return s->dropped > 0;
}

bool spool_in_memory(const spool_t *s)
{
    return s->fd < 0;
}

const char *spool_memory(const spool_t *s)
{
    return s->fd < 0 ? s->mem : NULL;
}

ssize_t spool_pread(spool_t *s, void *buf, size_t len, size_t off)
{
    if (off >= s->size)
        return 0;
    if (len > s->size - off)
        len = s->size - off;
    if (s->fd < 0) {
        memcpy(buf, s->mem + off, len);
        return (ssize_t)len;
    }
    for (;;) {
        ssize_t n = pread(s->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* The field name of a header line at p (len bytes, a line start), or 0. */
static size_t field_name(const char *p, size_t len)
{
    const char *colon = memchr(p, ':', len);
    size_t n;

    if (colon == NULL || *p == ' ' || *p == '\t')
        return 0;
    n = (size_t)(colon - p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return n;
}

/* Replaces the stored message by head (the new header block) followed by
 * the body, which starts at byte `from` of the old one. */
static int replace_head(spool_t *s, const buf_t *head, size_t from)
{
    char buf[65536];
    int fd;

    if (s->fd < 0) {
        size_t len = head->len + (s->size - from);
        char *m = malloc(len ? len : 1);
        if (m == NULL) {
            errno = ENOMEM;
            return -1;
        }
        memcpy(m, head->data, head->len);
        memcpy(m + head->len, s->mem + from, s->size - from);
        free(s->mem);
        s->mem = m;
        s->mem_cap = len;
        return 0;
    }
    if ((fd = open_tmp()) < 0)
        return -1;
    if (write_all(fd, head->data, head->len) < 0)
        goto fail;
    for (size_t off = from; off < s->size;) {
        ssize_t n = spool_pread(s, buf, sizeof(buf), off);
        if (n <= 0 || write_all(fd, buf, (size_t)n) < 0)
            goto fail;
        off += (size_t)n;
    }
    close(s->fd);
    s->fd = fd;
    return 0;
fail:
    close(fd);
    return -1;
}

/* The fields of header block h[0..hlen) to rename; with out, the block
 * with them renamed is written there. -1 when out cannot grow. */
static int rename_scan(const char *h, size_t hlen, const char *const *names,
                       size_t nnames, const char *prefix, buf_t *out)
{
    unsigned seen[SPOOL_MAX_RENAMED] = {0};
    const char *end = h + hlen;
    size_t plen = strlen(prefix);
    int renamed = 0;

    for (const char *p = h; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);
        size_t n = field_name(p, len);
        for (size_t i = 0; n && i < nnames; i++)
            if (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0 &&
                seen[i]++ > 0) {
                if (out && buf_append(out, prefix, plen) < 0)
                    return -1;
                renamed++;
            }
        if (out && buf_append(out, p, len) < 0)
            return -1;
        p += len;
    }
    return renamed;
}

int spool_rename_repeats(spool_t *s, const char *const *names,
                         const char *prefix)
{
    const char *h = s->headers.data;
    size_t hlen = s->headers.len, nnames = 0;
    int renamed;
    buf_t out;

    /* only a whole header block, of a finished spool */
    if (h == NULL || s->in_headers || hlen >= SPOOL_MAX_HEADER || s->wlen)
        return 0;
    while (names[nnames] && nnames < SPOOL_MAX_RENAMED)
        nnames++;
    /* the usual case, nothing to rename, costs no copy */
    if (rename_scan(h, hlen, names, nnames, prefix, NULL) == 0)
        return 0;
    buf_init(&out, 0);
    if ((renamed = rename_scan(h, hlen, names, nnames, prefix, &out)) < 0) {
        buf_free(&out);
        errno = ENOMEM;
        return -1;
    }
    if (replace_head(s, &out, hlen) < 0) { /* errno says why */
        buf_free(&out);
        return -1;
    }
    s->size += (size_t)renamed * strlen(prefix);
    buf_reset(&s->headers);
    buf_append(&s->headers, out.data, out.len); /* bounded: may cut */
    buf_free(&out);
    return renamed;
}

void spool_headers_each(const spool_t *s,
                        int (*fn)(void *ud, const char *name,
                                  const char *value),
                        void *ud)
{
    const char *p = s->headers.data, *end;
    buf_t val;

    if (p == NULL) /* no header bytes at all: NULL + 0 is undefined */
        return;
    end = p + s->headers.len;
    buf_init(&val, SPOOL_MAX_HEADER);
    while (p < end) {
        const char *colon, *eol, *name = p;
        char nbuf[256];
        size_t nl;

        eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            break; /* cut by the bound: ignore the partial header */
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL || colon == p) { /* not a header line */
            p = eol + 1;
            continue;
        }
        nl = (size_t)(colon - name);
        while (nl && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
            nl--;
        if (nl >= sizeof(nbuf)) {
            p = eol + 1;
            continue;
        }
        memcpy(nbuf, name, nl);
        nbuf[nl] = '\0';
        buf_reset(&val);
        p = colon + 1;
        /* value: this line and continuation lines, CRLF removed */
        for (;;) {
            size_t l = (size_t)(eol - p);
            if (l && p[l - 1] == '\r')
                l--;
            buf_append(&val, p, l);
            p = eol + 1;
            if (p >= end || (*p != ' ' && *p != '\t'))
                break;
            eol = memchr(p, '\n', (size_t)(end - p));
            if (eol == NULL) {
                p = end;
                break;
            }
        }
        if (fn(ud, nbuf, str_trim(val.data ? val.data : (char *)"")))
            break;
    }
    buf_free(&val);
}

typedef struct {
    const char *want;
    char *out;
    size_t outlen;
    int found;
} hdr_find_t;

static int find_one(void *ud, const char *name, const char *value)
{
    hdr_find_t *f = ud;

    if (strcasecmp(name, f->want) != 0)
        return 0;
    str_copy(f->out, value, f->outlen);
    f->found = 1;
    return 1;
}

const char *spool_header(const spool_t *s, const char *name, char *out,
                         size_t outlen)
{
    hdr_find_t f = {name, out, outlen, 0};

    spool_headers_each(s, find_one, &f);
    return f.found ? out : NULL;
}

void spool_free(spool_t *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->mem);
    buf_free(&s->headers);
    free(s->wbuf);
    free(s);
}
