/* SPDX-License-Identifier: MIT */
/*
 * cases_delivery.c - conformance group A (CONFORMANCE.md §5, 1-16): messages arrive
 * whole, byte-identical, in order, exactly once, and limits are refused up front.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a worker of this file needs; copied into the child by fork. */
struct dargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    enum ipcm_role role;
    const size_t *sizes;
    size_t nsizes;
    uint32_t producer;
    uint64_t count;
    size_t msg;      /* fixed size, or the top of a random range */
    bool random_big; /* mpmc: sizes drawn up to msg */
    struct ipcm_ledger *lg;
    int notify;  /* write end of a pipe to report "done" on, or -1 */
    int wait_fd; /* read end to wait on until the parent closes it */
    int drop[2]; /* the parent's pipe ends, closed in the worker */
};

static void *xbuf(size_t n)
{
    return malloc(n ? n : 1);
}

/* Send each size in order (seq = index), then close. */
static int w_send_sizes(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct dargs *a = arg;
    for (size_t i = 0; i < a->nsizes; i++)
        IPCM_WCHECK_EQ(ctx, ipcm_check_send_payload(e, a->sizes[i], 0, i, IPCM_CHECK_T_OP_MS),
                       (ssize_t)a->sizes[i]);
    return 0;
}

/* Echo every message back until end-of-stream (pipe shape, end B). */
static int w_echo(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    (void)arg;
    return ipcm_check_echo(ctx, e, IPCM_CHECK_T_OP_MS);
}

/* Receive and verify one message of the expected size and index. */
static bool expect_msg(struct ipcm_check_ctx *ctx, struct ipcm_chan *c, unsigned char *buf,
                       size_t want, uint64_t idx, int line)
{
    ssize_t n = ipcm_chan_recv(c, buf, ipcm_chan_max_msg(c), IPCM_CHECK_T_OP_MS);
    if (n != (ssize_t)want) {
        ipcm_check_fail_cmp(ctx, __FILE__, line, "recv length == expected", n, (long long)want);
        return false;
    }
    uint32_t prod = 0;
    uint64_t seq = idx;
    int r = ipcm_payload_check(buf, (size_t)n, &prod, &seq);
    atomic_fetch_add(&ctx->sh->messages, 1);
    if (r < 0 || seq != idx) {
        atomic_fetch_add(&ctx->sh->corrupt, 1);
        ipcm_check_failf(ctx, __FILE__, line, "message %llu of %zu B not byte-identical (%s)",
                         (unsigned long long)idx, want, ipcm_err_name(r));
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- 1 */

static void roundtrip_sizes(struct ipcm_check_ctx *ctx)
{
    static const size_t base[] = {0, 1, 7, 8, 4095, 4096, 4097, 65535, 65536, 65537, 1 << 20};
    size_t sizes[16], n = 0, max = ctx->lim->max_msg;
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        if (base[i] <= max)
            sizes[n++] = base[i];
    if (sizes[n - 1] != max)
        sizes[n++] = max;

    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, max, 0);
    if (!l)
        return;
    struct ipcm_process p;
    struct dargs a = {.ctx = ctx, .l = l, .role = IPCM_ROLE_SEND, .sizes = sizes, .nsizes = n};
    bool pipe = ctx->shape == IPCM_SHAPE_PIPE;
    int r = ipcm_check_spawn_end(ctx, &p, "sender", l, pipe ? IPCM_ROLE_B : IPCM_ROLE_SEND,
                                 pipe ? w_echo : w_send_sizes, &a);
    struct ipcm_chan *c = NULL;
    if (r == 0)
        r = ipcm_chan_open(l, pipe ? IPCM_ROLE_A : IPCM_ROLE_RECV, &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_EQ(ctx, r, 0);
    unsigned char *buf = xbuf(max), *out = xbuf(max);
    for (size_t i = 0; i < n; i++) {
        ipcm_check_phase(ctx, "size %zu", sizes[i]);
        if (pipe) {
            ipcm_payload_make(out, sizes[i], 0, i);
            IPCM_CHECK_EQ(ctx, ipcm_chan_send(c, out, sizes[i], IPCM_CHECK_T_OP_MS),
                          (ssize_t)sizes[i]);
        }
        if (!expect_msg(ctx, c, buf, sizes[i], i, __LINE__))
            break;
    }
    if (!ipcm_check_failed(ctx))
        IPCM_CHECK_EQ(
            ctx, pipe ? ipcm_chan_shutdown(c) : ipcm_chan_recv(c, buf, max, IPCM_CHECK_T_OP_MS),
            pipe ? 0 : -EPIPE);
    free(buf);
    free(out);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
}

/* ---------------------------------------------------------------- 2, 3 */

/* Send the given short messages, then close (end-of-stream follows). */
static int w_send_strings(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct dargs *a = arg;
    const char *const *msgs = (const char *const *)(const void *)a->sizes;
    for (size_t i = 0; i < a->nsizes; i++)
        IPCM_WCHECK_EQ(ctx, ipcm_chan_send(e->c, msgs[i], strlen(msgs[i]), IPCM_CHECK_T_OP_MS),
                       (ssize_t)strlen(msgs[i]));
    return 0;
}

static bool readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN);
}

