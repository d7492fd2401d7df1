/* test_safety.c - the agent's safety layer: each clamp (min/max, step up and
 * down, hysteresis), the cool-down against flapping on an alternating wish
 * sequence, staleness, the out-of-distribution check against a training
 * sample, the fallback verdict with its reasons and counters, and the HPA
 * fallback acting through the filter on the simulator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "agent/safety.h"
#include "policies/policy.h"

/* Params with every limit off, so a test turns on only the rule it checks. */
static struct rls_safety_params s_open_params(void)
{
    struct rls_safety_params p = rls_safety_default_params();
    p.max_step_up = 0;
    p.max_step_up_frac = 0;
    p.max_step_down = 0;
    p.max_step_down_frac = 0;
    p.cooldown_up_s = 0;
    p.cooldown_down_s = 0;
    p.hysteresis = 0;
    p.hysteresis_frac = 0;
    return p;
}

static struct rls_safety *s_new(const struct rls_safety_params *p, int32_t lo, int32_t hi)
{
    struct rls_err err = {0};
    struct rls_safety *s = rls_safety_new(p, 1, &lo, &hi, &err);
    if (s == NULL)
        fail_msg("rls_safety_new: %s", err.msg);
    return s;
}

static void test_wish_is_clamped_to_min_and_max_replicas(void **state)
{
    (void)state;
    struct rls_safety_params p = s_open_params();
    struct rls_safety *s = s_new(&p, 2, 10);
    uint32_t why = 0;
    assert_int_equal(rls_safety_apply_one(s, 0, 0.0, 5, 0, &why), 2);
    assert_int_equal(why, RLS_SAFE_CLAMP_MIN);
    assert_int_equal(rls_safety_apply_one(s, 0, 15.0, 5, 50, &why), 10);
    assert_int_equal(why, RLS_SAFE_CLAMP_MAX);
    assert_int_equal(rls_safety_apply_one(s, 0, 30.0, 5, 7, &why), 7);
    assert_int_equal(why, 0);
    assert_int_equal(rls_safety_flag_count(s, 0), 1);
    assert_int_equal(rls_safety_flag_count(s, 1), 1);
    assert_int_equal(rls_safety_flag_count(s, 2), 0);
    assert_string_equal(rls_safety_flag_str(0), "clamp_min");
    assert_string_equal(rls_safety_flag_str(5), "hysteresis");
    assert_string_equal(rls_safety_flag_str(6), "unknown");
    assert_int_equal(rls_safety_apply_one(s, 1, 0.0, 5, 7, &why), -1);   /* no service 1 */
    rls_safety_destroy(&s);
    rls_safety_destroy(&s);
}

/* Up: max(abs, ceil(frac * current)), at least 1 (HPA-like "the larger policy"). */
static void test_scale_up_is_limited_per_step(void **state)
{
    (void)state;
    struct rls_safety_params p = s_open_params();
    p.max_step_up = 4;
    p.max_step_up_frac = 1.0;
    struct rls_safety *s = s_new(&p, 0, 1000);
    uint32_t why = 0;
    assert_int_equal(rls_safety_apply_one(s, 0, 0, 2, 20, &why), 6);    /* max(4, 2) */
    assert_int_equal(why, RLS_SAFE_STEP_UP);
    assert_int_equal(rls_safety_apply_one(s, 0, 15, 10, 40, &why), 20); /* max(4, 10) */
    assert_int_equal(rls_safety_apply_one(s, 0, 30, 10, 13, &why), 13); /* within the step */
    assert_int_equal(why, 0);
    assert_int_equal(rls_safety_flag_count(s, 2), 2);
    rls_safety_destroy(&s);

    p.max_step_up = 0;   /* relative only: from 0 replicas at least 1 */
    p.max_step_up_frac = 0.5;
    s = s_new(&p, 0, 1000);
    assert_int_equal(rls_safety_apply_one(s, 0, 0, 0, 9, &why), 1);
    assert_int_equal(rls_safety_apply_one(s, 0, 15, 3, 9, &why), 5);    /* ceil(1.5) = 2 */
    rls_safety_destroy(&s);
}

