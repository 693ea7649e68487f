/* SPDX-License-Identifier: MIT */
/*
 * exec_worker.c - the worker program that exec_worker_parent starts with execve (Python's
 * "spawn" start method): a separate binary that links the library and attaches the ends
 * its parent handed over, by token, in one call.
 *   exec_worker echo   attach the pipe end in $IPCMARK_LINK, answer one greeting
 *   exec_worker pool   a pool worker: ipcm_pool_worker_main runs square() on each task
 * Any program can be such a worker, written in C or in another language that can read
 * an environment variable and use the descriptors it names.
 */
#include <ipcmark.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The pool's task: a uint64 in, its square out. */
static int square(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    uint64_t x;
    if (in_len != sizeof(x) || out_cap < sizeof(x))
        return -22; /* -EINVAL: the task failed */
    memcpy(&x, in, sizeof(x));
    x *= x;
    memcpy(out, &x, sizeof(x));
    *out_len = sizeof(x);
    return 0;
}

static int echo(void)
{
    char buf[128], reply[128];
    struct ipcm_chan *c;
    ssize_t r = ipcm_chan_attach_env(0, &c); /* the end the parent handed over */
    if (r < 0) {
        fprintf(stderr, "exec_worker: attach: %s\n", ipcm_strerror((int)r));
        return 1;
    }
    if ((r = ipcm_chan_recv(c, buf, sizeof(buf), 5000)) >= 0) {
        int n = snprintf(reply, sizeof(reply), "%.*s, from pid %ld", (int)r, buf, (long)getpid());
        if (n >= (int)sizeof(reply))
            n = (int)sizeof(reply) - 1;
        r = ipcm_chan_send(c, reply, (size_t)n, 5000);
    }
    ipcm_chan_close(c);
    if (r < 0)
        fprintf(stderr, "exec_worker: %s\n", ipcm_strerror((int)r));
    return r < 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "echo") == 0)
        return echo();
    if (argc == 2 && strcmp(argv[1], "pool") == 0)
        return ipcm_pool_worker_main(argc, argv, square);
    fprintf(stderr, "usage: exec_worker echo|pool (started by exec_worker_parent)\n");
    return 2;
}
