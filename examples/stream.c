/* SPDX-License-Identifier: MIT */
/*
 * stream.c - the smallest useful libipcmark program: one producer process streams
 * messages through a queue to one consumer process for a few seconds, and the consumer
 * prints the rate. Nothing is verified beyond the length, so this is the channel's bare
 * send/recv cost; `ipcmark bench` adds per-message verification on top.
 *
 *   build/examples/stream [BACKEND [SIZE [SECONDS [CPU_PRODUCER CPU_CONSUMER]]]]
 *   build/examples/stream shm 64 1 0 1
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity */
#endif
#include "ipcmark.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct args {
    const char *backend;
    struct ipcm_link *link;
    size_t size;
    double seconds;
    int cpu;
};

static void pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0)
        perror("stream: sched_setaffinity");
}

static int producer(const void *arg, size_t len)
{
    const struct args *a = arg;
    struct ipcm_chan *c;
    (void)len;
    pin(a->cpu);
    char *buf = calloc(1, a->size);
    if (!buf || ipcm_chan_open(a->link, IPCM_ROLE_SEND, &c) < 0) {
        free(buf);
        return 1;
    }
    uint64_t end = ipcm_now_ns() + (uint64_t)(a->seconds * 1e9);
    int rc = 0;
    for (uint64_t i = 0; (i & 63) || ipcm_now_ns() < end; i++) {
        ssize_t n = ipcm_chan_send(c, buf, a->size, 5000);
        if (n < 0) {
            fprintf(stderr, "stream: send: %s\n", ipcm_strerror((int)n));
            rc = 1;
            break;
        }
    }
    ipcm_chan_close(c); /* the consumer sees end-of-stream */
    free(buf);
    return rc;
}

static int consumer(const void *arg, size_t len)
{
    const struct args *a = arg;
    struct ipcm_chan *c;
    (void)len;
    pin(a->cpu);
    char *buf = malloc(a->size);
    if (!buf || ipcm_chan_open(a->link, IPCM_ROLE_RECV, &c) < 0) {
        free(buf);
        return 1;
    }
    uint64_t n = 0, t0 = 0;
    ssize_t r;
    while ((r = ipcm_chan_recv(c, buf, a->size, 5000)) >= 0) {
        if ((size_t)r != a->size) {
            fprintf(stderr, "stream: got %zd B, sent %zu B\n", r, a->size);
            break;
        }
        if (n++ == 0)
            t0 = ipcm_now_ns(); /* from the first message on */
    }
    double s = (double)(ipcm_now_ns() - t0) / 1e9;
    ipcm_chan_close(c);
    free(buf);
    if (r >= 0)
        return 1; /* a wrong length, said above */
    if (r != -EPIPE || n < 2) {
        fprintf(stderr, "stream: recv: %s\n", ipcm_strerror((int)r));
        return 1;
    }
    printf("%s %zu B: %.2f M msg/s, %.2f GB/s (%llu messages in %.2f s)\n", a->backend, a->size,
           (double)n / s / 1e6, (double)n * (double)a->size / s / 1e9, (unsigned long long)n, s);
    fflush(stdout); /* a worker leaves with _exit */
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "shm";
    char *end = "";
    struct args a = {.backend = name,
                     .size = argc > 2 ? strtoul(argv[2], &end, 0) : 64,
                     .seconds = argc > 3 ? atof(argv[3]) : 1.0};
    int cpus[2] = {argc > 5 ? atoi(argv[4]) : -1, argc > 5 ? atoi(argv[5]) : -1};
    const struct ipcm_backend *be = ipcm_backend_find(name);
    if (!be || a.size == 0 || *end || a.seconds <= 0) {
        fprintf(stderr, "usage: stream [BACKEND [SIZE [SECONDS [CPU CPU]]]] (bad: %s)\n",
                !be                   ? "backend"
                : a.size == 0 || *end ? "size (bytes)"
                                      : "seconds");
        return 2;
    }
    struct ipcm_config cfg = {.max_msg = a.size};
    int r = ipcm_link_create(be, IPCM_SHAPE_QUEUE, &cfg, &a.link);
    if (r < 0) {
        struct ipcm_limits lim;
        if (r == -EMSGSIZE && ipcm_backend_limits(be, &lim) == 0)
            fprintf(stderr, "stream: %s: a message of %zu B exceeds %s (%zu B)\n", name, a.size,
                    lim.max_msg_source, lim.max_msg);
        else
            fprintf(stderr, "stream: %s: %s\n", name, ipcm_strerror(r));
        return 1;
    }
    struct ipcm_process p[2];
    a.cpu = cpus[1];
    r = ipcm_process_spawn(&p[0], "stream consumer", consumer, &a, sizeof(a));
    a.cpu = cpus[0];
    if (r == 0 && (r = ipcm_process_spawn(&p[1], "stream producer", producer, &a, sizeof(a))) < 0)
        ipcm_process_stop(&p[0], 0, NULL);
    ipcm_link_destroy(a.link); /* ours must go, or end-of-stream never comes */
    if (r < 0) {
        fprintf(stderr, "stream: spawn: %s\n", ipcm_strerror(r));
        return 1;
    }
    int ok = 1;
    for (int i = 1; i >= 0; i--) {
        struct ipcm_exit ex;
        int jr = ipcm_process_stop(&p[i], (int)(a.seconds * 1000) + 10000, &ex);
        ok &= jr == 0 && ipcm_exit_ok(&ex);
    }
    return ok ? 0 : 1;
}
