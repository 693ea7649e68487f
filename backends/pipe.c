/* SPDX-License-Identifier: MIT */
/*
 * pipe.c - pipe(2) backend: messages framed in a byte stream.
 *
 * Framing: an 8-byte header (length, magic) then the payload, written with one
 * writev. A pipe keeps no boundaries and tears writes above PIPE_BUF between
 * concurrent writers, so every direction has two process-shared robust mutexes in a
 * small shared mapping: one serialises writers, one readers.
 *
 * Packet mode (pipe2 O_DIRECT, Linux >= 3.4): each write of up to PIPE_BUF bytes is one
 * packet, a larger one is cut into PIPE_BUF packets, and a read returns at most one
 * packet. So a reader takes the header and up to 4088 payload bytes in one readv, and
 * the rest of a large frame one packet per read, always asking for exactly what is left
 * (a read shorter than its packet would discard the rest). Small messages cost one
 * syscall on each side; a 64 KiB frame costs 17 reads, the price of the mode.
 *
 * Why a frame is never torn: a frame of at most PIPE_BUF bytes is one write(2), which
 * the kernel makes atomic (all or EAGAIN, and nothing if the writer is killed while it
 * waits). A larger frame is written only when the pipe has room for all of it: the
 * kernel fills page-sized slots, not bytes, so a writer holding the write lock counts
 * slots conservatively (bytes queued rounded up to pages, plus one partly filled page per
 * frame in flight, from shared frame counters) and waits against its deadline until the
 * whole frame fits. The pipe is sized at create time (F_SETPIPE_SZ) to hold several
 * frames. A write that still comes back short (the estimate is conservative, so only
 * after a crash skewed the counters) is finished regardless of the deadline, with
 * `w_inflight` set so a writer killed mid-frame is detected.
 *
 * Why a dead participant is survivable: both locks are robust. A writer or reader that
 * dies outside a frame (the common case: while waiting) leaves the stream aligned and the
 * next one continues. One that dies mid-frame (`w_inflight`/`r_inflight` still set)
 * leaves the stream misaligned: the survivor marks the direction broken and every call
 * returns -ENOTRECOVERABLE rather than delivering garbage. A reader waiting for the rest
 * of a frame checks in short slices whether its writer died (trylock on the robust write
 * lock returns EOWNERDEAD) instead of waiting forever. The magic check catches any other
 * misalignment.
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
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PIPE_MAGIC 0x6970636du /* "ipcm" */
#define PIPE_HDR 8u
#define PIPE_PAGE 4096u  /* one pipe buffer slot; PIPE_BUF on Linux */
#define PIPE_SLICE_MS 50 /* how often a reader stuck mid-frame checks its writer */
#define PIPE_DRAIN_NS (20 * IPCM_NS_PER_US) /* a writer's pause while readers drain */
#define PIPE_MIN_SIZE (256u * 1024)         /* bytes; 64 pages of the user's pipe-user-pages-soft */

struct pipe_hdr {
    uint32_t len;
    uint32_t magic;
};

/* Shared by every process using one direction. */
struct pipe_dirstate {
    pthread_mutex_t wlock;
    pthread_mutex_t rlock;
    uint32_t pipe_size; /* bytes the pipe holds, from F_GETPIPE_SZ */
    int w_inflight;     /* a writer is in a multi-slot frame (wlock held) */
    int r_inflight;     /* a reader is between header and payload (rlock held) */
    atomic_int broken;  /* a participant died mid-frame */
    /* Whole frames written and read: their difference bounds how many partly filled
     * pages the pipe holds. Updated under the respective lock. */
    atomic_ullong frames_written, frames_read;
};

struct pipe_link {
    int fds[2][2]; /* [direction][0 read, 1 write] */
    unsigned ndirs;
    struct pipe_dirstate *state; /* ndirs entries in one shared mapping */
};

