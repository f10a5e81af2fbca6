/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suppress_csv.c - the suppression list as CSV: import and export
 *
 * suppress_csv_parse() splits one line (quotes allowed) and checks each
 * field. suppress_import() reads lines from a descriptor into a batch
 * (addresses lower-cased into one arena), sorts the batch by address and
 * writes it with write_batch() in transactions of IMPORT_TXN entries,
 * retrying a transaction that lost a deadlock.
 *
 * DIAGNOSTICS
 *   See ses_suppress_csv.h.
 */
#include "config.h"

#include "ses_addr.h"
#include "ses_note.h"
#include "ses_suppress_csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IMPORT_BATCH (1000 * 1000) /* entries sorted together */
#define IMPORT_TXN   5000          /* entries per transaction */
#define TXN_TRIES    3

/* ---- one line ------------------------------------------------------ */

/* The next field of *p into out; -1 on a bad quote or a long field. */
static int next_field(const char **p, char *out, size_t outlen)
{
    const char *s = *p;
    size_t n = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '"') {
        for (s++;; s++) {
            if (*s == '\0')
                return -1;
            if (*s == '"') {
                if (s[1] != '"')
                    break;
                s++;
            }
            if (n + 1 >= outlen)
                return -1;
            out[n++] = *s;
        }
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != ',' && *s != '\0')
            return -1;
    } else {
        for (; *s && *s != ','; s++) {
            if (n + 1 >= outlen)
                return -1;
            out[n++] = *s;
        }
        while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
            n--;
    }
    out[n] = '\0';
    *p = *s == ',' ? s + 1 : s;
    return 0;
}

int suppress_csv_parse(const char *line, char *addr, size_t addrlen,
                       supp_reason_t *reason, int64_t *when, int64_t now,
                       char *err, size_t errlen)
{
    char f_reason[64], f_time[64], rest[8], key[STORE_MAX_ADDR + 1];
    const char *p = line;

    if (next_field(&p, addr, addrlen) < 0) {
        snprintf(err, errlen, "bad quoting or address too long");
        return -1;
    }
    if (addr_key(addr, key, sizeof(key)) != ADDR_OK || strchr(addr, ',')) {
        snprintf(err, errlen, "\"%.80s\" is not an email address", addr);
        str_sanitize(err);
        return -1;
    }
    if (*p == '\0' && p[-1] != ',') {
        snprintf(err, errlen, "no reason (want address,reason[,timestamp])");
        return -1;
    }
    if (next_field(&p, f_reason, sizeof(f_reason)) < 0 ||
        (*reason = store_reason_parse(f_reason)) == 0) {
        snprintf(err, errlen,
                 "reason \"%.40s\" is not bounce, complaint or manual",
                 f_reason);
        str_sanitize(err);
        return -1;
    }
    *when = now;
    if (*p) {
        if (next_field(&p, f_time, sizeof(f_time)) < 0) {
            snprintf(err, errlen, "bad timestamp field");
            return -1;
        }
        if (*f_time) {
            char *end;
            long long v = strtoll(f_time, &end, 10);
            if (*end == '\0' && v > 0 && v < 253402300800LL)
                *when = v;
            else if ((*when = time_parse_iso8601(f_time)) < 0) {
                snprintf(err, errlen,
                         "timestamp \"%.40s\" is neither unix seconds nor "
                         "ISO 8601",
                         f_time);
                str_sanitize(err);
                return -1;
            }
        }
    }
    if (*p && (next_field(&p, rest, sizeof(rest)) < 0 || *rest || *p)) {
        snprintf(err, errlen, "more than three fields");
        return -1;
    }
    return 0;
}

/* ---- import -------------------------------------------------------- */

typedef struct {
    size_t off; /* into the arena */
    int64_t when;
    supp_reason_t reason;
} entry_t;

typedef struct {
    buf_t arena;
    entry_t *e;
    size_t n, cap;
} batch_t;

static const char *sort_arena;

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(sort_arena + ((const entry_t *)a)->off,
                  sort_arena + ((const entry_t *)b)->off);
}

static store_status_t write_batch(store_t *st, batch_t *b,
                                  import_stats_t *stats, char *err,
                                  size_t errlen)
{
    store_status_t rc = STORE_OK;

    sort_arena = b->arena.data;
    qsort(b->e, b->n, sizeof(*b->e), entry_cmp);
    for (size_t i = 0; i < b->n; i += IMPORT_TXN) {
        size_t end = i + IMPORT_TXN < b->n ? i + IMPORT_TXN : b->n;
        for (int attempt = 0; attempt < TXN_TRIES; attempt++) {
            store_txn_t *tx = NULL;
            size_t j;
            if ((rc = store_txn_begin(st, &tx)) != STORE_OK)
                continue;
            for (j = i; j < end; j++) {
                suppression_t s = {b->e[j].reason, SUPP_SRC_IMPORT,
                                   b->e[j].when, b->e[j].when, 0};
                rc = store_suppression_put(st, tx, b->arena.data + b->e[j].off,
                                           &s);
                if (rc != STORE_OK)
                    break;
            }
            if (rc == STORE_OK && (rc = store_txn_commit(tx)) == STORE_OK)
                break;
            if (j < end)
                store_txn_abort(tx);
            if (rc == STORE_PERMFAIL)
                break;
        }
        if (rc != STORE_OK) {
            snprintf(err, errlen, "%s", store_strerror(st));
            return rc;
        }
        stats->imported += end - i;
    }
    b->n = 0;
    buf_reset(&b->arena);
    return STORE_OK;
}

