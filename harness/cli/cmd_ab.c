/* SPDX-License-Identifier: MIT */
/*
 * cmd_ab.c - `ipcmark ab`: the paired A/B regression gate. Runs a baseline and a
 * current ipcmark build interleaved (A B, B A, ...), one repetition of every case per
 * round, and decides each case on the per-round cost ratios (harness/report/ab.h).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ab.h"
#include "ab_child.h"
#include "base.h"
#include "outfile.h"
#include "results_read.h"

static const char ab_usage[] =
    "usage: ipcmark ab --baseline PATH [--current PATH] [--budget S] [--threshold PCT]\n"
    "                  [--metric cpu|wall]\n"
    "       ipcmark ab --baseline-plugin OLD.so --current-plugin NEW.so [options]\n"
    "                  [--alpha P] [--format table|markdown|json] [--json FILE] [--plot DIR]\n"
    "                  [bench options: -b LIST, --mode, --sizes, --pairs, --producers,\n"
    "                   --consumers, --workers, --chunk, --duration, --messages, --pin,\n"
    "                   --rate, --timeout, --verify, --warmup]\n"
    "\n"
    "Paired A/B regression gate: run the cases of `ipcmark bench` with two ipcmark\n"
    "binaries interleaved in the same time window, one repetition of every case per\n"
    "round, the order alternating (A B, B A, ...) so that a linear drift of the machine\n"
    "cancels, and decide each case on its per-round cost ratios current/baseline (CPU\n"
    "time per message, task or round trip; with --metric wall, wall time per message or\n"
    "task, or latency p50): a Hodges-Lehmann estimate and a Wilcoxon\n"
    "signed-rank interval of the log ratios. It stops when every case is decided or the\n"
    "budget is spent. The rounds are planned after the warm-up from the budget, with up\n"
    "to 4 looks at the data; each interval is at level 1 - 2 alpha / (looks x cases), so\n"
    "that the chance of any false regression in the whole comparison stays below alpha\n"
    "(Bonferroni), however early it stops.\n"
    "\n";
/* The options (one string would pass the 4095 characters C99 promises). */
static const char ab_usage_options[] =
    "  --baseline PATH    the ipcmark binary to compare against (required)\n"
    "  --current PATH     the binary under test (default: this one)\n"
    "  --baseline-plugin OLD.so, --current-plugin NEW.so\n"
    "                     guard your own backend: two builds of one plugin (the same\n"
    "                     backend name), each side's bench runs -b with its own file;\n"
    "                     the binary is --baseline/--current if given, else this one\n"
    "  --budget S         wall-clock seconds for the whole comparison (default 60)\n"
    "  --threshold PCT    smallest change that matters, in percent (default 5)\n"
    "  --alpha P          false-regression rate of the comparison (default 0.05)\n"
    "  --metric M         cpu (default): judge the CPU time per message, task or round\n"
    "                     trip of all the case's processes, which other load on the\n"
    "                     machine barely moves; wall: judge throughput or latency p50,\n"
    "                     which also sees waiting (a sleep, a missed wake-up) but\n"
    "                     stretches with every other process sharing the CPU\n"
    "  --warmup-rounds N  rounds run first and dropped (default 1, at least 1: it also\n"
    "                     times a round, to plan the rest)\n"
    "  --max-rounds N     measured rounds at most (default 200)\n"
    "  --format F         table (default), markdown (a pull-request comment) or json\n"
    "  --json FILE        also write the JSON, every round's ratio included ('-':\n"
    "                     stdout, and the report goes to stderr)\n"
    "  --plot DIR         draw the per-round ratios with gnuplot: DIR/ab.png, DIR/ab.svg\n"
    "  bench options      passed to both builds' `ipcmark bench` as given; defaults here:\n"
    "                     --duration 0.05 --warmup 0 --pin C, C the first CPU ab may\n"
    "                     run on: every process of a case on one CPU, where the\n"
    "                     scheduler's and the VM's placement cannot move the ratios\n"
    "                     (give --pin A,B to gate the cross-CPU path; it is noisier)\n"
    "                     (each round adds --repeat 1)\n"
    "\n"
    "Verdicts per case: REGRESSION (the interval excludes 0 on the slower side and the\n"
    "estimate is at least half the threshold), improvement (the same, faster), unchanged\n"
    "(the interval lies inside +-threshold), undecided (the budget ran out first), FAILED\n"
    "(the case failed in the current build), skipped (skipped, or in one build only).\n"
    "\n"
    "Exit status: 0 no regression (undecided cases are listed, as compare lists 'too\n"
    "noisy' ones, and do not fail the gate); 1 a regression, a case that fails in the\n"
    "current build, the current build crashing, or no case decided at all within the\n"
    "budget (insufficient data: a gate that judged nothing does not pass); 2 rejected\n"
    "before any measurement: a bad option, a baseline or current that is missing, not\n"
    "an ipcmark binary, or writes another results schema, bench options a build\n"
    "refuses; 3 the comparison could not run: the baseline crashed or hung, a build\n"
    "could not run its cases here (every case skipped), or it was interrupted.\n";

