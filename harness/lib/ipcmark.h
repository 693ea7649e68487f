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

#include "ipcmark_types.h"

#ifdef __cplusplus
extern "C" {
#endif

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
IPCM_API const char *ipcm_strerror(int err);
/* ipcm_err_name - the symbolic name ("EMSGSIZE") of a negative errno value. */
IPCM_API const char *ipcm_err_name(int err);

/*
 * Reasons. An errno alone cannot say which limit ran out: mq_open's EMFILE is
 * RLIMIT_MSGQUEUE as often as RLIMIT_NOFILE. So a call that fails because a limit of
 * the environment is used up also records, for the calling thread, one line that names
 * the limit, its value and the command that raises it, e.g.
 *   "mqueue: mq_open: RLIMIT_MSGQUEUE is used up (819200 B per user; this queue needs
 *    82400 B); raise it: `ulimit -q unlimited`"
 * Recorded by ipcm_link_create, ipcm_chan_open and ipcm_process_spawn (and so by
 * ipcm_pool_create and everything built on them), which forget the previous one when
 * they start. Only an error that a known limit explains is recorded: EMFILE
 * (RLIMIT_NOFILE, or RLIMIT_MSGQUEUE for mq_open, told apart by whether a descriptor
 * was free), ENOSPC of mq_open (fs.mqueue.queues_max), ENFILE (fs.file-max), EAGAIN of
 * fork (RLIMIT_NPROC, a cgroup's pids.max, kernel.threads-max), and ENOMEM or EFBIG
 * where RLIMIT_AS, RLIMIT_DATA or RLIMIT_FSIZE is set; any other error records nothing.
 */
/*
 * ipcm_last_error - the reason recorded in this thread for err, the value a call just
 * returned; NULL when that call recorded none (err is then no limit this library
 * knows). The text stays valid until this thread's next recording call.
 */
IPCM_API const char *ipcm_last_error(int err);
/* ipcm_error_text - ipcm_last_error(err) when there is one, else ipcm_strerror(err). */
IPCM_API const char *ipcm_error_text(int err);

/* ---------------------------------------------------------------- backends */

struct ipcm_backend; /* opaque to library users; see ipcmark_backend.h */

/* ipcm_backend_count/at - iterate over the registered backends (index 0..count-1). */
IPCM_API size_t ipcm_backend_count(void);
IPCM_API const struct ipcm_backend *ipcm_backend_at(size_t i);
/* ipcm_backend_find - the backend called name, or NULL. */
IPCM_API const struct ipcm_backend *ipcm_backend_find(const char *name);
IPCM_API const char *ipcm_backend_name(const struct ipcm_backend *be);
IPCM_API const char *ipcm_backend_summary(const struct ipcm_backend *be);
IPCM_API uint32_t ipcm_backend_caps(const struct ipcm_backend *be);
/*
 * ipcm_backend_limits - read this host's limits for be into *out.
 * Returns: 0, or -ENOSYS if the backend cannot run here, or -errno from reading
 * /proc/sys.
 */
IPCM_API int ipcm_backend_limits(const struct ipcm_backend *be, struct ipcm_limits *out);

/*
 * Plugins: backends in shared objects that export ipcm_backend_plugin_v1 against the
 * installed ipcmark_backend.h (docs/plugins.md). A loaded plugin is used like a built-in
 * backend everywhere a backend is taken; it is never unloaded.
 *
 * ipcm_backend_load - load the plugin at path (loading the same file again gives the
 * same backend). Returns 0; -ENOENT (no such file); -ENOEXEC (not a shared object, or
 * no entry point); -EPROTO (an ABI version this library does not speak); -EINVAL (a
 * table too small, a bad or NULL name, an op its capabilities require left NULL);
 * -EEXIST (another plugin of that name is loaded); -ENOSYS (the plugin refused).
 * ipcm_last_error(err) gives one line naming the file and the problem.
 */
IPCM_API int ipcm_backend_load(const char *path, const struct ipcm_backend **out);
/*
 * ipcm_backend_plugin_find - load the plugin called name: libipcm_<name>.so in the first
 * folder of IPCMARK_PLUGIN_PATH (colon list), the installed plugin folder, then
 * plugins/ beside the running binary. Relative folders are ignored: never the current
 * directory. Returns as ipcm_backend_load; -ENOENT when no folder has it.
 */
IPCM_API int ipcm_backend_plugin_find(const char *name, const struct ipcm_backend **out);
/* ipcm_backend_plugin_path_list - the folders plugin_find searches, ':'-joined. */
IPCM_API const char *ipcm_backend_plugin_path_list(void);
/*
 * ipcm_backend_plugin_scan - load every libipcm_*.so in the plugin folders and call fn
 * with each (be NULL and err < 0 for one that would not load; ipcm_last_error(err)
 * explains). Returns the number of files seen.
 */
IPCM_API int ipcm_backend_plugin_scan(void (*fn)(const char *path, const struct ipcm_backend *be,
                                                 int err, void *arg),
                                      void *arg);
/* ipcm_backend_plugin_path/hash - the plugin's file (realpath) and the XXH3-64 of its
 * bytes; NULL and 0 for a built-in backend. */
IPCM_API const char *ipcm_backend_plugin_path(const struct ipcm_backend *be);
IPCM_API uint64_t ipcm_backend_plugin_hash(const struct ipcm_backend *be);
/* ipcm_backend_plugin_at - the i-th plugin loaded in this process, or NULL past the last
 * (result files record each one's name, path and hash). */
IPCM_API const struct ipcm_backend *ipcm_backend_plugin_at(size_t i);

/* ---------------------------------------------------------------- channels */

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
IPCM_API int ipcm_link_create(const struct ipcm_backend *be, enum ipcm_shape shape,
                              const struct ipcm_config *cfg, struct ipcm_link **out);
/*
 * ipcm_link_destroy - release this process's copy of the link and remove any named
 * kernel object. Accepts NULL. Ends opened with ipcm_chan_open stay usable.
 */
IPCM_API void ipcm_link_destroy(struct ipcm_link *l);
/* Accessors. */
IPCM_API enum ipcm_shape ipcm_link_shape(const struct ipcm_link *l);
IPCM_API size_t ipcm_link_max_msg(const struct ipcm_link *l);
IPCM_API unsigned ipcm_link_depth(const struct ipcm_link *l);
IPCM_API const struct ipcm_backend *ipcm_link_backend(const struct ipcm_link *l);

/*
 * ipcm_chan_open - open this process's end of link l in the given role. It closes in
 * this process what the role must not hold (so end-of-stream works); open one end per
 * process and per link. The link stays valid; destroy it when no more ends will be
 * opened from it in this process.
 * Returns: 0; -EINVAL for a role that does not fit the shape; -EBADF if this process
 * already opened an end of l; -EBUSY (shm) where another process holds this end of a
 * pipe-shape link open (see "Sharing one end" below); -ENOMEM; -EMFILE, -ENFILE
 * and other -errno from the kernel (ipcm_last_error names the limit).
 */
IPCM_API int ipcm_chan_open(struct ipcm_link *l, enum ipcm_role role, struct ipcm_chan **out);

/*
 * Sharing one end. Open each end of a pipe-shape link in one process: shm refuses a
 * second open of an end that another process holds open (-EBUSY); the other backends
 * allow it. An end inherited over fork may be used by the child as well, even at the
 * same time as its parent (hygiene.use_after_fork, hygiene.shared_end_concurrent):
 * every backend keeps each message whole and delivers it exactly once (pipe: a robust
 * lock per direction and side; socketpair and mqueue: the kernel; shm: its producer and
 * consumer locks, biased, so a lone user pays a plain store and load per message).
 *
 * A stopped participant (SIGSTOP, a debugger) is not a dead one: it keeps its
 * descriptors and locks, and a lock it holds waits for it. Stopped outside a call it
 * stalls nobody; stopped inside one:
 *   pipe        a sender holds its direction's write lock for the whole frame: every
 *               other sender of that direction waits; a receiver stopped between a
 *               frame's header and its payload stalls the other receivers likewise.
 *   shm         a sender holds the producer lock until it publishes: the other
 *               senders wait (receivers still take what was published); a receiver
 *               holds the consumer lock while it copies out: the other receivers wait.
 *   socketpair  the kernel queues whole datagrams, no lock of ours: the others go on.
 *   mqueue      the kernel queues whole messages, no lock of ours: the others go on.
 * The others' deadlines still hold (-ETIMEDOUT, -EAGAIN) and nothing is lost or torn.
 * That is the price of "nobody is robbed" (no message taken from a slow participant);
 * a killed participant, unlike a stopped one, is detected and released (-EPIPE, or
 * -ENOTRECOVERABLE where it died mid-message on a byte stream).
 */

/*
 * ipcm_chan_send - send one message of len bytes, whole or not at all.
 * timeout_ms: < 0 waits forever, 0 tries once, > 0 waits at most that long in total
 * (an interrupted call resumes against the same deadline).
 * Returns: len; -EMSGSIZE (len > max_msg); -EAGAIN; -ETIMEDOUT; -EPIPE (every receiver
 * is gone); -EBADF (closed, or a role that does not send); -ENOTRECOVERABLE.
 */
IPCM_API ssize_t ipcm_chan_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms);
/*
 * ipcm_chan_recv - receive one whole message into buf of cap bytes.
 * cap must be at least the channel's max_msg (mq_receive's rule, for every backend),
 * so a message is never truncated.
 * Returns: the message length (0 for an empty message); -EMSGSIZE (cap too small);
 * -EAGAIN; -ETIMEDOUT; -EPIPE (end of stream: every sender closed and nothing is left);
 * -EBADF; -ENOTRECOVERABLE.
 */
