/* sim.c - the fast trace-driven cluster simulator (the step model).
 *
 * Per step, in this order (sim.h explains the model):
 *   1. node failures (seeded; one draw per node per step whatever its state,
 *      so the random streams do not depend on the policy's actions),
 *   2. the action: each service's replica set grows (new replicas pending) or
 *      shrinks (pending first, then starting, then ready ones),
 *   3. placement of pending replicas (spread or bin-pack over nodes that are
 *      on or booting; if none fits, the cluster autoscaler boots an off node),
 *   4. nodes finish booting, replicas finish their cold start (a replica is
 *      ready after ceil(cold_start_s / step_s) steps on a node that is on),
 *   5. serving: arrivals (Poisson, one draw per service per step), queue,
 *      drops, utilization and the latency distribution (queueing.h),
 *   6. the cluster autoscaler's scale-down: a node below 50% CPU allocation
 *      for node_idle_s whose replicas fit elsewhere is drained (its replicas
 *      restart elsewhere, cold) and powered off; repairs progress; cost.
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

enum { S_REP_PENDING = 0, S_REP_STARTING = 1, S_REP_READY = 2 };

struct s_replica {
    int32_t node;           /* -1 when pending */
    int32_t state;          /* S_REP_* */
    double timer_s;         /* STARTING: cold start left, seconds */
};

/* A load series resampled to the control step, shared by services. */
struct s_series {
    double *rate;           /* [n] requests/s (before the service's scale) */
    int64_t n;
    double max;
};

struct s_service {
    int32_t series;         /* index into series */
    double scale;           /* multiply the series by this */
    int64_t offset;         /* steps into the series at episode step 0 */
    int32_t k;              /* servers per replica */
    double mu;              /* service rate per server, 1/s */
    double slo_s;
    /* hot copies of the spec, so a step touches one small struct per service */
    int32_t min_rep, max_rep;
    double cap_rps;         /* capacity_rps */
    double queue_limit;
    double cold_s;          /* cold_start_s */
    double cpu, mem;        /* requested per replica */
    int32_t rep_off;        /* replicas live in reps[rep_off .. rep_off + n_reps) */
    int32_t rep_cap;
    int32_t n_reps;
    int32_t prev_desired;
};

struct rls_sim {
    struct rls_scenario *sc;
    char errmsg[RLS_ERRMSG_MAX];
    int32_t n_svc, n_nodes, n_series;
    struct s_series *series;
    struct s_service *svc;
    struct rls_svc_state *state;
    struct rls_node_state *nodes;
    double *node_low_s;     /* [n_nodes] seconds below the scale-down threshold */
    struct s_replica *reps;
    int64_t n_reps_total;
    struct rls_step_info last;
    int64_t steps;
    int64_t start_steps;    /* episode step 0 = this many steps into the loads */
    int reset_done;
    struct rls_rng rng_load, rng_fail;  /* arrivals; failures (independent of actions) */
    double max_boot_s;
    int any_killed;         /* some killed counter is non-zero */
    /* Placement index: a segment tree over nodes, leaves tree_size + j. */
    int use_tree;           /* 0 for small clusters, where a scan is cheaper */
    int32_t tree_size;      /* leaves, a power of two >= n_nodes */
    double *t_cpu, *t_mem;  /* [2 * tree_size] most free cores / GiB in the subtree (-1: none usable) */
    double *t_hi, *t_lo;    /* [2 * tree_size] highest / lowest free share in the subtree */
    int32_t *pool_usable;   /* [n_pools] nodes on or booting, counted per step */
};

/* ---------------------------------------------------------------- random draws */

/* Standard normal quantile (Acklam's rational approximation, relative error
 * below 1.2e-9): one uniform, no transcendental call in the central 95%. */
