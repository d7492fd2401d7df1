/* scenario_yaml.c - the scenario reader: YAML text (libyaml document API) to
 * a struct rls_scenario.
 *
 * Table-driven: each mapping (root, reward, pool, tenant, service, load,
 * synth) has a field table with the key, the value type and the offset of
 * the struct field. Unknown keys, keys given twice and values of the wrong
 * type are refused with "NAME:LINE: ..." and the field path
 * ("services[2].load.peak_rps"). After
 * reading, the rules of rls__scenario_check run and a failure is mapped back
 * to the line of the field it names.
 */
#include "scenario.h"
#include "scenario_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

/* ------------------------------------------------------------------------ */
/* field tables                                                             */

enum s_ftype {
    S_F_DOUBLE,   /* double, any finite number */
    S_F_INT32,    /* int32_t, a whole number */
    S_F_UINT64,   /* uint64_t, decimal digits */
    S_F_BOOL,     /* int32_t 0/1 from true/false */
    S_F_NAME,     /* char[RLS_NAME_MAX], [A-Za-z0-9_.-] */
    S_F_PATH,     /* char[RLS_PATH_MAX] */
    S_F_COLUMN,   /* char[RLS_NAME_MAX], free text */
    S_F_KIND,     /* enum rls_load_kind */
    S_F_TENANT,   /* int32_t index, given as the tenant's name */
    S_F_MAP,      /* nested mapping described by `sub` */
    S_F_LIST,     /* a list read by the caller (pools, tenants, services) */
    S_F_HPA,      /* struct rls_hpa_spec: a manifest mapping or a manifest file path */
};

struct s_field {
    const char *key;
    enum s_ftype type;
    size_t off;
    const struct s_field *sub;
};

#define S_MAX_BYTES (1 << 20) /* a scenario text larger than this is refused (docs/SCENARIO.md) */
#define S_MAX_DEPTH 32        /* nesting of mappings and lists beyond this is refused */

#define S_FLD(type_, st, member, ft) {#member, ft, offsetof(type_ st, member), NULL}

static const struct s_field s_synth_fields[] = {
    S_FLD(struct, rls_trace_synth_params, step_s, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, duration_s, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, base_rps, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, diurnal_amp, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, peak_hour, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, weekly_amp, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, trend_per_day, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, noise, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, flash_per_day, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, flash_mult, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, flash_dur_s, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, outage_per_day, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, outage_dur_s, S_F_DOUBLE),
    S_FLD(struct, rls_trace_synth_params, start_epoch_s, S_F_DOUBLE),
    {NULL, S_F_DOUBLE, 0, NULL},
};

static const struct s_field s_load_fields[] = {
    S_FLD(struct, rls_load_spec, kind, S_F_KIND),
    S_FLD(struct, rls_load_spec, path, S_F_PATH),
    S_FLD(struct, rls_load_spec, column, S_F_COLUMN),
    S_FLD(struct, rls_load_spec, peak_rps, S_F_DOUBLE),
    S_FLD(struct, rls_load_spec, shift_s, S_F_DOUBLE),
    S_FLD(struct, rls_load_spec, time_scale, S_F_DOUBLE),
    S_FLD(struct, rls_load_spec, seed, S_F_UINT64),
    {"synth", S_F_MAP, offsetof(struct rls_load_spec, synth), s_synth_fields},
    {NULL, S_F_DOUBLE, 0, NULL},
};

/* The name is always entry 0 of the list item tables (it is required). */
static const struct s_field s_pool_fields[] = {
    S_FLD(struct, rls_node_pool, name, S_F_NAME),
    S_FLD(struct, rls_node_pool, count, S_F_INT32),
    S_FLD(struct, rls_node_pool, min_on, S_F_INT32),
    S_FLD(struct, rls_node_pool, cpu, S_F_DOUBLE),
    S_FLD(struct, rls_node_pool, mem_gb, S_F_DOUBLE),
    S_FLD(struct, rls_node_pool, price_per_hour, S_F_DOUBLE),
    S_FLD(struct, rls_node_pool, boot_s, S_F_DOUBLE),
    S_FLD(struct, rls_node_pool, mtbf_h, S_F_DOUBLE),
    S_FLD(struct, rls_node_pool, repair_s, S_F_DOUBLE),
    {NULL, S_F_DOUBLE, 0, NULL},
};

static const struct s_field s_tenant_fields[] = {
    S_FLD(struct, rls_tenant, name, S_F_NAME),
    S_FLD(struct, rls_tenant, weight, S_F_DOUBLE),
    S_FLD(struct, rls_tenant, guaranteed_replicas, S_F_INT32),
    S_FLD(struct, rls_tenant, max_replicas, S_F_INT32),
    {NULL, S_F_DOUBLE, 0, NULL},
};