IPCM_API ssize_t ipcm_chan_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms);
/*
 * ipcm_chan_shutdown - this end will send no more; once every sender has shut down
 * or closed, receivers drain what is queued and then get -EPIPE. Idempotent.
 * Returns: 0; -EBADF if the end is closed.
 */
IPCM_API int ipcm_chan_shutdown(struct ipcm_chan *c);
/* ipcm_chan_close - close and free an end. Accepts NULL; closing twice is a bug. */
IPCM_API void ipcm_chan_close(struct ipcm_chan *c);
/*
 * ipcm_chan_qsize - how many messages wait in the direction this end receives from (a
 * queue end that only sends: the queue). Exact when nobody is sending or receiving;
 * while they are, a value between 0 and the capacity (Python's Queue.qsize caveat).
 * Returns: the count; -ENOTSUP where the backend cannot count messages (no
 * IPCM_CAP_QSIZE: socketpair's kernel counts bytes, shm's ring counts bytes); -EBADF.
 */
IPCM_API ssize_t ipcm_chan_qsize(const struct ipcm_chan *c);
/*
 * ipcm_chan_send_fd - send a duplicate of the open descriptor fd as one message of its
 * own, in order with the others; the caller keeps fd. Returns: 0; -ENOTSUP without
 * IPCM_CAP_FDPASS; -EBADF (fd not open, or the end cannot send); as ipcm_chan_send.
 */
IPCM_API int ipcm_chan_send_fd(struct ipcm_chan *c, int fd, int timeout_ms);
/*
 * ipcm_chan_recv_fd - receive the next message, which must carry a descriptor: *fd is a
 * new O_CLOEXEC descriptor of the same open file. Returns: 0; -EBADMSG if the next
 * message is an ordinary one (it is consumed; ipcm_chan_recv, given a descriptor
 * message, likewise returns -EBADMSG and closes it); -EMFILE if this process could not
 * take one more descriptor (the message is consumed); -ENOTSUP; as ipcm_chan_recv.
 */
IPCM_API int ipcm_chan_recv_fd(struct ipcm_chan *c, int *fd, int timeout_ms);
/* ipcm_chan_pollfd - an fd that polls readable when recv would not block, or -ENOTSUP. */
IPCM_API int ipcm_chan_pollfd(const struct ipcm_chan *c);
IPCM_API size_t ipcm_chan_max_msg(const struct ipcm_chan *c);
IPCM_API enum ipcm_role ipcm_chan_role(const struct ipcm_chan *c);

/* ---------------------------------------------------------------- queues */

/*
 * A queue object (Python's multiprocessing.Queue and JoinableQueue) over a queue-shaped
 * link of any backend: created before fork, attached once in each process that puts or
 * gets, and shut down from any process that holds it (attached or not). Its counters
 * live in a shared mapping beside the link, so qsize, shutdown and join need nothing of
 * the backend. A blocked put or get waits in slices of IPCM_QUEUE_SLICE_MS and looks at
 * the shared state between them, so a shutdown wakes every blocked call within one slice
 * on every backend (no backend op is involved; a slice that sees nothing costs one wake).
 * A queue object is used by one thread per process.
 */
struct ipcm_queue;
#define IPCM_QUEUE_SLICE_MS 10
/* ipcm_queue_create flags. */
#define IPCM_QUEUE_JOINABLE (1u << 0) /* task_done / join (JoinableQueue) */

/*
 * ipcm_queue_create - a queue on backend be with cfg (NULL: the backend's defaults).
 * Returns: 0; -EINVAL (unknown flag); -ENOMEM; every error of ipcm_link_create.
 */
IPCM_API int ipcm_queue_create(const struct ipcm_backend *be, const struct ipcm_config *cfg,
                               unsigned flags, struct ipcm_queue **out);
/*
 * ipcm_queue_attach - open this process's end: IPCM_ROLE_SEND, _RECV or _BOTH. Once per
 * process (after fork), before put or get. A receiving end takes one of
 * IPCM_QUEUE_MAX_GETTERS consumer slots, which join watches for a consumer that dies.
 * Returns: 0; -EINVAL (role); -EBADF (already attached here); -ENOSPC (no slot left);
 * every error of ipcm_chan_open.
 */
#define IPCM_QUEUE_MAX_GETTERS 128
IPCM_API int ipcm_queue_attach(struct ipcm_queue *q, enum ipcm_role role);
/*
 * ipcm_queue_put - one message, whole, within timeout_ms (< 0 forever, 0 try once).
 * Returns: len; -EPIPE once the queue is shut down (also a put blocked when the
 * shutdown came) or every getter is gone; -EAGAIN/-ETIMEDOUT; -EBADF (not attached
 * with a sending role); every error of ipcm_chan_send.
 */
IPCM_API ssize_t ipcm_queue_put(struct ipcm_queue *q, const void *buf, size_t len, int timeout_ms);
/*
 * ipcm_queue_get - the next message into buf (cap >= the link's max_msg).
 * Returns: its length; -EPIPE at end of stream: after a graceful shutdown once what was
 * queued is drained, at once after an immediate one, or when every putter is gone;
 * -EAGAIN/-ETIMEDOUT; -EBADF (not attached with a receiving role); every error of
 * ipcm_chan_recv.
 */
IPCM_API ssize_t ipcm_queue_get(struct ipcm_queue *q, void *buf, size_t cap, int timeout_ms);
/*
 * ipcm_queue_shutdown - Python 3.13's Queue.shutdown, from any process holding q.
 * Graceful (immediate false): puts fail with -EPIPE, gets drain what is queued, then
 * get -EPIPE. Immediate: gets fail at once, what was queued is discarded (counted in
 * ipcm_queue_discarded, and for a joinable queue marked done, so join returns). Every
 * blocked put and get returns -EPIPE within one slice. A second call may turn a
 * graceful shutdown into an immediate one, never back. A put already inside the
 * backend when the shutdown came may still land; a graceful get drains it.
 * Returns: 0; -EBADF (q NULL).
 */
IPCM_API int ipcm_queue_shutdown(struct ipcm_queue *q, bool immediate);
/* ipcm_queue_is_shutdown - 0 open, 1 shut down gracefully, 2 immediately. */
IPCM_API int ipcm_queue_is_shutdown(const struct ipcm_queue *q);
/* ipcm_queue_qsize - messages put and not yet got (0 after an immediate shutdown); exact
 * at rest, approximate while others put or get. Returns >= 0; -EBADF. */
IPCM_API ssize_t ipcm_queue_qsize(const struct ipcm_queue *q);
/* ipcm_queue_discarded - messages an immediate shutdown discarded. Returns >= 0; -EBADF. */
IPCM_API long long ipcm_queue_discarded(const struct ipcm_queue *q);
/*
 * ipcm_queue_task_done - JoinableQueue.task_done: one message this process got is
 * handled. Returns: 0; -EINVAL (not joinable, or called more often than messages
 * were put: Python's ValueError); -EBADF.
 */
IPCM_API int ipcm_queue_task_done(struct ipcm_queue *q);
/*
 * ipcm_queue_join - wait until every message put has been marked done, at most
 * timeout_ms. A getter that died (or detached) holding messages it got but never marked
 * done cannot mark them: join counts them lost (ipcm_queue_lost) instead of waiting for
 * them, waits for the rest, and then reports the loss. The window between a getter's
 * receive and its slot's count (a few instructions) is not covered.
 * Returns: 0; -EOWNERDEAD (all done except lost ones); -ETIMEDOUT/-EAGAIN; -EINVAL
 * (not joinable); -EBADF.
 */
IPCM_API int ipcm_queue_join(struct ipcm_queue *q, int timeout_ms);
/* ipcm_queue_lost - messages join found lost with their getter. Returns >= 0; -EBADF. */
IPCM_API long long ipcm_queue_lost(const struct ipcm_queue *q);
/*
 * ipcm_queue_destroy - close this process's end (freeing its consumer slot) and this
 * process's copy of the queue; the shared state goes with the last copy's unmap. Call
 * it in every process that holds q. NULL is ignored.
 */
