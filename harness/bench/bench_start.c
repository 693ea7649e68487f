/* SPDX-License-Identifier: MIT */
/*
 * bench_start.c - the `start` mode: what a process costs to start, per start method
 * (Python's Process(...).start() to the first Queue.get()). One start: spawn a child
 * (fork: ipcm_process_spawn; exec: ipcm_process_spawn_exec of this same program, handed
 * the queue's sending end by token), receive its first message, join it. The latency
 * figure (kind "spawn-to-first-message") is the time from the spawn call to that first
 * message; the rate is complete starts (spawn to joined) per second, so 1 / rate is the
 * mean time to join.
 */
#include "bench.h"

#include "bench_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Starts per repetition at most: a process start costs ~0.1-1 ms, and --messages'
 * default is sized for messages, not processes. */
#define START_MAX 200u
#define START_MIN_SIZE 8u
/* The exec'd child is this program, told by this variable to be a start child. */
#define START_CHILD_ENV "IPCMARK_BENCH_START_CHILD"

extern char **environ;

/* What the child sends first: 8 bytes (its pid), padded to the case's size. */
static int start_child_send(struct ipcm_chan *c, size_t size)
{
    unsigned char buf[256] = {0};
    uint64_t pid = (uint64_t)getpid();
    if (size > sizeof(buf))
        size = sizeof(buf);
    memcpy(buf, &pid, sizeof(pid));
    return ipcm_chan_send(c, buf, size, 10000) < 0 ? 1 : 0;
}

/* Before main in an exec'd start child: attach, send, leave. */
__attribute__((constructor)) static void start_child_hook(void)
{
    const char *size = getenv(START_CHILD_ENV);
    struct ipcm_chan *c;
    if (!size)
        return;
    int code = ipcm_chan_attach_env(0, &c) < 0 ? 2 : start_child_send(c, (size_t)atol(size));
    ipcm_chan_close(c);
    _exit(code);
}

struct start_fork_arg {
    struct ipcm_link *l;
    size_t size;
};

static int start_fork_child(const void *arg, size_t len)
{
    const struct start_fork_arg *a = arg;
    struct ipcm_chan *c;
    (void)len;
    if (ipcm_chan_open(a->l, IPCM_ROLE_SEND, &c) < 0)
        return 2;
    int code = start_child_send(c, a->size);
    ipcm_chan_close(c);
    return code;
}

/* The environment of an exec'd child: ours plus the start-child variable. */
static char **start_envp(size_t size, char *var, size_t var_len)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 2, sizeof(*envp));
    if (!envp)
        return NULL;
    memcpy(envp, environ, n * sizeof(*envp));
    snprintf(var, var_len, START_CHILD_ENV "=%zu", size);
    envp[n] = var;
    return envp;
}

/* One start; adds its figures to rep. Returns 0 or -errno with rep->reason set. */
static int start_one(const struct ipcm_bench_params *p, char **envp, unsigned char *buf, size_t cap,
                     struct ipcm_bench_rep *rep)
{
    struct ipcm_config cfg = {.max_msg = p->size, .depth = 2};
    struct ipcm_link *l = NULL;
    struct ipcm_chan *rx = NULL;
    struct ipcm_process proc = {0};
    struct ipcm_exit ex = {0};
    int r = ipcm_link_create(p->be, IPCM_SHAPE_QUEUE, &cfg, &l);
    if (r < 0) {
        snprintf(rep->reason, sizeof(rep->reason), "link: %s", ipcm_error_text(r));
        return r;
    }
    uint64_t t0 = ipcm_now_ns();
    if (p->start_method == IPCM_START_EXEC) {
        char *const argv[] = {"ipcmark-start-child", NULL};
        const struct ipcm_handover end = {l, IPCM_ROLE_SEND};
        r = ipcm_process_spawn_exec(&proc, "/proc/self/exe", argv, envp, &end, 1);
    } else {
        struct start_fork_arg a = {l, p->size};
        r = ipcm_process_spawn(&proc, "start child", start_fork_child, &a, sizeof(a));
    }
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_RECV, &rx);
    ipcm_link_destroy(l);
    ssize_t n = r < 0 ? r : ipcm_chan_recv(rx, buf, cap, p->timeout_ms);
    uint64_t t1 = ipcm_now_ns();
    uint64_t pid = 0;
    if (n >= (ssize_t)sizeof(pid))
        memcpy(&pid, buf, sizeof(pid));
    int jr = proc.pid > 0 ? ipcm_process_join(&proc, p->timeout_ms, &ex) : -ECHILD;
    uint64_t t2 = ipcm_now_ns();
    ipcm_chan_close(rx);
    if (jr == -ETIMEDOUT)
        ipcm_process_stop(&proc, 0, &ex);
    if (r < 0 || n < 0 || jr < 0 || !ipcm_exit_ok(&ex)) {
        char why[48];
        snprintf(rep->reason, sizeof(rep->reason), "%s start: %s",
                 p->start_method ? "exec" : "fork",
                 r < 0    ? ipcm_error_text(r)
                 : n < 0  ? ipcm_error_text((int)n)
                 : jr < 0 ? ipcm_error_text(jr)
                          : ipcm_exit_describe(&ex, why, sizeof(why)));
        return r < 0 ? r : n < 0 ? (int)n : jr < 0 ? jr : -ECHILD;
    }
    rep->verified.messages++;
    if (n != (ssize_t)p->size)
        rep->verified.corrupt++;
    ipcm_hist_record(rep->latency, t1 - t0);
    rep->elapsed_ns += t2 - t0;
    rep->tasks++;
    rep->messages++;
    rep->bytes += (uint64_t)n;
    return 0;
}

static int start_run(const struct ipcm_bench_params *p, struct ipcm_bench_rep *rep)
{
    char var[64];
    char **envp = NULL;
    if (p->start_method == IPCM_START_EXEC && !(ipcm_backend_caps(p->be) & IPCM_CAP_EXEC)) {
        snprintf(rep->reason, sizeof(rep->reason),
                 "exec start: %s does not declare IPCM_CAP_EXEC (no hand-over after exec)",
                 ipcm_backend_name(p->be));
        return -EOPNOTSUPP;
    }
    if (p->start_method == IPCM_START_EXEC && !(envp = start_envp(p->size, var, sizeof(var))))
        return -ENOMEM;
    unsigned char *buf = malloc(p->size);
    if (!buf) {
        free(envp);
        return -ENOMEM;
    }
    uint64_t want = p->messages && p->messages < START_MAX ? p->messages : START_MAX;
    uint64_t end = ipcm_now_ns() + (p->warmup ? p->duration_ns / 4 : p->duration_ns);
    int r = 0;
    rep->cpu_missing = true; /* the children are gone before their CPU can be read */
    for (uint64_t i = 0; r == 0 && i < want; i++) {
        r = start_one(p, envp, buf, p->size, rep);
        if (!p->messages && ipcm_now_ns() >= end)
            break;
    }
    free(buf);
    free(envp);
    return r;
}

const struct ipcm_bench_mode ipcm_bench_mode_start = {
    .name = "start",
    .summary = "process start per start method: spawn to first message (one-way), starts/s",
    .shape = IPCM_SHAPE_QUEUE,
    .axes = IPCM_BENCH_AXIS_SIZES,
    .metrics = IPCM_BENCH_METRIC_TASKS | IPCM_BENCH_METRIC_LATENCY,
    .min_size = START_MIN_SIZE,
    .run = start_run,
    .start_methods = true,
};
