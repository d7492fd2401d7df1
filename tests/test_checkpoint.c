/* test_checkpoint.c - the versioned HDF5 checkpoint (policies/checkpoint.h):
 * round trip, atomic save (an unwritable path, an invalid checkpoint and a
 * SIGKILLed writer never leave a partial file under the final name), every
 * refusal of load with the file and the attribute/dataset named; and the
 * checkpoint as a policy (policies/learned.h): a hand-built network whose
 * last bias makes a known action win gives that decision, masked actions are
 * never picked, the registry builds it from "file.h5[@placement]", and an
 * evaluation of 200 steps on the default scenario runs with finite metrics.
 */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "env/env.h"
#include "env/scenario.h"
#include "eval/eval.h"
#include "policies/checkpoint.h"
#include "policies/learned.h"
#include "policies/policy.h"

/* ---------------------------------------------------------------------------
 * Helpers. */

static char s_dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof(s_dir), "/tmp/rls_test_ckpt_XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* the tests' own edits may fail quietly */
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", s_dir, name);
}

/* An RLS_ENV_N_FEATURES -> h -> h -> 18 network with deterministic pseudo-random weights. */
static struct rls_checkpoint *s_random_ck(int32_t h, uint32_t seed)
{
    int32_t sizes[4] = {RLS_ENV_N_FEATURES, h, h, 18};
    struct rls_err err;
    struct rls_checkpoint *ck = rls_checkpoint_new(3, sizes, &err);
    uint32_t x = seed;
    assert_non_null(ck);
    for (int32_t l = 0; l < 3; l++) {
        for (int32_t k = 0; k < sizes[l] * sizes[l + 1]; k++) {
            x = x * 1664525u + 1013904223u;
            ck->weight[l][k] = ((float)(x >> 8) / 16777216.0f - 0.5f) * 0.4f;
        }
        for (int32_t k = 0; k < sizes[l + 1]; k++)
            ck->bias[l][k] = 0.01f * (float)(k % 7);
    }
    for (int32_t i = 0; i < RLS_ENV_N_FEATURES; i++) {
        ck->obs_mean[i] = 0.1f * (float)(i % 5);
        ck->obs_std[i] = 0.5f + 0.05f * (float)i;
    }
    snprintf(ck->algorithm, sizeof(ck->algorithm), "discrete-cql");
    snprintf(ck->data_fingerprint, sizeof(ck->data_fingerprint), "fnv1a64:0123456789abcdef");
    snprintf(ck->scenario_name, sizeof(ck->scenario_name), "default");
    ck->steps = 12345;
    ck->seed = 0xfeedfacecafebeefULL;
    ck->eval_cost = 1.25;
    ck->eval_cost_vs_oracle = 1.1;
    ck->eval_slo_violation_pct = 0.5;
    ck->eval_score = -3.5;
    ck->eval_step = 12000;
    return ck;
}

static void s_save_ok(const struct rls_checkpoint *ck, const char *path)
{
    struct rls_err err;
    rls_err_clear(&err);
    if (rls_checkpoint_save(ck, path, &err) != RLS_OK)
        fail_msg("save %s: %s", path, err.msg);
}

/* Load must fail with `status` and a message naming the file and `what`. */
static void s_expect_refused(const char *path, int status, const char *what)
{
    struct rls_err err;
    struct rls_checkpoint *ck = NULL;
    int rc;
    rls_err_clear(&err);
    rc = rls_checkpoint_load(path, &ck, &err);
    assert_null(ck);
    if (rc != status || strstr(err.msg, path) == NULL || (what && strstr(err.msg, what) == NULL))
        fail_msg("expected status %d naming '%s': got %d '%s'", status, what ? what : "", rc,
                 err.msg);
}

static int s_count_tmp_files(void)
{
    char cmd[400];
    FILE *p = NULL;
    int n = -1;
    snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '\\.tmp\\.'", s_dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void s_attr_del_str(hid_t f, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a;
    H5Adelete(f, name);
    H5Tset_size(t, strlen(value) + 1);
    a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, t, value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void s_attr_set_i32(hid_t f, const char *name, int32_t v)
{
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_INT32, &v) >= 0);
    H5Aclose(a);
}

/* ---------------------------------------------------------------------------
 * Format. */

