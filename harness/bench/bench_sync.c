/* SPDX-License-Identifier: MIT */
/*
 * bench_sync.c - the synchronization modes, one case per implementation of ipcm_sync:
 *   sync           Lock hand-off round trip between two processes, per placement;
 *   sync-contended increments/s of a plain counter under one Lock, --workers processes
 *                  (the counter is the check: an increment lost is a broken Lock);
 *   sync-barrier   Barrier round time with --workers parties;
 *   sync-event     Event wake latency: from event_set in one process to the return of
 *                  event_wait in the other, per placement (one-way, on the shared
 *                  CLOCK_MONOTONIC).
 *
 * The hand-off: three Locks L0..L2, P holding L0 and L1, Q holding L2. P's step k
 * releases L[k%3] and acquires L[(k+2)%3]; Q's step k acquires L[k%3] and releases
 * L[(k+2)%3]. Each acquire waits for a Lock the other process holds until it has made
 * its own step, so the two strictly alternate, and nobody can take back a Lock it just
 * released (with two Locks an unfair one could). One P step is one round trip: P wakes
 * Q, Q wakes P.
 *
 * The wake: two Events E0, E1. P writes the time, sets E0; Q, waiting on E0, returns,
 * records now - that time, clears E0 and sets E1; P waits for E1 and clears it. So every
 * set is a 0 -> 1 change with Q (most likely) asleep in the wait, as a user's would be.
 */
#include "bench.h"

#include "base.h"
#include "bench_internal.h"
#include "crew.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WARM_STEPS 50u      /* untimed hand-offs of fresh processes */
#define SYNC_MAX_WORKERS 64 /* --workers of the contended and barrier modes */

struct sy_shared {
    struct ipcm_hist hist;
    _Atomic uint64_t stop_at; /* hand-off: Q's last step; barrier: the last round */
    uint64_t start_ns, end_ns, count;
    long counter; /* contended: only ever incremented under the Lock */
    uint64_t done[SYNC_MAX_WORKERS];
    uint64_t t0[SYNC_MAX_WORKERS], t1[SYNC_MAX_WORKERS];
    struct ipcm_bench_cpu cpu[SYNC_MAX_WORKERS]; /* each worker over the timed steps */
    int err[SYNC_MAX_WORKERS];
    _Atomic uint64_t set_ns; /* event: when P set E0 */
    _Atomic uint32_t turn;   /* futex-raw: 1 while it is Q's turn, 0 while P's */
};

struct sy_arg {
    const struct ipcm_bench_params *p;
    struct ipcm_sync *s[3];
    struct ipcm_gate *gate;
    struct sy_shared *sh;
    unsigned id;
};

static const struct ipcm_sync_impl *sy_impl(const struct ipcm_bench_params *p)
{
    return ipcm_sync_impl_at(p->variant);
}

static const char *sy_variant(unsigned i)
{
    const struct ipcm_sync_impl *im = ipcm_sync_impl_at(i);
    return im ? ipcm_sync_impl_name(im) : NULL;
}

/* The hand-off's subjects: every implementation, then "futex-raw", the floor they are
 * measured against in the same run: a bare futex ping-pong on one shared word, with the
 * same timing code and placement (../shared/limits/futex_pingpong.c). */
#define SY_RAW_NAME "futex-raw"
static bool sy_is_raw(const struct ipcm_bench_params *p)
{
    return p->variant == ipcm_sync_impl_count();
}

static const char *sy_variant_handoff(unsigned i)
{
    return i == ipcm_sync_impl_count() ? SY_RAW_NAME : sy_variant(i);
}

static bool sy_more(const struct ipcm_bench_params *p, uint64_t i, uint64_t per, uint64_t start,
                    uint64_t now)
{
    return p->messages ? i < per : now - start < p->duration_ns;
}

