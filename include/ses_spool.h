/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_spool.h - a message held for sending: in memory while small, in an
 * unlinked temporary file when large
 *
 * spool_write() takes the message as it arrives (pipe(8) stdin, LMTP DATA
 * after dot-unstuffing) and normalises bare LF line ends to CRLF, the form
 * SES expects. The first SPOOL_MAX_HEADER bytes of the header block are
 * kept in memory so spool_header() can look headers up. Bytes beyond
 * max_size are counted but not stored: spool_too_large() tells the caller
 * to refuse the message once it has read it all.
 *
 * Peak memory is bounded by mem_limit plus the header copy, whatever the
 * message size: that is how a 40 MB message relays in a few MB of RSS.
 *
 * spool_rename_repeats() is the one change made to a message: the second
 * and later fields of a name SES refuses to see twice although RFC 5322
 * allows it (DKIM-Signature, Delivered-To) get a prefix, see ses-relay(8).
 *
 * DIAGNOSTICS
 *   spool_write()/spool_finish() return 0, or -1 on an I/O error (errno
 *   set); spool_from_fd() returns ST_OK, ST_TEMP_RESOURCE or
 *   ST_PERM_TOO_LARGE. spool_pread() returns bytes read or -1.
 *   spool_rename_repeats() returns the fields renamed, or -1 (errno) when
 *   the spool could not be rewritten (it is then unchanged).
 */
#ifndef SES_SPOOL_H
#define SES_SPOOL_H

#include "ses_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SPOOL_MAX_HEADER  (256 * 1024)
#define SPOOL_MAX_RENAMED 8 /* field names spool_rename_repeats() takes */
#define SPOOL_DEFAULT_MEM (512 * 1024)

typedef struct spool spool_t;

spool_t *spool_new(size_t max_size, size_t mem_limit);
int spool_write(spool_t *s, const void *data, size_t len);
int spool_finish(spool_t *s);
status_t spool_from_fd(spool_t *s, int fd, char *err, size_t errlen);

size_t spool_size(const spool_t *s); /* stored (normalised) bytes */
size_t spool_seen(const spool_t *s); /* bytes offered, stored or not */
bool spool_too_large(const spool_t *s);
bool spool_in_memory(const spool_t *s);
/* The message of a finished spool held in memory (spool_size() bytes,
 * read-only), else NULL: read without a copy. */
const char *spool_memory(const spool_t *s);
ssize_t spool_pread(spool_t *s, void *buf, size_t len, size_t off);

/* First header `name` (case-insensitive), unfolded and trimmed, into out.
 * Returns out, or NULL when absent. Values longer than outlen are cut. */
/* In the header block of a finished spool, every field named like one of
 * names (NULL-terminated, at most SPOOL_MAX_RENAMED; case-insensitive)
 * that is not the first of its name gets prefix before its name
 * ("X-Original-"). The first (topmost: the newest) stays as it is. A
 * header block longer than SPOOL_MAX_HEADER is left alone. */
int spool_rename_repeats(spool_t *s, const char *const *names,
                         const char *prefix);

const char *spool_header(const spool_t *s, const char *name, char *out,
                         size_t outlen);
/* Calls fn for each header in order with its name and unfolded value;
 * stops when fn returns non-zero. */
void spool_headers_each(const spool_t *s,
                        int (*fn)(void *ud, const char *name,
                                  const char *value),
                        void *ud);

void spool_free(spool_t *s); /* NULL is fine; the file goes with it */

#endif
