/* SPDX-License-Identifier: MIT */
/*
 * client.c - the near end of remote runs (`bench --remote`): connect, say HELLO,
 * authenticate both ways, then run cases whose far side the server plays, verifying
 * every message that comes back.
 */
#include "remote.h"

#include "ipcmark.h"
#include "remote_net.h"

#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A frame the client did not expect: ERROR and BUSY carry the server's reason. */
static int unexpected(struct ipcm_remote_conn *c, const struct ipcm_remote_frame *f,
                      const char *wanted)
{
    if (f->type == IPCM_RT_ERROR || f->type == IPCM_RT_BUSY) {
        snprintf(c->why, sizeof(c->why), "server %s: %.*s", c->peer, (int)f->len,
                 (const char *)f->body);
        if (f->type == IPCM_RT_BUSY)
            return -EBUSY;
        return strstr(c->why, "key") ? -EACCES : -EPROTO;
    }
    snprintf(c->why, sizeof(c->why), "server %s: expected %s, got frame type %u", c->peer, wanted,
             f->type);
    return -EPROTO;
}

static int recv_frame(struct ipcm_remote_conn *c, struct ipcm_remote_frame *f, const char *what)
{
    uint64_t bad = 0;
    int r = ipcm_remote_recv(c->fd, f, &bad);
    if (r == 0 && f->version != IPCM_REMOTE_PROTO) {
        snprintf(c->why, sizeof(c->why),
                 "server %s speaks protocol version %u, this client (ipcmark %s) version %u",
                 c->peer, f->version, IPCM_VERSION, IPCM_REMOTE_PROTO);
        return -EPROTO;
    }
    if (r == -ECONNRESET)
        snprintf(c->why, sizeof(c->why), "server %s closed the connection (%s)", c->peer, what);
    else if (r == -ETIMEDOUT)
        snprintf(c->why, sizeof(c->why), "server %s did not answer in time (%s)", c->peer, what);
    else if (r == -EMSGSIZE || r == -EPROTO)
        snprintf(c->why, sizeof(c->why), "server %s does not speak the ipcmark protocol (%s)",
                 c->peer, what);
    else if (r < 0)
        snprintf(c->why, sizeof(c->why), "server %s: %s (%s)", c->peer, strerror(-r), what);
    return r;
}

/* CHALLENGE -> AUTH -> OK, checking the server's own proof when we hold a key. */
static int authenticate(struct ipcm_remote_conn *c, const struct ipcm_remote_key *key)
{
    struct ipcm_remote_frame f;
    int r = recv_frame(c, &f, "waiting for the challenge");
    if (r < 0)
        return r;
    const size_t want = IPCM_REMOTE_NONCE + 4 + sizeof(struct ipcm_remote_info);
    if (f.type != IPCM_RT_CHALLENGE || f.len != want)
        return unexpected(c, &f, "CHALLENGE");
    uint32_t flags;
    memcpy(&flags, f.body + IPCM_REMOTE_NONCE, 4);
    memcpy(&c->server, f.body + IPCM_REMOTE_NONCE + 4, sizeof(c->server));
    c->server.host[sizeof(c->server.host) - 1] = c->server.kernel[sizeof(c->server.kernel) - 1] =
        c->server.cpu[sizeof(c->server.cpu) - 1] =
            c->server.version[sizeof(c->server.version) - 1] = '\0';
    bool required = be32toh(flags) & 1u;
    if (required && !key->set) {
        snprintf(c->why, sizeof(c->why),
                 "server %s requires a key: give --key-file FILE or IPCMARK_KEY", c->peer);
        return -EACCES;
    }
    uint8_t auth[2 * IPCM_REMOTE_NONCE] = {0};
    if (required)
        ipcm_remote_tag(key, 'c', f.body, auth);
    ipcm_remote_nonce(auth + IPCM_REMOTE_NONCE);
    if ((r = ipcm_remote_send(c->fd, IPCM_RT_AUTH, auth, sizeof(auth))) < 0) {
        snprintf(c->why, sizeof(c->why), "server %s: send failed: %s", c->peer, strerror(-r));
        return r;
    }
    if ((r = recv_frame(c, &f, "waiting for the key check")) < 0)
        return r;
    if (f.type != IPCM_RT_OK || f.len != IPCM_REMOTE_NONCE + IPCM_REMOTE_CALIB)
        return unexpected(c, &f, "OK");
    if (required && !ipcm_remote_tag_ok(key, 's', auth + IPCM_REMOTE_NONCE, f.body)) {
        snprintf(c->why, sizeof(c->why), "server %s could not prove it holds the key", c->peer);
        return -EACCES;
    }
    c->server_calibrated = ipcm_remote_calib_get(f.body + IPCM_REMOTE_NONCE, &c->server_cal);
    return 0;
}

