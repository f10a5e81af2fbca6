/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * feedback.c - applying SES feedback: suppression, DSNs, counters
 *
 * feedback_handle() unwraps and checks what a source delivered (SNS
 * envelope or bare SES JSON, see ses_feedback.h), then apply() does the
 * work for one SES notification: de-duplicate against seen.db, plan the
 * effects (plan_of), decide whether this host writes the DSN (dsn_ours),
 * build it (build_dsn), commit seen keys, suppression entries, counters
 * and the DSN's outbox entry in one store transaction (commit), then
 * inject it from the outbox (outbox_send). feedback_flush() retries what
 * the outbox still holds.
 *
 * DIAGNOSTICS
 *   See ses_feedback.h. Every decision is logged here, one line per
 *   recipient in Postfix's "to=<...>, status=..." form.
 */
#include "config.h"

#include "ses_addr.h"
#include "ses_dsn.h"
#include "ses_feedback.h"
#include "ses_jsonlimit.h"
#include "ses_log.h"
#include "ses_note.h"
#include "ses_tags.h"
#include "ses_util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define COMMIT_TRIES       3
#define OUTBOX_LIFETIME_S  (5 * 86400) /* Postfix's maximal_queue_lifetime */
#define OUTBOX_RETRY_MIN_S 60
#define OUTBOX_RETRY_MAX_S 3600
#define OUTBOX_FLUSH_MAX   1000 /* entries one flush looks at */

struct feedback {
    holder_t confs; /* the conf_t, swapped by feedback_set_conf() */
    store_t *store;
    sns_certs_t *certs;
    int64_t fixed_now;
    char sys_host[256]; /* gethostname() */
    char host_tag[256]; /* this host as ses-relay's mta-host tag says it */
    forwarding_t *fwd;  /* may be NULL */
    pthread_mutex_t outbox_lock; /* one injection at a time here ... */
    int outbox_fd;               /* ... and an flock(2) on outbox.lock */
};

/* One call: the configuration snapshot it started with. */
typedef struct {
    feedback_t *fb;
    conf_t *conf;
    const char *host; /* Reporting-MTA */
} call_t;

/* What one notification does. */
typedef struct {
    int suppress; /* add the recipients to the suppression list */
    supp_reason_t reason;
    supp_source_t source;
    int dsn;            /* send a DSN to the original sender */
    int permanent;      /* for the DSN's default status */
    store_stat_t stat;  /* the counter to bump, or STAT__COUNT */
    const char *status; /* for the log line: bounced, complained, ... */
} plan_t;

feedback_t *feedback_new(conf_t *conf, store_t *store, sns_certs_t *certs)
{
    feedback_t *fb = calloc(1, sizeof(*fb));

    if (fb == NULL)
        return NULL;
    pthread_mutex_init(&fb->outbox_lock, NULL);
    fb->outbox_fd = -1;
    holder_init(&fb->confs, &conf_holder_ops);
    holder_publish(&fb->confs, conf_ref(conf));
    fb->store = store;
    fb->certs = certs;
    if (gethostname(fb->sys_host, sizeof(fb->sys_host) - 1) < 0 ||
        !fb->sys_host[0])
        str_copy(fb->sys_host, "localhost", sizeof(fb->sys_host));
    tags_host(fb->host_tag, sizeof(fb->host_tag));
    return fb;
}

void feedback_free(feedback_t *fb)
{
    if (fb == NULL)
        return;
    holder_destroy(&fb->confs);
    if (fb->outbox_fd >= 0)
        close(fb->outbox_fd);
    pthread_mutex_destroy(&fb->outbox_lock);
    free(fb);
}

void feedback_set_conf(feedback_t *fb, conf_t *conf)
{
    holder_publish(&fb->confs, conf_ref(conf));
}

static void call_begin(feedback_t *fb, call_t *cx)
{
    cx->conf = holder_get(&fb->confs);
    cx->fb = fb;
    cx->host = conf_str(cx->conf, CK_REPORTING_MTA);
    if (cx->host == NULL)
        cx->host = fb->sys_host;
}

static void call_end(call_t *cx)
{
    conf_unref(cx->conf);
}

