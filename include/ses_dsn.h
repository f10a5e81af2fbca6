/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_dsn.h - RFC 3464 delivery status notifications
 *
 * dsn_build() writes a bounce in the form Postfix's own bounces take:
 * multipart/report; report-type=delivery-status with a human-readable
 * part, a message/delivery-status part (Reporting-MTA, Original-Envelope-Id
 * when known, Arrival-Date, then per recipient Final-Recipient, Action,
 * Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date) and the original
 * message's headers as text/rfc822-headers. Everything from outside is
 * reduced to printable ASCII on single lines, so no value can add a header
 * or a MIME part.
 *
 * dsn_send() injects a message with the null sender through sendmail(1)
 * ("sendmail -i -f <> -- RCPT"), so it enters the local MTA's queue like
 * any bounce; the MTA's config directory comes from the environment
 * (MAIL_CONFIG for Postfix).
 *
 * DIAGNOSTICS
 *   dsn_build() returns 0, or -1 with a reason in err (nothing to report,
 *   too big). dsn_send() returns ST_OK when sendmail exited 0, else
 *   ST_TEMP_RESOURCE (cannot run it, or it failed or hung: try later) or
 *   ST_PERM_BAD_ADDRESS (a recipient we must not pass to a shell-less
 *   exec either); the reason is in err. Nothing here logs.
 */
#ifndef SES_DSN_H
#define SES_DSN_H

#include "ses_status.h"
#include "ses_util.h"

#include <stdint.h>

#define DSN_MAX_SIZE (2 * 1024 * 1024)

typedef struct {
    const char *address;    /* Final-Recipient */
    const char *status;     /* "5.1.1"; NULL: from `permanent` */
    const char *diagnostic; /* "smtp; 550 5.1.1 ..." or NULL */
    const char *remote_mta; /* host or IP address, or NULL */
    int64_t last_attempt;   /* unix seconds, 0 unknown */
} dsn_rcpt_t;

typedef struct {
    const char *name;
    const char *value;
} dsn_header_t;

typedef struct {
    const char *reporting_mta; /* our host name */
    const char *sender;        /* original envelope sender = To: */
    const char *queue_id;      /* Postfix queue id, or NULL */
    const char *message_id;    /* SES MessageId, or NULL */
    const char *envid;         /* Original-Envelope-Id, or NULL */
    const char *subject;       /* the original subject, or NULL */
    const char *explanation;   /* one sentence on why, or NULL */
    int64_t arrival;           /* Arrival-Date; 0 unknown */
    int64_t now;               /* Date: */
    int permanent;             /* default Status 5.0.0 (else 4.0.0) */
    const dsn_rcpt_t *rcpts;
    size_t nrcpts;
    const dsn_header_t *headers; /* of the original message */
    size_t nheaders;
} dsn_t;

int dsn_build(const dsn_t *d, buf_t *out, char *err, size_t errlen);

/* "Tue, 25 Nov 2025 06:21:00 +0000" into out (at least 40 bytes). */
const char *dsn_date(int64_t t, char *out, size_t outlen);

status_t dsn_send(const char *sendmail, const char *rcpt, const char *msg,
                  size_t len, int timeout_ms, char *err, size_t errlen);

#endif
