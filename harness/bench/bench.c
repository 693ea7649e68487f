/* SPDX-License-Identifier: MIT */
/*
 * bench.c - the sweep driver: expands a configuration into cases, runs each through its
 * mode with a warm-up and R timed repetitions, and summarises them. Also the mode table
 * and the verified message format the modes share, and the conversion of a run into the
 * results record (record.h) that report writes.
 */
#include "bench.h"
#include "bench_internal.h"

#include "base.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* The mode table: a new mode is one file plus one line here. */
static const struct ipcm_bench_mode *const modes[] = {
    &ipcm_bench_mode_throughput,
    &ipcm_bench_mode_latency,
    &ipcm_bench_mode_pool,
    &ipcm_bench_mode_sync,
    &ipcm_bench_mode_sync_contended,
    &ipcm_bench_mode_sync_barrier,
    &ipcm_bench_mode_sync_event,
    &ipcm_bench_mode_throughput_pipe,
    &ipcm_bench_mode_start,
    NULL,
};

const struct ipcm_bench_mode *ipcm_bench_mode_at(size_t i)
{
    return i < sizeof(modes) / sizeof(modes[0]) ? modes[i] : NULL;
}

const struct ipcm_bench_mode *ipcm_bench_mode_find(const char *name)
{
    for (size_t i = 0; modes[i]; i++)
        if (strcmp(modes[i]->name, name) == 0)
            return modes[i];
    return NULL;
}

const char *ipcm_bench_placement_name(enum ipcm_bench_placement p)
{
    switch (p) {
    case IPCM_PLACE_SAME_CPU: return "same-cpu";
    case IPCM_PLACE_CROSS_CPU: return "cross-cpu";
    case IPCM_PLACE_CUSTOM: return "custom";
    default: return "unpinned";
    }
}

const char *ipcm_bench_start_method_name(enum ipcm_start_method m)
{
    return m == IPCM_START_EXEC ? "exec" : "fork";
}

const char *ipcm_bench_status_name(enum ipcm_bench_status s)
{
    return s == IPCM_CASE_OK ? "ok" : s == IPCM_CASE_SKIPPED ? "skipped" : "failed";
}

void ipcm_bench_config_defaults(struct ipcm_bench_config *c)
{
    memset(c, 0, sizeof(*c));
    c->mode = "throughput";
    c->sizes[0] = 64;
    c->nsizes = 1;
    c->producers[0] = c->consumers[0] = c->workers[0] = 1;
    c->chunks[0] = 0; /* the mode's default chunk size */
    c->nproducers = c->nconsumers = c->nworkers = c->nchunks = 1;
    c->duration_ns = 200000000u;
    c->repeat = 5;
    c->warmup_ns = 100000000u;
    c->timeout_ms = 10000;
}

int ipcm_bench_cpu_of(const struct ipcm_bench_params *p, unsigned i)
{
    if (p->placement == IPCM_PLACE_UNPINNED || p->ncpus == 0)
        return -1;
    return p->cpus[i % p->ncpus];
}

int ipcm_bench_join_ms(const struct ipcm_bench_params *p)
{
    uint64_t ms = (uint64_t)p->timeout_ms + p->duration_ns / IPCM_NS_PER_MS * 2 + p->messages * 10;
    return ms > 3600000u ? 3600000 : (int)ms;
}

int ipcm_bench_fail(struct ipcm_bench_rep *rep, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
    va_end(ap);
    return err;
}

/* ---------------------------------------------------------------- messages */

static uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void store64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static bool msg_verify_full;

void ipcm_msg_verify(bool full)
{
    msg_verify_full = full;
}

/* How many payload bytes the checksum covers. */
static size_t msg_hashed(size_t size)
{
    size_t body = size - IPCM_MSG_FULL;
    return msg_verify_full || body < IPCM_MSG_SAMPLE ? body : IPCM_MSG_SAMPLE;
}

/* The word unique to a message, stamped every IPCM_MSG_STAMP_STRIDE bytes. */
static uint64_t msg_word(uint64_t seq, uint64_t tag)
{
    return seq * UINT64_C(0x9E3779B97F4A7C15) ^ tag;
}

