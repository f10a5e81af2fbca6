/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_log.c - log formatting and secret scrubbing
 */
#include "config.h"

#include "testutil.h"
#include "ses_log.h"

static void fmt(char *out, size_t n, const char *qid, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    log_format(out, n, qid, f, ap);
    va_end(ap);
}

static void test_queue_id_prefixes_the_line(void **state)
{
    char out[256];

    fmt(out, sizeof(out), "3F2A1C0D", "to=<%s>", "a@example.com");
    assert_string_equal(out, "3F2A1C0D: to=<a@example.com>");
    fmt(out, sizeof(out), NULL, "hello");
    assert_string_equal(out, "hello");
}

static void test_registered_secrets_never_appear(void **state)
{
    char out[256];

    log_secret_add("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    log_secret_add("short"); /* ignored: too short to scrub safely */
    fmt(out, sizeof(out), "Q1", "key=%s and again %s end",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    assert_string_equal(out, "Q1: key=[redacted] and again [redacted] end");
    log_secret_clear();
}

static void test_secret_cut_by_line_end_is_scrubbed(void **state)
{
    char out[32];

    log_secret_add("SECRETSECRETSECRETSECRET");
    fmt(out, sizeof(out), NULL, "token: %s", "SECRETSECRETSECRETSECRET");
    assert_null(strstr(out, "SECRET"));
    log_secret_clear();
}

static void test_control_characters_cannot_forge_lines(void **state)
{
    char out[256];

    fmt(out, sizeof(out), NULL, "from=<%s>", "a\nFAKE: line");
    assert_string_equal(out, "from=<a?FAKE: line>");
}

static void test_redact_shows_only_ends(void **state)
{
    char out[64];

    assert_string_equal(log_redact("AKIAIOSFODNN7EXAMPLE", out, sizeof(out)),
                        "AKIA...MPLE");
    assert_string_equal(log_redact("short", out, sizeof(out)), "****");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_id_prefixes_the_line),
        cmocka_unit_test(test_registered_secrets_never_appear),
        cmocka_unit_test(test_secret_cut_by_line_end_is_scrubbed),
        cmocka_unit_test(test_control_characters_cannot_forge_lines),
        cmocka_unit_test(test_redact_shows_only_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
