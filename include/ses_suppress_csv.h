/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_suppress_csv.h - the suppression list as CSV: import and export
 *
 * One entry a line: address,reason[,timestamp]. reason is bounce,
 * complaint or manual (any case, so SES's BOUNCE/COMPLAINT exports load
 * as they are); timestamp is unix seconds or ISO 8601 ("2024-05-01T10:00:00Z")
 * and defaults to now. Fields may be double-quoted ("" for a quote).
 * Blank lines, lines starting with '#' and a first line whose first field
 * is "address" or "email" (a header) are skipped.
 *
 * suppress_import() reads a whole stream, reports each bad line through a
 * callback with its line number and skips it, sorts what it read (so the
 * B-tree is filled in order: fast, and compact pages) and writes it in
 * transactions of a few thousand entries. An import changes the count of
 * no existing entry (see store_suppression_put), so importing the same
 * file twice changes nothing. suppress_export_line() formats one entry.
 *
 * DIAGNOSTICS
 *   suppress_csv_parse() returns 0 or -1 with the reason in err.
 *   suppress_import() returns STORE_OK (bad lines do not count as errors;
 *   see stats) or the store's STORE_TEMPFAIL/PERMFAIL, or STORE_TEMPFAIL
 *   for a read error, with the reason in err. Entries of transactions
 *   already committed stay imported.
 */
#ifndef SES_SUPPRESS_CSV_H
#define SES_SUPPRESS_CSV_H

#include "ses_store.h"
#include "ses_util.h"

#include <stddef.h>
#include <stdint.h>

#define CSV_MAX_LINE 4096

int suppress_csv_parse(const char *line, char *addr, size_t addrlen,
                       supp_reason_t *reason, int64_t *when, int64_t now,
                       char *err, size_t errlen);

typedef struct {
    size_t lines;    /* read */
    size_t imported; /* written to the store */
    size_t bad;      /* reported and skipped */
} import_stats_t;

typedef void (*import_bad_fn)(void *ctx, size_t lineno, const char *why);

store_status_t suppress_import(store_t *st, int fd, int64_t now,
                               import_bad_fn bad, void *ctx,
                               import_stats_t *stats, char *err, size_t errlen);

/* "address,reason,timestamp\n" (ISO 8601 of s->last), quoted if needed. */
int suppress_export_line(buf_t *out, const char *addr, const suppression_t *s);

/* "2024-05-01T10:00:00Z" into out (at least 24 bytes). */
const char *suppress_iso_time(int64_t t, char *out, size_t outlen);

#endif
