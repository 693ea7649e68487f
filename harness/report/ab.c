/* SPDX-License-Identifier: MIT */
/*
 * ab.c - the paired A/B gate: rounds in, verdicts out (the plan of looks, the judgement
 * of each case on its log cost ratios), and the gate's renderings. A library: it writes
 * only to the caller's FILE.
 */
#include "ab.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The first look needs at least this many rounds: fewer give intervals too wide to use. */
#define AB_MIN_FIRST_LOOK 8

static const char *const verdict_names[IPCM_AB_NVERDICTS] = {
    [IPCM_AB_PENDING] = "pending",       [IPCM_AB_UNCHANGED] = "unchanged",
    [IPCM_AB_REGRESSION] = "REGRESSION", [IPCM_AB_IMPROVEMENT] = "improvement",
    [IPCM_AB_UNDECIDED] = "undecided",   [IPCM_AB_FAILED] = "FAILED",
    [IPCM_AB_SKIPPED] = "skipped",
};

const char *ipcm_ab_verdict_name(enum ipcm_ab_verdict v)
{
    return (unsigned)v < IPCM_AB_NVERDICTS ? verdict_names[v] : "?";
}

/* ------------------------------------------------------------------ deciding */

int ipcm_ab_plan_make(size_t rounds, size_t ncases, double alpha, struct ipcm_ab_plan *p)
{
    if (!rounds || !ncases || !(alpha > 0 && alpha < 0.5))
        return -EINVAL;
    memset(p, 0, sizeof(*p));
    unsigned k = IPCM_AB_MAX_LOOKS;
    for (;; k--) {
        p->level = 1 - 2 * alpha / ((double)k * (double)ncases);
        p->min_n = ipcm_signrank_min_n(p->level);
        size_t first = (rounds + k - 1) / k;
        if (k == 1 || (first >= AB_MIN_FIRST_LOOK && first >= p->min_n + 2))
            break;
    }
    p->nlooks = k;
    p->ncases = ncases;
    for (unsigned i = 0; i < k; i++)
        p->look[i] = (rounds * (i + 1) + k - 1) / k;
    return 0;
}

int ipcm_ab_judge(const double *logr, size_t n, double t, double level, struct ipcm_signrank_ci *ci,
                  enum ipcm_ab_verdict *v)
{
    int r = ipcm_signrank_ci(logr, n, level, ci);
    if (r < 0)
        return r;
    double T = log1p(t);
    if (ci->lo > -T && ci->hi < T)
        *v = IPCM_AB_UNCHANGED;
    else if (ci->lo > 0 && ci->estimate >= T / 2)
        *v = IPCM_AB_REGRESSION;
    else if (ci->hi < 0 && ci->estimate <= -T / 2)
        *v = IPCM_AB_IMPROVEMENT;
    else
        *v = IPCM_AB_PENDING;
    return 0;
}

void ipcm_ab_init(struct ipcm_ab_run *run, const struct ipcm_ab_opts *o)
{
    memset(run, 0, sizeof(*run));
    run->opts = *o;
}

void ipcm_ab_fini(struct ipcm_ab_run *run)
{
    for (size_t i = 0; i < run->ncases; i++) {
        free(run->cases[i].base);
        free(run->cases[i].cur);
        free(run->cases[i].logr);
        run->cases[i].base = run->cases[i].cur = run->cases[i].logr = NULL;
    }
    run->ncases = 0;
}

static void tally(struct ipcm_ab_run *run)
{
    memset(run->count, 0, sizeof(run->count));
    for (size_t i = 0; i < run->ncases; i++)
        run->count[run->cases[i].verdict]++;
}

/* The one value of a case this round, and whether it is a rate; NAN when it has none.
 * With cpu, the CPU time per operation where the case records it. */
