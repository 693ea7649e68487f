/* SPDX-License-Identifier: MIT */
/* backends.c - the library's view of the backends: lookup by index and name, accessors. */
#include "ipcmark.h"

#include <string.h>

#include "ipcmark_backend.h"

size_t ipcm_backend_count(void)
{
    return ipcm_builtin_backend_count;
}

const struct ipcm_backend *ipcm_backend_at(size_t i)
{
    return i < ipcm_backend_count() ? ipcm_builtin_backends[i] : NULL;
}

const struct ipcm_backend *ipcm_backend_find(const char *name)
{
    for (size_t i = 0; i < ipcm_backend_count(); i++)
        if (strcmp(ipcm_builtin_backends[i]->name, name) == 0)
            return ipcm_builtin_backends[i];
    return NULL;
}

const char *ipcm_backend_name(const struct ipcm_backend *be)
{
    return be->name;
}

const char *ipcm_backend_summary(const struct ipcm_backend *be)
{
    return be->summary;
}

uint32_t ipcm_backend_caps(const struct ipcm_backend *be)
{
    return be->caps;
}

int ipcm_backend_limits(const struct ipcm_backend *be, struct ipcm_limits *out)
{
    return be->limits(out);
}
