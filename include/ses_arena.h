/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_arena.h - memory that is all released at once
 *
 * arena_alloc() hands out blocks from chunks of at least ARENA_CHUNK bytes
 * (doubling as they fill); arena_release() wipes and frees them all. For
 * a library that allocates many small blocks for one job and may forget
 * to free some: the job's memory costs a few mallocs and cannot leak.
 *
 * DIAGNOSTICS
 *   arena_alloc() returns NULL when malloc does. Nothing here logs.
 */
#ifndef SES_ARENA_H
#define SES_ARENA_H

#include <stddef.h>

#define ARENA_CHUNK (32 * 1024)

typedef struct arena_chunk arena_chunk_t;
typedef struct {
    arena_chunk_t *chunks;
} arena_t; /* zero-initialised: empty */

/* Aligned for any type (max_align_t). */
void *arena_alloc(arena_t *a, size_t n);
/* Wipes and frees every block; the arena is empty again. */
void arena_release(arena_t *a);

#endif
