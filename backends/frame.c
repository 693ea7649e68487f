/* SPDX-License-Identifier: MIT */
/*
 * frame.c - length-framed messages on a byte stream (pipe, FIFO, AF_UNIX or TCP stream
 * socket): the one implementation of the framing discipline the stream backends share.
 *
 * Framing: an 8-byte header (length, magic) then the payload, written with one write (a
 * pipe frame that fits one packet, copied into one buffer), writev or sendmsg. A byte
 * stream keeps no boundaries and interleaves concurrent writers, so every direction has
 * two process-shared robust mutexes in a small shared mapping: one serialises writers,
 * one readers.
 *
 * Frame or nothing: a frame up to the direction's atomic_max is one write the kernel
 * makes all-or-nothing (a pipe write of at most PIPE_BUF; an AF_UNIX stream send that
 * fits one socket buffer, below half of SO_SNDBUF and 32 KiB). A larger frame, and every
 * TCP frame (TCP may append to a queued segment and stop halfway), is written only once
 * the kernel surely has room for all of it; the writer waits for that room against its
 * deadline (pipes: page slots counted conservatively; sockets: the bytes and frames in
 * flight from the shared counters, then SO_MEMINFO). A write that still comes back
 * short is finished regardless of the deadline with w_inflight set, so a writer killed
 * mid-frame is detected. Limits keep every frame within the kernel buffer.
 *
 * Reading: pipes run in packet mode (O_DIRECT), so one read returns the header and up
 * to 4088 payload bytes and never crosses into the next frame; the rest comes one packet
 * per read, each asking exactly for what is left (a shorter read would discard the rest
 * of a packet). A stream socket read may cross frames, so the header is read first, then
 * exactly the payload: two reads per message.
 *
 * Deadlines hold mid-frame (issue 12 item 10): a reader that has part of a frame and
 * runs out of time parks what it has read in the direction's shared staging area and
 * returns -ETIMEDOUT (-EAGAIN for a try-once call); the next reader, in any process,
 * resumes the frame from there. So a stopped writer delays readers but never makes a
 * recv overrun its deadline nor misaligns the stream.
 *
 * Death: both locks are robust. A participant that dies outside a frame leaves the
 * stream aligned. One that dies mid-frame (w_inflight/r_inflight still set) leaves it
 * misaligned: the survivor marks the direction broken and every call returns
 * -ENOTRECOVERABLE. A reader waiting for the rest of a frame checks in short slices
 * whether its writer died (trylock on the write lock returns EOWNERDEAD with w_inflight
 * set). End-of-stream is the stream's own EOF. A pipe's writing thread keeps SIGPIPE
 * blocked from its first send until the end closes (ipcm_sigpipe_hold, internal.h: no
 * mask pair per write); sockets send with MSG_NOSIGNAL: a vanished reader gives -EPIPE,
 * never a signal.
 */
#include "frame.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAGIC 0x6970636du /* "ipcm" */
#define FRAME_SLICE_MS 50       /* how often a reader stuck mid-frame checks its writer */
#define FRAME_DRAIN_NS (20 * IPCM_NS_PER_US) /* a writer's pause while readers drain */
#define PIPE_PAGE 4096u                      /* one pipe buffer slot; PIPE_BUF on Linux */
#define PIPE_MIN_SIZE (256u * 1024) /* bytes; 64 pages of the user's pipe-user-pages-soft */
/* A socket buffer (skb) of an AF_UNIX stream send carries at most 32 KiB of page frags
 * plus a small linear part (Linux >= 4.5); each costs the sender's SO_SNDBUF its data,
 * page rounding and about 1 KiB of struct: 6 KiB per 32 KiB is a safe bound. */
#define SOCK_CHUNK 32768u
#define SOCK_SLACK 6144u
#define SOCK_MIN_SIZE (256u * 1024)

struct frame_hdr {
    uint32_t len;
    uint32_t magic;
};

/* ---------------------------------------------------------------- link and ends */

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

int ipcm_frame_link_create(struct ipcm_frame_link *fl, unsigned ndirs, size_t max_msg)
{
    size_t head = round_up(ndirs * sizeof(struct ipcm_frame_dir), 64);
    size_t stage = round_up(IPCM_FRAME_HDR + max_msg, 64);
    int err;

    fl->ndirs = ndirs;
    fl->map_len = head + ndirs * stage;
    /* Staging pages are touched only when a reader parks, so they cost nothing else. A
     * memfd rather than an anonymous mapping: an exec'd program can map it again. */
    fl->dirs = NULL;
    fl->memfd = memfd_create("ipcmark-frame", MFD_CLOEXEC);
    if (fl->memfd < 0)
        return -errno;
    if (ftruncate(fl->memfd, (off_t)fl->map_len) < 0) {
        err = -errno;
        ipcm_frame_link_destroy(fl);
        return err;
    }
    void *m = mmap(NULL, fl->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fl->memfd, 0);
    if (m == MAP_FAILED) {
        err = -errno;
        ipcm_frame_link_destroy(fl);
        return err;
    }
    fl->dirs = m;
    for (unsigned d = 0; d < ndirs; d++) {
        struct ipcm_frame_dir *st = &fl->dirs[d];
        st->stage_off = head + d * stage;
        st->max_msg = max_msg;
        if ((err = ipcm_robust_init(&st->wlock)) < 0 || (err = ipcm_robust_init(&st->rlock)) < 0) {
            ipcm_frame_link_destroy(fl);
            return err;
        }
    }
    return 0;
}