static const struct s_field s_service_fields[] = {
    S_FLD(struct, rls_service_spec, name, S_F_NAME),
    S_FLD(struct, rls_service_spec, tenant, S_F_TENANT),
    S_FLD(struct, rls_service_spec, capacity_rps, S_F_DOUBLE),
    S_FLD(struct, rls_service_spec, service_time_ms, S_F_DOUBLE),
    S_FLD(struct, rls_service_spec, cpu, S_F_DOUBLE),
    S_FLD(struct, rls_service_spec, mem_gb, S_F_DOUBLE),
    S_FLD(struct, rls_service_spec, cold_start_s, S_F_DOUBLE),
    S_FLD(struct, rls_service_spec, min_replicas, S_F_INT32),
    S_FLD(struct, rls_service_spec, max_replicas, S_F_INT32),
    S_FLD(struct, rls_service_spec, initial_replicas, S_F_INT32),
    S_FLD(struct, rls_service_spec, slo_ms, S_F_DOUBLE),
    S_FLD(struct, rls_service_spec, slo_percentile, S_F_DOUBLE),
    S_FLD(struct, rls_service_spec, queue_limit, S_F_INT32),
    {"load", S_F_MAP, offsetof(struct rls_service_spec, load), s_load_fields},
    {"hpa", S_F_HPA, offsetof(struct rls_service_spec, hpa), NULL},
    {NULL, S_F_DOUBLE, 0, NULL},
};

static const struct s_field s_reward_fields[] = {
    S_FLD(struct, rls_reward_weights, cost, S_F_DOUBLE),
    S_FLD(struct, rls_reward_weights, slo, S_F_DOUBLE),
    S_FLD(struct, rls_reward_weights, drop, S_F_DOUBLE),
    S_FLD(struct, rls_reward_weights, churn, S_F_DOUBLE),
    {NULL, S_F_DOUBLE, 0, NULL},
};

static const struct s_field s_root_fields[] = {
    S_FLD(struct, rls_scenario, name, S_F_NAME),
    S_FLD(struct, rls_scenario, step_s, S_F_DOUBLE),
    S_FLD(struct, rls_scenario, horizon_steps, S_F_INT32),
    S_FLD(struct, rls_scenario, start_s, S_F_DOUBLE),
    S_FLD(struct, rls_scenario, start_jitter_s, S_F_DOUBLE),
    S_FLD(struct, rls_scenario, poisson_noise, S_F_BOOL),
    S_FLD(struct, rls_scenario, node_idle_s, S_F_DOUBLE),
    S_FLD(struct, rls_scenario, seed, S_F_UINT64),
    {"reward", S_F_MAP, offsetof(struct rls_scenario, reward), s_reward_fields},
    {"pools", S_F_LIST, 0, NULL},
    {"tenants", S_F_LIST, 0, NULL},
    {"services", S_F_LIST, 0, NULL},
    {NULL, S_F_DOUBLE, 0, NULL},
};

/* ------------------------------------------------------------------------ */
/* reader state and messages                                                */

struct s_ctx {
    const char *name;           /* file name for messages */
    yaml_document_t *doc;
    struct rls_err *err;
    struct rls_scenario *sc;    /* being filled (tenants read before services) */
    struct s_tenant_key *tenant_order;  /* [n_tenants] sorted by name */
    const char *basedir;        /* folder of the scenario file (NULL: the cwd) */
    const yaml_node_t *cur_item; /* the list item being read */
};

static int s_line(const yaml_node_t *node)
{
    return node != NULL ? (int)node->start_mark.line + 1 : 1;
}

