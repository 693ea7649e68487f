/* SPDX-License-Identifier: MIT */
/*
 * results.c - host information and the result writers: JSON through jansson (never by
 * hand), CSV rows for gnuplot and spreadsheets, and the table for people.
 */
#include "results.h"

#include "outfile.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "ipcmark.h"

#ifndef IPCM_GIT
#define IPCM_GIT "unknown"
#endif
#ifndef IPCM_COMPILER
#define IPCM_COMPILER "unknown"
#endif
#ifndef IPCM_C_FLAGS
#define IPCM_C_FLAGS ""
#endif
#ifndef IPCM_BUILD_TYPE
#define IPCM_BUILD_TYPE ""
#endif

/* ---------------------------------------------------------------- host */

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* A sysctl of three numbers (net.ipv4.tcp_rmem); -1 each where unreadable. */
static void read_triple(const char *path, long v[3])
{
    FILE *f = fopen(path, "r");
    v[0] = v[1] = v[2] = -1;
    if (!f)
        return;
    if (fscanf(f, "%ld %ld %ld", &v[0], &v[1], &v[2]) != 3)
        v[0] = v[1] = v[2] = -1;
    fclose(f);
}

static void read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static void read_cpu_model(char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    snprintf(buf, len, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Model", 5) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + strspn(v + 1, " \t");
                v[strcspn(v, "\n")] = '\0';
                snprintf(buf, len, "%s", v);
                break;
            }
        }
    }
    fclose(f);
}

int ipcm_host_read(struct ipcm_results *h)
{
    struct utsname u;
    cpu_set_t set;
    h->hostname[0] = h->kernel[0] = h->governor[0] = '\0';
    memset(&h->limits, 0, sizeof(h->limits));
    if (uname(&u) == 0) {
        snprintf(h->hostname, sizeof(h->hostname), "%.63s", u.nodename);
        snprintf(h->kernel, sizeof(h->kernel), "%s %s %s %s", u.sysname, u.release, u.version,
                 u.machine);
    }
    read_cpu_model(h->cpu_model, 128); /* the width the writer has always used */
    h->cpus_online = sysconf(_SC_NPROCESSORS_ONLN);
    h->cpus_allowed = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
    read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", h->governor,
              sizeof(h->governor));
    struct ipcm_host_limits *l = &h->limits;
    l->pipe_buf = PIPE_BUF;
    l->pipe_max_size = read_long("/proc/sys/fs/pipe-max-size");
    l->pipe_user_pages_soft = read_long("/proc/sys/fs/pipe-user-pages-soft");
    l->mqueue_msg_max = read_long("/proc/sys/fs/mqueue/msg_max");
    l->mqueue_msgsize_max = read_long("/proc/sys/fs/mqueue/msgsize_max");
    l->mqueue_msg_default = read_long("/proc/sys/fs/mqueue/msg_default");
    l->mqueue_msgsize_default = read_long("/proc/sys/fs/mqueue/msgsize_default");
    l->mqueue_queues_max = read_long("/proc/sys/fs/mqueue/queues_max");
    l->wmem_max = read_long("/proc/sys/net/core/wmem_max");
    l->wmem_default = read_long("/proc/sys/net/core/wmem_default");
    l->rmem_max = read_long("/proc/sys/net/core/rmem_max");
    l->rmem_default = read_long("/proc/sys/net/core/rmem_default");
    read_triple("/proc/sys/net/ipv4/tcp_rmem", l->tcp_rmem);
    read_triple("/proc/sys/net/ipv4/tcp_wmem", l->tcp_wmem);
    l->lo_mtu = read_long("/sys/class/net/lo/mtu");
    return 0;
}

int ipcm_load_sample(struct ipcm_load_sample *s)
{
    unsigned long long v[10] = {0};
    struct rusage self, kids;
    long hz = sysconf(_SC_CLK_TCK);
    memset(s, 0, sizeof(*s));
    s->wall_ns = ipcm_now_ns();
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -errno;
    /* cpu user nice system idle iowait irq softirq steal guest guest_nice */
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 8 || hz <= 0)
        return -EIO;
    double idle = (double)(v[3] + v[4]), steal = (double)v[7];
    double total = 0;
    for (int i = 0; i < 8; i++) /* guest time is already inside user */
        total += (double)v[i];
    s->busy_s = (total - idle - steal) / (double)hz;
    s->steal_s = steal / (double)hz;
    s->total_s = total / (double)hz;
    if (getrusage(RUSAGE_SELF, &self) == 0 && getrusage(RUSAGE_CHILDREN, &kids) == 0)
        s->own_s = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
                            kids.ru_stime.tv_sec) +
                   (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
                            kids.ru_stime.tv_usec) /
                       1e6;
    f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &s->loadavg_1m) != 1)
            s->loadavg_1m = NAN;
        fclose(f);
    }
    return 0;
}