void ipcm_frame_link_destroy(struct ipcm_frame_link *fl)
{
    ipcm_shared_free(fl->dirs, fl->map_len);
    fl->dirs = NULL;
    if (fl->map_len) /* a link whose create never ran holds no memfd */
        ipcm_close_fd(&fl->memfd);
}

int ipcm_frame_link_attach(struct ipcm_frame_link *fl, unsigned ndirs, int memfd)
{
    struct stat st;
    fl->ndirs = ndirs;
    fl->memfd = memfd;
    fl->dirs = NULL;
    if (fstat(memfd, &st) < 0)
        return -errno;
    fl->map_len = (size_t)st.st_size;
    if (fl->map_len < ndirs * sizeof(struct ipcm_frame_dir))
        return -EINVAL;
    void *m = mmap(NULL, fl->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (m == MAP_FAILED)
        return -errno;
    fl->dirs = m;
    return 0;
}

int ipcm_frame_handover_export(const struct ipcm_frame_link *fl, const int *fdv, size_t n,
                               char *buf, size_t len, int *fds, size_t *nfds)
{
    int v[IPCM_HANDOVER_MAX];
    if (n + 1 > IPCM_HANDOVER_MAX)
        return -EINVAL;
    memcpy(v, fdv, n * sizeof(*v));
    v[n] = fl->memfd;
    return ipcm_handover_export(v, n + 1, buf, len, fds, nfds);
}

int ipcm_frame_handover_attach(struct ipcm_frame_link *fl, enum ipcm_shape shape,
                               const char *payload, int *fdv, size_t n)
{
    int v[IPCM_HANDOVER_MAX];
    if (n + 1 > IPCM_HANDOVER_MAX)
        return -EINVAL;
    int r = ipcm_handover_import(payload, v, n + 1);
    if (r == 0 && v[n] < 0)
        r = -EINVAL; /* the framing state cannot be rebuilt without its memfd */
    if (r < 0)
        return r;
    memcpy(fdv, v, n * sizeof(*v));
    return ipcm_frame_link_attach(fl, shape == IPCM_SHAPE_PIPE ? 2u : 1u, v[n]);
}

void ipcm_frame_open(struct ipcm_frame_chan *fc, struct ipcm_frame_link *fl,
                     enum ipcm_frame_kind kind, int rdir, int rfd, int wdir, int wfd)
{
    fc->kind = kind;
    fc->rfd = rfd;
    fc->wfd = wfd;
    fc->rfd_block = fc->peer_gone = -1;
    fc->sigpipe = (struct ipcm_sigpipe_hold){NULL, 0};
    fc->rst = rdir >= 0 ? &fl->dirs[rdir] : NULL;
    fc->wst = wdir >= 0 ? &fl->dirs[wdir] : NULL;
    /* The mapping belongs to the end from now on; the link's destroy leaves it. */
    fc->mapping = fl->dirs;
    fc->map_len = fl->map_len;
    fl->dirs = NULL;
    if (kind == IPCM_FRAME_PIPE && rfd >= 0) {
        /* O_NONBLOCK lives on the shared open file description; reopening the pipe
         * through /proc gives this end a private, blocking one, so a receive that
         * waits forever is one read(2) instead of read, poll and read again. Opened
         * non-blocking (a FIFO open would wait for a writer), then switched. */
        char path[40];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", rfd);
        fc->rfd_block = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fc->rfd_block >= 0 && fcntl(fc->rfd_block, F_SETFL, 0) < 0)
            ipcm_close_fd(&fc->rfd_block);
    }
}

/* ---------------------------------------------------------------- sizing */

int ipcm_frame_pipe_limits(struct ipcm_limits *out)
{
    unsigned long max_size;
    int r = ipcm_read_sysctl("/proc/sys/fs/pipe-max-size", &max_size);
    if (r < 0)
        return r;
    memset(out, 0, sizeof(*out));
    /* A frame must fit in the pipe; pipe-max-size bounds what an unprivileged process
     * may ask for with F_SETPIPE_SZ. */
    out->max_msg = max_size - IPCM_FRAME_HDR;
    out->default_msg = 65536 - IPCM_FRAME_HDR;
    if (out->default_msg > out->max_msg)
        out->default_msg = out->max_msg;
    out->max_depth = 0;
    out->default_depth = 16;
    out->buffer_bytes = max_size;
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "fs.pipe-max-size = %lu, minus an %u B frame header", max_size, IPCM_FRAME_HDR);
    return 0;
}

