/* SPDX-License-Identifier: MIT */
/*
 * cases_close.c - conformance group C (CONFORMANCE.md §5, 32-44): close, end-of-stream,
 * shutdown and lifetime: a closed or vanished peer is an error, never a hang or a death.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- 32 */

static void eof_after_close(struct ipcm_check_ctx *ctx)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_with_peer(ctx, 256, 5, 64, &peer);
    if (!c)
        return;
    bool joined = ipcm_check_peer_release(ctx, &peer); /* sends 5, closes, exits */
    unsigned char buf[256];
    for (uint64_t i = 0; joined && i < 5; i++) {
        ssize_t n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        uint32_t p = 0;
        uint64_t s = 0;
        IPCM_CHECK_OP_(ctx, n, ==, 64, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, 64, &p, &s) == 0 && s == i, ==, 1, goto out);
    }
    for (int i = 0; joined && i < 3; i++)
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), i == 1 ? 0 : IPCM_CHECK_T_OP_MS),
                       ==, -EPIPE, goto out);
out:
    ipcm_chan_close(c);
}

/* ---------------------------------------------------------------- 34 */

static void send_to_closed_peer(struct ipcm_check_ctx *ctx)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_open_pair(ctx, ctx->shape, 256, ipcm_check_tx_role(ctx->shape),
                                               ipcm_check_rx_role(ctx->shape), 0, 64, &peer);
    if (!c)
        return;
    bool joined = ipcm_check_peer_release(ctx, &peer);
    /* SIGPIPE is at its default disposition here: a backend that lets it through kills
     * this process and the runner reports the signal. */
    unsigned char buf[64] = {0};
    ssize_t r1 = joined ? ipcm_chan_send(c, buf, sizeof(buf), 1000) : -EPIPE;
    ssize_t r2 = joined ? ipcm_chan_send(c, buf, sizeof(buf), 0) : -EPIPE;
    ipcm_chan_close(c);
    IPCM_CHECK_EQ(ctx, r1, -EPIPE);
    IPCM_CHECK_EQ(ctx, r2, -EPIPE);
}

/* ---------------------------------------------------------------- 35 */

static void idempotent_use_after_close(struct ipcm_check_ctx *ctx)
{
    bool pipe = ctx->shape == IPCM_SHAPE_PIPE;
    struct ipcm_check_peer peer;
    /* The peer sends one message so a pipe end can show it still receives after its
     * own shutdown. */
    struct ipcm_chan *c =
        ipcm_check_open_pair(ctx, ctx->shape, 256, ipcm_check_tx_role(ctx->shape),
                             ipcm_check_rx_role(ctx->shape), pipe ? 1 : 0, 64, &peer);
    if (!c)
        return;
    unsigned char buf[256] = {0};
    int s1 = ipcm_chan_shutdown(c), s2 = ipcm_chan_shutdown(c);
    ssize_t sent = ipcm_chan_send(c, buf, 64, 0);
    ssize_t got = pipe ? ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS) : 64;
    ipcm_chan_close(c);
    ipcm_chan_close(NULL); /* documented as accepted */
    ssize_t on_null = ipcm_chan_send(NULL, buf, 1, 0);
    ipcm_check_peer_release(ctx, &peer);
    IPCM_CHECK_EQ(ctx, s1, 0);
    IPCM_CHECK_EQ(ctx, s2, 0);
    IPCM_CHECK_EQ(ctx, sent, -EBADF);
    IPCM_CHECK_EQ(ctx, got, 64);
    IPCM_CHECK_EQ(ctx, on_null, -EBADF);
}

/* ---------------------------------------------------------------- 36 */

static void peer_closes_with_unread_data(struct ipcm_check_ctx *ctx)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c =
        ipcm_check_open_pair(ctx, IPCM_SHAPE_PIPE, 256, IPCM_ROLE_A, IPCM_ROLE_B, 5, 64, &peer);
    if (!c)
        return;
    unsigned char buf[256] = {0};
    ssize_t sent = ipcm_chan_send(c, buf, 64, IPCM_CHECK_T_OP_MS); /* B never reads this */
    bool joined = ipcm_check_peer_release(ctx, &peer);
    ssize_t got[6] = {0};
    for (int i = 0; joined && i < 6; i++)
        got[i] = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
    ipcm_chan_close(c);
    IPCM_CHECK_EQ(ctx, sent, 64);
    for (int i = 0; joined && i < 5; i++)
        IPCM_CHECK_EQ(ctx, got[i], 64);
    if (joined)
        IPCM_CHECK_EQ(ctx, got[5], -EPIPE);
}

