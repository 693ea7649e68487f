/* SPDX-License-Identifier: MIT */
/*
 * cases_poll.c - conformance group G (CONFORMANCE.md §5, 65-68): pollfd-based waiting,
 * for backends that declare IPCM_CAP_POLLFD. The contract (ipcmark.h): the fd polls
 * readable exactly when recv would not block, which includes end-of-stream.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int poll1(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return r;
}

/* ---------------------------------------------------------------- 65 */

struct pargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    enum ipcm_role role;
    unsigned count;
    uint32_t producer;
    int fd;         /* poller: the inherited pollfd */
    int ctl, ctl_w; /* worker: read end; closing the write end releases it */
    atomic_int *stop;
    _Atomic long *ready; /* poller: how often it saw the end readable */
    uint64_t seed;
};

/* Sends count self-checking messages of random sizes, one a millisecond. */
static int w_sizes_producer(const void *arg, size_t len)
{
    const struct pargs *a = arg;
    struct ipcm_chan *c;
    unsigned char buf[1024];
    uint64_t st = a->seed;
    (void)len;
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, a->role, &c), 0);
    for (unsigned i = 0; i < a->count; i++) {
        size_t n = (size_t)(ipcm_check_rand(&st) % sizeof(buf)) + 1;
        ipcm_payload_make(buf, n, a->producer, i);
        IPCM_WCHECK_EQ(a->ctx, ipcm_chan_send(c, buf, n, IPCM_CHECK_T_OP_MS), (ssize_t)n);
        if (i % 4 == 0)
            ipcm_sleep_ms(1);
    }
    ipcm_chan_close(c);
    return 0;
}

/* Polls the inherited receiving end with short timeouts; never receives. */
static int w_poller(const void *arg, size_t len)
{
    const struct pargs *a = arg;
    (void)len;
    while (!atomic_load(a->stop)) {
        int r = poll1(a->fd, 5);
        IPCM_WCHECK(a->ctx, r >= 0, "poll: %s", strerror(errno));
        if (r > 0) {
            atomic_fetch_add(a->ready, 1);
            ipcm_sleep_ms(1); /* readable stays readable: do not spin on it */
        }
    }
    return 0;
}

static void does_not_consume(struct ipcm_check_ctx *ctx)
{
    unsigned count = ctx->quick ? 100 : 300;
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 1024, 0);
    atomic_int *stop = ipcm_shared_alloc(64);
    struct ipcm_process prod = {0}, poller = {0};
    struct ipcm_chan *c = NULL;
    if (!l || !stop) {
        ipcm_link_destroy(l);
        ipcm_shared_free(stop, 64);
        IPCM_CHECK(ctx, false, "setup failed");
    }
    struct pargs a = {.ctx = ctx,
                      .l = l,
                      .role = ipcm_check_tx_role(ctx->shape),
                      .count = count,
                      .producer = 3,
                      .stop = stop,
                      .ready = (_Atomic long *)(stop + 4),
                      .seed = ctx->seed};
    int r = ipcm_check_spawn(ctx, &prod, "producer", w_sizes_producer, &a, sizeof(a));
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_rx_role(ctx->shape), &c);
    ipcm_link_destroy(l);
    if (r == 0) {
        /* The poller inherits this process's receiving end and only polls it. */
        a.fd = ipcm_chan_pollfd(c);
        IPCM_CHECK_OP_(ctx, a.fd, >=, 0, goto out);
        r = ipcm_check_spawn(ctx, &poller, "poller", w_poller, &a, sizeof(a));
    }
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    ipcm_check_phase(ctx, "polling from a second process while messages arrive");
    /* Take everything while the poller polls: whole messages, in order, each once.
     * Pauses let messages queue up under the poller (the producer is faster). */
    uint64_t st = ctx->seed;
    unsigned char buf[1024];
    for (unsigned i = 0; i < count; i++) {
        size_t want = (size_t)(ipcm_check_rand(&st) % sizeof(buf)) + 1;
        ssize_t n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        uint32_t p = 3;
        uint64_t s = i;
        IPCM_CHECK_OP_(ctx, n, ==, (ssize_t)want, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, (size_t)n, &p, &s), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, s, ==, i, goto out);
        atomic_fetch_add(&ctx->sh->messages, 1);
        if (i % 8 == 0)
            ipcm_sleep_ms(3);
    }
    IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), ==, -EPIPE,
                   goto out);
    if (!ipcm_check_join(ctx, &prod, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__))
        goto out;
    IPCM_CHECK(ctx, atomic_load(a.ready) > 0, "the poller never saw the end readable");
