/* SPDX-License-Identifier: MIT */
/*
 * sync_futex.c - ipcmark's own primitives: one futex word each (futex(2), shared, not
 * private: the waiters are in other processes), and a table of ends for death detection.
 *
 * Why a table of ends: the fast paths must be one compare-and-swap, but a holder that
 * dies must still be told apart from one that is slow or stopped, by the kernel, never
 * guessed from time or pids. Each end takes a slot and holds the slot's robust pthread
 * mutex ("life") from open to close, so its thread's death is recorded by the kernel's
 * robust list (EOWNERDEAD on the next trylock) at no cost per operation. A Lock word
 * names its holder's slot; a waiter whose sleep slice ends without a wake-up trylocks
 * the holder's life mutex: EBUSY means alive (running or stopped: never robbed), success
 * means dead or gone without releasing, and the waiter takes the Lock over with
 * -EOWNERDEAD. The same check lets Barrier waiters notice a party that died.
 *
 * Slot protocol: `state` (0 free, 1 open) changes only while the changer holds `life`,
 * so "state 1 and life lockable" means abandoned (its thread died or left); whoever
 * holds life(s) is the only one who can make a Lock name slot s.
 */
#include "sync_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FX_SLOTS 128
#define FX_SLICE_NS (10 * IPCM_NS_PER_MS) /* death checks while waiting: this often */
#define FX_WAITERS (1u << 31)             /* Lock word: someone may sleep on it */
#define FX_OWNER(v) ((v) & ~FX_WAITERS)   /* slot + 1, or 0 when free */

/*
 * Barrier word: bit 0 broken; bit 1 "the last generation passed" (set by the last
 * arriver, clear after a reset); bits 2..13 arrived; bits 14..31 generation. A waiter of
 * generation g that sees g + 1 knows from bit 1 whether g passed or was reset; one that
 * slept through two changes asks passed[] (written after the pass).
 */
#define BAR_BROKEN 1u
#define BAR_PASS 2u
#define BAR_ARRIVED(v) (((v) >> 2) & 0xfffu)
#define BAR_GEN(v) ((v) >> 14)
#define BAR_ONE (1u << 2)
#define BAR_GEN_ONE (1u << 14)
#define BAR_PASSED 64 /* generations remembered in passed[] */

struct fx_slot {
    alignas(64) _Atomic uint32_t state;
    pthread_mutex_t life;
};

struct fx_shared {
    alignas(64) _Atomic uint32_t word; /* Lock: owner; Event: flag; Semaphore: count; Barrier */
    _Atomic uint32_t waiters;          /* Event, Semaphore: sleepers (a dead one: one extra wake) */
    uint32_t value;                    /* parties or bound */
    _Atomic uint32_t passed[BAR_PASSED]; /* Barrier: passed[g % 64] == g + 1 once g passed */
    struct fx_slot slot[FX_SLOTS];
};

struct fx_end {
    unsigned slot;
    pid_t tid; /* the opener: only it holds life (a forked copy of the end does not) */
};

static struct fx_shared *fx_sh(const struct ipcm_sync_end *e)
{
    return e->s->sh;
}

static unsigned fx_me(const struct ipcm_sync_end *e)
{
    return ((const struct fx_end *)e->priv)->slot;
}

/* ---------------------------------------------------------------- futex calls */

/*
 * Sleep while *w == v, at most until the deadline or, with slice, FX_SLICE_NS. Returns 0
 * after a wake-up, a changed value or a signal (the caller re-reads and loops), 1 when
 * the slice ended, or the deadline's error.
 */
static int fx_wait(_Atomic uint32_t *w, uint32_t v, const struct ipcm_deadline *d, bool slice)
{
    if (d->timeout_ms == 0)
        return -EAGAIN;
    uint64_t now = ipcm_now_ns(), until = UINT64_MAX;
    if (d->timeout_ms > 0) {
        if (now >= d->at_ns)
            return -ETIMEDOUT;
        until = d->at_ns;
    }
    bool sliced = slice && now + FX_SLICE_NS < until;
    if (sliced)
        until = now + FX_SLICE_NS;
    struct timespec ts = {(time_t)(until / IPCM_NS_PER_S), (long)(until % IPCM_NS_PER_S)};
    /* WAIT_BITSET takes an absolute CLOCK_MONOTONIC time: a signal never restarts it. */
    long r = syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_BITSET, v,
                     until == UINT64_MAX ? NULL : &ts, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == 0 || errno == EAGAIN || errno == EINTR)
        return 0;
    if (errno != ETIMEDOUT)
        return -errno;
    if (sliced)
        return 1;
    return ipcm_deadline_err(d);
}

