/* cmd_train.c - `rlsched train`: train a policy offline from a replay file
 * (trainer/train.h), or with --fqe estimate a checkpoint's value by fitted Q
 * evaluation. Progress (steps, loss, Q estimate, updates/s, ETA) goes to
 * stderr; the summary to stdout. Built without libtorch (RLS_WITH_TORCH not
 * defined) the command says so and fails.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../env/status.h"
#include "cli.h"

int rls_cmd_train(int argc, char **argv);

#ifndef RLS_WITH_TORCH

int rls_cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rlsched train: this rlsched was built without libtorch (install libtorch-dev and rebuild)\n");
    return 1;
}

#else

#include "../env/scenario.h"
#include "../eval/eval.h"
#include "../trainer/train.h"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched train --data FILE.h5 [--algo ALGO] --steps N --out POLICY.h5\n"
            "                     [--batch B] [--lr LR] [--seed N] [--hidden 256,256] [--gamma G]\n"
            "                     [--target-update N] [--alpha A] [--resume CKPT.h5] [--cache-mb M]\n"
            "                     [--eval-every K --scenario FILE|default [--trace FILE] [--eval-steps N]]\n"
            "                     [--threads N] [--no-train-state] [--quiet]\n"
            "                     [--init BC.h5] [--reward data|lagrangian [--lambda L] [--churn C]]\n"
            "                     [--temperature T] [--expectile E] [--support]\n"
            "       rlsched train --fqe --data FILE.h5 --policy CKPT.h5 [--steps N] [--batch B] [--lr LR]\n"
            "\n"
            "Trains a scaling policy offline. ALGO: bc, double-dqn, discrete-cql (default),\n"
            "discrete-bcq, discrete-iql (defaults: d3rlpy's, trainer/TRAINER.md).\n"
            "  --steps        gradient steps to reach (a resumed run continues its count)\n"
            "  --eval-every   evaluate in the simulator every K steps and keep the best\n"
            "                 checkpoint (score = -cost * (1 + 0.1 * SLO violation %%))\n"
            "  --resume       continue from a checkpoint of the same algorithm: exactly (networks,\n"
            "                 Adam moments, sampling stream) from its /train_state, else its weights\n"
            "  --no-train-state  leave /train_state out of --out (a smaller file that cannot\n"
            "                 resume exactly: for shipping)\n"
            "  --cache-mb     read the replay file chunk-wise with this cache (files larger than RAM)\n"
            "  --init         (bc, discrete-iql) start the actor from this bc checkpoint and keep its\n"
            "                 normalization: the reward-driven stage after imitation\n"
            "  --reward       lagrangian: per-service reward from each transition's features,\n"
            "                 -(replicas + L * late load + C * [scale action]) / max replicas\n"
            "                 (--lambda L, 20; --churn C, 0.02; trainer/TRAINER.md)\n"
            "  --support      (discrete-iql --init) write [Q | the init actor] as one network: the\n"
            "                 policy takes the best-Q action among those the imitation finds likely\n"
            "  --temperature, --expectile  discrete-iql's advantage temperature (3) and expectile (0.7)\n"
            "  --fqe          fitted Q evaluation of --policy on the data: prints its estimated value\n");
}

/* Progress on stderr: one rewritten line on a terminal, one line per report otherwise. */
static void s_progress(void *ctx, const struct rls_train_progress *pr)
{
    int tty = *(const int *)ctx;
    char q[32] = "", acc[32] = "", ev[128] = "";
    if (!isnan(pr->mean_q))
        snprintf(q, sizeof q, "  Q %.4g", pr->mean_q);
    if (!isnan(pr->accuracy))
        snprintf(acc, sizeof acc, "  acc %.3f", pr->accuracy);
    if (pr->evaluated)
        snprintf(ev, sizeof ev, "  eval cost $%.2f slo %.2f%% score %.3f (best %.3f)", pr->eval_cost,
                 pr->eval_slo_pct, pr->eval_score, pr->best_score);
    fprintf(stderr, "%sstep %" PRId64 "/%" PRId64 "  loss %.5g%s%s  %.0f upd/s  ETA %.0fs%s%s",
            tty ? "\r" : "", pr->step, pr->total, pr->loss, q, acc, pr->updates_per_s, pr->eta_s, ev,
            tty && !pr->evaluated ? "   " : "\n");
    fflush(stderr);
}

