/* SPDX-License-Identifier: MIT */
/*
 * sync_sysv.c - System V semaphore sets (semget(2), semtimedop(2)), one set per
 * primitive, created IPC_PRIVATE mode 0600.
 *
 *   Lock       one semaphore, 1 = free; acquire and release with SEM_UNDO, so the kernel
 *              gives the unit of a process that dies holding it back at its exit. That is
 *              robust, but silent: the next acquirer gets 0, not -EOWNERDEAD (the kernel
 *              keeps no owner to report), so IPCM_SYNC_CAP_OWNER_DEAD is not declared.
 *              The undo list is per process (glibc's threads share it, CLONE_SYSVSEM):
 *              a thread that exits holding the Lock keeps it held until its process exits.
 *   Semaphore  [0] the count, [1] the room left below the bound. acquire takes a unit of
 *              [0] and gives one to [1], release the reverse with IPC_NOWAIT on [1], in
 *              one semop each, which the kernel applies atomically: a release at the bound
 *              fails whole (-EOVERFLOW), so IPCM_SYNC_CAP_BOUNDED holds. No SEM_UNDO: a
 *              counting semaphore is released by another process than the one that
 *              acquired (a producer posts, a consumer takes), and undoing at exit would
 *              give back units that were handed on, or take back units that were posted.
 *              A unit held by a process that dies is lost, as with POSIX semaphores.
 *              The kernel's SEMVMX (32767) bounds the count.
 *   Event      one semaphore, 0 = set: a wait is a wait-for-zero op, and SETVAL 0 wakes
 *              every waiter at once.
 *   Barrier    [0] a mutex (SEM_UNDO) over the state in shared memory, [1] and [2] the
 *              gates of even and odd rounds: a party waits for its round's gate to be 0.
 *              The last arrival closes the next round's gate, then opens its own; a party
 *              that has not reached its semop yet finds the gate still open, as it stays
 *              so until the next round ends. A party that dies before arriving is not
 *              seen (no IPCM_SYNC_CAP_PARTY_DEAD): the others time out, and break it.
 *
 * Lifetime (RULINGS 11): a set has no attach count. Its id goes into the runner's
 * System V journal (base.h) before anything can fail, so the runner removes it after a
 * case and its guard after a SIGKILL of the tree. ipcm_sync_destroy removes it
 * (IPC_RMID) in the process that created it only: destroy it there after the others are
 * done (they get -EIDRM after); a destroy in any other process releases only its copy.
 *
 * Waits: semtimedop against the one deadline, restarted after EINTR with the time left.
 */
#include "sync_internal.h"

#include <errno.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#define SV_SEMVMX 32767u     /* the kernel's largest semaphore value */
#define SV_MUTEX_MIN_MS 1000 /* the Barrier's mutex is held for a few instructions */
#define SV_MUTEX_ABORT_MS 10000

/* semctl(2)'s fourth argument, which the caller must define. */
union sv_semun {
    int val;
    unsigned short *array;
};

struct sv_shared {
    int id;      /* the set */
    pid_t owner; /* the process whose destroy removes it */
    /* Barrier, under the mutex: */
    unsigned count;   /* parties arrived in the current round */
    uint32_t gen;     /* the current round */
    bool broken;      /* until reset */
    uint64_t ok_bits; /* bit r % 64: round r ended with every party through */
};

static struct sv_shared *sv_sh(const struct ipcm_sync_end *e)
{
    return e->s->sh;
}

static int sv_setval(int id, int sem, int val)
{
    return semctl(id, sem, SETVAL, (union sv_semun){.val = val}) < 0 ? -errno : 0;
}

/*
 * One semtimedop of n ops against d: IPC_NOWAIT for try-once (and once the time is up),
 * else the time left, recomputed after each EINTR so a signal never restarts it.
 */
