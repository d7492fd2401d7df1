/* cmd_export.c - `rlsched export POLICY.h5 --format onnx|torchscript --out
 * FILE`: writes a checkpoint's network for use outside rlsched.
 *
 * - onnx (policies/onnx_export.h, no libtorch): an ONNX model, obs [N, F]
 *   raw observations -> q [N, outputs] (normalization inside) and the
 *   mask-free action [N]; metadata_props carry the action layout.
 * - torchscript (the default; needs libtorch): a TorchScript module that
 *   Python loads with torch.jit.load: forward(obs) -> Q values / logits,
 *   act(obs, mask) -> actions by the same rule as the learned policy.
 *
 * Compiled into both rlsched (ONNX here, TorchScript through the sibling
 * rlsched-train) and rlsched-train (both here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../env/status.h"
#include "../policies/checkpoint.h"
#include "../policies/onnx_export.h"
#include "cli.h"

#ifdef RLS_WITH_TORCH
#include "../trainer/train.h"
#endif

static void s_usage(FILE *f)
{
    fprintf(f, "usage: rlsched export POLICY.h5 --format onnx|torchscript --out FILE [--bcq-tau 0.3]\n"
               "  --format onnx         ONNX (opset %d, no libtorch needed): input obs [N, F] float32\n"
               "                        (raw observations), outputs q [N, outputs] float32 and\n"
               "                        action [N] int64 (the mask-free action); the action layout\n"
               "                        is in the model's metadata_props\n"
               "  --format torchscript  (default; needs libtorch) torch.jit.load in Python:\n"
               "                        forward(obs[B, F] float32) -> outputs,\n"
               "                        act(obs, mask[B, A] bool) -> int64 actions\n"
               "  --bcq-tau T           two-head (discrete-bcq) networks: the behaviour ratio cut of\n"
               "                        the action rule, in (0, 1] (0.3)\n",
            RLS_ONNX_OPSET);
}

static int s_export_onnx(const char *in, const char *out, double tau)
{
    struct rls_err err = {0, ""};
    struct rls_checkpoint *ck = NULL;
    struct rls_onnx_params prm = rls_onnx_default_params();
    char msg[RLS_ERRMSG_MAX + 64];
    int rc;

    if (rls_cli_check_writable(out, msg, sizeof msg) != 0) {
        fprintf(stderr, "rlsched export: %s\n", msg);
        return 1;
    }
    if (rls_checkpoint_load(in, &ck, &err) != RLS_OK) {
        fprintf(stderr, "rlsched export: %s\n", err.msg);
        return 1;
    }
    prm.bcq_tau = tau;
    prm.source = in;
    rc = rls_onnx_save(ck, &prm, out, &err);
    if (rc != RLS_OK) {
        fprintf(stderr, "rlsched export: %s\n", err.msg);
        rls_checkpoint_destroy(&ck);
        return 1;
    }
    printf("wrote %s (ONNX opset %d: obs [N, %d] -> q [N, %d], action [N]; %d x %d actions)\n", out,
           RLS_ONNX_OPSET, (int)ck->sizes[0], (int)ck->sizes[ck->n_layers], (int)ck->n_deltas,
           (int)ck->n_placements);
    rls_checkpoint_destroy(&ck);
    return 0;
}

int rls_cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *format = NULL;
    double tau = 0.3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (a[0] == '-' && a[1] == '-') {
            if (i + 1 >= argc) {
                fprintf(stderr, "rlsched export: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--format") == 0) format = v;
            else if (strcmp(a, "--out") == 0) out = v;
            else if (strcmp(a, "--bcq-tau") == 0) {
                char *end = NULL;
                tau = strtod(v, &end);
                if (end == v || *end || !(tau > 0.0 && tau <= 1.0)) {
                    fprintf(stderr, "rlsched export: --bcq-tau: '%s' is not in (0, 1]\n", v);
                    return 2;
                }
            } else {
                fprintf(stderr, "rlsched export: unknown option '%s'\n", a);
                return 2;
            }
        } else if (!in) {
            in = a;
        } else {
            fprintf(stderr, "rlsched export: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "rlsched export: CKPT.h5 and --out are required (rlsched export --help)\n");
        return 2;
    }
    if (format && strcmp(format, "onnx") == 0)
        return s_export_onnx(in, out, tau);
    if (format && strcmp(format, "torchscript") != 0) {
        fprintf(stderr, "rlsched export: --format '%s' is not supported (onnx, torchscript)\n",
                format);
        return 2;
    }
#ifdef RLS_WITH_TORCH
    struct rls_err err = {0, ""};
    if (rls_train_export_torchscript(in, out, tau, &err) != RLS_OK) {
        fprintf(stderr, "rlsched export: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s (TorchScript: forward(obs), act(obs, mask))\n", out);
    return 0;
#else
    /* TorchScript needs libtorch: the sibling rlsched-train writes it */
    return rls_cli_exec_trainer("export", argc, argv);
#endif
}
