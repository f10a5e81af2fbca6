/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * note.c - Amazon SES notifications and published events
 *
 * note_parse() loads the JSON with jansson (duplicate keys refused, size
 * bounded), decides the type from "notificationType" or "eventType" and
 * picks the fields ses-feedback acts on, with every string checked for
 * type and length. Unknown types and missing required fields are errors;
 * fields that are only informative may be absent.
 *
 * DIAGNOSTICS
 *   See ses_note.h: 0, or -1 with the reason in the caller's buffer.
 */
#include "config.h"

#include "ses_jsonlimit.h"
#include "ses_note.h"
#include "ses_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    json_t *root;
    note_rcpt_t *rcpts;
    note_header_t *headers;
} priv_t;

static const struct {
    const char *name; /* notificationType / eventType */
    note_type_t type;
    const char *object; /* the member holding the event details */
} types[] = {
    {"Bounce", NOTE_BOUNCE, "bounce"},
    {"Complaint", NOTE_COMPLAINT, "complaint"},
    {"Delivery", NOTE_DELIVERY, "delivery"},
    {"Send", NOTE_SEND, "send"},
    {"Reject", NOTE_REJECT, "reject"},
    {"DeliveryDelay", NOTE_DELIVERY_DELAY, "deliveryDelay"},
    {"Rendering Failure", NOTE_RENDERING_FAILURE, "failure"},
    {"Open", NOTE_OPEN, "open"},
    {"Click", NOTE_CLICK, "click"},
    {"Subscription", NOTE_SUBSCRIPTION, "subscription"},
    {"AmazonSnsSubscriptionSucceeded", NOTE_SUBSCRIPTION_SUCCEEDED, NULL},
};

static const char *const type_names[] = {
    [NOTE_BOUNCE] = "bounce",
    [NOTE_COMPLAINT] = "complaint",
    [NOTE_DELIVERY] = "delivery",
    [NOTE_SEND] = "send",
    [NOTE_REJECT] = "reject",
    [NOTE_DELIVERY_DELAY] = "delivery-delay",
    [NOTE_RENDERING_FAILURE] = "rendering-failure",
    [NOTE_OPEN] = "open",
    [NOTE_CLICK] = "click",
    [NOTE_SUBSCRIPTION] = "subscription",
    [NOTE_SUBSCRIPTION_SUCCEEDED] = "subscription-succeeded",
};

const char *note_type_name(note_type_t t)
{
    return (unsigned)t < ARRAY_SIZE(type_names) && type_names[t] ? type_names[t]
                                                                 : "unknown";
}

const char *note_bounce_name(note_bounce_t b)
{
    switch (b) {
    case NOTE_BOUNCE_PERMANENT:
        return "Permanent";
    case NOTE_BOUNCE_TRANSIENT:
        return "Transient";
    case NOTE_BOUNCE_UNDETERMINED:
        return "Undetermined";
    }
    return "unknown";
}

/* A member that must be a bounded string when present: 0 and *out (NULL
 * when absent or null), -1 when it has another type or is too long. */
static int opt_str(json_t *obj, const char *key, const char **out,
                   const char *where, char *err, size_t errlen)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return str_errf(err, errlen, "%s.%s is not a string", where, key);
    if (json_string_length(v) > NOTE_MAX_STRING ||
        strlen(json_string_value(v)) != json_string_length(v))
        return str_errf(err, errlen, "%s.%s is too long or contains NUL", where,
                        key);
    *out = json_string_value(v);
    return 0;
}

static int req_str(json_t *obj, const char *key, const char **out,
                   const char *where, char *err, size_t errlen)
{
    if (opt_str(obj, key, out, where, err, errlen) < 0)
        return -1;
    if (*out == NULL || **out == '\0')
        return str_errf(err, errlen, "%s without %s", where, key);
    return 0;
}

/* The first value of a mail.tags entry ({"name": ["value"]}). */
static int tag_value(json_t *tags, const char *name, const char **out,
                     char *err, size_t errlen)
{
    json_t *v = tags ? json_object_get(tags, name) : NULL;

    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        !json_is_string(json_array_get(v, 0)))
        return str_errf(err, errlen, "mail.tags.%s is not a list of strings",
                        name);
    *out = json_string_value(json_array_get(v, 0));
    if (strlen(*out) > NOTE_MAX_STRING)
        return str_errf(err, errlen, "mail.tags.%s is too long", name);
    return 0;
}

