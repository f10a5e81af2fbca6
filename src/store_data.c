/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_data.c - messages.db, seen.db and stats.db
 *
 * The message map (SES MessageId -> queue id, sender, recipients, time,
 * configuration set) written by ses-relay and read by ses-feedback; the
 * idempotency set of applied notifications; per configuration set and day
 * counters for `ses-suppress report`; expiry of old map and seen entries.
 * messages.db and seen.db records both keep their time right after the
 * version byte, so one expiry walk serves both.
 *
 * DIAGNOSTICS
 *   As in ses_store.h. Corrupt or unknown-version records are
 *   STORE_PERMFAIL; unreadable counters are skipped by sums.
 */
#include "config.h"

#include "store_int.h"
#include "ses_util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RCPTS      10000       /* recipients in a message record */
#define MAX_RECORD     (256 << 10) /* one messages.db record */
#define EXPIRE_BATCH   500
#define MAX_CONFIG_SET 256

/* ---- the message map ----------------------------------------------- */

typedef struct {
    const char *id;
    const store_message_t *in;
    store_message_t *out;
} msg_arg_t;

typedef struct {
    const char *const *ids;
    const store_message_t *const *m;
    size_t n;
} msgs_arg_t;

static store_status_t op_stats_add_one(env_t *e, DB_TXN *t, const char *cs,
                                       int64_t when, store_stat_t which,
                                       uint32_t n);
static int64_t day_of(int64_t t);

/* One messages.db record, without its count in stats.db. */
static store_status_t msg_record(env_t *e, DB_TXN *t, DB *db, const char *id,
                                 const store_message_t *m)
{
    unsigned char hdr[9], n[2];
    store_status_t rc;
    buf_t b;
    DBT k, d;

    buf_init(&b, MAX_RECORD);
    hdr[0] = REC_VERSION;
    put_u64(hdr + 1, (uint64_t)m->time);
    put_u16(n, (uint16_t)m->nrcpts);
    if (buf_append(&b, hdr, sizeof(hdr)) < 0 ||
        store_rec_put_str(&b, m->queue_id) < 0 ||
        store_rec_put_str(&b, m->sender) < 0 ||
        buf_putc(&b, m->config_set ? 1 : 0) < 0 ||
        store_rec_put_str(&b, m->config_set) < 0 || buf_append(&b, n, 2) < 0)
        goto toobig;
    for (size_t i = 0; i < m->nrcpts; i++)
        if (store_rec_put_str(&b, m->rcpts[i]) < 0)
            goto toobig;
    store_dbt_in(&k, id, strlen(id));
    store_dbt_in(&d, b.data, b.len);
    rc = store_db_status(e, db->put(db, t, &k, &d, 0), "messages.db");
    buf_free(&b);
    return rc;
toobig:
    buf_free(&b);
    return store_fail(STORE_PERMFAIL, "messages.db: record too large");
}

