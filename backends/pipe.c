/* SPDX-License-Identifier: MIT */
/*
 * pipe.c - pipe(2) backend: messages framed in a byte stream.
 *
 * Framing: an 8-byte header (length, magic) then the payload, written with one
 * writev. A pipe keeps no boundaries and tears writes above PIPE_BUF between
 * concurrent writers, so every direction has two process-shared robust mutexes in a
 * small shared mapping: one serialises writers, one readers.
 *
 * Why a frame is never torn: a writer holding the write lock waits (against its
 * deadline) until the pipe has room for the whole frame, then writes it in one call.
 * The pipe is sized at create time (F_SETPIPE_SZ) to hold the largest frame, so the
 * write never sleeps half-way; a writer killed while it waits has written nothing,
 * and a writer that times out leaves nothing behind. Readers see whole frames only.
 *
 * Why a dead reader is survivable: the reader lock is robust. A reader that dies while
 * waiting for data (the common case) leaves the stream aligned, and the next reader
 * continues. A reader that dies between reading a header and its payload (a window of
 * two syscalls) leaves the stream mid-frame; the survivor sees `inflight` still set,
 * marks the direction broken and every call returns -ENOTRECOVERABLE rather than
 * delivering garbage. Same for the magic check, which catches any other misalignment.
 *
 * End-of-stream is the pipe's own: read() returns 0 once every write end is closed,
 * which includes the ends of killed processes. SIGPIPE is blocked around each write so
 * a vanished reader gives -EPIPE instead of killing the sender.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PIPE_MAGIC 0x6970636du /* "ipcm" */
#define PIPE_HDR 8u

struct pipe_hdr {
    uint32_t len;
    uint32_t magic;
};

/* Shared by every process using one direction. */
struct pipe_dirstate {
    pthread_mutex_t wlock;
    pthread_mutex_t rlock;
    uint32_t pipe_size;   /* bytes the pipe holds, from F_GETPIPE_SZ */
    int r_inflight;       /* a reader is between header and payload (rlock held) */
    atomic_int broken;    /* a participant died mid-frame */
};

struct pipe_link {
    int fds[2][2]; /* [direction][0 read, 1 write] */
    unsigned ndirs;
    struct pipe_dirstate *state; /* ndirs entries in one shared mapping */
};

struct pipe_chan {
    int rfd, wfd;
    struct pipe_dirstate *rstate, *wstate;
    struct pipe_dirstate *mapping;
    unsigned ndirs;
};

static int pipe_limits(struct ipcm_limits *out)
{
    unsigned long max_size;
    int r = ipcm_read_sysctl("/proc/sys/fs/pipe-max-size", &max_size);
    if (r < 0)
        return r;
    memset(out, 0, sizeof(*out));
    /* A frame must fit in the pipe; pipe-max-size bounds what an unprivileged process
     * may ask for with F_SETPIPE_SZ. */
    out->max_msg = max_size - PIPE_HDR;
    out->default_msg = 65536 - PIPE_HDR;
    if (out->default_msg > out->max_msg)
        out->default_msg = out->max_msg;
    out->max_depth = 0;
    out->default_depth = 16;
    out->buffer_bytes = max_size;
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "fs.pipe-max-size = %lu, minus an %u B frame header", max_size, PIPE_HDR);
    return 0;
}

static void pipe_destroy(struct ipcm_link *l)
{
    struct pipe_link *pl = l->priv;
    for (unsigned d = 0; d < 2; d++) {
        ipcm_close_fd(&pl->fds[d][0]);
        ipcm_close_fd(&pl->fds[d][1]);
    }
    /* After open the mapping belongs to the end; before, to the link. */
    ipcm_shared_free(pl->state, pl->ndirs * sizeof(*pl->state));
    pl->state = NULL;
}

static int pipe_create(struct ipcm_link *l)
{
    struct pipe_link *pl = l->priv;
    size_t frame = l->cfg.max_msg + PIPE_HDR;
    int err;

    for (unsigned d = 0; d < 2; d++)
        pl->fds[d][0] = pl->fds[d][1] = -1;
    pl->ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    pl->state = ipcm_shared_alloc(pl->ndirs * sizeof(*pl->state));
    if (!pl->state)
        return -ENOMEM;
    for (unsigned d = 0; d < pl->ndirs; d++) {
        struct pipe_dirstate *st = &pl->state[d];
        /* Non-blocking: all waits go through poll against a deadline. */
        if (pipe2(pl->fds[d], O_CLOEXEC | O_NONBLOCK) < 0) {
            err = -errno;
            goto fail;
        }
        int size = fcntl(pl->fds[d][1], F_GETPIPE_SZ);
        if (size >= 0 && (size_t)size < frame)
            size = fcntl(pl->fds[d][1], F_SETPIPE_SZ, (int)frame);
        if (size < 0) {
            err = -errno; /* EPERM: fs.pipe-user-pages-soft is exhausted */
            goto fail;
        }
        st->pipe_size = (uint32_t)size;
        if ((err = ipcm_robust_init(&st->wlock)) < 0 || (err = ipcm_robust_init(&st->rlock)) < 0)
            goto fail;
    }
    return 0;
fail:
    pipe_destroy(l);
    return err;
}

