/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * deliver.c - one message from Postfix to SES: what pipe and LMTP mode share
 *
 * The configuration snapshot and its credentials provider travel together
 * in a reference-counted snap_t, kept in a holder (ses_holder.h): a reload
 * publishes a new one, and a deliver_t still holding the old one lets go of
 * it before its next message.
 *
 * The SES clients (each an HTTPS connection kept alive) belong to the
 * snapshot they were made with, in a pool: a delivery takes the one used
 * last, or makes one when all are busy, and gives it back. So there are as
 * many connections to SES as deliveries ever ran at once, not one per
 * worker: a Postfix connection that lands on a worker which has not sent
 * yet finds a warm connection instead of paying for a TLS handshake. The
 * pool goes with its snapshot.
 *
 * The store is opened once per process, on the first accepted message;
 * when that fails it is tried again at most once a minute, and deliveries
 * go on without a message map meanwhile.
 *
 * DIAGNOSTICS
 *   See deliver.h. Every line about a message carries its queue id.
 */
#include "config.h"

#include "deliver.h"
#include "scopes.h"
#include "ses_creds.h"
#include "ses_holder.h"
#include "ses_log.h"
#include "ses_metrics.h"
#include "ses_store.h"
#include "ses_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_RETRY_MS  60000
#define LOG_RCPTS       3    /* recipients named in the log line */
#define WRITE_BATCH     64   /* message map records in one transaction */
#define WRITE_LINGER_MS 20   /* how long the writer waits for more */
#define WRITE_PENDING   4096 /* records queued before senders write */

/* A message map record waiting for the writer: one block with its
 * strings and recipient pointers. */
typedef struct rec {
    struct rec *next;
    const char *id;
    store_message_t m;
} rec_t;

typedef struct {
    atomic_int refs;
    conf_t *conf;
    creds_provider_t *creds;
    pthread_mutex_t lock; /* idle, nidle, cap */
    ses_client_t **idle;  /* SES clients not in use, the last used last */
    size_t nidle, cap;
} snap_t;

struct relay {
    holder_t snaps;       /* the current snap_t */
    pthread_mutex_t lock; /* store, store_retry */
    store_t *store;
    int64_t store_retry; /* monotonic ms before which not to retry */
    scopes_t *scopes;    /* the host-wide breakers */
    /* the message map's writer (relay_start_writer()) */
    pthread_mutex_t wlock; /* all below */
    pthread_cond_t wcond;
    rec_t *head, **tail; /* records waiting, oldest first */
    size_t pending;
    bool writer, wstop;
    pthread_t wthread;
};

struct deliver {
    relay_t *r;
    holder_ref_t snap; /* the snapshot of the last delivery */
};

/* ---- snapshots ---- */

static snap_t *snap_new(conf_t *conf)
{
    snap_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    if ((s->creds = creds_provider_new(conf)) == NULL) {
        free(s);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->conf = conf;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static snap_t *snap_ref(snap_t *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

static void snap_unref(snap_t *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->nidle; i++) /* they use conf and creds */
        ses_client_free(s->idle[i]);
    free(s->idle);
    pthread_mutex_destroy(&s->lock);
    creds_provider_free(s->creds);
    conf_unref(s->conf);
    free(s);
}

static void holder_ref_snap(void *s)
{
    snap_ref(s);
}

static void holder_unref_snap(void *s)
{
    snap_unref(s);
}

static const holder_ops_t snap_ops = {holder_ref_snap, holder_unref_snap};

relay_t *relay_new(conf_t *conf, char *err, size_t errlen)
{
    relay_t *r = calloc(1, sizeof(*r));
    snap_t *s = r ? snap_new(conf) : NULL;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        free(r);
        conf_unref(conf);
        return NULL;
    }
    if ((r->scopes = scopes_new()) == NULL) {
        snprintf(err, errlen, "out of memory");
        snap_unref(s);
        free(r);
        return NULL;
    }
    holder_init(&r->snaps, &snap_ops);
    holder_publish(&r->snaps, s);
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->wlock, NULL);
    r->tail = &r->head;
    return r;
}

int relay_reload(relay_t *r, conf_t *conf, char *err, size_t errlen)
{
    snap_t *s = snap_new(conf);

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        conf_unref(conf);
        return -1;
    }
    holder_publish(&r->snaps, s);
    return 0;
}

