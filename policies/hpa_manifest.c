/* hpa_manifest.c - HPA parameters <-> autoscaling/v2 manifests, KPA
 * parameters -> Knative annotations (see hpa_manifest.h). */
#include "hpa_manifest.h"

#include <math.h>
#include <string.h>

/* One direction's rules onto (pods, percent, period, select). */
static int s_rules_to_params(const struct rls_hpa_rules *r, const char *dir, int32_t *pods,
                             double *percent, double *period_s, int32_t *select,
                             struct rls_err *err)
{
    int have_pods = 0, have_pct = 0;
    *pods = 0;
    *percent = 0.0;
    *select = r->select;
    if (r->n_policies < 1 || r->n_policies > RLS_HPA_MAX_POLICIES)
        return rls_err_set(err, RLS_ERR_INVALID, "field 'spec.behavior.%s.policies': must specify at least one policy", dir);
    *period_s = r->policies[0].period_s;
    for (int32_t i = 0; i < r->n_policies; i++) {
        const struct rls_hpa_scaling_policy *q = &r->policies[i];
        if (q->value <= 0 || q->period_s <= 0 || q->period_s > 1800)
            return rls_err_set(err, RLS_ERR_INVALID,
                               "field 'spec.behavior.%s.policies[%d]': value must be > 0 and "
                               "periodSeconds in [1, 1800]", dir, (int)i);
        if (q->period_s != r->policies[0].period_s)
            return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                               "field 'spec.behavior.%s.policies[%d].periodSeconds': %d differs from "
                               "policies[0]'s %d; not supported yet (the HPA here keeps one period "
                               "per direction)", dir, (int)i, (int)q->period_s,
                               (int)r->policies[0].period_s);
        if (q->type == RLS_HPA_POLICY_PODS) {
            if (have_pods++)
                return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                                   "field 'spec.behavior.%s.policies[%d]': a second Pods policy is "
                                   "not supported yet (one Pods and one Percent per direction)",
                                   dir, (int)i);
            *pods = q->value;
        } else if (q->type == RLS_HPA_POLICY_PERCENT) {
            if (have_pct++)
                return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                                   "field 'spec.behavior.%s.policies[%d]': a second Percent policy is "
                                   "not supported yet (one Pods and one Percent per direction)",
                                   dir, (int)i);
            *percent = q->value;
        } else {
            return rls_err_set(err, RLS_ERR_INVALID, "field 'spec.behavior.%s.policies[%d].type': "
                               "must be Pods or Percent", dir, (int)i);
        }
    }
    return RLS_OK;
}

int rls_hpa_params_from_spec(const struct rls_hpa_spec *s, struct rls_hpa_params *out,
                             struct rls_err *err)
{
    struct rls_hpa_params p = rls_hpa_default_params();
    int rc;
    if (s == NULL || out == NULL || !s->present)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa manifest: none given");
    if (s->target_utilization_pct < 1)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "field 'spec.metrics[0].resource.target.averageUtilization': must be > 0");
    p.target_utilization = s->target_utilization_pct / 100.0;
    p.scale_up_window_s = s->up.window_s;
    p.scale_down_window_s = s->down.window_s;
    rc = s_rules_to_params(&s->up, "scaleUp", &p.scale_up_pods, &p.scale_up_percent,
                           &p.scale_up_period_s, &p.scale_up_select, err);
    if (rc != RLS_OK)
        return rc;
    rc = s_rules_to_params(&s->down, "scaleDown", &p.scale_down_pods, &p.scale_down_percent,
                           &p.scale_down_period_s, &p.scale_down_select, err);
    if (rc != RLS_OK)
        return rc;
    *out = p;
    return RLS_OK;
}

static int s_whole(double v, double lo, double hi)
{
    return isfinite(v) && v == floor(v) && v >= lo && v <= hi;
}

static int s_params_to_rules(int32_t pods, double percent, double period_s, double window_s,
                             int32_t select, const char *dir, struct rls_hpa_rules *r,
                             struct rls_err *err)
{
    memset(r, 0, sizeof *r);
    if (!s_whole(window_s, 0, 3600))
        return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                           "hpa: %s stabilization window %g s is not a whole number in [0, 3600]", dir, window_s);
    if (!s_whole(period_s, 1, 1800))
        return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                           "hpa: %s period %g s is not a whole number in [1, 1800]", dir, period_s);
    if (percent > 0.0 && !s_whole(percent, 1, INT32_MAX))
        return rls_err_set(err, RLS_ERR_UNSUPPORTED, "hpa: %s percent %g is not a whole number", dir,
                           percent);
    r->window_s = (int32_t)window_s;
    r->select = select;
    if (percent > 0.0)
        r->policies[r->n_policies++] =
            (struct rls_hpa_scaling_policy){RLS_HPA_POLICY_PERCENT, (int32_t)percent, (int32_t)period_s};
    if (pods > 0)
        r->policies[r->n_policies++] =
            (struct rls_hpa_scaling_policy){RLS_HPA_POLICY_PODS, pods, (int32_t)period_s};
    if (r->n_policies == 0) {
        /* no policy allows any change: Disabled says the same in a manifest */
        r->select = RLS_HPA_SELECT_DISABLED;
        r->policies[r->n_policies++] =
            (struct rls_hpa_scaling_policy){RLS_HPA_POLICY_PODS, 1, (int32_t)period_s};
    }
    return RLS_OK;
}

