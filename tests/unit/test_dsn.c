/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_dsn.c - RFC 3464 reports and their injection through sendmail
 */
#include "config.h"

#include "testutil.h"
#include "ses_dsn.h"

#include <sys/stat.h>

static const dsn_rcpt_t rcpt_bob = {
    "bob@example.net", "5.1.1",
    "smtp; 550 5.1.1 <bob@example.net>... User unknown", "192.0.2.25",
    1714557605};

static const dsn_header_t orig_headers[] = {
    {"From", "Alice <alice@sender.example>"},
    {"Subject", "Quarterly figures"},
    {"Message-ID", "<20240501100000.ABC123@mta.sender.example>"},
};

static dsn_t base_dsn(void)
{
    dsn_t d;

    memset(&d, 0, sizeof(d));
    d.reporting_mta = "mta.sender.example";
    d.sender = "alice@sender.example";
    d.queue_id = "4VtXyZ1abcD";
    d.message_id = "0100018f-ses-id";
    d.arrival = 1714557600;
    d.now = 1714557700;
    d.permanent = 1;
    d.rcpts = &rcpt_bob;
    d.nrcpts = 1;
    d.headers = orig_headers;
    d.nheaders = 3;
    return d;
}

static char *build(const dsn_t *d)
{
    char err[256];
    buf_t b;

    buf_init(&b, 0);
    if (dsn_build(d, &b, err, sizeof(err)) != 0)
        fail_msg("dsn_build: %s", err);
    return buf_steal(&b);
}

static void assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("missing \"%s\" in:\n%s", needle, text);
}

static void test_report_has_the_three_parts_and_fields(void **state)
{
    dsn_t d = base_dsn();
    char *m = build(&d);

    assert_has(m, "To: alice@sender.example\n");
    assert_has(m, "From: MAILER-DAEMON@mta.sender.example");
    assert_has(m, "Auto-Submitted: auto-replied\n");
    assert_has(m, "Content-Type: multipart/report; "
                  "report-type=delivery-status;");
    assert_has(m, "Content-Type: text/plain; charset=us-ascii");
    assert_has(m, "Content-Type: message/delivery-status\n\n"
                  "Reporting-MTA: dns; mta.sender.example\n");
    assert_has(m, "X-Postfix-Queue-ID: 4VtXyZ1abcD\n");
    assert_has(m, "Arrival-Date: Wed, 01 May 2024 10:00:00 +0000\n");
    assert_has(m, "\nFinal-Recipient: rfc822; bob@example.net\n"
                  "Action: failed\nStatus: 5.1.1\n"
                  "Remote-MTA: dns; [192.0.2.25]\n"
                  "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>... "
                  "User unknown\n");
    assert_has(m, "Content-Type: text/rfc822-headers\n\n"
                  "From: Alice <alice@sender.example>\n"
                  "Subject: Quarterly figures\n");
    assert_null(strstr(m, "Original-Envelope-Id")); /* not known */
    free(m);
}

static void test_default_status_follows_permanence(void **state)
{
    dsn_rcpt_t r = {"x@example.net", "not-a-status", NULL, NULL, 0};
    dsn_t d = base_dsn();
    char *m;

    d.rcpts = &r;
    m = build(&d);
    assert_has(m, "Status: 5.0.0\n");
    assert_null(strstr(m, "Remote-MTA"));
    free(m);
    d.permanent = 0;
    m = build(&d);
    assert_has(m, "Status: 4.0.0\n");
    free(m);
}

