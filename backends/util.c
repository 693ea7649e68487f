/* SPDX-License-Identifier: MIT */
/*
 * util.c - helpers shared by the backends: unique names, life pipes, asymmetric fences
 * and the pipe writers' SIGPIPE block (the robust locks are in the base layer,
 * base/lock.c).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void ipcm_make_name(char *name, size_t len)
{
    uint64_t nonce = ((uint64_t)arc4random() << 32) | arc4random();
    snprintf(name, len, "/ipcmark-%ld-%016llx", (long)getpid(), (unsigned long long)nonce);
}

void ipcm_role_dirs(enum ipcm_role role, int *send_dir, int *recv_dir)
{
    *send_dir = *recv_dir = -1;
    switch (role) {
    case IPCM_ROLE_SEND: *send_dir = 0; break;
    case IPCM_ROLE_RECV: *recv_dir = 0; break;
    case IPCM_ROLE_BOTH: *send_dir = *recv_dir = 0; break;
    case IPCM_ROLE_A: *send_dir = 0, *recv_dir = 1; break;
    case IPCM_ROLE_B: *send_dir = 1, *recv_dir = 0; break;
    }
}

void ipcm_life_init(struct ipcm_life *lf)
{
    lf->senders[0] = lf->senders[1] = -1;
    lf->receivers[0] = lf->receivers[1] = -1;
}

int ipcm_life_create(struct ipcm_life *lf)
{
    ipcm_life_init(lf);
    if (pipe2(lf->senders, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(lf->receivers, O_CLOEXEC) < 0) {
        int err = -errno;
        ipcm_life_close(lf);
        return err;
    }
    return 0;
}

void ipcm_life_open(struct ipcm_life *lf, bool sends, bool receives)
{
    /* A receiver watches the senders' pipe and holds a receiver token; a process that
     * also sends holds a sender token too, so it never sees its own queue end. */
    if (!sends) {
        ipcm_close_fd(&lf->senders[1]);
        ipcm_close_fd(&lf->receivers[0]);
    }
    if (!receives) {
        ipcm_close_fd(&lf->receivers[1]);
        ipcm_close_fd(&lf->senders[0]);
    }
}

void ipcm_life_shutdown(struct ipcm_life *lf)
{
    ipcm_close_fd(&lf->senders[1]);
}

void ipcm_life_close(struct ipcm_life *lf)
{
    ipcm_close_fd(&lf->senders[0]);
    ipcm_close_fd(&lf->senders[1]);
    ipcm_close_fd(&lf->receivers[0]);
    ipcm_close_fd(&lf->receivers[1]);
}

int ipcm_life_senders_gone_fd(const struct ipcm_life *lf)
{
    return lf->senders[0];
}

int ipcm_life_receivers_gone_fd(const struct ipcm_life *lf)
{
    return lf->receivers[0];
}

bool ipcm_life_hup(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

/* ---------------------------------------------------------------- asymmetric fences */

unsigned ipcm_fork_generation;

static void fork_child(void)
{
    ipcm_fork_generation++;
}

static int membarrier(int cmd)
{
    return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

static pthread_once_t fence_once = PTHREAD_ONCE_INIT;
static bool fence_ok;

static void fence_probe(void)
{
    int q = membarrier(MEMBARRIER_CMD_QUERY);
    fence_ok = q > 0 && (q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
               (q & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED);
    pthread_atfork(NULL, NULL, fork_child);
}

/* True when this kernel offers the heavy fence (probed once per process). */
static bool fence_available(void)
{
    pthread_once(&fence_once, fence_probe);
    return fence_ok;
}

int ipcm_fence_register(void)
{
    if (!fence_available())
        return -ENOSYS;
    /* Registration is a flag on the process's mm; repeating it costs one quick call. */
    return membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) < 0 ? -errno : 0;
}

void ipcm_fence_heavy(void)
{
    /* It fails only without registration; the plain command (an RCU grace period,
     * milliseconds) covers every process, registered or not. */
    if (membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) < 0)
        membarrier(MEMBARRIER_CMD_GLOBAL);
}

/* ---------------------------------------------------------------- SIGPIPE for pipe writers */

/*
 * The calling thread's SIGPIPE state. held: SIGPIPE is blocked in this thread and a
 * pipe write may rely on it; ours: we blocked it (it was unblocked before), so we
 * consume what our own writes raise and unblock when the last end goes; ends: the send
 * ends this thread armed that are still open. Reset in a forked child (below).
 */
static _Thread_local struct {
    unsigned ends;
    bool held, ours;
} sp_thread;
/* Bumped in every forked child: ends armed before the fork are not the child's count. */
static unsigned sp_gen;
static pthread_once_t sp_once = PTHREAD_ONCE_INIT;

static void sigpipe_set(sigset_t *s)
{
    sigemptyset(s);
    sigaddset(s, SIGPIPE);
}

/* In the child after fork (only the forking thread lives on): give it back the mask it
 * had before we blocked SIGPIPE, so a child that execs a program does not pass the
 * block on. Pending signals are not inherited, so nothing of ours is lost. Ends the
 * child goes on using arm again at their next send. */
static void sigpipe_fork_child(void)
{
    if (sp_thread.ours) {
        sigset_t s;
        sigpipe_set(&s);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    }
    sp_thread.ends = 0;
    sp_thread.held = sp_thread.ours = false;
    sp_gen++;
}

static void sigpipe_once(void)
{
    pthread_atfork(NULL, NULL, sigpipe_fork_child);
}

void ipcm_sigpipe_hold(struct ipcm_sigpipe_hold *h)
{
    if (sp_thread.held && h->thread == &sp_thread && h->gen == sp_gen)
        return; /* the fast path: no system call */
    pthread_once(&sp_once, sigpipe_once);
    if (!sp_thread.held) {
        sigset_t s, old;
        sigpipe_set(&s);
        pthread_sigmask(SIG_BLOCK, &s, &old);
        sp_thread.held = true;
        sp_thread.ours = !sigismember(&old, SIGPIPE);
    }
    /* An end another thread armed (or that this thread armed before a fork) counts
     * here now; its old thread keeps SIGPIPE blocked until that thread ends. */
    sp_thread.ends++;
    h->thread = &sp_thread;
    h->gen = sp_gen;
}

void ipcm_sigpipe_consume(void)
{
    /* Also where the thread had SIGPIPE blocked already (by its caller, or inherited
     * from a thread that held our block when it was created): the signal is about our
     * own write, which reports -EPIPE, and must not linger there. */
    int saved = errno;
    sigset_t s;
    siginfo_t info;
    struct timespec zero = {0, 0};
    sigpipe_set(&s);
    /* The kernel raised SIGPIPE at this thread (SI_USER from our own pid), which is
     * dequeued before one sent to the process. A SIGPIPE already pending for this
     * thread (raise, pthread_kill) absorbed ours, as a standard signal does not queue
     * twice: where its siginfo tells it apart it is put back as it came, for delivery
     * when the mask is restored (internal.h: where it cannot be). */
    if (sigtimedwait(&s, &info, &zero) == SIGPIPE &&
        !(info.si_code == SI_USER && info.si_pid == getpid()))
        syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), SIGPIPE, &info);
    errno = saved;
}

