/* SPDX-License-Identifier: MIT */
/*
 * results_read.h - a defensive reader for ipcmark results files (DESIGN.md §7,
 * schema "ipcmark-results/1"), used by compare and plot. Hostile input gives an error
 * with a message naming the field, never a crash.
 */
#ifndef IPCM_HARNESS_RESULTS_READ_H
#define IPCM_HARNESS_RESULTS_READ_H

#include <stddef.h>

#include "record.h"

/* Limits that keep a hostile file from exhausting memory or time. */
#define IPCM_RR_MAX_FILE_BYTES (16u << 20) /* a results file larger than this is refused */
#define IPCM_RR_MAX_CASES 20000            /* cases[] entries */
#define IPCM_RR_MAX_SAMPLES 10000          /* entries of one samples[] array */
#define IPCM_RR_MAX_SIZE (1ull << 40)      /* message size in bytes */
#define IPCM_RR_MAX_COUNT 1000000          /* producers, consumers, workers, repetitions */

/*
 * The reader fills the fields of struct ipcm_results (record.h) that compare and plot
 * use: the header, host.hostname/kernel/cpu_model/cpus_online, host.calibration, and
 * per case the key, status, repetitions, msgs/bytes/tasks_per_s (median, min, max, mad,
 * samples) and latency_ns (percentiles and samples). The fields marked (writer) there
 * are left zero. Host text is cut to IPCM_RR_TEXT_LEN - 1 characters.
 */

/*
 * ipcm_results_parse - parse a results document held in memory.
 *   buf, len  the JSON text (need not be NUL-terminated); len <= IPCM_RR_MAX_FILE_BYTES
 *   out       receives a new struct ipcm_results, to be freed with ipcm_results_free
 *   err       receives a one-line reason on failure ("cases[3].msgs_per_s.samples[2]:
 *             not a finite number"); may be NULL
 * Returns 0, or:
 *   -EINVAL  not JSON, or a field missing, of the wrong type or out of range
 *   -EPROTO  valid JSON but not an ipcmark results file of a schema this reader knows
 *   -EFBIG   larger than IPCM_RR_MAX_FILE_BYTES
 *   -E2BIG   more cases or samples than the limits above
 *   -ENOMEM  out of memory
 */
int ipcm_results_parse(const char *buf, size_t len, struct ipcm_results **out, char *err,
                       size_t errlen);

/*
 * ipcm_results_load - read and parse a results file. Same contract as
 * ipcm_results_parse; also -errno from open/read (-ENOENT, -EACCES, -EISDIR, ...).
 */
int ipcm_results_load(const char *path, struct ipcm_results **out, char *err, size_t errlen);

/*
 * ipcm_results_merge - move the cases of src to the end of dst, so that one plot can
 * draw several files (a bench run and the python-mp reference). dst keeps its own
 * host and header fields; src is left with no cases and is still freed by the caller.
 * Returns 0, or (dst and src unchanged):
 *   -EINVAL  a case of src has the key of a case of dst (err names it)
 *   -E2BIG   more than IPCM_RR_MAX_CASES cases together
 *   -ENOMEM  out of memory
 */
int ipcm_results_merge(struct ipcm_results *dst, struct ipcm_results *src, char *err,
                       size_t errlen);

#endif /* IPCM_HARNESS_RESULTS_READ_H */
