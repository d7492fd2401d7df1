/* eval.c - the evaluation runner: one policy, one scenario, one seed, every
 * metric of docs/METRICS.md (see eval.h), on a step simulator or on any
 * environment (a live cluster through env/remote.h). */
#include "eval.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../env/queueing.h"

#define S_NODE_BUF 4096

struct rls_eval_params rls_eval_default_params(void)
{
    struct rls_eval_params p;
    memset(&p, 0, sizeof p);
    p.seed = 1;
    return p;
}

void rls_eval_result_clear(struct rls_eval_result *r)
{
    if (!r)
        return;
    free(r->tenants);
    free(r->services);
    free(r->records);
    free(r->node_text);
    memset(r, 0, sizeof *r);
}

void rls_eval_set_oracle(struct rls_eval_result *r, int n, double oracle_cost_usd)
{
    for (int i = 0; r && i < n; i++) {
        if (oracle_cost_usd > 0.0)
            r[i].cost_vs_oracle = r[i].cost_usd / oracle_cost_usd;
        else
            r[i].cost_vs_oracle = r[i].cost_usd > 0.0 ? INFINITY : 1.0;
    }
}

const char *rls_eval_record_nodes(const struct rls_eval_result *r, int64_t i)
{
    if (!r || !r->records || !r->node_text || i < 0 || i >= r->steps * r->n_services)
        return "";
    return r->node_text + r->records[i].node_off;
}

static double s_future_rate(const void *ctx, int32_t svc, int64_t step)
{
    return rls_sim_rate_at((const struct rls_sim *)ctx, svc, step);
}

/* Appends s (with its NUL) to the node text; returns its offset or -1. */
static int64_t s_node_append(struct rls_eval_result *r, int64_t *cap, const char *s, int len)
{
    int64_t need = r->node_text_len + len + 1;
    if (need > *cap) {
        int64_t ncap = *cap ? *cap : 65536;
        while (ncap < need)
            ncap *= 2;
        char *p = realloc(r->node_text, (size_t)ncap);
        if (!p)
            return -1;
        r->node_text = p;
        *cap = ncap;
    }
    int64_t off = r->node_text_len;
    memcpy(r->node_text + off, s, (size_t)len);
    r->node_text[off + len] = '\0';
    r->node_text_len = need;
    return off;
}

/* Per-service running sums of a run. */
struct s_svc_sums {
    double served, dropped, over;     /* requests */
    double replica_s;                 /* (ready + starting) * step_s */
    double busy_s, ready_s;           /* utilization * ready * step_s, ready * step_s */
    int64_t actions;
    struct rls_elasticity_acc el;
};

/* The state of one rls_eval_run: its inputs, the simulator it owns (if any)
 * and its scratch buffers; freed by s_eval_free, never the result. */
struct s_run {
    const struct rls_eval_params *params;
    struct rls_policy *policy;
    struct rls_eval_result *out;
    struct rls_env *env;                   /* params->env, or NULL for a simulator */
    const struct rls_scenario *sc;         /* the scenario named in the result */
    const struct rls_scenario *simsc;      /* the one the policy sees */
    const char *label;
    int32_t ns, nt;
    int64_t steps;
    size_t nn;                             /* ns * steps */
    double step_s;
    int needs_future;
    struct rls_scenario *copy;
    struct rls_sim *own_sim;
    struct rls_sim *sim;
    struct s_svc_sums *sums;
    struct rls_queue_dist *dists;          /* [n_services * steps], service-major */
    double *weights;                       /* [n_services * steps] served requests */
    double *tenant_cores;                  /* [n_tenants] this step's requested cores */
    double *tenant_x, *tenant_w;
    int32_t *desired;
    uint8_t *placement;
    char *nodebuf;
    int64_t node_cap;
};

