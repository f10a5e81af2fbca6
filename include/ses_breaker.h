/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_breaker.h - host-wide breakers: stop calling SES for a scope that
 * cannot send
 *
 * When SES says that a scope cannot send - the account is paused or
 * suspended, our keys or signature are refused, the clock is off, a
 * configuration set is paused or missing, an identity is not verified -
 * every further call for that scope would get the same answer. A breaker
 * remembers it for every ses-relay of the host (through hoststate.c, so
 * pipe-mode processes and an LMTP server share it), per key:
 *
 *   region  the SES region the call goes to (so per-region failover can
 *           keep its own breakers with the same state);
 *   scope   BREAKER_ACCOUNT (name ""), BREAKER_CONFIGSET (the set's name,
 *           "" for none), BREAKER_IDENTITY (an address or domain, lower
 *           case), BREAKER_REGION (the region's endpoint health; name "");
 *   name    as above.
 *
 * States: closed (no record at all, or fewer than `threshold` failures in
 * a row), open (until the interval ends: callers hold their mail and
 * answer 4.x.x at once), then half-open: the first caller after the
 * interval gets BREAKER_PROBE and its delivery is the probe; everyone else
 * still holds until the probe is back or its lease (probe_ms) runs out.
 * A probe that SES accepts closes the breaker (breaker_close()); one that
 * gets the same kind of answer opens it again for twice the interval, up
 * to max_ms (breaker_trip()); one that says nothing about the scope (a
 * timeout, a message refused for itself) hands the probe to the next
 * caller (breaker_release()).
 *
 * Cost: breaker_check() of a closed scope is one lock-free read of shared
 * memory (hoststate_get()); only tripping, probing and closing write.
 *
 * Logging is the caller's, guided by the return values: breaker_trip()
 * returns true for exactly one caller per interval (the one that opened
 * it or began a new interval), breaker_close() true for the one that
 * closed an open breaker. That gives one error line per interval however
 * many deliveries are held.
 *
 * breaker_check() breaker_trip() breaker_close() breaker_release()
 * breaker_each() breaker_reset() breaker_render_metrics()
 * breaker_scope_name()
 *
 * DIAGNOSTICS
 *   None of them fails as a whole: when the shared state cannot be written
 *   (its table full, a lock refused) the breaker simply does not hold and
 *   calls go to SES, which answers as before. Nothing here logs.
 */
#ifndef SES_BREAKER_H
#define SES_BREAKER_H

#include "ses_hoststate.h"
#include "ses_status.h"
#include "ses_util.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    BREAKER_NONE = 0, /* an answer that concerns no scope */
    BREAKER_ACCOUNT,
    BREAKER_CONFIGSET,
    BREAKER_IDENTITY,
    BREAKER_REGION,
} breaker_scope_t;

typedef struct {
    const char *region;
    breaker_scope_t scope;
    const char *name; /* "" for the account and region scopes */
} breaker_key_t;

typedef struct {
    int64_t first_ms; /* the first interval */
    int64_t max_ms;   /* intervals double up to this */
    int64_t probe_ms; /* lease of a probe before another caller may try */
    int threshold;    /* failures in a row that open it (0 or 1: one) */
} breaker_policy_t;

typedef enum {
    BREAKER_PASS,  /* closed: call SES */
    BREAKER_PROBE, /* call SES: this call is the probe; report its outcome */
    BREAKER_HOLD,  /* open: do not call; defer with info->status */
} breaker_verdict_t;

#define BREAKER_REASON_MAX 240

typedef struct {
    status_t status;     /* what opened it */
    int level;           /* intervals in a row (0: closed) */
    int failures;        /* failures counted towards the threshold */
    int64_t interval_ms; /* the current interval */
    int64_t left_ms;     /* until a probe may go (0: now) */
    int64_t since;       /* unix seconds of the first trip */
    bool probing;        /* a probe is out */
    char reason[BREAKER_REASON_MAX]; /* SES's answer as logged */
} breaker_info_t;

/* Before a call. info (may be NULL) is filled for PROBE and HOLD. */
breaker_verdict_t breaker_check(hoststate_t *hs, const breaker_key_t *k,
                                const breaker_policy_t *p,
                                breaker_info_t *info);
/* After an answer that says the scope cannot send. true: this caller
 * opened the breaker or began a new interval, and should log it. */
bool breaker_trip(hoststate_t *hs, const breaker_key_t *k,
                  const breaker_policy_t *p, status_t st, const char *reason,
                  breaker_info_t *info);
/* After SES accepted a call of the scope: forget it. true when it was
 * open (was, may be NULL, tells how it was). A closed scope costs a read. */
bool breaker_close(hoststate_t *hs, const breaker_key_t *k,
                   breaker_info_t *was);
/* A probe that said nothing about the scope: the next caller probes. */
void breaker_release(hoststate_t *hs, const breaker_key_t *k);

/* Every breaker with a record (open, or counting failures), until fn
 * returns nonzero. */
void breaker_each(hoststate_t *hs,
                  int (*fn)(void *ud, const breaker_key_t *k,
                            const breaker_info_t *info),
                  void *ud);
/* Closes every breaker (the operator fixed the cause); returns how many
 * were open. */
int breaker_reset(hoststate_t *hs);

/* The open breakers in the Prometheus text format (a metrics_renderer_t
 * for metrics_add_renderer(), hs being the hoststate_t):
 *   sesmilter_breaker_open{region,scope,name,status} intervals in a row
 *   sesmilter_breakers_open how many (0 when none: alert on > 0)
 * Returns 0, or -1 when b is full. */
int breaker_render_metrics(void *hs, buf_t *b);

/* "account", "configuration-set", "identity", "region", "none" */
const char *breaker_scope_name(breaker_scope_t s);

#endif
