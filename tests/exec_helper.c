/* SPDX-License-Identifier: MIT */
/*
 * exec_helper.c - the program test_exec starts with execve. `exec_helper echo`: list
 * the descriptors it was started with, attach the end in IPCMARK_LINK, send the list,
 * then echo every message until end-of-stream. `exec_helper pool`: a pool worker
 * running exec_task (exec_task.h).
 */
#include "exec_task.h"
#include "ipcmark.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The descriptors open now, ascending, comma-separated (the listing's own excluded). */
static int fd_list(char *buf, size_t len)
{
    char seen[1024] = {0};
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    size_t off = 0;

    if (!d)
        return -errno;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            int fd = atoi(e->d_name);
            if (fd != dirfd(d) && fd >= 0 && fd < (int)sizeof(seen))
                seen[fd] = 1;
        }
    closedir(d);
    buf[0] = '\0';
    for (int fd = 0; fd < (int)sizeof(seen); fd++)
        if (seen[fd]) {
            int k = snprintf(buf + off, len - off, "%s%d", off ? "," : "", fd);
            if (k < 0 || (size_t)k >= len - off)
                return -ENOSPC;
            off += (size_t)k;
        }
    return 0;
}

static int echo(void)
{
    char fds[512];
    struct ipcm_chan *c;
    int r = fd_list(fds, sizeof(fds)); /* before attach: what exec let through */
    if (r < 0 || (r = ipcm_chan_attach_env(0, &c)) < 0) {
        fprintf(stderr, "exec_helper: %s\n", ipcm_strerror(r));
        return 2;
    }
    if (ipcm_chan_send(c, fds, strlen(fds), 10000) < 0)
        return 3;
    char *buf = malloc(ipcm_chan_max_msg(c));
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, buf, ipcm_chan_max_msg(c), 10000);
        if (n == -EPIPE)
            break;
        if (n < 0 || ipcm_chan_send(c, buf, (size_t)n, 10000) < 0) {
            free(buf);
            return 4;
        }
    }
    free(buf);
    ipcm_chan_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "echo") == 0)
        return echo();
    if (argc > 1 && strcmp(argv[1], "pool") == 0)
        return ipcm_pool_worker_main(argc, argv, exec_task);
    fprintf(stderr, "usage: exec_helper echo|pool (started by test_exec)\n");
    return 2;
}
