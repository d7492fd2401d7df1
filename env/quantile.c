/* quantile.c - nearest-rank quantiles of a sorted sample (quantile.h). */
#include "quantile.h"

#include <math.h>
#include <stdlib.h>

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void rls_quantile_sort(double *v, int64_t n)
{
    if (v == NULL || n < 2)
        return;
    qsort(v, (size_t)n, sizeof *v, s_cmp_double);
}

double rls_quantile_nearest_rank(const double *sorted, int64_t n, double q)
{
    int64_t k;

    if (sorted == NULL || n <= 0)
        return 0.0;
    k = (int64_t)ceil(q * (double)n) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return sorted[k];
}
