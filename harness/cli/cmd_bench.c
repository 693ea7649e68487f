/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench.c - `ipcmark bench`: parse the sweep, calibrate, run the engine, print the
 * table and write JSON/CSV; also the short benchmark of the default `ipcmark` run.
 */
#include "bench.h"
#include "calibrate.h"
#include "cli.h"
#include "results.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcmark bench [-b LIST] [--mode LIST] [--sizes LIST] [--producers LIST]\n"
               "                     [--consumers LIST] [--pairs LIST] [--workers LIST]\n"
               "                     [--chunk LIST]\n"
               "                     [--messages N | --duration S] [--repeat R] [--warmup S]\n"
               "                     [--pin CPUS] [--rate N/s] [--json FILE] [--csv FILE]\n"
               "       ipcmark bench --remote HOST:PORT [--key-file F] [-b LIST] [--mode LIST]\n"
               "                     [--sizes LIST] [--messages N] [--repeat R] [--reverse]\n"
               "                     [--json FILE] [--csv FILE]\n\n"
               "Measure IPC backends; every message is verified on receipt.\n\n"
               "  -b, --backends LIST   backends to run, or 'all' (default all); with sync\n"
               "                        modes only: the lock implementations (futex, ...)\n"
               "      --mode LIST       one or more of (comma-separated, run in order):");
    for (size_t i = 0; ipcm_bench_mode_at(i); i++)
        fprintf(f, " %s", ipcm_bench_mode_at(i)->name);
    fprintf(f, " (default throughput)\n");
    for (size_t i = 0; ipcm_bench_mode_at(i); i++)
        fprintf(f, "                          %-10s %s\n", ipcm_bench_mode_at(i)->name,
                ipcm_bench_mode_at(i)->summary);
    fprintf(f,
            "      --sizes LIST      message sizes, suffixes K and M (default 64)\n"
            "      --producers LIST  producer counts (default 1)\n"
            "      --consumers LIST  consumer counts (default 1)\n"
            "      --pairs LIST      P = C counts, instead of --producers x --consumers\n"
            "      --workers LIST    worker counts (pool)\n"
            "      --chunk LIST      chunk sizes (pool; 0: CPython's default,\n"
            "                        ceil(n / (4 x workers)))\n"
            "      --messages N      messages (round trips) per repetition\n"
            "      --duration S      seconds per repetition (default 0.2)\n"
            "      --repeat R        timed repetitions, each with fresh processes (default 5)\n"
            "      --warmup S        warm-up seconds before the repetitions (default 0.1;\n"
            "                        0: none)\n"
            "      --pin CPUS        pin workers: latency A,B; otherwise round-robin (default:\n"
            "                        latency on one CPU and on two; others unpinned)\n"
            "      --rate N          latency: open loop at N messages/s, one-way, from the\n"
            "                        intended send time\n"
            "      --timeout MS      per-operation deadline of the workers (default 10000)\n"
            "      --verify MODE     stamps (default: identity, length, a per-message word\n"
            "                        every 256 B and a hash of the first 256 B) or full\n"
            "                        (XXH3 of every byte; costs more than small transfers)\n"
            "      --no-calibrate    skip the host calibration at both ends (about 1 s; ab's\n"
            "                        rounds use it; the file then has no host.calibration)\n"
            "      --json FILE       write the results (schema %s)\n"
            "      --csv FILE        write one row per case\n"
            "                        FILE '-' is stdout (one of the two at most); the table\n"
            "                        then goes to stderr\n"
            "      --remote HOST:PORT  run the far side on `ipcmark serve` there (tcp only;\n"
            "                        --mode latency,throughput; key: --key-file F or\n"
            "                        IPCMARK_KEY; docs/remote.md)\n"
            "      --reverse         with --remote: the server produces and this host\n"
            "                        verifies (throughput; like iperf3 -R), or the server\n"
            "                        sends and times the round trips (latency)\n"
            "  -h, --help            this text\n",
            IPCM_RESULTS_SCHEMA);
}

