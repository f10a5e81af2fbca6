/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * filter.c - the libmilter callbacks: what ses-milter does to each message
 *
 * Per message, in the order of the SMTP conversation:
 *   MAIL FROM  take the current snapshot (a reload later does not touch
 *              this message); decide whether this is the site's own mail
 *              (trust.h: local submission, TrustedHosts, SMTP AUTH,
 *              TrustedDaemonNames). Only the site's own mail is checked
 *              against RequireVerifiedSender (550 5.7.1) and Sandbox,
 *              DKIM-signed, routed to SES and keeps its X-SES-* headers;
 *              anyone else's (inbound mail) is left alone but for the
 *              suppression list and the removal of its X-SES-* headers.
 *   RCPT TO    Sandbox (trusted): refuse unverified recipients (550
 *              5.7.1). Look the recipient up in suppression.db:
 *              SuppressionAction reject answers 550 5.1.1 for this
 *              recipient only, discard accepts it and removes it at end of
 *              message, observe logs.
 *   headers    keep what the rules and DKIM need, and every X-SES-* header.
 *   end of hdr start the DKIM signature for the From address's key
 *              (trusted clients only).
 *   body       feed DKIM.
 *   end of msg match the rules (first match wins), settle the route (the
 *              canary picks by queue id; route=ses only for trusted mail),
 *              then change the headers: X-SES-CONFIGURATION-SET,
 *              X-SES-TENANT, X-SES-MESSAGE-TAGS, X-SES-Route (a trusted
 *              client's own values win over the rules; an untrusted
 *              client's X-SES-* headers are all removed), remove discarded
 *              recipients, and last insert DKIM-Signature.
 * Mode observe makes every decision, signs, logs what it would do, and
 * changes nothing: no header, no recipient, no refusal.
 *
 * The protocol steps that never need an answer are negotiated "no reply"
 * (connect, headers, end of headers, body) and HELO, DATA and unknown
 * commands are not sent at all; without DKIM the body is not sent either.
 * On a TCP socket (filter_init(true)) every step is answered: the MTA's
 * socket has Nagle's algorithm on (Postfix does not set TCP_NODELAY), and
 * a run of unanswered commands would wait for our delayed ACK, 40 ms at a
 * time; an answer carries the ACK at once.
 *
 * DIAGNOSTICS
 *   Refusals use the SMTP codes of status.c. An internal problem (memory,
 *   a suppression lookup that fails, a signature libopendkim cannot make)
 *   is logged and answered as OnError says: tempfail (451 4.3.x, the
 *   client retries) or accept (the message passes unchanged) - except
 *   that an untrusted client's X-SES-* headers never pass: with accept
 *   they are removed, and when they cannot be (more of them than the
 *   milter keeps, or the MTA refuses the change) the message is deferred.
 */
#include "config.h"

#include "filter.h"
#include "context.h"
#include "seam.h"
#include "trust.h"
#include "ses_addr.h"
#include "ses_log.h"
#include "ses_status.h"
#include "ses_tags.h"
#include "ses_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HDR_CONFIG_SET "X-SES-CONFIGURATION-SET"
#define HDR_TENANT     "X-SES-TENANT"
#define HDR_TAGS       "X-SES-MESSAGE-TAGS"
#define HDR_ROUTE      "X-SES-Route"

static bool tcp_socket; /* filter_init(): answer every step */

void filter_init(bool tcp)
{
    tcp_socket = tcp;
    if (tcp)
        seam_tcp_acks();
}

/* ---- small helpers ---- */

static const char *qid_of(SMFICTX *ctx)
{
    const char *q = smfi_getsymval(ctx, "i");

    return q && *q ? q : NULL;
}

/* The answer a callback gives when the MTA was told not to wait for one. */
static sfsistat noreply(const connctx_t *c, unsigned long step)
{
    return c && (c->pflags & step) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* Sets the SMTP reply for status st (codes from status.c, text from fmt)
 * and returns the matching milter answer. */
static sfsistat reply(SMFICTX *ctx, status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sfsistat reply(SMFICTX *ctx, status_t st, const char *fmt, ...)
{
    const status_info_t *si = status_info(st);
    char code[8], text[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    str_sanitize(text);
    for (char *p = text; *p; p++)
        if (*p == '%')
            *p = '?'; /* libmilter passes the text on as a format */
    snprintf(code, sizeof(code), "%d", si->smtp);
    (void)smfi_setreply(ctx, code, (char *)si->dsn, text);
    switch (si->milter) {
    case MILTER_REJECT:
        return SMFIS_REJECT;
    case MILTER_DISCARD:
        return SMFIS_DISCARD;
    case MILTER_ACCEPT:
        return SMFIS_ACCEPT;
    case MILTER_CONTINUE:
        return SMFIS_CONTINUE;
    default:
        return SMFIS_TEMPFAIL;
    }
}

/* Marks the message failed; the end of message applies OnError. */
static void msg_fail(msgctx_t *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void msg_fail(msgctx_t *m, const char *fmt, ...)
{
    va_list ap;

    if (m->failed)
        return;
    m->failed = true;
    va_start(ap, fmt);
    vsnprintf(m->fail_why, sizeof(m->fail_why), fmt, ap);
    va_end(ap);
}

/* OnError for a problem outside a message (no snapshot to ask). */
static sfsistat internal_error(SMFICTX *ctx, const snapshot_t *s,
                               const char *what)
{
    log_error(qid_of(ctx), "%s", what);
    if (s && (s->onerror_accept || s->observe))
        return SMFIS_ACCEPT;
    return reply(ctx, ST_TEMP_RESOURCE, "ses-milter: %s", what);
}

static connctx_t *conn_get(SMFICTX *ctx)
{
    connctx_t *c = smfi_getpriv(ctx);

    if (c == NULL && (c = conn_new()) != NULL &&
        smfi_setpriv(ctx, c) != MI_SUCCESS) {
        conn_free(c);
        c = NULL;
    }
    return c;
}

/* ---- callbacks ---- */

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    connctx_t *c = conn_get(ctx);
    unsigned long want =
        SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_HDR_LEADSPC;
    const snapshot_t *s;

    if (c == NULL) {
        /* Out of memory: ask for every step with an answer, so the next
         * callback that still cannot get a context can defer the mail
         * (refusing the negotiation would let mail pass unfiltered). */
        *pf0 = (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT) & f0;
        *pf1 = (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA) & f1;
        *pf2 = *pf3 = 0;
        return SMFIS_CONTINUE;
    }
    if (!tcp_socket)
        want |= SMFIP_NR_CONN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
    s = snapshot_acquire(&c->snap);
    if (s && s->dkim == NULL)
        want |= SMFIP_NOBODY; /* nothing to sign: the body is not needed */
    *pf0 = (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT) & f0;
    *pf1 = want & f1;
    *pf2 = *pf3 = 0;
    c->pflags = *pf1;
    c->body_skipped = (*pf1 & SMFIP_NOBODY) != 0;
    return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    connctx_t *c = conn_get(ctx);

    if (c == NULL)
        return internal_error(ctx, NULL, "out of memory at connect");
    c->have_addr = false;
    str_copy(c->client, "local", sizeof(c->client));
    if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        size_t len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                              : sizeof(struct sockaddr_in6);
        const void *a =
            sa->sa_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)sa)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)sa)->sin6_addr;
        memcpy(&c->addr, sa, len);
        c->have_addr = true;
        if (inet_ntop(sa->sa_family, a, c->client, sizeof(c->client)) == NULL)
            str_copy(c->client, "unknown", sizeof(c->client));
    }
    return noreply(c, SMFIP_NR_CONN);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    connctx_t *c = conn_get(ctx);
    msgctx_t *m;
    const snapshot_t *s;
    const char *auth, *qid = qid_of(ctx);

    if (c == NULL)
        return internal_error(ctx, NULL, "out of memory at MAIL FROM");
    m = &c->msg;
    msg_reset(m);
    if ((s = snapshot_acquire(&c->snap)) == NULL)
        return internal_error(ctx, NULL, "no configuration loaded");
    m->snap = s;
    m->active = true;
    if (addr_unwrap(argv[0], m->sender, sizeof(m->sender)) != ADDR_OK)
        msg_fail(m, "envelope sender longer than %d bytes", MSG_MAX_ADDR);
    auth = smfi_getsymval(ctx, "{auth_authen}");
    m->trust =
        trust_decide(s, c->have_addr ? (const struct sockaddr *)&c->addr : NULL,
                     auth, smfi_getsymval(ctx, "{daemon_name}"));
    if (m->trust != TRUST_NONE && s->require_verified && m->sender[0] &&
        !identity_verified(s->ids, m->sender)) {
        if (s->observe) {
            log_info(qid,
                     "observe: from=<%s>: not a verified Amazon SES "
                     "identity: would reject (RequireVerifiedSender)",
                     m->sender);
            return SMFIS_CONTINUE;
        }
        log_notice(qid,
                   "reject: MAIL FROM <%s> from %s: not a verified Amazon "
                   "SES identity",
                   m->sender, c->client);
        msg_reset(m);
        return reply(ctx, ST_PERM_UNVERIFIED,
                     "<%s>: sender is not a verified Amazon SES identity",
                     argv[0][0] == '<' ? m->sender : argv[0]);
    }
    return SMFIS_CONTINUE;
}

