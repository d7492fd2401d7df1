/* test_guard.c - policies/guard.h: the out-of-distribution row check, and
 * the guarded policy `rlsched eval` scores for FILE.h5 specs: with the
 * agent's rule, every decision equals what the agent's own safety verdict
 * (agent/safety.h, fed the same rows) would deploy, recovery hold included;
 * per service, exactly the rows out take the HPA's decision and the others
 * the network's. Driven on the real simulator with the default scenario; the
 * network is a one-layer checkpoint (its outputs are its bias), the training
 * statistics are set so that the load feature alone decides "out".
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/safety.h"
#include "env/env.h"
#include "env/scenario.h"
#include "env/sim.h"
#include "policies/checkpoint.h"
#include "policies/guard.h"
#include "policies/learned.h"
#include "policies/policy.h"

#define F RLS_ENV_N_FEATURES
#define STEPS 300

static void test_rows_out_of_distribution_are_flagged(void **state)
{
    float mean[4] = {0, 0, 0, 0}, std[4] = {1, 1, 1, 1};
    float x[3][4] = {{0.5f, -1, 2, 0}, {9, 9, 0, 0}, {NAN, 0, 0, 0}};
    uint8_t row[3];
    (void)state;
    /* k 8: row 1 has 2 of 4 outside (> 25%); row 2 one NaN (= 25%, not more) */
    assert_int_equal(rls_guard_ood_rows(&x[0][0], mean, std, 3, 4, 8.0, 0.25, row), 1);
    assert_int_equal(row[0], 0);
    assert_int_equal(row[1], 1);
    assert_int_equal(row[2], 0);
    assert_int_equal(rls_guard_ood_count(x[2], mean, std, 4, 8.0), 1);
    assert_int_equal(rls_guard_ood_rows(&x[0][0], mean, std, 3, 4, 8.0, 0.0, row), 2);   /* any feature */
    assert_int_equal(rls_guard_ood_rows(NULL, mean, std, 3, 4, 8.0, 0.25, row), 0);
    /* the agent's defaults are the guard's */
    struct rls_safety_params sp = rls_safety_default_params();
    struct rls_guard_params gp = rls_guard_default_params();
    assert_true(sp.ood_k == gp.ood_k);
    assert_true(sp.ood_max_frac == gp.ood_max_frac);
    assert_int_equal(sp.recover_steps, gp.recover_steps);
}

/* A one-layer checkpoint whose choice is +2 binpack; mean 0 and std so large
 * that nothing is out, except the load feature beyond load_out. */
static struct rls_checkpoint *s_ck(double load_out)
{
    int32_t sizes[2] = {F, 18};
    struct rls_err err;
    struct rls_checkpoint *ck = rls_checkpoint_new(1, sizes, &err);
    assert_non_null(ck);
    for (int32_t j = 0; j < ck->n_deltas; j++)
        if (ck->deltas[j] == 2)
            ck->bias[0][j * 2 + 1] = 10.0f;
    for (int j = 0; j < F; j++) {
        ck->obs_mean[j] = 0.0f;
        ck->obs_std[j] = 1e20f;
    }
    ck->obs_std[RLS_FEAT_LOAD] = (float)(load_out / 8.0);
    return ck;
}

struct s_world {
    struct rls_scenario *sc;
    struct rls_sim *sim;
    int32_t S;
};

static void s_world_new(struct s_world *w)
{
    struct rls_err err = {0};
    assert_int_equal(rls_scenario_load("default", &w->sc, &err), RLS_OK);
    w->sim = rls_sim_new(w->sc, &err);
    assert_non_null(w->sim);
    assert_int_equal(rls_sim_reset(w->sim, 5), RLS_OK);
    w->S = w->sc->n_services;
    assert_true(w->S >= 2 && w->S <= 64);
}

static void s_world_free(struct s_world *w)
{
    rls_sim_destroy(&w->sim);
    rls_scenario_destroy(&w->sc);
}

static void s_input(const struct s_world *w, int64_t step, struct rls_policy_input *in)
{
    memset(in, 0, sizeof *in);
    in->scenario = rls_sim_scenario(w->sim);
    in->step = step;
    in->time_s = rls_sim_time_s(w->sim);
    in->services = rls_sim_services(w->sim);
    in->nodes = rls_sim_nodes(w->sim);
    in->n_nodes = rls_sim_n_nodes(w->sim);
}

/* The median over STEPS steps (the HPA driving) of each step's highest load
 * feature, so that about half of the steps have every row in. */