int rls_hpa_spec_from_params(const struct rls_hpa_params *p, const char *target,
                             int32_t min_replicas, int32_t max_replicas,
                             struct rls_hpa_spec *out, struct rls_err *err)
{
    int rc;
    if (p == NULL || target == NULL || out == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa: NULL argument");
    if ((rc = rls_hpa_params_check(p, err)) != RLS_OK)
        return rc;
    if (p->tolerance != 0.1)
        return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                           "hpa: tolerance %g: a manifest keeps the controller's 0.1", p->tolerance);
    double pct = p->target_utilization * 100.0;
    if (fabs(pct - floor(pct + 0.5)) > 1e-9 || pct < 1.0)
        return rls_err_set(err, RLS_ERR_UNSUPPORTED,
                           "hpa: target_utilization %g is not a whole percent", p->target_utilization);
    if (strlen(target) >= RLS_HPA_SPEC_NAME_MAX || min_replicas < 0 || max_replicas < 1 ||
        min_replicas > max_replicas)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa: bad target '%s' or replicas [%d, %d]", target,
                           (int)min_replicas, (int)max_replicas);
    rls_hpa_spec_defaults(out);
    snprintf(out->target, sizeof out->target, "%s", target);
    out->min_replicas = min_replicas;
    out->max_replicas = max_replicas;
    out->target_utilization_pct = (int32_t)floor(pct + 0.5);
    rc = s_params_to_rules(p->scale_up_pods, p->scale_up_percent, p->scale_up_period_s,
                           p->scale_up_window_s, p->scale_up_select, "scale-up", &out->up, err);
    if (rc == RLS_OK)
        rc = s_params_to_rules(p->scale_down_pods, p->scale_down_percent, p->scale_down_period_s,
                               p->scale_down_window_s, p->scale_down_select, "scale-down",
                               &out->down, err);
    return rc;
}

int rls_hpa_manifest_write_scenario(const struct rls_hpa_params *p, const struct rls_scenario *sc,
                                    FILE *f, struct rls_err *err)
{
    if (p == NULL || sc == NULL || f == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa manifest: NULL argument");
    fprintf(f, "# autoscaling/v2 HorizontalPodAutoscalers for scenario '%s' (rlsched); "
               "kubectl apply -f this file\n", sc->name);
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *sv = &sc->services[i];
        struct rls_hpa_spec s;
        int rc = rls_hpa_spec_from_params(p, sv->name, sv->min_replicas, sv->max_replicas, &s, err);
        if (rc != RLS_OK)
            return rc;
        if (i > 0)
            fputs("---\n", f);
        if (rls_hpa_manifest_write(&s, 0, f) != RLS_OK)
            return rls_err_set(err, RLS_ERR_IO, "hpa manifest: write error");
    }
    return ferror(f) ? rls_err_set(err, RLS_ERR_IO, "hpa manifest: write error") : RLS_OK;
}

int rls_kpa_annotations_write(const struct rls_kpa_params *p, const struct rls_scenario *sc, FILE *f)
{
    if (p == NULL || sc == NULL || f == NULL)
        return RLS_ERR_INVALID;
    fprintf(f, "# Knative Serving annotations (spec.template.metadata.annotations) of the KPA\n"
               "# cluster-wide (config-autoscaler): max-scale-up-rate: \"%g\", "
               "max-scale-down-rate: \"%g\"\n", p->max_scale_up_rate, p->max_scale_down_rate);
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *sv = &sc->services[i];
        fprintf(f, "- service: \"%s\"\n  annotations:\n", sv->name);
        fprintf(f, "    autoscaling.knative.dev/class: \"kpa.autoscaling.knative.dev\"\n");
        fprintf(f, "    autoscaling.knative.dev/metric: \"rps\"\n");
        fprintf(f, "    autoscaling.knative.dev/target: \"%g\"\n", sv->capacity_rps);
        fprintf(f, "    autoscaling.knative.dev/target-utilization-percentage: \"%g\"\n",
                p->target_utilization * 100.0);
        fprintf(f, "    autoscaling.knative.dev/window: \"%gs\"\n", p->stable_window_s);
        fprintf(f, "    autoscaling.knative.dev/panic-window-percentage: \"%.1f\"\n", p->panic_window_pct);
        fprintf(f, "    autoscaling.knative.dev/panic-threshold-percentage: \"%.1f\"\n",
                p->panic_threshold_pct);
        fprintf(f, "    autoscaling.knative.dev/min-scale: \"%d\"\n    autoscaling.knative.dev/max-scale: \"%d\"\n",
                (int)sv->min_replicas, (int)sv->max_replicas);
    }
    return ferror(f) ? RLS_ERR_IO : RLS_OK;
}
