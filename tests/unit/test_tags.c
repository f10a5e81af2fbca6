/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_tags.c - SES message tags
 */
#include "config.h"

#include "testutil.h"
#include "ses_tags.h"

static void test_config_form_parses(void **state)
{
    tags_t *t = NULL;
    char err[256];

    assert_int_equal(
        tags_parse("team:billing, env:prod ,,", ':', &t, err, sizeof(err)), 0);
    assert_int_equal(tags_count(t), 2);
    assert_string_equal(tags_name(t, 1), "env");
    assert_string_equal(tags_value(t, 1), "prod");
    tags_free(t);
}

static void test_header_form_overrides_config(void **state)
{
    tags_t *a = NULL, *b = NULL;
    char err[256];

    assert_int_equal(
        tags_parse("team:billing,env:prod", ':', &a, err, sizeof(err)), 0);
    assert_int_equal(
        tags_parse("team=support, campaign=x-1", '=', &b, err, sizeof(err)), 0);
    assert_int_equal(tags_merge(a, b), 0);
    assert_int_equal(tags_count(a), 3);
    assert_string_equal(tags_value(a, 0), "support");
    assert_string_equal(tags_name(a, 2), "campaign");
    tags_free(a);
    tags_free(b);
}

static void test_invalid_tags_are_refused(void **state)
{
    static const char *bad[] = {"a",     "a:",    ":b",        "a:b c",
                                "a.b:c", "a:b@c", "a:\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tags_t *t = NULL;
        char err[256];
        if (tags_parse(bad[i], ':', &t, err, sizeof(err)) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_null(t);
    }
}

static void test_too_many_tags_are_refused(void **state)
{
    char s[4096] = "", err[256];
    tags_t *t = NULL;

    for (int i = 0; i <= TAGS_MAX; i++)
        snprintf(s + strlen(s), sizeof(s) - strlen(s), "t%d:v,", i);
    assert_int_equal(tags_parse(s, ':', &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than"));
}

static void test_sanitize_makes_valid_values(void **state)
{
    char out[300];
    char longin[400];

    tags_sanitize_value("mail.example.com", out, sizeof(out));
    assert_string_equal(out, "mail-example-com");
    tags_sanitize_value("", out, sizeof(out));
    assert_string_equal(out, "unknown");
    memset(longin, 'a', sizeof(longin) - 1);
    longin[sizeof(longin) - 1] = '\0';
    tags_sanitize_value(longin, out, sizeof(out));
    assert_int_equal(strlen(out), 256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_form_parses),
        cmocka_unit_test(test_header_form_overrides_config),
        cmocka_unit_test(test_invalid_tags_are_refused),
        cmocka_unit_test(test_too_many_tags_are_refused),
        cmocka_unit_test(test_sanitize_makes_valid_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
