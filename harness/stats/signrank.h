/* SPDX-License-Identifier: MIT */
/*
 * signrank.h - paired location statistics: the Hodges-Lehmann estimate and the
 * Wilcoxon signed-rank confidence interval of the centre of a symmetric distribution.
 */
#ifndef IPCM_HARNESS_SIGNRANK_H
#define IPCM_HARNESS_SIGNRANK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Up to this many differences the signed-rank distribution is counted exactly (a DP
 * over rank sums); above it, the normal approximation with continuity correction.
 */
#define IPCM_SIGNRANK_EXACT_MAX_N 200
/* Largest sample accepted: the interval sorts n(n+1)/2 Walsh averages. */
#define IPCM_SIGNRANK_MAX_N 2000

struct ipcm_signrank_ci {
    size_t n;        /* differences used */
    double estimate; /* Hodges-Lehmann: the median of the n(n+1)/2 Walsh averages */
    double lo, hi;   /* the interval; -INFINITY, +INFINITY when n is too small for it */
    double level;    /* its coverage under symmetry (>= the level asked for; 0 if none) */
    bool exact;      /* level from the exact distribution (else the normal one) */
};

/*
 * ipcm_signrank_cdf - P(T+ <= k) for the Wilcoxon signed-rank statistic of n untied
 * differences under the null (each sign +/- with probability 1/2). Exact for
 * n <= IPCM_SIGNRANK_EXACT_MAX_N. Returns a probability in [0, 1] (0 for k < 0).
 */
double ipcm_signrank_cdf(size_t n, long k);

/*
 * ipcm_signrank_ci - estimate and two-sided confidence interval of the centre of
 * symmetry of d[0..n) (Hollander & Wolfe, Nonparametric Statistical Methods, 3rd ed.,
 * 2014, §3.2-3.3: the interval runs from the k-th smallest to the k-th largest Walsh
 * average (d_i + d_j) / 2, i <= j, with k the largest integer for which
 * P(T+ <= k - 1) <= (1 - level) / 2). Values must be finite.
 *   level  wanted coverage in (0, 1), e.g. 0.95
 * Returns 0 (the interval may be infinite when n is too small for level), or:
 *   -EINVAL  n is 0 or above IPCM_SIGNRANK_MAX_N, level outside (0, 1), a value not finite
 *   -ENOMEM  out of memory
 */
int ipcm_signrank_ci(const double *d, size_t n, double level, struct ipcm_signrank_ci *out);

/*
 * ipcm_signrank_min_n - the smallest n whose interval at level is finite
 * (2 * 2^-n <= 1 - level).
 */
size_t ipcm_signrank_min_n(double level);

#endif /* IPCM_HARNESS_SIGNRANK_H */
