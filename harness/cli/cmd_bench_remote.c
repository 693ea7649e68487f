/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench_remote.c - `ipcmark bench --remote HOST:PORT`: the cases whose backend can
 * cross hosts run with their far side on an `ipcmark serve`. The record is the normal
 * results record (ipcmark-results/1: the same case keys and metrics as a local run, so
 * compare, plot and CSV read it) plus "remote": both hosts, the server's calibration and
 * the path (addresses, MTU, a bare TCP ping-pong at the start and the end). The run itself
 * (ipcm_remote_bench) is shared with `advise --remote`.
 */
#include "bench_remote.h"
#include "calibrate.h"
#include "cli.h"
#include "remote.h"
#include "results.h"
#include "stats.h"

#include "ipcmark.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 16
#define PING_COUNT 200

struct remote_args {
    const char *remote, *key_file, *json, *csv;
    const struct ipcm_backend *be[MAX_ITEMS];
    int nbe;
    enum ipcm_remote_mode modes[2];
    size_t nmodes;
    uint64_t sizes[MAX_ITEMS];
    size_t nsizes;
    uint64_t messages; /* 0: per-mode default */
    uint64_t repeat;
    int timeout_ms;
    bool reverse; /* throughput with the server as producer (iperf3 -R) */
};

static int parse_modes(const char *s, struct remote_args *a)
{
    char buf[64];
    if (strlen(s) >= sizeof(buf))
        return ipcm_usage_error("bench", "--mode '%s' too long", s);
    snprintf(buf, sizeof(buf), "%s", s);
    a->nmodes = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        enum ipcm_remote_mode m;
        if (strcmp(t, "latency") == 0)
            m = IPCM_RM_LATENCY;
        else if (strcmp(t, "throughput") == 0)
            m = IPCM_RM_THROUGHPUT;
        else
            return ipcm_usage_error("bench",
                                    "mode '%s' cannot run remotely (remote modes: "
                                    "latency, throughput)",
                                    t);
        if (a->nmodes < 2 && (a->nmodes == 0 || a->modes[0] != m))
            a->modes[a->nmodes++] = m;
    }
    return a->nmodes ? 0 : ipcm_usage_error("bench", "--mode '%s' names no mode", s);
}

static int count_arg(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v[1];
    if (ipcm_parse_list(s, false, v, 1) != 1 || v[0] < 1 || v[0] > max)
        return ipcm_usage_error("bench", "%s '%s' is not 1..%llu", opt, s, (unsigned long long)max);
    *out = v[0];
    return 0;
}

