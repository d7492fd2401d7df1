/* test_hpa.c - the Kubernetes HPA pieces against the examples of the
 * Kubernetes documentation ("Horizontal Pod Autoscaling": algorithm details,
 * configurable scaling behavior) and the rules of kube-controller-manager's
 * replica calculator (unready pods at 0% on scale-up, pending pods grouped
 * with them, missing pods at 100% on scale-down).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policies/hpa.h"

static struct rls_hpa_pods s_pods(int32_t ready, double usage_m, double request_m)
{
    struct rls_hpa_pods p = {0};
    p.ready = ready;
    p.usage_m = usage_m;
    p.request_m = request_m;
    return p;
}

/* Docs: "if the current metric value is 200m, and the desired value is
 * 100m, the number of replicas will be doubled, since 200.0 / 100.0 == 2.0". */
static void test_metric_twice_the_target_doubles_replicas(void **state)
{
    (void)state;
    struct rls_hpa_pods p = s_pods(4, 200.0, 1000.0); /* 200m of a 1000m request: 20% */
    assert_int_equal(rls_hpa_replicas_for_metric(4, &p, 0.10, 0.1), 8);
    p = s_pods(3, 700.0, 500.0); /* 140% against 70% */
    assert_int_equal(rls_hpa_replicas_for_metric(3, &p, 0.70, 0.1), 6);
}

/* Docs: "If the current value is instead 50m, you'll halve the number of replicas". */
static void test_metric_half_the_target_halves_replicas(void **state)
{
    (void)state;
    struct rls_hpa_pods p = s_pods(4, 50.0, 1000.0);
    assert_int_equal(rls_hpa_replicas_for_metric(4, &p, 0.10, 0.1), 2);
    p = s_pods(10, 350.0, 1000.0); /* 35% of a 70% target: 5 */
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 0.70, 0.1), 5);
}

/* Docs: "skip any scaling action if the ratio is sufficiently close to 1.0
 * (within a globally-configurable tolerance, 0.1 by default)". */
static void test_ratio_within_tolerance_keeps_current_replicas(void **state)
{
    (void)state;
    struct rls_hpa_pods p = s_pods(10, 109.0, 100.0); /* 109% vs 100%: ratio 1.09 */
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.1), 10);
    p = s_pods(10, 92.0, 100.0); /* 0.92 */
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.1), 10);
    p = s_pods(10, 85.0, 100.0); /* 0.85: outside, ceil(8.5) = 9 */
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.1), 9);
    p = s_pods(10, 120.0, 100.0); /* 1.2: ceil(12) = 12 */
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.1), 12);
    /* a tolerance of 0 acts on any difference */
    p = s_pods(10, 95.0, 100.0);
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.0), 10); /* ceil(9.5) */
    p = s_pods(10, 89.0, 100.0);
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.0), 9);
}

/* Utilization is an integer percent, truncated, as GetResourceUtilizationRatio. */
static void test_utilization_is_truncated_to_whole_percent(void **state)
{
    (void)state;
    /* 110.9% truncates to 110: ratio 1.10, and fabs(1 - 1.1) is just above 0.1 in
     * doubles, so Kubernetes scales to ceil(1.1 * 10) = 11 */
    struct rls_hpa_pods p = s_pods(10, 110.9, 100.0);
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.1), 11);
    /* 111.9% would be 111 without truncation too: ceil(11.1) = 12 */
    p = s_pods(10, 111.9, 100.0);
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.1), 12);
    /* 109.9% truncates to 109: within tolerance */
    p = s_pods(10, 109.9, 100.0);
    assert_int_equal(rls_hpa_replicas_for_metric(10, &p, 1.0, 0.1), 10);
}

/* Docs: not-yet-ready pods are assumed to consume 0% of the metric on a
 * scale-up, which dampens it: 10 ready pods at 70% of a 50% target plus 4
 * starting ones (spec.replicas 14) stay at 14 instead of ceil(1.4 * 14) = 20. */
static void test_unready_pods_count_as_zero_on_scale_up(void **state)
{
    (void)state;
    struct rls_hpa_pods p = s_pods(10, 700.0, 1000.0);
    p.unready = 4;
    assert_int_equal(rls_hpa_replicas_for_metric(14, &p, 0.5, 0.1), 14);
    /* unready pods do not stop a real scale-up: 10 at 100% + 2 unready of a 50%
     * target -> 1000/12 = 83% -> ratio 1.66 -> ceil(19.92) = 20 */
    p = s_pods(10, 1000.0, 1000.0);
    p.unready = 2;
    assert_int_equal(rls_hpa_replicas_for_metric(12, &p, 0.5, 0.1), 20);
    /* and dampened into the tolerance band: 4 at 90% of 50% + 4 unready -> 45% -> 0.9:
     * the direction would reverse, keep current */
    p = s_pods(4, 900.0, 1000.0);
    p.unready = 4;
    assert_int_equal(rls_hpa_replicas_for_metric(8, &p, 0.5, 0.1), 8);
}

