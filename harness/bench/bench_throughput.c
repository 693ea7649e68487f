/* SPDX-License-Identifier: MIT */
/*
 * bench_throughput.c - the `throughput` mode: P producers and C consumers move messages
 * of one size through one queue-shaped link. The clock runs from the start gate (every
 * worker attached) to end-of-stream at the consumers, so setup and teardown are outside
 * it. Every message is verified on receipt: checksum, producer id, per-producer
 * sequence; a shared bitmap per producer catches loss and duplication across consumers.
 * One message in ONEWAY_STRIDE carries a send timestamp for the one-way latency.
 * `throughput-pipe` runs the same 1-to-1 stream through a pipe-shaped link (end A to end
 * B), so the two shapes of one backend compare on one workload (docs/from-python.md).
 */
#include "bench.h"

#include "base.h"
#include "bench_internal.h"
#include "crew.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
    struct ipcm_bench_cpu cpu; /* from the start gate to end-of-stream */
    int err;
    struct ipcm_hist oneway;
};

struct tp_producer {
    uint64_t start_ns, sent;
    struct ipcm_bench_cpu cpu; /* from the start gate to its close */
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
    unsigned index;  /* producer or consumer number */
    unsigned worker; /* placement order: producers 0..P-1, then consumers */
};

static uint64_t quota(const struct ipcm_bench_params *p, unsigned i)
{
    if (!p->messages) {
        uint64_t bits = p->duration_ns / (IPCM_NS_PER_S / DURATION_MAX_RATE);
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

    ipcm_pin_self(ipcm_bench_cpu_of(p, a->worker));
    /* throughput-pipe: the same stream from end A to end B of a pipe-shaped link */
    int r = ipcm_chan_open(a->link, p->shape == IPCM_SHAPE_PIPE ? IPCM_ROLE_A : IPCM_ROLE_SEND, &c);
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
    struct ipcm_bench_cpu cpu0;
    ipcm_bench_cpu_mark(&cpu0);
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
    ipcm_bench_cpu_since(&cpu0, &me->cpu);
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

    ipcm_pin_self(ipcm_bench_cpu_of(p, a->worker));
    int r = ipcm_chan_open(a->link, p->shape == IPCM_SHAPE_PIPE ? IPCM_ROLE_B : IPCM_ROLE_RECV, &c);
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
    struct ipcm_bench_cpu cpu0;
    ipcm_bench_cpu_mark(&cpu0);
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
        if (ipcm_msg_check(buf, (size_t)n, p->size, &prod, &seq, &ts) < 0 || prod >= p->producers ||
            seq >= cap_bits) {
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
    ipcm_bench_cpu_since(&cpu0, &me->cpu);
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

/* Where the parts of the shared mapping lie: tp_shared, consumers[C], then P bitmaps. */
struct tp_layout {
    uint64_t cap_bits;
    size_t cons_off, bm_off, total;
};

static void tp_layout_of(const struct ipcm_bench_params *p, struct tp_layout *l)
{
    l->cap_bits = (quota(p, 0) + 63) / 64 * 64;
    l->cons_off = (sizeof(struct tp_shared) + 63) / 64 * 64;
    l->bm_off = l->cons_off + ((p->consumers * sizeof(struct tp_consumer)) + 63) / 64 * 64;
    l->total = l->bm_off + (size_t)p->producers * (size_t)(l->cap_bits / 8);
}

/*
 * The one mapping here that needs MAP_NORESERVE, which ipcm_shared_alloc does not set:
 * in duration mode each bitmap is sized for DURATION_MAX_RATE (up to 2 GiB a producer),
 * and without it the kernel's overcommit heuristic refuses a long run with many
 * producers, although only the pages consumers touch ever cost memory.
 */
static void *tp_map(size_t total)
{
    void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* Consumers are spawned first (they wait at the gate anyway); --pin assigns CPUs to
 * producers first, then consumers (DESIGN.md §6). */
static int tp_spawn(struct ipcm_crew *crew, const struct tp_arg *base, struct ipcm_bench_rep *rep)
{
    unsigned np = base->p->producers, nc = base->p->consumers;
    for (unsigned w = 0; w < np + nc; w++) {
        bool is_cons = w < nc;
        struct tp_arg a = *base;
        a.index = is_cons ? w : w - nc;
        a.worker = is_cons ? np + w : w - nc;
        int r = ipcm_crew_spawn(crew, is_cons ? "bench consumer" : "bench producer",
                                is_cons ? consumer_main : producer_main, &a, sizeof(a));
        if (r < 0)
            return ipcm_bench_fail(rep, r, "spawn: %s", ipcm_error_text(r));
    }
    return 0;
}

/* Name the first worker that failed, with the error it recorded. */
static int tp_failed(const struct ipcm_crew *crew, const struct tp_arg *a,
                     struct ipcm_bench_rep *rep)
{
    unsigned w = (unsigned)crew->failed, nc = a->p->consumers;
    int err = w < nc ? a->cons[w].err : a->sh->prod[w - nc].err;
    char why[48];
    return ipcm_bench_fail(rep, err ? err : -EPROTO, "%s %u: %s (%s)",
                           w < nc ? "consumer" : "producer", w < nc ? w : w - nc,
                           ipcm_exit_describe(&crew->m[w].ex, why, sizeof(why)),
                           err ? ipcm_strerror(err) : "no error recorded");
}

/* Sum what every worker recorded: from the first producer's start to the last receipt. */
static void tp_collect(const struct tp_arg *a, uint64_t cap_bits, struct ipcm_bench_rep *rep)
{
    const struct tp_shared *sh = a->sh;
    uint64_t start = UINT64_MAX, end = 0;
    for (unsigned i = 0; i < a->p->producers; i++) {
        if (sh->prod[i].start_ns < start)
            start = sh->prod[i].start_ns;
        rep->verified.lost +=
            count_missing(a->bitmap + (size_t)i * (cap_bits / 64), sh->prod[i].sent);
        ipcm_bench_cpu_add(rep, &sh->prod[i].cpu);
    }
    for (unsigned i = 0; i < a->p->consumers; i++) {
        const struct tp_consumer *k = &a->cons[i];
        if (k->end_ns > end)
            end = k->end_ns;
        rep->messages += k->received - k->corrupt;
        rep->bytes += k->bytes;
        rep->verified.messages += k->received;
        rep->verified.duplicated += k->duplicated;
        rep->verified.reordered += k->reordered;
        rep->verified.corrupt += k->corrupt;
        ipcm_bench_cpu_add(rep, &k->cpu);
        if (rep->latency)
            ipcm_hist_merge(rep->latency, &k->oneway);
    }
    rep->elapsed_ns = end > start ? end - start : 1;
}

static int tp_run(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    if (!p->producers || !p->consumers)
        return ipcm_bench_fail(rep, -EINVAL, "needs at least one producer and one consumer");
    if (p->shape == IPCM_SHAPE_PIPE && (p->producers > 1 || p->consumers > 1))
        return ipcm_bench_fail(rep, -EOPNOTSUPP, "a pipe has two ends: one producer, one consumer");
    struct tp_layout l;
    struct ipcm_config cfg = {.max_msg = p->size, .depth = 0};
    struct ipcm_crew crew = IPCM_CREW_INIT;
    struct ipcm_link *link = NULL;
    int r;

    tp_layout_of(p, &l);
    struct tp_shared *sh = tp_map(l.total);
    if (!sh)
        return ipcm_bench_fail(rep, -ENOMEM, "cannot map %zu B of shared results", l.total);
    sh->cap_bits = l.cap_bits;
    struct tp_arg a = {.p = p,
                       .gate = &crew.gate,
                       .sh = sh,
                       .cons = (struct tp_consumer *)((char *)sh + l.cons_off),
                       .bitmap = (uint64_t *)((char *)sh + l.bm_off)};
    for (unsigned i = 0; i < p->consumers; i++)
        ipcm_hist_init(&a.cons[i].oneway);

    if ((r = ipcm_link_create(p->be, p->shape, &cfg, &link)) < 0) {
        ipcm_bench_fail(rep, r, "link create: %s", ipcm_error_text(r));
        goto out;
    }
    a.link = link;
    if ((r = ipcm_crew_init(&crew, p->producers + p->consumers)) < 0) {
        ipcm_bench_fail(rep, r, "gate: %s", ipcm_strerror(r));
        goto out;
    }
    if ((r = tp_spawn(&crew, &a, rep)) < 0)
        goto out;
    /* Our copy of the link must go, or end-of-stream would never come. */
    ipcm_link_destroy(link);
    link = NULL;
    if ((r = ipcm_crew_start(&crew, p->timeout_ms)) < 0) {
        ipcm_bench_fail(rep, r, "start gate: a worker did not attach (%s)", ipcm_strerror(r));
        goto out;
    }
    int join_ms = ipcm_bench_join_ms(p);
    if (ipcm_crew_join(&crew, join_ms, NULL, 0) < 0)
        r = tp_failed(&crew, &a, rep);
    else
        tp_collect(&a, l.cap_bits, rep);
out:
    ipcm_crew_stop(&crew);
    ipcm_link_destroy(link);
    ipcm_shared_free(sh, l.total);
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

/* Python's folklore "a Pipe is faster than a Queue", measured: one producer on end A,
 * one consumer on end B, everything else as in `throughput`. */
const struct ipcm_bench_mode ipcm_bench_mode_throughput_pipe = {
    .name = "throughput-pipe",
    .summary = "the throughput stream, 1 producer to 1 consumer, through a pipe-shaped link",
    .shape = IPCM_SHAPE_PIPE,
    .axes = IPCM_BENCH_AXIS_SIZES | IPCM_BENCH_AXIS_PRODUCERS | IPCM_BENCH_AXIS_CONSUMERS,
    .metrics = IPCM_BENCH_METRIC_MSGS | IPCM_BENCH_METRIC_ONEWAY,
    .min_size = IPCM_MSG_MIN,
    .run = tp_run,
};