static int parse_mail(note_t *n, priv_t *p, json_t *mail, char *err,
                      size_t errlen)
{
    json_t *tags, *hdrs, *common;
    size_t i;

    if (!json_is_object(mail))
        return str_errf(err, errlen, "%s without a mail object", n->type_name);
    if (req_str(mail, "messageId", &n->message_id, "mail", err, errlen) < 0 ||
        opt_str(mail, "source", &n->source, "mail", err, errlen) < 0 ||
        opt_str(mail, "timestamp", &n->mail_time, "mail", err, errlen) < 0 ||
        opt_str(mail, "sourceArn", &n->source_arn, "mail", err, errlen) < 0 ||
        opt_str(mail, "sendingAccountId", &n->sending_account, "mail", err,
                errlen) < 0)
        return -1;
    tags = json_object_get(mail, "tags");
    if (tags && !json_is_object(tags))
        return str_errf(err, errlen, "mail.tags is not an object");
    if (tag_value(tags, "ses:configuration-set", &n->config_set, err, errlen) <
            0 ||
        tag_value(tags, "mta-queue-id", &n->queue_id, err, errlen) < 0 ||
        tag_value(tags, "mta-host", &n->mta_host, err, errlen) < 0)
        return -1;
    common = json_object_get(mail, "commonHeaders");
    if (common && json_is_object(common) &&
        opt_str(common, "subject", &n->subject, "mail.commonHeaders", err,
                errlen) < 0)
        return -1;
    n->headers_truncated =
        json_is_true(json_object_get(mail, "headersTruncated"));
    hdrs = json_object_get(mail, "headers");
    if (hdrs == NULL || json_is_null(hdrs))
        return 0;
    if (!json_is_array(hdrs))
        return str_errf(err, errlen, "mail.headers is not a list");
    if (json_array_size(hdrs) > NOTE_MAX_HEADERS)
        return str_errf(err, errlen, "mail.headers has more than %d entries",
                        NOTE_MAX_HEADERS);
    if (json_array_size(hdrs) &&
        (p->headers = calloc(json_array_size(hdrs), sizeof(*p->headers))) ==
            NULL)
        return str_errf(err, errlen, "out of memory");
    for (i = 0; i < json_array_size(hdrs); i++) {
        json_t *h = json_array_get(hdrs, i);
        if (!json_is_object(h) ||
            req_str(h, "name", &p->headers[i].name, "mail.headers[]", err,
                    errlen) < 0 ||
            opt_str(h, "value", &p->headers[i].value, "mail.headers[]", err,
                    errlen) < 0)
            return err[0] ? -1
                          : str_errf(err, errlen, "bad mail.headers entry");
        if (p->headers[i].value == NULL)
            p->headers[i].value = "";
    }
    n->headers = p->headers;
    n->nheaders = i;
    return 0;
}

/* The recipients list: objects with emailAddress (bounce, complaint,
 * delay) or plain strings (delivery). */
static int parse_rcpts(note_t *n, priv_t *p, json_t *list, const char *where,
                       int required, char *err, size_t errlen)
{
    size_t i, cnt;

    if (list == NULL || json_is_null(list)) {
        if (required)
            return str_errf(err, errlen, "%s without %s", n->type_name, where);
        return 0;
    }
    if (!json_is_array(list))
        return str_errf(err, errlen, "%s is not a list", where);
    cnt = json_array_size(list);
    if (cnt == 0 && required)
        return str_errf(err, errlen, "%s without %s", n->type_name, where);
    if (cnt > NOTE_MAX_RCPTS)
        return str_errf(err, errlen, "%s has more than %d entries", where,
                        NOTE_MAX_RCPTS);
    if (cnt && (p->rcpts = calloc(cnt, sizeof(*p->rcpts))) == NULL)
        return str_errf(err, errlen, "out of memory");
    for (i = 0; i < cnt; i++) {
        json_t *r = json_array_get(list, i);
        note_rcpt_t *o = &p->rcpts[i];
        if (json_is_string(r)) {
            o->address = json_string_value(r);
            if (strlen(o->address) > NOTE_MAX_STRING || !*o->address)
                return str_errf(err, errlen, "bad entry in %s", where);
            continue;
        }
        if (!json_is_object(r))
            return str_errf(err, errlen, "bad entry in %s", where);
        if (req_str(r, "emailAddress", &o->address, where, err, errlen) < 0 ||
            opt_str(r, "action", &o->action, where, err, errlen) < 0 ||
            opt_str(r, "status", &o->status, where, err, errlen) < 0 ||
            opt_str(r, "diagnosticCode", &o->diagnostic, where, err, errlen) <
                0)
            return -1;
    }
    n->rcpts = p->rcpts;
    n->nrcpts = cnt;
    return 0;
}

