/* test_replay.c - the replay file format (replay/replay.h): exact round trip,
 * uniform deterministic sampling, chunk-wise reads equal to RAM reads under a
 * tiny cache, crash safety (SIGKILL at every stage of a commit, and at random
 * times during a real `rlsched record`), every kind of bad file refused with
 * the file and dataset named, and the file as h5py sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "replay/replay.h"

/* ---------------------------------------------------------------------------
 * A deterministic synthetic data set: every value encodes where it is. */

struct s_shape {
    int32_t S, F, nd, A;
};

static float s_obs_val(int ep, int64_t t, int s, int f)
{
    return (float)(ep * 1000 + t) + (float)s * 0.25f + (float)f * 0.001f;
}

static int32_t s_act_val(int ep, int64_t t, int s, int32_t A)
{
    return (int32_t)((ep * 7 + t * 3 + s) % A);
}

static float s_rew_val(int ep, int64_t t)
{
    return -(float)ep - (float)t * 0.5f;
}

static float s_srew_val(int ep, int64_t t, int s)
{
    return -(float)(t + s) * 0.125f - (float)ep;
}

static uint8_t s_mask_val(int ep, int64_t t, int s, int a)
{
    return (uint8_t)(((ep + t + s + a) % 3) != 0);
}

static int s_term_val(int ep, int64_t t, int64_t T)
{
    return t == T - 1 && ep % 2 == 1;
}

static void s_meta(struct rls_replay_meta *m, struct s_shape sh)
{
    memset(m, 0, sizeof *m);
    m->n_services = sh.S;
    m->n_features = sh.F;
    m->n_deltas = sh.nd;
    for (int i = 0; i < sh.nd; i++)
        m->deltas[i] = i - sh.nd / 2;
    m->n_placements = 2;
    m->n_actions = sh.nd * 2;
    snprintf(m->scenario_name, sizeof m->scenario_name, "unit");
    m->scenario_yaml = (char *)"name: unit\nstep_s: 15\n";
    snprintf(m->trace, sizeof m->trace, "traces/x.csv");
    snprintf(m->behavior, sizeof m->behavior, "hpa,kpa eps=0.1");
    m->epsilon = 0.1;
}

/* Writes episode ep (T steps) through w. */
static int s_write_episode(struct rls_replay_writer *w, struct s_shape sh, int ep, int64_t T, int masks)
{
    float *obs = malloc((size_t)sh.S * (size_t)sh.F * sizeof *obs);
    float *srew = malloc((size_t)sh.S * sizeof *srew);
    int32_t *act = malloc((size_t)sh.S * sizeof *act);
    uint8_t *mask = malloc((size_t)sh.S * (size_t)sh.A);
    int rc = rls_replay_writer_begin_episode(w, 100 + (uint64_t)ep, ep % 2 ? "kpa" : "hpa");
    for (int64_t t = 0; t <= T && rc == RLS_OK; t++) {
        for (int s = 0; s < sh.S; s++) {
            for (int f = 0; f < sh.F; f++)
                obs[s * sh.F + f] = s_obs_val(ep, t, s, f);
            for (int a = 0; a < sh.A; a++)
                mask[s * sh.A + a] = s_mask_val(ep, t, s, a);
            act[s] = s_act_val(ep, t, s, sh.A);
            srew[s] = s_srew_val(ep, t, s);
        }
        if (t == T) {
            rc = rls_replay_writer_end_episode(w, obs, masks ? mask : NULL);
            break;
        }
        int term = s_term_val(ep, t, T);
        rc = rls_replay_writer_add_step(w, obs, act, s_rew_val(ep, t), srew, masks ? mask : NULL, term,
                                        t == T - 1 && !term);
        if (rc == RLS_OK) {
            struct rls_replay_info in = {.cost_usd = 0.01 * (double)t, .arrivals = (double)t, .served = (double)t,
                                         .dropped = 0, .over_slo = 0, .nodes_on = (int32_t)(t % 5)};
            rc = rls_replay_writer_add_info(w, &in);
        }
    }
    free(obs);
    free(srew);
    free(act);
    free(mask);
    return rc;
}

static void s_path(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "/tmp/rls_test_replay_%d_%s.h5", (int)getpid(), tag);
    char aux[1100];
    unlink(buf);
    snprintf(aux, sizeof aux, "%s.journal", buf);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s.tmp", buf);
    unlink(aux);
}

static void s_cleanup(const char *path)
{
    char aux[1100];
    unlink(path);
    snprintf(aux, sizeof aux, "%s.journal", path);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s.tmp", path);
    unlink(aux);
}

/* Writes a whole file of n episodes with lengths Ts[]. */
static void s_write_file(const char *path, struct s_shape sh, int n, const int64_t *Ts, int masks)
{
    struct rls_replay_meta m;
    struct rls_err err = {0};
    s_meta(&m, sh);
    struct rls_replay_writer *w = rls_replay_writer_open(path, &m, &err);
    assert_non_null(w);
    for (int ep = 0; ep < n; ep++)
        assert_int_equal(s_write_episode(w, sh, ep, Ts[ep], masks), RLS_OK);
    assert_int_equal(rls_replay_writer_close(&w, &err), RLS_OK);
    assert_null(w);
}

