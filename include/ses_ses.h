/*
 * ses_ses.h - the Amazon SES client: send one spooled message
 *
 * A ses_client_t belongs to one thread (it owns an http_t, so the HTTPS
 * connection to SES is reused); the credentials provider is shared.
 * ses_send() sends a spooled message to its envelope recipients, split into
 * calls of at most RecipientsPerCall (50) destinations, SigV4-signed, with
 * the body streamed: base64 of the spool is produced as libcurl reads it.
 * Each recipient gets its own outcome.
 *
 * Configuration set and tags: the config's ConfigurationSet/MessageTags,
 * overridden by the X-SES-CONFIGURATION-SET / X-SES-MESSAGE-TAGS headers
 * the milter wrote, plus the tags mta-host and mta-queue-id.
 *
 * DIAGNOSTICS
 *   ses_send() returns ST_OK when every recipient was accepted, else the
 *   status of the first recipient that was not; per-recipient statuses,
 *   SES MessageIds and diagnostic texts are in results[]. Texts never
 *   contain secrets.
 */
#ifndef SES_SES_H
#define SES_SES_H

#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_spool.h"
#include "ses_status.h"

#include <time.h>

#define SES_MAX_RECIPIENTS 1000 /* per message; Postfix sends fewer */

typedef struct ses_client ses_client_t;

typedef struct {
    const char *sender;       /* envelope sender; "" for <> */
    const char *const *rcpts; /* envelope recipients */
    size_t nrcpts;
    const char *queue_id; /* Postfix queue id, or NULL */
    spool_t *spool;       /* the message, CRLF */
} ses_message_t;

typedef struct {
    status_t status;
    char message_id[128]; /* SES MessageId when accepted */
    char detail[256];     /* SES error text or our reason */
} ses_result_t;

ses_client_t *ses_client_new(conf_t *conf, creds_provider_t *creds, char *err,
                             size_t errlen);
void ses_client_free(ses_client_t *c); /* NULL is fine */

status_t ses_send(ses_client_t *c, const ses_message_t *m,
                  ses_result_t *results);

/* The endpoint URL used (for logs). */
const char *ses_client_url(const ses_client_t *c);

/* Maps an SES error (code from x-amzn-ErrorType, JSON or XML; message
 * text; HTTP status) to a status. Exposed for the unit tests. */
status_t ses_classify_error(long http_code, const char *code,
                            const char *message);

/* Test hook: a fixed clock for signatures (0 restores the real one). */
void ses_set_clock(time_t fixed);

#endif