static void test_save_then_load_round_trips_every_field(void **state)
{
    char path[300];
    struct rls_err err;
    struct rls_checkpoint *ck = s_random_ck(32, 1), *back = NULL;
    (void)state;
    s_path(path, sizeof(path), "rt.h5");
    s_save_ok(ck, path);
    rls_err_clear(&err);
    assert_int_equal(rls_checkpoint_load(path, &back, &err), RLS_OK);
    assert_int_equal(back->version, RLS_CHECKPOINT_VERSION);
    assert_string_equal(back->algorithm, "discrete-cql");
    assert_string_equal(back->activation, "relu");
    assert_int_equal(back->n_layers, 3);
    assert_memory_equal(back->sizes, ck->sizes, 4 * sizeof(int32_t));
    for (int32_t l = 0; l < 3; l++) {
        assert_memory_equal(back->weight[l], ck->weight[l],
                            (size_t)ck->sizes[l] * (size_t)ck->sizes[l + 1] * sizeof(float));
        assert_memory_equal(back->bias[l], ck->bias[l], (size_t)ck->sizes[l + 1] * sizeof(float));
    }
    assert_memory_equal(back->obs_mean, ck->obs_mean, RLS_ENV_N_FEATURES * sizeof(float));
    assert_memory_equal(back->obs_std, ck->obs_std, RLS_ENV_N_FEATURES * sizeof(float));
    assert_int_equal(back->n_heads, 1);
    assert_int_equal(back->n_deltas, 9);
    assert_memory_equal(back->deltas, ck->deltas, 9 * sizeof(int32_t));
    assert_int_equal(back->n_placements, 2);
    assert_int_equal(back->n_actions, 18);
    assert_string_equal(back->feature_names, rls_checkpoint_build_feature_names());
    assert_string_equal(back->data_fingerprint, ck->data_fingerprint);
    assert_true(back->steps == 12345);
    assert_true(back->seed == 0xfeedfacecafebeefULL);
    assert_string_equal(back->scenario_name, "default");
    assert_true(back->eval_cost == 1.25 && back->eval_cost_vs_oracle == 1.1);
    assert_true(back->eval_slo_violation_pct == 0.5 && back->eval_score == -3.5);
    assert_true(back->eval_step == 12000);
    assert_int_equal((int)strlen(back->created), 20);   /* 2024-01-02T03:04:05Z */
    assert_int_equal(back->created[10], 'T');
    assert_int_equal(rls_checkpoint_macs(back), RLS_ENV_N_FEATURES * 32 + 32 * 32 + 32 * 18);
    assert_int_equal(s_count_tmp_files(), 0);
    rls_checkpoint_destroy(&back);
    rls_checkpoint_destroy(&ck);
    assert_null(ck);
}

static void test_new_has_not_evaluated_defaults(void **state)
{
    int32_t sizes[2] = {RLS_ENV_N_FEATURES, 18};
    struct rls_err err;
    struct rls_checkpoint *ck = rls_checkpoint_new(1, sizes, &err);
    (void)state;
    assert_non_null(ck);
    assert_true(isnan(ck->eval_score) && ck->eval_step == -1);
    assert_true(ck->obs_std[0] == 1.0f && ck->obs_mean[0] == 0.0f);
    rls_checkpoint_destroy(&ck);
    sizes[1] = 0;
    assert_null(rls_checkpoint_new(1, sizes, &err));
    assert_true(strstr(err.msg, "sizes[1]") != NULL);
    assert_null(rls_checkpoint_new(9, sizes, &err));
    assert_true(strstr(err.msg, "n_layers") != NULL);
}

static void test_unwritable_path_gives_clear_error_and_no_file(void **state)
{
    char path[300];
    struct rls_err err;
    struct rls_checkpoint *ck = s_random_ck(8, 2);
    struct stat st;
    (void)state;
    s_path(path, sizeof(path), "no/such/dir/policy.h5");
    rls_err_clear(&err);
    assert_int_equal(rls_checkpoint_save(ck, path, &err), RLS_ERR_IO);
    assert_true(strstr(err.msg, path) != NULL);
    assert_true(strstr(err.msg, "cannot create") != NULL);
    assert_int_not_equal(stat(path, &st), 0);
    rls_checkpoint_destroy(&ck);
}

static void test_invalid_checkpoint_is_not_saved_and_old_file_survives(void **state)
{
    char path[300];
    struct rls_err err;
    struct rls_checkpoint *ck = s_random_ck(8, 3), *back = NULL;
    (void)state;
    s_path(path, sizeof(path), "keep.h5");
    s_save_ok(ck, path);
    ck->weight[1][5] = NAN;
    rls_err_clear(&err);
    assert_int_equal(rls_checkpoint_save(ck, path, &err), RLS_ERR_RANGE);
    assert_true(strstr(err.msg, "/weights/layer_1/weight") != NULL);
    assert_int_equal(rls_checkpoint_load(path, &back, &err), RLS_OK);   /* old one intact */
    assert_true(isfinite(back->weight[1][5]));
    assert_int_equal(s_count_tmp_files(), 0);
    rls_checkpoint_destroy(&back);
    rls_checkpoint_destroy(&ck);
}

