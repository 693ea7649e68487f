/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - the process pool on the backend named by $IPCM_BACKEND: map against a
 * serial map, chunking, task failures, worker deaths, recycling, shutdown and hygiene.
 */
#include "testutil.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Generous: only "returns, does not hang" is asserted, never speed. */
#define TIMEOUT_MS 20000
#define BOUND_NS 10000000000ull

static const struct ipcm_backend *be;

/* A task input: a value and what the task should do with it. */
enum act {
    ACT_NONE,
    ACT_FAIL,
    ACT_SIGKILL,
    ACT_SIGSEGV,
    ACT_ABORT,
    ACT_EXIT99,
    ACT_SLEEP,
    ACT_PID,
    ACT_INITS,
    ACT_HUGE
};
struct tin {
    uint32_t x;
    uint32_t act;
    uint32_t ms;
};

static uint32_t f_serial(uint32_t x)
{
    return x * 2654435761u + 7;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int inits_here; /* per worker process: how often the initializer ran in it */

static int task(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    struct tin t;
    uint32_t y;
    if (in_len < sizeof(t))
        return -EINVAL;
    memcpy(&t, in, sizeof(t));
    switch ((enum act)t.act) {
    case ACT_FAIL: return -EDOM;
    case ACT_SIGKILL: raise(SIGKILL); break;
    case ACT_SIGSEGV:
        /* Die by the signal itself, even under ASan, which would trap it. */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        break;
    case ACT_ABORT: abort();
    case ACT_EXIT99: _exit(99);
    case ACT_SLEEP: sleep_ms(t.ms); break;
    case ACT_PID: y = (uint32_t)getpid(); goto put;
    case ACT_INITS: y = (uint32_t)inits_here; goto put;
    case ACT_HUGE: *out_len = out_cap + 1; return 0;
    case ACT_NONE: break;
    }
    y = f_serial(t.x);
put:
    if (out_cap < sizeof(y))
        return -EMSGSIZE;
    memcpy(out, &y, sizeof(y));
    *out_len = sizeof(y);
    return 0;
}

/* Echo the input reversed: results as large as inputs. */
static int task_reverse(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    if (in_len > out_cap)
        return -EMSGSIZE;
    for (size_t i = 0; i < in_len; i++)
        ((unsigned char *)out)[i] = ((const unsigned char *)in)[in_len - 1 - i];
    *out_len = in_len;
    return 0;
}

struct inputs {
    struct tin *t;
    struct ipcm_pool_buf *b;
    struct ipcm_pool_result *r;
    size_t n;
};

static void inputs_make(struct inputs *in, size_t n)
{
    in->n = n;
    in->t = calloc(n ? n : 1, sizeof(*in->t));
    in->b = calloc(n ? n : 1, sizeof(*in->b));
    in->r = calloc(n ? n : 1, sizeof(*in->r));
    ck_assert(in->t && in->b && in->r);
    for (size_t i = 0; i < n; i++) {
        in->t[i] = (struct tin){.x = (uint32_t)i * 3 + 1};
        in->b[i] = (struct ipcm_pool_buf){&in->t[i], sizeof(in->t[i])};
    }
}

static void inputs_free(struct inputs *in)
{
    ipcm_pool_results_free(in->r, in->n);
    free(in->t);
    free(in->b);
    free(in->r);
}

static void check_serial(const struct inputs *in, size_t skip)
{
    for (size_t i = 0; i < in->n; i++) {
        if (i == skip)
            continue;
        uint32_t y;
        ck_assert_int_eq(in->r[i].status, 0);
        ck_assert_uint_eq(in->r[i].len, sizeof(y));
        memcpy(&y, in->r[i].data, sizeof(y));
        ck_assert_uint_eq(y, f_serial(in->t[i].x));
    }
}

/* Every task of `in` sleeps ms and then returns its serial value. */
static void inputs_sleeping(struct inputs *in, size_t n, uint32_t ms)
{
    inputs_make(in, n);
    for (size_t i = 0; i < n; i++)
        in->t[i] = (struct tin){.x = (uint32_t)i, .act = ACT_SLEEP, .ms = ms};
}

/* The pool still maps correctly: n fresh tasks, every result checked. */
static void map_still_works(struct ipcm_pool *p, size_t n, size_t chunk)
{
    struct inputs ok;
    inputs_make(&ok, n);
    ck_assert_int_eq(ipcm_pool_map(p, task, ok.b, ok.n, chunk, ok.r, TIMEOUT_MS), 0);
    check_serial(&ok, SIZE_MAX);
    inputs_free(&ok);
}

START_TEST(map_equals_serial_map)
{
    static const size_t ns[] = {0, 1, 10, 100, 1000};
    struct ipcm_pool *p = ipcm_test_pool_new(3, be, NULL);
    for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
        const size_t chunks[] = {0, 1, 7, 20, ns[k] ? ns[k] : 1, ns[k] + 5};
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            struct inputs in;
            inputs_make(&in, ns[k]);
            int r = ipcm_pool_map(p, task, in.b, in.n, chunks[c], in.r, TIMEOUT_MS);
            ck_assert_msg(r == 0, "n %zu chunk %zu: %s", ns[k], chunks[c], ipcm_strerror(r));
            check_serial(&in, SIZE_MAX);
            inputs_free(&in);
        }
    }
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(default_chunksize_is_cpythons_rule)
{
    ck_assert_uint_eq(ipcm_pool_default_chunk(0, 4), 0);
    ck_assert_uint_eq(ipcm_pool_default_chunk(1, 4), 1);
    ck_assert_uint_eq(ipcm_pool_default_chunk(16, 4), 1);
    ck_assert_uint_eq(ipcm_pool_default_chunk(17, 4), 2);
    ck_assert_uint_eq(ipcm_pool_default_chunk(1000, 2), 125);
    ck_assert_uint_eq(ipcm_pool_default_chunk(1001, 2), 126);
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_info info;
    struct inputs in;
    inputs_make(&in, 1001);
    ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, 0, in.r, TIMEOUT_MS), 0);
    ipcm_pool_info(p, &info);
    ck_assert_uint_eq(info.last_chunk_size, 126);
    /* 1001 tasks in chunks of 126: 8 task messages. */
    ck_assert_uint_eq(info.task_messages, 8);
    check_serial(&in, SIZE_MAX);
    inputs_free(&in);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

