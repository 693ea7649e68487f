/* SPDX-License-Identifier: MIT */
/*
 * cases_blocking.c - conformance group B (CONFORMANCE.md §5, 17-31): capacity,
 * blocking, non-blocking and timeouts. Timing checks allow 100 ms early and are
 * generous late, because the machine under test is loaded.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Fill c with 64 B try-puts until -EAGAIN; returns how many fit (or < 0 on error). */
static long fill(struct ipcm_check_ctx *ctx, struct ipcm_chan *c, uint64_t *last_try_ms)
{
    unsigned char buf[64];
    for (long n = 0; n < 1000000; n++) {
        ipcm_payload_make(buf, sizeof(buf), 0, (uint64_t)n);
        uint64_t t0 = ipcm_now_ns();
        ssize_t r = ipcm_chan_send(c, buf, sizeof(buf), 0);
        if (r == -EAGAIN) {
            *last_try_ms = ipcm_ms_since(t0);
            return n;
        }
        if (r != (ssize_t)sizeof(buf)) {
            ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "try-put while filling", r, 64);
            return -1;
        }
    }
    ipcm_check_failf(ctx, __FILE__, __LINE__, "a million 64 B try-puts never reported full");
    return -1;
}

/* Receive n messages seq 0..n-1 in order, then the channel is empty. */
static void drain(struct ipcm_check_ctx *ctx, struct ipcm_chan *c, long n, int last_err)
{
    unsigned char buf[256];
    for (long i = 0; i < n; i++) {
        ssize_t r = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        IPCM_CHECK_EQ(ctx, r, 64);
        uint32_t p = 0;
        uint64_t s = 0;
        IPCM_CHECK_EQ(ctx, ipcm_payload_check(buf, 64, &p, &s), 0);
        IPCM_CHECK_EQ(ctx, s, i);
    }
    IPCM_CHECK_EQ(ctx, ipcm_chan_recv(c, buf, sizeof(buf), 0), last_err);
}

/* ---------------------------------------------------------------- 17, 18, 29 */

static void full_try_put_depth(struct ipcm_check_ctx *ctx, unsigned depth)
{
    struct ipcm_chan *c = ipcm_check_open_alone(ctx, IPCM_SHAPE_QUEUE, 64, depth);
    if (!c)
        return;
    uint64_t try_ms = 0;
    long n = fill(ctx, c, &try_ms);
    if (n >= 0 && ctx->lim->max_depth)
        IPCM_CHECK_OP_(ctx, n, ==, depth ? depth : ctx->lim->default_depth, n = -1);
    if (n >= 0)
        IPCM_CHECK_OP_(ctx, n, >=, 1, n = -1);
    if (n >= 0)
        IPCM_CHECK_OP_(ctx, try_ms, <, 100, n = -1);
    if (n >= 0)
        drain(ctx, c, n, -EAGAIN);
    ipcm_chan_close(c);
}

static void full_try_put(struct ipcm_check_ctx *ctx)
{
    full_try_put_depth(ctx, ctx->lim->max_depth && ctx->lim->max_depth >= 6 ? 6 : 0);
    if (!ipcm_check_failed(ctx))
        full_try_put_depth(ctx, 0);
}

