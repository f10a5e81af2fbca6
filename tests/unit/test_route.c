/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_route.c - where SES calls go: the global endpoint, failover regions,
 * their URLs and per-region ARNs, and which outcomes fail over
 */
#include "config.h"

#include "testutil.h"
#include "ses_aws.h"
#include "ses_hoststate.h"
#include "ses_route.h"

static void test_global_endpoint_then_failover_regions(void **state)
{
    conf_t *c = tu_conf("EndpointId abc123.xyz\n"
                        "FailoverRegion eu-west-1 us-west-2\n"
                        "RegionEndpoint us-west-2 http://127.0.0.1:9\n"
                        "FromArn arn:aws:ses:*:1:identity/a.example "
                        "arn:aws:ses:us-west-2:1:identity/a.example "
                        "arn:aws:ses:eu-west-1:1:identity/a.example\n");
    char err[256];
    routes_t *r = routes_new(c, NULL, NULL, err, sizeof(err));
    const ses_route_t *g, *e, *w;

    (void)state;
    assert_non_null(r);
    assert_int_equal(routes_count(r), 3);
    g = routes_at(r, 0);
    e = routes_at(r, 1);
    w = routes_at(r, 2);
    assert_string_equal(aws_service_url(g->aws),
                        "https://abc123.xyz.endpoints.email.amazonaws.com");
    assert_string_equal(g->region, "*");
    assert_string_equal(g->scope, "global:abc123.xyz");
    assert_string_equal(g->from_arn, "arn:aws:ses:*:1:identity/a.example");
    assert_null(g->source_arn);
    assert_string_equal(aws_service_url(e->aws),
                        "https://email.eu-west-1.amazonaws.com");
    assert_string_equal(e->scope, "region:eu-west-1");
    assert_string_equal(e->from_arn,
                        "arn:aws:ses:eu-west-1:1:identity/a.example");
    assert_string_equal(aws_service_url(w->aws), "http://127.0.0.1:9");
    assert_string_equal(w->from_arn,
                        "arn:aws:ses:us-west-2:1:identity/a.example");
    assert_null(routes_at(r, 3));
    routes_free(r);
    conf_unref(c);
}

static void test_endpoint_overrides_the_primary_only(void **state)
{
    conf_t *c = tu_conf("Region eu-central-1\n"
                        "Endpoint http://127.0.0.1:7\n"
                        "FailoverRegion eu-west-1\n");
    char err[256];
    routes_t *r = routes_new(c, NULL, NULL, err, sizeof(err));

    (void)state;
    assert_non_null(r);
    assert_string_equal(aws_service_url(routes_at(r, 0)->aws),
                        "http://127.0.0.1:7");
    assert_string_equal(routes_at(r, 0)->scope, "region:eu-central-1");
    assert_string_equal(aws_service_url(routes_at(r, 1)->aws),
                        "https://email.eu-west-1.amazonaws.com");
    routes_free(r);
    conf_unref(c);
}

static void test_configuration_mistakes_are_refused(void **state)
{
    static const struct {
        const char *conf, *err;
    } v[] = {
        {"Region us-east-1\nFailoverRegion eu-west-1\n"
         "ReturnPathArn arn:aws:ses:us-east-1:1:identity/a\n",
         "ReturnPathArn has no ARN for eu-west-1"},
        {"EndpointId abc\nFromArn arn:aws:ses:us-east-1:1:identity/a\n",
         "FromArn has no ARN for global endpoint abc (arn:aws:ses:*:"},
        {"Region us-east-1\nRegionEndpoint eu-west-1 http://127.0.0.1:1\n",
         "RegionEndpoint eu-west-1: mail is not sent to that region"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
        conf_t *c = tu_conf(v[i].conf);
        char err[256] = "";
        assert_null(routes_new(c, NULL, NULL, err, sizeof(err)));
        if (strstr(err, v[i].err) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, v[i].err);
        conf_unref(c);
    }
}

static void test_only_a_failing_region_fails_over(void **state)
{
    static const status_t moves[] = {ST_TEMP_SERVER,  ST_TEMP_TIMEOUT,
                                     ST_TEMP_CONNECT, ST_TEMP_RESET,
                                     ST_TEMP_DNS,     ST_TEMP_TLS};
    static const status_t stays[] = {ST_OK,
                                     ST_PERM_REJECTED,
                                     ST_PERM_BAD_ADDRESS,
                                     ST_PERM_TOO_LARGE,
                                     ST_TEMP_THROTTLED,
                                     ST_TEMP_QUOTA,
                                     ST_TEMP_AUTH,
                                     ST_TEMP_CREDENTIALS,
                                     ST_TEMP_ACCOUNT_PAUSED,
                                     ST_TEMP_CONFIGSET_MISSING,
                                     ST_TEMP_IDENTITY,
                                     ST_TEMP_UNKNOWN,
                                     ST_TEMP_PROTOCOL};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(moves); i++)
        assert_true(route_fails_over(moves[i]));
    for (size_t i = 0; i < ARRAY_SIZE(stays); i++)
        assert_false(route_fails_over(stays[i]));
}

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

