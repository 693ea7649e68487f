/* SPDX-License-Identifier: MIT */
/*
 * bench_latency.c - the `latency` mode. Closed loop (default): ping-pong on the pipe
 * shape, end A timing every round trip into the histogram; the message is built before
 * the clock starts and verified after it stops, so only send + receive are timed.
 * Open loop (--rate N/s): one producer sends on a fixed schedule through the queue
 * shape and the consumer records latency from the *intended* send time, so a stall
 * delays every later message in the record too (no coordinated omission).
 */
#include "bench.h"

#include "base.h"
#include "bench_internal.h"
#include "crew.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

/* Untimed round trips at the start of each repetition: first-touch faults and cold
 * caches of the fresh processes stay out of the histogram. */
#define WARM_TRIPS 50u

struct lat_shared {
    struct ipcm_hist hist;
    uint64_t start_ns, end_ns, count;
    uint64_t lost, reordered, corrupt;
    struct ipcm_bench_cpu cpu[2]; /* each end, over its timed region */
    int err[2];
};

struct lat_arg {
    const struct ipcm_bench_params *p;
    struct ipcm_link *link;
    struct ipcm_gate *gate;
    struct lat_shared *sh;
};

static bool more(const struct ipcm_bench_params *p, uint64_t i, uint64_t start, uint64_t now)
{
    return p->messages ? i < p->messages : now - start < p->duration_ns;
}

/* Pin this worker (end 0 or 1), open its end and, when rbuf is wanted, a zeroed
 * receive buffer of the channel's max_msg. A failure is recorded in sh->err[end]. */
static int lat_attach(const struct lat_arg *a, int end, enum ipcm_role role, struct ipcm_chan **c,
                      unsigned char **rbuf, size_t *cap)
{
    ipcm_pin_self(ipcm_bench_cpu_of(a->p, end));
    int r = ipcm_chan_open(a->link, role, c);
    if (r == 0 && rbuf) {
        *cap = ipcm_chan_max_msg(*c);
        if (!(*rbuf = calloc(1, *cap)))
            r = -ENOMEM;
    }
    if (r < 0)
        a->sh->err[end] = r;
    return r;
}

/* Report ready and wait for the start; a failure is recorded in sh->err[end]. */
static int lat_gate(const struct lat_arg *a, int end)
{
    int r = ipcm_gate_worker(a->gate, a->p->timeout_ms);
    if (r < 0)
        a->sh->err[end] = r;
    return r;
}

/* End A: send, wait for the echo, time it; verify the echo outside the timed region. */
static int pinger_main(const void *varg, size_t len)
{
    const struct lat_arg *a = varg;
    const struct ipcm_bench_params *p = a->p;
    struct lat_shared *sh = a->sh;
    struct ipcm_chan *c;
    (void)len;

    unsigned char *in = NULL, *out;
    size_t cap = 0; /* set by lat_attach; -O3 cannot see it */
    if (lat_attach(a, 0, IPCM_ROLE_A, &c, &in, &cap) < 0)
        return 99;
    if (!(out = malloc(p->size))) {
        sh->err[0] = -ENOMEM;
        return 99;
    }
    if (lat_gate(a, 0) < 0)
        return 99;
    uint64_t i = 0, now = 0, start = 0;
    struct ipcm_bench_cpu cpu0 = {0};
    for (uint64_t k = 0;; k++) {
        bool timed = k >= WARM_TRIPS;
        if (k == WARM_TRIPS) {
            ipcm_bench_cpu_mark(&cpu0);
            sh->start_ns = start = now = ipcm_now_ns();
        }
        if (timed && !more(p, i, start, now))
            break;
        ipcm_msg_fill(out, p->size, 0, k, 0);
        uint64_t t0 = ipcm_now_ns();
        /* Wait forever, so each backend blocks through its own wake-up path (a
         * deadline would turn pipe and socket reads into poll + read); the parent's
         * join deadline is the watchdog that turns a stuck case into a failure. */
        ssize_t n = ipcm_chan_send(c, out, p->size, -1);
        if (n >= 0)
            n = ipcm_chan_recv(c, in, cap, -1);
        now = ipcm_now_ns();
        if (n < 0) {
            sh->err[0] = (int)n;
            break;
        }
        if (timed) {
            ipcm_hist_record(&sh->hist, now - t0);
            i++;
        }
        unsigned prod;
        uint64_t seq, ts;
        if (ipcm_msg_check(in, (size_t)n, p->size, &prod, &seq, &ts) < 0)
            sh->corrupt++;
        else if (seq != k)
            sh->reordered++;
    }
    sh->end_ns = now;
    sh->count = i;
    ipcm_bench_cpu_since(&cpu0, &sh->cpu[0]);
    ipcm_chan_close(c); /* end B sees end-of-stream and leaves */
    free(out);
    free(in);
    return sh->err[0] ? 1 : 0;
}

