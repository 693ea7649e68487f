/* SPDX-License-Identifier: MIT */
/*
 * test_process.c - spawn, join, kill, the start gate and the worker crew.
 */
#include "testutil.h"

#include "base.h"
#include "crew.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int exit_with(const void *arg, size_t len)
{
    int code;
    ck_assert_uint_eq(len, sizeof(code));
    memcpy(&code, arg, sizeof(code));
    return code;
}

static int sleep_forever(const void *arg, size_t len)
{
    (void)arg, (void)len;
    for (;;)
        pause();
    return 0;
}

static int crash(const void *arg, size_t len)
{
    (void)arg, (void)len;
    /* Die by the signal itself, even under ASan, which would trap it. */
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return 0;
}

START_TEST(join_returns_exit_status_and_arguments_arrive)
{
    struct ipcm_process p;
    struct ipcm_exit ex;
    int code = 42;
    ck_assert_int_eq(ipcm_process_spawn(&p, "exit42", exit_with, &code, sizeof(code)), 0);
    ck_assert_int_eq(ipcm_process_join(&p, 5000, &ex), 0);
    ck_assert_int_eq(ex.code, 42);
    ck_assert_int_eq(ex.signal, 0);
    ck_assert(!ipcm_exit_ok(&ex));
    ck_assert_int_eq(ipcm_process_join(&p, 0, &ex), -ECHILD);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
}
END_TEST

START_TEST(join_times_out_then_stop_kills_and_reaps)
{
    struct ipcm_process p;
    struct ipcm_exit ex;
    char why[48];
    ck_assert_int_eq(ipcm_process_spawn(&p, "sleeper", sleep_forever, NULL, 0), 0);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_process_join(&p, 200, &ex), -ETIMEDOUT);
    ck_assert_uint_ge(ipcm_now_ns() - t0, 150 * IPCM_NS_PER_MS);
    ck_assert_int_eq(ipcm_process_stop(&p, 10, &ex), 0);
    ck_assert_int_eq(ex.signal, SIGKILL);
    ck_assert_str_eq(ipcm_exit_describe(&ex, why, sizeof(why)), "killed by SIGKILL");
    ck_assert_int_eq(ipcm_test_child_count(), 0);
}
END_TEST

START_TEST(death_by_signal_is_reported)
{
    struct ipcm_process p;
    struct ipcm_exit ex;
    ck_assert_int_eq(ipcm_process_spawn(&p, "crasher", crash, NULL, 0), 0);
    ck_assert_int_eq(ipcm_process_join(&p, 5000, &ex), 0);
    ck_assert_int_eq(ex.signal, SIGSEGV);
    ck_assert_int_eq(ex.code, -1);
}
END_TEST

static struct ipcm_gate gate;

static int gated_worker(const void *arg, size_t len)
{
    (void)arg, (void)len;
    return ipcm_gate_worker(&gate, 5000) == 0 ? 0 : 1;
}

