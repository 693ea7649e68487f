/* SPDX-License-Identifier: MIT */
/*
 * serve.c - `ipcmark serve`: the far end of remote runs. The parent listens and serves
 * one client at a time in a child process (a crash or a hostile client ends that child
 * only); a client that arrives while one is served gets BUSY. One line per client.
 */
#include "remote.h"

#include "ipcmark.h"
#include "remote_net.h"

#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* What one client did, for its line. */
struct client_log {
    char peer[64];
    char host[64];
    char cases[240];
    size_t ncases;    /* distinct cases in a row */
    size_t last_at;   /* where the last one starts in cases */
    uint64_t last[3]; /* its mode, size, count */
    unsigned reps;    /* how many times in a row */
};

static const char *recv_reason(int r, uint64_t bad_len, int idle_ms, char *buf, size_t len)
{
    switch (r) {
    case -ETIMEDOUT: snprintf(buf, len, "silent for %d ms (idle timeout)", idle_ms); break;
    case -EPROTO: snprintf(buf, len, "not the ipcmark protocol (bad magic)"); break;
    case -EMSGSIZE:
        snprintf(buf, len, "frame length %llu over the bound %u", (unsigned long long)bad_len,
                 IPCM_REMOTE_MAX_BODY);
        break;
    case -ECONNRESET: snprintf(buf, len, "client closed the connection mid-run"); break;
    default: snprintf(buf, len, "receive failed: %s", strerror(-r));
    }
    return buf;
}

/* HELLO, CHALLENGE, AUTH, OK. Returns 0 or -1 with why set (and the client told). */
static int handshake(int fd, const struct ipcm_serve_opts *o, struct client_log *lg, char *why,
                     size_t wlen)
{
    struct ipcm_remote_frame f;
    uint64_t bad = 0;
    int r = ipcm_remote_recv(fd, &f, &bad);
    if (r < 0) {
        recv_reason(r, bad, o->idle_ms, why, wlen);
        ipcm_remote_error(fd, "%s", why);
        return -1;
    }
    if (f.version != IPCM_REMOTE_PROTO) {
        snprintf(why, wlen, "protocol version %u not supported: this server (ipcmark %s) speaks %u",
                 f.version, IPCM_VERSION, IPCM_REMOTE_PROTO);
        ipcm_remote_error(fd, "%s", why);
        return -1;
    }
    if (f.type != IPCM_RT_HELLO || f.len != sizeof(struct ipcm_remote_info)) {
        snprintf(why, wlen, "expected HELLO of %zu bytes, got type %u of %u bytes",
                 sizeof(struct ipcm_remote_info), f.type, f.len);
        ipcm_remote_error(fd, "%s", why);
        return -1;
    }
    struct ipcm_remote_info ci;
    memcpy(&ci, f.body, sizeof(ci));
    ci.host[sizeof(ci.host) - 1] = '\0';
    snprintf(lg->host, sizeof(lg->host), "%s", ci.host);

    uint8_t ch[IPCM_REMOTE_NONCE + 4 + sizeof(struct ipcm_remote_info)];
    uint8_t nonce[IPCM_REMOTE_NONCE];
    ipcm_remote_nonce(nonce);
    uint32_t flags = htobe32(o->key.set ? 1u : 0u);
    struct ipcm_remote_info si;
    ipcm_remote_info_local(&si);
    memcpy(ch, nonce, sizeof(nonce));
    memcpy(ch + sizeof(nonce), &flags, 4);
    memcpy(ch + sizeof(nonce) + 4, &si, sizeof(si));
    if ((r = ipcm_remote_send(fd, IPCM_RT_CHALLENGE, ch, sizeof(ch))) < 0) {
        snprintf(why, wlen, "send failed: %s", strerror(-r));
        return -1;
    }
    if ((r = ipcm_remote_recv(fd, &f, &bad)) < 0) {
        recv_reason(r, bad, o->idle_ms, why, wlen);
        ipcm_remote_error(fd, "%s", why);
        return -1;
    }
    if (f.type != IPCM_RT_AUTH || f.len != 2 * IPCM_REMOTE_NONCE) {
        snprintf(why, wlen, "expected AUTH, got type %u of %u bytes", f.type, f.len);
        ipcm_remote_error(fd, "%s", why);
        return -1;
    }
    uint8_t ok[IPCM_REMOTE_NONCE + IPCM_REMOTE_CALIB] = {0};
    if (o->key.set) {
        if (!ipcm_remote_tag_ok(&o->key, 'c', nonce, f.body)) {
            snprintf(why, wlen, "wrong key (authentication failed)");
            ipcm_remote_error(fd, "the server refused the key: authentication failed");
            return -1;
        }
        ipcm_remote_tag(&o->key, 's', f.body + IPCM_REMOTE_NONCE, ok);
    }
    /* Measured now, for this client: the figures describe the server as the run finds it. */
    struct ipcm_calibration cal;
    bool measured = o->calibrate && o->calibrate(&cal) == 0;
    ipcm_remote_calib_put(ok + IPCM_REMOTE_NONCE, &cal, measured);
    if ((r = ipcm_remote_send(fd, IPCM_RT_OK, ok, sizeof(ok))) < 0) {
        snprintf(why, wlen, "send failed: %s", strerror(-r));
        return -1;
    }
    return 0;
}

