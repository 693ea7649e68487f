/* SPDX-License-Identifier: MIT */
/*
 * socketpair.c - AF_UNIX socketpair(2) backend, SOCK_SEQPACKET for both shapes.
 *
 * Why SEQPACKET and not framing on SOCK_STREAM: each sendmsg is queued as one record
 * and each recvmsg returns one record, so many producers and many consumers share one
 * socket with no lock and no torn messages, and a producer killed mid-send leaves
 * either a whole record or nothing. The price is a per-record size limit: a record
 * must fit in the sender's SO_SNDBUF minus 32 bytes (unix(7)), so the largest message
 * follows net.core.wmem_max and is reported as the backend's limit.
 *
 * Why a one-byte tag before every payload: a zero-length SEQPACKET record reads as 0,
 * which is indistinguishable from end-of-stream. With the tag an empty message is a
 * one-byte record and a 0 return always means every sender has closed.
 *
 * Queue shape: producers hold sv[0], consumers sv[1]; the kernel's own EOF and EPIPE
 * give end-of-stream and "no receivers". Pipe shape: end A holds sv[0], end B sv[1].
 *
 * Descriptors travel as a record of their own, the tag SOCKPAIR_TAG_FD with SCM_RIGHTS,
 * so they keep their place among the messages. A receiver that expects the one kind and
 * finds the other gets -EBADMSG, and a descriptor it did not ask for is never installed:
 * recvmsg without room for control data makes the kernel drop it (MSG_CTRUNC).
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define SOCKPAIR_TAG_MSG 0x6d       /* 'm' */
#define SOCKPAIR_TAG_FD 0x66        /* 'f' */
#define SOCKPAIR_OVERHEAD 32        /* bytes of SO_SNDBUF a record costs beyond its data */
#define SOCKPAIR_KMALLOC_MAX (4u << 20) /* largest linear skb part the kernel allocates */

struct socketpair_link {
    int sv[2];
};

struct socketpair_chan {
    int sfd, rfd; /* equal for a pipe end */
};

static int socketpair_limits(struct ipcm_limits *out)
{
    unsigned long wmem_max, wmem_default;
    int r = ipcm_read_sysctl("/proc/sys/net/core/wmem_max", &wmem_max);
    if (r < 0)
        return r;
    if (ipcm_read_sysctl("/proc/sys/net/core/wmem_default", &wmem_default) < 0)
        wmem_default = wmem_max;
    memset(out, 0, sizeof(*out));
    /* SO_SNDBUF is doubled by the kernel; a record needs its data + 32 B of it. The
     * kernel also builds a record's linear part with one kmalloc (only ~68 KiB goes
     * into page fragments), which stops at KMALLOC_MAX_SIZE (4 MiB with 4 KiB pages):
     * above it sendmsg fails with ENOBUFS whatever SO_SNDBUF says (probe: 4,263,616 B
     * was the largest record), so the declared max is capped there. */
    out->max_msg = 2 * wmem_max - SOCKPAIR_OVERHEAD - 1;
    if (out->max_msg > SOCKPAIR_KMALLOC_MAX - 1)
        out->max_msg = SOCKPAIR_KMALLOC_MAX - 1;
    out->default_msg = 2 * wmem_default - SOCKPAIR_OVERHEAD - 1;
    if (out->default_msg > 65536)
        out->default_msg = 65536;
    out->max_depth = 0;
    out->default_depth = 16;
    out->buffer_bytes = 2 * wmem_default;
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "net.core.wmem_max = %lu (2 x SO_SNDBUF - 32 B), kmalloc max 4 MiB", wmem_max);
    return 0;
}

static void socketpair_destroy(struct ipcm_link *l)
{
    struct socketpair_link *sl = l->priv;
    ipcm_close_fd(&sl->sv[0]);
    ipcm_close_fd(&sl->sv[1]);
}

static int socketpair_create(struct ipcm_link *l)
{
    struct socketpair_link *sl = l->priv;
    sl->sv[0] = sl->sv[1] = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sl->sv) < 0)
        return -errno;
    /* Room for one maximum record; the kernel doubles the value and caps it at
     * wmem_max, which the limit check in channel.c already respected. */
    size_t need = l->cfg.max_msg + 1 + SOCKPAIR_OVERHEAD;
    int val = (int)((need + 1) / 2);
    for (int i = 0; i < 2; i++) {
        int cur = 0;
        socklen_t len = sizeof(cur);
        if (getsockopt(sl->sv[i], SOL_SOCKET, SO_SNDBUF, &cur, &len) == 0 && (size_t)cur >= need)
            continue;
        if (setsockopt(sl->sv[i], SOL_SOCKET, SO_SNDBUF, &val, sizeof(val)) < 0) {
            int err = -errno;
            socketpair_destroy(l);
            return err;
        }
    }
    return 0;
}

