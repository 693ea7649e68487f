/* SPDX-License-Identifier: MIT */
/*
 * pool_worker.c - what runs in a pool worker process: open its two queues, run the
 * initializer, then run task frames and send their results until told to stop.
 */
#include "pool_internal.h"

#include <errno.h>
#include <stdlib.h>

/* A worker holds back results at most this long to send them together. */
#define POOL_FLUSH_NS (50 * IPCM_NS_PER_US)

/* One worker process's own state (its channels and buffers, not the pool's). */
struct worker {
    const struct ipcm_pool *p; /* this process's copy */
    unsigned slot;
    struct ipcm_chan *tc, *rc; /* receiving end of the task queue, sending end of results */
    unsigned char *in, *out, *scratch;
    struct pool_out o;
    unsigned done; /* task frames run (recycling) */
    ipcm_task_fn fn; /* an exec'd worker's own function, or NULL: the frame's (a fork's) */
};

static int out_flush(struct ipcm_chan *c, struct pool_out *o)
{
    pool_out_close(o, false);
    if (o->len == 0)
        return 0;
    ssize_t r = ipcm_chan_send(c, o->buf, o->len, -1);
    o->len = 0;
    return r < 0 ? (int)r : 0;
}

/*
 * Run the tasks of one task frame and append their results to wk->o, sending it when it
 * is full. A frame's results may span several messages; the last piece carries POOL_LAST.
 */
static int worker_frame(struct worker *wk, const struct pool_hdr *h, size_t in_len, size_t *pos)
{
    const struct ipcm_pool *p = wk->p;
    ipcm_task_fn fn = wk->fn ? wk->fn : (ipcm_task_fn)(uintptr_t)h->fn;
    uint64_t next = h->start;

    for (uint32_t i = 0; i <= h->count; i++) {
        size_t olen = 0;
        int st = 0;
        if (i < h->count) {
            struct pool_item it;
            const unsigned char *data;
            int r = pool_wire_item(wk->in, in_len, pos, &it, &data);
            if (r < 0)
                return r;
            st = fn(data, it.len, wk->scratch, p->max_task, &olen);
            if (st >= 0 && olen > p->max_task)
                st = -EMSGSIZE; /* the task claims more than the room it was given */
            if (st < 0)
                olen = 0;
        }
        if (!pool_out_fits(&wk->o, i < h->count, olen, p->max_msg)) {
            int r = out_flush(wk->rc, &wk->o);
            if (r < 0)
                return r;
        }
        pool_out_open(&wk->o, h->job, next);
        if (i == h->count)
            break;
        pool_out_add(&wk->o, st, wk->scratch, olen);
        next++;
    }
    pool_out_close(&wk->o, true);
    return 0;
}

/*
 * Run every frame of one task message of n bytes; their results travel together.
 * Returns 0; -ECANCELED (an exit frame: leave cleanly); -EPROTO; -errno from a send.
 */
static int worker_message(struct worker *wk, size_t n)
{
    uint64_t flushed_ns = ipcm_now_ns();
    size_t pos = 0;
    int r = 0;

    while (r == 0 && pos < n) {
        struct pool_hdr h;
        if ((r = pool_wire_hdr(wk->in, n, &pos, &h)) < 0)
            return r;
        if (h.type == POOL_EXIT)
            return -ECANCELED;
        if (h.type != POOL_TASK)
            return -EPROTO;
        r = worker_frame(wk, &h, n, &pos);
        wk->done++;
        /* Results of trivial tasks travel together; results of slow ones are sent as
         * each frame completes, so they are neither late nor lost with a crash. */
        uint64_t now = ipcm_now_ns();
        if (r == 0 && now - flushed_ns > POOL_FLUSH_NS) {
            r = out_flush(wk->rc, &wk->o);
            flushed_ns = now;
        }
    }
    return r == 0 ? out_flush(wk->rc, &wk->o) : r;
}

