/* test_train.c - the offline training loops (trainer/train.h) on a small
 * replay file written here with the replay writer: every algorithm lowers
 * its loss, behaviour cloning learns a deterministic behaviour policy (and
 * the native C forward pass of its checkpoint agrees), training is
 * deterministic given a seed, resume from a checkpoint's /train_state is an
 * exact continuation for every algorithm (N steps = N/2 + resume, bit for
 * bit), a mismatched state is refused naming the dataset, a checkpoint
 * without one still resumes its weights and step count, FQE estimates a
 * known value, bad inputs fail with a message and no output.
 * Skips when built without libtorch.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef RLS_WITH_TORCH

#include "env/env.h"
#include "env/scenario.h"
#include "env/status.h"
#include "policies/checkpoint.h"
#include "policies/mlp.h"
#include "replay/replay.h"
#include "trainer/train.h"

#define S_SERVICES 4
#define S_EPISODES 6
#define S_STEPS 50
#define S_F RLS_ENV_N_FEATURES
#define S_A 18

static char s_dir[] = "/tmp/rls_test_train_XXXXXX";
static char s_data[256];

/* A value in [-1, 1) from a 64-bit LCG. */
static float s_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* The behaviour policy: a deterministic function of features 0 and 1. */
static int32_t s_behaviour(const float *obs)
{
    static const int32_t actions[4] = {0, 5, 10, 17};
    return actions[2 * (obs[0] > 0.0f) + (obs[1] > 0.0f)];
}

/* Writes the replay file: random features, the behaviour's actions, reward
 * 1 per service and step, never terminated, masks that block two actions
 * the behaviour does not take. */
static int s_setup(void **state)
{
    (void)state;
    struct rls_replay_meta meta;
    struct rls_err err = {0, ""};
    float obs[S_SERVICES * S_F], svc_reward[S_SERVICES];
    int32_t act[S_SERVICES];
    uint8_t mask[S_SERVICES * S_A];
    uint64_t x = 12345;
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_data, sizeof s_data, "%s/data.h5", s_dir);
    memset(&meta, 0, sizeof meta);
    meta.n_services = S_SERVICES;
    meta.n_features = S_F;
    meta.n_deltas = 9;
    int32_t deltas[9] = {-8, -4, -2, -1, 0, 1, 2, 4, 8};
    memcpy(meta.deltas, deltas, sizeof deltas);
    meta.n_placements = 2;
    meta.n_actions = S_A;
    snprintf(meta.scenario_name, sizeof meta.scenario_name, "test");
    snprintf(meta.behavior, sizeof meta.behavior, "test-deterministic");
    struct rls_replay_writer *w = rls_replay_writer_open(s_data, &meta, &err);
    if (!w) {
        fprintf(stderr, "writer: %s\n", err.msg);
        return -1;
    }
    for (int e = 0; e < S_EPISODES; e++) {
        if (rls_replay_writer_begin_episode(w, (uint64_t)e, "test") != RLS_OK)
            return -1;
        for (int t = 0; t <= S_STEPS; t++) {
            for (int s = 0; s < S_SERVICES; s++) {
                for (int f = 0; f < S_F; f++)
                    obs[s * S_F + f] = s_rand(&x);
                act[s] = s_behaviour(obs + s * S_F);
                svc_reward[s] = 1.0f;
                for (int a = 0; a < S_A; a++)
                    mask[s * S_A + a] = !(a == (act[s] + 3) % S_A || a == (act[s] + 7) % S_A);
            }
            int rc = t < S_STEPS ? rls_replay_writer_add_step(w, obs, act, 1.0, svc_reward, mask, 0, t == S_STEPS - 1)
                                 : rls_replay_writer_end_episode(w, obs, mask);
            if (rc != RLS_OK) {
                fprintf(stderr, "writer: %s\n", rls_replay_writer_errmsg(w));
                return -1;
            }
        }
    }
    return rls_replay_writer_close(&w, &err) == RLS_OK ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct rls_train_params s_params(const char *algo, int64_t steps, const char *out)
{
    struct rls_train_params p = rls_train_default_params();
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, out);
    p.data_path = s_data;
    p.algo = algo;
    p.steps = steps;
    p.out_path = path;
    p.n_hidden = 2;
    p.hidden[0] = 64;
    p.hidden[1] = 64;
    return p;
}

