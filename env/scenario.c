/* scenario.c - cluster scenarios: allocation with documented defaults, deep
 * copy, the cross-field rules (rls_scenario_validate), the YAML writer,
 * file loading with trace-path resolution, and small queries.
 *
 * The YAML reader lives in scenario_yaml.c; the compiled-in default scenario
 * in scenario_default.c. The rules here are the single source of truth for
 * what a valid scenario is: the reader calls them and maps the failing field
 * path back to a line of the file.
 */
#include "scenario.h"
#include "scenario_internal.h"
#include "scenario_random.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* allocation                                                               */

struct rls_scenario *rls_scenario_new(int32_t n_pools, int32_t n_tenants, int32_t n_services)
{
    struct rls_scenario *sc = NULL;
    struct rls_trace_synth_params synth = rls_trace_synth_default_params();

    if (n_pools < 0 || n_tenants < 0 || n_services < 0)
        return NULL;
    sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return NULL;
    snprintf(sc->name, sizeof sc->name, "scenario");
    sc->step_s = 15.0;
    sc->horizon_steps = 5760;
    sc->start_s = 0.0;
    sc->start_jitter_s = 0.0;
    sc->poisson_noise = 1;
    sc->node_idle_s = 60.0;
    sc->seed = 1;
    sc->reward.cost = 1.0;
    sc->reward.slo = 4.0;
    sc->reward.drop = 8.0;
    sc->reward.churn = 0.1;

    if (n_pools > 0 && (sc->pools = calloc((size_t)n_pools, sizeof *sc->pools)) == NULL)
        goto fail;
    if (n_tenants > 0 && (sc->tenants = calloc((size_t)n_tenants, sizeof *sc->tenants)) == NULL)
        goto fail;
    if (n_services > 0 && (sc->services = calloc((size_t)n_services, sizeof *sc->services)) == NULL)
        goto fail;
    sc->n_pools = n_pools;
    sc->n_tenants = n_tenants;
    sc->n_services = n_services;

    for (int32_t i = 0; i < n_pools; i++) {
        struct rls_node_pool *p = &sc->pools[i];
        snprintf(p->name, sizeof p->name, "pool%" PRId32, i);
        p->count = 8;
        p->min_on = 0;
        p->cpu = 8.0;
        p->mem_gb = 32.0;
        p->price_per_hour = 0.40;
        p->boot_s = 90.0;
        p->mtbf_h = 0.0;
        p->repair_s = 600.0;
    }
    for (int32_t i = 0; i < n_tenants; i++) {
        struct rls_tenant *t = &sc->tenants[i];
        snprintf(t->name, sizeof t->name, "t%" PRId32, i);
        t->weight = 1.0;
        t->guaranteed_replicas = 0;
        t->max_replicas = 0;
    }
    for (int32_t i = 0; i < n_services; i++) {
        struct rls_service_spec *s = &sc->services[i];
        snprintf(s->name, sizeof s->name, "s%" PRId32, i);
        s->tenant = 0;
        s->capacity_rps = 50.0;
        s->service_time_ms = 50.0;
        s->cpu = 0.5;
        s->mem_gb = 0.5;
        s->cold_start_s = 30.0;
        s->min_replicas = 1;
        s->max_replicas = 10;
        s->initial_replicas = 0;
        s->slo_ms = 250.0;
        s->slo_percentile = 0.95;
        s->queue_limit = 1000;
        s->load.kind = RLS_LOAD_SYNTH;
        s->load.peak_rps = 100.0;
        s->load.shift_s = 0.0;
        s->load.time_scale = 1.0;
        s->load.seed = (uint64_t)i + 1;
        s->load.synth = synth;
    }
    return sc;

fail:
    rls_scenario_destroy(&sc);
    return NULL;
}

struct rls_scenario *rls_scenario_copy(const struct rls_scenario *sc)
{
    struct rls_scenario *c = NULL;

    if (sc == NULL || sc->n_pools < 0 || sc->n_tenants < 0 || sc->n_services < 0)
        return NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    *c = *sc;
    c->pools = NULL;
    c->tenants = NULL;
    c->services = NULL;
    if (sc->n_pools > 0) {
        c->pools = malloc((size_t)sc->n_pools * sizeof *c->pools);
        if (c->pools == NULL)
            goto fail;
        memcpy(c->pools, sc->pools, (size_t)sc->n_pools * sizeof *c->pools);
    }
    if (sc->n_tenants > 0) {
        c->tenants = malloc((size_t)sc->n_tenants * sizeof *c->tenants);
        if (c->tenants == NULL)
            goto fail;
        memcpy(c->tenants, sc->tenants, (size_t)sc->n_tenants * sizeof *c->tenants);
    }
    if (sc->n_services > 0) {
        c->services = malloc((size_t)sc->n_services * sizeof *c->services);
        if (c->services == NULL)
            goto fail;
        memcpy(c->services, sc->services, (size_t)sc->n_services * sizeof *c->services);
    }
    return c;

fail:
    rls_scenario_destroy(&c);
    return NULL;
}

void rls_scenario_destroy(struct rls_scenario **sc)
{
    if (sc == NULL || *sc == NULL)
        return;
    free((*sc)->pools);
    free((*sc)->tenants);
    free((*sc)->services);
    free(*sc);
    *sc = NULL;
}

