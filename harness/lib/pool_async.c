/* SPDX-License-Identifier: MIT */
/*
 * pool_async.c - asynchronous maps (Python's map_async, apply_async, AsyncResult): the
 * job lives in a handle, and results are collected while the caller waits.
 */
#include "pool_internal.h"

#include <errno.h>
#include <stdlib.h>

/* An asynchronous map: the job lives here until the caller frees it. */
struct ipcm_pool_async {
    struct ipcm_pool *p; /* never touched once finished (the pool may be gone) */
    struct pool_job job;
    bool finished;
    int result;
    struct ipcm_pool_buf one; /* apply_async's input descriptor, which job.in points at */
    ipcm_pool_done_fn done, failed; /* ipcm_pool_async_on_done */
    void *done_arg;
    bool has_done, told;
};

/*
 * The completion callback, once, in the caller's thread. While the map is settling
 * (guard) pool calls from it return -EDEADLK; from on_done on a map long over, the pool
 * may be gone, so it is not touched.
 */
static void async_tell(struct ipcm_pool_async *a, bool guard)
{
    ipcm_pool_done_fn fn = a->result == 0 ? a->done : a->failed;
    if (!a->has_done || a->told)
        return;
    a->told = true;
    if (!fn)
        return;
    bool was = guard && a->p->in_callback;
    if (guard)
        a->p->in_callback = true;
    fn(a->result, a->done_arg);
    if (guard)
        a->p->in_callback = was;
}

static void async_settle(struct ipcm_pool_async *a, int r)
{
    a->result = pool_job_finish(a->p, &a->job, r);
    a->finished = true;
    a->p->async = NULL;
    async_tell(a, true);
}

int ipcm_pool_async_on_done(struct ipcm_pool_async *a, ipcm_pool_done_fn done,
                            ipcm_pool_done_fn failed, void *arg)
{
    if (!a)
        return -EINVAL;
    if (a->has_done)
        return -EALREADY;
    a->done = done, a->failed = failed, a->done_arg = arg;
    a->has_done = true;
    if (a->finished) /* over already (at start, or waited for): tell now */
        async_tell(a, false);
    return 0;
}

void pool_async_cancel(struct ipcm_pool_async *a)
{
    /* Results still on their way are recognised by their job id and dropped. */
    a->job.stop = true;
    a->job.err = -ECANCELED;
    async_settle(a, -ECANCELED);
}

/* Start a (prepared) map of a's job; on failure a is freed. */
static int async_start(struct ipcm_pool *p, struct ipcm_pool_async *a, size_t chunk_size,
                       struct ipcm_pool_async **outp)
{
    a->p = p;
    int r = pool_job_prepare(p, &a->job, chunk_size);
    if (r > 0) {
        a->finished = true; /* nothing to do */
    } else if (r == 0 && (r = pool_job_start(p, &a->job)) == 0) {
        p->async = a;
        /* Hand out the first chunks now; results are collected by the waits. */
        r = pool_job_step(p, &a->job, SIZE_MAX, 0);
        if (r != -ETIMEDOUT)
            async_settle(a, r); /* done already, or failed: wait reports it */
        r = 0;
    }
    if (r < 0) {
        free(a->job.tstate);
        free(a);
        return r;
    }
    *outp = a;
    return 0;
}

int ipcm_pool_map_async(struct ipcm_pool *p, ipcm_task_fn fn, const struct ipcm_pool_buf *in,
                        size_t n, size_t chunk_size, struct ipcm_pool_result *out,
                        struct ipcm_pool_async **outp)
{
    if (!p || !outp || (n && !out))
        return -EINVAL;
    *outp = NULL;
    struct ipcm_pool_async *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->job = (struct pool_job){.fn = fn, .in = in, .n = n, .out = out};
    return async_start(p, a, chunk_size, outp);
}

int ipcm_pool_apply_async(struct ipcm_pool *p, ipcm_task_fn fn, const void *in, size_t in_len,
                          struct ipcm_pool_result *out, struct ipcm_pool_async **outp)
{
    if (!p || !outp || !out)
        return -EINVAL;
    *outp = NULL;
    struct ipcm_pool_async *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->one = (struct ipcm_pool_buf){.data = in, .len = in_len};
    a->job = (struct pool_job){.fn = fn, .in = &a->one, .n = 1, .out = out};
    return async_start(p, a, 1, outp);
}

int ipcm_pool_async_wait(struct ipcm_pool_async *a, int timeout_ms)
{
    if (!a)
        return -EINVAL;
    if (a->finished)
        return a->result;
    if (a->p->in_callback)
        return -EDEADLK;
    int r = a->job.stop || a->job.done == a->job.n
                ? 0
                : pool_job_step(a->p, &a->job, SIZE_MAX, timeout_ms);
    if (r == -ETIMEDOUT)
        return r;
    async_settle(a, r);
    return a->result;
}

int ipcm_pool_async_wait_prefix(struct ipcm_pool_async *a, size_t count, int timeout_ms)
{
    if (!a)
        return -EINVAL;
    if (a->finished || count >= a->job.n)
        return ipcm_pool_async_wait(a, timeout_ms);
    if (pool_job_prefix(&a->job) >= count)
        return 0;
    if (a->p->in_callback)
        return -EDEADLK;
    int r = a->job.stop ? 0 : pool_job_step(a->p, &a->job, count, timeout_ms);
    if (r == -ETIMEDOUT ||
        (r == 0 && !a->job.stop && pool_job_prefix(&a->job) >= count && a->job.done < a->job.n))
        return r;
    async_settle(a, r); /* over: done, stopped or broken */
    return a->result;
}

size_t ipcm_pool_async_prefix(struct ipcm_pool_async *a)
{
    if (!a)
        return 0;
    if (a->finished)
        return a->result == 0 ? a->job.n : a->job.prefix;
    return pool_job_prefix(&a->job);
}

bool ipcm_pool_async_ready(const struct ipcm_pool_async *a)
{
    return a && (a->finished || a->job.done == a->job.n || a->job.stop);
}

void ipcm_pool_async_free(struct ipcm_pool_async *a)
{
    if (!a)
        return;
    if (!a->finished && a->p)
        pool_async_cancel(a); /* cancelled: pending tasks end -ECANCELED */
    free(a->job.tstate);
    free(a);
}