/* Checks every value of episodes [0, n) against the generator. */
static void s_check_episodes(struct rls_replay_reader *r, struct s_shape sh, int n, const int64_t *Ts, int masks)
{
    assert_int_equal(rls_replay_reader_n_episodes(r), n);
    for (int ep = 0; ep < n; ep++) {
        struct rls_replay_episode e;
        struct rls_replay_episode_info info;
        int64_t T = Ts[ep];
        assert_int_equal(rls_replay_reader_episode_info(r, ep, &info), RLS_OK);
        assert_int_equal(info.steps, T);
        assert_int_equal(info.seed, 100 + ep);
        assert_string_equal(info.policy, ep % 2 ? "kpa" : "hpa");
        assert_int_equal(info.has_masks, masks);
        assert_int_equal(info.has_infos, 1);
        assert_int_equal(rls_replay_reader_read_episode(r, ep, &e), RLS_OK);
        assert_int_equal(e.steps, T);
        for (int64_t t = 0; t <= T; t++)
            for (int s = 0; s < sh.S; s++) {
                for (int f = 0; f < sh.F; f++)
                    assert_true(e.observations[(t * sh.S + s) * sh.F + f] == s_obs_val(ep, t, s, f));
                for (int a = 0; a < sh.A; a++)
                    assert_int_equal(e.action_masks[(t * sh.S + s) * sh.A + a], masks ? s_mask_val(ep, t, s, a) : 1);
                if (t == T)
                    continue;
                assert_int_equal(e.actions[t * sh.S + s], s_act_val(ep, t, s, sh.A));
                assert_true(e.service_rewards[t * sh.S + s] == s_srew_val(ep, t, s));
            }
        for (int64_t t = 0; t < T; t++) {
            assert_true(e.rewards[t] == s_rew_val(ep, t));
            int term = s_term_val(ep, t, T);
            assert_int_equal(e.terminations[t], term);
            assert_int_equal(e.truncations[t], t == T - 1 && !term);
        }
        rls_replay_episode_free(&e);
    }
}

/* ---------------------------------------------------------------------------
 * Round trip. */

static void test_round_trip_values_are_exact(void **state)
{
    (void)state;
    char path[256];
    struct s_shape sh = {3, 5, 9, 18};
    int64_t Ts[3] = {5, 7, 1};
    struct rls_err err = {0};
    s_path(path, sizeof path, "rt");
    s_write_file(path, sh, 3, Ts, 1);
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
    assert_non_null(r);
    s_check_episodes(r, sh, 3, Ts, 1);
    assert_int_equal(rls_replay_reader_n_transitions(r), (5 + 7 + 1) * 3);
    assert_int_equal(rls_replay_reader_n_steps(r), 13);
    const struct rls_replay_meta *m = rls_replay_reader_meta(r);
    assert_int_equal(m->n_services, 3);
    assert_int_equal(m->n_features, 5);
    assert_int_equal(m->n_actions, 18);
    assert_int_equal(m->deltas[0], -4);
    assert_int_equal(m->deltas[8], 4);
    assert_string_equal(m->scenario_name, "unit");
    assert_string_equal(m->scenario_yaml, "name: unit\nstep_s: 15\n");
    assert_string_equal(m->trace, "traces/x.csv");
    assert_string_equal(m->behavior, "hpa,kpa eps=0.1");
    assert_true(m->epsilon == 0.1);
    assert_int_equal(strlen(m->created), 20);   /* 2024-01-02T03:04:05Z */
    /* normalization over every observation row of every episode */
    for (int f = 0; f < sh.F; f++) {
        double sum = 0, sumsq = 0, n = 0;
        for (int ep = 0; ep < 3; ep++)
            for (int64_t t = 0; t <= Ts[ep]; t++)
                for (int s = 0; s < sh.S; s++) {
                    double x = s_obs_val(ep, t, s, f);
                    sum += x;
                    sumsq += x * x;
                    n++;
                }
        double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
        assert_true(fabs(m->obs_mean[f] - mean) < 1e-3);
        assert_true(fabs(m->obs_std[f] - sd) < 1e-3 * sd);
    }
    assert_int_equal(strlen(rls_replay_reader_fingerprint(r)), 16);
    char fp[17];
    snprintf(fp, sizeof fp, "%s", rls_replay_reader_fingerprint(r));
    rls_replay_reader_close(&r);
    assert_null(r);
    /* same data, same fingerprint; chunk mode computes the same one */
    struct rls_replay_reader_params p = {.cache_bytes = 4096};
    r = rls_replay_reader_open(path, &p, &err);
    assert_non_null(r);
    assert_string_equal(rls_replay_reader_fingerprint(r), fp);
    s_check_episodes(r, sh, 3, Ts, 1);
    rls_replay_reader_close(&r);
    s_cleanup(path);
}

static void test_file_without_masks_reads_all_ones(void **state)
{
    (void)state;
    char path[256];
    struct s_shape sh = {2, 3, 3, 6};
    int64_t Ts[2] = {4, 6};
    struct rls_err err = {0};
    s_path(path, sizeof path, "nomask");
    s_write_file(path, sh, 2, Ts, 0);
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
    assert_non_null(r);
    s_check_episodes(r, sh, 2, Ts, 0);
    struct rls_replay_batch b;
    uint64_t rng = 5;
    assert_int_equal(rls_replay_batch_alloc(&b, 64, sh.F, sh.A), RLS_OK);
    assert_int_equal(rls_replay_reader_sample(r, &rng, &b), RLS_OK);
    for (int i = 0; i < 64 * sh.A; i++) {
        assert_int_equal(b.mask[i], 1);
        assert_int_equal(b.next_mask[i], 1);
    }
    rls_replay_batch_free(&b);
    rls_replay_reader_close(&r);
    s_cleanup(path);
}

