/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scopes.c - the scopes of one SES call and their host-wide breakers
 *
 * The keys a call is checked against, as the delivery's plan
 * (ses_plan.h) holds them: the account and the configuration set in the
 * region the call goes to, the envelope sender, the From address and
 * their domains (all in their comparison form, addr_key()), and each
 * recipient. The host state is opened once per process, from
 * the DataDirectory of the first delivery (like the message map).
 *
 * DIAGNOSTICS
 *   See scopes.h.
 */
#include "config.h"

#include "scopes.h"
#include "ses_addr.h"
#include "ses_log.h"
#include "ses_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_KEYS       6 /* account, set, sender, its domain, From, its domain */
#define MAX_TRIPS      8 /* distinct scopes one call's answers may name */
#define PROBE_SLACK_MS 10000

struct scopes {
    pthread_mutex_t lock;
    hoststate_t *hs;
};

typedef struct {
    breaker_key_t k;
    char name[HOSTSTATE_NAME_MAX];
    char region[64]; /* only for keys of another region than the call's */
    breaker_verdict_t v;
} skey_t;

struct scopes_call {
    hoststate_t *hs;
    breaker_policy_t pol;
    const plan_t *p;
    const size_t *idx; /* the call's recipients: p->rcpt[idx[0..n)] */
    size_t n;
    skey_t msg[MSG_KEYS];
    size_t nmsg;
    skey_t *rcpt; /* one per recipient of the call */
    skey_t tripped[MAX_TRIPS];
    size_t ntripped;
};

scopes_t *scopes_new(void)
{
    scopes_t *sc = calloc(1, sizeof(*sc));

    if (sc)
        pthread_mutex_init(&sc->lock, NULL);
    return sc;
}

void scopes_free(scopes_t *sc)
{
    if (sc == NULL)
        return;
    hoststate_close(sc->hs);
    pthread_mutex_destroy(&sc->lock);
    free(sc);
}

hoststate_t *scopes_state(scopes_t *sc, const conf_t *conf)
{
    hoststate_t *hs;
    char err[512];

    pthread_mutex_lock(&sc->lock);
    if (sc->hs == NULL &&
        hoststate_open(conf_str(conf, CK_DATA_DIRECTORY), &sc->hs, err,
                       sizeof(err)) != HOSTSTATE_OK) {
        log_warning(NULL,
                    "the SES breakers are this process's own, not the "
                    "host's: %s",
                    err);
        sc->hs = hoststate_open_private();
    }
    hs = sc->hs;
    pthread_mutex_unlock(&sc->lock);
    return hs;
}

bool scopes_logged(const conf_t *conf, const ses_result_t *r)
{
    return conf_int(conf, CK_BREAKER_INTERVAL) > 0 && r->scope != BREAKER_NONE;
}

/* ---- keys ---- */

static void key_set(skey_t *s, const char *region, breaker_scope_t scope,
                    const char *name)
{
    str_copy(s->name, name ? name : "", sizeof(s->name));
    s->k = (breaker_key_t){region, scope, s->name};
    s->v = BREAKER_PASS;
}

static bool key_same(const skey_t *a, const skey_t *b)
{
    return a->k.scope == b->k.scope && strcmp(a->name, b->name) == 0 &&
           strcmp(a->k.region, b->k.region) == 0;
}

/* Adds an identity key of the message (an address or its domain), once. */
static void msg_identity(scopes_call_t *c, const char *name)
{
    skey_t s;

    if (name == NULL || *name == '\0' || c->nmsg >= MSG_KEYS)
        return;
    key_set(&s, c->p->region, BREAKER_IDENTITY, name);
    for (size_t i = 0; i < c->nmsg; i++)
        if (key_same(&c->msg[i], &s))
            return;
    c->msg[c->nmsg] = s;
    c->msg[c->nmsg].k.name = c->msg[c->nmsg].name;
    c->nmsg++;
}

static const char *domain_of(const char *key)
{
    const char *at = strrchr(key, '@');

    return at ? at + 1 : NULL;
}

/* "account in us-east-1", "configuration set tx in us-east-1", ... */
static void describe(const skey_t *s, char *out, size_t outlen)
{
    switch (s->k.scope) {
    case BREAKER_ACCOUNT:
        snprintf(out, outlen, "the account in %s", s->k.region);
        break;
    case BREAKER_CONFIGSET:
        snprintf(out, outlen, "configuration set \"%s\" in %s",
                 s->name[0] ? s->name : "(none)", s->k.region);
        break;
    default:
        snprintf(out, outlen, "%s %s in %s", breaker_scope_name(s->k.scope),
                 s->name, s->k.region);
        break;
    }
}

