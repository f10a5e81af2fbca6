/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_feedback.c - applying SES feedback: suppression, DSNs through a
 * sendmail stand-in, idempotency, SNS checks, counters
 */
#include "config.h"

#include "testutil.h"
#include "snstest.h"
#include "ses_feedback.h"
#include "ses_log.h"
#include "ses_tags.h"

#include <dirent.h>
#include <sys/stat.h>

#define BOUNCE_ID "0100018f2f1e0000-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee-000000"
#define TRANSIENT_ID                                                           \
    "0100018f2f1e0000-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeee02-000000"

typedef struct {
    char dir[64];
    conf_t *conf;
    store_t *store;
    sns_certs_t *certs;
    snstest_t *signer;
    feedback_t *fb;
} fx_t;

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

static void fx_open(fx_t *f, const char *extra)
{
    char path[512], cfg[2048], err[512];

    snprintf(cfg, sizeof(cfg),
             "DataDirectory %s/data\nSendmail %s/sendmail\n"
             "SnsTopicArn %s\nReportingMTA mta.test.example\n"
             "LogFile %s/log\n%s",
             f->dir, f->dir, SNSTEST_TOPIC, f->dir, extra ? extra : "");
    write_file(f->dir, "ses.conf", cfg);
    snprintf(path, sizeof(path), "%s/ses.conf", f->dir);
    if (conf_load(path, &f->conf, err, sizeof(err)) != CONF_OK)
        fail_msg("conf: %s", err);
    log_init_file("test_feedback", conf_str(f->conf, CK_LOG_FILE));
    snprintf(path, sizeof(path), "%s/data", f->dir);
    assert_int_equal(
        store_open(path, STORE_READWRITE, &f->store, err, sizeof(err)),
        STORE_OK);
    f->fb = feedback_new(f->conf, f->store, f->certs);
    feedback_set_clock(f->fb, 1714557700);
}

