/* SPDX-License-Identifier: MIT */
/*
 * results_read.c - parse an ipcmark results file with jansson, checking every field
 * that compare and plot use: type, range, finiteness and size limits.
 */
#include "results_read.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where an error was found, and the buffer the message goes to. */
struct rr_ctx {
    char *err;
    size_t errlen;
};

static int fail(struct rr_ctx *cx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct rr_ctx *cx, int code, const char *fmt, ...)
{
    if (cx->err && cx->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cx->err, cx->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * Key strings end up in file names, markdown tables and gnuplot data, so they are
 * restricted to a conservative set; anything else is refused rather than escaped.
 */
static bool key_char_ok(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == '+';
}

static int get_key_string(struct rr_ctx *cx, json_t *obj, const char *name, const char *where,
                          bool required, char *dst, size_t dstlen)
{
    json_t *v = json_object_get(obj, name);
    dst[0] = '\0';
    if (!v) {
        if (required)
            return fail(cx, -EINVAL, "%s.%s: missing", where, name);
        return 0;
    }
    if (!json_is_string(v))
        return fail(cx, -EINVAL, "%s.%s: not a string", where, name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n >= dstlen)
        return fail(cx, -EINVAL, "%s.%s: length %zu outside 1..%zu", where, name, n, dstlen - 1);
    for (size_t i = 0; i < n; i++)
        if (!key_char_ok((unsigned char)s[i]))
            return fail(cx, -EINVAL, "%s.%s: character %zu is not [A-Za-z0-9._+-]", where, name, i);
    memcpy(dst, s, n + 1);
    return 0;
}

/*
 * Descriptive text (kernel, CPU model) is copied, truncated and sanitised: it is only
 * shown, and a quote or control character in it must not reach a gnuplot command line.
 */
static int get_text(struct rr_ctx *cx, json_t *obj, const char *name, const char *where, char *dst,
                    size_t dstlen)
{
    json_t *v = json_object_get(obj, name);
    dst[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(cx, -EINVAL, "%s.%s: not a string", where, name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), o = 0;
    for (size_t i = 0; i < n && o + 1 < dstlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\'' && ch != '\\' && ch != '`' &&
                  ch != '|' && ch != '$';
        dst[o++] = ok ? (char)ch : '_';
    }
    dst[o] = '\0';
    return 0;
}

static int get_uint(struct rr_ctx *cx, json_t *obj, const char *name, const char *where,
                    bool required, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v) {
        if (required)
            return fail(cx, -EINVAL, "%s.%s: missing", where, name);
        return 0;
    }
    if (!json_is_integer(v))
        return fail(cx, -EINVAL, "%s.%s: not an integer", where, name);
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return fail(cx, -EINVAL, "%s.%s: %lld outside 0..%llu", where, name, (long long)i,
                    (unsigned long long)max);
    *out = (uint64_t)i;
    return 0;
}

static int get_unsigned(struct rr_ctx *cx, json_t *obj, const char *name, const char *where,
                        bool required, unsigned *out)
{
    uint64_t v;
    int r = get_uint(cx, obj, name, where, required, IPCM_RR_MAX_COUNT, &v);
    *out = (unsigned)v;
    return r;
}

/* A finite, non-negative number (rates and latencies are never negative). */
static int check_number(struct rr_ctx *cx, json_t *v, const char *where, const char *name,
                        double *out)
{
    if (!json_is_number(v))
        return fail(cx, -EINVAL, "%s.%s: not a number", where, name);
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > 1e300)
        return fail(cx, -EINVAL, "%s.%s: %g is not a finite non-negative number", where, name, d);
    *out = d;
    return 0;
}

static int get_number(struct rr_ctx *cx, json_t *obj, const char *name, const char *where,
                      bool required, double *out)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(cx, -EINVAL, "%s.%s: missing", where, name);
        return 0;
    }
    return check_number(cx, v, where, name, out);
}

