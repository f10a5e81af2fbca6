/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_addr.c - the one address module: RFC 5321 paths, what milters and
 * mailers hand over, mail.source mailboxes, the form sent to SES (5.6.7
 * for non-ASCII local parts) and the comparison key (lower case, IDNA
 * A-label domain)
 */
#include "config.h"

#include "testutil.h"
#include "ses_addr.h"

#include <string.h>

#define UML "b\xc3\xbc" /* "bü" */

static const struct {
    const char *in;
    addr_status_t st;
    const char *out;
    const char *rest; /* what *pp points at afterwards */
} paths[] = {
    {"<bob@example.net>", ADDR_OK, "bob@example.net", ""},
    {"  <bob@example.net>  SIZE=10", ADDR_OK, "bob@example.net", "SIZE=10"},
    {"<>", ADDR_OK, "", ""},
    {"<@relay1,@relay2:bob@example.net>", ADDR_OK, "bob@example.net", ""},
    {"<\"odd>one\"@example.net>", ADDR_OK, "\"odd>one\"@example.net", ""},
    {"<\"a\\\"b\"@example.net>", ADDR_OK, "\"a\\\"b\"@example.net", ""},
    {"bob@example.net", ADDR_SYNTAX, NULL, NULL},
    {"<bob@example.net", ADDR_SYNTAX, NULL, NULL},
    {"<bob@example.net>x", ADDR_SYNTAX, NULL, NULL},
    {"<bob\x01@example.net>", ADDR_SYNTAX, NULL, NULL},
    {"<@relay1bob@example.net>", ADDR_SYNTAX, NULL, NULL},
};

static void test_paths_read_as_rfc5321_writes_them(void **state)
{
    char out[64];

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *p = paths[i].in;
        addr_status_t st = addr_path(&p, out, sizeof(out));
        if (st != paths[i].st)
            fail_msg("path %zu: status %d, want %d", i, st, paths[i].st);
        if (paths[i].out) {
            assert_string_equal(out, paths[i].out);
            assert_string_equal(p, paths[i].rest);
        }
    }
}

static void test_path_longer_than_the_buffer_is_too_long(void **state)
{
    const char *p = "<a-rather-long-local-part@example.net>";
    char out[10];

    assert_int_equal(addr_path(&p, out, sizeof(out)), ADDR_TOO_LONG);
}

static const struct {
    const char *in;
    const char *out;
} unwraps[] = {
    {"<bob@example.net>", "bob@example.net"},
    {"bob@example.net", "bob@example.net"},
    {" <bob@example.net> ", "bob@example.net"},
    {"<>", ""},
    {"", ""},
    {"<@a,@b:bob@example.net>", "bob@example.net"},
    {"<\"x>y\"@example.net>", "\"x>y\"@example.net"},
    {"<bob@example.net", "bob@example.net"}, /* what the MTA accepted */
};

static void test_unwrap_takes_milter_and_mailer_arguments(void **state)
{
    char out[64];

    for (size_t i = 0; i < sizeof(unwraps) / sizeof(unwraps[0]); i++) {
        assert_int_equal(addr_unwrap(unwraps[i].in, out, sizeof(out)), ADDR_OK);
        assert_string_equal(out, unwraps[i].out);
    }
}

static const struct {
    const char *in;
    addr_status_t st;
    const char *out;
} mailboxes[] = {
    /* AWS's event-publishing example (tests/data/feedback/aws-examples) */
    {"Sender Name <sender@example.com>", ADDR_OK, "sender@example.com"},
    {"sender@example.com", ADDR_OK, "sender@example.com"},
    {"<sender@example.com>", ADDR_OK, "sender@example.com"},
    {"\"Doe, <John>\" <john@example.com>", ADDR_OK, "john@example.com"},
    {"=?UTF-8?B?w4Rrc2Vs?= <a@example.com>", ADDR_OK, "a@example.com"},
    {" a@example.com ", ADDR_OK, "a@example.com"},
    {"Sender Name", ADDR_SYNTAX, NULL},
    {"", ADDR_SYNTAX, NULL},
};

static void test_mailbox_gives_the_address_of_a_display_name_source(void **s)
{
    char out[64];

    for (size_t i = 0; i < sizeof(mailboxes) / sizeof(mailboxes[0]); i++) {
        addr_status_t st = addr_mailbox(mailboxes[i].in, out, sizeof(out));
        if (st != mailboxes[i].st)
            fail_msg("mailbox %zu: status %d, want %d", i, st, mailboxes[i].st);
        if (mailboxes[i].out)
            assert_string_equal(out, mailboxes[i].out);
    }
}

