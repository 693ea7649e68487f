/* SPDX-License-Identifier: MIT */
/*
 * ab.h - the paired A/B gate's data and decisions: per case, the cost ratio
 * current/baseline of every round, a Hodges-Lehmann estimate with a Wilcoxon
 * signed-rank interval on the log ratios at a few planned looks, one verdict per case;
 * and its renderings (table, markdown, JSON with every round, gnuplot data).
 */
#ifndef IPCM_HARNESS_REPORT_AB_H
#define IPCM_HARNESS_REPORT_AB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "record.h"
#include "signrank.h"

#define IPCM_AB_MAX_CASES 64   /* cases one comparison follows */
#define IPCM_AB_MAX_ROUNDS 500 /* rounds of one comparison, warm-up included */
#define IPCM_AB_MAX_LOOKS 4    /* planned looks at the data (interim analyses) */

enum ipcm_ab_verdict {
    IPCM_AB_PENDING,     /* not decided yet (only while running) */
    IPCM_AB_UNCHANGED,   /* the interval lies inside +-threshold */
    IPCM_AB_REGRESSION,  /* significantly costlier, the estimate at least half the threshold */
    IPCM_AB_IMPROVEMENT, /* significantly cheaper, the estimate at least half the threshold */
    IPCM_AB_UNDECIDED,   /* the budget ran out first */
    IPCM_AB_FAILED,      /* the case failed in the current build (ok in the baseline) */
    IPCM_AB_SKIPPED,     /* skipped on either side, failed in the baseline, or in one only */
    IPCM_AB_NVERDICTS
};

/*
 * The sequential plan, fixed before the first measured round: looks after look[0] <
 * ... < look[nlooks - 1] measured rounds, each interval at the same two-sided level,
 * 1 - 2 * alpha / (nlooks * ncases) (Bonferroni over looks and cases). A look forced
 * by the budget replaces the ones not reached, so there are never more than nlooks.
 */
struct ipcm_ab_plan {
    unsigned nlooks;
    size_t look[IPCM_AB_MAX_LOOKS];
    double level;  /* of every interval */
    size_t min_n;  /* the smallest sample whose interval at level is finite */
    size_t ncases; /* cases the alpha is split over */
};

/*
 * ipcm_ab_plan_make - the plan for rounds measured rounds (after warm-up) of ncases
 * cases with false-alarm rate alpha: as many looks (up to IPCM_AB_MAX_LOOKS) as keep
 * the first at 8 rounds or more and above min_n, evenly spaced, the last at rounds.
 * Returns 0, or -EINVAL (rounds or ncases 0, alpha outside (0, 0.5)).
 */
int ipcm_ab_plan_make(size_t rounds, size_t ncases, double alpha, struct ipcm_ab_plan *p);

/*
 * ipcm_ab_judge - one look at one case: the interval of the log cost ratios logr[0..n)
 * at level, and its verdict against threshold t (relative, 0.05 for 5%; in log terms
 * T = log(1 + t)), first that applies:
 *   unchanged    -T < lo and hi < T
 *   regression   lo > 0 and estimate >= T/2
 *   improvement  hi < 0 and estimate <= -T/2
 *   pending      otherwise (more rounds may decide it)
 * The regression and improvement rules need a significant change (the interval
 * excludes 0), so their error rate is the interval's; the half-threshold condition
 * keeps a real but negligible change from being called a regression while the
 * interval is still wide. Returns 0, or -EINVAL, -ENOMEM (ipcm_signrank_ci).
 */
int ipcm_ab_judge(const double *logr, size_t n, double t, double level, struct ipcm_signrank_ci *ci,
                  enum ipcm_ab_verdict *v);

/* One case followed through the rounds. */
struct ipcm_ab_case {
    char key[160];      /* ipcm_rr_case_key of the case */
    char metric[16];    /* "msgs/s", "tasks/s", "lat p50"; "cpu/msg", "cpu/task", "cpu/trip" */
    bool rate;          /* a rate (cost = 1/value), else a time */
    double *base, *cur; /* value per round (warm-up rounds included), NAN where none */
    double *logr;       /* log cost ratio per measured round, NAN where none */
    enum ipcm_ab_verdict verdict;
    struct ipcm_signrank_ci ci; /* at the look that decided it, or the last look */
    size_t decided_at;          /* measured rounds at that look (0: none yet) */
    char note[192];             /* why it failed or was skipped */
};