static int parse_remote_args(int argc, char **argv, struct remote_args *a)
{
    static const struct option opts[] = {
        {"remote", required_argument, NULL, 'R'},   {"key-file", required_argument, NULL, 'k'},
        {"backends", required_argument, NULL, 'b'}, {"mode", required_argument, NULL, 'm'},
        {"sizes", required_argument, NULL, 's'},    {"messages", required_argument, NULL, 'n'},
        {"repeat", required_argument, NULL, 'r'},   {"timeout", required_argument, NULL, 't'},
        {"json", required_argument, NULL, 'j'},     {"reverse", no_argument, NULL, 'V'},
        {"csv", required_argument, NULL, 'c'},      {NULL, 0, NULL, 0}};
    int c, r = 0;
    uint64_t t = 0; /* set by the parse before each use; -O3 cannot see it */
    ipcm_getopt_begin();
    while (r == 0 && (c = getopt_long(argc, argv, ":b:", opts, NULL)) != -1) {
        switch (c) {
        case 'R': a->remote = optarg; break;
        case 'k': a->key_file = optarg; break;
        case 'j': a->json = optarg; break;
        case 'V': a->reverse = true; break;
        case 'c': a->csv = optarg; break;
        case 'b':
            a->nbe = ipcm_backends_arg("bench", optarg, a->be, MAX_ITEMS);
            r = a->nbe < 0 ? IPCM_EXIT_USAGE : 0;
            break;
        case 'm': r = parse_modes(optarg, a); break;
        case 's': {
            int n = ipcm_parse_list(optarg, true, a->sizes, MAX_ITEMS);
            a->nsizes = n > 0 ? (size_t)n : 0;
            for (int i = 0; i < n; i++)
                if (a->sizes[i] < 1 || a->sizes[i] > IPCM_REMOTE_MAX_SIZE)
                    n = -EINVAL;
            if (n < 0)
                r = ipcm_usage_error("bench", "--sizes '%s': want sizes 1..16M", optarg);
            break;
        }
        case 'n': r = count_arg("--messages", optarg, 10000000, &a->messages); break;
        case 'r': r = count_arg("--repeat", optarg, 100, &a->repeat); break;
        case 't':
            r = count_arg("--timeout", optarg, 3600000, &t);
            a->timeout_ms = (int)t;
            break;
        default: r = ipcm_option_error("bench", c, argc, argv);
        }
    }
    if (r == 0 && optind < argc)
        r = ipcm_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    /* Every latency round trip is kept for the percentiles: 80 MB at most. */
    if (r == 0 && a->messages * a->repeat > 10000000)
        r = ipcm_usage_error("bench", "--messages x --repeat is %llu; at most 10000000 remotely",
                             (unsigned long long)(a->messages * a->repeat));
    /* Reverse latency: the server keeps each round trip of a repetition, within a bound. */
    bool lat = a->modes[0] == IPCM_RM_LATENCY || (a->nmodes > 1 && a->modes[1] == IPCM_RM_LATENCY);
    if (r == 0 && a->reverse && lat && a->messages > IPCM_REMOTE_MAX_RTT)
        r = ipcm_usage_error("bench", "--messages %llu: at most %llu for a --reverse latency",
                             (unsigned long long)a->messages, IPCM_REMOTE_MAX_RTT);
    if (r == 0 && a->json)
        r = ipcm_output_probe("bench", "--json", a->json);
    if (r == 0 && a->csv)
        r = ipcm_output_probe("bench", "--csv", a->csv);
    if (r == 0 && a->json && a->csv && strcmp(a->json, "-") == 0 && strcmp(a->csv, "-") == 0)
        r = ipcm_usage_error("bench", "--json and --csv cannot both be '-'");
    return r;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Nearest-rank percentile q of n sorted values. */
static double pct(const uint64_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n);
    return (double)v[i < n ? i : n - 1];
}

/* The median of a bare 1-byte TCP ping-pong: the path's own round trip. */
static double ping(struct ipcm_remote_conn *c)
{
    uint64_t rtt[PING_COUNT];
    if (ipcm_remote_case(c, IPCM_RM_LATENCY, 1, PING_COUNT, rtt, NULL) < 0)
        return -1;
    qsort(rtt, PING_COUNT, sizeof(rtt[0]), cmp_u64);
    return (double)rtt[PING_COUNT / 2] / 1e3;
}

static const char *mode_name(enum ipcm_remote_mode m)
{
    return m == IPCM_RM_LATENCY || m == IPCM_RM_REVERSE_LATENCY ? "latency" : "throughput";
}

/* Latency: per repetition p50 and p99 (the samples compare tests), then the merged
 * distribution. rtt holds n * reps round trips in ns, each repetition's n in a row. */
