/* SPDX-License-Identifier: MIT */
/*
 * cases_faults.c - conformance group E (CONFORMANCE.md §5, 50-57): participants are
 * SIGKILLed at seeded random points. Survivors must get an error or carry on, never
 * hang, never see a partial message; what a sender was told was sent is delivered,
 * unless a byte-stream backend (IPCM_CAP_STREAM) reports the channel broken.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXP 8

/* What the processes of one faulted run share. */
struct fshared {
    _Atomic uint64_t acked[MAXP]; /* per producer: sends that returned OK */
    _Atomic int broken;           /* someone got -ENOTRECOVERABLE */
    _Atomic uint64_t stamp;       /* when the victim was killed */
};

struct fargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    struct fshared *fs;
    struct ipcm_ledger *lg;
    uint32_t producer;
    uint64_t count;
    size_t max; /* sizes drawn in [IPCM_PAYLOAD_HDR, max] */
    int delay_ms;
    enum ipcm_role role;
};

static bool broken_ok(struct ipcm_check_ctx *ctx, ssize_t r)
{
    return r == -ENOTRECOVERABLE && (ctx->caps & IPCM_CAP_STREAM);
}

static int w_fproducer(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct fargs *a = arg;
    uint64_t rs = ctx->seed ^ (a->producer * 77u);
    for (uint64_t i = 0; i < a->count; i++) {
        size_t sz = IPCM_PAYLOAD_HDR + ipcm_check_rand(&rs) % (a->max - IPCM_PAYLOAD_HDR + 1);
        ssize_t r = ipcm_check_send_payload(e, sz, a->producer, i, IPCM_CHECK_T_OP_MS);
        if (r == -EPIPE || broken_ok(ctx, r)) {
            if (r != -EPIPE)
                atomic_store(&a->fs->broken, 1);
            break; /* every consumer is gone or the stream is broken: stop */
        }
        IPCM_WCHECK_EQ(ctx, r, (ssize_t)sz);
        atomic_store(&a->fs->acked[a->producer], i + 1);
    }
    return 0;
}

static int w_fconsumer(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct fargs *a = arg;
    ssize_t n = ipcm_check_consume(ctx, e, a->lg);
    if (broken_ok(ctx, n))
        atomic_store(&a->fs->broken, 1);
    else
        IPCM_WCHECK_EQ(ctx, n, -EPIPE); /* a survivor reaches end-of-stream */
    return 0;
}

/*
 * np producers, nc consumers (the case process holds no end); after a seeded random
 * delay, SIGKILL producer victim_p (if >= 0) or consumer victim_c (if >= 0). Then
 * every survivor must finish, and delivery must be exactly-once for every acked
 * message except at most one per killed consumer (the one it held), unless the
 * channel reported itself broken on a byte-stream backend.
 */
