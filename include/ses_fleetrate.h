/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_fleetrate.h - one account's send rate shared by a fleet, SES as the
 * coordinator
 *
 * Every host of a fleet sets MaxSendRate to the account's maximum send
 * rate R, the number the operator has. Alone, a host paces at R. With
 * several, no host knows how many others send: each paces at its own rate
 * r (FLEETRATE_MIN * R <= r <= R) and SES's answers steer it, additive
 * increase and multiplicative decrease (AIMD) as in TCP:
 *   - each accepted call raises r by (FLEETRATE_ADD * R + FLEETRATE_GROW *
 *     k * r) per second since the last raise (at most one second counted,
 *     so an idle host does not bank a jump), k growing from 1 by one every
 *     FLEETRATE_RAMP_S seconds without a cut, up to FLEETRATE_RAMP_MAX: a
 *     host the others left alone soon takes the whole rate back;
 *   - a throttling answer ("Maximum sending rate exceeded") cuts r to
 *     r * FLEETRATE_CUT, at most once per FLEETRATE_HOLD_MS: the throttles
 *     of one burst, answered to calls made before the cut, are one signal.
 * N hosts then share about R between them: the sum rises slowly until SES
 * throttles, and every host that sees it backs off. The throttled calls are
 * retried (aws.c, within RetryTime), not deferred.
 *
 * The state is one record (HOSTSTATE_RATE) in DataDirectory/hoststate,
 * shared by every ses-relay process of the host (pipe mode runs one per
 * delivery), keyed by the region whose account rate it is. Reading it
 * costs no lock and no system call (hoststate_get()).
 *
 * DIAGNOSTICS
 *   fleetrate_new() returns NULL when max_rate is 0 (no MaxSendRate: no
 *   pacing, nothing to adapt) or memory runs out. Nothing else fails: a
 *   record that cannot be written (a full state file) leaves the rate as
 *   it was. Nothing logs.
 */
#ifndef SES_FLEETRATE_H
#define SES_FLEETRATE_H

#include "ses_hoststate.h"

#include <stdint.h>

#define FLEETRATE_ADD      0.005 /* of R per second */
#define FLEETRATE_GROW     0.02  /* of r per second */
#define FLEETRATE_CUT      0.75
#define FLEETRATE_HOLD_MS  300
#define FLEETRATE_MIN      0.02 /* of R */
#define FLEETRATE_RAMP_S   5.0  /* growth doubles 5 s after the last cut, */
#define FLEETRATE_RAMP_MAX 5.0  /* ... up to 5 times as fast */

typedef struct fleetrate fleetrate_t;

/* hs is borrowed; region names the account rate ("" for the only one). */
fleetrate_t *fleetrate_new(hoststate_t *hs, const char *region,
                           double max_rate);
void fleetrate_free(fleetrate_t *f); /* NULL is fine */

/* A reloaded MaxSendRate: the rate is kept within the new maximum. */
void fleetrate_set_max(fleetrate_t *f, double max_rate);

/* The rate to pace at now (recipients per second). */
double fleetrate_rate(fleetrate_t *f);

/* SES's answer to one call: accepted, or throttled for the send rate. */
void fleetrate_accepted(fleetrate_t *f);
void fleetrate_throttled(fleetrate_t *f);

/* For metrics and tests: SES answers counted by the host's record. */
typedef struct {
    double rate, max;
    uint64_t accepted, throttled, cuts;
} fleetrate_stats_t;
void fleetrate_stats(fleetrate_t *f, fleetrate_stats_t *out);

#endif
