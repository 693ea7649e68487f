/* SPDX-License-Identifier: MIT */
/* mem.c - shared anonymous mappings, created before fork and inherited by children. */
#include "base.h"

#include <sys/mman.h>

void *ipcm_shared_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void ipcm_shared_free(void *p, size_t len)
{
    if (p)
        munmap(p, len);
}
