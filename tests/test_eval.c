/* test_eval.c - the evaluation runner, the hpa-tuned grid search and the
 * JSON/CSV writers on the compiled-in default scenario (and a real NAB trace
 * when ../shared/traces is there). */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rls_test_skip.h"

#include "env/scenario.h"
#include "eval/eval.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "eval/tune.h"
#include "policies/hpa.h"
#include "policies/policy.h"

#define STEPS 300

static struct rls_scenario *s_sc;

static int s_setup(void **state)
{
    (void)state;
    struct rls_err err;
    return rls_scenario_load("default", &s_sc, &err) == RLS_OK ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    rls_scenario_destroy(&s_sc);
    return 0;
}

/* Runs spec on the default scenario; the caller clears *out. */
static void s_run(const char *spec, uint64_t seed, int record, struct rls_eval_result *out)
{
    struct rls_err err;
    struct rls_policy *p = rls_policy_new(spec, s_sc, &err);
    assert_non_null(p);
    struct rls_eval_params ep = rls_eval_default_params();
    ep.scenario = s_sc;
    ep.seed = seed;
    ep.steps = STEPS;
    ep.record = record;
    int rc = rls_eval_run(&ep, p, out, &err);
    if (rc != RLS_OK)
        fail_msg("%s: %s", spec, err.msg);
    rls_policy_destroy(&p);
}

static void s_assert_sane(const struct rls_eval_result *r)
{
    assert_int_equal(r->steps, STEPS);
    assert_true(isfinite(r->cost_usd) && r->cost_usd > 0.0);
    assert_true(r->node_hours > 0.0 && r->replica_hours > 0.0);
    assert_true(r->requests > 0.0);
    assert_true(r->slo_violation_pct >= 0.0 && r->slo_violation_pct <= 100.0);
    assert_true(r->dropped_pct >= 0.0 && r->dropped_pct <= r->slo_violation_pct + 1e-9);
    assert_true(isfinite(r->p95_ms) && r->p95_ms > 0.0);
    assert_true(isfinite(r->p99_ms) && r->p99_ms >= r->p95_ms);
    assert_true(r->mean_utilization > 0.0 && r->mean_utilization <= 1.0 + 1e-9);
    assert_true(r->jain_fairness > 0.0 && r->jain_fairness <= 1.0 + 1e-12);
    const struct rls_elasticity *e = &r->elasticity;
    assert_true(isfinite(e->theta_u) && isfinite(e->theta_o) && e->theta_u >= 0.0 && e->theta_o >= 0.0);
    assert_true(e->tau_u >= 0.0 && e->tau_o >= 0.0 && e->tau_u + e->tau_o <= 100.0 + 1e-9);
    assert_true(e->upsilon >= 0.0 && e->upsilon <= 100.0);
    /* tenants partition the requests and the cost */
    double req = 0.0, share = 0.0, rh = 0.0;
    for (int32_t k = 0; k < r->n_tenants; k++) {
        req += r->tenants[k].requests;
        share += r->tenants[k].cost_share;
        rh += r->tenants[k].replica_hours;
    }
    assert_true(fabs(req - r->requests) <= 1e-9 * r->requests);
    assert_true(fabs(share - 1.0) < 1e-9);
    assert_true(fabs(rh - r->replica_hours) < 1e-9 * r->replica_hours);
}

static void test_static_and_hpa_give_finite_metrics(void **state)
{
    (void)state;
    struct rls_eval_result a, b;
    s_run("static", 7, 0, &a);
    s_run("hpa", 7, 0, &b);
    s_assert_sane(&a);
    s_assert_sane(&b);
    assert_int_equal(a.n_services, s_sc->n_services);
    assert_string_equal(a.name, "static");
    /* static never changes its target after the first step; hpa does */
    assert_true(b.scale_actions > 0);
    assert_true(a.scale_actions <= a.n_services);
    assert_true(isnan(a.cost_vs_oracle));   /* not set until an oracle is known */
    rls_eval_result_clear(&a);
    rls_eval_result_clear(&b);
}

