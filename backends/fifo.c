/* SPDX-License-Identifier: MIT */
/*
 * fifo.c - named pipe backend: mkfifo(3) in a private directory, framed by frame.c
 * exactly as the pipe backend is.
 *
 * Each FIFO is made in a fresh mkdtemp(3) directory (mode 0700, an unpredictable name,
 * under $TMPDIR or /tmp), opened at once for reading and writing in the parent before
 * fork, then unlinked together with its directory before create returns: forked
 * children inherit the descriptors, and a run killed at any later point leaves nothing
 * in the filesystem. Nobody else can open the FIFO in the microseconds it has a name,
 * because only this user can enter the directory.
 *
 * Once open, a FIFO is a pipe: packet mode (O_DIRECT set with F_SETFL), F_SETPIPE_SZ,
 * the pipe's EOF and EPIPE. The difference from the pipe backend is only how the
 * descriptors are made, so its figures should match pipe's.
 */
#include "frame.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct fifo_link {
    int fds[2][2]; /* [direction][0 read, 1 write] */
    struct ipcm_frame_link fl;
};

static void fifo_destroy(struct ipcm_link *l)
{
    struct fifo_link *fl = l->priv;
    for (unsigned d = 0; d < 2; d++) {
        ipcm_close_fd(&fl->fds[d][0]);
        ipcm_close_fd(&fl->fds[d][1]);
    }
    ipcm_frame_link_destroy(&fl->fl);
}

/* Make, open (read end first, so the non-blocking write open finds a reader) and
 * unlink one FIFO in dir. */
static int fifo_make(const char *dir, unsigned d, int fds[2])
{
    char path[PATH_MAX];
    int err = 0;
    if (snprintf(path, sizeof(path), "%s/%u", dir, d) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (mkfifo(path, 0600) < 0)
        return -errno;
    fds[0] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fds[0] < 0)
        err = -errno;
    else if ((fds[1] = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        err = -errno;
    unlink(path);
    if (err == 0 && fcntl(fds[1], F_SETFL, O_NONBLOCK | O_DIRECT) < 0)
        err = -errno; /* packet mode: a write of up to PIPE_BUF is one packet */
    return err;
}

static int fifo_create(struct ipcm_link *l)
{
    struct fifo_link *fl = l->priv;
    unsigned ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    int err;

    for (unsigned d = 0; d < 2; d++)
        fl->fds[d][0] = fl->fds[d][1] = -1;
    if ((err = ipcm_frame_link_create(&fl->fl, ndirs, l->cfg.max_msg)) < 0)
        return err;
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(dir, sizeof(dir), "%s/ipcmark-%ld-XXXXXX", tmp, (long)getpid()) >=
        (int)sizeof(dir)) {
        err = -ENAMETOOLONG;
        goto fail;
    }
    if (!mkdtemp(dir)) {
        err = -errno;
        goto fail;
    }
    err = 0;
    for (unsigned d = 0; d < ndirs && err == 0; d++)
        err = fifo_make(dir, d, fl->fds[d]);
    rmdir(dir);
    for (unsigned d = 0; d < ndirs && err == 0; d++)
        err = ipcm_frame_pipe_size(fl->fds[d][1], &fl->fl.dirs[d], l->cfg.max_msg);
    if (err == 0)
        return 0;
fail:
    fifo_destroy(l);
    return err;
}

static int fifo_open(struct ipcm_chan *c)
{
    struct fifo_link *fl = c->link->priv;
    int rdir, wdir, rfd = -1, wfd = -1;

    ipcm_role_dirs(c->role, &wdir, &rdir);
    if (rdir >= 0) {
        rfd = fl->fds[rdir][0];
        fl->fds[rdir][0] = -1;
    }
    if (wdir >= 0) {
        wfd = fl->fds[wdir][1];
        fl->fds[wdir][1] = -1;
    }
    ipcm_frame_open(c->priv, &fl->fl, IPCM_FRAME_PIPE, rdir, rfd, wdir, wfd);
    fifo_destroy(c->link); /* close what this role must not hold: EOF and EPIPE work */
    return 0;
}

/* ---------------------------------------------------------------- exec hand-over */

/* The descriptors travel as they are (the library clears close-on-exec in the child
 * alone); the framing state is mapped again from its memfd. */
static int fifo_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                                size_t *nfds)
{
    const struct fifo_link *xl = l->priv;
    return ipcm_frame_handover_export(&xl->fl, (const int *)xl->fds, 4, buf, len, fds, nfds);
}

static int fifo_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct fifo_link *xl = l->priv;
    return ipcm_frame_handover_attach(&xl->fl, l->shape, payload, (int *)xl->fds, 4);
}

const struct ipcm_backend ipcm_backend_fifo = {
    .abi = IPCM_BACKEND_ABI,
    .name = "fifo",
    .summary = "mkfifo(3) named pipe, unlinked at create, length-framed like pipe",
    .caps = IPCM_CAP_POLLFD | IPCM_CAP_STREAM | IPCM_CAP_QSIZE | IPCM_CAP_EXEC,
    .link_priv = sizeof(struct fifo_link),
    .chan_priv = sizeof(struct ipcm_frame_chan),
    .limits = ipcm_frame_pipe_limits,
    .create = fifo_create,
    .open = fifo_open,
    .send = ipcm_frame_send,
    .recv = ipcm_frame_recv,
    .shutdown = ipcm_frame_shutdown,
    .close = ipcm_frame_close,
    .destroy = fifo_destroy,
    .pollfd = ipcm_frame_pollfd,
    .qsize = ipcm_frame_qsize,
    .handover_export = fifo_handover_export,
    .handover_attach = fifo_handover_attach,
};