/* Checks the inputs and fills the result's header fields; allocates nothing. */
static int s_eval_check(struct s_run *r, struct rls_err *err)
{
    const struct rls_eval_params *params = r->params;
    struct rls_eval_result *out = r->out;
    struct rls_policy *policy = r->policy;

    memset(out, 0, sizeof *out);
    out->cost_vs_oracle = NAN;
    struct rls_env *env = params ? params->env : NULL;
    r->env = env;
    if (!params || (!params->scenario && !env) || !policy)
        return rls_err_set(err, RLS_ERR_INVALID, "eval: missing scenario or policy");
    const struct rls_scenario *sc = env ? rls_env_scenario(env) : params->scenario;
    if (!sc)
        return rls_err_set(err, RLS_ERR_INVALID, "eval: the env has no scenario");
    int32_t ns = sc->n_services, nt = sc->n_tenants;
    int64_t steps = params->steps > 0 ? params->steps : sc->horizon_steps;
    if (ns < 1 || nt < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "eval: scenario '%s' has no services or tenants",
                           sc->name);
    if (steps < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "eval: steps must be >= 1 (got %lld)",
                           (long long)steps);
    if (steps > INT64_MAX / 64 / ns)
        return rls_err_set(err, RLS_ERR_RANGE, "eval: %lld steps is too many", (long long)steps);
    const char *label = params->name ? params->name : rls_policy_name(policy);
    if (env) {
        int64_t horizon = rls_env_horizon(env);
        if (rls_policy_needs_future(policy))
            return rls_err_set(err, RLS_ERR_INVALID,
                               "eval: policy '%s' is clairvoyant (needs the future load) and the "
                               "%s env cannot tell the future: run it on a simulator",
                               label, rls_env_backend_name(env));
        if (horizon > 0 && steps > horizon)
            return rls_err_set(err, RLS_ERR_RANGE,
                               "eval: %lld steps is past the %s env's horizon of %lld steps",
                               (long long)steps, rls_env_backend_name(env), (long long)horizon);
    }
    snprintf(out->name, sizeof out->name, "%s", label);
    snprintf(out->kind, sizeof out->kind, "%s", rls_policy_kind(policy));
    snprintf(out->scenario, sizeof out->scenario, "%s", sc->name);
    out->seed = params->seed;
    out->steps = steps;
    out->step_s = sc->step_s;
    out->n_services = ns;
    out->n_tenants = nt;
    r->sc = sc;
    r->label = label;
    r->ns = ns;
    r->nt = nt;
    r->steps = steps;
    return RLS_OK;
}

/* Builds the simulator (when neither params->sim nor an env is given),
 * allocates the result's arrays and the scratch buffers, and resets the
 * simulator or env and the policy. */
