/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * context.c - per-connection and per-message state of ses-milter
 *
 * DIAGNOSTICS
 *   See context.h.
 */
#include "config.h"

#include "context.h"

#include <stdlib.h>
#include <string.h>

void strlist_init(strlist_t *l, size_t max_items, size_t max_bytes)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->text, max_bytes);
    l->max = max_items;
}

bool strlist_add(strlist_t *l, const char *s)
{
    size_t at = l->text.len;

    if (l->n == l->max)
        return false;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        size_t *no = realloc(l->off, nc * sizeof(size_t));
        if (no == NULL)
            return false;
        l->off = no;
        l->cap = nc;
    }
    if (buf_append(&l->text, s, strlen(s) + 1) < 0)
        return false;
    l->off[l->n++] = at;
    return true;
}

const char *strlist_get(const strlist_t *l, size_t i)
{
    return i < l->n ? l->text.data + l->off[i] : NULL;
}

void strlist_clear(strlist_t *l)
{
    l->n = 0;
    l->text.len = 0; /* keeps the allocation for the next message */
}

void strlist_free(strlist_t *l)
{
    buf_free(&l->text);
    free(l->off);
    memset(l, 0, sizeof(*l));
}

connctx_t *conn_new(void)
{
    connctx_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    strlist_init(&c->msg.rcpts, MSG_MAX_RCPTS, MSG_MAX_RCPTS * 64);
    strlist_init(&c->msg.discards, MSG_MAX_RCPTS, MSG_MAX_RCPTS * 64);
    strlist_init(&c->msg.headers, SIZE_MAX, MSG_MAX_HEADERS);
    strlist_init(&c->msg.xses, SIZE_MAX, MSG_MAX_XSES);
    c->msg.from_idx = -1;
    return c;
}

void msg_reset(msgctx_t *m)
{
    signer_msg_free(m->dkim);
    m->dkim = NULL;
    m->dkim_nokey = false;
    m->active = m->failed = m->hdr_overflow = m->xses_overflow = false;
    m->trust = TRUST_NONE;
    m->fail_why[0] = '\0';
    m->snap = NULL;
    m->sender[0] = '\0';
    m->nrcpts = m->suppressed = 0;
    m->from_idx = -1;
    strlist_clear(&m->rcpts);
    strlist_clear(&m->discards);
    strlist_clear(&m->headers);
    strlist_clear(&m->xses);
}

void conn_free(connctx_t *c)
{
    if (c == NULL)
        return;
    msg_reset(&c->msg);
    strlist_free(&c->msg.rcpts);
    strlist_free(&c->msg.discards);
    strlist_free(&c->msg.headers);
    strlist_free(&c->msg.xses);
    snapshot_release(&c->snap);
    free(c);
}
