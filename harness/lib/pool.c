/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the process pool (Python's multiprocessing.Pool): forked workers, one task
 * queue and one result queue per worker on any backend, deaths seen through pidfds.
 * The contract and the delivery policy are documented in ipcmark.h.
 */
#include "ipcmark.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Wire format (same host, native byte order): a message is one or more frames; a frame
 * is a 32-byte header, then `count` items of an 8-byte item header and the bytes. Task
 * items carry {len, 0}; result items {status, len}. A task frame never crosses a chunk
 * boundary; a chunk too large for one message goes as several frames. The results of
 * one task frame come back in one or more result frames, the last flagged POOL_LAST.
 */
#define POOL_MAGIC 0x504f4f00u /* "POO" + kind */
#define POOL_TASK (POOL_MAGIC | 1u)
#define POOL_RESULT (POOL_MAGIC | 2u)
#define POOL_READY (POOL_MAGIC | 3u)
#define POOL_EXIT (POOL_MAGIC | 4u) /* close: finish what is queued, then exit */
#define POOL_LAST 1u /* the last result frame of a task frame */
#define POOL_HDR 32u
#define POOL_ITEM 8u
#define POOL_MIN_MSG 64u
#define POOL_DEFAULT_DEPTH 8u /* chunks in flight per worker */
#define POOL_DEFAULT_START_MS 10000
#define POOL_MAX_START_DEATHS 3 /* replacements in a row dying before ready: broken */
/* A worker holds back results at most this long to send them together. */
#define POOL_FLUSH_NS 50000u

struct pool_hdr {
    uint32_t type;
    uint32_t job;
    uint64_t start; /* index of the first item */
    uint32_t count; /* items in this message */
    uint32_t flags; /* POOL_LAST; for READY, the initializer's status */
    uint64_t fn;    /* task function (workers are forks: the address is valid there) */
};
_Static_assert(sizeof(struct pool_hdr) == POOL_HDR, "pool header is 32 bytes");

struct pool_item {
    int32_t status;
    uint32_t len;
};
_Static_assert(sizeof(struct pool_item) == POOL_ITEM, "pool item header is 8 bytes");

enum pool_state { POOL_STARTING, POOL_RUNNING, POOL_CLOSED, POOL_TERMINATED };
enum worker_state { W_EMPTY, W_STARTING, W_READY, W_DONE };
enum task_state { T_PENDING, T_DONE, T_LOST };

/* A task message in flight to one worker; results come back in this order. */
struct pool_flight {
    uint32_t job;
    uint32_t count;
    uint32_t delivered; /* results already received (a split result) */
    size_t start;
};

struct pool_worker {
    struct ipcm_process proc; /* pid 0 when the slot is empty */
    struct ipcm_chan *task;   /* our sending end of its task queue */
    struct ipcm_chan *result; /* our receiving end of its result queue */
    enum worker_state state;
    bool result_eof;
    int chan_err;  /* why we killed it, if we did (a broken channel) */
    unsigned start_deaths; /* replacements in a row that died before they were ready */
    unsigned sent; /* task messages sent (recycling) */
    unsigned head, nflight;
    struct pool_flight *flight; /* ring of depth entries */
};

struct pool_job {
    uint32_t id;
    ipcm_task_fn fn;
    const struct ipcm_pool_buf *in;
    size_t n, chunk, next, done;
    size_t prefix; /* results 0..prefix-1 are all in (job_prefix) */
    uint8_t *tstate;              /* enum task_state per input */
    struct ipcm_pool_result *out; /* ordered, or NULL */
    ipcm_pool_result_cb cb;
    void *cb_arg;
    bool stop;
    int err; /* what stopped it (death, timeout, callback), or 0 */
    size_t nfail;
    size_t fail_index;
    int fail_status;
};

struct ipcm_pool {
    const struct ipcm_backend *be;
    struct ipcm_pool_options opt;
    enum pool_state state;
    unsigned nworkers, depth, rr;
    size_t max_msg, max_task;
    int broken;    /* a replacement could not start: its error, else 0 */
    int start_err; /* the first failure while creating */
    bool in_callback;
    uint32_t next_job;
    struct pool_job *job;
    struct ipcm_pool_async *async; /* an asynchronous map still running, or NULL */
    struct pool_worker *w;
    unsigned char *sbuf, *rbuf;
    struct pollfd *pfd;
    unsigned *pfd_slot;
    struct ipcm_pool_error err;
    struct ipcm_pool_info info;
    char limit_source[96];
};

/* What a new worker is given (copied by fork). */
struct pool_spawn_arg {
    struct ipcm_pool *pool;
    unsigned slot;
    struct ipcm_link *task, *result;
};

size_t ipcm_pool_default_chunk(size_t n, unsigned workers)
{
    if (n == 0 || workers == 0)
        return 0;
    size_t div = (size_t)workers * 4;
    return n / div + (n % div != 0);
}

/* ------------------------------------------------------------- worker side */

/* Results being packed into one message: frames of {header, items}. */
struct worker_out {
    unsigned char *buf;
    size_t len;     /* bytes used */
    size_t hdr_pos; /* where the open frame's header goes */
    struct pool_hdr h;
    bool open;
};

static void out_close_frame(struct worker_out *o)
{
    if (o->open)
        memcpy(o->buf + o->hdr_pos, &o->h, POOL_HDR);
    o->open = false;
}

static int out_flush(struct ipcm_chan *c, struct worker_out *o)
{
    out_close_frame(o);
    if (o->len == 0)
        return 0;
    ssize_t r = ipcm_chan_send(c, o->buf, o->len, -1);
    o->len = 0;
    return r < 0 ? (int)r : 0;
}

/*
 * Run the tasks of one task frame and append their results to o, sending o when it is
 * full. A frame's results may span several messages; the last piece carries POOL_LAST.
 */
static int worker_frame(struct ipcm_pool *p, struct ipcm_chan *rc, const struct pool_hdr *h,
                        const unsigned char *in, size_t in_len, size_t *pos, struct worker_out *o,
                        unsigned char *scratch)
{
    ipcm_task_fn fn = (ipcm_task_fn)(uintptr_t)h->fn;
    uint64_t next = h->start;

    for (uint32_t i = 0; i <= h->count; i++) {
        size_t olen = 0;
        int st = 0;
        if (i < h->count) {
            struct pool_item it;
            if (*pos + POOL_ITEM > in_len)
                return -EPROTO;
            memcpy(&it, in + *pos, POOL_ITEM);
            if (it.len > in_len - *pos - POOL_ITEM)
                return -EPROTO;
            st = fn(in + *pos + POOL_ITEM, it.len, scratch, p->max_task, &olen);
            *pos += POOL_ITEM + it.len;
            if (st >= 0 && olen > p->max_task)
                st = -EMSGSIZE; /* the task claims more than the room it was given */
            if (st < 0)
                olen = 0;
        }
        size_t need = (o->open ? 0 : POOL_HDR) + (i < h->count ? POOL_ITEM + olen : 0);
        if (o->len + need > p->max_msg) {
            int r = out_flush(rc, o);
            if (r < 0)
                return r;
        }
        if (!o->open) {
            o->h = (struct pool_hdr){.type = POOL_RESULT, .job = h->job, .start = next};
            o->hdr_pos = o->len;
            o->len += POOL_HDR;
            o->open = true;
        }
        if (i == h->count)
            break;
        struct pool_item res = {.status = st, .len = (uint32_t)olen};
        memcpy(o->buf + o->len, &res, POOL_ITEM);
        memcpy(o->buf + o->len + POOL_ITEM, scratch, olen);
        o->len += POOL_ITEM + olen;
        o->h.count++;
        next++;
    }
    o->h.flags = POOL_LAST;
    out_close_frame(o);
    return 0;
}

static int pool_worker_main(const void *arg, size_t len)
{
    const struct pool_spawn_arg *a = arg;
    struct ipcm_pool *p = a->pool; /* this process's copy */
    struct ipcm_chan *tc = NULL, *rc = NULL;
    unsigned char *in = NULL, *out = NULL, *scratch = NULL;
    int code = 99;
    (void)len;

    /* Drop the parent's ends of the other workers' queues that fork gave us, so that
     * closing the pool reaches them as end-of-stream and our fds do not pin them. */
    for (unsigned i = 0; i < p->nworkers; i++) {
        if (i == a->slot)
            continue;
        ipcm_chan_close(p->w[i].task);
        ipcm_chan_close(p->w[i].result);
        if (p->w[i].proc.pidfd >= 0)
            close(p->w[i].proc.pidfd);
    }
    int r = ipcm_chan_open(a->task, IPCM_ROLE_RECV, &tc);
    if (r == 0)
        r = ipcm_chan_open(a->result, IPCM_ROLE_SEND, &rc);
    ipcm_link_destroy(a->task);
    ipcm_link_destroy(a->result);
    in = malloc(p->max_msg);
    out = malloc(p->max_msg);
    scratch = malloc(p->max_task);
    if (r < 0 || !in || !out || !scratch)
        goto done;

    int st = p->opt.initializer ? p->opt.initializer(a->slot, p->opt.initializer_arg) : 0;
    struct pool_hdr ready = {.type = POOL_READY, .flags = (uint32_t)(st < 0 ? st : 0)};
    memcpy(out, &ready, POOL_HDR);
    if (ipcm_chan_send(rc, out, POOL_HDR, -1) < 0 || st < 0) {
        code = 1;
        goto done;
    }
    struct worker_out o = {.buf = out};
    for (unsigned done = 0;;) {
        ssize_t n = ipcm_chan_recv(tc, in, p->max_msg, -1);
        if (n == -EPIPE) {
            code = 0; /* the pool closed our queue: a clean exit */
            break;
        }
        if (n < 0) {
            code = 2;
            break;
        }
        /* A message holds one or more task frames; their results travel together. */
        size_t pos = 0;
        uint64_t flushed_ns = ipcm_now_ns();
        r = 0;
        while (r == 0 && pos < (size_t)n) {
            struct pool_hdr h;
            if ((size_t)n - pos < POOL_HDR) {
                r = -EPROTO;
                break;
            }
            memcpy(&h, in + pos, POOL_HDR);
            pos += POOL_HDR;
            if (h.type == POOL_EXIT) {
                r = -ECANCELED; /* leaves the loop below as a clean exit */
                break;
            }
            if (h.type != POOL_TASK) {
                r = -EPROTO;
                break;
            }
            r = worker_frame(p, rc, &h, in, (size_t)n, &pos, &o, scratch);
            done++;
            /* Results of trivial tasks travel together; results of slow ones are sent
             * as each frame completes, so they are neither late nor lost with a crash. */
            uint64_t now = ipcm_now_ns();
            if (r == 0 && now - flushed_ns > POOL_FLUSH_NS) {
                r = out_flush(rc, &o);
                flushed_ns = now;
            }
        }
        if (r == 0)
            r = out_flush(rc, &o);
        if (r < 0) {
            code = r == -EPIPE || r == -ECANCELED ? 0 : 2;
            break;
        }
        if (p->opt.max_tasks_per_worker && done >= p->opt.max_tasks_per_worker) {
            code = 0; /* recycled: the parent starts a fresh worker */
            break;
        }
    }
done:
    ipcm_chan_close(tc);
    ipcm_chan_close(rc);
    free(in);
    free(out);
    free(scratch);
    return code;
}

/* ------------------------------------------------------------- parent side */

static void set_error(struct ipcm_pool *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(struct ipcm_pool *p, int err, const char *fmt, ...)
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

static void worker_close_chans(struct pool_worker *w)
{
    ipcm_chan_close(w->task);
    ipcm_chan_close(w->result);
    w->task = w->result = NULL;
}

static int pool_spawn(struct ipcm_pool *p, unsigned slot)
{
    struct pool_worker *w = &p->w[slot];
    /* Frames for one worker are packed into few messages, so two messages per queue
     * suffice; deeper queues would only spend per-user budgets (RLIMIT_MSGQUEUE). */
    struct ipcm_config cfg = {.max_msg = p->max_msg, .depth = p->depth < 2 ? p->depth : 2};
    struct ipcm_link *tl = NULL, *rl = NULL;
    char name[32];
    int r;

    if ((r = ipcm_link_create(p->be, IPCM_SHAPE_QUEUE, &cfg, &tl)) < 0)
        return r;
    if ((r = ipcm_link_create(p->be, IPCM_SHAPE_QUEUE, &cfg, &rl)) < 0) {
        ipcm_link_destroy(tl);
        return r;
    }
    struct pool_spawn_arg a = {.pool = p, .slot = slot, .task = tl, .result = rl};
    snprintf(name, sizeof(name), "pool worker %u", slot);
    r = ipcm_process_spawn(&w->proc, name, pool_worker_main, &a, sizeof(a));
    if (r == 0) {
        r = ipcm_chan_open(tl, IPCM_ROLE_SEND, &w->task);
        if (r == 0)
            r = ipcm_chan_open(rl, IPCM_ROLE_RECV, &w->result);
        if (r < 0) {
            ipcm_process_kill(&w->proc, SIGKILL);
            ipcm_process_stop(&w->proc, 0, NULL);
            worker_close_chans(w);
        }
    }
    ipcm_link_destroy(tl);
    ipcm_link_destroy(rl);
    if (r < 0)
        return r;
    w->state = W_STARTING;
    w->result_eof = false;
    w->chan_err = 0;
    w->sent = 0;
    w->head = w->nflight = 0;
    p->info.workers_started++;
    return 0;
}

static void job_deliver(struct pool_job *job, size_t idx, int status, const void *data, size_t len,
                        struct ipcm_pool *p)
{
    if (idx >= job->n || job->tstate[idx] != T_PENDING)
        return;
    job->tstate[idx] = T_DONE;
    job->done++;
    if (status < 0) {
        if (job->nfail++ == 0 || idx < job->fail_index) {
            job->fail_index = idx;
            job->fail_status = status;
        }
    }
    if (job->out) {
        struct ipcm_pool_result *o = &job->out[idx];
        o->status = status;
        o->len = len;
        if (len) {
            o->data = malloc(len);
            if (!o->data) {
                o->status = -ENOMEM;
                o->len = 0;
                if (!job->err)
                    job->err = -ENOMEM;
                job->stop = true;
                return;
            }
            memcpy(o->data, data, len);
        }
    } else if (job->cb && !job->stop) {
        p->in_callback = true;
        int r = job->cb(idx, status, data, len, job->cb_arg);
        p->in_callback = false;
        if (r < 0) {
            job->err = r;
            job->stop = true;
        }
    }
}

/* Handle one message from a worker. Returns 0 or -EPROTO (the worker is then killed). */
static int pool_handle(struct ipcm_pool *p, struct pool_worker *w, size_t len)
{
    struct pool_hdr h;
    if (len < POOL_HDR)
        return -EPROTO;
    memcpy(&h, p->rbuf, POOL_HDR);
    if (h.type == POOL_READY) {
        if (w->state != W_STARTING)
            return -EPROTO;
        int st = (int32_t)h.flags;
        if (st < 0) {
            if (p->state == POOL_STARTING && !p->start_err) {
                p->start_err = st;
                set_error(p, st, "initializer failed in worker %u (pid %ld): %s",
                          (unsigned)(w - p->w), (long)w->proc.pid, ipcm_strerror(st));
            } else if (p->state == POOL_RUNNING && !p->broken) {
                p->broken = st;
            }
            w->state = W_DONE;
            return 0;
        }
        bool quota = p->opt.max_tasks_per_worker && w->sent >= p->opt.max_tasks_per_worker;
        w->state = quota ? W_DONE : W_READY;
        w->start_deaths = 0;
        return 0;
    }
    /* One or more result frames, each for (part of) the oldest task frame in flight. */
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < POOL_HDR)
            return -EPROTO;
        memcpy(&h, p->rbuf + pos, POOL_HDR);
        pos += POOL_HDR;
        if (h.type != POOL_RESULT || w->nflight == 0)
            return -EPROTO;
        struct pool_flight *f = &w->flight[w->head];
        if (h.job != f->job || h.start != f->start + f->delivered ||
            h.count > f->count - f->delivered)
            return -EPROTO;
        struct pool_job *job = p->job && p->job->id == h.job ? p->job : NULL;
        for (uint32_t i = 0; i < h.count; i++) {
            struct pool_item it;
            if (pos + POOL_ITEM > len)
                return -EPROTO;
            memcpy(&it, p->rbuf + pos, POOL_ITEM);
            if (it.len > len - pos - POOL_ITEM)
                return -EPROTO;
            if (job && !job->stop)
                job_deliver(job, h.start + i, it.status, p->rbuf + pos + POOL_ITEM, it.len, p);
            pos += POOL_ITEM + it.len;
        }
        f->delivered += h.count;
        if (h.flags & POOL_LAST) {
            if (f->delivered != f->count)
                return -EPROTO;
            w->head = (w->head + 1) % p->depth;
            w->nflight--;
        }
    }
    return 0;
}

