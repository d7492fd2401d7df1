/* test_policies.c - the baseline policies on crafted input sequences (KPA's
 * panic mode, the forecaster's pre-scaling before a recurring daily ramp, the
 * oracle's lead before a known step), the registry's spec parsing, the
 * wrapper's clamping and placement override, and every baseline run on the
 * default scenario through the simulator.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env/queueing.h"
#include "env/scenario.h"
#include "env/sim.h"
#include "policies/hpa.h"
#include "policies/kpa.h"
#include "policies/oracle.h"
#include "policies/policy.h"
#include "policies/predictive.h"

/* ------------------------------------------------------------ a scenario */

/* One pool, one tenant, one service: 10 requests/s per replica, one request
 * at a time, 30 s cold start, 90 s node boot, step 15 s. */
struct s_world {
    struct rls_scenario sc;
    struct rls_node_pool pool;
    struct rls_tenant tenant;
    struct rls_service_spec svc;
};

static void s_world_init(struct s_world *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->pool.name, sizeof w->pool.name, "p0");
    w->pool.count = 16;
    w->pool.cpu = 8.0;
    w->pool.mem_gb = 32.0;
    w->pool.price_per_hour = 0.4;
    w->pool.boot_s = 90.0;
    w->pool.repair_s = 600.0;
    snprintf(w->tenant.name, sizeof w->tenant.name, "t0");
    w->tenant.weight = 1.0;
    snprintf(w->svc.name, sizeof w->svc.name, "s0");
    w->svc.capacity_rps = 10.0;
    w->svc.service_time_ms = 100.0;
    w->svc.cpu = 0.5;
    w->svc.mem_gb = 1.0;
    w->svc.cold_start_s = 30.0;
    w->svc.min_replicas = 1;
    w->svc.max_replicas = 100;
    w->svc.initial_replicas = 10;
    w->svc.slo_ms = 500.0;
    w->svc.slo_percentile = 0.95;
    w->svc.queue_limit = 10000;
    w->svc.load.kind = RLS_LOAD_CONST;
    w->svc.load.peak_rps = 50.0;
    snprintf(w->sc.name, sizeof w->sc.name, "test");
    w->sc.step_s = 15.0;
    w->sc.horizon_steps = 1000;
    w->sc.n_pools = 1;
    w->sc.pools = &w->pool;
    w->sc.n_tenants = 1;
    w->sc.tenants = &w->tenant;
    w->sc.n_services = 1;
    w->sc.services = &w->svc;
}

/* A one-service input whose replicas became ready at once (ready = desired). */
static void s_input(const struct s_world *w, struct rls_policy_input *in,
                    struct rls_svc_state *st, int64_t step, double arrival, int32_t desired)
{
    memset(in, 0, sizeof *in);
    memset(st, 0, sizeof *st);
    st->arrival_rps = arrival;
    st->rate_rps = arrival;
    st->desired = desired;
    st->ready = desired;
    double cap = desired * w->svc.capacity_rps;
    st->served_rps = arrival < cap ? arrival : cap;
    st->utilization = cap > 0 ? st->served_rps / cap : 1.0;
    in->scenario = &w->sc;
    in->step = step;
    in->time_s = (double)step * w->sc.step_s;
    in->services = st;
}

/* ------------------------------------------------------------------- KPA */

/* A 3x jump (70 -> 210 requests/s at 7 per pod) panics at once: desired
 * jumps to ceil(210 / 7) = 30; when the load falls back, the pods stay while
 * panicking (no scale-down in panic), and panic ends once a stable window
 * (60 s) has passed without the panic condition. */