IPCM_API void ipcm_queue_destroy(struct ipcm_queue *q);

/* ---------------------------------------------------------------- processes */

/*
 * A worker body: runs in the child with the argument bytes given to spawn. Its return
 * value is the child's exit status (0 ok, 1 failed, 77 skipped, 99 harness error).
 */
typedef int (*ipcm_worker_fn)(const void *arg, size_t arg_len);

struct ipcm_process {
    pid_t pid; /* 0 once joined */
    int pidfd; /* pollable exit handle, or -1 where pidfd_open is missing */
    char name[32];
};

/* How a process ended. */
struct ipcm_exit {
    int code;   /* exit status if it exited, else -1 */
    int signal; /* the signal that killed it, else 0 */
};

/*
 * ipcm_process_spawn - fork a worker that runs fn(arg, arg_len) and exits with its
 * return value. The worker dies with its parent (PR_SET_PDEATHSIG) and, where a
 * title hook is set (ipcm_process_set_title), calls it with name first. arg is copied
 * by fork.
 * Returns: 0; -EAGAIN/-ENOMEM from fork.
 */
IPCM_API int ipcm_process_spawn(struct ipcm_process *p, const char *name, ipcm_worker_fn fn,
                                const void *arg, size_t arg_len);
/*
 * A title hook: called in each new worker, before its body, with the worker's name
 * ("pool-3", "consumer-0"), to show its role in ps or top.
 */
typedef void (*ipcm_title_fn)(const char *name);
/*
 * ipcm_process_set_title - set the hook ipcm_process_spawn calls in every worker it
 * forks from now on; NULL (the default) turns titles off. The library itself changes no
 * title and needs no setup: a program chooses how, e.g. prctl(PR_SET_NAME) for the
 * 15-byte name top shows, or libbsd's setproctitle for ps's command column (which needs
 * setproctitle_init or libbsd-ctor in that program; the ipcmark command does this).
 * Set it before spawning; not synchronised with a spawn running in another thread.
 */
IPCM_API void ipcm_process_set_title(ipcm_title_fn fn);
/*
 * ipcm_process_join - wait for p to end, at most timeout_ms (< 0: forever), and reap it.
 * Returns: 0 with *ex filled; -ETIMEDOUT (still running, not reaped); -ECHILD.
 */
IPCM_API int ipcm_process_join(struct ipcm_process *p, int timeout_ms, struct ipcm_exit *ex);
/* ipcm_process_kill - send sig to p if it has not been reaped. Returns 0 or -errno. */
IPCM_API int ipcm_process_kill(struct ipcm_process *p, int sig);
/*
 * ipcm_process_stop - join within grace_ms, else SIGKILL and reap. Never leaves a zombie.
 * Returns: 0 with *ex filled (ex may be NULL).
 */
IPCM_API int ipcm_process_stop(struct ipcm_process *p, int grace_ms, struct ipcm_exit *ex);
/* ipcm_exit_ok - true when a worker exited with status 0. */
IPCM_API bool ipcm_exit_ok(const struct ipcm_exit *ex);
/* ipcm_exit_describe - "exit 0", "killed by SIGKILL" into buf; returns buf. */
IPCM_API const char *ipcm_exit_describe(const struct ipcm_exit *ex, char *buf, size_t len);

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
IPCM_API int ipcm_gate_create(struct ipcm_gate *g);
/*
 * ipcm_gate_worker - report ready and wait for go, at most timeout_ms.
 * Returns: 0; -ETIMEDOUT; -EPIPE if the parent went away.
 */
IPCM_API int ipcm_gate_worker(struct ipcm_gate *g, int timeout_ms);
/*
 * ipcm_gate_open - wait until n workers are ready (at most timeout_ms), then release
 * them all at once. Returns: 0; -ETIMEDOUT; -EPIPE if a worker died first.
 */
IPCM_API int ipcm_gate_open(struct ipcm_gate *g, unsigned n, int timeout_ms);
/* ipcm_gate_destroy - close whatever this process still holds of g. */
IPCM_API void ipcm_gate_destroy(struct ipcm_gate *g);

/* ---------------------------------------------------------------- time */

/* ipcm_now_ns - CLOCK_MONOTONIC in nanoseconds. */
IPCM_API uint64_t ipcm_now_ns(void);

/* ---------------------------------------------------------------- pool */

/*
 * A process pool (Python's multiprocessing.Pool): forked workers, byte-buffer tasks and
 * results over any backend; one thread uses a pool. Design and policy (queues per worker,
 * deaths via pidfds, AT-MOST-ONCE delivery, message size, fork, limits): docs/pool.md.
 */

/*
 * A task: read in_len bytes at in (not aligned), write at most out_cap bytes of result
 * at out and set *out_len (bytes; 0 if not set). out_cap is the pool's max_task_bytes
 * (max_msg - 40). Return
 * >= 0 on success (kept as the result's status) or a negative errno: the task failed.
 * Runs in a worker process.
 */
typedef int (*ipcm_task_fn)(const void *in, size_t in_len, void *out, size_t out_cap,
                            size_t *out_len);

/* Per-worker initializer: runs once in each worker (slot 0..workers-1) before its first
 * task, replacements included. A negative return fails that worker (see create). */
typedef int (*ipcm_pool_init_fn)(unsigned worker, void *arg);

/* Options; a zero field takes its default. */
struct ipcm_pool_options {
    ipcm_pool_init_fn initializer; /* NULL: none */
    void *initializer_arg;         /* passed as is (the worker sees its fork's copy) */
    /* Recycle a worker after this many chunks (a piece of a chunk split to fit a message
     * counts as one), as CPython's maxtasksperchild counts chunks. 0: never. */
    unsigned max_tasks_per_worker;
    size_t max_msg; /* bytes per message on the pool's channels; 0: backend default */
    /* Chunks in flight per worker; 0: 8. Those queued for one worker travel in as few
     * messages as fit (fewer wake-ups); more depth, less balancing of uneven tasks. */
    unsigned depth;
    int start_timeout_ms; /* how long create waits for every worker to be ready; 0: 10000 */
};

/* An input: len bytes at data. */
struct ipcm_pool_buf {
    const void *data;
    size_t len;
};

/*
 * One output of map. data is malloc'd by the pool (NULL when len is 0); free a whole
 * array with ipcm_pool_results_free. status: the task's return (>= 0), its negative
 * errno if it failed, -EPIPE if lost with a dead worker, -ECANCELED if the map ended
 * (error, timeout) before the task's result came.
 */
struct ipcm_pool_result {
    void *data;
    size_t len;
    int status;
};

/* What went wrong in the last pool call that failed (ipcm_pool_last_error). */
struct ipcm_pool_error {
    int err;               /* the value the call returned; 0 if the last call succeeded */
    size_t index;          /* first failing (or lost) input index; SIZE_MAX if none */
    int task_status;       /* the failing task's own return value, or 0 */
    size_t failed;         /* tasks that failed or were lost in that call */
    int worker;            /* worker slot involved, or -1 */
    pid_t pid;             /* that worker's pid, or 0 */
    struct ipcm_exit exit; /* how it ended, when a worker died */
    char what[224];        /* one line for people, e.g. "worker 1 (pid 42) killed by SIGKILL
                            * with tasks 40..49 in flight" */
};

/* Counters and sizes of a pool (ipcm_pool_info). */
struct ipcm_pool_info {
    unsigned workers;              /* slots */
    size_t max_msg;                /* bytes per message on the pool's channels */
    size_t max_task_bytes;         /* largest single task input or output, bytes */
    unsigned depth;                /* chunks in flight per worker */
    size_t last_chunk_size;        /* chunk size the last map used (tasks) */
    unsigned long workers_started; /* every worker ever started, replacements included */
    unsigned long workers_died;    /* workers that ended unexpectedly */
    unsigned long task_messages;   /* chunks (or pieces of split chunks) sent */
};

struct ipcm_pool; /* opaque */

/*
 * ipcm_pool_create - start a pool of `workers` processes whose channels use backend be,
 * and wait (at most start_timeout_ms) until every worker has run its initializer.
 * opt may be NULL. On failure *out is NULL and every started worker has been reaped.
 * Returns: 0; -EINVAL (workers 0, be NULL, depth beyond the backend's limit);
 * -EMSGSIZE (max_msg beyond the backend's limit or too small for the pool's 64 B of
 * headers); the initializer's own negative value if it failed in any worker; -EPIPE if
 * a worker died while starting; -ETIMEDOUT; -ENOSYS; -ENOMEM; -EAGAIN (fork);
 * -EMFILE/-ENFILE/-ENOSPC and other -errno from creating channels.
 */
IPCM_API int ipcm_pool_create(struct ipcm_pool **out, unsigned workers,
                              const struct ipcm_backend *be, const struct ipcm_pool_options *opt);

/* ipcm_pool_default_chunk - CPython's rule: ceil(n / (4 x workers)); 0 for n == 0. */
IPCM_API size_t ipcm_pool_default_chunk(size_t n, unsigned workers);

