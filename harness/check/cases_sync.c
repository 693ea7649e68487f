/* SPDX-License-Identifier: MIT */
/*
 * cases_sync.c - conformance group S (synchronization, issue 17): each property on each
 * implementation of ipcm_sync (ids sync.<impl>.<property>). A property the
 * implementation does not declare still runs, under a short bound, and is reported n/a
 * with what was observed (RULINGS 1). The cases use no channel: every backend column
 * runs the same ones.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SX_UNDECLARED_MS 1000 /* how long an undeclared property is waited for */
#define SX_MAX_WORKERS 8

/* Shared by the case process and its workers. */
struct sx {
    atomic_int stage;  /* the case tells workers to go on */
    atomic_int held;   /* a worker holds the Lock (between its acquire and release) */
    atomic_int inside; /* workers inside the section now */
    atomic_int max_in; /* most ever inside at once */
    atomic_int result[SX_MAX_WORKERS];
    long counter; /* incremented under the Lock only */
};

/* A worker's argument (copied by fork). */
struct sx_arg {
    struct ipcm_check_ctx *ctx;
    struct ipcm_sync *s;
    struct sx *x;
    int id, n, timeout_ms;
    int note[2];
};

static const struct ipcm_sync_impl *sx_impl(const char *name)
{
    return ipcm_sync_impl_find(name);
}

static bool sx_declares(const char *impl, uint32_t cap)
{
    return (ipcm_sync_impl_caps(sx_impl(impl)) & cap) != 0;
}

/* Open an end in a worker and say so on the note. */
static struct ipcm_sync_end *sx_worker_open(const struct sx_arg *a)
{
    struct ipcm_sync_end *e = NULL;
    close(a->note[0]);
    int r = ipcm_sync_open(a->s, &e);
    if (r < 0)
        ipcm_check_failf(a->ctx, __FILE__, __LINE__, "worker %d: ipcm_sync_open: %s", a->id,
                         ipcm_err_name(r));
    if (write(a->note[1], "r", 1) != 1)
        r = r < 0 ? r : -EPIPE;
    close(a->note[1]);
    return e;
}

/* The case's setup: the primitive, the shared block and one end here. */
struct sx_case {
    struct ipcm_sync *s;
    struct ipcm_sync_end *e;
    struct sx *x;
    struct ipcm_process p[SX_MAX_WORKERS];
    int note[SX_MAX_WORKERS];
    unsigned n;
};

static bool sx_setup(struct ipcm_check_ctx *ctx, struct sx_case *c, const char *impl,
                     enum ipcm_sync_kind kind, unsigned value)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < SX_MAX_WORKERS; i++)
        c->note[i] = -1;
    int r = ipcm_sync_create(sx_impl(impl), kind, value, &c->s);
    IPCM_CHECK_OP_(ctx, r, ==, 0, return false);
    c->x = ipcm_shared_alloc(sizeof(*c->x));
    IPCM_CHECK_OP_(ctx, c->x != NULL, ==, 1, return false);
    r = ipcm_sync_open(c->s, &c->e);
    IPCM_CHECK_OP_(ctx, r, ==, 0, return false);
    return true;
}

/* Start worker i running fn and wait until it has opened its end. */
static bool sx_spawn(struct ipcm_check_ctx *ctx, struct sx_case *c, ipcm_worker_fn fn, int n,
                     int timeout_ms)
{
    unsigned i = c->n;
    struct sx_arg a = {ctx, c->s, c->x, (int)i, n, timeout_ms, {-1, -1}};
    char name[32];
    snprintf(name, sizeof(name), "sync worker %u", i);
    int r = ipcm_check_spawn_noted(ctx, &c->p[i], name, fn, &a, sizeof(a), a.note);
    IPCM_CHECK_OP_(ctx, r, ==, 0, return false);
    c->note[i] = a.note[0];
    c->n++;
    IPCM_CHECK_OP_(ctx, ipcm_check_wait_note(c->note[i]), ==, 1, return false);
    return true;
}

/* Reap every worker (killing what still runs) and close its note: none left. */
static void sx_reap_all(struct sx_case *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        struct ipcm_exit ex;
        ipcm_process_stop(&c->p[i], 0, &ex);
        ipcm_close_fd(&c->note[i]);
    }
    c->n = 0;
}

/* sx_reap_all, then free everything. */
static void sx_teardown(struct sx_case *c)
{
    sx_reap_all(c);
    ipcm_sync_close(c->e);
    ipcm_sync_destroy(c->s);
    ipcm_shared_free(c->x, sizeof(*c->x));
}

/* ---------------------------------------------------------------- 120 exclusion */

