/* SPDX-License-Identifier: MIT */
/*
 * check_report.h - the reports of `ipcmark check` as files: JSON (schema
 * "ipcmark-check/1") and JUnit XML. The rows are plain data, so that the report part
 * needs nothing from the conformance part (the command fills them from its results).
 */
#ifndef IPCM_REPORT_CHECK_REPORT_H
#define IPCM_REPORT_CHECK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The outcome of one case on one backend. */
enum ipcm_check_report_outcome {
    IPCM_CHECK_REPORT_PASS,
    IPCM_CHECK_REPORT_FAIL, /* counted as failed */
    IPCM_CHECK_REPORT_HANG, /* the watchdog expired; counted as failed, and as hung */
    IPCM_CHECK_REPORT_NA,   /* does not apply; a JUnit "skipped" */
    IPCM_CHECK_REPORT_TODO, /* not yet implemented; a JUnit "skipped" */
    IPCM_CHECK_REPORT_ENV,  /* a limit of the environment ran out first (the message names
                             * it); JSON "env", a JUnit "skipped"; never counted as failed */
};

/* One case on one backend. The strings are borrowed: they must outlive the write. */
struct ipcm_check_report_row {
    const char *case_id; /* the case's dotted id */
    unsigned num;        /* its docs/CONFORMANCE.md §5 number */
    enum ipcm_check_report_outcome outcome;
    double duration_s;
    const char *message; /* why it failed, hung or does not apply ("" when it passed) */
    /* Integrity counts of the case's self-checking payloads. */
    long long messages, lost, duplicated, reordered, corrupt;
    /* The case concerns other backends only (a scoped case: mq priorities, shm ring):
     * left out of this backend's results, tallies and JUnit suite, not counted n/a. */
    bool omitted;
};

/* A whole run: ncases x nbackends rows, row (case i, backend b) at rows[i * nbackends + b]. */
struct ipcm_check_report {
    const char *const *backends; /* nbackends names, in column order */
    size_t nbackends;
    size_t ncases;
    const struct ipcm_check_report_row *rows;
    uint64_t seed; /* the run's seed (replays it) */
    bool quick;    /* the quick subset */
    double duration_s;
};

/* Outcome counts; hang is counted apart from fail, todo apart from na, env apart. */
struct ipcm_check_tally {
    int pass, fail, hang, na, todo, env;
};

/*
 * ipcm_check_report_tally - count the outcomes of backend column b, or of the whole run
 * when b is (size_t)-1 (IPCM_CHECK_REPORT_ALL).
 */
#define IPCM_CHECK_REPORT_ALL ((size_t)-1)
struct ipcm_check_tally ipcm_check_report_tally(const struct ipcm_check_report *r, size_t b);

/*
 * ipcm_check_report_write_json - the run as JSON at path: schema, version, seed, quick,
 * duration, backends, summary and one object per row.
 * Returns 0, or -EIO (the file could not be written).
 */
int ipcm_check_report_write_json(const struct ipcm_check_report *r, const char *path);

/*
 * ipcm_check_report_write_junit - the run as JUnit XML at path: one testsuite
 * "conform.<backend>" per backend, one testcase per case; FAIL and HANG are failures,
 * n/a and not implemented are skipped.
 * Returns 0, or the negative errno of fopen(3) or fclose(3).
 */
int ipcm_check_report_write_junit(const struct ipcm_check_report *r, const char *path);

#endif /* IPCM_REPORT_CHECK_REPORT_H */