/*
 * Progress on a terminal: cases done, time elapsed and an estimate of what is left.
 * The engine announces a group of cases (one configuration on every backend) case by
 * case, then runs their repetitions interleaved, so only the groups before the current
 * one are done: the estimate is the mean time of a finished case so far.
 */
struct progress_state {
    const char *phase; /* "latency", "throughput" */
    size_t group;      /* cases per group: the number of backends */
    uint64_t t0_ns;    /* when the first case started */
};

static void progress(void *ctx, size_t done, size_t total, const char *what)
{
    struct progress_state *p = ctx;
    uint64_t now = ipcm_now_ns();
    if (done >= total) {
        fprintf(stderr, "\r%*s\r", 78, "");
        fflush(stderr);
        return;
    }
    if (!p->t0_ns)
        p->t0_ns = now;
    size_t finished = p->group ? done / p->group * p->group : 0;
    double el = (double)(now - p->t0_ns) / 1e9;
    char left[32] = "";
    if (finished > 0)
        snprintf(left, sizeof(left), ", ~%.0f s left",
                 el / (double)finished * (double)(total - finished));
    fprintf(stderr, "\r[%s %zu/%zu, %.0f s%s] %-40.40s", p->phase, done + 1, total, el, left, what);
    fflush(stderr);
}

static int parse_seconds(const char *s, uint64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400)
        return -EINVAL;
    *ns = (uint64_t)(v * 1e9 + 0.5);
    return 0;
}

static bool cpu_allowed(long cpu)
{
    cpu_set_t set;
    return cpu >= 0 && cpu < CPU_SETSIZE && sched_getaffinity(0, sizeof(set), &set) == 0 &&
           CPU_ISSET(cpu, &set);
}

/* A list option into out[]; 0 or a usage error for `opt`. */
static int list_opt(const char *opt, const char *arg, bool sizes, uint64_t *out, size_t *n,
                    uint64_t min, uint64_t max)
{
    int k = ipcm_parse_list(arg, sizes, out, IPCM_BENCH_MAX_LIST);
    if (k == -E2BIG)
        return ipcm_usage_error("bench", "%s: more than %d items in '%s'", opt, IPCM_BENCH_MAX_LIST,
                                arg);
    if (k < 0)
        return ipcm_usage_error("bench", "%s: bad %s list '%s'", opt, sizes ? "size" : "count",
                                arg);
    char v[32], lo[32], hi[32];
    for (int i = 0; i < k; i++)
        if (out[i] < min || out[i] > max) {
            if (sizes) /* in the units the user typed: "0 is outside 1..1G" */
                return ipcm_usage_error("bench", "%s: %s is outside %s..%s", opt,
                                        ipcm_format_size(out[i], v, sizeof(v)),
                                        ipcm_format_size(min, lo, sizeof(lo)),
                                        ipcm_format_size(max, hi, sizeof(hi)));
            return ipcm_usage_error("bench", "%s: %llu is outside %llu..%llu", opt,
                                    (unsigned long long)out[i], (unsigned long long)min,
                                    (unsigned long long)max);
        }
    *n = (size_t)k;
    return 0;
}

enum {
    OPT_MODE = 256,
    OPT_SIZES,
    OPT_PRODUCERS,
    OPT_CONSUMERS,
    OPT_PAIRS,
    OPT_WORKERS,
    OPT_CHUNK,
    OPT_MESSAGES,
    OPT_DURATION,
    OPT_REPEAT,
    OPT_WARMUP,
    OPT_PIN,
    OPT_RATE,
    OPT_JSON,
    OPT_CSV,
    OPT_TIMEOUT,
    OPT_VERIFY,
    OPT_NO_CALIBRATE,
};

/* `--mode a,b`: one run per mode, in one record (RULINGS 13). */
#define BENCH_MAX_MODES 8

/* What parse_args has seen so far, for the rules that span options. */
struct bench_seen {
    bool msgs, dur, pc, pairs;
    const char *backends;
    const char *modes[BENCH_MAX_MODES]; /* --mode LIST, in the order given */
    size_t nmodes;
    bool no_calibrate; /* --no-calibrate: no host calibration at either end */
};