static int excl_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    for (int i = 0; i < a->n; i++) {
        int r = ipcm_lock_acquire(e, IPCM_CHECK_T_OP_MS);
        IPCM_WCHECK_EQ(a->ctx, r, 0);
        int in = atomic_fetch_add(&a->x->inside, 1) + 1;
        if (in > atomic_load(&a->x->max_in))
            atomic_store(&a->x->max_in, in);
        long v = a->x->counter;
        if (i % 32 == 0)
            sched_yield(); /* widen the window a broken lock would leave open */
        a->x->counter = v + 1;
        atomic_fetch_sub(&a->x->inside, 1);
        IPCM_WCHECK_EQ(a->ctx, ipcm_lock_release(e), 0);
    }
    ipcm_sync_close(e);
    return 0;
}

static void lock_exclusion(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    unsigned nw = ctx->quick ? 4 : 8;
    int per = ctx->quick ? 2000 : 20000;
    if (sx_setup(ctx, &c, impl, IPCM_SYNC_LOCK, 0)) {
        for (unsigned i = 0; i < nw && sx_spawn(ctx, &c, excl_worker, per, 0); i++)
            ;
        for (unsigned i = 0; i < c.n; i++)
            IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[i], 60000, __FILE__, __LINE__), ==, 1,
                           break);
        if (!ipcm_check_failed(ctx)) {
            IPCM_CHECK_OP_(ctx, atomic_load(&c.x->max_in), ==, 1, goto out);
            IPCM_CHECK_OP_(ctx, c.x->counter, ==, (long)nw * per, goto out);
        }
    }
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 121 holder killed */

/* Takes the Lock (an RLock: n levels deep) and gives it back, until killed. */
static int churn_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    int depth = a->n > 1 ? a->n : 1;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    for (;;) {
        for (int d = 0; d < depth; d++)
            if (ipcm_lock_acquire(e, -1) < 0)
                return 1;
        atomic_store(&a->x->held, 1);
        for (volatile int k = 0; k < 2000; k++)
            ;
        atomic_store(&a->x->held, 0);
        for (int d = 0; d < depth; d++)
            ipcm_lock_release(e);
    }
}

/* 121 on a Lock; 128 on an RLock whose holder is two levels deep. */
static void lock_owner_dead(struct ipcm_check_ctx *ctx, const char *impl, enum ipcm_sync_kind kind)
{
    struct sx_case c;
    bool decl = sx_declares(impl, IPCM_SYNC_CAP_OWNER_DEAD);
    int rounds = ctx->quick ? 8 : 30, held_kills = 0, reported = 0;
    int depth = kind == IPCM_SYNC_RLOCK ? 2 : 1;
    uint64_t rng = ctx->seed;
    char seen[200] = "";
    if (!sx_setup(ctx, &c, impl, kind, 0))
        goto out;
    for (int k = 0; k < rounds && !seen[0]; k++) {
        sx_reap_all(&c);
        if (!sx_spawn(ctx, &c, churn_worker, depth, 0))
            goto out;
        ipcm_sleep_ns(ipcm_check_rand(&rng) % (3 * IPCM_NS_PER_MS));
        ipcm_process_kill(&c.p[0], SIGKILL);
        struct ipcm_exit ex;
        ipcm_check_reap(&c.p[0], 5000, &ex);
        bool held = atomic_load(&c.x->held);
        atomic_store(&c.x->held, 0);
        uint64_t t0 = ipcm_now_ns();
        int r = ipcm_lock_acquire(c.e, decl ? IPCM_CHECK_T_OP_MS : SX_UNDECLARED_MS);
        held_kills += held;
        reported += r == -EOWNERDEAD;
        if (r != 0 && r != -EOWNERDEAD) {
            snprintf(seen, sizeof(seen),
                     "round %d: acquire after the holder's SIGKILL gave %s after %d ms", k + 1,
                     ipcm_err_name(r), ipcm_ms_since(t0));
            break;
        }
        if (held && r != -EOWNERDEAD)
            snprintf(seen, sizeof(seen), "round %d: killed holding it, acquire returned 0", k + 1);
        else if (ipcm_lock_depth(c.e) != 1)
            snprintf(seen, sizeof(seen), "round %d: acquired at depth %d, not 1", k + 1,
                     ipcm_lock_depth(c.e));
        ipcm_lock_release(c.e);
    }
    if (decl)
        IPCM_CHECK(ctx, !seen[0], "%s", seen);
    else
        ipcm_check_naf(ctx, "not declared; observed: %s",
                       seen[0] ? seen : "every dead holder reported");
    if (!ipcm_check_failed(ctx) && decl)
        IPCM_CHECK_OP_(ctx, reported, >=, held_kills, goto out);
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 122 waiter killed */

static int wait_lock_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    int r = ipcm_lock_acquire(e, a->timeout_ms);
    atomic_store(&a->x->result[a->id], r == 0 ? 1 : r);
    if (r == 0)
        ipcm_lock_release(e);
    ipcm_sync_close(e);
    return r == 0 ? 0 : 1;
}