/* Read everything a worker has sent so far, without blocking. */
static void pool_drain_wait(struct ipcm_pool *p, struct pool_worker *w, int first_wait_ms)
{
    for (int wait = first_wait_ms; w->result && !w->result_eof; wait = 0) {
        ssize_t n = ipcm_chan_recv(w->result, p->rbuf, p->max_msg, wait);
        if (n == -EAGAIN || n == -ETIMEDOUT)
            return;
        if (n >= 0 && (n = pool_handle(p, w, (size_t)n)) == 0)
            continue;
        w->result_eof = true;
        if (n != -EPIPE) {
            /* A broken stream or garbage: this worker's results can no longer be
             * trusted. Kill it; its pidfd then reports it like any other death. */
            w->chan_err = (int)n;
            ipcm_process_kill(&w->proc, SIGKILL);
        }
    }
}

static void pool_drain(struct ipcm_pool *p, struct pool_worker *w)
{
    pool_drain_wait(p, w, 0);
}

/* The running job lost the tasks w held: fail it, naming the worker. */
static void job_lost(struct ipcm_pool *p, struct pool_job *job, struct pool_worker *w,
                     const struct ipcm_exit *ex)
{
    size_t first = SIZE_MAX, last = 0, lost = 0;
    for (unsigned k = 0; k < w->nflight; k++) {
        const struct pool_flight *f = &w->flight[(w->head + k) % p->depth];
        if (f->job != job->id)
            continue;
        for (size_t i = f->start + f->delivered; i < f->start + f->count; i++) {
            if (job->tstate[i] != T_PENDING)
                continue;
            job->tstate[i] = T_LOST;
            first = i < first ? i : first;
            last = i > last ? i : last;
            lost++;
        }
    }
    if (!lost || job->stop)
        return;
    char how[48], chan[64] = "";
    ipcm_exit_describe(ex, how, sizeof(how));
    if (w->chan_err)
        snprintf(chan, sizeof(chan), " after its result channel failed (%s)",
                 ipcm_err_name(w->chan_err));
    set_error(p, -EPIPE, "worker %u (pid %ld) %s%s with %zu task(s) in flight (indexes %zu..%zu)",
              (unsigned)(w - p->w), (long)w->proc.pid, how, chan, lost, first, last);
    p->err.index = first;
    p->err.failed = lost;
    p->err.worker = (int)(w - p->w);
    p->err.pid = w->proc.pid;
    p->err.exit = *ex;
    job->err = -EPIPE;
    job->stop = true;
}