static int record_latency(struct ipcm_rr_case *o, uint64_t *rtt, uint64_t n, uint64_t reps)
{
    double p50[100], p99[100], sum = 0;
    for (uint64_t k = 0; k < reps; k++) {
        qsort(rtt + k * n, n, sizeof(*rtt), cmp_u64);
        p50[k] = pct(rtt + k * n, n, 0.50);
        p99[k] = pct(rtt + k * n, n, 0.99);
    }
    size_t all = n * reps;
    qsort(rtt, all, sizeof(*rtt), cmp_u64);
    for (size_t i = 0; i < all; i++)
        sum += (double)rtt[i];
    struct ipcm_rr_latency *l = &o->latency_ns;
    *l = (struct ipcm_rr_latency){.present = true,
                                  .kind = "round-trip",
                                  .count = all,
                                  .min = (double)rtt[0],
                                  .p50 = pct(rtt, all, 0.50),
                                  .p90 = pct(rtt, all, 0.90),
                                  .p99 = pct(rtt, all, 0.99),
                                  .p999 = pct(rtt, all, 0.999),
                                  .max = (double)rtt[all - 1],
                                  .mean = sum / (double)all};
    if (ipcm_rr_samples_dup(p50, reps, &l->p50_samples) < 0 ||
        ipcm_rr_samples_dup(p99, reps, &l->p99_samples) < 0)
        return -ENOMEM;
    l->np50 = l->np99 = reps;
    return 0;
}

/* Reverse latency: the server's percentiles per repetition (p50/p99 samples as above).
 * The whole-run figures come from percentiles, not every round trip (the server sends a
 * bounded summary): each is the repetitions' weighted by their counts, min and max exact. */
static int record_server_latency(struct ipcm_rr_case *o, const struct ipcm_remote_pct *p,
                                 uint64_t reps)
{
    double p50[100], p99[100], n = 0;
    struct ipcm_rr_latency *l = &o->latency_ns;
    *l = (struct ipcm_rr_latency){.present = true, .kind = "round-trip", .min = INFINITY};
    for (uint64_t k = 0; k < reps; k++)
        n += (double)p[k].count;
    for (uint64_t k = 0; k < reps; k++) {
        double w = (double)p[k].count / (n > 0 ? n : 1);
        p50[k] = (double)p[k].p50, p99[k] = (double)p[k].p99;
        l->p50 += w * (double)p[k].p50, l->p90 += w * (double)p[k].p90;
        l->p99 += w * (double)p[k].p99, l->p999 += w * (double)p[k].p999;
        l->mean += w * (double)p[k].mean;
        l->min = fmin(l->min, (double)p[k].min), l->max = fmax(l->max, (double)p[k].max);
    }
    l->count = (uint64_t)n;
    if (ipcm_rr_samples_dup(p50, reps, &l->p50_samples) < 0 ||
        ipcm_rr_samples_dup(p99, reps, &l->p99_samples) < 0)
        return -ENOMEM;
    l->np50 = l->np99 = reps;
    return 0;
}

/* Throughput: messages/s and bytes/s per repetition, summarised as a local run does. */
static int record_rate(struct ipcm_rr_case *o, const double *msgs, uint64_t reps, uint32_t size)
{
    double bytes[100];
    struct ipcm_summary sm, sb;
    for (uint64_t k = 0; k < reps; k++)
        bytes[k] = msgs[k] * size;
    if (ipcm_stats_summarize(msgs, reps, &sm) < 0 || ipcm_stats_summarize(bytes, reps, &sb) < 0)
        return -EINVAL;
    if (ipcm_rr_stat_set(&o->msgs_per_s, &sm, msgs, reps) < 0 ||
        ipcm_rr_stat_set(&o->bytes_per_s, &sb, bytes, reps) < 0)
        return -ENOMEM;
    return 0;
}

/* The case's key as a local run of the same mode spells it, so that compare can match a
 * remote case with a local one when asked to (--allow-path-change). */
