/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_supp.c - suppression.db: the addresses not to mail
 *
 * Keys are ses_addr.h's comparison keys (lower case, the domain as IDNA
 * A-labels); a record is version, flags, reason,
 * source, first and last time, count (24 bytes). A removal leaves a
 * tombstone (flag SUPP_REMOVED, last = removal time) so that `ses-suppress
 * sync` can carry it to SES; lookups and walks skip tombstones unless
 * asked. Lookups read uncommitted data: the milter never waits for a
 * writer.
 *
 * DIAGNOSTICS
 *   As in ses_store.h. A record of an unknown version is STORE_PERMFAIL.
 */
#include "config.h"

#include "store_int.h"
#include "ses_addr.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUPP_REC_LEN 24
#define SUPP_REMOVED STORE_SUPP_REMOVED
#define SUPP_SYNCED  STORE_SUPP_SYNCED

/* The record key of addr: ses_addr.h's comparison key. */
static int supp_key(const char *addr, char out[STORE_MAX_ADDR + 1], size_t *len)
{
    if (addr == NULL || addr_key(addr, out, STORE_MAX_ADDR + 1) != ADDR_OK)
        return -1;
    *len = strlen(out);
    return 0;
}

static void supp_encode(unsigned char *p, const suppression_t *s, int flags)
{
    p[0] = REC_VERSION;
    p[1] = (unsigned char)flags;
    p[2] = (unsigned char)s->reason;
    p[3] = (unsigned char)s->source;
    put_u64(p + 4, (uint64_t)s->first);
    put_u64(p + 12, (uint64_t)s->last);
    put_u32(p + 20, s->count);
}

/* Decodes a suppression record; *flags gets its flags. */
static store_status_t supp_decode(const DBT *d, suppression_t *s, int *flags)
{
    const unsigned char *p = d->data;

    if (d->size < 1)
        return store_fail(STORE_PERMFAIL, "suppression.db: empty record");
    if (p[0] != REC_VERSION)
        return store_bad_version("suppression.db", p[0]);
    if (d->size < SUPP_REC_LEN)
        return store_fail(STORE_PERMFAIL, "suppression.db: short record");
    *flags = p[1];
    s->reason = p[2];
    s->source = p[3];
    s->first = (int64_t)get_u64(p + 4);
    s->last = (int64_t)get_u64(p + 12);
    s->count = get_u32(p + 20);
    return STORE_OK;
}
typedef struct {
    char key[STORE_MAX_ADDR + 1];
    size_t klen;
    const suppression_t *in;
    suppression_t *out;
    int64_t when;
} supp_arg_t;

/* Reads the record for a->key (with a write lock when t is set). */
static store_status_t supp_read(env_t *e, DB_TXN *t, DB *db, supp_arg_t *a,
                                suppression_t *s, int *flags)
{
    unsigned char buf[64];
    DBT k, d;
    int ret;

    store_dbt_in(&k, a->key, a->klen);
    store_dbt_out(&d, buf, sizeof(buf));
    ret = db->get(db, t, &k, &d, t ? DB_RMW : DB_READ_UNCOMMITTED);
    if (ret == DB_BUFFER_SMALL)
        return store_fail(STORE_PERMFAIL, "suppression.db: oversized record");
    if (ret != 0)
        return store_db_status(e, ret, "suppression.db");
    return supp_decode(&d, s, flags);
}

/* The handle (read-write when rw) and the record of a->key, read under a
 * write lock inside a transaction. */
static store_status_t supp_load(env_t *e, DB_TXN *t, int rw, supp_arg_t *a,
                                DB **db, suppression_t *s, int *flags)
{
    store_status_t rc;

    if ((rc = store_env_db(e, DBI_SUPP, rw, db)) != STORE_OK)
        return rc;
    return supp_read(e, t, *db, a, s, flags);
}

static store_status_t supp_write(env_t *e, DB_TXN *t, DB *db, supp_arg_t *a,
                                 const suppression_t *s, int flags)
{
    unsigned char buf[SUPP_REC_LEN];
    DBT k, d;

    supp_encode(buf, s, flags);
    store_dbt_in(&k, a->key, a->klen);
    store_dbt_in(&d, buf, sizeof(buf));
    return store_db_status(e, db->put(db, t, &k, &d, 0), "suppression.db");
}

static store_status_t op_supp_get(env_t *e, DB_TXN *t, void *arg)
{
    supp_arg_t *a = arg;
    store_status_t rc;
    DB *db;
    int flags = 0;

    if ((rc = supp_load(e, NULL, 0, a, &db, a->out, &flags)) != STORE_OK)
        return rc;
    return flags & SUPP_REMOVED ? STORE_NOTFOUND : STORE_OK;
}