static int parse_bounce(note_t *n, priv_t *p, json_t *o, char *err,
                        size_t errlen)
{
    const char *t;

    if (req_str(o, "bounceType", &t, "bounce", err, errlen) < 0 ||
        opt_str(o, "bounceSubType", &n->bounce_subtype, "bounce", err, errlen) <
            0 ||
        opt_str(o, "feedbackId", &n->feedback_id, "bounce", err, errlen) < 0 ||
        opt_str(o, "reportingMTA", &n->reporting_mta, "bounce", err, errlen) <
            0 ||
        opt_str(o, "remoteMtaIp", &n->remote_mta_ip, "bounce", err, errlen) < 0)
        return -1;
    n->bounce_type_name = t;
    if (strcmp(t, "Permanent") == 0)
        n->bounce_type = NOTE_BOUNCE_PERMANENT;
    else if (strcmp(t, "Transient") == 0)
        n->bounce_type = NOTE_BOUNCE_TRANSIENT;
    else if (strcmp(t, "Undetermined") == 0)
        n->bounce_type = NOTE_BOUNCE_UNDETERMINED;
    else
        return str_errf(err, errlen, "unknown bounceType \"%.64s\"", t);
    return parse_rcpts(n, p, json_object_get(o, "bouncedRecipients"),
                       "bouncedRecipients", 1, err, errlen);
}

static int parse_event(note_t *n, priv_t *p, json_t *o, char *err,
                       size_t errlen)
{
    const char *where = n->type_name;

    if (opt_str(o, "timestamp", &n->event_time, where, err, errlen) < 0)
        return -1;
    switch (n->type) {
    case NOTE_BOUNCE:
        return parse_bounce(n, p, o, err, errlen);
    case NOTE_COMPLAINT:
        if (opt_str(o, "feedbackId", &n->feedback_id, where, err, errlen) < 0 ||
            opt_str(o, "complaintFeedbackType", &n->complaint_type, where, err,
                    errlen) < 0)
            return -1;
        return parse_rcpts(n, p, json_object_get(o, "complainedRecipients"),
                           "complainedRecipients", 1, err, errlen);
    case NOTE_DELIVERY:
        if (opt_str(o, "smtpResponse", &n->smtp_response, where, err, errlen) <
                0 ||
            opt_str(o, "reportingMTA", &n->reporting_mta, where, err, errlen) <
                0 ||
            opt_str(o, "remoteMtaIp", &n->remote_mta_ip, where, err, errlen) <
                0)
            return -1;
        return parse_rcpts(n, p, json_object_get(o, "recipients"), "recipients",
                           0, err, errlen);
    case NOTE_REJECT:
        return opt_str(o, "reason", &n->reject_reason, where, err, errlen);
    case NOTE_DELIVERY_DELAY:
        if (opt_str(o, "delayType", &n->delay_type, where, err, errlen) < 0)
            return -1;
        return parse_rcpts(n, p, json_object_get(o, "delayedRecipients"),
                           "delayedRecipients", 0, err, errlen);
    case NOTE_RENDERING_FAILURE:
        if (opt_str(o, "errorMessage", &n->failure_message, where, err,
                    errlen) < 0 ||
            opt_str(o, "templateName", &n->template_name, where, err, errlen) <
                0)
            return -1;
        return 0;
    default:
        return 0;
    }
}