static void case_head(struct ipcm_rr_case *o, const char *backend, enum ipcm_remote_mode m,
                      uint64_t size, bool reverse)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->mode, sizeof(o->mode), "%s", mode_name(m));
    snprintf(o->backend, sizeof(o->backend), "%s", backend);
    bool lat = m == IPCM_RM_LATENCY || m == IPCM_RM_REVERSE_LATENCY;
    snprintf(o->shape, sizeof(o->shape), "%s", lat ? "pipe" : "queue");
    o->size = size;
    o->producers = o->consumers = lat ? 0 : 1;
    snprintf(o->placement, sizeof(o->placement), "unpinned");
    snprintf(o->direction, sizeof(o->direction), "%s",
             lat && reverse ? "reverse-round-trip"
             : lat          ? "round-trip"
             : reverse      ? "server-to-client"
                            : "client-to-server");
}

/* One case: repeat repetitions into o. Returns 0, or the case's error (c->why says it). */
static int one_case(struct ipcm_remote_conn *c, enum ipcm_remote_mode m, uint32_t size, uint64_t n,
                    uint64_t repeat, struct ipcm_rr_case *o, FILE *out)
{
    uint64_t *rtt = m == IPCM_RM_LATENCY ? malloc(n * repeat * sizeof(*rtt)) : NULL;
    double msgs[100];
    struct ipcm_remote_pct srv[100];
    int r = m == IPCM_RM_LATENCY && !rtt ? -ENOMEM : 0;
    uint64_t t0 = ipcm_now_ns();
    for (uint64_t k = 0; r == 0 && k < repeat; k++) {
        uint64_t el = 0;
        r = ipcm_remote_case(c, m, size, n, rtt ? rtt + k * n : NULL, &el);
        msgs[k] = (double)n / ((double)(el ? el : 1) / 1e9);
        srv[k] = c->server_rtt;
    }
    o->seconds = (double)(ipcm_now_ns() - t0) / 1e9;
    o->messages_per_rep = n;
    const char *mode = m == IPCM_RM_REVERSE           ? "reverse"
                       : m == IPCM_RM_REVERSE_LATENCY ? "rev-latency"
                                                      : mode_name(m);
    char sz[32];
    ipcm_format_size(size, sz, sizeof(sz));
    if (r == -ENOMEM)
        snprintf(c->why, sizeof(c->why), "cannot allocate %llu round-trip times",
                 (unsigned long long)(n * repeat));
    if (r < 0) {
        fprintf(out, "tcp       %-10s %6s  failed: %s\n", mode, sz, c->why);
        o->status = IPCM_RR_FAILED;
        snprintf(o->reason, sizeof(o->reason), "%.*s", (int)sizeof(o->reason) - 1, c->why);
        free(rtt);
        return r;
    }
    o->status = IPCM_RR_OK;
    o->repetitions = (unsigned)repeat;
    o->verified.messages = n * repeat;
    if (m == IPCM_RM_LATENCY || m == IPCM_RM_REVERSE_LATENCY) {
        r = m == IPCM_RM_LATENCY ? record_latency(o, rtt, n, repeat)
                                 : record_server_latency(o, srv, repeat);
        fprintf(
            out, "tcp       %-10s %6s  round trip median %.1f us, p99 %.1f us (%llu verified%s)\n",
            mode, sz, o->latency_ns.p50 / 1e3, o->latency_ns.p99 / 1e3,
            (unsigned long long)(n * repeat), m == IPCM_RM_LATENCY ? "" : "; timed by the server");
    } else {
        r = record_rate(o, msgs, repeat, size);
        fprintf(out,
                "tcp       %-10s %6s  median %.1f MB/s over %llu repetitions (%llu verified)\n",
                mode, sz, o->bytes_per_s.median / 1e6, (unsigned long long)repeat,
                (unsigned long long)(n * repeat));
    }
    free(rtt);
    return r == -ENOMEM ? r : 0;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *info_json(const struct ipcm_remote_info *i)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "hostname", i->host, "kernel", i->kernel, "cpu_model",
                     i->cpu, "ipcmark", i->version);
}