/* The suppression list check of one recipient; SMFIS_CONTINUE to accept. */
static sfsistat rcpt_suppression(SMFICTX *ctx, msgctx_t *m, const char *raw,
                                 const char *addr, const char *qid)
{
    const snapshot_t *s = m->snap;
    suppression_t sup;
    store_status_t st;
    const char *why;
    supp_act_t act = s->observe ? SUPP_ACT_OBSERVE : s->supp_action;
    char err[512];
    store_t *store;

    if (strlen(addr) > STORE_MAX_ADDR || !strchr(addr, '@'))
        return SMFIS_CONTINUE;
    if ((store = snapshot_store(s, err, sizeof(err))) == NULL) {
        if (err[0] == '\0')
            return SMFIS_CONTINUE; /* loaded without a store */
        st = STORE_TEMPFAIL;
    } else {
        st = store_suppression_get(store, addr, &sup);
        if (st != STORE_OK && st != STORE_NOTFOUND)
            str_copy(err, store_strerror(store), sizeof(err));
    }
    if (st == STORE_NOTFOUND)
        return SMFIS_CONTINUE;
    if (st != STORE_OK) {
        log_warning(qid, "suppression lookup of <%s> failed: %s (OnError %s)",
                    addr, err, s->onerror_accept ? "accept" : "tempfail");
        if (s->onerror_accept || s->observe)
            return SMFIS_CONTINUE;
        return reply(ctx, store_to_status(st),
                     "<%s>: suppression list temporarily unavailable", addr);
    }
    m->suppressed++;
    why = store_reason_name(sup.reason);
    switch (act) {
    case SUPP_ACT_REJECT:
        log_info(qid, "reject: RCPT TO <%s>: on the suppression list (%s)",
                 addr, why);
        return reply(ctx, ST_PERM_SUPPRESSED,
                     "<%s>: recipient is on the suppression list (%s)", addr,
                     why);
    case SUPP_ACT_DISCARD:
        if (!strlist_add(&m->discards, raw)) {
            msg_fail(m, "too many suppressed recipients to discard");
            return SMFIS_CONTINUE;
        }
        log_info(qid,
                 "discard: to=<%s>: on the suppression list (%s), removed "
                 "from the message",
                 addr, why);
        return SMFIS_CONTINUE;
    case SUPP_ACT_OBSERVE:
        if (s->observe)
            log_info(qid,
                     "observe: to=<%s>: on the suppression list (%s): would %s",
                     addr, why,
                     s->supp_action == SUPP_ACT_DISCARD  ? "discard"
                     : s->supp_action == SUPP_ACT_REJECT ? "reject"
                                                         : "accept");
        else
            log_info(qid,
                     "to=<%s>: on the suppression list (%s): accepted "
                     "(SuppressionAction observe)",
                     addr, why);
        return SMFIS_CONTINUE;
    }
    return SMFIS_CONTINUE;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    connctx_t *c = smfi_getpriv(ctx);
    msgctx_t *m = c ? &c->msg : NULL;
    const snapshot_t *s;
    char addr[MSG_MAX_ADDR + 1];
    const char *qid = qid_of(ctx);
    sfsistat r;

    if (m == NULL || !m->active)
        return SMFIS_CONTINUE;
    s = m->snap;
    if (addr_unwrap(argv[0], addr, sizeof(addr)) != ADDR_OK) {
        m->nrcpts++;
        return SMFIS_CONTINUE; /* longer than any address SES takes */
    }
    if (s->sandbox && m->trust != TRUST_NONE &&
        !identity_sandbox_ok(s->ids, addr)) {
        if (s->observe) {
            log_info(qid,
                     "observe: to=<%s>: not a verified identity: would "
                     "reject (Sandbox)",
                     addr);
        } else {
            log_notice(qid,
                       "reject: RCPT TO <%s>: not a verified identity "
                       "(Sandbox)",
                       addr);
            return reply(ctx, ST_PERM_UNVERIFIED,
                         "<%s>: recipient is not a verified Amazon SES "
                         "identity (sandbox)",
                         addr);
        }
    }
    if ((r = rcpt_suppression(ctx, m, argv[0], addr, qid)) != SMFIS_CONTINUE)
        return r;
    m->nrcpts++;
    if (s->want_rcpts && !strlist_add(&m->rcpts, addr) &&
        m->rcpts.n < m->rcpts.max)
        msg_fail(m, "out of memory keeping recipients");
    return SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    connctx_t *c = smfi_getpriv(ctx);
    msgctx_t *m = c ? &c->msg : NULL;
    const snapshot_t *s;

    if (m == NULL || !m->active)
        return noreply(c, SMFIP_NR_HDR);
    s = m->snap;
    if (strncasecmp(name, "X-SES-", 6) == 0) {
        if (!m->xses_overflow &&
            (!strlist_add(&m->xses, name) || !strlist_add(&m->xses, value))) {
            m->xses_overflow = true;
            if (m->xses.n % 2) /* keep name/value pairs whole */
                m->xses.n--;
            msg_fail(m, "more than %u bytes of X-SES-* headers", MSG_MAX_XSES);
        }
        return noreply(c, SMFIP_NR_HDR);
    }
    if (m->hdr_overflow ||
        !((s->dkim && !c->body_skipped) || rules_wants_header(s->rules, name)))
        return noreply(c, SMFIP_NR_HDR);
    if (m->from_idx < 0 && strcasecmp(name, "From") == 0)
        m->from_idx = (long)m->headers.n + 1;
    if (!strlist_add(&m->headers, name) || !strlist_add(&m->headers, value)) {
        m->hdr_overflow = true;
        if (m->headers.n % 2) /* keep name/value pairs whole */
            m->headers.n--;
    }
    return noreply(c, SMFIP_NR_HDR);
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    connctx_t *c = smfi_getpriv(ctx);
    msgctx_t *m = c ? &c->msg : NULL;
    const snapshot_t *s;
    char err[256];
    signer_status_t st;
    const char *from;

    if (m == NULL || !m->active)
        return noreply(c, SMFIP_NR_EOH);
    s = m->snap;
    if (s->dkim == NULL || c->body_skipped || m->failed ||
        m->trust == TRUST_NONE) /* never sign what others send */
        return noreply(c, SMFIP_NR_EOH);
    if (m->hdr_overflow) {
        log_warning(qid_of(ctx),
                    "headers larger than %u bytes: message not signed",
                    MSG_MAX_HEADERS);
        return noreply(c, SMFIP_NR_EOH);
    }
    from =
        m->from_idx >= 0 ? strlist_get(&m->headers, (size_t)m->from_idx) : NULL;
    st = signer_msg_start(s->dkim, from, qid_of(ctx), &m->dkim, err,
                          sizeof(err));
    if (st == SIGNER_NOKEY) {
        m->dkim_nokey = true;
        return noreply(c, SMFIP_NR_EOH);
    }
    if (st != SIGNER_OK) {
        msg_fail(m, "DKIM: %s", err);
        return noreply(c, SMFIP_NR_EOH);
    }
    for (size_t i = 0; i + 1 < m->headers.n && st == SIGNER_OK; i += 2)
        st = signer_msg_header(m->dkim, strlist_get(&m->headers, i),
                               strlist_get(&m->headers, i + 1),
                               (c->pflags & SMFIP_HDR_LEADSPC) != 0);
    if (st == SIGNER_OK)
        st = signer_msg_eoh(m->dkim);
    if (st != SIGNER_OK)
        msg_fail(m, "DKIM: %s", signer_msg_error(m->dkim));
    return noreply(c, SMFIP_NR_EOH);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    connctx_t *c = smfi_getpriv(ctx);
    msgctx_t *m = c ? &c->msg : NULL;

    if (m && m->active && m->dkim && !m->failed &&
        signer_msg_body(m->dkim, chunk, len) != SIGNER_OK)
        msg_fail(m, "DKIM: %s", signer_msg_error(m->dkim));
    return noreply(c, SMFIP_NR_BODY);
}

