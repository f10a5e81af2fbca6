/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_notify.c - parsing SES notifications and published events
 */
#include "config.h"

#include "testutil.h"
#include "ses_note.h"

static char *fixture(const char *name, size_t *len)
{
    char path[512];
    FILE *fp;
    char *buf = malloc(NOTE_MAX_JSON);

    snprintf(path, sizeof(path), "%s/tests/data/feedback/%s", SRCDIR, name);
    if ((fp = fopen(path, "r")) == NULL)
        fail_msg("cannot open %s", path);
    *len = fread(buf, 1, NOTE_MAX_JSON - 1, fp);
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

static note_t *parse_fixture(const char *name)
{
    char err[256];
    size_t len;
    char *json = fixture(name, &len);
    note_t *n = NULL;

    if (note_parse(json, len, &n, err, sizeof(err)) != 0)
        fail_msg("%s: %s", name, err);
    free(json);
    return n;
}

static void test_every_ses_type_is_recognised(void **state)
{
    static const struct {
        const char *file;
        note_type_t type;
        int event;
        size_t nrcpts;
    } cases[] = {
        {"bounce-permanent.json", NOTE_BOUNCE, 0, 1},
        {"bounce-transient-event.json", NOTE_BOUNCE, 1, 1},
        {"bounce-suppression-list.json", NOTE_BOUNCE, 0, 1},
        {"complaint.json", NOTE_COMPLAINT, 0, 1},
        {"delivery.json", NOTE_DELIVERY, 0, 1},
        {"send-event.json", NOTE_SEND, 1, 0},
        {"reject-event.json", NOTE_REJECT, 1, 0},
        {"delivery-delay-event.json", NOTE_DELIVERY_DELAY, 1, 1},
        {"rendering-failure-event.json", NOTE_RENDERING_FAILURE, 1, 0},
        {"subscription-succeeded.json", NOTE_SUBSCRIPTION_SUCCEEDED, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        note_t *n = parse_fixture(cases[i].file);
        if (n->type != cases[i].type || n->event != cases[i].event ||
            n->nrcpts != cases[i].nrcpts)
            fail_msg("%s: type %d event %d rcpts %zu", cases[i].file, n->type,
                     n->event, n->nrcpts);
        note_free(n);
    }
}

static void test_permanent_bounce_fields(void **state)
{
    note_t *n = parse_fixture("bounce-permanent.json");

    assert_int_equal(n->bounce_type, NOTE_BOUNCE_PERMANENT);
    assert_string_equal(n->bounce_subtype, "General");
    assert_string_equal(n->rcpts[0].address, "Bob@Example.NET");
    assert_string_equal(n->rcpts[0].status, "5.1.1");
    assert_string_equal(n->rcpts[0].diagnostic,
                        "smtp; 550 5.1.1 <bob@example.net>... User unknown");
    assert_string_equal(n->remote_mta_ip, "192.0.2.25");
    assert_string_equal(n->source, "alice@sender.example");
    assert_string_equal(
        n->feedback_id,
        "0100018f2f1e0a2b-5f3d9c1a-1111-4aaa-bbbb-000000000001-000000");
    assert_int_equal(n->nheaders, 5);
    assert_string_equal(n->headers[2].name, "Subject");
    assert_string_equal(n->subject, "Quarterly figures");
    assert_null(n->config_set); /* notifications carry no tags here */
    note_free(n);
}

static void test_event_tags_name_set_and_queue_id(void **state)
{
    note_t *n = parse_fixture("bounce-transient-event.json");

    assert_int_equal(n->bounce_type, NOTE_BOUNCE_TRANSIENT);
    assert_string_equal(n->config_set, "transactional");
    assert_string_equal(n->queue_id, "4VtXyZ1abcD");
    assert_string_equal(n->mta_host, "mta.sender.example");
    note_free(n);
}

static void test_bad_input_is_refused_with_a_reason(void **state)
{
    static const struct {
        const char *json;
        const char *reason;
    } cases[] = {
        {"", "empty"},
        {"not json", "JSON error"},
        {"[1,2]", "not a JSON object"},
        {"{\"foo\":1}", "neither notificationType nor eventType"},
        {"{\"notificationType\":\"Explosion\",\"mail\":{\"messageId\":\"m\"}}",
         "unknown notificationType \"Explosion\""},
        {"{\"eventType\":42}", "neither notificationType nor eventType"},
        {"{\"notificationType\":\"Bounce\",\"mail\":{\"messageId\":\"m\"}}",
         "Bounce without a bounce object"},
        {"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
         "\"Permanent\"},\"mail\":{\"messageId\":\"m\"}}",
         "Bounce without bouncedRecipients"},
        {"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
         "\"Permanent\",\"bouncedRecipients\":[]},\"mail\":{\"messageId\":"
         "\"m\"}}",
         "Bounce without bouncedRecipients"},
        {"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
         "\"Sideways\",\"bouncedRecipients\":[{\"emailAddress\":\"a@b\"}]},"
         "\"mail\":{\"messageId\":\"m\"}}",
         "unknown bounceType"},
        {"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
         "\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":7}]},"
         "\"mail\":{\"messageId\":\"m\"}}",
         "emailAddress is not a string"},
        {"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
         "\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":\"a@b\"}]}}",
         "without a mail object"},
        {"{\"notificationType\":\"Complaint\",\"complaint\":{},\"mail\":{"
         "\"messageId\":\"m\"}}",
         "Complaint without complainedRecipients"},
        {"{\"notificationType\":\"Delivery\",\"mail\":{\"source\":\"a@b\"}}",
         "mail without messageId"},
        {"{\"notificationType\":\"Bounce\",\"notificationType\":\"Bounce\"}",
         "JSON error"},
        {"{\"eventType\":\"Send\",\"mail\":{\"messageId\":\"m\",\"tags\":{"
         "\"mta-queue-id\":\"notalist\"}}}",
         "mail.tags.mta-queue-id is not a list"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        note_t *n = (note_t *)1;
        char err[256];
        if (note_parse(cases[i].json, strlen(cases[i].json), &n, err,
                       sizeof(err)) != -1)
            fail_msg("case %zu accepted", i);
        assert_null(n);
        if (strstr(err, cases[i].reason) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].reason);
    }
}