static void lock_waiter_killed(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    if (sx_setup(ctx, &c, impl, IPCM_SYNC_LOCK, 0)) {
        IPCM_CHECK_OP_(ctx, ipcm_lock_acquire(c.e, 0), ==, 0, goto out);
        if (!sx_spawn(ctx, &c, wait_lock_worker, 0, IPCM_CHECK_T_OP_MS) ||
            !sx_spawn(ctx, &c, wait_lock_worker, 0, IPCM_CHECK_T_OP_MS))
            goto out;
        ipcm_sleep_ms(50); /* both are queued on the Lock by now (or will be soon) */
        ipcm_process_kill(&c.p[0], SIGKILL);
        struct ipcm_exit ex;
        ipcm_check_reap(&c.p[0], 5000, &ex);
        IPCM_CHECK_OP_(ctx, ipcm_lock_release(c.e), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[1], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__),
                       ==, 1, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_lock_acquire(c.e, IPCM_CHECK_T_OP_MS), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_lock_release(c.e), ==, 0, goto out);
    }
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 123 stopped holder */

static int hold_until_told(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = NULL;
    int r;
    close(a->note[0]);
    if ((r = ipcm_sync_open(a->s, &e)) == 0 && (r = ipcm_lock_acquire(e, 1000)) == 0)
        atomic_store(&a->x->held, 1);
    (void)!write(a->note[1], "r", 1);
    close(a->note[1]);
    IPCM_WCHECK_EQ(a->ctx, r, 0);
    uint64_t t0 = ipcm_now_ns();
    while (!atomic_load(&a->x->stage) && ipcm_ms_since(t0) < 30000)
        ipcm_sleep_ms(1);
    ipcm_lock_release(e);
    ipcm_sync_close(e);
    return 0;
}

static void lock_stopped_holder(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    if (sx_setup(ctx, &c, impl, IPCM_SYNC_LOCK, 0) && sx_spawn(ctx, &c, hold_until_told, 0, 0)) {
        IPCM_CHECK_OP_(ctx, atomic_load(&c.x->held), ==, 1, goto out);
        ipcm_process_kill(&c.p[0], SIGSTOP);
        /* Stopped, not dead: never robbed, however long it stays stopped. */
        int r = ipcm_lock_acquire(c.e, 300);
        ipcm_process_kill(&c.p[0], SIGCONT);
        IPCM_CHECK_OP_(ctx, r, ==, -ETIMEDOUT, goto out);
        atomic_store(&c.x->stage, 1);
        IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[0], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__),
                       ==, 1, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_lock_acquire(c.e, IPCM_CHECK_T_OP_MS), ==, 0, goto out);
        ipcm_lock_release(c.e);
    }
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 124 dead party */

static int barrier_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    if (a->n < 0) { /* the party that will be killed before it arrives */
        for (;;)
            pause();
    }
    int r = ipcm_barrier_wait(e, a->timeout_ms);
    atomic_store(&a->x->result[a->id], r < 0 ? r : r + 1);
    ipcm_sync_close(e);
    return 0;
}

static void barrier_dead_party(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    bool decl = sx_declares(impl, IPCM_SYNC_CAP_PARTY_DEAD);
    int tmo = decl ? IPCM_CHECK_T_OP_MS : SX_UNDECLARED_MS;
    if (!sx_setup(ctx, &c, impl, IPCM_SYNC_BARRIER, 3) ||
        !sx_spawn(ctx, &c, barrier_worker, 0, tmo) || !sx_spawn(ctx, &c, barrier_worker, -1, 0))
        goto out;
    ipcm_process_kill(&c.p[1], SIGKILL);
    struct ipcm_exit ex;
    ipcm_check_reap(&c.p[1], 5000, &ex);
    uint64_t t0 = ipcm_now_ns();
    int r = ipcm_barrier_wait(c.e, tmo);
    int el = ipcm_ms_since(t0);
    IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[0], 2 * tmo, __FILE__, __LINE__), ==, 1,
                   goto out);
    int other = atomic_load(&c.x->result[0]);
    if (!decl) {
        ipcm_check_naf(
            ctx, "not declared; observed: a party SIGKILLed, the others got %s after %d ms and %s",
            ipcm_err_name(r), el, other > 0 ? "passed" : ipcm_err_name(other));
        goto out;
    }
    IPCM_CHECK_OP_(ctx, r, ==, -EPIPE, goto out);
    IPCM_CHECK_OP_(ctx, other, ==, -EPIPE, goto out);
    IPCM_CHECK_OP_(ctx, el, <, IPCM_CHECK_T_OP_MS / 2, goto out);
    /* Reset repairs it: three live parties pass. */
    IPCM_CHECK_OP_(ctx, ipcm_barrier_reset(c.e), ==, 0, goto out);
    sx_reap_all(&c);
    atomic_store(&c.x->result[0], 0);
    if (!sx_spawn(ctx, &c, barrier_worker, 0, IPCM_CHECK_T_OP_MS) ||
        !sx_spawn(ctx, &c, barrier_worker, 0, IPCM_CHECK_T_OP_MS))
        goto out;
    r = ipcm_barrier_wait(c.e, IPCM_CHECK_T_OP_MS);
    for (unsigned i = 0; i < 2; i++)
        IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[i], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__),
                       ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, r, >=, 0, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&c.x->result[0]), >, 0, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&c.x->result[1]), >, 0, goto out);
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 125 wake all */