/* ---------------------------------------------------------------- 40 */

struct cargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    enum ipcm_role role;
    int delay_ms;
    bool die;
    size_t size;
    _Atomic uint64_t *stamp; /* shared: when the worker went away / its count */
};

static int w_go_away(const void *arg, size_t len)
{
    const struct cargs *a = arg;
    struct ipcm_chan *c;
    (void)len;
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, a->role, &c), 0);
    ipcm_sleep_ms(a->delay_ms);
    uint64_t now = ipcm_now_ns();
    uint64_t prev = atomic_load(a->stamp);
    while (prev < now && !atomic_compare_exchange_weak(a->stamp, &prev, now))
        ;
    if (a->die)
        raise(SIGKILL);
    return 0; /* exit without closing: the kernel closes the end */
}

static void producers_gone_wake_consumer(struct ipcm_check_ctx *ctx)
{
    _Atomic uint64_t *stamp = ipcm_shared_alloc(64);
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    struct ipcm_process p[2] = {{0}, {0}};
    struct ipcm_chan *c = NULL;
    int r = l ? 0 : -EINVAL;
    for (int i = 0; i < 2 && r == 0; i++) {
        struct cargs a = {.ctx = ctx,
                          .l = l,
                          .role = IPCM_ROLE_SEND,
                          .delay_ms = 150 + 150 * i,
                          .die = i == 1,
                          .stamp = stamp};
        r = ipcm_check_spawn(ctx, &p[i], i ? "producer (killed)" : "producer (exits)", w_go_away,
                             &a, sizeof(a));
    }
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_RECV, &c);
    ipcm_link_destroy(l);
    unsigned char buf[64];
    ssize_t n = r == 0 ? ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS) : r;
    uint64_t back = ipcm_now_ns();
    ipcm_chan_close(c);
    struct ipcm_exit ex;
    ipcm_check_reap(&p[0], IPCM_CHECK_T_OP_MS, &ex);
    ipcm_check_reap(&p[1], IPCM_CHECK_T_OP_MS, &ex);
    uint64_t gone = atomic_load(stamp);
    ipcm_shared_free(stamp, 64);
    IPCM_CHECK_EQ(ctx, n, -EPIPE);
    IPCM_CHECK_LT(ctx, (back - gone) / IPCM_NS_PER_MS, 1000);
}

/* ---------------------------------------------------------------- 42, 43 */

static int w_fill_and_exit(const void *arg, size_t len)
{
    const struct cargs *a = arg;
    struct ipcm_check_end e;
    (void)len;
    IPCM_WCHECK_OPEN(a->ctx, a->l, a->role, &e);
    uint64_t k = 0;
    for (;; k++) {
        /* Tiny deadline: the point is what happens once the buffer is full. */
        ssize_t r = ipcm_check_send_payload(&e, a->size, 0, k, a->delay_ms);
        if (r == -EAGAIN || r == -ETIMEDOUT)
            break;
        IPCM_WCHECK_EQ(a->ctx, r, (ssize_t)a->size);
        IPCM_WCHECK(a->ctx, k < 1000000, "a million sends never filled the channel");
    }
    free(e.buf); /* but the end stays open */
    atomic_store(a->stamp, k);
    return 0; /* return from main with undrained data; the kernel closes the end */
}

