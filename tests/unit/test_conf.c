/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_conf.c - the ses-milter.conf parser
 */
#include "config.h"

#include "testutil.h"
#include "ses_conf.h"
#include "ses_util.h"

#include <sys/stat.h>

typedef struct {
    const char *text;
    conf_status_t want;
    const char *err_contains; /* NULL: must succeed */
} conf_case_t;

static conf_status_t load_text(const char *text, conf_t **c, char *err,
                               size_t errlen)
{
    char *path = tu_write_str(text);
    conf_status_t st = conf_load(path, c, err, errlen);
    unlink(path);
    free(path);
    return st;
}

static void test_every_default_is_valid(void **state)
{
    conf_t *c = conf_defaults();

    assert_non_null(c);
    assert_string_equal(conf_str(c, CK_API_VERSION), "v2");
    assert_int_equal(conf_int(c, CK_MAX_MESSAGE_SIZE), 40 * 1024 * 1024);
    assert_int_equal(conf_int(c, CK_CONNECT_TIMEOUT), 10000);
    assert_true(conf_bool(c, CK_REQUIRE_SAFE_KEYS));
    assert_null(conf_str(c, CK_REGION));
    assert_string_equal(conf_list(c, CK_OVERSIGN_HEADERS)[0], "From");
    assert_null(conf_list(c, CK_VERIFIED_IDENTITIES)[0]);
    conf_unref(c);
}

static void test_every_key_is_documented_and_named_uniquely(void **state)
{
    for (int k = 0; k < CK__COUNT; k++) {
        const conf_keyinfo_t *ki = conf_keyinfo((conf_key_t)k);
        assert_non_null(ki->name);
        assert_non_null(ki->doc);
        assert_true(strlen(ki->doc) > 10);
        assert_int_equal(conf_key_by_name(ki->name), k);
    }
}