static bool same_set(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The records, then their recipients counted in stats.db: one update per
 * run of records with the same configuration set and day. */
static store_status_t op_msgs_put(env_t *e, DB_TXN *t, void *arg)
{
    msgs_arg_t *a = arg;
    store_status_t rc;
    DB *db;

    if ((rc = store_env_db(e, DBI_MSG, 1, &db)) != STORE_OK)
        return rc;
    for (size_t i = 0; i < a->n; i++)
        if ((rc = msg_record(e, t, db, a->ids[i], a->m[i])) != STORE_OK)
            return rc;
    for (size_t i = 0, j; i < a->n; i = j) {
        uint64_t sum = 0;
        for (j = i;
             j < a->n && same_set(a->m[j]->config_set, a->m[i]->config_set) &&
             day_of(a->m[j]->time) == day_of(a->m[i]->time);
             j++)
            sum += a->m[j]->nrcpts;
        if (sum > 0 &&
            (rc = op_stats_add_one(e, t, a->m[i]->config_set, a->m[i]->time,
                                   STAT_SENT, (uint32_t)sum)) != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

store_status_t store_messages_put(store_t *st, const char *const *ids,
                                  const store_message_t *const *m, size_t n)
{
    msgs_arg_t a = {ids, m, n};

    for (size_t i = 0; i < n; i++)
        if (ids[i] == NULL || *ids[i] == '\0' ||
            strlen(ids[i]) > STORE_MAX_ID || m[i] == NULL ||
            m[i]->nrcpts > MAX_RCPTS || (m[i]->nrcpts && m[i]->rcpts == NULL))
            return store_done(
                st,
                store_fail(STORE_PERMFAIL, "store_message_put: bad arguments"));
    /* a hint for DSNs and counters, written on the relay's delivery path:
     * not worth an fsync per message */
    return store_run(st, NULL, STORE_RUN_NOSYNC, op_msgs_put, &a);
}

store_status_t store_message_put(store_t *st, const char *ses_message_id,
                                 const store_message_t *m)
{
    return store_messages_put(st, &ses_message_id, &m, 1);
}

static store_status_t msg_decode(const DBT *d, store_message_t **out)
{
    store_rd_t r = {d->data, d->size};
    const unsigned char *p;
    const char **rcpts;
    store_message_t *m;
    const char *cs;
    size_t nrcpts;
    char *s;
    int has_cs;

    if (d->size < 1)
        return store_fail(STORE_PERMFAIL, "messages.db: empty record");
    if (((unsigned char *)d->data)[0] != REC_VERSION)
        return store_bad_version("messages.db", ((unsigned char *)d->data)[0]);
    /* every string is at most its record's size: one block holds all */
    if ((m = calloc(1, sizeof(*m) + sizeof(char *) * (d->size / 2 + 1) +
                           2 * (size_t)d->size)) == NULL)
        return store_fail(STORE_TEMPFAIL, "out of memory");
    rcpts = (const char **)(m + 1);
    s = (char *)(rcpts + d->size / 2 + 1);
    store_rd_take(&r, 1);
    if ((p = store_rd_take(&r, 8)) == NULL)
        goto bad;
    m->time = (int64_t)get_u64(p);
    if (store_rd_str(&r, &s, &m->queue_id) < 0 ||
        store_rd_str(&r, &s, &m->sender) < 0 ||
        (p = store_rd_take(&r, 1)) == NULL)
        goto bad;
    has_cs = *p;
    if (store_rd_str(&r, &s, &cs) < 0 || (p = store_rd_take(&r, 2)) == NULL)
        goto bad;
    m->config_set = has_cs ? cs : NULL;
    nrcpts = get_u16(p);
    if (nrcpts > d->size / 2)
        goto bad;
    for (size_t i = 0; i < nrcpts; i++)
        if (store_rd_str(&r, &s, &rcpts[i]) < 0)
            goto bad;
    m->rcpts = rcpts;
    m->nrcpts = nrcpts;
    *out = m;
    return STORE_OK;
bad:
    free(m);
    return store_fail(STORE_PERMFAIL, "messages.db: corrupt record");
}

static store_status_t op_msg_get(env_t *e, DB_TXN *t, void *arg)
{
    msg_arg_t *a = arg;
    store_status_t rc;
    DBT k, d;
    DB *db;
    int ret;

    if ((rc = store_env_db(e, DBI_MSG, 0, &db)) != STORE_OK)
        return rc;
    store_dbt_in(&k, a->id, strlen(a->id));
    memset(&d, 0, sizeof(d));
    d.flags = DB_DBT_MALLOC;
    if ((ret = db->get(db, NULL, &k, &d, 0)) != 0)
        return store_db_status(e, ret, "messages.db");
    rc = msg_decode(&d, &a->out);
    free(d.data);
    return rc;
}

store_status_t store_message_get(store_t *st, const char *ses_message_id,
                                 store_message_t **out)
{
    msg_arg_t a = {ses_message_id, NULL, NULL};
    store_status_t rc;

    if (out == NULL || ses_message_id == NULL || *ses_message_id == '\0' ||
        strlen(ses_message_id) > STORE_MAX_ID)
        return store_done(
            st, store_fail(STORE_PERMFAIL, "store_message_get: bad arguments"));
    *out = NULL;
    if ((rc = store_run(st, NULL, 0, op_msg_get, &a)) == STORE_OK)
        *out = a.out;
    return rc;
}

void store_message_free(store_message_t *m)
{
    free(m);
}

/* ---- seen ---------------------------------------------------------- */

typedef struct {
    const char *id;
    int64_t now;
    int fresh;
} seen_arg_t;

static store_status_t op_seen_add(env_t *e, DB_TXN *t, void *arg)
{
    seen_arg_t *a = arg;
    unsigned char rec[9];
    store_status_t rc;
    DBT k, d;
    DB *db;
    int ret;

    if ((rc = store_env_db(e, DBI_SEEN, 1, &db)) != STORE_OK)
        return rc;
    rec[0] = REC_VERSION;
    put_u64(rec + 1, (uint64_t)a->now);
    store_dbt_in(&k, a->id, strlen(a->id));
    store_dbt_in(&d, rec, sizeof(rec));
    ret = db->put(db, t, &k, &d, DB_NOOVERWRITE);
    a->fresh = ret == 0;
    return ret == DB_KEYEXIST ? STORE_OK : store_db_status(e, ret, "seen.db");
}

static int id_ok(const char *id)
{
    return id && *id && strlen(id) <= STORE_MAX_ID;
}

store_status_t store_seen_add(store_t *st, store_txn_t *tx, const char *id,
                              int64_t now, int *fresh)
{
    seen_arg_t a = {id, now, 0};
    store_status_t rc;

    if (!id_ok(id))
        return store_done(st,
                          store_fail(STORE_PERMFAIL, "store_seen_add: bad id"));
    rc = store_run(st, tx, 1, op_seen_add, &a);
    if (fresh)
        *fresh = rc == STORE_OK && a.fresh;
    return rc;
}

static store_status_t op_seen_get(env_t *e, DB_TXN *t, void *arg)
{
    seen_arg_t *a = arg;
    unsigned char rec[16];
    store_status_t rc;
    DBT k, d;
    DB *db;

    if ((rc = store_env_db(e, DBI_SEEN, 0, &db)) != STORE_OK)
        return rc;
    store_dbt_in(&k, a->id, strlen(a->id));
    store_dbt_out(&d, rec, sizeof(rec));
    rc = store_db_status(e, db->get(db, NULL, &k, &d, 0), "seen.db");
    if (rc == STORE_OK && (d.size < 1 || rec[0] != REC_VERSION))
        rc = store_bad_version("seen.db", d.size ? rec[0] : 0);
    return rc;
}

store_status_t store_seen_get(store_t *st, const char *id)
{
    seen_arg_t a = {id, 0, 0};

    if (!id_ok(id))
        return store_done(st,
                          store_fail(STORE_PERMFAIL, "store_seen_get: bad id"));
    return store_run(st, NULL, 0, op_seen_get, &a);
}

/* ---- counters ------------------------------------------------------ */

#define DAY 86400

static int64_t day_of(int64_t t)
{
    return t >= 0 ? t / DAY : (t - DAY + 1) / DAY;
}

static store_status_t op_stats_add_one(env_t *e, DB_TXN *t, const char *cs,
                                       int64_t when, store_stat_t which,
                                       uint32_t n)
{
    unsigned char key[MAX_CONFIG_SET + 5], rec[2 + 8 * STAT__COUNT];
    uint64_t v[STAT__COUNT] = {0};
    size_t cl = cs ? strlen(cs) : 0;
    store_status_t rc;
    DBT k, d;
    DB *db;
    int ret;

    if (cl > MAX_CONFIG_SET)
        return store_fail(STORE_PERMFAIL,
                          "stats.db: configuration set too long");
    if ((rc = store_env_db(e, DBI_STATS, 1, &db)) != STORE_OK)
        return rc;
    memcpy(key, cs ? cs : "", cl);
    key[cl] = '\0';
    put_u32(key + cl + 1, (uint32_t)day_of(when));
    store_dbt_in(&k, key, cl + 5);
    store_dbt_out(&d, rec, sizeof(rec));
    ret = db->get(db, t, &k, &d, DB_RMW);
    if (ret == 0) {
        if (d.size < 2 || rec[0] != REC_VERSION)
            return store_bad_version("stats.db", d.size ? rec[0] : 0);
        for (unsigned i = 0; i < rec[1] && i < STAT__COUNT; i++)
            v[i] = get_u64(rec + 2 + 8 * i);
    } else if (ret != DB_NOTFOUND && ret != DB_BUFFER_SMALL) {
        return store_db_status(e, ret, "stats.db");
    }
    v[which] += n;
    rec[0] = REC_VERSION;
    rec[1] = STAT__COUNT;
    for (unsigned i = 0; i < STAT__COUNT; i++)
        put_u64(rec + 2 + 8 * i, v[i]);
    store_dbt_in(&d, rec, sizeof(rec));
    return store_db_status(e, db->put(db, t, &k, &d, 0), "stats.db");
}

typedef struct {
    const char *cs;
    int64_t when;
    store_stat_t which;
    uint32_t n;
} stats_arg_t;

static store_status_t op_stats_add(env_t *e, DB_TXN *t, void *arg)
{
    stats_arg_t *a = arg;

    return op_stats_add_one(e, t, a->cs, a->when, a->which, a->n);
}

store_status_t store_stats_add(store_t *st, store_txn_t *tx,
                               const char *config_set, int64_t when,
                               store_stat_t which, uint32_t n)
{
    stats_arg_t a = {config_set, when, which, n};

    if ((unsigned)which >= STAT__COUNT)
        return store_done(
            st, store_fail(STORE_PERMFAIL, "store_stats_add: bad counter"));
    return store_run(st, tx, 1, op_stats_add, &a);
}

typedef struct {
    int64_t from_day, to_day; /* inclusive */
    store_stats_fn fn;
    void *ctx;
    char cs[260];
    int have;
    uint64_t sum[STAT__COUNT];
    int stopped;
} stats_walk_t;

static void stats_flush(stats_walk_t *w)
{
    if (w->have && !w->stopped)
        w->stopped = w->fn(w->ctx, w->cs, w->sum);
    w->have = 0;
    memset(w->sum, 0, sizeof(w->sum));
}

static store_status_t stats_rec(void *ctx, const DBT *k, const DBT *d,
                                int *stop)
{
    stats_walk_t *w = ctx;
    const unsigned char *kp = k->data, *dp = d->data;
    size_t cl;
    int64_t day;

    if (k->size < 5 || (cl = k->size - 5) >= sizeof(w->cs) || kp[cl] ||
        d->size < 2 || dp[0] != REC_VERSION)
        return STORE_OK; /* unreadable counters are skipped */
    day = (int32_t)get_u32(kp + cl + 1);
    if (day < w->from_day || day > w->to_day)
        return STORE_OK;
    if (w->have && (strlen(w->cs) != cl || memcmp(w->cs, kp, cl) != 0))
        stats_flush(w);
    memcpy(w->cs, kp, cl);
    w->cs[cl] = '\0';
    w->have = 1;
    for (unsigned i = 0;
         i < dp[1] && i < STAT__COUNT && 2 + 8 * i + 8 <= d->size; i++)
        w->sum[i] += get_u64(dp + 2 + 8 * i);
    *stop = w->stopped;
    return STORE_OK;
}

static store_status_t op_stats_sum(env_t *e, DB_TXN *t, void *arg)
{
    stats_walk_t *w = arg;
    store_status_t rc = store_walk(e, DBI_STATS, stats_rec, w);

    if (rc == STORE_OK)
        stats_flush(w);
    return rc;
}

store_status_t store_stats_sum(store_t *st, int64_t from, int64_t to,
                               store_stats_fn fn, void *ctx)
{
    stats_walk_t w;

    if (fn == NULL || to <= from)
        return store_done(
            st, store_fail(STORE_PERMFAIL, "store_stats_sum: bad arguments"));
    memset(&w, 0, sizeof(w));
    w.from_day = day_of(from);
    w.to_day = day_of(to - 1);
    w.fn = fn;
    w.ctx = ctx;
    return store_run(st, NULL, 0, op_stats_sum, &w);
}

/* ---- expiry -------------------------------------------------------- */

typedef struct {
    int dbi;
    int64_t cutoff;
    DBT resume; /* key to continue from; size 0: from the start */
    int done;
    size_t removed;
} expire_arg_t;

/* One batch: deletes up to EXPIRE_BATCH records older than the cutoff
 * (messages.db and seen.db both keep their time right after the version
 * byte) and remembers where it stopped. */
static store_status_t op_expire_batch(env_t *e, DB_TXN *t, void *arg)
{
    expire_arg_t *a = arg;
    size_t removed = 0, scanned = 0;
    store_status_t rc;
    DBC *c = NULL;
    DBT k, d;
    DB *db;
    int ret;

    if ((rc = store_env_db(e, a->dbi, 1, &db)) != STORE_OK)
        return rc;
    if ((ret = db->cursor(db, t, &c, 0)) != 0)
        return store_db_status(e, ret, store_db_files[a->dbi]);
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.flags = d.flags = DB_DBT_REALLOC;
    if (a->resume.size) {
        if ((k.data = malloc(a->resume.size)) == NULL) {
            rc = store_fail(STORE_TEMPFAIL, "out of memory");
            goto out;
        }
        memcpy(k.data, a->resume.data, a->resume.size);
        k.size = a->resume.size;
        ret = c->get(c, &k, &d, DB_SET_RANGE);
    } else {
        ret = c->get(c, &k, &d, DB_FIRST);
    }
    for (; ret == 0; ret = c->get(c, &k, &d, DB_NEXT)) {
        const unsigned char *p = d.data;
        if (removed >= EXPIRE_BATCH || scanned >= 20 * EXPIRE_BATCH)
            break;
        scanned++;
        if (d.size >= 9 && p[0] == REC_VERSION &&
            (int64_t)get_u64(p + 1) < a->cutoff) {
            if ((ret = c->del(c, 0)) != 0)
                break;
            removed++;
        }
    }
    if (ret == DB_NOTFOUND) {
        a->done = 1;
        rc = STORE_OK;
    } else if (ret != 0) {
        rc = store_db_status(e, ret, store_db_files[a->dbi]);
    } else {
        void *p = realloc(a->resume.data, k.size);
        if (p == NULL) {
            rc = store_fail(STORE_TEMPFAIL, "out of memory");
            goto out;
        }
        memcpy(p, k.data, k.size);
        a->resume.data = p;
        a->resume.size = k.size;
        rc = STORE_OK;
    }
    if (rc == STORE_OK)
        a->removed += removed;
out:
    c->close(c);
    free(k.data);
    free(d.data);
    return rc;
}

store_status_t store_expire(store_t *st, int64_t now, int64_t message_ttl,
                            int64_t seen_ttl, size_t *removed)
{
    const struct {
        int dbi;
        int64_t ttl;
    } jobs[] = {{DBI_MSG, message_ttl}, {DBI_SEEN, seen_ttl}};
    store_status_t rc = STORE_OK;
    size_t total = 0;

    for (size_t j = 0; j < ARRAY_SIZE(jobs) && rc == STORE_OK; j++) {
        expire_arg_t a;
        if (jobs[j].ttl <= 0)
            continue;
        memset(&a, 0, sizeof(a));
        a.dbi = jobs[j].dbi;
        a.cutoff = now - jobs[j].ttl;
        while (!a.done && rc == STORE_OK) {
            size_t before = a.removed;
            rc = store_run(st, NULL, 1, op_expire_batch, &a);
            if (rc != STORE_OK)
                a.removed = before;
        }
        total += a.removed;
        free(a.resume.data);
    }
    if (removed)
        *removed = total;
    return rc;
}

/* ---- record helpers (store_int.h) ----------------------------------- */

int store_rec_put_str(buf_t *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    unsigned char len[2];

    if (n > STORE_REC_MAX_STR)
        return -1;
    put_u16(len, (uint16_t)n);
    return buf_append(b, len, 2) < 0 || buf_append(b, s ? s : "", n) < 0 ? -1
                                                                         : 0;
}

const unsigned char *store_rd_take(store_rd_t *r, size_t n)
{
    const unsigned char *p = r->p;

    if (n > r->left)
        return NULL;
    r->p += n;
    r->left -= n;
    return p;
}

int store_rd_str(store_rd_t *r, char **dst, const char **out)
{
    const unsigned char *p = store_rd_take(r, 2), *s;
    size_t n;

    if (p == NULL || (s = store_rd_take(r, n = get_u16(p))) == NULL)
        return -1;
    memcpy(*dst, s, n);
    (*dst)[n] = '\0';
    *out = *dst;
    *dst += n + 1;
    return 0;
}