/* The worker fills the channel and exits; we join it before reading anything. */
static void fill_exit_then_read(struct ipcm_check_ctx *ctx, enum ipcm_shape shape, size_t size,
                                int send_timeout_ms)
{
    _Atomic uint64_t *count = ipcm_shared_alloc(64);
    struct ipcm_link *l = ipcm_check_link(ctx, shape, size, 0);
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    struct cargs a = {.ctx = ctx,
                      .l = l,
                      .role = ipcm_check_tx_role(shape),
                      .size = size,
                      .delay_ms = send_timeout_ms,
                      .stamp = count};
    int r = l ? ipcm_check_spawn(ctx, &p, "filler", w_fill_and_exit, &a, sizeof(a)) : -EINVAL;
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_rx_role(shape), &c);
    ipcm_link_destroy(l);
    if (r == 0 && ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__)) {
        unsigned char *buf = malloc(size);
        uint64_t k = atomic_load(count);
        for (uint64_t i = 0; i < k; i++) {
            ssize_t n = ipcm_chan_recv(c, buf, size, IPCM_CHECK_T_OP_MS);
            uint32_t pr = 0;
            uint64_t s = 0;
            if (n != (ssize_t)size || ipcm_payload_check(buf, size, &pr, &s) < 0 || s != i) {
                ipcm_check_failf(ctx, __FILE__, __LINE__,
                                 "message %llu of %llu after the sender exited: %zd",
                                 (unsigned long long)i, (unsigned long long)k, n);
                break;
            }
            atomic_fetch_add(&ctx->sh->messages, 1);
        }
        if (!ipcm_check_failed(ctx))
            IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, size, IPCM_CHECK_T_OP_MS), ==, -EPIPE,
                           (void)0);
        free(buf);
    }
    ipcm_chan_close(c);
    ipcm_check_reap(&p, 1000, NULL);
    ipcm_shared_free(count, 64);
    IPCM_CHECK_EQ(ctx, r, 0);
}

static void exit_with_undrained(struct ipcm_check_ctx *ctx)
{
    fill_exit_then_read(ctx, IPCM_SHAPE_QUEUE, 1024, 0);
}

static void read_before_reap(struct ipcm_check_ctx *ctx)
{
    size_t size = ctx->lim->max_msg < 65536 ? ctx->lim->max_msg : 65536;
    fill_exit_then_read(ctx, IPCM_SHAPE_PIPE, size, 300);
}

/* ---------------------------------------------------------------- 44 */

struct both_args {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    size_t size;
    _Atomic uint64_t *count; /* [0] sent by A, [1] sent by B, [2] got by B */
};

#define DONE_BIT (1ull << 62)

/* Send size-byte messages until a 300 ms deadline expires; once the other end has
 * finished too, drain exactly what it sent. Returns how many arrived, or -1 after
 * recording a failure. */
static long send_all_then_drain(struct ipcm_check_ctx *ctx, struct ipcm_chan *c, size_t size,
                                _Atomic uint64_t *mine, _Atomic uint64_t *theirs)
{
    unsigned char *buf = malloc(size);
    uint64_t k = 0;
    long got = 0;
    for (;; k++) {
        ipcm_payload_make(buf, size, 0, k);
        ssize_t r = ipcm_chan_send(c, buf, size, 300);
        if (r == -ETIMEDOUT)
            break;
        if (r != (ssize_t)size || k > 100000) {
            ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "send while filling", r, (long)size);
            atomic_store(mine, DONE_BIT);
            free(buf);
            return -1;
        }
    }
    atomic_store(mine, k | DONE_BIT);
    uint64_t deadline = ipcm_now_ns() + 20 * IPCM_NS_PER_S;
    while (!(atomic_load(theirs) & DONE_BIT) && ipcm_now_ns() < deadline)
        ipcm_sleep_ms(2);
    uint64_t want = atomic_load(theirs) & ~DONE_BIT;
    for (uint64_t i = 0; i < want; i++) {
        ssize_t r = ipcm_chan_recv(c, buf, size, IPCM_CHECK_T_OP_MS);
        if (r != (ssize_t)size) {
            ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "drain", r, (long)size);
            free(buf);
            return -1;
        }
        got++;
    }
    free(buf);
    return got;
}

static int w_both_b(const void *arg, size_t len)
{
    const struct both_args *a = arg;
    struct ipcm_chan *c;
    (void)len;
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, IPCM_ROLE_B, &c), 0);
    long got = send_all_then_drain(a->ctx, c, a->size, &a->count[1], &a->count[0]);
    atomic_store(&a->count[2], (uint64_t)got);
    ipcm_chan_close(c);
    return got < 0;
}

