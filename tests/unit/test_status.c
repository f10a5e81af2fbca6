/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_status.c - the status table
 */
#include "config.h"

#include "testutil.h"
#include "ses_status.h"

#include <sysexits.h>

static void test_every_status_has_a_complete_entry(void **state)
{
    for (int s = 0; s < ST__COUNT; s++) {
        const status_info_t *si = status_info((status_t)s);
        assert_int_equal(si->status, s);
        assert_non_null(si->name);
        assert_non_null(si->text);
        assert_non_null(si->dsn);
        assert_int_equal(si->dsn[0] - '0', si->smtp / 100);
        assert_true(status_is_ok((status_t)s) +
                        status_is_permanent((status_t)s) +
                        status_is_temporary((status_t)s) ==
                    1);
    }
}

static void test_unknown_status_is_a_temporary_failure(void **state)
{
    const status_info_t *si = status_info((status_t)9999);

    assert_int_equal(si->sysexit, EX_TEMPFAIL);
    assert_int_equal(si->smtp / 100, 4);
    assert_int_equal(si->milter, MILTER_TEMPFAIL);
    assert_true(status_is_temporary((status_t)-1));
}

static void test_temporary_statuses_exit_tempfail(void **state)
{
    for (int s = 0; s < ST__COUNT; s++)
        if (status_is_temporary((status_t)s)) {
            assert_int_equal(status_info((status_t)s)->sysexit, EX_TEMPFAIL);
            assert_int_equal(status_info((status_t)s)->milter, MILTER_TEMPFAIL);
        }
}

/* Configuration and credential problems must never bounce mail. */
static void test_config_and_credentials_never_bounce(void **state)
{
    static const status_t never[] = {
        ST_TEMP_CONFIG,
        ST_TEMP_CREDENTIALS,
        ST_TEMP_AUTH,
        ST_TEMP_ACCOUNT_PAUSED,
        ST_TEMP_CONFIGSET_PAUSED,
        ST_TEMP_CONFIGSET_MISSING,
        ST_TEMP_ACCOUNT_SUSPENDED,
        ST_TEMP_THROTTLED,
        ST_TEMP_QUOTA,
        ST_TEMP_STORE,
        ST_TEMP_STORE_CONFIG,
    };
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        assert_true(status_is_temporary(never[i]));
        assert_int_equal(status_info(never[i])->sysexit, EX_TEMPFAIL);
    }
    assert_true(status_info(ST_TEMP_ACCOUNT_PAUSED)->loud);
    assert_true(status_info(ST_TEMP_CONFIGSET_MISSING)->loud);
}

static void test_table_matches_design(void **state)
{
    static const struct {
        status_t st;
        int ex;
        int smtp;
        const char *dsn;
    } want[] = {
        {ST_OK, EX_OK, 250, "2.0.0"},
        {ST_PERM_REJECTED, EX_UNAVAILABLE, 554, "5.7.1"},
        {ST_PERM_TOO_LARGE, EX_DATAERR, 552, "5.3.4"},
        {ST_PERM_NON_ASCII, EX_DATAERR, 553, "5.6.7"},
        {ST_PERM_SUPPRESSED, EX_NOUSER, 550, "5.1.1"},
        {ST_TEMP_CONFIG, EX_TEMPFAIL, 451, "4.3.5"},
        {ST_TEMP_THROTTLED, EX_TEMPFAIL, 451, "4.4.5"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const status_info_t *si = status_info(want[i].st);
        assert_int_equal(si->sysexit, want[i].ex);
        assert_int_equal(si->smtp, want[i].smtp);
        assert_string_equal(si->dsn, want[i].dsn);
    }
}

static void test_reply_text_is_cleaned(void **state)
{
    char out[256];

    status_reply(ST_PERM_REJECTED, "bad\r\n250 injected", out, sizeof(out));
    assert_string_equal(out, "554 5.7.1 bad??250 injected");
    status_diag(ST_TEMP_CONFIG, NULL, out, sizeof(out));
    assert_string_equal(out, "4.3.5 configuration error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_has_a_complete_entry),
        cmocka_unit_test(test_unknown_status_is_a_temporary_failure),
        cmocka_unit_test(test_temporary_statuses_exit_tempfail),
        cmocka_unit_test(test_config_and_credentials_never_bounce),
        cmocka_unit_test(test_table_matches_design),
        cmocka_unit_test(test_reply_text_is_cleaned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
