/* scenario_random.c - the random scenario generator (scenario_random.h): node
 * pools, tenants, services and one load per service, all drawn from a private
 * xoshiro256** stream seeded by the scenario seed.
 *
 * Each load's peak is placed exactly: the generator builds the series the way
 * the simulator will (env/sim.c: load or synthesize, play time_scale times
 * faster, resample to the control step, clean, take the maximum) and sets
 * peak_rps so that the episode's own window peaks at the drawn fraction of the
 * service's max_replicas x capacity_rps. The scenario stores loads as every
 * scenario does (synth parameters, or a trace path with shift and time scale),
 * so it is written to YAML and read back like any other.
 */
#include "scenario_random.h"
#include "scenario_internal.h"
#include "sim.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rng.h"
#include "trace.h"

#define S_WINDOW_TRIES 8         /* windows tried before a real load falls back to synthetic */
#define S_MIN_WINDOW_PEAK 1e-4   /* a window's peak must be at least this fraction of the series' */
#define S_MAX_TIME_SCALE 64.0    /* a real window may be sped up this much to fit the episode */

struct rls_scenario_random_params rls_scenario_random_default_params(void)
{
    struct rls_scenario_random_params p;
    memset(&p, 0, sizeof p);
    p.step_s = 15.0;
    p.horizon_steps = 5760;
    p.min_pools = 1;
    p.max_pools = 3;
    p.min_tenants = 1;
    p.max_tenants = 4;
    p.min_services = 2;
    p.max_services = 10;
    p.peak_frac_lo = 0.2;
    p.peak_frac_hi = 0.9;
    p.cold_start_max_s = 180.0;
    p.tight_prob = 0.25;
    p.trace_files = NULL;
    p.n_trace_files = 0;
    p.real_prob = 0.5;
    p.time_scale_lo = 0.5;
    p.time_scale_hi = 8.0;
    return p;
}

/* ------------------------------------------------------------------------ */
/* draws                                                                    */

static double s_unif(struct rls_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rls_rng_unif(r);
}

/* Log-uniform in [lo, hi] (lo > 0). */
static double s_logu(struct rls_rng *r, double lo, double hi)
{
    return exp(s_unif(r, log(lo), log(hi)));
}

/* Integer uniform in [lo, hi]. */
static int32_t s_int(struct rls_rng *r, int32_t lo, int32_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int32_t)(rls_rng_next(r) % (uint64_t)(hi - lo + 1));
}

static double s_pick(struct rls_rng *r, const double *v, int n)
{
    return v[s_int(r, 0, n - 1)];
}

/* Rounds to `digits` significant digits, so the YAML stays readable. */
static double s_sig(double x, int digits)
{
    if (!(x != 0.0) || !isfinite(x))
        return x;
    double m = pow(10.0, digits - 1 - (int)floor(log10(fabs(x))));
    return round(x * m) / m;
}

/* ------------------------------------------------------------------------ */
/* series, built as env/sim.c builds them                                   */

/* Largest rate of the `len` steps from `off` on (wrapping, as the simulator). */
static double s_window_max(const struct rls_trace *t, int64_t off, int64_t len)
{
    double m = 0.0;
    for (int64_t k = 0; k < len; k++) {
        double v = t->rate[(off + k) % t->n];
        if (v > m)
            m = v;
    }
    return m;
}

/* ------------------------------------------------------------------------ */
/* loads                                                                    */

enum s_shape { S_CYCLE, S_RAMP, S_ONOFF, S_FLASH, S_SPIKES, S_N_SHAPES };

