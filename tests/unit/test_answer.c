/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_answer.c - what SES's error answers mean for the mail: the table's
 * cases, wording variants, every row of the corpus of real answers, the
 * identities an answer names, and the README's copy of the table.
 *
 * "test_answer --markdown" prints the table as the README shows it
 * (make update-readme uses it).
 */
#include "config.h"

#include "testutil.h"
#include "ses_answer.h"
#include "ses_status.h"
#include "ses_util.h"

#include <ctype.h>

typedef struct {
    long http;
    const char *code, *msg;
    status_t want;
} kase_t;

static const kase_t cases[] = {
    /* account stops hide under MessageRejected (v1) */
    {400, "MessageRejected",
     "Sending paused for this account. For more information, please check "
     "the inbox of the email address associated with your AWS account.",
     ST_TEMP_ACCOUNT_PAUSED},
    {400, "MessageRejected", "Sending suspended for this account.",
     ST_TEMP_ACCOUNT_SUSPENDED},
    {400, "MessageRejected", "Email sending for the account is paused.",
     ST_TEMP_ACCOUNT_PAUSED},
    {400, "MessageRejected",
     "Email sending for the configuration set tx is paused.",
     ST_TEMP_CONFIGSET_PAUSED},
    {400, "SendingPausedException",
     "Sending is paused for this configuration set.", ST_TEMP_CONFIGSET_PAUSED},
    {400, "SendingPausedException", "", ST_TEMP_ACCOUNT_PAUSED},
    {400, "AccountSendingPausedException", "", ST_TEMP_ACCOUNT_PAUSED},
    {400, "AccountSuspendedException",
     "The message can't be sent because the account's ability to send "
     "email has been permanently restricted.",
     ST_TEMP_ACCOUNT_SUSPENDED},
    {400, "ConfigurationSetDoesNotExist",
     "Configuration set <tx> does not exist.", ST_TEMP_CONFIGSET_MISSING},
    {404, "NotFoundException", "", ST_TEMP_CONFIGSET_MISSING},
    /* identities, sandbox, MAIL FROM */
    {400, "MessageRejected",
     "Email address is not verified. The following identities failed the "
     "check in region US-EAST-1: Philip Colmer <philip.colmer@linaro.org>",
     ST_TEMP_IDENTITY},
    {400, "MessageRejected", "Domain is not verified.", ST_TEMP_IDENTITY},
    {400, "MailFromDomainNotVerifiedException", "", ST_TEMP_MAILFROM},
    {400, "MailFromDomainNotVerified", "whatever", ST_TEMP_MAILFROM},
    /* throttling and quotas, whatever the code */
    {400, "Throttling", "Maximum sending rate exceeded.", ST_TEMP_THROTTLED},
    {400, "Throttling", "Daily message quota exceeded.", ST_TEMP_QUOTA},
    {400, "MessageRejected", "Daily message quota exceeded.", ST_TEMP_QUOTA},
    {400, "ThrottlingException", "Rate exceeded", ST_TEMP_THROTTLED},
    {429, "TooManyRequestsException", "", ST_TEMP_THROTTLED},
    {429, "", "", ST_TEMP_THROTTLED},
    {400, "LimitExceededException", "", ST_TEMP_QUOTA},
    /* the service */
    {500, "InternalFailure", "", ST_TEMP_SERVER},
    {502, "", "<html>bad gateway</html>", ST_TEMP_SERVER},
    {500, "InvalidParameterValue", "Illegal address", ST_TEMP_SERVER},
    {408, "", "", ST_TEMP_TIMEOUT},
    /* credentials, signatures, clock: the first line decides, whatever the
     * rest of the message echoes back */
    {403, "SignatureDoesNotMatch",
     "The request signature we calculated does not match the signature you "
     "provided.\n\nThe Canonical String for this request should have been\n"
     "'POST\n/\n\nDuplicate header 'x'\nIllegal address'",
     ST_TEMP_AUTH},
    {400, "RequestExpired",
     "Request timestamp: Wed, 11 Dec 2013 21:28:25 +0000 expired.  It must "
     "be within 300 secs/ of server time.",
     ST_TEMP_AUTH},
    {400, "InvalidParameterValue",
     "Request  timestamp:\tTue, 1 Jan 2030 00:00:00 +0000 EXPIRED.",
     ST_TEMP_AUTH},
    {403, "ExpiredToken", "", ST_TEMP_CREDENTIALS},
    {403, "AccessDeniedException", "not authorized to perform ses:SendEmail",
     ST_TEMP_AUTH},
    {403, "", "", ST_TEMP_AUTH},
    {400, "InvalidAction",
     "Could not find operation GetSendQuota for version 2009-10-16",
     ST_TEMP_CONFIG},
    /* the message itself: 4xx, a defect code, a known text */
    {400, "InvalidParameterValue", "Duplicate header 'DKIM-Signature'.",
     ST_PERM_BAD_MESSAGE},
    {400, "BadRequestException", "DUPLICATE HEADER 'Subject'",
     ST_PERM_BAD_MESSAGE},
    {400, "InvalidParameterValue", "Expected ';', got \"charset\"",
     ST_PERM_BAD_MESSAGE},
    {400, "InvalidParameterValue", "Header section too long.",
     ST_PERM_BAD_MESSAGE},
    {400, "InvalidParameterValue", "Missing required header 'From'.",
     ST_PERM_BAD_MESSAGE},
    {400, "InvalidParameterValue", "Illegal content.", ST_PERM_REJECTED},
    {400, "InvalidParameterValue",
     "Message length is more than 10485760 bytes long: '12078147'.",
     ST_PERM_TOO_LARGE},
    {400, "BadRequestException", "Message too large", ST_PERM_TOO_LARGE},
    {413, "", "", ST_PERM_TOO_LARGE},
    /* an address: that recipient only (ses.c splits the call) */
    {400, "InvalidParameterValue", "Missing final '@domain'",
     ST_PERM_BAD_ADDRESS},
    {400, "InvalidParameterValue", "Missing final \"@domain\"",
     ST_PERM_BAD_ADDRESS},
    {400, "InvalidParameterValue", "Local address contains dot-dot",
     ST_PERM_BAD_ADDRESS},
    {400, "InvalidParameterValue",
     "Local address contains control or whitespace (32)", ST_PERM_BAD_ADDRESS},
    {400, "InvalidParameterValue", "Domain contains illegal character '%'",
     ST_PERM_BAD_ADDRESS},
    {400, "BadRequestException", "Missing '>'", ST_PERM_BAD_ADDRESS},
    {400, "BadRequestException", "Invalid email address .",
     ST_PERM_BAD_ADDRESS},
    /* never a bounce: what we do not know, or what is not the message's */
    {400, "MessageRejected", "Message rejected: virus detected",
     ST_TEMP_UNRECOGNISED},
    {400, "MessageRejected", "", ST_TEMP_UNRECOGNISED},
    {400, "InvalidParameterValue", "Invalid ARN", ST_TEMP_UNRECOGNISED},
    {400, "InvalidParameterValue",
     "Invalid tag value <event:id:abc1234>: only alphanumeric ASCII "
     "characters, '_', and '-' are allowed.",
     ST_TEMP_UNRECOGNISED},
    {400, "InvalidParameterValue", "Missing required header 'To'.",
     ST_TEMP_UNRECOGNISED},
    {400, "SomethingBrandNewException", "Illegal address",
     ST_TEMP_UNRECOGNISED},
    {400, "", "Duplicate header 'Subject'", ST_TEMP_UNRECOGNISED},
    {418, "", "", ST_TEMP_UNRECOGNISED},
    {0, NULL, NULL, ST_TEMP_UNRECOGNISED},
};