/* Receive strings msgs[] in order (whole, never merged or split), then end-of-stream. */
static void strings_case(struct ipcm_check_ctx *ctx, const char *const *msgs, size_t n,
                         bool join_first)
{
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 256, 0);
    if (!l)
        return;
    struct ipcm_process p;
    struct dargs a = {.ctx = ctx,
                      .l = l,
                      .role = ipcm_check_tx_role(ctx->shape),
                      .sizes = (const size_t *)(const void *)msgs,
                      .nsizes = n};
    int r = ipcm_check_spawn_end(ctx, &p, "sender", l, a.role, w_send_strings, &a);
    struct ipcm_chan *c = NULL;
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_rx_role(ctx->shape), &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_EQ(ctx, r, 0);
    /* boundaries: everything is queued before the reader reads at all. */
    if (join_first)
        IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
    char buf[256];
    int pfd = ipcm_chan_pollfd(c);
    for (size_t i = 0; i < n; i++) {
        if (pfd >= 0)
            IPCM_CHECK(ctx, readable(pfd, IPCM_CHECK_T_OP_MS),
                       "pollfd not readable with message %zu (%zu B) "
                       "pending",
                       i, strlen(msgs[i]));
        ssize_t got = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        IPCM_CHECK_EQ(ctx, got, (ssize_t)strlen(msgs[i]));
        IPCM_CHECK(ctx, memcmp(buf, msgs[i], (size_t)got) == 0, "message %zu content differs", i);
    }
    IPCM_CHECK_EQ(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), -EPIPE);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
}

static void zero_length(struct ipcm_check_ctx *ctx)
{
    static const char *const msgs[] = {"x", "", "yz", ""};
    strings_case(ctx, msgs, 4, false);
}

static void boundaries_not_merged(struct ipcm_check_ctx *ctx)
{
    static const char *const msgs[] = {"a", "b", "cd"};
    strings_case(ctx, msgs, 3, true);
}

/* ---------------------------------------------------------------- 4, 5, 6 */

/* A producer's next message size: a->msg, or with random_big half small (below
 * 4 x PIPE_BUF) and half up to the maximum. */
static size_t producer_size(const struct dargs *a, uint64_t *rs)
{
    if (!a->random_big)
        return a->msg;
    uint64_t r = ipcm_check_rand(rs);
    size_t top = (r & 1) ? a->msg : (a->msg < 16384 ? a->msg : 16384);
    if ((r & 15) == 0)
        return a->msg;
    return IPCM_PAYLOAD_HDR + (size_t)((r >> 1) % (top - IPCM_PAYLOAD_HDR + 1));
}

/* A producer: count messages of a->msg bytes (or random sizes), then close. */
static int w_producer(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct dargs *a = arg;
    uint64_t rs = ctx->seed ^ a->producer;
    for (uint64_t i = 0; i < a->count; i++) {
        size_t sz = producer_size(a, &rs);
        ssize_t n = ipcm_check_send_payload(e, sz, a->producer, i, IPCM_CHECK_T_OP_MS);
        IPCM_WCHECK_EQ(ctx, n, (ssize_t)sz);
    }
    return 0;
}

/* A consumer: verify everything into the ledger until end-of-stream. */
static int w_consumer(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct dargs *a = arg;
    IPCM_WCHECK_EQ(ctx, ipcm_check_consume(ctx, e, a->lg), -EPIPE); /* not an error */
    return 0;
}