/* Fills l with a synthetic shape drawn from r. `span_s` is the episode. */
static void s_draw_synth(struct rls_rng *r, struct rls_load_spec *l, double span_s)
{
    struct rls_trace_synth_params *p = &l->synth;
    int shape = s_int(r, 0, S_N_SHAPES - 1);

    l->kind = RLS_LOAD_SYNTH;
    l->seed = rls_rng_next(r);
    l->shift_s = 0.0;
    l->time_scale = 1.0;
    *p = rls_trace_synth_default_params();
    p->step_s = 60.0;
    p->duration_s = span_s;
    p->base_rps = 100.0;
    p->start_epoch_s = 0.0;
    p->peak_hour = s_sig(s_unif(r, 0.0, 23.9), 3);
    p->weekly_amp = 0.0;
    p->trend_per_day = 0.0;
    p->flash_per_day = 0.0;
    p->outage_per_day = 0.0;
    switch (shape) {
    case S_CYCLE:   /* daily and weekly cycles; a random day of the week */
        p->duration_s = 8 * 86400.0;
        p->diurnal_amp = s_sig(s_unif(r, 0.2, 0.95), 2);
        p->weekly_amp = s_sig(s_unif(r, 0.0, 0.6), 2);
        p->trend_per_day = s_sig(s_unif(r, -0.05, 0.1), 2);
        p->noise = s_sig(s_unif(r, 0.02, 0.2), 2);
        p->flash_per_day = s_sig(s_unif(r, 0.0, 1.5), 2);
        p->flash_mult = s_sig(s_unif(r, 1.5, 4.0), 2);
        p->flash_dur_s = s_sig(s_logu(r, 300.0, 2400.0), 2);
        p->outage_per_day = s_sig(s_unif(r, 0.0, 0.2), 2);
        p->outage_dur_s = s_sig(s_logu(r, 300.0, 1800.0), 2);
        l->shift_s = 86400.0 * s_int(r, 0, 6);
        break;
    case S_RAMP:    /* steady growth or decline over the episode */
        p->diurnal_amp = s_sig(s_unif(r, 0.0, 0.3), 2);
        p->trend_per_day = s_sig(s_unif(r, 0.0, 1.0) < 0.3 ? s_unif(r, -0.8, -0.3)
                                                              : s_logu(r, 0.3, 4.0), 2);
        p->noise = s_sig(s_unif(r, 0.03, 0.1), 2);
        break;
    case S_ONOFF:   /* long off periods (load at 2%) several times a day */
        p->diurnal_amp = s_sig(s_unif(r, 0.0, 0.4), 2);
        p->noise = s_sig(s_unif(r, 0.05, 0.15), 2);
        p->outage_per_day = s_sig(s_logu(r, 6.0, 48.0), 2);
        p->outage_dur_s = s_sig(s_logu(r, 300.0, 3600.0), 2);
        break;
    case S_FLASH:   /* flash crowds: sharp rise, exponential decay */
        p->diurnal_amp = s_sig(s_unif(r, 0.1, 0.6), 2);
        p->noise = s_sig(s_unif(r, 0.03, 0.15), 2);
        p->flash_per_day = s_sig(s_unif(r, 2.0, 12.0), 2);
        p->flash_mult = s_sig(s_logu(r, 2.0, 10.0), 2);
        p->flash_dur_s = s_sig(s_logu(r, 120.0, 1800.0), 2);
        break;
    default: {      /* heavy-tailed second-level spikes on a 1 s series */
        double alpha = 1.5, u = rls_rng_unif(r);
        double mult = 2.0 * pow(u, -1.0 / alpha);  /* Pareto(x_m 2, alpha 1.5) */
        p->step_s = 1.0;
        p->diurnal_amp = s_sig(s_unif(r, 0.0, 0.5), 2);
        p->noise = s_sig(s_unif(r, 0.1, 0.3), 2);
        p->flash_per_day = s_sig(s_logu(r, 100.0, 1000.0), 2);
        p->flash_mult = s_sig(mult < 60.0 ? mult : 60.0, 2);
        p->flash_dur_s = s_sig(s_logu(r, 2.0, 30.0), 2);
        break;
    }
    }
}

/* Length of the folder part of path ("" for a bare name: 0). */
static size_t s_dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? (size_t)(slash - path) : 0;
}

static int s_same_dir(const char *a, const char *b)
{
    size_t n = s_dir_len(a);
    return n == s_dir_len(b) && strncmp(a, b, n) == 0;
}

/* A file of the library: first a folder, uniformly among the folders the
 * files are in (a folder of 19 files of one family weighs as much as a folder
 * of 7 families), then a file uniformly within it. O(n^2) in the files. */
