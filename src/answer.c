/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * answer.c - what an AWS error answer means for the mail: one table
 *
 * rules[] is read top to bottom; the first row whose HTTP range, code list
 * and text patterns all match decides. The order carries the policy:
 *
 *   1. texts that mean the same whatever the code (quota, throttling, an
 *      account or configuration set paused or suspended, an identity not
 *      verified, a clock or signature problem): SES puts several of them
 *      under MessageRejected or InvalidParameterValue;
 *   2. codes that mean one thing (credentials, throttling, server
 *      trouble, a wrong endpoint);
 *   3. message and address defects: permanent, but only for a 4xx answer
 *      with a code of the message-defect family and a known text - the
 *      address texts are those of the JavaMail address parser SES answers
 *      with ("Missing final '@domain'", "Extra route-addr", ...), the
 *      header texts those of its MIME parser ("Expected '=', got ...");
 *   4. what is left of that family, then HTTP-status fallbacks, then
 *      "unrecognised": transient and loud.
 *
 * answer_classify() answer_code() answer_table_markdown()
 *
 * DIAGNOSTICS
 *   See ses_answer.h.
 */
#include "config.h"

#include "ses_answer.h"
#include "ses_addr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TEXT_MAX 512 /* of the first line that is compared */

typedef struct {
    const char *name; /* stable: logs, tests, the README */
    int http_min;     /* 0: any status */
    int http_max;
    const char *codes; /* "A|B", without "Exception"; NULL: any code */
    const char *texts; /* "a|b" lower-case patterns; NULL: any text */
    status_t status;
    breaker_scope_t scope;
} rule_t;

/* The codes SES answers message and address defects with. */
#define DEFECT_CODES                                                           \
    "InvalidParameterValue|InvalidParameter|BadRequest|ValidationError|"       \
    "MessageRejected"

