/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * plan.c - one delivery to Amazon SES, decided once
 *
 * plan_new() walks the steps of ses_plan.h in order; a step that refuses
 * the message leaves the later ones undone (nothing goes, so nothing more
 * needs deciding). The strings of the recipients (their SES forms,
 * comparison forms and reasons) live in one block, p->strings: they are
 * collected in a buf_t as offsets and turned into pointers at the end,
 * when the block no longer moves.
 *
 * DIAGNOSTICS
 *   See ses_plan.h.
 */
#include "config.h"

#include "ses_plan.h"
#include "ses_addr.h"
#include "ses_log.h"
#include "ses_ses.h"
#include "ses_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER_VALUE_MAX 2048 /* bytes of an X-SES-* or From value read */
#define NO_STRING        SIZE_MAX

/* ---- the header fields a plan reads, in one pass ---- */

enum { F_CONFIG_SET, F_TENANT, F_TAGS, F_FROM, F_COUNT };

static const char *const field_names[F_COUNT] = {
    "X-SES-CONFIGURATION-SET", "X-SES-TENANT", "X-SES-MESSAGE-TAGS", "From"};

typedef struct {
    char value[F_COUNT][HEADER_VALUE_MAX];
    bool found[F_COUNT];
    int left;
} fields_t;

static int field_take(void *ud, const char *name, const char *value)
{
    fields_t *f = ud;

    for (int i = 0; i < F_COUNT; i++)
        if (!f->found[i] && strcasecmp(name, field_names[i]) == 0) {
            str_copy(f->value[i], value, sizeof(f->value[i]));
            f->found[i] = true;
            return --f->left == 0; /* the first of each is the one */
        }
    return 0;
}

static const char *field(const fields_t *f, int i)
{
    return f->found[i] ? f->value[i] : NULL;
}

/* ---- the string block ---- */

/* Appends s with its NUL; its offset, or NO_STRING when memory ran out
 * (then *oom is set). */
static size_t pool_add(buf_t *pool, const char *s, bool *oom)
{
    size_t off = pool->len;

    if (buf_append(pool, s, strlen(s) + 1) < 0) {
        *oom = true;
        return NO_STRING;
    }
    return off;
}

static const char *pool_at(const char *base, size_t off)
{
    return off == NO_STRING ? NULL : base + off;
}

/* ---- the steps ---- */

/* Step 5: refuses every recipient that would go with st and why. */
static void refuse_all(plan_t *p, status_t st)
{
    for (size_t i = 0; i < p->ngo; i++) {
        plan_rcpt_t *r = &p->rcpt[p->go[i]];
        r->status = st;
        r->detail = p->why;
        r->ses = NULL;
    }
    p->ngo = 0;
}

static const char *const repaired_fields[] = {"DKIM-Signature", "Delivered-To",
                                              NULL};
#define REPAIR_PREFIX "X-Original-"

/* Step 3: fields RFC 5322 lets a message repeat but SES refuses to see
 * twice ("Duplicate header 'DKIM-Signature'."): the newest (topmost)
 * stays, the others are renamed X-Original-*, which changes nothing the
 * message means - an older signature that SES's new Message-ID and Date
 * would break anyway, trace lines of earlier hops. Other repeats
 * (Subject, Content-Type, ...) make the message ambiguous: SES refuses
 * them and the message bounces. */
static void repair(const plan_t *p)
{
    int n = spool_rename_repeats(p->spool, repaired_fields, REPAIR_PREFIX);

    if (n > 0)
        log_info(p->queue_id,
                 "renamed %d repeated DKIM-Signature/Delivered-To field(s) "
                 "to " REPAIR_PREFIX "*: Amazon SES refuses a message that "
                 "repeats them",
                 n);
    else if (n < 0)
        log_warning(p->queue_id,
                    "cannot rename repeated DKIM-Signature/Delivered-To "
                    "fields (%s): sent as it is",
                    strerror(errno));
}

/* Step 5, the size: a message the spool had to cut, or over the API's
 * limit after base64. */
static bool too_large(plan_t *p, const conf_t *conf)
{
    bool v1 = conf_is(conf, CK_API_VERSION, "v1");
    size_t max = v1 ? SES_V1_MAX_ENCODED : SES_V2_MAX_ENCODED;
    size_t encoded = (spool_size(p->spool) + 2) / 3 * 4;

    if (spool_too_large(p->spool)) /* never send what the spool cut */
        snprintf(p->why, sizeof(p->why),
                 "message size exceeds fixed limit of %zu bytes",
                 spool_size(p->spool));
    else if (encoded > max)
        snprintf(p->why, sizeof(p->why),
                 "message is %zu bytes after CRLF and base64, over the "
                 "%zu-byte limit of the SES %s API%s",
                 encoded, max, v1 ? "v1" : "v2",
                 v1 ? " (ApiVersion v2 allows 40 MB)" : "");
    else
        return false;
    return true;
}

