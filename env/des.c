/* des.c - the request-level discrete-event simulation that validates the
 * step model (see des.h), the timeline recorder, and the step model's
 * aggregate over a timeline.
 *
 * Each service is simulated on its own (services share nothing once the
 * ready replicas are fixed by the timeline). The state is a min-heap of the
 * m servers' free times and a FIFO ring of waiting requests' arrival times;
 * the system is advanced lazily: before an arrival or a step boundary at time
 * t, every waiting request that a server frees up for by t is started (FIFO,
 * at the server's free time). A request's response time is known when it
 * starts (start - arrival + its Exp(mu) service time), so no completion
 * events are needed. Cost: O(log m) per request, no allocation per request.
 */
#include "des.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* ---------------------------------------------------------------- random draws */

/* Exp(rate), rate > 0 */
static inline double s_exp(struct rls_rng *r, double rate)
{
    return -log(rls_rng_unif(r)) / rate;
}

/* ---------------------------------------------------------------- histogram */

/* Log-spaced bins: 2^S_HBITS per octave from 2^S_EMIN s to 2^(S_EMAX+1) s,
 * plus one bin below and one above. Relative bin width 1/512 (0.2%). */
#define S_HBITS 9
#define S_HSUB (1 << S_HBITS)
#define S_EMIN (-20)
#define S_EMAX 20
#define S_NBINS (2 + (S_EMAX - S_EMIN + 1) * S_HSUB)

static inline int32_t s_bin(double t)
{
    if (!(t >= 0x1p-20))
        return 0;
    if (t >= 0x1p21)
        return S_NBINS - 1;
    uint64_t b;
    memcpy(&b, &t, sizeof b);
    int32_t e = (int32_t)((b >> 52) & 0x7ff) - 1023;
    int32_t m = (int32_t)((b >> (52 - S_HBITS)) & (S_HSUB - 1));
    return 1 + (e - S_EMIN) * S_HSUB + m;
}

/* [lo, hi) of bin i, seconds */
static void s_bin_range(int32_t i, double *lo, double *hi)
{
    if (i <= 0) {
        *lo = 0.0;
        *hi = 0x1p-20;
        return;
    }
    if (i >= S_NBINS - 1) {
        *lo = *hi = 0x1p21;
        return;
    }
    int32_t e = (i - 1) / S_HSUB + S_EMIN, m = (i - 1) % S_HSUB;
    double base = ldexp(1.0, e);
    *lo = base * (1.0 + (double)m / S_HSUB);
    *hi = base * (1.0 + (double)(m + 1) / S_HSUB);
}

/* The p-quantile of a histogram of total count n (> 0), linear within a bin. */
static double s_hist_quantile(const int64_t *h, int64_t n, double p)
{
    double target = p * (double)n, cum = 0.0;
    for (int32_t i = 0; i < S_NBINS; i++) {
        if (h[i] == 0)
            continue;
        if (cum + (double)h[i] >= target) {
            double lo, hi;
            s_bin_range(i, &lo, &hi);
            double f = (target - cum) / (double)h[i];
            if (f < 0.0)
                f = 0.0;
            return lo + f * (hi - lo);
        }
        cum += (double)h[i];
    }
    double lo, hi;
    s_bin_range(S_NBINS - 1, &lo, &hi);
    return lo;
}

/* ---------------------------------------------------------------- heap and queue */

/* Min-heap of server free times, seconds. */
struct s_heap {
    double *t;
    int32_t n, cap;
};

static void s_heap_push(struct s_heap *h, double x)
{
    int32_t i = h->n++;
    while (i > 0) {
        int32_t parent = (i - 1) / 2;
        if (h->t[parent] <= x)
            break;
        h->t[i] = h->t[parent];
        i = parent;
    }
    h->t[i] = x;
}

/* Replaces the minimum with x and restores the heap. */
static void s_heap_replace_top(struct s_heap *h, double x)
{
    int32_t i = 0, n = h->n;
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->t[c + 1] < h->t[c])
            c++;
        if (x <= h->t[c])
            break;
        h->t[i] = h->t[c];
        i = c;
    }
    h->t[i] = x;
}