static void fx_wake(_Atomic uint32_t *w, int n)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* ---------------------------------------------------------------- ends */

static int fx_create(struct ipcm_sync *s)
{
    struct fx_shared *sh = s->sh;
    sh->value = s->value;
    if (s->kind == IPCM_SYNC_SEMAPHORE || s->kind == IPCM_SYNC_EVENT)
        atomic_init(&sh->word, s->kind == IPCM_SYNC_EVENT ? s->value != 0 : s->value);
    for (unsigned i = 0; i < FX_SLOTS; i++) {
        int r = ipcm_sync_mutex_init(&sh->slot[i].life, false);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Whether slot i is named by the primitive's state (a Lock's holder). */
static bool fx_slot_referenced(const struct ipcm_sync *s, unsigned i)
{
    const struct fx_shared *sh = s->sh;
    return s->kind == IPCM_SYNC_LOCK && FX_OWNER(atomic_load(&sh->word)) == i + 1;
}

/* Try to make slot i ours: free, or abandoned and unreferenced. */
static bool fx_slot_take(struct ipcm_sync *s, unsigned i)
{
    struct fx_slot *sl = &((struct fx_shared *)s->sh)->slot[i];
    int r = pthread_mutex_trylock(&sl->life);
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(&sl->life), r = 0;
    if (r)
        return false;
    /* An abandoned slot the Lock still names stays for the Lock's waiters to recover. */
    if (atomic_load(&sl->state) && fx_slot_referenced(s, i)) {
        pthread_mutex_unlock(&sl->life);
        return false;
    }
    atomic_store(&sl->state, 1);
    return true;
}

static int fx_open(struct ipcm_sync_end *e)
{
    struct fx_shared *sh = fx_sh(e);
    /* Free slots first; then abandoned ones (their threads died without closing). */
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < FX_SLOTS; i++)
            if (atomic_load(&sh->slot[i].state) == (unsigned)pass && fx_slot_take(e->s, i)) {
                ((struct fx_end *)e->priv)->slot = i;
                ((struct fx_end *)e->priv)->tid = gettid();
                return 0;
            }
    return -EMFILE;
}

static void fx_close(struct ipcm_sync_end *e)
{
    struct fx_slot *sl = &fx_sh(e)->slot[fx_me(e)];
    if (((struct fx_end *)e->priv)->tid != gettid())
        return; /* a copy inherited through fork: the slot is its opener's */
    atomic_store(&sl->state, 0);
    pthread_mutex_unlock(&sl->life);
}

/*
 * Whether the end in slot i is gone (died, or closed) - checked by trylocking its life
 * mutex. On true the caller holds life(i) and must call fx_slot_done.
 */
static bool fx_slot_gone(struct fx_shared *sh, unsigned i)
{
    int r = pthread_mutex_trylock(&sh->slot[i].life);
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(&sh->slot[i].life), r = 0;
    return r == 0;
}

/* Release a gone slot found by fx_slot_gone; free it if free_it. */
static void fx_slot_done(struct fx_shared *sh, unsigned i, bool free_it)
{
    if (free_it)
        atomic_store(&sh->slot[i].state, 0);
    pthread_mutex_unlock(&sh->slot[i].life);
}

/* ---------------------------------------------------------------- Lock */

/* The Lock names slot owner-1, which is gone: take it over. Returns true if we did. */
static bool fx_lock_recover(struct fx_shared *sh, uint32_t owner, uint32_t me)
{
    if (!fx_slot_gone(sh, owner - 1))
        return false; /* alive: running, or stopped - never robbed */
    /* Holding life(owner-1), nobody can make the word name that slot anew. */
    uint32_t v = atomic_load(&sh->word);
    bool took = false;
    while (FX_OWNER(v) == owner && !took)
        took = atomic_compare_exchange_weak(&sh->word, &v, me | FX_WAITERS);
    fx_slot_done(sh, owner - 1, true);
    return took;
}