static int event_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    int r = ipcm_event_wait(e, IPCM_CHECK_T_OP_MS);
    ipcm_sync_close(e);
    IPCM_WCHECK_EQ(a->ctx, r, 0);
    return 0;
}

static void event_wake_all(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    if (!sx_setup(ctx, &c, impl, IPCM_SYNC_EVENT, 0))
        goto out;
    for (unsigned i = 0; i < SX_MAX_WORKERS; i++)
        if (!sx_spawn(ctx, &c, event_worker, 0, 0))
            goto out;
    ipcm_sleep_ms(30); /* most are asleep in the wait by now */
    IPCM_CHECK_OP_(ctx, ipcm_event_is_set(c.e), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_event_set(c.e), ==, 0, goto out);
    for (unsigned i = 0; i < c.n; i++)
        IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[i], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__),
                       ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_event_is_set(c.e), ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_event_clear(c.e), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_event_wait(c.e, 20), ==, -ETIMEDOUT, goto out);
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 126 bounded */

static int sem_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    for (int i = 0; i < a->n; i++) {
        IPCM_WCHECK_EQ(a->ctx, ipcm_sem_acquire(e, IPCM_CHECK_T_OP_MS), 0);
        int in = atomic_fetch_add(&a->x->inside, 1) + 1;
        if (in > atomic_load(&a->x->max_in))
            atomic_store(&a->x->max_in, in);
        if (i % 16 == 0)
            sched_yield();
        atomic_fetch_sub(&a->x->inside, 1);
        IPCM_WCHECK_EQ(a->ctx, ipcm_sem_release(e), 0);
    }
    ipcm_sync_close(e);
    return 0;
}

static void sem_bounded(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    if (!sx_setup(ctx, &c, impl, IPCM_SYNC_SEMAPHORE, 2))
        goto out;
    for (unsigned i = 0; i < 4; i++)
        if (!sx_spawn(ctx, &c, sem_worker, ctx->quick ? 500 : 5000, 0))
            goto out;
    for (unsigned i = 0; i < c.n; i++)
        IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[i], 60000, __FILE__, __LINE__), ==, 1,
                       goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&c.x->max_in), <=, 2, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_sem_value(c.e), ==, 2, goto out);
    /* One release too many. */
    int r = ipcm_sem_release(c.e), v = ipcm_sem_value(c.e);
    if (sx_declares(impl, IPCM_SYNC_CAP_BOUNDED)) {
        IPCM_CHECK_OP_(ctx, r, ==, -EOVERFLOW, goto out);
        IPCM_CHECK_OP_(ctx, v, ==, 2, goto out);
    } else {
        ipcm_check_naf(ctx,
                       "not declared; observed: a release at the bound of 2 returned %s, "
                       "the value became %d",
                       r == 0 ? "0" : ipcm_err_name(r), v);
    }
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 127 RLock re-entry */

#define SX_PENDING 1000 /* result[] not written yet */

/* Another process's end while the case holds the RLock three deep: it is not the owner
 * (release -EPERM, try -EAGAIN); once told, it takes it and re-enters. */
static int rlock_other_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    atomic_store(&a->x->result[1], ipcm_lock_release(e));
    atomic_store(&a->x->result[2], ipcm_lock_acquire(e, 0));
    uint64_t t0 = ipcm_now_ns();
    while (!atomic_load(&a->x->stage) && ipcm_ms_since(t0) < IPCM_CHECK_T_OP_MS)
        ipcm_sleep_ms(1);
    int r = ipcm_lock_acquire(e, IPCM_CHECK_T_OP_MS);
    if (r == 0 && (r = ipcm_lock_acquire(e, 0)) == 0)
        r = ipcm_lock_depth(e) == 2 ? 0 : -EPROTO;
    ipcm_lock_release(e);
    ipcm_lock_release(e);
    atomic_store(&a->x->result[3], r);
    ipcm_sync_close(e);
    return 0;
}

static void rlock_reentry(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    if (!sx_setup(ctx, &c, impl, IPCM_SYNC_RLOCK, 0))
        goto out;
    for (int i = 1; i <= 3; i++) {
        IPCM_CHECK_OP_(ctx, ipcm_lock_acquire(c.e, 0), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_lock_depth(c.e), ==, i, goto out);
    }
    for (int i = 1; i <= 3; i++)
        atomic_store(&c.x->result[i], SX_PENDING);
    if (!sx_spawn(ctx, &c, rlock_other_worker, 0, 0))
        goto out;
    uint64_t t0 = ipcm_now_ns();
    while (atomic_load(&c.x->result[2]) == SX_PENDING && ipcm_ms_since(t0) < IPCM_CHECK_T_OP_MS)
        ipcm_sleep_ms(1);
    IPCM_CHECK_OP_(ctx, atomic_load(&c.x->result[1]), ==, -EPERM, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&c.x->result[2]), ==, -EAGAIN, goto out);
    /* Two levels off: still held. The last one: free. */
    IPCM_CHECK_OP_(ctx, ipcm_lock_release(c.e), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_release(c.e), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_depth(c.e), ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_release(c.e), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_release(c.e), ==, -EPERM, goto out);
    atomic_store(&c.x->stage, 1);
    IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &c.p[0], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__), ==,
                   1, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&c.x->result[3]), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_acquire(c.e, IPCM_CHECK_T_OP_MS), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_release(c.e), ==, 0, goto out);