/* A valid value for every key: the table must grow with the key list. */
static const char *valid_value(const conf_keyinfo_t *ki)
{
    static const struct {
        const char *name, *value;
    } v[] = {
        {"Region", "eu-west-1"},
        {"Endpoint", "https://email.eu-west-1.amazonaws.com"},
        {"ConfigurationSet", "transactional-1"},
        {"MessageTags", "team:billing,env:prod"},
        {"FromArn", "arn:aws:ses:eu-west-1:123456789012:identity/example.com"},
        {"SourceArn",
         "arn:aws:ses:eu-west-1:123456789012:identity/example.com"},
        {"ReturnPathArn",
         "arn:aws:ses:eu-west-1:123456789012:identity/example.com"},
        {"EndpointId", "abcdef12.ghi"},
        {"SnsTopicArn", "arn:aws:sns:us-east-1:123456789012:ses-feedback "
                        "arn:aws:sns:eu-west-1:123456789012:ses-feedback"},
        {"FailoverRegion", "eu-central-1 us-east-1"},
        {"RegionEndpoint", "eu-central-1 https://vpce-1.example.com"},
        {"Socket", "inet:8891@127.0.0.1"},
        {"RelaySocket", "unix:/run/ses-relay/lmtp"},
        {"SocketMode", "0660"},
        {"MetricsListen", "inet:9465@127.0.0.1"},
        {"FeedbackQueueUrl",
         "https://sqs.eu-west-1.amazonaws.com/123456789012/ses-feedback"},
        {"FeedbackForwardingEmailAddress", "bounces@example.com"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        if (str_iequal(v[i].name, ki->name))
            return v[i].value;
    switch (ki->type) {
    case CT_PATH:
        return "/etc/ses-milter/x";
    case CT_BOOL:
        return "no";
    case CT_INT:
        return "1";
    case CT_SIZE:
        return "1M";
    case CT_DURATION:
        return "5s";
    case CT_ENUM: {
        static char first[64];
        str_copy(first, ki->constraint, sizeof(first));
        first[strcspn(first, "|")] = '\0';
        return first;
    }
    default:
        return "value";
    }
}

static void test_every_key_accepts_a_valid_value(void **state)
{
    for (int k = 0; k < CK__COUNT; k++) {
        const conf_keyinfo_t *ki = conf_keyinfo((conf_key_t)k);
        char text[512], err[512] = "";
        conf_t *c = NULL;
        snprintf(text, sizeof(text), "# comment\n%s %s\n", ki->name,
                 valid_value(ki));
        if (load_text(text, &c, err, sizeof(err)) != CONF_OK)
            fail_msg("key %s: %s", ki->name, err);
        assert_true(conf_is_set(c, (conf_key_t)k));
        assert_string_equal(conf_str(c, (conf_key_t)k), valid_value(ki));
        conf_unref(c);
    }
}

static const conf_case_t cases[] = {
    {"", CONF_OK, NULL},
    {"\n\n   \n# only comments\n\t# indented\n", CONF_OK, NULL},
    {"Region eu-west-1 # trailing comment\n", CONF_OK, NULL},
    {"region eu-west-1\n", CONF_OK, NULL}, /* keys are case-insensitive */
    {"Region eu-west-1\r\nMode observe\r\n", CONF_OK, NULL},
    {"Region eu-west-1", CONF_OK, NULL}, /* no final newline */
    {"NoSuchKey 1\n", CONF_INVALID, ":1: unknown key \"NoSuchKey\""},
    {"\n\nRegion\n", CONF_INVALID, ":3: Region needs a value"},
    {"Region eu-west-1\nRegion eu-west-2\n", CONF_INVALID,
     ":2: Region is set twice (first at line 1)"},
    {"Region EU_WEST\n", CONF_INVALID, ":1: region"},
    {"ApiVersion v3\n", CONF_INVALID, ":1: ApiVersion must be one of v2|v1"},
    {"Syslog maybe\n", CONF_INVALID, ":1: Syslog must be yes or no"},
    {"MaxSendRate -1\n", CONF_INVALID, ":1: MaxSendRate"},
    {"MaxSendRate 12abc\n", CONF_INVALID, "is not a valid integer"},
    {"MaxMessageSize 100M\n", CONF_INVALID, "out of range"},
    {"Timeout 10x\n", CONF_INVALID, "is not a valid duration"},
    {"Timeout 2h\n", CONF_INVALID, "out of range"},
    {"Endpoint http://email.example.com\n", CONF_INVALID, "only to loopback"},
    {"Endpoint ftp://127.0.0.1\n", CONF_INVALID, "not an http"},
    {"Endpoint http://127.0.0.1:8005\n", CONF_OK, NULL},
    {"Endpoint http://[::1]:8005\n", CONF_OK, NULL},
    {"Endpoint http://localhost:8005/\n", CONF_OK, NULL},
    /* the host is what libcurl connects to, not what precedes a ':' */
    {"Endpoint http://127.0.0.1:80@evil.example/\n", CONF_INVALID,
     "user name or password before its host \"evil.example\""},
    {"Endpoint http://localhost@evil.example\n", CONF_INVALID,
     "before its host \"evil.example\""},
    {"Endpoint https://user:secret@email.example.com\n", CONF_INVALID,
     "user name or password"},
    {"Endpoint http://[::1]@evil.example/\n", CONF_INVALID, "before its host"},
    {"Endpoint http://evil.example#@127.0.0.1/\n", CONF_INVALID,
     "only to loopback addresses, not \"evil.example\""},
    {"Endpoint http://evil.example\\@127.0.0.1/\n", CONF_INVALID, NULL},
    {"Endpoint http://127.0.0.2:8005\n", CONF_OK, NULL},
    {"Endpoint https://email.example.com:8443/x\n", CONF_OK, NULL},
    {"ConfigurationSet has space\n", CONF_INVALID, "not a valid SES name"},
    {"ConfigurationSet bad.dot\n", CONF_INVALID, "not a valid SES name"},
    {"MessageTags team=billing\n", CONF_INVALID, "is not name:value"},
    {"MessageTags team:bil/ling\n", CONF_INVALID, "names and values"},
    {"Socket tcp:25\n", CONF_INVALID, "is not unix:PATH"},
    {"Socket inet:99999@127.0.0.1\n", CONF_INVALID, "inet:PORT"},
    /* LMTP (and metrics) sockets: loopback only; the milter's may be any */
    {"RelaySocket inet:2424@0.0.0.0\n", CONF_INVALID,
     "allowed only on loopback addresses"},
    {"RelaySocket inet6:2424@[::]\n", CONF_INVALID, "only on loopback"},
    {"RelaySocket inet:2424@192.0.2.1\n", CONF_INVALID, "only on loopback"},
    {"RelaySocket inet:2424\n", CONF_OK, NULL},
    {"RelaySocket inet:2424@127.0.0.1\n", CONF_OK, NULL},
    {"RelaySocket inet6:2424@[::1]\n", CONF_OK, NULL},
    {"MetricsListen inet:9465@0.0.0.0\n", CONF_INVALID, "only on loopback"},
    {"Socket inet:8893@0.0.0.0\n", CONF_OK, NULL},
    {"Socket local:relative\n", CONF_INVALID, "absolute"},
    {"KeyFile relative/path\n", CONF_INVALID, "absolute path"},
    {"SocketMode 999\n", CONF_INVALID, "octal mode"},
    {"FromArn not-an-arn\n", CONF_INVALID, "is not an ARN"},
    /* regions: one ARN per region, "*" for the global endpoint */
    {"FromArn arn:aws:ses:eu-west-1:1:identity/a.example "
     "arn:aws:ses:us-east-1:1:identity/a.example "
     "arn:aws:ses:*:1:identity/a.example\n",
     CONF_OK, NULL},
    {"SourceArn arn:aws:ses:eu-west-1:1:identity/a "
     "arn:aws:ses:eu-west-1:1:identity/b\n",
     CONF_INVALID, ":1: two ARNs for region eu-west-1"},
    {"ReturnPathArn arn:aws:ses\n", CONF_INVALID, "is not arn:aws:ses:REGION"},
    {"EndpointId abc123.xyz\nApiVersion v1\n", CONF_INVALID,
     ":1: EndpointId needs ApiVersion v2"},
    {"ApiVersion v1\nEndpointId abc123.xyz\n", CONF_INVALID,
     ":2: EndpointId needs ApiVersion v2"},
    {"EndpointId abc/123\n", CONF_INVALID, "not a multi-region endpoint id"},
    {"EndpointId abc..123\n", CONF_INVALID, "not a multi-region endpoint id"},
    {"FailoverRegion us-east-1 eu-west-1 us-east-1\n", CONF_INVALID,
     "us-east-1 is listed twice"},
    {"Region eu-west-1\nFailoverRegion us-east-1 eu-west-1\n", CONF_INVALID,
     ":2: FailoverRegion eu-west-1 is the primary Region itself"},
    {"RegionEndpoint eu-west-1 http://127.0.0.1:1\n"
     "RegionEndpoint us-east-1 https://vpce.example.com\n",
     CONF_OK, NULL},
    {"RegionEndpoint eu-west-1 http://127.0.0.1:1\n"
     "RegionEndpoint eu-west-1 http://127.0.0.1:2\n",
     CONF_INVALID, ":2: RegionEndpoint eu-west-1 is given twice"},
    {"RegionEndpoint eu-west-1\n", CONF_INVALID, "needs REGION URL"},
    {"RegionEndpoint eu-west-1 http://email.example.com\n", CONF_INVALID,
     "only to loopback"},
    {"TenantName acme\nApiVersion v1\n", CONF_INVALID,
     ":1: TenantName needs ApiVersion v2"},
    {"TenantName bad.name\n", CONF_INVALID, "not a valid SES name"},
    {"SnsTopicArn arn:aws:sqs:us-east-1:1:q\n", CONF_INVALID,
     "is not an SNS topic ARN"},
    {"SnsTopicArn arn:aws:sns:us-east-1:1\n", CONF_INVALID,
     "is not an SNS topic ARN"},
    {"Region eu\x01west\n", CONF_INVALID, ":1: control character 0x01"},
};

static void test_config_lines_give_expected_results(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char err[512] = "";
        conf_t *c = NULL;
        conf_status_t st = load_text(cases[i].text, &c, err, sizeof(err));
        if (st != cases[i].want)
            fail_msg("case %zu (%s): status %d, want %d: %s", i, cases[i].text,
                     st, cases[i].want, err);
        if (cases[i].err_contains && !strstr(err, cases[i].err_contains))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err,
                     cases[i].err_contains);
        conf_unref(c);
    }
}

