/* SPDX-License-Identifier: MIT */
/*
 * results.c - host information and the result writers: JSON through jansson (never by
 * hand), CSV rows for gnuplot and spreadsheets, and the table for people.
 */
#include "results.h"

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

int ipcm_host_read(struct ipcm_host *h)
{
    struct utsname u;
    cpu_set_t set;
    memset(h, 0, sizeof(*h));
    if (uname(&u) == 0) {
        snprintf(h->hostname, sizeof(h->hostname), "%.63s", u.nodename);
        snprintf(h->kernel, sizeof(h->kernel), "%s %s %s %s", u.sysname, u.release, u.version,
                 u.machine);
    }
    read_cpu_model(h->cpu_model, sizeof(h->cpu_model));
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
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
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
                   (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
                            kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
    f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &s->loadavg_1m) != 1)
            s->loadavg_1m = NAN;
        fclose(f);
    }
    return 0;
}

bool ipcm_record_load(const struct ipcm_record *r, double *others_pct, double *steal_pct)
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

int ipcm_record_init(struct ipcm_record *r)
{
    memset(r, 0, sizeof(*r));
    ipcm_host_read(&r->host);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(r->created_utc, sizeof(r->created_utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
    r->cal[0].line_rtt_ns = r->cal[1].line_rtt_ns = NAN;
    r->cal[0].memcpy_64k_gbs = r->cal[1].memcpy_64k_gbs = NAN;
    r->cal[0].stream_64k_gbs = r->cal[1].stream_64k_gbs = NAN;
    r->cal[0].raw_pipe_same_ns = r->cal[1].raw_pipe_same_ns = NAN;
    r->cal[0].raw_pipe_cross_ns = r->cal[1].raw_pipe_cross_ns = NAN;
    return 0;
}

static bool moved(double a, double b)
{
    return isfinite(a) && isfinite(b) && a > 0 && b > 0 && (a / b > 1.25 || b / a > 1.25);
}

bool ipcm_record_calibration_changed(const struct ipcm_record *r, char *why, size_t len)
{
    if (!r->have_end)
        return false;
    const struct ipcm_calibration *s = &r->cal[0], *e = &r->cal[1];
    if (moved(s->line_rtt_ns, e->line_rtt_ns)) {
        snprintf(why, len, "cache-line round trip %.0f ns at start, %.0f ns at end",
                 s->line_rtt_ns, e->line_rtt_ns);
        return true;
    }
    if (moved(s->memcpy_64k_gbs, e->memcpy_64k_gbs)) {
        snprintf(why, len, "memcpy 64 KiB %.1f GB/s at start, %.1f GB/s at end",
                 s->memcpy_64k_gbs, e->memcpy_64k_gbs);
        return true;
    }
    if (moved(s->stream_64k_gbs, e->stream_64k_gbs)) {
        snprintf(why, len, "cross-CPU stream 64 KiB %.1f GB/s at start, %.1f GB/s at end",
                 s->stream_64k_gbs, e->stream_64k_gbs);
        return true;
    }
    return false;
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

static json_t *host_json(const struct ipcm_record *r)
{
    const struct ipcm_host *h = &r->host;
    const struct ipcm_host_limits *l = &h->limits;
    const struct ipcm_calibration *s = &r->cal[0], *e = &r->cal[1];
    char why[128] = "";
    bool changed = ipcm_record_calibration_changed(r, why, sizeof(why));

    json_t *limits = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "pipe_buf", jlong(l->pipe_buf),
        "pipe_max_size", jlong(l->pipe_max_size), "pipe_user_pages_soft",
        jlong(l->pipe_user_pages_soft), "mqueue_msg_max", jlong(l->mqueue_msg_max),
        "mqueue_msgsize_max", jlong(l->mqueue_msgsize_max), "mqueue_msg_default",
        jlong(l->mqueue_msg_default), "mqueue_msgsize_default", jlong(l->mqueue_msgsize_default),
        "mqueue_queues_max", jlong(l->mqueue_queues_max), "wmem_max", jlong(l->wmem_max),
        "wmem_default", jlong(l->wmem_default), "rmem_max", jlong(l->rmem_max), "rmem_default",
        jlong(l->rmem_default));
    bool busy = s->line_rtt_ns > IPCM_BUSY_LINE_RTT_NS ||
                (r->have_end && e->line_rtt_ns > IPCM_BUSY_LINE_RTT_NS);
    json_t *cal = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:[i,i],s:b,s:s,s:b}", "line_rtt_ns",
        jpair(s->line_rtt_ns, e->line_rtt_ns, r->have_end), "memcpy_64k_gbs",
        jpair(s->memcpy_64k_gbs, e->memcpy_64k_gbs, r->have_end), "stream_64k_gbs",
        jpair(s->stream_64k_gbs, e->stream_64k_gbs, r->have_end), "raw_pipe_rtt_same_cpu_ns",
        jpair(s->raw_pipe_same_ns, e->raw_pipe_same_ns, r->have_end),
        "raw_pipe_rtt_cross_cpu_ns", jpair(s->raw_pipe_cross_ns, e->raw_pipe_cross_ns, r->have_end),
        "timer_overhead_ns",
        jpair(s->timer_overhead_ns, e->timer_overhead_ns, r->have_end), "line_cpus", s->cpu_a,
        s->cpu_b, "changed", changed, "changed_reason", why, "busy", busy);
    json_t *backends = json_array();
    for (size_t i = 0; i < ipcm_backend_count(); i++) {
        const struct ipcm_backend *be = ipcm_backend_at(i);
        struct ipcm_limits lim;
        if (ipcm_backend_limits(be, &lim) < 0)
            json_array_append_new(backends, json_pack("{s:s,s:b}", "name",
                                                      ipcm_backend_name(be), "available", 0));
        else
            json_array_append_new(
                backends, json_pack("{s:s,s:b,s:I,s:s,s:I,s:I,s:b}", "name",
                                    ipcm_backend_name(be), "available", 1, "max_msg",
                                    (json_int_t)lim.max_msg, "max_msg_source",
                                    lim.max_msg_source, "max_depth", (json_int_t)lim.max_depth,
                                    "buffer_bytes", (json_int_t)lim.buffer_bytes, "spins",
                                    (ipcm_backend_caps(be) & IPCM_CAP_SPINS) != 0));
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:o,s:o,s:o}", "hostname", h->hostname,
                          "kernel", h->kernel, "cpu_model", h->cpu_model, "cpus_online",
                          (json_int_t)h->cpus_online, "cpus_allowed",
                          (json_int_t)h->cpus_allowed, "governor", h->governor, "limits",
                          limits, "calibration", cal, "backends", backends);
    double others, steal;
    if (o && ipcm_record_load(r, &others, &steal)) {
        const struct ipcm_load_sample *l0 = &r->load[0], *l1 = &r->load[1];
        double own = (l1->own_s - l0->own_s) / (l1->total_s - l0->total_s) * 100;
        json_object_set_new(o, "load",
                            json_pack("{s:o,s:o,s:o,s:[o,o]}", "others_pct", jreal(others),
                                      "own_pct", jreal(own), "steal_pct", jreal(steal),
                                      "loadavg_1m", jreal(l0->loadavg_1m),
                                      jreal(l1->loadavg_1m)));
    }
    return o;
}

