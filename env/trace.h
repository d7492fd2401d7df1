/* trace.h - load traces: import from real formats, the canonical format,
 * synthetic load, summaries, resampling.
 *
 * A trace is a rate series at a fixed step: rate[i] is the mean request rate
 * (requests per second) over [start + i*step_s, start + (i+1)*step_s). Sources
 * that are load shapes rather than request counts (CPU %, bytes, utilization)
 * keep their values with unit "shape"; a scenario scales every trace to a
 * peak rate anyway. The canonical on-disk format is documented in
 * docs/TRACE_FORMAT.md.
 */
#ifndef RLS_TRACE_H
#define RLS_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "status.h"

#define RLS_TRACE_TEXT_MAX 256
/* Default bound on the samples an import or a resample may produce (10 million:
 * 80 MB of rates, 19 years at one minute). Larger needs an explicit limit. */
#define RLS_TRACE_MAX_POINTS_DEFAULT ((int64_t)10000000)

/* A trace. Plain data: callers may read every field; rls_trace_* functions
 * allocate and free it. */
struct rls_trace {
    double step_s;          /* seconds between samples (> 0) */
    int64_t n;              /* number of samples (>= 1) */
    double *rate;           /* [n] mean rate over each step: requests/s, or shape units */
    double start_epoch_s;   /* Unix time of sample 0; 0 when the source has no clock */
    char unit[16];          /* "rps" (requests per second) or "shape" */
    char format[32];        /* source format: worldcup98, nasa, azure, azure2021, nab, alibaba, isp,
                               bitbrains, csv, synth, rlsched */
    char source[RLS_TRACE_TEXT_MAX];  /* file it came from (or "synth:seed=N") */
    char column[64];        /* column/series taken from the source, "" if one series */
    /* what the importer did, reported by `trace info` and kept in the file */
    int64_t n_filled;       /* missing steps filled by linear interpolation */
    int64_t n_reordered;    /* rows that came out of time order and were sorted */
    int64_t n_duplicates;   /* rows whose step was already seen (summed in) */
    int64_t n_skipped;      /* malformed rows skipped (only with skip_bad) */
};

/* Which source format to read. RLS_TRACE_FMT_AUTO guesses from the header
 * line and the file name. Row formats detect their field separator (comma,
 * semicolon, tab, ';' + tab, or runs of blanks) from the header and the first
 * data lines whatever the format. */
enum rls_trace_format {
    RLS_TRACE_FMT_AUTO = 0,
    RLS_TRACE_FMT_CANONICAL,   /* rlsched-trace v1 (what rls_trace_save writes) */
    RLS_TRACE_FMT_WORLDCUP98,  /* period,count per minute */
    RLS_TRACE_FMT_NASA,        /* space-separated per-second counts, no clock */
    RLS_TRACE_FMT_AZURE,       /* HashFunction,HashApp,HashOwner,minute_1..minute_1440 */
    RLS_TRACE_FMT_NAB,         /* timestamp,value (CloudWatch) */
    RLS_TRACE_FMT_ALIBABA,     /* cpu_util_percent,...; 300 s, no clock */
    RLS_TRACE_FMT_ISP,         /* time_count,traffic (in bits),... 5 min */
    RLS_TRACE_FMT_CSV,         /* any delimited rows, with time_col / value_col / step_s */
    RLS_TRACE_FMT_BITBRAINS,   /* Grid Workloads Archive GWA-T-12 Bitbrains: "Timestamp [ms];\t..." */
    RLS_TRACE_FMT_AZURE2021,   /* Azure Functions 2021: app,func,end_timestamp,duration per invocation */
    RLS_TRACE_FMT_COUNT        /* number of formats above; not a format */
};

/* How to import. */
struct rls_trace_import_params {
    enum rls_trace_format format;  /* source format (AUTO) */
    const char *time_col;   /* CSV: name or 0-based index of the time column; NULL = none (rows are steps) */
    const char *value_col;  /* CSV/alibaba/isp/nab/bitbrains: name or index of the value column;
                               NULL = the format's default, else the only column besides the time,
                               else the one named like a load (requests, count, value, bits, bytes,
                               cpu, ...: docs/TRACE_FORMAT.md); several or none such is refused with
                               RLS_ERR_INVALID listing the candidates. azure: function hash prefix,
                               row index, or "sum"; azure2021: "sum", "APP" or "APP:FUNC" id prefixes */
    double step_s;          /* output step in seconds; 0 = from a regular time column (see the docs'
                               rule); a file without a time column, with one distinct time or with
                               irregular times is then refused (RLS_ERR_INVALID), never guessed.
                               azure2021: bin width (0 = 60) */
    double count_step_s;    /* CSV: if > 0, values are counts per this many seconds (divided to a rate);
                               0 = values are already rates or shapes */
    int skip_bad;           /* 1: skip malformed rows and count them; 0: refuse the file (0) */
    int64_t max_gap_steps;  /* a gap longer than this many steps is an error, not filled (10000) */
    int64_t max_points;     /* refuse a trace of more samples than this: a canonical header's
                               '# n:', or a grid from a given or inferred step over the rows' time
                               span; <= 0 = RLS_TRACE_MAX_POINTS_DEFAULT (10 million) */
};

