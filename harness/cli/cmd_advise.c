/* SPDX-License-Identifier: MIT */
/*
 * cmd_advise.c - `ipcmark advise`: run one workload (size, P producers x C consumers) on
 * every backend and answer "which mechanism?" for a goal, with the margin, the CPU each
 * burns and the limits that rule a backend out; or decide from a saved run (--from).
 */
#include "bench.h"
#include "cli.h"
#include "outfile.h"
#include "results.h"
#include "results_read.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "advise"
#define ADV_REPEAT 5            /* compare needs 5; so does a median's interval */
#define ADV_MIN_REP_NS 20000000 /* shortest repetition worth timing: 20 ms */
#define ADV_CASE_OVERHEAD_S 0.4 /* spawn, warm-up, verification cost per case */

enum adv_goal { GOAL_THROUGHPUT, GOAL_LATENCY, GOAL_CPU };
static const char *const goal_names[] = {"throughput", "latency", "cpu"};

struct adv_opts {
    uint64_t size;
    unsigned producers, consumers;
    enum adv_goal goal;
    double rate;     /* > 0: open-loop latency at this rate (one producer) */
    double max_cpus; /* > 0: rule out what keeps more CPUs busy */
    double budget_s;
    const struct ipcm_backend *be[IPCM_BENCH_MAX_BACKENDS];
    size_t nbe;
    const char *json, *from;
};

/* One backend's standing for the goal. */
struct adv_cand {
    const char *backend;
    const struct ipcm_rr_case *tp;  /* the throughput case of the workload */
    const struct ipcm_rr_case *lat; /* --rate: its open-loop latency case */
    double score, lo, hi;           /* the goal's figure, 95% interval of its median */
    char out[200];                  /* why it is ruled out ("" when it stands) */
};

struct adv_verdict {
    struct adv_cand c[IPCM_BENCH_MAX_BACKENDS * 2];
    size_t n, nstand; /* candidates; the standing ones come first, best first */
    bool clear;       /* the winner's interval does not overlap the runner-up's */
};

static void usage(FILE *f)
{
    fputs("usage: ipcmark advise --size SIZE --producers P --consumers C\n"
          "                      [--goal throughput|latency|cpu] [--rate N/s] [--max-cpus X]\n"
          "                      [--budget S] [-b LIST] [--json FILE] [--from RESULTS.json]\n"
          "\n"
          "Which IPC mechanism for this workload? Runs P producers x C consumers moving\n"
          "SIZE-byte messages on every backend (closed loop), ranks them for the goal and\n"
          "prints the recommendation, its margin as a ratio, the CPU each burns and the\n"
          "limits that rule a backend out, then the full table.\n"
          "\n"
          "  --goal G        throughput (default): msg/s; latency: one-way p99 under the\n"
          "                  workload (with --rate: open-loop p99 at that rate); cpu: CPU\n"
          "                  ns per message\n"
          "  --rate N/s      also measure one producer sending at N/s, open loop (several\n"
          "                  producers stay closed loop); a backend whose closed-loop\n"
          "                  throughput is below N saturates and is ruled out\n"
          "  --max-cpus X    rule out backends that keep more than X CPUs busy\n"
          "  --budget S      seconds for the whole sweep (default 30)\n"
          "  -b, --backends  backends to run, or 'all' (default all)\n"
          "  --json FILE     the bench schema plus \"advice\" ('-': stdout)\n"
          "  --from FILE     decide from a saved bench run instead of running\n"
          "\n"
          "Exit: 0 an answer (possibly: none fits); 2 bad input; 3 nothing could run.\n",
          f);
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end == 's' && end[1] == 0)
        end++;
    if (errno || end == s || *end || !(v >= lo) || !(v <= hi))
        return -EINVAL;
    *out = v;
    return 0;
}

