/* SPDX-License-Identifier: MIT */
/*
 * compare.c - regression verdicts between two results files, their renderings and the
 * Google Benchmark / Bencher exports. A library: it writes only to the caller's FILE.
 */
#include "compare.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mannwhitney.h"
#include "stats.h"

/*
 * A significant change beyond the threshold still counts on a noisy case when it is
 * this many times the case's own spread: a 50% drop must not hide behind 12% noise.
 */
#define NOISE_ESCAPE 3.0

/* Room for a warning naming both hosts (two sanitised host strings each). */
#define WARN_LEN 1024
#define WARN_MAX 8 /* one per kind of warning */

static const char *const verdict_names[IPCM_V_COUNT] = {
    [IPCM_V_UNCHANGED] = "unchanged",
    [IPCM_V_REGRESSION] = "REGRESSION",
    [IPCM_V_IMPROVEMENT] = "improvement",
    [IPCM_V_NOISY] = "too noisy",
    [IPCM_V_INSUFFICIENT] = "insufficient samples",
    [IPCM_V_UNTESTED] = "untested",
    [IPCM_V_FAILED] = "FAILED",
    [IPCM_V_SKIPPED] = "skipped",
    [IPCM_V_MACHINE] = "machine changed",
};

static const char *const metric_names[IPCM_CMP_NMETRICS] = {
    [IPCM_CMP_MSGS] = "msgs/s",     [IPCM_CMP_TASKS] = "tasks/s", [IPCM_CMP_LAT_P50] = "lat p50",
    [IPCM_CMP_LAT_P99] = "lat p99", [IPCM_CMP_CPU] = "cpu/msg",   [IPCM_CMP_STATUS] = "status",
};

const char *ipcm_cmp_verdict_name(enum ipcm_cmp_verdict v)
{
    return (unsigned)v < IPCM_V_COUNT ? verdict_names[v] : "?";
}

const char *ipcm_cmp_metric_name(enum ipcm_cmp_metric m)
{
    return (unsigned)m < IPCM_CMP_NMETRICS ? metric_names[m] : "?";
}

/*
 * Robust relative spread, 1.4826 MAD / median: the standard deviation a normal sample
 * with this MAD would have, as a fraction of the median. Unlike (max - min) it is not
 * driven by one outlying repetition. 0 when there are fewer than 3 samples.
 */
static double spread_of(const double *v, size_t n, double med)
{
    if (n < 3 || med <= 0)
        return 0;
    double mad = ipcm_stats_mad(v, n);
    return isfinite(mad) ? 1.4826 * mad / med : 0;
}

/* The samples and summary value of one metric of a case; false when it has none. */
static bool metric_data(const struct ipcm_rr_case *c, enum ipcm_cmp_metric m, const double **s,
                        size_t *n, double *summary)
{
    const struct ipcm_rr_stat *st = NULL;
    *s = NULL;
    *n = 0;
    switch (m) {
    case IPCM_CMP_MSGS: st = &c->msgs_per_s; break;
    case IPCM_CMP_TASKS: st = &c->tasks_per_s; break;
    case IPCM_CMP_CPU: st = &c->cpu_ns_per_msg; break;
    case IPCM_CMP_LAT_P50:
        if (!c->latency_ns.present)
            return false;
        *s = c->latency_ns.p50_samples;
        *n = c->latency_ns.np50;
        *summary = c->latency_ns.p50;
        return true;
    case IPCM_CMP_LAT_P99:
        /* p99 is optional in schema 1: 0 means the writer did not record it. */
        if (!c->latency_ns.present || (c->latency_ns.p99 <= 0 && !c->latency_ns.np99))
            return false;
        *s = c->latency_ns.p99_samples;
        *n = c->latency_ns.np99;
        *summary = c->latency_ns.p99;
        return true;
    default: return false;
    }
    if (!st->present)
        return false;
    *s = st->samples;
    *n = st->nsamples;
    *summary = st->median;
    return true;
}

static bool higher_is_better(enum ipcm_cmp_metric m)
{
    return m == IPCM_CMP_MSGS || m == IPCM_CMP_TASKS;
}

static void judge(struct ipcm_cmp_row *row, const double *bs, const double *cs,
                  const struct ipcm_cmp_opts *o)
{
    double worse = higher_is_better(row->metric) ? -row->change : row->change;
    double noise = fmax(row->spread_base, row->spread_cur);
    struct ipcm_mwu t;

    row->p = 1.0;
    if (!row->nbase || !row->ncur) {
        row->verdict = IPCM_V_UNTESTED;
        return;
    }
    /* With 3 vs 3 repetitions the smallest possible p is 0.1: never "unchanged". */
    if (ipcm_mwu_min_p(row->nbase, row->ncur) >= o->alpha) {
        row->verdict = IPCM_V_INSUFFICIENT;
        return;
    }
    if (ipcm_mwu_test(bs, row->nbase, cs, row->ncur, &t) < 0) {
        row->verdict = IPCM_V_UNTESTED;
        return;
    }
    row->tested = true;
    row->exact = t.exact;
    row->p = t.p;
    bool sig = t.p<o->alpha, big = fabs(row->change)> o->threshold;
    bool noisy = noise > o->threshold;
    if (sig && big && (!noisy || fabs(row->change) > NOISE_ESCAPE * noise))
        row->verdict = worse > 0 ? IPCM_V_REGRESSION : IPCM_V_IMPROVEMENT;
    else if (noisy)
        row->verdict = IPCM_V_NOISY;
    else
        row->verdict = IPCM_V_UNCHANGED;
}

