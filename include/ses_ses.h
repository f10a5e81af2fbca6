/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_ses.h - the Amazon SES client: send one spooled message
 *
 * A ses_client_t belongs to one thread (it owns an http_t, so the HTTPS
 * connection to SES is reused); the credentials provider is shared.
 * ses_send() sends a spooled message to its envelope recipients - exactly
 * those, Bcc included, never the header addresses - split into calls of at
 * most RecipientsPerCall (50) destinations, through aws_call() (SigV4,
 * retries within RetryTime, error classification). The body is streamed:
 * base64 of the spool is produced as libcurl reads it, so memory does not
 * grow with the message. Each recipient gets its own outcome.
 *
 * APIs (ApiVersion): v2 SendEmail with Content.Raw.Data (JSON, 40 MB after
 * base64), or v1 Action=SendRawEmail (form, 10 MB after base64). A message
 * over its API's limit (counted on the CRLF form, after base64), or one
 * the spool had to cut (over MaxMessageSize), is refused with
 * ST_PERM_TOO_LARGE before any call: a message is never sent cut short.
 * The envelope sender is v2 FromEmailAddress / v1 Source (left out for the
 * null sender). FromArn -> v2 FromEmailAddressIdentityArn (SourceArn when
 * FromArn is unset) / v1 FromArn; SourceArn, ReturnPathArn -> v1;
 * FeedbackForwardingEmailAddress (+ ReturnPathArn as its identity ARN) ->
 * v2.
 *
 * Configuration set, tenant and tags: the config's ConfigurationSet,
 * TenantName and MessageTags, overridden by the X-SES-CONFIGURATION-SET,
 * X-SES-TENANT and X-SES-MESSAGE-TAGS headers the milter wrote (invalid
 * ones are ignored with a warning), plus the tags mta-host and
 * mta-queue-id. The tenant goes out as SESv2 TenantName; SES v1 has no
 * tenants, so with ApiVersion v1 a message for a tenant is deferred
 * (ST_TEMP_CONFIG), never sent without it.
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
 * Recipients whose local part is not ASCII get ST_PERM_NON_ASCII without a
 * call (SES has no SMTPUTF8). When SES refuses a multi-recipient call
 * because of one bad address, each recipient of the call is sent on its
 * own, so the good ones still go and the bad one bounces alone.
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
#include "ses_spool.h"
#include "ses_status.h"

#include <stdbool.h>

#define SES_MAX_RECIPIENTS 1000 /* per message; Postfix sends fewer */
#define SES_SENDRATE_FILE                                                      \
    "sendrate"                      /* in DataDirectory: MaxSendRate, shared   \
                                     */
#define SES_V1_MAX_ENCODED 10485760 /* v1 limit, after base64 */
#define SES_V2_MAX_ENCODED 41943040 /* v2 limit, after base64 */

typedef struct ses_client ses_client_t;

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

status_t ses_send(ses_client_t *c, const ses_message_t *m,
                  ses_result_t *results);

/* The configuration set a message goes out with: a valid
 * X-SES-CONFIGURATION-SET header (copied into out), else ConfigurationSet,
 * else NULL. *bad_header (may be NULL) tells of an invalid header. */
const char *ses_config_set(const conf_t *conf, const spool_t *sp, char *out,
                           size_t outlen, bool *bad_header);

/* The tenant likewise: a valid X-SES-TENANT header, else TenantName, else
 * NULL. */
const char *ses_tenant(const conf_t *conf, const spool_t *sp, char *out,
                       size_t outlen, bool *bad_header);

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