conf_t *relay_conf(relay_t *r)
{
    snap_t *s = holder_get(&r->snaps);
    conf_t *c = conf_ref(s->conf);

    snap_unref(s);
    return c;
}

void relay_free(relay_t *r)
{
    if (r == NULL)
        return;
    if (r->writer) { /* it writes what is queued, then ends */
        pthread_mutex_lock(&r->wlock);
        r->wstop = true;
        pthread_cond_signal(&r->wcond);
        pthread_mutex_unlock(&r->wlock);
        pthread_join(r->wthread, NULL);
        pthread_cond_destroy(&r->wcond);
    }
    holder_destroy(&r->snaps);
    store_close(r->store);
    scopes_free(r->scopes);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->wlock);
    free(r);
}

deliver_t *deliver_new(relay_t *r)
{
    deliver_t *d = calloc(1, sizeof(*d));

    if (d)
        d->r = r;
    return d;
}

void deliver_free(deliver_t *d)
{
    if (d == NULL)
        return;
    holder_release(&d->r->snaps, &d->snap);
    free(d);
}

/* The current snapshot, kept in d from one message to the next. */
static snap_t *deliver_snap(deliver_t *d)
{
    return holder_acquire(&d->r->snaps, &d->snap);
}

/* A SES client of snapshot s for one delivery: the one given back last,
 * else a new one; NULL with a reason in err. */
static ses_client_t *client_take(snap_t *s, char *err, size_t errlen)
{
    ses_client_t *c = NULL;

    pthread_mutex_lock(&s->lock);
    if (s->nidle > 0)
        c = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->lock);
    return c ? c : ses_client_new(s->conf, s->creds, err, errlen);
}

/* Gives c (NULL is fine) back to the pool of s. */
static void client_give(snap_t *s, ses_client_t *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->nidle == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        ses_client_t **n = realloc(s->idle, cap * sizeof(*n));
        if (n == NULL) { /* no room: this connection closes */
            pthread_mutex_unlock(&s->lock);
            ses_client_free(c);
            return;
        }
        s->idle = n;
        s->cap = cap;
    }
    s->idle[s->nidle++] = c;
    pthread_mutex_unlock(&s->lock);
}

/* The store, opened on first use; NULL while it cannot be opened. */
static store_t *relay_store(relay_t *r, const conf_t *conf, const char *qid)
{
    store_t *st;
    char err[512];

    pthread_mutex_lock(&r->lock);
    if (r->store == NULL && clock_mono_ms() >= r->store_retry) {
        if (store_open(conf_str(conf, CK_DATA_DIRECTORY), STORE_READWRITE,
                       &r->store, err, sizeof(err)) != STORE_OK) {
            log_error(qid,
                      "cannot open the message map in %s: %s; deliveries "
                      "continue unrecorded, next try in %d s",
                      conf_str(conf, CK_DATA_DIRECTORY), err,
                      STORE_RETRY_MS / 1000);
            r->store = NULL;
            r->store_retry = clock_mono_ms() + STORE_RETRY_MS;
        }
    }
    st = r->store;
    pthread_mutex_unlock(&r->lock);
    return st;
}

/* ---- the message map ---- */

static void record_failed(const char *qid, const char *id, const char *why)
{
    log_error(qid,
              "SES accepted the message as %s but the message map could "
              "not record it: %s; the delivery stands (bounces for it will "
              "lack the queue id)",
              id, why);
}

/* The record of MessageId id for the recipients p->rcpt[idx[0..n)]. */
static rec_t *rec_new(const plan_t *p, const char *id, const size_t *idx,
                      size_t n)
{
    const char *qid = p->queue_id ? p->queue_id : "";
    const char *src[4] = {id, qid, p->sender,
                          p->config_set ? p->config_set : ""};
    size_t len = sizeof(rec_t) + n * sizeof(char *), off;
    const char **rcpts;
    char *pos[4];
    rec_t *x;

    for (size_t i = 0; i < 4; i++)
        len += strlen(src[i]) + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(p->rcpt[idx[i]].ses) + 1;
    if ((x = malloc(len)) == NULL)
        return NULL;
    rcpts = (const char **)(x + 1);
    off = sizeof(rec_t) + n * sizeof(char *);
    for (size_t i = 0; i < 4; i++) {
        pos[i] = (char *)x + off;
        off += str_copy(pos[i], src[i], len - off) + 1;
    }
    for (size_t i = 0; i < n; i++) {
        rcpts[i] = (char *)x + off;
        off += str_copy((char *)x + off, p->rcpt[idx[i]].ses, len - off) + 1;
    }
    x->next = NULL;
    x->id = pos[0];
    x->m = (store_message_t){pos[1],
                             pos[2],
                             rcpts,
                             n,
                             p->config_set ? pos[3] : NULL,
                             (int64_t)time(NULL)};
    return x;
}

