/* test_action_map.c - env/action_map.h: a replica target maps to the nearest
 * allowed action (delta and placement masks, the env's clamping, ties to the
 * smaller change), the env-level mapping agrees with a plain reading of the
 * rule on a running simulator (the rule `rlsched record` used before it moved
 * here), the flat mask honours the placement mask, exploration is
 * deterministic per seed and never picks a masked action, and the exported
 * simulator backend runs the same episodes as rls_env_new.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env/action_map.h"
#include "env/env.h"
#include "env/rng.h"
#include "env/scenario.h"
#include "env/sim.h"

static const int32_t s_deltas[9] = {-8, -4, -2, -1, 0, 1, 2, 4, 8};
#define ND 9
#define NP RLS_ENV_N_PLACEMENTS

static int32_t s_didx(int32_t delta)
{
    for (int32_t d = 0; d < ND; d++)
        if (s_deltas[d] == delta)
            return d;
    return -1;
}

static void s_row_all(uint8_t *row)
{
    memset(row, 1, ND + NP);
}

static int32_t s_map(const uint8_t *row, int32_t cur, int32_t lo, int32_t hi, int32_t target, int32_t pl)
{
    return rls_action_from_target(row, s_deltas, ND, NP, cur, lo, hi, target, pl);
}

static void test_the_nearest_allowed_delta_wins_and_ties_go_to_the_smaller_change(void **state)
{
    uint8_t row[ND + NP];
    (void)state;
    s_row_all(row);
    assert_int_equal(s_map(row, 5, 1, 100, 5, 0), s_didx(0) * NP);
    assert_int_equal(s_map(row, 5, 1, 100, 6, 1), s_didx(1) * NP + 1);
    assert_int_equal(s_map(row, 5, 1, 100, 8, 0), s_didx(2) * NP);       /* 7 and 9 tie: +2 */
    assert_int_equal(s_map(row, 5, 1, 100, 40, 0), s_didx(8) * NP);      /* beyond reach: the largest */
    assert_int_equal(s_map(row, 5, 1, 100, 0, 0), s_didx(-4) * NP);      /* 1 is nearest to 0 */
    /* the env clamps to [min, max]: +1 and +2 both land on 10, the smaller wins */
    assert_int_equal(s_map(row, 9, 1, 10, 20, 0), s_didx(1) * NP);
    /* a masked delta is never taken: +4 masked, 9 is reached by +2 (7) before +8 (13) */
    row[s_didx(4)] = 0;
    assert_int_equal(s_map(row, 5, 1, 100, 9, 0), s_didx(2) * NP);
    /* nothing allowed: the 0 delta */
    memset(row, 0, ND);
    assert_int_equal(s_map(row, 5, 1, 100, 9, 0), s_didx(0) * NP);
    /* bad arguments */
    assert_int_equal(rls_action_from_target(NULL, s_deltas, ND, NP, 1, 0, 9, 2, 0), -1);
    assert_int_equal(rls_action_from_target(row, s_deltas, 0, NP, 1, 0, 9, 2, 0), -1);
}

static void test_a_masked_placement_is_replaced_by_an_allowed_one(void **state)
{
    uint8_t row[ND + NP];
    (void)state;
    s_row_all(row);
    row[ND + RLS_PLACE_BINPACK] = 0;
    assert_int_equal(s_map(row, 5, 1, 100, 6, RLS_PLACE_BINPACK) % NP, RLS_PLACE_SPREAD);
    assert_int_equal(s_map(row, 5, 1, 100, 6, RLS_PLACE_SPREAD) % NP, RLS_PLACE_SPREAD);
    s_row_all(row);
    row[ND + RLS_PLACE_SPREAD] = 0;
    assert_int_equal(s_map(row, 5, 1, 100, 6, RLS_PLACE_SPREAD) % NP, RLS_PLACE_BINPACK);
    assert_int_equal(s_map(row, 5, 1, 100, 6, 7) % NP, RLS_PLACE_BINPACK);   /* out of range too */
    /* and the flat mask of that row forbids every spread action */
    uint8_t flat[ND * NP];
    assert_int_equal(rls_action_mask_flatten(row, 1, ND, NP, flat), RLS_OK);
    for (int32_t d = 0; d < ND; d++) {
        assert_int_equal(flat[d * NP + RLS_PLACE_SPREAD], 0);
        assert_int_equal(flat[d * NP + RLS_PLACE_BINPACK], 1);
    }
    assert_int_equal(rls_action_mask_flatten(NULL, 1, ND, NP, flat), RLS_ERR_INVALID);
}

