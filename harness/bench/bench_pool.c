/* SPDX-License-Identifier: MIT */
/*
 * bench_pool.c - the `pool` mode: tasks per second of ipcm_pool_map with W workers,
 * tasks of one size, a trivial task body (it returns the 8-byte index its input
 * carries) and a chunk size (0: CPython's default). Pool start-up is outside the clock;
 * every result is checked against its index.
 */
#include "bench.h"

#include "bench_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BENCH_MIN 8u
/* Inputs of one map live in one buffer of at most this many bytes. */
#define POOL_BENCH_BATCH_BYTES (64u << 20)
#define POOL_BENCH_BATCH_MAX 20000u
#define POOL_BENCH_OVERHEAD 64u /* the pool's headers per message, rounded up */

static int pool_bench_task(const void *in, size_t in_len, void *out, size_t out_cap,
                           size_t *out_len)
{
    if (in_len < POOL_BENCH_MIN || out_cap < POOL_BENCH_MIN)
        return -EINVAL;
    memcpy(out, in, POOL_BENCH_MIN);
    *out_len = POOL_BENCH_MIN;
    return 0;
}

/* The pool's options for tasks of p->size bytes; -EOPNOTSUPP with rep->reason set when
 * the backend's messages cannot carry one. */
static int pool_bench_options(const struct ipcm_bench_params *p, struct ipcm_pool_options *opt,
                              struct ipcm_bench_rep *rep)
{
    struct ipcm_limits lim;
    int r = ipcm_backend_limits(p->be, &lim);
    if (r < 0)
        return r;
    size_t need = p->size + POOL_BENCH_OVERHEAD;
    if (need > lim.max_msg) {
        snprintf(rep->reason, sizeof(rep->reason),
                 "a %zu B task needs %zu B messages; %s allows %zu B (%.60s)", p->size, need,
                 ipcm_backend_name(p->be), lim.max_msg, lim.max_msg_source);
        return -EOPNOTSUPP;
    }
    /* At least the backend's default message, so a default-size chunk of small tasks
     * travels in few messages, as it would with CPython's pickled chunks. */
    *opt = (struct ipcm_pool_options){.max_msg = need > lim.default_msg ? need : lim.default_msg,
                                      .start_timeout_ms = p->timeout_ms};
    return 0;
}

/* The inputs and results of one map: batch tasks of p->size bytes in one buffer. */
struct pool_bench_batch {
    uint64_t n;
    unsigned char *data;
    struct ipcm_pool_buf *in;
    struct ipcm_pool_result *out;
};

/*
 * The CPU of the pool in the timed region: this process (it feeds tasks and collects
 * results; getrusage) and every worker (its CPU clock, read from here: the workers run
 * the library's loop, which has no hook for a worker to read its own).
 */
struct pool_bench_cpu {
    struct ipcm_bench_cpu self, w[IPCM_BENCH_MAX_WORKERS];
    pid_t pid[IPCM_BENCH_MAX_WORKERS];
};

static void pool_cpu_mark(const struct ipcm_bench_params *p, struct ipcm_pool *pool,
                          struct pool_bench_cpu *m)
{
    for (unsigned i = 0; i < p->workers && i < IPCM_BENCH_MAX_WORKERS; i++) {
        m->pid[i] = ipcm_pool_worker_pid(pool, i);
        ipcm_bench_cpu_of_pid(m->pid[i], &m->w[i]);
    }
    ipcm_bench_cpu_mark(&m->self);
}

/* Sum the CPU since mark m into rep; a worker replaced since (another pid) is missing. */
static void pool_cpu_add(const struct ipcm_bench_params *p, struct ipcm_pool *pool,
                         const struct pool_bench_cpu *m, struct ipcm_bench_rep *rep)
{
    struct ipcm_bench_cpu d;
    ipcm_bench_cpu_since(&m->self, &d);
    ipcm_bench_cpu_add(rep, &d);
    for (unsigned i = 0; i < p->workers; i++) {
        struct ipcm_bench_cpu now = {0};
        if (i < IPCM_BENCH_MAX_WORKERS && ipcm_pool_worker_pid(pool, i) == m->pid[i])
            ipcm_bench_cpu_of_pid(m->pid[i], &now);
        d = (struct ipcm_bench_cpu){.valid = now.valid && m->w[i].valid};
        if (d.valid) {
            d.cpu_ns = now.cpu_ns - m->w[i].cpu_ns;
            d.csw = now.csw - m->w[i].csw;
        }
        ipcm_bench_cpu_add(rep, &d);
    }
}