/* Down: max(abs, floor(frac * current)), at least 1. */
static void test_scale_down_is_limited_per_step(void **state)
{
    (void)state;
    struct rls_safety_params p = s_open_params();
    p.max_step_down = 1;
    p.max_step_down_frac = 0.5;
    struct rls_safety *s = s_new(&p, 0, 1000);
    uint32_t why = 0;
    assert_int_equal(rls_safety_apply_one(s, 0, 0, 10, 0, &why), 5);    /* max(1, 5) */
    assert_int_equal(why, RLS_SAFE_STEP_DOWN);
    assert_int_equal(rls_safety_apply_one(s, 0, 15, 3, 0, &why), 2);    /* max(1, floor(1.5)) */
    assert_int_equal(rls_safety_apply_one(s, 0, 30, 2, 1, &why), 1);
    assert_int_equal(why, 0);
    rls_safety_destroy(&s);
}

static void test_hysteresis_ignores_small_changes(void **state)
{
    (void)state;
    struct rls_safety_params p = s_open_params();
    p.hysteresis = 1;
    struct rls_safety *s = s_new(&p, 0, 100);
    uint32_t why = 0;
    assert_int_equal(rls_safety_apply_one(s, 0, 0, 10, 11, &why), 10);
    assert_int_equal(why, RLS_SAFE_HYSTERESIS);
    assert_int_equal(rls_safety_apply_one(s, 0, 15, 10, 9, &why), 10);
    assert_int_equal(rls_safety_apply_one(s, 0, 30, 10, 12, &why), 12);
    assert_int_equal(why, 0);
    rls_safety_destroy(&s);

    p.hysteresis = 0;
    p.hysteresis_frac = 0.2;   /* band floor(0.2 * 20) = 4 */
    s = s_new(&p, 0, 100);
    assert_int_equal(rls_safety_apply_one(s, 0, 0, 20, 24, &why), 20);
    assert_int_equal(rls_safety_apply_one(s, 0, 15, 20, 25, &why), 25);
    rls_safety_destroy(&s);

    /* the band never keeps replicas outside [min, max] */
    p.hysteresis = 5;
    s = s_new(&p, 4, 100);
    assert_int_equal(rls_safety_apply_one(s, 0, 0, 2, 3, &why), 4);
    assert_true(why & RLS_SAFE_CLAMP_MIN);
    rls_safety_destroy(&s);
}

/* An alternating wish 10, 4, 10, 4, ... every 15 s: without cool-downs the
 * replicas flip every step; with them a reversal waits cooldown_down_s after
 * a scale-up and cooldown_up_s after a scale-down, same-direction changes
 * pass. */
static void test_cooldown_prevents_flapping_on_alternating_wishes(void **state)
{
    (void)state;
    struct rls_safety_params p = s_open_params();
    const int steps = 40;
    const double dt = 15.0;
    int flips_open = 0;
    int flips_safe = 0;

    struct rls_safety *s = s_new(&p, 0, 100);
    int32_t cur = 4;
    for (int k = 0; k < steps; k++) {
        int32_t out = rls_safety_apply_one(s, 0, k * dt, cur, k % 2 == 0 ? 10 : 4, NULL);
        flips_open += out != cur;
        cur = out;
    }
    rls_safety_destroy(&s);
    assert_int_equal(flips_open, steps);

    p.cooldown_up_s = 30.0;
    p.cooldown_down_s = 60.0;
    s = s_new(&p, 0, 100);
    cur = 4;
    double last_up = -1e9, last_down = -1e9;
    uint64_t held = 0;
    for (int k = 0; k < steps; k++) {
        double now = k * dt;
        uint32_t why = 0;
        int32_t w = k % 2 == 0 ? 10 : 4;
        int32_t out = rls_safety_apply_one(s, 0, now, cur, w, &why);
        if (out > cur) {
            assert_true(now - last_down >= 30.0);
            last_up = now;
        } else if (out < cur) {
            assert_true(now - last_up >= 60.0);
            last_down = now;
        } else if (w != cur) {
            assert_int_equal(why, RLS_SAFE_COOLDOWN);
            held++;
        }
        flips_safe += out != cur;
        cur = out;
    }
    /* a full cycle takes at least 30 + 60 s: at most 2 flips per 90 s of the 600 s */
    assert_true(flips_safe >= 8);
    assert_true(flips_safe <= 14);
    assert_true(held > 0);
    assert_true(rls_safety_flag_count(s, 4) == held);

    /* same direction is not held back: up again right after an up */
    assert_int_equal(rls_safety_apply_one(s, 0, 1000.0, 4, 10, NULL), 10);
    assert_int_equal(rls_safety_apply_one(s, 0, 1001.0, 10, 12, NULL), 12);
    assert_int_equal(rls_safety_apply_one(s, 0, 1002.0, 12, 8, NULL), 12);   /* reversal: held */
    rls_safety_reset(s);   /* history forgotten */
    assert_int_equal(rls_safety_apply_one(s, 0, 1003.0, 12, 8, NULL), 8);
    rls_safety_destroy(&s);
}

