/* SPDX-License-Identifier: MIT */
/*
 * ipcmark.h - the public API of libipcmark: Python's multiprocessing (Queue, Pipe,
 * Process) in C, over interchangeable IPC backends. This header is all a C program
 * needs to link the library.
 */
#ifndef IPCM_HARNESS_IPCMARK_H
#define IPCM_HARNESS_IPCMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPCM_VERSION "0.1.0"

/*
 * Errors. Every function that can fail returns >= 0 on success and a negative errno
 * value on failure. The values a caller should expect from channel operations:
 *   -EMSGSIZE   message larger than the channel's max_msg, or receive buffer smaller
 *               than max_msg (checked before the channel is touched)
 *   -ETIMEDOUT  a positive timeout expired
 *   -EAGAIN     timeout 0 and the call would have blocked
 *   -EPIPE      the other side is gone: every sender closed (recv, once drained) or
 *               every receiver closed (send); also after a peer died
 *   -EBADF      the channel was closed, or the role does not allow the operation
 *   -ENOTRECOVERABLE  a participant died mid-message on a byte-stream channel; the
 *               channel can no longer deliver whole messages and says so
 *   -ENOSYS     the backend is not available on this host
 */

/* ipcm_strerror - a static, human-readable text for a negative errno value. */
const char *ipcm_strerror(int err);
/* ipcm_err_name - the symbolic name ("EMSGSIZE") of a negative errno value. */
const char *ipcm_err_name(int err);

/* ---------------------------------------------------------------- backends */

/* Channel shapes. */
enum ipcm_shape {
    IPCM_SHAPE_QUEUE, /* many producers, many consumers, discrete FIFO messages */
    IPCM_SHAPE_PIPE,  /* two duplex ends, A and B */
};

/* The role a process takes when it opens a channel after fork. */
enum ipcm_role {
    IPCM_ROLE_SEND, /* queue: producer only */
    IPCM_ROLE_RECV, /* queue: consumer only */
    IPCM_ROLE_BOTH, /* queue: producer and consumer (never sees end-of-stream itself) */
    IPCM_ROLE_A,    /* pipe: end A (sends to B, receives from B) */
    IPCM_ROLE_B,    /* pipe: end B */
};

/*
 * Capability bits (struct ipcm_backend_info.caps). Each says what it means and which
 * backends set it; checks and benches branch on bits, never on a backend's name.
 */
/* One kernel object carries both directions of a pipe (else two are used). socketpair. */
#define IPCM_CAP_DUPLEX (1u << 0)
/* The kernel or the ring keeps message boundaries; no framing. socketpair, mqueue, shm. */
#define IPCM_CAP_NATIVE_MSG (1u << 1)
/* ipcm_chan_pollfd() gives an fd usable with poll(2). pipe, socketpair, mqueue. */
#define IPCM_CAP_POLLFD (1u << 2)
/* A name exists under /dev/mqueue or /dev/shm while the channel is created. mqueue. */
#define IPCM_CAP_NAMED (1u << 3)
/* recv may spin briefly before it sleeps (never a pure busy-wait). shm. */
#define IPCM_CAP_SPINS (1u << 4)
/* A message larger than one atomic kernel write can be torn by a writer killed
 * mid-send; the channel then reports -ENOTRECOVERABLE. pipe. */
#define IPCM_CAP_STREAM (1u << 5)

/* Limits of a backend on this host, read at run time (sysctls, rlimits). */
struct ipcm_limits {
    size_t max_msg;         /* largest message in bytes this host allows */
    size_t default_msg;     /* max_msg used when a channel asks for 0 */
    unsigned max_depth;     /* most messages a queue can hold (0: bounded by bytes) */
    unsigned default_depth; /* depth used when a channel asks for 0 */
    size_t buffer_bytes;    /* kernel buffer per direction in bytes (0: not byte-bounded) */
    /* Where max_msg comes from, e.g. "fs.mqueue.msgsize_max = 8192"; shown in errors. */
    char max_msg_source[96];
};

struct ipcm_backend; /* opaque; see backends/backend.h */