static int s_eval_setup(struct s_run *r, struct rls_err *err)
{
    const struct rls_eval_params *params = r->params;
    struct rls_eval_result *out = r->out;
    const struct rls_scenario *sc = r->sc;
    struct rls_env *env = r->env;
    int32_t ns = r->ns, nt = r->nt;
    int64_t steps = r->steps;
    int rc;

    r->sim = env ? NULL : params->sim;
    if (!r->sim && !env) {
        r->copy = rls_scenario_copy(sc);
        if (!r->copy)
            return rls_err_set(err, RLS_ERR_NOMEM, "eval: out of memory copying the scenario");
        if (r->copy->horizon_steps < steps)
            r->copy->horizon_steps = (int32_t)(steps > INT32_MAX ? INT32_MAX : steps);
        r->own_sim = rls_sim_new(r->copy, err);
        if (!r->own_sim)
            return err && err->status ? err->status : RLS_ERR_INVALID;
        r->sim = r->own_sim;
    }
    struct rls_sim *sim = r->sim;
    r->simsc = env ? sc : rls_sim_scenario(sim);
    if (!env && rls_sim_n_services(sim) != ns)
        return rls_err_set(err, RLS_ERR_INVALID, "eval: simulator has %d services, scenario %d",
                           (int)rls_sim_n_services(sim), (int)ns);

    size_t nn = (size_t)ns * (size_t)steps;
    r->nn = nn;
    out->services = calloc((size_t)ns, sizeof *out->services);
    out->tenants = calloc((size_t)nt, sizeof *out->tenants);
    r->sums = calloc((size_t)ns, sizeof *r->sums);
    r->dists = malloc(nn * sizeof *r->dists);
    r->weights = malloc(nn * sizeof *r->weights);
    r->tenant_cores = calloc((size_t)nt, sizeof *r->tenant_cores);
    r->tenant_x = calloc((size_t)nt, sizeof *r->tenant_x);
    r->tenant_w = calloc((size_t)nt, sizeof *r->tenant_w);
    r->desired = calloc((size_t)ns, sizeof *r->desired);
    r->placement = calloc((size_t)ns, sizeof *r->placement);
    if (params->record) {
        out->records = calloc(nn, sizeof *out->records);
        r->nodebuf = malloc(S_NODE_BUF);
    }
    if (!out->services || !out->tenants || !r->sums || !r->dists || !r->weights ||
        !r->tenant_cores || !r->tenant_x || !r->tenant_w || !r->desired || !r->placement ||
        (params->record && (!out->records || !r->nodebuf)))
        return rls_err_set(err, RLS_ERR_NOMEM, "eval: out of memory for %lld steps x %d services",
                           (long long)steps, (int)ns);
    for (int32_t i = 0; i < ns; i++) {
        snprintf(out->services[i].name, sizeof out->services[i].name, "%s", sc->services[i].name);
        out->services[i].tenant = sc->services[i].tenant;
        out->services[i].slo_ms = sc->services[i].slo_ms;
        rls_elasticity_acc_init(&r->sums[i].el);
    }
    for (int32_t k = 0; k < nt; k++) {
        snprintf(out->tenants[k].name, sizeof out->tenants[k].name, "%s", sc->tenants[k].name);
        out->tenants[k].weight = sc->tenants[k].weight;
    }

    rc = env ? rls_env_reset(env, params->seed, NULL) : rls_sim_reset(sim, params->seed);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "eval: reset (seed %llu): %s", (unsigned long long)params->seed,
                    env ? rls_env_errmsg(env) : rls_sim_errmsg(sim));
        return rc;
    }
    rc = rls_policy_reset(r->policy, r->simsc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "eval: policy '%s' reset: %s", r->label,
                    rls_policy_errmsg(r->policy));
        return rc;
    }
    r->needs_future = rls_policy_needs_future(r->policy);
    r->step_s = sc->step_s;
    return RLS_OK;
}

/* Asks the policy for step t's replicas and applies them to the simulator or env. */
static int s_eval_act(struct s_run *r, int64_t t, struct rls_err *err)
{
    struct rls_env *env = r->env;
    struct rls_sim *sim = r->sim;
    int rc;
    struct rls_policy_input in;
    memset(&in, 0, sizeof in);
    in.scenario = r->simsc;
    if (env) {
        in.step = rls_env_steps(env);
        in.time_s = rls_env_time_s(env);
        in.services = rls_env_services(env);
        in.nodes = rls_env_nodes(env, &in.n_nodes);
    } else {
        in.step = rls_sim_steps(sim);
        in.time_s = rls_sim_time_s(sim);
        in.services = rls_sim_services(sim);
        in.nodes = rls_sim_nodes(sim);
        in.n_nodes = rls_sim_n_nodes(sim);
    }
    if (r->needs_future && sim) {
        in.future_rate = s_future_rate;
        in.future_ctx = sim;
    }
    rc = rls_policy_decide(r->policy, &in, r->desired, r->placement);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "eval: policy '%s' at step %lld: %s", r->label, (long long)t,
                    rls_policy_errmsg(r->policy));
        return rc;
    }
    if (env) {
        struct rls_step_result sr;
        rc = rls_env_step_replicas(env, r->desired, r->placement, &sr);
        if (rc == RLS_OK && sr.terminated && t + 1 < r->steps)
            rc = rls_err_set(err, RLS_ERR_STATE,
                             "eval: step %lld: the env terminated the episode (sustained "
                             "drops); build it with terminate_steps = 0", (long long)t);
        else if (rc != RLS_OK)
            rls_err_set(err, rc, "eval: step %lld: %s", (long long)t, rls_env_errmsg(env));
        return rc;
    }
    rc = rls_sim_step(sim, r->desired, r->placement);
    if (rc != RLS_OK)
        rls_err_set(err, rc, "eval: step %lld: %s", (long long)t, rls_sim_errmsg(sim));
    return rc;
}

/* Adds step t's outcome to the running sums, the per-step distributions,
 * the tenants' cost and (with params->record) the step's records. */