static int s_parse_hidden(const char *s, struct rls_train_params *p)
{
    char buf[128];
    char *save = NULL, *tok = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    p->n_hidden = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long v = strtol(tok, &end, 10);
        if (*end || v < 1 || v > 65536 || p->n_hidden >= RLS_TRAIN_MAX_HIDDEN)
            return -1;
        p->hidden[p->n_hidden++] = (int32_t)v;
    }
    return 0;
}

/* The numeric options, each with its range: a value outside it is refused
 * before any cast (--batch 0 or 99999999999 never reaches the trainer). */
struct s_numopt {
    const char *name;
    int integer;        /* 1: a whole number */
    double lo, hi;      /* inclusive range */
    const char *range;  /* the range in words, for the error line */
};

static const struct s_numopt s_numopts[] = {
    {"--steps", 1, 1, 1e12, "an integer 1..1e12"},
    {"--batch", 1, 1, 1048576, "an integer 1..1048576"},
    {"--lr", 0, 1e-12, 10, "a number in (0, 10]"},
    {"--seed", 1, 0, 9007199254740992.0, "an integer 0..2^53"},
    {"--gamma", 0, 0, 1, "a number in [0, 1]"},
    {"--target-update", 1, 1, 1e12, "an integer 1..1e12"},
    {"--alpha", 0, 0, 1e6, "a number in [0, 1e6]"},
    {"--eval-every", 1, 0, 1e12, "an integer 0..1e12"},
    {"--eval-steps", 1, 1, 1e9, "an integer 1..1e9"},
    {"--cache-mb", 0, 0, 1e7, "a number of MiB in [0, 1e7]"},
    {"--threads", 1, 1, 1024, "an integer 1..1024"},
    {"--lambda", 0, 0, 1e6, "a number in [0, 1e6]"},
    {"--churn", 0, 0, 1e6, "a number in [0, 1e6]"},
    {"--temperature", 0, 1e-9, 1e6, "a number in (0, 1e6]"},
    {"--expectile", 0, 1e-9, 1 - 1e-9, "a number in (0, 1)"},
};

/* Finds opt among s_numopts and parses v within its range into *out.
 * Returns 0, 1 (not a numeric option) or -1 (bad value: one line printed). */
static int s_num(const char *opt, const char *v, double *out)
{
    for (size_t k = 0; k < sizeof s_numopts / sizeof s_numopts[0]; k++) {
        const struct s_numopt *o = &s_numopts[k];
        if (strcmp(opt, o->name) != 0)
            continue;
        double x = 0.0;
        if (rls_cli_parse_double(v, o->lo, o->hi, &x) != 0 || (o->integer && x != floor(x))) {
            fprintf(stderr, "rlsched train: %s '%s': expected %s\n", opt, v, o->range);
            return -1;
        }
        *out = x;
        return 0;
    }
    return 1;
}

/* 1 when opt is an option that takes a value. */
static int s_takes_value(const char *opt)
{
    static const char *const names[] = {"--data", "--algo", "--out", "--resume", "--init", "--reward",
                                        "--scenario", "--trace", "--policy", "--hidden"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(opt, names[k]) == 0)
            return 1;
    for (size_t k = 0; k < sizeof s_numopts / sizeof s_numopts[0]; k++)
        if (strcmp(opt, s_numopts[k].name) == 0)
            return 1;
    return 0;
}