struct seen {
    unsigned char *hit;
    size_t count, bad;
};

static int on_result(size_t index, int status, const void *data, size_t len, void *arg)
{
    struct seen *s = arg;
    uint32_t y;
    if (s->hit[index]++ || status != 0 || len != sizeof(y))
        s->bad++;
    memcpy(&y, data, sizeof(y));
    s->count++;
    return 0;
}

START_TEST(map_unordered_yields_every_index_once)
{
    struct ipcm_pool *p = ipcm_test_pool_new(3, be, NULL);
    const size_t chunks[] = {1, 0};
    for (int c = 0; c < 2; c++) {
        struct inputs in;
        inputs_make(&in, 500);
        struct seen s = {.hit = calloc(in.n, 1)};
        ck_assert_int_eq(
            ipcm_pool_map_unordered(p, task, in.b, in.n, chunks[c], on_result, &s, TIMEOUT_MS), 0);
        ck_assert_uint_eq(s.count, in.n);
        ck_assert_uint_eq(s.bad, 0);
        free(s.hit);
        inputs_free(&in);
    }
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(failing_task_names_its_index_and_pool_stays_usable)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_error e;
    for (int round = 0; round < 2; round++) {
        struct inputs in;
        inputs_make(&in, 40);
        in.t[17].act = ACT_FAIL;
        in.t[31].act = ACT_FAIL;
        ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, round ? 0 : 1, in.r, TIMEOUT_MS),
                         -EREMOTEIO);
        ipcm_pool_last_error(p, &e);
        ck_assert_int_eq(e.err, -EREMOTEIO);
        ck_assert_uint_eq(e.index, 17);
        ck_assert_int_eq(e.task_status, -EDOM);
        ck_assert_uint_eq(e.failed, 2);
        ck_assert_int_eq(in.r[17].status, -EDOM);
        ck_assert_int_eq(in.r[31].status, -EDOM);
        in.r[31].status = 0; /* checked; let check_serial skip only 17 below */
        for (size_t i = 0; i < in.n; i++)
            if (i != 17 && i != 31)
                ck_assert_int_eq(in.r[i].status, 0);
        inputs_free(&in);
    }
    map_still_works(p, 50, 0);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* One crash kind: the map fails naming the worker, the pool replaces it. */
