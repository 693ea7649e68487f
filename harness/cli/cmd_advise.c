/* SPDX-License-Identifier: MIT */
/*
 * cmd_advise.c - `ipcmark advise`: run one workload (size, P producers x C consumers) on
 * every backend and answer "which mechanism?" for a goal, with the margin, the CPU each
 * burns and the limits that rule a backend out; or decide from a saved run (--from).
 */
#include "bench.h"
#include "bench_remote.h"
#include "cli.h"
#include "outfile.h"
#include "remote_net.h"
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
#include <time.h>

#define CMD "advise"
#define ADV_REPEAT 5            /* compare needs 5; so does a median's interval */
#define ADV_MIN_REP_NS 20000000 /* shortest repetition worth timing: 20 ms */
#define ADV_CASE_OVERHEAD_S 0.4 /* spawn, warm-up, verification cost per case */
#define ADV_FIRST_SHARE 0.5     /* of the budget for the first round; the rest separates */
#define ADV_MAX_ROUNDS 10       /* the first round and at most 9 of the leaders alone */

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
    const char *remote, *key_file; /* --remote HOST:PORT: the far sides on a server */
};

/* One backend's standing for the goal. */
struct adv_cand {
    const char *backend;
    const struct ipcm_rr_case *tp;  /* the throughput case of the workload */
    const struct ipcm_rr_case *lat; /* --rate: its open-loop latency case */
    double score, lo, hi;           /* the goal's figure, 95% interval of its median */
    char out[200];                  /* why it is ruled out ("" when it stands) */
    unsigned rounds;                /* rounds of the adaptive sweep it ran in (0: --from) */
};

struct adv_verdict {
    struct adv_cand c[IPCM_BENCH_MAX_BACKENDS * 2];
    size_t n, nstand; /* candidates; the standing ones come first, best first */
    bool clear;       /* the winner's interval does not overlap the runner-up's */
};

/*
 * The adaptive sweep (issue 16): a first round of every backend, then rounds of only the
 * two leaders while their intervals overlap and the budget allows one more.
 */
enum adv_step {
    ADV_STEP_CLEAR,  /* the leaders are separated: stop */
    ADV_STEP_ALONE,  /* fewer than two candidates stand: nothing to separate */
    ADV_STEP_MORE,   /* run the two leaders again */
    ADV_STEP_BUDGET, /* they overlap, but another round would overrun the budget */
    ADV_STEP_ROUNDS, /* they overlap after ADV_MAX_ROUNDS rounds */
};

struct adv_tally {
    unsigned rounds;                /* rounds run; 0 when decided from a file */
    enum adv_step stop;             /* why the sweep stopped */
    char next[2][IPCM_RR_NAME_LEN]; /* the leaders a further round runs ("" none) */
    struct {
        char backend[IPCM_RR_NAME_LEN];
        unsigned rounds;
    } be[IPCM_BENCH_MAX_BACKENDS];
    size_t nbe;
};

static void usage(FILE *f)
{
    fputs("usage: ipcmark advise --size SIZE --producers P --consumers C\n"
          "                      [--goal throughput|latency|cpu] [--rate N/s] [--max-cpus X]\n"
          "                      [--budget S] [-b LIST] [--json FILE] [--from RESULTS.json]\n"
          "                      [--remote HOST:PORT [--key-file F]]\n"
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
          "  --remote H:P    run each candidate that can cross hosts with its far side on\n"
          "                  `ipcmark serve` at H:P (1 producer x 1 consumer; latency is the\n"
          "                  round trip; no CPU figures, so not with --goal cpu, --max-cpus\n"
          "                  or --rate; fixed message counts, --budget unused); the\n"
          "                  local-only backends are ruled out: they cannot cross hosts\n"
          "  --key-file F    the key shared with the server (mode 0600); else IPCMARK_KEY\n"
          "\n"
          "Exit: 0 an answer (possibly: none fits); 1 a remote case failed verification;\n"
          "2 bad input; 3 nothing could run (--remote: no server, busy, key refused).\n",
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
    case 'R': o->remote = arg; return 0;
    case 'k': o->key_file = arg; return 0;
    default: return IPCM_EXIT_USAGE;
    }
}

