/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_sqs.h - the feedback queue: Amazon SQS ReceiveMessage/DeleteMessage
 *
 * sqs_new() prepares calls to one queue URL (FeedbackQueueUrl): JSON 1.0
 * protocol, SigV4 service "sqs", region from the URL's host
 * (sqs.REGION.amazonaws.com, REGION.queue.amazonaws.com) or else the
 * Region key. Requests go to the queue URL itself, which SQS accepts like
 * its root. Calls use the aws module: signed, retried within RetryTime,
 * classified.
 *
 * sqs_receive() long-polls (WaitTimeSeconds up to 20) for up to 10
 * messages; each body is checked against its MD5OfBody. sqs_delete()
 * deletes one by its receipt handle - the consumer calls it only after the
 * message's effects are committed, so delivery is at least once and a
 * message that keeps failing is left for the queue's redrive policy (its
 * dead-letter queue).
 *
 * DIAGNOSTICS
 *   sqs_new() returns NULL with a reason in err (bad URL). sqs_receive()
 *   and sqs_delete() return ST_OK or the aws module's classified status
 *   with one line in err (ST_TEMP_PROTOCOL for an answer that does not
 *   parse). Nothing here logs; the aws module logs loud statuses.
 */
#ifndef SES_SQS_H
#define SES_SQS_H

#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_http.h"
#include "ses_status.h"

#include <stddef.h>

#define SQS_MAX_MESSAGES 10

typedef struct sqs sqs_t;

typedef struct {
    char *message_id;
    char *receipt_handle;
    char *body;
    size_t body_len;
    int receive_count; /* ApproximateReceiveCount, 0 unknown */
    int md5_ok;        /* MD5OfBody matched (or was absent) */
} sqs_message_t;

sqs_t *sqs_new(const conf_t *conf, creds_provider_t *creds,
               const char *queue_url, char *err, size_t errlen);
void sqs_free(sqs_t *q); /* NULL is fine */

/* Up to SQS_MAX_MESSAGES into msgs (caller's array); *n gets the count. */
status_t sqs_receive(sqs_t *q, http_t *http, int wait_s, sqs_message_t *msgs,
                     size_t *n, char *err, size_t errlen);
/* The messages of a ReceiveMessage answer body, as sqs_receive() reads
 * them (exposed for tests and tests/fuzz). */
status_t sqs_receive_parse(const char *body, size_t len, sqs_message_t *msgs,
                           size_t *n, char *err, size_t errlen);
void sqs_message_clear(sqs_message_t *m); /* frees the strings */

status_t sqs_delete(sqs_t *q, http_t *http, const char *receipt_handle,
                    char *err, size_t errlen);

#endif
