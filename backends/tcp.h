/* SPDX-License-Identifier: MIT */
/*
 * tcp.h - TCP connection helpers that take an address (RULINGS 6): the tcp backend
 * joins its two ends through them on loopback, and a later `serve` / `--remote` can
 * listen and connect across hosts with the same calls. Descriptors are O_CLOEXEC,
 * connected ones blocking with TCP_NODELAY set.
 */
#ifndef IPCM_BACKENDS_TCP_H
#define IPCM_BACKENDS_TCP_H

#include <sys/socket.h>

#include "base.h"

/*
 * ipcm_tcp_listen - a listening, non-blocking socket bound to addr (port 0: an
 * ephemeral port); *bound (may be NULL) gets the address really bound, *blen its size.
 * Returns the fd, or -errno (-EADDRNOTAVAIL: no such local address, e.g. no loopback).
 */
int ipcm_tcp_listen(const struct sockaddr *addr, socklen_t len, int backlog,
                    struct sockaddr_storage *bound, socklen_t *blen);
/*
 * ipcm_tcp_listen_loopback - ipcm_tcp_listen on 127.0.0.1, or on ::1 where the IPv4
 * loopback is missing. Returns the fd or -errno (-EADDRNOTAVAIL: neither exists).
 */
int ipcm_tcp_listen_loopback(int backlog, struct sockaddr_storage *bound, socklen_t *blen);
/*
 * ipcm_tcp_connect - connect to addr within d. Returns a connected fd, or -ETIMEDOUT,
 * -ECONNREFUSED, -ENETUNREACH or another -errno.
 */
int ipcm_tcp_connect(const struct sockaddr *addr, socklen_t len, const struct ipcm_deadline *d);
/*
 * ipcm_tcp_accept - the next connection on listening socket lfd within d; *peer (may
 * be NULL) gets the peer's address. Returns the fd, or -ETIMEDOUT/-EAGAIN or -errno.
 */
int ipcm_tcp_accept(int lfd, struct sockaddr_storage *peer, socklen_t *plen,
                    const struct ipcm_deadline *d);

#endif /* IPCM_BACKENDS_TCP_H */
