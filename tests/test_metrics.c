/* test_metrics.c - the elasticity metrics, Jain's index, percentages, the
 * SLO budget, demand capping and the mixture quantile on small series whose
 * expected values are worked out by hand from the definitions in
 * docs/METRICS.md (the arithmetic is in the comments). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env/queueing.h"
#include "env/scenario.h"
#include "eval/metrics.h"

#define EPS 1e-9

static void test_elasticity_hand_series(void **state)
{
    (void)state;
    /* supply [2,2,3], demand [1,3,3], T = 3
     * t1: s > d, over (2-1)/max(1,1) = 1
     * t2: s < d, under (3-2)/max(3,1) = 1/3
     * t3: s == d
     * theta_U = 100/3 * (1/3) = 100/9; theta_O = 100/3 * 1 = 100/3
     * tau_U = 100 * 1/3, tau_O = 100 * 1/3
     * instability: t1->t2 ds = 0 (sgn 0), dd = +2 (sgn +1): differ
     *              t2->t3 ds = +1 (sgn +1), dd = 0 (sgn 0): differ
     * upsilon = 100/(3-1) * 2 = 100 */
    const int32_t s[] = {2, 2, 3}, d[] = {1, 3, 3};
    struct rls_elasticity e;
    assert_int_equal(rls_elasticity_compute(s, d, 3, &e), 0);
    assert_true(fabs(e.theta_u - 100.0 / 9.0) < EPS);
    assert_true(fabs(e.theta_o - 100.0 / 3.0) < EPS);
    assert_true(fabs(e.tau_u - 100.0 / 3.0) < EPS);
    assert_true(fabs(e.tau_o - 100.0 / 3.0) < EPS);
    assert_true(fabs(e.upsilon - 100.0) < EPS);
}

static void test_elasticity_perfect_tracking_is_zero(void **state)
{
    (void)state;
    /* supply == demand at every step and they move together: every metric 0 */
    const int32_t s[] = {1, 2, 4, 3, 3}, d[] = {1, 2, 4, 3, 3};
    struct rls_elasticity e;
    assert_int_equal(rls_elasticity_compute(s, d, 5, &e), 0);
    assert_true(e.theta_u == 0.0 && e.theta_o == 0.0 && e.tau_u == 0.0 && e.tau_o == 0.0);
    assert_true(e.upsilon == 0.0);
}

static void test_elasticity_zero_demand_uses_max_d_1(void **state)
{
    (void)state;
    /* supply [3], demand [0]: over (3-0)/max(0,1) = 3 -> theta_O = 300 %;
     * one step, so no instability term (T - 1 = 0) */
    const int32_t s[] = {3}, d[] = {0};
    struct rls_elasticity e;
    assert_int_equal(rls_elasticity_compute(s, d, 1, &e), 0);
    assert_true(fabs(e.theta_o - 300.0) < EPS);
    assert_true(fabs(e.tau_o - 100.0) < EPS);
    assert_true(e.theta_u == 0.0 && e.upsilon == 0.0);
}

static void test_elasticity_starved_supply(void **state)
{
    (void)state;
    /* supply [0,0], demand [4,2]: under 4/4 + 2/2 = 2 -> theta_U = 100/2 * 2 = 100;
     * tau_U = 100; ds = 0, dd = -2: differ -> upsilon = 100/1 * 1 = 100 */
    const int32_t s[] = {0, 0}, d[] = {4, 2};
    struct rls_elasticity e;
    assert_int_equal(rls_elasticity_compute(s, d, 2, &e), 0);
    assert_true(fabs(e.theta_u - 100.0) < EPS);
    assert_true(fabs(e.tau_u - 100.0) < EPS);
    assert_true(fabs(e.upsilon - 100.0) < EPS);
    assert_true(e.theta_o == 0.0 && e.tau_o == 0.0);
}