/* The server's calibration, measured by it for this client (one value per figure). */
static json_t *server_cal_json(const struct ipcm_remote_conn *c)
{
    if (!c->server_calibrated)
        return json_null();
    const struct ipcm_calibration *k = &c->server_cal;
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:[i,i]}", "line_rtt_ns", jnum(k->line_rtt_ns),
        "memcpy_64k_gbs", jnum(k->memcpy_64k_gbs), "stream_64k_gbs", jnum(k->stream_64k_gbs),
        "raw_pipe_rtt_same_cpu_ns", jnum(k->raw_pipe_same_ns), "raw_pipe_rtt_cross_cpu_ns",
        jnum(k->raw_pipe_cross_ns), "timer_overhead_ns", jnum(k->timer_overhead_ns),
        "timer_resolution_ns", (json_int_t)k->timer_resolution_ns, "line_cpus", k->cpu_a, k->cpu_b);
}

/* Both hosts and the path, on the table and in the record's "remote". */
static json_t *describe(const struct ipcm_remote_conn *c, bool reverse, FILE *out)
{
    struct ipcm_remote_info me;
    ipcm_remote_info_local(&me);
    fprintf(out, "remote: client %s (%s, %s) at %s\n", me.host, me.kernel, me.cpu, c->local);
    fprintf(out, "        server %s (%s, %s, ipcmark %s) at %s, path MTU %d\n", c->server.host,
            c->server.kernel, c->server.cpu, c->server.version, c->peer, c->mtu);
    if (c->server_calibrated)
        fprintf(out,
                "        server calibration: cache-line round trip %.0f ns, memcpy 64K %.1f GB/s\n",
                c->server_cal.line_rtt_ns, c->server_cal.memcpy_64k_gbs);
    fflush(out); /* the cases start now: a script watching the output may act on it */
    json_t *server = info_json(&c->server);
    json_object_set_new(server, "calibration", server_cal_json(c));
    return json_pack("{s:s, s:o, s:o, s:{s:s, s:s, s:i, s:i}}", "direction",
                     reverse ? "reverse" : "forward", "client", info_json(&me), "server", server,
                     "path", "local", c->local, "peer", c->peer, "mtu", c->mtu, "ping_count",
                     PING_COUNT);
}

/* The options as given, like a local run's "config". */
static json_t *config_json(const struct remote_args *a, int argc, char **argv)
{
    json_t *args = json_array(), *modes = json_array(), *sizes = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(args, json_string(argv[i]));
    for (size_t i = 0; i < a->nmodes; i++)
        json_array_append_new(modes, json_string(mode_name(a->modes[i])));
    for (size_t i = 0; i < a->nsizes; i++)
        json_array_append_new(sizes, json_integer((json_int_t)a->sizes[i]));
    return json_pack("{s:o, s:s, s:o, s:o, s:I, s:I, s:b, s:i}", "argv", args, "remote", a->remote,
                     "modes", modes, "sizes", sizes, "messages", (json_int_t)a->messages, "repeat",
                     (json_int_t)a->repeat, "reverse", a->reverse, "timeout_ms", a->timeout_ms);
}

const char *ipcm_remote_skip_reason(const struct ipcm_backend *be)
{
    if (!(ipcm_backend_caps(be) & IPCM_CAP_CROSS_HOST))
        return "local only: cannot cross hosts (no IPCM_CAP_CROSS_HOST)";
    if (strcmp(ipcm_backend_name(be), "tcp") != 0)
        return "can cross hosts, but serve has no far side for it yet";
    return NULL;
}

/* Room for every case of the run: tcp's, and the local-only backends' skipped rows. */
static int cases_alloc(struct ipcm_results *res, const struct ipcm_remote_plan *p)
{
    res->cases = calloc((size_t)p->nbe * p->nmodes * p->nsizes + 1, sizeof(*res->cases));
    return res->cases ? 0 : -ENOMEM;
}

