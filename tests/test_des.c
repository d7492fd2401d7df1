/* test_des.c - the request-level discrete-event simulation (env/des.h):
 * textbook queues (M/M/1, M/M/m), determinism, drops only at a full queue,
 * and the check it exists for: on real traces, the step model's p95, SLO
 * violation and drop fractions agree with the DES replaying the same replica
 * timeline, within the tolerance of docs/DES.md; models that are wrong on
 * purpose do not. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "rls_test_skip.h"

#include "env/des.h"

/* ---------------------------------------------------------------- helpers */

/* One service, k = round(capacity * service_time) servers per replica. */
static struct rls_scenario *s_one_service(double capacity, double service_ms, double slo_ms,
                                          int32_t queue_limit)
{
    struct rls_scenario *sc = rls_scenario_new(1, 1, 1);
    assert_non_null(sc);
    sc->step_s = 15;
    struct rls_service_spec *s = &sc->services[0];
    s->capacity_rps = capacity;
    s->service_time_ms = service_ms;
    s->slo_ms = slo_ms;
    s->queue_limit = queue_limit;
    s->load.kind = RLS_LOAD_CONST;
    s->load.peak_rps = 1;
    return sc;
}

/* A timeline of n steps at a constant rate and constant ready replicas. */
static struct rls_des_timeline *s_const_timeline(int64_t n, double rate, int32_t ready)
{
    struct rls_des_timeline *tl = rls_des_timeline_new(1, n, 15.0);
    assert_non_null(tl);
    for (int64_t t = 0; t < n; t++) {
        tl->steps[t].rate_rps = rate;
        tl->steps[t].arrivals = rate * 15.0;
        tl->steps[t].ready = ready;
    }
    return tl;
}

static void s_run(const struct rls_scenario *sc, const struct rls_des_timeline *tl,
                  const struct rls_des_params *p, struct rls_des_result **out)
{
    struct rls_err err;
    memset(&err, 0, sizeof err);
    int rc = rls_des_run(sc, tl, p, out, &err);
    if (rc != RLS_OK)
        fail_msg("rls_des_run: %s", err.msg);
    assert_non_null(*out);
}

/* ---------------------------------------------------------------- textbook queues */

/* M/M/1 (k = 1): the response time is Exp(mu - lambda), so p95 = ln(20) /
 * (mu - lambda) and the mean 1 / (mu - lambda). */
static void test_mm1_constant_rate_p95_matches_closed_form(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_one_service(10.0, 100.0, 500.0, 1000000);  /* k = 1, mu = 10 */
    struct rls_des_timeline *tl = s_const_timeline(2000, 6.0, 1);         /* 180,000 requests */
    struct rls_des_result *r = NULL;
    s_run(sc, tl, NULL, &r);
    double p95 = log(20.0) / 4.0, mean = 1.0 / 4.0;
    assert_true(fabs(r->overall.p95_s - p95) <= 0.03 * p95);
    assert_true(fabs(r->overall.mean_s - mean) <= 0.03 * mean);
    assert_true(fabs(r->overall.frac_over_slo - exp(-4.0 * 0.5)) <= 0.01);
    assert_true(fabs(r->overall.arrived - 180000.0) <= 5.0 * sqrt(180000.0));
    assert_true(r->overall.dropped == 0.0);
    assert_true(r->overall.p50_s < r->overall.p95_s && r->overall.p95_s < r->overall.p99_s);
    rls_des_result_destroy(&r);
    assert_null(r);
    rls_des_timeline_destroy(&tl);
    rls_scenario_destroy(&sc);
}

/* M/M/m with k = 3 servers per replica and 2 replicas (m = 6, mu = 50/3):
 * the steady-state p95 and fraction over the SLO are those of the Erlang C
 * model (whose values test_queueing checks against tables). */
