/* SPDX-License-Identifier: MIT */
/* pipe.c - Python's `a, b = Pipe()`: the child sends one message on its end, the parent
 * receives and prints it, then replies the other way: each end both sends and receives. */
#include <ipcmark.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_MSG 128

static struct ipcm_link *pipe_link;

static int child(const void *arg, size_t len)
{
    char buf[MAX_MSG];
    struct ipcm_chan *b;
    const char *msg = "Sending something into the pipe !!!!!!!!";
    (void)arg, (void)len;
    ssize_t r = ipcm_chan_open(pipe_link, IPCM_ROLE_B, &b);
    if (r >= 0 && (r = ipcm_chan_send(b, msg, strlen(msg), 5000)) >= 0 && /* b.send(...) */
        (r = ipcm_chan_recv(b, buf, sizeof(buf), 5000)) >= 0) {
        printf("child got: '%.*s'\n", (int)r, buf);
        fflush(stdout); /* a worker leaves with _exit */
    }
    if (r < 0)
        fprintf(stderr, "pipe: child: %s\n", ipcm_strerror((int)r));
    ipcm_chan_close(b);
    return r < 0;
}

int main(int argc, char **argv)
{
    const char *backend = "pipe";
    int opt;
    opterr = 0; /* one line for a bad option: ours */
    while ((opt = getopt(argc, argv, "b:")) != -1 || optind < argc) {
        if (opt != 'b') {
            fprintf(stderr, "usage: pipe [-b BACKEND]\n");
            return 2;
        }
        backend = optarg;
    }
    const struct ipcm_backend *be = ipcm_backend_find(backend);
    if (!be) {
        fprintf(stderr, "pipe: unknown backend '%s' (ipcmark list shows them)\n", backend);
        return 2;
    }
    struct ipcm_config cfg = {.max_msg = MAX_MSG};
    struct ipcm_process p = {0};
    struct ipcm_chan *a = NULL;
    struct ipcm_exit ex;
    char buf[MAX_MSG];
    const char *reply = "Thank you";
    ssize_t r = ipcm_link_create(be, IPCM_SHAPE_PIPE, &cfg, &pipe_link);
    if (r >= 0 && (r = ipcm_process_spawn(&p, "pipe child", child, NULL, 0)) >= 0)
        r = ipcm_chan_open(pipe_link, IPCM_ROLE_A, &a);
    ipcm_link_destroy(pipe_link); /* accepts NULL; the child opened its own end */
    if (r >= 0 && (r = ipcm_chan_recv(a, buf, sizeof(buf), 5000)) >= 0) { /* a.recv() */
        printf("['%.*s']\n", (int)r, buf);
        fflush(stdout); /* before the child's line, which the reply lets it print */
        r = ipcm_chan_send(a, reply, strlen(reply), 5000);
    }
    ipcm_chan_close(a);
    if (r < 0)
        fprintf(stderr, "pipe: %s: %s\n", backend, ipcm_error_text((int)r));
    int jr = p.pid ? ipcm_process_stop(&p, 5000, &ex) : -ECHILD;
    if (r >= 0 && (jr < 0 || !ipcm_exit_ok(&ex)))
        fprintf(stderr, "pipe: %s: the child failed\n", backend);
    return r < 0 || jr < 0 || !ipcm_exit_ok(&ex);
}
