/* SPDX-License-Identifier: MIT */
/*
 * stats.c - median, MAD and the binomial confidence interval of the median. Samples are
 * few (repetitions), so everything sorts a copy.
 */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double *sorted_copy(const double *x, size_t n)
{
    double *s = malloc((n ? n : 1) * sizeof(*s));
    if (!s)
        return NULL;
    memcpy(s, x, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_double);
    return s;
}

static double median_sorted(const double *s, size_t n)
{
    if (!n)
        return 0.0;
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

double ipcm_stats_median(const double *x, size_t n)
{
    double *s = sorted_copy(x, n);
    if (!s)
        return NAN;
    double m = median_sorted(s, n);
    free(s);
    return m;
}

double ipcm_stats_mad(const double *x, size_t n)
{
    if (!n)
        return 0.0;
    double m = ipcm_stats_median(x, n);
    double *d = malloc(n * sizeof(*d));
    if (!d)
        return NAN;
    for (size_t i = 0; i < n; i++)
        d[i] = fabs(x[i] - m);
    double mad = ipcm_stats_median(d, n);
    free(d);
    return mad;
}

/* P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n cannot overflow. */
static double binom_half_cdf(size_t n, size_t k)
{
    double sum = 0.0;
    for (size_t i = 0; i <= k && i <= n; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                   (double)n * log(2.0));
    return sum;
}

int ipcm_stats_median_ci(const double *x, size_t n, double level, double *lo, double *hi,
                         double *coverage)
{
    if (!n || !(level > 0.0 && level < 1.0))
        return -EINVAL;
    double *s = sorted_copy(x, n);
    if (!s)
        return -ENOMEM;
    /* k is 1-based: the interval [s(k), s(n-k+1)] misses the median with probability
     * 2 P(X <= k-1). Take the largest k that keeps coverage >= level. */
    size_t k = 1;
    double cov = 1.0 - 2.0 * binom_half_cdf(n, 0);
    for (size_t j = 2; j <= (n + 1) / 2; j++) {
        double c = 1.0 - 2.0 * binom_half_cdf(n, j - 1);
        if (c < level)
            break;
        k = j;
        cov = c;
    }
    *lo = s[k - 1];
    *hi = s[n - k];
    if (coverage)
        *coverage = cov;
    free(s);
    return 0;
}

int ipcm_stats_summarize(const double *x, size_t n, struct ipcm_summary *out)
{
    memset(out, 0, sizeof(*out));
    if (!n)
        return -EINVAL;
    double *s = sorted_copy(x, n);
    if (!s)
        return -ENOMEM;
    out->n = n;
    out->min = s[0];
    out->max = s[n - 1];
    out->median = median_sorted(s, n);
    free(s);
    out->mad = ipcm_stats_mad(x, n);
    return ipcm_stats_median_ci(x, n, 0.95, &out->ci_lo, &out->ci_hi, &out->ci_level);
}
