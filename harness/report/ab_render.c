/* SPDX-License-Identifier: MIT */
/*
 * ab_render.c - renderings of a paired A/B comparison (ab.h): a table for a terminal,
 * markdown for a pull-request comment, JSON with every round, gnuplot data.
 */
#include "ab.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A log cost ratio as a signed percentage ("+5.2%"); "-inf"/"+inf" for an open end. */
static const char *pct(double logr, char *buf, size_t len)
{
    if (isinf(logr))
        snprintf(buf, len, "%sinf", logr < 0 ? "-" : "+");
    else if (isnan(logr))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%+.1f%%", 100.0 * expm1(logr));
    return buf;
}

static const char *result_text(const struct ipcm_ab_run *run)
{
    if (run->count[IPCM_AB_REGRESSION])
        return "REGRESSION";
    if (run->count[IPCM_AB_FAILED])
        return "REGRESSION (a case failed)";
    if (ipcm_ab_nothing_decided(run))
        return "insufficient data: no case could be decided within the budget";
    if (run->count[IPCM_AB_UNDECIDED])
        return "no regression found (some cases undecided: see below)";
    return "no regression";
}

static void summary_line(const struct ipcm_ab_run *run, char *buf, size_t len)
{
    snprintf(buf, len,
             "%zu cases: %zu regressions, %zu failed, %zu improvements, %zu unchanged, "
             "%zu undecided, %zu skipped",
             run->ncases, run->count[IPCM_AB_REGRESSION], run->count[IPCM_AB_FAILED],
             run->count[IPCM_AB_IMPROVEMENT], run->count[IPCM_AB_UNCHANGED],
             run->count[IPCM_AB_UNDECIDED], run->count[IPCM_AB_SKIPPED]);
}

/* How the comparison ran, in one paragraph (both text formats). */
static void method_text(const struct ipcm_ab_run *run, char *buf, size_t len)
{
    const struct ipcm_ab_plan *p = &run->plan;
    char looks[64] = "";
    size_t l = 0;
    for (unsigned i = 0; i < p->nlooks && l < sizeof(looks); i++)
        l += (size_t)snprintf(looks + l, sizeof(looks) - l, "%s%zu", i ? ", " : "", p->look[i]);
    snprintf(buf, len,
             "%zu rounds measured (+%zu warm-up), order A B / B A alternating, %.1f s; "
             "looks planned at %s rounds; each interval %.2f%% (alpha %g over %u looks x %zu "
             "cases, Bonferroni); threshold %g%%; judged on %s",
             run->measured, run->nrounds - run->measured, run->wall_s, looks, 100 * p->level,
             run->opts.alpha, p->nlooks, p->ncases, 100 * run->opts.threshold,
             run->opts.cpu ? "CPU time (--metric cpu)" : "wall time (--metric wall)");
}

int ipcm_ab_write_table(const struct ipcm_ab_run *run, FILE *f)
{
    char buf[512], a[16], b[16], c[16];
    fprintf(f, "baseline: %s\ncurrent:  %s\n", run->base_label, run->cur_label);
    method_text(run, buf, sizeof(buf));
    fprintf(f, "%s\nstopped: %s\n\n", buf, run->stop);
    fprintf(f, "%-46s %-8s %5s %9s  %-22s %s\n", "case", "metric", "n", "cost", "interval",
            "verdict");
    for (size_t i = 0; i < run->ncases; i++) {
        const struct ipcm_ab_case *k = &run->cases[i];
        char iv[40];
        snprintf(iv, sizeof(iv), "[%s, %s]", pct(k->ci.lo, b, sizeof(b)),
                 pct(k->ci.hi, c, sizeof(c)));
        fprintf(f, "%-46s %-8s %5zu %9s  %-22s %s", k->key, k->metric, k->ci.n,
                k->ci.n ? pct(k->ci.estimate, a, sizeof(a)) : "-", iv,
                ipcm_ab_verdict_name(k->verdict));
        if (k->note[0])
            fprintf(f, " (%s)", k->note);
        fputc('\n', f);
    }
    summary_line(run, buf, sizeof(buf));
    fprintf(f,
            "\ncost: %s per message (or per task, or %s), current / baseline - 1;\n"
            "positive is slower. %s\nresult: %s\n",
            run->opts.cpu ? "CPU time" : "time", run->opts.cpu ? "round trip" : "latency", buf,
            result_text(run));
    return ferror(f) ? -EIO : 0;
}