void feedback_set_forwarding(feedback_t *fb, forwarding_t *fwd)
{
    fb->fwd = fwd;
}

void feedback_set_clock(feedback_t *fb, int64_t fixed)
{
    fb->fixed_now = fixed;
}

static int64_t now_of(const feedback_t *fb)
{
    return fb->fixed_now ? fb->fixed_now : (int64_t)time(NULL);
}

/* ---- planning ------------------------------------------------------ */

static plan_t plan_of(const call_t *cx, const note_t *n)
{
    plan_t p = {0, 0, SUPP_SRC_FEEDBACK, 0, 0, STAT__COUNT, "logged"};
    int dsn = conf_bool(cx->conf, CK_BOUNCE_DSN);

    switch (n->type) {
    case NOTE_BOUNCE:
        if (n->bounce_type == NOTE_BOUNCE_PERMANENT) {
            p.suppress = 1;
            p.reason = SUPP_BOUNCE;
            if (n->bounce_subtype &&
                strcmp(n->bounce_subtype, "OnAccountSuppressionList") == 0)
                p.source = SUPP_SRC_SES;
            p.dsn = dsn;
            p.permanent = 1;
            p.stat = STAT_BOUNCE;
        } else {
            p.dsn = dsn && conf_bool(cx->conf, CK_TRANSIENT_BOUNCE_DSN);
            p.stat = STAT_TRANSIENT;
        }
        p.status = "bounced";
        break;
    case NOTE_COMPLAINT:
        p.suppress = !(n->complaint_type &&
                       strcasecmp(n->complaint_type, "not-spam") == 0);
        p.reason = SUPP_COMPLAINT;
        p.stat = STAT_COMPLAINT;
        p.status = "complained";
        break;
    case NOTE_DELIVERY:
        p.stat = STAT_DELIVERED;
        p.status = "delivered";
        break;
    case NOTE_REJECT:
        p.stat = STAT_REJECT;
        p.status = "rejected";
        break;
    case NOTE_DELIVERY_DELAY:
        p.stat = STAT_DELAY;
        p.status = "delayed";
        break;
    case NOTE_RENDERING_FAILURE:
        p.status = "rendering-failed";
        break;
    default:
        break;
    }
    return p;
}

/* The original was itself a delivery status notification. */
static int was_dsn(const note_t *n)
{
    for (size_t i = 0; i < n->nheaders; i++)
        if (strcasecmp(n->headers[i].name, "Content-Type") == 0 &&
            strcasestr(n->headers[i].value, "multipart/report") &&
            strcasestr(n->headers[i].value, "delivery-status"))
            return 1;
    return 0;
}

/* ---- the DSN ------------------------------------------------------- */

/* Whether this host writes the DSN for n (the rules are in
 * ses_feedback.h); when not, why names the host that does. */
static int dsn_ours(const call_t *cx, const note_t *n,
                    const store_message_t *rec, char *why, size_t whylen)
{
    const char *designated = conf_str(cx->conf, CK_BOUNCE_DSN_HOST);
    char want[256];

    if (n->mta_host && *n->mta_host) {
        if (rec || strcasecmp(n->mta_host, cx->fb->host_tag) == 0)
            return 1;
        snprintf(why, whylen,
                 "host %s relayed it (mta-host tag) and writes the DSN",
                 n->mta_host);
        return 0;
    }
    if (designated == NULL)
        return 1;
    tags_sanitize_value(designated, want, sizeof(want));
    if (strcasecmp(want, cx->fb->host_tag) == 0)
        return 1;
    snprintf(why, whylen,
             "the notification names no host; BounceDSNHost %s writes the "
             "DSN",
             designated);
    return 0;
}

/* Builds the DSN into msg and its recipient into sender. 1: there is one
 * to send; 0: none is due (logged); -1: out of memory. */