static void test_same_seed_gives_same_numbers(void **state)
{
    (void)state;
    struct rls_eval_result a, b, c;
    s_run("hpa", 11, 0, &a);
    s_run("hpa", 11, 0, &b);
    s_run("hpa", 12, 0, &c);
    assert_true(a.cost_usd == b.cost_usd && a.requests == b.requests);
    assert_true(a.p95_ms == b.p95_ms && a.p99_ms == b.p99_ms);
    assert_true(a.slo_violation_pct == b.slo_violation_pct && a.scale_actions == b.scale_actions);
    assert_memory_equal(&a.elasticity, &b.elasticity, sizeof a.elasticity);
    /* and another seed another episode (Poisson arrivals differ) */
    assert_true(a.requests != c.requests);
    rls_eval_result_clear(&a);
    rls_eval_result_clear(&b);
    rls_eval_result_clear(&c);
}

static void test_oracle_costs_one_oracle(void **state)
{
    (void)state;
    struct rls_eval_result r[2];
    s_run("hpa", 3, 0, &r[0]);
    s_run("oracle", 3, 0, &r[1]);
    rls_eval_set_oracle(r, 2, r[1].cost_usd);
    assert_true(r[1].cost_vs_oracle == 1.0);
    assert_true(fabs(r[0].cost_vs_oracle - r[0].cost_usd / r[1].cost_usd) < 1e-12);
    s_assert_sane(&r[1]);
    rls_eval_result_clear(&r[0]);
    rls_eval_result_clear(&r[1]);
}

static void test_records_add_up_to_the_totals(void **state)
{
    (void)state;
    struct rls_eval_result r;
    s_run("kpa", 5, 1, &r);
    int64_t n = r.steps * r.n_services;
    assert_non_null(r.records);
    double requests = 0.0;
    int64_t changes = 0;
    for (int64_t j = 0; j < n; j++) {
        const struct rls_eval_record *rec = &r.records[j];
        requests += (rec->served_rps + rec->dropped_rps) * r.step_s;
        if (rec->ready + rec->starting > 0)
            assert_true(strchr(rls_eval_record_nodes(&r, j), ':') != NULL);
        if (j >= r.n_services && rec->desired != r.records[j - r.n_services].desired)
            changes++;
        assert_true(rec->demand >= 0 && rec->demand <= s_sc->services[j % r.n_services].max_replicas);
    }
    assert_true(fabs(requests - r.requests) <= 1e-9 * r.requests);
    /* every change after the first step is a scale action (the first step may add more) */
    assert_true(changes <= r.scale_actions && r.scale_actions <= changes + r.n_services);
    assert_int_equal(r.records[n - 1].time_s == r.step_s * (double)r.steps, 1);
    rls_eval_result_clear(&r);
}