static int add_row(struct ipcm_cmp_report *rep, size_t *cap, const struct ipcm_cmp_row *row)
{
    if (rep->nrows == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        struct ipcm_cmp_row *n = realloc(rep->rows, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        rep->rows = n;
        *cap = ncap;
    }
    rep->rows[rep->nrows++] = *row;
    rep->count[row->verdict]++;
    if (row->metric != IPCM_CMP_STATUS)
        rep->metrics_compared++;
    return 0;
}

static int compare_case(struct ipcm_cmp_report *rep, size_t *cap, const struct ipcm_rr_case *b,
                        const struct ipcm_rr_case *c)
{
    struct ipcm_cmp_row row = {.base = b, .cur = c, .metric = IPCM_CMP_STATUS, .p = 1.0};
    int r;

    rep->cases_compared++;
    if (b->status != IPCM_RR_OK || c->status != IPCM_RR_OK) {
        row.verdict =
            b->status == IPCM_RR_OK && c->status == IPCM_RR_FAILED ? IPCM_V_FAILED : IPCM_V_SKIPPED;
        return add_row(rep, cap, &row);
    }
    for (int m = 0; m < IPCM_CMP_STATUS; m++) {
        const double *bs, *cs;
        double bsum = 0, csum = 0;
        size_t bn, cn;
        if (!metric_data(b, m, &bs, &bn, &bsum) || !metric_data(c, m, &cs, &cn, &csum))
            continue;
        row.metric = m;
        row.nbase = bn;
        row.ncur = cn;
        row.base_median = bn ? ipcm_stats_median(bs, bn) : bsum;
        row.cur_median = cn ? ipcm_stats_median(cs, cn) : csum;
        /* A zero baseline has no relative change; nothing to judge. */
        if (!(row.base_median > 0) || !isfinite(row.cur_median))
            continue;
        row.change = (row.cur_median - row.base_median) / row.base_median;
        row.spread_base = spread_of(bs, bn, row.base_median);
        row.spread_cur = spread_of(cs, cn, row.cur_median);
        row.tested = row.exact = false;
        judge(&row, bs, cs, &rep->opts);
        if ((r = add_row(rep, cap, &row)) < 0)
            return r;
    }
    return 0;
}

static int cmp_case_ptr(const void *a, const void *b)
{
    const struct ipcm_rr_case *const *x = a, *const *y = b;
    return ipcm_rr_case_cmp(*x, *y);
}

static const struct ipcm_rr_case **sorted_cases(const struct ipcm_results *r)
{
    const struct ipcm_rr_case **v = calloc(r->ncases ? r->ncases : 1, sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < r->ncases; i++)
        v[i] = &r->cases[i];
    qsort(v, r->ncases, sizeof(*v), cmp_case_ptr);
    return v;
}

/* A run's value of one calibration figure (at byte offset off of struct
 * ipcm_calibration): the mean of its start and end (NAN: none). */
static double cal_value(const struct ipcm_rr_calibration *cal, size_t off)
{
    double v[2];
    for (int i = 0; i < 2; i++)
        memcpy(&v[i], (const char *)&cal->at[i] + off, sizeof(v[i]));
    if (isfinite(v[0]) && isfinite(v[1]))
        return (v[0] + v[1]) / 2;
    return isfinite(v[0]) ? v[0] : v[1];
}

static void why_append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_append(char *buf, size_t len, const char *fmt, ...)
{
    size_t l = strlen(buf);
    va_list ap;
    if (l + 2 >= len)
        return;
    if (l)
        l += (size_t)snprintf(buf + l, len - l, "; ");
    va_start(ap, fmt);
    vsnprintf(buf + l, len - l, fmt, ap);
    va_end(ap);
}

/*
 * A verdict is about the build only if the machine stayed the same. The runs' own
 * calibration (host.calibration) measures the machine with code that does not change
 * between builds, so a difference there beyond the threshold points at the machine.
 */
static void check_machine(struct ipcm_cmp_report *rep)
{
    const struct ipcm_rr_calibration *b = &rep->base->calibration, *c = &rep->cur->calibration;
    const struct {
        const char *what, *unit;
        int digits; /* after the point */
        size_t off; /* of the figure in struct ipcm_calibration */
    } fig[] = {
        {"cache-line round trip", "ns", 0, offsetof(struct ipcm_calibration, line_rtt_ns)},
        {"memcpy 64 KiB", "GB/s", 1, offsetof(struct ipcm_calibration, memcpy_64k_gbs)},
        {"cross-CPU stream 64 KiB", "GB/s", 1, offsetof(struct ipcm_calibration, stream_64k_gbs)},
        {"raw pipe round trip on one CPU", "ns", 0,
         offsetof(struct ipcm_calibration, raw_pipe_same_ns)},
        {"raw pipe round trip across CPUs", "ns", 0,
         offsetof(struct ipcm_calibration, raw_pipe_cross_ns)},
    };
    char *why = rep->machine_why;
    size_t len = sizeof(rep->machine_why);

    why[0] = '\0';
    if (b->present && c->present)
        for (size_t i = 0; i < sizeof(fig) / sizeof(fig[0]); i++) {
            double x = cal_value(b, fig[i].off), y = cal_value(c, fig[i].off);
            if (!(x > 0) || !isfinite(y) || !(fabs(y - x) / x > rep->opts.threshold))
                continue;
            why_append(why, len, "%s %.*f %s in the baseline, %.*f %s now (%+.0f%%)", fig[i].what,
                       fig[i].digits, x, fig[i].unit, fig[i].digits, y, fig[i].unit,
                       100.0 * (y - x) / x);
            rep->calibration_differs = true;
        }
    const struct ipcm_rr_calibration *run[2] = {b, c};
    for (int k = 0; k < 2; k++) {
        const char *who = k ? "the current run" : "the baseline run";
        if (run[k]->changed)
            why_append(why, len, "%s saw its machine change while it measured%s%s%s", who,
                       run[k]->changed_reason[0] ? " (" : "", run[k]->changed_reason,
                       run[k]->changed_reason[0] ? ")" : "");
        if (run[k]->busy)
            why_append(why, len, "%s found its machine busy", who);
    }
    rep->machine_differs = why[0] != '\0';
}


static const struct ipcm_rr_plugin *plugin_named(const struct ipcm_results *r, const char *name)
{
    for (size_t i = 0; i < r->nplugins; i++)
        if (strcmp(r->plugins[i].name, name) == 0)
            return &r->plugins[i];
    return NULL;
}

static bool has_backend(const struct ipcm_results *r, const char *name)
{
    for (size_t i = 0; i < r->ncases; i++)
        if (strcmp(r->cases[i].backend, name) == 0)
            return true;
    return false;
}

/*
 * RULINGS 5: cases match by backend name, so two different plugins of one name (or a
 * plugin and the built-in it shadows) are "a different build", said like a host change.
 */
static void plugin_note(struct ipcm_cmp_report *rep)
{
    const struct ipcm_results *side[2] = {rep->base, rep->cur};
    size_t len = sizeof(rep->plugin_note), o = 0;
    char at[2][IPCM_RR_TEXT_LEN + 32];
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < side[s]->nplugins && o < len; i++) {
            const struct ipcm_rr_plugin *p = &side[s]->plugins[i];
            const struct ipcm_rr_plugin *q = plugin_named(side[!s], p->name);
            if (q ? s == 1 || strcmp(p->xxh3, q->xxh3) == 0 : !has_backend(side[!s], p->name))
                continue; /* a pair is said once; the same file; or not in the other run */
            snprintf(at[s], sizeof(at[s]), "%s (xxh3 %s)", p->path, p->xxh3);
            if (q)
                snprintf(at[!s], sizeof(at[!s]), "%s (xxh3 %s)", q->path, q->xxh3);
            else
                snprintf(at[!s], sizeof(at[!s]), "built in");
            o += (size_t)snprintf(rep->plugin_note + o, len - o,
                                  "%sbackend '%s' is a different build: baseline %s, current %s",
                                  o ? "; " : "", p->name, at[0], at[1]);
        }
    if (o >= len)
        rep->plugin_note[len - 2] = '.';
}