static void full_put_timeout(struct ipcm_check_ctx *ctx)
{
    static const int ts[] = {100, 500};
    struct ipcm_chan *c = ipcm_check_open_alone(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    if (!c)
        return;
    uint64_t try_ms;
    long n = fill(ctx, c, &try_ms);
    for (int i = 0; i < (ctx->quick ? 1 : 2) && n >= 0; i++) {
        unsigned char buf[64] = {0};
        uint64_t t0 = ipcm_now_ns();
        ssize_t r = ipcm_chan_send(c, buf, sizeof(buf), ts[i]);
        int el = ipcm_ms_since(t0);
        IPCM_CHECK_OP_(ctx, r, ==, -ETIMEDOUT, goto done);
        IPCM_CHECK_OP_(ctx, el, >=, (uint64_t)ts[i] - 100, goto done);
        IPCM_CHECK_OP_(ctx, el, <=, (uint64_t)ts[i] + IPCM_CHECK_SLACK_MS, goto done);
    }
    if (n >= 0)
        drain(ctx, c, n, -EAGAIN);
done:
    ipcm_chan_close(c);
}

static void capacity_declared(struct ipcm_check_ctx *ctx)
{
    /* Message-counted backends must hold exactly their depth, with 1 B and with
     * maximum-size messages; byte-bounded ones hold a bounded, non-zero number. */
    size_t top = ctx->lim->max_msg < 4096 ? ctx->lim->max_msg : 4096;
    size_t sizes[2] = {1, top};
    for (int k = 0; k < 2; k++) {
        struct ipcm_chan *c = ipcm_check_open_alone(ctx, IPCM_SHAPE_QUEUE, sizes[1], 0);
        if (!c)
            return;
        unsigned char *buf = calloc(1, sizes[1]);
        long n = 0;
        while (n < 1000000 && ipcm_chan_send(c, buf, sizes[k], 0) == (ssize_t)sizes[k])
            n++;
        long got = 0;
        while (ipcm_chan_recv(c, buf, sizes[1], 0) == (ssize_t)sizes[k])
            got++;
        free(buf);
        ipcm_chan_close(c);
        IPCM_CHECK(ctx, n == got, "%ld messages of %zu B fitted but %ld came back", n, sizes[k],
                   got);
        size_t bound = ctx->lim->buffer_bytes ? ctx->lim->buffer_bytes / sizes[k] : 1000000;
        if (ctx->lim->max_depth)
            IPCM_CHECK(ctx, n == (long)ctx->lim->default_depth,
                       "declared depth %u, %ld messages of %zu B fitted", ctx->lim->default_depth,
                       n, sizes[k]);
        else
            IPCM_CHECK(ctx, n >= 1 && n < 1000000 && (size_t)n <= bound,
                       "%ld messages of %zu B fitted (buffer %zu B)", n, sizes[k],
                       ctx->lim->buffer_bytes);
    }
}

/* ---------------------------------------------------------------- 28 */

/* qsize is exact at rest (after each of 5 puts and gets, when full, when drained) and
 * stays within [0, capacity] while a producer runs (never negative, unlike rigtorp's). */
static void qsize_exact_at_rest(struct ipcm_check_ctx *ctx)
{
    unsigned char buf[256] = {0};
    struct ipcm_chan *c = ipcm_check_open_alone(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    if (!c)
        return;
    long full = -1;
    IPCM_CHECK_OP_(ctx, ipcm_chan_qsize(c), ==, 0, goto out);
    for (long i = 1; i <= 5; i++) {
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, 8, 0), ==, 8, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_qsize(c), ==, i, goto out);
    }
    for (long i = 4; i >= 0; i--) {
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), 0), ==, 8, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_qsize(c), ==, i, goto out);
    }
    full = 0;
    while (full < 1000000 && ipcm_chan_send(c, buf, 8, 0) == 8)
        full++;
    IPCM_CHECK_OP_(ctx, ipcm_chan_qsize(c), ==, full, goto out);
    while (ipcm_chan_recv(c, buf, sizeof(buf), 0) == 8)
        ;
    IPCM_CHECK_OP_(ctx, ipcm_chan_qsize(c), ==, 0, goto out);
out:
    ipcm_chan_close(c);
    if (ipcm_check_failed(ctx) || full < 1)
        return;

    /* Under concurrency: sample while a peer sends and we receive. */
    struct ipcm_check_peer peer;
    c = ipcm_check_with_peer(ctx, 256, 2000, 64, &peer);
    long got = 0, bad = 0;
    while (c && got < 2000) {
        ssize_t q = ipcm_chan_qsize(c);
        bad += q < 0 || q > full;
        if (ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS) < 0)
            break;
        got++;
    }
    ipcm_chan_close(c);
    ipcm_check_peer_release(ctx, &peer);
    IPCM_CHECK_EQ(ctx, got, 2000);
    IPCM_CHECK_EQ(ctx, bad, 0);
}

