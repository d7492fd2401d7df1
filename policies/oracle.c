/* oracle.c - the two clairvoyant baselines (see oracle.h).
 *
 * oracle-step knows each service's future load rate, computes the demanded
 * replicas of every step (fewest meeting the SLO, with a Poisson margin) and
 * holds, at step k, the maximum over [k, k + L]: replicas are ordered one cold
 * start plus one node boot before they are needed and released as soon as no
 * step within that lead needs them. Demands are cached per step in a ring of
 * L + 1 entries.
 *
 * oracle-budget replaces "the demand" by the replicas minimizing
 * n * c + lambda * E[late | n] and holds the same window maximum; its
 * constructor bisects lambda on simulator runs. The expected-late curves
 * (which do not depend on lambda) are computed once per service and step and
 * kept, so each calibration run costs about one plain simulator run.
 */
#include "oracle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../env/queueing.h"
#include "../env/sim.h"
#include "sim_input.h"

struct rls_oracle_params rls_oracle_default_params(void)
{
    struct rls_oracle_params p;
    p.margin_sigmas = 2.0;
    return p;
}

/* ============================================ shared by both oracles */

/* One service's choices cached per step, L + 1 of them: a policy holds at
 * step k the maximum over [k, k + L]. */
struct s_ring {
    int32_t lead;   /* L, steps: one cold start plus one node boot */
    int64_t *step;  /* [lead + 1] step of each cached choice, -1 = empty */
    int32_t *n;     /* [lead + 1] chosen replicas */
};

/* The first member of both policies' state: what the window maximum needs. */
struct s_hold {
    const char *kind;            /* "oracle" or "oracle-budget": heads the messages */
    int32_t n;                   /* services */
    struct s_ring *ring;         /* [n] */
    char errmsg[RLS_ERRMSG_MAX];
};

/* The choice of service i at step j at future rate r (>= 0, requests/s), or
 * -1 on no memory. */
typedef int32_t (*s_choose_fn)(void *self, const struct rls_policy_input *in, int32_t i,
                               int64_t j, double r);

static void s_hold_free(struct s_hold *h)
{
    if (h->ring != NULL)
        for (int32_t i = 0; i < h->n; i++) {
            free(h->ring[i].step);
            free(h->ring[i].n);
        }
    free(h->ring);
    h->ring = NULL;
    h->n = 0;
}

static void s_hold_clear(struct s_hold *h)
{
    for (int32_t i = 0; i < h->n; i++)
        for (int32_t j = 0; j <= h->ring[i].lead; j++)
            h->ring[i].step[j] = -1;
}

/* Sizes an empty ring per service of sc (step_s > 0), its lead being one cold
 * start plus the slowest pool's boot, in steps. RLS_OK or RLS_ERR_NOMEM (then
 * nothing is kept and errmsg says so). */
static int s_hold_alloc(struct s_hold *h, const struct rls_scenario *sc)
{
    double boot = 0.0;
    for (int32_t j = 0; j < sc->n_pools; j++)
        if (sc->pools[j].boot_s > boot)
            boot = sc->pools[j].boot_s;
    if (sc->n_services <= 0)
        return RLS_OK;
    h->ring = calloc((size_t)sc->n_services, sizeof *h->ring);
    if (h->ring == NULL)
        goto nomem;
    h->n = sc->n_services;
    for (int32_t i = 0; i < h->n; i++) {
        struct s_ring *v = &h->ring[i];
        double cold = sc->services[i].cold_start_s > 0.0 ? sc->services[i].cold_start_s : 0.0;
        double l = ceil(cold / sc->step_s - 1e-9) + ceil(boot / sc->step_s - 1e-9);
        v->lead = l < 0.0 ? 0 : (l > 1e5 ? 100000 : (int32_t)l);
        v->step = malloc((size_t)(v->lead + 1) * sizeof *v->step);
        v->n = malloc((size_t)(v->lead + 1) * sizeof *v->n);
        if (v->step == NULL || v->n == NULL)
            goto nomem;
    }
    s_hold_clear(h);
    return RLS_OK;
nomem:
    s_hold_free(h);
    snprintf(h->errmsg, sizeof h->errmsg, "%s: out of memory", h->kind);
    return RLS_ERR_NOMEM;
}

