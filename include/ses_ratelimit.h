/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_ratelimit.h - pacing calls with a token bucket shared by threads
 *
 * A ratelimit_t hands out `cost` tokens at `rate` tokens per second, with
 * at most `burst` tokens saved up while idle. ratelimit_acquire() reserves
 * the caller's tokens under a mutex and then sleeps, without the lock, until
 * they are due, so callers are served in the order they asked and never all
 * at once: with burst 1 and rate 50, calls leave 20 ms apart whatever the
 * number of threads. A rate of 0 means unlimited.
 *
 * ratelimit_share() makes the bucket one that every process using the
 * same file shares (pipe mode runs a process per delivery): the file holds
 * the time the next token is due and is updated under flock(). Created
 * with mode 0660 if missing.
 *
 * SES counts its maximum send rate in recipients, so the SES client asks
 * for as many tokens as a call has destinations (see ses.c).
 *
 * DIAGNOSTICS
 *   ratelimit_acquire() returns 0 once the tokens are the caller's, or -1
 *   without reserving anything when they would only be due after
 *   deadline_ms (monotonic clock, see clock_mono_ms()); the caller defers.
 *   ratelimit_new() returns NULL when memory runs out. ratelimit_share()
 *   returns 0, or -1 with a message in err (the bucket stays per process).
 */
#ifndef SES_RATELIMIT_H
#define SES_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit ratelimit_t;

ratelimit_t *ratelimit_new(double rate, double burst);
void ratelimit_free(ratelimit_t *rl); /* NULL is fine */

int ratelimit_share(ratelimit_t *rl, const char *path, char *err,
                    size_t errlen);

/* Changes the rate (e.g. after a configuration reload); 0: unlimited. */
void ratelimit_set(ratelimit_t *rl, double rate, double burst);
double ratelimit_rate(ratelimit_t *rl);

/* Waits until `cost` tokens are available; *waited_ms (may be NULL)
 * receives the time slept. */
int ratelimit_acquire(ratelimit_t *rl, double cost, int64_t deadline_ms,
                      int64_t *waited_ms);

#endif