/* P producers x C consumers, each producer sending per messages; the parent holds no end. */
void ipcm_check_mpmc(struct ipcm_check_ctx *ctx, enum ipcm_shape shape, unsigned np, unsigned nc,
                     uint64_t per, size_t msg, unsigned depth, bool random_big)
{
    struct ipcm_process procs[128];
    unsigned n = 0;
    struct ipcm_ledger *lg = ipcm_ledger_new(np, per);
    IPCM_CHECK(ctx, lg != NULL, "cannot map the ledger");
    struct ipcm_link *l = ipcm_check_link(ctx, shape, msg, depth);
    if (!l) {
        ipcm_ledger_free(lg);
        return;
    }
    ipcm_check_phase(ctx, "mpmc %ux%u, %llu msgs each of %zu B", np, nc, (unsigned long long)per,
                     msg);
    for (unsigned i = 0; i < nc && !ipcm_check_failed(ctx); i++) {
        struct dargs a = {.ctx = ctx,
                          .l = l,
                          .lg = lg,
                          .role = shape == IPCM_SHAPE_QUEUE ? IPCM_ROLE_RECV : IPCM_ROLE_B};
        if (ipcm_check_spawn_end(ctx, &procs[n], "consumer", l, a.role, w_consumer, &a) == 0)
            n++;
    }
    for (unsigned i = 0; i < np && !ipcm_check_failed(ctx); i++) {
        struct dargs a = {.ctx = ctx,
                          .l = l,
                          .producer = i,
                          .count = per,
                          .msg = msg,
                          .random_big = random_big,
                          .role = shape == IPCM_SHAPE_QUEUE ? IPCM_ROLE_SEND : IPCM_ROLE_A};
        if (ipcm_check_spawn_end(ctx, &procs[n], "producer", l, a.role, w_producer, &a) == 0)
            n++;
    }
    ipcm_link_destroy(l); /* the parent holds nothing: end-of-stream follows the producers */
    int bound = 60000;
    for (unsigned i = 0; i < n; i++)
        if (!ipcm_check_join(ctx, &procs[i], bound, __FILE__, __LINE__))
            bound = 1000; /* one failed: do not wait long for the rest */
    uint64_t sent[128];
    for (unsigned i = 0; i < np; i++)
        sent[i] = ipcm_check_failed(ctx) ? 0 : per;
    long long bad = ipcm_ledger_finish(ctx, lg, sent);
    ipcm_ledger_free(lg);
    if (ipcm_check_failed(ctx))
        return;
    IPCM_CHECK(
        ctx,
        bad == 0 && atomic_load(&ctx->sh->corrupt) == 0 && atomic_load(&ctx->sh->reordered) == 0,
        "%ux%u: lost %lld, duplicated %lld, reordered %lld, corrupt %lld", np, nc,
        (long long)atomic_load(&ctx->sh->lost), (long long)atomic_load(&ctx->sh->duplicated),
        (long long)atomic_load(&ctx->sh->reordered), (long long)atomic_load(&ctx->sh->corrupt));
}

static void fifo_single_producer(struct ipcm_check_ctx *ctx)
{
    ipcm_check_mpmc(ctx, ctx->shape, 1, 1, ctx->quick ? 20000 : 100000, 40, 0, false);
}

static void mpmc_exactly_once(struct ipcm_check_ctx *ctx)
{
    static const unsigned cfg[][2] = {{1, 1}, {1, 4}, {4, 1}, {4, 3}, {4, 4}, {16, 16}};
    unsigned ncfg = ctx->quick ? 5 : 6;
    uint64_t total = ctx->quick ? 8000 : 40000;
    for (unsigned i = 0; i < ncfg && !ipcm_check_failed(ctx); i++)
        ipcm_check_mpmc(ctx, IPCM_SHAPE_QUEUE, cfg[i][0], cfg[i][1], total / cfg[i][0], 64, 0,
                        false);
}

static void mpmc_large_not_torn(struct ipcm_check_ctx *ctx)
{
    size_t max = ctx->lim->max_msg < (1u << 20) ? ctx->lim->max_msg : (1u << 20);
    ipcm_check_mpmc(ctx, IPCM_SHAPE_QUEUE, 4, 4, ctx->quick ? 40 : 200, max, 0, true);
}

/* ---------------------------------------------------------------- 7 */

/* Both ends pump: each sends count messages and receives count, never blocking long,
 * so both directions are in flight at once without sharing an end between threads. */
