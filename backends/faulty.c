/* SPDX-License-Identifier: MIT */
/*
 * faulty.c - a broken backend for tests (SQLite test_vfs.c style): wraps any backend
 * and drops, reorders or tears every Nth message, so a test can prove the conformance
 * suite fails it, i.e. that no integrity check is one that cannot fail.
 */
#include "faulty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct ipcm_backend faulty_be;
static const struct ipcm_backend *faulty_inner;
static enum ipcm_faulty_mode faulty_mode;
static unsigned faulty_every;
static unsigned long faulty_count; /* per process: fork copies it */
static unsigned char *faulty_held; /* REORDER: the message held back */
static size_t faulty_held_len;
static bool faulty_holding;

static ssize_t faulty_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    bool hit = ++faulty_count % faulty_every == 0;
    if (faulty_holding) {
        /* Send the current message first, then the one held back: two swap places. */
        ssize_t r = faulty_inner->send(c, buf, len, timeout_ms);
        if (r >= 0)
            faulty_inner->send(c, faulty_held, faulty_held_len, timeout_ms);
        faulty_holding = false;
        free(faulty_held);
        faulty_held = NULL;
        return r;
    }
    if (!hit)
        return faulty_inner->send(c, buf, len, timeout_ms);
    switch (faulty_mode) {
    case IPCM_FAULTY_DROP:
        return (ssize_t)len;
    case IPCM_FAULTY_REORDER:
        faulty_held = malloc(len ? len : 1);
        if (!faulty_held)
            return -ENOMEM;
        memcpy(faulty_held, buf, len);
        faulty_held_len = len;
        faulty_holding = true;
        return (ssize_t)len;
    case IPCM_FAULTY_TEAR: {
        unsigned char *copy = malloc(len ? len : 1);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, buf, len);
        if (len)
            copy[len / 2] ^= 0x5a;
        ssize_t r = faulty_inner->send(c, copy, len, timeout_ms);
        free(copy);
        return r;
    }
    }
    return -EINVAL;
}

const struct ipcm_backend *ipcm_faulty_wrap(const struct ipcm_backend *inner,
                                            enum ipcm_faulty_mode mode, unsigned every)
{
    faulty_be = *inner;
    faulty_be.name = "faulty";
    faulty_be.summary = "a deliberately broken wrapper (tests only)";
    faulty_be.send = faulty_send;
    faulty_inner = inner;
    faulty_mode = mode;
    faulty_every = every ? every : 1;
    faulty_count = 0;
    faulty_holding = false;
    return &faulty_be;
}
