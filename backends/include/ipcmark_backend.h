/* SPDX-License-Identifier: MIT */
/*
 * ipcmark_backend.h - the contract every IPC mechanism implements: one const vtable
 * per backend, registered in backends/registry.c. A backend compiles against this
 * header, ipcmark_types.h and the base layer only; it knows nothing of the library,
 * the benchmarks or the conformance suite. The library (channel.c) validates every
 * call before it dispatches, so an op sees only well-formed arguments.
 *
 * Conventions for every op: return 0 (or a byte count) on success and a negative errno
 * on failure; never print, exit or abort; retry EINTR internally against the same
 * deadline; open every descriptor O_CLOEXEC. Timeouts are poll(2)-style milliseconds:
 * < 0 waits forever, 0 tries once (-EAGAIN if it would block), > 0 bounds the whole
 * call (-ETIMEDOUT).
 *
 * This header is installed: it is the plugin ABI (docs/plugins.md). A plugin is a shared
 * object that exports ipcm_backend_plugin_v1 (below) and compiles against this header
 * and ipcmark_types.h alone. Compatibility is SQLite-style: the table starts with abi and
 * struct_size; a later header only appends ops, the loader treats every op past a
 * plugin's struct_size as NULL (so its capability bit must be clear), and a plugin built
 * against version 1 keeps loading. A fork of the process keeps every end usable by the
 * child that opens it; nothing a backend holds may depend on threads (ops run in forked
 * children), and a peer's death must look like end-of-stream (-EPIPE), never a hang.
 */
#ifndef IPCM_BACKENDS_IPCMARK_BACKEND_H
#define IPCM_BACKENDS_IPCMARK_BACKEND_H

#include "ipcmark_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this contract; a backend sets ipcm_backend.abi to it. The loader
 * accepts IPCM_BACKEND_ABI_MIN..IPCM_BACKEND_ABI and refuses the rest by name. */
#define IPCM_BACKEND_ABI 1
#define IPCM_BACKEND_ABI_MIN 1

/* A channel as created in the parent. Children inherit it through fork. */
struct ipcm_link {
    const struct ipcm_backend *be;
    enum ipcm_shape shape;
    struct ipcm_config cfg; /* resolved by the library: no zero fields after create */
    bool default_depth;     /* cfg.depth is the backend's default, not the caller's */
    bool opened;            /* this process opened an end of it */
    char name[48];          /* for named objects: fill with a unique, unpredictable name */
    void *priv;             /* be->link_priv bytes, zeroed by the library */
    /*
     * The caller's configuration by pointer with its size (RULINGS 6), valid during
     * create only: cfg above holds the version-1 fields; a field added later is read
     * only where config_size covers it (IPCM_CONFIG_HAS), so a new library never feeds
     * an old plugin a field it cannot know, nor an old library a new plugin.
     */
    const struct ipcm_config *config;
    size_t config_size;
};

/* IPCM_CONFIG_HAS(l, field) - the configuration the library passed covers field. */
#define IPCM_CONFIG_HAS(l, field)                                                                  \
    ((l)->config && (l)->config_size >= offsetof(struct ipcm_config, field) +                      \
                                            sizeof(((struct ipcm_config *)0)->field))

/* One process's end of a link. */
struct ipcm_chan {
    const struct ipcm_backend *be;
    struct ipcm_link *link;
    enum ipcm_role role; /* checked against the link's shape by the library */
    size_t max_msg;      /* the link's cfg.max_msg */
    bool closed;
    void *priv; /* be->chan_priv bytes, zeroed by the library */
    /* The link this end owns (ipcm_chan_attach_token made it in an exec'd program and
     * closing the end destroys it), or NULL. Backends never touch it. */
    struct ipcm_link *owned_link;
};

/*
 * The vtable. Fields in the order a backend file fills them with designated
 * initialisers; an optional op is NULL unless its capability bit is set.
 */