/* ----------------------------------------------------------------- tests */

static void test_every_algorithm_lowers_its_loss(void **state)
{
    (void)state;
    const char *algos[] = {"double-dqn", "discrete-cql", "discrete-bcq", "discrete-iql", "bc"};
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) {
        struct rls_train_params p = s_params(algos[i], 300, "loss.h5");
        struct rls_train_result r;
        struct rls_err err = {0, ""};
        p.lr = 1e-3;
        p.batch = 64;
        p.target_update = 100;
        if (rls_train_run(&p, &r, &err) != RLS_OK)
            fail_msg("%s: %s", algos[i], err.msg);
        assert_int_equal(r.steps, 300);
        if (!(r.last_loss < r.first_loss))
            fail_msg("%s: loss %g -> %g", algos[i], r.first_loss, r.last_loss);
        struct rls_checkpoint *ck = NULL;
        assert_int_equal(rls_checkpoint_load(p.out_path, &ck, &err), RLS_OK);
        assert_string_equal(ck->algorithm, algos[i]);
        assert_int_equal(ck->steps, 300);
        assert_int_equal(ck->n_heads, strcmp(algos[i], "discrete-bcq") == 0 ? 2 : 1);
        assert_int_equal(ck->sizes[ck->n_layers], ck->n_heads * S_A);
        rls_checkpoint_destroy(&ck);
    }
}

/* BC on a deterministic behaviour: the checkpoint's native forward pass
 * picks the behaviour's action on fresh observations. */
static void test_bc_learns_deterministic_behaviour(void **state)
{
    (void)state;
    struct rls_train_params p = s_params("bc", 600, "bc.h5");
    struct rls_train_result r;
    struct rls_err err = {0, ""};
    struct rls_checkpoint *ck = NULL;
    float obs[200 * S_F], out[200 * S_A];
    uint64_t x = 999;
    int agree = 0;
    assert_int_equal(rls_train_run(&p, &r, &err), RLS_OK);
    assert_true(r.last_accuracy > 0.9);
    assert_int_equal(rls_checkpoint_load(p.out_path, &ck, &err), RLS_OK);
    struct rls_mlp *m = rls_mlp_new(ck, 200, &err);
    assert_non_null(m);
    for (int i = 0; i < 200 * S_F; i++)
        obs[i] = s_rand(&x);
    assert_int_equal(rls_mlp_forward(m, obs, 200, out), RLS_OK);
    for (int i = 0; i < 200; i++) {
        int best = 0;
        for (int a = 1; a < S_A; a++)
            if (out[i * S_A + a] > out[i * S_A + best])
                best = a;
        agree += best == s_behaviour(obs + i * S_F);
    }
    if (agree < 180)
        fail_msg("native forward agrees with the behaviour on %d of 200", agree);
    rls_mlp_destroy(&m);
    rls_checkpoint_destroy(&ck);
}