static void test_sigkilled_writer_never_leaves_a_partial_checkpoint(void **state)
{
    char path[300];
    struct rls_checkpoint *ck = s_random_ck(512, 4);   /* ~1.2 MB: the kill lands mid-write */
    (void)state;
    s_path(path, sizeof(path), "crash.h5");
    for (int round = 0; round < 6; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct rls_err err;
            for (;;)
                if (rls_checkpoint_save(ck, path, &err) != RLS_OK)
                    _exit(3);
        }
        struct timespec ts = {0, 20000000L + 13000000L * round};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int wst = 0;
        waitpid(pid, &wst, 0);
        assert_true(WIFSIGNALED(wst));
        /* the final name holds either nothing yet or a complete checkpoint */
        struct stat st;
        if (stat(path, &st) == 0) {
            struct rls_err err;
            struct rls_checkpoint *back = NULL;
            rls_err_clear(&err);
            if (rls_checkpoint_load(path, &back, &err) != RLS_OK)
                fail_msg("round %d: partial checkpoint under the final name: %s", round, err.msg);
            assert_memory_equal(back->weight[1], ck->weight[1], 512 * 512 * sizeof(float));
            rls_checkpoint_destroy(&back);
        }
    }
    rls_checkpoint_destroy(&ck);
}

/* Saves a good checkpoint to name, applies edit (may be NULL) through HDF5. */
static void s_make_edited(char *path, size_t n, const char *name, void (*edit)(hid_t f))
{
    struct rls_checkpoint *ck = s_random_ck(8, 5);
    s_path(path, n, name);
    s_save_ok(ck, path);
    rls_checkpoint_destroy(&ck);
    if (edit) {
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        assert_true(f >= 0);
        edit(f);
        assert_true(H5Fclose(f) >= 0);
    }
}

static void s_edit_format(hid_t f)
{
    s_attr_del_str(f, "format", "minari-dataset");
}
static void s_edit_version(hid_t f)
{
    s_attr_set_i32(f, "format_version", 2);
}
static void s_edit_missing_bias(hid_t f)
{
    assert_true(H5Ldelete(f, "/weights/layer_2/bias", H5P_DEFAULT) >= 0);
}
static void s_edit_missing_std(hid_t f)
{
    assert_true(H5Ldelete(f, "/normalization/obs_std", H5P_DEFAULT) >= 0);
}
static void s_edit_shape(hid_t f)
{
    float w[8 * 7];
    hsize_t d[2] = {8, 7};
    hid_t sp = H5Screate_simple(2, d, NULL), ds;
    memset(w, 0, sizeof(w));
    assert_true(H5Ldelete(f, "/weights/layer_1/weight", H5P_DEFAULT) >= 0);
    ds = H5Dcreate2(f, "/weights/layer_1/weight", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                    H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w);
    H5Dclose(ds);
    H5Sclose(sp);
}
static void s_edit_features(hid_t f)
{
    s_attr_del_str(f, "feature_names", "load,ready,desired");
}
static void s_edit_n_actions(hid_t f)
{
    s_attr_set_i32(f, "n_actions", 17);
}
static void s_edit_nan(hid_t f)
{
    float w[18 * 8];
    hid_t ds = H5Dopen2(f, "/weights/layer_2/weight", H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0);
    w[17] = INFINITY;
    assert_true(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0);
    H5Dclose(ds);
}
static void s_edit_missing_attr(hid_t f)
{
    assert_true(H5Adelete(f, "n_heads") >= 0);
}

static void test_load_refuses_other_format_and_version(void **state)
{
    char path[300];
    (void)state;
    s_make_edited(path, sizeof(path), "fmt.h5", s_edit_format);
    s_expect_refused(path, RLS_ERR_PARSE, "'format'");
    s_make_edited(path, sizeof(path), "ver.h5", s_edit_version);
    s_expect_refused(path, RLS_ERR_VERSION, "'format_version' is 2");
}

