/* SPDX-License-Identifier: MIT */
/*
 * results_read.h - a defensive reader for ipcmark results files (DESIGN.md §7,
 * schema "ipcmark-results/1"), used by compare and plot. Hostile input gives an error
 * with a message naming the field, never a crash.
 */
#ifndef IPCM_HARNESS_RESULTS_READ_H
#define IPCM_HARNESS_RESULTS_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema this reader understands; another major version is refused with -EPROTO. */
#define IPCM_RESULTS_SCHEMA "ipcmark-results/1"

/* Limits that keep a hostile file from exhausting memory or time. */
#define IPCM_RR_MAX_FILE_BYTES (16u << 20) /* a results file larger than this is refused */
#define IPCM_RR_MAX_CASES 20000            /* cases[] entries */
#define IPCM_RR_MAX_SAMPLES 10000          /* entries of one samples[] array */
#define IPCM_RR_MAX_SIZE (1ull << 40)      /* message size in bytes */
#define IPCM_RR_MAX_COUNT 1000000          /* producers, consumers, workers, repetitions */
#define IPCM_RR_NAME_LEN 48                /* key strings: mode, backend, shape, placement */
#define IPCM_RR_TEXT_LEN 160               /* host strings, shown after sanitising */

/*
 * One rate metric (msgs_per_s, bytes_per_s, tasks_per_s): the summary the writer
 * computed and the raw per-repetition values. present is false when the case has
 * no such object; samples is NULL when the object has no samples[] array.
 */
struct ipcm_rr_stat {
    bool present;
    double median, min, max, mad; /* per second */
    double *samples;              /* one per repetition */
    size_t nsamples;
};

/* Latency of a case in nanoseconds; *_samples are per-repetition percentiles. */
struct ipcm_rr_latency {
    bool present;
    double min, p50, p90, p99, p999, max, mean;
    double *p50_samples; /* "p50_samples" (schema 1) */
    size_t np50;
    double *p99_samples; /* "p99_samples" (optional; read when a writer adds it) */
    size_t np99;
};

/* The status of a case as the writer recorded it. */
enum ipcm_rr_status {
    IPCM_RR_OK,
    IPCM_RR_SKIPPED,
    IPCM_RR_FAILED,
};

struct ipcm_rr_case {
    /* The key (DESIGN.md §7): these eight fields identify a case across files. */
    char mode[IPCM_RR_NAME_LEN];    /* "throughput", "latency", "pool" */
    char backend[IPCM_RR_NAME_LEN]; /* "pipe", ..., "python-mp" */
    char shape[IPCM_RR_NAME_LEN];   /* "queue", "pipe" ("" when absent) */
    uint64_t size;                  /* message or task size in bytes */
    unsigned producers, consumers, workers;
    char placement[IPCM_RR_NAME_LEN]; /* "unpinned", "same-cpu", ... ("" when absent) */

    enum ipcm_rr_status status;
    unsigned repetitions; /* 0 when absent */
    struct ipcm_rr_stat msgs_per_s, bytes_per_s, tasks_per_s;
    struct ipcm_rr_latency latency_ns;
};

/*
 * host.calibration: the machine's own limits measured at the start and the end of the
 * run (results/README.md). A value the file does not have is NAN, so a writer that
 * skipped one measurement still leaves the others usable.
 */
struct ipcm_rr_calibration {
    bool present;                /* the file has host.calibration */
    double line_rtt_ns[2];       /* [start, end] cache-line round trip */
    double memcpy_64k_gbs[2];    /* [start, end] memcpy bandwidth */
    double stream_64k_gbs[2];    /* [start, end] cross-CPU stream through a minimal ring */
    double raw_pipe_same_ns[2];  /* raw_pipe_rtt_same_cpu_ns */
    double raw_pipe_cross_ns[2]; /* raw_pipe_rtt_cross_cpu_ns */
    bool changed, busy;          /* the writer's own flags */
    char changed_reason[IPCM_RR_TEXT_LEN];
};

/*
 * A parsed results file. Text fields are sanitised (printable ASCII, no quotes or
 * backslashes) so they can be shown in a table or a gnuplot title without escaping;
 * "" when absent.
 */
struct ipcm_results {
    char schema[IPCM_RR_NAME_LEN];
    char created_utc[IPCM_RR_NAME_LEN];
    char tool_version[IPCM_RR_NAME_LEN], tool_git[IPCM_RR_NAME_LEN];
    char hostname[IPCM_RR_TEXT_LEN]; /* host.hostname (optional) */
    char kernel[IPCM_RR_TEXT_LEN];   /* host.kernel */
    char cpu_model[IPCM_RR_TEXT_LEN];
    long cpus_online; /* 0 when absent */
    struct ipcm_rr_case *cases;
    size_t ncases;
    struct ipcm_rr_calibration calibration; /* host.calibration */
};

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

/* ipcm_results_free - release what ipcm_results_parse/load returned. NULL is a no-op. */
void ipcm_results_free(struct ipcm_results *r);

/*
 * ipcm_rr_case_key - the case's key as one printable string,
 * "mode/backend/shape/size/PxC/wW/placement", e.g. "throughput/pipe/queue/64/1x1/w0/unpinned".
 * Returns buf.
 */
const char *ipcm_rr_case_key(const struct ipcm_rr_case *c, char *buf, size_t len);

/* ipcm_rr_case_cmp - total order on keys (0 when two cases have the same key). */
int ipcm_rr_case_cmp(const struct ipcm_rr_case *a, const struct ipcm_rr_case *b);

#endif /* IPCM_HARNESS_RESULTS_READ_H */