static int duplex_pump(struct ipcm_check_ctx *ctx, struct ipcm_chan *c, uint32_t me, uint64_t count)
{
    unsigned char out[64], in[256];
    uint64_t sent = 0, got = 0;
    uint64_t deadline = ipcm_now_ns() + ipcm_ms_to_ns(ipcm_check_scaled_ms(ctx, 60000));
    while (sent < count || got < count) {
        bool progress = false;
        if (sent < count) {
            ipcm_payload_make(out, sizeof(out), me, sent);
            ssize_t n = ipcm_chan_send(c, out, sizeof(out), 0);
            if (n == (ssize_t)sizeof(out)) {
                sent++;
                progress = true;
            } else if (n != -EAGAIN) {
                ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "duplex send", n, sizeof(out));
                return 1;
            }
        }
        if (got < count) {
            ssize_t n = ipcm_chan_recv(c, in, sizeof(in), progress ? 0 : 5);
            if (n >= 0) {
                uint32_t prod = 0;
                uint64_t seq = 0;
                if (ipcm_payload_check(in, (size_t)n, &prod, &seq) < 0 || prod == me ||
                    seq != got) {
                    atomic_fetch_add(&ctx->sh->reordered, 1);
                    ipcm_check_failf(ctx, __FILE__, __LINE__,
                                     "duplex: end %u expected seq %llu, got %llu from %u", me,
                                     (unsigned long long)got, (unsigned long long)seq, prod);
                    return 1;
                }
                got++;
                atomic_fetch_add(&ctx->sh->messages, 1);
            } else if (n != -EAGAIN && n != -ETIMEDOUT) {
                ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "duplex recv", n, 0);
                return 1;
            }
        }
        if (ipcm_now_ns() > deadline) {
            ipcm_check_failf(ctx, __FILE__, __LINE__, "duplex: end %u stuck at sent %llu got %llu",
                             me, (unsigned long long)sent, (unsigned long long)got);
            return 1;
        }
    }
    return 0;
}

static int w_duplex(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct dargs *a = arg;
    return duplex_pump(ctx, e->c, 2, a->count);
}

static void duplex_concurrent(struct ipcm_check_ctx *ctx)
{
    uint64_t count = ctx->quick ? 2000 : 10000;
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_PIPE, 256, 0);
    if (!l)
        return;
    struct ipcm_process p;
    struct dargs a = {.ctx = ctx, .l = l, .count = count};
    int r = ipcm_check_spawn_end(ctx, &p, "end B", l, IPCM_ROLE_B, w_duplex, &a);
    struct ipcm_chan *c = NULL;
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_A, &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_EQ(ctx, r, 0);
    duplex_pump(ctx, c, 1, count);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
}

/* ---------------------------------------------------------------- 8 */

static int w_wrong_direction_sender(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e,
                                    const void *arg)
{
    char buf[64];
    (void)arg;
    IPCM_WCHECK_EQ(ctx, ipcm_chan_recv(e->c, buf, sizeof(buf), 0), -EBADF);
    IPCM_WCHECK_EQ(ctx, ipcm_chan_pollfd(e->c), -ENOTSUP);
    IPCM_WCHECK_EQ(ctx, ipcm_chan_send(e->c, "ok", 2, IPCM_CHECK_T_OP_MS), 2);
    return 0;
}

static void simplex_direction_enforced(struct ipcm_check_ctx *ctx)
{
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    if (!l)
        return;
    struct ipcm_process p;
    struct dargs a = {.ctx = ctx, .l = l};
    int r =
        ipcm_check_spawn_end(ctx, &p, "sender", l, IPCM_ROLE_SEND, w_wrong_direction_sender, &a);
    struct ipcm_chan *c = NULL;
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_RECV, &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_EQ(ctx, r, 0);
    char buf[64];
    IPCM_CHECK_EQ(ctx, ipcm_chan_send(c, "x", 1, 0), -EBADF);
    IPCM_CHECK_EQ(ctx, ipcm_chan_shutdown(c), 0); /* a receiver has nothing to shut */
    IPCM_CHECK_EQ(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), 2);
    IPCM_CHECK_EQ(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), -EPIPE);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
}

/* ---------------------------------------------------------------- 9, 10 */

static void peer_sends_sizes(struct ipcm_check_ctx *ctx, const size_t *sizes, size_t n, size_t max,
                             struct ipcm_process *p, struct ipcm_chan **c)
{
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, max, 0);
    *c = NULL;
    if (!l)
        return;
    struct dargs a = {
        .ctx = ctx, .l = l, .role = ipcm_check_tx_role(ctx->shape), .sizes = sizes, .nsizes = n};
    int r = ipcm_check_spawn_end(ctx, p, "sender", l, a.role, w_send_sizes, &a);
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_rx_role(ctx->shape), c);
    ipcm_link_destroy(l);
    if (r < 0)
        ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "open receiving end", r, 0);
}