static int one_option(int c, const char *arg, struct adv_opts *o)
{
    long long n;
    switch (c) {
    case 's':
        if (ipcm_parse_size(arg, &o->size) < 0 || o->size == 0 || o->size > (UINT64_C(1) << 30))
            return ipcm_usage_error(CMD, "--size '%s': a size from 1 to 1G", arg);
        return 0;
    case 'P':
    case 'C':
        if (ipcm_parse_count(arg, 1, c == 'P' ? IPCM_BENCH_MAX_PRODUCERS : 255, &n) < 0)
            return ipcm_usage_error(CMD, "--%s '%s': a count from 1 to 255",
                                    c == 'P' ? "producers" : "consumers", arg);
        *(c == 'P' ? &o->producers : &o->consumers) = (unsigned)n;
        return 0;
    case 'g':
        for (int i = 0; i < 3; i++)
            if (strcmp(arg, goal_names[i]) == 0) {
                o->goal = (enum adv_goal)i;
                return 0;
            }
        return ipcm_usage_error(CMD, "unknown goal '%s' (valid: throughput, latency, cpu)", arg);
    case 'r':
        if (ipcm_parse_rate(arg, &o->rate) < 0)
            return ipcm_usage_error(CMD, "--rate '%s': messages per second, e.g. 10000/s", arg);
        return 0;
    case 'm':
        if (parse_double(arg, 0.01, 4096, &o->max_cpus) < 0)
            return ipcm_usage_error(CMD, "--max-cpus '%s': a number of CPUs, e.g. 1.5", arg);
        return 0;
    case 't':
        if (parse_double(arg, 0.001, 86400, &o->budget_s) < 0)
            return ipcm_usage_error(CMD, "--budget '%s': seconds, e.g. 30s", arg);
        return 0;
    case 'b': {
        int nb = ipcm_backends_arg(CMD, arg, o->be, IPCM_BENCH_MAX_BACKENDS);
        if (nb < 0)
            return -nb;
        o->nbe = (size_t)nb;
        return 0;
    }
    case 'j': o->json = arg; return 0;
    case 'f': o->from = arg; return 0;
    default: return IPCM_EXIT_USAGE;
    }
}