/* min/max are hard: they win over the cool-down and the step limit. */
static void test_hard_limits_win_over_cooldown_and_steps(void **state)
{
    (void)state;
    struct rls_safety_params p = s_open_params();
    p.max_step_up = 1;
    p.cooldown_up_s = 1000.0;
    struct rls_safety *s = s_new(&p, 5, 8);
    uint32_t why = 0;
    /* a scale-down first, so that scale-ups are in cool-down */
    assert_int_equal(rls_safety_apply_one(s, 0, 0, 8, 6, &why), 6);
    assert_int_equal(rls_safety_apply_one(s, 0, 15, 0, 6, &why), 5);   /* current below min */
    assert_true(why & RLS_SAFE_CLAMP_MIN);
    assert_int_equal(rls_safety_apply_one(s, 0, 30, 12, 12, &why), 8); /* current above max */
    assert_true(why & RLS_SAFE_CLAMP_MAX);
    rls_safety_destroy(&s);
}

static void test_apply_filters_every_service_and_uses_last_output_when_current_unknown(void **state)
{
    (void)state;
    struct rls_safety_params p = s_open_params();
    p.max_step_up = 2;
    p.max_step_up_frac = 0;
    int32_t lo[3] = {0, 1, 0}, hi[3] = {10, 10, 3};
    struct rls_safety *s = rls_safety_new(&p, 3, lo, hi, NULL);
    assert_non_null(s);
    int32_t cur[3] = {1, 1, 1}, wish[3] = {9, 0, 9}, out[3];
    uint32_t why[3];
    assert_int_equal(rls_safety_apply(s, 0.0, cur, wish, out, why), RLS_OK);
    assert_int_equal(out[0], 3);
    assert_int_equal(why[0], RLS_SAFE_STEP_UP);
    assert_int_equal(out[1], 1);
    assert_int_equal(why[1], RLS_SAFE_CLAMP_MIN);
    assert_int_equal(out[2], 3);
    assert_int_equal(why[2], RLS_SAFE_CLAMP_MAX);
    /* current unknown: step from the last output */
    assert_int_equal(rls_safety_apply(s, 15.0, NULL, wish, out, NULL), RLS_OK);
    assert_int_equal(out[0], 5);
    assert_int_equal(rls_safety_apply(s, 15.0, NULL, NULL, out, NULL), RLS_ERR_INVALID);
    rls_safety_destroy(&s);
}

static void test_stale_state_is_detected_by_timestamp_and_by_sequence(void **state)
{
    (void)state;
    struct rls_safety_params p = rls_safety_default_params();
    p.stale_after_s = 45.0;
    struct rls_safety *s = rls_safety_new(&p, 0, NULL, NULL, NULL);
    assert_non_null(s);
    assert_int_equal(rls_safety_check_age(s, 0.0), RLS_FALLBACK_NO_STATE);
    assert_int_equal(rls_safety_check_state(s, 1, 100.0, 101.0), RLS_FALLBACK_NONE);
    assert_int_equal(rls_safety_check_age(s, 140.0), RLS_FALLBACK_NONE);
    /* a message stamped long ago */
    assert_int_equal(rls_safety_check_state(s, 2, 100.0, 200.0), RLS_FALLBACK_STALE_STATE);
    assert_non_null(strstr(rls_safety_errmsg(s), "old"));
    /* clocks not comparable: the sequence number must keep moving */
    assert_int_equal(rls_safety_check_state(s, 5, NAN, 300.0), RLS_FALLBACK_NONE);
    assert_int_equal(rls_safety_check_state(s, 5, NAN, 330.0), RLS_FALLBACK_NONE);
    assert_int_equal(rls_safety_check_state(s, 5, NAN, 350.0), RLS_FALLBACK_STALE_STATE);
    assert_non_null(strstr(rls_safety_errmsg(s), "not advanced"));
    assert_int_equal(rls_safety_check_state(s, 6, NAN, 351.0), RLS_FALLBACK_NONE);
    /* nothing arrives any more (cluster gone) */
    assert_int_equal(rls_safety_check_age(s, 390.0), RLS_FALLBACK_NONE);
    assert_int_equal(rls_safety_check_age(s, 397.0), RLS_FALLBACK_STALE_STATE);
    /* a restarted cluster counts again from seq 0 */
    assert_int_equal(rls_safety_check_state(s, 0, NAN, 400.0), RLS_FALLBACK_NONE);
    rls_safety_reset(s);
    assert_int_equal(rls_safety_check_age(s, 400.0), RLS_FALLBACK_NO_STATE);
    rls_safety_destroy(&s);
}