/* ---------------------------------------------------------------- 19, 20, 21 */

static void empty_try_get(struct ipcm_check_ctx *ctx)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_with_peer(ctx, 256, 0, 64, &peer);
    unsigned char buf[256];
    if (c) {
        uint64_t t0 = ipcm_now_ns();
        ssize_t r = ipcm_chan_recv(c, buf, sizeof(buf), 0);
        int el = ipcm_ms_since(t0);
        int pfd = ipcm_chan_pollfd(c);
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int pr = pfd >= 0 ? poll(&p, 1, 0) : 0;
        ipcm_chan_close(c);
        IPCM_CHECK_OP_(ctx, r, ==, -EAGAIN, goto out);
        IPCM_CHECK_OP_(ctx, el, <, 100, goto out);
        IPCM_CHECK_OP_(ctx, pr, ==, 0, goto out);
    }
out:
    ipcm_check_peer_release(ctx, &peer);
}

static void empty_get_timeout(struct ipcm_check_ctx *ctx)
{
    static const int ts[] = {200, 500};
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_with_peer(ctx, 256, 0, 64, &peer);
    unsigned char buf[256];
    for (int i = 0; c && i < (ctx->quick ? 1 : 2); i++) {
        uint64_t t0 = ipcm_now_ns();
        ssize_t r = ipcm_chan_recv(c, buf, sizeof(buf), ts[i]);
        int el = ipcm_ms_since(t0);
        IPCM_CHECK_OP_(ctx, r, ==, -ETIMEDOUT, goto done);
        IPCM_CHECK_OP_(ctx, el, >=, (uint64_t)ts[i] - 100, goto done);
        IPCM_CHECK_OP_(ctx, el, <=, (uint64_t)ts[i] + IPCM_CHECK_SLACK_MS, goto done);
        int pfd = ipcm_chan_pollfd(c);
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            t0 = ipcm_now_ns();
            int pr = poll(&p, 1, ts[i]);
            el = ipcm_ms_since(t0);
            IPCM_CHECK_OP_(ctx, pr, ==, 0, goto done);
            IPCM_CHECK_OP_(ctx, el, >=, (uint64_t)ts[i] - 100, goto done);
        }
    }
done:
    ipcm_chan_close(c);
    ipcm_check_peer_release(ctx, &peer);
}

static void timeout_zero_negative(struct ipcm_check_ctx *ctx)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_with_peer(ctx, 256, 2, 64, &peer);
    unsigned char buf[256];
    if (c) {
        /* A message available is returned for every timeout form, without waiting. */
        ssize_t r1 =
            ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS); /* wait for the first */
        uint64_t t0 = ipcm_now_ns();
        ssize_t r2 = 0;
        /* The second may still be in flight: poll for it without consuming it. */
        int pfd = ipcm_chan_pollfd(c);
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            poll(&p, 1, IPCM_CHECK_T_OP_MS);
        } else {
            ipcm_sleep_ms(100);
        }
        t0 = ipcm_now_ns();
        r2 = ipcm_chan_recv(c, buf, sizeof(buf), 0);
        int el = ipcm_ms_since(t0);
        ssize_t r3 = ipcm_chan_recv(c, buf, sizeof(buf), 0);
        ipcm_chan_close(c);
        IPCM_CHECK_OP_(ctx, r1, ==, 64, goto out);
        IPCM_CHECK_OP_(ctx, r2, ==, 64, goto out);
        IPCM_CHECK_OP_(ctx, el, <, 100, goto out);
        IPCM_CHECK_OP_(ctx, r3, ==, -EAGAIN, goto out);
    }
out:
    ipcm_check_peer_release(ctx, &peer);
}