enum {
    OPT_BASELINE = 256,
    OPT_CURRENT,
    OPT_BUDGET,
    OPT_THRESHOLD,
    OPT_ALPHA,
    OPT_WARMUP_ROUNDS,
    OPT_MAX_ROUNDS,
    OPT_FORMAT,
    OPT_JSON,
    OPT_PLOT,
    OPT_BASELINE_PLUGIN,
    OPT_CURRENT_PLUGIN,
    OPT_METRIC,
    OPT_FWD, /* + index into forwarded[] */
};

/* The bench options passed through to both builds, as given. */
static const char *const forwarded[] = {
    "mode",     "sizes",    "producers", "consumers", "pairs",   "workers", "chunk",
    "messages", "duration", "pin",       "rate",      "timeout", "verify",  "warmup",
};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))
#define MAX_FWD_ARGS (2 * (NFORWARDED + 1) + 5)

/* One invocation, as the command line gave it. */
struct ab_args {
    const char *bin[2];    /* baseline, current */
    const char *plugin[2]; /* --baseline-plugin, --current-plugin: -b for that side */
    bool has_backends;     /* -b given */
    bool no_calibrate;     /* both builds' bench has --no-calibrate: a round skips ~1-2 s */
    char self[PATH_MAX];
    struct ipcm_ab_opts o;
    enum ipcm_format fmt;
    const char *json, *plot;
    char *fwd[MAX_FWD_ARGS];
    int nfwd;
    bool has_length, has_warmup, has_pin;
    char default_pin[16]; /* "--pin" when none is given: the first CPU we may run on */
};

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = s && *s ? strtod(s, &end) : NAN;
    if (!s || !*s || errno || *end || !isfinite(d) || d <= lo || d > hi)
        return -EINVAL;
    *out = d;
    return 0;
}

static int forward(struct ab_args *a, const char *opt, char *val)
{
    if (a->nfwd + 2 > (int)MAX_FWD_ARGS)
        return ipcm_usage_error("ab", "too many bench options");
    a->fwd[a->nfwd++] = (char *)opt;
    a->fwd[a->nfwd++] = val;
    return 0;
}

/* An option of ab itself. Returns 0 or an exit code. */
static int ab_option(int c, char *v, struct ab_args *a)
{
    double d;
    long long n;
    switch (c) {
    case OPT_BASELINE: a->bin[0] = v; break;
    case OPT_CURRENT: a->bin[1] = v; break;
    case OPT_BUDGET:
        if (parse_double(v, 0, 86400, &d) < 0)
            return ipcm_usage_error("ab", "--budget '%s': want seconds in (0, 86400]", v);
        a->o.budget_s = d;
        break;
    case OPT_THRESHOLD:
        if (parse_double(v, 0, 99, &d) < 0)
            return ipcm_usage_error("ab", "--threshold '%s': want a percentage in (0, 99]", v);
        a->o.threshold = d / 100;
        break;
    case OPT_ALPHA:
        if (parse_double(v, 0, 0.4999, &d) < 0)
            return ipcm_usage_error("ab", "--alpha '%s': want a probability in (0, 0.5)", v);
        a->o.alpha = d;
        break;
    case OPT_WARMUP_ROUNDS:
        if (ipcm_parse_count(v, 1, 20, &n) < 0)
            return ipcm_usage_error("ab", "--warmup-rounds '%s': want 1..20", v);
        a->o.warmup_rounds = (unsigned)n;
        break;
    case OPT_MAX_ROUNDS:
        if (ipcm_parse_count(v, 8, IPCM_AB_MAX_ROUNDS - 20, &n) < 0)
            return ipcm_usage_error("ab", "--max-rounds '%s': want 8..%d", v,
                                    IPCM_AB_MAX_ROUNDS - 20);
        a->o.max_rounds = (size_t)n;
        break;
    case OPT_FORMAT:
        if (ipcm_format_arg(v, &a->fmt) < 0)
            return ipcm_usage_error("ab", "--format '%s': want table, markdown or json", v);
        break;
    case OPT_JSON: a->json = v; break;
    case OPT_PLOT: a->plot = v; break;
    case OPT_BASELINE_PLUGIN: a->plugin[0] = v; break;
    case OPT_CURRENT_PLUGIN: a->plugin[1] = v; break;
    case OPT_METRIC:
        if (strcmp(v, "cpu") != 0 && strcmp(v, "wall") != 0)
            return ipcm_usage_error("ab", "--metric '%s': want cpu or wall", v);
        a->o.cpu = strcmp(v, "cpu") == 0;
        break;
    }
    return 0;
}