static void test_hpa_tuned_is_the_grid_choice(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_scenario *train = rls_tune_training_scenario(s_sc);
    assert_non_null(train);
    struct rls_tune_params tp = rls_tune_default_params();
    tp.scenario = train;
    tp.seed = 1 + 1000;
    tp.steps = STEPS;
    struct rls_tune_result tr;
    struct rls_policy *p = rls_eval_build_policy("hpa-tuned", s_sc, &tp, &tr, &err);
    if (!p)
        fail_msg("%s", err.msg);
    assert_int_equal(tr.done, 1);
    assert_int_equal(tr.n_tried, RLS_TUNE_N_TARGET * RLS_TUNE_N_WINDOW * RLS_TUNE_N_UP_PODS);
    assert_true(tr.slo_budget_pct == rls_metrics_slo_budget_pct(s_sc));
    assert_int_equal(tr.met_slo, tr.slo_violation_pct <= tr.slo_budget_pct + 1e-9);

    /* the training numbers the tuner reports are what the runner measures for
     * the chosen parameters on the training run */
    struct rls_eval_params ep = rls_eval_default_params();
    struct rls_eval_result chosen, dflt;
    ep.scenario = train;
    ep.seed = tp.seed;
    ep.steps = STEPS;
    struct rls_policy *pc = rls_hpa_new(&tr.chosen, train, &err);
    assert_non_null(pc);
    assert_int_equal(rls_eval_run(&ep, pc, &chosen, &err), RLS_OK);
    assert_true(fabs(chosen.cost_usd - tr.cost_usd) < 1e-9 * tr.cost_usd);
    assert_true(fabs(chosen.slo_violation_pct - tr.slo_violation_pct) < 1e-9);

    /* either it picked something other than the default HPA, or the default
     * was itself the best grid point: then no cheaper compliant point exists
     * and the default's numbers are the chosen ones */
    struct rls_hpa_params d = rls_hpa_default_params();
    struct rls_policy *pd = rls_hpa_new(&d, train, &err);
    assert_non_null(pd);
    assert_int_equal(rls_eval_run(&ep, pd, &dflt, &err), RLS_OK);
    int same = tr.chosen.target_utilization == d.target_utilization &&
               tr.chosen.scale_down_window_s == d.scale_down_window_s &&
               tr.chosen.scale_up_pods == d.scale_up_pods;
    if (same) {
        assert_true(dflt.cost_usd == chosen.cost_usd);
    } else if (tr.met_slo) {
        /* the default is in the grid: if it met the budget, the choice is no dearer */
        if (dflt.slo_violation_pct <= tr.slo_budget_pct)
            assert_true(chosen.cost_usd <= dflt.cost_usd);
    } else {
        assert_true(chosen.slo_violation_pct <= dflt.slo_violation_pct);
    }

    /* placement suffix and bad suffix */
    struct rls_policy *pb = rls_eval_build_policy("hpa-tuned@nowhere", s_sc, &tp, NULL, &err);
    assert_null(pb);
    assert_non_null(strstr(err.msg, "placement"));
    assert_null(rls_eval_build_policy("hpa-tuned", s_sc, NULL, NULL, &err));
    rls_eval_result_clear(&chosen);
    rls_eval_result_clear(&dflt);
    rls_policy_destroy(&p);
    rls_policy_destroy(&pc);
    rls_policy_destroy(&pd);
    rls_scenario_destroy(&train);
}

static void s_need_keys(json_t *o, const char *const *keys, const char *where)
{
    for (int i = 0; keys[i]; i++)
        if (!json_object_get(o, keys[i]))
            fail_msg("%s: key '%s' missing", where, keys[i]);
}

static void test_json_has_every_required_key(void **state)
{
    (void)state;
    static const char *const top[] = {"scenario", "seed", "steps", "step_s", "policies", NULL};
    static const char *const pol[] = {"name", "cost", "node_hours", "replica_hours",
                                      "cost_vs_oracle", "slo_violation_pct", "dropped_pct",
                                      "p95_ms", "p99_ms", "scale_actions", "mean_utilization",
                                      "jain_fairness", "tenants", "theta_u", "theta_o", "tau_u",
                                      "tau_o", "upsilon", "seed", "scenario", "steps", NULL};
    static const char *const ten[] = {"name", "cost_share", "slo_violation_pct", "dropped_pct",
                                      "replica_hours", "requests", NULL};
    struct rls_eval_result r[2];
    struct rls_err err;
    char dir[] = "/tmp/rls_test_eval_XXXXXX";
    char path[256], csv[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.json", dir);
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    s_run("hpa", 2, 1, &r[0]);
    s_run("oracle", 2, 1, &r[1]);
    rls_eval_set_oracle(r, 2, r[1].cost_usd);
    assert_int_equal(rls_report_json_write(path, r, 2, 5.0, &err), RLS_OK);

    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);
    s_need_keys(doc, top, "top");
    assert_int_equal(json_integer_value(json_object_get(doc, "steps")), STEPS);
    json_t *pols = json_object_get(doc, "policies");
    assert_int_equal(json_array_size(pols), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_array_get(pols, i);
        s_need_keys(p, pol, "policy");
        json_t *ts = json_object_get(p, "tenants");
        assert_int_equal(json_array_size(ts), s_sc->n_tenants);
        for (size_t k = 0; k < json_array_size(ts); k++)
            s_need_keys(json_array_get(ts, k), ten, "tenant");
        assert_true(fabs(json_number_value(json_object_get(p, "cost")) - r[i].cost_usd) <
                    1e-6 * r[i].cost_usd);
    }
    assert_true(json_number_value(json_object_get(json_array_get(pols, 1), "cost_vs_oracle")) == 1.0);
    json_decref(doc);

    /* the CSV: header plus one row per step per service per policy */
    assert_int_equal(rls_report_csv_write(csv, r, 2, &err), RLS_OK);
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[8192];
    int64_t rows = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(strncmp(line, "policy,time_s,service,tenant,arrival_rps,ready_replicas,", 56), 0);
    while (fgets(line, sizeof line, f))
        rows++;
    fclose(f);
    assert_int_equal(rows, 2 * STEPS * s_sc->n_services);

    /* an output in a missing directory fails with the path named, and leaves nothing */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/out.json", dir);
    assert_int_equal(rls_report_json_write(bad, r, 2, 5.0, &err), RLS_ERR_IO);
    assert_non_null(strstr(err.msg, bad));
    unlink(path);
    unlink(csv);
    assert_int_equal(rmdir(dir), 0);   /* empty: no temporary file left behind */
    rls_eval_result_clear(&r[0]);
    rls_eval_result_clear(&r[1]);
}