out:
    sx_teardown(&c);
}

/* ---------------------------------------------------------------- 129, 130 Condition */

/* The Condition's Lock, the Condition, and tickets in the shared block (counter). */
struct sx_cond {
    struct sx_case c; /* its primitive: the Lock */
    struct ipcm_sync *cond;
    struct ipcm_sync_end *ce;
};

struct sx_cond_arg {
    struct sx_arg a;
    struct ipcm_sync *cond;
};

static bool sx_have_ticket(void *arg)
{
    return ((struct sx *)arg)->counter > 0;
}

/* Waits for a ticket (wait_for on the Condition), takes it; result[id]: 1 or the error. */
static int ticket_worker(const void *arg, size_t len)
{
    const struct sx_cond_arg *ca = arg;
    const struct sx_arg *a = &ca->a;
    struct ipcm_sync_end *ce = NULL;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e || ipcm_sync_open(ca->cond, &ce) < 0)
        return 1;
    int r = ipcm_lock_acquire(e, IPCM_CHECK_T_OP_MS);
    if (r == 0) {
        atomic_fetch_add(&a->x->inside, 1); /* waiting */
        r = ipcm_cond_wait_for(ce, e, sx_have_ticket, a->x, a->timeout_ms);
        if (r == 1)
            a->x->counter--;
        atomic_store(&a->x->result[a->id], r == 0 ? -ETIMEDOUT : r);
        ipcm_lock_release(e);
    }
    ipcm_sync_close(ce);
    ipcm_sync_close(e);
    return 0;
}

static bool sx_cond_setup(struct ipcm_check_ctx *ctx, struct sx_cond *k, const char *impl)
{
    k->cond = NULL;
    k->ce = NULL;
    if (!sx_setup(ctx, &k->c, impl, IPCM_SYNC_LOCK, 0))
        return false;
    int r = ipcm_sync_create(sx_impl(impl), IPCM_SYNC_CONDITION, 0, &k->cond);
    IPCM_CHECK_OP_(ctx, r, ==, 0, return false);
    IPCM_CHECK_OP_(ctx, ipcm_sync_open(k->cond, &k->ce), ==, 0, return false);
    return true;
}

static void sx_cond_teardown(struct sx_cond *k)
{
    sx_teardown(&k->c);
    ipcm_sync_close(k->ce);
    ipcm_sync_destroy(k->cond);
}

/* n ticket waiters, all inside the wait. */
static bool sx_ticket_waiters(struct ipcm_check_ctx *ctx, struct sx_cond *k, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct sx_cond_arg ca = {{ctx, k->c.s, k->c.x, (int)i, 0, IPCM_CHECK_T_OP_MS, {-1, -1}},
                                 k->cond};
        char name[32];
        snprintf(name, sizeof(name), "sync waiter %u", i);
        atomic_store(&k->c.x->result[i], SX_PENDING);
        int r = ipcm_check_spawn_noted(ctx, &k->c.p[i], name, ticket_worker, &ca, sizeof(ca),
                                       ca.a.note);
        IPCM_CHECK_OP_(ctx, r, ==, 0, return false);
        k->c.note[i] = ca.a.note[0];
        k->c.n++;
        IPCM_CHECK_OP_(ctx, ipcm_check_wait_note(k->c.note[i]), ==, 1, return false);
    }
    uint64_t t0 = ipcm_now_ns();
    while (atomic_load(&k->c.x->inside) < (int)n && ipcm_ms_since(t0) < IPCM_CHECK_T_OP_MS)
        ipcm_sleep_ms(1);
    IPCM_CHECK_OP_(ctx, atomic_load(&k->c.x->inside), ==, (int)n, return false);
    ipcm_sleep_ms(30); /* each has given the Lock up and sleeps, most likely */
    return true;
}

/* Hand out n tickets under the Lock, then notify (all, or n). */
static bool sx_give(struct ipcm_check_ctx *ctx, struct sx_cond *k, int n, bool all)
{
    IPCM_CHECK_OP_(ctx, ipcm_lock_acquire(k->c.e, IPCM_CHECK_T_OP_MS), ==, 0, return false);
    k->c.x->counter += n;
    int r = all ? ipcm_cond_notify_all(k->ce) : ipcm_cond_notify(k->ce, (unsigned)n);
    IPCM_CHECK_OP_(ctx, ipcm_lock_release(k->c.e), ==, 0, return false);
    IPCM_CHECK_OP_(ctx, r, ==, 0, return false);
    return true;
}

