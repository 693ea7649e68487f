/* SPDX-License-Identifier: MIT */
/*
 * sync_pthread.c - the primitives a C programmer reaches for first: a process-shared
 * robust pthread mutex (ERRORCHECK) for the Lock, and that mutex with a process-shared
 * CLOCK_MONOTONIC condition variable for Event, Barrier and Semaphore.
 *
 * Holder death is the kernel's robust list (EOWNERDEAD). A Barrier party that dies is not
 * noticed: the others wait into their timeouts, which then break it. A waiter that dies
 * inside pthread_cond_*wait can leave glibc's condition variable waiting for it (glibc
 * bug 21422), which is why waits here are sliced and every wait has a deadline.
 */
#include "sync_internal.h"

#include <errno.h>
#include <time.h>

struct pt_shared {
    pthread_mutex_t m;
    pthread_cond_t cv;
    unsigned value; /* parties or bound */
    unsigned count; /* Event: flag; Semaphore: count; Barrier: arrived */
    unsigned gen;   /* Barrier: generation */
    unsigned pass;  /* Barrier: 1 + the last generation that passed */
    int broken;     /* Barrier */
};

static struct pt_shared *pt_sh(const struct ipcm_sync_end *e)
{
    return e->s->sh;
}

static int pt_create(struct ipcm_sync *s)
{
    struct pt_shared *sh = s->sh;
    pthread_condattr_t a;
    int r = ipcm_sync_mutex_init(&sh->m, true);
    if (r < 0)
        return r;
    if ((r = pthread_condattr_init(&a)))
        return -r;
    if (!(r = pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) &&
        !(r = pthread_condattr_setclock(&a, CLOCK_MONOTONIC)))
        r = pthread_cond_init(&sh->cv, &a);
    pthread_condattr_destroy(&a);
    sh->value = s->value;
    sh->count = s->kind == IPCM_SYNC_EVENT ? s->value != 0 : s->value;
    if (s->kind == IPCM_SYNC_BARRIER)
        sh->count = 0;
    return -r;
}

/* Take the mutex; a dead holder of it is simply recovered (the state it guards is
 * updated in single stores). Returns 0 or a deadline error. */
static int pt_enter(struct pt_shared *sh, const struct ipcm_deadline *d)
{
    static const struct ipcm_deadline forever = {.timeout_ms = -1};
    int r = ipcm_sync_mutex_lock(&sh->m, d ? d : &forever);
    return r == -EOWNERDEAD ? 0 : r;
}

/*
 * Wait on the condition variable, holding the mutex, until woken or the deadline; at
 * most 50 ms at a time (a lost wake-up costs one slice, never the whole wait).
 * Returns 0 (re-check the condition) or the deadline's error.
 */
static int pt_cond_wait(struct pt_shared *sh, const struct ipcm_deadline *d)
{
    if (d->timeout_ms == 0)
        return -EAGAIN;
    uint64_t now = ipcm_now_ns(), until = now + 50 * IPCM_NS_PER_MS;
    if (d->timeout_ms > 0) {
        if (now >= d->at_ns)
            return -ETIMEDOUT;
        if (d->at_ns < until)
            until = d->at_ns;
    }
    struct timespec ts = {(time_t)(until / IPCM_NS_PER_S), (long)(until % IPCM_NS_PER_S)};
    int r = pthread_cond_timedwait(&sh->cv, &sh->m, &ts);
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(&sh->m);
    return 0;
}

static int pt_lock_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    return ipcm_sync_mutex_lock(&pt_sh(e)->m, d);
}

static int pt_lock_release(struct ipcm_sync_end *e)
{
    return -pthread_mutex_unlock(&pt_sh(e)->m);
}

static int pt_event_set(struct ipcm_sync_end *e, bool set)
{
    struct pt_shared *sh = pt_sh(e);
    pt_enter(sh, NULL);
    sh->count = set;
    if (set)
        pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->m);
    return 0;
}

