/* fairness.c - the fair projection of wished replicas (see fairness.h and
 * agent/FAIRNESS.md).
 *
 * Progressive filling with integer replicas: a binary heap of tenants keyed
 * by their (weighted) share, and inside each tenant a heap of its services
 * keyed by granted / target; each round gives one replica to the top service
 * of the top tenant that still fits, so a call costs O(R (log T + log S)) for
 * R granted replicas. Capacity only shrinks while filling, so a service that
 * does not fit once never fits again in that phase and leaves its heap.
 */
#include "fairness.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ERRMSG_MAX 256
#define S_NO_LIMIT INT64_MAX

enum s_phase { S_PHASE_MINS = 0, S_PHASE_GUARANTEE = 1, S_PHASE_SHARE = 2 };

struct rls_fair {
    struct rls_fair_params p;
    char errmsg[S_ERRMSG_MAX];
    /* scratch, grown as needed */
    int32_t cap_s, cap_t, cap_n;
    int32_t *wish;          /* [S] wishes clamped to [min, max] */
    int32_t *target;        /* [S] what this phase fills services towards */
    int32_t *svc_heap;      /* [S] service indices, one heap segment per tenant */
    int32_t *seg_start;     /* [T] first slot of the tenant's segment */
    int32_t *seg_len;       /* [T] services left in the tenant's heap */
    int32_t *ten_heap;      /* [T] tenants with services left */
    int64_t *reps;          /* [T] replicas granted */
    int64_t *wished;        /* [T] sum of clamped wishes */
    int64_t *mins;          /* [T] sum of min replicas */
    int64_t *cap;           /* [T] effective cap (S_NO_LIMIT when none) */
    int64_t *guar;          /* [T] guaranteed replicas: min(demand, guaranteed_replicas) */
    double *cpu;            /* [T] cores granted */
    double *mem;            /* [T] GiB granted */
    double *jain_x;         /* [T] Jain's inputs */
    double *wcpu;           /* [T] cores of the clamped wishes */
    double *wmem;           /* [T] GiB of the clamped wishes */
    double *tkey;           /* [T] the tenant's heap key in this phase (s_tenant_key) */
    double *node_cpu;       /* [N] free cores left */
    double *node_mem;       /* [N] free GiB left */
    /* the call in progress */
    const struct rls_fair_problem *pb;
    int32_t *granted;
    enum s_phase phase;
    double used_cpu, used_mem;
    double slack_cpu, slack_mem;
};

struct rls_fair_params rls_fair_default_params(void)
{
    struct rls_fair_params p;
    memset(&p, 0, sizeof p);
    p.drf = 1;
    p.fit_tolerance = 1e-9;
    return p;
}

static int s_fail(struct rls_fair *f, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_fair *f, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->errmsg, sizeof f->errmsg, fmt, ap);
    va_end(ap);
    return status;
}

struct rls_fair *rls_fair_new(const struct rls_fair_params *p, struct rls_err *err)
{
    struct rls_fair *f = NULL;
    struct rls_fair_params params = p != NULL ? *p : rls_fair_default_params();

    if (!isfinite(params.fit_tolerance) || params.fit_tolerance < 0) {
        rls_err_set(err, RLS_ERR_RANGE, "fairness: fit_tolerance: must be finite and >= 0 (got %g)",
                    params.fit_tolerance);
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "fairness: out of memory");
        return NULL;
    }
    f->p = params;
    f->p.drf = params.drf != 0;
    return f;
}

void rls_fair_destroy(struct rls_fair **f)
{
    if (f == NULL || *f == NULL)
        return;
    struct rls_fair *x = *f;
    free(x->wish);
    free(x->target);
    free(x->svc_heap);
    free(x->seg_start);
    free(x->seg_len);
    free(x->ten_heap);
    free(x->reps);
    free(x->wished);
    free(x->mins);
    free(x->cap);
    free(x->guar);
    free(x->cpu);
    free(x->mem);
    free(x->jain_x);
    free(x->wcpu);
    free(x->wmem);
    free(x->tkey);
    free(x->node_cpu);
    free(x->node_mem);
    free(x);
    *f = NULL;
}

