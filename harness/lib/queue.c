/* SPDX-License-Identifier: MIT */
/*
 * queue.c - Queue and JoinableQueue over a queue link of any backend: shutdown
 * (graceful, immediate), qsize, task_done / join with consumers that die.
 */
#include "base.h"
#include "ipcmark.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { Q_OPEN, Q_GRACEFUL, Q_IMMEDIATE };

/*
 * A getter's slot: `alive` is a robust mutex the getter holds from attach to destroy, so
 * a joiner's trylock tells "still there" (EBUSY) from "closed" (0) and "died"
 * (EOWNERDEAD, set by the kernel at the owner's exit, zombie or not, immune to pid
 * reuse). `pending`: messages it got and has not marked done.
 */
struct q_slot {
    pthread_mutex_t alive;
    atomic_llong pending;
};

/* The state every process of the queue shares (one anonymous shared mapping). */
struct q_ctl {
    atomic_int state;   /* Q_* */
    atomic_int putting; /* puts inside the backend right now */
    atomic_llong sent, received, discarded;
    atomic_llong unfinished; /* joinable: put and not yet marked done or lost */
    atomic_llong lost;
    atomic_uint done_seq; /* futex word: bumped when unfinished may have reached 0 */
    atomic_int nslots;
    struct q_slot slots[IPCM_QUEUE_MAX_GETTERS];
};

/* One process's copy (fork copies it): the link, this process's end and slot. */
struct ipcm_queue {
    struct ipcm_link *link;
    struct ipcm_chan *chan;
    struct q_ctl *ctl;
    unsigned flags;
    int slot; /* -1: none */
};