static int s_eval_observe(struct s_run *r, int64_t t, struct rls_err *err)
{
    struct rls_env *env = r->env;
    struct rls_sim *sim = r->sim;
    struct rls_eval_result *out = r->out;
    const struct rls_scenario *sc = r->sc;
    int32_t ns = r->ns, nt = r->nt;
    int64_t steps = r->steps;
    double step_s = r->step_s;
    double *tenant_cores = r->tenant_cores;

    const struct rls_svc_state *st = env ? rls_env_services(env) : rls_sim_services(sim);
    const struct rls_step_info *info = env ? rls_env_last(env) : rls_sim_last(sim);
    double cores_all = 0.0;
    memset(tenant_cores, 0, (size_t)nt * sizeof *tenant_cores);
    for (int32_t i = 0; i < ns; i++) {
        const struct rls_service_spec *spec = &sc->services[i];
        const struct rls_svc_state *s = &st[i];
        struct s_svc_sums *u = &r->sums[i];
        double served = s->served_rps * step_s;
        double dropped = s->dropped_rps * step_s;
        u->served += served;
        u->dropped += dropped;
        u->over += s->frac_over_slo * served;
        u->replica_s += (double)(s->ready + s->starting) * step_s;
        u->ready_s += (double)s->ready * step_s;
        u->busy_s += s->utilization * (double)s->ready * step_s;
        if (s->change != 0)
            u->actions++;
        int32_t d = rls_metrics_demand(spec, s->rate_rps);
        rls_elasticity_acc_add(&u->el, s->ready, d);
        size_t j = (size_t)i * (size_t)steps + (size_t)t;
        r->dists[j] = s->dist;
        r->weights[j] = served;
        double cores = (double)(s->ready + s->starting) * spec->cpu;
        if (spec->tenant >= 0 && spec->tenant < nt)
            tenant_cores[spec->tenant] += cores;
        cores_all += cores;
        if (r->params->record) {
            struct rls_eval_record *rec = &out->records[(size_t)t * (size_t)ns + (size_t)i];
            rec->time_s = info->time_s;
            rec->rate_rps = s->rate_rps;
            rec->arrival_rps = s->arrival_rps;
            rec->served_rps = s->served_rps;
            rec->dropped_rps = s->dropped_rps;
            rec->frac_over_slo = s->frac_over_slo;
            rec->ready = s->ready;
            rec->starting = s->starting;
            rec->desired = s->desired;
            rec->demand = d;
            if (s->ready > 0)
                rec->p95_ms = 1000.0 * rls_queueing_quantile(&s->dist, 0.95);
            else
                rec->p95_ms = (s->arrival_rps > 0.0 || s->backlog > 0.0) ? INFINITY : 0.0;
            int len = sim ? rls_sim_service_nodes(sim, i, r->nodebuf, S_NODE_BUF) : 0;
            if (len < 0)
                len = 0;
            if (len >= S_NODE_BUF)
                len = S_NODE_BUF - 1;
            rec->node_off = s_node_append(out, &r->node_cap, r->nodebuf, len);
            if (rec->node_off < 0)
                return rls_err_set(err, RLS_ERR_NOMEM, "eval: out of memory recording nodes");
        }
    }
    out->cost_usd += info->cost_usd;
    out->node_hours += (double)info->nodes_on * step_s / 3600.0;
    /* the step's node cost, split by requested cores (evenly when none) */
    for (int32_t k = 0; k < nt; k++)
        out->tenants[k].cost_usd += cores_all > 0.0 ? info->cost_usd * tenant_cores[k] / cores_all
                                                    : info->cost_usd / nt;
    return RLS_OK;
}

/* Runs every step: the policy acts, then the outcome is observed. */
static int s_eval_loop(struct s_run *r, struct rls_err *err)
{
    for (int64_t t = 0; t < r->steps; t++) {
        int rc = s_eval_act(r, t, err);
        if (rc != RLS_OK)
            return rc;
        rc = s_eval_observe(r, t, err);
        if (rc != RLS_OK)
            return rc;
    }
    return RLS_OK;
}

