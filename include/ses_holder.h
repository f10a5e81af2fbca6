/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_holder.h - the current configuration snapshot, swapped by reloads
 *
 * A holder keeps the current one of a kind of reference-counted snapshot
 * (a conf_t, the milter's snapshot_t, ses-relay's configuration with its
 * credentials): holder_publish() installs a new one and drops the holder's
 * reference to the old one, which lives on while work in flight still
 * holds it (OpenDKIM's struct dkimf_config). A worker keeps its reference
 * in a holder_ref_t: holder_acquire() keeps it while it is current - one
 * atomic load, no lock, on the per-message path - and otherwise trades it
 * for the current one. holder_get() is a one-off reference.
 *
 * The ops take and drop a reference of the snapshot's own kind. The
 * fields of holder_t are private; HOLDER_INIT() initialises a static one.
 *
 * DIAGNOSTICS
 *   None: nothing here can fail. holder_get() and holder_acquire() give
 *   NULL before the first holder_publish() (or after publishing NULL).
 */
#ifndef SES_HOLDER_H
#define SES_HOLDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    void (*ref)(void *snap);
    void (*unref)(void *snap); /* never called with NULL */
} holder_ops_t;

typedef struct {
    pthread_mutex_t lock;
    void *cur;
    _Atomic uint64_t gen; /* bumped by every holder_publish() */
    const holder_ops_t *ops;
} holder_t;

#define HOLDER_INIT(opsp)                                                      \
    {                                                                          \
        PTHREAD_MUTEX_INITIALIZER, NULL, 0, (opsp)                             \
    }

/* What one worker holds: a snapshot and its generation. Zero: nothing. */
typedef struct {
    void *snap;
    uint64_t gen;
} holder_ref_t;

void holder_init(holder_t *h, const holder_ops_t *ops);
/* Drops the current snapshot; h may be initialised again. */
void holder_destroy(holder_t *h);
/* snap (NULL: none) becomes current; takes over the caller's reference. */
void holder_publish(holder_t *h, void *snap);
/* A new reference to the current snapshot, for the caller to drop. */
void *holder_get(holder_t *h);
/* r's snapshot when it is still current; else r's reference is dropped
 * and r holds the current one. Returns r->snap. */
void *holder_acquire(holder_t *h, holder_ref_t *r);
/* Whether r holds the current snapshot. */
bool holder_is_current(holder_t *h, const holder_ref_t *r);
/* Drops r's reference; r holds nothing after. */
void holder_release(holder_t *h, holder_ref_t *r);

#endif
