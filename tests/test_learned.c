/* test_learned.c - the controller around a learned policy (policies/learned.h):
 * the scale-down stabilization window (hold), the reactive floor, the spec
 * options that set them, the SLO floor and the budget tracker, and that the
 * controller off reproduces the network's own choice. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "env/env.h"
#include "env/scenario.h"
#include "env/sim.h"
#include "policies/checkpoint.h"
#include "policies/learned.h"
#include "policies/policy.h"
#include "env/queueing.h"

/* A one-layer checkpoint with zero weights whose bias makes `delta` (spread)
 * the network's choice in every state. */
static struct rls_checkpoint *s_always(int32_t delta)
{
    int32_t sizes[2] = {RLS_ENV_N_FEATURES, 18};
    struct rls_err err;
    struct rls_checkpoint *ck = rls_checkpoint_new(1, sizes, &err);
    assert_non_null(ck);
    snprintf(ck->algorithm, sizeof(ck->algorithm), "bc");
    for (int32_t j = 0; j < ck->n_deltas; j++)
        if (ck->deltas[j] == delta)
            ck->bias[0][j * 2] = 10.0f;
    return ck;
}

/* One service, constant load peak_rps, capacity 10 rps per replica. */
static struct rls_scenario *s_scenario(double peak_rps, int32_t initial)
{
    struct rls_scenario *sc = rls_scenario_new(1, 1, 1);
    assert_non_null(sc);
    sc->pools[0].count = 8;
    sc->horizon_steps = 100;
    sc->services[0].load.kind = RLS_LOAD_CONST;
    sc->services[0].load.peak_rps = peak_rps;
    sc->services[0].capacity_rps = 10.0;
    sc->services[0].initial_replicas = initial;
    sc->services[0].min_replicas = 1;
    sc->services[0].max_replicas = 30;
    return sc;
}

/* Runs n decisions of p on a simulator of sc; desired_out[k] = decision k. */
static void s_run(struct rls_policy *p, const struct rls_scenario *sc, int n, int32_t *desired_out)
{
    struct rls_err err;
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
    assert_int_equal(rls_policy_reset(p, rls_sim_scenario(sim)), RLS_OK);
    for (int k = 0; k < n; k++) {
        struct rls_policy_input in;
        int32_t desired[1];
        uint8_t placement[1];
        memset(&in, 0, sizeof(in));
        in.scenario = rls_sim_scenario(sim);
        in.step = k;
        in.time_s = rls_sim_time_s(sim);
        in.services = rls_sim_services(sim);
        in.nodes = rls_sim_nodes(sim);
        in.n_nodes = rls_sim_n_nodes(sim);
        if (rls_policy_decide(p, &in, desired, placement) != RLS_OK)
            fail_msg("decide: %s", rls_policy_errmsg(p));
        desired_out[k] = desired[0];
        assert_int_equal(rls_sim_step(sim, desired, placement), RLS_OK);
    }
    rls_sim_destroy(&sim);
}

