/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_identity.c - SES verified identities
 */
#include "config.h"

#include "testutil.h"
#include "ses_identity.h"

static void test_address_and_domain_identities(void **state)
{
    static const char *const list[] = {"Billing@Example.COM", "example.org",
                                       NULL};
    static const struct {
        const char *addr;
        bool verified;
    } cases[] = {
        {"billing@example.com", true}, /* case-insensitive */
        {"BILLING@EXAMPLE.COM", true},
        {"other@example.com", false}, /* only that address */
        {"anyone@example.org", true}, /* a domain covers its addresses */
        {"a@mail.example.org", true}, /* ... and its subdomains */
        {"a@x.y.example.org", true},
        {"a@badexample.org", false}, /* not a suffix match */
        {"a@example.org.evil", false},
        {"example.org", false}, /* not an address */
        {"", false},
    };
    identity_t *ids = NULL;
    char err[256];

    assert_int_equal(identity_parse(list, &ids, err, sizeof(err)), 0);
    assert_int_equal(identity_count(ids), 2);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (identity_verified(ids, cases[i].addr) != cases[i].verified)
            fail_msg("%s: expected %s", cases[i].addr,
                     cases[i].verified ? "verified" : "not verified");
    identity_free(ids);
}

static void test_sandbox_allows_the_mailbox_simulator(void **state)
{
    static const char *const list[] = {"example.com", NULL};
    identity_t *ids = NULL;
    char err[256];

    assert_int_equal(identity_parse(list, &ids, err, sizeof(err)), 0);
    assert_true(identity_sandbox_ok(ids, "success@simulator.amazonses.com"));
    assert_true(identity_sandbox_ok(ids, "bounce@SIMULATOR.amazonses.com"));
    assert_true(identity_sandbox_ok(ids, "x@example.com"));
    assert_false(identity_sandbox_ok(ids, "x@example.net"));
    assert_false(identity_verified(ids, "success@simulator.amazonses.com"));
    identity_free(ids);
}

static void test_invalid_identities_are_refused(void **state)
{
    static const char *const bad[] = {"a@b@c", "@example.com", "user@",
                                      "<a@example.com>", "caf\xc3\xa9.fr"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *list[] = {bad[i], NULL};
        identity_t *ids = NULL;
        char err[256];
        if (identity_parse(list, &ids, err, sizeof(err)) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_null(ids);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_and_domain_identities),
        cmocka_unit_test(test_sandbox_allows_the_mailbox_simulator),
        cmocka_unit_test(test_invalid_identities_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