/* --remote's limits: what the remote protocol can run and measure. Returns 0 or 2. */
static int remote_args_check(const struct adv_opts *o)
{
    if (!o->remote)
        return o->key_file ? ipcm_usage_error(CMD, "--key-file is for --remote HOST:PORT") : 0;
    struct sockaddr_storage ss;
    socklen_t len;
    if (ipcm_net_parse(o->remote, true, &ss, &len) < 0)
        return ipcm_usage_error(CMD, "bad --remote '%s' (want HOST:PORT, e.g. 198.18.0.2:7207)",
                                o->remote);
    if (o->from)
        return ipcm_usage_error(CMD, "--remote runs; --from decides from a file: not both");
    if (o->producers != 1 || o->consumers != 1)
        return ipcm_usage_error(CMD,
                                "--remote runs 1 producer x 1 consumer (the server plays one "
                                "far side), not %ux%u",
                                o->producers, o->consumers);
    if (o->size > IPCM_REMOTE_MAX_SIZE)
        return ipcm_usage_error(CMD, "--size over 16M: the remote protocol's bound");
    if (o->goal == GOAL_CPU || o->max_cpus > 0 || o->rate > 0)
        return ipcm_usage_error(CMD,
                                "%s cannot be used with --remote: a remote run measures no "
                                "CPU time and has no open loop",
                                o->rate > 0           ? "--rate"
                                : o->goal == GOAL_CPU ? "--goal cpu"
                                                      : "--max-cpus");
    return 0;
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
                                       {"remote", required_argument, NULL, 'R'},
                                       {"key-file", required_argument, NULL, 'k'},
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
    return remote_args_check(o);
}

/* --------------------------------------------------------------- decision */

static bool workload_case(const struct ipcm_rr_case *c, const struct adv_opts *o)
{
    return strcmp(c->mode, "throughput") == 0 && c->size == o->size &&
           c->producers == o->producers && c->consumers == o->consumers;
}