int ipcm_frame_pipe_size(int wfd, struct ipcm_frame_dir *st, size_t max_msg)
{
    /* Room for several frames and their page slack, so a writer seldom waits for room
     * while the reader drains (a 64 KiB pipe holds only five 4 KiB frames by the slot
     * count), within pipe-max-size. */
    size_t want = 4 * (max_msg + IPCM_FRAME_HDR + 2 * PIPE_PAGE);
    if (want < PIPE_MIN_SIZE)
        want = PIPE_MIN_SIZE;
    unsigned long max_size = 0;
    if (ipcm_read_sysctl("/proc/sys/fs/pipe-max-size", &max_size) == 0 && want > max_size)
        want = max_size;
    int size = fcntl(wfd, F_GETPIPE_SZ);
    if (size >= 0 && (size_t)size < want)
        size = fcntl(wfd, F_SETPIPE_SZ, (int)want);
    if (size < 0)
        return -errno; /* EPERM: fs.pipe-user-pages-soft is exhausted */
    st->buf_bytes = (uint32_t)size;
    st->atomic_max = PIPE_PAGE;
    return 0;
}

size_t ipcm_frame_sock_need(size_t total)
{
    return total + (total / SOCK_CHUNK + 1) * SOCK_SLACK;
}

size_t ipcm_frame_sock_max_msg(size_t sndbuf)
{
    if (sndbuf < ipcm_frame_sock_need(IPCM_FRAME_HDR))
        return 0;
    size_t t = (sndbuf - SOCK_SLACK) / (SOCK_CHUNK + SOCK_SLACK) * SOCK_CHUNK;
    t += (sndbuf - SOCK_SLACK) % (SOCK_CHUNK + SOCK_SLACK);
    while (t > IPCM_FRAME_HDR && ipcm_frame_sock_need(t) > sndbuf)
        t--;
    return t - IPCM_FRAME_HDR;
}

static int sndbuf_get(int fd, int *out)
{
    socklen_t len = sizeof(*out);
    return getsockopt(fd, SOL_SOCKET, SO_SNDBUF, out, &len) < 0 ? -errno : 0;
}

int ipcm_frame_sock_size(int fd, struct ipcm_frame_dir *st, size_t max_msg, bool one_buffer)
{
    size_t need = ipcm_frame_sock_need(max_msg + IPCM_FRAME_HDR);
    size_t want = 4 * need < SOCK_MIN_SIZE ? SOCK_MIN_SIZE : 4 * need;
    unsigned long wmem_max = 0;
    int cur, r;

    if (ipcm_read_sysctl("/proc/sys/net/core/wmem_max", &wmem_max) == 0 && want > 2 * wmem_max)
        want = 2 * wmem_max;
    /* Set even where the default is larger: TCP would autotune it up to tcp_wmem[2],
     * and a direction's capacity should follow the link, not the traffic. The kernel
     * doubles the value and caps it at wmem_max. */
    int val = (int)(want / 2);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &val, sizeof(val)) < 0)
        return -errno;
    if ((r = sndbuf_get(fd, &cur)) < 0)
        return r;
    if ((size_t)cur < need)
        return -EMSGSIZE; /* net.core.wmem_max shrank since the limits were read */
    st->buf_bytes = (uint32_t)cur;
    /* unix_stream_sendmsg cuts a send at half the buffer less 64 B and at 32 KiB of
     * frags: up to there one send is one buffer, queued whole or not at all. */
    size_t one = (size_t)cur / 2 - 64;
    st->atomic_max = one_buffer ? (uint32_t)(one < SOCK_CHUNK ? one : SOCK_CHUNK) : 0;
    st->own_window = !one_buffer;
    return 0;
}

/* ---------------------------------------------------------------- shared helpers */

static int frame_mark_broken(struct ipcm_frame_dir *st)
{
    atomic_store(&st->broken, 1);
    return -ENOTRECOVERABLE;
}

/* Did the writer of the frame being read die inside it? A live writer holds the robust
 * write lock until its frame is whole; a dead one leaves it EOWNERDEAD with w_inflight
 * set. A free lock means the frame was handed to the kernel whole: the rest will come. */
static bool frame_torn(struct ipcm_frame_dir *st)
{
    if (atomic_load(&st->broken))
        return true;
    int r = pthread_mutex_trylock(&st->wlock);
    if (r == EBUSY)
        return false;
    if (r == ENOTRECOVERABLE) {
        frame_mark_broken(st);
        return true;
    }
    bool torn = false;
    if (r == EOWNERDEAD) {
        ipcm_robust_consistent(&st->wlock);
        if (st->w_inflight)
            torn = frame_mark_broken(st) < 0;
    }
    ipcm_robust_unlock(&st->wlock);
    return torn;
}

/* Wait for the end to be writable or the peer gone, within d. */
static int frame_wait_out(struct ipcm_frame_chan *fc, const struct ipcm_deadline *d)
{
    struct pollfd p[2] = {{.fd = fc->wfd, .events = POLLOUT}, {.fd = fc->peer_gone, .events = 0}};
    int r = ipcm_wait_fds(p, fc->peer_gone >= 0 ? 2 : 1, d);
    if (r < 0)
        return r;
    if ((p[0].revents & (POLLERR | POLLHUP)) || (p[1].revents & (POLLERR | POLLHUP)))
        return -EPIPE;
    return 0;
}

