/* SPDX-License-Identifier: MIT */
/*
 * stats.h - robust summaries of a few repetitions: median, min, max, MAD and a
 * distribution-free 95% confidence interval of the median (binomial order statistics).
 */
#ifndef IPCM_HARNESS_STATS_H
#define IPCM_HARNESS_STATS_H

#include <stddef.h>

struct ipcm_summary {
    size_t n;
    double median, min, max;
    double mad;          /* median absolute deviation from the median, unscaled */
    double ci_lo, ci_hi; /* confidence interval of the median */
    double ci_level;     /* its exact coverage, >= 0.95 where n >= 6 (see ipcm_stats_summarize) */
};

/* ipcm_stats_median - median of n values (mean of the middle two for even n); 0 if n is 0.
 * The input is not modified. */
double ipcm_stats_median(const double *x, size_t n);
/* ipcm_stats_mad - median of |x_i - median(x)|. */
double ipcm_stats_mad(const double *x, size_t n);
/*
 * ipcm_stats_median_ci - the order-statistic interval [x_(k), x_(n-k+1)] for the
 * largest k whose coverage 1 - 2 P(Binomial(n, 1/2) < k) is at least `level`. Below
 * n = 6 no such k exists for level 0.95: the interval is then [min, max] and *coverage
 * says what it really is (93.75% at n = 5). Needs no assumption about the distribution.
 * Returns 0, or -EINVAL for n = 0 or level outside (0, 1).
 */
int ipcm_stats_median_ci(const double *x, size_t n, double level, double *lo, double *hi,
                         double *coverage);
/* ipcm_stats_summarize - all of the above at level 0.95. Returns 0 or -EINVAL (n = 0),
 * -ENOMEM. */
int ipcm_stats_summarize(const double *x, size_t n, struct ipcm_summary *out);

#endif /* IPCM_HARNESS_STATS_H */