bool ipcm_record_load(const struct ipcm_results *r, double *others_pct, double *steal_pct)
{
    const struct ipcm_load_sample *l0 = &r->load[0], *l1 = &r->load[1];
    if (!(l0->total_s > 0 && l1->total_s > l0->total_s))
        return false;
    double all = l1->total_s - l0->total_s;
    double others = (l1->busy_s - l0->busy_s) - (l1->own_s - l0->own_s);
    *others_pct = (others > 0 ? others : 0) / all * 100;
    *steal_pct = (l1->steal_s - l0->steal_s) / all * 100;
    return true;
}

int ipcm_record_init(struct ipcm_results *r)
{
    memset(r, 0, sizeof(*r));
    ipcm_host_read(r);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(r->created_utc, sizeof(r->created_utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(r->schema, sizeof(r->schema), "%s", IPCM_RESULTS_SCHEMA);
    snprintf(r->tool_version, sizeof(r->tool_version), "%s", IPCM_VERSION);
    snprintf(r->tool_git, sizeof(r->tool_git), "%s", IPCM_GIT);
    for (int i = 0; i < 2; i++) {
        struct ipcm_calibration *c = &r->calibration.at[i];
        c->line_rtt_ns = c->memcpy_64k_gbs = c->stream_64k_gbs = NAN;
        c->raw_pipe_same_ns = c->raw_pipe_cross_ns = NAN;
    }
    return 0;
}

static bool moved(double a, double b)
{
    return isfinite(a) && isfinite(b) && a > 0 && b > 0 && (a / b > 1.25 || b / a > 1.25);
}

bool ipcm_record_calibration_changed(const struct ipcm_results *r, char *why, size_t len)
{
    if (!r->calibration.have_end)
        return false;
    const struct ipcm_calibration *s = &r->calibration.at[0], *e = &r->calibration.at[1];
    if (moved(s->line_rtt_ns, e->line_rtt_ns)) {
        snprintf(why, len, "cache-line round trip %.0f ns at start, %.0f ns at end", s->line_rtt_ns,
                 e->line_rtt_ns);
        return true;
    }
    if (moved(s->memcpy_64k_gbs, e->memcpy_64k_gbs)) {
        snprintf(why, len, "memcpy 64 KiB %.1f GB/s at start, %.1f GB/s at end", s->memcpy_64k_gbs,
                 e->memcpy_64k_gbs);
        return true;
    }
    if (moved(s->stream_64k_gbs, e->stream_64k_gbs)) {
        snprintf(why, len, "cross-CPU stream 64 KiB %.1f GB/s at start, %.1f GB/s at end",
                 s->stream_64k_gbs, e->stream_64k_gbs);
        return true;
    }
    return false;
}

bool ipcm_record_busy(const struct ipcm_results *r)
{
    const struct ipcm_rr_calibration *c = &r->calibration;
    return c->at[0].line_rtt_ns > IPCM_BUSY_LINE_RTT_NS ||
           (c->have_end && c->at[1].line_rtt_ns > IPCM_BUSY_LINE_RTT_NS);
}

/* ---------------------------------------------------------------- JSON */

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jlong(long v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *jpair(double a, double b, bool have_b)
{
    return json_pack("[o,o]", jreal(a), have_b ? jreal(b) : json_null());
}

static json_t *ipc_limits_json(const struct ipcm_host_limits *l)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "pipe_buf",
                     jlong(l->pipe_buf), "pipe_max_size", jlong(l->pipe_max_size),
                     "pipe_user_pages_soft", jlong(l->pipe_user_pages_soft), "mqueue_msg_max",
                     jlong(l->mqueue_msg_max), "mqueue_msgsize_max", jlong(l->mqueue_msgsize_max),
                     "mqueue_msg_default", jlong(l->mqueue_msg_default), "mqueue_msgsize_default",
                     jlong(l->mqueue_msgsize_default), "mqueue_queues_max",
                     jlong(l->mqueue_queues_max), "wmem_max", jlong(l->wmem_max), "wmem_default",
                     jlong(l->wmem_default), "rmem_max", jlong(l->rmem_max), "rmem_default",
                     jlong(l->rmem_default));
}

/* host.limits: the IPC limits, then what bounds the tcp backend (arrays: min, default,
 * max bytes). */
static json_t *limits_json(const struct ipcm_host_limits *l)
{
    json_t *o = ipc_limits_json(l);
    if (o)
        json_object_update_new(o, json_pack("{s:[o,o,o],s:[o,o,o],s:o}", "tcp_rmem",
                                            jlong(l->tcp_rmem[0]), jlong(l->tcp_rmem[1]),
                                            jlong(l->tcp_rmem[2]), "tcp_wmem",
                                            jlong(l->tcp_wmem[0]), jlong(l->tcp_wmem[1]),
                                            jlong(l->tcp_wmem[2]), "lo_mtu", jlong(l->lo_mtu)));
    return o;
}

/* host.calibration; changed and busy are judged here, from the two ends. */
static json_t *calibration_json(const struct ipcm_results *r)
{
    const struct ipcm_calibration *s = &r->calibration.at[0], *e = &r->calibration.at[1];
    bool end = r->calibration.have_end;
    char why[128] = "";
    bool changed = ipcm_record_calibration_changed(r, why, sizeof(why));
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:[i,i],s:b,s:s,s:b}", "line_rtt_ns",
        jpair(s->line_rtt_ns, e->line_rtt_ns, end), "memcpy_64k_gbs",
        jpair(s->memcpy_64k_gbs, e->memcpy_64k_gbs, end), "stream_64k_gbs",
        jpair(s->stream_64k_gbs, e->stream_64k_gbs, end), "raw_pipe_rtt_same_cpu_ns",
        jpair(s->raw_pipe_same_ns, e->raw_pipe_same_ns, end), "raw_pipe_rtt_cross_cpu_ns",
        jpair(s->raw_pipe_cross_ns, e->raw_pipe_cross_ns, end), "timer_overhead_ns",
        jpair(s->timer_overhead_ns, e->timer_overhead_ns, end), "line_cpus", s->cpu_a, s->cpu_b,
        "changed", changed, "changed_reason", why, "busy", ipcm_record_busy(r));
}

