/* SPDX-License-Identifier: MIT */
/*
 * cases_backend.c - conformance groups I, J and K (CONFORMANCE.md §5, 92-112):
 * mechanism specifics, expressed through capabilities and limits, never names. The K
 * (shm ring internals) ids are listed here and covered by the shm engineer's test_shm.
 */
#include "conform.h"

#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- 92, 93 */

/* A queue end that both sends and receives, deep enough for n messages. */
static struct ipcm_chan *prio_queue(struct ipcm_check_ctx *ctx, unsigned n)
{
    unsigned depth = ctx->lim->max_depth && ctx->lim->max_depth < n ? ctx->lim->max_depth : n;
    if (depth < n) {
        ipcm_check_naf(ctx, "max_depth %u is below the %u messages the case queues", depth, n);
        return NULL;
    }
    return ipcm_check_open_alone(ctx, IPCM_SHAPE_QUEUE, 64, depth);
}

static void mq_priority_order(struct ipcm_check_ctx *ctx)
{
    static const unsigned prio[] = {0, 5, 5, 2, 31};
    static const unsigned want[] = {4, 1, 2, 3, 0}; /* the index of the message sent */
    struct ipcm_chan *c = prio_queue(ctx, 5);
    unsigned char buf[64];
    unsigned got_prio = 99;
    if (!c)
        return;
    /* Everything is queued before the first receive: the kernel orders by priority,
     * highest first, FIFO within one priority. */
    for (unsigned i = 0; i < 5; i++) {
        buf[0] = (unsigned char)i;
        IPCM_CHECK_OP_(ctx, ipcm_chan_send_prio(c, buf, 1 + i, prio[i], 0), ==, 1 + i, goto out);
    }
    for (unsigned i = 0; i < 5; i++) {
        ipcm_check_phase(ctx, "receive %u", i);
        ssize_t n = ipcm_chan_recv_prio(c, buf, sizeof(buf), &got_prio, IPCM_CHECK_T_OP_MS);
        IPCM_CHECK_OP_(ctx, n, ==, 1 + want[i], goto out);
        IPCM_CHECK_OP_(ctx, buf[0], ==, want[i], goto out);
        IPCM_CHECK_OP_(ctx, got_prio, ==, prio[want[i]], goto out);
        atomic_fetch_add(&ctx->sh->messages, 1);
    }
    /* The harness default is one priority (0): plain FIFO, and recv_prio says 0. */
    for (unsigned i = 0; i < 3; i++) {
        buf[0] = (unsigned char)(10 + i);
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, 1, 0), ==, 1, goto out);
    }
    for (unsigned i = 0; i < 3; i++) {
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv_prio(c, buf, sizeof(buf), &got_prio, 0), ==, 1,
                       goto out);
        IPCM_CHECK_OP_(ctx, buf[0], ==, 10 + i, goto out);
        IPCM_CHECK_OP_(ctx, got_prio, ==, 0, goto out);
    }
out:
    ipcm_chan_close(c);
}

static void mq_priority_range(struct ipcm_check_ctx *ctx)
{
    long top = sysconf(_SC_MQ_PRIO_MAX);
    char num[32];
    unsigned char buf[64] = {42};
    unsigned got = 0;
    IPCM_CHECK(ctx, top > 0 && top <= (long)UINT_MAX, "sysconf(_SC_MQ_PRIO_MAX) = %ld", top);
    struct ipcm_chan *c = prio_queue(ctx, 2);
    if (!c)
        return;
    snprintf(num, sizeof(num), "%ld", top);
    /* MQ_PRIO_MAX itself and anything above: -EINVAL naming the limit, nothing queued. */
    const unsigned bad[] = {(unsigned)top, UINT_MAX};
    for (int i = 0; i < 2; i++) {
        ssize_t r = ipcm_chan_send_prio(c, buf, 1, bad[i], 0);
        const char *why = ipcm_last_error((int)r);
        IPCM_CHECK_OP_(ctx, r, ==, -EINVAL, goto out);
        IPCM_CHECK(ctx, why && strstr(why, "MQ_PRIO_MAX") && strstr(why, num), "reason: %s",
                   why ? why : "(none)");
    }
    if (ipcm_chan_qsize(c) != -ENOTSUP)
        IPCM_CHECK_OP_(ctx, ipcm_chan_qsize(c), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_recv_prio(c, buf, sizeof(buf), &got, 0), ==, -EAGAIN, goto out);
    /* The highest valid priority works and comes back. */
    IPCM_CHECK_OP_(ctx, ipcm_chan_send_prio(c, buf, 1, (unsigned)top - 1, 0), ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_recv_prio(c, buf, sizeof(buf), &got, IPCM_CHECK_T_OP_MS), ==, 1,
                   goto out);
    IPCM_CHECK_OP_(ctx, got, ==, (unsigned)top - 1, goto out);
out:
    ipcm_chan_close(c);
}