static double case_value(const struct ipcm_rr_case *c, bool cpu, const char **metric, bool *rate)
{
    const struct ipcm_rr_stat *st = NULL;
    if (cpu && c->cpu_ns_per_msg.present) {
        *metric = c->tasks_per_s.present ? "cpu/task"
                  : c->msgs_per_s.present ? "cpu/msg"
                                          : "cpu/trip";
        *rate = false;
        st = &c->cpu_ns_per_msg;
        return st->nsamples ? st->samples[0] : st->median;
    }
    if (c->tasks_per_s.present)
        st = &c->tasks_per_s, *metric = "tasks/s";
    else if (c->msgs_per_s.present)
        st = &c->msgs_per_s, *metric = "msgs/s";
    *rate = st != NULL;
    if (st)
        return st->nsamples ? st->samples[0] : st->median;
    *metric = "lat p50";
    if (!c->latency_ns.present)
        return NAN;
    return c->latency_ns.np50 ? c->latency_ns.p50_samples[0] : c->latency_ns.p50;
}

static const struct ipcm_rr_case *find_case(const struct ipcm_results *r, const char *key)
{
    char buf[sizeof(((struct ipcm_ab_case *)0)->key)];
    for (size_t i = 0; i < r->ncases; i++)
        if (strcmp(ipcm_rr_case_key(&r->cases[i], buf, sizeof(buf)), key) == 0)
            return &r->cases[i];
    return NULL;
}

/* The first round: the cases of current, each with its arrays. */
static int add_cases(struct ipcm_ab_run *run, const struct ipcm_results *cur, char *err,
                     size_t errlen)
{
    if (cur->ncases > IPCM_AB_MAX_CASES) {
        snprintf(err, errlen, "%zu cases: at most %d per comparison", cur->ncases,
                 IPCM_AB_MAX_CASES);
        return -E2BIG;
    }
    for (size_t i = 0; i < cur->ncases; i++) {
        struct ipcm_ab_case *c = &run->cases[run->ncases++];
        const char *metric;
        ipcm_rr_case_key(&cur->cases[i], c->key, sizeof(c->key));
        case_value(&cur->cases[i], run->opts.cpu, &metric, &c->rate);
        snprintf(c->metric, sizeof(c->metric), "%s", metric);
        c->base = malloc(IPCM_AB_MAX_ROUNDS * sizeof(double));
        c->cur = malloc(IPCM_AB_MAX_ROUNDS * sizeof(double));
        c->logr = malloc(IPCM_AB_MAX_ROUNDS * sizeof(double));
        if (!c->base || !c->cur || !c->logr)
            return -ENOMEM;
    }
    return 0;
}

/* Status of one case this round: a failure or a skip settles it for good. */
static void case_status(struct ipcm_ab_case *c, const struct ipcm_rr_case *b,
                        const struct ipcm_rr_case *k, size_t round)
{
    if (c->verdict == IPCM_AB_FAILED || c->verdict == IPCM_AB_SKIPPED)
        return;
    if (!b) {
        c->verdict = IPCM_AB_SKIPPED;
        snprintf(c->note, sizeof(c->note), "not in the baseline's results");
    } else if (k->status == IPCM_RR_FAILED && b->status == IPCM_RR_OK) {
        c->verdict = IPCM_AB_FAILED;
        snprintf(c->note, sizeof(c->note), "failed in the current build in round %zu: %.120s",
                 round + 1, k->reason);
    } else if (k->status != IPCM_RR_OK || b->status != IPCM_RR_OK) {
        const struct ipcm_rr_case *why = b->status != IPCM_RR_OK ? b : k;
        c->verdict = IPCM_AB_SKIPPED;
        snprintf(c->note, sizeof(c->note), "%s in the %s build in round %zu: %.120s",
                 ipcm_rr_status_name(why->status), why == b ? "baseline" : "current", round + 1,
                 why->reason);
    }
}

