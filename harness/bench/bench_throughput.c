/* SPDX-License-Identifier: MIT */
/*
 * bench_throughput.c - the `throughput` mode: P producers and C consumers move messages
 * of one size through one queue-shaped link. The clock runs from the start gate (every
 * worker attached) to end-of-stream at the consumers, so setup and teardown are outside
 * it. Every message is verified on receipt: checksum, producer id, per-producer
 * sequence; a shared bitmap per producer catches loss and duplication across consumers.
 * One message in ONEWAY_STRIDE carries a send timestamp for the one-way latency.
 */
#include "bench.h"
#include "bench_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Stamp one message in 8: two clock reads per message would cost ~10% of a fast one. */
#define ONEWAY_STRIDE 8u
/* How often a duration-bound producer looks at the clock. */
#define CLOCK_STRIDE 32u
/* Bitmap capacity per producer in duration mode: enough for 200 M messages/s for the
 * whole duration (address space only, MAP_NORESERVE: untouched pages cost nothing). */
#define DURATION_MAX_RATE 200000000u

struct tp_consumer {
    uint64_t received, bytes, end_ns;
    uint64_t duplicated, reordered, corrupt;
    int err;
    struct ipcm_hist oneway;
};

struct tp_producer {
    uint64_t start_ns, sent;
    int err;
};

struct tp_shared {
    struct tp_producer prod[IPCM_MSG_MAX_PRODUCERS];
    uint64_t cap_bits; /* bitmap bits per producer */
    /* followed by consumers[C], then the bitmaps (P x cap_bits) */
};

struct tp_arg {
    const struct ipcm_bench_params *p;
    struct ipcm_link *link;
    struct ipcm_gate *gate;
    struct tp_shared *sh;
    struct tp_consumer *cons;
    uint64_t *bitmap;
    unsigned index; /* producer or consumer number */
    unsigned worker; /* placement order: producers 0..P-1, then consumers */
};

static uint64_t quota(const struct ipcm_bench_params *p, unsigned i)
{
    if (!p->messages) {
        uint64_t bits = p->duration_ns / (1000000000u / DURATION_MAX_RATE);
        if (bits < (UINT64_C(1) << 16))
            bits = UINT64_C(1) << 16;
        if (bits > (UINT64_C(1) << 34))
            bits = UINT64_C(1) << 34;
        return bits;
    }
    return p->messages / p->producers + (i < p->messages % p->producers ? 1 : 0);
}

static int producer_main(const void *varg, size_t len)
{
    const struct tp_arg *a = varg;
    const struct ipcm_bench_params *p = a->p;
    struct tp_producer *me = &a->sh->prod[a->index];
    struct ipcm_chan *c;
    (void)len;

    ipcm_bench_pin_self(ipcm_bench_cpu_of(p, a->worker));
    int r = ipcm_chan_open(a->link, IPCM_ROLE_SEND, &c);
    if (r < 0) {
        me->err = r;
        return 99;
    }
    unsigned char *buf = malloc(p->size);
    if (!buf) {
        me->err = -ENOMEM;
        return 99;
    }
    ipcm_msg_fill(buf, p->size, a->index, 0, 0); /* fault the pages in before the clock */
    if ((r = ipcm_gate_worker(a->gate, p->timeout_ms)) < 0) {
        me->err = r;
        return 99;
    }
    uint64_t start = ipcm_now_ns(), now = start;
    uint64_t end = start + p->duration_ns, limit = quota(p, a->index);
    uint64_t seq = 0;
    me->start_ns = start;
    for (; seq < limit; seq++) {
        bool stamp = seq % ONEWAY_STRIDE == 0;
        if (stamp || (p->duration_ns && seq % CLOCK_STRIDE == 0)) {
            now = ipcm_now_ns();
            if (p->duration_ns && now >= end)
                break;
        }
        ipcm_msg_fill(buf, p->size, a->index, seq, stamp ? now : 0);
        ssize_t n = ipcm_chan_send(c, buf, p->size, p->timeout_ms);
        if (n < 0) {
            me->err = (int)n;
            break;
        }
    }
    me->sent = seq;
    /* Closing is this producer's end-of-stream; consumers see -EPIPE after the last. */
    ipcm_chan_close(c);
    free(buf);
    return me->err ? 1 : 0;
}

