/* SPDX-License-Identifier: MIT */
/*
 * tcp.c - TCP over the loopback interface, messages framed on the stream by frame.c;
 * and the address-taking connection helpers of tcp.h.
 *
 * Setup, in the parent before fork: a listening socket bound to an ephemeral port on
 * 127.0.0.1 (::1 where the IPv4 loopback is missing), one connect, one accept, and the
 * listener is closed before create returns, so nothing of ours listens after setup. The
 * accepted connection must come from our own connecting socket (its address is
 * compared): another local process that raced to the port is dropped. Both ends set
 * TCP_NODELAY, so a small message leaves at once rather than waiting for an ACK (Nagle).
 *
 * Queue shape: producers hold the connecting socket, consumers the accepted one; pipe
 * shape: end A the first, end B the second, each duplex. End-of-stream is the stream's
 * own EOF (the last holder closes, or shutdown half-closes a pipe end).
 *
 * A dead peer: TCP accepts the first send after the peer closed (the FIN says only
 * "no more data from me", and the peer's RST answers the data later). So every
 * direction has a life pipe (internal.h): receivers hold its token, and a sender sees
 * POLLHUP once every receiver has closed or died, and returns -EPIPE at once; sends use
 * MSG_NOSIGNAL, never a process-wide SIGPIPE change (RULINGS 14). That check is one
 * poll(2) per send, part of this backend's cost.
 *
 * TCP may append a send to a segment still queued and stop halfway, so no frame is
 * one all-or-nothing write: each waits until SO_SNDBUF surely has room for all of it
 * (frame.c), and the largest message follows net.core.wmem_max.
 */
#include "tcp.h"

#include "frame.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TCP_SETUP_MS 5000 /* connect and accept on loopback: instant unless the host is sick */
#define TCP_BACKLOG 4

/* ---------------------------------------------------------------- helpers (tcp.h) */

static int tcp_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ? -errno : 0;
}

static int fail_close(int fd)
{
    int err = -errno;
    close(fd);
    return err;
}

int ipcm_tcp_listen(const struct sockaddr *addr, socklen_t len, int backlog,
                    struct sockaddr_storage *bound, socklen_t *blen)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, addr, len) < 0 || listen(fd, backlog) < 0)
        return fail_close(fd);
    if (bound) {
        *blen = sizeof(*bound);
        if (getsockname(fd, (struct sockaddr *)bound, blen) < 0)
            return fail_close(fd);
    }
    return fd;
}

int ipcm_tcp_listen_loopback(int backlog, struct sockaddr_storage *bound, socklen_t *blen)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = ipcm_tcp_listen((struct sockaddr *)&v4, sizeof(v4), backlog, bound, blen);
    if (fd != -EADDRNOTAVAIL && fd != -EAFNOSUPPORT)
        return fd;
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd6 = ipcm_tcp_listen((struct sockaddr *)&v6, sizeof(v6), backlog, bound, blen);
    return fd6 >= 0 ? fd6 : fd;
}

int ipcm_tcp_connect(const struct sockaddr *addr, socklen_t len, const struct ipcm_deadline *d)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, addr, len) < 0) {
        if (errno != EINPROGRESS)
            return fail_close(fd);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int r = ipcm_wait_fds(&p, 1, d), soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (r < 0) {
            close(fd);
            return r;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return fail_close(fd);
        if (soerr) {
            close(fd);
            return -soerr;
        }
    }
    int r;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
        return fail_close(fd);
    if ((r = tcp_nodelay(fd)) < 0) {
        close(fd);
        return r;
    }
    return fd;
}

int ipcm_tcp_accept(int lfd, struct sockaddr_storage *peer, socklen_t *plen,
                    const struct ipcm_deadline *d)
{
    for (;;) {
        if (peer)
            *plen = sizeof(*peer);
        /* accept4 gives a blocking socket whatever the listener's O_NONBLOCK. */
        int fd = accept4(lfd, (struct sockaddr *)peer, peer ? plen : NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            int r = tcp_nodelay(fd);
            if (r < 0) {
                close(fd);
                return r;
            }
            return fd;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int r = ipcm_wait_readable(lfd, d);
        if (r < 0)
            return r;
    }
}

/* ---------------------------------------------------------------- the backend */

struct tcp_link {
    int sv[2]; /* [0] the connecting socket, [1] the accepted one */
    struct ipcm_life life[2];
    struct ipcm_frame_link fl;
};

struct tcp_chan {
    struct ipcm_frame_chan fc; /* first: the framing ops take the chan */
    struct ipcm_life life[2];
};

/* Is a loopback address up in this network namespace (getifaddrs reads it through
 * netlink; /sys may show another namespace)? */
static bool tcp_loopback_up(void)
{
    struct ifaddrs *ifs, *i;
    bool up = false;
    if (getifaddrs(&ifs) < 0)
        return true; /* cannot tell: let create say what fails */
    for (i = ifs; i && !up; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_LOOPBACK))
            continue;
        up = i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6;
    }
    freeifaddrs(ifs);
    return up;
}