static int32_t s_pick_file(struct rls_rng *r, const struct rls_scenario_random_params *p)
{
    int32_t n_dirs = 0, want, k = 0;
    for (int32_t i = 0; i < p->n_trace_files; i++) {
        int seen = 0;
        for (int32_t j = 0; j < i && !seen; j++)
            seen = s_same_dir(p->trace_files[i], p->trace_files[j]);
        n_dirs += !seen;
    }
    want = s_int(r, 0, n_dirs - 1);
    /* the first file of folder number `want` (in order of first appearance) */
    int32_t first = 0;
    for (int32_t i = 0, d = -1; i < p->n_trace_files; i++) {
        int seen = 0;
        for (int32_t j = 0; j < i && !seen; j++)
            seen = s_same_dir(p->trace_files[i], p->trace_files[j]);
        if (!seen && ++d == want) {
            first = i;
            break;
        }
    }
    int32_t in_dir = 0;
    for (int32_t i = 0; i < p->n_trace_files; i++)
        in_dir += s_same_dir(p->trace_files[i], p->trace_files[first]);
    int32_t pick = s_int(r, 0, in_dir - 1);
    for (int32_t i = 0; i < p->n_trace_files; i++)
        if (s_same_dir(p->trace_files[i], p->trace_files[first]) && k++ == pick)
            return i;
    return first;
}

/* Tries to make l a random window of a random file of the library. Returns
 * RLS_OK with l filled and *series its series (caller destroys), RLS_OK with
 * *series NULL when no usable window was found (the caller draws a synthetic
 * shape), or an error naming the file. */
static int s_draw_real(struct rls_rng *r, const struct rls_scenario_random_params *p,
                       struct rls_load_spec *l, double dt, int64_t need,
                       struct rls_trace **series, double *series_max, struct rls_err *err)
{
    int32_t fi = s_pick_file(r, p);
    const char *file = p->trace_files[fi];
    char abs[PATH_MAX];
    struct rls_trace *raw = NULL;
    int rc = RLS_OK;
    uint64_t row = rls_rng_next(r);

    *series = NULL;
    if (realpath(file, abs) == NULL)
        return rls_err_set(err, RLS_ERR_IO, "random scenario: trace library file %s: %s", file,
                           strerror(errno));
    if (strlen(abs) >= sizeof l->path)
        return rls_err_set(err, RLS_ERR_RANGE, "random scenario: trace path %s is too long", abs);
    rc = rls_trace_load(abs, NULL, &raw, err);
    if (rc != RLS_OK)
        return rc;
    memset(l, 0, sizeof *l);
    l->kind = RLS_LOAD_TRACE;
    l->synth = rls_trace_synth_default_params();
    l->seed = 1;
    memcpy(l->path, abs, strlen(abs) + 1);  /* fits: checked above */
    /* a multi-series source (one row per function): one random function */
    if (strcmp(raw->format, "azure") == 0) {
        struct rls_trace *one = NULL;
        struct rls_err e2 = {0};
        char col[32];
        snprintf(col, sizeof col, "%" PRIu64, row % 200);
        if (rls_trace_load(abs, col, &one, &e2) == RLS_OK)
            snprintf(l->column, sizeof l->column, "%s", col);
        rls_trace_destroy(&one);
    }
    double dur = (double)raw->n * raw->step_s;
    rls_trace_destroy(&raw);
    if (!(dur > 0.0))
        return RLS_OK;

    /* speed: log-uniform, then fast enough that the episode fits the file */
    double ts = s_logu(r, p->time_scale_lo, p->time_scale_hi);
    double fit = (double)need * dt / dur;
    if (ts < fit)  /* 2% over, so that rounding to 3 digits still fits */
        ts = fit * 1.02 < S_MAX_TIME_SCALE ? fit * 1.02 : S_MAX_TIME_SCALE;
    l->time_scale = s_sig(ts, 3);

    struct rls_trace *t = NULL;
    double m = 0.0;
    rc = rls_sim_load_series(l, dt, need, "random scenario", &t, &m, err);
    if (rc != RLS_OK)
        return rc;
    for (int k = 0; k < S_WINDOW_TRIES && m > 0.0; k++) {
        int64_t room = t->n - need;
        int64_t off = room > 0 ? (int64_t)(rls_rng_next(r) % (uint64_t)(room + 1))
                               : (int64_t)(rls_rng_next(r) % (uint64_t)t->n);
        double wm = s_window_max(t, off, need);
        if (wm >= S_MIN_WINDOW_PEAK * m) {
            l->shift_s = (double)off * dt;
            *series = t;
            *series_max = m;
            return RLS_OK;
        }
    }
    rls_trace_destroy(&t);
    return RLS_OK;
}