/* A valid SES name in a field (copied into out), else the key's value,
 * else NULL; *bad tells of an invalid field. */
static const char *name_or_conf(const conf_t *conf, const char *v,
                                conf_key_t key, char *out, size_t outlen,
                                bool *bad)
{
    *bad = false;
    if (v && tags_name_ok(v) && strlen(v) <= 64) {
        str_copy(out, v, outlen);
        return out;
    }
    *bad = v != NULL;
    return conf_str(conf, key);
}

/* Step 4. */
static void options(plan_t *p, const conf_t *conf, const fields_t *f,
                    const char *mta_host)
{
    char err[256];
    const char *v;
    tags_t *t = NULL;
    bool bad;

    p->config_set =
        name_or_conf(conf, field(f, F_CONFIG_SET), CK_CONFIGURATION_SET,
                     p->config_set_buf, sizeof(p->config_set_buf), &bad);
    if (bad)
        log_warning(p->queue_id,
                    "ignoring invalid X-SES-CONFIGURATION-SET header");
    p->tenant = name_or_conf(conf, field(f, F_TENANT), CK_TENANT_NAME,
                             p->tenant_buf, sizeof(p->tenant_buf), &bad);
    if (bad)
        log_warning(p->queue_id, "ignoring invalid X-SES-TENANT header");
    if ((v = conf_str(conf, CK_MESSAGE_TAGS)) != NULL &&
        tags_parse(v, ':', &t, err, sizeof(err)) == 0) {
        tags_merge(p->tags, t);
        tags_free(t);
        t = NULL;
    }
    if ((v = field(f, F_TAGS)) != NULL) {
        if (tags_parse(v, '=', &t, err, sizeof(err)) == 0)
            tags_merge(p->tags, t);
        else
            log_warning(p->queue_id, "ignoring X-SES-MESSAGE-TAGS: %s", err);
        tags_free(t);
    }
    /* a tag that does not fit (TAGS_MAX) goes without, as before */
    (void)tags_set(p->tags, "mta-host", mta_host ? mta_host : "");
    if (p->queue_id && *p->queue_id) {
        char q[256];
        tags_sanitize_value(p->queue_id, q, sizeof(q));
        (void)tags_set(p->tags, "mta-queue-id", q);
    }
}

/* Step 6, the message's own scopes. */
static void message_keys(plan_t *p, const fields_t *f)
{
    char a[HOSTSTATE_NAME_MAX];
    const char *from = field(f, F_FROM);

    if (addr_key(p->sender_ses, p->sender_key, sizeof(p->sender_key)) !=
        ADDR_OK)
        p->sender_key[0] = '\0';
    if (from == NULL || addr_mailbox(from, a, sizeof(a)) != ADDR_OK ||
        addr_key(a, p->from_key, sizeof(p->from_key)) != ADDR_OK)
        p->from_key[0] = '\0';
}

static status_t addr_status(addr_status_t st)
{
    return st == ADDR_LOCAL_NON_ASCII ? ST_PERM_NON_ASCII : ST_PERM_BAD_ADDRESS;
}

/* Steps 1 and 2. The offsets of each recipient's strings go to off[]
 * (3 per recipient: SES form, key, reason). */
static void addresses(plan_t *p, buf_t *pool, size_t *off, bool *oom)
{
    char out[PLAN_ADDR_MAX], key[HOSTSTATE_NAME_MAX], d[PLAN_ADDR_MAX + 80];
    addr_status_t st =
        addr_sendable(p->sender, p->sender_ses, sizeof(p->sender_ses));

    if (st != ADDR_OK) {
        snprintf(p->why, sizeof(p->why), "sender <%s>: %s", p->sender,
                 addr_strerror(st));
        for (size_t i = 0; i < p->nrcpts; i++) {
            p->rcpt[i].status = addr_status(st);
            p->rcpt[i].detail = p->why;
        }
        return;
    }
    for (size_t i = 0; i < p->nrcpts; i++) {
        st = addr_sendable(p->rcpt[i].addr, out, sizeof(out));
        if (st != ADDR_OK) {
            snprintf(d, sizeof(d), "<%s>: %s", p->rcpt[i].addr,
                     addr_strerror(st));
            p->rcpt[i].status = addr_status(st);
            off[3 * i + 2] = pool_add(pool, d, oom);
            continue;
        }
        if (addr_key(out, key, sizeof(key)) != ADDR_OK)
            key[0] = '\0';
        off[3 * i] = pool_add(pool, out, oom);
        off[3 * i + 1] = pool_add(pool, key, oom);
        p->go[p->ngo++] = i;
    }
}

