/* search.h - the reward-driven stage in the simulator: a cross-entropy method
 * (CEM) search over the output biases of a checkpoint's last layer, each
 * candidate scored by running it AS DEPLOYED (the learned controller and the
 * out-of-distribution guard, policies/learned.h, policies/guard.h) on a set of
 * training tasks in the step simulator (eval/eval.h). No libtorch: the native
 * forward pass runs every candidate.
 *
 * What is searched: one offset per replica delta and one per placement,
 * added to the logit of every action a = delta_index * n_placements +
 * placement (the first n_actions outputs; a two-head network's behaviour
 * logits are left alone). So the search can make the policy scale down
 * sooner or later, up by more or less, and bin-pack or spread more often,
 * everywhere at once: what the network learned from imitation stays, and
 * reward moves its operating point.
 *
 * The objective (lower is better), over the tasks t = 1..T, against the
 * initial policy's own run of each task (its reference):
 *   J = mean_t cost_t / cost_ref_t
 *       + lambda * max(0, mean_t (violation_pct_t - violation_pct_ref_t) - slack_pp)
 *       + churn * max(0, mean_t actions_t / actions_ref_t - 1)
 * so a candidate pays for every percentage point of mean SLO violations above
 * what imitation gave (the Lagrange multiplier of "no more violations", on
 * the mean as the ablation measures it: a per-task penalty would charge the
 * simulator's noise) and for more scale actions, and earns its cost saving.
 *
 *     struct rls_search_params p = rls_search_default_params();
 *     rls_search_run(ck, tasks, n_tasks, &p, &report, &err);   // ck's last bias changed
 *     rls_checkpoint_save(ck, "fine.h5", &err);
 */
#ifndef RLS_SEARCH_H
#define RLS_SEARCH_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"
#include "../policies/checkpoint.h"
#include "../policies/learned.h"

/* One training task: a scenario (its loads bound, e.g. by rls_eval_apply_trace)
 * run for `steps` steps from seed. Not owned. */
struct rls_search_task {
    const struct rls_scenario *scenario;
    uint64_t seed;
    int64_t steps;          /* 0 = the scenario's horizon */
};

struct rls_search_params {
    int32_t iterations;     /* CEM iterations (6) */
    int32_t population;     /* candidates per iteration (10; the first of the first
                               iteration is the initial policy itself) */
    int32_t elite;          /* candidates the next distribution is fitted to (3) */
    double sigma;           /* initial standard deviation of every offset, logits (1.0) */
    double sigma_min;       /* floor of the fitted standard deviation (0.05) */
    double lambda;          /* price of a violation percentage point above the reference (0.2) */
    double slack_pp;        /* violations within this of the reference are free (0.0) */
    double churn;           /* price of the relative increase of scale actions (0.05) */
    uint64_t seed;          /* the search's own random stream (1) */
    struct rls_learned_params controller;  /* the controller candidates run behind (defaults) */
    int ood;                /* 1: behind the out-of-distribution guard, as deployed (1) */
    /* Called after each iteration (may be NULL): iteration (1-based), the best J
     * so far, the mean J of this iteration's elite. */
    void (*progress)(void *ctx, int32_t iteration, double best, double elite_mean);
    void *progress_ctx;
};

/* The defaults above. */
struct rls_search_params rls_search_default_params(void);

/* What the search found. */
struct rls_search_report {
    int32_t evaluations;    /* candidates scored (each over every task) */
    double j_initial;       /* J of the initial policy (1 by construction, plus nothing) */
    double j_best;          /* J of the returned policy */
    double cost_initial, cost_best;            /* summed over the tasks, dollars */
    double violation_initial, violation_best;  /* mean over the tasks, % */
    int64_t actions_initial, actions_best;     /* summed over the tasks */
    int32_t n_offsets;      /* n_deltas + n_placements */
    double offsets[32];     /* the best offsets: deltas first, then placements */
};

/* Runs the search from ck (a loaded checkpoint whose actions the learned policy
 * can decode) on tasks[0..n_tasks), and writes the best candidate's biases into
 * ck (only the first n_actions outputs of the last layer change; ck->steps,
 * eval fields and the rest are kept; algorithm is unchanged). The initial
 * policy is always a candidate, so the result is never worse on the objective
 * than the start. Deterministic given p->seed and the tasks. Returns RLS_OK
 * with *report filled (may be NULL), or a negative status with err (bad
 * parameters naming the field, no tasks, a task the policy cannot run). */
int rls_search_run(struct rls_checkpoint *ck, const struct rls_search_task *tasks, int32_t n_tasks,
                   const struct rls_search_params *p, struct rls_search_report *report,
                   struct rls_err *err);

#endif