static void crash_case(enum act act, int want_signal, int want_code)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_error e;
    struct ipcm_pool_info info;
    struct inputs in;
    inputs_make(&in, 30);
    in.t[12].act = act;
    uint64_t t0 = ipcm_now_ns();
    int r = ipcm_pool_map(p, task, in.b, in.n, 1, in.r, TIMEOUT_MS);
    ck_assert_uint_lt(ipcm_now_ns() - t0, BOUND_NS);
    ck_assert_int_eq(r, -EPIPE);
    ipcm_pool_last_error(p, &e);
    ck_assert_int_eq(e.err, -EPIPE);
    ck_assert_int_ge(e.worker, 0);
    ck_assert_int_gt(e.pid, 0);
    ck_assert_int_eq(e.exit.signal, want_signal);
    ck_assert_int_eq(e.exit.code, want_code);
    /* Results of the crashed worker's batch that were not yet sent are lost too. */
    ck_assert_uint_le(e.index, 12);
    ck_assert_int_eq(in.r[12].status, -EPIPE);
    ck_assert_ptr_nonnull(strstr(e.what, "worker"));
    /* Results that came back are intact; the others are cancelled, never garbage. */
    for (size_t i = 0; i < in.n; i++) {
        if (in.r[i].status == 0) {
            uint32_t y;
            memcpy(&y, in.r[i].data, sizeof(y));
            ck_assert_uint_eq(y, f_serial(in.t[i].x));
        } else {
            ck_assert(in.r[i].status == -ECANCELED || in.r[i].status == -EPIPE);
        }
    }
    inputs_free(&in);
    ipcm_pool_info(p, &info);
    ck_assert_uint_eq(info.workers_died, 1);
    ck_assert_uint_eq(info.workers_started, 3);
    map_still_works(p, 100, 0);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}

START_TEST(worker_sigkilled_mid_task_fails_the_map_and_is_replaced)
{
    crash_case(ACT_SIGKILL, SIGKILL, -1);
}
END_TEST

START_TEST(worker_segfault_is_reported_with_its_signal)
{
    crash_case(ACT_SIGSEGV, SIGSEGV, -1);
}
END_TEST

START_TEST(worker_abort_is_reported_with_its_signal)
{
    crash_case(ACT_ABORT, SIGABRT, -1);
}
END_TEST

START_TEST(worker_exit_99_is_reported_with_its_status)
{
    crash_case(ACT_EXIT99, 0, 99);
}
END_TEST

struct killer_arg {
    pid_t pid;
    unsigned after_ms;
};

static int killer(const void *arg, size_t len)
{
    const struct killer_arg *k = arg;
    (void)len;
    sleep_ms(k->after_ms);
    return kill(k->pid, SIGKILL) == 0 ? 0 : 1;
}

START_TEST(worker_killed_from_outside_mid_task_never_hangs)
{
    struct ipcm_pool *p = ipcm_test_pool_new(1, be, NULL);
    struct ipcm_pool_error e;
    struct ipcm_process kp;
    struct ipcm_exit kex;
    struct inputs in;
    inputs_sleeping(&in, 40, 50);
    struct killer_arg ka = {.pid = ipcm_pool_worker_pid(p, 0), .after_ms = 300};
    ck_assert_int_gt(ka.pid, 0);
    ck_assert_int_eq(ipcm_process_spawn(&kp, "killer", killer, &ka, sizeof(ka)), 0);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, 1, in.r, TIMEOUT_MS), -EPIPE);
    ck_assert_uint_lt(ipcm_now_ns() - t0, BOUND_NS);
    ck_assert_int_eq(ipcm_process_join(&kp, TIMEOUT_MS, &kex), 0);
    ck_assert(ipcm_exit_ok(&kex));
    ipcm_pool_last_error(p, &e);
    ck_assert_int_eq(e.pid, ka.pid);
    ck_assert_int_eq(e.exit.signal, SIGKILL);
    ck_assert_int_ne(ipcm_pool_worker_pid(p, 0), ka.pid);
    inputs_free(&in);
    map_still_works(p, 20, 1);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(crash_with_large_tasks_in_flight_is_an_error_not_a_hang)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_info info;
    ipcm_pool_info(p, &info);
    enum { N = 24 };
    size_t sz = info.max_task_bytes;
    unsigned char *buf = calloc(N, sz);
    struct ipcm_pool_buf b[N];
    struct ipcm_pool_result r[N];
    for (size_t i = 0; i < N; i++) {
        struct tin t = {.x = (uint32_t)i, .act = i == 5 ? ACT_SIGKILL : ACT_NONE};
        memcpy(buf + i * sz, &t, sizeof(t));
        b[i] = (struct ipcm_pool_buf){buf + i * sz, sz};
    }
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_pool_map(p, task, b, N, 1, r, TIMEOUT_MS), -EPIPE);
    ck_assert_uint_lt(ipcm_now_ns() - t0, BOUND_NS);
    ck_assert_int_eq(r[5].status, -EPIPE);
    ipcm_pool_results_free(r, N);
    ck_assert_int_eq(ipcm_pool_map(p, task, b + 6, N - 6, 1, r, TIMEOUT_MS), 0);
    ipcm_pool_results_free(r, N - 6);
    free(buf);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

static void wait_zombie(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    for (int i = 0; i < 5000; i++) {
        FILE *f = fopen(path, "re");
        if (!f)
            return;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *rp = strrchr(buf, ')');
        if (rp && rp[1] == ' ' && rp[2] == 'Z')
            return;
        sleep_ms(1);
    }
}