static int fx_lock_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct fx_shared *sh = fx_sh(e);
    uint32_t me = fx_me(e) + 1, v = 0;
    if (atomic_compare_exchange_strong_explicit(&sh->word, &v, me, memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
    for (;;) {
        v = atomic_load_explicit(&sh->word, memory_order_relaxed);
        if (FX_OWNER(v) == 0) {
            /* Taken after a wait: keep the waiters bit, others may still sleep. */
            if (atomic_compare_exchange_weak_explicit(&sh->word, &v, me | FX_WAITERS,
                                                      memory_order_acquire, memory_order_relaxed))
                return 0;
            continue;
        }
        if (!(v & FX_WAITERS) && !atomic_compare_exchange_weak(&sh->word, &v, v | FX_WAITERS))
            continue;
        int r = fx_wait(&sh->word, v | FX_WAITERS, d, true);
        if (r == 1 || r == -ETIMEDOUT || r == -EAGAIN) {
            /* Before giving up, and at every slice: is the holder still there? */
            if (fx_lock_recover(sh, FX_OWNER(v), me)) {
                atomic_thread_fence(memory_order_acquire);
                return -EOWNERDEAD;
            }
        }
        if (r < 0)
            return r;
    }
}

static int fx_lock_release(struct ipcm_sync_end *e)
{
    struct fx_shared *sh = fx_sh(e);
    uint32_t v = atomic_exchange_explicit(&sh->word, 0, memory_order_release);
    if (v & FX_WAITERS)
        fx_wake(&sh->word, 1);
    return 0;
}

/* ---------------------------------------------------------------- Event */

static int fx_event_set(struct ipcm_sync_end *e, bool set)
{
    struct fx_shared *sh = fx_sh(e);
    if (!set) {
        atomic_store(&sh->word, 0);
        return 0;
    }
    if (atomic_exchange(&sh->word, 1) == 0 && atomic_load(&sh->waiters))
        fx_wake(&sh->word, INT_MAX);
    return 0;
}

static int fx_event_is_set(struct ipcm_sync_end *e)
{
    return atomic_load(&fx_sh(e)->word) != 0;
}

static int fx_event_wait(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct fx_shared *sh = fx_sh(e);
    int r = 0;
    if (atomic_load(&sh->word))
        return 0;
    atomic_fetch_add(&sh->waiters, 1);
    while (r >= 0 && !atomic_load(&sh->word))
        r = fx_wait(&sh->word, 0, d, false);
    atomic_fetch_sub(&sh->waiters, 1);
    return r < 0 ? r : 0;
}

/* ---------------------------------------------------------------- Semaphore */

static int fx_sem_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct fx_shared *sh = fx_sh(e);
    for (;;) {
        uint32_t v = atomic_load(&sh->word);
        while (v > 0)
            if (atomic_compare_exchange_weak(&sh->word, &v, v - 1))
                return 0;
        atomic_fetch_add(&sh->waiters, 1);
        int r = fx_wait(&sh->word, 0, d, false);
        atomic_fetch_sub(&sh->waiters, 1);
        if (r < 0)
            return r;
    }
}

static int fx_sem_release(struct ipcm_sync_end *e)
{
    struct fx_shared *sh = fx_sh(e);
    uint32_t v = atomic_load(&sh->word);
    do {
        if (v >= sh->value)
            return -EOVERFLOW;
    } while (!atomic_compare_exchange_weak(&sh->word, &v, v + 1));
    if (atomic_load(&sh->waiters))
        fx_wake(&sh->word, 1);
    return 0;
}

static int fx_sem_value(struct ipcm_sync_end *e)
{
    return (int)atomic_load(&fx_sh(e)->word);
}

/* ---------------------------------------------------------------- Barrier */

/* Break generation gen of the barrier (if it is still the current, unbroken one). */
static void fx_bar_break(struct fx_shared *sh, uint32_t gen)
{
    uint32_t v = atomic_load(&sh->word);
    while (BAR_GEN(v) == gen && !(v & BAR_BROKEN))
        if (atomic_compare_exchange_weak(&sh->word, &v, v | BAR_BROKEN)) {
            fx_wake(&sh->word, INT_MAX);
            return;
        }
}

/* Whether an open end other than mine is gone without closing: a dead party (whose
 * slot is then freed). */