/* ---- end of message ---- */

/* What the message ends up with. */
typedef struct {
    const outcome_t *oc;
    const char *config_set;
    const char *tenant;
    const char *tags;
    bool ses;    /* X-SES-Route: ses */
    bool canary; /* picked by a route=ses:N% rule */
    bool client; /* a trusted client's header decided something */
    char tagbuf[4096];
} decision_t;

/* The first value of X-SES header name, trimmed; NULL when absent. */
static const char *xses_first(const msgctx_t *m, const char *name,
                              unsigned *count)
{
    const char *first = NULL;

    *count = 0;
    for (size_t i = 0; i + 1 < m->xses.n; i += 2)
        if (strcasecmp(strlist_get(&m->xses, i), name) == 0) {
            if ((*count)++ == 0)
                first = strlist_get(&m->xses, i + 1);
        }
    while (first && (*first == ' ' || *first == '\t'))
        first++;
    return first;
}

/* Copies v without trailing blanks or line breaks. */
static void trim_copy(const char *v, char *out, size_t outlen)
{
    size_t n = str_copy(out, v, outlen);

    if (n >= outlen)
        n = outlen - 1;
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        out[--n] = '\0';
}

/* A trusted client's X-SES-CONFIGURATION-SET or X-SES-TENANT: a valid SES
 * name replaces *value (compared trimmed in set_xses()); an invalid one is
 * ignored with a warning. */
