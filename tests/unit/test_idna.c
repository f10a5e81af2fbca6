/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_idna.c - Punycode (RFC 3492 section 7.1 sample strings) and the
 * ASCII form of domains (whole addresses: test_addr.c)
 */
#include "config.h"

#include "testutil.h"
#include "ses_idna.h"

#include <strings.h>

#define CP_MAX 64

static const struct {
    const char *name;
    uint32_t cp[CP_MAX];
    size_t n;
    const char *punycode; /* RFC 3492 7.1, compared case-insensitively
                             because the RFC shows mixed-case annotation */
} rfc3492[] = {
    {"(A) Arabic (Egyptian)",
     {0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643, 0x0644,
      0x0645, 0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064A, 0x061F},
     17,
     "egbpdaj6bu4bxfgehfvwxn"},
    {"(B) Chinese (simplified)",
     {0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D, 0x6587},
     9,
     "ihqwcrb4cv8a8dqg056pqjye"},
    {"(C) Chinese (traditional)",
     {0x4ED6, 0x5011, 0x7232, 0x4EC0, 0x9EBD, 0x4E0D, 0x8AAA, 0x4E2D, 0x6587},
     9,
     "ihqwctvzc91f659drss3x8bo0yb"},
    {"(D) Czech",
     {0x0050, 0x0072, 0x006F, 0x010D, 0x0070, 0x0072, 0x006F, 0x0073,
      0x0074, 0x011B, 0x006E, 0x0065, 0x006D, 0x006C, 0x0075, 0x0076,
      0x00ED, 0x010D, 0x0065, 0x0073, 0x006B, 0x0079},
     22,
     "Proprostnemluvesky-uyb24dma41a"},
    {"(I) Russian (Cyrillic)",
     {0x043F, 0x043E, 0x0447, 0x0435, 0x043C, 0x0443, 0x0436,
      0x0435, 0x043E, 0x043D, 0x0438, 0x043D, 0x0435, 0x0433,
      0x043E, 0x0432, 0x043E, 0x0440, 0x044F, 0x0442, 0x043F,
      0x043E, 0x0440, 0x0443, 0x0441, 0x0441, 0x043A, 0x0438},
     28,
     "b1abfaaepdrnnbgefbaDotcwatmq2g4l"},
    {"(L) 3<nen>B<gumi><kinpachi><sensei>",
     {0x0033, 0x5E74, 0x0042, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F},
     8,
     "3B-ww4c5e180e575a65lsy2b"},
    {"(M) <amuro><namie>-with-SUPER-MONKEYS",
     {0x5B89, 0x5BA4, 0x5948, 0x7F8E, 0x6075, '-', 'w', 'i',
      't',    'h',    '-',    'S',    'U',    'P', 'E', 'R',
      '-',    'M',    'O',    'N',    'K',    'E', 'Y', 'S'},
     24,
     "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"},
    {"(R) <sono><supiido><de>",
     {0x305D, 0x306E, 0x30B9, 0x30D4, 0x30FC, 0x30C9, 0x3067},
     7,
     "d9juau41awczczp"},
    {"(S) -> $1.00 <-",
     {'-', '>', ' ', '$', '1', '.', '0', '0', ' ', '<', '-'},
     11,
     "-> $1.00 <--"},
};

static void test_punycode_encodes_the_rfc3492_sample_strings(void **state)
{
    char out[128];

    for (size_t i = 0; i < sizeof(rfc3492) / sizeof(rfc3492[0]); i++) {
        assert_int_equal(
            idna_punycode_encode(rfc3492[i].cp, rfc3492[i].n, out, sizeof(out)),
            IDNA_OK);
        if (strcasecmp(out, rfc3492[i].punycode) != 0)
            fail_msg("%s: got %s, want %s", rfc3492[i].name, out,
                     rfc3492[i].punycode);
    }
}

static void test_punycode_keeps_basic_code_points_as_written(void **state)
{
    char out[64];

    /* basic code points are copied verbatim, case included (RFC 3492 5) */
    assert_int_equal(
        idna_punycode_encode(rfc3492[3].cp, rfc3492[3].n, out, sizeof(out)),
        IDNA_OK);
    assert_string_equal(out, "Proprostnemluvesky-uyb24dma41a");
}

static void test_punycode_reports_a_short_output_buffer(void **state)
{
    char out[8];

    assert_int_equal(
        idna_punycode_encode(rfc3492[0].cp, rfc3492[0].n, out, sizeof(out)),
        IDNA_TOO_LONG);
}

static const struct {
    const char *in;
    idna_status_t st;
    const char *out;
} domains[] = {
    {"example.com", IDNA_OK, "example.com"},
    {"b\xc3\xbc"
     "cher.example",
     IDNA_OK, "xn--bcher-kva.example"},
    {"M\xc3\xbcnchen.example", IDNA_OK, "xn--mnchen-3ya.example"},
    {"\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", IDNA_OK,
     "xn--r8jz45g.xn--zckzah"},
    /* U+3002 IDEOGRAPHIC FULL STOP separates labels */
    {"b\xc3\xbc"
     "cher\xe3\x80\x82"
     "example",
     IDNA_OK, "xn--bcher-kva.example"},
    {"b\xc3\xbc"
     "cher.example.",
     IDNA_OK, "xn--bcher-kva.example."},
    {"bad\xc3(.example", IDNA_BAD_UTF8, NULL},
    {"overlong\xc0\xaf.example", IDNA_BAD_UTF8, NULL},
    {"surrogate\xed\xa0\x80.example", IDNA_BAD_UTF8, NULL},
    {"truncated\xe4\xbe", IDNA_BAD_UTF8, NULL},
};

static void test_domains_become_ace_labels(void **state)
{
    char out[300];

    for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
        idna_status_t st =
            idna_domain_to_ascii(domains[i].in, out, sizeof(out));
        if (st != domains[i].st)
            fail_msg("domain %zu: status %d, want %d", i, st, domains[i].st);
        if (domains[i].out)
            assert_string_equal(out, domains[i].out);
    }
}

static void test_domain_over_63_octet_label_is_too_long(void **state)
{
    char in[300], out[300];

    /* 30 different CJK ideographs need 68 octets once encoded */
    char *p = in;
    for (uint32_t i = 0; i < 30; i++) {
        uint32_t c = 0x4E00 + i * 37;
        *p++ = (char)(0xE0 | (c >> 12));
        *p++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *p++ = (char)(0x80 | (c & 0x3F));
    }
    strcpy(p, ".example");
    assert_int_equal(idna_domain_to_ascii(in, out, sizeof(out)), IDNA_TOO_LONG);
    memset(in, 'a', 64);
    strcpy(in + 64, ".example");
    assert_int_equal(idna_domain_to_ascii(in, out, sizeof(out)), IDNA_TOO_LONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_punycode_encodes_the_rfc3492_sample_strings),
        cmocka_unit_test(test_punycode_keeps_basic_code_points_as_written),
        cmocka_unit_test(test_punycode_reports_a_short_output_buffer),
        cmocka_unit_test(test_domains_become_ace_labels),
        cmocka_unit_test(test_domain_over_63_octet_label_is_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