static void test_writer_refuses_bad_steps(void **state)
{
    (void)state;
    char path[256];
    struct s_shape sh = {2, 3, 3, 6};
    struct rls_replay_meta m;
    struct rls_err err = {0};
    float obs[6] = {0}, srew[2] = {0};
    int32_t act[2] = {0, 6};
    uint8_t mask[12];
    memset(mask, 1, sizeof mask);
    s_path(path, sizeof path, "badstep");
    s_meta(&m, sh);
    struct rls_replay_writer *w = rls_replay_writer_open(path, &m, &err);
    assert_non_null(w);
    assert_int_equal(rls_replay_writer_add_step(w, obs, act, 0, srew, NULL, 0, 0), RLS_ERR_STATE);
    assert_int_equal(rls_replay_writer_begin_episode(w, 1, "x"), RLS_OK);
    assert_int_equal(rls_replay_writer_end_episode(w, obs, NULL), RLS_ERR_INVALID);   /* no steps */
    assert_int_equal(rls_replay_writer_add_step(w, obs, act, 0, srew, NULL, 0, 0), RLS_ERR_INVALID);
    assert_non_null(strstr(rls_replay_writer_errmsg(w), "outside [0, 6)"));
    act[1] = 5;
    obs[4] = NAN;
    assert_int_equal(rls_replay_writer_add_step(w, obs, act, 0, srew, NULL, 0, 0), RLS_ERR_RANGE);
    obs[4] = 0;
    assert_int_equal(rls_replay_writer_add_step(w, obs, act, 0, srew, mask, 0, 0), RLS_OK);
    assert_int_equal(rls_replay_writer_add_step(w, obs, act, 0, srew, NULL, 0, 0), RLS_ERR_INVALID);
    assert_int_equal(rls_replay_writer_end_episode(w, obs, NULL), RLS_ERR_INVALID);   /* mask missing */
    assert_int_equal(rls_replay_writer_end_episode(w, obs, mask), RLS_OK);
    assert_int_equal(rls_replay_writer_n_episodes(w), 1);
    assert_int_equal(rls_replay_writer_close(&w, &err), RLS_OK);
    m.n_actions = 7;
    assert_null(rls_replay_writer_open(path, &m, &err));
    assert_non_null(strstr(err.msg, "n_actions"));
    s_cleanup(path);
}

/* ---------------------------------------------------------------------------
 * Sampling. */

static void test_sampling_is_uniform_and_deterministic(void **state)
{
    (void)state;
    char path[256];
    struct s_shape sh = {2, 3, 3, 6};
    int64_t Ts[2] = {3, 5};      /* 16 transitions */
    struct rls_err err = {0};
    s_path(path, sizeof path, "uni");
    s_write_file(path, sh, 2, Ts, 1);
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
    assert_non_null(r);
    assert_int_equal(rls_replay_reader_n_transitions(r), 16);
    struct rls_replay_batch b, b2;
    assert_int_equal(rls_replay_batch_alloc(&b, 1000, sh.F, sh.A), RLS_OK);
    assert_int_equal(rls_replay_batch_alloc(&b2, 1000, sh.F, sh.A), RLS_OK);
    long counts[16] = {0};
    uint64_t rng = 42;
    for (int k = 0; k < 160; k++) {
        assert_int_equal(rls_replay_reader_sample(r, &rng, &b), RLS_OK);
        for (int i = 0; i < b.n; i++) {
            /* decode (ep, t, s) from the observation and check the rest of the transition */
            float o = b.obs[i * sh.F];
            int ep = (int)(o / 1000.0f);
            int t = (int)(o - (float)ep * 1000.0f);
            int s = (int)lroundf((o - (float)(ep * 1000 + t)) / 0.25f);
            assert_true(ep >= 0 && ep < 2 && t >= 0 && t < Ts[ep] && s >= 0 && s < sh.S);
            for (int f = 0; f < sh.F; f++) {
                assert_true(b.obs[i * sh.F + f] == s_obs_val(ep, t, s, f));
                assert_true(b.next_obs[i * sh.F + f] == s_obs_val(ep, t + 1, s, f));
            }
            for (int a = 0; a < sh.A; a++) {
                assert_int_equal(b.mask[i * sh.A + a], s_mask_val(ep, t, s, a));
                assert_int_equal(b.next_mask[i * sh.A + a], s_mask_val(ep, t + 1, s, a));
            }
            assert_int_equal(b.action[i], s_act_val(ep, t, s, sh.A));
            assert_true(b.reward[i] == s_srew_val(ep, t, s));
            assert_int_equal(b.done[i], s_term_val(ep, t, Ts[ep]));
            int idx = (ep == 0 ? 0 : 3 * 2) + t * 2 + s;
            counts[idx]++;
        }
    }
    /* chi-square over 16 cells, 15 degrees of freedom: 50 is p < 1e-5 */
    double chi = 0, expect = 160000.0 / 16.0;
    for (int i = 0; i < 16; i++)
        chi += (counts[i] - expect) * (counts[i] - expect) / expect;
    assert_true(chi < 50.0);
    /* same state, same batch; another state, another batch */
    uint64_t s1 = 7, s2 = 7, s3 = 8;
    assert_int_equal(rls_replay_reader_sample(r, &s1, &b), RLS_OK);
    assert_int_equal(rls_replay_reader_sample(r, &s2, &b2), RLS_OK);
    assert_int_equal(s1, s2);
    assert_memory_equal(b.obs, b2.obs, sizeof(float) * 1000 * (size_t)sh.F);
    assert_memory_equal(b.action, b2.action, sizeof(int32_t) * 1000);
    assert_int_equal(rls_replay_reader_sample(r, &s3, &b2), RLS_OK);
    assert_memory_not_equal(b.obs, b2.obs, sizeof(float) * 1000 * (size_t)sh.F);
    /* a batch of the wrong shape is refused */
    struct rls_replay_batch bad;
    assert_int_equal(rls_replay_batch_alloc(&bad, 4, sh.F + 1, sh.A), RLS_OK);
    assert_int_equal(rls_replay_reader_sample(r, &s1, &bad), RLS_ERR_INVALID);
    rls_replay_batch_free(&bad);
    rls_replay_batch_free(&b);
    rls_replay_batch_free(&b2);
    rls_replay_reader_close(&r);
    s_cleanup(path);
}

