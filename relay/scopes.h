/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scopes.h - the scopes of one SES call and their host-wide breakers
 *
 * A call to SES concerns an account (in a region), a configuration set and
 * sending identities: the envelope sender, the From address, their
 * domains, and each recipient (the sandbox checks recipients too). When
 * SES answers that one of them cannot send - an account paused, keys
 * refused, a configuration set missing, an identity not verified - its
 * breaker (src/breaker.c, shared by every ses-relay of the host through
 * DataDirectory/hoststate) opens, and until a probe delivery goes through:
 *
 *   - scopes_before() holds the recipients of a call whose scope is open:
 *     they get the 4.x.x status of that scope at once, with SES's reason,
 *     and no call is made for them. A scope of the whole message (account,
 *     configuration set, sender, From) holds every recipient; a
 *     recipient's own identity holds that recipient only. The first call
 *     after an interval is the probe;
 *   - scopes_after() opens (or extends) the breaker SES's answer names,
 *     logs one error line per interval however many deliveries it holds,
 *     closes the breakers a successful call probed ("resumed" at LOG_INFO,
 *     with the hint to flush Postfix's queue), and hands an inconclusive
 *     probe on.
 *
 * The hot path, every scope closed, is one lock-free read per scope.
 * BreakerInterval 0 turns it all off (answers are then logged per
 * delivery as before).
 *
 * DIAGNOSTICS
 *   Nothing fails: without DataDirectory/hoststate the breakers are this
 *   process's own (said once at LOG_WARNING).
 */
#ifndef SES_RELAY_SCOPES_H
#define SES_RELAY_SCOPES_H

#include "ses_breaker.h"
#include "ses_conf.h"
#include "ses_plan.h"
#include "ses_ses.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct scopes scopes_t;           /* per process */
typedef struct scopes_call scopes_call_t; /* per SES call */

scopes_t *scopes_new(void);
void scopes_free(scopes_t *sc); /* NULL is fine */

/* The host state in use (opened on first use), e.g. for ses-relay -b. */
hoststate_t *scopes_state(scopes_t *sc, const conf_t *conf);

/* Before one call for the recipients p->rcpt[idx[0..n)] of plan p, to
 * its region (the primary route's), with the keys the plan holds: go[i]
 * tells whether recipient idx[i] may be sent; the others' results
 * (res[idx[i]], res has p->nrcpts entries) are set. With all_or_none
 * (pipe mode, where one deferred recipient makes Postfix retry them all)
 * one held recipient holds the whole call. Returns the call context
 * (NULL when memory runs out: then nothing is held); it keeps p and idx. */
scopes_call_t *scopes_before(scopes_t *sc, const conf_t *conf, const plan_t *p,
                             const size_t *idx, size_t n, bool all_or_none,
                             bool *go, ses_result_t *res);
/* After the call: res[idx[i]] for the recipients that went (go[i]). Frees
 * call. */
void scopes_after(scopes_t *sc, scopes_call_t *call, const bool *go,
                  const ses_result_t *res);

/* Whether a failed result's loud status is logged by the breakers (once
 * per interval) rather than by the delivery's own log line. */
bool scopes_logged(const conf_t *conf, const ses_result_t *r);

#endif
