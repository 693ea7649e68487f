/* SPDX-License-Identifier: MIT */
/*
 * test_sync_kernel.c - the synchronization implementations whose Lock the kernel gives
 * back when a holder dies: sysv (System V semaphores, SEM_UNDO), ofd (OFD locks) and
 * flock (flock(2)), both on a memfd. Exclusion between processes with a checked counter,
 * a SIGKILLed holder, timeouts under a signal storm; for sysv the counting Semaphore's
 * no-undo rule, the Event and Barrier across processes, and no semaphore set left after
 * destroy (the sets of /proc/sysvipc/sem, what `ipcs -s` lists, before and after).
 */
#include "testutil.h"

#include "base.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const names[] = {"sysv", "ofd", "flock"};
#define NNAMES ((int)(sizeof(names) / sizeof(names[0])))

static const struct ipcm_sync_impl *impl_of(int i)
{
    const struct ipcm_sync_impl *im = ipcm_sync_impl_find(names[i]);
    ck_assert_msg(im != NULL, "%s is not registered", names[i]);
    return im;
}

/* Shared between the test and its children. */
struct shared {
    atomic_int inside, max_in, held, go;
    long counter;
};

static struct shared *shared_new(void)
{
    struct shared *x = ipcm_shared_alloc(sizeof(*x));
    ck_assert_ptr_nonnull(x);
    memset(x, 0, sizeof(*x));
    return x;
}

static int wait_exit(pid_t pid)
{
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---------------------------------------------------------------- System V sets */

#define MAX_IDS 4096

/* The ids of every semaphore set of this host (what ipcs -s lists), sorted as read. */
static int sem_ids(int *ids)
{
    FILE *f = fopen("/proc/sysvipc/sem", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int n = 0, key, id;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%d %d", &key, &id) == 2 && n < MAX_IDS)
            ids[n++] = id;
    fclose(f);
    return n;
}

/*
 * Sets that exist now and did not in before[]: 0 once every set made since is gone.
 * Other programs of this host may make sets of their own meanwhile: a set counts only
 * if it is still there after up to 3 s (ours are removed at destroy, before this runs).
 */
static int sem_new_since(const int *before, int nb)
{
    static int now[MAX_IDS];
    int fresh = 0;
    for (int tries = 0; tries < 30; tries++) {
        int n = sem_ids(now);
        fresh = 0;
        for (int i = 0; i < n; i++) {
            bool old = false;
            for (int j = 0; j < nb && !old; j++)
                old = before[j] == now[i];
            fresh += !old;
        }
        if (fresh == 0)
            break;
        ipcm_sleep_ms(100);
    }
    return fresh;
}

/* ---------------------------------------------------------------- exclusion */

static void count_child(struct ipcm_sync *s, struct shared *x, int n)
{
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e))
        _exit(1);
    for (int i = 0; i < n; i++) {
        int r = ipcm_lock_acquire(e, 10000);
        if (r != 0)
            _exit(2);
        int in = atomic_fetch_add(&x->inside, 1) + 1;
        if (in > atomic_load(&x->max_in))
            atomic_store(&x->max_in, in);
        long v = x->counter;
        if (i % 64 == 0)
            sched_yield(); /* widen the window a broken Lock would leave open */
        x->counter = v + 1;
        atomic_fetch_sub(&x->inside, 1);
        if (ipcm_lock_release(e))
            _exit(3);
    }
    ipcm_sync_close(e);
    _exit(0);
}

START_TEST(lock_excludes_processes)
{
    struct ipcm_sync *s;
    struct shared *x = shared_new();
    enum { KIDS = 4, PER = 5000 };
    ck_assert_int_eq(ipcm_sync_create(impl_of(_i), IPCM_SYNC_LOCK, 0, &s), 0);
    pid_t kid[KIDS];
    for (int i = 0; i < KIDS; i++) {
        kid[i] = fork();
        ck_assert_int_ge(kid[i], 0);
        if (kid[i] == 0)
            count_child(s, x, PER);
    }
    for (int i = 0; i < KIDS; i++)
        ck_assert_int_eq(wait_exit(kid[i]), 0);
    ck_assert_int_eq(atomic_load(&x->max_in), 1);
    ck_assert_int_eq(x->counter, (long)KIDS * PER);
    ipcm_sync_destroy(s);
    ipcm_shared_free(x, sizeof(*x));
}
END_TEST

/* ---------------------------------------------------------------- holder killed */

static void hold_forever(struct ipcm_sync *s, struct shared *x)
{
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e) || ipcm_lock_acquire(e, 5000))
        _exit(1);
    atomic_store(&x->held, 1);
    for (;;)
        pause();
}

