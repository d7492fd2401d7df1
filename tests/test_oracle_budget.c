/* test_oracle_budget.c - the two clairvoyant baselines side by side
 * (policies/oracle.h): oracle-step (alias oracle) and oracle-budget, on a
 * small scenario, four evening hours of the compiled-in default scenario run
 * through the evaluator (eval/eval.h) as `rlsched eval` runs them. What must
 * hold: oracle-budget's realized violations are within its budget, it costs no
 * more than oracle-step nor than hpa-tuned@binpack when that one is within
 * the budget, it is deterministic, the registry names both oracles, and the
 * report prints and writes the cost against it.
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env/scenario.h"
#include "eval/eval.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "eval/tune.h"
#include "policies/oracle.h"
#include "policies/policy.h"

#define S_STEPS 960   /* four hours of 15 s steps */

static struct rls_scenario *s_sc;

/* The default scenario cut to 16 h - 20 h of its day: the shop's evening
 * ramp (checkout peaks at 19 h, frontend at 20 h) and media's afternoon. */
static int s_setup(void **state)
{
    (void)state;
    struct rls_err err = {0};
    if (rls_scenario_load("default", &s_sc, &err) != RLS_OK)
        return -1;
    s_sc->start_s = 16.0 * 3600.0;
    s_sc->horizon_steps = S_STEPS;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    rls_scenario_destroy(&s_sc);
    return 0;
}

/* Builds spec (hpa-tuned trained on seed + 1000) and runs it for S_STEPS
 * steps from the scenario's seed; the caller clears *out. */
static void s_run(const char *spec, struct rls_eval_result *out, struct rls_policy **keep)
{
    struct rls_err err = {0};
    struct rls_tune_params tp = rls_tune_default_params();
    tp.scenario = s_sc;
    tp.seed = s_sc->seed + 1000;
    tp.steps = S_STEPS;
    struct rls_policy *p = rls_eval_build_policy(spec, s_sc, &tp, NULL, &err);
    if (p == NULL)
        fail_msg("%s: %s", spec, err.msg);
    struct rls_eval_params ep = rls_eval_default_params();
    ep.scenario = s_sc;
    ep.seed = s_sc->seed;
    ep.steps = S_STEPS;
    if (rls_eval_run(&ep, p, out, &err) != RLS_OK)
        fail_msg("%s: %s", spec, err.msg);
    if (keep != NULL)
        *keep = p;
    else
        rls_policy_destroy(&p);
}

static void test_registry_names_both_oracles(void **state)
{
    (void)state;
    const char *specs[] = {"oracle", "oracle-step", "oracle-step@spread"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        struct rls_err err = {0};
        struct rls_policy *p = rls_policy_new(specs[i], s_sc, &err);
        assert_non_null(p);
        assert_string_equal(rls_policy_kind(p), "oracle");   /* eval's cost reference */
        assert_string_equal(rls_policy_name(p), specs[i]);
        assert_true(rls_policy_needs_future(p));
        rls_policy_destroy(&p);
    }
    const char *bad[] = {"oracle-budget:0", "oracle-budget:1", "oracle-budget:5",
                         "oracle-budget:x", "oracle-budget:", "oracle-budget:0.05x",
                         "oracle-budget@diagonal", "oracle-step:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rls_err err = {0};
        assert_null(rls_policy_new(bad[i], s_sc, &err));
        assert_int_equal(err.status, RLS_ERR_INVALID);
        assert_non_null(strstr(err.msg, bad[i]));
    }
    struct rls_err err = {0};
    assert_null(rls_policy_new("x", s_sc, &err));
    assert_non_null(strstr(err.msg, "oracle-budget"));
    /* a bad parameter set through the C API names the field */
    struct rls_oracle_budget_params bp = rls_oracle_budget_default_params();
    bp.max_runs = 0;
    assert_null(rls_oracle_budget_new(&bp, s_sc, &err));
    assert_non_null(strstr(err.msg, "max_runs"));
}