static const rule_t rules[] = {
    /* 1. texts that decide whatever the code */
    {"daily-quota", 0, 0, NULL,
     "daily message quota exceeded|daily sending quota exceeded|"
     "sending quota exceeded",
     ST_TEMP_QUOTA, BREAKER_ACCOUNT},
    {"sending-rate", 0, 0, NULL,
     "maximum sending rate exceeded|sending rate exceeded|rate exceeded|"
     "too many requests",
     ST_TEMP_THROTTLED, BREAKER_NONE},
    {"configuration-set-paused", 0, 0, NULL,
     "configuration set*paused|configuration set*disabled|"
     "paused for*configuration set|disabled for*configuration set",
     ST_TEMP_CONFIGSET_PAUSED, BREAKER_CONFIGSET},
    {"configuration-set-missing", 0, 0, NULL,
     "configuration set*does not exist|configuration set*doesn't exist|"
     "configuration set*not found|configuration set*not exist",
     ST_TEMP_CONFIGSET_MISSING, BREAKER_CONFIGSET},
    {"account-suspended", 0, 0, NULL,
     "suspended for*account|account*suspended|permanently restricted|"
     "account*shut down",
     ST_TEMP_ACCOUNT_SUSPENDED, BREAKER_ACCOUNT},
    {"account-paused", 0, 0, NULL,
     "paused for*account|account*is paused|account*ability to send*paused|"
     "disabled for*account|account*sending*disabled",
     ST_TEMP_ACCOUNT_PAUSED, BREAKER_ACCOUNT},
    {"mail-from-not-verified", 0, 0, "MailFromDomainNotVerified", NULL,
     ST_TEMP_MAILFROM, BREAKER_IDENTITY},
    {"identity-not-verified", 0, 0, NULL,
     "not verified|n't verified|failed the check|in the sandbox",
     ST_TEMP_IDENTITY, BREAKER_IDENTITY},
    {"identity-not-authorized", 0, 0, NULL,
     "not authorized to perform*:identity/|not authorized to send from",
     ST_TEMP_AUTH, BREAKER_IDENTITY},
    {"clock-skew", 0, 0, NULL,
     "request timestamp*expired|signature expired|request has expired|"
     "time*too skewed|clock skew",
     ST_TEMP_AUTH, BREAKER_ACCOUNT},
    {"token-expired", 0, 0, NULL,
     "security token included in the request is expired|token*has expired",
     ST_TEMP_CREDENTIALS, BREAKER_ACCOUNT},
    {"keys-refused", 0, 0, NULL,
     "signature we calculated does not match|"
     "security token included in the request is invalid|"
     "not authorized to perform|access key id*does not exist",
     ST_TEMP_AUTH, BREAKER_ACCOUNT},

    /* 2. codes that mean one thing */
    {"account-paused", 0, 0, "AccountSendingPaused|SendingPaused", NULL,
     ST_TEMP_ACCOUNT_PAUSED, BREAKER_ACCOUNT},
    {"configuration-set-paused", 0, 0, "ConfigurationSetSendingPaused", NULL,
     ST_TEMP_CONFIGSET_PAUSED, BREAKER_CONFIGSET},
    {"configuration-set-missing", 0, 0, "ConfigurationSetDoesNotExist|NotFound",
     NULL, ST_TEMP_CONFIGSET_MISSING, BREAKER_CONFIGSET},
    {"account-suspended", 0, 0, "AccountSuspended", NULL,
     ST_TEMP_ACCOUNT_SUSPENDED, BREAKER_ACCOUNT},
    {"token-expired", 0, 0, "ExpiredToken|InvalidIdentityToken", NULL,
     ST_TEMP_CREDENTIALS, BREAKER_ACCOUNT},
    {"clock-skew", 0, 0,
     "RequestExpired|InvalidSignatureDate|SignatureExpired|"
     "RequestTimeTooSkewed",
     NULL, ST_TEMP_AUTH, BREAKER_ACCOUNT},
    {"keys-refused", 0, 0,
     "SignatureDoesNotMatch|InvalidSignature|IncompleteSignature|"
     "InvalidClientTokenId|UnrecognizedClient|MissingAuthenticationToken|"
     "InvalidAccessKeyId|AuthFailure|AccessDenied|NotAuthorized|"
     "OptInRequired",
     NULL, ST_TEMP_AUTH, BREAKER_ACCOUNT},
    {"throttled", 0, 0,
     "Throttling|TooManyRequests|Throttled|RequestThrottled|"
     "RequestLimitExceeded|BandwidthLimitExceeded|SlowDown|"
     "PriorRequestNotComplete|EC2Throttled",
     NULL, ST_TEMP_THROTTLED, BREAKER_NONE},
    {"limit-exceeded", 0, 0, "LimitExceeded", NULL, ST_TEMP_QUOTA,
     BREAKER_NONE},
    {"server-error", 0, 0,
     "InternalFailure|InternalError|InternalServerError|ServiceUnavailable|"
     "ServiceFailure|IDPCommunicationError",
     NULL, ST_TEMP_SERVER, BREAKER_NONE},
    {"request-timeout", 0, 0, "RequestTimeout", NULL, ST_TEMP_TIMEOUT,
     BREAKER_NONE},
    {"wrong-endpoint", 0, 0,
     "InvalidAction|UnknownOperation|MissingAction|UnsupportedProtocol", NULL,
     ST_TEMP_CONFIG, BREAKER_ACCOUNT},

    /* 3. the message or an address, as SES refuses them (4xx only) */
    {"not-the-message", 400, 499, DEFECT_CODES,
     "missing required header 'to'|no recipients specified|"
     "there are no recipients",
     ST_TEMP_UNRECOGNISED, BREAKER_NONE},
    {"too-large", 400, 499, DEFECT_CODES,
     "message length is more than|message too large|message is too large|"
     "message is too long|message size exceeds|maximum message size|"
     "request entity too large",
     ST_PERM_TOO_LARGE, BREAKER_NONE},
    {"non-ascii-address", 400, 499, DEFECT_CODES,
     "non-ascii characters in the email address", ST_PERM_NON_ASCII,
     BREAKER_NONE},
    {"bad-address", 400, 499, DEFECT_CODES,
     "illegal address|invalid email address|not a valid email address|"
     "address blacklisted|missing final ?@domain?|missing domain|"
     "missing local name|missing '?'|extra route-addr|illegal route-addr|"
     "illegal semicolon|nested group|empty address|unterminated quote|"
     "quote not at *local address|quoted local address contains|"
     "local address contains|local address starts with|"
     "local address ends with|domain contains|domain starts with|"
     "domain ends with|domain literal",
     ST_PERM_BAD_ADDRESS, BREAKER_NONE},
    {"bad-header", 400, 499, DEFECT_CODES,
     "duplicate header|illegal header|invalid header|malformed header|"
     "header names are illegal|empty header name|header section too long|"
     "header*too long|line too long|missing required header|"
     "expected *, got|expected parameter|unbalanced quoted|"
     "unbalanced comment|illegal content type|invalid content type|"
     "content-type string",
     ST_PERM_BAD_MESSAGE, BREAKER_NONE},
    {"content-refused", 400, 499, DEFECT_CODES,
     "illegal content|unsupported attachment|attachment*not supported|"
     "illegal attachment",
     ST_PERM_REJECTED, BREAKER_NONE},

    /* 4. what is left */
    {"unrecognised-refusal", 400, 499, DEFECT_CODES, NULL, ST_TEMP_UNRECOGNISED,
     BREAKER_NONE},
    {"http-429", 429, 429, NULL, NULL, ST_TEMP_THROTTLED, BREAKER_NONE},
    {"http-413", 413, 413, NULL, NULL, ST_PERM_TOO_LARGE, BREAKER_NONE},
    {"http-408", 408, 408, NULL, NULL, ST_TEMP_TIMEOUT, BREAKER_NONE},
    {"http-5xx", 500, 599, NULL, NULL, ST_TEMP_SERVER, BREAKER_NONE},
    {"http-401-403", 401, 403, NULL, NULL, ST_TEMP_AUTH, BREAKER_ACCOUNT},
    {"unrecognised", 0, 0, NULL, NULL, ST_TEMP_UNRECOGNISED, BREAKER_NONE},
};

