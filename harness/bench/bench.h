/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the benchmark engine: a sweep driver that expands a configuration into
 * cases, runs each case R times (a fresh set of worker processes per repetition, after
 * a warm-up) through a *mode*, and summarises the repetitions. Library code: it never
 * prints or exits; progress goes through a callback.
 *
 * Adding a mode (e.g. `pool`) is one file, harness/bench/bench_<name>.c, that defines
 *     const struct ipcm_bench_mode ipcm_bench_mode_<name> = { ... };
 * plus one line in the mode table in bench.c (and the file in harness/bench/CMakeLists.txt).
 * The driver does the rest: sweeps, placement, skipping oversized messages,
 * repetitions, warm-up, statistics, JSON/CSV/table output.
 */
#ifndef IPCM_HARNESS_BENCH_BENCH_H
#define IPCM_HARNESS_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "ipcmark.h"
#include "record.h"
#include "stats.h"

#define IPCM_BENCH_MAX_LIST 16 /* items in one sweep list */
#define IPCM_BENCH_MAX_BACKENDS 16
#define IPCM_BENCH_MAX_CPUS 64 /* entries in --pin */
#define IPCM_BENCH_MAX_REPEAT 100
#define IPCM_BENCH_MAX_WORKERS 256   /* producers + consumers (or workers) of one case */
#define IPCM_BENCH_MAX_PRODUCERS 255 /* the message header has 8 bits of producer id */

/* Where the workers of a case run (DESIGN.md §6). */
enum ipcm_bench_placement {
    IPCM_PLACE_UNPINNED,  /* the scheduler decides */
    IPCM_PLACE_SAME_CPU,  /* latency: both ends on one CPU */
    IPCM_PLACE_CROSS_CPU, /* latency: the two ends on two different CPUs */
    IPCM_PLACE_CUSTOM,    /* --pin list taken round-robin by the workers */
};
const char *ipcm_bench_placement_name(enum ipcm_bench_placement p);

/* The sweep axes a mode uses; the driver forms the cross product of their lists. */
#define IPCM_BENCH_AXIS_SIZES (1u << 0)     /* --sizes */
#define IPCM_BENCH_AXIS_PRODUCERS (1u << 1) /* --producers (or --pairs) */
#define IPCM_BENCH_AXIS_CONSUMERS (1u << 2) /* --consumers (or --pairs) */
#define IPCM_BENCH_AXIS_WORKERS (1u << 3)   /* --workers (pool) */
#define IPCM_BENCH_AXIS_CHUNKS (1u << 4)    /* --chunk (pool) */
#define IPCM_BENCH_AXIS_PLACEMENT (1u << 5) /* same-cpu and cross-cpu unless --pin */

/* The metrics a mode reports (which of struct ipcm_bench_rep's fields it fills). */
#define IPCM_BENCH_METRIC_MSGS (1u << 0)    /* msgs_per_s and bytes_per_s */
#define IPCM_BENCH_METRIC_TASKS (1u << 1)   /* tasks_per_s */
#define IPCM_BENCH_METRIC_LATENCY (1u << 2) /* latency_ns (the histogram) */
#define IPCM_BENCH_METRIC_ONEWAY (1u << 3)  /* oneway_latency_ns, beside a rate */

