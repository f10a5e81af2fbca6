/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_note.h - Amazon SES notifications and published events
 *
 * note_parse() reads one SES message in either format SES produces:
 * notifications ("notificationType": Bounce, Complaint, Delivery) and event
 * publishing ("eventType": Send, Reject, Bounce, Complaint, Delivery,
 * DeliveryDelay, Rendering Failure, Open, Click, Subscription). The result
 * points into the parsed document; note_free() releases both.
 *
 * note_event_key() gives the key under which a notification is applied
 * once (the SES feedbackId for bounces and complaints, else type, message
 * id and event time). Its ISO 8601 times are read with
 * time_parse_iso8601() (ses_util.h).
 *
 * Bounds: a document over NOTE_MAX_JSON bytes, more than NOTE_MAX_RCPTS
 * recipients or NOTE_MAX_HEADERS headers is refused; single strings are
 * limited to NOTE_MAX_STRING bytes (longer diagnostic texts are refused,
 * not cut, so nothing half-read is acted on).
 *
 * DIAGNOSTICS
 *   note_parse() returns 0, or -1 with a one-line reason ("bounce without
 *   bouncedRecipients", "unknown eventType \"Foo\"", "JSON error at line 1:
 *   ...") in err. Nothing here logs.
 */
#ifndef SES_NOTE_H
#define SES_NOTE_H

#include <stddef.h>
#include <stdint.h>

#define NOTE_MAX_JSON    (1024 * 1024)
#define NOTE_MAX_RCPTS   1000
#define NOTE_MAX_HEADERS 500
#define NOTE_MAX_STRING  (64 * 1024)

typedef enum {
    NOTE_BOUNCE = 1,
    NOTE_COMPLAINT,
    NOTE_DELIVERY,
    NOTE_SEND,
    NOTE_REJECT,
    NOTE_DELIVERY_DELAY,
    NOTE_RENDERING_FAILURE,
    NOTE_OPEN,
    NOTE_CLICK,
    NOTE_SUBSCRIPTION,
    NOTE_SUBSCRIPTION_SUCCEEDED, /* AmazonSnsSubscriptionSucceeded */
} note_type_t;

typedef enum {
    NOTE_BOUNCE_PERMANENT = 1,
    NOTE_BOUNCE_TRANSIENT,
    NOTE_BOUNCE_UNDETERMINED,
} note_bounce_t;

typedef struct {
    const char *address;    /* emailAddress (or the delivery recipient) */
    const char *action;     /* "failed", may be NULL */
    const char *status;     /* "5.1.1", may be NULL */
    const char *diagnostic; /* "smtp; 550 5.1.1 ...", may be NULL */
} note_rcpt_t;

typedef struct {
    const char *name;
    const char *value;
} note_header_t;

typedef struct {
    note_type_t type;
    int event;             /* 1: event publishing, 0: notification */
    const char *type_name; /* as SES wrote it */

    /* mail object; message_id is always set */
    const char *message_id;
    const char *source; /* the envelope sender SES saw */
    const char *mail_time;
    const char *source_arn;
    const char *sending_account;
    const char *config_set; /* tag ses:configuration-set */
    const char *queue_id;   /* tag mta-queue-id (set by ses-relay) */
    const char *mta_host;   /* tag mta-host */
    const char *subject;    /* commonHeaders.subject */
    const note_header_t *headers;
    size_t nheaders;
    int headers_truncated;

    /* the event */
    const char *event_time; /* bounce/complaint/delivery/... timestamp */
    const char *feedback_id;
    note_bounce_t bounce_type;
    const char *bounce_type_name;
    const char *bounce_subtype;
    const char *reporting_mta; /* "dsn; a1-2.smtp-out.amazonses.com" */
    const char *remote_mta_ip; /* the receiving MTA, from SES */
    const char *complaint_type;
    const char *smtp_response;   /* delivery */
    const char *reject_reason;   /* reject */
    const char *delay_type;      /* deliveryDelay */
    const char *failure_message; /* rendering failure */
    const char *template_name;
    const note_rcpt_t *rcpts; /* bounced/complained/delivered/delayed */
    size_t nrcpts;

    void *priv;
} note_t;

int note_parse(const char *json, size_t len, note_t **out, char *err,
               size_t errlen);
void note_free(note_t *n); /* NULL is fine */

const char *note_type_name(note_type_t t);     /* "bounce", ... */
const char *note_bounce_name(note_bounce_t b); /* "Permanent", ... */

/* The idempotency key of the event, into out; returns out. */
const char *note_event_key(const note_t *n, char *out, size_t outlen);

#endif