static int pipe_open(struct ipcm_chan *c)
{
    struct pipe_link *pl = c->link->priv;
    struct pipe_chan *pc = c->priv;
    int rdir = -1, wdir = -1;

    switch (c->role) {
    case IPCM_ROLE_SEND: wdir = 0; break;
    case IPCM_ROLE_RECV: rdir = 0; break;
    case IPCM_ROLE_BOTH: rdir = wdir = 0; break;
    case IPCM_ROLE_A: wdir = 0, rdir = 1; break;
    case IPCM_ROLE_B: wdir = 1, rdir = 0; break;
    }
    pc->rfd = pc->wfd = -1;
    if (rdir >= 0) {
        pc->rfd = pl->fds[rdir][0];
        pl->fds[rdir][0] = -1;
        pc->rstate = &pl->state[rdir];
    }
    if (wdir >= 0) {
        pc->wfd = pl->fds[wdir][1];
        pl->fds[wdir][1] = -1;
        pc->wstate = &pl->state[wdir];
    }
    /* Hand the mapping to the end; whatever fds the role does not use are closed so
     * that end-of-stream and EPIPE work. */
    pc->mapping = pl->state;
    pc->ndirs = pl->ndirs;
    pl->state = NULL;
    for (unsigned d = 0; d < 2; d++) {
        ipcm_close_fd(&pl->fds[d][0]);
        ipcm_close_fd(&pl->fds[d][1]);
    }
    return 0;
}

static int pipe_mark_broken(struct pipe_dirstate *st)
{
    atomic_store(&st->broken, 1);
    return -ENOTRECOVERABLE;
}

/* Wait until the pipe can take need bytes without a partial write. */
static int pipe_wait_room(int fd, const struct pipe_dirstate *st, size_t need,
                          const struct ipcm_deadline *d)
{
    for (;;) {
        int queued = 0;
        if (ioctl(fd, FIONREAD, &queued) < 0)
            return -errno;
        if ((size_t)queued + need <= st->pipe_size)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int r = ipcm_wait_fds(&p, 1, d);
        if (r < 0)
            return r;
        if (p.revents & (POLLERR | POLLHUP))
            return -EPIPE;
        /* POLLOUT means a page is free, not that the frame fits: give readers a moment. */
        if ((size_t)queued + need > st->pipe_size) {
            if (ipcm_deadline_left_ms(d) == 0)
                return ipcm_deadline_err(d);
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
}

static ssize_t pipe_write_frame(struct pipe_chan *pc, const void *buf, size_t len,
                                const struct ipcm_deadline *d)
{
    struct pipe_hdr h = {.len = (uint32_t)len, .magic = PIPE_MAGIC};
    struct iovec iov[2] = {{&h, PIPE_HDR}, {(void *)buf, len}};
    size_t total = PIPE_HDR + len, done = 0;
    sigset_t pipe_set, old;

    int r = pipe_wait_room(pc->wfd, pc->wstate, total, d);
    if (r < 0)
        return r;
    /* Block SIGPIPE for this write only: a vanished reader must give -EPIPE. A pending
     * SIGPIPE we caused is consumed before the mask is restored. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    while (done < total) {
        ssize_t n = writev(pc->wfd, iov, 2);
        if (n > 0) {
            done += (size_t)n;
            /* Advance the iovecs past what was written (a rare partial write when the
             * pipe's page slots fill before its bytes do). */
            for (int i = 0; i < 2; i++) {
                size_t k = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
                iov[i].iov_base = (char *)iov[i].iov_base + k;
                iov[i].iov_len -= k;
                n -= (ssize_t)k;
            }
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            /* Mid-frame the frame must be finished, so no deadline applies here. */
            struct pollfd p = {.fd = pc->wfd, .events = POLLOUT};
            struct ipcm_deadline forever;
            ipcm_deadline_init(&forever, -1);
            if (done == 0)
                forever = *d;
            r = ipcm_wait_fds(&p, 1, &forever);
            if (r < 0)
                break;
            if (p.revents & (POLLERR | POLLHUP)) {
                r = -EPIPE;
                break;
            }
            continue;
        }
        r = -errno;
        break;
    }
    if (r == -EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (done == total)
        return (ssize_t)len;
    if (done > 0)
        return pipe_mark_broken(pc->wstate);
    return r < 0 ? r : -EIO;
}

static ssize_t pipe_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    struct pipe_chan *pc = c->priv;
    struct pipe_dirstate *st = pc->wstate;
    struct ipcm_deadline d;

    if (pc->wfd < 0)
        return -EBADF;
    if (atomic_load(&st->broken))
        return -ENOTRECOVERABLE;
    ipcm_deadline_init(&d, timeout_ms);
    int r = ipcm_robust_lock(&st->wlock, &d);
    if (r == -EOWNERDEAD) {
        /* A writer died holding the lock. Frames are written whole, so the stream is
         * still aligned: take over. */
        ipcm_robust_consistent(&st->wlock);
    } else if (r < 0) {
        return r;
    }
    ssize_t n = pipe_write_frame(pc, buf, len, &d);
    ipcm_robust_unlock(&st->wlock);
    return n;
}