/* Chunk mode's default: batches from a rotating window of random chunk groups
 * that fits the cache. Every transition is right (next observation, masks,
 * action, reward, done), the cache bound holds, the draws are uniform over
 * the whole file in the long run, the same seed gives the same batches, and
 * far fewer chunk reads than samples are needed. */
static void test_window_mode_samples_uniformly_from_a_small_cache(void **state)
{
    (void)state;
    char path[256];
    struct s_shape sh = {3, 5, 9, 18};
    int64_t Ts[6] = {990, 800, 900, 700, 950, 660};   /* 5000 steps, 15000 transitions, ~0.6 MB raw */
    struct rls_err err = {0};
    s_path(path, sizeof path, "window");
    s_write_file(path, sh, 6, Ts, 1);
    struct rls_replay_reader_params p = rls_replay_reader_default_params();
    p.cache_bytes = 96 * 1024;                /* a small part of the file: a handful of groups */
    p.reuse = 0.5;                            /* rotate fast: many groups pass through */
    struct rls_replay_reader *r = rls_replay_reader_open(path, &p, &err);
    struct rls_replay_reader *r2 = rls_replay_reader_open(path, &p, &err);
    assert_non_null(r);
    assert_non_null(r2);
    struct rls_replay_batch b, b2;
    assert_int_equal(rls_replay_batch_alloc(&b, 64, sh.F, sh.A), RLS_OK);
    assert_int_equal(rls_replay_batch_alloc(&b2, 64, sh.F, sh.A), RLS_OK);
    double counts[6][3] = {{0}};   /* (episode, third of the episode) cells */
    uint64_t rng = 5, rng2 = 5;
    int64_t draws = 0;
    for (int k = 0; k < 4000; k++) {
        assert_int_equal(rls_replay_reader_sample(r, &rng, &b), RLS_OK);
        assert_int_equal(rls_replay_reader_sample(r2, &rng2, &b2), RLS_OK);
        assert_memory_equal(b.obs, b2.obs, sizeof(float) * 64 * (size_t)sh.F);
        for (int i = 0; i < b.n; i++) {
            float o = b.obs[i * sh.F];
            int ep = (int)(o / 1000.0f);
            int t = (int)(o - (float)ep * 1000.0f);
            int s = (int)lroundf((o - (float)(ep * 1000 + t)) / 0.25f);
            assert_true(ep >= 0 && ep < 6 && t >= 0 && t < Ts[ep] && s >= 0 && s < sh.S);
            for (int f = 0; f < sh.F; f++)
                assert_true(b.next_obs[i * sh.F + f] == s_obs_val(ep, t + 1, s, f));
            for (int a = 0; a < sh.A; a++)
                assert_int_equal(b.next_mask[i * sh.A + a], s_mask_val(ep, t + 1, s, a));
            assert_int_equal(b.action[i], s_act_val(ep, t, s, sh.A));
            assert_true(b.reward[i] == s_srew_val(ep, t, s));
            assert_int_equal(b.done[i], s_term_val(ep, t, Ts[ep]));
            counts[ep][(int)(3 * t / Ts[ep])] += 1.0;
            draws++;
        }
        int64_t loads = 0, hits = 0, cached = 0;
        rls_replay_reader_cache_stats(r, &loads, &hits, &cached);
        assert_true(cached <= p.cache_bytes);
    }
    /* chi-square over 18 cells against the cells' share of transitions. Draws
     * from one resident group are not independent: the randomness is in which
     * groups come in, each then drawn about D = reuse x group transitions
     * times, so the statistic is overdispersed by D; chi / D follows chi-square
     * with 17 degrees of freedom (60 is p < 1e-6). A biased rotation (say,
     * groups by episode instead of by size) gives thousands. */
    double chi = 0.0;
    for (int ep = 0; ep < 6; ep++)
        for (int j = 0; j < 3; j++) {
            int64_t lo = (Ts[ep] * j + 2) / 3, hi = (Ts[ep] * (j + 1) + 2) / 3;
            double expect = (double)draws * (double)(hi - lo) / 5000.0;
            chi += (counts[ep][j] - expect) * (counts[ep][j] - expect) / expect;
        }
    int64_t R = 8192 / (sh.S * sh.F * 4);     /* the writer's rows per chunk group */
    double D = p.reuse * (double)(R * sh.S);
    print_message("window mode: chi-square %.1f over 18 cells, / D=%.0f: %.1f\n", chi, D, chi / D);
    assert_true(chi / D < 60.0);
    int64_t loads = 0;
    rls_replay_reader_cache_stats(r, &loads, NULL, NULL);
    assert_true(loads * 10 < draws);          /* amortized: one read serves many draws */
    assert_true(loads > 100);                 /* and the window did rotate through the file */
    rls_replay_batch_free(&b);
    rls_replay_batch_free(&b2);
    rls_replay_reader_close(&r);
    rls_replay_reader_close(&r2);
    s_cleanup(path);
}

