/* SPDX-License-Identifier: MIT */
/*
 * test_process.c - spawn, join, kill and the start gate.
 */
#include "testutil.h"

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
    ck_assert_uint_ge(ipcm_now_ns() - t0, 150000000u);
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
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(process_suite());
}