/* How many waiters of n took a ticket, waiting until want did (bounded). */
static int sx_served(struct sx_cond *k, unsigned n, int want)
{
    uint64_t t0 = ipcm_now_ns();
    for (;;) {
        int got = 0;
        for (unsigned i = 0; i < n; i++)
            got += atomic_load(&k->c.x->result[i]) == 1;
        if (got >= want || ipcm_ms_since(t0) >= IPCM_CHECK_T_OP_MS)
            return got;
        ipcm_sleep_ms(1);
    }
}

/* 129: notify(1) with one ticket lets exactly one through; notify_all all the rest. */
static void cond_notify(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_cond k;
    const unsigned n = 4;
    if (!sx_cond_setup(ctx, &k, impl) || !sx_ticket_waiters(ctx, &k, n) ||
        !sx_give(ctx, &k, 1, false))
        goto out;
    IPCM_CHECK_OP_(ctx, sx_served(&k, n, 1), ==, 1, goto out);
    ipcm_sleep_ms(20);
    IPCM_CHECK_OP_(ctx, sx_served(&k, n, 0), ==, 1, goto out); /* one ticket, one through */
    if (!sx_give(ctx, &k, (int)n - 1, true))
        goto out;
    IPCM_CHECK_OP_(ctx, sx_served(&k, n, (int)n), ==, (int)n, goto out);
    for (unsigned i = 0; i < n; i++)
        IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &k.c.p[i], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__),
                       ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, k.c.x->counter, ==, 0, goto out);
out:
    sx_cond_teardown(&k);
}

/* 130: a waiter SIGKILLed while it sleeps in the wait blocks neither notify_all nor the
 * Lock (glibc bug 21422 is the process-shared condvar that did). */
static void cond_waiter_killed(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_cond k;
    const unsigned n = 4;
    if (!sx_cond_setup(ctx, &k, impl) || !sx_ticket_waiters(ctx, &k, n))
        goto out;
    ipcm_process_kill(&k.c.p[0], SIGKILL);
    struct ipcm_exit ex;
    ipcm_check_reap(&k.c.p[0], 5000, &ex);
    if (!sx_give(ctx, &k, (int)n - 1, true))
        goto out;
    IPCM_CHECK_OP_(ctx, sx_served(&k, n, (int)n - 1), ==, (int)n - 1, goto out);
    for (unsigned i = 1; i < n; i++)
        IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &k.c.p[i], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__),
                       ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_acquire(k.c.e, IPCM_CHECK_T_OP_MS), ==, 0, goto out);
    /* And it still works: one more notify reaches nobody and costs nothing. */
    IPCM_CHECK_OP_(ctx, ipcm_cond_notify_all(k.ce), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_lock_release(k.c.e), ==, 0, goto out);
out:
    sx_cond_teardown(&k);
}

/* ---------------------------------------------------------------- 131 wait timeout */

#define SX_COND_WAIT_MS 300

static atomic_int sx_hits; /* the waiter's SIGUSR1s */

static void sx_on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&sx_hits, 1);
}

/* Waits SX_COND_WAIT_MS on a Condition nobody notifies, under SIGUSR1 without
 * SA_RESTART. result[0]: the return; result[1]: ms taken; result[2]: depth after;
 * result[3]: signals handled. */
static int timed_waiter(const void *arg, size_t len)
{
    const struct sx_cond_arg *ca = arg;
    const struct sx_arg *a = &ca->a;
    struct ipcm_sync_end *ce = NULL;
    struct sigaction sa;
    (void)len;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sx_on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e || ipcm_sync_open(ca->cond, &ce) < 0 || ipcm_lock_acquire(e, IPCM_CHECK_T_OP_MS))
        return 1;
    atomic_store(&a->x->stage, 1);
    uint64_t t0 = ipcm_now_ns();
    int r = ipcm_cond_wait(ce, e, SX_COND_WAIT_MS);
    atomic_store(&a->x->result[1], ipcm_ms_since(t0));
    atomic_store(&a->x->result[2], ipcm_lock_depth(e));
    atomic_store(&a->x->result[3], atomic_load(&sx_hits));
    atomic_store(&a->x->result[0], r);
    ipcm_lock_release(e);
    ipcm_sync_close(ce);
    ipcm_sync_close(e);
    return 0;
}