static void client_name(const msgctx_t *m, const char *qid, const char *hdr,
                        const char **value, bool *client)
{
    const char *v;
    unsigned n;
    char val[1024];

    if ((v = xses_first(m, hdr, &n)) == NULL)
        return;
    trim_copy(v, val, sizeof(val));
    if (tags_name_ok(val) && strlen(val) <= 64) {
        *value = v;
        *client = true;
    } else {
        log_warning(qid,
                    "client's %s \"%.64s\" is not a valid SES name: "
                    "ignored",
                    hdr, val);
    }
}

static void decide(SMFICTX *ctx, const msgctx_t *m, const char *qid,
                   decision_t *d)
{
    const snapshot_t *s = m->snap;
    const char *v;
    unsigned n;
    int rule = -1;
    char val[1024], err[256];

    if (rules_count(s->rules)) {
        rules_header_t hv[256];
        const char *rv[256], **rcpts = rv;
        rules_msg_t rm = {.sender = m->sender};
        size_t nh = 0;

        for (size_t i = 0; i + 1 < m->headers.n && nh < ARRAY_SIZE(hv); i += 2)
            if (rules_wants_header(s->rules, strlist_get(&m->headers, i))) {
                hv[nh].name = strlist_get(&m->headers, i);
                hv[nh++].value = strlist_get(&m->headers, i + 1);
            }
        if (m->rcpts.n > ARRAY_SIZE(rv) &&
            (rcpts = malloc(m->rcpts.n * sizeof(char *))) == NULL)
            rcpts = rv; /* out of memory: match the first 256 */
        rm.nrcpts = rcpts == rv && m->rcpts.n > ARRAY_SIZE(rv) ? ARRAY_SIZE(rv)
                                                               : m->rcpts.n;
        for (size_t i = 0; i < rm.nrcpts; i++)
            rcpts[i] = strlist_get(&m->rcpts, i);
        rm.rcpts = rcpts;
        rm.headers = hv;
        rm.nheaders = nh;
        rule = rules_match(s->rules, &rm);
        if (rcpts != rv)
            free(rcpts);
    }
    d->oc = snapshot_outcome(s, rule);
    d->config_set = d->oc->config_set;
    d->tenant = d->oc->tenant;
    d->tags = d->oc->tags_header;
    /* Only the site's own mail goes to SES by a rule: routing an outside
     * client's message there would have SES send (and sign) it. */
    d->ses = d->oc->route == ROUTE_SES && m->trust != TRUST_NONE &&
             rules_canary_pick(qid ? qid : m->sender, d->oc->percent);
    d->canary = d->oc->route == ROUTE_SES && d->oc->percent < 100;
    if (m->trust == TRUST_NONE)
        return;
    /* A trusted client's own X-SES-* values win over the rules. */
    client_name(m, qid, HDR_CONFIG_SET, &d->config_set, &d->client);
    client_name(m, qid, HDR_TENANT, &d->tenant, &d->client);
    if ((v = xses_first(m, HDR_TAGS, &n)) != NULL) {
        tags_t *t = NULL, *all = tags_new();
        trim_copy(v, val, sizeof(val));
        if (all && tags_parse(val, '=', &t, err, sizeof(err)) == 0 &&
            tags_merge(all, d->oc->tags) == 0 && tags_merge(all, t) == 0) {
            size_t off = 0;
            d->tagbuf[0] = '\0';
            for (size_t i = 0; i < tags_count(all); i++) {
                int w = snprintf(d->tagbuf + off, sizeof(d->tagbuf) - off,
                                 "%s%s=%s", i ? ", " : "", tags_name(all, i),
                                 tags_value(all, i));
                if (w < 0 || (size_t)w >= sizeof(d->tagbuf) - off)
                    break;
                off += (size_t)w;
            }
            d->tags = d->tagbuf;
            d->client = true;
        } else {
            log_warning(qid, "client's %s \"%.64s\" is not valid: ignored",
                        HDR_TAGS, val);
        }
        tags_free(t);
        tags_free(all);
    }
    if ((v = xses_first(m, HDR_ROUTE, &n)) != NULL) {
        trim_copy(v, val, sizeof(val));
        if (strcasecmp(val, "ses") == 0) {
            d->ses = true;
            d->client = true;
        }
    }
}