static void futex_wait(atomic_uint *w, unsigned val, int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    syscall(SYS_futex, w, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake_all(atomic_uint *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void done_bump(struct q_ctl *ctl)
{
    atomic_fetch_add(&ctl->done_seq, 1);
    futex_wake_all(&ctl->done_seq);
}

static int slots_init(struct q_ctl *ctl)
{
    pthread_mutexattr_t a;
    int err = pthread_mutexattr_init(&a);
    if (!err)
        err = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (!err)
        err = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    for (unsigned i = 0; !err && i < IPCM_QUEUE_MAX_GETTERS; i++)
        err = pthread_mutex_init(&ctl->slots[i].alive, &a);
    pthread_mutexattr_destroy(&a);
    return -err;
}

int ipcm_queue_create(const struct ipcm_backend *be, const struct ipcm_config *cfg, unsigned flags,
                      struct ipcm_queue **out)
{
    struct ipcm_queue *q;
    int err;

    *out = NULL;
    if (!be || (flags & ~IPCM_QUEUE_JOINABLE))
        return -EINVAL;
    if (!(q = calloc(1, sizeof(*q))))
        return -ENOMEM;
    q->flags = flags;
    q->slot = -1;
    if (!(q->ctl = ipcm_shared_alloc(sizeof(*q->ctl)))) {
        err = -errno;
        free(q);
        return err;
    }
    if ((err = slots_init(q->ctl)) < 0 ||
        (err = ipcm_link_create(be, IPCM_SHAPE_QUEUE, cfg, &q->link)) < 0) {
        ipcm_shared_free(q->ctl, sizeof(*q->ctl));
        free(q);
        return err;
    }
    *out = q;
    return 0;
}

int ipcm_queue_attach(struct ipcm_queue *q, enum ipcm_role role)
{
    int err, i = -1;

    if (!q)
        return -EBADF;
    if (role != IPCM_ROLE_SEND && role != IPCM_ROLE_RECV && role != IPCM_ROLE_BOTH)
        return -EINVAL;
    if (q->chan)
        return -EBADF;
    if (role != IPCM_ROLE_SEND) {
        i = atomic_fetch_add(&q->ctl->nslots, 1);
        if (i >= IPCM_QUEUE_MAX_GETTERS) {
            atomic_fetch_sub(&q->ctl->nslots, 1);
            return -ENOSPC;
        }
        /* A fresh slot, never locked: cannot block. */
        pthread_mutex_lock(&q->ctl->slots[i].alive);
    }
    if ((err = ipcm_chan_open(q->link, role, &q->chan)) < 0) {
        if (i >= 0) /* the slot stays claimed, unlocked and empty: join skips it */
            pthread_mutex_unlock(&q->ctl->slots[i].alive);
        return err;
    }
    q->slot = i;
    return 0;
}

/* The next slice of a wait bounded by d. */
static int slice_ms(const struct ipcm_deadline *d)
{
    int left = ipcm_deadline_left_ms(d);
    return left < 0 || left > IPCM_QUEUE_SLICE_MS ? IPCM_QUEUE_SLICE_MS : left;
}

static bool slice_again(ssize_t r, const struct ipcm_deadline *d)
{
    return (r == -EAGAIN || r == -ETIMEDOUT) && d->timeout_ms != 0 && !ipcm_deadline_expired(d);
}

static void unfinished_sub(struct q_ctl *ctl, long long n)
{
    if (n > 0 && atomic_fetch_sub(&ctl->unfinished, n) == n)
        done_bump(ctl);
}

ssize_t ipcm_queue_put(struct ipcm_queue *q, const void *buf, size_t len, int timeout_ms)
{
    struct ipcm_deadline d;
    ssize_t r;

    if (!q || !q->chan)
        return -EBADF;
    struct q_ctl *ctl = q->ctl;
    ipcm_deadline_init(&d, timeout_ms);
    /* Counted before the message can be got, so join never sees it done early. */
    if (q->flags & IPCM_QUEUE_JOINABLE)
        atomic_fetch_add(&ctl->unfinished, 1);
    do {
        /* putting++ then state; shutdown stores state then getters read putting: with
         * seq_cst one side sees the other, so a graceful getter that read putting == 0
         * after the shutdown knows no put can still land. */
        atomic_fetch_add(&ctl->putting, 1);
        if (atomic_load(&ctl->state) != Q_OPEN) {
            atomic_fetch_sub(&ctl->putting, 1);
            r = -EPIPE;
            break;
        }
        r = ipcm_chan_send(q->chan, buf, len, slice_ms(&d));
        if (r >= 0)
            atomic_fetch_add(&ctl->sent, 1);
        atomic_fetch_sub(&ctl->putting, 1);
    } while (slice_again(r, &d));
    if (r == -EAGAIN || r == -ETIMEDOUT)
        r = ipcm_deadline_err(&d);
    if (r < 0 && (q->flags & IPCM_QUEUE_JOINABLE))
        unfinished_sub(ctl, 1);
    return r;
}

ssize_t ipcm_queue_get(struct ipcm_queue *q, void *buf, size_t cap, int timeout_ms)
{
    struct ipcm_deadline d;
    ssize_t r;

    if (!q || !q->chan)
        return -EBADF;
    struct q_ctl *ctl = q->ctl;
    ipcm_deadline_init(&d, timeout_ms);
    do {
        int st = atomic_load(&ctl->state);
        if (st == Q_IMMEDIATE)
            return -EPIPE;
        int putting = atomic_load(&ctl->putting);
        /* After a graceful shutdown, an empty try with no put in flight is the end. */
        r = ipcm_chan_recv(q->chan, buf, cap, st == Q_GRACEFUL ? 0 : slice_ms(&d));
        if (r >= 0) {
            atomic_fetch_add(&ctl->received, 1);
            if (q->slot >= 0 && (q->flags & IPCM_QUEUE_JOINABLE))
                atomic_fetch_add(&ctl->slots[q->slot].pending, 1);
            return r;
        }
        if (st == Q_GRACEFUL && r == -EAGAIN && putting == 0)
            return -EPIPE;
        if (st == Q_GRACEFUL && r == -EAGAIN && d.timeout_ms != 0)
            ipcm_sleep_ms(1); /* a put in flight: let it land */
    } while (slice_again(r, &d));
    if (r == -EAGAIN || r == -ETIMEDOUT)
        r = ipcm_deadline_err(&d);
    return r;
}

int ipcm_queue_shutdown(struct ipcm_queue *q, bool immediate)
{
    if (!q)
        return -EBADF;
    struct q_ctl *ctl = q->ctl;
    int want = immediate ? Q_IMMEDIATE : Q_GRACEFUL, st = atomic_load(&ctl->state);
    while (st < want && !atomic_compare_exchange_weak(&ctl->state, &st, want))
        ;
    if (immediate && st != Q_IMMEDIATE) {
        /* Only the call that made it immediate counts what it threw away. */
        long long left = atomic_load(&ctl->sent) - atomic_load(&ctl->received);
        if (left < 0)
            left = 0;
        atomic_store(&ctl->discarded, left);
        if (q->flags & IPCM_QUEUE_JOINABLE)
            unfinished_sub(ctl, left);
    }
    done_bump(ctl);
    return 0;
}

int ipcm_queue_is_shutdown(const struct ipcm_queue *q)
{
    return q ? atomic_load(&q->ctl->state) : -EBADF;
}

ssize_t ipcm_queue_qsize(const struct ipcm_queue *q)
{
    if (!q)
        return -EBADF;
    if (atomic_load(&q->ctl->state) == Q_IMMEDIATE)
        return 0;
    long long n = atomic_load(&q->ctl->sent) - atomic_load(&q->ctl->received);
    return n < 0 ? 0 : (ssize_t)n;
}

long long ipcm_queue_discarded(const struct ipcm_queue *q)
{
    return q ? atomic_load(&q->ctl->discarded) : -EBADF;
}

long long ipcm_queue_lost(const struct ipcm_queue *q)
{
    return q ? atomic_load(&q->ctl->lost) : -EBADF;
}

int ipcm_queue_task_done(struct ipcm_queue *q)
{
    if (!q)
        return -EBADF;
    struct q_ctl *ctl = q->ctl;
    if (!(q->flags & IPCM_QUEUE_JOINABLE))
        return -EINVAL;
    long long n = atomic_load(&ctl->unfinished);
    do {
        if (n <= 0)
            return -EINVAL;
    } while (!atomic_compare_exchange_weak(&ctl->unfinished, &n, n - 1));
    if (q->slot >= 0) {
        long long p = atomic_load(&ctl->slots[q->slot].pending);
        while (p > 0 && !atomic_compare_exchange_weak(&ctl->slots[q->slot].pending, &p, p - 1))
            ;
    }
    if (n == 1)
        done_bump(ctl);
    return 0;
}

/* Count as lost what getters that died or detached still held undone. */
static void reap_lost(struct q_ctl *ctl)
{
    int n = atomic_load(&ctl->nslots);
    for (int i = 0; i < n && i < IPCM_QUEUE_MAX_GETTERS; i++) {
        struct q_slot *s = &ctl->slots[i];
        if (atomic_load(&s->pending) <= 0)
            continue;
        int r = pthread_mutex_trylock(&s->alive);
        if (r == EBUSY)
            continue; /* its getter is alive and may still mark them done */
        if (r == EOWNERDEAD)
            pthread_mutex_consistent(&s->alive);
        if (r == 0 || r == EOWNERDEAD) {
            long long held = atomic_exchange(&s->pending, 0);
            atomic_fetch_add(&ctl->lost, held);
            unfinished_sub(ctl, held);
            pthread_mutex_unlock(&s->alive);
        }
    }
}

int ipcm_queue_join(struct ipcm_queue *q, int timeout_ms)
{
    struct ipcm_deadline d;

    if (!q)
        return -EBADF;
    if (!(q->flags & IPCM_QUEUE_JOINABLE))
        return -EINVAL;
    struct q_ctl *ctl = q->ctl;
    ipcm_deadline_init(&d, timeout_ms);
    for (;;) {
        unsigned seq = atomic_load(&ctl->done_seq);
        reap_lost(ctl);
        if (atomic_load(&ctl->unfinished) <= 0)
            return atomic_load(&ctl->lost) > 0 ? -EOWNERDEAD : 0;
        if (d.timeout_ms == 0 || ipcm_deadline_expired(&d))
            return ipcm_deadline_err(&d);
        futex_wait(&ctl->done_seq, seq, slice_ms(&d));
    }
}

void ipcm_queue_destroy(struct ipcm_queue *q)
{
    if (!q)
        return;
    if (q->chan)
        ipcm_chan_close(q->chan);
    if (q->slot >= 0)
        pthread_mutex_unlock(&q->ctl->slots[q->slot].alive);
    ipcm_link_destroy(q->link);
    ipcm_shared_free(q->ctl, sizeof(*q->ctl));
    free(q);
}