store_status_t store_suppression_get(store_t *st, const char *addr,
                                     suppression_t *out)
{
    supp_arg_t a;

    if (out == NULL)
        return store_done(
            st, store_fail(STORE_PERMFAIL, "store_suppression_get: no result"));
    if (supp_key(addr, a.key, &a.klen) < 0)
        return store_done(st, store_fail(STORE_NOTFOUND, "not an address"));
    a.out = out;
    return store_run(st, NULL, 0, op_supp_get, &a);
}

static store_status_t op_supp_put(env_t *e, DB_TXN *t, void *arg)
{
    supp_arg_t *a = arg;
    suppression_t old, s = *a->in;
    store_status_t rc;
    DB *db;
    int flags = 0;

    rc = supp_load(e, t, 1, a, &db, &old, &flags);
    if (rc == STORE_OK && !(flags & SUPP_REMOVED)) {
        if (old.last > s.last) {
            s.reason = old.reason;
            s.source = old.source;
        }
        s.first = old.first < s.first ? old.first : s.first;
        s.last = old.last > s.last ? old.last : s.last;
        s.count =
            old.count + s.count < old.count ? UINT32_MAX : old.count + s.count;
        if (s.reason == old.reason && s.source == old.source &&
            s.first == old.first && s.last == old.last && s.count == old.count)
            return STORE_OK; /* nothing new (a re-import): no write */
    } else if (rc == STORE_OK || rc == STORE_NOTFOUND) {
        if (s.count == 0)
            s.count = 1;
    } else {
        return rc;
    }
    return supp_write(e, t, db, a, &s, 0);
}

store_status_t store_suppression_put(store_t *st, store_txn_t *tx,
                                     const char *addr, const suppression_t *s)
{
    supp_arg_t a;

    if (s == NULL || s->reason < SUPP_BOUNCE || s->reason > SUPP_MANUAL ||
        s->source < SUPP_SRC_SES || s->source > SUPP_SRC_IMPORT)
        return store_done(st, store_fail(STORE_PERMFAIL,
                                         "store_suppression_put: bad record"));
    if (supp_key(addr, a.key, &a.klen) < 0)
        return store_done(st,
                          store_fail(STORE_PERMFAIL, "not an email address"));
    a.in = s;
    return store_run(st, tx, 1, op_supp_put, &a);
}

static store_status_t op_supp_del(env_t *e, DB_TXN *t, void *arg)
{
    supp_arg_t *a = arg;
    suppression_t s;
    store_status_t rc;
    DB *db;
    int flags = 0;

    if ((rc = supp_load(e, t, 1, a, &db, &s, &flags)) != STORE_OK)
        return rc;
    if (flags & SUPP_REMOVED)
        return store_fail(STORE_NOTFOUND, "not suppressed");
    s.last = a->when;
    return supp_write(e, t, db, a, &s, SUPP_REMOVED);
}

store_status_t store_suppression_del(store_t *st, store_txn_t *tx,
                                     const char *addr, int64_t when)
{
    supp_arg_t a;

    if (supp_key(addr, a.key, &a.klen) < 0)
        return store_done(st,
                          store_fail(STORE_NOTFOUND, "not an email address"));
    a.when = when;
    return store_run(st, tx, 1, op_supp_del, &a);
}

typedef struct {
    supp_arg_t a;
    unsigned flags;
} state_arg_t;

static store_status_t op_supp_state(env_t *e, DB_TXN *t, void *arg)
{
    state_arg_t *sa = arg;
    store_status_t rc;
    DB *db;
    int flags = 0;

    if ((rc = supp_load(e, NULL, 0, &sa->a, &db, sa->a.out, &flags)) ==
        STORE_OK)
        sa->flags = (unsigned)flags;
    return rc;
}

store_status_t store_suppression_get_state(store_t *st, const char *addr,
                                           suppression_t *out, unsigned *flags)
{
    state_arg_t sa;
    store_status_t rc;

    if (out == NULL || flags == NULL)
        return store_done(st, store_fail(STORE_PERMFAIL,
                                         "store_suppression_get_state: "
                                         "no result"));
    if (supp_key(addr, sa.a.key, &sa.a.klen) < 0)
        return store_done(st, store_fail(STORE_NOTFOUND, "not an address"));
    sa.a.out = out;
    sa.flags = 0;
    if ((rc = store_run(st, NULL, 0, op_supp_state, &sa)) == STORE_OK)
        *flags = sa.flags;
    return rc;
}

static store_status_t op_supp_synced(env_t *e, DB_TXN *t, void *arg)
{
    supp_arg_t *a = arg;
    suppression_t s;
    store_status_t rc;
    DB *db;
    int flags = 0;

    if ((rc = supp_load(e, t, 1, a, &db, &s, &flags)) != STORE_OK)
        return rc;
    if (flags & (SUPP_REMOVED | SUPP_SYNCED))
        return flags & SUPP_REMOVED ? store_fail(STORE_NOTFOUND, "removed")
                                    : STORE_OK;
    return supp_write(e, t, db, a, &s, flags | SUPP_SYNCED);
}

