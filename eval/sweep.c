/* sweep.c - a sweep directory of independent evaluation cells: planned here,
 * run by a local process pool (fork/exec of `rlsched eval`) or a Slurm job
 * array (sbatch), gathered into one document (sweep.h, docs/SCALE.md).
 */
#define _GNU_SOURCE
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define S_VERSION 1
#define S_MAX_ARGS 16

struct s_cell {
    char *scenario;
    char *trace;          /* NULL: the scenario's own load */
    char *policy;
    uint64_t seed;
    int64_t steps;        /* 0: the scenario's horizon */
    char *argv[S_MAX_ARGS]; /* the eval arguments (argv[0] = "eval"), NULL-terminated */
};

struct rls_sweep {
    char dir[PATH_MAX];
    int n;
    struct s_cell *cells;
};

struct rls_sweep_params rls_sweep_default_params(void)
{
    struct rls_sweep_params p;
    memset(&p, 0, sizeof p);
    return p;
}

/* ---------------------------------------------------------------- files */

static int s_path(char *buf, size_t n, const char *dir, const char *sub, int i, const char *ext)
{
    int k = snprintf(buf, n, "%s/%s/%05d%s", dir, sub, i, ext);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

static int s_mkdir(const char *path, struct rls_err *err)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return rls_err_set(err, RLS_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    return RLS_OK;
}

int rls_sweep_json_write(const char *path, const json_t *doc, struct rls_err *err)
{
    char tmp[PATH_MAX + 16];
    FILE *f = rls_report_open_tmp(path, tmp, sizeof tmp, err);
    if (!f)
        return RLS_ERR_IO;
    int ok = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) == 0 &&
             fputc('\n', f) != EOF;
    return rls_report_commit(f, tmp, path, ok, err);
}

/* An absolute form of a path that must exist ("default" stays). */
static int s_abs(const char *in, char *out, size_t n, const char *what, struct rls_err *err)
{
    char buf[PATH_MAX];
    if (strcmp(in, "default") == 0 && strcmp(what, "scenario") == 0) {
        snprintf(out, n, "%s", in);
        return RLS_OK;
    }
    if (!realpath(in, buf))
        return rls_err_set(err, RLS_ERR_INVALID, "%s %s: %s", what, in, strerror(errno));
    if (strlen(buf) >= n)
        return rls_err_set(err, RLS_ERR_INVALID, "%s %s: path too long", what, in);
    snprintf(out, n, "%s", buf);
    return RLS_OK;
}

/* ---------------------------------------------------------------- plan */

static json_t *s_task_json(int index, const char *scenario, const char *trace, const char *policy,
                           uint64_t seed, int64_t steps)
{
    char seed_s[32], steps_s[32];
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, seed);
    snprintf(steps_s, sizeof steps_s, "%" PRId64, steps);
    json_t *argv = json_pack("[s,s,s]", "eval", "--scenario", scenario);
    if (!argv)
        return NULL;
    int bad = 0;
    if (trace) {
        bad |= json_array_append_new(argv, json_string("--trace"));
        bad |= json_array_append_new(argv, json_string(trace));
    }
    bad |= json_array_append_new(argv, json_string("--policy"));
    bad |= json_array_append_new(argv, json_string(policy));
    bad |= json_array_append_new(argv, json_string("--seed"));
    bad |= json_array_append_new(argv, json_string(seed_s));
    if (steps > 0) {
        bad |= json_array_append_new(argv, json_string("--steps"));
        bad |= json_array_append_new(argv, json_string(steps_s));
    }
    json_t *o = bad ? NULL
                    : json_pack("{s:i,s:s,s:o,s:s,s:I,s:o,s:o}", "index", index, "scenario", scenario,
                                "trace", trace ? json_string(trace) : json_null(), "policy", policy,
                                "seed", (json_int_t)seed, "steps",
                                steps > 0 ? json_integer((json_int_t)steps) : json_null(), "argv", argv);
    if (!o)
        json_decref(argv);
    return o;
}

int rls_sweep_plan(const char *dir, const struct rls_sweep_params *p, int *n_cells,
                   struct rls_err *err)
{
    static const char *const s_default_scenario[] = {"default"};
    const char *const *scen = p->n_scenarios > 0 ? p->scenarios : s_default_scenario;
    int n_scen = p->n_scenarios > 0 ? p->n_scenarios : 1;
    int n_tr = p->n_traces > 0 ? p->n_traces : 1;
    char path[PATH_MAX + 32], sc_abs[PATH_MAX], tr_abs[PATH_MAX];
    int st = RLS_OK;