static int s_fqe(const struct rls_fqe_params *fp, int quiet, int tty)
{
    struct rls_fqe_result fr;
    struct rls_err err = {0, ""};
    struct rls_fqe_params p = *fp;
    if (!quiet) {
        p.progress = s_progress;
        p.progress_ctx = &tty;
    }
    if (rls_fqe_run(&p, &fr, &err) != RLS_OK) {
        fprintf(stderr, "%srlsched train --fqe: %s\n", tty && !quiet ? "\n" : "", err.msg);
        return 1;
    }
    if (tty && !quiet)
        fprintf(stderr, "\n");
    printf("fqe %s on %s: initial-state value %.6g, mean state value %.6g (%" PRId64 " steps, loss %.4g)\n",
           p.policy_path, p.data_path, fr.initial_value, fr.mean_value, fr.steps, fr.last_loss);
    return 0;
}

int rls_cmd_train(int argc, char **argv)
{
    struct rls_train_params p = rls_train_default_params();
    struct rls_fqe_params fp = rls_fqe_default_params();
    struct rls_train_result res;
    struct rls_err err = {0, ""};
    struct rls_scenario *sc = NULL;
    const char *scenario = NULL, *trace = NULL, *policy = NULL;
    int fqe = 0, quiet = 0, tty = isatty(2), rc = 1;
    int have_steps = 0, have_batch = 0, have_lr = 0;
    double v = 0.0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--fqe") == 0) {
            fqe = 1;
            continue;
        }
        if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (strcmp(a, "--support") == 0) {
            p.support_head = 1;
            continue;
        }
        if (strcmp(a, "--no-train-state") == 0) {
            p.no_train_state = 1;
            continue;
        }
        if (!s_takes_value(a)) {
            fprintf(stderr, "rlsched train: unknown option '%s' (rlsched train --help)\n", a);
            return 2;
        }
        if (!val) {
            fprintf(stderr, "rlsched train: %s needs a value (rlsched train --help)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--data") == 0) p.data_path = val;
        else if (strcmp(a, "--algo") == 0) p.algo = val;
        else if (strcmp(a, "--out") == 0) p.out_path = val;
        else if (strcmp(a, "--resume") == 0) p.resume_path = val;
        else if (strcmp(a, "--init") == 0) p.init_path = val;
        else if (strcmp(a, "--reward") == 0) {
            if (strcmp(val, "data") == 0) p.reward_kind = RLS_TRAIN_REWARD_DATA;
            else if (strcmp(val, "lagrangian") == 0) p.reward_kind = RLS_TRAIN_REWARD_LAGRANGIAN;
            else {
                fprintf(stderr, "rlsched train: --reward: '%s' (known: data, lagrangian)\n", val);
                return 2;
            }
        }
        else if (strcmp(a, "--scenario") == 0) scenario = val;
        else if (strcmp(a, "--trace") == 0) trace = val;
        else if (strcmp(a, "--policy") == 0) policy = val;
        else if (strcmp(a, "--hidden") == 0) {
            if (s_parse_hidden(val, &p) != 0) {
                fprintf(stderr, "rlsched train: --hidden: bad list '%s' (e.g. 256,256)\n", val);
                return 2;
            }
        } else {
            int r = s_num(a, val, &v);
            if (r < 0)
                return 2;
            if (r > 0) {
                fprintf(stderr, "rlsched train: unknown option '%s' (rlsched train --help)\n", a);
                return 2;
            }
            if (strcmp(a, "--steps") == 0) { p.steps = (int64_t)v; have_steps = 1; }
            else if (strcmp(a, "--batch") == 0) { p.batch = (int32_t)v; have_batch = 1; }
            else if (strcmp(a, "--lr") == 0) { p.lr = v; have_lr = 1; }
            else if (strcmp(a, "--seed") == 0) p.seed = (uint64_t)v;
            else if (strcmp(a, "--gamma") == 0) p.gamma = v;
            else if (strcmp(a, "--target-update") == 0) p.target_update = (int64_t)v;
            else if (strcmp(a, "--alpha") == 0) p.cql_alpha = v;
            else if (strcmp(a, "--eval-every") == 0) p.eval_every = (int64_t)v;
            else if (strcmp(a, "--eval-steps") == 0) p.eval_steps = (int64_t)v;
            else if (strcmp(a, "--cache-mb") == 0) p.cache_bytes = (int64_t)(v * 1048576.0);
            else if (strcmp(a, "--threads") == 0) p.threads = (int32_t)v;
            else if (strcmp(a, "--lambda") == 0) p.lagrange_lambda = v;
            else if (strcmp(a, "--churn") == 0) p.churn_penalty = v;
            else if (strcmp(a, "--temperature") == 0) p.iql_temperature = v;
            else if (strcmp(a, "--expectile") == 0) p.iql_expectile = v;
            else {
                fprintf(stderr, "rlsched train: unknown option '%s' (rlsched train --help)\n", a);
                return 2;
            }
        }
    }
    if (!p.data_path) {
        fprintf(stderr, "rlsched train: --data FILE.h5 is required (rlsched train --help)\n");
        return 2;
    }
    if (fqe) {
        if (!policy) {
            fprintf(stderr, "rlsched train --fqe: --policy CKPT.h5 is required\n");
            return 2;
        }
        fp.data_path = p.data_path;
        fp.policy_path = policy;
        fp.seed = p.seed;
        fp.cache_bytes = p.cache_bytes;
        if (have_steps) fp.steps = p.steps;
        if (have_batch) fp.batch = p.batch;
        if (have_lr) fp.lr = p.lr;
        return s_fqe(&fp, quiet, tty);
    }
    if (!p.out_path) {
        fprintf(stderr, "rlsched train: --out POLICY.h5 is required (rlsched train --help)\n");
        return 2;
    }
    char why[512];
    if (rls_cli_check_writable(p.out_path, why, sizeof why) != 0) {
        fprintf(stderr, "rlsched train: --out: %s\n", why);
        return 1;
    }
    if (!rls_train_algo_known(p.algo)) {
        fprintf(stderr, "rlsched train: unknown --algo '%s' (bc, double-dqn, discrete-cql, discrete-bcq, discrete-iql)\n",
                p.algo);
        return 2;
    }
    if (p.eval_every > 0 && !scenario) {
        fprintf(stderr, "rlsched train: --eval-every needs --scenario\n");
        return 2;
    }
    if (scenario && p.eval_every > 0) {
        if (rls_scenario_load(scenario, &sc, &err) != RLS_OK) {
            fprintf(stderr, "rlsched train: %s\n", err.msg);
            goto done;
        }
        if (trace && rls_eval_apply_trace(sc, trace, NULL, NULL, &err) != RLS_OK) {
            fprintf(stderr, "rlsched train: %s\n", err.msg);
            goto done;
        }
        p.eval_scenario = sc;
    }
    if (!quiet) {
        p.progress = s_progress;
        p.progress_ctx = &tty;
    }
    if (rls_train_run(&p, &res, &err) != RLS_OK) {
        fprintf(stderr, "%srlsched train: %s\n", tty && !quiet ? "\n" : "", err.msg);
        goto done;
    }
    if (tty && !quiet)
        fprintf(stderr, "\n");
    if (res.resume_mode == RLS_TRAIN_RESUME_EXACT)
        printf("resumed %s exactly (networks, Adam, sampling stream) at step %" PRId64 "\n",
               p.resume_path, res.start_step);
    else if (res.resume_mode == RLS_TRAIN_RESUME_WEIGHTS)
        printf("resumed %s without /train_state: its weights and step count only (Adam, target "
               "network and sampling start afresh)\n", p.resume_path);
    printf("wrote %s: %s, steps %" PRId64 " (from %" PRId64 "), loss %.5g -> %.5g, %.0f updates/s\n",
           p.out_path, p.algo, res.steps, res.start_step, res.first_loss, res.last_loss, res.updates_per_s);
    if (!isnan(res.best_score))
        printf("best evaluation score %.4f at step %" PRId64 "\n", res.best_score, res.best_step);
    printf("blas: %s\n", res.blas);
    rc = 0;
done:
    rls_scenario_destroy(&sc);
    return rc;
}

#endif
