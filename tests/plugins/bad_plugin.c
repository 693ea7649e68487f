/* SPDX-License-Identifier: MIT */
/*
 * bad_plugin.c - one source, many broken plugins (BAD_* picks the flaw), for the
 * loader's tests: each must be refused with one line naming the file and the problem
 * (BAD_NONE: a well-formed stub whose limits say -ENOSYS).
 */
#include <errno.h>

#include "ipcmark_backend.h"

static int lim(struct ipcm_limits *out)
{
    (void)out;
    return -ENOSYS;
}
static int mk(struct ipcm_link *l)
{
    (void)l;
    return -ENOSYS;
}
static int op(struct ipcm_chan *c)
{
    (void)c;
    return -ENOSYS;
}
static ssize_t io(struct ipcm_chan *c, const void *b, size_t n, int t)
{
    (void)c, (void)b, (void)n, (void)t;
    return -ENOSYS;
}
static ssize_t rd(struct ipcm_chan *c, void *b, size_t n, int t)
{
    (void)c, (void)b, (void)n, (void)t;
    return -ENOSYS;
}
static void cl(struct ipcm_chan *c)
{
    (void)c;
}
static void ds(struct ipcm_link *l)
{
    (void)l;
}

__attribute__((unused)) static const struct ipcm_backend table = {
#if defined(BAD_ABI_FUTURE)
    .abi = IPCM_BACKEND_ABI + 1,
    .struct_size = sizeof(struct ipcm_backend),
#elif defined(BAD_ABI_PAST)
    .abi = IPCM_BACKEND_ABI_MIN - 1,
    .struct_size = sizeof(struct ipcm_backend),
#elif defined(BAD_SMALL)
    .abi = IPCM_BACKEND_ABI,
    .struct_size = 16,
#else
    IPCM_BACKEND_HEAD,
#endif
#if defined(BAD_NULL_NAME)
    .name = NULL,
#elif defined(BAD_NONE)
    .name = "stub", /* nothing wrong: for the duplicate and lookup cases */
#else
    .name = "bad",
#endif
    .summary = "a broken plugin for the loader's tests",
#if defined(BAD_MISSING_OP)
    .caps = IPCM_CAP_POLLFD, /* declares pollfd but leaves the op NULL */
#endif
    .limits = lim,
    .create = mk,
    .open = op,
    .send = io,
    .recv = rd,
    .shutdown = op,
    .close = cl,
    .destroy = ds,
};

#if !defined(BAD_NO_ENTRY)
const struct ipcm_backend *ipcm_backend_plugin_v1(int host_abi, const char **reason)
{
    (void)host_abi;
#if defined(BAD_REFUSE)
    *reason = "needs a device this host lacks";
    return NULL;
#else
    (void)reason;
    return &table;
#endif
}
#else
/* Exports something, just not the entry point. */
__attribute__((visibility("default"))) const struct ipcm_backend *not_the_entry(void);
const struct ipcm_backend *not_the_entry(void)
{
    return &table;
}
#endif
