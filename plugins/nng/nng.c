/* SPDX-License-Identifier: MIT */
/*
 * nng.c - nanomsg-next-gen as an ipcmark plugin, built against the public
 * ipcmark_backend.h only: ipc:// endpoints in a private 0700 folder; queue = PUSH ->
 * broker -> REQ (each consumer asks the broker's raw REP for one message at a time),
 * pipe = PAIR (v0). The structure is the zmq plugin's (plugins/zmq/zmq.c): a helper
 * process per link, end-of-stream in band, peer death from life pipes.
 *
 * What nng adds: its state is library-wide (threads started on first use, a flag set by
 * a pthread_atfork handler), and any nng call in a process forked after that aborts
 * ("nng is not fork-reentrant safe"). So nng is never linked: each process that uses it
 * loads its own fresh copy with dlmopen(LM_ID_NEWLM), the first time it needs one; a
 * copy inherited through fork is left unused. A process's last socket ends its copy's
 * threads (nng_fini), so no nng thread or descriptor outlives the ends.
 *
 * nng 1.5's own troubles, each met where it bites: its pollable descriptors
 * (NNG_OPT_RECVFD) are never closed, so calls wait in nng with its timeouts, in slices;
 * nng_fini does not wait for its threads' last work (a pause first) and can leave a
 * connection open (closed after it); a connection duplicated into a forked child keeps
 * the parent's nng_close from returning (children close their copies, atfork); an
 * nng_close that hangs all the same is bounded (struct closer).
 *
 * Messages carry one tag byte in front ('D' data, 'E' end of stream, 'B' a queue
 * sender's bye with its slot), since nng has no multi-part messages. nng_close does not
 * linger, so a queue sender waits at shutdown until the broker has seen its bye.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dlmopen */
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "ipcmark_backend.h"

#define NNG_SONAME "libnng.so.1" /* nng 1.x's ABI */
#define MAX_MSG (4u << 20)        /* a bound ipcmark needs; nng's default is 1 MiB */
#define MAX_BUF 8192              /* nng's bound on a socket's send/receive buffer */
#define SLICE_MS 50               /* how often a blocked call looks at the life pipes */
#define GRACE_MS 100              /* after a peer died: what nng's threads still carry */
#define DEAD_SENDER_MS 1000       /* the broker's wait for a bye from a sender that died */
#define FLUSH_MS 5000             /* bound of a closing end's flush */
#define BROKER_BYTES (256u << 20) /* the most a queue's broker holds */
#define FINI_PAUSE_MS 5           /* see sock_close */
#define PEER_CLOSE_MS 200         /* see nng_close_op */
#define ANSWER_MS 200             /* see nng_recv_op */
#define CLOSE_MS 2000             /* see struct closer */
#define NSLOTS 4096               /* queue senders whose bye is acknowledged */

enum { SND, RCV, BRK, NPIPES }; /* queue: senders' and receivers' life; the helper's */
enum { LA = SND, LB = RCV };    /* pipe: end A's and end B's life */

struct nshared {         /* MAP_SHARED between every process of a link */
    atomic_uint senders; /* queue sender sockets that have sent (each owes a bye) */
    atomic_uint held;    /* queue: messages the broker holds now */
    atomic_bool ended;   /* queue: the broker answers with end-of-stream */
    atomic_uchar acked[NSLOTS]; /* the broker has the bye of sender slot i */
};

struct nlink {
    char dir[48];      /* the private folder of the endpoints */
    int fd[NPIPES][2]; /* life pipes, [0] read, [1] write */
    struct nshared *sh;
};

