/* SPDX-License-Identifier: MIT */
/*
 * record.h - the one results record (schema "ipcmark-results/1", DESIGN.md §7,
 * results/README.md): what the writer writes, what the reader fills, what compare, plot
 * and the ranking read. Bench converts its run into it (ipcm_bench_record in bench.h).
 */
#ifndef IPCM_HARNESS_RECORD_H
#define IPCM_HARNESS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

/* The schema the writer writes and the reader understands (another is refused). */
#define IPCM_RESULTS_SCHEMA "ipcmark-results/1"

#define IPCM_RR_NAME_LEN 48    /* key strings: mode, backend, shape, placement */
#define IPCM_RR_TEXT_LEN 160   /* host strings as the reader shows them, after sanitising */
#define IPCM_RR_KERNEL_LEN 400 /* host.kernel as the writer reads it (uname -srvm) */
#define IPCM_RR_MAX_CPUS 64    /* entries of a case's "cpus" (== IPCM_BENCH_MAX_CPUS) */

/*
 * This host's own limits, measured at the start and end of a run (DESIGN.md §6,
 * harness/bench/calibrate.h measures them). In a file: host.calibration, one
 * [start, end] pair per figure. NAN where not measured.
 */
struct ipcm_calibration {
    double line_rtt_ns;    /* cache-line round trip between two pinned processes; NAN if
                            * fewer than two CPUs are usable */
    int cpu_a, cpu_b;      /* the CPUs it was measured between */
    double memcpy_64k_gbs; /* single-core memcpy of 64 KiB, 1e9 bytes per second */
    /* 64 KiB records streamed from cpu_a to cpu_b through a minimal spin-only ring in
     * shared memory, copied in and out: the host's bulk cross-CPU limit right now (it
     * swings with the host's placement of the vCPUs). NAN with fewer than two CPUs. */
    double stream_64k_gbs;
    /* p50 round trip of 8 bytes over two plain blocking pipes, timed by the same code as
     * the latency mode: the kernel's cheapest blocking hand-off, and with it the
     * harness's own cost (compare with perf bench sched pipe). NAN if not measured. */
    double raw_pipe_same_ns, raw_pipe_cross_ns;
    double timer_overhead_ns;     /* one clock_gettime(CLOCK_MONOTONIC) */
    uint64_t timer_resolution_ns; /* clock_getres */
};

/* host.calibration: both ends of the run, and the writer's verdict on them. */
struct ipcm_rr_calibration {
    bool present;                  /* the file has host.calibration (reader) */
    bool have_end;                 /* at[1] was measured (writer) */
    struct ipcm_calibration at[2]; /* [0] start of run, [1] end */
    bool changed, busy;            /* the writer's own flags, as read back */
    char changed_reason[IPCM_RR_TEXT_LEN];
};

/* host.limits: kernel limits that bound IPC on this host; -1 where unreadable. */
struct ipcm_host_limits {
    long pipe_buf, pipe_max_size, pipe_user_pages_soft;
    long mqueue_msg_max, mqueue_msgsize_max, mqueue_msg_default, mqueue_msgsize_default,
        mqueue_queues_max;
    long wmem_max, wmem_default, rmem_max, rmem_default;
    /* net.ipv4.tcp_rmem / tcp_wmem (min, default, max bytes) and the loopback MTU: what
     * bounds the tcp backend's buffers and segments. */
    long tcp_rmem[3], tcp_wmem[3], lo_mtu;
};

/*
 * What else ran on this host during a run: /proc/stat CPU time (busy, steal), this
 * process's and its reaped children's CPU time, /proc/loadavg. Two samples, at the start
 * and at the end, tell how much of the machine other work (or the hypervisor, as steal)
 * took while we measured: the usual cause of run-to-run spread on a shared host. Written
 * as host.load; the reader does not read it back.
 */
struct ipcm_load_sample {
    uint64_t wall_ns;
    double busy_s, steal_s, total_s; /* all CPUs, from /proc/stat */
    double own_s;                    /* getrusage self + children, user + system */
    double loadavg_1m;
};

/* The status of a case ("ok", "skipped", "failed"). */
enum ipcm_rr_status {
    IPCM_RR_OK,
    IPCM_RR_SKIPPED,
    IPCM_RR_FAILED,
};