static json_t *summary_json(const struct ipcm_summary *s, const double *samples, unsigned n)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(arr, jreal(samples[i]));
    return json_pack("{s:o,s:o,s:o,s:o,s:[o,o],s:o,s:o}", "median", jreal(s->median), "min",
                     jreal(s->min), "max", jreal(s->max), "mad", jreal(s->mad), "ci95",
                     jreal(s->ci_lo), jreal(s->ci_hi), "ci_level", jreal(s->ci_level),
                     "samples", arr);
}

static json_t *latency_json(const struct ipcm_bench_case *c)
{
    const struct ipcm_bench_latency *l = &c->latency;
    json_t *arr = json_array(), *a99 = json_array();
    for (unsigned i = 0; i < c->repetitions; i++) {
        json_array_append_new(arr, jreal(l->p50_samples[i]));
        json_array_append_new(a99, jreal(l->p99_samples[i]));
    }
    return json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "kind", c->latency_kind,
                     "count", (json_int_t)l->count, "min", jreal(l->min), "p50", jreal(l->p50),
                     "p90", jreal(l->p90), "p99", jreal(l->p99), "p999", jreal(l->p999), "max",
                     jreal(l->max), "mean", jreal(l->mean), "p50_samples", arr, "p99_samples", a99);
}

json_t *ipcm_case_json(const struct ipcm_record *r, const struct ipcm_bench_case *c)
{
    const struct ipcm_bench_params *p = &c->params;
    const struct ipcm_bench_mode *m = c->mode;
    json_t *cpus = json_array();
    if (p->placement != IPCM_PLACE_UNPINNED)
        for (unsigned i = 0; i < p->ncpus; i++)
            json_array_append_new(cpus, json_integer(p->cpus[i]));
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:o,s:s,s:s,s:I,s:b}", "mode", m->name, "backend",
        ipcm_backend_name(p->be), "shape", p->shape == IPCM_SHAPE_PIPE ? "pipe" : "queue",
        "size", (json_int_t)p->size, "producers", (json_int_t)p->producers, "consumers",
        (json_int_t)p->consumers, "workers", (json_int_t)p->workers, "placement",
        ipcm_bench_placement_name(p->placement), "cpus", cpus, "status",
        ipcm_bench_status_name(c->status), "reason", c->reason, "repetitions",
        (json_int_t)c->repetitions, "spins", c->spins);
    if (!o)
        return NULL;
    if (m->axes & IPCM_BENCH_AXIS_CHUNKS)
        json_object_set_new(o, "chunk", json_integer(p->chunk));
    if (p->rate_per_s > 0)
        json_object_set_new(o, "rate_per_s", json_real(p->rate_per_s));
    json_object_set_new(o, "messages_per_repetition",
                        json_integer((json_int_t)c->messages_per_rep));
    json_object_set_new(o, "seconds", jreal(c->seconds));
    if (c->repetitions) {
        if (m->metrics & IPCM_BENCH_METRIC_MSGS) {
            json_object_set_new(o, "msgs_per_s",
                                summary_json(&c->msgs, c->msgs_per_s, c->repetitions));
            json_object_set_new(o, "bytes_per_s",
                                summary_json(&c->bytes, c->bytes_per_s, c->repetitions));
            json_object_set_new(o, "verify_ns_per_msg", jreal(c->verify_ns_per_msg));
        }
        if (m->metrics & IPCM_BENCH_METRIC_TASKS)
            json_object_set_new(o, "tasks_per_s",
                                summary_json(&c->tasks, c->tasks_per_s, c->repetitions));
        if (m->metrics & IPCM_BENCH_METRIC_LATENCY)
            json_object_set_new(o, "latency_ns", latency_json(c));
        else if (m->metrics & IPCM_BENCH_METRIC_ONEWAY)
            json_object_set_new(o, "oneway_latency_ns", latency_json(c));
        /* Each figure against the limit that bounds it (host.calibration at start). */
        if (r) {
            json_t *lim = json_object();
            const struct ipcm_calibration *cal = &r->cal[0];
            if ((m->metrics & IPCM_BENCH_METRIC_MSGS) && cal->memcpy_64k_gbs > 0)
                json_object_set_new(lim, "bytes_per_s_of_memcpy_64k",
                                    jreal(c->bytes.median / (cal->memcpy_64k_gbs * 1e9)));
            if ((m->metrics & IPCM_BENCH_METRIC_LATENCY) && cal->line_rtt_ns > 0)
                json_object_set_new(lim, "p50_in_line_rtts",
                                    jreal(c->latency.p50 / cal->line_rtt_ns));
            json_object_set_new(o, "of_limit", lim);
        }
    }
    json_object_set_new(o, "verified",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "messages",
                                  (json_int_t)c->verified.messages, "lost",
                                  (json_int_t)c->verified.lost, "duplicated",
                                  (json_int_t)c->verified.duplicated, "reordered",
                                  (json_int_t)c->verified.reordered, "corrupt",
                                  (json_int_t)c->verified.corrupt));
    return o;
}