/* One round: both builds ran every case once, in the order given. */
struct ipcm_ab_round {
    bool base_first; /* A B (true) or B A */
    bool warmup;     /* dropped from the statistics */
    double start_s;  /* since the comparison began */
    double seconds;  /* both sides */
};

struct ipcm_ab_opts {
    double threshold; /* relative, (0, 1) */
    double alpha;     /* false-alarm rate of the whole comparison, (0, 0.5) */
    double budget_s;  /* wall-clock budget */
    unsigned warmup_rounds;
    size_t max_rounds; /* measured rounds at most */
    /* Judge the CPU time per message, task or round trip (all participants, user +
     * system) where a case records it, else its wall-clock metric. Other processes on
     * the CPU stretch the wall time of a run by their share and leave its CPU time
     * nearly alone; waiting (a sleep, a missed wake-up) shows in wall time only. */
    bool cpu;
};

struct ipcm_ab_run {
    struct ipcm_ab_opts opts;
    char base_label[512], cur_label[512]; /* the binaries, and what --version said */
    struct ipcm_ab_case cases[IPCM_AB_MAX_CASES];
    size_t ncases;
    struct ipcm_ab_round rounds[IPCM_AB_MAX_ROUNDS];
    size_t nrounds, measured; /* all rounds, and those after the warm-up */
    struct ipcm_ab_plan plan;
    unsigned looks_done;
    double wall_s;
    char stop[256]; /* why the comparison stopped, in words */
    size_t count[IPCM_AB_NVERDICTS];
};

/* ipcm_ab_init - an empty run with these options (copied). */
void ipcm_ab_init(struct ipcm_ab_run *run, const struct ipcm_ab_opts *o);
/* ipcm_ab_fini - release the per-round arrays. */
void ipcm_ab_fini(struct ipcm_ab_run *run);

/*
 * ipcm_ab_add_round - record one round from the two builds' results (one repetition
 * per case). The first round fixes the cases (those of current, matched by key in
 * baseline; a case in one build only is skipped with a note). A round whose build
 * lost a case or gained one is refused.
 *   err  receives a one-line reason on failure
 * Returns 0, or -EPROTO (the cases changed between rounds), -E2BIG (too many cases or
 * rounds), -ENOMEM.
 */
int ipcm_ab_add_round(struct ipcm_ab_run *run, const struct ipcm_ab_round *round,
                      const struct ipcm_results *base, const struct ipcm_results *cur, char *err,
                      size_t errlen);

/* ipcm_ab_active - cases that can still be decided (ok on both sides so far). */
size_t ipcm_ab_active(const struct ipcm_ab_run *run);

/*
 * ipcm_ab_look - a look, if the plan has one at run->measured rounds or final is true
 * (the budget is spent: this look replaces the rest). Judges every pending case; at the
 * final look what is still pending becomes undecided. Returns 1 when no case is pending
 * any more (stop), 0 to go on, or -ENOMEM.
 */
int ipcm_ab_look(struct ipcm_ab_run *run, bool final);

/* ipcm_ab_failed - the gate fails: a regression, a failed case, or nothing decided. */
bool ipcm_ab_failed(const struct ipcm_ab_run *run);
/* ipcm_ab_nothing_decided - no case got a decision (all undecided or skipped). */
bool ipcm_ab_nothing_decided(const struct ipcm_ab_run *run);

/* Verdict names as shown ("REGRESSION", "undecided"). */
const char *ipcm_ab_verdict_name(enum ipcm_ab_verdict v);

/*
 * Renderers; each writes the whole report to f. Returns 0, or -EIO, -ENOMEM.
 *   table     aligned text for a terminal
 *   markdown  a summary and a table for a pull-request comment
 *   json      {"schema": "ipcmark-ab/1", ...}: plan, rounds, every round's ratio per case
 *   gnuplot   data for scripts/ab.gp: one block per case ("round ratio" lines, measured
 *             rounds only), blocks separated by two blank lines
 */
int ipcm_ab_write_table(const struct ipcm_ab_run *run, FILE *f);
int ipcm_ab_write_markdown(const struct ipcm_ab_run *run, FILE *f);
int ipcm_ab_write_json(const struct ipcm_ab_run *run, FILE *f);
int ipcm_ab_write_plot_data(const struct ipcm_ab_run *run, FILE *f);

#endif /* IPCM_HARNESS_REPORT_AB_H */
