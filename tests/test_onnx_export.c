/* test_onnx_export.c - the ONNX writer (policies/onnx_export.h) and
 * `rlsched export --format onnx`:
 * - the encoder's refusals (NULL, bad tau, an invalid checkpoint) and the
 *   atomic save (no temporary left, an unwritable directory refused, an
 *   existing file replaced whole);
 * - models exported by the real rlsched binary from policies/default.h5, a
 *   two-head (discrete-BCQ layout) network, odd widths and a single layer,
 *   and a checkpoint the trainer writes (when rlsched-train was built), each
 *   checked by tests/onnx_export_check.py with Debian's python3-onnx
 *   (onnx.checker full_check, metadata, the graph run in numpy) against the
 *   native forward (rls_mlp_forward) on 1,000 random observations, within
 *   1e-5. The executable exits 77 (SKIPPED) when python3-onnx is missing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "env/env.h"
#include "policies/checkpoint.h"
#include "policies/mlp.h"
#include "policies/onnx_export.h"
#include "rls_test_skip.h"

#define F RLS_ENV_N_FEATURES
#define S_ROWS 1000

static char s_dir[] = "/tmp/rls_test_onnx.XXXXXX";

/* ---------------------------------------------------------------------------
 * Helpers. */

static float s_rand(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return (float)(*x >> 8) / 16777216.0f - 0.5f;
}

/* A network of n_layers, widths sizes[], random weights (torch-like scale),
 * biases and normalization; n_heads = outputs / 18. */
static struct rls_checkpoint *s_net(int32_t n_layers, const int32_t *sizes, uint32_t seed)
{
    struct rls_err err;
    struct rls_checkpoint *ck = rls_checkpoint_new(n_layers, sizes, &err);
    uint32_t x = seed;
    if (!ck)
        fail_msg("checkpoint_new: %s", err.msg);
    for (int32_t l = 0; l < n_layers; l++) {
        float scale = 2.0f / sqrtf((float)sizes[l]);
        for (int32_t k = 0; k < sizes[l] * sizes[l + 1]; k++)
            ck->weight[l][k] = s_rand(&x) * scale;
        for (int32_t k = 0; k < sizes[l + 1]; k++)
            ck->bias[l][k] = s_rand(&x) * 0.2f;
    }
    for (int32_t i = 0; i < sizes[0]; i++) {
        ck->obs_mean[i] = s_rand(&x) * 10.0f;
        ck->obs_std[i] = 0.3f + (s_rand(&x) + 0.5f) * 4.0f;
    }
    ck->n_heads = sizes[n_layers] / ck->n_actions;
    snprintf(ck->algorithm, sizeof(ck->algorithm), "%s", ck->n_heads == 2 ? "discrete-bcq" : "bc");
    return ck;
}

static int s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Entries of s_dir whose name contains ".tmp." (leftover temporaries). */
static int s_count_tmp(void)
{
    char cmd[512];
    int n = -1;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "ls -a '%s' | grep -c '\\.tmp\\.'", s_dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (fscanf(p, "%d", &n) != 1)
        n = -1;
    pclose(p);
    return n;
}

