/* hpa_manifest.c - autoscaling/v2 HorizontalPodAutoscaler YAML to and from
 * struct rls_hpa_spec (see hpa_manifest.h). Kubernetes' defaulting
 * (SetDefaults_HorizontalPodAutoscaler, GenerateHPAScaleUpRules/ScaleDownRules)
 * fills absent fields; its validation rules (ValidateHorizontalPodAutoscaler)
 * refuse bad values; what the simulator cannot run is refused by name.
 */
#include "hpa_manifest.h"
#include "scenario.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define S_MAX_BYTES (1 << 20)

struct s_ctx {
    yaml_document_t *doc;
    const char *file;
    const char *prefix;     /* "" or "services[0].hpa." */
    struct rls_err *err;
};

static int s_line(const yaml_node_t *n)
{
    return n != NULL ? (int)n->start_mark.line + 1 : 1;
}

static int s_fail(struct s_ctx *c, int status, const yaml_node_t *n, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "FILE:LINE: field 'PREFIXfield': what" */
static int s_fail(struct s_ctx *c, int status, const yaml_node_t *n, const char *field,
                  const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rls_err_set(c->err, status, "%s:%d: field '%s%s': %s", c->file, s_line(n), c->prefix,
                       field, what);
}

static yaml_node_t *s_node(struct s_ctx *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

static const char *s_kind(const yaml_node_t *n)
{
    if (n == NULL)
        return "nothing";
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    return "a scalar";
}

static int s_want_map(struct s_ctx *c, const yaml_node_t *n, const char *field)
{
    if (n == NULL || n->type != YAML_MAPPING_NODE)
        return s_fail(c, RLS_ERR_PARSE, n, field, "expected a mapping, got %s", s_kind(n));
    return RLS_OK;
}

/* A scalar's text, or NULL after setting the error. */
static const char *s_text(struct s_ctx *c, const yaml_node_t *n, const char *field)
{
    if (n == NULL || n->type != YAML_SCALAR_NODE) {
        s_fail(c, RLS_ERR_PARSE, n, field, "expected a scalar, got %s", s_kind(n));
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

/* A plain (unquoted) whole number in [lo, hi], as Kubernetes' int32 fields. */
static int s_int(struct s_ctx *c, const yaml_node_t *n, const char *field, int64_t lo, int64_t hi,
                 int32_t *out)
{
    const char *t = s_text(c, n, field);
    char *end = NULL;
    if (t == NULL)
        return c->err ? c->err->status : RLS_ERR_PARSE;
    if (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
        n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
        return s_fail(c, RLS_ERR_PARSE, n, field, "'%.40s' is a string, expected an integer", t);
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (t[0] == '\0' || end == t || *end != '\0' || errno != 0)
        return s_fail(c, RLS_ERR_PARSE, n, field, "'%.40s' is not an integer", t);
    if (v < lo || v > hi)
        return s_fail(c, RLS_ERR_RANGE, n, field, "%lld must be in [%lld, %lld]", v, (long long)lo,
                      (long long)hi);
    *out = (int32_t)v;
    return RLS_OK;
}

static int s_copy(struct s_ctx *c, const yaml_node_t *n, const char *field, char *out, size_t cap)
{
    const char *t = s_text(c, n, field);
    if (t == NULL)
        return c->err ? c->err->status : RLS_ERR_PARSE;
    if (strlen(t) >= cap)
        return s_fail(c, RLS_ERR_RANGE, n, field, "longer than %zu characters", cap - 1);
    for (const char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20)
            return s_fail(c, RLS_ERR_PARSE, n, field, "control character in the text");
    memcpy(out, t, strlen(t) + 1);
    return RLS_OK;
}

/* Iteration over a mapping: each key must be a plain scalar and given once
 * (checked against `keys`, NULL-terminated); *seen gets a bit per key. */
typedef int (*s_field_fn)(struct s_ctx *c, const char *key, yaml_node_t *val, const char *path,
                          void *dst);

static int s_walk(struct s_ctx *c, yaml_node_t *map, const char *field, const char *const *keys,
                  const char *known, s_field_fn fn, void *dst)
{
    uint32_t seen = 0;
    int rc = s_want_map(c, map, field);
    if (rc != RLS_OK)
        return rc;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = s_node(c, p->key), *v = s_node(c, p->value);
        char path[256];
        int idx = -1;
        if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
            return s_fail(c, RLS_ERR_PARSE, k, field, "a key must be a plain name");
        const char *key = (const char *)k->data.scalar.value;
        for (int i = 0; keys[i] != NULL; i++)
            if (strcmp(keys[i], key) == 0)
                idx = i;
        snprintf(path, sizeof path, "%.180s%s%.60s", field, field[0] ? "." : "", key);
        if (idx < 0)
            return s_fail(c, RLS_ERR_UNSUPPORTED, k, path, "unknown or unsupported field (known: %s)",
                          known);
        if (seen & (1u << idx))
            return s_fail(c, RLS_ERR_PARSE, k, path, "given twice");
        seen |= 1u << idx;
        if ((rc = fn(c, key, v, path, dst)) != RLS_OK)
            return rc;
    }
    return RLS_OK;
}

/* ------------------------------------------------------------------ defaults */

void rls_hpa_spec_defaults(struct rls_hpa_spec *s)
{
    if (s == NULL)
        return;
    memset(s, 0, sizeof *s);
    s->present = 1;
    s->min_replicas = 1;
    s->max_replicas = 0;
    s->target_utilization_pct = 80;
    snprintf(s->target_kind, sizeof s->target_kind, "Deployment");
    s->up.window_s = 0;
    s->up.select = RLS_HPA_SELECT_MAX;
    s->up.n_policies = 2;
    s->up.policies[0] = (struct rls_hpa_scaling_policy){RLS_HPA_POLICY_PERCENT, 100, 15};
    s->up.policies[1] = (struct rls_hpa_scaling_policy){RLS_HPA_POLICY_PODS, 4, 15};
    s->down.window_s = 300;
    s->down.select = RLS_HPA_SELECT_MAX;
    s->down.n_policies = 1;
    s->down.policies[0] = (struct rls_hpa_scaling_policy){RLS_HPA_POLICY_PERCENT, 100, 15};
}

const char *rls_hpa_select_name(int32_t select)
{
    switch (select) {
    case RLS_HPA_SELECT_MAX: return "Max";
    case RLS_HPA_SELECT_MIN: return "Min";
    case RLS_HPA_SELECT_DISABLED: return "Disabled";
    default: return "?";
    }
}

const char *rls_hpa_policy_type_name(int32_t type)
{
    switch (type) {
    case RLS_HPA_POLICY_PODS: return "Pods";
    case RLS_HPA_POLICY_PERCENT: return "Percent";
    default: return "?";
    }
}

/* ------------------------------------------------------------------ reader */

static const char *const s_policy_keys[] = {"type", "value", "periodSeconds", NULL};

static int s_policy_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path,
                          void *dst)
{
    struct rls_hpa_scaling_policy *p = dst;
    if (strcmp(key, "type") == 0) {
        const char *t = s_text(c, v, path);
        if (t == NULL)
            return c->err->status;
        if (strcmp(t, "Pods") == 0)
            p->type = RLS_HPA_POLICY_PODS;
        else if (strcmp(t, "Percent") == 0)
            p->type = RLS_HPA_POLICY_PERCENT;
        else
            return s_fail(c, RLS_ERR_PARSE, v, path, "'%.40s' (known: Pods, Percent)", t);
        return RLS_OK;
    }
    if (strcmp(key, "value") == 0)
        return s_int(c, v, path, 1, INT32_MAX, &p->value);
    return s_int(c, v, path, 1, 1800, &p->period_s);
}

static const char *const s_rules_keys[] = {"stabilizationWindowSeconds", "selectPolicy", "policies",
                                           "tolerance", NULL};

static int s_rules_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path,
                         void *dst)
{
    struct rls_hpa_rules *r = dst;
    if (strcmp(key, "stabilizationWindowSeconds") == 0)
        return s_int(c, v, path, 0, 3600, &r->window_s);
    if (strcmp(key, "selectPolicy") == 0) {
        const char *t = s_text(c, v, path);
        if (t == NULL)
            return c->err->status;
        if (strcmp(t, "Max") == 0)
            r->select = RLS_HPA_SELECT_MAX;
        else if (strcmp(t, "Min") == 0)
            r->select = RLS_HPA_SELECT_MIN;
        else if (strcmp(t, "Disabled") == 0)
            r->select = RLS_HPA_SELECT_DISABLED;
        else
            return s_fail(c, RLS_ERR_PARSE, v, path, "'%.40s' (known: Max, Min, Disabled)", t);
        return RLS_OK;
    }
    if (strcmp(key, "tolerance") == 0)
        return s_fail(c, RLS_ERR_UNSUPPORTED, v, path,
                      "not supported yet (the HPA here uses the controller's tolerance 0.1)");
    /* policies */
    if (v->type != YAML_SEQUENCE_NODE)
        return s_fail(c, RLS_ERR_PARSE, v, path, "expected a list, got %s", s_kind(v));
    int32_t n = (int32_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 1)
        return s_fail(c, RLS_ERR_PARSE, v, path, "must specify at least one policy");
    if (n > RLS_HPA_MAX_POLICIES)
        return s_fail(c, RLS_ERR_RANGE, v, path, "%d policies, at most %d", (int)n,
                      RLS_HPA_MAX_POLICIES);
    r->n_policies = n;
    for (int32_t i = 0; i < n; i++) {
        yaml_node_t *item = s_node(c, v->data.sequence.items.start[i]);
        char ipath[256];
        struct rls_hpa_scaling_policy *p = &r->policies[i];
        memset(p, 0, sizeof *p);
        p->type = -1;
        snprintf(ipath, sizeof ipath, "%.200s[%d]", path, (int)i);
        int rc = s_walk(c, item, ipath, s_policy_keys, "type, value, periodSeconds", s_policy_field, p);
        if (rc != RLS_OK)
            return rc;
        const char *missing = p->type < 0 ? "type" : p->value == 0 ? "value" : p->period_s == 0 ? "periodSeconds" : NULL;
        if (missing != NULL)
            return s_fail(c, RLS_ERR_PARSE, item, ipath, "'%s' is required", missing);
    }
    return RLS_OK;
}

struct s_behavior {
    struct rls_hpa_rules *up, *down;
};

static const char *const s_behavior_keys[] = {"scaleUp", "scaleDown", NULL};

static int s_behavior_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path,
                            void *dst)
{
    struct s_behavior *b = dst;
    struct rls_hpa_rules *r = strcmp(key, "scaleUp") == 0 ? b->up : b->down;
    return s_walk(c, v, path, s_rules_keys,
                  "stabilizationWindowSeconds, selectPolicy, policies", s_rules_field, r);
}

/* metrics[i]: only Resource cpu with a Utilization target */
struct s_metric {
    int32_t pct;         /* averageUtilization, 0 = not given */
    int have_resource;
    const char *type;
};

static const char *const s_target_keys[] = {"type", "averageUtilization", "averageValue", "value",
                                            NULL};

static int s_target_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path,
                          void *dst)
{
    struct s_metric *m = dst;
    if (strcmp(key, "type") == 0) {
        const char *t = s_text(c, v, path);
        if (t == NULL)
            return c->err->status;
        if (strcmp(t, "Utilization") == 0)
            return RLS_OK;
        if (strcmp(t, "AverageValue") == 0 || strcmp(t, "Value") == 0)
            return s_fail(c, RLS_ERR_UNSUPPORTED, v, path,
                          "target type '%s' not supported yet (the simulator has CPU utilization "
                          "only: use Utilization)", t);
        return s_fail(c, RLS_ERR_PARSE, v, path, "'%.40s' (known: Utilization, AverageValue, Value)", t);
    }
    if (strcmp(key, "averageUtilization") == 0)
        return s_int(c, v, path, 1, INT32_MAX, &m->pct);
    return s_fail(c, RLS_ERR_UNSUPPORTED, v, path,
                  "not supported yet (the simulator has CPU utilization only: use averageUtilization)");
}

