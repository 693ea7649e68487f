/* SPDX-License-Identifier: MIT */
/*
 * zmq.c - ZeroMQ as an ipcmark plugin, built against the public ipcmark_backend.h only:
 * ipc:// endpoints in a private 0700 folder; queue = PUSH -> broker -> PULL, pipe = PAIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ipcmark_backend.h"

/*
 * ZeroMQ has no end-of-stream and no peer death, so both come from life pipes, the way
 * the built-in backends do it: every holder of a role keeps the write end of its role's
 * pipe; the read end polls HUP once every holder has closed, exited or died. A queue
 * has no single bind point for many producers and many consumers, so the creating
 * process runs a broker thread (PULL "in" -> PUSH "out"); it closes the eos pipe once
 * every sender is gone and "in" is drained, which is the consumers' end-of-stream.
 */
#define MAX_MSG (4u << 20) /* a bound ipcmark needs; ZeroMQ itself has none */
#define SLICE_MS 20        /* how often a blocked call looks at the life pipes */
#define GRACE_MS 100       /* after a peer is gone: messages still in ZeroMQ's threads */

enum { SND, RCV, EOS, NPIPES }; /* queue: senders', receivers' life; the broker's eos */
enum { LA = SND, LB = RCV };    /* pipe: end A's and end B's life */

struct zlink {
    char dir[48];      /* the private folder of the endpoints */
    int fd[NPIPES][2]; /* life pipes, [0] read, [1] write */
    pid_t creator;     /* the process that made dir and runs the broker */
    int broker_eos;    /* the broker's eos write end (its number in every child too) */
};

struct zchan {
    void *sock;
    int mine;  /* the write end of this end's life pipe, held while it may send */
    int watch; /* read end: HUP when the peer side (or, for a consumer, eos) is gone */
};

/* ---------------------------------------------------------------- helpers */

/* One context per process: a context does not survive fork, the child makes its own
 * (the parent's copy is left alone, never used here). nsock counts its open sockets. */
static void *ctx;
static pid_t ctx_owner;
static int nsock;

static void *ctx_get(void)
{
    if (!ctx || ctx_owner != getpid()) {
        ctx = zmq_ctx_new();
        ctx_owner = getpid();
        nsock = 0; /* blocky (the default): zmq_ctx_term waits out each socket's linger */
    }
    return ctx;
}

/* Close s after up to linger_ms of flushing: when it is this process's last socket the
 * context is ended, which is what waits for the flush. */
