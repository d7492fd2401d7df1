/* cmd_sweep.c - `rlsched sweep plan|run|task|submit|gather|status` and
 * `rlsched bench sweep`: many evaluations as a directory of independent cells
 * (eval/sweep.h), run by a local process pool or as a Slurm job array, then
 * gathered into one JSON document and table (docs/SCALE.md).
 *
 * Parses and prints only; the sweep itself is eval/sweep.c. Usage errors exit
 * 2, failures 1 with one line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_json.h"
#include "cli.h"
#include "../eval/sweep.h"

#define S_PROG "rlsched sweep"
#define S_MAX_LIST 4096

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched sweep plan --policy P1,P2 --seeds LIST [--scenario S,...] [--trace T ...]\n"
            "                          [--steps N] --out DIR\n"
            "       rlsched sweep run DIR [--local] [--jobs N]\n"
            "       rlsched sweep submit DIR [--failed] [--max-running N] [--sbatch PATH]\n"
            "                            [--sbatch-arg ARG]...\n"
            "       rlsched sweep task DIR INDEX\n"
            "       rlsched sweep gather DIR [--json OUT] [--table]\n"
            "       rlsched sweep status DIR\n"
            "\n"
            "A sweep is a directory of cells, scenarios x traces x policies x seeds, each\n"
            "one `rlsched eval` run whose JSON is written atomically (a killed cell leaves\n"
            "no result; it is simply run again). docs/SCALE.md has the layout.\n"
            "  plan     write one task file per cell into DIR (--scenario and --trace may\n"
            "           repeat or take comma lists; --seeds 1-5 or 1,4,9; default scenario\n"
            "           'default', no trace)\n"
            "  run      run every cell not yet done as a local pool of --jobs processes\n"
            "           (default 1: the serial run); exit 1 when a cell failed\n"
            "  submit   submit the cells as one Slurm job array (sbatch --array), each\n"
            "           task running `rlsched sweep task DIR $SLURM_ARRAY_TASK_ID`;\n"
            "           --failed: only the cells not done (failed, killed, never ran);\n"
            "           --max-running: at most N array tasks at once (--array=LIST%%N);\n"
            "           --sbatch-arg passes one argument on to sbatch (e.g. --partition=P)\n"
            "  task     run one cell (what each array task runs); exit 1 when it failed\n"
            "  gather   merge the cells into one JSON document (--json) and print the\n"
            "           table (--table, or when no --json); exit 1 naming the failed and\n"
            "           missing cells when any is not done\n"
            "  status   count done, failed and missing cells\n");
}

/* The running executable's path (what cells and array tasks run). */
static int s_self(char *buf, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    if (k <= 0 || (size_t)k >= n - 1)
        return -1;
    buf[k] = '\0';
    return 0;
}

/* Appends the comma-separated items of v to list (strings cut in place). */
static int s_split(char *v, const char **list, int *n, int max)
{
    for (char *save = NULL, *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok)
            continue;
        if (*n >= max)
            return -1;
        list[(*n)++] = tok;
    }
    return 0;
}

/* "1-5", "1,4,9" or "1-3,7" into seeds. Returns 0 or -1. */
static int s_seeds(char *v, uint64_t *seeds, int *n, int max)
{
    for (char *save = NULL, *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint64_t a = 0, b = 0;
        char *dash = strchr(tok, '-');
        if (dash)
            *dash = '\0';
        if (rls_cli_parse_u64(tok, UINT64_MAX, &a) != 0 ||
            (dash && (rls_cli_parse_u64(dash + 1, UINT64_MAX, &b) != 0 || b < a)))
            return -1;
        if (!dash)
            b = a;
        for (uint64_t s = a;; s++) {
            if (*n >= max)
                return -1;
            seeds[(*n)++] = s;
            if (s == b)
                break;
        }
    }
    return *n > 0 ? 0 : -1;
}