/* ------------------------------------------------------------------------ */
/* queries                                                                  */

double rls_scenario_total_cpu(const struct rls_scenario *sc)
{
    double total = 0.0;
    if (sc == NULL)
        return 0.0;
    for (int32_t i = 0; i < sc->n_pools; i++)
        total += (double)sc->pools[i].count * sc->pools[i].cpu;
    return total;
}

double rls_scenario_total_mem_gb(const struct rls_scenario *sc)
{
    double total = 0.0;
    if (sc == NULL)
        return 0.0;
    for (int32_t i = 0; i < sc->n_pools; i++)
        total += (double)sc->pools[i].count * sc->pools[i].mem_gb;
    return total;
}

double rls_scenario_max_cost_per_hour(const struct rls_scenario *sc)
{
    double total = 0.0;
    if (sc == NULL)
        return 0.0;
    for (int32_t i = 0; i < sc->n_pools; i++)
        total += (double)sc->pools[i].count * sc->pools[i].price_per_hour;
    return total;
}

int64_t rls_scenario_total_nodes(const struct rls_scenario *sc)
{
    int64_t total = 0;
    if (sc == NULL)
        return 0;
    for (int32_t i = 0; i < sc->n_pools; i++)
        total += sc->pools[i].count;
    return total;
}

double rls_scenario_peak_demand_cpu(const struct rls_scenario *sc)
{
    double total = 0.0;
    if (sc == NULL)
        return 0.0;
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        if (s->capacity_rps > 0.0 && s->load.peak_rps > 0.0)
            total += ceil(s->load.peak_rps / s->capacity_rps) * s->cpu;
    }
    return total;
}

int rls_scenario_find_service(const struct rls_scenario *sc, const char *name)
{
    if (sc == NULL || name == NULL)
        return -1;
    for (int32_t i = 0; i < sc->n_services; i++)
        if (strcmp(sc->services[i].name, name) == 0)
            return (int)i;
    return -1;
}