/* ---- matching ---- */

/* The first non-empty line of msg, lower case, white space runs made one
 * space, trimmed. */
static void normalise(const char *msg, char *out, size_t outlen)
{
    const char *p = msg ? msg : "";
    size_t o = 0;
    int space = 0;

    while (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t')
        p++;
    for (; *p && *p != '\r' && *p != '\n' && o + 1 < outlen; p++) {
        if (*p == ' ' || *p == '\t') {
            space = 1;
            continue;
        }
        if (space && o > 0 && o + 2 < outlen)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)tolower((unsigned char)*p);
    }
    out[o] = '\0';
}

void answer_code(const char *in, char *out, size_t outlen)
{
    const char *h = strrchr(in ? in : "", '#');

    str_copy(out, h ? h + 1 : (in ? in : ""), outlen);
    out[strcspn(out, ":")] = '\0';
}

/* The code as rules name it: answer_code() without "Exception". */
static void rule_code(const char *in, char *out, size_t outlen)
{
    size_t n;

    answer_code(in, out, outlen);
    n = strlen(out);
    if (n > 9 && strcasecmp(out + n - 9, "Exception") == 0)
        out[n - 9] = '\0';
}

/* Whether the pattern p[0..plen) ('*' any run, '?' one) matches all of s. */
static bool glob(const char *p, size_t plen, const char *s)
{
    if (plen == 0)
        return *s == '\0';
    if (*p == '*') {
        for (;; s++) {
            if (glob(p + 1, plen - 1, s))
                return true;
            if (*s == '\0')
                return false;
        }
    }
    if (*s == '\0' || (*p != '?' && *p != *s))
        return false;
    return glob(p + 1, plen - 1, s + 1);
}

/* A pattern of the list matches somewhere in s. */
static bool text_matches(const char *list, const char *s)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, "|");
        char pat[160];
        if (n + 3 <= sizeof(pat)) {
            snprintf(pat, sizeof(pat), "*%.*s*", (int)n, p);
            if (glob(pat, strlen(pat), s))
                return true;
        }
        p += n + (p[n] == '|');
    }
    return false;
}

static bool code_matches(const char *list, const char *code)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, "|");
        if (n == strlen(code) && strncasecmp(p, code, n) == 0)
            return true;
        p += n + (p[n] == '|');
    }
    return false;
}

static bool rule_matches(const rule_t *r, long http, const char *code,
                         const char *text)
{
    if (r->http_min && (http < r->http_min || http > r->http_max))
        return false;
    if (r->codes && !code_matches(r->codes, code))
        return false;
    return r->texts == NULL || text_matches(r->texts, text);
}

/* ---- the identity an answer names ---- */

/* An identity as SES prints it in a list: "Name <a@b>", "a@b", a domain,
 * the last one possibly cut short with "...". Its key in out, or "". */
