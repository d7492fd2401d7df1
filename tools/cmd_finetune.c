/* cmd_finetune.c - `rlsched finetune`: the reward-driven stage in the
 * simulator (trainer/search.h): a CEM search over a checkpoint's action
 * biases, every candidate run as deployed on training traces. Parses and
 * prints only; progress on stderr, the summary as JSON on stdout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../env/scenario.h"
#include "../eval/eval.h"
#include "../policies/checkpoint.h"
#include "../policies/policy.h"
#include "../trainer/search.h"
#include "cli.h"

#define S_PROG "rlsched finetune"
#define S_MAX_TRACES 256

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched finetune --init POLICY.h5 --out OUT.h5 [--scenario FILE|default]\n"
            "                        [--trace FILE]... [--task SCENARIO]... [--steps N] [--seed N]\n"
            "                        [--iters N] [--pop N]\n"
            "                        [--elite N] [--sigma S] [--lambda L] [--churn C] [--slack PP]\n"
            "                        [--controller :hold=N:floor=U:...] [--quiet]\n"
            "\n"
            "The reward-driven stage in the simulator: a cross-entropy search over one logit\n"
            "offset per replica delta and per placement of POLICY's last layer; every candidate\n"
            "runs as deployed (controller and out-of-distribution guard) on each task, and pays\n"
            "cost / the start's cost + L x violation points above the start's + C x extra scale\n"
            "actions (trainer/TRAINER.md). Writes the best candidate (never worse than the start\n"
            "on that objective) to OUT.h5.\n"
            "  --trace     a training task: the scenario with this trace as every service's load\n"
            "              (repeatable)\n"
            "  --task      a training task: this scenario with its own loads (repeatable, e.g.\n"
            "              random:SEED:services=6; with neither --trace nor --task: --scenario)\n"
            "  --steps     steps per trace task (default 5760: a day at 15 s; 0 = the whole trace);\n"
            "              a --task runs its scenario's horizon\n"
            "  --seed      seed of the search and of task k's simulator (seed + k) (1)\n"
            "  --iters, --pop, --elite, --sigma   CEM: 6 iterations of 10, fitted to the best 3,\n"
            "              initial standard deviation 1 logit\n"
            "  --lambda    price of one violation percentage point above the start's (0.2)\n"
            "  --churn     price of the relative increase of scale actions (0.05)\n"
            "  --slack     violation points above the start's that are free (0)\n"
            "  --controller  the controller options candidates run behind (docs/POLICIES.md)\n");
}

struct s_opts {
    const char *init, *out, *scenario, *controller;
    const char *traces[S_MAX_TRACES], *tasks[S_MAX_TRACES];
    int n_traces, n_tasks;
    uint64_t steps, seed, iters, pop, elite;
    double sigma, lambda, churn, slack;
    int quiet;
};

/* Returns 0, 2 (usage error, printed) or 3 (--help printed). */
static int s_parse(int argc, char **argv, struct s_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->scenario = "default";
    o->steps = 5760;
    o->seed = 1;
    o->iters = 6;
    o->pop = 10;
    o->elite = 3;
    o->sigma = 1.0;
    o->lambda = 0.2;
    o->churn = 0.05;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 3;
        }
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, S_PROG ": %s: missing value (try --help)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--init") == 0)
            o->init = v;
        else if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--scenario") == 0)
            o->scenario = v;
        else if (strcmp(a, "--controller") == 0)
            o->controller = v;
        else if (strcmp(a, "--trace") == 0) {
            if (o->n_traces >= S_MAX_TRACES) {
                fprintf(stderr, S_PROG ": more than %d --trace\n", S_MAX_TRACES);
                return 2;
            }
            o->traces[o->n_traces++] = v;
        } else if (strcmp(a, "--task") == 0) {
            if (o->n_tasks >= S_MAX_TRACES) {
                fprintf(stderr, S_PROG ": more than %d --task\n", S_MAX_TRACES);
                return 2;
            }
            o->tasks[o->n_tasks++] = v;
        } else if (strcmp(a, "--steps") == 0)
            bad = rls_cli_parse_u64(v, 100000000ULL, &o->steps);
        else if (strcmp(a, "--seed") == 0)
            bad = rls_cli_parse_u64(v, UINT64_MAX / 2, &o->seed);
        else if (strcmp(a, "--iters") == 0)
            bad = rls_cli_parse_u64(v, 1000, &o->iters) || o->iters < 1;
        else if (strcmp(a, "--pop") == 0)
            bad = rls_cli_parse_u64(v, 10000, &o->pop) || o->pop < 2;
        else if (strcmp(a, "--elite") == 0)
            bad = rls_cli_parse_u64(v, 10000, &o->elite) || o->elite < 1;
        else if (strcmp(a, "--sigma") == 0)
            bad = rls_cli_parse_double(v, 1e-6, 100.0, &o->sigma);
        else if (strcmp(a, "--lambda") == 0)
            bad = rls_cli_parse_double(v, 0.0, 1e6, &o->lambda);
        else if (strcmp(a, "--churn") == 0)
            bad = rls_cli_parse_double(v, 0.0, 1e6, &o->churn);
        else if (strcmp(a, "--slack") == 0)
            bad = rls_cli_parse_double(v, 0.0, 100.0, &o->slack);
        else {
            fprintf(stderr, S_PROG ": unknown option '%s' (try --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, S_PROG ": %s '%s': not a valid value (try --help)\n", a, v);
            return 2;
        }
    }
    if (!o->init || !o->out) {
        fprintf(stderr, S_PROG ": --init and --out are required (try --help)\n");
        return 2;
    }
    if (o->elite > o->pop) {
        fprintf(stderr, S_PROG ": --elite %" PRIu64 " is more than --pop %" PRIu64 "\n", o->elite, o->pop);
        return 2;
    }
    return 0;
}

