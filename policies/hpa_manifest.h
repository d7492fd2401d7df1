/* hpa_manifest.h - the simulator's HPA parameters (policies/hpa.h) to and
 * from an autoscaling/v2 HorizontalPodAutoscaler (env/hpa_manifest.h), and
 * the KPA's parameters as Knative annotations. The field table is in
 * docs/POLICIES.md ("HPA manifests").
 */
#ifndef RLS_POLICIES_HPA_MANIFEST_H
#define RLS_POLICIES_HPA_MANIFEST_H

#include <stdio.h>

#include "../env/hpa_manifest.h"
#include "../env/scenario.h"
#include "../env/status.h"
#include "hpa.h"
#include "kpa.h"

/* Maps a manifest onto HPA parameters (tolerance 0.1, the controller's).
 * Per direction the HPA keeps at most one Pods and one Percent policy with
 * one shared periodSeconds; anything else is refused. Returns RLS_OK, or
 * RLS_ERR_UNSUPPORTED / RLS_ERR_INVALID with err naming the field
 * ("behavior.scaleUp.policies[1].periodSeconds: ..."). */
int rls_hpa_params_from_spec(const struct rls_hpa_spec *s, struct rls_hpa_params *out,
                             struct rls_err *err);

/* The manifest of p for the Deployment `target` with replicas in [min, max]
 * (every behavior field explicit). Returns RLS_OK, or RLS_ERR_UNSUPPORTED with
 * err naming the parameter a manifest cannot say (a tolerance other than 0.1,
 * a non-integer window, period or percent, a target not a whole percent). */
int rls_hpa_spec_from_params(const struct rls_hpa_params *p, const char *target,
                             int32_t min_replicas, int32_t max_replicas,
                             struct rls_hpa_spec *out, struct rls_err *err);

/* Writes one manifest per service of sc running p with the service's
 * min/max_replicas, "---"-separated: what `rlsched eval --hpa-manifest`
 * reads back to the same decisions. Returns RLS_OK or the status of
 * rls_hpa_spec_from_params / RLS_ERR_IO with err. */
int rls_hpa_manifest_write_scenario(const struct rls_hpa_params *p, const struct rls_scenario *sc,
                                    FILE *f, struct rls_err *err);

/* Writes, per service of sc, the Knative Serving annotations of KPA p
 * (autoscaling.knative.dev/class, metric rps, target = capacity_rps, with
 * target-utilization-percentage = target_utilization * 100 the per-pod rate
 * Knative aims at is the KPA's capacity_rps * target_utilization; window,
 * panic-window-percentage, panic-threshold-percentage) as a YAML list; the
 * scale rates are cluster-wide (config-autoscaler) and written as comments.
 * Returns RLS_OK, RLS_ERR_INVALID (NULL) or RLS_ERR_IO. */
int rls_kpa_annotations_write(const struct rls_kpa_params *p, const struct rls_scenario *sc, FILE *f);

#endif