static void test_error_names_file_and_line(void **state)
{
    char *path = tu_write_str("Region eu-west-1\n# c\n\nBogus x\n");
    char err[512], want[600];
    conf_t *c = NULL;

    assert_int_equal(conf_load(path, &c, err, sizeof(err)), CONF_INVALID);
    snprintf(want, sizeof(want), "%s:4: unknown key \"Bogus\"", path);
    assert_string_equal(err, want);
    unlink(path);
    free(path);
}

/* Every mistake of a file in one pass (OpenSMTPD style), each with its
 * line, then the file is refused: -n and a reload show them all. */
static void test_every_error_is_reported_with_its_line(void **state)
{
    char *path = tu_write_str("Bogus x\nRegion eu-west-1\nMode sometimes\n"
                              "Region us-east-1\nMaxSendRate\n");
    char err[1024], want[300];
    conf_t *c = NULL;

    chmod(path, 0666);
    assert_int_equal(conf_load(path, &c, err, sizeof(err)), CONF_INVALID);
    assert_null(c);
    snprintf(want, sizeof(want),
             "%s:1: unknown key \"Bogus\"\n"
             "%s:3: Mode must be one of ",
             path, path);
    assert_memory_equal(err, want, strlen(want));
    snprintf(want, sizeof(want),
             "\n%s:4: Region is set twice (first at line 2)\n"
             "%s:5: MaxSendRate needs a value\n"
             "%s: refused: the file is writable by every user",
             path, path, path);
    assert_non_null(strstr(err, want));
    unlink(path);
    free(path);
}