    if (p->n_policies <= 0 || p->n_seeds <= 0 || p->n_scenarios < 0 || p->n_traces < 0 || p->steps < 0)
        return rls_err_set(err, RLS_ERR_INVALID, "a sweep needs at least one policy and one seed");
    for (int i = 0; i < p->n_seeds; i++)
        if (p->seeds[i] > (uint64_t)INT64_MAX)
            return rls_err_set(err, RLS_ERR_RANGE, "seed %" PRIu64 ": at most %" PRId64, p->seeds[i],
                               INT64_MAX);
    double total = (double)n_scen * n_tr * p->n_policies * p->n_seeds;
    if (total > RLS_SWEEP_MAX_CELLS)
        return rls_err_set(err, RLS_ERR_INVALID, "%.0f cells: at most %d", total, RLS_SWEEP_MAX_CELLS);
    for (int i = 0; i < n_scen; i++)
        if ((st = s_abs(scen[i], sc_abs, sizeof sc_abs, "scenario", err)) != RLS_OK)
            return st;
    for (int i = 0; i < p->n_traces; i++)
        if ((st = s_abs(p->traces[i], tr_abs, sizeof tr_abs, "trace", err)) != RLS_OK)
            return st;

    if (mkdir(dir, 0777) != 0) {
        if (errno != EEXIST)
            return rls_err_set(err, RLS_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
        snprintf(path, sizeof path, "%s/sweep.json", dir);
        if (access(path, F_OK) == 0)
            return rls_err_set(err, RLS_ERR_INVALID, "%s already holds a sweep", dir);
    }
    const char *subs[3] = {"tasks", "results", "logs"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs[k]);
        if ((st = s_mkdir(path, err)) != RLS_OK)
            return st;
    }

    int index = 0;
    for (int a = 0; a < n_scen; a++)
        for (int b = 0; b < n_tr; b++)
            for (int c = 0; c < p->n_policies; c++)
                for (int d = 0; d < p->n_seeds; d++) {
                    s_abs(scen[a], sc_abs, sizeof sc_abs, "scenario", err);
                    if (p->n_traces > 0)
                        s_abs(p->traces[b], tr_abs, sizeof tr_abs, "trace", err);
                    json_t *t = s_task_json(index, sc_abs, p->n_traces > 0 ? tr_abs : NULL,
                                            p->policies[c], p->seeds[d], p->steps);
                    if (!t)
                        return rls_err_set(err, RLS_ERR_NOMEM, "out of memory planning %s", dir);
                    s_path(path, sizeof path, dir, "tasks", index, ".json");
                    st = rls_sweep_json_write(path, t, err);
                    json_decref(t);
                    if (st != RLS_OK)
                        return st;
                    index++;
                }

    /* written last: a directory without it is not a sweep (a plan cut short) */
    json_t *top = json_pack("{s:i,s:i,s:o}", "version", S_VERSION, "cells", index, "steps",
                            p->steps > 0 ? json_integer((json_int_t)p->steps) : json_null());
    if (!top)
        return rls_err_set(err, RLS_ERR_NOMEM, "out of memory planning %s", dir);
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    st = rls_sweep_json_write(path, top, err);
    json_decref(top);
    if (st == RLS_OK && n_cells)
        *n_cells = index;
    return st;
}

/* ---------------------------------------------------------------- open */

static void s_cell_clear(struct s_cell *c)
{
    free(c->scenario);
    free(c->trace);
    free(c->policy);
    for (int k = 0; k < S_MAX_ARGS; k++)
        free(c->argv[k]);
    memset(c, 0, sizeof *c);
}

void rls_sweep_destroy(struct rls_sweep **s)
{
    if (!s || !*s)
        return;
    for (int i = 0; i < (*s)->n; i++)
        s_cell_clear(&(*s)->cells[i]);
    free((*s)->cells);
    free(*s);
    *s = NULL;
}