static void buffer_too_small(struct ipcm_check_ctx *ctx)
{
    static const size_t sizes[] = {110};
    struct ipcm_process p = {0};
    struct ipcm_chan *c;
    peer_sends_sizes(ctx, sizes, 1, 4096, &p, &c);
    if (!c)
        return;
    unsigned char small[40], *buf = xbuf(4096);
    /* Refused before the channel is touched: the message stays the next one. */
    ssize_t r = ipcm_chan_recv(c, small, sizeof(small), IPCM_CHECK_T_OP_MS);
    if (r == -EMSGSIZE)
        r = expect_msg(ctx, c, buf, 110, 0, __LINE__) ? 0 : -1;
    else
        ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "recv into 40 B == -EMSGSIZE", r, -EMSGSIZE);
    free(buf);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
}

static void recv_into_offset(struct ipcm_check_ctx *ctx)
{
    static const size_t sizes[] = {100};
    struct ipcm_process p = {0};
    struct ipcm_chan *c;
    peer_sends_sizes(ctx, sizes, 1, 256, &p, &c);
    if (!c)
        return;
    unsigned char buf[16 + 256 + 16];
    memset(buf, 0xee, sizeof(buf));
    ssize_t n = ipcm_chan_recv(c, buf + 16, 256, IPCM_CHECK_T_OP_MS);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
    IPCM_CHECK_EQ(ctx, n, 100);
    uint32_t prod = 0;
    uint64_t seq = 0;
    IPCM_CHECK_EQ(ctx, ipcm_payload_check(buf + 16, 100, &prod, &seq), 0);
    for (size_t i = 0; i < 16; i++)
        IPCM_CHECK_EQ(ctx, buf[i], 0xee);
    for (size_t i = 16 + 100; i < sizeof(buf); i++)
        IPCM_CHECK_EQ(ctx, buf[i], 0xee);
}

/* ---------------------------------------------------------------- 11 */

/* Receive the echo of a slice into a slice of a guarded buffer: the bytes land at the
 * offset, equal to the slice sent, and nothing around them changes. */
static bool expect_echo(struct ipcm_check_ctx *ctx, struct ipcm_chan *c, const unsigned char *want,
                        size_t n, int line)
{
    size_t max = ipcm_chan_max_msg(c), len = 3 + max + 5;
    unsigned char *in = xbuf(len);
    memset(in, 0xee, len);
    ssize_t got = ipcm_chan_recv_slice(c, in, len, 3, max, IPCM_CHECK_T_OP_MS);
    bool ok = got == (ssize_t)n && (n == 0 || memcmp(in + 3, want, n) == 0);
    for (size_t i = 0; ok && i < len; i++)
        if ((i < 3 || i >= 3 + n) && in[i] != 0xee)
            ok = false;
    if (!ok)
        ipcm_check_failf(ctx, __FILE__, line, "slice of %zu B came back as %zd B%s", n, got,
                         got == (ssize_t)n ? ", other bytes or outside it touched" : "");
    else
        atomic_fetch_add(&ctx->sh->messages, 1);
    free(in);
    return ok;
}