/* Errors that do not fit are counted, never cut in the middle. */
static void test_errors_beyond_the_buffer_are_counted(void **state)
{
    char text[2000] = "", err[256], want[300];
    char *path, *last;
    conf_t *c = NULL;

    for (int i = 0; i < 40; i++)
        strcat(text, "Bogus x\n");
    path = tu_write_str(text);
    assert_int_equal(conf_load(path, &c, err, sizeof(err)), CONF_INVALID);
    assert_non_null((last = strrchr(err, '\n')));
    snprintf(want, sizeof(want), "\n%s: ", path);
    assert_memory_equal(last, want, strlen(want));
    assert_non_null(strstr(last, " more errors"));
    assert_true(atoi(last + strlen(want)) > 30);
    snprintf(want, sizeof(want), "%s:1: unknown key \"Bogus\"\n%s:2: ", path,
             path);
    assert_memory_equal(err, want, strlen(want));
    unlink(path);
    free(path);
}

static void test_missing_file_is_nofile(void **state)
{
    char err[512];
    conf_t *c = NULL;

    assert_int_equal(conf_load("/nonexistent/ses.conf", &c, err, sizeof(err)),
                     CONF_NOFILE);
    assert_non_null(strstr(err, "/nonexistent/ses.conf: cannot open"));
    assert_null(c);
}

static void test_directory_is_not_a_config(void **state)
{
    char err[512];
    conf_t *c = NULL;

    assert_int_equal(conf_load("/tmp", &c, err, sizeof(err)), CONF_NOFILE);
}

static void test_long_line_is_refused(void **state)
{
    size_t n = CONF_MAX_LINE + 100;
    char *text = malloc(n + 32), err[512];
    conf_t *c = NULL;

    strcpy(text, "Region eu-west-1\nMessageTags ");
    memset(text + strlen(text), 'a', n);
    text[29 + n] = '\0';
    assert_int_equal(load_text(text, &c, err, sizeof(err)), CONF_INVALID);
    assert_non_null(strstr(err, ":2: line longer than 4096 bytes"));
    free(text);
}

static void test_binary_file_is_refused(void **state)
{
    unsigned char bin[4096];
    char *path, err[512];
    conf_t *c = NULL;

    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 131 + 7);
    path = tu_write_file(bin, sizeof(bin));
    assert_int_equal(conf_load(path, &c, err, sizeof(err)), CONF_INVALID);
    assert_null(c);
    unlink(path);
    free(path);
}

static void test_nul_byte_is_refused(void **state)
{
    static const char text[] = "Region eu-west-1\nMode obs\0erve\n";
    char *path = tu_write_file(text, sizeof(text) - 1), err[512];
    conf_t *c = NULL;

    assert_int_equal(conf_load(path, &c, err, sizeof(err)), CONF_INVALID);
    assert_non_null(strstr(err, ":2: NUL byte"));
    unlink(path);
    free(path);
}

static void test_ten_megabyte_file_is_refused(void **state)
{
    size_t n = 10 * 1024 * 1024;
    char *text = malloc(n), *path, err[512];
    conf_t *c = NULL;

    for (size_t i = 0; i < n; i++)
        text[i] = (i % 64 == 63) ? '\n' : '#';
    path = tu_write_file(text, n);
    assert_int_equal(conf_load(path, &c, err, sizeof(err)), CONF_INVALID);
    assert_non_null(strstr(err, "larger than"));
    unlink(path);
    free(path);
    free(text);
}

