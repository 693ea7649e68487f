/* SPDX-License-Identifier: MIT */
/*
 * backend.h - the contract every IPC mechanism implements: one const vtable per
 * backend file, registered in registry.c. The harness reaches backends only through
 * this header; the public semantics of each operation are documented in ipcmark.h.
 */
#ifndef IPCM_BACKENDS_BACKEND_H
#define IPCM_BACKENDS_BACKEND_H

#include "ipcmark.h"

#define IPCM_BACKEND_ABI 1

/* A channel as created in the parent. Children inherit it through fork. */
struct ipcm_link {
    const struct ipcm_backend *be;
    enum ipcm_shape shape;
    struct ipcm_config cfg; /* resolved: no zero fields after create */
    bool default_depth;     /* cfg.depth is the backend's default, not the caller's */
    bool opened;            /* this process opened an end of it */
    char name[48];          /* unpredictable "/ipcmark-<pid>-<rand>" for named objects */
    void *priv;             /* be->link_priv bytes, zeroed by the harness */
};

/* One process's end of a link. */
struct ipcm_chan {
    const struct ipcm_backend *be;
    struct ipcm_link *link;
    enum ipcm_role role;
    size_t max_msg;
    bool closed;
    void *priv; /* be->chan_priv bytes, zeroed by the harness */
};

/*
 * The vtable. The harness validates arguments (sizes, roles, closed ends) before it
 * dispatches, so backends see only well-formed calls. Errors are negative errno.
 */
struct ipcm_backend {
    int abi;             /* IPCM_BACKEND_ABI; first so the struct can grow */
    const char *name;    /* == file stem == CLI name == ctest label, [a-z]+ */
    const char *summary; /* one line for `ipcmark list` */
    uint32_t caps;       /* IPCM_CAP_* */
    size_t link_priv;    /* private bytes per link */
    size_t chan_priv;    /* private bytes per end */

    /* This host's limits; -ENOSYS if the mechanism is missing. */
    int (*limits)(struct ipcm_limits *out);
    /* Parent, before fork: l->shape and the resolved l->cfg are set. On failure the
     * backend has released everything, so destroy is a no-op. */
    int (*create)(struct ipcm_link *l);
    /* After fork: c->link, c->role and c->max_msg are set. Closes in this process what
     * the role must not hold. */
    int (*open)(struct ipcm_chan *c);
    ssize_t (*send)(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms);
    ssize_t (*recv)(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms);
    /* Stop sending from this end; receivers see -EPIPE once drained. */
    int (*shutdown)(struct ipcm_chan *c);
    /* Release this end's kernel objects. Called once. */
    void (*close)(struct ipcm_chan *c);
    /* Release this process's copy of the link and unlink names. Idempotent, safe
     * after a failed create and after open. */
    void (*destroy)(struct ipcm_link *l);
    /* Optional (NULL unless IPCM_CAP_POLLFD). */
    int (*pollfd)(const struct ipcm_chan *c);
    /* Optional (NULL unless IPCM_CAP_QSIZE). */
    ssize_t (*qsize)(const struct ipcm_chan *c);
    /* Optional (NULL unless IPCM_CAP_FDPASS): fd is open; *fd gets an O_CLOEXEC one. */
    int (*send_fd)(struct ipcm_chan *c, int fd, int timeout_ms);
    int (*recv_fd)(struct ipcm_chan *c, int *fd, int timeout_ms);
};

#endif /* IPCM_BACKENDS_BACKEND_H */
