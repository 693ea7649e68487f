/* SPDX-License-Identifier: MIT */
/*
 * pool_sched.c - the pool's parent side: starting workers, dispatching task messages,
 * collecting results, noticing deaths and replacing the dead, and a map's states
 * (prepare, start, step, finish).
 */
#include "pool_internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX_START_DEATHS 3 /* replacements in a row dying before ready: broken */
/* pfd_slot marks a worker's pidfd (else its result queue's fd) with this bit. */
#define POOL_PIDFD_BIT 0x80000000u
/* How long the collector looks for results without a system call before it sleeps in
 * poll(2): at most about one futex or eventfd wake-up across CPUs on this kind of VM.
 * Adaptive: doubled when a spin found results, halved when it ended in a sleep anyway
 * (the workers were asleep themselves, or had no CPU), down to POOL_SPIN_MIN_NS. */
#define POOL_SPIN_NS 20000u
#define POOL_SPIN_MIN_NS 1000u
#define POOL_PAUSE_NS 2000u /* of which pausing on the CPU, before yielding it */
/* With a CPU for every worker, the collector yields only in case a worker shares its
 * CPU anyway; a yield that then kept it off the CPU this long handed the CPU to other
 * work (the scheduler queues a yielder behind every runnable task, for up to a whole
 * slice: 47 ms seen here at 1 worker beside one busy process), not to a worker that
 * answers in microseconds. The collector then stops yielding: it sleeps in poll(2),
 * where a worker's signal wakes it at once, for POOL_NO_YIELD_MIN_NS, doubled (up to
 * POOL_NO_YIELD_MAX_NS) each time the first yield after such a pause is slow again, so
 * a busy host costs about one slow yield a second. */
#define POOL_YIELD_SLOW_NS 200000u
#define POOL_NO_YIELD_MIN_NS 50000000u
#define POOL_NO_YIELD_MAX_NS 1000000000u
/* While results flow without a system call, the pidfds are still polled this often, so
 * a death is seen even when the other workers never let the collector sleep. */
#define POOL_REAP_NS 1000000u

size_t ipcm_pool_default_chunk(size_t n, unsigned workers)
{
    if (n == 0 || workers == 0)
        return 0;
    size_t div = (size_t)workers * 4;
    return n / div + (n % div != 0);
}

void pool_worker_close_chans(struct pool_worker *w)
{
    ipcm_chan_close(w->task);
    ipcm_chan_close(w->result);
    w->task = w->result = NULL;
}