out:
    atomic_store(stop, 1);
    ipcm_chan_close(c);
    if (poller.pid > 0)
        ipcm_check_join(ctx, &poller, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
    if (prod.pid > 0)
        ipcm_check_reap(&prod, 0, NULL);
    ipcm_shared_free(stop, 64);
}

/* ---------------------------------------------------------------- 66 */

static void idempotent_size(struct ipcm_check_ctx *ctx, size_t size)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_with_peer(ctx, 256, 1, size, &peer);
    if (!c)
        goto out;
    int fd = ipcm_chan_pollfd(c);
    IPCM_CHECK_OP_(ctx, fd, >=, 0, goto out);
    /* true, true (polling twice takes nothing), recv, then false: the peer is still
     * attached, so nothing else can make the end readable. */
    IPCM_CHECK_OP_(ctx, poll1(fd, IPCM_CHECK_T_OP_MS), ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, poll1(fd, 0), ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, poll1(fd, 0), ==, 1, goto out);
    unsigned char buf[256];
    ssize_t n = ipcm_chan_recv(c, buf, sizeof(buf), 0);
    uint32_t p = 9;
    uint64_t s = 0;
    IPCM_CHECK_OP_(ctx, n, ==, (ssize_t)size, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, size, &p, &s), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, poll1(fd, 0), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), 0), ==, -EAGAIN, goto out);
out:
    ipcm_chan_close(c);
    ipcm_check_peer_release(ctx, &peer);
}

static void poll_idempotent(struct ipcm_check_ctx *ctx)
{
    idempotent_size(ctx, 64);
    if (!ipcm_check_failed(ctx))
        idempotent_size(ctx, 0); /* an empty message is a message too */
}

/* ---------------------------------------------------------------- 67 */

#define WM_N 3
#define WM_MSGS 5

static int w_tagged_sender(const void *arg, size_t len)
{
    const struct pargs *a = arg;
    struct ipcm_chan *c;
    unsigned char buf[64];
    char b;
    (void)len;
    close(a->ctl_w); /* else its own copy keeps the release pipe open */
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, a->role, &c), 0);
    while (read(a->ctl, &b, 1) < 0 && errno == EINTR)
        ;
    for (unsigned i = 0; i < WM_MSGS; i++) {
        ipcm_payload_make(buf, sizeof(buf), a->producer, i);
        IPCM_WCHECK_EQ(a->ctx, ipcm_chan_send(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), 64);
        ipcm_sleep_ms(2);
    }
    ipcm_sleep_ms(10 * (int)a->producer); /* stagger the exits */
    ipcm_chan_close(c);
    return 0;
}

/* poll.wait_many's senders, their channels and what arrived from each. */
struct wm {
    struct ipcm_process p[WM_N];
    struct ipcm_chan *c[WM_N];
    unsigned got[WM_N];
    bool eof[WM_N], exited[WM_N];
    struct pollfd fds[2 * WM_N]; /* the channels, then the senders' pidfds */
};

/* Spawn WM_N tagged senders, each on its own link and held back until ctl[1] closes;
 * open the receiving ends here. Returns 0, or the first error. */
static int wm_start(struct ipcm_check_ctx *ctx, struct wm *w, const int ctl[2])
{
    int r = 0;
    for (unsigned i = 0; i < WM_N && r == 0; i++) {
        struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 64, 0);
        if (!l)
            return -1;
        struct pargs a = {.ctx = ctx,
                          .l = l,
                          .role = ipcm_check_tx_role(ctx->shape),
                          .producer = i,
                          .ctl = ctl[0],
                          .ctl_w = ctl[1]};
        r = ipcm_check_spawn(ctx, &w->p[i], "tagged", w_tagged_sender, &a, sizeof(a));
        if (r == 0)
            r = ipcm_chan_open(l, ipcm_check_rx_role(ctx->shape), &w->c[i]);
        ipcm_link_destroy(l);
    }
    return r;
}

