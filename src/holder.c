/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * holder.c - the current configuration snapshot, swapped by reloads
 *
 * The current pointer changes under the mutex, together with the
 * generation, which is also readable without it: a worker whose
 * generation equals it still holds the current snapshot and takes no
 * lock. Generations only grow, so an equal one is never a stale
 * snapshot's.
 *
 * DIAGNOSTICS
 *   See ses_holder.h.
 */
#include "config.h"

#include "ses_holder.h"

#include <stdatomic.h>
#include <stddef.h>

void holder_init(holder_t *h, const holder_ops_t *ops)
{
    pthread_mutex_init(&h->lock, NULL);
    h->cur = NULL;
    atomic_init(&h->gen, 0);
    h->ops = ops;
}

void holder_destroy(holder_t *h)
{
    holder_publish(h, NULL);
    pthread_mutex_destroy(&h->lock);
}

void holder_publish(holder_t *h, void *snap)
{
    void *old;

    pthread_mutex_lock(&h->lock);
    old = h->cur;
    h->cur = snap;
    atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
    pthread_mutex_unlock(&h->lock);
    if (old)
        h->ops->unref(old);
}

/* The current snapshot, referenced, and its generation. */
static void *current(holder_t *h, uint64_t *gen)
{
    void *s;

    pthread_mutex_lock(&h->lock);
    if ((s = h->cur) != NULL)
        h->ops->ref(s);
    *gen = atomic_load_explicit(&h->gen, memory_order_relaxed);
    pthread_mutex_unlock(&h->lock);
    return s;
}

void *holder_get(holder_t *h)
{
    uint64_t gen;

    return current(h, &gen);
}

bool holder_is_current(holder_t *h, const holder_ref_t *r)
{
    return r->snap &&
           r->gen == atomic_load_explicit(&h->gen, memory_order_acquire);
}

void *holder_acquire(holder_t *h, holder_ref_t *r)
{
    void *old = r->snap;

    if (holder_is_current(h, r))
        return r->snap;
    r->snap = current(h, &r->gen);
    if (old)
        h->ops->unref(old);
    return r->snap;
}

void holder_release(holder_t *h, holder_ref_t *r)
{
    if (r->snap)
        h->ops->unref(r->snap);
    r->snap = NULL;
    r->gen = 0;
}
