/* SPDX-License-Identifier: MIT */
/*
 * unix.c - AF_UNIX SOCK_STREAM backend: a socketpair(2), so no path ever exists in the
 * filesystem, with messages framed on the byte stream by frame.c.
 *
 * This is what most programs use between processes, unlike the socketpair backend's
 * SEQPACKET: the stream keeps no boundaries, so frames need the framing's locks with
 * many producers or consumers, and a reader takes a header then its payload (two reads
 * per message). A frame of at most 32 KiB (and half the send buffer) is one socket
 * buffer, queued whole or not at all; larger frames wait until SO_SNDBUF has room for
 * all of them. The largest message follows net.core.wmem_max: the send buffer must hold
 * one frame with the kernel's overhead.
 *
 * Queue shape: producers hold sv[0], consumers sv[1]; the kernel's EOF and EPIPE give
 * end-of-stream and "no receivers". Pipe shape: end A holds sv[0], end B sv[1], each
 * duplex; shutdown half-closes (SHUT_WR).
 */
#include "frame.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct unix_link {
    int sv[2];
    struct ipcm_frame_link fl;
};

static int unix_limits(struct ipcm_limits *out)
{
    unsigned long wmem_max, wmem_default;
    int r = ipcm_read_sysctl("/proc/sys/net/core/wmem_max", &wmem_max);
    if (r < 0)
        return r;
    if (ipcm_read_sysctl("/proc/sys/net/core/wmem_default", &wmem_default) < 0)
        wmem_default = wmem_max;
    memset(out, 0, sizeof(*out));
    /* SO_SNDBUF is doubled by the kernel and capped at wmem_max; one frame and the
     * kernel's per-buffer overhead must fit. */
    out->max_msg = ipcm_frame_sock_max_msg(2 * wmem_max);
    out->default_msg = out->max_msg < 65536 ? out->max_msg : 65536;
    out->max_depth = 0;
    out->default_depth = 16;
    out->buffer_bytes = 2 * wmem_default;
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "net.core.wmem_max = %lu (2 x SO_SNDBUF holds one frame and its overhead)", wmem_max);
    return 0;
}

static void unix_destroy(struct ipcm_link *l)
{
    struct unix_link *ul = l->priv;
    ipcm_close_fd(&ul->sv[0]);
    ipcm_close_fd(&ul->sv[1]);
    ipcm_frame_link_destroy(&ul->fl);
}

static int unix_create(struct ipcm_link *l)
{
    struct unix_link *ul = l->priv;
    unsigned ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    int err;

    ul->sv[0] = ul->sv[1] = -1;
    if ((err = ipcm_frame_link_create(&ul->fl, ndirs, l->cfg.max_msg)) < 0)
        return err;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ul->sv) < 0) {
        err = -errno;
        goto fail;
    }
    /* Direction d is written through sv[d]: the queue's producers and end A use sv[0],
     * end B sv[1]. */
    for (unsigned d = 0; d < ndirs; d++)
        if ((err = ipcm_frame_sock_size(ul->sv[d], &ul->fl.dirs[d], l->cfg.max_msg, true)) < 0)
            goto fail;
    return 0;
fail:
    unix_destroy(l);
    return err;
}

static int unix_open(struct ipcm_chan *c)
{
    struct unix_link *ul = c->link->priv;
    int rdir, wdir, rfd = -1, wfd = -1;

    ipcm_role_dirs(c->role, &wdir, &rdir);
    switch (c->role) {
    case IPCM_ROLE_SEND: wfd = ul->sv[0], ul->sv[0] = -1; break;
    case IPCM_ROLE_RECV: rfd = ul->sv[1], ul->sv[1] = -1; break;
    case IPCM_ROLE_BOTH:
        wfd = ul->sv[0], rfd = ul->sv[1];
        ul->sv[0] = ul->sv[1] = -1;
        break;
    case IPCM_ROLE_A: rfd = wfd = ul->sv[0], ul->sv[0] = -1; break;
    case IPCM_ROLE_B: rfd = wfd = ul->sv[1], ul->sv[1] = -1; break;
    }
    ipcm_frame_open(c->priv, &ul->fl, IPCM_FRAME_SOCK, rdir, rfd, wdir, wfd);
    unix_destroy(c->link); /* close what this role must not hold */
    return 0;
}

/* ---------------------------------------------------------------- exec hand-over */

/* The descriptors travel as they are (the library clears close-on-exec in the child
 * alone); the framing state is mapped again from its memfd. */
static int unix_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                                size_t *nfds)
{
    const struct unix_link *xl = l->priv;
    return ipcm_frame_handover_export(&xl->fl, xl->sv, 2, buf, len, fds, nfds);
}

static int unix_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct unix_link *xl = l->priv;
    return ipcm_frame_handover_attach(&xl->fl, l->shape, payload, xl->sv, 2);
}

const struct ipcm_backend ipcm_backend_unix = {
    .abi = IPCM_BACKEND_ABI,
    .name = "unix",
    .summary = "AF_UNIX SOCK_STREAM socketpair(2), length-framed, robust-mutex serialised",
    .caps = IPCM_CAP_DUPLEX | IPCM_CAP_POLLFD | IPCM_CAP_STREAM | IPCM_CAP_QSIZE | IPCM_CAP_EXEC,
    .link_priv = sizeof(struct unix_link),
    .chan_priv = sizeof(struct ipcm_frame_chan),
    .limits = unix_limits,
    .create = unix_create,
    .open = unix_open,
    .send = ipcm_frame_send,
    .recv = ipcm_frame_recv,
    .shutdown = ipcm_frame_shutdown,
    .close = ipcm_frame_close,
    .destroy = unix_destroy,
    .pollfd = ipcm_frame_pollfd,
    .qsize = ipcm_frame_qsize,
    .handover_export = unix_handover_export,
    .handover_attach = unix_handover_attach,
};