static void test_kpa_panics_on_3x_jump_and_never_scales_down_in_panic(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_err err = {0};
    struct rls_policy *p = rls_kpa_new(NULL, &w.sc, &err);
    assert_non_null(p);
    struct rls_policy_input in;
    struct rls_svc_state st;
    int32_t desired[1];
    uint8_t placement[1];
    int32_t cur = 10;
    int64_t k = 0;
    for (; k < 10; k++) { /* steady: 70 rps = 10 pods at target */
        s_input(&w, &in, &st, k, 70.0, cur);
        assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
        cur = desired[0];
        assert_int_equal(cur, 10);
    }
    /* the jump: panic, desired = the panic window's 30 pods (stable says 15) */
    s_input(&w, &in, &st, k++, 210.0, cur);
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(desired[0], 30);
    cur = desired[0];
    /* calm again right away: desired stays 30 while the panic lasts */
    double calm_from = (double)k * w.sc.step_s;
    double last_panic = (double)(k - 1) * w.sc.step_s;
    int left_panic = 0;
    for (; k < 40; k++) {
        s_input(&w, &in, &st, k, 70.0, cur);
        assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
        double now = (double)k * w.sc.step_s;
        if (now <= last_panic + 60.0) {
            assert_int_equal(desired[0], 30); /* no scale-down in panic */
        } else if (!left_panic) {
            /* panic over: the stable window's average rules, at most halving */
            assert_true(desired[0] < 30);
            assert_true(desired[0] >= 15);
            left_panic = 1;
        }
        assert_true(desired[0] <= cur || now <= last_panic + 60.0);
        cur = desired[0];
    }
    (void)calm_from;
    assert_true(left_panic);
    assert_int_equal(cur, 10); /* back to the steady size */
    rls_policy_destroy(&p);
}

/* Without panic, scale-down is at most halving per decision
 * (max-scale-down-rate 2) and follows the 60 s stable window. */
static void test_kpa_scales_down_at_most_by_half(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_policy *p = rls_kpa_new(NULL, &w.sc, NULL);
    assert_non_null(p);
    struct rls_policy_input in;
    struct rls_svc_state st;
    int32_t desired[1];
    uint8_t placement[1];
    int32_t cur = 40;
    for (int64_t k = 0; k < 4; k++) {
        s_input(&w, &in, &st, k, 280.0, cur);
        assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
        cur = desired[0];
    }
    assert_int_equal(cur, 40);
    for (int64_t k = 4; k < 12; k++) {
        s_input(&w, &in, &st, k, 7.0, cur);
        assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
        assert_true(desired[0] >= cur / 2);
        assert_true(desired[0] <= cur);
        cur = desired[0];
    }
    assert_int_equal(cur, 1);
    rls_policy_destroy(&p);
}

static void test_kpa_refuses_bad_params(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_kpa_params kp = rls_kpa_default_params();
    kp.max_scale_down_rate = 1.0;
    struct rls_err err = {0};
    assert_null(rls_kpa_new(&kp, &w.sc, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "max_scale_down_rate"));
}

/* ------------------------------------------------------------ predictive */

/* 100 + 30 sin(day) requests/s plus a daily ramp 09:00-09:05 to +300 held
 * until 12:00; a small deterministic wobble so the residual is not zero. */
static double s_daily(double t)
{
    double tod = fmod(t, 86400.0);
    double r = 100.0 + 30.0 * sin(2.0 * M_PI * tod / 86400.0);
    if (tod >= 32400.0 && tod < 32700.0)
        r += 300.0 * (tod - 32400.0) / 300.0;
    else if (tod >= 32700.0 && tod < 43200.0)
        r += 300.0;
    else if (tod >= 43200.0 && tod < 43500.0)
        r += 300.0 * (1.0 - (tod - 43200.0) / 300.0);
    return r * (1.0 + 0.02 * sin(t * 0.7));
}

/* Two days of history teach the forecaster the 09:00 ramp: on day 3 it has
 * already scaled up a minute before the ramp starts, for the load 45 s into
 * it, while on day 1 (no history) it had not. */