struct nchan {
    nng_socket tx, rx; /* a pipe's PAIR is both; a queue end has the ones its role uses */
    int txto, rxto;    /* the send timeout of tx, receive timeout of rx, as last set */
    pid_t owner;       /* the process that made them (a forked child makes its own) */
    int mine;          /* the write end of this end's life pipe, held while it may send */
    int mine2;         /* a producer-and-consumer queue end holds the receivers' too */
    int watch;         /* read end: HUP when the peer side is gone */
    int helper;        /* read end of the helper's life pipe */
    unsigned slot;     /* queue sender: its slot in sh->acked */
    uint32_t reqid;    /* queue consumer: the last request's id */
    bool started;      /* queue sender: counted in senders, owes a bye */
    bool outstanding;  /* queue consumer: a request is at the broker */
    bool eos;          /* the end marker arrived */
    bool shut;
    bool queue; /* the link's shape (the link may be destroyed while ends live) */
    int hwm;    /* the link's depth, for nng's buffers */
    char dir[48];
    struct nshared *sh;
};

/* ---------------------------------------------------------------- nng, per process */

#define NNG_FNS(X)                                                                                 \
    X(nng_pair0_open) X(nng_push0_open) X(nng_pull0_open) X(nng_req0_open_raw)                     \
    X(nng_rep0_open_raw) X(nng_listen) X(nng_dial) X(nng_close) X(nng_sendmsg) X(nng_recvmsg)    \
    X(nng_msg_alloc) X(nng_msg_free) X(nng_msg_body) X(nng_msg_len) X(nng_msg_header)             \
    X(nng_msg_header_len) X(nng_msg_header_clear) X(nng_msg_header_append)                         \
    X(nng_msg_header_append_u32) X(nng_msg_get_pipe) X(nng_pipe_id) X(nng_pipe_get_addr)          \
    X(nng_socket_get_int) X(nng_socket_set_int) X(nng_socket_set_ms) X(nng_socket_set_size)       \
    X(nng_fini)

static struct {
#define FN_PTR(f) __typeof__(f) *f;
    NNG_FNS(FN_PTR)
} N;
static pid_t api_pid;     /* the process whose copy N points into */
static int nsock;     /* its open sockets */

static void close_leftovers(void);

/* A child forked while this process's nng was running closes its copies of nng's
 * connections: a duplicate kept open in a child hides the close from the peer, and the
 * parent's epoll keeps reporting a connection it closed; nng_close then never returns. */
static void atfork_child(void)
{
    if (nsock > 0)
        close_leftovers();
    nsock = 0;
}