static void test_failover_breaker_skips_probes_and_fails_back(void **state)
{
    conf_t *c = tu_conf("Region us-east-1\n"
                        "FailoverRegion eu-west-1 us-west-2\n"
                        "FailoverProbeInterval 10s\n");
    char err[256];
    routes_t *r = routes_new(c, NULL, NULL, err, sizeof(err));
    hoststate_t *hs = hoststate_open_private();
    breaker_info_t info;

    (void)state;
    assert_non_null(r);
    assert_non_null(hs);
    fake_now = 1000000;
    hoststate_set_clock(hs, fake_clock);
    routes_use_state(r, hs);

    assert_int_equal(routes_check(r, 0, &info), ROUTE_TRY);
    /* throttling and refusals say nothing against the region */
    assert_int_equal(routes_outcome(r, 0, ROUTE_TRY, ST_TEMP_THROTTLED, true,
                                    "slow down", &info),
                     ROUTE_QUIET);
    assert_int_equal(routes_check(r, 0, &info), ROUTE_TRY);
    /* a regional failure opens it, once */
    assert_int_equal(
        routes_outcome(r, 0, ROUTE_TRY, ST_TEMP_SERVER, true, "SES 503", &info),
        ROUTE_OPENED);
    assert_int_equal(info.interval_ms, 10000);
    assert_int_equal(routes_check(r, 0, &info), ROUTE_SKIP);
    assert_string_equal(info.reason, "SES 503");
    assert_int_equal(routes_check(r, 1, &info), ROUTE_TRY);
    /* the last route is never skipped, its failures open nothing */
    assert_int_equal(routes_outcome(r, 2, ROUTE_TRY, ST_TEMP_CONNECT, false,
                                    "refused", &info),
                     ROUTE_QUIET);
    assert_int_equal(routes_check(r, 2, &info), ROUTE_TRY);

    /* after the interval one caller probes; the others still skip */
    fake_now += 10001;
    assert_int_equal(routes_check(r, 0, &info), ROUTE_PROBE);
    assert_int_equal(routes_check(r, 0, &info), ROUTE_SKIP);
    /* a probe that failed again: another interval, not a longer one */
    assert_int_equal(routes_outcome(r, 0, ROUTE_PROBE, ST_TEMP_TIMEOUT, false,
                                    "timeout", &info),
                     ROUTE_OPENED);
    assert_int_equal(info.interval_ms, 10000);
    fake_now += 10001;
    assert_int_equal(routes_check(r, 0, &info), ROUTE_PROBE);
    /* a probe with no answer about the region hands the probe on */
    routes_outcome(r, 0, ROUTE_PROBE, ST_TEMP_CREDENTIALS, false, "no keys",
                   &info);
    assert_int_equal(routes_check(r, 0, &info), ROUTE_PROBE);
    /* SES answered (here: refused the message): the region is back */
    assert_int_equal(routes_outcome(r, 0, ROUTE_PROBE, ST_PERM_REJECTED, true,
                                    "MessageRejected", &info),
                     ROUTE_RECOVERED);
    assert_int_equal(routes_check(r, 0, &info), ROUTE_TRY);

    routes_free(r);
    hoststate_close(hs);
    conf_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_global_endpoint_then_failover_regions),
        cmocka_unit_test(test_endpoint_overrides_the_primary_only),
        cmocka_unit_test(test_configuration_mistakes_are_refused),
        cmocka_unit_test(test_only_a_failing_region_fails_over),
        cmocka_unit_test(test_failover_breaker_skips_probes_and_fails_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