/* The latency case beside the workload: --rate's open-loop one, or --remote's round trip. */
static bool rate_case(const struct ipcm_rr_case *c, const struct adv_opts *o, const char *be)
{
    return strcmp(c->mode, "latency") == 0 && strcmp(c->backend, be) == 0 &&
           strcmp(c->shape, o->remote ? "pipe" : "queue") == 0;
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
    if (o->remote && o->goal == GOAL_LATENCY && (!k->lat || k->lat->status != IPCM_RR_OK)) {
        snprintf(k->out, sizeof(k->out), "remote round trip: %.150s",
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
        for (size_t j = 0; (o->rate > 0 || o->remote) && j < res->ncases; j++)
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

/* ------------------------------------------------------- adaptive rounds */

/*
 * next_round - what the sweep does after a round, from the verdict v on the samples so
 * far: stop when the two leaders' intervals are apart (or fewer than two stand), else
 * name the two leaders in next[] (the only cases a further round runs) and run them if
 * a round of theirs fits in left_s, estimated from the last round's cost per case
 * (per_case_s) times the leaders' cases (ncfg each). rounds: those run so far.
 */
static enum adv_step next_round(const struct adv_verdict *v, double left_s, double per_case_s,
                                size_t ncfg, unsigned rounds, char next[2][IPCM_RR_NAME_LEN])
{
    next[0][0] = next[1][0] = 0;
    if (v->nstand < 2)
        return ADV_STEP_ALONE;
    if (v->clear)
        return ADV_STEP_CLEAR;
    for (int i = 0; i < 2; i++)
        snprintf(next[i], IPCM_RR_NAME_LEN, "%s", v->c[i].backend);
    if (rounds >= ADV_MAX_ROUNDS)
        return ADV_STEP_ROUNDS;
    return per_case_s * 2.0 * (double)ncfg <= left_s ? ADV_STEP_MORE : ADV_STEP_BUDGET;
}

/* Append b's samples to a's and summarise them again (the same interval as before, on
 * more samples). Returns 0 or -ENOMEM. */
static int stat_merge(struct ipcm_rr_stat *a, const struct ipcm_rr_stat *b)
{
    if (!b->present || !b->nsamples)
        return 0;
    size_t n = a->nsamples + b->nsamples;
    double *x = realloc(a->samples, n * sizeof(*x));
    if (!x)
        return -ENOMEM;
    memcpy(x + a->nsamples, b->samples, b->nsamples * sizeof(*x));
    a->samples = x;
    a->nsamples = n;
    struct ipcm_summary sum;
    ipcm_stats_summarize(x, n, &sum);
    a->present = true;
    a->median = sum.median, a->min = sum.min, a->max = sum.max, a->mad = sum.mad;
    a->ci_lo = sum.ci_lo, a->ci_hi = sum.ci_hi, a->ci_level = sum.ci_level;
    return 0;
}

static int samples_merge(double **a, size_t *na, const double *b, size_t nb)
{
    if (!nb)
        return 0;
    double *x = realloc(*a, (*na + nb) * sizeof(*x));
    if (!x)
        return -ENOMEM;
    memcpy(x + *na, b, nb * sizeof(*x));
    *a = x;
    *na += nb;
    return 0;
}

/* Pool two rounds' latency: the per-repetition percentiles are appended (the goal ranks
 * by their median); the whole-run percentiles, from two histograms that no longer
 * exist, are weighted by the rounds' message counts, min and max kept exact. */
static int latency_merge(struct ipcm_rr_latency *a, const struct ipcm_rr_latency *b)
{
    if (!b->present)
        return 0;
    if (a->present && a->count + b->count > 0) {
        double wa = (double)a->count / (double)(a->count + b->count), wb = 1 - wa;
        a->p50 = wa * a->p50 + wb * b->p50, a->p90 = wa * a->p90 + wb * b->p90;
        a->p99 = wa * a->p99 + wb * b->p99, a->p999 = wa * a->p999 + wb * b->p999;
        a->mean = wa * a->mean + wb * b->mean;
        a->min = a->min < b->min ? a->min : b->min;
        a->max = a->max > b->max ? a->max : b->max;
        a->count += b->count;
    }
    int r = samples_merge(&a->p50_samples, &a->np50, b->p50_samples, b->np50);
    return r ? r : samples_merge(&a->p99_samples, &a->np99, b->p99_samples, b->np99);
}

/* A later round's case into the same case of the record. A round that failed for a
 * leader adds nothing: its earlier samples stand. */
static int case_merge(struct ipcm_rr_case *a, const struct ipcm_rr_case *b)
{
    if (a->status != IPCM_RR_OK || b->status != IPCM_RR_OK)
        return 0;
    int r = 0;
    struct ipcm_rr_stat *sa[] = {&a->msgs_per_s,     &a->bytes_per_s, &a->tasks_per_s,
                                 &a->cpu_ns_per_msg, &a->csw_per_msg, &a->cpus_busy};
    const struct ipcm_rr_stat *sb[] = {&b->msgs_per_s,     &b->bytes_per_s, &b->tasks_per_s,
                                       &b->cpu_ns_per_msg, &b->csw_per_msg, &b->cpus_busy};
    for (size_t i = 0; i < sizeof(sa) / sizeof(sa[0]) && r == 0; i++)
        r = stat_merge(sa[i], sb[i]);
    if (r == 0)
        r = latency_merge(&a->latency_ns, &b->latency_ns);
    if (r == 0)
        r = latency_merge(&a->oneway_ns, &b->oneway_ns);
    a->repetitions += b->repetitions;
    a->seconds += b->seconds;
    a->verified.messages += b->verified.messages;
    a->verified.lost += b->verified.lost;
    a->verified.duplicated += b->verified.duplicated;
    a->verified.reordered += b->verified.reordered;
    a->verified.corrupt += b->verified.corrupt;
    return r;
}

/* Every case of a later round (the leaders') into the record's same case. */
static int results_merge(struct ipcm_results *res, const struct ipcm_results *more)
{
    for (size_t i = 0; i < more->ncases; i++)
        for (size_t j = 0; j < res->ncases; j++)
            if (ipcm_rr_case_cmp(&res->cases[j], &more->cases[i]) == 0) {
                int r = case_merge(&res->cases[j], &more->cases[i]);
                if (r < 0)
                    return r;
                break;
            }
    return 0;
}

/* Count a round for backend name. */
static void tally_round(struct adv_tally *t, const char *name)
{
    size_t i = 0;
    while (i < t->nbe && strcmp(t->be[i].backend, name) != 0)
        i++;
    if (i == t->nbe) {
        if (t->nbe == sizeof(t->be) / sizeof(t->be[0]))
            return;
        snprintf(t->be[t->nbe++].backend, IPCM_RR_NAME_LEN, "%s", name);
    }
    t->be[i].rounds++;
}

/* The rounds each candidate ran in, from the tally. */
static void tally_apply(const struct adv_tally *t, struct adv_verdict *v)
{
    for (size_t i = 0; i < v->n; i++)
        for (size_t j = 0; j < t->nbe; j++)
            if (strcmp(v->c[i].backend, t->be[j].backend) == 0)
                v->c[i].rounds = t->be[j].rounds;
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
    fprintf(f, "  %zu. %-11s %12s  p99 %9s", rank, k->backend,
            si(c->msgs_per_s.median, "msg/s", a, sizeof(a)), ns_text(p99_of(k), b, sizeof(b)));
    if (c->cpus_busy.present || c->cpu_ns_per_msg.present)
        fprintf(f, "  CPU %9s/msg  %.2g of %ld CPUs",
                ns_text(c->cpu_ns_per_msg.present ? c->cpu_ns_per_msg.median : 0, d, sizeof(d)),
                c->cpus_busy.present ? c->cpus_busy.median : 0.0, cpus);
    else /* a remote run: no CPU time is measured on either host */
        fputs("  CPU not measured", f);
    if (k != best && k->score > 0 && best->score > 0)
        fprintf(f, "  (leader %.2gx)",
                o->goal == GOAL_THROUGHPUT ? best->score / k->score : k->score / best->score);
    fprintf(f, "  %u reps", c->repetitions);
    if (k->rounds > 1)
        fprintf(f, " in %u rounds", k->rounds);
    if (ipcm_backend_caps(ipcm_backend_find(k->backend)) & IPCM_CAP_SPINS)
        fputs("  spins", f);
    fputc('\n', f);
}

/* The separation line: clear, not separated within the budget, or (from a file) which
 * leaders a run would give more repetitions. */
static void print_separation(const struct adv_verdict *v, const struct adv_tally *t, FILE *f)
{
    const struct adv_cand *w = &v->c[0], *r = &v->c[1];
    char rounds[96] = "";
    if (t->rounds > 1)
        snprintf(rounds, sizeof(rounds), " after %u rounds: %s %u reps, %s %u reps", t->rounds,
                 w->backend, w->tp->repetitions, r->backend, r->tp->repetitions);
    if (v->clear)
        fprintf(f, "  separation: clear (the 95%% intervals of the two medians do not overlap%s)\n",
                rounds);
    else if (t->rounds == 0)
        fprintf(f,
                "  separation: NOT clear: the 95%% intervals of the two medians overlap; a run "
                "would repeat only %s and %s until they separate (--budget)\n",
                t->next[0], t->next[1]);
    else
        fprintf(f,
                "  separation: not separated within budget (the 95%% intervals of the two "
                "medians overlap%s%s); a larger --budget may separate them\n",
                rounds[0] ? "" : " after 1 round", rounds);
}

static void print_headline(const struct adv_verdict *v, const struct adv_tally *t,
                           const struct adv_opts *o, FILE *f)
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
        fputs(o->remote ? "\n  the only candidate that can cross hosts: no ranking to make\n"
                        : " (the only backend left)\n",
              f);
        return;
    }
    const struct adv_cand *r = &v->c[1];
    double ratio = o->goal == GOAL_THROUGHPUT ? w->score / r->score : r->score / w->score;
    static const char *const what[] = {"the throughput of", "lower p99 than",
                                       "less CPU per message than"};
    fprintf(f, ": %.2gx %s %s (runner-up)\n", ratio, what[o->goal], r->backend);
    print_separation(v, t, f);
    fprintf(f, "  CPU: %s %s/msg, %.2g CPUs busy; %s %s/msg, %.2g CPUs busy\n", w->backend,
            ns_text(w->tp->cpu_ns_per_msg.median, a, sizeof(a)), w->tp->cpus_busy.median,
            r->backend, ns_text(r->tp->cpu_ns_per_msg.median, b, sizeof(b)),
            r->tp->cpus_busy.median);
}

static void print_caveats(const struct adv_verdict *v, const struct adv_opts *o, FILE *f)
{
    fputs("Caveats:\n", f);
    if (o->remote)
        fprintf(f,
                "  remote: the far side of each case ran on the server at %s; p99 is the "
                "round trip of one message, not one-way; no CPU figures\n",
                o->remote);
    else if (o->rate > 0)
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
                         const struct adv_tally *t, const struct adv_opts *o, FILE *f)
{
    char sz[32];
    fprintf(f, "advise: %s messages, %u producer%s x %u consumer%s, goal %s\n",
            ipcm_format_size(o->size, sz, sizeof(sz)), o->producers, o->producers > 1 ? "s" : "",
            o->consumers, o->consumers > 1 ? "s" : "", goal_names[o->goal]);
    print_headline(v, t, o, f);
    if (v->nstand) {
        fprintf(f, "Ranking (%s):\n", goal_names[o->goal]);
        for (size_t i = 0; i < v->nstand; i++)
            print_row(&v->c[i], i + 1, &v->c[0], o, res->cpus_online, f);
    }
    print_caveats(v, o, f);
    fputc('\n', f);
}

/* ----------------------------------------------------------------- output */

/* The adaptive sweep's record: rounds, why it stopped, what a further round runs. */
static void advice_rounds_json(json_t *a, const struct adv_verdict *v, const struct adv_tally *t)
{
    static const char *const why[] = {"clear", "one candidate", "clear",
                                      "not separated within budget",
                                      "not separated within the round limit"};
    const char *sep = t->rounds == 0 && t->stop == ADV_STEP_MORE ? "not clear" : why[t->stop];
    json_t *next = json_array();
    for (int i = 0; i < 2 && !v->clear; i++)
        if (t->next[i][0])
            json_array_append_new(next, json_string(t->next[i]));
    json_object_set_new(a, "rounds", json_integer(t->rounds));
    json_object_set_new(a, "separation", json_string(sep));
    json_object_set_new(a, "next_round", next);
}

static json_t *advice_json(const struct adv_verdict *v, const struct adv_tally *t,
                           const struct adv_opts *o)
{
    json_t *ranked = json_array(), *out = json_array();
    for (size_t i = 0; i < v->n; i++) {
        const struct adv_cand *k = &v->c[i];
        if (k->out[0]) {
            json_array_append_new(out,
                                  json_pack("{s:s,s:s}", "backend", k->backend, "why", k->out));
            continue;
        }
        json_t *row = json_pack("{s:s,s:f,s:[f,f],s:f,s:f,s:f,s:f,s:i,s:i}", "backend", k->backend,
                                "score", k->score, "score_ci95", k->lo, k->hi, "msgs_per_s",
                                k->tp->msgs_per_s.median, "p99_ns", p99_of(k), "cpu_ns_per_msg",
                                k->tp->cpu_ns_per_msg.median, "cpus_busy", k->tp->cpus_busy.median,
                                "rounds", (int)k->rounds, "repetitions", (int)k->tp->repetitions);
        if (row && o->remote && !k->tp->cpu_ns_per_msg.present) /* not measured, not zero */
            json_object_set_new(row, "cpu_ns_per_msg", json_null());
        if (row && o->remote && !k->tp->cpus_busy.present)
            json_object_set_new(row, "cpus_busy", json_null());
        json_array_append_new(ranked, row);
    }
    json_t *a = json_pack(
        "{s:s,s:I,s:i,s:i,s:s,s:f,s:f,s:b,s:o,s:o}", "goal", goal_names[o->goal], "size",
        (json_int_t)o->size, "producers", (int)o->producers, "consumers", (int)o->consumers, "loop",
        o->rate > 0 ? "closed; open loop for one producer at rate_per_s" : "closed", "rate_per_s",
        o->rate, "max_cpus", o->max_cpus, "clear", v->clear, "ranked", ranked, "ruled_out", out);
    if (a)
        advice_rounds_json(a, v, t);
    if (a && o->remote) /* both hosts and the path are the record's "remote" */
        json_object_set_new(a, "remote", json_string(o->remote));
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
                      const struct adv_tally *t, const struct adv_opts *o)
{
    json_t *root = ipcm_record_json(res);
    if (!root)
        return -ENOMEM;
    json_object_set_new(root, "advice", advice_json(v, t, o));
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
 * The first round: the workload on every backend (and the open-loop case with --rate),
 * ADV_REPEAT repetitions as long as ADV_FIRST_SHARE of the budget allows (all of it when
 * a share is too short for one), at most bench's default 0.2 s; later rounds reuse the
 * configuration for the leaders. Returns 0, or an exit code after printing why.
 */
static int plan(const struct adv_opts *o, struct ipcm_bench_config cfg[2], size_t *ncfg)
{
    size_t ncases = o->nbe * (o->rate > 0 ? 2 : 1);
    double per_case = o->budget_s * ADV_FIRST_SHARE / (double)ncases - ADV_CASE_OVERHEAD_S;
    double rep_s = per_case / (ADV_REPEAT + 1); /* + the warm-up */
    if (rep_s * 1e9 < ADV_MIN_REP_NS) {
        per_case = o->budget_s / (double)ncases - ADV_CASE_OVERHEAD_S;
        rep_s = per_case / (ADV_REPEAT + 1);
    }
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One round: every configuration on its backends, appended to res. Returns 0 or -errno. */
static int run_round(const struct ipcm_bench_config *cfg, size_t ncfg, struct ipcm_results *res)
{
    struct ipcm_bench_run run = {0};
    int r = 0;
    for (size_t i = 0; i < ncfg && r == 0; i++)
        r = ipcm_bench_run(&cfg[i], &run);
    if (r == 0)
        r = ipcm_bench_record(&run, res);
    ipcm_bench_run_free(&run);
    return r;
}

/* Rounds of the two leaders alone (t->next) while next_round says so; each round's
 * samples join the record's. v holds the verdict on all of them. Returns 0 or -errno. */
static int separate(const struct adv_opts *o, struct ipcm_bench_config cfg[2], size_t ncfg,
                    double start, double round_s, size_t round_cases, struct ipcm_results *res,
                    struct adv_verdict *v, struct adv_tally *t)
{
    for (;;) {
        decide(res, o, v);
        t->stop = next_round(v, o->budget_s - (now_s() - start), round_s / (double)round_cases,
                             ncfg, t->rounds, t->next);
        if (t->stop != ADV_STEP_MORE)
            return 0;
        for (size_t i = 0; i < ncfg; i++) {
            cfg[i].backends[0] = ipcm_backend_find(t->next[0]);
            cfg[i].backends[1] = ipcm_backend_find(t->next[1]);
            cfg[i].nbackends = 2;
            if (!cfg[i].backends[0] || !cfg[i].backends[1])
                return 0; /* not a backend this process can run again */
        }
        struct ipcm_results more;
        memset(&more, 0, sizeof(more));
        double t0 = now_s();
        int r = run_round(cfg, ncfg, &more);
        if (r == 0)
            r = results_merge(res, &more);
        ipcm_record_fini(&more);
        if (r < 0)
            return r;
        round_s = now_s() - t0, round_cases = 2 * ncfg;
        t->rounds++;
        tally_round(t, t->next[0]);
        tally_round(t, t->next[1]);
    }
}

static int run_sweep(const struct adv_opts *o, struct ipcm_results *res, struct adv_verdict *v,
                     struct adv_tally *t)
{
    struct ipcm_bench_config cfg[2];
    size_t ncfg = 0;
    int r = plan(o, cfg, &ncfg);
    if (r)
        return r;
    ipcm_record_init(res);
    ipcm_load_sample(&res->load[0]);
    double start = now_s();
    r = run_round(cfg, ncfg, res);
    if (r == 0) {
        t->rounds = 1;
        for (size_t i = 0; i < o->nbe; i++)
            tally_round(t, ipcm_backend_name(o->be[i]));
        r = separate(o, cfg, ncfg, start, now_s() - start, o->nbe * ncfg, res, v, t);
    }
    ipcm_load_sample(&res->load[1]);
    if (r < 0) {
        fprintf(stderr, "ipcmark advise: %s\n", ipcm_strerror(r));
        ipcm_record_fini(res);
        return IPCM_EXIT_ENV;
    }
    return 0;
}

/* Message counts per repetition for --remote: the remote cases run by count, not time;
 * about 32 MiB a throughput repetition and 8 MiB of round trips, within bounds. */
static uint64_t remote_count(uint64_t bytes, uint64_t size, uint64_t lo, uint64_t hi)
{
    uint64_t n = bytes / size;
    return n < lo ? lo : n > hi ? hi : n;
}

/*
 * run_remote - the workload (throughput) and its round trip (latency) on every candidate
 * that can cross hosts, their far side on the server (bench --remote's run); the others
 * are skipped cases that rule() lists as ruled out. One round: with the server's single
 * far side (tcp) there is nothing to separate. Returns 0, or an exit code (the run's own
 * when it failed to connect; *remote_code the run's exit code otherwise).
 */
static int run_remote(const struct adv_opts *o, struct ipcm_results *res, struct adv_tally *t,
                      int *remote_code)
{
    struct ipcm_remote_key key;
    char why[300];
    if (ipcm_remote_key_load(o->key_file, &key, why, sizeof(why)) < 0) {
        fprintf(stderr, "ipcmark advise: %s\n", why);
        return IPCM_EXIT_USAGE;
    }
    const enum ipcm_remote_mode modes[2] = {IPCM_RM_THROUGHPUT, IPCM_RM_LATENCY};
    struct ipcm_remote_plan p = {.cmd = CMD,
                                 .remote = o->remote,
                                 .key = &key,
                                 .be = o->be,
                                 .nbe = (int)o->nbe,
                                 .modes = modes,
                                 .nmodes = 2,
                                 .sizes = &o->size,
                                 .nsizes = 1,
                                 .lat_messages = remote_count(8u << 20, o->size, 20, 1000),
                                 .tp_messages = remote_count(32u << 20, o->size, 20, 20000),
                                 .repeat = ADV_REPEAT,
                                 .timeout_ms = 10000};
    FILE *out = o->json && strcmp(o->json, "-") == 0 ? stderr : stdout;
    *remote_code = ipcm_remote_bench(&p, res, out);
    if (!res->remote_json) { /* no connection: its one line is printed */
        ipcm_record_fini(res);
        return *remote_code;
    }
    t->rounds = 1;
    for (size_t i = 0; i < o->nbe; i++)
        tally_round(t, ipcm_backend_name(o->be[i]));
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
    static struct adv_verdict v; /* large: one per process, not on the stack */
    static struct adv_tally t;
    memset(&t, 0, sizeof(t));
    int remote_code = 0;
    if (o.remote) {
        if ((r = run_remote(&o, &own, &t, &remote_code)))
            return r;
    } else if (o.from) {
        char err[256];
        if (ipcm_results_load(o.from, &res, err, sizeof(err)) < 0)
            return ipcm_usage_error(CMD, "--from %s: %s", o.from, err);
    } else if ((r = run_sweep(&o, &own, &v, &t))) {
        return r;
    }
    decide(res, &o, &v);
    if (o.from || o.remote) /* no run, or no second: what the sweep would do next */
        t.stop = next_round(&v, INFINITY, 0, 1, o.remote ? ADV_MAX_ROUNDS : 1, t.next);
    tally_apply(&t, &v);
    FILE *f = o.json && strcmp(o.json, "-") == 0 ? stderr : stdout;
    print_advice(res, &v, &t, &o, f);
    ipcm_record_print_table(res, f);
    fflush(f);
    int code = v.n ? IPCM_EXIT_OK : IPCM_EXIT_ENV;
    if (remote_code == IPCM_EXIT_FAIL || (remote_code && code == IPCM_EXIT_OK))
        code = remote_code; /* a failed verification, or a lost connection, is said */
    if (!v.n)
        fprintf(stderr, "ipcmark advise: no case of this workload %s\n",
                o.from ? "in the file" : "could run");
    if (o.json && (r = write_json(res, &v, &t, &o)) < 0) {
        fprintf(stderr, "ipcmark advise: cannot write --json %s: %s\n", o.json,
                ipcm_file_strerror(r));
        code = IPCM_EXIT_ENV;
    }
    if (o.from)
        ipcm_results_free(res);
    else {
        json_decref(res->remote_json);
        ipcm_record_fini(res);
    }
    return code;
}