/* ---------------------------------------------------------------- 94 */

static void recv_buffer_rule(struct ipcm_check_ctx *ctx)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_with_peer(ctx, 256, 1, 200, &peer);
    unsigned char buf[256];
    if (c) {
        /* A buffer below max_msg is refused before the channel is touched, even though
         * the 200 B message would fit: the message stays queued, whole. */
        uint64_t t0 = ipcm_now_ns();
        ssize_t r1 = ipcm_chan_recv(c, buf, 255, IPCM_CHECK_T_OP_MS);
        int el = ipcm_ms_since(t0);
        ssize_t r2 = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        uint32_t p = 0;
        uint64_t s = 1;
        int chk = r2 == 200 ? ipcm_payload_check(buf, 200, &p, &s) : -1;
        IPCM_CHECK_OP_(ctx, r1, ==, -EMSGSIZE, goto out);
        IPCM_CHECK_OP_(ctx, el, <, 100, goto out);
        IPCM_CHECK_OP_(ctx, r2, ==, 200, goto out);
        IPCM_CHECK_OP_(ctx, chk, ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, s, ==, 0, goto out);
        /* Too big to send is the same errno, but it never reaches the channel either. */
        if (ctx->shape == IPCM_SHAPE_PIPE)
            IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, 257, 0), ==, -EMSGSIZE, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), 0), ==, -EAGAIN, goto out);
    }
out:
    ipcm_chan_close(c);
    ipcm_check_peer_release(ctx, &peer);
}

/* ---------------------------------------------------------------- 95 */

static void defaults_and_ceilings(struct ipcm_check_ctx *ctx)
{
    const struct ipcm_limits *lim = ctx->lim;
    struct ipcm_link *l = NULL;
    IPCM_CHECK(ctx, lim->default_msg >= 1 && lim->default_msg <= lim->max_msg,
               "default_msg %zu, max_msg %zu", lim->default_msg, lim->max_msg);
    IPCM_CHECK(ctx,
               lim->default_depth >= 1 && (!lim->max_depth || lim->default_depth <= lim->max_depth),
               "default_depth %u, max_depth %u", lim->default_depth, lim->max_depth);
    IPCM_CHECK(ctx, lim->max_msg_source[0] != '\0', "the limit's source is not named");
    /* Zero asks for the defaults, and the link reports what it got. */
    IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, NULL, &l), 0);
    size_t m = ipcm_link_max_msg(l);
    unsigned d = ipcm_link_depth(l);
    ipcm_link_destroy(l);
    IPCM_CHECK_EQ(ctx, m, lim->default_msg);
    IPCM_CHECK_EQ(ctx, d, lim->default_depth);
    /* The ceilings themselves are accepted; one more is refused, nothing left behind. */
    int fds = ipcm_fd_count();
    struct ipcm_config cfg = {.max_msg = lim->max_msg + 1, .depth = 1};
    IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, &cfg, &l), -EMSGSIZE);
    if (lim->max_depth) {
        cfg = (struct ipcm_config){.max_msg = 64, .depth = lim->max_depth};
        IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, &cfg, &l), 0);
        IPCM_CHECK_EQ(ctx, ipcm_link_depth(l), lim->max_depth);
        ipcm_link_destroy(l);
        cfg.depth = lim->max_depth + 1;
        IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, &cfg, &l), -EINVAL);
    }
    IPCM_CHECK_EQ(ctx, ipcm_fd_count(), fds);
}

/* ---------------------------------------------------------------- 97 */

