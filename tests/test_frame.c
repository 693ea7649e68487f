/* SPDX-License-Identifier: MIT */
/*
 * test_frame.c - the stream framing (backends/frame.c) keeps the caller's deadline while
 * a writer is stopped mid-frame (issue 12 item 10), then resumes the frame whole.
 */
#include "frame.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (256u * 1024) /* a frame several times the kernel buffer below */
#define WAIT_MS 300       /* the deadline of the recv that must not overrun */
#define SLACK_MS 250      /* scheduling slack under load */

/* One direction over a raw pipe or stream socketpair with a small kernel buffer, the
 * framing state set up by hand so a frame cannot fit in it: the writer must stop
 * mid-frame until the reader drains. */
struct rig {
    struct ipcm_frame_link fl;
    struct ipcm_frame_chan tx, rx;
    struct ipcm_link link;
    struct ipcm_chan ctx, crx;
};

static void rig_make(struct rig *g, enum ipcm_frame_kind kind)
{
    int fds[2];
    memset(g, 0, sizeof(*g));
    ck_assert_int_eq(ipcm_frame_link_create(&g->fl, 1, BIG), 0);
    struct ipcm_frame_dir *st = &g->fl.dirs[0];
    if (kind == IPCM_FRAME_PIPE) {
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC | O_NONBLOCK | O_DIRECT), 0);
        ck_assert_int_ge(fcntl(fds[1], F_SETPIPE_SZ, 4096), 4096);
        st->atomic_max = 4096;
    } else {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        int val = 4096;
        ck_assert_int_eq(setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &val, sizeof(val)), 0);
    }
    /* Pretend the buffer is huge: the room check passes and the write goes partial,
     * which is what a frame larger than the kernel buffer does. */
    st->buf_bytes = UINT32_MAX;
    /* The mapping is shared through fork; each end points at it. */
    struct ipcm_frame_link copy = g->fl;
    ipcm_frame_open(&g->rx, &copy, kind, 0, fds[0], -1, -1);
    copy = g->fl;
    ipcm_frame_open(&g->tx, &copy, kind, -1, -1, 0, fds[1]);
    g->ctx.priv = &g->tx;
    g->crx.priv = &g->rx;
}

static unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + 3);
    return p;
}

static void stopped_writer_keeps_deadline(enum ipcm_frame_kind kind)
{
    struct rig g;
    rig_make(&g, kind);
    unsigned char *out = pattern(BIG), *in = calloc(1, BIG);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(ipcm_frame_send(&g.ctx, out, BIG, -1) == (ssize_t)BIG ? 0 : 1);
    }
    ipcm_close_fd(&g.tx.wfd);
    /* Wait until the writer is inside the frame (the buffer holds its start), then
     * stop it there. */
    struct ipcm_deadline d;
    ipcm_deadline_init(&d, 5000);
    ck_assert_int_eq(ipcm_wait_readable(g.rx.rfd, &d), 0);
    ipcm_sleep_ms(50);
    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, WUNTRACED), pid);
    ck_assert(WIFSTOPPED(status));

    /* The reader takes what is there, then must give up at its deadline. */
    uint64_t t0 = ipcm_now_ns();
    ssize_t n = ipcm_frame_recv(&g.crx, in, BIG, WAIT_MS);
    int ms = ipcm_ms_since(t0);
    ck_assert_int_eq(n, -ETIMEDOUT);
    ck_assert_int_ge(ms, WAIT_MS - 5);
    ck_assert_int_le(ms, WAIT_MS + SLACK_MS);
    /* A try-once call returns at once, and the direction is not broken. */
    ck_assert_int_eq(ipcm_frame_recv(&g.crx, in, BIG, 0), -EAGAIN);

    /* Resumed, the writer finishes and the parked frame arrives whole. */
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    n = ipcm_frame_recv(&g.crx, in, BIG, 10000);
    ck_assert_int_eq(n, (ssize_t)BIG);
    ck_assert_int_eq(memcmp(in, out, BIG), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(ipcm_frame_qsize(&g.crx), 0);
    ipcm_frame_close(&g.crx);
    free(out);
    free(in);
}

START_TEST(pipe_recv_keeps_deadline_while_writer_stopped_mid_frame)
{
    stopped_writer_keeps_deadline(IPCM_FRAME_PIPE);
}
END_TEST

START_TEST(socket_recv_keeps_deadline_while_writer_stopped_mid_frame)
{
    stopped_writer_keeps_deadline(IPCM_FRAME_SOCK);
}
END_TEST

static Suite *frame_suite(void)
{
    Suite *s = suite_create("frame");
    TCase *tc = tcase_create("deadline");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, pipe_recv_keeps_deadline_while_writer_stopped_mid_frame);
    tcase_add_test(tc, socket_recv_keeps_deadline_while_writer_stopped_mid_frame);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(frame_suite());
}
