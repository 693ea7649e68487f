/* SPDX-License-Identifier: MIT */
/*
 * mqueue.c - POSIX message-queue backend (mq_open(3)).
 *
 * The kernel keeps message boundaries and queues each message whole, so many
 * producers and many consumers need no lock, and a producer killed mid-send leaves a
 * whole message or none. Limits come from /proc/sys/fs/mqueue: a message may not
 * exceed msgsize_max and a queue may not hold more than msg_max messages. We keep to
 * these soft ceilings even when privileged, so the limit we report is the one any
 * user of this host gets.
 *
 * Hygiene: the queue is created with an unpredictable name, O_EXCL and mode 0600,
 * and unlinked at once: children inherit the descriptor through fork, so nothing can
 * be left under /dev/mqueue even if every process is killed.
 *
 * End-of-stream: a message queue has none, and closing every sender does not wake a
 * blocked receiver. Each direction therefore carries a pair of life pipes (util.c):
 * a receiver polls the queue together with the "senders" pipe, whose POLLHUP means
 * every sender has closed or died; a sender polls the "receivers" pipe likewise. The
 * descriptor is O_NONBLOCK (only our processes share its open file description) and
 * every wait is a poll(2) against one deadline.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct mqueue_dir {
    mqd_t q;
    struct ipcm_life life;
};

struct mqueue_link {
    struct mqueue_dir dir[2];
    unsigned ndirs;
};

struct mqueue_chan {
    struct mqueue_dir send, recv; /* q == -1 where the role does not use it */
    int ep; /* pollfd of a receiving end that can see end-of-stream, else -1 */
};

static int mqueue_limits(struct ipcm_limits *out)
{
    unsigned long msg_max, msgsize_max, msg_default, msgsize_default;
    int r;

    if ((r = ipcm_read_sysctl("/proc/sys/fs/mqueue/msgsize_max", &msgsize_max)) < 0 ||
        (r = ipcm_read_sysctl("/proc/sys/fs/mqueue/msg_max", &msg_max)) < 0)
        return r == -ENOENT ? -ENOSYS : r;
    if (ipcm_read_sysctl("/proc/sys/fs/mqueue/msg_default", &msg_default) < 0)
        msg_default = msg_max;
    if (ipcm_read_sysctl("/proc/sys/fs/mqueue/msgsize_default", &msgsize_default) < 0)
        msgsize_default = msgsize_max;
    memset(out, 0, sizeof(*out));
    out->max_msg = msgsize_max;
    out->default_msg = msgsize_default < msgsize_max ? msgsize_default : msgsize_max;
    out->max_depth = (unsigned)msg_max;
    out->default_depth = (unsigned)(msg_default < msg_max ? msg_default : msg_max);
    out->buffer_bytes = 0;
    snprintf(out->max_msg_source, sizeof(out->max_msg_source), "fs.mqueue.msgsize_max = %lu",
             msgsize_max);
    return 0;
}

static void mqueue_dir_init(struct mqueue_dir *d)
{
    d->q = (mqd_t)-1;
    ipcm_life_init(&d->life);
}

static void mqueue_dir_close(struct mqueue_dir *d)
{
    if (d->q != (mqd_t)-1)
        mq_close(d->q);
    d->q = (mqd_t)-1;
    ipcm_life_close(&d->life);
}

static void mqueue_destroy(struct ipcm_link *l)
{
    struct mqueue_link *ml = l->priv;
    for (unsigned i = 0; i < ml->ndirs; i++)
        mqueue_dir_close(&ml->dir[i]);
}

/* Bytes the kernel charges a queue to RLIMIT_MSGQUEUE (ipc/mqueue.c: each message's
 * payload plus its struct msg_msg, 48 bytes on 64-bit, and a tree node per priority in
 * use): a lower bound, enough to say how far off the limit is. */
static unsigned long long mqueue_charge(const struct mq_attr *a)
{
    return (unsigned long long)a->mq_maxmsg * ((unsigned long long)a->mq_msgsize + 48u);
}

