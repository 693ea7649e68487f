/* SPDX-License-Identifier: MIT */
/*
 * base.h - the base layer under the backends and the harness alike (SQLite's os.c is
 * the model): time and deadlines, descriptors and waits, shared mappings, sysctl and
 * rlimit reads, CPU placement. One place and one name for each; nothing here knows a
 * backend, a channel or a benchmark. Functions that can fail return a negative errno.
 */
#ifndef IPCM_BASE_BASE_H
#define IPCM_BASE_BASE_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ipcmark_export.h"

/* ---------------------------------------------------------------- time (clock.c) */

#define IPCM_NS_PER_US 1000ull
#define IPCM_NS_PER_MS 1000000ull
#define IPCM_NS_PER_S 1000000000ull

/* ipcm_now_ns - CLOCK_MONOTONIC in nanoseconds (part of the public API). */
IPCM_API uint64_t ipcm_now_ns(void);
/* ipcm_ms_to_ns - a non-negative millisecond count in ns (negative counts give 0). */
uint64_t ipcm_ms_to_ns(long long ms);
/* ipcm_ns_to_ms_ceil - ns rounded up to whole ms, clamped to INT_MAX (poll(2) form). */
int ipcm_ns_to_ms_ceil(uint64_t ns);
/* ipcm_ns_since - nanoseconds from t0_ns (an ipcm_now_ns value) to now. */
uint64_t ipcm_ns_since(uint64_t t0_ns);
/* ipcm_ms_since - whole milliseconds from t0_ns to now. */
int ipcm_ms_since(uint64_t t0_ns);
/* ipcm_ns_to_s - nanoseconds as seconds. */
double ipcm_ns_to_s(uint64_t ns);
/* ipcm_sleep_ns / ipcm_sleep_ms - sleep the whole time, resuming after signals. */
void ipcm_sleep_ns(uint64_t ns);
void ipcm_sleep_ms(int ms);

/*
 * A deadline computed once from a poll(2)-style timeout (< 0 forever, 0 try once,
 * > 0 milliseconds), so retries after EINTR or a spurious wake-up never restart the
 * full timeout. The clock is read only when timeout_ms > 0.
 */
struct ipcm_deadline {
    int timeout_ms; /* as given */
    uint64_t at_ns; /* absolute CLOCK_MONOTONIC, when timeout_ms > 0 */
};
void ipcm_deadline_init(struct ipcm_deadline *d, int timeout_ms);
/* Milliseconds left in poll(2) form: -1 forever, 0 expired or try-once; rounded up. */
int ipcm_deadline_left_ms(const struct ipcm_deadline *d);
/* True once a finite deadline has passed (never for timeout_ms < 0). */
bool ipcm_deadline_expired(const struct ipcm_deadline *d);
/* The error for a wait that ran out: -EAGAIN for try-once, else -ETIMEDOUT. */
int ipcm_deadline_err(const struct ipcm_deadline *d);

/* ---------------------------------------------------------------- descriptors (fd.c) */

/* Close *fd if it is open and mark it closed (-1). Preserves errno. */
void ipcm_close_fd(int *fd);
/*
 * ipcm_wait_fds - poll fds for events until one is ready or the deadline passes,
 * retrying EINTR against the deadline. Returns: > 0 ready; -EAGAIN/-ETIMEDOUT; -errno.
 */
int ipcm_wait_fds(struct pollfd *fds, unsigned n, const struct ipcm_deadline *d);
/* ipcm_wait_readable - ipcm_wait_fds for one fd and POLLIN. Returns 0 or as above. */
int ipcm_wait_readable(int fd, const struct ipcm_deadline *d);
/* ipcm_pidfd_open - a pollable O_CLOEXEC exit handle for pid, or -1 where the kernel
 * has none (pidfd_open(2), Linux 5.3). */
int ipcm_pidfd_open(pid_t pid);
/* ipcm_fd_count - descriptors open in this process, or -1 if /proc is unreadable. */
int ipcm_fd_count(void);

/* ---------------------------------------------------------------- memory (mem.c) */

/* A MAP_SHARED|MAP_ANONYMOUS read-write mapping of len bytes that children inherit
 * through fork; NULL on failure (errno set). Free it with ipcm_shared_free. */
void *ipcm_shared_alloc(size_t len);
/* Accepts NULL. */
void ipcm_shared_free(void *p, size_t len);

/* ---------------------------------------------------------------- host (sys.c) */

/* Read an unsigned integer from a /proc/sys file. Returns 0 or -errno (-EINVAL: not
 * a number). */
int ipcm_read_sysctl(const char *path, unsigned long *out);
/* ipcm_sysctl_long - the value of a /proc/sys file, or -1 where it is unreadable. */
long ipcm_sysctl_long(const char *path);
/* ipcm_rlimit_cur - the soft limit of resource (RLIMIT_*). Returns 0 or -errno. */
int ipcm_rlimit_cur(int resource, rlim_t *out);

/* ---------------------------------------------------------------- reasons (reason.c) */

