/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_addrmatch.c - TrustedHosts address lists
 */
#include "config.h"

#include "testutil.h"
#include "ses_addrmatch.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static addrmatch_t *parse(const char *const *list)
{
    addrmatch_t *m = NULL;
    char err[256];

    if (addrmatch_parse(list, &m, err, sizeof(err)) < 0)
        fail_msg("parse failed: %s", err);
    return m;
}

static void test_addresses_and_networks_match(void **state)
{
    static const char *const list[] = {"127.0.0.1",       "10.0.0.0/8",
                                       "192.168.1.77/24", "2001:db8::/32",
                                       "[::1]",           NULL};
    static const struct {
        const char *addr;
        bool match;
    } cases[] = {
        {"127.0.0.1", true},
        {"127.0.0.2", false},
        {"10.255.1.2", true},
        {"11.0.0.1", false},
        {"192.168.1.1", true},
        {"192.168.2.1", false},
        {"2001:db8:1::5", true},
        {"2001:db9::1", false},
        {"::1", true},
        {"::2", false},
        {"::ffff:10.1.1.1", true}, /* IPv4-mapped IPv6 meets 10/8 */
        {"not-an-address", false},
    };
    addrmatch_t *m = parse(list);

    assert_int_equal(addrmatch_count(m), 5);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (addrmatch_string(m, cases[i].addr) != cases[i].match)
            fail_msg("%s: expected %s", cases[i].addr,
                     cases[i].match ? "a match" : "no match");
    addrmatch_free(m);
}

static void test_sockaddr_of_both_families(void **state)
{
    static const char *const list[] = {"127.0.0.0/8", "::1", NULL};
    addrmatch_t *m = parse(list);
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    struct sockaddr un = {.sa_family = AF_UNIX};

    inet_pton(AF_INET, "127.3.4.5", &a4.sin_addr);
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_true(addrmatch_sockaddr(m, (struct sockaddr *)&a4));
    assert_true(addrmatch_sockaddr(m, (struct sockaddr *)&a6));
    assert_false(addrmatch_sockaddr(m, &un));
    assert_false(addrmatch_sockaddr(m, NULL));
    inet_pton(AF_INET, "192.0.2.1", &a4.sin_addr);
    assert_false(addrmatch_sockaddr(m, (struct sockaddr *)&a4));
    addrmatch_free(m);
}

static void test_empty_list_matches_nothing(void **state)
{
    static const char *const list[] = {NULL};
    addrmatch_t *m = parse(list);

    assert_false(addrmatch_string(m, "127.0.0.1"));
    addrmatch_free(m);
    addrmatch_free(NULL);
}

static void test_bad_entries_are_refused(void **state)
{
    static const char *const bad[] = {
        "mail.example.com", "10.0.0.0/33", "::1/129",
        "10.0.0.0/",        "1.2.3",       "10.0.0.0/8x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *list[] = {"127.0.0.1", bad[i], NULL};
        addrmatch_t *m = NULL;
        char err[256] = "";
        if (addrmatch_parse(list, &m, err, sizeof(err)) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_null(m);
        assert_non_null(strstr(err, bad[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses_and_networks_match),
        cmocka_unit_test(test_sockaddr_of_both_families),
        cmocka_unit_test(test_empty_list_matches_nothing),
        cmocka_unit_test(test_bad_entries_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