/* Regressions between two files whose machines measured differently read "machine
 * changed": the paired `ab` can decide them, a comparison of sequential runs cannot. */
static void machine_verdicts(struct ipcm_cmp_report *rep)
{
    for (size_t i = 0; i < rep->nrows; i++)
        if (rep->rows[i].verdict == IPCM_V_REGRESSION) {
            rep->rows[i].verdict = IPCM_V_MACHINE;
            rep->count[IPCM_V_REGRESSION]--;
            rep->count[IPCM_V_MACHINE]++;
        }
}

int ipcm_compare(const struct ipcm_results *base, const struct ipcm_results *cur,
                 const struct ipcm_cmp_opts *opts, struct ipcm_cmp_report **out)
{
    const struct ipcm_rr_case **bv = NULL, **cv = NULL;
    struct ipcm_cmp_report *rep;
    size_t cap = 0, i = 0, j = 0;
    int r = -ENOMEM;

    *out = NULL;
    if (!(opts->threshold > 0 && opts->threshold <= 10) || !(opts->alpha > 0 && opts->alpha < 1))
        return -EINVAL;
    rep = calloc(1, sizeof(*rep));
    if (!rep)
        return -ENOMEM;
    rep->opts = *opts;
    rep->base = base;
    rep->cur = cur;
    rep->added = calloc(cur->ncases ? cur->ncases : 1, sizeof(*rep->added));
    rep->missing = calloc(base->ncases ? base->ncases : 1, sizeof(*rep->missing));
    bv = sorted_cases(base);
    cv = sorted_cases(cur);
    if (!rep->added || !rep->missing || !bv || !cv)
        goto fail;
    /* Merge the two key-sorted lists. */
    while (i < base->ncases || j < cur->ncases) {
        int c = i == base->ncases ? 1 : j == cur->ncases ? -1 : ipcm_rr_case_cmp(bv[i], cv[j]);
        if (c < 0) {
            rep->missing[rep->nmissing++] = bv[i++];
        } else if (c > 0) {
            rep->added[rep->nadded++] = cv[j++];
        } else {
            if ((r = compare_case(rep, &cap, bv[i++], cv[j++])) < 0)
                goto fail;
        }
    }
    rep->host_differs =
        strcmp(base->cpu_model, cur->cpu_model) != 0 || base->cpus_online != cur->cpus_online ||
        (base->hostname[0] && cur->hostname[0] && strcmp(base->hostname, cur->hostname) != 0);
    rep->kernel_differs = strcmp(base->kernel, cur->kernel) != 0;
    plugin_note(rep);
    rep->path_differs = ipcm_cmp_path_differs(base, cur, rep->path_why, sizeof(rep->path_why));
    check_machine(rep);
    if (rep->calibration_differs && !opts->trust_machine)
        machine_verdicts(rep);
    free(bv);
    free(cv);
    *out = rep;
    return 0;
fail:
    free(bv);
    free(cv);
    ipcm_cmp_report_free(rep);
    return r;
}

void ipcm_cmp_report_free(struct ipcm_cmp_report *rep)
{
    if (!rep)
        return;
    free(rep->rows);
    free(rep->added);
    free(rep->missing);
    free(rep);
}

bool ipcm_cmp_insufficient(const struct ipcm_cmp_report *rep)
{
    /* Judged: the U test could run (a noisy case had the repetitions; its own spread
     * is what keeps it from a verdict). Nothing judged is no evidence of "no regression". */
    size_t judged = rep->count[IPCM_V_UNCHANGED] + rep->count[IPCM_V_REGRESSION] +
                    rep->count[IPCM_V_IMPROVEMENT] + rep->count[IPCM_V_NOISY] +
                    rep->count[IPCM_V_MACHINE];
    return judged == 0;
}

/* Cases of the baseline that are gone, when --fail-on-missing makes that a failure. */
static bool missing_fails(const struct ipcm_cmp_report *rep)
{
    return rep->opts.fail_on_missing && rep->nmissing > 0;
}

bool ipcm_cmp_failed(const struct ipcm_cmp_report *rep)
{
    return rep->count[IPCM_V_REGRESSION] || rep->count[IPCM_V_FAILED] || missing_fails(rep) ||
           ipcm_cmp_insufficient(rep);
}

/* The one-line verdict of the gate. */
static const char *result_text(const struct ipcm_cmp_report *rep)
{
    if (rep->count[IPCM_V_REGRESSION])
        return "REGRESSION";
    if (rep->count[IPCM_V_FAILED])
        return "REGRESSION (a case failed)";
    if (missing_fails(rep))
        return "FAILED: cases of the baseline are missing (--fail-on-missing)";
    if (rep->count[IPCM_V_MACHINE])
        return "no verdict for the changes beyond the threshold: the machine changed between "
               "the runs (decide with `ipcmark ab`, or --trust-machine)";
    if (ipcm_cmp_insufficient(rep))
        return "insufficient data: no metric could be judged (no comparable case, only "
               "skipped cases, or too few repetitions)";
    return "no regression";
}

/* ------------------------------------------------------------------ rendering */