/* Returns the defaults: AUTO format, no columns, skip_bad 0, max_gap_steps 10000,
 * max_points RLS_TRACE_MAX_POINTS_DEFAULT. */
struct rls_trace_import_params rls_trace_import_default_params(void);

/* Reads `path` in any supported source format into a new trace at the
 * source's own step. On success stores the trace in *out (caller owns it,
 * free with rls_trace_destroy) and returns RLS_OK. On failure returns a
 * negative status, leaves *out NULL, and fills err with "FILE:LINE: what"
 * (or "FILE: column 'x' not found", ...). */
int rls_trace_import(const char *path, const struct rls_trace_import_params *params,
                     struct rls_trace **out, struct rls_err *err);

/* Loads a trace for use by a scenario: the canonical format, or any format
 * rls_trace_import auto-detects. Same ownership and errors as import. */
int rls_trace_load(const char *path, const char *column, struct rls_trace **out,
                   struct rls_err *err);

/* Writes the canonical format atomically (temporary file + rename): the file
 * under `path` is either the old one or the complete new one. Returns RLS_OK,
 * or RLS_ERR_IO with err naming the path. */
int rls_trace_save(const struct rls_trace *t, const char *path, struct rls_err *err);

/* Synthetic load: diurnal and weekly cycles, trend, noise, flash crowds and
 * outages, deterministic given the seed. */
struct rls_trace_synth_params {
    double step_s;          /* sample step, seconds (60) */
    double duration_s;      /* length, seconds (86400 * 2) */
    double base_rps;        /* mean level, requests/s (100) */
    double diurnal_amp;     /* relative amplitude of the daily cycle, 0..1 (0.6) */
    double peak_hour;       /* hour of day of the daily peak (14) */
    double weekly_amp;      /* relative weekend dip, 0..1 (0.2) */
    double trend_per_day;   /* relative growth per day (0.02) */
    double noise;           /* relative noise std-dev (AR(1), 0.08) */
    double flash_per_day;   /* expected flash crowds per day (1) */
    double flash_mult;      /* flash crowd peak multiplier (3) */
    double flash_dur_s;     /* flash crowd mean duration, seconds (1200) */
    double outage_per_day;  /* expected outages (load drops to ~0) per day (0.1) */
    double outage_dur_s;    /* mean outage duration, seconds (600) */
    double start_epoch_s;   /* clock of sample 0; time of day comes from it (0 = midnight) */
};

/* Returns the defaults listed above. */
struct rls_trace_synth_params rls_trace_synth_default_params(void);

/* Makes a synthetic trace. Returns RLS_OK and a new trace in *out (caller
 * owns it), or RLS_ERR_INVALID with err naming the bad parameter. */
int rls_trace_synth(const struct rls_trace_synth_params *p, uint64_t seed,
                    struct rls_trace **out, struct rls_err *err);

/* Summary of a trace. */
struct rls_trace_stats {
    double duration_s;
    double mean, min, max, p50, p95, p99;   /* of rate */
    double peak_to_mean;
    double cv;              /* coefficient of variation */
    double max_step_jump;   /* largest relative rise between consecutive steps */
    int64_t n_zero;         /* steps with rate 0 */
};

/* Computes the summary. Returns RLS_OK, RLS_ERR_INVALID for an empty trace,
 * or RLS_ERR_NOMEM. */
int rls_trace_stats(const struct rls_trace *t, struct rls_trace_stats *out);

/* Prints a human summary (what `rlsched trace info` shows) to f. */
void rls_trace_print_info(const struct rls_trace *t, FILE *f);

/* Resamples to a new step (averaging when coarser, linear interpolation when
 * finer). Returns a new trace (caller owns it) or NULL on bad input or no
 * memory. */
struct rls_trace *rls_trace_resample(const struct rls_trace *t, double step_s);

/* Number of samples rls_trace_resample(t, step_s) would produce, computed
 * without allocating (callers check it against a limit first); -1 on bad
 * input. */
int64_t rls_trace_resample_size(const struct rls_trace *t, double step_s);

/* Copies samples [from, to) (0 <= from < to <= n) into a new trace whose
 * clock starts at sample `from`; the importer's counts are kept. Caller owns
 * it. NULL on a bad range or no memory. */
struct rls_trace *rls_trace_slice(const struct rls_trace *t, int64_t from, int64_t to);

/* Allocates a zero-filled trace of n samples; caller owns it. NULL on no memory. */
struct rls_trace *rls_trace_new(int64_t n, double step_s);

/* Frees *t and sets it to NULL; NULL or *t == NULL is a no-op. */
void rls_trace_destroy(struct rls_trace **t);

/* The format's name ("worldcup98", ...) and back; parse returns -1 if unknown. */
const char *rls_trace_format_name(enum rls_trace_format f);
int rls_trace_format_parse(const char *name);

#endif
