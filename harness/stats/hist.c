/* SPDX-License-Identifier: MIT */
/*
 * hist.c - the log-linear latency histogram (see hist.h for the bucket layout).
 */
#include "hist.h"

#include <string.h>

int ipcm_hist_init(struct ipcm_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
    return 0;
}

void ipcm_hist_reset(struct ipcm_hist *h)
{
    ipcm_hist_init(h);
}

void ipcm_hist_fini(struct ipcm_hist *h)
{
    (void)h;
}

unsigned ipcm_hist_index(uint64_t v)
{
    if (v < IPCM_HIST_LINEAR)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 2^e <= v < 2^(e+1), e >= 8 */
    if (e >= IPCM_HIST_MAX_EXP + 1)
        return IPCM_HIST_BUCKETS - 1;
    unsigned shift = e - IPCM_HIST_SUB_BITS;
    unsigned sub = (unsigned)(v >> shift) - IPCM_HIST_SUB_COUNT;
    return IPCM_HIST_LINEAR + (e - IPCM_HIST_SUB_BITS - 1) * IPCM_HIST_SUB_COUNT + sub;
}

void ipcm_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < IPCM_HIST_LINEAR) {
        *lo = *hi = idx;
        return;
    }
    unsigned k = idx - IPCM_HIST_LINEAR;
    unsigned e = k / IPCM_HIST_SUB_COUNT + IPCM_HIST_SUB_BITS + 1;
    unsigned sub = k % IPCM_HIST_SUB_COUNT;
    unsigned shift = e - IPCM_HIST_SUB_BITS;
    *lo = ((uint64_t)(IPCM_HIST_SUB_COUNT + sub)) << shift;
    *hi = *lo + ((uint64_t)1 << shift) - 1;
}

void ipcm_hist_record_n(struct ipcm_hist *h, uint64_t v, uint64_t count)
{
    if (!count)
        return;
    unsigned idx = ipcm_hist_index(v);
    if (v >= ((uint64_t)2 << IPCM_HIST_MAX_EXP))
        h->clamped += count;
    h->counts[idx] += count;
    h->total += count;
    h->sum += (double)v * (double)count;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void ipcm_hist_record(struct ipcm_hist *h, uint64_t v)
{
    ipcm_hist_record_n(h, v, 1);
}

void ipcm_hist_merge(struct ipcm_hist *dst, const struct ipcm_hist *src)
{
    if (!src->total)
        return;
    for (unsigned i = 0; i < IPCM_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    dst->clamped += src->clamped;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t ipcm_hist_value_at_percentile(const struct ipcm_hist *h, double p)
{
    if (!h->total)
        return 0;
    if (p <= 0.0)
        return h->min;
    if (p >= 100.0)
        return h->max;
    /* The rank of the value wanted, 1-based, as HdrHistogram counts it. */
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < IPCM_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            ipcm_hist_bucket_range(i, &lo, &hi);
            uint64_t mid = lo + (hi - lo) / 2;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max;
}

uint64_t ipcm_hist_min(const struct ipcm_hist *h)
{
    return h->total ? h->min : 0;
}

uint64_t ipcm_hist_max(const struct ipcm_hist *h)
{
    return h->max;
}

double ipcm_hist_mean(const struct ipcm_hist *h)
{
    return h->total ? h->sum / (double)h->total : 0.0;
}

uint64_t ipcm_hist_count(const struct ipcm_hist *h)
{
    return h->total;
}