/* A value with its unit, 3 significant digits: "1.23M/s", "45.6us". */
static const char *fmt_value(enum ipcm_cmp_metric m, double v, char *buf, size_t len)
{
    if (m == IPCM_CMP_STATUS) {
        snprintf(buf, len, "-");
    } else if (higher_is_better(m)) {
        static const char *const pre[] = {"", "k", "M", "G", "T"};
        int i = 0;
        while (i < 4 && v >= 1000) {
            v /= 1000;
            i++;
        }
        snprintf(buf, len, "%.3g%s/s", v, pre[i]);
    } else {
        static const char *const unit[] = {"ns", "us", "ms", "s"};
        int i = 0;
        while (i < 3 && v >= 1000) {
            v /= 1000;
            i++;
        }
        snprintf(buf, len, "%.3g%s", v, unit[i]);
    }
    return buf;
}

/* Order of rows in the markdown: what needs attention first. */
static int verdict_rank(enum ipcm_cmp_verdict v)
{
    static const int rank[IPCM_V_COUNT] = {
        [IPCM_V_FAILED] = 0,  [IPCM_V_REGRESSION] = 1,   [IPCM_V_IMPROVEMENT] = 2,
        [IPCM_V_NOISY] = 3,   [IPCM_V_INSUFFICIENT] = 4, [IPCM_V_UNTESTED] = 5,
        [IPCM_V_SKIPPED] = 6, [IPCM_V_UNCHANGED] = 7,    [IPCM_V_MACHINE] = 3,
    };
    return rank[v];
}

static void summary_line(const struct ipcm_cmp_report *rep, char *buf, size_t len)
{
    snprintf(buf, len,
             "%zu cases and %zu metrics compared: %zu regressions, %zu failed, "
             "%zu improvements, %zu unchanged, %zu too noisy, %zu machine changed, "
             "%zu insufficient samples, %zu untested, %zu skipped; %zu new, %zu missing",
             rep->cases_compared, rep->metrics_compared, rep->count[IPCM_V_REGRESSION],
             rep->count[IPCM_V_FAILED], rep->count[IPCM_V_IMPROVEMENT],
             rep->count[IPCM_V_UNCHANGED], rep->count[IPCM_V_NOISY], rep->count[IPCM_V_MACHINE],
             rep->count[IPCM_V_INSUFFICIENT], rep->count[IPCM_V_UNTESTED],
             rep->count[IPCM_V_SKIPPED], rep->nadded, rep->nmissing);
}

/* A run's path in words: "local", or "remote (server ADDR, DIRECTION)". */
static void path_words(const struct ipcm_results *r, char *buf, size_t len)
{
    if (!r->remote)
        snprintf(buf, len, "local");
    else
        snprintf(buf, len, "remote (server %s, %s)", r->remote_peer[0] ? r->remote_peer : "?",
                 r->remote_direction[0] ? r->remote_direction : "forward");
}

bool ipcm_cmp_path_differs(const struct ipcm_results *base, const struct ipcm_results *cur,
                           char *why, size_t len)
{
    /* A file without a direction was written forward (the only one there was). */
    const char *bd = base->remote_direction[0] ? base->remote_direction : "forward",
               *cd = cur->remote_direction[0] ? cur->remote_direction : "forward";
    bool differs = base->remote != cur->remote || (base->remote && strcmp(bd, cd) != 0);
    char b[IPCM_RR_NAME_LEN * 2 + 32], c[IPCM_RR_NAME_LEN * 2 + 32];
    path_words(base, b, sizeof(b));
    path_words(cur, c, sizeof(c));
    snprintf(why, len, "baseline %s vs current %s", b, c);
    return differs;
}

/* The reader cuts host text to IPCM_RR_TEXT_LEN - 1 characters; the precision says so. */
static void describe(const struct ipcm_results *r, const char *label, char *buf, size_t len)
{
    snprintf(buf, len, "%s (%s; %s, %ld CPUs, kernel %.*s)", label ? label : "-",
             r->created_utc[0] ? r->created_utc : "date unknown",
             r->cpu_model[0] ? r->cpu_model : "CPU unknown", r->cpus_online, IPCM_RR_TEXT_LEN - 1,
             r->kernel[0] ? r->kernel : "unknown");
}

/* The warnings every format shows; returns how many were written into w[]. */
static int warnings(const struct ipcm_cmp_report *rep, char w[][WARN_LEN], int max)
{
    int n = 0;
    if (rep->host_differs && n < max)
        snprintf(w[n++], WARN_LEN,
                 "different host: baseline '%s' (%ld CPUs%s%s) vs current '%s' (%ld CPUs%s%s); "
                 "changes may reflect the machine, not the code",
                 rep->base->cpu_model, rep->base->cpus_online, rep->base->hostname[0] ? ", " : "",
                 rep->base->hostname, rep->cur->cpu_model, rep->cur->cpus_online,
                 rep->cur->hostname[0] ? ", " : "", rep->cur->hostname);
    if (rep->plugin_note[0] && n < max)
        snprintf(w[n++], WARN_LEN, "%s", rep->plugin_note);
    if (rep->path_differs && n < max)
        snprintf(w[n++], WARN_LEN,
                 "different path: %s (--allow-path-change); changes reflect the path, not "
                 "the code",
                 rep->path_why);
    if (rep->kernel_differs && n < max)
        snprintf(w[n++], WARN_LEN, "different kernel: baseline '%s' vs current '%s'",
                 rep->base->kernel, rep->cur->kernel);
    if (rep->machine_differs && n < max)
        snprintf(w[n++], WARN_LEN,
                 "the machine, not the build, may explain changes: %s (host.calibration; "
                 "rerun both on a quiet machine before trusting a verdict)",
                 rep->machine_why);
    if (rep->count[IPCM_V_MACHINE] && n < max)
        snprintf(w[n++], WARN_LEN,
                 "%zu changes beyond the threshold read 'machine changed', not REGRESSION: the "
                 "two runs' calibrations differ, and sequential runs cannot separate a changed "
                 "machine from a slower build; decide with `ipcmark ab --baseline OLD_BINARY` "
                 "(interleaved, paired), or pass --trust-machine for the plain verdicts",
                 rep->count[IPCM_V_MACHINE]);
    if (rep->count[IPCM_V_INSUFFICIENT] && n < max)
        snprintf(w[n++], WARN_LEN,
                 "%zu metrics have too few repetitions for the U test to reach alpha %g "
                 "(with equal counts: 4 or more each for 0.05, 9 or more recommended)",
                 rep->count[IPCM_V_INSUFFICIENT], rep->opts.alpha);
    if (rep->cases_compared == 0 && n < max)
        snprintf(w[n++], WARN_LEN, "no case is in both files: nothing was compared");
    return n;
}

