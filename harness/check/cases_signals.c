/* SPDX-License-Identifier: MIT */
/*
 * cases_signals.c - conformance group D (CONFORMANCE.md §5, 45-48): EINTR storms
 * against blocked calls. The blocked process installs a SIGUSR1 handler WITHOUT
 * SA_RESTART, so every interrupted syscall fails with EINTR (signal(7)); a backend
 * must retry against its deadline and never surface -EINTR, lose or repeat a message.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Shared between the case, the blocked worker and the signal firer. */
struct sig_shared {
    atomic_int stop;     /* the firer stops */
    atomic_int hits;     /* signals the blocked worker handled */
    atomic_long fired;   /* signals sent */
    _Atomic long filled; /* 48: messages that fitted before the sender blocked */
};

static struct sig_shared *g_sig; /* the worker's view, for the handler */

static void on_usr1(int sig)
{
    (void)sig;
    if (g_sig)
        atomic_fetch_add(&g_sig->hits, 1);
}

/* Install the handler without SA_RESTART: interrupted calls return EINTR. */
static int install_handler(struct sig_shared *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    g_sig = s;
    return sigaction(SIGUSR1, &sa, NULL);
}

struct sargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    enum ipcm_role role;
    struct sig_shared *s;
    int note[2]; /* the worker writes one byte once its handler is installed */
    pid_t target;
    size_t size;
    unsigned count;
};

/* Fire SIGUSR1 at target every millisecond until told to stop (or 60 s at most). */
static int w_firer(const void *arg, size_t len)
{
    const struct sargs *a = arg;
    (void)len;
    uint64_t end = ipcm_now_ns() + 60 * IPCM_NS_PER_S;
    while (!atomic_load(&a->s->stop) && ipcm_now_ns() < end) {
        if (kill(a->target, SIGUSR1) < 0)
            break;
        atomic_fetch_add(&a->s->fired, 1);
        ipcm_sleep_ms(1);
    }
    return 0;
}

static int start_firer(struct ipcm_check_ctx *ctx, struct sargs *a, pid_t target,
                       struct ipcm_process *p)
{
    struct sargs f = *a;
    f.target = target;
    return ipcm_check_spawn(ctx, p, "firer", w_firer, &f, sizeof(f));
}

static void stop_firer(struct ipcm_check_ctx *ctx, struct sig_shared *s, struct ipcm_process *p)
{
    atomic_store(&s->stop, 1);
    if (p->pid > 0)
        ipcm_check_join(ctx, p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
}

/* ---------------------------------------------------------------- 45 */

/* Blocks in recv under the storm; the one message must arrive once, then EOF. */
static int w_blocked_recv(const void *arg, size_t len)
{
    const struct sargs *a = arg;
    struct ipcm_chan *c;
    unsigned char buf[256];
    (void)len;
    close(a->note[0]);
    IPCM_WCHECK_EQ(a->ctx, install_handler(a->s), 0);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, a->role, &c), 0);
    IPCM_WCHECK_EQ(a->ctx, write(a->note[1], "r", 1), 1);
    close(a->note[1]);
    ssize_t n = ipcm_chan_recv(c, buf, sizeof(buf), 3 * IPCM_CHECK_T_OP_MS);
    IPCM_WCHECK_EQ(a->ctx, n, 64);
    uint32_t p = 0;
    uint64_t s = 0;
    IPCM_WCHECK_EQ(a->ctx, ipcm_payload_check(buf, 64, &p, &s), 0);
    IPCM_WCHECK_EQ(a->ctx, s, 0);
    /* Exactly once: the sender closes after one message, so next is end-of-stream. */
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), -EPIPE);
    ipcm_chan_close(c);
    return 0;
}