/* Entry k of the set polled ready: reap its ended sender, or take one message or the
 * end-of-stream from its channel; neither may wait. False after recording a failure. */
static bool wm_take(struct ipcm_check_ctx *ctx, struct wm *w, unsigned k)
{
    if (k >= WM_N) {
        unsigned i = k - WM_N;
        struct ipcm_exit ex;
        IPCM_CHECK_OP_(ctx, ipcm_process_join(&w->p[i], 0, &ex), ==, 0, return false);
        if (!ipcm_exit_ok(&ex)) {
            ipcm_check_failf(ctx, __FILE__, __LINE__, "sender %u failed", i);
            return false;
        }
        w->exited[i] = true;
        w->fds[k].fd = -1;
        return true;
    }
    unsigned char buf[64];
    ssize_t m = ipcm_chan_recv(w->c[k], buf, sizeof(buf), 0);
    if (m == -EPIPE) {
        IPCM_CHECK_OP_(ctx, w->got[k], ==, WM_MSGS, return false);
        w->eof[k] = true;
        w->fds[k].fd = -1;
        return true;
    }
    uint32_t pr = 0;
    uint64_t s = 0;
    if (m == -EAGAIN) {
        ipcm_check_failf(ctx, __FILE__, __LINE__, "channel %u polled ready but recv would block",
                         k);
        return false;
    }
    IPCM_CHECK_OP_(ctx, m, ==, 64, return false);
    IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, 64, &pr, &s), ==, 0, return false);
    IPCM_CHECK_OP_(ctx, pr, ==, k, return false);
    IPCM_CHECK_OP_(ctx, s, ==, w->got[k], return false);
    w->got[k]++;
    atomic_fetch_add(&ctx->sh->messages, 1);
    return true;
}

static void wait_many(struct ipcm_check_ctx *ctx)
{
    struct wm w = {.p = {{0}}};
    int ctl[2] = {-1, -1};
    int r = pipe2(ctl, O_CLOEXEC);
    IPCM_CHECK_EQ(ctx, r, 0);
    r = wm_start(ctx, &w, ctl);
    ipcm_close_fd(&ctl[0]);
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    for (unsigned i = 0; i < WM_N; i++) {
        /* Spawn leaves no pidfd where the descriptor limit was met: try once more, and
         * if no descriptor is free still, that is the environment's limit. */
        if (w.p[i].pidfd < 0)
            w.p[i].pidfd = ipcm_pidfd_open(w.p[i].pid);
        if (w.p[i].pidfd < 0 && ipcm_check_env_fds(ctx, "pidfd_open"))
            goto out;
        IPCM_CHECK_OP_(ctx, w.p[i].pidfd, >=, 0, goto out);
        w.fds[i] = (struct pollfd){.fd = ipcm_chan_pollfd(w.c[i]), .events = POLLIN};
        w.fds[WM_N + i] = (struct pollfd){.fd = w.p[i].pidfd, .events = POLLIN};
        IPCM_CHECK_OP_(ctx, w.fds[i].fd, >=, 0, goto out);
    }
    /* Nothing is ready yet: a timed wait returns an empty set after about T. */
    ipcm_check_phase(ctx, "timed wait on an idle set");
    uint64_t t0 = ipcm_now_ns();
    int n = poll(w.fds, 2 * WM_N, 200);
    int el = ipcm_ms_since(t0);
    IPCM_CHECK_OP_(ctx, n, ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, el, >=, 100, goto out);
    IPCM_CHECK_OP_(ctx, el, <=, 200 + IPCM_CHECK_SLACK_MS, goto out);

    ipcm_close_fd(&ctl[1]); /* go */
    ipcm_check_phase(ctx, "waiting over channels and pidfds");
    unsigned done = 0;
    while (done < 2 * WM_N) {
        n = poll(w.fds, 2 * WM_N, ipcm_check_scaled_ms(ctx, IPCM_CHECK_T_OP_MS));
        if (n < 0 && errno == EINTR)
            continue;
        IPCM_CHECK_OP_(ctx, n, >, 0, goto out);
        for (unsigned k = 0; k < 2 * WM_N; k++) {
            if (w.fds[k].fd < 0 || !w.fds[k].revents)
                continue;
            if (!wm_take(ctx, &w, k))
                goto out;
            done += w.fds[k].fd < 0; /* that sender ended, or its channel did */
        }
    }
    for (unsigned i = 0; i < WM_N; i++) {
        if (!w.eof[i] || !w.exited[i] || w.got[i] != WM_MSGS) {
            ipcm_check_failf(ctx, __FILE__, __LINE__, "channel %u: %u messages, eof %d, exited %d",
                             i, w.got[i], w.eof[i], w.exited[i]);
            break;
        }
    }
out:
    ipcm_close_fd(&ctl[1]);
    for (unsigned i = 0; i < WM_N; i++) {
        ipcm_chan_close(w.c[i]);
        if (w.p[i].pid > 0)
            ipcm_check_reap(&w.p[i], IPCM_CHECK_T_OP_MS, NULL);
    }
}