static void s_expect_same_weights(const char *a, const char *b, int same)
{
    struct rls_checkpoint *ca = NULL, *cb = NULL;
    struct rls_err err = {0, ""};
    int equal = 1;
    assert_int_equal(rls_checkpoint_load(a, &ca, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_load(b, &cb, &err), RLS_OK);
    for (int32_t l = 0; l < ca->n_layers; l++) {
        size_t n = (size_t)ca->sizes[l] * (size_t)ca->sizes[l + 1];
        equal &= memcmp(ca->weight[l], cb->weight[l], n * sizeof(float)) == 0;
    }
    assert_int_equal(equal, same);
    rls_checkpoint_destroy(&ca);
    rls_checkpoint_destroy(&cb);
}

static void test_same_seed_gives_same_weights(void **state)
{
    (void)state;
    char a[256], b[256], c[256];
    struct rls_err err = {0, ""};
    struct rls_train_params p = s_params("discrete-cql", 80, "seed_a.h5");
    snprintf(a, sizeof a, "%s", p.out_path);
    assert_int_equal(rls_train_run(&p, NULL, &err), RLS_OK);
    p = s_params("discrete-cql", 80, "seed_b.h5");
    snprintf(b, sizeof b, "%s", p.out_path);
    assert_int_equal(rls_train_run(&p, NULL, &err), RLS_OK);
    p = s_params("discrete-cql", 80, "seed_c.h5");
    p.seed = 2;
    snprintf(c, sizeof c, "%s", p.out_path);
    assert_int_equal(rls_train_run(&p, NULL, &err), RLS_OK);
    s_expect_same_weights(a, b, 1);
    s_expect_same_weights(a, c, 0);
}

/* Every tensor and scalar of two checkpoints' /train_state, bit for bit. */
static void s_expect_same_state(const char *a, const char *b)
{
    struct rls_checkpoint_state *sa = NULL, *sb = NULL;
    struct rls_err err = {0, ""};
    assert_int_equal(rls_checkpoint_load_state(a, &sa, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_load_state(b, &sb, &err), RLS_OK);
    assert_non_null(sa);
    assert_non_null(sb);
    assert_int_equal(sa->n_tensors, sb->n_tensors);
    assert_int_equal(sa->n_scalars, sb->n_scalars);
    for (int32_t i = 0; i < sa->n_tensors; i++) {
        const struct rls_checkpoint_tensor *ta = &sa->tensors[i];
        const float *db = rls_checkpoint_state_tensor(sb, ta->name, ta->rank, ta->dims, b, &err);
        if (!db)
            fail_msg("%s", err.msg);
        size_t n = (size_t)ta->dims[0] * (size_t)(ta->rank == 2 ? ta->dims[1] : 1);
        if (memcmp(ta->data, db, n * sizeof(float)) != 0)
            fail_msg("%s differs between %s and %s", ta->name, a, b);
    }
    for (int32_t i = 0; i < sa->n_scalars; i++) {
        uint64_t v = 0;
        if (rls_checkpoint_state_u64(sb, sa->scalars[i].name, &v, b, &err) != RLS_OK)
            fail_msg("%s", err.msg);
        if (v != sa->scalars[i].value)
            fail_msg("scalar %s: %llu vs %llu", sa->scalars[i].name,
                     (unsigned long long)sa->scalars[i].value, (unsigned long long)v);
    }
    rls_checkpoint_state_destroy(&sa);
    rls_checkpoint_state_destroy(&sb);
}

/* Small and quick: 32-unit layers, batch 32, a hard target sync every 10
 * steps (on both sides of the split at 15), Polyak for iql every step. */
static struct rls_train_params s_small(const char *algo, int64_t steps, const char *out)
{
    struct rls_train_params p = s_params(algo, steps, out);
    p.hidden[0] = 32;
    p.hidden[1] = 32;
    p.batch = 32;
    p.lr = 1e-3;
    p.target_update = 10;
    return p;
}

/* N steps in one run and N/2 + resume to N give the same bits: the policy
 * weights of the out checkpoint and every tensor and scalar of its
 * /train_state (all networks, Adam's moments and steps, step, rng). */
static void test_resume_is_an_exact_continuation_for_every_algorithm(void **state)
{
    (void)state;
    const char *algos[] = {"bc", "double-dqn", "discrete-cql", "discrete-bcq", "discrete-iql"};
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) {
        char straight[256], half[256], name[64];
        struct rls_err err = {0, ""};
        struct rls_train_result r;
        struct rls_checkpoint *ck = NULL;
        snprintf(name, sizeof name, "straight_%s.h5", algos[i]);
        struct rls_train_params p = s_small(algos[i], 30, name);
        snprintf(straight, sizeof straight, "%s", p.out_path);
        if (rls_train_run(&p, &r, &err) != RLS_OK)
            fail_msg("%s: %s", algos[i], err.msg);
        assert_int_equal(r.resume_mode, RLS_TRAIN_RESUME_NONE);
        snprintf(name, sizeof name, "half_%s.h5", algos[i]);
        p = s_small(algos[i], 15, name);
        snprintf(half, sizeof half, "%s", p.out_path);
        if (rls_train_run(&p, &r, &err) != RLS_OK)
            fail_msg("%s: %s", algos[i], err.msg);
        snprintf(name, sizeof name, "resumed_%s.h5", algos[i]);
        p = s_small(algos[i], 30, name);
        p.resume_path = half;
        if (rls_train_run(&p, &r, &err) != RLS_OK)
            fail_msg("%s resumed: %s", algos[i], err.msg);
        assert_int_equal(r.resume_mode, RLS_TRAIN_RESUME_EXACT);
        assert_int_equal(r.start_step, 15);
        assert_int_equal(r.steps, 30);
        assert_int_equal(rls_checkpoint_load(p.out_path, &ck, &err), RLS_OK);
        assert_int_equal(ck->steps, 30);
        rls_checkpoint_destroy(&ck);
        s_expect_same_weights(straight, p.out_path, 1);
        s_expect_same_state(straight, p.out_path);
        /* and the halfway state is really another one */
        s_expect_same_weights(straight, half, 0);
    }
}

/* A copy of a checkpoint without its /train_state (what older builds wrote). */
static void s_strip_state(const char *from, const char *to)
{
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *st = NULL;
    struct rls_err err = {0, ""};
    assert_int_equal(rls_checkpoint_load(from, &ck, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_save(ck, to, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_load_state(to, &st, &err), RLS_OK);
    assert_null(st);
    rls_checkpoint_destroy(&ck);
}

/* Saves `from`'s checkpoint with its state edited by `edit` under `to`. */
static void s_save_edited(const char *from, const char *to,
                          void (*edit)(struct rls_checkpoint_state *st))
{
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *st = NULL;
    struct rls_err err = {0, ""};
    assert_int_equal(rls_checkpoint_load(from, &ck, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_load_state(from, &st, &err), RLS_OK);
    assert_non_null(st);
    edit(st);
    if (rls_checkpoint_save_with_state(ck, st, to, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    rls_checkpoint_state_destroy(&st);
    rls_checkpoint_destroy(&ck);
}

static struct rls_checkpoint_tensor *s_find(struct rls_checkpoint_state *st, const char *name)
{
    for (int32_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    fail_msg("no tensor %s in the state", name);
    return NULL;
}

static void s_edit_shape(struct rls_checkpoint_state *st)
{
    s_find(st, "adam_q.layer_1.weight.exp_avg")->dims[0] -= 1;   /* one row short */
}

static void s_edit_drop(struct rls_checkpoint_state *st)
{
    struct rls_checkpoint_tensor *t = s_find(st, "q_target.layer_2.bias");
    free(t->data);
    *t = st->tensors[st->n_tensors - 1];
    st->n_tensors--;
}

static void s_edit_extra(struct rls_checkpoint_state *st)
{
    int64_t d = 3;
    assert_non_null(rls_checkpoint_state_add(st, "v.layer_0.bias", 1, &d, NULL));
}

/* A /train_state that does not fit the algorithm and network is refused,
 * naming the file and the dataset, and nothing is written. */
static void test_resume_refuses_a_mismatched_train_state(void **state)
{
    (void)state;
    static const struct {
        void (*edit)(struct rls_checkpoint_state *st);
        const char *file, *dataset, *what;
    } cases[] = {
        {s_edit_shape, "bad_shape.h5", "'/train_state/adam_q.layer_1.weight.exp_avg'", "has shape"},
        {s_edit_drop, "bad_missing.h5", "'/train_state/q_target.layer_2.bias'", "is missing"},
        {s_edit_extra, "bad_extra.h5", "'/train_state/v.layer_0.bias'", "not part"},
    };
    char half[256], bad[256];
    struct rls_err err = {0, ""};
    struct rls_train_params p = s_small("discrete-cql", 10, "mismatch_half.h5");
    snprintf(half, sizeof half, "%s", p.out_path);
    assert_int_equal(rls_train_run(&p, NULL, &err), RLS_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(bad, sizeof bad, "%s/%s", s_dir, cases[i].file);
        s_save_edited(half, bad, cases[i].edit);
        p = s_small("discrete-cql", 20, "mismatch_out.h5");
        p.resume_path = bad;
        err.msg[0] = '\0';
        assert_int_not_equal(rls_train_run(&p, NULL, &err), RLS_OK);
        if (!strstr(err.msg, bad) || !strstr(err.msg, cases[i].dataset) ||
            !strstr(err.msg, cases[i].what))
            fail_msg("case %s: message '%s'", cases[i].file, err.msg);
        assert_int_equal(access(p.out_path, F_OK), -1);
    }
}

/* With evaluation the out checkpoint's weights are the best-scoring ones
 * and its /train_state the last step's: resuming from it continues the run
 * exactly (same state as the run done in one go) and keeps the best score
 * when it evaluates the same way. */
static void test_evaluated_run_keeps_best_weights_and_last_state(void **state)
{
    (void)state;
    char half[256], straight[256];
    struct rls_scenario *sc = NULL;
    struct rls_err err = {0, ""};
    struct rls_train_result r, rh;
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *st = NULL;
    uint64_t step = 0;
    if (rls_scenario_load("default", &sc, &err) != RLS_OK)
        fail_msg("scenario: %s", err.msg);
    struct rls_train_params p = s_small("double-dqn", 20, "eval_half.h5");
    p.eval_scenario = sc;
    p.eval_every = 10;
    p.eval_steps = 20;
    snprintf(half, sizeof half, "%s", p.out_path);
    if (rls_train_run(&p, &rh, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    assert_true(rh.best_step == 10 || rh.best_step == 20);
    assert_int_equal(rls_checkpoint_load(half, &ck, &err), RLS_OK);
    assert_int_equal(ck->eval_step, rh.best_step);
    assert_int_equal(ck->steps, rh.best_step);
    assert_true(ck->eval_score == rh.best_score);
    rls_checkpoint_destroy(&ck);
    assert_int_equal(rls_checkpoint_load_state(half, &st, &err), RLS_OK);
    assert_non_null(st);
    assert_int_equal(rls_checkpoint_state_u64(st, "step", &step, half, &err), RLS_OK);
    assert_int_equal(step, 20);
    rls_checkpoint_state_destroy(&st);

    p.steps = 30;
    p.out_path = straight;
    snprintf(straight, sizeof straight, "%s/eval_straight.h5", s_dir);
    if (rls_train_run(&p, NULL, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    p = s_small("double-dqn", 30, "eval_resumed.h5");
    p.eval_scenario = sc;
    p.eval_every = 10;
    p.eval_steps = 20;
    p.resume_path = half;
    if (rls_train_run(&p, &r, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(r.resume_mode, RLS_TRAIN_RESUME_EXACT);
    assert_int_equal(r.start_step, 20);
    assert_true(r.best_score >= rh.best_score);   /* carried over, never forgotten */
    s_expect_same_state(straight, p.out_path);
    rls_scenario_destroy(&sc);
}

static void test_resume_continues_step_count(void **state)
{
    (void)state;
    char first[256], old[256], straight[256];
    struct rls_err err = {0, ""};
    struct rls_train_result r;
    struct rls_checkpoint *ck = NULL;
    struct rls_train_params p = s_params("double-dqn", 100, "resume1.h5");
    snprintf(first, sizeof first, "%s", p.out_path);
    assert_int_equal(rls_train_run(&p, &r, &err), RLS_OK);
    p = s_params("double-dqn", 150, "resume2.h5");
    p.resume_path = first;
    assert_int_equal(rls_train_run(&p, &r, &err), RLS_OK);
    assert_int_equal(r.start_step, 100);
    assert_int_equal(r.steps, 150);
    assert_int_equal(r.resume_mode, RLS_TRAIN_RESUME_EXACT);
    snprintf(straight, sizeof straight, "%s", p.out_path);
    assert_int_equal(rls_checkpoint_load(p.out_path, &ck, &err), RLS_OK);
    assert_int_equal(ck->steps, 150);
    rls_checkpoint_destroy(&ck);
    /* a checkpoint without /train_state (an older one) still resumes: its
       weights and step count, Adam and the sampling stream start afresh, so
       it lands elsewhere than the exact continuation */
    snprintf(old, sizeof old, "%s/resume1_old.h5", s_dir);
    s_strip_state(first, old);
    p = s_params("double-dqn", 150, "resume2_old.h5");
    p.resume_path = old;
    assert_int_equal(rls_train_run(&p, &r, &err), RLS_OK);
    assert_int_equal(r.resume_mode, RLS_TRAIN_RESUME_WEIGHTS);
    assert_int_equal(r.start_step, 100);
    assert_int_equal(r.steps, 150);
    assert_int_equal(rls_checkpoint_load(p.out_path, &ck, &err), RLS_OK);
    assert_int_equal(ck->steps, 150);
    rls_checkpoint_destroy(&ck);
    s_expect_same_weights(straight, p.out_path, 0);
    /* no_train_state leaves it out (a smaller file to ship) */
    struct rls_checkpoint_state *st = NULL;
    p = s_params("double-dqn", 10, "nostate.h5");
    p.no_train_state = 1;
    assert_int_equal(rls_train_run(&p, &r, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_load_state(p.out_path, &st, &err), RLS_OK);
    assert_null(st);
    /* another algorithm cannot resume it */
    p = s_params("discrete-cql", 150, "resume3.h5");
    p.resume_path = first;
    assert_int_not_equal(rls_train_run(&p, &r, &err), RLS_OK);
    assert_non_null(strstr(err.msg, "cannot resume"));
    assert_int_equal(access(p.out_path, F_OK), -1);
}

/* Reward 1 every step, never done: Q^pi = 1 / (1 - gamma) = 2 at gamma 0.5. */
static void test_fqe_estimates_known_value(void **state)
{
    (void)state;
    struct rls_err err = {0, ""};
    struct rls_train_params p = s_params("bc", 50, "fqe_policy.h5");
    struct rls_fqe_params fp = rls_fqe_default_params();
    struct rls_fqe_result fr;
    assert_int_equal(rls_train_run(&p, NULL, &err), RLS_OK);
    fp.data_path = s_data;
    fp.policy_path = p.out_path;
    fp.gamma = 0.5;
    fp.steps = 600;
    fp.lr = 1e-3;
    fp.target_update = 50;
    if (rls_fqe_run(&fp, &fr, &err) != RLS_OK)
        fail_msg("fqe: %s", err.msg);
    if (!(fabs(fr.initial_value - 2.0) < 0.3 && fabs(fr.mean_value - 2.0) < 0.3))
        fail_msg("fqe values %g / %g, expected 2", fr.initial_value, fr.mean_value);
}

/* The Lagrangian reward: replicas held, lambda x late or dropped load, churn
 * when the desired replicas moved; all in units of the max replicas. */
static void test_lagrangian_reward_prices_replicas_late_load_and_churn(void **state)
{
    float o[RLS_ENV_N_FEATURES], n[RLS_ENV_N_FEATURES];
    (void)state;
    memset(o, 0, sizeof o);
    memset(n, 0, sizeof n);
    o[RLS_FEAT_DESIRED] = 0.5f;
    n[RLS_FEAT_DESIRED] = 0.5f;
    n[RLS_FEAT_READY] = 0.4f;
    n[RLS_FEAT_STARTING] = 0.1f;
    n[RLS_FEAT_LOAD] = 0.8f;
    n[RLS_FEAT_OVER_SLO] = 0.1f;
    n[RLS_FEAT_DROP] = 0.05f;
    assert_float_equal(rls_train_lagrangian_reward(o, n, 10.0, 0.5), -(0.5 + 10.0 * 0.8 * 0.15), 1e-5);
    n[RLS_FEAT_DESIRED] = 0.55f;    /* a scale action */
    assert_float_equal(rls_train_lagrangian_reward(o, n, 10.0, 0.5), -(0.5 + 1.2 + 0.5), 1e-5);
    n[RLS_FEAT_OVER_SLO] = 0.0f;
    n[RLS_FEAT_DROP] = 0.0f;
    assert_float_equal(rls_train_lagrangian_reward(o, n, 10.0, 0.0), -0.5, 1e-6);
}

/* --init: discrete-iql's actor starts as the bc checkpoint (weights and its
 * normalization); other algorithms and other shapes are refused. */
static void test_reward_stage_starts_from_the_imitation_actor(void **state)
{
    (void)state;
    struct rls_train_params b = s_params("bc", 200, "init_bc.h5");
    struct rls_train_result r;
    struct rls_err err = {0, ""};
    char bc_path[300];
    assert_int_equal(rls_train_run(&b, &r, &err), RLS_OK);
    snprintf(bc_path, sizeof bc_path, "%s", b.out_path);
    struct rls_train_params p = s_params("discrete-iql", 1, "init_iql.h5");
    p.init_path = bc_path;
    p.reward_kind = RLS_TRAIN_REWARD_LAGRANGIAN;
    p.lr = 1e-12;                       /* one step that moves nothing measurable */
    if (rls_train_run(&p, &r, &err) != RLS_OK)
        fail_msg("iql --init: %s", err.msg);
    struct rls_checkpoint *cb = NULL, *ci = NULL;
    assert_int_equal(rls_checkpoint_load(bc_path, &cb, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_load(p.out_path, &ci, &err), RLS_OK);
    assert_string_equal(ci->algorithm, "discrete-iql");
    for (int32_t f = 0; f < S_F; f++) {
        assert_float_equal(ci->obs_mean[f], cb->obs_mean[f], 0.0);
        assert_float_equal(ci->obs_std[f], cb->obs_std[f], 0.0);
    }
    for (int32_t l = 0; l < cb->n_layers; l++)
        for (int32_t k = 0; k < cb->sizes[l] * cb->sizes[l + 1]; k++)
            assert_float_equal(ci->weight[l][k], cb->weight[l][k], 1e-6);
    rls_checkpoint_destroy(&cb);
    rls_checkpoint_destroy(&ci);
    /* refused: an algorithm without an actor, and an actor of another shape */
    p = s_params("double-dqn", 1, "init_bad.h5");
    p.init_path = bc_path;
    assert_int_not_equal(rls_train_run(&p, &r, &err), RLS_OK);
    assert_non_null(strstr(err.msg, "--init"));
    p = s_params("discrete-iql", 1, "init_bad.h5");
    p.init_path = s_data;               /* a replay file, not a checkpoint */
    assert_int_not_equal(rls_train_run(&p, &r, &err), RLS_OK);
}

static void test_bad_inputs_fail_with_message_and_no_output(void **state)
{
    (void)state;
    struct rls_err err = {0, ""};
    struct rls_train_params p = s_params("discrete-cql", 10, "bad.h5");
    p.data_path = "/nonexistent/data.h5";
    assert_int_not_equal(rls_train_run(&p, NULL, &err), RLS_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/data.h5"));
    assert_int_equal(access(p.out_path, F_OK), -1);

    p = s_params("discrete-sac", 10, "bad.h5");
    assert_int_equal(rls_train_run(&p, NULL, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "discrete-sac"));

    p = s_params("bc", 10, "bad.h5");
    p.out_path = "/nonexistent-dir/policy.h5";
    assert_int_not_equal(rls_train_run(&p, NULL, &err), RLS_OK);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/policy.h5"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_algorithm_lowers_its_loss),
        cmocka_unit_test(test_bc_learns_deterministic_behaviour),
        cmocka_unit_test(test_same_seed_gives_same_weights),
        cmocka_unit_test(test_resume_continues_step_count),
        cmocka_unit_test(test_resume_is_an_exact_continuation_for_every_algorithm),
        cmocka_unit_test(test_resume_refuses_a_mismatched_train_state),
        cmocka_unit_test(test_evaluated_run_keeps_best_weights_and_last_state),
        cmocka_unit_test(test_fqe_estimates_known_value),
        cmocka_unit_test(test_bad_inputs_fail_with_message_and_no_output),
        cmocka_unit_test(test_lagrangian_reward_prices_replicas_late_load_and_churn),
        cmocka_unit_test(test_reward_stage_starts_from_the_imitation_actor),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

#else /* built without libtorch */

static void test_skipped_without_libtorch(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_skipped_without_libtorch)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