static void test_chunked_mode_equals_ram_mode_with_tiny_cache(void **state)
{
    (void)state;
    char path[256];
    struct s_shape sh = {6, 23, 9, 18};     /* 6 services x 23 features: 59 rows per chunk */
    int64_t Ts[3] = {600, 450, 333};
    struct rls_err err = {0};
    s_path(path, sizeof path, "chunk");
    s_write_file(path, sh, 3, Ts, 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    struct rls_replay_reader *ram = rls_replay_reader_open(path, NULL, &err);
    assert_non_null(ram);
    struct rls_replay_reader_params p = {.cache_bytes = 64 * 1024, .exact = 1};
    struct rls_replay_reader *chk = rls_replay_reader_open(path, &p, &err);
    assert_non_null(chk);
    /* raw data is 1383 steps * 6 * (23*4 + 18 + 9) bytes = ~1 MB, far above the cache */
    assert_true(rls_replay_reader_n_steps(chk) * sh.S * (sh.F * 4 + sh.A) > 10 * p.cache_bytes);
    assert_string_equal(rls_replay_reader_fingerprint(ram), rls_replay_reader_fingerprint(chk));
    struct rls_replay_batch a, b;
    assert_int_equal(rls_replay_batch_alloc(&a, 256, sh.F, sh.A), RLS_OK);
    assert_int_equal(rls_replay_batch_alloc(&b, 256, sh.F, sh.A), RLS_OK);
    uint64_t ra = 99, rb = 99;
    for (int k = 0; k < 20; k++) {
        assert_int_equal(rls_replay_reader_sample(ram, &ra, &a), RLS_OK);
        assert_int_equal(rls_replay_reader_sample(chk, &rb, &b), RLS_OK);
        assert_memory_equal(a.obs, b.obs, sizeof(float) * 256 * (size_t)sh.F);
        assert_memory_equal(a.next_obs, b.next_obs, sizeof(float) * 256 * (size_t)sh.F);
        assert_memory_equal(a.action, b.action, sizeof(int32_t) * 256);
        assert_memory_equal(a.reward, b.reward, sizeof(float) * 256);
        assert_memory_equal(a.done, b.done, 256);
        assert_memory_equal(a.mask, b.mask, 256 * (size_t)sh.A);
        assert_memory_equal(a.next_mask, b.next_mask, 256 * (size_t)sh.A);
        int64_t loads = 0, hits = 0, cached = 0;
        rls_replay_reader_cache_stats(chk, &loads, &hits, &cached);
        assert_true(cached <= p.cache_bytes);
        assert_true(loads > 0);
    }
    int64_t loads = 0, hits = 0, cached = 0;
    rls_replay_reader_cache_stats(chk, &loads, &hits, &cached);
    assert_true(hits > 0);          /* sorted visits share groups */
    assert_true(loads > 20);        /* and the small cache had to evict and reload */
    rls_replay_batch_free(&a);
    rls_replay_batch_free(&b);
    rls_replay_reader_close(&ram);
    rls_replay_reader_close(&chk);
    s_cleanup(path);
}

/* ---------------------------------------------------------------------------
 * h5py. */

static int s_python_check(const char *path, const char *args, int show_log)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/replay_h5py_check.py %s %s > /tmp/rls_h5py_%d.log 2>&1",
             RLS_SOURCE_DIR, path, args, (int)getpid());
    int rc = system(cmd);
    char logp[128];
    snprintf(logp, sizeof logp, "/tmp/rls_h5py_%d.log", (int)getpid());
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    if (WEXITSTATUS(rc) == 1 && show_log) {
        char log[256];
        snprintf(log, sizeof log, "cat /tmp/rls_h5py_%d.log", (int)getpid());
        if (system(log) != 0)
            return 1;
    }
    unlink(logp);
    return WEXITSTATUS(rc);
}

static int s_have_h5py(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        return 0;
    return system("/usr/bin/python3 -c 'import h5py' > /dev/null 2>&1") == 0;
}

static void test_h5py_reads_shapes_dtypes_and_values(void **state)
{
    (void)state;
    if (!s_have_h5py())
        skip();
    char path[256], args[1024];
    struct s_shape sh = {3, 5, 9, 18};
    int64_t Ts[3] = {5, 7, 1};
    s_path(path, sizeof path, "h5py");
    s_write_file(path, sh, 3, Ts, 1);
    snprintf(args, sizeof args,
             "episodes=3 S=3 F=5 A=18 T=5,7,1 masks=1 "
             "episode_1/observations/2/1/3=%.9g episode_2/observations/1/2/4=%.9g "
             "episode_1/actions/6/2=%d episode_0/rewards/4=%.9g episode_1/service_rewards/3/1=%.9g "
             "episode_1/terminations/6=1 episode_0/truncations/4=1 episode_1/action_masks/7/2/17=%d",
             (double)s_obs_val(1, 2, 1, 3), (double)s_obs_val(2, 1, 2, 4), s_act_val(1, 6, 2, 18),
             (double)s_rew_val(0, 4), (double)s_srew_val(1, 3, 1), s_mask_val(1, 7, 2, 17));
    assert_int_equal(s_python_check(path, args, 1), 0);
    /* the checker really checks: a wrong expected value fails */
    assert_int_equal(s_python_check(path, "episode_1/observations/2/1/3=12345", 0), 1);
    s_cleanup(path);
}

/* ---------------------------------------------------------------------------
 * Crash safety. */

/* Child: commits episodes 0 and 1, then arms the kill hook for episode 2's
 * commit (or, for close stages, for the close). Never returns. */
