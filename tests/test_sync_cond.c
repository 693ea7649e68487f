/* SPDX-License-Identifier: MIT */
/*
 * test_sync_cond.c - RLock and Condition (ipcmark.h, harness/lib/sync_generic.c) on every
 * implementation that provides a Lock: re-entry, the owner's identity between threads
 * and processes, a holder that dies, notify/notify_all, timeouts, a waiter that dies and
 * a lock that cannot be re-taken. Every wait is bounded.
 */
#include "testutil.h"

#include "base.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_MS 10000 /* a wait that must not time out */

static bool has(const struct ipcm_sync_impl *im, uint32_t cap)
{
    return (ipcm_sync_impl_caps(im) & cap) != 0;
}

/* A primitive and one end; NULL when the implementation has no Lock. */
static struct ipcm_sync *make(const struct ipcm_sync_impl *im, enum ipcm_sync_kind k,
                              struct ipcm_sync_end **e)
{
    struct ipcm_sync *s = NULL;
    int r = ipcm_sync_create(im, k, 0, &s);
    if (r == -ENOTSUP) {
        ck_assert(!has(im, IPCM_SYNC_CAP_LOCK));
        return NULL;
    }
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(ipcm_sync_kind(s), k);
    ck_assert_int_eq(ipcm_sync_open(s, e), 0);
    return s;
}

/* ---------------------------------------------------------------- RLock */

/* In another process: the RLock is held (its own end cannot take it). */
static int child_sees_held(struct ipcm_sync *s)
{
    struct ipcm_sync_end *b;
    if (ipcm_sync_open(s, &b))
        return 1;
    int r = ipcm_lock_acquire(b, 0);
    ipcm_sync_close(b);
    return r == -EAGAIN ? 0 : 2;
}

/* In another process: it takes the RLock, re-enters, gives it back. */
static int child_takes(struct ipcm_sync *s)
{
    struct ipcm_sync_end *b;
    if (ipcm_sync_open(s, &b))
        return 1;
    if (ipcm_lock_acquire(b, T_MS) || ipcm_lock_acquire(b, 0) || ipcm_lock_depth(b) != 2)
        return 2;
    if (ipcm_lock_release(b) || ipcm_lock_release(b) || ipcm_lock_release(b) != -EPERM)
        return 3;
    ipcm_sync_close(b);
    return 0;
}

/* A forked copy of the holder's end is not the owner. */
static int child_copy_not_owner(struct ipcm_sync_end *copy)
{
    if (ipcm_lock_release(copy) != -EPERM || ipcm_lock_acquire(copy, 0) != -EPERM)
        return 1;
    return ipcm_lock_depth(copy) == 0 ? 0 : 2;
}

struct other_thread {
    struct ipcm_sync_end *held_end; /* the main thread's end */
    struct ipcm_sync *s;
    int release_via_held, release_own, acquire_own;
};

static void *other_thread_main(void *arg)
{
    struct other_thread *o = arg;
    struct ipcm_sync_end *mine;
    o->release_via_held = ipcm_lock_release(o->held_end); /* not its owner */
    if (ipcm_sync_open(o->s, &mine) == 0) {
        o->release_own = ipcm_lock_release(mine);
        o->acquire_own = ipcm_lock_acquire(mine, 0);
        ipcm_sync_close(mine);
    }
    return NULL;
}

START_TEST(rlock_reentry_and_owner)
{
    const struct ipcm_sync_impl *im = ipcm_test_sync_impl(_i);
    struct ipcm_sync_end *a;
    struct ipcm_sync *s = make(im, IPCM_SYNC_RLOCK, &a);
    if (!s)
        return;
    ck_assert_int_eq(ipcm_lock_depth(a), 0);
    ck_assert_int_eq(ipcm_lock_release(a), -EPERM);
    for (int i = 1; i <= 3; i++) {
        ck_assert_int_eq(ipcm_lock_acquire(a, 0), 0);
        ck_assert_int_eq(ipcm_lock_depth(a), i);
    }
    ck_assert_int_eq(ipcm_test_wait_exit(ipcm_test_fork_sync(child_sees_held, s)), 0);
    /* Another thread: neither through our end nor through its own. */
    struct other_thread o = {.held_end = a, .s = s};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread_main, &o), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(o.release_via_held, -EPERM);
    ck_assert_int_eq(o.release_own, -EPERM);
    ck_assert_int_eq(o.acquire_own, -EAGAIN);
    ck_assert_int_eq(ipcm_lock_depth(a), 3);
    /* A forked copy of this end. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_copy_not_owner(a));
    ck_assert_int_eq(ipcm_test_wait_exit(pid), 0);
    ck_assert_int_eq(ipcm_lock_release(a), 0);
    ck_assert_int_eq(ipcm_lock_release(a), 0);
    ck_assert_int_eq(ipcm_test_wait_exit(ipcm_test_fork_sync(child_sees_held, s)),
                     0); /* depth 1: still held */
    ck_assert_int_eq(ipcm_lock_release(a), 0);
    ck_assert_int_eq(ipcm_lock_release(a), -EPERM);
    ck_assert_int_eq(ipcm_test_wait_exit(ipcm_test_fork_sync(child_takes, s)), 0);
    /* Closing the owner's end releases every level. */
    struct ipcm_sync_end *b;
    ck_assert_int_eq(ipcm_sync_open(s, &b), 0);
    ck_assert_int_eq(ipcm_lock_acquire(b, 0), 0);
    ck_assert_int_eq(ipcm_lock_acquire(b, 0), 0);
    ipcm_sync_close(b);
    ck_assert_int_eq(ipcm_lock_acquire(a, 0), 0);
    ck_assert_int_eq(ipcm_lock_release(a), 0);
    ck_assert_int_eq(ipcm_event_set(a), -EINVAL);
    ipcm_sync_close(a);
    ipcm_sync_destroy(s);
}
END_TEST

