/* SPDX-License-Identifier: MIT */
/*
 * test_queue.c - Queue and JoinableQueue (queue.c) on the backend named by $IPCM_BACKEND:
 * graceful and immediate shutdown waking blocked callers, task_done / join with many
 * producers and consumers, and join reporting a consumer killed before task_done.
 */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Generous: only "returns, does not hang" is asserted, never speed. */
#define TIMEOUT_MS 20000
#define MSG 64

static const struct ipcm_backend *be;

static struct ipcm_queue *make(unsigned flags)
{
    struct ipcm_config cfg = {.max_msg = MSG, .depth = 1};
    struct ipcm_queue *q = NULL;
    int r = ipcm_queue_create(be, &cfg, flags, &q);
    ck_assert_msg(r == 0, "queue create: %s", ipcm_strerror(r));
    return q;
}

/* Put until the queue is full (in a worker) (a try-once put says -EAGAIN); returns how many fit. */
static long fill(struct ipcm_queue *q)
{
    char m[MSG] = {0};
    long n = 0;
    for (;; n++) {
        memcpy(m, &n, sizeof(n));
        ssize_t r = ipcm_queue_put(q, m, sizeof(m), 0);
        if (r == -EAGAIN)
            return n;
        if (r != (ssize_t)sizeof(m) || n >= 1000000)
            return -1; /* the parent's check of the count fails */
    }
}

/* A worker: what to do with the queue the parent forked it with. */
enum wact { W_FILL, W_PUT_BLOCKED, W_GET_BLOCKED, W_SHUTDOWN, W_CONSUME, W_PRODUCE, W_GET_AND_DIE };
struct warg {
    struct ipcm_queue *q; /* the parent's pointer, valid in the forked copy */
    enum wact act;
    int id, count;
};

/* How many messages W_FILL put (shared with the parent). */
static long *filled;

static int w_fill(struct ipcm_queue *q)
{
    if (ipcm_queue_attach(q, IPCM_ROLE_SEND) < 0)
        return 99;
    *filled = fill(q);
    return 0;
}

static int w_put_blocked(struct ipcm_queue *q)
{
    char m[MSG] = {0};
    if (ipcm_queue_attach(q, IPCM_ROLE_SEND) < 0)
        return 99;
    /* Blocks on the full queue until the shutdown releases it with -EPIPE. */
    return ipcm_queue_put(q, m, sizeof(m), TIMEOUT_MS) == -EPIPE ? 0 : 1;
}

static int w_get_blocked(struct ipcm_queue *q)
{
    char m[MSG];
    if (ipcm_queue_attach(q, IPCM_ROLE_RECV) < 0)
        return 99;
    return ipcm_queue_get(q, m, sizeof(m), TIMEOUT_MS) == -EPIPE ? 0 : 1;
}

static int w_consume(struct ipcm_queue *q, int die_after)
{
    char m[MSG];
    if (ipcm_queue_attach(q, IPCM_ROLE_RECV) < 0)
        return 99;
    for (;;) {
        ssize_t r = ipcm_queue_get(q, m, sizeof(m), TIMEOUT_MS);
        if (r == -EPIPE)
            return 0;
        if (r < 0)
            return 1;
        if (die_after)
            raise(SIGKILL); /* got one, never marks it done */
        if (ipcm_queue_task_done(q) < 0)
            return 2;
    }
}

static int w_produce(struct ipcm_queue *q, int id, int count)
{
    char m[MSG] = {0};
    if (ipcm_queue_attach(q, IPCM_ROLE_SEND) < 0)
        return 99;
    for (int i = 0; i < count; i++) {
        memcpy(m, &id, sizeof(id));
        memcpy(m + sizeof(id), &i, sizeof(i));
        if (ipcm_queue_put(q, m, sizeof(m), TIMEOUT_MS) != (ssize_t)sizeof(m))
            return 1;
    }
    return 0;
}

static int worker(const void *arg, size_t len)
{
    struct warg a;
    int rc = 99;
    if (len != sizeof(a))
        return 99;
    memcpy(&a, arg, sizeof(a));
    switch (a.act) {
    case W_FILL: rc = w_fill(a.q); break;
    case W_PUT_BLOCKED: rc = w_put_blocked(a.q); break;
    case W_GET_BLOCKED: rc = w_get_blocked(a.q); break;
    case W_SHUTDOWN: rc = ipcm_queue_shutdown(a.q, false) == 0 ? 0 : 1; break;
    case W_CONSUME: rc = w_consume(a.q, 0); break;
    case W_PRODUCE: rc = w_produce(a.q, a.id, a.count); break;
    case W_GET_AND_DIE: rc = w_consume(a.q, 1); break;
    }
    ipcm_queue_destroy(a.q);
    return rc;
}

static void spawn(struct ipcm_process *p, struct ipcm_queue *q, enum wact act, int id, int count)
{
    struct warg a = {q, act, id, count};
    int r = ipcm_process_spawn(p, "queue-worker", worker, &a, sizeof(a));
    ck_assert_msg(r == 0, "spawn: %s", ipcm_strerror(r));
}

