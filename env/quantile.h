/* quantile.h - nearest-rank quantiles of a sample of doubles, the one
 * definition the local cluster (cluster/local.c, per-step request latencies)
 * and `rlsched load` (tools/cmd_load.c, the run's latencies) report with.
 *
 *     rls_quantile_sort(lat_ms, n);
 *     double p95 = rls_quantile_nearest_rank(lat_ms, n, 0.95);
 *
 * Nothing here allocates or prints.
 */
#ifndef RLS_QUANTILE_H
#define RLS_QUANTILE_H

#include <stdint.h>

/* Sorts v[n] ascending in place (qsort; NaNs compare equal to everything, so
 * keep them out). NULL or n < 2 is a no-op. */
void rls_quantile_sort(double *v, int64_t n);

/* The q-quantile of sorted[n] (ascending) by nearest rank: sorted[k] with
 * k = ceil(q * n) - 1 clamped to [0, n - 1], so q <= 0 gives the minimum and
 * q >= 1 the maximum. Returns 0 for n <= 0 or sorted NULL. */
double rls_quantile_nearest_rank(const double *sorted, int64_t n, double q);

#endif