/*
 * One rate metric (msgs_per_s, bytes_per_s, tasks_per_s): its summary and the raw
 * per-repetition values. present is false when the case has no such object; samples is
 * NULL when it has no samples[] array. The record owns samples (malloc).
 */
struct ipcm_rr_stat {
    bool present;
    double median, min, max, mad; /* per second */
    double ci_lo, ci_hi;          /* "ci95" (written; the reader leaves them 0) */
    double ci_level;              /* "ci_level" (written; the reader leaves it 0) */
    double *samples;              /* one per repetition */
    size_t nsamples;
};

/* Latency of a case in nanoseconds; *_samples are per-repetition percentiles. */
struct ipcm_rr_latency {
    bool present;
    bool oneway;      /* written as "oneway_latency_ns" beside a rate (the reader reads only
                       * "latency_ns") */
    const char *kind; /* "round-trip", "one-way", "one-way-open-loop" (static; writer) */
    uint64_t count;   /* samples in the merged histogram (writer) */
    double min, p50, p90, p99, p999, max, mean;
    double *p50_samples; /* "p50_samples" (schema 1) */
    size_t np50;
    double *p99_samples; /* "p99_samples" (optional; read when a writer adds it) */
    size_t np99;
};

/* "verified": what the receivers checked, summed over the repetitions (writer). */
struct ipcm_rr_verified {
    uint64_t messages; /* messages received and checked */
    uint64_t lost, duplicated, reordered, corrupt;
};

/* One case. Fields marked (writer) are written but not read back. */
struct ipcm_rr_case {
    /* The key (DESIGN.md §7): these eight fields identify a case across files. */
    char mode[IPCM_RR_NAME_LEN];    /* "throughput", "latency", "pool" */
    char backend[IPCM_RR_NAME_LEN]; /* "pipe", ..., "python-mp" */
    char shape[IPCM_RR_NAME_LEN];   /* "queue", "pipe" ("" when absent) */
    uint64_t size;                  /* message or task size in bytes */
    unsigned producers, consumers, workers;
    char placement[IPCM_RR_NAME_LEN]; /* "unpinned", "same-cpu", ... ("" when absent) */

    enum ipcm_rr_status status;
    char reason[192];           /* why it was skipped or failed (read back sanitised) */
    unsigned repetitions;       /* 0 when absent */
    int cpus[IPCM_RR_MAX_CPUS]; /* CPU of each worker, written unless unpinned (writer) */
    unsigned ncpus;
    bool spins;     /* the backend may spin before sleeping (writer) */
    bool has_chunk; /* "chunk" is written (pool); read back */
    unsigned chunk;
    double rate_per_s;         /* open-loop send rate, written when > 0 (writer) */
    uint64_t messages_per_rep; /* "messages_per_repetition"; 0 when absent */
    double seconds;            /* wall time the case took, warm-up included (writer) */
    double verify_ns_per_msg;  /* written beside msgs_per_s (writer) */
    struct ipcm_rr_stat msgs_per_s, bytes_per_s, tasks_per_s;
    /* CPU cost of the timed region, all participants summed (issue 16): user + system
     * ns per message (a round trip in latency mode, a task in pool mode), voluntary +
     * involuntary context switches per message, and CPUs busy (CPU s / wall s). */
    struct ipcm_rr_stat cpu_ns_per_msg, csw_per_msg, cpus_busy;
    struct ipcm_rr_latency latency_ns;
    /* "oneway_latency_ns" (throughput's stamped messages) as the reader reads it back;
     * kept apart from latency_ns so that compare and ab judge what they always judged.
     * The writer writes latency_ns with oneway set instead. */
    struct ipcm_rr_latency oneway_ns;
    struct ipcm_rr_verified verified;
    /* "direction" of a remote case (bench --remote): "client-to-server",
     * "server-to-client" or "round-trip"; "" (not written) for a local case. (writer) */
    char direction[IPCM_RR_NAME_LEN];
    /* How the case started its processes ("fork", "exec"; bench --mode start), "" when
     * absent. Part of the key when present, so fork and exec cases never pair up. */
    char start_method[IPCM_RR_NAME_LEN];
};