const char *rls_fair_errmsg(const struct rls_fair *f)
{
    return f != NULL ? f->errmsg : "";
}

double rls_fair_jain(const double *x, int32_t n)
{
    double sum = 0.0;
    double sum_sq = 0.0;

    if (x == NULL || n <= 0)
        return 1.0;
    for (int32_t i = 0; i < n; i++) {
        sum += x[i];
        sum_sq += x[i] * x[i];
    }
    if (sum_sq <= 0.0)
        return 1.0;   /* all zero: all equal */
    return sum * sum / ((double)n * sum_sq);
}

/* ---- scratch ---- */

static int s_grow(void **arr, size_t elem, int32_t n)
{
    void *q = realloc(*arr, elem * (size_t)(n > 0 ? n : 1));
    if (q == NULL)
        return RLS_ERR_NOMEM;
    *arr = q;
    return RLS_OK;
}

static int s_reserve(struct rls_fair *f, int32_t ns, int32_t nt, int32_t nn)
{
    int rc = RLS_OK;

    if (ns > f->cap_s || f->wish == NULL) {
        if ((rc = s_grow((void **)&f->wish, sizeof(int32_t), ns)) != RLS_OK ||
            (rc = s_grow((void **)&f->target, sizeof(int32_t), ns)) != RLS_OK ||
            (rc = s_grow((void **)&f->svc_heap, sizeof(int32_t), ns)) != RLS_OK)
            return rc;
        f->cap_s = ns;
    }
    if (nt > f->cap_t || f->reps == NULL) {
        if ((rc = s_grow((void **)&f->seg_start, sizeof(int32_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->seg_len, sizeof(int32_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->ten_heap, sizeof(int32_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->reps, sizeof(int64_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->wished, sizeof(int64_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->mins, sizeof(int64_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->cap, sizeof(int64_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->guar, sizeof(int64_t), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->cpu, sizeof(double), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->mem, sizeof(double), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->jain_x, sizeof(double), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->wcpu, sizeof(double), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->wmem, sizeof(double), nt)) != RLS_OK ||
            (rc = s_grow((void **)&f->tkey, sizeof(double), nt)) != RLS_OK)
            return rc;
        f->cap_t = nt;
    }
    if (nn > f->cap_n || f->node_cpu == NULL) {
        if ((rc = s_grow((void **)&f->node_cpu, sizeof(double), nn)) != RLS_OK ||
            (rc = s_grow((void **)&f->node_mem, sizeof(double), nn)) != RLS_OK)
            return rc;
        f->cap_n = nn;
    }
    return RLS_OK;
}

/* ---- validation ---- */

static int s_validate(struct rls_fair *f, const struct rls_fair_problem *pb)
{
    if (pb->n_services < 0 || pb->n_tenants < 0 || pb->n_nodes < 0)
        return s_fail(f, RLS_ERR_INVALID, "fairness: negative count (services %d, tenants %d, nodes %d)",
                      pb->n_services, pb->n_tenants, pb->n_nodes);
    if ((pb->n_services > 0 && pb->services == NULL) || (pb->n_tenants > 0 && pb->tenants == NULL))
        return s_fail(f, RLS_ERR_INVALID, "fairness: services or tenants array is NULL");
    if (pb->n_nodes > 0 && (pb->node_cpu == NULL || pb->node_mem_gb == NULL))
        return s_fail(f, RLS_ERR_INVALID, "fairness: n_nodes is %d but node_cpu or node_mem_gb is NULL",
                      pb->n_nodes);
    if (!isfinite(pb->cpu) || pb->cpu < 0)
        return s_fail(f, RLS_ERR_RANGE, "fairness: cpu: capacity must be finite and >= 0 (got %g)", pb->cpu);
    if (!isfinite(pb->mem_gb) || pb->mem_gb < 0)
        return s_fail(f, RLS_ERR_RANGE, "fairness: mem_gb: capacity must be finite and >= 0 (got %g)",
                      pb->mem_gb);
    for (int32_t j = 0; j < pb->n_nodes; j++) {
        if (!isfinite(pb->node_cpu[j]) || pb->node_cpu[j] < 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: node_cpu[%d]: must be finite and >= 0 (got %g)", j,
                          pb->node_cpu[j]);
        if (!isfinite(pb->node_mem_gb[j]) || pb->node_mem_gb[j] < 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: node_mem_gb[%d]: must be finite and >= 0 (got %g)",
                          j, pb->node_mem_gb[j]);
    }
    for (int32_t t = 0; t < pb->n_tenants; t++) {
        const struct rls_fair_tenant *tn = &pb->tenants[t];
        if (!isfinite(tn->weight) || tn->weight <= 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: tenants[%d].weight: must be finite and > 0 (got %g)",
                          t, tn->weight);
        if (tn->guaranteed_replicas < 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: tenants[%d].guaranteed_replicas: must be >= 0 (got %d)",
                          t, tn->guaranteed_replicas);
        if (!isfinite(tn->guaranteed_share) || tn->guaranteed_share < 0 || tn->guaranteed_share > 1)
            return s_fail(f, RLS_ERR_RANGE, "fairness: tenants[%d].guaranteed_share: must be in [0, 1] (got %g)",
                          t, tn->guaranteed_share);
        if (tn->max_replicas < 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: tenants[%d].max_replicas: must be >= 0 (got %d)", t,
                          tn->max_replicas);
    }
    for (int32_t i = 0; i < pb->n_services; i++) {
        const struct rls_fair_service *sv = &pb->services[i];
        if (sv->tenant < 0 || sv->tenant >= pb->n_tenants)
            return s_fail(f, RLS_ERR_INVALID, "fairness: services[%d].tenant: %d is not a tenant index (0..%d)",
                          i, sv->tenant, pb->n_tenants - 1);
        if (sv->min_replicas < 0 || sv->max_replicas < sv->min_replicas)
            return s_fail(f, RLS_ERR_RANGE, "fairness: services[%d]: need 0 <= min_replicas <= max_replicas "
                          "(got %d, %d)", i, sv->min_replicas, sv->max_replicas);
        if (!isfinite(sv->cpu) || sv->cpu < 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: services[%d].cpu: must be finite and >= 0 (got %g)", i,
                          sv->cpu);
        if (!isfinite(sv->mem_gb) || sv->mem_gb < 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: services[%d].mem_gb: must be finite and >= 0 (got %g)",
                          i, sv->mem_gb);
        if (sv->cpu + sv->mem_gb <= 0)
            return s_fail(f, RLS_ERR_RANGE, "fairness: services[%d]: a replica must request cpu or memory", i);
    }
    return RLS_OK;
}

/* ---- shares and keys ---- */

/* The share the projection equalizes for a tenant using cpu cores, mem GiB. */
static double s_share(const struct rls_fair *f, double cpu, double mem)
{
    const struct rls_fair_problem *pb = f->pb;
    double sc = pb->cpu > 0 ? cpu / pb->cpu : 0.0;
    double sm = pb->mem_gb > 0 ? mem / pb->mem_gb : 0.0;
    if (!f->p.drf)
        return sc;
    return sc > sm ? sc : sm;
}

/* Guarantee phase: how far the tenant is towards its guarantee (the lagging
 * one of the replica and share guarantees), 0..1. */
static double s_progress(const struct rls_fair *f, int32_t t)
{
    double g_share = f->pb->tenants[t].guaranteed_share;
    double prog = INFINITY;
    if (f->guar[t] > 0)
        prog = (double)f->reps[t] / (double)f->guar[t];
    if (g_share > 0) {
        double ps = s_share(f, f->cpu[t], f->mem[t]) / g_share;
        if (ps < prog)
            prog = ps;
    }
    return prog;
}

static double s_tenant_key(const struct rls_fair *f, int32_t t)
{
    if (f->phase == S_PHASE_GUARANTEE)
        return s_progress(f, t);
    return s_share(f, f->cpu[t], f->mem[t]) / f->pb->tenants[t].weight;
}

static int s_tenant_less(const struct rls_fair *f, int32_t a, int32_t b)
{
    double ka = f->tkey[a];
    double kb = f->tkey[b];
    if (ka != kb)
        return ka < kb;
    return a < b;
}

/* Service a before b when granted/target is lower (exact, by cross-multiplying). */
static int s_service_less(const struct rls_fair *f, int32_t a, int32_t b)
{
    int64_t lhs = (int64_t)f->granted[a] * (int64_t)f->target[b];
    int64_t rhs = (int64_t)f->granted[b] * (int64_t)f->target[a];
    if (lhs != rhs)
        return lhs < rhs;
    return a < b;
}

typedef int (*s_less_fn)(const struct rls_fair *f, int32_t a, int32_t b);

static void s_sift_down(const struct rls_fair *f, int32_t *h, int32_t n, int32_t i, s_less_fn less)
{
    for (;;) {
        int32_t l = 2 * i + 1;
        int32_t r = l + 1;
        int32_t m = i;
        if (l < n && less(f, h[l], h[m]))
            m = l;
        if (r < n && less(f, h[r], h[m]))
            m = r;
        if (m == i)
            return;
        int32_t tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void s_heapify(const struct rls_fair *f, int32_t *h, int32_t n, s_less_fn less)
{
    for (int32_t i = n / 2 - 1; i >= 0; i--)
        s_sift_down(f, h, n, i, less);
}

static void s_pop(const struct rls_fair *f, int32_t *h, int32_t *n, s_less_fn less)
{
    (*n)--;
    if (*n > 0) {
        h[0] = h[*n];
        s_sift_down(f, h, *n, 0, less);
    }
}

/* ---- fitting ---- */

/* Where one more replica of service i fits: a node index, 0 in totals-only
 * mode, or -1 when it does not fit. */
static int32_t s_fit(const struct rls_fair *f, int32_t i)
{
    const struct rls_fair_problem *pb = f->pb;
    double c = pb->services[i].cpu;
    double m = pb->services[i].mem_gb;
    if (f->used_cpu + c > pb->cpu + f->slack_cpu || f->used_mem + m > pb->mem_gb + f->slack_mem)
        return -1;
    if (pb->n_nodes == 0)
        return 0;
    for (int32_t j = 0; j < pb->n_nodes; j++)
        if (c <= f->node_cpu[j] + f->slack_cpu && m <= f->node_mem[j] + f->slack_mem)
            return j;
    return -1;
}

static void s_grant(struct rls_fair *f, int32_t i, int32_t node)
{
    const struct rls_fair_service *sv = &f->pb->services[i];
    int32_t t = sv->tenant;
    f->granted[i]++;
    f->reps[t]++;
    f->cpu[t] += sv->cpu;
    f->mem[t] += sv->mem_gb;
    f->used_cpu += sv->cpu;
    f->used_mem += sv->mem_gb;
    if (f->pb->n_nodes > 0) {
        f->node_cpu[node] -= sv->cpu;
        f->node_mem[node] -= sv->mem_gb;
    }
}

/* May tenant t take one more replica in this phase? */
static int s_tenant_open(const struct rls_fair *f, int32_t t)
{
    if (f->phase == S_PHASE_MINS)
        return 1;
    if (f->reps[t] >= f->cap[t])
        return 0;
    if (f->phase == S_PHASE_SHARE)
        return 1;
    if (f->reps[t] < f->guar[t])
        return 1;
    double g_share = f->pb->tenants[t].guaranteed_share;
    return g_share > 0 && s_share(f, f->cpu[t], f->mem[t]) < g_share;
}

/* One phase of progressive filling towards f->target. */
static void s_fill(struct rls_fair *f, enum s_phase phase)
{
    const struct rls_fair_problem *pb = f->pb;
    int32_t nt = 0;

    f->phase = phase;
    /* services grouped by tenant: counting sort into segments */
    for (int32_t t = 0; t < pb->n_tenants; t++)
        f->seg_len[t] = 0;
    for (int32_t i = 0; i < pb->n_services; i++)
        if (f->granted[i] < f->target[i])
            f->seg_len[pb->services[i].tenant]++;
    int32_t pos = 0;
    for (int32_t t = 0; t < pb->n_tenants; t++) {
        f->seg_start[t] = pos;
        pos += f->seg_len[t];
        f->seg_len[t] = 0;
    }
    for (int32_t i = 0; i < pb->n_services; i++) {
        if (f->granted[i] < f->target[i]) {
            int32_t t = pb->services[i].tenant;
            f->svc_heap[f->seg_start[t] + f->seg_len[t]++] = i;
        }
    }
    for (int32_t t = 0; t < pb->n_tenants; t++) {
        if (f->seg_len[t] == 0 || !s_tenant_open(f, t))
            continue;
        if (phase == S_PHASE_GUARANTEE && f->guar[t] == 0 && !(pb->tenants[t].guaranteed_share > 0))
            continue;
        s_heapify(f, f->svc_heap + f->seg_start[t], f->seg_len[t], s_service_less);
        f->tkey[t] = s_tenant_key(f, t);
        f->ten_heap[nt++] = t;
    }
    s_heapify(f, f->ten_heap, nt, s_tenant_less);

    while (nt > 0) {
        int32_t t = f->ten_heap[0];
        int32_t *h = f->svc_heap + f->seg_start[t];
        int granted_one = 0;
        if (!s_tenant_open(f, t)) {
            s_pop(f, f->ten_heap, &nt, s_tenant_less);
            continue;
        }
        while (f->seg_len[t] > 0) {
            int32_t i = h[0];
            int32_t node = -1;
            if (f->granted[i] >= f->target[i] || (node = s_fit(f, i)) < 0) {
                s_pop(f, h, &f->seg_len[t], s_service_less);
                continue;
            }
            s_grant(f, i, node);
            s_sift_down(f, h, f->seg_len[t], 0, s_service_less);
            granted_one = 1;
            break;
        }
        if (granted_one) {
            f->tkey[t] = s_tenant_key(f, t);
            s_sift_down(f, f->ten_heap, nt, 0, s_tenant_less);
        }
        else
            s_pop(f, f->ten_heap, &nt, s_tenant_less);
    }
}

/* ---- the projection ---- */

static int32_t s_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int rls_fair_project(struct rls_fair *f, const struct rls_fair_problem *pb,
                     struct rls_fair_result *res)
{
    int rc = RLS_OK;
    double wish_cpu = 0.0;
    double wish_mem = 0.0;
    double w_active = 0.0;
    double w_all = 0.0;
    int capped = 0;

    if (f == NULL)
        return RLS_ERR_INVALID;
    f->errmsg[0] = '\0';
    if (pb == NULL || res == NULL)
        return s_fail(f, RLS_ERR_INVALID, "fairness: problem or result is NULL");
    if (pb->n_services > 0 && res->granted == NULL)
        return s_fail(f, RLS_ERR_INVALID, "fairness: result granted buffer is NULL");
    if ((rc = s_validate(f, pb)) != RLS_OK)
        return rc;
    if ((rc = s_reserve(f, pb->n_services, pb->n_tenants, pb->n_nodes)) != RLS_OK)
        return s_fail(f, rc, "fairness: out of memory for %d services, %d tenants, %d nodes",
                      pb->n_services, pb->n_tenants, pb->n_nodes);

    f->pb = pb;
    f->granted = res->granted;
    res->jain = 1.0;
    res->cpu = res->mem_gb = 0.0;
    res->changed = res->n_changed = 0;
    res->flags = 0;
    res->msg[0] = '\0';
    f->slack_cpu = f->p.fit_tolerance * (pb->cpu > 1.0 ? pb->cpu : 1.0);
    f->slack_mem = f->p.fit_tolerance * (pb->mem_gb > 1.0 ? pb->mem_gb : 1.0);

    /* wishes, per-tenant sums, caps, guarantees */
    for (int32_t t = 0; t < pb->n_tenants; t++) {
        f->wished[t] = f->mins[t] = f->reps[t] = 0;
        f->cpu[t] = f->mem[t] = 0.0;
        f->wcpu[t] = f->wmem[t] = 0.0;
    }
    for (int32_t i = 0; i < pb->n_services; i++) {
        const struct rls_fair_service *sv = &pb->services[i];
        f->wish[i] = s_clamp(sv->wish, sv->min_replicas, sv->max_replicas);
        f->wished[sv->tenant] += f->wish[i];
        f->mins[sv->tenant] += sv->min_replicas;
        f->wcpu[sv->tenant] += f->wish[i] * sv->cpu;
        f->wmem[sv->tenant] += f->wish[i] * sv->mem_gb;
        wish_cpu += f->wish[i] * sv->cpu;
        wish_mem += f->wish[i] * sv->mem_gb;
    }
    for (int32_t t = 0; t < pb->n_tenants; t++) {
        const struct rls_fair_tenant *tn = &pb->tenants[t];
        int64_t demand = f->wished[t];
        f->cap[t] = S_NO_LIMIT;
        if (tn->max_replicas > 0) {
            f->cap[t] = tn->max_replicas > f->mins[t] ? tn->max_replicas : f->mins[t];
            if (f->mins[t] > tn->max_replicas)
                res->flags |= RLS_FAIR_F_MINS_OVER_CAP;
            if (f->wished[t] > f->cap[t]) {
                capped = 1;
                demand = f->cap[t];
            }
        }
        f->guar[t] = tn->guaranteed_replicas < demand ? tn->guaranteed_replicas : demand;
        w_all += tn->weight;
        if (demand > 0)
            w_active += tn->weight;
    }
    if (capped)
        res->flags |= RLS_FAIR_F_CAPPED;

    /* everything fits: grant the wishes */
    if (!capped && pb->n_nodes == 0 && wish_cpu <= pb->cpu + f->slack_cpu &&
        wish_mem <= pb->mem_gb + f->slack_mem) {
        for (int32_t i = 0; i < pb->n_services; i++) {
            const struct rls_fair_service *sv = &pb->services[i];
            f->granted[i] = f->wish[i];
            f->reps[sv->tenant] += f->wish[i];
            f->cpu[sv->tenant] += f->wish[i] * sv->cpu;
            f->mem[sv->tenant] += f->wish[i] * sv->mem_gb;
        }
    } else {
        res->flags |= RLS_FAIR_F_CONTENDED;
        f->used_cpu = f->used_mem = 0.0;
        for (int32_t j = 0; j < pb->n_nodes; j++) {
            f->node_cpu[j] = pb->node_cpu[j];
            f->node_mem[j] = pb->node_mem_gb[j];
        }
        for (int32_t i = 0; i < pb->n_services; i++) {
            f->granted[i] = 0;
            f->target[i] = pb->services[i].min_replicas;
        }
        s_fill(f, S_PHASE_MINS);
        for (int32_t i = 0; i < pb->n_services; i++) {
            if (f->granted[i] < pb->services[i].min_replicas && !(res->flags & RLS_FAIR_F_MINS_INFEASIBLE)) {
                res->flags |= RLS_FAIR_F_MINS_INFEASIBLE;
                snprintf(res->msg, sizeof res->msg,
                         "min replicas do not fit: service %d got %d of its %d", i, f->granted[i],
                         pb->services[i].min_replicas);
            }
            f->target[i] = f->wish[i];
        }
        s_fill(f, S_PHASE_GUARANTEE);
        s_fill(f, S_PHASE_SHARE);
    }

    /* per-tenant report, entitlement, Jain */
    if (w_active <= 0)
        w_active = w_all;
    for (int32_t t = 0; t < pb->n_tenants; t++) {
        const struct rls_fair_tenant *tn = &pb->tenants[t];
        int64_t demand = f->wished[t] < f->cap[t] ? f->wished[t] : f->cap[t];
        double share = s_share(f, f->cpu[t], f->mem[t]);
        double ent = w_active > 0 ? tn->weight / w_active : 0.0;
        double g_share = tn->guaranteed_share;
        struct rls_fair_tenant_result tr;

        memset(&tr, 0, sizeof tr);
        /* the replica guarantee as a share, at the tenant's wish-weighted mean replica */
        if (f->wished[t] > 0 && f->guar[t] > 0) {
            double mean_cpu = f->wcpu[t] / (double)f->wished[t];
            double mean_mem = f->wmem[t] / (double)f->wished[t];
            double gs = s_share(f, mean_cpu * (double)f->guar[t], mean_mem * (double)f->guar[t]);
            if (gs > g_share)
                g_share = gs;
        }
        if (g_share > ent)
            ent = g_share;
        if (ent > 1.0)
            ent = 1.0;
        tr.wished = (int32_t)(f->wished[t] < INT32_MAX ? f->wished[t] : INT32_MAX);
        tr.demand = (int32_t)(demand < INT32_MAX ? demand : INT32_MAX);
        tr.granted = (int32_t)(f->reps[t] < INT32_MAX ? f->reps[t] : INT32_MAX);
        tr.guarantee = (int32_t)f->guar[t];
        tr.cpu = f->cpu[t];
        tr.mem_gb = f->mem[t];
        tr.dominant_share = share;
        tr.entitlement = ent;
        tr.normalized = ent > 0 ? share / ent : 0.0;
        tr.satisfied = f->reps[t] >= demand;
        tr.jain_term = tr.satisfied ? 1.0 : (tr.normalized < 1.0 ? tr.normalized : 1.0);
        tr.below_guarantee = f->reps[t] < f->guar[t] ||
                             (!tr.satisfied && tn->guaranteed_share > 0 &&
                              share < tn->guaranteed_share - f->p.fit_tolerance);
        if (tr.below_guarantee && !(res->flags & RLS_FAIR_F_GUARANTEES_INFEASIBLE)) {
            res->flags |= RLS_FAIR_F_GUARANTEES_INFEASIBLE;
            if (res->msg[0] == '\0')
                snprintf(res->msg, sizeof res->msg,
                         "guarantees do not fit: tenant %d got %d of %d guaranteed replicas "
                         "(share %.4f of guaranteed %.4f)", t, tr.granted, tr.guarantee, share,
                         tn->guaranteed_share);
        }
        f->jain_x[t] = tr.jain_term;
        res->cpu += tr.cpu;
        res->mem_gb += tr.mem_gb;
        if (res->tenants != NULL)
            res->tenants[t] = tr;
    }
    res->jain = rls_fair_jain(f->jain_x, pb->n_tenants);
    for (int32_t i = 0; i < pb->n_services; i++) {
        if (f->granted[i] != pb->services[i].wish)
            res->n_changed++;
    }
    res->changed = res->n_changed > 0;
    f->pb = NULL;
    f->granted = NULL;
    return RLS_OK;
}

int rls_fair_problem_from_scenario(const struct rls_scenario *sc, const int32_t *wishes,
                                   struct rls_fair_service *services,
                                   struct rls_fair_tenant *tenants,
                                   struct rls_fair_problem *pb)
{
    if (sc == NULL || pb == NULL || (sc->n_services > 0 && (wishes == NULL || services == NULL)) ||
        (sc->n_tenants > 0 && tenants == NULL))
        return RLS_ERR_INVALID;
    for (int32_t t = 0; t < sc->n_tenants; t++) {
        memset(&tenants[t], 0, sizeof tenants[t]);
        tenants[t].weight = sc->tenants[t].weight;
        tenants[t].guaranteed_replicas = sc->tenants[t].guaranteed_replicas;
        tenants[t].guaranteed_share = 0.0;
        tenants[t].max_replicas = sc->tenants[t].max_replicas;
    }
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *ss = &sc->services[i];
        memset(&services[i], 0, sizeof services[i]);
        services[i].tenant = ss->tenant;
        services[i].wish = wishes[i];
        services[i].min_replicas = ss->min_replicas;
        services[i].max_replicas = ss->max_replicas;
        services[i].cpu = ss->cpu;
        services[i].mem_gb = ss->mem_gb;
    }
    memset(pb, 0, sizeof *pb);
    pb->n_services = sc->n_services;
    pb->services = services;
    pb->n_tenants = sc->n_tenants;
    pb->tenants = tenants;
    pb->cpu = rls_scenario_total_cpu(sc);
    pb->mem_gb = rls_scenario_total_mem_gb(sc);
    return RLS_OK;
}