static void test_load_refuses_missing_datasets_and_attributes(void **state)
{
    char path[300];
    (void)state;
    s_make_edited(path, sizeof(path), "nobias.h5", s_edit_missing_bias);
    s_expect_refused(path, RLS_ERR_PARSE, "'/weights/layer_2/bias' is missing");
    s_make_edited(path, sizeof(path), "nostd.h5", s_edit_missing_std);
    s_expect_refused(path, RLS_ERR_PARSE, "'/normalization/obs_std' is missing");
    s_make_edited(path, sizeof(path), "noheads.h5", s_edit_missing_attr);
    s_expect_refused(path, RLS_ERR_PARSE, "attribute 'n_heads' is missing");
}

static void test_load_refuses_shapes_that_do_not_chain(void **state)
{
    char path[300];
    (void)state;
    s_make_edited(path, sizeof(path), "shape.h5", s_edit_shape);
    s_expect_refused(path, RLS_ERR_RANGE, "'/weights/layer_1/weight' has shape [8, 7]");
}

static void test_load_refuses_other_features_and_bad_action_space(void **state)
{
    char path[300];
    (void)state;
    s_make_edited(path, sizeof(path), "feat.h5", s_edit_features);
    s_expect_refused(path, RLS_ERR_INVALID, "'feature_names' differs");
    s_make_edited(path, sizeof(path), "act.h5", s_edit_n_actions);
    s_expect_refused(path, RLS_ERR_RANGE, "'n_actions' 17 != n_deltas 9 * n_placements 2");
}

static void test_load_refuses_nonfinite_weights(void **state)
{
    char path[300];
    (void)state;
    s_make_edited(path, sizeof(path), "nan.h5", s_edit_nan);
    s_expect_refused(path, RLS_ERR_RANGE, "'/weights/layer_2/weight' element 17 is inf");
}

static void s_truncate(const char *path, double frac)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, (off_t)((double)st.st_size * frac)), 0);
}

/* Flips 16 bytes of the file at offset off. */
static void s_flip(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    for (long k = off; k < off + 16; k++) {
        int c;
        fseek(f, k, SEEK_SET);
        c = fgetc(f);
        fseek(f, k, SEEK_SET);
        fputc(c ^ 0x5a, f);
    }
    fclose(f);
}

/* The file offset of the data of dataset `name` (one chunk). */
static long s_data_offset(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hsize_t coord[2] = {0, 0};
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    unsigned mask = 0;
    assert_true(f >= 0 && ds >= 0);
    assert_true(H5Dget_chunk_info_by_coord(ds, coord, &mask, &addr, &size) >= 0);
    assert_true(addr != HADDR_UNDEF && size >= 16);
    H5Dclose(ds);
    H5Fclose(f);
    return (long)addr;
}

static void test_load_refuses_truncated_corrupt_and_foreign_files(void **state)
{
    char path[300];
    struct rls_err err;
    struct rls_checkpoint *ck = NULL;
    FILE *f = NULL;
    (void)state;
    s_make_edited(path, sizeof(path), "trunc.h5", NULL);
    s_truncate(path, 0.6);
    s_expect_refused(path, RLS_ERR_IO, "truncated");

    s_make_edited(path, sizeof(path), "corrupt.h5", NULL);   /* bit rot in the weights */
    s_flip(path, s_data_offset(path, "/weights/layer_1/weight"));
    s_expect_refused(path, RLS_ERR_IO, "'/weights/layer_1/weight' cannot be read");

    s_make_edited(path, sizeof(path), "corrupt_meta.h5", NULL);   /* and in the metadata */
    s_flip(path, 64);
    rls_err_clear(&err);
    assert_int_not_equal(rls_checkpoint_load(path, &ck, &err), RLS_OK);
    assert_null(ck);
    assert_true(strstr(err.msg, path) != NULL);

    s_path(path, sizeof(path), "text.h5");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a checkpoint\n", f);
    fclose(f);
    s_expect_refused(path, RLS_ERR_IO, "not an HDF5 file");

    s_path(path, sizeof(path), "missing.h5");
    s_expect_refused(path, RLS_ERR_IO, "No such file");
}

/* ---------------------------------------------------------------------------
 * The optional training state, /train_state. */