/*
 * Why mq_open failed, for ipcm_last_error. EMFILE has two causes the errno does not tell
 * apart: no free descriptor (RLIMIT_NOFILE, left to the generic explanation) or the
 * user's message-queue bytes (RLIMIT_MSGQUEUE), which is the cause when a descriptor
 * can still be opened. ENOSPC is the host's count of queues (fs.mqueue.queues_max).
 */
static int mqueue_explain(int err, const struct mq_attr *a)
{
    if (err == -EMFILE) {
        rlim_t q;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return err; /* no descriptor free: RLIMIT_NOFILE (channel.c says so) */
        close(fd);
        if (ipcm_rlimit_cur(RLIMIT_MSGQUEUE, &q) < 0)
            return err;
        return ipcm_reason_set(err,
                               "mqueue: mq_open: RLIMIT_MSGQUEUE is used up (%llu B per user; "
                               "this queue needs %llu B); raise it: `ulimit -q unlimited`",
                               (unsigned long long)q, mqueue_charge(a));
    }
    if (err == -ENOSPC)
        return ipcm_reason_set(err,
                               "mqueue: mq_open: fs.mqueue.queues_max is used up (%ld queues on "
                               "this host); raise it: `sysctl -w fs.mqueue.queues_max=1024`",
                               ipcm_sysctl_long("/proc/sys/fs/mqueue/queues_max"));
    return err;
}

static int mqueue_dir_create(struct mqueue_dir *d, const struct ipcm_config *cfg)
{
    struct mq_attr attr = {.mq_maxmsg = (long)cfg->depth,
                           .mq_msgsize = (long)(cfg->max_msg ? cfg->max_msg : 1)};
    char name[48];

    ipcm_make_name(name, sizeof(name));
    d->q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, 0600, &attr);
    if (d->q == (mqd_t)-1)
        return mqueue_explain(-errno, &attr);
    /* Forked children inherit the descriptor: the name is no longer needed. */
    mq_unlink(name);
    return ipcm_life_create(&d->life);
}

static int mqueue_create(struct ipcm_link *l)
{
    struct mqueue_link *ml = l->priv;
    int err = 0;

    ml->ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    for (unsigned i = 0; i < 2; i++)
        mqueue_dir_init(&ml->dir[i]);
    for (unsigned i = 0; i < ml->ndirs && !err; i++)
        err = mqueue_dir_create(&ml->dir[i], &l->cfg);
    if (err)
        mqueue_destroy(l);
    return err;
}

static void mqueue_take(struct mqueue_dir *to, struct mqueue_dir *from, bool sends)
{
    *to = *from;
    mqueue_dir_init(from);
    ipcm_life_open(&to->life, sends, !sends);
}

static int mqueue_open(struct ipcm_chan *c)
{
    struct mqueue_link *ml = c->link->priv;
    struct mqueue_chan *mc = c->priv;

    mqueue_dir_init(&mc->send);
    mqueue_dir_init(&mc->recv);
    switch (c->role) {
    case IPCM_ROLE_SEND: mqueue_take(&mc->send, &ml->dir[0], true); break;
    case IPCM_ROLE_RECV: mqueue_take(&mc->recv, &ml->dir[0], false); break;
    case IPCM_ROLE_BOTH:
        /* One queue used both ways: hold a sender and a receiver token. */
        mc->send = ml->dir[0];
        mqueue_dir_init(&ml->dir[0]);
        ipcm_life_open(&mc->send.life, true, true);
        break;
    case IPCM_ROLE_A:
        mqueue_take(&mc->send, &ml->dir[0], true);
        mqueue_take(&mc->recv, &ml->dir[1], false);
        break;
    case IPCM_ROLE_B:
        mqueue_take(&mc->send, &ml->dir[1], true);
        mqueue_take(&mc->recv, &ml->dir[0], false);
        break;
    }
    mqueue_destroy(c->link);
    /* ipcm_chan_pollfd must poll readable whenever recv would not block, and that
     * includes end-of-stream, which the queue descriptor alone never shows (it lives in
     * the senders' life pipe). So a receiving end that can see EOF polls through an
     * epoll set holding both. BOTH holds a sender token itself: it never sees EOF. */
    mc->ep = -1;
    int gone = ipcm_life_senders_gone_fd(&mc->recv.life);
    if (mc->recv.q != (mqd_t)-1 && gone >= 0) {
        struct epoll_event eq = {.events = EPOLLIN, .data.fd = (int)mc->recv.q};
        struct epoll_event eg = {.events = EPOLLIN, .data.fd = gone};
        mc->ep = epoll_create1(EPOLL_CLOEXEC);
        if (mc->ep < 0 || epoll_ctl(mc->ep, EPOLL_CTL_ADD, (int)mc->recv.q, &eq) < 0 ||
            epoll_ctl(mc->ep, EPOLL_CTL_ADD, gone, &eg) < 0) {
            int err = -errno;
            ipcm_close_fd(&mc->ep);
            mqueue_dir_close(&mc->send);
            mqueue_dir_close(&mc->recv);
            return err;
        }
    }
    return 0;
}