/* The far side of one case: echo (latency) or consume (throughput), verifying each, or
 * produce (reverse: the client verifies; DONE's first count is what was sent). */
static int run_case(int fd, uint32_t mode, uint32_t size, uint64_t count, char *why, size_t wlen)
{
    uint8_t *buf = malloc(size);
    if (!buf) {
        snprintf(why, wlen, "cannot allocate %u bytes", size);
        ipcm_remote_error(fd, "%s", why);
        return -1;
    }
    int r = ipcm_remote_send(fd, IPCM_RT_READY, NULL, 0);
    uint64_t ok = 0, bad = 0, t0 = ipcm_now_ns();
    for (uint64_t i = 0; r == 0 && i < count; i++) {
        if (mode == IPCM_RM_REVERSE) {
            ipcm_remote_fill(buf, size, i);
            if ((r = ipcm_remote_write_all(fd, buf, size)) == 0)
                ok++;
            continue;
        }
        r = ipcm_remote_read_all(fd, buf, size);
        if (r < 0)
            break;
        if (ipcm_remote_check(buf, size, i))
            ok++;
        else
            bad++;
        if (mode == IPCM_RM_LATENCY)
            r = ipcm_remote_write_all(fd, buf, size);
    }
    uint64_t ns = ipcm_now_ns() - t0;
    free(buf);
    if (r < 0) {
        snprintf(why, wlen, "case ended: %s",
                 r == -ECONNRESET || r == -EPIPE ? "client closed the connection mid-case"
                                                 : strerror(-r));
        return -1;
    }
    uint64_t done[3] = {htobe64(ok), htobe64(bad), htobe64(ns)};
    if ((r = ipcm_remote_send(fd, IPCM_RT_DONE, done, sizeof(done))) < 0) {
        snprintf(why, wlen, "send failed: %s", strerror(-r));
        return -1;
    }
    return 0;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Nearest-rank percentile q of n sorted values (as the client's latency). */
static uint64_t pct(const uint64_t *v, uint64_t n, double q)
{
    uint64_t i = (uint64_t)(q * (double)n);
    return v[i < n ? i : n - 1];
}

/* The far side of a reverse-latency case (mode 4): send message i, time until its echo
 * is back and verified; DONE then carries the percentiles of the round trips. count is
 * bounded by IPCM_REMOTE_MAX_RTT before this is called. */
static int run_rtt_case(int fd, uint32_t size, uint64_t count, char *why, size_t wlen)
{
    uint8_t *out = malloc(size), *in = malloc(size);
    uint64_t *rtt = malloc(count * sizeof(*rtt));
    if (!out || !in || !rtt) {
        free(out), free(in), free(rtt);
        snprintf(why, wlen, "cannot allocate %llu round-trip times of %u bytes",
                 (unsigned long long)count, size);
        ipcm_remote_error(fd, "%s", why);
        return -1;
    }
    int r = ipcm_remote_send(fd, IPCM_RT_READY, NULL, 0);
    uint64_t ok = 0, bad = 0, t0 = ipcm_now_ns(), sum = 0;
    for (uint64_t i = 0; r == 0 && i < count; i++) {
        ipcm_remote_fill(out, size, i);
        uint64_t s0 = ipcm_now_ns();
        if ((r = ipcm_remote_write_all(fd, out, size)) == 0)
            r = ipcm_remote_read_all(fd, in, size);
        rtt[i] = ipcm_now_ns() - s0;
        sum += rtt[i];
        if (r == 0 && ipcm_remote_check(in, size, i))
            ok++;
        else if (r == 0)
            bad++;
    }
    uint64_t ns = ipcm_now_ns() - t0;
    free(out);
    free(in);
    if (r < 0) {
        free(rtt);
        snprintf(why, wlen, "case ended: %s",
                 r == -ECONNRESET || r == -EPIPE ? "client closed the connection mid-case"
                                                 : strerror(-r));
        return -1;
    }
    qsort(rtt, count, sizeof(*rtt), cmp_u64);
    uint64_t done[IPCM_REMOTE_DONE_RTT / 8] = {ok,
                                               bad,
                                               ns,
                                               count,
                                               rtt[0],
                                               pct(rtt, count, 0.50),
                                               pct(rtt, count, 0.90),
                                               pct(rtt, count, 0.99),
                                               pct(rtt, count, 0.999),
                                               rtt[count - 1],
                                               sum / count};
    free(rtt);
    for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
        done[i] = htobe64(done[i]);
    if ((r = ipcm_remote_send(fd, IPCM_RT_DONE, done, sizeof(done))) < 0) {
        snprintf(why, wlen, "send failed: %s", strerror(-r));
        return -1;
    }
    return 0;
}

/* The client's cases for its line; a repeated case is counted, not listed again. */
static void log_case(struct client_log *lg, uint32_t mode, uint32_t size, uint64_t count)
{
    const uint64_t key[3] = {mode, size, count};
    if (lg->ncases && memcmp(key, lg->last, sizeof(key)) == 0) {
        lg->reps++;
        lg->cases[lg->last_at] = '\0';
    } else {
        memcpy(lg->last, key, sizeof(key));
        lg->reps = 1;
        lg->last_at = strlen(lg->cases);
        lg->ncases++;
    }
    size_t used = lg->last_at;
    char reps[32] = "";
    if (lg->reps > 1)
        snprintf(reps, sizeof(reps), " (%u times)", lg->reps);
    if (used + 60 < sizeof(lg->cases))
        snprintf(lg->cases + used, sizeof(lg->cases) - used, "%s%s %uB x%llu%s",
                 lg->ncases > 1 ? ", " : "",
                 mode == IPCM_RM_LATENCY      ? "latency"
                 : mode == IPCM_RM_THROUGHPUT ? "throughput"
                 : mode == IPCM_RM_REVERSE    ? "reverse throughput"
                                              : "reverse latency",
                 size, (unsigned long long)count, reps);
    else if (!strstr(lg->cases, "..."))
        snprintf(lg->cases + used, sizeof(lg->cases) - used, ", ...");
}

/* CASE frames until BYE. Returns 0 or -1 with why set. */
static int case_loop(int fd, const struct ipcm_serve_opts *o, struct client_log *lg, char *why,
                     size_t wlen)
{
    for (;;) {
        struct ipcm_remote_frame f;
        uint64_t bad = 0;
        int r = ipcm_remote_recv(fd, &f, &bad);
        if (r < 0) {
            recv_reason(r, bad, o->idle_ms, why, wlen);
            ipcm_remote_error(fd, "%s", why);
            return -1;
        }
        if (f.type == IPCM_RT_BYE)
            return 0;
        if (f.type != IPCM_RT_CASE || f.len != 16) {
            snprintf(why, wlen, "expected CASE or BYE, got type %u of %u bytes", f.type, f.len);
            ipcm_remote_error(fd, "%s", why);
            return -1;
        }
        uint32_t mode, size;
        uint64_t count;
        memcpy(&mode, f.body, 4);
        memcpy(&size, f.body + 4, 4);
        memcpy(&count, f.body + 8, 8);
        mode = be32toh(mode), size = be32toh(size), count = be64toh(count);
        if (mode < IPCM_RM_LATENCY || mode > IPCM_RM_REVERSE_LATENCY) {
            ipcm_remote_error(fd,
                              "mode %u not served (latency 1, throughput 2, reverse 3, "
                              "reverse latency 4)",
                              mode);
            continue; /* a refusal, not an end: the client may ask for another case */
        }
        if (size < 1 || size > IPCM_REMOTE_MAX_SIZE || count < 1 || count > IPCM_REMOTE_MAX_COUNT) {
            ipcm_remote_error(fd, "size %u or count %llu out of bounds (1..%u, 1..%llu)", size,
                              (unsigned long long)count, IPCM_REMOTE_MAX_SIZE,
                              IPCM_REMOTE_MAX_COUNT);
            continue;
        }
        if (mode == IPCM_RM_REVERSE_LATENCY && count > IPCM_REMOTE_MAX_RTT) {
            ipcm_remote_error(fd,
                              "reverse latency count %llu over the bound %llu (the server "
                              "keeps each round trip)",
                              (unsigned long long)count, IPCM_REMOTE_MAX_RTT);
            continue;
        }
        log_case(lg, mode, size, count);
        if ((mode == IPCM_RM_REVERSE_LATENCY ? run_rtt_case(fd, size, count, why, wlen)
                                             : run_case(fd, mode, size, count, why, wlen)) < 0)
            return -1;
    }
}

/* One client, in the child. Returns the child's exit status. */
static int serve_client(int fd, const struct sockaddr_storage *peer,
                        const struct ipcm_serve_opts *o)
{
    struct client_log lg = {.host = "?"};
    char why[300] = "";
    ipcm_net_format(peer, lg.peer, sizeof(lg.peer));
    int rc = 0;
    if (ipcm_remote_timeouts(fd, o->idle_ms) < 0) {
        snprintf(why, sizeof(why), "cannot set timeouts: %s", strerror(errno));
        rc = -1;
    } else if (!o->key.set && !ipcm_net_is_loopback(peer)) {
        snprintf(why, sizeof(why), "refused: this server has no key, so it serves loopback only");
        ipcm_remote_error(fd, "this server has no key (--key-file or IPCMARK_KEY): it serves "
                              "loopback clients only");
        rc = -1;
    } else {
        rc = handshake(fd, o, &lg, why, sizeof(why));
        if (rc == 0)
            rc = case_loop(fd, o, &lg, why, sizeof(why));
    }
    printf("serve: client %s (%s): %s: %s\n", lg.peer, lg.host, lg.ncases ? lg.cases : "no cases",
           rc == 0 ? "ok" : why);
    fflush(stdout);
    close(fd);
    return rc == 0 ? 0 : 1;
}

static void busy(int fd, const struct sockaddr_storage *peer, int idle_ms)
{
    char p[64];
    ipcm_remote_timeouts(fd, idle_ms < 1000 ? idle_ms : 1000);
    const char *text = "busy: the server is serving another client; try again later";
    (void)ipcm_remote_send(fd, IPCM_RT_BUSY, text, strlen(text));
    printf("serve: client %s: busy, told to retry\n", ipcm_net_format(peer, p, sizeof(p)));
    fflush(stdout);
    close(fd);
}

static int start_child(int lfd, int cfd, const struct sockaddr_storage *peer,
                       const struct ipcm_serve_opts *o)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        ipcm_remote_error(cfd, "server cannot fork: %s", strerror(errno));
        close(cfd);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the server */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        close(lfd);
        _exit(serve_client(cfd, peer, o));
    }
    close(cfd);
    return pid;
}

