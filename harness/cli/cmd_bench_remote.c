/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench_remote.c - `ipcmark bench --remote HOST:PORT`: the cases whose backend can
 * cross hosts run with their far side on an `ipcmark serve`; both hosts and the path
 * (addresses, MTU, a bare TCP ping-pong at the start and the end) are printed/recorded.
 */
#include "cli.h"
#include "remote.h"

#include "ipcmark.h"
#include "outfile.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 16
#define PING_COUNT 200

struct remote_args {
    const char *remote, *key_file, *json;
    const struct ipcm_backend *be[MAX_ITEMS];
    int nbe;
    enum ipcm_remote_mode modes[2];
    size_t nmodes;
    uint64_t sizes[MAX_ITEMS];
    size_t nsizes;
    uint64_t messages; /* 0: per-mode default */
    uint64_t repeat;
    int timeout_ms;
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
        {"json", required_argument, NULL, 'j'},     {NULL, 0, NULL, 0}};
    int c, r = 0;
    uint64_t t;
    ipcm_getopt_begin();
    while (r == 0 && (c = getopt_long(argc, argv, ":b:", opts, NULL)) != -1) {
        switch (c) {
        case 'R': a->remote = optarg; break;
        case 'k': a->key_file = optarg; break;
        case 'j': a->json = optarg; break;
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
    if (r == 0 && a->json)
        r = ipcm_output_probe("bench", "--json", a->json);
    return r;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_dbl(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
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

static json_t *info_json(const struct ipcm_remote_info *i)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "host", i->host, "kernel", i->kernel, "cpu", i->cpu,
                     "ipcmark", i->version);
}

/* One case: repeat repetitions. Returns 0, or the case's error (c->why says it). */
static int one_case(struct ipcm_remote_conn *c, enum ipcm_remote_mode m, uint32_t size, uint64_t n,
                    uint64_t repeat, json_t *row, FILE *out)
{
    uint64_t *rtt = m == IPCM_RM_LATENCY ? malloc(n * repeat * sizeof(*rtt)) : NULL;
    json_t *reps = json_array();
    int r = m == IPCM_RM_LATENCY && !rtt ? -ENOMEM : 0;
    for (uint64_t k = 0; r == 0 && k < repeat; k++) {
        uint64_t el = 0;
        r = ipcm_remote_case(c, m, size, n, rtt ? rtt + k * n : NULL, &el);
        if (r == 0 && m == IPCM_RM_THROUGHPUT)
            json_array_append_new(reps, json_real((double)size * (double)n / ((double)el / 1e9)));
    }
    const char *mode = m == IPCM_RM_LATENCY ? "latency" : "throughput";
    char sz[32];
    ipcm_format_size(size, sz, sizeof(sz));
    if (r < 0) {
        fprintf(out, "tcp       %-10s %6s  failed: %s\n", mode, sz, c->why);
        json_object_set_new(row, "status", json_string("failed"));
        json_object_set_new(row, "reason", json_string(c->why));
    } else if (m == IPCM_RM_LATENCY) {
        qsort(rtt, n * repeat, sizeof(*rtt), cmp_u64);
        double med = (double)rtt[n * repeat / 2] / 1e3,
               p99 = (double)rtt[(n * repeat * 99) / 100] / 1e3;
        fprintf(out,
                "tcp       %-10s %6s  round trip median %.1f us, p99 %.1f us (%llu verified)\n",
                mode, sz, med, p99, (unsigned long long)(n * repeat));
        json_object_set_new(row, "status", json_string("ok"));
        json_object_set_new(row, "rtt_median_us", json_real(med));
        json_object_set_new(row, "rtt_p99_us", json_real(p99));
    } else {
        double v[100];
        for (size_t k = 0; k < repeat; k++)
            v[k] = json_real_value(json_array_get(reps, k));
        qsort(v, repeat, sizeof(v[0]), cmp_dbl);
        fprintf(out,
                "tcp       %-10s %6s  median %.1f MB/s over %llu repetitions (%llu verified)\n",
                mode, sz, v[repeat / 2] / 1e6, (unsigned long long)repeat,
                (unsigned long long)(n * repeat));
        json_object_set_new(row, "status", json_string("ok"));
        json_object_set_new(row, "bytes_per_s", reps);
        reps = NULL;
    }
    json_decref(reps);
    free(rtt);
    return r;
}

/* Both hosts and the path, on the table and in the record. */
static json_t *describe(const struct ipcm_remote_conn *c, FILE *out)
{
    struct ipcm_remote_info me;
    ipcm_remote_info_local(&me);
    fprintf(out, "remote: client %s (%s, %s) at %s\n", me.host, me.kernel, me.cpu, c->local);
    fprintf(out, "        server %s (%s, %s, ipcmark %s) at %s, path MTU %d\n", c->server.host,
            c->server.kernel, c->server.cpu, c->server.version, c->peer, c->mtu);
    return json_pack("{s:s, s:o, s:o, s:{s:s, s:s, s:i}}", "schema", "ipcmark-remote-1", "client",
                     info_json(&me), "server", info_json(&c->server), "path", "local", c->local,
                     "peer", c->peer, "mtu", c->mtu);
}

/* The cases on an open connection; returns the exit code. */
static int run_cases(struct ipcm_remote_conn *c, const struct remote_args *a, json_t *rec,
                     FILE *out)
{
    json_t *cases = json_array();
    json_object_set_new(rec, "cases", cases);
    int code = IPCM_EXIT_OK;
    double p0 = ping(c);
    if (p0 < 0) {
        fprintf(stderr, "ipcmark bench: %s\n", c->why);
        return IPCM_EXIT_ENV;
    }
    bool lost = false;
    for (size_t mi = 0; mi < a->nmodes; mi++)
        for (size_t si = 0; si < a->nsizes; si++) {
            enum ipcm_remote_mode m = a->modes[mi];
            uint64_t n = a->messages ? a->messages : m == IPCM_RM_LATENCY ? 2000 : 20000;
            json_t *row = json_pack("{s:s, s:s, s:I, s:I, s:I}", "backend", "tcp", "mode",
                                    m == IPCM_RM_LATENCY ? "latency" : "throughput", "size",
                                    (json_int_t)a->sizes[si], "messages", (json_int_t)n, "repeat",
                                    (json_int_t)a->repeat);
            json_array_append_new(cases, row);
            if (lost) {
                fprintf(out, "tcp       skipped: the connection to the server was lost\n");
                json_object_set_new(row, "status", json_string("skipped"));
                json_object_set_new(row, "reason", json_string(c->why));
                continue;
            }
            int r = one_case(c, m, (uint32_t)a->sizes[si], n, a->repeat, row, out);
            if (r == -EBADMSG)
                code = IPCM_EXIT_FAIL;
            else if (r < 0) {
                lost = true;
                code = code == IPCM_EXIT_FAIL ? code : IPCM_EXIT_ENV;
            }
        }
    double p1 = lost ? -1 : ping(c);
    fprintf(out, "path:   bare TCP ping-pong, 1 B, median of %d: %.1f us at the start, ",
            PING_COUNT, p0);
    if (p1 >= 0)
        fprintf(out, "%.1f us at the end\n", p1);
    else
        fprintf(out, "none at the end (connection lost)\n");
    json_t *path = json_object_get(rec, "path");
    json_object_set_new(path, "ping_start_us", json_real(p0));
    if (p1 >= 0)
        json_object_set_new(path, "ping_end_us", json_real(p1));
    return code;
}

/* The record through outfile.c: a temporary file renamed into place, or stdout for "-". */
static int write_json(const char *path, json_t *rec)
{
    struct ipcm_outfile o;
    int r = ipcm_outfile_open(&o, path);
    if (r == 0 && json_dumpf(rec, o.f, JSON_INDENT(2)) < 0) {
        ipcm_outfile_abort(&o);
        r = -EIO;
    } else if (r == 0) {
        fputc('\n', o.f);
        r = ipcm_outfile_commit(&o);
    }
    if (r < 0) {
        fprintf(stderr, "ipcmark bench: cannot write --json %s: %s\n", path, strerror(-r));
        return IPCM_EXIT_ENV;
    }
    return IPCM_EXIT_OK;
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
        const char *name = ipcm_backend_name(a.be[i]);
        if (!(ipcm_backend_caps(a.be[i]) & IPCM_CAP_CROSS_HOST))
            printf("%-9s skipped: local only (no IPCM_CAP_CROSS_HOST)\n", name);
        else if (strcmp(name, "tcp") != 0)
            printf("%-9s skipped: can cross hosts, but serve has no far side for it yet\n", name);
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
    struct ipcm_remote_conn c;
    if ((r = ipcm_remote_open(&c, a.remote, &key, a.timeout_ms)) < 0) {
        fprintf(stderr, "ipcmark bench: %s\n", c.why);
        ipcm_remote_close(&c);
        return r == -EINVAL ? IPCM_EXIT_USAGE : IPCM_EXIT_ENV;
    }
    FILE *out = a.json && strcmp(a.json, "-") == 0 ? stderr : stdout;
    json_t *rec = describe(&c, out);
    int code = run_cases(&c, &a, rec, out);
    ipcm_remote_close(&c);
    if (a.json) {
        int w = write_json(a.json, rec);
        code = code ? code : w;
    }
    json_decref(rec);
    return code;
}
