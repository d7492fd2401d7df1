/* test_mlp.c - the native forward pass (policies/mlp.h): against a naive
 * triple loop in double precision on random weights (shapes that are and are
 * not multiples of the 32-wide panels, batches around the 4-row tiles and the
 * 64-row blocks, every kernel this CPU has), and a golden test against
 * PyTorch: tests/mlp_torch_check.py rebuilds the network as a
 * torch.nn.Sequential from a checkpoint written here and its outputs must
 * match within 1e-5 (skipped when /usr/bin/python3 lacks torch or h5py).
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

#include "env/env.h"
#include "policies/checkpoint.h"
#include "policies/mlp.h"

#define F RLS_ENV_N_FEATURES

/* ---------------------------------------------------------------------------
 * Helpers. */

static float s_rand(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return (float)(*x >> 8) / 16777216.0f - 0.5f;
}

/* A network of n_layers with widths sizes[], random weights (scaled like
 * torch's default init), normalization and biases. */
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
        ck->obs_mean[i] = s_rand(&x);
        ck->obs_std[i] = 0.3f + (s_rand(&x) + 0.5f);
    }
    return ck;
}

/* The reference: naive loops, double accumulation. out [batch, outputs]. */
static void s_reference(const struct rls_checkpoint *ck, const float *x, int32_t batch, double *out)
{
    int32_t widest = 0;
    for (int32_t l = 0; l <= ck->n_layers; l++)
        widest = ck->sizes[l] > widest ? ck->sizes[l] : widest;
    double *a = calloc((size_t)widest, sizeof(double)), *b = calloc((size_t)widest, sizeof(double));
    assert_non_null(a);
    assert_non_null(b);
    for (int32_t r = 0; r < batch; r++) {
        for (int32_t i = 0; i < ck->sizes[0]; i++)
            a[i] = ((double)x[(size_t)r * ck->sizes[0] + i] - ck->obs_mean[i]) / ck->obs_std[i];
        for (int32_t l = 0; l < ck->n_layers; l++) {
            for (int32_t o = 0; o < ck->sizes[l + 1]; o++) {
                double s = ck->bias[l][o];
                for (int32_t i = 0; i < ck->sizes[l]; i++)
                    s += (double)ck->weight[l][(size_t)o * ck->sizes[l] + i] * a[i];
                b[o] = (l + 1 < ck->n_layers && s < 0) ? 0.0 : s;
            }
            double *t = a;
            a = b;
            b = t;
        }
        memcpy(out + (size_t)r * ck->sizes[ck->n_layers], a,
               (size_t)ck->sizes[ck->n_layers] * sizeof(double));
    }
    free(a);
    free(b);
}

static void s_inputs(float *x, int64_t n, uint32_t seed)
{
    uint32_t s = seed;
    for (int64_t k = 0; k < n; k++)
        x[k] = 2.0f * s_rand(&s) + 0.5f;
}

/* |got - want| <= 1e-5 * max(1, |want|) for every element. */
static void s_assert_close(const float *got, const double *want, int64_t n, const char *what)
{
    for (int64_t k = 0; k < n; k++) {
        double tol = 1e-5 * fmax(1.0, fabs(want[k]));
        if (!(fabs((double)got[k] - want[k]) <= tol))
            fail_msg("%s: element %lld: %.9g vs %.9g", what, (long long)k, (double)got[k],
                     want[k]);
    }
}

/* ---------------------------------------------------------------------------
 * Tests. */

static void test_forward_matches_naive_loops_for_every_kernel_and_shape(void **state)
{
    static const int32_t shapes[][6] = {
        /* n_layers, sizes... */
        {3, F, 256, 256, 18, 0},
        {2, F, 40, 18, 0, 0},
        {1, F, 18, 0, 0, 0},
        {4, F, 33, 65, 7, 36},
    };
    static const int32_t batches[] = {1, 2, 3, 4, 5, 7, 63, 64, 65, 100, 131};
    static const char *kernels[] = {"generic", "avx2", "avx512"};
    const char *old = getenv("RLS_MLP_KERNEL");
    char saved[32] = "";
    (void)state;
    if (old)
        snprintf(saved, sizeof(saved), "%s", old);
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        int32_t nl = shapes[s][0];
        const int32_t *sizes = &shapes[s][1];
        int32_t nin = sizes[0], nout = sizes[nl];
        struct rls_checkpoint *ck = NULL;
        struct rls_err err;
        float *x = malloc(131 * (size_t)nin * sizeof(float));
        float *y = malloc(131 * (size_t)nout * sizeof(float));
        double *ref = malloc(131 * (size_t)nout * sizeof(double));
        assert_true(x && y && ref);
        /* outputs = n_heads x the default 18 actions */
        ck = s_net(nl, sizes, 7 + (uint32_t)s);
        ck->n_heads = nout / 18;
        s_inputs(x, 131 * (int64_t)nin, 99 + (uint32_t)s);
        s_reference(ck, x, 131, ref);
        for (size_t k = 0; k < 3; k++) {
            struct rls_mlp *m = NULL;
            setenv("RLS_MLP_KERNEL", kernels[k], 1);
            m = rls_mlp_new(ck, 64, &err);
            if (!m)
                fail_msg("mlp_new: %s", err.msg);
            assert_int_equal(rls_mlp_n_inputs(m), nin);
            assert_int_equal(rls_mlp_n_outputs(m), nout);
            assert_int_equal(rls_mlp_flops(m), rls_checkpoint_macs(ck));
            for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
                char what[96];
                memset(y, 0xff, 131 * (size_t)nout * sizeof(float));
                assert_int_equal(rls_mlp_forward(m, x, batches[b], y), RLS_OK);
                snprintf(what, sizeof(what), "shape %zu kernel %s (%s) batch %d", s, kernels[k],
                         rls_mlp_kernel(m), (int)batches[b]);
                s_assert_close(y, ref, (int64_t)batches[b] * nout, what);
            }
            rls_mlp_destroy(&m);
            assert_null(m);
        }
        rls_checkpoint_destroy(&ck);
        free(x);
        free(y);
        free(ref);
    }
    if (saved[0])
        setenv("RLS_MLP_KERNEL", saved, 1);
    else
        unsetenv("RLS_MLP_KERNEL");
}

