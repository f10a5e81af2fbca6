/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * status.c - the one table from internal status to the outside world
 *
 * Postfix's sys_exits.c keeps a single map from exit status to enhanced
 * status code; this is ours, extended with the SMTP reply code and the
 * milter action. Permanent entries bounce mail; everything else defers.
 * Configuration and credential problems are temporary by rule.
 *
 * DIAGNOSTICS
 *   None; an unknown status is reported as ST_TEMP_UNKNOWN.
 */
#include "config.h"

#include "ses_status.h"
#include "ses_util.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#define P(st, name, ex, smtp, dsn, mil, text)                                  \
    [st] = {st, name, ex, smtp, dsn, mil, false, false, text}
#define T(st, name, dsn, retry, loud, text)                                    \
    [st] = {st, name, EX_TEMPFAIL, 451, dsn, MILTER_TEMPFAIL, retry, loud, text}

static const status_info_t table[ST__COUNT] = {
    [ST_OK] = {ST_OK, "ok", EX_OK, 250, "2.0.0", MILTER_CONTINUE, false, false,
               "Ok"},
    P(ST_PERM_REJECTED, "rejected", EX_UNAVAILABLE, 554, "5.7.1", MILTER_REJECT,
      "message content refused by Amazon SES"),
    P(ST_PERM_BAD_ADDRESS, "bad-address", EX_NOUSER, 550, "5.1.3",
      MILTER_REJECT, "address rejected by Amazon SES"),
    P(ST_PERM_TOO_LARGE, "too-large", EX_DATAERR, 552, "5.3.4", MILTER_REJECT,
      "message too large"),
    P(ST_PERM_NON_ASCII, "non-ascii-address", EX_DATAERR, 553, "5.6.7",
      MILTER_REJECT, "non-ASCII address not supported by Amazon SES"),
    P(ST_PERM_SUPPRESSED, "suppressed", EX_NOUSER, 550, "5.1.1", MILTER_REJECT,
      "recipient is on the suppression list"),
    P(ST_PERM_UNVERIFIED, "unverified-identity", EX_NOPERM, 550, "5.7.1",
      MILTER_REJECT, "address is not a verified Amazon SES identity"),
    P(ST_PERM_BAD_MESSAGE, "bad-message", EX_DATAERR, 554, "5.6.0",
      MILTER_REJECT, "message refused as malformed by Amazon SES"),
    P(ST_PERM_FORGED, "forged", EX_NOPERM, 554, "5.7.7", MILTER_REJECT,
      "signature verification failed"),
    T(ST_TEMP_THROTTLED, "throttled", "4.4.5", true, false,
      "Amazon SES is throttling: maximum sending rate exceeded"),
    T(ST_TEMP_QUOTA, "quota-exceeded", "4.4.5", false, true,
      "Amazon SES daily sending quota exceeded"),
    T(ST_TEMP_SERVER, "server-error", "4.3.0", true, false,
      "Amazon SES server error"),
    T(ST_TEMP_TIMEOUT, "timeout", "4.4.1", true, false,
      "timeout talking to Amazon SES"),
    T(ST_TEMP_CONNECT, "connect-failed", "4.4.1", true, false,
      "cannot connect to Amazon SES"),
    T(ST_TEMP_RESET, "connection-reset", "4.4.2", true, false,
      "connection to Amazon SES lost"),
    T(ST_TEMP_DNS, "dns-failure", "4.4.3", true, false,
      "cannot resolve the Amazon SES endpoint"),
    T(ST_TEMP_TLS, "tls-failure", "4.7.5", true, true,
      "TLS failure talking to Amazon SES"),
    T(ST_TEMP_CREDENTIALS, "no-credentials", "4.3.5", false, true,
      "no usable AWS credentials"),
    T(ST_TEMP_AUTH, "auth-failure", "4.7.0", false, true,
      "Amazon SES refused our credentials or signature"),
    T(ST_TEMP_CONFIG, "config-error", "4.3.5", false, true,
      "configuration error"),
    T(ST_TEMP_STORE, "store-error", "4.3.0", false, true,
      "local database temporarily unavailable"),
    T(ST_TEMP_ACCOUNT_PAUSED, "account-paused", "4.7.0", false, true,
      "Amazon SES sending is paused for the account"),
    T(ST_TEMP_CONFIGSET_PAUSED, "configuration-set-paused", "4.7.0", false,
      true, "Amazon SES sending is paused for the configuration set"),
    T(ST_TEMP_CONFIGSET_MISSING, "configuration-set-missing", "4.3.5", false,
      true, "Amazon SES configuration set does not exist"),
    T(ST_TEMP_ACCOUNT_SUSPENDED, "account-suspended", "4.7.0", false, true,
      "Amazon SES account is suspended"),
    T(ST_TEMP_PROTOCOL, "bad-answer", "4.3.0", true, false,
      "unexpected answer from Amazon SES"),
    T(ST_TEMP_RESOURCE, "resource-shortage", "4.3.1", false, true,
      "local resource shortage"),
    T(ST_TEMP_SHUTDOWN, "shutdown", "4.3.2", false, false,
      "service shutting down"),
    T(ST_TEMP_UNKNOWN, "unknown", "4.0.0", false, false, "temporary failure"),
    T(ST_TEMP_IDENTITY, "identity-not-verified", "4.7.1", false, true,
      "sending identity not verified in Amazon SES for this region (check "
      "Region, the sandbox, verified identities)"),
    T(ST_TEMP_STORE_CONFIG, "store-config-error", "4.3.5", false, true,
      "local database misconfigured (DataDirectory, permissions)"),
    T(ST_TEMP_MAILFROM, "mail-from-not-verified", "4.7.1", false, true,
      "Amazon SES cannot use the MAIL FROM domain (not verified, or its MX "
      "record could not be read)"),
    T(ST_TEMP_UNRECOGNISED, "unrecognised-answer", "4.0.0", false, true,
      "Amazon SES refused the call with an answer this version does not "
      "know; the message stays queued"),
};

const status_info_t *status_info(status_t st)
{
    if ((unsigned)st >= ST__COUNT || table[st].name == NULL)
        return &table[ST_TEMP_UNKNOWN];
    return &table[st];
}

bool status_is_ok(status_t st)
{
    return status_info(st)->smtp / 100 == 2;
}

bool status_is_permanent(status_t st)
{
    return status_info(st)->smtp / 100 == 5;
}

bool status_is_temporary(status_t st)
{
    return status_info(st)->smtp / 100 == 4;
}

static void clean(const char *in, char *out, size_t outlen)
{
    str_copy(out, in, outlen);
    str_sanitize(out);
}

const char *status_reply(status_t st, const char *detail, char *out,
                         size_t outlen)
{
    const status_info_t *si = status_info(st);
    char text[400];

    clean(detail && *detail ? detail : si->text, text, sizeof(text));
    snprintf(out, outlen, "%d %s %s", si->smtp, si->dsn, text);
    return out;
}

const char *status_diag(status_t st, const char *detail, char *out,
                        size_t outlen)
{
    const status_info_t *si = status_info(st);
    char text[400];

    clean(detail && *detail ? detail : si->text, text, sizeof(text));
    snprintf(out, outlen, "%s %s", si->dsn, text);
    return out;
}