int ipcm_ab_write_markdown(const struct ipcm_ab_run *run, FILE *f)
{
    static const char *const mark[IPCM_AB_NVERDICTS] = {
        [IPCM_AB_REGRESSION] = ":x: ",
        [IPCM_AB_FAILED] = ":x: ",
        [IPCM_AB_IMPROVEMENT] = ":rocket: ",
        [IPCM_AB_UNDECIDED] = ":grey_question: ",
    };
    char buf[512], a[16], b[16], c[16];
    fprintf(f, "### ipcmark ab: %s\n\n", result_text(run));
    summary_line(run, buf, sizeof(buf));
    fprintf(f, "%s.\n\nBaseline `%s`, current `%s`.\n", buf, run->base_label, run->cur_label);
    method_text(run, buf, sizeof(buf));
    fprintf(f, "%s. Stopped: %s.\n\n", buf, run->stop);
    fprintf(f, "| case | metric | rounds | cost (current/baseline) | interval | verdict |\n"
               "|---|---|---:|---:|---|---|\n");
    for (size_t i = 0; i < run->ncases; i++) {
        const struct ipcm_ab_case *k = &run->cases[i];
        fprintf(f, "| `%s` | %s | %zu | %s | [%s, %s] | %s%s%s%s%s |\n", k->key, k->metric, k->ci.n,
                k->ci.n ? pct(k->ci.estimate, a, sizeof(a)) : "-", pct(k->ci.lo, b, sizeof(b)),
                pct(k->ci.hi, c, sizeof(c)), mark[k->verdict] ? mark[k->verdict] : "",
                ipcm_ab_verdict_name(k->verdict), k->note[0] ? " (" : "", k->note,
                k->note[0] ? ")" : "");
    }
    fprintf(f, "\nCost is %s per message (or per task, or %s); positive is slower.\n",
            run->opts.cpu ? "CPU time" : "time", run->opts.cpu ? "round trip" : "latency");
    return ferror(f) ? -EIO : 0;
}

/* A number for JSON: null where it is not finite. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *case_json(const struct ipcm_ab_run *run, const struct ipcm_ab_case *k)
{
    json_t *rounds = json_array();
    for (size_t i = 0, m = 0; rounds && i < run->nrounds; i++) {
        bool w = run->rounds[i].warmup;
        json_array_append_new(rounds, json_pack("{s:I,s:b,s:o,s:o,s:o}", "round", (json_int_t)i + 1,
                                                "warmup", w, "baseline", num(k->base[i]), "current",
                                                num(k->cur[i]), "ratio",
                                                w ? json_null() : num(exp(k->logr[m]))));
        m += !w;
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "case", k->key, "metric",
                     k->metric, "verdict", ipcm_ab_verdict_name(k->verdict), "note", k->note, "n",
                     (json_int_t)k->ci.n, "decided_at_round", (json_int_t)k->decided_at,
                     "cost_ratio", k->ci.n ? num(exp(k->ci.estimate)) : json_null(), "interval",
                     json_pack("[o,o]", num(exp(k->ci.lo)), num(exp(k->ci.hi))), "interval_level",
                     num(k->ci.level), "rounds", rounds ? rounds : json_null(), "higher_is_better",
                     json_boolean(k->rate));
}

int ipcm_ab_write_json(const struct ipcm_ab_run *run, FILE *f)
{
    json_t *looks = json_array(), *rounds = json_array(), *cases = json_array();
    for (unsigned i = 0; looks && i < run->plan.nlooks; i++)
        json_array_append_new(looks, json_integer((json_int_t)run->plan.look[i]));
    for (size_t i = 0; rounds && i < run->nrounds; i++) {
        const struct ipcm_ab_round *r = &run->rounds[i];
        json_array_append_new(rounds,
                              json_pack("{s:I,s:s,s:b,s:f,s:f}", "round", (json_int_t)i + 1,
                                        "order", r->base_first ? "AB" : "BA", "warmup", r->warmup,
                                        "start_s", r->start_s, "seconds", r->seconds));
    }
    for (size_t i = 0; cases && i < run->ncases; i++)
        json_array_append_new(cases, case_json(run, &run->cases[i]));
    json_t *root = json_pack(
        "{s:s,s:s,s:s,s:{s:f,s:f,s:f,s:I,s:s},s:{s:o,s:f,s:I},s:I,s:I,s:f,s:s,s:o,s:o,s:s,s:b}",
        "schema", "ipcmark-ab/1", "baseline", run->base_label, "current", run->cur_label, "options",
        "threshold", run->opts.threshold, "alpha", run->opts.alpha, "budget_s", run->opts.budget_s,
        "warmup_rounds", (json_int_t)run->opts.warmup_rounds, "metric",
        run->opts.cpu ? "cpu" : "wall", "plan", "looks", looks,
        "interval_level", run->plan.level, "cases", (json_int_t)run->plan.ncases, "rounds_measured",
        (json_int_t)run->measured, "looks_done", (json_int_t)run->looks_done, "wall_s", run->wall_s,
        "stopped", run->stop, "rounds", rounds, "cases", cases, "result", result_text(run),
        "failed", ipcm_ab_failed(run));
    if (!root)
        return -ENOMEM;
    int r = json_dumpf(root, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) < 0 ? -EIO : 0;
    json_decref(root);
    fputc('\n', f);
    return r == 0 && ferror(f) ? -EIO : r;
}

int ipcm_ab_write_plot_data(const struct ipcm_ab_run *run, FILE *f)
{
    for (size_t i = 0; i < run->ncases; i++) {
        const struct ipcm_ab_case *k = &run->cases[i];
        if (i)
            fputs("\n\n", f);
        /* The header row names the block (gnuplot: title columnheader(2)). */
        fprintf(f, "round %s\n", k->key);
        for (size_t r = 0, m = 0; r < run->nrounds; r++) {
            if (run->rounds[r].warmup)
                continue;
            if (isfinite(k->logr[m]))
                fprintf(f, "%zu %.6f\n", r + 1, exp(k->logr[m]));
            m++;
        }
    }
    return ferror(f) ? -EIO : 0;
}
