/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * breaker.c - host-wide breakers: stop calling SES for a scope that cannot
 * send
 *
 * A breaker is one hoststate record (type HOSTSTATE_BREAKER, kind = the
 * scope) whose payload is bstate_t below. No record means closed, so a
 * healthy scope costs one lock-free read and nothing is ever written on
 * the happy path. Every change is a hoststate_update() callback that
 * decides again under the host lock from what it finds there, so two
 * processes that trip the same breaker at once open it once.
 *
 * Times are monotonic (shared by every process of one boot); a record
 * from an earlier boot keeps its level and reason but its interval counts
 * as over, so the first delivery after a reboot probes.
 *
 * DIAGNOSTICS
 *   See ses_breaker.h.
 */
#include "config.h"

#include "ses_breaker.h"
#include "ses_util.h"

#include <string.h>
#include <time.h>

#define PRIORITY_IDENTITY 1 /* many of them may come and go */
#define PRIORITY_SCOPE    2 /* account, set, region: never pushed out */

typedef struct {
    int32_t status;
    int32_t level;    /* 0: closed, counting failures */
    int32_t failures; /* in a row */
    int32_t pad;
    int64_t open_until; /* monotonic ms */
    int64_t probe_until;
    int64_t interval_ms;
    int64_t since; /* unix seconds */
    char reason[BREAKER_REASON_MAX];
} bstate_t;

_Static_assert(sizeof(bstate_t) <= HOSTSTATE_PAYLOAD_MAX, "breaker payload");

static hoststate_key_t hkey(const breaker_key_t *k)
{
    return (hoststate_key_t){HOSTSTATE_BREAKER, (uint16_t)k->scope, k->region,
                             k->name};
}

/* The payload out of a record; times of an earlier boot count as over. */
static void bstate_get(const hoststate_rec_t *rec, bstate_t *b)
{
    memcpy(b, rec->payload, sizeof(*b));
    b->reason[sizeof(b->reason) - 1] = '\0';
    if (rec->stale_clock)
        b->open_until = b->probe_until = 0;
}

static void bstate_put(hoststate_rec_t *rec, const bstate_t *b,
                       breaker_scope_t scope, int64_t max_ms)
{
    memcpy(rec->payload, b, sizeof(*b));
    rec->priority =
        scope == BREAKER_IDENTITY ? PRIORITY_IDENTITY : PRIORITY_SCOPE;
    /* once the interval (and as long again) is over, the slot may go to
     * another record: only the level's history is lost */
    rec->expires = (int64_t)time(NULL) + (b->interval_ms + max_ms) / 1000 + 60;
}

static void info_fill(breaker_info_t *info, const bstate_t *b, int64_t now)
{
    if (info == NULL)
        return;
    info->status = (status_t)b->status;
    info->level = b->level;
    info->failures = b->failures;
    info->interval_ms = b->interval_ms;
    info->left_ms = b->open_until > now ? b->open_until - now : 0;
    info->probing = b->probe_until > now;
    if (info->probing && b->probe_until - now > info->left_ms)
        info->left_ms = b->probe_until - now;
    info->since = b->since;
    str_copy(info->reason, b->reason, sizeof(info->reason));
}

/* ---- check and probe ---- */

typedef struct {
    const breaker_policy_t *p;
    breaker_scope_t scope;
    breaker_verdict_t verdict;
    breaker_info_t *info;
} check_t;

static breaker_verdict_t decide(const bstate_t *b, int64_t now)
{
    if (b->level == 0)
        return BREAKER_PASS;
    if (now < b->open_until || now < b->probe_until)
        return BREAKER_HOLD;
    return BREAKER_PROBE;
}

static hoststate_action_t claim_probe(void *ud, hoststate_rec_t *rec,
                                      bool found)
{
    check_t *c = ud;
    bstate_t b;

    if (!found) { /* closed meanwhile */
        c->verdict = BREAKER_PASS;
        return HOSTSTATE_KEEP;
    }
    bstate_get(rec, &b);
    c->verdict = decide(&b, rec->now_ms);
    if (c->verdict == BREAKER_PROBE)
        b.probe_until = rec->now_ms + c->p->probe_ms;
    info_fill(c->info, &b, rec->now_ms);
    if (c->verdict != BREAKER_PROBE)
        return HOSTSTATE_KEEP;
    bstate_put(rec, &b, c->scope, c->p->max_ms);
    return HOSTSTATE_WRITE;
}