static void duplex_both_send_large(struct ipcm_check_ctx *ctx)
{
    size_t size = ctx->lim->max_msg < 262144 ? ctx->lim->max_msg : 262144;
    _Atomic uint64_t *count = ipcm_shared_alloc(64);
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_PIPE, size, 0);
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    struct both_args a = {.ctx = ctx, .l = l, .size = size, .count = count};
    int r = l ? ipcm_check_spawn(ctx, &p, "end B", w_both_b, &a, sizeof(a)) : -EINVAL;
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_A, &c);
    ipcm_link_destroy(l);
    long got = r == 0 ? send_all_then_drain(ctx, c, size, &count[0], &count[1]) : -1;
    ipcm_chan_close(c);
    if (p.pid > 0)
        ipcm_check_join(ctx, &p, 30000, __FILE__, __LINE__);
    uint64_t a_sent = atomic_load(&count[0]) & ~DONE_BIT;
    uint64_t b_sent = atomic_load(&count[1]) & ~DONE_BIT;
    uint64_t b_got = atomic_load(&count[2]);
    ipcm_shared_free(count, 64);
    IPCM_CHECK_EQ(ctx, r, 0);
    IPCM_CHECK_EQ(ctx, (uint64_t)got, b_sent);
    IPCM_CHECK_EQ(ctx, b_got, a_sent);
}

/* ---------------------------------------------------------------- 38, 39 */

/* What a queue worker of cases 38 and 39 does. */
enum qact { QW_FILL, QW_PUT_BLOCKED, QW_GET_BLOCKED, QW_SHUTDOWN };
struct qargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_queue *q; /* the case process's pointer, valid in the forked copy */
    enum qact act;
    _Atomic long long *filled; /* QW_FILL: how many fit */
    _Atomic uint64_t *back;    /* blocked workers: the latest return, ns */
};

static int qw_fill(struct ipcm_check_ctx *ctx, struct ipcm_queue *q, _Atomic long long *filled)
{
    unsigned char m[64] = {0};
    long long n = 0;
    ssize_t r;
    while ((r = ipcm_queue_put(q, m, sizeof(m), 0)) == (ssize_t)sizeof(m) && n < 1000000)
        n++;
    IPCM_WCHECK_EQ(ctx, r, -EAGAIN);
    IPCM_WCHECK_GE(ctx, n, 1);
    atomic_store(filled, n);
    return 0;
}

static int w_queue(const void *arg, size_t len)
{
    struct qargs a;
    unsigned char m[64] = {0};
    ssize_t r = 0;
    if (len != sizeof(a))
        return 99;
    memcpy(&a, arg, sizeof(a));
    if (a.act != QW_SHUTDOWN) {
        r = ipcm_queue_attach(a.q, a.act == QW_GET_BLOCKED ? IPCM_ROLE_RECV : IPCM_ROLE_SEND);
        IPCM_WCHECK_EQ(a.ctx, r, 0);
    }
    if (a.act == QW_FILL)
        return qw_fill(a.ctx, a.q, a.filled);
    if (a.act == QW_SHUTDOWN)
        r = ipcm_queue_shutdown(a.q, false);
    else if (a.act == QW_PUT_BLOCKED)
        r = ipcm_queue_put(a.q, m, sizeof(m), IPCM_CHECK_T_OP_MS) == -EPIPE ? 0 : -EPROTO;
    else
        r = ipcm_queue_get(a.q, m, sizeof(m), IPCM_CHECK_T_OP_MS) == -EPIPE ? 0 : -EPROTO;
    uint64_t now = ipcm_now_ns(), seen = a.back ? atomic_load(a.back) : 0;
    while (a.back && now > seen && !atomic_compare_exchange_weak(a.back, &seen, now))
        ;
    IPCM_WCHECK_EQ(a.ctx, r, 0);
    return 0;
}

/* A queue of 64-byte messages at the smallest depth, or NULL with the cause recorded. */
static struct ipcm_queue *check_queue(struct ipcm_check_ctx *ctx)
{
    struct ipcm_config cfg = {.max_msg = 64, .depth = 1};
    struct ipcm_queue *q = NULL;
    int r = ipcm_queue_create(ctx->be, &cfg, 0, &q);
    if (r < 0 && ipcm_check_env_reason(r))
        ipcm_check_envf(ctx, "queue create: %s", ipcm_check_env_reason(r));
    else if (r < 0)
        ipcm_check_failf(ctx, __FILE__, __LINE__, "queue create: %s", ipcm_strerror(r));
    return q;
}