static int s_errf(struct s_ctx *c, int status, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "NAME:LINE: field 'PATH': what" */
static int s_errf(struct s_ctx *c, int status, int line, const char *path, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (path != NULL && path[0] != '\0')
        return rls_err_set(c->err, status, "%s:%d: field '%s': %s", c->name, line, path, what);
    return rls_err_set(c->err, status, "%s:%d: %s", c->name, line, what);
}

/* A short, printable excerpt of a scalar for messages. */
static void s_excerpt(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s != '\0' && n + 4 < cap; s++)
        out[n++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    out[n] = '\0';
    if (*s != '\0')
        memcpy(out + (n > 3 ? n - 3 : 0), "...", 4);
}

/* Levenshtein distance of two short strings (each cut at 63 characters). */
static int s_edit_distance(const char *a, const char *b)
{
    int prev[64], cur[64];
    size_t la = strnlen(a, 63), lb = strnlen(b, 63);
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1;
            int ins = cur[j - 1] + 1;
            int m = sub < del ? sub : del;
            cur[j] = m < ins ? m : ins;
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

/* Picks the closest candidate if it is close enough to be a typo; NULL else. */
static const char *s_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    int best_d = INT_MAX;
    int len = (int)strnlen(word, 63);
    for (size_t i = 0; i < n; i++) {
        int d = s_edit_distance(word, cands[i]);
        if (len >= 4 && strncmp(cands[i], word, (size_t)len) == 0)
            d = 1;  /* a cut-off name: "horizon" for "horizon_steps" */
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    if (best != NULL && best_d <= 1 + len / 4 && best_d < len)
        return best;
    return NULL;
}

static const char *s_suggest_field(const char *word, const struct s_field *fields)
{
    const char *cands[32];
    size_t n = 0;
    for (; fields[n].key != NULL && n < 32; n++)
        cands[n] = fields[n].key;
    return s_suggest(word, cands, n);
}

static const char *s_node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SCALAR_NODE: return "a single value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

/* ------------------------------------------------------------------------ */
/* scalar values                                                            */

/* The scalar's text, or NULL with the error set ("expected WHAT, got a list"). */
static const char *s_scalar(struct s_ctx *c, const yaml_node_t *node, const char *path,
                            const char *what)
{
    if (node->type != YAML_SCALAR_NODE) {
        s_errf(c, RLS_ERR_PARSE, s_line(node), path, "expected %s, got %s", what,
               s_node_kind(node));
        return NULL;
    }
    return (const char *)node->data.scalar.value;
}

static int s_is_quoted(const yaml_node_t *node)
{
    return node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
           node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

static int s_read_double(struct s_ctx *c, const yaml_node_t *node, const char *path, double *out)
{
    const char *s = s_scalar(c, node, path, "a number");
    char ex[48];
    char *end = NULL;
    double v;

    if (s == NULL)
        return c->err ? c->err->status : RLS_ERR_PARSE;
    s_excerpt(s, ex, sizeof ex);
    if (s_is_quoted(node))
        return s_errf(c, RLS_ERR_PARSE, s_line(node), path, "expected a number, got the string \"%s\"",
                      ex);
    if (s[0] == '\0')
        return s_errf(c, RLS_ERR_PARSE, s_line(node), path, "expected a number, got nothing");
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0')
        return s_errf(c, RLS_ERR_PARSE, s_line(node), path, "expected a number, got '%s'", ex);
    if (!isfinite(v))
        return s_errf(c, RLS_ERR_RANGE, s_line(node), path, "must be a finite number (got '%s')",
                      ex);
    *out = v;
    return RLS_OK;
}

static int s_read_int32(struct s_ctx *c, const yaml_node_t *node, const char *path, int32_t *out)
{
    double v = 0.0;
    int rc = s_read_double(c, node, path, &v);
    if (rc != RLS_OK)
        return rc;
    if (v != floor(v))
        return s_errf(c, RLS_ERR_PARSE, s_line(node), path, "expected a whole number, got %g", v);
    if (v < (double)INT32_MIN || v > (double)INT32_MAX)
        return s_errf(c, RLS_ERR_RANGE, s_line(node), path, "%g is out of range", v);
    *out = (int32_t)v;
    return RLS_OK;
}

static int s_read_uint64(struct s_ctx *c, const yaml_node_t *node, const char *path, uint64_t *out)
{
    const char *s = s_scalar(c, node, path, "a whole number");
    char ex[48];
    char *end = NULL;
    unsigned long long v;

    if (s == NULL)
        return c->err ? c->err->status : RLS_ERR_PARSE;
    s_excerpt(s, ex, sizeof ex);
    if (s_is_quoted(node) || s[0] < '0' || s[0] > '9')
        return s_errf(c, RLS_ERR_PARSE, s_line(node), path,
                      "expected a whole number >= 0, got '%s'", ex);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0')
        return s_errf(c, RLS_ERR_PARSE, s_line(node), path,
                      "expected a whole number >= 0, got '%s'", ex);
    if (errno == ERANGE)
        return s_errf(c, RLS_ERR_RANGE, s_line(node), path, "'%s' does not fit in 64 bits", ex);
    *out = (uint64_t)v;
    return RLS_OK;
}

static int s_read_bool(struct s_ctx *c, const yaml_node_t *node, const char *path, int32_t *out)
{
    static const char *const s_true[] = {"true", "yes", "on", "1", NULL};
    static const char *const s_false[] = {"false", "no", "off", "0", NULL};
    const char *s = s_scalar(c, node, path, "true or false");
    char ex[48];

    if (s == NULL)
        return c->err ? c->err->status : RLS_ERR_PARSE;
    for (int i = 0; !s_is_quoted(node) && s_true[i]; i++)
        if (strcasecmp(s, s_true[i]) == 0) {
            *out = 1;
            return RLS_OK;
        }
    for (int i = 0; !s_is_quoted(node) && s_false[i]; i++)
        if (strcasecmp(s, s_false[i]) == 0) {
            *out = 0;
            return RLS_OK;
        }
    s_excerpt(s, ex, sizeof ex);
    return s_errf(c, RLS_ERR_PARSE, s_line(node), path, "expected true or false, got '%s'", ex);
}

static int s_read_text(struct s_ctx *c, const yaml_node_t *node, const char *path, char *out,
                       size_t cap, int is_name)
{
    const char *s = s_scalar(c, node, path, is_name ? "a name" : "a string");
    char ex[48];

    if (s == NULL)
        return c->err ? c->err->status : RLS_ERR_PARSE;
    s_excerpt(s, ex, sizeof ex);
    if (is_name && !rls__scenario_name_ok(s, cap))
        return s_errf(c, RLS_ERR_INVALID, s_line(node), path,
                      "'%s' is not a name: use 1 to %zu characters of A-Z a-z 0-9 _ - .", ex,
                      cap - 1);
    if (!is_name && !rls__scenario_text_ok(s, cap))
        return s_errf(c, RLS_ERR_INVALID, s_line(node), path,
                      "'%s' is too long (at most %zu bytes) or has control characters", ex,
                      cap - 1);
    snprintf(out, cap, "%s", s);
    return RLS_OK;
}

static int s_read_kind(struct s_ctx *c, const yaml_node_t *node, const char *path,
                       enum rls_load_kind *out)
{
    static const char *const s_kinds[] = {"synth", "trace", "const"};
    const char *s = s_scalar(c, node, path, "synth, trace or const");
    const char *hint = NULL;
    char ex[48];

    if (s == NULL)
        return c->err ? c->err->status : RLS_ERR_PARSE;
    if (strcmp(s, "synth") == 0)
        *out = RLS_LOAD_SYNTH;
    else if (strcmp(s, "trace") == 0)
        *out = RLS_LOAD_TRACE;
    else if (strcmp(s, "const") == 0)
        *out = RLS_LOAD_CONST;
    else {
        s_excerpt(s, ex, sizeof ex);
        hint = s_suggest(s, s_kinds, 3);
        return s_errf(c, RLS_ERR_PARSE, s_line(node), path,
                      "expected synth, trace or const, got '%s'%s%s%s", ex,
                      hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
    }
    return RLS_OK;
}

/* A tenant's name and index, sorted by name for the lookup. */
struct s_tenant_key {
    const char *name;
    int32_t index;
};

static int s_tenant_key_cmp(const void *a, const void *b)
{
    const struct s_tenant_key *x = a, *y = b;
    int cmp = strcmp(x->name, y->name);
    if (cmp != 0)
        return cmp;
    return (x->index > y->index) - (x->index < y->index);
}

/* Resolves a tenant name by binary search over ctx->tenant_order. */
static int s_read_tenant(struct s_ctx *c, const yaml_node_t *node, const char *path, int32_t *out)
{
    const struct rls_scenario *sc = c->sc;
    char name[RLS_NAME_MAX];
    char ex[48];
    int rc = s_read_text(c, node, path, name, sizeof name, 1);
    int32_t lo = 0, hi = sc->n_tenants;

    if (rc != RLS_OK) {
        if (node->type == YAML_SCALAR_NODE) {
            s_excerpt((const char *)node->data.scalar.value, ex, sizeof ex);
            return s_errf(c, RLS_ERR_INVALID, s_line(node), path, "unknown tenant '%s'", ex);
        }
        return rc;
    }
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->tenant_order[mid].name, name);
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < sc->n_tenants && strcmp(c->tenant_order[lo].name, name) == 0) {
        *out = c->tenant_order[lo].index;
        return RLS_OK;
    }
    {
        const char *best = NULL;
        int best_d = INT_MAX;
        int len = (int)strlen(name);
        for (int32_t i = 0; i < sc->n_tenants && i < 10000; i++) {
            int d = s_edit_distance(name, sc->tenants[i].name);
            if (d < best_d) {
                best_d = d;
                best = sc->tenants[i].name;
            }
        }
        if (best != NULL && best_d <= 1 + len / 4 && best_d < len)
            return s_errf(c, RLS_ERR_INVALID, s_line(node), path,
                          "unknown tenant '%s' (did you mean %s?)", name, best);
        return s_errf(c, RLS_ERR_INVALID, s_line(node), path,
                      "unknown tenant '%s' (the tenants list has %" PRId32 ")", name,
                      sc->n_tenants);
    }
}

/* ------------------------------------------------------------------------ */
/* mappings                                                                 */

static yaml_node_t *s_get(struct s_ctx *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

/* The value node of `key` in a mapping, or NULL; *key_line gets its line. */
static yaml_node_t *s_map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key,
                              int *key_line)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0) {
            if (key_line != NULL)
                *key_line = s_line(k);
            return yaml_document_get_node(doc, p->value);
        }
    }
    return NULL;
}

