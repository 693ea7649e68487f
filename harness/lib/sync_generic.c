/* SPDX-License-Identifier: MIT */
/*
 * sync_generic.c - RLock and Condition, built once on any implementation's Lock, so every
 * implementation has them with the Lock's guarantees (a dead holder: -EOWNERDEAD where
 * the Lock declares it). Their state is the generic part of the mapping (struct
 * ipcm_sync_gen in sync_internal.h).
 *
 * RLock: the Lock of the implementation, plus the owner's (pid, tid) and a depth. Only
 * the holder writes them. Re-entry needs both this end's private held flag and the owner
 * to be the caller: the flag alone would let a thread that was handed the end (or a
 * forked copy of it) in, the owner alone a new process that reused a dead holder's pid.
 *
 * Condition: a sequence word. wait = read seq (holding the lock), release the lock,
 * futex-wait while seq is unchanged, take the lock back; notify = seq++, futex-wake. A
 * notification after the waiter released the lock changes seq, so the futex wait does
 * not sleep: none is lost. The kernel keeps the sleepers; a waiter that dies is simply
 * gone from its queue (glibc's process-shared condvar instead counts its waiters in
 * shared memory and can wait for a dead one forever: glibc bug 21422).
 */
#include "sync_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long past its deadline a Condition wait may take to get its lock back. */
#define COND_RELOCK_GRACE_NS (100 * IPCM_NS_PER_MS)

static uint64_t me_id(void)
{
    return (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)gettid();
}

/* ---------------------------------------------------------------- RLock */

/* Whether the calling thread holds the RLock through e. */
static bool rl_mine(const struct ipcm_sync_end *e)
{
    return e->held && atomic_load_explicit(&e->s->gen->owner, memory_order_relaxed) == me_id();
}

/* The Lock is now held through e (after an acquire that returned 0 or -EOWNERDEAD). */
static void rl_own(struct ipcm_sync_end *e, uint32_t depth)
{
    atomic_store_explicit(&e->s->gen->owner, me_id(), memory_order_relaxed);
    e->s->gen->depth = depth; /* a dead holder's depth is overwritten */
    e->held = true;
}

int ipcm_sync_rlock_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    if (e->held) {
        if (!rl_mine(e))
            return -EPERM; /* held through this end, by another thread */
        if (e->s->gen->depth == UINT32_MAX)
            return -EOVERFLOW;
        e->s->gen->depth++;
        return 0;
    }
    int r = e->s->impl->lock_acquire(e, d);
    if (r == 0 || r == -EOWNERDEAD)
        rl_own(e, 1);
    return r;
}

int ipcm_sync_rlock_release(struct ipcm_sync_end *e, bool all)
{
    struct ipcm_sync_gen *g = e->s->gen;
    if (!rl_mine(e))
        return -EPERM;
    if (!all && --g->depth > 0)
        return 0;
    g->depth = 0;
    atomic_store_explicit(&g->owner, 0, memory_order_relaxed);
    e->held = false;
    return e->s->impl->lock_release(e); /* its release orders the stores above */
}

int ipcm_sync_rlock_depth(struct ipcm_sync_end *e)
{
    return rl_mine(e) ? (int)(e->s->gen->depth > INT_MAX ? INT_MAX : e->s->gen->depth) : 0;
}

/* ---------------------------------------------------------------- Condition */

/*
 * Sleep while *w == v, at most until the deadline. Returns 0 after a wake-up, a changed
 * value or a signal (the caller re-reads), or the deadline's error.
 */
static int cond_futex_wait(_Atomic uint32_t *w, uint32_t v, const struct ipcm_deadline *d)
{
    struct timespec ts, *tsp = NULL;
    if (d->timeout_ms > 0) {
        if (ipcm_now_ns() >= d->at_ns)
            return ipcm_deadline_err(d);
        ts =
            (struct timespec){(time_t)(d->at_ns / IPCM_NS_PER_S), (long)(d->at_ns % IPCM_NS_PER_S)};
        tsp = &ts;
    }
    /* WAIT_BITSET takes an absolute CLOCK_MONOTONIC time: a signal never extends it. */
    long r =
        syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_BITSET, v, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == 0 || errno == EAGAIN || errno == EINTR)
        return 0;
    return errno == ETIMEDOUT ? ipcm_deadline_err(d) : -errno;
}