static void key_of(const struct ipcm_rr_case *c, char *buf, size_t len)
{
    ipcm_rr_case_key(c, buf, len);
}

static void fmt_p(const struct ipcm_cmp_row *row, char *buf, size_t len)
{
    if (row->tested)
        snprintf(buf, len, row->p < 0.001 ? "%.1e" : "%.3f", row->p);
    else
        snprintf(buf, len, "-");
}

static void fmt_change(const struct ipcm_cmp_row *row, char *buf, size_t len)
{
    if (row->metric == IPCM_CMP_STATUS)
        snprintf(buf, len, "%s->%s", ipcm_rr_status_name(row->base->status),
                 ipcm_rr_status_name(row->cur->status));
    else
        snprintf(buf, len, "%+.1f%%", 100.0 * row->change);
}

int ipcm_cmp_write_table(const struct ipcm_cmp_report *rep, FILE *f)
{
    char w[WARN_MAX][WARN_LEN], a[96], b[96], ch[40], p[24], key[256], line[512];
    int nw = warnings(rep, w, WARN_MAX);

    describe(rep->base, rep->opts.base_label, line, sizeof(line));
    fprintf(f, "baseline: %s\n", line);
    describe(rep->cur, rep->opts.cur_label, line, sizeof(line));
    fprintf(f, "current:  %s\n", line);
    fprintf(f, "threshold %g%%, alpha %g (two-sided Mann-Whitney U over repetitions)\n",
            100.0 * rep->opts.threshold, rep->opts.alpha);
    for (int i = 0; i < nw; i++)
        fprintf(f, "warning: %s\n", w[i]);
    /* Keys vary from 30 to 60 characters; size the column to the longest. */
    int kw = 4;
    for (size_t i = 0; i < rep->nrows; i++) {
        int l = (int)strlen((key_of(rep->rows[i].cur, key, sizeof(key)), key));
        kw = l > kw ? l : kw;
    }
    fprintf(f, "\n%-*s %-8s %10s %10s %16s %8s %5s  %s\n", kw, "case", "metric", "baseline",
            "current", "change", "p", "n", "verdict");
    for (size_t i = 0; i < rep->nrows; i++) {
        const struct ipcm_cmp_row *row = &rep->rows[i];
        char n[24];
        key_of(row->cur, key, sizeof(key));
        fmt_change(row, ch, sizeof(ch));
        fmt_p(row, p, sizeof(p));
        snprintf(n, sizeof(n), "%zu/%zu", row->nbase, row->ncur);
        fprintf(f, "%-*s %-8s %10s %10s %16s %8s %5s  %s\n", kw, key,
                ipcm_cmp_metric_name(row->metric),
                fmt_value(row->metric, row->base_median, a, sizeof(a)),
                fmt_value(row->metric, row->cur_median, b, sizeof(b)), ch, p, n,
                ipcm_cmp_verdict_name(row->verdict));
    }
    for (size_t i = 0; i < rep->nadded; i++)
        fprintf(f, "new:     %s\n", (key_of(rep->added[i], key, sizeof(key)), key));
    for (size_t i = 0; i < rep->nmissing; i++)
        fprintf(f, "missing: %s\n", (key_of(rep->missing[i], key, sizeof(key)), key));
    summary_line(rep, line, sizeof(line));
    fprintf(f, "\n%s\n", line);
    fprintf(f, "result: %s\n", result_text(rep));
    fflush(f);
    return ferror(f) ? -EIO : 0;
}

static void md_row(const struct ipcm_cmp_row *row, FILE *f)
{
    static const char *const mark[IPCM_V_COUNT] = {
        [IPCM_V_UNCHANGED] = "",
        [IPCM_V_REGRESSION] = ":x: ",
        [IPCM_V_IMPROVEMENT] = ":rocket: ",
        [IPCM_V_NOISY] = ":warning: ",
        [IPCM_V_INSUFFICIENT] = ":grey_question: ",
        [IPCM_V_UNTESTED] = "",
        [IPCM_V_FAILED] = ":x: ",
        [IPCM_V_SKIPPED] = "",
        [IPCM_V_MACHINE] = ":warning: ",
    };
    char a[96], b[96], ch[40], p[24], key[256];
    key_of(row->cur, key, sizeof(key));
    fmt_change(row, ch, sizeof(ch));
    fmt_p(row, p, sizeof(p));
    bool bold = row->verdict == IPCM_V_REGRESSION || row->verdict == IPCM_V_FAILED;
    fprintf(f, "| `%s` | %s | %s | %s | %s%s%s | %s | %zu/%zu | %s%s%s%s |\n", key,
            ipcm_cmp_metric_name(row->metric),
            fmt_value(row->metric, row->base_median, a, sizeof(a)),
            fmt_value(row->metric, row->cur_median, b, sizeof(b)), bold ? "**" : "", ch,
            bold ? "**" : "", p, row->nbase, row->ncur, mark[row->verdict], bold ? "**" : "",
            ipcm_cmp_verdict_name(row->verdict), bold ? "**" : "");
}

static void md_header(FILE *f)
{
    fprintf(f, "| Case | Metric | Baseline | Current | Change | p | n | Verdict |\n"
               "|---|---|---:|---:|---:|---:|---:|---|\n");
}