static int s_read_map(struct s_ctx *c, const yaml_node_t *node, void *base,
                      const struct s_field *fields, const char *prefix, uint64_t *seen_out);

/* services[i].hpa: an embedded autoscaling/v2 HorizontalPodAutoscaler, or the
 * path of a manifest file (relative to the scenario's folder) holding one, or
 * several of which one names the service (env/hpa_manifest.h). */
static int s_read_hpa(struct s_ctx *c, const yaml_node_t *val, const char *path,
                      struct rls_hpa_spec *out)
{
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s.", path);
    const yaml_node_t *nm = s_map_get(c->doc, c->cur_item, "name", NULL);
    const char *svc = nm != NULL && nm->type == YAML_SCALAR_NODE ? (const char *)nm->data.scalar.value : "";
    if (val->type != YAML_SCALAR_NODE) {
        int rc0 = rls__hpa_spec_from_node(c->doc, (yaml_node_t *)val, c->name, prefix, out, c->err);
        if (rc0 == RLS_OK && out->target[0] == '\0')
            snprintf(out->target, sizeof out->target, "%.63s", svc);
        return rc0;
    }
    const char *file = (const char *)val->data.scalar.value;
    char full[RLS_PATH_MAX + RLS_PATH_MAX];
    struct rls_hpa_spec *specs = NULL;
    int32_t n = 0;
    int rc;
    if (file[0] == '\0')
        return s_errf(c, RLS_ERR_PARSE, s_line(val), path, "empty manifest path");
    if (file[0] != '/' && c->basedir != NULL)
        snprintf(full, sizeof full, "%s/%s", c->basedir, file);
    else
        snprintf(full, sizeof full, "%s", file);
    specs = calloc(64, sizeof *specs);
    if (specs == NULL)
        return s_errf(c, RLS_ERR_NOMEM, s_line(val), path, "out of memory");
    rc = rls_hpa_manifest_load(full, specs, 64, &n, c->err);
    if (rc != RLS_OK) {
        char inner[RLS_ERRMSG_MAX];
        snprintf(inner, sizeof inner, "%s", c->err ? c->err->msg : "");
        free(specs);
        return s_errf(c, rc, s_line(val), path, "%s", inner);
    }
    int pick = n == 1 ? 0 : -1;
    for (int32_t i = 0; pick < 0 && i < n; i++)
        if (strcmp(specs[i].target, svc) == 0)
            pick = (int)i;
    if (pick < 0) {
        free(specs);
        return s_errf(c, RLS_ERR_NOTFOUND, s_line(val), path,
                      "%s holds %d manifests and none has scaleTargetRef.name '%s'", full, (int)n,
                      svc);
    }
    *out = specs[pick];
    free(specs);
    if (out->target[0] == '\0')
        snprintf(out->target, sizeof out->target, "%.63s", svc);
    return RLS_OK;
}