/* What the user asked for: lists to sweep and how to measure. */
struct ipcm_bench_config {
    const char *mode; /* a mode name from ipcm_bench_mode_find */
    const struct ipcm_backend *backends[IPCM_BENCH_MAX_BACKENDS];
    size_t nbackends;
    uint64_t sizes[IPCM_BENCH_MAX_LIST];
    size_t nsizes;
    uint64_t producers[IPCM_BENCH_MAX_LIST], consumers[IPCM_BENCH_MAX_LIST];
    size_t nproducers, nconsumers;
    bool pairs; /* producers[i] with consumers[i] (P = C) instead of the cross product */
    uint64_t workers[IPCM_BENCH_MAX_LIST], chunks[IPCM_BENCH_MAX_LIST];
    size_t nworkers, nchunks;
    uint64_t messages;    /* per repetition; 0 when duration_ns is set */
    uint64_t duration_ns; /* per repetition; 0 when messages is set */
    unsigned repeat;      /* timed repetitions (default 5) */
    uint64_t warmup_ns;   /* warm-up run time before the timed repetitions */
    int pin[IPCM_BENCH_MAX_CPUS];
    size_t npin;       /* 0: unpinned (latency: same-cpu and cross-cpu) */
    double rate_per_s; /* > 0: open-loop latency at this send rate */
    int timeout_ms;    /* worker send/recv deadline; a stuck case fails, never hangs */
    /* Verify every byte with XXH3 (true), or identity, length and the per-message
     * stamp every 256 bytes (false, the default: PEERS.md pitfall 13, the check must
     * not cost more than the transfer; the receive copy reads every byte anyway). */
    bool verify_full;
    /* Modes with subjects of their own (sync: lock implementations): run the first
     * max_variants only (0: all). The default run's lock row uses our own, the first. */
    unsigned max_variants;
    /* Those modes' subjects by name, comma-separated (-b on a sync-only run); NULL: all.
     * The CLI checks the names (ipcm_bench_variant_known). */
    const char *variants;
    /* Optional progress report: called before each case (done of total). */
    void (*progress)(void *ctx, size_t done, size_t total, const char *what);
    void *progress_ctx;
};

/* ipcm_bench_config_defaults - fill *c with the DESIGN.md defaults. */
void ipcm_bench_config_defaults(struct ipcm_bench_config *c);

/* The verification counts of a case (DESIGN.md §7 "verified"); all but messages must be 0. */
struct ipcm_bench_verified {
    uint64_t messages; /* messages received and checked */
    uint64_t lost, duplicated, reordered, corrupt;
};

/* The parameters of one case, as the driver hands them to a mode. */
struct ipcm_bench_params {
    const struct ipcm_backend *be;
    enum ipcm_shape shape;
    size_t size; /* message (or task) size in bytes */
    unsigned producers, consumers, workers, chunk;
    enum ipcm_bench_placement placement;
    int cpus[IPCM_BENCH_MAX_CPUS];  /* CPU of each worker, in spawn order; -1 unpinned */
    unsigned ncpus;                 /* entries of cpus recorded in the result */
    uint64_t messages, duration_ns; /* one of the two is non-zero */
    double rate_per_s;
    int timeout_ms;
    bool warmup;      /* this run is a warm-up: its result is thrown away */
    unsigned variant; /* modes with `variant`: which subject this case measures */
    /* modes with `start_methods`: how this case starts its processes (fork, exec) */
    enum ipcm_start_method start_method;
};

/*
 * ipcm_bench_cpu_of - the CPU worker i (spawn order) must run on, or -1 (unpinned).
 * Latency: end A is cpus[0], end B cpus[1]; otherwise the list is taken round-robin.
 */
int ipcm_bench_cpu_of(const struct ipcm_bench_params *p, unsigned i);

/* What one repetition measured; the driver zeroes it and sets `latency` before run. */
struct ipcm_bench_rep {
    uint64_t elapsed_ns; /* from the start gate to the last receipt */
    uint64_t messages;   /* messages delivered in that time */
    uint64_t bytes;      /* payload bytes delivered */
    uint64_t tasks;      /* pool: tasks completed */
    /* Where the mode records latency samples when it reports METRIC_LATENCY or
     * METRIC_ONEWAY; the driver owns it and merges the repetitions. */
    struct ipcm_hist *latency;
    struct ipcm_bench_verified verified;
    /* CPU of every participant in the timed region, summed (bench_internal.h):
     * user + system ns and context switches. cpu_missing: a participant's figure could
     * not be read, so the case reports none. */
    uint64_t cpu_ns, csw;
    unsigned cpu_parts; /* participants whose figure was added */
    bool cpu_missing;
    char reason[160]; /* why the repetition failed (run returned < 0) */
};

