/* SPDX-License-Identifier: MIT */
/*
 * test_exec.c - the exec start method on the backend named by $IPCM_BACKEND: tokens,
 * ipcm_process_spawn_exec (only the handed-over descriptors cross the exec, read from
 * /proc/PID/fd in the child), and a pool whose workers are exec'd programs. A backend
 * without IPCM_CAP_EXEC must refuse with -ENOTSUP.
 */
#include "exec_task.h"
#include "handover.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_MS 20000

static const struct ipcm_backend *be;
static const char *helper;

static bool can_exec(void)
{
    return (ipcm_backend_caps(be) & IPCM_CAP_EXEC) != 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The list the helper should report: 0..2 where open here, then the token's fds. */
static void expected_fds(const int *fds, size_t n, char *buf, size_t len)
{
    int all[IPCM_HANDOVER_MAX_FDS + 3];
    size_t k = 0, off = 0;
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            all[k++] = fd;
    for (size_t i = 0; i < n; i++)
        all[k++] = fds[i];
    qsort(all, k, sizeof(all[0]), cmp_int);
    buf[0] = '\0';
    for (size_t i = 0; i < k; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%d", i ? "," : "", all[i]);
}

START_TEST(exec_child_holds_only_handed_over_fds)
{
    struct ipcm_link *l, *other;
    struct ipcm_chan *a;
    struct ipcm_process p;
    struct ipcm_exit ex;
    char tok[IPCM_TOKEN_MAX], want[512], got[512];
    int fds[IPCM_HANDOVER_MAX_FDS];
    size_t nfds;

    if (!can_exec())
        return;
    ck_assert_int_eq(ipcm_link_create(be, IPCM_SHAPE_PIPE, NULL, &l), 0);
    /* A second link, not handed over: none of its descriptors may reach the child. */
    ck_assert_int_eq(ipcm_link_create(be, IPCM_SHAPE_QUEUE, NULL, &other), 0);
    /* A descriptor opened without O_CLOEXEC does not cross either (close_fds). */
    int stray = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(stray, 0);
    ck_assert_int_eq(ipcm_handover_token(l, IPCM_ROLE_B, tok, sizeof(tok), fds, &nfds), 0);
    ck_assert_uint_gt(nfds, 0);
    expected_fds(fds, nfds, want, sizeof(want));

    char *const argv[] = {"exec_helper", "echo", NULL};
    const struct ipcm_handover end = {l, IPCM_ROLE_B};
    ck_assert_int_eq(ipcm_process_spawn_exec(&p, helper, argv, NULL, &end, 1), 0);
    ck_assert_int_gt(p.pid, 0);
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_A, &a), 0);
    ipcm_link_destroy(l);
    ipcm_link_destroy(other);
    close(stray);

    char *buf = malloc(ipcm_chan_max_msg(a));
    ssize_t n = ipcm_chan_recv(a, buf, ipcm_chan_max_msg(a), TIMEOUT_MS);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, (ssize_t)sizeof(got));
    memcpy(got, buf, (size_t)n);
    got[n] = '\0';
    ck_assert_str_eq(got, want);
    /* The end works both ways across the exec, in order. */
    for (uint32_t i = 0; i < 200; i++) {
        ck_assert_int_eq(ipcm_chan_send(a, &i, sizeof(i), TIMEOUT_MS), (ssize_t)sizeof(i));
        uint32_t j = ~0u;
        ck_assert_int_eq(ipcm_chan_recv(a, buf, ipcm_chan_max_msg(a), TIMEOUT_MS),
                         (ssize_t)sizeof(j));
        memcpy(&j, buf, sizeof(j));
        ck_assert_uint_eq(j, i);
    }
    ck_assert_int_eq(ipcm_chan_shutdown(a), 0);
    ck_assert_int_eq(ipcm_process_join(&p, TIMEOUT_MS, &ex), 0);
    ck_assert_int_eq(ex.code, 0);
    ck_assert_int_eq(ex.signal, 0);
    ipcm_chan_close(a);
    free(buf);
}
END_TEST

START_TEST(exec_missing_program_is_an_error_at_spawn)
{
    struct ipcm_link *l;
    struct ipcm_process p;
    char *const argv[] = {"nothing", NULL};
    if (!can_exec())
        return;
    ck_assert_int_eq(ipcm_link_create(be, IPCM_SHAPE_QUEUE, NULL, &l), 0);
    const struct ipcm_handover end = {l, IPCM_ROLE_RECV};
    ck_assert_int_eq(
        ipcm_process_spawn_exec(&p, "/nonexistent/ipcmark-helper", argv, NULL, &end, 1), -ENOENT);
    ck_assert_int_eq(p.pid, 0);
    ck_assert_int_eq(ipcm_test_child_count(), 0); /* reaped, no zombie */
    ipcm_link_destroy(l);
}
END_TEST