/* Draws service i's load and sets its peak: the episode window of the series
 * peaks at `target` requests/s. */
static int s_draw_load(struct rls_rng *r, const struct rls_scenario_random_params *p,
                       struct rls_scenario *sc, int32_t i, double target, struct rls_err *err)
{
    struct rls_load_spec *l = &sc->services[i].load;
    struct rls_trace *t = NULL;
    double dt = sc->step_s, m = 0.0;
    int64_t need = sc->horizon_steps + 1;
    int rc = RLS_OK;
    int real = p->n_trace_files > 0 && rls_rng_unif(r) < p->real_prob;

    if (real && (rc = s_draw_real(r, p, l, dt, need, &t, &m, err)) != RLS_OK)
        return rc;
    if (t == NULL) {
        s_draw_synth(r, l, (double)(need + 2) * dt);
        if ((rc = rls_sim_load_series(l, dt, need, "random scenario", &t, &m, err)) != RLS_OK)
            return rc;
    }
    int64_t off = (int64_t)llround(l->shift_s / dt);
    double wm = s_window_max(t, off, sc->horizon_steps);
    rls_trace_destroy(&t);
    if (!(wm > 0.0) || !(m > 0.0)) {  /* a flat-zero window: a constant load instead */
        l->kind = RLS_LOAD_CONST;
        l->peak_rps = s_sig(target, 4);
        return RLS_OK;
    }
    /* peak_rps scales the whole series' maximum m; the window's is wm */
    l->peak_rps = target * m / wm;
    return RLS_OK;
}

/* ------------------------------------------------------------------------ */
/* the scenario                                                             */

static int s_check_params(const struct rls_scenario_random_params *p, struct rls_err *err)
{
    const char *bad = NULL;
    if (!(p->step_s > 0.0 && p->step_s <= 86400.0))
        bad = "step_s (0..86400]";
    else if (p->horizon_steps < 1 || p->horizon_steps > 10000000)
        bad = "horizon_steps (1..10,000,000)";
    else if (p->min_pools < 1 || p->max_pools < p->min_pools || p->max_pools > 100)
        bad = "min_pools/max_pools (1 <= min <= max <= 100)";
    else if (p->min_tenants < 1 || p->max_tenants < p->min_tenants || p->max_tenants > 1000)
        bad = "min_tenants/max_tenants (1 <= min <= max <= 1000)";
    else if (p->min_services < 1 || p->max_services < p->min_services || p->max_services > 10000)
        bad = "min_services/max_services (1 <= min <= max <= 10000)";
    else if (!(p->peak_frac_lo > 0.0 && p->peak_frac_hi >= p->peak_frac_lo &&
               p->peak_frac_hi <= 10.0))
        bad = "peak_frac_lo/peak_frac_hi (0 < lo <= hi <= 10)";
    else if (!(p->cold_start_max_s >= 2.0 && p->cold_start_max_s <= 86400.0))
        bad = "cold_start_max_s (2..86400)";
    else if (!(p->tight_prob >= 0.0 && p->tight_prob <= 1.0))
        bad = "tight_prob (0..1)";
    else if (!(p->real_prob >= 0.0 && p->real_prob <= 1.0))
        bad = "real_prob (0..1)";
    else if (p->n_trace_files < 0 || (p->n_trace_files > 0 && p->trace_files == NULL))
        bad = "trace_files/n_trace_files";
    else if (!(p->time_scale_lo > 0.0 && p->time_scale_hi >= p->time_scale_lo &&
               p->time_scale_hi <= 1000.0))
        bad = "time_scale_lo/time_scale_hi (0 < lo <= hi <= 1000)";
    if (bad != NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "random scenario: parameter %s out of range", bad);
    for (int32_t i = 0; i < p->n_trace_files; i++)
        if (p->trace_files[i] == NULL || p->trace_files[i][0] == '\0')
            return rls_err_set(err, RLS_ERR_INVALID, "random scenario: trace_files[%d] is empty",
                               (int)i);
    return RLS_OK;
}

