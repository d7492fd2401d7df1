/* test_crashers.c - no corrupt file crashes a reader, no parser allocates for
 * what a file merely claims:
 * - the reproducers in ../shared/crashers (h5/ and trace/) are refused with one
 *   line naming the file (the test SKIPs, exit 77, when the folder is absent);
 * - mutation: a small replay file and a small checkpoint (with a /train_state)
 *   written by the project get one byte changed at many deterministic
 *   positions; each mutant is either refused or reads back exactly the
 *   original, compared field by field (0 silently changed data; a difference
 *   is printed with the field's name). RLS_MUTANTS sets the count (150 here,
 *   fewer under ASan; tools/mutate_h5.sh runs more).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
    if (!strstr(e->msg, file) || strchr(e->msg, '\n'))
        print_error("not one line naming %s: '%s'\n", file, e->msg);
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

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Each mutant costs one or two loads in a forked child (~15 ms of CPU each,
 * mostly copy-on-write page faults), ~10 times that under ASan: 150 per file
 * keeps the test near 20 s of CPU, 50 under ASan; tools/mutate_h5.sh runs
 * 1000 and more. */
#if defined(__SANITIZE_ADDRESS__)
#define S_MUTANTS_DEFAULT 50
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_MUTANTS_DEFAULT 50
#endif
#endif
#ifndef S_MUTANTS_DEFAULT
#define S_MUTANTS_DEFAULT 150
#endif

static int s_mutants(void)
{
    const char *v = getenv("RLS_MUTANTS");
    int n = v ? atoi(v) : S_MUTANTS_DEFAULT;
    return n > 0 ? n : S_MUTANTS_DEFAULT;
}

/* What a reader shows of a file: everything a caller can read, field by
 * field (never a struct's padding or pointers), each under a label, so that a
 * mutant compares with the original and a difference is named. */