static void test_mmm_steady_state_matches_erlang_c(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_one_service(50.0, 60.0, 250.0, 1000000);  /* k = 3 */
    assert_int_equal(rls_queueing_servers_per_replica(&sc->services[0]), 3);
    struct rls_des_timeline *tl = s_const_timeline(1000, 85.0, 2);        /* rho = 0.85 */
    struct rls_des_result *r = NULL;
    s_run(sc, tl, NULL, &r);
    struct rls_queue_dist d;
    rls_queueing_dist(85.0, 6, 50.0 / 3.0, 0.0, &d);
    double p95 = rls_queueing_quantile(&d, 0.95), over = rls_queueing_ccdf(&d, 0.25);
    assert_true(fabs(r->overall.p95_s - p95) <= 0.03 * p95);
    assert_true(fabs(r->overall.frac_over_slo - over) <= 0.1 * over);
    /* treating the 2 replicas as 2 servers of rate 50 would give a much
     * shorter tail: the DES sees the k servers */
    struct rls_queue_dist wrong;
    rls_queueing_dist(85.0, 2, 50.0, 0.0, &wrong);
    assert_true(rls_queueing_quantile(&wrong, 0.95) < 0.8 * r->overall.p95_s);
    rls_des_result_destroy(&r);
    rls_des_timeline_destroy(&tl);
    rls_scenario_destroy(&sc);
}

/* ---------------------------------------------------------------- behaviour */

static void test_same_seed_same_result_different_seed_differs(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_one_service(50.0, 60.0, 250.0, 100);
    struct rls_des_timeline *tl = s_const_timeline(200, 90.0, 2);
    for (int64_t t = 50; t < 60; t++)
        tl->steps[t].ready = 1;   /* an overload with drops */
    struct rls_des_params p = rls_des_default_params();
    p.per_step = 1;
    struct rls_des_result *a = NULL, *b = NULL, *c = NULL;
    s_run(sc, tl, &p, &a);
    s_run(sc, tl, &p, &b);
    p.seed = 2;
    s_run(sc, tl, &p, &c);
    assert_memory_equal(&a->overall, &b->overall, sizeof a->overall);
    assert_memory_equal(a->per_step, b->per_step, 200 * sizeof *a->per_step);
    assert_true(a->overall.p95_s != c->overall.p95_s);
    assert_true(a->overall.arrived != c->overall.arrived);
    assert_true(a->overall.dropped > 0.0);
    rls_des_result_destroy(&a);
    rls_des_result_destroy(&b);
    rls_des_result_destroy(&c);
    rls_des_timeline_destroy(&tl);
    rls_scenario_destroy(&sc);
}

/* With no replica ready the queue fills to exactly queue_limit and every
 * further arrival is dropped; once replicas are back, the queue drains and
 * nothing more is dropped. Every request is served, dropped or unfinished. */
static void test_drops_only_when_queue_full(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_one_service(50.0, 60.0, 250.0, 50);
    struct rls_des_timeline *tl = s_const_timeline(40, 20.0, 4);
    tl->steps[0].ready = 0;
    struct rls_des_params p = rls_des_default_params();
    p.per_step = 1;
    struct rls_des_result *r = NULL;
    s_run(sc, tl, &p, &r);
    const struct rls_des_step_stats *s0 = &r->per_step[0];
    assert_true(s0->arrived > 200);
    assert_int_equal(s0->dropped, s0->arrived - 50);
    assert_int_equal(s0->served, 50);           /* the 50 queued ones, served in step 1 */
    for (int64_t t = 1; t < 40; t++)
        assert_int_equal(r->per_step[t].dropped, 0);
    assert_true(r->overall.arrived == r->overall.served + r->overall.dropped + (double)r->unfinished);
    /* the 50 queued requests arrived in the first ~2.5 s and waited for the
     * replicas to come back at 15 s */
    assert_true(s0->resp_sum_s / 50.0 > 10.0);
    /* the same run with room for everyone drops nothing */
    struct rls_des_result *r2 = NULL;
    sc->services[0].queue_limit = 100000;
    s_run(sc, tl, &p, &r2);
    assert_true(r2->overall.dropped == 0.0);
    rls_des_result_destroy(&r);
    rls_des_result_destroy(&r2);
    rls_des_timeline_destroy(&tl);
    rls_scenario_destroy(&sc);
}

/* When replicas go away, requests in service finish, but no new one starts
 * while the busy servers are at or above the new count: 4 -> 1 replica at
 * full load leaves a backlog that 1 replica cannot clear. */
static void test_scale_down_limits_new_starts_to_remaining_servers(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_one_service(50.0, 60.0, 10000.0, 1000000);
    struct rls_des_timeline *tl = s_const_timeline(20, 100.0, 4);
    for (int64_t t = 10; t < 20; t++)
        tl->steps[t].ready = 1;               /* capacity 50 rps < 100 rps */
    struct rls_des_params p = rls_des_default_params();
    p.per_step = 1;
    struct rls_des_result *r = NULL;
    s_run(sc, tl, &p, &r);
    int64_t served_late = 0;
    for (int64_t t = 10; t < 20; t++)
        served_late += r->per_step[t].served;
    /* 10 steps of 50 rps: about 7,500 starts, not the ~15,000 arrivals */
    assert_true(served_late > 6500 && served_late < 8500);
    assert_true(r->unfinished > 5000);
    rls_des_result_destroy(&r);
    rls_des_timeline_destroy(&tl);
    rls_scenario_destroy(&sc);
}