/* End B: echo every message as it came, until end-of-stream. */
static int echo_main(const void *varg, size_t len)
{
    const struct lat_arg *a = varg;
    struct ipcm_chan *c;
    unsigned char *buf = NULL;
    size_t cap = 0;
    (void)len;

    if (lat_attach(a, 1, IPCM_ROLE_B, &c, &buf, &cap) < 0 || lat_gate(a, 1) < 0)
        return 99;
    /* Its timed region starts as end A's does: once the warm-up trips are echoed. */
    struct ipcm_bench_cpu cpu0 = {0};
    for (uint64_t k = 0;; k++) {
        if (k == WARM_TRIPS)
            ipcm_bench_cpu_mark(&cpu0);
        ssize_t n = ipcm_chan_recv(c, buf, cap, -1); /* as ping_main: blocking, watched */
        if (n == -EPIPE)
            break;
        if (n >= 0)
            n = ipcm_chan_send(c, buf, (size_t)n, -1);
        if (n < 0) {
            a->sh->err[1] = (int)n;
            break;
        }
    }
    ipcm_bench_cpu_since(&cpu0, &a->sh->cpu[1]);
    ipcm_chan_close(c);
    free(buf);
    return a->sh->err[1] ? 1 : 0;
}

/* Open loop, producer: message i leaves at start + i * period, late or not. */
static int paced_main(const void *varg, size_t len)
{
    const struct lat_arg *a = varg;
    const struct ipcm_bench_params *p = a->p;
    struct lat_shared *sh = a->sh;
    struct ipcm_chan *c;
    (void)len;

    if (lat_attach(a, 0, IPCM_ROLE_SEND, &c, NULL, NULL) < 0)
        return 99;
    unsigned char *out = malloc(p->size);
    if (!out) {
        sh->err[0] = -ENOMEM;
        return 99;
    }
    ipcm_msg_fill(out, p->size, 0, 0, 1);
    /* The default 50 us timer slack would make every send late by design. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    if (lat_gate(a, 0) < 0)
        return 99;
    double period = (double)IPCM_NS_PER_S / p->rate_per_s;
    uint64_t start = ipcm_now_ns() + IPCM_NS_PER_MS, i = 0; /* first send 1 ms after the gate */
    sh->start_ns = start;
    struct ipcm_bench_cpu cpu0;
    ipcm_bench_cpu_mark(&cpu0);
    for (;; i++) {
        uint64_t intended = start + (uint64_t)((double)i * period);
        if (!more(p, i, start, intended))
            break;
        if (ipcm_now_ns() < intended) {
            struct timespec ts = {(time_t)(intended / IPCM_NS_PER_S),
                                  (long)(intended % IPCM_NS_PER_S)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
        }
        ipcm_msg_fill(out, p->size, 0, i, intended);
        ssize_t n = ipcm_chan_send(c, out, p->size, p->timeout_ms);
        if (n < 0) {
            sh->err[0] = (int)n;
            break;
        }
    }
    sh->count = i;
    ipcm_chan_close(c);
    ipcm_bench_cpu_since(&cpu0, &sh->cpu[0]);
    free(out);
    return sh->err[0] ? 1 : 0;
}

/* Open loop, consumer: latency from the intended send time carried in the message. */
static int sink_main(const void *varg, size_t len)
{
    const struct lat_arg *a = varg;
    const struct ipcm_bench_params *p = a->p;
    struct lat_shared *sh = a->sh;
    struct ipcm_chan *c;
    (void)len;

    unsigned char *buf = NULL;
    size_t cap = 0;
    if (lat_attach(a, 1, IPCM_ROLE_RECV, &c, &buf, &cap) < 0 || lat_gate(a, 1) < 0)
        return 99;
    uint64_t expect = 0;
    struct ipcm_bench_cpu cpu0;
    ipcm_bench_cpu_mark(&cpu0);
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, buf, cap, p->timeout_ms);
        uint64_t now = ipcm_now_ns();
        if (n == -EPIPE)
            break;
        if (n < 0) {
            sh->err[1] = (int)n;
            break;
        }
        unsigned prod;
        uint64_t seq, ts;
        if (ipcm_msg_check(buf, (size_t)n, p->size, &prod, &seq, &ts) < 0 || prod != 0) {
            sh->corrupt++;
            continue;
        }
        ipcm_hist_record(&sh->hist, now > ts ? now - ts : 0);
        if (seq < expect)
            sh->reordered++;
        else
            sh->lost += seq - expect, expect = seq + 1;
        sh->end_ns = now;
    }
    ipcm_bench_cpu_since(&cpu0, &sh->cpu[1]);
    ipcm_chan_close(c);
    free(buf);
    return sh->err[1] ? 1 : 0;
}

static enum ipcm_shape lat_shape(const struct ipcm_bench_config *c)
{
    return c->rate_per_s > 0 ? IPCM_SHAPE_QUEUE : IPCM_SHAPE_PIPE;
}

