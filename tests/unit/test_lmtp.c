/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_lmtp.c - the LMTP server session, driven as a client would drive
 * it: a real lmtp_serve() in a thread on one end of a socketpair, the test
 * writing commands and reading replies on the other end
 */
#include "config.h"

#include "testutil.h"
#include "ses_lmtp.h"
#include "ses_util.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

/* ---- a server in a thread, with a recording deliver() ---- */

typedef struct {
    int fd, stop[2];
    pthread_t th;
    lmtp_limits_t lim;
    lmtp_handler_t h;
    lmtp_end_t end;
    /* what deliver() saw */
    int deliveries;
    char sender[600];
    char rcpts[8][600];
    size_t nrcpts;
    char qid[64];
    char *message;
    size_t message_len;
    /* client side */
    int cfd;
    char in[1 << 16];
    size_t inlen;
    int reads;
} srv_t;

/* Outcome by recipient: "bad..." is rejected, "later..." deferred. */
static void rec_deliver(void *ud, const lmtp_txn_t *t, lmtp_reply_t *rep)
{
    srv_t *s = ud;
    size_t n = spool_size(t->spool);

    s->deliveries++;
    snprintf(s->sender, sizeof(s->sender), "%s", t->sender);
    s->nrcpts = t->nrcpts;
    for (size_t i = 0; i < t->nrcpts && i < 8; i++)
        snprintf(s->rcpts[i], sizeof(s->rcpts[i]), "%s", t->rcpts[i]);
    snprintf(s->qid, sizeof(s->qid), "%s", t->queue_id ? t->queue_id : "");
    free(s->message);
    s->message = malloc(n + 1);
    assert_int_equal(spool_pread(t->spool, s->message, n, 0), (ssize_t)n);
    s->message[n] = '\0';
    s->message_len = n;
    for (size_t i = 0; i < t->nrcpts; i++) {
        if (strncmp(t->rcpts[i], "bad", 3) == 0) {
            rep[i].status = ST_PERM_REJECTED;
            snprintf(rep[i].text, sizeof(rep[i].text),
                     "SES 400 MessageRejected: Email address is not verified");
        } else if (strncmp(t->rcpts[i], "later", 5) == 0) {
            rep[i].status = ST_TEMP_SERVER;
            snprintf(rep[i].text, sizeof(rep[i].text), "SES 503");
        } else {
            rep[i].status = ST_OK;
            snprintf(rep[i].text, sizeof(rep[i].text),
                     "Ok: queued as SES-%d-%zu", s->deliveries, i);
        }
    }
}

static void *srv_main(void *ud)
{
    srv_t *s = ud;

    s->end = lmtp_serve(s->fd, s->stop[0], &s->lim, &s->h);
    close(s->fd);
    return NULL;
}

static srv_t *srv_start(size_t max_message, size_t max_rcpts)
{
    srv_t *s = calloc(1, sizeof(*s));
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pipe(s->stop), 0);
    s->fd = sv[0];
    s->cfd = sv[1];
    s->lim.max_message = max_message;
    s->lim.max_rcpts = max_rcpts;
    s->lim.timeout_ms = 10000;
    s->lim.hostname = "relay.test";
    s->h.deliver = rec_deliver;
    s->h.ud = s;
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
    return s;
}

static lmtp_end_t srv_finish(srv_t *s)
{
    lmtp_end_t e;

    close(s->cfd);
    pthread_join(s->th, NULL);
    e = s->end;
    close(s->stop[0]);
    close(s->stop[1]);
    free(s->message);
    free(s);
    return e;
}

static void cl_send(srv_t *s, const char *data, size_t len)
{
    assert_int_equal(write_all(s->cfd, data, len), 0);
}

static void cl_puts(srv_t *s, const char *str)
{
    cl_send(s, str, strlen(str));
}

/* Reads until `n` complete replies (last line "NNN text") are buffered;
 * returns them as one string and removes them from the buffer. */