/* Pin, open an end of each of the n primitives; a failure goes into err[id]. */
static int sy_attach(const struct sy_arg *a, unsigned n, struct ipcm_sync_end **e)
{
    ipcm_pin_self(ipcm_bench_cpu_of(a->p, a->id));
    for (unsigned i = 0; i < n; i++) {
        int r = ipcm_sync_open(a->s[i], &e[i]);
        if (r < 0)
            return a->sh->err[a->id] = r;
    }
    return 0;
}

static int sy_fail(const struct sy_arg *a, int r)
{
    a->sh->err[a->id] = r;
    return 1;
}

/*
 * The two sides of a two-process case. One step is one round of the case: 0 to go on,
 * a negative errno to fail, and (Q only) 1 for "P is done". The loops are always inlined
 * with a constant step, which the compiler then inlines too, so the timed region holds
 * the step's own code and no indirect call.
 */
typedef int (*sy_step_fn)(void *ctx, uint64_t k);
#define SY_INLINE static inline __attribute__((always_inline))

/* P: WARM_STEPS untimed steps, then timed ones until sy_more says stop; the CPU mark,
 * start_ns, end_ns and count cover the timed ones, and with record each timed step's
 * time goes into the histogram. Returns 0 with *kend the step it stopped at, or the
 * step's error. */
SY_INLINE int sy_p_loop(const struct sy_arg *a, sy_step_fn step, void *ctx, bool record,
                        uint64_t *kend)
{
    struct sy_shared *sh = a->sh;
    uint64_t k = 0, i = 0, start = 0, now = 0;
    struct ipcm_bench_cpu cpu0 = {0};
    for (;; k++) {
        bool timed = k >= WARM_STEPS;
        if (k == WARM_STEPS) {
            ipcm_bench_cpu_mark(&cpu0);
            sh->start_ns = start = now = ipcm_now_ns();
        }
        if (timed && !sy_more(a->p, i, a->p->messages, start, now))
            break;
        uint64_t t0 = 0;
        if (record)
            t0 = timed ? now : ipcm_now_ns();
        int r = step(ctx, k);
        now = ipcm_now_ns();
        if (r != 0)
            return r;
        if (record && timed)
            ipcm_hist_record(&sh->hist, now - t0);
        i += timed;
    }
    sh->end_ns = now;
    sh->count = i;
    ipcm_bench_cpu_since(&cpu0, &sh->cpu[a->id]);
    *kend = k;
    return 0;
}

/* Q: steps until one says P is done; its CPU mark begins as P's timed steps do.
 * Returns 0, or the step's error. */
SY_INLINE int sy_q_loop(const struct sy_arg *a, sy_step_fn step, void *ctx)
{
    struct ipcm_bench_cpu cpu0 = {0};
    for (uint64_t k = 0;; k++) {
        if (k == WARM_STEPS) /* as P's timed steps begin */
            ipcm_bench_cpu_mark(&cpu0);
        int r = step(ctx, k);
        if (r < 0)
            return r;
        if (r > 0)
            break;
    }
    ipcm_bench_cpu_since(&cpu0, &a->sh->cpu[a->id]);
    return 0;
}

/* ---------------------------------------------------------------- hand-off */

struct sy_handoff {
    struct ipcm_sync_end *l[3];
    struct sy_shared *sh;
};

static int handoff_p_step(void *ctx, uint64_t k)
{
    struct sy_handoff *h = ctx;
    ipcm_lock_release(h->l[k % 3]);
    return ipcm_lock_acquire(h->l[(k + 2) % 3], -1); /* the join deadline watches */
}

static int handoff_p(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    struct sy_handoff h = {.sh = a->sh};
    uint64_t k;
    (void)len;
    if (sy_attach(a, 3, h.l) < 0 || ipcm_lock_acquire(h.l[0], 0) || ipcm_lock_acquire(h.l[1], 0))
        return sy_fail(a, -EBUSY);
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    int r = sy_p_loop(a, handoff_p_step, &h, true, &k);
    if (r != 0)
        return sy_fail(a, r);
    /* Q stops at the step that takes the first Lock we hold now. */
    atomic_store(&a->sh->stop_at, k + 1);
    for (unsigned j = 0; j < 3; j++)
        ipcm_sync_close(h.l[j]); /* releases what it holds */
    return 0;
}