struct pipe_chan {
    int rfd, wfd;
    int rfd_block; /* the same pipe through a blocking open file description */
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
        if (pipe2(pl->fds[d], O_CLOEXEC | O_NONBLOCK | O_DIRECT) < 0) {
            err = -errno;
            goto fail;
        }
        /* Room for several frames and their page slack, so a writer seldom waits for
         * room while the reader drains (a 64 KiB pipe holds only five 4 KiB frames by
         * the slot count), within pipe-max-size. */
        size_t want = 4 * (frame + 2 * PIPE_PAGE);
        if (want < PIPE_MIN_SIZE)
            want = PIPE_MIN_SIZE;
        unsigned long max_size = 0;
        if (ipcm_read_sysctl("/proc/sys/fs/pipe-max-size", &max_size) == 0 && want > max_size)
            want = max_size;
        int size = fcntl(pl->fds[d][1], F_GETPIPE_SZ);
        if (size >= 0 && (size_t)size < want)
            size = fcntl(pl->fds[d][1], F_SETPIPE_SZ, (int)want);
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
    int rdir, wdir;

    ipcm_role_dirs(c->role, &wdir, &rdir);
    pc->rfd = pc->wfd = pc->rfd_block = -1;
    if (rdir >= 0) {
        pc->rfd = pl->fds[rdir][0];
        pl->fds[rdir][0] = -1;
        pc->rstate = &pl->state[rdir];
        /* O_NONBLOCK lives on the shared open file description; reopening the pipe
         * through /proc gives this end a private, blocking one, so a receive that
         * waits forever is one read(2) instead of read, poll and read again. Opened
         * non-blocking (a FIFO open would wait for a writer), then switched. */
        char path[40];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", pc->rfd);
        pc->rfd_block = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (pc->rfd_block >= 0 && fcntl(pc->rfd_block, F_SETFL, 0) < 0)
            ipcm_close_fd(&pc->rfd_block);
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

/* Pipe slots a frame of need bytes may take, and slots possibly in use now. */
static size_t pipe_slots_for(size_t bytes)
{
    return (bytes + PIPE_PAGE - 1) / PIPE_PAGE;
}

/* Wait until the pipe surely has slots for a frame of need bytes (> PIPE_BUF). */
static int pipe_wait_room(int fd, const struct pipe_dirstate *st, size_t need,
                          const struct ipcm_deadline *d)
{
    size_t slots = st->pipe_size / PIPE_PAGE;
    for (;;) {
        int queued = 0;
        if (ioctl(fd, FIONREAD, &queued) < 0)
            return -errno;
        unsigned long long frames =
            atomic_load(&st->frames_written) - atomic_load(&st->frames_read);
        /* Every frame may leave one partly filled page, and the reader one more. */
        size_t used = pipe_slots_for((size_t)queued) + (size_t)frames + 1;
        if (queued == 0 || used + pipe_slots_for(need) + 1 <= slots)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int r = ipcm_wait_fds(&p, 1, d);
        if (r < 0)
            return r;
        if (p.revents & (POLLERR | POLLHUP))
            return -EPIPE;
        if (ipcm_deadline_left_ms(d) == 0)
            return ipcm_deadline_err(d);
        /* POLLOUT means one slot is free, not that the frame fits: let readers drain. */
        ipcm_sleep_ns(PIPE_DRAIN_NS);
    }
}

static ssize_t pipe_write_frame(struct pipe_chan *pc, const void *buf, size_t len,
                                const struct ipcm_deadline *d)
{
    struct pipe_hdr h = {.len = (uint32_t)len, .magic = PIPE_MAGIC};
    struct iovec iov[2] = {{&h, PIPE_HDR}, {(void *)buf, len}};
    size_t total = PIPE_HDR + len, done = 0;
    sigset_t pipe_set, old;

    bool multi = total > PIPE_PAGE;
    int r = multi ? pipe_wait_room(pc->wfd, pc->wstate, total, d) : 0;
    if (r < 0)
        return r;
    if (multi)
        pc->wstate->w_inflight = 1;
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
    if (done == total) {
        pc->wstate->w_inflight = 0;
        atomic_fetch_add(&pc->wstate->frames_written, 1);
        return (ssize_t)len;
    }
    pc->wstate->w_inflight = 0;
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
        /* A writer died holding the lock: the stream is aligned unless it died inside
         * a multi-slot frame. */
        ipcm_robust_consistent(&st->wlock);
        if (st->w_inflight) {
            ipcm_robust_unlock(&st->wlock);
            return pipe_mark_broken(st);
        }
    } else if (r < 0) {
        return r;
    }
    ssize_t n = pipe_write_frame(pc, buf, len, &d);
    ipcm_robust_unlock(&st->wlock);
    return n;
}

/* Has the writer of the frame being read died? A live writer holds the robust write
 * lock while it finishes a frame; a dead one leaves it EOWNERDEAD. */
static bool pipe_writer_died(struct pipe_dirstate *st)
{
    int r = pthread_mutex_trylock(&st->wlock);
    if (r == EBUSY)
        return false;
    if (r == EOWNERDEAD)
        ipcm_robust_consistent(&st->wlock);
    if (r == 0 || r == EOWNERDEAD)
        ipcm_robust_unlock(&st->wlock);
    /* Unlocked with a frame half-read, or owner dead: the rest never comes. */
    return true;
}

/* Read exactly len bytes of a frame whose start has been read. A whole frame is in the
 * pipe at once unless its writer is still finishing it or died doing so. */
static int pipe_read_exact(int fd, struct pipe_dirstate *st, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0) {
            return -EPIPE;
        } else if (errno == EAGAIN) {
            struct ipcm_deadline slice;
            ipcm_deadline_init(&slice, PIPE_SLICE_MS);
            int r = ipcm_wait_readable(fd, &slice);
            if (r == -ETIMEDOUT && (atomic_load(&st->broken) || pipe_writer_died(st)))
                return -ENOTRECOVERABLE;
            if (r < 0 && r != -ETIMEDOUT)
                return r;
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
    /* Waiting forever between frames: let the kernel block (EOF still returns 0). */
    int hfd = d->timeout_ms < 0 && pc->rfd_block >= 0 ? pc->rfd_block : pc->rfd;

    for (;;) {
        /* Packet mode: one read returns at most one packet, so the header and the
         * payload (all of it up to PIPE_BUF) come in one call. */
        struct iovec iov[2] = {{&h, PIPE_HDR}, {buf, cap}};
        ssize_t n = readv(hfd, iov, 2);
        if (n == 0)
            return -EPIPE; /* every write end is closed: end of stream */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return -errno;
        if (n > 0) {
            st->r_inflight = 1;
            /* A packet never spans two frames and always holds the whole header. */
            size_t got = (size_t)n - PIPE_HDR;
            if ((size_t)n < PIPE_HDR || h.magic != PIPE_MAGIC || h.len > cap || got > h.len)
                return pipe_mark_broken(st);
            /* The rest of a frame above PIPE_BUF: one packet per read, each at most
             * what is left, so none is cut short. */
            if (got < h.len && pipe_read_exact(pc->rfd, st, (char *)buf + got, h.len - got) < 0)
                return pipe_mark_broken(st);
            st->r_inflight = 0;
            atomic_fetch_add(&st->frames_read, 1);
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
    ipcm_close_fd(&pc->rfd_block);
    ipcm_close_fd(&pc->wfd);
    ipcm_shared_free(pc->mapping, pc->ndirs * sizeof(*pc->mapping));
    pc->mapping = NULL;
}

static ssize_t pipe_qsize(const struct ipcm_chan *c)
{
    const struct pipe_chan *pc = c->priv;
    const struct pipe_dirstate *st = pc->rfd >= 0 ? pc->rstate : pc->wstate;
    /* Both counters move under their locks after the frame moved, so a reader can be
     * counted before its writer: clamp the transient difference at 0. */
    unsigned long long w = atomic_load(&st->frames_written), r = atomic_load(&st->frames_read);
    return w > r ? (ssize_t)(w - r) : 0;
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
    .caps = IPCM_CAP_POLLFD | IPCM_CAP_STREAM | IPCM_CAP_QSIZE,
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
    .qsize = pipe_qsize,
};