static void send_slice_validation(struct ipcm_check_ctx *ctx)
{
    enum { LEN = 200 };
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_PIPE, 256, 0);
    if (!l)
        return;
    struct ipcm_process p;
    int r = ipcm_check_spawn_end(ctx, &p, "echo", l, IPCM_ROLE_B, w_echo, NULL);
    struct ipcm_chan *c = NULL;
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_A, &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_EQ(ctx, r, 0);
    unsigned char buf[LEN];
    for (size_t i = 0; i < LEN; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    /* Valid slices, edges included: whole, empty at the start and at the end, the last
     * byte, a middle piece. Each comes back exactly (echoed, received into a slice). */
    static const size_t ok[][2] = {{0, LEN}, {0, 0}, {LEN, 0}, {LEN - 1, 1}, {17, 100}};
    for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]) && !ipcm_check_failed(ctx); k++) {
        ipcm_check_phase(ctx, "slice (%zu, %zu)", ok[k][0], ok[k][1]);
        ssize_t n = ipcm_chan_send_slice(c, buf, LEN, ok[k][0], ok[k][1], IPCM_CHECK_T_OP_MS);
        IPCM_CHECK_OP_(ctx, n, ==, (ssize_t)ok[k][1], break);
        if (!expect_echo(ctx, c, buf + ok[k][0], ok[k][1], __LINE__))
            break;
    }
    /* Invalid ones: offset past the end, a size running past it, "negative" values (as
     * size_t, so off + size would wrap to a small number), a slice above max_msg. Each
     * fails at once with an argument error naming the numbers, and sends nothing. */
    static const size_t bad[][2] = {{LEN + 1, 0},          {LEN, 1},        {1, LEN},
                                    {(size_t)-1, 1},       {1, (size_t)-1}, {(size_t)-8, 16},
                                    {(size_t)-1, (size_t)-1}};
    unsigned char big[300] = {0};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]) && !ipcm_check_failed(ctx); k++) {
        ipcm_check_phase(ctx, "bad slice (%zu, %zu)", bad[k][0], bad[k][1]);
        ssize_t n = ipcm_chan_send_slice(c, buf, LEN, bad[k][0], bad[k][1], 0);
        const char *why = ipcm_last_error((int)n);
        IPCM_CHECK_OP_(ctx, n, ==, -EINVAL, break);
        IPCM_CHECK_OP_(ctx, why && strstr(why, "offset") && strstr(why, "200 bytes"), !=, 0,
                       break);
    }
    if (!ipcm_check_failed(ctx)) {
        ssize_t n = ipcm_chan_send_slice(c, big, sizeof(big), 0, 257, 0);
        const char *why = ipcm_last_error((int)n);
        IPCM_CHECK_OP_(ctx, n, ==, -EMSGSIZE, );
        IPCM_CHECK_OP_(ctx, why && strstr(why, "257") && strstr(why, "256"), !=, 0, );
        IPCM_CHECK_OP_(ctx, ipcm_chan_send_slice(c, NULL, 5, 0, 1, 0), ==, -EINVAL, );
        /* A receive slice must hold max_msg and lie inside its buffer. */
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv_slice(c, big, sizeof(big), 0, 255, 0), ==, -EMSGSIZE, );
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv_slice(c, big, sizeof(big), 100, 256, 0), ==, -EINVAL, );
    }
    /* Nothing was sent by a refused call: the next message echoed is the marker. */
    if (!ipcm_check_failed(ctx)) {
        ipcm_check_phase(ctx, "marker after the refused slices");
        static const unsigned char mark[] = "marker";
        IPCM_CHECK_OP_(ctx, ipcm_chan_send_slice(c, mark, sizeof(mark), 1, 4, IPCM_CHECK_T_OP_MS),
                       ==, 4, );
        if (!ipcm_check_failed(ctx))
            expect_echo(ctx, c, mark + 1, 4, __LINE__);
        if (!ipcm_check_failed(ctx))
            IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, big, sizeof(big), 0), ==, -EAGAIN, );
    }
    ipcm_chan_shutdown(c);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
}

/* ---------------------------------------------------------------- 12, 13, 14, 15 */

static void large_16mib(struct ipcm_check_ctx *ctx)
{
    const size_t big = 16u << 20;
    if (ctx->lim->max_msg >= big) {
        static const size_t sizes[] = {16u << 20};
        struct ipcm_process p = {0};
        struct ipcm_chan *c;
        peer_sends_sizes(ctx, sizes, 1, big, &p, &c);
        if (!c)
            return;
        unsigned char *buf = xbuf(big);
        expect_msg(ctx, c, buf, big, 0, __LINE__);
        free(buf);
        ipcm_chan_close(c);
        IPCM_CHECK_JOIN(ctx, &p, 60000);
        return;
    }
    /* The backend's limit is below 16 MiB: refused up front, with the limit named. */
    struct ipcm_config cfg = {.max_msg = big};
    struct ipcm_link *l = NULL;
    IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, &cfg, &l), -EMSGSIZE);
    IPCM_CHECK(ctx, ctx->lim->max_msg_source[0] != '\0', "the limit's source is not named");
    l = ipcm_check_link(ctx, ctx->shape, ctx->lim->max_msg, 0);
    if (!l)
        return;
    struct ipcm_chan *c;
    IPCM_CHECK_EQ(ctx, ipcm_chan_open(l, ipcm_check_tx_role(ctx->shape), &c), 0);
    ipcm_link_destroy(l);
    char tiny[8] = {0};
    /* The length is refused before the buffer is read, so a small buffer is safe. */
    ssize_t r = ipcm_chan_send(c, tiny, big, 0);
    ipcm_chan_close(c);
    IPCM_CHECK_EQ(ctx, r, -EMSGSIZE);
}

static void huge_over_2gib(struct ipcm_check_ctx *ctx)
{
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 0, 0);
    if (!l)
        return;
    struct ipcm_chan *c;
    IPCM_CHECK_EQ(ctx, ipcm_chan_open(l, ipcm_check_tx_role(ctx->shape), &c), 0);
    ipcm_link_destroy(l);
    char tiny[8] = {0};
    ssize_t r = ipcm_chan_send(c, tiny, ((size_t)1 << 31) + 16, 0);
    ipcm_chan_close(c);
    IPCM_CHECK_EQ(ctx, r, -EMSGSIZE);
}