static int handoff_q_step(void *ctx, uint64_t k)
{
    struct sy_handoff *h = ctx;
    int r = ipcm_lock_acquire(h->l[k % 3], -1);
    if (r != 0)
        return r;
    if (k >= atomic_load(&h->sh->stop_at))
        return 1;
    ipcm_lock_release(h->l[(k + 2) % 3]);
    return 0;
}

static int handoff_q(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    struct sy_handoff h = {.sh = a->sh};
    (void)len;
    if (sy_attach(a, 3, h.l) < 0 || ipcm_lock_acquire(h.l[2], 0))
        return sy_fail(a, -EBUSY);
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    int r = sy_q_loop(a, handoff_q_step, &h);
    if (r != 0)
        return sy_fail(a, r);
    for (unsigned j = 0; j < 3; j++)
        ipcm_sync_close(h.l[j]);
    return 0;
}

/* futex-raw: P hands the word to Q and sleeps until Q hands it back; one step, one
 * round trip, as a hand-off step. */
static void raw_wait(_Atomic uint32_t *w, uint32_t busy)
{
    while (atomic_load(w) == busy)
        syscall(SYS_futex, w, FUTEX_WAIT, busy, NULL, NULL, 0); /* EAGAIN, EINTR: look again */
}

static void raw_pass(_Atomic uint32_t *w, uint32_t v)
{
    atomic_store(w, v);
    syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static int raw_p_step(void *ctx, uint64_t k)
{
    struct sy_shared *sh = ctx;
    (void)k;
    raw_pass(&sh->turn, 1);
    raw_wait(&sh->turn, 1); /* the join deadline watches */
    return 0;
}

static int raw_p(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    struct sy_shared *sh = a->sh;
    uint64_t k;
    (void)len;
    ipcm_pin_self(ipcm_bench_cpu_of(a->p, a->id));
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    sy_p_loop(a, raw_p_step, sh, true, &k); /* the step cannot fail */
    atomic_store(&sh->stop_at, 0);
    raw_pass(&sh->turn, 1);
    return 0;
}

static int raw_q_step(void *ctx, uint64_t k)
{
    struct sy_shared *sh = ctx;
    (void)k;
    raw_wait(&sh->turn, 0);
    if (atomic_load(&sh->stop_at) != UINT64_MAX)
        return 1;
    raw_pass(&sh->turn, 0);
    return 0;
}

static int raw_q(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    (void)len;
    ipcm_pin_self(ipcm_bench_cpu_of(a->p, a->id));
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    sy_q_loop(a, raw_q_step, a->sh); /* the step cannot fail */
    return 0;
}

/* ---------------------------------------------------------------- event wake */

struct sy_wake {
    struct ipcm_sync_end *ev[2];
    struct sy_shared *sh;
};

static int event_p_step(void *ctx, uint64_t k)
{
    struct sy_wake *w = ctx;
    (void)k;
    atomic_store(&w->sh->set_ns, ipcm_now_ns());
    ipcm_event_set(w->ev[0]);
    int r = ipcm_event_wait(w->ev[1], -1); /* the join deadline watches */
    if (r != 0)
        return r;
    ipcm_event_clear(w->ev[1]);
    return 0;
}

static int event_p(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    struct sy_wake w = {.sh = a->sh};
    uint64_t k;
    (void)len;
    if (sy_attach(a, 2, w.ev) < 0)
        return 1;
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    int r = sy_p_loop(a, event_p_step, &w, false, &k); /* Q records the wake */
    if (r != 0)
        return sy_fail(a, r);
    atomic_store(&a->sh->stop_at, 0); /* Q's next wake is the last */
    ipcm_event_set(w.ev[0]);
    for (unsigned j = 0; j < 2; j++)
        ipcm_sync_close(w.ev[j]);
    return 0;
}

static int event_q_step(void *ctx, uint64_t k)
{
    struct sy_wake *w = ctx;
    int r = ipcm_event_wait(w->ev[0], -1);
    uint64_t now = ipcm_now_ns();
    if (r != 0)
        return r;
    if (atomic_load(&w->sh->stop_at) != UINT64_MAX)
        return 1;
    if (k >= WARM_STEPS)
        ipcm_hist_record(&w->sh->hist, now - atomic_load(&w->sh->set_ns));
    ipcm_event_clear(w->ev[0]);
    ipcm_event_set(w->ev[1]);
    return 0;
}

static int event_q(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    struct sy_wake w = {.sh = a->sh};
    (void)len;
    if (sy_attach(a, 2, w.ev) < 0)
        return 1;
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    int r = sy_q_loop(a, event_q_step, &w);
    if (r != 0)
        return sy_fail(a, r);
    for (unsigned j = 0; j < 2; j++)
        ipcm_sync_close(w.ev[j]);
    return 0;
}

/* ---------------------------------------------------------------- contended */

static int contend_main(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    struct sy_shared *sh = a->sh;
    struct ipcm_sync_end *l;
    (void)len;
    if (sy_attach(a, 1, &l) < 0)
        return 1;
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    uint64_t per = a->p->messages / (a->p->workers ? a->p->workers : 1), i = 0;
    struct ipcm_bench_cpu cpu0;
    ipcm_bench_cpu_mark(&cpu0);
    uint64_t start = ipcm_now_ns(), now = start;
    for (; sy_more(a->p, i, per, start, now); i++) {
        int r = ipcm_lock_acquire(l, -1);
        if (r != 0)
            return sy_fail(a, r);
        sh->counter++;
        ipcm_lock_release(l);
        if (!a->p->messages && i % 64 == 0)
            now = ipcm_now_ns();
    }
    sh->t0[a->id] = start;
    sh->t1[a->id] = ipcm_now_ns();
    sh->done[a->id] = i;
    ipcm_bench_cpu_since(&cpu0, &sh->cpu[a->id]);
    ipcm_sync_close(l);
    return 0;
}

/* ---------------------------------------------------------------- barrier */

static int barrier_main(const void *varg, size_t len)
{
    const struct sy_arg *a = varg;
    struct sy_shared *sh = a->sh;
    struct ipcm_sync_end *b;
    (void)len;
    if (sy_attach(a, 1, &b) < 0)
        return 1;
    if (ipcm_gate_worker(a->gate, a->p->timeout_ms) < 0)
        return sy_fail(a, -EPIPE);
    uint64_t start = ipcm_now_ns(), now = start, timed = 0;
    struct ipcm_bench_cpu cpu0 = {0};
    for (uint64_t round = 0;; round++) {
        bool lead = a->id == 0, warm = round < WARM_STEPS;
        if (round == WARM_STEPS)
            ipcm_bench_cpu_mark(&cpu0);
        if (lead && round == WARM_STEPS)
            sh->start_ns = start = now = ipcm_now_ns();
        /* The lead decides before it arrives; the others read it after the round. */
        if (lead && !warm && !sy_more(a->p, timed, a->p->messages, start, now))
            atomic_store(&sh->stop_at, round);
        uint64_t t0 = now;
        int r = ipcm_barrier_wait(b, a->p->timeout_ms);
        now = ipcm_now_ns();
        if (r < 0)
            return sy_fail(a, r);
        if (lead && !warm) {
            ipcm_hist_record(&sh->hist, now - t0);
            timed++;
        }
        if (round >= atomic_load(&sh->stop_at))
            break;
    }
    if (a->id == 0) {
        sh->end_ns = now;
        sh->count = timed;
    }
    ipcm_bench_cpu_since(&cpu0, &sh->cpu[a->id]);
    ipcm_sync_close(b);
    return 0;
}

/* ---------------------------------------------------------------- the runs */

/* Spawn n workers running fn, release them together, join them against the deadline. */
static int sy_crew(const struct ipcm_bench_params *p, struct sy_arg *a, unsigned n,
                   ipcm_worker_fn const *fns, struct ipcm_bench_rep *rep)
{
    struct ipcm_crew crew = IPCM_CREW_INIT;
    int r;
    if ((r = ipcm_crew_init(&crew, n)) < 0) {
        ipcm_bench_fail(rep, r, "gate: %s", ipcm_strerror(r));
        goto out;
    }
    a->gate = &crew.gate;
    for (a->id = 0; a->id < n; a->id++)
        if ((r = ipcm_crew_spawn(&crew, "bench sync", fns[a->id ? 1 : 0], a, sizeof(*a))) < 0) {
            ipcm_bench_fail(rep, r, "spawn: %s", ipcm_strerror(r));
            goto out;
        }
    if ((r = ipcm_crew_start(&crew, p->timeout_ms)) < 0) {
        ipcm_bench_fail(rep, r, "start gate: a worker did not attach (%s)", ipcm_strerror(r));
        goto out;
    }
    int join_ms = ipcm_bench_join_ms(p);
    char why[160];
    if ((r = ipcm_crew_join(&crew, join_ms, why, sizeof(why))) < 0) {
        int err = crew.failed >= 0 ? a->sh->err[crew.failed] : 0;
        ipcm_bench_fail(rep, err ? err : r, "%s (%s)", why,
                        err ? ipcm_strerror(err) : "no error recorded");
        r = err ? err : r;
    }
out:
    ipcm_crew_stop(&crew);
    return r;
}

/* Create n primitives of kind on the case's implementation. */
static int sy_create(const struct ipcm_bench_params *p, enum ipcm_sync_kind kind, unsigned value,
                     unsigned n, struct sy_arg *a, struct ipcm_bench_rep *rep)
{
    for (unsigned i = 0; i < n; i++) {
        int r = ipcm_sync_create(sy_impl(p), kind, value, &a->s[i]);
        if (r == -ENOTSUP)
            return ipcm_bench_fail(rep, -EOPNOTSUPP, "%s provides no %s",
                                   ipcm_sync_impl_name(sy_impl(p)),
                                   kind == IPCM_SYNC_BARRIER ? "Barrier"
                                   : kind == IPCM_SYNC_EVENT ? "Event"
                                                             : "Lock");
        if (r < 0)
            return ipcm_bench_fail(rep, r, "create: %s", ipcm_strerror(r));
    }
    return 0;
}

enum sy_what { SY_HANDOFF, SY_CONTENDED, SY_BARRIER, SY_EVENT };

static int sy_run(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep, enum sy_what w)
{
    static ipcm_worker_fn const fns[4][2] = {{handoff_p, handoff_q},
                                             {contend_main, contend_main},
                                             {barrier_main, barrier_main},
                                             {event_p, event_q}};
    static const enum ipcm_sync_kind kinds[4] = {IPCM_SYNC_LOCK, IPCM_SYNC_LOCK, IPCM_SYNC_BARRIER,
                                                 IPCM_SYNC_EVENT};
    static const unsigned prims[4] = {3, 1, 1, 2};
    unsigned n = w == SY_HANDOFF || w == SY_EVENT ? 2 : p->workers;
    if (n < 1 || n > SYNC_MAX_WORKERS || (w == SY_BARRIER && n < 2))
        return ipcm_bench_fail(rep, -EOPNOTSUPP, "%u workers: this mode takes %u to %u", n,
                               w == SY_BARRIER ? 2u : 1u, SYNC_MAX_WORKERS);
    struct sy_shared *sh = ipcm_shared_alloc(sizeof(*sh));
    if (!sh)
        return ipcm_bench_fail(rep, -ENOMEM, "cannot map shared results");
    ipcm_hist_init(&sh->hist);
    atomic_store(&sh->stop_at, UINT64_MAX);
    struct sy_arg a = {.p = p, .sh = sh};
    static ipcm_worker_fn const raw_fns[2] = {raw_p, raw_q};
    bool raw = w == SY_HANDOFF && sy_is_raw(p);
    /* A Barrier's value is its parties; an Event starts clear. */
    int r = raw ? 0 : sy_create(p, kinds[w], w == SY_EVENT ? 0 : n, prims[w], &a, rep);
    if (r < 0 || (r = sy_crew(p, &a, n, raw ? raw_fns : fns[w], rep)) < 0)
        goto out;
    for (unsigned i = 0; i < n; i++)
        ipcm_bench_cpu_add(rep, &sh->cpu[i]);
    if (w == SY_CONTENDED) {
        uint64_t t0 = UINT64_MAX, t1 = 0, total = 0;
        for (unsigned i = 0; i < n; i++) {
            total += sh->done[i];
            t0 = sh->t0[i] < t0 ? sh->t0[i] : t0;
            t1 = sh->t1[i] > t1 ? sh->t1[i] : t1;
        }
        rep->tasks = total;
        rep->elapsed_ns = t1 > t0 ? t1 - t0 : 1;
        rep->verified.messages = total;
        /* Every increment counted by a worker must be in the counter. */
        rep->verified.lost = total - (uint64_t)sh->counter;
    } else {
        rep->tasks = sh->count;
        rep->elapsed_ns = sh->end_ns > sh->start_ns ? sh->end_ns - sh->start_ns : 1;
        rep->verified.messages = sh->count;
        if (rep->latency)
            ipcm_hist_merge(rep->latency, &sh->hist);
    }
out:
    for (unsigned i = 0; i < 3; i++)
        ipcm_sync_destroy(a.s[i]);
    ipcm_shared_free(sh, sizeof(*sh));
    return r;
}

static int sy_handoff(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    return sy_run(p, rep, SY_HANDOFF);
}

static int sy_contended(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    return sy_run(p, rep, SY_CONTENDED);
}

static int sy_barrier(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    return sy_run(p, rep, SY_BARRIER);
}

static int sy_event(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    return sy_run(p, rep, SY_EVENT);
}

const struct ipcm_bench_mode ipcm_bench_mode_sync = {
    .name = "sync",
    .summary = "Lock hand-off round trip between two processes, per implementation",
    .shape = IPCM_SHAPE_PIPE,
    .axes = IPCM_BENCH_AXIS_PLACEMENT,
    .metrics = IPCM_BENCH_METRIC_LATENCY | IPCM_BENCH_METRIC_TASKS,
    .run = sy_handoff,
    .variant = sy_variant_handoff,
};

const struct ipcm_bench_mode ipcm_bench_mode_sync_contended = {
    .name = "sync-contended",
    .summary = "increments/s under one Lock by --workers processes, per implementation",
    .shape = IPCM_SHAPE_QUEUE,
    .axes = IPCM_BENCH_AXIS_WORKERS,
    .metrics = IPCM_BENCH_METRIC_TASKS,
    .run = sy_contended,
    .variant = sy_variant,
};

const struct ipcm_bench_mode ipcm_bench_mode_sync_barrier = {
    .name = "sync-barrier",
    .summary = "Barrier round time with --workers parties, per implementation",
    .shape = IPCM_SHAPE_PIPE, /* its latency is a round, as a round trip is */
    .axes = IPCM_BENCH_AXIS_WORKERS,
    .metrics = IPCM_BENCH_METRIC_LATENCY | IPCM_BENCH_METRIC_TASKS,
    .run = sy_barrier,
    .variant = sy_variant,
};

const struct ipcm_bench_mode ipcm_bench_mode_sync_event = {
    .name = "sync-event",
    .summary = "Event wake latency: event_set to event_wait's return in another process",
    .shape = IPCM_SHAPE_PIPE, /* two processes in turn, as the hand-off */
    .axes = IPCM_BENCH_AXIS_PLACEMENT,
    .metrics = IPCM_BENCH_METRIC_LATENCY | IPCM_BENCH_METRIC_TASKS,
    .run = sy_event,
    .variant = sy_variant,
    .latency_kind = "one-way",
};