/* Reap child if it has exited, waiting up to grace_ms for it: a client that ends its
 * run and a next one that connects at once must not race the child's exit into BUSY. */
static bool reaped(pid_t child, int grace_ms, int *status)
{
    struct ipcm_deadline d;
    ipcm_deadline_init(&d, grace_ms);
    for (;;) {
        if (waitpid(child, status, WNOHANG) == child)
            return true;
        if (grace_ms <= 0 || ipcm_deadline_expired(&d))
            return false;
        ipcm_sleep_ms(2);
    }
}

/* The accept loop; returns when stopped or, with once, after the first served client. */
static int serve_loop(int lfd, const struct ipcm_serve_opts *o)
{
    pid_t child = 0;
    int status = 0;
    bool grace_used = false; /* the grace is given once per served client, so 50 waiting
                                connections are told busy at once, not 50 graces later */
    while (!stop) {
        if (child > 0 && reaped(child, 0, &status)) {
            child = 0;
            if (o->once)
                return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        struct ipcm_deadline d;
        ipcm_deadline_init(&d, 100);
        int cfd = ipcm_net_accept(lfd, &peer, &plen, &d);
        if (cfd < 0)
            continue; /* timeout, EINTR, or a connection reset before accept */
        if (child > 0 && reaped(child, grace_used ? 0 : 300, &status)) {
            child = 0;
            if (o->once) { /* the one client is served: this one hears why not */
                busy(cfd, &peer, o->idle_ms);
                return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
            }
        }
        if (child > 0) {
            grace_used = true;
            busy(cfd, &peer, o->idle_ms);
        } else {
            grace_used = false;
            child = start_child(lfd, cfd, &peer, o);
        }
    }
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, &status, 0);
    }
    return 0;
}

int ipcm_serve(const struct ipcm_serve_opts *o)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (ipcm_net_parse(o->listen, false, &ss, &len) < 0) {
        fprintf(stderr, "ipcmark serve: bad --listen '%s' (want ADDR:PORT, ADDR numeric)\n",
                o->listen);
        return 2;
    }
    struct sockaddr_storage bound;
    char where[64];
    int lfd = ipcm_net_listen(&ss, len, 64, &bound);
    if (lfd < 0) {
        fprintf(stderr, "ipcmark serve: cannot listen on %s: %s\n", o->listen, strerror(-lfd));
        return 3;
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: accept wakes */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("ipcmark serve: listening on %s, protocol %u, %s\n",
           ipcm_net_format(&bound, where, sizeof(where)), IPCM_REMOTE_PROTO,
           o->key.set ? "key required"
                      : "no key: loopback clients only (--key-file or IPCMARK_KEY for others)");
    fflush(stdout);
    int rc = serve_loop(lfd, o);
    close(lfd);
    return rc == 0 ? 0 : 1;
}