static void s_heap_pop(struct s_heap *h)
{
    if (h->n <= 0)
        return;
    double last = h->t[--h->n];
    if (h->n > 0)
        s_heap_replace_top(h, last);
}

/* FIFO ring of waiting requests' arrival times, seconds; grows by doubling. */
struct s_ring {
    double *a;
    int64_t head, n, cap;
};

static int s_ring_push(struct s_ring *q, double x)
{
    if (q->n == q->cap) {
        int64_t cap = q->cap > 0 ? 2 * q->cap : 1024;
        double *a = malloc((size_t)cap * sizeof *a);
        if (!a)
            return RLS_ERR_NOMEM;
        for (int64_t j = 0; j < q->n; j++)
            a[j] = q->a[(q->head + j) % q->cap];
        free(q->a);
        q->a = a;
        q->head = 0;
        q->cap = cap;
    }
    q->a[(q->head + q->n) % q->cap] = x;
    q->n++;
    return RLS_OK;
}

static double s_ring_pop(struct s_ring *q)
{
    double x = q->a[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return x;
}

/* ---------------------------------------------------------------- timeline */

struct rls_des_timeline *rls_des_timeline_new(int32_t n_services, int64_t n_steps, double step_s)
{
    if (n_services <= 0 || n_steps <= 0 || !(step_s > 0.0))
        return NULL;
    if (n_steps > INT64_MAX / 2 / n_services)
        return NULL;
    struct rls_des_timeline *tl = calloc(1, sizeof *tl);
    if (!tl)
        return NULL;
    tl->steps = calloc((size_t)(n_steps * n_services), sizeof *tl->steps);
    if (!tl->steps) {
        free(tl);
        return NULL;
    }
    tl->n_services = n_services;
    tl->n_steps = n_steps;
    tl->step_s = step_s;
    return tl;
}

void rls_des_timeline_destroy(struct rls_des_timeline **tl)
{
    if (!tl || !*tl)
        return;
    free((*tl)->steps);
    free(*tl);
    *tl = NULL;
}

int rls_des_record(const struct rls_scenario *sc, uint64_t seed, rls_des_controller_fn ctl,
                   void *user, struct rls_des_timeline **out, struct rls_err *err)
{
    struct rls_sim *sim = NULL;
    struct rls_des_timeline *tl = NULL;
    int32_t *desired = NULL;
    int rc = RLS_OK;
    if (!out)
        return rls_err_set(err, RLS_ERR_INVALID, "des record: no output pointer");
    *out = NULL;
    if (!sc || !ctl)
        return rls_err_set(err, RLS_ERR_INVALID, "des record: no scenario or no controller");
    if (sc->horizon_steps <= 0)
        return rls_err_set(err, RLS_ERR_INVALID, "des record: scenario '%s': horizon_steps must be > 0",
                           sc->name);
    sim = rls_sim_new(sc, err);
    if (!sim) {
        rc = err && err->status < 0 ? err->status : RLS_ERR_INVALID;
        goto done;
    }
    rc = rls_sim_reset(sim, seed);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "des record: reset: %s", rls_sim_errmsg(sim));
        goto done;
    }
    int32_t n_svc = rls_sim_n_services(sim);
    tl = rls_des_timeline_new(n_svc, sc->horizon_steps, sc->step_s);
    desired = malloc((size_t)n_svc * sizeof *desired);
    if (!tl || !desired) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "des record: out of memory for %d steps",
                         (int)sc->horizon_steps);
        goto done;
    }
    const struct rls_svc_state *st = rls_sim_services(sim);
    for (int32_t i = 0; i < n_svc; i++)
        desired[i] = st[i].desired;
    double dt = sc->step_s;
    for (int64_t t = 0; t < tl->n_steps; t++) {
        rc = ctl(user, sim, desired);
        if (rc != RLS_OK) {
            rls_err_set(err, rc, "des record: the controller failed at step %lld", (long long)t);
            goto done;
        }
        rc = rls_sim_step(sim, desired, NULL);
        if (rc != RLS_OK) {
            rls_err_set(err, rc, "des record: step %lld: %s", (long long)t, rls_sim_errmsg(sim));
            goto done;
        }
        st = rls_sim_services(sim);
        for (int32_t i = 0; i < n_svc; i++) {
            struct rls_des_step *d = &tl->steps[t * n_svc + i];
            d->rate_rps = st[i].rate_rps;
            d->arrivals = st[i].arrival_rps * dt;
            d->ready = st[i].ready;
            d->served = st[i].served_rps * dt;
            d->dropped = st[i].dropped_rps * dt;
            d->backlog = st[i].backlog;
            d->frac_over_slo = st[i].frac_over_slo;
            d->dist = st[i].dist;
        }
    }
    *out = tl;
    tl = NULL;