static int consumer_main(const void *varg, size_t len)
{
    const struct tp_arg *a = varg;
    const struct ipcm_bench_params *p = a->p;
    struct tp_consumer *me = &a->cons[a->index];
    struct ipcm_chan *c;
    (void)len;

    ipcm_bench_pin_self(ipcm_bench_cpu_of(p, a->worker));
    int r = ipcm_chan_open(a->link, IPCM_ROLE_RECV, &c);
    if (r < 0) {
        me->err = r;
        return 99;
    }
    size_t cap = ipcm_chan_max_msg(c);
    unsigned char *buf = malloc(cap);
    int64_t *last = malloc(p->producers * sizeof(*last));
    if (!buf || !last) {
        me->err = -ENOMEM;
        return 99;
    }
    memset(buf, 0, cap);
    for (unsigned i = 0; i < p->producers; i++)
        last[i] = -1;
    if ((r = ipcm_gate_worker(a->gate, p->timeout_ms)) < 0) {
        me->err = r;
        return 99;
    }
    uint64_t cap_bits = a->sh->cap_bits;
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, buf, cap, p->timeout_ms);
        if (n == -EPIPE)
            break;
        if (n < 0) {
            me->err = (int)n;
            break;
        }
        unsigned prod;
        uint64_t seq, ts;
        me->received++;
        me->bytes += (uint64_t)n;
        if (ipcm_msg_check(buf, (size_t)n, p->size, &prod, &seq, &ts) < 0 ||
            prod >= p->producers || seq >= cap_bits) {
            me->corrupt++;
            continue;
        }
        if (ts)
            ipcm_hist_record(&me->oneway, ipcm_now_ns() - ts);
        uint64_t *word = &a->bitmap[prod * (cap_bits / 64) + seq / 64];
        uint64_t bit = UINT64_C(1) << (seq % 64);
        if (__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit) {
            me->duplicated++;
            continue;
        }
        /* FIFO per producer: one consumer must see each producer's sequence rise. */
        if ((int64_t)seq < last[prod])
            me->reordered++;
        else
            last[prod] = (int64_t)seq;
    }
    me->end_ns = ipcm_now_ns();
    ipcm_chan_close(c);
    free(buf);
    free(last);
    return me->err ? 1 : 0;
}

static uint64_t count_missing(const uint64_t *bits, uint64_t n)
{
    uint64_t have = 0;
    for (uint64_t w = 0; w < n / 64; w++)
        have += (uint64_t)__builtin_popcountll(bits[w]);
    if (n % 64)
        have += (uint64_t)__builtin_popcountll(bits[n / 64] & ((UINT64_C(1) << (n % 64)) - 1));
    return n - have;
}