static void test_mismatched_timeline_is_refused(void **state)
{
    (void)state;
    struct rls_scenario *sc = rls_scenario_new(1, 1, 2);
    assert_non_null(sc);
    struct rls_des_timeline *tl = s_const_timeline(10, 5.0, 1);
    struct rls_des_result *r = NULL;
    struct rls_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(rls_des_run(sc, tl, NULL, &r, &err), RLS_ERR_INVALID);
    assert_null(r);
    assert_non_null(strstr(err.msg, "services"));
    rls_scenario_destroy(&sc);
    sc = s_one_service(50.0, 60.0, 250.0, 10);
    sc->step_s = 30;
    assert_int_equal(rls_des_run(sc, tl, NULL, &r, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "step"));
    sc->step_s = 15;
    tl->steps[3].rate_rps = -1.0;
    assert_int_equal(rls_des_run(sc, tl, NULL, &r, &err), RLS_ERR_INVALID);
    assert_null(r);
    rls_des_timeline_destroy(&tl);
    rls_scenario_destroy(&sc);
}

/* ---------------------------------------------------------------- real traces */

/* The reactive controller of the comparison: enough replicas for last
 * step's observed arrival rate at a target utilization. */
struct s_ctl {
    double target;
};

static int s_reactive(void *user, const struct rls_sim *sim, int32_t *desired)
{
    const struct s_ctl *c = user;
    const struct rls_scenario *sc = rls_sim_scenario(sim);
    const struct rls_svc_state *st = rls_sim_services(sim);
    for (int32_t i = 0; i < sc->n_services; i++) {
        double want = ceil(st[i].arrival_rps / (sc->services[i].capacity_rps * c->target));
        desired[i] = want < 1.0 ? 1 : (int32_t)want;
    }
    return RLS_OK;
}

struct s_case {
    const char *file;       /* under RLS_TRACES_DIR */
    const char *column;     /* "" = the format's default */
    double start_s;         /* window start into the trace, seconds */
    double peak_rps;        /* the trace's maximum scaled to this */
};

/* A 3h20m window (800 steps of 15 s) of a real trace driving one service of
 * 50 rps per replica, 3 requests at once (60 ms mean service), SLO 250 ms at
 * p95, queue 200, 30 s cold start. */
static struct rls_scenario *s_trace_scenario(const struct s_case *c)
{
    struct rls_scenario *sc = rls_scenario_new(1, 1, 1);
    assert_non_null(sc);
    sc->step_s = 15;
    sc->horizon_steps = 800;
    sc->start_s = c->start_s;
    sc->poisson_noise = 1;
    sc->pools[0].count = 16;
    sc->pools[0].mtbf_h = 0;
    struct rls_service_spec *s = &sc->services[0];
    s->capacity_rps = 50;
    s->service_time_ms = 60;
    s->slo_ms = 250;
    s->slo_percentile = 0.95;
    s->queue_limit = 200;
    s->cold_start_s = 30;
    s->min_replicas = 1;
    s->max_replicas = 40;
    s->initial_replicas = 1;
    s->load.kind = RLS_LOAD_TRACE;
    snprintf(s->load.path, sizeof s->load.path, "%s/%s", RLS_TRACES_DIR, c->file);
    snprintf(s->load.column, sizeof s->load.column, "%s", c->column);
    s->load.peak_rps = c->peak_rps;
    return sc;
}

static int s_have_traces(void)
{
    struct stat st;
    return stat(RLS_TRACES_DIR "/worldcup98_requests_per_minute_0430_0630.csv", &st) == 0;
}