/*
 * Why the last call of this thread failed, in words the errno cannot carry: which limit
 * of the environment ran out, its value and the command that raises it. One line per
 * thread, kept with the (negative) errno it explains, so a reader asking about another
 * error gets nothing. Only an errno that a known limit explains is recorded (EMFILE,
 * ENFILE, ENOSPC of mq_open, EAGAIN of fork; ENOMEM, EFBIG where such a limit is set);
 * any other error records nothing.
 */
/* ipcm_reason_clear - forget the recorded reason (at the start of a call that sets one). */
void ipcm_reason_clear(void);
/* ipcm_reason_set - record a reason for err (printf format). Returns err. */
int ipcm_reason_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ipcm_reason_get - the reason recorded for err since the last clear, or NULL. */
const char *ipcm_reason_get(int err);
/*
 * ipcm_reason_limit - explain err from op ("pipe: link create") when it is a limit that
 * is known here: EMFILE (RLIMIT_NOFILE; a backend explains mq_open's first), ENFILE
 * (fs.file-max), ENOMEM (RLIMIT_AS or RLIMIT_DATA when one is set), EFBIG
 * (RLIMIT_FSIZE). Keeps a reason already recorded for err (the caller's own is more
 * precise). Returns err.
 */
int ipcm_reason_limit(int err, const char *op);
/* ipcm_reason_fork - explain a failed fork(2) (EAGAIN: RLIMIT_NPROC, the cgroup's
 * pids.max or kernel.threads-max; ENOMEM as ipcm_reason_limit). Returns err. */
int ipcm_reason_fork(int err);

/* ---------------------------------------------------------------- locks (lock.c) */

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

/* ---------------------------------------------------------------- CPUs (cpu.c) */

/* ipcm_cpus_online - CPUs online (at least 1). */
long ipcm_cpus_online(void);
/* ipcm_pin_self - pin the calling thread to cpu (no-op for cpu < 0). Returns 0 or -errno. */
int ipcm_pin_self(int cpu);

/* One pause in a spin loop: lets the sibling hyperthread run and saves power. */
#if defined(__x86_64__) || defined(__i386__)
#define ipcm_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define ipcm_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define ipcm_cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

/* ---------------------------------------------------------------- System V ids (sysv.c) */

/*
 * The System V journal. A System V object (msgget, semget, shmget) has no attach count:
 * it lives until someone calls IPC_RMID, and a process killed before that leaks it for
 * the life of the host. So the process that runs cases (the check runner, the bench
 * driver, the CLI) calls ipcm_sysv_journal_init() before it forks anything: a table in
 * a MAP_SHARED mapping that every process forked below it inherits. A backend records
 * each id it creates (ipcm_sysv_record) and removes it through ipcm_sysv_remove, which
 * drops the entry, so the sweep never touches an id that was reused. The runner calls
 * ipcm_sysv_sweep() after each case, when every process of the case is dead, to remove what a
 * killed process left. Init also starts a guard: a child in a session of its own (a kill of
 * ipcmark's process group does not reach it) that sweeps once every process of the
 * tree is gone, SIGKILL included; and it registers an exit handler with which the
 * initiating process sweeps, stops and reaps the guard when it exits normally. Without
 * init (a library user with no runner) record is a no-op and nothing is swept: a kill
 * of every holder leaves the object to ipcrm(1).
 */
enum ipcm_sysv_kind {
    IPCM_SYSV_MSG = 1, /* msgget(2) queue */
    IPCM_SYSV_SEM = 2, /* semget(2) set */
    IPCM_SYSV_SHM = 3, /* shmget(2) segment */
};
/* How many ids the journal holds at once (IPCMNI, the kernel's default id ceiling). */
#define IPCM_SYSV_JOURNAL_MAX 32768u
/*
 * ipcm_sysv_journal_init - map the journal, start its guard (one child process) and
 * register the exit handler; idempotent, and a child inherits its parent's journal.
 * Call it before forking the processes it covers and before counting descriptors or
 * children (it keeps one descriptor open and one child alive until exit). A guard that
 * cannot start (fork refused) leaves the journal working for ipcm_sysv_sweep.
 * Returns 0 or -ENOMEM.
 */
int ipcm_sysv_journal_init(void);
/* True once this process has (or inherited) a journal. */
bool ipcm_sysv_journal_active(void);
/*
 * ipcm_sysv_record - note id (of kind) as ours until ipcm_sysv_remove. Returns 0 (also
 * when there is no journal), -EINVAL for a bad kind or id, -ENOSPC when
 * IPCM_SYSV_JOURNAL_MAX ids are live: the caller must then remove the object itself.
 */
int ipcm_sysv_record(enum ipcm_sysv_kind kind, int id);
/*
 * ipcm_sysv_remove - IPC_RMID id, then drop it from the journal (in that order, so a
 * process killed in between leaves an entry to sweep, never an unknown object).
 * Returns 0 (also when it was already gone: two last holders racing) or -EPERM.
 */
int ipcm_sysv_remove(enum ipcm_sysv_kind kind, int id);
/*
 * ipcm_sysv_sweep - IPC_RMID every id still in the journal and empty it. Only for the
 * runner, once no process that uses those ids is alive. Returns how many it removed.
 */
unsigned ipcm_sysv_sweep(void);

#endif /* IPCM_BASE_BASE_H */
