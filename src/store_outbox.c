/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_outbox.c - outbox.db: DSNs committed, not yet injected
 *
 * A record is version, created, next (u64 each), attempts (u32), sender,
 * queue id and SES MessageId (16-bit length + bytes each), then the DSN
 * (32-bit length + bytes). store_outbox_put() runs inside the caller's
 * transaction (the one that marks the notification seen);
 * store_outbox_del() commits without waiting for the disk, so the step
 * after a successful injection is as short as the store allows.
 *
 * DIAGNOSTICS
 *   As in ses_store.h. A corrupt or unknown-version record is
 *   STORE_PERMFAIL for store_outbox_get() and skipped by the walk.
 */
#include "config.h"

#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define HDR_LEN 29 /* version, created, next, attempts */

typedef struct {
    const char *key;
    const store_dsn_t *in;
    store_dsn_t *out;
    int64_t next;
} outbox_arg_t;

static int key_ok(const char *key)
{
    return key && *key && strlen(key) <= STORE_MAX_ID;
}

static store_status_t op_outbox_put(env_t *e, DB_TXN *t, void *arg)
{
    outbox_arg_t *a = arg;
    const store_dsn_t *in = a->in;
    unsigned char hdr[HDR_LEN], len[4];
    store_status_t rc;
    buf_t b;
    DBT k, d;
    DB *db;

    if ((rc = store_env_db(e, DBI_OUTBOX, 1, &db)) != STORE_OK)
        return rc;
    buf_init(&b, STORE_OUTBOX_MAX_MSG + 3 * (STORE_REC_MAX_STR + 2) + 64);
    hdr[0] = REC_VERSION;
    put_u64(hdr + 1, (uint64_t)in->created);
    put_u64(hdr + 9, (uint64_t)in->next);
    put_u32(hdr + 17, in->attempts);
    memset(hdr + 21, 0, 8); /* reserved */
    put_u32(len, (uint32_t)in->len);
    if (buf_append(&b, hdr, sizeof(hdr)) < 0 ||
        store_rec_put_str(&b, in->sender) < 0 ||
        store_rec_put_str(&b, in->queue_id) < 0 ||
        store_rec_put_str(&b, in->message_id) < 0 ||
        buf_append(&b, len, 4) < 0 || buf_append(&b, in->msg, in->len) < 0) {
        buf_free(&b);
        return store_fail(STORE_PERMFAIL, "outbox.db: record too large");
    }
    store_dbt_in(&k, a->key, strlen(a->key));
    store_dbt_in(&d, b.data, b.len);
    rc = store_db_status(e, db->put(db, t, &k, &d, 0), "outbox.db");
    buf_free(&b);
    return rc;
}

store_status_t store_outbox_put(store_t *st, store_txn_t *tx, const char *key,
                                const store_dsn_t *d)
{
    outbox_arg_t a = {key, d, NULL, 0};

    if (!key_ok(key) || d == NULL || d->sender == NULL || d->msg == NULL ||
        d->len > STORE_OUTBOX_MAX_MSG)
        return store_fail(STORE_PERMFAIL, "store_outbox_put: bad arguments");
    return store_run(st, tx, 1, op_outbox_put, &a);
}

static store_status_t outbox_decode(const DBT *d, store_dsn_t **out)
{
    store_rd_t r = {d->data, d->size};
    const unsigned char *p;
    store_dsn_t *o;
    char *s;
    size_t n;

    if (d->size < 1)
        return store_fail(STORE_PERMFAIL, "outbox.db: empty record");
    if (((unsigned char *)d->data)[0] != REC_VERSION)
        return store_bad_version("outbox.db", ((unsigned char *)d->data)[0]);
    if ((o = calloc(1, sizeof(*o) + (size_t)d->size + 4)) == NULL)
        return store_fail(STORE_TEMPFAIL, "out of memory");
    s = (char *)(o + 1);
    if ((p = store_rd_take(&r, HDR_LEN)) == NULL)
        goto bad;
    o->created = (int64_t)get_u64(p + 1);
    o->next = (int64_t)get_u64(p + 9);
    o->attempts = get_u32(p + 17);
    if (store_rd_str(&r, &s, &o->sender) < 0 ||
        store_rd_str(&r, &s, &o->queue_id) < 0 ||
        store_rd_str(&r, &s, &o->message_id) < 0 ||
        (p = store_rd_take(&r, 4)) == NULL)
        goto bad;
    n = get_u32(p);
    if ((p = store_rd_take(&r, n)) == NULL)
        goto bad;
    memcpy(s, p, n);
    s[n] = '\0';
    o->msg = s;
    o->len = n;
    *out = o;
    return STORE_OK;
bad:
    free(o);
    return store_fail(STORE_PERMFAIL, "outbox.db: corrupt record");
}

