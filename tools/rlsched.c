/* rlsched.c - the command line's entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_keys.h"

static int s_train(int argc, char **argv)
{
    return rls_cli_exec_trainer("train", argc, argv);
}

struct s_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct s_command s_commands[] = {
    {"trace", rls_cmd_trace, "import, synthesize and summarize load traces"},
    {"scenario", rls_cmd_scenario, "show or check a cluster scenario"},
    {"eval", rls_cmd_eval, "evaluate policies on a scenario, side by side"},
    {"sweep", rls_cmd_sweep, "many evals (traces x policies x seeds): local pool or Slurm array"},
    {"sim", rls_cmd_sim, "serve the simulator as a live cluster (sim serve)"},
    {"cluster", rls_cmd_cluster, "run a real local cluster of worker processes (cluster local)"},
    {"load", rls_cmd_load, "replay a trace as real open-loop requests to a local cluster"},
    {"record", rls_cmd_record, "record experience from behaviour policies into a replay file"},
    {"replay", rls_cmd_replay, "summarize a replay file (replay info)"},
    {"train", s_train, "train a scaling/placement policy offline from a replay file"},
    {"finetune", rls_cmd_finetune, "improve a checkpoint from reward in the simulator (CEM over its action biases)"},
    {"export", rls_cmd_export, "export a checkpoint (--format onnx|torchscript)"},
    {"explain", rls_cmd_explain, "why a checkpoint policy decided: top features per service at a step"},
    {"keygen", rls_cmd_keygen, "write a CURVE key pair for the control channel (keygen --out PREFIX)"},
    {"bench", rls_cmd_bench, "measure performance (bench sim|train|agent|python|sweep|explain --json)"},
};

static void s_usage(FILE *f)
{
    fprintf(f, "usage: rlsched COMMAND [ARGS]   (rlsched COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(f, "  %-10s %s\n", s_commands[i].name, s_commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "rlsched: which command? (rlsched --help)\n");
        return 2;
    }
    if (rls_cli_split_eq(&argc, &argv) != 0) {
        fprintf(stderr, "rlsched: out of memory\n");
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rlsched %s\n", RLS_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rlsched: unknown command '%s' (try rlsched --help)\n", argv[1]);
    return 2;
}