static void s_child_write(const char *path, struct s_shape sh, const int64_t *Ts, const char *stage)
{
    struct rls_replay_meta m;
    struct rls_err err = {0};
    s_meta(&m, sh);
    struct rls_replay_writer *w = rls_replay_writer_open(path, &m, &err);
    if (!w)
        _exit(3);
    for (int ep = 0; ep < 2; ep++)
        if (s_write_episode(w, sh, ep, Ts[ep], 1) != RLS_OK)
            _exit(4);
    int at_close = strncmp(stage, "close", 5) == 0;
    if (!at_close)
        setenv("RLS_REPLAY_TEST_KILL", stage, 1);
    if (s_write_episode(w, sh, 2, Ts[2], 1) != RLS_OK)
        _exit(5);
    if (at_close)
        setenv("RLS_REPLAY_TEST_KILL", stage, 1);
    if (rls_replay_writer_close(&w, &err) != RLS_OK)
        _exit(6);
    _exit(0);
}

/* Runs one kill; returns 1 if the child was killed, 0 if it finished. */
static int s_kill_run(const char *path, struct s_shape sh, const int64_t *Ts, const char *stage)
{
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        s_child_write(path, sh, Ts, stage);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st)) {
        assert_int_equal(WTERMSIG(st), SIGKILL);
        return 1;
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    return 0;
}

static void s_check_after_kill(const char *path, struct s_shape sh, const int64_t *Ts, int expect_eps)
{
    struct rls_err err = {0};
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
    if (!r)
        fail_msg("%s", err.msg);
    s_check_episodes(r, sh, expect_eps, Ts, 1);
    rls_replay_reader_close(&r);
    char jpath[1100];
    snprintf(jpath, sizeof jpath, "%s.journal", path);
    assert_int_not_equal(access(jpath, F_OK), 0);   /* recovery removed it */
}

static void test_sigkill_at_every_commit_stage_keeps_committed_episodes(void **state)
{
    (void)state;
    char path[256], stage[64];
    struct s_shape sh = {3, 5, 9, 18};
    int64_t Ts[3] = {40, 30, 50};
    int h5py = s_have_h5py();
    s_path(path, sizeof path, "kill");
    static const char *before[] = {"begin", "journal:1", "journal:2", "append:1", "append:4", "datasets", "flushed"};
    for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
        s_cleanup(path);
        assert_int_equal(s_kill_run(path, sh, Ts, before[i]), 1);
        s_check_after_kill(path, sh, Ts, 2);
    }
    /* every in-place overwrite of committed bytes, one kill each, until the
     * commit does no more of them */
    int n_over = 0;
    for (int n = 1; n < 200; n++) {
        s_cleanup(path);
        snprintf(stage, sizeof stage, "overwrite:%d", n);
        if (!s_kill_run(path, sh, Ts, stage))
            break;
        n_over++;
        s_check_after_kill(path, sh, Ts, 2);
        if (h5py && n == 1)
            assert_int_equal(s_python_check(path, "episodes=2 T=40,30", 1), 0);
    }
    assert_true(n_over >= 1);   /* a commit does rewrite committed metadata */
    static const char *after[] = {"committed", "close-begin", "close-done"};
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        s_cleanup(path);
        assert_int_equal(s_kill_run(path, sh, Ts, after[i]), 1);
        s_check_after_kill(path, sh, Ts, 3);
        if (h5py && i == 1)
            assert_int_equal(s_python_check(path, "episodes=3 T=40,30,50", 1), 0);
    }
    /* a hook that never matches: the child finishes */
    s_cleanup(path);
    assert_int_equal(s_kill_run(path, sh, Ts, "nothing"), 0);
    s_check_after_kill(path, sh, Ts, 3);
    s_cleanup(path);
}

static void test_recover_refuses_while_a_writer_holds_the_file(void **state)
{
    (void)state;
    char path[256], jpath[1100];
    struct s_shape sh = {2, 3, 3, 6};
    struct rls_replay_meta m;
    struct rls_err err = {0};
    s_path(path, sizeof path, "busy");
    s_meta(&m, sh);
    struct rls_replay_writer *w = rls_replay_writer_open(path, &m, &err);
    assert_non_null(w);
    assert_int_equal(s_write_episode(w, sh, 0, 3, 1), RLS_OK);
    /* a journal beside a file that a live writer holds is not rolled back */
    snprintf(jpath, sizeof jpath, "%s.journal", path);
    FILE *f = fopen(jpath, "w");
    assert_non_null(f);
    fputs("RLSJRNL1", f);
    fclose(f);
    int rolled = 0;
    assert_int_equal(rls_replay_recover(path, &rolled, &err), RLS_ERR_STATE);
    assert_non_null(strstr(err.msg, "writer"));
    unlink(jpath);
    assert_int_equal(rls_replay_writer_close(&w, &err), RLS_OK);
    /* a torn journal header is discarded without touching the file */
    f = fopen(jpath, "w");
    assert_non_null(f);
    fputs("RLSJ", f);
    fclose(f);
    assert_int_equal(rls_replay_recover(path, &rolled, &err), RLS_OK);
    assert_int_equal(rolled, 0);
    assert_int_not_equal(access(jpath, F_OK), 0);
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
    assert_non_null(r);
    assert_int_equal(rls_replay_reader_n_episodes(r), 1);
    rls_replay_reader_close(&r);
    s_cleanup(path);
}