static int build_dsn(const call_t *cx, const note_t *n, const plan_t *p,
                     const store_message_t *rec, const char *qid, buf_t *msg,
                     char *sender, size_t senderlen)
{
    dsn_rcpt_t *rcpts = NULL;
    dsn_header_t *hdrs = NULL;
    char err[512], expl[512];
    int64_t last = time_parse_iso8601(n->event_time);
    int rc = -1;
    dsn_t d;

    if (rec)
        str_copy(sender, rec->sender ? rec->sender : "", senderlen);
    else if (addr_is_null(n->source))
        sender[0] = '\0';
    else if (addr_mailbox(n->source, sender, senderlen) != ADDR_OK) {
        log_warning(qid,
                    "no DSN for SES message %s: no address in its source "
                    "\"%.200s\"",
                    n->message_id, n->source);
        return 0;
    }
    if (addr_is_null(sender)) {
        log_info(qid,
                 "no DSN for SES message %s: the original sender is "
                 "the null sender",
                 n->message_id);
        return 0;
    }
    if (was_dsn(n)) {
        log_info(qid, "no DSN for SES message %s: it was itself a DSN",
                 n->message_id);
        return 0;
    }
    if ((rcpts = calloc(n->nrcpts, sizeof(*rcpts))) == NULL ||
        (n->nheaders && (hdrs = calloc(n->nheaders, sizeof(*hdrs))) == NULL))
        goto out;
    for (size_t i = 0; i < n->nrcpts; i++) {
        rcpts[i].address = n->rcpts[i].address;
        rcpts[i].status = n->rcpts[i].status;
        rcpts[i].diagnostic = n->rcpts[i].diagnostic;
        rcpts[i].remote_mta = n->remote_mta_ip;
        rcpts[i].last_attempt = last > 0 ? last : 0;
    }
    for (size_t i = 0; i < n->nheaders; i++) {
        hdrs[i].name = n->headers[i].name;
        hdrs[i].value = n->headers[i].value;
    }
    if (n->bounce_subtype &&
        strcmp(n->bounce_subtype, "OnAccountSuppressionList") == 0)
        snprintf(expl, sizeof(expl),
                 "Amazon SES did not deliver the message (SES message id %s) "
                 "because the recipient is on the account's suppression "
                 "list.",
                 n->message_id);
    else if (p->permanent)
        snprintf(expl, sizeof(expl),
                 "Amazon SES accepted the message (SES message id %s) and "
                 "the receiving mail system refused it for good.",
                 n->message_id);
    else
        snprintf(expl, sizeof(expl),
                 "Amazon SES accepted the message (SES message id %s) but "
                 "gave up delivering it (%s bounce, %s).",
                 n->message_id, n->bounce_type_name,
                 n->bounce_subtype ? n->bounce_subtype : "no detail");
    memset(&d, 0, sizeof(d));
    d.reporting_mta = cx->host;
    d.sender = sender;
    d.queue_id = qid;
    d.message_id = n->message_id;
    d.subject = n->subject;
    d.explanation = expl;
    d.arrival = rec ? rec->time : time_parse_iso8601(n->mail_time);
    if (d.arrival < 0)
        d.arrival = 0;
    d.now = now_of(cx->fb);
    d.permanent = p->permanent;
    d.rcpts = rcpts;
    d.nrcpts = n->nrcpts;
    d.headers = hdrs;
    d.nheaders = n->nheaders;
    if (dsn_build(&d, msg, err, sizeof(err)) < 0) {
        log_warning(qid, "no DSN for SES message %s: %s", n->message_id, err);
        rc = 0; /* nothing to send (e.g. an unusable sender) */
        goto out;
    }
    rc = 1;
out:
    free(rcpts);
    free(hdrs);
    return rc;
}

/* Warns, once per identity, when SES forwards bounces itself too. */
static void warn_forwarding(const call_t *cx, const note_t *n, const char *qid)
{
    char ident[400], err[600];

    switch (forwarding_check(cx->fb->fwd, n->source_arn, ident, sizeof(ident),
                             err, sizeof(err))) {
    case FWD_ON:
        log_warning(qid,
                    "SES identity %s has email feedback forwarding on: SES "
                    "mails its bounces to the sender too, who gets two; turn "
                    "it off (aws sesv2 put-email-identity-feedback-attributes "
                    "--email-identity %s --no-email-forwarding-enabled) or "
                    "set BounceDSN no",
                    ident, ident);
        break;
    case FWD_UNKNOWN:
        log_info(qid,
                 "cannot tell whether SES identity %s forwards bounces "
                 "itself: %s",
                 ident, err);
        break;
    case FWD_QUIET:
        break;
    }
}