/* host.backends: what this build has, and each one's limits on this host. */
static json_t *backends_json(void)
{
    json_t *backends = json_array();
    for (size_t i = 0; i < ipcm_backend_count(); i++) {
        const struct ipcm_backend *be = ipcm_backend_at(i);
        struct ipcm_limits lim;
        if (ipcm_backend_limits(be, &lim) < 0)
            json_array_append_new(
                backends, json_pack("{s:s,s:b}", "name", ipcm_backend_name(be), "available", 0));
        else
            json_array_append_new(
                backends,
                json_pack("{s:s,s:b,s:I,s:s,s:I,s:I,s:b}", "name", ipcm_backend_name(be),
                          "available", 1, "max_msg", (json_int_t)lim.max_msg, "max_msg_source",
                          lim.max_msg_source, "max_depth", (json_int_t)lim.max_depth,
                          "buffer_bytes", (json_int_t)lim.buffer_bytes, "spins",
                          (ipcm_backend_caps(be) & IPCM_CAP_SPINS) != 0));
    }
    return backends;
}

/* host.plugins: every plugin this run loaded, so that compare can tell two plugins of one
 * name apart (a different path or hash is a different build, RULINGS 5). */
static json_t *plugins_json(void)
{
    json_t *a = json_array();
    char hash[17];
    for (size_t i = 0; ipcm_backend_plugin_at(i); i++) {
        const struct ipcm_backend *be = ipcm_backend_plugin_at(i);
        snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)ipcm_backend_plugin_hash(be));
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name", ipcm_backend_name(be), "path",
                                           ipcm_backend_plugin_path(be), "xxh3", hash));
    }
    return a;
}

static json_t *host_json(const struct ipcm_results *r)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:o,s:o,s:o}", "hostname", r->hostname,
                          "kernel", r->kernel, "cpu_model", r->cpu_model, "cpus_online",
                          (json_int_t)r->cpus_online, "cpus_allowed", (json_int_t)r->cpus_allowed,
                          "governor", r->governor, "limits", limits_json(&r->limits), "calibration",
                          calibration_json(r), "backends", backends_json());
    if (o && ipcm_backend_plugin_at(0))
        json_object_set_new(o, "plugins", plugins_json());
    double others, steal;
    if (o && ipcm_record_load(r, &others, &steal)) {
        const struct ipcm_load_sample *l0 = &r->load[0], *l1 = &r->load[1];
        double own = (l1->own_s - l0->own_s) / (l1->total_s - l0->total_s) * 100;
        json_object_set_new(o, "load",
                            json_pack("{s:o,s:o,s:o,s:[o,o]}", "others_pct", jreal(others),
                                      "own_pct", jreal(own), "steal_pct", jreal(steal),
                                      "loadavg_1m", jreal(l0->loadavg_1m), jreal(l1->loadavg_1m)));
    }
    return o;
}