/* Pending (unschedulable) pods carry no metric: ignored on a scale-down, and
 * grouped with the unready pods (0%) on a scale-up, as groupPods() does. */
static void test_pending_pods_are_ignored_on_scale_down_and_zero_on_scale_up(void **state)
{
    (void)state;
    struct rls_hpa_pods p = s_pods(10, 200.0, 1000.0); /* 20% of 50% */
    p.pending = 5;
    assert_int_equal(rls_hpa_replicas_for_metric(15, &p, 0.5, 0.1), 4);
    p = s_pods(10, 700.0, 1000.0);
    p.pending = 4;
    assert_int_equal(rls_hpa_replicas_for_metric(14, &p, 0.5, 0.1), 14);
}

/* Docs: missing metrics are assumed 100% of the request on a scale-down. */
static void test_missing_pods_count_as_full_on_scale_down(void **state)
{
    (void)state;
    /* 4 at 20% + 2 missing at 100% of a 50% target -> 2800/6000 = 46% -> 0.92: keep 6 */
    struct rls_hpa_pods p = s_pods(4, 200.0, 1000.0);
    p.missing = 2;
    assert_int_equal(rls_hpa_replicas_for_metric(6, &p, 0.5, 0.1), 6);
    /* without the missing pods it would have gone to ceil(0.4 * 4) = 2 */
    p.missing = 0;
    assert_int_equal(rls_hpa_replicas_for_metric(6, &p, 0.5, 0.1), 2);
}

static void test_no_ready_pod_means_no_recommendation(void **state)
{
    (void)state;
    struct rls_hpa_pods p = s_pods(0, 0.0, 1000.0);
    p.unready = 3;
    assert_int_equal(rls_hpa_replicas_for_metric(3, &p, 0.7, 0.1), -1);
    assert_int_equal(rls_hpa_replicas_for_metric(3, NULL, 0.7, 0.1), -1);
    /* the reconcile keeps spec.replicas */
    struct rls_hpa_params prm = rls_hpa_default_params();
    struct rls_hpa_scaler *s = rls_hpa_scaler_new(&prm, 1, 100);
    assert_non_null(s);
    assert_int_equal(rls_hpa_reconcile(s, 0.0, 3, &p), 3);
    rls_hpa_scaler_destroy(&s);
    assert_null(s);
    rls_hpa_scaler_destroy(&s); /* NULL-safe */
}

/* Docs, default behavior: scale up by max(4 pods, 100%) every 15 s: from 1
 * replica to 5, then 10, 20, 40. */
static void test_default_scale_up_policy_is_4_pods_or_100_percent_per_15s(void **state)
{
    (void)state;
    struct rls_hpa_params prm = rls_hpa_default_params();
    struct rls_hpa_scaler *s = rls_hpa_scaler_new(&prm, 1, 1000);
    assert_non_null(s);
    int32_t cur = 1;
    const int32_t expect[] = {5, 10, 20, 40, 80, 160};
    for (int k = 0; k < 6; k++) {
        cur = rls_hpa_normalize(s, 15.0 * k, cur, 500);
        assert_int_equal(cur, expect[k]);
    }
    /* a second sync inside the same period sees the period's start (80): no more */
    assert_int_equal(rls_hpa_normalize(s, 15.0 * 5 + 5.0, cur, 500), 160);
    rls_hpa_scaler_destroy(&s);

    /* max_replicas caps the scale-up */
    s = rls_hpa_scaler_new(&prm, 1, 7);
    assert_int_equal(rls_hpa_normalize(s, 0.0, 4, 50), 7);
    rls_hpa_scaler_destroy(&s);
}

/* Docs, scaleDown policies {Pods 4 / 60 s, Percent 10 / 60 s}: "when the
 * number of replicas is 80, the first step removes 8; in the next iteration,
 * at 72, 10% is 7.2 -> 8 pods removed (72 * 0.9 = 64.8 -> 64)"; once fewer
 * than 40 remain, the Pods policy's 4 is the larger change. One step per 60 s. */
static void test_docs_scale_down_example_80_replicas(void **state)
{
    (void)state;
    struct rls_hpa_params prm = rls_hpa_default_params();
    prm.scale_down_window_s = 0.0;
    prm.scale_down_pods = 4;
    prm.scale_down_percent = 10.0;
    prm.scale_down_period_s = 60.0;
    struct rls_hpa_scaler *s = rls_hpa_scaler_new(&prm, 1, 100);
    assert_non_null(s);
    int32_t cur = 80;
    double t = 0.0;
    cur = rls_hpa_normalize(s, t, cur, 10);
    assert_int_equal(cur, 72);
    /* the rest of that minute: no change */
    for (t = 15.0; t < 60.0; t += 15.0)
        assert_int_equal(rls_hpa_normalize(s, t, cur, 10), 72);
    cur = rls_hpa_normalize(s, 60.0, cur, 10);
    assert_int_equal(cur, 64);
    /* walk on one minute at a time, checking each step's removal */
    for (int k = 2; k < 20 && cur > 10; k++) {
        int32_t before = cur;
        int32_t pct = (int32_t)((double)before * 0.9);
        int32_t expect = before - 4 < pct ? before - 4 : pct;
        if (expect < 10)
            expect = 10;
        cur = rls_hpa_normalize(s, 60.0 * k, cur, 10);
        assert_int_equal(cur, expect);
        if (before < 40 && before > 14)
            assert_int_equal(before - cur, 4); /* the Pods policy dominates */
        if (before >= 50)
            assert_true(before - cur > 4);     /* the Percent policy dominates */
    }
    assert_int_equal(cur, 10);
    rls_hpa_scaler_destroy(&s);
}

