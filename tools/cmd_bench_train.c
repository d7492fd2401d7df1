/* cmd_bench_train.c - `rlsched bench train`: the trainer's performance
 * figures, as {"name","value","unit","baseline_name","baseline_value",
 * "ratio"} objects (one per line with --json, built by bench_json.h: valid
 * JSON, null for a baseline that could not be measured; a table otherwise).
 * Both sides of every figure are measured in the same run:
 *   - discrete-CQL gradient updates per second with the default network
 *     (25 -> 256 -> 256 -> 18) at batch 32 and 256, measured through
 *     rls_train_run (sampling from the replay reader included), against
 *     tools/bench/train_ref.py (the same update in Python PyTorch) run in the
 *     same process tree on one thread (/usr/bin/python3); five alternating
 *     rounds, the median of each side;
 *   - the replay reader's sampled transitions per second from a file larger
 *     than its cache (chunk-wise mode), against the same file in RAM.
 * The data is a synthetic replay file written to a temporary directory.
 * rls_bench_train is called by `rlsched bench train` (tools/cmd_bench.c).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../env/status.h"

int rls_bench_train(int argc, char **argv);

#ifndef RLS_WITH_TORCH

int rls_bench_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched bench train: this rlsched was built without libtorch (install libtorch-dev and rebuild)\n");
    return 1;
}

#else

#include <jansson.h>

#include "../env/env.h"
#include "../replay/replay.h"
#include "bench_json.h"
#include "../trainer/train.h"

#define S_PYTHON "/usr/bin/python3"
#define S_REF_SCRIPT "/tools/bench/train_ref.py"
#define S_ROUNDS 5   /* alternating trainer / PyTorch rounds per batch size */

struct s_figure {
    char name[96];
    double value;
    const char *unit;
    char baseline_name[96];
    double baseline_value;
};

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A synthetic replay file: S services, random features, random allowed actions. */
static int s_write_data(const char *path, int32_t episodes, int32_t steps, int32_t services,
                        struct rls_err *err)
{
    struct rls_replay_meta meta;
    const int32_t F = RLS_ENV_N_FEATURES, A = 18;
    int32_t deltas[9] = {-8, -4, -2, -1, 0, 1, 2, 4, 8};
    float *obs = malloc(sizeof(float) * (size_t)(services * F)), *rew = malloc(sizeof(float) * (size_t)services);
    int32_t *act = malloc(sizeof(int32_t) * (size_t)services);
    uint8_t *mask = malloc((size_t)(services * A));
    uint64_t x = 42;
    int rc = RLS_OK;
    struct rls_replay_writer *w = NULL;

    memset(&meta, 0, sizeof meta);
    meta.n_services = services;
    meta.n_features = F;
    meta.n_deltas = 9;
    memcpy(meta.deltas, deltas, sizeof deltas);
    meta.n_placements = 2;
    meta.n_actions = A;
    snprintf(meta.scenario_name, sizeof meta.scenario_name, "bench");
    snprintf(meta.behavior, sizeof meta.behavior, "random");
    if (!obs || !rew || !act || !mask) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "bench train: out of memory");
        goto done;
    }
    if (!(w = rls_replay_writer_open(path, &meta, err))) {
        rc = err->status;
        goto done;
    }
    for (int32_t e = 0; e < episodes && rc == RLS_OK; e++) {
        rc = rls_replay_writer_begin_episode(w, (uint64_t)e, "random");
        for (int32_t t = 0; t <= steps && rc == RLS_OK; t++) {
            for (int32_t i = 0; i < services * F; i++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                obs[i] = (float)((double)(x >> 11) / 9007199254740992.0);
            }
            for (int32_t s = 0; s < services; s++) {
                act[s] = (int32_t)((x >> (s + 3)) % (uint64_t)A);
                rew[s] = -obs[s * F];
                for (int32_t a = 0; a < A; a++)
                    mask[s * A + a] = a == act[s] || (a + s + t) % 5 != 0;
            }
            rc = t < steps ? rls_replay_writer_add_step(w, obs, act, 0.0, rew, mask, 0, t == steps - 1)
                           : rls_replay_writer_end_episode(w, obs, mask);
        }
    }
    if (rc != RLS_OK)
        rls_err_set(err, rc, "%s: %s", path, rls_replay_writer_errmsg(w));
    if (rls_replay_writer_close(&w, rc == RLS_OK ? err : NULL) != RLS_OK && rc == RLS_OK)
        rc = err->status;