/*
 * A mode: one file in harness/bench/, one entry in the table in bench.c.
 *   run    - run ONE repetition of the case p: spawn fresh worker processes, release them
 *            through a start gate (a crew, crew.h), time from the gate to the last receipt,
 *            verify what moved, stop and reap every worker (no zombies, no leftovers, also
 *            on failure), fill *rep. Returns 0, or -errno with rep->reason set (the case
 *            fails), or -EOPNOTSUPP with rep->reason set (the case is reported skipped:
 *            this combination cannot be measured). A mode must never hang: every wait
 *            has a deadline of p->timeout_ms. Write results that workers produce into a
 *            shared mapping (ipcm_shared_alloc in base.h) or a pipe;
 *            rep->latency is parent memory, merge worker histograms into it.
 *   min_size - smallest message size the mode can verify (its header); smaller sizes are
 *            reported as skipped.
 *   shape_of - optional: the channel shape of a case, when it depends on the options
 *            (latency: pipe for ping-pong, queue for open-loop); NULL means `shape`.
 *   variant - optional: the mode measures subjects of its own instead of the selected
 *            channel backends (sync: the lock implementations). variant(i) names subject
 *            i, NULL past the last; the driver runs one case per subject (params.variant)
 *            and records its name as the case's "backend". p->be is then unused.
 */
struct ipcm_bench_mode {
    const char *name;    /* --mode value, the "mode" of a case */
    const char *summary; /* one line for --help */
    enum ipcm_shape shape;
    unsigned axes;    /* IPCM_BENCH_AXIS_* */
    unsigned metrics; /* IPCM_BENCH_METRIC_* */
    size_t min_size;
    enum ipcm_shape (*shape_of)(const struct ipcm_bench_config *c);
    int (*run)(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep);
    const char *(*variant)(unsigned i);
    /* The latency's kind in the results, when the shape's default (round-trip for a pipe,
     * one-way-open-loop for a queue) is not what the mode measures; NULL: the default. */
    const char *latency_kind;
    /* The mode measures how processes start: the driver runs each backend once per
     * start method (params.start_method) and records it as the case's start_method. */
    bool start_methods;
};

extern const struct ipcm_bench_mode ipcm_bench_mode_throughput, ipcm_bench_mode_throughput_pipe;
extern const struct ipcm_bench_mode ipcm_bench_mode_latency;
extern const struct ipcm_bench_mode ipcm_bench_mode_pool;
extern const struct ipcm_bench_mode ipcm_bench_mode_start;
extern const struct ipcm_bench_mode ipcm_bench_mode_sync, ipcm_bench_mode_sync_contended,
    ipcm_bench_mode_sync_barrier, ipcm_bench_mode_sync_event;

/* The mode table: iterate with ipcm_bench_mode_at(i) until NULL; find by name. */
const struct ipcm_bench_mode *ipcm_bench_mode_at(size_t i);
const struct ipcm_bench_mode *ipcm_bench_mode_find(const char *name);
/* ipcm_bench_variant_known - whether mode m has a subject called name (a sync
 * implementation); false for a mode without subjects. */
bool ipcm_bench_variant_known(const struct ipcm_bench_mode *m, const char *name);
/* The name a results file records for a start method: "fork", "exec". */
const char *ipcm_bench_start_method_name(enum ipcm_start_method m);

enum ipcm_bench_status { IPCM_CASE_OK, IPCM_CASE_SKIPPED, IPCM_CASE_FAILED };
const char *ipcm_bench_status_name(enum ipcm_bench_status s);

