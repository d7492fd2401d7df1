/* fairness.h - project the tenants' wished replicas onto a fair, feasible
 * allocation when they do not all fit: services' min replicas first, then
 * each tenant's guarantee, then weighted max-min sharing of the rest on
 * dominant shares (weighted DRF, progressive filling one replica at a time),
 * within per-tenant caps. Reports each tenant's share against its
 * entitlement and Jain's index. Definitions in agent/FAIRNESS.md.
 *
 *     struct rls_fair *f = rls_fair_new(NULL, &err);
 *     struct rls_fair_problem pb = {...};        // or rls_fair_problem_from_scenario
 *     struct rls_fair_result res = {.granted = granted, .tenants = tenant_results};
 *     rls_fair_project(f, &pb, &res);            // granted[] is what to ask the cluster for
 *     rls_fair_destroy(&f);
 *
 * The handle only keeps scratch memory (reused between calls, so a control
 * loop does not allocate) and its last error message; the result is
 * deterministic: the same problem gives the same allocation.
 */
#ifndef RLS_FAIRNESS_H
#define RLS_FAIRNESS_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"

/* One service: what it wishes and what one replica costs. */
struct rls_fair_service {
    int32_t tenant;         /* index into the problem's tenants */
    int32_t wish;           /* replicas the policy wants (clamped to [min, max] first) */
    int32_t min_replicas;   /* >= 0; granted first, before any guarantee */
    int32_t max_replicas;   /* >= min_replicas */
    double cpu;             /* cores requested per replica, >= 0 */
    double mem_gb;          /* GiB requested per replica, >= 0 (cpu + mem_gb > 0) */
};

/* One tenant: its weight, guarantee and cap. */
struct rls_fair_tenant {
    double weight;              /* share weight, finite and > 0 (1) */
    int32_t guaranteed_replicas;/* replicas always granted when wished and feasible (0) */
    double guaranteed_share;    /* dominant share always granted when wished, 0..1 (0) */
    int32_t max_replicas;       /* cap on the tenant's replicas, 0 = none; the services'
                                   min replicas are kept even above it */
};

/* What to divide. Capacity is the totals of the usable nodes; with per-node
 * free capacities given (n_nodes > 0) a replica must also fit on one node
 * (first fit in node order), so fragmentation is respected. */
struct rls_fair_problem {
    int32_t n_services;
    const struct rls_fair_service *services;   /* [n_services] */
    int32_t n_tenants;
    const struct rls_fair_tenant *tenants;     /* [n_tenants] */
    double cpu;             /* cluster cores, >= 0 (shares are relative to it) */
    double mem_gb;          /* cluster memory, GiB, >= 0 */
    int32_t n_nodes;        /* 0 = totals only */
    const double *node_cpu;     /* [n_nodes] cores free per node, or NULL when n_nodes = 0 */
    const double *node_mem_gb;  /* [n_nodes] GiB free per node */
};

/* What the projection found, per tenant. */
struct rls_fair_tenant_result {
    int32_t wished;         /* sum of the services' wishes clamped to [min, max] */
    int32_t demand;         /* wished limited by the cap (never below the sum of mins) */
    int32_t granted;        /* replicas granted */
    int32_t guarantee;      /* replicas guaranteed here: min(demand, guaranteed_replicas) */
    double cpu;             /* cores granted */
    double mem_gb;          /* GiB granted */
    double dominant_share;  /* max(cpu / cluster cpu, mem / cluster mem), 0..1 (the CPU
                               share alone when params.drf is 0) */
    double entitlement;     /* max(weight / active weights, guarantee as a share), 0..1 */
    double normalized;      /* dominant_share / entitlement (0 when the entitlement is 0) */
    double jain_term;       /* 1 if satisfied, else min(1, normalized): Jain's input */
    int32_t satisfied;      /* 1 when granted == demand */
    int32_t below_guarantee;/* 1 when granted < guarantee, or the guaranteed share was
                               not reached while the tenant wanted more */
};

