/* SPDX-License-Identifier: MIT */
/*
 * ipcmark_types.h - the vocabulary the library and the backends share: channel shapes,
 * roles, capability bits, host limits and channel configuration. It includes nothing of
 * the library or of the harness; both ipcmark.h and ipcmark_backend.h include it.
 */
#ifndef IPCM_BACKENDS_IPCMARK_TYPES_H
#define IPCM_BACKENDS_IPCMARK_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcmark_export.h"

#ifdef __cplusplus
extern "C" {
#endif

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
/* ipcm_chan_qsize() counts queued messages exactly at rest. pipe, mqueue. */
#define IPCM_CAP_QSIZE (1u << 6)
/* ipcm_chan_send_fd()/ipcm_chan_recv_fd() pass open descriptors (SCM_RIGHTS), as
 * Python's multiprocessing.reduction.send_handle does. socketpair. */
#define IPCM_CAP_FDPASS (1u << 7)
/* The channel can join processes on different hosts: an address names it, not a kernel
 * object only this host has (reserved by RULINGS 6 for serve and --remote; no check or
 * bench branches on it yet). tcp. */
#define IPCM_CAP_CROSS_HOST (1u << 8)
/* A link can be handed to a program started with execve(2) (ipcm_link_export_token,
 * ipcm_chan_attach_token): its kernel objects are reachable through descriptors or ids
 * that survive exec. pipe, fifo, socketpair, unix, tcp, mqueue, sysvmq. */
#define IPCM_CAP_EXEC (1u << 9)
/* Messages carry a priority: ipcm_chan_send_prio()/ipcm_chan_recv_prio(); a receiver
 * gets the highest first, FIFO within one. mqueue (mq_timedsend's msg_prio). */
#define IPCM_CAP_PRIORITY (1u << 10)
/* ipcm_chan_ready() says without a system call whether recv would block, and arms the
 * pollfd only around a real sleep in poll(2), so a ring's streaming path makes no system
 * call for a poller that is awake (the pool's collector). shm. */
#define IPCM_CAP_READY (1u << 11)

/* What ipcm_chan_ready() does (IPCM_CAP_READY). */
enum ipcm_ready_how {
    IPCM_READY_PEEK = 0,   /* look only: 1 if recv would not block now, else 0 */
    IPCM_READY_ARM = 1,    /* about to sleep in poll(2) on the pollfd: 1 (do not sleep) or 0 */
    IPCM_READY_DISARM = 2, /* awake again: later sends need not signal the pollfd */
};
/* Messages pass through a library's own threads and buffers, not the kernel's alone
 * (plugins over ZeroMQ, nng): send returns once the library holds a message, so one sent
 * just before its sender is SIGKILLed, or held for a receiver that is killed, can be
 * lost; the library's depth bounds are its own (high-water marks), not ipcm_config's
 * depth; an end used before fork cannot always be used by the child. The cases these
 * affect still run and report what they observed as n/a (RULINGS 1). Bit 12, clear of
 * the bits other work appends. zmq, nng. */
#define IPCM_CAP_LIB_BUFFERED (1u << 12)

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

/* What a channel is created with; zero fields take the backend's defaults. */
struct ipcm_config {
    size_t max_msg; /* largest message in bytes */
    unsigned depth; /* queue capacity in messages (a hint for byte-stream backends) */
};

#ifdef __cplusplus
}
#endif

#endif /* IPCM_BACKENDS_IPCMARK_TYPES_H */