static int get_samples(struct rr_ctx *cx, json_t *obj, const char *name, const char *where,
                       double **out, size_t *nout)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    *nout = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return fail(cx, -EINVAL, "%s.%s: not an array", where, name);
    size_t n = json_array_size(v);
    if (n > IPCM_RR_MAX_SAMPLES)
        return fail(cx, -E2BIG, "%s.%s: %zu samples, more than the limit %u", where, name, n,
                    IPCM_RR_MAX_SAMPLES);
    if (n == 0)
        return 0;
    double *s = calloc(n, sizeof(*s));
    if (!s)
        return fail(cx, -ENOMEM, "%s.%s: out of memory", where, name);
    for (size_t i = 0; i < n; i++) {
        char item[64];
        snprintf(item, sizeof(item), "%s[%zu]", name, i);
        int r = check_number(cx, json_array_get(v, i), where, item, &s[i]);
        if (r < 0) {
            free(s);
            return r;
        }
    }
    *out = s;
    *nout = n;
    return 0;
}

static int read_stat(struct rr_ctx *cx, json_t *cobj, const char *name, const char *where,
                     struct ipcm_rr_stat *st)
{
    json_t *o = json_object_get(cobj, name);
    char w[96];
    int r;

    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return fail(cx, -EINVAL, "%s.%s: not an object", where, name);
    snprintf(w, sizeof(w), "%s.%s", where, name);
    if ((r = get_number(cx, o, "median", w, true, &st->median)) < 0 ||
        (r = get_number(cx, o, "min", w, false, &st->min)) < 0 ||
        (r = get_number(cx, o, "max", w, false, &st->max)) < 0 ||
        (r = get_number(cx, o, "mad", w, false, &st->mad)) < 0 ||
        (r = get_samples(cx, o, "samples", w, &st->samples, &st->nsamples)) < 0)
        return r;
    /* min/max are optional; when absent the error bars collapse to the median. */
    if (!json_object_get(o, "min"))
        st->min = st->median;
    if (!json_object_get(o, "max"))
        st->max = st->median;
    st->present = true;
    return 0;
}

static int read_latency(struct rr_ctx *cx, json_t *cobj, const char *name, const char *where,
                        struct ipcm_rr_latency *l)
{
    json_t *o = json_object_get(cobj, name);
    char w[96];
    int r;

    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return fail(cx, -EINVAL, "%s.%s: not an object", where, name);
    snprintf(w, sizeof(w), "%s.%s", where, name);
    if ((r = get_number(cx, o, "p50", w, true, &l->p50)) < 0 ||
        (r = get_number(cx, o, "min", w, false, &l->min)) < 0 ||
        (r = get_number(cx, o, "p90", w, false, &l->p90)) < 0 ||
        (r = get_number(cx, o, "p99", w, false, &l->p99)) < 0 ||
        (r = get_number(cx, o, "p999", w, false, &l->p999)) < 0 ||
        (r = get_number(cx, o, "max", w, false, &l->max)) < 0 ||
        (r = get_number(cx, o, "mean", w, false, &l->mean)) < 0 ||
        (r = get_samples(cx, o, "p50_samples", w, &l->p50_samples, &l->np50)) < 0 ||
        (r = get_samples(cx, o, "p99_samples", w, &l->p99_samples, &l->np99)) < 0)
        return r;
    l->present = true;
    return 0;
}

