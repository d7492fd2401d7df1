/* sweep.h - many evaluations (scenarios x traces x policies x seeds) as one
 * sweep directory of independent cells, run by a local process pool or by an
 * engine the user already operates (a Slurm job array), then gathered into one
 * document. docs/SCALE.md describes the layout and the commands.
 *
 * A sweep directory holds:
 *   sweep.json          {"version":1,"cells":N,"steps":S|null}
 *   tasks/NNNNN.json    one cell: {"index","scenario","trace","policy","seed",
 *                       "steps","argv":[...the rlsched eval arguments...]}
 *   results/NNNNN.json  the cell's `rlsched eval --json` document, written
 *                       atomically by eval (renamed into place when complete),
 *                       so a killed task leaves no file under this name
 *   results/NNNNN.failed  the exit status of a cell that ran and failed
 *   logs/NNNNN.out|err  the cell's stdout and stderr
 *   submit-K.sbatch     the batch scripts `rlsched sweep submit` wrote
 * A cell is done exactly when its result parses; a cell with no result is
 * failed (a .failed record) or missing (never ran, or was killed), and both
 * can be run again. Nothing of a done cell is ever rewritten.
 */
#ifndef RLS_SWEEP_H
#define RLS_SWEEP_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "../env/status.h"

#define RLS_SWEEP_MAX_CELLS 100000

/* What to sweep: the cells are the product scenarios x traces x policies x
 * seeds, in that order (the seed varies fastest). Arrays are borrowed. */
struct rls_sweep_params {
    const char *const *scenarios; /* scenario YAML paths or "default" ({"default"} when n = 0) */
    int n_scenarios;
    const char *const *traces;    /* trace files replacing the load (none when n = 0) */
    int n_traces;
    const char *const *policies;  /* one `rlsched eval --policy` spec each (required) */
    int n_policies;
    const uint64_t *seeds;        /* simulator seeds (required) */
    int n_seeds;
    int64_t steps;                /* control steps per cell (0: each scenario's horizon) */
};

/* The default params: nothing to sweep, steps 0. */
struct rls_sweep_params rls_sweep_default_params(void);

/* Creates the sweep directory dir (new, or one holding no sweep.json) with
 * sweep.json and one task file per cell; relative scenario and trace paths
 * are made absolute (a task may run in another directory). Returns RLS_OK
 * and *n_cells, RLS_ERR_INVALID (nothing to sweep, too many cells, a
 * missing input, dir not empty) or RLS_ERR_IO, with err naming the path. */
int rls_sweep_plan(const char *dir, const struct rls_sweep_params *p, int *n_cells,
                   struct rls_err *err);

/* An opened sweep directory. */
struct rls_sweep;

/* Opens dir and reads every task file. Returns a handle the caller owns
 * (rls_sweep_destroy), or NULL with err naming the file and field. */
struct rls_sweep *rls_sweep_open(const char *dir, struct rls_err *err);

/* Frees s and sets it to NULL; NULL is a no-op. */
void rls_sweep_destroy(struct rls_sweep **s);

/* The number of cells. */
int rls_sweep_n_cells(const struct rls_sweep *s);

enum rls_sweep_state {
    RLS_SWEEP_DONE = 0,    /* results/NNNNN.json parses */
    RLS_SWEEP_FAILED = 1,  /* ran and exited non-zero (results/NNNNN.failed) */
    RLS_SWEEP_MISSING = 2, /* no result: never ran, still running, or killed */
};

/* The state of cell i (0 <= i < n_cells), read from the directory now. */
enum rls_sweep_state rls_sweep_cell_state(const struct rls_sweep *s, int i);

/* Runs the cells idx[0..n) as a pool of at most jobs processes at a time,
 * each `exe eval ARGS --json results/NNNNN.json` with stdout and stderr in
 * logs/ (exe: the rlsched executable). A cell that exits non-zero gets a
 * .failed record; a done cell is skipped. Each child dies with its parent
 * (a killed pool leaves no orphan writing a result). Returns RLS_OK (and
 * *n_failed, the cells that failed) or RLS_ERR_IO / RLS_ERR_INVALID (a bad
 * index) / RLS_ERR_EXTERNAL (cannot start a process) with err. */
int rls_sweep_run(struct rls_sweep *s, const char *exe, const int *idx, int n, int jobs,
                  int *n_failed, struct rls_err *err);

/* Writes the indices of the cells that are not done into idx (room for
 * n_cells) and returns how many. */
int rls_sweep_unfinished(const struct rls_sweep *s, int *idx);

/* Submits the cells idx[0..n) as one Slurm job array: writes
 * submit-K.sbatch (each array task runs `exe sweep task DIR
 * $SLURM_ARRAY_TASK_ID`) and runs `sbatch --parsable --array=LIST
 * [extra...] SCRIPT` (sbatch: its path, or "sbatch" from PATH; LIST ends
 * in %max_running when max_running > 0: at most that many tasks at once). job_id
 * receives sbatch's answer (the job id). Returns RLS_OK, RLS_ERR_INVALID
 * (n = 0) or RLS_ERR_EXTERNAL (sbatch failed: err holds its message). */
int rls_sweep_submit(struct rls_sweep *s, const char *exe, const char *sbatch, const int *idx,
                     int n, int max_running, const char *const *extra, int n_extra, char *job_id, size_t job_id_len,
                     struct rls_err *err);

/* Merges every cell into one document: {"cells":N,"done":D,"failed":[i...],
 * "missing":[i...],"results":[{"index","scenario","trace","policy","seed",
 * "steps","eval":{...the cell's eval document...}}...]} in cell order (done
 * cells only in results). The same cells give the same document whatever ran
 * them. Returns a new reference (caller owns it) or NULL with err (a result
 * that does not parse is reported as failed, not as an error). */
json_t *rls_sweep_gather(const struct rls_sweep *s, struct rls_err *err);

/* Prints one aligned row per gathered result (scenario | trace | policy |
 * seed | cost $ | x oracle | SLO viol % | drop % | p95 ms | actions), read
 * from the document rls_sweep_gather made, then a line counting failed and
 * missing cells. */
void rls_sweep_table(FILE *f, const json_t *doc);

/* Writes doc (indented, keys in order) to path atomically. Returns RLS_OK or
 * RLS_ERR_IO with err naming the path. */
int rls_sweep_json_write(const char *path, const json_t *doc, struct rls_err *err);

#endif
