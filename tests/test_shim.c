/* test_shim.c - the golden test of the libtorch shim (trainer/torch_shim.h):
 * for fixed weights and a fixed batch (closed-form formulas repeated in
 * tests/torch_check.py), the forward output, the DQN / CQL / BC / BCQ / IQL
 * losses and the result of one Adam step on the CQL loss match PyTorch
 * within 1e-5; the TorchScript export gives Python the same outputs and
 * actions; libtorch's errors come back as a status with a message.
 * Skips when built without libtorch or when python3-torch is missing.
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

#include "env/status.h"
#include "trainer/torch_shim.h"

#define NF 5
#define NH 8
#define NA 4
#define NB 6
#define S_MAX_VALS 256

/* ----------------------------------------------------------- the fixtures */

/* The network of torch_check.py: NF -> NH -> n_out, weights from `phase`. */
static struct rls_tnet *s_net(double phase, int32_t n_out)
{
    int32_t sizes[3] = {NF, NH, n_out};
    struct rls_tnet *net = rls_tnet_new(2, sizes);
    assert_non_null(net);
    for (int32_t l = 0; l < 2; l++) {
        int32_t fi = sizes[l], fo = sizes[l + 1];
        float *w = malloc(sizeof(float) * (size_t)(fi * fo)), *b = malloc(sizeof(float) * (size_t)fo);
        for (int32_t i = 0; i < fi * fo; i++)
            w[i] = (float)(0.5 * sin(1.3 * i + 0.7 * l + phase) / sqrt((double)fi));
        for (int32_t j = 0; j < fo; j++)
            b[j] = (float)(0.1 * cos(0.9 * j + l + phase));
        assert_int_equal(rls_tnet_set_layer(net, l, w, b), RLS_OK);
        free(w);
        free(b);
    }
    return net;
}

struct s_batch {
    float obs[NB * NF], next_obs[NB * NF], reward[NB];
    int32_t action[NB];
    uint8_t done[NB], mask[NB * NA], next_mask[NB * NA];
};

static void s_fill(struct s_batch *b)
{
    for (int i = 0; i < NB; i++) {
        for (int f = 0; f < NF; f++) {
            b->obs[i * NF + f] = (float)sin(0.5 * i + 0.3 * f);
            b->next_obs[i * NF + f] = (float)cos(0.4 * i + 0.2 * f);
        }
        b->action[i] = (3 * i + 1) % NA;
        for (int a = 0; a < NA; a++) {
            b->mask[i * NA + a] = ((i + a) % 3 != 0) || a == b->action[i];
            b->next_mask[i * NA + a] = (i * 2 + a) % 4 != 1;
        }
        b->reward[i] = (float)(0.1 * i - 0.2);
        b->done[i] = i % 4 == 3;
    }
}

static struct rls_tbatch *s_tbatch(const struct s_batch *b)
{
    struct rls_tbatch *tb = rls_tbatch_new(NB, NF, NA);
    assert_non_null(tb);
    assert_int_equal(rls_tbatch_set(tb, NB, b->obs, b->action, b->reward, b->next_obs, b->done, b->mask,
                                     b->next_mask), RLS_OK);
    return tb;
}

/* Runs torch_check.py with args (once per distinct args; the output is
 * kept) and finds the line `key v1 v2 ...`; returns the count of values, or
 * -1 (skip) when python or torch is missing. */
static char s_cached_args[256];
static char *s_cached_out;

