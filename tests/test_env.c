/* test_env.c - the gym-like environment (env/env.h), its spaces
 * (env/spaces.h) and the vector form (env/vecenv.h), on small scenarios built
 * with rls_scenario_new and constant loads, read as usage examples.
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
#include "env/scenario.h"
#include "env/sim.h"
#include "env/spaces.h"
#include "env/vecenv.h"

#define F RLS_ENV_N_FEATURES

/* ---------------------------------------------------------------------------
 * Helpers. */

/* n services on one pool of `nodes` nodes; each service a constant load of
 * rps requests/s, capacity 50 rps per replica, replicas in [1, 10]. */
static struct rls_scenario *s_scenario(int32_t n_svc, double rps, int32_t nodes)
{
    struct rls_scenario *sc = rls_scenario_new(1, 2, n_svc);
    assert_non_null(sc);
    sc->pools[0].count = nodes;
    sc->horizon_steps = 200;
    for (int32_t i = 0; i < n_svc; i++) {
        sc->services[i].tenant = i % 2;
        sc->services[i].load.kind = RLS_LOAD_CONST;
        sc->services[i].load.peak_rps = rps;
        sc->services[i].initial_replicas = 2;
    }
    return sc;
}

static struct rls_env *s_env(const struct rls_scenario *sc)
{
    struct rls_env_params p = rls_env_default_params();
    struct rls_err err;
    struct rls_env *env = NULL;
    p.scenario = sc;
    rls_err_clear(&err);
    env = rls_env_new(&p, &err);
    if (!env)
        fail_msg("rls_env_new: %s", err.msg);
    return env;
}

static int32_t s_delta_index(const struct rls_env *env, int32_t delta)
{
    const int32_t *d = rls_env_deltas(env);
    for (int32_t j = 0; j < rls_env_n_deltas(env); j++)
        if (d[j] == delta)
            return j;
    fail_msg("delta %d not in the set", (int)delta);
    return -1;
}

/* Every service takes the same delta and placement. */
static void s_fill_action(const struct rls_env *env, int32_t *action, int32_t delta, int32_t place)
{
    int32_t j = s_delta_index(env, delta);
    for (int32_t i = 0; i < rls_env_n_services(env); i++) {
        action[2 * i] = j;
        action[2 * i + 1] = place;
    }
}

static void s_assert_obs_ok(const struct rls_env *env, const float *obs)
{
    int64_t bad = -1;
    int32_t n = rls_env_n_services(env);
    for (int64_t k = 0; k < (int64_t)n * F; k++)
        if (!isfinite(obs[k]))
            fail_msg("obs[%lld] (service %lld, feature %s) is not finite", (long long)k,
                     (long long)(k / F), rls_env_feature_names(NULL)[k % F]);
    if (!rls_space_contains(rls_env_observation_space(env), obs, &bad))
        fail_msg("obs[%lld] (feature %s) = %g outside the observation space", (long long)bad,
                 rls_env_feature_names(NULL)[bad % F], (double)obs[bad]);
}

/* Index of the feature called name in the observation. */
static int s_feat(const char *name)
{
    int32_t n = 0;
    const char *const *names = rls_env_feature_names(&n);
    for (int32_t k = 0; k < n; k++)
        if (strcmp(names[k], name) == 0)
            return k;
    fail_msg("no feature '%s'", name);
    return 0;
}

/* Steps with absolute targets: every service at `replicas`. */
static void s_step_all(struct rls_env *env, int32_t replicas, struct rls_step_result *r)
{
    int32_t desired[16];
    int32_t n = rls_env_n_services(env);
    assert_true(n <= 16);
    for (int32_t i = 0; i < n; i++)
        desired[i] = replicas;
    assert_int_equal(rls_env_step_replicas(env, desired, NULL, r), RLS_OK);
}

/* ---------------------------------------------------------------------------
 * Spaces. */

static void test_space_describe_reads_like_gym(void **state)
{
    (void)state;
    char buf[256];
    int64_t shape[2] = {6, 18};
    int64_t mshape[2] = {3, 2};
    int64_t nvec[6] = {9, 2, 9, 2, 9, 2};
    struct rls_space *box = rls_space_box_new_uniform(2, shape, 0.0f, 10.0f, NULL);
    struct rls_space *disc = rls_space_discrete_new(9, NULL);
    struct rls_space *md = rls_space_multi_discrete_new(2, mshape, nvec, NULL);
    struct rls_space *md1 = rls_space_multi_discrete_new(1, &mshape[1], nvec, NULL);
    assert_non_null(box);
    assert_non_null(disc);
    assert_non_null(md);
    assert_non_null(md1);
    rls_space_describe(box, buf, sizeof(buf));
    assert_string_equal(buf, "Box(0.0, 10.0, (6, 18), float32)");
    rls_space_describe(disc, buf, sizeof(buf));
    assert_string_equal(buf, "Discrete(9)");
    rls_space_describe(md, buf, sizeof(buf));
    assert_string_equal(buf, "MultiDiscrete([[9 2] [9 2] [9 2]])");
    rls_space_describe(md1, buf, sizeof(buf));
    assert_string_equal(buf, "MultiDiscrete([9 2])");
    /* truncation keeps a terminated prefix and reports the full length */
    assert_int_equal(rls_space_describe(box, buf, 8), (int)strlen("Box(0.0, 10.0, (6, 18), float32)"));
    assert_string_equal(buf, "Box(0.0");
    rls_space_destroy(&box);
    rls_space_destroy(&disc);
    rls_space_destroy(&md);
    rls_space_destroy(&md1);
    rls_space_destroy(&md1);   /* NULL-safe twice */
    assert_null(md1);
}