static void test_predictive_scales_up_before_a_recurring_daily_ramp(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_err err = {0};
    struct rls_policy *p = rls_predictive_new(NULL, &w.sc, &err);
    assert_non_null(p);
    struct rls_policy_input in;
    struct rls_svc_state st;
    int32_t desired[1];
    uint8_t placement[1];
    int32_t cur = 10;
    const int64_t per_day = 5760;
    const int64_t probe = 32340 / 15; /* decision at 08:59 */
    int32_t day1 = -1, day3 = -1;
    for (int64_t k = 0; k <= 2 * per_day + probe; k++) {
        double t = (double)k * w.sc.step_s;
        double arrival = s_daily(t - w.sc.step_s); /* the step that just ended */
        s_input(&w, &in, &st, k, arrival, cur);
        assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
        cur = desired[0];
        assert_true(cur >= w.svc.min_replicas && cur <= w.svc.max_replicas);
        if (k == probe)
            day1 = cur;
        if (k == 2 * per_day + probe)
            day3 = cur;
    }
    int32_t now_need = rls_queueing_demand(&w.svc, s_daily(32340.0));
    int32_t ramp_need = rls_queueing_demand(&w.svc, s_daily(32400.0 + 45.0));
    print_message("predictive: now %d, 45 s into the ramp %d, day 1 %d, day 3 %d\n", now_need,
                  ramp_need, day1, day3);
    assert_true(ramp_need > now_need + 2);
    assert_true(day1 < ramp_need);   /* no history: only what the present needs */
    assert_true(day3 >= ramp_need);  /* history: provisioned ahead of the ramp */
    assert_true(day3 > day1);
    rls_policy_destroy(&p);
}

/* Never below the reactive need, scale-down at most 10% (or 1) per step. */
static void test_predictive_follows_load_and_scales_down_gradually(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_policy *p = rls_predictive_new(NULL, &w.sc, NULL);
    assert_non_null(p);
    struct rls_policy_input in;
    struct rls_svc_state st;
    int32_t desired[1];
    uint8_t placement[1];
    int32_t cur = 10;
    for (int64_t k = 0; k < 200; k++) {
        double rate = k < 100 ? 500.0 : 50.0;
        s_input(&w, &in, &st, k, rate, cur);
        assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
        assert_true(desired[0] >= rls_queueing_demand(&w.svc, rate));
        if (desired[0] < cur) {
            int32_t step = (int32_t)floor(cur * 0.1);
            assert_true(cur - desired[0] <= (step > 1 ? step : 1));
        }
        cur = desired[0];
    }
    assert_true(cur < 20);
    rls_policy_destroy(&p);
}

/* ---------------------------------------------------------------- oracle */

static double s_step_rate(const void *ctx, int32_t svc, int64_t step)
{
    (void)ctx;
    (void)svc;
    return (step >= 100 && step < 200) ? 200.0 : 20.0;
}

/* The oracle orders replicas L = ceil(30/15) + ceil(90/15) = 8 steps before a
 * step change in the load and releases them right after it. */
static void test_oracle_prescales_lead_steps_before_a_step_change(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_err err = {0};
    struct rls_policy *p = rls_oracle_new(NULL, &w.sc, &err);
    assert_non_null(p);
    assert_int_equal(rls_policy_needs_future(p), 1);
    int32_t lo = rls_queueing_demand(&w.svc, 20.0 + 2.0 * sqrt(20.0 / 15.0));
    int32_t hi = rls_queueing_demand(&w.svc, 200.0 + 2.0 * sqrt(200.0 / 15.0));
    assert_true(hi > lo);
    struct rls_policy_input in;
    struct rls_svc_state st;
    int32_t desired[1];
    uint8_t placement[1];
    int32_t cur = 10;
    for (int64_t k = 0; k < 260; k++) {
        s_input(&w, &in, &st, k, s_step_rate(NULL, 0, k), cur);
        in.future_rate = s_step_rate;
        assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
        assert_int_equal(placement[0], RLS_PLACE_BINPACK);
        int32_t expect = (k >= 100 - 8 && k < 200) ? hi : lo;
        assert_int_equal(desired[0], expect);
        cur = desired[0];
    }
    /* without future_rate it refuses */
    s_input(&w, &in, &st, 0, 20.0, cur);
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_ERR_INVALID);
    assert_non_null(strstr(rls_policy_errmsg(p), "future_rate"));
    rls_policy_destroy(&p);
}

/* ------------------------------------------------------- registry, wrapper */

static void test_registry_builds_every_baseline(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    const char *specs[] = {"static", "static:3", "hpa", "kpa", "predictive", "oracle"};
    const char *kinds[] = {"static", "static", "hpa", "kpa", "predictive", "oracle"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        struct rls_err err = {0};
        struct rls_policy *p = rls_policy_new(specs[i], &w.sc, &err);
        assert_non_null(p);
        assert_string_equal(rls_policy_kind(p), kinds[i]);
        assert_string_equal(rls_policy_name(p), specs[i]);
        assert_string_equal(rls_policy_errmsg(p), "");
        rls_policy_destroy(&p);
        assert_null(p);
    }
    rls_policy_destroy(NULL);
}