/* The choice of service i at step j: cached, or choose() at the future rate
 * (non-positive and NaN rates as 0); -1 on no memory (nothing cached). */
static int32_t s_hold_want(struct s_hold *h, const struct rls_policy_input *in, int32_t i,
                           int64_t j, s_choose_fn choose)
{
    struct s_ring *v = &h->ring[i];
    int32_t slot = (int32_t)(j % (v->lead + 1));
    if (v->step[slot] == j)
        return v->n[slot];
    double r = in->future_rate(in->future_ctx, i, j);
    if (!(r > 0.0))
        r = 0.0;
    int32_t n = choose(h, in, i, j, r);
    if (n < 0)
        return n;
    v->step[slot] = j;
    v->n[slot] = n;
    return n;
}

/* The decide of both oracles: desired[i] is the most any step of
 * [step, step + lead] chooses, placement[i] is place. RLS_OK, RLS_ERR_STATE
 * (not reset for this scenario's services) or RLS_ERR_NOMEM. */
static int s_hold_decide(struct s_hold *h, const struct rls_policy_input *in, int32_t *desired,
                         uint8_t *placement, uint8_t place, s_choose_fn choose)
{
    const struct rls_scenario *sc = in->scenario;
    if (sc->n_services != h->n) {
        snprintf(h->errmsg, sizeof h->errmsg,
                 "%s: scenario has %d services, policy was reset for %d", h->kind,
                 (int)sc->n_services, (int)h->n);
        return RLS_ERR_STATE;
    }
    int64_t k = in->step > 0 ? in->step : 0;
    for (int32_t i = 0; i < h->n; i++) {
        int32_t best = 0;
        for (int64_t j = k; j <= k + h->ring[i].lead; j++) {
            int32_t n = s_hold_want(h, in, i, j, choose);
            if (n < 0) {
                snprintf(h->errmsg, sizeof h->errmsg, "%s: out of memory", h->kind);
                return RLS_ERR_NOMEM;
            }
            if (n > best)
                best = n;
        }
        desired[i] = best;
        placement[i] = place;
    }
    return RLS_OK;
}

static const char *s_hold_errmsg(const void *self)
{
    const struct s_hold *h = self;
    return h->errmsg;
}

/* ============================================================ oracle-step */

struct s_oracle {
    struct s_hold h;            /* first: the rings hold the demands */
    struct rls_oracle_params p;
};

static int s_oracle_reset(void *self, const struct rls_scenario *sc)
{
    struct s_oracle *o = self;
    s_hold_free(&o->h);
    o->h.errmsg[0] = '\0';
    if (sc == NULL || !(sc->step_s > 0.0)) {
        snprintf(o->h.errmsg, sizeof o->h.errmsg, "oracle: reset needs a scenario with step_s > 0");
        return RLS_ERR_INVALID;
    }
    return s_hold_alloc(&o->h, sc);
}

/* n*(j): the demanded replicas of service i at step j, at load rate r. */
static int32_t s_demand(void *self, const struct rls_policy_input *in, int32_t i, int64_t j,
                        double r)
{
    struct s_oracle *o = self;
    (void)j;
    double step_s = in->scenario->step_s;
    double need = r + o->p.margin_sigmas * sqrt(r / step_s);
    return rls_queueing_demand(&in->scenario->services[i], need);
}

static int s_oracle_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                           uint8_t *placement)
{
    struct s_oracle *o = self;
    return s_hold_decide(&o->h, in, desired, placement, RLS_PLACE_BINPACK, s_demand);
}

static void s_oracle_destroy(void *self)
{
    struct s_oracle *o = self;
    if (o == NULL)
        return;
    s_hold_free(&o->h);
    free(o);
}

static const struct rls_policy_ops s_oracle_ops = {
    .kind = "oracle",
    .needs_future = 1,
    .reset = s_oracle_reset,
    .decide = s_oracle_decide,
    .errmsg = s_hold_errmsg,
    .destroy = s_oracle_destroy,
};