/* ---- before the call ---- */

static void hold(ses_result_t *r, const skey_t *s, const breaker_info_t *info)
{
    char what[HOSTSTATE_NAME_MAX + 64];

    describe(s, what, sizeof(what));
    r->status =
        status_is_temporary(info->status) ? info->status : ST_TEMP_UNKNOWN;
    r->message_id[0] = '\0';
    snprintf(r->detail, sizeof(r->detail),
             "not sent: SES stopped %s (%s); next try in %lld s", what,
             info->reason[0] ? info->reason : status_info(r->status)->text,
             (long long)(info->left_ms + 999) / 1000);
    r->scope = s->k.scope;
    r->identity[0] = '\0';
}

static void policy(const conf_t *conf, breaker_policy_t *p)
{
    p->first_ms = conf_int(conf, CK_BREAKER_INTERVAL);
    p->max_ms = conf_int(conf, CK_BREAKER_MAX_INTERVAL);
    if (p->max_ms < p->first_ms)
        p->max_ms = p->first_ms;
    /* a probe is one delivery's call: its requests and their retries */
    p->probe_ms = conf_int(conf, CK_TIMEOUT) + conf_int(conf, CK_RETRY_TIME) +
                  PROBE_SLACK_MS;
    p->threshold = 1;
}

static void release_probes(scopes_call_t *c, skey_t *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i].v == BREAKER_PROBE) {
            breaker_release(c->hs, &keys[i].k);
            keys[i].v = BREAKER_PASS;
        }
}

/* Recipient h is held and the call goes whole or not at all: every other
 * recipient waits with it, and no probe goes. */
static scopes_call_t *hold_all(scopes_call_t *c, size_t h, bool *go,
                               ses_result_t *res)
{
    ses_result_t held = res[c->idx[h]];

    release_probes(c, c->msg, c->nmsg);
    release_probes(c, c->rcpt, c->n);
    for (size_t j = 0; j < c->n; j++) {
        ses_result_t *r = &res[c->idx[j]];
        if (j == h)
            continue;
        go[j] = false;
        *r = held;
        snprintf(r->detail, sizeof(r->detail),
                 "not sent: recipient <%s> of this delivery is held (%.180s)",
                 c->rcpt[h].name, held.detail);
    }
    return c;
}

scopes_call_t *scopes_before(scopes_t *sc, const conf_t *conf, const plan_t *p,
                             const size_t *idx, size_t n, bool all_or_none,
                             bool *go, ses_result_t *res)
{
    scopes_call_t *c = calloc(1, sizeof(*c));
    breaker_info_t info;

    for (size_t i = 0; i < n; i++)
        go[i] = true;
    if (c == NULL || (c->rcpt = calloc(n ? n : 1, sizeof(*c->rcpt))) == NULL) {
        free(c);
        return NULL;
    }
    c->p = p;
    c->idx = idx;
    c->n = n;
    policy(conf, &c->pol);
    if (c->pol.first_ms <= 0)
        return c; /* breakers off */
    c->hs = scopes_state(sc, conf);

    key_set(&c->msg[c->nmsg++], p->region, BREAKER_ACCOUNT, "");
    key_set(&c->msg[c->nmsg++], p->region, BREAKER_CONFIGSET, p->config_set);
    msg_identity(c, p->sender_key);
    msg_identity(c, domain_of(p->sender_key));
    msg_identity(c, p->from_key);
    msg_identity(c, domain_of(p->from_key));

    for (size_t i = 0; i < c->nmsg; i++) {
        c->msg[i].v = breaker_check(c->hs, &c->msg[i].k, &c->pol, &info);
        if (c->msg[i].v != BREAKER_HOLD)
            continue;
        /* the whole message waits: no probe of another scope either */
        c->msg[i].v = BREAKER_PASS;
        release_probes(c, c->msg, c->nmsg);
        for (size_t j = 0; j < n; j++) {
            go[j] = false;
            hold(&res[idx[j]], &c->msg[i], &info);
        }
        return c;
    }
    for (size_t i = 0; i < n; i++) {
        const char *key = p->rcpt[idx[i]].key;
        if (*key == '\0')
            continue;
        key_set(&c->rcpt[i], p->region, BREAKER_IDENTITY, key);
        c->rcpt[i].v = breaker_check(c->hs, &c->rcpt[i].k, &c->pol, &info);
        if (c->rcpt[i].v == BREAKER_HOLD) {
            go[i] = false;
            hold(&res[idx[i]], &c->rcpt[i], &info);
            if (all_or_none)
                return hold_all(c, i, go, res);
        }
    }
    return c;
}