static json_t *samples_json(const double *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, jreal(v[i]));
    return arr;
}

static json_t *stat_json(const struct ipcm_rr_stat *s)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:[o,o],s:o,s:o}", "median", jreal(s->median), "min",
                     jreal(s->min), "max", jreal(s->max), "mad", jreal(s->mad), "ci95",
                     jreal(s->ci_lo), jreal(s->ci_hi), "ci_level", jreal(s->ci_level), "samples",
                     samples_json(s->samples, s->nsamples));
}

static json_t *latency_json(const struct ipcm_rr_latency *l)
{
    return json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "kind", l->kind, "count",
                     (json_int_t)l->count, "min", jreal(l->min), "p50", jreal(l->p50), "p90",
                     jreal(l->p90), "p99", jreal(l->p99), "p999", jreal(l->p999), "max",
                     jreal(l->max), "mean", jreal(l->mean), "p50_samples",
                     samples_json(l->p50_samples, l->np50), "p99_samples",
                     samples_json(l->p99_samples, l->np99));
}

/* The key, status and run facts of a case: the fields every case has. */
static json_t *case_head_json(const struct ipcm_rr_case *c)
{
    json_t *cpus = json_array();
    for (unsigned i = 0; i < c->ncpus; i++)
        json_array_append_new(cpus, json_integer(c->cpus[i]));
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:o,s:s,s:s,s:I,s:b}", "mode", c->mode,
                     "backend", c->backend, "shape", c->shape, "size", (json_int_t)c->size,
                     "producers", (json_int_t)c->producers, "consumers", (json_int_t)c->consumers,
                     "workers", (json_int_t)c->workers, "placement", c->placement, "cpus", cpus,
                     "status", ipcm_rr_status_name(c->status), "reason", c->reason, "repetitions",
                     (json_int_t)c->repetitions, "spins", c->spins);
}

/* Each figure against the limit that bounds it (host.calibration at start). */
static json_t *of_limit_json(const struct ipcm_results *r, const struct ipcm_rr_case *c)
{
    json_t *lim = json_object();
    const struct ipcm_calibration *cal = &r->calibration.at[0];
    if (c->msgs_per_s.present && cal->memcpy_64k_gbs > 0)
        json_object_set_new(lim, "bytes_per_s_of_memcpy_64k",
                            jreal(c->bytes_per_s.median / (cal->memcpy_64k_gbs * 1e9)));
    if (c->latency_ns.present && !c->latency_ns.oneway && cal->line_rtt_ns > 0)
        json_object_set_new(lim, "p50_in_line_rtts", jreal(c->latency_ns.p50 / cal->line_rtt_ns));
    return lim;
}

json_t *ipcm_case_json(const struct ipcm_results *r, const struct ipcm_rr_case *c)
{
    json_t *o = case_head_json(c);
    if (!o)
        return NULL;
    if (c->has_chunk)
        json_object_set_new(o, "chunk", json_integer(c->chunk));
    if (c->start_method[0])
        json_object_set_new(o, "start_method", json_string(c->start_method));
    if (c->rate_per_s > 0)
        json_object_set_new(o, "rate_per_s", json_real(c->rate_per_s));
    json_object_set_new(o, "messages_per_repetition",
                        json_integer((json_int_t)c->messages_per_rep));
    json_object_set_new(o, "seconds", jreal(c->seconds));
    if (c->repetitions) {
        if (c->msgs_per_s.present) {
            json_object_set_new(o, "msgs_per_s", stat_json(&c->msgs_per_s));
            json_object_set_new(o, "bytes_per_s", stat_json(&c->bytes_per_s));
            json_object_set_new(o, "verify_ns_per_msg", jreal(c->verify_ns_per_msg));
        }
        if (c->tasks_per_s.present)
            json_object_set_new(o, "tasks_per_s", stat_json(&c->tasks_per_s));
        if (c->cpu_ns_per_msg.present) {
            json_object_set_new(o, "cpu_ns_per_msg", stat_json(&c->cpu_ns_per_msg));
            json_object_set_new(o, "csw_per_msg", stat_json(&c->csw_per_msg));
            json_object_set_new(o, "cpus_busy", stat_json(&c->cpus_busy));
        }
        if (c->latency_ns.present)
            json_object_set_new(o, c->latency_ns.oneway ? "oneway_latency_ns" : "latency_ns",
                                latency_json(&c->latency_ns));
        if (r)
            json_object_set_new(o, "of_limit", of_limit_json(r, c));
    }
    if (c->direction[0])
        json_object_set_new(o, "direction", json_string(c->direction));
    const struct ipcm_rr_verified *v = &c->verified;
    json_object_set_new(o, "verified",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "messages", (json_int_t)v->messages,
                                  "lost", (json_int_t)v->lost, "duplicated",
                                  (json_int_t)v->duplicated, "reordered", (json_int_t)v->reordered,
                                  "corrupt", (json_int_t)v->corrupt));
    return o;
}