/* Priorities mq_send accepts here: 0 .. sysconf(_SC_MQ_PRIO_MAX) - 1 (32768 on Linux). */
static long mqueue_prio_max(void)
{
    long m = sysconf(_SC_MQ_PRIO_MAX);
    return m > 0 ? m : MQ_PRIO_MAX;
}

static ssize_t mqueue_send_prio(struct ipcm_chan *c, const void *buf, size_t len, unsigned prio,
                                int timeout_ms)
{
    struct mqueue_chan *mc = c->priv;
    struct mqueue_dir *d = &mc->send;
    struct ipcm_deadline dl;
    int gone = ipcm_life_receivers_gone_fd(&d->life);

    if (d->q == (mqd_t)-1)
        return -EBADF;
    /* mq_send would say EINVAL too; this says which limit, before anything is queued. */
    if (prio && (long long)prio >= mqueue_prio_max())
        return ipcm_reason_set(-EINVAL,
                               "mqueue: send: priority %u is out of range: MQ_PRIO_MAX is %ld "
                               "(sysconf(_SC_MQ_PRIO_MAX)), so the highest is %ld",
                               prio, mqueue_prio_max(), mqueue_prio_max() - 1);
    /* Refuse before queueing: a queue with no receiver left would swallow messages. */
    if (ipcm_life_hup(gone))
        return -EPIPE;
    ipcm_deadline_init(&dl, timeout_ms);
    for (;;) {
        if (mq_send(d->q, buf, len, prio) == 0)
            return (ssize_t)len;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        struct pollfd p[2] = {{.fd = d->q, .events = POLLOUT}, {.fd = gone, .events = POLLIN}};
        int r = ipcm_wait_fds(p, gone >= 0 ? 2 : 1, &dl);
        if (r < 0)
            return r;
        if (gone >= 0 && (p[1].revents & (POLLHUP | POLLERR)))
            return -EPIPE;
    }
}

static ssize_t mqueue_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    return mqueue_send_prio(c, buf, len, 0, timeout_ms);
}

static ssize_t mqueue_recv_prio(struct ipcm_chan *c, void *buf, size_t cap, unsigned *prio,
                                int timeout_ms)
{
    struct mqueue_chan *mc = c->priv;
    struct mqueue_dir *d = mc->recv.q != (mqd_t)-1 ? &mc->recv : &mc->send;
    struct ipcm_deadline dl;
    int gone = ipcm_life_senders_gone_fd(&d->life);
    bool eof_seen = false;

    if (d->q == (mqd_t)-1)
        return -EBADF;
    ipcm_deadline_init(&dl, timeout_ms);
    for (;;) {
        ssize_t n = mq_receive(d->q, buf, cap, prio);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        /* Every sender was gone before this empty read: nothing more can arrive. */
        if (eof_seen)
            return -EPIPE;
        struct pollfd p[2] = {{.fd = d->q, .events = POLLIN}, {.fd = gone, .events = POLLIN}};
        int r = ipcm_wait_fds(p, gone >= 0 ? 2 : 1, &dl);
        if (r < 0)
            return r;
        if (gone >= 0 && (p[1].revents & (POLLHUP | POLLERR)))
            eof_seen = true; /* try the queue once more: it may hold their last words */
    }
}

static ssize_t mqueue_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    return mqueue_recv_prio(c, buf, cap, NULL, timeout_ms);
}

