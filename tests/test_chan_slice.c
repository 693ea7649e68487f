/* SPDX-License-Identifier: MIT */
/*
 * test_chan_slice.c - slices (ipcm_chan_send_slice / recv_slice), message priorities
 * (ipcm_chan_send_prio / recv_prio, IPCM_CAP_PRIORITY) and the stream backends' test-only
 * I/O-shrinking hook (testing.h), on the backend named by $IPCM_BACKEND.
 */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testing.h"

static const struct ipcm_backend *be;

/* A queue end that both sends and receives (nothing forked), max_msg bytes, depth 8. */
static struct ipcm_chan *open_both(size_t max_msg)
{
    struct ipcm_config cfg = {.max_msg = max_msg, .depth = 8};
    struct ipcm_link *l = NULL;
    struct ipcm_chan *c = NULL;
    ck_assert_int_eq(ipcm_link_create(be, IPCM_SHAPE_QUEUE, &cfg, &l), 0);
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), 0);
    ipcm_link_destroy(l);
    return c;
}

START_TEST(slice_roundtrip)
{
    int fds = ipcm_test_fd_count();
    struct ipcm_chan *c = open_both(128);
    unsigned char buf[100], in[8 + 128 + 8];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i + 1);
    /* A middle slice, then the empty one at the very end. */
    ck_assert_int_eq(ipcm_chan_send_slice(c, buf, sizeof(buf), 10, 50, 1000), 50);
    ck_assert_int_eq(ipcm_chan_send_slice(c, buf, sizeof(buf), sizeof(buf), 0, 1000), 0);
    memset(in, 0xee, sizeof(in));
    ck_assert_int_eq(ipcm_chan_recv_slice(c, in, sizeof(in), 8, 128, 1000), 50);
    ck_assert_mem_eq(in + 8, buf + 10, 50);
    for (size_t i = 0; i < sizeof(in); i++)
        if (i < 8 || i >= 58)
            ck_assert_uint_eq(in[i], 0xee);
    ck_assert_int_eq(ipcm_chan_recv_slice(c, in, sizeof(in), 0, 128, 1000), 0);
    ipcm_chan_close(c);
    ck_assert_int_eq(ipcm_test_fd_count(), fds);
}
END_TEST

START_TEST(slice_refused)
{
    struct ipcm_chan *c = open_both(128);
    unsigned char buf[100] = {0}, big[300] = {0};
    /* Outside the buffer, with the sums that would wrap around SIZE_MAX. */
    const size_t bad[][2] = {{101, 0}, {100, 1}, {1, 100}, {SIZE_MAX, 2}, {2, SIZE_MAX},
                             {SIZE_MAX - 7, 16}};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        ssize_t r = ipcm_chan_send_slice(c, buf, sizeof(buf), bad[k][0], bad[k][1], 0);
        ck_assert_int_eq(r, -EINVAL);
        const char *why = ipcm_last_error((int)r);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, "100 bytes") && strstr(why, ipcm_backend_name(be)), "%s", why);
    }
    ck_assert_int_eq(ipcm_chan_send_slice(c, NULL, 4, 0, 1, 0), -EINVAL);
    ck_assert_int_eq(ipcm_chan_send_slice(c, NULL, 0, 0, 0, 0), 0); /* empty, like send */
    ck_assert_int_eq(ipcm_chan_recv(c, big, sizeof(big), 1000), 0);
    ssize_t r = ipcm_chan_send_slice(c, big, sizeof(big), 0, 129, 0);
    ck_assert_int_eq(r, -EMSGSIZE);
    ck_assert_ptr_nonnull(strstr(ipcm_last_error((int)r), "129"));
    ck_assert_int_eq(ipcm_chan_recv_slice(c, big, sizeof(big), 0, 127, 0), -EMSGSIZE);
    ck_assert_int_eq(ipcm_chan_recv_slice(c, big, sizeof(big), 200, 128, 0), -EINVAL);
    ck_assert_int_eq(ipcm_chan_recv_slice(c, NULL, 0, 0, 128, 0), -EINVAL);
    /* Nothing was sent by any refused call. */
    ck_assert_int_eq(ipcm_chan_recv(c, big, sizeof(big), 0), -EAGAIN);
    ck_assert_int_eq(ipcm_chan_send_slice(NULL, buf, 1, 0, 1, 0), -EBADF);
    ipcm_chan_close(c);
}
END_TEST