void ipcm_msg_fill(void *buf, size_t size, unsigned producer, uint64_t seq, uint64_t send_ns)
{
    unsigned char *b = buf;
    uint64_t tag = (seq & IPCM_MSG_SEQ_MASK) | ((uint64_t)(producer & 0xff) << 40);
    size_t off = size >= IPCM_MSG_FULL ? IPCM_MSG_FULL : IPCM_MSG_MIN;
    /* Write every payload byte: a benchmark that never touches the payload measures
     * nothing. memset runs at store bandwidth; a word unique to this message every
     * IPCM_MSG_STAMP_STRIDE bytes makes a message spliced from two (torn) or left
     * from an earlier one fail the checksum, which is seeded with the tag. */
    uint64_t w = msg_word(seq, tag);
    if (size > off)
        memset(b + off, (int)(w >> 56), size - off);
    for (size_t i = off; i + 8 <= size; i += IPCM_MSG_STAMP_STRIDE)
        store64(b + i, w + i);
    if (off == IPCM_MSG_FULL) {
        store64(b, tag);
        store64(b + 8, send_ns);
        store64(b + 16, XXH3_64bits_withSeed(b + 24, msg_hashed(size), tag ^ (send_ns * 31)));
    } else {
        uint64_t check = XXH3_64bits_withSeed(b + 8, size - 8, tag) & 0xffff;
        store64(b, tag | check << 48);
    }
}

int ipcm_msg_check(const void *buf, size_t len, size_t size, unsigned *producer, uint64_t *seq,
                   uint64_t *send_ns)
{
    const unsigned char *b = buf;
    if (len != size || len < IPCM_MSG_MIN)
        return -EBADMSG;
    uint64_t tag = load64(b);
    uint64_t ts = 0;
    if (len >= IPCM_MSG_FULL) {
        ts = load64(b + 8);
        if (tag >> 48 ||
            load64(b + 16) != XXH3_64bits_withSeed(b + 24, msg_hashed(len), tag ^ (ts * 31)))
            return -EBADMSG;
        if (!msg_verify_full) {
            /* Beyond the hashed start: the per-message word every 256 bytes and the
             * pattern byte at the end. */
            uint64_t w = msg_word(tag & IPCM_MSG_SEQ_MASK, tag);
            for (size_t i = IPCM_MSG_FULL; i + 8 <= len; i += IPCM_MSG_STAMP_STRIDE)
                if (load64(b + i) != w + i)
                    return -EBADMSG;
            size_t last = len - 1;
            if (len > IPCM_MSG_FULL && (last - IPCM_MSG_FULL) % IPCM_MSG_STAMP_STRIDE >= 8 &&
                b[last] != (unsigned char)(w >> 56))
                return -EBADMSG;
        }
    } else {
        uint64_t check = tag >> 48;
        tag &= (UINT64_C(1) << 48) - 1;
        if ((XXH3_64bits_withSeed(b + 8, len - 8, tag) & 0xffff) != check)
            return -EBADMSG;
    }
    *producer = (unsigned)(tag >> 40) & 0xff;
    *seq = tag & IPCM_MSG_SEQ_MASK;
    *send_ns = ts;
    return 0;
}

double ipcm_bench_verify_cost(size_t size)
{
    if (size < IPCM_MSG_MIN)
        return 0.0;
    unsigned char *buf = malloc(size);
    if (!buf)
        return 0.0;
    uint64_t n = 0, t0 = ipcm_now_ns(), t1;
    unsigned producer;
    uint64_t seq, ts;
    int bad = 0;
    do {
        for (int k = 0; k < 16; k++, n++) {
            ipcm_msg_fill(buf, size, 1, n, t0);
            bad |= ipcm_msg_check(buf, size, size, &producer, &seq, &ts);
        }
        t1 = ipcm_now_ns();
    } while (t1 - t0 < 5000000u);
    free(buf);
    return bad ? 0.0 : (double)(t1 - t0) / (double)n;
}

/* ---------------------------------------------------------------- the driver */

struct plan_item {
    enum ipcm_bench_placement placement;
    int cpus[IPCM_BENCH_MAX_CPUS];
    unsigned ncpus;
};

/* The first two CPUs this process may run on (b = -1 if there is only one). */
static void allowed_cpus(int *a, int *b)
{
    cpu_set_t set;
    *a = 0;
    *b = -1;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return;
    int found = 0;
    for (int i = 0; i < CPU_SETSIZE && found < 2; i++)
        if (CPU_ISSET(i, &set)) {
            if (found++ == 0)
                *a = i;
            else
                *b = i;
        }
}

