/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_feedback.h - applying SES feedback: suppression, DSNs, counters
 *
 * feedback_handle() takes one message as a source delivered it: an SNS
 * envelope (its signature verified, its TopicArn one of SnsTopicArn) or,
 * where the source is trusted to carry it (a file, an SQS queue with raw
 * message delivery), bare SES JSON or an Amazon EventBridge event from SES
 * (its "detail" is the SES event). For a Notification it applies the SES
 * notification inside exactly once:
 *
 *   Bounce Permanent   suppress each bounced recipient (reason bounce;
 *                      source ses for OnAccountSuppressionList), DSN
 *   Bounce Transient,  no suppression; DSN when TransientBounceDSN (SES
 *     Undetermined     reports these once it gave up on the message)
 *   Complaint          suppress (reason complaint; not for "not-spam")
 *   Delivery, Send, Reject, DeliveryDelay, Rendering Failure, Open, Click:
 *                      logged and counted
 *
 * Every host applies every notification's suppression. The DSN
 * (BounceDSN yes) is written by one host of a fleet sharing the SES
 * account (one SQS queue per host, all subscribed to one topic):
 *   - a notification with an mta-host tag (event publishing echoes the
 *     tags ses-relay sends): the host whose messages.db holds the SES
 *     MessageId, or the host the tag names (its record expired or lost);
 *     a host that sees another host's tag writes none;
 *   - one without (identity notifications carry no tags): the host named
 *     by BounceDSNHost, or, when that is unset, this host (one host).
 * It goes to the original envelope sender from messages.db, else to the
 * address in the notification's mail.source ("Name <a@b>" gives a@b);
 * never to the null sender and never about a message that was itself a
 * DSN.
 *
 * One store transaction marks the notification's keys in seen.db (the
 * SNS/SQS message id and the SES feedbackId or event key) together with
 * the suppression entries, counters and the DSN in outbox.db: a duplicate
 * finds its keys and changes nothing, and a failed commit sends nothing.
 * After the commit the DSN is injected from the outbox and deleted from
 * it; one the MTA does not take now stays there and feedback_flush()
 * retries it (for up to 5 days, then it is dropped with an error). Only a
 * crash after sendmail took the DSN and before the outbox update (the
 * store's no-sync commit: well under a millisecond) sends one twice. A
 * SubscriptionConfirmation for an allowed topic is confirmed; everything
 * else is logged and refused.
 *
 * DIAGNOSTICS
 *   feedback_handle() returns ST_OK (applied, duplicate, or a known type
 *   that needs nothing), ST_PERM_BAD_MESSAGE (malformed, unknown type,
 *   missing fields; retrying cannot help), ST_PERM_FORGED (signature,
 *   certificate URL or topic refused), or a temporary status (store busy,
 *   certificate not fetchable now): try again later. A DSN that Sendmail
 *   did not take does not make the notification fail: it waits in the
 *   outbox. feedback_flush() returns ST_OK when nothing due is left,
 *   else a temporary status. A
 *   one-line reason is in detail and every outcome is logged with the
 *   Postfix queue id when known.
 */
#ifndef SES_FEEDBACK_H
#define SES_FEEDBACK_H

#include "ses_conf.h"
#include "ses_forwarding.h"
#include "ses_sns.h"
#include "ses_status.h"
#include "ses_store.h"

#define FB_ALLOW_BARE 0x1 /* bare SES JSON is acceptable from this source */
/* An SNS message is accepted only while seen.db would still know it: its
 * Timestamp (signed, when SNS first sent it) at most SeenRetention minus
 * FB_CLOCK_SKEW_S old and at most FB_CLOCK_SKEW_S ahead, so one captured
 * and replayed after its seen key expired is refused (ST_PERM_FORGED).
 * For the HTTP endpoint, which anyone can reach; SQS is read late
 * legitimately (up to 14 days) and only the queue policy's senders reach
 * it. */
#define FB_FRESH_ONLY   0x2
#define FB_CLOCK_SKEW_S 300

typedef struct feedback feedback_t;

/* Takes a reference to conf; store and certs stay the caller's (certs may
 * be NULL: SNS envelopes are then refused). */
feedback_t *feedback_new(conf_t *conf, store_t *store, sns_certs_t *certs);
void feedback_free(feedback_t *fb); /* NULL is fine */

/* source_id: "sqs:<MessageId>" or similar for de-duplication across
 * redeliveries, or NULL. */
status_t feedback_handle(feedback_t *fb, const char *body, size_t len,
                         unsigned flags, const char *source_id, char *detail,
                         size_t detlen);

/* Injects the outbox's DSNs that are due (after a restart, and those
 * Sendmail did not take before), or (all) every one whatever its retry
 * time, as after an operator fixed the MTA. At most one process per
 * DataDirectory injects at a time (DataDirectory/outbox.lock). */
status_t feedback_flush(feedback_t *fb, int all);

/* With a forwarding checker (borrowed; NULL: none), a host that writes a
 * DSN also warns, once per SES identity, when SES forwards that
 * identity's bounces to the Return-Path itself (the sender would get
 * two). */
void feedback_set_forwarding(feedback_t *fb, forwarding_t *fwd);

/* A reloaded configuration (SIGHUP): calls that start later use it,
 * calls in flight keep theirs. Takes its own reference. */
void feedback_set_conf(feedback_t *fb, conf_t *conf);

/* Test hook: a fixed clock (0 restores the real one). */
void feedback_set_clock(feedback_t *fb, int64_t fixed);

#endif