/* Result flags. */
#define RLS_FAIR_F_CONTENDED        0x01u /* wishes did not all fit: the projection ran */
#define RLS_FAIR_F_CAPPED           0x02u /* a tenant cap cut the wishes */
#define RLS_FAIR_F_MINS_INFEASIBLE  0x04u /* services' min replicas did not all fit */
#define RLS_FAIR_F_GUARANTEES_INFEASIBLE 0x08u /* a tenant got less than its guarantee */
#define RLS_FAIR_F_MINS_OVER_CAP    0x10u /* a tenant's mins exceed its cap (mins kept) */

#define RLS_FAIR_MSG_MAX 256

/* The caller's buffers and the summary. Set granted and tenants before the
 * call; the function fills everything. */
struct rls_fair_result {
    int32_t *granted;       /* [n_services] caller's buffer: replicas granted */
    struct rls_fair_tenant_result *tenants; /* [n_tenants] caller's buffer, or NULL */
    double jain;            /* Jain's index over the tenants' jain_term, 1/n..1 (1 if no tenant) */
    double cpu;             /* cores granted in all */
    double mem_gb;          /* GiB granted in all */
    int32_t changed;        /* 1 when some granted[i] != services[i].wish */
    int32_t n_changed;      /* services whose grant differs from their wish */
    uint32_t flags;         /* RLS_FAIR_F_* */
    char msg[RLS_FAIR_MSG_MAX]; /* "" or one line on what was infeasible (first tenant named) */
};

struct rls_fair_params {
    int32_t drf;            /* 1: equalize weighted dominant shares (DRF); 0: weighted CPU
                               shares only (single-resource max-min) (1) */
    double fit_tolerance;   /* relative slack in capacity checks, absorbs rounding (1e-9) */
};

/* The defaults above. */
struct rls_fair_params rls_fair_default_params(void);

struct rls_fair;

/* A fairness projector with params p (NULL = defaults; copied). Returns an
 * owned handle (rls_fair_destroy), or NULL with err on a bad parameter
 * (fit_tolerance < 0 or not finite) or no memory. */
struct rls_fair *rls_fair_new(const struct rls_fair_params *p, struct rls_err *err);

/* Frees *f and sets it to NULL; NULL is a no-op. */
void rls_fair_destroy(struct rls_fair **f);

/* Last error message of this handle ("" if none), never NULL. */
const char *rls_fair_errmsg(const struct rls_fair *f);

/* Projects pb's wishes onto a fair feasible allocation into res (see
 * FAIRNESS.md for the algorithm): when the wishes clamped to [min, max] fit
 * the capacity and every cap, they are granted unchanged; otherwise mins,
 * then guarantees, then weighted max-min on dominant shares, each replica to
 * the tenant with the lowest share that still wants one that fits, and within
 * a tenant to the service with the lowest granted / wished fraction. Never
 * grants above a clamped wish or beyond capacity (except that mins are kept
 * above a tenant cap). Infeasible mins or guarantees are not errors: they are
 * flagged in res->flags with res->msg. Returns RLS_OK; RLS_ERR_INVALID for
 * NULL arguments or buffers, a tenant index out of range, a node array
 * missing; RLS_ERR_RANGE for negative or non-finite sizes, capacities or
 * weights, min > max, a zero-size replica; RLS_ERR_NOMEM. On error the
 * message (rls_fair_errmsg) names the field, e.g. "services[3].cpu: must be
 * >= 0", and res is left undefined. */
int rls_fair_project(struct rls_fair *f, const struct rls_fair_problem *pb,
                     struct rls_fair_result *res);

/* Jain's fairness index (sum x)^2 / (n * sum x^2) of x[n] (each >= 0):
 * 1 when all equal (also all 0 or n = 0), 1/n when one takes everything. */
double rls_fair_jain(const double *x, int32_t n);

/* Fills services[sc->n_services] and tenants[sc->n_tenants] from a scenario
 * and wishes[n_services] (weights, guarantees, caps, min/max, sizes), and
 * pb's counts, arrays and capacity (all pools' totals; no nodes). Pointers
 * in pb point into the caller's arrays. Returns RLS_OK or RLS_ERR_INVALID
 * for NULL arguments. */
int rls_fair_problem_from_scenario(const struct rls_scenario *sc, const int32_t *wishes,
                                   struct rls_fair_service *services,
                                   struct rls_fair_tenant *tenants,
                                   struct rls_fair_problem *pb);

#endif
