/* SPDX-License-Identifier: MIT */
/*
 * remote.h - remote runs: the control protocol (docs/remote.md), its authentication,
 * the far end (`ipcmark serve`) and the near end (`ipcmark bench --remote`). A part of
 * the harness above the library (cli -> remote -> lib); nothing below includes it.
 */
#ifndef IPCM_REMOTE_H
#define IPCM_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "record.h" /* struct ipcm_calibration: the server reports its own */

/* ---------------------------------------------------------------- protocol */

/* Version 2: OK carries the server's calibration; CASE mode 3 (the server produces).
 * Version 3: CASE mode 4 (reverse latency: the server times), its DONE carries the
 * server's percentiles. */
#define IPCM_REMOTE_PROTO 3u               /* the protocol version this build speaks */
#define IPCM_REMOTE_HDR 16u                /* "IPCR", u16 version, u16 type, u64 body length */
#define IPCM_REMOTE_MAX_BODY 1024u         /* bound on a control body: larger is refused */
#define IPCM_REMOTE_MAX_SIZE (16u << 20)   /* bound on a case's message size */
#define IPCM_REMOTE_MAX_COUNT 100000000ull /* bound on a case's message count */
#define IPCM_REMOTE_NONCE 32u              /* = crypto_auth_BYTES */
#define IPCM_REMOTE_INFO 256u              /* fixed-size host description */
#define IPCM_REMOTE_CALIB 68u              /* u32 measured, 7 doubles, 2 x i32 CPUs */
/* The bound on a reverse-latency count: the server keeps each round trip (8 MB). */
#define IPCM_REMOTE_MAX_RTT 1000000ull
#define IPCM_REMOTE_DONE 24u     /* DONE: u64 verified, u64 bad, u64 server ns */
#define IPCM_REMOTE_DONE_RTT 88u /* DONE of mode 4: + 8 x u64 percentiles */

enum ipcm_remote_type {
    IPCM_RT_HELLO = 1,     /* c->s: info[256] of the client's host */
    IPCM_RT_CHALLENGE = 2, /* s->c: nonce[32], u32 flags (1: key required), info[256] */
    IPCM_RT_AUTH = 3,      /* c->s: tag[32] over the server's nonce, client nonce[32] */
    IPCM_RT_OK = 4,        /* s->c: tag[32] over the client's nonce (zeros: no key),
                            * then the server's calibration[68] */
    IPCM_RT_ERROR = 5,     /* either way: a reason, text without NUL, <= 256 bytes */
    IPCM_RT_BUSY = 6,      /* s->c: text, then the server closes */
    IPCM_RT_CASE = 7,      /* c->s: u32 mode, u32 size, u64 count */
    IPCM_RT_READY = 8,     /* s->c: empty; the data phase of the case follows */
    IPCM_RT_DONE = 9,      /* s->c: u64 verified (reverse: sent), u64 bad, u64 server ns;
                            * mode 4: then u64 count, min, p50, p90, p99, p999, max, mean
                            * of the server's round trips (ns) */
    IPCM_RT_BYE = 10,      /* c->s: empty; the run is over */
};

/* REVERSE: throughput with the server as producer and the client as the verifying
 * consumer (iperf3 -R). REVERSE_LATENCY: the server sends and times each round trip, the
 * client verifies and echoes; the server reports the percentiles in DONE. */
enum ipcm_remote_mode {
    IPCM_RM_LATENCY = 1,
    IPCM_RM_THROUGHPUT = 2,
    IPCM_RM_REVERSE = 3,
    IPCM_RM_REVERSE_LATENCY = 4,
};

/* The server's round trips of a reverse-latency case (ns; nearest-rank percentiles). */
struct ipcm_remote_pct {
    uint64_t count, min, p50, p90, p99, p999, max, mean;
};

/* A host described in HELLO/CHALLENGE: fixed fields, NUL-padded on the wire. */
struct ipcm_remote_info {
    char version[32]; /* ipcmark version */
    char host[64];    /* hostname */
    char kernel[64];  /* uname -r */
    char cpu[96];     /* /proc/cpuinfo model name */
};
void ipcm_remote_info_local(struct ipcm_remote_info *info);

struct ipcm_remote_frame {
    uint16_t version;
    uint16_t type;
    uint32_t len; /* <= IPCM_REMOTE_MAX_BODY */
    uint8_t body[IPCM_REMOTE_MAX_BODY];
};

/*
 * ipcm_remote_send - one frame. ipcm_remote_recv - one frame; -EPROTO for a bad magic,
 * -EMSGSIZE for a length over the bound (*bad_len gets it), -ECONNRESET for a peer that
 * closed (also mid-frame), -ETIMEDOUT past the socket's receive timeout.
 */