START_TEST(priority)
{
    struct ipcm_chan *c = open_both(64);
    unsigned char b[64] = {0};
    unsigned p = 99;
    if (!(ipcm_backend_caps(be) & IPCM_CAP_PRIORITY)) {
        /* No priorities: refused, never silently ignored. */
        ck_assert_int_eq(ipcm_chan_send_prio(c, b, 1, 1, 0), -ENOTSUP);
        ck_assert_int_eq(ipcm_chan_recv_prio(c, b, sizeof(b), &p, 0), -ENOTSUP);
        ipcm_chan_close(c);
        return;
    }
    static const unsigned prio[] = {0, 5, 5, 2, 31}, want[] = {4, 1, 2, 3, 0};
    for (unsigned i = 0; i < 5; i++) {
        b[0] = (unsigned char)i;
        ck_assert_int_eq(ipcm_chan_send_prio(c, b, 1, prio[i], 0), 1);
    }
    for (unsigned i = 0; i < 5; i++) {
        ck_assert_int_eq(ipcm_chan_recv_prio(c, b, sizeof(b), &p, 1000), 1);
        ck_assert_uint_eq(b[0], want[i]);
        ck_assert_uint_eq(p, prio[want[i]]);
    }
    long top = sysconf(_SC_MQ_PRIO_MAX);
    ssize_t r = ipcm_chan_send_prio(c, b, 1, (unsigned)top, 0);
    ck_assert_int_eq(r, -EINVAL);
    ck_assert_ptr_nonnull(strstr(ipcm_last_error((int)r), "MQ_PRIO_MAX"));
    ck_assert_int_eq(ipcm_chan_send_prio(c, b, 1, (unsigned)top - 1, 0), 1);
    ck_assert_int_eq(ipcm_chan_recv_prio(c, b, sizeof(b), NULL, 1000), 1); /* NULL prio */
    ck_assert_int_eq(ipcm_chan_send_prio(c, b, 65, 0, 0), -EMSGSIZE);
    ck_assert_int_eq(ipcm_chan_recv_prio(c, b, 63, &p, 0), -EMSGSIZE);
    ipcm_chan_close(c);
}
END_TEST

/* Echo every message back on end B until end-of-stream; the exit status says how it went. */
static void echo_child(struct ipcm_link *l)
{
    static unsigned char b[4000];
    struct ipcm_chan *c = NULL;
    if (ipcm_chan_open(l, IPCM_ROLE_B, &c) < 0)
        _exit(2);
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, b, sizeof(b), 10000);
        if (n == -EPIPE)
            _exit(0);
        if (n < 0 || ipcm_chan_send(c, b, (size_t)n, 10000) != n)
            _exit(1);
    }
}

/* Send each size over end A and compare the echo. */
static void exchange(struct ipcm_chan *c, const size_t *sizes, size_t n)
{
    static unsigned char out[4000], in[4000];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (unsigned char)(i * 13 + 5);
    for (size_t k = 0; k < n; k++) {
        ck_assert_int_eq(ipcm_chan_send(c, out, sizes[k], 10000), (ssize_t)sizes[k]);
        ck_assert_int_eq(ipcm_chan_recv(c, in, sizeof(in), 10000), (ssize_t)sizes[k]);
        ck_assert_mem_eq(in, out, sizes[k]);
    }
}

START_TEST(short_io_hook)
{
    /* The hook refuses what would let a pipe's first read cross a frame. */
    ck_assert_int_eq(ipcm_frame_test_short_io(8, 1, 0), -EINVAL);
    ck_assert_int_eq(ipcm_frame_test_short_io(0, 3, 0), -EINVAL);
    struct ipcm_config cfg = {.max_msg = 4000};
    struct ipcm_link *l = NULL;
    struct ipcm_chan *c = NULL;
    int fds = ipcm_test_fd_count();
    ck_assert_int_eq(ipcm_link_create(be, IPCM_SHAPE_PIPE, &cfg, &l), 0);
    /* Armed before the fork: the echoing child cuts its I/O too. */
    ck_assert_int_ge(ipcm_frame_test_short_io(1, 3, 0), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        echo_child(l);
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_A, &c), 0);
    ipcm_link_destroy(l);
    static const size_t sizes[] = {0, 1, 7, 8, 9, 100, 1000, 3000};
    exchange(c, sizes, 8);
    /* Here: each echo took 8 + n one-byte reads, each send (8 + n) / 3 writes at least. */
    int cut = ipcm_frame_test_short_io(7, 7, 42);
    ck_assert_int_ge(cut, (8 * 8 + 4125) + (8 * 8 + 4125) / 3);
    exchange(c, sizes, 8);
    ck_assert_int_gt(ipcm_frame_test_short_io(0, 0, 0), 2 * 8);
    /* Disarmed here (the child still cuts): whole frames on this side, uncounted. */
    exchange(c, sizes, 8);
    ck_assert_int_eq(ipcm_frame_test_short_io(0, 0, 0), 0);
    ipcm_chan_close(c);
    int st = -1;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(ipcm_test_fd_count(), fds);
}
END_TEST

static Suite *slice_suite(void)
{
    Suite *s = suite_create("chan_slice");
    be = ipcm_test_backend();
    if (!be)
        return s;
    TCase *tc = tcase_create("slice");
    tcase_add_test(tc, slice_roundtrip);
    tcase_add_test(tc, slice_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("priority");
    tcase_add_test(tc, priority);
    suite_add_tcase(s, tc);
    /* The hook lives in the stream framing (frame.c) only. */
    if (ipcm_backend_caps(be) & IPCM_CAP_STREAM) {
        tc = tcase_create("short_io");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, short_io_hook);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return ipcm_test_run(slice_suite());
}