struct rls_policy *rls_oracle_new(const struct rls_oracle_params *p,
                                  const struct rls_scenario *sc, struct rls_err *err)
{
    struct s_oracle *o = NULL;
    struct rls_policy *pol = NULL;
    struct rls_oracle_params def = rls_oracle_default_params();
    if (p == NULL)
        p = &def;
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "oracle: NULL scenario");
        return NULL;
    }
    if (!(p->margin_sigmas >= 0.0) || p->margin_sigmas > 100.0) {
        rls_err_set(err, RLS_ERR_RANGE, "oracle: margin_sigmas %g must be in [0, 100]",
                    p->margin_sigmas);
        return NULL;
    }
    o = calloc(1, sizeof *o);
    if (o == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "oracle: out of memory");
        return NULL;
    }
    o->p = *p;
    o->h.kind = "oracle";
    int rc = s_oracle_reset(o, sc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", o->h.errmsg);
        s_oracle_destroy(o);
        return NULL;
    }
    pol = rls_policy_wrap(&s_oracle_ops, o, "oracle");
    if (pol == NULL)
        rls_err_set(err, RLS_ERR_NOMEM, "oracle: out of memory");
    return pol;
}

/* ========================================================= oracle-budget */

/* 5-point Gauss-Hermite rule for a standard normal: E[f(Z)] ~ sum w f(z). */
static const double s_gh_z[5] = {-2.8569700138728056, -1.3556261799742659, 0.0,
                                 1.3556261799742659, 2.8569700138728056};
static const double s_gh_w[5] = {0.011257411327720691, 0.22207592200561265, 0.5333333333333333,
                                 0.22207592200561265, 0.011257411327720691};

#define S_OB_CURVE_MAX 256   /* replica counts kept per service and step */
#define S_OB_RHO_MAX 0.98    /* the queueing model's utilization clip (queueing.c) */

/* The expected-late curve of one service at one step. */
struct s_ob_cell {
    double rate;        /* the rate it was computed for, requests/s (NAN: empty) */
    int64_t off;        /* late[off + t]: E[late requests] with n0 + t ready replicas */
    int32_t n0;         /* fewest replicas on the curve; fewer than n0 are as late as n0 */
    int32_t len;        /* 0: no load, nothing can be late */
};

struct s_ob_svc {
    double c_rep;           /* dollars per replica per step (its share of a node's price) */
    int32_t k;              /* servers per replica */
    double mu;              /* service rate of one server, 1/s */
    double cap_rps;         /* capacity of one replica, requests/s */
    double slo_s;
    int32_t min_rep, max_rep;
    struct s_ob_cell *cell; /* [n_cell], by episode step */
    int64_t n_cell;
    float *late;            /* [n_late] of cap_late, the curves' values, requests */
    int64_t n_late, cap_late;
};

struct s_ob {
    struct s_hold h;        /* first: the rings hold the choices at the current lambda */
    struct rls_oracle_budget_params p;
    struct rls_oracle_budget_info info;
    double lambda;          /* dollars per late request */
    double dt;              /* step, s */
    int noise;              /* the scenario's poisson_noise */
    struct s_ob_svc *svc;   /* [h.n] */
};

static void s_ob_free_svc(struct s_ob *o)
{
    if (o->svc != NULL)
        for (int32_t i = 0; i < o->h.n; i++) {
            free(o->svc[i].cell);
            free(o->svc[i].late);
        }
    free(o->svc);
    o->svc = NULL;
    s_hold_free(&o->h);
}

/* Sets up the per-service constants of sc (first call) or checks that sc has
 * the same services (later resets: the curves and lambda are kept). */