/* --mode LIST: each a known mode, none twice; the first is cfg's, the rest run after it. */
static int mode_list(const char *arg, struct ipcm_bench_config *cfg, struct bench_seen *seen)
{
    char buf[256], *save = NULL;
    if (!*arg || strlen(arg) >= sizeof(buf))
        return ipcm_usage_error("bench", "--mode: bad list '%s'", arg);
    snprintf(buf, sizeof(buf), "%s", arg);
    seen->nmodes = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const char *m = ipcm_mode_arg("bench", t);
        if (!m)
            return IPCM_EXIT_USAGE;
        for (size_t i = 0; i < seen->nmodes; i++)
            if (seen->modes[i] == m)
                return ipcm_usage_error("bench", "--mode: '%s' given twice", m);
        if (seen->nmodes == BENCH_MAX_MODES)
            return ipcm_usage_error("bench", "--mode: more than %d modes", BENCH_MAX_MODES);
        seen->modes[seen->nmodes++] = m;
    }
    if (!seen->nmodes || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,") || arg[0] == ',')
        return ipcm_usage_error("bench", "--mode: bad list '%s'", arg);
    cfg->mode = seen->modes[0];
    return 0;
}

/* The options that run a case: mode, length, repetitions, pacing, checking. */
static int run_option(int c, const char *arg, struct ipcm_bench_config *cfg,
                      struct bench_seen *seen)
{
    long long v;
    uint64_t m;
    switch (c) {
    case OPT_MODE: return mode_list(arg, cfg, seen);
    case OPT_MESSAGES:
        if (ipcm_parse_size(arg, &m) < 0 || m == 0 || m > (UINT64_C(1) << 40))
            return ipcm_usage_error("bench", "--messages: bad count '%s'", arg);
        cfg->messages = m;
        cfg->duration_ns = 0;
        seen->msgs = true;
        break;
    case OPT_DURATION:
        if (parse_seconds(arg, &cfg->duration_ns) < 0 || cfg->duration_ns < 1000000u)
            return ipcm_usage_error("bench", "--duration: bad seconds '%s' (at least 0.001)", arg);
        seen->dur = true;
        break;
    case OPT_REPEAT:
        if (ipcm_parse_count(arg, 1, IPCM_BENCH_MAX_REPEAT, &v) < 0)
            return ipcm_usage_error("bench", "--repeat: '%s' is not in 1..%d", arg,
                                    IPCM_BENCH_MAX_REPEAT);
        cfg->repeat = (unsigned)v;
        break;
    case OPT_WARMUP:
        if (parse_seconds(arg, &cfg->warmup_ns) < 0)
            return ipcm_usage_error("bench", "--warmup: bad seconds '%s'", arg);
        break;
    case OPT_RATE:
        if (ipcm_parse_rate(arg, &cfg->rate_per_s) < 0)
            return ipcm_usage_error("bench", "--rate: bad rate '%s' (messages per second)", arg);
        break;
    case OPT_TIMEOUT:
        if (ipcm_parse_count(arg, 1, 3600000, &v) < 0)
            return ipcm_usage_error("bench", "--timeout: bad milliseconds '%s'", arg);
        cfg->timeout_ms = (int)v;
        break;
    case OPT_VERIFY:
        if (strcmp(arg, "full") != 0 && strcmp(arg, "stamps") != 0)
            return ipcm_usage_error("bench", "--verify: want full or stamps, not '%s'", arg);
        cfg->verify_full = strcmp(arg, "full") == 0;
        break;
    }
    return 0;
}

/* --pin: each CPU must be one this process may run on. */
static int pin_option(const char *arg, struct ipcm_bench_config *cfg)
{
    uint64_t cpus[IPCM_BENCH_MAX_LIST];
    size_t n;
    int r;
    if ((r = list_opt("--pin", arg, false, cpus, &n, 0, CPU_SETSIZE - 1)))
        return r;
    for (size_t i = 0; i < n; i++) {
        if (!cpu_allowed((long)cpus[i]))
            return ipcm_usage_error("bench", "--pin: CPU %llu is not available here",
                                    (unsigned long long)cpus[i]);
        cfg->pin[i] = (int)cpus[i];
    }
    cfg->npin = n;
    return 0;
}

