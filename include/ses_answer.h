/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_answer.h - what an AWS error answer means for the mail: one table
 *
 * answer_classify() is the only place in the package that reads AWS error
 * codes and texts. It decides on the HTTP status, the error code and the
 * message text together, by the first matching rule of one table in
 * answer.c (beside status.c, which then maps the status to exit codes and
 * SMTP replies). The rule, as ses-relay(8) and the README state it:
 *
 *   - permanent (Postfix bounces) only when SES refuses the message itself
 *     (size, header or MIME syntax, duplicate headers, refused content) or
 *     an address (that recipient only: ses.c sends the others alone), and
 *     then only for a 4xx answer whose code is one SES uses for message
 *     defects (InvalidParameterValue, BadRequestException,
 *     MessageRejected, ValidationError) and whose text is one we know;
 *   - everything else is transient: throttling and quotas, 5xx, account,
 *     configuration set, identity, credentials, signature and clock,
 *     endpoint mistakes, and every answer not recognised - including an
 *     InvalidParameterValue or MessageRejected with a text we do not know.
 *
 * Texts are compared on the first non-empty line of the message (SES
 * echoes the canonical request after a SignatureDoesNotMatch), in lower
 * case with runs of white space made one space, against short patterns
 * ('*' any run, '?' one character) that may match anywhere in it. Codes
 * are compared case-insensitively without a namespace ("...#Code"), a
 * suffix (":http://...") or a trailing "Exception", so the v1 (query, XML)
 * and v2 (REST-JSON) spellings of one error are one row.
 *
 * A rule also names the breaker scope the answer concerns (ses_breaker.h):
 * an account, a configuration set or a sending identity that cannot send
 * now. For identity answers, the identity SES names ("The following
 * identities failed the check in region X: Name <a@b>, c@d...", or an IAM
 * resource ".../identity/example.com") is given in lower case.
 *
 * DIAGNOSTICS
 *   None: every answer gets a status; unknown ones ST_TEMP_UNRECOGNISED.
 */
#ifndef SES_ANSWER_H
#define SES_ANSWER_H

#include "ses_breaker.h"
#include "ses_status.h"
#include "ses_util.h"

#define ANSWER_IDENTITY_MAX 256

typedef struct {
    status_t status;
    breaker_scope_t scope; /* BREAKER_NONE: not a stop of a scope */
    const char *rule;      /* the table row's name, for logs and tests */
    char identity[ANSWER_IDENTITY_MAX]; /* named identity, or "" */
} answer_t;

/* THE map from an AWS error answer to a status. code and message may be
 * NULL or empty; http_code 0 means no HTTP answer. */
void answer_classify(long http_code, const char *code, const char *message,
                     answer_t *out);

/* An error code as AWS sends it, bare: "ns#Code" and "Code:http://..."
 * become "Code" (aws_parse_error() stores codes in this form). */
void answer_code(const char *in, char *out, size_t outlen);

/* The rule table as the Markdown rows the README shows between its
 * "answers-table" markers (tests/check-docs.sh compares them). Returns 0,
 * or -1 when out is full. */
int answer_table_markdown(buf_t *out);

#endif