/* Makes header name carry exactly value (NULL: absent), touching the
 * message only when it differs - or always with readd: Postfix's
 * milter_header_checks see only headers a milter added, and X-SES-Route
 * must reach them even when a trusted client wrote it. Returns the number
 * of changes or -1. */
static int set_xses(SMFICTX *ctx, const connctx_t *c, const msgctx_t *m,
                    const char *name, const char *value, bool readd)
{
    unsigned count;
    const char *first = xses_first(m, name, &count);
    char have[1024], want[1100];
    int changes = 0;

    if (value) {
        trim_copy(value, have, sizeof(have));
        value = have;
    }
    if (count == 1 && value && first && !readd) {
        char cur[1024];
        trim_copy(first, cur, sizeof(cur));
        if (strcmp(cur, value) == 0)
            return 0;
    }
    if (count == 0 && value == NULL)
        return 0;
    for (unsigned i = count; i >= 1; i--, changes++)
        if (smfi_chgheader(ctx, (char *)name, (int)i, NULL) != MI_SUCCESS)
            return -1;
    if (value) {
        snprintf(want, sizeof(want), "%s%s",
                 (c->pflags & SMFIP_HDR_LEADSPC) ? " " : "", value);
        if (smfi_addheader(ctx, (char *)name, want) != MI_SUCCESS)
            return -1;
        changes++;
    }
    return changes;
}

