/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_aws.c - the AWS call module's pure parts: error parsing of every
 * protocol, XML text, query encoding, regions, and the rate limiter's
 * bookkeeping (no timing: only refusals). The classification of answers
 * is tested in test_answer.c.
 *
 * Calls over the network are tested against sesd in tests/aws-call.sh and
 * the ses-relay script tests.
 */
#include "config.h"

#include "testutil.h"
#include "ses_aws.h"
#include "ses_ratelimit.h"

#include <sys/wait.h>
#include <unistd.h>

static void test_parse_error_json_header(void **state)
{
    const char body[] = "{\"message\":\"Email address is not verified.\"}";
    char code[64], msg[128];

    aws_parse_error("MessageRejected:http://internal.amazon.com/coral/", body,
                    strlen(body), code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "MessageRejected");
    assert_string_equal(msg, "Email address is not verified.");
}

static void test_parse_error_json_type(void **state)
{
    const char body[] = "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                        "\"message\":\"The specified queue does not exist.\"}";
    char code[64], msg[128];

    aws_parse_error("", body, strlen(body), code, sizeof(code), msg,
                    sizeof(msg));
    assert_string_equal(code, "QueueDoesNotExist");
    assert_string_equal(msg, "The specified queue does not exist.");
}

static void test_parse_error_query_xml(void **state)
{
    const char body[] =
        "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
        "<Error><Type>Sender</Type><Code>Throttling</Code>"
        "<Message>Maximum sending rate exceeded &amp; more.</Message>"
        "</Error><RequestId>abc</RequestId></ErrorResponse>";
    char code[64], msg[128];

    aws_parse_error(NULL, body, strlen(body), code, sizeof(code), msg,
                    sizeof(msg));
    assert_string_equal(code, "Throttling");
    assert_string_equal(msg, "Maximum sending rate exceeded & more.");
}

static void test_parse_error_garbage(void **state)
{
    const char body[] = "<html><body>502 Bad Gateway</body></html>";
    char code[64] = "x", msg[128] = "y";

    aws_parse_error("", body, strlen(body), code, sizeof(code), msg,
                    sizeof(msg));
    assert_string_equal(code, "");
    assert_string_equal(msg, "");
    aws_parse_error(NULL, NULL, 0, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "");
}

static void test_xml_text(void **state)
{
    const char xml[] =
        "<R><Credentials><SessionToken>a/b+c=&lt;d&gt;&#65;</SessionToken>"
        "<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></R>";
    char out[64];

    assert_int_equal(
        aws_xml_text(xml, strlen(xml), "SessionToken", out, sizeof(out)), 1);
    assert_string_equal(out, "a/b+c=<d>A");
    assert_int_equal(
        aws_xml_text(xml, strlen(xml), "Expiration", out, sizeof(out)), 1);
    assert_string_equal(out, "2030-01-01T00:00:00Z");
    assert_int_equal(aws_xml_text(xml, strlen(xml), "Missing", out, 64), 0);
    /* too small a buffer is "not found", never a cut secret */
    assert_int_equal(aws_xml_text(xml, strlen(xml), "SessionToken", out, 5), 0);
    /* an unterminated element */
    assert_int_equal(aws_xml_text("<A>xyz", 6, "A", out, sizeof(out)), 0);
}

static void test_query_add_encodes(void **state)
{
    buf_t b;

    buf_init(&b, 0);
    assert_int_equal(aws_query_add(&b, "Action", "SendRawEmail"), 0);
    assert_int_equal(
        aws_query_add(&b, "Destinations.member.1", "a+b c@ex~ample.com"), 0);
    assert_int_equal(aws_query_add(&b, "Data", "SGk+/w=="), 0);
    assert_string_equal(b.data,
                        "Action=SendRawEmail&Destinations.member.1="
                        "a%2Bb%20c%40ex~ample.com&Data=SGk%2B%2Fw%3D%3D");
    buf_free(&b);
}

static void test_region_order(void **state)
{
    char r[64];

    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    aws_region(NULL, r, sizeof(r));
    assert_string_equal(r, "us-east-1");
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    aws_region(NULL, r, sizeof(r));
    assert_string_equal(r, "eu-central-1");
    setenv("AWS_REGION", "eu-west-3", 1);
    aws_region(NULL, r, sizeof(r));
    assert_string_equal(r, "eu-west-3");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    aws_default_endpoint("email", "eu-west-1", r, sizeof(r));
    assert_string_equal(r, "https://email.eu-west-1.amazonaws.com");
    aws_default_endpoint("sts", "cn-north-1", r, sizeof(r));
    assert_string_equal(r, "https://sts.cn-north-1.amazonaws.com.cn");
}