int ipcm_remote_send(int fd, uint16_t type, const void *body, size_t len);
int ipcm_remote_recv(int fd, struct ipcm_remote_frame *f, uint64_t *bad_len);
/* ipcm_remote_error - send an ERROR frame with the formatted reason (best effort). */
void ipcm_remote_error(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whole-buffer I/O on a blocking socket with SO_RCVTIMEO/SO_SNDTIMEO; 0 or -errno. */
int ipcm_remote_read_all(int fd, void *buf, size_t n);
int ipcm_remote_write_all(int fd, const void *buf, size_t n);
/* ipcm_remote_timeouts - the socket's send and receive timeout (ms > 0). */
int ipcm_remote_timeouts(int fd, int ms);
/* The verified payload: message seq of size bytes (seq stamped in the first 8). */
void ipcm_remote_fill(uint8_t *buf, size_t size, uint64_t seq);
bool ipcm_remote_check(const uint8_t *buf, size_t size, uint64_t seq);
/* The calibration on the wire (IPCM_REMOTE_CALIB bytes, big-endian; NAN where not
 * measured). ipcm_remote_calib_get returns false when the block says "not measured". */
void ipcm_remote_calib_put(uint8_t *out, const struct ipcm_calibration *cal, bool measured);
bool ipcm_remote_calib_get(const uint8_t *in, struct ipcm_calibration *cal);

/* ---------------------------------------------------------------- keys (auth.c) */

struct ipcm_remote_key {
    bool set;
    uint8_t k[32]; /* crypto_auth key: a BLAKE2b hash of the secret, never sent */
};
/*
 * ipcm_remote_key_load - the key from file (if not NULL; must be a regular file of mode
 * 0600 or stricter, owned by us) or else from IPCMARK_KEY; none is not an error
 * (key->set false). Returns 0, or -errno with a one-line reason in why[len].
 */
int ipcm_remote_key_load(const char *file, struct ipcm_remote_key *key, char *why, size_t len);
/* ipcm_remote_nonce - IPCM_REMOTE_NONCE random bytes. */
void ipcm_remote_nonce(uint8_t *nonce);
/* ipcm_remote_tag - HMAC (crypto_auth) of "ipcmark-remote-1" + dir + nonce. */
void ipcm_remote_tag(const struct ipcm_remote_key *key, char dir, const uint8_t *nonce,
                     uint8_t *tag);
/* ipcm_remote_tag_ok - constant-time check of tag. */
bool ipcm_remote_tag_ok(const struct ipcm_remote_key *key, char dir, const uint8_t *nonce,
                        const uint8_t *tag);

/* ---------------------------------------------------------------- server (serve.c) */

struct ipcm_serve_opts {
    const char *listen; /* ADDR:PORT */
    bool once;          /* exit after the first client served */
    int idle_ms;        /* a read or write that waits longer ends the client */
    struct ipcm_remote_key key;
    /* The server's own calibration, run per client once it is authenticated (so that a
     * stranger cannot make the server spin); NULL: none is reported. Returns 0. */
    int (*calibrate)(struct ipcm_calibration *out);
};
/* ipcm_serve - listen and serve until a signal (or one client, once). Returns an exit
 * code: 0, 2 (bad address), 3 (cannot listen). Prints one line per client on stdout. */
int ipcm_serve(const struct ipcm_serve_opts *o);

/* ---------------------------------------------------------------- client (client.c) */

struct ipcm_remote_conn {
    int fd;
    char local[64], peer[64]; /* ADDR:PORT of each end */
    int mtu;                  /* IP_MTU of the path, or -1 */
    struct ipcm_remote_info server;
    bool server_calibrated;             /* server_cal was measured by the server */
    struct ipcm_calibration server_cal; /* the server's own, from OK */
    char why[320];                      /* the reason of the last failure, one line */
    struct ipcm_remote_pct server_rtt;  /* the last reverse-latency case's, from DONE */
};
/*
 * ipcm_remote_open - connect, HELLO, authenticate. Returns 0, or -errno with conn->why
 * set (-ECONNREFUSED no server, -EACCES key refused, -EPROTO version mismatch, -EBUSY).
 */
int ipcm_remote_open(struct ipcm_remote_conn *c, const char *hostport,
                     const struct ipcm_remote_key *key, int timeout_ms);
/*
 * ipcm_remote_case - one case with its far side on the server. latency: rtt_ns[count]
 * gets each verified round trip; throughput: *elapsed_ns the time from first send to the
 * server's DONE; reverse: from READY to the last message received and verified here;
 * reverse latency: c->server_rtt gets the server's percentiles (rtt_ns unused). Returns 0,
 * -EBADMSG (verification failed; why says which message), or -errno (why set).
 */
int ipcm_remote_case(struct ipcm_remote_conn *c, enum ipcm_remote_mode mode, uint32_t size,
                     uint64_t count, uint64_t *rtt_ns, uint64_t *elapsed_ns);
/* ipcm_remote_close - BYE (best effort) and close. */
void ipcm_remote_close(struct ipcm_remote_conn *c);

#endif /* IPCM_REMOTE_H */