done:
    free(desired);
    rls_des_timeline_destroy(&tl);
    rls_sim_destroy(&sim);
    return rc;
}

/* ---------------------------------------------------------------- DES */

struct rls_des_params rls_des_default_params(void)
{
    struct rls_des_params p;
    memset(&p, 0, sizeof p);
    p.seed = 1;
    p.arrivals = RLS_DES_ARRIVALS_POISSON;
    p.per_step = 0;
    return p;
}

void rls_des_result_destroy(struct rls_des_result **r)
{
    if (!r || !*r)
        return;
    free((*r)->services);
    free((*r)->per_step);
    free(*r);
    *r = NULL;
}

/* One service's simulation state. */
struct s_svc_run {
    struct s_heap heap;
    struct s_ring queue;
    struct rls_rng rng;
    int64_t *hist;          /* [S_NBINS] response times of served requests */
    double mu, slo_s, dt;
    int64_t qlimit;
    int64_t arrived, served, dropped, over_slo;
    double resp_sum;
    struct rls_des_step_stats *per_step;  /* NULL, or this service's column (stride n_svc) */
    int32_t stride;
    int64_t n_steps;
};

static inline struct rls_des_step_stats *s_stats_at(struct s_svc_run *r, double arrival)
{
    int64_t t = (int64_t)floor(arrival / r->dt);
    if (t < 0)
        t = 0;
    if (t >= r->n_steps)
        t = r->n_steps - 1;
    return &r->per_step[t * r->stride];
}

/* A request that arrived at `arrival` starts at `start`. */
static inline void s_start(struct s_svc_run *r, double arrival, double start)
{
    double sv = s_exp(&r->rng, r->mu);
    double resp = start - arrival + sv;
    s_heap_replace_top(&r->heap, start + sv);
    r->hist[s_bin(resp)]++;
    r->served++;
    r->resp_sum += resp;
    int over = resp > r->slo_s;
    r->over_slo += over;
    if (r->per_step) {
        struct rls_des_step_stats *ps = s_stats_at(r, arrival);
        ps->served++;
        ps->over_slo += over;
        ps->resp_sum_s += resp;
    }
}

/* Starts every waiting request a server frees up for by time t. */
static inline void s_advance(struct s_svc_run *r, double t)
{
    while (r->queue.n > 0 && r->heap.n > 0 && r->heap.t[0] <= t) {
        double f = r->heap.t[0];
        double a = s_ring_pop(&r->queue);
        s_start(r, a, f > a ? f : a);
    }
}

static inline int s_arrive(struct s_svc_run *r, double a)
{
    s_advance(r, a);
    r->arrived++;
    if (r->per_step)
        s_stats_at(r, a)->arrived++;
    if (r->queue.n == 0 && r->heap.n > 0 && r->heap.t[0] <= a) {
        s_start(r, a, a);
        return RLS_OK;
    }
    if (r->queue.n >= r->qlimit) {
        r->dropped++;
        if (r->per_step)
            s_stats_at(r, a)->dropped++;
        return RLS_OK;
    }
    return s_ring_push(&r->queue, a);
}

/* Simulates service i over the timeline. The caller zeroes r->hist and sets
 * the per-step column. */