static const char *const s_resource_keys[] = {"name", "target", NULL};

static int s_resource_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path,
                            void *dst)
{
    if (strcmp(key, "name") == 0) {
        const char *t = s_text(c, v, path);
        if (t == NULL)
            return c->err->status;
        if (strcmp(t, "cpu") != 0)
            return s_fail(c, RLS_ERR_UNSUPPORTED, v, path,
                          "resource '%.40s' not supported yet (the simulator has CPU utilization only)", t);
        return RLS_OK;
    }
    return s_walk(c, v, path, s_target_keys, "type, averageUtilization", s_target_field, dst);
}

static const char *const s_metric_keys[] = {"type", "resource", NULL};

static int s_metric_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path,
                          void *dst)
{
    struct s_metric *m = dst;
    if (strcmp(key, "type") == 0) {
        const char *t = s_text(c, v, path);
        if (t == NULL)
            return c->err->status;
        if (strcmp(t, "Pods") == 0 || strcmp(t, "Object") == 0 || strcmp(t, "External") == 0 ||
            strcmp(t, "ContainerResource") == 0)
            return s_fail(c, RLS_ERR_UNSUPPORTED, v, path,
                          "metric type '%s' not supported yet (the simulator has CPU utilization "
                          "only: type Resource, resource.name cpu)", t);
        if (strcmp(t, "Resource") != 0)
            return s_fail(c, RLS_ERR_PARSE, v, path,
                          "unknown metric type '%.40s' (autoscaling/v2 knows Resource, Pods, Object, "
                          "External, ContainerResource)", t);
        m->type = t;
        return RLS_OK;
    }
    m->have_resource = 1;
    return s_walk(c, v, path, s_resource_keys, "name, target", s_resource_field, m);
}