static void test_table_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        answer_t a;
        answer_classify(cases[i].http, cases[i].code, cases[i].msg, &a);
        if (a.status != cases[i].want)
            fail_msg("case %zu (%ld %s \"%s\"): got %s (rule %s), want %s", i,
                     cases[i].http, cases[i].code ? cases[i].code : "-",
                     cases[i].msg ? cases[i].msg : "-",
                     status_info(a.status)->name, a.rule,
                     status_info(cases[i].want)->name);
    }
}

/* The v1 namespace and suffix forms of a code, and v2 "...Exception", are
 * the same code. */
static void test_code_spellings_are_one(void **state)
{
    const char *forms[] = {
        "MailFromDomainNotVerified", "MailFromDomainNotVerifiedException",
        "com.amazonaws.ses#MailFromDomainNotVerifiedException",
        "MailFromDomainNotVerifiedException:http://internal.amazon.com/coral/",
        "mailfromdomainnotverified"};
    char c[64];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
        answer_t a;
        answer_classify(400, forms[i], "", &a);
        assert_int_equal(a.status, ST_TEMP_MAILFROM);
    }
    answer_code("com.amazonaws.sqs#QueueDoesNotExist:x", c, sizeof(c));
    assert_string_equal(c, "QueueDoesNotExist");
}