/* Worker names, [open loop][end]; they also name a failed worker in rep->reason. */
static const char *const lat_names[2][2] = {{"bench ping", "bench echo"},
                                            {"bench paced", "bench sink"}};

/* Spawn both ends, release them together and join them; a failure is named in rep. */
static int lat_crew(const struct ipcm_bench_params *p, struct lat_arg *a,
                    struct ipcm_bench_rep *rep)
{
    bool open_loop = p->shape == IPCM_SHAPE_QUEUE;
    ipcm_worker_fn fns[2][2] = {{pinger_main, echo_main}, {paced_main, sink_main}};
    struct ipcm_crew crew = IPCM_CREW_INIT;
    int r;

    if ((r = ipcm_crew_init(&crew, 2)) < 0) {
        ipcm_bench_fail(rep, r, "gate: %s", ipcm_strerror(r));
        goto out;
    }
    a->gate = &crew.gate;
    for (unsigned w = 0; w < 2; w++)
        if ((r = ipcm_crew_spawn(&crew, lat_names[open_loop][w], fns[open_loop][w], a,
                                 sizeof(*a))) < 0) {
            ipcm_bench_fail(rep, r, "spawn: %s", ipcm_error_text(r));
            goto out;
        }
    ipcm_link_destroy(a->link);
    a->link = NULL;
    if ((r = ipcm_crew_start(&crew, p->timeout_ms)) < 0) {
        ipcm_bench_fail(rep, r, "start gate: a worker did not attach (%s)", ipcm_strerror(r));
        goto out;
    }
    int join_ms = ipcm_bench_join_ms(p);
    if (ipcm_crew_join(&crew, join_ms, NULL, 0) < 0) {
        int w = crew.failed, err = a->sh->err[w];
        char why[48];
        r = ipcm_bench_fail(rep, err ? err : -EPROTO, "%s: %s (%s)", lat_names[open_loop][w],
                            ipcm_exit_describe(&crew.m[w].ex, why, sizeof(why)),
                            err ? ipcm_strerror(err) : "no error recorded");
    }
out:
    ipcm_crew_stop(&crew);
    return r;
}

static int lat_run(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    bool open_loop = p->shape == IPCM_SHAPE_QUEUE;
    struct ipcm_config cfg = {.max_msg = p->size, .depth = 0};
    int r;

    if (open_loop && p->size < IPCM_MSG_FULL)
        return ipcm_bench_fail(rep, -EOPNOTSUPP, "open-loop latency needs %u B for the send time",
                               IPCM_MSG_FULL);
    if (open_loop && !(p->rate_per_s > 0))
        return ipcm_bench_fail(rep, -EINVAL, "open loop without a rate");
    struct lat_shared *sh = ipcm_shared_alloc(sizeof(*sh));
    if (!sh)
        return ipcm_bench_fail(rep, -ENOMEM, "cannot map shared results");
    ipcm_hist_init(&sh->hist);
    struct lat_arg a = {.p = p, .sh = sh};
    if ((r = ipcm_link_create(p->be, p->shape, &cfg, &a.link)) < 0) {
        ipcm_bench_fail(rep, r, "link create: %s", ipcm_error_text(r));
        goto out;
    }
    /* The crew drops our copy of the link once both ends hold theirs. */
    if ((r = lat_crew(p, &a, rep)) < 0)
        goto out;
    rep->messages = open_loop ? ipcm_hist_count(&sh->hist) : sh->count;
    rep->bytes = rep->messages * p->size;
    rep->elapsed_ns = sh->end_ns > sh->start_ns ? sh->end_ns - sh->start_ns : 1;
    rep->verified.messages = open_loop ? ipcm_hist_count(&sh->hist) + sh->corrupt : sh->count;
    rep->verified.corrupt = sh->corrupt;
    rep->verified.reordered = sh->reordered;
    rep->verified.lost = sh->lost;
    if (open_loop && sh->count > rep->verified.messages + sh->lost)
        rep->verified.lost += sh->count - rep->verified.messages - sh->lost;
    ipcm_bench_cpu_add(rep, &sh->cpu[0]);
    ipcm_bench_cpu_add(rep, &sh->cpu[1]);
    if (rep->latency)
        ipcm_hist_merge(rep->latency, &sh->hist);
out:
    ipcm_link_destroy(a.link);
    ipcm_shared_free(sh, sizeof(*sh));
    return r;
}

const struct ipcm_bench_mode ipcm_bench_mode_latency = {
    .name = "latency",
    .summary = "ping-pong round trips per placement (or open-loop one-way with --rate)",
    .shape = IPCM_SHAPE_PIPE,
    .axes = IPCM_BENCH_AXIS_SIZES | IPCM_BENCH_AXIS_PLACEMENT,
    .metrics = IPCM_BENCH_METRIC_LATENCY,
    .min_size = IPCM_MSG_MIN,
    .shape_of = lat_shape,
    .run = lat_run,
};