/* The lists the sweep runs over (sizes, parties, workers, chunks); the rest to run_option. */
static int sweep_option(int c, const char *arg, struct ipcm_bench_config *cfg,
                        struct bench_seen *seen)
{
    uint64_t tmp[IPCM_BENCH_MAX_LIST];
    size_t n;
    int r = 0;
    switch (c) {
    case OPT_SIZES:
        return list_opt("--sizes", arg, true, cfg->sizes, &cfg->nsizes, 1, UINT64_C(1) << 30);
    case OPT_PRODUCERS:
        seen->pc = true;
        return list_opt("--producers", arg, false, cfg->producers, &cfg->nproducers, 1,
                        IPCM_BENCH_MAX_PRODUCERS);
    case OPT_CONSUMERS:
        seen->pc = true;
        return list_opt("--consumers", arg, false, cfg->consumers, &cfg->nconsumers, 1,
                        IPCM_BENCH_MAX_WORKERS / 2);
    case OPT_PAIRS:
        seen->pairs = true;
        if ((r = list_opt("--pairs", arg, false, tmp, &n, 1, IPCM_BENCH_MAX_WORKERS / 2)))
            return r;
        memcpy(cfg->producers, tmp, n * sizeof(tmp[0]));
        memcpy(cfg->consumers, tmp, n * sizeof(tmp[0]));
        cfg->nproducers = cfg->nconsumers = n;
        cfg->pairs = true;
        return 0;
    case OPT_WORKERS:
        return list_opt("--workers", arg, false, cfg->workers, &cfg->nworkers, 1,
                        IPCM_BENCH_MAX_WORKERS);
    case OPT_CHUNK: return list_opt("--chunk", arg, false, cfg->chunks, &cfg->nchunks, 0, 1000000);
    case OPT_PIN: return pin_option(arg, cfg);
    }
    return run_option(c, arg, cfg, seen);
}

/*
 * A run of synchronization modes only: -b names lock implementations (futex, pthread,
 * ...), every one known to every such mode given; "all" or no -b runs them all. Moves
 * the list to cfg->variants and leaves the channel backends at their default.
 */
static int sync_impls(struct bench_seen *seen, struct ipcm_bench_config *cfg)
{
    for (size_t i = 0; i < seen->nmodes; i++)
        if (!ipcm_bench_mode_find(seen->modes[i])->variant)
            return 0; /* a channel mode: -b names backends */
    const char *list = seen->backends;
    seen->backends = ipcm_backends_default;
    if (list == ipcm_backends_default || strcmp(list, "all") == 0)
        return 0;
    char buf[256], *save = NULL;
    if (!*list || strlen(list) >= sizeof(buf))
        return ipcm_usage_error("bench", "-b: bad implementation list '%s'", list);
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        for (size_t i = 0; i < seen->nmodes; i++) {
            const struct ipcm_bench_mode *m = ipcm_bench_mode_find(seen->modes[i]);
            if (ipcm_bench_variant_known(m, t))
                continue;
            char valid[256] = "";
            for (unsigned v = 0, l = 0; m->variant(v); v++, l = (unsigned)strlen(valid))
                snprintf(valid + l, sizeof(valid) - l, "%s%s", v ? ", " : "", m->variant(v));
            return ipcm_usage_error("bench", "unknown lock implementation '%s' for --mode %s "
                                             "(valid: %s)", t, m->name, valid);
        }
    cfg->variants = list;
    return 0;
}