/* OOD against a training sample: rows drawn like the training data stay in,
 * rows moved far away on enough features go out, NaN counts as out. */
static void test_out_of_distribution_triggers_only_far_outside_training_data(void **state)
{
    (void)state;
    enum { F = 8, N = 2000 };
    static float train[N][F];
    float mean[F], std[F];
    uint64_t r = 12345;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < F; j++) {
            /* a sum of 4 uniforms: roughly normal around j, scale j+1 */
            double u = 0;
            for (int k = 0; k < 4; k++) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                u += (double)(r >> 11) / 9007199254740992.0;
            }
            train[i][j] = (float)(j + (u - 2.0) * (j + 1));
        }
    }
    for (int j = 0; j < F; j++) {
        double m = 0, v = 0;
        for (int i = 0; i < N; i++)
            m += train[i][j];
        m /= N;
        for (int i = 0; i < N; i++)
            v += (train[i][j] - m) * (train[i][j] - m);
        mean[j] = (float)m;
        std[j] = (float)sqrt(v / N);
    }
    struct rls_safety *s = rls_safety_new(NULL, 0, NULL, NULL, NULL);   /* k 8, frac 0.25 */
    assert_non_null(s);
    int32_t n_out = -1;
    assert_int_equal(rls_safety_check_ood(s, &train[0][0], mean, std, N, F, NULL, &n_out), RLS_FALLBACK_NONE);
    assert_int_equal(n_out, 0);

    float rows[4][F];
    memcpy(rows, train, sizeof rows);
    for (int j = 0; j < 3; j++)          /* row 1: 3 of 8 features 20 std away: out */
        rows[1][j] = mean[j] + 20.0f * std[j];
    for (int j = 0; j < 2; j++)          /* row 2: 2 of 8 = 0.25, not more than 0.25: in */
        rows[2][j] = mean[j] - 20.0f * std[j];
    rows[3][0] = NAN;                    /* row 3: NaN + 2 far = 3 of 8: out */
    rows[3][5] = 1e30f;
    rows[3][6] = -1e30f;
    uint8_t flags[4];
    assert_int_equal(rls_safety_check_ood(s, &rows[0][0], mean, std, 4, F, flags, &n_out),
                     RLS_FALLBACK_OOD_INPUT);
    assert_int_equal(n_out, 2);
    assert_int_equal(flags[0], 0);
    assert_int_equal(flags[1], 1);
    assert_int_equal(flags[2], 0);
    assert_int_equal(flags[3], 1);
    assert_int_equal(rls_safety_ood_count(rows[1], mean, std, F, 8.0), 3);
    assert_int_equal(rls_safety_ood_count(rows[1], mean, std, F, 25.0), 0);  /* a wider k lets it in */
    assert_int_equal(rls_safety_check_ood(s, NULL, mean, std, 4, F, NULL, &n_out), RLS_FALLBACK_NONE);
    rls_safety_destroy(&s);
}

