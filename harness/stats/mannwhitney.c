/* SPDX-License-Identifier: MIT */
/*
 * mannwhitney.c - Mann-Whitney U test. The exact branch counts rank-sum subsets with a
 * DP over doubled mid-ranks, which keeps every quantity an integer (exact in a double).
 */
#include "mannwhitney.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mwu_item {
    double v;
    int group; /* 0: x, 1: y */
};

static int cmp_item(const void *a, const void *b)
{
    const struct mwu_item *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

double ipcm_mwu_min_p(size_t nx, size_t ny)
{
    if (nx == 0 || ny == 0)
        return 1.0;
    /* C(n, k) by the multiplicative formula; large values only need to be large. */
    size_t n = nx + ny, k = nx < ny ? nx : ny;
    double c = 1.0;
    for (size_t i = 1; i <= k && c < 1e300; i++)
        c = c * (double)(n - k + i) / (double)i;
    double p = 2.0 / c;
    return p > 1.0 ? 1.0 : p;
}

/*
 * Exact two-sided p-value: the share of all C(N, m) ways to pick m of the N doubled
 * ranks whose sum lies at least as far from its mean as the observed one.
 */
static int exact_p(const unsigned *rank2, size_t n, size_t m, unsigned long w2, double *p)
{
    size_t smax = 0;
    for (size_t i = 0; i < n; i++)
        smax += rank2[i];
    double *cnt = calloc((m + 1) * (smax + 1), sizeof(*cnt));
    if (!cnt)
        return -ENOMEM;
#define CNT(k, s) cnt[(k) * (smax + 1) + (s)]
    CNT(0, 0) = 1.0;
    for (size_t i = 0; i < n; i++) {
        /* Descending k so that each rank is used at most once (0/1 knapsack). */
        size_t kmax = i + 1 < m ? i + 1 : m;
        for (size_t k = kmax; k >= 1; k--)
            for (size_t s = smax; s >= rank2[i]; s--)
                CNT(k, s) += CNT(k - 1, s - rank2[i]);
    }
    /* Mean of the doubled rank sum is m (N + 1); deviations are integers. */
    long center = (long)(m * (n + 1));
    long dev = labs((long)w2 - center);
    double tail = 0, total = 0;
    for (size_t s = 0; s <= smax; s++) {
        double c = CNT(m, s);
        total += c;
        if (labs((long)s - center) >= dev)
            tail += c;
    }
#undef CNT
    free(cnt);
    *p = total > 0 ? tail / total : 1.0;
    if (*p > 1.0)
        *p = 1.0;
    return 0;
}

int ipcm_mwu_test(const double *x, size_t nx, const double *y, size_t ny, struct ipcm_mwu *out)
{
    size_t n = nx + ny;
    struct mwu_item *it;
    unsigned *rank2;
    double ties = 0; /* sum of t^3 - t over tie groups */
    unsigned long w2x = 0, w2y = 0;
    int r = 0;

    memset(out, 0, sizeof(*out));
    if (nx == 0 || ny == 0 || nx > IPCM_MWU_MAX_N || ny > IPCM_MWU_MAX_N)
        return -EINVAL;
    for (size_t i = 0; i < nx; i++)
        if (!isfinite(x[i]))
            return -EINVAL;
    for (size_t i = 0; i < ny; i++)
        if (!isfinite(y[i]))
            return -EINVAL;
    it = calloc(n, sizeof(*it));
    rank2 = calloc(n, sizeof(*rank2));
    if (!it || !rank2) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nx; i++)
        it[i] = (struct mwu_item){x[i], 0};
    for (size_t i = 0; i < ny; i++)
        it[nx + i] = (struct mwu_item){y[i], 1};
    qsort(it, n, sizeof(*it), cmp_item);
    /* Tied values share the mean of their ranks; doubled, (i+1 + j) stays an integer. */
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && it[j].v == it[i].v; j++)
            ;
        double t = (double)(j - i);
        if (j - i > 1) {
            ties += t * t * t - t;
            out->ties = true;
        }
        for (size_t k = i; k < j; k++) {
            rank2[k] = (unsigned)(i + 1 + j);
            if (it[k].group == 0)
                w2x += rank2[k];
            else
                w2y += rank2[k];
        }
    }
    out->u = (double)w2x / 2.0 - (double)nx * (double)(nx + 1) / 2.0;
    if (n <= IPCM_MWU_EXACT_MAX_N) {
        /* Count subsets of the smaller group: fewer states, same p-value. */
        bool use_x = nx <= ny;
        r = exact_p(rank2, n, use_x ? nx : ny, use_x ? w2x : w2y, &out->p);
        out->exact = r == 0;
        goto out;
    }
    double mu = (double)nx * (double)ny / 2.0;
    double var =
        (double)nx * (double)ny / 12.0 * ((double)(n + 1) - ties / ((double)n * (double)(n - 1)));
    if (var <= 0) {
        out->p = 1.0; /* every value tied: no evidence of a difference */
        goto out;
    }
    double z = (fabs(out->u - mu) - 0.5) / sqrt(var);
    out->p = z <= 0 ? 1.0 : erfc(z / sqrt(2.0));
    if (out->p > 1.0)
        out->p = 1.0;
out:
    free(rank2);
    free(it);
    return r;
}