static size_t placements(const struct ipcm_bench_config *cfg, const struct ipcm_bench_mode *m,
                         struct plan_item out[2])
{
    memset(out, 0, 2 * sizeof(*out));
    if (m->axes & IPCM_BENCH_AXIS_PLACEMENT) {
        if (cfg->npin) {
            out[0].cpus[0] = cfg->pin[0];
            out[0].cpus[1] = cfg->npin > 1 ? cfg->pin[1] : cfg->pin[0];
            out[0].ncpus = 2;
            out[0].placement =
                out[0].cpus[0] == out[0].cpus[1] ? IPCM_PLACE_SAME_CPU : IPCM_PLACE_CROSS_CPU;
            return 1;
        }
        int a, b;
        allowed_cpus(&a, &b);
        out[0].placement = IPCM_PLACE_SAME_CPU;
        out[0].cpus[0] = out[0].cpus[1] = a;
        out[0].ncpus = 2;
        if (b < 0)
            return 1;
        out[1].placement = IPCM_PLACE_CROSS_CPU;
        out[1].cpus[0] = a;
        out[1].cpus[1] = b;
        out[1].ncpus = 2;
        return 2;
    }
    if (cfg->npin) {
        out[0].placement = IPCM_PLACE_CUSTOM;
        for (size_t i = 0; i < cfg->npin; i++)
            out[0].cpus[i] = cfg->pin[i];
        out[0].ncpus = (unsigned)cfg->npin;
    }
    return 1;
}

/* Whether name is in the comma-separated list (NULL: every name is). */
static bool variant_selected(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return true;
    return !list;
}

bool ipcm_bench_variant_known(const struct ipcm_bench_mode *m, const char *name)
{
    for (unsigned v = 0; m && m->variant && m->variant(v); v++)
        if (strcmp(m->variant(v), name) == 0)
            return true;
    return false;
}

/* Iterate over the cross product of the axes the mode uses; returns the case count. */
static size_t expand(const struct ipcm_bench_config *cfg, const struct ipcm_bench_mode *m,
                     struct ipcm_bench_params *out, size_t max)
{
    static const uint64_t one = 1;
    bool sz = m->axes & IPCM_BENCH_AXIS_SIZES;
    bool pr = m->axes & IPCM_BENCH_AXIS_PRODUCERS, co = m->axes & IPCM_BENCH_AXIS_CONSUMERS;
    bool wo = m->axes & IPCM_BENCH_AXIS_WORKERS, ch = m->axes & IPCM_BENCH_AXIS_CHUNKS;
    const uint64_t *sizes = sz ? cfg->sizes : &one;
    const uint64_t *prods = pr ? cfg->producers : &one, *cons = co ? cfg->consumers : &one;
    const uint64_t *works = wo ? cfg->workers : &one, *chunks = ch ? cfg->chunks : &one;
    size_t ns = sz ? cfg->nsizes : 1, np = pr ? cfg->nproducers : 1;
    size_t nc = co ? cfg->nconsumers : 1, nw = wo ? cfg->nworkers : 1;
    size_t nk = ch ? cfg->nchunks : 1;
    struct plan_item pl[2];
    size_t npl = placements(cfg, m, pl);
    enum ipcm_shape shape = m->shape_of ? m->shape_of(cfg) : m->shape;
    size_t n = 0, nsub = cfg->nbackends;
    /* Start methods innermost of all: each backend's fork and exec cases side by side. */
    size_t nmeth = m->start_methods ? 2 : 1;
    nsub *= nmeth;
    unsigned vidx[IPCM_BENCH_MAX_BACKENDS];
    if (m->variant) {
        nsub = 0;
        for (unsigned v = 0; m->variant(v) && nsub < IPCM_BENCH_MAX_BACKENDS &&
                             (!cfg->max_variants || nsub < cfg->max_variants);
             v++)
            if (variant_selected(cfg->variants, m->variant(v)))
                vidx[nsub++] = v;
    }