static int sv_semop(int id, struct sembuf *ops, size_t n, const struct ipcm_deadline *d)
{
    for (;;) {
        struct timespec ts, *tp = NULL;
        bool nowait = d->timeout_ms == 0;
        if (d->timeout_ms > 0) {
            uint64_t now = ipcm_now_ns(), left = d->at_ns > now ? d->at_ns - now : 0;
            nowait = left == 0;
            ts = (struct timespec){(time_t)(left / IPCM_NS_PER_S), (long)(left % IPCM_NS_PER_S)};
            tp = &ts;
        }
        for (size_t i = 0; i < n; i++)
            ops[i].sem_flg =
                (short)(nowait ? ops[i].sem_flg | IPC_NOWAIT : ops[i].sem_flg & ~IPC_NOWAIT);
        if (semtimedop(id, ops, n, nowait ? NULL : tp) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? ipcm_deadline_err(d) : -errno;
    }
}

static int sv_create(struct ipcm_sync *s)
{
    struct sv_shared *sh = s->sh;
    unsigned short v[3] = {0, 0, 0};
    int n = 1;
    switch (s->kind) {
    case IPCM_SYNC_LOCK: v[0] = 1; break;
    case IPCM_SYNC_EVENT: v[0] = s->value ? 0 : 1; break;
    case IPCM_SYNC_SEMAPHORE:
        if (s->value > SV_SEMVMX)
            return ipcm_reason_set(-EINVAL, "sysv: a Semaphore of %u exceeds SEMVMX (%u)", s->value,
                                   SV_SEMVMX);
        v[0] = (unsigned short)s->value;
        n = 2;
        break;
    case IPCM_SYNC_BARRIER:
        v[0] = v[1] = v[2] = 1;
        n = 3;
        break;
    case IPCM_SYNC_RLOCK:
    case IPCM_SYNC_CONDITION: return -EINVAL; /* sync_generic.c's: never handed down */
    }
    int id = semget(IPC_PRIVATE, n, IPC_CREAT | 0600);
    if (id < 0)
        return errno == ENOSPC
                   ? ipcm_reason_set(-ENOSPC, "sysv: semget: kernel.sem's set or semaphore "
                                              "limit is used up on this host (ipcs -s)")
                   : -errno;
    int r = ipcm_sysv_record(IPCM_SYSV_SEM, id);
    if (r == 0 && semctl(id, 0, SETALL, (union sv_semun){.array = v}) < 0)
        r = -errno;
    if (r < 0) {
        ipcm_sysv_remove(IPCM_SYSV_SEM, id);
        return r;
    }
    sh->id = id;
    sh->owner = getpid();
    return 0;
}

static void sv_destroy(struct ipcm_sync *s)
{
    struct sv_shared *sh = s->sh;
    if (sh->owner == getpid())
        ipcm_sysv_remove(IPCM_SYSV_SEM, sh->id);
}

/* ---------------------------------------------------------------- Lock */

static int sv_lock_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct sembuf op = {0, -1, SEM_UNDO};
    return sv_semop(sv_sh(e)->id, &op, 1, d);
}

static int sv_lock_release(struct ipcm_sync_end *e)
{
    struct sembuf op = {0, 1, SEM_UNDO};
    return semop(sv_sh(e)->id, &op, 1) < 0 ? -errno : 0;
}

/* ---------------------------------------------------------------- Semaphore */

static int sv_sem_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct sembuf ops[2] = {{0, -1, 0}, {1, 1, 0}};
    return sv_semop(sv_sh(e)->id, ops, 2, d);
}

static int sv_sem_release(struct ipcm_sync_end *e)
{
    struct sembuf ops[2] = {{1, -1, IPC_NOWAIT}, {0, 1, 0}};
    for (;;) {
        if (semop(sv_sh(e)->id, ops, 2) == 0)
            return 0;
        if (errno != EINTR)
            return errno == EAGAIN ? -EOVERFLOW : -errno;
    }
}

static int sv_sem_value(struct ipcm_sync_end *e)
{
    int v = semctl(sv_sh(e)->id, 0, GETVAL);
    return v < 0 ? -errno : v;
}

/* ---------------------------------------------------------------- Event */

static int sv_event_set(struct ipcm_sync_end *e, bool set)
{
    return sv_setval(sv_sh(e)->id, 0, set ? 0 : 1);
}

static int sv_event_is_set(struct ipcm_sync_end *e)
{
    int v = semctl(sv_sh(e)->id, 0, GETVAL);
    return v < 0 ? -errno : v == 0;
}

static int sv_event_wait(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct sembuf op = {0, 0, 0};
    return sv_semop(sv_sh(e)->id, &op, 1, d);
}

/* ---------------------------------------------------------------- Barrier */

#define SV_GATE(gen) (1 + (int)((gen) % 2))
#define SV_BIT(gen) (UINT64_C(1) << ((gen) % 64))

/* The mutex, with at least SV_MUTEX_MIN_MS even when d is nearly up: a party that timed
 * out must still get in to break the barrier. */