START_TEST(idle_worker_killed_is_replaced_silently)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_process dummy = {.pid = ipcm_pool_worker_pid(p, 1), .pidfd = -1};
    ck_assert_int_eq(ipcm_process_kill(&dummy, SIGKILL), 0);
    /* Wait until it is a zombie, so its death is visible before the map starts (a kill
     * that races with a dispatch is a mid-task death: the map may then fail). */
    wait_zombie(dummy.pid);
    map_still_works(p, 200, 1);
    ck_assert_int_ne(ipcm_pool_worker_pid(p, 1), dummy.pid);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

static int stop_after_first(size_t index, int status, const void *data, size_t len, void *arg)
{
    (void)index, (void)status, (void)data, (void)len, (void)arg;
    return -ECANCELED;
}

START_TEST(terminate_of_a_busy_pool_returns_within_a_bound)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct inputs in;
    inputs_make(&in, 200);
    for (size_t i = 0; i < in.n; i++)
        in.t[i] = (struct tin){.x = (uint32_t)i, .act = ACT_SLEEP, .ms = i == 0 ? 1 : 5000};
    /* Leave the workers busy with 5 s tasks: the first result abandons the map. */
    ck_assert_int_eq(
        ipcm_pool_map_unordered(p, task, in.b, in.n, 1, stop_after_first, NULL, TIMEOUT_MS),
        -ECANCELED);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_pool_terminate(p), 0);
    ck_assert_int_eq(ipcm_pool_join(p, TIMEOUT_MS), 0);
    ck_assert_uint_lt(ipcm_now_ns() - t0, 3000000000ull);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ck_assert_int_eq(ipcm_pool_map(p, task, in.b, 1, 1, in.r, TIMEOUT_MS), -ESHUTDOWN);
    ipcm_pool_destroy(p);
    ck_assert_int_eq(ipcm_test_fd_count(), ipcm_test_fds_marked());
    inputs_free(&in);
}
END_TEST

START_TEST(map_timeout_leaves_the_pool_usable)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct inputs in;
    inputs_sleeping(&in, 4, 400);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, 1, in.r, 100), -ETIMEDOUT);
    ck_assert_uint_ge(ipcm_now_ns() - t0, 90000000ull);
    for (size_t i = 0; i < in.n; i++)
        ck_assert_int_eq(in.r[i].status, -ECANCELED);
    inputs_free(&in);
    /* The late results of the abandoned map are discarded, not mistaken for these. */
    map_still_works(p, 30, 1);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* map_async (Python's Pool.map_async): the same results as map. */
START_TEST(map_async_equals_serial_map)
{
    struct ipcm_pool *p = ipcm_test_pool_new(3, be, NULL);
    struct ipcm_pool_async *a = NULL;
    struct inputs in;
    inputs_make(&in, 500);
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in.b, in.n, 0, in.r, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, -1), 0);
    ck_assert(ipcm_pool_async_ready(a));
    ck_assert_int_eq(ipcm_pool_async_wait(a, 0), 0); /* asked again: the same answer */
    check_serial(&in, SIZE_MAX);
    ipcm_pool_async_free(a);
    inputs_free(&in);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* imap's order: the first results can be taken while later tasks still run. */
START_TEST(map_async_prefix_comes_first)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_async *a = NULL;
    struct inputs in;
    inputs_make(&in, 40);
    for (size_t i = 10; i < in.n; i++)
        in.t[i] = (struct tin){.x = (uint32_t)i, .act = ACT_SLEEP, .ms = 100};
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in.b, in.n, 1, in.r, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_wait_prefix(a, 10, TIMEOUT_MS), 0);
    size_t have = ipcm_pool_async_prefix(a);
    ck_assert_uint_ge(have, 10);
    ck_assert(!ipcm_pool_async_ready(a)); /* 30 tasks of 100 ms on 2 workers remain */
    for (size_t i = 0; i < have; i++) {
        uint32_t y;
        ck_assert_int_eq(in.r[i].status, 0);
        memcpy(&y, in.r[i].data, sizeof(y));
        ck_assert_uint_eq(y, f_serial(in.t[i].x));
    }
    ck_assert_int_eq(ipcm_pool_async_wait_prefix(a, in.n, TIMEOUT_MS), 0);
    ck_assert_uint_eq(ipcm_pool_async_prefix(a), in.n);
    check_serial(&in, SIZE_MAX);
    ipcm_pool_async_free(a);
    inputs_free(&in);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* apply_async: one task, its result collected by the wait. */
