/* SPDX-License-Identifier: MIT */
/*
 * test_hist.c - the log-linear histogram: bucket layout, relative precision, percentiles
 * of known distributions, merge and reset.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

#include "hist.h"

static struct ipcm_hist *new_hist(void)
{
    struct ipcm_hist *h = malloc(sizeof(*h));
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(ipcm_hist_init(h), 0);
    return h;
}

START_TEST(empty_histogram_reports_zero)
{
    struct ipcm_hist *h = new_hist();
    ck_assert_uint_eq(ipcm_hist_count(h), 0);
    ck_assert_uint_eq(ipcm_hist_min(h), 0);
    ck_assert_uint_eq(ipcm_hist_max(h), 0);
    ck_assert_uint_eq(ipcm_hist_value_at_percentile(h, 50), 0);
    ck_assert(ipcm_hist_mean(h) == 0.0);
    ipcm_hist_fini(h);
    free(h);
}
END_TEST

START_TEST(buckets_are_contiguous_and_ordered)
{
    uint64_t prev_hi = 0;
    for (unsigned i = 0; i < IPCM_HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        ipcm_hist_bucket_range(i, &lo, &hi);
        ck_assert_uint_le(lo, hi);
        if (i)
            ck_assert_uint_eq(lo, prev_hi + 1);
        ck_assert_uint_eq(ipcm_hist_index(lo), i);
        ck_assert_uint_eq(ipcm_hist_index(hi), i);
        prev_hi = hi;
    }
    /* 100 s is inside the range; a huge value lands in the last bucket. */
    ck_assert_uint_lt(ipcm_hist_index(UINT64_C(100000000000)), IPCM_HIST_BUCKETS - 1);
    ck_assert_uint_eq(ipcm_hist_index(UINT64_MAX), IPCM_HIST_BUCKETS - 1);
}
END_TEST

START_TEST(relative_precision_is_better_than_one_percent)
{
    /* Every value from 1 ns to 100 s, geometrically spaced: the reported value of a
     * lone sample is within 1% of it. */
    struct ipcm_hist *h = new_hist();
    for (double v = 1; v <= 1e11; v *= 1.0137) {
        uint64_t x = (uint64_t)v;
        uint64_t lo, hi;
        ipcm_hist_bucket_range(ipcm_hist_index(x), &lo, &hi);
        ck_assert_msg((double)(hi - lo + 1) <= 0.01 * (double)lo + 1.0,
                      "bucket of %llu is [%llu, %llu]", (unsigned long long)x,
                      (unsigned long long)lo, (unsigned long long)hi);
        ipcm_hist_reset(h);
        ipcm_hist_record(h, x + 7); /* so min/max clamping does not hide the bucket */
        ipcm_hist_record(h, x);
        uint64_t got = ipcm_hist_value_at_percentile(h, 50);
        ck_assert_msg(fabs((double)got - (double)x) <= 0.01 * (double)x,
                      "p50 of %llu reported as %llu", (unsigned long long)x,
                      (unsigned long long)got);
    }
    free(h);
}
END_TEST

START_TEST(percentiles_of_a_uniform_distribution)
{
    struct ipcm_hist *h = new_hist();
    for (uint64_t v = 1; v <= 100000; v++)
        ipcm_hist_record(h, v * 1000); /* 1 us .. 100 ms */
    ck_assert_uint_eq(ipcm_hist_count(h), 100000);
    ck_assert_uint_eq(ipcm_hist_min(h), 1000);
    ck_assert_uint_eq(ipcm_hist_max(h), 100000000);
    const double ps[] = {10, 50, 90, 99, 99.9};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        double want = ps[i] / 100.0 * 1e8;
        double got = (double)ipcm_hist_value_at_percentile(h, ps[i]);
        ck_assert_msg(fabs(got - want) <= 0.01 * want, "p%g: want %.0f got %.0f", ps[i], want,
                      got);
    }
    ck_assert_uint_eq(ipcm_hist_value_at_percentile(h, 0), 1000);
    ck_assert_uint_eq(ipcm_hist_value_at_percentile(h, 100), 100000000);
    ck_assert(fabs(ipcm_hist_mean(h) - 50000500.0) < 1.0);
    free(h);
}
END_TEST

START_TEST(percentiles_of_a_bimodal_distribution)
{
    /* 99% of samples at ~5 us (one CPU), 1% at ~45 us (across CPUs): p50 and p99 must
     * fall in the right mode, p99.9 in the slow one. */
    struct ipcm_hist *h = new_hist();
    for (int i = 0; i < 9900; i++)
        ipcm_hist_record(h, 5000 + (uint64_t)(i % 100));
    for (int i = 0; i < 100; i++)
        ipcm_hist_record(h, 45000 + (uint64_t)i);
    uint64_t p50 = ipcm_hist_value_at_percentile(h, 50);
    uint64_t p999 = ipcm_hist_value_at_percentile(h, 99.9);
    ck_assert_uint_ge(p50, 4950);
    ck_assert_uint_le(p50, 5150);
    ck_assert_uint_le(ipcm_hist_value_at_percentile(h, 98.9), 5150);
    ck_assert_uint_ge(p999, 44500);
    ck_assert_uint_le(p999, 45600);
    free(h);
}
END_TEST

START_TEST(merge_equals_recording_into_one)
{
    struct ipcm_hist *a = new_hist(), *b = new_hist(), *all = new_hist();
    srand(42);
    for (int i = 0; i < 20000; i++) {
        uint64_t v = (uint64_t)rand() % 1000000;
        ipcm_hist_record(i % 2 ? a : b, v);
        ipcm_hist_record(all, v);
    }
    ipcm_hist_merge(a, b);
    ck_assert_uint_eq(ipcm_hist_count(a), ipcm_hist_count(all));
    ck_assert_uint_eq(ipcm_hist_min(a), ipcm_hist_min(all));
    ck_assert_uint_eq(ipcm_hist_max(a), ipcm_hist_max(all));
    for (double p = 1; p < 100; p += 7.5)
        ck_assert_uint_eq(ipcm_hist_value_at_percentile(a, p),
                          ipcm_hist_value_at_percentile(all, p));
    ck_assert(fabs(ipcm_hist_mean(a) - ipcm_hist_mean(all)) < 1e-6 * ipcm_hist_mean(all));
    free(a);
    free(b);
    free(all);
}
END_TEST

START_TEST(huge_values_are_clamped_and_counted)
{
    struct ipcm_hist *h = new_hist();
    ipcm_hist_record(h, UINT64_C(1) << 50);
    ipcm_hist_record_n(h, 10, 3);
    ck_assert_uint_eq(h->clamped, 1);
    ck_assert_uint_eq(ipcm_hist_count(h), 4);
    ck_assert_uint_eq(ipcm_hist_max(h), UINT64_C(1) << 50);
    ck_assert_uint_eq(ipcm_hist_value_at_percentile(h, 50), 10);
    free(h);
}
END_TEST

static Suite *hist_suite(void)
{
    Suite *s = suite_create("hist");
    TCase *tc = tcase_create("hist");
    tcase_add_test(tc, empty_histogram_reports_zero);
    tcase_add_test(tc, buckets_are_contiguous_and_ordered);
    tcase_add_test(tc, relative_precision_is_better_than_one_percent);
    tcase_add_test(tc, percentiles_of_a_uniform_distribution);
    tcase_add_test(tc, percentiles_of_a_bimodal_distribution);
    tcase_add_test(tc, merge_equals_recording_into_one);
    tcase_add_test(tc, huge_values_are_clamped_and_counted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(hist_suite());
}