breaker_verdict_t breaker_check(hoststate_t *hs, const breaker_key_t *k,
                                const breaker_policy_t *p, breaker_info_t *info)
{
    hoststate_key_t hk = hkey(k);
    hoststate_rec_t rec;
    check_t c = {p, k->scope, BREAKER_PASS, info};
    bstate_t b;

    if (hs == NULL || hoststate_get(hs, &hk, &rec) != HOSTSTATE_OK)
        return BREAKER_PASS;
    bstate_get(&rec, &b);
    switch (decide(&b, rec.now_ms)) {
    case BREAKER_PASS:
        return BREAKER_PASS;
    case BREAKER_HOLD:
        info_fill(info, &b, rec.now_ms);
        return BREAKER_HOLD;
    case BREAKER_PROBE:
        break;
    }
    /* the interval is over: one caller of the host gets to probe */
    if (hoststate_update(hs, &hk, claim_probe, &c) != HOSTSTATE_OK)
        return BREAKER_PASS;
    return c.verdict;
}

/* ---- trip ---- */

typedef struct {
    const breaker_policy_t *p;
    breaker_scope_t scope;
    status_t st;
    const char *reason;
    bool log;
    breaker_info_t *info;
} trip_t;

static hoststate_action_t trip_fn(void *ud, hoststate_rec_t *rec, bool found)
{
    trip_t *t = ud;
    const breaker_policy_t *p = t->p;
    int64_t now = rec->now_ms;
    bstate_t b;

    if (found)
        bstate_get(rec, &b);
    else
        memset(&b, 0, sizeof(b));
    if (b.level > 0 && now < b.open_until) {
        /* opened by someone else within this interval: theirs to log */
        info_fill(t->info, &b, now);
        return HOSTSTATE_KEEP;
    }
    b.status = (int32_t)t->st;
    str_copy(b.reason, t->reason ? t->reason : "", sizeof(b.reason));
    b.probe_until = 0;
    if (b.level == 0 && ++b.failures < (p->threshold > 1 ? p->threshold : 1)) {
        bstate_put(rec, &b, t->scope, p->max_ms);
        info_fill(t->info, &b, now);
        return HOSTSTATE_WRITE; /* counting, still closed */
    }
    if (b.level == 0) {
        b.interval_ms = p->first_ms;
        b.since = (int64_t)time(NULL);
    } else
        b.interval_ms =
            b.interval_ms * 2 < p->max_ms ? b.interval_ms * 2 : p->max_ms;
    if (b.interval_ms <= 0)
        b.interval_ms = p->first_ms > 0 ? p->first_ms : 1000;
    b.level++;
    b.open_until = now + b.interval_ms;
    t->log = true;
    bstate_put(rec, &b, t->scope, p->max_ms);
    info_fill(t->info, &b, now);
    return HOSTSTATE_WRITE;
}

bool breaker_trip(hoststate_t *hs, const breaker_key_t *k,
                  const breaker_policy_t *p, status_t st, const char *reason,
                  breaker_info_t *info)
{
    hoststate_key_t hk = hkey(k);
    trip_t t = {p, k->scope, st, reason, false, info};

    if (hs == NULL || p->first_ms <= 0)
        return false;
    if (hoststate_update(hs, &hk, trip_fn, &t) != HOSTSTATE_OK)
        return false;
    return t.log;
}

/* ---- close and release ---- */

typedef struct {
    bool was_open;
    breaker_info_t *was;
} close_t;

static hoststate_action_t close_fn(void *ud, hoststate_rec_t *rec, bool found)
{
    close_t *c = ud;
    bstate_t b;

    if (!found)
        return HOSTSTATE_KEEP;
    bstate_get(rec, &b);
    c->was_open = b.level > 0;
    info_fill(c->was, &b, rec->now_ms);
    return HOSTSTATE_DELETE;
}

bool breaker_close(hoststate_t *hs, const breaker_key_t *k, breaker_info_t *was)
{
    hoststate_key_t hk = hkey(k);
    hoststate_rec_t rec;
    close_t c = {false, was};

    if (hs == NULL || hoststate_get(hs, &hk, &rec) != HOSTSTATE_OK)
        return false; /* closed: the common case, no write */
    if (hoststate_update(hs, &hk, close_fn, &c) != HOSTSTATE_OK)
        return false;
    return c.was_open;
}

