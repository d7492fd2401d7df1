/* test_sim.c - the step simulator: determinism, conservation of requests,
 * cold starts, capacity limits and node boot, failures, drops, placement. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env/sim.h"

/* One service on a constant load, nodes that never fail. */
static struct rls_scenario *s_const_scenario(double rate, int32_t nodes, double node_cpu)
{
    struct rls_scenario *sc = rls_scenario_new(1, 1, 1);
    assert_non_null(sc);
    sc->step_s = 15;
    sc->horizon_steps = 200;
    sc->poisson_noise = 0;
    sc->node_idle_s = 60;
    sc->pools[0].count = nodes;
    sc->pools[0].min_on = 1;
    sc->pools[0].cpu = node_cpu;
    sc->pools[0].mem_gb = 64;
    sc->pools[0].mtbf_h = 0;
    sc->pools[0].boot_s = 60;
    struct rls_service_spec *s = &sc->services[0];
    s->tenant = 0;
    s->capacity_rps = 50;
    s->service_time_ms = 20; /* k = 1 */
    s->cpu = 1;
    s->mem_gb = 1;
    s->cold_start_s = 30;
    s->min_replicas = 1;
    s->max_replicas = 40;
    s->initial_replicas = 2;
    s->slo_ms = 200;
    s->slo_percentile = 0.95;
    s->queue_limit = 1000;
    s->load.kind = RLS_LOAD_CONST;
    s->load.peak_rps = rate;
    return sc;
}

static void s_step_n(struct rls_sim *sim, int n, int32_t desired, uint8_t place)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(rls_sim_step(sim, &desired, &place), RLS_OK);
}

static void test_same_seed_same_trajectory_different_seed_differs(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = rls_scenario_new(1, 2, 3);
    assert_non_null(sc);
    sc->horizon_steps = 300;
    sc->poisson_noise = 1;
    sc->pools[0].mtbf_h = 2; /* frequent failures exercise the failure stream */
    struct rls_sim *a = rls_sim_new(sc, &err), *b = rls_sim_new(sc, &err), *c = rls_sim_new(sc, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(rls_sim_reset(a, 7), RLS_OK);
    assert_int_equal(rls_sim_reset(b, 7), RLS_OK);
    assert_int_equal(rls_sim_reset(c, 8), RLS_OK);
    int differs = 0;
    for (int t = 0; t < 300; t++) {
        int32_t want[3] = {2 + t % 5, 3, 1 + (t / 10) % 4};
        assert_int_equal(rls_sim_step(a, want, NULL), RLS_OK);
        assert_int_equal(rls_sim_step(b, want, NULL), RLS_OK);
        assert_int_equal(rls_sim_step(c, want, NULL), RLS_OK);
        assert_memory_equal(rls_sim_services(a), rls_sim_services(b), 3 * sizeof(struct rls_svc_state));
        assert_memory_equal(rls_sim_last(a), rls_sim_last(b), sizeof(struct rls_step_info));
        differs |= rls_sim_services(a)[0].arrival_rps != rls_sim_services(c)[0].arrival_rps;
    }
    assert_true(differs);
    rls_sim_destroy(&a);
    rls_sim_destroy(&b);
    rls_sim_destroy(&c);
    assert_null(a);
    rls_sim_destroy(&a); /* twice is fine */
    rls_scenario_destroy(&sc);
}

/* arrivals = served + dropped + final backlog, summed over a run that overloads */
static void test_requests_are_conserved(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = s_const_scenario(400, 4, 8);
    sc->poisson_noise = 1;
    sc->services[0].queue_limit = 3000;
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 3), RLS_OK);
    double arr = 0, served = 0, dropped = 0;
    for (int t = 0; t < 120; t++) {
        int32_t d = t < 60 ? 4 : 12; /* 4 x 50 = 200 rps < 400: overload first */
        assert_int_equal(rls_sim_step(sim, &d, NULL), RLS_OK);
        const struct rls_step_info *in = rls_sim_last(sim);
        arr += in->arrivals;
        served += in->served;
        dropped += in->dropped;
    }
    double backlog = rls_sim_services(sim)[0].backlog;
    assert_true(dropped > 0);
    assert_float_equal(arr, served + dropped + backlog, 1e-6 * arr);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

