/* test_features.c - the shared feature extractor (env/features.h): run an
 * environment and a features object side by side on the same trajectory; the
 * features computed from the env's state (services, nodes, time) must equal
 * the env's observation bit for bit, and the masks must agree.
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

#include "env/env.h"
#include "env/features.h"
#include "env/scenario.h"

#define F RLS_ENV_N_FEATURES

/* n services, 2 tenants, synthetic loads (so trends move), a small cluster
 * so that can_place flips. */
static struct rls_scenario *s_scenario(int32_t n_svc, int32_t nodes)
{
    struct rls_scenario *sc = rls_scenario_new(1, 2, n_svc);
    assert_non_null(sc);
    sc->pools[0].count = nodes;
    sc->horizon_steps = 120;
    for (int32_t i = 0; i < n_svc; i++) {
        sc->services[i].tenant = i % 2;
        sc->services[i].initial_replicas = 2;
        sc->services[i].max_replicas = 12;
    }
    return sc;
}

/* Runs `steps` steps with pseudo-random actions; compares obs and masks. */
static void s_run_side_by_side(int32_t n_svc, int32_t nodes, int32_t history, int steps)
{
    struct rls_scenario *sc = s_scenario(n_svc, nodes);
    struct rls_env_params p = rls_env_default_params();
    struct rls_err err;
    struct rls_env *env = NULL;
    struct rls_features *f = NULL;
    struct rls_step_result r;
    float *obs = calloc((size_t)n_svc * F, sizeof(float));
    int32_t *act = calloc((size_t)n_svc * 2, sizeof(int32_t));
    uint8_t *mask = NULL, *mine = NULL, *flat = NULL;
    uint64_t x = 12345;
    int32_t width, nd, n_nodes = 0;
    int compared = 0, placed_no = 0;

    rls_err_clear(&err);
    p.scenario = sc;
    p.history_len = history;
    env = rls_env_new(&p, &err);
    assert_non_null(env);
    f = rls_features_new(sc, history, &err);
    assert_non_null(f);
    assert_int_equal(rls_features_n_services(f), n_svc);
    width = rls_env_mask_width(env);
    nd = rls_env_n_deltas(env);
    mask = calloc((size_t)n_svc * (size_t)width, 1);
    mine = calloc((size_t)n_svc * (size_t)width, 1);
    flat = calloc((size_t)n_svc * (size_t)nd * 2, 1);

    for (int ep = 0; ep < 2; ep++) {
        memset(&r, 0, sizeof(r));
        assert_int_equal(rls_env_reset(env, 7 + (uint64_t)ep, NULL), RLS_OK);
        rls_features_reset(f);
        for (int t = 0; t <= steps && !r.terminated && !r.truncated; t++) {
            const struct rls_node_state *nodes = rls_env_nodes(env, &n_nodes);
            const struct rls_svc_state *sv = rls_env_services(env);
            assert_int_equal(rls_features_compute(f, sv, nodes, n_nodes, rls_env_time_s(env), obs),
                             RLS_OK);
            assert_memory_equal(obs, rls_env_obs(env), (size_t)n_svc * F * sizeof(float));
            assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
            assert_int_equal(rls_features_delta_mask(f, sv, rls_env_deltas(env), nd, mine, width),
                             RLS_OK);
            assert_int_equal(rls_features_flat_mask(f, sv, rls_env_deltas(env), nd, 2, flat),
                             RLS_OK);
            for (int32_t i = 0; i < n_svc; i++) {
                assert_memory_equal(mine + i * width, mask + i * width, (size_t)nd);
                placed_no += !rls_features_can_place(f)[i];
                for (int32_t d = 0; d < nd; d++)
                    for (int32_t pl = 0; pl < 2; pl++)
                        assert_int_equal(flat[(i * nd + d) * 2 + pl], mask[i * width + d]);
            }
            compared++;
            for (int32_t i = 0; i < n_svc; i++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                /* biased upwards so the small cluster fills up */
                act[2 * i] = (int32_t)((x >> 33) % (uint64_t)nd);
                if (act[2 * i] < nd / 2 && ((x >> 20) & 1))
                    act[2 * i] = nd - 1 - act[2 * i];
                act[2 * i + 1] = (int32_t)((x >> 40) & 1);
            }
            if (t < steps)
                assert_int_equal(rls_env_step(env, act, &r), RLS_OK);
        }
    }
    assert_true(compared > steps);
    if (nodes <= 2)
        assert_true(placed_no > 0);   /* the full-cluster branch was exercised */
    free(obs);
    free(act);
    free(mask);
    free(mine);
    free(flat);
    rls_features_destroy(&f);
    assert_null(f);
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_features_equal_env_observation_on_a_trajectory(void **state)
{
    (void)state;
    s_run_side_by_side(4, 8, 20, 60);
}

static void test_features_equal_env_with_short_history_and_full_cluster(void **state)
{
    (void)state;
    s_run_side_by_side(3, 2, 3, 40);
}

static void test_feature_names_and_bounds_match_env(void **state)
{
    int32_t n1 = 0, n2 = 0;
    const char *const *a = rls_features_names(&n1);
    const char *const *b = rls_env_feature_names(&n2);
    (void)state;
    assert_int_equal(n1, F);
    assert_int_equal(n2, F);
    for (int32_t i = 0; i < F; i++) {
        assert_string_equal(a[i], b[i]);
        assert_true(rls_features_low()[i] < rls_features_high()[i]);
    }
}

static int32_t s_index(const char *name)
{
    const char *const *names = rls_features_names(NULL);
    for (int32_t k = 0; k < F; k++)
        if (strcmp(names[k], name) == 0)
            return k;
    fail_msg("no feature %s", name);
    return -1;
}

/* The recent-peak features against their formulas (docs/ENV.md) on a load that
 * rises to a spike and falls: the peak is remembered for exactly 40 steps,
 * whatever the history_len given for the trends. */
static void test_peak_features_remember_the_last_40_steps(void **state)
{
    struct rls_scenario *sc = s_scenario(1, 4);
    struct rls_err err;
    struct rls_svc_state sv;
    float obs[F];
    int32_t ig = s_index("peak_gap"), id = s_index("peak_drop"), is = s_index("supply_gap");
    double cap = sc->services[0].capacity_rps;
    (void)state;
    rls_err_clear(&err);
    for (int32_t history = 3; history <= 60; history += 57) {
        struct rls_features *f = rls_features_new(sc, history, &err);
        assert_non_null(f);
        memset(&sv, 0, sizeof sv);
        sv.ready = 3;
        sv.starting = 1;
        for (int t = 0; t < 100; t++) {
            double a = t == 10 ? 12.0 : 2.0;   /* replicas' worth: one spike at t = 10 */
            double peak = t >= 10 && t < 50 ? 12.0 : 2.0;
            double gap = log2((peak + 0.5) / (4 + 0.5)) / 4.0;
            sv.arrival_rps = a * cap;
            assert_int_equal(rls_features_compute(f, &sv, NULL, 0, 15.0 * t, obs), RLS_OK);
            assert_float_equal(obs[ig], (float)gap, 1e-6);
            assert_float_equal(obs[id], (float)((peak - a) / (peak + 0.01)), 1e-6);
            if (t < 10)   /* a flat load: the peak is the load */
                assert_float_equal(obs[ig], obs[is], 1e-7);
        }
        rls_features_reset(f);   /* a new episode forgets the spike */
        sv.arrival_rps = 1.0 * cap;
        assert_int_equal(rls_features_compute(f, &sv, NULL, 0, 0.0, obs), RLS_OK);
        assert_float_equal(obs[id], 0.0f, 1e-7);
        sv.arrival_rps = 0.0;    /* no load at all: peak_drop 0 */
        rls_features_reset(f);
        assert_int_equal(rls_features_compute(f, &sv, NULL, 0, 0.0, obs), RLS_OK);
        assert_float_equal(obs[id], 0.0f, 1e-7);
        assert_true(obs[ig] < 0.0f);
        rls_features_destroy(&f);
    }
    rls_scenario_destroy(&sc);
}

static void test_bad_arguments_are_refused(void **state)
{
    struct rls_scenario *sc = s_scenario(2, 4);
    struct rls_err err;
    float obs[2 * F];
    struct rls_features *f = NULL;
    (void)state;
    rls_err_clear(&err);
    assert_null(rls_features_new(NULL, 20, &err));
    assert_true(strstr(err.msg, "scenario") != NULL);
    assert_null(rls_features_new(sc, 0, &err));
    assert_true(strstr(err.msg, "history_len") != NULL);
    f = rls_features_new(sc, 20, &err);
    assert_non_null(f);
    assert_int_equal(rls_features_compute(f, NULL, NULL, 0, 0, obs), RLS_ERR_INVALID);
    rls_features_destroy(&f);
    rls_features_destroy(&f);   /* NULL-safe */
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_equal_env_observation_on_a_trajectory),
        cmocka_unit_test(test_features_equal_env_with_short_history_and_full_cluster),
        cmocka_unit_test(test_feature_names_and_bounds_match_env),
        cmocka_unit_test(test_peak_features_remember_the_last_40_steps),
        cmocka_unit_test(test_bad_arguments_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