static int s_python(const char *args, const char *key, double *vals, int max)
{
    char cmd[1024];
    int n = -1;
    if (!s_cached_out || strcmp(args, s_cached_args) != 0) {
        size_t len = 0, cap = 1 << 16;
        free(s_cached_out);
        s_cached_out = NULL;
        if (access("/usr/bin/python3", X_OK) != 0)
            return -1;
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/torch_check.py %s 2>/dev/null", RLS_SOURCE_DIR, args);
        FILE *f = popen(cmd, "r");
        if (!f)
            return -1;
        s_cached_out = calloc(cap, 1);
        assert_non_null(s_cached_out);
        len = fread(s_cached_out, 1, cap - 1, f);
        s_cached_out[len] = 0;
        if (pclose(f) != 0) {
            free(s_cached_out);
            s_cached_out = NULL;
            return -1;
        }
        snprintf(s_cached_args, sizeof s_cached_args, "%s", args);
    }
    size_t kl = strlen(key);
    for (const char *line = s_cached_out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, kl) != 0 || line[kl] != ' ')
            continue;
        const char *p = line + kl;
        char *end = NULL;
        n = 0;
        for (double v = strtod(p, &end); end != p && n < max; v = strtod(p, &end)) {
            vals[n++] = v;
            p = end;
            if (*p == '\n')
                break;
        }
        break;
    }
    return n;
}

static void s_expect_close(const char *what, const double *want, const float *got, int n)
{
    for (int i = 0; i < n; i++)
        if (fabs(want[i] - (double)got[i]) > 1e-5)
            fail_msg("%s[%d]: torch %.9g, shim %.9g", what, i, want[i], (double)got[i]);
}

static double s_golden_scalar(const char *key)
{
    double v[S_MAX_VALS];
    int n = s_python("golden", key, v, S_MAX_VALS);
    if (n < 0)
        skip();
    assert_int_equal(n, 1);
    return v[0];
}

/* ---------------------------------------------------------------- the tests */

static void test_forward_matches_pytorch(void **state)
{
    (void)state;
    double want[S_MAX_VALS];
    float got[NB * NA];
    struct s_batch b;
    int n = s_python("golden", "forward", want, S_MAX_VALS);
    if (n < 0)
        skip();
    assert_int_equal(n, NB * NA);
    s_fill(&b);
    struct rls_tnet *q = s_net(0.0, NA);
    assert_int_equal(rls_tnet_predict(q, b.obs, NB, got), RLS_OK);
    s_expect_close("forward", want, got, n);
    rls_tnet_destroy(&q);
    rls_tnet_destroy(&q);  /* NULL-safe twice */
}

/* Double DQN (alpha 0) and CQL (alpha 1) losses, then one Adam step on CQL. */
static void test_dqn_cql_loss_and_adam_step_match_pytorch(void **state)
{
    (void)state;
    double dqn = s_golden_scalar("dqn_loss"), cql = s_golden_scalar("cql_loss");
    double w0[S_MAX_VALS], b1[S_MAX_VALS];
    float got_w0[NH * NF], got_b1[NA], scratch_w[NA * NH];
    struct s_batch b;
    struct rls_tstats st;
    struct rls_tq_params hp = {0.99, 1, 0.0, 0, 0.3, 0.5};
    struct rls_tadam_params ap = rls_tadam_default_params();
    s_fill(&b);
    struct rls_tnet *q = s_net(0.0, NA), *qt = s_net(1.0, NA);
    struct rls_tbatch *tb = s_tbatch(&b);
    struct rls_tgraph *g = rls_tgraph_new();
    assert_non_null(g);

    assert_int_equal(rls_torch_q_forward(g, q, qt, tb, &hp, &st), RLS_OK);
    assert_true(fabs(st.loss - dqn) < 1e-5);
    hp.cql_alpha = 1.0;
    assert_int_equal(rls_torch_q_forward(g, q, qt, tb, &hp, &st), RLS_OK);
    assert_true(fabs(st.loss - cql) < 1e-5);

    ap.lr = 1e-2;
    struct rls_tadam *opt = rls_tadam_new(q, &ap);
    assert_non_null(opt);
    assert_int_equal(rls_tadam_zero_grad(opt), RLS_OK);
    assert_int_equal(rls_tgraph_backward(g), RLS_OK);
    assert_int_equal(rls_tadam_step(opt), RLS_OK);
    assert_int_equal(s_python("golden", "cql_step_w0", w0, S_MAX_VALS), NH * NF);
    assert_int_equal(s_python("golden", "cql_step_b1", b1, S_MAX_VALS), NA);
    float b0_unused[NH];
    assert_int_equal(rls_tnet_get_layer(q, 0, got_w0, b0_unused), RLS_OK);
    assert_int_equal(rls_tnet_get_layer(q, 1, scratch_w, got_b1), RLS_OK);
    s_expect_close("w0 after step", w0, got_w0, NH * NF);
    s_expect_close("b1 after step", b1, got_b1, NA);
    /* a second backward without a forward is a state error, not a crash */
    assert_int_equal(rls_tgraph_backward(g), RLS_ERR_STATE);
    assert_true(strlen(rls_torch_errmsg()) > 0);

    rls_tadam_destroy(&opt);
    rls_tgraph_destroy(&g);
    rls_tbatch_destroy(&tb);
    rls_tnet_destroy(&q);
    rls_tnet_destroy(&qt);
}