done:
    free(obs);
    free(rew);
    free(act);
    free(mask);
    return rc;
}

/* Updates/s of the Python reference (the "updates_per_s" member of the JSON
 * object it prints last), or NAN when it failed or printed none. */
static double s_python_ref(const char *data, int32_t batch, int64_t steps)
{
    char cmd[2048], line[512];
    double v = NAN;
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 %s %s%s --data '%s' --batch %d --steps %" PRId64
             " 2>/dev/null",
             S_PYTHON, RLS_SOURCE_DIR, S_REF_SCRIPT, data, batch, steps);
    FILE *f = popen(cmd, "r");
    if (!f)
        return NAN;
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *ups = json_object_get(o, "updates_per_s");
        if (json_is_number(ups))
            v = json_number_value(ups);
        json_decref(o);
    }
    if (pclose(f) != 0)
        return NAN;
    return v;
}

static int s_trainer_ups(const char *data, const char *out, int32_t batch, int64_t steps, double *ups,
                         char *blas, size_t blas_len, struct rls_err *err)
{
    struct rls_train_params p = rls_train_default_params();
    struct rls_train_result r;
    int rc;
    p.data_path = data;
    p.out_path = out;
    p.algo = "discrete-cql";
    p.batch = batch;
    p.steps = steps;
    rc = rls_train_run(&p, &r, err);
    *ups = r.updates_per_s;
    snprintf(blas, blas_len, "%s", r.blas);
    return rc;
}

/* Sampled transitions/s of the reader with this cache (0 = in RAM). */
static int s_reader_tps(const char *data, int64_t cache, double min_s, double *tps, int64_t *loads,
                        struct rls_err *err)
{
    struct rls_replay_reader_params rp = rls_replay_reader_default_params();
    struct rls_replay_batch b;
    struct rls_replay_reader *r = NULL;
    uint64_t rng = 7;
    int64_t n = 0, hits = 0, cached = 0;
    int rc = RLS_OK;
    memset(&b, 0, sizeof b);
    rp.cache_bytes = cache;
    if (!(r = rls_replay_reader_open(data, &rp, err)))
        return err->status;
    const struct rls_replay_meta *m = rls_replay_reader_meta(r);
    if ((rc = rls_replay_batch_alloc(&b, 256, m->n_features, m->n_actions)) != RLS_OK)
        goto done;
    double t0 = s_now(), t = t0;
    while (t - t0 < min_s) {
        if ((rc = rls_replay_reader_sample(r, &rng, &b)) != RLS_OK) {
            rls_err_set(err, rc, "%s: %s", data, rls_replay_reader_errmsg(r));
            goto done;
        }
        n += b.n;
        t = s_now();
    }
    *tps = (double)n / (t - t0);
    rls_replay_reader_cache_stats(r, loads, &hits, &cached);
done:
    rls_replay_batch_free(&b);
    rls_replay_reader_close(&r);
    return rc;
}