static void cond_wait_timeout(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_cond k;
    if (!sx_cond_setup(ctx, &k, impl))
        goto out;
    struct sx_cond_arg ca = {{ctx, k.c.s, k.c.x, 0, 0, 0, {-1, -1}}, k.cond};
    atomic_store(&k.c.x->result[0], SX_PENDING);
    int r = ipcm_check_spawn_noted(ctx, &k.c.p[0], "sync waiter", timed_waiter, &ca, sizeof(ca),
                                   ca.a.note);
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    k.c.note[0] = ca.a.note[0];
    k.c.n = 1;
    IPCM_CHECK_OP_(ctx, ipcm_check_wait_note(k.c.note[0]), ==, 1, goto out);
    uint64_t t0 = ipcm_now_ns();
    while (!atomic_load(&k.c.x->stage) && ipcm_ms_since(t0) < IPCM_CHECK_T_OP_MS)
        ipcm_sleep_ms(1);
    /* A signal every millisecond until it returns (or the bound). */
    t0 = ipcm_now_ns();
    while (atomic_load(&k.c.x->result[0]) == SX_PENDING && ipcm_ms_since(t0) < IPCM_CHECK_T_OP_MS) {
        ipcm_process_kill(&k.c.p[0], SIGUSR1);
        ipcm_sleep_ms(1);
    }
    IPCM_CHECK_OP_(ctx, ipcm_check_join(ctx, &k.c.p[0], IPCM_CHECK_T_OP_MS, __FILE__, __LINE__), ==,
                   1, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&k.c.x->result[0]), ==, -ETIMEDOUT, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&k.c.x->result[1]), >=, SX_COND_WAIT_MS - 1, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&k.c.x->result[1]), <, 5 * SX_COND_WAIT_MS, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&k.c.x->result[2]), ==, 1, goto out);
    IPCM_CHECK_OP_(ctx, atomic_load(&k.c.x->result[3]), >, 0, goto out);
out:
    sx_cond_teardown(&k);
}

/* ---------------------------------------------------------------- the table */

static const char *sx_provides(const char *impl, uint32_t cap, const char *what, char *why,
                               size_t len)
{
    if (sx_declares(impl, cap))
        return NULL;
    snprintf(why, len, "%s provides no %s", impl, what);
    return why;
}

