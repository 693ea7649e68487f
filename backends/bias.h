/* SPDX-License-Identifier: MIT */
/*
 * bias.h - a process-shared robust lock that a lone user keeps between critical
 * sections ("biased locking" made safe across processes and crashes).
 *
 * A queue end that is the only producer (or the only consumer) would otherwise pay two
 * locked instructions per message for a mutex nobody else wants; each one also drains
 * the store buffer, so the next message waits for the last one's cache misses. Here an
 * end that took the ordinary mutex uncontended many times in a row is granted the bias:
 * it then enters with a plain store of `busy` and a plain load of `gen`, and leaves with
 * a plain store. Anyone else who takes the mutex sees `gen` odd and revokes: it bumps
 * `gen`, runs a heavy fence (internal.h) and waits until `busy` is clear. The fence pairs
 * with the owner's light one: either the owner's load of `gen` sees the revocation, or
 * the revoker's load of `busy` sees the owner inside, and it waits for it to leave.
 *
 * Crashes: the owner holds the robust mutex `owner` for its whole tenure, so its death
 * is reported by the kernel (EOWNERDEAD), never guessed from time or pids. A revoker
 * that finds `busy` set and the owner dead clears it and goes on, as after any dead lock
 * holder (the caller's state must be whole at every instant, as the shm ring's is). A
 * stopped owner is never robbed: the revoker waits until its own deadline.
 *
 * Without membarrier the bias is never granted: every section takes the mutex.
 */
#ifndef IPCM_BACKENDS_BIAS_H
#define IPCM_BACKENDS_BIAS_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define IPCM_BIAS_LINE 128u

/* In shared memory. */
struct ipcm_bias {
    /* The owner's line: it writes busy and reads gen on every section. */
    alignas(IPCM_BIAS_LINE) _Atomic uint32_t gen;  /* odd: biased; changed under `lock` */
    _Atomic uint32_t busy;                         /* the biased owner is inside */
    alignas(IPCM_BIAS_LINE) pthread_mutex_t lock;  /* the ordinary lock */
    alignas(IPCM_BIAS_LINE) pthread_mutex_t owner; /* held by the biased owner */
};

/* Private to one end (one process, one thread at a time). */
struct ipcm_bias_end {
    bool biased;
    bool fences;       /* this process registered for the heavy fence */
    uint32_t gen;      /* the odd gen we were granted */
    unsigned fork_gen; /* ipcm_fork_generation when granted: a forked copy is no owner */
    uint32_t streak;   /* uncontended acquisitions in a row */
    uint32_t need;     /* streak that earns the bias; grows each time ours is revoked */
    /* The thread that earned the bias holds `owner` (a robust mutex is a thread's): the
     * address of a thread-local tag, so that telling threads apart costs no system call. */
    const void *thread;
};

/* This thread's tag (the address of a thread-local object). */
const void *ipcm_bias_thread(void);

int ipcm_bias_init(struct ipcm_bias *b);
/* Per end, after fork; registers the process for fences when it can. */
void ipcm_bias_end_init(struct ipcm_bias_end *me);

void ipcm_bias_drop(struct ipcm_bias *b, struct ipcm_bias_end *me);
void ipcm_bias_leave_slow(struct ipcm_bias *b, struct ipcm_bias_end *me);

/* The fast path: true if this end entered under its bias (no mutex taken). */
static inline bool ipcm_bias_enter_fast(struct ipcm_bias *b, struct ipcm_bias_end *me)
{
    if (!me->biased)
        return false;
    if (me->fork_gen != ipcm_fork_generation) {
        me->biased = false; /* a forked copy: the bias is the parent's */
        return false;
    }
    if (me->thread != ipcm_bias_thread())
        return false; /* another thread of this process earned it: take the lock */
    atomic_store_explicit(&b->busy, 1, memory_order_relaxed);
    ipcm_fence_light(); /* pairs with the revoker's heavy fence */
    if (atomic_load_explicit(&b->gen, memory_order_acquire) == me->gen)
        return true;
    ipcm_bias_drop(b, me); /* revoked */
    return false;
}

/*
 * The slow path, after enter_fast returned false. Returns 0 holding the section, 1 holding
 * it after a holder died inside (the caller may want to count or wake), -ETIMEDOUT or
 * -EAGAIN when the deadline passed, -ENOTRECOVERABLE if the mutex is.
 */
int ipcm_bias_enter_slow(struct ipcm_bias *b, struct ipcm_bias_end *me,
                         const struct ipcm_deadline *d, bool spin);

static inline void ipcm_bias_leave(struct ipcm_bias *b, struct ipcm_bias_end *me)
{
    if (me->biased && me->thread == ipcm_bias_thread())
        atomic_store_explicit(&b->busy, 0, memory_order_release);
    else
        ipcm_bias_leave_slow(b, me);
}

/* The end closes: give the bias up (the next locker revokes a stale one cheaply). */
void ipcm_bias_end_release(struct ipcm_bias *b, struct ipcm_bias_end *me);

#endif /* IPCM_BACKENDS_BIAS_H */