static int s_load_task(struct rls_sweep *s, int i, struct rls_err *err)
{
    char path[PATH_MAX + 32];
    json_error_t je;
    struct s_cell *c = &s->cells[i];
    int st = RLS_OK;
    s_path(path, sizeof path, s->dir, "tasks", i, ".json");
    json_t *t = json_load_file(path, 0, &je);
    if (!t)
        return rls_err_set(err, RLS_ERR_PARSE, "%s:%d: %s", path, je.line, je.text);
    json_t *jidx = json_object_get(t, "index"), *jsc = json_object_get(t, "scenario");
    json_t *jtr = json_object_get(t, "trace"), *jpol = json_object_get(t, "policy");
    json_t *jseed = json_object_get(t, "seed"), *jsteps = json_object_get(t, "steps");
    json_t *jargv = json_object_get(t, "argv");
    const char *field = !json_is_integer(jidx) || json_integer_value(jidx) != i ? "index"
                        : !json_is_string(jsc)                                  ? "scenario"
                        : !(json_is_string(jtr) || json_is_null(jtr))           ? "trace"
                        : !json_is_string(jpol)                                 ? "policy"
                        : !json_is_integer(jseed) || json_integer_value(jseed) < 0 ? "seed"
                        : !(json_is_null(jsteps) ||
                            (json_is_integer(jsteps) && json_integer_value(jsteps) > 0)) ? "steps"
                        : !json_is_array(jargv) || json_array_size(jargv) < 1 ||
                                  json_array_size(jargv) >= S_MAX_ARGS - 2 ? "argv"
                                                                           : NULL;
    if (field) {
        st = rls_err_set(err, RLS_ERR_PARSE, "%s: field '%s' missing or malformed", path, field);
        goto done;
    }
    c->scenario = strdup(json_string_value(jsc));
    c->trace = json_is_string(jtr) ? strdup(json_string_value(jtr)) : NULL;
    c->policy = strdup(json_string_value(jpol));
    c->seed = (uint64_t)json_integer_value(jseed);
    c->steps = json_is_integer(jsteps) ? (int64_t)json_integer_value(jsteps) : 0;
    if (!c->scenario || !c->policy || (json_is_string(jtr) && !c->trace)) {
        st = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t k = 0; k < json_array_size(jargv); k++) {
        json_t *a = json_array_get(jargv, k);
        if (!json_is_string(a)) {
            st = rls_err_set(err, RLS_ERR_PARSE, "%s: argv[%zu] is not a string", path, k);
            goto done;
        }
        if (!(c->argv[k] = strdup(json_string_value(a)))) {
            st = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    if (strcmp(c->argv[0], "eval") != 0)
        st = rls_err_set(err, RLS_ERR_PARSE, "%s: argv[0] must be \"eval\"", path);
done:
    json_decref(t);
    return st;
}

struct rls_sweep *rls_sweep_open(const char *dir, struct rls_err *err)
{
    struct rls_sweep *s = NULL;
    json_t *top = NULL;
    json_error_t je;
    char path[PATH_MAX + 32];
    char real[PATH_MAX];

    if (!realpath(dir, real)) {
        rls_err_set(err, RLS_ERR_NOTFOUND, "sweep %s: %s", dir, strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof path, "%s/sweep.json", real);
    if (!(top = json_load_file(path, 0, &je))) {
        rls_err_set(err, RLS_ERR_PARSE, "%s:%d: %s", path, je.line, je.text);
        return NULL;
    }
    json_t *jv = json_object_get(top, "version"), *jn = json_object_get(top, "cells");
    if (!json_is_integer(jv) || json_integer_value(jv) != S_VERSION) {
        rls_err_set(err, RLS_ERR_VERSION, "%s: field 'version' must be %d", path, S_VERSION);
        goto fail;
    }
    if (!json_is_integer(jn) || json_integer_value(jn) < 1 ||
        json_integer_value(jn) > RLS_SWEEP_MAX_CELLS) {
        rls_err_set(err, RLS_ERR_PARSE, "%s: field 'cells' must be 1..%d", path, RLS_SWEEP_MAX_CELLS);
        goto fail;
    }
    if (!(s = calloc(1, sizeof *s)) ||
        !(s->cells = calloc((size_t)json_integer_value(jn), sizeof *s->cells))) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    snprintf(s->dir, sizeof s->dir, "%s", real);
    s->n = (int)json_integer_value(jn);
    for (int i = 0; i < s->n; i++)
        if (s_load_task(s, i, err) != RLS_OK)
            goto fail;
    json_decref(top);
    return s;
fail:
    json_decref(top);
    rls_sweep_destroy(&s);
    return NULL;
}

int rls_sweep_n_cells(const struct rls_sweep *s)
{
    return s->n;
}

/* The cell's result document, or NULL when absent or not parsable. */
static json_t *s_result(const struct rls_sweep *s, int i)
{
    char path[PATH_MAX + 32];
    s_path(path, sizeof path, s->dir, "results", i, ".json");
    json_t *r = json_load_file(path, 0, NULL);
    if (r && !json_is_array(json_object_get(r, "policies"))) {
        json_decref(r);
        r = NULL;
    }
    return r;
}

enum rls_sweep_state rls_sweep_cell_state(const struct rls_sweep *s, int i)
{
    char path[PATH_MAX + 32];
    json_t *r = s_result(s, i);
    if (r) {
        json_decref(r);
        return RLS_SWEEP_DONE;
    }
    s_path(path, sizeof path, s->dir, "results", i, ".failed");
    return access(path, F_OK) == 0 ? RLS_SWEEP_FAILED : RLS_SWEEP_MISSING;
}

int rls_sweep_unfinished(const struct rls_sweep *s, int *idx)
{
    int k = 0;
    for (int i = 0; i < s->n; i++)
        if (rls_sweep_cell_state(s, i) != RLS_SWEEP_DONE)
            idx[k++] = i;
    return k;
}

/* ---------------------------------------------------------------- run */

/* Starts cell i: a child running exe with the cell's arguments and --json
 * results/NNNNN.json, stdout/stderr into logs/. Returns its pid or -1. */
static pid_t s_start(const struct rls_sweep *s, int i, const char *exe, struct rls_err *err)
{
    char out[PATH_MAX + 32], errp[PATH_MAX + 32], res[PATH_MAX + 32];
    char *argv[S_MAX_ARGS + 4];
    const struct s_cell *c = &s->cells[i];
    int k = 0;
    s_path(out, sizeof out, s->dir, "logs", i, ".out");
    s_path(errp, sizeof errp, s->dir, "logs", i, ".err");
    s_path(res, sizeof res, s->dir, "results", i, ".json");
    argv[k++] = (char *)exe;
    for (int j = 0; c->argv[j]; j++)
        argv[k++] = c->argv[j];
    argv[k++] = "--json";
    argv[k++] = res;
    argv[k] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rls_err_set(err, RLS_ERR_EXTERNAL, "cannot start cell %d: %s", i, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* dies with the pool: a killed pool leaves no orphan behind */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        int fi = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fo < 0 || fe < 0 || fi < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(126);
        execv(exe, argv);
        dprintf(2, "rlsched sweep: cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Records how cell i ended: removes a stale .failed record on success,
 * writes one otherwise. */
static int s_record(const struct rls_sweep *s, int i, int status, struct rls_err *err)
{
    char path[PATH_MAX + 32];
    s_path(path, sizeof path, s->dir, "results", i, ".failed");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && rls_sweep_cell_state(s, i) != RLS_SWEEP_MISSING) {
        unlink(path);
        return RLS_OK;
    }
    json_t *o = WIFSIGNALED(status) ? json_pack("{s:i}", "signal", WTERMSIG(status))
                                    : json_pack("{s:i}", "exit", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (!o)
        return rls_err_set(err, RLS_ERR_NOMEM, "out of memory");
    int st = rls_sweep_json_write(path, o, err);
    json_decref(o);
    return st;
}

int rls_sweep_run(struct rls_sweep *s, const char *exe, const int *idx, int n, int jobs,
                  int *n_failed, struct rls_err *err)
{
    pid_t *pids = NULL;
    int *cell = NULL;
    int st = RLS_OK, next = 0, running = 0, failed = 0;
    if (jobs < 1 || n < 0)
        return rls_err_set(err, RLS_ERR_INVALID, "jobs must be at least 1");
    for (int k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= s->n)
            return rls_err_set(err, RLS_ERR_INVALID, "cell %d: the sweep has cells 0..%d", idx[k], s->n - 1);
    if (!(pids = calloc((size_t)jobs, sizeof *pids)) || !(cell = calloc((size_t)jobs, sizeof *cell))) {
        st = rls_err_set(err, RLS_ERR_NOMEM, "out of memory");
        goto done;
    }
    while (next < n || running > 0) {
        /* fill the free slots */
        for (int j = 0; j < jobs && next < n && st == RLS_OK; j++) {
            if (pids[j] > 0)
                continue;
            while (next < n && rls_sweep_cell_state(s, idx[next]) == RLS_SWEEP_DONE)
                next++;             /* done cells are never rerun */
            if (next >= n)
                break;
            pid_t pid = s_start(s, idx[next], exe, err);
            if (pid < 0) {
                st = RLS_ERR_EXTERNAL;
                break;
            }
            pids[j] = pid;
            cell[j] = idx[next++];
            running++;
        }
        if (st != RLS_OK)
            next = n;               /* start nothing more; wait for the running ones */
        /* reap ours (only ours: the caller may have other children) */
        int reaped = 0;
        for (int j = 0; j < jobs; j++) {
            int status = 0;
            if (pids[j] <= 0)
                continue;
            pid_t r = waitpid(pids[j], &status, WNOHANG);
            if (r == 0)
                continue;
            if (r < 0)
                status = 127 << 8;
            pids[j] = 0;
            running--;
            reaped++;
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                rls_sweep_cell_state(s, cell[j]) != RLS_SWEEP_DONE)
                failed++;
            int rs = s_record(s, cell[j], status, err);
            if (rs != RLS_OK && st == RLS_OK)
                st = rs;
        }
        if (!reaped && running > 0) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
    }
done:
    free(pids);
    free(cell);
    if (n_failed)
        *n_failed = failed;
    return st;
}

/* ---------------------------------------------------------------- submit */

/* Appends s single-quoted for sh. */
static int s_shq(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    return fputc('\'', f) == EOF ? -1 : 0;
}

/* idx as a Slurm array list: "0-7", "1,3-5". Returns 0 or -1 (too long). */
static int s_array_list(const int *idx, int n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < n;) {
        int e = k;
        while (e + 1 < n && idx[e + 1] == idx[e] + 1)
            e++;
        int w = e > k ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", idx[k], idx[e])
                      : snprintf(buf + used, len - used, "%s%d", used ? "," : "", idx[k]);
        if (w < 0 || (size_t)w >= len - used)
            return -1;
        used += (size_t)w;
        k = e + 1;
    }
    return 0;
}

int rls_sweep_submit(struct rls_sweep *s, const char *exe, const char *sbatch, const int *idx,
                     int n, int max_running, const char *const *extra, int n_extra, char *job_id, size_t job_id_len,
                     struct rls_err *err)
{
    char script[PATH_MAX + 32], tmp[PATH_MAX + 48], logs[PATH_MAX + 64];
    char list[8192], array_opt[8300], out[4096];
    char **argv = NULL;
    int st = RLS_OK, pipefd[2] = {-1, -1};
    if (n <= 0)
        return rls_err_set(err, RLS_ERR_INVALID, "nothing to submit");
    if (s_array_list(idx, n, list, sizeof list) != 0)
        return rls_err_set(err, RLS_ERR_INVALID, "%d cells make too long an array list", n);
    for (int k = 0;; k++) {
        snprintf(script, sizeof script, "%s/submit-%d.sbatch", s->dir, k);
        if (access(script, F_OK) != 0)
            break;
    }
    FILE *f = rls_report_open_tmp(script, tmp, sizeof tmp, err);
    if (!f)
        return RLS_ERR_IO;
    snprintf(logs, sizeof logs, "%s/logs/slurm-%%A_%%a.out", s->dir);
    fprintf(f, "#!/bin/sh\n# written by rlsched sweep submit: one array task per cell (%s)\n", list);
    fprintf(f, "#SBATCH --job-name=rlsched-sweep\n#SBATCH --ntasks=1\n#SBATCH --output=%s\n", logs);
    fputs("exec ", f);
    s_shq(f, exe);
    fputs(" sweep task ", f);
    s_shq(f, s->dir);
    int ok = fputs(" \"$SLURM_ARRAY_TASK_ID\"\n", f) != EOF;
    if ((st = rls_report_commit(f, tmp, script, ok, err)) != RLS_OK)
        return st;
    chmod(script, 0755);

    if (max_running > 0)
        snprintf(array_opt, sizeof array_opt, "--array=%s%%%d", list, max_running);
    else
        snprintf(array_opt, sizeof array_opt, "--array=%s", list);
    if (!(argv = calloc((size_t)n_extra + 5, sizeof *argv)))
        return rls_err_set(err, RLS_ERR_NOMEM, "out of memory");
    int k = 0;
    argv[k++] = (char *)(sbatch ? sbatch : "sbatch");
    argv[k++] = "--parsable";
    argv[k++] = array_opt;
    for (int j = 0; j < n_extra; j++)
        argv[k++] = (char *)extra[j];
    argv[k++] = script;
    argv[k] = NULL;
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        st = rls_err_set(err, RLS_ERR_EXTERNAL, "pipe: %s", strerror(errno));
        goto done;
    }
    pid_t pid = fork();
    if (pid < 0) {
        st = rls_err_set(err, RLS_ERR_EXTERNAL, "cannot run %s: %s", argv[0], strerror(errno));
        goto done;
    }
    if (pid == 0) {
        if (dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
            _exit(126);
        execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    size_t used = 0;
    for (;;) {
        ssize_t r = read(pipefd[0], out + used, sizeof out - 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        used += (size_t)r;
        if (used == sizeof out - 1) {
            char sink[512];   /* keep reading so sbatch never blocks on a full pipe */
            while (read(pipefd[0], sink, sizeof sink) > 0) {
            }
            break;
        }
    }
    out[used] = '\0';
    while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == '\r' || out[used - 1] == ' '))
        out[--used] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        for (char *p = out; *p; p++)
            if (*p == '\n')
                *p = ' ';
        st = rls_err_set(err, RLS_ERR_EXTERNAL, "%s failed (%s %d): %s", argv[0],
                         WIFEXITED(status) ? "exit" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), out);
        goto done;
    }
    char *semi = strchr(out, ';');   /* --parsable: "JOBID[;CLUSTER]" */
    if (semi)
        *semi = '\0';
    snprintf(job_id, job_id_len, "%s", out);
done:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(argv);
    return st;
}

/* ---------------------------------------------------------------- gather */

json_t *rls_sweep_gather(const struct rls_sweep *s, struct rls_err *err)
{
    json_t *failed = json_array(), *missing = json_array(), *results = json_array(), *doc = NULL;
    int done = 0, bad = !failed || !missing || !results;
    for (int i = 0; i < s->n && !bad; i++) {
        const struct s_cell *c = &s->cells[i];
        json_t *r = s_result(s, i);
        if (!r) {
            bad |= json_array_append_new(rls_sweep_cell_state(s, i) == RLS_SWEEP_FAILED ? failed : missing,
                                         json_integer(i));
            continue;
        }
        json_t *o = json_pack("{s:i,s:s,s:o,s:s,s:I,s:o,s:o}", "index", i, "scenario", c->scenario,
                              "trace", c->trace ? json_string(c->trace) : json_null(), "policy",
                              c->policy, "seed", (json_int_t)c->seed, "steps",
                              c->steps > 0 ? json_integer((json_int_t)c->steps) : json_null(), "eval", r);
        bad |= !o || json_array_append_new(results, o);
        done++;
    }
    if (!bad)
        doc = json_pack("{s:i,s:i,s:O,s:O,s:O}", "cells", s->n, "done", done, "failed", failed,
                        "missing", missing, "results", results);
    json_decref(failed);
    json_decref(missing);
    json_decref(results);
    if (!doc)
        rls_err_set(err, RLS_ERR_NOMEM, "out of memory gathering %s", s->dir);
    return doc;
}

static double s_num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *s_base(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

void rls_sweep_table(FILE *f, const json_t *doc)
{
    const json_t *results = json_object_get(doc, "results");
    fprintf(f, "%-5s %-18s %-22s %-18s %6s %10s %8s %9s %7s %9s %7s\n", "cell", "scenario", "trace",
            "policy", "seed", "cost $", "x oracle", "SLO viol%", "drop %", "p95 ms", "actions");
    for (size_t k = 0; k < json_array_size(results); k++) {
        const json_t *r = json_array_get(results, k);
        const json_t *tr = json_object_get(r, "trace");
        const json_t *pol = json_array_get(json_object_get(json_object_get(r, "eval"), "policies"), 0);
        fprintf(f, "%-5d %-18.18s %-22.22s %-18.18s %6" JSON_INTEGER_FORMAT " %10.4f %8.3f %9.3f %7.3f %9.1f %7.0f\n",
                (int)json_integer_value(json_object_get(r, "index")),
                s_base(json_string_value(json_object_get(r, "scenario"))),
                json_is_string(tr) ? s_base(json_string_value(tr)) : "-",
                json_string_value(json_object_get(r, "policy")),
                json_integer_value(json_object_get(r, "seed")), s_num(pol, "cost"),
                s_num(pol, "cost_vs_oracle"), s_num(pol, "slo_violation_pct"), s_num(pol, "dropped_pct"),
                s_num(pol, "p95_ms"), s_num(pol, "scale_actions"));
    }
    fprintf(f, "%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " cells done, %zu failed, %zu missing\n",
            json_integer_value(json_object_get(doc, "done")), json_integer_value(json_object_get(doc, "cells")),
            json_array_size(json_object_get(doc, "failed")), json_array_size(json_object_get(doc, "missing")));
}