/* Runs a shell command; returns its exit status (-1 when it did not exit). */
static int s_run(const char *cmd)
{
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

/* Writes S_ROWS random raw observations around ckpt_path's normalization
 * (mean +- 3 std per feature) to DIR/NAME.in.f32 and the native forward's
 * outputs for them (rls_mlp_forward) to DIR/NAME.native.f32. */
static void s_native(const char *ckpt_path, const char *name)
{
    char in_path[512], out_path[512];
    struct rls_checkpoint *ck = NULL;
    struct rls_mlp *m = NULL;
    struct rls_err err;
    float *x, *y;
    int32_t nf, no;
    uint32_t seed = 12345;
    FILE *f;

    snprintf(in_path, sizeof(in_path), "%s/%s.in.f32", s_dir, name);
    snprintf(out_path, sizeof(out_path), "%s/%s.native.f32", s_dir, name);
    rls_err_clear(&err);
    if (rls_checkpoint_load(ckpt_path, &ck, &err) != RLS_OK)
        fail_msg("load %s: %s", ckpt_path, err.msg);
    nf = ck->sizes[0];
    no = ck->sizes[ck->n_layers];
    x = malloc((size_t)S_ROWS * (size_t)nf * sizeof(float));
    y = malloc((size_t)S_ROWS * (size_t)no * sizeof(float));
    assert_true(x && y);
    for (int32_t r = 0; r < S_ROWS; r++)
        for (int32_t i = 0; i < nf; i++)
            x[(size_t)r * nf + i] = ck->obs_mean[i] + 6.0f * s_rand(&seed) * ck->obs_std[i];
    m = rls_mlp_new(ck, S_ROWS, &err);
    if (!m)
        fail_msg("mlp_new: %s", err.msg);
    assert_int_equal(rls_mlp_forward(m, x, S_ROWS, y), RLS_OK);
    f = fopen(in_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(x, sizeof(float), (size_t)S_ROWS * nf, f), (size_t)S_ROWS * nf);
    fclose(f);
    f = fopen(out_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(y, sizeof(float), (size_t)S_ROWS * no, f), (size_t)S_ROWS * no);
    fclose(f);
    rls_mlp_destroy(&m);
    rls_checkpoint_destroy(&ck);
    free(x);
    free(y);
}

/* Runs onnx_export_check.py on onnx_path against ckpt_path and the native
 * outputs s_native wrote under `name`; returns its exit status (its stderr,
 * also printed, in why[n] when why is not NULL), after skipping the test (77)
 * when python3-onnx is missing. */
static int s_python_check(const char *onnx_path, const char *ckpt_path, const char *name,
                          double tau, char *why, size_t n)
{
    char cmd[4096], err_path[512], line[1024];
    FILE *f;
    size_t used = 0;
    int rc;
    snprintf(err_path, sizeof(err_path), "%s/check.err", s_dir);
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 '%s/tests/onnx_export_check.py' '%s' '%s' '%s/%s.in.f32' "
             "'%s/%s.native.f32' %d %.17g 2>'%s'",
             RLS_SOURCE_DIR, onnx_path, ckpt_path, s_dir, name, s_dir, name, S_ROWS, tau, err_path);
    rc = s_run(cmd);
    if (why && n)
        why[0] = '\0';
    f = fopen(err_path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        print_message("%s", line);
        if (why && used + 1 < n)
            used += (size_t)snprintf(why + used, n - used, "%s", line);
    }
    if (f)
        fclose(f);
    if (rc == 77)
        rls_test_skip_missing("/usr/bin/python3 with onnx, numpy and h5py (Debian python3-onnx)");
    return rc;
}

/* Exports ckpt_path with the real rlsched binary and checks the model
 * against the native forward (s_native, s_python_check). */
static void s_export_and_check(const char *ckpt_path, const char *name, double tau)
{
    char onnx_path[512], cmd[2048];

    snprintf(onnx_path, sizeof(onnx_path), "%s/%s.onnx", s_dir, name);
    snprintf(cmd, sizeof(cmd), "'%s/rlsched' export '%s' --format onnx --out '%s' --bcq-tau %.17g",
             RLS_BINARY_DIR, ckpt_path, onnx_path, tau);
    assert_int_equal(s_run(cmd), 0);
    assert_true(s_exists(onnx_path));
    assert_int_equal(s_count_tmp(), 0);
    s_native(ckpt_path, name);
    assert_int_equal(s_python_check(onnx_path, ckpt_path, name, tau, NULL, 0), 0);
}

/* ---------------------------------------------------------------------------
 * Tests. */

