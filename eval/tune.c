/* tune.c - grid search of the HPA's target utilization, scale-down window
 * and scale-up pod step on a training run (see tune.h). One simulator is
 * built once and reset for every grid point; each training run only sums
 * cost, violations and drops (the same definitions as eval.c). */
#include "tune.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../env/sim.h"
#include "../policies/policy.h"
#include "../policies/sim_input.h"
#include "metrics.h"

static const double s_targets[RLS_TUNE_N_TARGET] = {0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
static const double s_windows[RLS_TUNE_N_WINDOW] = {0.0, 60.0, 120.0, 300.0, 600.0};
static const int32_t s_up_pods[RLS_TUNE_N_UP_PODS] = {4, 16};

struct rls_tune_params rls_tune_default_params(void)
{
    struct rls_tune_params p;
    memset(&p, 0, sizeof p);
    p.seed = 1001;
    p.placement = -1;
    return p;
}

struct rls_scenario *rls_tune_training_scenario(const struct rls_scenario *sc)
{
    struct rls_scenario *c = rls_scenario_copy(sc);
    for (int32_t i = 0; c && i < c->n_services; i++)
        if (c->services[i].load.kind == RLS_LOAD_SYNTH)
            c->services[i].load.seed += 1000;
    return c;
}

/* One training run: total cost and SLO violation % of `pol`. */
static int s_train_run(struct rls_sim *sim, struct rls_policy *pol, uint64_t seed, int64_t steps,
                       int32_t *desired, uint8_t *placement, double *cost, double *viol,
                       struct rls_err *err)
{
    double served = 0.0, dropped = 0.0, over = 0.0, c = 0.0;
    const struct rls_scenario *sc = rls_sim_scenario(sim);
    int32_t ns = rls_sim_n_services(sim);
    int rc = rls_sim_reset(sim, seed);
    if (rc != RLS_OK)
        return rls_err_set(err, rc, "hpa-tuned: training reset: %s", rls_sim_errmsg(sim));
    rc = rls_policy_reset(pol, sc);
    if (rc != RLS_OK)
        return rls_err_set(err, rc, "hpa-tuned: %s", rls_policy_errmsg(pol));
    for (int64_t t = 0; t < steps; t++) {
        struct rls_policy_input in;
        rls_policy_input_from_sim(&in, sim, 0);
        rc = rls_policy_decide(pol, &in, desired, placement);
        if (rc != RLS_OK)
            return rls_err_set(err, rc, "hpa-tuned: training step %lld: %s", (long long)t,
                               rls_policy_errmsg(pol));
        rc = rls_sim_step(sim, desired, placement);
        if (rc != RLS_OK)
            return rls_err_set(err, rc, "hpa-tuned: training step %lld: %s", (long long)t,
                               rls_sim_errmsg(sim));
        const struct rls_svc_state *st = rls_sim_services(sim);
        for (int32_t i = 0; i < ns; i++) {
            double s = st[i].served_rps * sc->step_s;
            served += s;
            dropped += st[i].dropped_rps * sc->step_s;
            over += st[i].frac_over_slo * s;
        }
        c += rls_sim_last(sim)->cost_usd;
    }
    *cost = c;
    *viol = rls_metrics_pct(over + dropped, served + dropped);
    return RLS_OK;
}

int rls_tune_hpa(const struct rls_tune_params *p, struct rls_tune_result *out,
                 struct rls_err *err)
{
    int rc = RLS_OK;
    struct rls_scenario *copy = NULL;
    struct rls_sim *sim = NULL;
    struct rls_policy *pol = NULL;
    int32_t *desired = NULL;
    uint8_t *placement = NULL;

    if (!out)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa-tuned: NULL result");
    memset(out, 0, sizeof *out);
    if (!p || !p->scenario)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa-tuned: no training scenario");
    int64_t steps = p->steps > 0 ? p->steps : p->scenario->horizon_steps;
    if (steps < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa-tuned: training steps must be >= 1");
    copy = rls_scenario_copy(p->scenario);
    if (!copy) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "hpa-tuned: out of memory");
        goto done;
    }
    if (copy->horizon_steps < steps)
        copy->horizon_steps = (int32_t)(steps > INT32_MAX ? INT32_MAX : steps);
    sim = rls_sim_new(copy, err);
    if (!sim) {
        rc = err && err->status ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    desired = calloc((size_t)copy->n_services + 1, sizeof *desired);
    placement = calloc((size_t)copy->n_services + 1, sizeof *placement);
    if (!desired || !placement) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "hpa-tuned: out of memory");
        goto done;
    }

    out->slo_budget_pct = rls_metrics_slo_budget_pct(copy);
    out->seed = p->seed;
    out->steps = steps;
    int have = 0;
    for (int u = 0; u < RLS_TUNE_N_UP_PODS; u++)
        for (int a = 0; a < RLS_TUNE_N_TARGET; a++)
            for (int b = 0; b < RLS_TUNE_N_WINDOW; b++) {
                struct rls_hpa_params hp = rls_hpa_default_params();
                double cost = 0.0, viol = 0.0;
                hp.target_utilization = s_targets[a];
                hp.scale_down_window_s = s_windows[b];
                hp.scale_up_pods = s_up_pods[u];
                pol = rls_hpa_new(&hp, copy, err);
                if (!pol) {
                    rc = err && err->status ? err->status : RLS_ERR_NOMEM;
                    goto done;
                }
                if (p->placement >= 0)
                    rls_policy_set_placement(pol, p->placement);
                rc = s_train_run(sim, pol, p->seed, steps, desired, placement, &cost, &viol, err);
                rls_policy_destroy(&pol);
                if (rc != RLS_OK)
                    goto done;
                out->n_tried++;
                int met = viol <= out->slo_budget_pct + 1e-9;
                int better;
                if (!have)
                    better = 1;
                else if (met != out->met_slo)
                    better = met;
                else if (met)
                    better = cost < out->cost_usd ||
                             (cost == out->cost_usd && viol < out->slo_violation_pct);
                else
                    better = viol < out->slo_violation_pct ||
                             (viol == out->slo_violation_pct && cost < out->cost_usd);
                if (better) {
                    have = 1;
                    out->chosen = hp;
                    out->cost_usd = cost;
                    out->slo_violation_pct = viol;
                    out->met_slo = met;
                }
            }
    out->done = 1;
    rc = RLS_OK;

done:
    rls_policy_destroy(&pol);
    free(desired);
    free(placement);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&copy);
    return rc;
}
