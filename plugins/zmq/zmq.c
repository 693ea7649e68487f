/* SPDX-License-Identifier: MIT */
/*
 * zmq.c - ZeroMQ as an ipcmark plugin, built against the public ipcmark_backend.h only:
 * ipc:// endpoints in a private 0700 folder; queue = PUSH -> broker -> DEALER (each
 * consumer asks the broker's ROUTER for one message at a time), pipe = PAIR.
 *
 * ZeroMQ has no end-of-stream, no peer death and no fork safety, so:
 *  - a link's helper process (forked twice at create, in its own session, holding no
 *    descriptor but its own) runs the queue's broker, or for a pipe only waits; it
 *    removes the endpoint folder once every end is gone, even when every other process
 *    was SIGKILLed, and the creating process keeps no thread and no descriptor of it;
 *  - end-of-stream is in band: a queue sender says "bye" after its last message and the
 *    broker answers a consumer's request with an end marker once every sender that ever
 *    sent has said bye (or is dead) and nothing is left; a pipe end sends the marker on
 *    shutdown. Markers are two-frame messages, data is one frame, so no byte is added;
 *  - death comes from life pipes: every holder of a role keeps the write end of its
 *    role's pipe; the read end polls HUP once each has closed, exited or died;
 *  - sockets are made in open, after fork, in a context per process that ends with the
 *    process's last socket (so no ZeroMQ thread or descriptor outlives the ends);
 *  - libzmq is never linked: each process that uses it (an end, a forked worker, the
 *    helper above all) loads its own fresh copy with dlmopen(LM_ID_NEWLM) the first time
 *    it needs one, with its own libc. A copy inherited through fork is left unused: its
 *    locks are as the parent's threads held them at the fork (a helper forked while
 *    libzmq's threads ran hung for good in rand()'s lock, inside libzmq).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dlmopen */
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ipcmark_backend.h"

#define ZMQ_SONAME "libzmq.so.5" /* libzmq 4.x's ABI */
#define MAX_MSG (4u << 20)  /* a bound ipcmark needs; ZeroMQ itself has none */
#define SLICE_MS 50         /* how often a blocked call looks at the life pipes */
#define GRACE_MS 100        /* after a peer died: what ZeroMQ's threads still carry */
#define DEAD_SENDER_MS 1000 /* the broker's wait for a bye from a sender that died */
#define ANSWER_MS 200       /* see zmq_recv_op */
#define FLUSH_MS 5000       /* linger bound of a closing end */
#define BROKER_BYTES (256u << 20) /* the most a queue's broker holds */

enum { SND, RCV, BRK, NPIPES }; /* queue: senders' and receivers' life; the helper's */
enum { LA = SND, LB = RCV };    /* pipe: end A's and end B's life */

struct zshared {       /* MAP_SHARED between every process of a link */
    atomic_uint senders; /* queue sender sockets that have sent (each owes a bye) */
    atomic_uint held;    /* queue: messages the broker holds now */
    atomic_bool ended;   /* queue: the broker answers with end-of-stream */
    atomic_uint sent;    /* queue: data messages ZeroMQ took from senders */
    atomic_uint got;     /* queue: data messages consumers received */
};

struct zlink {
    char dir[48];      /* the private folder of the endpoints */
    int fd[NPIPES][2]; /* life pipes, [0] read, [1] write */
    struct zshared *sh;
};

struct zchan {
    void *tx, *rx;    /* a pipe's PAIR is both; a queue end has the ones its role uses */
    pid_t owner;      /* the process that made them (a forked child makes its own) */
    int mine;         /* the write end of this end's life pipe, held while it may send */
    int mine2;        /* a producer-and-consumer queue end holds the receivers' too */
    int watch;        /* read end: HUP when the peer side is gone */
    int helper;       /* read end of the helper's life pipe */
    bool started;     /* queue sender: counted in senders, owes a bye */
    bool outstanding; /* queue consumer: a request is at the broker */
    bool eos;         /* the end marker arrived */
    bool shut;
    bool queue;       /* the link's shape (the link may be destroyed while ends live) */
    int hwm;          /* the link's depth, for ZeroMQ's high-water marks */
    char dir[48];
    struct zshared *sh; /* this end's own mapping of the link's page */
};