/* The record as every run writes it; ipcm_record_json adds what only some runs have. */
static json_t *record_json_base(const struct ipcm_results *r)
{
    json_t *cases = json_array();
    const struct ipcm_calibration *cal = &r->calibration.at[0];
    for (size_t i = 0; i < r->ncases; i++)
        json_array_append_new(cases, ipcm_case_json(r, &r->cases[i]));
    return json_pack("{s:s,s:{s:s,s:s,s:s},s:s,s:o,s:{s:s,s:s,s:s},s:{s:s,s:o,s:I},s:O?,s:o}",
                     "schema", r->schema, "tool", "name", "ipcmark", "version", r->tool_version,
                     "git", r->tool_git, "created_utc", r->created_utc, "host", host_json(r),
                     "build", "compiler", IPCM_COMPILER, "flags", IPCM_C_FLAGS, "type",
                     IPCM_BUILD_TYPE, "timer", "clock", "CLOCK_MONOTONIC", "overhead_ns",
                     jreal(cal->timer_overhead_ns), "resolution_ns",
                     (json_int_t)cal->timer_resolution_ns, "config", r->config, "cases", cases);
}

json_t *ipcm_record_json(const struct ipcm_results *r)
{
    json_t *o = record_json_base(r);
    if (o && r->remote_json) /* bench --remote: both hosts and the path (docs/remote.md) */
        json_object_set(o, "remote", r->remote_json);
    return o;
}

int ipcm_record_write_json(const struct ipcm_results *r, const char *path)
{
    json_t *o = ipcm_record_json(r);
    if (!o)
        return -ENOMEM;
    struct ipcm_outfile out;
    int err = ipcm_outfile_open(&out, path);
    if (err == 0) {
        json_dumpf(o, out.f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        err = ipcm_outfile_commit(&out);
    }
    json_decref(o);
    return err;
}

/* ---------------------------------------------------------------- CSV */

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.6g", v);
    else
        fputs(",", f);
}

/* n numeric fields, each empty where the value is missing (!have) or not finite. */
static void csv_nums(FILE *f, const double *v, size_t n, bool have)
{
    for (size_t i = 0; i < n; i++)
        if (have)
            csv_num(f, v[i]);
        else
            fputc(',', f);
}

static void csv_summary(FILE *f, const struct ipcm_rr_stat *s)
{
    const double v[] = {s->median, s->min, s->max, s->mad, s->ci_lo, s->ci_hi};
    csv_nums(f, v, 6, s->present);
}

static void csv_latency(FILE *f, const struct ipcm_rr_latency *l)
{
    const double v[] = {l->min, l->p50, l->p90, l->p99, l->p999, l->max, l->mean};
    fprintf(f, ",%s", l->present ? l->kind : "");
    csv_nums(f, v, 7, l->present);
}

static void csv_row(FILE *f, const struct ipcm_rr_case *c)
{
    char cpus[256] = "";
    size_t off = 0;
    for (unsigned k = 0; k < c->ncpus && off < sizeof(cpus) - 8; k++)
        off += (size_t)snprintf(cpus + off, sizeof(cpus) - off, "%s%d", k ? " " : "", c->cpus[k]);
    /* A reason may hold commas; quote it and double any quote (RFC 4180). */
    fprintf(f, "%s,%s,%s,%llu,%u,%u,%u,%s,%s,%s,\"", c->mode, c->backend, c->shape,
            (unsigned long long)c->size, c->producers, c->consumers, c->workers, c->placement, cpus,
            ipcm_rr_status_name(c->status));
    for (const char *s = c->reason; *s; s++)
        fputs(*s == '"' ? "\"\"" : (char[2]){*s, 0}, f);
    fprintf(f, "\",%u", c->repetitions);
    csv_summary(f, &c->msgs_per_s);
    csv_summary(f, &c->bytes_per_s);
    csv_summary(f, &c->tasks_per_s);
    csv_latency(f, &c->latency_ns);
    fprintf(f, ",%llu,%llu,%llu,%llu,%llu", (unsigned long long)c->verified.messages,
            (unsigned long long)c->verified.lost, (unsigned long long)c->verified.duplicated,
            (unsigned long long)c->verified.reordered, (unsigned long long)c->verified.corrupt);
    /* The CPU columns come last, so the columns before keep their numbers. */
    const struct ipcm_rr_stat *cpu = &c->cpu_ns_per_msg;
    const double v[] = {cpu->median, cpu->min, cpu->max, c->csw_per_msg.median,
                        c->cpus_busy.median};
    csv_nums(f, v, 5, cpu->present);
    fputc('\n', f);
}

