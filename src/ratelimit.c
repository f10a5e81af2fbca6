/*
 * ratelimit.c - pacing calls with a token bucket shared by threads
 *
 * The bucket is kept as "the time the next token is due" (GCRA, the
 * virtual-scheduling form of a token bucket): a caller asking for n tokens
 * at time t gets the slot max(t - burst/rate, next) and moves next on by
 * n/rate. Its sleep is slot - t when positive. One mutex guards `next`;
 * nobody sleeps while holding it.
 *
 * DIAGNOSTICS
 *   See ses_ratelimit.h.
 */
#include "config.h"

#include "ses_ratelimit.h"
#include "ses_util.h"

#include <pthread.h>
#include <stdlib.h>

struct ratelimit {
    pthread_mutex_t lock;
    double rate;  /* tokens per second; 0: unlimited */
    double burst; /* tokens that may be saved up */
    double next;  /* monotonic ms at which the next token is due */
};

ratelimit_t *ratelimit_new(double rate, double burst)
{
    ratelimit_t *rl = calloc(1, sizeof(*rl));

    if (rl == NULL)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    ratelimit_set(rl, rate, burst);
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

void ratelimit_set(ratelimit_t *rl, double rate, double burst)
{
    pthread_mutex_lock(&rl->lock);
    rl->rate = rate > 0 ? rate : 0;
    rl->burst = burst >= 1 ? burst : 1;
    pthread_mutex_unlock(&rl->lock);
}

double ratelimit_rate(ratelimit_t *rl)
{
    double r;

    pthread_mutex_lock(&rl->lock);
    r = rl->rate;
    pthread_mutex_unlock(&rl->lock);
    return r;
}

/* The slot for `cost` tokens asked for at `now`; the lock is held. */
static double slot_for(const ratelimit_t *rl, double now)
{
    /* Saved-up tokens let a call start up to burst-1 intervals early. */
    double earliest = now - (rl->burst - 1) * 1000.0 / rl->rate;

    return rl->next > earliest ? rl->next : earliest;
}

int ratelimit_acquire(ratelimit_t *rl, double cost, int64_t deadline_ms,
                      int64_t *waited_ms)
{
    double now = (double)clock_mono_ms(), slot;
    int64_t wait = 0;

    if (waited_ms)
        *waited_ms = 0;
    pthread_mutex_lock(&rl->lock);
    if (rl->rate <= 0) {
        pthread_mutex_unlock(&rl->lock);
        return 0;
    }
    slot = slot_for(rl, now);
    if (slot > now && slot > (double)deadline_ms) {
        pthread_mutex_unlock(&rl->lock);
        return -1;
    }
    rl->next = slot + (cost > 0 ? cost : 1) * 1000.0 / rl->rate;
    pthread_mutex_unlock(&rl->lock);
    if (slot > now) {
        wait = (int64_t)(slot - now + 0.5);
        clock_sleep_ms(wait);
    }
    if (waited_ms)
        *waited_ms = wait;
    return 0;
}