static void join_ok(struct ipcm_process *p, int want_code)
{
    struct ipcm_exit ex;
    char why[64];
    int r = ipcm_process_join(p, TIMEOUT_MS, &ex);
    if (r < 0)
        ipcm_process_stop(p, 0, &ex);
    ck_assert_msg(r == 0, "worker did not end: %s", ipcm_strerror(r));
    ck_assert_msg(ex.code == want_code, "worker ended with %s, want exit %d",
                  ipcm_exit_describe(&ex, why, sizeof(why)), want_code);
}

/* Fill q from a worker (so this process stays unattached for later forks). */
static long fill_in_child(struct ipcm_queue *q)
{
    struct ipcm_process p;
    *filled = -1;
    spawn(&p, q, W_FILL, 0, 0);
    join_ok(&p, 0);
    ck_assert_msg(*filled >= 1, "filling the queue failed (%ld)", *filled);
    return *filled;
}

/* Wait (bounded) until n processes are blocked: they are, once qsize is still full and
 * they had time to start; the test only asserts what happens after the shutdown. */
static void settle(void)
{
    usleep(100 * 1000);
}

START_TEST(graceful_shutdown_releases_putters_then_drains)
{
    int fds = ipcm_test_fd_count();
    struct ipcm_queue *q = make(0);
    struct ipcm_process put[2], sd;
    char m[MSG];

    long n = fill_in_child(q);
    for (int i = 0; i < 2; i++)
        spawn(&put[i], q, W_PUT_BLOCKED, i, 0);
    settle();
    spawn(&sd, q, W_SHUTDOWN, 0, 0); /* from a third process */
    join_ok(&sd, 0);
    for (int i = 0; i < 2; i++)
        join_ok(&put[i], 0);
    /* Attached only now: a child forked after would inherit this process's end. */
    ck_assert_int_eq(ipcm_queue_attach(q, IPCM_ROLE_BOTH), 0);
    ck_assert_int_eq(ipcm_queue_is_shutdown(q), 1);
    ck_assert_int_eq(ipcm_queue_put(q, m, sizeof(m), 0), -EPIPE);
    ck_assert_int_eq(ipcm_queue_qsize(q), n);
    for (long i = 0; i < n; i++) {
        long got;
        ck_assert_int_eq(ipcm_queue_get(q, m, sizeof(m), TIMEOUT_MS), MSG);
        memcpy(&got, m, sizeof(got));
        ck_assert_int_eq(got, i);
    }
    ck_assert_int_eq(ipcm_queue_get(q, m, sizeof(m), TIMEOUT_MS), -EPIPE);
    ck_assert_int_eq(ipcm_queue_get(q, m, sizeof(m), -1), -EPIPE);
    ck_assert_int_eq(ipcm_queue_discarded(q), 0);
    ipcm_queue_destroy(q);
    ck_assert_int_eq(ipcm_test_fd_count(), fds);
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
}
END_TEST

START_TEST(immediate_shutdown_discards_and_wakes_putters)
{
    struct ipcm_queue *q = make(0);
    struct ipcm_process put[3];
    char m[MSG];

    long n = fill_in_child(q);
    for (int i = 0; i < 3; i++)
        spawn(&put[i], q, W_PUT_BLOCKED, i, 0);
    settle();
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_queue_shutdown(q, true), 0);
    for (int i = 0; i < 3; i++)
        join_ok(&put[i], 0);
    ck_assert_msg(ipcm_now_ns() - t0 < 5000000000ull, "putters not released promptly");
    ck_assert_int_eq(ipcm_queue_discarded(q), n);
    ck_assert_int_eq(ipcm_queue_qsize(q), 0);
    ck_assert_int_eq(ipcm_queue_attach(q, IPCM_ROLE_RECV), 0);
    ck_assert_int_eq(ipcm_queue_get(q, m, sizeof(m), TIMEOUT_MS), -EPIPE);
    ck_assert_int_eq(ipcm_queue_shutdown(q, false), 0); /* never back to graceful */
    ck_assert_int_eq(ipcm_queue_is_shutdown(q), 2);
    ipcm_queue_destroy(q);
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
}
END_TEST

START_TEST(shutdown_wakes_blocked_getters)
{
    for (int immediate = 0; immediate < 2; immediate++) {
        struct ipcm_queue *q = make(0);
        struct ipcm_process get[3];
        for (int i = 0; i < 3; i++)
            spawn(&get[i], q, W_GET_BLOCKED, i, 0);
        settle();
        ck_assert_int_eq(ipcm_queue_shutdown(q, immediate), 0);
        for (int i = 0; i < 3; i++)
            join_ok(&get[i], 0);
        ipcm_queue_destroy(q);
    }
}
END_TEST