/* Turns the running sums into the per-service, per-tenant and overall metrics. */
static void s_eval_reduce(struct s_run *r)
{
    struct rls_eval_result *out = r->out;
    const struct rls_scenario *sc = r->sc;
    int32_t ns = r->ns, nt = r->nt;
    int64_t steps = r->steps;
    double served = 0.0, dropped = 0.0, over = 0.0, busy = 0.0, ready = 0.0;
    for (int32_t i = 0; i < ns; i++) {
        struct s_svc_sums *u = &r->sums[i];
        struct rls_eval_service *o = &out->services[i];
        const double *w = r->weights + (size_t)i * (size_t)steps;
        const struct rls_queue_dist *dd = r->dists + (size_t)i * (size_t)steps;
        o->requests = u->served + u->dropped;
        o->slo_violation_pct = rls_metrics_pct(u->over + u->dropped, o->requests);
        o->dropped_pct = rls_metrics_pct(u->dropped, o->requests);
        o->p95_ms = 1000.0 * rls_queueing_mixture_quantile(dd, w, steps, 0.95);
        o->p99_ms = 1000.0 * rls_queueing_mixture_quantile(dd, w, steps, 0.99);
        o->replica_hours = u->replica_s / 3600.0;
        o->scale_actions = u->actions;
        rls_elasticity_acc_get(&u->el, &o->elasticity);
        served += u->served;
        dropped += u->dropped;
        over += u->over;
        busy += u->busy_s;
        ready += u->ready_s;
        out->replica_hours += o->replica_hours;
        out->scale_actions += u->actions;
        out->elasticity.theta_u += o->elasticity.theta_u / ns;
        out->elasticity.theta_o += o->elasticity.theta_o / ns;
        out->elasticity.tau_u += o->elasticity.tau_u / ns;
        out->elasticity.tau_o += o->elasticity.tau_o / ns;
        out->elasticity.upsilon += o->elasticity.upsilon / ns;
        int32_t k = sc->services[i].tenant;
        if (k >= 0 && k < nt) {
            struct rls_eval_tenant *tn = &out->tenants[k];
            tn->requests += o->requests;
            tn->good += u->served - u->over;
            tn->dropped_pct += u->dropped;       /* summed here, made a percentage below */
            tn->slo_violation_pct += u->over + u->dropped;
            tn->replica_hours += o->replica_hours;
        }
    }
    out->requests = served + dropped;
    out->slo_violation_pct = rls_metrics_pct(over + dropped, out->requests);
    out->dropped_pct = rls_metrics_pct(dropped, out->requests);
    out->p95_ms = 1000.0 * rls_queueing_mixture_quantile(r->dists, r->weights, (int64_t)r->nn, 0.95);
    out->p99_ms = 1000.0 * rls_queueing_mixture_quantile(r->dists, r->weights, (int64_t)r->nn, 0.99);
    out->mean_utilization = ready > 0.0 ? busy / ready : 0.0;
    for (int32_t k = 0; k < nt; k++) {
        struct rls_eval_tenant *tn = &out->tenants[k];
        tn->dropped_pct = rls_metrics_pct(tn->dropped_pct, tn->requests);
        tn->slo_violation_pct = rls_metrics_pct(tn->slo_violation_pct, tn->requests);
        tn->cost_share = out->cost_usd > 0.0 ? tn->cost_usd / out->cost_usd : 0.0;
        if (tn->good < 0.0)
            tn->good = 0.0;
        r->tenant_x[k] = tn->requests > 0.0 ? tn->good / tn->requests : 1.0;
        r->tenant_w[k] = tn->weight > 0.0 ? tn->weight : 1.0;
    }
    out->jain_fairness = rls_metrics_jain(r->tenant_x, r->tenant_w, nt);
}

/* Frees what s_eval_setup made, leaving the result alone. */
static void s_eval_free(struct s_run *r)
{
    free(r->sums);
    free(r->dists);
    free(r->weights);
    free(r->tenant_cores);
    free(r->tenant_x);
    free(r->tenant_w);
    free(r->desired);
    free(r->placement);
    free(r->nodebuf);
    rls_sim_destroy(&r->own_sim);
    rls_scenario_destroy(&r->copy);
}

