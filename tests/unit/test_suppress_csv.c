/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_suppress_csv.c - CSV lines, import with bad lines, export, rates
 */
#include "config.h"

#include "testutil.h"
#include "ses_suppress_csv.h"
#include "ses_suppress_report.h"

#include <fcntl.h>
#include <ftw.h>

static void test_lines_parse_or_say_why(void **state)
{
    static const struct {
        const char *line;
        const char *addr; /* NULL: refused */
        supp_reason_t reason;
        int64_t when;
        const char *why;
    } cases[] = {
        {"a@example.com,bounce", "a@example.com", SUPP_BOUNCE, 1000, NULL},
        {"A@Example.com,COMPLAINT,1700000000", "A@Example.com", SUPP_COMPLAINT,
         1700000000, NULL},
        {" b@example.com , manual , 2024-05-01T10:00:00Z ", "b@example.com",
         SUPP_MANUAL, 1714557600, NULL},
        {"\"c@example.com\",\"bounce\",", "c@example.com", SUPP_BOUNCE, 1000,
         NULL},
        {"d@example.com", NULL, 0, 0, "no reason"},
        {"d@example.com,spam", NULL, 0, 0, "not bounce, complaint or manual"},
        {"not-an-address,bounce", NULL, 0, 0, "not an email address"},
        {"e@example.com,bounce,yesterday", NULL, 0, 0, "neither unix"},
        {"f@example.com,bounce,1,extra", NULL, 0, 0, "more than three"},
        {"\"g@example.com,bounce", NULL, 0, 0, "bad quoting"},
        {"h i@example.com,bounce", NULL, 0, 0, "not an email address"},
        {"@example.com,bounce", NULL, 0, 0, "not an email address"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char addr[400], err[256];
        supp_reason_t reason = 0;
        int64_t when = 0;
        int rc = suppress_csv_parse(cases[i].line, addr, sizeof(addr), &reason,
                                    &when, 1000, err, sizeof(err));
        if (cases[i].addr) {
            if (rc != 0)
                fail_msg("\"%s\": %s", cases[i].line, err);
            assert_string_equal(addr, cases[i].addr);
            assert_int_equal(reason, cases[i].reason);
            assert_int_equal(when, cases[i].when);
        } else if (rc != -1 || strstr(err, cases[i].why) == NULL) {
            fail_msg("\"%s\": rc %d, \"%s\" (want \"%s\")", cases[i].line, rc,
                     rc ? err : "", cases[i].why);
        }
    }
}

typedef struct {
    size_t lines[16];
    int n;
} bad_t;

static void on_bad(void *ctx, size_t lineno, const char *why)
{
    bad_t *b = ctx;

    (void)why;
    b->lines[b->n++] = lineno;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
    (void)sb;
    (void)f;
    (void)ftw;
    return remove(p);
}

static void test_import_skips_bad_lines_by_number(void **state)
{
    char dir[] = "/tmp/ses-csv.XXXXXX", data[300], longline[6000], err[256];
    const char *csv = "address,reason,timestamp\n"
                      "z@example.com,bounce,1700000000\n"
                      "# a comment\n"
                      "broken line\n"
                      "\n"
                      "Y@example.com,complaint\r\n"
                      "x@example.com,manual,garbage\n";
    store_t *st = NULL;
    import_stats_t stats;
    suppression_t s;
    bad_t bad = {{0}, 0};
    FILE *fp;
    char *path;
    int fd;

    assert_non_null(mkdtemp(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    assert_int_equal(store_open(data, STORE_READWRITE, &st, err, sizeof(err)),
                     STORE_OK);
    memset(longline, 'a', sizeof(longline) - 2);
    longline[sizeof(longline) - 2] = '\n';
    longline[sizeof(longline) - 1] = '\0';
    path = tu_write_str(csv);
    fp = fopen(path, "a");
    fputs(longline, fp);
    fputs("w@example.com,bounce", fp); /* no final newline */
    fclose(fp);
    fd = open(path, O_RDONLY);
    assert_int_equal(
        suppress_import(st, fd, 5000, on_bad, &bad, &stats, err, sizeof(err)),
        STORE_OK);
    close(fd);
    assert_int_equal(stats.imported, 3);
    assert_int_equal(stats.bad, 3);
    assert_int_equal(bad.n, 3);
    assert_int_equal(bad.lines[0], 4);
    assert_int_equal(bad.lines[1], 7);
    assert_int_equal(bad.lines[2], 8);
    assert_int_equal(store_suppression_get(st, "y@example.com", &s), STORE_OK);
    assert_int_equal(s.reason, SUPP_COMPLAINT);
    assert_int_equal(s.source, SUPP_SRC_IMPORT);
    assert_int_equal(s.first, 5000);
    assert_int_equal(store_suppression_get(st, "z@example.com", &s), STORE_OK);
    assert_int_equal(s.first, 1700000000);
    assert_int_equal(store_suppression_get(st, "w@example.com", &s), STORE_OK);
    /* importing the same file again changes no entry */
    fd = open(path, O_RDONLY);
    assert_int_equal(
        suppress_import(st, fd, 9000, NULL, NULL, &stats, err, sizeof(err)),
        STORE_OK);
    close(fd);
    assert_int_equal(store_suppression_get(st, "z@example.com", &s), STORE_OK);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.first, 1700000000);
    store_close(st);
    unlink(path);
    free(path);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_export_line_round_trips(void **state)
{
    suppression_t s = {SUPP_COMPLAINT, SUPP_SRC_FEEDBACK, 1, 1714557600, 2};
    char addr[400], err[256];
    supp_reason_t reason;
    int64_t when;
    buf_t b;

    buf_init(&b, 0);
    assert_int_equal(suppress_export_line(&b, "a@example.com", &s), 0);
    assert_string_equal(b.data, "a@example.com,complaint,"
                                "2024-05-01T10:00:00Z\n");
    b.data[b.len - 1] = '\0';
    assert_int_equal(suppress_csv_parse(b.data, addr, sizeof(addr), &reason,
                                        &when, 0, err, sizeof(err)),
                     0);
    assert_string_equal(addr, "a@example.com");
    assert_int_equal(reason, SUPP_COMPLAINT);
    assert_int_equal(when, 1714557600);
    buf_free(&b);
}

static void test_rates_flag_ses_review_thresholds(void **state)
{
    static const struct {
        uint64_t sent, delivered, bounce, complaint;
        int bw, cw;
    } cases[] = {
        {1000, 0, 49, 0, 0, 0}, /* 4.9 % */
        {1000, 0, 50, 0, 1, 0}, /* 5 %: review */
        {1000, 0, 0, 1, 0, 1},  /* 0.1 %: review */
        {10000, 0, 0, 9, 0, 0}, /* 0.09 % */
        {0, 0, 0, 0, 0, 0},     /* nothing sent: no rate */
        {0, 90, 10, 0, 1, 0},   /* base from notifications */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t c[STAT__COUNT] = {0};
        report_rates_t r;
        c[STAT_SENT] = cases[i].sent;
        c[STAT_DELIVERED] = cases[i].delivered;
        c[STAT_BOUNCE] = cases[i].bounce;
        c[STAT_COMPLAINT] = cases[i].complaint;
        suppress_report_rates(c, &r);
        if (r.bounce_warning != cases[i].bw ||
            r.complaint_warning != cases[i].cw)
            fail_msg("case %zu: warnings %d/%d", i, r.bounce_warning,
                     r.complaint_warning);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_parse_or_say_why),
        cmocka_unit_test(test_import_skips_bad_lines_by_number),
        cmocka_unit_test(test_export_line_round_trips),
        cmocka_unit_test(test_rates_flag_ses_review_thresholds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
