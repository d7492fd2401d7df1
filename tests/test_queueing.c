/* test_queueing.c - the closed-form latency model against textbook values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env/queueing.h"

/* Erlang C for m=2, a=1: B(2,1) = 0.2, C = 2*0.2/(2-1*(1-0.2)) = 1/3. */
static void test_erlang_c_matches_textbook_values(void **state)
{
    (void)state;
    assert_float_equal(rls_queueing_erlang_c(2, 1.0), 1.0 / 3.0, 1e-12);
    /* M/M/1: C = rho */
    assert_float_equal(rls_queueing_erlang_c(1, 0.7), 0.7, 1e-12);
    /* m=10, a=8: C = 0.4092 (standard Erlang C table) */
    assert_float_equal(rls_queueing_erlang_c(10, 8.0), 0.4092, 5e-4);
    assert_float_equal(rls_queueing_erlang_c(3, 3.0), 1.0, 0.0);
    assert_float_equal(rls_queueing_erlang_c(3, 0.0), 0.0, 0.0);
}

/* M/M/1 response time is Exp(mu - lambda): P(T > t) = exp(-(mu-lambda) t). */
static void test_mm1_response_time_is_exponential(void **state)
{
    (void)state;
    struct rls_queue_dist d;
    rls_queueing_dist(6.0, 1, 10.0, 0.0, &d);
    for (double t = 0.05; t < 2.0; t += 0.15)
        assert_float_equal(rls_queueing_ccdf(&d, t), exp(-4.0 * t), 1e-9);
    /* quantile inverts the ccdf: p95 = ln(20)/4 */
    assert_float_equal(rls_queueing_quantile(&d, 0.95), log(20.0) / 4.0, 1e-5);
    assert_float_equal(rls_queueing_mean(&d), 1.0 / 4.0, 1e-12);
}

/* A backlog delay shifts the whole distribution. */
static void test_backlog_shift_delays_every_request(void **state)
{
    (void)state;
    struct rls_queue_dist a, b;
    rls_queueing_dist(30.0, 5, 10.0, 0.0, &a);
    rls_queueing_dist(30.0, 5, 10.0, 0.5, &b);
    assert_float_equal(rls_queueing_ccdf(&b, 0.4), 1.0, 0.0);
    assert_float_equal(rls_queueing_ccdf(&b, 0.8), rls_queueing_ccdf(&a, 0.3), 1e-12);
    assert_float_equal(rls_queueing_quantile(&b, 0.95), rls_queueing_quantile(&a, 0.95) + 0.5, 1e-5);
}

/* A backlog through the whole step delays every request uniformly over its
 * drain; one that clears early delays only the requests before it clears. */
static void test_step_backlog_delays_the_right_requests(void **state)
{
    (void)state;
    struct rls_queue_dist d, plain;
    /* 100 rps capacity, backlog 200 -> 400: delays uniform on [2 s, 4 s] */
    rls_queueing_dist_step(120.0, 2, 50.0, 200.0, 400.0, 100.0, 15.0, &d);
    assert_float_equal(rls_queueing_ccdf(&d, 1.99), 1.0, 0.0);
    assert_true(rls_queueing_ccdf(&d, 3.0) > 0.45 && rls_queueing_ccdf(&d, 3.0) < 0.55);
    assert_true(rls_queueing_ccdf(&d, 4.5) < 1e-6);
    assert_float_equal(rls_queueing_mean(&d), 3.0 + 1.0 / 50.0, 1e-9);
    /* backlog 150 cleared at 100 - 50 = 50 rps net: 3 s of a 15 s step */
    rls_queueing_dist_step(50.0, 2, 50.0, 150.0, 0.0, 100.0, 15.0, &d);
    assert_float_equal(d.p_shift, 0.2, 1e-12);
    rls_queueing_dist(50.0, 2, 50.0, 0.0, &plain);
    double t = 0.5; /* the undelayed 80% see plain M/M/m, the rest mostly wait */
    double want = 0.8 * rls_queueing_ccdf(&plain, t);
    assert_true(rls_queueing_ccdf(&d, t) > want + 0.1);
    assert_true(rls_queueing_ccdf(&d, t) < want + 0.2 + 1e-9);
    /* no backlog: exactly M/M/m */
    rls_queueing_dist_step(50.0, 2, 50.0, 0.0, 0.0, 100.0, 15.0, &d);
    assert_float_equal(rls_queueing_ccdf(&d, t), rls_queueing_ccdf(&plain, t), 0.0);
}

/* The mixture quantile of identical parts is the part's quantile; of two
 * parts it lies between them. */
static void test_mixture_quantile_between_parts(void **state)
{
    (void)state;
    struct rls_queue_dist d[2];
    rls_queueing_dist(5.0, 1, 10.0, 0.0, &d[0]);
    rls_queueing_dist(9.0, 1, 10.0, 0.0, &d[1]);
    double w[2] = {1.0, 1.0};
    double q0 = rls_queueing_quantile(&d[0], 0.99), q1 = rls_queueing_quantile(&d[1], 0.99);
    double qm = rls_queueing_mixture_quantile(d, w, 2, 0.99);
    assert_true(qm > q0 && qm < q1);
    double w1[2] = {0.0, 3.0};
    assert_float_equal(rls_queueing_mixture_quantile(d, w1, 2, 0.99), q1, 1e-5 * q1);
}

/* Demand: the fewest replicas meeting the SLO; more load never needs fewer. */
static void test_demand_is_minimal_and_monotone(void **state)
{
    (void)state;
    struct rls_service_spec s = {0};
    s.capacity_rps = 50;
    s.service_time_ms = 40; /* k = 2 servers per replica, mu = 25/s */
    s.slo_ms = 200;
    s.slo_percentile = 0.95;
    assert_int_equal(rls_queueing_servers_per_replica(&s), 2);
    assert_int_equal(rls_queueing_demand(&s, 0.0), 0);
    int32_t prev = 0;
    for (double rate = 10; rate < 2000; rate *= 1.3) {
        int32_t n = rls_queueing_demand(&s, rate);
        assert_true(n >= prev);
        assert_true(n * s.capacity_rps > rate);
        struct rls_queue_dist d;
        rls_queueing_dist(rate, n * 2, 25.0, 0.0, &d);
        assert_true(rls_queueing_ccdf(&d, 0.2) <= 0.05 + 1e-12);
        if (n - 1 > 0 && (n - 1) * s.capacity_rps * 0.98 > rate) {
            rls_queueing_dist(rate, (n - 1) * 2, 25.0, 0.0, &d);
            assert_true(rls_queueing_ccdf(&d, 0.2) > 0.05);
        }
        prev = n;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erlang_c_matches_textbook_values),
        cmocka_unit_test(test_mm1_response_time_is_exponential),
        cmocka_unit_test(test_backlog_shift_delays_every_request),
        cmocka_unit_test(test_step_backlog_delays_the_right_requests),
        cmocka_unit_test(test_mixture_quantile_between_parts),
        cmocka_unit_test(test_demand_is_minimal_and_monotone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