static void test_encode_refuses_bad_input(void **state)
{
    const int32_t sizes[] = {F, 32, 18};
    struct rls_checkpoint *ck = s_net(2, sizes, 1);
    struct rls_onnx_params prm = rls_onnx_default_params();
    struct rls_err err;
    uint8_t *buf = (uint8_t *)&err;
    size_t len = 7;
    (void)state;

    assert_int_equal(rls_onnx_encode(NULL, NULL, &buf, &len, &err), RLS_ERR_INVALID);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_int_equal(rls_onnx_encode(ck, NULL, NULL, &len, &err), RLS_ERR_INVALID);
    prm.bcq_tau = 0.0;
    assert_int_equal(rls_onnx_encode(ck, &prm, &buf, &len, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "bcq_tau"));
    prm.bcq_tau = NAN;
    assert_int_equal(rls_onnx_encode(ck, &prm, &buf, &len, &err), RLS_ERR_RANGE);
    prm.bcq_tau = 1.5;
    assert_int_equal(rls_onnx_encode(ck, &prm, &buf, &len, &err), RLS_ERR_RANGE);
    assert_null(buf);
    /* the checkpoint's own validation: 18 outputs cannot be 2 heads */
    ck->n_heads = 2;
    assert_int_not_equal(rls_onnx_encode(ck, NULL, &buf, &len, &err), RLS_OK);
    assert_non_null(strstr(err.msg, "n_heads"));
    assert_null(buf);
    ck->n_heads = 1;
    ck->obs_std[3] = 0.0f;
    assert_int_not_equal(rls_onnx_encode(ck, NULL, &buf, &len, &err), RLS_OK);
    assert_null(buf);
    ck->obs_std[3] = 1.0f;

    /* a valid one: ModelProto.ir_version (field 1, varint) comes first */
    assert_int_equal(rls_onnx_encode(ck, NULL, &buf, &len, &err), RLS_OK);
    assert_non_null(buf);
    assert_true(len > (size_t)(F * 32 + 32 * 18) * 4);
    assert_int_equal(buf[0], 0x08);
    assert_int_equal(buf[1], RLS_ONNX_IR_VERSION);
    free(buf);
    rls_checkpoint_destroy(&ck);
}

static void test_save_is_atomic(void **state)
{
    const int32_t sizes[] = {F, 40, 18};
    struct rls_checkpoint *ck = s_net(2, sizes, 2);
    struct rls_err err;
    char path[512], bad[512];
    uint8_t *buf = NULL, *disk = NULL;
    size_t len = 0;
    long size;
    FILE *f;
    (void)state;

    snprintf(path, sizeof(path), "%s/atomic.onnx", s_dir);
    f = fopen(path, "wb");   /* an older, different file under the name */
    assert_non_null(f);
    fputs("not an onnx model", f);
    fclose(f);
    rls_err_clear(&err);
    assert_int_equal(rls_onnx_save(ck, NULL, path, &err), RLS_OK);
    assert_int_equal(s_count_tmp(), 0);
    assert_int_equal(rls_onnx_encode(ck, NULL, &buf, &len, &err), RLS_OK);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    assert_int_equal((size_t)size, len);
    disk = malloc(len);
    assert_non_null(disk);
    assert_int_equal(fread(disk, 1, len, f), len);
    fclose(f);
    assert_memory_equal(disk, buf, len);   /* the whole new model, deterministic */

    /* an unwritable place: refused naming the file, nothing left behind */
    snprintf(bad, sizeof(bad), "%s/no/such/dir/x.onnx", s_dir);
    assert_int_equal(rls_onnx_save(ck, NULL, bad, &err), RLS_ERR_IO);
    assert_non_null(strstr(err.msg, "x.onnx"));
    assert_false(s_exists(bad));
    /* an invalid checkpoint never touches the existing file */
    ck->obs_std[0] = -1.0f;
    assert_int_not_equal(rls_onnx_save(ck, NULL, path, &err), RLS_OK);
    assert_int_equal(s_count_tmp(), 0);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(disk, 1, len, f), len);
    fclose(f);
    assert_memory_equal(disk, buf, len);
    assert_int_equal(rls_onnx_save(ck, NULL, "", &err), RLS_ERR_INVALID);
    free(disk);
    free(buf);
    rls_checkpoint_destroy(&ck);
}

static void test_default_policy_matches_native(void **state)
{
    char path[512];
    (void)state;
    snprintf(path, sizeof(path), "%s/policies/default.h5", RLS_SOURCE_DIR);
    s_export_and_check(path, "default", 0.3);
}

static void test_two_heads_and_odd_shapes_match_native(void **state)
{
    static const int32_t shapes[][6] = {
        /* n_layers, sizes... */
        {3, F, 64, 48, 36, 0},    /* two heads (discrete-bcq layout) */
        {4, F, 33, 65, 7, 18},    /* widths off the 32-wide panels */
        {1, F, 36, 0, 0, 0},      /* one layer, no Relu, two heads */
    };
    static const double taus[] = {0.3, 0.3, 0.05};
    (void)state;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        char path[512], name[32];
        struct rls_err err;
        struct rls_checkpoint *ck = s_net(shapes[s][0], &shapes[s][1], 40 + (uint32_t)s);
        snprintf(name, sizeof(name), "net%zu", s);
        snprintf(path, sizeof(path), "%s/%s.h5", s_dir, name);
        rls_err_clear(&err);
        assert_int_equal(rls_checkpoint_save(ck, path, &err), RLS_OK);
        rls_checkpoint_destroy(&ck);
        s_export_and_check(path, name, taus[s]);
    }
}