/* Returns 0 to run, -1 after --help, or an exit code (a usage error, printed). */
static int parse_args(int argc, char **argv, struct ipcm_bench_config *cfg, const char **json,
                      const char **csv, struct bench_seen *seen_out)
{
    static const struct option opts[] = {
        {"backends", required_argument, NULL, 'b'},
        {"mode", required_argument, NULL, OPT_MODE},
        {"sizes", required_argument, NULL, OPT_SIZES},
        {"producers", required_argument, NULL, OPT_PRODUCERS},
        {"consumers", required_argument, NULL, OPT_CONSUMERS},
        {"pairs", required_argument, NULL, OPT_PAIRS},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"chunk", required_argument, NULL, OPT_CHUNK},
        {"messages", required_argument, NULL, OPT_MESSAGES},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"repeat", required_argument, NULL, OPT_REPEAT},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"pin", required_argument, NULL, OPT_PIN},
        {"rate", required_argument, NULL, OPT_RATE},
        {"json", required_argument, NULL, OPT_JSON},
        {"csv", required_argument, NULL, OPT_CSV},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"verify", required_argument, NULL, OPT_VERIFY},
        {"no-calibrate", no_argument, NULL, OPT_NO_CALIBRATE},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct bench_seen seen = {.backends = ipcm_backends_default};
    int c, r;
    seen.modes[0] = cfg->mode;
    seen.nmodes = 1;

    ipcm_getopt_begin();
    while ((c = getopt_long(argc, argv, ":b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return -1;
        case 'b': seen.backends = optarg; break;
        case OPT_JSON: *json = optarg; break;
        case OPT_CSV: *csv = optarg; break;
        case OPT_NO_CALIBRATE: seen.no_calibrate = true; break;
        case ':':
        case '?': return ipcm_option_error("bench", c, argc, argv);
        default:
            if ((r = sweep_option(c, optarg, cfg, &seen)))
                return r;
        }
    }
    if (optind < argc)
        return ipcm_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    if (*json && *csv && strcmp(*json, "-") == 0 && strcmp(*csv, "-") == 0)
        return ipcm_usage_error("bench", "--json - and --csv -: at most one output may be stdout");
    if (seen.msgs && seen.dur)
        return ipcm_usage_error("bench", "--messages and --duration exclude each other");
    if (seen.pairs && seen.pc)
        return ipcm_usage_error("bench", "--pairs excludes --producers and --consumers");
    for (size_t i = 0; i < seen.nmodes; i++)
        if (cfg->rate_per_s > 0 && strcmp(seen.modes[i], "latency") != 0)
            return ipcm_usage_error("bench", "--rate applies to --mode latency only");
    if ((r = sync_impls(&seen, cfg)))
        return r;
    int nb = ipcm_backends_arg("bench", seen.backends, cfg->backends, IPCM_BENCH_MAX_BACKENDS);
    if (nb < 0)
        return IPCM_EXIT_USAGE;
    cfg->nbackends = (size_t)nb;
    *seen_out = seen;
    return 0;
}

static void print_calibration(const struct ipcm_results *r, FILE *f)
{
    const struct ipcm_calibration *s = &r->calibration.at[0], *e = &r->calibration.at[1];
    bool end = r->calibration.have_end;
    char why[128];
    if (!end && isnan(s->memcpy_64k_gbs)) { /* memcpy is measurable wherever we calibrate */
        fputs("host calibration: skipped (--no-calibrate)\n", f);
        return;
    }
    fprintf(f,
            "host limits at start: cache-line round trip %.0f ns (cpu %d<->%d), memcpy "
            "64 KiB %.1f GB/s, cross-CPU stream 64 KiB %.1f GB/s, clock read %.0f ns",
            s->line_rtt_ns, s->cpu_a, s->cpu_b, s->memcpy_64k_gbs, s->stream_64k_gbs,
            s->timer_overhead_ns);
    if (end)
        fprintf(f, "; at end: %.0f ns, %.1f GB/s, %.1f GB/s", e->line_rtt_ns, e->memcpy_64k_gbs,
                e->stream_64k_gbs);
    fputc('\n', f);
    fprintf(f,
            "raw blocking pipe round trip (8 B, same timing code, p50): one CPU %.2f us, "
            "two CPUs %.2f us",
            s->raw_pipe_same_ns / 1e3, s->raw_pipe_cross_ns / 1e3);
    if (end)
        fprintf(f, "; at end: %.2f us, %.2f us", e->raw_pipe_same_ns / 1e3,
                e->raw_pipe_cross_ns / 1e3);
    fputc('\n', f);
    if (isnan(s->line_rtt_ns) || (end && isnan(e->line_rtt_ns)))
        fputs("(nan: not measurable, e.g. fewer than 2 CPUs or one was busy)\n", f);
    if (ipcm_record_busy(r))
        fprintf(f, "WARNING: other work held a CPU while this host was calibrated (a cache-line "
                   "round trip took microseconds); every figure of this run is unreliable\n");
    double others, steal;
    if (ipcm_record_load(r, &others, &steal)) {
        fprintf(f,
                "other work on this host during the run: %.0f%% of all CPU time, steal %.0f%%, "
                "load average %.1f -> %.1f\n",
                others, steal, r->load[0].loadavg_1m, r->load[1].loadavg_1m);
        if (others > 10 || steal > 5)
            fprintf(f, "WARNING: the host was shared while we measured; expect run-to-run "
                       "spread beyond the intervals shown\n");
    }
    if (ipcm_record_calibration_changed(r, why, sizeof(why)))
        fprintf(f, "WARNING: the machine changed during the run (%s); compare with care\n", why);
}

