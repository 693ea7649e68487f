/* SPDX-License-Identifier: MIT */
/*
 * bias.c - the slow paths of the biased robust lock (bias.h): taking the mutex,
 * revoking another end's bias, granting one's own, and recovering from a dead owner.
 */
#include "bias.h"

#include <errno.h>
#include <sched.h>

#define BIAS_NEED_FIRST 64u               /* uncontended sections before the first grant */
#define BIAS_NEED_MAX (1u << 20)          /* after many revocations: about never */
#define BIAS_SPINS 2000u                  /* an owner inside is in a memcpy: spin this long first */
#define BIAS_NAP_NS (50 * IPCM_NS_PER_US) /* then nap; a preempted owner needs its CPU back */

int ipcm_bias_init(struct ipcm_bias *b)
{
    int r;
    atomic_init(&b->gen, 0);
    atomic_init(&b->busy, 0);
    if ((r = ipcm_robust_init(&b->lock)) < 0)
        return r;
    return ipcm_robust_init(&b->owner);
}

void ipcm_bias_end_init(struct ipcm_bias_end *me)
{
    *me = (struct ipcm_bias_end){.need = BIAS_NEED_FIRST};
    me->fences = ipcm_fence_register() == 0;
}

void ipcm_bias_drop(struct ipcm_bias *b, struct ipcm_bias_end *me)
{
    atomic_store_explicit(&b->busy, 0, memory_order_release);
    me->biased = false;
    me->streak = 0;
    me->need = me->need < BIAS_NEED_MAX / 4 ? me->need * 4 : BIAS_NEED_MAX;
    ipcm_robust_unlock(&b->owner);
}

/*
 * Holding `lock`: wait until no (revoked) owner is inside. Returns 0, 1 if the one inside
 * died there, or a deadline error. A revoker that gave up at its deadline leaves the
 * owner inside; so every locker waits here, not only the one that revoked.
 */
static int bias_wait_outside(struct ipcm_bias *b, const struct ipcm_deadline *d)
{
    int dead = 0;
    for (unsigned i = 0; atomic_load_explicit(&b->busy, memory_order_acquire); i++) {
        int r = pthread_mutex_trylock(&b->owner);
        if (r == 0 || r == EOWNERDEAD) {
            /* Free: the owner left (it clears busy first). Dead: it may have died
             * inside; the caller's state is whole at every instant, so clear it. */
            if (r == EOWNERDEAD) {
                ipcm_robust_consistent(&b->owner);
                atomic_store_explicit(&b->busy, 0, memory_order_relaxed);
                dead = 1;
            }
            ipcm_robust_unlock(&b->owner);
            continue;
        }
        if (r == ENOTRECOVERABLE)
            return -ENOTRECOVERABLE;
        if (i < BIAS_SPINS) {
            ipcm_cpu_relax();
            continue;
        }
        if (ipcm_deadline_expired(d))
            return ipcm_deadline_err(d);
        ipcm_sleep_ns(BIAS_NAP_NS);
    }
    return dead;
}

int ipcm_bias_enter_slow(struct ipcm_bias *b, struct ipcm_bias_end *me,
                         const struct ipcm_deadline *d, bool spin)
{
    int r = pthread_mutex_trylock(&b->lock), recovered = 0;
    bool contended = r == EBUSY;
    /* Hold times are a memcpy: a short spin beats sleeping on the mutex's futex. */
    for (unsigned i = 0; r == EBUSY && spin && i < 64; i++) {
        for (unsigned j = 0; j < 16; j++)
            ipcm_cpu_relax();
        r = pthread_mutex_trylock(&b->lock);
    }
    if (r == EBUSY)
        r = -ipcm_robust_lock(&b->lock, d);
    if (r == EOWNERDEAD) {
        ipcm_robust_consistent(&b->lock);
        recovered = 1;
    } else if (r) {
        return r > 0 ? -r : r;
    }
    uint32_t gen = atomic_load_explicit(&b->gen, memory_order_acquire);
    if (gen & 1u) {
        /* Revoke: now the owner's next load of gen sees it moved, or we see it busy. */
        contended = true;
        atomic_store_explicit(&b->gen, gen + 1, memory_order_seq_cst);
        ipcm_fence_heavy();
    }
    int v = bias_wait_outside(b, d);
    if (v < 0) {
        ipcm_robust_unlock(&b->lock);
        return v;
    }
    recovered |= v;
    me->streak = contended ? 0 : me->streak + 1;
    return recovered;
}

void ipcm_bias_leave_slow(struct ipcm_bias *b, struct ipcm_bias_end *me)
{
    /* Grant ourselves the bias, under `lock`, after a long uncontended streak. */
    if (me->fences && me->streak >= me->need) {
        int r = pthread_mutex_trylock(&b->owner);
        if (r == EOWNERDEAD)
            ipcm_robust_consistent(&b->owner), r = 0;
        if (r == 0) {
            /* Even here: enter_slow revoked any bias before we got the section. */
            uint32_t gen = atomic_load_explicit(&b->gen, memory_order_relaxed) + 1u;
            atomic_store_explicit(&b->busy, 0, memory_order_relaxed);
            atomic_store_explicit(&b->gen, gen, memory_order_release);
            me->gen = gen;
            me->fork_gen = ipcm_fork_generation;
            me->thread = ipcm_bias_thread();
            me->biased = true;
        }
        me->streak = 0;
    }
    ipcm_robust_unlock(&b->lock);
}

const void *ipcm_bias_thread(void)
{
    static _Thread_local char tag;
    return &tag;
}

void ipcm_bias_end_release(struct ipcm_bias *b, struct ipcm_bias_end *me)
{
    /* Only the thread that earned the bias holds `owner`. An end closed by another
     * thread leaves it: when the earning thread exits, the kernel marks the robust mutex
     * owner-dead, and the next locker revokes the stale bias as after a dead process. */
    if (me->biased && me->fork_gen == ipcm_fork_generation && me->thread == ipcm_bias_thread()) {
        atomic_store_explicit(&b->busy, 0, memory_order_release);
        ipcm_robust_unlock(&b->owner);
    }
    me->biased = false;
}