static void test_scope_and_identity(void **state)
{
    static const struct {
        const char *code, *msg;
        breaker_scope_t scope;
        const char *identity;
    } t[] = {
        {"MessageRejected",
         "Email address is not verified. The following identities failed the "
         "check in region US-WEST-2: Sendportal <Nagaraj@DataFindSolution.com>",
         BREAKER_IDENTITY, "nagaraj@datafindsolution.com"},
        {"MessageRejected",
         "Email address is not verified. The following identities failed the "
         "check in region US-EAST-1: \"Smith, John\" <j@x.example>, "
         "b@y.example",
         BREAKER_IDENTITY, "j@x.example"},
        {"MessageRejected",
         "Email address is not verified. The following identities failed the "
         "check in region US-EAST-1: b_nnq4tfmn3wi3lsmfwa@domain.com...",
         BREAKER_IDENTITY, "b_nnq4tfmn3wi3lsmfwa@domain.com"},
        {"MessageRejected",
         "Email address is not verified. The following identities failed the "
         "check in region EU-WEST-1: example.org",
         BREAKER_IDENTITY, "example.org"},
        {"MessageRejected", "Email address is not verified.", BREAKER_IDENTITY,
         ""},
        {"AccessDenied",
         "User `arn:aws:sts::1:assumed-role/r/m' is not authorized to perform "
         "`ses:SendRawEmail' on resource "
         "`arn:aws:ses:us-east-1:1:identity/Ops@Company.com'",
         BREAKER_IDENTITY, "ops@company.com"},
        {"AccessDenied",
         "User: arn:aws:iam::1:user/u is not authorized to perform: "
         "ses:SendRawEmail",
         BREAKER_ACCOUNT, ""},
        {"MessageRejected", "Sending paused for this account.", BREAKER_ACCOUNT,
         ""},
        {"ConfigurationSetDoesNotExist", "", BREAKER_CONFIGSET, ""},
        {"Throttling", "Maximum sending rate exceeded.", BREAKER_NONE, ""},
        {"InvalidParameterValue", "Missing domain", BREAKER_NONE, ""},
        /* the canonical request a signature error echoes is never read */
        {"SignatureDoesNotMatch",
         "The request signature we calculated does not match\n"
         "arn:aws:ses:us-east-1:1:identity/secret@x.example",
         BREAKER_ACCOUNT, ""},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        answer_t a;
        answer_classify(t[i].code[0] == 'A' ? 403 : 400, t[i].code, t[i].msg,
                        &a);
        if (a.scope != t[i].scope || strcmp(a.identity, t[i].identity) != 0)
            fail_msg("case %zu: scope %s identity \"%s\", want %s \"%s\"", i,
                     breaker_scope_name(a.scope), a.identity,
                     breaker_scope_name(t[i].scope), t[i].identity);
    }
}

/* Whatever the code and status, a text no rule knows never bounces (413
 * alone says "too large" without a text). */
static void test_unknown_answers_never_bounce(void **state)
{
    const char *codes[] = {"",
                           "X",
                           "InvalidParameterValue",
                           "ValidationError",
                           "NotFoundException",
                           "BadRequestException",
                           "MessageRejected"};
    const char *texts[] = {"", "whatever", "Something went wrong.",
                           "Message rejected", "Invalid value for parameter"};

    (void)state;
    for (long http = 0; http < 600; http++)
        for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
            for (size_t j = 0; j < ARRAY_SIZE(texts); j++) {
                answer_t a;
                answer_classify(http, codes[i], texts[j], &a);
                if (http != 413 && !status_is_temporary(a.status))
                    fail_msg("%ld %s \"%s\" -> %s", http, codes[i], texts[j],
                             status_info(a.status)->name);
            }
}

/* ---- the corpus of real answers ---- */

/* A row's answer as SES gave it: "?" dropped from status and code, the
 * wording quoted inside a "(documented: '...')" row, "\n" as a newline,
 * and a code in parentheses (no parseable body) as no code. */
static void row_answer(char **f, long *http, char *code, size_t codelen,
                       char *msg, size_t msglen)
{
    const char *m = f[3], *q;
    size_t o = 0;

    *http = atol(f[1]);
    str_copy(code, f[2][0] == '(' ? "" : f[2], codelen);
    code[strcspn(code, "?")] = '\0';
    if (m[0] == '(' && (q = strchr(m, '\'')) != NULL) {
        str_copy(msg, q + 1, msglen);
        msg[strcspn(msg, "'")] = '\0';
        return;
    }
    for (; *m && o + 1 < msglen; m++) {
        if (m[0] == '\\' && m[1] == 'n') {
            msg[o++] = '\n';
            m++;
        } else
            msg[o++] = *m;
    }
    msg[o] = '\0';
}

