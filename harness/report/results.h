/* SPDX-License-Identifier: MIT */
/*
 * results.h - the writer of the results record (record.h): host, limits, build,
 * calibration, configuration and cases, written as JSON (schema "ipcmark-results/1",
 * DESIGN.md §7), CSV (one flat row per case) and a table for people; plus the ranking
 * the default run prints.
 */
#ifndef IPCM_HARNESS_RESULTS_H
#define IPCM_HARNESS_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "record.h"

/* ipcm_host_read - fill the host fields of *r (hostname, kernel, cpu_model, cpus_online,
 * cpus_allowed, governor, limits) from uname, /proc and /sys. Returns 0. */
int ipcm_host_read(struct ipcm_results *r);

/* ipcm_load_sample - take a sample. Returns 0, or -errno if /proc/stat is unreadable. */
int ipcm_load_sample(struct ipcm_load_sample *s);
/* ipcm_record_load - percent of all CPU time between r->load[0] and [1] used by other
 * work and lost to steal. Returns false when the samples are missing. */
bool ipcm_record_load(const struct ipcm_results *r, double *others_pct, double *steal_pct);

/* A cache-line round trip slower than this (ns) means a calibration side waited for a
 * CPU held by other work: the host was busy and the run's figures are unreliable. */
#define IPCM_BUSY_LINE_RTT_NS 5000.0

/*
 * ipcm_record_init - zero *r, read the host, stamp the time and the tool (version,
 * git), and mark the calibration not measured (NAN). Fill calibration.at[], load[],
 * config and the cases (ipcm_bench_record) before writing; release with
 * ipcm_record_fini. Returns 0.
 */
int ipcm_record_init(struct ipcm_results *r);
/* ipcm_record_calibration_changed - true when start and end calibration differ by more
 * than 25% (the machine changed under the run); *why says which figure. */
bool ipcm_record_calibration_changed(const struct ipcm_results *r, char *why, size_t len);
/* ipcm_record_busy - true when a calibration end took longer than IPCM_BUSY_LINE_RTT_NS
 * for a cache-line round trip (the host was busy while it was measured). */
bool ipcm_record_busy(const struct ipcm_results *r);

/* ipcm_record_json - the whole record as a new JSON object (NULL on ENOMEM). */
json_t *ipcm_record_json(const struct ipcm_results *r);
/* ipcm_case_json - one case as a new JSON object (DESIGN.md §7 fields); r gives the
 * calibration its figures are set against ("of_limit") and may be NULL. */
json_t *ipcm_case_json(const struct ipcm_results *r, const struct ipcm_rr_case *c);
/* Write the record to path (JSON, 2-space indented; CSV with a header row).
 * Returns 0 or -errno. */
int ipcm_record_write_json(const struct ipcm_results *r, const char *path);
int ipcm_record_write_csv(const struct ipcm_results *r, const char *path);
/* ipcm_record_print_table - the readable table, to f (the caller's choice of stream). */
void ipcm_record_print_table(const struct ipcm_results *r, FILE *f);

/* One line of the ranking: the best backend for a workload, and by how much. */
struct ipcm_rank {
    char title[48];            /* "small messages" */
    char workload[64];         /* "throughput 64 B, 1x1" */
    const char *best, *second; /* backend names (in the record); second NULL if only one ran */
    double best_value, second_value;
    const char *unit; /* "msg/s", "B/s", "ns" */
    bool lower_is_better;
    double margin_pct; /* how much better the best is than the second */
    bool clear;        /* the confidence intervals do not overlap */
    bool best_spins;   /* the winner spins before sleeping (IPCM_CAP_SPINS) */
};
/* ipcm_record_rank - rankings for small messages, large messages, many producers and
 * latency from the cases of a record; returns how many were filled (<= max). The names
 * point into r, which must outlive out. */
size_t ipcm_record_rank(const struct ipcm_results *r, struct ipcm_rank *out, size_t max);

#endif /* IPCM_HARNESS_RESULTS_H */