static void test_elasticity_streaming_equals_arrays(void **state)
{
    (void)state;
    const int32_t s[] = {5, 4, 4, 6, 8, 8, 7, 3}, d[] = {4, 4, 5, 7, 7, 9, 7, 2};
    struct rls_elasticity a, b;
    struct rls_elasticity_acc acc;
    rls_elasticity_acc_init(&acc);
    for (int i = 0; i < 8; i++)
        rls_elasticity_acc_add(&acc, s[i], d[i]);
    rls_elasticity_acc_get(&acc, &b);
    assert_int_equal(rls_elasticity_compute(s, d, 8, &a), 0);
    assert_true(a.theta_u == b.theta_u && a.theta_o == b.theta_o && a.upsilon == b.upsilon);
    /* pairs: (5,4)->(4,4): ds -, dd 0 differ; ->(4,5): 0,+ differ; ->(6,7): +,+ same;
     * ->(8,7): +,0 differ; ->(8,9): 0,+ differ; ->(7,7): -,- same; ->(3,2): -,- same
     * 4 of 7 differ -> 400/7 */
    assert_true(fabs(a.upsilon - 400.0 / 7.0) < EPS);
    assert_int_equal(rls_elasticity_compute(NULL, d, 8, &a), -1);
    assert_int_equal(rls_elasticity_compute(s, d, 0, &a), -1);
}

static void test_jain_index_hand_values(void **state)
{
    (void)state;
    const double eq[] = {0.9, 0.9, 0.9};
    const double one[] = {1.0, 0.0, 0.0};
    const double two[] = {1.0, 0.5};
    const double zero[] = {0.0, 0.0};
    /* equal shares -> 1; one tenant gets all -> 1/n */
    assert_true(fabs(rls_metrics_jain(eq, NULL, 3) - 1.0) < EPS);
    assert_true(fabs(rls_metrics_jain(one, NULL, 3) - 1.0 / 3.0) < EPS);
    /* (1 + 0.5)^2 / (2 * (1 + 0.25)) = 2.25 / 2.5 = 0.9 */
    assert_true(fabs(rls_metrics_jain(two, NULL, 2) - 0.9) < EPS);
    /* weights 3,1: (3*1 + 0.5)^2 / ((3+1) * (3*1 + 0.25)) = 12.25 / 13 */
    const double w31[] = {3.0, 1.0};
    assert_true(fabs(rls_metrics_jain(two, w31, 2) - 12.25 / 13.0) < EPS);
    /* weight 2 counts like a duplicated entry: {1,1,0.5} -> 2.5^2 / (3 * 2.25) */
    const double w21[] = {2.0, 1.0};
    const double dup[] = {1.0, 1.0, 0.5};
    assert_true(fabs(rls_metrics_jain(two, w21, 2) - rls_metrics_jain(dup, NULL, 3)) < EPS);
    assert_true(fabs(rls_metrics_jain(dup, NULL, 3) - 6.25 / 6.75) < EPS);
    /* nothing to be unfair about */
    assert_true(rls_metrics_jain(zero, NULL, 2) == 1.0);
    assert_true(rls_metrics_jain(NULL, NULL, 0) == 1.0);
}

static void test_percent_conversions(void **state)
{
    (void)state;
    assert_true(fabs(rls_metrics_pct(1.0, 4.0) - 25.0) < EPS);
    assert_true(rls_metrics_pct(5.0, 0.0) == 0.0);
    assert_true(fabs(rls_metrics_pct(3.0, 3.0) - 100.0) < EPS);
}

static void test_slo_budget_is_strictest_service(void **state)
{
    (void)state;
    struct rls_scenario *sc = rls_scenario_new(1, 1, 2);
    assert_non_null(sc);
    sc->services[0].slo_percentile = 0.95;
    sc->services[1].slo_percentile = 0.99;
    /* 100 * (1 - 0.99) = 1, smaller than 5 */
    assert_true(fabs(rls_metrics_slo_budget_pct(sc) - 1.0) < 1e-12);
    sc->services[1].slo_percentile = 0.95;
    assert_true(rls_metrics_slo_budget_pct(sc) == 5.0);   /* rounded: exactly 5 */
    rls_scenario_destroy(&sc);
}