/* ---------------------------------------------------------------- libzmq, per process */

#define ZMQ_FNS(X)                                                                                 \
    X(zmq_version) X(zmq_errno) X(zmq_ctx_new) X(zmq_ctx_term) X(zmq_socket) X(zmq_close)          \
    X(zmq_setsockopt) X(zmq_getsockopt) X(zmq_bind) X(zmq_connect) X(zmq_send) X(zmq_recv)        \
    X(zmq_poll) X(zmq_msg_init) X(zmq_msg_move) X(zmq_msg_close) X(zmq_msg_send)                  \
    X(zmq_msg_recv) X(zmq_msg_more) X(zmq_msg_size)

static struct {
#define FN_PTR(f) __typeof__(f) *f;
    ZMQ_FNS(FN_PTR)
} Z;
static pid_t api_pid; /* the process whose copy Z points into */
static void *ctx;     /* this process's context, in that copy */
static int nsock;     /* its open sockets */

/* This process's own copy of libzmq, loaded on first use (see the top of the file):
 * its own libc and C++ runtime too, so no lock that a parent's thread held at fork.
 * glibc 2.36 fits 11 copies in a process (static TLS), inherited ones included: one
 * per generation of forks that use ZeroMQ, 4 in ipcmark's deepest (a pool's broker). */