    /* --pairs: producers[i] with consumers[i]; the shorter list decides. */
    if (pr && co && cfg->pairs)
        np = nc = np < nc ? np : nc;
    for (size_t s = 0; s < ns; s++)
        for (size_t i = 0; i < np; i++)
            for (size_t j = 0; j < nc; j++) {
                if (pr && co && cfg->pairs && i != j)
                    continue;
                for (size_t w = 0; w < nw; w++)
                    for (size_t k = 0; k < nk; k++)
                        for (size_t q = 0; q < npl; q++)
                            /* Backends innermost: a machine that drifts during the run
                             * drifts for every backend alike (interleaving). */
                            for (size_t b = 0; b < nsub; b++, n++) {
                                if (n >= max)
                                    continue;
                                struct ipcm_bench_params *p = &out[n];
                                memset(p, 0, sizeof(*p));
                                p->be = cfg->backends[m->variant ? 0 : b / nmeth];
                                p->variant = m->variant ? vidx[b] : (unsigned)b;
                                p->start_method =
                                    nmeth > 1 && b % nmeth ? IPCM_START_EXEC : IPCM_START_FORK;
                                p->shape = shape;
                                p->size = (size_t)sizes[s];
                                p->producers = pr ? (unsigned)prods[i] : 0;
                                p->consumers = co ? (unsigned)cons[j] : 0;
                                p->workers = wo ? (unsigned)works[w] : 0;
                                p->chunk = ch ? (unsigned)chunks[k] : 0;
                                p->placement = pl[q].placement;
                                memcpy(p->cpus, pl[q].cpus, sizeof(p->cpus));
                                p->ncpus = pl[q].ncpus;
                                p->messages = cfg->messages;
                                p->duration_ns = cfg->messages ? 0 : cfg->duration_ns;
                                p->rate_per_s = cfg->rate_per_s;
                                p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
                            }
            }
    return n;
}