/*
 * ipcm_pool_map - run fn over in[0..n-1] in the workers, chunk_size tasks per chunk
 * (0: ipcm_pool_default_chunk), and fill out[0..n-1] in input order. Every result is
 * collected even after a task failed (no fail-fast), so the pool is idle again when
 * map returns. timeout_ms bounds the whole call (< 0: no limit).
 * Returns: 0; -EREMOTEIO (a task returned an error: out[i].status has it, the other
 * results are intact, ipcm_pool_last_error names the first failing index); -EPIPE (a
 * worker died with tasks of this map; delivery policy in docs/pool.md); -EMSGSIZE (an
 * input larger than max_task_bytes; nothing was run); -ETIMEDOUT; -EINVAL (fn NULL,
 * in/out NULL with n > 0); -ESHUTDOWN (the pool was closed or terminated);
 * -ENOTRECOVERABLE (a replacement worker's initializer failed: the pool stopped
 * respawning; terminate it); -EDEADLK (called from a map_unordered callback); -ENOMEM.
 */
IPCM_API int ipcm_pool_map(struct ipcm_pool *p, ipcm_task_fn fn, const struct ipcm_pool_buf *in,
                           size_t n, size_t chunk_size, struct ipcm_pool_result *out,
                           int timeout_ms);

/*
 * A map_unordered callback: one result, in completion order. data is valid during the
 * call only. Return 0 to go on, or a negative errno to abandon the map (map_unordered
 * then returns that value; results still in flight are discarded).
 */
typedef int (*ipcm_pool_result_cb)(size_t index, int status, const void *data, size_t len,
                                   void *arg);
/*
 * ipcm_pool_map_unordered - as map, but each result goes to cb(index, ...) as it
 * arrives. Lost and cancelled tasks are not reported through cb.
 * Returns: as map, plus a callback's own negative value.
 */
IPCM_API int ipcm_pool_map_unordered(struct ipcm_pool *p, ipcm_task_fn fn,
                                     const struct ipcm_pool_buf *in, size_t n, size_t chunk_size,
                                     ipcm_pool_result_cb cb, void *cb_arg, int timeout_ms);

/*
 * ipcm_pool_map_async - start a map (Python's Pool.map_async) and return at once, with
 * the first chunks handed out; out[] fills in as ipcm_pool_async_wait collects results.
 * The pool has no thread of its own: results are collected while the caller waits (or
 * runs any other pool call), so in[] and the bytes it points at must stay valid until
 * the map is over. One asynchronous map at a time: until it is waited for to
 * the end or freed, map, apply, close and join return -EBUSY; terminate cancels it.
 * Returns: 0 and *a; the errors of map that come before any task runs.
 */
struct ipcm_pool_async; /* opaque */
IPCM_API int ipcm_pool_map_async(struct ipcm_pool *p, ipcm_task_fn fn,
                                 const struct ipcm_pool_buf *in, size_t n, size_t chunk_size,
                                 struct ipcm_pool_result *out, struct ipcm_pool_async **a);
/*
 * ipcm_pool_async_wait - collect results for at most timeout_ms (-1: until done).
 * Returns: -ETIMEDOUT while the map is still running (its tasks keep running: wait
 * again); once it is over, what ipcm_pool_map would have returned, every time asked.
 */
IPCM_API int ipcm_pool_async_wait(struct ipcm_pool_async *a, int timeout_ms);
/*
 * ipcm_pool_async_wait_prefix - collect results until out[0..count-1] are all in, the
 * way Python's Pool.imap hands them out in order while later tasks still run. Returns:
 * 0 once they are (the map may still be running); -ETIMEDOUT; or, if the map ended
 * first, what ipcm_pool_async_wait returns.
 */
IPCM_API int ipcm_pool_async_wait_prefix(struct ipcm_pool_async *a, size_t count, int timeout_ms);
/* ipcm_pool_async_prefix - how many results, from index 0 on, are in now. */
IPCM_API size_t ipcm_pool_async_prefix(struct ipcm_pool_async *a);
/* ipcm_pool_async_ready - true once every result is in (or the map stopped). */
IPCM_API bool ipcm_pool_async_ready(const struct ipcm_pool_async *a);
/* ipcm_pool_async_free - free it; a map still running is cancelled (pending tasks end
 * -ECANCELED in out[], late results are dropped). Free it before destroying its pool. */
IPCM_API void ipcm_pool_async_free(struct ipcm_pool_async *a);
/* ipcm_pool_apply_async - start one task (Python's Pool.apply_async): a map_async of
 * one. in must stay valid until the map is over (as map_async's inputs must). */
IPCM_API int ipcm_pool_apply_async(struct ipcm_pool *p, ipcm_task_fn fn, const void *in,
                                   size_t in_len, struct ipcm_pool_result *out,
                                   struct ipcm_pool_async **a);
/*
 * ipcm_pool_async_on_done - Python's callback / error_callback for map_async and
 * apply_async: when the map is over, done(0, arg) if it succeeded, else failed(r, arg)
 * with what ipcm_pool_async_wait returns (-ECANCELED when freed or terminated while
 * running). Called once, in the caller's thread, from inside the pool call during which
 * the map ends (a wait, wait_prefix, free, terminate, or this call if it is over
 * already), never from a signal handler; from it, pool calls return -EDEADLK. Either
 * function may be NULL. Returns: 0; -EINVAL (a is NULL); -EALREADY (set before).
 */
typedef void (*ipcm_pool_done_fn)(int result, void *arg);
IPCM_API int ipcm_pool_async_on_done(struct ipcm_pool_async *a, ipcm_pool_done_fn done,
                                     ipcm_pool_done_fn failed, void *arg);

/*
 * ipcm_pool_input_fn - the next input of a lazy map, Python's iterable: fill *in (its
 * bytes need stay valid only until the next call; the pool copies them) and return 1;
 * return 0 at the end, or a negative errno to stop the map with that error.
 */
typedef int (*ipcm_pool_input_fn)(size_t index, struct ipcm_pool_buf *in, void *arg);
/*
 * ipcm_pool_imap - Python's Pool.imap over an input stream of any length, in bounded
 * memory: inputs are pulled from next() as windows of at most max_in_flight tasks (0:
 * 64 chunks per worker; rounded to whole chunks) and their results handed to
 * cb(index, ...) in input order as soon as every earlier one is in, while the rest of
 * the window still runs. The window's inputs are copied, so memory is max_in_flight
 * inputs and results at most, whatever the stream's length. When next() fails at index
 * k, the results of the whole chunks before k are delivered, then the map stops with
 * next()'s error (Python's imap); the pool stays usable. A task's error is its result's
 * status and the stream goes on. timeout_ms bounds each window (-1: none). Returns: 0;
 * next()'s or cb's negative value; what ipcm_pool_map returns for a window (-EPIPE,
 * -ETIMEDOUT, ...), after which nothing more is pulled.
 */
IPCM_API int ipcm_pool_imap(struct ipcm_pool *p, ipcm_task_fn fn, ipcm_pool_input_fn next,
                            void *next_arg, size_t chunk_size, size_t max_in_flight,
                            ipcm_pool_result_cb cb, void *cb_arg, int timeout_ms);
/* ipcm_pool_imap_unordered - as imap, results in completion order (Python's
 * imap_unordered); the window still bounds memory. */
IPCM_API int ipcm_pool_imap_unordered(struct ipcm_pool *p, ipcm_task_fn fn,
                                      ipcm_pool_input_fn next, void *next_arg, size_t chunk_size,
                                      size_t max_in_flight, ipcm_pool_result_cb cb, void *cb_arg,
                                      int timeout_ms);
/* ipcm_pool_apply - run one task; a map of one. Returns: as map. */
IPCM_API int ipcm_pool_apply(struct ipcm_pool *p, ipcm_task_fn fn, const void *in, size_t in_len,
                             struct ipcm_pool_result *out, int timeout_ms);

/*
 * ipcm_pool_close - accept no more work; workers finish and exit once their task
 * queue is closed. Idempotent. Returns: 0; -EDEADLK (from a callback).
 */
IPCM_API int ipcm_pool_close(struct ipcm_pool *p);
/*
 * ipcm_pool_join - wait for every worker to exit and reap it, at most timeout_ms
 * (< 0: forever). Call after close or terminate (Python's rule).
 * Returns: 0 (no worker process and no pool channel left); -EINVAL (the pool is still
 * running); -ETIMEDOUT (some worker is still running: join again or terminate);
 * -EDEADLK (from a callback).
 */
IPCM_API int ipcm_pool_join(struct ipcm_pool *p, int timeout_ms);
/*
 * ipcm_pool_terminate - SIGKILL every worker, reap it and close every channel, at
 * once, in any state (busy, idle, closed, after deaths). Idempotent.
 * Returns: 0; -EDEADLK from a map_unordered callback (refused: the map's loop owns
 * the workers; return a negative value from the callback instead).
 */