/* A worker's process ended (its pidfd is readable, or ex already says how). */
static void pool_worker_ended(struct ipcm_pool *p, unsigned slot, const struct ipcm_exit *reaped)
{
    struct pool_worker *w = &p->w[slot];
    struct ipcm_exit ex = {0};
    pid_t pid = w->proc.pid;

    /* Read before reap: whatever it finished before dying still counts. */
    pool_drain(p, w);
    if (reaped) {
        ex = *reaped;
    } else if (ipcm_process_join(&w->proc, 1000, &ex) < 0) {
        ipcm_process_stop(&w->proc, 0, &ex);
    }
    w->proc.pid = pid; /* for the messages below; cleared at the end */
    bool clean = ipcm_exit_ok(&ex) && w->nflight == 0 && !w->chan_err;
    if (!clean && p->state != POOL_TERMINATED) {
        p->info.workers_died++;
        if (p->job)
            job_lost(p, p->job, w, &ex);
        if (p->state == POOL_STARTING && !p->start_err) {
            char how[48];
            p->start_err = -EPIPE;
            set_error(p, -EPIPE, "worker %u (pid %ld) %s while starting", slot, (long)pid,
                      ipcm_exit_describe(&ex, how, sizeof(how)));
            p->err.worker = (int)slot;
            p->err.pid = pid;
            p->err.exit = ex;
        }
        /* Replacements that keep dying before they are ready (a crashing initializer)
         * would respawn forever: give up after a few in a row. One killed from outside
         * while starting is just another death. */
        if (w->state == W_STARTING && p->state == POOL_RUNNING && !p->broken &&
            ++w->start_deaths >= POOL_MAX_START_DEATHS)
            p->broken = -EPIPE;
    }
    worker_close_chans(w);
    w->proc.pid = 0;
    w->proc.pidfd = -1;
    w->state = W_EMPTY;
    w->nflight = 0;
    if (p->state == POOL_RUNNING && !p->broken) {
        int r = pool_spawn(p, slot);
        if (r < 0)
            p->broken = r;
    }
}

