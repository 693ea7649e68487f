/* SPDX-License-Identifier: MIT */
/*
 * hist.h - a log-linear latency histogram modelled on HdrHistogram's API: fixed memory
 * (no allocation, so it may live in a shared mapping written by a worker process),
 * O(1) record, better than 1% relative precision from 1 ns to beyond 100 s.
 */
#ifndef IPCM_HARNESS_HIST_H
#define IPCM_HARNESS_HIST_H

#include <stdint.h>

/*
 * Layout: values below 2^IPCM_HIST_SUB_BITS+1 (256) each have their own bucket; above,
 * every power of two [2^e, 2^(e+1)) is split into 2^IPCM_HIST_SUB_BITS (128) equal
 * buckets, so a bucket is at most 1/128 (0.78%) of the values in it wide, and the
 * reported midpoint is within 0.4% of any value recorded in it. The top power is
 * 2^IPCM_HIST_MAX_EXP (~1100 s); larger values are clamped into the last bucket and
 * counted in `clamped` (min, max and mean stay exact).
 */
#define IPCM_HIST_SUB_BITS 7
#define IPCM_HIST_SUB_COUNT (1u << IPCM_HIST_SUB_BITS)
#define IPCM_HIST_MAX_EXP 40
#define IPCM_HIST_LINEAR (2u * IPCM_HIST_SUB_COUNT)
#define IPCM_HIST_BUCKETS \
    (IPCM_HIST_LINEAR + (IPCM_HIST_MAX_EXP - IPCM_HIST_SUB_BITS) * IPCM_HIST_SUB_COUNT)

struct ipcm_hist {
    uint64_t total;   /* values recorded */
    uint64_t min, max; /* exact; min is UINT64_MAX while empty */
    double sum;       /* exact sum, for the mean */
    uint64_t clamped; /* values above the top bucket */
    uint64_t counts[IPCM_HIST_BUCKETS];
};

/* ipcm_hist_init - make h empty. Returns 0. */
int ipcm_hist_init(struct ipcm_hist *h);
/* ipcm_hist_reset - same as init; kept for HdrHistogram-shaped callers. */
void ipcm_hist_reset(struct ipcm_hist *h);
/* ipcm_hist_fini - release what init took (nothing today; keeps init/fini pairs honest). */
void ipcm_hist_fini(struct ipcm_hist *h);
/* ipcm_hist_record - add one value (ns). O(1), no allocation, no system call. */
void ipcm_hist_record(struct ipcm_hist *h, uint64_t value);
/* ipcm_hist_record_n - add a value count times. */
void ipcm_hist_record_n(struct ipcm_hist *h, uint64_t value, uint64_t count);
/* ipcm_hist_merge - add every value of src into dst. */
void ipcm_hist_merge(struct ipcm_hist *dst, const struct ipcm_hist *src);
/*
 * ipcm_hist_value_at_percentile - the value below or at which p percent (0..100) of the
 * recorded values lie, as the midpoint of its bucket clamped to [min, max] (so p=0 is
 * min and p=100 is max). Returns 0 for an empty histogram.
 */
uint64_t ipcm_hist_value_at_percentile(const struct ipcm_hist *h, double p);
/* Exact min, max and mean of the recorded values (0 when empty). */
uint64_t ipcm_hist_min(const struct ipcm_hist *h);
uint64_t ipcm_hist_max(const struct ipcm_hist *h);
double ipcm_hist_mean(const struct ipcm_hist *h);
uint64_t ipcm_hist_count(const struct ipcm_hist *h);

/* Internal, exposed for tests: bucket index of a value and the bucket's [lo, hi]. */
unsigned ipcm_hist_index(uint64_t value);
void ipcm_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi);

#endif /* IPCM_HARNESS_HIST_H */