static int tp_run(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    unsigned np = p->producers, nc = p->consumers, nw = np + nc;
    if (!np || !nc)
        return ipcm_bench_fail(rep, -EINVAL, "needs at least one producer and one consumer");
    uint64_t cap_bits = (quota(p, 0) + 63) / 64 * 64;
    size_t cons_off = (sizeof(struct tp_shared) + 63) / 64 * 64;
    size_t bm_off = cons_off + ((nc * sizeof(struct tp_consumer)) + 63) / 64 * 64;
    size_t total = bm_off + (size_t)np * (size_t)(cap_bits / 8);
    struct ipcm_config cfg = {.max_msg = p->size, .depth = 0};
    struct ipcm_process *procs = calloc(nw, sizeof(*procs));
    struct ipcm_link *link = NULL;
    struct ipcm_gate gate = {{-1, -1}, {-1, -1}};
    unsigned spawned = 0;
    int r;

    struct tp_shared *sh = ipcm_bench_shared_alloc(total);
    if (!sh || !procs) {
        free(procs);
        ipcm_bench_shared_free(sh, total);
        return ipcm_bench_fail(rep, -ENOMEM, "cannot map %zu B of shared results", total);
    }
    sh->cap_bits = cap_bits;
    struct tp_consumer *cons = (struct tp_consumer *)((char *)sh + cons_off);
    uint64_t *bitmap = (uint64_t *)((char *)sh + bm_off);
    for (unsigned i = 0; i < nc; i++)
        ipcm_hist_init(&cons[i].oneway);

    if ((r = ipcm_link_create(p->be, IPCM_SHAPE_QUEUE, &cfg, &link)) < 0) {
        ipcm_bench_fail(rep, r, "link create: %s", ipcm_strerror(r));
        goto out;
    }
    if ((r = ipcm_gate_create(&gate)) < 0) {
        ipcm_bench_fail(rep, r, "gate: %s", ipcm_strerror(r));
        goto out;
    }
    /* Consumers are spawned first (they wait at the gate anyway); --pin assigns CPUs
     * to producers first, then consumers (DESIGN.md §6). */
    for (unsigned w = 0; w < nw; w++) {
        bool is_cons = w < nc;
        struct tp_arg a = {.p = p, .link = link, .gate = &gate, .sh = sh, .cons = cons,
                           .bitmap = bitmap, .index = is_cons ? w : w - nc,
                           .worker = is_cons ? np + w : w - nc};
        r = ipcm_process_spawn(&procs[w], is_cons ? "bench consumer" : "bench producer",
                               is_cons ? consumer_main : producer_main, &a, sizeof(a));
        if (r < 0) {
            ipcm_bench_fail(rep, r, "spawn: %s", ipcm_strerror(r));
            goto out;
        }
        spawned++;
    }
    /* Our copy of the link must go, or end-of-stream would never come. */
    ipcm_link_destroy(link);
    link = NULL;
    if ((r = ipcm_gate_open(&gate, nw, p->timeout_ms)) < 0) {
        ipcm_bench_fail(rep, r, "start gate: a worker did not attach (%s)", ipcm_strerror(r));
        goto out;
    }
    int join_ms = p->timeout_ms + (int)(p->duration_ns / 1000000u) * 2;
    for (unsigned w = 0; w < nw; w++) {
        struct ipcm_exit ex;
        int jr = ipcm_process_stop(&procs[w], join_ms, &ex);
        if (jr == 0 && !ipcm_exit_ok(&ex) && r == 0) {
            char why[48];
            int err = w < nc ? cons[w].err : sh->prod[w - nc].err;
            r = err ? err : -EPROTO;
            ipcm_bench_fail(rep, r, "%s %u: %s (%s)", w < nc ? "consumer" : "producer",
                            w < nc ? w : w - nc, ipcm_exit_describe(&ex, why, sizeof(why)),
                            err ? ipcm_strerror(err) : "no error recorded");
        }
    }
    spawned = 0;
    if (r < 0)
        goto out;

    uint64_t start = UINT64_MAX, end = 0;
    for (unsigned i = 0; i < np; i++) {
        if (sh->prod[i].start_ns < start)
            start = sh->prod[i].start_ns;
        rep->verified.lost += count_missing(bitmap + (size_t)i * (cap_bits / 64),
                                            sh->prod[i].sent);
    }
    for (unsigned i = 0; i < nc; i++) {
        const struct tp_consumer *k = &cons[i];
        if (k->end_ns > end)
            end = k->end_ns;
        rep->messages += k->received - k->corrupt;
        rep->bytes += k->bytes;
        rep->verified.messages += k->received;
        rep->verified.duplicated += k->duplicated;
        rep->verified.reordered += k->reordered;
        rep->verified.corrupt += k->corrupt;
        if (rep->latency)
            ipcm_hist_merge(rep->latency, &k->oneway);
    }
    rep->elapsed_ns = end > start ? end - start : 1;
out:
    for (unsigned w = 0; w < spawned; w++)
        ipcm_process_stop(&procs[w], 0, NULL);
    ipcm_gate_destroy(&gate);
    ipcm_link_destroy(link);
    ipcm_bench_shared_free(sh, total);
    free(procs);
    return r;
}

const struct ipcm_bench_mode ipcm_bench_mode_throughput = {
    .name = "throughput",
    .summary = "P producers x C consumers stream verified messages through one queue",
    .shape = IPCM_SHAPE_QUEUE,
    .axes = IPCM_BENCH_AXIS_SIZES | IPCM_BENCH_AXIS_PRODUCERS | IPCM_BENCH_AXIS_CONSUMERS,
    .metrics = IPCM_BENCH_METRIC_MSGS | IPCM_BENCH_METRIC_ONEWAY,
    .min_size = IPCM_MSG_MIN,
    .run = tp_run,
};