int ipcm_cmp_write_markdown(const struct ipcm_cmp_report *rep, FILE *f)
{
    char w[WARN_MAX][WARN_LEN], line[512], key[256];
    int nw = warnings(rep, w, WARN_MAX);
    size_t shown = 0;

    fprintf(f, "### ipcmark compare: %s\n\n",
            rep->count[IPCM_V_REGRESSION] ? ":x: regression detected"
            : rep->count[IPCM_V_FAILED]   ? ":x: case failed"
            : missing_fails(rep)          ? ":x: baseline cases missing"
            : ipcm_cmp_insufficient(rep)  ? ":x: insufficient data (nothing could be judged)"
                                          : ":white_check_mark: no regression");
    describe(rep->base, rep->opts.base_label, line, sizeof(line));
    fprintf(f, "- Baseline: %s\n", line);
    describe(rep->cur, rep->opts.cur_label, line, sizeof(line));
    fprintf(f, "- Current: %s\n", line);
    fprintf(f,
            "- A regression is a change worse than **%g%%** that is significant at "
            "**alpha %g** (two-sided Mann-Whitney U over the repetitions).\n",
            100.0 * rep->opts.threshold, rep->opts.alpha);
    summary_line(rep, line, sizeof(line));
    fprintf(f, "- %s\n\n", line);
    for (int i = 0; i < nw; i++)
        fprintf(f, "> **Warning:** %s\n\n", w[i]);
    /* What needs attention in the open; the unchanged rest folded away. */
    for (int rank = 0; rank < 7; rank++)
        for (size_t i = 0; i < rep->nrows; i++)
            if (verdict_rank(rep->rows[i].verdict) == rank) {
                if (!shown++)
                    md_header(f);
                md_row(&rep->rows[i], f);
            }
    if (shown)
        fputc('\n', f);
    if (rep->count[IPCM_V_UNCHANGED]) {
        fprintf(f, "<details><summary>%zu unchanged metrics</summary>\n\n",
                rep->count[IPCM_V_UNCHANGED]);
        md_header(f);
        for (size_t i = 0; i < rep->nrows; i++)
            if (rep->rows[i].verdict == IPCM_V_UNCHANGED)
                md_row(&rep->rows[i], f);
        fprintf(f, "\n</details>\n\n");
    }
    if (rep->nadded) {
        fprintf(f, "New cases (not in the baseline):");
        for (size_t i = 0; i < rep->nadded; i++)
            fprintf(f, "%s `%s`", i ? "," : "", (key_of(rep->added[i], key, sizeof(key)), key));
        fprintf(f, "\n\n");
    }
    if (rep->nmissing) {
        fprintf(f, "%sMissing cases (in the baseline only%s):", missing_fails(rep) ? ":x: " : "",
                missing_fails(rep) ? "; --fail-on-missing fails the gate" : "");
        for (size_t i = 0; i < rep->nmissing; i++)
            fprintf(f, "%s `%s`", i ? "," : "", (key_of(rep->missing[i], key, sizeof(key)), key));
        fprintf(f, "\n\n");
    }
    fflush(f);
    return ferror(f) ? -EIO : 0;
}

/* Verdicts in JSON: stable lowercase identifiers, not the display names. */
static const char *verdict_id(enum ipcm_cmp_verdict v)
{
    static const char *const id[IPCM_V_COUNT] = {
        [IPCM_V_UNCHANGED] = "unchanged",
        [IPCM_V_REGRESSION] = "regression",
        [IPCM_V_IMPROVEMENT] = "improvement",
        [IPCM_V_NOISY] = "noisy",
        [IPCM_V_INSUFFICIENT] = "insufficient",
        [IPCM_V_UNTESTED] = "untested",
        [IPCM_V_FAILED] = "failed",
        [IPCM_V_SKIPPED] = "skipped",
        [IPCM_V_MACHINE] = "machine_changed",
    };
    return (unsigned)v < IPCM_V_COUNT ? id[v] : "?";
}

/* jansson refuses non-finite reals (json_real returns NULL); write null instead. */
static json_t *jnum(double d)
{
    return isfinite(d) ? json_real(d) : json_null();
}

static json_t *case_key_json(const struct ipcm_rr_case *c)
{
    char key[256];
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:i, s:s}", "key",
                     (ipcm_rr_case_key(c, key, sizeof(key)), key), "mode", c->mode, "backend",
                     c->backend, "shape", c->shape, "size", (json_int_t)c->size, "producers",
                     (int)c->producers, "consumers", (int)c->consumers, "workers", (int)c->workers,
                     "placement", c->placement);
}

static json_t *side_json(const struct ipcm_results *r, const char *label)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "file", label ? label : "", "created_utc",
                     r->created_utc, "hostname", r->hostname, "kernel", r->kernel, "cpu_model",
                     r->cpu_model, "cpus_online", (json_int_t)r->cpus_online);
}

static int dump(json_t *root, FILE *f)
{
    int r = 0;
    if (!root)
        return -ENOMEM;
    if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0)
        r = -EIO;
    json_decref(root);
    fputc('\n', f);
    fflush(f);
    return r || ferror(f) ? -EIO : 0;
}

int ipcm_cmp_write_json(const struct ipcm_cmp_report *rep, FILE *f)
{
    char w[WARN_MAX][WARN_LEN];
    int nw = warnings(rep, w, WARN_MAX);
    json_t *root = json_object(), *rows = json_array(), *added = json_array(),
           *missing = json_array(), *warn = json_array(), *counts = json_object();

    if (!root || !rows || !added || !missing || !warn || !counts) {
        json_decref(root);
        json_decref(rows);
        json_decref(added);
        json_decref(missing);
        json_decref(warn);
        json_decref(counts);
        return -ENOMEM;
    }
    json_object_set_new(root, "schema", json_string("ipcmark-compare/1"));
    json_object_set_new(root, "threshold", json_real(rep->opts.threshold));
    json_object_set_new(root, "alpha", json_real(rep->opts.alpha));
    json_object_set_new(root, "baseline", side_json(rep->base, rep->opts.base_label));
    json_object_set_new(root, "current", side_json(rep->cur, rep->opts.cur_label));
    json_object_set_new(root, "regression", json_boolean(ipcm_cmp_failed(rep)));
    json_object_set_new(root, "insufficient_data", json_boolean(ipcm_cmp_insufficient(rep)));
    json_object_set_new(root, "fail_on_missing", json_boolean(rep->opts.fail_on_missing));
    json_object_set_new(root, "cases_compared", json_integer((json_int_t)rep->cases_compared));
    json_object_set_new(root, "metrics_compared", json_integer((json_int_t)rep->metrics_compared));
    for (int v = 0; v < IPCM_V_COUNT; v++)
        json_object_set_new(counts, verdict_id(v), json_integer((json_int_t)rep->count[v]));
    json_object_set_new(root, "counts", counts);
    for (int i = 0; i < nw; i++)
        json_array_append_new(warn, json_string(w[i]));
    json_object_set_new(root, "warnings", warn);
    /* For tools: whether the machine may explain the changes, and why (also a warning). */
    json_object_set_new(root, "machine_may_explain", json_boolean(rep->machine_differs));
    json_object_set_new(root, "machine_reason", json_string(rep->machine_why));
    for (size_t i = 0; i < rep->nrows; i++) {
        const struct ipcm_cmp_row *row = &rep->rows[i];
        json_t *o = case_key_json(row->cur);
        if (!o)
            continue;
        json_object_set_new(o, "metric", json_string(ipcm_cmp_metric_name(row->metric)));
        json_object_set_new(o, "verdict", json_string(verdict_id(row->verdict)));
        if (row->metric == IPCM_CMP_STATUS) {
            json_object_set_new(o, "baseline_status",
                                json_string(ipcm_rr_status_name(row->base->status)));
            json_object_set_new(o, "current_status",
                                json_string(ipcm_rr_status_name(row->cur->status)));
        } else {
            json_object_set_new(o, "baseline_median", jnum(row->base_median));
            json_object_set_new(o, "current_median", jnum(row->cur_median));
            json_object_set_new(o, "change", jnum(row->change));
            json_object_set_new(o, "p", row->tested ? jnum(row->p) : json_null());
            json_object_set_new(o, "exact", json_boolean(row->exact));
            json_object_set_new(o, "n_baseline", json_integer((json_int_t)row->nbase));
            json_object_set_new(o, "n_current", json_integer((json_int_t)row->ncur));
            json_object_set_new(o, "spread_baseline", jnum(row->spread_base));
            json_object_set_new(o, "spread_current", jnum(row->spread_cur));
        }
        json_array_append_new(rows, o);
    }
    json_object_set_new(root, "results", rows);
    for (size_t i = 0; i < rep->nadded; i++)
        json_array_append_new(added, case_key_json(rep->added[i]));
    for (size_t i = 0; i < rep->nmissing; i++)
        json_array_append_new(missing, case_key_json(rep->missing[i]));
    json_object_set_new(root, "new", added);
    json_object_set_new(root, "missing", missing);
    return dump(root, f);
}