static void fault_run(struct ipcm_check_ctx *ctx, unsigned np, unsigned nc, uint64_t per,
                      size_t max, int victim_p, int victim_c, uint64_t *rs)
{
    struct fshared *fs = ipcm_shared_alloc(sizeof(*fs));
    struct ipcm_ledger *lg = ipcm_ledger_new(np, per);
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, max, 0);
    struct ipcm_process pp[MAXP] = {{0}}, pc[MAXP] = {{0}};
    if (!fs || !lg || !l) {
        ipcm_link_destroy(l);
        ipcm_ledger_free(lg);
        ipcm_shared_free(fs, sizeof(*fs));
        IPCM_CHECK(ctx, false, "setup failed");
    }
    for (unsigned i = 0; i < nc; i++) {
        struct fargs a = {.ctx = ctx, .l = l, .fs = fs, .lg = lg, .role = IPCM_ROLE_RECV};
        ipcm_check_spawn_end(ctx, &pc[i], "consumer", l, a.role, w_fconsumer, &a);
    }
    for (unsigned i = 0; i < np; i++) {
        struct fargs a = {.ctx = ctx,
                          .l = l,
                          .fs = fs,
                          .lg = lg,
                          .role = IPCM_ROLE_SEND,
                          .producer = i,
                          .count = per,
                          .max = max};
        ipcm_check_spawn_end(ctx, &pp[i], "producer", l, a.role, w_fproducer, &a);
    }
    ipcm_link_destroy(l);
    int delay = 5 + (int)(ipcm_check_rand(rs) % 60);
    ipcm_check_phase(ctx, "kill %s %d after %d ms", victim_p >= 0 ? "producer" : "consumer",
                     victim_p >= 0 ? victim_p : victim_c, delay);
    ipcm_sleep_ms(delay);
    struct ipcm_exit ex;
    if (victim_p >= 0) {
        ipcm_process_kill(&pp[victim_p], SIGKILL);
        ipcm_check_reap(&pp[victim_p], IPCM_CHECK_T_OP_MS, &ex);
    } else {
        ipcm_process_kill(&pc[victim_c], SIGKILL);
        ipcm_check_reap(&pc[victim_c], IPCM_CHECK_T_OP_MS, &ex);
    }
    for (unsigned i = 0; i < np; i++)
        ipcm_check_join(ctx, &pp[i], 30000, __FILE__, __LINE__);
    for (unsigned i = 0; i < nc; i++)
        ipcm_check_join(ctx, &pc[i], 30000, __FILE__, __LINE__);
    uint64_t sent[MAXP];
    for (unsigned i = 0; i < np; i++)
        sent[i] = atomic_load(&fs->acked[i]);
    bool broken = atomic_load(&fs->broken);
    long long before = atomic_load(&ctx->sh->lost);
    ipcm_ledger_finish(ctx, lg, sent);
    long long lost = atomic_load(&ctx->sh->lost) - before;
    ipcm_ledger_free(lg);
    ipcm_shared_free(fs, sizeof(*fs));
    if (ipcm_check_failed(ctx))
        return;
    IPCM_CHECK(ctx, atomic_load(&ctx->sh->corrupt) == 0 && atomic_load(&ctx->sh->duplicated) == 0,
               "after the kill: %lld corrupt (partial or torn) and %lld duplicated deliveries",
               (long long)atomic_load(&ctx->sh->corrupt),
               (long long)atomic_load(&ctx->sh->duplicated));
    if (broken)
        return; /* byte stream, declared: reported broken instead of delivering garbage */
    IPCM_CHECK(ctx, atomic_load(&ctx->sh->reordered) == 0, "%lld reordered",
               (long long)atomic_load(&ctx->sh->reordered));
    long long allowed = victim_c >= 0 ? 1 : 0;
    IPCM_CHECK(ctx, lost <= allowed, "%lld acknowledged message(s) lost (allowed %lld)", lost,
               allowed);
}

static void producer_killed_mid_small(struct ipcm_check_ctx *ctx)
{
    uint64_t rs = ctx->seed;
    for (int i = 0; i < (ctx->quick ? 2 : 5) && !ipcm_check_failed(ctx); i++)
        fault_run(ctx, 2, 1, 20000, 256, 0, -1, &rs);
}

static void producer_killed_mid_large(struct ipcm_check_ctx *ctx)
{
    size_t max = ctx->lim->max_msg < 262144 ? ctx->lim->max_msg : 262144;
    uint64_t rs = ctx->seed;
    for (int i = 0; i < (ctx->quick ? 2 : 5) && !ipcm_check_failed(ctx); i++)
        fault_run(ctx, 2, 1, 300, max, 0, -1, &rs);
}

static void consumer_killed_holding_read_lock(struct ipcm_check_ctx *ctx)
{
    size_t max = ctx->lim->max_msg < 65536 ? ctx->lim->max_msg : 65536;
    uint64_t rs = ctx->seed;
    for (int i = 0; i < (ctx->quick ? 2 : 5) && !ipcm_check_failed(ctx); i++)
        fault_run(ctx, 1, 3, 3000, max, -1, 0, &rs);
}

