/* test_explain.c - explanations of a checkpoint's decisions
 * (policies/explain.h): completeness (the attributions sum to f(x) -
 * f(baseline)) on policies/default.h5 for random observations and for states
 * of a simulation, both integrals; hand-made networks whose attributions are
 * known in closed form; the gradient against finite differences; the double
 * forward against the deployed float one; bad input refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "env/env.h"
#include "env/features.h"
#include "env/scenario.h"
#include "env/sim.h"
#include "policies/checkpoint.h"
#include "policies/explain.h"
#include "policies/learned.h"
#include "policies/mlp.h"
#include "policies/policy.h"

#define F RLS_ENV_N_FEATURES

static struct rls_checkpoint *s_default(void)
{
    struct rls_checkpoint *ck = NULL;
    struct rls_err err;
    if (rls_checkpoint_load(RLS_SOURCE_DIR "/policies/default.h5", &ck, &err) != RLS_OK)
        fail_msg("load default.h5: %s", err.msg);
    return ck;
}

/* xorshift64* uniform in [0, 1) */
static double s_unif(uint64_t *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return (double)((*st * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void test_completeness_on_default_for_random_observations(void **state)
{
    struct rls_checkpoint *ck = s_default();
    struct rls_err err;
    struct rls_explain_params tp = rls_explain_default_params();
    uint64_t st = 42;
    float x[F];
    double worst_exact = 0.0, worst_trap = 0.0, max_abs = 0.0;
    int32_t max_steps = 0, max_regions = 0;
    (void)state;
    struct rls_explainer *ex = rls_explainer_new(ck, NULL, &err);
    assert_non_null(ex);
    tp.method = RLS_EXPLAIN_TRAPEZOID;
    tp.tol = 1e-3;
    struct rls_explainer *et = rls_explainer_new(ck, &tp, &err);
    assert_non_null(et);
    for (int n = 0; n < 200; n++) {
        struct rls_explanation a, b;
        int32_t act;
        for (int i = 0; i < F; i++)   /* obs_mean +- 3 std */
            x[i] = ck->obs_mean[i] + (float)((s_unif(&st) * 6.0 - 3.0) * ck->obs_std[i]);
        assert_int_equal(rls_explainer_choose(ex, x, NULL, 0.3, &act), RLS_OK);
        assert_true(act >= 0 && act < ck->n_actions);
        if (n % 3 == 1)
            act = (int32_t)(s_unif(&st) * ck->n_actions);   /* any action, not only the choice */
        assert_int_equal(rls_explainer_explain(ex, x, F, act, &a), RLS_OK);
        assert_int_equal(a.method, RLS_EXPLAIN_EXACT);
        assert_true(a.converged);
        assert_true(a.steps >= 1);
        assert_true(a.completeness_err <= 1e-3);
        assert_true(fabs(a.sum - (a.f_x - a.f_baseline)) <= 1e-3);
        if (a.completeness_err > worst_exact)
            worst_exact = a.completeness_err;
        if (n < 3) {    /* the trapezoid agrees (each attribution) and is complete */
            assert_int_equal(rls_explainer_explain(et, x, F, act, &b), RLS_OK);
            assert_int_equal(b.method, RLS_EXPLAIN_TRAPEZOID);
            assert_true(b.converged);
            assert_true(b.completeness_err <= 1e-3);
            if (b.completeness_err > worst_trap)
                worst_trap = b.completeness_err;
            if (b.steps > max_steps)
                max_steps = b.steps;
            if (a.steps > max_regions)
                max_regions = a.steps;
            for (int i = 0; i < F; i++) {
                double d = fabs(a.attr[i] - b.attr[i]);
                if (d > max_abs)
                    max_abs = d;
            }
        }
    }
    print_message("completeness: exact worst %.3g (up to %d regions), trapezoid worst %.3g (up to "
                  "%d steps); max |exact - trapezoid| attribution %.3g\n", worst_exact,
                  (int)max_regions, worst_trap, (int)max_steps, max_abs);
    assert_true(worst_exact <= 1e-9);
    assert_true(max_abs <= 0.05);
    rls_explainer_destroy(&et);
    rls_explainer_destroy(&ex);
    rls_explainer_destroy(&ex);   /* twice: a no-op */
    rls_checkpoint_destroy(&ck);
}

static void test_completeness_on_states_of_a_simulation(void **state)
{
    struct rls_checkpoint *ck = s_default();
    struct rls_scenario *sc = NULL;
    struct rls_err err;
    int checked = 0;
    (void)state;
    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    struct rls_explainer *ex = rls_explainer_new(ck, NULL, &err);
    struct rls_policy *p = rls_learned_from_checkpoint_with(ck, "net", NULL, sc, &err);
    struct rls_sim *sim = rls_sim_new(sc, &err);
    struct rls_features *feat = rls_features_new(sc, 20, &err);
    assert_non_null(ex);
    assert_non_null(p);
    assert_non_null(sim);
    assert_non_null(feat);
    int32_t S = sc->n_services;
    int32_t *desired = calloc((size_t)S, sizeof(int32_t));
    uint8_t *place = calloc((size_t)S, 1);
    float *obs = calloc((size_t)S * F, sizeof(float));
    uint8_t *mask = calloc((size_t)S * (size_t)ck->n_actions, 1);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
    assert_int_equal(rls_policy_reset(p, rls_sim_scenario(sim)), RLS_OK);
    for (int k = 0; k < 60; k++) {
        struct rls_policy_input in;
        memset(&in, 0, sizeof(in));
        in.scenario = rls_sim_scenario(sim);
        in.step = k;
        in.time_s = rls_sim_time_s(sim);
        in.services = rls_sim_services(sim);
        in.nodes = rls_sim_nodes(sim);
        in.n_nodes = rls_sim_n_nodes(sim);
        assert_int_equal(rls_features_compute(feat, in.services, in.nodes, in.n_nodes, in.time_s, obs),
                         RLS_OK);
        assert_int_equal(rls_features_flat_mask(feat, in.services, ck->deltas, ck->n_deltas,
                                                ck->n_placements, mask), RLS_OK);
        assert_int_equal(rls_policy_decide(p, &in, desired, place), RLS_OK);
        /* the features explained are the ones the policy decided on */
        const float *pobs = rls_learned_last_obs(p);
        assert_non_null(pobs);
        assert_memory_equal(pobs, obs, (size_t)S * F * sizeof(float));
        if (k % 5 == 4) {
            for (int32_t i = 0; i < S; i++) {
                struct rls_explanation x;
                int32_t a = -1;
                const float *row = obs + (size_t)i * F;
                assert_int_equal(rls_explainer_choose(ex, row, mask + (size_t)i * ck->n_actions, 0.3, &a),
                                 RLS_OK);
                assert_true(a >= 0);
                assert_int_equal(rls_explainer_explain(ex, row, F, a, &x), RLS_OK);
                assert_true(x.completeness_err <= 1e-3);
                checked++;
            }
        }
        assert_int_equal(rls_sim_step(sim, desired, place), RLS_OK);
    }
    assert_true(checked >= 12 * S / 2);
    free(desired);
    free(place);
    free(obs);
    free(mask);
    rls_features_destroy(&feat);
    rls_sim_destroy(&sim);
    rls_policy_destroy(&p);
    rls_explainer_destroy(&ex);
    rls_scenario_destroy(&sc);
    rls_checkpoint_destroy(&ck);
}

static void test_double_forward_matches_the_deployed_float_forward(void **state)
{
    struct rls_checkpoint *ck = s_default();
    struct rls_err err;
    uint64_t st = 7;
    float x[F], q[64];
    double out[64];
    (void)state;
    struct rls_explainer *ex = rls_explainer_new(ck, NULL, &err);
    struct rls_mlp *m = rls_mlp_new(ck, 1, &err);
    assert_non_null(ex);
    assert_non_null(m);
    assert_true(rls_explainer_n_outputs(ex) <= 64);
    assert_int_equal(rls_explainer_n_inputs(ex), F);
    assert_int_equal(rls_explainer_n_actions(ex), ck->n_actions);
    for (int n = 0; n < 20; n++) {
        for (int i = 0; i < F; i++)
            x[i] = ck->obs_mean[i] + (float)((s_unif(&st) * 4.0 - 2.0) * ck->obs_std[i]);
        assert_int_equal(rls_mlp_forward(m, x, 1, q), RLS_OK);
        assert_int_equal(rls_explainer_forward(ex, x, out), RLS_OK);
        for (int o = 0; o < rls_explainer_n_outputs(ex); o++)
            assert_true(fabs(out[o] - q[o]) <= 1e-4 * (1.0 + fabs(out[o])));
    }
    rls_mlp_destroy(&m);
    rls_explainer_destroy(&ex);
    rls_checkpoint_destroy(&ck);
}

static void test_gradient_matches_finite_differences(void **state)
{
    struct rls_checkpoint *ck = s_default();
    struct rls_err err;
    float x[F], xp[F];
    double g[F], op[64], om[64];
    uint64_t st = 99;
    (void)state;
    struct rls_explainer *ex = rls_explainer_new(ck, NULL, &err);
    assert_non_null(ex);
    for (int i = 0; i < F; i++)
        x[i] = ck->obs_mean[i] + (float)((s_unif(&st) * 2.0 - 1.0) * ck->obs_std[i]);
    assert_int_equal(rls_explainer_gradient(ex, x, 9, g), RLS_OK);
    int agree = 0;
    for (int i = 0; i < F; i++) {
        float h = 1e-3f * ck->obs_std[i];
        memcpy(xp, x, sizeof(xp));
        xp[i] = x[i] + h;
        double hp = (double)xp[i] - (double)x[i];
        rls_explainer_forward(ex, xp, op);
        xp[i] = x[i] - h;
        double hm = (double)x[i] - (double)xp[i];
        rls_explainer_forward(ex, xp, om);
        double fd = (op[9] - om[9]) / (hp + hm);
        /* a kink inside +-h breaks one-sided linearity: most features agree */
        if (fabs(fd - g[i]) <= 1e-3 * (1.0 + fabs(g[i])) / ck->obs_std[i])
            agree++;
    }
    assert_true(agree >= F - 2);
    rls_explainer_destroy(&ex);
    rls_checkpoint_destroy(&ck);
}

/* One Linear layer: f_a(x) = sum_i w[a][i] (x_i - mean_i) / std_i + bias[a],
 * so IG from obs_mean is exactly w[a][i] (x_i - mean_i) / std_i. */
static void test_linear_network_attribution_is_known_exactly(void **state)
{
    int32_t sizes[2] = {F, 18};
    struct rls_err err;
    float x[F];
    uint64_t st = 5;
    (void)state;
    struct rls_checkpoint *ck = rls_checkpoint_new(1, sizes, &err);
    assert_non_null(ck);
    for (int k = 0; k < 18 * F; k++)
        ck->weight[0][k] = (float)(s_unif(&st) * 2.0 - 1.0);
    for (int k = 0; k < 18; k++)
        ck->bias[0][k] = (float)k;
    for (int i = 0; i < F; i++) {
        ck->obs_mean[i] = (float)(0.1 * i);
        ck->obs_std[i] = (float)(0.5 + 0.05 * i);
        x[i] = (float)(s_unif(&st) * 4.0 - 2.0);
    }
    for (int method = 0; method <= 1; method++) {
        struct rls_explain_params prm = rls_explain_default_params();
        prm.method = method;
        struct rls_explainer *ex = rls_explainer_new(ck, &prm, &err);
        assert_non_null(ex);
        for (int32_t a = 0; a < 18; a += 5) {
            struct rls_explanation r;
            assert_int_equal(rls_explainer_explain(ex, x, F, a, &r), RLS_OK);
            for (int i = 0; i < F; i++) {
                double want = (double)ck->weight[0][a * F + i] * ((double)x[i] - ck->obs_mean[i]) /
                              ck->obs_std[i];
                assert_true(fabs(r.attr[i] - want) <= 1e-9);
            }
            assert_true(r.completeness_err <= 1e-9);
            if (method == RLS_EXPLAIN_EXACT)
                assert_int_equal(r.steps, 1);   /* one region: no hidden unit */
            else
                assert_int_equal(r.steps, 8);   /* constant gradient: the first rule is exact */
        }
        rls_explainer_destroy(&ex);
    }
    rls_checkpoint_destroy(&ck);
}

/* A ReLU case by hand: hidden h = relu(x0 - 1) (mean 0, std 1), output 0 =
 * 2 h. From baseline 0 to x0 = 3: f goes 0 -> 4, all of it on feature 0; the
 * path crosses the kink at t = 1/3, so exact uses 2 regions. A second unit
 * relu(x1) - relu(x1 - 1) (a clipped ramp) with x1 = 2 gives 1 to feature 1. */
static void test_relu_network_attribution_is_known_exactly(void **state)
{
    int32_t sizes[3] = {F, 3, 18};
    struct rls_err err;
    float x[F];
    (void)state;
    struct rls_checkpoint *ck = rls_checkpoint_new(2, sizes, &err);
    assert_non_null(ck);
    ck->weight[0][0 * F + 0] = 1.0f;
    ck->bias[0][0] = -1.0f;
    ck->weight[0][1 * F + 1] = 1.0f;
    ck->weight[0][2 * F + 1] = 1.0f;
    ck->bias[0][2] = -1.0f;
    ck->weight[1][0] = 2.0f;   /* output 0 = 2 h0 + h1 - h2 */
    ck->weight[1][1] = 1.0f;
    ck->weight[1][2] = -1.0f;
    memset(x, 0, sizeof(x));
    x[0] = 3.0f;
    x[1] = 2.0f;
    x[2] = 5.0f;   /* no weight: attribution 0 */
    struct rls_explainer *ex = rls_explainer_new(ck, NULL, &err);
    assert_non_null(ex);
    struct rls_explanation r;
    assert_int_equal(rls_explainer_explain(ex, x, F, 0, &r), RLS_OK);
    assert_true(fabs(r.attr[0] - 4.0) <= 1e-12);
    assert_true(fabs(r.attr[1] - 1.0) <= 1e-12);
    assert_true(fabs(r.attr[2]) <= 1e-15);
    assert_true(fabs(r.f_x - 5.0) <= 1e-12);
    assert_true(fabs(r.f_baseline) <= 1e-12);
    assert_true(r.completeness_err <= 1e-12);
    assert_int_equal(r.steps, 3);   /* kinks at t = 1/3 (h0) and t = 1/2 (h2) */
    int32_t top[3];
    assert_int_equal(rls_explanation_top(&r, 3, top), 3);
    assert_int_equal(top[0], 0);
    assert_int_equal(top[1], 1);
    assert_int_equal(top[2], 2);   /* ties at 0: the lowest index first */
    /* a custom baseline past the kink: h0 stays on, attribution 2 * (3 - 2) */
    struct rls_explain_params prm = rls_explain_default_params();
    float base[F];
    memcpy(base, x, sizeof(base));
    base[0] = 2.0f;
    prm.baseline = base;
    struct rls_explainer *eb = rls_explainer_new(ck, &prm, &err);
    assert_non_null(eb);
    assert_int_equal(rls_explainer_explain(eb, x, F, 0, &r), RLS_OK);
    assert_true(fabs(r.attr[0] - 2.0) <= 1e-12);
    assert_true(fabs(r.attr[1]) <= 1e-15);
    rls_explainer_destroy(&eb);
    rls_explainer_destroy(&ex);
    rls_checkpoint_destroy(&ck);
}

/* Depths other than the shipped two hidden layers take the general exact
 * path: complete, and equal to the trapezoid's attributions. */
static void test_deeper_network_is_complete_and_agrees_with_the_trapezoid(void **state)
{
    int32_t sizes[5] = {F, 16, 12, 10, 18};
    struct rls_err err;
    uint64_t st = 11;
    float x[F];
    (void)state;
    struct rls_checkpoint *ck = rls_checkpoint_new(4, sizes, &err);
    assert_non_null(ck);
    for (int l = 0; l < 4; l++) {
        for (int k = 0; k < sizes[l] * sizes[l + 1]; k++)
            ck->weight[l][k] = (float)(s_unif(&st) * 2.0 - 1.0) / sqrtf((float)sizes[l]);
        for (int k = 0; k < sizes[l + 1]; k++)
            ck->bias[l][k] = (float)(s_unif(&st) * 0.2 - 0.1);
    }
    struct rls_explain_params tp = rls_explain_default_params();
    tp.method = RLS_EXPLAIN_TRAPEZOID;
    tp.tol = 1e-6;
    tp.max_steps = 1 << 20;
    struct rls_explainer *ex = rls_explainer_new(ck, NULL, &err), *et = rls_explainer_new(ck, &tp, &err);
    assert_non_null(ex);
    assert_non_null(et);
    for (int n = 0; n < 5; n++) {
        struct rls_explanation a, b;
        for (int i = 0; i < F; i++)
            x[i] = (float)(s_unif(&st) * 6.0 - 3.0);
        assert_int_equal(rls_explainer_explain(ex, x, F, n, &a), RLS_OK);
        assert_int_equal(rls_explainer_explain(et, x, F, n, &b), RLS_OK);
        assert_int_equal(a.method, RLS_EXPLAIN_EXACT);
        assert_true(a.completeness_err <= 1e-9);
        for (int i = 0; i < F; i++)
            assert_true(fabs(a.attr[i] - b.attr[i]) <= 1e-3);
    }
    rls_explainer_destroy(&et);
    rls_explainer_destroy(&ex);
    rls_checkpoint_destroy(&ck);
}

/* Past max_regions the exact integral gives way to the trapezoid's, still
 * complete within its tol, and says so. */
static void test_exact_falls_back_to_the_trapezoid_past_max_regions(void **state)
{
    struct rls_checkpoint *ck = s_default();
    struct rls_err err;
    struct rls_explanation r;
    float x[F];
    (void)state;
    struct rls_explain_params prm = rls_explain_default_params();
    prm.max_regions = 1;
    prm.tol = 1e-3;
    struct rls_explainer *ex = rls_explainer_new(ck, &prm, &err);
    assert_non_null(ex);
    for (int i = 0; i < F; i++)
        x[i] = ck->obs_mean[i] + (i % 2 ? 1.5f : -1.5f) * ck->obs_std[i];
    assert_int_equal(rls_explainer_explain(ex, x, F, 9, &r), RLS_OK);
    assert_int_equal(r.method, RLS_EXPLAIN_TRAPEZOID);
    assert_true(r.converged);
    assert_true(r.completeness_err <= 1e-3);
    assert_true(r.steps >= 8);
    rls_explainer_destroy(&ex);
    prm.max_regions = 0;
    assert_null(rls_explainer_new(ck, &prm, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    rls_checkpoint_destroy(&ck);
}

static void test_top_orders_by_magnitude(void **state)
{
    struct rls_explanation r;
    int32_t idx[5];
    (void)state;
    memset(&r, 0, sizeof(r));
    r.n_features = 5;
    r.attr[0] = 0.1;
    r.attr[1] = -3.0;
    r.attr[2] = 2.0;
    r.attr[3] = -0.5;
    r.attr[4] = 2.0;
    assert_int_equal(rls_explanation_top(&r, 3, idx), 3);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 4);
    assert_int_equal(rls_explanation_top(&r, 10, idx), 5);
    assert_int_equal(idx[3], 3);
    assert_int_equal(idx[4], 0);
    assert_int_equal(rls_explanation_top(&r, 0, idx), 0);
    assert_int_equal(rls_explanation_top(NULL, 3, idx), 0);
}

static void test_bad_input_is_refused_with_a_status(void **state)
{
    struct rls_checkpoint *ck = s_default();
    struct rls_err err;
    struct rls_explanation r;
    float x[F];
    double g[F];
    int32_t a;
    (void)state;
    memcpy(x, ck->obs_mean, sizeof(x));
    assert_null(rls_explainer_new(NULL, NULL, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    struct rls_explain_params prm = rls_explain_default_params();
    prm.tol = 0.0;
    assert_null(rls_explainer_new(ck, &prm, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    prm = rls_explain_default_params();
    prm.min_steps = 6;
    assert_null(rls_explainer_new(ck, &prm, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    prm = rls_explain_default_params();
    prm.method = 7;
    assert_null(rls_explainer_new(ck, &prm, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    prm = rls_explain_default_params();
    float nanbase[F];
    memcpy(nanbase, x, sizeof(nanbase));
    nanbase[3] = NAN;
    prm.baseline = nanbase;
    assert_null(rls_explainer_new(ck, &prm, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    ck->obs_std[0] = 0.0f;   /* a checkpoint that does not validate */
    assert_null(rls_explainer_new(ck, NULL, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    ck->obs_std[0] = 1.0f;

    struct rls_explainer *ex = rls_explainer_new(ck, NULL, &err);
    assert_non_null(ex);
    memset(&r, 0x5a, sizeof(r));
    struct rls_explanation before = r;
    assert_int_equal(rls_explainer_explain(ex, x, F - 1, 0, &r), RLS_ERR_INVALID);   /* feature count */
    assert_int_equal(rls_explainer_explain(ex, x, F + 1, 0, &r), RLS_ERR_INVALID);
    assert_int_equal(rls_explainer_explain(ex, NULL, F, 0, &r), RLS_ERR_INVALID);
    assert_int_equal(rls_explainer_explain(ex, x, F, 0, NULL), RLS_ERR_INVALID);
    assert_int_equal(rls_explainer_explain(NULL, x, F, 0, &r), RLS_ERR_INVALID);
    assert_int_equal(rls_explainer_explain(ex, x, F, -1, &r), RLS_ERR_RANGE);          /* action */
    assert_int_equal(rls_explainer_explain(ex, x, F, rls_explainer_n_outputs(ex), &r), RLS_ERR_RANGE);
    x[4] = INFINITY;
    assert_int_equal(rls_explainer_explain(ex, x, F, 0, &r), RLS_ERR_RANGE);
    x[4] = ck->obs_mean[4];
    assert_memory_equal(&r, &before, sizeof(r));   /* untouched */
    assert_int_equal(rls_explainer_gradient(ex, x, 99, g), RLS_ERR_RANGE);
    assert_int_equal(rls_explainer_gradient(ex, NULL, 0, g), RLS_ERR_INVALID);
    assert_int_equal(rls_explainer_forward(ex, x, NULL), RLS_ERR_INVALID);
    assert_int_equal(rls_explainer_choose(ex, x, NULL, 0.0, &a), RLS_ERR_RANGE);
    assert_int_equal(rls_explainer_choose(ex, x, NULL, 0.3, NULL), RLS_ERR_INVALID);
    uint8_t none[64] = {0};
    assert_int_equal(rls_explainer_choose(ex, x, none, 0.3, &a), RLS_OK);
    assert_int_equal(a, -1);   /* nothing allowed */
    assert_int_equal(rls_explainer_n_inputs(NULL), 0);
    rls_explainer_destroy(&ex);
    rls_checkpoint_destroy(&ck);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completeness_on_default_for_random_observations),
        cmocka_unit_test(test_completeness_on_states_of_a_simulation),
        cmocka_unit_test(test_double_forward_matches_the_deployed_float_forward),
        cmocka_unit_test(test_gradient_matches_finite_differences),
        cmocka_unit_test(test_linear_network_attribution_is_known_exactly),
        cmocka_unit_test(test_relu_network_attribution_is_known_exactly),
        cmocka_unit_test(test_deeper_network_is_complete_and_agrees_with_the_trapezoid),
        cmocka_unit_test(test_exact_falls_back_to_the_trapezoid_past_max_regions),
        cmocka_unit_test(test_top_orders_by_magnitude),
        cmocka_unit_test(test_bad_input_is_refused_with_a_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