/* -------------------------------------------------------------------- exports */

/*
 * One headline metric of a case, per repetition. Both exports take their figures from
 * here, so the Bencher bounds and the Google Benchmark repetitions are the same numbers.
 */
struct export_metric {
    const char *suffix; /* appended to the case key to name the benchmark */
    const char *measure; /* Bencher measure: "throughput", "throughput-tasks", "latency", ... */
    const double *samples; /* one per repetition, in the metric's own unit */
    size_t n;
    double median; /* the file's median, in the metric's own unit */
    bool rate;     /* per second (else ns) */
    /* CPU ns per operation of the same repetitions (cpu_ns_per_msg: per message, task or
     * round trip, the operation the metric times); NULL when the case has none. */
    const double *cpu;
    size_t ncpu;
};

static int headline_metrics(const struct ipcm_rr_case *c, struct export_metric m[3])
{
    int n = 0;
    if (c->status != IPCM_RR_OK)
        return 0;
    if (c->msgs_per_s.present)
        m[n++] = (struct export_metric){.suffix = "",
                                        .measure = "throughput",
                                        .samples = c->msgs_per_s.samples,
                                        .n = c->msgs_per_s.nsamples,
                                        .median = c->msgs_per_s.median,
                                        .rate = true};
    if (c->tasks_per_s.present)
        m[n++] = (struct export_metric){.suffix = n ? "/tasks" : "",
                                        .measure = n ? "throughput-tasks" : "throughput",
                                        .samples = c->tasks_per_s.samples,
                                        .n = c->tasks_per_s.nsamples,
                                        .median = c->tasks_per_s.median,
                                        .rate = true};
    if (c->latency_ns.present && n < 3) {
        const struct ipcm_rr_latency *l = &c->latency_ns;
        m[n++] = (struct export_metric){.suffix = "/p50",
                                        .measure = "latency",
                                        .samples = l->p50_samples,
                                        .n = l->np50,
                                        .median = l->p50};
    }
    const struct ipcm_rr_stat *cpu = &c->cpu_ns_per_msg;
    for (int k = 0; k < n && cpu->present; k++) {
        m[k].cpu = cpu->samples;
        m[k].ncpu = cpu->nsamples;
    }
    return n;
}

/* Lowest and highest of n samples; both `fallback` when there are none. */
static void sample_range(const double *v, size_t n, double fallback, double *lo, double *hi)
{
    *lo = *hi = fallback;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || v[i] < *lo)
            *lo = v[i];
        if (i == 0 || v[i] > *hi)
            *hi = v[i];
    }
}

/* Google Benchmark times are per iteration: a rate becomes ns per operation. */
static double ns_per_op(const struct export_metric *m, double v)
{
    return m->rate ? (v > 0 ? 1e9 / v : 0) : v;
}

/*
 * Google Benchmark's four aggregates of n values, computed as benchmark/src/statistics.cc
 * does: mean, median (the middle one, or the mean of the two middle ones), the sample
 * standard deviation (n - 1), and cv = stddev / mean as a fraction.
 */
enum { AGG_MEAN, AGG_MEDIAN, AGG_STDDEV, AGG_CV, AGG_N };
static const char *const agg_name[AGG_N] = {"mean", "median", "stddev", "cv"};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sorted: scratch room for n values. */
static void aggregates(const double *v, size_t k, double *sorted, double out[AGG_N])
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < k; i++) {
        sum += v[i];
        sorted[i] = v[i];
    }
    out[AGG_MEAN] = k ? sum / (double)k : 0;
    for (size_t i = 0; i < k; i++)
        sq += (v[i] - out[AGG_MEAN]) * (v[i] - out[AGG_MEAN]);
    qsort(sorted, k, sizeof(sorted[0]), cmp_double);
    out[AGG_MEDIAN] = !k ? 0 : k % 2 ? sorted[k / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
    out[AGG_STDDEV] = k > 1 ? sqrt(sq / (double)(k - 1)) : 0;
    out[AGG_CV] = out[AGG_MEAN] != 0 ? out[AGG_STDDEV] / out[AGG_MEAN] : 0;
}

/*
 * One entry of "benchmarks", keys in Google Benchmark's order. iterations < 0 leaves the
 * field out (a file without messages_per_repetition); rate < 0 leaves items_per_second
 * out.
 */
