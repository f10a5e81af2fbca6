/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_plan.c - a delivery decided once: each address's form for SES, the
 * configuration set, tenant and tags, whether the message goes at all,
 * the breaker keys and the batches
 */
#include "config.h"

#include "testutil.h"
#include "ses_plan.h"

#include <string.h>

static spool_t *spool_text(const char *text, size_t max_size)
{
    spool_t *sp = spool_new(max_size, 0);

    assert_non_null(sp);
    assert_int_equal(spool_write(sp, text, strlen(text)), 0);
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

/* The plan of text for sender and rcpts under configuration ctext. */
static plan_t *plan_of(const char *ctext, const char *text, const char *sender,
                       const char *const *rcpts, size_t n, conf_t **c,
                       spool_t **sp)
{
    char err[128];
    ses_message_t m = {sender, rcpts, n, "4Qx7Yz", NULL, 0};
    plan_t *p;

    *c = tu_conf(ctext);
    *sp = m.spool = spool_text(text, 1 << 20);
    p = plan_new(*c, &m, "us-east-1", "mx1-example", err, sizeof(err));
    assert_non_null(p);
    return p;
}

static void plan_done(plan_t *p, conf_t *c, spool_t *sp)
{
    plan_free(p);
    spool_free(sp);
    conf_unref(c);
}

static const char *tag(const plan_t *p, const char *name)
{
    for (size_t i = 0; i < tags_count(p->tags); i++)
        if (strcmp(tags_name(p->tags, i), name) == 0)
            return tags_value(p->tags, i);
    return NULL;
}

static void test_config_set_comes_from_header_then_config(void **state)
{
    static const char *const to[] = {"b@example.net"};
    conf_t *c;
    spool_t *sp;
    plan_t *p;

    (void)state;
    p = plan_of("ConfigurationSet transactional\n",
                "X-SES-CONFIGURATION-SET: marketing\r\n"
                "Subject: x\r\n\r\nbody\r\n",
                "a@example.org", to, 1, &c, &sp);
    assert_string_equal(p->config_set, "marketing");
    plan_done(p, c, sp);
    p = plan_of("ConfigurationSet transactional\n",
                "X-SES-CONFIGURATION-SET: no spaces allowed\r\n\r\nbody\r\n",
                "a@example.org", to, 1, &c, &sp);
    assert_string_equal(p->config_set, "transactional");
    plan_done(p, c, sp);
    p = plan_of("", "Subject: x\r\n\r\nbody\r\n", "a@example.org", to, 1, &c,
                &sp);
    assert_null(p->config_set);
    plan_done(p, c, sp);
}

static void test_tenant_and_tags_come_from_config_then_headers(void **state)
{
    static const char *const to[] = {"b@example.net"};
    conf_t *c;
    spool_t *sp;
    plan_t *p;

    (void)state;
    p = plan_of("TenantName base\nMessageTags team:ops,campaign:none\n",
                "X-SES-TENANT: shop-7\r\n"
                "X-SES-MESSAGE-TAGS: campaign=spring\r\n"
                "Subject: x\r\n\r\nbody\r\n",
                "a@example.org", to, 1, &c, &sp);
    assert_string_equal(p->tenant, "shop-7");
    assert_string_equal(tag(p, "team"), "ops");
    assert_string_equal(tag(p, "campaign"), "spring");
    assert_string_equal(tag(p, "mta-queue-id"), "4Qx7Yz");
    assert_string_equal(tag(p, "mta-host"), "mx1-example");
    assert_int_equal(p->ngo, 1);
    plan_done(p, c, sp);
}

static void test_each_address_gets_its_form_for_ses_or_a_refusal(void **state)
{
    static const char *const to[] = {"Bob@Example.NET",
                                     "j\xc3\xb6rg@example.net",
                                     "a@b\xc3\xbc"
                                     "cher.example"};
    conf_t *c;
    spool_t *sp;
    plan_t *p;

    (void)state;
    p = plan_of("", "From: Alice <Alice@Example.COM>\r\n\r\nbody\r\n",
                "Bounce@Example.ORG", to, 3, &c, &sp);
    assert_string_equal(p->sender_ses, "Bounce@Example.ORG");
    assert_string_equal(p->sender_key, "bounce@example.org");
    assert_string_equal(p->from_key, "alice@example.com");
    assert_int_equal(p->rcpt[0].status, ST_OK);
    assert_string_equal(p->rcpt[0].ses, "Bob@Example.NET");
    assert_string_equal(p->rcpt[0].key, "bob@example.net");
    assert_int_equal(p->rcpt[1].status, ST_PERM_NON_ASCII);
    assert_null(p->rcpt[1].ses);
    assert_non_null(strstr(p->rcpt[1].detail, "<j\xc3\xb6rg@example.net>: "
                                              "non-ASCII local part"));
    assert_int_equal(p->rcpt[2].status, ST_OK);
    assert_string_equal(p->rcpt[2].ses, "a@xn--bcher-kva.example");
    assert_int_equal(p->ngo, 2);
    assert_int_equal(p->go[0], 0);
    assert_int_equal(p->go[1], 2);
    plan_done(p, c, sp);
}

static void test_a_sender_ses_cannot_take_refuses_every_recipient(void **state)
{
    static const char *const to[] = {"b@example.net", "c@example.net"};
    conf_t *c;
    spool_t *sp;
    plan_t *p;

    (void)state;
    p = plan_of("", "Subject: x\r\n\r\nbody\r\n", "j\xc3\xb6rg@example.org", to,
                2, &c, &sp);
    assert_int_equal(p->ngo, 0);
    assert_int_equal(plan_batches(p), 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(p->rcpt[i].status, ST_PERM_NON_ASCII);
        assert_non_null(strstr(p->rcpt[i].detail, "sender <j\xc3\xb6rg@"));
    }
    plan_done(p, c, sp);
}

static void test_a_message_the_spool_cut_goes_to_nobody(void **state)
{
    static const char *const to[] = {"b@example.net", "bad\xc3\xa9@x.example"};
    const char *text = "Subject: x\r\n\r\n0123456789012345678901234567890\r\n";
    ses_message_t m = {"a@example.org", to, 2, NULL, NULL, 0};
    conf_t *c = tu_conf("");
    char err[128];
    plan_t *p;

    (void)state;
    m.spool = spool_text(text, 20);
    p = plan_new(c, &m, "us-east-1", "mx1-example", err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->ngo, 0);
    assert_int_equal(p->rcpt[0].status, ST_PERM_TOO_LARGE);
    assert_non_null(strstr(p->rcpt[0].detail, "exceeds fixed limit"));
    /* a recipient refused for its address keeps its own reason */
    assert_int_equal(p->rcpt[1].status, ST_PERM_NON_ASCII);
    plan_free(p);
    spool_free(m.spool);
    conf_unref(c);
}

static void test_a_tenant_waits_for_api_v2(void **state)
{
    static const char *const to[] = {"b@example.net"};
    conf_t *c;
    spool_t *sp;
    plan_t *p;

    (void)state;
    p = plan_of("ApiVersion v1\n", "X-SES-TENANT: shop-7\r\n\r\nbody\r\n",
                "a@example.org", to, 1, &c, &sp);
    assert_int_equal(p->ngo, 0);
    assert_int_equal(p->rcpt[0].status, ST_TEMP_CONFIG);
    assert_non_null(strstr(p->rcpt[0].detail, "tenants need ApiVersion v2"));
    plan_done(p, c, sp);
}

static void test_batches_hold_recipients_per_call_in_order(void **state)
{
    static const char *const to[] = {"a@x.example", "b@x.example",
                                     "c\xc3\xa9@x.example", "d@x.example",
                                     "e@x.example"};
    const size_t *idx;
    conf_t *c;
    spool_t *sp;
    plan_t *p;

    (void)state;
    p = plan_of("RecipientsPerCall 2\n", "Subject: x\r\n\r\nbody\r\n", "", to,
                5, &c, &sp);
    assert_string_equal(p->sender_ses, "");
    assert_string_equal(p->sender_key, "");
    assert_int_equal(plan_batches(p), 2);
    assert_int_equal(plan_batch(p, 0, &idx), 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(plan_batch(p, 1, &idx), 2);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 4);
    plan_done(p, c, sp);
}

/* The repair is part of the plan: done when something goes, not when
 * nothing does. */
static void test_repeated_fields_are_renamed_when_the_message_goes(void **state)
{
    static const char *const to[] = {"b@example.net"};
    static const char *const text = "DKIM-Signature: v=1; new\r\n"
                                    "DKIM-Signature: v=1; old\r\n"
                                    "Subject: x\r\n\r\nbody\r\n";
    char buf[256];
    conf_t *c;
    spool_t *sp;
    plan_t *p;
    ssize_t n;

    (void)state;
    p = plan_of("", text, "j\xc3\xb6rg@example.org", to, 1, &c, &sp);
    n = spool_pread(sp, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    assert_null(strstr(buf, "X-Original-DKIM-Signature"));
    plan_done(p, c, sp);

    p = plan_of("", text, "a@example.org", to, 1, &c, &sp);
    n = spool_pread(sp, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    assert_non_null(strstr(buf, "DKIM-Signature: v=1; new\r\n"
                                "X-Original-DKIM-Signature: v=1; old\r\n"));
    plan_done(p, c, sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_set_comes_from_header_then_config),
        cmocka_unit_test(test_tenant_and_tags_come_from_config_then_headers),
        cmocka_unit_test(test_each_address_gets_its_form_for_ses_or_a_refusal),
        cmocka_unit_test(test_a_sender_ses_cannot_take_refuses_every_recipient),
        cmocka_unit_test(test_a_message_the_spool_cut_goes_to_nobody),
        cmocka_unit_test(test_a_tenant_waits_for_api_v2),
        cmocka_unit_test(test_batches_hold_recipients_per_call_in_order),
        cmocka_unit_test(
            test_repeated_fields_are_renamed_when_the_message_goes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