static double s_norm_inv(double p)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    if (p > 0.02425 && p < 0.97575) {
        double q = p - 0.5, r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
               (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    double tail = p < 0.5 ? p : 1.0 - p;
    double q = sqrt(-2.0 * log(tail));
    double x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    return p < 0.5 ? x : -x;
}

/* Poisson(mean): exact inversion for small means, normal approximation above
 * 30 (continuous; arrivals are kept as real counts). Exactly two uniforms per
 * call whatever the mean, so the stream stays aligned across services. */
static double s_poisson(struct rls_rng *r, double mean)
{
    double u1 = rls_rng_unif(r), u2 = rls_rng_unif(r);
    if (!(mean > 0.0))
        return 0.0;
    if (mean > 30.0) {
        double x = mean + sqrt(mean) * s_norm_inv(u2);
        return x > 0.0 ? x : 0.0;
    }
    double p = exp(-mean), cdf = p;
    int k = 0;
    while (u1 > cdf && k < 200) {
        k++;
        p *= mean / k;
        cdf += p;
    }
    return (double)k;
}

/* ---------------------------------------------------------------- loads */

struct s_key {
    char text[RLS_PATH_MAX + 256];
};

static void s_load_key(const struct rls_load_spec *l, double dt, int64_t need, struct s_key *k)
{
    switch (l->kind) {
    case RLS_LOAD_TRACE:
        snprintf(k->text, sizeof k->text, "trace|%s|%s|%.17g", l->path, l->column, l->time_scale);
        break;
    case RLS_LOAD_CONST:
        snprintf(k->text, sizeof k->text, "const");
        break;
    default: {
        const struct rls_trace_synth_params *p = &l->synth;
        snprintf(k->text, sizeof k->text,
                 "synth|%llu|%g|%g|%g|%g|%g|%g|%g|%g|%g|%g|%g|%g|%g|%g|%lld",
                 (unsigned long long)l->seed, p->step_s, p->base_rps, p->diurnal_amp,
                 p->peak_hour, p->weekly_amp, p->trend_per_day, p->noise, p->flash_per_day,
                 p->flash_mult, p->flash_dur_s, p->outage_per_day, p->outage_dur_s,
                 p->start_epoch_s, dt, (long long)need);
    }
    }
}

int rls_sim_load_series(const struct rls_load_spec *l, double dt, int64_t need, const char *who,
                        struct rls_trace **out, double *max, struct rls_err *err)
{
    struct rls_trace *t = NULL, *r = NULL;
    int rc = RLS_OK;

    *out = NULL;
    *max = 0.0;
    if (l->kind == RLS_LOAD_CONST)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: a constant load has no series", who);
    if (l->kind == RLS_LOAD_TRACE) {
        rc = rls_trace_load(l->path, l->column[0] ? l->column : NULL, &t, err);
        if (rc != RLS_OK)
            goto done;
        double ts = l->time_scale > 0.0 ? l->time_scale : 1.0;
        t->step_s /= ts;
    } else {
        struct rls_trace_synth_params p = l->synth;
        double want = (double)(need + 2) * dt;
        if (p.duration_s < want)
            p.duration_s = want;
        rc = rls_trace_synth(&p, l->seed, &t, err);
        if (rc != RLS_OK)
            goto done;
    }
    r = rls_trace_resample(t, dt);
    if (!r) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: cannot resample its load to %g s", who, dt);
        goto done;
    }
    memcpy(r->unit, t->unit, sizeof r->unit);
    for (int64_t i = 0; i < r->n; i++) {
        if (!(r->rate[i] >= 0.0) || !isfinite(r->rate[i]))
            r->rate[i] = 0.0;
        if (r->rate[i] > *max)
            *max = r->rate[i];
    }
    *out = r;
    r = NULL;
done:
    rls_trace_destroy(&t);
    rls_trace_destroy(&r);
    return rc;
}

static int s_build_series(struct rls_sim *sim, const struct rls_load_spec *l, int64_t need,
                          struct s_series *out, struct rls_err *err, const char *svc_name)
{
    struct rls_trace *r = NULL;
    char who[RLS_NAME_MAX + 16];
    memset(out, 0, sizeof *out);
    if (l->kind == RLS_LOAD_CONST) {
        out->rate = malloc(sizeof(double));
        if (!out->rate)
            return rls_err_set(err, RLS_ERR_NOMEM, "out of memory");
        out->rate[0] = 1.0;
        out->n = 1;
        out->max = 1.0;
        return RLS_OK;
    }
    snprintf(who, sizeof who, "service '%s'", svc_name);
    int rc = rls_sim_load_series(l, sim->sc->step_s, need, who, &r, &out->max, err);
    if (rc != RLS_OK)
        return rc;
    if (strcmp(r->unit, "shape") == 0 && !(l->peak_rps > 0.0)) {
        rc = rls_err_set(err, RLS_ERR_INVALID,
                         "service '%s': trace %s is a load shape (unit 'shape'): set load.peak_rps",
                         svc_name, l->path);
        out->max = 0.0;
    } else {
        out->rate = r->rate;
        out->n = r->n;
        r->rate = NULL;
    }
    rls_trace_destroy(&r);
    return rc;
}

/* ---------------------------------------------------------------- lifecycle */

void rls_sim_destroy(struct rls_sim **psim)
{
    if (!psim || !*psim)
        return;
    struct rls_sim *sim = *psim;
    if (sim->series)
        for (int32_t i = 0; i < sim->n_series; i++)
            free(sim->series[i].rate);
    free(sim->series);
    free(sim->svc);
    free(sim->state);
    free(sim->nodes);
    free(sim->node_low_s);
    free(sim->reps);
    free(sim->t_cpu);
    free(sim->t_mem);
    free(sim->t_hi);
    free(sim->t_lo);
    free(sim->pool_usable);
    rls_scenario_destroy(&sim->sc);
    free(sim);
    *psim = NULL;
}