static void test_bc_bcq_iql_losses_match_pytorch(void **state)
{
    (void)state;
    double bc = s_golden_scalar("bc_loss"), bcq = s_golden_scalar("bcq_loss"), iql = s_golden_scalar("iql_loss");
    struct s_batch b;
    struct rls_tstats st;
    struct rls_tq_params hp = {0.99, 1, 0.0, 1, 0.3, 0.5};
    struct rls_tiql_params ip = {0.99, 0.7, 3.0, 100.0};
    s_fill(&b);
    struct rls_tbatch *tb = s_tbatch(&b);
    struct rls_tgraph *g = rls_tgraph_new();

    struct rls_tnet *pi = s_net(0.0, NA);
    assert_int_equal(rls_torch_bc_forward(g, pi, tb, 0.5, &st), RLS_OK);
    assert_true(fabs(st.loss - bc) < 1e-5);
    rls_tnet_destroy(&pi);

    struct rls_tnet *q2 = s_net(0.0, 2 * NA), *qt2 = s_net(1.0, 2 * NA);
    assert_int_equal(rls_torch_q_forward(g, q2, qt2, tb, &hp, &st), RLS_OK);
    assert_true(fabs(st.loss - bcq) < 1e-5);
    rls_tnet_destroy(&q2);
    rls_tnet_destroy(&qt2);

    struct rls_tnet *q = s_net(0.0, NA), *qt = s_net(1.0, NA), *v = s_net(2.0, 1);
    pi = s_net(3.0, NA);
    assert_int_equal(rls_torch_iql_forward(g, q, qt, v, pi, tb, &ip, &st), RLS_OK);
    if (fabs(st.loss - iql) > 1e-5)
        fail_msg("iql loss: torch %.9g, shim %.9g", iql, st.loss);
    assert_int_equal(rls_tgraph_backward(g), RLS_OK);
    rls_tnet_destroy(&q);
    rls_tnet_destroy(&qt);
    rls_tnet_destroy(&v);
    rls_tnet_destroy(&pi);
    rls_tgraph_destroy(&g);
    rls_tbatch_destroy(&tb);
}

static void test_torchscript_export_gives_python_same_outputs_and_actions(void **state)
{
    (void)state;
    char path[] = "/tmp/rls_test_shim_XXXXXX";
    char args[256];
    double want_out[S_MAX_VALS], want_act[S_MAX_VALS];
    float mean[NF], std[NF], out[NB * NA];
    int32_t act[NB];
    struct s_batch b;
    struct rls_tact_rule rule = {NA, 1, 0.3};
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    s_fill(&b);
    for (int f = 0; f < NF; f++) {
        mean[f] = 0.5f;
        std[f] = 2.0f;
    }
    struct rls_tnet *q = s_net(0.0, NA);
    assert_int_equal(rls_tnet_export_torchscript(q, mean, std, &rule, path), RLS_OK);
    snprintf(args, sizeof args, "script %s", path);
    int n = s_python(args, "ts_forward", want_out, S_MAX_VALS);
    if (n < 0) {
        unlink(path);
        rls_tnet_destroy(&q);
        skip();
    }
    assert_int_equal(n, NB * NA);
    assert_int_equal(s_python(args, "ts_act", want_act, S_MAX_VALS), NB);
    /* the shim on normalized inputs: (raw - 0.5) / 2 = obs */
    assert_int_equal(rls_tnet_predict(q, b.obs, NB, out), RLS_OK);
    s_expect_close("torchscript forward", want_out, out, NB * NA);
    assert_int_equal(rls_tnet_act(q, &rule, b.obs, b.mask, NB, act), RLS_OK);
    for (int i = 0; i < NB; i++) {
        assert_int_equal((int)want_act[i], act[i]);
        assert_true(b.mask[i * NA + act[i]]);
    }
    unlink(path);
    rls_tnet_destroy(&q);
}

