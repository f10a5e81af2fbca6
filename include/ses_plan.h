/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_plan.h - one delivery to Amazon SES, decided once
 *
 * plan_new() takes every decision about a message before anything is
 * sent, in this order, and keeps them in a plan_t that the sender
 * (ses_send()) executes and that ses-relay's breakers, message map, log
 * line and metrics read:
 *
 *   1. the envelope sender's form for SES (addr_sendable(): the local
 *      part as written, an A-label domain); a sender SES cannot take
 *      refuses every recipient (5.6.7 non-ASCII local part, 5.1.3
 *      malformed UTF-8);
 *   2. each recipient's form for SES likewise; one it cannot take is
 *      refused alone;
 *   3. when some recipient can go: the repair of fields SES refuses to
 *      see twice (spool_rename_repeats(): the second and later
 *      DKIM-Signature and Delivered-To fields become X-Original-*), the
 *      one change made to a message;
 *   4. the configuration set, tenant and tags of every message (its
 *      metrics count under that set even when nothing goes):
 *      ConfigurationSet, TenantName and MessageTags, overridden by the
 *      milter's X-SES-CONFIGURATION-SET, X-SES-TENANT and
 *      X-SES-MESSAGE-TAGS fields (an invalid one is ignored with a
 *      warning), plus the tags mta-host and mta-queue-id;
 *   5. whether the message can go at all: not when the spool had to cut
 *      it (over MaxMessageSize) or when it is over its API's limit after
 *      CRLF and base64 (5.3.4, ses_ses.h), not for an SES tenant while
 *      ApiVersion is v1 (4.3.5, logged: an operator must act); then
 *      every recipient that would have gone gets that status and reason;
 *   6. the comparison forms (addr_key()) of the sender, the From address
 *      and each recipient, the names of the host-wide breakers of the
 *      message's scopes, and the region they are looked up in;
 *   7. the batches: the recipients that go, RecipientsPerCall to a call.
 *
 * The header block is read once, for step 4 and the From address of
 * step 6.
 *
 * DIAGNOSTICS
 *   plan_new() returns NULL only when memory runs out (err says so);
 *   everything else is a decision in the plan. It logs what it ignores
 *   (invalid X-SES-* fields), the repair, and a tenant it cannot send on
 *   v1, each with the queue id.
 */
#ifndef SES_PLAN_H
#define SES_PLAN_H

#include "ses_conf.h"
#include "ses_hoststate.h"
#include "ses_spool.h"
#include "ses_status.h"
#include "ses_tags.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_ADDR_MAX 1024 /* bytes of an address in its form for SES */
#define PLAN_NAME_MAX 80   /* a configuration set or tenant name (64) */

/* A message as the MTA hands it over. */
typedef struct {
    const char *sender;       /* envelope sender; "" for <> */
    const char *const *rcpts; /* envelope recipients */
    size_t nrcpts;
    const char *queue_id; /* Postfix queue id, or NULL */
    spool_t *spool;       /* the message, CRLF */
    int64_t deadline_ms;  /* clock_mono_ms() by which every call must be
                             over (no request starts unless its Timeout
                             fits); 0: none */
} ses_message_t;

typedef struct {
    const char *addr;   /* as the MTA gave it */
    const char *ses;    /* its form for SES; NULL when it does not go */
    const char *key;    /* its comparison form (breaker name), or "" */
    status_t status;    /* ST_OK when it goes; else why not (no call) */
    const char *detail; /* the reason when it does not go */
} plan_rcpt_t;

typedef struct {
    /* the message */
    const char *queue_id; /* or NULL */
    spool_t *spool;
    int64_t deadline_ms;
    const char *sender;             /* as given; "" for <> */
    char sender_ses[PLAN_ADDR_MAX]; /* its form for SES; "" for <> */
    /* its scopes: the primary route's region, the comparison forms of
     * the sender and of the From address ("" when there is none) */
    char region[64];
    char sender_key[HOSTSTATE_NAME_MAX];
    char from_key[HOSTSTATE_NAME_MAX];
    /* what it goes out with */
    const char *config_set; /* NULL: none */
    const char *tenant;     /* NULL: none */
    tags_t *tags;           /* never NULL in a plan */
    /* the recipients, each decided; go[0..ngo) those that go, in order,
     * per to a call */
    size_t nrcpts;
    plan_rcpt_t *rcpt;
    size_t *go;
    size_t ngo;
    size_t per;
    /* room for the above */
    char config_set_buf[PLAN_NAME_MAX];
    char tenant_buf[PLAN_NAME_MAX];
    char why[320]; /* a reason that holds for every recipient */
    char *strings;
} plan_t;

/* The plan for message m under configuration conf; region is the primary
 * route's (ses_client_region()), mta_host the mta-host tag's value
 * (ses_client_host()). NULL when memory runs out. */
plan_t *plan_new(const conf_t *conf, const ses_message_t *m, const char *region,
                 const char *mta_host, char *err, size_t errlen);
void plan_free(plan_t *p); /* NULL is fine */

/* Batch b of plan p (b < plan_batches(p)): its recipients are
 * p->rcpt[(*idx)[0..n)]; returns n. */
size_t plan_batches(const plan_t *p);
size_t plan_batch(const plan_t *p, size_t b, const size_t **idx);

#endif