struct rls_sim *rls_sim_new(const struct rls_scenario *sc_in, struct rls_err *err)
{
    struct rls_sim *sim = NULL;
    struct s_key *keys = NULL;
    int32_t *table = NULL;
    if (!sc_in) {
        rls_err_set(err, RLS_ERR_INVALID, "no scenario");
        return NULL;
    }
    if (rls_scenario_validate(sc_in, err) != RLS_OK)
        return NULL;
    sim = calloc(1, sizeof *sim);
    if (!sim)
        goto nomem;
    sim->sc = rls_scenario_copy(sc_in);
    if (!sim->sc)
        goto nomem;
    const struct rls_scenario *sc = sim->sc;
    double dt = sc->step_s;
    sim->n_svc = sc->n_services;
    for (int32_t p = 0; p < sc->n_pools; p++) {
        sim->n_nodes += sc->pools[p].count;
        if (sc->pools[p].boot_s > sim->max_boot_s)
            sim->max_boot_s = sc->pools[p].boot_s;
    }
    sim->svc = calloc((size_t)sim->n_svc, sizeof *sim->svc);
    sim->state = calloc((size_t)sim->n_svc, sizeof *sim->state);
    sim->nodes = calloc((size_t)(sim->n_nodes > 0 ? sim->n_nodes : 1), sizeof *sim->nodes);
    sim->node_low_s = calloc((size_t)(sim->n_nodes > 0 ? sim->n_nodes : 1), sizeof(double));
    sim->series = calloc((size_t)sim->n_svc, sizeof *sim->series);
    keys = calloc((size_t)sim->n_svc, sizeof *keys);
    int64_t tsize = 16;
    while (tsize < 2 * (int64_t)sim->n_svc)
        tsize *= 2;
    table = malloc((size_t)tsize * sizeof *table);
    sim->use_tree = sim->n_nodes > 64;
    sim->tree_size = 1;
    while (sim->tree_size < sim->n_nodes)
        sim->tree_size *= 2;
    sim->t_cpu = malloc(2 * (size_t)sim->tree_size * sizeof(double));
    sim->t_mem = malloc(2 * (size_t)sim->tree_size * sizeof(double));
    sim->t_hi = malloc(2 * (size_t)sim->tree_size * sizeof(double));
    sim->t_lo = malloc(2 * (size_t)sim->tree_size * sizeof(double));
    sim->pool_usable = calloc((size_t)(sc->n_pools > 0 ? sc->n_pools : 1), sizeof(int32_t));
    if (!sim->svc || !sim->state || !sim->nodes || !sim->node_low_s || !sim->series || !keys || !table ||
        !sim->t_cpu || !sim->t_mem || !sim->t_hi || !sim->t_lo || !sim->pool_usable)
        goto nomem;
    for (int64_t i = 0; i < tsize; i++)
        table[i] = -1;
    for (int32_t p = 0, n = 0; p < sc->n_pools; p++)
        for (int32_t j = 0; j < sc->pools[p].count; j++, n++)
            sim->nodes[n].pool = p;

    /* loads: one series per distinct load, shared by the services using it */
    int64_t need = (int64_t)ceil((sc->start_s + sc->start_jitter_s) / dt) + sc->horizon_steps + 1;
    int64_t rep_total = 0;
    for (int32_t i = 0; i < sim->n_svc; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        struct s_service *v = &sim->svc[i];
        struct s_key key;
        s_load_key(&s->load, dt, need, &key);
        uint64_t h = 1469598103934665603ULL;
        for (const char *c = key.text; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        int64_t slot = (int64_t)(h & (uint64_t)(tsize - 1));
        int32_t found = -1;
        while (table[slot] >= 0) {
            if (strcmp(keys[table[slot]].text, key.text) == 0) {
                found = table[slot];
                break;
            }
            slot = (slot + 1) & (tsize - 1);
        }
        if (found < 0) {
            found = sim->n_series;
            if (s_build_series(sim, &s->load, need, &sim->series[found], err, s->name) != RLS_OK)
                goto fail;
            keys[found] = key;
            table[slot] = found;
            sim->n_series++;
        }
        v->series = found;
        const struct s_series *ser = &sim->series[found];
        if (s->load.kind == RLS_LOAD_CONST)
            v->scale = s->load.peak_rps;
        else if (s->load.peak_rps > 0.0)
            v->scale = ser->max > 0.0 ? s->load.peak_rps / ser->max : 0.0;
        else
            v->scale = 1.0;
        v->offset = (int64_t)llround(s->load.shift_s / dt);
        v->min_rep = s->min_replicas;
        v->max_rep = s->max_replicas;
        v->cap_rps = s->capacity_rps;
        v->queue_limit = (double)s->queue_limit;
        v->cold_s = s->cold_start_s;
        v->cpu = s->cpu;
        v->mem = s->mem_gb;
        v->k = rls_queueing_servers_per_replica(s);
        v->mu = s->capacity_rps / v->k;
        v->slo_s = s->slo_ms / 1000.0;
        v->rep_off = (int32_t)rep_total;
        v->rep_cap = s->max_replicas;
        rep_total += s->max_replicas;
        if (rep_total > 2000000000LL) {
            rls_err_set(err, RLS_ERR_RANGE, "too many replicas in total (sum of max_replicas)");
            goto fail;
        }
    }
    sim->n_reps_total = rep_total;
    sim->reps = calloc((size_t)(rep_total > 0 ? rep_total : 1), sizeof *sim->reps);
    if (!sim->reps)
        goto nomem;
    free(keys);
    free(table);
    return sim;
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "out of memory creating the simulator");
fail:
    free(keys);
    free(table);
    rls_sim_destroy(&sim);
    return NULL;
}

const char *rls_sim_errmsg(const struct rls_sim *sim)
{
    return sim ? sim->errmsg : "";
}

/* ---------------------------------------------------------------- nodes */

static inline int s_node_usable(const struct rls_node_state *n)
{
    return n->status == RLS_NODE_ON || n->status == RLS_NODE_BOOTING;
}

/* Refreshes node j's leaf of the placement index and its ancestors. Call
 * after any change to the node's usage or status. O(log nodes). */
