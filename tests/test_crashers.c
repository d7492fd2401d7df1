/* test_crashers.c - no corrupt file crashes a reader, no parser allocates for
 * what a file merely claims:
 * - the reproducers in ../shared/crashers (h5/ and trace/) are refused with one
 *   line naming the file (the test SKIPs, exit 77, when the folder is absent);
 * - mutation: a small replay file and a small checkpoint written by the
 *   project get one byte changed at many deterministic positions; each mutant
 *   is either refused or reads back exactly the original (0 silently changed
 *   data). RLS_MUTANTS sets the count (200 here; tools/mutate_h5.sh runs more).
 */
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

#include "env/scenario.h"
#include "env/trace.h"
#include "policies/checkpoint.h"
#include "replay/replay.h"

#ifndef RLS_CRASHERS_DIR
#define RLS_CRASHERS_DIR RLS_SOURCE_DIR "/../shared/crashers"
#endif

static int s_have_crashers(void)
{
    struct stat st;
    return stat(RLS_CRASHERS_DIR "/h5", &st) == 0 && stat(RLS_CRASHERS_DIR "/trace", &st) == 0;
}

/* One line, naming the file. */
static void s_assert_one_line(const struct rls_err *e, const char *file)
{
    assert_non_null(strstr(e->msg, file));
    assert_null(strchr(e->msg, '\n'));
}

static void replay_crashers_are_refused_with_one_line(void **state)
{
    (void)state;
    static const char *files[] = {"replay_h5aexists_overflow.h5", "replay_h5dread_overread.h5"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        struct rls_err e = {0};
        snprintf(path, sizeof path, "%s/h5/%s", RLS_CRASHERS_DIR, files[i]);
        struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &e);
        assert_null(r);
        assert_true(e.status < 0);
        s_assert_one_line(&e, files[i]);
        /* the checkpoint loader refuses them too (not checkpoints, possibly crashing) */
        struct rls_checkpoint *ck = NULL;
        memset(&e, 0, sizeof e);
        assert_true(rls_checkpoint_load(path, &ck, &e) < 0);
        assert_null(ck);
        s_assert_one_line(&e, files[i]);
    }
}

static void trace_crashers_are_refused_without_allocating(void **state)
{
    (void)state;
    static const char *files[] = {"cli_header_n.trace", "oom-7f814471d3d2be769f6f6fda917e6b20f172bfaa",
                                  "oom-d965b96e6f2aa8b8f4d230c4f95816ce843391b0",
                                  "oom-f15f9a110c91968fa63cd1900ff6de3138e558fd"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        struct rls_err e = {0};
        struct rls_trace *t = NULL;
        snprintf(path, sizeof path, "%s/trace/%s", RLS_CRASHERS_DIR, files[i]);
        assert_true(rls_trace_import(path, NULL, &t, &e) < 0);
        assert_null(t);
        s_assert_one_line(&e, files[i]);
    }
    /* a header n within a raised limit is still only a claim: 2 values, refused */
    struct rls_trace_import_params p = rls_trace_import_default_params();
    struct rls_err e = {0};
    struct rls_trace *t = NULL;
    p.max_points = 2000000000;
    assert_int_equal(rls_trace_import(RLS_CRASHERS_DIR "/trace/cli_header_n.trace", &p, &t, &e), RLS_ERR_PARSE);
    assert_non_null(strstr(e.msg, "truncated file"));
    /* two rows 59 years apart: 2 samples; resampling to 15 s would be 250 million */
    assert_int_equal(rls_trace_import(RLS_CRASHERS_DIR "/trace/cli_resample_22B.csv", NULL, &t, &e), RLS_OK);
    assert_int_equal(t->n, 2);
    assert_true(rls_trace_resample_size(t, 15) > RLS_TRACE_MAX_POINTS_DEFAULT);
    rls_trace_destroy(&t);
}

static void trace_grid_over_max_points_is_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/rls_crash_grid_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *csv = "ts,v\n0,1\n60,2\n6000060,3\n";   /* step 60 s inferred, 100001 samples */
    assert_int_equal(write(fd, csv, strlen(csv)), (int)strlen(csv));
    close(fd);
    struct rls_trace_import_params p = rls_trace_import_default_params();
    struct rls_err e = {0};
    struct rls_trace *t = NULL;
    p.max_gap_steps = 1000000;
    p.max_points = 1000;
    assert_int_equal(rls_trace_import(path, &p, &t, &e), RLS_ERR_RANGE);
    assert_non_null(strstr(e.msg, "max_points 1000"));
    p.max_points = 200000;
    assert_int_equal(rls_trace_import(path, &p, &t, &e), RLS_OK);
    assert_int_equal(t->n, 100002);
    rls_trace_destroy(&t);
    unlink(path);
}