START_TEST(killed_holder_releases_the_lock)
{
    struct ipcm_sync *s;
    struct ipcm_sync_end *e;
    struct shared *x = shared_new();
    ck_assert_int_eq(ipcm_sync_create(impl_of(_i), IPCM_SYNC_LOCK, 0, &s), 0);
    ck_assert_int_eq(ipcm_sync_open(s, &e), 0);
    for (int round = 0; round < 3; round++) {
        atomic_store(&x->held, 0);
        pid_t kid = fork();
        ck_assert_int_ge(kid, 0);
        if (kid == 0)
            hold_forever(s, x);
        uint64_t t0 = ipcm_now_ns();
        while (!atomic_load(&x->held) && ipcm_ms_since(t0) < 5000)
            ipcm_sleep_ms(1);
        ck_assert_int_eq(atomic_load(&x->held), 1);
        ck_assert_int_eq(ipcm_lock_acquire(e, 0), -EAGAIN); /* held, truly */
        kill(kid, SIGKILL);
        ck_assert_int_eq(wait_exit(kid), 128 + SIGKILL);
        /* The kernel gave it back: no wait beyond the exit, and no EOWNERDEAD to say so. */
        t0 = ipcm_now_ns();
        ck_assert_int_eq(ipcm_lock_acquire(e, 2000), 0);
        ck_assert_int_lt(ipcm_ms_since(t0), 1000);
        ck_assert_int_eq(ipcm_lock_release(e), 0);
    }
    ck_assert_uint_eq(ipcm_sync_impl_caps(impl_of(_i)) & IPCM_SYNC_CAP_OWNER_DEAD, 0);
    ipcm_sync_close(e);
    ipcm_sync_destroy(s);
    ipcm_shared_free(x, sizeof(*x));
}
END_TEST

/* ---------------------------------------------------------------- timeouts */

static void on_usr1(int sig)
{
    (void)sig;
}

/* Wait 300 ms for the Lock the parent holds while it sends SIGUSR1s: exit 0 when the
 * wait ended in -ETIMEDOUT after 300 ms, neither early nor restarted. */
static void timed_waiter(struct ipcm_sync *s, struct shared *x)
{
    struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART: EINTR reaches us */
    sigaction(SIGUSR1, &sa, NULL);
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e))
        _exit(1);
    atomic_store(&x->go, 1);
    uint64_t t0 = ipcm_now_ns();
    int r = ipcm_lock_acquire(e, 300);
    int el = ipcm_ms_since(t0);
    atomic_store(&x->go, 2);
    if (r != -ETIMEDOUT)
        _exit(10 + (-r % 100));
    _exit(el >= 299 && el < 2000 ? 0 : 3);
}

START_TEST(timeout_under_a_signal_storm)
{
    struct ipcm_sync *s;
    struct ipcm_sync_end *e;
    struct shared *x = shared_new();
    ck_assert_int_eq(ipcm_sync_create(impl_of(_i), IPCM_SYNC_LOCK, 0, &s), 0);
    ck_assert_int_eq(ipcm_sync_open(s, &e), 0);
    ck_assert_int_eq(ipcm_lock_acquire(e, 0), 0);
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0)
        timed_waiter(s, x);
    uint64_t t0 = ipcm_now_ns();
    while (atomic_load(&x->go) != 2 && ipcm_ms_since(t0) < 5000) {
        if (atomic_load(&x->go) == 1)
            kill(kid, SIGUSR1);
        ipcm_sleep_ms(2);
    }
    ck_assert_int_eq(wait_exit(kid), 0);
    ck_assert_int_eq(ipcm_lock_release(e), 0);
    ipcm_sync_close(e);
    ipcm_sync_destroy(s);
    ipcm_shared_free(x, sizeof(*x));
}
END_TEST

/* ---------------------------------------------------------------- sysv */

/* A child that takes one unit and dies holding it; one that posts one unit and exits. */
static void sem_take_and_die(struct ipcm_sync *s)
{
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e) || ipcm_sem_acquire(e, 1000))
        _exit(1);
    raise(SIGKILL);
    _exit(2);
}

static void sem_post_and_exit(struct ipcm_sync *s)
{
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e) || ipcm_sem_release(e))
        _exit(1);
    _exit(0);
}

static void run_child(void (*fn)(struct ipcm_sync *), struct ipcm_sync *s, int want)
{
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0)
        fn(s);
    ck_assert_int_eq(wait_exit(kid), want);
}

/* The counting Semaphore has no SEM_UNDO (sync_sysv.c): units move between processes. */
START_TEST(sysv_semaphore_units_are_not_undone)
{
    struct ipcm_sync *s;
    struct ipcm_sync_end *e;
    ck_assert_int_eq(ipcm_sync_create(ipcm_sync_impl_find("sysv"), IPCM_SYNC_SEMAPHORE, 2, &s), 0);
    ck_assert_int_eq(ipcm_sync_open(s, &e), 0);
    run_child(sem_take_and_die, s, 128 + SIGKILL);
    ck_assert_int_eq(ipcm_sem_value(e), 1); /* lost with its holder, as documented */
    ck_assert_int_eq(ipcm_sem_acquire(e, 0), 0);
    run_child(sem_post_and_exit, s, 0);
    ck_assert_int_eq(ipcm_sem_value(e), 1); /* the post outlives its poster */
    ck_assert_int_eq(ipcm_sem_release(e), 0);
    ck_assert_int_eq(ipcm_sem_release(e), -EOVERFLOW); /* at the bound again */
    ck_assert_int_eq(ipcm_sem_value(e), 2);
    ck_assert_int_eq(ipcm_sync_create(ipcm_sync_impl_find("sysv"), IPCM_SYNC_SEMAPHORE, 40000,
                                      &(struct ipcm_sync *){NULL}),
                     -EINVAL); /* above SEMVMX */
    ipcm_sync_close(e);
    ipcm_sync_destroy(s);
}
END_TEST