static int s_read_value(struct s_ctx *c, const yaml_node_t *val, void *base,
                        const struct s_field *fd, const char *path)
{
    char *dst = (char *)base + fd->off;
    char sub_prefix[200];

    switch (fd->type) {
    case S_F_DOUBLE:
        return s_read_double(c, val, path, (double *)(void *)dst);
    case S_F_INT32:
        return s_read_int32(c, val, path, (int32_t *)(void *)dst);
    case S_F_UINT64:
        return s_read_uint64(c, val, path, (uint64_t *)(void *)dst);
    case S_F_BOOL:
        return s_read_bool(c, val, path, (int32_t *)(void *)dst);
    case S_F_NAME:
        return s_read_text(c, val, path, dst, RLS_NAME_MAX, 1);
    case S_F_PATH:
        return s_read_text(c, val, path, dst, RLS_PATH_MAX, 0);
    case S_F_COLUMN:
        return s_read_text(c, val, path, dst, RLS_NAME_MAX, 0);
    case S_F_KIND:
        return s_read_kind(c, val, path, (enum rls_load_kind *)(void *)dst);
    case S_F_TENANT:
        return s_read_tenant(c, val, path, (int32_t *)(void *)dst);
    case S_F_MAP:
        snprintf(sub_prefix, sizeof sub_prefix, "%s.", path);
        return s_read_map(c, val, dst, fd->sub, sub_prefix, NULL);
    case S_F_HPA:
        return s_read_hpa(c, val, path, (struct rls_hpa_spec *)(void *)dst);
    case S_F_LIST:
        if (val->type != YAML_SEQUENCE_NODE)
            return s_errf(c, RLS_ERR_PARSE, s_line(val), path, "expected a list, got %s",
                          s_node_kind(val));
        return RLS_OK;  /* items are read by the caller */
    }
    return RLS_ERR_INVALID;
}

/* Fills the fields of `base` from a mapping node; refuses unknown and repeated
 * keys. *seen_out (optional) gets a bit per field index that was given. */