static const char *const s_ref_keys[] = {"apiVersion", "kind", "name", NULL};

static int s_ref_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path, void *dst)
{
    struct rls_hpa_spec *s = dst;
    char scratch[RLS_HPA_SPEC_NAME_MAX];
    if (strcmp(key, "name") == 0)
        return s_copy(c, v, path, s->target, sizeof s->target);
    if (strcmp(key, "kind") == 0)
        return s_copy(c, v, path, s->target_kind, sizeof s->target_kind);
    return s_copy(c, v, path, scratch, sizeof scratch);
}

static const char *const s_spec_keys[] = {"scaleTargetRef", "minReplicas", "maxReplicas", "metrics",
                                          "behavior", NULL};

static int s_spec_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path, void *dst)
{
    struct rls_hpa_spec *s = dst;
    if (strcmp(key, "scaleTargetRef") == 0)
        return s_walk(c, v, path, s_ref_keys, "apiVersion, kind, name", s_ref_field, s);
    if (strcmp(key, "minReplicas") == 0)
        return s_int(c, v, path, 0, INT32_MAX, &s->min_replicas);
    if (strcmp(key, "maxReplicas") == 0)
        return s_int(c, v, path, 1, INT32_MAX, &s->max_replicas);
    if (strcmp(key, "behavior") == 0) {
        struct s_behavior b = {&s->up, &s->down};
        return s_walk(c, v, path, s_behavior_keys, "scaleUp, scaleDown", s_behavior_field, &b);
    }
    /* metrics */
    if (v->type != YAML_SEQUENCE_NODE)
        return s_fail(c, RLS_ERR_PARSE, v, path, "expected a list, got %s", s_kind(v));
    int32_t n = (int32_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    for (int32_t i = 0; i < n; i++) {
        yaml_node_t *item = s_node(c, v->data.sequence.items.start[i]);
        char ipath[256];
        struct s_metric m = {0, 0, NULL};
        snprintf(ipath, sizeof ipath, "%.200s[%d]", path, (int)i);
        int rc = s_walk(c, item, ipath, s_metric_keys, "type, resource", s_metric_field, &m);
        if (rc != RLS_OK)
            return rc;
        if (m.type == NULL)
            return s_fail(c, RLS_ERR_PARSE, item, ipath, "'type' is required");
        if (!m.have_resource)
            return s_fail(c, RLS_ERR_PARSE, item, ipath, "'resource' is required for type Resource");
        if (m.pct == 0)
            return s_fail(c, RLS_ERR_PARSE, item, ipath,
                          "'resource.target.averageUtilization' is required");
        if (i > 0)
            return s_fail(c, RLS_ERR_UNSUPPORTED, item, ipath,
                          "a second metric is not supported yet (the simulator has CPU utilization only)");
        s->target_utilization_pct = m.pct;
    }
    return RLS_OK;
}

static const char *const s_meta_keys[] = {"name", "namespace", "labels", "annotations", NULL};

static int s_meta_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path, void *dst)
{
    struct rls_hpa_spec *s = dst;
    char scratch[RLS_HPA_SPEC_NAME_MAX * 4];
    if (strcmp(key, "name") == 0)
        return s_copy(c, v, path, s->name, sizeof s->name);
    if (strcmp(key, "namespace") == 0)
        return s_copy(c, v, path, scratch, sizeof scratch);
    return s_want_map(c, v, path);  /* labels, annotations: informational */
}

