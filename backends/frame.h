/* SPDX-License-Identifier: MIT */
/*
 * frame.h - length-framed messages on a byte stream, shared by the stream backends
 * (pipe, fifo, unix, tcp): the frame format, the process-shared per-direction state with
 * its robust locks, and the send/recv/shutdown/close/qsize/pollfd ops themselves.
 */
#ifndef IPCM_BACKENDS_FRAME_H
#define IPCM_BACKENDS_FRAME_H

#include "internal.h"

/* Bytes of the frame header (length, magic) before each payload. */
#define IPCM_FRAME_HDR 8u

/* How the bytes move: a pipe or FIFO in packet mode (O_DIRECT: a read returns at most
 * one packet, so header and a small payload come in one read), or a stream socket (a
 * read may cross frames: the header is read first, then exactly the payload). */
enum ipcm_frame_kind {
    IPCM_FRAME_PIPE,
    IPCM_FRAME_SOCK,
};

/*
 * The state of one direction, in a shared mapping every process of the link inherits.
 * Writers serialise on wlock, readers on rlock; both are robust, so a participant that
 * dies is survivable unless it died mid-frame (w_inflight / r_inflight still set), which
 * marks the direction broken (-ENOTRECOVERABLE) instead of delivering garbage.
 */
struct ipcm_frame_dir {
    pthread_mutex_t wlock;
    pthread_mutex_t rlock;
    uint32_t buf_bytes;  /* bytes the kernel buffers (pipe size, or SO_SNDBUF as reported) */
    uint32_t atomic_max; /* frames up to this size (header included) are one all-or-nothing
                            write; larger ones wait for room first */
    bool own_window;     /* TCP: room is what the framing's own counters allow (below) */
    int w_inflight;      /* a writer is inside a frame that is not one atomic write */
    int r_inflight;      /* a reader holds part of the head frame in private memory */
    atomic_int broken;   /* a participant died mid-frame */
    /* Whole frames and their bytes written and read, each updated under its lock: they
     * give qsize and a syscall-free bound on what the kernel buffers. */
    atomic_ullong frames_written, frames_read;
    atomic_ullong bytes_written, bytes_read;
    /* own_window: a writer waiting for room sets wwait and sleeps on the futex rseq; a
     * reader that finds wwait set bumps rseq and wakes it. */
    atomic_uint rseq;
    atomic_int wwait;
    /* A reader whose deadline ran out mid-frame parks what it has read here (header and
     * payload, `parked` bytes) in `stage`, so the next reader resumes the frame. */
    size_t parked;
    size_t stage_off; /* offset of this direction's staging area from the mapping */
    size_t max_msg;   /* the link's largest payload: a header above it is garbage */
};

/* A link's framing state: ndirs directions (1 for a queue, 2 for a pipe shape). */
struct ipcm_frame_link {
    struct ipcm_frame_dir *dirs; /* the mapping; NULL once an end took it over */
    size_t map_len;
    unsigned ndirs;
    /* The memfd behind the mapping (O_CLOEXEC), kept until an end opens so that the link
     * can be handed to an exec'd program (ipcm_frame_link_attach); -1 once closed. */
    int memfd;
};

/*
 * One end. A backend's chan_priv starts with this struct, so the ops below can take the
 * struct ipcm_chan directly. rfd and wfd may be the same descriptor (a duplex socket).
 */
struct ipcm_frame_chan {
    enum ipcm_frame_kind kind;
    int rfd, wfd;  /* -1 where the role does not receive / send */
    int rfd_block; /* pipe kind: a blocking description of rfd for waits without end, or -1 */
    int peer_gone; /* optional: polls POLLHUP once every receiver is gone (tcp), or -1 */
    struct ipcm_frame_dir *rst, *wst;
    struct ipcm_frame_dir *mapping; /* owned by this end after ipcm_frame_open */
    size_t map_len;
    struct ipcm_sigpipe_hold sigpipe; /* pipe kind: this end's hold on its thread's SIGPIPE block */
};

