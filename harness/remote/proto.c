/* SPDX-License-Identifier: MIT */
/*
 * proto.c - the remote control protocol's framing (docs/remote.md): a 16-byte header
 * with a magic, the protocol version, the type and a bounded length; the verified
 * payload of the data phase; the host description both ends exchange.
 */
#include "remote.h"

#include "ipcmark.h"

#include <endian.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

static const uint8_t magic[4] = {'I', 'P', 'C', 'R'};

int ipcm_remote_timeouts(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return -errno;
    return 0;
}

int ipcm_remote_read_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r == 0)
            return -ECONNRESET;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int ipcm_remote_write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        /* MSG_NOSIGNAL: a vanished peer is -EPIPE, not a SIGPIPE (RULINGS 14). */
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int ipcm_remote_send(int fd, uint16_t type, const void *body, size_t len)
{
    uint8_t buf[IPCM_REMOTE_HDR + IPCM_REMOTE_MAX_BODY];
    if (len > IPCM_REMOTE_MAX_BODY)
        return -EMSGSIZE;
    uint16_t v = htobe16(IPCM_REMOTE_PROTO), t = htobe16(type);
    uint64_t l = htobe64(len);
    memcpy(buf, magic, 4);
    memcpy(buf + 4, &v, 2);
    memcpy(buf + 6, &t, 2);
    memcpy(buf + 8, &l, 8);
    if (len)
        memcpy(buf + IPCM_REMOTE_HDR, body, len);
    return ipcm_remote_write_all(fd, buf, IPCM_REMOTE_HDR + len);
}

int ipcm_remote_recv(int fd, struct ipcm_remote_frame *f, uint64_t *bad_len)
{
    uint8_t h[IPCM_REMOTE_HDR];
    int r = ipcm_remote_read_all(fd, h, sizeof(h));
    if (r < 0)
        return r;
    if (memcmp(h, magic, 4) != 0)
        return -EPROTO;
    uint16_t v, t;
    uint64_t l;
    memcpy(&v, h + 4, 2);
    memcpy(&t, h + 6, 2);
    memcpy(&l, h + 8, 8);
    f->version = be16toh(v);
    f->type = be16toh(t);
    l = be64toh(l);
    /* The bound is checked before anything is read or allocated: a length of 2^63 is
     * a refusal, never a read loop. */
    if (l > IPCM_REMOTE_MAX_BODY) {
        if (bad_len)
            *bad_len = l;
        return -EMSGSIZE;
    }
    f->len = (uint32_t)l;
    return ipcm_remote_read_all(fd, f->body, f->len);
}

void ipcm_remote_error(int fd, const char *fmt, ...)
{
    char text[257];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    (void)ipcm_remote_send(fd, IPCM_RT_ERROR, text, strlen(text));
}

/* Byte j of message seq: cheap, different for every message and position, so a lost,
 * repeated, reordered or torn message fails the check. */
static inline uint8_t pattern(uint64_t seq, size_t j)
{
    return (uint8_t)((seq * 0x9E3779B97F4A7C15ull >> 56) + j * 31u + (j >> 8));
}

void ipcm_remote_fill(uint8_t *buf, size_t size, uint64_t seq)
{
    size_t j = 0;
    if (size >= 8) {
        uint64_t s = htole64(seq);
        memcpy(buf, &s, 8);
        j = 8;
    }
    for (; j < size; j++)
        buf[j] = pattern(seq, j);
}

bool ipcm_remote_check(const uint8_t *buf, size_t size, uint64_t seq)
{
    size_t j = 0;
    if (size >= 8) {
        uint64_t s;
        memcpy(&s, buf, 8);
        if (le64toh(s) != seq)
            return false;
        j = 8;
    }
    for (; j < size; j++)
        if (buf[j] != pattern(seq, j))
            return false;
    return true;
}

static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon++;
            colon += strspn(colon, " \t");
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(out, len, "%s", colon);
            break;
        }
    }
    fclose(f);
}

void ipcm_remote_info_local(struct ipcm_remote_info *info)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->version, sizeof(info->version), "%s", IPCM_VERSION);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(info->host, sizeof(info->host), "%.63s", u.nodename);
        snprintf(info->kernel, sizeof(info->kernel), "%.63s", u.release);
    }
    cpu_model(info->cpu, sizeof(info->cpu));
}

/* Doubles travel as their IEEE-754 bits, big-endian: the same on every Linux host. */
static void put_f64(uint8_t *out, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    u = htobe64(u);
    memcpy(out, &u, 8);
}

static double get_f64(const uint8_t *in)
{
    uint64_t u;
    memcpy(&u, in, 8);
    u = be64toh(u);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

void ipcm_remote_calib_put(uint8_t *out, const struct ipcm_calibration *cal, bool measured)
{
    memset(out, 0, IPCM_REMOTE_CALIB);
    uint32_t m = htobe32(measured ? 1u : 0u);
    memcpy(out, &m, 4);
    if (!measured)
        return;
    const double v[7] = {cal->line_rtt_ns,
                         cal->memcpy_64k_gbs,
                         cal->stream_64k_gbs,
                         cal->raw_pipe_same_ns,
                         cal->raw_pipe_cross_ns,
                         cal->timer_overhead_ns,
                         (double)cal->timer_resolution_ns};
    for (int i = 0; i < 7; i++)
        put_f64(out + 4 + 8 * i, v[i]);
    uint32_t a = htobe32((uint32_t)cal->cpu_a), b = htobe32((uint32_t)cal->cpu_b);
    memcpy(out + 60, &a, 4);
    memcpy(out + 64, &b, 4);
}

bool ipcm_remote_calib_get(const uint8_t *in, struct ipcm_calibration *cal)
{
    uint32_t m, a, b;
    memcpy(&m, in, 4);
    memset(cal, 0, sizeof(*cal));
    cal->line_rtt_ns = cal->memcpy_64k_gbs = cal->stream_64k_gbs = NAN;
    cal->raw_pipe_same_ns = cal->raw_pipe_cross_ns = cal->timer_overhead_ns = NAN;
    if (be32toh(m) != 1u)
        return false;
    double v[7];
    for (int i = 0; i < 7; i++) /* a hostile server's inf or negative reads as unmeasured */
        v[i] = get_f64(in + 4 + 8 * i), v[i] = isfinite(v[i]) && v[i] >= 0 ? v[i] : NAN;
    cal->line_rtt_ns = v[0], cal->memcpy_64k_gbs = v[1], cal->stream_64k_gbs = v[2];
    cal->raw_pipe_same_ns = v[3], cal->raw_pipe_cross_ns = v[4], cal->timer_overhead_ns = v[5];
    cal->timer_resolution_ns = isfinite(v[6]) && v[6] < 1e12 ? (uint64_t)v[6] : 0;
    memcpy(&a, in + 60, 4);
    memcpy(&b, in + 64, 4);
    cal->cpu_a = (int)be32toh(a), cal->cpu_b = (int)be32toh(b);
    return true;
}
