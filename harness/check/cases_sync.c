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

static int churn_worker(const void *arg, size_t len)
{
    const struct sx_arg *a = arg;
    (void)len;
    struct ipcm_sync_end *e = sx_worker_open(a);
    if (!e)
        return 1;
    for (;;) {
        if (ipcm_lock_acquire(e, -1) < 0)
            return 1;
        atomic_store(&a->x->held, 1);
        for (volatile int k = 0; k < 2000; k++)
            ;
        atomic_store(&a->x->held, 0);
        ipcm_lock_release(e);
    }
}

static void lock_owner_dead(struct ipcm_check_ctx *ctx, const char *impl)
{
    struct sx_case c;
    bool decl = sx_declares(impl, IPCM_SYNC_CAP_OWNER_DEAD);
    int rounds = ctx->quick ? 8 : 30, held_kills = 0, reported = 0;
    uint64_t rng = ctx->seed;
    char seen[200] = "";
    if (!sx_setup(ctx, &c, impl, IPCM_SYNC_LOCK, 0))
        goto out;
    for (int k = 0; k < rounds && !seen[0]; k++) {
        sx_reap_all(&c);
        if (!sx_spawn(ctx, &c, churn_worker, 0, 0))
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
        lock_owner_dead(c, #impl);                                                                 \
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
    {                                                                                              \
        "sync." #impl ".sem_bounded", 126,                                                         \
            "Semaphore(2): never more than 2 inside; a release at the bound is refused",           \
            IPCM_CHECK_Q, 0, 0, 90000, impl##_bound, NULL, impl##_sem                              \
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