static int batch_add(batch_t *b, const char *addr, supp_reason_t reason,
                     int64_t when)
{
    entry_t *e;
    char key[STORE_MAX_ADDR + 1]; /* sorted by key: the store's order */

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        if ((e = realloc(b->e, cap * sizeof(*e))) == NULL)
            return -1;
        b->e = e;
        b->cap = cap;
    }
    if (addr_key(addr, key, sizeof(key)) != ADDR_OK)
        return -1; /* suppress_csv_parse() let it through: cannot be */
    b->e[b->n].off = b->arena.len;
    b->e[b->n].when = when;
    b->e[b->n].reason = reason;
    if (buf_append(&b->arena, key, strlen(key) + 1) < 0)
        return -1;
    b->n++;
    return 0;
}

/* One line: a header, a comment, an entry or a bad line. */
static int take_line(batch_t *b, char *line, size_t len, size_t lineno,
                     int64_t now, import_bad_fn bad, void *ctx,
                     import_stats_t *stats)
{
    char addr[STORE_MAX_ADDR + 2], why[200] = "a NUL byte in the line";
    supp_reason_t reason;
    int64_t when;
    size_t n = strlen(line);
    int has_nul = n != len;

    stats->lines++;
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if ((n == 0 && !has_nul) || line[0] == '#')
        return 0;
    if (lineno == 1 &&
        (str_ihas_prefix(line, "address,") || str_ihas_prefix(line, "email,") ||
         str_ihas_prefix(line, "\"address\"") ||
         str_ihas_prefix(line, "emailaddress,")))
        return 0;
    if (len > CSV_MAX_LINE) /* the same bound whether or not the reader
                               saw the line's end */
        snprintf(why, sizeof(why), "line longer than %d bytes", CSV_MAX_LINE);
    if (has_nul || len > CSV_MAX_LINE ||
        suppress_csv_parse(line, addr, sizeof(addr), &reason, &when, now, why,
                           sizeof(why)) < 0) {
        stats->bad++;
        if (bad)
            bad(ctx, lineno, why);
        return 0;
    }
    return batch_add(b, addr, reason, when);
}

store_status_t suppress_import(store_t *st, int fd, int64_t now,
                               import_bad_fn bad, void *ctx,
                               import_stats_t *stats, char *err, size_t errlen)
{
    static const size_t chunk = 256 * 1024;
    store_status_t rc = STORE_OK;
    char *buf = malloc(chunk + CSV_MAX_LINE + 2);
    size_t have = 0, lineno = 0;
    int skipping = 0; /* inside an over-long line */
    batch_t b;

    memset(stats, 0, sizeof(*stats));
    memset(&b, 0, sizeof(b));
    buf_init(&b.arena, 0);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return STORE_TEMPFAIL;
    }
    for (;;) {
        ssize_t n = read(fd, buf + have, chunk);
        char *p, *nl;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "read: %s", strerror(errno));
            rc = STORE_TEMPFAIL;
            goto out;
        }
        have += (size_t)n;
        if (n == 0 && have && buf[have - 1] != '\n')
            buf[have++] = '\n'; /* a last line without its newline */
        buf[have] = '\0';
        for (p = buf; (nl = memchr(p, '\n', have - (size_t)(p - buf)));
             p = nl + 1) {
            size_t len = (size_t)(nl - p);
            *nl = '\0';
            lineno++;
            if (skipping) {
                skipping = 0;
                continue;
            }
            if (take_line(&b, p, len, lineno, now, bad, ctx, stats) < 0) {
                snprintf(err, errlen, "out of memory");
                rc = STORE_TEMPFAIL;
                goto out;
            }
            if (b.n >= IMPORT_BATCH &&
                (rc = write_batch(st, &b, stats, err, errlen)) != STORE_OK)
                goto out;
        }
        have -= (size_t)(p - buf);
        memmove(buf, p, have);
        if (have > CSV_MAX_LINE) { /* no newline in sight: a bad line */
            if (!skipping) {
                stats->lines++;
                stats->bad++;
                if (bad)
                    bad(ctx, lineno + 1, "line longer than 4096 bytes");
            }
            skipping = 1;
            have = 0;
        }
        if (n == 0)
            break;
    }
    if (b.n)
        rc = write_batch(st, &b, stats, err, errlen);
out:
    free(buf);
    free(b.e);
    buf_free(&b.arena);
    return rc;
}

/* ---- export -------------------------------------------------------- */

const char *suppress_iso_time(int64_t t, char *out, size_t outlen)
{
    return time_format_utc(t, "%Y-%m-%dT%H:%M:%SZ", out, outlen);
}

int suppress_export_line(buf_t *out, const char *addr, const suppression_t *s)
{
    char date[32];

    if (strpbrk(addr, ",\"")) {
        if (buf_putc(out, '"') < 0)
            return -1;
        for (const char *p = addr; *p; p++)
            if ((*p == '"' && buf_putc(out, '"') < 0) || buf_putc(out, *p) < 0)
                return -1;
        if (buf_putc(out, '"') < 0)
            return -1;
    } else if (buf_puts(out, addr) < 0) {
        return -1;
    }
    return buf_printf(out, ",%s,%s\n", store_reason_name(s->reason),
                      suppress_iso_time(s->last, date, sizeof(date)));
}