struct s_top {
    struct rls_hpa_spec *s;
    int have_api, have_kind, have_spec;
};

static const char *const s_top_keys[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};

static int s_top_field(struct s_ctx *c, const char *key, yaml_node_t *v, const char *path, void *dst)
{
    struct s_top *t = dst;
    if (strcmp(key, "apiVersion") == 0) {
        const char *s = s_text(c, v, path);
        if (s == NULL)
            return c->err->status;
        if (strcmp(s, "autoscaling/v2") != 0)
            return s_fail(c, RLS_ERR_PARSE, v, path, "'%.40s', expected autoscaling/v2", s);
        t->have_api = 1;
        return RLS_OK;
    }
    if (strcmp(key, "kind") == 0) {
        const char *s = s_text(c, v, path);
        if (s == NULL)
            return c->err->status;
        if (strcmp(s, "HorizontalPodAutoscaler") != 0)
            return s_fail(c, RLS_ERR_PARSE, v, path, "'%.40s', expected HorizontalPodAutoscaler", s);
        t->have_kind = 1;
        return RLS_OK;
    }
    if (strcmp(key, "metadata") == 0)
        return s_walk(c, v, path, s_meta_keys, "name, namespace, labels, annotations", s_meta_field,
                      t->s);
    if (strcmp(key, "status") == 0)
        return RLS_OK;  /* observed state, not configuration */
    t->have_spec = 1;
    return s_walk(c, v, path, s_spec_keys,
                  "scaleTargetRef, minReplicas, maxReplicas, metrics, behavior", s_spec_field, t->s);
}