START_TEST(gate_releases_all_workers_once_all_are_ready)
{
    struct ipcm_process p[4];
    int fds = ipcm_test_fd_count();
    ck_assert_int_eq(ipcm_gate_create(&gate), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(ipcm_process_spawn(&p[i], "gated", gated_worker, NULL, 0), 0);
    ck_assert_int_eq(ipcm_gate_open(&gate, 4, 5000), 0);
    for (int i = 0; i < 4; i++) {
        struct ipcm_exit ex;
        ck_assert_int_eq(ipcm_process_join(&p[i], 5000, &ex), 0);
        ck_assert(ipcm_exit_ok(&ex));
    }
    ipcm_gate_destroy(&gate);
    ck_assert_int_eq(ipcm_test_fd_count(), fds);
}
END_TEST

START_TEST(gate_reports_a_worker_that_never_arrives)
{
    struct ipcm_process p;
    struct ipcm_exit ex;
    ck_assert_int_eq(ipcm_gate_create(&gate), 0);
    ck_assert_int_eq(ipcm_process_spawn(&p, "gated", gated_worker, NULL, 0), 0);
    /* Two expected, one comes: EOF once it has reported, so -EPIPE, never a hang. */
    int r = ipcm_gate_open(&gate, 2, 2000);
    ck_assert(r == -EPIPE || r == -ETIMEDOUT);
    ipcm_gate_destroy(&gate);
    ipcm_process_stop(&p, 2000, &ex);
}
END_TEST

static struct ipcm_crew crew = IPCM_CREW_INIT;

/* Waits at the crew's gate, then exits with the code it was given. */
static int crew_worker(const void *arg, size_t len)
{
    if (ipcm_gate_worker(&crew.gate, 5000) < 0)
        return 99;
    return exit_with(arg, len);
}

START_TEST(crew_names_the_first_worker_that_failed)
{
    int fds = ipcm_test_fd_count();
    char why[96];
    static const int codes[3] = {0, 3, 4};
    static const char *const names[3] = {"crew-0", "crew-1", "crew-2"};
    ck_assert_int_eq(ipcm_crew_init(&crew, 3), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ipcm_crew_spawn(&crew, names[i], crew_worker, &codes[i], sizeof(int)), 0);
    ck_assert_int_eq(ipcm_crew_spawn(&crew, "extra", crew_worker, &codes[0], sizeof(int)), -ENOSPC);
    ck_assert_int_eq(ipcm_crew_start(&crew, 5000), 0);
    ck_assert_int_eq(ipcm_crew_join(&crew, 5000, why, sizeof(why)), -EPROTO);
    ck_assert_int_eq(crew.failed, 1);
    ck_assert_int_eq(crew.m[1].ex.code, 3);
    ck_assert_int_eq(crew.m[2].ex.code, 4);
    ck_assert_msg(strncmp(why, "worker 'crew-1' (pid ", 21) == 0, "why: %s", why);
    ck_assert_msg(strstr(why, ") exit 3") != NULL, "why: %s", why);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ipcm_crew_stop(&crew);
    ipcm_crew_stop(&crew); /* idempotent */
    ck_assert_int_eq(ipcm_test_fd_count(), fds);
}
END_TEST

START_TEST(crew_start_times_out_on_a_worker_that_never_arrives_and_leaves_no_child)
{
    int fds = ipcm_test_fd_count(), code = 0;
    ck_assert_int_eq(ipcm_crew_init(&crew, 2), 0);
    ck_assert_int_eq(ipcm_crew_spawn(&crew, "gated", crew_worker, &code, sizeof(code)), 0);
    ck_assert_int_eq(ipcm_crew_spawn(&crew, "sleeper", sleep_forever, NULL, 0), 0);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_crew_start(&crew, 300), -ETIMEDOUT);
    ck_assert_uint_ge(ipcm_now_ns() - t0, 250 * IPCM_NS_PER_MS);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ck_assert(crew.m[1].killed);
    ck_assert_int_eq(crew.m[1].ex.signal, SIGKILL);
    ipcm_crew_stop(&crew);
    ck_assert_int_eq(ipcm_test_fd_count(), fds);
}
END_TEST

START_TEST(crew_join_kills_a_worker_still_running_at_the_deadline)
{
    char why[96];
    int code = 0;
    ck_assert_int_eq(ipcm_crew_init(&crew, 2), 0);
    ck_assert_int_eq(ipcm_crew_spawn(&crew, "quick", exit_with, &code, sizeof(code)), 0);
    ck_assert_int_eq(ipcm_crew_spawn(&crew, "sleeper", sleep_forever, NULL, 0), 0);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_crew_join(&crew, 200, why, sizeof(why)), -ETIMEDOUT);
    ck_assert_uint_ge(ipcm_now_ns() - t0, 150 * IPCM_NS_PER_MS);
    ck_assert_int_eq(crew.failed, 1);
    ck_assert(ipcm_exit_ok(&crew.m[0].ex));
    ck_assert_msg(strstr(why, "'sleeper'") && strstr(why, "killed by SIGKILL at the deadline"),
                  "why: %s", why);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ipcm_crew_stop(&crew);
}
END_TEST

static Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("process");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, join_returns_exit_status_and_arguments_arrive);
    tcase_add_test(tc, join_times_out_then_stop_kills_and_reaps);
    tcase_add_test(tc, death_by_signal_is_reported);
    tcase_add_test(tc, gate_releases_all_workers_once_all_are_ready);
    tcase_add_test(tc, gate_reports_a_worker_that_never_arrives);
    tcase_add_test(tc, crew_names_the_first_worker_that_failed);
    tcase_add_test(tc, crew_start_times_out_on_a_worker_that_never_arrives_and_leaves_no_child);
    tcase_add_test(tc, crew_join_kills_a_worker_still_running_at_the_deadline);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(process_suite());
}