/*
 * Wait at most timeout_ms for results or deaths and handle what arrived. Backends
 * without a pollable fd, and hosts without pidfds, are swept every millisecond.
 */
static int pool_poll(struct ipcm_pool *p, int timeout_ms)
{
    unsigned nf = 0;
    bool blind = false;

    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (w->proc.pid <= 0)
            continue;
        if (w->result && !w->result_eof) {
            int fd = ipcm_chan_pollfd(w->result);
            if (fd >= 0) {
                p->pfd[nf] = (struct pollfd){.fd = fd, .events = POLLIN};
                p->pfd_slot[nf++] = s;
            } else {
                blind = true;
            }
        }
        if (w->proc.pidfd >= 0) {
            p->pfd[nf] = (struct pollfd){.fd = w->proc.pidfd, .events = POLLIN};
            p->pfd_slot[nf++] = s | 0x80000000u;
        } else {
            blind = true;
        }
    }
    if (blind && timeout_ms != 0) {
        /* No fd to poll: sleep in the receive of a busy worker without one (a few ms at
         * most, so deaths and the other workers are still looked at), then sweep. */
        for (unsigned k = 0; k < p->nworkers; k++) {
            struct pool_worker *w = &p->w[(p->rr + k) % p->nworkers];
            if (w->proc.pid > 0 && w->result && !w->result_eof && w->nflight &&
                ipcm_chan_pollfd(w->result) < 0) {
                pool_drain_wait(p, w, timeout_ms < 0 || timeout_ms > 5 ? 5 : timeout_ms);
                timeout_ms = 0;
                break;
            }
        }
        if (timeout_ms < 0 || timeout_ms > 1)
            timeout_ms = 1;
    }
    int r = poll(p->pfd, nf, timeout_ms);
    if (r < 0 && errno != EINTR)
        return -errno;
    if (r < 0)
        return 0;
    for (unsigned i = 0; i < nf; i++)
        if (p->pfd[i].revents && !(p->pfd_slot[i] & 0x80000000u))
            pool_drain(p, &p->w[p->pfd_slot[i]]);
    for (unsigned i = 0; i < nf; i++) {
        unsigned s = p->pfd_slot[i] & ~0x80000000u;
        if (p->pfd[i].revents && (p->pfd_slot[i] & 0x80000000u) && p->w[s].proc.pid > 0)
            pool_worker_ended(p, s, NULL);
    }
    if (blind) {
        for (unsigned s = 0; s < p->nworkers; s++) {
            struct pool_worker *w = &p->w[s];
            if (w->proc.pid <= 0)
                continue;
            if (w->result && ipcm_chan_pollfd(w->result) < 0)
                pool_drain(p, w);
            struct ipcm_exit ex;
            if (w->proc.pidfd < 0 && ipcm_process_join(&w->proc, 0, &ex) == 0)
                pool_worker_ended(p, s, &ex);
        }
    }
    return 0;
}