static int s_plan(int argc, char **argv)
{
    static const char *scen[S_MAX_LIST], *traces[S_MAX_LIST], *pols[S_MAX_LIST];
    static uint64_t seeds[S_MAX_LIST];
    struct rls_sweep_params p = rls_sweep_default_params();
    const char *out = NULL;
    uint64_t steps = 0;
    struct rls_err err;
    int n_cells = 0;
    rls_err_clear(&err);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, S_PROG " plan: %s needs a value\n", a);
            return 2;
        }
        char *v = argv[++i];
        int bad = 0;
        if (strcmp(a, "--scenario") == 0 || strcmp(a, "--scenarios") == 0)
            bad = s_split(v, scen, &p.n_scenarios, S_MAX_LIST);
        else if (strcmp(a, "--trace") == 0 || strcmp(a, "--traces") == 0)
            bad = s_split(v, traces, &p.n_traces, S_MAX_LIST);
        else if (strcmp(a, "--policy") == 0 || strcmp(a, "--policies") == 0)
            bad = s_split(v, pols, &p.n_policies, S_MAX_LIST);
        else if (strcmp(a, "--seeds") == 0 || strcmp(a, "--seed") == 0)
            bad = s_seeds(v, seeds, &p.n_seeds, S_MAX_LIST);
        else if (strcmp(a, "--steps") == 0)
            bad = rls_cli_parse_u64(v, 100000000ULL, &steps) != 0 || steps < 1;
        else if (strcmp(a, "--out") == 0)
            out = v;
        else {
            fprintf(stderr, S_PROG " plan: unknown option '%s' (try " S_PROG " --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, S_PROG " plan: %s '%s': %s\n", a, argv[i],
                    strcmp(a, "--steps") == 0 ? "expected an integer from 1 to 100000000"
                    : strncmp(a, "--seed", 6) == 0 ? "expected seeds like 1-5 or 1,4,9 (at most 4096)"
                                                   : "too many items (at most 4096)");
            return 2;
        }
    }
    if (!out || p.n_policies == 0 || p.n_seeds == 0) {
        fprintf(stderr, S_PROG " plan: needs %s\n", !out ? "--out DIR" : p.n_policies == 0 ? "--policy" : "--seeds");
        return 2;
    }
    p.scenarios = scen;
    p.traces = traces;
    p.policies = pols;
    p.seeds = seeds;
    p.steps = (int64_t)steps;
    if (rls_sweep_plan(out, &p, &n_cells, &err) != RLS_OK) {
        fprintf(stderr, S_PROG " plan: %s\n", err.msg);
        return 1;
    }
    printf("planned %d cells in %s\n", n_cells, out);
    return 0;
}

/* Opens argv[1] as a sweep or prints why not. */
static struct rls_sweep *s_open(int argc, char **argv, const char *sub)
{
    struct rls_err err;
    rls_err_clear(&err);
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, S_PROG " %s: which sweep directory? (" S_PROG " --help)\n", sub);
        return NULL;
    }
    struct rls_sweep *s = rls_sweep_open(argv[1], &err);
    if (!s)
        fprintf(stderr, S_PROG " %s: %s\n", sub, err.msg);
    return s;
}

static int s_run(int argc, char **argv)
{
    uint64_t jobs = 1;
    int ret = 1, n_failed = 0;
    int *idx = NULL;
    char exe[PATH_MAX];
    struct rls_err err;
    rls_err_clear(&err);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--local") == 0 || strcmp(argv[i], "--failed") == 0)
            continue;   /* always local; always only the cells not done */
        if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            if (rls_cli_parse_u64(argv[++i], 1024, &jobs) != 0 || jobs < 1) {
                fprintf(stderr, S_PROG " run: --jobs '%s': expected an integer from 1 to 1024\n", argv[i]);
                return 2;
            }
            continue;
        }
        fprintf(stderr, S_PROG " run: unknown option or missing value '%s'\n", argv[i]);
        return 2;
    }
    struct rls_sweep *s = s_open(argc, argv, "run");
    if (!s)
        return argc < 2 ? 2 : 1;
    if (s_self(exe, sizeof exe) != 0 || !(idx = malloc(sizeof *idx * (size_t)rls_sweep_n_cells(s)))) {
        fprintf(stderr, S_PROG " run: cannot find the rlsched executable or out of memory\n");
        goto done;
    }
    int n = rls_sweep_unfinished(s, idx);
    if (rls_sweep_run(s, exe, idx, n, (int)jobs, &n_failed, &err) != RLS_OK) {
        fprintf(stderr, S_PROG " run: %s\n", err.msg);
        goto done;
    }
    printf("ran %d cells with %d jobs: %d done, %d failed\n", n, (int)jobs, n - n_failed, n_failed);
    if (n_failed > 0) {
        fprintf(stderr, S_PROG " run: %d of %d cells failed (logs in %s/logs; " S_PROG
                " gather lists them)\n", n_failed, n, argv[1]);
        goto done;
    }
    ret = 0;