/* ---- the outbox ---------------------------------------------------- */

/* Takes the right to inject: this process's mutex, then the host-wide
 * flock on DataDirectory/outbox.lock (released by the kernel if the
 * process dies). -1 (mutex released) when the lock file cannot be had. */
static int outbox_lock(feedback_t *fb, const conf_t *conf, char *err,
                       size_t errlen)
{
    char path[PATH_MAX];

    pthread_mutex_lock(&fb->outbox_lock);
    if (fb->outbox_fd < 0) {
        snprintf(path, sizeof(path), "%s/outbox.lock",
                 conf_str(conf, CK_DATA_DIRECTORY));
        fb->outbox_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    }
    if (fb->outbox_fd < 0 || flock(fb->outbox_fd, LOCK_EX) < 0) {
        snprintf(err, errlen, "%s/outbox.lock: %s",
                 conf_str(conf, CK_DATA_DIRECTORY), strerror(errno));
        pthread_mutex_unlock(&fb->outbox_lock);
        return -1;
    }
    return 0;
}

static void outbox_unlock(feedback_t *fb)
{
    flock(fb->outbox_fd, LOCK_UN);
    pthread_mutex_unlock(&fb->outbox_lock);
}

/* After a failed try: again later with a growing pause, or dropped once
 * the DSN is older than OUTBOX_LIFETIME_S. */
static void outbox_defer(feedback_t *fb, const char *key, const store_dsn_t *d,
                         const char *err)
{
    const char *qid = *d->queue_id ? d->queue_id : NULL;
    int64_t now = now_of(fb), pause = OUTBOX_RETRY_MIN_S;

    for (uint32_t i = 0; i < d->attempts && pause < OUTBOX_RETRY_MAX_S; i++)
        pause *= 2;
    if (pause > OUTBOX_RETRY_MAX_S)
        pause = OUTBOX_RETRY_MAX_S;
    if (now - d->created > OUTBOX_LIFETIME_S) {
        log_error(qid,
                  "DSN for SES message %s to <%s> dropped: not injected in "
                  "%d days (%s)",
                  d->message_id, d->sender, OUTBOX_LIFETIME_S / 86400, err);
        if (store_outbox_del(fb->store, key) != STORE_OK)
            log_warning(qid, "outbox: %s", store_strerror(fb->store));
        return;
    }
    log_warning(qid,
                "DSN for SES message %s not sent, will retry in %lld s: %s",
                d->message_id, (long long)pause, err);
    if (store_outbox_retry(fb->store, key, now + pause) != STORE_OK)
        log_warning(qid, "outbox: %s", store_strerror(fb->store));
}

/* Injects the outbox entry `key` once. ST_OK when it is sent, was sent by
 * someone else meanwhile, or can never be sent; else a temporary status
 * (it stays in the outbox). */
static status_t outbox_send(feedback_t *fb, const conf_t *conf, const char *key)
{
    store_dsn_t *d = NULL;
    char err[512];
    const char *qid;
    store_status_t rc;
    int64_t t_sent;
    status_t st;

    if (outbox_lock(fb, conf, err, sizeof(err)) < 0) {
        log_warning(NULL, "outbox: %s", err);
        return ST_TEMP_RESOURCE;
    }
    if ((rc = store_outbox_get(fb->store, key, &d)) != STORE_OK) {
        outbox_unlock(fb);
        if (rc == STORE_NOTFOUND)
            return ST_OK; /* another process sent it */
        log_warning(NULL, "outbox: %s", store_strerror(fb->store));
        return rc == STORE_PERMFAIL ? ST_OK : store_to_status(rc);
    }
    qid = *d->queue_id ? d->queue_id : NULL;
    st = dsn_send(conf_str(conf, CK_SENDMAIL), d->sender, d->msg, d->len,
                  (int)conf_int(conf, CK_DSN_TIMEOUT), err, sizeof(err));
    if (st == ST_OK || st == ST_PERM_BAD_ADDRESS) {
        /* the window in which a crash sends this DSN again: from here to
         * the end of the delete's commit */
        t_sent = clock_mono_us();
        rc = store_outbox_del(fb->store, key);
        if (st == ST_OK)
            log_info(qid,
                     "sender non-delivery notification: DSN for SES message "
                     "%s sent to <%s>",
                     d->message_id, d->sender);
        else
            log_warning(qid, "no DSN for SES message %s: %s", d->message_id,
                        err);
        if (rc == STORE_OK)
            log_debug(qid,
                      "outbox: DSN for SES message %s removed %lld us after "
                      "sendmail returned",
                      d->message_id, (long long)(clock_mono_us() - t_sent));
        else
            log_warning(qid,
                        "DSN for SES message %s sent but still in the outbox "
                        "(%s): it may be sent again",
                        d->message_id, store_strerror(fb->store));
        st = ST_OK;
    } else
        outbox_defer(fb, key, d, err);
    outbox_unlock(fb);
    store_dsn_free(d);
    return st;
}

