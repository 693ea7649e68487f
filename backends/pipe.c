/* SPDX-License-Identifier: MIT */
/*
 * pipe.c - pipe(2) backend: messages framed in a byte stream (frame.c).
 *
 * One pipe per direction, in packet mode (pipe2 O_DIRECT, Linux >= 3.4): each write of
 * up to PIPE_BUF bytes is one packet, a larger one is cut into PIPE_BUF packets, and a
 * read returns at most one packet. So a reader takes the header and up to 4088 payload
 * bytes in one read; small messages cost one syscall on each side, a 64 KiB frame 17
 * reads, the price of the mode. The pipe is sized at create time (F_SETPIPE_SZ) to hold
 * several frames. End-of-stream is the pipe's own: read() returns 0 once every write
 * end is closed, which includes the ends of killed processes.
 */
#include "frame.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

struct pipe_link {
    int fds[2][2]; /* [direction][0 read, 1 write] */
    struct ipcm_frame_link fl;
};

static void pipe_destroy(struct ipcm_link *l)
{
    struct pipe_link *pl = l->priv;
    for (unsigned d = 0; d < 2; d++) {
        ipcm_close_fd(&pl->fds[d][0]);
        ipcm_close_fd(&pl->fds[d][1]);
    }
    /* After open the mapping belongs to the end; before, to the link. */
    ipcm_frame_link_destroy(&pl->fl);
}

static int pipe_create(struct ipcm_link *l)
{
    struct pipe_link *pl = l->priv;
    unsigned ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    int err;

    for (unsigned d = 0; d < 2; d++)
        pl->fds[d][0] = pl->fds[d][1] = -1;
    if ((err = ipcm_frame_link_create(&pl->fl, ndirs, l->cfg.max_msg)) < 0)
        return err;
    for (unsigned d = 0; d < ndirs; d++) {
        /* Non-blocking: all waits go through poll against a deadline. */
        if (pipe2(pl->fds[d], O_CLOEXEC | O_NONBLOCK | O_DIRECT) < 0) {
            err = -errno;
            goto fail;
        }
        if ((err = ipcm_frame_pipe_size(pl->fds[d][1], &pl->fl.dirs[d], l->cfg.max_msg)) < 0)
            goto fail;
    }
    return 0;
fail:
    pipe_destroy(l);
    return err;
}

static int pipe_open(struct ipcm_chan *c)
{
    struct pipe_link *pl = c->link->priv;
    int rdir, wdir, rfd = -1, wfd = -1;

    ipcm_role_dirs(c->role, &wdir, &rdir);
    if (rdir >= 0) {
        rfd = pl->fds[rdir][0];
        pl->fds[rdir][0] = -1;
    }
    if (wdir >= 0) {
        wfd = pl->fds[wdir][1];
        pl->fds[wdir][1] = -1;
    }
    ipcm_frame_open(c->priv, &pl->fl, IPCM_FRAME_PIPE, rdir, rfd, wdir, wfd);
    /* Whatever fds the role does not use are closed so that end-of-stream and EPIPE
     * work. */
    pipe_destroy(c->link);
    return 0;
}

/* ---------------------------------------------------------------- exec hand-over */

/* The descriptors travel as they are (the library clears close-on-exec in the child
 * alone); the framing state is mapped again from its memfd. */
static int pipe_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                                size_t *nfds)
{
    const struct pipe_link *xl = l->priv;
    return ipcm_frame_handover_export(&xl->fl, (const int *)xl->fds, 4, buf, len, fds, nfds);
}

static int pipe_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct pipe_link *xl = l->priv;
    return ipcm_frame_handover_attach(&xl->fl, l->shape, payload, (int *)xl->fds, 4);
}

const struct ipcm_backend ipcm_backend_pipe = {
    .abi = IPCM_BACKEND_ABI,
    .name = "pipe",
    .summary = "pipe(2), length-framed, robust-mutex serialised writers and readers",
    .caps = IPCM_CAP_POLLFD | IPCM_CAP_STREAM | IPCM_CAP_QSIZE | IPCM_CAP_EXEC,
    .link_priv = sizeof(struct pipe_link),
    .chan_priv = sizeof(struct ipcm_frame_chan),
    .limits = ipcm_frame_pipe_limits,
    .create = pipe_create,
    .open = pipe_open,
    .send = ipcm_frame_send,
    .recv = ipcm_frame_recv,
    .shutdown = ipcm_frame_shutdown,
    .close = ipcm_frame_close,
    .destroy = pipe_destroy,
    .pollfd = ipcm_frame_pollfd,
    .qsize = ipcm_frame_qsize,
    .handover_export = pipe_handover_export,
    .handover_attach = pipe_handover_attach,
};
