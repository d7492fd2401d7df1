/* trace_synth.c - synthetic load that looks like a real web service: a daily
 * cycle (two harmonics: a sharp day peak, a long flat night), a weekend dip,
 * a trend, AR(1) multiplicative noise, flash crowds (sharp rise, exponential
 * decay) and outages (load near zero). Deterministic from the seed: a
 * private xoshiro256** generator seeded by splitmix64, never rand().
 */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define S_PI 3.14159265358979323846
#define S_MAX_EVENTS 100000
#define S_OUTAGE_LEVEL 0.02  /* fraction of the load left during an outage */
#define S_FLASH_RISE 0.1     /* rise time as a fraction of the decay time */
#define S_NOISE_TAU_S 600.0  /* correlation time of the AR(1) noise, seconds */

static double s_exp(struct rls_rng *r, double mean)
{
    return -mean * log(rls_rng_unif(r));
}

static double s_normal(struct rls_rng *r)
{
    double u = rls_rng_unif(r), v = rls_rng_unif(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * S_PI * v);
}

struct s_event {
    double start_s, dur_s, mult;
};

/* Event times of a Poisson process of `per_day` over [0, span_s). */
static int s_events(struct rls_rng *r, double per_day, double span_s, double mean_dur_s,
                    double mult, struct s_event **out, int *n_out)
{
    struct s_event *ev = NULL;
    int n = 0, cap = 0;
    double t = 0;
    *out = NULL;
    *n_out = 0;
    if (per_day <= 0)
        return RLS_OK;
    for (;;) {
        t += s_exp(r, 86400.0 / per_day);
        if (t >= span_s || n >= S_MAX_EVENTS)
            break;
        if (n == cap) {
            int ncap = cap ? cap * 2 : 16;
            struct s_event *ne = realloc(ev, (size_t)ncap * sizeof *ne);
            if (ne == NULL) {
                free(ev);
                return RLS_ERR_NOMEM;
            }
            ev = ne;
            cap = ncap;
        }
        ev[n].start_s = t;
        ev[n].dur_s = s_exp(r, mean_dur_s);
        /* peak multiplier varies +-50% around the mean extra load */
        ev[n].mult = (mult - 1.0) * (0.5 + rls_rng_unif(r));
        n++;
    }
    *out = ev;
    *n_out = n;
    return RLS_OK;
}

struct rls_trace_synth_params rls_trace_synth_default_params(void)
{
    struct rls_trace_synth_params p;
    memset(&p, 0, sizeof p);
    p.step_s = 60;
    p.duration_s = 86400.0 * 2;
    p.base_rps = 100;
    p.diurnal_amp = 0.6;
    p.peak_hour = 14;
    p.weekly_amp = 0.2;
    p.trend_per_day = 0.02;
    p.noise = 0.08;
    p.flash_per_day = 1;
    p.flash_mult = 3;
    p.flash_dur_s = 1200;
    p.outage_per_day = 0.1;
    p.outage_dur_s = 600;
    p.start_epoch_s = 0;
    return p;
}

/* Daily shape in [-1, 0.6] with mean 0 over a day, maximum at theta 0
 * (the peak hour) and minimum 12 hours later. */
static double s_daily(double theta)
{
    return (cos(theta) + 0.25 * cos(2.0 * theta)) / 1.25;
}

/* Weekend weight: 0 on days 1-5 of each week, 1 on days 6-7, smooth over an
 * hour on either side of the boundaries. */
static double s_weekend(double t_s)
{
    double week = 7 * 86400.0, x = fmod(t_s, week), ramp = 3600.0;
    double a = 5 * 86400.0, b = week;
    double w;
    if (x < 0)
        x += week;
    if (x < a - ramp)
        w = 0;
    else if (x < a + ramp)
        w = 0.5 - 0.5 * cos(S_PI * (x - (a - ramp)) / (2 * ramp));
    else if (x < b - ramp)
        w = 1;
    else
        w = 0.5 + 0.5 * cos(S_PI * (x - (b - ramp)) / (2 * ramp));
    if (x < ramp) /* wrap-around of the Sunday -> Monday ramp */
        w = 0.5 + 0.5 * cos(S_PI * (x + ramp) / (2 * ramp));
    return w;
}

