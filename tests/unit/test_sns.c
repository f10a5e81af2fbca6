/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sns.c - SNS envelopes: parsing, string to sign, certificate URL
 * rules, signature verification with a cached certificate
 */
#include "config.h"

#include "testutil.h"
#include "snstest.h"
#include "ses_sns.h"

static sns_msg_t *parse(const char *json)
{
    sns_msg_t *m = NULL;
    char err[256];

    if (sns_parse(json, strlen(json), &m, err, sizeof(err)) != 0)
        fail_msg("sns_parse: %s", err);
    return m;
}

static void test_string_to_sign_follows_the_type(void **state)
{
    static const struct {
        const char *json;
        const char *expect;
    } cases[] = {
        {"{\"Type\":\"Notification\",\"MessageId\":\"m1\",\"TopicArn\":\"t\","
         "\"Message\":\"hello\",\"Timestamp\":\"ts\",\"Subject\":\"s\","
         "\"UnsubscribeURL\":\"u\",\"SignatureVersion\":\"1\"}",
         "Message\nhello\nMessageId\nm1\nSubject\ns\nTimestamp\nts\n"
         "TopicArn\nt\nType\nNotification\n"},
        {"{\"Type\":\"Notification\",\"MessageId\":\"m1\",\"TopicArn\":\"t\","
         "\"Message\":\"hello\",\"Timestamp\":\"ts\"}",
         "Message\nhello\nMessageId\nm1\nTimestamp\nts\nTopicArn\nt\n"
         "Type\nNotification\n"},
        {"{\"Type\":\"SubscriptionConfirmation\",\"MessageId\":\"m2\","
         "\"Token\":\"tok\",\"TopicArn\":\"t\",\"Message\":\"confirm\","
         "\"SubscribeURL\":\"https://x\",\"Timestamp\":\"ts\"}",
         "Message\nconfirm\nMessageId\nm2\nSubscribeURL\nhttps://x\n"
         "Timestamp\nts\nToken\ntok\nTopicArn\nt\nType\n"
         "SubscriptionConfirmation\n"},
    };
    char err[256];
    buf_t b;

    buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sns_msg_t *m = parse(cases[i].json);
        assert_int_equal(sns_string_to_sign(m, &b, err, sizeof(err)), 0);
        assert_string_equal(b.data, cases[i].expect);
        sns_msg_free(m);
    }
    buf_free(&b);
}

static void test_non_sns_json_and_garbage_are_told_apart(void **state)
{
    static const struct {
        const char *json;
        int rc;
    } cases[] = {
        {"{\"notificationType\":\"Bounce\"}", 1},
        {"[\"Type\"]", 1},
        {"{\"Type\":", -1},
        {"{\"Type\":\"Notification\",\"TopicArn\":\"t\"}", -1},
        {"{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"MessageId\":1,"
         "\"Message\":\"m\"}",
         -1},
    };
    sns_msg_t *m = NULL;
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (sns_parse(cases[i].json, strlen(cases[i].json), &m, err,
                      sizeof(err)) != cases[i].rc)
            fail_msg("case %zu: want %d", i, cases[i].rc);
    assert_null(m);
}

static void test_certificate_url_rules(void **state)
{
    static const struct {
        const char *url;
        int ok;
    } cases[] = {
        {SNSTEST_CERT_URL, 1},
        {"http://sns.us-east-1.amazonaws.com/x.pem", 0},
        {"https://sns.eu-west-1.amazonaws.com/x.pem", 0}, /* other region */
        {"https://sns.us-east-1.amazonaws.com.evil.example/x.pem", 0},
        {"https://evil.example/sns.us-east-1.amazonaws.com/x.pem", 0},
        {"https://sns.us-east-1.amazonaws.com:8443/x.pem", 0},
        {"https://user@sns.us-east-1.amazonaws.com/x.pem", 0},
        {"https://sns.us-east-1.amazonaws.com/x.pem?y", 0},
        {"https://sns.us-east-1.amazonaws.com/x.txt", 0},
        {"https://sns.us-east-1.amazonaws.com/../x.pem", 0},
        {"https://sns.us-east-1.amazonaws.com", 0},
        {NULL, 0},
    };
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if ((sns_url_ok(cases[i].url, SNSTEST_TOPIC, 1, err, sizeof(err)) ==
             0) != cases[i].ok)
            fail_msg("%s: expected %s", cases[i].url ? cases[i].url : "NULL",
                     cases[i].ok ? "ok" : "refused");
    assert_int_equal(sns_url_ok("https://sns.cn-north-1.amazonaws.com.cn/"
                                "x.pem",
                                "arn:aws-cn:sns:cn-north-1:1:t", 1, err,
                                sizeof(err)),
                     0);
    assert_int_equal(
        sns_url_ok(SNSTEST_CERT_URL, "not-an-arn", 1, err, sizeof(err)), -1);
    /* feedback from every region: each topic's certificate comes from its
     * own region's SNS host, never another region's */
    assert_int_equal(sns_url_ok("https://sns.eu-west-1.amazonaws.com/x.pem",
                                "arn:aws:sns:eu-west-1:1:t", 1, err,
                                sizeof(err)),
                     0);
    assert_int_equal(sns_url_ok(SNSTEST_CERT_URL, "arn:aws:sns:eu-west-1:1:t",
                                1, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "is not on sns.eu-west-1.amazonaws.com"));
}