/* The check can fail: a model one weight off, a model of the other action
 * rule (another tau), a truncated file; each refused for its reason. */
static void test_check_refuses_a_wrong_model(void **state)
{
    const int32_t sizes[] = {F, 48, 36};
    struct rls_checkpoint *ck = s_net(2, sizes, 77);
    struct rls_onnx_params prm = rls_onnx_default_params();
    struct rls_err err;
    char ckpt[512], model[512], cmd[2048], why[2048];
    (void)state;

    snprintf(ckpt, sizeof(ckpt), "%s/wrong.h5", s_dir);
    snprintf(model, sizeof(model), "%s/wrong.onnx", s_dir);
    rls_err_clear(&err);
    assert_int_equal(rls_checkpoint_save(ck, ckpt, &err), RLS_OK);
    s_native(ckpt, "wrong");
    assert_int_equal(rls_onnx_save(ck, &prm, model, &err), RLS_OK);
    assert_int_equal(s_python_check(model, ckpt, "wrong", 0.3, why, sizeof(why)), 0);

    ck->weight[1][5] += 1e-3f;   /* one weight of the last layer off by 1e-3 */
    assert_int_equal(rls_onnx_save(ck, &prm, model, &err), RLS_OK);
    assert_int_equal(s_python_check(model, ckpt, "wrong", 0.3, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "q_onnx - q_native"));
    ck->weight[1][5] -= 1e-3f;

    prm.bcq_tau = 1.0;           /* the action output of another rule */
    assert_int_equal(rls_onnx_save(ck, &prm, model, &err), RLS_OK);
    assert_int_equal(s_python_check(model, ckpt, "wrong", 0.3, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "onnx action"));

    prm.bcq_tau = 0.3;           /* a truncated file */
    assert_int_equal(rls_onnx_save(ck, &prm, model, &err), RLS_OK);
    snprintf(cmd, sizeof(cmd), "truncate -s 3000 '%s'", model);
    assert_int_equal(s_run(cmd), 0);
    assert_int_equal(s_python_check(model, ckpt, "wrong", 0.3, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "checker"));
    rls_checkpoint_destroy(&ck);
}

/* A two-head checkpoint as the trainer writes it (discrete-bcq), when
 * rlsched-train was built (libtorch). */
static void test_trained_bcq_matches_native(void **state)
{
    char trainer[512], cmd[2048], data[512], ck[512];
    (void)state;
    snprintf(trainer, sizeof(trainer), "%s/rlsched-train", RLS_BINARY_DIR);
    if (access(trainer, X_OK) != 0) {
        print_message("rlsched-train not built (no libtorch): the trained-checkpoint case is left out\n");
        return;
    }
    snprintf(data, sizeof(data), "%s/data.h5", s_dir);
    snprintf(ck, sizeof(ck), "%s/bcq.h5", s_dir);
    snprintf(cmd, sizeof(cmd),
             "'%s/rlsched' record --scenario default --policy hpa,kpa --episodes 1 --steps 120 "
             "--out '%s' >/dev/null 2>&1",
             RLS_BINARY_DIR, data);
    assert_int_equal(s_run(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "'%s/rlsched' train --data '%s' --algo discrete-bcq --steps 60 --hidden 32,32 "
             "--out '%s' --quiet >/dev/null 2>&1",
             RLS_BINARY_DIR, data, ck);
    assert_int_equal(s_run(cmd), 0);
    s_export_and_check(ck, "bcq", 0.3);
}

static int s_setup(void **state)
{
    (void)state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    char cmd[256];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_refuses_bad_input),
        cmocka_unit_test(test_save_is_atomic),
        cmocka_unit_test(test_default_policy_matches_native),
        cmocka_unit_test(test_two_heads_and_odd_shapes_match_native),
        cmocka_unit_test(test_check_refuses_a_wrong_model),
        cmocka_unit_test(test_trained_bcq_matches_native),
    };
    return rls_test_exit(cmocka_run_group_tests(tests, s_setup, s_teardown));
}