static int count_failed(const struct ipcm_bench_run *run)
{
    int n = 0;
    for (size_t i = 0; i < run->ncases; i++)
        n += run->cases[i].status == IPCM_CASE_FAILED;
    return n;
}

static int write_outputs(const struct ipcm_results *res, const char *json, const char *csv)
{
    int r, code = IPCM_EXIT_OK;
    if (json && (r = ipcm_record_write_json(res, json)) < 0) {
        fprintf(stderr, "ipcmark bench: cannot write %s: %s\n", json, ipcm_file_strerror(r));
        code = IPCM_EXIT_ENV;
    }
    if (csv && (r = ipcm_record_write_csv(res, csv)) < 0) {
        fprintf(stderr, "ipcmark bench: cannot write %s: %s\n", csv, ipcm_file_strerror(r));
        code = IPCM_EXIT_ENV;
    }
    return code;
}

/* Before the run: the host, its load and its calibration at the start. */
static void record_begin(struct ipcm_results *res, bool calibrate)
{
    ipcm_record_init(res);
    ipcm_load_sample(&res->load[0]);
    if (calibrate)
        ipcm_calibrate(&res->calibration.at[0]);
}

/* After the run: calibration and load at the end, the cases into the record. */
static int record_end(struct ipcm_results *res, const struct ipcm_bench_run *run, bool calibrate)
{
    if (calibrate)
        ipcm_calibrate(&res->calibration.at[1]);
    ipcm_load_sample(&res->load[1]);
    res->calibration.have_end = calibrate;
    return ipcm_bench_record(run, res);
}

static const char *rank_value(const struct ipcm_rank *k, double v, char *buf, size_t len)
{
    static const char *const pre[] = {"", "k", "M", "G", "T"};
    int i = 0;
    if (k->lower_is_better) {
        snprintf(buf, len, v < 1000 ? "%.0f ns" : "%.1f us", v < 1000 ? v : v / 1e3);
        return buf;
    }
    while (i < 4 && v >= 1000) {
        v /= 1000;
        i++;
    }
    snprintf(buf, len, "%.3g %s%s", v, pre[i], k->unit);
    return buf;
}

/* "2.4x", "69x": how many times better the best is than the runner-up. */
static const char *rank_ratio(const struct ipcm_rank *k, char *buf, size_t len)
{
    double x = 1.0 + k->margin_pct / 100.0;
    snprintf(buf, len, x < 10 ? "%.2f\u00d7" : "%.0f\u00d7", x);
    return buf;
}

