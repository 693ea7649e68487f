/* SPDX-License-Identifier: MIT */
/*
 * internal.h - helpers that backends share: deadlines, fd waits, life pipes, sysctls,
 * process-shared robust locks. Included by backends and tests only.
 */
#ifndef IPCM_BACKENDS_INTERNAL_H
#define IPCM_BACKENDS_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "backend.h"

/*
 * A deadline computed once from a poll(2)-style timeout, so retries after EINTR or a
 * spurious wake-up never restart the full timeout. The clock is read only when
 * timeout_ms > 0.
 */
struct ipcm_deadline {
    int timeout_ms; /* as given */
    uint64_t at_ns; /* absolute CLOCK_MONOTONIC, when timeout_ms > 0 */
};
void ipcm_deadline_init(struct ipcm_deadline *d, int timeout_ms);
/* Milliseconds left in poll(2) form: -1 forever, 0 expired or try-once; rounded up. */
int ipcm_deadline_left_ms(const struct ipcm_deadline *d);
/* The error for a wait that ran out: -EAGAIN for try-once, else -ETIMEDOUT. */
int ipcm_deadline_err(const struct ipcm_deadline *d);

/*
 * ipcm_wait_fds - poll fds for events until one is ready or the deadline passes,
 * retrying EINTR against the deadline. Returns: > 0 ready; -EAGAIN/-ETIMEDOUT.
 */
int ipcm_wait_fds(struct pollfd *fds, unsigned n, const struct ipcm_deadline *d);

/* Close *fd if it is open and mark it closed (-1). Preserves errno. */
void ipcm_close_fd(int *fd);

/* Read an unsigned integer from a /proc/sys file. Returns 0 or -errno. */
int ipcm_read_sysctl(const char *path, unsigned long *out);

/* Fill name with "/ipcmark-<pid>-<16 hex from arc4random>". */
void ipcm_make_name(char *name, size_t len);

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
 * A process-shared robust mutex. Lock returns 0, -EOWNERDEAD (the previous owner died
 * holding it: the caller owns it now and must decide whether the protected state is
 * whole), -ETIMEDOUT/-EAGAIN, or -ENOTRECOVERABLE.
 */
int ipcm_robust_init(pthread_mutex_t *m);
int ipcm_robust_lock(pthread_mutex_t *m, const struct ipcm_deadline *d);
/* Mark a mutex that returned -EOWNERDEAD consistent again. */
void ipcm_robust_consistent(pthread_mutex_t *m);
void ipcm_robust_unlock(pthread_mutex_t *m);

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

/* One pause in a spin loop: lets the sibling hyperthread run and saves power. */
#if defined(__x86_64__) || defined(__i386__)
#define ipcm_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define ipcm_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define ipcm_cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

/* Bumped in every child after fork: state private to one process (a bias) compares it. */
extern unsigned ipcm_fork_generation;

/* A MAP_SHARED|MAP_ANONYMOUS mapping of len bytes, created before fork. */
void *ipcm_shared_alloc(size_t len);
void ipcm_shared_free(void *p, size_t len);

#endif /* IPCM_BACKENDS_INTERNAL_H */