static int s_run_service(const struct rls_service_spec *s, const struct rls_des_timeline *tl,
                         int32_t i, const struct rls_des_params *p, struct s_svc_run *r,
                         struct rls_err *err)
{
    int32_t k = rls_queueing_servers_per_replica(s);
    int32_t n_svc = tl->n_services;
    double dt = tl->step_s;
    r->mu = s->capacity_rps / k;
    r->slo_s = s->slo_ms / 1000.0;
    r->dt = dt;
    r->qlimit = s->queue_limit > 0 ? s->queue_limit : 0;
    r->arrived = r->served = r->dropped = r->over_slo = 0;
    r->resp_sum = 0.0;
    r->queue.head = r->queue.n = 0;
    r->heap.n = 0;
    uint64_t x = p->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i;
    rls_rng_seed(&r->rng, rls_splitmix64(&x));

    int64_t max_m = 0;
    for (int64_t t = 0; t < tl->n_steps; t++) {
        const struct rls_des_step *d = &tl->steps[t * n_svc + i];
        if (d->ready < 0 || !(d->rate_rps >= 0.0) || !isfinite(d->rate_rps) ||
            !(d->arrivals >= 0.0) || !isfinite(d->arrivals))
            return rls_err_set(err, RLS_ERR_INVALID,
                               "des: timeline step %lld service '%s': negative or non-finite "
                               "rate, arrivals or ready", (long long)t, s->name);
        if ((int64_t)d->ready * k > max_m)
            max_m = (int64_t)d->ready * k;
    }
    if (max_m > 100000000)
        return rls_err_set(err, RLS_ERR_RANGE, "des: service '%s': %lld servers is too many",
                           s->name, (long long)max_m);
    if (max_m > r->heap.cap) {
        free(r->heap.t);
        r->heap.t = malloc((size_t)max_m * sizeof *r->heap.t);
        r->heap.cap = r->heap.t ? (int32_t)max_m : 0;
        if (!r->heap.t)
            return rls_err_set(err, RLS_ERR_NOMEM, "des: out of memory");
    }

    for (int64_t t = 0; t < tl->n_steps; t++) {
        const struct rls_des_step *d = &tl->steps[t * n_svc + i];
        double t0 = (double)t * dt, t1 = (double)(t + 1) * dt;
        int32_t m = (int32_t)((int64_t)d->ready * k);
        /* step boundary: serve what can start by t0, then change the servers;
         * a removed server is the one that frees up first (its request, if
         * any, still finishes) */
        s_advance(r, t0);
        while (r->heap.n > m)
            s_heap_pop(&r->heap);
        while (r->heap.n < m)
            s_heap_push(&r->heap, t0);
        s_advance(r, t0);
        if (p->arrivals == RLS_DES_ARRIVALS_COUNTS) {
            int64_t c = (int64_t)floor(d->arrivals + rls_rng_unif(&r->rng));
            double u = 0.0;  /* ascending order statistics of c uniforms */
            for (int64_t j = c; j >= 1; j--) {
                u = 1.0 - (1.0 - u) * pow(rls_rng_unif(&r->rng), 1.0 / (double)j);
                if (s_arrive(r, t0 + u * dt) != RLS_OK)
                    return rls_err_set(err, RLS_ERR_NOMEM, "des: out of memory for the queue");
            }
        } else if (d->rate_rps > 0.0) {
            for (double a = t0 + s_exp(&r->rng, d->rate_rps); a < t1; a += s_exp(&r->rng, d->rate_rps))
                if (s_arrive(r, a) != RLS_OK)
                    return rls_err_set(err, RLS_ERR_NOMEM, "des: out of memory for the queue");
        }
    }
    s_advance(r, (double)tl->n_steps * dt);
    return RLS_OK;
}