/* JSON text the writer copies in verbatim ("config"); jansson's json_t. */
struct json_t;

/* host.plugins[]: a plugin backend the run loaded (RULINGS 5: compare tells two builds apart). */
#define IPCM_RR_MAX_PLUGINS 16
struct ipcm_rr_plugin {
    char name[IPCM_RR_NAME_LEN];
    char path[IPCM_RR_TEXT_LEN];
    char xxh3[24]; /* the file's hash, 16 hex digits */
};

/*
 * A results record. As read: text fields are sanitised (printable ASCII, no quotes or
 * backslashes) so they can be shown in a table or a gnuplot title without escaping; ""
 * when absent. Fields marked (writer) are written but not read back.
 */
struct ipcm_results {
    char schema[IPCM_RR_NAME_LEN];
    char created_utc[IPCM_RR_NAME_LEN]; /* ISO 8601 */
    char tool_version[IPCM_RR_NAME_LEN], tool_git[IPCM_RR_NAME_LEN];
    /* host.* */
    char hostname[IPCM_RR_TEXT_LEN]; /* host.hostname (optional) */
    char kernel[IPCM_RR_KERNEL_LEN]; /* host.kernel */
    char cpu_model[IPCM_RR_TEXT_LEN];
    long cpus_online;               /* 0 when absent */
    long cpus_allowed;              /* (writer) */
    char governor[32];              /* cpufreq governor of cpu0, "" where there is none (writer) */
    struct ipcm_host_limits limits; /* (writer) */
    struct ipcm_rr_calibration calibration; /* host.calibration */
    struct ipcm_load_sample load[2]; /* start and end of the run; zero: not sampled (writer) */
    struct json_t *config;           /* the options as given; borrowed, may be NULL (writer) */
    struct ipcm_rr_case *cases;      /* owned (malloc) */
    size_t ncases;
    struct ipcm_rr_plugin plugins[IPCM_RR_MAX_PLUGINS]; /* host.plugins (read only: the
                                                           writer lists the loaded ones) */
    size_t nplugins;
    /* "remote" (bench --remote): both hosts, the server's calibration and the path. The
     * writer copies remote_json in (borrowed, may be NULL); the reader sets remote, the
     * run's direction ("forward", "reverse") and the server's address, for compare's
     * path check (RULINGS 13). */
    struct json_t *remote_json;
    bool remote;
    char remote_direction[IPCM_RR_NAME_LEN];
    char remote_peer[IPCM_RR_NAME_LEN];
};

/* ipcm_rr_status_name - "ok", "skipped" or "failed". */
const char *ipcm_rr_status_name(enum ipcm_rr_status s);

/*
 * ipcm_rr_stat_set - fill *st from a summary and its n samples (copied); present.
 * Returns 0 or -ENOMEM (st then has no samples).
 */
int ipcm_rr_stat_set(struct ipcm_rr_stat *st, const struct ipcm_summary *s, const double *samples,
                     size_t n);

/*
 * ipcm_rr_samples_dup - a malloc'd copy of n values into *out (NULL when n is 0).
 * Returns 0 or -ENOMEM.
 */
int ipcm_rr_samples_dup(const double *v, size_t n, double **out);

/*
 * ipcm_rr_case_key - the case's key as one printable string,
 * "mode/backend/shape/size/PxC/wW/placement", e.g. "throughput/pipe/queue/64/1x1/w0/unpinned".
 * Returns buf.
 */
const char *ipcm_rr_case_key(const struct ipcm_rr_case *c, char *buf, size_t len);

/* ipcm_rr_case_cmp - total order on keys (0 when two cases have the same key). */
int ipcm_rr_case_cmp(const struct ipcm_rr_case *a, const struct ipcm_rr_case *b);

/* ipcm_record_fini - release the cases of a record that lives elsewhere (the stack). */
void ipcm_record_fini(struct ipcm_results *r);

/* ipcm_results_free - release a heap record (ipcm_results_parse/load). NULL is a no-op. */
void ipcm_results_free(struct ipcm_results *r);

#endif /* IPCM_HARNESS_RECORD_H */