/* Returns the name of the first out-of-range parameter, or NULL. */
static const char *s_bad_param(const struct rls_trace_synth_params *p)
{
    if (!(isfinite(p->step_s) && p->step_s > 0))
        return "step_s (> 0)";
    if (!(isfinite(p->duration_s) && p->duration_s >= p->step_s))
        return "duration_s (>= step_s)";
    if (!(p->duration_s / p->step_s <= 1e9))
        return "duration_s/step_s (<= 1e9 samples)";
    if (!(isfinite(p->base_rps) && p->base_rps >= 0 && p->base_rps <= 1e9))
        return "base_rps (0..1e9)";
    if (!(p->diurnal_amp >= 0 && p->diurnal_amp <= 1))
        return "diurnal_amp (0..1)";
    if (!(p->peak_hour >= 0 && p->peak_hour < 24))
        return "peak_hour (0..24)";
    if (!(p->weekly_amp >= 0 && p->weekly_amp <= 1))
        return "weekly_amp (0..1)";
    if (!(isfinite(p->trend_per_day) && p->trend_per_day > -1 && p->trend_per_day <= 10))
        return "trend_per_day (-1..10)";
    if (!(p->noise >= 0 && p->noise <= 2))
        return "noise (0..2)";
    if (!(p->flash_per_day >= 0 && p->flash_per_day <= 1000))
        return "flash_per_day (0..1000)";
    if (!(p->flash_mult >= 1 && p->flash_mult <= 1000))
        return "flash_mult (1..1000)";
    if (!(p->flash_dur_s > 0 && isfinite(p->flash_dur_s)))
        return "flash_dur_s (> 0)";
    if (!(p->outage_per_day >= 0 && p->outage_per_day <= 1000))
        return "outage_per_day (0..1000)";
    if (!(p->outage_dur_s > 0 && isfinite(p->outage_dur_s)))
        return "outage_dur_s (> 0)";
    if (!(isfinite(p->start_epoch_s)))
        return "start_epoch_s (finite)";
    return NULL;
}

int rls_trace_synth(const struct rls_trace_synth_params *p, uint64_t seed,
                    struct rls_trace **out, struct rls_err *err)
{
    struct rls_trace_synth_params d = rls_trace_synth_default_params();
    struct rls_trace *t = NULL;
    struct s_event *flash = NULL, *outage = NULL;
    int nf = 0, no = 0, rc = RLS_OK;
    struct rls_rng rng;
    double e = 0, phi, innov;
    const char *bad = NULL;
    int64_t n;

    rls_err_clear(err);
    if (out != NULL)
        *out = NULL;
    if (out == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "synth: out is NULL");
    if (p == NULL)
        p = &d;
    bad = s_bad_param(p);
    if (bad != NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "synth: %s out of range", bad);

    n = (int64_t)floor(p->duration_s / p->step_s + 1e-9);
    t = rls_trace_new(n, p->step_s);
    if (t == NULL)
        return rls_err_set(err, RLS_ERR_NOMEM, "synth: out of memory for %lld samples",
                           (long long)n);
    rls_rng_seed(&rng, seed);
    if (s_events(&rng, p->flash_per_day, p->duration_s, p->flash_dur_s, p->flash_mult, &flash,
                 &nf) != RLS_OK ||
        s_events(&rng, p->outage_per_day, p->duration_s, p->outage_dur_s, 0, &outage, &no) !=
            RLS_OK) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "synth: out of memory");
        goto done;
    }
    /* flash crowds older than 12 x the longest one add nothing: skip them
       (k0 only moves forward; the sum is the same, far faster for many events) */
    double max_dur = 0;
    int k0 = 0;
    for (int k = 0; k < nf; k++)
        if (flash[k].dur_s > max_dur)
            max_dur = flash[k].dur_s;
    phi = exp(-p->step_s / S_NOISE_TAU_S);
    innov = sqrt(1.0 - phi * phi);
    e = p->noise * s_normal(&rng);
    for (int64_t i = 0; i < n; i++) {
        double rel = ((double)i + 0.5) * p->step_s;   /* seconds since sample 0 */
        double abs_t = p->start_epoch_s + rel;         /* clock time */
        double hour = fmod(abs_t, 86400.0) / 3600.0;
        if (hour < 0)
            hour += 24;
        double theta = 2.0 * S_PI * (hour - p->peak_hour) / 24.0;
        double f = 1.0 + p->diurnal_amp * s_daily(theta);
        f *= 1.0 - p->weekly_amp * s_weekend(rel);
        double trend = 1.0 + p->trend_per_day * rel / 86400.0;
        f *= trend > 0.05 ? trend : 0.05;
        if (i > 0)
            e = phi * e + innov * p->noise * s_normal(&rng);
        f *= exp(e - 0.5 * p->noise * p->noise);
        double extra = 0;
        while (k0 < nf && rel - flash[k0].start_s > max_dur * 12)
            k0++;
        for (int k = k0; k < nf; k++) {
            double x = rel - flash[k].start_s;
            double rise = S_FLASH_RISE * flash[k].dur_s;
            if (x < 0)
                break; /* events are in start order */
            if (x > flash[k].dur_s * 12)
                continue;
            extra += flash[k].mult * (x < rise ? x / rise : exp(-(x - rise) / flash[k].dur_s));
        }
        f *= 1.0 + extra;
        for (int k = 0; k < no; k++)
            if (rel >= outage[k].start_s && rel < outage[k].start_s + outage[k].dur_s)
                f *= S_OUTAGE_LEVEL;
        t->rate[i] = f > 0 ? p->base_rps * f : 0;
    }
    t->start_epoch_s = p->start_epoch_s;
    snprintf(t->unit, sizeof t->unit, "rps");
    snprintf(t->format, sizeof t->format, "synth");
    snprintf(t->source, sizeof t->source, "synth:seed=%llu", (unsigned long long)seed);
    *out = t;
    t = NULL;
done:
    free(flash);
    free(outage);
    rls_trace_destroy(&t);
    return rc;
}