/* ---------------------------------------------------------------- 23 */

struct bargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    enum ipcm_role role;
    int note[2];
    uint64_t count;
    _Atomic uint64_t *stamp; /* shared: when the blocked call returned */
    _Atomic long *filled;    /* shared: how many fitted */
};

static int w_fill_then_block(const void *arg, size_t len)
{
    const struct bargs *a = arg;
    struct ipcm_chan *c;
    uint64_t try_ms;
    (void)len;
    close(a->note[0]);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, IPCM_ROLE_SEND, &c), 0);
    long n = fill(a->ctx, c, &try_ms);
    IPCM_WCHECK_GE(a->ctx, n, 1);
    atomic_store(a->filled, n);
    IPCM_WCHECK_EQ(a->ctx, write(a->note[1], "f", 1), 1);
    unsigned char buf[64];
    ipcm_payload_make(buf, sizeof(buf), 0, (uint64_t)n);
    ssize_t r = ipcm_chan_send(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
    atomic_store(a->stamp, ipcm_now_ns());
    IPCM_WCHECK_EQ(a->ctx, r, 64);
    ipcm_chan_close(c);
    return 0;
}

static void blocked_put_released_by_get(struct ipcm_check_ctx *ctx)
{
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    if (!l)
        return;
    _Atomic uint64_t *stamp = ipcm_shared_alloc(64);
    _Atomic long *filled = (_Atomic long *)(stamp + 1);
    struct bargs a = {.ctx = ctx, .l = l, .stamp = stamp, .filled = filled};
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    int r = ipcm_check_spawn_noted(ctx, &p, "filler", w_fill_then_block, &a, sizeof(a), a.note);
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_RECV, &c);
    ipcm_link_destroy(l);
    if (r == 0 && ipcm_check_wait_note(a.note[0])) {
        ipcm_sleep_ms(100); /* let the filler block in its put */
        unsigned char buf[256];
        uint64_t t_get = ipcm_now_ns();
        ssize_t n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        IPCM_CHECK_OP_(ctx, n, ==, 64, goto out);
        /* A message-counted queue must release the put after this one get. A byte-bounded
         * one may wait for more room (kernels wake writers only once a good part of the
         * buffer is free), but must release it before the backlog is gone. */
        long k = atomic_load(filled), taken = 1;
        for (;;) {
            /* Message-counted: wait for the release; byte-bounded: take the next one. */
            uint64_t deadline =
                ipcm_now_ns() +
                (ctx->lim->max_depth || taken >= k ? IPCM_NS_PER_S : 2 * IPCM_NS_PER_MS);
            while (!atomic_load(stamp) && ipcm_now_ns() < deadline)
                ipcm_sleep_ms(1);
            if (atomic_load(stamp) || ctx->lim->max_depth || taken >= k)
                break;
            uint32_t pr = 0;
            uint64_t s = 0;
            n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
            IPCM_CHECK_OP_(ctx, n, ==, 64, goto out);
            IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, 64, &pr, &s), ==, 0, goto out);
            IPCM_CHECK_OP_(ctx, s, ==, (uint64_t)taken, goto out);
            t_get = ipcm_now_ns();
            taken++;
        }
        IPCM_CHECK(ctx, atomic_load(stamp) != 0,
                   "the blocked put was not released after %ld of %ld gets", taken, k);
        /* Released before the last get (stamp < t_get) counts as prompt too. */
        IPCM_CHECK_OP_(ctx, atomic_load(stamp), <, t_get + IPCM_NS_PER_S, goto out);
        /* Order preserved: 1..n follow, the released put last. */
        for (long i = taken; i <= k; i++) {
            n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
            uint32_t pr = 0;
            uint64_t s = 0;
            IPCM_CHECK_OP_(ctx, n, ==, 64, goto out);
            IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, 64, &pr, &s), ==, 0, goto out);
            IPCM_CHECK_OP_(ctx, s, ==, (uint64_t)i, goto out);
        }
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), ==, -EPIPE,
                       goto out);
    } else {
        IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    }