done:
    free(idx);
    rls_sweep_destroy(&s);
    return ret;
}

static int s_task(int argc, char **argv)
{
    uint64_t i = 0;
    int n_failed = 0;
    char exe[PATH_MAX];
    struct rls_err err;
    rls_err_clear(&err);
    if (argc != 3 || rls_cli_parse_u64(argv[2], RLS_SWEEP_MAX_CELLS, &i) != 0) {
        fprintf(stderr, S_PROG " task: usage: " S_PROG " task DIR INDEX\n");
        return 2;
    }
    struct rls_sweep *s = s_open(argc, argv, "task");
    if (!s)
        return 1;
    int idx = (int)i, st = RLS_OK;
    if (s_self(exe, sizeof exe) != 0)
        st = rls_err_set(&err, RLS_ERR_NOTFOUND, "cannot find the rlsched executable");
    else
        st = rls_sweep_run(s, exe, &idx, 1, 1, &n_failed, &err);
    rls_sweep_destroy(&s);
    if (st != RLS_OK) {
        fprintf(stderr, S_PROG " task: %s\n", err.msg);
        return 1;
    }
    if (n_failed) {
        fprintf(stderr, S_PROG " task: cell %d failed (logs in %s/logs/%05d.err)\n", idx, argv[1], idx);
        return 1;
    }
    return 0;
}

static int s_submit(int argc, char **argv)
{
    static const char *extra[64];
    int n_extra = 0, failed_only = 0, ret = 1;
    uint64_t max_running = 0;
    const char *sbatch = NULL;
    int *idx = NULL;
    char exe[PATH_MAX], job[128];
    struct rls_err err;
    rls_err_clear(&err);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--failed") == 0) {
            failed_only = 1;
        } else if (strcmp(argv[i], "--max-running") == 0 && i + 1 < argc) {
            if (rls_cli_parse_u64(argv[++i], 100000, &max_running) != 0 || max_running < 1) {
                fprintf(stderr, S_PROG " submit: --max-running '%s': expected an integer from 1 to 100000\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--sbatch") == 0 && i + 1 < argc) {
            sbatch = argv[++i];
        } else if (strcmp(argv[i], "--sbatch-arg") == 0 && i + 1 < argc) {
            if (n_extra >= 64) {
                fprintf(stderr, S_PROG " submit: at most 64 --sbatch-arg\n");
                return 2;
            }
            extra[n_extra++] = argv[++i];
        } else {
            fprintf(stderr, S_PROG " submit: unknown option or missing value '%s'\n", argv[i]);
            return 2;
        }
    }
    struct rls_sweep *s = s_open(argc, argv, "submit");
    if (!s)
        return argc < 2 ? 2 : 1;
    int n_all = rls_sweep_n_cells(s), n = 0;
    if (s_self(exe, sizeof exe) != 0 || !(idx = malloc(sizeof *idx * (size_t)n_all))) {
        fprintf(stderr, S_PROG " submit: cannot find the rlsched executable or out of memory\n");
        goto done;
    }
    if (failed_only) {
        n = rls_sweep_unfinished(s, idx);
    } else {
        for (n = 0; n < n_all; n++)
            idx[n] = n;
    }
    if (n == 0) {
        printf("nothing to submit: every cell of %s is done\n", argv[1]);
        ret = 0;
        goto done;
    }
    if (rls_sweep_submit(s, exe, sbatch, idx, n, (int)max_running, extra, n_extra, job, sizeof job,
                         &err) != RLS_OK) {
        fprintf(stderr, S_PROG " submit: %s\n", err.msg);
        goto done;
    }
    printf("submitted %d cells as job array %s\n", n, job);
    ret = 0;