static void test_values_are_typed(void **state)
{
    char err[512];
    conf_t *c = NULL;

    assert_int_equal(load_text("Timeout 90s\nRetryTime 2m\nMaxMessageSize 10M\n"
                               "BounceDSN no\nVerifiedIdentities a@example.com,"
                               " example.org  example.net\nMode OBSERVE\n",
                               &c, err, sizeof(err)),
                     CONF_OK);
    assert_int_equal(conf_int(c, CK_TIMEOUT), 90000);
    assert_int_equal(conf_int(c, CK_RETRY_TIME), 120000);
    assert_int_equal(conf_int(c, CK_MAX_MESSAGE_SIZE), 10 * 1048576);
    assert_false(conf_bool(c, CK_BOUNCE_DSN));
    assert_string_equal(conf_list(c, CK_VERIFIED_IDENTITIES)[0],
                        "a@example.com");
    assert_string_equal(conf_list(c, CK_VERIFIED_IDENTITIES)[2], "example.net");
    assert_null(conf_list(c, CK_VERIFIED_IDENTITIES)[3]);
    assert_true(conf_is(c, CK_MODE, "observe"));
    conf_unref(c);
}

static holder_t current = HOLDER_INIT(&conf_holder_ops);

static void test_snapshot_outlives_swap(void **state)
{
    char err[512];
    conf_t *a = NULL, *b = NULL, *held;

    assert_int_equal(
        load_text("ConfigurationSet first\n", &a, err, sizeof(err)), CONF_OK);
    assert_int_equal(
        load_text("ConfigurationSet second\n", &b, err, sizeof(err)), CONF_OK);
    holder_publish(&current, a);
    held = holder_get(&current); /* a message in flight */
    holder_publish(&current, b); /* SIGHUP reload */
    assert_string_equal(conf_str(held, CK_CONFIGURATION_SET), "first");
    conf_unref(held);
    held = holder_get(&current);
    assert_string_equal(conf_str(held, CK_CONFIGURATION_SET), "second");
    conf_unref(held);
    holder_publish(&current, NULL);
}

/* A worker keeps its snapshot without a lock while it is current, and
 * trades it for the new one at its next unit of work after a reload; the
 * old one lives until its last holder lets go. */
static void test_worker_reference_follows_reloads(void **state)
{
    char err[512];
    conf_t *a = NULL, *b = NULL;
    holder_ref_t w = {0};

    assert_null(holder_acquire(&current, &w));
    assert_int_equal(
        load_text("ConfigurationSet first\n", &a, err, sizeof(err)), CONF_OK);
    assert_int_equal(
        load_text("ConfigurationSet second\n", &b, err, sizeof(err)), CONF_OK);
    holder_publish(&current, a);
    assert_ptr_equal(holder_acquire(&current, &w), a);
    assert_true(holder_is_current(&current, &w));
    assert_ptr_equal(holder_acquire(&current, &w), a); /* kept */
    conf_ref(a); /* to look at it after the holders let go */
    holder_publish(&current, b);
    assert_false(holder_is_current(&current, &w));
    assert_string_equal(conf_str(w.snap, CK_CONFIGURATION_SET), "first");
    assert_ptr_equal(holder_acquire(&current, &w), b);
    assert_string_equal(conf_str(w.snap, CK_CONFIGURATION_SET), "second");
    holder_release(&current, &w);
    assert_null(w.snap);
    conf_unref(a); /* the last reference: freed (LeakSanitizer checks) */
    holder_publish(&current, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_default_is_valid),
        cmocka_unit_test(test_every_key_is_documented_and_named_uniquely),
        cmocka_unit_test(test_every_key_accepts_a_valid_value),
        cmocka_unit_test(test_config_lines_give_expected_results),
        cmocka_unit_test(test_error_names_file_and_line),
        cmocka_unit_test(test_every_error_is_reported_with_its_line),
        cmocka_unit_test(test_errors_beyond_the_buffer_are_counted),
        cmocka_unit_test(test_missing_file_is_nofile),
        cmocka_unit_test(test_directory_is_not_a_config),
        cmocka_unit_test(test_long_line_is_refused),
        cmocka_unit_test(test_binary_file_is_refused),
        cmocka_unit_test(test_nul_byte_is_refused),
        cmocka_unit_test(test_ten_megabyte_file_is_refused),
        cmocka_unit_test(test_values_are_typed),
        cmocka_unit_test(test_snapshot_outlives_swap),
        cmocka_unit_test(test_worker_reference_follows_reloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