static void fx_close(fx_t *f)
{
    feedback_free(f->fb);
    store_close(f->store);
    conf_unref(f->conf);
    f->fb = NULL;
    f->store = NULL;
    f->conf = NULL;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    char script[1024], path[512];

    strcpy(f->dir, "/tmp/ses-fb.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(path, sizeof(path), "%s/out", f->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/certs", f->dir);
    mkdir(path, 0700);
    /* sendmail stand-in: one file per DSN, exit status from $dir/rc */
    snprintf(script, sizeof(script),
             "#!/bin/sh\nn=$(ls %s/out | wc -l)\n"
             "{ for a in \"$@\"; do echo \"ARG $a\"; done; cat; } > "
             "%s/out/dsn.$n\nexit $(cat %s/rc 2>/dev/null || echo 0)\n",
             f->dir, f->dir, f->dir);
    write_file(f->dir, "sendmail", script);
    snprintf(path, sizeof(path), "%s/sendmail", f->dir);
    chmod(path, 0755);
    snprintf(path, sizeof(path), "%s/certs", f->dir);
    f->signer = snstest_new(path, SNSTEST_CERT_URL);
    f->certs = sns_certs_new(path, NULL);
    fx_open(f, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    char cmd[128];

    fx_close(f);
    sns_certs_free(f->certs);
    snstest_free(f->signer);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    system(cmd);
    free(f);
    return 0;
}

static char *fixture(const char *name)
{
    char path[512];
    char *buf = calloc(1, 1 << 16);
    FILE *fp;

    snprintf(path, sizeof(path), "%s/tests/data/feedback/%s", SRCDIR, name);
    fp = fopen(path, "r");
    assert_non_null(fp);
    fread(buf, 1, (1 << 16) - 1, fp);
    fclose(fp);
    return buf;
}

static status_t handle(fx_t *f, const char *json, unsigned flags)
{
    char detail[512];

    return feedback_handle(f->fb, json, strlen(json), flags, NULL, detail,
                           sizeof(detail));
}

static status_t handle_fixture(fx_t *f, const char *name)
{
    char *json = fixture(name);
    status_t st = handle(f, json, FB_ALLOW_BARE);

    free(json);
    return st;
}

static int dsn_count(fx_t *f)
{
    char path[512];
    struct dirent *de;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "%s/out", f->dir);
    d = opendir(path);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static char *dsn_text(fx_t *f, int i)
{
    char path[512];
    char *buf = calloc(1, 1 << 16);
    FILE *fp;

    snprintf(path, sizeof(path), "%s/out/dsn.%d", f->dir, i);
    fp = fopen(path, "r");
    assert_non_null(fp);
    fread(buf, 1, (1 << 16) - 1, fp);
    fclose(fp);
    return buf;
}

static int count_one(void *ctx, const char *a, const suppression_t *s, int r)
{
    (void)a;
    (void)s;
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

static int supp_count(fx_t *f)
{
    int n = 0;

    assert_int_equal(store_suppression_each(f->store, 1, count_one, &n),
                     STORE_OK);
    return n;
}

static void test_permanent_bounce_suppresses_and_sends_one_dsn(void **state)
{
    fx_t *f = *state;
    suppression_t s;
    char *dsn;

    assert_int_equal(handle_fixture(f, "bounce-permanent.json"), ST_OK);
    assert_int_equal(store_suppression_get(f->store, "bob@example.net", &s),
                     STORE_OK);
    assert_int_equal(s.reason, SUPP_BOUNCE);
    assert_int_equal(s.source, SUPP_SRC_FEEDBACK);
    assert_int_equal(dsn_count(f), 1);
    dsn = dsn_text(f, 0);
    assert_non_null(strstr(dsn, "ARG -f\nARG <>\nARG --\n"
                                "ARG alice@sender.example\n"));
    assert_non_null(strstr(dsn, "Final-Recipient: rfc822; Bob@Example.NET\n"
                                "Action: failed\nStatus: 5.1.1\n"));
    assert_non_null(strstr(dsn, "Reporting-MTA: dns; mta.test.example\n"));
    assert_non_null(strstr(dsn, "Subject: Quarterly figures\n"));
    free(dsn);
    assert_int_equal(store_seen_get(f->store,
                                    "fb:0100018f2f1e0a2b-5f3d9c1a-1111-4aaa-"
                                    "bbbb-000000000001-000000"),
                     STORE_OK);
    /* the same notification again changes nothing */
    assert_int_equal(handle_fixture(f, "bounce-permanent.json"), ST_OK);
    assert_int_equal(dsn_count(f), 1);
    assert_int_equal(store_suppression_get(f->store, "bob@example.net", &s),
                     STORE_OK);
    assert_int_equal(s.count, 1);
}

static void test_dsn_goes_to_the_sender_in_the_message_map(void **state)
{
    fx_t *f = *state;
    const char *rcpts[] = {"bob@example.net"};
    store_message_t m = {"4VtQ1D", "owner@sender.example", rcpts,
                         1,        "transactional",        1714557000};
    char *dsn;

    assert_int_equal(store_message_put(f->store, BOUNCE_ID, &m), STORE_OK);
    assert_int_equal(handle_fixture(f, "bounce-permanent.json"), ST_OK);
    dsn = dsn_text(f, 0);
    assert_non_null(strstr(dsn, "ARG owner@sender.example\n"));
    assert_non_null(strstr(dsn, "X-Postfix-Queue-ID: 4VtQ1D\n"));
    assert_non_null(strstr(dsn, "Arrival-Date: Wed, 01 May 2024 09:50:00"));
    free(dsn);
}

static void test_no_dsn_to_the_null_sender(void **state)
{
    fx_t *f = *state;
    store_message_t m = {"4VtQ1E", "", NULL, 0, NULL, 1714557000};
    suppression_t s;

    assert_int_equal(store_message_put(f->store, BOUNCE_ID, &m), STORE_OK);
    assert_int_equal(handle_fixture(f, "bounce-permanent.json"), ST_OK);
    assert_int_equal(dsn_count(f), 0);
    assert_int_equal(store_suppression_get(f->store, "bob@example.net", &s),
                     STORE_OK);
}

/* json with the first `from` replaced by `to` (malloc'd). */
static char *replace(const char *json, const char *from, const char *to)
{
    const char *p = strstr(json, from);
    char *out = malloc(strlen(json) + strlen(to) + 1);

    assert_non_null(p);
    memcpy(out, json, (size_t)(p - json));
    strcpy(out + (p - json), to);
    strcat(out, p + strlen(from));
    return out;
}

/* A fixture whose mta-host tag ("mta.sender.example") names host, or
 * (NULL) this host as ses-relay would tag it. */
static status_t handle_tagged(fx_t *f, const char *name, const char *host)
{
    char *json = fixture(name), *tagged, me[256];
    status_t st;

    tags_host(me, sizeof(me));
    tagged = replace(json, "\"mta.sender.example\"", "\"MTAHOST\"");
    free(json);
    json = replace(tagged, "MTAHOST", host ? host : me);
    st = handle(f, json, FB_ALLOW_BARE);
    free(tagged);
    free(json);
    return st;
}

static void test_no_dsn_about_a_dsn(void **state)
{
    fx_t *f = *state;
    char *json = fixture("bounce-permanent.json");
    char *dsn = replace(json,
                        "{\"name\": \"X-SES-CONFIGURATION-SET\", \"value\": "
                        "\"transactional\"}",
                        "{\"name\": \"Content-Type\", \"value\": "
                        "\"multipart/report; report-type=delivery-status; "
                        "boundary=x\"}");

    assert_int_equal(handle(f, dsn, FB_ALLOW_BARE), ST_OK);
    assert_int_equal(dsn_count(f), 0);
    free(json);
    free(dsn);
}

static int sum_of_transactional(void *ctx, const char *cs, const uint64_t *c)
{
    if (strcmp(cs, "transactional") == 0)
        memcpy(ctx, c, sizeof(uint64_t) * STAT__COUNT);
    return 0;
}

static void test_transient_bounce_sends_dsn_but_does_not_suppress(void **state)
{
    fx_t *f = *state;
    suppression_t s;
    uint64_t sum[STAT__COUNT] = {0};

    assert_int_equal(handle_tagged(f, "bounce-transient-event.json", NULL),
                     ST_OK);
    assert_int_equal(store_suppression_get(f->store, "carol@example.org", &s),
                     STORE_NOTFOUND);
    assert_int_equal(dsn_count(f), 1);
    assert_int_equal(store_stats_sum(f->store, 1714521600, 1714608000,
                                     sum_of_transactional, sum),
                     STORE_OK);
    assert_int_equal(sum[STAT_TRANSIENT], 1);
    /* with TransientBounceDSN no: nothing at all */
    fx_close(f);
    fx_open(f, "TransientBounceDSN no\n");
    {
        char *json = fixture("bounce-transient-event.json");
        char *other = replace(json, "2222", "2223"); /* another feedbackId */
        assert_int_equal(handle(f, other, FB_ALLOW_BARE), ST_OK);
        free(json);
        free(other);
    }
    assert_int_equal(dsn_count(f), 1);
}

static void test_complaint_suppresses_without_dsn(void **state)
{
    fx_t *f = *state;
    suppression_t s;

    assert_int_equal(handle_fixture(f, "complaint.json"), ST_OK);
    assert_int_equal(store_suppression_get(f->store, "erin@example.com", &s),
                     STORE_OK);
    assert_int_equal(s.reason, SUPP_COMPLAINT);
    assert_int_equal(dsn_count(f), 0);
}

static void test_account_suppression_list_bounce_is_marked_ses(void **state)
{
    fx_t *f = *state;
    suppression_t s;
    char *dsn;

    assert_int_equal(handle_fixture(f, "bounce-suppression-list.json"), ST_OK);
    assert_int_equal(store_suppression_get(f->store, "dave@example.com", &s),
                     STORE_OK);
    assert_int_equal(s.source, SUPP_SRC_SES);
    dsn = dsn_text(f, 0);
    assert_non_null(strstr(dsn, "suppression list"));
    free(dsn);
}

static void test_failed_dsn_waits_in_the_outbox_and_goes_once(void **state)
{
    fx_t *f = *state;
    suppression_t s;

    write_file(f->dir, "rc", "75\n");
    /* applied at once (suppressed, seen); the DSN waits in the outbox */
    assert_int_equal(handle_fixture(f, "bounce-permanent.json"), ST_OK);
    assert_int_equal(store_suppression_get(f->store, "bob@example.net", &s),
                     STORE_OK);
    assert_int_equal(dsn_count(f), 1); /* the stand-in saw the failed try */
    write_file(f->dir, "rc", "0\n");
    /* not due before its retry time, then sent once */
    assert_int_equal(feedback_flush(f->fb, 0), ST_OK);
    assert_int_equal(dsn_count(f), 1);
    feedback_set_clock(f->fb, 1714557700 + 61);
    assert_int_equal(feedback_flush(f->fb, 0), ST_OK);
    assert_int_equal(dsn_count(f), 2);
    assert_int_equal(feedback_flush(f->fb, 0), ST_OK);
    assert_int_equal(handle_fixture(f, "bounce-permanent.json"), ST_OK);
    assert_int_equal(dsn_count(f), 2); /* neither a flush nor a redelivery
                                          sends it again */
}

static void test_failed_commit_sends_no_dsn(void **state)
{
    fx_t *f = *state;
    char path[512], err[256];
    store_t *ro = NULL;
    feedback_t *fb;
    char detail[256];
    char *json = fixture("bounce-permanent.json");

    /* a store that refuses every write: the commit fails */
    snprintf(path, sizeof(path), "%s/data", f->dir);
    assert_int_equal(store_open(path, STORE_READONLY, &ro, err, sizeof(err)),
                     STORE_OK);
    fb = feedback_new(f->conf, ro, f->certs);
    assert_true(status_is_temporary(feedback_handle(
        fb, json, strlen(json), FB_ALLOW_BARE, NULL, detail, sizeof(detail))));
    assert_int_equal(dsn_count(f), 0);
    feedback_free(fb);
    store_close(ro);
    /* the redelivery, once the store works: one DSN */
    assert_int_equal(handle(f, json, FB_ALLOW_BARE), ST_OK);
    assert_int_equal(handle(f, json, FB_ALLOW_BARE), ST_OK);
    assert_int_equal(dsn_count(f), 1);
    free(json);
}

static void test_dsn_comes_from_the_host_the_tag_names(void **state)
{
    fx_t *f = *state;

    assert_int_equal(
        handle_tagged(f, "bounce-transient-event.json", "mta2-example"), ST_OK);
    assert_int_equal(dsn_count(f), 0); /* another host's: it writes it */
    assert_int_equal(store_seen_get(f->store,
                                    "fb:0100018f2f1e0a2b-5f3d9c1a-2222-4aaa-"
                                    "bbbb-000000000002-000000"),
                     STORE_OK); /* applied all the same */
}

static void test_host_holding_the_record_writes_whatever_the_tag(void **state)
{
    fx_t *f = *state;
    const char *rcpts[] = {"carol@example.org"};
    store_message_t m = {"4VtQ2A",  "owner@sender.example", rcpts, 1, NULL,
                         1714557000};
    char *dsn;

    assert_int_equal(store_message_put(f->store, TRANSIENT_ID, &m), STORE_OK);
    assert_int_equal(
        handle_tagged(f, "bounce-transient-event.json", "renamed-host"), ST_OK);
    assert_int_equal(dsn_count(f), 1);
    dsn = dsn_text(f, 0);
    assert_non_null(strstr(dsn, "ARG owner@sender.example\n"));
    free(dsn);
}

static void test_untagged_bounce_dsn_from_bounce_dsn_host_only(void **state)
{
    fx_t *f = *state;
    char extra[512], me[256], *json, *other;
    suppression_t s;

    fx_close(f);
    fx_open(f, "BounceDSNHost mta9.example.com\n");
    assert_int_equal(handle_fixture(f, "bounce-permanent.json"), ST_OK);
    assert_int_equal(dsn_count(f), 0);
    assert_int_equal(store_suppression_get(f->store, "bob@example.net", &s),
                     STORE_OK); /* every host suppresses */
    fx_close(f);
    tags_host(me, sizeof(me));
    snprintf(extra, sizeof(extra), "BounceDSNHost %s\n", me);
    fx_open(f, extra);
    json = fixture("bounce-permanent.json");
    other = replace(json, "0001-000000", "0009-000000"); /* another bounce */
    assert_int_equal(handle(f, other, FB_ALLOW_BARE), ST_OK);
    assert_int_equal(dsn_count(f), 1);
    free(json);
    free(other);
}

static void test_display_name_source_gets_the_dsn(void **state)
{
    fx_t *f = *state;
    suppression_t s;
    char *dsn;

    /* AWS's own example: "source": "Sender Name <sender@example.com>" */
    assert_int_equal(handle_fixture(f, "aws/event-bounce.json"), ST_OK);
    assert_int_equal(
        store_suppression_get(f->store, "recipient@example.com", &s), STORE_OK);
    assert_int_equal(dsn_count(f), 1);
    dsn = dsn_text(f, 0);
    assert_non_null(strstr(dsn, "ARG --\nARG sender@example.com\n"));
    assert_non_null(strstr(dsn,
                           "Final-Recipient: rfc822; recipient@example.com\n"
                           "Action: failed\nStatus: 5.1.1\n"));
    free(dsn);
}

static void test_bad_input_changes_nothing(void **state)
{
    static const char *bad[] = {
        "",
        "{",
        "[]",
        "{\"notificationType\":\"Bounce\"}",
        "{\"eventType\":\"Meteor\",\"mail\":{\"messageId\":\"m\"}}",
        "{\"notificationType\":\"Bounce\",\"mail\":{\"messageId\":\"m\"},"
        "\"bounce\":{\"bounceType\":\"Permanent\"}}",
    };
    fx_t *f = *state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(handle(f, bad[i], FB_ALLOW_BARE), ST_PERM_BAD_MESSAGE);
    assert_int_equal(supp_count(f), 0);
    assert_int_equal(dsn_count(f), 0);
}

static void test_signed_sns_notification_applies_once(void **state)
{
    fx_t *f = *state;
    char *ses = fixture("complaint.json");
    char *env = snstest_envelope(f->signer, "1", SNSTEST_TOPIC,
                                 SNSTEST_CERT_URL, "sns-msg-1", ses);
    suppression_t s;

    assert_int_equal(handle(f, env, 0), ST_OK);
    assert_int_equal(store_suppression_get(f->store, "erin@example.com", &s),
                     STORE_OK);
    assert_int_equal(store_seen_get(f->store, "sns:sns-msg-1"), STORE_OK);
    assert_int_equal(handle(f, env, 0), ST_OK);
    assert_int_equal(store_suppression_get(f->store, "erin@example.com", &s),
                     STORE_OK);
    assert_int_equal(s.count, 1);
    free(env);
    free(ses);
}

static void test_forged_or_foreign_sns_changes_nothing(void **state)
{
    fx_t *f = *state;
    char *ses = fixture("bounce-permanent.json");
    snstest_t *mallory = snstest_new(NULL, NULL);
    char *forged = snstest_envelope(mallory, "2", SNSTEST_TOPIC,
                                    SNSTEST_CERT_URL, "sns-msg-2", ses);
    char *foreign = snstest_envelope(
        f->signer, "2", "arn:aws:sns:us-east-1:999999999999:not-ours",
        SNSTEST_CERT_URL, "sns-msg-3", ses);

    assert_int_equal(handle(f, forged, 0), ST_PERM_FORGED);
    assert_int_equal(handle(f, foreign, 0), ST_PERM_FORGED);
    /* unsigned SES JSON where only SNS is acceptable (the HTTP endpoint) */
    assert_int_equal(handle(f, ses, 0), ST_PERM_FORGED);
    assert_int_equal(supp_count(f), 0);
    assert_int_equal(dsn_count(f), 0);
    snstest_free(mallory);
    free(forged);
    free(foreign);
    free(ses);
}

static void test_eventbridge_event_from_ses_is_applied(void **state)
{
    fx_t *f = *state;
    suppression_t s;
    char *json = fixture("complaint-eventbridge.json");

    assert_int_equal(handle(f, json, FB_ALLOW_BARE), ST_OK);
    assert_int_equal(store_suppression_get(f->store, "kim@example.com", &s),
                     STORE_OK);
    assert_int_equal(s.reason, SUPP_COMPLAINT);
    assert_int_equal(
        store_seen_get(f->store, "eb:8f2e7b1c-0000-4c8e-9a8e-eventbridge01"),
        STORE_OK);
    /* not over the HTTP endpoint, where only signed SNS is acceptable */
    assert_int_equal(handle(f, json, 0), ST_PERM_FORGED);
    free(json);
}

static void test_informative_events_are_counted_not_acted_on(void **state)
{
    static const char *files[] = {"delivery.json",
                                  "send-event.json",
                                  "reject-event.json",
                                  "delivery-delay-event.json",
                                  "rendering-failure-event.json",
                                  "subscription-succeeded.json"};
    fx_t *f = *state;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (handle_fixture(f, files[i]) != ST_OK)
            fail_msg("%s not accepted", files[i]);
    assert_int_equal(supp_count(f), 0);
    assert_int_equal(dsn_count(f), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_permanent_bounce_suppresses_and_sends_one_dsn),
        T(test_dsn_goes_to_the_sender_in_the_message_map),
        T(test_no_dsn_to_the_null_sender),
        T(test_no_dsn_about_a_dsn),
        T(test_transient_bounce_sends_dsn_but_does_not_suppress),
        T(test_complaint_suppresses_without_dsn),
        T(test_account_suppression_list_bounce_is_marked_ses),
        T(test_failed_dsn_waits_in_the_outbox_and_goes_once),
        T(test_failed_commit_sends_no_dsn),
        T(test_dsn_comes_from_the_host_the_tag_names),
        T(test_host_holding_the_record_writes_whatever_the_tag),
        T(test_untagged_bounce_dsn_from_bounce_dsn_host_only),
        T(test_display_name_source_gets_the_dsn),
        T(test_bad_input_changes_nothing),
        T(test_signed_sns_notification_applies_once),
        T(test_forged_or_foreign_sns_changes_nothing),
        T(test_eventbridge_event_from_ses_is_applied),
        T(test_informative_events_are_counted_not_acted_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
