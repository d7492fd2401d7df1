/* cli.h - the rlsched subcommands. Each returns the process exit status
 * (0 ok, 1 failure, 2 usage error) and prints one clear line on stderr on
 * failure ("rlsched trace import: FILE:LINE: what"). */
#ifndef RLS_CLI_H
#define RLS_CLI_H

#include <stddef.h>
#include <stdint.h>

int rls_cmd_trace(int argc, char **argv);     /* trace import|synth|info */
int rls_cmd_trace_prom(int argc, char **argv); /* trace import --prometheus (cmd_trace_prom.c) */
int rls_cmd_scenario(int argc, char **argv);  /* scenario show|check */
int rls_cmd_eval(int argc, char **argv);      /* eval */
int rls_cmd_explain(int argc, char **argv);   /* explain: a policy's decision, top features (cmd_explain.c) */
int rls_bench_explain(int argc, char **argv); /* bench explain: decisions with explanations vs without */
int rls_cmd_sim(int argc, char **argv);       /* sim serve: the simulator as a live cluster */
int rls_cmd_cluster(int argc, char **argv);   /* cluster local: real worker processes */
int rls_cmd_load(int argc, char **argv);      /* load: replay a trace as real requests */
int rls_cmd_bench(int argc, char **argv);     /* bench sim|train */
int rls_cmd_replay(int argc, char **argv);    /* replay info */
int rls_cmd_record(int argc, char **argv);    /* record experience into a replay file */
int rls_cmd_train(int argc, char **argv);     /* train a policy offline (needs libtorch) */
int rls_cmd_export(int argc, char **argv);    /* export a checkpoint (onnx | torchscript) */
int rls_cmd_finetune(int argc, char **argv);  /* the reward-driven stage in the simulator (CEM) */
int rls_bench_train(int argc, char **argv);   /* bench train (tools/cmd_bench_train.c) */
int rls_bench_agent(int argc, char **argv);   /* bench agent (tools/cmd_bench_agent.c) */
int rls_cmd_sweep(int argc, char **argv);     /* sweep plan|run|submit|task|gather (cmd_sweep.c) */
int rls_bench_sweep(int argc, char **argv);   /* bench sweep: pool of 2 vs serial (cmd_sweep.c) */

/* Runs the sibling executable rlsched-train (which links libtorch) as
 * `rlsched-train COMMAND argv[1..]`; returns only on failure (1, with one
 * line on stderr, e.g. when built without libtorch). */
int rls_cli_exec_trainer(const char *command, int argc, char **argv);

/* Parses a whole decimal integer 0..max (no sign, no spaces) into *out.
 * Returns 0, or -1 (and leaves *out) for anything else. */
int rls_cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Parses a whole finite number in [lo, hi] into *out. Returns 0 or -1. */
int rls_cli_parse_double(const char *s, double lo, double hi, double *out);

/* Rewrites every "--opt=value" among argv[1..] (up to a bare "--") into the
 * two arguments "--opt" "value", so that each command's loop sees one form.
 * On a rewrite *argv points to a vector this module owns until exit (the
 * strings stay the caller's, cut in place) and *argc grows. Returns 0, or -1
 * when out of memory (argc/argv untouched). */
int rls_cli_split_eq(int *argc, char ***argv);

/* Checks that path can be written before any work is done: an existing file
 * writable, or the directory it would be created in existing and writable.
 * Returns 0, or -1 with one line in msg[n] naming the path and the reason. */
int rls_cli_check_writable(const char *path, char *msg, size_t n);

#endif
