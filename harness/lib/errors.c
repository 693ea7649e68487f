/* SPDX-License-Identifier: MIT */
/*
 * errors.c - names and texts for the negative errno values the library returns, from
 * one X-macro table (libuv's UV_ERRNO_MAP style), and the reason the last failing call
 * recorded (base/reason.c) for the errno it explains.
 */
#include "ipcmark.h"

#include "base.h"

#include <errno.h>
#include <string.h>

#define IPCM_ERRNO_MAP(X)                                                                          \
    X(EMSGSIZE, "message too large for this channel")                                              \
    X(ETIMEDOUT, "timed out")                                                                      \
    X(EAGAIN, "would block")                                                                       \
    X(EPIPE, "end of stream: the other side is gone")                                              \
    X(EBADF, "channel closed or not open for this operation")                                      \
    X(ENOTRECOVERABLE, "channel broken: a participant died mid-message")                           \
    X(ENOSYS, "mechanism not available on this host")                                              \
    X(EINVAL, "invalid argument")                                                                  \
    X(ENOMEM, "out of memory")                                                                     \
    X(EMFILE, "a per-process limit is used up (open files, or queue bytes for mq_open)")           \
    X(ENFILE, "too many open files in the system")                                                 \
    X(EFBIG, "file too large for RLIMIT_FSIZE (raise it with `ulimit -f unlimited`)")              \
    X(ENOSPC, "a system-wide limit is used up")                                                    \
    X(EPERM, "not permitted")                                                                      \
    X(EACCES, "permission denied")                                                                 \
    X(ECHILD, "no such child process")                                                             \
    X(ENOTSUP, "not supported by this backend")                                                    \
    X(EEXIST, "already exists")                                                                    \
    X(EOWNERDEAD, "previous owner died")                                                           \
    X(EPROTO, "protocol error")                                                                    \
    X(EIO, "input/output error")                                                                   \
    X(EREMOTEIO, "a task failed in a pool worker")                                                 \
    X(ESHUTDOWN, "pool not running: closed or terminated")                                         \
    X(EDEADLK,                                                                                     \
      "refused: would deadlock (a pool call from its callback, or a lock this end holds)")         \
    X(EOVERFLOW, "released past its bound (a bounded semaphore)")                                  \
    X(EBUSY, "in use: another process holds this end of the link open")                           \
    X(ECANCELED, "cancelled before it completed")

const char *ipcm_strerror(int err)
{
    switch (-err) {
#define X(code, text)                                                                              \
    case code: return text;
        IPCM_ERRNO_MAP(X)
#undef X
    default: return strerror(-err);
    }
}

const char *ipcm_err_name(int err)
{
    switch (-err) {
#define X(code, text)                                                                              \
    case code: return #code;
        IPCM_ERRNO_MAP(X)
#undef X
    default: return "E?";
    }
}

const char *ipcm_last_error(int err)
{
    return ipcm_reason_get(err);
}

const char *ipcm_error_text(int err)
{
    const char *why = ipcm_reason_get(err);
    return why ? why : ipcm_strerror(err);
}
