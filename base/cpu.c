/* SPDX-License-Identifier: MIT */
/* cpu.c - CPU count and placement. */
#include "base.h"

#include <errno.h>
#include <sched.h>
#include <unistd.h>

long ipcm_cpus_online(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

int ipcm_pin_self(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}