static void test_sigkill_during_real_record_runs_keeps_a_readable_file(void **state)
{
    (void)state;
    char bin[1024], path[256];
    snprintf(bin, sizeof bin, "%s/rlsched", RLS_BINARY_DIR);
    if (access(bin, X_OK) != 0)
        skip();
    s_path(path, sizeof path, "rec");
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int64_t max_eps = 0;
    char fp_killed[32] = "";
    for (int run = 0; run < 4; run++) {
        s_cleanup(path);
        fflush(stdout);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 2);
            execl(bin, bin, "record", "--scenario", "default", "--policy", "hpa,kpa", "--epsilon", "0.2",
                  "--episodes", "100000", "--steps", "30", "--seed", "11", "--out", path, (char *)NULL);
            _exit(127);
        }
        /* run 0: right after the start (before the file may exist); the others:
         * once the file has its name, 0 .. 300 ms later, through a few commits */
        struct timespec tick = {0, 10 * 1000000L};
        for (int k = 0; run > 0 && k < 3000 && access(path, F_OK) != 0; k++)
            nanosleep(&tick, NULL);
        long ms = run == 0 ? 50 : rand() % 300;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 127));
        if (access(path, F_OK) != 0)
            continue;   /* killed before the file got its name: nothing under the final name */
        struct rls_err err = {0};
        struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
        if (!r)
            fail_msg("run %d: %s", run, err.msg);
        int64_t n = rls_replay_reader_n_episodes(r);
        print_message("run %d: killed with %lld committed episodes, file reads back\n", run, (long long)n);
        if (n > max_eps && n <= 200) {
            max_eps = n;
            snprintf(fp_killed, sizeof fp_killed, "%s", rls_replay_reader_fingerprint(r));
        }
        rls_replay_reader_close(&r);
    }
    if (max_eps == 0) {
        s_cleanup(path);
        return;
    }
    /* the episodes that survived a kill are exactly those of a clean run */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s record --scenario default --policy hpa,kpa --epsilon 0.2 --episodes %lld --steps 30 --seed 11 "
             "--out %s 2>/dev/null", bin, (long long)max_eps, path);
    s_cleanup(path);
    assert_int_equal(system(cmd), 0);
    struct rls_err err = {0};
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
    assert_non_null(r);
    assert_int_equal(rls_replay_reader_n_episodes(r), max_eps);
    assert_string_equal(rls_replay_reader_fingerprint(r), fp_killed);
    rls_replay_reader_close(&r);
    s_cleanup(path);
}

/* ---------------------------------------------------------------------------
 * Bad files. */

static void s_expect_refused(const char *path, int status, const char *needle1, const char *needle2)
{
    struct rls_err err = {0};
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &err);
    assert_null(r);
    if (status)
        assert_int_equal(err.status, status);
    if (!strstr(err.msg, path) || (needle1 && !strstr(err.msg, needle1)) || (needle2 && !strstr(err.msg, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s' / '%s'", err.msg, path, needle1 ? needle1 : "",
                 needle2 ? needle2 : "");
    /* chunk mode refuses the same way */
    struct rls_replay_reader_params p = {.cache_bytes = 1 << 16};
    r = rls_replay_reader_open(path, &p, &err);
    assert_null(r);
}

static hid_t s_h5_open_rw(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

static void s_good_file(char *path, size_t len, const char *tag)
{
    struct s_shape sh = {3, 5, 9, 18};
    int64_t Ts[3] = {5, 7, 4};
    s_path(path, len, tag);
    s_write_file(path, sh, 3, Ts, 1);
}

static void test_wrong_format_version_is_refused(void **state)
{
    (void)state;
    char path[256];
    s_good_file(path, sizeof path, "ver");
    hid_t f = s_h5_open_rw(path);
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    int32_t v = 2;
    assert_true(H5Awrite(a, H5T_NATIVE_INT32, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_VERSION, "format_version 2", NULL);
    s_cleanup(path);
}

static void test_missing_dataset_is_refused_with_its_path(void **state)
{
    (void)state;
    char path[256];
    s_good_file(path, sizeof path, "miss");
    hid_t f = s_h5_open_rw(path);
    assert_true(H5Ldelete(f, "episode_1/rewards", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_PARSE, "/episode_1/rewards", "missing");
    s_cleanup(path);
    /* a missing episode group too */
    s_good_file(path, sizeof path, "miss2");
    f = s_h5_open_rw(path);
    assert_true(H5Ldelete(f, "episode_2", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_PARSE, "/episode_2", "missing");
    s_cleanup(path);
}

static void test_mismatched_lengths_are_refused(void **state)
{
    (void)state;
    char path[256];
    s_good_file(path, sizeof path, "len");
    hid_t f = s_h5_open_rw(path);
    assert_true(H5Ldelete(f, "episode_1/rewards", H5P_DEFAULT) >= 0);
    hsize_t n = 6;   /* episode 1 has 7 steps */
    float v[6] = {0};
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(f, "episode_1/rewards", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_PARSE, "/episode_1/rewards: length 6, expected 7", NULL);
    s_cleanup(path);
    /* T+1 observations for T actions: one observation row too few */
    s_good_file(path, sizeof path, "len2");
    f = s_h5_open_rw(path);
    assert_true(H5Ldelete(f, "episode_0/observations", H5P_DEFAULT) >= 0);
    hsize_t dims[3] = {5, 3, 5};
    float o[75] = {0};
    sp = H5Screate_simple(3, dims, NULL);
    d = H5Dcreate2(f, "episode_0/observations", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, o) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_PARSE, "/episode_0/observations: length 5, expected 6", NULL);
    s_cleanup(path);
}

static void test_wrong_dtype_is_refused(void **state)
{
    (void)state;
    char path[256];
    s_good_file(path, sizeof path, "dtype");
    hid_t f = s_h5_open_rw(path);
    assert_true(H5Ldelete(f, "episode_2/actions", H5P_DEFAULT) >= 0);
    hsize_t dims[2] = {4, 3};
    float v[12] = {0};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "episode_2/actions", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_PARSE, "/episode_2/actions", "type float32, expected int32");
    s_cleanup(path);
}

static void test_nan_in_observations_is_refused(void **state)
{
    (void)state;
    char path[256];
    s_good_file(path, sizeof path, "nan");
    hid_t f = s_h5_open_rw(path);
    hid_t d = H5Dopen2(f, "episode_2/observations", H5P_DEFAULT);
    hid_t fs = H5Dget_space(d);
    hsize_t start[3] = {3, 1, 2}, count[3] = {1, 1, 1};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(3, count, NULL);
    float nanv = NAN;
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &nanv) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_RANGE, "/episode_2/observations: NaN at [3, 1, 2]", NULL);
    s_cleanup(path);
    /* inf in the rewards too */
    s_good_file(path, sizeof path, "inf");
    f = s_h5_open_rw(path);
    d = H5Dopen2(f, "episode_0/service_rewards", H5P_DEFAULT);
    fs = H5Dget_space(d);
    hsize_t st2[2] = {2, 0}, c2[2] = {1, 1};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, st2, NULL, c2, NULL);
    ms = H5Screate_simple(2, c2, NULL);
    float infv = INFINITY;
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &infv) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
    s_expect_refused(path, RLS_ERR_RANGE, "/episode_0/service_rewards: inf at step 2", NULL);
    s_cleanup(path);
}