START_TEST(apply_async_runs_one_task)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_async *a = NULL;
    struct ipcm_pool_result res = {0};
    struct tin t = {.x = 41};
    uint32_t y;
    ck_assert_int_eq(ipcm_pool_apply_async(p, task, &t, sizeof(t), &res, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, TIMEOUT_MS), 0);
    ck_assert_int_eq(res.status, 0);
    ck_assert_uint_eq(res.len, sizeof(y));
    memcpy(&y, res.data, sizeof(y));
    ck_assert_uint_eq(y, f_serial(41));
    ipcm_pool_async_free(a);
    ipcm_pool_results_free(&res, 1);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* Case 85: a wait that times out leaves the tasks running; a later wait has them all. */
START_TEST(map_async_wait_times_out_and_tasks_keep_running)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_async *a = NULL;
    struct inputs in;
    inputs_sleeping(&in, 4, 300);
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in.b, in.n, 1, in.r, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, 50), -ETIMEDOUT);
    ck_assert(!ipcm_pool_async_ready(a));
    /* One map at a time, and the pool cannot close under it. */
    struct inputs other;
    inputs_make(&other, 2);
    ck_assert_int_eq(ipcm_pool_map(p, task, other.b, other.n, 1, other.r, 100), -EBUSY);
    ck_assert_int_eq(ipcm_pool_close(p), -EBUSY);
    ck_assert_int_eq(ipcm_pool_async_wait(a, -1), 0);
    check_serial(&in, SIZE_MAX); /* every task ran to its end */
    ipcm_pool_async_free(a);
    ck_assert_int_eq(ipcm_pool_map(p, task, other.b, other.n, 1, other.r, TIMEOUT_MS), 0);
    check_serial(&other, SIZE_MAX);
    inputs_free(&other);
    inputs_free(&in);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* Freeing a running map cancels it; its late results never reach the next map. */
START_TEST(map_async_free_cancels_and_pool_stays_usable)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_async *a = NULL;
    struct inputs in;
    inputs_sleeping(&in, 6, 200);
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in.b, in.n, 1, in.r, &a), 0);
    ipcm_pool_async_free(a);
    for (size_t i = 0; i < in.n; i++)
        ck_assert_int_eq(in.r[i].status, -ECANCELED);
    map_still_works(p, 30, 1);
    inputs_free(&in);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* A worker that dies during an asynchronous map fails it as it fails a map. */
START_TEST(map_async_worker_death_is_reported)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_async *a = NULL;
    struct inputs in;
    inputs_make(&in, 40);
    in.t[17].act = ACT_SIGKILL;
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in.b, in.n, 1, in.r, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, TIMEOUT_MS), -EPIPE);
    ck_assert_int_eq(in.r[17].status, -EPIPE);
    ipcm_pool_async_free(a);
    inputs_free(&in);
    map_still_works(p, 20, 1);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* terminate ends a running asynchronous map: its wait reports the cancellation. */
START_TEST(terminate_cancels_map_async)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_async *a = NULL;
    struct inputs in;
    inputs_sleeping(&in, 4, 5000);
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in.b, in.n, 1, in.r, &a), 0);
    ck_assert_int_eq(ipcm_pool_terminate(p), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, -1), -ECANCELED);
    ipcm_pool_async_free(a);
    ipcm_pool_destroy(p);
    inputs_free(&in);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ck_assert_int_eq(ipcm_test_fd_count(), ipcm_test_fds_marked());
}
END_TEST

static int refuse_terminate(size_t index, int status, const void *data, size_t len, void *arg)
{
    struct ipcm_pool *p = arg;
    (void)index, (void)status, (void)data, (void)len;
    return ipcm_pool_terminate(p) == -EDEADLK ? 0 : -EPROTO;
}

START_TEST(terminate_from_a_callback_is_refused)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct inputs in;
    inputs_make(&in, 20);
    ck_assert_int_eq(
        ipcm_pool_map_unordered(p, task, in.b, in.n, 1, refuse_terminate, p, TIMEOUT_MS), 0);
    inputs_free(&in);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(close_then_join_drains_and_reaps)
{
    struct ipcm_pool_options opt = {.max_tasks_per_worker = 1};
    for (int k = 0; k < 2; k++) {
        struct ipcm_pool *p = ipcm_test_pool_new(2, be, k ? &opt : NULL);
        struct inputs in;
        inputs_make(&in, 30);
        ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, 1, in.r, TIMEOUT_MS), 0);
        check_serial(&in, SIZE_MAX);
        inputs_free(&in);
        ck_assert_int_eq(ipcm_pool_join(p, 100), -EINVAL); /* still running */
        ipcm_test_pool_done(p, TIMEOUT_MS);
    }
}
END_TEST

