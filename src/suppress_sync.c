/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suppress_sync.c - two-way sync with the SESv2 account suppression list
 *
 * list_remote() pages through ListSuppressedDestinations; list_local()
 * walks suppression.db with tombstones; both lists are sorted by address
 * and merge-joined in suppress_sync(), which calls settle() for each
 * address with what each side knows. SES calls go through the aws module
 * (signed, retried, classified).
 *
 * DIAGNOSTICS
 *   See ses_suppress_sync.h.
 */
#include "config.h"

#include "ses_addr.h"
#include "ses_jsonlimit.h"
#include "ses_log.h"
#include "ses_note.h"
#include "ses_suppress_sync.h"
#include "ses_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUPP_PATH     "/v2/email/suppression/addresses"
#define LIST_RESPONSE (32 * 1024 * 1024)

typedef struct {
    char *addr; /* addr_key() form, or lower-cased when it has none */
    supp_reason_t reason;
    int64_t time; /* SES: LastUpdateTime; here: last (removal time) */
    int removed;  /* here: a tombstone */
} entry_t;

typedef struct {
    entry_t *v;
    size_t n, cap;
} list_t;

typedef struct {
    store_t *st;
    const aws_service_t *ses;
    http_t *http;
    int dry_run;
    sync_report_fn report;
    void *ctx;
    sync_stats_t *stats;
    status_t first_failure;
    char *err;
    size_t errlen;
} sync_t;

static void list_free(list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].addr);
    free(l->v);
}

static int list_add(list_t *l, const char *addr, supp_reason_t reason,
                    int64_t time, int removed)
{
    char key[ADDR_MAX_LEN + 1];
    int keyed = addr_key(addr, key, sizeof(key)) == ADDR_OK;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        entry_t *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n].addr = strdup(keyed ? key : addr)) == NULL)
        return -1;
    if (!keyed)
        str_lower(l->v[l->n].addr);
    l->v[l->n].reason = reason;
    l->v[l->n].time = time;
    l->v[l->n].removed = removed;
    l->n++;
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->addr, ((const entry_t *)b)->addr);
}

/* ---- SES ----------------------------------------------------------- */

static status_t ses_call(sync_t *s, const char *method, const char *path,
                         const char *query, const char *body,
                         aws_response_t *resp)
{
    aws_request_t rq;

    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.path = path;
    rq.query = query;
    if (body) {
        rq.content_type = "application/json";
        rq.body = body;
        rq.body_len = strlen(body);
    }
    rq.max_response = LIST_RESPONSE;
    aws_response_init(resp);
    return aws_call(s->ses, s->http, &rq, resp);
}

