/* SPDX-License-Identifier: MIT */
/*
 * remote_net.h - the tcp backend's address-taking helpers (backends/tcp.h, RULINGS 6)
 * for `serve` and `--remote`, reached through the library so the layers' arrows hold.
 * Internal to the harness (like crew.h): not part of the public API, not exported.
 */
#ifndef IPCM_REMOTE_NET_H
#define IPCM_REMOTE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base.h"

/*
 * ipcm_net_parse - "HOST:PORT" or "[V6]:PORT" (HOST numeric, or a name when resolve)
 * into *ss. Returns 0, -EINVAL (malformed, port not 0..65535; 0 asks
 * a listener for an ephemeral port), or -ENOENT (no address).
 */
int ipcm_net_parse(const char *hostport, bool resolve, struct sockaddr_storage *ss, socklen_t *len);
/* ipcm_net_listen - a listening, non-blocking socket on the parsed address (*bound: the
 * address really bound); -errno. */
int ipcm_net_listen(const struct sockaddr_storage *ss, socklen_t len, int backlog,
                    struct sockaddr_storage *bound);
/* ipcm_net_connect - a blocking TCP_NODELAY connection within d; -errno (-ECONNREFUSED, ...). */
int ipcm_net_connect(const struct sockaddr_storage *ss, socklen_t len,
                     const struct ipcm_deadline *d);
/* ipcm_net_accept - the next connection within d (blocking, TCP_NODELAY); -ETIMEDOUT, ... */
int ipcm_net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *plen,
                    const struct ipcm_deadline *d);
/* ipcm_net_format - "ADDR:PORT" ("[ADDR]:PORT" for IPv6) into buf. Returns buf. */
const char *ipcm_net_format(const struct sockaddr_storage *ss, char *buf, size_t len);
/* ipcm_net_is_loopback - 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool ipcm_net_is_loopback(const struct sockaddr_storage *ss);

#endif /* IPCM_REMOTE_NET_H */