static bool fx_bar_party_dead(struct fx_shared *sh, unsigned me)
{
    for (unsigned i = 0; i < FX_SLOTS; i++) {
        if (i == me || !atomic_load(&sh->slot[i].state) || !fx_slot_gone(sh, i))
            continue;
        /* Free a dead party's slot as its death is reported: the barrier breaks now,
         * and once reset it must not break again for the same death. */
        bool dead = atomic_load(&sh->slot[i].state) != 0;
        fx_slot_done(sh, i, dead);
        if (dead)
            return true;
    }
    return false;
}

/* How generation gen ended, seen in word v whose generation moved on. */
static int fx_bar_outcome(struct fx_shared *sh, uint32_t v, uint32_t gen, uint32_t idx)
{
    bool passed = BAR_GEN(v) == ((gen + 1) & 0x3ffffu)
                      ? (v & BAR_PASS) != 0
                      : atomic_load(&sh->passed[gen % BAR_PASSED]) == gen + 1;
    return passed ? (int)idx : -EPIPE;
}

static int fx_barrier_wait(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct fx_shared *sh = fx_sh(e);
    uint32_t v = atomic_load(&sh->word), idx;
    for (;;) {
        if (v & BAR_BROKEN)
            return -EPIPE;
        idx = BAR_ARRIVED(v);
        if (idx + 1 == sh->value) {
            /* The last one: open the next generation, marked as passed. */
            uint32_t g = BAR_GEN(v);
            if (atomic_compare_exchange_weak(&sh->word, &v, (g + 1) * BAR_GEN_ONE | BAR_PASS)) {
                atomic_store(&sh->passed[g % BAR_PASSED], g + 1);
                fx_wake(&sh->word, INT_MAX);
                return (int)idx;
            }
            continue;
        }
        if (atomic_compare_exchange_weak(&sh->word, &v, v + BAR_ONE))
            break;
    }
    uint32_t gen = BAR_GEN(v), cur = v + BAR_ONE;
    for (;;) {
        if (BAR_GEN(cur) != gen)
            return fx_bar_outcome(sh, cur, gen, idx);
        if (cur & BAR_BROKEN)
            return -EPIPE;
        int r = fx_wait(&sh->word, cur, d, true);
        if (r == 1 && fx_bar_party_dead(sh, fx_me(e)))
            fx_bar_break(sh, gen);
        if (r < 0) {
            fx_bar_break(sh, gen);
            cur = atomic_load(&sh->word);
            /* It may have passed just as we gave up. */
            return BAR_GEN(cur) != gen && fx_bar_outcome(sh, cur, gen, idx) >= 0 ? (int)idx : r;
        }
        cur = atomic_load(&sh->word);
    }
}

static int fx_barrier_abort(struct ipcm_sync_end *e, bool reset)
{
    struct fx_shared *sh = fx_sh(e);
    uint32_t v = atomic_load(&sh->word);
    if (!reset) {
        fx_bar_break(sh, BAR_GEN(v));
        return 0;
    }
    /* A new, empty generation that never passed: parties still waiting see -EPIPE. */
    while (!atomic_compare_exchange_weak(&sh->word, &v, (BAR_GEN(v) + 1) * BAR_GEN_ONE))
        ;
    fx_wake(&sh->word, INT_MAX);
    return 0;
}

const struct ipcm_sync_impl ipcm_sync_impl_futex = {
    .name = "futex",
    .summary = "ipcmark's own: one futex word, robust through a table of ends",
    .caps = IPCM_SYNC_CAP_LOCK | IPCM_SYNC_CAP_EVENT | IPCM_SYNC_CAP_BARRIER |
            IPCM_SYNC_CAP_SEMAPHORE | IPCM_SYNC_CAP_OWNER_DEAD | IPCM_SYNC_CAP_PARTY_DEAD |
            IPCM_SYNC_CAP_BOUNDED,
    .shared_size = sizeof(struct fx_shared),
    .end_size = sizeof(struct fx_end),
    .create = fx_create,
    .open = fx_open,
    .close = fx_close,
    .lock_acquire = fx_lock_acquire,
    .lock_release = fx_lock_release,
    .event_set = fx_event_set,
    .event_is_set = fx_event_is_set,
    .event_wait = fx_event_wait,
    .barrier_wait = fx_barrier_wait,
    .barrier_abort = fx_barrier_abort,
    .sem_acquire = fx_sem_acquire,
    .sem_release = fx_sem_release,
    .sem_value = fx_sem_value,
};