/* One page's summaries into l; *next gets NextToken (malloc'd) or NULL. */
static int parse_page(const char *body, size_t len, list_t *l, char **next,
                      char *err, size_t errlen)
{
    json_t *root = jsonlimit_load(body, len, 0, LIST_RESPONSE, NULL, 0);
    json_t *items = json_object_get(root, "SuppressedDestinationSummaries");
    const char *tok = json_string_value(json_object_get(root, "NextToken"));
    int rc = 0;

    *next = NULL;
    if (!json_is_object(root) || (items && !json_is_array(items))) {
        snprintf(err, errlen,
                 "SES ListSuppressedDestinations: answer does "
                 "not parse");
        json_decref(root);
        return -1;
    }
    for (size_t i = 0; items && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i), *t;
        const char *addr =
            json_string_value(json_object_get(it, "EmailAddress"));
        const char *reason = json_string_value(json_object_get(it, "Reason"));
        int64_t when = 0;
        if (addr == NULL || strlen(addr) > STORE_MAX_ADDR)
            continue;
        t = json_object_get(it, "LastUpdateTime");
        if (json_is_number(t)) {
            /* seconds since 1970; anything else (1e300, NaN is not JSON)
             * must not reach the cast, which is undefined out of range */
            double d = json_number_value(t);
            when = d > 0 && d < 1e13 ? (int64_t)d : 0;
        } else if (json_is_string(t))
            when = time_parse_iso8601(json_string_value(t));
        if (list_add(l, addr,
                     reason && str_iequal(reason, "COMPLAINT") ? SUPP_COMPLAINT
                                                               : SUPP_BOUNCE,
                     when > 0 ? when : 0, 0) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
    }
    if (rc == 0 && tok && *tok && (*next = strdup(tok)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    json_decref(root);
    return rc;
}

int suppress_sync_parse_page(const char *body, size_t len, size_t *count,
                             char **next, char *err, size_t errlen)
{
    list_t l = {NULL, 0, 0};
    int rc = parse_page(body, len, &l, next, err, errlen);

    *count = l.n;
    list_free(&l);
    return rc;
}

static status_t list_remote(sync_t *s, list_t *l)
{
    char *token = NULL;
    status_t st = ST_OK;
    buf_t q;

    buf_init(&q, 64 * 1024);
    do {
        aws_response_t resp;
        char *next = NULL;
        buf_reset(&q);
        if (aws_query_add(&q, "PageSize", "1000") < 0 ||
            (token && aws_query_add(&q, "NextToken", token) < 0)) {
            snprintf(s->err, s->errlen, "NextToken too long");
            st = ST_TEMP_PROTOCOL;
            break;
        }
        st = ses_call(s, "GET", SUPP_PATH, q.data, NULL, &resp);
        if (st != ST_OK)
            snprintf(s->err, s->errlen, "%s", resp.detail);
        else if (parse_page(resp.body.data, resp.body.len, l, &next, s->err,
                            s->errlen) < 0)
            st = ST_TEMP_PROTOCOL;
        aws_response_free(&resp);
        free(token);
        token = next;
    } while (st == ST_OK && token);
    free(token);
    buf_free(&q);
    return st;
}

/* ---- here ---------------------------------------------------------- */

static int collect_local(void *ctx, const char *addr, const suppression_t *sp,
                         int removed)
{
    return list_add(ctx, addr, sp->reason, sp->last, removed) < 0 ? 1 : 0;
}

/* ---- settling one address ------------------------------------------ */

static void failed(sync_t *s, status_t st, const char *what, const char *addr,
                   const char *why)
{
    s->stats->failed++;
    log_warning(NULL, "sync: %s <%s> failed: %s", what, addr, why);
    if (s->first_failure == ST_OK) {
        s->first_failure = st;
        snprintf(s->err, s->errlen, "%s <%s>: %s", what, addr, why);
    }
}

static void done(sync_t *s, const char *action, const char *addr,
                 size_t *counter)
{
    (*counter)++;
    if (s->report)
        s->report(s->ctx, action, addr);
    if (!s->dry_run)
        log_info(NULL, "sync: %s <%s>", action, addr);
}

/* Adds addr here as SES has it, marked as known to SES. */
static int add_here(sync_t *s, const entry_t *r)
{
    suppression_t e = {r->reason, SUPP_SRC_SES, r->time, r->time, 1};
    store_txn_t *tx = NULL;

    if (store_txn_begin(s->st, &tx) != STORE_OK)
        goto fail;
    if (store_suppression_put(s->st, tx, r->addr, &e) != STORE_OK ||
        store_suppression_mark_synced(s->st, tx, r->addr) != STORE_OK) {
        store_txn_abort(tx);
        goto fail;
    }
    if (store_txn_commit(tx) != STORE_OK)
        goto fail;
    return 0;
fail:
    failed(s, ST_TEMP_STORE, "adding", r->addr, store_strerror(s->st));
    return -1;
}

static status_t push(sync_t *s, const entry_t *l)
{
    aws_response_t resp;
    json_t *o = json_pack("{s:s, s:s}", "EmailAddress", l->addr, "Reason",
                          l->reason == SUPP_COMPLAINT ? "COMPLAINT" : "BOUNCE");
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    status_t st;

    json_decref(o);
    if (body == NULL)
        return ST_TEMP_RESOURCE;
    st = ses_call(s, "PUT", SUPP_PATH, NULL, body, &resp);
    if (st != ST_OK)
        failed(s, st, "pushing", l->addr, resp.detail);
    aws_response_free(&resp);
    free(body);
    return st;
}

static status_t delete_remote(sync_t *s, const char *addr)
{
    char enc[3 * STORE_MAX_ADDR + 1], path[sizeof(SUPP_PATH) + 1 + sizeof(enc)];
    aws_response_t resp;
    status_t st;

    if (aws_uri_encode(addr, enc, sizeof(enc)) < 0)
        return ST_PERM_BAD_ADDRESS;
    snprintf(path, sizeof(path), "%s/%s", SUPP_PATH, enc);
    st = ses_call(s, "DELETE", path, NULL, NULL, &resp);
    if (st != ST_OK && strcmp(resp.error_code, "NotFoundException") == 0)
        st = ST_OK; /* gone already: what we wanted */
    if (st != ST_OK)
        failed(s, st, "deleting from SES", addr, resp.detail);
    aws_response_free(&resp);
    return st;
}

static void settle(sync_t *s, const entry_t *r, const entry_t *l)
{
    suppression_t cur;
    unsigned flags = 0;

    if (r && !l) {
        if (s->dry_run || add_here(s, r) == 0)
            done(s, "pull", r->addr, &s->stats->pulled);
    } else if (r && !l->removed) {
        if (!s->dry_run &&
            store_suppression_mark_synced(s->st, NULL, l->addr) != STORE_OK)
            failed(s, ST_TEMP_STORE, "marking", l->addr, store_strerror(s->st));
    } else if (r) { /* removed here, still in SES */
        if (l->time >= r->time) {
            if (s->dry_run || (delete_remote(s, l->addr) == ST_OK &&
                               !store_is_temporary(store_suppression_purge(
                                   s->st, NULL, l->addr))))
                done(s, "delete-remote", l->addr, &s->stats->deleted_remote);
        } else if (s->dry_run || add_here(s, r) == 0) {
            done(s, "restore", l->addr, &s->stats->restored);
        }
    } else if (l->removed) {
        if (s->dry_run ||
            !store_is_temporary(store_suppression_purge(s->st, NULL, l->addr)))
            done(s, "purge", l->addr, &s->stats->purged);
    } else if (store_suppression_get_state(s->st, l->addr, &cur, &flags) ==
                   STORE_OK &&
               (flags & STORE_SUPP_SYNCED)) {
        if (s->dry_run ||
            !store_is_temporary(store_suppression_purge(s->st, NULL, l->addr)))
            done(s, "remove-local", l->addr, &s->stats->removed_local);
    } else {
        if (s->dry_run || (push(s, l) == ST_OK &&
                           !store_is_temporary(store_suppression_mark_synced(
                               s->st, NULL, l->addr))))
            done(s, "push", l->addr, &s->stats->pushed);
    }
}

status_t suppress_sync(store_t *st, const aws_service_t *ses, http_t *http,
                       int dry_run, sync_report_fn report, void *ctx,
                       sync_stats_t *stats, char *err, size_t errlen)
{
    sync_t s = {st, ses, http, dry_run, report, ctx, stats, ST_OK, err, errlen};
    list_t remote = {0}, local = {0};
    status_t status;
    store_status_t rc;
    size_t i = 0, j = 0;

    memset(stats, 0, sizeof(*stats));
    err[0] = '\0';
    if ((status = list_remote(&s, &remote)) != ST_OK)
        goto out;
    rc = store_suppression_each(st, 1, collect_local, &local);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "%s", store_strerror(st));
        status = store_to_status(rc);
        goto out;
    }
    qsort(remote.v, remote.n, sizeof(*remote.v), entry_cmp);
    stats->remote = remote.n;
    stats->local = local.n;
    while (i < remote.n || j < local.n) {
        int c = i == remote.n  ? 1
                : j == local.n ? -1
                               : strcmp(remote.v[i].addr, local.v[j].addr);
        if (c < 0)
            settle(&s, &remote.v[i++], NULL);
        else if (c > 0)
            settle(&s, NULL, &local.v[j++]);
        else {
            settle(&s, &remote.v[i], &local.v[j]);
            /* SES may list an address twice in different cases */
            for (i++;
                 i < remote.n && strcmp(remote.v[i].addr, local.v[j].addr) == 0;
                 i++)
                ;
            j++;
        }
    }
    status = s.first_failure;
out:
    list_free(&remote);
    list_free(&local);
    return status;
}
