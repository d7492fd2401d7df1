/* cmd_export.c - `rlsched export POLICY.h5 --format torchscript --out
 * POLICY.pt`: writes a checkpoint's network as a TorchScript module that
 * Python loads with torch.jit.load: forward(obs) -> Q values / logits for raw
 * observations (normalization inside), act(obs, mask) -> actions by the same
 * rule as the learned policy. Built without libtorch the command says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../env/status.h"

int rls_cmd_export(int argc, char **argv);

#ifndef RLS_WITH_TORCH

int rls_cmd_export(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched export: this rlsched was built without libtorch (install libtorch-dev and rebuild)\n");
    return 1;
}

#else

#include "../trainer/train.h"

static void s_usage(FILE *f)
{
    fprintf(f, "usage: rlsched export POLICY.h5 --format torchscript --out POLICY.pt [--bcq-tau 0.3]\n"
               "Writes the checkpoint's network as TorchScript (torch.jit.load in Python):\n"
               "  forward(obs[B, F] float32) -> outputs, act(obs, mask[B, A] bool) -> int64 actions.\n");
}

int rls_cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *format = NULL;
    double tau = 0.3;
    struct rls_err err = {0, ""};
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
                if (*end || !(tau > 0.0 && tau <= 1.0)) {
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
    if (format && strcmp(format, "torchscript") != 0) {
        fprintf(stderr, "rlsched export: --format '%s' is not supported (torchscript)\n", format);
        return 2;
    }
    if (rls_train_export_torchscript(in, out, tau, &err) != RLS_OK) {
        fprintf(stderr, "rlsched export: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s (TorchScript: forward(obs), act(obs, mask))\n", out);
    return 0;
}

#endif