static bool managed(const char *name)
{
    return strcasecmp(name, HDR_CONFIG_SET) == 0 ||
           strcasecmp(name, HDR_TENANT) == 0 ||
           strcasecmp(name, HDR_TAGS) == 0 || strcasecmp(name, HDR_ROUTE) == 0;
}

/* Removes the client's X-SES-* headers (untrusted client): those the
 * rules manage too unless keep_managed. Returns the number removed or -1. */
static int strip_xses(SMFICTX *ctx, const msgctx_t *m, bool keep_managed)
{
    int removed = 0;

    for (size_t i = 0; i + 1 < m->xses.n; i += 2) {
        const char *name = strlist_get(&m->xses, i);
        unsigned count = 0;
        bool seen = false;
        if (keep_managed && managed(name))
            continue;
        for (size_t k = 0; k < i && !seen; k += 2)
            seen = strcasecmp(strlist_get(&m->xses, k), name) == 0;
        if (seen)
            continue; /* this name was handled at its first instance */
        for (size_t k = i; k + 1 < m->xses.n; k += 2)
            count += strcasecmp(strlist_get(&m->xses, k), name) == 0;
        for (unsigned n = count; n >= 1; n--, removed++)
            if (smfi_chgheader(ctx, (char *)name, (int)n, NULL) != MI_SUCCESS)
                return -1;
    }
    return removed;
}