static int die_holding_twice(struct ipcm_sync *s)
{
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e) || ipcm_lock_acquire(e, 1000) || ipcm_lock_acquire(e, 0))
        return 1;
    raise(SIGKILL);
    return 2;
}

START_TEST(rlock_holder_death_is_reported)
{
    const struct ipcm_sync_impl *im = ipcm_test_sync_impl(_i);
    struct ipcm_sync_end *a;
    struct ipcm_sync *s = make(im, IPCM_SYNC_RLOCK, &a);
    if (!s)
        return;
    ck_assert_int_eq(ipcm_test_wait_exit(ipcm_test_fork_sync(die_holding_twice, s)), 128 + SIGKILL);
    bool decl = has(im, IPCM_SYNC_CAP_OWNER_DEAD);
    int r = ipcm_lock_acquire(a, decl ? 5000 : 200);
    if (decl) {
        ck_assert_int_eq(r, -EOWNERDEAD);
        ck_assert_int_eq(ipcm_lock_depth(a), 1); /* the dead one's depth is gone */
        ck_assert_int_eq(ipcm_lock_release(a), 0);
        ck_assert_int_eq(ipcm_lock_acquire(a, 0), 0);
        ck_assert_int_eq(ipcm_lock_release(a), 0);
    } else {
        /* Not declared: never given (posix: the unit is lost), or given back silently by
         * the kernel (sysv SEM_UNDO, ofd, flock), never -EOWNERDEAD. */
        ck_assert_msg(r == -ETIMEDOUT || r == 0, "undeclared owner death gave %d", r);
        if (r == 0) {
            ck_assert_int_eq(ipcm_lock_depth(a), 1);
            ck_assert_int_eq(ipcm_lock_release(a), 0);
        }
    }
    ipcm_sync_close(a);
    ipcm_sync_destroy(s);
}
END_TEST

START_TEST(rlock_excludes_threads)
{
    struct ipcm_sync *s;
    int r = ipcm_sync_create(ipcm_test_sync_impl(_i), IPCM_SYNC_RLOCK, 0, &s);
    if (r == -ENOTSUP)
        return;
    ck_assert_int_eq(r, 0);
    ipcm_test_lock_excludes_threads(s, 5000, 2); /* each take is a re-entry */
    ipcm_sync_destroy(s);
}
END_TEST

/* ---------------------------------------------------------------- Condition */