/* Returns 0 to run, -1 after --help, or an exit code (a usage error, printed). */
static int parse_args(int argc, char **argv, struct ab_args *a)
{
    static const char *const own[] = {
        "baseline", "current", "budget", "threshold", "alpha",           "warmup-rounds",
        "max-rounds", "format", "json",    "plot",    "baseline-plugin", "current-plugin",
        "metric"};
    static char fwd_names[NFORWARDED][16];
    struct option opts[sizeof(own) / sizeof(own[0]) + NFORWARDED + 3];
    size_t k = 0;
    int c, r;

    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        opts[k++] = (struct option){own[i], required_argument, NULL, OPT_BASELINE + (int)i};
    for (size_t i = 0; i < NFORWARDED; i++) {
        snprintf(fwd_names[i], sizeof(fwd_names[i]), "--%s", forwarded[i]);
        opts[k++] = (struct option){forwarded[i], required_argument, NULL, OPT_FWD + (int)i};
    }
    opts[k++] = (struct option){"backends", required_argument, NULL, 'b'};
    opts[k++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[k] = (struct option){0};
    ipcm_getopt_begin();
    while ((c = getopt_long(argc, argv, ":b:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(ab_usage, stdout);
            fputs(ab_usage_options, stdout);
            return -1;
        }
        if (c == ':' || c == '?')
            return ipcm_option_error("ab", c, argc, argv);
        if (c == 'b') {
            a->has_backends = true;
            r = forward(a, "-b", optarg);
        }
        else if (c >= OPT_FWD) {
            const char *name = forwarded[c - OPT_FWD];
            a->has_length |= !strcmp(name, "duration") || !strcmp(name, "messages");
            a->has_warmup |= !strcmp(name, "warmup");
            a->has_pin |= !strcmp(name, "pin");
            r = forward(a, fwd_names[c - OPT_FWD], optarg);
        } else
            r = ab_option(c, optarg, a);
        if (r)
            return r;
    }
    if (optind < argc)
        return ipcm_usage_error("ab", "unexpected argument '%s'", argv[optind]);
    if (!a->plugin[0] != !a->plugin[1])
        return ipcm_usage_error("ab", "--baseline-plugin and --current-plugin go together");
    if (a->plugin[0] && a->has_backends)
        return ipcm_usage_error("ab", "-b and the plugin options exclude each other (each "
                                      "side runs its own plugin)");
    if (!a->bin[0] && !a->plugin[0])
        return ipcm_usage_error("ab", "--baseline PATH is required (the ipcmark binary to "
                                      "compare against)");
    if (a->json && a->fmt == FMT_JSON && strcmp(a->json, "-") == 0)
        return ipcm_usage_error("ab", "--json - and --format json both want stdout");
    /* Unpinned, the scheduler puts a case's two ends on one CPU in one round and on two
     * in the next, and the VM moves its vCPUs: per-round ratios of a 64 B pipe case then
     * spread by a MAD of 18-38%, against 1.4-4% with every end on one CPU. */
    cpu_set_t set;
    if (!a->has_pin && sched_getaffinity(0, sizeof(set), &set) == 0)
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &set)) {
                snprintf(a->default_pin, sizeof(a->default_pin), "%d", cpu);
                break;
            }
    return 0;
}

/* ------------------------------------------------------------------ the builds */