static void sock_close(void *s, int linger_ms)
{
    zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
    zmq_close(s);
    if (--nsock == 0 && ctx_owner == getpid()) {
        zmq_ctx_term(ctx);
        ctx = NULL;
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The peer side is gone: its life pipe polls HUP (or the fd was never ours). */
static bool gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (fd < 0)
        return false;
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void endpoint(const struct zlink *z, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "ipc://%s/%s", z->dir, what);
}

/* Remove the endpoints' names and the folder. A connected end stays usable; an end
 * still connecting (ZeroMQ connects in the background) would fail, so this runs only
 * once nobody can still be connecting: when the broker stops, when a pipe's binding end
 * closes, and at exit of the creating process for whatever is left. */
static void remove_dir(const char *dir)
{
    static const char *const names[] = {"in", "out", "pair"};
    char path[96];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%.47s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

#define MAX_DIRS 64
static char created[MAX_DIRS][48]; /* folders this process made, for the exit sweep */
static pid_t created_by;
static pthread_mutex_t created_lock = PTHREAD_MUTEX_INITIALIZER;

static void sweep(void)
{
    if (created_by != getpid())
        return; /* a child that exits normally leaves the creator's folders alone */
    for (int i = 0; i < MAX_DIRS; i++)
        if (created[i][0])
            remove_dir(created[i]);
}

static void remember(const char *dir)
{
    static bool registered;
    pthread_mutex_lock(&created_lock);
    if (created_by != getpid()) {
        memset(created, 0, sizeof(created));
        created_by = getpid();
    }
    if (!registered)
        registered = atexit(sweep) == 0;
    for (int i = 0; i < MAX_DIRS; i++)
        if (!created[i][0]) {
            snprintf(created[i], sizeof(created[i]), "%s", dir);
            break;
        }
    pthread_mutex_unlock(&created_lock);
}

/* Milliseconds to wait in the next slice of a call with a deadline, or -ETIMEDOUT. */
static long slice(int timeout_ms, int64_t end)
{
    if (timeout_ms < 0)
        return SLICE_MS;
    int64_t left = end - now_ms();
    if (left <= 0)
        return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    return left < SLICE_MS ? (long)left : SLICE_MS;
}

/* ---------------------------------------------------------------- broker */

struct broker {
    void *ctx, *in, *out;
    int snd, rcv, eos; /* dups: senders' and receivers' life read ends, eos write end */
    char dir[48];
};

/* Forward one message from in to out, waiting for a consumer's room; drop it once no
 * consumer is left. Returns false when the broker should stop. */
static bool forward(struct broker *b, zmq_msg_t *m)
{
    for (;;) {
        if (zmq_msg_send(m, b->out, ZMQ_DONTWAIT) >= 0)
            return true;
        if (errno != EAGAIN || gone(b->rcv))
            return false;
        zmq_pollitem_t it = {.socket = b->out, .events = ZMQ_POLLOUT};
        zmq_poll(&it, 1, SLICE_MS);
    }
}

static void *broker_main(void *arg)
{
    struct broker *b = arg;
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (;;) {
        if (zmq_msg_recv(&m, b->in, ZMQ_DONTWAIT) >= 0) {
            if (!forward(b, &m))
                break;
            continue;
        }
        if (gone(b->rcv))
            break;
        if (b->eos >= 0 && gone(b->snd)) {
            /* Every sender closed after a linger flush: what is in "in" is all. */
            zmq_pollitem_t it = {.socket = b->in, .events = ZMQ_POLLIN};
            if (zmq_poll(&it, 1, GRACE_MS) == 0)
                close_fd(&b->eos);
            continue;
        }
        zmq_pollitem_t it = {.socket = b->in, .events = ZMQ_POLLIN};
        zmq_poll(&it, 1, SLICE_MS);
    }
    zmq_msg_close(&m);
    close_fd(&b->eos);
    zmq_close(b->in);
    zmq_close(b->out);
    zmq_ctx_term(b->ctx);
    remove_dir(b->dir); /* no receiver is left to connect */
    close(b->snd);
    close(b->rcv);
    free(b);
    return NULL;
}

/* Start the broker of queue z in this (the creating) process. Returns 0 or -errno. */
static int broker_start(struct zlink *z)
{
    struct broker *b = calloc(1, sizeof(*b));
    char ep[96];
    int zero = 0, err = -ENOMEM;
    if (!b)
        return -ENOMEM;
    b->snd = fcntl(z->fd[SND][0], F_DUPFD_CLOEXEC, 3);
    b->rcv = fcntl(z->fd[RCV][0], F_DUPFD_CLOEXEC, 3);
    b->eos = z->fd[EOS][1];
    snprintf(b->dir, sizeof(b->dir), "%s", z->dir);
    if (b->snd < 0 || b->rcv < 0 || !(b->ctx = zmq_ctx_new()))
        goto fail;
    b->in = zmq_socket(b->ctx, ZMQ_PULL);
    b->out = zmq_socket(b->ctx, ZMQ_PUSH);
    if (!b->in || !b->out)
        goto fail;
    zmq_setsockopt(b->out, ZMQ_LINGER, &zero, sizeof(zero));
    endpoint(z, "in", ep, sizeof(ep));
    if (zmq_bind(b->in, ep) < 0)
        goto fail_errno;
    endpoint(z, "out", ep, sizeof(ep));
    if (zmq_bind(b->out, ep) < 0)
        goto fail_errno;
    pthread_t t;
    if ((err = -pthread_create(&t, NULL, broker_main, b)) < 0)
        goto fail;
    pthread_detach(t);
    z->broker_eos = z->fd[EOS][1]; /* the broker's now; children close their copy */
    z->fd[EOS][1] = -1;
    return 0;
fail_errno:
    err = -errno;
fail:
    if (b->in)
        zmq_close(b->in);
    if (b->out)
        zmq_close(b->out);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    if (b->snd >= 0)
        close(b->snd);
    if (b->rcv >= 0)
        close(b->rcv);
    free(b);
    return err;
}

/* ---------------------------------------------------------------- ops */

static int zmq_limits(struct ipcm_limits *out)
{
    memset(out, 0, sizeof(*out));
    out->max_msg = MAX_MSG;
    out->default_msg = 8192;
    out->max_depth = 0;        /* ZeroMQ's high-water marks are per pipe, not a bound */
    out->default_depth = 1000; /* ZMQ_SNDHWM's default */
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "zmq plugin: 4 MiB chosen (ZeroMQ %d.%d.%d has no limit)", ZMQ_VERSION_MAJOR,
             ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
    return 0;
}

static void zmq_destroy(struct ipcm_link *l)
{
    struct zlink *z = l->priv;
    for (int i = 0; i < NPIPES; i++)
        for (int k = 0; k < 2; k++)
            close_fd(&z->fd[i][k]);
    /* The names stay until no end can still be connecting (remove_dir); a folder no
     * end was ever opened on goes now. */
    if (z->creator == getpid() && z->dir[0])
        rmdir(z->dir);
}

static int zmq_create(struct ipcm_link *l)
{
    struct zlink *z = l->priv;
    const char *tmp = getenv("TMPDIR");
    int err = 0;
    for (int i = 0; i < NPIPES; i++)
        z->fd[i][0] = z->fd[i][1] = -1;
    z->creator = getpid();
    z->broker_eos = -1;
    snprintf(z->dir, sizeof(z->dir), "%s/ipcm-zmq.XXXXXX",
             tmp && *tmp && strlen(tmp) < 28 ? tmp : "/tmp");
    if (!mkdtemp(z->dir)) { /* mkdtemp makes it 0700: no other user can connect */
        z->dir[0] = '\0';
        return -errno;
    }
    snprintf(l->name, sizeof(l->name), "%s", z->dir);
    remember(z->dir);
    for (int i = 0; i < NPIPES && !err; i++)
        if (pipe2(z->fd[i], O_CLOEXEC) < 0)
            err = -errno;
    if (!err && l->shape == IPCM_SHAPE_QUEUE)
        err = broker_start(z);
    if (err)
        zmq_destroy(l);
    return err;
}

/* Which life pipe an end holds and which it watches. */
static void roles(const struct ipcm_chan *c, int *hold, int *hold2, int *watch)
{
    *hold2 = -1;
    switch (c->role) {
    case IPCM_ROLE_SEND: *hold = SND, *watch = RCV; break;
    case IPCM_ROLE_RECV: *hold = RCV, *watch = EOS; break;
    case IPCM_ROLE_BOTH: *hold = SND, *hold2 = RCV, *watch = -1; break;
    case IPCM_ROLE_A: *hold = LA, *watch = LB; break;
    default: *hold = LB, *watch = LA; break;
    }
}

static int open_socket(struct ipcm_chan *c, struct zlink *z)
{
    struct zchan *zc = c->priv;
    char ep[96];
    int type, hwm = (int)c->link->cfg.depth, zero = 0, one = 1;
    bool bind = c->role == IPCM_ROLE_A;
    const char *what = "pair";
    if (c->link->shape == IPCM_SHAPE_PIPE)
        type = ZMQ_PAIR;
    else if (c->role == IPCM_ROLE_RECV)
        type = ZMQ_PULL, what = "out";
    else
        type = ZMQ_PUSH, what = "in"; /* BOTH sends on this one, receives on a second */
    if (!ctx_get() || !(zc->sock = zmq_socket(ctx_get(), type)))
        return -errno;
    nsock++;
    zmq_setsockopt(zc->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(zc->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(zc->sock, ZMQ_LINGER, &zero, sizeof(zero));
    /* Queue only to a connection that is up: a message queued to one still being made is
     * dropped when the socket closes, linger or not. send waits for it instead. */
    zmq_setsockopt(zc->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
    endpoint(z, what, ep, sizeof(ep));
    if ((bind ? zmq_bind(zc->sock, ep) : zmq_connect(zc->sock, ep)) < 0) {
        int err = -errno;
        sock_close(zc->sock, 0);
        zc->sock = NULL;
        return err;
    }
    return 0;
}

static int zmq_open(struct ipcm_chan *c)
{
    struct zlink *z = c->link->priv;
    struct zchan *zc = c->priv;
    int hold, hold2, watch;
    if (c->role == IPCM_ROLE_BOTH)
        return -ENOTSUP; /* a PUSH and a PULL in one end: not offered */
    roles(c, &hold, &hold2, &watch);
    zc->mine = z->fd[hold][1];
    zc->watch = watch >= 0 ? z->fd[watch][0] : -1;
    z->fd[hold][1] = -1;
    if (watch >= 0)
        z->fd[watch][0] = -1;
    /* Drop what this role must not hold, so that the others' end-of-stream works. */
    if (getpid() != z->creator)
        close_fd(&z->broker_eos);
    for (int i = 0; i < NPIPES; i++)
        for (int k = 0; k < 2; k++)
            close_fd(&z->fd[i][k]);
    return open_socket(c, z);
}

static ssize_t zmq_send_op(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    struct zchan *zc = c->priv;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (gone(zc->watch))
            return -EPIPE; /* ZeroMQ would queue for a peer that will never read */
        if (zmq_send(zc->sock, buf, len, ZMQ_DONTWAIT) >= 0)
            return (ssize_t)len;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        long ms = slice(timeout_ms, end);
        if (ms < 0)
            return ms;
        zmq_pollitem_t it = {.socket = zc->sock, .events = ZMQ_POLLOUT};
        zmq_poll(&it, 1, ms);
    }
}

static ssize_t zmq_recv_op(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    struct zchan *zc = c->priv;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    bool last = false;
    for (;;) {
        int n = zmq_recv(zc->sock, buf, cap, ZMQ_DONTWAIT);
        if (n >= 0)
            return (size_t)n > cap ? -EMSGSIZE : n;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        if (last)
            return -EPIPE;
        long ms = slice(timeout_ms, end);
        if (gone(zc->watch))
            last = true, ms = GRACE_MS; /* one more look: what ZeroMQ still carries */
        else if (ms < 0)
            return ms;
        zmq_pollitem_t it = {.socket = zc->sock, .events = ZMQ_POLLIN};
        zmq_poll(&it, 1, ms);
    }
}

static int zmq_shutdown_op(struct ipcm_chan *c)
{
    struct zchan *zc = c->priv;
    if (c->role == IPCM_ROLE_SEND && zc->sock) {
        /* Flush to the broker first: its end-of-stream follows our life pipe's HUP. */
        sock_close(zc->sock, 2000);
        zc->sock = NULL;
    }
    close_fd(&zc->mine);
    return 0;
}

static void zmq_close_op(struct ipcm_chan *c)
{
    struct zchan *zc = c->priv;
    zmq_shutdown_op(c);
    if (zc->sock)
        sock_close(zc->sock, 1000); /* a pipe end's last messages: flushed, bounded */
    zc->sock = NULL;
    if (c->role == IPCM_ROLE_A) /* the binding end: B has connected or never will */
        remove_dir(((struct zlink *)c->link->priv)->dir);
    close_fd(&zc->watch);
}

static const struct ipcm_backend zmq_backend = {
    IPCM_BACKEND_HEAD,
    .name = "zmq",
    .summary = "ZeroMQ over ipc://: queue PUSH->broker->PULL, pipe PAIR (plugin)",
    .caps = IPCM_CAP_NATIVE_MSG | IPCM_CAP_DUPLEX,
    .link_priv = sizeof(struct zlink),
    .chan_priv = sizeof(struct zchan),
    .limits = zmq_limits,
    .create = zmq_create,
    .open = zmq_open,
    .send = zmq_send_op,
    .recv = zmq_recv_op,
    .shutdown = zmq_shutdown_op,
    .close = zmq_close_op,
    .destroy = zmq_destroy,
};

const struct ipcm_backend *ipcm_backend_plugin_v1(int host_abi, const char **reason)
{
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    if (major < 4) {
        *reason = "needs libzmq 4 or later";
        return NULL;
    }
    (void)host_abi; /* ABI 1 is all this plugin knows; the loader checks the rest */
    return &zmq_backend;
}