static int read_case(struct rr_ctx *cx, json_t *o, size_t idx, struct ipcm_rr_case *c)
{
    char where[40], status[IPCM_RR_NAME_LEN];
    uint64_t size;
    int r;

    snprintf(where, sizeof(where), "cases[%zu]", idx);
    if (!json_is_object(o))
        return fail(cx, -EINVAL, "%s: not an object", where);
    if ((r = get_key_string(cx, o, "mode", where, true, c->mode, sizeof(c->mode))) < 0 ||
        (r = get_key_string(cx, o, "backend", where, true, c->backend, sizeof(c->backend))) < 0 ||
        (r = get_key_string(cx, o, "shape", where, false, c->shape, sizeof(c->shape))) < 0 ||
        (r = get_key_string(cx, o, "placement", where, false, c->placement, sizeof(c->placement))) <
            0 ||
        (r = get_key_string(cx, o, "start_method", where, false, c->start_method,
                            sizeof(c->start_method))) < 0 ||
        (r = get_key_string(cx, o, "status", where, true, status, sizeof(status))) < 0 ||
        (r = get_uint(cx, o, "size", where, false, IPCM_RR_MAX_SIZE, &size)) < 0 ||
        (r = get_unsigned(cx, o, "producers", where, false, &c->producers)) < 0 ||
        (r = get_unsigned(cx, o, "consumers", where, false, &c->consumers)) < 0 ||
        (r = get_unsigned(cx, o, "workers", where, false, &c->workers)) < 0 ||
        (r = get_unsigned(cx, o, "repetitions", where, false, &c->repetitions)) < 0 ||
        (r = get_text(cx, o, "reason", where, c->reason, sizeof(c->reason))) < 0 ||
        (r = get_uint(cx, o, "messages_per_repetition", where, false, INT64_MAX,
                      &c->messages_per_rep)) < 0 ||
        (r = get_unsigned(cx, o, "chunk", where, false, &c->chunk)) < 0)
        return r;
    c->size = size;
    c->has_chunk = json_object_get(o, "chunk") != NULL;
    if (strcmp(status, "ok") == 0)
        c->status = IPCM_RR_OK;
    else if (strcmp(status, "skipped") == 0)
        c->status = IPCM_RR_SKIPPED;
    else if (strcmp(status, "failed") == 0)
        c->status = IPCM_RR_FAILED;
    else
        return fail(cx, -EINVAL, "%s.status: '%s' is not ok, skipped or failed", where, status);
    if ((r = read_stat(cx, o, "msgs_per_s", where, &c->msgs_per_s)) < 0 ||
        (r = read_stat(cx, o, "bytes_per_s", where, &c->bytes_per_s)) < 0 ||
        (r = read_stat(cx, o, "tasks_per_s", where, &c->tasks_per_s)) < 0 ||
        (r = read_stat(cx, o, "cpu_ns_per_msg", where, &c->cpu_ns_per_msg)) < 0 ||
        (r = read_stat(cx, o, "csw_per_msg", where, &c->csw_per_msg)) < 0 ||
        (r = read_stat(cx, o, "cpus_busy", where, &c->cpus_busy)) < 0 ||
        (r = read_latency(cx, o, "latency_ns", where, &c->latency_ns)) < 0 ||
        (r = read_latency(cx, o, "oneway_latency_ns", where, &c->oneway_ns)) < 0)
        return r;
    return 0;
}

/*
 * One [start, end] pair of host.calibration. An entry is null when the writer could not
 * measure it (no end calibration after an interrupted run): NAN, not an error.
 */