static void test_service_endpoint_rules(void **state)
{
    char err[256];
    aws_service_config_t cfg = {"SES", "ses", "us-east-1", NULL,
                                NULL,  0,     NULL,        NULL};
    aws_service_t *s;
    static const char *const refused[] = {
        "http://email.us-east-1.amazonaws.com", /* http off loopback */
        "ftp://127.0.0.1/",
        "https://host/path?q=1",
        "https://",
        "",
        "http://10.0.0.1:8080"};

    for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
        cfg.endpoint = refused[i];
        s = aws_service_new(&cfg, err, sizeof(err));
        if (s != NULL)
            fail_msg("endpoint \"%s\" was accepted", refused[i]);
        assert_true(err[0] != '\0');
    }
    cfg.endpoint = "http://127.0.0.1:8080/prefix/";
    assert_non_null(s = aws_service_new(&cfg, err, sizeof(err)));
    assert_string_equal(aws_service_url(s), "http://127.0.0.1:8080");
    aws_service_free(s);
    cfg.endpoint = "https://email.eu-west-1.amazonaws.com";
    assert_non_null(s = aws_service_new(&cfg, err, sizeof(err)));
    aws_service_free(s);
    aws_service_free(NULL);
}

static void test_ratelimit_refuses_past_deadline(void **state)
{
    ratelimit_t *rl = ratelimit_new(1, 1); /* one per second */
    int64_t now = clock_mono_ms();

    assert_non_null(rl);
    /* the first token is free at once */
    assert_int_equal(ratelimit_acquire(rl, 1, now, NULL), 0);
    /* the next is due a second later: refused with a deadline of now */
    assert_int_equal(ratelimit_acquire(rl, 1, now, NULL), -1);
    /* a refusal reserved nothing: still refused, not pushed further */
    assert_int_equal(ratelimit_acquire(rl, 1, now, NULL), -1);
    /* unlimited never waits */
    ratelimit_set(rl, 0, 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ratelimit_acquire(rl, 50, now, NULL), 0);
    ratelimit_free(rl);
    ratelimit_free(NULL);
}

static void test_ratelimit_burst_and_cost(void **state)
{
    ratelimit_t *rl = ratelimit_new(10, 5);
    int64_t now = clock_mono_ms();
    int ok = 0;

    /* after idling, a burst of 5 single tokens goes without waiting */
    for (int i = 0; i < 10; i++)
        ok += ratelimit_acquire(rl, 1, now, NULL) == 0;
    assert_int_equal(ok, 5);
    ratelimit_free(rl);
    /* a call costing 50 tokens holds the bucket for 5 s after it */
    rl = ratelimit_new(10, 1);
    now = clock_mono_ms();
    assert_int_equal(ratelimit_acquire(rl, 50, now, NULL), 0);
    assert_int_equal(ratelimit_acquire(rl, 1, now + 4000, NULL), -1);
    ratelimit_free(rl);
}

/* Two processes sharing DataDirectory/sendrate keep one rate: a token the
 * parent took is gone for the child. A file from another boot, a corrupt
 * one or an absurd time is taken as "now", never as a long wait. */
static void test_ratelimit_shared_between_processes(void **state)
{
    char path[] = "/tmp/test-sendrate.XXXXXX", err[256];
    int fd = mkstemp(path), status;
    ratelimit_t *rl = ratelimit_new(1, 1);
    pid_t pid;

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ratelimit_share(rl, path, err, sizeof(err)), 0);
    assert_int_equal(ratelimit_acquire(rl, 1, clock_mono_ms(), NULL), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* a second ses-relay */
        ratelimit_t *other = ratelimit_new(1, 1);
        int rc = ratelimit_share(other, path, err, sizeof(err)) == 0 &&
                 ratelimit_acquire(other, 1, clock_mono_ms(), NULL) == -1;
        _exit(rc ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* unshared, a fresh bucket would have given the child its token */
    {
        ratelimit_t *alone = ratelimit_new(1, 1);
        assert_int_equal(ratelimit_acquire(alone, 1, clock_mono_ms(), NULL), 0);
        ratelimit_free(alone);
    }
    /* garbage, a short file and a far-future time: free at once */
    {
        static const struct {
            uint64_t boot;
            double next;
        } far = {0, 1e15};
        const char *junk[] = {"x", "0123456789abcdef"};
        for (size_t i = 0; i < 3; i++) {
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            if (i < 2)
                fputs(junk[i], f);
            else
                fwrite(&far, sizeof(far), 1, f);
            fclose(f);
            assert_int_equal(ratelimit_acquire(rl, 1, clock_mono_ms(), NULL),
                             0);
        }
    }
    /* a path that cannot be opened is an error; the bucket stays usable */
    assert_int_equal(
        ratelimit_share(rl, "/nonexistent/dir/sendrate", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/sendrate"));
    ratelimit_free(rl);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_error_json_header),
        cmocka_unit_test(test_parse_error_json_type),
        cmocka_unit_test(test_parse_error_query_xml),
        cmocka_unit_test(test_parse_error_garbage),
        cmocka_unit_test(test_xml_text),
        cmocka_unit_test(test_query_add_encodes),
        cmocka_unit_test(test_region_order),
        cmocka_unit_test(test_service_endpoint_rules),
        cmocka_unit_test(test_ratelimit_refuses_past_deadline),
        cmocka_unit_test(test_ratelimit_burst_and_cost),
        cmocka_unit_test(test_ratelimit_shared_between_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
