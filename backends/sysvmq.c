/* SPDX-License-Identifier: MIT */
/*
 * sysvmq.c - System V message-queue backend (msgget(2), msgsnd(2), msgrcv(2)).
 *
 * The kernel keeps message boundaries and queues each message whole, so many producers
 * and many consumers need no lock; a pipe is two queues. Limits come from
 * /proc/sys/kernel: a message may not exceed msgmax, and a queue holds at most msgmnb
 * bytes and at most msgmnb messages (Linux counts each message against the byte bound
 * too). A queue is byte-bounded: the depth asked for sizes msg_qbytes to depth
 * max-size messages, so smaller messages fit more. We keep to msgmnb even when
 * privileged (only CAP_SYS_RESOURCE may raise msg_qbytes above it).
 *
 * Lifetime: a System V queue has no name to unlink and no attach count, so the kernel
 * never removes it by itself. Every process holding the link or an end also holds the
 * write end of a "holders" pipe (fork copies it; O_CLOEXEC drops it at exec). Whoever
 * releases its copy and then finds the pipe hung up was the last holder and removes the
 * queues with IPC_RMID. A holder that dies without releasing cannot do that: the queue
 * ids are in the runner's journal (base.h, ipcm_sysv_record), which removes them after
 * the case, and its guard after a kill of the whole tree.
 *
 * Waiting: a System V queue has no descriptor to poll, so send and receive try with
 * IPC_NOWAIT and wait between tries: sched_yield() for the first SPIN_NS (the peer gets
 * the CPU at once on one CPU, a reply from another CPU is seen within a yield), then
 * ppoll(2) on the life pipe (end-of-stream, peer death) for a nap that doubles from
 * NAP_MIN_NS to NAP_MAX_NS, never past the deadline. The nap bounds how late an idle
 * end sees a message; the cap bounds an idle end to NAP_MAX_NS wake-ups per second.
 * End-of-stream and peer death come from life pipes (util.c), as for mqueue.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#define SPIN_NS (50 * IPCM_NS_PER_US)
#define NAP_MIN_NS (50 * IPCM_NS_PER_US)
#define NAP_MAX_NS (1 * IPCM_NS_PER_MS)

struct sysvmq_dir {
    int q; /* msqid, or -1 where the role does not use this direction */
    struct ipcm_life life;
};

/* What a holder must remove if it turns out to be the last one. */
struct sysvmq_hold {
    int fd[2]; /* the holders pipe: [0] watched at release, [1] the token */
    int qid[2];
    unsigned nq;
};

struct sysvmq_link {
    struct sysvmq_dir dir[2];
    unsigned ndirs;
    struct sysvmq_hold hold;
};

/* The msgbuf of msgsnd(2)/msgrcv(2): a positive type, then the bytes. */
struct sysvmq_msg {
    long mtype;
    unsigned char mtext[];
};

struct sysvmq_chan {
    struct sysvmq_dir send, recv;
    struct sysvmq_hold hold;
    struct sysvmq_msg *msg; /* scratch: the caller's bytes are copied behind an mtype */
    size_t msg_len;         /* of the mapping */
};

/* The state of one call's wait between tries. */
struct sysvmq_backoff {
    uint64_t t0;  /* first wait of this call */
    uint64_t nap; /* last nap, 0 while yielding */
};

struct sysvmq_sysctls {
    unsigned long msgmax, msgmnb, msgmni;
};

static int sysvmq_read(struct sysvmq_sysctls *s)
{
    int r;
    if ((r = ipcm_read_sysctl("/proc/sys/kernel/msgmax", &s->msgmax)) < 0 ||
        (r = ipcm_read_sysctl("/proc/sys/kernel/msgmnb", &s->msgmnb)) < 0 ||
        (r = ipcm_read_sysctl("/proc/sys/kernel/msgmni", &s->msgmni)) < 0)
        return r == -ENOENT ? -ENOSYS : r;
    return 0;
}