int ipcm_record_write_csv(const struct ipcm_results *r, const char *path)
{
    struct ipcm_outfile out;
    int err = ipcm_outfile_open(&out, path);
    if (err < 0)
        return err;
    FILE *f = out.f;
    /* Every figure's name carries its unit (_per_s, _ns, _messages; size in bytes); the
     * JSON keeps its own names. */
    fputs("mode,backend,shape,size_bytes,producers,consumers,workers,placement,cpus,status,"
          "reason,repetitions,"
          "msgs_per_s,msgs_per_s_min,msgs_per_s_max,msgs_per_s_mad,msgs_per_s_ci_lo,"
          "msgs_per_s_ci_hi,"
          "bytes_per_s,bytes_per_s_min,bytes_per_s_max,bytes_per_s_mad,bytes_per_s_ci_lo,"
          "bytes_per_s_ci_hi,"
          "tasks_per_s,tasks_per_s_min,tasks_per_s_max,tasks_per_s_mad,tasks_per_s_ci_lo,"
          "tasks_per_s_ci_hi,"
          "latency_kind,lat_min_ns,lat_p50_ns,lat_p90_ns,lat_p99_ns,lat_p999_ns,lat_max_ns,"
          "lat_mean_ns,verified_messages,lost_messages,duplicated_messages,reordered_messages,"
          "corrupt_messages,cpu_ns_per_msg,cpu_ns_per_msg_min,cpu_ns_per_msg_max,csw_per_msg,"
          "cpus_busy\n",
          f);
    for (size_t i = 0; i < r->ncases; i++)
        csv_row(f, &r->cases[i]);
    return ipcm_outfile_commit(&out);
}

/* ---------------------------------------------------------------- table */

static const char *human(double v, const char *unit, char *buf, size_t len)
{
    static const char *const pre[] = {"", "k", "M", "G", "T"};
    int i = 0;
    while (i < 4 && fabs(v) >= 1000.0) {
        v /= 1000.0;
        i++;
    }
    snprintf(buf, len, "%.3g %s%s", v, pre[i], unit);
    return buf;
}

static const char *human_ns(double ns, char *buf, size_t len)
{
    if (!isfinite(ns))
        snprintf(buf, len, "-");
    else if (ns < 1000)
        snprintf(buf, len, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, len, "%.3g us", ns / 1e3);
    else
        snprintf(buf, len, "%.3g ms", ns / 1e6);
    return buf;
}

/* "+-4.2%": half the 95% interval of the median, relative; "+-n/a" from one repetition,
 * which has no spread to show (a "+-0.0%" would claim a precision never measured). */
static const char *spread(const struct ipcm_rr_case *c, double lo, double hi, double median,
                          char *buf, size_t len)
{
    if (c->repetitions < 2 || !(median > 0) || !isfinite(lo) || !isfinite(hi))
        snprintf(buf, len, "+-n/a");
    else
        snprintf(buf, len, "+-%.1f%%", (hi - lo) / 2.0 / median * 100.0);
    return buf;
}