int rls_eval_run(const struct rls_eval_params *params, struct rls_policy *policy,
                 struct rls_eval_result *out, struct rls_err *err)
{
    if (!out)
        return rls_err_set(err, RLS_ERR_INVALID, "eval: NULL result");
    struct s_run run;
    memset(&run, 0, sizeof run);
    run.params = params;
    run.policy = policy;
    run.out = out;
    int rc = s_eval_check(&run, err);
    if (rc != RLS_OK)
        return rc;
    rc = s_eval_setup(&run, err);
    if (rc == RLS_OK)
        rc = s_eval_loop(&run, err);
    if (rc == RLS_OK)
        s_eval_reduce(&run);
    s_eval_free(&run);
    return rc;
}

/* "" -> -1, "spread"/"binpack" -> the enum, else -2. */
static int s_parse_placement(const char *s)
{
    if (!s || !*s)
        return -1;
    if (strcmp(s, "spread") == 0)
        return RLS_PLACE_SPREAD;
    if (strcmp(s, "binpack") == 0)
        return RLS_PLACE_BINPACK;
    return -2;
}

struct rls_policy *rls_eval_build_policy(const char *spec, const struct rls_scenario *sc,
                                         const struct rls_tune_params *train,
                                         struct rls_tune_result *tuned, struct rls_err *err)
{
    static const char tuned_name[] = "hpa-tuned";
    size_t tl = sizeof tuned_name - 1;
    struct rls_policy *pol = NULL;

    if (tuned)
        memset(tuned, 0, sizeof *tuned);
    if (!spec || !sc) {
        rls_err_set(err, RLS_ERR_INVALID, "eval: missing policy spec or scenario");
        return NULL;
    }
    if (strncmp(spec, tuned_name, tl) != 0 || (spec[tl] != '\0' && spec[tl] != '@'))
        return rls_policy_new(spec, sc, err);

    int placement = s_parse_placement(spec[tl] == '@' ? spec + tl + 1 : "");
    if (placement == -2) {
        rls_err_set(err, RLS_ERR_INVALID, "policy '%s': unknown placement (spread or binpack)", spec);
        return NULL;
    }
    if (!train || !train->scenario) {
        rls_err_set(err, RLS_ERR_INVALID, "policy '%s': needs a training scenario", spec);
        return NULL;
    }
    struct rls_tune_params tp = *train;
    struct rls_tune_result res;
    tp.placement = placement;
    int rc = rls_tune_hpa(&tp, &res, err);
    if (rc != RLS_OK)
        return NULL;
    pol = rls_hpa_new(&res.chosen, sc, err);
    if (!pol)
        return NULL;
    if (placement >= 0)
        rls_policy_set_placement(pol, placement);
    if (tuned)
        *tuned = res;
    return pol;
}

int rls_eval_apply_trace(struct rls_scenario *sc, const char *path, const char *column,
                         double *duration_s, struct rls_err *err)
{
    struct rls_trace *t = NULL;
    char abs[PATH_MAX];

    if (!sc || !path)
        return rls_err_set(err, RLS_ERR_INVALID, "eval: missing scenario or trace path");
    int rc = rls_trace_load(path, column, &t, err);
    if (rc != RLS_OK)
        return rc;
    double dur = (double)t->n * t->step_s;
    rls_trace_destroy(&t);
    /* the simulator resolves relative paths against the scenario file, so
     * give it an absolute one */
    const char *use = realpath(path, abs) ? abs : path;
    size_t use_len = strlen(use);
    if (use_len >= RLS_PATH_MAX)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: path longer than %d bytes", path, RLS_PATH_MAX - 1);
    if (column && strlen(column) >= RLS_NAME_MAX)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: column name too long", path);
    for (int32_t i = 0; i < sc->n_services; i++) {
        struct rls_service_spec *s = &sc->services[i];
        struct rls_load_spec *l = &s->load;
        double peak = l->peak_rps > 0.0 ? l->peak_rps
                                         : (double)s->max_replicas * s->capacity_rps * 0.6;
        l->kind = RLS_LOAD_TRACE;
        memcpy(l->path, use, use_len + 1);
        snprintf(l->column, sizeof l->column, "%s", column ? column : "");
        l->peak_rps = peak;
        l->shift_s = (double)i * dur / (double)sc->n_services;
        l->time_scale = 1.0;
    }
    sc->start_s = 0.0;
    if (duration_s)
        *duration_s = dur;
    return RLS_OK;
}