IPCM_API int ipcm_pool_terminate(struct ipcm_pool *p);
/* ipcm_pool_destroy - terminate if needed and free the pool. Accepts NULL. */
IPCM_API void ipcm_pool_destroy(struct ipcm_pool *p);

/* ipcm_pool_last_error - copy what the last failing call recorded. Returns 0. */
IPCM_API int ipcm_pool_last_error(const struct ipcm_pool *p, struct ipcm_pool_error *out);
/* ipcm_pool_info - sizes and counters. Returns 0. */
IPCM_API int ipcm_pool_info(const struct ipcm_pool *p, struct ipcm_pool_info *out);
/* ipcm_pool_worker_pid - the pid in a slot, or -ESRCH (none, or slot out of range). */
IPCM_API pid_t ipcm_pool_worker_pid(const struct ipcm_pool *p, unsigned slot);
/* ipcm_pool_results_free - free data of out[0..n-1] and set it to NULL. Accepts NULL. */
IPCM_API void ipcm_pool_results_free(struct ipcm_pool_result *out, size_t n);

/* ---------------------------------------------------------------- synchronization */

/*
 * Python's multiprocessing Lock, Event, Barrier and BoundedSemaphore between processes
 * (and threads), over interchangeable implementations. A primitive is created in shared
 * memory with no name in the filesystem, before fork, like a link; each thread that
 * uses it opens its own end (after fork, in a child), like a channel end. An end belongs
 * to the thread that opened it: a forked child opens its own.
 *
 * Every wait takes timeout_ms in poll(2) form (< 0 forever, 0 try once, > 0 at most that
 * long in total, measured against one CLOCK_MONOTONIC deadline that signals never
 * restart). Errors common to every wait: -ETIMEDOUT (a positive timeout expired),
 * -EAGAIN (timeout 0 and it would have blocked), -EINVAL (an operation of another kind,
 * e.g. ipcm_lock_acquire on an Event).
 */

enum ipcm_sync_kind {
    IPCM_SYNC_LOCK,      /* mutual exclusion; value unused */
    IPCM_SYNC_EVENT,     /* a flag that can be waited for; value: initially set if non-zero */
    IPCM_SYNC_BARRIER,   /* value: parties (1..4095) */
    IPCM_SYNC_SEMAPHORE, /* bounded: value is the initial count and the bound (0..65535) */
    /* Python's RLock: the Lock calls re-enter for the thread that holds it; value unused.
     * Every implementation that provides Lock provides it (built on its Lock). */
    IPCM_SYNC_RLOCK,
    /* Python's Condition, used with a Lock or RLock end (ipcm_cond_*); value unused.
     * Every implementation that provides Lock provides it (a futex sequence word). */
    IPCM_SYNC_CONDITION,
};

/*
 * What an implementation declares (ipcm_sync_impl_caps); the conformance group "sync"
 * holds each to what it declares and reports the rest as n/a with what it observed.
 */
#define IPCM_SYNC_CAP_LOCK (1u << 0)      /* provides Lock (futex, pthread, posix) */
#define IPCM_SYNC_CAP_EVENT (1u << 1)     /* provides Event (futex, pthread) */
#define IPCM_SYNC_CAP_BARRIER (1u << 2)   /* provides Barrier (futex, pthread) */
#define IPCM_SYNC_CAP_SEMAPHORE (1u << 3) /* provides Semaphore (futex, pthread, posix) */
/* A Lock holder that dies (or closes its end while holding) makes the next acquirer
 * succeed with -EOWNERDEAD instead of waiting forever (futex, pthread). */
#define IPCM_SYNC_CAP_OWNER_DEAD (1u << 4)
/* A Barrier party that dies breaks the barrier for the parties waiting in it within
 * about 10 ms, long before their timeouts (futex). */
#define IPCM_SYNC_CAP_PARTY_DEAD (1u << 5)
/* A Semaphore refuses a release beyond its bound with -EOVERFLOW (futex, pthread). */
#define IPCM_SYNC_CAP_BOUNDED (1u << 6)

struct ipcm_sync_impl; /* one implementation (opaque) */
struct ipcm_sync;      /* a primitive, created before fork (opaque) */
struct ipcm_sync_end;  /* one thread's end of a primitive (opaque) */

/* ipcm_sync_impl_count/at - iterate over the implementations ("futex" first: ours). */
IPCM_API size_t ipcm_sync_impl_count(void);
IPCM_API const struct ipcm_sync_impl *ipcm_sync_impl_at(size_t i);
/* ipcm_sync_impl_find - the implementation called name, or NULL. */
IPCM_API const struct ipcm_sync_impl *ipcm_sync_impl_find(const char *name);
IPCM_API const char *ipcm_sync_impl_name(const struct ipcm_sync_impl *impl);
IPCM_API const char *ipcm_sync_impl_summary(const struct ipcm_sync_impl *impl);
/* ipcm_sync_impl_caps - the IPCM_SYNC_CAP_* bits impl declares. */
IPCM_API uint32_t ipcm_sync_impl_caps(const struct ipcm_sync_impl *impl);

/*
 * ipcm_sync_create - create a primitive of kind on impl, in a new shared mapping that
 * children inherit through fork. value: see enum ipcm_sync_kind. On failure *out is
 * NULL and nothing is left behind.
 * Returns: 0; -EINVAL (value out of range, impl NULL); -ENOTSUP (impl does not provide
 * kind); -ENOMEM; -errno from the implementation's init.
 */
IPCM_API int ipcm_sync_create(const struct ipcm_sync_impl *impl, enum ipcm_sync_kind kind,
                              unsigned value, struct ipcm_sync **out);
/*
 * ipcm_sync_destroy - release this process's copy of s (its mapping). Accepts NULL. Other
 * processes keep theirs; close this process's ends first.
 */
IPCM_API void ipcm_sync_destroy(struct ipcm_sync *s);
IPCM_API enum ipcm_sync_kind ipcm_sync_kind(const struct ipcm_sync *s);
IPCM_API const struct ipcm_sync_impl *ipcm_sync_impl(const struct ipcm_sync *s);
/*
 * ipcm_sync_open - open the calling thread's end of s. The futex implementation keeps a
 * table of 128 ends per primitive, reclaiming those of dead threads.
 * Returns: 0; -EMFILE (every end of the table is in use); -ENOMEM.
 */
IPCM_API int ipcm_sync_open(struct ipcm_sync *s, struct ipcm_sync_end **out);
/*
 * ipcm_sync_close - close and free an end. Accepts NULL. An end that holds the Lock
 * releases it first. (A thread that dies holding it: see ipcm_lock_acquire.)
 */
IPCM_API void ipcm_sync_close(struct ipcm_sync_end *e);

/*
 * ipcm_lock_acquire - take the Lock. A holder that is merely stopped (SIGSTOP) is never
 * robbed: the wait runs into its timeout.
 * Returns: 0 (held); -EOWNERDEAD (held: the previous holder died holding it, with
 * IPCM_SYNC_CAP_OWNER_DEAD; whatever it protected may be half-updated); -EDEADLK (this end holds it
 * already); -ETIMEDOUT; -EAGAIN; -ENOTRECOVERABLE (pthread: a recovered mutex was
 * given up); -EINVAL. (pthread: a mutex has one owner per thread, so a second end in
 * the thread that holds it gets -EDEADLK too.)
 */
IPCM_API int ipcm_lock_acquire(struct ipcm_sync_end *e, int timeout_ms);
/* ipcm_lock_release - give the Lock up. Returns: 0; -EPERM (this end does not hold it);
 * -EINVAL. */
IPCM_API int ipcm_lock_release(struct ipcm_sync_end *e);

/* ipcm_event_set / ipcm_event_clear - set (waking every waiter) or clear the flag.
 * Returns: 0; -EINVAL. */
IPCM_API int ipcm_event_set(struct ipcm_sync_end *e);
IPCM_API int ipcm_event_clear(struct ipcm_sync_end *e);
/* ipcm_event_is_set - 1 if set, 0 if not; -EINVAL. */
IPCM_API int ipcm_event_is_set(struct ipcm_sync_end *e);
/* ipcm_event_wait - wait until the flag is set. Returns: 0; -ETIMEDOUT; -EAGAIN; -EINVAL. */
IPCM_API int ipcm_event_wait(struct ipcm_sync_end *e, int timeout_ms);

/*
 * ipcm_barrier_wait - wait until every party has called it (Python's Barrier.wait).
 * Returns: this party's arrival index, 0..parties-1, once all arrived; -EPIPE (the
 * barrier is broken: another party timed out, the barrier was aborted or reset while
 * this one waited, or, with IPCM_SYNC_CAP_PARTY_DEAD, a party died; it stays broken
 * until ipcm_barrier_reset: Python's BrokenBarrierError); -ETIMEDOUT (this party's
 * timeout expired: it broke the barrier for the others); -EAGAIN; -EINVAL.
 */