static int sv_mutex_lock(int id, const struct ipcm_deadline *d)
{
    struct ipcm_deadline md;
    int left = ipcm_deadline_left_ms(d);
    ipcm_deadline_init(&md, left < 0 ? -1 : left > SV_MUTEX_MIN_MS ? left : SV_MUTEX_MIN_MS);
    struct sembuf op = {0, -1, SEM_UNDO};
    return sv_semop(id, &op, 1, &md);
}

static void sv_mutex_unlock(int id)
{
    struct sembuf op = {0, 1, SEM_UNDO};
    while (semop(id, &op, 1) < 0 && errno == EINTR)
        ;
}

/* End the current round (under the mutex): close the next round's gate, then open this
 * one's, so every party of this round passes, however late it reaches its semop. */
static void sv_next_round(struct sv_shared *sh, bool ok)
{
    uint32_t g = sh->gen;
    sh->ok_bits = (ok ? sh->ok_bits | SV_BIT(g) : sh->ok_bits & ~SV_BIT(g)) & ~SV_BIT(g + 1);
    sv_setval(sh->id, SV_GATE(g + 1), 1);
    sh->gen = g + 1;
    sh->count = 0;
    sv_setval(sh->id, SV_GATE(g), 0);
}

static int sv_barrier_wait(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    struct sv_shared *sh = sv_sh(e);
    unsigned parties = e->s->value;
    int r = sv_mutex_lock(sh->id, d);
    if (r < 0)
        return r;
    if (sh->broken) {
        sv_mutex_unlock(sh->id);
        return -EPIPE;
    }
    uint32_t g = sh->gen;
    int idx = (int)sh->count++;
    if (sh->count == parties) {
        sv_next_round(sh, true);
        sv_mutex_unlock(sh->id);
        return idx;
    }
    sv_mutex_unlock(sh->id);
    for (;;) {
        struct sembuf op = {(unsigned short)SV_GATE(g), 0, 0};
        int w = sv_semop(sh->id, &op, 1, d);
        if ((r = sv_mutex_lock(sh->id, d)) < 0)
            return r;
        if (sh->gen != g) {
            r = sh->ok_bits & SV_BIT(g) ? idx : -EPIPE;
        } else if (sh->broken) {
            r = -EPIPE;
        } else if (w < 0) { /* out of time (or the set is gone): break it for the others */
            sh->broken = true;
            sv_setval(sh->id, SV_GATE(g), 0);
            r = w;
        } else {
            sv_mutex_unlock(sh->id); /* the gate of a reset round closed again: wait on */
            continue;
        }
        sv_mutex_unlock(sh->id);
        return r;
    }
}

static int sv_barrier_abort(struct ipcm_sync_end *e, bool reset)
{
    struct sv_shared *sh = sv_sh(e);
    struct ipcm_deadline d;
    ipcm_deadline_init(&d, SV_MUTEX_ABORT_MS); /* only a stopped holder could make it wait */
    int r = sv_mutex_lock(sh->id, &d);
    if (r < 0)
        return r;
    if (reset) {
        sv_next_round(sh, false); /* the parties waiting get -EPIPE */
        sh->broken = false;
    } else {
        sh->broken = true;
        r = sv_setval(sh->id, SV_GATE(sh->gen), 0);
    }
    sv_mutex_unlock(sh->id);
    return r;
}

const struct ipcm_sync_impl ipcm_sync_impl_sysv = {
    .name = "sysv",
    .summary = "System V semaphore sets (semtimedop; the Lock with SEM_UNDO: released "
               "when a holder dies, without EOWNERDEAD)",
    .caps = IPCM_SYNC_CAP_LOCK | IPCM_SYNC_CAP_EVENT | IPCM_SYNC_CAP_BARRIER |
            IPCM_SYNC_CAP_SEMAPHORE | IPCM_SYNC_CAP_BOUNDED,
    .shared_size = sizeof(struct sv_shared),
    .create = sv_create,
    .destroy = sv_destroy,
    .lock_acquire = sv_lock_acquire,
    .lock_release = sv_lock_release,
    .event_set = sv_event_set,
    .event_is_set = sv_event_is_set,
    .event_wait = sv_event_wait,
    .barrier_wait = sv_barrier_wait,
    .barrier_abort = sv_barrier_abort,
    .sem_acquire = sv_sem_acquire,
    .sem_release = sv_sem_release,
    .sem_value = sv_sem_value,
};