/* Receive and run task messages until the pool closes our queue. Returns the exit code. */
static int worker_loop(struct worker *wk)
{
    unsigned quota = wk->p->opt.max_tasks_per_worker;

    for (;;) {
        ssize_t n = ipcm_chan_recv(wk->tc, wk->in, wk->p->max_msg, -1);
        if (n == -EPIPE)
            return 0; /* the pool closed our queue: a clean exit */
        if (n < 0)
            return 2;
        int r = worker_message(wk, (size_t)n);
        if (r < 0)
            return r == -EPIPE || r == -ECANCELED ? 0 : 2;
        if (quota && wk->done >= quota)
            return 0; /* recycled: the parent starts a fresh worker */
    }
}

/*
 * Drop the parent's ends of the other workers' queues that fork gave us, so that closing
 * the pool reaches them as end-of-stream and our fds do not pin them.
 */
static void worker_drop_inherited(struct ipcm_pool *p, unsigned slot)
{
    for (unsigned i = 0; i < p->nworkers; i++) {
        if (i == slot)
            continue;
        ipcm_chan_close(p->w[i].task);
        ipcm_chan_close(p->w[i].result);
        ipcm_close_fd(&p->w[i].proc.pidfd);
    }
}

static int worker_buffers(struct worker *wk);

/* Open our ends of the two queues and the buffers. Returns 0, -ENOMEM or -errno. */
static int worker_open(struct worker *wk, const struct pool_spawn_arg *a)
{
    int r = ipcm_chan_open(a->task, IPCM_ROLE_RECV, &wk->tc);
    if (r == 0)
        r = ipcm_chan_open(a->result, IPCM_ROLE_SEND, &wk->rc);
    ipcm_link_destroy(a->task);
    ipcm_link_destroy(a->result);
    int b = worker_buffers(wk);
    return r < 0 ? r : b;
}

/* The buffers of a worker whose ends are open. Returns 0 or -ENOMEM. */
static int worker_buffers(struct worker *wk)
{
    int r = 0;
    wk->in = malloc(wk->p->max_msg);
    wk->out = malloc(wk->p->max_msg);
    wk->scratch = malloc(wk->p->max_task);
    if (r == 0 && (!wk->in || !wk->out || !wk->scratch))
        r = -ENOMEM;
    wk->o = (struct pool_out){.buf = wk->out};
    return r;
}

/* Run the initializer and tell the parent how it went. Returns 0 (go on) or -errno. */
static int worker_ready(struct worker *wk)
{
    const struct ipcm_pool *p = wk->p;
    int st = p->opt.initializer ? p->opt.initializer(wk->slot, p->opt.initializer_arg) : 0;
    size_t len = pool_wire_control(wk->out, POOL_READY, st < 0 ? st : 0);
    ssize_t r = ipcm_chan_send(wk->rc, wk->out, len, -1);
    return r < 0 ? (int)r : st < 0 ? st : 0;
}

/* Serve once the worker's ends and buffers are in place (setup is 0; else the -errno of
 * setting them up), then release them. Returns the exit code: 0, 1 or 99. */
static int worker_serve(struct worker *wk, int setup)
{
    int code = 99;
    if (setup == 0)
        code = worker_ready(wk) < 0 ? 1 : worker_loop(wk);
    ipcm_chan_close(wk->tc);
    ipcm_chan_close(wk->rc);
    free(wk->in);
    free(wk->out);
    free(wk->scratch);
    return code;
}

int pool_worker_run(const struct ipcm_pool *p, unsigned slot, struct ipcm_chan *tc,
                    struct ipcm_chan *rc, ipcm_task_fn fn)
{
    struct worker wk = {.p = p, .slot = slot, .tc = tc, .rc = rc, .fn = fn};
    return worker_serve(&wk, worker_buffers(&wk));
}

int pool_worker_main(const void *arg, size_t len)
{
    const struct pool_spawn_arg *a = arg;
    struct worker wk = {.p = a->pool, .slot = a->slot};
    (void)len;

    worker_drop_inherited(a->pool, a->slot);
    return worker_serve(&wk, worker_open(&wk, a));
}