#define SX_CASE_FNS(impl)                                                                          \
    static void impl##_excl(struct ipcm_check_ctx *c)                                              \
    {                                                                                              \
        lock_exclusion(c, #impl);                                                                  \
    }                                                                                              \
    static void impl##_dead(struct ipcm_check_ctx *c)                                              \
    {                                                                                              \
        lock_owner_dead(c, #impl, IPCM_SYNC_LOCK);                                                 \
    }                                                                                              \
    static void impl##_waiter(struct ipcm_check_ctx *c)                                            \
    {                                                                                              \
        lock_waiter_killed(c, #impl);                                                              \
    }                                                                                              \
    static void impl##_stop(struct ipcm_check_ctx *c)                                              \
    {                                                                                              \
        lock_stopped_holder(c, #impl);                                                             \
    }                                                                                              \
    static void impl##_party(struct ipcm_check_ctx *c)                                             \
    {                                                                                              \
        barrier_dead_party(c, #impl);                                                              \
    }                                                                                              \
    static void impl##_wake(struct ipcm_check_ctx *c)                                              \
    {                                                                                              \
        event_wake_all(c, #impl);                                                                  \
    }                                                                                              \
    static void impl##_bound(struct ipcm_check_ctx *c)                                             \
    {                                                                                              \
        sem_bounded(c, #impl);                                                                     \
    }                                                                                              \
    static void impl##_rlock(struct ipcm_check_ctx *c)                                             \
    {                                                                                              \
        rlock_reentry(c, #impl);                                                                   \
    }                                                                                              \
    static void impl##_rdead(struct ipcm_check_ctx *c)                                             \
    {                                                                                              \
        lock_owner_dead(c, #impl, IPCM_SYNC_RLOCK);                                                \
    }                                                                                              \
    static void impl##_notify(struct ipcm_check_ctx *c)                                            \
    {                                                                                              \
        cond_notify(c, #impl);                                                                     \
    }                                                                                              \
    static void impl##_cwaiter(struct ipcm_check_ctx *c)                                           \
    {                                                                                              \
        cond_waiter_killed(c, #impl);                                                              \
    }                                                                                              \
    static void impl##_ctimeout(struct ipcm_check_ctx *c)                                          \
    {                                                                                              \
        cond_wait_timeout(c, #impl);                                                               \
    }                                                                                              \
    static const char *impl##_lock(const struct ipcm_check_env *e, char *w, size_t l)              \
    {                                                                                              \
        (void)e;                                                                                   \
        return sx_provides(#impl, IPCM_SYNC_CAP_LOCK, "Lock", w, l);                               \
    }                                                                                              \
    static const char *impl##_bar(const struct ipcm_check_env *e, char *w, size_t l)               \
    {                                                                                              \
        (void)e;                                                                                   \
        return sx_provides(#impl, IPCM_SYNC_CAP_BARRIER, "Barrier", w, l);                         \
    }                                                                                              \
    static const char *impl##_ev(const struct ipcm_check_env *e, char *w, size_t l)                \
    {                                                                                              \
        (void)e;                                                                                   \
        return sx_provides(#impl, IPCM_SYNC_CAP_EVENT, "Event", w, l);                             \
    }                                                                                              \
    static const char *impl##_sem(const struct ipcm_check_env *e, char *w, size_t l)               \
    {                                                                                              \
        (void)e;                                                                                   \
        return sx_provides(#impl, IPCM_SYNC_CAP_SEMAPHORE, "Semaphore", w, l);                     \
    }

SX_CASE_FNS(futex)
SX_CASE_FNS(pthread)
SX_CASE_FNS(posix)
SX_CASE_FNS(sysv)
SX_CASE_FNS(ofd)
SX_CASE_FNS(flock)

#define SX_ROWS(impl)                                                                              \
    {"sync." #impl ".lock_exclusion",                                                              \
     120,                                                                                          \
     "Lock: 8 processes increment a plain counter; never two inside, no increment lost",           \
     IPCM_CHECK_Q,                                                                                 \
     0,                                                                                            \
     0,                                                                                            \
     90000,                                                                                        \
     impl##_excl,                                                                                  \
     NULL,                                                                                         \
     impl##_lock},                                                                                 \
        {"sync." #impl ".lock_owner_dead",                                                         \
         121,                                                                                      \
         "Lock: holder SIGKILLed at random points; the next acquirer gets EOWNERDEAD",             \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         60000,                                                                                    \
         impl##_dead,                                                                              \
         NULL,                                                                                     \
         impl##_lock},                                                                             \
        {"sync." #impl ".lock_waiter_killed",                                                      \
         122,                                                                                      \
         "Lock: a waiter SIGKILLed while queued; the next waiter still gets the Lock",             \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         30000,                                                                                    \
         impl##_waiter,                                                                            \
         NULL,                                                                                     \
         impl##_lock},                                                                             \
        {"sync." #impl ".lock_stopped_holder",                                                     \
         123,                                                                                      \
         "Lock: a SIGSTOPped holder is never robbed; the waiter times out",                        \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         30000,                                                                                    \
         impl##_stop,                                                                              \
         NULL,                                                                                     \
         impl##_lock},                                                                             \
        {"sync." #impl ".barrier_dead_party",                                                      \
         124,                                                                                      \
         "Barrier: a party SIGKILLed before arriving breaks it (EPIPE); reset repairs it",         \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         40000,                                                                                    \
         impl##_party,                                                                             \
         NULL,                                                                                     \
         impl##_bar},                                                                              \
        {"sync." #impl ".event_wake_all",                                                          \
         125,                                                                                      \
         "Event: set wakes all 8 waiting processes",                                               \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         30000,                                                                                    \
         impl##_wake,                                                                              \
         NULL,                                                                                     \
         impl##_ev},                                                                               \
        {"sync." #impl ".sem_bounded",                                                             \
         126,                                                                                      \
         "Semaphore(2): never more than 2 inside; a release at the bound is refused",              \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         90000,                                                                                    \
         impl##_bound,                                                                             \
         NULL,                                                                                     \
         impl##_sem},                                                                              \
        {"sync." #impl ".rlock_reentry",                                                           \
         127,                                                                                      \
         "RLock: held 3 deep; another process can neither release nor take it until the last "     \
         "release",                                                                                \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         30000,                                                                                    \
         impl##_rlock,                                                                             \
         NULL,                                                                                     \
         impl##_lock},                                                                             \
        {"sync." #impl ".rlock_owner_dead",                                                        \
         128,                                                                                      \
         "RLock: holder 2 deep SIGKILLed at random points; the next acquirer: EOWNERDEAD, depth "  \
         "1",                                                                                      \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         60000,                                                                                    \
         impl##_rdead,                                                                             \
         NULL,                                                                                     \
         impl##_lock},                                                                             \
        {"sync." #impl ".cond_notify",                                                             \
         129,                                                                                      \
         "Condition: notify(1) with one ticket lets one of 4 waiters through; notify_all the "     \
         "rest",                                                                                   \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         30000,                                                                                    \
         impl##_notify,                                                                            \
         NULL,                                                                                     \
         impl##_lock},                                                                             \
        {"sync." #impl ".cond_waiter_killed",                                                      \
         130,                                                                                      \
         "Condition: a waiter SIGKILLed in the wait blocks neither notify_all nor the Lock",       \
         IPCM_CHECK_Q,                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         30000,                                                                                    \
         impl##_cwaiter,                                                                           \
         NULL,                                                                                     \
         impl##_lock},                                                                             \
    {                                                                                              \
        "sync." #impl ".cond_wait_timeout", 131,                                                   \
            "Condition: wait(300 ms) under a SIGUSR1 storm times out on time, holding the Lock",   \
            IPCM_CHECK_Q, 0, 0, 30000, impl##_ctimeout, NULL, impl##_lock                          \
    }

const struct ipcm_check_case ipcm_check_cases_sync[] = {
    SX_ROWS(futex),
    SX_ROWS(pthread),
    SX_ROWS(posix),
    SX_ROWS(sysv),
    SX_ROWS(ofd),
    SX_ROWS(flock),
    {0},
};