static void s_fill_summary(struct rls_des_summary *o, const int64_t *hist, double arrived,
                           double served, double dropped, double over, double resp_sum)
{
    memset(o, 0, sizeof *o);
    o->arrived = arrived;
    o->served = served;
    o->dropped = dropped;
    o->frac_dropped = arrived > 0.0 ? dropped / arrived : 0.0;
    if (served > 0.0) {
        int64_t n = (int64_t)served;
        o->p50_s = s_hist_quantile(hist, n, 0.50);
        o->p95_s = s_hist_quantile(hist, n, 0.95);
        o->p99_s = s_hist_quantile(hist, n, 0.99);
        o->mean_s = resp_sum / served;
        o->frac_over_slo = over / served;
    }
}

int rls_des_run(const struct rls_scenario *sc, const struct rls_des_timeline *tl,
                const struct rls_des_params *p, struct rls_des_result **out,
                struct rls_err *err)
{
    struct rls_des_result *res = NULL;
    int64_t *all = NULL;
    struct s_svc_run run;
    struct rls_des_params defp = rls_des_default_params();
    int rc = RLS_OK;
    memset(&run, 0, sizeof run);
    if (!out)
        return rls_err_set(err, RLS_ERR_INVALID, "des: no output pointer");
    *out = NULL;
    if (!sc || !tl || !tl->steps)
        return rls_err_set(err, RLS_ERR_INVALID, "des: no scenario or no timeline");
    if (!p)
        p = &defp;
    if (tl->n_services != sc->n_services)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "des: the timeline has %d services, scenario '%s' has %d",
                           (int)tl->n_services, sc->name, (int)sc->n_services);
    if (!(fabs(tl->step_s - sc->step_s) <= 1e-9 * sc->step_s))
        return rls_err_set(err, RLS_ERR_INVALID,
                           "des: the timeline's step is %g s, scenario '%s' has step_s %g s",
                           tl->step_s, sc->name, sc->step_s);
    if (p->arrivals != RLS_DES_ARRIVALS_POISSON && p->arrivals != RLS_DES_ARRIVALS_COUNTS)
        return rls_err_set(err, RLS_ERR_INVALID, "des: params.arrivals %d is not a rls_des_arrivals",
                           p->arrivals);
    res = calloc(1, sizeof *res);
    if (res)
        res->services = calloc((size_t)tl->n_services, sizeof *res->services);
    run.hist = malloc(S_NBINS * sizeof *run.hist);
    all = calloc(S_NBINS, sizeof *all);
    if (!res || !res->services || !run.hist || !all)
        goto nomem;
    res->n_services = tl->n_services;
    res->n_steps = tl->n_steps;
    if (p->per_step) {
        res->per_step = calloc((size_t)(tl->n_steps * tl->n_services), sizeof *res->per_step);
        if (!res->per_step)
            goto nomem;
    }
    double arrived = 0, served = 0, dropped = 0, over = 0, resp_sum = 0;
    for (int32_t i = 0; i < tl->n_services; i++) {
        memset(run.hist, 0, S_NBINS * sizeof *run.hist);
        run.per_step = res->per_step ? res->per_step + i : NULL;
        run.stride = tl->n_services;
        run.n_steps = tl->n_steps;
        rc = s_run_service(&sc->services[i], tl, i, p, &run, err);
        if (rc != RLS_OK)
            goto done;
        s_fill_summary(&res->services[i], run.hist, (double)run.arrived, (double)run.served,
                       (double)run.dropped, (double)run.over_slo, run.resp_sum);
        for (int32_t b = 0; b < S_NBINS; b++)
            all[b] += run.hist[b];
        arrived += (double)run.arrived;
        served += (double)run.served;
        dropped += (double)run.dropped;
        over += (double)run.over_slo;
        resp_sum += run.resp_sum;
        res->unfinished += run.queue.n;
    }
    s_fill_summary(&res->overall, all, arrived, served, dropped, over, resp_sum);
    *out = res;
    res = NULL;
    goto done;
nomem:
    rc = rls_err_set(err, RLS_ERR_NOMEM, "des: out of memory");
done:
    free(run.heap.t);
    free(run.queue.a);
    free(run.hist);
    free(all);
    rls_des_result_destroy(&res);
    return rc;
}