static void test_hold_waits_for_a_whole_window_before_scaling_down(void **state)
{
    struct rls_checkpoint *ck = s_always(-1);
    struct rls_scenario *sc = s_scenario(10.0, 12);   /* far more replicas than the load needs */
    struct rls_learned_params lp = rls_learned_default_params();
    struct rls_err err;
    int32_t d[12];
    (void)state;
    /* off: the network's -1 every decision */
    lp.hold_steps = 0;
    lp.floor_util = 0.0;
    struct rls_policy *p = rls_learned_from_checkpoint_with(ck, "raw", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 4, d);
    assert_int_equal(d[0], 11);
    assert_int_equal(d[3], 8);
    rls_policy_destroy(&p);
    /* hold 4: one step down per 4 decisions, the first one too */
    lp.hold_steps = 4;
    p = rls_learned_from_checkpoint_with(ck, "held", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 12, d);
    assert_int_equal(d[0], 12);
    assert_int_equal(d[2], 12);
    assert_int_equal(d[3], 11);
    assert_int_equal(d[6], 11);
    assert_int_equal(d[7], 10);
    assert_int_equal(d[11], 9);
    /* a reset forgets the window */
    s_run(p, sc, 4, d);
    assert_int_equal(d[2], 12);
    assert_int_equal(d[3], 11);
    rls_policy_destroy(&p);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

static void test_hold_never_delays_a_scale_up(void **state)
{
    struct rls_checkpoint *ck = s_always(2);
    struct rls_scenario *sc = s_scenario(10.0, 2);
    struct rls_err err;
    int32_t d[3];
    (void)state;
    struct rls_policy *p = rls_learned_from_checkpoint_with(ck, "up", NULL, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 3, d);
    assert_int_equal(d[0], 4);
    assert_int_equal(d[1], 6);
    assert_int_equal(d[2], 8);
    rls_policy_destroy(&p);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

static void test_floor_meets_a_spike_the_network_ignores(void **state)
{
    struct rls_checkpoint *ck = s_always(0);
    struct rls_scenario *sc = s_scenario(95.0, 2);    /* 95 rps: 10 replicas at 95% */
    struct rls_learned_params lp = rls_learned_default_params();
    struct rls_err err;
    int32_t d[3];
    (void)state;
    lp.floor_util = 0.0;
    struct rls_policy *p = rls_learned_from_checkpoint_with(ck, "nofloor", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 3, d);
    assert_int_equal(d[2], 2);                         /* the network holds: 2 */
    rls_policy_destroy(&p);
    lp.floor_util = 0.95;
    p = rls_learned_from_checkpoint_with(ck, "floor", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 3, d);
    /* after the first step the arrivals (~95 rps, Poisson) need about 10 */
    assert_in_range(d[1], 9, 12);
    assert_in_range(d[2], 9, 12);
    rls_policy_destroy(&p);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

/* The SLO floor (slo=1): the queueing model's replicas for the SLO at the
 * current arrivals, where the utilization floor alone lets the network shed
 * replicas down to what 95% utilization needs. */
static void test_slo_floor_stops_a_scale_down_that_would_break_the_slo(void **state)
{
    struct rls_checkpoint *ck = s_always(-1);
    struct rls_scenario *sc = s_scenario(95.0, 24);
    struct rls_learned_params lp = rls_learned_default_params();
    struct rls_err err;
    int32_t d[40];
    (void)state;
    sc->services[0].service_time_ms = 400.0;   /* 4 requests at once per replica */
    sc->services[0].slo_ms = 600.0;
    sc->services[0].slo_percentile = 0.99;
    int32_t need = rls_queueing_demand(&sc->services[0], 95.0);
    int32_t need_lo = rls_queueing_demand(&sc->services[0], 0.85 * 95.0 / 1.1);
    assert_true(need >= 12);                   /* the SLO wants more than 95% utilization's 10 */
    lp.hold_steps = 0;
    struct rls_policy *p = rls_learned_from_checkpoint_with(ck, "util", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 40, d);
    int32_t lowest = 1000;
    for (int k = 20; k < 40; k++)
        lowest = d[k] < lowest ? d[k] : lowest;
    assert_true(lowest < need_lo);             /* the utilization floor lets it go lower */
    rls_policy_destroy(&p);
    lp.slo_floor = 1;
    p = rls_learned_from_checkpoint_with(ck, "slo", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 40, d);
    for (int k = 1; k < 40; k++)
        assert_true(d[k] >= need_lo);
    assert_true(d[39] <= need + 2);            /* and it still sheds what the SLO does not need */
    rls_policy_destroy(&p);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

/* The budget tracker (budget=G): a service over its violation budget gets
 * more replicas than the same controller without it. */
static void test_budget_tracker_adds_headroom_when_over_budget(void **state)
{
    struct rls_checkpoint *ck = s_always(-1);
    struct rls_scenario *sc = s_scenario(95.0, 10);
    struct rls_learned_params lp = rls_learned_default_params();
    struct rls_err err;
    int32_t d0[60], d1[60];
    (void)state;
    sc->services[0].service_time_ms = 400.0;
    sc->services[0].slo_ms = 600.0;
    sc->services[0].slo_percentile = 0.99;     /* 95% utilization breaks a 1% budget */
    lp.hold_steps = 0;
    struct rls_policy *p = rls_learned_from_checkpoint_with(ck, "plain", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 60, d0);
    rls_policy_destroy(&p);
    lp.budget_gain = 2.0;
    p = rls_learned_from_checkpoint_with(ck, "budget", &lp, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 60, d1);
    rls_policy_destroy(&p);
    int32_t m0 = 0, m1 = 0;
    for (int k = 30; k < 60; k++) {
        m0 = d0[k] > m0 ? d0[k] : m0;
        m1 = d1[k] > m1 ? d1[k] : m1;
    }
    assert_true(m1 > m0);
    assert_true(m1 <= 2 * m0 + 2);             /* the headroom is capped at 2x */
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

static void test_spec_options_set_the_controller_and_bad_ones_are_refused(void **state)
{
    struct rls_checkpoint *ck = s_always(-1);
    struct rls_scenario *sc = s_scenario(10.0, 12);
    struct rls_err err;
    char path[256], spec[400];
    int32_t d[4];
    (void)state;
    snprintf(path, sizeof path, "/tmp/rls_test_learned_%d.h5", (int)getpid());
    assert_int_equal(rls_checkpoint_save(ck, path, &err), RLS_OK);
    snprintf(spec, sizeof spec, "%s:hold=0:floor=0@binpack", path);
    struct rls_policy *p = rls_policy_new(spec, sc, &err);
    assert_non_null(p);
    assert_string_equal(rls_policy_name(p), spec);
    s_run(p, sc, 4, d);
    assert_int_equal(d[3], 8);                         /* no hold: down every decision */
    rls_policy_destroy(&p);
    snprintf(spec, sizeof spec, "%s:hold=2", path);
    p = rls_policy_new(spec, sc, &err);
    assert_non_null(p);
    s_run(p, sc, 4, d);
    assert_int_equal(d[0], 12);
    assert_int_equal(d[1], 11);
    rls_policy_destroy(&p);
    snprintf(spec, sizeof spec, "%s:slo=1:budget=2:window=3600", path);
    p = rls_policy_new(spec, sc, &err);
    assert_non_null(p);
    rls_policy_destroy(&p);
    const char *bad[] = {":hold=-1", ":hold=1.5", ":floor=2", ":bogus=1", ":hold", ":hold=", ":hold=x",
                         ":slo=2", ":budget=-1", ":budget=101", ":window=0"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(spec, sizeof spec, "%s%s", path, bad[k]);
        rls_err_clear(&err);
        assert_null(rls_policy_new(spec, sc, &err));
        assert_int_equal(err.status, RLS_ERR_INVALID);
        assert_non_null(strstr(err.msg, "option"));
    }
    unlink(path);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hold_waits_for_a_whole_window_before_scaling_down),
        cmocka_unit_test(test_hold_never_delays_a_scale_up),
        cmocka_unit_test(test_floor_meets_a_spike_the_network_ignores),
        cmocka_unit_test(test_slo_floor_stops_a_scale_down_that_would_break_the_slo),
        cmocka_unit_test(test_budget_tracker_adds_headroom_when_over_budget),
        cmocka_unit_test(test_spec_options_set_the_controller_and_bad_ones_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