static void s_tree_set(struct rls_sim *sim, int32_t j)
{
    if (!sim->use_tree)
        return;
    const struct rls_node_state *n = &sim->nodes[j];
    int32_t x = sim->tree_size + j;
    if (s_node_usable(n)) {
        const struct rls_node_pool *p = &sim->sc->pools[n->pool];
        double fc = p->cpu - n->cpu_used, fm = p->mem_gb - n->mem_used;
        double share = 0.5 * (fc / p->cpu + (p->mem_gb > 0 ? fm / p->mem_gb : 0.0));
        sim->t_cpu[x] = fc;
        sim->t_mem[x] = fm;
        sim->t_hi[x] = sim->t_lo[x] = share;
    } else {
        sim->t_cpu[x] = sim->t_mem[x] = -1.0;
        sim->t_hi[x] = -INFINITY;
        sim->t_lo[x] = INFINITY;
    }
    for (x /= 2; x >= 1; x /= 2) {
        int32_t l = 2 * x, r = l + 1;
        sim->t_cpu[x] = sim->t_cpu[l] > sim->t_cpu[r] ? sim->t_cpu[l] : sim->t_cpu[r];
        sim->t_mem[x] = sim->t_mem[l] > sim->t_mem[r] ? sim->t_mem[l] : sim->t_mem[r];
        sim->t_hi[x] = sim->t_hi[l] > sim->t_hi[r] ? sim->t_hi[l] : sim->t_hi[r];
        sim->t_lo[x] = sim->t_lo[l] < sim->t_lo[r] ? sim->t_lo[l] : sim->t_lo[r];
    }
}

static void s_tree_build(struct rls_sim *sim)
{
    if (!sim->use_tree)
        return;
    for (int32_t x = 1; x < 2 * sim->tree_size; x++) {
        sim->t_cpu[x] = sim->t_mem[x] = -1.0;
        sim->t_hi[x] = -INFINITY;
        sim->t_lo[x] = INFINITY;
    }
    for (int32_t j = 0; j < sim->n_nodes; j++)
        s_tree_set(sim, j);
}

struct s_query {
    double cpu, mem;        /* what the replica requests */
    double pen_min, pen_max; /* least / most free share one replica takes, over pools */
    int binpack;
    int32_t skip;
    int32_t best;
    double best_score;
};

/* Depth-first in node order, pruning subtrees where nothing fits or nothing
 * can beat the best so far: the same answer as scanning every node. */
static void s_tree_search(const struct rls_sim *sim, int32_t x, struct s_query *q)
{
    if (sim->t_cpu[x] < q->cpu - 1e-9 || sim->t_mem[x] < q->mem - 1e-9)
        return;
    double bound = q->binpack ? -sim->t_lo[x] + q->pen_max : sim->t_hi[x] - q->pen_min;
    if (q->best >= 0 && bound <= q->best_score + 1e-12)
        return;
    if (x < sim->tree_size) {
        s_tree_search(sim, 2 * x, q);
        s_tree_search(sim, 2 * x + 1, q);
        return;
    }
    int32_t j = x - sim->tree_size;
    if (j == q->skip)
        return;
    const struct rls_node_state *n = &sim->nodes[j];
    const struct rls_node_pool *p = &sim->sc->pools[n->pool];
    double fc = p->cpu - n->cpu_used - q->cpu, fm = p->mem_gb - n->mem_used - q->mem;
    if (fc < -1e-9 || fm < -1e-9)
        return;
    double free_share = 0.5 * (fc / p->cpu + (p->mem_gb > 0 ? fm / p->mem_gb : 0.0));
    double score = q->binpack ? -free_share : free_share;
    if (q->best < 0 || score > q->best_score + 1e-12) {
        q->best = j;
        q->best_score = score;
    }
}

/* Kubernetes scoring: LeastAllocated (spread) takes the node with the most
 * free share after placing; MostAllocated (binpack) the least; ties go to the
 * lowest node index. Among on or booting nodes; `skip` is excluded. Returns
 * the node or -1. */
static int32_t s_pick_node(const struct rls_sim *sim, double cpu, double mem, int placement,
                           int32_t skip)
{
    struct s_query q = {cpu, mem, INFINITY, -INFINITY, placement == RLS_PLACE_BINPACK, skip, -1, 0.0};
    for (int32_t k = 0; k < sim->sc->n_pools; k++) {
        const struct rls_node_pool *p = &sim->sc->pools[k];
        double pen = 0.5 * (cpu / p->cpu + (p->mem_gb > 0 ? mem / p->mem_gb : 0.0));
        q.pen_min = fmin(q.pen_min, pen);
        q.pen_max = fmax(q.pen_max, pen);
    }
    if (sim->use_tree) {
        s_tree_search(sim, 1, &q);
        return q.best;
    }
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        const struct rls_node_state *n = &sim->nodes[j];
        if (j == skip || !s_node_usable(n))
            continue;
        const struct rls_node_pool *p = &sim->sc->pools[n->pool];
        double fc = p->cpu - n->cpu_used - cpu, fm = p->mem_gb - n->mem_used - mem;
        if (fc < -1e-9 || fm < -1e-9)
            continue;
        double free_share = 0.5 * (fc / p->cpu + (p->mem_gb > 0 ? fm / p->mem_gb : 0.0));
        double score = q.binpack ? -free_share : free_share;
        if (q.best < 0 || score > q.best_score + 1e-12) {
            q.best = j;
            q.best_score = score;
        }
    }
    return q.best;
}

/* The cluster autoscaler's scale-up: boot the first off node that fits. */
static int32_t s_boot_node(struct rls_sim *sim, double cpu, double mem, int immediate)
{
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        struct rls_node_state *n = &sim->nodes[j];
        const struct rls_node_pool *p = &sim->sc->pools[n->pool];
        if (n->status != RLS_NODE_OFF || p->cpu < cpu - 1e-9 || p->mem_gb < mem - 1e-9)
            continue;
        /* nodes already booting progress before the services act, so a node
         * booted now takes this step's progress at once */
        int on_now = immediate || p->boot_s <= 1e-9;
        n->status = on_now ? RLS_NODE_ON : RLS_NODE_BOOTING;
        n->timer_s = on_now ? 0.0 : fmax(0.0, p->boot_s - sim->sc->step_s);
        sim->node_low_s[j] = 0.0;
        s_tree_set(sim, j);
        return j;
    }
    return -1;
}

