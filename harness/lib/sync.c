/* SPDX-License-Identifier: MIT */
/*
 * sync.c - the public face of the synchronization primitives (ipcmark.h): the table of
 * implementations, create/open/close, and one checked dispatch per operation.
 */
#include "sync_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Ours first: it is the one the default run measures. */
static const struct ipcm_sync_impl *const impls[] = {
    &ipcm_sync_impl_futex,
    &ipcm_sync_impl_pthread,
    &ipcm_sync_impl_posix,
    &ipcm_sync_impl_sysv,
    &ipcm_sync_impl_ofd,
    &ipcm_sync_impl_flock,
};
#define NIMPLS (sizeof(impls) / sizeof(impls[0]))

size_t ipcm_sync_impl_count(void)
{
    return NIMPLS;
}

const struct ipcm_sync_impl *ipcm_sync_impl_at(size_t i)
{
    return i < NIMPLS ? impls[i] : NULL;
}

const struct ipcm_sync_impl *ipcm_sync_impl_find(const char *name)
{
    for (size_t i = 0; name && i < NIMPLS; i++)
        if (strcmp(impls[i]->name, name) == 0)
            return impls[i];
    return NULL;
}

const char *ipcm_sync_impl_name(const struct ipcm_sync_impl *impl)
{
    return impl->name;
}

const char *ipcm_sync_impl_summary(const struct ipcm_sync_impl *impl)
{
    return impl->summary;
}

uint32_t ipcm_sync_impl_caps(const struct ipcm_sync_impl *impl)
{
    return impl->caps;
}

/* The cap bit that says impl provides kind. */
static uint32_t kind_cap(enum ipcm_sync_kind kind)
{
    switch (kind) {
    case IPCM_SYNC_LOCK: return IPCM_SYNC_CAP_LOCK;
    case IPCM_SYNC_EVENT: return IPCM_SYNC_CAP_EVENT;
    case IPCM_SYNC_BARRIER: return IPCM_SYNC_CAP_BARRIER;
    case IPCM_SYNC_SEMAPHORE: return IPCM_SYNC_CAP_SEMAPHORE;
    case IPCM_SYNC_RLOCK: return IPCM_SYNC_CAP_LOCK;     /* built on the Lock */
    case IPCM_SYNC_CONDITION: return IPCM_SYNC_CAP_LOCK; /* used with its Lock */
    }
    return 0;
}

/* Bytes of s's mapping: the generic part, then the implementation's. */
static size_t sync_size(const struct ipcm_sync *s)
{
    return IPCM_SYNC_GEN_SIZE + (s->kind == IPCM_SYNC_CONDITION ? 0 : s->impl->shared_size);
}

int ipcm_sync_create(const struct ipcm_sync_impl *impl, enum ipcm_sync_kind kind, unsigned value,
                     struct ipcm_sync **out)
{
    *out = NULL;
    if (!impl || !kind_cap(kind))
        return -EINVAL;
    if (!(impl->caps & kind_cap(kind)))
        return -ENOTSUP;
    if ((kind == IPCM_SYNC_BARRIER && (value < 1 || value > IPCM_SYNC_MAX_PARTIES)) ||
        (kind == IPCM_SYNC_SEMAPHORE && value > IPCM_SYNC_MAX_SEM))
        return -EINVAL;
    struct ipcm_sync *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    /* The implementation builds a Lock for an RLock, nothing for a Condition. */
    *s = (struct ipcm_sync){.impl = impl,
                            .kind = kind == IPCM_SYNC_RLOCK ? IPCM_SYNC_LOCK : kind,
                            .value = value,
                            .recursive = kind == IPCM_SYNC_RLOCK};
    s->gen = ipcm_shared_alloc(sync_size(s));
    if (!s->gen) {
        free(s);
        return -ENOMEM;
    }
    int r = 0;
    if (s->kind != IPCM_SYNC_CONDITION) {
        s->sh = (char *)s->gen + IPCM_SYNC_GEN_SIZE;
        r = impl->create(s);
    }
    if (r < 0) {
        ipcm_shared_free(s->gen, sync_size(s));
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

void ipcm_sync_destroy(struct ipcm_sync *s)
{
    if (!s)
        return;
    if (s->sh && s->impl->destroy)
        s->impl->destroy(s);
    ipcm_shared_free(s->gen, sync_size(s));
    free(s);
}

enum ipcm_sync_kind ipcm_sync_kind(const struct ipcm_sync *s)
{
    return s->recursive ? IPCM_SYNC_RLOCK : s->kind;
}

const struct ipcm_sync_impl *ipcm_sync_impl(const struct ipcm_sync *s)
{
    return s->impl;
}

int ipcm_sync_open(struct ipcm_sync *s, struct ipcm_sync_end **out)
{
    *out = NULL;
    struct ipcm_sync_end *e = calloc(1, sizeof(*e) + s->impl->end_size);
    if (!e)
        return -ENOMEM;
    e->s = s;
    int r = s->sh && s->impl->open ? s->impl->open(e) : 0;
    if (r < 0) {
        free(e);
        return r;
    }
    *out = e;
    return 0;
}

void ipcm_sync_close(struct ipcm_sync_end *e)
{
    if (!e)
        return;
    if (e->held && e->s->recursive)
        ipcm_sync_rlock_release(e, true); /* only when this thread owns it */
    else if (e->held)
        ipcm_lock_release(e);
    if (e->s->sh && e->s->impl->close)
        e->s->impl->close(e);
    free(e);
}

/* ---------------------------------------------------------------- dispatch */

/* The end if it is of kind, else NULL (the caller returns -EINVAL). */
static const struct ipcm_sync_impl *of_kind(struct ipcm_sync_end *e, enum ipcm_sync_kind kind)
{
    return e && e->s->kind == kind ? e->s->impl : NULL;
}

int ipcm_lock_acquire(struct ipcm_sync_end *e, int timeout_ms)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_LOCK);
    struct ipcm_deadline d;
    if (!im)
        return -EINVAL;
    ipcm_deadline_init(&d, timeout_ms);
    if (e->s->recursive)
        return ipcm_sync_rlock_acquire(e, &d);
    if (e->held)
        return -EDEADLK;
    int r = im->lock_acquire(e, &d);
    e->held = r == 0 || r == -EOWNERDEAD;
    return r;
}