/* The ranking lines that end the default run and every bench run with the cases for it. */
static void print_ranking(const struct ipcm_results *res, FILE *f)
{
    struct ipcm_rank rk[8];
    size_t n = ipcm_record_rank(res, rk, 8);
    char a[32], b[32], x[16];
    if (!n)
        return;
    fprintf(f, "\nbest backend on this host (medians; 'clear': the 95%% intervals do not overlap;\n"
           "'spins': the winner spins before it sleeps, holding a CPU while it waits)\n");
    for (size_t i = 0; i < n; i++) {
        const struct ipcm_rank *k = &rk[i];
        fprintf(f, "  %-18s %-11s %s (%s)", k->title, k->best,
                rank_value(k, k->best_value, a, sizeof(a)), k->workload);
        if (k->second)
            fprintf(f, ", %s %s %s (%s)%s", rank_ratio(k, x, sizeof(x)),
                    k->lower_is_better ? "lower than" : "the rate of", k->second,
                    rank_value(k, k->second_value, b, sizeof(b)),
                    k->clear ? ", clear" : ", within noise");
        if (k->best_spins)
            fprintf(f, " (spins)");
        fputc('\n', f);
    }
}

/* --remote HOST:PORT anywhere on the line: the run goes to cmd_bench_remote.c. */
static bool wants_remote(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--remote") == 0 || strncmp(argv[i], "--remote=", 9) == 0)
            return true;
    return false;
}

int ipcm_cmd_bench(int argc, char **argv)
{
    if (wants_remote(argc, argv))
        return ipcm_cmd_bench_remote(argc, argv);
    struct ipcm_bench_config cfg;
    struct bench_seen seen = {0};
    const char *json = NULL, *csv = NULL;
    ipcm_bench_config_defaults(&cfg);
    int r = parse_args(argc, argv, &cfg, &json, &csv, &seen);
    if (r < 0)
        return IPCM_EXIT_OK; /* --help */
    if (r > 0)
        return r;
    if ((r = ipcm_output_probe("bench", "--json", json)) ||
        (r = ipcm_output_probe("bench", "--csv", csv)))
        return r;

    struct ipcm_results res;
    struct ipcm_bench_run run = {0};
    record_begin(&res, !seen.no_calibrate);
    /* One run per mode, into one record: the calibration brackets them all. */
    for (size_t m = 0; m < seen.nmodes && r == 0; m++) {
        struct ipcm_bench_config one = cfg;
        struct progress_state ps = {.phase = seen.modes[m], .group = cfg.nbackends};
        one.mode = seen.modes[m];
        if (isatty(STDERR_FILENO)) {
            one.progress = progress;
            one.progress_ctx = &ps;
        }
        r = ipcm_bench_run(&one, &run);
    }
    if (r == 0)
        r = record_end(&res, &run, !seen.no_calibrate);
    if (r < 0) {
        fprintf(stderr, "ipcmark bench: %s\n", ipcm_strerror(r));
        ipcm_record_fini(&res);
        ipcm_bench_run_free(&run);
        return IPCM_EXIT_ENV;
    }
    res.config = ipcm_bench_config_json(&cfg, argc, argv);
    if (res.config && seen.nmodes > 1) {
        json_t *modes = json_array();
        for (size_t m = 0; m < seen.nmodes; m++)
            json_array_append_new(modes, json_string(seen.modes[m]));
        json_object_set_new(res.config, "modes", modes);
    }
    /* stdout carries the data when an output is "-"; the table goes beside it. */
    FILE *table =
        (json && strcmp(json, "-") == 0) || (csv && strcmp(csv, "-") == 0) ? stderr : stdout;
    ipcm_record_print_table(&res, table);
    print_calibration(&res, table);
    print_ranking(&res, table);
    fflush(table);
    int code = write_outputs(&res, json, csv);
    int failed = count_failed(&run);
    if (failed) {
        fprintf(stderr, "ipcmark bench: %d case%s failed\n", failed, failed > 1 ? "s" : "");
        code = IPCM_EXIT_FAIL;
    }
    json_decref(res.config);
    ipcm_record_fini(&res);
    ipcm_bench_run_free(&run);
    return code;
}

/* ---------------------------------------------------------------- default run */

