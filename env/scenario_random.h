/* scenario_random.h - a random scenario generator: a whole cluster (node pools,
 * tenants, services, their loads) drawn deterministically from one seed, wide
 * enough that a policy trained on many draws has seen tight and loose clusters,
 * fast and slow cold starts, and loads of every shape.
 *
 * Loads come from a library of shapes: random windows of real trace files
 * (the caller gives the list; the generator depends on no folder), scaled to
 * a random peak, sped up or slowed, shifted; and synthetic cycles, ramps,
 * on/off, flash crowds and heavy-tailed second-level spikes (rls_trace_synth).
 * Every distribution and range is listed in docs/SCENARIO.md ("Random
 * scenarios").
 */
#ifndef RLS_SCENARIO_RANDOM_H
#define RLS_SCENARIO_RANDOM_H

#include <stdint.h>

#include "scenario.h"
#include "status.h"

/* What to draw. Ranges are inclusive. */
struct rls_scenario_random_params {
    double step_s;              /* control step, seconds (15) */
    int32_t horizon_steps;      /* episode length, steps (5760: one day of 15 s) */
    int32_t min_pools, max_pools;         /* node pools (1, 3) */
    int32_t min_tenants, max_tenants;     /* tenants (1, 4) */
    int32_t min_services, max_services;   /* services (2, 10) */
    double peak_frac_lo, peak_frac_hi;    /* a load's peak / (max_replicas x capacity_rps)
                                             (0.2, 0.9) */
    double cold_start_max_s;    /* cold starts are 0 or up to this, seconds (180) */
    double tight_prob;          /* chance the cluster is tight: cores 0.7-1.1x the summed
                                   peak demand instead of 1.2-2.5x (0.25) */
    const char *const *trace_files; /* [n_trace_files] real traces to cut windows from (any
                                       format rls_trace_load reads); not owned; NULL = none */
    int32_t n_trace_files;
    double real_prob;           /* chance a service's load is a real window when
                                   trace_files are given (0.5) */
    double time_scale_lo, time_scale_hi;  /* real windows play this many times faster,
                                             log-uniform (0.5, 8) */
};

/* Returns the defaults listed above (no trace files: synthetic shapes only). */
struct rls_scenario_random_params rls_scenario_random_default_params(void);

/* Draws a scenario from `seed` (same params, same files, same seed: the same
 * scenario, field by field). p NULL means the defaults. Real windows read
 * each chosen trace file (rls_trace_load) to place the window and its peak;
 * trace paths are stored absolute. On success stores a new, valid scenario
 * in *out (caller owns it, rls_scenario_destroy) and returns RLS_OK. On
 * failure returns RLS_ERR_INVALID (bad params), RLS_ERR_IO / RLS_ERR_PARSE
 * (a trace file that cannot be read, named in err) or RLS_ERR_NOMEM, and
 * leaves *out NULL. */
int rls_scenario_random(const struct rls_scenario_random_params *p, uint64_t seed,
                        struct rls_scenario **out, struct rls_err *err);

/* Lists the trace files of a library: `spec` is a ':'-separated list of
 * folders and files; a folder contributes its regular files ending in .csv,
 * .txt or .trace (not its subfolders), sorted by name. On success stores a
 * new array of new strings in *files and its length in *n (caller frees with
 * rls_scenario_random_free_list) and returns RLS_OK; an empty result is
 * RLS_ERR_NOTFOUND. RLS_ERR_IO names a folder or file that cannot be read. */
int rls_scenario_random_list_traces(const char *spec, char ***files, int32_t *n,
                                    struct rls_err *err);

/* Frees a list from rls_scenario_random_list_traces and sets *files to NULL;
 * NULL is a no-op. */
void rls_scenario_random_free_list(char ***files, int32_t n);

/* Perturbs the loads of an existing scenario with `load_seed` (0: no change):
 * each synthetic load gets a new series seed, its peak hour moved by up to
 * +-2 h, its daily amplitude scaled by 0.8-1.2 (kept in 0..1) and its peak_rps
 * by 0.85-1.15; each trace load is shifted by up to one day further into its
 * series; constant loads are kept. Deterministic given the scenario and the
 * seed. Returns RLS_OK, or RLS_ERR_INVALID for a NULL scenario. */
int rls_scenario_perturb_loads(struct rls_scenario *sc, uint64_t load_seed, struct rls_err *err);

#endif
