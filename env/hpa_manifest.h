/* hpa_manifest.h - a Kubernetes autoscaling/v2 HorizontalPodAutoscaler as
 * plain data, read from and written as YAML (libyaml), with Kubernetes'
 * defaults for absent fields. A scenario's service may carry one (`hpa:` in
 * the service, embedded or a path); `rlsched eval --hpa-manifest FILE`
 * attaches manifests to services by scaleTargetRef.name. The mapping onto the
 * simulator's HPA (policies/hpa_manifest.h) is in docs/POLICIES.md.
 *
 * Only what the simulator can run is accepted: one Resource cpu metric with a
 * Utilization target; any other metric, an unknown field or a bad value is
 * refused with one line naming the field.
 */
#ifndef RLS_HPA_MANIFEST_H
#define RLS_HPA_MANIFEST_H

#include <stdint.h>
#include <stdio.h>

#include "status.h"

#define RLS_HPA_SPEC_NAME_MAX 64
#define RLS_HPA_SPEC_PATH_MAX 512
#define RLS_HPA_MAX_POLICIES 8   /* scaling policies per direction */
#define RLS_HPA_MAX_DOCS 4096    /* documents in one manifest file */

/* behavior.scaleUp/scaleDown.selectPolicy */
enum rls_hpa_select {
    RLS_HPA_SELECT_MAX = 0,      /* the policy allowing the largest change (default) */
    RLS_HPA_SELECT_MIN = 1,      /* the policy allowing the smallest change */
    RLS_HPA_SELECT_DISABLED = 2, /* no scaling in this direction */
};

/* behavior.*.policies[].type */
enum rls_hpa_policy_type {
    RLS_HPA_POLICY_PODS = 0,
    RLS_HPA_POLICY_PERCENT = 1,
};

struct rls_hpa_scaling_policy {
    int32_t type;        /* enum rls_hpa_policy_type */
    int32_t value;       /* pods or percent per period, > 0 */
    int32_t period_s;    /* periodSeconds, 1..1800 */
};

/* behavior.scaleUp or behavior.scaleDown */
struct rls_hpa_rules {
    int32_t window_s;    /* stabilizationWindowSeconds, 0..3600 */
    int32_t select;      /* enum rls_hpa_select */
    int32_t n_policies;  /* 1..RLS_HPA_MAX_POLICIES */
    struct rls_hpa_scaling_policy policies[RLS_HPA_MAX_POLICIES];
};

struct rls_hpa_spec {
    int32_t present;                       /* 0: no manifest (every other field unused) */
    char name[RLS_HPA_SPEC_NAME_MAX];      /* metadata.name ("" none) */
    char target[RLS_HPA_SPEC_NAME_MAX];    /* spec.scaleTargetRef.name */
    char target_kind[RLS_HPA_SPEC_NAME_MAX]; /* spec.scaleTargetRef.kind ("Deployment") */
    int32_t min_replicas;                  /* spec.minReplicas (1) */
    int32_t max_replicas;                  /* spec.maxReplicas (required) */
    int32_t target_utilization_pct;        /* the cpu averageUtilization, % (80) */
    struct rls_hpa_rules up;               /* behavior.scaleUp (0 s, Max, 100%/15s + 4 pods/15s) */
    struct rls_hpa_rules down;             /* behavior.scaleDown (300 s, Max, 100%/15s) */
};

/* Fills *s with Kubernetes' defaults (present 1, minReplicas 1, maxReplicas 0
 * = not given, 80% CPU, the default behavior). */
void rls_hpa_spec_defaults(struct rls_hpa_spec *s);

/* Parses YAML text holding one or more HorizontalPodAutoscaler documents
 * ("---"-separated). `name` is used in messages. Fills specs[0..*n) (at most
 * cap). Returns RLS_OK, or RLS_ERR_PARSE / RLS_ERR_RANGE / RLS_ERR_UNSUPPORTED
 * with err as "NAME:LINE: field 'spec.maxReplicas': ..." (one line). */
int rls_hpa_manifest_parse(const char *yaml, size_t len, const char *name,
                           struct rls_hpa_spec *specs, int32_t cap, int32_t *n,
                           struct rls_err *err);

/* Reads a file (a regular file; a device or FIFO is refused) with
 * rls_hpa_manifest_parse. Same returns, plus RLS_ERR_IO when unreadable. */
int rls_hpa_manifest_load(const char *path, struct rls_hpa_spec *specs, int32_t cap,
                          int32_t *n, struct rls_err *err);

/* Writes s as one manifest document (apiVersion .. spec, every behavior
 * field explicit), each line prefixed by `indent` spaces; metadata.name is
 * s->name, or s->target when empty. Returns RLS_OK or RLS_ERR_IO /
 * RLS_ERR_INVALID (NULL, not present). */
int rls_hpa_manifest_write(const struct rls_hpa_spec *s, int indent, FILE *f);

/* "Max", "Min", "Disabled" / "Pods", "Percent" (static; "?" otherwise). */
const char *rls_hpa_select_name(int32_t select);
const char *rls_hpa_policy_type_name(int32_t type);

/* ---- internal: the scenario reader (env/scenario_yaml.c) ---- */
struct yaml_document_s;
struct yaml_node_s;
/* Reads a manifest mapping node of doc into *out (defaults first); messages
 * name `file` and fields prefixed by `prefix` ("services[0].hpa."). */
int rls__hpa_spec_from_node(struct yaml_document_s *doc, struct yaml_node_s *node,
                            const char *file, const char *prefix, struct rls_hpa_spec *out,
                            struct rls_err *err);

#endif