static const struct {
    const char *in;
    addr_status_t st;
    const char *out;
} sendables[] = {
    {"", ADDR_OK, ""},
    {"Bob@Example.NET", ADDR_OK, "Bob@Example.NET"}, /* kept as written */
    {"bob@" UML "cher.example", ADDR_OK, "bob@xn--bcher-kva.example"},
    {"Bob@B\xc3\xbc"
     "cher.example",
     ADDR_OK, "Bob@xn--bcher-kva.example"},
    {"\"odd@local\"@" UML "cher.example", ADDR_OK,
     "\"odd@local\"@xn--bcher-kva.example"},
    {"j\xc3\xb6rg@example.net", ADDR_LOCAL_NON_ASCII, NULL},
    {"j\xc3\xb6rg@" UML "cher.example", ADDR_LOCAL_NON_ASCII, NULL},
    {"postm\xc3\xa4ster", ADDR_LOCAL_NON_ASCII, NULL},
    {"bob@bad\xff.example", ADDR_BAD_UTF8, NULL},
};

static void test_sendable_keeps_the_local_part_as_written(void **state)
{
    char out[400];

    for (size_t i = 0; i < sizeof(sendables) / sizeof(sendables[0]); i++) {
        addr_status_t st = addr_sendable(sendables[i].in, out, sizeof(out));
        if (st != sendables[i].st)
            fail_msg("address %zu: status %d, want %d", i, st, sendables[i].st);
        if (sendables[i].out)
            assert_string_equal(out, sendables[i].out);
        else
            assert_string_equal(out, "");
    }
}

static const struct {
    const char *in;
    addr_status_t st;
    const char *key;
} keys[] = {
    {"Bob@Example.NET", ADDR_OK, "bob@example.net"},
    {"user@" UML "cher.example", ADDR_OK, "user@xn--bcher-kva.example"},
    {"User@B\xc3\xbc"
     "cher.Example",
     ADDR_OK, "user@xn--bcher-kva.example"},
    {"user@XN--BCHER-KVA.example", ADDR_OK, "user@xn--bcher-kva.example"},
    {"user@" UML "cher\xe3\x80\x82"
     "example",
     ADDR_OK, /* U+3002 */
     "user@xn--bcher-kva.example"},
    {"J\xc3\xb6rg@example.net", ADDR_OK, "j\xc3\xb6rg@example.net"},
    {"\"Odd@Local\"@example.net", ADDR_OK, "\"odd@local\"@example.net"},
    {"bob", ADDR_SYNTAX, NULL},
    {"@example.net", ADDR_SYNTAX, NULL},
    {"bob@", ADDR_SYNTAX, NULL},
    {"bob smith@example.net", ADDR_SYNTAX, NULL},
    {"<bob@example.net>", ADDR_SYNTAX, NULL},
    {"bob@bad\xff.example", ADDR_BAD_UTF8, NULL},
};

static void test_key_is_lower_case_with_an_a_label_domain(void **state)
{
    char out[ADDR_MAX_LEN + 1];

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        addr_status_t st = addr_key(keys[i].in, out, sizeof(out));
        if (st != keys[i].st)
            fail_msg("key %zu: status %d, want %d", i, st, keys[i].st);
        if (keys[i].key)
            assert_string_equal(out, keys[i].key);
    }
}

static void test_key_over_the_buffer_is_too_long(void **state)
{
    char big[ADDR_MAX_LEN + 10], out[ADDR_MAX_LEN + 1];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[5] = '@';
    assert_int_equal(addr_key(big, out, sizeof(out)), ADDR_TOO_LONG);
    assert_string_equal(out, "");
}

static void test_safe_addresses_exclude_what_breaks_a_header(void **state)
{
    assert_true(addr_safe("bob@example.net"));
    assert_false(addr_safe("-oi@example.net"));
    assert_false(addr_safe("bob"));
    assert_false(addr_safe("bob smith@example.net"));
    assert_false(addr_safe("bob@example.net>"));
    assert_false(addr_safe("b\xc3\xb6@example.net"));
    assert_false(addr_safe(NULL));
}

static void test_null_sender_in_every_spelling(void **state)
{
    assert_true(addr_is_null(NULL));
    assert_true(addr_is_null(""));
    assert_true(addr_is_null("<>"));
    assert_true(addr_is_null("mailer-daemon"));
    assert_false(addr_is_null("bob@example.net"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_read_as_rfc5321_writes_them),
        cmocka_unit_test(test_path_longer_than_the_buffer_is_too_long),
        cmocka_unit_test(test_unwrap_takes_milter_and_mailer_arguments),
        cmocka_unit_test(
            test_mailbox_gives_the_address_of_a_display_name_source),
        cmocka_unit_test(test_sendable_keeps_the_local_part_as_written),
        cmocka_unit_test(test_key_is_lower_case_with_an_a_label_domain),
        cmocka_unit_test(test_key_over_the_buffer_is_too_long),
        cmocka_unit_test(test_safe_addresses_exclude_what_breaks_a_header),
        cmocka_unit_test(test_null_sender_in_every_spelling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