static const char *huge_applies(const struct ipcm_check_env *env, char *why, size_t len)
{
    (void)why, (void)len;
    return env->lim.max_msg > ((size_t)1 << 31) ? "max_msg above 2 GiB: needs a 2 GiB buffer"
                                                : NULL;
}

/* Sender for 14 and 15: max, then max+1 (refused), then a small one. */
static int w_declared_max(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    size_t max = e->max;
    (void)arg;
    IPCM_WCHECK_EQ(ctx, ipcm_check_send_payload(e, max, 0, 0, IPCM_CHECK_T_OP_MS), (ssize_t)max);
    IPCM_WCHECK_EQ(ctx, ipcm_chan_send(e->c, e->buf, max + 1, IPCM_CHECK_T_OP_MS), -EMSGSIZE);
    IPCM_WCHECK_EQ(ctx, ipcm_check_send_payload(e, 64, 0, 1, IPCM_CHECK_T_OP_MS), 64);
    return 0;
}

static void declared_max(struct ipcm_check_ctx *ctx)
{
    size_t max = ctx->lim->max_msg;
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, max, 0);
    if (!l)
        return;
    struct ipcm_process p;
    struct dargs a = {.ctx = ctx, .l = l, .role = ipcm_check_tx_role(ctx->shape)};
    int r = ipcm_check_spawn_end(ctx, &p, "sender", l, a.role, w_declared_max, &a);
    struct ipcm_chan *c = NULL;
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_rx_role(ctx->shape), &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_EQ(ctx, r, 0);
    unsigned char *buf = xbuf(max);
    if (expect_msg(ctx, c, buf, max, 0, __LINE__) && expect_msg(ctx, c, buf, 64, 1, __LINE__))
        r = (int)ipcm_chan_recv(c, buf, max, IPCM_CHECK_T_OP_MS);
    free(buf);
    ipcm_chan_close(c);
    IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
    IPCM_CHECK_EQ(ctx, r, -EPIPE);
}

/* 15: a refused put takes no capacity: fill to depth - 1, fail one, one more still fits. */
static void failed_put_keeps_capacity(struct ipcm_check_ctx *ctx)
{
    unsigned depth = ctx->lim->max_depth ? ctx->lim->default_depth : 4;
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 64, depth);
    if (!l)
        return;
    struct ipcm_chan *c;
    IPCM_CHECK_EQ(ctx, ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), 0);
    ipcm_link_destroy(l);
    unsigned char buf[128];
    unsigned k = 0;
    for (; k + 1 < depth; k++) {
        ipcm_payload_make(buf, 64, 0, k);
        IPCM_CHECK_EQ(ctx, ipcm_chan_send(c, buf, 64, 0), 64);
    }
    IPCM_CHECK_EQ(ctx, ipcm_chan_send(c, buf, 65, 0), -EMSGSIZE);
    ipcm_payload_make(buf, 64, 0, k++);
    IPCM_CHECK_EQ(ctx, ipcm_chan_send(c, buf, 64, 0), 64);
    for (unsigned i = 0; i < k; i++)
        if (!expect_msg(ctx, c, buf, 64, i, __LINE__))
            break;
    IPCM_CHECK_EQ(ctx, ipcm_chan_recv(c, buf, sizeof(buf), 0), -EAGAIN);
    ipcm_chan_close(c);
}

/* ---------------------------------------------------------------- 16 */

static int w_put_then_notify(const void *arg, size_t len)
{
    const struct dargs *a = arg;
    struct ipcm_chan *c;
    (void)len;
    close(a->drop[0]);
    close(a->drop[1]);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, IPCM_ROLE_SEND, &c), 0);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_send(c, "visible", 7, IPCM_CHECK_T_OP_MS), 7);
    IPCM_WCHECK_EQ(a->ctx, write(a->notify, "!", 1), 1);
    /* Stay attached: the message must be visible while the sender still lives. */
    char b;
    IPCM_WCHECK_EQ(a->ctx, read(a->wait_fd, &b, 1), 0);
    ipcm_chan_close(c);
    return 0;
}