/* A state of two tensors and two scalars, values from seed. */
static struct rls_checkpoint_state *s_state(uint32_t seed)
{
    struct rls_err err;
    struct rls_checkpoint_state *st = rls_checkpoint_state_new(&err);
    int64_t d2[2] = {3, 40}, d1 = 7;
    float *a = NULL, *b = NULL;
    uint32_t x = seed;
    assert_non_null(st);
    assert_non_null(a = rls_checkpoint_state_add(st, "q.layer_0.weight", 2, d2, &err));
    assert_non_null(b = rls_checkpoint_state_add(st, "adam_q.layer_0.bias.exp_avg_sq", 1, &d1, &err));
    for (int k = 0; k < 120; k++) {
        x = x * 1664525u + 1013904223u;
        a[k] = ((float)(x >> 8) / 16777216.0f - 0.5f) * 1e-3f;
    }
    for (int k = 0; k < 7; k++)
        b[k] = 1e-30f * (float)(k + 1);   /* tiny values survive bit for bit */
    assert_int_equal(rls_checkpoint_state_set_u64(st, "rng", 0xfedcba9876543210ULL, &err), RLS_OK);
    assert_int_equal(rls_checkpoint_state_set_u64(st, "step", 41, &err), RLS_OK);
    return st;
}

/* The state round-trips bit for bit beside the checkpoint; plain loads (the
 * policy, the agent) ignore it; a checkpoint without it has none; bad names
 * and values are refused before anything is written. */