static void s_truncate_copy(const char *src, const char *dst, off_t keep)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    off_t done = 0;
    while (done < keep) {
        size_t want = (size_t)(keep - done < (off_t)sizeof buf ? keep - done : (off_t)sizeof buf);
        size_t got = fread(buf, 1, want, in);
        if (got == 0)
            break;
        fwrite(buf, 1, got, out);
        done += (off_t)got;
    }
    fclose(in);
    fclose(out);
}

static void test_truncated_and_garbage_files_are_refused(void **state)
{
    (void)state;
    char path[256], cut[256];
    struct stat st;
    s_good_file(path, sizeof path, "trunc");
    assert_int_equal(stat(path, &st), 0);
    s_path(cut, sizeof cut, "cut");
    off_t keeps[3] = {st.st_size - 100, st.st_size / 2, 1000};
    for (int i = 0; i < 3; i++) {
        s_truncate_copy(path, cut, keeps[i]);
        s_expect_refused(cut, 0, NULL, NULL);
    }
    s_cleanup(cut);
    s_cleanup(path);
    /* garbage */
    s_path(path, sizeof path, "garbage");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 5000; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    s_expect_refused(path, RLS_ERR_PARSE, "not an HDF5 file", NULL);
    s_cleanup(path);
    /* an HDF5 file that is not a replay file */
    s_path(path, sizeof path, "other");
    hid_t h = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(h);
    s_expect_refused(path, RLS_ERR_PARSE, "not an rlsched replay file", NULL);
    s_cleanup(path);
    /* no file at all */
    s_expect_refused("/tmp/rls_test_replay_does_not_exist.h5", RLS_ERR_IO, "No such file", NULL);
}

static void test_unwritable_output_leaves_no_file(void **state)
{
    (void)state;
    struct s_shape sh = {2, 3, 3, 6};
    struct rls_replay_meta m;
    struct rls_err err = {0};
    s_meta(&m, sh);
    const char *p1 = "/tmp/rls_no_such_dir_replay/x.h5";
    assert_null(rls_replay_writer_open(p1, &m, &err));
    assert_int_equal(err.status, RLS_ERR_IO);
    assert_non_null(strstr(err.msg, p1));
    assert_non_null(strstr(err.msg, "No such file"));
    /* a directory as the output */
    assert_null(rls_replay_writer_open("/tmp", &m, &err));
    assert_non_null(strstr(err.msg, "/tmp: cannot create"));
    /* a read-only directory (root ignores permissions: skip that part) */
    if (geteuid() != 0) {
        char dir[256], path[300];
        snprintf(dir, sizeof dir, "/tmp/rls_ro_%d", (int)getpid());
        mkdir(dir, 0500);
        snprintf(path, sizeof path, "%s/x.h5", dir);
        assert_null(rls_replay_writer_open(path, &m, &err));
        assert_non_null(strstr(err.msg, "Permission denied"));
        assert_int_not_equal(access(path, F_OK), 0);
        rmdir(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_values_are_exact),
        cmocka_unit_test(test_file_without_masks_reads_all_ones),
        cmocka_unit_test(test_writer_refuses_bad_steps),
        cmocka_unit_test(test_sampling_is_uniform_and_deterministic),
        cmocka_unit_test(test_chunked_mode_equals_ram_mode_with_tiny_cache),
        cmocka_unit_test(test_window_mode_samples_uniformly_from_a_small_cache),
        cmocka_unit_test(test_h5py_reads_shapes_dtypes_and_values),
        cmocka_unit_test(test_sigkill_at_every_commit_stage_keeps_committed_episodes),
        cmocka_unit_test(test_recover_refuses_while_a_writer_holds_the_file),
        cmocka_unit_test(test_sigkill_during_real_record_runs_keeps_a_readable_file),
        cmocka_unit_test(test_wrong_format_version_is_refused),
        cmocka_unit_test(test_missing_dataset_is_refused_with_its_path),
        cmocka_unit_test(test_mismatched_lengths_are_refused),
        cmocka_unit_test(test_wrong_dtype_is_refused),
        cmocka_unit_test(test_nan_in_observations_is_refused),
        cmocka_unit_test(test_truncated_and_garbage_files_are_refused),
        cmocka_unit_test(test_unwritable_output_leaves_no_file),
    };
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* the test's own HDF5 calls stay quiet */
    if (getenv("RLS_TEST_FILTER"))
        cmocka_set_test_filter(getenv("RLS_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