/* The result column of an ok case: rates, latency, each against this host's limit. */
static void table_result(const struct ipcm_results *r, const struct ipcm_rr_case *c, FILE *f)
{
    const struct ipcm_calibration *cal = &r->calibration.at[0];
    const struct ipcm_rr_latency *l = &c->latency_ns;
    char a[32], b[32], d[32], e[32];
    if (c->msgs_per_s.present) {
        const struct ipcm_rr_stat *m = &c->msgs_per_s;
        fprintf(f, "%s  %s  %s", human(m->median, "msg/s", a, sizeof(a)),
                human(c->bytes_per_s.median, "B/s", b, sizeof(b)),
                spread(c, m->ci_lo, m->ci_hi, m->median, d, sizeof(d)));
        if (cal->memcpy_64k_gbs > 0)
            fprintf(f, "  %.2g%% of memcpy",
                    c->bytes_per_s.median / (cal->memcpy_64k_gbs * 1e9) * 100);
        if (l->present && l->count)
            fprintf(f, "  1-way p50 %s", human_ns(l->p50, d, sizeof(d)));
        if (c->verify_ns_per_msg > 0)
            fprintf(f, "  checks %s/msg", human_ns(c->verify_ns_per_msg, e, sizeof(e)));
    }
    if (c->tasks_per_s.present) {
        const struct ipcm_rr_stat *t = &c->tasks_per_s;
        fprintf(f, "%s  %s", human(t->median, "task/s", a, sizeof(a)),
                spread(c, t->ci_lo, t->ci_hi, t->median, b, sizeof(b)));
    }
    if (l->present && !l->oneway) {
        struct ipcm_summary s50;
        ipcm_stats_summarize(l->p50_samples, l->np50, &s50);
        /* Two spaces after a rate shown before it (the sync modes report both). */
        fprintf(f, "%s%s p50 %s p99 %s p99.9 %s max %s", c->tasks_per_s.present ? "  " : "",
                l->kind, human_ns(l->p50, a, sizeof(a)), human_ns(l->p99, b, sizeof(b)),
                human_ns(l->p999, d, sizeof(d)), human_ns(l->max, e, sizeof(e)));
        if (s50.median > 0 || c->repetitions < 2)
            fprintf(f, "  p50 %s", spread(c, s50.ci_lo, s50.ci_hi, s50.median, a, sizeof(a)));
        if (cal->line_rtt_ns > 0)
            fprintf(f, "  %.0fx line RTT", l->p50 / cal->line_rtt_ns);
    }
    if (c->cpu_ns_per_msg.present) {
        /* What the figure cost: CPU per message of all participants, and how many of the
         * host's CPUs that kept busy ("1.9 of 2 CPUs"). */
        fprintf(f, "  CPU %s/%s %.2g csw", human_ns(c->cpu_ns_per_msg.median, a, sizeof(a)),
                c->tasks_per_s.present     ? "task"
                : l->present && !l->oneway ? "trip"
                                           : "msg",
                c->csw_per_msg.median);
        if (r->cpus_online > 0)
            fprintf(f, "  %.2g of %ld CPUs", c->cpus_busy.median, r->cpus_online);
        else
            fprintf(f, "  %.2g CPUs", c->cpus_busy.median);
    }
    if (c->spins)
        fputs("  (spins)", f);
}

void ipcm_record_print_table(const struct ipcm_results *r, FILE *f)
{
    fprintf(f, "%-10s %-10s %6s %5s %-9s  %s\n", "mode", "backend", "size", "PxC", "placement",
            "result (median of repetitions; 95% CI of the median; vs this host's limit)");
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        char pc[32], sz[32];
        if (c->producers || c->consumers)
            snprintf(pc, sizeof(pc), "%ux%u", c->producers, c->consumers);
        else if (c->workers)
            snprintf(pc, sizeof(pc), "w%u", c->workers);
        else
            snprintf(pc, sizeof(pc), "1:1");
        /* The largest exact unit: 1G, not 1048576K; 0 stays 0. */
        static const char *const unit[] = {"", "K", "M", "G", "T"};
        unsigned long long v = c->size;
        int u = 0;
        while (u < 4 && v >= 1024 && v % 1024 == 0) {
            v /= 1024;
            u++;
        }
        snprintf(sz, sizeof(sz), "%llu%s", v, unit[u]);
        char be[2 * IPCM_RR_NAME_LEN];
        snprintf(be, sizeof(be), "%s%s%s", c->backend, c->start_method[0] ? "/" : "",
                 c->start_method); /* bench --mode start: pipe/fork, pipe/exec */
        fprintf(f, "%-10s %-10s %6s %5s %-9s  ", c->mode, be, sz, pc, c->placement);
        if (c->status != IPCM_RR_OK) {
            fprintf(f, "%s: %s\n", ipcm_rr_status_name(c->status), c->reason);
            continue;
        }
        table_result(r, c, f);
        fputc('\n', f);
    }
}

/* ---------------------------------------------------------------- ranking */

struct cand {
    const struct ipcm_rr_case *c;
    double v, lo, hi;
};

/* Rankings weigh at most this many backends per workload (one bench run's limit). */
#define RANK_MAX_CANDS 16