/* Latency summary of a case (all repetitions merged) in ns. */
struct ipcm_bench_latency {
    uint64_t count;
    double min, p50, p90, p99, p999, max, mean;
    double p50_samples[IPCM_BENCH_MAX_REPEAT]; /* p50 of each repetition */
    double p99_samples[IPCM_BENCH_MAX_REPEAT]; /* p99 of each repetition */
};

/* One case of a run: its key, its status and what it measured. */
struct ipcm_bench_case {
    const struct ipcm_bench_mode *mode;
    struct ipcm_bench_params params;
    enum ipcm_bench_status status;
    char reason[192];
    unsigned repetitions; /* timed repetitions that completed */
    bool spins;           /* the backend may spin before sleeping (IPCM_CAP_SPINS) */
    /* Per-repetition samples and their summaries (metrics the mode reports). */
    double msgs_per_s[IPCM_BENCH_MAX_REPEAT], bytes_per_s[IPCM_BENCH_MAX_REPEAT];
    double tasks_per_s[IPCM_BENCH_MAX_REPEAT];
    struct ipcm_summary msgs, bytes, tasks;
    /* CPU cost (issue 16): per message (or task) CPU ns and context switches, and CPUs
     * busy (CPU s / wall s) of each repetition; has_cpu when every repetition had them. */
    bool has_cpu;
    double cpu_ns_per_msg[IPCM_BENCH_MAX_REPEAT], csw_per_msg[IPCM_BENCH_MAX_REPEAT];
    double cpus_busy[IPCM_BENCH_MAX_REPEAT];
    struct ipcm_summary cpu_ns, csw, busy;
    bool has_latency;
    const char *latency_kind; /* "round-trip", "one-way" or "one-way-open-loop" */
    struct ipcm_bench_latency latency;
    struct ipcm_bench_verified verified;   /* summed over the timed repetitions */
    uint64_t moved[IPCM_BENCH_MAX_REPEAT]; /* messages (or tasks) of each repetition */
    uint64_t messages_per_rep;             /* median messages moved per repetition */
    double verify_ns_per_msg;              /* producer + consumer cost of the checks */
    double seconds;                        /* wall time the case took, warm-up included */
};

/* The result of a run: cases in the order run. */
struct ipcm_bench_run {
    struct ipcm_bench_case *cases;
    size_t ncases;
};

/*
 * ipcm_bench_run - expand cfg into cases and run them all. A case that cannot run is
 * recorded as skipped or failed with its reason; the run goes on. On success *out owns
 * the cases (free with ipcm_bench_run_free) and the run may be appended to by further
 * calls (cases accumulate).
 * Returns 0, -EINVAL (unknown mode, empty list), -ENOMEM.
 */
int ipcm_bench_run(const struct ipcm_bench_config *cfg, struct ipcm_bench_run *out);
void ipcm_bench_run_free(struct ipcm_bench_run *r);

/*
 * ipcm_bench_record - append the cases of run to the results record r (record.h), in
 * the order run, as the writer writes them: key strings, status, summaries and copies of
 * the per-repetition samples (r owns them; ipcm_record_fini releases them).
 * Returns 0 or -ENOMEM (r keeps the cases appended so far).
 */
int ipcm_bench_record(const struct ipcm_bench_run *run, struct ipcm_results *r);
/* ipcm_bench_config_json - a configuration as a new JSON object for the record's
 * "config" (argv may be NULL); NULL on ENOMEM. */
struct json_t *ipcm_bench_config_json(const struct ipcm_bench_config *cfg, int argc, char **argv);

/*
 * ipcm_bench_verify_cost - nanoseconds per message that writing and hashing a payload of
 * `size` bytes (producer) and re-hashing it (consumer) cost on this CPU, measured in the
 * calling process for about 5 ms. Reported beside the rates, so the price of verifying
 * every message is known.
 */
double ipcm_bench_verify_cost(size_t size);

#endif /* IPCM_HARNESS_BENCH_BENCH_H */