static int s_ob_setup(struct s_ob *o, const struct rls_scenario *sc)
{
    if (sc == NULL || !(sc->step_s > 0.0)) {
        snprintf(o->h.errmsg, sizeof o->h.errmsg,
                 "oracle-budget: needs a scenario with step_s > 0");
        return RLS_ERR_INVALID;
    }
    if (o->h.ring != NULL) {
        if (sc->n_services != o->h.n) {
            snprintf(o->h.errmsg, sizeof o->h.errmsg,
                     "oracle-budget: scenario has %d services, policy was built for %d",
                     (int)sc->n_services, (int)o->h.n);
            return RLS_ERR_STATE;
        }
        s_hold_clear(&o->h);
        return RLS_OK;
    }
    o->dt = sc->step_s;
    o->noise = sc->poisson_noise;
    int rc = s_hold_alloc(&o->h, sc);
    if (rc != RLS_OK || o->h.n == 0)
        return rc;
    o->svc = calloc((size_t)o->h.n, sizeof *o->svc);
    if (o->svc == NULL)
        goto nomem;
    for (int32_t i = 0; i < o->h.n; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        struct s_ob_svc *v = &o->svc[i];
        /* a replica's share of the cheapest pool that fits it, priced over a step */
        double best = INFINITY;
        for (int32_t j = 0; j < sc->n_pools; j++) {
            const struct rls_node_pool *pl = &sc->pools[j];
            if (!(pl->cpu >= s->cpu) || !(pl->mem_gb >= s->mem_gb) || !(pl->cpu > 0.0))
                continue;
            double share = s->cpu / pl->cpu;
            if (pl->mem_gb > 0.0 && s->mem_gb / pl->mem_gb > share)
                share = s->mem_gb / pl->mem_gb;
            double c = share * pl->price_per_hour;
            if (c < best)
                best = c;
        }
        v->c_rep = isfinite(best) ? best * sc->step_s / 3600.0 : 0.0;
        v->k = rls_queueing_servers_per_replica(s);
        v->cap_rps = s->capacity_rps > 0.0 ? s->capacity_rps : 0.0;
        v->mu = v->cap_rps > 0.0 ? v->cap_rps / v->k : 1e-9;
        v->slo_s = s->slo_ms / 1000.0;
        v->min_rep = s->min_replicas > 0 ? s->min_replicas : 0;
        v->max_rep = s->max_replicas > v->min_rep ? s->max_replicas : v->min_rep;
    }
    return RLS_OK;
nomem:
    s_ob_free_svc(o);
    snprintf(o->h.errmsg, sizeof o->h.errmsg, "oracle-budget: out of memory");
    return RLS_ERR_NOMEM;
}

/* Fraction of requests over the SLO at arrival rate a (1/s) with n ready
 * replicas: the M/M/m tail, or 1 at or past the utilization clip (a backlog
 * builds: every request waits or is dropped). */
static double s_ob_frac(const struct s_ob_svc *v, double a, int32_t n)
{
    if (!(a > 0.0))
        return 0.0;
    double m = (double)n * (double)v->k;
    if (n <= 0 || a >= S_OB_RHO_MAX * m * v->mu)
        return 1.0;
    if (m > 2e9)
        return 0.0;
    struct rls_queue_dist d;
    rls_queueing_dist(a, (int32_t)m, v->mu, 0.0, &d);
    return rls_queueing_ccdf(&d, v->slo_s);
}

/* E[requests over the SLO in one step] at load rate r with n ready replicas,
 * over the step's Poisson arrivals (normal approximation) when noise is on. */
static double s_ob_late(const struct s_ob *o, const struct s_ob_svc *v, double r, int32_t n)
{
    if (!o->noise)
        return r * o->dt * s_ob_frac(v, r, n);
    double sd = sqrt(r / o->dt), sum = 0.0;
    for (int q = 0; q < 5; q++) {
        double a = r + s_gh_z[q] * sd;
        if (a > 0.0)
            sum += s_gh_w[q] * a * s_ob_frac(v, a, n);
    }
    return sum * o->dt;
}

/* The curve of service i at step j for rate r (computed once, then reused
 * while the rate is the same). Returns the cell or NULL on no memory. */