static void producer_killed_holding_write_lock(struct ipcm_check_ctx *ctx)
{
    size_t max = ctx->lim->max_msg < 65536 ? ctx->lim->max_msg : 65536;
    uint64_t rs = ctx->seed;
    for (int i = 0; i < (ctx->quick ? 2 : 5) && !ipcm_check_failed(ctx); i++)
        fault_run(ctx, 3, 2, 2000, max, 0, -1, &rs);
}

static void kill_restart_soak(struct ipcm_check_ctx *ctx)
{
    uint64_t rs = ctx->seed;
    int fds = ipcm_fd_count();
    int iters = ctx->quick ? 6 : 20;
    for (int i = 0; i < iters && !ipcm_check_failed(ctx); i++) {
        /* Alternate the victim: a producer, then a consumer. */
        if (i % 2 == 0)
            fault_run(ctx, 2, 2, 3000, 512, (int)(ipcm_check_rand(&rs) % 2), -1, &rs);
        else
            fault_run(ctx, 2, 2, 3000, 512, -1, (int)(ipcm_check_rand(&rs) % 2), &rs);
    }
    IPCM_CHECK_EQ(ctx, ipcm_fd_count(), fds);
}

/* ---------------------------------------------------------------- 50 */

static int w_die_later(const void *arg, size_t len)
{
    const struct fargs *a = arg;
    struct ipcm_chan *c;
    (void)len;
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, a->role, &c), 0);
    ipcm_sleep_ms(a->delay_ms);
    atomic_store(&a->fs->stamp, ipcm_now_ns());
    raise(SIGKILL);
    return 0;
}

/* This side blocks (in recv, or in send on a full channel) while the only peer dies. */
static void killed_peer_wakes(struct ipcm_check_ctx *ctx, bool sending)
{
    struct fshared *fs = ipcm_shared_alloc(sizeof(*fs));
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 256, 0);
    enum ipcm_role mine = sending ? ipcm_check_tx_role(ctx->shape) : ipcm_check_rx_role(ctx->shape);
    enum ipcm_role theirs =
        sending ? ipcm_check_rx_role(ctx->shape) : ipcm_check_tx_role(ctx->shape);
    struct fargs a = {.ctx = ctx, .l = l, .fs = fs, .role = theirs, .delay_ms = 300};
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    int r = l && fs ? ipcm_check_spawn(ctx, &p, "victim", w_die_later, &a, sizeof(a)) : -EINVAL;
    if (r == 0 && (r = ipcm_chan_open(l, mine, &c)) < 0 && ipcm_check_env_reason(r))
        ipcm_check_envf(ctx, "open: %s", ipcm_check_env_reason(r)); /* not the recv's fault */
    ipcm_link_destroy(l);
    unsigned char buf[256] = {0};
    ssize_t n = r;
    if (r == 0 && sending) {
        /* Fill first, so the send below really blocks. */
        long k = 0;
        while (k++ < 1000000 && (n = ipcm_chan_send(c, buf, 64, 0)) == 64)
            ;
        n = n == -EAGAIN ? ipcm_chan_send(c, buf, 64, IPCM_CHECK_T_OP_MS) : n;
    } else if (r == 0) {
        n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
    }
    uint64_t back = ipcm_now_ns();
    ipcm_chan_close(c);
    ipcm_check_reap(&p, IPCM_CHECK_T_OP_MS, NULL);
    uint64_t died = fs ? atomic_load(&fs->stamp) : 0;
    ipcm_shared_free(fs, sizeof(*fs));
    IPCM_CHECK(ctx, n == -EPIPE || broken_ok(ctx, n), "%s with a killed peer returned %zd (%s)",
               sending ? "send" : "recv", n, n < 0 ? ipcm_err_name((int)n) : "data");
    IPCM_CHECK(ctx, died && back > died && (back - died) / IPCM_NS_PER_MS < 1000,
               "%s returned %.0f ms after the peer's death (bound 1000 ms)",
               sending ? "send" : "recv", died ? (double)(back - died) / IPCM_NS_PER_MS : -1.0);
}

static void peer_killed_idle(struct ipcm_check_ctx *ctx)
{
    killed_peer_wakes(ctx, false);
    if (!ipcm_check_failed(ctx))
        killed_peer_wakes(ctx, true);
}

