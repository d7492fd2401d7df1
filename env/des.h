/* des.h - a request-level discrete-event simulation (DES) of a scenario's
 * services, the yardstick of the fast step model (env/sim.h, env/queueing.h).
 *
 * The DES replays a *timeline* recorded from a step-model run: per step and
 * service the load rate and the ready replicas. Each service is then a FIFO
 * queue in front of m = ready * k servers (k = rls_queueing_servers_per_replica,
 * each server of rate mu = capacity_rps / k, service times Exp(mu)); requests
 * arrive as a Poisson process at the step's rate (piecewise constant), an
 * arrival that finds queue_limit requests waiting is dropped, and the queue
 * is carried across steps. When the ready replicas drop at a step boundary,
 * requests in service finish but no new request starts until fewer than the
 * new m are busy; new replicas serve from the boundary on. Every request's
 * response time (wait + service) is recorded in a log-spaced histogram of
 * 0.2% relative resolution, so quantiles are exact to about 0.1%.
 *
 * The step model's own aggregate over the same timeline (p95 of the
 * served-weighted mixture of its per-step distributions, served-weighted
 * fraction over the SLO, dropped / arrived) comes from rls_des_step_summary,
 * and rls_des_agree compares the two within a stated tolerance (docs/DES.md).
 *
 * Everything is deterministic given (scenario, timeline, params.seed).
 */
#ifndef RLS_DES_H
#define RLS_DES_H

#include <stddef.h>
#include <stdint.h>

#include "queueing.h"
#include "scenario.h"
#include "sim.h"
#include "status.h"

/* ---------------------------------------------------------------- timeline */

/* One service over one step: what the DES replays (rate_rps, arrivals, ready)
 * and what the step model concluded (the rest). */
struct rls_des_step {
    double rate_rps;        /* the load's rate this step before noise, requests/s */
    double arrivals;        /* the step model's arrivals this step, requests (real-valued) */
    int32_t ready;          /* ready replicas serving this step */
    double served;          /* step model: requests served this step */
    double dropped;         /* step model: requests dropped this step */
    double backlog;         /* step model: requests queued at the end of the step */
    double frac_over_slo;   /* step model: fraction of served requests over the SLO, 0..1 */
    struct rls_queue_dist dist;  /* step model: response-time distribution of the step */
};

/* A recorded run. Plain data: read and write the fields; allocate and free it
 * with rls_des_timeline_new / rls_des_timeline_destroy. */
struct rls_des_timeline {
    int32_t n_services;
    int64_t n_steps;
    double step_s;                  /* seconds per step (> 0) */
    struct rls_des_step *steps;     /* [n_steps * n_services], step-major: steps[t * n_services + i] */
};

/* Allocates a zero-filled timeline. Caller owns it (rls_des_timeline_destroy).
 * NULL on no memory or non-positive sizes. */
struct rls_des_timeline *rls_des_timeline_new(int32_t n_services, int64_t n_steps, double step_s);

/* Frees *tl and sets it to NULL; NULL or *tl == NULL is a no-op. */
void rls_des_timeline_destroy(struct rls_des_timeline **tl);

/* A controller for rls_des_record: before every step it sees the simulator
 * (rls_sim_services gives the state after the previous step, or the reset
 * state before the first) and overwrites desired[n_services], which holds
 * each service's current target on entry. Returns RLS_OK or a negative
 * status, which stops the recording. */
typedef int (*rls_des_controller_fn)(void *user, const struct rls_sim *sim, int32_t *desired);

/* Runs the step model on sc for sc->horizon_steps steps from rls_sim_reset(seed),
 * asking ctl for the desired replicas before each step (spread placement),
 * and records the timeline. On success stores a new timeline in *out (caller
 * owns it) and returns RLS_OK. On failure returns the simulator's or the
 * controller's negative status with err set, and leaves *out NULL. */
int rls_des_record(const struct rls_scenario *sc, uint64_t seed, rls_des_controller_fn ctl,
                   void *user, struct rls_des_timeline **out, struct rls_err *err);

/* ---------------------------------------------------------------- DES */

/* How the DES draws arrivals. */
enum rls_des_arrivals {
    RLS_DES_ARRIVALS_POISSON = 0,  /* a Poisson process at each step's rate_rps (independent noise) */
    RLS_DES_ARRIVALS_COUNTS = 1,   /* the step model's arrival count of each step (rounded at
                                      random), placed uniformly at random in the step */
};