static void eintr_blocked_recv(struct ipcm_check_ctx *ctx)
{
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 256, 0);
    struct sig_shared *s = ipcm_shared_alloc(sizeof(*s));
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    if (!l || !s) {
        ipcm_link_destroy(l);
        ipcm_shared_free(s, sizeof(*s));
        IPCM_CHECK(ctx, false, "setup failed");
    }
    struct sargs a = {.ctx = ctx, .l = l, .role = ipcm_check_rx_role(ctx->shape), .s = s};
    int r = ipcm_check_spawn_noted(ctx, &p, "receiver", w_blocked_recv, &a, sizeof(a), a.note);
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_tx_role(ctx->shape), &c);
    ipcm_link_destroy(l);
    if (r == 0 && ipcm_check_wait_note(a.note[0])) {
        ipcm_check_phase(ctx, "200 signals at a blocked recv");
        ipcm_sleep_ms(50); /* let it block */
        for (int i = 0; i < 200; i++) {
            kill(p.pid, SIGUSR1);
            ipcm_sleep_ms(1);
        }
        unsigned char buf[64];
        ipcm_payload_make(buf, sizeof(buf), 0, 0);
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), ==, 64,
                       goto out);
        ipcm_chan_close(c);
        c = NULL;
        if (ipcm_check_join(ctx, &p, 3 * IPCM_CHECK_T_OP_MS, __FILE__, __LINE__))
            IPCM_CHECK_OP_(ctx, atomic_load(&s->hits), >=, 1, goto out);
    } else {
        IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    }
out:
    ipcm_close_fd(&a.note[0]);
    ipcm_chan_close(c);
    if (p.pid > 0)
        ipcm_check_reap(&p, 0, NULL);
    ipcm_shared_free(s, sizeof(*s));
}

/* ---------------------------------------------------------------- 46, 48 */

/*
 * The sender under the storm. 46: count large messages on a shallow channel, so
 * most sends wait for room while the reader is slow. 48: fill the channel with
 * try-sends first, then count blocking sends that each wait for a get.
 */
static int w_storm_sender(const void *arg, size_t len)
{
    const struct sargs *a = arg;
    struct ipcm_check_end e;
    (void)len;
    close(a->note[0]);
    IPCM_WCHECK_EQ(a->ctx, install_handler(a->s), 0);
    IPCM_WCHECK_OPEN(a->ctx, a->l, a->role, &e);
    uint64_t seq = 0;
    if (a->count == 0) {
        /* 48: fill with try-sends (nothing blocks yet). */
        for (;;) {
            ssize_t r = ipcm_check_send_payload(&e, a->size, 0, seq, 0);
            if (r == -EAGAIN)
                break;
            IPCM_WCHECK_EQ(a->ctx, r, (ssize_t)a->size);
            IPCM_WCHECK(a->ctx, ++seq <= 1000000, "a million try-sends never reported full");
        }
        atomic_store(&a->s->filled, (long)seq);
    }
    IPCM_WCHECK_EQ(a->ctx, write(a->note[1], "s", 1), 1);
    close(a->note[1]);
    uint64_t more = a->count ? a->count : 8;
    for (uint64_t i = 0; i < more; i++, seq++)
        IPCM_WCHECK_EQ(a->ctx, ipcm_check_send_payload(&e, a->size, 0, seq, 3 * IPCM_CHECK_T_OP_MS),
                       (ssize_t)a->size);
    ipcm_check_end_close(&e);
    return 0;
}