/* Records the step model under the reactive controller and replays it. */
static void s_compare(const struct s_case *c, double target, struct rls_des_timeline **tl_out,
                      struct rls_des_summary *step, struct rls_des_summary *des)
{
    struct rls_err err;
    memset(&err, 0, sizeof err);
    struct rls_scenario *sc = s_trace_scenario(c);
    struct s_ctl ctl = {target};
    struct rls_des_timeline *tl = NULL;
    if (rls_des_record(sc, 3, s_reactive, &ctl, &tl, &err) != RLS_OK)
        fail_msg("record %s: %s", c->file, err.msg);
    struct rls_des_result *r = NULL;
    s_run(sc, tl, NULL, &r);
    assert_int_equal(rls_des_step_summary(tl, -1, step, &err), RLS_OK);
    *des = r->overall;
    /* one service: the pooled figures are the service's */
    assert_memory_equal(&r->services[0], &r->overall, sizeof r->overall);
    rls_des_result_destroy(&r);
    rls_scenario_destroy(&sc);
    if (tl_out)
        *tl_out = tl;
    else
        rls_des_timeline_destroy(&tl);
}

/* Flash crowds (World Cup 98 final days), an EC2 CPU series with steady
 * high load, an auto-scaling group CPU series with a misconfiguration, the
 * spiky Azure Functions total (frequent overload with a backlog through whole
 * steps) and NASA (mostly one replica, backlogs that clear within a step). */
static const struct s_case s_agree_cases[] = {
    {"worldcup98_requests_per_minute_0430_0630.csv", "", 85920.0 * 60.0, 300.0},
    {"nab/ec2_cpu_utilization_825cc2.csv", "", 0.0, 300.0},
    {"nab/cpu_utilization_asg_misconfiguration.csv", "", 0.0, 300.0},
    {"azure_functions_2019_200_functions_per_minute.csv", "sum", 600.0 * 60.0, 3000.0},
    {"nasa_requests_per_second_july1995.txt", "", 0.0, 300.0},
};
static const double s_targets[] = {0.6, 0.8, 0.95};
#define S_N_AGREE (sizeof s_agree_cases / sizeof s_agree_cases[0])
#define S_N_TARGETS (sizeof s_targets / sizeof s_targets[0])

static void test_step_model_agrees_with_des_on_real_traces(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    struct rls_des_tolerance tol = rls_des_default_tolerance();
    double max_viol = 0.0, max_drop = 0.0, worst_viol_err = 0.0;
    for (size_t i = 0; i < S_N_AGREE; i++) {
        for (size_t j = 0; j < S_N_TARGETS; j++) {
            struct rls_des_summary step, des;
            s_compare(&s_agree_cases[i], s_targets[j], NULL, &step, &des);
            char why[512];
            int ok = rls_des_agree(&step, &des, &tol, why, sizeof why);
            print_message("des: %-46s target %.2f: %s\n", s_agree_cases[i].file, s_targets[j], why);
            if (!ok)
                fail_msg("%s target %.2f: %s", s_agree_cases[i].file, s_targets[j], why);
            assert_true(des.served > 100000.0);
            /* a violation figure 7x too low or 7x too high is refused here */
            struct rls_des_summary wrong7 = step;
            wrong7.frac_over_slo = des.frac_over_slo / 7.0;
            assert_false(rls_des_agree(&wrong7, &des, &tol, NULL, 0));
            wrong7.frac_over_slo = fmin(1.0, des.frac_over_slo * 7.0);
            assert_false(rls_des_agree(&wrong7, &des, &tol, NULL, 0));
            if (fabs(step.frac_over_slo - des.frac_over_slo) > worst_viol_err)
                worst_viol_err = fabs(step.frac_over_slo - des.frac_over_slo);
            if (des.frac_over_slo > max_viol)
                max_viol = des.frac_over_slo;
            if (des.frac_dropped > max_drop)
                max_drop = des.frac_dropped;
        }
    }
    /* the set covers heavy load (SLO misses well above the 5% budget) and
     * overload (drops), not only easy cases */
    assert_true(max_viol > 0.05);
    assert_true(max_drop > 0.001);
    print_message("des: worst |step - DES| over SLO %.4f (docs/DES.md)\n", worst_viol_err);
}

/* Recomputes the step model's per-step distributions of a recorded timeline
 * with servers_per_replica k (mu = capacity / k) and, unless keep_backlog,
 * no backlog delay; the result is a "step model" to compare with the DES. */