/* Spawn n workers doing act on q; returns 0 or the spawn's error (recorded). */
static int queue_workers(struct ipcm_check_ctx *ctx, struct ipcm_process *p, unsigned n,
                         const struct qargs *a)
{
    for (unsigned i = 0; i < n; i++) {
        int r = ipcm_check_spawn(ctx, &p[i], "queue worker", w_queue, a, sizeof(*a));
        if (r < 0)
            return r;
    }
    return 0;
}

/* Fill q from a worker (the case process stays unattached, so later forks are clean) and
 * block two putters on it. Returns how many fit, or -1 (recorded). */
static long long fill_and_block(struct ipcm_check_ctx *ctx, struct ipcm_queue *q,
                                struct ipcm_process *put, _Atomic uint64_t *back)
{
    _Atomic long long *filled = ipcm_shared_alloc(64);
    struct ipcm_process f = {0};
    struct qargs a = {ctx, q, QW_FILL, filled, NULL};
    long long n = -1;
    if (!filled)
        return -1;
    if (queue_workers(ctx, &f, 1, &a) == 0 &&
        ipcm_check_join(ctx, &f, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__)) {
        n = atomic_load(filled);
        a = (struct qargs){ctx, q, QW_PUT_BLOCKED, NULL, back};
        if (queue_workers(ctx, put, 2, &a) < 0)
            n = -1;
        ipcm_sleep_ms(100); /* let them block; only what follows the shutdown is checked */
    }
    ipcm_shared_free(filled, 64);
    return n;
}