int rls_scenario_find_tenant(const struct rls_scenario *sc, const char *name)
{
    if (sc == NULL || name == NULL)
        return -1;
    for (int32_t i = 0; i < sc->n_tenants; i++)
        if (strcmp(sc->tenants[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *rls_scenario_load_kind_name(enum rls_load_kind kind)
{
    switch (kind) {
    case RLS_LOAD_SYNTH: return "synth";
    case RLS_LOAD_TRACE: return "trace";
    case RLS_LOAD_CONST: return "const";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* validation                                                               */

static int s_fail(struct rls__scenario_fail *f, int status, const char *prefix, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int s_fail(struct rls__scenario_fail *f, int status, const char *prefix, const char *key,
                  const char *fmt, ...)
{
    va_list ap;
    f->status = status;
    snprintf(f->path, sizeof f->path, "%s%s", prefix, key);
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    return status;
}

/* v must be finite, > lo (lo_open) or >= lo, and <= hi. */
static int s_range(struct rls__scenario_fail *f, const char *prefix, const char *key, double v,
                   double lo, int lo_open, double hi)
{
    if (!isfinite(v))
        return s_fail(f, RLS_ERR_RANGE, prefix, key, "must be a finite number");
    if (lo_open ? !(v > lo) : !(v >= lo))
        return s_fail(f, RLS_ERR_RANGE, prefix, key, "must be %s %g (got %g)",
                      lo_open ? ">" : ">=", lo, v);
    if (v > hi)
        return s_fail(f, RLS_ERR_RANGE, prefix, key, "must be at most %g (got %g)", hi, v);
    return RLS_OK;
}

static int s_irange(struct rls__scenario_fail *f, const char *prefix, const char *key, int64_t v,
                    int64_t lo, int64_t hi)
{
    if (v < lo)
        return s_fail(f, RLS_ERR_RANGE, prefix, key, "must be >= %" PRId64 " (got %" PRId64 ")",
                      lo, v);
    if (v > hi)
        return s_fail(f, RLS_ERR_RANGE, prefix, key,
                      "must be at most %" PRId64 " (got %" PRId64 ")", hi, v);
    return RLS_OK;
}

int rls__scenario_name_ok(const char *name, size_t cap)
{
    size_t n = strnlen(name, cap);
    if (n == 0 || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        if (!ok)
            return 0;
    }
    return 1;
}

int rls__scenario_text_ok(const char *text, size_t cap)
{
    size_t n = strnlen(text, cap);
    if (n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            return 0;
    return 1;
}

static int s_check_name(struct rls__scenario_fail *f, const char *prefix, const char *name)
{
    if (!rls__scenario_name_ok(name, RLS_NAME_MAX))
        return s_fail(f, RLS_ERR_INVALID, prefix, "name",
                      "must be 1 to %d characters of A-Z a-z 0-9 _ - .", RLS_NAME_MAX - 1);
    return RLS_OK;
}

/* Names sorted by (name, index), to find duplicates in O(n log n). */
struct s_named {
    const char *name;
    int32_t index;
};

static int s_named_cmp(const void *a, const void *b)
{
    const struct s_named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/* Finds the duplicate whose later occurrence comes first in the list; returns
 * 1 and sets *first and *second, or 0. `name_at` gives the name of item i. */
static int s_find_duplicate(int32_t n, const char *(*name_at)(const void *, int32_t),
                            const void *items, int32_t *first, int32_t *second, int *nomem)
{
    struct s_named *v = NULL;
    int found = 0;

    *nomem = 0;
    if (n < 2)
        return 0;
    v = malloc((size_t)n * sizeof *v);
    if (v == NULL) {
        *nomem = 1;
        return 0;
    }
    for (int32_t i = 0; i < n; i++) {
        v[i].name = name_at(items, i);
        v[i].index = i;
    }
    qsort(v, (size_t)n, sizeof *v, s_named_cmp);
    for (int32_t i = 1; i < n; i++) {
        if (strcmp(v[i - 1].name, v[i].name) == 0 && (!found || v[i].index < *second)) {
            *first = v[i - 1].index;
            *second = v[i].index;
            found = 1;
        }
    }
    free(v);
    return found;
}

static const char *s_pool_name(const void *items, int32_t i)
{
    return ((const struct rls_node_pool *)items)[i].name;
}

static const char *s_tenant_name(const void *items, int32_t i)
{
    return ((const struct rls_tenant *)items)[i].name;
}

static const char *s_service_name(const void *items, int32_t i)
{
    return ((const struct rls_service_spec *)items)[i].name;
}

static int s_check_dups(struct rls__scenario_fail *f, const char *list, int32_t n,
                        const char *(*name_at)(const void *, int32_t), const void *items)
{
    int32_t a = 0, b = 0;
    int nomem = 0;
    char prefix[64];

    if (s_find_duplicate(n, name_at, items, &a, &b, &nomem)) {
        snprintf(prefix, sizeof prefix, "%s[%" PRId32 "].", list, b);
        return s_fail(f, RLS_ERR_INVALID, prefix, "name", "duplicate name '%s' (also %s[%" PRId32 "])",
                      name_at(items, b), list, a);
    }
    if (nomem)
        return s_fail(f, RLS_ERR_NOMEM, list, "", "out of memory");
    return RLS_OK;
}

static int s_check_synth(struct rls__scenario_fail *f, const char *prefix,
                         const struct rls_trace_synth_params *p)
{
    int rc = RLS_OK;
    if ((rc = s_range(f, prefix, "step_s", p->step_s, 0, 1, 86400.0)) ||
        (rc = s_range(f, prefix, "duration_s", p->duration_s, 0, 1, 1e9)) ||
        (rc = s_range(f, prefix, "base_rps", p->base_rps, 0, 0, 1e9)) ||
        (rc = s_range(f, prefix, "diurnal_amp", p->diurnal_amp, 0, 0, 1.0)) ||
        (rc = s_range(f, prefix, "peak_hour", p->peak_hour, 0, 0, 24.0)) ||
        (rc = s_range(f, prefix, "weekly_amp", p->weekly_amp, 0, 0, 1.0)) ||
        (rc = s_range(f, prefix, "trend_per_day", p->trend_per_day, -1.0, 1, 10.0)) ||
        (rc = s_range(f, prefix, "noise", p->noise, 0, 0, 2.0)) ||
        (rc = s_range(f, prefix, "flash_per_day", p->flash_per_day, 0, 0, 1000.0)) ||
        (rc = s_range(f, prefix, "flash_mult", p->flash_mult, 1.0, 0, 1000.0)) ||
        (rc = s_range(f, prefix, "flash_dur_s", p->flash_dur_s, 0, 1, 1e7)) ||
        (rc = s_range(f, prefix, "outage_per_day", p->outage_per_day, 0, 0, 1000.0)) ||
        (rc = s_range(f, prefix, "outage_dur_s", p->outage_dur_s, 0, 1, 1e7)) ||
        (rc = s_range(f, prefix, "start_epoch_s", p->start_epoch_s, 0, 0, 1e11)))
        return rc;
    if (p->peak_hour >= 24.0)
        return s_fail(f, RLS_ERR_RANGE, prefix, "peak_hour", "must be < 24 (got %g)", p->peak_hour);
    if (p->duration_s < p->step_s)
        return s_fail(f, RLS_ERR_RANGE, prefix, "duration_s", "must be >= step_s (%g < %g)",
                      p->duration_s, p->step_s);
    if (p->duration_s / p->step_s > (double)RLS__SCENARIO_MAX_SAMPLES)
        return s_fail(f, RLS_ERR_RANGE, prefix, "duration_s",
                      "makes %.0f samples of step_s %g; at most %d", p->duration_s / p->step_s,
                      p->step_s, RLS__SCENARIO_MAX_SAMPLES);
    return RLS_OK;
}

static int s_check_service(struct rls__scenario_fail *f, const struct rls_scenario *sc, int32_t i)
{
    const struct rls_service_spec *s = &sc->services[i];
    const struct rls_load_spec *l = &s->load;
    char p[64], lp[80], sp[96];
    int rc = RLS_OK;
    int fits = 0;

    snprintf(p, sizeof p, "services[%" PRId32 "].", i);
    snprintf(lp, sizeof lp, "%sload.", p);
    snprintf(sp, sizeof sp, "%ssynth.", lp);
    if ((rc = s_check_name(f, p, s->name)))
        return rc;
    if (s->tenant < 0 || s->tenant >= sc->n_tenants)
        return s_fail(f, RLS_ERR_INVALID, p, "tenant", "tenant index %" PRId32
                      " is not one of the %" PRId32 " tenants", s->tenant, sc->n_tenants);
    if ((rc = s_range(f, p, "capacity_rps", s->capacity_rps, 0, 1, 1e9)) ||
        (rc = s_range(f, p, "service_time_ms", s->service_time_ms, 0, 1, 1e7)) ||
        (rc = s_range(f, p, "cpu", s->cpu, 0, 1, 1e4)) ||
        (rc = s_range(f, p, "mem_gb", s->mem_gb, 0, 0, 1e6)) ||
        (rc = s_range(f, p, "cold_start_s", s->cold_start_s, 0, 0, 86400.0)) ||
        (rc = s_irange(f, p, "min_replicas", s->min_replicas, 0, RLS__SCENARIO_MAX_COUNT)) ||
        (rc = s_irange(f, p, "max_replicas", s->max_replicas, 1, RLS__SCENARIO_MAX_COUNT)))
        return rc;
    if (s->max_replicas < s->min_replicas)
        return s_fail(f, RLS_ERR_INVALID, p, "max_replicas",
                      "must be >= min_replicas (%" PRId32 " < %" PRId32 ")", s->max_replicas,
                      s->min_replicas);
    if ((rc = s_irange(f, p, "initial_replicas", s->initial_replicas, 0, s->max_replicas)))
        return rc;
    if (s->initial_replicas > 0 && s->initial_replicas < s->min_replicas)
        return s_fail(f, RLS_ERR_INVALID, p, "initial_replicas",
                      "must be 0 (= min_replicas) or >= min_replicas (%" PRId32 " < %" PRId32 ")",
                      s->initial_replicas, s->min_replicas);
    if ((rc = s_range(f, p, "slo_ms", s->slo_ms, 0, 1, 1e7)))
        return rc;
    if (!isfinite(s->slo_percentile) || !(s->slo_percentile > 0.0 && s->slo_percentile < 1.0))
        return s_fail(f, RLS_ERR_RANGE, p, "slo_percentile",
                      "must be strictly between 0 and 1 (got %g)", s->slo_percentile);
    if ((rc = s_irange(f, p, "queue_limit", s->queue_limit, 0, RLS__SCENARIO_MAX_QUEUE)))
        return rc;
    /* the HPA's bounds lie within the service's (hpa_manifest.h) */
    if (s->hpa.present && (s->hpa.max_replicas > s->max_replicas || s->hpa.max_replicas < 1))
        return s_fail(f, RLS_ERR_RANGE, p, "hpa.spec.maxReplicas",
                      "%" PRId32 " outside the service's [1, max_replicas %" PRId32 "]",
                      s->hpa.max_replicas, s->max_replicas);
    if (s->hpa.present && (s->hpa.min_replicas < s->min_replicas ||
                           s->hpa.min_replicas > s->hpa.max_replicas))
        return s_fail(f, RLS_ERR_RANGE, p, "hpa.spec.minReplicas",
                      "%" PRId32 " outside [the service's min_replicas %" PRId32 ", maxReplicas %" PRId32 "]",
                      s->hpa.min_replicas, s->min_replicas, s->hpa.max_replicas);
    for (int32_t k = 0; k < sc->n_pools && !fits; k++)
        fits = s->cpu <= sc->pools[k].cpu && s->mem_gb <= sc->pools[k].mem_gb;
    if (!fits)
        return s_fail(f, RLS_ERR_INFEASIBLE, p, "cpu",
                      "a replica (%g cores, %g GiB) fits on no node of any pool", s->cpu,
                      s->mem_gb);

    if (l->kind != RLS_LOAD_SYNTH && l->kind != RLS_LOAD_TRACE && l->kind != RLS_LOAD_CONST)
        return s_fail(f, RLS_ERR_INVALID, lp, "kind", "must be synth, trace or const");
    if ((rc = s_range(f, lp, "peak_rps", l->peak_rps, 0, 0, 1e9)) ||
        (rc = s_range(f, lp, "shift_s", l->shift_s, 0, 0, 1e10)) ||
        (rc = s_range(f, lp, "time_scale", l->time_scale, 0, 1, 1e6)))
        return rc;
    if (l->kind == RLS_LOAD_TRACE) {
        if (!rls__scenario_text_ok(l->path, sizeof l->path) || l->path[0] == '\0')
            return s_fail(f, RLS_ERR_INVALID, lp, "path",
                          "a trace load needs a file path (no control characters, < %d bytes)",
                          RLS_PATH_MAX);
        if (!rls__scenario_text_ok(l->column, sizeof l->column))
            return s_fail(f, RLS_ERR_INVALID, lp, "column",
                          "must be < %d bytes without control characters", RLS_NAME_MAX);
    }
    if (l->kind == RLS_LOAD_SYNTH && (rc = s_check_synth(f, sp, &l->synth)))
        return rc;
    return RLS_OK;
}

int rls__scenario_check(const struct rls_scenario *sc, struct rls__scenario_fail *f)
{
    int rc = RLS_OK;
    int64_t nodes = 0;
    char p[64];

    memset(f, 0, sizeof *f);
    if (sc == NULL)
        return s_fail(f, RLS_ERR_INVALID, "", "", "no scenario");
    if (!rls__scenario_name_ok(sc->name, sizeof sc->name))
        return s_fail(f, RLS_ERR_INVALID, "", "name",
                      "must be 1 to %d characters of A-Z a-z 0-9 _ - .", RLS_NAME_MAX - 1);
    if ((rc = s_range(f, "", "step_s", sc->step_s, 0, 1, 86400.0)) ||
        (rc = s_irange(f, "", "horizon_steps", sc->horizon_steps, 1, RLS__SCENARIO_MAX_HORIZON)) ||
        (rc = s_range(f, "", "start_s", sc->start_s, 0, 0, 1e10)) ||
        (rc = s_range(f, "", "start_jitter_s", sc->start_jitter_s, 0, 0, 1e10)) ||
        (rc = s_irange(f, "", "poisson_noise", sc->poisson_noise, 0, 1)) ||
        (rc = s_range(f, "", "node_idle_s", sc->node_idle_s, 0, 0, 1e7)) ||
        (rc = s_range(f, "", "reward.cost", sc->reward.cost, 0, 0, 1e6)) ||
        (rc = s_range(f, "", "reward.slo", sc->reward.slo, 0, 0, 1e6)) ||
        (rc = s_range(f, "", "reward.drop", sc->reward.drop, 0, 0, 1e6)) ||
        (rc = s_range(f, "", "reward.churn", sc->reward.churn, 0, 0, 1e6)))
        return rc;

    if (sc->n_pools < 1 || sc->pools == NULL)
        return s_fail(f, RLS_ERR_INVALID, "", "pools", "must list at least one node pool");
    if (sc->n_tenants < 1 || sc->tenants == NULL)
        return s_fail(f, RLS_ERR_INVALID, "", "tenants", "must list at least one tenant");
    if (sc->n_services < 1 || sc->services == NULL)
        return s_fail(f, RLS_ERR_INVALID, "", "services", "must list at least one service");
    if (sc->n_pools > RLS__SCENARIO_MAX_COUNT || sc->n_tenants > RLS__SCENARIO_MAX_COUNT ||
        sc->n_services > RLS__SCENARIO_MAX_COUNT)
        return s_fail(f, RLS_ERR_RANGE, "",
                      sc->n_pools > RLS__SCENARIO_MAX_COUNT ? "pools"
                      : sc->n_tenants > RLS__SCENARIO_MAX_COUNT ? "tenants" : "services",
                      "at most %d entries", RLS__SCENARIO_MAX_COUNT);

    for (int32_t i = 0; i < sc->n_pools; i++) {
        const struct rls_node_pool *pl = &sc->pools[i];
        snprintf(p, sizeof p, "pools[%" PRId32 "].", i);
        if ((rc = s_check_name(f, p, pl->name)) ||
            (rc = s_irange(f, p, "count", pl->count, 1, RLS__SCENARIO_MAX_COUNT)) ||
            (rc = s_irange(f, p, "min_on", pl->min_on, 0, pl->count)) ||
            (rc = s_range(f, p, "cpu", pl->cpu, 0, 1, 1e4)) ||
            (rc = s_range(f, p, "mem_gb", pl->mem_gb, 0, 1, 1e6)) ||
            (rc = s_range(f, p, "price_per_hour", pl->price_per_hour, 0, 0, 1e4)) ||
            (rc = s_range(f, p, "boot_s", pl->boot_s, 0, 0, 86400.0)) ||
            (rc = s_range(f, p, "mtbf_h", pl->mtbf_h, 0, 0, 1e9)) ||
            (rc = s_range(f, p, "repair_s", pl->repair_s, 0, 0, 1e7)))
            return rc;
        nodes += pl->count;
        if (nodes > RLS__SCENARIO_MAX_COUNT)
            return s_fail(f, RLS_ERR_RANGE, p, "count",
                          "the pools hold more than %d nodes in all", RLS__SCENARIO_MAX_COUNT);
    }
    if ((rc = s_check_dups(f, "pools", sc->n_pools, s_pool_name, sc->pools)))
        return rc;

    for (int32_t i = 0; i < sc->n_tenants; i++) {
        const struct rls_tenant *t = &sc->tenants[i];
        snprintf(p, sizeof p, "tenants[%" PRId32 "].", i);
        if ((rc = s_check_name(f, p, t->name)) ||
            (rc = s_range(f, p, "weight", t->weight, 0, 1, 1e6)) ||
            (rc = s_irange(f, p, "guaranteed_replicas", t->guaranteed_replicas, 0,
                           RLS__SCENARIO_MAX_COUNT)) ||
            (rc = s_irange(f, p, "max_replicas", t->max_replicas, 0, RLS__SCENARIO_MAX_COUNT)))
            return rc;
        if (t->max_replicas > 0 && t->guaranteed_replicas > t->max_replicas)
            return s_fail(f, RLS_ERR_INVALID, p, "guaranteed_replicas",
                          "must be <= max_replicas (%" PRId32 " > %" PRId32 ")",
                          t->guaranteed_replicas, t->max_replicas);
    }
    if ((rc = s_check_dups(f, "tenants", sc->n_tenants, s_tenant_name, sc->tenants)))
        return rc;

    for (int32_t i = 0; i < sc->n_services; i++)
        if ((rc = s_check_service(f, sc, i)))
            return rc;
    if ((rc = s_check_dups(f, "services", sc->n_services, s_service_name, sc->services)))
        return rc;
    return RLS_OK;
}

int rls_scenario_validate(const struct rls_scenario *sc, struct rls_err *err)
{
    struct rls__scenario_fail f;
    int rc = rls__scenario_check(sc, &f);

    if (rc == RLS_OK)
        return RLS_OK;
    if (sc != NULL && sc->source[0] != '\0')
        return rls_err_set(err, rc, "%s: field '%s': %s", sc->source, f.path, f.msg);
    return rls_err_set(err, rc, "field '%s': %s", f.path, f.msg);
}

/* ------------------------------------------------------------------------ */
/* YAML writer                                                              */

/* Shortest decimal that reads back to exactly v. */
static void s_fmt_double(char *buf, size_t cap, double v)
{
    if (v == 0.0) {
        snprintf(buf, cap, "0");
        return;
    }
    if (isfinite(v) && fabs(v) < 1e15 && v == floor(v)) {
        snprintf(buf, cap, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
    snprintf(buf, cap, "%.17g", v);
}

static void s_put_double(FILE *f, const char *key, double v, const char *sep)
{
    char buf[40];
    s_fmt_double(buf, sizeof buf, v);
    fprintf(f, "%s: %s%s", key, buf, sep);
}

/* Double-quoted YAML string with escapes. */
static void s_put_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A name as a plain scalar when no YAML reader could take it for anything but
 * a string, else quoted. */
static void s_put_name(FILE *f, const char *name)
{
    static const char *const s_reserved[] = {"true", "false", "yes", "no", "on", "off", "null",
                                             "y", "n", NULL};
    int plain = rls__scenario_name_ok(name, RLS_NAME_MAX) &&
                ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'));
    for (int i = 0; plain && s_reserved[i]; i++)
        if (strcasecmp(name, s_reserved[i]) == 0)
            plain = 0;
    if (plain)
        fputs(name, f);
    else
        s_put_quoted(f, name);
}

static void s_write_synth(FILE *f, const struct rls_trace_synth_params *p)
{
    fputs("      synth: {", f);
    s_put_double(f, "step_s", p->step_s, ", ");
    s_put_double(f, "duration_s", p->duration_s, ", ");
    s_put_double(f, "base_rps", p->base_rps, ", ");
    s_put_double(f, "diurnal_amp", p->diurnal_amp, ", ");
    s_put_double(f, "peak_hour", p->peak_hour, ",\n              ");
    s_put_double(f, "weekly_amp", p->weekly_amp, ", ");
    s_put_double(f, "trend_per_day", p->trend_per_day, ", ");
    s_put_double(f, "noise", p->noise, ", ");
    s_put_double(f, "flash_per_day", p->flash_per_day, ", ");
    s_put_double(f, "flash_mult", p->flash_mult, ",\n              ");
    s_put_double(f, "flash_dur_s", p->flash_dur_s, ", ");
    s_put_double(f, "outage_per_day", p->outage_per_day, ", ");
    s_put_double(f, "outage_dur_s", p->outage_dur_s, ", ");
    s_put_double(f, "start_epoch_s", p->start_epoch_s, "}\n");
}

int rls_scenario_write_yaml(const struct rls_scenario *sc, FILE *f)
{
    if (sc == NULL || f == NULL)
        return RLS_ERR_INVALID;
    fprintf(f, "# rlsched scenario (every field written out; see docs/SCENARIO.md)\n");
    fputs("name: ", f);
    s_put_name(f, sc->name);
    fputs("\n", f);
    s_put_double(f, "step_s", sc->step_s, "\n");
    fprintf(f, "horizon_steps: %" PRId32 "\n", sc->horizon_steps);
    s_put_double(f, "start_s", sc->start_s, "\n");
    s_put_double(f, "start_jitter_s", sc->start_jitter_s, "\n");
    fprintf(f, "poisson_noise: %s\n", sc->poisson_noise ? "true" : "false");
    s_put_double(f, "node_idle_s", sc->node_idle_s, "\n");
    fprintf(f, "seed: %" PRIu64 "\n", sc->seed);
    fputs("reward: {", f);
    s_put_double(f, "cost", sc->reward.cost, ", ");
    s_put_double(f, "slo", sc->reward.slo, ", ");
    s_put_double(f, "drop", sc->reward.drop, ", ");
    s_put_double(f, "churn", sc->reward.churn, "}\n");

    fputs("pools:\n", f);
    for (int32_t i = 0; i < sc->n_pools; i++) {
        const struct rls_node_pool *p = &sc->pools[i];
        fputs("  - {name: ", f);
        s_put_name(f, p->name);
        fprintf(f, ", count: %" PRId32 ", min_on: %" PRId32 ", ", p->count, p->min_on);
        s_put_double(f, "cpu", p->cpu, ", ");
        s_put_double(f, "mem_gb", p->mem_gb, ", ");
        s_put_double(f, "price_per_hour", p->price_per_hour, ",\n     ");
        s_put_double(f, "boot_s", p->boot_s, ", ");
        s_put_double(f, "mtbf_h", p->mtbf_h, ", ");
        s_put_double(f, "repair_s", p->repair_s, "}\n");
    }
    fputs("tenants:\n", f);
    for (int32_t i = 0; i < sc->n_tenants; i++) {
        const struct rls_tenant *t = &sc->tenants[i];
        fputs("  - {name: ", f);
        s_put_name(f, t->name);
        fputs(", ", f);
        s_put_double(f, "weight", t->weight, ", ");
        fprintf(f, "guaranteed_replicas: %" PRId32 ", max_replicas: %" PRId32 "}\n",
                t->guaranteed_replicas, t->max_replicas);
    }
    fputs("services:\n", f);
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        const struct rls_load_spec *l = &s->load;
        fputs("  - name: ", f);
        s_put_name(f, s->name);
        fputs("\n    tenant: ", f);
        if (s->tenant >= 0 && s->tenant < sc->n_tenants)
            s_put_name(f, sc->tenants[s->tenant].name);
        else
            fputs("\"\"", f);  /* invalid index: reading it back fails loudly */
        fputs("\n", f);
        s_put_double(f, "    capacity_rps", s->capacity_rps, "\n");
        s_put_double(f, "    service_time_ms", s->service_time_ms, "\n");
        s_put_double(f, "    cpu", s->cpu, "\n");
        s_put_double(f, "    mem_gb", s->mem_gb, "\n");
        s_put_double(f, "    cold_start_s", s->cold_start_s, "\n");
        fprintf(f, "    min_replicas: %" PRId32 "\n", s->min_replicas);
        fprintf(f, "    max_replicas: %" PRId32 "\n", s->max_replicas);
        fprintf(f, "    initial_replicas: %" PRId32 "\n", s->initial_replicas);
        s_put_double(f, "    slo_ms", s->slo_ms, "\n");
        s_put_double(f, "    slo_percentile", s->slo_percentile, "\n");
        fprintf(f, "    queue_limit: %" PRId32 "\n", s->queue_limit);
        if (s->hpa.present) {
            fputs("    hpa:\n", f);
            if (rls_hpa_manifest_write(&s->hpa, 6, f) != RLS_OK)
                return RLS_ERR_IO;
        }
        fprintf(f, "    load:\n      kind: %s\n", rls_scenario_load_kind_name(l->kind));
        /* every field, even those the kind does not use, so that reading
           the text back gives an equal struct */
        if (l->kind == RLS_LOAD_TRACE || l->path[0] != '\0') {
            fputs("      path: ", f);
            s_put_quoted(f, l->path);
            fputs("\n", f);
        }
        if (l->kind == RLS_LOAD_TRACE || l->column[0] != '\0') {
            fputs("      column: ", f);
            s_put_quoted(f, l->column);
            fputs("\n", f);
        }
        s_put_double(f, "      peak_rps", l->peak_rps, "\n");
        s_put_double(f, "      shift_s", l->shift_s, "\n");
        s_put_double(f, "      time_scale", l->time_scale, "\n");
        fprintf(f, "      seed: %" PRIu64 "\n", l->seed);
        s_write_synth(f, &l->synth);
    }
    fflush(f);
    return ferror(f) ? RLS_ERR_IO : RLS_OK;
}

/* ------------------------------------------------------------------------ */
/* loading                                                                  */

/* Reads a whole file (at most RLS__SCENARIO_MAX_BYTES) into a NUL-terminated
 * buffer the caller frees. */
static int s_read_file(const char *path, char **out, size_t *len, struct rls_err *err)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = RLS_OK;
    struct stat st;

    *out = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: is a folder, not a scenario file", path);
        goto done;
    }
    for (;;) {
        size_t got;
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = NULL;
            if (ncap > RLS__SCENARIO_MAX_BYTES + 2)
                ncap = RLS__SCENARIO_MAX_BYTES + 2;
            if (n + 1 >= ncap) {
                rc = rls_err_set(err, RLS_ERR_RANGE, "%s: larger than %d bytes", path,
                                 RLS__SCENARIO_MAX_BYTES);
                goto done;
            }
            nb = realloc(buf, ncap);
            if (nb == NULL) {
                rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: read error", path);
        goto done;
    }
    if (n > RLS__SCENARIO_MAX_BYTES) {
        rc = rls_err_set(err, RLS_ERR_RANGE, "%s: larger than %d bytes", path,
                         RLS__SCENARIO_MAX_BYTES);
        goto done;
    }
    if (buf == NULL && (buf = malloc(1)) == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;

done:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

/* Parses all of s as a decimal uint64; 0 on success, -1 otherwise. */
static int s_parse_u64(const char *s, uint64_t *v)
{
    char *end = NULL;
    unsigned long long x;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0')
        return -1;
    *v = (uint64_t)x;
    return 0;
}

/* "random:SEED[:services=N]": rls_scenario_random with the default params
 * (services=N: exactly N services, e.g. so that recordings of many draws
 * share one replay file's shape) and the trace library named by
 * RLS_TRACE_LIB (none: synthetic shapes only). */
static int s_load_random(const char *spec, struct rls_scenario **out, struct rls_err *err)
{
    struct rls_scenario_random_params p = rls_scenario_random_default_params();
    const char *lib = getenv("RLS_TRACE_LIB");
    const char *opt = strstr(spec + strlen("random:"), ":services=");
    char **files = NULL, num[32];
    int32_t n = 0;
    uint64_t seed = 0, services = 0;
    int rc = RLS_OK;
    size_t len = opt ? (size_t)(opt - spec - strlen("random:")) : strlen(spec + strlen("random:"));

    if (len == 0 || len >= sizeof num)
        return rls_err_set(err, RLS_ERR_INVALID,
                           "scenario '%s': expected random:SEED[:services=N] with SEED a non-negative integer",
                           spec);
    memcpy(num, spec + strlen("random:"), len);
    num[len] = '\0';
    if (s_parse_u64(num, &seed) != 0 ||
        (opt && (s_parse_u64(opt + strlen(":services="), &services) != 0 || services < 1 ||
                 services > (uint64_t)p.max_services * 100)))
        return rls_err_set(err, RLS_ERR_INVALID,
                           "scenario '%s': expected random:SEED[:services=N] with SEED a non-negative integer",
                           spec);
    if (opt)
        p.min_services = p.max_services = (int32_t)services;
    if (lib != NULL && lib[0] != '\0') {
        rc = rls_scenario_random_list_traces(lib, &files, &n, err);
        if (rc != RLS_OK) {
            if (err != NULL) {
                struct rls_err inner = *err;
                rls_err_set(err, rc, "RLS_TRACE_LIB: %s", inner.msg);
            }
            goto done;
        }
        p.trace_files = (const char *const *)files;
        p.n_trace_files = n;
    }
    rc = rls_scenario_random(&p, seed, out, err);
done:
    rls_scenario_random_free_list(&files, n);
    return rc;
}

#define S_LOAD_SEED_SUFFIX ":load-seed="

/* NAME:load-seed=N (when NAME:load-seed=N is not itself a file): loads NAME
 * and perturbs its loads with N (rls_scenario_perturb_loads). Returns 1 and
 * the status in *rc when the suffix was there, else 0. */
static int s_load_with_load_seed(const char *path, struct rls_scenario **out, struct rls_err *err,
                                 int *rc)
{
    const char *at = strstr(path, S_LOAD_SEED_SUFFIX);
    const char *last = at;
    char base[RLS_PATH_MAX];
    uint64_t load_seed = 0;
    struct stat st;

    while (last != NULL && (at = strstr(last + 1, S_LOAD_SEED_SUFFIX)) != NULL)
        last = at;
    if (last == NULL || stat(path, &st) == 0)
        return 0;
    if (s_parse_u64(last + strlen(S_LOAD_SEED_SUFFIX), &load_seed) != 0) {
        *rc = rls_err_set(err, RLS_ERR_INVALID,
                          "scenario '%s': expected NAME:load-seed=N with N a non-negative integer",
                          path);
        return 1;
    }
    if ((size_t)(last - path) >= sizeof base) {
        *rc = rls_err_set(err, RLS_ERR_RANGE, "scenario '%s': name too long", path);
        return 1;
    }
    memcpy(base, path, (size_t)(last - path));
    base[last - path] = '\0';
    *rc = rls_scenario_load(base, out, err);
    if (*rc == RLS_OK && (*rc = rls_scenario_perturb_loads(*out, load_seed, err)) != RLS_OK)
        rls_scenario_destroy(out);
    if (*rc == RLS_OK && load_seed != 0) {
        char name[RLS_NAME_MAX + 32];
        snprintf((*out)->source, sizeof (*out)->source, "%s", path);
        snprintf(name, sizeof name, "%s-loads%" PRIu64, (*out)->name, load_seed);
        if (strlen(name) < sizeof (*out)->name)
            memcpy((*out)->name, name, strlen(name) + 1);
    }
    return 1;
}

int rls_scenario_load(const char *path, struct rls_scenario **out, struct rls_err *err)
{
    char *text = NULL;
    size_t len = 0;
    char basedir[RLS_PATH_MAX];
    int rc = RLS_OK;

    if (out == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_scenario_load: out is NULL");
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return rls_err_set(err, RLS_ERR_INVALID, "rls_scenario_load: no path");
    if (s_load_with_load_seed(path, out, err, &rc))
        return rc;
    if (strncmp(path, "random:", strlen("random:")) == 0 && access(path, R_OK) != 0)
        return s_load_random(path, out, err);
    if (strcmp(path, "default") == 0) {
        const char *y = rls_scenario_default_yaml();
        rc = rls__scenario_parse_ex(y, strlen(y), "default", NULL, out, err);
        goto done;
    }
    rc = rls__scenario_basedir(path, basedir, sizeof basedir);
    if (rc != RLS_OK) {
        rc = rls_err_set(err, rc, "%s: cannot resolve its folder (path too long?)", path);
        goto done;
    }
    if ((rc = s_read_file(path, &text, &len, err)) != RLS_OK)
        goto done;
    rc = rls__scenario_parse_ex(text, len, path, basedir, out, err);

done:
    free(text);
    return rc;
}

char *rls_scenario_to_yaml(const struct rls_scenario *sc, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    if (len)
        *len = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    int rc = rls_scenario_write_yaml(sc, f);
    if (fclose(f) != 0 || rc != RLS_OK) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}