static void test_trace_replaces_and_staggers_every_load(void **state)
{
    (void)state;
    char path[1024];
    struct rls_err err;
    snprintf(path, sizeof path, "%s/nab/ec2_cpu_utilization_5f5533.csv", RLS_TRACES_DIR);
    if (access(path, R_OK) != 0)
        rls_test_skip_missing(path);
    struct rls_scenario *sc = rls_scenario_copy(s_sc);
    assert_non_null(sc);
    double dur = 0.0;
    assert_int_equal(rls_eval_apply_trace(sc, path, NULL, &dur, &err), RLS_OK);
    assert_true(dur > 86400.0);   /* NAB series cover days at 5 min */
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        assert_int_equal(s->load.kind, RLS_LOAD_TRACE);
        assert_true(fabs(s->load.shift_s - i * dur / sc->n_services) < 1e-6);
        double want = s_sc->services[i].load.peak_rps > 0.0
                          ? s_sc->services[i].load.peak_rps
                          : s->max_replicas * s->capacity_rps * 0.6;
        assert_true(s->load.peak_rps == want);
    }
    /* and it runs */
    struct rls_policy *p = rls_policy_new("hpa", sc, &err);
    assert_non_null(p);
    struct rls_eval_params ep = rls_eval_default_params();
    struct rls_eval_result r;
    ep.scenario = sc;
    ep.steps = STEPS;
    assert_int_equal(rls_eval_run(&ep, p, &r, &err), RLS_OK);
    s_assert_sane(&r);
    rls_eval_result_clear(&r);
    rls_policy_destroy(&p);
    assert_int_not_equal(rls_eval_apply_trace(sc, "/nonexistent/trace.csv", NULL, NULL, &err), RLS_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/trace.csv"));
    rls_scenario_destroy(&sc);
}

static void test_bad_params_are_refused(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_eval_result r;
    struct rls_policy *p = rls_policy_new("hpa", s_sc, &err);
    struct rls_eval_params ep = rls_eval_default_params();
    assert_int_equal(rls_eval_run(&ep, p, &r, &err), RLS_ERR_INVALID);   /* no scenario */
    ep.scenario = s_sc;
    assert_int_equal(rls_eval_run(&ep, NULL, &r, &err), RLS_ERR_INVALID);
    assert_null(rls_eval_build_policy("no-such-policy", s_sc, NULL, NULL, &err));
    assert_non_null(strstr(err.msg, "no-such-policy"));
    rls_eval_result_clear(&r);
    rls_policy_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_and_hpa_give_finite_metrics),
        cmocka_unit_test(test_same_seed_gives_same_numbers),
        cmocka_unit_test(test_oracle_costs_one_oracle),
        cmocka_unit_test(test_records_add_up_to_the_totals),
        cmocka_unit_test(test_hpa_tuned_is_the_grid_choice),
        cmocka_unit_test(test_json_has_every_required_key),
        cmocka_unit_test(test_trace_replaces_and_staggers_every_load),
        cmocka_unit_test(test_bad_params_are_refused),
    };
    return rls_test_exit(cmocka_run_group_tests(tests, s_setup, s_teardown));
}