/* This process's own copy of nng, loaded on first use (see the top of the file). */
static int api_get(void)
{
    static bool registered; /* inherited through fork, like the registration */
    if (api_pid == getpid())
        return 0;
    if (!registered && pthread_atfork(NULL, NULL, atfork_child) == 0)
        registered = true;
    void *h = dlmopen(LM_ID_NEWLM, NNG_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return -ENOSYS;
#define FN_LOAD(f)                                                                                 \
    if (!(*(void **)&N.f = dlsym(h, #f)))                                                          \
        return -ENOSYS;
    NNG_FNS(FN_LOAD)
    api_pid = getpid();
    nsock = 0;
    return 0;
}

static int nerr(int e)
{
    if (e & NNG_ESYSERR)
        return -(e & ~NNG_ESYSERR);
    switch (e) {
    case 0: return 0;
    case NNG_EAGAIN: return -EAGAIN;
    case NNG_ETIMEDOUT: return -ETIMEDOUT;
    case NNG_ENOMEM: return -ENOMEM;
    case NNG_EINVAL: return -EINVAL;
    case NNG_EMSGSIZE: return -EMSGSIZE;
    case NNG_ECLOSED: return -EBADF;
    case NNG_ECONNREFUSED: return -ECONNREFUSED;
    case NNG_ENOTSUP: return -ENOTSUP;
    case NNG_EADDRINUSE: return -EADDRINUSE;
    case NNG_ENOFILES: return -EMFILE;
    case NNG_ENOSPC: return -ENOSPC;
    default: return -EIO;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Close the descriptors nng_fini left: nng 1.5 sometimes keeps a connection of a closed
 * socket open (one that was still being set up). Ours are the AF_UNIX sockets whose
 * peer or own address lies in one of this plugin's endpoint folders. */
static void close_leftovers(void)
{
    DIR *d = opendir("/proc/self/fd");
    int fds[64], n = 0;
    for (struct dirent *e; d && (e = readdir(d)) && n < 64;) {
        int fd = atoi(e->d_name);
        struct sockaddr_un sa;
        socklen_t len = sizeof(sa);
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d))
            continue;
        for (int peer = 0; peer < 2; peer++, len = sizeof(sa)) {
            memset(&sa, 0, sizeof(sa));
            int r = peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
                         : getsockname(fd, (struct sockaddr *)&sa, &len);
            if (r == 0 && sa.sun_family == AF_UNIX && strstr(sa.sun_path, "/ipcm-nng.")) {
                fds[n++] = fd;
                break;
            }
        }
    }
    if (d)
        closedir(d);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* nng_close of nng 1.5 now and then never returns (seen on a PAIR whose peer closed at
 * the same moment); it runs in a thread of its own, and one that does not finish within
 * CLOSE_MS leaves this process's copy of nng stuck: it is abandoned (not ended, since
 * nng_fini would wait as well) and the next socket loads a fresh one. */
struct closer {
    __typeof__(nng_close) *close;
    nng_socket s;
    atomic_bool done;
};

static void *closer_main(void *arg)
{
    struct closer *k = arg;
    k->close(k->s);
    atomic_store(&k->done, true);
    return NULL;
}

static bool api_stuck; /* a close of this copy never finished */

/* Give up on this process's copy of nng after a close that never returned, and say so
 * once on stderr (write(2): no stdio state is shared with the host), since the copy
 * keeps its descriptors for the life of the process: whoever counts them sees why. */
static void abandon_copy(void)
{
    static const char msg[] =
        "nng plugin: nng_close did not return within 2.5 s (nng 1.5 close deadlock, "
        "nanomsg/nng#1543); this process's copy of nng is abandoned with its descriptors\n";
    if (!api_stuck && write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing to do: the message is advice */
    }
    api_stuck = true;
}

/* Close s; the process's last socket ends nng's threads and descriptors. nng 1.5's
 * nng_fini does not wait for what its threads still finish of a closed socket (a thread
 * then locks a destroyed mutex and panics), so it comes after a pause. */
static void sock_close(nng_socket s)
{
    struct closer *k = malloc(sizeof(*k));
    pthread_t t;
    if (k && (k->close = N.nng_close, k->s = s, atomic_init(&k->done, false),
              pthread_create(&t, NULL, closer_main, k) == 0)) {
        pthread_detach(t);
        for (int round = 0; round < 2 && !atomic_load(&k->done); round++) {
            if (round) /* its connection's descriptors closed under it: some then finish */
                close_leftovers();
            int64_t end = now_ms() + (round ? CLOSE_MS : CLOSE_MS / 4);
            while (!atomic_load(&k->done) && now_ms() < end)
                nanosleep(&(struct timespec){.tv_nsec = 200000}, NULL);
        }
        if (atomic_load(&k->done))
            free(k);
        else
            abandon_copy(); /* k stays with the thread */
    } else {
        free(k);
        N.nng_close(s);
    }
    if (--nsock == 0 && api_stuck) {
        api_pid = 0, api_stuck = false; /* abandoned: the next socket loads a fresh copy */
    } else if (nsock == 0) {
        nanosleep(&(struct timespec){.tv_nsec = FINI_PAUSE_MS * 1000000L}, NULL);
        N.nng_fini(); /* the next socket starts it again */
        close_leftovers();
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The pipe end behind read end fd shut down cleanly: its end marker is on the way. */
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

/* Send *m on s, or receive into *m, waiting up to ms (0: not at all). nng's pollable
 * descriptors (NNG_OPT_RECVFD) are not used: nng 1.5 never closes them. */
static int xfer(nng_socket s, nng_msg **m, bool send, long ms, int *cache)
{
    if (ms > 0 && ms != *cache) {
        N.nng_socket_set_ms(s, send ? NNG_OPT_SENDTIMEO : NNG_OPT_RECVTIMEO, (nng_duration)ms);
        *cache = (int)ms;
    }
    int flags = ms > 0 ? 0 : NNG_FLAG_NONBLOCK;
    int e = send ? N.nng_sendmsg(s, *m, flags) : N.nng_recvmsg(s, m, flags);
    return e == NNG_ETIMEDOUT ? -EAGAIN : nerr(e);
}

/* Send a tagged message (tag, then len bytes of buf) within ms. */
static int send_tagged(nng_socket s, char tag, const void *buf, size_t len, long ms, int *cache)
{
    nng_msg *m;
    int e = N.nng_msg_alloc(&m, len + 1);
    if (e)
        return nerr(e);
    char *b = N.nng_msg_body(m);
    b[0] = tag;
    if (len)
        memcpy(b + 1, buf, len);
    if ((e = xfer(s, &m, true, ms, cache)) < 0)
        N.nng_msg_free(m);
    return e;
}

/* Receive one message into buf within ms; a marker sets *tag. Returns its length or
 * -errno. */
static int recv_tagged(nng_socket s, void *buf, size_t cap, char *tag, long ms, int *cache)
{
    nng_msg *m;
    int e = xfer(s, &m, false, ms, cache);
    *tag = 0;
    if (e)
        return e;
    size_t n = N.nng_msg_len(m);
    const char *b = N.nng_msg_body(m);
    int r = 0;
    if (n == 0 || b[0] != 'D')
        *tag = n ? b[0] : '?';
    else if (n - 1 > cap)
        r = -EMSGSIZE;
    else
        memcpy(buf, b + 1, n - 1), r = (int)(n - 1);
    N.nng_msg_free(m);
    return r;
}

/* Options every socket of the plugin gets: messages up to MAX_MSG, quick reconnects. */
static void sock_opts(nng_socket s, int hwm)
{
    int buf = hwm < 1 ? 1 : hwm > MAX_BUF ? MAX_BUF : hwm;
    N.nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, MAX_MSG + 16);
    N.nng_socket_set_int(s, NNG_OPT_SENDBUF, buf);
    N.nng_socket_set_int(s, NNG_OPT_RECVBUF, buf);
    N.nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 10);
    N.nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 100);
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

/* A FIFO of messages (the broker's queue, and its waiting consumers' requests). */
struct fifo {
    nng_msg **m;
    size_t head, n, cap;
};

static bool fifo_push(struct fifo *f, nng_msg *msg)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        nng_msg **p = malloc(cap * sizeof(*p));
        if (!p)
            return false;
        for (size_t i = 0; i < f->n; i++)
            p[i] = f->m[(f->head + i) % f->cap];
        free(f->m);
        f->m = p, f->head = 0, f->cap = cap;
    }
    f->m[(f->head + f->n++) % f->cap] = msg;
    return true;
}

static nng_msg *fifo_take(struct fifo *f)
{
    nng_msg *m = f->m[f->head];
    f->head = (f->head + 1) % f->cap, f->n--;
    return m;
}

/* The consumer that sent request req is still connected. */
static bool alive(nng_msg *req)
{
    nng_sockaddr sa;
    return N.nng_pipe_get_addr(N.nng_msg_get_pipe(req), NNG_OPT_REMADDR, &sa) == 0;
}

/* Send the front message (or, tag set, a marker) to the longest waiting consumer, as
 * the reply to its request; a consumer gone is skipped. Returns false when none took it. */
static bool reply(nng_socket out, struct fifo *w, struct fifo *q, char tag)
{
    while (w->n) {
        nng_msg *req = fifo_take(w), *d = NULL;
        if (!alive(req)) {
            N.nng_msg_free(req);
            continue;
        }
        if (tag) {
            if (N.nng_msg_alloc(&d, 1) != 0) {
                fifo_push(w, req);
                return false;
            }
            *(char *)N.nng_msg_body(d) = tag;
        } else {
            d = q->m[q->head];
        }
        N.nng_msg_header_clear(d); /* routed by the request's header: pipe, request id */
        N.nng_msg_header_append(d, N.nng_msg_header(req), N.nng_msg_header_len(req));
        int e = N.nng_sendmsg(out, d, NNG_FLAG_NONBLOCK);
        if (e) {
            if (tag)
                N.nng_msg_free(d);
            if (e == NNG_EAGAIN) { /* its pipe is still busy: try again later */
                fifo_push(w, req);
                return false;
            }
            N.nng_msg_free(req);
            continue;
        }
        N.nng_msg_free(req);
        if (!tag)
            fifo_take(q); /* nng owns it now */
        return true;
    }
    return false;
}

/* The queue's broker: takes what senders send as soon as it comes (so a sender's own
 * buffer bounds only what it has not yet handed over) and hands each message to the
 * consumer that asked first. Runs until no receiver is left. */
static void broker(struct nlink *z, const char *in_ep, const char *out_ep, int ready)
{
    nng_socket in, out;
    int infd = -1, outfd = -1;
    struct fifo w = {0}, q = {0};
    size_t bytes = 0; /* held in q */
    bool snd_gone = false;
    int64_t gone_at = 0;
    unsigned byes = 0;
    if (api_get() || N.nng_pull0_open(&in) || N.nng_rep0_open_raw(&out))
        return;
    sock_opts(in, MAX_BUF);
    sock_opts(out, MAX_BUF);
    if (N.nng_listen(in, in_ep, NULL, 0) || N.nng_listen(out, out_ep, NULL, 0) ||
        N.nng_socket_get_int(in, NNG_OPT_RECVFD, &infd) ||
        N.nng_socket_get_int(out, NNG_OPT_RECVFD, &outfd))
        return;
    if (write(ready, "k", 1) != 1) /* the endpoints exist: create returns */
        return;
    close_fd(&ready);
    for (;;) {
        struct pollfd p[4] = {
            {.fd = outfd, .events = POLLIN},
            {.fd = z->fd[RCV][0], .events = POLLIN},
            {.fd = snd_gone ? -1 : z->fd[SND][0], .events = POLLIN}, /* HUP polls */
            {.fd = bytes < BROKER_BYTES ? infd : -1, .events = POLLIN},
        };
        poll(p, 4, w.n && (snd_gone || q.n) ? SLICE_MS : -1);
        if (gone(z->fd[RCV][0]))
            break;
        if (!snd_gone && gone(z->fd[SND][0]))
            snd_gone = true, gone_at = now_ms();
        nng_msg *m;
        while (N.nng_recvmsg(out, &m, NNG_FLAG_NONBLOCK) == 0) /* requests */
            if (!fifo_push(&w, m))
                N.nng_msg_free(m);
        bool empty = false;
        while (bytes < BROKER_BYTES) {
            if (N.nng_recvmsg(in, &m, NNG_FLAG_NONBLOCK) != 0) {
                empty = true;
                break;
            }
            const char *b = N.nng_msg_body(m);
            size_t n = N.nng_msg_len(m);
            if (n == 5 && b[0] == 'B') { /* a sender's bye, after its last message */
                uint32_t slot;
                memcpy(&slot, b + 1, sizeof(slot));
                if (slot < NSLOTS)
                    atomic_store(&z->sh->acked[slot], 1);
                byes++;
                N.nng_msg_free(m);
            } else if (fifo_push(&q, m)) {
                bytes += n;
            } else {
                N.nng_msg_free(m);
            }
        }
        while (q.n) {
            size_t sz = N.nng_msg_len(q.m[q.head]);
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
    /* No nng_close or nng_fini: either can hang in nng 1.5 (then the folder would stay);
     * the helper exits next, which ends nng's threads and descriptors. */
}

/* The helper process: broker (queue) or watcher (pipe); removes the folder at the end. */
static void helper_main(struct nlink *z, enum ipcm_shape shape, int ready)
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
    signal(SIGPIPE, SIG_IGN); /* its own process */
    if (shape == IPCM_SHAPE_QUEUE) {
        endpoint(z->dir, "in", in_ep, sizeof(in_ep));
        endpoint(z->dir, "out", out_ep, sizeof(out_ep));
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
static int helper_start(struct nlink *z, enum ipcm_shape shape)
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
            helper_main(z, shape, ready[1]);
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

static int nng_limits(struct ipcm_limits *out)
{
    memset(out, 0, sizeof(*out));
    out->max_msg = MAX_MSG;
    out->default_msg = 8192;
    out->max_depth = MAX_BUF;
    out->default_depth = 128;
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "nng plugin: 4 MiB chosen (NNG_OPT_RECVMAXSZ; nng %d.%d.%d's default is 1 MiB)",
             NNG_MAJOR_VERSION, NNG_MINOR_VERSION, NNG_PATCH_VERSION);
    return 0;
}

static void nng_destroy(struct ipcm_link *l)
{
    struct nlink *z = l->priv;
    for (int i = 0; i < NPIPES; i++)
        for (int k = 0; k < 2; k++)
            close_fd(&z->fd[i][k]);
    if (z->sh)
        munmap(z->sh, sizeof(*z->sh));
    z->sh = NULL; /* the folder is the helper's to remove */
}

static int nng_create(struct ipcm_link *l)
{
    struct nlink *z = l->priv;
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
    snprintf(z->dir, sizeof(z->dir), "%s/ipcm-nng.XXXXXX",
             tmp && *tmp && strlen(tmp) < 28 ? tmp : "/tmp");
    if (!err && !mkdtemp(z->dir)) /* 0700: no other user can connect */
        err = -errno;
    if (err) {
        nng_destroy(l);
        return err;
    }
    snprintf(l->name, sizeof(l->name), "%s", z->dir);
    if ((err = helper_start(z, l->shape)) < 0) {
        remove_dir(z->dir);
        nng_destroy(l);
    }
    return err;
}

enum kind { K_PAIR, K_PUSH, K_REQ };

/* Make one socket of this process for end c. */
static int make_socket(struct ipcm_chan *c, enum kind k, const char *what, bool bind,
                       nng_socket *out)
{
    struct nchan *zc = c->priv;
    char ep[96];
    nng_socket s;
    int e = api_get();
    if (e)
        return e;
    e = k == K_PAIR ? N.nng_pair0_open(&s) : k == K_PUSH ? N.nng_push0_open(&s)
                                                        : N.nng_req0_open_raw(&s);
    if (e)
        return nerr(e);
    nsock++;
    sock_opts(s, zc->hwm);
    /* A PAIR hands a message straight to its connection: once the end marker is taken,
     * all before it is written, which is the only flush nng_close leaves us. */
    if (k == K_PAIR)
        N.nng_socket_set_int(s, NNG_OPT_SENDBUF, 0);
    endpoint(zc->dir, what, ep, sizeof(ep));
    e = bind ? N.nng_listen(s, ep, NULL, 0) : N.nng_dial(s, ep, NULL, NNG_FLAG_NONBLOCK);
    if (e) {
        sock_close(s);
        return nerr(e);
    }
    *out = s;
    return 0;
}

/* Make this process's sockets of end c. */
static int open_socket(struct ipcm_chan *c)
{
    struct nchan *zc = c->priv;
    int r = 0;
    zc->owner = getpid();
    zc->tx = zc->rx = (nng_socket)NNG_SOCKET_INITIALIZER;
    zc->txto = zc->rxto = -2;
    zc->started = zc->outstanding = false;
    if (!zc->queue) {
        r = make_socket(c, K_PAIR, "pair", c->role == IPCM_ROLE_A, &zc->tx);
        zc->rx = zc->tx;
        return r;
    }
    if (c->role != IPCM_ROLE_RECV && !zc->shut)
        r = make_socket(c, K_PUSH, "in", false, &zc->tx);
    if (!r && c->role != IPCM_ROLE_SEND)
        r = make_socket(c, K_REQ, "out", false, &zc->rx);
    if (r && zc->tx.id)
        sock_close(zc->tx), zc->tx = (nng_socket)NNG_SOCKET_INITIALIZER;
    return r;
}

/* The socket of c usable in this process: a forked child makes its own (with its own
 * copy of nng); a pipe's binding end cannot (its peer is connected to the parent's). */
static int sock_here(struct ipcm_chan *c)
{
    struct nchan *zc = c->priv;
    if (zc->owner == getpid())
        return 0;
    if (!zc->queue)
        return -ENOTSUP;
    return open_socket(c);
}

static int nng_open(struct ipcm_chan *c)
{
    struct nlink *z = c->link->priv;
    struct nchan *zc = c->priv;
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

static ssize_t nng_send_op(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    struct nchan *zc = c->priv;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int r = zc->shut ? -EBADF : sock_here(c); /* shut down: sends no more */
    if (r < 0)
        return r;
    for (long ms = 0;;) { /* first a try, then slices, looking at the life pipes between */
        if (gone(zc->watch) || gone(zc->helper))
            return -EPIPE; /* nng would queue for a peer that will never read */
        if (zc->queue && !zc->started) {
            zc->slot = atomic_fetch_add(&zc->sh->senders, 1); /* owes the broker a bye */
            zc->started = true;
        }
        if ((r = send_tagged(zc->tx, 'D', buf, len, ms, &zc->txto)) == 0)
            return (ssize_t)len;
        if (r != -EAGAIN && r != -EINTR)
            return r;
        if ((ms = slice(timeout_ms, end)) < 0)
            return ms;
    }
}

/* Queue consumer: ask the broker for one message (raw REQ: the request id is ours). */
static int request(struct nchan *zc, long ms)
{
    nng_msg *m;
    int e = N.nng_msg_alloc(&m, 0);
    if (e)
        return nerr(e);
    N.nng_msg_header_append_u32(m, 0x80000000u | ((zc->reqid + 1) & 0x7fffffffu));
    if ((e = xfer(zc->rx, &m, true, ms, &zc->txto)) < 0) {
        N.nng_msg_free(m);
        return e;
    }
    zc->reqid++;
    zc->outstanding = true;
    return 0;
}

static ssize_t nng_recv_op(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    struct nchan *zc = c->priv;
    bool queue = zc->queue, last = false, try_get = timeout_ms == 0;
    int64_t gone_at = 0;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int r = sock_here(c);
    if (r < 0)
        return r;
    for (long ms = 0;;) { /* first a try, then slices, looking at the life pipes between */
        if (zc->eos)
            return -EPIPE;
        int n = -EAGAIN;
        char tag = 0;
        if (queue && !zc->outstanding) {
            if ((r = request(zc, ms)) < 0 && r != -EAGAIN)
                return r;
            ms = 0; /* the reply is looked for at once, then in the next slice */
        }
        if (!queue || zc->outstanding)
            n = recv_tagged(zc->rx, buf, cap, &tag, ms, &zc->rxto);
        if (n >= 0 && tag) {
            zc->eos = true, zc->outstanding = false;
            continue;
        }
        if (n >= 0 || n == -EMSGSIZE) {
            zc->outstanding = false;
            return n;
        }
        if (n != -EAGAIN && n != -EINTR)
            return n;
        if (last)
            return -EPIPE;
        if (queue && timeout_ms == 0 && zc->outstanding &&
            (atomic_load(&zc->sh->held) || atomic_load(&zc->sh->ended))) {
            /* The broker holds a message (or the end) for whoever asked: a try-get waits
             * for the answer's round trip, so what was sent before it is seen. */
            timeout_ms = ANSWER_MS, end = now_ms() + ANSWER_MS;
        }
        ms = slice(timeout_ms, end);
        bool dead = gone(zc->watch);
        if (dead && clean(zc->watch) && !gone_at)
            gone_at = now_ms(); /* its marker was flushed before it closed: wait for it */
        if (gone(zc->helper) || (dead && (!gone_at || now_ms() - gone_at > FLUSH_MS)))
            last = true, ms = GRACE_MS; /* died: one more look at what nng carries */
        else if (ms < 0)
            return try_get ? -EAGAIN : ms;
    }
}

static int nng_shutdown_op(struct ipcm_chan *c)
{
    struct nchan *zc = c->priv;
    bool tx = c->role != IPCM_ROLE_RECV;
    if (zc->shut)
        return 0;
    zc->shut = true;
    if (tx && zc->tx.id && zc->owner == getpid() && (!zc->queue || zc->started)) {
        /* The marker goes after this end's last message (bounded while the peer lives).
         * A PAIR end's marker taken means all before it is written; the marker itself
         * may be lost at close (then the reader's wait for it ends after FLUSH_MS). */
        int64_t end = now_ms() + FLUSH_MS;
        uint32_t slot = zc->slot;
        while (send_tagged(zc->tx, zc->queue ? 'B' : 'E', &slot, zc->queue ? 4 : 0, SLICE_MS,
                           &zc->txto) == -EAGAIN &&
               !gone(zc->watch) && !gone(zc->helper) && now_ms() < end)
            ;
        if (zc->queue) { /* nng_close does not linger: wait until the broker has the bye */
            while (slot < NSLOTS && !atomic_load(&zc->sh->acked[slot]) && !gone(zc->helper) &&
                   now_ms() < end)
                nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
            sock_close(zc->tx);
            zc->tx = (nng_socket)NNG_SOCKET_INITIALIZER;
        }
    }
    if (tx && zc->queue)
        close_fd(&zc->mine); /* a pipe end's life ends at close, after the flush */
    else if (tx && zc->mine >= 0 && write(zc->mine, "c", 1) < 0)
        close_fd(&zc->mine); /* "c": shut down cleanly, its marker follows (clean()) */
    return 0;
}

static void nng_close_op(struct ipcm_chan *c)
{
    struct nchan *zc = c->priv;
    nng_shutdown_op(c);
    if (zc->owner == getpid()) { /* a parent's sockets inherited by fork are left alone */
        /* A PAIR closed while its peer closes too can hang nng_close (nng 1.5): let a
         * peer that is closing (it got our end marker) finish first, for a moment. */
        int64_t end = now_ms() + PEER_CLOSE_MS;
        while (!zc->queue && zc->watch >= 0 && !gone(zc->watch) && now_ms() < end)
            nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
        if (zc->tx.id && zc->tx.id != zc->rx.id)
            sock_close(zc->tx);
        if (zc->rx.id)
            sock_close(zc->rx);
    }
    zc->tx = zc->rx = (nng_socket)NNG_SOCKET_INITIALIZER;
    close_fd(&zc->mine);
    close_fd(&zc->mine2);
    if (zc->sh)
        munmap(zc->sh, sizeof(*zc->sh));
    zc->sh = NULL;
    close_fd(&zc->watch);
    close_fd(&zc->helper);
}

static const struct ipcm_backend nng_backend = {
    IPCM_BACKEND_HEAD,
    .name = "nng",
    .summary = "nng over ipc://: queue PUSH->broker->REQ, pipe PAIR (plugin)",
    .caps = IPCM_CAP_NATIVE_MSG | IPCM_CAP_DUPLEX | IPCM_CAP_LIB_BUFFERED,
    .link_priv = sizeof(struct nlink),
    .chan_priv = sizeof(struct nchan),
    .limits = nng_limits,
    .create = nng_create,
    .open = nng_open,
    .send = nng_send_op,
    .recv = nng_recv_op,
    .shutdown = nng_shutdown_op,
    .close = nng_close_op,
    .destroy = nng_destroy,
};

const struct ipcm_backend *ipcm_backend_plugin_v1(int host_abi, const char **reason)
{
    if (api_get() < 0) { /* loaded, not started: nng starts on its first socket */
        *reason = "cannot load " NNG_SONAME " (Debian: libnng1)";
        return NULL;
    }
    (void)host_abi; /* ABI 1 is all this plugin knows; the loader checks the rest */
    return &nng_backend;
}