/* Draws one service's shape (not its load). */
static void s_draw_service(struct rls_rng *r, const struct rls_scenario_random_params *p,
                           struct rls_service_spec *s)
{
    static const double cpus[] = {0.25, 0.5, 0.5, 1, 1, 1, 2, 2, 4};
    static const double mem_per_cpu[] = {1, 2, 4};
    s->capacity_rps = s_sig(s_logu(r, 5.0, 200.0), 2);
    s->service_time_ms = s_sig(s_logu(r, 5.0, 400.0), 2);
    s->cpu = s_pick(r, cpus, (int)(sizeof cpus / sizeof cpus[0]));
    s->mem_gb = s->cpu * s_pick(r, mem_per_cpu, 3);
    s->cold_start_s = rls_rng_unif(r) < 0.15 ? 0.0 : s_sig(s_logu(r, 2.0, p->cold_start_max_s), 2);
    s->min_replicas = rls_rng_unif(r) < 0.15 ? 0 : s_int(r, 1, 3);
    s->max_replicas = s_int(r, 5, 40);
    if (s->max_replicas < s->min_replicas + 2)
        s->max_replicas = s->min_replicas + 2;
    s->initial_replicas = (s->min_replicas > 1 ? s->min_replicas : 1) + s_int(r, 0, 2);
    if (s->initial_replicas > s->max_replicas)
        s->initial_replicas = s->max_replicas;
    s->slo_percentile = rls_rng_unif(r) < 0.7 ? 0.95 : 0.99;
    /* a few service times at p95, more at p99: tight to loose */
    s->slo_ms = s_sig(s->service_time_ms * s_logu(r, 4.0, 12.0) *
                          (s->slo_percentile > 0.98 ? 1.5 : 1.0), 2);
    s->queue_limit = (int32_t)s_sig(s_logu(r, 50.0, 5000.0), 2);
}

int rls_scenario_random(const struct rls_scenario_random_params *p_in, uint64_t seed,
                        struct rls_scenario **out, struct rls_err *err)
{
    static const double node_cpus[] = {4, 8, 8, 16, 16, 32, 64};
    static const double node_mem_per_cpu[] = {2, 4, 4, 8};
    struct rls_scenario_random_params d = rls_scenario_random_default_params();
    const struct rls_scenario_random_params *p = p_in != NULL ? p_in : &d;
    struct rls_scenario *sc = NULL;
    struct rls_rng rng;
    int rc = RLS_OK;