int note_parse(const char *json, size_t len, note_t **out, char *err,
               size_t errlen)
{
    const char *tname = NULL;
    json_t *root = NULL, *v, *obj = NULL;
    note_t *n = NULL;
    priv_t *p = NULL;
    size_t i;
    int event = 0;

    *out = NULL;
    err[0] = '\0';
    if (json == NULL || len == 0)
        return str_errf(err, errlen, "empty message");
    if (len > NOTE_MAX_JSON)
        return str_errf(err, errlen,
                        "message of %zu bytes is over the %d limit", len,
                        NOTE_MAX_JSON);
    if ((root = jsonlimit_load(json, len, JSON_REJECT_DUPLICATES, NOTE_MAX_JSON,
                               err, errlen)) == NULL)
        return -1;
    if (!json_is_object(root)) {
        str_errf(err, errlen, "not a JSON object");
        goto fail;
    }
    if ((v = json_object_get(root, "eventType")) != NULL)
        event = 1;
    else
        v = json_object_get(root, "notificationType");
    if (v == NULL || !json_is_string(v)) {
        str_errf(err, errlen,
                 "neither notificationType nor eventType: not an SES "
                 "notification");
        goto fail;
    }
    tname = json_string_value(v);
    for (i = 0; i < ARRAY_SIZE(types); i++)
        if (strcmp(types[i].name, tname) == 0)
            break;
    if (i == ARRAY_SIZE(types)) {
        str_errf(err, errlen, "unknown %s \"%.64s\"",
                 event ? "eventType" : "notificationType", tname);
        goto fail;
    }
    if ((n = calloc(1, sizeof(*n))) == NULL ||
        (p = calloc(1, sizeof(*p))) == NULL) {
        free(n);
        n = NULL;
        str_errf(err, errlen, "out of memory");
        goto fail;
    }
    p->root = root;
    n->priv = p;
    n->type = types[i].type;
    n->event = event;
    n->type_name = types[i].name;
    if (n->type == NOTE_SUBSCRIPTION_SUCCEEDED) {
        *out = n;
        return 0;
    }
    if (parse_mail(n, p, json_object_get(root, "mail"), err, errlen) < 0)
        goto fail;
    obj = json_object_get(root, types[i].object);
    if (obj == NULL || !json_is_object(obj)) {
        if (n->type <= NOTE_COMPLAINT) {
            str_errf(err, errlen, "%s without a %s object", tname,
                     types[i].object);
            goto fail;
        }
        obj = NULL; /* informative events may come without details */
    }
    if (obj && parse_event(n, p, obj, err, errlen) < 0)
        goto fail;
    *out = n;
    return 0;
fail:
    if (n)
        note_free(n);
    else
        json_decref(root);
    return -1;
}

void note_free(note_t *n)
{
    priv_t *p;

    if (n == NULL)
        return;
    if ((p = n->priv) != NULL) {
        json_decref(p->root);
        free(p->rcpts);
        free(p->headers);
        free(p);
    }
    free(n);
}

const char *note_event_key(const note_t *n, char *out, size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx;
    const char *parts[4];

    if (n->feedback_id && strlen(n->feedback_id) < 400) {
        snprintf(out, outlen, "fb:%s", n->feedback_id);
        return out;
    }
    parts[0] = n->type_name;
    parts[1] = n->feedback_id ? n->feedback_id : n->message_id;
    parts[2] = n->event_time;
    parts[3] = n->mail_time;
    if ((ctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto fail;
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
        EVP_DigestUpdate(ctx, parts[i] ? parts[i] : "", /* NUL separates */
                         parts[i] ? strlen(parts[i]) + 1 : 1);
    for (size_t i = 0; i < n->nrcpts; i++)
        EVP_DigestUpdate(ctx, n->rcpts[i].address,
                         strlen(n->rcpts[i].address) + 1);
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        goto fail;
    EVP_MD_CTX_free(ctx);
    hex_encode(md, mdlen, hex);
    snprintf(out, outlen, "ev:%s", hex);
    return out;
fail:
    EVP_MD_CTX_free(ctx);
    snprintf(out, outlen, "ev:%s:%s", n->type_name,
             n->message_id ? n->message_id : "");
    return out;
}
