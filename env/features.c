/* features.c - the per-service observation features (features.h; every
 * formula in docs/ENV.md, keep the two in step). Shared by the environment
 * (env.c), the learned policy (policies/learned.c) and the agent, so that a
 * network sees the same numbers in training and in production.
 */
#include "features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum {
    F_LOAD, F_LOAD_LOG, F_TREND_1, F_TREND_4, F_TREND_20, F_READY, F_STARTING, F_PENDING,
    F_DESIRED, F_MIN_REPLICAS, F_UTILIZATION, F_BACKLOG, F_QUEUE_FILL, F_LATENCY, F_OVER_SLO,
    F_DROP, F_SUPPLY_GAP, F_TOD_SIN, F_TOD_COS, F_COLD_START, F_CLUSTER_FREE_CPU,
    F_TENANT_SHARE, F_CAN_PLACE, F_PEAK_GAP, F_PEAK_DROP, F_COUNT
};

_Static_assert(F_COUNT == RLS_ENV_N_FEATURES, "feature table and RLS_ENV_N_FEATURES differ");

static const char *const s_feature_names[RLS_ENV_N_FEATURES] = {
    "load", "load_log", "trend_1", "trend_4", "trend_20", "ready", "starting", "pending",
    "desired", "min_replicas", "utilization", "backlog", "queue_fill", "latency", "over_slo",
    "drop", "supply_gap", "tod_sin", "tod_cos", "cold_start", "cluster_free_cpu",
    "tenant_share", "can_place", "peak_gap", "peak_drop",
};

static const float s_feature_low[RLS_ENV_N_FEATURES] = {
    0, 0, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, 0, 0, 0, 0, -1, 0,
};

