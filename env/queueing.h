/* queueing.h - the latency model of the fast step simulator.
 *
 * A service with r ready replicas is an M/M/m queue with m = r * k servers,
 * k = round(capacity_rps * service_time_ms / 1000) (>= 1) concurrent requests
 * per replica, each server of rate mu = capacity_rps / k requests/s. A
 * request's response time is T = W + S without a backlog: W the M/M/m
 * waiting time (0 with probability 1 - C, Exp(theta) with probability C, C
 * the Erlang C formula, theta = m*mu - lambda) and S ~ Exp(mu) the service
 * time. A fraction p_shift of the step's requests meets a backlog carried
 * from earlier steps instead: T = U + S with U uniform over the backlog's
 * linear drain [shift_s, shift_s + shift_span_s] (the backlog is their wait). Everything here is
 * closed form, so the step model stays cheap; env/des.c checks it against a
 * request-level simulation.
 */
#ifndef RLS_QUEUEING_H
#define RLS_QUEUEING_H

#include <stdint.h>

#include "scenario.h"

/* Response-time distribution of one service over one step. */
struct rls_queue_dist {
    double p_wait;   /* probability an undelayed request waits for a server (Erlang C), 0..1 */
    double theta;    /* rate of the waiting time when it waits, 1/s (> 0) */
    double mu;       /* service rate of one server, 1/s (> 0) */
    double p_shift;  /* fraction of requests delayed by the backlog, 0..1 */
    double shift_s;  /* shortest backlog delay, s (>= 0) */
    double shift_span_s; /* the backlog delay is uniform on [shift_s, shift_s + span], s (>= 0) */
};

/* Concurrent requests per replica, k >= 1, for a service. */
int32_t rls_queueing_servers_per_replica(const struct rls_service_spec *s);

/* Erlang C: probability of waiting in M/M/m with offered load a = lambda/mu
 * (< m). Returns 0 when a <= 0 (no load: nobody waits, whatever m); 1 when
 * a >= m or m <= 0 with a > 0 (no servers, or saturated: everyone waits);
 * 0 when Erlang B underflows (many servers, light load); else in [0, 1]. */
double rls_queueing_erlang_c(int32_t m, double a);

/* Fills d for arrival rate lambda (1/s), m servers of rate mu (1/s) and a
 * deterministic delay shift_s for every request (0: plain M/M/m).
 * Utilization above rho_max (0.98) is clipped: overload shows as backlog
 * (rls_queueing_dist_step). With m == 0, every request waits "forever"
 * (p_wait 1, theta tiny). */
void rls_queueing_dist(double lambda, int32_t m, double mu, double shift_s,
                       struct rls_queue_dist *d);

/* The distribution of one simulator step: arrival rate lambda (1/s), m
 * servers of rate mu, the backlog b0 at the start and b1 at the end of the
 * step (requests), drain_rps the ready capacity (requests/s), dt the step (s).
 * b1 > 0: the backlog lasts the whole step, every request waits for it,
 * uniformly between b0/drain and b1/drain. b0 > 0 = b1: only the requests of
 * the first b0/(drain - lambda) seconds meet it (uniform on [0, b0/drain]),
 * the rest see M/M/m. No backlog: M/M/m. */
void rls_queueing_dist_step(double lambda, int32_t m, double mu, double b0, double b1,
                            double drain_rps, double dt, struct rls_queue_dist *d);

/* P(T > t_s), the fraction of requests with response time above t_s seconds. */
double rls_queueing_ccdf(const struct rls_queue_dist *d, double t_s);

/* The p-quantile (0 < p < 1) of T in seconds (bisection on the ccdf, 1e-7 relative). */
double rls_queueing_quantile(const struct rls_queue_dist *d, double p);

/* The same to a relative tolerance rel_tol (e.g. 1e-4 for float32 features:
 * about half the bisection steps). */
double rls_queueing_quantile_tol(const struct rls_queue_dist *d, double p, double rel_tol);

/* The p-quantile of a mixture: n distributions with weights w (request counts).
 * Returns seconds; 0 if the weights sum to 0. */
double rls_queueing_mixture_quantile(const struct rls_queue_dist *d, const double *w,
                                     int64_t n, double p);

/* Mean response time, seconds. */
double rls_queueing_mean(const struct rls_queue_dist *d);

/* The fewest ready replicas that serve rate_rps in steady state with the
 * fraction over the SLO at most 1 - slo_percentile (no backlog): the
 * "demanded replicas" of the elasticity metrics and of the oracle. Not capped
 * by max_replicas; 0 when rate_rps <= 0. */
int32_t rls_queueing_demand(const struct rls_service_spec *s, double rate_rps);

#endif