typedef struct {
    char dir[64];
    snstest_t *signer;
    sns_certs_t *certs;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/ses-sns.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->signer = snstest_new(f->dir, SNSTEST_CERT_URL);
    f->certs = sns_certs_new(f->dir, NULL); /* no network: cache only */
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *f = *state;
    char cmd[128];

    sns_certs_free(f->certs);
    snstest_free(f->signer);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    system(cmd);
    free(f);
    return 0;
}

static status_t verify(fx_t *f, const char *json)
{
    sns_msg_t *m = parse(json);
    char err[256];
    status_t st = sns_verify(f->certs, m, err, sizeof(err));

    sns_msg_free(m);
    return st;
}

static void test_both_signature_versions_verify(void **state)
{
    fx_t *f = *state;
    char *v1 = snstest_envelope(f->signer, "1", SNSTEST_TOPIC, SNSTEST_CERT_URL,
                                "id-1", "{\"a\":1}");
    char *v2 = snstest_envelope(f->signer, "2", SNSTEST_TOPIC, SNSTEST_CERT_URL,
                                "id-2", "{\"a\":2}");

    assert_int_equal(verify(f, v1), ST_OK);
    assert_int_equal(verify(f, v2), ST_OK);
    assert_int_equal(verify(f, v2), ST_OK); /* from the memory cache */
    free(v1);
    free(v2);
}

static void test_altered_or_foreign_messages_are_forged(void **state)
{
    fx_t *f = *state;
    snstest_t *other = snstest_new(NULL, NULL);
    char *good = snstest_envelope(f->signer, "2", SNSTEST_TOPIC,
                                  SNSTEST_CERT_URL, "id-3", "{\"a\":3}");
    char *altered = strdup(good), *p;
    char *foreign = snstest_envelope(other, "2", SNSTEST_TOPIC,
                                     SNSTEST_CERT_URL, "id-4", "{\"a\":4}");
    char *wrong_version = strdup(good);

    p = strstr(altered, "{\\\"a\\\":3}");
    assert_non_null(p);
    p[7] = '4'; /* the message now says 4 */
    assert_int_equal(verify(f, altered), ST_PERM_FORGED);
    assert_int_equal(verify(f, foreign), ST_PERM_FORGED);
    p = strstr(wrong_version, "\"SignatureVersion\":\"2\"");
    p[20] = '3';
    assert_int_equal(verify(f, wrong_version), ST_PERM_FORGED);
    snstest_free(other);
    free(good);
    free(altered);
    free(foreign);
    free(wrong_version);
}

static void test_bad_certificate_url_is_refused_before_any_fetch(void **state)
{
    fx_t *f = *state;
    char *evil =
        snstest_envelope(f->signer, "2", SNSTEST_TOPIC,
                         "https://evil.example/cert.pem", "id-5", "{}");

    assert_int_equal(verify(f, evil), ST_PERM_FORGED);
    free(evil);
}

static void test_uncached_certificate_without_network_is_temporary(void **state)
{
    fx_t *f = *state;
    char *msg = snstest_envelope(
        f->signer, "2", SNSTEST_TOPIC,
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-"
        "notcached.pem",
        "id-6", "{}");

    assert_true(status_is_temporary(verify(f, msg)));
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_to_sign_follows_the_type),
        cmocka_unit_test(test_non_sns_json_and_garbage_are_told_apart),
        cmocka_unit_test(test_certificate_url_rules),
        cmocka_unit_test_setup_teardown(test_both_signature_versions_verify,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_altered_or_foreign_messages_are_forged, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_bad_certificate_url_is_refused_before_any_fetch, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_uncached_certificate_without_network_is_temporary, fx_setup,
            fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