typedef struct {
    char (*keys)[STORE_MAX_ID + 1];
    size_t n;
} due_t;

static int collect_due(void *ctx, const char *key)
{
    due_t *due = ctx;

    str_copy(due->keys[due->n++], key, sizeof(due->keys[0]));
    return due->n == OUTBOX_FLUSH_MAX;
}

status_t feedback_flush(feedback_t *fb, int all)
{
    due_t due = {NULL, 0};
    status_t st = ST_OK;
    call_t cx;

    call_begin(fb, &cx);
    if ((due.keys = calloc(OUTBOX_FLUSH_MAX, sizeof(*due.keys))) == NULL) {
        call_end(&cx);
        return ST_TEMP_RESOURCE;
    }
    if (store_outbox_due(fb->store, all ? INT64_MAX : now_of(fb), collect_due,
                         &due) != STORE_OK) {
        log_warning(NULL, "outbox: %s", store_strerror(fb->store));
        st = ST_TEMP_STORE;
    }
    for (size_t i = 0; i < due.n; i++)
        if (outbox_send(fb, cx.conf, due.keys[i]) != ST_OK)
            st = ST_TEMP_RESOURCE;
    free(due.keys);
    call_end(&cx);
    return st;
}

/* ---- the store transaction ----------------------------------------- */

/* 1 applied, 0 a duplicate committed meanwhile, -1 store failure. dsn
 * (NULL for none) goes into the outbox under key in the same transaction. */
static int commit(feedback_t *fb, const note_t *n, const plan_t *p,
                  const char *key, const char *id, const char *config_set,
                  const char *qid, const store_dsn_t *dsn)
{
    int64_t now = now_of(fb), when = time_parse_iso8601(n->event_time);
    suppression_t s = {p->reason, p->source, now, now, 1};
    store_status_t rc = STORE_TEMPFAIL;

    if (when <= 0)
        when = now;
    for (int attempt = 0; attempt < COMMIT_TRIES; attempt++) {
        store_txn_t *tx = NULL;
        int fresh = 0;
        if ((rc = store_txn_begin(fb->store, &tx)) != STORE_OK)
            continue;
        if ((rc = store_seen_add(fb->store, tx, key, now, &fresh)) != STORE_OK)
            goto abort;
        if (!fresh) {
            store_txn_abort(tx);
            return 0;
        }
        if (id &&
            (rc = store_seen_add(fb->store, tx, id, now, NULL)) != STORE_OK)
            goto abort;
        for (size_t i = 0; p->suppress && i < n->nrcpts; i++) {
            rc = store_suppression_put(fb->store, tx, n->rcpts[i].address, &s);
            if (rc == STORE_PERMFAIL) { /* an address we cannot store */
                log_warning(qid, "not suppressing <%s>: %s",
                            n->rcpts[i].address, store_strerror(fb->store));
                continue;
            }
            if (rc != STORE_OK)
                goto abort;
        }
        if (p->stat != STAT__COUNT &&
            (rc = store_stats_add(fb->store, tx, config_set, when, p->stat,
                                  n->nrcpts ? (uint32_t)n->nrcpts : 1)) !=
                STORE_OK &&
            rc != STORE_PERMFAIL)
            goto abort;
        if (dsn && (rc = store_outbox_put(fb->store, tx, key, dsn)) != STORE_OK)
            goto abort;
        if ((rc = store_txn_commit(tx)) == STORE_OK)
            return 1;
        continue;
    abort:
        store_txn_abort(tx);
        if (rc == STORE_PERMFAIL)
            break;
    }
    log_warning(qid, "SES message %s: store: %s", n->message_id,
                store_strerror(fb->store));
    return -1;
}