int ipcm_remote_open(struct ipcm_remote_conn *c, const char *hostport,
                     const struct ipcm_remote_key *key, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->mtu = -1;
    snprintf(c->peer, sizeof(c->peer), "%s", hostport);
    struct sockaddr_storage ss;
    socklen_t len;
    int r = ipcm_net_parse(hostport, true, &ss, &len);
    if (r < 0) {
        snprintf(c->why, sizeof(c->why), "bad --remote '%s' (want HOST:PORT)", hostport);
        return -EINVAL;
    }
    struct ipcm_deadline d;
    ipcm_deadline_init(&d, timeout_ms);
    c->fd = ipcm_net_connect(&ss, len, &d);
    if (c->fd < 0) {
        r = c->fd;
        snprintf(c->why, sizeof(c->why), "cannot connect to %s: %s", hostport, strerror(-r));
        return r;
    }
    ipcm_net_format(&ss, c->peer, sizeof(c->peer));
    struct sockaddr_storage me;
    socklen_t ml = sizeof(me);
    if (getsockname(c->fd, (struct sockaddr *)&me, &ml) == 0)
        ipcm_net_format(&me, c->local, sizeof(c->local));
    socklen_t il = sizeof(c->mtu);
    if (getsockopt(c->fd, ss.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
                   ss.ss_family == AF_INET6 ? IPV6_MTU : IP_MTU, &c->mtu, &il) < 0)
        c->mtu = -1;
    ipcm_remote_timeouts(c->fd, timeout_ms);
    struct ipcm_remote_info me_info;
    ipcm_remote_info_local(&me_info);
    if ((r = ipcm_remote_send(c->fd, IPCM_RT_HELLO, &me_info, sizeof(me_info))) < 0) {
        snprintf(c->why, sizeof(c->why), "server %s: send failed: %s", c->peer, strerror(-r));
        return r;
    }
    return authenticate(c, key);
}

/* The near side of the reverse data phase: consume and verify count messages; a bad one
 * is counted and the stream read to its end, so the connection stays in step. */
static int consume_phase(struct ipcm_remote_conn *c, uint32_t size, uint64_t count, uint8_t *in,
                         uint64_t *bad, uint64_t *first_bad)
{
    for (uint64_t i = 0; i < count; i++) {
        int r = ipcm_remote_read_all(c->fd, in, size);
        if (r < 0) {
            snprintf(c->why, sizeof(c->why), "server %s: %s at message %llu of %llu", c->peer,
                     r == -ECONNRESET ? "connection lost" : strerror(-r), (unsigned long long)i,
                     (unsigned long long)count);
            return r;
        }
        if (!ipcm_remote_check(in, size, i) && (*bad)++ == 0)
            *first_bad = i;
    }
    return 0;
}

/* The near side of a reverse-latency data phase: receive, verify and echo each of count
 * messages (a bad one is echoed as received and counted; the server times, and its own
 * check of the echo fails it too). */
static int echo_phase(struct ipcm_remote_conn *c, uint32_t size, uint64_t count, uint8_t *in,
                      uint64_t *bad, uint64_t *first_bad)
{
    for (uint64_t i = 0; i < count; i++) {
        int r = ipcm_remote_read_all(c->fd, in, size);
        if (r == 0 && !ipcm_remote_check(in, size, i) && (*bad)++ == 0)
            *first_bad = i;
        if (r == 0)
            r = ipcm_remote_write_all(c->fd, in, size);
        if (r < 0) {
            snprintf(c->why, sizeof(c->why), "server %s: %s at message %llu of %llu", c->peer,
                     r == -ECONNRESET || r == -EPIPE ? "connection lost" : strerror(-r),
                     (unsigned long long)i, (unsigned long long)count);
            return r;
        }
    }
    return 0;
}

/* The server's percentiles from a mode-4 DONE (after the three counts). */
static void server_rtt(struct ipcm_remote_conn *c, const uint8_t *body)
{
    uint64_t v[8];
    memcpy(v, body + IPCM_REMOTE_DONE, sizeof(v));
    for (int i = 0; i < 8; i++)
        v[i] = be64toh(v[i]);
    c->server_rtt = (struct ipcm_remote_pct){.count = v[0],
                                             .min = v[1],
                                             .p50 = v[2],
                                             .p90 = v[3],
                                             .p99 = v[4],
                                             .p999 = v[5],
                                             .max = v[6],
                                             .mean = v[7]};
}