static json_t *u64_list(const uint64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

json_t *ipcm_config_json(const struct ipcm_bench_config *cfg, int argc, char **argv)
{
    json_t *bes = json_array(), *pin = json_array(), *args = json_array();
    for (size_t i = 0; i < cfg->nbackends; i++)
        json_array_append_new(bes, json_string(ipcm_backend_name(cfg->backends[i])));
    for (size_t i = 0; i < cfg->npin; i++)
        json_array_append_new(pin, json_integer(cfg->pin[i]));
    for (int i = 0; argv && i < argc; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_t *o = json_pack("{s:o,s:s,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:I,s:o,s:I,s:f,s:o,s:I}",
                          "argv", args, "mode", cfg->mode, "backends", bes, "sizes",
                          u64_list(cfg->sizes, cfg->nsizes), "producers",
                          u64_list(cfg->producers, cfg->nproducers), "consumers",
                          u64_list(cfg->consumers, cfg->nconsumers), "pairs", cfg->pairs,
                          "workers", u64_list(cfg->workers, cfg->nworkers), "chunks",
                          u64_list(cfg->chunks, cfg->nchunks), "messages",
                          (json_int_t)cfg->messages, "duration_s",
                          cfg->duration_ns ? json_real((double)cfg->duration_ns / 1e9)
                                           : json_null(),
                          "repeat", (json_int_t)cfg->repeat, "warmup_s",
                          (double)cfg->warmup_ns / 1e9, "pin", pin, "timeout_ms",
                          (json_int_t)cfg->timeout_ms);
    if (o && cfg->rate_per_s > 0)
        json_object_set_new(o, "rate_per_s", json_real(cfg->rate_per_s));
    if (o)
        json_object_set_new(o, "verify", json_string(cfg->verify_full ? "full" : "stamps"));
    return o;
}

json_t *ipcm_record_json(const struct ipcm_record *r)
{
    json_t *cases = json_array();
    for (size_t i = 0; r->run && i < r->run->ncases; i++)
        json_array_append_new(cases, ipcm_case_json(r, &r->run->cases[i]));
    return json_pack("{s:s,s:{s:s,s:s,s:s},s:s,s:o,s:{s:s,s:s,s:s},s:{s:s,s:o,s:I},s:O?,s:o}",
                     "schema", IPCM_RESULTS_SCHEMA, "tool", "name", "ipcmark", "version",
                     IPCM_VERSION, "git", IPCM_GIT, "created_utc", r->created_utc, "host",
                     host_json(r), "build", "compiler", IPCM_COMPILER, "flags", IPCM_C_FLAGS,
                     "type", IPCM_BUILD_TYPE, "timer", "clock", "CLOCK_MONOTONIC",
                     "overhead_ns", jreal(r->cal[0].timer_overhead_ns), "resolution_ns",
                     (json_int_t)r->cal[0].timer_resolution_ns, "config", r->config, "cases",
                     cases);
}

int ipcm_record_write_json(const struct ipcm_record *r, const char *path)
{
    json_t *o = ipcm_record_json(r);
    if (!o)
        return -ENOMEM;
    int rc = json_dump_file(o, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(o);
    return rc < 0 ? -EIO : 0;
}

/* ---------------------------------------------------------------- CSV */

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.6g", v);
    else
        fputs(",", f);
}

static void csv_summary(FILE *f, const struct ipcm_summary *s, bool have)
{
    if (!have) {
        fputs(",,,,,,", f);
        return;
    }
    csv_num(f, s->median);
    csv_num(f, s->min);
    csv_num(f, s->max);
    csv_num(f, s->mad);
    csv_num(f, s->ci_lo);
    csv_num(f, s->ci_hi);
}

int ipcm_record_write_csv(const struct ipcm_record *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs("mode,backend,shape,size,producers,consumers,workers,placement,cpus,status,reason,"
          "repetitions,msgs_per_s,msgs_min,msgs_max,msgs_mad,msgs_ci_lo,msgs_ci_hi,"
          "bytes_per_s,bytes_min,bytes_max,bytes_mad,bytes_ci_lo,bytes_ci_hi,"
          "tasks_per_s,tasks_min,tasks_max,tasks_mad,tasks_ci_lo,tasks_ci_hi,"
          "latency_kind,lat_min_ns,lat_p50_ns,lat_p90_ns,lat_p99_ns,lat_p999_ns,lat_max_ns,"
          "lat_mean_ns,verified_messages,lost,duplicated,reordered,corrupt\n", f);
    for (size_t i = 0; r->run && i < r->run->ncases; i++) {
        const struct ipcm_bench_case *c = &r->run->cases[i];
        const struct ipcm_bench_params *p = &c->params;
        unsigned mt = c->mode->metrics;
        char cpus[256] = "";
        size_t off = 0;
        for (unsigned k = 0; p->placement != IPCM_PLACE_UNPINNED && k < p->ncpus &&
                             off < sizeof(cpus) - 8; k++)
            off += (size_t)snprintf(cpus + off, sizeof(cpus) - off, "%s%d", k ? " " : "",
                                    p->cpus[k]);
        /* A reason may hold commas; quote it and double any quote (RFC 4180). */
        fprintf(f, "%s,%s,%s,%zu,%u,%u,%u,%s,%s,%s,\"", c->mode->name, ipcm_backend_name(p->be),
                p->shape == IPCM_SHAPE_PIPE ? "pipe" : "queue", p->size, p->producers,
                p->consumers, p->workers, ipcm_bench_placement_name(p->placement), cpus,
                ipcm_bench_status_name(c->status));
        for (const char *s = c->reason; *s; s++)
            fputs(*s == '"' ? "\"\"" : (char[2]){*s, 0}, f);
        fprintf(f, "\",%u", c->repetitions);
        bool have = c->repetitions > 0;
        csv_summary(f, &c->msgs, have && (mt & IPCM_BENCH_METRIC_MSGS));
        csv_summary(f, &c->bytes, have && (mt & IPCM_BENCH_METRIC_MSGS));
        csv_summary(f, &c->tasks, have && (mt & IPCM_BENCH_METRIC_TASKS));
        fprintf(f, ",%s", c->has_latency && have ? c->latency_kind : "");
        if (c->has_latency && have) {
            const struct ipcm_bench_latency *l = &c->latency;
            csv_num(f, l->min);
            csv_num(f, l->p50);
            csv_num(f, l->p90);
            csv_num(f, l->p99);
            csv_num(f, l->p999);
            csv_num(f, l->max);
            csv_num(f, l->mean);
        } else {
            fputs(",,,,,,,", f);
        }
        fprintf(f, ",%llu,%llu,%llu,%llu,%llu\n", (unsigned long long)c->verified.messages,
                (unsigned long long)c->verified.lost, (unsigned long long)c->verified.duplicated,
                (unsigned long long)c->verified.reordered,
                (unsigned long long)c->verified.corrupt);
    }
    int err = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && !err)
        err = -errno;
    return err;
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

void ipcm_record_print_table(const struct ipcm_record *r, FILE *f)
{
    const struct ipcm_calibration *cal = &r->cal[0];
    char a[32], b[32], d[32], e[32];
    fprintf(f, "%-10s %-10s %6s %5s %-9s  %s\n", "mode", "backend", "size", "PxC", "placement",
            "result (median of repetitions; 95% CI of the median; vs this host's limit)");
    for (size_t i = 0; r->run && i < r->run->ncases; i++) {
        const struct ipcm_bench_case *c = &r->run->cases[i];
        const struct ipcm_bench_params *p = &c->params;
        char pc[32], sz[32];
        if (p->producers || p->consumers)
            snprintf(pc, sizeof(pc), "%ux%u", p->producers, p->consumers);
        else if (p->workers)
            snprintf(pc, sizeof(pc), "w%u", p->workers);
        else
            snprintf(pc, sizeof(pc), "1:1");
        if (p->size % 1024 == 0)
            snprintf(sz, sizeof(sz), "%zuK", p->size / 1024);
        else
            snprintf(sz, sizeof(sz), "%zu", p->size);
        fprintf(f, "%-10s %-10s %6s %5s %-9s  ", c->mode->name, ipcm_backend_name(p->be), sz, pc,
                ipcm_bench_placement_name(p->placement));
        if (c->status != IPCM_CASE_OK) {
            fprintf(f, "%s: %s\n", ipcm_bench_status_name(c->status), c->reason);
            continue;
        }
        unsigned mt = c->mode->metrics;
        if (mt & IPCM_BENCH_METRIC_MSGS) {
            double half = (c->msgs.ci_hi - c->msgs.ci_lo) / 2.0 / c->msgs.median * 100.0;
            fprintf(f, "%s  %s  +-%.1f%%", human(c->msgs.median, "msg/s", a, sizeof(a)),
                    human(c->bytes.median, "B/s", b, sizeof(b)), half);
            if (cal->memcpy_64k_gbs > 0)
                fprintf(f, "  %.2g%% of memcpy",
                        c->bytes.median / (cal->memcpy_64k_gbs * 1e9) * 100);
            if (c->has_latency && c->latency.count)
                fprintf(f, "  1-way p50 %s", human_ns(c->latency.p50, d, sizeof(d)));
            if (c->verify_ns_per_msg > 0)
                fprintf(f, "  checks %s/msg", human_ns(c->verify_ns_per_msg, e, sizeof(e)));
        }
        if (mt & IPCM_BENCH_METRIC_TASKS) {
            double half = (c->tasks.ci_hi - c->tasks.ci_lo) / 2.0 / c->tasks.median * 100.0;
            fprintf(f, "%s  +-%.1f%%", human(c->tasks.median, "task/s", a, sizeof(a)), half);
        }
        if (mt & IPCM_BENCH_METRIC_LATENCY) {
            const struct ipcm_bench_latency *l = &c->latency;
            struct ipcm_summary s50;
            ipcm_stats_summarize(l->p50_samples, c->repetitions, &s50);
            fprintf(f, "%s p50 %s p99 %s p99.9 %s max %s", c->latency_kind,
                    human_ns(l->p50, a, sizeof(a)), human_ns(l->p99, b, sizeof(b)),
                    human_ns(l->p999, d, sizeof(d)), human_ns(l->max, e, sizeof(e)));
            if (s50.median > 0)
                fprintf(f, "  p50 +-%.1f%%", (s50.ci_hi - s50.ci_lo) / 2.0 / s50.median * 100.0);
            if (cal->line_rtt_ns > 0)
                fprintf(f, "  %.0fx line RTT", l->p50 / cal->line_rtt_ns);
        }
        if (c->spins)
            fputs("  (spins)", f);
        fputc('\n', f);
    }
}

/* ---------------------------------------------------------------- ranking */

struct cand {
    const struct ipcm_bench_case *c;
    double v, lo, hi;
};

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
        if (i != best && (second == n || (lower ? cands[i].v < cands[second].v
                                               : cands[i].v > cands[second].v)))
            second = i;
    out->best = ipcm_backend_name(cands[best].c->params.be);
    out->best_value = cands[best].v;
    out->best_spins = cands[best].c->spins;
    out->lower_is_better = lower;
    if (second < n) {
        out->second = ipcm_backend_name(cands[second].c->params.be);
        out->second_value = cands[second].v;
        out->margin_pct = lower ? (cands[second].v / cands[best].v - 1.0) * 100.0
                                : (cands[best].v / cands[second].v - 1.0) * 100.0;
        out->clear = lower ? cands[best].hi < cands[second].lo
                           : cands[best].lo > cands[second].hi;
    }
    return true;
}

static size_t collect(const struct ipcm_bench_run *run, const char *mode, size_t size,
                      unsigned prod, unsigned cons, int placement, bool bytes, struct cand *out,
                      size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < run->ncases && n < max; i++) {
        const struct ipcm_bench_case *c = &run->cases[i];
        const struct ipcm_bench_params *p = &c->params;
        if (c->status != IPCM_CASE_OK || strcmp(c->mode->name, mode) != 0 || p->size != size)
            continue;
        if (strcmp(mode, "throughput") == 0) {
            if (p->producers != prod || p->consumers != cons)
                continue;
            const struct ipcm_summary *s = bytes ? &c->bytes : &c->msgs;
            out[n++] = (struct cand){c, s->median, s->ci_lo, s->ci_hi};
        } else {
            if ((int)p->placement != placement || p->shape != IPCM_SHAPE_PIPE)
                continue;
            struct ipcm_summary s;
            ipcm_stats_summarize(c->latency.p50_samples, c->repetitions, &s);
            out[n++] = (struct cand){c, c->latency.p50, s.ci_lo, s.ci_hi};
        }
    }
    return n;
}