static void test_train_state_round_trips_and_plain_load_ignores_it(void **state)
{
    char path[300], plain[300];
    struct rls_err err;
    struct rls_checkpoint *ck = s_random_ck(32, 3), *back = NULL;
    struct rls_checkpoint_state *st = s_state(9), *got = NULL;
    int64_t d2[2] = {3, 40}, d1 = 7, wrong[2] = {40, 3};
    uint64_t v = 0;
    (void)state;
    s_path(path, sizeof(path), "state.h5");
    rls_err_clear(&err);
    if (rls_checkpoint_save_with_state(ck, st, path, &err) != RLS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(rls_checkpoint_load(path, &back, &err), RLS_OK);
    assert_memory_equal(back->weight[1], ck->weight[1], 32 * 32 * sizeof(float));
    rls_checkpoint_destroy(&back);
    assert_int_equal(rls_checkpoint_load_state(path, &got, &err), RLS_OK);
    assert_non_null(got);
    assert_int_equal(got->n_tensors, 2);
    assert_int_equal(got->n_scalars, 2);
    const float *a = rls_checkpoint_state_tensor(got, "q.layer_0.weight", 2, d2, path, &err);
    const float *b = rls_checkpoint_state_tensor(got, "adam_q.layer_0.bias.exp_avg_sq", 1, &d1, path, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a, st->tensors[0].data, 120 * sizeof(float));
    assert_memory_equal(b, st->tensors[1].data, 7 * sizeof(float));
    assert_int_equal(rls_checkpoint_state_check_all_used(got, path, &err), RLS_ERR_PARSE);
    assert_non_null(strstr(err.msg, "'rng'"));   /* not looked up yet */
    assert_int_equal(rls_checkpoint_state_u64(got, "rng", &v, path, &err), RLS_OK);
    assert_true(v == 0xfedcba9876543210ULL);
    assert_int_equal(rls_checkpoint_state_u64(got, "step", &v, path, &err), RLS_OK);
    assert_true(v == 41);
    assert_int_equal(rls_checkpoint_state_check_all_used(got, path, &err), RLS_OK);
    /* lookups that do not fit name the file and the dataset */
    assert_null(rls_checkpoint_state_tensor(got, "q.layer_0.weight", 2, wrong, path, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "'/train_state/q.layer_0.weight' has shape [3, 40], expected [40, 3]"));
    assert_non_null(strstr(err.msg, path));
    assert_null(rls_checkpoint_state_tensor(got, "v.layer_0.weight", 2, d2, path, &err));
    assert_non_null(strstr(err.msg, "'/train_state/v.layer_0.weight' is missing"));
    assert_int_not_equal(rls_checkpoint_state_u64(got, "eval_seed", &v, path, &err), RLS_OK);
    assert_non_null(strstr(err.msg, "'eval_seed'"));
    rls_checkpoint_state_destroy(&got);

    /* a checkpoint saved without a state has none (RLS_OK, NULL) */
    s_path(plain, sizeof(plain), "plain.h5");
    s_save_ok(ck, plain);
    got = (struct rls_checkpoint_state *)1;
    assert_int_equal(rls_checkpoint_load_state(plain, &got, &err), RLS_OK);
    assert_null(got);

    /* names and values are checked before writing */
    assert_null(rls_checkpoint_state_add(st, "q/layer", 1, &d1, &err));
    assert_null(rls_checkpoint_state_add(st, "rng", 1, &d1, &err));
    assert_null(rls_checkpoint_state_add(st, "q.layer_0.weight", 1, &d1, &err));
    assert_int_equal(rls_checkpoint_state_set_u64(st, "state_version", 2, &err), RLS_ERR_INVALID);
    st->tensors[1].data[3] = NAN;
    s_path(path, sizeof(path), "state_nan.h5");
    assert_int_equal(rls_checkpoint_save_with_state(ck, st, path, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "'/train_state/adam_q.layer_0.bias.exp_avg_sq' element 3"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(s_count_tmp_files(), 0);
    rls_checkpoint_state_destroy(&st);
    rls_checkpoint_destroy(&ck);
}

/* Bit rot in a state dataset and a state of another version are refused by
 * load_state naming the file and the dataset; the policy still loads. */
static void test_train_state_refuses_corrupt_data_and_other_versions(void **state)
{
    char path[300];
    struct rls_err err;
    struct rls_checkpoint *ck = s_random_ck(16, 4), *back = NULL;
    struct rls_checkpoint_state *st = s_state(5), *got = NULL;
    hid_t f, g;
    (void)state;
    s_path(path, sizeof(path), "state_rot.h5");
    rls_err_clear(&err);
    assert_int_equal(rls_checkpoint_save_with_state(ck, st, path, &err), RLS_OK);
    s_flip(path, s_data_offset(path, "/train_state/q.layer_0.weight"));
    assert_int_equal(rls_checkpoint_load_state(path, &got, &err), RLS_ERR_IO);
    assert_null(got);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "'/train_state/q.layer_0.weight' cannot be read"));
    assert_int_equal(rls_checkpoint_load(path, &back, &err), RLS_OK);   /* ignores it */
    rls_checkpoint_destroy(&back);

    s_path(path, sizeof(path), "state_v2.h5");
    assert_int_equal(rls_checkpoint_save_with_state(ck, st, path, &err), RLS_OK);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    g = H5Gopen2(f, "/train_state", H5P_DEFAULT);
    assert_true(f >= 0 && g >= 0);
    s_attr_set_i32(g, "state_version", 2);
    H5Gclose(g);
    assert_true(H5Fclose(f) >= 0);
    assert_int_equal(rls_checkpoint_load_state(path, &got, &err), RLS_ERR_VERSION);
    assert_null(got);
    assert_non_null(strstr(err.msg, "'state_version'"));
    rls_checkpoint_state_destroy(&st);
    rls_checkpoint_destroy(&ck);
}

/* ---------------------------------------------------------------------------
 * The checkpoint as a policy. */

static int32_t s_didx(const struct rls_checkpoint *ck, int32_t delta)
{
    for (int32_t j = 0; j < ck->n_deltas; j++)
        if (ck->deltas[j] == delta)
            return j;
    fail_msg("delta %d missing", (int)delta);
    return -1;
}

/* One linear layer, zero weights: the outputs are the bias. */
static struct rls_checkpoint *s_bias_ck(void)
{
    int32_t sizes[2] = {RLS_ENV_N_FEATURES, 18};
    struct rls_err err;
    struct rls_checkpoint *ck = rls_checkpoint_new(1, sizes, &err);
    assert_non_null(ck);
    snprintf(ck->algorithm, sizeof(ck->algorithm), "bc");
    return ck;
}

static struct rls_scenario *s_small_scenario(int32_t n_svc, int32_t nodes, int32_t max_reps)
{
    struct rls_scenario *sc = rls_scenario_new(1, 1, n_svc);
    assert_non_null(sc);
    sc->pools[0].count = nodes;
    sc->horizon_steps = 50;
    for (int32_t i = 0; i < n_svc; i++) {
        sc->services[i].load.kind = RLS_LOAD_CONST;
        sc->services[i].load.peak_rps = 60;
        sc->services[i].initial_replicas = 2;
        sc->services[i].max_replicas = max_reps;
    }
    return sc;
}

/* Runs the first decision of policy p on a fresh simulator of sc. */
static void s_first_decision(struct rls_policy *p, const struct rls_scenario *sc, int32_t *desired,
                             uint8_t *placement)
{
    struct rls_err err;
    struct rls_sim *sim = rls_sim_new(sc, &err);
    struct rls_policy_input in;
    assert_non_null(sim);
    assert_int_equal(rls_sim_reset(sim, 1), RLS_OK);
    assert_int_equal(rls_policy_reset(p, rls_sim_scenario(sim)), RLS_OK);
    memset(&in, 0, sizeof(in));
    in.scenario = rls_sim_scenario(sim);
    in.step = 0;
    in.time_s = rls_sim_time_s(sim);
    in.services = rls_sim_services(sim);
    in.nodes = rls_sim_nodes(sim);
    in.n_nodes = rls_sim_n_nodes(sim);
    if (rls_policy_decide(p, &in, desired, placement) != RLS_OK)
        fail_msg("decide: %s", rls_policy_errmsg(p));
    rls_sim_destroy(&sim);
}

static void test_learned_picks_the_winning_action(void **state)
{
    struct rls_checkpoint *ck = s_bias_ck();
    struct rls_scenario *sc = s_small_scenario(3, 8, 10);
    struct rls_err err;
    struct rls_policy *p = NULL;
    int32_t desired[3];
    uint8_t placement[3];
    (void)state;
    ck->bias[0][s_didx(ck, 2) * 2 + 1] = 10.0f;   /* +2, binpack */
    ck->bias[0][s_didx(ck, -1) * 2 + 0] = 5.0f;   /* runner-up */
    p = rls_learned_from_checkpoint(ck, "hand", sc, &err);
    assert_non_null(p);
    assert_string_equal(rls_policy_kind(p), "learned");
    s_first_decision(p, sc, desired, placement);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(desired[i], 4);
        assert_int_equal(placement[i], RLS_PLACE_BINPACK);
    }
    rls_policy_destroy(&p);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

static void test_learned_never_picks_a_masked_action(void **state)
{
    struct rls_checkpoint *ck = s_bias_ck();
    struct rls_scenario *sc = s_small_scenario(2, 8, 5);   /* desired 2, max 5: +4, +8 masked */
    struct rls_err err;
    struct rls_policy *p = NULL;
    int32_t desired[2];
    uint8_t placement[2];
    (void)state;
    ck->bias[0][s_didx(ck, 8) * 2 + 0] = 100.0f;
    ck->bias[0][s_didx(ck, 4) * 2 + 1] = 90.0f;
    ck->bias[0][s_didx(ck, 2) * 2 + 0] = 50.0f;    /* best allowed */
    ck->bias[0][s_didx(ck, -8) * 2 + 0] = 80.0f;   /* below min: masked */
    p = rls_learned_from_checkpoint(ck, "masked", sc, &err);
    assert_non_null(p);
    s_first_decision(p, sc, desired, placement);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(desired[i], 4);
        assert_int_equal(placement[i], RLS_PLACE_SPREAD);
    }
    rls_policy_destroy(&p);
    rls_scenario_destroy(&sc);

    /* a full cluster: every scale-up is masked, the best remaining is the no-op */
    sc = s_small_scenario(2, 1, 40);
    sc->pools[0].cpu = 2.0;
    for (int i = 0; i < 2; i++)
        sc->services[i].cpu = 0.5;    /* 2 x 2 replicas x 0.5 = the node's 2 cores */
    ck->bias[0][s_didx(ck, 0) * 2 + 1] = 10.0f;
    p = rls_learned_from_checkpoint(ck, "full", sc, &err);
    assert_non_null(p);
    s_first_decision(p, sc, desired, placement);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(desired[i], 2);
        assert_int_equal(placement[i], RLS_PLACE_BINPACK);
    }
    rls_policy_destroy(&p);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