static void test_bad_arguments_are_refused(void **state)
{
    int32_t sizes[3] = {F, 16, 18};
    struct rls_checkpoint *ck = s_net(2, sizes, 3);
    struct rls_err err;
    struct rls_mlp *m = NULL;
    float x[F], y[18];
    (void)state;
    rls_err_clear(&err);
    assert_null(rls_mlp_new(ck, 0, &err));
    assert_true(strstr(err.msg, "max_batch") != NULL);
    ck->bias[1][3] = NAN;
    assert_null(rls_mlp_new(ck, 1, &err));
    assert_true(strstr(err.msg, "/weights/layer_1/bias") != NULL);
    ck->bias[1][3] = 0;
    m = rls_mlp_new(ck, 1, &err);
    assert_non_null(m);
    memset(x, 0, sizeof(x));
    assert_int_equal(rls_mlp_forward(m, NULL, 1, y), RLS_ERR_INVALID);
    assert_int_equal(rls_mlp_forward(m, x, -1, y), RLS_ERR_INVALID);
    assert_int_equal(rls_mlp_forward(m, x, 0, y), RLS_OK);
    assert_int_equal(rls_mlp_forward(NULL, x, 1, y), RLS_ERR_INVALID);
    rls_mlp_destroy(&m);
    rls_mlp_destroy(&m);
    rls_checkpoint_destroy(&ck);
}

static void test_forward_matches_pytorch_within_1e5(void **state)
{
    char dir[] = "/tmp/rls_test_mlp_XXXXXX";
    char ck_path[128], in_path[128], out_path[128], cmd[1024];
    int32_t sizes[4] = {F, 256, 256, 18};
    const int32_t batch = 100;
    struct rls_checkpoint *ck = s_net(3, sizes, 11);
    struct rls_err err;
    struct rls_mlp *m = NULL;
    float *x = malloc((size_t)batch * F * sizeof(float));
    float *y = malloc((size_t)batch * 18 * sizeof(float));
    float *t = malloc((size_t)batch * 18 * sizeof(float));
    double *td = malloc((size_t)batch * 18 * sizeof(double));
    FILE *f = NULL;
    int rc;
    (void)state;
    assert_true(x && y && t && td);
    assert_non_null(mkdtemp(dir));
    snprintf(ck_path, sizeof(ck_path), "%s/golden.h5", dir);
    snprintf(in_path, sizeof(in_path), "%s/in.f32", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.f32", dir);
    rls_err_clear(&err);
    assert_int_equal(rls_checkpoint_save(ck, ck_path, &err), RLS_OK);
    s_inputs(x, (int64_t)batch * F, 5);
    f = fopen(in_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(x, sizeof(float), (size_t)batch * F, f), (size_t)batch * F);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/mlp_torch_check.py %s %s %d %s",
             RLS_SOURCE_DIR, ck_path, in_path, (int)batch, out_path);
    rc = system(cmd);
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void)system(cmd);
        free(x), free(y), free(t), free(td);
        rls_checkpoint_destroy(&ck);
        skip();
    }
    assert_int_equal(rc, 0);
    f = fopen(out_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(t, sizeof(float), (size_t)batch * 18, f), (size_t)batch * 18);
    fclose(f);
    for (int64_t k = 0; k < (int64_t)batch * 18; k++)
        td[k] = t[k];
    m = rls_mlp_new(ck, batch, &err);
    assert_non_null(m);
    assert_int_equal(rls_mlp_forward(m, x, batch, y), RLS_OK);
    s_assert_close(y, td, (int64_t)batch * 18, "native vs torch, batch 100");
    assert_int_equal(rls_mlp_forward(m, x + 17 * F, 1, y), RLS_OK);
    s_assert_close(y, td + 17 * 18, 18, "native vs torch, batch 1");
    rls_mlp_destroy(&m);
    rls_checkpoint_destroy(&ck);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(x);
    free(y);
    free(t);
    free(td);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_matches_naive_loops_for_every_kernel_and_shape),
        cmocka_unit_test(test_bad_arguments_are_refused),
        cmocka_unit_test(test_forward_matches_pytorch_within_1e5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
