/* SPDX-License-Identifier: MIT */
/*
 * test_sysv.c - no System V queue outlives its users: the journal (base/sysv.c), the
 * sysvmq backend's last-holder removal and the sweep after a killed holder (the guard
 * after a SIGKILL of the whole tree: tests/hostile, sysv_tree_killed). Counting cases
 * run in a private IPC namespace.
 */
#include "testutil.h"

#include "base.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

/* Queues in this IPC namespace (MSG_INFO: msgpool is the number in use). */
static int queues_here(void)
{
    struct msginfo mi;
    int r = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&mi);
    ck_assert_int_ge(r, 0);
    return mi.msgpool;
}

/* A private IPC namespace for this test process (libcheck forks one per test), so
 * that counting queues sees ours only. */
static bool private_ipc(void)
{
    return unshare(CLONE_NEWIPC) == 0;
}

/* Whether this host lets us have one (root, or CAP_SYS_ADMIN); probed in a child. */
static bool private_ipc_possible(void)
{
    int st;
    pid_t pid = fork();
    if (pid == 0)
        _exit(private_ipc() ? 0 : 1);
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static bool queue_exists(int id)
{
    struct msqid_ds ds;
    return msgctl(id, IPC_STAT, &ds) == 0;
}

static const struct ipcm_backend *sysvmq(void)
{
    const struct ipcm_backend *be = ipcm_backend_find("sysvmq");
    ck_assert_ptr_nonnull(be);
    return be;
}

START_TEST(journal_records_removes_once_and_sweeps)
{
    ck_assert_int_eq(ipcm_sysv_journal_init(), 0);
    ck_assert(ipcm_sysv_journal_active());
    ck_assert_int_eq(ipcm_sysv_record(0, 1), -EINVAL);
    ck_assert_int_eq(ipcm_sysv_record(IPCM_SYSV_MSG, -1), -EINVAL);
    int a = msgget(IPC_PRIVATE, IPC_CREAT | 0600), b = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(ipcm_sysv_record(IPCM_SYSV_MSG, a), 0);
    ck_assert_int_eq(ipcm_sysv_record(IPCM_SYSV_MSG, b), 0);
    ck_assert_int_eq(ipcm_sysv_remove(IPCM_SYSV_MSG, a), 0);
    ck_assert(!queue_exists(a));
    ck_assert_int_eq(ipcm_sysv_remove(IPCM_SYSV_MSG, a), 0); /* the racing second holder */
    ck_assert(queue_exists(b));
    ck_assert_int_eq(ipcm_sysv_sweep(), 1); /* b only: a left the journal */
    ck_assert(!queue_exists(b));
    ck_assert_int_eq(ipcm_sysv_sweep(), 0);
}
END_TEST

/* End B of a pipe link: echo one message, then close. */
static int echo_b(struct ipcm_link *l)
{
    struct ipcm_chan *c;
    char buf[64];
    if (ipcm_chan_open(l, IPCM_ROLE_B, &c) < 0)
        return 1;
    ssize_t n = ipcm_chan_recv(c, buf, sizeof(buf), 5000);
    if (n != 5 || ipcm_chan_send(c, buf, (size_t)n, 5000) != n)
        return 2;
    ipcm_chan_close(c);
    return 0;
}

START_TEST(last_holder_removes_without_a_journal)
{
    ck_assert(private_ipc());
    struct ipcm_link *l;
    struct ipcm_config cfg = {.max_msg = 64, .depth = 4};
    ck_assert_int_eq(ipcm_link_create(sysvmq(), IPCM_SHAPE_PIPE, &cfg, &l), 0);
    ck_assert_int_eq(queues_here(), 2);
    pid_t pid = fork();
    if (pid == 0)
        _exit(echo_b(l));
    struct ipcm_chan *c;
    char buf[64];
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_A, &c), 0);
    ipcm_link_destroy(l);
    ck_assert_int_eq(ipcm_chan_send(c, "hello", 5, 5000), 5);
    ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), 5000), 5);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(queues_here(), 2); /* we still hold end A */
    ipcm_chan_close(c);
    ck_assert_int_eq(queues_here(), 0);
}
END_TEST

