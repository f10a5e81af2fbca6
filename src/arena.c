/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena.c - memory that is all released at once
 *
 * DIAGNOSTICS
 *   See ses_arena.h.
 */
#include "config.h"

#include "ses_arena.h"
#include "ses_util.h"

#include <stdlib.h>

struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    max_align_t data[];
};

void *arena_alloc(arena_t *a, size_t n)
{
    arena_chunk_t *c = a->chunks;
    size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);

    if (need < n)
        return NULL;
    if (c == NULL || c->size - c->used < need) {
        size_t size =
            c && c->size * 2 > ARENA_CHUNK ? c->size * 2 : ARENA_CHUNK;
        if (size < need)
            size = need;
        if (size > SIZE_MAX - sizeof(arena_chunk_t) ||
            (c = malloc(sizeof(arena_chunk_t) + size)) == NULL)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->chunks;
        a->chunks = c;
    }
    c->used += need;
    return (char *)c->data + c->used - need;
}

void arena_release(arena_t *a)
{
    for (arena_chunk_t *c = a->chunks, *next; c; c = next) {
        next = c->next;
        secure_zero(c->data, c->used);
        free(c);
    }
    a->chunks = NULL;
}