static void storm_send(struct ipcm_check_ctx *ctx, size_t size, unsigned depth, unsigned count,
                       int read_gap_ms)
{
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, size, depth);
    struct sig_shared *s = ipcm_shared_alloc(sizeof(*s));
    struct ipcm_process p = {0}, f = {0};
    struct ipcm_chan *c = NULL;
    unsigned char *buf = malloc(size);
    if (!l || !s || !buf) {
        ipcm_link_destroy(l);
        ipcm_shared_free(s, sizeof(*s));
        free(buf);
        IPCM_CHECK(ctx, false, "setup failed");
    }
    struct sargs a = {.ctx = ctx,
                      .l = l,
                      .role = ipcm_check_tx_role(ctx->shape),
                      .s = s,
                      .size = size,
                      .count = count};
    int r = ipcm_check_spawn_noted(ctx, &p, "sender", w_storm_sender, &a, sizeof(a), a.note);
    if (r == 0)
        r = ipcm_chan_open(l, ipcm_check_rx_role(ctx->shape), &c);
    ipcm_link_destroy(l);
    if (r == 0 && ipcm_check_wait_note(a.note[0]))
        r = start_firer(ctx, &a, p.pid, &f);
    else if (r == 0)
        r = -EPIPE;
    if (r == 0) {
        ipcm_check_phase(ctx, "slow reads under a signal storm at the sender");
        ipcm_sleep_ms(200); /* the sender is blocked, the storm is on */
        uint64_t total = (uint64_t)(count ? count : 8) + (uint64_t)atomic_load(&s->filled);
        for (uint64_t i = 0; i < total; i++) {
            ssize_t n = ipcm_chan_recv(c, buf, size, 3 * IPCM_CHECK_T_OP_MS);
            uint32_t pr = 0;
            uint64_t sq = 0;
            IPCM_CHECK_OP_(ctx, n, ==, (ssize_t)size, goto out);
            IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, size, &pr, &sq), ==, 0, goto out);
            IPCM_CHECK_OP_(ctx, sq, ==, i, goto out);
            atomic_fetch_add(&ctx->sh->messages, 1);
            if (read_gap_ms && i < 32) /* slow at first, while the sender blocks */
                ipcm_sleep_ms(read_gap_ms);
        }
        /* No duplicate after the last one: the sender closes, so end-of-stream. */
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, size, 3 * IPCM_CHECK_T_OP_MS), ==, -EPIPE,
                       goto out);
        stop_firer(ctx, s, &f);
        if (!ipcm_check_join(ctx, &p, 3 * IPCM_CHECK_T_OP_MS, __FILE__, __LINE__))
            goto out;
        /* A library-buffered backend's send returns once its library holds the message
         * (RULINGS 1), so its sender may be done before the first signal: then nothing
         * of EINTR was seen, which is that backend's disclaimer, not a failure. */
        if (atomic_load(&s->hits) == 0 && (ctx->caps & IPCM_CAP_LIB_BUFFERED))
            ipcm_check_naf(ctx, "not declared (library-buffered backend); observed: every "
                                "send returned before the first signal (0 hits), all %llu "
                                "messages in order",
                           (unsigned long long)total);
        else
            IPCM_CHECK_OP_(ctx, atomic_load(&s->hits), >=, 1, goto out);
    } else {
        IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    }
out:
    atomic_store(&s->stop, 1);
    ipcm_close_fd(&a.note[0]);
    ipcm_chan_close(c);
    if (f.pid > 0)
        ipcm_check_reap(&f, IPCM_CHECK_T_OP_MS, NULL);
    if (p.pid > 0)
        ipcm_check_reap(&p, 0, NULL);
    ipcm_shared_free(s, sizeof(*s));
    free(buf);
}

static void eintr_during_large_send(struct ipcm_check_ctx *ctx)
{
    /* Large messages on a depth-2 channel: the sender spends most of its time waiting
     * for room (or, on byte streams, inside a long write) while signals land. */
    size_t size = ctx->lim->max_msg < ((size_t)256 << 10) ? ctx->lim->max_msg : (size_t)256 << 10;
    unsigned depth = ctx->lim->max_depth && ctx->lim->max_depth < 2 ? ctx->lim->max_depth : 2;
    storm_send(ctx, size, depth, ctx->quick ? 6 : 16, 5);
}

static void eintr_blocked_send_full(struct ipcm_check_ctx *ctx)
{
    storm_send(ctx, 64, 0, 0, 2);
}

/* ---------------------------------------------------------------- table */

const struct ipcm_check_case ipcm_check_cases_signals[] = {
    {"signals.eintr_blocked_recv", 45, "200 SIGUSR1 (no SA_RESTART) during a blocked recv",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 30000, eintr_blocked_recv, NULL, NULL},
    {"signals.eintr_during_large_send", 46, "signals every ms during a large, slow-read send",
     IPCM_CHECK_QP, 0, IPCM_CHECK_LIBBUF, 30000, eintr_during_large_send, NULL, NULL},
    {"signals.eintr_blocked_send_full", 48, "signals during a send blocked on a full channel",
     IPCM_CHECK_QP, 0, 0, 30000, eintr_blocked_send_full, NULL, NULL},
    {0},
};
