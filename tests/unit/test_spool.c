/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_spool.c - spooling messages: CRLF, headers, memory and file
 */
#include "config.h"

#include "testutil.h"
#include "ses_spool.h"

#include <fcntl.h>

static char *read_all(spool_t *s)
{
    size_t n = spool_size(s);
    char *p = malloc(n + 1);

    assert_int_equal(spool_pread(s, p, n, 0), (ssize_t)n);
    p[n] = '\0';
    return p;
}

static void test_bare_lf_becomes_crlf(void **state)
{
    spool_t *s = spool_new(1 << 20, 0);
    char *p;

    /* split across writes, including between CR and LF */
    assert_int_equal(spool_write(s, "A: 1\nB: 2\r", 10), 0);
    assert_int_equal(spool_write(s, "\n\nbody\n", 7), 0);
    assert_int_equal(spool_finish(s), 0);
    p = read_all(s);
    assert_string_equal(p, "A: 1\r\nB: 2\r\n\r\nbody\r\n");
    free(p);
    spool_free(s);
}

static void test_headers_are_found_unfolded(void **state)
{
    static const char msg[] = "From: a@example.com\n"
                              "X-SES-MESSAGE-TAGS: a=1,\n"
                              "\tb=2\n"
                              "x-ses-configuration-set:  marketing \n"
                              "\n"
                              "X-Not-A-Header: body\n";
    spool_t *s = spool_new(1 << 20, 0);
    char v[256];

    spool_write(s, msg, sizeof(msg) - 1);
    spool_finish(s);
    assert_string_equal(
        spool_header(s, "X-SES-CONFIGURATION-SET", v, sizeof(v)), "marketing");
    assert_string_equal(spool_header(s, "x-ses-message-tags", v, sizeof(v)),
                        "a=1,\tb=2");
    assert_null(spool_header(s, "X-Not-A-Header", v, sizeof(v)));
    spool_free(s);
}

static void test_headers_beyond_the_kept_bound_are_not_seen(void **state)
{
    spool_t *s = spool_new(4 << 20, 0);
    char filler[1000], v[64];
    size_t sent = 0;

    memset(filler, 'x', sizeof(filler));
    spool_write(s, "Subject: first\n", 15);
    while (sent < SPOOL_MAX_HEADER) { /* X-Filler: xxx... lines */
        spool_write(s, "X-Filler: ", 10);
        spool_write(s, filler, sizeof(filler));
        spool_write(s, "\n", 1);
        sent += sizeof(filler) + 11;
    }
    spool_write(s, "X-Late: beyond the bound\n\nbody\n", 31);
    spool_finish(s);
    assert_string_equal(spool_header(s, "Subject", v, sizeof(v)), "first");
    assert_null(spool_header(s, "X-Late", v, sizeof(v)));
    /* the message itself is whole: only the header copy is bounded */
    assert_true(spool_size(s) > SPOOL_MAX_HEADER);
    spool_free(s);
}

static void test_large_message_moves_to_a_file(void **state)
{
    spool_t *s = spool_new(8 << 20, 64 * 1024);
    char line[1001];

    memset(line, 'x', 999);
    line[999] = '\n';
    for (int i = 0; i < 5000; i++)
        assert_int_equal(spool_write(s, line, 1000), 0);
    assert_int_equal(spool_finish(s), 0);
    assert_false(spool_in_memory(s));
    assert_int_equal(spool_size(s), 5000 * 1001);
    {
        char tail[4];
        assert_int_equal(spool_pread(s, tail, 4, spool_size(s) - 4), 4);
        assert_memory_equal(tail, "xx\r\n", 4);
    }
    spool_free(s);
}

static void test_oversized_message_is_flagged(void **state)
{
    spool_t *s = spool_new(1000, 0);
    char buf[600];

    memset(buf, 'a', sizeof(buf));
    spool_write(s, buf, sizeof(buf));
    assert_false(spool_too_large(s));
    spool_write(s, buf, sizeof(buf));
    spool_finish(s);
    assert_true(spool_too_large(s));
    assert_int_equal(spool_size(s), 1000);
    assert_int_equal(spool_seen(s), 1200);
    spool_free(s);
}

/* A message that fits with LF line ends but not once each LF became
 * CRLF: as many bytes stored as were offered, yet the end was cut. */
