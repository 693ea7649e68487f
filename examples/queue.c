/* SPDX-License-Identifier: MIT */
/* queue.c - Python's Queue between a child that puts mixed items and a parent that gets
 * them: a number, a string and a small struct, each a tagged message of bytes. */
#include <ipcmark.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct point {
    int x, y;
};
struct item { /* Python pickles any object; in C the message says what it holds */
    char tag; /* 'i' an int, 's' a string, 'p' a struct point */
    union {
        int i;
        char s[32];
        struct point p;
    } u;
};

static struct ipcm_link *q;

static int put_items(const void *arg, size_t len)
{
    struct item items[] = {{'i', {.i = 42}}, {'s', {.s = "hello"}}, {'p', {.p = {3, 4}}}};
    struct ipcm_chan *c;
    (void)arg, (void)len;
    int r = ipcm_chan_open(q, IPCM_ROLE_SEND, &c);
    for (size_t i = 0; r >= 0 && i < sizeof(items) / sizeof(items[0]); i++)
        r = (int)ipcm_chan_send(c, &items[i], sizeof(items[i]), 5000); /* q.put(item) */
    if (r < 0)
        fprintf(stderr, "queue: child: %s\n", ipcm_strerror(r));
    ipcm_chan_close(c); /* ends our side: the parent sees end-of-stream after the last */
    return r < 0;
}

int main(int argc, char **argv)
{
    const char *backend = "pipe";
    int opt;
    opterr = 0; /* one line for a bad option: ours */
    while ((opt = getopt(argc, argv, "b:")) != -1 || optind < argc) {
        if (opt != 'b') {
            fprintf(stderr, "usage: queue [-b BACKEND]\n");
            return 2;
        }
        backend = optarg;
    }
    const struct ipcm_backend *be = ipcm_backend_find(backend);
    if (!be) {
        fprintf(stderr, "queue: unknown backend '%s' (ipcmark list shows them)\n", backend);
        return 2;
    }
    struct ipcm_config cfg = {.max_msg = sizeof(struct item)};
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    struct ipcm_exit ex = {0};
    struct item it;
    ssize_t n = ipcm_link_create(be, IPCM_SHAPE_QUEUE, &cfg, &q);
    if (n >= 0 && (n = ipcm_process_spawn(&p, "putter", put_items, NULL, 0)) >= 0)
        n = ipcm_chan_open(q, IPCM_ROLE_RECV, &c);
    ipcm_link_destroy(q); /* accepts NULL; ours must go, or end-of-stream never comes */
    /* Not `while not q.empty(): q.get()` as the tutorial does: empty() is racy, a queue
     * can be empty now with items still coming. A receive that waits returns -EPIPE
     * once every sender is gone and nothing is left: that is the end, exactly. */
    while (n >= 0 && (n = ipcm_chan_recv(c, &it, sizeof(it), 5000)) == (ssize_t)sizeof(it)) {
        if (it.tag == 'i')
            printf("%d\n", it.u.i);
        else if (it.tag == 's')
            printf("'%s'\n", it.u.s);
        else
            printf("Point(x=%d, y=%d)\n", it.u.p.x, it.u.p.y);
    }
    ipcm_chan_close(c);
    if (n != -EPIPE)
        fprintf(stderr, "queue: %s: %s\n", backend,
                n >= 0 ? "a short item" : ipcm_error_text((int)n));
    int jr = p.pid ? ipcm_process_stop(&p, 5000, &ex) : -ECHILD; /* join, or kill if hung */
    if (n == -EPIPE && (jr < 0 || !ipcm_exit_ok(&ex)))
        fprintf(stderr, "queue: %s: the child failed\n", backend);
    return n != -EPIPE || jr < 0 || !ipcm_exit_ok(&ex);
}