START_TEST(killed_last_holder_is_swept_by_the_runner)
{
    ck_assert(private_ipc());
    ck_assert_int_eq(ipcm_sysv_journal_init(), 0);
    struct ipcm_link *l;
    ck_assert_int_eq(ipcm_link_create(sysvmq(), IPCM_SHAPE_QUEUE, NULL, &l), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct ipcm_chan *c;
        if (ipcm_chan_open(l, IPCM_ROLE_RECV, &c) == 0)
            pause();
        _exit(1);
    }
    ipcm_link_destroy(l); /* the child holds it now */
    ck_assert_int_eq(queues_here(), 1);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    /* Nobody released it: the kernel keeps it; only the journal knows. */
    ck_assert_int_eq(queues_here(), 1);
    ck_assert_int_eq(ipcm_sysv_sweep(), 1);
    ck_assert_int_eq(queues_here(), 0);
}
END_TEST

START_TEST(depth_bounds_bytes_and_limits_are_named)
{
    struct ipcm_limits lim;
    ck_assert_int_eq(ipcm_backend_limits(sysvmq(), &lim), 0);
    ck_assert_ptr_nonnull(strstr(lim.max_msg_source, "kernel.msg"));
    ck_assert_int_eq(lim.max_depth, 0);
    ck_assert_int_gt(lim.buffer_bytes, 0);
    struct ipcm_link *l = NULL;
    struct ipcm_config big = {.max_msg = lim.max_msg + 1};
    ck_assert_int_eq(ipcm_link_create(sysvmq(), IPCM_SHAPE_QUEUE, &big, &l), -EMSGSIZE);
    struct ipcm_config deep = {.max_msg = 1, .depth = (unsigned)lim.buffer_bytes + 1};
    ck_assert_int_eq(ipcm_link_create(sysvmq(), IPCM_SHAPE_QUEUE, &deep, &l), -EINVAL);
    ck_assert_ptr_null(l);
    /* depth 4 of 100 B: exactly four fit, whatever else the host would allow. */
    struct ipcm_config cfg = {.max_msg = 100, .depth = 4};
    struct ipcm_chan *c;
    char buf[100] = {0};
    ck_assert_int_eq(ipcm_link_create(sysvmq(), IPCM_SHAPE_QUEUE, &cfg, &l), 0);
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), 0);
    int n = 0;
    while (n < 100 && ipcm_chan_send(c, buf, 100, 0) == 100)
        n++;
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(ipcm_chan_qsize(c), 4);
    ck_assert_int_eq(ipcm_chan_send(c, buf, 100, 20), -ETIMEDOUT);
    ipcm_chan_close(c);
    ipcm_link_destroy(l);
}
END_TEST

int main(void)
{
    struct ipcm_limits lim;
    const struct ipcm_backend *be = ipcm_backend_find("sysvmq");
    if (!be || ipcm_backend_limits(be, &lim) < 0) {
        fprintf(stderr, "skipped: System V message queues are not available here\n");
        return IPCM_TEST_SKIP;
    }
    Suite *s = suite_create("sysv");
    TCase *tc = tcase_create("sysv");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, journal_records_removes_once_and_sweeps);
    tcase_add_test(tc, depth_bounds_bytes_and_limits_are_named);
    if (private_ipc_possible()) {
        tcase_add_test(tc, last_holder_removes_without_a_journal);
        tcase_add_test(tc, killed_last_holder_is_swept_by_the_runner);
    } else {
        fprintf(stderr, "not run: the queue-counting cases need a private IPC namespace "
                        "(unshare(CLONE_NEWIPC): root or CAP_SYS_ADMIN)\n");
    }
    suite_add_tcase(s, tc);
    return ipcm_test_run(s);
}
