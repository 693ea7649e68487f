/* SPDX-License-Identifier: MIT */
/*
 * handover.h - what process.c needs of handover.c: a token together with the
 * descriptors it names, so that spawn_exec keeps exactly those open across execve.
 * Private to the library.
 */
#ifndef IPCM_HARNESS_HANDOVER_H
#define IPCM_HARNESS_HANDOVER_H

#include "ipcmark.h"

/* Most descriptors one token may name. */
#define IPCM_HANDOVER_MAX_FDS 16

/*
 * ipcm_handover_token - ipcm_link_export_token that also fills fds[0..*nfds) with the
 * descriptors the token names (room for IPCM_HANDOVER_MAX_FDS). Returns as
 * ipcm_link_export_token.
 */
int ipcm_handover_token(const struct ipcm_link *l, enum ipcm_role role, char *buf, size_t len,
                        int *fds, size_t *nfds);

#endif /* IPCM_HARNESS_HANDOVER_H */