/* ipcm_backend_count/at - iterate over the registered backends (index 0..count-1). */
size_t ipcm_backend_count(void);
const struct ipcm_backend *ipcm_backend_at(size_t i);
/* ipcm_backend_find - the backend called name, or NULL. */
const struct ipcm_backend *ipcm_backend_find(const char *name);
const char *ipcm_backend_name(const struct ipcm_backend *be);
const char *ipcm_backend_summary(const struct ipcm_backend *be);
uint32_t ipcm_backend_caps(const struct ipcm_backend *be);
/*
 * ipcm_backend_limits - read this host's limits for be into *out.
 * Returns: 0, or -ENOSYS if the backend cannot run here, or -errno from reading
 * /proc/sys.
 */
int ipcm_backend_limits(const struct ipcm_backend *be, struct ipcm_limits *out);

/* ---------------------------------------------------------------- channels */

/* What a channel is created with; zero fields take the backend's defaults. */
struct ipcm_config {
    size_t max_msg; /* largest message in bytes */
    unsigned depth; /* queue capacity in messages (a hint for byte-stream backends) */
};

struct ipcm_link; /* a channel as created in the parent, before fork */
struct ipcm_chan; /* one process's end of a link, opened after fork */

/*
 * ipcm_link_create - create a channel of the given shape on backend be. Call it in the
 * parent before fork; children inherit it and each calls ipcm_chan_open. On failure
 * *out is NULL and nothing is left behind.
 * Returns: 0; -EMSGSIZE if cfg->max_msg exceeds the backend's limit; -EINVAL for a
 * bad shape or depth beyond the limit; -ENOSYS if the backend cannot run here;
 * -ENOMEM; -EMFILE/-ENFILE/-ENOSPC and other -errno from the kernel.
 */
int ipcm_link_create(const struct ipcm_backend *be, enum ipcm_shape shape,
                     const struct ipcm_config *cfg, struct ipcm_link **out);
/*
 * ipcm_link_destroy - release this process's copy of the link and remove any named
 * kernel object. Accepts NULL. Ends opened with ipcm_chan_open stay usable.
 */
void ipcm_link_destroy(struct ipcm_link *l);
/* Accessors. */
enum ipcm_shape ipcm_link_shape(const struct ipcm_link *l);
size_t ipcm_link_max_msg(const struct ipcm_link *l);
unsigned ipcm_link_depth(const struct ipcm_link *l);
const struct ipcm_backend *ipcm_link_backend(const struct ipcm_link *l);

/*
 * ipcm_chan_open - open this process's end of link l in the given role. It closes in
 * this process what the role must not hold (so end-of-stream works); open one end per
 * process and per link. The link stays valid; destroy it when no more ends will be
 * opened from it in this process.
 * Returns: 0; -EINVAL for a role that does not fit the shape; -EBADF if this process
 * already opened an end of l; -ENOMEM; -errno from the kernel.
 */
int ipcm_chan_open(struct ipcm_link *l, enum ipcm_role role, struct ipcm_chan **out);

/*
 * ipcm_chan_send - send one message of len bytes, whole or not at all.
 * timeout_ms: < 0 waits forever, 0 tries once, > 0 waits at most that long in total
 * (an interrupted call resumes against the same deadline).
 * Returns: len; -EMSGSIZE (len > max_msg); -EAGAIN; -ETIMEDOUT; -EPIPE (every receiver
 * is gone); -EBADF (closed, or a role that does not send); -ENOTRECOVERABLE.
 */
ssize_t ipcm_chan_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms);
/*
 * ipcm_chan_recv - receive one whole message into buf of cap bytes.
 * cap must be at least the channel's max_msg (mq_receive's rule, for every backend),
 * so a message is never truncated.
 * Returns: the message length (0 for an empty message); -EMSGSIZE (cap too small);
 * -EAGAIN; -ETIMEDOUT; -EPIPE (end of stream: every sender closed and nothing is left);
 * -EBADF; -ENOTRECOVERABLE.
 */
ssize_t ipcm_chan_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms);
/*
 * ipcm_chan_shutdown - this end will send no more; once every sender has shut down
 * or closed, receivers drain what is queued and then get -EPIPE. Idempotent.
 * Returns: 0; -EBADF if the end is closed.
 */