static void test_outside_values_cannot_add_lines_or_parts(void **state)
{
    static const dsn_header_t evil[] = {
        {"Subject", "hi\r\nX-Injected: yes\r\n\r\n--boundary"},
        {"Bad Name", "dropped"},
        {"--x", "a name that looks like a boundary is still a header"},
        {"X-Utf8", "caf\xc3\xa9"},
    };
    dsn_rcpt_t r = {"bob@example.net", "5.1.1", "smtp; 550\r\nX-Evil: 1",
                    "mx.example.net\nX-Evil: 2", 0};
    dsn_t d = base_dsn();
    char *m, *line;

    d.headers = evil;
    d.nheaders = 4;
    d.rcpts = &r;
    m = build(&d);
    assert_null(strstr(m, "\nX-Injected"));
    assert_null(strstr(m, "\nX-Evil"));
    assert_null(strstr(m, "Bad Name"));
    assert_null(strstr(m, "\r"));
    assert_has(m, "X-Utf8: caf??\n");
    for (line = m; *line; line++)
        if ((unsigned char)*line > 0x7e)
            fail_msg("non-ASCII byte in the report");
    for (line = strtok(m, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(strlen(line) < 998);
    free(m);
}

static void test_unusable_sender_or_no_recipient_is_refused(void **state)
{
    static const char *bad[] = {
        "", "<>", "-oQ/tmp@x", "a b@example.com", "no-at-sign", "a@b\n"};
    dsn_t d = base_dsn();
    char err[256];
    buf_t b;

    buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d.sender = bad[i];
        if (dsn_build(&d, &b, err, sizeof(err)) != -1)
            fail_msg("sender \"%s\" accepted", bad[i]);
    }
    d = base_dsn();
    d.nrcpts = 0;
    assert_int_equal(dsn_build(&d, &b, err, sizeof(err)), -1);
    buf_free(&b);
}

/* A sendmail stand-in: records its arguments and input, exits $RC. */
static char *fake_sendmail(const char *dir, const char *body)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/sendmail", dir);
    fp = fopen(path, "w");
    fprintf(fp, "#!/bin/sh\n%s\n", body);
    fclose(fp);
    chmod(path, 0755);
    return strdup(path);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf = calloc(1, 65536);

    if (fp) {
        fread(buf, 1, 65535, fp);
        fclose(fp);
    }
    return buf;
}

static void test_sendmail_gets_null_sender_and_the_message(void **state)
{
    char dir[] = "/tmp/ses-dsn.XXXXXX", body[1024], err[256], *sm, *args, *in;

    assert_non_null(mkdtemp(dir));
    snprintf(body, sizeof(body),
             "for a in \"$@\"; do echo \"$a\"; done > %s/args\n"
             "cat > %s/in\nexit 0",
             dir, dir);
    sm = fake_sendmail(dir, body);
    assert_int_equal(dsn_send(sm, "alice@sender.example", "Subject: x\n\nhi\n",
                              16, 5000, err, sizeof(err)),
                     ST_OK);
    snprintf(body, sizeof(body), "%s/args", dir);
    args = slurp(body);
    assert_string_equal(args, "-i\n-f\n<>\n--\nalice@sender.example\n");
    snprintf(body, sizeof(body), "%s/in", dir);
    in = slurp(body);
    assert_string_equal(in, "Subject: x\n\nhi\n");
    free(args);
    free(in);
    free(sm);
    snprintf(body, sizeof(body), "rm -rf %s", dir);
    assert_int_equal(system(body), 0);
}

static void test_sendmail_failure_or_hang_is_temporary(void **state)
{
    char dir[] = "/tmp/ses-dsn.XXXXXX", err[256], cmd[300], *sm;

    assert_non_null(mkdtemp(dir));
    sm = fake_sendmail(dir, "cat >/dev/null; exit 75");
    assert_int_equal(
        dsn_send(sm, "a@example.com", "x\n", 2, 5000, err, sizeof(err)),
        ST_TEMP_RESOURCE);
    assert_non_null(strstr(err, "exited with status 75"));
    free(sm);
    sm = fake_sendmail(dir, "exec sleep 30");
    assert_int_equal(
        dsn_send(sm, "a@example.com", "x\n", 2, 300, err, sizeof(err)),
        ST_TEMP_RESOURCE);
    assert_non_null(strstr(err, "killed"));
    free(sm);
    assert_int_equal(dsn_send("/nonexistent/sendmail", "a@example.com", "x\n",
                              2, 5000, err, sizeof(err)),
                     ST_TEMP_RESOURCE);
    assert_int_equal(dsn_send("relative/sendmail", "a@example.com", "x\n", 2,
                              5000, err, sizeof(err)),
                     ST_TEMP_CONFIG);
    /* an option-looking recipient never reaches the command line */
    assert_int_equal(dsn_send("/bin/true", "-oQ/tmp@example.com", "x\n", 2,
                              5000, err, sizeof(err)),
                     ST_PERM_BAD_ADDRESS);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_has_the_three_parts_and_fields),
        cmocka_unit_test(test_default_status_follows_permanence),
        cmocka_unit_test(test_outside_values_cannot_add_lines_or_parts),
        cmocka_unit_test(test_unusable_sender_or_no_recipient_is_refused),
        cmocka_unit_test(test_sendmail_gets_null_sender_and_the_message),
        cmocka_unit_test(test_sendmail_failure_or_hang_is_temporary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
