/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * context.h - per-connection and per-message state of ses-milter
 *
 * A connctx_t lives from the milter connection's negotiation to its close
 * (smfi_setpriv); it owns the client's address, what was negotiated, the
 * snapshot the connection last used, and one msgctx_t that is reset, not
 * freed, between messages, so its buffers are allocated once per
 * connection. A msgctx_t lives from MAIL FROM to end of message or abort:
 * the snapshot it started with (borrowed from the connection, which does
 * not replace it before the next MAIL FROM), the envelope, the headers the
 * message needs kept, and its DKIM signing job.
 *
 * All text kept here is bounded (MSG_MAX_*): input beyond a bound sets a
 * flag the end-of-message step reports, it never grows memory without
 * limit.
 *
 * DIAGNOSTICS
 *   The msg_add_*() functions return false when a bound is reached or
 *   memory runs out; the caller decides (see filter.c).
 */
#ifndef SES_MILTER_CONTEXT_H
#define SES_MILTER_CONTEXT_H

#include "snapshot.h"
#include "trust.h"
#include "ses_signer.h"
#include "ses_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MSG_MAX_ADDR    320         /* bytes of one address */
#define MSG_MAX_RCPTS   10000       /* recipients remembered per message */
#define MSG_MAX_HEADERS (1u << 20)  /* bytes of headers kept per message */
#define MSG_MAX_XSES    (64u << 10) /* bytes of X-SES-* headers kept */

/* A list of NUL-terminated strings in one growing buffer. */
typedef struct {
    buf_t text;
    size_t *off;
    size_t n, cap, max;
} strlist_t;

typedef struct {
    bool active;        /* between MAIL FROM and end of message */
    trust_t trust;      /* TRUST_NONE: not the site's own mail (trust.h) */
    bool failed;        /* an internal error: OnError at end of message */
    bool hdr_overflow;  /* headers beyond MSG_MAX_HEADERS were not kept */
    bool xses_overflow; /* X-SES-* headers beyond MSG_MAX_XSES: not all
                           of them are known */
    char fail_why[160];
    const snapshot_t *snap;
    char sender[MSG_MAX_ADDR + 1]; /* no angle brackets; "" = <> */
    unsigned nrcpts;               /* accepted by us */
    strlist_t rcpts;               /* for recipient rules */
    strlist_t discards;            /* suppressed, removed at end (discard) */
    strlist_t headers;             /* name, value, name, value, ... */
    strlist_t xses;                /* X-SES-* headers: name, value, ... */
    long from_idx;                 /* headers index of the first From
                                      value, -1 when none */
    signer_msg_t *dkim;
    bool dkim_nokey;
    unsigned suppressed; /* suppressed recipients seen */
} msgctx_t;

typedef struct {
    holder_ref_t snap; /* the connection's snapshot, see snapshot.h */
    struct sockaddr_storage addr;
    bool have_addr;
    char client[80];      /* address for log lines */
    unsigned long pflags; /* negotiated SMFIP_* */
    bool body_skipped;    /* SMFIP_NOBODY: no body, no signing */
    msgctx_t msg;
} connctx_t;

connctx_t *conn_new(void);
void conn_free(connctx_t *c); /* NULL is fine */

/* Ends the current message (if any) and prepares the next one. */
void msg_reset(msgctx_t *m);

void strlist_init(strlist_t *l, size_t max_items, size_t max_bytes);
bool strlist_add(strlist_t *l, const char *s);
const char *strlist_get(const strlist_t *l, size_t i);
void strlist_clear(strlist_t *l);
void strlist_free(strlist_t *l);

#endif