/* Read exactly len bytes that are known to be in the pipe (a whole frame is). */
static int pipe_read_exact(int fd, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0) {
            return -EPIPE;
        } else if (errno == EAGAIN) {
            /* The writer is still copying a large frame into the pipe. */
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return -errno;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

static ssize_t pipe_read_frame(struct pipe_chan *pc, void *buf, size_t cap,
                               const struct ipcm_deadline *d)
{
    struct pipe_dirstate *st = pc->rstate;
    struct pipe_hdr h;

    for (;;) {
        ssize_t n = read(pc->rfd, &h, PIPE_HDR);
        if (n == 0)
            return -EPIPE; /* every write end is closed: end of stream */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return -errno;
        if (n > 0) {
            st->r_inflight = 1;
            int r = 0;
            if ((size_t)n < PIPE_HDR)
                r = pipe_read_exact(pc->rfd, (char *)&h + n, PIPE_HDR - (size_t)n);
            if (r < 0 || h.magic != PIPE_MAGIC || h.len > cap)
                return pipe_mark_broken(st);
            if ((r = pipe_read_exact(pc->rfd, buf, h.len)) < 0)
                return pipe_mark_broken(st);
            st->r_inflight = 0;
            return (ssize_t)h.len;
        }
        struct pollfd p = {.fd = pc->rfd, .events = POLLIN};
        int r = ipcm_wait_fds(&p, 1, d);
        if (r < 0)
            return r;
        if (atomic_load(&st->broken))
            return -ENOTRECOVERABLE;
    }
}

static ssize_t pipe_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    struct pipe_chan *pc = c->priv;
    struct pipe_dirstate *st = pc->rstate;
    struct ipcm_deadline d;

    if (pc->rfd < 0)
        return -EBADF;
    if (atomic_load(&st->broken))
        return -ENOTRECOVERABLE;
    ipcm_deadline_init(&d, timeout_ms);
    int r = ipcm_robust_lock(&st->rlock, &d);
    if (r == -EOWNERDEAD) {
        ipcm_robust_consistent(&st->rlock);
        if (st->r_inflight) {
            /* The dead reader consumed part of a frame: the stream is misaligned. */
            ipcm_robust_unlock(&st->rlock);
            return pipe_mark_broken(st);
        }
    } else if (r < 0) {
        return r;
    }
    ssize_t n = pipe_read_frame(pc, buf, cap, &d);
    ipcm_robust_unlock(&st->rlock);
    return n;
}

static int pipe_shutdown(struct ipcm_chan *c)
{
    struct pipe_chan *pc = c->priv;
    ipcm_close_fd(&pc->wfd);
    return 0;
}

static void pipe_close(struct ipcm_chan *c)
{
    struct pipe_chan *pc = c->priv;
    ipcm_close_fd(&pc->rfd);
    ipcm_close_fd(&pc->wfd);
    ipcm_shared_free(pc->mapping, pc->ndirs * sizeof(*pc->mapping));
    pc->mapping = NULL;
}

static int pipe_pollfd(const struct ipcm_chan *c)
{
    const struct pipe_chan *pc = c->priv;
    return pc->rfd >= 0 ? pc->rfd : -EBADF;
}

const struct ipcm_backend ipcm_backend_pipe = {
    .abi = IPCM_BACKEND_ABI,
    .name = "pipe",
    .summary = "pipe(2), length-framed, robust-mutex serialised writers and readers",
    .caps = IPCM_CAP_POLLFD | IPCM_CAP_STREAM,
    .link_priv = sizeof(struct pipe_link),
    .chan_priv = sizeof(struct pipe_chan),
    .limits = pipe_limits,
    .create = pipe_create,
    .open = pipe_open,
    .send = pipe_send,
    .recv = pipe_recv,
    .shutdown = pipe_shutdown,
    .close = pipe_close,
    .destroy = pipe_destroy,
    .pollfd = pipe_pollfd,
};