static const struct s_ob_cell *s_ob_cell(struct s_ob *o, int32_t i, int64_t j, double r)
{
    struct s_ob_svc *v = &o->svc[i];
    if (j >= v->n_cell) {
        int64_t ncap = v->n_cell > 0 ? v->n_cell : 1024;
        while (ncap <= j)
            ncap *= 2;
        struct s_ob_cell *c = realloc(v->cell, (size_t)ncap * sizeof *c);
        if (c == NULL)
            return NULL;
        for (int64_t t = v->n_cell; t < ncap; t++)
            c[t].rate = NAN;
        v->cell = c;
        v->n_cell = ncap;
    }
    struct s_ob_cell *c = &v->cell[j];
    if (c->rate == r)
        return c;
    c->rate = NAN;
    c->len = 0;
    c->off = v->n_late;
    c->n0 = v->min_rep;
    if (!(r > 0.0) || !(v->cap_rps > 0.0)) {
        c->rate = r;
        return c;
    }
    /* below n0 even the lowest arrival point overloads: as late as n0 */
    double lo = o->noise ? r + s_gh_z[0] * sqrt(r / o->dt) : r;
    double n_sat = lo > 0.0 ? floor(lo / (S_OB_RHO_MAX * v->cap_rps)) : 0.0;
    if (n_sat > (double)v->max_rep)
        n_sat = (double)v->max_rep;
    if (n_sat > (double)c->n0)
        c->n0 = (int32_t)n_sat;
    double all = r * o->dt;
    for (int32_t n = c->n0; n <= v->max_rep && c->len < S_OB_CURVE_MAX; n++) {
        if (v->n_late >= v->cap_late) {
            int64_t ncap = v->cap_late > 0 ? 2 * v->cap_late : 16384;
            float *p = realloc(v->late, (size_t)ncap * sizeof *p);
            if (p == NULL)
                return NULL;
            v->late = p;
            v->cap_late = ncap;
        }
        double late = s_ob_late(o, v, r, n);
        v->late[v->n_late++] = (float)late;
        c->len++;
        if (late <= 1e-9 * all)
            break;
    }
    c->rate = r;
    return c;
}

/* The replicas minimizing n * c + lambda * late(n) on a curve. */
static int32_t s_ob_pick(const struct s_ob *o, const struct s_ob_svc *v,
                         const struct s_ob_cell *c)
{
    if (c->len <= 0)
        return v->min_rep;
    const float *late = v->late + c->off;
    int32_t best_n = v->min_rep;
    double best = (double)v->min_rep * v->c_rep + o->lambda * (double)late[0];
    for (int32_t t = 0; t < c->len; t++) {
        int32_t n = c->n0 + t;
        double val = (double)n * v->c_rep + o->lambda * (double)late[t];
        if (val < best) {
            best = val;
            best_n = n;
        }
    }
    return best_n;
}

/* The choice of service i at step j at rate r for the current lambda, or -1
 * on no memory. */
static int32_t s_ob_choose(void *self, const struct rls_policy_input *in, int32_t i, int64_t j,
                           double r)
{
    struct s_ob *o = self;
    (void)in;
    const struct s_ob_cell *c = s_ob_cell(o, i, j, r);
    if (c == NULL)
        return -1;
    return s_ob_pick(o, &o->svc[i], c);
}

static int s_ob_reset(void *self, const struct rls_scenario *sc)
{
    struct s_ob *o = self;
    o->h.errmsg[0] = '\0';
    return s_ob_setup(o, sc);
}

static int s_ob_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                       uint8_t *placement)
{
    struct s_ob *o = self;
    return s_hold_decide(&o->h, in, desired, placement, (uint8_t)o->p.placement, s_ob_choose);
}

static void s_ob_destroy(void *self)
{
    struct s_ob *o = self;
    if (o == NULL)
        return;
    s_ob_free_svc(o);
    free(o);
}

static const struct rls_policy_ops s_ob_ops = {
    .kind = "oracle-budget",
    .needs_future = 1,
    .reset = s_ob_reset,
    .decide = s_ob_decide,
    .errmsg = s_hold_errmsg,
    .destroy = s_ob_destroy,
};

struct rls_oracle_budget_params rls_oracle_budget_default_params(void)
{
    struct rls_oracle_budget_params p;
    memset(&p, 0, sizeof p);
    p.budget = 0.0;
    p.seed = RLS_ORACLE_SCENARIO_SEED;
    p.steps = 0;
    p.placement = RLS_PLACE_BINPACK;
    p.max_runs = 24;
    return p;
}

/* Sums of one calibration run, kept per service in the order and the
 * arithmetic of eval/eval.c, so the calibration's fraction is the one eval
 * reports. */
struct s_ob_sums {
    double served, dropped, over;
};

