/* search.c - CEM over a checkpoint's last-layer action biases, each candidate
 * run as deployed in the step simulator (search.h).
 */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../eval/eval.h"
#include "../policies/guard.h"
#include "../policies/policy.h"

#define S_MAX_OFFSETS 32

struct rls_search_params rls_search_default_params(void)
{
    struct rls_search_params p;
    memset(&p, 0, sizeof(p));
    p.iterations = 6;
    p.population = 10;
    p.elite = 3;
    p.sigma = 1.0;
    p.sigma_min = 0.05;
    p.lambda = 0.2;
    p.slack_pp = 0.0;
    p.churn = 0.05;
    p.seed = 1;
    p.controller = rls_learned_default_params();
    p.ood = 1;
    return p;
}

/* splitmix64 and Box-Muller: the search's own stream */
static uint64_t s_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double s_normal(uint64_t *s)
{
    double u1 = ((double)(s_next(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(s_next(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* What one candidate did on every task. */
struct s_score {
    double j, cost, violation;
    int64_t actions;
};

struct s_search {
    struct rls_checkpoint *ck;
    const struct rls_search_task *tasks;
    int32_t n_tasks;
    const struct rls_search_params *p;
    float *base;               /* [n_actions] the initial biases */
    double *cost_ref, *vio_ref, *act_ref;   /* [n_tasks] the initial policy's runs */
    int32_t n_off;
};

/* Writes base + offsets into the checkpoint's last-layer bias. */
static void s_apply(struct s_search *s, const double *off)
{
    struct rls_checkpoint *ck = s->ck;
    float *b = ck->bias[ck->n_layers - 1];
    for (int32_t a = 0; a < ck->n_actions; a++)
        b[a] = s->base[a] + (float)(off[a / ck->n_placements] + off[ck->n_deltas + a % ck->n_placements]);
}

/* Runs the checkpoint as it stands on task t. */
static int s_run_task(struct s_search *s, int32_t t, struct rls_eval_result *r, struct rls_err *err)
{
    const struct rls_search_task *task = &s->tasks[t];
    struct rls_policy *pol = s->p->ood
        ? rls_guarded_from_checkpoint(s->ck, "candidate", &s->p->controller, NULL, task->scenario, err)
        : rls_learned_from_checkpoint_with(s->ck, "candidate", &s->p->controller, task->scenario, err);
    struct rls_eval_params ep = rls_eval_default_params();
    int rc;
    if (!pol)
        return err->status ? err->status : RLS_ERR_INVALID;
    ep.scenario = task->scenario;
    ep.seed = task->seed;
    ep.steps = task->steps;
    memset(r, 0, sizeof(*r));
    rc = rls_eval_run(&ep, pol, r, err);
    rls_policy_destroy(&pol);
    return rc;
}

/* Scores the offsets off over every task (the references must be set, except
 * for the call that sets them: ref = 1): search.h's J. */
static int s_score(struct s_search *s, const double *off, int ref, struct s_score *out,
                   struct rls_err *err)
{
    double c = 0.0, v = 0.0, a = 0.0;
    memset(out, 0, sizeof(*out));
    s_apply(s, off);
    for (int32_t t = 0; t < s->n_tasks; t++) {
        struct rls_eval_result r;
        int rc = s_run_task(s, t, &r, err);
        if (rc != RLS_OK) {
            rls_eval_result_clear(&r);
            return rc;
        }
        if (ref) {
            s->cost_ref[t] = r.cost_usd;
            s->vio_ref[t] = r.slo_violation_pct;
            s->act_ref[t] = (double)r.scale_actions;
        }
        c += s->cost_ref[t] > 0.0 ? r.cost_usd / s->cost_ref[t] : 1.0;
        v += r.slo_violation_pct - s->vio_ref[t];
        a += s->act_ref[t] > 0.0 ? (double)r.scale_actions / s->act_ref[t] : 1.0;
        out->cost += r.cost_usd;
        out->violation += r.slo_violation_pct / s->n_tasks;
        out->actions += r.scale_actions;
        rls_eval_result_clear(&r);
    }
    c /= s->n_tasks;
    v = v / s->n_tasks - s->p->slack_pp;
    a = a / s->n_tasks - 1.0;
    out->j = c + s->p->lambda * (v > 0.0 ? v : 0.0) + s->p->churn * (a > 0.0 ? a : 0.0);
    return RLS_OK;
}

static int s_check(const struct rls_checkpoint *ck, const struct rls_search_task *tasks,
                   int32_t n_tasks, const struct rls_search_params *p, struct rls_err *err)
{
    if (!ck || !tasks || n_tasks < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "search: no checkpoint or no tasks");
    if (ck->n_deltas + ck->n_placements > S_MAX_OFFSETS || ck->n_placements < 1 ||
        ck->n_actions != ck->n_deltas * ck->n_placements)
        return rls_err_set(err, RLS_ERR_UNSUPPORTED, "search: %d deltas x %d placements: not searchable",
                           (int)ck->n_deltas, (int)ck->n_placements);
    if (p->iterations < 1 || p->iterations > 1000)
        return rls_err_set(err, RLS_ERR_RANGE, "search: iterations %d (1..1000)", (int)p->iterations);
    if (p->population < 2 || p->population > 10000)
        return rls_err_set(err, RLS_ERR_RANGE, "search: population %d (2..10000)", (int)p->population);
    if (p->elite < 1 || p->elite > p->population)
        return rls_err_set(err, RLS_ERR_RANGE, "search: elite %d (1..population)", (int)p->elite);
    if (!(p->sigma > 0.0) || p->sigma > 100.0 || !(p->sigma_min >= 0.0) || p->sigma_min > p->sigma)
        return rls_err_set(err, RLS_ERR_RANGE, "search: sigma %g ((0, 100]) or sigma_min %g ([0, sigma])",
                           p->sigma, p->sigma_min);
    if (!(p->lambda >= 0.0) || !(p->churn >= 0.0) || !(p->slack_pp >= 0.0) || !isfinite(p->lambda) ||
        !isfinite(p->churn) || !isfinite(p->slack_pp))
        return rls_err_set(err, RLS_ERR_RANGE, "search: lambda %g, churn %g, slack_pp %g (finite, >= 0)",
                           p->lambda, p->churn, p->slack_pp);
    return RLS_OK;
}

/* Sorts idx[0..n) by score j ascending (insertion sort: populations are small). */
static void s_rank(int32_t *idx, const struct s_score *sc, int32_t n)
{
    for (int32_t k = 0; k < n; k++)
        idx[k] = k;
    for (int32_t k = 1; k < n; k++)
        for (int32_t m = k; m > 0 && sc[idx[m]].j < sc[idx[m - 1]].j; m--) {
            int32_t t = idx[m];
            idx[m] = idx[m - 1];
            idx[m - 1] = t;
        }
}

int rls_search_run(struct rls_checkpoint *ck, const struct rls_search_task *tasks, int32_t n_tasks,
                   const struct rls_search_params *p, struct rls_search_report *report,
                   struct rls_err *err)
{
    struct rls_search_params def = rls_search_default_params();
    struct s_search s;
    struct s_score *sc = NULL, best, init;
    double mu[S_MAX_OFFSETS] = {0}, sd[S_MAX_OFFSETS], best_off[S_MAX_OFFSETS] = {0};
    double *pop = NULL;
    int32_t *idx = NULL;
    uint64_t rng;
    int32_t evaluations = 1;
    int rc;
    if (!p)
        p = &def;
    if ((rc = s_check(ck, tasks, n_tasks, p, err)) != RLS_OK)
        return rc;
    memset(&s, 0, sizeof(s));
    s.ck = ck;
    s.tasks = tasks;
    s.n_tasks = n_tasks;
    s.p = p;
    s.n_off = ck->n_deltas + ck->n_placements;
    s.base = malloc((size_t)ck->n_actions * sizeof(float));
    s.cost_ref = calloc((size_t)n_tasks, sizeof(double));
    s.vio_ref = calloc((size_t)n_tasks, sizeof(double));
    s.act_ref = calloc((size_t)n_tasks, sizeof(double));
    sc = calloc((size_t)p->population, sizeof(*sc));
    pop = calloc((size_t)p->population * S_MAX_OFFSETS, sizeof(double));
    idx = calloc((size_t)p->population, sizeof(int32_t));
    if (!s.base || !s.cost_ref || !s.vio_ref || !s.act_ref || !sc || !pop || !idx) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "search: out of memory");
        goto done;
    }
    memcpy(s.base, ck->bias[ck->n_layers - 1], (size_t)ck->n_actions * sizeof(float));
    for (int32_t k = 0; k < s.n_off; k++)
        sd[k] = p->sigma;
    rng = p->seed;
    /* the initial policy: the references, and the first candidate to beat */
    if ((rc = s_score(&s, mu, 1, &init, err)) != RLS_OK)
        goto done;
    best = init;
    for (int32_t it = 0; it < p->iterations; it++) {
        for (int32_t c = 0; c < p->population; c++) {
            double *o = pop + (size_t)c * S_MAX_OFFSETS;
            for (int32_t k = 0; k < s.n_off; k++)
                o[k] = it == 0 && c == 0 ? 0.0 : mu[k] + sd[k] * s_normal(&rng);
            if (it == 0 && c == 0) {
                sc[c] = init;      /* scored above */
                continue;
            }
            if ((rc = s_score(&s, o, 0, &sc[c], err)) != RLS_OK)
                goto done;
            evaluations++;
            if (sc[c].j < best.j) {
                best = sc[c];
                memcpy(best_off, o, sizeof(best_off));
            }
        }
        s_rank(idx, sc, p->population);
        double elite_mean = 0.0;
        for (int32_t k = 0; k < s.n_off; k++) {
            double m = 0.0, v = 0.0;
            for (int32_t e = 0; e < p->elite; e++)
                m += pop[(size_t)idx[e] * S_MAX_OFFSETS + k];
            m /= p->elite;
            for (int32_t e = 0; e < p->elite; e++) {
                double d = pop[(size_t)idx[e] * S_MAX_OFFSETS + k] - m;
                v += d * d;
            }
            mu[k] = m;
            sd[k] = sqrt(v / p->elite);
            if (sd[k] < p->sigma_min)
                sd[k] = p->sigma_min;
        }
        for (int32_t e = 0; e < p->elite; e++)
            elite_mean += sc[idx[e]].j / p->elite;
        if (p->progress)
            p->progress(p->progress_ctx, it + 1, best.j, elite_mean);
    }
    s_apply(&s, best_off);
    if (report) {
        memset(report, 0, sizeof(*report));
        report->evaluations = evaluations;
        report->j_initial = init.j;
        report->j_best = best.j;
        report->cost_initial = init.cost;
        report->cost_best = best.cost;
        report->violation_initial = init.violation;
        report->violation_best = best.violation;
        report->actions_initial = init.actions;
        report->actions_best = best.actions;
        report->n_offsets = s.n_off;
        for (int32_t k = 0; k < s.n_off; k++)
            report->offsets[k] = best_off[k];
    }
    rc = RLS_OK;
done:
    if (rc != RLS_OK && s.base)
        memcpy(ck->bias[ck->n_layers - 1], s.base, (size_t)ck->n_actions * sizeof(float));
    free(s.base);
    free(s.cost_ref);
    free(s.vio_ref);
    free(s.act_ref);
    free(sc);
    free(pop);
    free(idx);
    return rc;
}
