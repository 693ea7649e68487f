/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - median, MAD and the order-statistic confidence interval of the median.
 */
#include "testutil.h"

#include <errno.h>
#include <math.h>

#include "stats.h"

#define EPS 1e-9

START_TEST(median_odd_even_and_unsorted_input)
{
    const double odd[] = {5, 1, 3};
    const double even[] = {4, 1, 3, 2};
    ck_assert(fabs(ipcm_stats_median(odd, 3) - 3) < EPS);
    ck_assert(fabs(ipcm_stats_median(even, 4) - 2.5) < EPS);
    ck_assert(odd[0] == 5); /* input untouched */
    ck_assert(ipcm_stats_median(odd, 0) == 0.0);
}
END_TEST

START_TEST(mad_is_robust_to_one_outlier)
{
    const double x[] = {10, 11, 9, 10, 1000};
    /* median 10; deviations 0 1 1 0 990 -> MAD 1 */
    ck_assert(fabs(ipcm_stats_mad(x, 5) - 1.0) < EPS);
}
END_TEST

START_TEST(ci_small_n_is_min_max_with_true_coverage)
{
    const double x[] = {3, 1, 2, 5, 4};
    double lo, hi, cov;
    ck_assert_int_eq(ipcm_stats_median_ci(x, 5, 0.95, &lo, &hi, &cov), 0);
    ck_assert(lo == 1 && hi == 5);
    ck_assert(fabs(cov - (1.0 - 2.0 / 32.0)) < EPS); /* 93.75% */
}
END_TEST

START_TEST(ci_matches_binomial_tables)
{
    /* n = 10: the 95% interval is [x(2), x(9)], coverage 1 - 2 * 11/1024 = 97.85%.
     * n = 20: [x(6), x(15)], coverage 95.86%. */
    double x[20], lo, hi, cov;
    for (int i = 0; i < 20; i++)
        x[i] = 20 - i; /* reversed: values 1..20 */
    ck_assert_int_eq(ipcm_stats_median_ci(x, 10, 0.95, &lo, &hi, &cov), 0);
    ck_assert(lo == 12 && hi == 19); /* x holds 20..11; sorted 11..20 */
    ck_assert(fabs(cov - (1.0 - 22.0 / 1024.0)) < 1e-9);
    ck_assert_int_eq(ipcm_stats_median_ci(x, 20, 0.95, &lo, &hi, &cov), 0);
    ck_assert(lo == 6 && hi == 15);
    ck_assert(fabs(cov - 0.9586105) < 1e-6);
}
END_TEST

START_TEST(summary_fields_and_errors)
{
    const double x[] = {100, 102, 98, 101, 99, 150, 100};
    struct ipcm_summary s;
    double lo, hi;
    ck_assert_int_eq(ipcm_stats_summarize(x, 7, &s), 0);
    ck_assert_uint_eq(s.n, 7);
    ck_assert(s.median == 100 && s.min == 98 && s.max == 150);
    ck_assert(fabs(s.mad - 1.0) < EPS);
    ck_assert(s.ci_lo <= s.median && s.median <= s.ci_hi);
    ck_assert(s.ci_level >= 0.95);
    ck_assert_int_eq(ipcm_stats_summarize(x, 0, &s), -EINVAL);
    ck_assert_int_eq(ipcm_stats_median_ci(x, 7, 1.5, &lo, &hi, NULL), -EINVAL);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, median_odd_even_and_unsorted_input);
    tcase_add_test(tc, mad_is_robust_to_one_outlier);
    tcase_add_test(tc, ci_small_n_is_min_max_with_true_coverage);
    tcase_add_test(tc, ci_matches_binomial_tables);
    tcase_add_test(tc, summary_fields_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(stats_suite());
}