static int mqueue_shutdown(struct ipcm_chan *c)
{
    struct mqueue_chan *mc = c->priv;
    /* A process that also receives on this queue keeps the descriptor. */
    if (c->role == IPCM_ROLE_BOTH)
        ipcm_life_shutdown(&mc->send.life);
    else
        mqueue_dir_close(&mc->send);
    return 0;
}

static void mqueue_close(struct ipcm_chan *c)
{
    struct mqueue_chan *mc = c->priv;
    mqueue_dir_close(&mc->send);
    mqueue_dir_close(&mc->recv);
    ipcm_close_fd(&mc->ep);
}

static ssize_t mqueue_qsize(const struct ipcm_chan *c)
{
    const struct mqueue_chan *mc = c->priv;
    const struct mqueue_dir *d = mc->recv.q != (mqd_t)-1 ? &mc->recv : &mc->send;
    struct mq_attr attr;
    if (d->q == (mqd_t)-1)
        return -EBADF;
    if (mq_getattr(d->q, &attr) < 0)
        return -errno;
    return (ssize_t)attr.mq_curmsgs;
}

static int mqueue_pollfd(const struct ipcm_chan *c)
{
    const struct mqueue_chan *mc = c->priv;
    if (mc->ep >= 0)
        return mc->ep;
    const struct mqueue_dir *d = mc->recv.q != (mqd_t)-1 ? &mc->recv : &mc->send;
    return d->q != (mqd_t)-1 ? (int)d->q : -EBADF;
}

/* ---------------------------------------------------------------- exec hand-over */

/* Per direction: the queue descriptor (an mqd_t is a descriptor on Linux; mq_open sets
 * close-on-exec, which the library clears in the child alone) and the life pipes. */
#define MQUEUE_HANDOVER_N 10
static void mqueue_handover_vals(const struct mqueue_link *ml, int *v)
{
    for (unsigned d = 0; d < 2; d++) {
        const struct mqueue_dir *q = &ml->dir[d];
        int *w = v + 5 * d;
        w[0] = d < ml->ndirs ? (int)q->q : -1;
        ipcm_life_handover_vals(&q->life, w + 1);
    }
}

static int mqueue_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                                  size_t *nfds)
{
    int v[MQUEUE_HANDOVER_N];
    mqueue_handover_vals(l->priv, v);
    return ipcm_handover_export(v, MQUEUE_HANDOVER_N, buf, len, fds, nfds);
}

static int mqueue_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct mqueue_link *ml = l->priv;
    int v[MQUEUE_HANDOVER_N];
    int r = ipcm_handover_import(payload, v, MQUEUE_HANDOVER_N);
    if (r < 0)
        return r;
    ml->ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    for (unsigned d = 0; d < 2; d++) {
        struct mqueue_dir *q = &ml->dir[d];
        const int *w = v + 5 * d;
        q->q = (mqd_t)w[0];
        ipcm_life_handover_set(&q->life, w + 1);
    }
    return 0;
}

const struct ipcm_backend ipcm_backend_mqueue = {
    .abi = IPCM_BACKEND_ABI,
    .name = "mqueue",
    .summary = "POSIX message queues (mq_open(3)), with life pipes for end-of-stream",
    .caps = IPCM_CAP_NATIVE_MSG | IPCM_CAP_POLLFD | IPCM_CAP_NAMED | IPCM_CAP_QSIZE | IPCM_CAP_EXEC |
            IPCM_CAP_PRIORITY,
    .link_priv = sizeof(struct mqueue_link),
    .chan_priv = sizeof(struct mqueue_chan),
    .limits = mqueue_limits,
    .create = mqueue_create,
    .open = mqueue_open,
    .send = mqueue_send,
    .recv = mqueue_recv,
    .shutdown = mqueue_shutdown,
    .close = mqueue_close,
    .destroy = mqueue_destroy,
    .pollfd = mqueue_pollfd,
    .qsize = mqueue_qsize,
    .handover_export = mqueue_handover_export,
    .handover_attach = mqueue_handover_attach,
    .send_prio = mqueue_send_prio,
    .recv_prio = mqueue_recv_prio,
};
