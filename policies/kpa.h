/* kpa.h - the Knative Pod Autoscaler (KPA) on requests per second, as
 * knative.dev/serving pkg/autoscaler/scaling/autoscaler.go Scale() computes
 * it: stable and panic windows, the panic threshold, max scale-up/down
 * rates, no scale-down while panicking. One decision per control step (the
 * real KPA ticks every 2 s; see docs/POLICIES.md for what 15 s sampling
 * changes).
 */
#ifndef RLS_KPA_H
#define RLS_KPA_H

#include "../env/scenario.h"
#include "../env/status.h"
#include "policy.h"

struct rls_kpa_params {
    double target_utilization;  /* target-utilization-percentage / 100: per-pod target =
                                   capacity_rps * this, requests/s per pod (0.7) */
    double stable_window_s;     /* stable window, s (60) */
    double panic_window_pct;    /* panic window as % of the stable window (10 -> 6 s) */
    double panic_threshold_pct; /* panic when desired(panic) / ready >= this / 100 (200) */
    double max_scale_up_rate;   /* desired <= ceil(rate * ready) (1000) */
    double max_scale_down_rate; /* desired >= floor(ready / rate) (2) */
};

/* Knative's defaults (config-autoscaler). */
struct rls_kpa_params rls_kpa_default_params(void);

/* A KPA per service of scenario sc. p NULL = defaults. Returns an owned
 * handle (rls_policy_destroy), or NULL with err naming the bad parameter
 * (anything <= 0, a scale-down rate <= 1, a panic window over 100%) or no memory. */
struct rls_policy *rls_kpa_new(const struct rls_kpa_params *p, const struct rls_scenario *sc,
                               struct rls_err *err);

#endif
