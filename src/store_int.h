/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_int.h - what store.c shares with the record modules
 *
 * Internal to the store: store.c runs the environment; store_supp.c
 * (suppression.db) and store_data.c (messages.db, seen.db, stats.db) write
 * each operation as a store_op_fn and hand it to store_run().
 *
 * DIAGNOSTICS
 *   As in ses_store.h; store_fail() and store_db_status() set the
 *   message of the operation in progress and return the status given or
 *   mapped; store_done() files it with the handle.
 */
#ifndef SES_STORE_INT_H
#define SES_STORE_INT_H

#include "ses_store.h"
#include "ses_util.h"

#include <db.h>
#include <stdint.h>

#define REC_VERSION 1 /* first byte of every record */

enum { DBI_SUPP, DBI_MSG, DBI_SEEN, DBI_STATS, DBI_OUTBOX, DBI__N };
extern const char *const store_db_files[DBI__N];

typedef struct env env_t;
typedef store_status_t (*store_op_fn)(env_t *e, DB_TXN *t, void *arg);
typedef store_status_t (*store_walk_fn)(void *ctx, const DBT *k, const DBT *d,
                                        int *stop);

/* fn inside tx, or (tx NULL) in a transaction of its own for writes and
 * without one for reads, retrying deadlocks and reopens. write: 0 a read,
 * 1 a durable write, STORE_RUN_NOSYNC a write whose commit does not wait
 * for the disk (the log is written, the fsync comes with a later commit or
 * checkpoint: a power cut may lose it, a crashed process does not). */
#define STORE_RUN_NOSYNC 2
store_status_t store_run(store_t *st, store_txn_t *tx, int write,
                         store_op_fn fn, void *arg);
/* The handle of database i (read-write when rw); STORE_NOTFOUND when a
 * read-only user's file does not exist yet. */
store_status_t store_env_db(env_t *e, int i, int rw, DB **out);
/* fn for every record of database i in key order (read committed). */
store_status_t store_walk(env_t *e, int i, store_walk_fn fn, void *ctx);

/* Moves suppression.db records stored under a U-label key to their
 * A-label key, once per DataDirectory (store_supp.c); *moved counts them. */
store_status_t store_supp_upgrade_keys(store_t *st, const char *dir,
                                       size_t *moved);

/* store_fail() writes the message of the operation in progress (this
 * thread's); every public function hands its failure to store_done(),
 * which files that message with the handle for store_strerror(). */
store_status_t store_fail(store_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
store_status_t store_done(store_t *st, store_status_t rc);
store_status_t store_db_status(env_t *e, int ret, const char *what);
store_status_t store_bad_version(const char *db, unsigned v);

void store_dbt_in(DBT *d, const void *data, size_t len);
void store_dbt_out(DBT *d, void *buf, size_t cap);

/* Strings in records: a 16-bit big-endian length, then the bytes
 * (store_data.c). store_rec_put_str() appends one (-1 when over
 * STORE_REC_MAX_STR or out of memory); store_rd_take() takes n bytes from a
 * bounds-checked reader (NULL when short); store_rd_str() copies the next
 * string NUL-terminated to *dst, points *out at it and advances *dst (-1
 * when truncated). */
#define STORE_REC_MAX_STR 4096
typedef struct {
    const unsigned char *p;
    size_t left;
} store_rd_t;
int store_rec_put_str(buf_t *b, const char *s);
const unsigned char *store_rd_take(store_rd_t *r, size_t n);
int store_rd_str(store_rd_t *r, char **dst, const char **out);

/* Records are big-endian. */

static inline void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static inline void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = v & 0xff;
}

static inline void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = v & 0xff;
}

static inline uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
