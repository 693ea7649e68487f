/* SPDX-License-Identifier: MIT */
/*
 * sync_internal.h - the small vtable behind ipcm_sync_* (ipcmark.h): one implementation
 * per file (sync_futex.c, sync_pthread.c, sync_posix.c), one line each in sync.c. RLock
 * and Condition are built once for all of them on their Lock (sync_generic.c).
 */
#ifndef IPCM_HARNESS_LIB_SYNC_INTERNAL_H
#define IPCM_HARNESS_LIB_SYNC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "ipcmark.h"

/*
 * What every primitive has beside its implementation's state, in the same mapping just
 * before it: the RLock's owner and depth, the Condition's sequence word (sync_generic.c).
 */
struct ipcm_sync_gen {
    _Atomic uint64_t owner;   /* RLock: pid << 32 | tid of the holder; 0 when free */
    uint32_t depth;           /* RLock: levels held; written by the holder only */
    _Atomic uint32_t seq;     /* Condition: notifications so far (the futex word) */
    _Atomic uint32_t waiters; /* Condition: waiting now (a dead one: an extra wake call) */
};
#define IPCM_SYNC_GEN_SIZE 128 /* the implementation's state starts on its own lines */

/*
 * A primitive as created: this process's copy of the struct, and the shared state.
 * kind is what the implementation builds: IPCM_SYNC_LOCK for an RLock (recursive set);
 * a Condition is generic alone (sh NULL: no implementation op is called for it).
 */
struct ipcm_sync {
    const struct ipcm_sync_impl *impl;
    enum ipcm_sync_kind kind;
    unsigned value;            /* as given to create */
    void *sh;                  /* impl->shared_size bytes, MAP_SHARED, zeroed before create */
    struct ipcm_sync_gen *gen; /* IPCM_SYNC_GEN_SIZE bytes just before sh, MAP_SHARED */
    bool recursive;            /* created as IPCM_SYNC_RLOCK */
};

/* One thread's end: private state of impl->end_size bytes follows it. */
struct ipcm_sync_end {
    struct ipcm_sync *s;
    bool held; /* Lock: this end holds it (so release and -EDEADLK need no shared read) */
    unsigned char priv[] __attribute__((aligned(16)));
};

/*
 * An implementation. create/open run on zeroed memory and may fail; destroy/close are
 * called only after a create/open that succeeded. A NULL op of a kind means the kind is
 * not provided (and its IPCM_SYNC_CAP_ bit is clear). Waits take the caller's deadline,
 * computed once; they retry EINTR against it. Deadline errors come from
 * ipcm_deadline_err (-EAGAIN for try-once, else -ETIMEDOUT).
 */
struct ipcm_sync_impl {
    const char *name;
    const char *summary;
    uint32_t caps;
    size_t shared_size; /* bytes of shared state per primitive */
    size_t end_size;    /* private bytes per end */
    int (*create)(struct ipcm_sync *s);
    void (*destroy)(struct ipcm_sync *s);
    int (*open)(struct ipcm_sync_end *e);
    void (*close)(struct ipcm_sync_end *e);
    int (*lock_acquire)(struct ipcm_sync_end *e, const struct ipcm_deadline *d);
    int (*lock_release)(struct ipcm_sync_end *e);
    int (*event_set)(struct ipcm_sync_end *e, bool set);
    int (*event_is_set)(struct ipcm_sync_end *e);
    int (*event_wait)(struct ipcm_sync_end *e, const struct ipcm_deadline *d);
    int (*barrier_wait)(struct ipcm_sync_end *e, const struct ipcm_deadline *d);
    int (*barrier_abort)(struct ipcm_sync_end *e, bool reset);
    int (*sem_acquire)(struct ipcm_sync_end *e, const struct ipcm_deadline *d);
    int (*sem_release)(struct ipcm_sync_end *e);
    int (*sem_value)(struct ipcm_sync_end *e);
};

extern const struct ipcm_sync_impl ipcm_sync_impl_futex;
extern const struct ipcm_sync_impl ipcm_sync_impl_pthread;
extern const struct ipcm_sync_impl ipcm_sync_impl_posix;
extern const struct ipcm_sync_impl ipcm_sync_impl_sysv;  /* sync_sysv.c */
extern const struct ipcm_sync_impl ipcm_sync_impl_ofd;   /* sync_flock.c */
extern const struct ipcm_sync_impl ipcm_sync_impl_flock; /* sync_flock.c */

/* sync_generic.c: RLock and Condition on any implementation's Lock. */
int ipcm_sync_rlock_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d);
int ipcm_sync_rlock_release(struct ipcm_sync_end *e, bool all);
int ipcm_sync_rlock_depth(struct ipcm_sync_end *e);

/* Largest Barrier (parties) and Semaphore (bound) every implementation accepts. */
#define IPCM_SYNC_MAX_PARTIES 4095u
#define IPCM_SYNC_MAX_SEM 65535u

/*
 * A process-shared robust pthread mutex for the implementations (the library cannot see
 * the backends' internal.h). Lock: 0; -EOWNERDEAD (made consistent: the caller holds it);
 * -EDEADLK (ERRORCHECK: the caller holds it already); deadline errors; -ENOTRECOVERABLE.
 */
int ipcm_sync_mutex_init(pthread_mutex_t *m, bool errorcheck);
int ipcm_sync_mutex_lock(pthread_mutex_t *m, const struct ipcm_deadline *d);

#endif /* IPCM_HARNESS_LIB_SYNC_INTERNAL_H */