#define S_VIEW_FIELDS 512
struct s_view {
    char *buf;
    size_t len, cap;
    int n;                         /* fields */
    size_t at[S_VIEW_FIELDS];      /* where each starts in buf */
    char label[S_VIEW_FIELDS][48];
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

/* Field `label` (printf format) of n bytes at p. */
static void s_field(struct s_view *v, const void *p, size_t n, const char *label, ...)
{
    va_list ap;
    assert_true(v->n < S_VIEW_FIELDS);
    v->at[v->n] = v->len;
    va_start(ap, label);
    vsnprintf(v->label[v->n], sizeof v->label[0], label, ap);
    va_end(ap);
    v->n++;
    s_add(v, p, n);
}

/* A string field, with its NUL. */
static void s_fields(struct s_view *v, const char *s, const char *label)
{
    s_field(v, s ? s : "(null)", strlen(s ? s : "(null)") + 1, "%s", label);
}

/* NULL when a and b show the same, else the label of the first field that
 * differs. */
static const char *s_view_diff(const struct s_view *a, const struct s_view *b)
{
    for (int i = 0; i < a->n && i < b->n; i++) {
        size_t la = (i + 1 < a->n ? a->at[i + 1] : a->len) - a->at[i];
        size_t lb = (i + 1 < b->n ? b->at[i + 1] : b->len) - b->at[i];
        if (strcmp(a->label[i], b->label[i]) != 0 || la != lb ||
            memcmp(a->buf + a->at[i], b->buf + b->at[i], la) != 0)
            return a->label[i];
    }
    return a->n == b->n ? NULL : "(the number of fields)";
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
    s_field(v, &m->n_services, 4, "n_services");
    s_field(v, &m->n_features, 4, "n_features");
    s_field(v, &m->n_deltas, 4, "n_deltas");
    s_field(v, m->deltas, (size_t)m->n_deltas * 4, "deltas");
    s_field(v, &m->n_placements, 4, "n_placements");
    s_field(v, &m->n_actions, 4, "n_actions");
    s_fields(v, m->scenario_name, "scenario_name");
    s_fields(v, m->scenario_yaml, "scenario_yaml");
    s_fields(v, m->trace, "trace");
    s_fields(v, m->behavior, "behavior");
    s_field(v, &m->epsilon, sizeof m->epsilon, "epsilon");
    s_fields(v, m->created, "created");
    s_field(v, m->obs_mean, (size_t)F * 4, "obs_mean");
    s_field(v, m->obs_std, (size_t)F * 4, "obs_std");
    s_fields(v, m->feature_names, "feature_names");
    s_field(v, m->obs_low ? (const void *)m->obs_low : "", m->obs_low ? (size_t)F * 4 : 0, "obs_low");
    s_field(v, m->obs_high ? (const void *)m->obs_high : "", m->obs_high ? (size_t)F * 4 : 0, "obs_high");
    s_fields(v, rls_replay_reader_fingerprint(r), "fingerprint");
    int64_t ne = rls_replay_reader_n_episodes(r);
    s_field(v, &ne, sizeof ne, "n_episodes");
    for (int64_t i = 0; i < ne; i++) {
        struct rls_replay_episode_info in;
        struct rls_replay_episode ep;
        assert_int_equal(rls_replay_reader_episode_info(r, i, &in), RLS_OK);
        s_field(v, &in.id, sizeof in.id, "episode %lld id", (long long)i);
        s_field(v, &in.steps, sizeof in.steps, "episode %lld steps", (long long)i);
        s_field(v, &in.seed, sizeof in.seed, "episode %lld seed", (long long)i);
        s_field(v, in.policy, strlen(in.policy) + 1, "episode %lld policy", (long long)i);
        s_field(v, &in.has_masks, sizeof in.has_masks, "episode %lld has_masks", (long long)i);
        s_field(v, &in.has_infos, sizeof in.has_infos, "episode %lld has_infos", (long long)i);
        if (rls_replay_reader_read_episode(r, i, &ep) != RLS_OK) {
            snprintf(why, cap, "%s", rls_replay_reader_errmsg(r));
            rls_replay_reader_close(&r);
            return -1;
        }
        size_t T = (size_t)ep.steps;
        s_field(v, ep.observations, (T + 1) * (size_t)(S * F) * 4, "episode %lld observations", (long long)i);
        s_field(v, ep.actions, T * (size_t)S * 4, "episode %lld actions", (long long)i);
        s_field(v, ep.rewards, T * 4, "episode %lld rewards", (long long)i);
        s_field(v, ep.service_rewards, T * (size_t)S * 4, "episode %lld service_rewards", (long long)i);
        s_field(v, ep.terminations, T, "episode %lld terminations", (long long)i);
        s_field(v, ep.truncations, T, "episode %lld truncations", (long long)i);
        s_field(v, ep.action_masks, (T + 1) * (size_t)(S * A), "episode %lld action_masks", (long long)i);
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
    struct s_view *ref = calloc(1, sizeof *ref);
    assert_non_null(ref);
    assert_int_equal(s_replay_view(orig, ref, why, sizeof why), 0);
    size_t len;
    unsigned char *b = s_slurp(orig, &len);
    int n = s_mutants(), refused = 0, same = 0, changed = 0, crashed_child = 0;
    double t0 = s_now();
    for (int i = 0; i < n; i++) {
        size_t at = (size_t)(s_next() % len);
        unsigned char old = b[at];
        b[at] ^= (unsigned char)(1 + s_next() % 255);
        s_spit(mut, b, len);
        b[at] = old;
        struct s_view *v = calloc(1, sizeof *v);
        assert_non_null(v);
        const char *diff = NULL;
        if (s_replay_view(mut, v, why, sizeof why) != 0) {
            refused++;
            crashed_child += strstr(why, "crashed") != NULL || strstr(why, "failed reading") != NULL;
        } else if (!(diff = s_view_diff(ref, v))) {
            same++;
        } else {
            changed++;
            print_message("replay mutant at offset %zu: accepted with changed data (%s)\n", at, diff);
        }
        free(v->buf);
        free(v);
    }
    print_message("replay: %d mutants of %zu bytes: %d refused (%d of them crashed libhdf5 in the validating "
                  "child), %d read back identical, %d accepted with changed data (%.1f s)\n", n, len, refused,
                  crashed_child, same, changed, s_now() - t0);
    assert_int_equal(changed, 0);
    if (n >= 50)
        assert_true(refused > 0);   /* the mutation reaches what the loader checks */
    free(ref->buf);
    free(ref);
    free(b);
    unlink(mut);
    unlink(orig);
    rmdir(dir);
}

/* Everything rls_checkpoint_load and rls_checkpoint_load_state give, field by
 * field. */
static void s_ck_view(const struct rls_checkpoint *ck, const struct rls_checkpoint_state *st,
                      struct s_view *v)
{
    s_field(v, &ck->version, 4, "version");
    s_fields(v, ck->algorithm, "algorithm");
    s_fields(v, ck->activation, "activation");
    s_field(v, &ck->n_layers, 4, "n_layers");
    s_field(v, ck->sizes, (size_t)(ck->n_layers + 1) * 4, "sizes");
    for (int32_t l = 0; l < ck->n_layers; l++) {
        s_field(v, ck->weight[l], (size_t)ck->sizes[l + 1] * (size_t)ck->sizes[l] * 4,
                "/weights/layer_%d/weight", (int)l);
        s_field(v, ck->bias[l], (size_t)ck->sizes[l + 1] * 4, "/weights/layer_%d/bias", (int)l);
    }
    s_field(v, ck->obs_mean, (size_t)ck->sizes[0] * 4, "/normalization/obs_mean");
    s_field(v, ck->obs_std, (size_t)ck->sizes[0] * 4, "/normalization/obs_std");
    s_field(v, &ck->n_heads, 4, "n_heads");
    s_field(v, &ck->n_deltas, 4, "n_deltas");
    s_field(v, ck->deltas, (size_t)ck->n_deltas * 4, "deltas");
    s_field(v, &ck->n_placements, 4, "n_placements");
    s_field(v, &ck->n_actions, 4, "n_actions");
    s_fields(v, ck->feature_names, "feature_names");
    s_fields(v, ck->data_fingerprint, "data_fingerprint");
    s_field(v, &ck->steps, 8, "steps");
    s_field(v, &ck->seed, 8, "seed");
    s_fields(v, ck->scenario_name, "scenario_name");
    s_field(v, &ck->eval_cost, 8, "eval_cost");   /* the bits: NaN payloads too */
    s_field(v, &ck->eval_cost_vs_oracle, 8, "eval_cost_vs_oracle");
    s_field(v, &ck->eval_slo_violation_pct, 8, "eval_slo_violation_pct");
    s_field(v, &ck->eval_score, 8, "eval_score");
    s_field(v, &ck->eval_step, 8, "eval_step");
    s_fields(v, ck->created, "created");
    s_field(v, &st->n_scalars, 4, "/train_state scalars");
    for (int32_t i = 0; i < st->n_scalars; i++) {
        s_fields(v, st->scalars[i].name, "/train_state scalar name");
        s_field(v, &st->scalars[i].value, 8, "/train_state attribute %s", st->scalars[i].name);
    }
    s_field(v, &st->n_tensors, 4, "/train_state tensors");
    for (int32_t i = 0; i < st->n_tensors; i++) {
        const struct rls_checkpoint_tensor *t = &st->tensors[i];
        size_t n = (size_t)t->dims[0] * (size_t)(t->rank == 2 ? t->dims[1] : 1);
        s_fields(v, t->name, "/train_state dataset name");
        s_field(v, &t->rank, 4, "/train_state/%s rank", t->name);
        s_field(v, t->dims, (size_t)t->rank * 8, "/train_state/%s dims", t->name);
        s_field(v, t->data, n * 4, "/train_state/%s", t->name);
    }
}

/* Loads the checkpoint and its /train_state into a view: 0, or -1 with the
 * refusal in me. */
static int s_ck_load_view(const char *path, struct s_view *v, struct rls_err *me)
{
    struct rls_checkpoint *ck = NULL;
    struct rls_checkpoint_state *st = NULL;
    if (rls_checkpoint_load(path, &ck, me) != RLS_OK)
        return -1;
    if (rls_checkpoint_load_state(path, &st, me) != RLS_OK) {
        rls_checkpoint_destroy(&ck);
        return -1;
    }
    if (!st) {   /* the mutant lost its state: compared as empty */
        struct rls_err e = {0};
        st = rls_checkpoint_state_new(&e);
        assert_non_null(st);
    }
    s_ck_view(ck, st, v);
    rls_checkpoint_destroy(&ck);
    rls_checkpoint_state_destroy(&st);
    return 0;
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
    struct rls_checkpoint *ck = rls_checkpoint_new(2, sizes, &e);
    assert_non_null(ck);
    for (int32_t l = 0; l < 2; l++)
        for (int32_t k = 0; k < sizes[l + 1] * sizes[l]; k++)
            ck->weight[l][k] = (float)((k * 37 + l) % 101) * 0.01f - 0.5f;
    snprintf(ck->algorithm, sizeof ck->algorithm, "bc");
    snprintf(ck->scenario_name, sizeof ck->scenario_name, "mutation");
    ck->steps = 1234;
    ck->seed = 99;
    /* a small training state as the trainer writes one: tensors and scalars */
    struct rls_checkpoint_state *st = rls_checkpoint_state_new(&e);
    assert_non_null(st);
    float *w = rls_checkpoint_state_add(st, "pi.layer_0.weight", 2, (int64_t[]){4, 5}, &e);
    float *m = rls_checkpoint_state_add(st, "adam_pi.layer_0.weight.exp_avg", 1, (int64_t[]){7}, &e);
    assert_non_null(w);
    assert_non_null(m);
    for (int k = 0; k < 20; k++)
        w[k] = 0.125f * (float)k - 1.0f;
    for (int k = 0; k < 7; k++)
        m[k] = 1e-3f * (float)(k + 1);
    assert_int_equal(rls_checkpoint_state_set_u64(st, "step", 1234, &e), RLS_OK);
    assert_int_equal(rls_checkpoint_state_set_u64(st, "rng", 0x0123456789ABCDEFULL, &e), RLS_OK);
    assert_int_equal(rls_checkpoint_save_with_state(ck, st, orig, &e), RLS_OK);
    struct s_view ref = {0};
    assert_int_equal(s_ck_load_view(orig, &ref, &e), 0);
    size_t len;
    unsigned char *b = s_slurp(orig, &len);
    int n = s_mutants(), refused = 0, same = 0, changed = 0;
    double t0 = s_now();
    for (int i = 0; i < n; i++) {
        size_t at = (size_t)(s_next() % len);
        unsigned char old = b[at];
        b[at] ^= (unsigned char)(1 + s_next() % 255);
        s_spit(mut, b, len);
        b[at] = old;
        struct rls_err me = {0};
        struct s_view *v = calloc(1, sizeof *v);
        assert_non_null(v);
        if (s_ck_load_view(mut, v, &me) != 0) {
            refused++;
            s_assert_one_line(&me, "mut.h5");
        } else {
            const char *diff = s_view_diff(&ref, v);
            if (!diff) {
                same++;
            } else {
                changed++;
                print_message("checkpoint mutant at offset %zu: accepted with changed data (%s)\n", at, diff);
            }
        }
        free(v->buf);
        free(v);
    }
    print_message("checkpoint: %d mutants of %zu bytes (with /train_state): %d refused, %d read back identical, "
                  "%d accepted with changed data (%.1f s)\n", n, len, refused, same, changed, s_now() - t0);
    assert_int_equal(changed, 0);
    if (n >= 50)
        assert_true(refused > 0);   /* the mutation reaches what the loader checks */
    free(ref.buf);
    free(b);
    rls_checkpoint_state_destroy(&st);
    rls_checkpoint_destroy(&ck);
    unlink(mut);
    unlink(orig);
    rmdir(dir);
}

/* Edits that keep every HDF5-level checksum valid (h5py rewrites the chunk
 * and its Fletcher-32) but change what the loader reads are refused by the
 * project's own digests, naming them; so is a checksum attribute missing. */
static void checkpoint_edited_behind_its_checksums_is_refused(void **state)
{
    (void)state;
    if (system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0)
        skip();   /* reported as SKIPPED by cmocka */
    static const struct {
        const char *edit, *msg;
        int state;   /* 1: refused by rls_checkpoint_load_state (RLS_ERR_IO unless said), 0: by
                        rls_checkpoint_load (RLS_ERR_PARSE), 2: by load_state, RLS_ERR_PARSE */
    } cases[] = {
        {"f['weights/layer_1/weight'][3, 2] = 0.25", "datasets' checksum mismatch", 0},
        {"f['normalization/obs_std'][0] = 2.0", "datasets' checksum mismatch", 0},
        {"del f.attrs['data_fnv1a64']", "checksum attribute 'data_fnv1a64' is missing", 0},
        {"f.attrs['steps'] = numpy.int64(1235)", "attributes' checksum mismatch", 0},
        {"f['train_state'].attrs['rng'] = numpy.uint64(8)", "'/train_state' checksum mismatch", 1},
        {"f['train_state/m'][1] = 0.5", "'/train_state' checksum mismatch", 1},
        {"del f.attrs['train_state_fnv1a64']", "'train_state_fnv1a64' is missing", 1},
        {"del f['train_state']", "'/train_state' is missing while", 1},
        /* a shape claiming 16 GB in a small file: refused before allocating */
        {"del f['train_state/m']; f.create_dataset('train_state/m', shape=(4000000000,), dtype='<f4', "
         "chunks=(1000,), fletcher32=True)", "'/train_state/m' claims 4000000000 values, more than", 2},
    };
    char dir[] = "/tmp/rls_ck_edit_XXXXXX", path[256], cmd[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ck.h5", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rls_err e = {0};
        int32_t sizes[3] = {25, 4, 18};
        struct rls_checkpoint *ck = rls_checkpoint_new(2, sizes, &e), *back = NULL;
        struct rls_checkpoint_state *st = rls_checkpoint_state_new(&e), *sback = NULL;
        assert_non_null(ck);
        assert_non_null(st);
        float *m = rls_checkpoint_state_add(st, "m", 1, (int64_t[]){3}, &e);
        assert_non_null(m);
        m[1] = 1.5f;
        assert_int_equal(rls_checkpoint_state_set_u64(st, "rng", 7, &e), RLS_OK);
        ck->weight[1][14] = 0.5f;
        assert_int_equal(rls_checkpoint_save_with_state(ck, st, path, &e), RLS_OK);
        assert_int_equal(rls_checkpoint_load(path, &back, &e), RLS_OK);
        assert_int_equal(rls_checkpoint_load_state(path, &sback, &e), RLS_OK);
        assert_non_null(sback);
        rls_checkpoint_destroy(&back);
        rls_checkpoint_state_destroy(&sback);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import h5py, numpy; f = h5py.File('%s', 'r+'); %s; "
                 "f.close()\"", path, cases[i].edit);
        assert_int_equal(system(cmd), 0);
        memset(&e, 0, sizeof e);
        if (cases[i].state) {
            assert_int_equal(rls_checkpoint_load(path, &back, &e), RLS_OK);   /* the policy is intact */
            rls_checkpoint_destroy(&back);
            assert_int_equal(rls_checkpoint_load_state(path, &sback, &e), cases[i].state == 2 ? RLS_ERR_PARSE
                                                                                              : RLS_ERR_IO);
            assert_null(sback);
        } else {
            assert_int_equal(rls_checkpoint_load(path, &back, &e), RLS_ERR_PARSE);
            assert_null(back);
        }
        if (!strstr(e.msg, cases[i].msg))
            print_error("edit `%s`: message '%s' lacks '%s'\n", cases[i].edit, e.msg, cases[i].msg);
        assert_non_null(strstr(e.msg, cases[i].msg));
        s_assert_one_line(&e, "ck.h5");
        rls_checkpoint_state_destroy(&st);
        rls_checkpoint_destroy(&ck);
    }
    unlink(path);
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
        cmocka_unit_test(checkpoint_edited_behind_its_checksums_is_refused),
    };
    int rc = cmocka_run_group_tests_name("bounded", tests, NULL, NULL);
    if (!s_have_crashers()) {
        printf("SKIPPED: %s not found (the crash reproducers)\n", RLS_CRASHERS_DIR);
        return rc ? rc : 77;
    }
    return rc + cmocka_run_group_tests_name("crashers", with_crashers, NULL, NULL);
}