static const char *const side_name[2] = {"baseline", "current"};

/* A comparison in progress: its arguments, its temporary folder, its record. */
struct ab_ctx {
    struct ab_args *a;
    char tmp[PATH_MAX];
    struct ipcm_ab_run *run;
    uint64_t t0;
    int child_timeout_ms; /* for one build's bench run */
    double slowest_s;     /* one build's bench run so far */
};

static void tmp_path(const struct ab_ctx *x, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", x->tmp, name);
}

/* The first line of a probe's output must start with want; else why, in *said. */
static bool probe_says(struct ab_ctx *x, const char *bin, char **argv, const char *want, char *said,
                       size_t len)
{
    char out[PATH_MAX + 16], err[PATH_MAX + 16];
    struct ab_exit ex;
    tmp_path(x, "probe.out", out, sizeof(out));
    tmp_path(x, "probe.err", err, sizeof(err));
    argv[0] = (char *)bin;
    if (ab_child_run(argv, out, err, 20000, &ex) < 0 || ex.status != 0) {
        ab_child_describe(&ex, 20000, err, said, len);
        return false;
    }
    FILE *f = fopen(out, "re");
    char line[512];
    bool found = false;
    said[0] = '\0';
    while (f && !found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!said[0])
            snprintf(said, len, "%.200s", line);
        found = !want || strstr(line, want) != NULL;
    }
    if (f)
        fclose(f);
    return found;
}

/*
 * Before any work: the binary exists, says it is ipcmark, and its bench writes the
 * results schema this reader reads. Returns 0 or IPCM_EXIT_USAGE after one line.
 */
static int probe_build(struct ab_ctx *x, int side, char *label, size_t len)
{
    const char *bin = x->a->bin[side], *opt = side ? "--current" : "--baseline";
    char said[320], *ver[] = {NULL, "--version", NULL}, *help[] = {NULL, "bench", "--help", NULL};
    struct stat st;
    if (stat(bin, &st) < 0)
        return ipcm_usage_error("ab", "%s %s: %s", opt, bin, strerror(errno));
    if (!S_ISREG(st.st_mode) || access(bin, X_OK) < 0)
        return ipcm_usage_error("ab", "%s %s: not an executable file", opt, bin);
    if (!probe_says(x, bin, ver, NULL, said, sizeof(said)) || strncmp(said, "ipcmark ", 8) != 0)
        return ipcm_usage_error("ab", "%s %s is not an ipcmark binary (--version said '%.80s')",
                                opt, bin, said);
    snprintf(label, len, "%s (%s)", bin, said);
    if (!probe_says(x, bin, help, "(schema " IPCM_RESULTS_SCHEMA ")", said, sizeof(said))) {
        char out[PATH_MAX + 16], line[512] = "";
        tmp_path(x, "probe.out", out, sizeof(out));
        FILE *f = fopen(out, "re");
        while (f && fgets(line, sizeof(line), f) && !strstr(line, "(schema "))
            line[0] = '\0';
        if (f)
            fclose(f);
        char *s = strstr(line, "(schema ");
        if (s)
            return ipcm_usage_error("ab", "%s %s writes results %.*s; this ab reads %s", opt, bin,
                                    (int)strcspn(s + 1, ")"), s + 1, IPCM_RESULTS_SCHEMA);
        return ipcm_usage_error("ab", "%s %s has no bench that writes %s results", opt, bin,
                                IPCM_RESULTS_SCHEMA);
    }
    return 0;
}

/* The argv of one build's bench run for one round. */
static void bench_argv(const struct ab_ctx *x, int side, const char *json, char **argv)
{
    int n = 0;
    argv[n++] = (char *)x->a->bin[side];
    argv[n++] = "bench";
    if (x->a->plugin[side])
        argv[n++] = "-b", argv[n++] = (char *)x->a->plugin[side];
    for (int i = 0; i < x->a->nfwd; i++)
        argv[n++] = x->a->fwd[i];
    if (!x->a->has_length)
        argv[n++] = "--duration", argv[n++] = "0.05";
    if (!x->a->has_warmup)
        argv[n++] = "--warmup", argv[n++] = "0";
    if (!x->a->has_pin && x->a->default_pin[0])
        argv[n++] = "--pin", argv[n++] = (char *)x->a->default_pin;
    if (x->a->no_calibrate)
        argv[n++] = "--no-calibrate";
    argv[n++] = "--repeat", argv[n++] = "1";
    argv[n++] = "--json", argv[n++] = (char *)json;
    argv[n] = NULL;
}