/*
 * Send one message to w holding as many task frames as it has room for (depth) and
 * that fit: the next tasks of the job, a frame never crossing a chunk's end. Packing
 * frames that go to one worker anyway changes no scheduling, only the number of
 * wake-ups. Returns 1 sent, 0 the queue is full (nothing taken), or -errno.
 */
static int pool_send_one(struct ipcm_pool *p, struct pool_job *job, struct pool_worker *w)
{
    unsigned max_frames = p->depth - w->nflight, nframes = 0;
    unsigned quota = p->opt.max_tasks_per_worker;
    size_t pos = 0, next = job->next;
    struct pool_flight fr[64];

    if (quota && quota - w->sent < max_frames)
        max_frames = quota - w->sent;
    if (max_frames > sizeof(fr) / sizeof(fr[0]))
        max_frames = sizeof(fr) / sizeof(fr[0]);
    while (nframes < max_frames && next < job->n && pos + POOL_HDR < p->max_msg) {
        size_t chunk_end = (next / job->chunk + 1) * job->chunk;
        size_t hpos = pos;
        uint32_t count = 0;
        if (chunk_end > job->n)
            chunk_end = job->n;
        pos += POOL_HDR;
        for (size_t i = next; i < chunk_end; i++) {
            size_t need = POOL_ITEM + job->in[i].len;
            if (pos + need > p->max_msg)
                break;
            struct pool_item it = {.len = (uint32_t)job->in[i].len};
            memcpy(p->sbuf + pos, &it, POOL_ITEM);
            if (it.len)
                memcpy(p->sbuf + pos + POOL_ITEM, job->in[i].data, it.len);
            pos += need;
            count++;
        }
        if (count == 0 || (count < chunk_end - next && nframes > 0)) {
            /* Split a chunk only when it does not fit an empty message: else it goes
             * whole in the next one. */
            pos = hpos;
            break;
        }
        struct pool_hdr h = {.type = POOL_TASK,
                             .job = job->id,
                             .start = next,
                             .count = count,
                             .fn = (uint64_t)(uintptr_t)job->fn};
        memcpy(p->sbuf + hpos, &h, POOL_HDR);
        fr[nframes++] = (struct pool_flight){.job = job->id, .start = next, .count = count};
        next += count;
    }
    if (nframes == 0)
        return 0;
    /* Never block on a send: a worker may be blocked sending us results. */
    ssize_t r = ipcm_chan_send(w->task, p->sbuf, pos, 0);
    if (r == -EAGAIN || r == -ETIMEDOUT)
        return 0;
    if (r < 0)
        return (int)r;
    for (unsigned k = 0; k < nframes; k++)
        w->flight[(w->head + w->nflight++) % p->depth] = fr[k];
    job->next = next;
    w->sent += nframes;
    p->info.task_messages += nframes;
    if (quota && w->sent >= quota)
        w->state = W_DONE; /* it exits after these; never send it more */
    return 1;
}