static char *cl_replies(srv_t *s, int n)
{
    static char out[1 << 16];

    for (;;) {
        int have = 0;
        size_t end = 0;
        for (size_t i = 0; i < s->inlen; i++) {
            size_t ls = i;
            char *nl = memchr(s->in + i, '\n', s->inlen - i);
            if (nl == NULL)
                break;
            i = (size_t)(nl - s->in);
            if (i - ls >= 4 && s->in[ls + 3] == ' ' && ++have == n) {
                end = i + 1;
                break;
            }
        }
        if (end) {
            memcpy(out, s->in, end);
            out[end] = '\0';
            memmove(s->in, s->in + end, s->inlen - end);
            s->inlen -= end;
            return out;
        }
        {
            ssize_t r =
                read(s->cfd, s->in + s->inlen, sizeof(s->in) - 1 - s->inlen);
            if (r <= 0) {
                s->in[s->inlen] = '\0';
                fail_msg("connection ended waiting for %d replies; have: %s", n,
                         s->in);
            }
            s->inlen += (size_t)r;
            s->reads++;
        }
    }
}

static void expect(srv_t *s, const char *want)
{
    char *got = cl_replies(s, 1);

    if (strncmp(got, want, strlen(want)) != 0)
        fail_msg("want \"%s\", got \"%s\"", want, got);
}

static void greet(srv_t *s)
{
    expect(s, "220 relay.test LMTP");
    cl_puts(s, "LHLO client.test\r\n");
    expect(s, "250-relay.test\r\n");
}

/* MAIL, RCPT and DATA for one recipient, pipelined; the 354 is read. */
static void start_data(srv_t *s)
{
    cl_puts(s, "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n"
               "DATA\r\n");
    cl_replies(s, 3);
}

/* ---- tests ---- */

static void test_lhlo_announces_the_extensions(void **state)
{
    srv_t *s = srv_start(1000000, 100);
    char *r;

    expect(s, "220 ");
    cl_puts(s, "LHLO client.test\r\n");
    r = cl_replies(s, 1);
    assert_non_null(strstr(r, "250-PIPELINING\r\n"));
    assert_non_null(strstr(r, "250-ENHANCEDSTATUSCODES\r\n"));
    assert_non_null(strstr(r, "250-SIZE 1000000\r\n"));
    assert_non_null(strstr(r, "250-8BITMIME\r\n"));
    assert_non_null(strstr(r, "250-SMTPUTF8\r\n"));
    assert_non_null(strstr(r, "250 XFORWARD IDENT\r\n"));
    cl_puts(s, "QUIT\r\n");
    expect(s, "221 2.0.0");
    assert_int_equal(srv_finish(s), LMTP_END_QUIT);
}

