/* SPDX-License-Identifier: MIT */
/*
 * mannwhitney.h - two-sided Mann-Whitney U (Wilcoxon rank-sum) test: exact p-values for
 * small samples, normal approximation with tie correction for large ones.
 */
#ifndef IPCM_HARNESS_MANNWHITNEY_H
#define IPCM_HARNESS_MANNWHITNEY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Up to this many values in both samples together the p-value is exact: the
 * permutation distribution of the rank sum is counted by dynamic programming over
 * (doubled) mid-ranks, so ties are handled exactly too (the conditional test given the
 * tie pattern). Above it, the normal approximation with tie and continuity correction.
 */
#define IPCM_MWU_EXACT_MAX_N 50
/* Largest sample accepted (per side). */
#define IPCM_MWU_MAX_N 100000

struct ipcm_mwu {
    double u;   /* U statistic of the first sample (pairs x > y, ties count 1/2) */
    double p;   /* two-sided p-value in [0, 1] */
    bool exact; /* p from the exact distribution (else the normal approximation) */
    bool ties;  /* some values were tied */
};

/*
 * ipcm_mwu_test - test whether x[0..nx) and y[0..ny) come from one distribution,
 * against the two-sided alternative that one is stochastically larger.
 * Values must be finite. Returns 0, or:
 *   -EINVAL  nx or ny is 0, above IPCM_MWU_MAX_N, or a value is not finite
 *   -ENOMEM  out of memory
 */
int ipcm_mwu_test(const double *x, size_t nx, const double *y, size_t ny, struct ipcm_mwu *out);

/*
 * ipcm_mwu_min_p - the smallest two-sided p-value any data of these sizes can give
 * (complete separation, no ties): 2 / C(nx + ny, nx), capped at 1. When it is above
 * alpha, the test can never reject and the sample is too small to judge.
 */
double ipcm_mwu_min_p(size_t nx, size_t ny);

#endif /* IPCM_HARNESS_MANNWHITNEY_H */