int ipcm_ab_add_round(struct ipcm_ab_run *run, const struct ipcm_ab_round *round,
                      const struct ipcm_results *base, const struct ipcm_results *cur, char *err,
                      size_t errlen)
{
    int r;
    if (run->nrounds >= IPCM_AB_MAX_ROUNDS) {
        snprintf(err, errlen, "more than %d rounds", IPCM_AB_MAX_ROUNDS);
        return -E2BIG;
    }
    if (run->nrounds == 0 && (r = add_cases(run, cur, err, errlen)) < 0)
        return r;
    if (cur->ncases != run->ncases) {
        snprintf(err, errlen, "round %zu: the current build ran %zu cases, the first round %zu",
                 run->nrounds + 1, cur->ncases, run->ncases);
        return -EPROTO;
    }
    size_t n = run->nrounds;
    for (size_t i = 0; i < run->ncases; i++) {
        struct ipcm_ab_case *c = &run->cases[i];
        const struct ipcm_rr_case *k = find_case(cur, c->key), *b = find_case(base, c->key);
        const char *metric;
        bool rate;
        if (!k) {
            snprintf(err, errlen, "round %zu: the current build did not run %s", n + 1, c->key);
            return -EPROTO;
        }
        case_status(c, b, k, n);
        /* A value of another metric (a baseline that records no CPU time) pairs with
         * nothing: the round has no ratio for this case. */
        c->cur[n] = case_value(k, run->opts.cpu, &metric, &rate);
        if (strcmp(metric, c->metric) != 0)
            c->cur[n] = NAN;
        c->base[n] = b ? case_value(b, run->opts.cpu, &metric, &rate) : NAN;
        if (b && strcmp(metric, c->metric) != 0)
            c->base[n] = NAN;
        /* Cost ratio: time per message (1 / rate) or latency, current over baseline. */
        double lr = c->rate ? log(c->base[n] / c->cur[n]) : log(c->cur[n] / c->base[n]);
        if (!round->warmup)
            c->logr[run->measured] = isfinite(lr) ? lr : NAN;
    }
    run->rounds[run->nrounds++] = *round;
    if (!round->warmup)
        run->measured++;
    tally(run);
    return 0;
}

size_t ipcm_ab_active(const struct ipcm_ab_run *run)
{
    size_t n = 0;
    for (size_t i = 0; i < run->ncases; i++)
        n += run->cases[i].verdict != IPCM_AB_FAILED && run->cases[i].verdict != IPCM_AB_SKIPPED;
    return n;
}

/* Judge one pending case on its measured rounds so far. */
static int judge_case(struct ipcm_ab_run *run, struct ipcm_ab_case *c)
{
    double *v = malloc((run->measured ? run->measured : 1) * sizeof(*v));
    size_t n = 0;
    enum ipcm_ab_verdict verdict;
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < run->measured; i++)
        if (isfinite(c->logr[i]))
            v[n++] = c->logr[i];
    int r = n ? ipcm_ab_judge(v, n, run->opts.threshold, run->plan.level, &c->ci, &verdict) : 0;
    free(v);
    if (r < 0)
        return r;
    if (n && verdict != IPCM_AB_PENDING) {
        c->verdict = verdict;
        c->decided_at = run->measured;
    }
    return 0;
}

int ipcm_ab_look(struct ipcm_ab_run *run, bool final)
{
    const struct ipcm_ab_plan *p = &run->plan;
    bool planned = run->looks_done < p->nlooks && run->measured >= p->look[run->looks_done];
    size_t pending = 0;
    int r;
    if (planned || (final && run->looks_done < p->nlooks)) {
        /* A forced look replaces the planned ones not reached: never more than nlooks. */
        run->looks_done = final ? p->nlooks : run->looks_done + 1;
        for (size_t i = 0; i < run->ncases; i++)
            if (run->cases[i].verdict == IPCM_AB_PENDING &&
                (r = judge_case(run, &run->cases[i])) < 0)
                return r;
    }
    for (size_t i = 0; i < run->ncases; i++) {
        struct ipcm_ab_case *c = &run->cases[i];
        if (c->verdict == IPCM_AB_PENDING && (final || run->looks_done >= p->nlooks))
            c->verdict = IPCM_AB_UNDECIDED;
        pending += c->verdict == IPCM_AB_PENDING;
    }
    tally(run);
    return pending == 0;
}

bool ipcm_ab_nothing_decided(const struct ipcm_ab_run *run)
{
    return run->count[IPCM_AB_UNCHANGED] + run->count[IPCM_AB_REGRESSION] +
               run->count[IPCM_AB_IMPROVEMENT] ==
           0;
}

bool ipcm_ab_failed(const struct ipcm_ab_run *run)
{
    return run->count[IPCM_AB_REGRESSION] || run->count[IPCM_AB_FAILED] ||
           ipcm_ab_nothing_decided(run);
}
