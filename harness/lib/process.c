/* SPDX-License-Identifier: MIT */
/*
 * process.c - worker processes (fork, join with a deadline, kill) and the start gate.
 * A dead worker is an exit status to report, never a hang: every wait has a deadline
 * and workers die with their parent.
 */
#include "ipcmark.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Off by default: a library that rewrote its host program's argv (setproctitle) or comm
 * unasked would surprise it (pgrep, pkill match the name). */
static ipcm_title_fn title_hook;

void ipcm_process_set_title(ipcm_title_fn fn)
{
    title_hook = fn;
}

int ipcm_process_spawn(struct ipcm_process *p, const char *name, ipcm_worker_fn fn, const void *arg,
                       size_t arg_len)
{
    pid_t parent = getpid();

    memset(p, 0, sizeof(*p));
    p->pidfd = -1;
    snprintf(p->name, sizeof(p->name), "%s", name ? name : "worker");
    fflush(NULL); /* so buffered output is not written twice */
    ipcm_reason_clear();
    pid_t pid = fork();
    if (pid < 0)
        return ipcm_reason_fork(-errno); /* which limit: RLIMIT_NPROC, pids.max, ... */
    if (pid == 0) {
        /* Die with the parent; if it died before prctl took effect, go now. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
        if (title_hook)
            title_hook(p->name);
        int code = fn(arg, arg_len);
        fflush(NULL);
        _exit(code & 0xff);
    }
    p->pid = pid;
    p->pidfd = ipcm_pidfd_open(pid);
    return 0;
}

static void fill_exit(int status, struct ipcm_exit *ex)
{
    if (!ex)
        return;
    ex->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ex->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static int reap(struct ipcm_process *p, int flags, struct ipcm_exit *ex)
{
    int status;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, flags);
        if (r == p->pid) {
            fill_exit(status, ex);
            p->pid = 0;
            ipcm_close_fd(&p->pidfd);
            return 0;
        }
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

int ipcm_process_join(struct ipcm_process *p, int timeout_ms, struct ipcm_exit *ex)
{
    if (p->pid <= 0)
        return -ECHILD;
    if (timeout_ms < 0)
        return reap(p, 0, ex);
    struct ipcm_deadline d;
    ipcm_deadline_init(&d, timeout_ms);
    for (;;) {
        int r = reap(p, WNOHANG, ex);
        if (r != -ETIMEDOUT)
            return r;
        if (ipcm_deadline_expired(&d))
            return -ETIMEDOUT;
        /* The pidfd polls readable when the process exits: no sleep-polling. */
        if (p->pidfd >= 0)
            ipcm_wait_readable(p->pidfd, &d);
        else
            ipcm_sleep_ms(1);
    }
}

int ipcm_process_kill(struct ipcm_process *p, int sig)
{
    if (p->pid <= 0)
        return -ESRCH;
    return kill(p->pid, sig) < 0 ? -errno : 0;
}

int ipcm_process_stop(struct ipcm_process *p, int grace_ms, struct ipcm_exit *ex)
{
    if (p->pid <= 0)
        return -ECHILD;
    int r = ipcm_process_join(p, grace_ms, ex);
    if (r != -ETIMEDOUT)
        return r;
    kill(p->pid, SIGKILL);
    return reap(p, 0, ex);
}

bool ipcm_exit_ok(const struct ipcm_exit *ex)
{
    return ex->code == 0 && ex->signal == 0;
}

const char *ipcm_exit_describe(const struct ipcm_exit *ex, char *buf, size_t len)
{
    if (ex->signal)
        snprintf(buf, len, "killed by SIG%s",
                 sigabbrev_np(ex->signal) ? sigabbrev_np(ex->signal) : "?");
    else
        snprintf(buf, len, "exit %d", ex->code);
    return buf;
}

int ipcm_gate_create(struct ipcm_gate *g)
{
    g->ready[0] = g->ready[1] = g->go[0] = g->go[1] = -1;
    if (pipe2(g->ready, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(g->go, O_CLOEXEC) < 0) {
        int err = -errno;
        ipcm_gate_destroy(g);
        return err;
    }
    return 0;
}

/* The gate's contract has one timeout error: a try-once wait (timeout 0) that finds
 * nothing ready is -ETIMEDOUT here too, not the deadline's -EAGAIN. */
static int gate_wait(int fd, const struct ipcm_deadline *d)
{
    int r = ipcm_wait_readable(fd, d);
    return r == -EAGAIN ? -ETIMEDOUT : r;
}

int ipcm_gate_worker(struct ipcm_gate *g, int timeout_ms)
{
    char byte = 'r';
    struct ipcm_deadline d;

    ipcm_deadline_init(&d, timeout_ms);
    ipcm_close_fd(&g->ready[0]);
    ipcm_close_fd(&g->go[1]);
    while (write(g->ready[1], &byte, 1) < 0)
        if (errno != EINTR)
            return -EPIPE;
    ipcm_close_fd(&g->ready[1]);
    /* "Go" is the parent closing the go pipe: one close releases every worker. */
    int r = gate_wait(g->go[0], &d);
    if (r < 0)
        return r;
    ssize_t n;
    while ((n = read(g->go[0], &byte, 1)) < 0 && errno == EINTR)
        ;
    ipcm_close_fd(&g->go[0]);
    return n == 0 ? 0 : -EPIPE;
}

int ipcm_gate_open(struct ipcm_gate *g, unsigned n, int timeout_ms)
{
    struct ipcm_deadline d;
    unsigned got = 0;

    ipcm_deadline_init(&d, timeout_ms);
    /* Drop our copy of the ready write end, so a worker dying before ready is EOF. */
    ipcm_close_fd(&g->ready[1]);
    ipcm_close_fd(&g->go[0]);
    while (got < n) {
        int r = gate_wait(g->ready[0], &d);
        if (r < 0)
            return r;
        char buf[64];
        size_t want = n - got < sizeof(buf) ? n - got : sizeof(buf);
        ssize_t k = read(g->ready[0], buf, want);
        if (k == 0)
            return -EPIPE;
        if (k < 0 && errno != EINTR)
            return -errno;
        if (k > 0)
            got += (unsigned)k;
    }
    ipcm_close_fd(&g->go[1]);
    return 0;
}

void ipcm_gate_destroy(struct ipcm_gate *g)
{
    ipcm_close_fd(&g->ready[0]);
    ipcm_close_fd(&g->ready[1]);
    ipcm_close_fd(&g->go[0]);
    ipcm_close_fd(&g->go[1]);
}