struct ipcm_backend {
    int abi;              /* IPCM_BACKEND_ABI; first so the struct can grow */
    uint32_t struct_size; /* sizeof(struct ipcm_backend) as the backend was built */
    const char *name;     /* == file stem == CLI name == ctest label, [a-z0-9_]+ */
    const char *summary;  /* one line for `ipcmark list` */
    uint32_t caps;        /* IPCM_CAP_* bits this backend keeps; the suite checks each */
    size_t link_priv;     /* private bytes per link, at l->priv */
    size_t chan_priv;     /* private bytes per end, at c->priv */

    /*
     * limits - this host's limits, read now (sysctls, rlimits), into *out. Never
     * blocks. Returns 0, -ENOSYS if the mechanism is missing here, or -errno.
     */
    int (*limits)(struct ipcm_limits *out);
    /*
     * create - in the parent, before fork: make the kernel objects of link l, whose
     * shape and resolved cfg are set (cfg.max_msg and cfg.depth within limits). On
     * failure the backend has released everything it made, so destroy is a no-op.
     * Returns 0; -ENOMEM, -EMFILE, -ENFILE, -ENOSPC, -EINVAL or other -errno, with the
     * limit that was hit in the error's cause.
     */
    int (*create)(struct ipcm_link *l);
    /*
     * open - after fork, in the process that will use the end: c->link, c->role and
     * c->max_msg are set. Close in this process what the role must not hold, so that
     * end-of-stream works (a consumer holds no sender's token). Never blocks.
     * Returns 0 or -errno.
     */
    int (*open)(struct ipcm_chan *c);
    /*
     * send - one message of len <= max_msg bytes, whole or not at all, within
     * timeout_ms. Returns len; -EAGAIN/-ETIMEDOUT; -EPIPE once every receiver is gone
     * (closed or dead: a dead peer must never make send block past its deadline, and
     * SIGPIPE must never be delivered: MSG_NOSIGNAL, or SIGPIPE blocked in the sending
     * thread and the one the write raised consumed, never a process-wide disposition
     * change; the pipe and fifo ends keep it blocked in a thread that sent on them until
     * they close, see ipcm_sigpipe_hold); -ENOTRECOVERABLE if the channel can no longer
     * deliver whole messages (a writer died mid-message on a byte stream).
     */
    ssize_t (*send)(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms);
    /*
     * recv - the next whole message into buf (cap >= max_msg), within timeout_ms.
     * Messages of one sender arrive in the order sent, never merged, split, lost or
     * duplicated. Returns the length (0 for an empty message); -EAGAIN/-ETIMEDOUT;
     * -EPIPE at end-of-stream: every sender shut down, closed or died, and nothing
     * is left; -ENOTRECOVERABLE as for send.
     */
    ssize_t (*recv)(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms);
    /* shutdown - this end sends no more; receivers see -EPIPE once drained. Idempotent.
     * Returns 0 or -errno. */
    int (*shutdown)(struct ipcm_chan *c);
    /* close - release this end's kernel objects. Called once; never blocks. */
    void (*close)(struct ipcm_chan *c);
    /*
     * destroy - release this process's copy of the link and unlink any names.
     * Idempotent; safe after a failed create and after open (ends stay usable).
     */
    void (*destroy)(struct ipcm_link *l);
    /* pollfd - (IPCM_CAP_POLLFD) an fd that polls readable when recv would not block. */
    int (*pollfd)(const struct ipcm_chan *c);
    /* qsize - (IPCM_CAP_QSIZE) messages waiting in the direction this end receives from
     * (a send-only queue end: the queue); exact at rest. */
    ssize_t (*qsize)(const struct ipcm_chan *c);
    /* send_fd / recv_fd - (IPCM_CAP_FDPASS) pass an open descriptor as one message, in
     * order with the others; *fd gets an O_CLOEXEC descriptor. Errors as send/recv,
     * plus -EBADMSG (recv_fd found an ordinary message) and -EMFILE. */
    int (*send_fd)(struct ipcm_chan *c, int fd, int timeout_ms);
    int (*recv_fd)(struct ipcm_chan *c, int *fd, int timeout_ms);
    /*
     * handover_export - (IPCM_CAP_EXEC) describe link l, in the parent before fork, for
     * a program started with execve: a short printable payload (letters, digits and
     * ",=._-" only) into buf (len bytes) and the descriptors that payload names into
     * fds (at most *nfds of them; set *nfds to the count). Changes nothing: the library
     * clears close-on-exec on those descriptors in the child alone, between fork and
     * exec. Returns 0; -ENOSPC (buf or fds too small); -errno.
     */
    int (*handover_export)(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                           size_t *nfds);
    /*
     * handover_attach - (IPCM_CAP_EXEC) in the exec'd program: rebuild l->priv (zeroed;
     * shape and cfg set from the token) from a payload handover_export wrote, so that
     * open then works as it does after fork. On failure, destroy is a no-op.
     * Returns 0; -EINVAL (a malformed payload); -EBADF (a named descriptor is not open);
     * -errno.
     */
    int (*handover_attach)(struct ipcm_link *l, const char *payload);
    /* send_prio / recv_prio - (IPCM_CAP_PRIORITY) send with priority prio (-EINVAL above
     * the backend's range, naming it); receive the highest-priority message first and
     * store its priority in *prio (never NULL here). Otherwise as send / recv. */
    ssize_t (*send_prio)(struct ipcm_chan *c, const void *buf, size_t len, unsigned prio,
                         int timeout_ms);
    ssize_t (*recv_prio)(struct ipcm_chan *c, void *buf, size_t cap, unsigned *prio,
                         int timeout_ms);
    /*
     * ready - (IPCM_CAP_READY; appended after version 1's recv_fd, so a plugin built
     * before it has it NULL) on a receiving end, never blocking:
     * IPCM_READY_PEEK: 1 if recv would not block now (a message, or end-of-stream the
     * segment already records), else 0, with no system call.
     * IPCM_READY_ARM: the caller is about to sleep in poll(2) on pollfd: make the next
     * message (or end-of-stream) make that fd readable; returns 1 instead when recv would
     * not block already (the caller must not sleep), else 0.
     * IPCM_READY_DISARM: the caller is awake: senders need not signal the fd any more
     * (one poller per direction uses ARM/DISARM). Returns 0.
     * An end on which ready was called keeps pollfd in this explicit mode; without it
     * pollfd stays readable exactly when recv would not block. Returns -errno on error.
     */
    int (*ready)(struct ipcm_chan *c, int how);
};