void ipcm_sigpipe_release(struct ipcm_sigpipe_hold *h)
{
    if (h->thread != &sp_thread || h->gen != sp_gen) {
        h->thread = NULL; /* never armed, or armed by another thread or process */
        return;
    }
    h->thread = NULL;
    if (sp_thread.ends > 0 && --sp_thread.ends == 0 && sp_thread.held) {
        if (sp_thread.ours) {
            /* Whatever is still pending is not ours (ours is consumed at once): it is
             * delivered now, as it would have been without our block. */
            sigset_t s;
            sigpipe_set(&s);
            pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        }
        sp_thread.held = sp_thread.ours = false;
    }
}

/* ---------------------------------------------------------------- exec hand-over */

int ipcm_handover_put(char *buf, size_t len, const int *v, size_t n)
{
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(buf + off, len - off, "%s%d", i ? "," : "", v[i]);
        if (k < 0 || (size_t)k >= len - off)
            return -ENOSPC;
        off += (size_t)k;
    }
    if (n == 0 && len)
        buf[0] = '\0';
    return 0;
}

int ipcm_handover_get(const char *payload, int *v, size_t n)
{
    const char *p = payload;
    for (size_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < -1 || x > INT_MAX)
            return -EINVAL;
        v[i] = (int)x;
        if (*end != (i + 1 < n ? ',' : '\0'))
            return -EINVAL;
        p = end + 1;
    }
    return 0;
}

int ipcm_handover_fds(const int *v, size_t n, int *fds, size_t *nfds, size_t room, bool check_open)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0)
            continue;
        if (check_open && fcntl(v[i], F_GETFD) < 0)
            return -EBADF;
        if (*nfds >= room)
            return -ENOSPC;
        fds[(*nfds)++] = v[i];
    }
    return 0;
}

int ipcm_handover_export(const int *v, size_t n, char *buf, size_t len, int *fds, size_t *nfds)
{
    size_t room = *nfds;
    *nfds = 0;
    int r = ipcm_handover_fds(v, n, fds, nfds, room, false);
    return r < 0 ? r : ipcm_handover_put(buf, len, v, n);
}

int ipcm_handover_import(const char *payload, int *v, size_t n)
{
    int fds[IPCM_HANDOVER_MAX]; /* only the open-descriptor check is wanted here */
    size_t nfds = 0;
    if (n > IPCM_HANDOVER_MAX)
        return -EINVAL;
    int r = ipcm_handover_get(payload, v, n);
    return r < 0 ? r : ipcm_handover_fds(v, n, fds, &nfds, n, true);
}

void ipcm_life_handover_vals(const struct ipcm_life *lf, int *w)
{
    w[0] = lf->senders[0];
    w[1] = lf->senders[1];
    w[2] = lf->receivers[0];
    w[3] = lf->receivers[1];
}

void ipcm_life_handover_set(struct ipcm_life *lf, const int *w)
{
    lf->senders[0] = w[0];
    lf->senders[1] = w[1];
    lf->receivers[0] = w[2];
    lf->receivers[1] = w[3];
}