out:
    ipcm_close_fd(&a.note[0]);
    ipcm_chan_close(c);
    if (p.pid > 0)
        ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
    ipcm_shared_free(stamp, 64);
}

/* ---------------------------------------------------------------- 24 */

static int w_block_in_get(const void *arg, size_t len)
{
    const struct bargs *a = arg;
    struct ipcm_chan *c;
    unsigned char buf[256];
    (void)len;
    close(a->note[0]);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, a->role, &c), 0);
    IPCM_WCHECK_EQ(a->ctx, write(a->note[1], "r", 1), 1);
    ssize_t n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
    atomic_store(a->stamp, ipcm_now_ns());
    IPCM_WCHECK_EQ(a->ctx, n, 64);
    uint32_t p = 0;
    uint64_t s = 0;
    IPCM_WCHECK_EQ(a->ctx, ipcm_payload_check(buf, 64, &p, &s), 0);
    ipcm_chan_close(c);
    return 0;
}

static void blocked_get_released_by_put(struct ipcm_check_ctx *ctx)
{
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 256, 0);
    if (!l)
        return;
    _Atomic uint64_t *stamp = ipcm_shared_alloc(64);
    struct bargs a = {.ctx = ctx, .l = l, .stamp = stamp, .role = ipcm_check_rx_role(ctx->shape)};
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    int r = ipcm_check_spawn_noted(ctx, &p, "getter", w_block_in_get, &a, sizeof(a), a.note);
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_tx_role(ctx->shape), &c);
    ipcm_link_destroy(l);
    if (r == 0 && ipcm_check_wait_note(a.note[0])) {
        ipcm_sleep_ms(100); /* let the getter block */
        unsigned char buf[64];
        ipcm_payload_make(buf, 64, 0, 0);
        uint64_t t_put = ipcm_now_ns();
        ssize_t n = ipcm_chan_send(c, buf, 64, IPCM_CHECK_T_OP_MS);
        IPCM_CHECK_OP_(ctx, n, ==, 64, goto out);
        if (ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__))
            IPCM_CHECK_OP_(ctx, (atomic_load(stamp) - t_put) / IPCM_NS_PER_MS, <, 1000, goto out);
    } else {
        IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    }
out:
    ipcm_close_fd(&a.note[0]);
    ipcm_chan_close(c);
    if (p.pid > 0)
        ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
    ipcm_shared_free(stamp, 64);
}

/* ---------------------------------------------------------------- 25 */

struct pp_args {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *ping, *pong; /* pong NULL: pipe shape, ping carries both */
    uint64_t count;
};

static int w_pong(const void *arg, size_t len)
{
    const struct pp_args *a = arg;
    struct ipcm_chan *in, *out;
    unsigned char buf[64];
    (void)len;
    if (a->pong) {
        IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->ping, IPCM_ROLE_RECV, &in), 0);
        IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->pong, IPCM_ROLE_SEND, &out), 0);
    } else {
        IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->ping, IPCM_ROLE_B, &in), 0);
        out = in;
    }
    for (uint64_t i = 0; i < a->count; i++) {
        ssize_t n = ipcm_chan_recv(in, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        IPCM_WCHECK_EQ(a->ctx, n, 8);
        IPCM_WCHECK_EQ(a->ctx, ipcm_chan_send(out, buf, 8, IPCM_CHECK_T_OP_MS), 8);
    }
    if (out != in)
        ipcm_chan_close(out);
    ipcm_chan_close(in);
    return 0;
}

