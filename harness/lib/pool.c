/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the process pool (Python's multiprocessing.Pool): create, the blocking maps,
 * close, join, terminate, destroy and what a pool reports. The contract is in ipcmark.h,
 * the design and delivery policy in docs/pool.md; the other pool_*.c hold the rest.
 */
#include "ipcmark.h"

#include "pool_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MIN_MSG 64u
#define POOL_DEFAULT_DEPTH 8u /* chunks in flight per worker */
#define POOL_DEFAULT_START_MS 10000

void pool_set_error(struct ipcm_pool *p, int err, const char *fmt, ...)
{
    va_list ap;
    memset(&p->err, 0, sizeof(p->err));
    p->err.err = err;
    p->err.index = SIZE_MAX;
    p->err.worker = -1;
    va_start(ap, fmt);
    vsnprintf(p->err.what, sizeof(p->err.what), fmt, ap);
    va_end(ap);
}

static int pool_run(struct ipcm_pool *p, struct pool_job *job, int timeout_ms)
{
    int r = pool_job_start(p, job);
    if (r < 0)
        return r;
    r = pool_job_step(p, job, SIZE_MAX, timeout_ms);
    if (r == -ETIMEDOUT)
        pool_set_error(p, -ETIMEDOUT, "map timed out after %d ms with %zu of %zu results",
                       timeout_ms, job->done, job->n);
    return pool_job_finish(p, job, r);
}

static int pool_map_common(struct ipcm_pool *p, struct pool_job *job, size_t chunk_size,
                           int timeout_ms)
{
    int r = pool_job_prepare(p, job, chunk_size);
    if (r != 0)
        return r > 0 ? 0 : r;
    r = pool_run(p, job, timeout_ms);
    free(job->tstate);
    return r;
}

int ipcm_pool_map(struct ipcm_pool *p, ipcm_task_fn fn, const struct ipcm_pool_buf *in, size_t n,
                  size_t chunk_size, struct ipcm_pool_result *out, int timeout_ms)
{
    if (!p)
        return -EINVAL;
    if (n && !out)
        return -EINVAL;
    struct pool_job job = {.fn = fn, .in = in, .n = n, .out = out};
    return pool_map_common(p, &job, chunk_size, timeout_ms);
}

int ipcm_pool_map_unordered(struct ipcm_pool *p, ipcm_task_fn fn, const struct ipcm_pool_buf *in,
                            size_t n, size_t chunk_size, ipcm_pool_result_cb cb, void *cb_arg,
                            int timeout_ms)
{
    if (!p || !cb)
        return -EINVAL;
    struct pool_job job = {.fn = fn, .in = in, .n = n, .cb = cb, .cb_arg = cb_arg};
    return pool_map_common(p, &job, chunk_size, timeout_ms);
}

int ipcm_pool_apply(struct ipcm_pool *p, ipcm_task_fn fn, const void *in, size_t in_len,
                    struct ipcm_pool_result *out, int timeout_ms)
{
    struct ipcm_pool_buf b = {.data = in, .len = in_len};
    return ipcm_pool_map(p, fn, &b, 1, 1, out, timeout_ms);
}

int ipcm_pool_terminate(struct ipcm_pool *p)
{
    if (!p)
        return -EINVAL;
    if (p->in_callback)
        return -EDEADLK;
    if (p->async)
        pool_async_cancel(p->async); /* an asynchronous map ends here */
    p->state = POOL_TERMINATED;
    for (unsigned s = 0; s < p->nworkers; s++)
        if (p->w[s].proc.pid > 0)
            ipcm_process_kill(&p->w[s].proc, SIGKILL);
    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (w->proc.pid > 0)
            ipcm_process_stop(&w->proc, 0, NULL); /* SIGKILLed: the wait is short */
        pool_worker_close_chans(w);
        w->state = W_EMPTY;
        w->nflight = 0;
    }
    return 0;
}