static int api_get(void)
{
    if (api_pid == getpid())
        return 0;
    void *h = dlmopen(LM_ID_NEWLM, ZMQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return -ENOSYS;
#define FN_LOAD(f)                                                                                 \
    if (!(*(void **)&Z.f = dlsym(h, #f)))                                                          \
        return -ENOSYS;
    ZMQ_FNS(FN_LOAD)
    api_pid = getpid();
    ctx = NULL, nsock = 0; /* a parent's, in the copy it loaded: left alone */
    return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Close s after up to linger_ms of flushing; the process's last socket ends the
 * context, which is what waits for the flush and stops ZeroMQ's threads. */
static void sock_close(void *s, int linger_ms)
{
    Z.zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
    Z.zmq_close(s);
    if (--nsock == 0) {
        /* A signal ends the wait with EINTR and leaves the context (its threads and five
         * descriptors) alive; the linger's deadline stays, so a restart is bounded. */
        while (Z.zmq_ctx_term(ctx) < 0 && Z.zmq_errno() == EINTR)
            ;
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

/* The pipe end behind read end fd shut down cleanly: its end marker is on the way, so
 * a reader waits for it rather than for a grace period (see shutdown). */
static bool clean(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* The side behind read end fd is gone: it polls HUP. */
static bool gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void endpoint(const char *dir, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "ipc://%s/%s", dir, what);
}

/* The endpoints' paths in folder dir, then the folder's own. */
static void dir_paths(const char *dir, char paths[4][96])
{
    static const char *const names[] = {"in", "out", "pair"};
    for (int i = 0; i < 3; i++)
        snprintf(paths[i], sizeof(paths[i]), "%.47s/%s", dir, names[i]);
    snprintf(paths[3], sizeof(paths[3]), "%.47s", dir);
}

/* Only unlink and rmdir: async-signal-safe, so helper_on_signal uses it too. */
static void remove_paths(char paths[4][96])
{
    for (int i = 0; i < 3; i++)
        unlink(paths[i]);
    rmdir(paths[3]);
}

static void remove_dir(const char *dir)
{
    char paths[4][96];
    dir_paths(dir, paths);
    remove_paths(paths);
}

/* A helper ended by a signal must still remove the folder: `pkill -f "ipcmark check"`
 * also matches the helpers, forks of the runner, and used to leave a folder with its
 * endpoints behind. SIGTERM, SIGINT and SIGHUP remove it, then end the helper as the
 * signal would. The paths are made beforehand, so the handler calls only
 * async-signal-safe functions (unlink, rmdir, signal, raise). */
static char helper_paths[4][96]; /* the three endpoints, then the folder */

static void helper_on_signal(int sig)
{
    remove_paths(helper_paths);
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns */
}

static void helper_catch_signals(const char *dir)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    dir_paths(dir, helper_paths);
    struct sigaction sa = {.sa_handler = helper_on_signal};
    sigfillset(&sa.sa_mask);
    sigset_t set; /* unblocked: the creator's thread may have blocked them */
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
        sigaddset(&set, sigs[i]);
    }
    sigprocmask(SIG_UNBLOCK, &set, NULL);
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

/* Wait up to ms for sock (events) or a HUP on either fd. */
static void wait_sock(void *sock, short events, int fd1, int fd2, long ms)
{
    zmq_pollitem_t it[3] = {{.socket = sock, .events = events}};
    int n = 1;
    if (fd1 >= 0)
        it[n++] = (zmq_pollitem_t){.fd = fd1, .events = ZMQ_POLLIN};
    if (fd2 >= 0)
        it[n++] = (zmq_pollitem_t){.fd = fd2, .events = ZMQ_POLLIN};
    Z.zmq_poll(it, n, ms);
}

/* A two-frame marker (end of stream, bye); data messages are one frame. */
static int send_marker(void *sock, char tag)
{
    if (Z.zmq_send(sock, &tag, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -Z.zmq_errno();
    return Z.zmq_send(sock, "", 0, 0) < 0 ? -Z.zmq_errno() : 0;
}

/* Receive one message into buf; a marker sets *tag. Returns its length or -errno. */
static int recv_msg(void *sock, void *buf, size_t cap, char *tag)
{
    int more = 0;
    size_t sz = sizeof(more);
    int n = Z.zmq_recv(sock, buf, cap, ZMQ_DONTWAIT);
    *tag = 0;
    if (n < 0)
        return -Z.zmq_errno();
    Z.zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    if (!more)
        return (size_t)n > cap ? -EMSGSIZE : n;
    *tag = n > 0 ? *(char *)buf : '?';
    while (more) { /* the marker's empty tail */
        char skip[8];
        if (Z.zmq_recv(sock, skip, sizeof(skip), 0) < 0)
            return -Z.zmq_errno();
        Z.zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    }
    return 0;
}

/* ---------------------------------------------------------------- the helper */

/* Close every descriptor but keep[0..n): the helper must not hold another link's life
 * pipes (that would hide their peers' deaths) nor anything of its parent's. */
static void close_others(const int *keep, int n)
{
    for (int nf = -1; nf != 0;) { /* in rounds of 1024: a caller may hold thousands */
        DIR *d = opendir("/proc/self/fd");
        int fds[1024];
        nf = 0;
        if (!d) { /* no descriptor left to list them with: every possible number */
            for (int fd = 3; fd < 65536; fd++) {
                bool k = false;
                for (int i = 0; i < n && !k; i++)
                    k = keep[i] == fd;
                if (!k)
                    close(fd);
            }
            return;
        }
        for (struct dirent *e; (e = readdir(d)) && nf < 1024;) {
            int fd = atoi(e->d_name);
            bool k = e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d) || fd < 3;
            for (int i = 0; i < n && !k; i++)
                k = keep[i] == fd;
            if (!k)
                fds[nf++] = fd;
        }
        closedir(d);
        for (int i = 0; i < nf; i++)
            close(fds[i]);
    }
}

/* A FIFO of messages (the broker's queue, and its waiting consumers' identities). */
struct fifo {
    zmq_msg_t *m;
    size_t head, n, cap;
};

static bool fifo_push(struct fifo *f, zmq_msg_t *msg)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        zmq_msg_t *p = malloc(cap * sizeof(*p));
        if (!p)
            return false;
        for (size_t i = 0; i < f->n; i++)
            memcpy(&p[i], &f->m[(f->head + i) % f->cap], sizeof(*p)); /* zmq_msg_move */
        free(f->m);
        f->m = p, f->head = 0, f->cap = cap;
    }
    Z.zmq_msg_init(&f->m[(f->head + f->n++) % f->cap]);
    Z.zmq_msg_move(&f->m[(f->head + f->n - 1) % f->cap], msg);
    return true;
}

static zmq_msg_t *fifo_front(struct fifo *f)
{
    return &f->m[f->head];
}

static void fifo_pop(struct fifo *f)
{
    Z.zmq_msg_close(fifo_front(f));
    f->head = (f->head + 1) % f->cap, f->n--;
}

static void fifo_free(struct fifo *f)
{
    while (f->n)
        fifo_pop(f);
    free(f->m);
}

/* Send the front message (or, tag set, a marker) to the longest waiting consumer; a
 * consumer gone is skipped (ROUTER_MANDATORY says so). Returns false when none is left. */
static bool reply(void *out, struct fifo *w, struct fifo *q, char tag)
{
    while (w->n) {
        int r = Z.zmq_msg_send(fifo_front(w), out, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        fifo_pop(w);
        if (r < 0)
            continue; /* EHOSTUNREACH: that consumer left */
        if (tag)
            send_marker(out, tag);
        else if (Z.zmq_msg_send(fifo_front(q), out, 0) >= 0)
            q->n--, q->head = (q->head + 1) % q->cap; /* sent: the slot is empty now */
        else
            fifo_pop(q);
        return true;
    }
    return false;
}

/* The queue's broker: takes what senders send as soon as it comes, and hands each
 * message to the consumer that asked first (see "in" below for why it is eager); so the
 * depth a user asks for bounds each sender's own queue (ZMQ_SNDHWM), not the whole. Runs
 * until no receiver is left. */
static void broker(struct zlink *z, const char *in_ep, const char *out_ep, int ready)
{
    if (api_get() < 0) /* the helper's own copy: the creator's may be mid-call in a thread */
        return;
    void *c = Z.zmq_ctx_new();
    void *in = Z.zmq_socket(c, ZMQ_PULL), *out = Z.zmq_socket(c, ZMQ_ROUTER);
    int one = 1, zero = 0;
    struct fifo w = {0}, q = {0};
    size_t bytes = 0; /* held in q */
    bool snd_gone = false;
    int64_t gone_at = 0;
    unsigned byes = 0;
    /* No high-water mark on "in": libzmq drops what a bind-side inbound pipe holds at its
     * mark when the sender disconnects (a 1x1 stream of 20000 lost its last ~900 and the
     * bye under load), so the broker's reader must never be the one that stops. */
    Z.zmq_setsockopt(in, ZMQ_RCVHWM, &zero, sizeof(zero));
    Z.zmq_setsockopt(out, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    Z.zmq_setsockopt(out, ZMQ_LINGER, &zero, sizeof(zero));
    Z.zmq_setsockopt(in, ZMQ_LINGER, &zero, sizeof(zero));
    if (Z.zmq_bind(in, in_ep) < 0 || Z.zmq_bind(out, out_ep) < 0)
        return;
    if (write(ready, "k", 1) != 1) /* the endpoints exist: create returns */
        return;
    close_fd(&ready);
    for (;;) {
        zmq_pollitem_t it[4] = {
            {.socket = out, .events = ZMQ_POLLIN},
            {.fd = z->fd[RCV][0], .events = ZMQ_POLLIN},
            {.fd = snd_gone ? -1 : z->fd[SND][0], .events = ZMQ_POLLIN}, /* HUP polls */
            {.socket = in, .events = bytes < BROKER_BYTES ? ZMQ_POLLIN : 0},
        };
        Z.zmq_poll(it, 4, snd_gone && w.n ? SLICE_MS : -1);
        if (gone(z->fd[RCV][0]))
            break;
        if (!snd_gone && gone(z->fd[SND][0]))
            snd_gone = true, gone_at = now_ms();
        for (;;) { /* requests: [id][empty] */
            zmq_msg_t id, req;
            Z.zmq_msg_init(&id);
            if (Z.zmq_msg_recv(&id, out, ZMQ_DONTWAIT) < 0) {
                Z.zmq_msg_close(&id);
                break;
            }
            Z.zmq_msg_init(&req);
            Z.zmq_msg_recv(&req, out, 0);
            Z.zmq_msg_close(&req);
            fifo_push(&w, &id);
            Z.zmq_msg_close(&id);
        }
        bool empty = false;
        while (bytes < BROKER_BYTES) {
            zmq_msg_t m;
            Z.zmq_msg_init(&m);
            if (Z.zmq_msg_recv(&m, in, ZMQ_DONTWAIT) < 0) {
                Z.zmq_msg_close(&m);
                empty = true;
                break;
            }
            if (Z.zmq_msg_more(&m)) { /* a marker: a sender's bye, after its last message */
                Z.zmq_msg_recv(&m, in, 0);
                byes++;
            } else {
                bytes += Z.zmq_msg_size(&m);
                fifo_push(&q, &m);
            }
            Z.zmq_msg_close(&m);
        }
        while (q.n) {
            size_t sz = Z.zmq_msg_size(fifo_front(&q));
            if (!reply(out, &w, &q, 0))
                break;
            bytes -= sz;
        }
        atomic_store(&z->sh->held, (unsigned)q.n);
        /* End of stream: no sender can come back, each one that sent said bye (or died
         * long enough ago), and all is delivered. Every waiting consumer is told. */
        if (snd_gone && empty && !q.n &&
            (byes >= atomic_load(&z->sh->senders) || now_ms() - gone_at > DEAD_SENDER_MS)) {
            atomic_store(&z->sh->ended, true);
            while (reply(out, &w, &q, 'E'))
                ;
        }
    }
    fifo_free(&q);
    fifo_free(&w);
    Z.zmq_close(in);
    Z.zmq_close(out);
    Z.zmq_ctx_term(c);
}

/* The helper process: broker (queue) or watcher (pipe); removes the folder at the end. */
static void helper_main(struct zlink *z, enum ipcm_shape shape, int hwm, int ready)
{
    int keep[] = {z->fd[SND][0], z->fd[RCV][0], z->fd[BRK][1], ready};
    char in_ep[96], out_ep[96];
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && null >= 0; fd++)
        dup2(null, fd); /* not the caller's terminal or output pipes: they would not end */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { /* created at a caller's fd limit: not ours */
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    close_others(keep, 4);
    helper_catch_signals(z->dir);
    signal(SIGPIPE, SIG_IGN); /* its own process: ZeroMQ never raises it anyway */
    if (shape == IPCM_SHAPE_QUEUE) {
        endpoint(z->dir, "in", in_ep, sizeof(in_ep));
        endpoint(z->dir, "out", out_ep, sizeof(out_ep));
        (void)hwm;
        broker(z, in_ep, out_ep, ready);
    } else {
        if (write(ready, "k", 1) != 1)
            _exit(1);
        close_fd(&ready);
        struct pollfd p[2] = {{.fd = z->fd[LA][0]}, {.fd = z->fd[LB][0]}};
        while (p[0].fd >= 0 || p[1].fd >= 0) {
            poll(p, 2, -1);
            for (int i = 0; i < 2; i++)
                if (gone(p[i].fd))
                    p[i].fd = -1; /* poll ignores it from now on */
        }
    }
    remove_dir(z->dir);
    _exit(0);
}

/* Fork the helper twice (so it is nobody's child to reap) and wait until it serves. */
static int helper_start(struct zlink *z, enum ipcm_shape shape, int hwm)
{
    int ready[2], st;
    char b;
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -errno;
    pid_t mid = fork();
    if (mid < 0) {
        int err = -errno;
        close(ready[0]), close(ready[1]);
        return err;
    }
    if (mid == 0) {
        setsid(); /* a kill of the runner's process group leaves it to clean up */
        if (fork() == 0)
            helper_main(z, shape, hwm, ready[1]);
        _exit(0);
    }
    close(ready[1]);
    while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
        ;
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    int r = poll(&p, 1, 5000) == 1 && read(ready[0], &b, 1) == 1 ? 0 : -ECHILD;
    close(ready[0]);
    close_fd(&z->fd[BRK][1]); /* the helper's alone: its death is our HUP */
    return r;
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
    if (z->sh)
        munmap(z->sh, sizeof(*z->sh));
    z->sh = NULL; /* the folder is the helper's to remove */
}

static int zmq_create(struct ipcm_link *l)
{
    struct zlink *z = l->priv;
    const char *tmp = getenv("TMPDIR");
    int err = 0;
    for (int i = 0; i < NPIPES; i++)
        z->fd[i][0] = z->fd[i][1] = -1;
    for (int i = 0; i < NPIPES && !err; i++)
        if (pipe2(z->fd[i], O_CLOEXEC) < 0)
            err = -errno;
    z->sh = mmap(NULL, sizeof(*z->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (z->sh == MAP_FAILED)
        z->sh = NULL, err = err ? err : -ENOMEM;
    snprintf(z->dir, sizeof(z->dir), "%s/ipcm-zmq.XXXXXX",
             tmp && *tmp && strlen(tmp) < 28 ? tmp : "/tmp");
    if (!err && !mkdtemp(z->dir)) /* 0700: no other user can connect */
        err = -errno;
    if (err) {
        zmq_destroy(l);
        return err;
    }
    snprintf(l->name, sizeof(l->name), "%s", z->dir);
    if ((err = helper_start(z, l->shape, (int)l->cfg.depth)) < 0) {
        remove_dir(z->dir);
        zmq_destroy(l);
    }
    return err;
}

/* Make one socket of this process for end c. */
static int make_socket(struct ipcm_chan *c, int type, const char *what, bool bind, void **out)
{
    struct zchan *zc = c->priv;
    char ep[96];
    int hwm = zc->hwm, zero = 0, ivl = 10;
    void *s;
    int e = api_get();
    if (e)
        return e;
    if (!ctx && !(ctx = Z.zmq_ctx_new())) /* per copy, so per process: see api_get */
        return -Z.zmq_errno();
    if (!(s = Z.zmq_socket(ctx, type)))
        return -Z.zmq_errno();
    nsock++;
    Z.zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    Z.zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    Z.zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    Z.zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    endpoint(zc->dir, what, ep, sizeof(ep));
    if ((bind ? Z.zmq_bind(s, ep) : Z.zmq_connect(s, ep)) < 0) {
        int err = -Z.zmq_errno();
        sock_close(s, 0);
        return err;
    }
    *out = s;
    return 0;
}

/* Make this process's sockets of end c. */
static int open_socket(struct ipcm_chan *c)
{
    struct zchan *zc = c->priv;
    int r = 0;
    zc->owner = getpid();
    zc->tx = zc->rx = NULL;
    zc->started = zc->outstanding = false;
    if (!zc->queue) {
        r = make_socket(c, ZMQ_PAIR, "pair", c->role == IPCM_ROLE_A, &zc->tx);
        zc->rx = zc->tx;
        return r;
    }
    if (c->role != IPCM_ROLE_RECV && !zc->shut)
        r = make_socket(c, ZMQ_PUSH, "in", false, &zc->tx);
    if (!r && c->role != IPCM_ROLE_SEND)
        r = make_socket(c, ZMQ_DEALER, "out", false, &zc->rx);
    if (r && zc->tx)
        sock_close(zc->tx, 0), zc->tx = NULL;
    return r;
}

/* The socket of c usable in this process: a forked child makes its own (a ZeroMQ
 * socket does not survive fork); a pipe's binding end cannot (its peer is connected to
 * the parent's). */
static int sock_here(struct ipcm_chan *c)
{
    struct zchan *zc = c->priv;
    if (zc->owner == getpid())
        return 0;
    if (!zc->queue)
        return -ENOTSUP;
    return open_socket(c);
}

static int zmq_open(struct ipcm_chan *c)
{
    struct zlink *z = c->link->priv;
    struct zchan *zc = c->priv;
    int hold = -1, watch = -1;
    switch (c->role) {
    case IPCM_ROLE_SEND: hold = SND, watch = RCV; break;
    case IPCM_ROLE_RECV: hold = RCV; break; /* end of stream comes in band */
    case IPCM_ROLE_BOTH: hold = SND; break; /* and RCV, below */
    case IPCM_ROLE_A: hold = LA, watch = LB; break;
    default: hold = LB, watch = LA; break;
    }
    zc->mine = z->fd[hold][1];
    zc->mine2 = c->role == IPCM_ROLE_BOTH ? z->fd[RCV][1] : -1;
    if (c->role == IPCM_ROLE_BOTH)
        z->fd[RCV][1] = -1;
    zc->watch = watch >= 0 ? z->fd[watch][0] : -1;
    zc->helper = z->fd[BRK][0];
    z->fd[hold][1] = -1;
    if (watch >= 0)
        z->fd[watch][0] = -1;
    z->fd[BRK][0] = -1;
    /* Drop what this role must not hold, so that the others' end-of-stream works. */
    for (int i = 0; i < NPIPES; i++)
        for (int k = 0; k < 2; k++)
            close_fd(&z->fd[i][k]);
    snprintf(zc->dir, sizeof(zc->dir), "%s", z->dir);
    /* The end's own mapping of the shared page (mremap of a shared mapping with old
     * size 0 maps the same pages again), so that it outlives destroy of the link. */
    zc->sh = mremap(z->sh, 0, sizeof(*z->sh), MREMAP_MAYMOVE);
    if (zc->sh == MAP_FAILED) {
        zc->sh = NULL;
        return -errno;
    }
    zc->queue = c->link->shape == IPCM_SHAPE_QUEUE;
    zc->hwm = (int)c->link->cfg.depth;
    return open_socket(c);
}

static ssize_t zmq_send_op(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    struct zchan *zc = c->priv;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int r = zc->shut ? -EBADF : sock_here(c); /* shut down: sends no more */
    if (r < 0)
        return r;
    for (;;) {
        if (gone(zc->watch) || gone(zc->helper))
            return -EPIPE; /* ZeroMQ would queue for a peer that will never read */
        if (zc->queue && !zc->started) {
            atomic_fetch_add(&zc->sh->senders, 1); /* owes the broker a bye */
            zc->started = true;
        }
        if (Z.zmq_send(zc->tx, buf, len, ZMQ_DONTWAIT) >= 0) {
            if (zc->queue)
                atomic_fetch_add(&zc->sh->sent, 1);
            return (ssize_t)len;
        }
        if ((r = Z.zmq_errno()) != EAGAIN && r != EINTR)
            return -r;
        long ms = slice(timeout_ms, end);
        if (ms < 0)
            return ms;
        wait_sock(zc->tx, ZMQ_POLLOUT, zc->watch, zc->helper, ms);
    }
}

static ssize_t zmq_recv_op(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    struct zchan *zc = c->priv;
    bool queue = zc->queue, last = false, try_get = timeout_ms == 0;
    int64_t gone_at = 0;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int r = sock_here(c);
    if (r < 0)
        return r;
    for (;;) {
        if (zc->eos)
            return -EPIPE;
        if (queue && !zc->outstanding) { /* ask the broker for one message */
            if (Z.zmq_send(zc->rx, "", 0, ZMQ_DONTWAIT) >= 0)
                zc->outstanding = true;
            else if ((r = Z.zmq_errno()) != EAGAIN && r != EINTR)
                return -r;
        }
        char tag;
        int n = queue && !zc->outstanding ? -EAGAIN : recv_msg(zc->rx, buf, cap, &tag);
        if (n >= 0 && tag) {
            zc->eos = true, zc->outstanding = false;
            continue;
        }
        if (n >= 0) {
            if (queue)
                atomic_fetch_add(&zc->sh->got, 1);
            zc->outstanding = false;
            return n;
        }
        if (n != -EAGAIN && n != -EINTR)
            return n;
        if (last)
            return -EPIPE;
        if (queue && timeout_ms == 0 && zc->outstanding &&
            (atomic_load(&zc->sh->held) || atomic_load(&zc->sh->ended) ||
             atomic_load(&zc->sh->sent) != atomic_load(&zc->sh->got))) {
            /* A message is on its way (in a sender's ZeroMQ, the socket, or the broker)
             * or the end is: a try-get waits for the answer's round trip, so what was
             * sent before it is seen (a pool reads a worker's last result so after the
             * worker exited, before the broker read it). A message lost with a killed
             * sender costs each later try-get this wait, bounded. */
            timeout_ms = ANSWER_MS, end = now_ms() + ANSWER_MS;
        }
        long ms = slice(timeout_ms, end);
        bool dead = gone(zc->watch);
        if (dead && clean(zc->watch) && !gone_at)
            gone_at = now_ms(); /* its marker was flushed before it closed: wait for it */
        if (gone(zc->helper) || (dead && (!gone_at || now_ms() - gone_at > FLUSH_MS)))
            last = true, ms = GRACE_MS; /* died: one more look at what ZeroMQ carries */
        else if (ms < 0)
            return try_get ? -EAGAIN : ms;
        wait_sock(zc->rx, zc->outstanding || !queue ? ZMQ_POLLIN : ZMQ_POLLOUT, zc->watch,
                  zc->helper, ms);
    }
}

static int zmq_shutdown_op(struct ipcm_chan *c)
{
    struct zchan *zc = c->priv;
    bool tx = c->role != IPCM_ROLE_RECV;
    if (zc->shut)
        return 0;
    zc->shut = true;
    if (tx && zc->tx && zc->owner == getpid() &&
        (!zc->queue || zc->started)) {
        /* The marker goes after this end's last message (bounded while the peer lives). */
        int64_t end = now_ms() + FLUSH_MS;
        while (send_marker(zc->tx, zc->queue ? 'B' : 'E') == -EAGAIN &&
               !gone(zc->watch) && !gone(zc->helper) && now_ms() < end)
            wait_sock(zc->tx, ZMQ_POLLOUT, zc->watch, zc->helper, SLICE_MS);
        if (zc->queue) { /* flushed before our life pipe goes */
            sock_close(zc->tx, gone(zc->helper) || gone(zc->watch) ? 0 : FLUSH_MS);
            zc->tx = NULL;
        }
    }
    if (tx && zc->queue)
        close_fd(&zc->mine); /* a pipe end's life ends at close, after the flush */
    else if (tx && zc->mine >= 0 && write(zc->mine, "c", 1) < 0)
        close_fd(&zc->mine); /* "c": shut down cleanly, its marker follows (clean()) */
    return 0;
}

static void zmq_close_op(struct ipcm_chan *c)
{
    struct zchan *zc = c->priv;
    zmq_shutdown_op(c);
    if (zc->owner == getpid()) { /* a parent's sockets inherited by fork are left alone */
        /* Nobody left to take a flush: do not wait out the linger for it. */
        int linger = gone(zc->helper) || gone(zc->watch) ? 0 : FLUSH_MS;
        if (zc->tx && zc->tx != zc->rx)
            sock_close(zc->tx, linger);
        if (zc->rx)
            sock_close(zc->rx, linger);
    }
    zc->tx = zc->rx = NULL;
    close_fd(&zc->mine);
    close_fd(&zc->mine2);
    if (zc->sh)
        munmap(zc->sh, sizeof(*zc->sh));
    zc->sh = NULL;
    close_fd(&zc->watch);
    close_fd(&zc->helper);
}

static const struct ipcm_backend zmq_backend = {
    IPCM_BACKEND_HEAD,
    .name = "zmq",
    .summary = "ZeroMQ over ipc://: queue PUSH->broker->DEALER, pipe PAIR (plugin)",
    .caps = IPCM_CAP_NATIVE_MSG | IPCM_CAP_DUPLEX | IPCM_CAP_LIB_BUFFERED,
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
    if (api_get() < 0) { /* loaded, not started: libzmq starts with its first context */
        *reason = "cannot load " ZMQ_SONAME " (Debian: libzmq5)";
        return NULL;
    }
    Z.zmq_version(&major, &minor, &patch);
    if (major < 4) {
        *reason = "needs libzmq 4 or later";
        return NULL;
    }
    (void)host_abi; /* ABI 1 is all this plugin knows; the loader checks the rest */
    return &zmq_backend;
}
