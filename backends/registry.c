/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the table of backends. Adding a backend is one line here (behind an
 * IPCM_HAVE_* guard when CMake must detect it) plus its own file.
 */
#include "ipcmark_backend.h"

extern const struct ipcm_backend ipcm_backend_pipe;
extern const struct ipcm_backend ipcm_backend_fifo;
extern const struct ipcm_backend ipcm_backend_socketpair;
extern const struct ipcm_backend ipcm_backend_unix;
extern const struct ipcm_backend ipcm_backend_tcp;
#ifdef IPCM_HAVE_MQUEUE
extern const struct ipcm_backend ipcm_backend_mqueue;
#endif
extern const struct ipcm_backend ipcm_backend_shm;
extern const struct ipcm_backend ipcm_backend_sysvmq;

const struct ipcm_backend *const ipcm_builtin_backends[] = {
    &ipcm_backend_pipe,       /* pipe(2), framed */
    &ipcm_backend_fifo,       /* mkfifo(3), framed */
    &ipcm_backend_socketpair, /* AF_UNIX SEQPACKET */
    &ipcm_backend_unix,       /* AF_UNIX STREAM, framed */
    &ipcm_backend_tcp,        /* TCP on loopback, framed */
#ifdef IPCM_HAVE_MQUEUE
    &ipcm_backend_mqueue,
#endif
    &ipcm_backend_shm,
    &ipcm_backend_sysvmq, /* after the POSIX ones: `list` shows the old beside the new */
};

const size_t ipcm_builtin_backend_count =
    sizeof(ipcm_builtin_backends) / sizeof(ipcm_builtin_backends[0]);