done:
    free(idx);
    rls_sweep_destroy(&s);
    return ret;
}

static int s_gather(int argc, char **argv)
{
    const char *json_out = NULL;
    int table = 0, ret = 1;
    struct rls_err err;
    json_t *doc = NULL;
    rls_err_clear(&err);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--table") == 0) {
            table = 1;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json_out = argv[++i];
        } else {
            fprintf(stderr, S_PROG " gather: unknown option or missing value '%s'\n", argv[i]);
            return 2;
        }
    }
    if (json_out && rls_cli_check_writable(json_out, err.msg, sizeof err.msg) != 0) {
        fprintf(stderr, S_PROG " gather: %s\n", err.msg);
        return 1;
    }
    struct rls_sweep *s = s_open(argc, argv, "gather");
    if (!s)
        return argc < 2 ? 2 : 1;
    if (!(doc = rls_sweep_gather(s, &err))) {
        fprintf(stderr, S_PROG " gather: %s\n", err.msg);
        goto done;
    }
    if (json_out && rls_sweep_json_write(json_out, doc, &err) != RLS_OK) {
        fprintf(stderr, S_PROG " gather: %s\n", err.msg);
        goto done;
    }
    if (table || !json_out)
        rls_sweep_table(stdout, doc);
    const json_t *failed = json_object_get(doc, "failed"), *missing = json_object_get(doc, "missing");
    if (json_array_size(failed) + json_array_size(missing) > 0) {
        char *f = json_dumps(failed, JSON_COMPACT), *m = json_dumps(missing, JSON_COMPACT);
        fprintf(stderr, S_PROG " gather: %s: cells not done: failed %s, missing %s (" S_PROG
                " submit --failed or run reruns them)\n", argv[1], f ? f : "?", m ? m : "?");
        free(f);
        free(m);
        goto done;
    }
    ret = 0;
done:
    json_decref(doc);
    rls_sweep_destroy(&s);
    return ret;
}

static int s_status(int argc, char **argv)
{
    struct rls_sweep *s = s_open(argc, argv, "status");
    if (!s)
        return argc < 2 ? 2 : 1;
    int count[3] = {0, 0, 0};
    for (int i = 0; i < rls_sweep_n_cells(s); i++)
        count[rls_sweep_cell_state(s, i)]++;
    printf("%d cells: %d done, %d failed, %d missing\n", rls_sweep_n_cells(s), count[RLS_SWEEP_DONE],
           count[RLS_SWEEP_FAILED], count[RLS_SWEEP_MISSING]);
    rls_sweep_destroy(&s);
    return 0;
}

int rls_cmd_sweep(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, S_PROG ": which step? (plan, run, submit, task, gather, status; " S_PROG " --help)\n");
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
    if (strcmp(sub, "plan") == 0)
        return s_plan(argc - 1, argv + 1);
    if (strcmp(sub, "run") == 0)
        return s_run(argc - 1, argv + 1);
    if (strcmp(sub, "task") == 0)
        return s_task(argc - 1, argv + 1);
    if (strcmp(sub, "submit") == 0)
        return s_submit(argc - 1, argv + 1);
    if (strcmp(sub, "gather") == 0)
        return s_gather(argc - 1, argv + 1);
    if (strcmp(sub, "status") == 0)
        return s_status(argc - 1, argv + 1);
    fprintf(stderr, S_PROG ": unknown step '%s' (plan, run, submit, task, gather, status)\n", sub);
    return 2;
}