/*
 * How a build's run ended, as an exit code of ab (0: it produced results). A usage
 * error is the options' fault (2); a crash or hang of the build under test fails the
 * gate (1); the baseline's, an environment error or an interruption, 3.
 */
static int side_outcome(const struct ab_ctx *x, int side, const struct ab_exit *ex, const char *err)
{
    char why[512];
    if (ex->status == 0 || ex->status == 1)
        return 0;
    ab_child_describe(ex, x->child_timeout_ms, err, why, sizeof(why));
    if (ex->status == 2) {
        fprintf(stderr, "ipcmark ab: the %s build refused the bench options (%s)\n",
                side_name[side], why);
        return IPCM_EXIT_USAGE;
    }
    fprintf(stderr, "ipcmark ab: the %s build %s %s in round %zu; no verdict\n", side_name[side],
            x->a->bin[side], why, x->run->nrounds + 1);
    if (ex->stopped)
        return IPCM_EXIT_ENV;
    return side == 1 && (ex->signal || ex->timed_out) ? IPCM_EXIT_FAIL : IPCM_EXIT_ENV;
}

/* One build's bench run; its results in *out. Returns 0 or an exit code (printed). */
static int run_side(struct ab_ctx *x, int side, struct ipcm_results **out)
{
    char json[PATH_MAX + 16], err[PATH_MAX + 16], msg[256], *argv[MAX_FWD_ARGS + 20]; /* + ours, NULL */
    struct ab_exit ex;
    int r;
    tmp_path(x, side ? "current.json" : "baseline.json", json, sizeof(json));
    tmp_path(x, side ? "current.err" : "baseline.err", err, sizeof(err));
    unlink(json);
    bench_argv(x, side, json, argv);
    if ((r = ab_child_run(argv, "/dev/null", err, x->child_timeout_ms, &ex)) < 0) {
        fprintf(stderr, "ipcmark ab: cannot start the %s build: %s\n", side_name[side],
                strerror(-r));
        return IPCM_EXIT_ENV;
    }
    if ((r = side_outcome(x, side, &ex, err)))
        return r;
    x->slowest_s = fmax(x->slowest_s, ex.seconds);
    if ((r = ipcm_results_load(json, out, msg, sizeof(msg))) < 0) {
        fprintf(stderr, "ipcmark ab: the %s build %s wrote %s in round %zu (%s); no verdict\n",
                side_name[side], x->a->bin[side],
                r == -EPROTO ? "results of another schema" : "no readable results",
                x->run->nrounds + 1, msg);
        return r == -EPROTO ? IPCM_EXIT_USAGE : IPCM_EXIT_ENV;
    }
    return 0;
}

static double elapsed_s(const struct ab_ctx *x)
{
    return ipcm_ns_to_s(ipcm_ns_since(x->t0));
}

/* One round: both builds, in alternating order (A B, B A, ...). Returns 0 or an exit code. */
static int run_round(struct ab_ctx *x, bool warmup)
{
    struct ipcm_ab_round round = {
        .base_first = x->run->nrounds % 2 == 0, .warmup = warmup, .start_s = elapsed_s(x)};
    struct ipcm_results *res[2] = {NULL, NULL};
    char err[256];
    int r = 0;
    for (int i = 0; i < 2 && !r; i++) {
        int side = round.base_first ? i : 1 - i;
        r = run_side(x, side, &res[side]);
    }
    round.seconds = elapsed_s(x) - round.start_s;
    if (!r && (r = ipcm_ab_add_round(x->run, &round, res[0], res[1], err, sizeof(err))) < 0) {
        fprintf(stderr, "ipcmark ab: %s; no verdict\n", err);
        r = r == -EPROTO ? IPCM_EXIT_USAGE : IPCM_EXIT_ENV;
    }
    ipcm_results_free(res[0]);
    ipcm_results_free(res[1]);
    /* A hung build is found within a few of its usual run times, never minutes late. */
    x->child_timeout_ms = (int)fmin(600000, fmax(15000, 5000 * x->slowest_s));
    return r;
}

/* ------------------------------------------------------------------ the comparison */