/* Writes the records of list, WRITE_BATCH to a transaction, and frees
 * them. A batch the store refuses is tried record by record, so one bad
 * record costs only itself. */
static void rec_write(relay_t *r, const conf_t *conf, rec_t *list)
{
    store_t *st = relay_store(r, conf, list ? list->m.queue_id : NULL);

    while (list != NULL) {
        const char *ids[WRITE_BATCH];
        const store_message_t *ms[WRITE_BATCH];
        rec_t *x = list;
        size_t k = 0;

        for (; x != NULL && k < WRITE_BATCH; x = x->next, k++) {
            ids[k] = x->id;
            ms[k] = &x->m;
        }
        if (st && store_messages_put(st, ids, ms, k) != STORE_OK)
            for (size_t i = 0; i < k; i++)
                if (store_message_put(st, ids[i], ms[i]) != STORE_OK)
                    record_failed(ms[i]->queue_id, ids[i], store_strerror(st));
        while (list != x) {
            rec_t *next = list->next;
            free(list);
            list = next;
        }
    }
}

/* The writer: waits for records, lets WRITE_LINGER_MS more come (or
 * WRITE_BATCH), writes them in one transaction; at stop, writes what is
 * left. */
static void *writer_main(void *ud)
{
    relay_t *r = ud;

    pthread_mutex_lock(&r->wlock);
    for (;;) {
        rec_t *list;
        conf_t *conf;
        while (r->head == NULL && !r->wstop)
            pthread_cond_wait(&r->wcond, &r->wlock);
        if (r->head == NULL)
            break;
        if (!r->wstop && r->pending < WRITE_BATCH) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += WRITE_LINGER_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->wcond, &r->wlock, &until);
        }
        list = r->head;
        r->head = NULL;
        r->tail = &r->head;
        r->pending = 0;
        pthread_mutex_unlock(&r->wlock);
        conf = relay_conf(r);
        rec_write(r, conf, list);
        conf_unref(conf);
        pthread_mutex_lock(&r->wlock);
    }
    pthread_mutex_unlock(&r->wlock);
    return NULL;
}

int relay_start_writer(relay_t *r, char *err, size_t errlen)
{
    pthread_condattr_t ca;
    int rc;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wcond, &ca);
    pthread_condattr_destroy(&ca);
    if ((rc = pthread_create(&r->wthread, NULL, writer_main, r)) != 0) {
        snprintf(err, errlen, "cannot start the message map writer: %s",
                 strerror(rc));
        pthread_cond_destroy(&r->wcond);
        return -1;
    }
    r->writer = true;
    return 0;
}

/* Records MessageId id for the recipients p->rcpt[idx[0..n)]: through the
 * writer when there is one (and it keeps up), else here. */
static void record(relay_t *r, const snap_t *s, const plan_t *p, const char *id,
                   const size_t *idx, size_t n)
{
    rec_t *x = rec_new(p, id, idx, n);

    if (x == NULL) {
        record_failed(p->queue_id, id, "out of memory");
        return;
    }
    pthread_mutex_lock(&r->wlock);
    if (r->writer && r->pending < WRITE_PENDING) {
        *r->tail = x;
        r->tail = &x->next;
        if (++r->pending == 1 || r->pending == WRITE_BATCH)
            pthread_cond_signal(&r->wcond);
        pthread_mutex_unlock(&r->wlock);
        return;
    }
    pthread_mutex_unlock(&r->wlock);
    rec_write(r, s->conf, x);
}

/* ---- one delivery ---- */

