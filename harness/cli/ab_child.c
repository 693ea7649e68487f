/* SPDX-License-Identifier: MIT */
/*
 * ab_child.c - one build run as a child of `ipcmark ab`, with a deadline: fork, exec,
 * wait on a pidfd (polling waitpid where the kernel has none), kill on expiry.
 */
#include "ab_child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void ab_trap_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: waits wake up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

bool ab_stop_requested(void)
{
    return stop_requested != 0;
}

/* In the child: files in place of stdout and stderr, then the program. Never returns. */
static void child_exec(char *const argv[], const char *out_path, const char *err_path)
{
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
        _exit(126);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* The parent traps these to clean up; the child must die of them as usual. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execv(argv[0], argv);
    dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Wait for pid until the deadline (or a stop request); true when it was reaped. */
static bool wait_until(pid_t pid, int pidfd, uint64_t deadline_ns, int *st)
{
    for (;;) {
        pid_t w = waitpid(pid, st, WNOHANG);
        if (w == pid)
            return true;
        if (w < 0 && errno != EINTR)
            return false;
        uint64_t now = ipcm_now_ns();
        if (now >= deadline_ns || stop_requested)
            return false;
        int left_ms = ipcm_ns_to_ms_ceil(deadline_ns - now);
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            poll(&p, 1, left_ms < 200 ? left_ms : 200); /* 200 ms: notice stop requests */
        } else {
            ipcm_sleep_ms(left_ms < 10 ? left_ms : 10);
        }
    }
}

static void kill_and_reap(pid_t pid, int *st)
{
    kill(pid, SIGTERM);
    uint64_t grace = ipcm_now_ns() + 2 * IPCM_NS_PER_S;
    while (waitpid(pid, st, WNOHANG) == 0) {
        if (ipcm_now_ns() >= grace) {
            kill(pid, SIGKILL);
            while (waitpid(pid, st, 0) < 0 && errno == EINTR)
                ;
            return;
        }
        ipcm_sleep_ms(10);
    }
}

int ab_child_run(char *const argv[], const char *out_path, const char *err_path, int timeout_ms,
                 struct ab_exit *ex)
{
    memset(ex, 0, sizeof(*ex));
    ex->status = -1;
    uint64_t t0 = ipcm_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child_exec(argv, out_path, err_path);
    int pidfd = ipcm_pidfd_open(pid), st = 0;
    ex->ran = true;
    if (!wait_until(pid, pidfd, t0 + ipcm_ms_to_ns(timeout_ms), &st)) {
        ex->stopped = stop_requested != 0;
        ex->timed_out = !ex->stopped;
        kill_and_reap(pid, &st);
    }
    ipcm_close_fd(&pidfd);
    ex->seconds = ipcm_ns_to_s(ipcm_ns_since(t0));
    if (WIFEXITED(st))
        ex->status = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        ex->signal = WTERMSIG(st);
    return 0;
}

const char *ab_first_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    buf[0] = '\0';
    if (!f)
        return buf;
    while (fgets(buf, (int)len, f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (buf[0])
            break;
    }
    fclose(f);
    return buf;
}

const char *ab_child_describe(const struct ab_exit *ex, int timeout_ms, const char *err_path,
                              char *buf, size_t len)
{
    char line[256];
    if (ex->timed_out)
        snprintf(buf, len, "did not finish within %d s", timeout_ms / 1000);
    else if (ex->stopped)
        snprintf(buf, len, "was stopped (interrupted)");
    else if (ex->signal)
        snprintf(buf, len, "was killed by signal %d (%s)", ex->signal, strsignal(ex->signal));
    else
        snprintf(buf, len, "exited with status %d", ex->status);
    if (err_path && ab_first_line(err_path, line, sizeof(line))[0]) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, ": %s", line);
    }
    return buf;
}
