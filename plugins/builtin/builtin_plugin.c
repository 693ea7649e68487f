/* SPDX-License-Identifier: MIT */
/*
 * builtin_plugin.c - the entry point that turns one in-tree backend into a plugin
 * (IPCM_PLUGIN_TABLE names its table), so the loader can be measured against built-in.
 */
#include "ipcmark_backend.h"

extern const struct ipcm_backend IPCM_PLUGIN_TABLE;

/* A copy: in-tree tables leave struct_size 0 (they are never loaded as they are). */
static struct ipcm_backend table;

const struct ipcm_backend *ipcm_backend_plugin_v1(int host_abi, const char **reason)
{
    if (host_abi < IPCM_BACKEND_ABI) {
        *reason = "built against a newer ipcmark_backend.h than the loader's";
        return NULL;
    }
    table = IPCM_PLUGIN_TABLE;
    table.abi = IPCM_BACKEND_ABI;
    table.struct_size = sizeof(table);
    return &table;
}