/*
 * Tell each worker to exit once its queue is done: an explicit exit frame, then our end
 * of its task queue closed. End-of-stream alone is not enough: a process the program
 * forked after the pool was created holds copies of the pool's descriptors, and a
 * worker would then never see its queue end (the "stray descriptor" trap of pipe(7)).
 * A full queue gets the frame later, from join.
 */
static void pool_send_exits(struct ipcm_pool *p)
{
    size_t len = pool_wire_control(p->sbuf, POOL_EXIT, 0);
    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (!w->task)
            continue;
        if (w->proc.pid > 0 && ipcm_chan_send(w->task, p->sbuf, len, 0) == -EAGAIN)
            continue;
        ipcm_chan_close(w->task);
        w->task = NULL;
    }
}

/* What close and join refuse: no pool, a callback's call, an asynchronous map running. */
static int pool_check_quiet(const struct ipcm_pool *p)
{
    if (!p)
        return -EINVAL;
    if (p->in_callback)
        return -EDEADLK;
    if (p->async)
        return -EBUSY;
    return 0;
}

int ipcm_pool_close(struct ipcm_pool *p)
{
    int r = pool_check_quiet(p);
    if (r < 0)
        return r;
    if (p->state == POOL_RUNNING)
        p->state = POOL_CLOSED;
    pool_send_exits(p);
    return 0;
}

int ipcm_pool_join(struct ipcm_pool *p, int timeout_ms)
{
    struct ipcm_deadline dl;
    int r = pool_check_quiet(p);
    if (r < 0)
        return r;
    if (p->state == POOL_RUNNING || p->state == POOL_STARTING)
        return -EINVAL;
    ipcm_deadline_init(&dl, timeout_ms);
    for (;;) {
        bool alive = false;
        for (unsigned s = 0; s < p->nworkers; s++)
            alive |= p->w[s].proc.pid > 0;
        if (!alive)
            break;
        int wait = ipcm_deadline_left_ms(&dl);
        if (wait == 0)
            return -ETIMEDOUT;
        pool_send_exits(p);
        bool pending = false;
        for (unsigned s = 0; s < p->nworkers; s++)
            pending |= p->w[s].task != NULL;
        if (pending && (wait < 0 || wait > 1))
            wait = 1;
        /* Keep draining results so no worker stays blocked on a full result queue. */
        if ((r = pool_poll(p, wait)) < 0)
            return r;
    }
    for (unsigned s = 0; s < p->nworkers; s++)
        pool_worker_close_chans(&p->w[s]);
    return 0;
}

void ipcm_pool_destroy(struct ipcm_pool *p)
{
    if (!p)
        return;
    p->in_callback = false;
    ipcm_pool_terminate(p);
    for (unsigned s = 0; s < p->nworkers; s++)
        free(p->w[s].flight);
    free(p->w);
    free(p->sbuf);
    free(p->rbuf);
    free(p->pfd);
    free(p->pfd_slot);
    free(p);
}

/* Allocate a pool from checked options, workers not started. Returns 0 (*out set) or
 * -errno; on -ENOMEM *out is a pool to destroy. */
static int pool_alloc(struct ipcm_pool **out, unsigned workers, const struct ipcm_backend *be,
                      const struct ipcm_pool_options *opt, const struct ipcm_limits *lim)
{
    struct ipcm_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->be = be;
    if (opt)
        p->opt = *opt;
    p->state = POOL_STARTING;
    p->nworkers = workers;
    p->max_msg = p->opt.max_msg ? p->opt.max_msg : lim->default_msg;
    p->depth = p->opt.depth ? p->opt.depth : POOL_DEFAULT_DEPTH;
    snprintf(p->limit_source, sizeof(p->limit_source), "%s", lim->max_msg_source);
    if (p->max_msg > lim->max_msg || p->max_msg < POOL_MIN_MSG || p->max_msg > UINT32_MAX) {
        free(p);
        return -EMSGSIZE;
    }
    if (lim->max_depth && p->depth > lim->max_depth) {
        free(p);
        return -EINVAL;
    }
    *out = p;
    p->max_task = p->max_msg - POOL_HDR - POOL_ITEM;
    p->w = calloc(workers, sizeof(*p->w));
    if (!p->w)
        p->nworkers = 0; /* so destroy, which walks the slots, has none to walk */
    p->sbuf = malloc(p->max_msg);
    p->rbuf = malloc(p->max_msg);
    p->pfd = calloc(2 * (size_t)workers, sizeof(*p->pfd));
    p->pfd_slot = calloc(2 * (size_t)workers, sizeof(*p->pfd_slot));
    int r = (p->w && p->sbuf && p->rbuf && p->pfd && p->pfd_slot) ? 0 : -ENOMEM;
    for (unsigned s = 0; p->w && s < workers; s++) {
        p->w[s].proc.pidfd = -1;
        p->w[s].flight = calloc(p->depth, sizeof(*p->w[s].flight));
        if (!p->w[s].flight)
            r = -ENOMEM;
    }
    return r;
}

