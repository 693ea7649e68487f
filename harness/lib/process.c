/* SPDX-License-Identifier: MIT */
/*
 * process.c - worker processes (fork, join with a deadline, kill) and the start gate.
 * A dead worker is an exit status to report, never a hang: every wait has a deadline
 * and workers die with their parent.
 */
#include "ipcmark.h"

#include "base.h"
#include "handover.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

/* ---------------------------------------------------------------- exec start */

extern char **environ;

/* What the exec'd child needs, all built before fork: after fork a multithreaded
 * parent's child may only make async-signal-safe calls (no malloc, no locks). */
struct exec_plan {
    char *link_env; /* "IPCMARK_LINK=tok tok ..." */
    char **envp;    /* the environment with link_env in it */
    int keep[IPCM_HANDOVER_MAX_FDS * 8];
    size_t nkeep;
};

static void exec_plan_free(struct exec_plan *x)
{
    free(x->link_env);
    free(x->envp);
}

static int exec_plan_make(struct exec_plan *x, char *const envp[], const struct ipcm_handover *ends,
                          size_t n_ends)
{
    static const char var[] = IPCM_LINK_ENV "=";
    size_t n_env = 0;

    memset(x, 0, sizeof(*x));
    if (n_ends > sizeof(x->keep) / sizeof(x->keep[0]) / IPCM_HANDOVER_MAX_FDS)
        return -EINVAL;
    x->link_env = malloc(sizeof(var) + n_ends * IPCM_TOKEN_MAX);
    if (!x->link_env)
        return -ENOMEM;
    char *w = stpcpy(x->link_env, var);
    for (size_t i = 0; i < n_ends; i++) {
        size_t nfds = 0;
        if (!ends[i].link)
            return -EINVAL;
        if (i)
            *w++ = ' ';
        int r = ipcm_handover_token(ends[i].link, ends[i].role, w, IPCM_TOKEN_MAX,
                                    x->keep + x->nkeep, &nfds);
        if (r < 0)
            return r;
        w += strlen(w);
        x->nkeep += nfds;
    }
    if (!envp)
        envp = environ;
    while (envp && envp[n_env])
        n_env++;
    x->envp = calloc(n_env + 2, sizeof(*x->envp));
    if (!x->envp)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(envp[i], var, sizeof(var) - 1) != 0)
            x->envp[k++] = envp[i];
    if (n_ends)
        x->envp[k++] = x->link_env;
    return 0;
}

int ipcm_process_spawn_exec(struct ipcm_process *p, const char *path, char *const argv[],
                            char *const envp[], const struct ipcm_handover *ends, size_t n_ends)
{
    struct exec_plan x;
    pid_t parent = getpid();
    int errpipe[2];
    int r;

    memset(p, 0, sizeof(*p));
    p->pidfd = -1;
    if (!path || !argv || !argv[0] || (n_ends && !ends))
        return -EINVAL;
    snprintf(p->name, sizeof(p->name), "%s", argv[0]);
    ipcm_reason_clear();
    if ((r = exec_plan_make(&x, envp, ends, n_ends)) < 0) {
        exec_plan_free(&x);
        return r;
    }
    /* The child reports a failed execve here; a successful one closes it (O_CLOEXEC). */
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        r = -errno;
        exec_plan_free(&x);
        return r;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        r = ipcm_reason_fork(-errno);
        close(errpipe[0]);
        close(errpipe[1]);
        exec_plan_free(&x);
        return r;
    }
    if (pid == 0) {
        int e = ECHILD;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* kept across execve (not set-user-ID) */
        if (getppid() == parent) {
            /* Nothing else crosses the exec, not even a descriptor the program opened
             * without O_CLOEXEC (Python's close_fds); then the handed-over ones alone
             * lose close-on-exec, here only, so no other child can inherit them. */
            syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
            for (size_t i = 0; i < x.nkeep; i++)
                fcntl(x.keep[i], F_SETFD, 0);
            execve(path, argv, x.envp);
            e = errno;
        }
        while (write(errpipe[1], &e, sizeof(e)) < 0 && errno == EINTR)
            ;
        _exit(127);
    }
    close(errpipe[1]);
    exec_plan_free(&x);
    int e = 0;
    ssize_t n;
    while ((n = read(errpipe[0], &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    close(errpipe[0]);
    p->pid = pid;
    if (n > 0) { /* exec failed: reap the child, report why */
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        p->pid = 0;
        return -(e ? e : ECHILD);
    }
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