/* The rule as `rlsched record` wrote it before it moved to the library. */
static int32_t s_reference(const uint8_t *m, const struct rls_service_spec *spec, int32_t cur, int32_t target,
                           int32_t placement)
{
    int32_t best = -1;
    int64_t best_gap = 0;
    for (int32_t d = 0; d < ND; d++) {
        if (!m[d])
            continue;
        int64_t to = (int64_t)cur + s_deltas[d];
        to = to < spec->min_replicas ? spec->min_replicas : to > spec->max_replicas ? spec->max_replicas : to;
        int64_t gap = to > target ? to - target : target - to;
        if (best < 0 || gap < best_gap || (gap == best_gap && abs(s_deltas[d]) < abs(s_deltas[best]))) {
            best = d;
            best_gap = gap;
        }
    }
    int32_t p = placement < NP && m[ND + placement] ? placement : 0;
    return (best < 0 ? 0 : best) * NP + p;
}

static void test_on_a_running_env_targets_map_as_record_mapped_them(void **state)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    (void)state;
    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    struct rls_env_params ep = rls_env_default_params();
    ep.scenario = sc;
    struct rls_env *env = rls_env_new(&ep, &err);
    assert_non_null(env);
    int32_t S = rls_env_n_services(env), W = rls_env_mask_width(env);
    assert_int_equal(rls_env_n_deltas(env), ND);
    uint8_t *mask = malloc((size_t)S * (size_t)W), *fmask = malloc((size_t)S * ND * NP), *pl = malloc((size_t)S);
    int32_t *target = malloc((size_t)S * sizeof *target), *flat = malloc((size_t)S * sizeof *flat);
    int32_t *action = malloc((size_t)S * 2 * sizeof *action);
    assert_true(mask && fmask && pl && target && flat && action);
    assert_int_equal(rls_env_actions_from_targets(env, mask, target, pl, flat, action), RLS_ERR_STATE);
    assert_int_equal(rls_env_reset(env, 3, NULL), RLS_OK);
    uint64_t rng = 42;
    int64_t checked = 0;
    for (int step = 0; step < 120; step++) {
        const struct rls_svc_state *sv = rls_env_services(env);
        assert_int_equal(rls_env_action_mask(env, mask), RLS_OK);
        assert_int_equal(rls_action_mask_flatten(mask, S, ND, NP, fmask), RLS_OK);
        for (int32_t i = 0; i < S; i++) {
            target[i] = (int32_t)(rls_splitmix64(&rng) % (uint64_t)(sc->services[i].max_replicas + 4));
            pl[i] = (uint8_t)(rls_splitmix64(&rng) % NP);
        }
        assert_int_equal(rls_env_actions_from_targets(env, mask, target, pl, flat, action), RLS_OK);
        for (int32_t i = 0; i < S; i++) {
            assert_int_equal(flat[i], s_reference(mask + (size_t)i * (size_t)W, &sc->services[i], sv[i].desired,
                                                  target[i], pl[i]));
            assert_int_equal(action[2 * i], flat[i] / NP);
            assert_int_equal(action[2 * i + 1], flat[i] % NP);
            assert_int_equal(fmask[(size_t)i * ND * NP + (size_t)flat[i]], 1);   /* always allowed */
            checked++;
        }
        struct rls_step_result r;
        assert_int_equal(rls_env_step(env, action, &r), RLS_OK);
        if (r.terminated || r.truncated)
            assert_int_equal(rls_env_reset(env, 4, NULL), RLS_OK);
    }
    assert_true(checked >= 120 * S);
    assert_int_equal(rls_env_actions_from_targets(env, NULL, target, pl, flat, action), RLS_ERR_INVALID);
    free(mask);
    free(fmask);
    free(pl);
    free(target);
    free(flat);
    free(action);
    rls_env_destroy(&env);
    rls_scenario_destroy(&sc);
}