/* Wait until no worker is still starting. Returns 0; the first start error; -ETIMEDOUT. */
static int pool_wait_started(struct ipcm_pool *p, int start_ms)
{
    struct ipcm_deadline dl;
    int r = 0;

    ipcm_deadline_init(&dl, start_ms);
    while (r == 0) {
        bool starting = false;
        for (unsigned s = 0; s < p->nworkers; s++)
            starting |= p->w[s].state == W_STARTING;
        if (p->start_err)
            return p->start_err;
        if (!starting)
            return 0;
        int wait = ipcm_deadline_left_ms(&dl);
        if (wait == 0)
            return -ETIMEDOUT;
        r = pool_poll(p, wait);
    }
    return r;
}

int ipcm_pool_create(struct ipcm_pool **out, unsigned workers, const struct ipcm_backend *be,
                     const struct ipcm_pool_options *opt)
{
    return ipcm_pool_create_start(out, workers, be, opt, NULL);
}

int ipcm_pool_create_start(struct ipcm_pool **out, unsigned workers, const struct ipcm_backend *be,
                           const struct ipcm_pool_options *opt, const struct ipcm_pool_start *start)
{
    struct ipcm_limits lim;
    struct ipcm_pool *p = NULL;
    int r;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (workers == 0 || !be)
        return -EINVAL;
    if (start && start->method != IPCM_START_FORK) {
        if (start->method != IPCM_START_EXEC || !start->path)
            return -EINVAL;
        if (!(ipcm_backend_caps(be) & IPCM_CAP_EXEC))
            return -ENOTSUP;
    }
    if ((r = ipcm_backend_limits(be, &lim)) < 0)
        return r;
    r = pool_alloc(&p, workers, be, opt, &lim);
    if (p && start) /* the program, argv and envp must outlive the pool (replacements) */
        p->start = *start;
    for (unsigned s = 0; r == 0 && s < workers; s++)
        r = pool_spawn(p, s);
    if (r == 0) {
        int start_ms =
            p->opt.start_timeout_ms > 0 ? p->opt.start_timeout_ms : POOL_DEFAULT_START_MS;
        r = pool_wait_started(p, start_ms);
    }
    if (r < 0) {
        ipcm_pool_destroy(p);
        return r;
    }
    p->state = POOL_RUNNING;
    pool_set_error(p, 0, "ok");
    *out = p;
    return 0;
}

int ipcm_pool_last_error(const struct ipcm_pool *p, struct ipcm_pool_error *out)
{
    *out = p->err;
    return 0;
}

int ipcm_pool_info(const struct ipcm_pool *p, struct ipcm_pool_info *out)
{
    *out = p->info;
    out->workers = p->nworkers;
    out->max_msg = p->max_msg;
    out->max_task_bytes = p->max_task;
    out->depth = p->depth;
    return 0;
}

pid_t ipcm_pool_worker_pid(const struct ipcm_pool *p, unsigned slot)
{
    if (!p || slot >= p->nworkers || p->w[slot].proc.pid <= 0)
        return -ESRCH;
    return p->w[slot].proc.pid;
}

void ipcm_pool_results_free(struct ipcm_pool_result *out, size_t n)
{
    if (!out)
        return;
    for (size_t i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}