IPCM_API int ipcm_barrier_wait(struct ipcm_sync_end *e, int timeout_ms);
/* ipcm_barrier_abort - break the barrier: waiting and later parties get -EPIPE.
 * Returns: 0; -EINVAL. */
IPCM_API int ipcm_barrier_abort(struct ipcm_sync_end *e);
/* ipcm_barrier_reset - repair a broken barrier, empty; parties still waiting get
 * -EPIPE (Python's Barrier.reset). Returns: 0; -EINVAL. */
IPCM_API int ipcm_barrier_reset(struct ipcm_sync_end *e);

/* ipcm_sem_acquire - take one unit, waiting while the count is 0.
 * Returns: 0; -ETIMEDOUT; -EAGAIN; -EINVAL. */
IPCM_API int ipcm_sem_acquire(struct ipcm_sync_end *e, int timeout_ms);
/* ipcm_sem_release - give one unit back. Returns: 0; -EOVERFLOW (the count is at its
 * bound already; Python's "released too many times"; only with IPCM_SYNC_CAP_BOUNDED);
 * -EINVAL. */
IPCM_API int ipcm_sem_release(struct ipcm_sync_end *e);
/* ipcm_sem_value - the count now (a snapshot); -EINVAL. */
IPCM_API int ipcm_sem_value(struct ipcm_sync_end *e);

/*
 * RLock (IPCM_SYNC_RLOCK) takes the Lock calls: ipcm_lock_acquire by the thread that
 * holds it through this end adds one level (Python's RLock) and returns 0;
 * ipcm_lock_release takes one level off and gives the Lock up at zero. The owner is
 * the (pid, tid) that took it, kept beside the Lock in the shared object, so it works
 * between threads and between processes. Differences from Lock: ipcm_lock_acquire
 * returns -EPERM (not -EDEADLK) on an end that holds it for another thread (a copy
 * inherited through fork), -EOVERFLOW at 2^32-1 levels; ipcm_lock_release returns
 * -EPERM when the caller is not the owner. A holder that dies at any depth: the next
 * acquirer gets -EOWNERDEAD at depth 1 (with IPCM_SYNC_CAP_OWNER_DEAD). Closing the
 * owner's end releases every level.
 */
/* ipcm_lock_depth - how many times the calling thread holds the Lock or RLock through
 * this end (a Lock: 0 or 1); 0 when it does not; -EINVAL. */
IPCM_API int ipcm_lock_depth(struct ipcm_sync_end *e);

/*
 * Condition (IPCM_SYNC_CONDITION): a sequence word that notifications advance, waited on
 * with futex(2); unlike glibc's process-shared condition variable (glibc bug 21422) it
 * keeps no record of its waiters, so a waiter that dies costs nothing. Spurious
 * wake-ups happen (a waiter can return 0 for a notification meant for another): loop on
 * your predicate, as in Python, or use ipcm_cond_wait_for. Notify while holding the Lock
 * that guards the predicate, as Python requires; otherwise a waiter that has just seen
 * the predicate false can miss the notification.
 */
/*
 * ipcm_cond_wait - with lock (an end of a Lock or RLock the calling thread holds, at
 * any depth) give the lock up entirely, wait for a notification on cond, then take the
 * lock back at the depth it had. The lock is re-taken against the same deadline,
 * extended by at most 100 ms when the wait used it up (so a timed-out waiter normally
 * still gets the lock back).
 * Returns, holding the lock: 0 (notified, or spuriously woken); -ETIMEDOUT; -EAGAIN
 * (timeout 0: returns at once, the lock never given up); -EOWNERDEAD (the lock's holder
 * died while this one waited: see ipcm_lock_acquire).
 * Returns, NOT holding the lock: -ENOLCK (the lock could not be re-taken in time: a
 * holder kept it); -ENOTRECOVERABLE. And: -EPERM (lock not held by the caller; nothing
 * done); -EINVAL (cond not a Condition or lock not a Lock or RLock).
 */
IPCM_API int ipcm_cond_wait(struct ipcm_sync_end *cond, struct ipcm_sync_end *lock,
                            int timeout_ms);
/*
 * ipcm_cond_wait_for - Python's Condition.wait_for: ipcm_cond_wait until pred(arg) is
 * true, checked with the lock held (first before any wait), all against one deadline.
 * Returns: 1 (pred true, lock held); 0 (timed out with pred still false, lock held);
 * otherwise what ipcm_cond_wait returns on error (-EOWNERDEAD returns at once, lock
 * held, pred unchecked).
 */
IPCM_API int ipcm_cond_wait_for(struct ipcm_sync_end *cond, struct ipcm_sync_end *lock,
                                bool (*pred)(void *arg), void *arg, int timeout_ms);
/* ipcm_cond_notify - wake at least min(n, waiters) of the threads waiting on cond (more
 * can wake: see above); n 0 does nothing. Returns: 0; -EINVAL. */
IPCM_API int ipcm_cond_notify(struct ipcm_sync_end *cond, unsigned n);
/* ipcm_cond_notify_all - wake every thread waiting on cond. Returns: 0; -EINVAL. */
IPCM_API int ipcm_cond_notify_all(struct ipcm_sync_end *cond);
/* ---------------------------------------------------------------- exec start */

/*
 * Handing a link to a program started with execve (Python's "spawn" start method). A
 * link created in the parent is described by a token, a short printable string such as
 * "ipcm1:pipe:q:recv:4096:64:5,6,-1,-1,7" (backend, shape, the role the program opens,
 * max_msg, depth, then what the backend needs: its descriptor numbers, queue ids). The
 * descriptors a token names stay open across the exec and no others do: every
 * descriptor the library opens is close-on-exec, and ipcm_process_spawn_exec clears
 * that flag on the handed-over ones in the child alone, between fork and exec. The
 * backend must declare IPCM_CAP_EXEC (ipcm_backend_caps); the others return -ENOTSUP.
 * Guide: docs/exec.md.
 */

/* Room for any token, its terminating NUL included. */
#define IPCM_TOKEN_MAX 256
/* The environment variable ipcm_process_spawn_exec sets: the tokens, space-separated,
 * in the order of its ends[]. */
#define IPCM_LINK_ENV "IPCMARK_LINK"

/*
 * ipcm_link_export_token - the token for opening link l in role in an exec'd program,
 * into buf (len bytes). Call it in the parent before the link's own end is opened here.
 * A token is valid only in a child that inherited its descriptors
 * (ipcm_process_spawn_exec does that).
 * Returns: 0; -ENOTSUP (the backend has no IPCM_CAP_EXEC); -EINVAL (a role that does
 * not fit the shape); -EBADF (this process already opened an end of l: the descriptors
 * other roles need are gone); -ENOSPC (buf too small).
 */
IPCM_API int ipcm_link_export_token(const struct ipcm_link *l, enum ipcm_role role, char *buf,
                                    size_t len);
/*
 * ipcm_chan_attach_token - in the exec'd program: open the end a token names, in one
 * call (the link behind it is this end's own: ipcm_chan_close releases both). Like
 * ipcm_chan_open, it closes what the role must not hold.
 * Returns: 0; -EINVAL (not a token); -ENOENT (no backend of that name here, built in
 * or loaded); -ENOTSUP (the backend cannot attach after exec); -EBADF (a descriptor the
 * token names is not open in this process); -ENOMEM; as ipcm_chan_open.
 */
IPCM_API int ipcm_chan_attach_token(const char *token, struct ipcm_chan **out);
/*
 * ipcm_chan_attach_env - ipcm_chan_attach_token on the index-th token (from 0) of the
 * IPCMARK_LINK environment variable. Returns: as ipcm_chan_attach_token; -ENOENT (no
 * such variable, or fewer tokens).
 */
IPCM_API int ipcm_chan_attach_env(unsigned index, struct ipcm_chan **out);

/* One end to hand to an exec'd program: link l, to be opened there in role. */
struct ipcm_handover {
    const struct ipcm_link *link;
    enum ipcm_role role;
};

/*
 * ipcm_process_spawn_exec - fork and execve(path, argv, envp) with the ends[0..n_ends)
 * handed over: their descriptors stay open in the program (and no other descriptor of
 * this library does) and IPCMARK_LINK holds their tokens (replacing any such entry of
 * envp; envp NULL: this process's environment). path is used as given (no PATH search).
 * The program dies with its parent (PR_SET_PDEATHSIG, kept across exec) and is joined,
 * killed and stopped as a forked worker is. Returns once the exec succeeded or failed:
 * a program that cannot be started is an error here, not an exit status later.
 * Safe in a multithreaded program: the child only clears flags and calls execve.
 * Returns: 0; -EINVAL (argv NULL or empty, n_ends > 0 with ends NULL); -ENOTSUP,
 * -EBADF as ipcm_link_export_token; -ENOMEM; -EAGAIN from fork; execve's error
 * (-ENOENT, -EACCES, -ENOEXEC, ...).
 */