/* After the warm-up: how many rounds the budget allows, and the looks at them. */
static int plan(struct ab_ctx *x)
{
    struct ipcm_ab_run *run = x->run;
    double per_round = elapsed_s(x) / (double)run->nrounds;
    double left = run->opts.budget_s - elapsed_s(x);
    size_t rounds = left > 0 ? (size_t)(left / per_round) : 0;
    size_t active = ipcm_ab_active(run);
    if (rounds > run->opts.max_rounds)
        rounds = run->opts.max_rounds;
    if (!active)
        return 0;
    if (rounds == 0) {
        snprintf(run->stop, sizeof(run->stop),
                 "the budget of %g s was spent in the warm-up (a round takes %.1f s)",
                 run->opts.budget_s, per_round);
        return 0;
    }
    ipcm_ab_plan_make(rounds, active, run->opts.alpha, &run->plan);
    if (rounds < run->plan.min_n)
        fprintf(stderr,
                "ipcmark ab: warning: the budget allows %zu rounds (%.1f s each), fewer than "
                "the %zu an interval at %.4f needs; expect 'undecided' (raise --budget)\n",
                rounds, per_round, run->plan.min_n, run->plan.level);
    return 0;
}

/* The measured rounds until every case is decided, the plan is done or the budget spent. */
static int measure(struct ab_ctx *x)
{
    struct ipcm_ab_run *run = x->run;
    const struct ipcm_ab_plan *p = &run->plan;
    int r;
    while (p->nlooks && run->measured < p->look[p->nlooks - 1]) {
        double per_round = elapsed_s(x) / (double)run->nrounds;
        if (ab_stop_requested())
            return IPCM_EXIT_ENV;
        if (elapsed_s(x) + per_round > run->opts.budget_s) {
            snprintf(run->stop, sizeof(run->stop),
                     "the budget of %g s ran out after %zu measured rounds (%.1f s each)",
                     run->opts.budget_s, run->measured, per_round);
            break;
        }
        if ((r = run_round(x, false)))
            return r;
        if ((r = ipcm_ab_look(run, false)) < 0)
            return IPCM_EXIT_ENV;
        if (r == 1) {
            snprintf(run->stop, sizeof(run->stop), "%s after %zu measured rounds",
                     run->count[IPCM_AB_UNDECIDED] ? "all planned looks done"
                                                   : "every case decided",
                     run->measured);
            return 0;
        }
    }
    if (!run->stop[0])
        snprintf(run->stop, sizeof(run->stop), "all %u planned looks done (%zu measured rounds)",
                 p->nlooks, run->measured);
    return ipcm_ab_look(run, true) < 0 ? IPCM_EXIT_ENV : 0;
}

/* Warm-up, plan, measurement. Returns 0 or an exit code (printed). */
static int compare_builds(struct ab_ctx *x)
{
    int r;
    x->child_timeout_ms = 120000; /* until a round has been timed */
    for (unsigned i = 0; i < x->run->opts.warmup_rounds; i++)
        if ((r = run_round(x, true)))
            return r;
    if ((r = plan(x)))
        return r;
    if (!ipcm_ab_active(x->run) || !x->run->plan.nlooks) {
        ipcm_ab_look(x->run, true);
        return 0;
    }
    return measure(x);
}

/* ------------------------------------------------------------------ output */

static int write_report(const struct ab_ctx *x, enum ipcm_format fmt, FILE *f)
{
    switch (fmt) {
    case FMT_MARKDOWN: return ipcm_ab_write_markdown(x->run, f);
    case FMT_JSON: return ipcm_ab_write_json(x->run, f);
    default: return ipcm_ab_write_table(x->run, f);
    }
}

static int write_json_file(const struct ab_ctx *x, const char *path)
{
    struct ipcm_outfile o;
    int r;
    if (strcmp(path, "-") == 0)
        return ipcm_ab_write_json(x->run, stdout);
    if ((r = ipcm_outfile_open(&o, path)) < 0)
        return r;
    if ((r = ipcm_ab_write_json(x->run, o.f)) < 0) {
        ipcm_outfile_abort(&o);
        return r;
    }
    return ipcm_outfile_commit(&o);
}

