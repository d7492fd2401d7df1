/* hpa.h - the Kubernetes Horizontal Pod Autoscaler (autoscaling/v2, CPU
 * utilization target), as kube-controller-manager runs it
 * (pkg/controller/podautoscaler: replica_calculator.go GetResourceReplicas,
 * horizontal.go stabilizeRecommendationWithBehaviors and
 * convertDesiredReplicasWithBehaviorRate). One control step is one HPA sync
 * period. The pure pieces are exported so tests reproduce the documented
 * examples; docs/POLICIES.md maps every rule to its Kubernetes source.
 */
#ifndef RLS_HPA_H
#define RLS_HPA_H

#include <stdint.h>

#include "../env/hpa_manifest.h"
#include "../env/scenario.h"
#include "../env/status.h"
#include "policy.h"

struct rls_hpa_params {
    double target_utilization;  /* target average CPU utilization, 0..1 (0.7) */
    double tolerance;           /* no scaling while |ratio-1| <= this (0.1) */
    double scale_up_window_s;   /* scale-up stabilization window, s (0) */
    double scale_down_window_s; /* scale-down stabilization window, s (300) */
    int32_t scale_up_pods;      /* Pods policy: add at most this many per period (4) */
    double scale_up_percent;    /* Percent policy: add at most this % per period (100) */
    double scale_up_period_s;   /* (15) */
    int32_t scale_down_pods;    /* Pods policy for scale-down, 0 = none (0) */
    double scale_down_percent;  /* remove at most this % per period (100) */
    double scale_down_period_s; /* (15) */
    int32_t scale_up_select;    /* enum rls_hpa_select (env/hpa_manifest.h): Max = the
                                   policy allowing the largest change, Min = the smallest,
                                   Disabled = never scale up (RLS_HPA_SELECT_MAX) */
    int32_t scale_down_select;  /* the same for scale-down (RLS_HPA_SELECT_MAX) */
};

/* The Kubernetes defaults (HPA v2 defaulted behavior, 70% CPU target). */
struct rls_hpa_params rls_hpa_default_params(void);

/* An HPA policy for scenario sc (one independent HPA per service, each with
 * the service's min/max replicas). p NULL = defaults, except that a service
 * carrying an autoscaling/v2 manifest (sc->services[i].hpa.present) runs the
 * manifest's parameters and min/maxReplicas (policies/hpa_manifest.h), on
 * every reset; explicit p always wins (hpa-tuned). Returns an owned handle
 * (rls_policy_destroy), or NULL with err naming the bad parameter (target
 * <= 0, tolerance < 0, window < 0, period <= 0, percent < 0, a manifest the
 * HPA cannot represent) or no memory. */
struct rls_policy *rls_hpa_new(const struct rls_hpa_params *p, const struct rls_scenario *sc,
                               struct rls_err *err);

/* Checks p. Returns RLS_OK or RLS_ERR_RANGE with err naming the field. */
int rls_hpa_params_check(const struct rls_hpa_params *p, struct rls_err *err);

/* ---- pure pieces (exported for tests and the tuner) ---- */

/* The pods of one scale target as groupPods() sorts them. */
struct rls_hpa_pods {
    int32_t ready;       /* Running and Ready, with a CPU sample */
    int32_t unready;     /* Running but not Ready (cold-starting) */
    int32_t pending;     /* phase Pending (unschedulable); grouped with the
                            unready ones, as groupPods() does */
    int32_t missing;     /* Running and Ready but without a CPU sample */
    double usage_m;      /* mean CPU usage of a ready pod with a sample, millicores */
    double request_m;    /* CPU request of one pod, millicores (> 0) */
};

/* ReplicaCalculator.GetResourceReplicas: the replicas the metric asks for,
 * given current = the target's spec.replicas. Utilization is an integer
 * percent (usage*100/request, truncated) against round(target*100), as in
 * metricsclient.GetResourceUtilizationRatio. Returns the proposal (>= 0), or
 * -1 where Kubernetes returns an error and does not scale (no ready pod with
 * a sample, NULL pods, request <= 0). */
int32_t rls_hpa_replicas_for_metric(int32_t current, const struct rls_hpa_pods *pods,
                                    double target_utilization, double tolerance);

/* The per-target memory of the controller: recommendations and scale events
 * with their timestamps. Owned; rls_hpa_scaler_destroy. */
struct rls_hpa_scaler;

/* Returns an owned scaler for one target with replicas in [min, max], or NULL
 * on no memory / NULL p. p is copied. */
struct rls_hpa_scaler *rls_hpa_scaler_new(const struct rls_hpa_params *p, int32_t min_replicas,
                                          int32_t max_replicas);
/* Frees *s and sets it to NULL; NULL is a no-op. */
void rls_hpa_scaler_destroy(struct rls_hpa_scaler **s);
/* Forgets every recommendation and scale event. */
void rls_hpa_scaler_reset(struct rls_hpa_scaler *s);

/* stabilizeRecommendationWithBehaviors: records `desired` at now_s and
 * returns current raised to the min of the recommendations newer than the
 * scale-up window, then lowered to the max of those newer than the
 * scale-down window (both include this one). Returns -1 on no memory. */
int32_t rls_hpa_stabilize(struct rls_hpa_scaler *s, double now_s, int32_t current,
                          int32_t desired);

/* convertDesiredReplicasWithBehaviorRate: limits desired by the Pods/Percent
 * policies (selectPolicy Max: the larger change; Min: the smaller; Disabled:
 * no change in that direction) from the replicas at the start of each period
 * (current - added + deleted in the last period_s), and by max (scaling up) or
 * min (scaling down). Does not record anything. Returns the limited count. */
int32_t rls_hpa_rate_limit(const struct rls_hpa_scaler *s, double now_s, int32_t current,
                           int32_t desired);

/* storeScaleEvent: records the change prev -> next at now_s (nothing when
 * equal). Returns RLS_OK or RLS_ERR_NOMEM. */
int rls_hpa_record_scale(struct rls_hpa_scaler *s, double now_s, int32_t prev, int32_t next);

/* One sync of reconcileAutoscaler for a metric proposal: the first call
 * records current as the initial recommendation; current above max / below
 * min goes to max / min; otherwise stabilize then rate-limit. The scale event
 * is recorded when the result differs from current. Returns the new
 * spec.replicas, or -1 on no memory. */
int32_t rls_hpa_normalize(struct rls_hpa_scaler *s, double now_s, int32_t current,
                          int32_t proposal);

/* rls_hpa_replicas_for_metric then rls_hpa_normalize; when the calculator
 * fails (-1) the target keeps current, as Kubernetes does. Returns the new
 * spec.replicas, or -1 on no memory. */
int32_t rls_hpa_reconcile(struct rls_hpa_scaler *s, double now_s, int32_t current,
                          const struct rls_hpa_pods *pods);

#endif
