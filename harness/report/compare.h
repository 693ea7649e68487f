/* SPDX-License-Identifier: MIT */
/*
 * compare.h - the regression gate: match the cases of two results files, test each
 * metric's change for significance (Mann-Whitney U) and size (threshold), and render
 * the verdicts as a table, markdown or JSON; export to Google Benchmark and Bencher.
 */
#ifndef IPCM_HARNESS_COMPARE_H
#define IPCM_HARNESS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "results_read.h"

/* The metrics compared per case; each is present only when both files have it. */
enum ipcm_cmp_metric {
    IPCM_CMP_MSGS,    /* msgs_per_s, higher is better (throughput mode) */
    IPCM_CMP_TASKS,   /* tasks_per_s, higher is better (pool mode) */
    IPCM_CMP_LAT_P50, /* latency_ns.p50 (p50_samples), lower is better */
    IPCM_CMP_LAT_P99, /* latency_ns.p99 (p99_samples when written), lower is better */
    IPCM_CMP_CPU,     /* cpu_ns_per_msg, lower is better: a CPU-cost regression is one */
    IPCM_CMP_STATUS,  /* not a metric: a row saying a case failed or was skipped */
    IPCM_CMP_NMETRICS
};

enum ipcm_cmp_verdict {
    IPCM_V_UNCHANGED,    /* not significant, or significant but within the threshold */
    IPCM_V_REGRESSION,   /* worse than the threshold and significant at alpha */
    IPCM_V_IMPROVEMENT,  /* better than the threshold and significant at alpha */
    IPCM_V_NOISY,        /* the case's own spread is wider than the threshold */
    IPCM_V_INSUFFICIENT, /* too few repetitions for the test ever to reach alpha */
    IPCM_V_UNTESTED,     /* no per-repetition samples: the change is shown, not judged */
    IPCM_V_FAILED,       /* the case failed in the current file (ok in the baseline) */
    IPCM_V_SKIPPED,      /* skipped or failed in the baseline, or skipped now */
    /* Would be a regression, but the two runs' calibrations differ beyond the threshold:
     * the machine changed, and sequential runs cannot tell that from a slower build
     * (counted like too noisy; `ipcmark ab` decides on interleaved runs). */
    IPCM_V_MACHINE,
    IPCM_V_COUNT
};

struct ipcm_cmp_opts {
    double threshold;                   /* relative change, e.g. 0.10 for 10% */
    double alpha;                       /* significance level, e.g. 0.05 */
    const char *base_label, *cur_label; /* shown as the files' names; may be NULL */
    bool trust_machine; /* keep regressions when the calibrations differ (no IPCM_V_MACHINE) */
    /* A case of the baseline absent from the current file fails the gate (else it is
     * listed as missing and the gate still passes). */
    bool fail_on_missing;
    /* Compare a remote run with a local one (or forward with reverse) all the same; the
     * report then carries a warning (RULINGS 13). The caller refuses otherwise. */
    bool allow_path_change;
};

struct ipcm_cmp_row {
    const struct ipcm_rr_case *base, *cur; /* the matched cases (in the parsed files) */
    enum ipcm_cmp_metric metric;
    enum ipcm_cmp_verdict verdict;
    double base_median, cur_median; /* of the per-repetition samples, else the summary */
    double change;                  /* (cur - base) / base; sign as measured */
    double p;                       /* two-sided p-value; 1 when not tested */
    bool tested, exact;             /* a U test ran; its p-value was exact */
    size_t nbase, ncur;             /* sample counts (0: only a summary value) */
    double spread_base, spread_cur; /* robust relative spread, 1.4826 MAD / median */
};