/* Whether the status is what the row's outcome asks for. */
static bool row_right(const char *outcome, status_t st)
{
    const status_info_t *si = status_info(st);

    if (strstr(outcome, "debatable") || strstr(outcome, "uncertain") ||
        strstr(outcome, "historical"))
        return st != ST_OK; /* never reported as sent */
    if (str_has_prefix(outcome, "bounce-recipient"))
        return st == ST_PERM_BAD_ADDRESS || st == ST_PERM_NON_ASCII;
    if (str_has_prefix(outcome, "bounce"))
        return status_is_permanent(st);
    if (str_has_prefix(outcome, "retry"))
        return status_is_temporary(st) && si->retry;
    if (str_has_prefix(outcome, "defer"))
        return status_is_temporary(st) && !si->retry;
    return false;
}

static void corpus_file(const char *name, int *rows, int *right)
{
    char path[512], line[4096];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/tests/data/ses-errors/%s", SRCDIR, name);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp)); /* header */
    while (fgets(line, sizeof(line), fp)) {
        char *f[7], *p = line, code[128], msg[1024];
        int n = 0;
        long http;
        answer_t a;

        line[strcspn(line, "\r\n")] = '\0';
        for (; n < 7 && p; n++) {
            f[n] = p;
            if ((p = strchr(p, '\t')) != NULL)
                *p++ = '\0';
        }
        assert_int_equal(n, 7);
        if (strcmp(f[0], "v1") && strcmp(f[0], "v2") && strcmp(f[0], "both"))
            continue; /* smtp and doc rows are context */
        row_answer(f, &http, code, sizeof(code), msg, sizeof(msg));
        answer_classify(http, code, msg, &a);
        (*rows)++;
        if (row_right(f[4], a.status))
            (*right)++;
        else
            print_message("# wrong: %s %ld %s \"%.60s\" -> %s (rule %s), "
                          "want %s\n",
                          f[0], http, code, msg, status_info(a.status)->name,
                          a.rule, f[4]);
    }
    fclose(fp);
}

static void test_every_corpus_row_gets_its_outcome(void **state)
{
    int rows = 0, right = 0;

    (void)state;
    corpus_file("ses-errors.tsv", &rows, &right);
    corpus_file("ses-errors-more.tsv", &rows, &right);
    print_message("# corpus: %d/%d rows right\n", right, rows);
    assert_true(rows >= 50);
    assert_int_equal(right, rows);
}

/* ---- the README ---- */

#define BEGIN_MARK "<!-- answers-table: begin"
#define END_MARK   "<!-- answers-table: end -->"

static void test_readme_shows_the_table(void **state)
{
    char path[512];
    buf_t want, readme;
    const char *b, *e;
    FILE *fp;
    char chunk[4096];
    size_t n;

    (void)state;
    buf_init(&want, 0);
    buf_init(&readme, 0);
    assert_int_equal(answer_table_markdown(&want), 0);
    snprintf(path, sizeof(path), "%s/README.md", SRCDIR);
    assert_non_null(fp = fopen(path, "r"));
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        assert_int_equal(buf_append(&readme, chunk, n), 0);
    fclose(fp);
    assert_int_equal(buf_putc(&readme, '\0'), 0);
    assert_non_null(b = strstr(readme.data, BEGIN_MARK));
    assert_non_null(b = strchr(b, '\n'));
    assert_non_null(e = strstr(++b, END_MARK));
    if ((size_t)(e - b) != want.len || memcmp(b, want.data, want.len) != 0)
        fail_msg("README.md's answers table differs from src/answer.c: run "
                 "make update-readme");
    buf_free(&want);
    buf_free(&readme);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_cases),
        cmocka_unit_test(test_code_spellings_are_one),
        cmocka_unit_test(test_scope_and_identity),
        cmocka_unit_test(test_unknown_answers_never_bounce),
        cmocka_unit_test(test_every_corpus_row_gets_its_outcome),
        cmocka_unit_test(test_readme_shows_the_table),
    };

    if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
        buf_t b;
        buf_init(&b, 0);
        if (answer_table_markdown(&b) < 0)
            return 1;
        fwrite(b.data, 1, b.len, stdout);
        buf_free(&b);
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