int ipcm_chan_shutdown(struct ipcm_chan *c);
/* ipcm_chan_close - close and free an end. Accepts NULL; closing twice is a bug. */
void ipcm_chan_close(struct ipcm_chan *c);
/* ipcm_chan_pollfd - an fd that polls readable when recv would not block, or -ENOTSUP. */
int ipcm_chan_pollfd(const struct ipcm_chan *c);
size_t ipcm_chan_max_msg(const struct ipcm_chan *c);
enum ipcm_role ipcm_chan_role(const struct ipcm_chan *c);

/* ---------------------------------------------------------------- processes */

/*
 * A worker body: runs in the child with the argument bytes given to spawn. Its return
 * value is the child's exit status (0 ok, 1 failed, 77 skipped, 99 harness error).
 */
typedef int (*ipcm_worker_fn)(const void *arg, size_t arg_len);

struct ipcm_process {
    pid_t pid;   /* 0 once joined */
    int pidfd;   /* pollable exit handle, or -1 where pidfd_open is missing */
    char name[32];
};

/* How a process ended. */
struct ipcm_exit {
    int code;   /* exit status if it exited, else -1 */
    int signal; /* the signal that killed it, else 0 */
};

/*
 * ipcm_process_spawn - fork a worker that runs fn(arg, arg_len) and exits with its
 * return value. The worker dies with its parent (PR_SET_PDEATHSIG) and shows
 * "ipcmark: <name>" in ps. arg is copied by fork.
 * Returns: 0; -EAGAIN/-ENOMEM from fork.
 */
int ipcm_process_spawn(struct ipcm_process *p, const char *name, ipcm_worker_fn fn,
                       const void *arg, size_t arg_len);
/*
 * ipcm_process_join - wait for p to end, at most timeout_ms (< 0: forever), and reap it.
 * Returns: 0 with *ex filled; -ETIMEDOUT (still running, not reaped); -ECHILD.
 */
int ipcm_process_join(struct ipcm_process *p, int timeout_ms, struct ipcm_exit *ex);
/* ipcm_process_kill - send sig to p if it has not been reaped. Returns 0 or -errno. */
int ipcm_process_kill(struct ipcm_process *p, int sig);
/*
 * ipcm_process_stop - join within grace_ms, else SIGKILL and reap. Never leaves a zombie.
 * Returns: 0 with *ex filled (ex may be NULL).
 */
int ipcm_process_stop(struct ipcm_process *p, int grace_ms, struct ipcm_exit *ex);
/* ipcm_exit_ok - true when a worker exited with status 0. */
bool ipcm_exit_ok(const struct ipcm_exit *ex);
/* ipcm_exit_describe - "exit 0", "killed by SIGKILL" into buf; returns buf. */
const char *ipcm_exit_describe(const struct ipcm_exit *ex, char *buf, size_t len);

/*
 * A start gate: workers report ready, then wait for one "go" from the parent, so a
 * benchmark's clock starts only after every worker is attached. Built on two pipes,
 * never on signals. Create before fork; each worker calls ipcm_gate_worker; the parent
 * calls ipcm_gate_open.
 */
struct ipcm_gate {
    int ready[2];
    int go[2];
};
/* Returns: 0 or -errno from pipe2. */
int ipcm_gate_create(struct ipcm_gate *g);
/*
 * ipcm_gate_worker - report ready and wait for go, at most timeout_ms.
 * Returns: 0; -ETIMEDOUT; -EPIPE if the parent went away.
 */
int ipcm_gate_worker(struct ipcm_gate *g, int timeout_ms);
/*
 * ipcm_gate_open - wait until n workers are ready (at most timeout_ms), then release
 * them all at once. Returns: 0; -ETIMEDOUT; -EPIPE if a worker died first.
 */
int ipcm_gate_open(struct ipcm_gate *g, unsigned n, int timeout_ms);
/* ipcm_gate_destroy - close whatever this process still holds of g. */
void ipcm_gate_destroy(struct ipcm_gate *g);

/* ---------------------------------------------------------------- time */

/* ipcm_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t ipcm_now_ns(void);

#endif /* IPCM_HARNESS_IPCMARK_H */
