/* SPDX-License-Identifier: MIT */
/*
 * results.h - the record of a run: host, limits, build, calibration, configuration and
 * cases, written as JSON (schema "ipcmark-results/1", DESIGN.md §7), CSV (one flat row
 * per case) and a table for people; plus the ranking the default run prints.
 */
#ifndef IPCM_HARNESS_RESULTS_H
#define IPCM_HARNESS_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "bench.h"
#include "calibrate.h"

#ifndef IPCM_RESULTS_SCHEMA
#define IPCM_RESULTS_SCHEMA "ipcmark-results/1" /* also in results_read.h */
#endif

/* Kernel limits that bound IPC on this host; -1 where unreadable. */
struct ipcm_host_limits {
    long pipe_buf, pipe_max_size, pipe_user_pages_soft;
    long mqueue_msg_max, mqueue_msgsize_max, mqueue_msg_default, mqueue_msgsize_default,
        mqueue_queues_max;
    long wmem_max, wmem_default, rmem_max, rmem_default;
};

struct ipcm_host {
    char hostname[64];
    char kernel[400]; /* uname -srvm */
    char cpu_model[128];
    long cpus_online, cpus_allowed;
    char governor[32]; /* cpufreq governor of cpu0, "" where there is none (VMs) */
    struct ipcm_host_limits limits;
};

/* ipcm_host_read - fill *h from uname, /proc and /sys. Returns 0. */
int ipcm_host_read(struct ipcm_host *h);

/*
 * What else ran on this host during a run: /proc/stat CPU time (busy, steal), this
 * process's and its reaped children's CPU time, /proc/loadavg. Two samples, at the start
 * and at the end, tell how much of the machine other work (or the hypervisor, as steal)
 * took while we measured: the usual cause of run-to-run spread on a shared host.
 */
struct ipcm_load_sample {
    uint64_t wall_ns;
    double busy_s, steal_s, total_s; /* all CPUs, from /proc/stat */
    double own_s;                    /* getrusage self + children, user + system */
    double loadavg_1m;
};
/* ipcm_load_sample - take a sample. Returns 0, or -errno if /proc/stat is unreadable. */
int ipcm_load_sample(struct ipcm_load_sample *s);
struct ipcm_record;
/* ipcm_record_load - percent of all CPU time between r->load[0] and [1] used by other
 * work and lost to steal. Returns false when the samples are missing. */
bool ipcm_record_load(const struct ipcm_record *r, double *others_pct, double *steal_pct);

struct ipcm_record {
    struct ipcm_host host;
    struct ipcm_calibration cal[2]; /* [0] start of run, [1] end */
    bool have_end;
    struct ipcm_load_sample load[2]; /* start and end of the run (zero: not sampled) */
    char created_utc[32];        /* ISO 8601, set by ipcm_record_init */
    json_t *config;              /* the options as given; borrowed, may be NULL */
    const struct ipcm_bench_run *run; /* borrowed */
};

/* A cache-line round trip slower than this (ns) means a calibration side waited for a
 * CPU held by other work: the host was busy and the run's figures are unreliable. */
#define IPCM_BUSY_LINE_RTT_NS 5000.0

/* ipcm_record_init - zero *r, read the host and stamp the time. Returns 0. */
int ipcm_record_init(struct ipcm_record *r);
/* ipcm_record_calibration_changed - true when start and end calibration differ by more
 * than 25% (the machine changed under the run); *why says which figure. */
bool ipcm_record_calibration_changed(const struct ipcm_record *r, char *why, size_t len);

/* ipcm_record_json - the whole record as a new JSON object (NULL on ENOMEM). */
json_t *ipcm_record_json(const struct ipcm_record *r);
/* ipcm_case_json - one case as a new JSON object (DESIGN.md §7 fields). */
json_t *ipcm_case_json(const struct ipcm_record *r, const struct ipcm_bench_case *c);
/* ipcm_config_json - a configuration as a new JSON object (argv may be NULL). */
json_t *ipcm_config_json(const struct ipcm_bench_config *cfg, int argc, char **argv);
/* Write the record to path (JSON, 2-space indented; CSV with a header row).
 * Returns 0 or -errno. */
int ipcm_record_write_json(const struct ipcm_record *r, const char *path);
int ipcm_record_write_csv(const struct ipcm_record *r, const char *path);
/* ipcm_record_print_table - the readable table, to f (the caller's choice of stream). */
void ipcm_record_print_table(const struct ipcm_record *r, FILE *f);

/* One line of the ranking: the best backend for a workload, and by how much. */
struct ipcm_rank {
    char title[48];    /* "small messages" */
    char workload[64]; /* "throughput 64 B, 1x1" */
    const char *best, *second; /* backend names; second NULL if only one ran */
    double best_value, second_value;
    const char *unit; /* "msg/s", "B/s", "ns" */
    bool lower_is_better;
    double margin_pct; /* how much better the best is than the second */
    bool clear;        /* the confidence intervals do not overlap */
    bool best_spins;   /* the winner spins before sleeping (IPCM_CAP_SPINS) */
};
/* ipcm_record_rank - rankings for small messages, large messages, many producers and
 * latency from the cases of a run; returns how many were filled (<= max). */
size_t ipcm_record_rank(const struct ipcm_bench_run *run, struct ipcm_rank *out, size_t max);

#endif /* IPCM_HARNESS_RESULTS_H */