/* One calibration run of the plan at o->lambda: viol (fraction) and cost. */
static int s_ob_run(struct s_ob *o, struct rls_sim *sim, int64_t steps, struct s_ob_sums *sums,
                    int32_t *desired, uint8_t *placement, double *viol, double *cost,
                    struct rls_err *err)
{
    const struct rls_scenario *sc = rls_sim_scenario(sim);
    int rc = rls_sim_reset(sim, o->info.seed);
    if (rc != RLS_OK)
        return rls_err_set(err, rc, "oracle-budget: calibration reset (seed %llu): %s",
                           (unsigned long long)o->info.seed, rls_sim_errmsg(sim));
    rc = s_ob_setup(o, sc);
    if (rc != RLS_OK)
        return rls_err_set(err, rc, "%s", o->h.errmsg);
    memset(sums, 0, (size_t)o->h.n * sizeof *sums);
    *cost = 0.0;
    for (int64_t t = 0; t < steps; t++) {
        struct rls_policy_input in;
        rls_policy_input_from_sim(&in, sim, 1);
        rc = s_ob_decide(o, &in, desired, placement);
        if (rc != RLS_OK)
            return rls_err_set(err, rc, "%s", o->h.errmsg);
        rc = rls_sim_step(sim, desired, placement);
        if (rc != RLS_OK)
            return rls_err_set(err, rc, "oracle-budget: calibration step %lld: %s",
                               (long long)t, rls_sim_errmsg(sim));
        const struct rls_svc_state *st = rls_sim_services(sim);
        for (int32_t i = 0; i < o->h.n; i++) {
            double served = st[i].served_rps * o->dt;
            sums[i].served += served;
            sums[i].dropped += st[i].dropped_rps * o->dt;
            sums[i].over += st[i].frac_over_slo * served;
        }
        *cost += rls_sim_last(sim)->cost_usd;
    }
    double served = 0.0, dropped = 0.0, over = 0.0;
    for (int32_t i = 0; i < o->h.n; i++) {
        served += sums[i].served;
        dropped += sums[i].dropped;
        over += sums[i].over;
    }
    double req = served + dropped;
    *viol = req > 0.0 ? (over + dropped) / req : 0.0;
    return RLS_OK;
}

/* Bisects lambda (geometrically) on calibration runs; keeps the cheapest
 * plan within the budget (or, if none is, the one with the fewest violations). */
static int s_ob_calibrate(struct s_ob *o, const struct rls_scenario *sc, struct rls_err *err)
{
    struct rls_scenario *copy = NULL;
    struct rls_sim *sim = NULL;
    struct s_ob_sums *sums = NULL;
    int32_t *desired = NULL;
    uint8_t *placement = NULL;
    int rc = RLS_OK;
    int64_t steps = o->info.steps;
    double budget = o->info.budget;

    copy = rls_scenario_copy(sc);
    if (copy == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "oracle-budget: out of memory");
        goto done;
    }
    if (copy->horizon_steps < steps)   /* as eval sizes its simulator */
        copy->horizon_steps = (int32_t)steps;
    sim = rls_sim_new(copy, err);
    if (sim == NULL) {
        rc = err && err->status ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    sums = calloc((size_t)(o->h.n > 0 ? o->h.n : 1), sizeof *sums);
    desired = calloc((size_t)(o->h.n > 0 ? o->h.n : 1), sizeof *desired);
    placement = calloc((size_t)(o->h.n > 0 ? o->h.n : 1), sizeof *placement);
    if (sums == NULL || desired == NULL || placement == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "oracle-budget: out of memory");
        goto done;
    }

    /* a first price: a replica's step cost buys back 1% of one replica's
     * requests in a step */
    double c_mean = 0.0, req_mean = 0.0;
    for (int32_t i = 0; i < o->h.n; i++) {
        c_mean += o->svc[i].c_rep / o->h.n;
        req_mean += o->svc[i].cap_rps * o->dt / o->h.n;
    }
    double lam = c_mean > 0.0 && req_mean > 0.0 ? c_mean / (0.01 * req_mean) : 1e-6;
    double lo = 0.0, hi = 0.0;      /* infeasible / feasible prices found (0: none) */
    int have_best = 0;
    double best_lam = lam, best_cost = INFINITY, best_viol = INFINITY;
    int met = 0;
    for (int32_t run = 0; run < o->p.max_runs; run++) {
        double viol = 0.0, cost = 0.0;
        o->lambda = lam;
        rc = s_ob_run(o, sim, steps, sums, desired, placement, &viol, &cost, err);
        if (rc != RLS_OK)
            goto done;
        o->info.runs = run + 1;
        int ok = viol <= budget;
        if (ok && (!met || cost < best_cost)) {
            met = 1;
            have_best = 1;
            best_lam = lam;
            best_cost = cost;
            best_viol = viol;
        } else if (!met && (!have_best || viol < best_viol)) {
            have_best = 1;
            best_lam = lam;
            best_cost = cost;
            best_viol = viol;
        }
        if (ok)
            hi = lam;
        else
            lo = lam;
        if (hi > 0.0 && lo > 0.0) {
            if (hi / lo < 1.01)
                break;
            lam = sqrt(lo * hi);
        } else if (hi > 0.0) {
            lam = hi / 8.0;         /* feasible so far: look for a cheaper price */
        } else {
            lam = lo * 8.0;         /* not yet within the budget: pay more per late request */
        }
        if (!(lam > 1e-300) || !(lam < 1e300))
            break;
    }
    o->lambda = best_lam;
    o->info.lambda = best_lam;
    o->info.cost_usd = best_cost;
    o->info.viol = best_viol;
    o->info.met = met;
    s_hold_clear(&o->h);