/* Returns 0, -1 after --help, or an exit code after printing the error. */
static int parse_args(int argc, char **argv, struct adv_opts *o)
{
    static const struct option lo[] = {{"size", required_argument, NULL, 's'},
                                       {"producers", required_argument, NULL, 'P'},
                                       {"consumers", required_argument, NULL, 'C'},
                                       {"goal", required_argument, NULL, 'g'},
                                       {"rate", required_argument, NULL, 'r'},
                                       {"max-cpus", required_argument, NULL, 'm'},
                                       {"budget", required_argument, NULL, 't'},
                                       {"backends", required_argument, NULL, 'b'},
                                       {"json", required_argument, NULL, 'j'},
                                       {"from", required_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c, r;
    *o = (struct adv_opts){.budget_s = 30};
    ipcm_getopt_begin();
    while ((c = getopt_long(argc, argv, ":b:h", lo, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            return ipcm_option_error(CMD, c, argc, argv);
        if ((r = one_option(c, optarg, o)) != 0)
            return r;
    }
    if (optind < argc)
        return ipcm_usage_error(CMD, "unexpected argument '%s' (try --help)", argv[optind]);
    if (!o->size || !o->producers || !o->consumers)
        return ipcm_usage_error(CMD, "--size, --producers and --consumers are required");
    if (o->producers + o->consumers > IPCM_BENCH_MAX_WORKERS)
        return ipcm_usage_error(CMD, "%u producers + %u consumers: at most %d workers",
                                o->producers, o->consumers, IPCM_BENCH_MAX_WORKERS);
    if (!o->nbe)
        for (size_t i = 0; i < ipcm_backend_count() && o->nbe < IPCM_BENCH_MAX_BACKENDS; i++)
            o->be[o->nbe++] = ipcm_backend_at(i);
    return 0;
}

/* --------------------------------------------------------------- decision */

static bool workload_case(const struct ipcm_rr_case *c, const struct adv_opts *o)
{
    return strcmp(c->mode, "throughput") == 0 && c->size == o->size &&
           c->producers == o->producers && c->consumers == o->consumers;
}

static bool rate_case(const struct ipcm_rr_case *c, const struct adv_opts *o, const char *be)
{
    (void)o;
    return strcmp(c->mode, "latency") == 0 && strcmp(c->backend, be) == 0 &&
           strcmp(c->shape, "queue") == 0;
}

/* The median and its interval from a metric's samples (the reader leaves ci95 out). */
static bool figure(const double *s, size_t n, double median, struct adv_cand *k)
{
    if (!n) {
        k->score = k->lo = k->hi = median;
        return median > 0;
    }
    struct ipcm_summary sum;
    ipcm_stats_summarize(s, n, &sum);
    k->score = sum.median, k->lo = sum.ci_lo, k->hi = sum.ci_hi;
    return true;
}

/* The goal's figure of k; false (with k->out set) when it has none. */
static bool score(struct adv_cand *k, const struct adv_opts *o)
{
    const struct ipcm_rr_case *c = k->tp;
    if (o->goal == GOAL_THROUGHPUT)
        return figure(c->msgs_per_s.samples, c->msgs_per_s.nsamples, c->msgs_per_s.median, k);
    if (o->goal == GOAL_CPU) {
        if (figure(c->cpu_ns_per_msg.samples, c->cpu_ns_per_msg.nsamples, c->cpu_ns_per_msg.median,
                   k) &&
            c->cpu_ns_per_msg.present)
            return true;
        snprintf(k->out, sizeof(k->out), "no CPU figures in this result");
        return false;
    }
    const struct ipcm_rr_latency *l = k->lat                 ? &k->lat->latency_ns
                                      : c->oneway_ns.present ? &c->oneway_ns
                                                             : &c->latency_ns;
    if (!l->present || !(l->p99 > 0)) {
        snprintf(k->out, sizeof(k->out), "no latency figures in this result");
        return false;
    }
    return figure(l->p99_samples, l->np99, l->p99, k);
}

/* Why the case rules its backend out, in k->out; "" when it stands. */
static void rule(struct adv_cand *k, const struct adv_opts *o)
{
    const struct ipcm_rr_case *c = k->tp;
    if (c->status != IPCM_RR_OK) {
        snprintf(k->out, sizeof(k->out), "%s: %.170s", ipcm_rr_status_name(c->status),
                 c->reason[0] ? c->reason : "no reason recorded");
        return;
    }
    if (o->max_cpus > 0 && c->cpus_busy.present && c->cpus_busy.median > o->max_cpus) {
        snprintf(k->out, sizeof(k->out), "keeps %.2g CPUs busy, over --max-cpus %g",
                 c->cpus_busy.median, o->max_cpus);
        return;
    }
    if (o->rate > 0 && c->msgs_per_s.median < o->rate) {
        snprintf(k->out, sizeof(k->out), "saturates: %.3g msg/s closed loop, under --rate %g/s",
                 c->msgs_per_s.median, o->rate);
        return;
    }
    if (o->rate > 0 && o->goal == GOAL_LATENCY && (!k->lat || k->lat->status != IPCM_RR_OK)) {
        snprintf(k->out, sizeof(k->out), "open loop at %g/s: %.150s", o->rate,
                 k->lat ? k->lat->reason : "not measured");
        return;
    }
    score(k, o);
}

static int cand_cmp(const void *pa, const void *pb)
{
    const struct adv_cand *a = pa, *b = pb;
    if (!a->out[0] != !b->out[0])
        return a->out[0] ? 1 : -1; /* standing ones first */
    if (a->out[0])
        return strcmp(a->backend, b->backend);
    /* The sign of the goal is set by the caller through the scores (see decide). */
    return a->score < b->score ? 1 : a->score > b->score ? -1 : strcmp(a->backend, b->backend);
}

/*
 * decide - the candidates of the workload in res, ruled and ranked for o->goal. Lower-
 * is-better goals are ranked on negated scores, then restored.
 */
static void decide(const struct ipcm_results *res, const struct adv_opts *o, struct adv_verdict *v)
{
    bool lower = o->goal != GOAL_THROUGHPUT;
    memset(v, 0, sizeof(*v));
    for (size_t i = 0; i < res->ncases && v->n < sizeof(v->c) / sizeof(v->c[0]); i++) {
        const struct ipcm_rr_case *c = &res->cases[i];
        if (!workload_case(c, o))
            continue;
        struct adv_cand *k = &v->c[v->n++];
        k->backend = c->backend;
        k->tp = c;
        for (size_t j = 0; o->rate > 0 && j < res->ncases; j++)
            if (rate_case(&res->cases[j], o, c->backend))
                k->lat = &res->cases[j];
        rule(k, o);
        if (lower && !k->out[0])
            k->score = -k->score, k->lo = -k->lo, k->hi = -k->hi;
    }
    qsort(v->c, v->n, sizeof(v->c[0]), cand_cmp);
    for (size_t i = 0; i < v->n; i++) {
        struct adv_cand *k = &v->c[i];
        if (k->out[0])
            continue;
        v->nstand++;
        if (lower) {
            double lo = -k->hi, hi = -k->lo;
            k->score = -k->score, k->lo = lo, k->hi = hi;
        }
    }
    if (v->nstand >= 2) {
        const struct adv_cand *a = &v->c[0], *b = &v->c[1];
        v->clear = lower ? a->hi < b->lo : a->lo > b->hi;
    }
}

/* --------------------------------------------------------------- printing */

static const char *si(double v, const char *unit, char *buf, size_t len)
{
    static const char *const pre[] = {"", "k", "M", "G"};
    int i = 0;
    while (i < 3 && fabs(v) >= 1000)
        v /= 1000, i++;
    snprintf(buf, len, "%.3g %s%s", v, pre[i], unit);
    return buf;
}

static const char *ns_text(double ns, char *buf, size_t len)
{
    if (!(ns > 0))
        snprintf(buf, len, "-");
    else if (ns < 1000)
        snprintf(buf, len, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, len, "%.3g us", ns / 1e3);
    else
        snprintf(buf, len, "%.3g ms", ns / 1e6);
    return buf;
}

/* The p99 the latency goal ranks by, or 0. */
static double p99_of(const struct adv_cand *k)
{
    if (k->lat && k->lat->latency_ns.present)
        return k->lat->latency_ns.p99;
    if (k->tp->oneway_ns.present)
        return k->tp->oneway_ns.p99;
    return k->tp->latency_ns.present ? k->tp->latency_ns.p99 : 0;
}

/* One ranking row: throughput, latency and CPU cost side by side. */
static void print_row(const struct adv_cand *k, size_t rank, const struct adv_cand *best,
                      const struct adv_opts *o, long cpus, FILE *f)
{
    const struct ipcm_rr_case *c = k->tp;
    char a[32], b[32], d[32];
    fprintf(f, "  %zu. %-11s %12s  p99 %9s  CPU %9s/msg  %.2g of %ld CPUs", rank, k->backend,
            si(c->msgs_per_s.median, "msg/s", a, sizeof(a)), ns_text(p99_of(k), b, sizeof(b)),
            ns_text(c->cpu_ns_per_msg.present ? c->cpu_ns_per_msg.median : 0, d, sizeof(d)),
            c->cpus_busy.present ? c->cpus_busy.median : 0.0, cpus);
    if (k != best && k->score > 0 && best->score > 0)
        fprintf(f, "  (leader %.2gx)",
                o->goal == GOAL_THROUGHPUT ? best->score / k->score : k->score / best->score);
    if (ipcm_backend_caps(ipcm_backend_find(k->backend)) & IPCM_CAP_SPINS)
        fputs("  spins", f);
    fputc('\n', f);
}

static void print_headline(const struct adv_verdict *v, const struct adv_opts *o, FILE *f)
{
    const struct adv_cand *w = &v->c[0];
    char a[32], b[32];
    if (!v->nstand) {
        fprintf(f, "Recommendation: none of the %zu backends fits this workload (see below).\n",
                v->n);
        return;
    }
    fprintf(f, "Recommendation: %s", w->backend);
    if (o->goal == GOAL_THROUGHPUT)
        fprintf(f, ", %s", si(w->score, "msg/s", a, sizeof(a)));
    else
        fprintf(f, ", %s %s", o->goal == GOAL_CPU ? "CPU per message" : "p99",
                ns_text(w->score, a, sizeof(a)));
    if (v->nstand < 2) {
        fputs(" (the only backend left)\n", f);
        return;
    }
    const struct adv_cand *r = &v->c[1];
    double ratio = o->goal == GOAL_THROUGHPUT ? w->score / r->score : r->score / w->score;
    static const char *const what[] = {"the throughput of", "lower p99 than",
                                       "less CPU per message than"};
    fprintf(f, ": %.2gx %s %s (runner-up)\n", ratio, what[o->goal], r->backend);
    fprintf(f, "  separation: %s\n",
            v->clear ? "clear (the 95% intervals of the two medians do not overlap)"
                     : "NOT clear: the 95% intervals of the two medians overlap; run with a "
                       "larger --budget");
    fprintf(f, "  CPU: %s %s/msg, %.2g CPUs busy; %s %s/msg, %.2g CPUs busy\n", w->backend,
            ns_text(w->tp->cpu_ns_per_msg.median, a, sizeof(a)), w->tp->cpus_busy.median,
            r->backend, ns_text(r->tp->cpu_ns_per_msg.median, b, sizeof(b)),
            r->tp->cpus_busy.median);
}

static void print_caveats(const struct adv_verdict *v, const struct adv_opts *o, FILE *f)
{
    fputs("Caveats:\n", f);
    if (o->rate > 0)
        fprintf(f,
                "  --rate: one producer sent at %g/s open loop (p99 from the intended send "
                "time); the %ux%u figures are closed loop\n",
                o->rate, o->producers, o->consumers);
    else
        fprintf(f,
                "  closed loop: %u producer%s send as fast as the backend takes them; p99 "
                "is one-way under that load\n",
                o->producers, o->producers > 1 ? "s" : "");
    for (size_t i = 0; i < v->nstand && i < 2; i++) {
        const struct adv_cand *k = &v->c[i];
        if (ipcm_backend_caps(ipcm_backend_find(k->backend)) & IPCM_CAP_SPINS)
            fprintf(f,
                    "  %s spins before it sleeps: it keeps %.2g CPUs busy here, CPU a busy "
                    "server may need (--goal cpu or --max-cpus to weigh it)\n",
                    k->backend, k->tp->cpus_busy.median);
    }
    for (size_t i = v->nstand; i < v->n; i++)
        fprintf(f, "  %s ruled out: %s\n", v->c[i].backend, v->c[i].out);
}

static void print_advice(const struct ipcm_results *res, const struct adv_verdict *v,
                         const struct adv_opts *o, FILE *f)
{
    char sz[32];
    fprintf(f, "advise: %s messages, %u producer%s x %u consumer%s, goal %s\n",
            ipcm_format_size(o->size, sz, sizeof(sz)), o->producers, o->producers > 1 ? "s" : "",
            o->consumers, o->consumers > 1 ? "s" : "", goal_names[o->goal]);
    print_headline(v, o, f);
    if (v->nstand) {
        fprintf(f, "Ranking (%s):\n", goal_names[o->goal]);
        for (size_t i = 0; i < v->nstand; i++)
            print_row(&v->c[i], i + 1, &v->c[0], o, res->cpus_online, f);
    }
    print_caveats(v, o, f);
    fputc('\n', f);
}

/* ----------------------------------------------------------------- output */

static json_t *advice_json(const struct adv_verdict *v, const struct adv_opts *o)
{
    json_t *ranked = json_array(), *out = json_array();
    for (size_t i = 0; i < v->n; i++) {
        const struct adv_cand *k = &v->c[i];
        if (k->out[0]) {
            json_array_append_new(out,
                                  json_pack("{s:s,s:s}", "backend", k->backend, "why", k->out));
            continue;
        }
        json_array_append_new(
            ranked, json_pack("{s:s,s:f,s:[f,f],s:f,s:f,s:f,s:f}", "backend", k->backend, "score",
                              k->score, "score_ci95", k->lo, k->hi, "msgs_per_s",
                              k->tp->msgs_per_s.median, "p99_ns", p99_of(k), "cpu_ns_per_msg",
                              k->tp->cpu_ns_per_msg.median, "cpus_busy", k->tp->cpus_busy.median));
    }
    json_t *a = json_pack(
        "{s:s,s:I,s:i,s:i,s:s,s:f,s:f,s:b,s:o,s:o}", "goal", goal_names[o->goal], "size",
        (json_int_t)o->size, "producers", (int)o->producers, "consumers", (int)o->consumers, "loop",
        o->rate > 0 ? "closed; open loop for one producer at rate_per_s" : "closed", "rate_per_s",
        o->rate, "max_cpus", o->max_cpus, "clear", v->clear, "ranked", ranked, "ruled_out", out);
    if (a && v->nstand) {
        json_object_set_new(a, "winner", json_string(v->c[0].backend));
        if (v->nstand > 1) {
            const struct adv_cand *w = &v->c[0], *r = &v->c[1];
            json_object_set_new(a, "runner_up", json_string(r->backend));
            json_object_set_new(
                a, "ratio",
                json_real(o->goal == GOAL_THROUGHPUT ? w->score / r->score : r->score / w->score));
        }
    }
    return a;
}

static int write_json(const struct ipcm_results *res, const struct adv_verdict *v,
                      const struct adv_opts *o)
{
    json_t *root = ipcm_record_json(res);
    if (!root)
        return -ENOMEM;
    json_object_set_new(root, "advice", advice_json(v, o));
    int r = 0;
    if (strcmp(o->json, "-") == 0) {
        r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0 ? -EIO : 0;
        fputc('\n', stdout);
        r = fflush(stdout) || r ? -EIO : 0;
    } else {
        struct ipcm_outfile of;
        if ((r = ipcm_outfile_open(&of, o->json)) == 0) {
            if (json_dumpf(root, of.f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0) {
                ipcm_outfile_abort(&of);
                r = -EIO;
            } else {
                fputc('\n', of.f);
                r = ipcm_outfile_commit(&of);
            }
        }
    }
    json_decref(root);
    return r;
}

/* ---------------------------------------------------------------- running */

/*
 * The sweep: the workload on every backend (and the open-loop case with --rate),
 * repetitions as long as the budget allows, at most bench's default 0.2 s. Returns 0,
 * or an exit code after printing why.
 */
static int plan(const struct adv_opts *o, struct ipcm_bench_config cfg[2], size_t *ncfg)
{
    size_t ncases = o->nbe * (o->rate > 0 ? 2 : 1);
    double per_case = o->budget_s / (double)ncases - ADV_CASE_OVERHEAD_S;
    double rep_s = per_case / (ADV_REPEAT + 1); /* + the warm-up */
    double need = (double)ncases * (ADV_CASE_OVERHEAD_S + (ADV_REPEAT + 1) * ADV_MIN_REP_NS / 1e9);
    if (rep_s * 1e9 < ADV_MIN_REP_NS)
        return ipcm_usage_error(CMD,
                                "--budget %gs is too small to run a repetition: %zu case%s need "
                                "at least %.1fs",
                                o->budget_s, ncases, ncases > 1 ? "s" : "", need);
    if (rep_s > 0.2)
        rep_s = 0.2;
    ipcm_bench_config_defaults(&cfg[0]);
    cfg[0].mode = "throughput";
    memcpy(cfg[0].backends, o->be, o->nbe * sizeof(o->be[0]));
    cfg[0].nbackends = o->nbe;
    cfg[0].sizes[0] = o->size, cfg[0].nsizes = 1;
    cfg[0].producers[0] = o->producers, cfg[0].nproducers = 1;
    cfg[0].consumers[0] = o->consumers, cfg[0].nconsumers = 1;
    cfg[0].messages = 0;
    cfg[0].duration_ns = (uint64_t)(rep_s * 1e9);
    cfg[0].warmup_ns = cfg[0].duration_ns;
    cfg[0].repeat = ADV_REPEAT;
    *ncfg = 1;
    if (o->rate > 0) {
        cfg[1] = cfg[0];
        cfg[1].mode = "latency";
        cfg[1].rate_per_s = o->rate;
        /* The send time travels in the message: at least its 24-byte header. */
        cfg[1].sizes[0] = o->size < 24 ? 24 : o->size;
        *ncfg = 2;
    }
    return 0;
}

static int run_sweep(const struct adv_opts *o, struct ipcm_results *res)
{
    struct ipcm_bench_config cfg[2];
    struct ipcm_bench_run run = {0};
    size_t ncfg = 0;
    int r = plan(o, cfg, &ncfg);
    if (r)
        return r;
    ipcm_record_init(res);
    ipcm_load_sample(&res->load[0]);
    for (size_t i = 0; i < ncfg && r == 0; i++)
        r = ipcm_bench_run(&cfg[i], &run);
    ipcm_load_sample(&res->load[1]);
    if (r == 0)
        r = ipcm_bench_record(&run, res);
    ipcm_bench_run_free(&run);
    if (r < 0) {
        fprintf(stderr, "ipcmark advise: %s\n", ipcm_strerror(r));
        ipcm_record_fini(res);
        return IPCM_EXIT_ENV;
    }
    return 0;
}

int ipcm_cmd_advise(int argc, char **argv)
{
    struct adv_opts o;
    int r = parse_args(argc, argv, &o);
    if (r < 0)
        return IPCM_EXIT_OK;
    if (r > 0)
        return r;
    if ((r = ipcm_output_probe(CMD, "--json", o.json)))
        return r;
    struct ipcm_results own, *res = &own;
    if (o.from) {
        char err[256];
        if (ipcm_results_load(o.from, &res, err, sizeof(err)) < 0)
            return ipcm_usage_error(CMD, "--from %s: %s", o.from, err);
    } else if ((r = run_sweep(&o, &own))) {
        return r;
    }
    static struct adv_verdict v; /* large: one per process, not on the stack */
    decide(res, &o, &v);
    FILE *f = o.json && strcmp(o.json, "-") == 0 ? stderr : stdout;
    print_advice(res, &v, &o, f);
    ipcm_record_print_table(res, f);
    fflush(f);
    int code = v.n ? IPCM_EXIT_OK : IPCM_EXIT_ENV;
    if (!v.n)
        fprintf(stderr, "ipcmark advise: no case of this workload %s\n",
                o.from ? "in the file" : "could run");
    if (o.json && (r = write_json(res, &v, &o)) < 0) {
        fprintf(stderr, "ipcmark advise: cannot write --json %s: %s\n", o.json,
                ipcm_file_strerror(r));
        code = IPCM_EXIT_ENV;
    }
    if (o.from)
        ipcm_results_free(res);
    else
        ipcm_record_fini(res);
    return code;
}