static void queue_graceful_shutdown(struct ipcm_check_ctx *ctx)
{
    struct ipcm_queue *q = check_queue(ctx);
    _Atomic uint64_t *back = ipcm_shared_alloc(64);
    struct ipcm_process put[2] = {{0}, {0}}, sd = {0};
    unsigned char m[64];
    long long n = q && back ? fill_and_block(ctx, q, put, back) : -1;
    struct qargs a = {ctx, q, QW_SHUTDOWN, NULL, NULL};
    ipcm_check_phase(ctx, "shutdown(immediate=false) from a third process");
    bool ok = n > 0 && queue_workers(ctx, &sd, 1, &a) == 0 &&
              ipcm_check_join(ctx, &sd, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
    for (unsigned i = 0; i < 2; i++)
        ok = ipcm_check_join(ctx, &put[i], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__) && ok;
    ssize_t attached = ok ? ipcm_queue_attach(q, IPCM_ROLE_BOTH) : -1;
    ssize_t put_after = ok ? ipcm_queue_put(q, m, sizeof(m), 0) : 0;
    ssize_t qs = ok ? ipcm_queue_qsize(q) : 0;
    long long drained = 0;
    ssize_t r = 0;
    ipcm_check_phase(ctx, "draining %lld messages after the shutdown", n);
    while (ok && (r = ipcm_queue_get(q, m, sizeof(m), IPCM_CHECK_T_OP_MS)) == (ssize_t)sizeof(m))
        drained++;
    ipcm_queue_destroy(q);
    ipcm_shared_free(back, 64);
    if (!ok)
        return;
    IPCM_CHECK_EQ(ctx, attached, 0);
    IPCM_CHECK_EQ(ctx, put_after, -EPIPE);
    IPCM_CHECK_EQ(ctx, qs, n);
    IPCM_CHECK_EQ(ctx, drained, n);
    IPCM_CHECK_EQ(ctx, r, -EPIPE);
}

static void queue_immediate_shutdown(struct ipcm_check_ctx *ctx)
{
    struct ipcm_queue *q = check_queue(ctx), *q2 = check_queue(ctx);
    _Atomic uint64_t *back = ipcm_shared_alloc(64);
    struct ipcm_process put[2] = {{0}, {0}}, get[2] = {{0}, {0}};
    unsigned char m[64];
    long long n = q && q2 && back ? fill_and_block(ctx, q, put, back) : -1;
    /* Getters block on a second, empty queue (a full one has no blocked getter). */
    struct qargs a = {ctx, q2, QW_GET_BLOCKED, NULL, back};
    bool ok = n > 0 && queue_workers(ctx, get, 2, &a) == 0;
    if (ok)
        ipcm_sleep_ms(100);
    ipcm_check_phase(ctx, "shutdown(immediate=true) with 2 putters and 2 getters blocked");
    uint64_t t0 = ipcm_now_ns();
    if (ok) {
        ipcm_queue_shutdown(q, true);
        ipcm_queue_shutdown(q2, true);
    }
    for (unsigned i = 0; i < 2; i++) {
        ok = ipcm_check_join(ctx, &put[i], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__) && ok;
        ok = ipcm_check_join(ctx, &get[i], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__) && ok;
    }
    long long discarded = q ? ipcm_queue_discarded(q) : -1;
    ssize_t qs = q ? ipcm_queue_qsize(q) : -1;
    ssize_t attached = ok ? ipcm_queue_attach(q, IPCM_ROLE_RECV) : -1;
    ssize_t got = ok ? ipcm_queue_get(q, m, sizeof(m), IPCM_CHECK_T_OP_MS) : 0;
    uint64_t last = back ? atomic_load(back) : 0;
    ipcm_queue_destroy(q);
    ipcm_queue_destroy(q2);
    ipcm_shared_free(back, 64);
    if (!ok)
        return;
    IPCM_CHECK_EQ(ctx, discarded, n);
    IPCM_CHECK_EQ(ctx, qs, 0);
    IPCM_CHECK_EQ(ctx, attached, 0);
    IPCM_CHECK_EQ(ctx, got, -EPIPE);
    /* Promptly: every blocked call was back within a second of the shutdown (scaled for
     * sanitizer builds), where its own timeout was IPCM_CHECK_T_OP_MS. */
    IPCM_CHECK_LT(ctx, (long long)(last - t0) / IPCM_NS_PER_MS, ipcm_check_scaled_ms(ctx, 1000));
}

/* ---------------------------------------------------------------- table */

const struct ipcm_check_case ipcm_check_cases_close[] = {
    {"close.eof_after_close", 32, "k messages, then -EPIPE on every later recv", IPCM_CHECK_QP, 0,
     IPCM_CHECK_QUICK, 20000, eof_after_close, NULL, NULL},
    {"close.send_to_closed_peer", 34,
     "send after the receiver closed: -EPIPE, not death by SIGPIPE (default disposition)",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 20000, send_to_closed_peer, NULL, NULL},
    {"close.idempotent_and_use_after_close", 35,
     "shutdown twice is a no-op; send after it is -EBADF; NULL ends are refused (close frees "
     "the end, so a second close is a documented caller bug)",
     IPCM_CHECK_QP, 0, 0, 20000, idempotent_use_after_close, NULL, NULL},
    {"close.peer_closes_with_unread_data", 36,
     "the peer closes with our message unread: its 5 messages, then -EPIPE", IPCM_CHECK_P, 0,
     IPCM_CHECK_QUICK, 20000, peer_closes_with_unread_data, NULL, NULL},
    {"close.queue_graceful_shutdown", 38, "shutdown(immediate=false) from a third process",
     IPCM_CHECK_Q, 0, IPCM_CHECK_LIBBUF, 30000, queue_graceful_shutdown, NULL, NULL},
    {"close.queue_immediate_shutdown", 39, "shutdown(immediate=true) discards and wakes all",
     IPCM_CHECK_Q, 0, IPCM_CHECK_LIBBUF, 30000, queue_immediate_shutdown, NULL, NULL},
    {"close.producers_gone_wake_consumer", 40,
     "all producers exit (one normally, one by SIGKILL): a blocked consumer gets -EPIPE < 1 s",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 20000, producers_gone_wake_consumer, NULL, NULL},
    {"close.dgram_has_no_hangup", 41, "SIGKILL the peer of a SOCK_DGRAM pipe", IPCM_CHECK_P, 0, 0,
     10000, NULL,
     "no backend offers a datagram pipe shape (no hang-up to test); peer death on every "
     "shape is fault.peer_killed_idle",
     NULL},
    {"close.exit_with_undrained_messages", 42,
     "a producer fills the queue and exits; joined before reading; all data still readable",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 30000, exit_with_undrained, NULL, NULL},
    {"close.read_before_reap", 43,
     "a child sends more than the buffer then exits; the parent joins first: no deadlock",
     IPCM_CHECK_P, 0, IPCM_CHECK_LIBBUF, 30000, read_before_reap, NULL, NULL},
    {"close.duplex_both_send_large", 44,
     "both ends send more than the buffer before reading: -ETIMEDOUT, never a hang", IPCM_CHECK_P,
     0, 0, 60000, duplex_both_send_large, NULL, NULL},
    {0},
};