static double s_median_load(void)
{
    struct s_world w;
    struct rls_err err = {0};
    s_world_new(&w);
    struct rls_checkpoint *ck = s_ck(1e30);
    struct rls_policy *net = rls_learned_from_checkpoint(ck, "net", w.sc, &err);
    struct rls_policy *hpa = rls_policy_new("hpa", w.sc, &err);
    assert_non_null(net);
    assert_non_null(hpa);
    double *v = calloc((size_t)STEPS, sizeof *v);
    int32_t d[64], h[64];
    uint8_t p[64], hp[64];
    assert_non_null(v);
    for (int64_t t = 0; t < STEPS; t++) {
        struct rls_policy_input in;
        s_input(&w, t, &in);
        assert_int_equal(rls_policy_decide(net, &in, d, p), RLS_OK);
        assert_int_equal(rls_policy_decide(hpa, &in, h, hp), RLS_OK);
        const float *obs = rls_learned_last_obs(net);
        for (int32_t i = 0; i < w.S; i++)
            if (obs[(size_t)i * F + RLS_FEAT_LOAD] > v[t])
                v[t] = obs[(size_t)i * F + RLS_FEAT_LOAD];
        assert_int_equal(rls_sim_step(w.sim, h, hp), RLS_OK);
    }
    /* a median without sorting: the value with as many below as above */
    size_t n = STEPS;
    double med = 0;
    for (size_t a = 0; a < n; a++) {
        size_t below = 0;
        for (size_t b = 0; b < n; b++)
            below += v[b] < v[a];
        if (below <= n / 2 && below + 1 > n / 2) {
            med = v[a];
            break;
        }
    }
    free(v);
    rls_policy_destroy(&net);
    rls_policy_destroy(&hpa);
    rls_checkpoint_destroy(&ck);
    s_world_free(&w);
    assert_true(med > 0);
    return med;
}

/* Runs the guarded policy G next to the plain network N and the plain HPA H
 * on the same inputs, and checks every decision of G against the rule. */
static void s_check_guard(int per_service)
{
    double thr = s_median_load();
    struct s_world w;
    struct rls_err err = {0};
    s_world_new(&w);
    struct rls_checkpoint *ck = s_ck(thr);
    struct rls_guard_params gp = rls_guard_default_params();
    gp.ood_max_frac = 0.0;       /* one feature out makes the row out */
    gp.per_service = per_service;
    struct rls_policy *net = rls_learned_from_checkpoint(ck, "net", w.sc, &err);
    struct rls_policy *hpa = rls_policy_new("hpa", w.sc, &err);
    struct rls_policy *g = rls_guarded_from_checkpoint(ck, "guarded", NULL, &gp, w.sc, &err);
    assert_non_null(net);
    assert_non_null(hpa);
    if (!g)
        fail_msg("%s", err.msg);
    assert_string_equal(rls_policy_kind(g), "learned");
    /* the agent's verdict, fed the same rows */
    struct rls_safety_params sp = rls_safety_default_params();
    sp.ood_max_frac = gp.ood_max_frac;
    struct rls_safety *safety = rls_safety_new(&sp, w.S, NULL, NULL, &err);
    assert_non_null(safety);
    assert_int_equal(rls_policy_reset(g, w.sc), RLS_OK);
    int32_t nd[64], hd[64], gd[64];
    uint8_t np[64], hp[64], gpl[64], rows[64];
    int64_t mixed = 0, all_in = 0, recovering = 0, any_out = 0;
    for (int64_t t = 0; t < STEPS; t++) {
        struct rls_policy_input in;
        s_input(&w, t, &in);
        assert_int_equal(rls_policy_decide(net, &in, nd, np), RLS_OK);
        assert_int_equal(rls_policy_decide(hpa, &in, hd, hp), RLS_OK);
        assert_int_equal(rls_policy_decide(g, &in, gd, gpl), RLS_OK);
        int32_t n_out = rls_guard_ood_rows(rls_learned_last_obs(net), ck->obs_mean, ck->obs_std, w.S, F, gp.ood_k,
                                           gp.ood_max_frac, rows);
        int32_t n_out2 = 0;
        enum rls_fallback_reason why = rls_safety_check_ood(safety, rls_learned_last_obs(net), ck->obs_mean,
                                                            ck->obs_std, w.S, F, NULL, &n_out2);
        assert_int_equal(n_out, n_out2);
        enum rls_fallback_reason verdict = rls_safety_fallback_update(safety, RLS_FALLBACK_BIT(why));
        struct rls_guard_stats st;
        const uint8_t *row_hpa = NULL;
        assert_int_equal(rls_guarded_stats(g, &st, &row_hpa), RLS_OK);
        for (int32_t i = 0; i < w.S; i++) {
            int use_hpa = per_service ? rows[i] : verdict != RLS_FALLBACK_NONE;
            assert_int_equal(row_hpa[i], use_hpa);
            assert_int_equal(gd[i], use_hpa ? hd[i] : nd[i]);
            assert_int_equal(gpl[i], use_hpa ? hp[i] : np[i]);
        }
        mixed += n_out > 0 && n_out < w.S;
        all_in += n_out == 0;
        any_out += n_out > 0;
        recovering += verdict == RLS_FALLBACK_RECOVERING;
        assert_int_equal(st.decisions, t + 1);
        assert_int_equal(st.ood_decisions, any_out);
        assert_int_equal(rls_sim_step(w.sim, hd, hp), RLS_OK);
    }
    /* the run covered what it claims to check */
    assert_true(mixed > 0);
    assert_true(all_in > 0);
    if (!per_service)
        assert_true(recovering > 0);
    /* a reset forgets the verdict and the counters */
    struct rls_guard_stats st;
    assert_int_equal(rls_policy_reset(g, w.sc), RLS_OK);
    assert_int_equal(rls_guarded_stats(g, &st, NULL), RLS_OK);
    assert_int_equal(st.decisions, 0);
    assert_int_equal(rls_guarded_stats(net, &st, NULL), RLS_ERR_INVALID);   /* not guarded */
    rls_safety_destroy(&safety);
    rls_policy_destroy(&g);
    rls_policy_destroy(&net);
    rls_policy_destroy(&hpa);
    rls_checkpoint_destroy(&ck);
    s_world_free(&w);
}