static int count_names(const char *dir)
{
    char prefix[40];
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    snprintf(prefix, sizeof(prefix), "ipcmark-%ld-", (long)getpid());
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void name_lifecycle(struct ipcm_check_ctx *ctx)
{
    /* A named backend removes the name once create returns (forked children inherit
     * the descriptor), so a killed process leaks nothing; the open object keeps
     * working after the unlink, and a second create (a new name) works alongside. */
    struct ipcm_chan *a = ipcm_check_open_alone(ctx, ctx->shape, 128, 4);
    if (!a)
        return;
    int names = count_names("/dev/mqueue") + count_names("/dev/shm");
    struct ipcm_chan *b = ipcm_check_open_alone(ctx, ctx->shape, 128, 4);
    unsigned char buf[128];
    for (int i = 0; b && i < 3 && !ipcm_check_failed(ctx); i++) {
        struct ipcm_chan *c = i % 2 ? b : a;
        uint32_t p = 0;
        uint64_t s = 0;
        ipcm_payload_make(buf, 100, 0, (uint64_t)i);
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, 100, IPCM_CHECK_T_OP_MS), ==, 100, break);
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), ==, 100,
                       break);
        IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, 100, &p, &s), ==, 0, break);
        IPCM_CHECK_OP_(ctx, s, ==, (uint64_t)i, break);
    }
    ipcm_chan_close(a);
    ipcm_chan_close(b);
    IPCM_CHECK(ctx, names == 0, "%d name(s) still linked after create returned", names);
}

/* ---------------------------------------------------------------- 98 */

static void empty_vs_eof(struct ipcm_check_ctx *ctx)
{
    struct ipcm_check_peer peer;
    struct ipcm_chan *c = ipcm_check_with_peer(ctx, 64, 3, 0, &peer);
    unsigned char buf[64];
    if (c) {
        /* Three empty messages are three 0 returns; end-of-stream is -EPIPE, after. */
        for (int i = 0; i < 3; i++)
            IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), ==, 0,
                           goto out);
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), 0), ==, -EAGAIN, goto out);
        close(peer.ctl); /* the peer closes its end */
        peer.ctl = -1;
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), ==, -EPIPE,
                       goto out);
    }
out:
    ipcm_chan_close(c);
    ipcm_check_peer_release(ctx, &peer);
}

/* ---------------------------------------------------------------- 99 */

static void record_size_boundary(struct ipcm_check_ctx *ctx)
{
    /* The declared maximum is deliverable (capped at 8 MiB to keep the case quick) and
     * one byte more is refused, at create and at send. */
    size_t top = ctx->lim->max_msg < ((size_t)8 << 20) ? ctx->lim->max_msg : (size_t)8 << 20;
    size_t sizes[2] = {ctx->lim->default_msg, top};
    for (int k = 0; k < 2 && !ipcm_check_failed(ctx); k++) {
        size_t m = sizes[k];
        struct ipcm_check_peer peer;
        struct ipcm_chan *c = ipcm_check_with_peer(ctx, m, 1, m, &peer);
        unsigned char *buf = malloc(m + 1);
        if (c && buf) {
            ssize_t n = ipcm_chan_recv(c, buf, m, 3 * IPCM_CHECK_T_OP_MS);
            uint32_t p = 0;
            uint64_t s = 1;
            IPCM_CHECK_OP_(ctx, n, ==, (ssize_t)m, goto next);
            IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, m, &p, &s), ==, 0, goto next);
            IPCM_CHECK_OP_(ctx, s, ==, 0, goto next);
        }
    next:
        ipcm_chan_close(c);
        ipcm_check_peer_release(ctx, &peer);
        if (buf && !ipcm_check_failed(ctx)) {
            struct ipcm_chan *x = ipcm_check_open_alone(ctx, ctx->shape, m, 1);
            if (x)
                IPCM_CHECK_OP_(ctx, ipcm_chan_send(x, buf, m + 1, 0), ==, -EMSGSIZE, );
            ipcm_chan_close(x);
        }
        free(buf);
    }
    struct ipcm_config cfg = {.max_msg = ctx->lim->max_msg + 1};
    struct ipcm_link *l = NULL;
    IPCM_CHECK_EQ(ctx, ipcm_link_create(ctx->be, ctx->shape, &cfg, &l), -EMSGSIZE);
}

/* ---------------------------------------------------------------- 101 */

static const char *short_io_applies(const struct ipcm_check_env *env, char *why, size_t len)
{
    (void)env, (void)why, (void)len;
    return ipcm_frame_test_short_io ? NULL : IPCM_CHECK_NO_SHORT_IO;
}

static void stream_framing_under_fragmentation(struct ipcm_check_ctx *ctx)
{
    /* The catalogue's shape of it: 1-byte reads, 3-byte writes, every time. */
    ipcm_check_fragmented(ctx, 1, 3, 0);
}

/* ---------------------------------------------------------------- scope */

/* Group K is the shm ring's internals, and 96 is about mq_timedsend's absolute clock:
 * facts of one implementation that no capability names, so the scope is the backend. */