static void event_waiter(struct ipcm_sync *s)
{
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e))
        _exit(1);
    _exit(ipcm_event_wait(e, 5000) == 0 ? 0 : 2);
}

#define ROUNDS 200
static atomic_int *round_sum; /* per round, the sum of the parties' index + 1 */

static void barrier_party(struct ipcm_sync *s)
{
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(s, &e))
        _exit(1);
    for (int i = 0; i < ROUNDS; i++) {
        int r = ipcm_barrier_wait(e, 5000);
        if (r < 0)
            _exit(2);
        atomic_fetch_add(&round_sum[i], r + 1);
    }
    _exit(0);
}

START_TEST(sysv_event_and_barrier_across_processes)
{
    const struct ipcm_sync_impl *im = ipcm_sync_impl_find("sysv");
    struct ipcm_sync *ev, *bar;
    struct ipcm_sync_end *e, *b;
    ck_assert_int_eq(ipcm_sync_create(im, IPCM_SYNC_EVENT, 0, &ev), 0);
    ck_assert_int_eq(ipcm_sync_open(ev, &e), 0);
    pid_t kid[3];
    for (int i = 0; i < 3; i++) {
        kid[i] = fork();
        ck_assert_int_ge(kid[i], 0);
        if (kid[i] == 0)
            event_waiter(ev);
    }
    ipcm_sleep_ms(30);
    ck_assert_int_eq(ipcm_event_set(e), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(wait_exit(kid[i]), 0);
    ipcm_sync_close(e);
    ipcm_sync_destroy(ev);

    round_sum = ipcm_shared_alloc(ROUNDS * sizeof(*round_sum));
    ck_assert_ptr_nonnull(round_sum);
    ck_assert_int_eq(ipcm_sync_create(im, IPCM_SYNC_BARRIER, 3, &bar), 0);
    ck_assert_int_eq(ipcm_sync_open(bar, &b), 0);
    for (int i = 0; i < 2; i++) {
        kid[i] = fork();
        ck_assert_int_ge(kid[i], 0);
        if (kid[i] == 0)
            barrier_party(bar);
    }
    for (int i = 0; i < ROUNDS; i++) {
        int r = ipcm_barrier_wait(b, 5000);
        ck_assert_int_ge(r, 0);
        atomic_fetch_add(&round_sum[i], r + 1);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(wait_exit(kid[i]), 0);
    for (int i = 0; i < ROUNDS; i++) /* each round gave out 0, 1 and 2, once each */
        ck_assert_int_eq(atomic_load(&round_sum[i]), 1 + 2 + 3);
    ipcm_shared_free(round_sum, ROUNDS * sizeof(*round_sum));
    ipcm_sync_close(b);
    ipcm_sync_destroy(bar);
}
END_TEST

static void destroy_in_child(struct ipcm_sync *s)
{
    ipcm_sync_destroy(s); /* not the creator: releases its copy only */
    _exit(0);
}

START_TEST(sysv_destroy_leaves_no_set)
{
    static int before[MAX_IDS];
    int nb = sem_ids(before);
    const struct ipcm_sync_impl *im = ipcm_sync_impl_find("sysv");
    enum ipcm_sync_kind kinds[] = {IPCM_SYNC_LOCK, IPCM_SYNC_EVENT, IPCM_SYNC_BARRIER,
                                   IPCM_SYNC_SEMAPHORE};
    struct ipcm_sync *s[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(ipcm_sync_create(im, kinds[i], 2, &s[i]), 0);
    ck_assert_int_eq(sem_new_since(before, nb) >= 4, 1); /* only to see they are counted */
    /* A destroy in another process removes nothing: the Lock still works here. */
    run_child(destroy_in_child, s[0], 0);
    struct ipcm_sync_end *e;
    ck_assert_int_eq(ipcm_sync_open(s[0], &e), 0);
    ck_assert_int_eq(ipcm_lock_acquire(e, 0), 0);
    ipcm_sync_close(e);
    for (int i = 0; i < 4; i++)
        ipcm_sync_destroy(s[i]);
    ck_assert_int_eq(sem_new_since(before, nb), 0);
}
END_TEST

static Suite *sync_kernel_suite(void)
{
    Suite *s = suite_create("sync_kernel");
    TCase *tc = tcase_create("released_on_death");
    tcase_add_loop_test(tc, lock_excludes_processes, 0, NNAMES);
    tcase_add_loop_test(tc, killed_holder_releases_the_lock, 0, NNAMES);
    tcase_add_loop_test(tc, timeout_under_a_signal_storm, 0, NNAMES);
    tcase_add_test(tc, sysv_semaphore_units_are_not_undone);
    tcase_add_test(tc, sysv_event_and_barrier_across_processes);
    tcase_add_test(tc, sysv_destroy_leaves_no_set);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(sync_kernel_suite());
}