static int get_pair(struct rr_ctx *cx, json_t *obj, const char *name, double out[2])
{
    json_t *v = json_object_get(obj, name);
    out[0] = out[1] = NAN;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > 2)
        return fail(cx, -EINVAL, "host.calibration.%s: not an array [start, end]", name);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        char item[64];
        if (json_is_null(e))
            continue;
        snprintf(item, sizeof(item), "%s[%zu]", name, i);
        int r = check_number(cx, e, "host.calibration", item, &out[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

static int get_flag(struct rr_ctx *cx, json_t *obj, const char *name, bool *out)
{
    json_t *v = json_object_get(obj, name);
    *out = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return fail(cx, -EINVAL, "host.calibration.%s: not a boolean", name);
    *out = json_is_true(v);
    return 0;
}

static int read_calibration(struct rr_ctx *cx, json_t *host, struct ipcm_rr_calibration *cal)
{
    json_t *o = json_object_get(host, "calibration");
    double rtt[2] = {NAN, NAN}, mem[2] = {NAN, NAN}, stream[2] = {NAN, NAN};
    double same[2] = {NAN, NAN}, cross[2] = {NAN, NAN};
    int r = 0;

    if (o && !json_is_null(o) && !json_is_object(o))
        return fail(cx, -EINVAL, "host.calibration: not an object");
    if (o && !json_is_null(o) &&
        ((r = get_pair(cx, o, "line_rtt_ns", rtt)) < 0 ||
         (r = get_pair(cx, o, "memcpy_64k_gbs", mem)) < 0 ||
         (r = get_pair(cx, o, "stream_64k_gbs", stream)) < 0 ||
         (r = get_pair(cx, o, "raw_pipe_rtt_same_cpu_ns", same)) < 0 ||
         (r = get_pair(cx, o, "raw_pipe_rtt_cross_cpu_ns", cross)) < 0 ||
         (r = get_flag(cx, o, "changed", &cal->changed)) < 0 ||
         (r = get_flag(cx, o, "busy", &cal->busy)) < 0 ||
         (r = get_text(cx, o, "changed_reason", "host.calibration", cal->changed_reason,
                       sizeof(cal->changed_reason))) < 0))
        return r;
    /* [start, end] pairs in the file; one struct per end in the record. */
    for (int i = 0; i < 2; i++) {
        cal->at[i].line_rtt_ns = rtt[i];
        cal->at[i].memcpy_64k_gbs = mem[i];
        cal->at[i].stream_64k_gbs = stream[i];
        cal->at[i].raw_pipe_same_ns = same[i];
        cal->at[i].raw_pipe_cross_ns = cross[i];
    }
    cal->present = o && !json_is_null(o);
    return 0;
}

static int cmp_case_ptr(const void *a, const void *b)
{
    const struct ipcm_rr_case *const *x = a, *const *y = b;
    return ipcm_rr_case_cmp(*x, *y);
}

/* Two cases with one key would make compare's matching ambiguous: refuse the file. */
static int check_unique_keys(struct rr_ctx *cx, struct ipcm_results *res)
{
    const struct ipcm_rr_case **v;
    int r = 0;

    if (res->ncases < 2)
        return 0;
    v = calloc(res->ncases, sizeof(*v));
    if (!v)
        return fail(cx, -ENOMEM, "cases: out of memory");
    for (size_t i = 0; i < res->ncases; i++)
        v[i] = &res->cases[i];
    qsort(v, res->ncases, sizeof(*v), cmp_case_ptr);
    for (size_t i = 1; i < res->ncases; i++) {
        if (ipcm_rr_case_cmp(v[i - 1], v[i]) == 0) {
            char key[256];
            r = fail(cx, -EINVAL, "cases[%zu] and cases[%zu]: same key %s",
                     (size_t)(v[i - 1] - res->cases), (size_t)(v[i] - res->cases),
                     ipcm_rr_case_key(v[i], key, sizeof(key)));
            break;
        }
    }
    free(v);
    return r;
}

/* host.plugins: [{name, path, xxh3}], at most IPCM_RR_MAX_PLUGINS. */
static int read_plugins(struct rr_ctx *cx, json_t *arr, struct ipcm_results *res)
{
    int r;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return fail(cx, -EINVAL, "host.plugins: not an array");
    if (json_array_size(arr) > IPCM_RR_MAX_PLUGINS)
        return fail(cx, -E2BIG, "host.plugins: %zu entries, more than the limit %u",
                    json_array_size(arr), IPCM_RR_MAX_PLUGINS);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        struct ipcm_rr_plugin *p = &res->plugins[res->nplugins];
        if (!json_is_object(o))
            return fail(cx, -EINVAL, "host.plugins[%zu]: not an object", i);
        if ((r = get_text(cx, o, "name", "host.plugins", p->name, sizeof(p->name))) < 0 ||
            (r = get_text(cx, o, "path", "host.plugins", p->path, sizeof(p->path))) < 0 ||
            (r = get_text(cx, o, "xxh3", "host.plugins", p->xxh3, sizeof(p->xxh3))) < 0)
            return r;
        res->nplugins++;
    }
    return 0;
}

static int read_root(struct rr_ctx *cx, json_t *root, struct ipcm_results *res)
{
    json_t *v, *host, *tool, *cases;
    int r;

    if (!json_is_object(root))
        return fail(cx, -EPROTO, "top level: not an object, so not an ipcmark results file");
    v = json_object_get(root, "schema");
    if (!v || !json_is_string(v))
        return fail(cx, -EPROTO, "schema: missing or not a string; not an ipcmark results file");
    snprintf(res->schema, sizeof(res->schema), "%s", json_string_value(v));
    if (strcmp(json_string_value(v), IPCM_RESULTS_SCHEMA) != 0) {
        char shown[IPCM_RR_NAME_LEN];
        get_text(cx, root, "schema", "", shown, sizeof(shown));
        return fail(cx, -EPROTO, "schema: '%s' is not supported (this ipcmark reads %s)", shown,
                    IPCM_RESULTS_SCHEMA);
    }
    if ((r = get_text(cx, root, "created_utc", "", res->created_utc, sizeof(res->created_utc))) < 0)
        return r;
    tool = json_object_get(root, "tool");
    if (tool && json_is_object(tool)) {
        if ((r = get_text(cx, tool, "version", "tool", res->tool_version,
                          sizeof(res->tool_version))) < 0 ||
            (r = get_text(cx, tool, "git", "tool", res->tool_git, sizeof(res->tool_git))) < 0)
            return r;
    }
    host = json_object_get(root, "host");
    if (host && !json_is_object(host))
        return fail(cx, -EINVAL, "host: not an object");
    if ((r = read_calibration(cx, host, &res->calibration)) < 0)
        return r;
    if (host) {
        uint64_t cpus;
        if ((r = get_text(cx, host, "hostname", "host", res->hostname, sizeof(res->hostname))) <
                0 ||
            (r = get_text(cx, host, "kernel", "host", res->kernel, IPCM_RR_TEXT_LEN)) < 0 ||
            (r = get_text(cx, host, "cpu_model", "host", res->cpu_model, sizeof(res->cpu_model))) <
                0 ||
            (r = get_uint(cx, host, "cpus_online", "host", false, 1u << 20, &cpus)) < 0)
            return r;
        res->cpus_online = (long)cpus;
        if ((r = read_plugins(cx, json_object_get(host, "plugins"), res)) < 0)
            return r;
    }
    /* "remote": only what compare's path check needs (a remote run, its direction, the
     * server); the rest is for people and plots. */
    json_t *remote = json_object_get(root, "remote");
    if (remote && !json_is_object(remote))
        return fail(cx, -EINVAL, "remote: not an object");
    if (remote) {
        json_t *path = json_object_get(remote, "path");
        res->remote = true;
        if ((r = get_text(cx, remote, "direction", "remote", res->remote_direction,
                          sizeof(res->remote_direction))) < 0 ||
            (path && json_is_object(path) &&
             (r = get_text(cx, path, "peer", "remote.path", res->remote_peer,
                           sizeof(res->remote_peer))) < 0))
            return r;
    }
    cases = json_object_get(root, "cases");
    if (!cases)
        return fail(cx, -EINVAL, "cases: missing");
    if (!json_is_array(cases))
        return fail(cx, -EINVAL, "cases: not an array");
    size_t n = json_array_size(cases);
    if (n > IPCM_RR_MAX_CASES)
        return fail(cx, -E2BIG, "cases: %zu entries, more than the limit %u", n, IPCM_RR_MAX_CASES);
    if (n) {
        res->cases = calloc(n, sizeof(*res->cases));
        if (!res->cases)
            return fail(cx, -ENOMEM, "cases: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        /* Count it first so ipcm_results_free releases a partly read case too. */
        res->ncases = i + 1;
        if ((r = read_case(cx, json_array_get(cases, i), i, &res->cases[i])) < 0)
            return r;
    }
    return check_unique_keys(cx, res);
}

int ipcm_results_parse(const char *buf, size_t len, struct ipcm_results **out, char *err,
                       size_t errlen)
{
    struct rr_ctx cx = {err, errlen};
    struct ipcm_results *res;
    json_error_t jerr;
    json_t *root;
    int r;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (len > IPCM_RR_MAX_FILE_BYTES)
        return fail(&cx, -EFBIG, "%zu bytes, more than the limit %u", len, IPCM_RR_MAX_FILE_BYTES);
    /*
     * jansson bounds nesting depth itself (JSON_PARSER_MAX_DEPTH) and refuses integers
     * that overflow, reals that overflow, NaN and Infinity, which JSON does not have.
     * Duplicate keys are refused so that no field can mean two things.
     */
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(&cx, -EINVAL, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    res = calloc(1, sizeof(*res));
    if (!res) {
        json_decref(root);
        return fail(&cx, -ENOMEM, "out of memory");
    }
    r = read_root(&cx, root, res);
    json_decref(root);
    if (r < 0) {
        ipcm_results_free(res);
        return r;
    }
    *out = res;
    return 0;
}

/* A pipe whose writer is there: it polls readable (data or the writer's EOF) within a
 * second. A FIFO nobody opened for writing polls nothing, or only POLLHUP once written. */
static bool fifo_has_data(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 1000) > 0 && (p.revents & POLLIN);
}

int ipcm_results_load(const char *path, struct ipcm_results **out, char *err, size_t errlen)
{
    struct rr_ctx cx = {err, errlen};
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, r;

    *out = NULL;
    /* O_NONBLOCK: opening a FIFO nobody writes to must not block forever. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return fail(&cx, r, "%s", strerror(-r));
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        fail(&cx, r, "%s", strerror(-r));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        r = fail(&cx, -EISDIR, "is a directory");
        goto fail;
    }
    /* A regular file, or a pipe from a running writer (`<(...)`); a named FIFO with no
     * writer, a device or a socket is refused rather than waited on. */
    if (!S_ISREG(st.st_mode) && !(S_ISFIFO(st.st_mode) && fifo_has_data(fd))) {
        r = fail(&cx, -EINVAL, "not a regular file");
        goto fail;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    /* Read up to one byte past the limit, so a pipe or a growing file is bounded too. */
    buf = malloc(IPCM_RR_MAX_FILE_BYTES + 1u);
    if (!buf) {
        r = fail(&cx, -ENOMEM, "out of memory");
        goto fail;
    }
    while (len <= IPCM_RR_MAX_FILE_BYTES) {
        ssize_t n = read(fd, buf + len, IPCM_RR_MAX_FILE_BYTES + 1u - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            fail(&cx, r, "%s", strerror(-r));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    fd = -1;
    r = ipcm_results_parse(buf, len, out, err, errlen);
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return r;
}

int ipcm_results_merge(struct ipcm_results *dst, struct ipcm_results *src, char *err, size_t errlen)
{
    struct rr_ctx cx = {err, errlen};
    size_t n = dst->ncases;
    int r;

    if (err && errlen)
        err[0] = '\0';
    if (!src->ncases)
        return 0;
    if (src->ncases > IPCM_RR_MAX_CASES - n)
        return fail(&cx, -E2BIG, "cases: %zu together, more than the limit %u", n + src->ncases,
                    IPCM_RR_MAX_CASES);
    struct ipcm_rr_case *v = realloc(dst->cases, (n + src->ncases) * sizeof(*v));
    if (!v)
        return fail(&cx, -ENOMEM, "cases: out of memory");
    dst->cases = v;
    memcpy(v + n, src->cases, src->ncases * sizeof(*v));
    dst->ncases = n + src->ncases;
    /* The copies still belong to src until the keys are known to be distinct. */
    if ((r = check_unique_keys(&cx, dst)) < 0) {
        dst->ncases = n;
        return r;
    }
    free(src->cases);
    src->cases = NULL;
    src->ncases = 0;
    return 0;
}