static void test_registry_refuses_unknown_names_and_bad_options(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_err err = {0};
    assert_null(rls_policy_new("x", &w.sc, &err));
    assert_string_equal(err.msg,
                        "unknown policy 'x' (known: static, hpa, kpa, predictive, oracle-step (oracle), "
                        "oracle-budget, hpa-tuned, FILE.h5)");
    const char *bad[] = {"", "hpa@diagonal", "static:x", "static:-1", "static:", "hpa:3",
                         "oracle:1@binpack", "hpa-tuned", "HPA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_null(rls_policy_new(bad[i], &w.sc, &err));
        assert_true(err.status < 0);
        assert_true(err.msg[0] != '\0');
    }
    assert_null(rls_policy_new("hpa", NULL, &err));
}

/* static:N is clamped to [min, max]; "@binpack" overrides the placement and
 * names the policy; "static" sizes each service for its load's peak. */
static void test_wrapper_clamps_and_overrides_placement(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_policy_input in;
    struct rls_svc_state st;
    int32_t desired[1];
    uint8_t placement[1];
    s_input(&w, &in, &st, 0, 50.0, 10);

    struct rls_policy *p = rls_policy_new("static:1000@binpack", &w.sc, NULL);
    assert_non_null(p);
    assert_string_equal(rls_policy_name(p), "static:1000@binpack");
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(desired[0], 100);
    assert_int_equal(placement[0], RLS_PLACE_BINPACK);
    rls_policy_destroy(&p);

    p = rls_policy_new("static:0", &w.sc, NULL);
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(desired[0], 1);
    assert_int_equal(placement[0], RLS_PLACE_SPREAD);
    rls_policy_destroy(&p);

    p = rls_policy_new("static", &w.sc, NULL);
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(desired[0], rls_queueing_demand(&w.svc, 50.0));
    rls_policy_destroy(&p);

    p = rls_policy_new("oracle@spread", &w.sc, NULL);
    in.future_rate = s_step_rate;
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(placement[0], RLS_PLACE_SPREAD);
    rls_policy_set_placement(p, -1);
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(placement[0], RLS_PLACE_BINPACK);
    rls_policy_destroy(&p);

    p = rls_policy_new("hpa", &w.sc, NULL);
    assert_int_equal(rls_policy_decide(p, NULL, desired, placement), RLS_ERR_INVALID);
    assert_true(rls_policy_errmsg(p)[0] != '\0');
    rls_policy_destroy(&p);
}

/* The HPA policy reads utilization, ready/starting/pending and spec.replicas
 * from the state: 10 ready at 100% busy of a 70% target -> ceil(10/0.7) = 15. */
static void test_hpa_policy_scales_from_the_state(void **state)
{
    (void)state;
    struct s_world w;
    s_world_init(&w);
    struct rls_policy *p = rls_hpa_new(NULL, &w.sc, NULL);
    assert_non_null(p);
    struct rls_policy_input in;
    struct rls_svc_state st;
    int32_t desired[1];
    uint8_t placement[1];
    s_input(&w, &in, &st, 0, 100.0, 10); /* 100% busy */
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(desired[0], 15);
    /* 5 of them still starting: they count as 0% -> 1000/15 = 66% -> hold */
    s_input(&w, &in, &st, 1, 100.0, 15);
    st.ready = 10;
    st.starting = 5;
    st.utilization = 1.0;
    assert_int_equal(rls_policy_decide(p, &in, desired, placement), RLS_OK);
    assert_int_equal(desired[0], 15);
    rls_policy_destroy(&p);
}

/* ------------------------------------------------------------ integration */

static double s_sim_rate(const void *ctx, int32_t svc, int64_t step)
{
    return rls_sim_rate_at((const struct rls_sim *)ctx, svc, step);
}