/* The median of n values (NaN when any is NaN: a failed reference run). */
static double s_median(double *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (isnan(v[i]))
            return NAN;
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void s_print(const struct s_figure *f, int json)
{
    double ratio = f->baseline_value > 0 ? f->value / f->baseline_value : NAN;
    if (json) {
        if (rls_bench_json_print(f->name, f->value, f->unit, f->baseline_name, f->baseline_value, ratio, NULL,
                                 NAN) != 0)
            fprintf(stderr, "rlsched bench train: out of memory printing %s\n", f->name);
    } else
        printf("%-40s %12.1f %-14s  vs %-36s %12.1f  x%.2f\n", f->name, f->value, f->unit, f->baseline_name,
               f->baseline_value, ratio);
}

int rls_bench_train(int argc, char **argv)
{
    int json = 0, quick = 0, rc = 1;
    char dir[] = "/tmp/rlsched_bench_train_XXXXXX";
    char data[256], big[256], out[256], blas[512] = "?", cmd[512];
    struct rls_err err = {0, ""};
    struct s_figure fig[3];
    int n_fig = 0;
    struct stat stbuf;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: rlsched bench train [--json] [--quick]\n");
            return 0;
        } else {
            fprintf(stderr, "rlsched bench train: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!mkdtemp(dir)) {
        fprintf(stderr, "rlsched bench train: cannot create a temporary directory\n");
        return 1;
    }
    snprintf(data, sizeof data, "%s/data.h5", dir);
    snprintf(big, sizeof big, "%s/big.h5", dir);
    snprintf(out, sizeof out, "%s/policy.h5", dir);
    if (s_write_data(data, 10, 200, 8, &err) != RLS_OK ||
        s_write_data(big, quick ? 20 : 100, 200, 16, &err) != RLS_OK) {
        fprintf(stderr, "rlsched bench train: %s\n", err.msg);
        goto done;
    }
    /* trainer vs PyTorch, batch 32 and 256: S_ROUNDS alternating rounds, the
       median of each side (on a shared virtual machine one-shot figures
       drifted by 1.5x between consecutive runs) */
    int32_t batches[2] = {32, 256};
    int64_t steps[2] = {quick ? 100 : 3000, quick ? 50 : 1000};
    int rounds = quick ? 1 : S_ROUNDS;
    for (int k = 0; k < 2; k++) {
        struct s_figure *f = &fig[n_fig++];
        double ours[S_ROUNDS], ref[S_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            if (s_trainer_ups(data, out, batches[k], steps[k], &ours[r], blas, sizeof blas, &err) != RLS_OK) {
                fprintf(stderr, "rlsched bench train: %s\n", err.msg);
                goto done;
            }
            ref[r] = s_python_ref(data, batches[k], steps[k]);
        }
        fprintf(stderr, "bench train: batch %d, %d rounds (trainer / PyTorch updates/s):", batches[k], rounds);
        for (int r = 0; r < rounds; r++)
            fprintf(stderr, " %.0f / %.0f", ours[r], ref[r]);
        fprintf(stderr, "\n");
        f->value = s_median(ours, rounds);
        snprintf(f->name, sizeof f->name, "train_cql_updates_per_s_batch%d", batches[k]);
        f->unit = "updates/s";
        snprintf(f->baseline_name, sizeof f->baseline_name, "pytorch_train_ref_updates_per_s_batch%d", batches[k]);
        f->baseline_value = s_median(ref, rounds);
    }
    /* the replay reader: chunk-wise from a file 4x its cache, vs in RAM */
    {
        struct s_figure *f = &fig[n_fig++];
        int64_t cache = 0, loads = 0, ram_loads = 0;
        double ram = NAN;
        if (stat(big, &stbuf) != 0) {
            fprintf(stderr, "rlsched bench train: %s: cannot stat\n", big);
            goto done;
        }
        cache = (int64_t)stbuf.st_size / 4;
        if (s_reader_tps(big, cache, quick ? 0.2 : 1.0, &f->value, &loads, &err) != RLS_OK ||
            s_reader_tps(big, 0, quick ? 0.2 : 1.0, &ram, &ram_loads, &err) != RLS_OK) {
            fprintf(stderr, "rlsched bench train: %s\n", err.msg);
            goto done;
        }
        /* the file is 4x the reader's cache: chunk-wise reads, not RAM */
        snprintf(f->name, sizeof f->name, "replay_sample_transitions_per_s_file_4x_cache");
        f->unit = "transitions/s";
        snprintf(f->baseline_name, sizeof f->baseline_name, "replay_sample_transitions_per_s_in_ram");
        f->baseline_value = ram;
    }
    for (int i = 0; i < n_fig; i++)
        s_print(&fig[i], json);
    if (!json)
        printf("blas: %s\n", blas);
    else
        fprintf(stderr, "blas: %s\n", blas);
    rc = 0;
done:
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "rlsched bench train: could not remove %s\n", dir);
    return rc;
}

#endif