static void test_fallback_verdict_reports_reasons_by_priority_and_recovers(void **state)
{
    (void)state;
    struct rls_safety_params p = rls_safety_default_params();
    p.recover_steps = 3;
    struct rls_safety *s = rls_safety_new(&p, 0, NULL, NULL, NULL);
    assert_non_null(s);
    assert_int_equal(rls_safety_fallback_update(s, 0), RLS_FALLBACK_NONE);
    assert_false(rls_safety_fallback_active(s));
    uint32_t mask = RLS_FALLBACK_BIT(RLS_FALLBACK_OOD_INPUT) | RLS_FALLBACK_BIT(RLS_FALLBACK_NO_CHECKPOINT);
    assert_int_equal(rls_safety_fallback_update(s, mask), RLS_FALLBACK_NO_CHECKPOINT);
    assert_true(rls_safety_fallback_active(s));
    assert_int_equal(rls_safety_fallback_update(s, RLS_FALLBACK_BIT(RLS_FALLBACK_OOD_INPUT) |
                                                       RLS_FALLBACK_BIT(RLS_FALLBACK_STALE_STATE)),
                     RLS_FALLBACK_STALE_STATE);
    assert_int_equal(rls_safety_fallback_update(s, RLS_FALLBACK_BIT(RLS_FALLBACK_NONE)), RLS_FALLBACK_RECOVERING);
    assert_int_equal(rls_safety_fallback_update(s, 0), RLS_FALLBACK_RECOVERING);
    /* a cause coming back restarts the count */
    assert_int_equal(rls_safety_fallback_update(s, RLS_FALLBACK_BIT(RLS_FALLBACK_POLICY_ERROR)),
                     RLS_FALLBACK_POLICY_ERROR);
    assert_int_equal(rls_safety_fallback_update(s, 0), RLS_FALLBACK_RECOVERING);
    assert_int_equal(rls_safety_fallback_update(s, 0), RLS_FALLBACK_RECOVERING);
    assert_int_equal(rls_safety_fallback_update(s, 0), RLS_FALLBACK_NONE);
    assert_false(rls_safety_fallback_active(s));
    assert_int_equal(rls_safety_fallback_update(s, RLS_FALLBACK_BIT(RLS_FALLBACK_NO_STATE)), RLS_FALLBACK_NO_STATE);

    assert_int_equal(rls_safety_fallback_count(s, RLS_FALLBACK_NONE), 2);
    assert_int_equal(rls_safety_fallback_count(s, RLS_FALLBACK_NO_CHECKPOINT), 1);
    assert_int_equal(rls_safety_fallback_count(s, RLS_FALLBACK_STALE_STATE), 1);
    assert_int_equal(rls_safety_fallback_count(s, RLS_FALLBACK_POLICY_ERROR), 1);
    assert_int_equal(rls_safety_fallback_count(s, RLS_FALLBACK_NO_STATE), 1);
    assert_int_equal(rls_safety_fallback_count(s, RLS_FALLBACK_OOD_INPUT), 0);
    assert_int_equal(rls_safety_fallback_count(s, RLS_FALLBACK_RECOVERING), 4);
    assert_int_equal(rls_safety_fallback_entries(s), 2);

    assert_string_equal(rls_safety_reason_str(RLS_FALLBACK_NONE), "none");
    assert_string_equal(rls_safety_reason_str(RLS_FALLBACK_NO_CHECKPOINT), "no_checkpoint");
    assert_string_equal(rls_safety_reason_str(RLS_FALLBACK_STALE_STATE), "stale_state");
    assert_string_equal(rls_safety_reason_str(RLS_FALLBACK_OOD_INPUT), "ood_input");
    assert_string_equal(rls_safety_reason_str(RLS_FALLBACK_RECOVERING), "recovering");
    assert_string_equal(rls_safety_reason_str((enum rls_fallback_reason)42), "unknown");
    rls_safety_destroy(&s);
}

static void test_bad_params_are_refused_naming_the_field(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct rls_safety_params p = rls_safety_default_params();
    assert_int_equal(rls_safety_params_check(&p, &err), RLS_OK);
    p.cooldown_up_s = -1;
    assert_null(rls_safety_new(&p, 1, NULL, NULL, &err));
    assert_non_null(strstr(err.msg, "cooldown_up_s"));
    p = rls_safety_default_params();
    p.ood_max_frac = 1.5;
    assert_int_equal(rls_safety_params_check(&p, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "ood_max_frac"));
    p = rls_safety_default_params();
    p.ood_k = 0;
    assert_int_equal(rls_safety_params_check(&p, &err), RLS_ERR_RANGE);
    p = rls_safety_default_params();
    p.stale_after_s = NAN;
    assert_int_equal(rls_safety_params_check(&p, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "stale_after_s"));
    int32_t lo = 5, hi = 2;
    assert_null(rls_safety_new(NULL, 1, &lo, &hi, &err));
    assert_non_null(strstr(err.msg, "service 0"));
    assert_null(rls_safety_new(NULL, -1, NULL, NULL, &err));
}

/* The fallback in use: while the state is stale the HPA baseline's wish,
 * passed through the filter, drives the simulator; the replicas stay within
 * each service's limits and move at most one step limit per step. */