done:
    free(sums);
    free(desired);
    free(placement);
    rls_sim_destroy(&sim);
    rls_scenario_destroy(&copy);
    return rc;
}

struct rls_policy *rls_oracle_budget_new(const struct rls_oracle_budget_params *p,
                                         const struct rls_scenario *sc, struct rls_err *err)
{
    struct s_ob *o = NULL;
    struct rls_policy *pol = NULL;
    struct rls_oracle_budget_params def = rls_oracle_budget_default_params();
    if (p == NULL)
        p = &def;
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "oracle-budget: NULL scenario");
        return NULL;
    }
    if (!(p->budget >= 0.0) || !(p->budget < 1.0)) {
        rls_err_set(err, RLS_ERR_RANGE, "oracle-budget: budget %g must be in [0, 1) "
                    "(a fraction: 0.05 is 5%%; 0 = the scenario's)", p->budget);
        return NULL;
    }
    if (p->steps < 0 || p->max_runs < 1 || p->placement < 0 || p->placement >= RLS_PLACE_COUNT) {
        rls_err_set(err, RLS_ERR_RANGE,
                    "oracle-budget: steps %lld must be >= 0, max_runs %d >= 1, placement %d "
                    "an enum rls_placement", (long long)p->steps, (int)p->max_runs,
                    p->placement);
        return NULL;
    }
    o = calloc(1, sizeof *o);
    if (o == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "oracle-budget: out of memory");
        return NULL;
    }
    o->p = *p;
    o->h.kind = "oracle-budget";
    double budget = p->budget;
    if (budget == 0.0) {
        budget = -1.0;
        for (int32_t i = 0; i < sc->n_services; i++) {
            double b = 1.0 - sc->services[i].slo_percentile;
            if (budget < 0.0 || b < budget)
                budget = b;
        }
        if (budget < 0.0)
            budget = 0.05;
        budget = round(budget * 1e9) / 1e9;  /* 0.95 gives 0.05, not 0.05000000000000004 */
    }
    o->info.budget = budget;
    o->info.seed = p->seed == RLS_ORACLE_SCENARIO_SEED ? sc->seed : p->seed;
    o->info.steps = p->steps > 0 ? p->steps : sc->horizon_steps;
    if (o->info.steps < 1 || o->info.steps > INT32_MAX) {
        rls_err_set(err, RLS_ERR_RANGE, "oracle-budget: %lld calibration steps (scenario '%s' "
                    "horizon_steps %d)", (long long)o->info.steps, sc->name,
                    (int)sc->horizon_steps);
        s_ob_destroy(o);
        return NULL;
    }
    int rc = s_ob_setup(o, sc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", o->h.errmsg);
        s_ob_destroy(o);
        return NULL;
    }
    if (s_ob_calibrate(o, sc, err) != RLS_OK) {
        s_ob_destroy(o);
        return NULL;
    }
    pol = rls_policy_wrap(&s_ob_ops, o, "oracle-budget");
    if (pol == NULL)
        rls_err_set(err, RLS_ERR_NOMEM, "oracle-budget: out of memory");
    return pol;
}

int rls_oracle_budget_info(const struct rls_policy *p, struct rls_oracle_budget_info *out)
{
    const struct s_ob *o = rls_policy_self_if(p, &s_ob_ops);
    if (o == NULL || out == NULL)
        return RLS_ERR_INVALID;
    *out = o->info;
    return RLS_OK;
}