static const float s_feature_high[RLS_ENV_N_FEATURES] = {
    2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define S_TREND_EPS 0.01          /* replicas' worth of load added to trend ratios */
#define S_GAP_EPS 0.5             /* replicas added to both sides of the supply gap */
#define S_BACKLOG_SCALE_S 300.0   /* backlog feature is 1 at this many seconds of capacity */
#define S_COLD_SCALE_STEPS 20.0   /* cold_start feature is 1 at this many steps */
#define S_DAY_S 86400.0
#define S_FIT_EPS 1e-9
#define S_PEAK_STEPS 40           /* peak_gap / peak_drop: peak of this many last steps */

/* What the features need of one service (copied from the scenario). */
struct s_svc {
    double cap;           /* capacity_rps, 1 when not positive */
    double maxr;          /* max(max_replicas, 1) */
    int32_t min_replicas, max_replicas;
    double slo_s;         /* SLO, seconds (1 when not positive) */
    double pct;           /* SLO percentile (0.95 when outside (0, 1)) */
    int32_t queue_limit;
    double cpu, mem_gb;   /* per replica */
    double cold_start;    /* the cold_start feature (constant) */
    int32_t tenant;       /* tenant index, n_tenants for a bad one */
};

struct rls_features {
    int32_t n_svc;
    int32_t n_tenants;
    int32_t n_pools;
    struct s_svc *svc;         /* [n_svc] */
    double *pool_cpu;          /* [n_pools] cores per node */
    double *pool_mem;          /* [n_pools] GiB per node */
    int32_t hist_len;          /* H: trend lags up to H are available */
    int32_t hist_rows;         /* ring rows: max(H, S_PEAK_STEPS) + 1 */
    double *hist;              /* [hist_rows, n_svc] ring of arrivals in replica units */
    int32_t hist_head;         /* row of the latest entry */
    int64_t hist_count;        /* rows filled (<= H + 1) */
    uint8_t *fits;             /* [n_svc] can_place of the last compute */
    double *tenant_reps;       /* [n_tenants + 1] scratch */
};

static double s_clip(double x, double lo, double hi)
{
    if (!(x >= lo))   /* also NaN -> lo */
        return lo;
    return x > hi ? hi : x;
}

const char *const *rls_features_names(int32_t *n)
{
    if (n)
        *n = RLS_ENV_N_FEATURES;
    return s_feature_names;
}

const float *rls_features_low(void)
{
    return s_feature_low;
}

const float *rls_features_high(void)
{
    return s_feature_high;
}

struct rls_features *rls_features_new(const struct rls_scenario *sc, int32_t history_len,
                                      struct rls_err *err)
{
    struct rls_features *f = NULL;
    size_t n = 0;
    if (!sc || sc->n_services < 1 || !sc->services) {
        rls_err_set(err, RLS_ERR_INVALID, "features: scenario is NULL or has no services");
        return NULL;
    }
    if (history_len < 1 || history_len > 100000) {
        rls_err_set(err, RLS_ERR_RANGE, "features: history_len %d not in [1, 100000]",
                    (int)history_len);
        return NULL;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        goto nomem;
    f->n_svc = sc->n_services;
    f->n_tenants = sc->n_tenants > 0 ? sc->n_tenants : 0;
    f->n_pools = sc->n_pools > 0 && sc->pools ? sc->n_pools : 0;
    f->hist_len = history_len;
    f->hist_rows = (history_len > S_PEAK_STEPS ? history_len : S_PEAK_STEPS) + 1;
    n = (size_t)f->n_svc;
    f->svc = calloc(n, sizeof(*f->svc));
    f->pool_cpu = calloc((size_t)f->n_pools + 1, sizeof(double));
    f->pool_mem = calloc((size_t)f->n_pools + 1, sizeof(double));
    f->hist = calloc((size_t)f->hist_rows * n, sizeof(double));
    f->fits = calloc(n, sizeof(uint8_t));
    f->tenant_reps = calloc((size_t)f->n_tenants + 1, sizeof(double));
    if (!f->svc || !f->pool_cpu || !f->pool_mem || !f->hist || !f->fits || !f->tenant_reps)
        goto nomem;
    for (int32_t p = 0; p < f->n_pools; p++) {
        f->pool_cpu[p] = sc->pools[p].cpu;
        f->pool_mem[p] = sc->pools[p].mem_gb;
    }
    for (int32_t i = 0; i < f->n_svc; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        struct s_svc *v = &f->svc[i];
        v->cap = s->capacity_rps > 0 ? s->capacity_rps : 1.0;
        v->maxr = s->max_replicas >= 1 ? (double)s->max_replicas : 1.0;
        v->min_replicas = s->min_replicas;
        v->max_replicas = s->max_replicas;
        v->slo_s = s->slo_ms > 0 ? s->slo_ms / 1000.0 : 1.0;
        v->pct = s->slo_percentile > 0 && s->slo_percentile < 1 ? s->slo_percentile : 0.95;
        v->queue_limit = s->queue_limit;
        v->cpu = s->cpu;
        v->mem_gb = s->mem_gb;
        v->cold_start = s_clip(
            s->cold_start_s / (S_COLD_SCALE_STEPS * (sc->step_s > 0 ? sc->step_s : 1.0)), 0.0, 1.0);
        v->tenant = s->tenant >= 0 && s->tenant < f->n_tenants ? s->tenant : f->n_tenants;
    }
    return f;
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "features: out of memory");
    rls_features_destroy(&f);
    return NULL;
}

void rls_features_destroy(struct rls_features **f)
{
    if (!f || !*f)
        return;
    free((*f)->svc);
    free((*f)->pool_cpu);
    free((*f)->pool_mem);
    free((*f)->hist);
    free((*f)->fits);
    free((*f)->tenant_reps);
    free(*f);
    *f = NULL;
}

void rls_features_reset(struct rls_features *f)
{
    if (!f)
        return;
    f->hist_head = 0;
    f->hist_count = 0;
    memset(f->fits, 0, (size_t)f->n_svc);
}

int32_t rls_features_n_services(const struct rls_features *f)
{
    return f ? f->n_svc : 0;
}

const uint8_t *rls_features_can_place(const struct rls_features *f)
{
    return f ? f->fits : NULL;
}

static double s_hist_at(const struct rls_features *f, int32_t lag, int32_t svc)
{
    int32_t rows = f->hist_rows;
    int32_t row = ((f->hist_head - lag) % rows + rows) % rows;
    return f->hist[(size_t)row * (size_t)f->n_svc + (size_t)svc];
}

static void s_hist_push(struct rls_features *f, const struct rls_svc_state *sv)
{
    int32_t rows = f->hist_rows;
    f->hist_head = (f->hist_head + 1) % rows;
    for (int32_t i = 0; i < f->n_svc; i++) {
        double a = sv[i].arrival_rps / f->svc[i].cap;
        f->hist[(size_t)f->hist_head * (size_t)f->n_svc + (size_t)i] =
            isfinite(a) && a > 0 ? a : 0.0;
    }
    if (f->hist_count < rows)
        f->hist_count++;
}

/* (a - a_lag) / (a + a_lag + eps) with the lag clamped to the history there is. */
static double s_trend(const struct rls_features *f, int32_t svc, int32_t k)
{
    int64_t avail = f->hist_count - 1;
    int32_t lag = k < f->hist_len ? k : f->hist_len;
    double a, b;
    if (lag > avail)
        lag = (int32_t)avail;
    if (lag <= 0)
        return 0.0;
    a = s_hist_at(f, 0, svc);
    b = s_hist_at(f, lag, svc);
    return s_clip((a - b) / (a + b + S_TREND_EPS), -1.0, 1.0);
}

/* The largest arrival (replica units) of the last S_PEAK_STEPS steps, this one
 * included (fewer at the start of an episode). */
static double s_peak(const struct rls_features *f, int32_t svc)
{
    int64_t n = f->hist_count < S_PEAK_STEPS ? f->hist_count : S_PEAK_STEPS;
    int32_t rows = f->hist_rows, row = f->hist_head;
    double m = 0.0;
    for (int64_t k = 0; k < n; k++) {
        double a = f->hist[(size_t)row * (size_t)f->n_svc + (size_t)svc];
        if (a > m)
            m = a;
        row = row > 0 ? row - 1 : rows - 1;
    }
    return m;
}

int rls_features_compute(struct rls_features *f, const struct rls_svc_state *sv,
                         const struct rls_node_state *nodes, int32_t n_nodes, double t,
                         float *obs)
{
    double tod = 0.0;
    double total_cpu = 0.0, free_cpu = 0.0, total_reps = 0.0;
    double cluster_free = 0.0;

    if (!f || !sv || !obs)
        return RLS_ERR_INVALID;
    s_hist_push(f, sv);
    tod = 2.0 * M_PI * fmod(isfinite(t) && t > 0 ? t : 0.0, S_DAY_S) / S_DAY_S;
    if (!nodes || n_nodes < 0)
        n_nodes = 0;
    for (int32_t k = 0; k < n_nodes; k++) {
        int32_t p = nodes[k].pool;
        if (p < 0 || p >= f->n_pools)
            continue;
        total_cpu += f->pool_cpu[p];
        if (nodes[k].status != RLS_NODE_FAILED)
            free_cpu += fmax(f->pool_cpu[p] - nodes[k].cpu_used, 0.0);
    }
    cluster_free = total_cpu > 0 ? s_clip(free_cpu / total_cpu, 0.0, 1.0) : 0.0;

    for (int32_t t2 = 0; t2 <= f->n_tenants; t2++)
        f->tenant_reps[t2] = 0.0;
    for (int32_t i = 0; i < f->n_svc; i++) {
        double reps = (double)sv[i].ready + (double)sv[i].starting;
        f->tenant_reps[f->svc[i].tenant] += reps;
        total_reps += reps;
    }

    for (int32_t i = 0; i < f->n_svc; i++) {
        const struct s_svc *s = &f->svc[i];
        const struct rls_svc_state *v = &sv[i];
        float *o = obs + (size_t)i * RLS_ENV_N_FEATURES;
        double cap = s->cap;
        double maxr = s->maxr;
        double arr = isfinite(v->arrival_rps) && v->arrival_rps > 0 ? v->arrival_rps : 0.0;
        double a = arr / cap;
        double ready = v->ready > 0 ? (double)v->ready : 0.0;
        double starting = v->starting > 0 ? (double)v->starting : 0.0;
        double backlog = isfinite(v->backlog) && v->backlog > 0 ? v->backlog : 0.0;
        double backlog_s = backlog / (cap * fmax(ready, 1.0));
        double latency = 0.0;
        int fits = 0;

        if ((arr > 0 || v->served_rps > 0) && v->dist.mu > 0 && isfinite(v->dist.mu)) {
            double q = rls_queueing_quantile_tol(&v->dist, s->pct, 1e-4); /* float32 feature */
            double x = q / s->slo_s;
            if (!(x >= 0))   /* NaN or negative: no usable estimate */
                x = 0.0;
            latency = isfinite(x) ? x / (1.0 + x) : 1.0;
        }
        for (int32_t k = 0; k < n_nodes && !fits; k++) {
            int32_t p = nodes[k].pool;
            if (p < 0 || p >= f->n_pools || nodes[k].status == RLS_NODE_FAILED)
                continue;
            fits = f->pool_cpu[p] - nodes[k].cpu_used >= s->cpu - S_FIT_EPS &&
                   f->pool_mem[p] - nodes[k].mem_used >= s->mem_gb - S_FIT_EPS;
        }
        f->fits[i] = (uint8_t)fits;

        o[F_LOAD] = (float)s_clip(a / maxr, 0.0, 2.0);
        o[F_LOAD_LOG] = (float)s_clip(log1p(a) / log1p(maxr), 0.0, 2.0);
        o[F_TREND_1] = (float)s_trend(f, i, 1);
        o[F_TREND_4] = (float)s_trend(f, i, 4);
        o[F_TREND_20] = (float)s_trend(f, i, 20);
        o[F_READY] = (float)s_clip(ready / maxr, 0.0, 1.0);
        o[F_STARTING] = (float)s_clip(starting / maxr, 0.0, 1.0);
        o[F_PENDING] = (float)s_clip((double)v->pending / maxr, 0.0, 1.0);
        o[F_DESIRED] = (float)s_clip((double)v->desired / maxr, 0.0, 1.0);
        o[F_MIN_REPLICAS] = (float)s_clip((double)s->min_replicas / maxr, 0.0, 1.0);
        o[F_UTILIZATION] = (float)s_clip(v->utilization, 0.0, 1.0);
        o[F_BACKLOG] = (float)s_clip(log1p(backlog_s) / log1p(S_BACKLOG_SCALE_S), 0.0, 1.0);
        o[F_QUEUE_FILL] = (float)(s->queue_limit > 0
                                      ? s_clip(backlog / (double)s->queue_limit, 0.0, 1.0)
                                      : (backlog > 0 ? 1.0 : 0.0));
        o[F_LATENCY] = (float)s_clip(latency, 0.0, 1.0);
        o[F_OVER_SLO] = (float)s_clip(v->frac_over_slo, 0.0, 1.0);
        o[F_DROP] = (float)(arr > 0 ? s_clip(v->dropped_rps / arr, 0.0, 1.0) : 0.0);
        o[F_SUPPLY_GAP] =
            (float)s_clip(log2((a + S_GAP_EPS) / (ready + starting + S_GAP_EPS)) / 4.0, -1.0, 1.0);
        o[F_TOD_SIN] = (float)s_clip(sin(tod), -1.0, 1.0);
        o[F_TOD_COS] = (float)s_clip(cos(tod), -1.0, 1.0);
        o[F_COLD_START] = (float)s->cold_start;
        o[F_CLUSTER_FREE_CPU] = (float)cluster_free;
        o[F_TENANT_SHARE] =
            (float)(total_reps > 0 ? s_clip(f->tenant_reps[s->tenant] / total_reps, 0.0, 1.0)
                                   : 0.0);
        o[F_CAN_PLACE] = (float)fits;
        {
            double peak = s_peak(f, i);
            o[F_PEAK_GAP] = (float)s_clip(
                log2((peak + S_GAP_EPS) / (ready + starting + S_GAP_EPS)) / 4.0, -1.0, 1.0);
            o[F_PEAK_DROP] = (float)(peak > 0 ? s_clip((peak - a) / (peak + S_TREND_EPS), 0.0, 1.0)
                                              : 0.0);
        }
    }
    return RLS_OK;
}

int rls_features_delta_mask(const struct rls_features *f, const struct rls_svc_state *sv,
                            const int32_t *deltas, int32_t n_deltas, uint8_t *mask,
                            int32_t stride)
{
    if (!f || !sv || !deltas || !mask || n_deltas < 0 || stride < n_deltas)
        return RLS_ERR_INVALID;
    for (int32_t i = 0; i < f->n_svc; i++) {
        const struct s_svc *s = &f->svc[i];
        uint8_t *m = mask + (size_t)i * (size_t)stride;
        for (int32_t j = 0; j < n_deltas; j++) {
            int32_t d = deltas[j];
            int64_t target = (int64_t)sv[i].desired + d;
            int ok = 1;
            if (d != 0) {
                if (target < s->min_replicas || target > s->max_replicas)
                    ok = 0;
                if (d > 0 && !f->fits[i])
                    ok = 0;
            }
            m[j] = (uint8_t)ok;
        }
    }
    return RLS_OK;
}

int rls_features_flat_mask(const struct rls_features *f, const struct rls_svc_state *sv,
                           const int32_t *deltas, int32_t n_deltas, int32_t n_placements,
                           uint8_t *mask)
{
    uint8_t dm[64];
    int32_t width = n_deltas * n_placements;
    if (!f || !sv || !deltas || !mask || n_deltas < 1 || n_deltas > 64 || n_placements < 1)
        return RLS_ERR_INVALID;
    for (int32_t i = 0; i < f->n_svc; i++) {
        uint8_t *m = mask + (size_t)i * (size_t)width;
        const struct rls_svc_state *one = &sv[i];
        /* one row at a time through the shared rule */
        struct rls_features row = *f;
        row.n_svc = 1;
        row.svc = &f->svc[i];
        row.fits = &f->fits[i];
        rls_features_delta_mask(&row, one, deltas, n_deltas, dm, n_deltas);
        for (int32_t d = 0; d < n_deltas; d++)
            for (int32_t p = 0; p < n_placements; p++)
                m[d * n_placements + p] = dm[d];
    }
    return RLS_OK;
}