struct rls_des_params {
    uint64_t seed;          /* random stream of arrivals and service times (1) */
    int arrivals;           /* enum rls_des_arrivals (POISSON) */
    int per_step;           /* 1: fill rls_des_result.per_step (0) */
};

/* Returns the defaults listed above. */
struct rls_des_params rls_des_default_params(void);

/* Aggregate figures of one service or of all services (either model). */
struct rls_des_summary {
    double arrived;         /* requests that arrived */
    double served;          /* requests that started service within the horizon */
    double dropped;         /* requests refused at a full queue */
    double p50_s, p95_s, p99_s;  /* response-time quantiles of served requests, seconds */
    double mean_s;          /* mean response time of served requests, seconds */
    double frac_over_slo;   /* served requests slower than their service's SLO / served, 0..1 */
    double frac_dropped;    /* dropped / arrived, 0..1 (0 when nothing arrived) */
};

/* Per step and service counts of the DES, by the step a request arrived in. */
struct rls_des_step_stats {
    int64_t arrived;
    int64_t served;
    int64_t dropped;
    int64_t over_slo;       /* served and slower than the SLO */
    double resp_sum_s;      /* sum of the served requests' response times, seconds */
};

struct rls_des_result {
    int32_t n_services;
    int64_t n_steps;
    struct rls_des_summary *services;  /* [n_services] */
    struct rls_des_summary overall;    /* all services' requests pooled */
    int64_t unfinished;     /* requests still waiting at the end of the horizon (neither served nor dropped) */
    struct rls_des_step_stats *per_step;  /* [n_steps * n_services] step-major, or NULL unless params.per_step */
};

/* Simulates every service of sc request by request over the timeline tl
 * (recorded on sc: same service count and step). p NULL means the defaults.
 * On success stores a new result in *out (caller owns it,
 * rls_des_result_destroy) and returns RLS_OK. Returns RLS_ERR_INVALID with
 * err naming the mismatch (service count, step length, a negative rate) or
 * RLS_ERR_NOMEM; *out stays NULL then. Memory: a histogram of ~170 KB per
 * service plus the queue (grows to queue_limit), no allocation per request. */
int rls_des_run(const struct rls_scenario *sc, const struct rls_des_timeline *tl,
                const struct rls_des_params *p, struct rls_des_result **out,
                struct rls_err *err);

/* Frees *r and sets it to NULL; NULL or *r == NULL is a no-op. */
void rls_des_result_destroy(struct rls_des_result **r);

/* ---------------------------------------------------------------- comparison */

/* The step model's aggregate over the timeline, comparable with the DES:
 * quantiles and mean of the mixture of the per-step distributions weighted
 * by served requests (rls_queueing_mixture_quantile), frac_over_slo =
 * sum(served * frac_over_slo) / sum(served), frac_dropped = dropped /
 * arrived. svc is a service index, or -1 for all services pooled. Returns
 * RLS_OK, RLS_ERR_INVALID (bad svc or timeline) or RLS_ERR_NOMEM, with err set. */
int rls_des_step_summary(const struct rls_des_timeline *tl, int32_t svc,
                         struct rls_des_summary *out, struct rls_err *err);

/* How far the step model may be from the DES. A figure x (step model) agrees
 * with y (DES) when |x - y| <= abs + rel * y. */
struct rls_des_tolerance {
    double p95_rel;         /* relative p95 tolerance (0.15) */
    double p95_abs_s;       /* absolute p95 tolerance, seconds (0.005) */
    double viol_rel;        /* relative tolerance on the fraction over the SLO (0.08) */
    double viol_abs;        /* absolute tolerance on the fraction over the SLO (0.004) */
    double drop_rel;        /* relative tolerance on the dropped fraction (0.2) */
    double drop_abs;        /* absolute tolerance on the dropped fraction (0.003) */
};

/* Returns the tolerance documented in docs/DES.md (values above). */
struct rls_des_tolerance rls_des_default_tolerance(void);

/* Compares a step-model summary with a DES summary. Returns 1 when p95, the
 * fraction over the SLO and the dropped fraction all agree within tol, 0 when
 * not; why (when not NULL, len > 0) receives a one-line account of every
 * figure ("p95 0.112 vs 0.104 s ok; viol 0.031 vs 0.029 ok; ..."). */
int rls_des_agree(const struct rls_des_summary *step, const struct rls_des_summary *des,
                  const struct rls_des_tolerance *tol, char *why, size_t len);

#endif