/* The smallest table the loader accepts: version 1 ends with recv_fd. */
#define IPCM_BACKEND_SIZE_V1                                                                       \
    (offsetof(struct ipcm_backend, recv_fd) + sizeof(((struct ipcm_backend *)0)->recv_fd))

/* How every table begins: `static const struct ipcm_backend mine = { IPCM_BACKEND_HEAD,
 * .name = "mine", ... };` (built-in tables may leave struct_size 0: never loaded). */
#define IPCM_BACKEND_HEAD .abi = IPCM_BACKEND_ABI, .struct_size = sizeof(struct ipcm_backend)

/*
 * The one symbol a plugin exports (name IPCM_BACKEND_PLUGIN_SYMBOL, with default
 * visibility). host_abi is the loader's IPCM_BACKEND_ABI. Return the backend table,
 * which must live as long as the object is loaded (a static const), or NULL with
 * *reason set to a static line saying why this plugin cannot run here. The loader then
 * checks abi, struct_size, the name ([a-z0-9_]+, not loaded twice) and that every op
 * the capability bits require is set, and names the file and the problem if not.
 * Called once per load, in the loading process, before any fork; no op runs before it.
 */
#define IPCM_BACKEND_PLUGIN_SYMBOL "ipcm_backend_plugin_v1"
#define IPCM_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef const struct ipcm_backend *ipcm_backend_plugin_v1_fn(int host_abi, const char **reason);
IPCM_PLUGIN_EXPORT ipcm_backend_plugin_v1_fn ipcm_backend_plugin_v1;

/* The built-in backends (registry.c), in the order `ipcmark list` shows them. */
extern const struct ipcm_backend *const ipcm_builtin_backends[];
extern const size_t ipcm_builtin_backend_count;

#ifdef __cplusplus
}
#endif

#endif /* IPCM_BACKENDS_IPCMARK_BACKEND_H */