static int s_read_map(struct s_ctx *c, const yaml_node_t *node, void *base,
                      const struct s_field *fields, const char *prefix, uint64_t *seen_out)
{
    uint64_t seen = 0;
    char path[192];
    char whole[192];
    int rc = RLS_OK;

    snprintf(whole, sizeof whole, "%s", prefix);
    if (whole[0] != '\0' && whole[strlen(whole) - 1] == '.')
        whole[strlen(whole) - 1] = '\0';
    if (node->type != YAML_MAPPING_NODE)
        return s_errf(c, RLS_ERR_PARSE, s_line(node), whole, "expected a mapping, got %s",
                      s_node_kind(node));
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = s_get(c, p->key);
        yaml_node_t *v = s_get(c, p->value);
        const char *key = NULL;
        char ex[48];
        int idx = -1;

        if (k == NULL || v == NULL)
            return s_errf(c, RLS_ERR_PARSE, s_line(node), whole, "malformed mapping");
        if (k->type != YAML_SCALAR_NODE)
            return s_errf(c, RLS_ERR_PARSE, s_line(k), whole, "a key must be a plain name, got %s",
                          s_node_kind(k));
        key = (const char *)k->data.scalar.value;
        for (int i = 0; fields[i].key != NULL; i++)
            if (strcmp(fields[i].key, key) == 0) {
                idx = i;
                break;
            }
        s_excerpt(key, ex, sizeof ex);
        if (idx < 0) {
            const char *hint = s_suggest_field(key, fields);
            if (hint != NULL)
                return rls_err_set(c->err, RLS_ERR_PARSE,
                                   "%s:%d: unknown field '%s%s' (did you mean %s?)", c->name,
                                   s_line(k), prefix, ex, hint);
            return rls_err_set(c->err, RLS_ERR_PARSE, "%s:%d: unknown field '%s%s'", c->name,
                               s_line(k), prefix, ex);
        }
        snprintf(path, sizeof path, "%s%s", prefix, key);
        if (seen & (UINT64_C(1) << idx))
            return s_errf(c, RLS_ERR_PARSE, s_line(k), path, "given twice");
        seen |= UINT64_C(1) << idx;
        if ((rc = s_read_value(c, v, base, &fields[idx], path)) != RLS_OK)
            return rc;
    }
    if (seen_out != NULL)
        *seen_out = seen;
    return RLS_OK;
}

/* ------------------------------------------------------------------------ */
/* lists                                                                    */

/* Length of a root list; refuses a missing, non-list, empty or huge one. */
static int s_list_len(struct s_ctx *c, const yaml_node_t *root, const char *key,
                      const char *what, int32_t *n)
{
    int line = s_line(root);
    yaml_node_t *list = s_map_get(c->doc, root, key, &line);
    ptrdiff_t len;

    if (list == NULL)
        return s_errf(c, RLS_ERR_INVALID, line, key, "missing (a scenario needs at least one %s)",
                      what);
    if (list->type != YAML_SEQUENCE_NODE)
        return s_errf(c, RLS_ERR_PARSE, s_line(list), key, "expected a list, got %s",
                      s_node_kind(list));
    len = list->data.sequence.items.top - list->data.sequence.items.start;
    if (len == 0)
        return s_errf(c, RLS_ERR_INVALID, line, key, "empty (a scenario needs at least one %s)",
                      what);
    if (len > RLS__SCENARIO_MAX_COUNT)
        return s_errf(c, RLS_ERR_RANGE, line, key, "%td entries; at most %d", len,
                      RLS__SCENARIO_MAX_COUNT);
    *n = (int32_t)len;
    return RLS_OK;
}

/* Reads every item of root list `key` into items[i] (each `size` bytes). */
static int s_read_list(struct s_ctx *c, const yaml_node_t *root, const char *key, void *items,
                       size_t size, const struct s_field *fields, const char *what)
{
    yaml_node_t *list = s_map_get(c->doc, root, key, NULL);
    int32_t i = 0;
    char prefix[64];
    int rc = RLS_OK;

    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *item = s_get(c, *it);
        void *base = (char *)items + (size_t)i * size;
        uint64_t seen = 0;

        snprintf(prefix, sizeof prefix, "%s[%" PRId32 "].", key, i);
        if (item == NULL)
            return s_errf(c, RLS_ERR_PARSE, s_line(list), key, "malformed list");
        c->cur_item = item;
        if ((rc = s_read_map(c, item, base, fields, prefix, &seen)) != RLS_OK)
            return rc;
        if (!(seen & 1)) {
            snprintf(prefix, sizeof prefix, "%s[%" PRId32 "].name", key, i);
            return s_errf(c, RLS_ERR_INVALID, s_line(item), prefix, "missing (every %s needs a name)",
                          what);
        }
    }
    return RLS_OK;
}

/* ------------------------------------------------------------------------ */
/* field path -> line                                                       */

/* The line of the deepest node on `path` ("services[2].load.peak_rps"):
 * for a mapping entry, the line of its key. */
static int s_find_line(yaml_document_t *doc, const char *path)
{
    yaml_node_t *node = yaml_document_get_root_node(doc);
    int line = s_line(node);
    const char *p = path;
    char key[128];

    while (node != NULL && *p != '\0') {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end = NULL;
            long idx = strtol(p + 1, &end, 10);
            ptrdiff_t len;
            if (end == NULL || *end != ']' || node->type != YAML_SEQUENCE_NODE)
                break;
            len = node->data.sequence.items.top - node->data.sequence.items.start;
            if (idx < 0 || idx >= len)
                break;
            node = yaml_document_get_node(doc, node->data.sequence.items.start[idx]);
            line = s_line(node);
            p = end + 1;
            continue;
        }
        {
            size_t n = strcspn(p, ".[");
            int key_line = line;
            yaml_node_t *next = NULL;
            if (n >= sizeof key)
                break;
            memcpy(key, p, n);
            key[n] = '\0';
            next = s_map_get(doc, node, key, &key_line);
            if (next == NULL)
                break;
            node = next;
            line = key_line;
            p += n;
        }
    }
    return line;
}