int rls__hpa_spec_from_node(struct yaml_document_s *doc, struct yaml_node_s *node,
                            const char *file, const char *prefix, struct rls_hpa_spec *out,
                            struct rls_err *err)
{
    struct s_ctx c = {doc, file ? file : "manifest", prefix ? prefix : "", err};
    struct s_top t = {out, 0, 0, 0};
    char whole[160];
    snprintf(whole, sizeof whole, "%s", c.prefix);
    if (whole[0] != '\0' && whole[strlen(whole) - 1] == '.')
        whole[strlen(whole) - 1] = '\0';
    if (out == NULL || doc == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa manifest: NULL argument");
    rls_hpa_spec_defaults(out);
    if (node == NULL || node->type != YAML_MAPPING_NODE)
        return rls_err_set(err, RLS_ERR_PARSE, "%s:%d: %s%sexpected a HorizontalPodAutoscaler mapping, got %s",
                           c.file, s_line(node), whole, whole[0] ? ": " : "", s_kind(node));
    int rc = s_walk(&c, node, "", s_top_keys, "apiVersion, kind, metadata, spec", s_top_field, &t);
    if (rc != RLS_OK)
        return rc;
    const char *missing = !t.have_api ? "apiVersion" : !t.have_kind ? "kind" : !t.have_spec ? "spec"
                          : out->max_replicas == 0 ? "spec.maxReplicas" : NULL;
    if (missing != NULL)
        return s_fail(&c, RLS_ERR_PARSE, node, missing, "required");
    if (out->min_replicas > out->max_replicas)
        return s_fail(&c, RLS_ERR_RANGE, node, "spec.minReplicas", "%d above maxReplicas %d",
                      (int)out->min_replicas, (int)out->max_replicas);
    return RLS_OK;
}

int rls_hpa_manifest_parse(const char *yaml, size_t len, const char *name,
                           struct rls_hpa_spec *specs, int32_t cap, int32_t *n,
                           struct rls_err *err)
{
    yaml_parser_t parser;
    int rc = RLS_OK;
    const char *file = name ? name : "manifest";
    if (n)
        *n = 0;
    if (yaml == NULL || specs == NULL || n == NULL || cap < 1)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: NULL argument", file);
    if (len > S_MAX_BYTES)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: %zu bytes, more than %d KiB", file, len,
                           S_MAX_BYTES >> 10);
    if (!yaml_parser_initialize(&parser))
        return rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            rc = rls_err_set(err, RLS_ERR_PARSE, "%s:%d: YAML: %s", file,
                             (int)parser.problem_mark.line + 1,
                             parser.problem ? parser.problem : "syntax error");
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root == NULL) {
            yaml_document_delete(&doc);
            break;
        }
        if (*n >= cap) {
            rc = rls_err_set(err, RLS_ERR_RANGE, "%s:%d: more than %d manifests", file,
                             s_line(root), (int)cap);
            yaml_document_delete(&doc);
            break;
        }
        rc = rls__hpa_spec_from_node(&doc, root, file, "", &specs[*n], err);
        yaml_document_delete(&doc);
        if (rc != RLS_OK)
            break;
        (*n)++;
    }
    yaml_parser_delete(&parser);
    if (rc == RLS_OK && *n == 0)
        rc = rls_err_set(err, RLS_ERR_PARSE, "%s:1: no HorizontalPodAutoscaler document", file);
    if (rc != RLS_OK)
        *n = 0;
    return rc;
}

