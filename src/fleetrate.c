/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fleetrate.c - one account's send rate shared by a fleet, SES as the
 * coordinator
 *
 * The record's payload (fr_payload_t) holds the rate, the maximum it was
 * computed for, the monotonic times of the last raise and the last cut,
 * and counters. fleetrate_rate() reads it with hoststate_get();
 * fleetrate_accepted() and fleetrate_throttled() change it with
 * hoststate_update(), whose callback does only arithmetic. A record from
 * an earlier boot keeps its rate and forgets its times.
 *
 * DIAGNOSTICS
 *   See ses_fleetrate.h.
 */
#include "config.h"

#include "ses_fleetrate.h"
#include "ses_util.h"

#include <stdlib.h>
#include <string.h>

#define FR_MAGIC 0x46524154u /* "FRAT" */
#define FR_KIND  1           /* the account's maximum send rate */

typedef struct {
    uint32_t magic;
    uint32_t reserved;
    double rate;
    double max;
    int64_t last_raise_ms;
    int64_t last_cut_ms;
    uint64_t accepted;
    uint64_t throttled;
    uint64_t cuts;
} fr_payload_t;

_Static_assert(sizeof(fr_payload_t) <= HOSTSTATE_PAYLOAD_MAX,
               "fleet rate payload too large");

struct fleetrate {
    hoststate_t *hs;
    char region[HOSTSTATE_REGION_MAX];
    double max; /* read by the callbacks, set under the caller's care */
};

typedef struct {
    const fleetrate_t *f;
    int throttled;
} fr_event_t;

static hoststate_key_t fr_key(const fleetrate_t *f)
{
    return (hoststate_key_t){HOSTSTATE_RATE, FR_KIND, f->region, ""};
}

static double clamp(double r, double max)
{
    if (r > max)
        return max;
    if (r < FLEETRATE_MIN * max)
        return FLEETRATE_MIN * max;
    return r;
}

/* The payload of rec as this host's state now: a new, foreign or
 * other-maximum record starts at the maximum; an earlier boot's times
 * are over. */
static void fr_load(const fleetrate_t *f, const hoststate_rec_t *rec,
                    bool found, fr_payload_t *p)
{
    memcpy(p, rec->payload, sizeof(*p));
    if (!found || p->magic != FR_MAGIC || !(p->rate > 0)) {
        memset(p, 0, sizeof(*p));
        p->magic = FR_MAGIC;
        p->rate = f->max;
    } else if (rec->stale_clock)
        p->last_raise_ms = p->last_cut_ms = 0;
    if (p->max != f->max) {
        p->rate = clamp(p->rate, f->max);
        p->max = f->max;
    }
}

static hoststate_action_t fr_apply(void *ud, hoststate_rec_t *rec, bool found)
{
    const fr_event_t *ev = ud;
    const fleetrate_t *f = ev->f;
    int64_t now = rec->now_ms;
    fr_payload_t p;

    fr_load(f, rec, found, &p);
    if (ev->throttled) {
        p.throttled++;
        if (p.last_cut_ms == 0 || now - p.last_cut_ms >= FLEETRATE_HOLD_MS) {
            p.rate = clamp(p.rate * FLEETRATE_CUT, f->max);
            p.last_cut_ms = now;
            p.cuts++;
        }
        p.last_raise_ms = now; /* growth starts again from here */
    } else {
        int64_t ms = p.last_raise_ms ? now - p.last_raise_ms : 0;
        double s = (ms > 1000 ? 1000 : ms < 0 ? 0 : ms) / 1000.0;
        /* the longer SES has not throttled, the faster it grows (up to
         * FLEETRATE_RAMP_MAX times): a host left alone by the others
         * soon takes the whole rate */
        double calm = p.last_cut_ms ? (now - p.last_cut_ms) / 1000.0 : 1e9;
        double ramp = 1 + calm / FLEETRATE_RAMP_S;
        if (ramp > FLEETRATE_RAMP_MAX)
            ramp = FLEETRATE_RAMP_MAX;
        p.accepted++;
        p.rate = clamp(
            p.rate +
                (FLEETRATE_ADD * f->max + FLEETRATE_GROW * ramp * p.rate) * s,
            f->max);
        p.last_raise_ms = now;
    }
    rec->priority = 200; /* above identity breakers: never evicted by them */
    rec->expires = 0;
    memcpy(rec->payload, &p, sizeof(p));
    return HOSTSTATE_WRITE;
}

fleetrate_t *fleetrate_new(hoststate_t *hs, const char *region, double max_rate)
{
    fleetrate_t *f;

    if (hs == NULL || !(max_rate > 0) || (f = calloc(1, sizeof(*f))) == NULL)
        return NULL;
    f->hs = hs;
    str_copy(f->region, region ? region : "", sizeof(f->region));
    f->max = max_rate;
    return f;
}

void fleetrate_free(fleetrate_t *f)
{
    free(f);
}

void fleetrate_set_max(fleetrate_t *f, double max_rate)
{
    if (f && max_rate > 0)
        f->max = max_rate;
}

static void fr_read(fleetrate_t *f, fr_payload_t *p)
{
    hoststate_key_t key = fr_key(f);
    hoststate_rec_t rec;
    bool found = hoststate_get(f->hs, &key, &rec) == HOSTSTATE_OK;

    if (!found)
        memset(&rec, 0, sizeof(rec));
    fr_load(f, &rec, found, p);
}

double fleetrate_rate(fleetrate_t *f)
{
    fr_payload_t p;

    if (f == NULL)
        return 0;
    fr_read(f, &p);
    return p.rate;
}

static void fr_event(fleetrate_t *f, int throttled)
{
    hoststate_key_t key;
    fr_event_t ev = {f, throttled};

    if (f == NULL)
        return;
    key = fr_key(f);
    (void)hoststate_update(f->hs, &key, fr_apply, &ev);
}

void fleetrate_accepted(fleetrate_t *f)
{
    fr_event(f, 0);
}

void fleetrate_throttled(fleetrate_t *f)
{
    fr_event(f, 1);
}

void fleetrate_stats(fleetrate_t *f, fleetrate_stats_t *out)
{
    fr_payload_t p;

    memset(out, 0, sizeof(*out));
    if (f == NULL)
        return;
    fr_read(f, &p);
    *out = (fleetrate_stats_t){p.rate, p.max, p.accepted, p.throttled, p.cuts};
}
