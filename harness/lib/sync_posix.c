/* SPDX-License-Identifier: MIT */
/*
 * sync_posix.c - POSIX unnamed semaphores (sem_init(3) with pshared 1) in shared memory:
 * the Lock is a binary semaphore, the Semaphore a counting one. Neither knows an owner,
 * so a holder that dies never gives its unit back (the next acquirer waits into its
 * timeout), and nothing bounds sem_post: both properties are left undeclared, and the
 * conformance group shows what happens. No Event, no Barrier.
 */
#include "sync_internal.h"

#include <errno.h>
#include <semaphore.h>
#include <time.h>

struct px_shared {
    sem_t sem;
};

static sem_t *px_sem(const struct ipcm_sync_end *e)
{
    return &((struct px_shared *)e->s->sh)->sem;
}

static int px_create(struct ipcm_sync *s)
{
    unsigned v = s->kind == IPCM_SYNC_LOCK ? 1 : s->value;
    return sem_init(&((struct px_shared *)s->sh)->sem, 1, v) < 0 ? -errno : 0;
}

static void px_destroy(struct ipcm_sync *s)
{
    sem_destroy(&((struct px_shared *)s->sh)->sem);
}

static int px_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    sem_t *sem = px_sem(e);
    for (;;) {
        int r;
        if (d->timeout_ms == 0) {
            r = sem_trywait(sem);
        } else if (d->timeout_ms < 0) {
            r = sem_wait(sem);
        } else {
            struct timespec ts = {(time_t)(d->at_ns / IPCM_NS_PER_S),
                                  (long)(d->at_ns % IPCM_NS_PER_S)};
            r = sem_clockwait(sem, CLOCK_MONOTONIC, &ts);
        }
        if (r == 0)
            return 0;
        if (errno == EINTR)
            continue; /* the deadline is absolute: retrying does not extend it */
        return errno == EAGAIN || errno == ETIMEDOUT ? ipcm_deadline_err(d) : -errno;
    }
}

static int px_release(struct ipcm_sync_end *e)
{
    return sem_post(px_sem(e)) < 0 ? -errno : 0;
}

static int px_value(struct ipcm_sync_end *e)
{
    int v = 0;
    return sem_getvalue(px_sem(e), &v) < 0 ? -errno : v;
}

const struct ipcm_sync_impl ipcm_sync_impl_posix = {
    .name = "posix",
    .summary = "POSIX unnamed semaphores (sem_init, pshared): no owner, no bound",
    .caps = IPCM_SYNC_CAP_LOCK | IPCM_SYNC_CAP_SEMAPHORE,
    .shared_size = sizeof(struct px_shared),
    .create = px_create,
    .destroy = px_destroy,
    .lock_acquire = px_acquire,
    .lock_release = px_release,
    .sem_acquire = px_acquire,
    .sem_release = px_release,
    .sem_value = px_value,
};