static int tcp_limits(struct ipcm_limits *out)
{
    unsigned long wmem_max;
    int r = ipcm_read_sysctl("/proc/sys/net/core/wmem_max", &wmem_max);
    if (r < 0)
        return r;
    if (!tcp_loopback_up())
        return -ENOSYS; /* no loopback interface up: nothing to connect through */
    long rmem[3] = {0, 0, 0};
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_rmem", "re");
    if (f) {
        if (fscanf(f, "%ld %ld %ld", &rmem[0], &rmem[1], &rmem[2]) != 3)
            rmem[2] = 0;
        fclose(f);
    }
    memset(out, 0, sizeof(*out));
    /* The sender's SO_SNDBUF (doubled by the kernel, capped at wmem_max) must hold one
     * frame and its overhead; the receiver's buffer (tcp_rmem, autotuned) comes on top
     * of it in what a direction can hold. */
    out->max_msg = ipcm_frame_sock_max_msg(2 * wmem_max);
    out->default_msg = out->max_msg < 65536 ? out->max_msg : 65536;
    out->max_depth = 0;
    out->default_depth = 16;
    out->buffer_bytes = 2 * wmem_max + (size_t)(rmem[2] > 0 ? rmem[2] : 0);
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "net.core.wmem_max = %lu (2 x SO_SNDBUF holds one frame and its overhead)", wmem_max);
    return 0;
}

static void tcp_destroy(struct ipcm_link *l)
{
    struct tcp_link *tl = l->priv;
    for (unsigned d = 0; d < 2; d++) {
        ipcm_close_fd(&tl->sv[d]);
        ipcm_life_close(&tl->life[d]);
    }
    ipcm_frame_link_destroy(&tl->fl);
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t al,
                      const struct sockaddr_storage *b, socklen_t bl)
{
    return al == bl && memcmp(a, b, al) == 0;
}

/* Connect sv[0] to a fresh loopback listener and accept it as sv[1]; the listener is
 * closed on every path. */
static int tcp_join(struct tcp_link *tl)
{
    struct sockaddr_storage at, mine, peer;
    socklen_t alen, mlen = sizeof(mine), plen;
    struct ipcm_deadline d;
    int lfd = ipcm_tcp_listen_loopback(TCP_BACKLOG, &at, &alen), err = 0;

    if (lfd < 0)
        return lfd;
    ipcm_deadline_init(&d, TCP_SETUP_MS);
    tl->sv[0] = ipcm_tcp_connect((struct sockaddr *)&at, alen, &d);
    if (tl->sv[0] < 0) {
        err = tl->sv[0];
        tl->sv[0] = -1;
    } else if (getsockname(tl->sv[0], (struct sockaddr *)&mine, &mlen) < 0) {
        err = -errno;
    }
    while (err == 0) {
        int fd = ipcm_tcp_accept(lfd, &peer, &plen, &d);
        if (fd < 0)
            err = fd;
        else if (same_addr(&peer, plen, &mine, mlen))
            tl->sv[1] = fd;
        else
            close(fd); /* another process raced to our port: not our end */
        if (tl->sv[1] >= 0)
            break;
    }
    close(lfd);
    return err;
}

static int tcp_create(struct ipcm_link *l)
{
    struct tcp_link *tl = l->priv;
    unsigned ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    int err;

    for (unsigned d = 0; d < 2; d++) {
        tl->sv[d] = -1;
        ipcm_life_init(&tl->life[d]);
    }
    if ((err = ipcm_frame_link_create(&tl->fl, ndirs, l->cfg.max_msg)) < 0)
        return err;
    if ((err = tcp_join(tl)) < 0)
        goto fail;
    /* Direction d is written through sv[d]: the queue's producers and end A use sv[0],
     * end B sv[1]. */
    for (unsigned d = 0; d < ndirs; d++) {
        if ((err = ipcm_frame_sock_size(tl->sv[d], &tl->fl.dirs[d], l->cfg.max_msg, false)) < 0 ||
            (err = ipcm_life_create(&tl->life[d])) < 0)
            goto fail;
    }
    return 0;
fail:
    tcp_destroy(l);
    return err;
}