/* ---------------------------------------------------------------- 68 */

static void invalid_handle(struct ipcm_check_ctx *ctx)
{
    unsigned char buf[64] = {0};
    /* A NULL end is an error everywhere, never a crash. */
    IPCM_CHECK_EQ(ctx, ipcm_chan_pollfd(NULL), -EBADF);
    IPCM_CHECK_EQ(ctx, ipcm_chan_recv(NULL, buf, sizeof(buf), 0), -EBADF);
    IPCM_CHECK_EQ(ctx, ipcm_chan_send(NULL, buf, 1, 0), -EBADF);
    IPCM_CHECK_EQ(ctx, ipcm_chan_shutdown(NULL), -EBADF);
    if (ctx->shape == IPCM_SHAPE_QUEUE) {
        /* A send-only end has nothing to poll. */
        struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 64, 0);
        struct ipcm_chan *s = NULL;
        if (!l)
            return;
        int r = ipcm_chan_open(l, IPCM_ROLE_SEND, &s);
        ipcm_link_destroy(l);
        IPCM_CHECK_EQ(ctx, r, 0);
        int fd = ipcm_chan_pollfd(s);
        ipcm_chan_close(s);
        IPCM_CHECK_LT(ctx, fd, 0);
    }

    /* After close, the end's fd number is reused by an unrelated pipe: nothing the
     * library does later (other ends, their close, link destroy) may touch it. */
    struct ipcm_chan *x = ipcm_check_open_alone(ctx, ctx->shape, 64, 0);
    if (!x)
        return;
    int old = ipcm_chan_pollfd(x);
    ipcm_chan_close(x);
    IPCM_CHECK_GE(ctx, old, 0);
    int held[16][2], nheld = 0, mine = -1;
    for (; nheld < 16; nheld++) {
        if (pipe2(held[nheld], O_CLOEXEC) < 0)
            break;
        if (held[nheld][0] == old || held[nheld][1] == old) {
            mine = nheld++;
            break;
        }
    }
    if (mine >= 0) {
        struct stat st0, st1;
        IPCM_CHECK_OP_(ctx, fstat(old, &st0), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, write(held[mine][1], "z", 1), ==, 1, goto out);
        struct ipcm_chan *y = ipcm_check_open_alone(ctx, ctx->shape, 64, 0);
        if (y) {
            ipcm_payload_make(buf, 64, 0, 0);
            if (ctx->shape == IPCM_SHAPE_QUEUE) {
                IPCM_CHECK_OP_(ctx, ipcm_chan_send(y, buf, 64, IPCM_CHECK_T_OP_MS), ==, 64,
                               goto outy);
                IPCM_CHECK_OP_(ctx, ipcm_chan_recv(y, buf, 64, IPCM_CHECK_T_OP_MS), ==, 64,
                               goto outy);
            }
        outy:
            ipcm_chan_close(y);
        }
        IPCM_CHECK_OP_(ctx, fcntl(old, F_GETFD), >=, 0, goto out);
        IPCM_CHECK_OP_(ctx, fstat(old, &st1), ==, 0, goto out);
        IPCM_CHECK(ctx, st0.st_ino == st1.st_ino && st0.st_dev == st1.st_dev,
                   "fd %d was replaced under the test's pipe", old);
        char b = 0;
        IPCM_CHECK_OP_(ctx, read(held[mine][0], &b, 1), ==, 1, goto out);
        IPCM_CHECK_OP_(ctx, b, ==, 'z', goto out);
    }