/* ------------------------------------------------------------------------ */
/* trace paths                                                              */

int rls__scenario_basedir(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    char cwd[RLS_PATH_MAX];
    int n;

    if (path[0] == '/') {
        size_t dlen = slash == path ? 1 : (size_t)(slash - path);
        if (dlen + 1 > cap)
            return RLS_ERR_RANGE;
        memcpy(out, path, dlen);
        out[dlen] = '\0';
        return RLS_OK;
    }
    if (getcwd(cwd, sizeof cwd) == NULL)
        return RLS_ERR_RANGE;
    if (slash == NULL)
        n = snprintf(out, cap, "%s", cwd);
    else
        n = snprintf(out, cap, "%s/%.*s", strcmp(cwd, "/") == 0 ? "" : cwd, (int)(slash - path),
                     path);
    if (n < 0 || (size_t)n >= cap)
        return RLS_ERR_RANGE;
    return RLS_OK;
}

/* Makes relative trace paths absolute against basedir and checks each trace
 * file can be read. */
static int s_resolve_traces(struct s_ctx *c, const char *basedir)
{
    struct rls_scenario *sc = c->sc;
    char path[RLS_PATH_MAX + 8];
    char field[96];

    for (int32_t i = 0; i < sc->n_services; i++) {
        struct rls_load_spec *l = &sc->services[i].load;
        if (l->kind != RLS_LOAD_TRACE)
            continue;
        snprintf(field, sizeof field, "services[%" PRId32 "].load.path", i);
        if (l->path[0] != '/') {
            int n = snprintf(path, sizeof path, "%s/%s", strcmp(basedir, "/") == 0 ? "" : basedir,
                             l->path);
            if (n < 0 || (size_t)n >= sizeof l->path)
                return s_errf(c, RLS_ERR_RANGE, s_find_line(c->doc, field), field,
                              "'%s' resolved against %s is longer than %d bytes", l->path,
                              basedir, RLS_PATH_MAX - 1);
            memcpy(l->path, path, (size_t)n + 1);
        }
        if (access(l->path, R_OK) != 0)
            return s_errf(c, RLS_ERR_IO, s_find_line(c->doc, field), field,
                          "cannot read trace '%s': %s", l->path, strerror(errno));
    }
    return RLS_OK;
}

/* ------------------------------------------------------------------------ */
/* the reader                                                               */

/* Line of a reader error; for reader (encoding) errors, counted from the offset. */
static int s_problem_line(const yaml_parser_t *parser, const char *yaml, size_t len)
{
    if (parser->error == YAML_READER_ERROR) {
        int line = 1;
        for (size_t i = 0; i < parser->problem_offset && i < len; i++)
            line += yaml[i] == '\n';
        return line;
    }
    return (int)parser->problem_mark.line + 1;
}

static int s_syntax_error(struct s_ctx *c, const yaml_parser_t *parser, const char *yaml, size_t len)
{
    char where[48] = "";

    if (parser->error == YAML_MEMORY_ERROR)
        return rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory reading YAML", c->name);
    if (parser->context != NULL && parser->error != YAML_READER_ERROR &&
        parser->context_mark.line != parser->problem_mark.line)
        snprintf(where, sizeof where, " that starts on line %d",
                 (int)parser->context_mark.line + 1);
    return rls_err_set(c->err, RLS_ERR_PARSE, "%s:%d: YAML syntax error: %s%s%s%s", c->name,
                       s_problem_line(parser, yaml, len),
                       parser->problem ? parser->problem : "malformed",
                       parser->context ? " " : "", parser->context ? parser->context : "", where);
}

/* Refuses a text nested deeper than S_MAX_DEPTH before libyaml builds a
 * document: walks the event stream and stops at the first collection past the
 * limit (libyaml's scanner slows down quadratically with the flow level, so a
 * 200 KB "[[[[..." must be stopped early, not loaded). Syntax errors are left
 * to the loader, which reports them with their line. */