static void test_registry_builds_a_checkpoint_from_its_path(void **state)
{
    char path[300], spec[320];
    struct rls_checkpoint *ck = s_bias_ck();
    struct rls_scenario *sc = s_small_scenario(3, 8, 10);
    struct rls_err err;
    struct rls_policy *p = NULL;
    int32_t desired[3];
    uint8_t placement[3];
    (void)state;
    ck->bias[0][s_didx(ck, 1) * 2 + 1] = 3.0f;   /* +1, binpack */
    s_path(path, sizeof(path), "reg.h5");
    s_save_ok(ck, path);
    rls_err_clear(&err);
    p = rls_policy_new(path, sc, &err);
    if (!p)
        fail_msg("rls_policy_new: %s", err.msg);
    assert_string_equal(rls_policy_name(p), path);
    s_first_decision(p, sc, desired, placement);
    assert_int_equal(desired[0], 3);
    assert_int_equal(placement[0], RLS_PLACE_BINPACK);
    rls_policy_destroy(&p);

    snprintf(spec, sizeof(spec), "%s@spread", path);   /* the placement override */
    p = rls_policy_new(spec, sc, &err);
    assert_non_null(p);
    assert_string_equal(rls_policy_name(p), spec);
    s_first_decision(p, sc, desired, placement);
    assert_int_equal(desired[0], 3);
    assert_int_equal(placement[0], RLS_PLACE_SPREAD);
    rls_policy_destroy(&p);

    snprintf(spec, sizeof(spec), "%s/absent.h5", s_dir);
    assert_null(rls_policy_new(spec, sc, &err));
    assert_true(strstr(err.msg, "absent.h5") != NULL);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

static void test_learned_refuses_undecodable_or_foreign_networks(void **state)
{
    struct rls_checkpoint *ck = s_bias_ck();
    struct rls_scenario *sc = s_small_scenario(1, 8, 10);
    struct rls_err err;
    (void)state;
    ck->deltas[s_didx(ck, 0)] = 3;   /* no no-op */
    rls_err_clear(&err);
    assert_null(rls_learned_from_checkpoint(ck, "x", sc, &err));
    assert_true(strstr(err.msg, "no 0") != NULL);
    ck->deltas[4] = 1;               /* a repeat */
    assert_null(rls_learned_from_checkpoint(ck, "x", sc, &err));
    assert_true(strstr(err.msg, "repeats") != NULL);
    rls_checkpoint_destroy(&ck);
    {
        int32_t sizes[2] = {RLS_ENV_N_FEATURES - 1, 18};   /* other inputs */
        ck = rls_checkpoint_new(1, sizes, &err);
        assert_non_null(ck);
        assert_null(rls_learned_from_checkpoint(ck, "x", sc, &err));
        assert_true(strstr(err.msg, "inputs") != NULL);
        rls_checkpoint_destroy(&ck);
    }
    rls_scenario_destroy(&sc);
}

static void test_learned_evaluates_on_the_default_scenario(void **state)
{
    char path[300];
    struct rls_checkpoint *ck = s_random_ck(64, 9);
    struct rls_scenario *sc = NULL;
    struct rls_err err;
    struct rls_policy *p = NULL;
    struct rls_eval_params ep = rls_eval_default_params();
    struct rls_eval_result res;
    (void)state;
    rls_err_clear(&err);
    assert_int_equal(rls_scenario_load("default", &sc, &err), RLS_OK);
    s_path(path, sizeof(path), "eval.h5");
    s_save_ok(ck, path);
    p = rls_policy_new(path, sc, &err);
    assert_non_null(p);
    memset(&res, 0, sizeof(res));
    ep.scenario = sc;
    ep.steps = 200;
    if (rls_eval_run(&ep, p, &res, &err) != RLS_OK)
        fail_msg("eval: %s", err.msg);
    assert_int_equal(res.steps, 200);
    assert_true(isfinite(res.cost_usd) && res.cost_usd > 0);
    assert_true(isfinite(res.slo_violation_pct) && res.slo_violation_pct >= 0);
    assert_true(isfinite(res.dropped_pct) && isfinite(res.replica_hours));
    rls_eval_result_clear(&res);
    rls_policy_destroy(&p);
    rls_checkpoint_destroy(&ck);
    rls_scenario_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_then_load_round_trips_every_field),
        cmocka_unit_test(test_train_state_round_trips_and_plain_load_ignores_it),
        cmocka_unit_test(test_train_state_refuses_corrupt_data_and_other_versions),
        cmocka_unit_test(test_new_has_not_evaluated_defaults),
        cmocka_unit_test(test_unwritable_path_gives_clear_error_and_no_file),
        cmocka_unit_test(test_invalid_checkpoint_is_not_saved_and_old_file_survives),
        cmocka_unit_test(test_sigkilled_writer_never_leaves_a_partial_checkpoint),
        cmocka_unit_test(test_load_refuses_other_format_and_version),
        cmocka_unit_test(test_load_refuses_missing_datasets_and_attributes),
        cmocka_unit_test(test_load_refuses_shapes_that_do_not_chain),
        cmocka_unit_test(test_load_refuses_other_features_and_bad_action_space),
        cmocka_unit_test(test_load_refuses_nonfinite_weights),
        cmocka_unit_test(test_load_refuses_truncated_corrupt_and_foreign_files),
        cmocka_unit_test(test_learned_picks_the_winning_action),
        cmocka_unit_test(test_learned_never_picks_a_masked_action),
        cmocka_unit_test(test_registry_builds_a_checkpoint_from_its_path),
        cmocka_unit_test(test_learned_refuses_undecodable_or_foreign_networks),
        cmocka_unit_test(test_learned_evaluates_on_the_default_scenario),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