static void test_message_cut_by_added_crs_is_flagged(void **state)
{
    spool_t *s = spool_new(100, 0);
    char buf[80];

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = i % 4 == 3 ? '\n' : 'x'; /* 20 bare LFs: 100 bytes CRLF */
    spool_write(s, buf, sizeof(buf));
    spool_write(s, "tail\n", 5);
    spool_finish(s);
    assert_int_equal(spool_seen(s), 85);
    assert_int_equal(spool_size(s), 100);
    assert_true(spool_too_large(s));
    spool_free(s);
    /* exactly at the limit after CRLF: whole, not cut */
    s = spool_new(100, 0);
    spool_write(s, buf, sizeof(buf));
    spool_finish(s);
    assert_int_equal(spool_size(s), 100);
    assert_false(spool_too_large(s));
    spool_free(s);
}

/* The whole stored message, for comparisons. */
static char *spool_text(spool_t *s)
{
    char *t = calloc(1, spool_size(s) + 1);

    assert_non_null(t);
    assert_int_equal(spool_pread(s, t, spool_size(s), 0),
                     (ssize_t)spool_size(s));
    return t;
}

/* The second and later DKIM-Signature and Delivered-To fields get
 * "X-Original-"; the first of each, continuation lines, other fields and
 * the body (where a line may look like a header) stay as they were; in
 * memory and in a file alike. */
static void test_repeated_fields_renamed(void **state)
{
    static const char *const names[] = {"DKIM-Signature", "Delivered-To", NULL};
    static const char in[] =
        "DKIM-Signature: v=1; d=ours.example;\r\n\tb=AAAA\r\n"
        "Delivered-To: a@example.net\r\n"
        "dkim-signature : v=1; d=upstream.example;\r\n b=BBBB\r\n"
        "Delivered-To: b@example.net\r\n"
        "Subject: hi\r\n\r\n"
        "DKIM-Signature: a body line\r\n";
    static const char want[] =
        "DKIM-Signature: v=1; d=ours.example;\r\n\tb=AAAA\r\n"
        "Delivered-To: a@example.net\r\n"
        "X-Original-dkim-signature : v=1; d=upstream.example;\r\n b=BBBB\r\n"
        "X-Original-Delivered-To: b@example.net\r\n"
        "Subject: hi\r\n\r\n"
        "DKIM-Signature: a body line\r\n";
    char hv[128];
    static const size_t mems[] = {16, SPOOL_DEFAULT_MEM}; /* file, memory */

    (void)state;

    for (size_t i = 0; i < 2; i++) {
        size_t mem = mems[i];
        spool_t *s = spool_new(1 << 20, mem);
        char *t;
        spool_write(s, in, sizeof(in) - 1);
        assert_int_equal(spool_finish(s), 0);
        assert_int_equal(spool_in_memory(s), mem > 16);
        assert_int_equal(spool_rename_repeats(s, names, "X-Original-"), 2);
        t = spool_text(s);
        assert_string_equal(t, want);
        assert_int_equal(spool_size(s), sizeof(want) - 1);
        free(t);
        assert_non_null(
            spool_header(s, "X-Original-Delivered-To", hv, sizeof(hv)));
        assert_string_equal(hv, "b@example.net");
        assert_non_null(spool_header(s, "Subject", hv, sizeof(hv)));
        /* nothing repeats any more */
        assert_int_equal(spool_rename_repeats(s, names, "X-Original-"), 0);
        spool_free(s);
    }
}

static void test_spool_from_fd_reports_too_large(void **state)
{
    char *path =
        tu_write_str("Subject: x\n\n0123456789012345678901234567890\n");
    int fd = open(path, O_RDONLY);
    spool_t *s = spool_new(20, 0);
    char err[256];

    assert_int_equal(spool_from_fd(s, fd, err, sizeof(err)), ST_PERM_TOO_LARGE);
    assert_non_null(strstr(err, "exceeds fixed limit"));
    close(fd);
    unlink(path);
    free(path);
    spool_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare_lf_becomes_crlf),
        cmocka_unit_test(test_headers_are_found_unfolded),
        cmocka_unit_test(test_headers_beyond_the_kept_bound_are_not_seen),
        cmocka_unit_test(test_large_message_moves_to_a_file),
        cmocka_unit_test(test_oversized_message_is_flagged),
        cmocka_unit_test(test_message_cut_by_added_crs_is_flagged),
        cmocka_unit_test(test_repeated_fields_renamed),
        cmocka_unit_test(test_spool_from_fd_reports_too_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
