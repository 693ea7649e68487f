/* SPDX-License-Identifier: MIT */
/*
 * internal.h - helpers that backends share on top of the base layer: unique names, life
 * pipes, asymmetric fences, the pipe writers' SIGPIPE block. Included by backends and tests.
 */
#ifndef IPCM_BACKENDS_INTERNAL_H
#define IPCM_BACKENDS_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base.h"
#include "ipcmark_backend.h"

/* Fill name with "/ipcmark-<pid>-<16 hex from arc4random>". */
void ipcm_make_name(char *name, size_t len);

/*
 * The directions a role uses on a link with one kernel object per direction (a queue
 * has direction 0; a pipe carries A to B on 0 and B to A on 1): *send_dir and
 * *recv_dir, each -1 where the role does not send or does not receive.
 */
void ipcm_role_dirs(enum ipcm_role role, int *send_dir, int *recv_dir);

/*
 * Life pipes: end-of-stream and peer death for mechanisms that have neither (mqueue,
 * shm), and peer death while waiting. Every sender holds the write end of the
 * "senders" pipe, every receiver the write end of the "receivers" pipe; nobody ever
 * writes. The kernel closes a dead process's fds, so when the last sender closes or
 * dies the senders pipe's read end polls POLLHUP: that is end-of-stream, and it cannot
 * be fooled by pid reuse.
 */
struct ipcm_life {
    int senders[2];   /* [0] read end, watched by receivers; [1] held by senders */
    int receivers[2]; /* [0] read end, watched by senders; [1] held by receivers */
};
void ipcm_life_init(struct ipcm_life *lf); /* all -1 */
int ipcm_life_create(struct ipcm_life *lf);
/* Keep only what a process that sends and/or receives must hold. */
void ipcm_life_open(struct ipcm_life *lf, bool sends, bool receives);
/* This end stops sending: drop its "sender" token. */
void ipcm_life_shutdown(struct ipcm_life *lf);
void ipcm_life_close(struct ipcm_life *lf);
/* The fd whose POLLHUP means "every sender is gone" (for a receiver), or -1. */
int ipcm_life_senders_gone_fd(const struct ipcm_life *lf);
/* The fd whose POLLHUP means "every receiver is gone" (for a sender), or -1. */
int ipcm_life_receivers_gone_fd(const struct ipcm_life *lf);
/* True if fd (a life read end) reports hang-up right now. */
bool ipcm_life_hup(int fd);

/*
 * Asymmetric fences (membarrier(2), MEMBARRIER_CMD_GLOBAL_EXPEDITED). A store-load
 * handshake (Dekker: "I store X then load Y, you store Y then load X, one of us sees
 * the other") normally needs a full fence on both sides. When one side runs often and
 * the other rarely, the frequent side may use ipcm_fence_light() (a compiler barrier,
 * free) as long as the rare side uses ipcm_fence_heavy(), which makes every CPU that is
 * running a registered process execute a full barrier (an IPI, about a microsecond).
 * Both sides must live in processes that called ipcm_fence_register() successfully.
 */
/* Register this process (idempotent). Returns 0, or -errno (-ENOSYS: no membarrier). */
int ipcm_fence_register(void);
void ipcm_fence_heavy(void);
#define ipcm_fence_light() atomic_signal_fence(memory_order_seq_cst)

/*
 * Exec hand-over payloads (handover_export / handover_attach): a comma list of n
 * integers, descriptors (-1 where unused) or kernel ids. put returns 0 or -ENOSPC; get
 * parses exactly n values (0, or -EINVAL). ipcm_handover_fds appends the values >= 0 of
 * v[0..n) to fds (room for *nfds, the count set on return; -ENOSPC) after checking each
 * is an open descriptor (-EBADF) when check_open is set.
 */
int ipcm_handover_put(char *buf, size_t len, const int *v, size_t n);
int ipcm_handover_get(const char *payload, int *v, size_t n);
int ipcm_handover_fds(const int *v, size_t n, int *fds, size_t *nfds, size_t room, bool check_open);
/* The two halves every backend's hand-over shares. ipcm_handover_export fills fds
 * (room for *nfds, the count set on return) with the descriptors among v[0..n) and buf
 * with the payload: 0, -ENOSPC. ipcm_handover_import parses n values into v and checks
 * that each descriptor among them is open in this process: 0, -EINVAL (a bad payload,
 * or n above IPCM_HANDOVER_MAX), -EBADF. */
#define IPCM_HANDOVER_MAX 16
int ipcm_handover_export(const int *v, size_t n, char *buf, size_t len, int *fds, size_t *nfds);
int ipcm_handover_import(const char *payload, int *v, size_t n);
/* A life's four descriptors as hand-over values w[0..4), and back. */
void ipcm_life_handover_vals(const struct ipcm_life *lf, int *w);
void ipcm_life_handover_set(struct ipcm_life *lf, const int *w);

/* Bumped in every child after fork: state private to one process (a bias) compares it. */
extern unsigned ipcm_fork_generation;

/*
 * SIGPIPE for pipe writers, without a process-wide change of its disposition (RULINGS
 * 14) and without a mask pair around every write. A write(2) to a pipe nobody reads
 * raises SIGPIPE at the writing thread; blocked, it stays pending and the write returns
 * EPIPE. So the first send on a pipe end blocks SIGPIPE in the calling thread (one
 * pthread_sigmask) and it stays blocked while that thread has such an end open; every
 * later send costs no system call. The contract this makes:
 * - ipcm_sigpipe_hold(h) before each pipe write on the end that owns h (h zeroed at
 *   open); ipcm_sigpipe_consume() after a write failed with EPIPE: it takes the SIGPIPE
 *   the kernel raised (SI_USER from our own pid, at this thread); ipcm_sigpipe_release(h)
 *   when the end's write side closes. When the thread's last armed end is released, the
 *   mask it had before is restored, and a SIGPIPE raised at it meanwhile is delivered.
 * - A thread that had SIGPIPE blocked already keeps its mask (and every SIGPIPE
 *   pending there that our own write did not raise).
 * - Masks are per thread, so the state is thread-local. An end used by several threads
 *   arms each of them; only the thread that armed it last gets its mask back when the
 *   end closes, the others keep SIGPIPE blocked until they end.
 * - fork: the child gets its pre-block mask back at once (so a program it execs sees
 *   SIGPIPE as before); ends it keeps using arm again at their next send. A program
 *   started with posix_spawn or vfork from an armed thread inherits the block unless
 *   the spawner sets the mask (POSIX_SPAWN_SETSIGMASK).
 * - A SIGPIPE raised while the block is held waits for the end to close. One sent to
 *   the process (kill) is never taken: the write's own is at the thread and is taken
 *   first. One raised at the thread that a write's SIGPIPE then merged into is put
 *   back when its siginfo tells it apart (SI_TKILL from raise/pthread_kill, or another
 *   sender's pid); on a kernel that reports a tgkill as SI_USER it cannot be, and is
 *   taken for the write's own.
 * - Code that unblocks SIGPIPE in a thread that holds an armed end takes the block
 *   away: a write to a dead reader then kills the process, as it would without ipcmark.
 */
struct ipcm_sigpipe_hold {
    const void *thread; /* the thread-local state of the thread that armed it, or NULL */
    unsigned gen;       /* the fork generation it was armed in */
};
void ipcm_sigpipe_hold(struct ipcm_sigpipe_hold *h);
void ipcm_sigpipe_consume(void);
void ipcm_sigpipe_release(struct ipcm_sigpipe_hold *h);

#endif /* IPCM_BACKENDS_INTERNAL_H */