/* Sets every result res[idx[0..n)] to st with detail. */
static void set_results(ses_result_t *res, const size_t *idx, size_t n,
                        status_t st, const char *detail)
{
    for (size_t i = 0; i < n; i++) {
        ses_result_t *r = &res[idx[i]];
        memset(r, 0, sizeof(*r));
        r->status = st;
        str_copy(r->detail, detail, sizeof(r->detail));
    }
}

/* One batch: the recipients its breakers let go are sent in one
 * ses_send(); res[idx[0..k)] gets every recipient's result. */
static void send_batch(deliver_t *d, const snap_t *s, ses_client_t *ses,
                       const plan_t *p, const size_t *idx, size_t k,
                       bool stop_on_defer, ses_result_t *res)
{
    bool go[SES_MAX_PER_CALL];
    size_t sub[SES_MAX_PER_CALL], ng = 0;
    scopes_call_t *call =
        scopes_before(d->r->scopes, s->conf, p, idx, k, stop_on_defer, go, res);

    for (size_t i = 0; i < k; i++)
        if (go[i])
            sub[ng++] = idx[i];
    (void)ses_send(ses, p, sub, ng, res);
    scopes_after(d->r->scopes, call, go, res);
}

/* Sends plan p's batches; results into res[]. */
static void send_batches(deliver_t *d, const snap_t *s, ses_client_t *ses,
                         const plan_t *p, bool stop_on_defer, ses_result_t *res)
{
    status_t deferred = ST_OK;

    for (size_t b = 0; b < plan_batches(p); b++) {
        const size_t *idx;
        size_t k = plan_batch(p, b, &idx);
        if (deferred != ST_OK && stop_on_defer) {
            set_results(res, idx, k, deferred,
                        "not sent: an earlier batch of this delivery was "
                        "deferred");
            continue;
        }
        send_batch(d, s, ses, p, idx, k, stop_on_defer, res);
        /* A batch is one SES call, but ses_send() may resend recipients
         * of a refused call one by one: record each MessageId with the
         * recipients it covers (they are adjacent). */
        for (size_t i = 0, run = 0; i < k; i++) {
            const ses_result_t *r = &res[idx[i]];
            if (status_is_temporary(r->status) && deferred == ST_OK)
                deferred = r->status;
            if (r->status != ST_OK)
                run = i + 1;
            else if (i + 1 == k || res[idx[i + 1]].status != ST_OK ||
                     strcmp(res[idx[i + 1]].message_id, r->message_id) != 0) {
                record(d->r, s, p, r->message_id, idx + run, i + 1 - run);
                run = i + 1;
            }
        }
    }
}

/* "<a>,<b>,<c> +57" for the log line. */
static void rcpt_list(const deliver_msg_t *m, char *out, size_t outlen)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < m->nrcpts && i < LOG_RCPTS; i++)
        o = str_appendf(out, outlen, o, "%s<%s>", i ? "," : "", m->rcpts[i]);
    if (m->nrcpts > LOG_RCPTS)
        str_appendf(out, outlen, o, " +%zu", m->nrcpts - LOG_RCPTS);
}

static void log_delivery(const conf_t *conf, const deliver_msg_t *m,
                         const ses_result_t *res, int64_t t0)
{
    size_t ok = 0, temp = 0, perm = 0, o = 0;
    const ses_result_t *bad = NULL;
    const char *last = "";
    char ids[512] = "", rc[600], what[900];
    const status_info_t *loud = NULL;

    for (size_t i = 0; i < m->nrcpts; i++) {
        const status_info_t *si = status_info(res[i].status);
        if (res[i].status == ST_OK) {
            ok++;
            if (strcmp(res[i].message_id, last) != 0) { /* once a batch */
                last = res[i].message_id;
                o = str_appendf(ids, sizeof(ids), o, "%s%s", o ? " " : "",
                                last);
            }
            continue;
        }
        status_is_permanent(res[i].status) ? perm++ : temp++;
        if (bad == NULL)
            bad = &res[i];
        /* account-level stops: the breaker logs them once an interval */
        if (si->loud && !scopes_logged(conf, &res[i]) && loud == NULL)
            loud = si;
    }
    if (bad == NULL)
        snprintf(what, sizeof(what), "status=sent (2.0.0 queued as %s)", ids);
    else {
        const char *word = ok             ? "partial"
                           : temp && perm ? "partial"
                           : temp         ? "deferred"
                                          : "bounced";
        snprintf(what, sizeof(what),
                 "status=%s (sent=%zu deferred=%zu bounced=%zu; %s %s%s%s)",
                 word, ok, temp, perm, status_info(bad->status)->dsn,
                 bad->detail[0] ? bad->detail : status_info(bad->status)->text,
                 ok ? "; queued as " : "", ok ? ids : "");
    }
    rcpt_list(m, rc, sizeof(rc));
    log_msg(loud ? LOG_ERR : LOG_INFO, m->queue_id,
            "from=<%s>, to=%s, nrcpt=%zu, relay=ses, size=%zu, delay=%.2f, "
            "%s%s%s%s",
            m->sender, rc, m->nrcpts, spool_size(m->spool),
            (double)(clock_mono_ms() - t0) / 1000.0, what, loud ? " [" : "",
            loud ? loud->name : "", loud ? ": an operator must act]" : "");
}