/* ---------------------------------------------------------------- writing */

/* Pipe slots a frame of bytes may take. */
static size_t pipe_slots_for(size_t bytes)
{
    return (bytes + PIPE_PAGE - 1) / PIPE_PAGE;
}

/* Wait until the pipe surely has slots for a frame of need bytes (> PIPE_BUF): the
 * kernel fills page-sized slots, not bytes, so count queued bytes rounded up to pages
 * plus one partly filled page per frame in flight, and one for the reader. */
static int frame_pipe_room(struct ipcm_frame_chan *fc, const struct ipcm_frame_dir *st, size_t need,
                           const struct ipcm_deadline *d)
{
    size_t slots = st->buf_bytes / PIPE_PAGE;
    for (;;) {
        int queued = 0;
        if (ioctl(fc->wfd, FIONREAD, &queued) < 0)
            return -errno;
        unsigned long long frames =
            atomic_load(&st->frames_written) - atomic_load(&st->frames_read);
        size_t used = pipe_slots_for((size_t)queued) + (size_t)frames + 1;
        if (queued == 0 || used + pipe_slots_for(need) + 1 <= slots)
            return 0;
        int r = frame_wait_out(fc, d);
        if (r < 0)
            return r;
        if (atomic_load(&st->broken))
            return -ENOTRECOVERABLE;
        if (ipcm_deadline_left_ms(d) == 0)
            return ipcm_deadline_err(d);
        /* POLLOUT means one slot is free, not that the frame fits: let readers drain. */
        ipcm_sleep_ns(FRAME_DRAIN_NS);
    }
}

/* Wait until the socket's send buffer surely takes a frame of total bytes. The shared
 * counters bound what the kernel holds without a syscall (every unread frame is at
 * most its bytes plus SOCK_SLACK per chunk); only when they cannot prove room is the
 * kernel asked (SO_MEMINFO: the buffer charged and SO_SNDBUF). */