static void s_attach(struct rls_sim *sim, struct s_replica *r, int32_t node,
                     const struct rls_service_spec *s)
{
    struct rls_node_state *n = &sim->nodes[node];
    r->node = node;
    r->state = S_REP_STARTING;
    r->timer_s = s->cold_start_s;
    n->cpu_used += s->cpu;
    n->mem_used += s->mem_gb;
    n->replicas++;
    s_tree_set(sim, node);
}

static void s_detach(struct rls_sim *sim, struct s_replica *r, const struct rls_service_spec *s)
{
    if (r->node < 0)
        return;
    struct rls_node_state *n = &sim->nodes[r->node];
    n->cpu_used -= s->cpu;
    n->mem_used -= s->mem_gb;
    if (n->cpu_used < 1e-9)
        n->cpu_used = 0.0;
    if (n->mem_used < 1e-9)
        n->mem_used = 0.0;
    n->replicas--;
    s_tree_set(sim, r->node);
    r->node = -1;
}

/* ---------------------------------------------------------------- replicas */

static void s_count(struct rls_sim *sim, int32_t i)
{
    struct s_service *v = &sim->svc[i];
    struct rls_svc_state *st = &sim->state[i];
    struct s_replica *reps = sim->reps + v->rep_off;
    int32_t c[3] = {0, 0, 0};
    for (int32_t r = 0; r < v->n_reps; r++)
        c[reps[r].state]++;
    st->pending = c[S_REP_PENDING];
    st->starting = c[S_REP_STARTING];
    st->ready = c[S_REP_READY];
}

/* Removes replica r of service i (swap with the last). */
static void s_remove(struct rls_sim *sim, int32_t i, int32_t r)
{
    struct s_service *v = &sim->svc[i];
    struct s_replica *reps = sim->reps + v->rep_off;
    s_detach(sim, &reps[r], &sim->sc->services[i]);
    reps[r] = reps[v->n_reps - 1];
    v->n_reps--;
}

/* Picks the replica to remove when shrinking: pending first, then the
 * starting one with the most cold start left, then a ready one on the node
 * the placement strategy wants to empty (binpack: least allocated; spread:
 * most allocated). */
static int32_t s_victim(const struct rls_sim *sim, int32_t i, int placement)
{
    const struct s_service *v = &sim->svc[i];
    const struct s_replica *reps = sim->reps + v->rep_off;
    int32_t best = -1;
    double best_score = -INFINITY;
    for (int32_t r = 0; r < v->n_reps; r++) {
        double score;
        if (reps[r].state == S_REP_PENDING)
            score = 3e9;
        else if (reps[r].state == S_REP_STARTING)
            score = 2e9 + reps[r].timer_s;
        else {
            const struct rls_node_state *n = &sim->nodes[reps[r].node];
            double alloc = n->cpu_used / sim->sc->pools[n->pool].cpu;
            score = placement == RLS_PLACE_BINPACK ? -alloc : alloc;
        }
        if (score > best_score) {
            best_score = score;
            best = r;
        }
    }
    return best;
}

/* Places pending replicas of service i; returns how many stay pending. */
static int32_t s_place_pending(struct rls_sim *sim, int32_t i, int placement, int immediate)
{
    struct s_service *v = &sim->svc[i];
    const struct rls_service_spec *s = &sim->sc->services[i];
    struct s_replica *reps = sim->reps + v->rep_off;
    int32_t left = 0;
    for (int32_t r = 0; r < v->n_reps; r++) {
        if (reps[r].state != S_REP_PENDING)
            continue;
        int32_t node = s_pick_node(sim, s->cpu, s->mem_gb, placement, -1);
        if (node < 0)
            node = s_boot_node(sim, s->cpu, s->mem_gb, immediate);
        if (node < 0) {
            left++;
            continue;
        }
        s_attach(sim, &reps[r], node, s);
        if (immediate)
            reps[r].state = S_REP_READY;
    }
    return left;
}

/* Kills every replica on node j (failure or drain): they become pending. */
static int32_t s_evict_node(struct rls_sim *sim, int32_t j)
{
    int32_t n_killed = 0;
    for (int32_t i = 0; i < sim->n_svc && sim->nodes[j].replicas > 0; i++) {
        struct s_service *v = &sim->svc[i];
        struct s_replica *reps = sim->reps + v->rep_off;
        for (int32_t r = 0; r < v->n_reps; r++) {
            if (reps[r].node != j)
                continue;
            s_detach(sim, &reps[r], &sim->sc->services[i]);
            reps[r].state = S_REP_PENDING;
            reps[r].timer_s = 0.0;
            sim->state[i].killed++;
            sim->any_killed = 1;
            n_killed++;
        }
    }
    return n_killed;
}

/* The cluster autoscaler's drain of node j: only if every replica on it fits
 * on another node that is on (checked by placing them tentatively,
 * bin-pack). A drain that respects a PodDisruptionBudget with surge (the
 * replacement is ready before the old replica goes) costs no capacity, so
 * replicas move keeping their state and cold-start timer. Returns 1 if
 * drained (node j empty), 0 if not. */