/* ---------------------------------------------------------------- comparison */

int rls_des_step_summary(const struct rls_des_timeline *tl, int32_t svc,
                         struct rls_des_summary *out, struct rls_err *err)
{
    struct rls_queue_dist *d = NULL;
    double *w = NULL;
    int rc = RLS_OK;
    if (!out || !tl || !tl->steps)
        return rls_err_set(err, RLS_ERR_INVALID, "des summary: no timeline or no output");
    memset(out, 0, sizeof *out);
    if (svc < -1 || svc >= tl->n_services)
        return rls_err_set(err, RLS_ERR_INVALID, "des summary: service %d out of range [0, %d)",
                           (int)svc, (int)tl->n_services);
    int32_t first = svc < 0 ? 0 : svc, last = svc < 0 ? tl->n_services - 1 : svc;
    int64_t n_max = tl->n_steps * (int64_t)(last - first + 1), n = 0;
    d = malloc((size_t)n_max * sizeof *d);
    w = malloc((size_t)n_max * sizeof *w);
    if (!d || !w) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "des summary: out of memory");
        goto done;
    }
    double over = 0.0, mean = 0.0;
    for (int64_t t = 0; t < tl->n_steps; t++) {
        for (int32_t i = first; i <= last; i++) {
            const struct rls_des_step *s = &tl->steps[t * tl->n_services + i];
            out->arrived += s->arrivals;
            out->dropped += s->dropped;
            if (!(s->served > 0.0))
                continue;
            out->served += s->served;
            over += s->served * s->frac_over_slo;
            mean += s->served * rls_queueing_mean(&s->dist);
            d[n] = s->dist;
            w[n] = s->served;
            n++;
        }
    }
    out->frac_dropped = out->arrived > 0.0 ? out->dropped / out->arrived : 0.0;
    if (out->served > 0.0) {
        out->frac_over_slo = over / out->served;
        out->mean_s = mean / out->served;
        out->p50_s = rls_queueing_mixture_quantile(d, w, n, 0.50);
        out->p95_s = rls_queueing_mixture_quantile(d, w, n, 0.95);
        out->p99_s = rls_queueing_mixture_quantile(d, w, n, 0.99);
    }
done:
    free(d);
    free(w);
    return rc;
}

struct rls_des_tolerance rls_des_default_tolerance(void)
{
    struct rls_des_tolerance t;
    t.p95_rel = 0.15;
    t.p95_abs_s = 0.005;
    t.viol_rel = 0.08;
    t.viol_abs = 0.004;
    t.drop_rel = 0.2;
    t.drop_abs = 0.003;
    return t;
}

static int s_close(double x, double y, double abs_tol, double rel_tol)
{
    return fabs(x - y) <= abs_tol + rel_tol * fabs(y);
}

int rls_des_agree(const struct rls_des_summary *step, const struct rls_des_summary *des,
                  const struct rls_des_tolerance *tol, char *why, size_t len)
{
    struct rls_des_tolerance deft = rls_des_default_tolerance();
    if (!tol)
        tol = &deft;
    int ok_p95 = s_close(step->p95_s, des->p95_s, tol->p95_abs_s, tol->p95_rel);
    int ok_viol = s_close(step->frac_over_slo, des->frac_over_slo, tol->viol_abs, tol->viol_rel);
    int ok_drop = s_close(step->frac_dropped, des->frac_dropped, tol->drop_abs, tol->drop_rel);
    if (why && len > 0)
        snprintf(why, len,
                 "p95 %.4f vs %.4f s %s; over SLO %.4f vs %.4f %s; dropped %.4f vs %.4f %s "
                 "(step model vs DES)",
                 step->p95_s, des->p95_s, ok_p95 ? "ok" : "DIFFERS", step->frac_over_slo,
                 des->frac_over_slo, ok_viol ? "ok" : "DIFFERS", step->frac_dropped,
                 des->frac_dropped, ok_drop ? "ok" : "DIFFERS");
    return ok_p95 && ok_viol && ok_drop;
}