/*
 * The default run's plan, sized so that the whole `ipcmark` (list, selftest, the quick
 * check, this, the plots) stays under 60 s on a 2-CPU machine with the 8 kernel
 * backends. Per backend 5 cases, each a 20 ms warm-up and 5 repetitions of 60 ms (about
 * 0.4 s a case with the processes started per repetition, 2 s a backend; the quick
 * check takes about 4.5 s a backend, the calibration 1.5 s in all): latency of
 * 64 B on one CPU and on two; throughput of 64 B and 64 KiB at 1x1 and of 64 B at 2x2,
 * which is what the ranking and the plots need. At least 5 repetitions per case, so
 * that `compare` can judge two default runs (RULINGS 3).
 */
#define DEFAULT_RUNS 4

static void default_plan(struct ipcm_bench_config c[DEFAULT_RUNS])
{
    ipcm_bench_config_defaults(&c[0]);
    c[0].mode = "latency";
    c[0].nbackends = (size_t)ipcm_parse_backends("all", c[0].backends, IPCM_BENCH_MAX_BACKENDS,
                                                 &(const char *){NULL});
    c[0].duration_ns = 60000000u;
    c[0].warmup_ns = 20000000u;
    c[0].repeat = 5;
    c[1] = c[0];
    c[1].mode = "throughput";
    c[1].sizes[0] = 64, c[1].sizes[1] = 65536;
    c[1].nsizes = 2;
    c[1].producers[0] = c[1].consumers[0] = 1;
    c[1].nproducers = c[1].nconsumers = 1;
    c[1].pairs = true;
    c[2] = c[1];
    c[2].nsizes = 1;
    c[2].producers[0] = c[2].consumers[0] = 2;
    /* RULINGS 3: ipcmark's own lock gets one hand-off row (same CPU and across CPUs). */
    c[3] = c[0];
    c[3].mode = "sync";
    c[3].max_variants = 1;
}

int ipcm_cmd_bench_default(char *json_path, size_t len)
{
    struct ipcm_bench_config cfg[DEFAULT_RUNS];
    struct progress_state ps[DEFAULT_RUNS];
    struct ipcm_results res;
    struct ipcm_bench_run run = {0};
    char stamp[32], json[96], csv[96];
    int r = 0;

    default_plan(cfg);
    record_begin(&res, true);
    for (int i = 0; i < DEFAULT_RUNS && r == 0; i++) {
        ps[i] = (struct progress_state){.phase = cfg[i].mode, .group = cfg[i].nbackends};
        if (isatty(STDERR_FILENO)) {
            cfg[i].progress = progress;
            cfg[i].progress_ctx = &ps[i];
        }
        r = ipcm_bench_run(&cfg[i], &run);
    }
    if (r == 0)
        r = record_end(&res, &run, true);
    if (r < 0) {
        fprintf(stderr, "ipcmark: bench: %s\n", ipcm_strerror(r));
        ipcm_record_fini(&res);
        ipcm_bench_run_free(&run);
        return IPCM_EXIT_ENV;
    }
    json_t *runs = json_array();
    for (int i = 0; i < DEFAULT_RUNS; i++)
        json_array_append_new(runs, ipcm_bench_config_json(&cfg[i], 0, NULL));
    res.config = json_pack("{s:s,s:o}", "suite", "default", "runs", runs);
    ipcm_record_print_table(&res, stdout);
    print_calibration(&res, stdout);
    print_ranking(&res, stdout);

    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(json, sizeof(json), "results/ipcmark-%s.json", stamp);
    snprintf(csv, sizeof(csv), "results/ipcmark-%s.csv", stamp);
    int code = IPCM_EXIT_OK;
    if (mkdir("results", 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "ipcmark: cannot create results/: %s\n", strerror(errno));
        code = IPCM_EXIT_ENV;
    } else {
        code = write_outputs(&res, json, csv);
        if (code == IPCM_EXIT_OK) {
            printf("results: %s %s\n", json, csv);
            snprintf(json_path, len, "%s", json);
        }
    }
    if (count_failed(&run))
        code = IPCM_EXIT_FAIL;
    json_decref(res.config);
    ipcm_record_fini(&res);
    ipcm_bench_run_free(&run);
    return code;
}