static hoststate_action_t release_fn(void *ud, hoststate_rec_t *rec, bool found)
{
    bstate_t b;

    (void)ud;
    if (!found)
        return HOSTSTATE_KEEP;
    bstate_get(rec, &b);
    if (b.probe_until == 0)
        return HOSTSTATE_KEEP;
    b.probe_until = 0;
    memcpy(rec->payload, &b, sizeof(b)); /* priority, expiry unchanged */
    return HOSTSTATE_WRITE;
}

void breaker_release(hoststate_t *hs, const breaker_key_t *k)
{
    hoststate_key_t hk = hkey(k);

    if (hs)
        (void)hoststate_update(hs, &hk, release_fn, NULL);
}

/* ---- listing ---- */

typedef struct {
    int (*fn)(void *ud, const breaker_key_t *k, const breaker_info_t *info);
    void *ud;
} each_t;

static int each_fn(void *ud, const hoststate_key_t *hk,
                   const hoststate_rec_t *rec)
{
    each_t *e = ud;
    breaker_key_t k = {hk->region, (breaker_scope_t)hk->kind, hk->name};
    breaker_info_t info;
    bstate_t b;

    bstate_get(rec, &b);
    info_fill(&info, &b, rec->now_ms);
    return e->fn(e->ud, &k, &info);
}

void breaker_each(hoststate_t *hs,
                  int (*fn)(void *ud, const breaker_key_t *k,
                            const breaker_info_t *info),
                  void *ud)
{
    each_t e = {fn, ud};

    if (hs)
        hoststate_each(hs, HOSTSTATE_BREAKER, each_fn, &e);
}

typedef struct {
    hoststate_t *hs;
    int n;
} reset_t;

static int reset_one(void *ud, const breaker_key_t *k,
                     const breaker_info_t *info)
{
    reset_t *r = ud;

    (void)info;
    if (breaker_close(r->hs, k, NULL))
        r->n++;
    return 0;
}

int breaker_reset(hoststate_t *hs)
{
    reset_t r = {hs, 0};

    breaker_each(hs, reset_one, &r);
    return r.n;
}

/* ---- Prometheus ---- */

/* A label value: backslash, double quote and newline escaped. */
static int label(buf_t *b, const char *v)
{
    int rc = 0;

    for (; *v && rc == 0; v++)
        rc = *v == '\\'   ? buf_puts(b, "\\\\")
             : *v == '"'  ? buf_puts(b, "\\\"")
             : *v == '\n' ? buf_puts(b, "\\n")
                          : buf_putc(b, *v);
    return rc;
}

typedef struct {
    buf_t *b;
    int open, rc;
} render_t;

static int render_one(void *ud, const breaker_key_t *k,
                      const breaker_info_t *info)
{
    render_t *r = ud;

    if (info->level == 0)
        return 0;
    r->open++;
    r->rc |= buf_puts(r->b, "sesmilter_breaker_open{region=\"");
    r->rc |= label(r->b, k->region);
    r->rc |= buf_printf(r->b, "\",scope=\"%s\",name=\"",
                        breaker_scope_name(k->scope));
    r->rc |= label(r->b, k->name);
    r->rc |= buf_printf(r->b, "\",status=\"%s\"} %d\n",
                        status_info(info->status)->name, info->level);
    return r->rc != 0;
}

int breaker_render_metrics(void *hs, buf_t *b)
{
    render_t r = {b, 0, 0};

    r.rc = buf_puts(b, "# HELP sesmilter_breaker_open Scopes every ses-relay "
                       "of the host holds mail for, because SES said they "
                       "cannot send; the value is the number of intervals "
                       "in a row.\n"
                       "# TYPE sesmilter_breaker_open gauge\n");
    breaker_each(hs, render_one, &r);
    r.rc |= buf_printf(b,
                       "# HELP sesmilter_breakers_open How many scopes are "
                       "held (alert on > 0).\n"
                       "# TYPE sesmilter_breakers_open gauge\n"
                       "sesmilter_breakers_open %d\n",
                       r.open);
    return r.rc ? -1 : 0;
}

const char *breaker_scope_name(breaker_scope_t s)
{
    switch (s) {
    case BREAKER_ACCOUNT:
        return "account";
    case BREAKER_CONFIGSET:
        return "configuration-set";
    case BREAKER_IDENTITY:
        return "identity";
    case BREAKER_REGION:
        return "region";
    case BREAKER_NONE:
        break;
    }
    return "none";
}