static void deep_or_large_yaml_is_refused_before_parsing(void **state)
{
    (void)state;
    size_t n = 100000, len = 6 + 2 * n + 1;
    char *y = malloc(len + 1);
    assert_non_null(y);
    memcpy(y, "name: ", 6);
    memset(y + 6, '[', n);
    memset(y + 6 + n, ']', n);
    y[len - 1] = '\n';
    y[len] = '\0';
    struct rls_scenario *sc = NULL;
    struct rls_err e = {0};
    assert_int_equal(rls_scenario_parse(y, len, "deep.yaml", &sc, &e), RLS_ERR_PARSE);
    assert_non_null(strstr(e.msg, "deep.yaml:1: YAML nested deeper than 32 levels"));
    free(y);
    len = (1 << 20) + 1;
    y = malloc(len);
    assert_non_null(y);
    memset(y, ' ', len);
    assert_int_equal(rls_scenario_parse(y, len, "big.yaml", &sc, &e), RLS_ERR_RANGE);
    assert_non_null(strstr(e.msg, "big.yaml"));
    assert_null(sc);
    free(y);
}

/* ---------------------------------------------------------------------------
 * Mutation. */

static uint64_t s_rng = 0x5EEDF00D12345678ULL;
static uint64_t s_next(void)
{
    uint64_t z = (s_rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void s_spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static int s_mutants(void)
{
    const char *v = getenv("RLS_MUTANTS");
    int n = v ? atoi(v) : 200;
    return n > 0 ? n : 200;
}

/* What a replay reader shows of a file: everything a caller can read, as text
 * and bytes, to compare a mutant with the original. */
struct s_view {
    char *buf;
    size_t len, cap;
};

static void s_add(struct s_view *v, const void *p, size_t n)
{
    if (v->len + n > v->cap) {
        v->cap = (v->len + n) * 2;
        v->buf = realloc(v->buf, v->cap);
        assert_non_null(v->buf);
    }
    memcpy(v->buf + v->len, p, n);
    v->len += n;
}

static void s_adds(struct s_view *v, const char *s)
{
    s_add(v, s ? s : "(null)", strlen(s ? s : "(null)") + 1);
}

/* 0 and the view when it opens, -1 when refused. */
static int s_replay_view(const char *path, struct s_view *v, char *why, size_t cap)
{
    struct rls_err e = {0};
    struct rls_replay_reader *r = rls_replay_reader_open(path, NULL, &e);
    if (!r) {
        snprintf(why, cap, "%s", e.msg);
        return -1;
    }
    const struct rls_replay_meta *m = rls_replay_reader_meta(r);
    int32_t F = m->n_features, S = m->n_services, A = m->n_actions;
    s_add(v, m, offsetof(struct rls_replay_meta, scenario_yaml));  /* ints and the name */
    s_adds(v, m->scenario_yaml);
    s_adds(v, m->trace);
    s_adds(v, m->behavior);
    s_add(v, &m->epsilon, sizeof m->epsilon);
    s_adds(v, m->created);
    s_add(v, m->obs_mean, (size_t)F * 4);
    s_add(v, m->obs_std, (size_t)F * 4);
    s_adds(v, m->feature_names);
    s_adds(v, rls_replay_reader_fingerprint(r));
    int64_t ne = rls_replay_reader_n_episodes(r);
    s_add(v, &ne, sizeof ne);
    for (int64_t i = 0; i < ne; i++) {
        struct rls_replay_episode_info in;
        struct rls_replay_episode ep;
        assert_int_equal(rls_replay_reader_episode_info(r, i, &in), RLS_OK);
        s_add(v, &in.id, sizeof in.id);
        s_add(v, &in.steps, sizeof in.steps);
        s_add(v, &in.seed, sizeof in.seed);
        s_adds(v, in.policy);
        s_add(v, &in.has_masks, sizeof in.has_masks);
        s_add(v, &in.has_infos, sizeof in.has_infos);
        if (rls_replay_reader_read_episode(r, i, &ep) != RLS_OK) {
            snprintf(why, cap, "%s", rls_replay_reader_errmsg(r));
            rls_replay_reader_close(&r);
            return -1;
        }
        size_t T = (size_t)ep.steps;
        s_add(v, ep.observations, (T + 1) * (size_t)(S * F) * 4);
        s_add(v, ep.actions, T * (size_t)S * 4);
        s_add(v, ep.rewards, T * 4);
        s_add(v, ep.service_rewards, T * (size_t)S * 4);
        s_add(v, ep.terminations, T);
        s_add(v, ep.truncations, T);
        s_add(v, ep.action_masks, (T + 1) * (size_t)(S * A));
        rls_replay_episode_free(&ep);
    }
    rls_replay_reader_close(&r);
    return 0;
}

static void s_write_small_replay(const char *path)
{
    struct rls_replay_meta m;
    memset(&m, 0, sizeof m);
    m.n_services = 2;
    m.n_features = 3;
    m.n_deltas = 3;
    m.deltas[0] = -1;
    m.deltas[2] = 1;
    m.n_placements = 2;
    m.n_actions = 6;
    snprintf(m.scenario_name, sizeof m.scenario_name, "mutation");
    m.scenario_yaml = (char *)"name: mutation\n";
    snprintf(m.behavior, sizeof m.behavior, "hpa eps=0.1");
    m.epsilon = 0.1;
    struct rls_err e = {0};
    struct rls_replay_writer *w = rls_replay_writer_open(path, &m, &e);
    assert_non_null(w);
    for (int ep = 0; ep < 2; ep++) {
        assert_int_equal(rls_replay_writer_begin_episode(w, 7 + (uint64_t)ep, ep ? "kpa" : "hpa"), RLS_OK);
        for (int t = 0; t < 6; t++) {
            float obs[6], srew[2] = {-(float)t, 0.5f * (float)ep};
            int32_t act[2] = {t % 6, (t + ep) % 6};
            uint8_t mask[12];
            for (int k = 0; k < 6; k++)
                obs[k] = (float)(ep * 100 + t * 10 + k) * 0.25f;
            memset(mask, 1, sizeof mask);
            mask[t % 12] = 0;
            assert_int_equal(rls_replay_writer_add_step(w, obs, act, -1.5 * t, srew, mask, 0, t == 5), RLS_OK);
            struct rls_replay_info in = {0.01 * t, 10.0 + t, 9.0 + t, 1.0, 0.5, 3 + t};
            assert_int_equal(rls_replay_writer_add_info(w, &in), RLS_OK);
        }
        float fin[6] = {1, 2, 3, 4, 5, 6};
        uint8_t fmask[12];
        memset(fmask, 1, sizeof fmask);
        assert_int_equal(rls_replay_writer_end_episode(w, fin, fmask), RLS_OK);
    }
    assert_int_equal(rls_replay_writer_close(&w, &e), RLS_OK);
}

static void replay_mutants_are_refused_or_read_exactly(void **state)
{
    (void)state;
    char dir[] = "/tmp/rls_mutate_XXXXXX", orig[256], mut[256], why[RLS_ERRMSG_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(orig, sizeof orig, "%s/orig.h5", dir);
    snprintf(mut, sizeof mut, "%s/mut.h5", dir);
    s_write_small_replay(orig);
    struct s_view ref = {0};
    assert_int_equal(s_replay_view(orig, &ref, why, sizeof why), 0);
    size_t len;
    unsigned char *b = s_slurp(orig, &len);
    int n = s_mutants(), refused = 0, same = 0, changed = 0, crashed_child = 0;
    for (int i = 0; i < n; i++) {
        size_t at = (size_t)(s_next() % len);
        unsigned char old = b[at];
        b[at] ^= (unsigned char)(1 + s_next() % 255);
        s_spit(mut, b, len);
        b[at] = old;
        struct s_view v = {0};
        if (s_replay_view(mut, &v, why, sizeof why) != 0) {
            refused++;
            crashed_child += strstr(why, "crashed") != NULL || strstr(why, "failed reading") != NULL;
        } else if (v.len == ref.len && memcmp(v.buf, ref.buf, v.len) == 0) {
            same++;
        } else {
            changed++;
            print_message("replay mutant at offset %zu: accepted with changed data\n", at);
        }
        free(v.buf);
    }
    print_message("replay: %d mutants of %zu bytes: %d refused (%d of them crashed libhdf5 in the validating "
                  "child), %d read back identical, %d accepted with changed data\n", n, len, refused,
                  crashed_child, same, changed);
    assert_int_equal(changed, 0);
    assert_true(refused > 0);
    free(ref.buf);
    free(b);
    unlink(mut);
    unlink(orig);
    rmdir(dir);
}

static void s_ck_view(const struct rls_checkpoint *ck, struct s_view *v)
{
    s_add(v, ck, offsetof(struct rls_checkpoint, weight));
    s_add(v, &ck->n_heads, sizeof *ck - offsetof(struct rls_checkpoint, n_heads));
    for (int32_t l = 0; l < ck->n_layers; l++) {
        s_add(v, ck->weight[l], (size_t)ck->sizes[l + 1] * (size_t)ck->sizes[l] * 4);
        s_add(v, ck->bias[l], (size_t)ck->sizes[l + 1] * 4);
    }
    s_add(v, ck->obs_mean, (size_t)ck->sizes[0] * 4);
    s_add(v, ck->obs_std, (size_t)ck->sizes[0] * 4);
}

static void checkpoint_mutants_are_refused_or_read_exactly(void **state)
{
    (void)state;
    char dir[] = "/tmp/rls_mutate_ck_XXXXXX", orig[256], mut[256];
    assert_non_null(mkdtemp(dir));
    snprintf(orig, sizeof orig, "%s/orig.h5", dir);
    snprintf(mut, sizeof mut, "%s/mut.h5", dir);
    struct rls_err e = {0};
    int32_t sizes[3] = {25, 8, 18};
    struct rls_checkpoint *ck = rls_checkpoint_new(2, sizes, &e), *back = NULL;
    assert_non_null(ck);
    for (int32_t l = 0; l < 2; l++)
        for (int32_t k = 0; k < sizes[l + 1] * sizes[l]; k++)
            ck->weight[l][k] = (float)((k * 37 + l) % 101) * 0.01f - 0.5f;
    snprintf(ck->algorithm, sizeof ck->algorithm, "bc");
    snprintf(ck->scenario_name, sizeof ck->scenario_name, "mutation");
    ck->steps = 1234;
    ck->seed = 99;
    assert_int_equal(rls_checkpoint_save(ck, orig, &e), RLS_OK);
    assert_int_equal(rls_checkpoint_load(orig, &back, &e), RLS_OK);
    struct s_view ref = {0};
    s_ck_view(back, &ref);
    rls_checkpoint_destroy(&back);
    size_t len;
    unsigned char *b = s_slurp(orig, &len);
    int n = s_mutants(), refused = 0, same = 0, changed = 0;
    for (int i = 0; i < n; i++) {
        size_t at = (size_t)(s_next() % len);
        unsigned char old = b[at];
        b[at] ^= (unsigned char)(1 + s_next() % 255);
        s_spit(mut, b, len);
        b[at] = old;
        struct rls_err me = {0};
        if (rls_checkpoint_load(mut, &back, &me) != RLS_OK) {
            refused++;
            s_assert_one_line(&me, "mut.h5");
            continue;
        }
        struct s_view v = {0};
        s_ck_view(back, &v);
        if (v.len == ref.len && memcmp(v.buf, ref.buf, v.len) == 0) {
            same++;
        } else {
            changed++;
            print_message("checkpoint mutant at offset %zu: accepted with changed data\n", at);
        }
        free(v.buf);
        rls_checkpoint_destroy(&back);
    }
    print_message("checkpoint: %d mutants of %zu bytes: %d refused, %d read back identical, %d accepted with "
                  "changed data\n", n, len, refused, same, changed);
    assert_int_equal(changed, 0);
    free(ref.buf);
    free(b);
    rls_checkpoint_destroy(&ck);
    unlink(mut);
    unlink(orig);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest with_crashers[] = {
        cmocka_unit_test(replay_crashers_are_refused_with_one_line),
        cmocka_unit_test(trace_crashers_are_refused_without_allocating),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trace_grid_over_max_points_is_refused),
        cmocka_unit_test(deep_or_large_yaml_is_refused_before_parsing),
        cmocka_unit_test(replay_mutants_are_refused_or_read_exactly),
        cmocka_unit_test(checkpoint_mutants_are_refused_or_read_exactly),
    };
    int rc = cmocka_run_group_tests_name("bounded", tests, NULL, NULL);
    if (!s_have_crashers()) {
        printf("SKIPPED: %s not found (the crash reproducers)\n", RLS_CRASHERS_DIR);
        return rc ? rc : 77;
    }
    return rc + cmocka_run_group_tests_name("crashers", with_crashers, NULL, NULL);
}
