/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_jsonlimit.c - JSON from outside: the size and depth bounds, and
 * that the readers built on them refuse what is over a bound
 */
#include "config.h"

#include "testutil.h"
#include "ses_jsonlimit.h"
#include "ses_util.h"
#include "ses_note.h"
#include "ses_sqs.h"
#include "ses_suppress_sync.h"

/* "[[[...]]]" n deep, or "{"a":{"a":...}}" when objects. */
static char *nested(int n, bool objects)
{
    char *s = malloc((size_t)n * 6 + 8), *p = s;

    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s", objects ? "{\"a\":" : "[");
    p += sprintf(p, "1");
    for (int i = 0; i < n; i++)
        *p++ = objects ? '}' : ']';
    *p = '\0';
    return s;
}

static void test_depth_is_counted_outside_strings(void **state)
{
    static const struct {
        const char *json;
        int depth;
    } cases[] = {
        {"1", 0},
        {"[]", 1},
        {"{\"a\":[1,{\"b\":[]}]}", 4},
        {"[\"[[[[\"]", 1},
        {"[\"\\\"[[[\"]", 1}, /* an escaped quote does not end the string */
        {"]]][[", 2},         /* stray closers do not go below zero */
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_int_equal(
            jsonlimit_depth(cases[i].json, strlen(cases[i].json), 100),
            cases[i].depth);
}

static void test_nesting_beyond_the_limit_is_refused(void **state)
{
    char err[256];
    char *ok = nested(JSONLIMIT_MAX_DEPTH, false);
    char *deep = nested(JSONLIMIT_MAX_DEPTH + 1, true);
    json_t *j = jsonlimit_load(ok, strlen(ok), 0, 1 << 20, err, sizeof(err));

    assert_non_null(j);
    json_decref(j);
    assert_null(
        jsonlimit_load(deep, strlen(deep), 0, 1 << 20, err, sizeof(err)));
    assert_string_equal(err, "JSON nested deeper than 32 levels");
    free(ok);
    free(deep);
}

static void test_size_beyond_the_limit_is_refused(void **state)
{
    char err[256];

    assert_null(jsonlimit_load("[1,2,3]", 7, 0, 6, err, sizeof(err)));
    assert_string_equal(err, "JSON of 7 bytes is over the 6 limit");
    assert_null(jsonlimit_load("[1,", 3, 0, 6, err, sizeof(err)));
    assert_non_null(strstr(err, "JSON error at line 1"));
}

static void test_a_deep_notification_is_refused_with_its_reason(void **state)
{
    char *deep = nested(200, true), *msg, err[256];
    note_t *n = NULL;

    msg = malloc(strlen(deep) + 64);
    sprintf(msg, "{\"notificationType\":\"Bounce\",\"x\":%s}", deep);
    assert_int_equal(note_parse(msg, strlen(msg), &n, err, sizeof(err)), -1);
    assert_null(n);
    assert_string_equal(err, "JSON nested deeper than 32 levels");
    free(msg);
    free(deep);
}

static void test_aws_answer_readers_refuse_deep_answers(void **state)
{
    char *deep = nested(100, false), *body, err[256], *next = NULL;
    sqs_message_t m[SQS_MAX_MESSAGES];
    size_t n = 99;

    body = malloc(strlen(deep) + 64);
    sprintf(body, "{\"Messages\":%s}", deep);
    assert_int_equal(
        sqs_receive_parse(body, strlen(body), m, &n, err, sizeof(err)),
        ST_TEMP_PROTOCOL);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "nested deeper"));
    sprintf(body, "{\"SuppressedDestinationSummaries\":%s}", deep);
    assert_int_equal(suppress_sync_parse_page(body, strlen(body), &n, &next,
                                              err, sizeof(err)),
                     -1);
    assert_null(next);
    free(body);
    free(deep);
}

static void test_suppression_page_time_out_of_range_is_dropped(void **state)
{
    /* fuzz_aws: a LastUpdateTime beyond int64_t reached a cast that is
     * undefined there (UBSan aborts the sanitizer build on it) */
    static const char page[] =
        "{\"SuppressedDestinationSummaries\":[{\"EmailAddress\":\"a@x.org\","
        "\"Reason\":\"BOUNCE\",\"LastUpdateTime\":1.7e111},"
        "{\"EmailAddress\":\"b@x.org\",\"LastUpdateTime\":-1e300}]}";
    char err[256], *next = NULL;
    size_t n = 0;

    assert_int_equal(suppress_sync_parse_page(page, strlen(page), &n, &next,
                                              err, sizeof(err)),
                     0);
    assert_int_equal(n, 2);
    assert_null(next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_is_counted_outside_strings),
        cmocka_unit_test(test_nesting_beyond_the_limit_is_refused),
        cmocka_unit_test(test_size_beyond_the_limit_is_refused),
        cmocka_unit_test(test_a_deep_notification_is_refused_with_its_reason),
        cmocka_unit_test(test_aws_answer_readers_refuse_deep_answers),
        cmocka_unit_test(test_suppression_page_time_out_of_range_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
