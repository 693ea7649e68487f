/* SPDX-License-Identifier: MIT */
/* lock.c - process-shared robust mutexes with deadlines, for the backends and the library. */
#include "base.h"

#include <errno.h>
#include <time.h>

int ipcm_robust_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    int r = pthread_mutexattr_init(&a);
    if (r)
        return -r;
    if (!(r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) &&
        !(r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)))
        r = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return -r;
}

/* Longest single sleep on a robust mutex. After an owner dies the kernel wakes one
 * waiter, and a second waiter can miss its wake-up (seen here: a consumer slept its
 * whole 10 s timeout on a mutex that was free); waking in slices bounds that to one
 * slice, never a hang. */
#define ROBUST_SLICE_NS (50 * IPCM_NS_PER_MS)

int ipcm_robust_lock(pthread_mutex_t *m, const struct ipcm_deadline *d)
{
    int r = pthread_mutex_trylock(m);
    if (r != EBUSY)
        return -r;
    if (d->timeout_ms == 0)
        return -EAGAIN;
    for (;;) {
        uint64_t now = ipcm_now_ns();
        if (d->timeout_ms > 0 && now >= d->at_ns)
            return -ETIMEDOUT;
        uint64_t slice = ROBUST_SLICE_NS;
        if (d->timeout_ms > 0 && d->at_ns - now < slice)
            slice = d->at_ns - now;
        /* timedlock takes a CLOCK_REALTIME deadline; only this one slice is measured
         * against it (a clock step stretches or shortens one slice), the whole wait
         * against the monotonic deadline. (ThreadSanitizer also intercepts timedlock,
         * not clocklock.) */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t until = (uint64_t)ts.tv_sec * IPCM_NS_PER_S + (uint64_t)ts.tv_nsec + slice;
        ts.tv_sec = (time_t)(until / IPCM_NS_PER_S);
        ts.tv_nsec = (long)(until % IPCM_NS_PER_S);
        r = pthread_mutex_timedlock(m, &ts);
        if (r != ETIMEDOUT)
            return -r;
    }
}

void ipcm_robust_consistent(pthread_mutex_t *m)
{
    pthread_mutex_consistent(m);
}

void ipcm_robust_unlock(pthread_mutex_t *m)
{
    pthread_mutex_unlock(m);
}