static int s_drain(struct rls_sim *sim, int32_t j)
{
    const struct rls_scenario *sc = sim->sc;
    int fits = 1;
    double save_cpu[64], save_mem[64];   /* usage before the tentative placement */
    int32_t touched[64], n_touched = 0;
    for (int32_t i = 0; i < sim->n_svc && fits; i++) {
        const struct s_service *v = &sim->svc[i];
        const struct s_replica *reps = sim->reps + v->rep_off;
        for (int32_t r = 0; r < v->n_reps && fits; r++) {
            if (reps[r].node != j)
                continue;
            int32_t to = s_pick_node(sim, v->cpu, v->mem, RLS_PLACE_BINPACK, j);
            if (to < 0 || sim->nodes[to].status != RLS_NODE_ON || n_touched >= 64) {
                fits = 0;
                break;
            }
            touched[n_touched] = to;
            save_cpu[n_touched] = sim->nodes[to].cpu_used;
            save_mem[n_touched] = sim->nodes[to].mem_used;
            n_touched++;
            sim->nodes[to].cpu_used += v->cpu;   /* tentative */
            sim->nodes[to].mem_used += v->mem;
            s_tree_set(sim, to);
        }
    }
    for (int32_t t = n_touched - 1; t >= 0; t--) {
        sim->nodes[touched[t]].cpu_used = save_cpu[t];
        sim->nodes[touched[t]].mem_used = save_mem[t];
        s_tree_set(sim, touched[t]);
    }
    if (!fits)
        return 0;
    for (int32_t i = 0; i < sim->n_svc && sim->nodes[j].replicas > 0; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        struct s_service *v = &sim->svc[i];
        struct s_replica *reps = sim->reps + v->rep_off;
        for (int32_t r = 0; r < v->n_reps; r++) {
            if (reps[r].node != j)
                continue;
            int32_t to = s_pick_node(sim, v->cpu, v->mem, RLS_PLACE_BINPACK, j);
            int32_t state = reps[r].state;
            double timer = reps[r].timer_s;
            s_detach(sim, &reps[r], s);
            s_attach(sim, &reps[r], to, s);
            reps[r].state = state;
            reps[r].timer_s = timer;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- episode */

int rls_sim_reset(struct rls_sim *sim, uint64_t seed)
{
    if (!sim)
        return RLS_ERR_INVALID;
    const struct rls_scenario *sc = sim->sc;
    double dt = sc->step_s;
    sim->errmsg[0] = '\0';
    rls_rng_seed(&sim->rng_load, seed * 2 + 1);
    rls_rng_seed(&sim->rng_fail, seed * 2 + 2);
    struct rls_rng jit;
    rls_rng_seed(&jit, seed ^ 0x5eedULL);
    int64_t jitter = 0;
    if (sc->start_jitter_s > 0.0)
        jitter = (int64_t)floor(rls_rng_unif(&jit) * (sc->start_jitter_s / dt + 1.0));
    sim->start_steps = (int64_t)llround(sc->start_s / dt) + jitter;
    sim->steps = 0;
    memset(&sim->last, 0, sizeof sim->last);
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        struct rls_node_state *n = &sim->nodes[j];
        n->status = RLS_NODE_ON;   /* a standing cluster; idle nodes power off later */
        n->timer_s = 0.0;
        n->cpu_used = n->mem_used = 0.0;
        n->replicas = 0;
        sim->node_low_s[j] = 0.0;
    }
    s_tree_build(sim);
    sim->any_killed = 0;
    for (int32_t i = 0; i < sim->n_svc; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        struct s_service *v = &sim->svc[i];
        struct rls_svc_state *st = &sim->state[i];
        memset(st, 0, sizeof *st);
        int32_t n0 = s->initial_replicas > 0 ? s->initial_replicas : s->min_replicas;
        if (n0 < s->min_replicas)
            n0 = s->min_replicas;
        if (n0 > s->max_replicas)
            n0 = s->max_replicas;
        v->n_reps = n0;
        struct s_replica *reps = sim->reps + v->rep_off;
        for (int32_t r = 0; r < n0; r++) {
            reps[r].node = -1;
            reps[r].state = S_REP_PENDING;
            reps[r].timer_s = 0.0;
        }
        if (s_place_pending(sim, i, RLS_PLACE_SPREAD, 1) > 0) {
            snprintf(sim->errmsg, sizeof sim->errmsg,
                     "service '%s': its %d initial replicas do not fit on the cluster", s->name, n0);
            sim->reset_done = 0;
            return RLS_ERR_INFEASIBLE;
        }
        v->prev_desired = n0;
        st->desired = n0;
        s_count(sim, i);
        double rate = rls_sim_rate_at(sim, i, 0);
        st->rate_rps = st->arrival_rps = rate;
        double cap = st->ready * s->capacity_rps;
        st->served_rps = rate < cap ? rate : cap;
        st->utilization = cap > 0 ? st->served_rps / cap : 0.0;
        rls_queueing_dist(rate, st->ready * v->k, v->mu, 0.0, &st->dist);
        st->frac_over_slo = rls_queueing_ccdf(&st->dist, v->slo_s);
    }
    sim->reset_done = 1;
    return RLS_OK;
}

double rls_sim_rate_at(const struct rls_sim *sim, int32_t svc, int64_t step)
{
    if (!sim || svc < 0 || svc >= sim->n_svc)
        return 0.0;
    const struct s_service *v = &sim->svc[svc];
    const struct s_series *ser = &sim->series[v->series];
    int64_t idx = sim->start_steps + v->offset + step;
    idx %= ser->n;
    if (idx < 0)
        idx += ser->n;
    return ser->rate[idx] * v->scale;
}

/* Serves one step of service i; accumulates into info. */
static void s_serve(struct rls_sim *sim, int32_t i, double dt, struct rls_step_info *info)
{
    const struct s_service *v = &sim->svc[i];
    struct rls_svc_state *st = &sim->state[i];
    double rate = rls_sim_rate_at(sim, i, sim->steps);
    double mean = rate * dt;
    /* noise on: exactly two uniforms per service per step, whatever happens */
    double arrivals = sim->sc->poisson_noise ? s_poisson(&sim->rng_load, mean) : mean;
    double drain = (double)st->ready * v->cap_rps;
    double cap = drain * dt;
    double b0 = st->backlog;
    double total = b0 + arrivals;
    double served = total < cap ? total : cap;
    double rest = total - served;
    double dropped = rest > v->queue_limit ? rest - v->queue_limit : 0.0;
    double b1 = rest - dropped;
    st->rate_rps = rate;
    st->arrival_rps = arrivals / dt;
    st->served_rps = served / dt;
    st->dropped_rps = dropped / dt;
    st->backlog = b1;
    st->utilization = cap > 0.0 ? served / cap : (arrivals > 0.0 ? 1.0 : 0.0);
    rls_queueing_dist_step(arrivals / dt, st->ready * v->k, v->mu, b0, b1, drain, dt, &st->dist);
    st->frac_over_slo = served > 0.0 || arrivals > 0.0 ? rls_queueing_ccdf(&st->dist, v->slo_s) : 0.0;
    info->arrivals += arrivals;
    info->served += served;
    info->dropped += dropped;
    info->over_slo += served * st->frac_over_slo;
    info->replica_seconds += (double)(st->ready + st->starting) * dt;
}

/* Applies service i's action: grow or shrink its replica set, place what is
 * pending, advance cold starts. */
static void s_act(struct rls_sim *sim, int32_t i, int32_t want, int place, struct rls_step_info *info)
{
    struct s_service *v = &sim->svc[i];
    struct rls_svc_state *st = &sim->state[i];
    int32_t d = want < v->min_rep ? v->min_rep : (want > v->max_rep ? v->max_rep : want);
    st->change = d - v->prev_desired;
    if (st->change != 0)
        info->churn += fabs((double)st->change) / (double)v->max_rep;
    v->prev_desired = d;
    st->desired = d;
    struct s_replica *reps = sim->reps + v->rep_off;
    while (v->n_reps < d) {
        struct s_replica *r = &reps[v->n_reps++];
        r->node = -1;
        r->state = S_REP_PENDING;
        r->timer_s = 0.0;
    }
    while (v->n_reps > d)
        s_remove(sim, i, s_victim(sim, i, place));
    if (st->pending > 0 || st->change > 0 || st->killed > 0)
        s_place_pending(sim, i, place, 0);
    if (st->starting > 0 || st->pending > 0 || st->change != 0 || st->killed > 0) {
        double dt = sim->sc->step_s;
        for (int32_t r = 0; r < v->n_reps; r++) {
            if (reps[r].state != S_REP_STARTING || sim->nodes[reps[r].node].status != RLS_NODE_ON)
                continue;
            if (reps[r].timer_s <= 1e-9)
                reps[r].state = S_REP_READY;
            else
                reps[r].timer_s -= dt;
        }
        s_count(sim, i);
    }
}

int rls_sim_step(struct rls_sim *sim, const int32_t *desired, const uint8_t *placement)
{
    if (!sim)
        return RLS_ERR_INVALID;
    if (!sim->reset_done) {
        snprintf(sim->errmsg, sizeof sim->errmsg, "step before reset");
        return RLS_ERR_STATE;
    }
    if (!desired) {
        snprintf(sim->errmsg, sizeof sim->errmsg, "no desired replicas given");
        return RLS_ERR_INVALID;
    }
    const struct rls_scenario *sc = sim->sc;
    double dt = sc->step_s;
    struct rls_step_info info;
    memset(&info, 0, sizeof info);
    info.step = sim->steps;

    if (sim->any_killed) {
        for (int32_t i = 0; i < sim->n_svc; i++)
            sim->state[i].killed = 0;
        sim->any_killed = 0;
    }

    /* 1. failures: one draw per node per step */
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        struct rls_node_state *n = &sim->nodes[j];
        const struct rls_node_pool *p = &sc->pools[n->pool];
        double u = rls_rng_unif(&sim->rng_fail);
        if (p->mtbf_h <= 0.0 || !s_node_usable(n))
            continue;
        if (u < 1.0 - exp(-dt / (p->mtbf_h * 3600.0))) {
            s_evict_node(sim, j);
            n->status = RLS_NODE_FAILED;
            n->timer_s = p->repair_s;
            n->cpu_used = n->mem_used = 0.0;
            s_tree_set(sim, j);
            info.failures++;
        }
    }

    /* 2. boot progress (nodes booted during this step start at boot_s - dt) */
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        struct rls_node_state *n = &sim->nodes[j];
        if (n->status == RLS_NODE_BOOTING) {
            if (n->timer_s <= 1e-9)
                n->status = RLS_NODE_ON;
            else
                n->timer_s -= dt;
        }
    }

    /* 3. per service, in order: action, placement, cold starts, serving */
    for (int32_t i = 0; i < sim->n_svc; i++) {
        int place = placement && placement[i] < RLS_PLACE_COUNT ? placement[i] : RLS_PLACE_SPREAD;
        s_act(sim, i, desired[i], place, &info);
        s_serve(sim, i, dt, &info);
    }

    /* 4. cluster autoscaler scale-down, repairs, cost */
    for (int32_t k = 0; k < sc->n_pools; k++)
        sim->pool_usable[k] = 0;
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        struct rls_node_state *n = &sim->nodes[j];
        const struct rls_node_pool *p = &sc->pools[n->pool];
        if (n->status == RLS_NODE_FAILED) {
            n->timer_s -= dt;
            if (n->timer_s <= 1e-9) {
                n->status = RLS_NODE_OFF;
                n->timer_s = 0.0;
            }
            continue;
        }
        if (s_node_usable(n))
            sim->pool_usable[n->pool]++;
        if (n->status != RLS_NODE_ON)
            continue;
        if (n->cpu_used / p->cpu < 0.5 && n->mem_used / (p->mem_gb > 0 ? p->mem_gb : 1.0) < 0.5)
            sim->node_low_s[j] += dt;
        else
            sim->node_low_s[j] = 0.0;
    }
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        struct rls_node_state *n = &sim->nodes[j];
        const struct rls_node_pool *p = &sc->pools[n->pool];
        if (n->status != RLS_NODE_ON || sim->node_low_s[j] < sc->node_idle_s ||
            sim->pool_usable[n->pool] <= p->min_on)
            continue;
        if (n->replicas > 0 && !s_drain(sim, j))
            continue;
        n->status = RLS_NODE_OFF;
        n->cpu_used = n->mem_used = 0.0;
        sim->node_low_s[j] = 0.0;
        sim->pool_usable[n->pool]--;
        s_tree_set(sim, j);
        break;   /* one node per step, as the cluster autoscaler drains */
    }
    for (int32_t j = 0; j < sim->n_nodes; j++) {
        const struct rls_node_state *n = &sim->nodes[j];
        if (s_node_usable(n)) {
            info.nodes_on++;
            info.cost_usd += sc->pools[n->pool].price_per_hour * dt / 3600.0;
        } else if (n->status == RLS_NODE_FAILED) {
            info.nodes_failed++;
        }
    }
    sim->steps++;
    info.time_s = (double)(sim->start_steps + sim->steps) * dt;
    sim->last = info;
    return RLS_OK;
}