/* Docs: the scale-down stabilization window (300 s) takes the highest
 * recommendation of the window: a drop from 10 to 3 waits 300 s, and a
 * recommendation of 8 at 105 s holds 8 until it leaves the window. */
static void test_scale_down_window_keeps_max_of_last_300s(void **state)
{
    (void)state;
    struct rls_hpa_params prm = rls_hpa_default_params();
    struct rls_hpa_scaler *s = rls_hpa_scaler_new(&prm, 1, 100);
    assert_non_null(s);
    int32_t cur = 10;
    for (int k = 0; k * 15 <= 450; k++) {
        double t = 15.0 * k;
        int32_t proposal = (k == 0) ? 10 : (k == 7 ? 8 : 3);
        cur = rls_hpa_normalize(s, t, cur, proposal);
        if (t < 300.0)
            assert_int_equal(cur, 10);
        else if (t < 405.0)
            assert_int_equal(cur, 8);
        else
            assert_int_equal(cur, 3);
    }
    rls_hpa_scaler_destroy(&s);
}

/* Scale-up is immediate with the default 0 s window, and a scale-up window
 * takes the lowest recommendation of its span. */
static void test_scale_up_window_takes_min_of_window(void **state)
{
    (void)state;
    struct rls_hpa_params prm = rls_hpa_default_params();
    struct rls_hpa_scaler *s = rls_hpa_scaler_new(&prm, 1, 100);
    assert_int_equal(rls_hpa_normalize(s, 0.0, 4, 6), 6);
    rls_hpa_scaler_destroy(&s);

    prm.scale_up_window_s = 60.0;
    s = rls_hpa_scaler_new(&prm, 1, 100);
    int32_t cur = 4;
    cur = rls_hpa_normalize(s, 0.0, cur, 4);
    for (int k = 1; k <= 3; k++) {
        cur = rls_hpa_normalize(s, 15.0 * k, cur, 6);
        assert_int_equal(cur, 4); /* the 4 at t = 0 is still in the window */
    }
    cur = rls_hpa_normalize(s, 60.0, cur, 6);
    assert_int_equal(cur, 6);
    rls_hpa_scaler_destroy(&s);
}

/* reconcileAutoscaler: spec.replicas outside [min, max] goes to the bound. */
static void test_replicas_outside_bounds_go_to_the_bound(void **state)
{
    (void)state;
    struct rls_hpa_params prm = rls_hpa_default_params();
    struct rls_hpa_scaler *s = rls_hpa_scaler_new(&prm, 2, 10);
    assert_int_equal(rls_hpa_normalize(s, 0.0, 15, 15), 10);
    assert_int_equal(rls_hpa_normalize(s, 15.0, 1, 1), 2);
    rls_hpa_scaler_destroy(&s);
}

static void test_params_are_checked(void **state)
{
    (void)state;
    struct rls_hpa_params p = rls_hpa_default_params();
    struct rls_err err = {0};
    assert_int_equal(rls_hpa_params_check(&p, &err), RLS_OK);
    p.target_utilization = 0.0;
    assert_int_equal(rls_hpa_params_check(&p, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "target_utilization"));
    p = rls_hpa_default_params();
    p.scale_down_period_s = 0.0;
    assert_int_equal(rls_hpa_params_check(&p, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "scale_down_period_s"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_twice_the_target_doubles_replicas),
        cmocka_unit_test(test_metric_half_the_target_halves_replicas),
        cmocka_unit_test(test_ratio_within_tolerance_keeps_current_replicas),
        cmocka_unit_test(test_utilization_is_truncated_to_whole_percent),
        cmocka_unit_test(test_unready_pods_count_as_zero_on_scale_up),
        cmocka_unit_test(test_pending_pods_are_ignored_on_scale_down_and_zero_on_scale_up),
        cmocka_unit_test(test_missing_pods_count_as_full_on_scale_down),
        cmocka_unit_test(test_no_ready_pod_means_no_recommendation),
        cmocka_unit_test(test_default_scale_up_policy_is_4_pods_or_100_percent_per_15s),
        cmocka_unit_test(test_docs_scale_down_example_80_replicas),
        cmocka_unit_test(test_scale_down_window_keeps_max_of_last_300s),
        cmocka_unit_test(test_scale_up_window_takes_min_of_window),
        cmocka_unit_test(test_replicas_outside_bounds_go_to_the_bound),
        cmocka_unit_test(test_params_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