int pool_spawn(struct ipcm_pool *p, unsigned slot)
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
    if (p->start.method == IPCM_START_EXEC)
        r = pool_spawn_exec(p, slot, tl, rl);
    else
        r = ipcm_process_spawn(&w->proc, name, pool_worker_main, &a, sizeof(a));
    if (r == 0) {
        r = ipcm_chan_open(tl, IPCM_ROLE_SEND, &w->task);
        if (r == 0)
            r = ipcm_chan_open(rl, IPCM_ROLE_RECV, &w->result);
        if (r < 0) {
            ipcm_process_kill(&w->proc, SIGKILL);
            ipcm_process_stop(&w->proc, 0, NULL);
            pool_worker_close_chans(w);
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

/* Keep one result: in out[] (a copy), or through the callback. */
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

/* A worker's READY: its initializer's status. Returns 0 or -EPROTO. */
static int pool_handle_ready(struct ipcm_pool *p, struct pool_worker *w, const struct pool_hdr *h)
{
    if (w->state != W_STARTING)
        return -EPROTO;
    int st = (int32_t)h->flags;
    if (st < 0) {
        if (p->state == POOL_STARTING && !p->start_err) {
            p->start_err = st;
            pool_set_error(p, st, "initializer failed in worker %u (pid %ld): %s",
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

/* Handle one message from a worker. Returns 0 or -EPROTO (the worker is then killed). */
static int pool_handle(struct ipcm_pool *p, struct pool_worker *w, size_t len)
{
    struct pool_hdr h;
    size_t pos = 0;
    if (pool_wire_hdr(p->rbuf, len, &pos, &h) < 0)
        return -EPROTO;
    if (h.type == POOL_READY)
        return pool_handle_ready(p, w, &h);
    /* One or more result frames, each for (part of) the oldest task frame in flight. */
    pos = 0;
    while (pos < len) {
        if (pool_wire_hdr(p->rbuf, len, &pos, &h) < 0)
            return -EPROTO;
        if (h.type != POOL_RESULT || w->nflight == 0)
            return -EPROTO;
        struct pool_flight *f = &w->flight[w->head];
        if (h.job != f->job || h.start != f->start + f->delivered ||
            h.count > f->count - f->delivered)
            return -EPROTO;
        struct pool_job *job = p->job && p->job->id == h.job ? p->job : NULL;
        for (uint32_t i = 0; i < h.count; i++) {
            struct pool_item it;
            const unsigned char *data;
            if (pool_wire_item(p->rbuf, len, &pos, &it, &data) < 0)
                return -EPROTO;
            if (job && !job->stop)
                job_deliver(job, h.start + i, it.status, data, it.len, p);
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

/* Read everything a worker has sent so far, waiting at most first_wait_ms for the first. */
static void pool_drain_wait(struct ipcm_pool *p, struct pool_worker *w, int first_wait_ms)
{
    for (int wait = first_wait_ms; w->result && !w->result_eof; wait = 0) {
        /* Where the queue can say it is empty without a system call, ask it rather
         * than make a receive fail (IPCM_CAP_READY). */
        if (wait == 0 && ipcm_chan_ready(w->result, IPCM_READY_PEEK) == 0)
            return;
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

/* Read everything a worker has sent so far, without blocking. */
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
    pool_set_error(p, -EPIPE,
                   "worker %u (pid %ld) %s%s with %zu task(s) in flight (indexes %zu..%zu)",
                   (unsigned)(w - p->w), (long)w->proc.pid, how, chan, lost, first, last);
    p->err.index = first;
    p->err.failed = lost;
    p->err.worker = (int)(w - p->w);
    p->err.pid = w->proc.pid;
    p->err.exit = *ex;
    job->err = -EPIPE;
    job->stop = true;
}

/* An unexpected death: fail the job's tasks it held, and count it while starting. */
static void pool_worker_died(struct ipcm_pool *p, unsigned slot, pid_t pid,
                             const struct ipcm_exit *ex)
{
    struct pool_worker *w = &p->w[slot];

    p->info.workers_died++;
    if (p->job)
        job_lost(p, p->job, w, ex);
    if (p->state == POOL_STARTING && !p->start_err) {
        char how[48];
        p->start_err = -EPIPE;
        pool_set_error(p, -EPIPE, "worker %u (pid %ld) %s while starting", slot, (long)pid,
                       ipcm_exit_describe(ex, how, sizeof(how)));
        p->err.worker = (int)slot;
        p->err.pid = pid;
        p->err.exit = *ex;
    }
    /* Replacements that keep dying before they are ready (a crashing initializer) would
     * respawn forever: give up after a few in a row. One killed from outside while
     * starting is just another death. */
    if (w->state == W_STARTING && p->state == POOL_RUNNING && !p->broken &&
        ++w->start_deaths >= POOL_MAX_START_DEATHS)
        p->broken = -EPIPE;
}

/* A worker's process ended (its pidfd is readable, or reaped already says how). */
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
    if (!clean && p->state != POOL_TERMINATED)
        pool_worker_died(p, slot, pid, &ex);
    pool_worker_close_chans(w);
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

/* Fill p->pfd with the result queues' fds and the pidfds of live workers. Returns how
 * many; *blind: some worker has a queue or an exit that poll(2) cannot watch. */
static unsigned pool_poll_fds(struct ipcm_pool *p, bool *blind)
{
    unsigned nf = 0;

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
                *blind = true;
            }
        }
        if (w->proc.pidfd >= 0) {
            p->pfd[nf] = (struct pollfd){.fd = w->proc.pidfd, .events = POLLIN};
            p->pfd_slot[nf++] = s | POOL_PIDFD_BIT;
        } else {
            *blind = true;
        }
    }
    return nf;
}

/*
 * No fd to poll: sleep in the receive of a busy worker without one (a few ms at most, so
 * deaths and the other workers are still looked at). Returns what is left of the wait
 * for poll(2): at most 1 ms, as the sweep after it is all that sees the rest.
 */
static int pool_blind_wait(struct ipcm_pool *p, int timeout_ms)
{
    for (unsigned k = 0; k < p->nworkers; k++) {
        struct pool_worker *w = &p->w[(p->rr + k) % p->nworkers];
        if (w->proc.pid > 0 && w->result && !w->result_eof && w->nflight &&
            ipcm_chan_pollfd(w->result) < 0) {
            pool_drain_wait(p, w, timeout_ms < 0 || timeout_ms > 5 ? 5 : timeout_ms);
            timeout_ms = 0;
            break;
        }
    }
    return timeout_ms < 0 || timeout_ms > 1 ? 1 : timeout_ms;
}

/* Look at every worker that poll(2) cannot watch: drain it, reap it if it ended. */
static void pool_blind_sweep(struct ipcm_pool *p)
{
    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (w->proc.pid <= 0)
            continue;
        if (w->result && ipcm_chan_pollfd(w->result) < 0)
            pool_drain(p, w);
        struct ipcm_exit ex;
        pid_t pid = w->proc.pid;
        if (w->proc.pidfd < 0 && ipcm_process_join(&w->proc, 0, &ex) == 0) {
            /* The reap cleared the pid; the death's report must still name it. */
            w->proc.pid = pid;
            pool_worker_ended(p, s, &ex);
        }
    }
}

/*
 * Drain every worker whose result queue says, without a system call, that something
 * waits (IPCM_CAP_READY). Returns how many had something; *mute: some live worker's
 * queue cannot say (the collector then needs poll(2) for it).
 */
static unsigned pool_sweep(struct ipcm_pool *p, bool *mute)
{
    unsigned got = 0;
    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (w->proc.pid <= 0 || !w->result || w->result_eof)
            continue;
        int r = ipcm_chan_ready(w->result, IPCM_READY_PEEK);
        if (r < 0) {
            *mute = true;
        } else if (r > 0) {
            pool_drain(p, w);
            got++;
        }
    }
    return got;
}

/*
 * Give the CPU up to whichever worker shares it, unless yielding is paused. Returns
 * false while it is (the caller sleeps in poll(2) instead). A slow yield starts or
 * lengthens a pause (POOL_YIELD_SLOW_NS); fast yields well after the last pause ended
 * start the next pause from its shortest again.
 */
static bool pool_yield(struct ipcm_pool *p)
{
    uint64_t y0 = ipcm_now_ns();
    if (y0 < p->no_yield_until)
        return false;
    sched_yield();
    uint64_t y1 = ipcm_now_ns();
    if (y1 - y0 >= POOL_YIELD_SLOW_NS) {
        p->no_yield_ns = !p->no_yield_ns                          ? POOL_NO_YIELD_MIN_NS
                         : p->no_yield_ns < POOL_NO_YIELD_MAX_NS / 2 ? p->no_yield_ns * 2
                                                                     : POOL_NO_YIELD_MAX_NS;
        p->no_yield_until = y1 + p->no_yield_ns;
    } else if (p->no_yield_ns && y1 >= p->no_yield_until + POOL_NO_YIELD_MIN_NS) {
        p->no_yield_ns = 0;
    }
    return true;
}

/*
 * Nothing is ready: look again without a system call for up to POOL_SPIN_NS (and at
 * most timeout_ms), since a worker that is running answers sooner than a wake-up could
 * reach us. With more processes than CPUs the workers need this CPU: give it up
 * (sched_yield) between looks instead of pausing on it. With enough CPUs, pause a
 * little, then yield (pool_yield), or sleep once yields went to other work. Returns how
 * many had something.
 */
static unsigned pool_spin(struct ipcm_pool *p, int timeout_ms)
{
    if (!p->ncpus)
        p->ncpus = (unsigned)ipcm_cpus_online();
    if (!p->spin_ns)
        p->spin_ns = POOL_SPIN_NS;
    bool crowded = p->nworkers + 1 > p->ncpus;
    uint64_t t0 = ipcm_now_ns();
    uint64_t most = p->spin_ns;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms * IPCM_NS_PER_MS < most)
        most = (uint64_t)timeout_ms * IPCM_NS_PER_MS;
    for (unsigned i = 1;; i++) {
        /* A worker may share our CPU even when there are enough (other work, or the
         * scheduler's choice): after a short pause-spin, give the CPU up. */
        if (crowded) {
            sched_yield();
        } else if (ipcm_ns_since(t0) >= POOL_PAUSE_NS) {
            if (!pool_yield(p))
                return 0;
        } else {
            for (unsigned k = 0; k < 32; k++)
                ipcm_cpu_relax();
        }
        bool mute = false;
        unsigned got = pool_sweep(p, &mute);
        if (got && p->spin_ns < POOL_SPIN_NS)
            p->spin_ns *= 2;
        if (got || mute)
            return got;
        if (ipcm_ns_since(t0) >= most) {
            if (p->spin_ns > POOL_SPIN_MIN_NS)
                p->spin_ns /= 2;
            return 0;
        }
    }
}

/* Arm (how IPCM_READY_ARM) or disarm every result queue that can be armed. Returns
 * true if one was ready while arming: the collector must not sleep. */
static bool pool_arm(struct ipcm_pool *p, enum ipcm_ready_how how)
{
    bool ready = false;
    for (unsigned s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (w->proc.pid > 0 && w->result && !w->result_eof &&
            ipcm_chan_ready(w->result, how) > 0)
            ready = true;
    }
    return ready;
}

/*
 * Results first, without a system call where every queue can be looked at so
 * (pool_sweep, pool_spin): while work flows the collector then never enters the kernel,
 * except to look at the pidfds every POOL_REAP_NS. Only when nothing came does it arm
 * the queues and sleep in poll(2) on their fds and the pidfds. Backends without a
 * pollable fd, and hosts without pidfds, are swept every millisecond. Results are read
 * before deaths are handled, so that a worker's last results count.
 */
int pool_poll(struct ipcm_pool *p, int timeout_ms)
{
    bool mute = false, blind = false;
    unsigned got = pool_sweep(p, &mute);

    if (!mute && !got && timeout_ms != 0)
        got = pool_spin(p, timeout_ms);
    /* Results came: poll(2) only to look at the pidfds, once in POOL_REAP_NS. A caller
     * that asked not to wait at all (housekeeping: pool_job_start) always looks. */
    uint64_t now = ipcm_now_ns();
    if (!mute && got) {
        if (timeout_ms != 0 && now - p->reap_ns < POOL_REAP_NS)
            return 0;
        timeout_ms = 0;
    }
    p->reap_ns = now;
    unsigned nf = pool_poll_fds(p, &blind);

    if (blind && timeout_ms != 0)
        timeout_ms = pool_blind_wait(p, timeout_ms);
    bool armed = !mute && timeout_ms != 0;
    if (armed && pool_arm(p, IPCM_READY_ARM))
        timeout_ms = 0;
    int r = poll(p->pfd, nf, timeout_ms);
    int err = r < 0 ? errno : 0;
    if (armed)
        pool_arm(p, IPCM_READY_DISARM);
    if (r < 0 && err != EINTR)
        return -err;
    if (r < 0)
        return 0;
    for (unsigned i = 0; i < nf; i++)
        if (p->pfd[i].revents && !(p->pfd_slot[i] & POOL_PIDFD_BIT))
            pool_drain(p, &p->w[p->pfd_slot[i]]);
    if (!mute)
        pool_sweep(p, &mute);
    for (unsigned i = 0; i < nf; i++) {
        unsigned s = p->pfd_slot[i] & ~POOL_PIDFD_BIT;
        if (p->pfd[i].revents && (p->pfd_slot[i] & POOL_PIDFD_BIT) && p->w[s].proc.pid > 0)
            pool_worker_ended(p, s, NULL);
    }
    if (blind)
        pool_blind_sweep(p);
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
    unsigned max_frames = p->depth - w->nflight;
    unsigned quota = p->opt.max_tasks_per_worker;
    size_t len, next = job->next;
    struct pool_flight fr[64];

    if (quota && quota - w->sent < max_frames)
        max_frames = quota - w->sent;
    if (max_frames > sizeof(fr) / sizeof(fr[0]))
        max_frames = sizeof(fr) / sizeof(fr[0]);
    unsigned nframes = pool_wire_pack_tasks(job, p->sbuf, p->max_msg, max_frames, fr, &next, &len);
    if (nframes == 0)
        return 0;
    /* Never block on a send: a worker may be blocked sending us results. */
    ssize_t r = ipcm_chan_send(w->task, p->sbuf, len, 0);
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

/* Whether a map may start now. Returns 0; -EDEADLK; -ESHUTDOWN; -ENOTRECOVERABLE. */
static int pool_usable(struct ipcm_pool *p)
{
    if (p->in_callback)
        return -EDEADLK;
    if (p->state != POOL_RUNNING) {
        pool_set_error(p, -ESHUTDOWN, "pool not running: it was %s",
                       p->state == POOL_CLOSED ? "closed" : "terminated");
        return -ESHUTDOWN;
    }
    if (p->broken) {
        pool_set_error(p, -ENOTRECOVERABLE,
                       "pool broken: a replacement worker could not start (%s); terminate it",
                       ipcm_strerror(p->broken));
        return -ENOTRECOVERABLE;
    }
    return 0;
}

int pool_job_prepare(struct ipcm_pool *p, struct pool_job *job, size_t chunk_size)
{
    for (size_t i = 0; job->out && i < job->n; i++)
        job->out[i] = (struct ipcm_pool_result){.status = -ECANCELED};
    int r = pool_usable(p);
    if (r < 0)
        return r;
    if (p->async) {
        pool_set_error(p, -EBUSY, "an asynchronous map is still running: wait for it or free it");
        return -EBUSY;
    }
    /* An exec'd worker runs its program's own function: fn may be NULL there. */
    if ((!job->fn && p->start.method != IPCM_START_EXEC) || (job->n && !job->in)) {
        pool_set_error(p, -EINVAL, "map: fn and inputs are required");
        return -EINVAL;
    }
    if (job->n == 0) {
        pool_set_error(p, 0, "ok");
        p->info.last_chunk_size = 0;
        return 1;
    }
    job->chunk = chunk_size ? chunk_size : ipcm_pool_default_chunk(job->n, p->nworkers);
    job->tstate = calloc(job->n, 1);
    return job->tstate ? 0 : -ENOMEM;
}

int pool_job_start(struct ipcm_pool *p, struct pool_job *job)
{
    int r;
    pool_set_error(p, 0, "ok");
    for (size_t i = 0; i < job->n; i++) {
        if (job->in[i].len > p->max_task) {
            pool_set_error(p, -EMSGSIZE,
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

size_t pool_job_prefix(struct pool_job *job)
{
    /* Python's imap yields results in this order. */
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
int pool_job_step(struct ipcm_pool *p, struct pool_job *job, size_t until, int timeout_ms)
{
    struct ipcm_deadline dl;
    int r = 0;

    ipcm_deadline_init(&dl, timeout_ms);
    while (job->done < job->n && !job->stop && pool_job_prefix(job) < until) {
        if (p->broken)
            return pool_usable(p);
        bool full = false;
        pool_dispatch(p, job, &full);
        int wait = ipcm_deadline_left_ms(&dl);
        if (wait == 0)
            return -ETIMEDOUT;
        if (full && (wait < 0 || wait > 1))
            wait = 1;
        if ((r = pool_poll(p, wait)) < 0)
            return r;
    }
    return 0;
}

int pool_job_finish(struct ipcm_pool *p, struct pool_job *job, int r)
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
        pool_set_error(p, r, "%zu task(s) failed; the first is index %zu: %s (%s)", job->nfail,
                       job->fail_index, ipcm_strerror(job->fail_status),
                       ipcm_err_name(job->fail_status));
        p->err.index = job->fail_index;
        p->err.task_status = job->fail_status;
        p->err.failed = job->nfail;
    } else if (r < 0 && r != p->err.err) {
        pool_set_error(p, r, "map failed: %s", ipcm_strerror(r));
    }
    return r;
}