START_TEST(cond_contract_and_timeout)
{
    const struct ipcm_sync_impl *im = ipcm_test_sync_impl(_i);
    struct ipcm_sync_end *l, *c, *rl;
    struct ipcm_sync *ls = make(im, IPCM_SYNC_LOCK, &l);
    if (!ls)
        return;
    struct ipcm_sync *cs = make(im, IPCM_SYNC_CONDITION, &c);
    struct ipcm_sync *rs = make(im, IPCM_SYNC_RLOCK, &rl);
    ck_assert_int_eq(ipcm_cond_wait(c, l, 50), -EPERM); /* not held */
    ck_assert_int_eq(ipcm_cond_wait(l, l, 50), -EINVAL);
    ck_assert_int_eq(ipcm_cond_wait(c, c, 50), -EINVAL);
    ck_assert_int_eq(ipcm_cond_notify(l, 1), -EINVAL);
    ck_assert_int_eq(ipcm_lock_acquire(c, 0), -EINVAL);
    ck_assert_int_eq(ipcm_cond_notify(c, 1), 0); /* nobody waits */
    ck_assert_int_eq(ipcm_cond_notify_all(c), 0);
    ck_assert_int_eq(ipcm_lock_acquire(l, 0), 0);
    ck_assert_int_eq(ipcm_cond_wait(c, l, 0), -EAGAIN);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_cond_wait(c, l, 100), -ETIMEDOUT);
    uint64_t el = ipcm_ns_since(t0) / IPCM_NS_PER_MS;
    ck_assert_uint_ge(el, 99);
    ck_assert_uint_lt(el, 5000);
    ck_assert_int_eq(ipcm_lock_depth(l), 1); /* held again */
    ck_assert_int_eq(ipcm_lock_release(l), 0);
    /* An RLock at depth 3 comes back at depth 3. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ipcm_lock_acquire(rl, 0), 0);
    ck_assert_int_eq(ipcm_cond_wait(c, rl, 30), -ETIMEDOUT);
    ck_assert_int_eq(ipcm_lock_depth(rl), 3);
    ipcm_sync_close(rl); /* releases all three */
    ipcm_sync_close(c);
    ipcm_sync_close(l);
    ipcm_sync_destroy(rs);
    ipcm_sync_destroy(cs);
    ipcm_sync_destroy(ls);
}
END_TEST

/* Tickets: each notify hands out tickets under the lock; a waiter takes one. */
struct tickets {
    struct ipcm_sync *l, *c;
    int tickets;    /* under the lock */
    atomic_int got; /* waiters that took one */
    atomic_int waiting;
    int err;
};

static bool have_ticket(void *arg)
{
    return ((struct tickets *)arg)->tickets > 0;
}

static void *ticket_thread(void *arg)
{
    struct tickets *t = arg;
    struct ipcm_sync_end *l, *c;
    if (ipcm_sync_open(t->l, &l) || ipcm_sync_open(t->c, &c))
        return (void *)1;
    int r = ipcm_lock_acquire(l, T_MS);
    if (r == 0) {
        atomic_fetch_add(&t->waiting, 1);
        r = ipcm_cond_wait_for(c, l, have_ticket, t, T_MS);
        if (r == 1) {
            t->tickets--;
            atomic_fetch_add(&t->got, 1);
        } else {
            t->err = r == 0 ? -ETIMEDOUT : r;
        }
        ipcm_lock_release(l);
    }
    ipcm_sync_close(c);
    ipcm_sync_close(l);
    return NULL;
}

static void give(struct tickets *t, struct ipcm_sync_end *l, struct ipcm_sync_end *c, int n,
                 bool all)
{
    ck_assert_int_eq(ipcm_lock_acquire(l, T_MS), 0);
    t->tickets += n;
    ck_assert_int_eq(all ? ipcm_cond_notify_all(c) : ipcm_cond_notify(c, (unsigned)n), 0);
    ck_assert_int_eq(ipcm_lock_release(l), 0);
}

static void until_got(struct tickets *t, int n)
{
    uint64_t t0 = ipcm_now_ns();
    while (atomic_load(&t->got) < n && ipcm_ns_since(t0) < T_MS * IPCM_NS_PER_MS)
        ipcm_sleep_ms(1);
    ck_assert_int_eq(atomic_load(&t->got), n);
}

START_TEST(cond_notify_one_then_all_threads)
{
    const struct ipcm_sync_impl *im = ipcm_test_sync_impl(_i);
    struct tickets t = {0};
    struct ipcm_sync_end *l, *c;
    if (!(t.l = make(im, IPCM_SYNC_RLOCK, &l)))
        return;
    t.c = make(im, IPCM_SYNC_CONDITION, &c);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, ticket_thread, &t), 0);
    while (atomic_load(&t.waiting) < 4)
        ipcm_sleep_ms(1);
    ipcm_sleep_ms(20); /* most are asleep by now */
    give(&t, l, c, 1, false);
    until_got(&t, 1);
    ipcm_sleep_ms(20);
    ck_assert_int_eq(atomic_load(&t.got), 1); /* one ticket, one waiter through */
    give(&t, l, c, 3, true);
    until_got(&t, 4);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(t.err, 0);
    ipcm_sync_close(c);
    ipcm_sync_close(l);
    ipcm_sync_destroy(t.c);
    ipcm_sync_destroy(t.l);
}
END_TEST

/* Between processes: shared ticket state in a shared mapping. */
static struct tickets *shared_tickets;

static int ticket_child(struct ipcm_sync *unused)
{
    (void)unused;
    ticket_thread(shared_tickets);
    return shared_tickets->err ? 1 : 0;
}