out:
    for (int i = 0; i < nheld; i++) {
        close(held[i][0]);
        close(held[i][1]);
    }
}

/* ---------------------------------------------------------------- 127 */

/*
 * ipcm_chan_ready (IPCM_CAP_READY): a look costs nothing and takes nothing; an armed end's
 * fd turns readable with the next message; a disarmed end's does not (its senders made no
 * system call for it, which is the point); arming with a message waiting says "ready"
 * instead of sleeping.
 */
static void armed_only(struct ipcm_check_ctx *ctx)
{
    struct ipcm_chan *c = ipcm_check_open_alone(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    unsigned char buf[64];
    if (!c)
        return;
    int fd = ipcm_chan_pollfd(c);
    IPCM_CHECK_OP_(ctx, fd, >=, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_PEEK), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, (enum ipcm_ready_how)7), ==, -EINVAL, goto out);
    for (unsigned round = 0; round < 3; round++) {
        /* Armed: the next message makes the fd readable. */
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_ARM), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, poll1(fd, 0), ==, 0, goto out);
        ipcm_payload_make(buf, 64, 1, 2 * round);
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, 64, IPCM_CHECK_T_OP_MS), ==, 64, goto out);
        IPCM_CHECK_OP_(ctx, poll1(fd, IPCM_CHECK_T_OP_MS), ==, 1, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_DISARM), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_PEEK), ==, 1, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_PEEK), ==, 1, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, 64, 0), ==, 64, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_PEEK), ==, 0, goto out);
        /* Arming again reads back the signal it was given: not readable now. */
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_ARM), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, poll1(fd, 0), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_DISARM), ==, 0, goto out);
        /* Disarmed: a message leaves the fd alone; arming then reports it. */
        ipcm_payload_make(buf, 64, 1, 2 * round + 1);
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, 64, IPCM_CHECK_T_OP_MS), ==, 64, goto out);
        IPCM_CHECK_OP_(ctx, poll1(fd, 0), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_ready(c, IPCM_READY_ARM), ==, 1, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, 64, 0), ==, 64, goto out);
        uint32_t p = 1;
        uint64_t sq = 2 * round + 1;
        IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, 64, &p, &sq), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, 64, 0), ==, -EAGAIN, goto out);
        atomic_fetch_add(&ctx->sh->messages, 2);
    }
out:
    ipcm_chan_close(c);
}

/* ---------------------------------------------------------------- table */

const struct ipcm_check_case ipcm_check_cases_poll[] = {
    {"poll.does_not_consume", 65, "polling from a second process never takes or splits",
     IPCM_CHECK_QP, IPCM_CAP_POLLFD, 0, 30000, does_not_consume, NULL, NULL},
    {"poll.idempotent", 66, "poll, poll, recv, poll: true, true, false", IPCM_CHECK_QP,
     IPCM_CAP_POLLFD, IPCM_CHECK_QUICK, 20000, poll_idempotent, NULL, NULL},
    {"poll.wait_many", 67, "poll over several channels and pidfds returns the ready set",
     IPCM_CHECK_QP, IPCM_CAP_POLLFD, 0, 30000, wait_many, NULL, NULL},
    {"poll.invalid_handle", 68, "NULL/send-only ends are errors; a reused fd is never touched",
     IPCM_CHECK_QP, IPCM_CAP_POLLFD, IPCM_CHECK_QUICK, 10000, invalid_handle, NULL, NULL},
    {"poll.armed_only", 132, "ready: a look is free; only an armed end's fd is signalled",
     IPCM_CHECK_Q, IPCM_CAP_READY, IPCM_CHECK_QUICK, 10000, armed_only, NULL, NULL},
    {0},
};