static void identity_entry(const char *in, size_t n, char *out, size_t outlen)
{
    char buf[ANSWER_IDENTITY_MAX], a[ANSWER_IDENTITY_MAX], *e;
    size_t len;

    out[0] = '\0';
    if (n >= sizeof(buf))
        return;
    memcpy(buf, in, n);
    buf[n] = '\0';
    e = str_trim(buf);
    len = strlen(e);
    while (len > 0 && e[len - 1] == '.') /* "...", or a sentence's end */
        e[--len] = '\0';
    if (addr_mailbox(e, a, sizeof(a)) == ADDR_OK) {
        if (addr_key(a, out, outlen) != ADDR_OK)
            out[0] = '\0';
    } else if (len > 0 && strchr(e, '.') && !strpbrk(e, " <>\"'`")) {
        str_copy(out, e, outlen); /* a domain identity */
        str_lower(out);
    }
}

/* The first identity the first line of msg names: the list after
 * "...failed the check in region X:" (commas outside quotes and angle
 * brackets separate it), or an IAM resource ".../identity/NAME" (up to a
 * quote or blank). */
static void named_identity(const char *msg, char *out, size_t outlen)
{
    char line[TEXT_MAX];
    const char *p;

    out[0] = '\0';
    str_copy(line, msg ? msg : "", sizeof(line));
    line[strcspn(line, "\r\n")] = '\0';
    if ((p = strcasestr(line, ":identity/")) != NULL) {
        p += strlen(":identity/");
        identity_entry(p, strcspn(p, " '`\""), out, outlen);
        return;
    }
    if ((p = strcasestr(line, "failed the check")) == NULL ||
        (p = strchr(p, ':')) == NULL)
        return;
    for (p++; *p && out[0] == '\0';) {
        size_t n = 0;
        int quoted = 0, angle = 0;
        for (; p[n] && (quoted || angle || p[n] != ','); n++) {
            if (p[n] == '"')
                quoted = !quoted;
            else if (!quoted && (p[n] == '<' || p[n] == '>'))
                angle = p[n] == '<';
        }
        identity_entry(p, n, out, outlen);
        p += n + (p[n] == ',');
    }
}

void answer_classify(long http_code, const char *code, const char *message,
                     answer_t *out)
{
    char text[TEXT_MAX], c[128];
    const rule_t *r = &rules[ARRAY_SIZE(rules) - 1];

    normalise(message, text, sizeof(text));
    rule_code(code, c, sizeof(c));
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
        if (rule_matches(&rules[i], http_code, c, text)) {
            r = &rules[i];
            break;
        }
    out->status = r->status;
    out->scope = r->scope;
    out->rule = r->name;
    out->identity[0] = '\0';
    if (r->scope == BREAKER_IDENTITY)
        named_identity(message, out->identity, sizeof(out->identity));
}

/* ---- the README's table ---- */

static int list_markdown(buf_t *b, const char *list, const char *sep,
                         const char *quote)
{
    int rc = 0;

    for (const char *p = list; *p && rc == 0;) {
        size_t n = strcspn(p, "|");
        rc = buf_printf(b, "%s%s%.*s%s", p == list ? "" : sep, quote, (int)n, p,
                        quote);
        p += n + (p[n] == '|');
    }
    return rc;
}

int answer_table_markdown(buf_t *out)
{
    int rc = buf_puts(out, "| rule | HTTP | code | first line contains | "
                           "result | breaker |\n"
                           "|---|---|---|---|---|---|\n");

    for (size_t i = 0; i < ARRAY_SIZE(rules) && rc == 0; i++) {
        const rule_t *r = &rules[i];
        const status_info_t *si = status_info(r->status);
        const char *what = si->smtp / 100 == 5 ? "bounce"
                           : si->retry         ? "retry, then defer"
                                               : "defer";

        rc |= buf_printf(out, "| %s | ", r->name);
        if (r->http_min == 0)
            rc |= buf_puts(out, "any");
        else if (r->http_min == r->http_max)
            rc |= buf_printf(out, "%d", r->http_min);
        else
            rc |= buf_printf(out, "%d-%d", r->http_min, r->http_max);
        rc |= buf_puts(out, " | ");
        rc |= r->codes ? list_markdown(out, r->codes, ", ", "`")
                       : buf_puts(out, "any");
        rc |= buf_puts(out, " | ");
        rc |= r->texts ? list_markdown(out, r->texts, ", ", "`")
                       : buf_puts(out, "anything");
        rc |= buf_printf(out, " | %s %s (exit %d) | %s |\n", what, si->dsn,
                         si->sysexit,
                         r->scope ? breaker_scope_name(r->scope) : "");
    }
    return rc;
}
