/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit.c - pacing calls with a token bucket shared by threads
 *
 * The bucket is kept as "the time the next token is due" (GCRA, the
 * virtual-scheduling form of a token bucket): a caller asking for n tokens
 * at time t gets the slot max(t - burst/rate, next) and moves next on by
 * n/rate. Its sleep is slot - t when positive. One mutex guards `next`;
 * nobody sleeps while holding it.
 *
 * Shared between processes (ratelimit_share()), `next` lives in a file
 * beside the kernel's boot id, so the monotonic clock (which no clock
 * step moves) can be shared: a value from another boot, or more than an
 * hour ahead (a corrupt file), is taken as "now". The file is read and
 * written under flock(); the mutex still orders the threads of one
 * process, since flock() does not.
 *
 * DIAGNOSTICS
 *   See ses_ratelimit.h.
 */
#include "config.h"

#include "ses_ratelimit.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define SHARED_MAX_AHEAD_MS 3600000.0

struct ratelimit {
    pthread_mutex_t lock;
    double rate;  /* tokens per second; 0: unlimited */
    double burst; /* tokens that may be saved up */
    double next;  /* monotonic ms at which the next token is due */
    int fd;       /* the shared file, or -1 */
    char *path;
    uint64_t boot; /* this boot's id, hashed */
};

typedef struct {
    uint64_t boot;
    double next;
} shared_t; /* the shared file's contents */

ratelimit_t *ratelimit_new(double rate, double burst)
{
    ratelimit_t *rl = calloc(1, sizeof(*rl));

    if (rl == NULL)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    rl->fd = -1;
    ratelimit_set(rl, rate, burst);
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    if (rl->fd >= 0)
        close(rl->fd);
    free(rl->path);
    free(rl);
}

void ratelimit_set(ratelimit_t *rl, double rate, double burst)
{
    pthread_mutex_lock(&rl->lock);
    rl->rate = rate > 0 ? rate : 0;
    rl->burst = burst >= 1 ? burst : 1;
    pthread_mutex_unlock(&rl->lock);
}

int ratelimit_share(ratelimit_t *rl, const char *path, char *err, size_t errlen)
{
    char *copy;
    int fd, rc = 0;

    pthread_mutex_lock(&rl->lock);
    if (rl->path && strcmp(rl->path, path) == 0)
        goto out; /* already shared there (a reload) */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
    if (fd < 0 || (copy = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: %s", path,
                 strerror(fd < 0 ? errno : ENOMEM));
        if (fd >= 0)
            close(fd);
        rc = -1;
        goto out;
    }
    if (rl->fd >= 0)
        close(rl->fd);
    free(rl->path);
    rl->fd = fd;
    rl->path = copy;
    rl->boot = clock_boot_id();
out:
    pthread_mutex_unlock(&rl->lock);
    return rc;
}

double ratelimit_rate(ratelimit_t *rl)
{
    double r;

    pthread_mutex_lock(&rl->lock);
    r = rl->rate;
    pthread_mutex_unlock(&rl->lock);
    return r;
}

/* The slot for tokens asked for at `now` when the next token is due at
 * `next`; the lock is held. */
static double slot_for(const ratelimit_t *rl, double next, double now)
{
    /* Saved-up tokens let a call start up to burst-1 intervals early. */
    double earliest = now - (rl->burst - 1) * 1000.0 / rl->rate;

    return next > earliest ? next : earliest;
}

/* The shared `next`; the file lock is held. A missing or short file, a
 * value from another boot or an absurd one counts as "now". */
static double shared_next(const ratelimit_t *rl, double now)
{
    shared_t v;

    if (pread(rl->fd, &v, sizeof(v), 0) != (ssize_t)sizeof(v) ||
        v.boot != rl->boot || v.next != v.next ||
        v.next > now + SHARED_MAX_AHEAD_MS)
        return now;
    return v.next;
}

int ratelimit_acquire(ratelimit_t *rl, double cost, int64_t deadline_ms,
                      int64_t *waited_ms)
{
    double now = (double)clock_mono_ms(), next, slot;
    int64_t wait = 0;
    int shared;

    if (waited_ms)
        *waited_ms = 0;
    pthread_mutex_lock(&rl->lock);
    if (rl->rate <= 0) {
        pthread_mutex_unlock(&rl->lock);
        return 0;
    }
    /* Shared: `next` comes from the file, under its lock. If the lock
     * cannot be had, this process paces alone. */
    shared = rl->fd >= 0 && flock(rl->fd, LOCK_EX) == 0;
    next = shared ? shared_next(rl, now) : rl->next;
    slot = slot_for(rl, next, now);
    if (slot > now && slot > (double)deadline_ms) {
        if (shared)
            (void)flock(rl->fd, LOCK_UN);
        pthread_mutex_unlock(&rl->lock);
        return -1;
    }
    next = slot + (cost > 0 ? cost : 1) * 1000.0 / rl->rate;
    if (shared) {
        shared_t v = {rl->boot, next};
        (void)pwrite(rl->fd, &v, sizeof(v), 0);
        (void)flock(rl->fd, LOCK_UN);
    } else {
        rl->next = next;
    }
    pthread_mutex_unlock(&rl->lock);
    if (slot > now) {
        wait = (int64_t)(slot - now + 0.5);
        clock_sleep_ms(wait);
    }
    if (waited_ms)
        *waited_ms = wait;
    return 0;
}
