/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_util.c - buffers, strings, units
 */
#include "config.h"

#include "testutil.h"
#include "ses_util.h"

static void test_buffer_refuses_to_pass_its_bound(void **state)
{
    buf_t b;

    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "12345678"), 0);
    assert_int_equal(buf_putc(&b, '9'), -1);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(buf_printf(&b, "%d", 1), -1);
    buf_free(&b);
}

static void test_buffer_printf_grows(void **state)
{
    buf_t b;

    buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b, "%04d", i), 0);
    assert_int_equal(b.len, 4000);
    assert_memory_equal(b.data + 3996, "0999", 4);
    buf_free(&b);
}

static void test_glob_matches_case_insensitively(void **state)
{
    static const struct {
        const char *pat, *s;
        bool want;
    } t[] = {
        {"*@billing.example.com", "Alice@Billing.Example.COM", true},
        {"*@billing.example.com", "alice@example.com", false},
        {"a?c", "abc", true},
        {"a?c", "ac", false},
        {"*", "", true},
        {"**a**b**", "xxaxxbxx", true},
        {"*.example.com", "example.com", false},
        {"List-Id:*", "list-id:<x.example.com>", true},
        {"*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++)
        if (str_glob(t[i].pat, t[i].s) != t[i].want)
            fail_msg("glob(%s, %s) != %d", t[i].pat, t[i].s, t[i].want);
}

static void test_units_parse(void **state)
{
    assert_int_equal(parse_size("10"), 10);
    assert_int_equal(parse_size("10k"), 10240);
    assert_int_equal(parse_size("40M"), 40 * 1048576LL);
    assert_int_equal(parse_size("1G"), 1073741824LL);
    assert_int_equal(parse_size("1T"), -1);
    assert_int_equal(parse_size("-1"), -1);
    assert_int_equal(parse_size(""), -1);
    assert_int_equal(parse_size("99999999999999999999"), -1);
    assert_int_equal(parse_duration("30"), 30000);
    assert_int_equal(parse_duration("30s"), 30000);
    assert_int_equal(parse_duration("250ms"), 250);
    assert_int_equal(parse_duration("2m"), 120000);
    assert_int_equal(parse_duration("1h"), 3600000);
    assert_int_equal(parse_duration("1 h"), -1);
}

static void test_loopback_hosts_are_recognised(void **state)
{
    assert_true(host_is_loopback("127.0.0.1"));
    assert_true(host_is_loopback("127.1.2.3"));
    assert_true(host_is_loopback("::1"));
    assert_true(host_is_loopback("[::1]"));
    assert_true(host_is_loopback("LOCALHOST"));
    assert_false(host_is_loopback("128.0.0.1"));
    assert_false(host_is_loopback("localhost.example.com"));
    assert_false(host_is_loopback("10.0.0.1"));
}

static void test_trim_and_sanitize(void **state)
{
    char a[] = "  \t x y \r\n";
    char b[] = "ok\r\nbad\x01\xff";

    assert_string_equal(str_trim(a), "x y");
    str_sanitize(b);
    assert_string_equal(b, "ok??bad??");
}

/* A loop of appends stops at the end of the buffer: the offset never
 * passes it, the text stays terminated. */
static void test_appendf_stops_at_the_end(void **state)
{
    char out[8];
    size_t o = 0;

    for (int i = 0; i < 5; i++)
        o = str_appendf(out, sizeof(out), o, "%s<%d>", i ? "," : "", i);
    assert_int_equal(o, sizeof(out));
    assert_string_equal(out, "<0>,<1>");
    assert_int_equal(str_appendf(out, sizeof(out), o, "more"), sizeof(out));
    assert_string_equal(out, "<0>,<1>");
    o = str_appendf(out, sizeof(out), 0, "ab");
    assert_int_equal(o, 2);
    assert_int_equal(str_appendf(out, sizeof(out), o, "cd"), 4);
    assert_string_equal(out, "abcd");
}

/* One parser serves SES notifications, the suppression CSV and AWS
 * credential expiry times. */
static void test_iso8601_times_parse(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } cases[] = {
        {"2016-01-27T14:59:38.237Z", 1453906778},  /* SES event time */
        {"2016-01-27T14:59:38Z", 1453906778},      /* CSV, IMDS */
        {"2016-01-27T15:59:38+01:00", 1453906778}, /* an offset */
        {"2016-01-27T14:59:38+00:00", 1453906778}, /* credential_process */
        {"2016-01-27T14:59:38UTC", 1453906778}, /* accepted for credentials */
        {"2016-01-27 14:59:38Z", -1},
        {"2016-13-27T14:59:38Z", -1},
        {"2016-01-27T14:59:38", -1},
        {"2016-01-27T14:59:38+1:00", -1},
        {"16-01-27T14:59:38Z", -1},
        {"1969-12-31T23:59:59Z", -1},
        {"", -1},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (time_parse_iso8601(cases[i].in) != cases[i].want)
            fail_msg("%s: %lld, want %lld", cases[i].in,
                     (long long)time_parse_iso8601(cases[i].in),
                     (long long)cases[i].want);
    assert_int_equal(time_parse_iso8601(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffer_refuses_to_pass_its_bound),
        cmocka_unit_test(test_buffer_printf_grows),
        cmocka_unit_test(test_glob_matches_case_insensitively),
        cmocka_unit_test(test_units_parse),
        cmocka_unit_test(test_loopback_hosts_are_recognised),
        cmocka_unit_test(test_trim_and_sanitize),
        cmocka_unit_test(test_iso8601_times_parse),
        cmocka_unit_test(test_appendf_stops_at_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