/* ---- after the call ---- */

static bool was_tripped(const scopes_call_t *c, const skey_t *s)
{
    for (size_t i = 0; i < c->ntripped; i++)
        if (key_same(&c->tripped[i], s))
            return true;
    return false;
}

/* Opens the breaker the answer in r names. */
static void trip(scopes_call_t *c, const ses_result_t *r)
{
    const char *name = "";
    char what[HOSTSTATE_NAME_MAX + 64];
    breaker_info_t info;
    skey_t s;

    if (r->scope == BREAKER_CONFIGSET)
        name = c->msg[1].name;
    else if (r->scope == BREAKER_IDENTITY)
        name = r->identity[0]        ? r->identity
               : c->p->sender_key[0] ? c->p->sender_key
                                     : c->p->from_key;
    if (r->scope == BREAKER_IDENTITY && *name == '\0')
        return;
    /* the region that answered: a failover region keeps its own */
    str_copy(s.region, r->region[0] ? r->region : c->p->region,
             sizeof(s.region));
    key_set(&s, s.region, r->scope, name);
    if (was_tripped(c, &s) || c->ntripped >= MAX_TRIPS)
        return;
    c->tripped[c->ntripped] = s;
    c->tripped[c->ntripped].k.name = c->tripped[c->ntripped].name;
    c->tripped[c->ntripped].k.region = c->tripped[c->ntripped].region;
    c->ntripped++;
    if (!breaker_trip(c->hs, &s.k, &c->pol, r->status, r->detail, &info))
        return;
    describe(&s, what, sizeof(what));
    log_error(c->p->queue_id,
              "SES cannot send for %s (%s): every ses-relay of this host "
              "defers that mail (%s) without calling SES for %lld s "
              "(interval %d), then lets one delivery probe; a probe SES "
              "accepts resumes sending [%s: an operator must act]",
              what, r->detail, status_info(r->status)->dsn,
              (long long)info.interval_ms / 1000, info.level,
              status_info(r->status)->name);
}

/* The probe on s went through: close it and say so. */
static void resumed(scopes_call_t *c, const skey_t *s)
{
    char what[HOSTSTATE_NAME_MAX + 64];
    breaker_info_t was;

    if (!breaker_close(c->hs, &s->k, &was))
        return;
    describe(s, what, sizeof(what));
    log_info(c->p->queue_id,
             "SES accepts mail for %s again, after %lld s and %d "
             "interval(s) stopped: Postfix retries the mail it deferred "
             "meanwhile at its own pace; \"postqueue -f\" (or \"postqueue -i "
             "QUEUEID\") sends it now",
             what, (long long)(time(NULL) - was.since), was.level);
}

void scopes_after(scopes_t *sc, scopes_call_t *c, const bool *go,
                  const ses_result_t *res)
{
    bool any_ok = false;

    (void)sc;
    if (c == NULL)
        return;
    if (c->pol.first_ms <= 0 || c->hs == NULL)
        goto out;
    for (size_t i = 0; i < c->n; i++) {
        const ses_result_t *r = &res[c->idx[i]];
        if (!go[i])
            continue;
        if (r->status == ST_OK)
            any_ok = true;
        else if (r->scope != BREAKER_NONE)
            trip(c, r);
    }
    for (size_t i = 0; i < c->nmsg; i++) {
        if (c->msg[i].v != BREAKER_PROBE)
            continue;
        if (any_ok)
            resumed(c, &c->msg[i]);
        else if (!was_tripped(c, &c->msg[i]))
            breaker_release(c->hs, &c->msg[i].k);
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->rcpt[i].v != BREAKER_PROBE)
            continue;
        if (go[i] && res[c->idx[i]].status == ST_OK)
            resumed(c, &c->rcpt[i]);
        else if (!was_tripped(c, &c->rcpt[i]))
            breaker_release(c->hs, &c->rcpt[i].k);
    }
out:
    free(c->rcpt);
    free(c);
}