store_status_t store_suppression_mark_synced(store_t *st, store_txn_t *tx,
                                             const char *addr)
{
    supp_arg_t a;

    if (supp_key(addr, a.key, &a.klen) < 0)
        return store_done(st,
                          store_fail(STORE_NOTFOUND, "not an email address"));
    return store_run(st, tx, 1, op_supp_synced, &a);
}

static store_status_t op_supp_purge(env_t *e, DB_TXN *t, void *arg)
{
    supp_arg_t *a = arg;
    store_status_t rc;
    DB *db;
    DBT k;

    if ((rc = store_env_db(e, DBI_SUPP, 1, &db)) != STORE_OK)
        return rc;
    store_dbt_in(&k, a->key, a->klen);
    return store_db_status(e, db->del(db, t, &k, 0), "suppression.db");
}

store_status_t store_suppression_purge(store_t *st, store_txn_t *tx,
                                       const char *addr)
{
    supp_arg_t a;

    if (supp_key(addr, a.key, &a.klen) < 0)
        return store_done(st,
                          store_fail(STORE_NOTFOUND, "not an email address"));
    return store_run(st, tx, 1, op_supp_purge, &a);
}
typedef struct {
    int with_removed;
    store_supp_fn fn;
    void *ctx;
    size_t bad;
} supp_walk_t;

static store_status_t supp_each_rec(void *ctx, const DBT *k, const DBT *d,
                                    int *stop)
{
    supp_walk_t *w = ctx;
    char addr[STORE_MAX_ADDR + 1];
    suppression_t s;
    int flags;

    if (k->size == 0 || k->size > STORE_MAX_ADDR ||
        supp_decode(d, &s, &flags) != STORE_OK) {
        w->bad++;
        return STORE_OK;
    }
    if ((flags & SUPP_REMOVED) && !w->with_removed)
        return STORE_OK;
    memcpy(addr, k->data, k->size);
    addr[k->size] = '\0';
    *stop = w->fn(w->ctx, addr, &s, (flags & SUPP_REMOVED) != 0);
    return STORE_OK;
}

static store_status_t op_supp_each(env_t *e, DB_TXN *t, void *arg)
{
    supp_walk_t *w = arg;
    store_status_t rc = store_walk(e, DBI_SUPP, supp_each_rec, w);

    if (rc == STORE_OK && w->bad)
        rc =
            store_fail(STORE_PERMFAIL,
                       "suppression.db: %zu records could not be read (unknown "
                       "version or corrupt)",
                       w->bad);
    return rc;
}

static store_status_t warm_rec(void *ctx, const DBT *k, const DBT *d, int *stop)
{
    (void)ctx;
    (void)k;
    (void)d;
    (void)stop;
    return STORE_OK;
}

static store_status_t op_warm(env_t *e, DB_TXN *t, void *arg)
{
    return store_walk(e, DBI_SUPP, warm_rec, NULL);
}

store_status_t store_warm(store_t *st)
{
    return store_run(st, NULL, 0, op_warm, NULL);
}

store_status_t store_suppression_each(store_t *st, int with_removed,
                                      store_supp_fn fn, void *ctx)
{
    supp_walk_t w = {with_removed, fn, ctx, 0};

    if (fn == NULL)
        return store_done(
            st,
            store_fail(STORE_PERMFAIL, "store_suppression_each: no function"));
    return store_run(st, NULL, 0, op_supp_each, &w);
}

/* ---- keys written before the A-label key ---------------------------- */

/* Until 2026-12 a key was the address lower-cased as written, so an IDN
 * domain could be stored as U-labels ("user@bücher.example"); lookups now
 * use the A-label key and would miss it. store_supp_upgrade_keys() moves
 * such records to their key (merging with a record already there), a few
 * hundred per transaction, then leaves KEYS_MARK in DataDirectory so that
 * later opens skip the walk. Keys it cannot convert (not UTF-8) stay. */
#define KEYS_MARK  "suppression.keys-a-label"
#define UPGRADE_TX 200

typedef struct {
    char old[UPGRADE_TX][STORE_MAX_ADDR + 1];
    size_t n;
    size_t moved;                   /* by the last op_upgrade_move() */
    char after[STORE_MAX_ADDR + 1]; /* skip keys up to this one */
} upgrade_t;

/* A key whose domain (after the last '@') has a byte outside ASCII. */
static int legacy_key(const DBT *k)
{
    const unsigned char *p = k->data;
    size_t at = k->size;

    while (at > 0 && p[at - 1] != '@')
        at--;
    for (size_t i = at; at && i < k->size; i++)
        if (p[i] >= 0x80)
            return 1;
    return 0;
}