static void fill_latency(struct ipcm_bench_latency *l, const struct ipcm_hist *h)
{
    l->count = ipcm_hist_count(h);
    l->min = (double)ipcm_hist_min(h);
    l->p50 = (double)ipcm_hist_value_at_percentile(h, 50.0);
    l->p90 = (double)ipcm_hist_value_at_percentile(h, 90.0);
    l->p99 = (double)ipcm_hist_value_at_percentile(h, 99.0);
    l->p999 = (double)ipcm_hist_value_at_percentile(h, 99.9);
    l->max = (double)ipcm_hist_max(h);
    l->mean = ipcm_hist_mean(h);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Checks that need no run, then the warm-up. Returns true when the case can be timed. */
static bool case_prepare(const struct ipcm_bench_config *cfg, struct ipcm_bench_case *c,
                         struct ipcm_hist *scratch)
{
    const struct ipcm_bench_mode *m = c->mode;
    struct ipcm_bench_params *p = &c->params;
    struct ipcm_limits lim;
    uint64_t t0 = ipcm_now_ns();
    int r;

    c->spins = !m->variant && (ipcm_backend_caps(p->be) & IPCM_CAP_SPINS) != 0;
    c->has_latency = (m->metrics & (IPCM_BENCH_METRIC_LATENCY | IPCM_BENCH_METRIC_ONEWAY)) != 0;
    c->status = IPCM_CASE_OK;
    if (!m->variant && (r = ipcm_backend_limits(p->be, &lim)) < 0) {
        c->status = IPCM_CASE_SKIPPED;
        snprintf(c->reason, sizeof(c->reason), "backend unavailable: %s", ipcm_strerror(r));
        return false;
    }
    if (!m->variant && (m->axes & IPCM_BENCH_AXIS_SIZES) && p->size > lim.max_msg) {
        c->status = IPCM_CASE_SKIPPED;
        snprintf(c->reason, sizeof(c->reason), "%zu B exceeds the largest message, %zu B (%s)",
                 p->size, lim.max_msg, lim.max_msg_source);
        return false;
    }
    if ((m->axes & IPCM_BENCH_AXIS_SIZES) && p->size < m->min_size) {
        c->status = IPCM_CASE_SKIPPED;
        snprintf(c->reason, sizeof(c->reason),
                 "%zu B is below the %zu B a verified message needs (producer id, sequence, "
                 "checksum)",
                 p->size, m->min_size);
        return false;
    }
    if (p->producers > IPCM_MSG_MAX_PRODUCERS ||
        p->producers + p->consumers + p->workers > IPCM_BENCH_MAX_WORKERS) {
        c->status = IPCM_CASE_SKIPPED;
        snprintf(c->reason, sizeof(c->reason), "more than %u workers", IPCM_BENCH_MAX_WORKERS);
        return false;
    }
    if (cfg->warmup_ns) {
        struct ipcm_bench_params w = *p;
        struct ipcm_bench_rep rep;
        w.warmup = true;
        w.messages = 0;
        w.duration_ns = cfg->warmup_ns;
        memset(&rep, 0, sizeof(rep));
        ipcm_hist_init(scratch);
        rep.latency = scratch;
        r = m->run(&w, &rep);
        ipcm_sysv_sweep();
        if (r < 0) {
            c->status = r == -EOPNOTSUPP ? IPCM_CASE_SKIPPED : IPCM_CASE_FAILED;
            snprintf(c->reason, sizeof(c->reason), "%s%s",
                     r == -EOPNOTSUPP ? "" : "warm-up: ", rep.reason);
        }
    }
    c->seconds += (double)(ipcm_now_ns() - t0) / 1e9;
    return c->status == IPCM_CASE_OK;
}

/* One timed repetition (fresh processes); a failure ends the case. */
static void case_rep(struct ipcm_bench_case *c, unsigned i, struct ipcm_hist *scratch,
                     struct ipcm_hist *merged)
{
    struct ipcm_bench_rep rep;
    uint64_t t0 = ipcm_now_ns();
    memset(&rep, 0, sizeof(rep));
    ipcm_hist_init(scratch);
    rep.latency = scratch;
    int r = c->mode->run(&c->params, &rep);
    /* Its workers are gone: remove what a dead one held (a no-op without the journal the
     * CLI sets up, base.h). */
    ipcm_sysv_sweep();
    c->seconds += (double)(ipcm_now_ns() - t0) / 1e9;
    if (r < 0) {
        c->status = r == -EOPNOTSUPP ? IPCM_CASE_SKIPPED : IPCM_CASE_FAILED;
        if (r == -EOPNOTSUPP)
            snprintf(c->reason, sizeof(c->reason), "%s", rep.reason);
        else
            snprintf(c->reason, sizeof(c->reason), "repetition %u: %s", i + 1,
                     rep.reason[0] ? rep.reason : ipcm_strerror(r));
        return;
    }
    double secs = rep.elapsed_ns ? (double)rep.elapsed_ns / 1e9 : 1e-9;
    c->msgs_per_s[i] = (double)rep.messages / secs;
    c->bytes_per_s[i] = (double)rep.bytes / secs;
    c->tasks_per_s[i] = (double)rep.tasks / secs;
    c->moved[i] = rep.messages ? rep.messages : rep.tasks;
    /* Per message moved (a round trip in latency mode, a task in pool mode). */
    c->has_cpu = (i == 0 || c->has_cpu) && rep.cpu_parts && !rep.cpu_missing && c->moved[i];
    if (c->has_cpu) {
        c->cpu_ns_per_msg[i] = (double)rep.cpu_ns / (double)c->moved[i];
        c->csw_per_msg[i] = (double)rep.csw / (double)c->moved[i];
        c->cpus_busy[i] = (double)rep.cpu_ns / 1e9 / secs;
    }
    if (c->has_latency) {
        c->latency.p50_samples[i] = (double)ipcm_hist_value_at_percentile(scratch, 50.0);
        c->latency.p99_samples[i] = (double)ipcm_hist_value_at_percentile(scratch, 99.0);
        ipcm_hist_merge(merged, scratch);
    }
    c->verified.messages += rep.verified.messages;
    c->verified.lost += rep.verified.lost;
    c->verified.duplicated += rep.verified.duplicated;
    c->verified.reordered += rep.verified.reordered;
    c->verified.corrupt += rep.verified.corrupt;
    c->repetitions++;
}

/* Summaries of the repetitions; verification errors fail the case. */
static void case_finish(struct ipcm_bench_case *c, const struct ipcm_hist *merged)
{
    const struct ipcm_bench_mode *m = c->mode;
    unsigned n = c->repetitions;
    if (n) {
        uint64_t moved[IPCM_BENCH_MAX_REPEAT];
        if (m->metrics & (IPCM_BENCH_METRIC_MSGS | IPCM_BENCH_METRIC_ONEWAY)) {
            ipcm_stats_summarize(c->msgs_per_s, n, &c->msgs);
            ipcm_stats_summarize(c->bytes_per_s, n, &c->bytes);
        }
        if (m->metrics & IPCM_BENCH_METRIC_TASKS)
            ipcm_stats_summarize(c->tasks_per_s, n, &c->tasks);
        if (c->has_latency)
            fill_latency(&c->latency, merged);
        if (c->has_cpu) {
            ipcm_stats_summarize(c->cpu_ns_per_msg, n, &c->cpu_ns);
            ipcm_stats_summarize(c->csw_per_msg, n, &c->csw);
            ipcm_stats_summarize(c->cpus_busy, n, &c->busy);
        }
        memcpy(moved, c->moved, n * sizeof(moved[0]));
        qsort(moved, n, sizeof(moved[0]), cmp_u64);
        c->messages_per_rep = moved[n / 2];
    }
    const struct ipcm_bench_verified *v = &c->verified;
    if (c->status == IPCM_CASE_OK && (v->lost || v->duplicated || v->reordered || v->corrupt)) {
        c->status = IPCM_CASE_FAILED;
        snprintf(c->reason, sizeof(c->reason),
                 "verification: %llu lost, %llu duplicated, %llu reordered, %llu corrupt",
                 (unsigned long long)v->lost, (unsigned long long)v->duplicated,
                 (unsigned long long)v->reordered, (unsigned long long)v->corrupt);
    }
    if (c->status == IPCM_CASE_OK && (m->metrics & IPCM_BENCH_METRIC_MSGS))
        c->verify_ns_per_msg = ipcm_bench_verify_cost(c->params.size);
}

/* What a case measures: its backend, or its mode's own subject. */
static const char *case_subject(const struct ipcm_bench_case *c)
{
    return c->mode->variant ? c->mode->variant(c->params.variant) : ipcm_backend_name(c->params.be);
}

static const char *case_label(const struct ipcm_bench_case *c, char *buf, size_t len)
{
    const struct ipcm_bench_params *p = &c->params;
    snprintf(buf, len, "%s %s %zuB P%u C%u W%u %s%s%s", c->mode->name, case_subject(c), p->size,
             p->producers, p->consumers, p->workers, ipcm_bench_placement_name(p->placement),
             c->mode->start_methods ? " " : "",
             c->mode->start_methods ? ipcm_bench_start_method_name(p->start_method) : "");
    return buf;
}

/* Cases that differ only in the backend: expand() puts them next to each other. */
static bool same_but_backend(const struct ipcm_bench_params *a, const struct ipcm_bench_params *b)
{
    return a->shape == b->shape && a->size == b->size && a->producers == b->producers &&
           a->consumers == b->consumers && a->workers == b->workers && a->chunk == b->chunk &&
           a->placement == b->placement && a->ncpus == b->ncpus &&
           memcmp(a->cpus, b->cpus, sizeof(a->cpus)) == 0;
}

int ipcm_bench_run(const struct ipcm_bench_config *cfg, struct ipcm_bench_run *out)
{
    const struct ipcm_bench_mode *m = ipcm_bench_mode_find(cfg->mode);
    if (!m || !cfg->nbackends || !cfg->repeat || cfg->repeat > IPCM_BENCH_MAX_REPEAT ||
        (!cfg->messages && !cfg->duration_ns))
        return -EINVAL;
    size_t n = expand(cfg, m, NULL, 0);
    if (!n)
        return -EINVAL;
    ipcm_msg_verify(cfg->verify_full); /* workers inherit it through fork */
    struct ipcm_bench_params *plist = calloc(n, sizeof(*plist));
    struct ipcm_bench_case *cases = realloc(out->cases, (out->ncases + n) * sizeof(*cases));
    struct ipcm_hist *h = malloc((1 + IPCM_BENCH_MAX_BACKENDS) * sizeof(*h));
    if (!plist || !cases || !h) {
        free(plist);
        free(h);
        if (cases)
            out->cases = cases;
        return -ENOMEM;
    }
    out->cases = cases;
    expand(cfg, m, plist, n);
    for (size_t i = 0; i < n; i++) {
        struct ipcm_bench_case *c = &out->cases[out->ncases + i];
        memset(c, 0, sizeof(*c));
        c->mode = m;
        c->params = plist[i];
        c->latency_kind =
            m->start_methods ? "spawn-to-first-message"
            : (m->metrics & IPCM_BENCH_METRIC_LATENCY)
                ? (c->params.shape == IPCM_SHAPE_PIPE ? "round-trip" : "one-way-open-loop")
                : "one-way";
        if (m->latency_kind)
            c->latency_kind = m->latency_kind;
    }
    /*
     * Repetitions are interleaved across the backends of one workload (rep 1 of each
     * backend, then rep 2, ...), so a host whose speed drifts during the run (other
     * load, the hypervisor moving vCPUs) shifts every backend alike instead of
     * favouring whichever ran in the quiet minute (Google Benchmark's interleaving).
     */
    struct ipcm_hist *scratch = &h[IPCM_BENCH_MAX_BACKENDS];
    for (size_t g = 0; g < n;) {
        size_t ng = 1;
        while (g + ng < n && ng < IPCM_BENCH_MAX_BACKENDS &&
               same_but_backend(&plist[g], &plist[g + ng]))
            ng++;
        struct ipcm_bench_case *grp = &out->cases[out->ncases + g];
        bool live[IPCM_BENCH_MAX_BACKENDS];
        char label[128];
        for (size_t k = 0; k < ng; k++) {
            if (cfg->progress)
                cfg->progress(cfg->progress_ctx, g + k, n,
                              case_label(&grp[k], label, sizeof(label)));
            live[k] = case_prepare(cfg, &grp[k], scratch);
            ipcm_hist_init(&h[k]);
        }
        for (unsigned rep = 0; rep < cfg->repeat; rep++)
            for (size_t k = 0; k < ng; k++)
                if (live[k]) {
                    case_rep(&grp[k], rep, scratch, &h[k]);
                    live[k] = grp[k].status == IPCM_CASE_OK;
                }
        for (size_t k = 0; k < ng; k++)
            case_finish(&grp[k], &h[k]);
        g += ng;
    }
    out->ncases += n;
    if (cfg->progress)
        cfg->progress(cfg->progress_ctx, n, n, "done");
    free(plist);
    free(h);
    return 0;
}

void ipcm_bench_run_free(struct ipcm_bench_run *r)
{
    free(r->cases);
    r->cases = NULL;
    r->ncases = 0;
}

/* ---------------------------------------------------------------- the results record */

/* The key and run facts of a case as the record spells them. */
static void record_head(const struct ipcm_bench_case *c, struct ipcm_rr_case *o)
{
    const struct ipcm_bench_params *p = &c->params;
    snprintf(o->mode, sizeof(o->mode), "%s", c->mode->name);
    snprintf(o->backend, sizeof(o->backend), "%s", case_subject(c));
    snprintf(o->shape, sizeof(o->shape), "%s", p->shape == IPCM_SHAPE_PIPE ? "pipe" : "queue");
    o->size = p->size;
    o->producers = p->producers;
    o->consumers = p->consumers;
    o->workers = p->workers;
    snprintf(o->placement, sizeof(o->placement), "%s", ipcm_bench_placement_name(p->placement));
    if (c->mode->start_methods)
        snprintf(o->start_method, sizeof(o->start_method), "%s",
                 ipcm_bench_start_method_name(p->start_method));
    o->status = c->status == IPCM_CASE_OK        ? IPCM_RR_OK
                : c->status == IPCM_CASE_SKIPPED ? IPCM_RR_SKIPPED
                                                 : IPCM_RR_FAILED;
    snprintf(o->reason, sizeof(o->reason), "%s", c->reason);
    o->repetitions = c->repetitions;
    /* An unpinned case lists no CPUs, whatever the scheduler chose. */
    o->ncpus = p->placement == IPCM_PLACE_UNPINNED ? 0 : p->ncpus;
    memcpy(o->cpus, p->cpus, o->ncpus * sizeof(o->cpus[0]));
    o->spins = c->spins;
    o->has_chunk = (c->mode->axes & IPCM_BENCH_AXIS_CHUNKS) != 0;
    o->chunk = p->chunk;
    o->rate_per_s = p->rate_per_s;
    o->messages_per_rep = c->messages_per_rep;
    o->seconds = c->seconds;
    o->verify_ns_per_msg = c->verify_ns_per_msg;
    o->verified =
        (struct ipcm_rr_verified){c->verified.messages, c->verified.lost, c->verified.duplicated,
                                  c->verified.reordered, c->verified.corrupt};
}

/* The metrics the mode reports, once a repetition completed. */
static int record_metrics(const struct ipcm_bench_case *c, struct ipcm_rr_case *o)
{
    unsigned mt = c->mode->metrics, n = c->repetitions;
    const struct ipcm_bench_latency *l = &c->latency;
    struct ipcm_rr_latency *ol = &o->latency_ns;
    if (!n)
        return 0;
    if ((mt & IPCM_BENCH_METRIC_MSGS) &&
        (ipcm_rr_stat_set(&o->msgs_per_s, &c->msgs, c->msgs_per_s, n) < 0 ||
         ipcm_rr_stat_set(&o->bytes_per_s, &c->bytes, c->bytes_per_s, n) < 0))
        return -ENOMEM;
    if ((mt & IPCM_BENCH_METRIC_TASKS) &&
        ipcm_rr_stat_set(&o->tasks_per_s, &c->tasks, c->tasks_per_s, n) < 0)
        return -ENOMEM;
    if (c->has_cpu && (ipcm_rr_stat_set(&o->cpu_ns_per_msg, &c->cpu_ns, c->cpu_ns_per_msg, n) < 0 ||
                       ipcm_rr_stat_set(&o->csw_per_msg, &c->csw, c->csw_per_msg, n) < 0 ||
                       ipcm_rr_stat_set(&o->cpus_busy, &c->busy, c->cpus_busy, n) < 0))
        return -ENOMEM;
    if (!(mt & (IPCM_BENCH_METRIC_LATENCY | IPCM_BENCH_METRIC_ONEWAY)))
        return 0;
    ol->present = true;
    ol->oneway = !(mt & IPCM_BENCH_METRIC_LATENCY);
    ol->kind = c->latency_kind;
    ol->count = l->count;
    ol->min = l->min, ol->p50 = l->p50, ol->p90 = l->p90, ol->p99 = l->p99;
    ol->p999 = l->p999, ol->max = l->max, ol->mean = l->mean;
    if (ipcm_rr_samples_dup(l->p50_samples, n, &ol->p50_samples) < 0)
        return -ENOMEM;
    ol->np50 = n;
    if (ipcm_rr_samples_dup(l->p99_samples, n, &ol->p99_samples) < 0)
        return -ENOMEM;
    ol->np99 = n;
    return 0;
}

int ipcm_bench_record(const struct ipcm_bench_run *run, struct ipcm_results *r)
{
    if (!run->ncases)
        return 0;
    struct ipcm_rr_case *v = realloc(r->cases, (r->ncases + run->ncases) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    r->cases = v;
    for (size_t i = 0; i < run->ncases; i++) {
        struct ipcm_rr_case *o = &r->cases[r->ncases];
        memset(o, 0, sizeof(*o));
        /* Counted first so that ipcm_record_fini releases a half-converted case too. */
        r->ncases++;
        record_head(&run->cases[i], o);
        if (record_metrics(&run->cases[i], o) < 0)
            return -ENOMEM;
    }
    return 0;
}

static json_t *u64_list(const uint64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

json_t *ipcm_bench_config_json(const struct ipcm_bench_config *cfg, int argc, char **argv)
{
    json_t *bes = json_array(), *pin = json_array(), *args = json_array();
    for (size_t i = 0; i < cfg->nbackends; i++)
        json_array_append_new(bes, json_string(ipcm_backend_name(cfg->backends[i])));
    for (size_t i = 0; i < cfg->npin; i++)
        json_array_append_new(pin, json_integer(cfg->pin[i]));
    for (int i = 0; argv && i < argc; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_t *o = json_pack(
        "{s:o,s:s,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:I,s:o,s:I,s:f,s:o,s:I}", "argv", args, "mode",
        cfg->mode, "backends", bes, "sizes", u64_list(cfg->sizes, cfg->nsizes), "producers",
        u64_list(cfg->producers, cfg->nproducers), "consumers",
        u64_list(cfg->consumers, cfg->nconsumers), "pairs", cfg->pairs, "workers",
        u64_list(cfg->workers, cfg->nworkers), "chunks", u64_list(cfg->chunks, cfg->nchunks),
        "messages", (json_int_t)cfg->messages, "duration_s",
        cfg->duration_ns ? json_real((double)cfg->duration_ns / 1e9) : json_null(), "repeat",
        (json_int_t)cfg->repeat, "warmup_s", (double)cfg->warmup_ns / 1e9, "pin", pin, "timeout_ms",
        (json_int_t)cfg->timeout_ms);
    if (o && cfg->rate_per_s > 0)
        json_object_set_new(o, "rate_per_s", json_real(cfg->rate_per_s));
    if (o)
        json_object_set_new(o, "verify", json_string(cfg->verify_full ? "full" : "stamps"));
    return o;
}
