/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sigv4.c - SigV4 against published AWS vectors
 *
 * The botocore cross-check on many more requests is tests/sigv4-botocore.sh.
 */
#include "config.h"

#include "testutil.h"
#include "ses_sigv4.h"

#define SECRET    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T20150830 ((time_t)1440938160) /* 2015-08-30T12:36:00Z */

static void test_aws_suite_get_vanilla(void **state)
{
    sigv4_creds_t cr = {"AKIDEXAMPLE", SECRET, NULL};
    sigv4_request_t rq = {
        "GET",
        "example.amazonaws.com",
        "/",
        NULL,
        NULL,
        0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        false};
    sigv4_result_t out;

    assert_int_equal(
        sigv4_sign(&rq, &cr, "us-east-1", "service", T20150830, &out), 0);
    assert_string_equal(out.amz_date, "20150830T123600Z");
    assert_string_equal(
        out.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        "aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature="
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

/* More vectors of the AWS SigV4 test suite (service "service", us-east-1,
 * 2015-08-30T12:36:00Z), with the signatures AWS publishes. */
#define SUITE_TOKEN                                                            \
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsK"  \
    "WHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeeh"  \
    "M4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6"   \
    "q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDry"   \
    "pNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

static void test_aws_suite_vectors(void **state)
{
    static const sigv4_header_t form[] = {
        {"Content-Type", "application/x-www-form-urlencoded"}};
    static const struct {
        const char *name, *method, *query;
        const sigv4_header_t *headers;
        size_t nheaders;
        const char *body, *token, *signature;
    } v[] = {
        {"post-vanilla", "POST", NULL, NULL, 0, "", NULL,
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        {"get-vanilla-query-order-key-case", "GET",
         "Param2=value2&Param1=value1", NULL, 0, "", NULL,
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        {"post-x-www-form-urlencoded", "POST", NULL, form, 1, "Param1=value1",
         NULL,
         "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
        {"post-sts-header-before", "POST", NULL, NULL, 0, "", SUITE_TOKEN,
         "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char hash[65];
        sigv4_result_t out;
        sigv4_creds_t cr = {"AKIDEXAMPLE", SECRET, v[i].token};
        sigv4_request_t rq;

        sigv4_sha256_hex(v[i].body, strlen(v[i].body), hash);
        rq = (sigv4_request_t){
            v[i].method,  "example.amazonaws.com", "/",  v[i].query,
            v[i].headers, v[i].nheaders,           hash, false};
        assert_int_equal(
            sigv4_sign(&rq, &cr, "us-east-1", "service", T20150830, &out), 0);
        if (strcmp(out.signature, v[i].signature) != 0)
            fail_msg("%s: got %s", v[i].name, out.signature);
    }
}

static void test_aws_docs_iam_list_users(void **state)
{
    sigv4_creds_t cr = {"AKIDEXAMPLE", SECRET, NULL};
    sigv4_header_t h[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    sigv4_request_t rq = {
        "GET",
        "iam.amazonaws.com",
        "/",
        "Action=ListUsers&Version=2010-05-08",
        h,
        1,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        false};
    sigv4_result_t out;

    assert_int_equal(sigv4_sign(&rq, &cr, "us-east-1", "iam", T20150830, &out),
                     0);
    assert_string_equal(out.signature,
                        "5d672d79c15b13162d9279b0855cfba6789a8edb"
                        "4c82c400e06b5924a6f2b5d7");
}

static void test_canonical_request_sorts_and_trims(void **state)
{
    sigv4_creds_t cr = {"AK", "SK", "TOKEN"};
    sigv4_header_t h[] = {{"My-Header1", "  value1  with   spaces "},
                          {"Content-Type", "application/json"}};
    sigv4_request_t rq = {"POST",
                          "email.eu-west-1.amazonaws.com",
                          "/v2/email//outbound-emails/./",
                          "b=2&a=%7e&a=1",
                          h,
                          2,
                          "abc",
                          false};
    char *canon = NULL;

    assert_int_equal(
        sigv4_canonical_request(&rq, &cr, "20150830T123600Z", &canon), 0);
    assert_string_equal(canon, "POST\n"
                               "/v2/email/outbound-emails/\n"
                               "a=1&a=~&b=2\n"
                               "content-type:application/json\n"
                               "host:email.eu-west-1.amazonaws.com\n"
                               "my-header1:value1 with spaces\n"
                               "x-amz-date:20150830T123600Z\n"
                               "x-amz-security-token:TOKEN\n"
                               "\n"
                               "content-type;host;my-header1;x-amz-date;"
                               "x-amz-security-token\n"
                               "abc");
    free(canon);
}

static void test_too_many_headers_fail_cleanly(void **state)
{
    sigv4_header_t h[SIGV4_MAX_HEADERS + 1];
    sigv4_creds_t cr = {"AK", "SK", NULL};
    sigv4_request_t rq = {"GET", "h",  "/", NULL, h, SIGV4_MAX_HEADERS + 1,
                          "x",   false};
    sigv4_result_t out;

    for (size_t i = 0; i < SIGV4_MAX_HEADERS + 1; i++)
        h[i] = (sigv4_header_t){"x-h", "v"};
    assert_int_equal(sigv4_sign(&rq, &cr, "r", "s", 0, &out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_suite_get_vanilla),
        cmocka_unit_test(test_aws_suite_vectors),
        cmocka_unit_test(test_aws_docs_iam_list_users),
        cmocka_unit_test(test_canonical_request_sorts_and_trims),
        cmocka_unit_test(test_too_many_headers_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