static void test_exploration_is_deterministic_and_stays_in_the_mask(void **state)
{
    uint8_t fm[ND * NP];
    int32_t seen[ND * NP] = {0};
    (void)state;
    for (int32_t j = 0; j < ND * NP; j++)
        fm[j] = (uint8_t)(j % 3 != 0);   /* a third masked */
    /* epsilon 0: the action itself and no draw */
    uint64_t r0 = 7;
    assert_int_equal(rls_action_explore(fm, ND * NP, 0.0, &r0, 5), 5);
    assert_int_equal(r0, 7);
    /* the same seed, the same choices */
    uint64_t ra = 99, rb = 99;
    int32_t changed = 0;
    for (int k = 0; k < 2000; k++) {
        int32_t a = rls_action_explore(fm, ND * NP, 0.3, &ra, 4);
        int32_t b = rls_action_explore(fm, ND * NP, 0.3, &rb, 4);
        assert_int_equal(a, b);
        changed += a != 4;
        assert_true(a == 4 || fm[a]);
    }
    assert_true(ra == rb);
    assert_in_range(changed, 400, 800);   /* about 0.3 * (1 - 1/n_allowed) of 2000 */
    /* epsilon 1: always a random allowed action, each of them reached */
    uint64_t rc = 5;
    for (int k = 0; k < 5000; k++) {
        int32_t a = rls_action_explore(fm, ND * NP, 1.0, &rc, 4);
        assert_int_equal(fm[a], 1);
        seen[a]++;
    }
    for (int32_t j = 0; j < ND * NP; j++)
        assert_true(fm[j] ? seen[j] > 0 : seen[j] == 0);
    /* nothing allowed: the action itself */
    memset(fm, 0, sizeof fm);
    assert_int_equal(rls_action_explore(fm, ND * NP, 1.0, &rc, 3), 3);
}

static void test_the_exported_sim_backend_runs_the_episodes_of_rls_env_new(void **state)
{
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0};
    (void)state;
    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    struct rls_env_params ep = rls_env_default_params();
    ep.scenario = sc;
    struct rls_env *a = rls_env_new(&ep, &err);
    struct rls_sim *sim = rls_sim_new(sc, &err);
    assert_non_null(a);
    assert_non_null(sim);
    struct rls_env *b = rls_env_new_with_backend(&ep, &rls_sim_backend_ops, sim, &err);
    assert_non_null(b);
    assert_string_equal(rls_env_backend_name(b), "sim");
    int32_t S = rls_env_n_services(a);
    int32_t *action = calloc((size_t)S * 2, sizeof *action);
    assert_non_null(action);
    assert_int_equal(rls_env_reset(a, 11, NULL), RLS_OK);
    assert_int_equal(rls_env_reset(b, 11, NULL), RLS_OK);
    uint64_t rng = 1;
    for (int step = 0; step < 50; step++) {
        struct rls_step_result ra, rb;
        for (int32_t i = 0; i < S; i++) {
            action[2 * i] = s_didx(0) + (int32_t)(rls_splitmix64(&rng) % 3) - 1;
            action[2 * i + 1] = 0;
        }
        assert_int_equal(rls_env_step(a, action, &ra), RLS_OK);
        assert_int_equal(rls_env_step(b, action, &rb), RLS_OK);
        assert_memory_equal(ra.obs, rb.obs, (size_t)S * RLS_ENV_N_FEATURES * sizeof(float));
        assert_true(ra.reward == rb.reward);
    }
    free(action);
    rls_env_destroy(&a);
    rls_env_destroy(&b);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_nearest_allowed_delta_wins_and_ties_go_to_the_smaller_change),
        cmocka_unit_test(test_a_masked_placement_is_replaced_by_an_allowed_one),
        cmocka_unit_test(test_on_a_running_env_targets_map_as_record_mapped_them),
        cmocka_unit_test(test_exploration_is_deterministic_and_stays_in_the_mask),
        cmocka_unit_test(test_the_exported_sim_backend_runs_the_episodes_of_rls_env_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