/* cold start 30 s at a 15 s step: new replicas serve from the third step */
static void test_cold_start_delays_new_replicas(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = s_const_scenario(100, 4, 8);
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
    assert_int_equal(rls_sim_services(sim)[0].ready, 2);
    int32_t d = 6;
    uint8_t p = RLS_PLACE_SPREAD;
    assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
    assert_int_equal(rls_sim_services(sim)[0].ready, 2);
    assert_int_equal(rls_sim_services(sim)[0].starting, 4);
    assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
    assert_int_equal(rls_sim_services(sim)[0].ready, 2);
    assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
    assert_int_equal(rls_sim_services(sim)[0].ready, 6);
    assert_int_equal(rls_sim_services(sim)[0].starting, 0);
    /* scale-down is immediate, ready count follows */
    d = 3;
    assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
    assert_int_equal(rls_sim_services(sim)[0].ready, 3);
    assert_int_equal(rls_sim_services(sim)[0].change, -3);
    /* desired is clamped to [min, max] */
    d = 1000;
    assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
    assert_int_equal(rls_sim_services(sim)[0].desired, 40);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

/* A full cluster leaves replicas pending; an off node boots first (boot
 * delay, then cold start). */
static void test_capacity_pending_and_node_boot(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = s_const_scenario(100, 2, 4); /* 2 nodes x 4 cores */
    sc->node_idle_s = 15;
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
    /* bin-packed at 2 replicas, the second node powers off after idling */
    int32_t d = 2;
    uint8_t p = RLS_PLACE_BINPACK;
    for (int t = 0; t < 10; t++)
        assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
    assert_int_equal(rls_sim_last(sim)->nodes_on, 1);
    double cost_one = rls_sim_last(sim)->cost_usd;
    assert_float_equal(cost_one, 0.40 * 15 / 3600.0 * 1, 1e-12);
    /* ask for 10: 4 fit on the on node, 4 on the booting one, 2 pending */
    d = 10;
    assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
    const struct rls_svc_state *st = &rls_sim_services(sim)[0];
    assert_int_equal(st->pending, 2);
    assert_int_equal(st->ready + st->starting, 8);
    assert_int_equal(rls_sim_last(sim)->nodes_on, 2);
    /* boot 60 s (4 steps) then cold start 30 s (2 steps) */
    int steps_to_ready = 1;
    while (rls_sim_services(sim)[0].ready < 8 && steps_to_ready < 50) {
        assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
        steps_to_ready++;
    }
    assert_int_equal(rls_sim_services(sim)[0].ready, 8);
    assert_true(steps_to_ready >= 6);
    assert_int_equal(rls_sim_services(sim)[0].pending, 2);
    char where[128];
    rls_sim_service_nodes(sim, 0, where, sizeof where);
    assert_string_equal(where, "n0:4;n1:4");
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

/* Node failures kill replicas; the controller recreates them elsewhere. */
static void test_failures_kill_and_recreate_replicas(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = s_const_scenario(200, 6, 8);
    sc->pools[0].mtbf_h = 0.1;
    sc->pools[0].repair_s = 300;
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 11), RLS_OK);
    int32_t failures = 0, killed = 0;
    for (int t = 0; t < 200; t++) {
        int32_t d = 8;
        assert_int_equal(rls_sim_step(sim, &d, NULL), RLS_OK);
        failures += rls_sim_last(sim)->failures;
        killed += rls_sim_services(sim)[0].killed;
        const struct rls_svc_state *st = &rls_sim_services(sim)[0];
        assert_int_equal(st->ready + st->starting + st->pending, 8);
    }
    assert_true(failures > 3);
    assert_true(killed > 0);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

/* Overload fills the queue up to its limit, drops the rest, and violates the
 * SLO; an ample service meets it. */
static void test_overload_drops_and_violates(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = s_const_scenario(300, 4, 8);
    sc->services[0].queue_limit = 500;
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
    s_step_n(sim, 5, 2, RLS_PLACE_SPREAD); /* 100 rps capacity for 300 */
    const struct rls_svc_state *st = &rls_sim_services(sim)[0];
    assert_float_equal(st->backlog, 500, 1e-9);
    assert_float_equal(st->dropped_rps, 200, 1e-9);
    assert_float_equal(st->utilization, 1.0, 1e-12);
    assert_true(st->frac_over_slo > 0.99);
    s_step_n(sim, 10, 12, RLS_PLACE_SPREAD); /* 600 rps capacity: drain, recover */
    st = &rls_sim_services(sim)[0];
    assert_float_equal(st->backlog, 0, 1e-9);
    assert_float_equal(st->dropped_rps, 0, 1e-9);
    assert_true(st->frac_over_slo < 0.05);
    assert_float_equal(st->utilization, 300.0 / 600.0, 1e-9);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

/* With several nodes on, spreading puts new replicas on many nodes (a node
 * failure costs few), bin-packing fills few nodes (the rest can power off). */
static int s_nodes_hosting(const struct rls_sim *sim)
{
    int hosting = 0;
    for (int32_t j = 0; j < rls_sim_n_nodes(sim); j++)
        hosting += rls_sim_nodes(sim)[j].replicas > 0;
    return hosting;
}

static void test_spread_uses_more_nodes_than_binpack(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = s_const_scenario(100, 8, 8);
    sc->node_idle_s = 600;
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    int hosting[2];
    double cost[2] = {0, 0};
    for (int place = 0; place < 2; place++) {
        assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
        int32_t d = 16;
        uint8_t p = (uint8_t)place;
        assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
        hosting[place] = s_nodes_hosting(sim);
        /* after the idle time the autoscaler has powered off what is empty
         * or drainable: both end on 2 nodes of 8 cores for 16 replicas */
        for (int t = 0; t < 80; t++) {
            assert_int_equal(rls_sim_step(sim, &d, &p), RLS_OK);
            cost[place] += rls_sim_last(sim)->cost_usd;
        }
        assert_int_equal(rls_sim_last(sim)->nodes_on, 2);
        assert_int_equal(rls_sim_services(sim)[0].ready, 16);
    }
    assert_true(hosting[RLS_PLACE_SPREAD] >= 6);
    assert_true(hosting[RLS_PLACE_BINPACK] <= 3);
    assert_true(cost[RLS_PLACE_BINPACK] <= cost[RLS_PLACE_SPREAD]);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

static void test_bad_calls_are_refused(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *sc = s_const_scenario(10, 1, 8);
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    int32_t d = 1;
    assert_int_equal(rls_sim_step(sim, &d, NULL), RLS_ERR_STATE);
    assert_true(strlen(rls_sim_errmsg(sim)) > 0);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
    assert_int_equal(rls_sim_step(sim, NULL, NULL), RLS_ERR_INVALID);
    rls_sim_destroy(&sim);
    /* initial replicas that cannot fit */
    sc->services[0].initial_replicas = 20;
    sc->pools[0].cpu = 4;
    sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_ERR_INFEASIBLE);
    assert_non_null(strstr(rls_sim_errmsg(sim), "s0"));
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_trajectory_different_seed_differs),
        cmocka_unit_test(test_requests_are_conserved),
        cmocka_unit_test(test_cold_start_delays_new_replicas),
        cmocka_unit_test(test_capacity_pending_and_node_boot),
        cmocka_unit_test(test_failures_kill_and_recreate_replicas),
        cmocka_unit_test(test_overload_drops_and_violates),
        cmocka_unit_test(test_spread_uses_more_nodes_than_binpack),
        cmocka_unit_test(test_bad_calls_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
