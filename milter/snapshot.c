/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot.c - everything a message is processed with, loaded together
 *
 * DIAGNOSTICS
 *   See snapshot.h.
 */
#include "config.h"

#include "snapshot.h"
#include "ses_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    snapshot_t pub;
    atomic_int refs;
    /* the store, when its first open failed: retried under store_mu */
    atomic_bool store_ready; /* pub.store is set (release/acquire) */
    bool store_wanted;       /* not SNAPSHOT_NO_STORE */
    pthread_mutex_t store_mu;
    time_t store_next_try;
    char store_err[512];
} snapshot_int_t;

static void holder_ref_snapshot(void *s)
{
    snapshot_ref(s);
}

static void holder_unref_snapshot(void *s)
{
    snapshot_unref(s);
}

static const holder_ops_t snapshot_ops = {holder_ref_snapshot,
                                          holder_unref_snapshot};
static holder_t current = HOLDER_INIT(&snapshot_ops);

/* "k=v, k2=v2": the X-SES-MESSAGE-TAGS value. */
static char *tags_header(const tags_t *t)
{
    buf_t b;

    if (tags_count(t) == 0)
        return NULL;
    buf_init(&b, 64 * 1024);
    for (size_t i = 0; i < tags_count(t); i++)
        if (buf_printf(&b, "%s%s=%s", i ? ", " : "", tags_name(t, i),
                       tags_value(t, i)) < 0) {
            buf_free(&b);
            return NULL;
        }
    return buf_steal(&b);
}