static void s_remodel(struct rls_des_timeline *tl, const struct rls_service_spec *s, int32_t k,
                      int keep_backlog)
{
    double mu = s->capacity_rps / k, dt = tl->step_s;
    for (int64_t t = 0; t < tl->n_steps; t++) {
        struct rls_des_step *d = &tl->steps[t];
        double b0 = t > 0 ? tl->steps[t - 1].backlog : 0.0;
        if (keep_backlog)
            rls_queueing_dist_step(d->arrivals / dt, d->ready * k, mu, b0, d->backlog,
                                   d->ready * s->capacity_rps, dt, &d->dist);
        else
            rls_queueing_dist(d->arrivals / dt, d->ready * k, mu, 0.0, &d->dist);
        d->frac_over_slo = rls_queueing_ccdf(&d->dist, s->slo_ms / 1000.0);
    }
}

/* Models that are wrong on purpose fall outside the tolerance: one server
 * per replica (k = 1, mu = capacity) instead of k = 3, and a model that
 * ignores the backlog carried between steps (checked on a spiky serverless
 * trace where overload is frequent). The recomputation itself is checked
 * first: with the right k and the backlog it reproduces the step model. */
static void test_wrong_models_violate_the_tolerance(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    struct rls_err err;
    struct rls_des_tolerance tol = rls_des_default_tolerance();
    /* the violation tolerance alone (p95 and drops accepted whatever they are) */
    struct rls_des_tolerance viol_only = tol;
    viol_only.p95_rel = viol_only.drop_rel = 1e9;
    struct rls_scenario *sc = s_trace_scenario(&s_agree_cases[0]);
    const struct rls_service_spec *s = &sc->services[0];
    int k_failures = 0, k_viol_failures = 0;
    for (size_t i = 0; i < S_N_AGREE; i++) {
        struct rls_des_timeline *tl = NULL;
        struct rls_des_summary step, des, again, wrong;
        s_compare(&s_agree_cases[i], 0.8, &tl, &step, &des);
        s_remodel(tl, s, 3, 1);
        assert_int_equal(rls_des_step_summary(tl, -1, &again, &err), RLS_OK);
        assert_true(fabs(again.p95_s - step.p95_s) <= 1e-6 * step.p95_s);
        assert_true(fabs(again.frac_over_slo - step.frac_over_slo) <= 1e-9);
        s_remodel(tl, s, 1, 1);
        assert_int_equal(rls_des_step_summary(tl, -1, &wrong, &err), RLS_OK);
        char why[512];
        k_failures += !rls_des_agree(&wrong, &des, &tol, why, sizeof why);
        print_message("des: k=1 model on %s: %s\n", s_agree_cases[i].file, why);
        k_viol_failures += !rls_des_agree(&wrong, &des, &viol_only, NULL, 0);
        rls_des_timeline_destroy(&tl);
    }
    /* on NASA the latency is the backlog's (mostly one replica), so the
     * per-replica concurrency hardly shows; every other trace must catch it */
    assert_true(k_failures >= (int)S_N_AGREE - 1);
    /* its fraction over the SLO is 7-28x too low on three traces and 12-15%
     * too low on the others: the violation tolerance alone refuses it on every
     * trace (with 0.02 + 20% it accepted all five) */
    assert_int_equal(k_viol_failures, (int)S_N_AGREE);

    const struct s_case spiky = {"azure_functions_2019_200_functions_per_minute.csv", "sum",
                                 600.0 * 60.0, 3000.0};
    struct rls_des_timeline *tl = NULL;
    struct rls_des_summary step, des, wrong;
    s_compare(&spiky, 0.8, &tl, &step, &des);
    assert_true(des.frac_dropped > 0.02);
    s_remodel(tl, s, 3, 0);
    assert_int_equal(rls_des_step_summary(tl, -1, &wrong, &err), RLS_OK);
    char why[512];
    int ok = rls_des_agree(&wrong, &des, &tol, why, sizeof why);
    print_message("des: no-backlog model on azure sum: %s\n", why);
    assert_false(ok);
    rls_des_timeline_destroy(&tl);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mm1_constant_rate_p95_matches_closed_form),
        cmocka_unit_test(test_mmm_steady_state_matches_erlang_c),
        cmocka_unit_test(test_same_seed_same_result_different_seed_differs),
        cmocka_unit_test(test_drops_only_when_queue_full),
        cmocka_unit_test(test_scale_down_limits_new_starts_to_remaining_servers),
        cmocka_unit_test(test_mismatched_timeline_is_refused),
        cmocka_unit_test(test_step_model_agrees_with_des_on_real_traces),
        cmocka_unit_test(test_wrong_models_violate_the_tolerance),
    };
    return rls_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