/* The record of a->key into a->out (with a write lock when t is set). */
static store_status_t outbox_read(env_t *e, DB_TXN *t, int rw, outbox_arg_t *a,
                                  DB **db)
{
    store_status_t rc;
    DBT k, d;
    int ret;

    if ((rc = store_env_db(e, DBI_OUTBOX, rw, db)) != STORE_OK)
        return rc;
    store_dbt_in(&k, a->key, strlen(a->key));
    memset(&d, 0, sizeof(d));
    d.flags = DB_DBT_MALLOC;
    if ((ret = (*db)->get(*db, t, &k, &d, t ? DB_RMW : 0)) != 0)
        return store_db_status(e, ret, "outbox.db");
    rc = outbox_decode(&d, &a->out);
    free(d.data);
    return rc;
}

static store_status_t op_outbox_get(env_t *e, DB_TXN *t, void *arg)
{
    DB *db;

    (void)t;
    return outbox_read(e, NULL, 0, arg, &db);
}

store_status_t store_outbox_get(store_t *st, const char *key, store_dsn_t **out)
{
    outbox_arg_t a = {key, NULL, NULL, 0};
    store_status_t rc;

    if (!key_ok(key) || out == NULL)
        return store_fail(STORE_PERMFAIL, "store_outbox_get: bad arguments");
    *out = NULL;
    if ((rc = store_run(st, NULL, 0, op_outbox_get, &a)) == STORE_OK)
        *out = a.out;
    return rc;
}

void store_dsn_free(store_dsn_t *d)
{
    free(d);
}

static store_status_t op_outbox_retry(env_t *e, DB_TXN *t, void *arg)
{
    outbox_arg_t *a = arg, w;
    store_status_t rc;
    DB *db;

    if ((rc = outbox_read(e, t, 1, a, &db)) != STORE_OK)
        return rc;
    a->out->attempts++;
    a->out->next = a->next;
    w = (outbox_arg_t){a->key, a->out, NULL, 0};
    rc = op_outbox_put(e, t, &w);
    free(a->out);
    a->out = NULL;
    return rc;
}

store_status_t store_outbox_retry(store_t *st, const char *key, int64_t next)
{
    outbox_arg_t a = {key, NULL, NULL, next};

    if (!key_ok(key))
        return store_fail(STORE_PERMFAIL, "store_outbox_retry: bad key");
    return store_run(st, NULL, 1, op_outbox_retry, &a);
}

static store_status_t op_outbox_del(env_t *e, DB_TXN *t, void *arg)
{
    outbox_arg_t *a = arg;
    store_status_t rc;
    DBT k;
    DB *db;

    if ((rc = store_env_db(e, DBI_OUTBOX, 1, &db)) != STORE_OK)
        return rc;
    store_dbt_in(&k, a->key, strlen(a->key));
    return store_db_status(e, db->del(db, t, &k, 0), "outbox.db");
}

store_status_t store_outbox_del(store_t *st, const char *key)
{
    outbox_arg_t a = {key, NULL, NULL, 0};

    if (!key_ok(key))
        return store_fail(STORE_PERMFAIL, "store_outbox_del: bad key");
    return store_run(st, NULL, STORE_RUN_NOSYNC, op_outbox_del, &a);
}

typedef struct {
    int64_t now;
    store_outbox_fn fn;
    void *ctx;
} due_arg_t;

static store_status_t due_rec(void *ctx, const DBT *k, const DBT *d, int *stop)
{
    due_arg_t *a = ctx;
    const unsigned char *p = d->data;
    char key[STORE_MAX_ID + 1];

    if (k->size == 0 || k->size > STORE_MAX_ID || d->size < HDR_LEN ||
        p[0] != REC_VERSION || (int64_t)get_u64(p + 9) > a->now)
        return STORE_OK;
    memcpy(key, k->data, k->size);
    key[k->size] = '\0';
    *stop = a->fn(a->ctx, key);
    return STORE_OK;
}

static store_status_t op_outbox_due(env_t *e, DB_TXN *t, void *arg)
{
    (void)t;
    return store_walk(e, DBI_OUTBOX, due_rec, arg);
}

store_status_t store_outbox_due(store_t *st, int64_t now, store_outbox_fn fn,
                                void *ctx)
{
    due_arg_t a = {now, fn, ctx};

    if (fn == NULL)
        return store_fail(STORE_PERMFAIL, "store_outbox_due: no function");
    return store_run(st, NULL, 0, op_outbox_due, &a);
}