/* The contract of the issue: within the budget, no dearer than the per-step
 * oracle, nor than hpa-tuned@binpack when that one meets the budget. */
static void test_oracle_budget_meets_its_budget_and_costs_least(void **state)
{
    (void)state;
    struct rls_eval_result r[3];
    struct rls_policy *ob = NULL;
    memset(r, 0, sizeof r);
    s_run("oracle-budget", &r[0], &ob);
    s_run("oracle-step", &r[1], NULL);
    s_run("hpa-tuned@binpack", &r[2], NULL);
    struct rls_oracle_budget_info info;
    assert_int_equal(rls_oracle_budget_info(ob, &info), RLS_OK);
    double budget_pct = rls_metrics_slo_budget_pct(s_sc);
    print_message("oracle-budget: lambda %.3g $/late request, %d runs, calibration %.3f%% $%.3f; "
                  "eval %.3f%% $%.3f | oracle-step %.3f%% $%.3f | hpa-tuned@binpack %.3f%% $%.3f\n",
                  info.lambda, (int)info.runs, 100.0 * info.viol, info.cost_usd,
                  r[0].slo_violation_pct, r[0].cost_usd, r[1].slo_violation_pct, r[1].cost_usd,
                  r[2].slo_violation_pct, r[2].cost_usd);
    assert_true(fabs(100.0 * info.budget - budget_pct) < 1e-9);
    assert_true(info.met);
    assert_int_equal(info.seed, s_sc->seed);
    assert_int_equal(info.steps, S_STEPS);
    /* the evaluation run is the calibration run: same numbers */
    assert_true(fabs(r[0].slo_violation_pct - 100.0 * info.viol) < 1e-9);
    assert_true(fabs(r[0].cost_usd - info.cost_usd) < 1e-9);
    assert_true(r[0].slo_violation_pct <= budget_pct + 1e-9);
    /* it spends the budget: far more violations than the per-step oracle */
    assert_true(r[0].slo_violation_pct > 0.5 * budget_pct);
    assert_true(r[0].cost_usd > 0.0);
    assert_true(r[0].cost_usd <= r[1].cost_usd);
    if (r[2].slo_violation_pct <= budget_pct)
        assert_true(r[0].cost_usd <= r[2].cost_usd);
    else
        print_message("hpa-tuned@binpack is over the budget here: not compared\n");
    rls_policy_destroy(&ob);
    for (int i = 0; i < 3; i++)
        rls_eval_result_clear(&r[i]);
}

/* A tighter budget through the spec: met too, and it costs at least what the
 * looser one does on the same episode (more replicas for fewer violations). */
static void test_oracle_budget_follows_the_spec_budget(void **state)
{
    (void)state;
    struct rls_eval_result r[2];
    memset(r, 0, sizeof r);
    s_run("oracle-budget:0.01", &r[0], NULL);
    s_run("oracle-budget:0.05", &r[1], NULL);
    print_message("oracle-budget:0.01 %.3f%% $%.3f, :0.05 %.3f%% $%.3f\n", r[0].slo_violation_pct,
                  r[0].cost_usd, r[1].slo_violation_pct, r[1].cost_usd);
    assert_string_equal(r[0].name, "oracle-budget:0.01");
    assert_string_equal(r[0].kind, "oracle-budget");
    assert_true(r[0].slo_violation_pct <= 1.0 + 1e-9);
    assert_true(r[1].slo_violation_pct <= 5.0 + 1e-9);
    assert_true(r[0].cost_usd >= r[1].cost_usd);
    for (int i = 0; i < 2; i++)
        rls_eval_result_clear(&r[i]);
}