static void s_progress(void *ctx, int32_t it, double best, double elite_mean)
{
    (void)ctx;
    fprintf(stderr, S_PROG ": iteration %d: best J %.4f, elite mean %.4f\n", (int)it, best, elite_mean);
}

int rls_cmd_finetune(int argc, char **argv)
{
    struct s_opts o;
    struct rls_err err;
    struct rls_checkpoint *ck = NULL;
    struct rls_scenario *sc[2 * S_MAX_TRACES + 1] = {0};
    struct rls_search_task tasks[2 * S_MAX_TRACES + 1];
    struct rls_search_params p = rls_search_default_params();
    struct rls_search_report rep;
    char msg[512];
    int n = 0, ret = 1, rc = s_parse(argc, argv, &o);
    if (rc)
        return rc == 3 ? 0 : rc;
    rls_err_clear(&err);
    if (o.controller && rls_policy_learned_options(o.controller, &p.controller, &p.ood, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": --controller: %s\n", err.msg);
        return 2;
    }
    if (rls_cli_check_writable(o.out, msg, sizeof msg) != 0) {
        fprintf(stderr, S_PROG ": --out: %s\n", msg);
        return 1;
    }
    if (rls_checkpoint_load(o.init, &ck, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        return 1;
    }
    /* tasks: the scenario under each trace, then each --task scenario, or the scenario alone */
    int total = o.n_traces + o.n_tasks ? o.n_traces + o.n_tasks : 1;
    for (int k = 0; k < total; k++) {
        double dur = 0.0;
        int traced = k < o.n_traces;
        const char *name = traced || !o.n_tasks ? o.scenario : o.tasks[k - o.n_traces];
        if (rls_scenario_load(name, &sc[k], &err) != RLS_OK ||
            (traced && rls_eval_apply_trace(sc[k], o.traces[k], NULL, &dur, &err) != RLS_OK)) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        n = k + 1;
        tasks[k].scenario = sc[k];
        tasks[k].seed = o.seed + (uint64_t)k;
        tasks[k].steps = traced ? (int64_t)o.steps : 0;   /* a scenario's own load: its horizon */
        if (o.steps == 0 && traced)
            tasks[k].steps = (int64_t)(dur / sc[k]->step_s) > 0 ? (int64_t)(dur / sc[k]->step_s) : 1;
    }
    p.iterations = (int32_t)o.iters;
    p.population = (int32_t)o.pop;
    p.elite = (int32_t)o.elite;
    p.sigma = o.sigma;
    if (p.sigma_min > p.sigma)
        p.sigma_min = p.sigma;
    p.lambda = o.lambda;
    p.churn = o.churn;
    p.slack_pp = o.slack;
    p.seed = o.seed;
    if (!o.quiet)
        p.progress = s_progress;
    if (rls_search_run(ck, tasks, n, &p, &rep, &err) != RLS_OK ||
        rls_checkpoint_save(ck, o.out, &err) != RLS_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.msg);
        goto done;
    }
    {
        json_t *off = json_array(), *doc;
        for (int32_t k = 0; k < rep.n_offsets; k++)
            json_array_append_new(off, json_real(rep.offsets[k]));
        doc = json_pack("{s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:o}",
                        "init", o.init, "out", o.out, "tasks", n, "evaluations", (int)rep.evaluations,
                        "j_initial", rep.j_initial, "j_best", rep.j_best,
                        "cost_initial", rep.cost_initial, "cost_best", rep.cost_best,
                        "violation_pct_initial", rep.violation_initial,
                        "violation_pct_best", rep.violation_best,
                        "actions_initial", (json_int_t)rep.actions_initial,
                        "actions_best", (json_int_t)rep.actions_best, "offsets", off);
        if (!doc || json_dumpf(doc, stdout, JSON_COMPACT) != 0) {
            fprintf(stderr, S_PROG ": out of memory\n");
            json_decref(doc);
            goto done;
        }
        fputc('\n', stdout);
        json_decref(doc);
    }
    ret = 0;
done:
    for (int k = 0; k < 2 * S_MAX_TRACES + 1; k++)
        rls_scenario_destroy(&sc[k]);
    rls_checkpoint_destroy(&ck);
    return ret;
}