/* ---------------------------------------------------------------- bench */

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Plans the bench's cells into dir, runs them with jobs processes; returns
 * the seconds taken and the gathered document in *doc, or -1. */
static double s_bench_one(const char *dir, const struct rls_sweep_params *p, const char *exe, int jobs,
                          json_t **doc, struct rls_err *err)
{
    int n = 0, n_failed = 0;
    int *idx = NULL;
    struct rls_sweep *s = NULL;
    double t = -1;
    if (rls_sweep_plan(dir, p, &n, err) != RLS_OK || !(s = rls_sweep_open(dir, err)))
        goto done;
    if (!(idx = malloc(sizeof *idx * (size_t)n)))
        goto done;
    for (int i = 0; i < n; i++)
        idx[i] = i;
    double t0 = s_now();
    if (rls_sweep_run(s, exe, idx, n, jobs, &n_failed, err) != RLS_OK)
        goto done;
    double t1 = s_now();
    if (n_failed) {
        rls_err_set(err, RLS_ERR_EXTERNAL, "%d cells failed in %s", n_failed, dir);
        goto done;
    }
    if (!(*doc = rls_sweep_gather(s, err)))
        goto done;
    t = t1 - t0;
done:
    free(idx);
    rls_sweep_destroy(&s);
    return t;
}

int rls_bench_sweep(int argc, char **argv)
{
    static const char *const pols[] = {"hpa", "kpa", "predictive", "static"};
    static const uint64_t seeds[] = {1, 2, 3, 4};
    int json = 0, quick = 0, ret = 1;
    char base[] = "/tmp/rlsched-bench-sweep-XXXXXX", serial[64], pool[64], exe[PATH_MAX];
    json_t *doc1 = NULL, *doc2 = NULL;
    struct rls_err err;
    rls_err_clear(&err);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: rlsched bench sweep [--json] [--quick]\n"
                   "The same cells (default scenario x 4 policies x 4 seeds) run serially and as a\n"
                   "local pool of 2 processes in this invocation: cells/s and their ratio; the two\n"
                   "gathered documents must be identical. docs/SCALE.md.\n");
            return 0;
        } else {
            fprintf(stderr, "rlsched bench sweep: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    struct rls_sweep_params p = rls_sweep_default_params();
    p.policies = pols;
    p.n_policies = quick ? 2 : 4;
    p.seeds = seeds;
    p.n_seeds = quick ? 2 : 4;
    p.steps = quick ? 200 : 2000;
    if (s_self(exe, sizeof exe) != 0 || !mkdtemp(base)) {
        fprintf(stderr, "rlsched bench sweep: cannot make a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    snprintf(serial, sizeof serial, "%s/serial", base);
    snprintf(pool, sizeof pool, "%s/pool2", base);
    int cells = p.n_policies * p.n_seeds;
    double t1 = s_bench_one(serial, &p, exe, 1, &doc1, &err);
    double t2 = t1 >= 0 ? s_bench_one(pool, &p, exe, 2, &doc2, &err) : -1;
    if (t1 < 0 || t2 < 0) {
        fprintf(stderr, "rlsched bench sweep: %s\n", err.msg);
        goto done;
    }
    if (!json_equal(doc1, doc2)) {
        fprintf(stderr, "rlsched bench sweep: the pool's gathered document differs from the serial run's\n");
        goto done;
    }
    double v = cells / t2, b = cells / t1;
    if (json) {
        if (rls_bench_json_print("sweep_pool2_cells_per_s", v, "cells/s", "sweep_serial_cells_per_s", b,
                                 v / b, NULL, 0) != 0)
            goto done;
    } else {
        printf("%d cells of %" PRId64 " steps: serial %.2f cells/s, pool of 2 %.2f cells/s, ratio %.2f "
               "(identical gathered documents)\n", cells, p.steps, b, v, v / b);
    }
    ret = 0;
done:
    json_decref(doc1);
    json_decref(doc2);
    nftw(base, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    return ret;
}