static int sysvmq_limits(struct ipcm_limits *out)
{
    struct sysvmq_sysctls s;
    int r = sysvmq_read(&s);
    if (r < 0)
        return r;
    if (s.msgmni == 0 || s.msgmnb == 0)
        return -ENOSYS;
    memset(out, 0, sizeof(*out));
    /* msgsnd refuses a message larger than the queue (EINVAL), so msgmnb caps it too. */
    out->max_msg = s.msgmax < s.msgmnb ? s.msgmax : s.msgmnb;
    out->default_msg = out->max_msg;
    out->max_depth = 0; /* byte-bounded: see the top of the file */
    out->default_depth = 16;
    out->buffer_bytes = s.msgmnb;
    /* The kernel keeps these as ints: ten digits each fit the 96 bytes. */
    unsigned max = (unsigned)s.msgmax, mnb = (unsigned)s.msgmnb, mni = (unsigned)s.msgmni;
    if (s.msgmax <= s.msgmnb)
        snprintf(out->max_msg_source, sizeof(out->max_msg_source),
                 "kernel.msgmax = %u (msgmnb = %u B a queue, msgmni = %u queues)", max, mnb, mni);
    else
        snprintf(out->max_msg_source, sizeof(out->max_msg_source),
                 "kernel.msgmnb = %u B a queue (msgmax = %u, msgmni = %u queues)", mnb, max, mni);
    return 0;
}

static void sysvmq_dir_init(struct sysvmq_dir *d)
{
    d->q = -1;
    ipcm_life_init(&d->life);
}

static void sysvmq_dir_close(struct sysvmq_dir *d)
{
    d->q = -1;
    ipcm_life_close(&d->life);
}

static void sysvmq_hold_init(struct sysvmq_hold *h)
{
    h->fd[0] = h->fd[1] = -1;
    h->nq = 0;
}

/* Give up this process's token; the last holder removes the queues. */
static void sysvmq_hold_release(struct sysvmq_hold *h)
{
    ipcm_close_fd(&h->fd[1]);
    if (h->fd[0] >= 0 && ipcm_life_hup(h->fd[0]))
        for (unsigned i = 0; i < h->nq; i++)
            ipcm_sysv_remove(IPCM_SYSV_MSG, h->qid[i]);
    ipcm_close_fd(&h->fd[0]);
    h->nq = 0;
}

static void sysvmq_destroy(struct ipcm_link *l)
{
    struct sysvmq_link *sl = l->priv;
    for (unsigned i = 0; i < sl->ndirs; i++)
        sysvmq_dir_close(&sl->dir[i]);
    sysvmq_hold_release(&sl->hold);
}

/* One queue of at most qbytes bytes, recorded in the journal before anything can fail. */
static int sysvmq_queue(unsigned long qbytes)
{
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (q < 0)
        return errno == ENOSPC /* kernel.msgmni queues exist on this host */
                   ? ipcm_reason_set(-ENOSPC,
                                     "sysvmq: msgget: kernel.msgmni is used up (%ld queues on "
                                     "this host); raise it: `sysctl -w kernel.msgmni=32000`",
                                     ipcm_sysctl_long("/proc/sys/kernel/msgmni"))
                   : -errno;
    int err = ipcm_sysv_record(IPCM_SYSV_MSG, q);
    struct msqid_ds ds;
    if (err == 0 && msgctl(q, IPC_STAT, &ds) < 0)
        err = -errno;
    if (err == 0) {
        ds.msg_qbytes = qbytes;
        if (msgctl(q, IPC_SET, &ds) < 0)
            err = -errno;
    }
    if (err < 0) {
        ipcm_sysv_remove(IPCM_SYSV_MSG, q);
        return err;
    }
    return q;
}