IPCM_API int ipcm_process_spawn_exec(struct ipcm_process *p, const char *path, char *const argv[],
                                     char *const envp[], const struct ipcm_handover *ends,
                                     size_t n_ends);

/* How a pool starts its workers: fork (the default), or fork + execve of a worker
 * program that calls ipcm_pool_worker_main. */
enum ipcm_start_method {
    IPCM_START_FORK,
    IPCM_START_EXEC,
};

/* A pool's start method; for IPCM_START_EXEC, the worker program. */
struct ipcm_pool_start {
    enum ipcm_start_method method;
    const char *path;  /* IPCM_START_EXEC: the worker program (no PATH search) */
    char *const *argv; /* its argv; NULL: {path, NULL} */
    char *const *envp; /* its environment; NULL: this process's */
};

/*
 * ipcm_pool_create_start - ipcm_pool_create with a start method (start NULL: fork).
 * With IPCM_START_EXEC each worker, replacements included, is the program start->path:
 * it must call ipcm_pool_worker_main, and runs the task function it passes there; the
 * fn given to map/apply is then not called in workers (a function pointer means nothing
 * in another program) and may be NULL; opt->initializer is not run either (the program runs its own
 * set-up before ipcm_pool_worker_main). The backend must declare IPCM_CAP_EXEC.
 * Returns: as ipcm_pool_create; -ENOTSUP (exec on a backend without IPCM_CAP_EXEC);
 * -EINVAL (exec without a path); execve's error (-ENOENT, -EACCES, ...).
 */
IPCM_API int ipcm_pool_create_start(struct ipcm_pool **out, unsigned workers,
                                    const struct ipcm_backend *be,
                                    const struct ipcm_pool_options *opt,
                                    const struct ipcm_pool_start *start);
/*
 * ipcm_pool_worker_main - the body of an exec'd pool worker program: attach the two
 * queues its parent handed over (IPCMARK_LINK, IPCMARK_POOL), run fn on every task
 * until the pool closes, and return the exit status for main to return (0 clean exit,
 * 2 channel error, 99 started without a pool: not run by ipcm_pool_create_start).
 * argc and argv are the program's own (unused today, kept for later options).
 */
IPCM_API int ipcm_pool_worker_main(int argc, char **argv, ipcm_task_fn fn);


/* ---------------------------------------------------------------- shared memory */

/*
 * Python's multiprocessing.shared_memory.SharedMemory: a block of bytes mapped by every
 * process that attaches it. Anonymous (no name anywhere: a memfd, created before fork
 * and inherited) or named (a file in /dev/shm, attached by name from any process). Both
 * keep a descriptor open, so either can also be handed to a program started with
 * execve: give it the token (ipcm_shm_token) and keep the descriptor (ipcm_shm_fd) open
 * across the exec; it attaches with ipcm_shm_attach_token. The pages are reserved when
 * the block is created (fallocate), so a full /dev/shm or memory fails the create with
 * -ENOSPC instead of a SIGBUS at first touch. Every descriptor is O_CLOEXEC.
 * A failing call records its reason (ipcm_last_error): the rule or the limit it hit.
 *
 * Names follow POSIX shm_open, stricter than Python (which prepends the '/'): a leading
 * '/', no other '/', not "/", "/." or "/..", at most NAME_MAX (255) bytes after the '/'.
 * Names this library makes are "/ipcmark-<pid>-<16 hex digits>", the prefix every
 * ipcmark leftover check and sweep looks for.
 */
struct ipcm_shm; /* one process's attachment of a block (opaque) */

/* The longest token ipcm_shm_token writes, with its terminating NUL. */
#define IPCM_SHM_TOKEN_MAX 64
/*
 * ipcm_shm_create - a new anonymous block of size bytes, zero-filled (a memfd; no name
 * in /dev/shm, gone when the last process closes it, a SIGKILL included). Create it
 * before fork: children inherit the mapping and the handle.
 * Returns: 0; -EINVAL (size 0); -EFBIG (size over PTRDIFF_MAX, or RLIMIT_FSIZE);
 * -ENOMEM (size over physical memory, or the mapping failed); -ENOSPC; -EMFILE.
 * On failure *out is NULL and nothing is left behind.
 */
IPCM_API int ipcm_shm_create(struct ipcm_shm **out, size_t size);
/*
 * ipcm_shm_create_named - Python's SharedMemory(name, create=True, size): a new block
 * called name in /dev/shm, zero-filled; name NULL makes one ("/ipcmark-<pid>-<hex>",
 * see ipcm_shm_name). The creator unlinks it (ipcm_shm_unlink) when no new process needs
 * to attach; processes attached keep their mappings. If the creator is killed first, a
 * made name is found by its pid: ipcm_shm_sweep.
 * Returns: as ipcm_shm_create, and -EINVAL (a name against the rules above); -EEXIST
 * (the name exists: Python's FileExistsError); -ENOSPC (size over /dev/shm's free space);
 * -EACCES.
 */
IPCM_API int ipcm_shm_create_named(struct ipcm_shm **out, const char *name, size_t size);
/*
 * ipcm_shm_attach - Python's SharedMemory(name): attach the existing block called name,
 * of the size it was created with.
 * Returns: 0; -ENOENT (no such block: never created, or unlinked); -EINVAL (a bad name,
 * or a block of size 0: its creator has not sized it yet); -EACCES; -ENOMEM; -EMFILE.
 */
IPCM_API int ipcm_shm_attach(struct ipcm_shm **out, const char *name);
/*
 * ipcm_shm_token - write b's token, e.g. "ipcm-shm:fd=7,size=4096" (at most
 * IPCM_SHM_TOKEN_MAX bytes with the NUL), for a program started with execve. The
 * descriptor it names (ipcm_shm_fd) is O_CLOEXEC: whoever starts the program keeps it
 * open across the exec (dup2 it in the child, or clear FD_CLOEXEC there).
 * Returns: the token's length; -ERANGE (len too small; buf is then ""); -EBADF (closed).
 */
IPCM_API int ipcm_shm_token(const struct ipcm_shm *b, char *buf, size_t len);
/*
 * ipcm_shm_attach_token - in the exec'd program: attach the block a token names. The
 * handle takes over the descriptor (ipcm_shm_close closes it) and makes it O_CLOEXEC
 * again, so it goes no further. The token is self-contained: nothing else is needed.
 * Returns: 0; -EINVAL (not a token, with the reason; or the descriptor is not a block
 * of at least that size); -EBADF (the descriptor is not open here: not handed over);
 * -ENOMEM.
 */
IPCM_API int ipcm_shm_attach_token(struct ipcm_shm **out, const char *token);
/* ipcm_shm_ptr - the first byte of the mapping (page-aligned); NULL for NULL. */
IPCM_API void *ipcm_shm_ptr(const struct ipcm_shm *b);
/* ipcm_shm_size - the block's size in bytes (Python's SharedMemory.size); 0 for NULL. */
IPCM_API size_t ipcm_shm_size(const struct ipcm_shm *b);
/* ipcm_shm_name - "/name" of a named block (Python's .name), NULL for an anonymous one. */
IPCM_API const char *ipcm_shm_name(const struct ipcm_shm *b);
/* ipcm_shm_fd - the block's descriptor (for a hand-over by token); -1 for NULL. */
IPCM_API int ipcm_shm_fd(const struct ipcm_shm *b);
/*
 * ipcm_shm_close - Python's SharedMemory.close: unmap, close the descriptor, free the
 * handle. The name stays (see ipcm_shm_unlink). Accepts NULL.
 */
IPCM_API void ipcm_shm_close(struct ipcm_shm *b);
/*
 * ipcm_shm_unlink - Python's SharedMemory.unlink: remove the name, so no new process can
 * attach it; the memory lives on until the last process closes it. Any attached process
 * may call it; call it once. An anonymous block has no name: 0, nothing done.
 * Returns: 0; -ENOENT (already unlinked); -EACCES; -EINVAL (b NULL).
 */
IPCM_API int ipcm_shm_unlink(struct ipcm_shm *b);
/*
 * ipcm_shm_sweep - the cleanup after a crash: unlink every /dev/shm name made for process
 * pid ("/ipcmark-<pid>-*": its named blocks with made names, and its shm backends'
 * links). Call it only once pid is dead, from its parent or a runner. Names a user chose
 * are not found: their creator owns them. Returns how many it removed.
 */
IPCM_API int ipcm_shm_sweep(pid_t pid);

