/* SPDX-License-Identifier: MIT */
/* sys.c - reads of this host's kernel settings: /proc/sys values and rlimits. */
#include "base.h"

#include <errno.h>
#include <stdio.h>

int ipcm_read_sysctl(const char *path, unsigned long *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int r = fscanf(f, "%lu", out) == 1 ? 0 : -EINVAL;
    fclose(f);
    return r;
}

long ipcm_sysctl_long(const char *path)
{
    unsigned long v;
    return ipcm_read_sysctl(path, &v) == 0 ? (long)v : -1;
}

int ipcm_rlimit_cur(int resource, rlim_t *out)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) < 0)
        return -errno;
    *out = rl.rlim_cur;
    return 0;
}