static void test_space_contains_and_sample(void **state)
{
    (void)state;
    int64_t shape[1] = {3};
    float low[3] = {0.0f, -1.0f, 2.0f};
    float high[3] = {1.0f, 1.0f, 2.0f};
    int64_t nvec[3] = {4, 1, 7};
    float x[3] = {0.5f, -1.0f, 2.0f};
    int32_t a[3] = {3, 0, 6};
    int64_t bad = 0;
    float xs[3], xs2[3];
    int32_t as[3];
    struct rls_space *box = rls_space_box_new(1, shape, low, high, NULL);
    struct rls_space *md = rls_space_multi_discrete_new(1, shape, nvec, NULL);
    struct rls_err err;
    assert_non_null(box);
    assert_non_null(md);
    assert_true(rls_space_contains(box, x, &bad));
    assert_int_equal(bad, -1);
    x[1] = -1.5f;
    assert_false(rls_space_contains(box, x, &bad));
    assert_int_equal(bad, 1);
    x[1] = NAN;
    assert_false(rls_space_contains(box, x, &bad));
    assert_true(rls_space_contains(md, a, NULL));
    a[2] = 7;
    assert_false(rls_space_contains(md, a, &bad));
    assert_int_equal(bad, 2);
    for (uint64_t seed = 1; seed < 50; seed++) {
        assert_int_equal(rls_space_sample(box, seed, xs), RLS_OK);
        assert_true(rls_space_contains(box, xs, NULL));
        assert_int_equal(rls_space_sample(md, seed, as), RLS_OK);
        assert_true(rls_space_contains(md, as, NULL));
    }
    rls_space_sample(box, 7, xs);
    rls_space_sample(box, 7, xs2);
    assert_memory_equal(xs, xs2, sizeof(xs));
    /* bad bounds are refused with a message */
    low[0] = 3.0f;
    rls_err_clear(&err);
    assert_null(rls_space_box_new(1, shape, low, high, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    assert_null(rls_space_discrete_new(0, &err));
    rls_space_destroy(&box);
    rls_space_destroy(&md);
}

/* ---------------------------------------------------------------------------
 * Environment basics. */

static void test_spaces_match_services_and_features(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(3, 100.0, 4);
    struct rls_env *env = s_env(sc);
    const struct rls_space *os = rls_env_observation_space(env);
    const struct rls_space *as = rls_env_action_space(env);
    int32_t nf = 0;
    const char *const *names = rls_env_feature_names(&nf);
    char buf[256];
    assert_int_equal(nf, F);
    for (int32_t a = 0; a < nf; a++)
        for (int32_t b = 0; b < a; b++)
            assert_string_not_equal(names[a], names[b]);
    assert_int_equal(os->kind, RLS_SPACE_BOX);
    assert_int_equal(os->ndim, 2);
    assert_int_equal(os->shape[0], 3);
    assert_int_equal(os->shape[1], F);
    assert_int_equal(as->kind, RLS_SPACE_MULTI_DISCRETE);
    assert_int_equal(as->shape[0], 3);
    assert_int_equal(as->shape[1], 2);
    assert_int_equal(as->nvec[0], rls_env_n_deltas(env));
    assert_int_equal(as->nvec[1], RLS_ENV_N_PLACEMENTS);
    assert_int_equal(rls_env_n_deltas(env), 9);
    assert_int_equal(rls_env_mask_width(env), 11);
    rls_space_describe(as, buf, sizeof(buf));
    assert_string_equal(buf, "MultiDiscrete([[9 2] [9 2] [9 2]])");
    assert_string_equal(rls_env_backend_name(env), "sim");
    rls_env_destroy(&env);
    rls_env_destroy(&env);
    assert_null(env);
    rls_scenario_destroy(&sc);
}

static void test_bad_params_are_refused(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(1, 100.0, 2);
    struct rls_env_params p = rls_env_default_params();
    struct rls_err err;
    struct rls_reward_weights w = {1, -1, 1, 1};
    p.scenario = sc;
    p.n_deltas = 3;
    p.deltas[0] = -1;
    p.deltas[1] = 1;
    p.deltas[2] = 2;
    rls_err_clear(&err);
    assert_null(rls_env_new(&p, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "0"));
    p = rls_env_default_params();
    p.scenario = sc;
    p.backend = "cluster9";
    assert_null(rls_env_new(&p, &err));
    assert_int_equal(err.status, RLS_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, "cluster9"));
    p = rls_env_default_params();
    p.scenario = sc;
    p.reward = &w;
    assert_null(rls_env_new(&p, &err));
    assert_non_null(strstr(err.msg, "slo"));
    p = rls_env_default_params();
    assert_null(rls_env_new(&p, &err));   /* no scenario */
    rls_scenario_destroy(&sc);
}

static void test_step_before_reset_is_refused(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(1, 100.0, 2);
    struct rls_env *env = s_env(sc);
    int32_t action[2] = {0, 0};
    uint8_t mask[16];
    assert_int_equal(rls_env_step(env, action, NULL), RLS_ERR_STATE);
    assert_non_null(strstr(rls_env_errmsg(env), "reset"));
    assert_int_equal(rls_env_action_mask(env, mask), RLS_ERR_STATE);
    assert_null(rls_env_obs(env));
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_observations_are_finite_and_in_space(void **state)
{
    (void)state;
    /* services with varied loads, one with zero replicas allowed and a load,
     * one with no load at all */
    struct rls_scenario *sc = s_scenario(4, 100.0, 4);
    struct rls_env *env = NULL;
    const struct rls_space *as = NULL;
    float obs[4 * F];
    int32_t action[8];
    uint8_t mask[4 * 11];
    struct rls_step_result r;
    sc->services[0].min_replicas = 0;
    sc->services[0].initial_replicas = 0;   /* -> min_replicas = 0: nothing ready */
    sc->services[1].load.peak_rps = 0.0;
    sc->services[2].load.peak_rps = 2000.0;
    sc->services[2].queue_limit = 50;
    sc->services[3].cold_start_s = 0.0;
    env = s_env(sc);
    as = rls_env_action_space(env);
    assert_int_equal(rls_env_reset(env, 11, obs), RLS_OK);
    s_assert_obs_ok(env, obs);
    assert_int_equal(rls_env_services(env)[0].ready, 0);
    for (uint64_t t = 0; t < 60; t++) {
        assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
        rls_space_sample(as, t + 100, action);
        action[0] = s_delta_index(env, 0);   /* keep service 0 at zero replicas */
        assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
        s_assert_obs_ok(env, r.obs);
        if (r.terminated || r.truncated) {   /* service 2 drops most requests */
            assert_int_equal(rls_env_reset(env, t, obs), RLS_OK);
            s_assert_obs_ok(env, obs);
            continue;
        }
        assert_true(isfinite(r.reward));
        assert_true(r.reward <= 0.0);
        for (int32_t i = 0; i < 4; i++)
            assert_true(isfinite(r.service_reward[i]));
        assert_ptr_equal(r.obs, rls_env_obs(env));
    }
    /* service 0 with load and nothing ready: overloaded, latency saturated */
    assert_int_equal(rls_env_services(env)[0].ready, 0);
    assert_true(rls_env_obs(env)[s_feat("load")] > 0.0f);
    assert_true(rls_env_obs(env)[s_feat("latency")] > 0.99f);
    assert_true(rls_env_obs(env)[s_feat("supply_gap")] > 0.0f);
    /* time of day: the angle of the current time in the day */
    {
        double ang = 2.0 * M_PI * fmod(rls_env_time_s(env), 86400.0) / 86400.0;
        assert_true(fabs(rls_env_obs(env)[s_feat("tod_sin")] - sin(ang)) < 1e-5);
        assert_true(fabs(rls_env_obs(env)[s_feat("tod_cos")] - cos(ang)) < 1e-5);
    }
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_observation_is_scale_free(void **state)
{
    (void)state;
    /* service 1 is service 0 scaled 10x: capacity, load, queue, and a 10x
     * faster request with a 10x tighter SLO. Every feature must agree. */
    struct rls_scenario *sc = s_scenario(2, 80.0, 1);   /* one node: no drains */
    struct rls_env *env = NULL;
    struct rls_step_result r;
    int32_t action[4];
    sc->poisson_noise = 0;
    sc->services[1].tenant = 0;
    sc->services[1].capacity_rps = 500.0;
    sc->services[1].service_time_ms = 5.0;
    sc->services[1].slo_ms = 25.0;
    sc->services[1].queue_limit = 10000;
    sc->services[1].load.peak_rps = 800.0;
    env = s_env(sc);
    assert_int_equal(rls_env_reset(env, 3, NULL), RLS_OK);
    for (int t = 0; t < 12; t++) {
        s_fill_action(env, action, t < 2 ? 1 : 0, 0);
        assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
        for (int k = 0; k < F; k++)
            if (fabsf(r.obs[k] - r.obs[F + k]) > 1e-4f)
                fail_msg("step %d feature %s: %g vs %g", t, rls_env_feature_names(NULL)[k],
                         (double)r.obs[k], (double)r.obs[F + k]);
    }
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_same_seed_same_trajectory_other_seed_differs(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(3, 120.0, 4);
    struct rls_env *a = s_env(sc), *b = s_env(sc), *c = s_env(sc);
    const struct rls_space *as = rls_env_action_space(a);
    struct rls_step_result ra, rb, rc;
    int32_t action[6];
    int differs = 0;
    assert_int_equal(rls_env_reset(a, 42, NULL), RLS_OK);
    assert_int_equal(rls_env_reset(b, 42, NULL), RLS_OK);
    assert_int_equal(rls_env_reset(c, 43, NULL), RLS_OK);
    for (uint64_t t = 0; t < 40; t++) {
        rls_space_sample(as, t, action);
        assert_int_equal(rls_env_step(a, action, &ra), RLS_OK);
        assert_int_equal(rls_env_step(b, action, &rb), RLS_OK);
        assert_int_equal(rls_env_step(c, action, &rc), RLS_OK);
        assert_memory_equal(ra.obs, rb.obs, 3 * F * sizeof(float));
        assert_true(ra.reward == rb.reward);
        assert_memory_equal(ra.service_reward, rb.service_reward, 3 * sizeof(double));
        differs |= memcmp(ra.obs, rc.obs, 3 * F * sizeof(float)) != 0;
    }
    assert_true(differs);
    /* a reset with the first seed replays the episode from the start */
    {
        float o1[3 * F], o2[3 * F];
        rls_env_reset(a, 42, o1);
        rls_env_reset(b, 42, o2);
        assert_memory_equal(o1, o2, sizeof(o1));
        assert_int_equal(rls_env_steps(a), 0);
    }
    rls_env_destroy(&a);
    rls_env_destroy(&b);
    rls_env_destroy(&c);
    rls_scenario_destroy(&sc);
}

static void test_noop_keeps_and_deltas_change_desired_clamped(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(2, 100.0, 8);
    struct rls_env *env = NULL;
    struct rls_step_result r;
    int32_t action[4];
    sc->services[0].max_replicas = 6;
    sc->services[1].min_replicas = 2;
    sc->services[1].initial_replicas = 4;
    env = s_env(sc);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    assert_int_equal(rls_env_services(env)[0].desired, 2);
    assert_int_equal(rls_env_services(env)[1].desired, 4);
    s_fill_action(env, action, 0, 0);
    assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
    assert_int_equal(r.services[0].desired, 2);
    assert_int_equal(r.services[1].desired, 4);
    assert_int_equal(r.services[0].change, 0);
    /* +2 and -1 */
    action[0] = s_delta_index(env, 2);
    action[2] = s_delta_index(env, -1);
    assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
    assert_int_equal(r.services[0].desired, 4);
    assert_int_equal(r.services[1].desired, 3);
    /* +8 clamps at max 6, -8 clamps at min 2 */
    action[0] = s_delta_index(env, 8);
    action[2] = s_delta_index(env, -8);
    assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
    assert_int_equal(r.services[0].desired, 6);
    assert_int_equal(r.services[1].desired, 2);
    /* absolute targets are clamped too */
    {
        int32_t desired[2] = {100, -5};
        uint8_t place[2] = {1, 0};
        assert_int_equal(rls_env_step_replicas(env, desired, place, &r), RLS_OK);
        assert_int_equal(r.services[0].desired, 6);
        assert_int_equal(r.services[1].desired, 2);
        place[1] = 2;
        assert_int_equal(rls_env_step_replicas(env, desired, place, &r), RLS_ERR_RANGE);
        assert_non_null(strstr(rls_env_errmsg(env), "service 1"));
    }
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_mask_forbids_deltas_outside_min_max(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(2, 100.0, 8);
    struct rls_env *env = NULL;
    uint8_t mask[2 * 11];
    const int32_t *d = NULL;
    int32_t w;
    sc->services[0].min_replicas = 1;
    sc->services[0].initial_replicas = 1;    /* at min */
    sc->services[1].max_replicas = 5;
    sc->services[1].initial_replicas = 5;    /* at max */
    env = s_env(sc);
    d = rls_env_deltas(env);
    w = rls_env_mask_width(env);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
    for (int32_t j = 0; j < rls_env_n_deltas(env); j++) {
        int32_t t0 = 1 + d[j], t1 = 5 + d[j];
        int ok0 = d[j] == 0 || (t0 >= 1 && t0 <= 10);
        int ok1 = d[j] == 0 || (t1 >= 1 && t1 <= 5);
        if (mask[j] != ok0)
            fail_msg("service 0 at min 1, delta %d: mask %d", (int)d[j], (int)mask[j]);
        if (mask[w + j] != ok1)
            fail_msg("service 1 at max 5, delta %d: mask %d", (int)d[j], (int)mask[w + j]);
    }
    /* explicit: below min and above max are out, 0 in */
    assert_int_equal(mask[s_delta_index(env, -1)], 0);
    assert_int_equal(mask[s_delta_index(env, 1)], 1);
    assert_int_equal(mask[w + s_delta_index(env, 1)], 0);
    assert_int_equal(mask[w + s_delta_index(env, -4)], 1);
    assert_int_equal(mask[w + s_delta_index(env, -8)], 0);
    assert_int_equal(mask[w + s_delta_index(env, 0)], 1);
    assert_int_equal(mask[w - 2], 1);   /* placements always allowed */
    assert_int_equal(mask[w - 1], 1);
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_mask_forbids_scale_up_when_cluster_full(void **state)
{
    (void)state;
    /* one node of 2 cores; replicas take 1 core; 2 replicas fill it */
    struct rls_scenario *sc = s_scenario(1, 50.0, 1);
    struct rls_env *env = NULL;
    uint8_t mask[11];
    int32_t action[2];
    struct rls_step_result r;
    sc->pools[0].cpu = 2.0;
    sc->pools[0].mem_gb = 8.0;
    sc->services[0].cpu = 1.0;
    sc->services[0].initial_replicas = 2;
    env = s_env(sc);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
    assert_int_equal(mask[s_delta_index(env, 1)], 0);
    assert_int_equal(mask[s_delta_index(env, 2)], 0);
    assert_int_equal(mask[s_delta_index(env, 0)], 1);
    assert_int_equal(mask[s_delta_index(env, -1)], 1);
    assert_true(rls_env_obs(env)[s_feat("can_place")] == 0.0f);
    /* free one replica's room: scale-up is allowed again */
    s_fill_action(env, action, -1, 0);
    assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
    assert_int_equal(r.services[0].desired, 1);
    assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
    assert_int_equal(mask[s_delta_index(env, 1)], 1);
    assert_int_equal(mask[s_delta_index(env, 2)], 1);   /* mask is per one more replica */
    assert_true(r.obs[s_feat("can_place")] == 1.0f);
    /* memory counts too: a replica needing more memory than is left */
    rls_env_destroy(&env);
    sc->services[0].cpu = 0.5;
    sc->services[0].mem_gb = 4.0;
    env = s_env(sc);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
    assert_int_equal(mask[s_delta_index(env, 1)], 0);
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_out_of_space_action_names_the_service(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(3, 100.0, 4);
    struct rls_env *env = s_env(sc);
    int32_t action[6];
    struct rls_step_result r;
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    s_fill_action(env, action, 0, 0);
    action[4] = 9;   /* service 2: delta index past the end */
    assert_int_equal(rls_env_step(env, action, &r), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_env_errmsg(env), "service 2"));
    assert_int_equal(rls_env_steps(env), 0);   /* nothing was stepped */
    s_fill_action(env, action, 0, 0);
    action[3] = 2;   /* service 1: placement 2 */
    assert_int_equal(rls_env_step(env, action, &r), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_env_errmsg(env), "service 1"));
    action[3] = 0;
    action[0] = -1;
    assert_int_equal(rls_env_step(env, action, &r), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_env_errmsg(env), "service 0"));
    assert_int_equal(rls_env_step(env, NULL, &r), RLS_ERR_INVALID);
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_truncated_at_the_horizon(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(1, 100.0, 2);
    struct rls_env *env = NULL;
    struct rls_step_result r;
    int32_t action[2];
    sc->horizon_steps = 5;
    env = s_env(sc);
    assert_int_equal(rls_env_horizon(env), 5);
    for (int ep = 0; ep < 2; ep++) {
        assert_int_equal(rls_env_reset(env, 9, NULL), RLS_OK);
        s_fill_action(env, action, 0, 0);
        for (int t = 1; t <= 5; t++) {
            assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
            assert_int_equal(r.truncated, t == 5);
            assert_int_equal(r.terminated, 0);
        }
        assert_int_equal(rls_env_step(env, action, &r), RLS_ERR_STATE);
        assert_non_null(strstr(rls_env_errmsg(env), "reset"));
    }
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_terminated_under_sustained_drops(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(1, 100000.0, 2);
    struct rls_env_params p = rls_env_default_params();
    struct rls_env *env = NULL;
    struct rls_step_result r;
    int32_t action[2];
    sc->services[0].max_replicas = 1;
    sc->services[0].initial_replicas = 1;
    sc->services[0].queue_limit = 10;
    p.scenario = sc;
    p.terminate_steps = 3;
    env = rls_env_new(&p, NULL);
    assert_non_null(env);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    s_fill_action(env, action, 0, 0);
    for (int t = 1; t <= 3; t++) {
        assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
        assert_true(r.info->dropped > 0.5 * r.info->arrivals);
        assert_true(r.terms.drop > 0.5);
        assert_int_equal(r.terminated, t == 3);
        assert_int_equal(r.truncated, 0);
    }
    assert_int_equal(rls_env_step(env, action, &r), RLS_ERR_STATE);
    rls_env_destroy(&env);
    /* terminate_steps 0: never */
    p.terminate_steps = 0;
    env = rls_env_new(&p, NULL);
    assert_non_null(env);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    for (int t = 1; t <= 10; t++) {
        assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
        assert_int_equal(r.terminated, 0);
    }
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_more_replicas_cost_more(void **state)
{
    (void)state;
    /* 8 nodes of 2 cores, replicas of 1 core: 16 replicas fill the cluster */
    struct rls_scenario *sc = s_scenario(1, 5.0, 8);
    struct rls_env *lo = NULL, *hi = NULL;
    struct rls_step_result rl, rh;
    double max_cost;
    sc->pools[0].cpu = 2.0;
    sc->services[0].cpu = 1.0;
    sc->services[0].max_replicas = 16;
    lo = s_env(sc);
    hi = s_env(sc);
    assert_int_equal(rls_env_reset(lo, 5, NULL), RLS_OK);
    assert_int_equal(rls_env_reset(hi, 5, NULL), RLS_OK);
    for (int t = 0; t < 30; t++) {
        s_step_all(lo, 1, &rl);
        s_step_all(hi, 16, &rh);
    }
    assert_true(rh.terms.cost > rl.terms.cost);
    assert_true(rh.service_reward[0] < rl.service_reward[0]);
    /* the term is the step cost over the whole cluster's cost */
    max_cost = 8 * sc->pools[0].price_per_hour * sc->step_s / 3600.0;
    assert_true(fabs(rh.terms.cost - rh.info->cost_usd / max_cost) < 1e-9);
    assert_true(rh.terms.cost <= 1.0 + 1e-9);
    assert_true(fabs(rh.terms.cost - 1.0) < 1e-9);   /* every node on */
    rls_env_destroy(&lo);
    rls_env_destroy(&hi);
    rls_scenario_destroy(&sc);
}

static void test_under_provisioning_raises_slo_term(void **state)
{
    (void)state;
    /* 380 rps at 50 rps per replica: 1 replica is far too few, 10 plenty */
    struct rls_scenario *sc = s_scenario(1, 380.0, 1);   /* one node: no drains */
    struct rls_env *lo = NULL, *hi = NULL;
    struct rls_step_result rl, rh;
    struct rls_reward_weights w;
    sc->services[0].queue_limit = 1000000;   /* overload shows as latency, not drops */
    lo = s_env(sc);
    hi = s_env(sc);
    w = rls_env_reward_weights(lo);
    assert_true(w.slo == sc->reward.slo);
    assert_int_equal(rls_env_reset(lo, 5, NULL), RLS_OK);
    assert_int_equal(rls_env_reset(hi, 5, NULL), RLS_OK);
    for (int t = 0; t < 8; t++) {
        s_step_all(lo, 1, &rl);
        s_step_all(hi, 10, &rh);
    }
    if (!(rl.terms.slo > 0.5 && rh.terms.slo < 0.1))
        fail_msg("slo term with 1 replica %g, with 10 replicas %g", rl.terms.slo, rh.terms.slo);
    assert_true(rl.reward < rh.reward);
    assert_true(rl.service_reward[0] < rh.service_reward[0]);
    assert_true(rl.obs[s_feat("latency")] > rh.obs[s_feat("latency")]);
    assert_true(rl.obs[s_feat("supply_gap")] > rh.obs[s_feat("supply_gap")]);
    rls_env_destroy(&lo);
    rls_env_destroy(&hi);
    rls_scenario_destroy(&sc);
}

static void test_reward_weights_are_configurable(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(2, 300.0, 4);
    struct rls_env_params p = rls_env_default_params();
    struct rls_reward_weights w = {0.0, 0.0, 0.0, 2.0};   /* churn only */
    struct rls_env *env = NULL;
    struct rls_step_result r;
    int32_t action[4];
    p.scenario = sc;
    p.reward = &w;
    env = rls_env_new(&p, NULL);
    assert_non_null(env);
    assert_int_equal(rls_env_reset(env, 1, NULL), RLS_OK);
    s_fill_action(env, action, 0, 0);
    assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
    assert_true(r.reward == 0.0);   /* no change, nothing else weighs */
    action[0] = s_delta_index(env, 4);   /* service 0: +4 of max 10 */
    assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
    assert_true(fabs(r.terms.churn - 0.4 / 2.0) < 1e-12);
    assert_true(fabs(r.reward + 2.0 * 0.2) < 1e-12);
    assert_true(fabs(r.service_reward[0] + 2.0 * 0.4) < 1e-12);
    assert_true(r.service_reward[1] == 0.0);
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

/* ---------------------------------------------------------------------------
 * A custom backend through the ops table: delegates to rls_sim and counts. */

struct s_test_backend {
    struct rls_sim *sim;
    int resets, steps;
    int *destroyed;
};

static int s_tb_reset(void *self, uint64_t seed)
{
    struct s_test_backend *b = self;
    b->resets++;
    return rls_sim_reset(b->sim, seed);
}

static int s_tb_step(void *self, const int32_t *desired, const uint8_t *placement)
{
    struct s_test_backend *b = self;
    b->steps++;
    return rls_sim_step(b->sim, desired, placement);
}

static const struct rls_scenario *s_tb_scenario(const void *self)
{
    return rls_sim_scenario(((const struct s_test_backend *)self)->sim);
}

static const struct rls_svc_state *s_tb_services(const void *self)
{
    return rls_sim_services(((const struct s_test_backend *)self)->sim);
}

static const struct rls_node_state *s_tb_nodes(const void *self, int32_t *n)
{
    const struct s_test_backend *b = self;
    *n = rls_sim_n_nodes(b->sim);
    return rls_sim_nodes(b->sim);
}

static const struct rls_step_info *s_tb_last(const void *self)
{
    return rls_sim_last(((const struct s_test_backend *)self)->sim);
}

static int64_t s_tb_steps(const void *self)
{
    return rls_sim_steps(((const struct s_test_backend *)self)->sim);
}

static int64_t s_tb_horizon(const void *self)
{
    return rls_sim_horizon(((const struct s_test_backend *)self)->sim);
}

static double s_tb_time_s(const void *self)
{
    return rls_sim_time_s(((const struct s_test_backend *)self)->sim);
}

static const char *s_tb_errmsg(const void *self)
{
    return rls_sim_errmsg(((const struct s_test_backend *)self)->sim);
}

static void s_tb_destroy(void *self)
{
    struct s_test_backend *b = self;
    (*b->destroyed)++;
    rls_sim_destroy(&b->sim);
    free(b);
}

static const struct rls_env_backend_ops s_tb_ops = {
    .name = "test",
    .reset = s_tb_reset,
    .step = s_tb_step,
    .scenario = s_tb_scenario,
    .services = s_tb_services,
    .nodes = s_tb_nodes,
    .last = s_tb_last,
    .steps = s_tb_steps,
    .horizon = s_tb_horizon,
    .time_s = s_tb_time_s,
    .errmsg = s_tb_errmsg,
    .destroy = s_tb_destroy,
};

static struct s_test_backend *s_tb_new(const struct rls_scenario *sc, int *destroyed)
{
    struct s_test_backend *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    b->sim = rls_sim_new(sc, NULL);
    assert_non_null(b->sim);
    b->destroyed = destroyed;
    return b;
}

static void test_custom_backend_plugs_in_through_the_ops_table(void **state)
{
    (void)state;
    struct rls_scenario *sc = s_scenario(2, 150.0, 4);
    struct rls_env_params p = rls_env_default_params();
    int destroyed = 0;
    struct s_test_backend *b = s_tb_new(sc, &destroyed);
    struct rls_env *custom = NULL, *plain = s_env(sc);
    struct rls_step_result rc, rp;
    struct rls_err err;
    int32_t action[4];
    struct rls_env_backend_ops broken = s_tb_ops;
    custom = rls_env_new_with_backend(&p, &s_tb_ops, b, NULL);
    assert_non_null(custom);
    assert_string_equal(rls_env_backend_name(custom), "test");
    assert_int_equal(rls_env_reset(custom, 8, NULL), RLS_OK);
    assert_int_equal(rls_env_reset(plain, 8, NULL), RLS_OK);
    assert_int_equal(b->resets, 1);
    for (uint64_t t = 0; t < 15; t++) {
        rls_space_sample(rls_env_action_space(custom), t, action);
        assert_int_equal(rls_env_step(custom, action, &rc), RLS_OK);
        assert_int_equal(rls_env_step(plain, action, &rp), RLS_OK);
        assert_memory_equal(rc.obs, rp.obs, 2 * F * sizeof(float));
        assert_true(rc.reward == rp.reward);
    }
    assert_int_equal(b->steps, 15);
    rls_env_destroy(&custom);
    assert_int_equal(destroyed, 1);   /* the env owned the backend */
    /* an incomplete table is refused and the backend still freed */
    broken.step = NULL;
    rls_err_clear(&err);
    assert_null(rls_env_new_with_backend(&p, &broken, s_tb_new(sc, &destroyed), &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    assert_int_equal(destroyed, 2);
    /* bad params with a backend: refused, backend freed */
    p.history_len = 0;
    assert_null(rls_env_new_with_backend(&p, &s_tb_ops, s_tb_new(sc, &destroyed), &err));
    assert_int_equal(destroyed, 3);
    rls_env_destroy(&plain);
    rls_scenario_destroy(&sc);
}

/* ---------------------------------------------------------------------------
 * Vector env. */

static void test_vecenv_matches_independent_envs_and_autoresets(void **state)
{
    (void)state;
    enum { N = 3, NS = 2 };
    struct rls_scenario *sc = s_scenario(NS, 140.0, 4);
    struct rls_env_params p = rls_env_default_params();
    struct rls_vecenv *v = NULL;
    struct rls_env *solo[N] = {NULL};
    int64_t episode[N] = {0};
    float vobs[N * NS * F], sobs[NS * F];
    double rewards[N];
    uint8_t term[N], trunc[N];
    int32_t actions[N * NS * 2];
    uint8_t vmask[N * NS * 11], smask[NS * 11];
    const uint64_t base = 100;
    int resets_seen = 0;
    struct rls_err err;
    sc->horizon_steps = 4;
    p.scenario = sc;
    rls_err_clear(&err);
    v = rls_vecenv_new(&p, N, &err);
    if (!v)
        fail_msg("rls_vecenv_new: %s", err.msg);
    assert_int_equal(rls_vecenv_n_envs(v), N);
    assert_int_equal(rls_vecenv_n_services(v), NS);
    assert_int_equal(rls_vecenv_step(v, actions, NULL, NULL, NULL, NULL), RLS_ERR_STATE);
    assert_int_equal(rls_vecenv_reset(v, base, vobs), RLS_OK);
    for (int i = 0; i < N; i++) {
        solo[i] = rls_env_new(&p, NULL);
        assert_non_null(solo[i]);
        assert_int_equal(rls_env_reset(solo[i], base + (uint64_t)i, sobs), RLS_OK);
        assert_memory_equal(vobs + i * NS * F, sobs, sizeof(sobs));
    }
    for (uint64_t t = 0; t < 10; t++) {
        for (int i = 0; i < N; i++)
            rls_space_sample(rls_env_action_space(solo[i]), t * N + (uint64_t)i + 1,
                             actions + i * NS * 2);
        assert_int_equal(rls_vecenv_action_mask(v, vmask), RLS_OK);
        assert_int_equal(rls_vecenv_step(v, actions, vobs, rewards, term, trunc), RLS_OK);
        for (int i = 0; i < N; i++) {
            struct rls_step_result r;
            assert_int_equal(rls_env_action_mask(solo[i], smask), RLS_OK);
            assert_memory_equal(vmask + i * NS * 11, smask, sizeof(smask));
            assert_int_equal(rls_env_step(solo[i], actions + i * NS * 2, &r), RLS_OK);
            assert_true(rewards[i] == r.reward);
            assert_memory_equal(rls_vecenv_service_rewards(v) + i * NS, r.service_reward,
                                NS * sizeof(double));
            assert_int_equal(term[i], r.terminated);
            assert_int_equal(trunc[i], r.truncated);
            if (r.terminated || r.truncated) {
                const float *fin = rls_vecenv_final_obs(v, i);
                assert_non_null(fin);
                assert_memory_equal(fin, r.obs, sizeof(sobs));
                episode[i]++;
                assert_int_equal(rls_vecenv_episode(v, i), episode[i]);
                assert_int_equal(rls_env_reset(solo[i], base + (uint64_t)i + (uint64_t)episode[i] * N,
                                               sobs), RLS_OK);
                resets_seen++;
            } else {
                assert_null(rls_vecenv_final_obs(v, i));
                memcpy(sobs, r.obs, sizeof(sobs));
            }
            assert_memory_equal(vobs + i * NS * F, sobs, sizeof(sobs));
        }
    }
    assert_int_equal(resets_seen, N * 2);   /* horizon 4, 10 steps: two episodes ended each */
    /* a bad action names the env and the service */
    actions[1 * NS * 2 + 2] = 99;
    assert_int_not_equal(rls_vecenv_step(v, actions, vobs, rewards, term, trunc), RLS_OK);
    assert_non_null(strstr(rls_vecenv_errmsg(v), "env 1"));
    assert_non_null(strstr(rls_vecenv_errmsg(v), "service 1"));
    for (int i = 0; i < N; i++)
        rls_env_destroy(&solo[i]);
    rls_vecenv_destroy(&v);
    rls_vecenv_destroy(&v);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_describe_reads_like_gym),
        cmocka_unit_test(test_space_contains_and_sample),
        cmocka_unit_test(test_spaces_match_services_and_features),
        cmocka_unit_test(test_bad_params_are_refused),
        cmocka_unit_test(test_step_before_reset_is_refused),
        cmocka_unit_test(test_observations_are_finite_and_in_space),
        cmocka_unit_test(test_observation_is_scale_free),
        cmocka_unit_test(test_same_seed_same_trajectory_other_seed_differs),
        cmocka_unit_test(test_noop_keeps_and_deltas_change_desired_clamped),
        cmocka_unit_test(test_mask_forbids_deltas_outside_min_max),
        cmocka_unit_test(test_mask_forbids_scale_up_when_cluster_full),
        cmocka_unit_test(test_out_of_space_action_names_the_service),
        cmocka_unit_test(test_truncated_at_the_horizon),
        cmocka_unit_test(test_terminated_under_sustained_drops),
        cmocka_unit_test(test_more_replicas_cost_more),
        cmocka_unit_test(test_under_provisioning_raises_slo_term),
        cmocka_unit_test(test_reward_weights_are_configurable),
        cmocka_unit_test(test_custom_backend_plugs_in_through_the_ops_table),
        cmocka_unit_test(test_vecenv_matches_independent_envs_and_autoresets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