/* An internal failure: OnError decides, but an untrusted client's X-SES-*
 * headers never pass (they would pick the configuration set, tags or a
 * cross-account source ARN at SES): with accept they are removed, and if
 * that cannot be done the message is deferred all the same. */
static sfsistat eom_failed(SMFICTX *ctx, msgctx_t *m, const char *qid)
{
    const snapshot_t *s = m->snap;
    bool pass = s->onerror_accept || s->observe;
    const char *how = pass ? "message accepted unchanged (OnError accept)"
                           : "message deferred (OnError tempfail)";

    if (pass && !s->observe && m->trust == TRUST_NONE &&
        (m->xses.n > 0 || m->xses_overflow)) {
        if (!m->xses_overflow && strip_xses(ctx, m, false) >= 0) {
            how = "message accepted without the client's X-SES-* headers "
                  "(OnError accept)";
        } else {
            pass = false;
            how = "message deferred: the untrusted client's X-SES-* "
                  "headers cannot all be removed";
        }
    }
    log_error(qid, "%s; %s", m->fail_why, how);
    msg_reset(m);
    if (pass)
        return SMFIS_ACCEPT;
    return reply(ctx, ST_TEMP_RESOURCE, "ses-milter: temporary problem: %s",
                 "please try again later");
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    connctx_t *c = smfi_getpriv(ctx);
    msgctx_t *m = c ? &c->msg : NULL;
    const snapshot_t *s;
    const char *qid = qid_of(ctx);
    char sig[SIGNER_SIGNATURE_MAX + 2], dkimlog[320], rulebuf[32];
    decision_t d = {0};
    bool signed_ = false, all_discarded;

    if (m == NULL || !m->active)
        return SMFIS_CONTINUE;
    s = m->snap;
    if (m->failed)
        return eom_failed(ctx, m, qid);
    decide(ctx, m, qid, &d);

    str_copy(dkimlog, "none", sizeof(dkimlog));
    if (m->dkim) {
        if (c->pflags & SMFIP_HDR_LEADSPC)
            sig[0] = ' ';
        if (signer_msg_finish(m->dkim,
                              sig + ((c->pflags & SMFIP_HDR_LEADSPC) != 0),
                              SIGNER_SIGNATURE_MAX) != SIGNER_OK) {
            msg_fail(m, "DKIM: %s", signer_msg_error(m->dkim));
            return eom_failed(ctx, m, qid);
        }
        signed_ = true;
        snprintf(dkimlog, sizeof(dkimlog), "d=%s s=%s",
                 signer_msg_domain(m->dkim), signer_msg_selector(m->dkim));
    } else if (m->dkim_nokey) {
        str_copy(dkimlog, "none (no key for the From address)",
                 sizeof(dkimlog));
    } else if (s->dkim && m->trust == TRUST_NONE) {
        str_copy(dkimlog, "none (untrusted client)", sizeof(dkimlog));
    } else if (s->dkim && c->body_skipped) {
        str_copy(dkimlog, "none (connection opened before DKIM was enabled)",
                 sizeof(dkimlog));
    }
    all_discarded = m->discards.n > 0 && m->discards.n >= m->nrcpts;

    if (!s->observe) {
        if (set_xses(ctx, c, m, HDR_CONFIG_SET, d.config_set, false) < 0 ||
            set_xses(ctx, c, m, HDR_TENANT, d.tenant, false) < 0 ||
            set_xses(ctx, c, m, HDR_TAGS, d.tags, false) < 0 ||
            set_xses(ctx, c, m, HDR_ROUTE, d.ses ? "ses" : NULL, true) < 0 ||
            (m->trust == TRUST_NONE && strip_xses(ctx, m, true) < 0)) {
            msg_fail(m, "changing the X-SES-* headers failed");
            return eom_failed(ctx, m, qid);
        }
        for (size_t i = 0; !all_discarded && i < m->discards.n; i++)
            if (smfi_delrcpt(ctx, (char *)strlist_get(&m->discards, i)) !=
                MI_SUCCESS) {
                msg_fail(m, "removing a suppressed recipient failed");
                return eom_failed(ctx, m, qid);
            }
        if (signed_ && !all_discarded) {
            if (smfi_insheader(ctx, 0, "DKIM-Signature", sig) != MI_SUCCESS) {
                msg_fail(m, "adding DKIM-Signature failed");
                return eom_failed(ctx, m, qid);
            }
        }
    }
    if (d.oc->line)
        snprintf(rulebuf, sizeof(rulebuf), "line %d", d.oc->line);
    log_info(qid,
             "%sfrom=<%s> client=%s (%s) rule=%s config-set=%s tenant=%s "
             "tags=%s route=%s%s dkim=%s suppressed=%u untrusted-x-ses=%zu%s",
             s->observe ? "observe: " : "", m->sender, c->client,
             trust_name(m->trust), d.oc->line ? rulebuf : "none",
             d.config_set ? d.config_set : "(none)",
             d.tenant ? d.tenant : "(none)", d.tags ? d.tags : "(none)",
             d.ses                        ? "ses"
             : d.oc->route == ROUTE_UNSET ? "default"
             : d.oc->route == ROUTE_SES   ? "default (untrusted client)"
                                          : "local",
             d.canary ? " (canary)" : "", dkimlog, m->suppressed,
             m->trust != TRUST_NONE ? 0 : m->xses.n / 2,
             all_discarded ? " all-recipients-discarded" : "");
    msg_reset(m);
    return all_discarded && !s->observe ? SMFIS_DISCARD : SMFIS_CONTINUE;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    connctx_t *c = smfi_getpriv(ctx);

    if (c)
        msg_reset(&c->msg);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    connctx_t *c = smfi_getpriv(ctx);

    conn_free(c);
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

struct smfiDesc filter_desc = {
    .xxfi_name = "ses-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT,
    .xxfi_connect = cb_connect,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_negotiate = cb_negotiate,
};