struct ipcm_cmp_report {
    struct ipcm_cmp_opts opts;
    const struct ipcm_results *base, *cur;
    struct ipcm_cmp_row *rows;
    size_t nrows;
    const struct ipcm_rr_case **added; /* in current only */
    size_t nadded;
    const struct ipcm_rr_case **missing; /* in baseline only */
    size_t nmissing;
    size_t cases_compared;   /* matched keys */
    size_t metrics_compared; /* rows that are metrics (not status rows) */
    size_t count[IPCM_V_COUNT];
    bool host_differs; /* hostname, CPU model or CPU count differ */
    bool kernel_differs;
    /* A backend name that is a different plugin file in the two runs, or a plugin in one
     * and built in in the other (RULINGS 5): a note like a host change; "" when none. */
    char plugin_note[1024];
    /*
     * The machine itself may explain changes: a host.calibration figure of the two runs
     * differs by more than the threshold, or either run flagged its machine changed or
     * busy. Only a warning; verdicts are not altered. machine_why says which, in words.
     */
    bool machine_differs;
    /* A host.calibration figure differs by more than the threshold between the files
     * (not only a run's own flags): regressions then read IPCM_V_MACHINE unless
     * opts.trust_machine. */
    bool calibration_differs;
    char machine_why[768];
    /* One run is remote and the other local, or the two remote runs went in different
     * directions (ipcm_cmp_path_differs); path_why names both paths. */
    bool path_differs;
    char path_why[256];
};

/*
 * ipcm_cmp_path_differs - true when base and cur ran over different paths: one through
 * `bench --remote` ("remote" in the file) and the other on one host, or two remote runs
 * in different directions. why[len] names both ("local vs remote (server A, forward)").
 */
bool ipcm_cmp_path_differs(const struct ipcm_results *base, const struct ipcm_results *cur,
                           char *why, size_t len);

/*
 * ipcm_compare - compare two parsed results files (DESIGN.md §7). The report points
 * into base and cur, which must outlive it.
 * Returns 0, or -EINVAL (threshold outside (0, 10] or alpha outside (0, 1)), -ENOMEM.
 */
int ipcm_compare(const struct ipcm_results *base, const struct ipcm_results *cur,
                 const struct ipcm_cmp_opts *opts, struct ipcm_cmp_report **out);

/* ipcm_cmp_report_free - release a report. NULL is a no-op. */
void ipcm_cmp_report_free(struct ipcm_cmp_report *rep);

/* ipcm_cmp_insufficient - true when no metric could be judged: no case in both files,
 * only skipped or failed cases, or too few repetitions for the U test everywhere. */
bool ipcm_cmp_insufficient(const struct ipcm_cmp_report *rep);
/* ipcm_cmp_failed - true when the gate fails: a regression, a newly failed case, a
 * missing case under opts.fail_on_missing, or insufficient data (a gate that judged
 * nothing must not pass). */
bool ipcm_cmp_failed(const struct ipcm_cmp_report *rep);

/* Verdict and metric names as shown ("regression", "msgs/s"). */
const char *ipcm_cmp_verdict_name(enum ipcm_cmp_verdict v);
const char *ipcm_cmp_metric_name(enum ipcm_cmp_metric m);

/*
 * Renderers. Each writes the whole report to f (the caller's stream; nothing else is
 * printed). Returns 0, or -EIO when writing failed, -ENOMEM.
 *   table     aligned text for a terminal
 *   markdown  a summary and a GitHub-flavoured table, ready for $GITHUB_STEP_SUMMARY
 *   json      {"schema": "ipcmark-compare/1", ...} for tools
 */
int ipcm_cmp_write_table(const struct ipcm_cmp_report *rep, FILE *f);
int ipcm_cmp_write_markdown(const struct ipcm_cmp_report *rep, FILE *f);
int ipcm_cmp_write_json(const struct ipcm_cmp_report *rep, FILE *f);

/*
 * Exports of one results file for continuous-benchmarking services.
 *   gbench   Google Benchmark JSON ("context" with the host fields + "benchmarks"): one
 *            iteration entry per repetition, then the mean, median, stddev and cv
 *            aggregates (two or more repetitions), as Google Benchmark writes them;
 *            real_time is wall ns per message (throughput), per task (pool) or per round
 *            trip (latency p50), cpu_time the measured CPU ns of the same operation (a
 *            case without CPU figures is left out), iterations the messages of one
 *            repetition (the median over the repetitions; exact with --messages N)
 *   bencher  Bencher Metric Format: {name: {measure: {value, lower_value, upper_value}}}
 *            with measures "throughput" (per second), "latency" and "latency-p99" (ns);
 *            lower/upper are the lowest and highest repetition for every measure
 * Returns 0, or -EIO, -ENOMEM.
 */
int ipcm_export_gbench(const struct ipcm_results *r, FILE *f);
int ipcm_export_bencher(const struct ipcm_results *r, FILE *f);

#endif /* IPCM_HARNESS_COMPARE_H */