START_TEST(tokens_are_checked)
{
    struct ipcm_link *l;
    struct ipcm_chan *c = (struct ipcm_chan *)1;
    char tok[IPCM_TOKEN_MAX];
    ck_assert_int_eq(ipcm_chan_attach_token("nonsense", &c), -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(ipcm_chan_attach_token("ipcm1:nosuch:q:recv:64:4:1,2", &c), -ENOENT);
    ck_assert_int_eq(ipcm_chan_attach_token("ipcm1:pipe:x:recv:64:4:1,2", &c), -EINVAL);
    ck_assert_int_eq(ipcm_chan_attach_token("ipcm1:pipe:q:nobody:64:4:1,2", &c), -EINVAL);
    unsetenv(IPCM_LINK_ENV);
    ck_assert_int_eq(ipcm_chan_attach_env(0, &c), -ENOENT);
    ck_assert_int_eq(ipcm_link_create(be, IPCM_SHAPE_QUEUE, NULL, &l), 0);
    if (!can_exec()) {
        ck_assert_int_eq(ipcm_link_export_token(l, IPCM_ROLE_RECV, tok, sizeof(tok)), -ENOTSUP);
        ipcm_link_destroy(l);
        return;
    }
    ck_assert_int_eq(ipcm_link_export_token(l, IPCM_ROLE_A, tok, sizeof(tok)), -EINVAL);
    ck_assert_int_eq(ipcm_link_export_token(l, IPCM_ROLE_RECV, tok, 8), -ENOSPC);
    ck_assert_int_eq(ipcm_link_export_token(l, IPCM_ROLE_RECV, tok, sizeof(tok)), 0);
    ck_assert_int_eq(strncmp(tok, "ipcm1:", 6), 0);
    ck_assert_ptr_null(strchr(tok, ' '));
    /* A token whose descriptors are not open here is refused, not trusted. */
    char bad[IPCM_TOKEN_MAX];
    snprintf(bad, sizeof(bad), "ipcm1:%s:q:recv:64:4:%s", ipcm_backend_name(be),
             "1000,1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014");
    ck_assert_int_lt(ipcm_chan_attach_token(bad, &c), 0);
    ck_assert_ptr_null(c);
    ipcm_link_destroy(l);
}
END_TEST

START_TEST(pool_map_with_exec_start_equals_serial_map)
{
    enum { N = 10000 };
    struct ipcm_pool *pool;
    char *const argv[] = {"exec_helper", "pool", NULL};
    const struct ipcm_pool_start start = {.method = IPCM_START_EXEC, .path = helper, .argv = argv};
    if (!can_exec()) {
        ck_assert_int_eq(ipcm_pool_create_start(&pool, 2, be, NULL, &start), -ENOTSUP);
        return;
    }
    uint32_t *x = malloc(N * sizeof(*x));
    struct ipcm_pool_buf *in = malloc(N * sizeof(*in));
    struct ipcm_pool_result *out = calloc(N, sizeof(*out));
    for (uint32_t i = 0; i < N; i++) {
        x[i] = i * 7919u;
        in[i] = (struct ipcm_pool_buf){&x[i], sizeof(x[i])};
    }
    ck_assert_int_eq(ipcm_pool_create_start(&pool, 2, be, NULL, &start), 0);
    /* fn is not called in exec'd workers (their program's own runs), so pass NULL-safe
     * exec_task, the same function, for readers. */
    ck_assert_int_eq(ipcm_pool_map(pool, exec_task, in, N, 0, out, TIMEOUT_MS * 3), 0);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t y;
        ck_assert_int_eq(out[i].status, 0);
        ck_assert_uint_eq(out[i].len, sizeof(y));
        memcpy(&y, out[i].data, sizeof(y));
        ck_assert_uint_eq(y, exec_task_value(x[i]));
    }
    ck_assert_int_eq(ipcm_pool_close(pool), 0);
    ck_assert_int_eq(ipcm_pool_join(pool, TIMEOUT_MS), 0);
    ipcm_pool_destroy(pool);
    ipcm_pool_results_free(out, N);
    free(out);
    free(in);
    free(x);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
}
END_TEST

static Suite *exec_suite(void)
{
    Suite *s = suite_create("exec");
    TCase *tc = tcase_create("exec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tokens_are_checked);
    tcase_add_test(tc, exec_child_holds_only_handed_over_fds);
    tcase_add_test(tc, exec_missing_program_is_an_error_at_spawn);
    tcase_add_test(tc, pool_map_with_exec_start_equals_serial_map);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    be = ipcm_test_backend();
    helper = getenv("IPCM_EXEC_HELPER");
    if (!be || !helper) {
        fprintf(stderr, "test_exec: set IPCM_BACKEND and IPCM_EXEC_HELPER\n");
        return 77;
    }
    return ipcm_test_run(exec_suite());
}