/* ipcm_frame_link_create - the shared state for ndirs directions, each with a staging
 * area for a max_msg frame, robust locks initialised. Returns 0, -ENOMEM or -errno. */
int ipcm_frame_link_create(struct ipcm_frame_link *fl, unsigned ndirs, size_t max_msg);
/* ipcm_frame_link_destroy - free the mapping unless an end took it. Idempotent. */
void ipcm_frame_link_destroy(struct ipcm_frame_link *fl);
/* ipcm_frame_link_attach - in an exec'd program: map the shared state of ndirs
 * directions from memfd (which fl then owns). Returns 0; -EINVAL (a memfd of the wrong
 * size); -errno. */
int ipcm_frame_link_attach(struct ipcm_frame_link *fl, unsigned ndirs, int memfd);

/*
 * Exec hand-over of a framed stream link: the backend's descriptors fdv[0..n) travel
 * followed by fl's memfd. export returns as ipcm_handover_export. attach, in the exec'd
 * program, parses the payload, checks every descriptor is open, stores them in
 * fdv[0..n) and maps the framing state for shape (ipcm_frame_link_attach). Returns 0;
 * -EINVAL (a bad payload, no memfd, n + 1 above IPCM_HANDOVER_MAX); -EBADF; -errno.
 */
int ipcm_frame_handover_export(const struct ipcm_frame_link *fl, const int *fdv, size_t n,
                               char *buf, size_t len, int *fds, size_t *nfds);
int ipcm_frame_handover_attach(struct ipcm_frame_link *fl, enum ipcm_shape shape,
                               const char *payload, int *fdv, size_t n);

/*
 * ipcm_frame_open - fill end fc (the head of c->priv) for role: rfd receives on
 * direction rdir, wfd sends on wdir (each -1 where unused), and take the mapping over
 * from fl. Never fails.
 */
void ipcm_frame_open(struct ipcm_frame_chan *fc, struct ipcm_frame_link *fl,
                     enum ipcm_frame_kind kind, int rdir, int rfd, int wdir, int wfd);

/* Pipe and FIFO sizing: this host's limits for a framed pipe (fs.pipe-max-size), and
 * F_SETPIPE_SZ on wfd to hold several max_msg frames, recorded in st. Returns 0 or
 * -errno (-EPERM: fs.pipe-user-pages-soft is used up). */
int ipcm_frame_pipe_limits(struct ipcm_limits *out);
int ipcm_frame_pipe_size(int wfd, struct ipcm_frame_dir *st, size_t max_msg);

/*
 * Stream socket sizing: the buffer (SO_SNDBUF as the kernel reports it, doubled) a
 * frame of total bytes needs, counting the kernel's per-buffer overhead conservatively.
 */
size_t ipcm_frame_sock_need(size_t total);
/* The largest payload whose frame fits a send buffer of sndbuf bytes. */
size_t ipcm_frame_sock_max_msg(size_t sndbuf);
/*
 * ipcm_frame_sock_size - set fd's SO_SNDBUF to hold several frames of max_msg (within
 * net.core.wmem_max) and record in st what the kernel gave and the largest frame it
 * writes as one buffer (atomic_max; 0 for a protocol that may split any write, as TCP
 * does). Returns 0, -EMSGSIZE (a frame cannot fit) or -errno.
 */
int ipcm_frame_sock_size(int fd, struct ipcm_frame_dir *st, size_t max_msg, bool one_buffer);

/* The ops, for the backend's vtable: c->priv starts with a struct ipcm_frame_chan. */
ssize_t ipcm_frame_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms);
ssize_t ipcm_frame_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms);
int ipcm_frame_shutdown(struct ipcm_chan *c);
void ipcm_frame_close(struct ipcm_chan *c);
ssize_t ipcm_frame_qsize(const struct ipcm_chan *c);
int ipcm_frame_pollfd(const struct ipcm_chan *c);

#endif /* IPCM_BACKENDS_FRAME_H */