static const char *scope_backend(const struct ipcm_check_env *env, const char *name, char *why,
                                 size_t len)
{
    if (strcmp(ipcm_backend_name(env->be), name) == 0)
        return NULL;
    snprintf(why, len, "internals of the %s backend", name);
    return why;
}

static const char *only_shm(const struct ipcm_check_env *env, char *why, size_t len)
{
    return scope_backend(env, "shm", why, len);
}

static const char *only_mqueue(const struct ipcm_check_env *env, char *why, size_t len)
{
    return scope_backend(env, "mqueue", why, len);
}

#define SHM_NA "shm ring internals (needs backends/testing.h hooks): covered by test_shm"
#define K(id, num, summary)                                                                        \
    {                                                                                              \
        id, num, summary, IPCM_CHECK_Q, 0, IPCM_CHECK_SCOPED, 10000, NULL, SHM_NA, only_shm        \
    }

const struct ipcm_check_case ipcm_check_cases_backend[] = {
    {"backend.mq_priority_order", 92, "priorities 0,5,5,2,31 arrive 31,5,5,2,0", IPCM_CHECK_Q,
     IPCM_CAP_PRIORITY, IPCM_CHECK_QUICK | IPCM_CHECK_SCOPED, 10000, mq_priority_order, NULL,
     NULL},
    {"backend.mq_priority_range", 93,
     "priority MQ_PRIO_MAX is -EINVAL naming it, nothing queued; MQ_PRIO_MAX-1 works",
     IPCM_CHECK_Q, IPCM_CAP_PRIORITY, IPCM_CHECK_QUICK | IPCM_CHECK_SCOPED, 10000,
     mq_priority_range, NULL, NULL},
    {"backend.recv_buffer_rule", 94, "a receive buffer below max_msg is -EMSGSIZE, never confused",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 10000, recv_buffer_rule, NULL, NULL},
    {"backend.defaults_and_ceilings", 95, "default depth/size reported; over the ceiling refused",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 10000, defaults_and_ceilings, NULL, NULL},
    {"backend.mq_realtime_deadline", 96, "absolute CLOCK_REALTIME deadlines recomputed",
     IPCM_CHECK_Q, 0, IPCM_CHECK_SCOPED, 10000, NULL,
     "API deadlines are relative and monotonic; timing is blocking.empty_get_timeout",
     only_mqueue},
    /* The exclusive-collision part needs a name to reopen, which the API never shows. */
    {"backend.mq_name_lifecycle", 97, "names gone once created; open objects keep working",
     IPCM_CHECK_Q, IPCM_CAP_NAMED, IPCM_CHECK_SCOPED, 10000, name_lifecycle, NULL, NULL},
    {"backend.empty_vs_eof", 98, "zero-length records differ from end-of-stream", IPCM_CHECK_QP,
     IPCM_CAP_NATIVE_MSG, IPCM_CHECK_QUICK, 10000, empty_vs_eof, NULL, NULL},
    {"backend.record_size_boundary", 99, "the declared max tracks the buffer; one more refused",
     IPCM_CHECK_QP, IPCM_CAP_NATIVE_MSG, 0, 20000, record_size_boundary, NULL, NULL},
    {"backend.datagram_queue_depth", 100, "queue depth model of a bound datagram receiver",
     IPCM_CHECK_Q, 0, 0, 10000, NULL,
     "no backend uses a bound datagram receiver; capacity is limits.capacity_declared", NULL},
    {"backend.stream_framing_under_fragmentation", 101,
     "1-byte reads, 3-byte writes (test build's I/O hook) reassemble",
     IPCM_CHECK_QP, IPCM_CAP_STREAM, 0, 90000, stream_framing_under_fragmentation, NULL,
     short_io_applies},
    K("shm.concurrent_open_or_create", 102, "racing open-or-create with kills"),
    K("shm.layout_validation", 103, "wrong magic/version/size/endianness refused"),
    K("shm.atomics_lock_free", 104, "every shared atomic is lock-free"),
    K("shm.producer_dies_at_each_step", 106, "producer killed at each put step"),
    K("shm.consumer_dies_mid_read", 108, "consumer killed between claim and release"),
    K("shm.waiters_die_in_wait", 109, "waiters killed in wait; new waiter wakes"),
    K("shm.lock_owner_dies", 110, "EOWNERDEAD handled, never silently unrecoverable"),
    K("shm.counter_wraparound", 111, "positions and epochs near 2^32 / 2^64"),
    K("shm.corruption_contained", 112, "scribbled header: BROKEN, no out-of-bounds access"),
    {0},
};