START_TEST(cond_waiter_killed_processes)
{
    const struct ipcm_sync_impl *im = ipcm_test_sync_impl(_i);
    struct ipcm_sync_end *l, *c;
    struct tickets *t = shared_tickets = ipcm_shared_alloc(sizeof(*t));
    ck_assert_ptr_nonnull(t);
    if (!(t->l = make(im, IPCM_SYNC_LOCK, &l))) {
        ipcm_shared_free(t, sizeof(*t));
        return;
    }
    t->c = make(im, IPCM_SYNC_CONDITION, &c);
    pid_t kid[4];
    for (int i = 0; i < 4; i++)
        kid[i] = ipcm_test_fork_sync(ticket_child, NULL);
    uint64_t t0 = ipcm_now_ns();
    while (atomic_load(&t->waiting) < 4 && ipcm_ns_since(t0) < T_MS * IPCM_NS_PER_MS)
        ipcm_sleep_ms(1);
    ck_assert_int_eq(atomic_load(&t->waiting), 4);
    ipcm_sleep_ms(50); /* asleep in the wait, not holding the lock */
    kill(kid[0], SIGKILL);
    ck_assert_int_eq(ipcm_test_wait_exit(kid[0]), 128 + SIGKILL);
    give(t, l, c, 3, true);
    for (int i = 1; i < 4; i++)
        ck_assert_int_eq(ipcm_test_wait_exit(kid[i]), 0);
    ck_assert_int_eq(atomic_load(&t->got), 3);
    ck_assert_int_eq(ipcm_lock_acquire(l, 1000), 0); /* the lock is whole */
    ck_assert_int_eq(ipcm_lock_release(l), 0);
    ipcm_sync_close(c);
    ipcm_sync_close(l);
    ipcm_sync_destroy(t->c);
    ipcm_sync_destroy(t->l);
    ipcm_shared_free(t, sizeof(*t));
}
END_TEST

struct hog {
    struct ipcm_sync *l;
    atomic_int state; /* 1 holding, 2 let go */
};

static void *hog_thread(void *arg)
{
    struct hog *h = arg;
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(h->l, &e) || ipcm_lock_acquire(e, T_MS))
        return (void *)1;
    atomic_store(&h->state, 1);
    ipcm_sleep_ms(600); /* past the waiter's deadline and its grace */
    ipcm_lock_release(e);
    ipcm_sync_close(e);
    return NULL;
}

/* The lock cannot be re-taken in time: -ENOLCK, not held, and never a hang. */
START_TEST(cond_relock_refused_is_enolck)
{
    const struct ipcm_sync_impl *im = ipcm_test_sync_impl(_i);
    struct ipcm_sync_end *l, *c;
    struct hog h = {0};
    if (!(h.l = make(im, IPCM_SYNC_LOCK, &l)))
        return;
    struct ipcm_sync *cs = make(im, IPCM_SYNC_CONDITION, &c);
    ck_assert_int_eq(ipcm_lock_acquire(l, 0), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, hog_thread, &h), 0);
    uint64_t t0 = ipcm_now_ns();
    int r = ipcm_cond_wait(c, l, 50); /* the hog takes the lock as we let it go */
    uint64_t el = ipcm_ns_since(t0) / IPCM_NS_PER_MS;
    ck_assert_int_eq(r, -ENOLCK);
    ck_assert_int_eq(ipcm_lock_depth(l), 0);
    ck_assert_uint_lt(el, 500);
    pthread_join(t, NULL);
    ck_assert_int_eq(ipcm_lock_acquire(l, T_MS), 0);
    ck_assert_int_eq(ipcm_lock_release(l), 0);
    ipcm_sync_close(c);
    ipcm_sync_close(l);
    ipcm_sync_destroy(cs);
    ipcm_sync_destroy(h.l);
}
END_TEST

static Suite *cond_suite(void)
{
    Suite *s = suite_create("sync_cond");
    int n = (int)ipcm_sync_impl_count();
    TCase *tc = tcase_create("rlock_condition");
    tcase_add_loop_test(tc, rlock_reentry_and_owner, 0, n);
    tcase_add_loop_test(tc, rlock_holder_death_is_reported, 0, n);
    tcase_add_loop_test(tc, rlock_excludes_threads, 0, n);
    tcase_add_loop_test(tc, cond_contract_and_timeout, 0, n);
    tcase_add_loop_test(tc, cond_notify_one_then_all_threads, 0, n);
    tcase_add_loop_test(tc, cond_waiter_killed_processes, 0, n);
    tcase_add_loop_test(tc, cond_relock_refused_is_enolck, 0, n);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(cond_suite());
}
