/* test_quantile.c - nearest-rank quantiles (env/quantile.h): the rank
 * ceil(q n) of the sorted sample, clamped at both ends; an empty sample
 * gives 0; sorting puts a shuffled sample in order. Expected values are
 * worked out from the definition on samples whose order statistics are
 * known by construction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env/quantile.h"

static void test_the_rank_is_ceil_q_n_of_the_sorted_sample(void **state)
{
    double v[100];
    (void)state;

    for (int i = 0; i < 100; i++)   /* 100, 99, ..., 1: sorted it is 1..100 */
        v[i] = (double)(100 - i);
    rls_quantile_sort(v, 100);
    for (int i = 0; i < 100; i++)
        assert_true(v[i] == (double)(i + 1));
    /* rank ceil(q n): the value k is the k-th smallest */
    assert_true(rls_quantile_nearest_rank(v, 100, 0.50) == 50.0);
    assert_true(rls_quantile_nearest_rank(v, 100, 0.95) == 95.0);
    assert_true(rls_quantile_nearest_rank(v, 100, 0.99) == 99.0);
    assert_true(rls_quantile_nearest_rank(v, 100, 0.951) == 96.0);   /* ceil(95.1) */
    /* 10 values: the median is the 5th, p95 and p99 the 10th */
    assert_true(rls_quantile_nearest_rank(v, 10, 0.50) == 5.0);
    assert_true(rls_quantile_nearest_rank(v, 10, 0.95) == 10.0);
    assert_true(rls_quantile_nearest_rank(v, 10, 0.99) == 10.0);
}

static void test_the_ends_clamp_and_an_empty_sample_gives_zero(void **state)
{
    double v[3] = { -2.0, 0.5, 7.0 };
    (void)state;

    assert_true(rls_quantile_nearest_rank(v, 3, 0.0) == -2.0);
    assert_true(rls_quantile_nearest_rank(v, 3, -1.0) == -2.0);
    assert_true(rls_quantile_nearest_rank(v, 3, 1.0) == 7.0);
    assert_true(rls_quantile_nearest_rank(v, 3, 2.0) == 7.0);
    assert_true(rls_quantile_nearest_rank(v, 1, 0.99) == -2.0);
    assert_true(rls_quantile_nearest_rank(v, 0, 0.5) == 0.0);
    assert_true(rls_quantile_nearest_rank(NULL, 5, 0.5) == 0.0);
    rls_quantile_sort(NULL, 5);     /* no-ops */
    rls_quantile_sort(v, 1);
    assert_true(v[0] == -2.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_rank_is_ceil_q_n_of_the_sorted_sample),
        cmocka_unit_test(test_the_ends_clamp_and_an_empty_sample_gives_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
