/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the table of backends. Adding a backend is one line here (behind an
 * IPCM_HAVE_* guard when CMake must detect it) plus its own file.
 */
#include "backend.h"

#include <string.h>

extern const struct ipcm_backend ipcm_backend_pipe;
extern const struct ipcm_backend ipcm_backend_socketpair;
#ifdef IPCM_HAVE_MQUEUE
extern const struct ipcm_backend ipcm_backend_mqueue;
#endif
extern const struct ipcm_backend ipcm_backend_shm;

static const struct ipcm_backend *const registry[] = {
    &ipcm_backend_pipe,
    &ipcm_backend_socketpair,
#ifdef IPCM_HAVE_MQUEUE
    &ipcm_backend_mqueue,
#endif
    &ipcm_backend_shm,
};

size_t ipcm_backend_count(void)
{
    return sizeof(registry) / sizeof(registry[0]);
}

const struct ipcm_backend *ipcm_backend_at(size_t i)
{
    return i < ipcm_backend_count() ? registry[i] : NULL;
}

const struct ipcm_backend *ipcm_backend_find(const char *name)
{
    for (size_t i = 0; i < ipcm_backend_count(); i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
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