static int sysvmq_create(struct ipcm_link *l)
{
    struct sysvmq_link *sl = l->priv;
    struct sysvmq_sysctls s;
    int err = sysvmq_read(&s);

    sl->ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    for (unsigned i = 0; i < 2; i++)
        sysvmq_dir_init(&sl->dir[i]);
    sysvmq_hold_init(&sl->hold);
    if (err < 0)
        return err;
    /* Linux counts every message against msg_qbytes as well: a deeper queue cannot be. */
    if (l->cfg.depth > s.msgmnb)
        return -EINVAL;
    size_t unit = l->cfg.max_msg ? l->cfg.max_msg : 1;
    unsigned long qbytes = (unsigned long)l->cfg.depth * unit;
    if (qbytes > s.msgmnb)
        qbytes = s.msgmnb;
    if (qbytes < unit)
        qbytes = unit;
    if (qbytes < l->cfg.depth)
        qbytes = l->cfg.depth;
    if (pipe2(sl->hold.fd, O_CLOEXEC) < 0)
        return -errno;
    for (unsigned i = 0; i < sl->ndirs && !err; i++) {
        int q = sysvmq_queue(qbytes);
        if (q < 0) {
            err = q;
            break;
        }
        sl->dir[i].q = sl->hold.qid[sl->hold.nq++] = q;
        err = ipcm_life_create(&sl->dir[i].life);
    }
    if (err) {
        /* Nobody else holds it yet: this release is the last and removes the queues. */
        sysvmq_destroy(l);
    }
    return err;
}

static void sysvmq_take(struct sysvmq_dir *to, struct sysvmq_dir *from, bool sends)
{
    *to = *from;
    sysvmq_dir_init(from);
    ipcm_life_open(&to->life, sends, !sends);
}

static int sysvmq_open(struct ipcm_chan *c)
{
    struct sysvmq_link *sl = c->link->priv;
    struct sysvmq_chan *mc = c->priv;

    sysvmq_dir_init(&mc->send);
    sysvmq_dir_init(&mc->recv);
    /* One scratch message for both directions: an end never sends and receives at once
     * (the library is not thread-safe per end). */
    mc->msg_len = sizeof(struct sysvmq_msg) + (c->max_msg ? c->max_msg : 1);
    mc->msg = mmap(NULL, mc->msg_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mc->msg == MAP_FAILED) {
        mc->msg = NULL;
        return -ENOMEM;
    }
    mc->hold = sl->hold;
    sysvmq_hold_init(&sl->hold);
    switch (c->role) {
    case IPCM_ROLE_SEND: sysvmq_take(&mc->send, &sl->dir[0], true); break;
    case IPCM_ROLE_RECV: sysvmq_take(&mc->recv, &sl->dir[0], false); break;
    case IPCM_ROLE_BOTH:
        /* One queue used both ways: hold a sender and a receiver token. */
        mc->send = sl->dir[0];
        sysvmq_dir_init(&sl->dir[0]);
        ipcm_life_open(&mc->send.life, true, true);
        break;
    case IPCM_ROLE_A:
        sysvmq_take(&mc->send, &sl->dir[0], true);
        sysvmq_take(&mc->recv, &sl->dir[1], false);
        break;
    case IPCM_ROLE_B:
        sysvmq_take(&mc->send, &sl->dir[1], true);
        sysvmq_take(&mc->recv, &sl->dir[0], false);
        break;
    }
    sysvmq_destroy(c->link);
    return 0;
}

/*
 * One wait between two IPC_NOWAIT tries (see the top of the file). Returns 0 to try
 * again, 1 when the life fd hung up (the other side is gone), -EAGAIN for a try-once
 * call, -ETIMEDOUT past the deadline, or -errno.
 */
static int sysvmq_wait(struct sysvmq_backoff *b, int life_fd, const struct ipcm_deadline *dl)
{
    if (dl->timeout_ms == 0) /* try once, but an end that is over is not "would block" */
        return ipcm_life_hup(life_fd) ? 1 : -EAGAIN;
    uint64_t now = ipcm_now_ns();
    if (ipcm_deadline_expired(dl))
        return -ETIMEDOUT;
    if (b->t0 == 0)
        b->t0 = now;
    if (b->nap == 0 && now - b->t0 < SPIN_NS) {
        sched_yield();
        return 0;
    }
    b->nap = b->nap ? 2 * b->nap : NAP_MIN_NS;
    if (b->nap > NAP_MAX_NS)
        b->nap = NAP_MAX_NS;
    uint64_t nap = b->nap;
    if (dl->timeout_ms > 0 && dl->at_ns - now < nap)
        nap = dl->at_ns - now;
    struct timespec ts = {.tv_sec = (time_t)(nap / IPCM_NS_PER_S),
                          .tv_nsec = (long)(nap % IPCM_NS_PER_S)};
    struct pollfd p = {.fd = life_fd, .events = POLLIN};
    int r = ppoll(&p, life_fd >= 0 ? 1 : 0, &ts, NULL);
    if (r < 0 && errno != EINTR)
        return -errno;
    return r > 0 && (p.revents & (POLLHUP | POLLERR)) ? 1 : 0;
}

