/* SPDX-License-Identifier: MIT */
/*
 * signrank.c - Hodges-Lehmann estimate and Wilcoxon signed-rank interval. The exact
 * branch counts sign patterns by their rank sum, one rank at a time.
 */
#include "signrank.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/*
 * The null distribution of T+ for n untied ranks: pmf[s] is the share of the 2^n sign
 * patterns whose positive ranks sum to s (s = 0 .. n(n+1)/2). NULL when out of memory.
 */
static double *pmf_exact(size_t n)
{
    size_t max = n * (n + 1) / 2;
    double *p = calloc(max + 1, sizeof(*p));
    if (!p)
        return NULL;
    p[0] = 1.0;
    for (size_t r = 1, top = 0; r <= n; top += r, r++)
        /* Rank r is positive or not, with probability 1/2 each. Downwards, so that
         * p[s - r] is still the old value when p[s] reads it. */
        for (size_t s = top + r + 1; s-- > 0;)
            p[s] = 0.5 * (p[s] + (s >= r ? p[s - r] : 0));
    return p;
}

static double cdf_exact(size_t n, long k)
{
    double *p = pmf_exact(n), c = 0;
    if (!p)
        return NAN;
    for (long s = 0; s <= k; s++)
        c += p[s];
    free(p);
    return c > 1 ? 1 : c;
}

double ipcm_signrank_cdf(size_t n, long k)
{
    long max = (long)(n * (n + 1) / 2);
    if (k < 0)
        return 0;
    if (k >= max)
        return 1;
    if (n <= IPCM_SIGNRANK_EXACT_MAX_N)
        return cdf_exact(n, k);
    double mean = (double)max / 2, var = (double)n * (n + 1) * (2 * n + 1) / 24;
    return 0.5 * erfc(-((double)k + 0.5 - mean) / sqrt(2 * var));
}

size_t ipcm_signrank_min_n(double level)
{
    size_t n = 1;
    while (n < 64 && 2 * ldexp(1.0, -(int)n) > 1 - level)
        n++;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The largest k with P(T+ <= k - 1) <= tail; 0 when even k = 1 is too wide. */
static long interval_rank(size_t n, double tail, double *cover)
{
    long max = (long)(n * (n + 1) / 2), k = 0;
    double c = 0;
    if (n <= IPCM_SIGNRANK_EXACT_MAX_N) {
        double *p = pmf_exact(n);
        if (!p)
            return -ENOMEM;
        /* c is P(T+ <= k - 1) before the step; the distribution is symmetric, so the
         * scan stops by the middle. */
        while (k <= max / 2 && c + p[k] <= tail * (1 + 1e-12))
            c += p[k++];
        free(p);
    } else {
        long hi = max / 2 + 1;
        while (hi - k > 1) { /* bisect: the cdf is monotone in k */
            long mid = (k + hi) / 2;
            if (ipcm_signrank_cdf(n, mid - 1) <= tail * (1 + 1e-12))
                k = mid;
            else
                hi = mid;
        }
        c = k > 0 ? ipcm_signrank_cdf(n, k - 1) : 0;
    }
    *cover = k > 0 ? 1 - 2 * c : 0;
    return k;
}

int ipcm_signrank_ci(const double *d, size_t n, double level, struct ipcm_signrank_ci *out)
{
    if (n == 0 || n > IPCM_SIGNRANK_MAX_N || !(level > 0 && level < 1))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(d[i]))
            return -EINVAL;
    size_t m = n * (n + 1) / 2, w = 0;
    double *walsh = malloc(m * sizeof(*walsh));
    if (!walsh)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            walsh[w++] = 0.5 * (d[i] + d[j]);
    qsort(walsh, m, sizeof(*walsh), cmp_double);
    out->n = n;
    out->estimate = m % 2 ? walsh[m / 2] : 0.5 * (walsh[m / 2 - 1] + walsh[m / 2]);
    out->exact = n <= IPCM_SIGNRANK_EXACT_MAX_N;
    long k = interval_rank(n, (1 - level) / 2, &out->level);
    if (k < 0) {
        free(walsh);
        return (int)k;
    }
    if (k > 0) {
        out->lo = walsh[k - 1];
        out->hi = walsh[m - (size_t)k];
    } else {
        out->lo = -INFINITY;
        out->hi = INFINITY;
    }
    free(walsh);
    return 0;
}