static void test_with_the_agents_rule_every_decision_is_what_the_agent_deploys(void **state)
{
    (void)state;
    s_check_guard(0);
}

static void test_per_service_an_ood_row_takes_the_hpa_and_the_others_the_network(void **state)
{
    (void)state;
    s_check_guard(1);
}

static void test_specs_and_bad_parameters(void **state)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    (void)state;
    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    struct rls_checkpoint *ck = s_ck(1.0);
    struct rls_guard_params gp = rls_guard_default_params();
    gp.ood_k = 0;
    assert_null(rls_guarded_from_checkpoint(ck, NULL, NULL, &gp, sc, &err));
    assert_non_null(strstr(err.msg, "ood_k"));
    gp = rls_guard_default_params();
    gp.ood_max_frac = 2;
    assert_null(rls_guarded_from_checkpoint(ck, NULL, NULL, &gp, sc, &err));
    assert_non_null(strstr(err.msg, "ood_max_frac"));
    assert_null(rls_guarded_new("/nonexistent/x.h5", NULL, NULL, sc, &err));
    /* FILE.h5:ood=0|1 through the registry (the shipped checkpoint) */
    struct rls_policy *p = rls_policy_new(RLS_SOURCE_DIR "/policies/default.h5:ood=1", sc, &err);
    if (!p)
        fail_msg("%s", err.msg);   /* the checkpoint is part of the repository */
    {
        struct rls_guard_stats st;
        assert_int_equal(rls_guarded_stats(p, &st, NULL), RLS_OK);
        rls_policy_destroy(&p);
        p = rls_policy_new(RLS_SOURCE_DIR "/policies/default.h5:ood=0", sc, &err);
        assert_non_null(p);
        assert_int_equal(rls_guarded_stats(p, &st, NULL), RLS_ERR_INVALID);
        rls_policy_destroy(&p);
        p = rls_policy_new(RLS_SOURCE_DIR "/policies/default.h5", sc, &err);
        assert_non_null(p);
        assert_int_equal(rls_guarded_stats(p, &st, NULL) == RLS_OK, RLS_GUARD_DEFAULT_ON);
        rls_policy_destroy(&p);
        assert_null(rls_policy_new(RLS_SOURCE_DIR "/policies/default.h5:ood=2", sc, &err));
        assert_non_null(strstr(err.msg, "ood=0|1"));
    }
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_out_of_distribution_are_flagged),
        cmocka_unit_test(test_with_the_agents_rule_every_decision_is_what_the_agent_deploys),
        cmocka_unit_test(test_per_service_an_ood_row_takes_the_hpa_and_the_others_the_network),
        cmocka_unit_test(test_specs_and_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