    if (out == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_scenario_random: out is NULL");
    *out = NULL;
    if ((rc = s_check_params(p, err)) != RLS_OK)
        return rc;
    rls_rng_seed(&rng, seed ^ 0x72616e646f6d5363ULL);  /* "randomSc": its own stream */

    int32_t n_pools = s_int(&rng, p->min_pools, p->max_pools);
    int32_t n_services = s_int(&rng, p->min_services, p->max_services);
    int32_t n_tenants = s_int(&rng, p->min_tenants, p->max_tenants);
    if (n_tenants > n_services)
        n_tenants = n_services;
    sc = rls_scenario_new(n_pools, n_tenants, n_services);
    if (sc == NULL)
        return rls_err_set(err, RLS_ERR_NOMEM, "random scenario: out of memory");
    snprintf(sc->name, sizeof sc->name, "random-%" PRIu64, seed);
    snprintf(sc->source, sizeof sc->source, "random:%" PRIu64, seed);
    sc->step_s = p->step_s;
    sc->horizon_steps = p->horizon_steps;
    sc->seed = seed;
    sc->node_idle_s = s_sig(s_logu(&rng, 30.0, 300.0), 2);

    /* tenants and their weights */
    for (int32_t k = 0; k < n_tenants; k++)
        sc->tenants[k].weight = round(s_logu(&rng, 0.5, 4.0) * 2.0) / 2.0;

    /* services: shape, tenant (every tenant gets one), load */
    double demand_cpu = 0.0, demand_mem = 0.0, init_cpu = 0.0, init_mem = 0.0;
    for (int32_t i = 0; i < n_services; i++) {
        struct rls_service_spec *s = &sc->services[i];
        s_draw_service(&rng, p, s);
        s->tenant = i < n_tenants ? i : s_int(&rng, 0, n_tenants - 1);
        double frac = s_unif(&rng, p->peak_frac_lo, p->peak_frac_hi);
        double target = frac * (double)s->max_replicas * s->capacity_rps;
        if ((rc = s_draw_load(&rng, p, sc, i, target, err)) != RLS_OK)
            goto done;
        double reps = ceil(target / s->capacity_rps);
        demand_cpu += reps * s->cpu;
        demand_mem += reps * s->mem_gb;
        init_cpu += s->initial_replicas * s->cpu;
        init_mem += s->initial_replicas * s->mem_gb;
    }
    for (int32_t k = 0; k < n_tenants; k++) {
        int32_t g = 0;
        if (rls_rng_unif(&rng) < 0.5)
            continue;
        for (int32_t i = 0; i < n_services; i++)
            if (sc->services[i].tenant == k)
                g += sc->services[i].min_replicas;
        sc->tenants[k].guaranteed_replicas = g;
    }

    /* node shapes: at most a quarter of the cores wanted per node (so that
       the tightness is not lost to rounding), and at least 4 cores and 16 GiB
       (the largest replica drawn above), so every replica fits every pool */
    double ratio = rls_rng_unif(&rng) < p->tight_prob ? s_unif(&rng, 0.7, 1.1)
                                                      : s_unif(&rng, 1.2, 2.5);
    double want_cpu = fmax(ratio * demand_cpu, 2.0 * init_cpu);
    double want_mem = fmax(ratio * demand_mem, 2.0 * init_mem);
    for (int32_t k = 0; k < n_pools; k++) {
        struct rls_node_pool *pl = &sc->pools[k];
        pl->cpu = s_pick(&rng, node_cpus, (int)(sizeof node_cpus / sizeof node_cpus[0]));
        while (pl->cpu > 4.0 && pl->cpu > want_cpu / 4.0)
            pl->cpu /= 2.0;
        pl->mem_gb = fmax(16.0, pl->cpu * s_pick(&rng, node_mem_per_cpu, 4));
        pl->price_per_hour = s_sig(pl->cpu * s_unif(&rng, 0.03, 0.06) *
                                       (pl->mem_gb / pl->cpu >= 8 ? 1.3 : 1.0), 3);
        pl->boot_s = s_sig(s_logu(&rng, 30.0, 300.0), 2);
        pl->mtbf_h = rls_rng_unif(&rng) < 0.5 ? 0.0 : s_sig(s_logu(&rng, 200.0, 5000.0), 2);
        pl->repair_s = s_sig(s_unif(&rng, 300.0, 1800.0), 2);
    }
    /* node counts: the summed peak demand times the tightness ratio, shared
       out at random among the pools; always room for the initial replicas twice */
    double share[100], total_share = 0.0;
    for (int32_t k = 0; k < n_pools; k++)
        total_share += (share[k] = s_unif(&rng, 0.2, 1.0));
    for (int32_t k = 0; k < n_pools; k++) {
        struct rls_node_pool *pl = &sc->pools[k];
        double f = share[k] / total_share;
        double c = ceil(fmax(f * want_cpu / pl->cpu, f * want_mem / pl->mem_gb));
        if (c > RLS__SCENARIO_MAX_COUNT / 100)
            c = RLS__SCENARIO_MAX_COUNT / 100;
        pl->count = c >= 1.0 ? (int32_t)c : 1;
        pl->min_on = s_int(&rng, 0, pl->count < 2 ? pl->count : 2);
    }
    {
        struct rls__scenario_fail f;
        rc = rls__scenario_check(sc, &f);
        if (rc != RLS_OK) {
            rc = rls_err_set(err, rc, "random scenario %" PRIu64 ": field '%s': %s (a bug)",
                             seed, f.path, f.msg);
            goto done;
        }
    }
    *out = sc;
    sc = NULL;
done:
    rls_scenario_destroy(&sc);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* trace libraries                                                          */

static int s_has_trace_ext(const char *name)
{
    static const char *const exts[] = {".csv", ".txt", ".trace", NULL};
    size_t n = strlen(name);
    for (int i = 0; exts[i]; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcasecmp(name + n - e, exts[i]) == 0)
            return 1;
    }
    return 0;
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int s_push(char ***v, int32_t *n, int32_t *cap, const char *s)
{
    if (*n == *cap) {
        int32_t nc = *cap ? *cap * 2 : 16;
        char **nv = realloc(*v, (size_t)nc * sizeof *nv);
        if (nv == NULL)
            return RLS_ERR_NOMEM;
        *v = nv;
        *cap = nc;
    }
    if (((*v)[*n] = strdup(s)) == NULL)
        return RLS_ERR_NOMEM;
    (*n)++;
    return RLS_OK;
}

void rls_scenario_random_free_list(char ***files, int32_t n)
{
    if (files == NULL || *files == NULL)
        return;
    for (int32_t i = 0; i < n; i++)
        free((*files)[i]);
    free(*files);
    *files = NULL;
}

int rls_scenario_random_list_traces(const char *spec, char ***files, int32_t *n,
                                    struct rls_err *err)
{
    char **v = NULL;
    int32_t nv = 0, cap = 0;
    char *copy = NULL, *save = NULL;
    int rc = RLS_OK;

    if (files == NULL || n == NULL || spec == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "trace library: no list given");
    *files = NULL;
    *n = 0;
    if ((copy = strdup(spec)) == NULL)
        return rls_err_set(err, RLS_ERR_NOMEM, "trace library: out of memory");
    for (char *item = strtok_r(copy, ":", &save); item != NULL; item = strtok_r(NULL, ":", &save)) {
        struct stat st;
        if (stat(item, &st) != 0) {
            rc = rls_err_set(err, RLS_ERR_IO, "trace library %s: %s", item, strerror(errno));
            goto done;
        }
        if (!S_ISDIR(st.st_mode)) {
            if ((rc = s_push(&v, &nv, &cap, item)) != RLS_OK)
                goto nomem;
            continue;
        }
        DIR *dir = opendir(item);
        int32_t first = nv;
        if (dir == NULL) {
            rc = rls_err_set(err, RLS_ERR_IO, "trace library %s: %s", item, strerror(errno));
            goto done;
        }
        for (struct dirent *de = readdir(dir); de != NULL; de = readdir(dir)) {
            char path[RLS_PATH_MAX];
            struct stat fs;
            if (de->d_name[0] == '.' || !s_has_trace_ext(de->d_name))
                continue;
            if (snprintf(path, sizeof path, "%s/%s", item, de->d_name) >= (int)sizeof path)
                continue;
            if (stat(path, &fs) != 0 || !S_ISREG(fs.st_mode))
                continue;
            if ((rc = s_push(&v, &nv, &cap, path)) != RLS_OK) {
                closedir(dir);
                goto nomem;
            }
        }
        closedir(dir);
        if (nv - first > 1)
            qsort(v + first, (size_t)(nv - first), sizeof *v, s_cmp_str);
    }
    if (nv == 0) {
        rc = rls_err_set(err, RLS_ERR_NOTFOUND,
                         "trace library '%s': no trace files (.csv, .txt, .trace)", spec);
        goto done;
    }
    *files = v;
    *n = nv;
    v = NULL;
    nv = 0;
    goto done;
nomem:
    rc = rls_err_set(err, RLS_ERR_NOMEM, "trace library: out of memory");
done:
    rls_scenario_random_free_list(&v, nv);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* perturbed loads                                                          */

int rls_scenario_perturb_loads(struct rls_scenario *sc, uint64_t load_seed, struct rls_err *err)
{
    struct rls_rng rng;
    if (sc == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_scenario_perturb_loads: no scenario");
    if (load_seed == 0)
        return RLS_OK;
    rls_rng_seed(&rng, load_seed ^ 0x6c6f616453656564ULL);  /* "loadSeed" */
    for (int32_t i = 0; i < sc->n_services; i++) {
        struct rls_load_spec *l = &sc->services[i].load;
        /* a fixed number of draws per service, whatever its kind, so that
           one service's kind does not change the others' draws */
        uint64_t new_seed = rls_rng_next(&rng);
        double dh = s_unif(&rng, -2.0, 2.0);
        double amp = s_unif(&rng, 0.8, 1.2);
        double peak = s_unif(&rng, 0.85, 1.15);
        double shift = s_unif(&rng, 0.0, 86400.0);
        if (l->kind == RLS_LOAD_SYNTH) {
            double h = fmod(l->synth.peak_hour + dh + 24.0, 24.0);
            l->seed = new_seed;
            l->synth.peak_hour = h >= 0.0 && h < 24.0 ? h : 0.0;
            l->synth.diurnal_amp = fmin(1.0, l->synth.diurnal_amp * amp);
            l->peak_rps *= peak;
        } else if (l->kind == RLS_LOAD_TRACE) {
            l->shift_s += round(shift / sc->step_s) * sc->step_s;
            l->peak_rps *= peak;
        }
    }
    return RLS_OK;
}