static int socketpair_open(struct ipcm_chan *c)
{
    struct socketpair_link *sl = c->link->priv;
    struct socketpair_chan *sc = c->priv;

    sc->sfd = sc->rfd = -1;
    switch (c->role) {
    case IPCM_ROLE_SEND: sc->sfd = sl->sv[0], sl->sv[0] = -1; break;
    case IPCM_ROLE_RECV: sc->rfd = sl->sv[1], sl->sv[1] = -1; break;
    case IPCM_ROLE_BOTH:
        sc->sfd = sl->sv[0], sc->rfd = sl->sv[1];
        sl->sv[0] = sl->sv[1] = -1;
        break;
    case IPCM_ROLE_A: sc->sfd = sc->rfd = sl->sv[0], sl->sv[0] = -1; break;
    case IPCM_ROLE_B: sc->sfd = sc->rfd = sl->sv[1], sl->sv[1] = -1; break;
    }
    socketpair_destroy(c->link); /* close what this role must not hold */
    return 0;
}

static int socketpair_wait(int fd, short events, const struct ipcm_deadline *d)
{
    struct pollfd p = {.fd = fd, .events = events};
    return ipcm_wait_fds(&p, 1, d);
}

/* Send one record; returns 0 or -errno. */
static int socketpair_sendmsg(struct socketpair_chan *sc, const struct msghdr *mh, int timeout_ms)
{
    struct ipcm_deadline d;
    /* MSG_NOSIGNAL: a vanished reader is -EPIPE, not a SIGPIPE death. Waiting forever
     * uses the kernel's own blocking send: one syscall. */
    int flags = MSG_NOSIGNAL | (timeout_ms < 0 ? 0 : MSG_DONTWAIT);

    if (sc->sfd < 0)
        return -EBADF;
    ipcm_deadline_init(&d, timeout_ms);
    for (;;) {
        if (sendmsg(sc->sfd, mh, flags) >= 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == ECONNREFUSED || errno == ECONNRESET || errno == ENOTCONN)
            return -EPIPE;
        if (errno != EAGAIN)
            return -errno;
        int r = socketpair_wait(sc->sfd, POLLOUT, &d);
        if (r < 0)
            return r;
    }
}