static bool rank_pick(struct ipcm_rank *out, struct cand *cands, size_t n, bool lower)
{
    if (!n)
        return false;
    /* Best and runner-up among distinct backends. */
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (lower ? cands[i].v < cands[best].v : cands[i].v > cands[best].v)
            best = i;
    size_t second = n;
    for (size_t i = 0; i < n; i++)
        if (i != best &&
            (second == n || (lower ? cands[i].v < cands[second].v : cands[i].v > cands[second].v)))
            second = i;
    out->best = cands[best].c->backend;
    out->best_value = cands[best].v;
    out->best_spins = cands[best].c->spins;
    out->lower_is_better = lower;
    if (second < n) {
        out->second = cands[second].c->backend;
        out->second_value = cands[second].v;
        out->margin_pct = lower ? (cands[second].v / cands[best].v - 1.0) * 100.0
                                : (cands[best].v / cands[second].v - 1.0) * 100.0;
        out->clear = lower ? cands[best].hi < cands[second].lo : cands[best].lo > cands[second].hi;
    }
    return true;
}

/* A workload the ranking looks for. */
struct want {
    const char *title, *mode;
    uint64_t size;
    unsigned p, c;
    const char *placement; /* latency: "same-cpu" or "cross-cpu" */
    bool bytes, lower;
};

static size_t collect(const struct ipcm_results *r, const struct want *w, struct cand *out,
                      size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases && n < max; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        if (c->status != IPCM_RR_OK || strcmp(c->mode, w->mode) != 0 || c->size != w->size)
            continue;
        if (strcmp(w->mode, "throughput") == 0) {
            if (c->producers != w->p || c->consumers != w->c)
                continue;
            const struct ipcm_rr_stat *s = w->bytes ? &c->bytes_per_s : &c->msgs_per_s;
            out[n++] = (struct cand){c, s->median, s->ci_lo, s->ci_hi};
        } else {
            if (strcmp(c->placement, w->placement) != 0 || strcmp(c->shape, "pipe") != 0)
                continue;
            struct ipcm_summary s;
            ipcm_stats_summarize(c->latency_ns.p50_samples, c->latency_ns.np50, &s);
            out[n++] = (struct cand){c, c->latency_ns.p50, s.ci_lo, s.ci_hi};
        }
    }
    return n;
}

static void rank_describe(struct ipcm_rank *rk, const struct want *w, const struct ipcm_rr_case *c)
{
    snprintf(rk->title, sizeof(rk->title), "%s", w->title);
    if (w->lower)
        snprintf(rk->workload, sizeof(rk->workload), "round trip %llu B, %s",
                 (unsigned long long)c->size, c->placement);
    else
        snprintf(rk->workload, sizeof(rk->workload), "throughput %llu B, %ux%u",
                 (unsigned long long)c->size, c->producers, c->consumers);
    rk->unit = w->lower ? "ns" : w->bytes ? "B/s" : "msg/s";
}

size_t ipcm_record_rank(const struct ipcm_results *r, struct ipcm_rank *out, size_t max)
{
    struct cand cands[RANK_MAX_CANDS];
    size_t nout = 0;
    uint64_t minsize = UINT64_MAX, maxsize = 0;
    unsigned maxp = 0;
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        if (c->status != IPCM_RR_OK || strcmp(c->mode, "throughput") != 0)
            continue;
        minsize = c->size < minsize ? c->size : minsize;
        maxsize = c->size > maxsize ? c->size : maxsize;
        maxp = c->producers > maxp ? c->producers : maxp;
    }
    const struct want want[] = {
        {"small messages", "throughput", minsize, 1, 1, "", false, false},
        {"large messages", "throughput", maxsize, 1, 1, "", true, false},
        {"many producers", "throughput", 4096, maxp, maxp, "", false, false},
        {"latency, one CPU", "latency", 64, 0, 0, "same-cpu", false, true},
        {"latency, two CPUs", "latency", 64, 0, 0, "cross-cpu", false, true},
    };
    /* No 4 KiB case: the largest P at the smallest size. */
    const struct want fallback = {"", "throughput", minsize, maxp, maxp, "", false, false};
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]) && nout < max; w++) {
        size_t n = collect(r, &want[w], cands, RANK_MAX_CANDS);
        if (!n && w == 2 && maxp > 1)
            n = collect(r, &fallback, cands, RANK_MAX_CANDS);
        if ((w == 2 && maxp < 2) || (w == 1 && maxsize == minsize))
            continue; /* no P > 1, or one size only: "large" would repeat "small" */
        struct ipcm_rank *rk = &out[nout];
        memset(rk, 0, sizeof(*rk));
        if (!rank_pick(rk, cands, n, want[w].lower))
            continue;
        rank_describe(rk, &want[w], cands[0].c);
        nout++;
    }
    return nout;
}
