/* trainer_main.c - rlsched-train, the part of the command line that links
 * libtorch: `rlsched train|export|bench train` exec it (tools/trainer_exec.c).
 * Usage: rlsched-train train|export|bench-train|bench-agent ARGS...,
 * rlsched-train --version | --help. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "rlsched-train: which command? (train, export, bench-train, bench-agent; run through rlsched)\n");
        return 2;
    }
    if (rls_cli_split_eq(&argc, &argv) != 0) {
        fprintf(stderr, "rlsched-train: out of memory\n");
        return 1;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rlsched-train %s\n", RLS_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: rlsched-train train|export|bench-train|bench-agent ARGS...  (run through rlsched:\n"
               "rlsched train, rlsched export, rlsched bench train|agent), rlsched-train --version\n");
        return 0;
    }
    if (strcmp(argv[1], "train") == 0)
        return rls_cmd_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return rls_cmd_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench-agent") == 0) {
        argv[1] = "agent";   /* rls_bench_agent sees argv[0] == "agent" */
        return rls_bench_agent(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "bench-train") == 0) {
        argv[1] = "train";   /* rls_bench_train sees argv[0] == "train" */
        return rls_bench_train(argc - 1, argv + 1);
    }
    fprintf(stderr, "rlsched-train: unknown command '%s'\n", argv[1]);
    return 2;
}