/*
 * Python's multiprocessing.Value and Array: typed shared memory with an optional Lock.
 * Created before fork (an anonymous shared mapping, no descriptor); children inherit
 * the handle. The Lock is a Lock (not Python's default RLock) of the default
 * synchronization implementation ("futex"), so a holder that dies hands the next
 * locker -EOWNERDEAD instead of a hang.
 *   Python                               C
 *   v = Value('q', 0)                    ipcm_value_create(&v, sizeof(int64_t), true)
 *   v.value                              *(int64_t *)ipcm_value_ptr(v)
 *   with v.get_lock(): v.value += 1      ipcm_value_lock(v, ms); ...; ipcm_value_unlock(v)
 *   (no lock-free equivalent)            ipcm_counter_add(v, 1, &now)
 *   a = Array('d', 10)                   ipcm_array_create(&a, sizeof(double), 10, true)
 *   a[i] = x; y = a[i]                   ipcm_array_set(a, i, &x, ms); ipcm_array_get(a, i, &y, ms)
 *   a.get_obj()                          ipcm_array_ptr(a)
 */
struct ipcm_value; /* a Value (opaque) */
struct ipcm_array; /* an Array (opaque) */

/*
 * ipcm_value_create - size zero-filled shared bytes, with a Lock if lock is true
 * (Python's Value(typecode, 0, lock=lock)).
 * Returns: 0; -EINVAL (size 0); -EFBIG (size over PTRDIFF_MAX); -ENOMEM. On failure
 * *out is NULL.
 */
IPCM_API int ipcm_value_create(struct ipcm_value **out, size_t size, bool lock);
/* ipcm_value_ptr - the shared bytes (page-aligned, so any C type fits); NULL for NULL. */
IPCM_API void *ipcm_value_ptr(const struct ipcm_value *v);
/* ipcm_value_size - their size in bytes; 0 for NULL. */
IPCM_API size_t ipcm_value_size(const struct ipcm_value *v);
/*
 * ipcm_value_lock - take v's Lock (Python's v.get_lock().acquire(timeout=...)), from any
 * thread of any process that has the handle. The first thread of each process that
 * takes it keeps an end of the Lock (one of the 128 a futex Lock has) until
 * ipcm_value_destroy; other threads open one for each hold, which costs more.
 * Returns: 0 (held); -EOWNERDEAD (held, but the previous holder died holding it: the
 * value may be half-updated); -EDEADLK (this thread holds it already: not re-entrant);
 * -ETIMEDOUT; -EAGAIN (timeout 0); -ENOLCK (v was created without a Lock); -EMFILE.
 */
IPCM_API int ipcm_value_lock(struct ipcm_value *v, int timeout_ms);
/* ipcm_value_unlock - give the Lock back. Returns: 0; -EPERM (this thread does not hold
 * it); -ENOLCK (no Lock). */
IPCM_API int ipcm_value_unlock(struct ipcm_value *v);
/*
 * ipcm_value_destroy - release this process's copy (the mapping, and the Lock if this
 * thread holds it). Other processes keep theirs. Accepts NULL.
 */
IPCM_API void ipcm_value_destroy(struct ipcm_value *v);
/*
 * ipcm_counter_add - add delta to the int64_t at the start of v, atomically and without
 * the Lock (one __atomic add: no system call; the Lock, if any, is not taken, so do not
 * mix it with plain writes under the Lock). *now (may be NULL) gets the sum after it;
 * delta 0 reads the counter.
 * Returns: 0; -EINVAL (v NULL or smaller than an int64_t).
 */
IPCM_API int ipcm_counter_add(struct ipcm_value *v, int64_t delta, int64_t *now);

/*
 * ipcm_array_create - n zero-filled elements of elem_size bytes, with a Lock if lock is
 * true (Python's Array(typecode, n, lock=lock)).
 * Returns: 0; -EINVAL (elem_size or n 0); -EFBIG (elem_size * n over PTRDIFF_MAX);
 * -ENOMEM. On failure *out is NULL.
 */
IPCM_API int ipcm_array_create(struct ipcm_array **out, size_t elem_size, size_t n, bool lock);
/* ipcm_array_len - n (Python's len(a)); 0 for NULL. */
IPCM_API size_t ipcm_array_len(const struct ipcm_array *a);
/* ipcm_array_ptr - element 0 (Python's a.get_obj()); raw access, no Lock taken. */
IPCM_API void *ipcm_array_ptr(const struct ipcm_array *a);
/*
 * ipcm_array_get / ipcm_array_set - copy element i out to / in from elem_size bytes at
 * buf. With a Lock, each takes it for the copy (waiting at most timeout_ms), unless this
 * thread holds it already (ipcm_array_lock), so an element is never seen half-written;
 * without one, a get racing a set can see a torn element (as with lock=False).
 * Returns: 0; -ERANGE (i >= n: Python's IndexError); -EINVAL (NULL); -EOWNERDEAD (done,
 * but a holder died: the element may be half-written); -ETIMEDOUT; -EAGAIN.
 */
IPCM_API int ipcm_array_get(struct ipcm_array *a, size_t i, void *buf, int timeout_ms);
IPCM_API int ipcm_array_set(struct ipcm_array *a, size_t i, const void *buf, int timeout_ms);
/* ipcm_array_lock / ipcm_array_unlock - as ipcm_value_lock / ipcm_value_unlock, for
 * updates of several elements at once. */
IPCM_API int ipcm_array_lock(struct ipcm_array *a, int timeout_ms);
IPCM_API int ipcm_array_unlock(struct ipcm_array *a);
/* ipcm_array_destroy - as ipcm_value_destroy. Accepts NULL. */
IPCM_API void ipcm_array_destroy(struct ipcm_array *a);

/* ---------------------------------------------------------------- slices and priorities */

/*
 * ipcm_chan_send_slice - send bytes [off, off + size) of buf (buflen bytes long) as one
 * message: Python's Connection.send_bytes(buf, offset, size), without copying the slice
 * out first. off == buflen with size 0 is a valid empty slice.
 * Returns: size; -EINVAL (buf NULL with buflen > 0, or the slice does not lie inside
 * the buffer: off > buflen or size > buflen - off, checked without overflow, so a
 * negative value cast to size_t is refused too), nothing sent and ipcm_last_error
 * naming the numbers; -EMSGSIZE (size > max_msg, named likewise); as ipcm_chan_send.
 */
IPCM_API ssize_t ipcm_chan_send_slice(struct ipcm_chan *c, const void *buf, size_t buflen,
                                      size_t off, size_t size, int timeout_ms);
/*
 * ipcm_chan_recv_slice - receive one whole message into bytes [off, off + size) of buf
 * (buflen bytes long): Connection.recv_bytes_into(buf, offset). The slice must lie inside
 * the buffer and hold the channel's max_msg (ipcm_chan_recv's rule, so no message is
 * ever truncated); bytes outside the message's length are left untouched.
 * Returns: the message length; -EINVAL (slice outside the buffer, named); -EMSGSIZE (size
 * below max_msg, named); as ipcm_chan_recv.
 */
IPCM_API ssize_t ipcm_chan_recv_slice(struct ipcm_chan *c, void *buf, size_t buflen, size_t off,
                                      size_t size, int timeout_ms);
/*
 * ipcm_chan_send_prio - send one message with priority prio (IPCM_CAP_PRIORITY: POSIX
 * message queues, where a receiver gets the highest priority first and FIFO within one
 * priority; ipcm_chan_send is priority 0).
 * Returns: len; -ENOTSUP (the backend has no priorities); -EINVAL (prio above the
 * backend's range, e.g. sysconf(_SC_MQ_PRIO_MAX) - 1, named in ipcm_last_error; nothing
 * queued); as ipcm_chan_send.
 */
IPCM_API ssize_t ipcm_chan_send_prio(struct ipcm_chan *c, const void *buf, size_t len,
                                     unsigned prio, int timeout_ms);
/*
 * ipcm_chan_recv_prio - ipcm_chan_recv that also stores the message's priority in *prio
 * (may be NULL). Returns: as ipcm_chan_recv; -ENOTSUP (the backend has no priorities).
 */
IPCM_API ssize_t ipcm_chan_recv_prio(struct ipcm_chan *c, void *buf, size_t cap, unsigned *prio,
                                     int timeout_ms);
/*
 * ipcm_chan_ready - (IPCM_CAP_READY) on a receiving end: with IPCM_READY_PEEK, 1 if
 * ipcm_chan_recv would not block now, else 0, without a system call; IPCM_READY_ARM
 * just before sleeping in poll(2) on ipcm_chan_pollfd (1: something is ready already,
 * do not sleep; 0: the fd turns readable on the next message or end-of-stream);
 * IPCM_READY_DISARM once awake (senders then make no system call for the poller).
 * Arming is for one poller per direction; an end that never calls this keeps the
 * plain pollfd contract. Returns: 0 or 1; -ENOTSUP without IPCM_CAP_READY; -EBADF
 * (closed, or an end that cannot receive); -EINVAL (how).
 */
IPCM_API int ipcm_chan_ready(struct ipcm_chan *c, enum ipcm_ready_how how);

#ifdef __cplusplus
}
#endif

#endif /* IPCM_HARNESS_IPCMARK_H */