static void pingpong_no_lost_wakeup(struct ipcm_check_ctx *ctx)
{
    uint64_t count = ctx->quick ? 2000 : 20000;
    bool q = ctx->shape == IPCM_SHAPE_QUEUE;
    struct pp_args a = {.ctx = ctx, .count = count};
    a.ping = ipcm_check_link(ctx, ctx->shape, 64, 1);
    a.pong = q ? ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 64, 1) : NULL;
    struct ipcm_process p = {0};
    struct ipcm_chan *out = NULL, *in = NULL;
    int r = (a.ping && (!q || a.pong)) ? 0 : -EINVAL;
    if (r == 0)
        r = ipcm_check_spawn(ctx, &p, "pong", w_pong, &a, sizeof(a));
    if (r == 0)
        r = ipcm_chan_open(a.ping, q ? IPCM_ROLE_SEND : IPCM_ROLE_A, &out);
    if (r == 0 && q)
        r = ipcm_chan_open(a.pong, IPCM_ROLE_RECV, &in);
    if (r == 0 && !q)
        in = out;
    ipcm_link_destroy(a.ping);
    ipcm_link_destroy(a.pong);
    if (r < 0) /* now, before joining: a limit met here (ipcm_check_envf) explains the rest */
        ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "open", r, 0);
    for (uint64_t i = 0; r == 0 && i < count; i++) {
        unsigned char buf[64];
        memcpy(buf, &i, 8);
        ssize_t n = ipcm_chan_send(out, buf, 8, IPCM_CHECK_T_OP_MS);
        if (n == 8)
            n = ipcm_chan_recv(in, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        uint64_t back;
        memcpy(&back, buf, 8);
        if (n != 8 || back != i) {
            ipcm_check_failf(ctx, __FILE__, __LINE__, "round trip %llu: %s", (unsigned long long)i,
                             n < 0 ? ipcm_err_name((int)n) : "bad echo");
            break;
        }
    }
    if (in != out)
        ipcm_chan_close(in);
    ipcm_chan_close(out);
    if (p.pid > 0)
        IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
    IPCM_CHECK_EQ(ctx, r, 0);
}

/* ---------------------------------------------------------------- 27 */

/* CPU time (user + system) of the reaped children, in ns. */
static uint64_t children_cpu_ns(void)
{
    struct rusage r;
    getrusage(RUSAGE_CHILDREN, &r);
    return (uint64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * IPCM_NS_PER_S +
           (uint64_t)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * IPCM_NS_PER_US;
}

static void oversubscribed_progress(struct ipcm_check_ctx *ctx)
{
    long ncpu = ipcm_cpus_online();
    unsigned n = (unsigned)(4 * ncpu);
    if (n > 32)
        n = 32;
    uint64_t per = ctx->quick ? 100 : 500;
    uint64_t cpu0 = children_cpu_ns();
    uint64_t t0 = ipcm_now_ns();
    ipcm_check_mpmc(ctx, IPCM_SHAPE_QUEUE, n, n, per, 64, 2, false);
    double wall = ipcm_ns_to_s(ipcm_ns_since(t0));
    uint64_t cpu1 = children_cpu_ns();
    if (ipcm_check_failed(ctx))
        return;
    double cpu = ipcm_ns_to_s(cpu1 - cpu0);
    double msgs = (double)n * (double)per;
    /* Blocking hand-offs cost microseconds; a spinner burns the whole wall time on every
     * CPU. 2 ms of CPU per message is far above any blocking design. */
    IPCM_CHECK(ctx, cpu / msgs < 0.002 * ctx->env->timeout_scale,
               "%ux%u on %ld CPUs: %.2f s CPU for %.0f messages in %.2f s (spinning?)", n, n, ncpu,
               cpu, msgs, wall);
}

/* ---------------------------------------------------------------- 30 */

static void create_beyond_limits(struct ipcm_check_ctx *ctx)
{
    int fds = ipcm_fd_count();
    struct ipcm_config cfg = {.max_msg = ctx->lim->max_msg + 1};
    struct ipcm_link *l = NULL;
    IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, &cfg, &l), -EMSGSIZE);
    IPCM_CHECK(ctx, l == NULL, "a refused create returned a link");
    IPCM_CHECK(ctx, ctx->lim->max_msg_source[0] != '\0', "the limit's source is not named");
    if (ctx->lim->max_depth) {
        cfg = (struct ipcm_config){.max_msg = 64, .depth = ctx->lim->max_depth + 1};
        IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, &cfg, &l), -EINVAL);
    }
    /* Nothing half-created: no descriptor left behind. */
    IPCM_CHECK_EQ(ctx, ipcm_fd_count(), fds);
}