START_TEST(joinable_many_producers_and_consumers)
{
    enum { P = 3, C = 3, N = 300 };
    struct ipcm_queue *q = make(IPCM_QUEUE_JOINABLE);
    struct ipcm_process prod[P], cons[C];

    for (int i = 0; i < C; i++)
        spawn(&cons[i], q, W_CONSUME, i, 0);
    for (int i = 0; i < P; i++)
        spawn(&prod[i], q, W_PRODUCE, i, N);
    for (int i = 0; i < P; i++)
        join_ok(&prod[i], 0);
    ck_assert_int_eq(ipcm_queue_join(q, TIMEOUT_MS), 0);
    ck_assert_int_eq(ipcm_queue_qsize(q), 0);
    ck_assert_int_eq(ipcm_queue_lost(q), 0);
    ck_assert_int_eq(ipcm_queue_task_done(q), -EINVAL); /* more than were put */
    ck_assert_int_eq(ipcm_queue_shutdown(q, false), 0);
    for (int i = 0; i < C; i++)
        join_ok(&cons[i], 0);
    ipcm_queue_destroy(q);
}
END_TEST

START_TEST(join_reports_a_consumer_killed_before_task_done)
{
    struct ipcm_queue *q = make(IPCM_QUEUE_JOINABLE);
    struct ipcm_process dier, cons, prod;
    struct ipcm_exit ex;

    spawn(&dier, q, W_GET_AND_DIE, 0, 0);
    spawn(&prod, q, W_PRODUCE, 0, 1);
    join_ok(&prod, 0);
    ck_assert_int_eq(ipcm_process_join(&dier, TIMEOUT_MS, &ex), 0);
    ck_assert_int_eq(ex.signal, SIGKILL);
    /* A healthy consumer handles the rest. */
    spawn(&cons, q, W_CONSUME, 1, 0);
    spawn(&prod, q, W_PRODUCE, 1, 5);
    join_ok(&prod, 0);
    ck_assert_int_eq(ipcm_queue_join(q, TIMEOUT_MS), -EOWNERDEAD);
    ck_assert_int_eq(ipcm_queue_lost(q), 1);
    ck_assert_int_eq(ipcm_queue_join(q, 0), -EOWNERDEAD); /* the loss stays reported */
    ck_assert_int_eq(ipcm_queue_shutdown(q, false), 0);
    join_ok(&cons, 0);
    ipcm_queue_destroy(q);
}
END_TEST

START_TEST(join_times_out_and_immediate_shutdown_releases_it)
{
    struct ipcm_queue *q = make(IPCM_QUEUE_JOINABLE);
    char m[MSG] = {0};

    ck_assert_int_eq(ipcm_queue_attach(q, IPCM_ROLE_BOTH), 0);
    ck_assert_int_eq(ipcm_queue_put(q, m, sizeof(m), TIMEOUT_MS), MSG);
    ck_assert_int_eq(ipcm_queue_join(q, 0), -EAGAIN);
    ck_assert_int_eq(ipcm_queue_join(q, 50), -ETIMEDOUT);
    ck_assert_int_eq(ipcm_queue_shutdown(q, true), 0);
    ck_assert_int_eq(ipcm_queue_join(q, TIMEOUT_MS), 0);
    ck_assert_int_eq(ipcm_queue_discarded(q), 1);
    ipcm_queue_destroy(q);
}
END_TEST

START_TEST(bad_calls_are_refused)
{
    struct ipcm_queue *q = NULL;
    char m[MSG];
    ck_assert_int_eq(ipcm_queue_create(be, NULL, 1u << 7, &q), -EINVAL);
    ck_assert_ptr_null(q);
    q = make(0);
    ck_assert_int_eq(ipcm_queue_put(q, m, sizeof(m), 0), -EBADF); /* not attached */
    ck_assert_int_eq(ipcm_queue_attach(q, IPCM_ROLE_A), -EINVAL);
    ck_assert_int_eq(ipcm_queue_attach(q, IPCM_ROLE_SEND), 0);
    ck_assert_int_eq(ipcm_queue_attach(q, IPCM_ROLE_RECV), -EBADF);
    ck_assert_int_eq(ipcm_queue_get(q, m, sizeof(m), 0), -EBADF);
    ck_assert_int_eq(ipcm_queue_task_done(q), -EINVAL);
    ck_assert_int_eq(ipcm_queue_join(q, 0), -EINVAL);
    ck_assert_int_eq(ipcm_queue_shutdown(NULL, false), -EBADF);
    ipcm_queue_destroy(q);
    ipcm_queue_destroy(NULL);
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("queue");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, graceful_shutdown_releases_putters_then_drains);
    tcase_add_test(tc, immediate_shutdown_discards_and_wakes_putters);
    tcase_add_test(tc, shutdown_wakes_blocked_getters);
    tcase_add_test(tc, joinable_many_producers_and_consumers);
    tcase_add_test(tc, join_reports_a_consumer_killed_before_task_done);
    tcase_add_test(tc, join_times_out_and_immediate_shutdown_releases_it);
    tcase_add_test(tc, bad_calls_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    struct ipcm_limits lim;
    be = ipcm_test_backend();
    filled = mmap(NULL, sizeof(*filled), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (filled == MAP_FAILED)
        return 1;
    if (!be || ipcm_backend_limits(be, &lim) < 0)
        return IPCM_TEST_SKIP;
    return ipcm_test_run(queue_suite());
}