int ipcm_lock_release(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_LOCK);
    if (!im)
        return -EINVAL;
    if (e->s->recursive)
        return ipcm_sync_rlock_release(e, false);
    if (!e->held)
        return -EPERM;
    e->held = false;
    return im->lock_release(e);
}

int ipcm_lock_depth(struct ipcm_sync_end *e)
{
    if (!of_kind(e, IPCM_SYNC_LOCK))
        return -EINVAL;
    return e->s->recursive ? ipcm_sync_rlock_depth(e) : e->held;
}

int ipcm_event_set(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_EVENT);
    return im ? im->event_set(e, true) : -EINVAL;
}

int ipcm_event_clear(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_EVENT);
    return im ? im->event_set(e, false) : -EINVAL;
}

int ipcm_event_is_set(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_EVENT);
    return im ? im->event_is_set(e) : -EINVAL;
}

int ipcm_event_wait(struct ipcm_sync_end *e, int timeout_ms)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_EVENT);
    struct ipcm_deadline d;
    if (!im)
        return -EINVAL;
    ipcm_deadline_init(&d, timeout_ms);
    return im->event_wait(e, &d);
}

int ipcm_barrier_wait(struct ipcm_sync_end *e, int timeout_ms)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_BARRIER);
    struct ipcm_deadline d;
    if (!im)
        return -EINVAL;
    ipcm_deadline_init(&d, timeout_ms);
    return im->barrier_wait(e, &d);
}

int ipcm_barrier_abort(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_BARRIER);
    return im ? im->barrier_abort(e, false) : -EINVAL;
}

int ipcm_barrier_reset(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_BARRIER);
    return im ? im->barrier_abort(e, true) : -EINVAL;
}

int ipcm_sem_acquire(struct ipcm_sync_end *e, int timeout_ms)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_SEMAPHORE);
    struct ipcm_deadline d;
    if (!im)
        return -EINVAL;
    ipcm_deadline_init(&d, timeout_ms);
    return im->sem_acquire(e, &d);
}

int ipcm_sem_release(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_SEMAPHORE);
    return im ? im->sem_release(e) : -EINVAL;
}

int ipcm_sem_value(struct ipcm_sync_end *e)
{
    const struct ipcm_sync_impl *im = of_kind(e, IPCM_SYNC_SEMAPHORE);
    return im ? im->sem_value(e) : -EINVAL;
}

/* ---------------------------------------------------------------- shared helpers */

int ipcm_sync_mutex_init(pthread_mutex_t *m, bool errorcheck)
{
    pthread_mutexattr_t a;
    int r = pthread_mutexattr_init(&a);
    if (r)
        return -r;
    if (!(r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) &&
        !(r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) &&
        !(r = errorcheck ? pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK) : 0))
        r = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return -r;
}

/* The base layer's robust lock: it sleeps in slices, because after an owner dies the
 * kernel wakes one waiter and another can miss its wake-up. */
int ipcm_sync_mutex_lock(pthread_mutex_t *m, const struct ipcm_deadline *d)
{
    int r = ipcm_robust_lock(m, d);
    if (r == -EOWNERDEAD)
        ipcm_robust_consistent(m); /* the caller learns it from the return value */
    return r;
}
