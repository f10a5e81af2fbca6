/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_ses.h - the Amazon SES client: send one spooled message
 *
 * A ses_client_t belongs to one thread (it owns an http_t, so the HTTPS
 * connection to SES is reused); the credentials provider is shared.
 * ses_send() sends one batch of a delivery's plan (ses_plan.h) - exactly
 * the envelope recipients the plan lets go, Bcc included, never the header
 * addresses - in one call through aws_call() (SigV4, retries within
 * RetryTime, error classification). The body is streamed: base64 of the
 * spool is produced as libcurl reads it, so memory does not grow with the
 * message. Each recipient gets its own outcome.
 *
 * APIs (ApiVersion): v2 SendEmail with Content.Raw.Data (JSON, 40 MB after
 * base64), or v1 Action=SendRawEmail (form, 10 MB after base64): the plan
 * refuses a message over its API's limit (counted on the CRLF form, after
 * base64), or one the spool had to cut, with ST_PERM_TOO_LARGE before any
 * call: a message is never sent cut short.
 * The envelope sender is v2 FromEmailAddress / v1 Source (left out for the
 * null sender). FromArn -> v2 FromEmailAddressIdentityArn (SourceArn when
 * FromArn is unset) / v1 FromArn; SourceArn, ReturnPathArn -> v1;
 * FeedbackForwardingEmailAddress (+ ReturnPathArn as its identity ARN) ->
 * v2.
 *
 * What a message goes out with - the sender's and recipients' forms,
 * configuration set, tenant, tags - and which recipients go at all is
 * decided before, once, in a plan (ses_plan.h); ses_send() sends one
 * batch of it. The tenant goes out as SESv2 TenantName.
 *
 * Regions (ses_route.h): each call goes to the primary route (Region or
 * the global endpoint of EndpointId, SigV4a); while that region fails with
 * connection errors, timeouts, resets or 5xx (two failures in a row, or one
 * timeout), the message goes to the next FailoverRegion with that region's
 * ARNs. Refusals, throttling and accepted messages never move.
 *
 * MaxSendRate: all clients of a process share one token bucket; a call
 * takes as many tokens as it has destinations (SES counts recipients).
 *
 * Statuses an operator must hear about are not logged here: the caller
 * logs them (ses-relay's breakers make that one line per interval).
 *
 * When SES refuses a multi-recipient call because of one bad address, each
 * recipient of the call is sent on its own, so the good ones still go and
 * the bad one bounces alone.
 *
 * DIAGNOSTICS
 *   ses_send() returns ST_OK when every recipient was accepted, else the
 *   status of the first recipient that was not; per-recipient statuses,
 *   SES MessageIds and diagnostic texts are in results[]. Texts never
 *   contain secrets.
 */
#ifndef SES_SES_H
#define SES_SES_H

#include "ses_answer.h"
#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_plan.h"
#include "ses_spool.h"
#include "ses_status.h"

#include <stdbool.h>

#define SES_MAX_RECIPIENTS 1000 /* per message; Postfix sends fewer */
#define SES_MAX_PER_CALL   50   /* RecipientsPerCall's bound: SES's */
#define SES_SENDRATE_FILE                                                      \
    "sendrate"                      /* in DataDirectory: MaxSendRate, shared   \
                                     */
#define SES_V1_MAX_ENCODED 10485760 /* v1 limit, after base64 */
#define SES_V2_MAX_ENCODED 41943040 /* v2 limit, after base64 */

typedef struct ses_client ses_client_t;

typedef struct {
    status_t status;
    char message_id[128];  /* SES MessageId when accepted */
    char detail[256];      /* SES error text or our reason */
    breaker_scope_t scope; /* the scope SES's answer stops (ses_answer.h) */
    char identity[ANSWER_IDENTITY_MAX]; /* the identity it names, or "" */
    char region[64]; /* the region of the route that answered ("*": the
                        global endpoint), "" when no call was made */
} ses_result_t;

ses_client_t *ses_client_new(conf_t *conf, creds_provider_t *creds, char *err,
                             size_t errlen);
void ses_client_free(ses_client_t *c); /* NULL is fine */

/* Sends the recipients p->rcpt[idx[0..n)] of plan p (at most
 * p->per of them, each one that goes) in one call, or one call each when
 * SES refuses the call for one bad address; results[idx[i]] gets each
 * one's outcome (results has p->nrcpts entries). */
status_t ses_send(ses_client_t *c, const plan_t *p, const size_t *idx, size_t n,
                  ses_result_t *results);

/* This host's name as the mta-host tag carries it, read when the client
 * was made. */
const char *ses_client_host(const ses_client_t *c);
/* The endpoint URL used (for logs). */
const char *ses_client_url(const ses_client_t *c);
/* The region of the primary route ("*" for a global endpoint): where the
 * host-wide breakers of a message's scopes are looked up. */
const char *ses_client_region(const ses_client_t *c);

/* The MessageId of a SendEmail (v2, JSON) or SendRawEmail (v1, XML) answer
 * as ses_send() reads it: 0 and the id in out, or -1 (exposed for tests and
 * tests/fuzz). */
int ses_answer_message_id(bool v1, const char *body, size_t len, char *out,
                          size_t outlen);

#endif