int rls_hpa_manifest_load(const char *path, struct rls_hpa_spec *specs, int32_t cap, int32_t *n,
                          struct rls_err *err)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = RLS_OK;
    if (n)
        *n = 0;
    if (path == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa manifest: NULL path");
    if (strlen(path) >= RLS_HPA_SPEC_PATH_MAX)
        return rls_err_set(err, RLS_ERR_RANGE, "%.80s...: path too long", path);
    struct stat st;
    if (stat(path, &st) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))   /* checked before opening: a FIFO would block in fopen */
        return rls_err_set(err, RLS_ERR_IO, "%s: not a regular file", path);
    f = fopen(path, "rb");
    if (f == NULL)
        return rls_err_set(err, RLS_ERR_IO, "%s: %s", path, strerror(errno));
    buf = malloc(S_MAX_BYTES + 1);
    if (buf == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    len = fread(buf, 1, S_MAX_BYTES + 1, f);
    if (ferror(f)) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: read error", path);
        goto done;
    }
    rc = rls_hpa_manifest_parse(buf, len, path, specs, cap, n, err);
done:
    free(buf);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ writer */

static void s_put_rules(FILE *f, const char *pad, const char *key, const struct rls_hpa_rules *r)
{
    fprintf(f, "%s    %s:\n", pad, key);
    fprintf(f, "%s      stabilizationWindowSeconds: %d\n", pad, (int)r->window_s);
    fprintf(f, "%s      selectPolicy: %s\n", pad, rls_hpa_select_name(r->select));
    fprintf(f, "%s      policies:\n", pad);
    for (int32_t i = 0; i < r->n_policies; i++)
        fprintf(f, "%s      - type: %s\n%s        value: %d\n%s        periodSeconds: %d\n", pad,
                rls_hpa_policy_type_name(r->policies[i].type), pad, (int)r->policies[i].value, pad,
                (int)r->policies[i].period_s);
}