static void put_visible_after_return(struct ipcm_check_ctx *ctx)
{
    int note[2], hold[2];
    IPCM_CHECK_EQ(ctx, pipe2(note, O_CLOEXEC), 0);
    if (pipe2(hold, O_CLOEXEC) < 0) {
        close(note[0]);
        close(note[1]);
        IPCM_CHECK(ctx, false, "pipe2 failed");
    }
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    struct ipcm_process p = {0};
    struct dargs a = {
        .ctx = ctx, .l = l, .notify = note[1], .wait_fd = hold[0], .drop = {note[0], hold[1]}};
    int r = l ? ipcm_check_spawn(ctx, &p, "producer", w_put_then_notify, &a, sizeof(a)) : -1;
    close(note[1]);
    close(hold[0]);
    struct ipcm_chan *c = NULL;
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_RECV, &c);
    ipcm_link_destroy(l);
    char b, buf[64];
    ssize_t got = -1;
    /* The producer said its put returned and it is still alive: try once, no waiting. */
    if (r == 0 && read(note[0], &b, 1) == 1)
        got = ipcm_chan_recv(c, buf, sizeof(buf), 0);
    close(note[0]);
    close(hold[1]); /* release the producer */
    ipcm_chan_close(c);
    if (p.pid > 0)
        IPCM_CHECK_JOIN(ctx, &p, IPCM_CHECK_T_OP_MS);
    IPCM_CHECK_EQ(ctx, r, 0);
    IPCM_CHECK_EQ(ctx, got, 7);
}

/* ---------------------------------------------------------------- table */

const struct ipcm_check_case ipcm_check_cases_delivery[] = {
    {"delivery.roundtrip_sizes", 1, "sizes 0..1 MiB and the declared max arrive byte-identical",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 60000, roundtrip_sizes, NULL, NULL},
    {"delivery.zero_length", 2, "an empty message is a message, not end-of-stream", IPCM_CHECK_QP,
     0, IPCM_CHECK_QUICK, 20000, zero_length, NULL, NULL},
    {"delivery.boundaries_not_merged", 3, "a, b, cd queued before reading arrive as 1, 1, 2 B",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 20000, boundaries_not_merged, NULL, NULL},
    {"order.fifo_single_producer", 4, "100,000 sequence-numbered messages arrive in order",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 90000, fifo_single_producer, NULL, NULL},
    {"order.mpmc_exactly_once", 5,
     "PxC (1x1, 1x4, 4x1, 4x3, 4x4, 16x16): exactly once, per-producer order", IPCM_CHECK_Q, 0,
     IPCM_CHECK_QUICK, 120000, mpmc_exactly_once, NULL, NULL},
    {"delivery.mpmc_large_not_torn", 6, "4x4 with sizes up to the max: no message torn",
     IPCM_CHECK_Q, 0, 0, 120000, mpmc_large_not_torn, NULL, NULL},
    {"delivery.duplex_concurrent", 7, "both ends send and receive at once, each in order",
     IPCM_CHECK_P, 0, IPCM_CHECK_QUICK, 60000, duplex_concurrent, NULL, NULL},
    {"delivery.simplex_direction_enforced", 8,
     "send on a receive-only end, recv/poll on a send-only end: immediate -EBADF/-ENOTSUP",
     IPCM_CHECK_Q, 0, 0, 20000, simplex_direction_enforced, NULL, NULL},
    {"delivery.buffer_too_small", 9, "a 40 B buffer gets -EMSGSIZE; the 110 B message is kept",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 20000, buffer_too_small, NULL, NULL},
    {"delivery.recv_into_offset", 10, "bytes land at the caller's offset, the rest untouched",
     IPCM_CHECK_P, 0, 0, 20000, recv_into_offset, NULL, NULL},
    {"delivery.send_slice_validation", 11,
     "(offset, size) slices arrive exactly; bad ones -EINVAL, nothing sent", IPCM_CHECK_P, 0,
     IPCM_CHECK_QUICK, 20000, send_slice_validation, NULL, NULL},
    {"limits.large_16mib", 12, "16 MiB arrives intact, or is refused up front naming the limit",
     IPCM_CHECK_QP, 0, 0, 60000, large_16mib, NULL, NULL},
    {"limits.huge_over_2gib", 13, "a 2 GiB + 16 B message is refused with -EMSGSIZE in the caller",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 20000, huge_over_2gib, NULL, huge_applies},
    {"limits.declared_max", 14,
     "the declared max succeeds, max+1 is -EMSGSIZE, channel still works", IPCM_CHECK_QP, 0,
     IPCM_CHECK_QUICK, 60000, declared_max, NULL, NULL},
    {"limits.failed_put_keeps_capacity", 15,
     "a refused put is synchronous and takes no capacity; the next put is delivered", IPCM_CHECK_Q,
     0, IPCM_CHECK_QUICK, 20000, failed_put_keeps_capacity, NULL, NULL},
    {"delivery.put_visible_after_return", 16,
     "a returned put is visible to a non-blocking get in another process", IPCM_CHECK_Q, 0, IPCM_CHECK_LIBBUF,
     20000, put_visible_after_return, NULL, NULL},
    {0},
};
