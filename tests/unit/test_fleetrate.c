/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fleetrate.c - the host's share of the account's send rate: cut on
 * SES's throttling (once per burst), raised while SES accepts, kept
 * between the floor and MaxSendRate, shared by every handle of the host
 */
#include "config.h"

#include "testutil.h"
#include "ses_fleetrate.h"

#include <math.h>

static int64_t now_ms = 1000000;

static int64_t test_clock(void)
{
    return now_ms;
}

static hoststate_t *state(void)
{
    hoststate_t *hs = hoststate_open_private();

    assert_non_null(hs);
    hoststate_set_clock(hs, test_clock);
    return hs;
}

static void test_rate_starts_at_max_send_rate(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *f = fleetrate_new(hs, "eu-west-1", 30);

    assert_true(fleetrate_rate(f) == 30);
    assert_null(fleetrate_new(hs, "eu-west-1", 0)); /* no MaxSendRate */
    fleetrate_free(f);
    hoststate_close(hs);
}

static void test_throttling_cuts_once_per_burst(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *f = fleetrate_new(hs, "eu-west-1", 30);
    fleetrate_stats_t s;

    fleetrate_throttled(f);
    assert_true(fleetrate_rate(f) == 30 * FLEETRATE_CUT);
    now_ms += FLEETRATE_HOLD_MS - 1; /* the same burst */
    fleetrate_throttled(f);
    assert_true(fleetrate_rate(f) == 30 * FLEETRATE_CUT);
    now_ms += 1;
    fleetrate_throttled(f);
    assert_true(fleetrate_rate(f) == 30 * FLEETRATE_CUT * FLEETRATE_CUT);
    fleetrate_stats(f, &s);
    assert_int_equal(s.throttled, 3);
    assert_int_equal(s.cuts, 2);
    fleetrate_free(f);
    hoststate_close(hs);
}

static void test_rate_never_falls_below_the_floor(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *f = fleetrate_new(hs, "", 50);

    for (int i = 0; i < 100; i++) {
        fleetrate_throttled(f);
        now_ms += FLEETRATE_HOLD_MS;
    }
    assert_true(fleetrate_rate(f) == 50 * FLEETRATE_MIN);
    fleetrate_free(f);
    hoststate_close(hs);
}

static void test_accepted_calls_raise_it_back_to_the_maximum(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *f = fleetrate_new(hs, "", 30);
    double before, after;

    fleetrate_throttled(f);
    before = fleetrate_rate(f); /* 21 */
    now_ms += 1000;
    fleetrate_accepted(f); /* the raise counts from the cut */
    after = fleetrate_rate(f);
    assert_true(after > before);
    /* a second after the cut: growth already 1 + 1/RAMP_S as fast */
    assert_true(fabs(after - (before + FLEETRATE_ADD * 30 +
                              FLEETRATE_GROW * (1 + 1 / FLEETRATE_RAMP_S) *
                                  before)) < 1e-9);
    now_ms += 3600 * 1000; /* idle for an hour: at most a second counts */
    fleetrate_accepted(f);
    assert_true(fleetrate_rate(f) <=
                after + FLEETRATE_ADD * 30 +
                    FLEETRATE_GROW * FLEETRATE_RAMP_MAX * after + 1e-9);
    for (int i = 0; i < 200; i++) {
        now_ms += 1000;
        fleetrate_accepted(f);
    }
    assert_true(fleetrate_rate(f) == 30); /* never above MaxSendRate */
    fleetrate_free(f);
    hoststate_close(hs);
}

static void test_growth_speeds_up_the_longer_ses_is_calm(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *f = fleetrate_new(hs, "", 100);
    double r0, early, late;

    fleetrate_throttled(f);
    r0 = fleetrate_rate(f);
    now_ms += 1000;
    fleetrate_accepted(f);
    early = fleetrate_rate(f) - r0; /* a second's growth just after */
    for (int i = 0; i < 30; i++) {
        now_ms += 1000;
        fleetrate_accepted(f);
    }
    fleetrate_throttled(f); /* back to a comparable rate ... */
    now_ms += 30000;        /* ... but 30 s of calm before the next raise */
    r0 = fleetrate_rate(f);
    fleetrate_accepted(f);
    late = fleetrate_rate(f) - r0;
    assert_true(late > 2 * early);
    fleetrate_free(f);
    hoststate_close(hs);
}

static void test_every_handle_of_the_host_shares_the_rate(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *a = fleetrate_new(hs, "us-east-1", 40);
    fleetrate_t *b = fleetrate_new(hs, "us-east-1", 40);
    fleetrate_t *other = fleetrate_new(hs, "eu-west-1", 40);

    fleetrate_throttled(a);
    assert_true(fleetrate_rate(b) == 40 * FLEETRATE_CUT);
    assert_true(fleetrate_rate(other) == 40); /* another account rate */
    fleetrate_free(a);
    fleetrate_free(b);
    fleetrate_free(other);
    hoststate_close(hs);
}

static void test_a_lower_max_send_rate_caps_the_rate(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *f = fleetrate_new(hs, "", 100);

    fleetrate_set_max(f, 10);
    assert_true(fleetrate_rate(f) == 10);
    fleetrate_free(f);
    hoststate_close(hs);
}

static void test_an_earlier_boot_keeps_the_rate_not_the_times(void **st)
{
    hoststate_t *hs = state();
    fleetrate_t *f = fleetrate_new(hs, "", 30);

    hoststate_set_boot(hs, 1);
    fleetrate_throttled(f);
    hoststate_set_boot(hs, 2); /* a reboot: the cut's time means nothing */
    now_ms = 5;
    fleetrate_throttled(f); /* not held back by a time of another boot */
    assert_true(fleetrate_rate(f) == 30 * FLEETRATE_CUT * FLEETRATE_CUT);
    fleetrate_free(f);
    hoststate_close(hs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_starts_at_max_send_rate),
        cmocka_unit_test(test_throttling_cuts_once_per_burst),
        cmocka_unit_test(test_rate_never_falls_below_the_floor),
        cmocka_unit_test(test_accepted_calls_raise_it_back_to_the_maximum),
        cmocka_unit_test(test_growth_speeds_up_the_longer_ses_is_calm),
        cmocka_unit_test(test_every_handle_of_the_host_shares_the_rate),
        cmocka_unit_test(test_a_lower_max_send_rate_caps_the_rate),
        cmocka_unit_test(test_an_earlier_boot_keeps_the_rate_not_the_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