/* ---- one notification ---------------------------------------------- */

static void log_outcome(const note_t *n, const plan_t *p, const char *qid,
                        int applied)
{
    if (n->nrcpts == 0) {
        log_info(qid, "SES %s event for message %s%s%s", n->type_name,
                 n->message_id ? n->message_id : "-",
                 n->reject_reason || n->failure_message ? ": " : "",
                 n->reject_reason     ? n->reject_reason
                 : n->failure_message ? n->failure_message
                                      : "");
        return;
    }
    for (size_t i = 0; i < n->nrcpts; i++) {
        const note_rcpt_t *r = &n->rcpts[i];
        const char *detail = r->diagnostic      ? r->diagnostic
                             : n->smtp_response ? n->smtp_response
                                                : "";
        char what[160] = "";
        if (n->type == NOTE_BOUNCE)
            snprintf(what, sizeof(what), "%s/%s%s", n->bounce_type_name,
                     n->bounce_subtype ? n->bounce_subtype : "-",
                     *detail ? ": " : "");
        else if (n->type == NOTE_COMPLAINT)
            snprintf(what, sizeof(what), "complaint %s%s",
                     n->complaint_type ? n->complaint_type : "-",
                     *detail ? ": " : "");
        log_msg(n->type == NOTE_BOUNCE || n->type == NOTE_COMPLAINT ? LOG_NOTICE
                                                                    : LOG_INFO,
                qid, "to=<%s>, relay=ses, ses_id=%s, status=%s (%s%s)%s",
                r->address, n->message_id, p->status, what, detail,
                !applied      ? ", duplicate ignored"
                : p->suppress ? ", suppressed"
                              : "");
    }
}

static status_t apply(const call_t *cx, const char *json, size_t len,
                      const char *id, char *detail, size_t detlen)
{
    feedback_t *fb = cx->fb;
    store_message_t *rec = NULL;
    char key[STORE_MAX_ID + 1], err[512], why[300];
    char sender[ADDR_MAX_LEN + 1];
    const char *qid, *config_set;
    store_dsn_t dsn, *queued = NULL;
    status_t st = ST_OK;
    note_t *n = NULL;
    store_status_t rc;
    buf_t msg;
    plan_t p;
    int applied;

    buf_init(&msg, STORE_OUTBOX_MAX_MSG);
    if (note_parse(json, len, &n, err, sizeof(err)) < 0) {
        log_warning(NULL, "%s: refusing SES notification: %s",
                    id ? id : "input", err);
        snprintf(detail, detlen, "%s", err);
        return ST_PERM_BAD_MESSAGE;
    }
    note_event_key(n, key, sizeof(key));
    if ((id && (rc = store_seen_get(fb->store, id)) != STORE_NOTFOUND) ||
        (rc = store_seen_get(fb->store, key)) != STORE_NOTFOUND) {
        if (rc == STORE_OK) {
            log_info(n->queue_id,
                     "SES %s notification for message %s "
                     "already applied; duplicate ignored",
                     n->type_name, n->message_id ? n->message_id : "-");
            snprintf(detail, detlen, "duplicate");
            goto out;
        }
        st = store_to_status(rc);
        snprintf(detail, detlen, "store: %s", store_strerror(fb->store));
        goto out;
    }
    p = plan_of(cx, n);
    if (n->message_id &&
        (rc = store_message_get(fb->store, n->message_id, &rec)) != STORE_OK &&
        rc != STORE_NOTFOUND && p.dsn) {
        st = store_to_status(rc); /* the sender may be in there: wait */
        snprintf(detail, detlen, "store: %s", store_strerror(fb->store));
        goto out;
    }
    qid = rec && rec->queue_id && *rec->queue_id ? rec->queue_id : n->queue_id;
    config_set = n->config_set ? n->config_set : rec ? rec->config_set : NULL;
    if (p.dsn && !dsn_ours(cx, n, rec, why, sizeof(why))) {
        log_info(qid, "no DSN from this host for SES message %s: %s",
                 n->message_id, why);
        p.dsn = 0;
    }
    if (p.dsn) {
        int b = build_dsn(cx, n, &p, rec, qid, &msg, sender, sizeof(sender));
        if (b < 0) {
            st = ST_TEMP_RESOURCE;
            snprintf(detail, detlen, "out of memory");
            goto out;
        }
        if (b > 0) {
            warn_forwarding(cx, n, qid);
            dsn = (store_dsn_t){sender,
                                qid ? qid : "",
                                n->message_id,
                                msg.data,
                                msg.len,
                                now_of(fb),
                                0,
                                0};
            queued = &dsn;
        }
    }
    if ((applied = commit(fb, n, &p, key, id, config_set, qid, queued)) < 0) {
        st = ST_TEMP_STORE;
        snprintf(detail, detlen, "store: %s", store_strerror(fb->store));
        goto out;
    }
    log_outcome(n, &p, qid, applied);
    if (applied && queued)
        outbox_send(fb, cx->conf, key); /* a failure waits in the outbox */
    snprintf(detail, detlen, "%s %s", n->type_name,
             applied ? "applied" : "duplicate");
out:
    buf_free(&msg);
    store_message_free(rec);
    note_free(n);
    return st;
}