static void test_libtorch_errors_come_back_as_status_with_message(void **state)
{
    (void)state;
    int32_t bad[3] = {NF, 0, NA};
    float mean[NF] = {0}, std[NF] = {1, 1, 1, 1, 1};
    struct rls_tact_rule rule = {NA, 1, 0.3};
    struct s_batch b;
    struct rls_tstats st;
    struct rls_tq_params hp = {0.99, 1, 1.0, 0, 0.3, 0.5};

    assert_null(rls_tnet_new(2, bad));
    assert_non_null(strstr(rls_torch_errmsg(), "sizes[1]"));
    /* a network that does not fit the batch */
    s_fill(&b);
    struct rls_tbatch *tb = s_tbatch(&b);
    struct rls_tgraph *g = rls_tgraph_new();
    struct rls_tnet *wrong = s_net(0.0, NA + 1);
    assert_int_equal(rls_torch_q_forward(g, wrong, wrong, tb, &hp, &st), RLS_ERR_INVALID);
    assert_non_null(strstr(rls_torch_errmsg(), "network maps"));
    /* libtorch's own exception (c10::Error from the file writer): a status */
    assert_int_equal(rls_tnet_export_torchscript(wrong, mean, std, &rule, "/nonexistent-dir/x.pt"),
                     RLS_ERR_INVALID);
    struct rls_tnet *q = s_net(0.0, NA);
    assert_int_equal(rls_tnet_export_torchscript(q, mean, std, &rule, "/nonexistent-dir/x.pt"), RLS_ERR_IO);
    assert_non_null(strstr(rls_torch_errmsg(), "/nonexistent-dir/x.pt"));
    assert_int_equal(access("/nonexistent-dir/x.pt", F_OK), -1);
    /* a batch action outside [0, A) */
    b.action[2] = NA;
    assert_int_equal(rls_tbatch_set(tb, NB, b.obs, b.action, b.reward, b.next_obs, b.done, NULL, NULL),
                     RLS_ERR_RANGE);
    assert_non_null(strstr(rls_torch_errmsg(), "row 2"));
    /* NaN weights are refused */
    float w[NH * NF], bias[NH];
    assert_int_equal(rls_tnet_get_layer(q, 0, w, bias), RLS_OK);
    w[3] = NAN;
    assert_int_equal(rls_tnet_set_layer(q, 0, w, bias), RLS_ERR_INVALID);
    rls_tnet_destroy(&q);
    rls_tnet_destroy(&wrong);
    rls_tgraph_destroy(&g);
    rls_tbatch_destroy(&tb);
}

static void test_setup_uses_openblas_single_thread(void **state)
{
    (void)state;
    char blas[512];
    assert_int_equal(rls_torch_setup(1, 7, blas, sizeof blas), RLS_OK);
    assert_string_equal(getenv("OPENBLAS_NUM_THREADS"), "1");
    /* libtorch's sgemm_ comes from OpenBLAS, not the reference BLAS */
    if (!strstr(blas, "openblas"))
        fail_msg("sgemm_ provided by %s", blas);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_uses_openblas_single_thread),
        cmocka_unit_test(test_forward_matches_pytorch),
        cmocka_unit_test(test_dqn_cql_loss_and_adam_step_match_pytorch),
        cmocka_unit_test(test_bc_bcq_iql_losses_match_pytorch),
        cmocka_unit_test(test_torchscript_export_gives_python_same_outputs_and_actions),
        cmocka_unit_test(test_libtorch_errors_come_back_as_status_with_message),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(s_cached_out);
    return rc;
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