/* The near side's data phase. */
static int data_phase(struct ipcm_remote_conn *c, enum ipcm_remote_mode mode, uint32_t size,
                      uint64_t count, uint64_t *rtt_ns, uint8_t *out, uint8_t *in)
{
    for (uint64_t i = 0; i < count; i++) {
        ipcm_remote_fill(out, size, i);
        uint64_t t0 = ipcm_now_ns();
        int r = ipcm_remote_write_all(c->fd, out, size);
        if (r == 0 && mode == IPCM_RM_LATENCY)
            r = ipcm_remote_read_all(c->fd, in, size);
        if (r < 0) {
            snprintf(c->why, sizeof(c->why), "server %s: %s at message %llu of %llu", c->peer,
                     r == -ECONNRESET || r == -EPIPE ? "connection lost" : strerror(-r),
                     (unsigned long long)i, (unsigned long long)count);
            return r;
        }
        if (mode == IPCM_RM_LATENCY) {
            rtt_ns[i] = ipcm_now_ns() - t0;
            if (!ipcm_remote_check(in, size, i)) {
                snprintf(c->why, sizeof(c->why), "echo of message %llu differs from what was sent",
                         (unsigned long long)i);
                return -EBADMSG;
            }
        }
    }
    return 0;
}

int ipcm_remote_case(struct ipcm_remote_conn *c, enum ipcm_remote_mode mode, uint32_t size,
                     uint64_t count, uint64_t *rtt_ns, uint64_t *elapsed_ns)
{
    uint8_t body[16];
    uint32_t m = htobe32(mode), s = htobe32(size);
    uint64_t n = htobe64(count);
    memcpy(body, &m, 4);
    memcpy(body + 4, &s, 4);
    memcpy(body + 8, &n, 8);
    int r = ipcm_remote_send(c->fd, IPCM_RT_CASE, body, sizeof(body));
    struct ipcm_remote_frame f;
    if (r < 0) {
        snprintf(c->why, sizeof(c->why), "server %s: send failed: %s", c->peer, strerror(-r));
        return r;
    }
    if ((r = recv_frame(c, &f, "waiting for READY")) < 0)
        return r;
    if (f.type != IPCM_RT_READY)
        return unexpected(c, &f, "READY");
    uint8_t *out = malloc(size), *in = malloc(size);
    uint64_t t0 = ipcm_now_ns(), mine_bad = 0, first_bad = 0;
    if (!out || !in)
        r = -ENOMEM;
    else if (mode == IPCM_RM_REVERSE)
        r = consume_phase(c, size, count, in, &mine_bad, &first_bad);
    else if (mode == IPCM_RM_REVERSE_LATENCY)
        r = echo_phase(c, size, count, in, &mine_bad, &first_bad);
    else
        r = data_phase(c, mode, size, count, rtt_ns, out, in);
    uint64_t t1 = ipcm_now_ns();
    free(out);
    free(in);
    if (r == -ENOMEM)
        snprintf(c->why, sizeof(c->why), "cannot allocate 2 x %u bytes", size);
    if (r < 0)
        return r;
    if ((r = recv_frame(c, &f, "waiting for DONE")) < 0)
        return r;
    if (elapsed_ns) /* reverse: the last message verified here ends it, not DONE */
        *elapsed_ns = (mode == IPCM_RM_REVERSE ? t1 : ipcm_now_ns()) - t0;
    uint32_t done_len = mode == IPCM_RM_REVERSE_LATENCY ? IPCM_REMOTE_DONE_RTT : IPCM_REMOTE_DONE;
    if (f.type != IPCM_RT_DONE || f.len != done_len)
        return unexpected(c, &f, "DONE");
    if (mode == IPCM_RM_REVERSE_LATENCY)
        server_rtt(c, f.body);
    uint64_t ok, bad;
    memcpy(&ok, f.body, 8);
    memcpy(&bad, f.body + 8, 8);
    ok = be64toh(ok), bad = be64toh(bad);
    if (mine_bad) {
        snprintf(c->why, sizeof(c->why),
                 "%llu of %llu messages from the server failed verification here (first: %llu)",
                 (unsigned long long)mine_bad, (unsigned long long)count,
                 (unsigned long long)first_bad);
        return -EBADMSG;
    }
    if (bad || ok != count) {
        snprintf(c->why, sizeof(c->why), "server verified %llu of %llu messages, %llu bad",
                 (unsigned long long)ok, (unsigned long long)count, (unsigned long long)bad);
        return -EBADMSG;
    }
    return 0;
}

void ipcm_remote_close(struct ipcm_remote_conn *c)
{
    if (c->fd >= 0) {
        (void)ipcm_remote_send(c->fd, IPCM_RT_BYE, NULL, 0);
        close(c->fd);
        c->fd = -1;
    }
}