static void test_demand_is_capped_and_monotone(void **state)
{
    (void)state;
    struct rls_scenario *sc = rls_scenario_new(1, 1, 1);
    assert_non_null(sc);
    struct rls_service_spec *s = &sc->services[0];
    s->capacity_rps = 10.0;
    s->service_time_ms = 100.0;
    s->slo_ms = 500.0;
    s->slo_percentile = 0.95;
    s->min_replicas = 0;
    s->max_replicas = 3;
    assert_int_equal(rls_metrics_demand(s, 0.0), 0);
    assert_int_equal(rls_metrics_demand(s, 1e6), 3);    /* uncapped would be >= 1e5 */
    assert_true(rls_queueing_demand(s, 1e6) > 3);
    int32_t prev = 0;
    for (double r = 0.0; r < 40.0; r += 0.5) {
        int32_t d = rls_metrics_demand(s, r);
        assert_true(d >= prev && d <= 3);
        /* a replica serves at most capacity_rps: demand >= rate / capacity */
        if (d < 3)
            assert_true((double)d * s->capacity_rps >= r);
        prev = d;
    }
    rls_scenario_destroy(&sc);
}

static void test_mixture_quantile_sanity(void **state)
{
    (void)state;
    /* pure service time: T ~ Exp(mu), quantile -ln(1-p)/mu */
    struct rls_queue_dist a = {.p_wait = 0.0, .theta = 1.0, .mu = 10.0};  /* mean 100 ms */
    struct rls_queue_dist b = {.p_wait = 0.0, .theta = 1.0, .mu = 2.0};   /* mean 500 ms */
    struct rls_queue_dist ab[2] = {a, b};
    double w1[1] = {7.0};
    double qa = rls_queueing_quantile(&a, 0.95);
    assert_true(fabs(qa - (-log(0.05) / 10.0)) < 1e-4 * qa);
    /* one component: the mixture is that component */
    assert_true(fabs(rls_queueing_mixture_quantile(&a, w1, 1, 0.95) - qa) < 1e-4 * qa);
    /* two: the quantile q solves (wa e^{-10 q} + wb e^{-2 q}) / (wa + wb) = 0.05 */
    double w[2] = {3.0, 1.0};
    double q = rls_queueing_mixture_quantile(ab, w, 2, 0.95);
    double tail = (3.0 * exp(-10.0 * q) + 1.0 * exp(-2.0 * q)) / 4.0;
    assert_true(fabs(tail - 0.05) < 1e-4);
    assert_true(q > qa && q < rls_queueing_quantile(&b, 0.95));
    /* weight 0 removes a component; no weight at all gives 0 */
    double w0[2] = {1.0, 0.0};
    assert_true(fabs(rls_queueing_mixture_quantile(ab, w0, 2, 0.95) - qa) < 1e-4 * qa);
    double wz[2] = {0.0, 0.0};
    assert_true(rls_queueing_mixture_quantile(ab, wz, 2, 0.95) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elasticity_hand_series),
        cmocka_unit_test(test_elasticity_perfect_tracking_is_zero),
        cmocka_unit_test(test_elasticity_zero_demand_uses_max_d_1),
        cmocka_unit_test(test_elasticity_starved_supply),
        cmocka_unit_test(test_elasticity_streaming_equals_arrays),
        cmocka_unit_test(test_jain_index_hand_values),
        cmocka_unit_test(test_percent_conversions),
        cmocka_unit_test(test_slo_budget_is_strictest_service),
        cmocka_unit_test(test_demand_is_capped_and_monotone),
        cmocka_unit_test(test_mixture_quantile_sanity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