static int pt_event_is_set(struct ipcm_sync_end *e)
{
    struct pt_shared *sh = pt_sh(e);
    pt_enter(sh, NULL);
    int v = sh->count != 0;
    pthread_mutex_unlock(&sh->m);
    return v;
}

static int pt_event_wait(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct pt_shared *sh = pt_sh(e);
    int r = pt_enter(sh, d);
    if (r < 0)
        return r;
    while (!sh->count && r == 0)
        r = pt_cond_wait(sh, d);
    pthread_mutex_unlock(&sh->m);
    return r;
}

static int pt_sem_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct pt_shared *sh = pt_sh(e);
    int r = pt_enter(sh, d);
    if (r < 0)
        return r;
    while (!sh->count && r == 0)
        r = pt_cond_wait(sh, d);
    if (r == 0)
        sh->count--;
    pthread_mutex_unlock(&sh->m);
    return r;
}

static int pt_sem_release(struct ipcm_sync_end *e)
{
    struct pt_shared *sh = pt_sh(e);
    int r = 0;
    pt_enter(sh, NULL);
    if (sh->count >= sh->value)
        r = -EOVERFLOW;
    else if (sh->count++ == 0)
        pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->m);
    return r;
}

static int pt_sem_value(struct ipcm_sync_end *e)
{
    struct pt_shared *sh = pt_sh(e);
    pt_enter(sh, NULL);
    int v = (int)sh->count;
    pthread_mutex_unlock(&sh->m);
    return v;
}

static int pt_barrier_wait(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct pt_shared *sh = pt_sh(e);
    int r = pt_enter(sh, d);
    if (r < 0)
        return r;
    if (sh->broken) {
        pthread_mutex_unlock(&sh->m);
        return -EPIPE;
    }
    unsigned gen = sh->gen, idx = sh->count++;
    if (sh->count == sh->value) {
        sh->count = 0;
        sh->pass = ++sh->gen; /* generation gen passed */
        pthread_cond_broadcast(&sh->cv);
        pthread_mutex_unlock(&sh->m);
        return (int)idx;
    }
    while (sh->gen == gen && !sh->broken && r == 0)
        r = pt_cond_wait(sh, d);
    if (sh->gen != gen)
        r = sh->pass == gen + 1 ? (int)idx : -EPIPE; /* passed, or reset while waiting */
    else if (sh->broken)
        r = -EPIPE;
    else { /* this party's deadline: it breaks the barrier for the others */
        sh->broken = 1;
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->m);
    return r;
}

static int pt_barrier_abort(struct ipcm_sync_end *e, bool reset)
{
    struct pt_shared *sh = pt_sh(e);
    pt_enter(sh, NULL);
    if (reset) {
        sh->gen++; /* a generation that never passed: waiters see -EPIPE */
        sh->count = 0;
        sh->broken = 0;
    } else {
        sh->broken = 1;
    }
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->m);
    return 0;
}

const struct ipcm_sync_impl ipcm_sync_impl_pthread = {
    .name = "pthread",
    .summary = "process-shared robust pthread mutex + condition variable",
    .caps = IPCM_SYNC_CAP_LOCK | IPCM_SYNC_CAP_EVENT | IPCM_SYNC_CAP_BARRIER |
            IPCM_SYNC_CAP_SEMAPHORE | IPCM_SYNC_CAP_OWNER_DEAD | IPCM_SYNC_CAP_BOUNDED,
    .shared_size = sizeof(struct pt_shared),
    .create = pt_create,
    .lock_acquire = pt_lock_acquire,
    .lock_release = pt_lock_release,
    .event_set = pt_event_set,
    .event_is_set = pt_event_is_set,
    .event_wait = pt_event_wait,
    .barrier_wait = pt_barrier_wait,
    .barrier_abort = pt_barrier_abort,
    .sem_acquire = pt_sem_acquire,
    .sem_release = pt_sem_release,
    .sem_value = pt_sem_value,
};
