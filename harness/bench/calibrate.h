/* SPDX-License-Identifier: MIT */
/*
 * calibrate.h - this host's own limits, measured in a few hundred milliseconds at the
 * start and end of a run (DESIGN.md §6): the cross-CPU cache-line round trip, single-core
 * memcpy bandwidth at 64 KiB, and the cost of reading the clock.
 */
#ifndef IPCM_HARNESS_CALIBRATE_H
#define IPCM_HARNESS_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h" /* struct ipcm_calibration, filled by ipcm_calibrate */

/*
 * ipcm_calibrate_line_rtt - bounce one cache line between two child processes pinned to
 * cpu_a and cpu_b (busy spin, never sleeping) for about budget_ms; the median of a few
 * trials, in ns per round trip. Returns 0, -EINVAL (a == b or a CPU not usable),
 * -ETIMEDOUT (a side never ran), or -errno.
 */
int ipcm_calibrate_line_rtt(int cpu_a, int cpu_b, unsigned budget_ms, double *rtt_ns);
/* ipcm_calibrate_memcpy - memcpy bandwidth for `bytes`-sized copies on this core, the
 * median of 5 trials of about budget_ms / 5 each. Returns 0 or -ENOMEM. */
int ipcm_calibrate_memcpy(size_t bytes, unsigned budget_ms, double *gbs);
/*
 * ipcm_calibrate_raw_pipe - ping-pong 8 bytes over two plain blocking pipes between two
 * processes pinned to cpu_a and cpu_b (equal: one CPU) for about budget_ms, every round
 * trip timed into a histogram; *p50_ns is its median. Returns 0, -EINVAL (CPU not
 * usable), -ETIMEDOUT, or -errno.
 */
int ipcm_calibrate_raw_pipe(int cpu_a, int cpu_b, unsigned budget_ms, double *p50_ns);
/* ipcm_calibrate_timer - mean cost of one CLOCK_MONOTONIC read, and its resolution. */
int ipcm_calibrate_timer(double *overhead_ns, uint64_t *resolution_ns);
/*
 * ipcm_calibrate_stream - stream 64 KiB records from cpu_a to cpu_b for about budget_ms
 * through a 4 MiB single-producer ring (busy spin), in GB/s. Returns 0, -EINVAL,
 * -ETIMEDOUT (a side never ran), or -errno.
 */
int ipcm_calibrate_stream(int cpu_a, int cpu_b, unsigned budget_ms, double *gbs);
/* ipcm_calibrate - all of the above (about 400 ms). Fields that cannot be measured are
 * NAN. Returns 0. */
int ipcm_calibrate(struct ipcm_calibration *out);

#endif /* IPCM_HARNESS_CALIBRATE_H */