/* Same scenario, same seed: the same lambda and the same run. */
static void test_oracle_budget_is_deterministic(void **state)
{
    (void)state;
    struct rls_eval_result r[2];
    struct rls_policy *p[2] = {NULL, NULL};
    memset(r, 0, sizeof r);
    s_run("oracle-budget@binpack", &r[0], &p[0]);
    s_run("oracle-budget@binpack", &r[1], &p[1]);
    struct rls_oracle_budget_info a, b;
    assert_int_equal(rls_oracle_budget_info(p[0], &a), RLS_OK);
    assert_int_equal(rls_oracle_budget_info(p[1], &b), RLS_OK);
    assert_true(a.lambda == b.lambda && a.runs == b.runs && a.viol == b.viol);
    assert_true(r[0].cost_usd == r[1].cost_usd);
    assert_true(r[0].slo_violation_pct == r[1].slo_violation_pct);
    assert_true(r[0].scale_actions == r[1].scale_actions);
    /* not an oracle-budget policy: refused */
    struct rls_err err = {0};
    struct rls_policy *o = rls_policy_new("oracle", s_sc, &err);
    assert_int_equal(rls_oracle_budget_info(o, &a), RLS_ERR_INVALID);
    assert_int_equal(rls_oracle_budget_info(p[0], NULL), RLS_ERR_INVALID);
    rls_policy_destroy(&o);
    for (int i = 0; i < 2; i++) {
        rls_policy_destroy(&p[i]);
        rls_eval_result_clear(&r[i]);
    }
}

/* The table gets "x oracle-b" only when an oracle-budget result is there; the
 * JSON always has cost_vs_oracle_budget (null without one). */
static void test_report_quotes_cost_against_the_budget_oracle(void **state)
{
    (void)state;
    struct rls_eval_result r[2];
    memset(r, 0, sizeof r);
    s_run("oracle", &r[0], NULL);
    s_run("oracle-budget", &r[1], NULL);
    rls_eval_set_oracle(r, 2, r[0].cost_usd);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    rls_report_table(f, r, 2, 5.0);
    fclose(f);
    assert_non_null(strstr(buf, "| x oracle-b |"));
    char want[64];
    snprintf(want, sizeof want, "| %10.2f |", r[0].cost_usd / r[1].cost_usd);
    assert_non_null(strstr(buf, want));   /* oracle's row, against oracle-budget */
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    rls_report_table(f, r, 1, 5.0);       /* the oracle alone: no such column */
    fclose(f);
    assert_null(strstr(buf, "oracle-b"));
    free(buf);

    json_t *doc = rls_report_json(r, 2, 5.0);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "oracle_budget")), "oracle-budget");
    json_t *pols = json_object_get(doc, "policies");
    double x0 = json_number_value(json_object_get(json_array_get(pols, 0), "cost_vs_oracle_budget"));
    double x1 = json_number_value(json_object_get(json_array_get(pols, 1), "cost_vs_oracle_budget"));
    assert_true(fabs(x0 - r[0].cost_usd / r[1].cost_usd) < 1e-9);
    assert_true(x1 == 1.0);
    assert_true(x0 > 1.0);
    json_decref(doc);
    doc = rls_report_json(r, 1, 5.0);
    assert_non_null(doc);
    assert_true(json_is_null(json_object_get(doc, "oracle_budget")));
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(doc, "policies"), 0), "cost_vs_oracle_budget")));
    json_decref(doc);
    assert_true(rls_report_cost_ratio(0.0, 0.0) == 1.0);
    assert_true(isinf(rls_report_cost_ratio(1.0, 0.0)));
    for (int i = 0; i < 2; i++)
        rls_eval_result_clear(&r[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_names_both_oracles),
        cmocka_unit_test(test_oracle_budget_meets_its_budget_and_costs_least),
        cmocka_unit_test(test_oracle_budget_follows_the_spec_budget),
        cmocka_unit_test(test_oracle_budget_is_deterministic),
        cmocka_unit_test(test_report_quotes_cost_against_the_budget_oracle),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