static int tcp_open(struct ipcm_chan *c)
{
    struct tcp_link *tl = c->link->priv;
    struct tcp_chan *tc = c->priv;
    int rdir, wdir, rfd = -1, wfd = -1;

    ipcm_role_dirs(c->role, &wdir, &rdir);
    switch (c->role) {
    case IPCM_ROLE_SEND: wfd = tl->sv[0], tl->sv[0] = -1; break;
    case IPCM_ROLE_RECV: rfd = tl->sv[1], tl->sv[1] = -1; break;
    case IPCM_ROLE_BOTH:
        wfd = tl->sv[0], rfd = tl->sv[1];
        tl->sv[0] = tl->sv[1] = -1;
        break;
    case IPCM_ROLE_A: rfd = wfd = tl->sv[0], tl->sv[0] = -1; break;
    case IPCM_ROLE_B: rfd = wfd = tl->sv[1], tl->sv[1] = -1; break;
    }
    ipcm_frame_open(&tc->fc, &tl->fl, IPCM_FRAME_SOCK, rdir, rfd, wdir, wfd);
    /* Keep the life tokens of what this role does: a receiver's token, a sender's
     * watch on the receivers of its direction. */
    for (int d = 0; d < 2; d++) {
        tc->life[d] = tl->life[d];
        ipcm_life_init(&tl->life[d]);
        if (d == wdir || d == rdir)
            ipcm_life_open(&tc->life[d], d == wdir, d == rdir);
        else
            ipcm_life_close(&tc->life[d]);
    }
    if (wdir >= 0)
        tc->fc.peer_gone = ipcm_life_receivers_gone_fd(&tc->life[wdir]);
    tcp_destroy(c->link); /* close what this role must not hold */
    return 0;
}

static void tcp_close(struct ipcm_chan *c)
{
    struct tcp_chan *tc = c->priv;
    ipcm_frame_close(c);
    ipcm_life_close(&tc->life[0]);
    ipcm_life_close(&tc->life[1]);
}

/* ---------------------------------------------------------------- exec hand-over */

/* The connected sockets and life pipes travel as descriptors (the library clears
 * close-on-exec in the child alone); the framing state is mapped again from its memfd. */
static int tcp_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                               size_t *nfds)
{
    const struct tcp_link *tl = l->priv;
    int v[10] = {tl->sv[0], tl->sv[1]};
    for (unsigned d = 0; d < 2; d++)
        ipcm_life_handover_vals(&tl->life[d], v + 2 + 4 * d);
    return ipcm_frame_handover_export(&tl->fl, v, 10, buf, len, fds, nfds);
}

static int tcp_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct tcp_link *tl = l->priv;
    int v[10];
    int r = ipcm_frame_handover_attach(&tl->fl, l->shape, payload, v, 10);
    if (r < 0)
        return r; /* the library frees the link without destroy: nothing to undo */
    tl->sv[0] = v[0];
    tl->sv[1] = v[1];
    for (unsigned d = 0; d < 2; d++)
        ipcm_life_handover_set(&tl->life[d], v + 2 + 4 * d);
    return 0;
}

const struct ipcm_backend ipcm_backend_tcp = {
    .abi = IPCM_BACKEND_ABI,
    .name = "tcp",
    .summary = "TCP over loopback, TCP_NODELAY, length-framed, robust-mutex serialised",
    .caps = IPCM_CAP_DUPLEX | IPCM_CAP_POLLFD | IPCM_CAP_STREAM | IPCM_CAP_QSIZE |
            IPCM_CAP_CROSS_HOST | IPCM_CAP_EXEC,
    .link_priv = sizeof(struct tcp_link),
    .chan_priv = sizeof(struct tcp_chan),
    .limits = tcp_limits,
    .create = tcp_create,
    .open = tcp_open,
    .send = ipcm_frame_send,
    .recv = ipcm_frame_recv,
    .shutdown = ipcm_frame_shutdown,
    .close = tcp_close,
    .destroy = tcp_destroy,
    .pollfd = ipcm_frame_pollfd,
    .qsize = ipcm_frame_qsize,
    .handover_export = tcp_handover_export,
    .handover_attach = tcp_handover_attach,
};
