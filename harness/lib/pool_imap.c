/* SPDX-License-Identifier: MIT */
/*
 * pool_imap.c - lazy maps over an input stream (Python's Pool.imap, imap_unordered):
 * inputs are pulled in windows of at most max_in_flight tasks, copied, and run as one
 * map each, so memory stays bounded however long the stream is. Built on the public
 * map calls only: a window is a map_async (ordered, handed out by its growing prefix)
 * or a map_unordered.
 */
#include "pool_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A window: its inputs' bytes copied into one arena, and their descriptors. */
struct imap_window {
    struct ipcm_pool_buf *in;
    size_t *off; /* each input's offset in arena (the arena moves as it grows) */
    unsigned char *arena;
    size_t cap, used; /* arena bytes */
    struct ipcm_pool_result *out;
    size_t max;  /* inputs a window holds */
    size_t base; /* stream index of in[0] */
};

/* Windows of 64 chunks a worker by default: the tail of a window, where workers idle
 * while the last chunks finish, is then a small part of it. */
static size_t window_size(struct ipcm_pool *p, size_t chunk, size_t max_in_flight)
{
    size_t w = max_in_flight ? max_in_flight : (size_t)p->nworkers * 64 * chunk;
    return w < chunk ? chunk : w / chunk * chunk;
}

static int window_init(struct imap_window *w, size_t max)
{
    memset(w, 0, sizeof(*w));
    w->max = max;
    w->in = calloc(max, sizeof(*w->in));
    w->off = calloc(max, sizeof(*w->off));
    w->out = calloc(max, sizeof(*w->out));
    return w->in && w->off && w->out ? 0 : -ENOMEM;
}

static void window_fini(struct imap_window *w)
{
    free(w->in);
    free(w->off);
    free(w->out);
    free(w->arena);
}

static int window_copy(struct imap_window *w, size_t i, const struct ipcm_pool_buf *b)
{
    if (b->len > w->cap - w->used) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->used < b->len)
            cap *= 2;
        unsigned char *a = realloc(w->arena, cap);
        if (!a)
            return -ENOMEM;
        w->arena = a, w->cap = cap;
    }
    if (b->len)
        memcpy(w->arena + w->used, b->data, b->len);
    w->off[i] = w->used;
    w->in[i].len = b->len;
    w->used += b->len;
    return 0;
}

/*
 * Pull up to w->max inputs. Returns how many (a whole number of chunks when the stream
 * failed: Python's imap yields the complete chunks before the failing one); *err is
 * next()'s negative value or -ENOMEM, *end true at the end of the stream.
 */
static size_t window_fill(struct imap_window *w, size_t chunk, ipcm_pool_input_fn next, void *arg,
                          int *err, bool *end)
{
    size_t n = 0;
    w->used = 0;
    while (n < w->max) {
        struct ipcm_pool_buf b = {0};
        int r = next(w->base + n, &b, arg);
        if (r == 0) {
            *end = true;
            break;
        }
        if (r < 0 || (r = window_copy(w, n, &b)) < 0) {
            *err = r > 0 ? -EINVAL : r;
            n = n / chunk * chunk;
            break;
        }
        n++;
    }
    for (size_t i = 0; i < n; i++)
        w->in[i].data = w->arena + w->off[i];
    return n;
}

/* An unordered window's callback: the stream's index, not the window's. */
struct shift {
    ipcm_pool_result_cb cb;
    void *arg;
    size_t base;
};

static int shifted(size_t index, int status, const void *data, size_t len, void *arg)
{
    const struct shift *s = arg;
    return s->cb(s->base + index, status, data, len, s->arg);
}

/* Run an ordered window: hand out each result once every earlier one is in. */
static int run_ordered(struct ipcm_pool *p, ipcm_task_fn fn, struct imap_window *w, size_t n,
                       size_t chunk, ipcm_pool_result_cb cb, void *cb_arg, int timeout_ms)
{
    struct ipcm_pool_async *a;
    size_t given = 0;
    uint64_t end = ipcm_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * IPCM_NS_PER_MS;
    int r = ipcm_pool_map_async(p, fn, w->in, n, chunk, w->out, &a), cr = 0;
    if (r < 0)
        return r;
    while (given < n && cr == 0) {
        uint64_t now = ipcm_now_ns();
        int left = timeout_ms < 0 ? -1 : now >= end ? 0 : (int)((end - now) / IPCM_NS_PER_MS);
        r = ipcm_pool_async_wait_prefix(a, given + 1, left);
        size_t have = ipcm_pool_async_prefix(a);
        for (; given < have && cr == 0; given++)
            cr = cb(w->base + given, w->out[given].status, w->out[given].data, w->out[given].len,
                    cb_arg);
        if (r != 0)
            break; /* the window is over (failed, timed out) or ended early */
    }
    ipcm_pool_async_free(a); /* stops what still runs when cb stopped the map */
    ipcm_pool_results_free(w->out, n);
    return cr < 0 ? cr : r;
}

static int imap(struct ipcm_pool *p, ipcm_task_fn fn, ipcm_pool_input_fn next, void *next_arg,
                size_t chunk, size_t max_in_flight, ipcm_pool_result_cb cb, void *cb_arg,
                int timeout_ms, bool ordered)
{
    if (!p || !fn || !next || !cb)
        return -EINVAL;
    if (p->in_callback)
        return -EDEADLK;
    if (!chunk)
        chunk = 1; /* the stream's length is unknown: no CPython default to compute */
    struct imap_window w;
    int r = window_init(&w, window_size(p, chunk, max_in_flight));
    bool end = false;
    while (r == 0 && !end) {
        int err = 0;
        size_t n = window_fill(&w, chunk, next, next_arg, &err, &end);
        if (n && ordered)
            r = run_ordered(p, fn, &w, n, chunk, cb, cb_arg, timeout_ms);
        else if (n)
            r = ipcm_pool_map_unordered(p, fn, w.in, n, chunk, shifted,
                                        &(struct shift){cb, cb_arg, w.base}, timeout_ms);
        if (r == -EREMOTEIO)
            r = 0; /* a task's error is its result's status; the stream goes on */
        if (r == 0 && err)
            r = err;
        w.base += n;
    }
    window_fini(&w);
    return r;
}

int ipcm_pool_imap(struct ipcm_pool *p, ipcm_task_fn fn, ipcm_pool_input_fn next, void *next_arg,
                   size_t chunk_size, size_t max_in_flight, ipcm_pool_result_cb cb, void *cb_arg,
                   int timeout_ms)
{
    return imap(p, fn, next, next_arg, chunk_size, max_in_flight, cb, cb_arg, timeout_ms, true);
}

int ipcm_pool_imap_unordered(struct ipcm_pool *p, ipcm_task_fn fn, ipcm_pool_input_fn next,
                             void *next_arg, size_t chunk_size, size_t max_in_flight,
                             ipcm_pool_result_cb cb, void *cb_arg, int timeout_ms)
{
    return imap(p, fn, next, next_arg, chunk_size, max_in_flight, cb, cb_arg, timeout_ms, false);
}