plan_t *plan_new(const conf_t *conf, const ses_message_t *m, const char *region,
                 const char *mta_host, char *err, size_t errlen)
{
    size_t n = m->nrcpts, *off = NULL;
    plan_t *p = malloc(sizeof(*p));
    fields_t *f = NULL;
    bool oom = false;
    buf_t pool;

    buf_init(&pool, 0);
    if (p == NULL)
        goto fail;
    p->queue_id = m->queue_id;
    p->spool = m->spool;
    p->deadline_ms = m->deadline_ms;
    p->sender = m->sender ? m->sender : "";
    p->sender_ses[0] = p->sender_key[0] = p->from_key[0] = p->why[0] = '\0';
    str_copy(p->region, region ? region : "", sizeof(p->region));
    p->config_set = p->tenant = NULL;
    p->nrcpts = n;
    p->ngo = 0;
    p->per = (size_t)conf_int(conf, CK_API_ADDRESS_LIMIT);
    p->strings = NULL;
    p->tags = tags_new();
    p->rcpt = malloc((n ? n : 1) * sizeof(*p->rcpt));
    p->go = malloc((n ? n : 1) * sizeof(*p->go));
    off = malloc((n ? n : 1) * 3 * sizeof(*off));
    if (p->tags == NULL || p->rcpt == NULL || p->go == NULL || off == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        p->rcpt[i] = (plan_rcpt_t){m->rcpts[i], NULL, "", ST_OK, NULL};
        off[3 * i] = off[3 * i + 1] = off[3 * i + 2] = NO_STRING;
    }
    addresses(p, &pool, off, &oom);
    if (oom)
        goto fail;
    p->strings = buf_steal(&pool);
    for (size_t i = 0; i < n; i++) {
        plan_rcpt_t *r = &p->rcpt[i];
        r->ses = pool_at(p->strings, off[3 * i]);
        if (off[3 * i + 1] != NO_STRING)
            r->key = pool_at(p->strings, off[3 * i + 1]);
        if (off[3 * i + 2] != NO_STRING)
            r->detail = pool_at(p->strings, off[3 * i + 2]);
    }
    free(off);
    off = NULL;
    if (p->ngo > 0)
        repair(p);
    /* the options of every message, sent or not: its metrics count under
     * its configuration set */
    if ((f = malloc(sizeof(*f))) == NULL)
        goto fail;
    memset(f->found, 0, sizeof(f->found));
    f->left = F_COUNT;
    spool_headers_each(p->spool, field_take, f);
    options(p, conf, f, mta_host);
    if (p->ngo > 0 && too_large(p, conf))
        refuse_all(p, ST_PERM_TOO_LARGE);
    else if (p->ngo > 0 && p->tenant && conf_is(conf, CK_API_VERSION, "v1")) {
        /* Sending without the tenant would escape its reputation policy:
         * the message waits for ApiVersion v2. */
        snprintf(p->why, sizeof(p->why),
                 "the message is for SES tenant %s, and tenants need "
                 "ApiVersion v2 (SES v1 SendRawEmail has no TenantName)",
                 p->tenant);
        log_error(p->queue_id, "%s [an operator must act]", p->why);
        refuse_all(p, ST_TEMP_CONFIG);
    }
    message_keys(p, f);
    free(f);
    return p;
fail:
    snprintf(err, errlen, "out of memory");
    buf_free(&pool);
    free(off);
    free(f);
    plan_free(p);
    return NULL;
}

void plan_free(plan_t *p)
{
    if (p == NULL)
        return;
    tags_free(p->tags);
    free(p->rcpt);
    free(p->go);
    free(p->strings);
    free(p);
}

size_t plan_batches(const plan_t *p)
{
    return p->per ? (p->ngo + p->per - 1) / p->per : 0;
}

size_t plan_batch(const plan_t *p, size_t b, const size_t **idx)
{
    size_t first = b * p->per;

    *idx = p->go + first;
    return p->ngo - first < p->per ? p->ngo - first : p->per;
}