static ssize_t socketpair_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    unsigned char tag = SOCKPAIR_TAG_MSG;
    struct iovec iov[2] = {{&tag, 1}, {(void *)buf, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    int r = socketpair_sendmsg(c->priv, &mh, timeout_ms);
    return r < 0 ? r : (ssize_t)len;
}

static int socketpair_send_fd(struct ipcm_chan *c, int fd, int timeout_ms)
{
    unsigned char tag = SOCKPAIR_TAG_FD;
    struct iovec iov = {&tag, 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return socketpair_sendmsg(c->priv, &mh, timeout_ms);
}

/*
 * Receive one record into mh (iov[0] is the tag). Returns its length without the tag,
 * or -errno (-EPIPE at end-of-stream). Received descriptors are O_CLOEXEC.
 */
static ssize_t socketpair_recvmsg(struct socketpair_chan *sc, struct msghdr *mh, int timeout_ms)
{
    struct ipcm_deadline d;
    int flags = MSG_CMSG_CLOEXEC | (timeout_ms < 0 ? 0 : MSG_DONTWAIT);
    size_t ctl_len = mh->msg_controllen;

    if (sc->rfd < 0)
        return -EBADF;
    ipcm_deadline_init(&d, timeout_ms);
    for (;;) {
        mh->msg_controllen = ctl_len;
        mh->msg_flags = 0;
        ssize_t n = recvmsg(sc->rfd, mh, flags);
        if (n > 0)
            return n - 1;
        if (n == 0)
            return -EPIPE;
        /* A peer that closed with our data unread makes the next recv fail once with
         * ECONNRESET before its queued records: absorb it, never drop them. */
        if (errno == EINTR || errno == ECONNRESET)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int r = socketpair_wait(sc->rfd, POLLIN, &d);
        if (r < 0)
            return r;
    }
}

static ssize_t socketpair_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    unsigned char tag;
    struct iovec iov[2] = {{&tag, 1}, {buf, cap}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = socketpair_recvmsg(c->priv, &mh, timeout_ms);
    if (n < 0)
        return n;
    /* A descriptor record: with no room for control data the kernel did not install
     * the descriptor, so nothing leaks; the caller asked for a message. */
    if (tag == SOCKPAIR_TAG_FD)
        return -EBADMSG;
    /* cap >= max_msg >= any record the peer may send; anything else is a bug. */
    if (tag != SOCKPAIR_TAG_MSG || (mh.msg_flags & MSG_TRUNC))
        return -EPROTO;
    return n;
}

static int socketpair_recv_fd(struct ipcm_chan *c, int *fd, int timeout_ms)
{
    unsigned char tag;
    /* An ordinary message in place of a descriptor is consumed whole: the iovec takes
     * the tag only, and the kernel discards the rest of the record (MSG_TRUNC). */
    struct iovec iov = {&tag, 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = socketpair_recvmsg(c->priv, &mh, timeout_ms);
    if (n < 0)
        return (int)n;
    int got = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(sizeof(int)) && got < 0)
            memcpy(&got, CMSG_DATA(cm), sizeof(int));
    if (tag != SOCKPAIR_TAG_FD) {
        ipcm_close_fd(&got);
        return tag == SOCKPAIR_TAG_MSG ? -EBADMSG : -EPROTO;
    }
    if (got < 0)
        /* The kernel could not install it: this process is at RLIMIT_NOFILE. */
        return (mh.msg_flags & MSG_CTRUNC) ? -EMFILE : -EPROTO;
    *fd = got;
    return 0;
}

static int socketpair_shutdown(struct ipcm_chan *c)
{
    struct socketpair_chan *sc = c->priv;
    if (sc->sfd < 0)
        return 0;
    if (sc->sfd == sc->rfd) {
        /* A pipe end: half-close, the peer drains then reads end-of-stream. */
        if (shutdown(sc->sfd, SHUT_WR) < 0 && errno != ENOTCONN)
            return -errno;
        sc->sfd = -1;
        return 0;
    }
    ipcm_close_fd(&sc->sfd);
    return 0;
}

static void socketpair_close(struct ipcm_chan *c)
{
    struct socketpair_chan *sc = c->priv;
    if (sc->sfd == sc->rfd)
        sc->sfd = -1;
    ipcm_close_fd(&sc->sfd);
    ipcm_close_fd(&sc->rfd);
}

static int socketpair_pollfd(const struct ipcm_chan *c)
{
    const struct socketpair_chan *sc = c->priv;
    return sc->rfd >= 0 ? sc->rfd : -EBADF;
}

/* ---------------------------------------------------------------- exec hand-over */

/* Both sockets travel as descriptors; open then keeps what the role uses. */
static int socketpair_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                                      size_t *nfds)
{
    const struct socketpair_link *sl = l->priv;
    size_t room = *nfds;
    *nfds = 0;
    int r = ipcm_handover_fds(sl->sv, 2, fds, nfds, room, false);
    return r < 0 ? r : ipcm_handover_put(buf, len, sl->sv, 2);
}

static int socketpair_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct socketpair_link *sl = l->priv;
    int v[2], fds[2];
    size_t nfds = 0;
    int r = ipcm_handover_get(payload, v, 2);
    if (r == 0)
        r = ipcm_handover_fds(v, 2, fds, &nfds, 2, true);
    if (r < 0)
        return r;
    sl->sv[0] = v[0];
    sl->sv[1] = v[1];
    return 0;
}

const struct ipcm_backend ipcm_backend_socketpair = {
    .abi = IPCM_BACKEND_ABI,
    .name = "socketpair",
    .summary = "AF_UNIX SOCK_SEQPACKET socketpair(2), one record per message, lock-free",
    .caps =
        IPCM_CAP_DUPLEX | IPCM_CAP_NATIVE_MSG | IPCM_CAP_POLLFD | IPCM_CAP_FDPASS | IPCM_CAP_EXEC,
    .link_priv = sizeof(struct socketpair_link),
    .chan_priv = sizeof(struct socketpair_chan),
    .limits = socketpair_limits,
    .create = socketpair_create,
    .open = socketpair_open,
    .send = socketpair_send,
    .recv = socketpair_recv,
    .shutdown = socketpair_shutdown,
    .close = socketpair_close,
    .destroy = socketpair_destroy,
    .pollfd = socketpair_pollfd,
    .send_fd = socketpair_send_fd,
    .recv_fd = socketpair_recv_fd,
    .handover_export = socketpair_handover_export,
    .handover_attach = socketpair_handover_attach,
};