static int s_check_depth(struct s_ctx *c, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, rc = RLS_OK, done = 0;

    if (!yaml_parser_initialize(&parser))
        return rls_err_set(c->err, RLS_ERR_NOMEM, "%s: out of memory", c->name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev))
            break;  /* a syntax error: the loader reports it */
        switch (ev.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++depth > S_MAX_DEPTH) {
                rc = rls_err_set(c->err, RLS_ERR_PARSE,
                                 "%s:%d: YAML nested deeper than %d levels", c->name,
                                 (int)ev.start_mark.line + 1, S_MAX_DEPTH);
                done = 1;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int rls__scenario_parse_ex(const char *yaml, size_t len, const char *name, const char *basedir,
                           struct rls_scenario **out, struct rls_err *err)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int have_parser = 0, have_doc = 0, have_extra = 0;
    struct s_ctx c;
    struct rls_scenario *head = NULL;
    struct rls_scenario *sc = NULL;
    yaml_node_t *root = NULL;
    int32_t np = 0, nt = 0, ns = 0;
    struct rls__scenario_fail fail;
    int rc = RLS_OK;

    memset(&c, 0, sizeof c);
    c.name = name != NULL ? name : "scenario";
    c.err = err;
    c.doc = &doc;
    c.basedir = basedir;
    if (out == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: no output pointer", c.name);
    *out = NULL;
    if (yaml == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "%s: no text", c.name);
    if (len > S_MAX_BYTES)
        return rls_err_set(err, RLS_ERR_RANGE, "%s: %zu bytes, more than the %d KiB a scenario may hold",
                           c.name, len, S_MAX_BYTES >> 10);
    if ((rc = s_check_depth(&c, yaml, len)) != RLS_OK)
        return rc;

    if (!yaml_parser_initialize(&parser)) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", c.name);
        goto done;
    }
    have_parser = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = s_syntax_error(&c, &parser, yaml, len);
        goto done;
    }
    have_doc = 1;
    root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
        rc = rls_err_set(err, RLS_ERR_PARSE,
                         "%s:1: empty scenario (expected a mapping with pools, tenants and services)",
                         c.name);
        goto done;
    }
    if (!yaml_parser_load(&parser, &extra)) {
        rc = s_syntax_error(&c, &parser, yaml, len);
        goto done;
    }
    have_extra = 1;
    if (yaml_document_get_root_node(&extra) != NULL) {
        rc = rls_err_set(err, RLS_ERR_PARSE, "%s:%d: a scenario file holds one YAML document",
                         c.name, s_line(yaml_document_get_root_node(&extra)));
        goto done;
    }
    if (root->type != YAML_MAPPING_NODE) {
        rc = s_errf(&c, RLS_ERR_PARSE, s_line(root), NULL,
                    "expected a mapping (name:, pools:, tenants:, services:, ...), got %s",
                    s_node_kind(root));
        goto done;
    }

    /* top-level fields first (unknown keys are reported before missing lists) */
    head = rls_scenario_new(0, 0, 0);
    if (head == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", c.name);
        goto done;
    }
    c.sc = head;
    if ((rc = s_read_map(&c, root, head, s_root_fields, "", NULL)) != RLS_OK)
        goto done;
    if ((rc = s_list_len(&c, root, "pools", "node pool", &np)) ||
        (rc = s_list_len(&c, root, "tenants", "tenant", &nt)) ||
        (rc = s_list_len(&c, root, "services", "service", &ns)))
        goto done;

    sc = rls_scenario_new(np, nt, ns);
    if (sc == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory for %d services", c.name, ns);
        goto done;
    }
    {
        struct rls_node_pool *pools = sc->pools;
        struct rls_tenant *tenants = sc->tenants;
        struct rls_service_spec *services = sc->services;
        *sc = *head;
        sc->n_pools = np;
        sc->pools = pools;
        sc->n_tenants = nt;
        sc->tenants = tenants;
        sc->n_services = ns;
        sc->services = services;
    }
    snprintf(sc->source, sizeof sc->source, "%s", c.name);
    c.sc = sc;

    if ((rc = s_read_list(&c, root, "pools", sc->pools, sizeof *sc->pools, s_pool_fields, "pool")) ||
        (rc = s_read_list(&c, root, "tenants", sc->tenants, sizeof *sc->tenants, s_tenant_fields,
                          "tenant")))
        goto done;
    c.tenant_order = malloc((size_t)nt * sizeof *c.tenant_order);
    if (c.tenant_order == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", c.name);
        goto done;
    }
    for (int32_t i = 0; i < nt; i++) {
        c.tenant_order[i].name = sc->tenants[i].name;
        c.tenant_order[i].index = i;
    }
    qsort(c.tenant_order, (size_t)nt, sizeof *c.tenant_order, s_tenant_key_cmp);
    if ((rc = s_read_list(&c, root, "services", sc->services, sizeof *sc->services,
                          s_service_fields, "service")))
        goto done;

    rc = rls__scenario_check(sc, &fail);
    if (rc != RLS_OK) {
        rc = s_errf(&c, rc, s_find_line(&doc, fail.path), fail.path, "%s", fail.msg);
        goto done;
    }
    if (basedir != NULL && (rc = s_resolve_traces(&c, basedir)) != RLS_OK)
        goto done;

    *out = sc;
    sc = NULL;
    rls_err_clear(err);

done:
    free(c.tenant_order);
    rls_scenario_destroy(&head);
    rls_scenario_destroy(&sc);
    if (have_extra)
        yaml_document_delete(&extra);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    return rc;
}

int rls_scenario_parse(const char *yaml, size_t len, const char *name, struct rls_scenario **out,
                       struct rls_err *err)
{
    return rls__scenario_parse_ex(yaml, len, name, NULL, out, err);
}