/* Map batches until the message count or the duration is reached, checking every
 * result against its index. Returns 0 or the map's error with rep->reason set. */
static int pool_bench_maps(const struct ipcm_bench_params *p, struct ipcm_pool *pool,
                           const struct pool_bench_batch *b, struct ipcm_bench_rep *rep)
{
    struct pool_bench_cpu cpu;
    pool_cpu_mark(p, pool, &cpu);
    uint64_t seq = 0, t0 = ipcm_now_ns(), end = t0 + p->duration_ns;
    for (;;) {
        uint64_t n = b->n;
        if (p->messages && p->messages - seq < n)
            n = p->messages - seq;
        if (n == 0)
            break;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t v = seq + i;
            memcpy(b->data + i * p->size, &v, sizeof(v));
        }
        int r = ipcm_pool_map(pool, pool_bench_task, b->in, n, p->chunk, b->out, p->timeout_ms);
        if (r < 0) {
            struct ipcm_pool_error e;
            ipcm_pool_last_error(pool, &e);
            snprintf(rep->reason, sizeof(rep->reason), "map: %.150s", e.what);
            ipcm_pool_results_free(b->out, n);
            return r;
        }
        for (uint64_t i = 0; i < n; i++) {
            uint64_t v = 0;
            if (b->out[i].len == sizeof(v))
                memcpy(&v, b->out[i].data, sizeof(v));
            if (b->out[i].status != 0 || b->out[i].len != sizeof(v) || v != seq + i)
                rep->verified.corrupt++;
        }
        ipcm_pool_results_free(b->out, n);
        seq += n;
        rep->verified.messages += n;
        if (!p->messages && ipcm_now_ns() >= end)
            break;
    }
    rep->elapsed_ns = ipcm_now_ns() - t0;
    pool_cpu_add(p, pool, &cpu, rep);
    rep->tasks = seq - rep->verified.corrupt;
    return 0;
}

static int pool_bench_run(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    struct ipcm_pool_options opt;
    struct ipcm_pool *pool = NULL;
    int r = pool_bench_options(p, &opt, rep);
    if (r < 0)
        return r;
    uint64_t batch = POOL_BENCH_BATCH_BYTES / p->size;
    if (batch > POOL_BENCH_BATCH_MAX)
        batch = POOL_BENCH_BATCH_MAX;
    if (p->messages && p->messages < batch)
        batch = p->messages;
    if (batch == 0)
        batch = 1;
    struct pool_bench_batch b = {.n = batch,
                                 .data = calloc(batch, p->size),
                                 .in = calloc(batch, sizeof(struct ipcm_pool_buf)),
                                 .out = calloc(batch, sizeof(struct ipcm_pool_result))};
    if (!b.data || !b.in || !b.out) {
        r = -ENOMEM;
        snprintf(rep->reason, sizeof(rep->reason), "out of memory for %llu tasks",
                 (unsigned long long)batch);
        goto done;
    }
    for (uint64_t i = 0; i < batch; i++) {
        b.in[i] = (struct ipcm_pool_buf){b.data + i * p->size, p->size};
        memset(b.data + i * p->size, (int)(i & 0xff), p->size);
    }
    r = ipcm_pool_create(&pool, p->workers, p->be, &opt);
    if (r < 0) {
        snprintf(rep->reason, sizeof(rep->reason), "pool of %u workers: %s", p->workers,
                 ipcm_error_text(r));
        goto done;
    }
    if ((r = pool_bench_maps(p, pool, &b, rep)) == 0 && rep->verified.corrupt) {
        snprintf(rep->reason, sizeof(rep->reason), "%llu wrong results",
                 (unsigned long long)rep->verified.corrupt);
        r = -EPROTO;
    }
done:
    if (pool) {
        ipcm_pool_close(pool);
        if (ipcm_pool_join(pool, p->timeout_ms) < 0)
            ipcm_pool_terminate(pool);
        ipcm_pool_destroy(pool);
    }
    free(b.data);
    free(b.in);
    free(b.out);
    return r;
}

const struct ipcm_bench_mode ipcm_bench_mode_pool = {
    .name = "pool",
    .summary = "tasks/s of a process pool's map: W workers, task size, chunk size (0: default)",
    .shape = IPCM_SHAPE_QUEUE,
    .axes = IPCM_BENCH_AXIS_SIZES | IPCM_BENCH_AXIS_WORKERS | IPCM_BENCH_AXIS_CHUNKS,
    .metrics = IPCM_BENCH_METRIC_TASKS,
    .min_size = POOL_BENCH_MIN,
    .run = pool_bench_run,
};