/* DIR/ab.dat and DIR/ab-params.gp, then gnuplot for DIR/ab.png and DIR/ab.svg. */
static int write_plot(const struct ab_ctx *x, const char *dir)
{
    char abs[PATH_MAX], dat[PATH_MAX + 16], par[PATH_MAX + 16], err[PATH_MAX + 16], gp[PATH_MAX];
    FILE *f;
    struct ab_exit ex;
    if ((mkdir(dir, 0777) < 0 && errno != EEXIST) || !realpath(dir, abs))
        return fprintf(stderr, "ipcmark ab: --plot %s: %s\n", dir, strerror(errno)), -1;
    snprintf(dat, sizeof(dat), "%s/ab.dat", abs);
    snprintf(par, sizeof(par), "%s/ab-params.gp", abs);
    snprintf(err, sizeof(err), "%s/gnuplot.err", abs);
    if (!(f = fopen(dat, "we")) || ipcm_ab_write_plot_data(x->run, f) < 0 || fclose(f) != 0)
        return fprintf(stderr, "ipcmark ab: cannot write %s\n", dat), -1;
    if (!(f = fopen(par, "we")))
        return fprintf(stderr, "ipcmark ab: cannot write %s\n", par), -1;
    fprintf(f, "datafile = '%s'\noutbase = '%s/ab'\nthreshold = %g\nncases = %zu\n", dat, abs,
            x->run->opts.threshold, x->run->ncases);
    fclose(f);
    char looked[4096];
    const char *script =
        ipcm_find_script("ab.gp", "IPCMARK_AB_GP", gp, sizeof(gp), looked, sizeof(looked));
    char *argv[] = {"/usr/bin/env", "gnuplot", par, (char *)script, NULL};
    if (!script)
        return fprintf(stderr, "ipcmark ab: ab.gp not found (looked at %s)\n", looked), -1;
    if (ab_child_run(argv, "/dev/null", err, 60000, &ex) < 0 || ex.status == 127) {
        fprintf(stderr,
                "ipcmark ab: gnuplot is not installed, so no plot was drawn; the "
                "per-round ratios are in %s\n",
                dat);
        return 0;
    }
    if (ex.status != 0)
        return fprintf(stderr, "ipcmark ab: gnuplot failed; see %s\n", err), -1;
    fprintf(stderr, "ipcmark ab: plot: %s/ab.png %s/ab.svg\n", abs, abs);
    return 0;
}

/* Report, files, exit code. */
static int finish(struct ab_ctx *x)
{
    struct ab_args *a = x->a;
    bool json_stdout = a->json && strcmp(a->json, "-") == 0;
    int r, code;
    x->run->wall_s = elapsed_s(x);
    if ((r = write_report(x, a->fmt, json_stdout ? stderr : stdout)) < 0)
        fprintf(stderr, "ipcmark ab: writing the report: %s\n", strerror(-r));
    if (a->json && (r = write_json_file(x, a->json)) < 0) {
        fprintf(stderr, "ipcmark ab: cannot write %s: %s\n", a->json, ipcm_file_strerror(r));
        return IPCM_EXIT_ENV;
    }
    if (a->plot && write_plot(x, a->plot) < 0)
        return IPCM_EXIT_ENV;
    if (ipcm_ab_failed(x->run))
        code = IPCM_EXIT_FAIL;
    else
        code = IPCM_EXIT_OK;
    /* Nothing could run here (every case skipped), and nothing failed: 3. */
    if (!ipcm_ab_active(x->run) && !x->run->count[IPCM_AB_FAILED]) {
        fprintf(stderr, "ipcmark ab: no case ran on both builds; nothing to compare\n");
        code = IPCM_EXIT_ENV;
    }
    return code;
}