/* The selected backends that cannot run remotely, as skipped cases with the reason. */
static void record_skipped(struct ipcm_results *res, const struct ipcm_remote_plan *p)
{
    for (int i = 0; i < p->nbe; i++) {
        const char *why = ipcm_remote_skip_reason(p->be[i]);
        if (!why)
            continue;
        for (size_t mi = 0; mi < p->nmodes; mi++)
            for (size_t si = 0; si < p->nsizes; si++) {
                struct ipcm_rr_case *o = &res->cases[res->ncases++];
                case_head(o, ipcm_backend_name(p->be[i]), p->modes[mi], p->sizes[si], p->reverse);
                o->status = IPCM_RR_SKIPPED;
                snprintf(o->reason, sizeof(o->reason), "%s", why);
            }
    }
}

/* The tcp cases on an open connection, into res and remote; returns the exit code. */
static int run_cases(struct ipcm_remote_conn *c, const struct ipcm_remote_plan *p,
                     struct ipcm_results *res, json_t *remote, FILE *out)
{
    int code = IPCM_EXIT_OK;
    double p0 = ping(c);
    bool lost = p0 < 0; /* then every case is recorded skipped, with the reason */
    if (lost) {
        fprintf(stderr, "ipcmark %s: %s\n", p->cmd, c->why);
        code = IPCM_EXIT_ENV;
    }
    for (size_t mi = 0; mi < p->nmodes; mi++)
        for (size_t si = 0; si < p->nsizes; si++) {
            enum ipcm_remote_mode m = p->modes[mi];
            uint64_t n = m == IPCM_RM_LATENCY ? p->lat_messages : p->tp_messages;
            struct ipcm_rr_case *o = &res->cases[res->ncases++];
            case_head(o, "tcp", m, p->sizes[si], p->reverse);
            if (lost) {
                fprintf(out, "tcp       skipped: the connection to the server was lost\n");
                o->status = IPCM_RR_SKIPPED;
                snprintf(o->reason, sizeof(o->reason), "%.*s", (int)sizeof(o->reason) - 1, c->why);
                continue;
            }
            if (p->reverse) /* the server produces, or sends and times */
                m = m == IPCM_RM_THROUGHPUT ? IPCM_RM_REVERSE : IPCM_RM_REVERSE_LATENCY;
            int r = one_case(c, m, (uint32_t)p->sizes[si], n, p->repeat, o, out);
            if (r == -EBADMSG)
                code = IPCM_EXIT_FAIL;
            else if (r < 0) {
                lost = true;
                code = code == IPCM_EXIT_FAIL ? code : IPCM_EXIT_ENV;
            }
        }
    double p1 = lost ? -1 : ping(c);
    fprintf(out, "path:   bare TCP ping-pong, 1 B, median of %d: ", PING_COUNT);
    if (p0 >= 0)
        fprintf(out, "%.1f us at the start, ", p0);
    else
        fprintf(out, "none at the start, ");
    if (p1 >= 0)
        fprintf(out, "%.1f us at the end\n", p1);
    else
        fprintf(out, "none at the end (connection lost)\n");
    json_t *path = json_object_get(remote, "path");
    json_object_set_new(path, "ping_start_us", p0 >= 0 ? json_real(p0) : json_null());
    json_object_set_new(path, "ping_end_us", p1 >= 0 ? json_real(p1) : json_null());
    return code;
}

/* Calibrate here, then connect (the server calibrates while we wait for OK: the two never
 * overlap, and a server's idle timeout never sees us calibrating), run, calibrate again. */