START_TEST(use_after_close_or_terminate_is_a_clear_error)
{
    struct ipcm_pool_error e;
    struct ipcm_pool_result r = {0};
    struct tin t = {.x = 1};
    struct ipcm_pool *p = ipcm_test_pool_new(1, be, NULL);
    ck_assert_int_eq(ipcm_pool_close(p), 0);
    ck_assert_int_eq(ipcm_pool_apply(p, task, &t, sizeof(t), &r, TIMEOUT_MS), -ESHUTDOWN);
    ipcm_pool_last_error(p, &e);
    ck_assert_ptr_nonnull(strstr(e.what, "closed"));
    ck_assert_int_eq(ipcm_pool_close(p), 0);
    ck_assert_int_eq(ipcm_pool_join(p, TIMEOUT_MS), 0);
    ck_assert_int_eq(ipcm_pool_terminate(p), 0);
    ipcm_pool_destroy(p);

    p = ipcm_test_pool_new(1, be, NULL);
    ck_assert_int_eq(ipcm_pool_terminate(p), 0);
    ck_assert_int_eq(ipcm_pool_apply(p, task, &t, sizeof(t), &r, TIMEOUT_MS), -ESHUTDOWN);
    ipcm_pool_last_error(p, &e);
    ck_assert_ptr_nonnull(strstr(e.what, "terminated"));
    ck_assert_int_eq(ipcm_pool_terminate(p), 0);
    ipcm_pool_destroy(p);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ck_assert_int_eq(ipcm_test_fd_count(), ipcm_test_fds_marked());
}
END_TEST

START_TEST(recycling_starts_fresh_workers_and_completes_the_backlog)
{
    const unsigned maxes[] = {1, 3};
    for (int k = 0; k < 2; k++) {
        struct ipcm_pool_options opt = {.max_tasks_per_worker = maxes[k]};
        struct ipcm_pool *p = ipcm_test_pool_new(2, be, &opt);
        struct ipcm_pool_info info;
        struct inputs in;
        inputs_make(&in, 24);
        for (size_t i = 0; i < in.n; i++)
            in.t[i].act = ACT_PID;
        ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, 1, in.r, TIMEOUT_MS), 0);
        /* No pid served more than max tasks. */
        for (size_t i = 0; i < in.n; i++) {
            unsigned same = 0;
            for (size_t j = 0; j < in.n; j++)
                same += memcmp(in.r[i].data, in.r[j].data, sizeof(uint32_t)) == 0;
            ck_assert_uint_le(same, maxes[k]);
        }
        ipcm_pool_info(p, &info);
        ck_assert_uint_ge(info.workers_started, 2 + in.n / maxes[k] - 2);
        ck_assert_uint_eq(info.workers_died, 0);
        inputs_free(&in);
        ipcm_test_pool_done(p, TIMEOUT_MS);
    }
}
END_TEST

static atomic_int *init_calls;

static int init_count(unsigned worker, void *arg)
{
    (void)worker, (void)arg;
    inits_here++;
    atomic_fetch_add(init_calls, 1);
    return 0;
}

static int init_fail_third(unsigned worker, void *arg)
{
    (void)arg;
    return worker == 2 ? -EACCES : 0;
}

START_TEST(initializer_runs_once_per_worker)
{
    init_calls =
        mmap(NULL, sizeof(*init_calls), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(init_calls, MAP_FAILED);
    struct ipcm_pool_options opt = {.initializer = init_count};
    struct ipcm_pool *p = ipcm_test_pool_new(3, be, &opt);
    ck_assert_int_eq(atomic_load(init_calls), 3);
    struct inputs in;
    inputs_make(&in, 60);
    for (size_t i = 0; i < in.n; i++)
        in.t[i].act = ACT_INITS;
    ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, 1, in.r, TIMEOUT_MS), 0);
    for (size_t i = 0; i < in.n; i++)
        ck_assert_int_eq(*(uint32_t *)in.r[i].data, 1);
    inputs_free(&in);
    ck_assert_int_eq(atomic_load(init_calls), 3);
    ipcm_test_pool_done(p, TIMEOUT_MS);

    /* A failing initializer: a clear creation error, no respawn loop, nothing left. */
    struct ipcm_pool_options bad = {.initializer = init_fail_third};
    ck_assert_int_eq(ipcm_pool_create(&p, 5, be, &bad), -EACCES);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ck_assert_int_eq(ipcm_test_fd_count(), ipcm_test_fds_marked());
    munmap(init_calls, sizeof(*init_calls));
}
END_TEST