/* ---- what a source delivered --------------------------------------- */

static int topic_allowed(const call_t *cx, const char *arn)
{
    const char *const *l = conf_list(cx->conf, CK_SNS_TOPIC_ARN);

    for (; arn && *l; l++)
        if (strcmp(*l, arn) == 0)
            return 1;
    return 0;
}

/* An Amazon EventBridge event from SES ("source": "aws.ses") carries the
 * event publishing record in "detail": returns it as JSON (malloc'd) and
 * the event's id, or NULL when body is not one. */
static char *eventbridge_detail(const char *body, size_t len, char *id,
                                size_t idlen)
{
    json_t *root = jsonlimit_load(body, len, JSON_REJECT_DUPLICATES,
                                  NOTE_MAX_JSON, NULL, 0);
    json_t *detail = json_object_get(root, "detail");
    const char *src = json_string_value(json_object_get(root, "source"));
    const char *eid = json_string_value(json_object_get(root, "id"));
    char *out = NULL;

    if (src && strcmp(src, "aws.ses") == 0 && json_is_object(detail) && eid) {
        snprintf(id, idlen, "eb:%.500s", eid);
        out = json_dumps(detail, JSON_COMPACT);
    }
    json_decref(root);
    return out;
}

/* FB_FRESH_ONLY: the message's Timestamp is within what seen.db
 * remembers. A message applied at t1 keeps its seen key until t1 +
 * SeenRetention; t1 is at least Timestamp - skew (the clocks may differ by
 * that much), so refusing what is older than SeenRetention - skew refuses
 * every replay that would find no key. */
static status_t fresh(const call_t *cx, const sns_msg_t *m, char *err,
                      size_t errlen)
{
    int64_t keep = conf_int(cx->conf, CK_SEEN_RETENTION) / 1000;
    int64_t now = now_of(cx->fb), ts = time_parse_iso8601(m->timestamp);

    if (ts < 0) {
        snprintf(err, errlen, "Timestamp \"%.40s\" is not a time",
                 m->timestamp);
        return ST_PERM_FORGED;
    }
    if (ts > now + FB_CLOCK_SKEW_S) {
        snprintf(err, errlen,
                 "Timestamp %.40s is %lld s ahead of this host's clock",
                 m->timestamp, (long long)(ts - now));
        return ST_PERM_FORGED;
    }
    if (keep > 0 && now - ts > keep - FB_CLOCK_SKEW_S) {
        snprintf(err, errlen,
                 "Timestamp %.40s is older than SeenRetention (%lld s) "
                 "allows, so a duplicate could not be told: a replay?",
                 m->timestamp, (long long)keep);
        return ST_PERM_FORGED;
    }
    return ST_OK;
}