/* Runs spec for n steps; returns the cost, checks desired within bounds. */
static double s_run(const char *spec, const struct rls_scenario *sc, struct rls_sim *sim,
                    int64_t n)
{
    struct rls_err err = {0};
    struct rls_policy *p = rls_policy_new(spec, sc, &err);
    if (p == NULL)
        fail_msg("%s: %s", spec, err.msg);
    int32_t ns = sc->n_services;
    int32_t *desired = calloc((size_t)ns, sizeof *desired);
    uint8_t *placement = calloc((size_t)ns, sizeof *placement);
    assert_non_null(desired);
    assert_non_null(placement);
    assert_int_equal(rls_sim_reset(sim, 7), RLS_OK);
    assert_int_equal(rls_policy_reset(p, sc), RLS_OK);
    double cost = 0.0;
    for (int64_t k = 0; k < n; k++) {
        struct rls_policy_input in;
        memset(&in, 0, sizeof in);
        in.scenario = rls_sim_scenario(sim);
        in.step = rls_sim_steps(sim);
        in.time_s = rls_sim_time_s(sim);
        in.services = rls_sim_services(sim);
        in.nodes = rls_sim_nodes(sim);
        in.n_nodes = rls_sim_n_nodes(sim);
        if (rls_policy_needs_future(p)) {
            in.future_rate = s_sim_rate;
            in.future_ctx = sim;
        }
        int rc = rls_policy_decide(p, &in, desired, placement);
        if (rc != RLS_OK)
            fail_msg("%s step %lld: %s", spec, (long long)k, rls_policy_errmsg(p));
        for (int32_t i = 0; i < ns; i++) {
            assert_true(desired[i] >= sc->services[i].min_replicas);
            assert_true(desired[i] <= sc->services[i].max_replicas);
            assert_true(placement[i] < RLS_PLACE_COUNT);
        }
        assert_int_equal(rls_sim_step(sim, desired, placement), RLS_OK);
        cost += rls_sim_last(sim)->cost_usd;
    }
    free(desired);
    free(placement);
    rls_policy_destroy(&p);
    return cost;
}

static void test_every_baseline_runs_on_the_default_scenario(void **state)
{
    (void)state;
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    if (rls_scenario_load("default", &sc, &err) != RLS_OK || sc == NULL) {
        print_message("default scenario does not load (%s): skipped\n", err.msg);
        skip();
    }
    struct rls_sim *sim = rls_sim_new(sc, &err);
    if (sim == NULL) {
        rls_scenario_destroy(&sc);
        fail_msg("rls_sim_new: %s", err.msg);
    }
    const int64_t n = 480; /* two hours of 15 s steps */
    double c_static = s_run("static", sc, sim, n);
    double c_hpa = s_run("hpa", sc, sim, n);
    double c_kpa = s_run("kpa", sc, sim, n);
    double c_pred = s_run("predictive", sc, sim, n);
    double c_oracle = s_run("oracle", sc, sim, n);
    print_message("cost over %lld steps: static %.3f hpa %.3f kpa %.3f predictive %.3f "
                  "oracle %.3f\n", (long long)n, c_static, c_hpa, c_kpa, c_pred, c_oracle);
    assert_true(c_oracle > 0.0);
    assert_true(c_oracle < c_static);
    assert_true(c_hpa > 0.0 && c_kpa > 0.0 && c_pred > 0.0);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpa_panics_on_3x_jump_and_never_scales_down_in_panic),
        cmocka_unit_test(test_kpa_scales_down_at_most_by_half),
        cmocka_unit_test(test_kpa_refuses_bad_params),
        cmocka_unit_test(test_predictive_scales_up_before_a_recurring_daily_ramp),
        cmocka_unit_test(test_predictive_follows_load_and_scales_down_gradually),
        cmocka_unit_test(test_oracle_prescales_lead_steps_before_a_step_change),
        cmocka_unit_test(test_registry_builds_every_baseline),
        cmocka_unit_test(test_registry_refuses_unknown_names_and_bad_options),
        cmocka_unit_test(test_wrapper_clamps_and_overrides_placement),
        cmocka_unit_test(test_hpa_policy_scales_from_the_state),
        cmocka_unit_test(test_every_baseline_runs_on_the_default_scenario),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
