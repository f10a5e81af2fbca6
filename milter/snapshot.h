/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot.h - everything a message is processed with, loaded together
 *
 * A milter snapshot bundles one configuration snapshot with what is built
 * from it: the parsed RulesFile, the DKIM keys, TrustedHosts,
 * VerifiedIdentities, the suppression store handle, and the X-SES-* header
 * values each rule produces (computed here once, not per message). It is
 * immutable and reference-counted. snapshot_load() builds one;
 * snapshot_publish() makes it current (start-up and SIGHUP);
 * snapshot_acquire() gives a message the current one. A message keeps the
 * snapshot it started with until it ends, whatever reloads happen.
 *
 * The hot path takes no lock: a connection keeps its last snapshot and
 * compares a generation number (one atomic load per message); only after
 * a reload does it take the mutex to fetch the new one.
 *
 * The suppression store is the one part that may be missing: when
 * DataDirectory cannot be opened (file system full, unwritable, Berkeley DB
 * busy) the snapshot loads without it and snapshot_store() tries again at
 * most every few seconds; until then lookups follow OnError.
 *
 * DIAGNOSTICS
 *   snapshot_load() returns CONF_OK, CONF_NOFILE or CONF_INVALID with
 *   "file:line: message" in err. snapshot_store() returns NULL with the
 *   reason in err when the store cannot be opened. Nothing here logs.
 */
#ifndef SES_MILTER_SNAPSHOT_H
#define SES_MILTER_SNAPSHOT_H

#include "ses_addrmatch.h"
#include "ses_conf.h"
#include "ses_holder.h"
#include "ses_signer.h"
#include "ses_identity.h"
#include "ses_rules.h"
#include "ses_store.h"
#include "ses_tags.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum { SUPP_ACT_REJECT, SUPP_ACT_DISCARD, SUPP_ACT_OBSERVE } supp_act_t;

/* The X-SES-* values one outcome (a rule, or no rule) produces. */
typedef struct {
    const char *config_set; /* NULL: none */
    const char *tenant;     /* NULL: none */
    const tags_t *tags;     /* config MessageTags merged with the rule's */
    char *tags_header;      /* "k=v, k2=v2", NULL when there are no tags */
    route_t route;
    int percent;
    int line; /* rule line, 0 for "no rule matched" */
} outcome_t;

typedef struct snapshot {
    conf_t *conf;
    rules_t *rules;
    signer_t *dkim;
    addrmatch_t *trusted;
    identity_t *ids;
    store_t *store;  /* use snapshot_store(): opened lazily after a failure */
    outcome_t dflt;  /* no rule matched */
    outcome_t *outc; /* one per rule */
    tags_t *conf_tags;
    bool observe;                       /* Mode observe */
    bool onerror_accept;                /* OnError accept */
    bool trust_auth;                    /* TrustAuthenticated */
    bool trust_local;                   /* TrustLocalSubmission */
    const char *const *trusted_daemons; /* TrustedDaemonNames (conf's) */
    bool require_verified;              /* RequireVerifiedSender */
    bool sandbox;                       /* Sandbox */
    supp_act_t supp_action;             /* SuppressionAction */
    bool want_rcpts; /* recipient rules exist: keep recipients */
} snapshot_t;

#define SNAPSHOT_NO_STORE 1 /* snapshot_load flag: do not open the store */

conf_status_t snapshot_load(conf_t *conf, int flags, snapshot_t **out,
                            char *err, size_t errlen);

/* The suppression store: NULL with err[0] == '\0' when loaded with
 * SNAPSHOT_NO_STORE, NULL with the reason in err while it cannot be
 * opened (tried again at most every SNAPSHOT_STORE_RETRY seconds). */
#define SNAPSHOT_STORE_RETRY 5
store_t *snapshot_store(const snapshot_t *s, char *err, size_t errlen);
/* The outcome of rule i (-1: no rule matched). */
const outcome_t *snapshot_outcome(const snapshot_t *s, int i);

/* The current snapshot is kept in a holder (ses_holder.h). Takes over the
 * caller's reference. */
void snapshot_publish(snapshot_t *s);
/* The snapshot in held when it is still current; otherwise held's is
 * released and held gets the current one (NULL before the first publish).
 * No lock while nothing changed. */
snapshot_t *snapshot_acquire(holder_ref_t *held);
void snapshot_release(holder_ref_t *held); /* held holds nothing after */
snapshot_t *snapshot_ref(snapshot_t *s);
void snapshot_unref(snapshot_t *s); /* NULL is fine */

#endif