static ssize_t sysvmq_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    struct sysvmq_chan *mc = c->priv;
    struct sysvmq_dir *d = &mc->send;
    struct sysvmq_backoff b = {0};
    struct ipcm_deadline dl;
    int gone = ipcm_life_receivers_gone_fd(&d->life);

    if (d->q < 0)
        return -EBADF;
    /* Refuse before queueing: a queue with no receiver left would swallow messages. */
    if (ipcm_life_hup(gone))
        return -EPIPE;
    mc->msg->mtype = 1;
    if (len)
        memcpy(mc->msg->mtext, buf, len);
    ipcm_deadline_init(&dl, timeout_ms);
    for (;;) {
        if (msgsnd(d->q, mc->msg, len, IPC_NOWAIT) == 0)
            return (ssize_t)len;
        if (errno == EINTR)
            continue;
        if (errno == EIDRM || errno == EINVAL)
            return -EPIPE; /* removed under us: a runner swept it, nobody receives */
        if (errno != EAGAIN)
            return -errno;
        int r = sysvmq_wait(&b, gone, &dl);
        if (r < 0)
            return r;
        if (r > 0)
            return -EPIPE;
    }
}

static ssize_t sysvmq_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    struct sysvmq_chan *mc = c->priv;
    struct sysvmq_dir *d = mc->recv.q >= 0 ? &mc->recv : &mc->send;
    struct sysvmq_backoff b = {0};
    struct ipcm_deadline dl;
    int gone = ipcm_life_senders_gone_fd(&d->life);
    bool eof_seen = false;

    (void)cap; /* >= max_msg, the most msgrcv may return */
    if (d->q < 0)
        return -EBADF;
    ipcm_deadline_init(&dl, timeout_ms);
    for (;;) {
        ssize_t n = msgrcv(d->q, mc->msg, c->max_msg, 0, IPC_NOWAIT);
        if (n >= 0) {
            memcpy(buf, mc->msg->mtext, (size_t)n);
            return n;
        }
        if (errno == EINTR)
            continue;
        if (errno == EIDRM || errno == EINVAL)
            return -EPIPE;
        if (errno != ENOMSG)
            return errno == E2BIG ? -EMSGSIZE : -errno;
        /* Every sender was gone before this empty read: nothing more can arrive. */
        if (eof_seen)
            return -EPIPE;
        int r = sysvmq_wait(&b, gone, &dl);
        if (r < 0)
            return r;
        if (r > 0)
            eof_seen = true; /* try the queue once more: it may hold their last words */
    }
}

static int sysvmq_shutdown(struct ipcm_chan *c)
{
    struct sysvmq_chan *mc = c->priv;
    /* A process that also receives on this queue keeps it. */
    if (c->role == IPCM_ROLE_BOTH)
        ipcm_life_shutdown(&mc->send.life);
    else
        sysvmq_dir_close(&mc->send);
    return 0;
}

static void sysvmq_close(struct ipcm_chan *c)
{
    struct sysvmq_chan *mc = c->priv;
    sysvmq_dir_close(&mc->send);
    sysvmq_dir_close(&mc->recv);
    sysvmq_hold_release(&mc->hold);
    if (mc->msg)
        munmap(mc->msg, mc->msg_len);
    mc->msg = NULL;
}

static ssize_t sysvmq_qsize(const struct ipcm_chan *c)
{
    const struct sysvmq_chan *mc = c->priv;
    const struct sysvmq_dir *d = mc->recv.q >= 0 ? &mc->recv : &mc->send;
    struct msqid_ds ds;
    if (d->q < 0)
        return -EBADF;
    if (msgctl(d->q, IPC_STAT, &ds) < 0)
        return -errno;
    return (ssize_t)ds.msg_qnum;
}

/* ---------------------------------------------------------------- exec hand-over */

/* Per direction the queue id (System V ids are global: nothing to clear) and the life
 * pipes; then the holders pipe and the ids the last holder removes. */