static bool outcome_build(snapshot_t *s, const rule_action_t *a, outcome_t *o,
                          char *err, size_t errlen)
{
    tags_t *t = NULL;

    o->config_set = a && a->config_set
                        ? a->config_set
                        : conf_str(s->conf, CK_CONFIGURATION_SET);
    o->tenant = a && a->tenant ? a->tenant : conf_str(s->conf, CK_TENANT_NAME);
    if (a && a->tenant && conf_is(s->conf, CK_API_VERSION, "v1")) {
        snprintf(err, errlen,
                 "%s:%d: tenant= needs ApiVersion v2 (SES v1 SendRawEmail has "
                 "no tenants)",
                 conf_str(s->conf, CK_RULES_FILE), a->line);
        return false;
    }
    o->route = a ? a->route : ROUTE_UNSET;
    o->percent = a ? a->percent : 0;
    o->line = a ? a->line : 0;
    if (a && a->tags) {
        if ((t = tags_new()) == NULL || tags_merge(t, s->conf_tags) < 0 ||
            tags_merge(t, a->tags) < 0) {
            tags_free(t);
            snprintf(err, errlen,
                     "%s:%d: MessageTags and the rule's tags make more than "
                     "%d tags",
                     conf_str(s->conf, CK_RULES_FILE), a->line, TAGS_MAX);
            return false;
        }
        o->tags = t; /* owned: freed with the outcome */
    } else {
        o->tags = s->conf_tags;
    }
    if (tags_count(o->tags) &&
        (o->tags_header = tags_header(o->tags)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    return true;
}

static void outcome_clear(const snapshot_t *s, outcome_t *o)
{
    if (o->tags != s->conf_tags)
        tags_free((tags_t *)o->tags);
    free(o->tags_header);
}

static void snapshot_free(snapshot_t *s)
{
    for (size_t i = 0; s->outc && i < rules_count(s->rules); i++)
        outcome_clear(s, &s->outc[i]);
    free(s->outc);
    outcome_clear(s, &s->dflt);
    tags_free(s->conf_tags);
    store_close(s->store);
    pthread_mutex_destroy(&((snapshot_int_t *)s)->store_mu);
    identity_free(s->ids);
    addrmatch_free(s->trusted);
    signer_free(s->dkim);
    rules_free(s->rules);
    conf_unref(s->conf);
    free(s);
}

conf_status_t snapshot_load(conf_t *conf, int flags, snapshot_t **out,
                            char *err, size_t errlen)
{
    snapshot_int_t *si;
    snapshot_t *s;
    conf_status_t rc = CONF_INVALID;
    const char *v;
    char msg[512];

    *out = NULL;
    if ((si = calloc(1, sizeof(*si))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return CONF_INVALID;
    }
    atomic_init(&si->refs, 1);
    atomic_init(&si->store_ready, false);
    pthread_mutex_init(&si->store_mu, NULL);
    s = &si->pub;
    s->conf = conf_ref(conf);
    s->observe = conf_is(conf, CK_MODE, "observe");
    s->onerror_accept = conf_is(conf, CK_ON_ERROR, "accept");
    s->trust_auth = conf_bool(conf, CK_TRUST_AUTHENTICATED);
    s->trust_local = conf_bool(conf, CK_TRUST_LOCAL_SUBMISSION);
    s->trusted_daemons = conf_list(conf, CK_TRUSTED_DAEMON_NAMES);
    s->require_verified = conf_bool(conf, CK_REQUIRE_VERIFIED_SENDER);
    s->sandbox = conf_bool(conf, CK_SANDBOX);
    s->supp_action =
        conf_is(conf, CK_SUPPRESSION_ACTION, "discard")   ? SUPP_ACT_DISCARD
        : conf_is(conf, CK_SUPPRESSION_ACTION, "observe") ? SUPP_ACT_OBSERVE
                                                          : SUPP_ACT_REJECT;

    if ((v = conf_str(conf, CK_RULES_FILE)) != NULL &&
        (rc = rules_load(v, &s->rules, err, errlen)) != CONF_OK)
        goto fail;
    rc = CONF_INVALID;
    s->want_rcpts = rules_have_recipient_rules(s->rules);
    if (addrmatch_parse(conf_list(conf, CK_TRUSTED_HOSTS), &s->trusted, msg,
                        sizeof(msg)) < 0) {
        snprintf(err, errlen, "%s: TrustedHosts: %s", conf_path(conf), msg);
        goto fail;
    }
    if (identity_parse(conf_list(conf, CK_VERIFIED_IDENTITIES), &s->ids, msg,
                       sizeof(msg)) < 0) {
        snprintf(err, errlen, "%s: VerifiedIdentities: %s", conf_path(conf),
                 msg);
        goto fail;
    }
    if ((s->require_verified || s->sandbox) && identity_count(s->ids) == 0) {
        snprintf(err, errlen,
                 "%s: %s needs VerifiedIdentities (the addresses and domains "
                 "verified in Amazon SES)",
                 conf_path(conf),
                 s->sandbox ? "Sandbox yes" : "RequireVerifiedSender yes");
        goto fail;
    }
    if ((v = conf_str(conf, CK_MESSAGE_TAGS)) != NULL) {
        if (tags_parse(v, ':', &s->conf_tags, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s: MessageTags: %s", conf_path(conf), msg);
            goto fail;
        }
    }
    if (!outcome_build(s, NULL, &s->dflt, err, errlen))
        goto fail;
    if (rules_count(s->rules) &&
        (s->outc = calloc(rules_count(s->rules), sizeof(outcome_t))) == NULL)
        goto oom;
    for (size_t i = 0; i < rules_count(s->rules); i++)
        if (!outcome_build(s, rules_action(s->rules, i), &s->outc[i], err,
                           errlen))
            goto fail;
    if ((rc = signer_load(conf, &s->dkim, err, errlen)) != CONF_OK)
        goto fail;
    rc = CONF_INVALID;
    if (!(flags & SNAPSHOT_NO_STORE)) {
        /* a store that cannot be opened now is a fault for OnError to
         * handle per message, not a reason to refuse all mail */
        si->store_wanted = true;
        (void)snapshot_store(s, msg, sizeof(msg));
    }
    *out = s;
    return CONF_OK;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    snapshot_free(s);
    return rc;
}

store_t *snapshot_store(const snapshot_t *cs, char *err, size_t errlen)
{
    snapshot_int_t *si = (snapshot_int_t *)cs; /* lazy state only */
    snapshot_t *s = &si->pub;
    char msg[400];
    time_t now;

    err[0] = '\0';
    if (atomic_load_explicit(&si->store_ready, memory_order_acquire))
        return s->store;
    if (!si->store_wanted)
        return NULL;
    pthread_mutex_lock(&si->store_mu);
    now = time(NULL);
    if (!atomic_load_explicit(&si->store_ready, memory_order_relaxed) &&
        now >= si->store_next_try) {
        if (store_open(conf_str(s->conf, CK_DATA_DIRECTORY), STORE_READONLY,
                       &s->store, msg, sizeof(msg)) == STORE_OK) {
            atomic_store_explicit(&si->store_ready, true, memory_order_release);
        } else {
            snprintf(si->store_err, sizeof(si->store_err),
                     "DataDirectory %s: %s",
                     conf_str(s->conf, CK_DATA_DIRECTORY), msg);
            si->store_next_try = now + SNAPSHOT_STORE_RETRY;
        }
    }
    if (!atomic_load_explicit(&si->store_ready, memory_order_relaxed))
        snprintf(err, errlen, "%s", si->store_err);
    pthread_mutex_unlock(&si->store_mu);
    return atomic_load_explicit(&si->store_ready, memory_order_acquire)
               ? s->store
               : NULL;
}

const outcome_t *snapshot_outcome(const snapshot_t *s, int i)
{
    return i >= 0 && (size_t)i < rules_count(s->rules) ? &s->outc[i] : &s->dflt;
}

snapshot_t *snapshot_ref(snapshot_t *s)
{
    if (s)
        atomic_fetch_add(&((snapshot_int_t *)s)->refs, 1);
    return s;
}

void snapshot_unref(snapshot_t *s)
{
    if (s && atomic_fetch_sub(&((snapshot_int_t *)s)->refs, 1) == 1)
        snapshot_free(s);
}

void snapshot_publish(snapshot_t *s)
{
    holder_publish(&current, s);
}

snapshot_t *snapshot_acquire(holder_ref_t *held)
{
    return holder_acquire(&current, held);
}

void snapshot_release(holder_ref_t *held)
{
    holder_release(&current, held);
}