/* ---------------------------------------------------------------- views */

const struct rls_scenario *rls_sim_scenario(const struct rls_sim *sim) { return sim->sc; }
int32_t rls_sim_n_services(const struct rls_sim *sim) { return sim->n_svc; }
int32_t rls_sim_n_nodes(const struct rls_sim *sim) { return sim->n_nodes; }
const struct rls_svc_state *rls_sim_services(const struct rls_sim *sim) { return sim->state; }
const struct rls_node_state *rls_sim_nodes(const struct rls_sim *sim) { return sim->nodes; }
const struct rls_step_info *rls_sim_last(const struct rls_sim *sim) { return &sim->last; }
int64_t rls_sim_steps(const struct rls_sim *sim) { return sim->steps; }
int64_t rls_sim_horizon(const struct rls_sim *sim) { return sim->sc->horizon_steps; }

double rls_sim_time_s(const struct rls_sim *sim)
{
    return (double)(sim->start_steps + sim->steps) * sim->sc->step_s;
}

int rls_sim_service_nodes(const struct rls_sim *sim, int32_t svc, char *buf, int len)
{
    if (!buf || len <= 0)
        return 0;
    buf[0] = '\0';
    if (!sim || svc < 0 || svc >= sim->n_svc)
        return 0;
    const struct s_service *v = &sim->svc[svc];
    const struct s_replica *reps = sim->reps + v->rep_off;
    int used = 0;
    /* count per node in ascending node order without extra memory */
    int32_t prev = -1;
    for (;;) {
        int32_t next = -1, count = 0;
        for (int32_t r = 0; r < v->n_reps; r++) {
            int32_t nd = reps[r].node;
            if (nd > prev && (next < 0 || nd < next))
                next = nd;
        }
        if (next < 0)
            break;
        for (int32_t r = 0; r < v->n_reps; r++)
            count += reps[r].node == next;
        int w = snprintf(buf + used, (size_t)(len - used), "%sn%d:%d", used ? ";" : "", next, count);
        if (w < 0 || w >= len - used) {
            buf[len - 1] = '\0';
            return len - 1;
        }
        used += w;
        prev = next;
    }
    return used;
}

int64_t rls_sim_memory_bytes(const struct rls_sim *sim)
{
    if (!sim)
        return 0;
    int64_t b = (int64_t)sizeof *sim;
    b += (int64_t)sim->n_svc * (int64_t)(sizeof(struct s_service) + sizeof(struct rls_svc_state) +
                                         sizeof(struct rls_service_spec) + sizeof(struct s_series));
    b += (int64_t)sim->n_nodes * (int64_t)(sizeof(struct rls_node_state) + sizeof(double));
    b += sim->n_reps_total * (int64_t)sizeof(struct s_replica);
    for (int32_t i = 0; i < sim->n_series; i++)
        b += sim->series[i].n * (int64_t)sizeof(double);
    return b;
}