/* A Condition end, or NULL. */
static struct ipcm_sync_gen *cond_of(struct ipcm_sync_end *c)
{
    return c && c->s->kind == IPCM_SYNC_CONDITION ? c->s->gen : NULL;
}

/* Take lock back at depth (it was given up entirely by a wait). */
static int cond_relock(struct ipcm_sync_end *l, uint32_t depth, const struct ipcm_deadline *d)
{
    int r = l->s->impl->lock_acquire(l, d);
    if (r == 0 || r == -EOWNERDEAD) {
        if (l->s->recursive)
            rl_own(l, depth);
        else
            l->held = true;
    }
    return r;
}

/* ipcm_cond_wait on a deadline already computed. */
static int cond_wait(struct ipcm_sync_end *c, struct ipcm_sync_end *l,
                     const struct ipcm_deadline *d)
{
    struct ipcm_sync_gen *g = cond_of(c);
    if (!g || !l || l->s->kind != IPCM_SYNC_LOCK)
        return -EINVAL;
    if (ipcm_lock_depth(l) <= 0)
        return -EPERM;
    if (d->timeout_ms == 0)
        return -EAGAIN; /* nothing can notify while we keep the lock */
    uint32_t depth = l->s->recursive ? l->s->gen->depth : 1;
    atomic_fetch_add(&g->waiters, 1);
    /* Read under the lock: a notification from here on changes it. */
    uint32_t seq = atomic_load(&g->seq);
    int r = l->s->recursive ? ipcm_sync_rlock_release(l, true) : ipcm_lock_release(l);
    if (r < 0) {
        atomic_fetch_sub(&g->waiters, 1);
        return r; /* not given up: never wait for ourselves */
    }
    while (r == 0 && atomic_load(&g->seq) == seq)
        r = cond_futex_wait(&g->seq, seq, d);
    atomic_fetch_sub(&g->waiters, 1);
    if (atomic_load(&g->seq) != seq)
        r = 0; /* notified, perhaps just as the time ran out */
    /* The same deadline for the lock, with a grace when the wait used it up. */
    struct ipcm_deadline rd = *d;
    uint64_t floor = ipcm_now_ns() + COND_RELOCK_GRACE_NS;
    if (rd.timeout_ms > 0 && rd.at_ns < floor)
        rd.at_ns = floor;
    int lr = cond_relock(l, depth, &rd);
    if (lr == -EOWNERDEAD)
        return lr;
    if (lr < 0)
        return lr == -ETIMEDOUT || lr == -EAGAIN ? -ENOLCK : lr;
    return r;
}

int ipcm_cond_wait(struct ipcm_sync_end *cond, struct ipcm_sync_end *lock, int timeout_ms)
{
    struct ipcm_deadline d;
    ipcm_deadline_init(&d, timeout_ms);
    return cond_wait(cond, lock, &d);
}

int ipcm_cond_wait_for(struct ipcm_sync_end *cond, struct ipcm_sync_end *lock,
                       bool (*pred)(void *arg), void *arg, int timeout_ms)
{
    struct ipcm_deadline d;
    if (!pred)
        return -EINVAL;
    ipcm_deadline_init(&d, timeout_ms);
    for (;;) {
        if (ipcm_lock_depth(lock) > 0 && pred(arg))
            return 1;
        int r = cond_wait(cond, lock, &d);
        if (r == -ETIMEDOUT || r == -EAGAIN)
            return pred(arg) ? 1 : 0; /* the lock is held again: one last look */
        if (r < 0)
            return r;
    }
}

int ipcm_cond_notify(struct ipcm_sync_end *cond, unsigned n)
{
    struct ipcm_sync_gen *g = cond_of(cond);
    if (!g)
        return -EINVAL;
    if (n == 0)
        return 0;
    atomic_fetch_add(&g->seq, 1);
    /* seq before waiters (both seq_cst): a waiter we do not count reads the new seq. */
    if (atomic_load(&g->waiters))
        syscall(SYS_futex, (uint32_t *)&g->seq, FUTEX_WAKE, n > INT_MAX ? INT_MAX : (int)n, NULL,
                NULL, 0);
    return 0;
}

int ipcm_cond_notify_all(struct ipcm_sync_end *cond)
{
    return ipcm_cond_notify(cond, UINT_MAX);
}
