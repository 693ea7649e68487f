/* SPDX-License-Identifier: MIT */
/*
 * consumer.c - a program outside the tree that uses an installed libipcmark: a worker
 * process sends 100 numbered messages through a queue, the parent sums them.
 */
#include <ipcmark.h>

#include <errno.h>
#include <stdio.h>

static struct ipcm_link *link_;

static int worker(const void *arg, size_t len)
{
    struct ipcm_chan *c;
    (void)arg;
    (void)len;
    if (ipcm_chan_open(link_, IPCM_ROLE_SEND, &c) < 0)
        return 1;
    for (int i = 0; i < 100; i++)
        if (ipcm_chan_send(c, &i, sizeof(i), 5000) != (ssize_t)sizeof(i))
            return 1;
    ipcm_chan_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "pipe";
    struct ipcm_config cfg = {.max_msg = sizeof(int)};
    struct ipcm_process p;
    struct ipcm_chan *c;
    struct ipcm_exit ex;
    int r = ipcm_link_create(ipcm_backend_find(name), IPCM_SHAPE_QUEUE, &cfg, &link_);
    if (r < 0 || (r = ipcm_process_spawn(&p, "sender", worker, NULL, 0)) < 0 ||
        (r = ipcm_chan_open(link_, IPCM_ROLE_RECV, &c)) < 0) {
        fprintf(stderr, "consumer: %s: %s\n", name, ipcm_strerror(r));
        return 1;
    }
    ipcm_link_destroy(link_); /* the worker holds its own end now */
    long sum = 0, n = 0;
    int v;
    while ((r = (int)ipcm_chan_recv(c, &v, sizeof(v), 5000)) == (int)sizeof(v)) {
        sum += v;
        n++;
    }
    ipcm_chan_close(c);
    int jr = ipcm_process_join(&p, 5000, &ex);
    if (r != -EPIPE || jr < 0 || !ipcm_exit_ok(&ex)) {
        fprintf(stderr, "consumer: %s: end %s, worker %s\n", name, ipcm_err_name(r),
                jr < 0 ? ipcm_strerror(jr) : "failed");
        return 1;
    }
    printf("C %s ipcmark %s: %ld messages, sum %ld\n", name, IPCM_VERSION, n, sum);
    return 0;
}