/* ---------------------------------------------------------------- 31 */

static const char *short_io_applies(const struct ipcm_check_env *env, char *why, size_t len)
{
    (void)env, (void)why, (void)len;
    return ipcm_frame_test_short_io ? NULL : IPCM_CHECK_NO_SHORT_IO;
}

static void partial_write_handling(struct ipcm_check_ctx *ctx)
{
    /* Random 1..7 bytes per read and per write, from the case's seed. */
    ipcm_check_fragmented(ctx, 7, 7, ctx->seed | 1);
}

/* ---------------------------------------------------------------- table */

const struct ipcm_check_case ipcm_check_cases_blocking[] = {
    {"blocking.full_try_put", 17, "fill to capacity; the next try-put is -EAGAIN at once",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 30000, full_try_put, NULL, NULL},
    {"blocking.full_put_timeout", 18, "put on a full queue times out after T (0.1, 0.5 s)",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 30000, full_put_timeout, NULL, NULL},
    {"blocking.empty_try_get", 19, "try-get and poll(0) on an empty channel return at once",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 20000, empty_try_get, NULL, NULL},
    {"blocking.empty_get_timeout", 20, "get and poll on an empty channel time out after T",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 30000, empty_get_timeout, NULL, NULL},
    {"blocking.timeout_zero_negative", 21,
     "an available message is returned for timeout 0 and -1 without waiting", IPCM_CHECK_QP, 0, IPCM_CHECK_LIBBUF,
     20000, timeout_zero_negative, NULL, NULL},
    {"blocking.blocked_put_released_by_get", 23,
     "a put blocked on a full queue completes promptly after one get; order kept", IPCM_CHECK_Q, 0,
     IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 30000, blocked_put_released_by_get, NULL, NULL},
    {"blocking.blocked_get_released_by_put", 24, "a get blocked on empty returns the next put",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 30000, blocked_get_released_by_put, NULL, NULL},
    {"blocking.pingpong_no_lost_wakeup", 25,
     "20,000 strict blocking round trips finish (a stall is a lost wake-up)", IPCM_CHECK_QP, 0,
     IPCM_CHECK_QUICK, 90000, pingpong_no_lost_wakeup, NULL, NULL},
    {"blocking.oversubscribed_progress", 27,
     "4 x nproc producers and consumers on a depth-2 queue progress without spinning", IPCM_CHECK_Q,
     0, 0, 120000, oversubscribed_progress, NULL, NULL},
    {"blocking.qsize_exact_at_rest", 28, "qsize exact at rest, within [0, capacity] while busy",
     IPCM_CHECK_Q, IPCM_CAP_QSIZE, IPCM_CHECK_QUICK, 10000, qsize_exact_at_rest, NULL, NULL},
    {"limits.capacity_declared", 29,
     "fill with 1 B and max-size messages: the declared depth (or a byte bound) holds",
     IPCM_CHECK_Q, 0, IPCM_CHECK_LIBBUF, 15000, capacity_declared, NULL, NULL},
    {"limits.create_beyond_system_limits", 30,
     "max_msg above the limit is -EMSGSIZE, depth above it -EINVAL; nothing half-created",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 20000, create_beyond_limits, NULL, NULL},
    {"blocking.partial_write_handling", 31,
     "reads and writes cut to 1..7 B (test build's I/O hook): messages reassemble",
     IPCM_CHECK_QP, IPCM_CAP_STREAM, 0, 60000, partial_write_handling, NULL, short_io_applies},
    {0},
};
