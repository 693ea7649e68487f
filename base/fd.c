/* SPDX-License-Identifier: MIT */
/* fd.c - descriptors: closing, waiting against a deadline, pidfds, counting. */
#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

void ipcm_close_fd(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
        *fd = -1;
    }
}

int ipcm_wait_fds(struct pollfd *fds, unsigned n, const struct ipcm_deadline *d)
{
    for (;;) {
        int left = ipcm_deadline_left_ms(d);
        int r = poll(fds, n, left);
        if (r > 0)
            return r;
        if (r == 0) {
            /* poll may return a little early; only give up once the deadline has passed. */
            if (left == 0 || ipcm_deadline_left_ms(d) == 0)
                return ipcm_deadline_err(d);
            continue;
        }
        if (errno != EINTR)
            return -errno;
    }
}

int ipcm_wait_readable(int fd, const struct ipcm_deadline *d)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = ipcm_wait_fds(&p, 1, d);
    return r > 0 ? 0 : r;
}

int ipcm_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd < 0 ? -1 : fd;
#else
    (void)pid;
    return -1;
#endif
}

int ipcm_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* minus the one opendir holds */
}