void deliver_message(deliver_t *d, const deliver_msg_t *m, ses_result_t *res)
{
    int64_t t0 = clock_mono_ms();
    snap_t *s = deliver_snap(d);
    char err[512] = "", perr[64];
    ses_client_t *ses = client_take(s, err, sizeof(err));
    ses_message_t msg = {
        m->sender,   m->rcpts, m->nrcpts,
        m->queue_id, m->spool, t0 + conf_int(s->conf, CK_DELIVERY_TIME_LIMIT)};
    plan_t *p = plan_new(s->conf, &msg, ses ? ses_client_region(ses) : "",
                         ses ? ses_client_host(ses) : "", perr, sizeof(perr));

    memset(res, 0, m->nrcpts * sizeof(*res));
    if (p == NULL) {
        for (size_t i = 0; i < m->nrcpts; i++) {
            res[i].status = ST_TEMP_RESOURCE;
            str_copy(res[i].detail, perr, sizeof(res[i].detail));
        }
    } else {
        for (size_t i = 0; i < m->nrcpts; i++)
            if (p->rcpt[i].status != ST_OK) {
                res[i].status = p->rcpt[i].status;
                str_copy(res[i].detail, p->rcpt[i].detail,
                         sizeof(res[i].detail));
            }
        if (p->ngo > 0 && ses == NULL) {
            log_error(m->queue_id, "cannot set up the SES client: %s", err);
            set_results(res, p->go, p->ngo, ST_TEMP_CONFIG, err);
        } else if (p->ngo > 0)
            send_batches(d, s, ses, p, m->stop_on_defer, res);
    }
    log_delivery(s->conf, m, res, t0);
    /* metrics (ses-metrics(8)): one count per recipient, one latency */
    metrics_delivery(s->conf, p ? p->config_set : NULL, res, m->nrcpts,
                     clock_mono_ms() - t0);
    plan_free(p);
    client_give(s, ses);
}

status_t deliver_verdict(const deliver_msg_t *m, const ses_result_t *res,
                         char *diag, size_t diaglen)
{
    const ses_result_t *temp = NULL, *perm = NULL;
    size_t ok = 0;
    const char *id = "";

    for (size_t i = 0; i < m->nrcpts; i++) {
        if (res[i].status == ST_OK) {
            if (ok++ == 0)
                id = res[i].message_id;
        } else if (status_is_permanent(res[i].status)) {
            if (perm == NULL)
                perm = &res[i];
        } else if (temp == NULL)
            temp = &res[i];
    }
    diag[0] = '\0';
    if (temp == NULL && perm == NULL)
        return ST_OK;
    {
        const ses_result_t *w = temp ? temp : perm;
        size_t o = str_copy(
            diag, w->detail[0] ? w->detail : status_info(w->status)->text,
            diaglen);
        if (ok)
            str_appendf(diag, diaglen, o,
                        temp ? "; %zu of %zu recipients were already accepted "
                               "by SES (%s) and get the message again on retry"
                             : "; %zu of %zu recipients were accepted by SES "
                               "(%s) and received the message",
                        ok, m->nrcpts, id);
        if (ok && temp)
            log_warning(m->queue_id,
                        "deferring a delivery SES accepted for %zu of %zu "
                        "recipients (%s): those get the message twice; set "
                        "<transport>_destination_recipient_limit = 50",
                        ok, m->nrcpts, id);
        return w->status;
    }
}
