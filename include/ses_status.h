/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_status.h - the one table from internal status to the outside world
 *
 * Every outcome in the package is a status_t. status_info() gives, from one
 * table in status.c, the sysexits code (pipe(8) and Sendmail mailers), the
 * SMTP/LMTP reply code and enhanced status code, the milter action, whether
 * a retry within RetryTime can help, and whether an operator must hear about
 * it loudly. Unknown or out-of-range statuses map to a temporary failure:
 * a message is never bounced because we could not classify an answer.
 *
 * DIAGNOSTICS
 *   None; lookups cannot fail.
 */
#ifndef SES_STATUS_H
#define SES_STATUS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ST_OK = 0,
    /* permanent: Postfix bounces */
    ST_PERM_REJECTED,    /* SES refused the content ("Illegal content.") */
    ST_PERM_BAD_ADDRESS, /* invalid recipient or sender address */
    ST_PERM_TOO_LARGE,   /* over the SES or MaxMessageSize limit */
    ST_PERM_NON_ASCII,   /* SMTPUTF8 address SES cannot take */
    ST_PERM_SUPPRESSED,  /* recipient on the suppression list */
    ST_PERM_UNVERIFIED,  /* sender/recipient not a verified identity */
    ST_PERM_BAD_MESSAGE, /* header or MIME syntax SES refuses */
    ST_PERM_FORGED,      /* a signature that does not verify (SNS) */
    /* temporary: the message stays in Postfix's queue */
    ST_TEMP_THROTTLED,         /* Throttling, 429, Maximum sending rate */
    ST_TEMP_QUOTA,             /* Daily message quota exceeded */
    ST_TEMP_SERVER,            /* HTTP 5xx */
    ST_TEMP_TIMEOUT,           /* connect or request timeout */
    ST_TEMP_CONNECT,           /* connection refused / unreachable */
    ST_TEMP_RESET,             /* connection reset, empty reply */
    ST_TEMP_DNS,               /* name resolution failed */
    ST_TEMP_TLS,               /* TLS handshake or verification failed */
    ST_TEMP_CREDENTIALS,       /* no usable AWS credentials */
    ST_TEMP_AUTH,              /* SES refused our signature or key */
    ST_TEMP_CONFIG,            /* unreadable or invalid configuration */
    ST_TEMP_STORE,             /* Berkeley DB busy or failing */
    ST_TEMP_ACCOUNT_PAUSED,    /* AccountSendingPaused */
    ST_TEMP_CONFIGSET_PAUSED,  /* ConfigurationSetSendingPaused */
    ST_TEMP_CONFIGSET_MISSING, /* ConfigurationSetDoesNotExist */
    ST_TEMP_ACCOUNT_SUSPENDED, /* AccountSuspended */
    ST_TEMP_PROTOCOL,          /* unparseable answer from SES */
    ST_TEMP_RESOURCE,          /* out of memory, disk, descriptors */
    ST_TEMP_SHUTDOWN,          /* the service is stopping */
    ST_TEMP_UNKNOWN,           /* anything we cannot classify */
    ST_TEMP_IDENTITY,          /* SES: identity not verified here */
    ST_TEMP_STORE_CONFIG,      /* Berkeley DB setup: directory, permissions */
    ST_TEMP_MAILFROM,          /* MailFromDomainNotVerified (MX lookup) */
    ST_TEMP_UNRECOGNISED,      /* an SES answer no rule knows */
    ST__COUNT
} status_t;

typedef enum {
    MILTER_CONTINUE,
    MILTER_ACCEPT,
    MILTER_REJECT,
    MILTER_TEMPFAIL,
    MILTER_DISCARD,
} milter_action_t;

typedef struct {
    status_t status;
    const char *name; /* stable name for logs and metrics */
    int sysexit;      /* <sysexits.h> */
    int smtp;         /* 250, 4xx, 5xx */
    const char *dsn;  /* enhanced status code "4.4.5" */
    milter_action_t milter;
    bool retry;       /* a retry within RetryTime may help */
    bool loud;        /* an operator must act: logged at LOG_ERR */
    const char *text; /* short human description */
} status_info_t;

const status_info_t *status_info(status_t st);
bool status_is_ok(status_t st);
bool status_is_permanent(status_t st);
bool status_is_temporary(status_t st);
/* "451 4.4.5 text" into out; detail (may be NULL) replaces the default
 * text. CR/LF and non-ASCII in detail are replaced. */
const char *status_reply(status_t st, const char *detail, char *out,
                         size_t outlen);
/* "4.4.5 text" (no SMTP code), the pipe(8) diagnostic line. */
const char *status_diag(status_t st, const char *detail, char *out,
                        size_t outlen);

#endif