static json_t *gbench_entry(const char *name, const char *run_name, size_t family,
                            const char *run_type, size_t reps, long rep_index, const char *agg,
                            long long iterations, double real_ns, double cpu_ns, double rate)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "family_index", json_integer((json_int_t)family));
    json_object_set_new(o, "per_family_instance_index", json_integer(0));
    json_object_set_new(o, "run_name", json_string(run_name));
    json_object_set_new(o, "run_type", json_string(run_type));
    json_object_set_new(o, "repetitions", json_integer((json_int_t)reps));
    if (rep_index >= 0)
        json_object_set_new(o, "repetition_index", json_integer(rep_index));
    json_object_set_new(o, "threads", json_integer(1));
    if (agg) {
        json_object_set_new(o, "aggregate_name", json_string(agg));
        json_object_set_new(o, "aggregate_unit",
                            json_string(strcmp(agg, "cv") == 0 ? "percentage" : "time"));
    }
    if (iterations >= 0)
        json_object_set_new(o, "iterations", json_integer((json_int_t)iterations));
    json_object_set_new(o, "real_time", jnum(real_ns));
    json_object_set_new(o, "cpu_time", jnum(cpu_ns));
    json_object_set_new(o, "time_unit", json_string("ns"));
    if (rate >= 0)
        json_object_set_new(o, "items_per_second", jnum(rate));
    return o;
}

/* One metric of one case: its repetitions, then (with two or more) the four aggregates. */
static void gbench_metric(json_t *list, const char *name, size_t family,
                          const struct export_metric *m, long long iterations)
{
    double ra[AGG_N], ca[AGG_N], ia[AGG_N];
    size_t n = m->n;
    double *real = malloc(2 * n * sizeof(*real)), *scratch = real + n;
    if (!real)
        return;
    for (size_t s = 0; s < n; s++) {
        real[s] = ns_per_op(m, m->samples[s]);
        json_array_append_new(list, gbench_entry(name, name, family, "iteration", n, (long)s,
                                                 NULL, iterations, real[s], m->cpu[s],
                                                 m->rate ? m->samples[s] : -1));
    }
    /* Google Benchmark writes no aggregates for a single repetition. */
    if (n < 2) {
        free(real);
        return;
    }
    aggregates(real, n, scratch, ra);
    aggregates(m->cpu, n, scratch, ca);
    aggregates(m->samples, n, scratch, ia);
    for (int a = 0; a < AGG_N; a++) {
        char agg[320];
        snprintf(agg, sizeof(agg), "%s_%s", name, agg_name[a]);
        /* Aggregates count repetitions in "iterations", as Google Benchmark does. */
        json_array_append_new(list, gbench_entry(agg, name, family, "aggregate", n, -1,
                                                 agg_name[a], (long long)n, ra[a], ca[a],
                                                 m->rate ? ia[a] : -1));
    }
    free(real);
}

int ipcm_export_gbench(const struct ipcm_results *r, FILE *f)
{
    json_t *root, *ctx, *list = json_array();
    size_t family = 0;
    if (!list)
        return -ENOMEM;
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        struct export_metric m[3];
        int nm = headline_metrics(c, m);
        for (int k = 0; k < nm; k++) {
            char name[300], key[256];
            /* Google Benchmark has no "CPU unknown": a case without measured CPU time (an
             * older file, a mode that reports none) is left out rather than given a
             * made-up cpu_time; the Bencher export keeps it. */
            if (!m[k].cpu || m[k].ncpu != m[k].n || !m[k].n)
                continue;
            snprintf(name, sizeof(name), "%s%s", ipcm_rr_case_key(c, key, sizeof(key)),
                     m[k].suffix);
            /* The messages (round trips, tasks) one repetition moved: the median over the
             * repetitions, exact when the run used --messages N. */
            gbench_metric(list, name, family++, &m[k],
                          c->messages_per_rep ? (long long)c->messages_per_rep : -1);
        }
    }
    /* context: the host fields a results file has; ipcmark's own beside them. */
    ctx = json_object();
    if (!ctx) {
        json_decref(list);
        return -ENOMEM;
    }
    json_object_set_new(ctx, "date", json_string(r->created_utc));
    if (r->hostname[0])
        json_object_set_new(ctx, "host_name", json_string(r->hostname));
    json_object_set_new(ctx, "executable", json_string("ipcmark"));
    if (r->cpus_online > 0)
        json_object_set_new(ctx, "num_cpus", json_integer((json_int_t)r->cpus_online));
    if (r->cpu_model[0])
        json_object_set_new(ctx, "cpu_model", json_string(r->cpu_model));
    if (r->kernel[0])
        json_object_set_new(ctx, "kernel", json_string(r->kernel));
    json_object_set_new(ctx, "ipcmark_version", json_string(r->tool_version));
    if (r->tool_git[0])
        json_object_set_new(ctx, "ipcmark_git", json_string(r->tool_git));
    json_object_set_new(ctx, "ipcmark_schema", json_string(r->schema));
    root = json_pack("{s:o, s:o}", "context", ctx, "benchmarks", list);
    return dump(root, f);
}

/*
 * Bencher Metric Format. For every measure, lower_value and upper_value are the lowest and
 * highest repetition (of msgs/s, of tasks/s, of the per-repetition p50 or p99): the same
 * meaning everywhere, so a threshold on the bounds reads the same for each measure. value
 * is the file's headline figure: the median repetition of a rate, the p50 (p99) of all
 * round trips of the case for latency (it lies within the repetitions' range).
 */
static json_t *bmf_measure(double median, const double *samples, size_t n)
{
    double lo, hi;
    sample_range(samples, n, median, &lo, &hi);
    return json_pack("{s:o, s:o, s:o}", "value", jnum(median), "lower_value", jnum(lo),
                     "upper_value", jnum(hi));
}

int ipcm_export_bencher(const struct ipcm_results *r, FILE *f)
{
    json_t *root = json_object();
    if (!root)
        return -ENOMEM;
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        const struct ipcm_rr_latency *l = &c->latency_ns;
        struct export_metric m[3];
        int nm = headline_metrics(c, m);
        char key[256];
        json_t *bench;
        if (!nm)
            continue;
        bench = json_object();
        if (!bench)
            break;
        /* Bencher's built-in measures: "throughput" (ops/s) and "latency" (ns). */
        for (int k = 0; k < nm; k++)
            json_object_set_new(bench, m[k].measure,
                                bmf_measure(m[k].median, m[k].samples, m[k].n));
        if (l->present && l->p99 > 0)
            json_object_set_new(bench, "latency-p99", bmf_measure(l->p99, l->p99_samples, l->np99));
        json_object_set_new(root, ipcm_rr_case_key(c, key, sizeof(key)), bench);
    }
    return dump(root, f);
}