static void test_pipelined_group_is_answered_in_order_in_one_write(void **state)
{
    srv_t *s = srv_start(1000000, 100);
    char *r;
    int reads;

    greet(s);
    reads = s->reads;
    cl_puts(s, "MAIL FROM:<alice@sender.example> SIZE=100 BODY=8BITMIME\r\n"
               "RCPT TO:<bob@example.net>\r\n"
               "RCPT TO:<carol@example.net>\r\n"
               "DATA\r\n");
    r = cl_replies(s, 4);
    assert_string_equal(r, "250 2.1.0 Ok\r\n"
                           "250 2.1.5 Ok\r\n"
                           "250 2.1.5 Ok\r\n"
                           "354 End data with <CR><LF>.<CR><LF>\r\n");
    assert_int_equal(s->reads - reads, 1); /* one segment for the group */
    cl_puts(s, "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    r = cl_replies(s, 3);
    assert_string_equal(r, "250 2.0.0 Ok: queued as SES-1-0\r\n"
                           "250 2.0.0 Ok: queued as SES-1-1\r\n"
                           "221 2.0.0 Bye\r\n");
    assert_string_equal(s->sender, "alice@sender.example");
    assert_int_equal(s->nrcpts, 2);
    assert_string_equal(s->rcpts[1], "carol@example.net");
    assert_string_equal(s->message, "Subject: hi\r\n\r\nbody\r\n");
    assert_int_equal(srv_finish(s), LMTP_END_QUIT);
}

static void test_each_recipient_gets_its_own_reply(void **state)
{
    srv_t *s = srv_start(1000000, 100);
    char *r;

    greet(s);
    cl_puts(s, "MAIL FROM:<>\r\nRCPT TO:<ok@example.net>\r\n"
               "RCPT TO:<bad@example.net>\r\nRCPT TO:<later@example.net>\r\n"
               "DATA\r\n");
    cl_replies(s, 5);
    cl_puts(s, "Subject: x\r\n\r\n.\r\n");
    r = cl_replies(s, 3);
    assert_string_equal(
        r, "250 2.0.0 Ok: queued as SES-1-0\r\n"
           "554 5.7.1 SES 400 MessageRejected: Email address is not "
           "verified\r\n"
           "451 4.3.0 SES 503\r\n");
    assert_string_equal(s->sender, ""); /* the null sender is valid */
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_dot_unstuffing_and_end_marker(void **state)
{
    static const char wire[] = "..leading dot\r\n"
                               "...two dots\r\n"
                               "..\r\n"
                               "not.a.marker\r\n"
                               ". space after dot\r\n"
                               ".\rcr in line\r\n"
                               "last\r\n"
                               ".\r\n";
    static const char want[] = ".leading dot\r\n"
                               "..two dots\r\n"
                               ".\r\n"
                               "not.a.marker\r\n"
                               " space after dot\r\n"
                               "\rcr in line\r\n"
                               "last\r\n";
    srv_t *s = srv_start(1000000, 100);

    greet(s);
    start_data(s);
    /* byte by byte: every state change crosses a read */
    for (size_t i = 0; i < sizeof(wire) - 1; i++)
        cl_send(s, wire + i, 1);
    expect(s, "250 2.0.0 Ok: queued as SES-1-0");
    assert_string_equal(s->message, want);
    cl_puts(s, "NOOP\r\n");
    expect(s, "250 2.0.0 Ok");
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_bare_lf_end_marker_and_long_message_lines(void **state)
{
    srv_t *s = srv_start(1000000, 100);
    char *line = malloc(100002);

    memset(line, 'x', 100000);
    memcpy(line + 100000, "\n", 2);
    greet(s);
    cl_puts(s, "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.net>\nDATA\n");
    cl_replies(s, 3);
    cl_puts(s, "Subject: long\n\n");
    cl_puts(s, line);
    cl_puts(s, ".\n");
    expect(s, "250 2.0.0 Ok: queued as SES-1-0");
    assert_int_equal(s->message_len, 17 + 100002);
    assert_memory_equal(s->message + 17 + 99998, "xx\r\n", 4);
    free(line);
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_overlong_command_line_is_refused_and_skipped(void **state)
{
    srv_t *s = srv_start(1000000, 100);
    char *line = malloc(LMTP_MAX_LINE * 3);

    greet(s);
    memset(line, 'A', LMTP_MAX_LINE * 3 - 3);
    memcpy(line + LMTP_MAX_LINE * 3 - 3, "\r\n", 3);
    cl_puts(s, "MAIL FROM:<");
    cl_puts(s, line);
    cl_puts(s, "NOOP\r\n");
    expect(s, "500 5.5.2 Error: line too long");
    expect(s, "250 2.0.0 Ok"); /* the session is back in step */
    free(line);
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_recipients_beyond_the_limit_are_deferred(void **state)
{
    srv_t *s = srv_start(1000000, 2);
    char *r;

    greet(s);
    cl_puts(s, "MAIL FROM:<a@example.com>\r\nRCPT TO:<b1@example.net>\r\n"
               "RCPT TO:<b2@example.net>\r\nRCPT TO:<b3@example.net>\r\n"
               "DATA\r\n");
    r = cl_replies(s, 5);
    assert_non_null(strstr(r, "452 4.5.3 Error: too many recipients\r\n354"));
    cl_puts(s, "x\r\n.\r\n");
    cl_replies(s, 2); /* two replies: the third recipient was not taken */
    assert_int_equal(s->nrcpts, 2);
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_size_parameter_over_the_limit_is_refused(void **state)
{
    srv_t *s = srv_start(1000, 100);

    greet(s);
    cl_puts(s, "MAIL FROM:<a@example.com> SIZE=1001\r\n");
    expect(s, "552 5.3.4 Message size exceeds fixed limit of 1000 bytes");
    cl_puts(s, "MAIL FROM:<a@example.com> SIZE=1000\r\n");
    expect(s, "250 2.1.0");
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_message_over_the_limit_is_refused_per_recipient(void **state)
{
    srv_t *s = srv_start(1000, 100);
    char body[600];
    char *r;

    memset(body, 'y', sizeof(body) - 2);
    memcpy(body + sizeof(body) - 2, "\n", 2);
    greet(s);
    cl_puts(s, "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n"
               "RCPT TO:<c@example.net>\r\nDATA\r\n");
    cl_replies(s, 4);
    cl_puts(s, body);
    cl_puts(s, body);
    cl_puts(s, ".\r\n");
    r = cl_replies(s, 2);
    assert_string_equal(
        r, "552 5.3.4 Message size exceeds fixed limit of 1000 bytes\r\n"
           "552 5.3.4 Message size exceeds fixed limit of 1000 bytes\r\n");
    assert_int_equal(s->deliveries, 0);
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_sequence_errors_are_refused(void **state)
{
    srv_t *s = srv_start(1000, 100);

    expect(s, "220 ");
    cl_puts(s, "MAIL FROM:<a@example.com>\r\n");
    expect(s, "503 5.5.1 Error: send LHLO first");
    cl_puts(s, "EHLO client.test\r\n");
    expect(s, "500 5.5.1 Error: this is LMTP, use LHLO");
    cl_puts(s, "LHLO client.test\r\n");
    cl_replies(s, 1);
    cl_puts(s, "RCPT TO:<b@example.net>\r\nDATA\r\n");
    expect(s, "503 5.5.1 Error: need MAIL command");
    expect(s, "503 5.5.1 Error: need MAIL command");
    cl_puts(s, "MAIL FROM:<a@example.com>\r\nDATA\r\n");
    expect(s, "250 2.1.0");
    expect(s, "503 5.5.1 Error: no valid recipients");
    cl_puts(s, "MAIL FROM:<a@example.com>\r\n");
    expect(s, "503 5.5.1 Error: nested MAIL command");
    cl_puts(s, "RSET\r\nRCPT TO:<b@example.net>\r\n");
    expect(s, "250 2.0.0 Ok");
    expect(s, "503 5.5.1 Error: need MAIL command");
    cl_puts(s, "RCPT TO:<>\r\nMAIL FROM:a@example.com\r\nBDAT 10\r\n");
    expect(s, "503 5.5.1"); /* no transaction after RSET */
    expect(s, "501 5.1.7 Bad sender address syntax");
    expect(s, "500 5.5.2 Error: command not recognized");
    cl_puts(s, "MAIL FROM:<a@example.com> AUTH=<>\r\n");
    expect(s, "555 5.5.4 Unsupported MAIL FROM parameter AUTH");
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_too_many_errors_end_the_session(void **state)
{
    srv_t *s = srv_start(1000, 100);
    char *r;

    expect(s, "220 ");
    for (int i = 0; i < LMTP_MAX_ERRORS; i++)
        cl_puts(s, "BOGUS\r\n");
    r = cl_replies(s, LMTP_MAX_ERRORS + 1);
    assert_non_null(strstr(r, "421 4.7.0 relay.test Error: too many errors"));
    assert_int_equal(srv_finish(s), LMTP_END_ERRORS);
}

static void test_overlong_addresses_are_refused(void **state)
{
    srv_t *s = srv_start(1000, 100);
    char cmd[LMTP_MAX_ADDR + 64], local[LMTP_MAX_ADDR + 1];

    memset(local, 'a', sizeof(local) - 1);
    local[sizeof(local) - 1] = '\0';
    greet(s);
    snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s@x>\r\n", local);
    cl_puts(s, cmd);
    expect(s, "501 5.1.7 Sender address too long");
    cl_puts(s, "MAIL FROM:<a@example.com>\r\n");
    expect(s, "250 2.1.0");
    snprintf(cmd, sizeof(cmd), "RCPT TO:<%s@x>\r\n", local);
    cl_puts(s, cmd);
    expect(s, "501 5.1.3 Recipient address too long");
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_client_text_cannot_break_a_reply_line(void **state)
{
    srv_t *s = srv_start(1000, 100);

    greet(s);
    cl_puts(s, "MAIL FROM:<a@example.com> X\rY\x01=1\r\n");
    expect(s, "555 5.5.4 Unsupported MAIL FROM parameter X?Y?\r\n");
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_cut_message_is_not_delivered(void **state)
{
    srv_t *s = srv_start(1000000, 100);

    greet(s);
    start_data(s);
    cl_puts(s, "Subject: cut\r\n\r\nhalf a message\r\n");
    shutdown(s->cfd, SHUT_WR);
    pthread_join(s->th, NULL);
    assert_int_equal(s->end, LMTP_END_EOF);
    assert_int_equal(s->deliveries, 0);
    close(s->cfd);
    close(s->stop[0]);
    close(s->stop[1]);
    free(s);
}

static void test_queue_id_comes_from_the_received_header(void **state)
{
    srv_t *s = srv_start(1000000, 100);

    greet(s);
    cl_puts(s, "XFORWARD IDENT=XFWDIDENT1\r\n");
    expect(s, "250 2.0.0 Ok");
    start_data(s);
    cl_puts(s, "Received: from client (localhost [127.0.0.1])\r\n"
               "\tby mta.test.example (Postfix) with ESMTP id 4F2A1C0D3B\r\n"
               "\tfor <b@example.net>; Wed, 25 Nov 2026 06:18:21 +0000\r\n"
               "Received: from elsewhere by other.example id OLDERID99;\r\n"
               "\r\nbody\r\n.\r\n");
    expect(s, "250 2.0.0");
    assert_string_equal(s->qid, "4F2A1C0D3B");
    /* without a Received header, XFORWARD IDENT of that transaction */
    cl_puts(s, "XFORWARD IDENT=3Lk8Xy0Qzqz1xyz\r\n"
               "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n"
               "DATA\r\n");
    cl_replies(s, 4);
    cl_puts(s, "Subject: local\r\n\r\n.\r\n");
    expect(s, "250 2.0.0");
    assert_string_equal(s->qid, "3Lk8Xy0Qzqz1xyz");
    /* and IDENT does not outlive its transaction */
    start_data(s);
    cl_puts(s, "Subject: none\r\n\r\n.\r\n");
    expect(s, "250 2.0.0");
    assert_string_equal(s->qid, "");
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

static void test_received_queue_id_forms(void **state)
{
    char q[64];

    assert_int_equal(
        lmtp_received_queue_id("by mta.example (Postfix, from userid 0) id "
                               "53123A76453; Wed, 25 Nov 2026",
                               q, sizeof(q)),
        0);
    assert_string_equal(q, "53123A76453");
    assert_int_equal(lmtp_received_queue_id("by mta.example (Postfix) id "
                                            "4Lk8Xy0Qzqz1xyz",
                                            q, sizeof(q)),
                     0);
    assert_string_equal(q, "4Lk8Xy0Qzqz1xyz");
    assert_int_equal(lmtp_received_queue_id("from valid.example by x with "
                                            "SMTP id abc-123; date",
                                            q, sizeof(q)),
                     -1);
    assert_int_equal(
        lmtp_received_queue_id("from paid.example by x", q, sizeof(q)), -1);
}

static void test_stop_waits_for_the_transaction_in_progress(void **state)
{
    srv_t *s = srv_start(1000000, 100);

    greet(s);
    start_data(s);
    assert_int_equal(write(s->stop[1], "x", 1), 1); /* SIGTERM arrives */
    cl_puts(s, "Subject: in flight\r\n\r\n.\r\n");
    expect(s, "250 2.0.0 Ok: queued as SES-1-0");
    expect(s, "421 4.3.2 relay.test Service shutting down");
    assert_int_equal(s->deliveries, 1);
    assert_int_equal(srv_finish(s), LMTP_END_STOP);
}

static void test_stop_refuses_a_new_pipelined_transaction(void **state)
{
    static const char group[] = "MAIL FROM:<a@example.com>\r\n"
                                "RCPT TO:<b@example.net>\r\n";
    srv_t *s = srv_start(1000000, 100);

    greet(s);
    assert_int_equal(write(s->stop[1], "x", 1), 1);
    /* the server may answer 421 and close before these arrive */
    (void)send(s->cfd, group, strlen(group), MSG_NOSIGNAL);
    expect(s, "421 4.3.2");
    assert_int_equal(srv_finish(s), LMTP_END_STOP);
}

static void test_addresses_keep_quotes_and_lose_source_routes(void **state)
{
    srv_t *s = srv_start(1000000, 100);

    greet(s);
    cl_puts(s, "MAIL FROM:<@relay.example:a@example.com> SMTPUTF8\r\n"
               "RCPT TO:<\"odd > name\"@example.net>\r\n"
               "RCPT TO:<j\xc3\xb6rg@example.net>\r\n"
               "RCPT TO:<b@example.net> NOTIFY=NEVER\r\n"
               "RCPT TO:<c@example.net\r\n"
               "DATA\r\n");
    expect(s, "250 2.1.0");
    expect(s, "250 2.1.5");
    expect(s, "250 2.1.5");
    expect(s, "555 5.5.4");
    expect(s, "501 5.1.3");
    expect(s, "354");
    cl_puts(s, "x\r\n.\r\n");
    cl_replies(s, 2);
    assert_string_equal(s->sender, "a@example.com");
    assert_string_equal(s->rcpts[0], "\"odd > name\"@example.net");
    assert_string_equal(s->rcpts[1], "j\xc3\xb6rg@example.net");
    assert_int_equal(srv_finish(s), LMTP_END_EOF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lhlo_announces_the_extensions),
        cmocka_unit_test(
            test_pipelined_group_is_answered_in_order_in_one_write),
        cmocka_unit_test(test_each_recipient_gets_its_own_reply),
        cmocka_unit_test(test_dot_unstuffing_and_end_marker),
        cmocka_unit_test(test_bare_lf_end_marker_and_long_message_lines),
        cmocka_unit_test(test_overlong_command_line_is_refused_and_skipped),
        cmocka_unit_test(test_recipients_beyond_the_limit_are_deferred),
        cmocka_unit_test(test_size_parameter_over_the_limit_is_refused),
        cmocka_unit_test(test_message_over_the_limit_is_refused_per_recipient),
        cmocka_unit_test(test_sequence_errors_are_refused),
        cmocka_unit_test(test_too_many_errors_end_the_session),
        cmocka_unit_test(test_cut_message_is_not_delivered),
        cmocka_unit_test(test_queue_id_comes_from_the_received_header),
        cmocka_unit_test(test_received_queue_id_forms),
        cmocka_unit_test(test_stop_waits_for_the_transaction_in_progress),
        cmocka_unit_test(test_stop_refuses_a_new_pipelined_transaction),
        cmocka_unit_test(test_addresses_keep_quotes_and_lose_source_routes),
        cmocka_unit_test(test_client_text_cannot_break_a_reply_line),
        cmocka_unit_test(test_overlong_addresses_are_refused),
    };
    signal(SIGPIPE, SIG_IGN); /* a write after the server hung up fails */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