static int frame_sock_room(struct ipcm_frame_chan *fc, const struct ipcm_frame_dir *st,
                           size_t total, const struct ipcm_deadline *d)
{
    size_t need = ipcm_frame_sock_need(total);
    for (;;) {
        unsigned long long frames =
            atomic_load(&st->frames_written) - atomic_load(&st->frames_read);
        unsigned long long bytes = atomic_load(&st->bytes_written) - atomic_load(&st->bytes_read);
        if (bytes + frames * 2 * SOCK_SLACK + need <= st->buf_bytes)
            return 0;
        uint32_t mem[SK_MEMINFO_VARS] = {0};
        socklen_t len = sizeof(mem);
        if (getsockopt(fc->wfd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
            return -errno;
        uint32_t used = mem[SK_MEMINFO_WMEM_ALLOC] > mem[SK_MEMINFO_WMEM_QUEUED]
                            ? mem[SK_MEMINFO_WMEM_ALLOC]
                            : mem[SK_MEMINFO_WMEM_QUEUED];
        if ((size_t)used + need <= mem[SK_MEMINFO_SNDBUF])
            return 0;
        int r = frame_wait_out(fc, d);
        if (r < 0)
            return r;
        if (atomic_load(&st->broken))
            return -ENOTRECOVERABLE;
        if (ipcm_deadline_left_ms(d) == 0)
            return ipcm_deadline_err(d);
        ipcm_sleep_ns(FRAME_DRAIN_NS);
    }
}

/* The shared futex words live in a MAP_SHARED mapping: no FUTEX_PRIVATE_FLAG. */
static void frame_futex_wait(atomic_uint *word, unsigned val, int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void frame_futex_wake(atomic_uint *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static bool frame_window_fits(const struct ipcm_frame_dir *st, size_t need)
{
    unsigned long long unread = atomic_load(&st->bytes_written) - atomic_load(&st->bytes_read);
    /* An empty direction takes any frame: the send buffer was sized to hold one. */
    return unread == 0 || unread + need <= (unsigned long long)st->buf_bytes * 3 / 4;
}

/*
 * TCP's own flow control holds data in two buffers (ours and the peer's) and reopens
 * the window only after a whole segment (64 KiB on loopback) has been read, so a
 * writer that waited for the kernel could wait seconds after a reader freed room, and
 * the kernel says nothing of half-written frames. So a TCP direction is bounded by the
 * framing itself: at most 3/4 of SO_SNDBUF of unread frames (every byte of which the
 * send buffer alone could hold), and a writer waits on a futex the reader bumps.
 */
static int frame_window_room(struct ipcm_frame_chan *fc, struct ipcm_frame_dir *st, size_t total,
                             const struct ipcm_deadline *d)
{
    size_t need = ipcm_frame_sock_need(total);
    for (;;) {
        unsigned seq = atomic_load(&st->rseq);
        if (frame_window_fits(st, need))
            return 0;
        int left = ipcm_deadline_left_ms(d);
        if (left == 0)
            return ipcm_deadline_err(d);
        /* Announce the wait, then look again: the reader adds to bytes_read before it
         * reads wwait, so one of the two sees the other (both seq_cst). */
        atomic_store(&st->wwait, 1);
        if (!frame_window_fits(st, need))
            frame_futex_wait(&st->rseq, seq,
                             left < 0 || left > FRAME_SLICE_MS ? FRAME_SLICE_MS : left);
        atomic_store(&st->wwait, 0);
        /* In slices: a reader that died wakes nobody, but its life token is gone; one
         * that found a torn frame marked the direction broken and reads no more. */
        if (fc->peer_gone >= 0 && ipcm_life_hup(fc->peer_gone))
            return -EPIPE;
        if (atomic_load(&st->broken))
            return -ENOTRECOVERABLE;
    }
}

#ifdef IPCM_TESTING
#include "testing.h"

/*
 * The I/O-shrinking hook (testing.h): with it armed, every read and write below moves at
 * most rmax / wmax bytes (exactly, or 1..max at random from the seed), so the partial
 * write and read paths run on every message. Per process, inherited over fork; a counter
 * (not a shared state) feeds the random sizes, so threads may use it too.
 */
static struct {
    _Atomic unsigned rmax, wmax;
    uint64_t seed;
    atomic_ullong calls;
} short_io;

int ipcm_frame_test_short_io(unsigned rmax, unsigned wmax, uint64_t seed)
{
    /* Below the header: a pipe's first read then never crosses into the next frame, which
     * packet mode (cleared while armed: a short read would discard a packet's rest) no
     * longer prevents. */
    if ((rmax == 0) != (wmax == 0) || rmax >= IPCM_FRAME_HDR || wmax >= IPCM_FRAME_HDR)
        return -EINVAL;
    atomic_store(&short_io.rmax, 0);
    atomic_store(&short_io.wmax, 0);
    unsigned long long done = atomic_exchange(&short_io.calls, 0);
    short_io.seed = seed;
    atomic_store(&short_io.rmax, rmax);
    atomic_store(&short_io.wmax, wmax);
    return done > INT_MAX ? INT_MAX : (int)done;
}

/* The bytes this call may move: max, or 1..max from the seed (splitmix64). */
static size_t short_io_len(unsigned max)
{
    unsigned long long k = atomic_fetch_add(&short_io.calls, 1);
    if (!short_io.seed)
        return max;
    uint64_t z = short_io.seed + 0x9e3779b97f4a7c15ull * (k + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return 1 + (size_t)((z ^ (z >> 31)) % max);
}

/* Copy the first n entries of iov into out, cut to at most len bytes in all. */
static void short_iov(const struct iovec *iov, int n, struct iovec *out, size_t len)
{
    for (int i = 0; i < n; i++) {
        out[i] = iov[i];
        if (out[i].iov_len > len)
            out[i].iov_len = len;
        len -= out[i].iov_len;
    }
}

/* Leave packet mode on a pipe's write end: 1-byte reads must not discard packets. */
static void short_io_unpacket(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_DIRECT))
        fcntl(fd, F_SETFL, fl & ~O_DIRECT);
}
#endif /* IPCM_TESTING */

/*
 * Pipe I/O of one packet through a contiguous copy. readv/writev cost a pipe round trip
 * about 10% over read/write on one CPU (the kernel imports the iovec array and walks an
 * ITER_IOVEC where read/write take a single user buffer), while copying a packet's
 * header and at most 4088 payload bytes costs well under that. Larger frames keep the
 * vectored call: their payload is written and read in place.
 */
static ssize_t pipe_writev(int fd, const struct iovec *iov)
{
    size_t total = iov[0].iov_len + iov[1].iov_len;
    if (total > PIPE_PAGE)
        return writev(fd, iov, 2);
    char packet[PIPE_PAGE];
    memcpy(packet, iov[0].iov_base, iov[0].iov_len);
    if (iov[1].iov_len)
        memcpy(packet + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
    return write(fd, packet, total);
}

/* The same for reads: a packet is at most PIPE_PAGE bytes, and asking for the lesser of
 * that and what iov holds is exactly what readv would ask for (asking for less would
 * discard the rest of the packet). */
static ssize_t pipe_readv(int fd, const struct iovec *iov, int n)
{
    if (n == 1)
        return read(fd, iov[0].iov_base, iov[0].iov_len);
    size_t want = iov[0].iov_len + iov[1].iov_len;
    char packet[PIPE_PAGE];
    ssize_t got = read(fd, packet, want < PIPE_PAGE ? want : PIPE_PAGE);
    if (got <= 0)
        return got;
    size_t first = (size_t)got < iov[0].iov_len ? (size_t)got : iov[0].iov_len;
    memcpy(iov[0].iov_base, packet, first);
    if ((size_t)got > first)
        memcpy(iov[1].iov_base, packet + first, (size_t)got - first);
    return got;
}

static ssize_t frame_io_write(struct ipcm_frame_chan *fc, struct iovec *iov, bool block)
{
#ifdef IPCM_TESTING
    struct iovec cut[2];
    unsigned wmax = atomic_load(&short_io.wmax);
    if (wmax) {
        short_iov(iov, 2, cut, short_io_len(wmax));
        iov = cut;
        if (fc->kind == IPCM_FRAME_PIPE)
            short_io_unpacket(fc->wfd);
    }
#endif
    if (fc->kind == IPCM_FRAME_PIPE) {
        ssize_t n = pipe_writev(fc->wfd, iov);
        if (n < 0 && errno == EPIPE)
            ipcm_sigpipe_consume(); /* the SIGPIPE this write raised, blocked */
        return n;
    }
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    /* MSG_NOSIGNAL: a vanished reader is -EPIPE, not a SIGPIPE death (RULINGS 14). */
    return sendmsg(fc->wfd, &mh, MSG_NOSIGNAL | (block ? 0 : MSG_DONTWAIT));
}

static void iov_advance(struct iovec *iov, size_t n)
{
    for (int i = 0; i < 2; i++) {
        size_t k = n < iov[i].iov_len ? n : iov[i].iov_len;
        iov[i].iov_base = (char *)iov[i].iov_base + k;
        iov[i].iov_len -= k;
        n -= k;
    }
}

/* Write the frame's bytes; returns 0 once all of them are written, or -errno with
 * *done telling how many went. */
static int frame_write_all(struct ipcm_frame_chan *fc, struct iovec *iov, size_t total,
                           size_t *done, bool block, const struct ipcm_deadline *d)
{
    while (*done < total) {
        ssize_t n = frame_io_write(fc, iov, block);
        if (n > 0) {
            *done += (size_t)n;
            iov_advance(iov, (size_t)n);
            if (*done < total)
                fc->wst->w_inflight = 1; /* a rare partial write: now mid-frame */
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
            return -EPIPE;
        if (errno != EAGAIN)
            return -errno;
        /* Mid-frame the frame must be finished, so no deadline applies there. */
        struct ipcm_deadline forever;
        ipcm_deadline_init(&forever, -1);
        int r = frame_wait_out(fc, *done == 0 ? d : &forever);
        if (r < 0)
            return r;
    }
    return 0;
}

static ssize_t frame_write(struct ipcm_frame_chan *fc, const void *buf, size_t len,
                           const struct ipcm_deadline *d)
{
    struct ipcm_frame_dir *st = fc->wst;
    struct frame_hdr h = {.len = (uint32_t)len, .magic = FRAME_MAGIC};
    struct iovec iov[2] = {{&h, IPCM_FRAME_HDR}, {(void *)buf, len}};
    size_t total = IPCM_FRAME_HDR + len, done = 0;
    bool atomic = total <= st->atomic_max, pipe = fc->kind == IPCM_FRAME_PIPE;
    int r;

    if (!atomic) {
        r = pipe             ? frame_pipe_room(fc, st, total, d)
            : st->own_window ? frame_window_room(fc, st, total, d)
                             : frame_sock_room(fc, st, total, d);
        if (r < 0)
            return r;
        st->w_inflight = 1;
    }
    /* A vanished reader must give -EPIPE: SIGPIPE stays blocked in this thread while
     * the end is open (a system call at the first send only). */
    if (pipe)
        ipcm_sigpipe_hold(&fc->sigpipe);
    /* A socket frame sent in one buffer may use the kernel's own blocking send when
     * waiting forever: one syscall. */
    r = frame_write_all(fc, iov, total, &done, atomic && !pipe && d->timeout_ms < 0, d);
    st->w_inflight = 0;
    if (done == total) {
        atomic_fetch_add(&st->bytes_written, total);
        atomic_fetch_add(&st->frames_written, 1);
        return (ssize_t)len;
    }
    if (done > 0)
        return frame_mark_broken(st);
    return r < 0 ? r : -EIO;
}

/*
 * Take one side's lock (writers' or readers'). A holder that died holding it left the
 * stream aligned unless it died inside a frame (*inflight): a writer inside a frame that
 * was not one atomic write, a reader holding part of the head frame. Returns 0, or
 * -ENOTRECOVERABLE (the direction is now broken), or the lock's deadline error.
 */
static int frame_side_lock(struct ipcm_frame_dir *st, pthread_mutex_t *m, const int *inflight,
                           const struct ipcm_deadline *d)
{
    int r = ipcm_robust_lock(m, d);
    if (r == -EOWNERDEAD) {
        ipcm_robust_consistent(m);
        if (*inflight) {
            ipcm_robust_unlock(m);
            return frame_mark_broken(st);
        }
        return 0;
    }
    return r;
}

ssize_t ipcm_frame_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    struct ipcm_frame_chan *fc = c->priv;
    struct ipcm_frame_dir *st = fc->wst;
    struct ipcm_deadline d;

    if (fc->wfd < 0)
        return -EBADF;
    if (atomic_load(&st->broken))
        return -ENOTRECOVERABLE;
    /* TCP accepts a first send to a peer that has closed; the receivers' life pipe
     * says at once that nobody will read it. */
    if (fc->peer_gone >= 0 && ipcm_life_hup(fc->peer_gone))
        return -EPIPE;
    ipcm_deadline_init(&d, timeout_ms);
    int r = frame_side_lock(st, &st->wlock, &st->w_inflight, &d);
    if (r < 0)
        return r;
    ssize_t n = frame_write(fc, buf, len, &d);
    ipcm_robust_unlock(&st->wlock);
    return n;
}

/* ---------------------------------------------------------------- reading */

static ssize_t frame_io_read(struct ipcm_frame_chan *fc, struct iovec *iov, int n, bool block)
{
#ifdef IPCM_TESTING
    struct iovec cut[2];
    unsigned rmax = atomic_load(&short_io.rmax);
    if (rmax) {
        short_iov(iov, n, cut, short_io_len(rmax));
        iov = cut;
    }
#endif
    if (fc->kind == IPCM_FRAME_PIPE)
        return pipe_readv(block && fc->rfd_block >= 0 ? fc->rfd_block : fc->rfd, iov, n);
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t r = recvmsg(fc->rfd, &mh, block ? 0 : MSG_DONTWAIT);
    /* After a peer's reset the data queued before it is read first, then ENOTCONN or
     * 0: either is the end of the stream. */
    if (r < 0 && errno == ENOTCONN)
        r = 0;
    return r;
}

/* The first bytes of the next frame: the whole header and (pipe) what one packet holds
 * of the payload, or (socket) up to the header. Waits within d. Returns the bytes read,
 * -EPIPE at end-of-stream, or -errno. */
static ssize_t frame_read_first(struct ipcm_frame_chan *fc, struct frame_hdr *h, void *buf,
                                size_t cap, const struct ipcm_deadline *d)
{
    bool pipe = fc->kind == IPCM_FRAME_PIPE;
    for (;;) {
        struct iovec iov[2] = {{h, IPCM_FRAME_HDR}, {buf, cap}};
        ssize_t n = frame_io_read(fc, iov, pipe ? 2 : 1, d->timeout_ms < 0);
        if (n > 0)
            return n;
        if (n == 0)
            return -EPIPE; /* every write end is closed: end of stream */
        /* A peer that closed with our data unread makes a socket read fail once with
         * ECONNRESET; what it sent before is still queued. */
        if (errno == EINTR || errno == ECONNRESET)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int r = ipcm_wait_readable(fc->rfd, d);
        if (r < 0)
            return r;
        if (atomic_load(&fc->rst->broken))
            return -ENOTRECOVERABLE;
    }
}

/* Read up to want more bytes of a frame whose start has been read. A whole frame is in
 * the stream at once unless its writer is still finishing it (or stopped, or died doing
 * so): wait in slices within d, checking the writer. Returns the bytes read; -EPIPE (the
 * stream ended mid-frame); -ENOTRECOVERABLE; -ETIMEDOUT/-EAGAIN (d ran out). */
static ssize_t frame_read_more(struct ipcm_frame_chan *fc, char *dst, size_t want,
                               const struct ipcm_deadline *d)
{
    for (;;) {
        struct iovec iov = {dst, want};
        ssize_t n = frame_io_read(fc, &iov, 1, false);
        if (n > 0)
            return n;
        if (n == 0)
            return -EPIPE;
        if (errno == EINTR || errno == ECONNRESET)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int left = ipcm_deadline_left_ms(d);
        if (left == 0)
            return ipcm_deadline_err(d);
        struct ipcm_deadline slice;
        ipcm_deadline_init(&slice, left < 0 || left > FRAME_SLICE_MS ? FRAME_SLICE_MS : left);
        int r = ipcm_wait_readable(fc->rfd, &slice);
        if (r == -ETIMEDOUT && frame_torn(fc->rst))
            return -ENOTRECOVERABLE;
        if (r < 0 && r != -ETIMEDOUT)
            return r;
    }
}

/* Complete the frame of which *got bytes (header first) are in h and buf. Returns 0, or
 * -errno with *got updated (a deadline error leaves the frame resumable). */
static int frame_read_rest(struct ipcm_frame_chan *fc, struct frame_hdr *h, char *buf, size_t cap,
                           size_t *got, const struct ipcm_deadline *d)
{
    struct ipcm_frame_dir *st = fc->rst;
    while (*got < IPCM_FRAME_HDR) {
        ssize_t n = frame_read_more(fc, (char *)h + *got, IPCM_FRAME_HDR - *got, d);
        if (n < 0)
            return (int)n;
        *got += (size_t)n;
    }
    /* A packet never spans two frames; a header that is not ours means misalignment. */
    if (h->magic != FRAME_MAGIC || h->len > cap || h->len > st->max_msg ||
        *got > IPCM_FRAME_HDR + h->len)
        return -EPROTO;
    size_t total = IPCM_FRAME_HDR + h->len;
    while (*got < total) {
        ssize_t n = frame_read_more(fc, buf + (*got - IPCM_FRAME_HDR), total - *got, d);
        if (n < 0)
            return (int)n;
        *got += (size_t)n;
    }
    return 0;
}

/* Park (or take back) the part of the head frame a reader holds: header, then payload. */
static void frame_park(struct ipcm_frame_chan *fc, const struct frame_hdr *h, const char *buf,
                       size_t got)
{
    struct ipcm_frame_dir *st = fc->rst;
    char *stage = (char *)fc->mapping + st->stage_off;
    memcpy(stage, h, got < IPCM_FRAME_HDR ? got : IPCM_FRAME_HDR);
    if (got > IPCM_FRAME_HDR)
        memcpy(stage + IPCM_FRAME_HDR, buf, got - IPCM_FRAME_HDR);
    st->parked = got;
}

static size_t frame_unpark(struct ipcm_frame_chan *fc, struct frame_hdr *h, char *buf)
{
    struct ipcm_frame_dir *st = fc->rst;
    const char *stage = (const char *)fc->mapping + st->stage_off;
    size_t got = st->parked;
    memcpy(h, stage, got < IPCM_FRAME_HDR ? got : IPCM_FRAME_HDR);
    if (got > IPCM_FRAME_HDR)
        memcpy(buf, stage + IPCM_FRAME_HDR, got - IPCM_FRAME_HDR);
    st->parked = 0;
    return got;
}

static ssize_t frame_read(struct ipcm_frame_chan *fc, char *buf, size_t cap,
                          const struct ipcm_deadline *d)
{
    struct ipcm_frame_dir *st = fc->rst;
    struct frame_hdr h = {0, 0};
    size_t got;

    if (st->parked) {
        got = frame_unpark(fc, &h, buf);
    } else {
        ssize_t n = frame_read_first(fc, &h, buf, cap, d);
        if (n < 0)
            return n;
        got = (size_t)n;
    }
    st->r_inflight = 1;
    int r = frame_read_rest(fc, &h, buf, cap, &got, d);
    if (r == -ETIMEDOUT || r == -EAGAIN) {
        frame_park(fc, &h, buf, got);
        st->r_inflight = 0;
        return r;
    }
    if (r < 0)
        return frame_mark_broken(st);
    st->r_inflight = 0;
    atomic_fetch_add(&st->bytes_read, got);
    atomic_fetch_add(&st->frames_read, 1);
    if (atomic_load(&st->wwait)) {
        atomic_fetch_add(&st->rseq, 1);
        frame_futex_wake(&st->rseq);
    }
    return (ssize_t)h.len;
}

ssize_t ipcm_frame_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    struct ipcm_frame_chan *fc = c->priv;
    struct ipcm_frame_dir *st = fc->rst;
    struct ipcm_deadline d;

    if (fc->rfd < 0)
        return -EBADF;
    if (atomic_load(&st->broken))
        return -ENOTRECOVERABLE;
    ipcm_deadline_init(&d, timeout_ms);
    int r = frame_side_lock(st, &st->rlock, &st->r_inflight, &d);
    if (r < 0)
        return r;
    ssize_t n = frame_read(fc, buf, cap, &d);
    ipcm_robust_unlock(&st->rlock);
    return n;
}

/* ---------------------------------------------------------------- the rest */

int ipcm_frame_shutdown(struct ipcm_chan *c)
{
    struct ipcm_frame_chan *fc = c->priv;
    if (fc->wfd < 0)
        return 0;
    if (fc->wfd == fc->rfd) {
        /* A duplex socket end: half-close, the peer drains then reads end-of-stream. */
        if (shutdown(fc->wfd, SHUT_WR) < 0 && errno != ENOTCONN)
            return -errno;
        fc->wfd = -1;
        return 0;
    }
    ipcm_close_fd(&fc->wfd);
    ipcm_sigpipe_release(&fc->sigpipe);
    return 0;
}

void ipcm_frame_close(struct ipcm_chan *c)
{
    struct ipcm_frame_chan *fc = c->priv;
    if (fc->wfd == fc->rfd)
        fc->wfd = -1;
    ipcm_close_fd(&fc->rfd);
    ipcm_close_fd(&fc->rfd_block);
    ipcm_close_fd(&fc->wfd);
    ipcm_sigpipe_release(&fc->sigpipe);
    ipcm_shared_free(fc->mapping, fc->map_len);
    fc->mapping = NULL;
}

ssize_t ipcm_frame_qsize(const struct ipcm_chan *c)
{
    const struct ipcm_frame_chan *fc = c->priv;
    const struct ipcm_frame_dir *st = fc->rfd >= 0 ? fc->rst : fc->wst;
    /* Both counters move under their locks after the frame moved, so a reader can be
     * counted before its writer: clamp the transient difference at 0. */
    unsigned long long w = atomic_load(&st->frames_written), r = atomic_load(&st->frames_read);
    return w > r ? (ssize_t)(w - r) : 0;
}

int ipcm_frame_pollfd(const struct ipcm_chan *c)
{
    const struct ipcm_frame_chan *fc = c->priv;
    return fc->rfd >= 0 ? fc->rfd : -EBADF;
}