static void test_hpa_fallback_drives_the_simulator_through_the_filter(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct rls_scenario *sc = NULL;
    struct rls_sim *sim = NULL;
    struct rls_policy *hpa = NULL;
    struct rls_safety *s = NULL;
    int32_t *lo = NULL, *hi = NULL, *cur = NULL, *wish = NULL, *out = NULL;
    uint8_t *place = NULL;

    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    sim = rls_sim_new(sc, &err);
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 7), RLS_OK);
    hpa = rls_policy_new("hpa", sc, &err);
    assert_non_null(hpa);
    int32_t n = sc->n_services;
    lo = calloc((size_t)n, sizeof *lo);
    hi = calloc((size_t)n, sizeof *hi);
    cur = calloc((size_t)n, sizeof *cur);
    wish = calloc((size_t)n, sizeof *wish);
    out = calloc((size_t)n, sizeof *out);
    place = calloc((size_t)n, sizeof *place);
    assert_true(lo && hi && cur && wish && out && place);
    for (int32_t i = 0; i < n; i++) {
        lo[i] = sc->services[i].min_replicas;
        hi[i] = sc->services[i].max_replicas;
    }
    struct rls_safety_params p = rls_safety_default_params();
    p.max_step_up = 1;
    p.max_step_up_frac = 0;
    s = rls_safety_new(&p, n, lo, hi, &err);
    assert_non_null(s);

    int fallbacks = 0;
    for (int64_t k = 0; k < 40; k++) {
        double now = rls_sim_time_s(sim);
        /* the state stops advancing after step 10 */
        uint64_t seq = (uint64_t)(k < 10 ? k : 10);
        uint32_t mask = RLS_FALLBACK_BIT(rls_safety_check_state(s, seq, NAN, now));
        enum rls_fallback_reason why = rls_safety_fallback_update(s, mask);
        const struct rls_svc_state *st = rls_sim_services(sim);
        for (int32_t i = 0; i < n; i++)
            cur[i] = st[i].desired;
        if (why != RLS_FALLBACK_NONE) {
            struct rls_policy_input in = {0};
            in.scenario = sc;
            in.step = k;
            in.time_s = now;
            in.services = st;
            in.nodes = rls_sim_nodes(sim);
            in.n_nodes = rls_sim_n_nodes(sim);
            assert_int_equal(rls_policy_decide(hpa, &in, wish, place), RLS_OK);
            fallbacks++;
        } else {
            for (int32_t i = 0; i < n; i++)
                wish[i] = hi[i];   /* a "policy" that always asks for the most */
        }
        assert_int_equal(rls_safety_apply(s, now, cur, wish, out, NULL), RLS_OK);
        for (int32_t i = 0; i < n; i++) {
            assert_true(out[i] >= lo[i] && out[i] <= hi[i]);
            assert_true(out[i] - cur[i] <= 1);
        }
        assert_int_equal(rls_sim_step(sim, out, place), RLS_OK);
    }
    /* stale from when the seq stopped for > 45 s (3 steps of 15 s) to the end */
    assert_true(fallbacks >= 25 && fallbacks <= 30);
    assert_int_equal(rls_safety_fallback_entries(s), 1);
    assert_true(rls_safety_fallback_count(s, RLS_FALLBACK_STALE_STATE) == (uint64_t)fallbacks);

    free(lo);
    free(hi);
    free(cur);
    free(wish);
    free(out);
    free(place);
    rls_safety_destroy(&s);
    rls_policy_destroy(&hpa);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wish_is_clamped_to_min_and_max_replicas),
        cmocka_unit_test(test_scale_up_is_limited_per_step),
        cmocka_unit_test(test_scale_down_is_limited_per_step),
        cmocka_unit_test(test_hysteresis_ignores_small_changes),
        cmocka_unit_test(test_cooldown_prevents_flapping_on_alternating_wishes),
        cmocka_unit_test(test_hard_limits_win_over_cooldown_and_steps),
        cmocka_unit_test(test_apply_filters_every_service_and_uses_last_output_when_current_unknown),
        cmocka_unit_test(test_stale_state_is_detected_by_timestamp_and_by_sequence),
        cmocka_unit_test(test_out_of_distribution_triggers_only_far_outside_training_data),
        cmocka_unit_test(test_fallback_verdict_reports_reasons_by_priority_and_recovers),
        cmocka_unit_test(test_bad_params_are_refused_naming_the_field),
        cmocka_unit_test(test_hpa_fallback_drives_the_simulator_through_the_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