/* ---------------------------------------------------------------- 56 */

static int w_create_and_die(const void *arg, size_t len)
{
    const struct fargs *a = arg;
    struct ipcm_link *l = NULL;
    struct ipcm_chan *c = NULL;
    struct ipcm_config cfg = {.max_msg = 64};
    (void)len;
    IPCM_WCHECK_EQ(a->ctx, ipcm_link_create(a->ctx->be, IPCM_SHAPE_QUEUE, &cfg, &l), 0);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), 0);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_send(c, "left behind", 11, 0), 11);
    raise(SIGKILL); /* the creator dies holding everything */
    return 0;
}

static void named_reclaimed_after_creator_death(struct ipcm_check_ctx *ctx)
{
    struct fargs a = {.ctx = ctx};
    struct ipcm_process p;
    struct ipcm_exit ex = {0};
    IPCM_CHECK_EQ(ctx, ipcm_check_spawn(ctx, &p, "creator", w_create_and_die, &a, sizeof(a)), 0);
    ipcm_check_reap(&p, IPCM_CHECK_T_OP_MS, &ex);
    IPCM_CHECK_EQ(ctx, ex.signal, SIGKILL);
    /* The runner sweeps /dev/shm and /dev/mqueue for the creator's pid and fails the
     * case on a leftover; a fresh channel still works here. */
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 64, 0);
    if (!l)
        return;
    struct ipcm_chan *c;
    IPCM_CHECK_EQ(ctx, ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), 0);
    ipcm_link_destroy(l);
    char buf[64];
    ssize_t s = ipcm_chan_send(c, "x", 1, 0),
            g = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
    ipcm_chan_close(c);
    IPCM_CHECK_EQ(ctx, s, 1);
    IPCM_CHECK_EQ(ctx, g, 1);
}

/* ---------------------------------------------------------------- table */

const struct ipcm_check_case ipcm_check_cases_faults[] = {
    {"fault.peer_killed_idle", 50,
     "SIGKILL the only peer while this side blocks in recv / in send on full: error < 1 s",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 30000, peer_killed_idle, NULL, NULL},
    {"fault.producer_killed_mid_small", 51,
     "kill a producer of small messages at random: no partial message, acked ones delivered",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 60000, producer_killed_mid_small, NULL, NULL},
    {"fault.producer_killed_mid_large", 52,
     "kill a producer of large messages at random: whole messages or a reported break",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 60000, producer_killed_mid_large, NULL, NULL},
    {"fault.consumer_killed_holding_read_lock", 53,
     "kill one of 3 consumers mid-stream: others finish, at most its message lost", IPCM_CHECK_Q, 0,
     IPCM_CHECK_QUICK, 60000, consumer_killed_holding_read_lock, NULL, NULL},
    {"fault.producer_killed_holding_write_lock", 54,
     "kill one of 3 producers mid-stream: the others complete, no loss of acked messages",
     IPCM_CHECK_Q, 0, IPCM_CHECK_LIBBUF, 60000, producer_killed_holding_write_lock, NULL, NULL},
    {"fault.kill_restart_soak", 55,
     "repeated attach, exchange, SIGKILL of a producer or consumer: no hang, fds at baseline",
     IPCM_CHECK_Q, 0, IPCM_CHECK_LIBBUF, 120000, kill_restart_soak, NULL, NULL},
    {"fault.named_reclaimed_after_creator_death", 56,
     "the creator is SIGKILLed holding a channel: no name left, a new channel works", IPCM_CHECK_Q,
     0, IPCM_CHECK_QUICK, 20000, named_reclaimed_after_creator_death, NULL, NULL},
    {"fault.liveness_not_fooled_by_pid_reuse", 57,
     "a dead participant's recorded pid now names a live process", IPCM_CHECK_QP, 0, 0, 10000, NULL,
     "needs a hook that rewrites a recorded pid (none in backends/testing.h); liveness in "
     "these backends comes from descriptor hang-up, which pid reuse cannot fool",
     NULL},
    {0},
};