#define SYSVMQ_HANDOVER_N 15
static void sysvmq_handover_vals(const struct sysvmq_link *sl, int *v)
{
    for (unsigned d = 0; d < 2; d++) {
        const struct sysvmq_dir *q = &sl->dir[d];
        int *w = v + 5 * d;
        w[0] = d < sl->ndirs ? q->q : -1;
        w[1] = q->life.senders[0];
        w[2] = q->life.senders[1];
        w[3] = q->life.receivers[0];
        w[4] = q->life.receivers[1];
    }
    v[10] = sl->hold.fd[0];
    v[11] = sl->hold.fd[1];
    v[12] = sl->hold.nq > 0 ? sl->hold.qid[0] : -1;
    v[13] = sl->hold.nq > 1 ? sl->hold.qid[1] : -1;
    v[14] = (int)sl->hold.nq;
}

/* Which of the values are descriptors (the rest are ids and a count). */
static void sysvmq_handover_fdvals(const int *v, int *fdv)
{
    for (unsigned i = 0; i < SYSVMQ_HANDOVER_N; i++)
        fdv[i] = (i % 5 != 0 && i < 10) || i == 10 || i == 11 ? v[i] : -1;
}

static int sysvmq_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                                  size_t *nfds)
{
    int v[SYSVMQ_HANDOVER_N], fdv[SYSVMQ_HANDOVER_N];
    size_t room = *nfds;
    *nfds = 0;
    sysvmq_handover_vals(l->priv, v);
    sysvmq_handover_fdvals(v, fdv);
    int r = ipcm_handover_fds(fdv, SYSVMQ_HANDOVER_N, fds, nfds, room, false);
    return r < 0 ? r : ipcm_handover_put(buf, len, v, SYSVMQ_HANDOVER_N);
}

static int sysvmq_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct sysvmq_link *sl = l->priv;
    int v[SYSVMQ_HANDOVER_N], fdv[SYSVMQ_HANDOVER_N], fds[SYSVMQ_HANDOVER_N];
    size_t nfds = 0;
    int r = ipcm_handover_get(payload, v, SYSVMQ_HANDOVER_N);
    if (r == 0) {
        sysvmq_handover_fdvals(v, fdv);
        r = ipcm_handover_fds(fdv, SYSVMQ_HANDOVER_N, fds, &nfds, SYSVMQ_HANDOVER_N, true);
    }
    if (r == 0 && (v[14] < 1 || v[14] > 2))
        r = -EINVAL;
    if (r < 0)
        return r;
    sl->ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    for (unsigned d = 0; d < 2; d++) {
        struct sysvmq_dir *q = &sl->dir[d];
        const int *w = v + 5 * d;
        q->q = w[0];
        q->life.senders[0] = w[1];
        q->life.senders[1] = w[2];
        q->life.receivers[0] = w[3];
        q->life.receivers[1] = w[4];
    }
    sl->hold.fd[0] = v[10];
    sl->hold.fd[1] = v[11];
    sl->hold.qid[0] = v[12];
    sl->hold.qid[1] = v[13];
    sl->hold.nq = (unsigned)v[14];
    return 0;
}

const struct ipcm_backend ipcm_backend_sysvmq = {
    .abi = IPCM_BACKEND_ABI,
    .name = "sysvmq",
    .summary = "System V message queues (msgget(2)), polled with backoff, removed by the last "
               "holder or the runner's journal",
    .caps = IPCM_CAP_NATIVE_MSG | IPCM_CAP_SPINS | IPCM_CAP_QSIZE | IPCM_CAP_EXEC,
    .link_priv = sizeof(struct sysvmq_link),
    .chan_priv = sizeof(struct sysvmq_chan),
    .limits = sysvmq_limits,
    .create = sysvmq_create,
    .open = sysvmq_open,
    .send = sysvmq_send,
    .recv = sysvmq_recv,
    .shutdown = sysvmq_shutdown,
    .close = sysvmq_close,
    .destroy = sysvmq_destroy,
    .qsize = sysvmq_qsize,
    .handover_export = sysvmq_handover_export,
    .handover_attach = sysvmq_handover_attach,
};