START_TEST(pool_of_zero_workers_is_invalid)
{
    struct ipcm_pool *p = (struct ipcm_pool *)1;
    ck_assert_int_eq(ipcm_pool_create(&p, 0, be, NULL), -EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(ipcm_pool_create(&p, 2, NULL, NULL), -EINVAL);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
}
END_TEST

START_TEST(oversize_input_fails_the_map_naming_the_limit)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct ipcm_pool_info info;
    struct ipcm_pool_error e;
    ipcm_pool_info(p, &info);
    size_t big = info.max_task_bytes + 1;
    unsigned char *buf = calloc(1, big);
    struct ipcm_pool_buf b[3] = {{buf, 4}, {buf, big}, {buf, 4}};
    struct ipcm_pool_result r[3];
    ck_assert_int_eq(ipcm_pool_map(p, task_reverse, b, 3, 1, r, TIMEOUT_MS), -EMSGSIZE);
    ipcm_pool_last_error(p, &e);
    ck_assert_uint_eq(e.index, 1);
    ck_assert_ptr_nonnull(strstr(e.what, "at most"));
    /* A result that claims more than its room is that task's own -EMSGSIZE. */
    struct tin t[3] = {{.x = 1}, {.x = 2, .act = ACT_HUGE}, {.x = 3}};
    struct ipcm_pool_buf tb[3] = {
        {&t[0], sizeof(t[0])}, {&t[1], sizeof(t[1])}, {&t[2], sizeof(t[2])}};
    ck_assert_int_eq(ipcm_pool_map(p, task, tb, 3, 3, r, TIMEOUT_MS), -EREMOTEIO);
    ck_assert_int_eq(r[1].status, -EMSGSIZE);
    ck_assert_int_eq(r[0].status, 0);
    ck_assert_int_eq(r[2].status, 0);
    ipcm_pool_results_free(r, 3);
    /* The largest input that fits goes through, and so does a chunk of them (split). */
    struct ipcm_pool_buf ok[5];
    for (int i = 0; i < 5; i++)
        ok[i] = (struct ipcm_pool_buf){buf, info.max_task_bytes - (size_t)i * 8};
    for (size_t i = 0; i < info.max_task_bytes; i++)
        buf[i] = (unsigned char)(i * 7);
    struct ipcm_pool_result r5[5];
    ck_assert_int_eq(ipcm_pool_map(p, task_reverse, ok, 5, 5, r5, TIMEOUT_MS), 0);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(r5[i].len, ok[i].len);
        ck_assert_uint_eq(((unsigned char *)r5[i].data)[0], buf[ok[i].len - 1]);
    }
    ipcm_pool_results_free(r5, 5);
    free(buf);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(small_tasks_split_across_messages_keep_their_order)
{
    /* Chunks of 50 tasks of 100 B with 1 KiB messages: every chunk is split. */
    struct ipcm_pool_options opt = {.max_msg = 1024};
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, &opt);
    enum { N = 400, SZ = 100 };
    unsigned char *data = malloc(N * SZ);
    struct ipcm_pool_buf b[N];
    struct ipcm_pool_result r[N];
    for (size_t i = 0; i < N * SZ; i++)
        data[i] = (unsigned char)(i * 13 + 5);
    for (size_t i = 0; i < N; i++)
        b[i] = (struct ipcm_pool_buf){data + i * SZ, SZ};
    ck_assert_int_eq(ipcm_pool_map(p, task_reverse, b, N, 50, r, TIMEOUT_MS), 0);
    for (size_t i = 0; i < N; i++) {
        ck_assert_uint_eq(r[i].len, SZ);
        for (size_t k = 0; k < SZ; k++)
            ck_assert_uint_eq(((unsigned char *)r[i].data)[k], data[i * SZ + SZ - 1 - k]);
    }
    ipcm_pool_results_free(r, N);
    free(data);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(apply_runs_one_task)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct tin t = {.x = 41};
    struct ipcm_pool_result r;
    uint32_t y;
    ck_assert_int_eq(ipcm_pool_apply(p, task, &t, sizeof(t), &r, TIMEOUT_MS), 0);
    memcpy(&y, r.data, sizeof(y));
    ck_assert_uint_eq(y, f_serial(41));
    ipcm_pool_results_free(&r, 1);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(many_workers_map_and_shut_down)
{
    struct ipcm_pool *p = NULL;
    int r = ipcm_pool_create(&p, 24, be, NULL);
    if (r == -EMFILE || r == -ENOSPC || r == -ENOMEM) {
        /* A host limit (RLIMIT_MSGQUEUE, queues_max, RLIMIT_NOFILE): reported, not hung. */
        ck_assert_ptr_null(p);
        ck_assert_int_eq(ipcm_test_child_count(), 0);
        return;
    }
    ck_assert_int_eq(r, 0);
    struct inputs in;
    inputs_make(&in, 1000);
    ck_assert_int_eq(ipcm_pool_map(p, task, in.b, in.n, 0, in.r, TIMEOUT_MS), 0);
    check_serial(&in, SIZE_MAX);
    inputs_free(&in);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/*
 * The collector gives its CPU up (sched_yield) in case a worker shares it; beside a busy
 * process on the same CPU such a yield loses the CPU for a whole slice, and the
 * collector must then sleep in poll(2) instead (pool_yield). Everything here is
 * pinned to one CPU with a process that never sleeps: the maps must still complete and
 * be right (never a hang, never a lost result).
 */
START_TEST(map_beside_a_busy_process_on_one_cpu)
{
    cpu_set_t old, one;
    ck_assert_int_eq(sched_getaffinity(0, sizeof(old), &old), 0);
    int cpu = -1;
    for (int c = 0; c < CPU_SETSIZE && cpu < 0; c++)
        if (CPU_ISSET(c, &old))
            cpu = c;
    ck_assert_int_ge(cpu, 0);
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
    pid_t busy = fork();
    ck_assert_int_ge(busy, 0);
    if (busy == 0) {
        /* Bounded even if nobody kills it. */
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do
            clock_gettime(CLOCK_MONOTONIC, &t);
        while (t.tv_sec - t0.tv_sec < 30);
        _exit(0);
    }
    /* One worker: on two or more CPUs the collector yields only in case a worker shares
     * its CPU, and here the busy process does. */
    struct ipcm_pool *p = ipcm_test_pool_new(1, be, NULL);
    /* Only a collector that can look without a system call (IPCM_CAP_READY) yields; the
     * others sleep in a receive or poll(2), slowly beside a busy process: fewer tasks. */
    size_t n = ipcm_backend_caps(be) & IPCM_CAP_READY ? 20000 : 2000;
    for (int round = 0; round < 3; round++)
        map_still_works(p, n, 1);
    kill(busy, SIGKILL);
    int st;
    ck_assert_int_eq(waitpid(busy, &st, 0), busy);
    ipcm_test_pool_done(p, TIMEOUT_MS);
    ck_assert_int_eq(sched_setaffinity(0, sizeof(old), &old), 0);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, ipcm_test_fds_mark, NULL);
    tcase_add_test(tc, map_equals_serial_map);
    tcase_add_test(tc, default_chunksize_is_cpythons_rule);
    tcase_add_test(tc, map_unordered_yields_every_index_once);
    tcase_add_test(tc, failing_task_names_its_index_and_pool_stays_usable);
    tcase_add_test(tc, worker_sigkilled_mid_task_fails_the_map_and_is_replaced);
    tcase_add_test(tc, worker_segfault_is_reported_with_its_signal);
    tcase_add_test(tc, worker_abort_is_reported_with_its_signal);
    tcase_add_test(tc, worker_exit_99_is_reported_with_its_status);
    tcase_add_test(tc, worker_killed_from_outside_mid_task_never_hangs);
    tcase_add_test(tc, idle_worker_killed_is_replaced_silently);
    tcase_add_test(tc, crash_with_large_tasks_in_flight_is_an_error_not_a_hang);
    tcase_add_test(tc, terminate_of_a_busy_pool_returns_within_a_bound);
    tcase_add_test(tc, map_timeout_leaves_the_pool_usable);
    tcase_add_test(tc, map_async_equals_serial_map);
    tcase_add_test(tc, apply_async_runs_one_task);
    tcase_add_test(tc, map_async_prefix_comes_first);
    tcase_add_test(tc, map_async_wait_times_out_and_tasks_keep_running);
    tcase_add_test(tc, map_async_free_cancels_and_pool_stays_usable);
    tcase_add_test(tc, map_async_worker_death_is_reported);
    tcase_add_test(tc, terminate_cancels_map_async);
    tcase_add_test(tc, terminate_from_a_callback_is_refused);
    tcase_add_test(tc, close_then_join_drains_and_reaps);
    tcase_add_test(tc, use_after_close_or_terminate_is_a_clear_error);
    tcase_add_test(tc, recycling_starts_fresh_workers_and_completes_the_backlog);
    tcase_add_test(tc, initializer_runs_once_per_worker);
    tcase_add_test(tc, pool_of_zero_workers_is_invalid);
    tcase_add_test(tc, oversize_input_fails_the_map_naming_the_limit);
    tcase_add_test(tc, small_tasks_split_across_messages_keep_their_order);
    tcase_add_test(tc, apply_runs_one_task);
    tcase_add_test(tc, many_workers_map_and_shut_down);
    tcase_add_test(tc, map_beside_a_busy_process_on_one_cpu);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    struct ipcm_limits lim;
    be = ipcm_test_backend();
    if (!be || ipcm_backend_limits(be, &lim) < 0)
        return IPCM_TEST_SKIP;
    return ipcm_test_run(pool_suite());
}
