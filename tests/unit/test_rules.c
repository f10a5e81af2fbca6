/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_rules.c - the RulesFile: parsing, first match, canary
 */
#include "config.h"

#include "testutil.h"
#include "ses_rules.h"

static rules_t *load(const char *text)
{
    char *path = tu_write_str(text), err[512];
    rules_t *r = NULL;

    if (rules_load(path, &r, err, sizeof(err)) != CONF_OK)
        fail_msg("load failed: %s", err);
    unlink(path);
    free(path);
    return r;
}

static const char rules_text[] =
    "# routing rules\n"
    "sender    *@billing.example.com  set=transactional tags=team:billing "
    "route=ses\n"
    "\n"
    "recipient *@gmail.com            route=ses:25%   # canary\n"
    "header    List-Id:*              set=marketing\n"
    "header    Subject:\"*weekly digest*\" set=digest route=local\n"
    "sender    <>                     set=bounces\n"
    "recipient VIP@Example.NET        set=vip\n";

static void test_first_matching_rule_wins(void **state)
{
    static const rules_header_t list_id[] = {{"list-id", " <news.example>"}};
    static const rules_header_t digest[] = {
        {"Subject", " Your\r\n\tWeekly Digest, November"}};
    static const char *const gmail[] = {"x@example.org", "y@GMAIL.com"};
    static const char *const vip[] = {"vip@example.net"};
    static const struct {
        const char *what;
        rules_msg_t msg;
        int line; /* 0: no rule */
    } cases[] = {
        {"sender glob", {.sender = "ann@billing.example.com"}, 2},
        {"sender glob is case-insensitive",
         {.sender = "Ann@BILLING.Example.Com"},
         2},
        {"sender rule before recipient rule",
         {.sender = "a@billing.example.com", .rcpts = gmail, .nrcpts = 2},
         2},
        {"any recipient matches",
         {.sender = "a@x.org", .rcpts = gmail, .nrcpts = 2},
         4},
        {"header rule",
         {.sender = "a@x.org", .headers = list_id, .nheaders = 1},
         5},
        {"quoted glob over an unfolded value",
         {.sender = "a@x.org", .headers = digest, .nheaders = 1},
         6},
        {"null sender", {.sender = ""}, 7},
        {"recipient address case",
         {.sender = "a@x.org", .rcpts = vip, .nrcpts = 1},
         8},
        {"no rule", {.sender = "a@example.com"}, 0},
    };
    rules_t *r = load(rules_text);

    assert_int_equal(rules_count(r), 6);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int m = rules_match(r, &cases[i].msg);
        int line = m < 0 ? 0 : rules_action(r, (size_t)m)->line;
        if (line != cases[i].line)
            fail_msg("%s: matched line %d, expected %d", cases[i].what, line,
                     cases[i].line);
    }
    rules_free(r);
}

static void test_actions_are_parsed(void **state)
{
    rules_t *r = load(rules_text);
    const rule_action_t *a = rules_action(r, 0);

    assert_string_equal(a->config_set, "transactional");
    assert_int_equal(tags_count(a->tags), 1);
    assert_string_equal(tags_name(a->tags, 0), "team");
    assert_string_equal(tags_value(a->tags, 0), "billing");
    assert_int_equal(a->route, ROUTE_SES);
    assert_int_equal(a->percent, 100);
    a = rules_action(r, 1);
    assert_null(a->config_set);
    assert_null(a->tags);
    assert_int_equal(a->route, ROUTE_SES);
    assert_int_equal(a->percent, 25);
    assert_int_equal(rules_action(r, 3)->route, ROUTE_LOCAL);
    assert_int_equal(rules_action(r, 2)->route, ROUTE_UNSET);
    assert_true(rules_have_recipient_rules(r));
    assert_true(rules_wants_header(r, "LIST-ID"));
    assert_true(rules_wants_header(r, "subject"));
    assert_false(rules_wants_header(r, "From"));
    assert_null(rules_action(r, 6));
    rules_free(r);
}

static void test_errors_name_file_and_line(void **state)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"sendr *@a.example set=x\n", ":1: unknown matcher \"sendr\""},
        {"# c\nsender *@a.example\n", ":2: rule has no action"},
        {"sender a.example set=x\n",
         ":1: address pattern \"a.example\" has no '@'"},
        {"\n\nsender *@a set=bad.name\n",
         ":3: set=bad.name is not a valid SES"},
        {"sender *@a tags=team\n", ":1: tags=: tag \"team\" is not name:value"},
        {"sender *@a route=ses:0%\n", ":1: route=ses:0%: use ses"},
        {"sender *@a route=ses:101%\n", ":1: route=ses:101%"},
        {"sender *@a route=smtp\n", ":1: route=smtp"},
        {"sender *@a set=x set=y\n", ":1: set= is given twice"},
        {"sender *@a rout=ses\n", ":1: unknown action \"rout=\""},
        {"sender *@a ses\n", ":1: \"ses\" is not an action"},
        {"header List-Id set=x\n", ":1: header rule needs NAME:GLOB"},
        {"header Subject:\"abc set=x\n", ":1: unbalanced double quote"},
        {"recipient\n", ":1: address rule needs a pattern"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = tu_write_str(cases[i].text), err[512] = "";
        rules_t *r = NULL;
        assert_int_equal(rules_load(path, &r, err, sizeof(err)), CONF_INVALID);
        assert_null(r);
        if (strncmp(err, path, strlen(path)) != 0 ||
            strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].msg);
        unlink(path);
        free(path);
    }
}

static void test_more_rules_than_the_bound_is_an_error(void **state)
{
    size_t len = (RULES_MAX + 1) * 32;
    char *text = malloc(len), *p = text, *path, err[512];
    rules_t *r = NULL;

    for (int i = 0; i <= RULES_MAX; i++)
        p += sprintf(p, "sender r%d@example.com set=s\n", i);
    path = tu_write_str(text);
    assert_int_equal(rules_load(path, &r, err, sizeof(err)), CONF_INVALID);
    assert_null(r);
    assert_non_null(strstr(err, ":10001: more than 10000 rules"));
    unlink(path);
    free(path);
    free(text);
}

static void test_missing_file_is_nofile(void **state)
{
    rules_t *r = NULL;
    char err[256];

    assert_int_equal(rules_load("/nonexistent/rules", &r, err, sizeof(err)),
                     CONF_NOFILE);
    assert_non_null(strstr(err, "/nonexistent/rules: cannot open"));
}

static void test_canary_is_stable_and_proportional(void **state)
{
    int picked = 0;

    for (int i = 0; i < 20000; i++) {
        char qid[32];
        snprintf(qid, sizeof(qid), "4Xb%07dQz", i);
        bool p = rules_canary_pick(qid, 25);
        assert_int_equal(p, rules_canary_pick(qid, 25)); /* stable */
        if (p)
            assert_true(rules_canary_pick(qid, 50)); /* shares nest */
        picked += p;
    }
    /* 25 % of 20000 = 5000; allow 2 points either way */
    if (picked < 4600 || picked > 5400)
        fail_msg("25%% canary picked %d of 20000", picked);
    assert_true(rules_canary_pick("ABC", 100));
    assert_false(rules_canary_pick("ABC", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_matching_rule_wins),
        cmocka_unit_test(test_actions_are_parsed),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_more_rules_than_the_bound_is_an_error),
        cmocka_unit_test(test_missing_file_is_nofile),
        cmocka_unit_test(test_canary_is_stable_and_proportional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