int rls_hpa_manifest_write(const struct rls_hpa_spec *s, int indent, FILE *f)
{
    char pad[33];
    if (s == NULL || f == NULL || !s->present)
        return RLS_ERR_INVALID;
    if (indent < 0)
        indent = 0;
    if (indent > 32)
        indent = 32;
    memset(pad, ' ', (size_t)indent);
    pad[indent] = '\0';
    const char *name = s->name[0] ? s->name : s->target;
    fprintf(f, "%sapiVersion: autoscaling/v2\n%skind: HorizontalPodAutoscaler\n", pad, pad);
    fprintf(f, "%smetadata:\n%s  name: \"%s\"\n", pad, pad, name);
    fprintf(f, "%sspec:\n%s  scaleTargetRef:\n%s    apiVersion: apps/v1\n", pad, pad, pad);
    fprintf(f, "%s    kind: %s\n%s    name: \"%s\"\n", pad,
            s->target_kind[0] ? s->target_kind : "Deployment", pad, s->target);
    fprintf(f, "%s  minReplicas: %d\n%s  maxReplicas: %d\n", pad, (int)s->min_replicas, pad,
            (int)s->max_replicas);
    fprintf(f, "%s  metrics:\n%s  - type: Resource\n%s    resource:\n%s      name: cpu\n", pad, pad,
            pad, pad);
    fprintf(f, "%s      target:\n%s        type: Utilization\n%s        averageUtilization: %d\n",
            pad, pad, pad, (int)s->target_utilization_pct);
    fprintf(f, "%s  behavior:\n", pad);
    s_put_rules(f, pad, "scaleUp", &s->up);
    s_put_rules(f, pad, "scaleDown", &s->down);
    return ferror(f) ? RLS_ERR_IO : RLS_OK;
}

/* ------------------------------------------------------------ onto a scenario */

int rls_scenario_apply_hpa_manifest(struct rls_scenario *sc, const char *path, struct rls_err *err)
{
    struct rls_hpa_spec *specs = NULL;
    int32_t n = 0;
    int rc = RLS_OK;
    if (sc == NULL || path == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa manifest: NULL scenario or path");
    specs = calloc(RLS_HPA_MAX_DOCS, sizeof *specs);
    if (specs == NULL)
        return rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
    rc = rls_hpa_manifest_load(path, specs, RLS_HPA_MAX_DOCS, &n, err);
    for (int32_t i = 0; rc == RLS_OK && i < n; i++) {
        const struct rls_hpa_spec *s = &specs[i];
        int k = rls_scenario_find_service(sc, s->target);
        if (s->target[0] == '\0') {
            rc = rls_err_set(err, RLS_ERR_PARSE, "%s: manifest %d: field 'spec.scaleTargetRef.name': "
                             "required (it names the service)", path, (int)i + 1);
        } else if (k < 0) {
            char names[256] = "";
            size_t at = 0;
            for (int32_t j = 0; j < sc->n_services && at + 2 < sizeof names; j++) {
                int w = snprintf(names + at, sizeof names - at, "%s%s", j ? ", " : "",
                                 sc->services[j].name);
                at += w > 0 ? (size_t)w : 0;
            }
            rc = rls_err_set(err, RLS_ERR_NOTFOUND,
                             "%s: field 'spec.scaleTargetRef.name': '%s' names no service of scenario "
                             "'%s' (services: %s)", path, s->target, sc->name, names);
        } else {
            const struct rls_service_spec *sv = &sc->services[k];
            if (s->max_replicas > sv->max_replicas)
                rc = rls_err_set(err, RLS_ERR_RANGE,
                                 "%s: '%s': field 'spec.maxReplicas': %d above the service's "
                                 "max_replicas %d", path, s->target, (int)s->max_replicas,
                                 (int)sv->max_replicas);
            else if (s->min_replicas < sv->min_replicas)
                rc = rls_err_set(err, RLS_ERR_RANGE,
                                 "%s: '%s': field 'spec.minReplicas': %d below the service's "
                                 "min_replicas %d", path, s->target, (int)s->min_replicas,
                                 (int)sv->min_replicas);
        }
    }
    for (int32_t i = 0; rc == RLS_OK && i < n; i++)
        sc->services[rls_scenario_find_service(sc, specs[i].target)].hpa = specs[i];
    free(specs);
    return rc;
}