static store_status_t upgrade_collect(void *ctx, const DBT *k, const DBT *d,
                                      int *stop)
{
    upgrade_t *u = ctx;
    char key[STORE_MAX_ADDR + 1];

    (void)d;
    if (k->size == 0 || k->size > STORE_MAX_ADDR || !legacy_key(k))
        return STORE_OK;
    memcpy(key, k->data, k->size);
    key[k->size] = '\0';
    if (u->after[0] && strcmp(key, u->after) <= 0)
        return STORE_OK;
    str_copy(u->old[u->n++], key, sizeof(u->old[0]));
    *stop = u->n == UPGRADE_TX;
    return STORE_OK;
}

static store_status_t op_upgrade_collect(env_t *e, DB_TXN *t, void *arg)
{
    (void)t;
    return store_walk(e, DBI_SUPP, upgrade_collect, arg);
}

/* Moves the record at key `old` to its A-label key, merged; counts it
 * in *moved. */
static store_status_t upgrade_one(env_t *e, DB_TXN *t, DB *db, const char *old,
                                  size_t *moved)
{
    supp_arg_t from, to;
    suppression_t a, b;
    int fa = 0, fb = 0;
    store_status_t rc;
    DBT k;

    str_copy(from.key, old, sizeof(from.key));
    from.klen = strlen(old);
    if (addr_key(old, to.key, sizeof(to.key)) != ADDR_OK ||
        strcmp(to.key, old) == 0)
        return STORE_OK; /* not convertible: left as it is */
    to.klen = strlen(to.key);
    if ((rc = supp_read(e, t, db, &from, &a, &fa)) != STORE_OK)
        return rc == STORE_NOTFOUND ? STORE_OK : rc;
    fa &= ~SUPP_SYNCED; /* SES knows the A-label form: let sync check */
    rc = supp_read(e, t, db, &to, &b, &fb);
    if (rc == STORE_OK && !((fa | fb) & SUPP_REMOVED)) {
        if (b.last > a.last) {
            a.reason = b.reason;
            a.source = b.source;
        }
        a.first = b.first < a.first ? b.first : a.first;
        a.last = b.last > a.last ? b.last : a.last;
        a.count = a.count + b.count < a.count ? UINT32_MAX : a.count + b.count;
    } else if (rc == STORE_OK && b.last >= a.last) {
        a = b; /* one is a tombstone: the later state wins */
        fa = fb;
    } else if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return rc;
    if ((rc = supp_write(e, t, db, &to, &a, fa)) != STORE_OK)
        return rc;
    store_dbt_in(&k, from.key, from.klen);
    if ((rc = store_db_status(e, db->del(db, t, &k, 0), "suppression.db")) ==
        STORE_OK)
        (*moved)++;
    return rc;
}

static store_status_t op_upgrade_move(env_t *e, DB_TXN *t, void *arg)
{
    upgrade_t *u = arg;
    store_status_t rc;
    DB *db;

    u->moved = 0;
    if ((rc = store_env_db(e, DBI_SUPP, 1, &db)) != STORE_OK)
        return rc;
    for (size_t i = 0; i < u->n; i++)
        if ((rc = upgrade_one(e, t, db, u->old[i], &u->moved)) != STORE_OK)
            return rc;
    return STORE_OK;
}

store_status_t store_supp_upgrade_keys(store_t *st, const char *dir,
                                       size_t *moved)
{
    char mark[PATH_MAX];
    upgrade_t *u;
    store_status_t rc;
    int fd;

    *moved = 0;
    if ((size_t)snprintf(mark, sizeof(mark), "%s/%s", dir, KEYS_MARK) >=
        sizeof(mark))
        return store_done(
            st, store_fail(STORE_PERMFAIL, "DataDirectory path too long"));
    if (access(mark, F_OK) == 0)
        return STORE_OK;
    if ((u = calloc(1, sizeof(*u))) == NULL)
        return store_done(st, store_fail(STORE_TEMPFAIL, "out of memory"));
    for (;;) {
        u->n = 0;
        if ((rc = store_run(st, NULL, 0, op_upgrade_collect, u)) != STORE_OK ||
            u->n == 0)
            break;
        if ((rc = store_run(st, NULL, 1, op_upgrade_move, u)) != STORE_OK)
            break;
        *moved += u->moved;
        /* unconvertible keys stay: go on after the last one seen */
        str_copy(u->after, u->old[u->n - 1], sizeof(u->after));
    }
    free(u);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return rc;
    if ((fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0660)) < 0)
        return store_done(
            st, store_fail(STORE_TEMPFAIL, "%s: %s", mark, strerror(errno)));
    close(fd);
    return STORE_OK;
}