static status_t handle(const call_t *cx, const char *body, size_t len,
                       unsigned flags, const char *source_id, char *detail,
                       size_t detlen)
{
    feedback_t *fb = cx->fb;
    char err[512], id[STORE_MAX_ID + 1];
    sns_msg_t *m = NULL;
    status_t st;
    int rc;

    detail[0] = '\0';
    if ((rc = sns_parse(body, len, &m, err, sizeof(err))) < 0) {
        log_warning(NULL, "%s: refusing message: %s",
                    source_id ? source_id : "input", err);
        snprintf(detail, detlen, "%s", err);
        return ST_PERM_BAD_MESSAGE;
    }
    if (rc == 1) {
        char *inner;
        if ((flags & FB_ALLOW_BARE) &&
            (inner = eventbridge_detail(body, len, id, sizeof(id))) != NULL) {
            st = apply(cx, inner, strlen(inner), id, detail, detlen);
            free(inner);
            return st;
        }
        if (flags & FB_ALLOW_BARE)
            return apply(cx, body, len, source_id, detail, detlen);
        log_warning(NULL,
                    "%s: refusing a message that is not a signed SNS "
                    "message",
                    source_id ? source_id : "input");
        snprintf(detail, detlen, "not an SNS message");
        return ST_PERM_FORGED;
    }
    if (!topic_allowed(cx, m->topic_arn)) {
        log_warning(NULL,
                    "SNS %s %s from topic %s refused: the topic is not "
                    "in SnsTopicArn",
                    m->type, m->message_id, m->topic_arn);
        snprintf(detail, detlen, "topic not allowed");
        st = ST_PERM_FORGED;
        goto out;
    }
    if (fb->certs == NULL)
        st = ST_PERM_FORGED, snprintf(err, sizeof(err), "no certificates");
    else
        st = sns_verify(fb->certs, m, err, sizeof(err));
    if (st != ST_OK) {
        log_warning(NULL, "SNS %s %s from topic %s %s: %s", m->type,
                    m->message_id, m->topic_arn,
                    status_is_permanent(st) ? "refused" : "not verified now",
                    err);
        snprintf(detail, detlen, "%s", err);
        goto out;
    }
    if ((flags & FB_FRESH_ONLY) &&
        (st = fresh(cx, m, err, sizeof(err))) != ST_OK) {
        log_warning(NULL, "SNS %s %s from topic %s refused: %s", m->type,
                    m->message_id, m->topic_arn, err);
        snprintf(detail, detlen, "%s", err);
        goto out;
    }
    if (strcmp(m->type, "Notification") == 0) {
        snprintf(id, sizeof(id), "sns:%.500s", m->message_id);
        st = apply(cx, m->message, m->message_len, id, detail, detlen);
    } else if (strcmp(m->type, "SubscriptionConfirmation") == 0) {
        if ((st = sns_confirm(fb->certs, m, err, sizeof(err))) == ST_OK)
            log_notice(NULL, "confirmed the subscription to SNS topic %s",
                       m->topic_arn);
        else
            log_warning(NULL,
                        "cannot confirm the subscription to SNS topic "
                        "%s: %s",
                        m->topic_arn, err);
        snprintf(detail, detlen, "%s",
                 st == ST_OK ? "subscription confirmed" : err);
    } else {
        log_notice(NULL, "SNS %s for topic %s", m->type, m->topic_arn);
        snprintf(detail, detlen, "%s", m->type);
    }
out:
    sns_msg_free(m);
    return st;
}

status_t feedback_handle(feedback_t *fb, const char *body, size_t len,
                         unsigned flags, const char *source_id, char *detail,
                         size_t detlen)
{
    call_t cx;
    status_t st;

    call_begin(fb, &cx);
    st = handle(&cx, body, len, flags, source_id, detail, detlen);
    call_end(&cx);
    return st;
}