/* Remove the temporary folder and what the runs left in it. */
static void remove_tmp(const char *dir)
{
    static const char *const names[] = {"probe.out",    "probe.err",    "baseline.json",
                                        "baseline.err", "current.json", "current.err"};
    char p[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/*
 * Two plugin builds must be one backend: loading both here (the loader refuses a second
 * plugin of a name already loaded, so that refusal is the "same backend" answer).
 * Returns 0, IPCM_EXIT_USAGE (missing, or two backends) or IPCM_EXIT_ENV (won't load).
 */
static int probe_plugins(const struct ab_args *a)
{
    const struct ipcm_backend *be[2];
    static const char *const opt[2] = {"--baseline-plugin", "--current-plugin"};
    char name[64];
    for (int s = 0; s < 2; s++) {
        if (access(a->plugin[s], F_OK) < 0)
            return ipcm_usage_error("ab", "%s %s: %s", opt[s], a->plugin[s], strerror(errno));
        int r = ipcm_backend_load(a->plugin[s], &be[s]);
        if (s == 1 && r == -EEXIST)
            return 0; /* another file, the same backend name: what a build of it is */
        if (r < 0) {
            const char *why = ipcm_last_error(r);
            fprintf(stderr, "ipcmark ab: %s: %s\n", opt[s], why ? why : ipcm_strerror(r));
            return IPCM_EXIT_ENV;
        }
        if (s == 0)
            snprintf(name, sizeof(name), "%s", ipcm_backend_name(be[0]));
    }
    if (be[0] == be[1])
        return 0; /* the same file twice: an A/A comparison */
    return ipcm_usage_error("ab",
                            "--baseline-plugin %s is backend '%s' and --current-plugin %s is "
                            "'%s': not two builds of the same backend",
                            a->plugin[0], name, a->plugin[1], ipcm_backend_name(be[1]));
}

/* "BIN (ipcmark V) with -b PLUGIN": a side's label names its plugin file. */
static void label_plugin(const struct ab_args *a, int side, char *label, size_t len)
{
    size_t n = strlen(label);
    if (a->plugin[side] && n < len)
        snprintf(label + n, len - n, " with -b %s", a->plugin[side]);
}

int ipcm_cmd_ab(int argc, char **argv)
{
    struct ab_args a = {.o = {.threshold = 0.05,
                              .alpha = 0.05,
                              .budget_s = 60,
                              .warmup_rounds = 1,
                              .max_rounds = 200,
                              .cpu = true}};
    struct ab_ctx x = {.a = &a};
    int r = parse_args(argc, argv, &a);
    if (r)
        return r < 0 ? IPCM_EXIT_OK : r;
    if (!a.bin[1]) {
        ssize_t n = readlink("/proc/self/exe", a.self, sizeof(a.self) - 1);
        if (n <= 0)
            return ipcm_usage_error("ab", "cannot find this binary (/proc/self/exe); give "
                                          "--current PATH");
        a.self[n] = '\0';
        a.bin[1] = a.self;
    }
    if (!a.bin[0])
        a.bin[0] = a.bin[1]; /* plugin A/B: one binary, two plugin files */
    if (a.plugin[0] && (r = probe_plugins(&a)))
        return r;
    if (a.json && strcmp(a.json, "-") != 0 && (r = ipcm_output_probe("ab", "--json", a.json)))
        return r;
    const char *t = getenv("TMPDIR");
    snprintf(x.tmp, sizeof(x.tmp), "%s/ipcmark-ab-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(x.tmp)) {
        fprintf(stderr, "ipcmark ab: cannot create a temporary folder %s: %s\n", x.tmp,
                strerror(errno));
        return IPCM_EXIT_ENV;
    }
    if (!(x.run = calloc(1, sizeof(*x.run)))) {
        rmdir(x.tmp);
        return IPCM_EXIT_ENV;
    }
    ipcm_ab_init(x.run, &a.o);
    ab_trap_signals();
    if (!(r = probe_build(&x, 0, x.run->base_label, sizeof(x.run->base_label))) &&
        !(r = probe_build(&x, 1, x.run->cur_label, sizeof(x.run->cur_label)))) {
        /* The calibration is for reading one run alone; a round's pair needs none. Older
         * builds lack the option: then neither side skips it, so the rounds stay alike. */
        char *help[] = {NULL, "bench", "--help", NULL}, said[320];
        a.no_calibrate = probe_says(&x, a.bin[0], help, "--no-calibrate", said, sizeof(said)) &&
                         probe_says(&x, a.bin[1], help, "--no-calibrate", said, sizeof(said));
        label_plugin(&a, 0, x.run->base_label, sizeof(x.run->base_label));
        label_plugin(&a, 1, x.run->cur_label, sizeof(x.run->cur_label));
        x.t0 = ipcm_now_ns();
        r = compare_builds(&x);
        if (!r)
            r = finish(&x);
        else if (ab_stop_requested())
            fprintf(stderr, "ipcmark ab: interrupted; no verdict\n");
    }
    ipcm_ab_fini(x.run);
    free(x.run);
    remove_tmp(x.tmp);
    return r;
}
