/* SPDX-License-Identifier: MIT */
/*
 * remote_net.c - address parsing and the tcp backend's listen/connect/accept helpers
 * for the remote part of the harness (remote_net.h).
 */
#include "remote_net.h"

#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ipcm_net_parse(const char *hostport, bool resolve, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host))
        return -EINVAL;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    size_t hl = strlen(host);
    if (host[0] == '[') { /* [v6]:port */
        if (hl < 3 || host[hl - 1] != ']')
            return -EINVAL;
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return -EINVAL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = resolve ? 0 : AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
        return resolve ? -ENOENT : -EINVAL;
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        return -EAFNOSUPPORT;
    return 0;
}

int ipcm_net_listen(const struct sockaddr_storage *ss, socklen_t len, int backlog,
                    struct sockaddr_storage *bound)
{
    socklen_t blen = sizeof(*bound);
    return ipcm_tcp_listen((const struct sockaddr *)ss, len, backlog, bound, &blen);
}

int ipcm_net_connect(const struct sockaddr_storage *ss, socklen_t len,
                     const struct ipcm_deadline *d)
{
    return ipcm_tcp_connect((const struct sockaddr *)ss, len, d);
}

int ipcm_net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *plen,
                    const struct ipcm_deadline *d)
{
    return ipcm_tcp_accept(lfd, peer, plen, d);
}

const char *ipcm_net_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
        snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
        snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}

bool ipcm_net_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}