int ipcm_remote_bench(const struct ipcm_remote_plan *p, struct ipcm_results *res, FILE *out)
{
    ipcm_record_init(res);
    ipcm_load_sample(&res->load[0]);
    ipcm_calibrate(&res->calibration.at[0]);
    struct ipcm_remote_conn c;
    int r = ipcm_remote_open(&c, p->remote, p->key, p->timeout_ms);
    if (r < 0) {
        fprintf(stderr, "ipcmark %s: %s\n", p->cmd, c.why);
        ipcm_remote_close(&c);
        return r == -EINVAL ? IPCM_EXIT_USAGE : IPCM_EXIT_ENV;
    }
    res->remote_json = describe(&c, p->reverse, out);
    int code = IPCM_EXIT_ENV;
    if (cases_alloc(res, p) < 0)
        fprintf(stderr, "ipcmark %s: out of memory\n", p->cmd);
    else {
        record_skipped(res, p);
        code = run_cases(&c, p, res, res->remote_json, out);
    }
    ipcm_remote_close(&c);
    ipcm_calibrate(&res->calibration.at[1]);
    res->calibration.have_end = true;
    ipcm_load_sample(&res->load[1]);
    return code;
}

/* The run, then its record written. Returns the exit code. */
static int remote_run(const struct remote_args *a, const struct ipcm_remote_key *key, int argc,
                      char **argv)
{
    struct ipcm_remote_plan p = {.cmd = "bench",
                                 .remote = a->remote,
                                 .key = key,
                                 .be = a->be,
                                 .nbe = a->nbe,
                                 .modes = a->modes,
                                 .nmodes = a->nmodes,
                                 .sizes = a->sizes,
                                 .nsizes = a->nsizes,
                                 .lat_messages = a->messages ? a->messages : 2000,
                                 .tp_messages = a->messages ? a->messages : 20000,
                                 .repeat = a->repeat,
                                 .timeout_ms = a->timeout_ms,
                                 .reverse = a->reverse};
    struct ipcm_results res;
    bool dash = (a->json && strcmp(a->json, "-") == 0) || (a->csv && strcmp(a->csv, "-") == 0);
    int code = ipcm_remote_bench(&p, &res, dash ? stderr : stdout), r;
    if (!res.remote_json) { /* no connection: nothing to write */
        ipcm_record_fini(&res);
        return code;
    }
    res.config = config_json(a, argc, argv);
    if (a->json && (r = ipcm_record_write_json(&res, a->json)) < 0) {
        fprintf(stderr, "ipcmark bench: cannot write --json %s: %s\n", a->json, strerror(-r));
        code = code ? code : IPCM_EXIT_ENV;
    }
    if (a->csv && (r = ipcm_record_write_csv(&res, a->csv)) < 0) {
        fprintf(stderr, "ipcmark bench: cannot write --csv %s: %s\n", a->csv, strerror(-r));
        code = code ? code : IPCM_EXIT_ENV;
    }
    json_decref(res.remote_json);
    json_decref(res.config);
    ipcm_record_fini(&res);
    return code;
}

int ipcm_cmd_bench_remote(int argc, char **argv)
{
    struct remote_args a = {.modes = {IPCM_RM_LATENCY},
                            .nmodes = 1,
                            .sizes = {64},
                            .nsizes = 1,
                            .repeat = 5,
                            .timeout_ms = 10000};
    int r = parse_remote_args(argc, argv, &a);
    if (r)
        return r;
    if (a.nbe == 0) /* default: every backend that can cross hosts */
        a.nbe = ipcm_backends_arg("bench", ipcm_backends_default, a.be, MAX_ITEMS);
    bool any = false;
    for (int i = 0; i < a.nbe; i++) {
        const char *why = ipcm_remote_skip_reason(a.be[i]);
        if (why)
            printf("%-9s skipped: %s\n", ipcm_backend_name(a.be[i]), why);
        else
            any = true;
    }
    if (!any) {
        fprintf(stderr, "ipcmark bench: no selected backend can run remotely (only tcp can)\n");
        return IPCM_EXIT_ENV;
    }
    struct ipcm_remote_key key;
    char why[300];
    if (ipcm_remote_key_load(a.key_file, &key, why, sizeof(why)) < 0) {
        fprintf(stderr, "ipcmark bench: %s\n", why);
        return IPCM_EXIT_USAGE;
    }
    return remote_run(&a, &key, argc, argv);
}