static void test_oversized_input_is_refused(void **state)
{
    size_t big = NOTE_MAX_JSON + 1;
    char *json = malloc(big + 1), err[256];
    note_t *n = NULL;
    char *rcpts;
    size_t len = 0;

    memset(json, ' ', big);
    json[big] = '\0';
    assert_int_equal(note_parse(json, big, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "over the"));
    /* within the size bound but with too many recipients */
    rcpts = json;
    len += sprintf(rcpts + len, "{\"notificationType\":\"Bounce\",\"mail\":{"
                                "\"messageId\":\"m\"},\"bounce\":{"
                                "\"bounceType\":\"Permanent\","
                                "\"bouncedRecipients\":[");
    for (int i = 0; i <= NOTE_MAX_RCPTS; i++)
        len += sprintf(rcpts + len, "%s{\"emailAddress\":\"u%d@x.example\"}",
                       i ? "," : "", i);
    len += sprintf(rcpts + len, "]}}");
    assert_int_equal(note_parse(json, len, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than"));
    free(json);
}

static void test_event_key_prefers_feedback_id(void **state)
{
    note_t *b = parse_fixture("bounce-permanent.json");
    note_t *d = parse_fixture("delivery.json");
    char k1[600], k2[600];

    assert_string_equal(
        note_event_key(b, k1, sizeof(k1)),
        "fb:0100018f2f1e0a2b-5f3d9c1a-1111-4aaa-bbbb-000000000001-000000");
    note_event_key(d, k1, sizeof(k1));
    assert_true(strncmp(k1, "ev:", 3) == 0 && strlen(k1) == 3 + 64);
    note_free(d);
    d = parse_fixture("delivery.json");
    assert_string_equal(note_event_key(d, k2, sizeof(k2)), k1);
    note_free(b);
    note_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_ses_type_is_recognised),
        cmocka_unit_test(test_permanent_bounce_fields),
        cmocka_unit_test(test_event_tags_name_set_and_queue_id),
        cmocka_unit_test(test_bad_input_is_refused_with_a_reason),
        cmocka_unit_test(test_oversized_input_is_refused),
        cmocka_unit_test(test_event_key_prefers_feedback_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