/* Hand out task messages round-robin. *full: some worker's queue was full. */
static void pool_dispatch(struct ipcm_pool *p, struct pool_job *job, bool *full)
{
    bool progress = true;
    while (progress && job->next < job->n && !job->stop) {
        progress = false;
        for (unsigned k = 0; k < p->nworkers && job->next < job->n; k++) {
            unsigned s = (p->rr + k) % p->nworkers;
            struct pool_worker *w = &p->w[s];
            if (w->state != W_READY || w->nflight >= p->depth || !w->task)
                continue;
            int r = pool_send_one(p, job, w);
            if (r > 0) {
                progress = true;
            } else if (r == 0) {
                *full = true;
            } else {
                /* Its reader is gone: it is dying, and its pidfd will say how. */
                w->state = W_DONE;
            }
        }
        p->rr = (p->rr + 1) % p->nworkers;
    }
}

static int ms_left(uint64_t deadline_ns, int timeout_ms)
{
    if (timeout_ms < 0)
        return -1;
    uint64_t now = ipcm_now_ns();
    if (now >= deadline_ns)
        return 0;
    uint64_t left = (deadline_ns - now + 999999u) / 1000000u;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

static int pool_usable(struct ipcm_pool *p)
{
    if (p->in_callback)
        return -EDEADLK;
    if (p->state != POOL_RUNNING) {
        set_error(p, -ESHUTDOWN, "pool not running: it was %s",
                  p->state == POOL_CLOSED ? "closed" : "terminated");
        return -ESHUTDOWN;
    }
    if (p->broken) {
        set_error(p, -ENOTRECOVERABLE,
                  "pool broken: a replacement worker could not start (%s); terminate it",
                  ipcm_strerror(p->broken));
        return -ENOTRECOVERABLE;
    }
    return 0;
}

/* Check the inputs, reap what died while idle and make job the pool's current one. */
static int pool_job_start(struct ipcm_pool *p, struct pool_job *job)
{
    int r;
    set_error(p, 0, "ok");
    for (size_t i = 0; i < job->n; i++) {
        if (job->in[i].len > p->max_task) {
            set_error(p, -EMSGSIZE,
                      "input %zu is %zu B; one task message carries at most %zu B "
                      "(max_msg %zu B on %s: %s)",
                      i, job->in[i].len, p->max_task, p->max_msg, ipcm_backend_name(p->be),
                      p->limit_source);
            p->err.index = i;
            return -EMSGSIZE;
        }
    }
    /* Housekeeping first: a worker that died while idle is replaced before any task
     * is handed to it. */
    if ((r = pool_poll(p, 0)) < 0)
        return r;
    job->id = ++p->next_job;
    job->fail_index = SIZE_MAX;
    p->info.last_chunk_size = job->chunk;
    p->job = job;
    return 0;
}

/* How many results, from index 0 on, are in (Python's imap yields them in this order). */
static size_t job_prefix(struct pool_job *job)
{
    while (job->prefix < job->n && job->tstate[job->prefix] == T_DONE)
        job->prefix++;
    return job->prefix;
}

/*
 * Hand out chunks and collect results until the job is done or stopped (0), its first
 * `until` results are in (0), the pool breaks (its error), or timeout_ms passes
 * (-ETIMEDOUT: the job is still the pool's and a later step carries on; results that
 * arrive meanwhile wait in the channels).
 */
static int pool_job_step(struct ipcm_pool *p, struct pool_job *job, size_t until, int timeout_ms)
{
    uint64_t deadline = timeout_ms > 0 ? ipcm_now_ns() + (uint64_t)timeout_ms * 1000000u : 0;
    int r = 0;
    while (job->done < job->n && !job->stop && job_prefix(job) < until) {
        if (p->broken)
            return pool_usable(p);
        bool full = false;
        pool_dispatch(p, job, &full);
        int wait = ms_left(deadline, timeout_ms);
        if (wait == 0)
            return -ETIMEDOUT;
        if (full && (wait < 0 || wait > 1))
            wait = 1;
        if ((r = pool_poll(p, wait)) < 0)
            return r;
    }
    return 0;
}

/* The job is over (r: how the last step ended): settle every status and the error. */
static int pool_job_finish(struct ipcm_pool *p, struct pool_job *job, int r)
{
    p->job = NULL;
    if (!r && job->err)
        r = job->err;
    if (job->out) {
        for (size_t i = 0; i < job->n; i++) {
            if (job->tstate[i] == T_LOST)
                job->out[i].status = -EPIPE;
            else if (job->tstate[i] == T_PENDING)
                job->out[i].status = -ECANCELED;
        }
    }
    if (r == 0 && job->nfail) {
        r = -EREMOTEIO;
        set_error(p, r, "%zu task(s) failed; the first is index %zu: %s (%s)", job->nfail,
                  job->fail_index, ipcm_strerror(job->fail_status),
                  ipcm_err_name(job->fail_status));
        p->err.index = job->fail_index;
        p->err.task_status = job->fail_status;
        p->err.failed = job->nfail;
    } else if (r < 0 && r != p->err.err) {
        set_error(p, r, "map failed: %s", ipcm_strerror(r));
    }
    return r;
}

static int pool_run(struct ipcm_pool *p, struct pool_job *job, int timeout_ms)
{
    int r = pool_job_start(p, job);
    if (r < 0)
        return r;
    r = pool_job_step(p, job, SIZE_MAX, timeout_ms);
    if (r == -ETIMEDOUT)
        set_error(p, -ETIMEDOUT, "map timed out after %d ms with %zu of %zu results",
                  timeout_ms, job->done, job->n);
    return pool_job_finish(p, job, r);
}

/* Validate a map's arguments; 1 when there is nothing to do. Ordered results start
 * out -ECANCELED, whatever happens next. */
static int pool_job_prepare(struct ipcm_pool *p, struct pool_job *job, size_t chunk_size)
{
    for (size_t i = 0; job->out && i < job->n; i++)
        job->out[i] = (struct ipcm_pool_result){.status = -ECANCELED};
    int r = pool_usable(p);
    if (r < 0)
        return r;
    if (p->async) {
        set_error(p, -EBUSY, "an asynchronous map is still running: wait for it or free it");
        return -EBUSY;
    }
    if (!job->fn || (job->n && !job->in)) {
        set_error(p, -EINVAL, "map: fn and inputs are required");
        return -EINVAL;
    }
    if (job->n == 0) {
        set_error(p, 0, "ok");
        p->info.last_chunk_size = 0;
        return 1;
    }
    job->chunk = chunk_size ? chunk_size : ipcm_pool_default_chunk(job->n, p->nworkers);
    job->tstate = calloc(job->n, 1);
    return job->tstate ? 0 : -ENOMEM;
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

/* An asynchronous map: the job lives here until the caller frees it. */
struct ipcm_pool_async {
    struct ipcm_pool *p; /* never touched once finished (the pool may be gone) */
    struct pool_job job;
    bool finished;
    int result;
    struct ipcm_pool_buf one; /* apply_async's input descriptor, which job.in points at */
};

static void async_settle(struct ipcm_pool_async *a, int r)
{
    a->result = pool_job_finish(a->p, &a->job, r);
    a->finished = true;
    a->p->async = NULL;
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
    if (job_prefix(&a->job) >= count)
        return 0;
    if (a->p->in_callback)
        return -EDEADLK;
    int r = a->job.stop ? 0 : pool_job_step(a->p, &a->job, count, timeout_ms);
    if (r == -ETIMEDOUT || (r == 0 && !a->job.stop && job_prefix(&a->job) >= count &&
                            a->job.done < a->job.n))
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
    return job_prefix(&a->job);
}

bool ipcm_pool_async_ready(const struct ipcm_pool_async *a)
{
    return a && (a->finished || a->job.done == a->job.n || a->job.stop);
}

void ipcm_pool_async_free(struct ipcm_pool_async *a)
{
    if (!a)
        return;
    if (!a->finished && a->p) {
        /* Cancelled: pending tasks end -ECANCELED; results still on their way are
         * recognised by their job id and dropped. */
        a->job.stop = true;
        a->job.err = -ECANCELED;
        async_settle(a, -ECANCELED);
    }
    free(a->job.tstate);
    free(a);
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
    if (p->async) {
        /* An asynchronous map ends here: its pending tasks are cancelled. */
        p->async->job.stop = true;
        p->async->job.err = -ECANCELED;
        async_settle(p->async, -ECANCELED);
    }
    p->state = POOL_TERMINATED;
    for (unsigned s = 0; s < p->nworkers; s++)
        if (p->w[s].proc.pid > 0)
            ipcm_process_kill(&p->w[s].proc, SIGKILL);
    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (w->proc.pid > 0)
            ipcm_process_stop(&w->proc, 0, NULL); /* SIGKILLed: the wait is short */
        worker_close_chans(w);
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
    struct pool_hdr h = {.type = POOL_EXIT};
    memcpy(p->sbuf, &h, POOL_HDR);
    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (!w->task)
            continue;
        if (w->proc.pid > 0 && ipcm_chan_send(w->task, p->sbuf, POOL_HDR, 0) == -EAGAIN)
            continue;
        ipcm_chan_close(w->task);
        w->task = NULL;
    }
}

int ipcm_pool_close(struct ipcm_pool *p)
{
    if (!p)
        return -EINVAL;
    if (p->in_callback)
        return -EDEADLK;
    if (p->async)
        return -EBUSY;
    if (p->state == POOL_RUNNING)
        p->state = POOL_CLOSED;
    pool_send_exits(p);
    return 0;
}

int ipcm_pool_join(struct ipcm_pool *p, int timeout_ms)
{
    if (!p)
        return -EINVAL;
    if (p->in_callback)
        return -EDEADLK;
    if (p->async)
        return -EBUSY;
    if (p->state == POOL_RUNNING || p->state == POOL_STARTING)
        return -EINVAL;
    uint64_t deadline = timeout_ms > 0 ? ipcm_now_ns() + (uint64_t)timeout_ms * 1000000u : 0;
    for (;;) {
        bool alive = false;
        for (unsigned s = 0; s < p->nworkers; s++)
            alive |= p->w[s].proc.pid > 0;
        if (!alive)
            break;
        int wait = ms_left(deadline, timeout_ms);
        if (wait == 0)
            return -ETIMEDOUT;
        pool_send_exits(p);
        bool pending = false;
        for (unsigned s = 0; s < p->nworkers; s++)
            pending |= p->w[s].task != NULL;
        if (pending && (wait < 0 || wait > 1))
            wait = 1;
        /* Keep draining results so no worker stays blocked on a full result queue. */
        int r = pool_poll(p, wait);
        if (r < 0)
            return r;
    }
    for (unsigned s = 0; s < p->nworkers; s++)
        worker_close_chans(&p->w[s]);
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

int ipcm_pool_create(struct ipcm_pool **out, unsigned workers, const struct ipcm_backend *be,
                     const struct ipcm_pool_options *opt)
{
    struct ipcm_limits lim;
    struct ipcm_pool *p;
    int r;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (workers == 0 || !be)
        return -EINVAL;
    if ((r = ipcm_backend_limits(be, &lim)) < 0)
        return r;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->be = be;
    if (opt)
        p->opt = *opt;
    p->state = POOL_STARTING;
    p->nworkers = workers;
    p->max_msg = p->opt.max_msg ? p->opt.max_msg : lim.default_msg;
    p->depth = p->opt.depth ? p->opt.depth : POOL_DEFAULT_DEPTH;
    snprintf(p->limit_source, sizeof(p->limit_source), "%s", lim.max_msg_source);
    if (p->max_msg > lim.max_msg || p->max_msg < POOL_MIN_MSG || p->max_msg > UINT32_MAX) {
        free(p);
        return -EMSGSIZE;
    }
    if (lim.max_depth && p->depth > lim.max_depth) {
        free(p);
        return -EINVAL;
    }
    p->max_task = p->max_msg - POOL_HDR - POOL_ITEM;
    p->w = calloc(workers, sizeof(*p->w));
    p->sbuf = malloc(p->max_msg);
    p->rbuf = malloc(p->max_msg);
    p->pfd = calloc(2 * (size_t)workers, sizeof(*p->pfd));
    p->pfd_slot = calloc(2 * (size_t)workers, sizeof(*p->pfd_slot));
    r = (p->w && p->sbuf && p->rbuf && p->pfd && p->pfd_slot) ? 0 : -ENOMEM;
    for (unsigned s = 0; p->w && s < workers; s++) {
        p->w[s].proc.pidfd = -1;
        p->w[s].flight = calloc(p->depth, sizeof(*p->w[s].flight));
        if (!p->w[s].flight)
            r = -ENOMEM;
    }
    for (unsigned s = 0; r == 0 && s < workers; s++)
        r = pool_spawn(p, s);

    int start_ms = p->opt.start_timeout_ms > 0 ? p->opt.start_timeout_ms : POOL_DEFAULT_START_MS;
    uint64_t deadline = ipcm_now_ns() + (uint64_t)start_ms * 1000000u;
    while (r == 0) {
        bool starting = false;
        for (unsigned s = 0; s < workers; s++)
            starting |= p->w[s].state == W_STARTING;
        if (p->start_err) {
            r = p->start_err;
            break;
        }
        if (!starting)
            break;
        int wait = ms_left(deadline, start_ms);
        if (wait == 0) {
            r = -ETIMEDOUT;
            break;
        }
        r = pool_poll(p, wait);
    }
    if (r < 0) {
        ipcm_pool_destroy(p);
        return r;
    }
    p->state = POOL_RUNNING;
    set_error(p, 0, "ok");
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