size_t ipcm_record_rank(const struct ipcm_bench_run *run, struct ipcm_rank *out, size_t max)
{
    struct cand cands[IPCM_BENCH_MAX_BACKENDS];
    size_t nout = 0, minsize = SIZE_MAX, maxsize = 0;
    unsigned maxp = 0;
    for (size_t i = 0; i < run->ncases; i++) {
        const struct ipcm_bench_case *c = &run->cases[i];
        if (c->status != IPCM_CASE_OK || strcmp(c->mode->name, "throughput") != 0)
            continue;
        if (c->params.size < minsize)
            minsize = c->params.size;
        if (c->params.size > maxsize)
            maxsize = c->params.size;
        if (c->params.producers > maxp)
            maxp = c->params.producers;
    }
    struct {
        const char *title, *mode;
        size_t size;
        unsigned p, c;
        int placement;
        bool bytes, lower;
    } want[] = {
        {"small messages", "throughput", minsize, 1, 1, 0, false, false},
        {"large messages", "throughput", maxsize, 1, 1, 0, true, false},
        {"many producers", "throughput", 4096, maxp, maxp, 0, false, false},
        {"latency, one CPU", "latency", 64, 0, 0, IPCM_PLACE_SAME_CPU, false, true},
        {"latency, two CPUs", "latency", 64, 0, 0, IPCM_PLACE_CROSS_CPU, false, true},
    };
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]) && nout < max; w++) {
        size_t n = collect(run, want[w].mode, want[w].size, want[w].p, want[w].c,
                           want[w].placement, want[w].bytes, cands, IPCM_BENCH_MAX_BACKENDS);
        if (!n && w == 2 && maxp > 1) /* no 4 KiB case: the largest P at the smallest size */
            n = collect(run, "throughput", minsize, maxp, maxp, 0, false, cands,
                        IPCM_BENCH_MAX_BACKENDS);
        if (w == 2 && maxp < 2)
            continue;
        struct ipcm_rank *rk = &out[nout];
        memset(rk, 0, sizeof(*rk));
        if (!rank_pick(rk, cands, n, want[w].lower))
            continue;
        snprintf(rk->title, sizeof(rk->title), "%s", want[w].title);
        const struct ipcm_bench_params *bp = &cands[0].c->params;
        if (want[w].lower)
            snprintf(rk->workload, sizeof(rk->workload), "round trip %zu B, %s", bp->size,
                     ipcm_bench_placement_name(bp->placement));
        else
            snprintf(rk->workload, sizeof(rk->workload), "throughput %zu B, %ux%u", bp->size,
                     bp->producers, bp->consumers);
        rk->unit = want[w].lower ? "ns" : want[w].bytes ? "B/s" : "msg/s";
        nout++;
    }
    return nout;
}
