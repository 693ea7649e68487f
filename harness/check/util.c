/* SPDX-License-Identifier: MIT */
/*
 * util.c - what conformance cases share: failure recording that works across the
 * case's worker processes, worker spawn/join with deadlines, self-checking payloads
 * (XXH3) and a shared delivery ledger that counts loss, duplicates and reordering.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* ---------------------------------------------------------------- recording */

static void record(struct ipcm_check_ctx *ctx, const char *text, bool env)
{
    /* First failure wins: later ones are usually consequences of it. A limit of the
     * environment wins over any failure, though: a worker that could not open its end
     * lets its peer see end-of-stream before it can say why, so the consequence may be
     * recorded first (the runner then reports env, with the failure after the limit). */
    if (env && atomic_fetch_add(&ctx->sh->env, 1) == 0)
        snprintf(ctx->sh->env_message, sizeof(ctx->sh->env_message), "%s", text);
    if (atomic_fetch_add(&ctx->sh->failures, 1) == 0)
        snprintf(ctx->sh->message, sizeof(ctx->sh->message), "%s", text);
}

void ipcm_check_envf(struct ipcm_check_ctx *ctx, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    record(ctx, text, true);
}

const char *ipcm_check_env_reason(long long err)
{
    if (err >= 0 || err <= INT_MIN)
        return NULL;
    const char *why = ipcm_last_error((int)err);
    /* The library explains its own EMFILE (mq_open's included); one it did not explain
     * came from a descriptor the case itself asked for (pipe2, pidfd_open). */
    if (!why && (err == -EMFILE || err == -ENFILE))
        why = ipcm_reason_get(ipcm_reason_limit((int)err, "a descriptor for the case"));
    return why;
}

bool ipcm_check_env_fds(struct ipcm_check_ctx *ctx, const char *what)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return false;
    }
    if (errno != EMFILE)
        return false;
    ipcm_reason_clear();
    ipcm_check_envf(ctx, "%s", ipcm_reason_get(ipcm_reason_limit(-EMFILE, what)));
    return true;
}

void ipcm_check_failf(struct ipcm_check_ctx *ctx, const char *file, int line, const char *fmt, ...)
{
    char text[512];
    const char *base = strrchr(file, '/');
    int n = snprintf(text, sizeof(text), "%s:%d: %s%s", base ? base + 1 : file, line,
                     ctx->shape == IPCM_SHAPE_PIPE ? "[pipe] " : "[queue] ", "");
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(text))
        vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
    va_end(ap);
    record(ctx, text, false);
}

void ipcm_check_naf(struct ipcm_check_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    if (atomic_fetch_add(&ctx->sh->na, 1) != 0 || atomic_load(&ctx->sh->failures))
        return;
    va_start(ap, fmt);
    vsnprintf(ctx->sh->message, sizeof(ctx->sh->message), fmt, ap);
    va_end(ap);
}

void ipcm_check_phase(struct ipcm_check_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->sh->phase, sizeof(ctx->sh->phase), fmt, ap);
    va_end(ap);
}

const char *ipcm_check_fmt_val(long long v, char *buf, size_t len)
{
    if (v < 0 && v > -4096 && strerrorname_np((int)-v))
        snprintf(buf, len, "%lld (%s)", v, strerrorname_np((int)-v));
    else
        snprintf(buf, len, "%lld", v);
    return buf;
}

void ipcm_check_fail_cmp(struct ipcm_check_ctx *ctx, const char *file, int line, const char *expr,
                         long long a, long long b)
{
    char va[48], vb[48];
    const char *why = a != b ? ipcm_check_env_reason(a) : NULL;
    if (why) {
        ipcm_check_envf(ctx, "%s: %s", expr, why);
        return;
    }
    ipcm_check_failf(ctx, file, line, "%s: %s vs %s", expr, ipcm_check_fmt_val(a, va, sizeof(va)),
                     ipcm_check_fmt_val(b, vb, sizeof(vb)));
}

bool ipcm_check_failed(const struct ipcm_check_ctx *ctx)
{
    return atomic_load(&ctx->sh->failures) > 0;
}

/* ---------------------------------------------------------------- processes */

int ipcm_check_scaled_ms(const struct ipcm_check_ctx *ctx, int ms)
{
    return (int)((double)ms * ctx->env->timeout_scale);
}

int ipcm_check_spawn(struct ipcm_check_ctx *ctx, struct ipcm_process *p, const char *name,
                     ipcm_worker_fn fn, const void *arg, size_t len)
{
    int r = ipcm_process_spawn(p, name, fn, arg, len);
    if (r < 0) {
        if (ipcm_check_env_reason(r))
            ipcm_check_envf(ctx, "spawn %s: %s", name, ipcm_check_env_reason(r));
        else
            ipcm_check_failf(ctx, __FILE__, __LINE__, "spawn %s: %s", name, ipcm_strerror(r));
        return r;
    }
    int i = atomic_fetch_add(&ctx->sh->npids, 1);
    if (i < IPCM_CHECK_MAX_PIDS)
        ctx->sh->pids[i] = p->pid;
    return 0;
}

void ipcm_check_reap(struct ipcm_process *p, int timeout_ms, struct ipcm_exit *ex)
{
    struct ipcm_exit dummy;
    if (p->pid > 0)
        ipcm_process_stop(p, timeout_ms, ex ? ex : &dummy);
}

int ipcm_check_spawn_noted(struct ipcm_check_ctx *ctx, struct ipcm_process *p, const char *name,
                           ipcm_worker_fn fn, const void *arg, size_t len, int note[2])
{
    if (pipe2(note, O_CLOEXEC) < 0) {
        int err = -errno;
        note[0] = note[1] = -1;
        return err;
    }
    int r = ipcm_check_spawn(ctx, p, name, fn, arg, len);
    ipcm_close_fd(&note[1]); /* else this copy keeps the note open after the worker dies */
    if (r < 0)
        ipcm_close_fd(&note[0]);
    return r;
}

bool ipcm_check_wait_note(int fd)
{
    char b;
    ssize_t r;
    while ((r = read(fd, &b, 1)) < 0 && errno == EINTR)
        ;
    return r == 1;
}

bool ipcm_check_join(struct ipcm_check_ctx *ctx, struct ipcm_process *p, int timeout_ms,
                     const char *file, int line)
{
    struct ipcm_exit ex = {0};
    char why[48];
    if (p->pid <= 0)
        return true;
    int r = ipcm_process_join(p, ipcm_check_scaled_ms(ctx, timeout_ms), &ex);
    if (r == -ETIMEDOUT) {
        ipcm_process_stop(p, 0, &ex);
        ipcm_check_failf(ctx, file, line, "worker '%s' still running after %d ms (killed)", p->name,
                         timeout_ms);
        return false;
    }
    if (r < 0) {
        ipcm_check_failf(ctx, file, line, "join '%s': %s", p->name, ipcm_strerror(r));
        return false;
    }
    if (!ipcm_exit_ok(&ex)) {
        ipcm_check_failf(ctx, file, line, "worker '%s' ended with %s", p->name,
                         ipcm_exit_describe(&ex, why, sizeof(why)));
        return false;
    }
    return true;
}

struct ipcm_link *ipcm_check_link(struct ipcm_check_ctx *ctx, enum ipcm_shape shape, size_t max_msg,
                                  unsigned depth)
{
    struct ipcm_config cfg = {.max_msg = max_msg, .depth = depth};
    struct ipcm_link *l = NULL;
    int r = ipcm_link_create(ctx->be, shape, &cfg, &l);
    if (r < 0 && ipcm_check_env_reason(r))
        ipcm_check_envf(ctx, "link create (max_msg %zu, depth %u): %s", max_msg, depth,
                        ipcm_check_env_reason(r));
    else if (r < 0)
        ipcm_check_failf(ctx, __FILE__, __LINE__, "link create (max_msg %zu, depth %u): %s (%s)",
                         max_msg, depth, ipcm_strerror(r), ipcm_err_name(r));
    return l;
}

enum ipcm_role ipcm_check_tx_role(enum ipcm_shape s)
{
    return s == IPCM_SHAPE_QUEUE ? IPCM_ROLE_SEND : IPCM_ROLE_A;
}

enum ipcm_role ipcm_check_rx_role(enum ipcm_shape s)
{
    return s == IPCM_SHAPE_QUEUE ? IPCM_ROLE_RECV : IPCM_ROLE_B;
}

uint64_t ipcm_check_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int ipcm_check_child_count(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
    FILE *f = fopen(path, "re");
    int n = 0;
    long pid;
    if (!f)
        return 0;
    while (fscanf(f, "%ld", &pid) == 1)
        n++;
    fclose(f);
    return n;
}

/* ---------------------------------------------------------------- payloads */

#define PAYLOAD_MAGIC 0x6b636863u /* "chck" */

struct payload_hdr {
    uint32_t magic;
    uint32_t producer;
    uint64_t seq;
    uint64_t len;
    uint64_t hash;
};
_Static_assert(sizeof(struct payload_hdr) == IPCM_PAYLOAD_HDR, "payload header size");

static void fill_body(unsigned char *p, size_t n, uint64_t key)
{
    uint64_t st = key;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = ipcm_check_rand(&st);
        memcpy(p + i, &v, 8);
    }
    if (i < n) {
        uint64_t v = ipcm_check_rand(&st);
        memcpy(p + i, &v, n - i);
    }
}

static uint64_t payload_key(uint32_t producer, uint64_t seq, uint64_t len)
{
    return ((uint64_t)producer << 40) ^ (seq * 0x100000001b3ull) ^ (len << 1) ^ PAYLOAD_MAGIC;
}

void ipcm_payload_make(void *buf, size_t len, uint32_t producer, uint64_t seq)
{
    if (len < IPCM_PAYLOAD_HDR) {
        fill_body(buf, len, payload_key(producer, seq, len));
        return;
    }
    struct payload_hdr h = {.magic = PAYLOAD_MAGIC, .producer = producer, .seq = seq, .len = len};
    unsigned char *body = (unsigned char *)buf + IPCM_PAYLOAD_HDR;
    size_t blen = len - IPCM_PAYLOAD_HDR;
    /* Large bodies: a cheap pattern keyed by the message is enough, the hash does the
     * detecting; it still differs between messages so a splice is caught. */
    fill_body(body, blen < 4096 ? blen : 4096, payload_key(producer, seq, len));
    for (size_t off = 4096; off < blen; off += 4096) {
        size_t k = blen - off < 4096 ? blen - off : 4096;
        memcpy(body + off, body, k);
        body[off] ^= (unsigned char)(off >> 12);
    }
    h.hash = XXH3_64bits_withSeed(body, blen, payload_key(producer, seq, len));
    memcpy(buf, &h, sizeof(h));
}

int ipcm_payload_check(const void *buf, size_t n, uint32_t *producer, uint64_t *seq)
{
    if (n < IPCM_PAYLOAD_HDR) {
        unsigned char want[IPCM_PAYLOAD_HDR];
        fill_body(want, n, payload_key(*producer, *seq, n));
        return memcmp(want, buf, n) == 0 ? 0 : -EPROTO;
    }
    struct payload_hdr h;
    memcpy(&h, buf, sizeof(h));
    if (h.magic != PAYLOAD_MAGIC)
        return -EPROTO;
    if (h.len != n)
        return -EMSGSIZE;
    const unsigned char *body = (const unsigned char *)buf + IPCM_PAYLOAD_HDR;
    if (XXH3_64bits_withSeed(body, n - IPCM_PAYLOAD_HDR, payload_key(h.producer, h.seq, n)) !=
        h.hash)
        return -EPROTO;
    *producer = h.producer;
    *seq = h.seq;
    return 0;
}

/* ---------------------------------------------------------------- ledger */

struct ipcm_ledger *ipcm_ledger_new(unsigned nprod, uint64_t nseq)
{
    size_t bytes = sizeof(struct ipcm_ledger) + (size_t)nprod * nseq;
    struct ipcm_ledger *lg = ipcm_shared_alloc(bytes);
    if (!lg)
        return NULL;
    lg->nprod = nprod;
    lg->nseq = nseq;
    lg->bytes = bytes;
    return lg;
}

void ipcm_ledger_free(struct ipcm_ledger *lg)
{
    if (lg)
        ipcm_shared_free(lg, lg->bytes);
}

bool ipcm_ledger_take(struct ipcm_check_ctx *ctx, struct ipcm_ledger *lg, const void *buf, size_t n,
                      uint64_t *last)
{
    uint32_t prod = 0;
    uint64_t seq = 0;
    int r = ipcm_payload_check(buf, n, &prod, &seq);
    atomic_fetch_add(&ctx->sh->messages, 1);
    if (r < 0 || prod >= lg->nprod || seq >= lg->nseq) {
        atomic_fetch_add(&ctx->sh->corrupt, 1);
        return false;
    }
    bool ok = true;
    if (last) {
        if (last[prod] != UINT64_MAX && seq <= last[prod]) {
            atomic_fetch_add(&ctx->sh->reordered, 1);
            ok = false;
        }
        last[prod] = seq;
    }
    if (atomic_fetch_add(&lg->seen[(size_t)prod * lg->nseq + seq], 1) != 0) {
        atomic_fetch_add(&ctx->sh->duplicated, 1);
        ok = false;
    }
    return ok;
}

long long ipcm_ledger_finish(struct ipcm_check_ctx *ctx, struct ipcm_ledger *lg,
                             const uint64_t *sent)
{
    long long lost = 0, dup = 0;
    for (unsigned p = 0; p < lg->nprod; p++)
        for (uint64_t s = 0; s < lg->nseq; s++) {
            unsigned char k = atomic_load(&lg->seen[(size_t)p * lg->nseq + s]);
            if (s < sent[p] && k == 0)
                lost++;
            if (k > 1)
                dup++;
        }
    atomic_fetch_add(&ctx->sh->lost, lost);
    return lost + dup;
}

/* ---------------------------------------------------------------- peers */

struct peer_args {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    enum ipcm_role role;
    unsigned nsend;
    size_t size;
    int ctl[2];
};

static int w_peer(const void *arg, size_t len)
{
    const struct peer_args *a = arg;
    struct ipcm_check_end e;
    (void)len;
    close(a->ctl[1]);
    IPCM_WCHECK_OPEN(a->ctx, a->l, a->role, &e);
    for (unsigned i = 0; i < a->nsend; i++)
        IPCM_WCHECK_EQ(a->ctx, ipcm_check_send_payload(&e, a->size, 9, i, IPCM_CHECK_T_OP_MS),
                       (ssize_t)a->size);
    ipcm_check_wait_note(a->ctl[0]); /* a byte never comes: closing is the release */
    ipcm_check_end_close(&e);
    return 0;
}

int ipcm_check_peer_start(struct ipcm_check_ctx *ctx, struct ipcm_link *l, enum ipcm_role role,
                          unsigned nsend, size_t size, struct ipcm_check_peer *peer)
{
    struct peer_args a = {.ctx = ctx, .l = l, .role = role, .nsend = nsend, .size = size};
    peer->ctl = -1;
    peer->proc.pid = 0;
    if (pipe2(a.ctl, O_CLOEXEC) < 0)
        return -errno;
    int r = ipcm_check_spawn(ctx, &peer->proc, "peer", w_peer, &a, sizeof(a));
    close(a.ctl[0]);
    if (r < 0) {
        close(a.ctl[1]);
        return r;
    }
    peer->ctl = a.ctl[1];
    return 0;
}

bool ipcm_check_peer_release(struct ipcm_check_ctx *ctx, struct ipcm_check_peer *peer)
{
    if (peer->ctl >= 0)
        close(peer->ctl);
    peer->ctl = -1;
    return ipcm_check_join(ctx, &peer->proc, 10000, __FILE__, __LINE__);
}

struct ipcm_chan *ipcm_check_open_pair(struct ipcm_check_ctx *ctx, enum ipcm_shape shape,
                                       size_t max_msg, enum ipcm_role mine, enum ipcm_role theirs,
                                       unsigned nsend, size_t size, struct ipcm_check_peer *peer)
{
    struct ipcm_link *l = ipcm_check_link(ctx, shape, max_msg, 0);
    struct ipcm_chan *c = NULL;
    peer->proc.pid = 0;
    peer->ctl = -1;
    if (!l)
        return NULL;
    int r = ipcm_check_peer_start(ctx, l, theirs, nsend, size, peer);
    if (r == 0)
        r = ipcm_chan_open(l, mine, &c);
    ipcm_link_destroy(l);
    if (r < 0)
        ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "open with peer", r, 0);
    return c;
}

struct ipcm_chan *ipcm_check_with_peer(struct ipcm_check_ctx *ctx, size_t max_msg, unsigned nsend,
                                       size_t size, struct ipcm_check_peer *peer)
{
    return ipcm_check_open_pair(ctx, ctx->shape, max_msg, ipcm_check_rx_role(ctx->shape),
                                ipcm_check_tx_role(ctx->shape), nsend, size, peer);
}

struct ipcm_chan *ipcm_check_open_alone(struct ipcm_check_ctx *ctx, enum ipcm_shape shape,
                                        size_t max_msg, unsigned depth)
{
    struct ipcm_link *l = ipcm_check_link(ctx, shape, max_msg, depth);
    struct ipcm_chan *c = NULL;
    if (!l)
        return NULL;
    int r = ipcm_chan_open(l, shape == IPCM_SHAPE_QUEUE ? IPCM_ROLE_BOTH : IPCM_ROLE_A, &c);
    ipcm_link_destroy(l);
    if (r < 0)
        ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "open alone", r, 0);
    return c;
}

/* ---------------------------------------------------------------- worker ends */

bool ipcm_check_end_open(struct ipcm_check_ctx *ctx, struct ipcm_link *l, enum ipcm_role role,
                         struct ipcm_check_end *e, const char *file, int line)
{
    e->c = NULL;
    e->buf = NULL;
    e->max = 0;
    int r = ipcm_chan_open(l, role, &e->c);
    if (r < 0) {
        ipcm_check_fail_cmp(ctx, file, line, "ipcm_chan_open(l, role, &c) == 0", r, 0);
        return false;
    }
    e->max = ipcm_chan_max_msg(e->c);
    e->buf = malloc(e->max + 1);
    if (!e->buf) {
        ipcm_check_failf(ctx, file, line, "no memory for a %zu B buffer", e->max + 1);
        ipcm_check_end_close(e);
        return false;
    }
    return true;
}

void ipcm_check_end_close(struct ipcm_check_end *e)
{
    free(e->buf);
    e->buf = NULL;
    ipcm_chan_close(e->c);
    e->c = NULL;
}

struct end_worker {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    enum ipcm_role role;
    ipcm_check_body_fn body;
    const void *arg;
};

static int w_end(const void *arg, size_t len)
{
    const struct end_worker *w = arg;
    struct ipcm_check_end e;
    (void)len;
    IPCM_WCHECK_OPEN(w->ctx, w->l, w->role, &e);
    int code = w->body(w->ctx, &e, w->arg);
    ipcm_check_end_close(&e);
    return code;
}

int ipcm_check_spawn_end(struct ipcm_check_ctx *ctx, struct ipcm_process *p, const char *name,
                         struct ipcm_link *l, enum ipcm_role role, ipcm_check_body_fn body,
                         const void *arg)
{
    /* The child runs inside this call (fork), so pointers to this frame stay valid. */
    struct end_worker w = {.ctx = ctx, .l = l, .role = role, .body = body, .arg = arg};
    return ipcm_check_spawn(ctx, p, name, w_end, &w, sizeof(w));
}

ssize_t ipcm_check_send_payload(struct ipcm_check_end *e, size_t size, uint32_t producer,
                                uint64_t seq, int timeout_ms)
{
    ipcm_payload_make(e->buf, size, producer, seq);
    return ipcm_chan_send(e->c, e->buf, size, timeout_ms);
}

ssize_t ipcm_check_consume(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e,
                           struct ipcm_ledger *lg)
{
    uint64_t *last = malloc(lg->nprod * sizeof(*last));
    ssize_t n = -ENOMEM;
    if (!last)
        return n;
    for (unsigned i = 0; i < lg->nprod; i++)
        last[i] = UINT64_MAX;
    while ((n = ipcm_chan_recv(e->c, e->buf, e->max, IPCM_CHECK_T_OP_MS)) >= 0)
        ipcm_ledger_take(ctx, lg, e->buf, (size_t)n, last);
    free(last);
    return n;
}

int ipcm_check_echo(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, int recv_timeout_ms)
{
    for (;;) {
        ssize_t n = ipcm_chan_recv(e->c, e->buf, e->max, recv_timeout_ms);
        if (n == -EPIPE)
            return 0;
        IPCM_WCHECK_GE(ctx, n, 0);
        IPCM_WCHECK_EQ(ctx, ipcm_chan_send(e->c, e->buf, (size_t)n, IPCM_CHECK_T_OP_MS), n);
    }
}

/* ---------------------------------------------------------------- fragmented streams */

struct frag_arg {
    uint32_t producer;
    unsigned per;
    size_t max;
    uint64_t seed;
};

/* Sizes of the fragmented transfers: the edges around the 8-byte header and a payload
 * header, then random ones up to max (at least min). */
static size_t frag_size(uint64_t *st, unsigned i, size_t min, size_t max)
{
    static const size_t edge[] = {0, 1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 100};
    size_t n = i < sizeof(edge) / sizeof(edge[0]) ? edge[i] : ipcm_check_rand(st) % (max + 1);
    return n < min ? min : n > max ? max : n;
}

static int frag_producer(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    const struct frag_arg *a = arg;
    uint64_t st = a->seed ^ a->producer;
    for (unsigned i = 0; i < a->per; i++) {
        size_t n = frag_size(&st, i, IPCM_PAYLOAD_HDR, a->max);
        IPCM_WCHECK_EQ(ctx, ipcm_check_send_payload(e, n, a->producer, i, IPCM_CHECK_T_OP_MS),
                       (ssize_t)n);
    }
    return 0;
}

static int frag_echo(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    (void)arg;
    return ipcm_check_echo(ctx, e, IPCM_CHECK_T_OP_MS);
}

/* Queue shape: two producers, this process consumes into a ledger. */
static void frag_queue(struct ipcm_check_ctx *ctx, struct ipcm_link *l, unsigned per, size_t max)
{
    enum { NP = 2 };
    struct ipcm_process p[NP];
    struct frag_arg a[NP];
    unsigned started = 0;
    struct ipcm_ledger *lg = ipcm_ledger_new(NP, per);
    struct ipcm_check_end e = {0};
    uint64_t sent[NP];
    for (unsigned i = 0; lg && i < NP; i++) {
        a[i] = (struct frag_arg){.producer = i, .per = per, .max = max, .seed = ctx->seed};
        if (ipcm_check_spawn_end(ctx, &p[i], "producer", l, IPCM_ROLE_SEND, frag_producer,
                                 &a[i]) == 0)
            started++;
        sent[i] = per;
    }
    bool open = lg && started == NP && ipcm_check_end_open(ctx, l, IPCM_ROLE_RECV, &e, __FILE__,
                                                           __LINE__);
    ipcm_link_destroy(l);
    if (open) {
        ipcm_check_phase(ctx, "consuming %u x %u fragmented messages", NP, per);
        IPCM_CHECK_OP_(ctx, ipcm_check_consume(ctx, &e, lg), ==, -EPIPE, );
    }
    ipcm_check_end_close(&e);
    for (unsigned i = 0; i < started; i++)
        ipcm_check_join(ctx, &p[i], IPCM_CHECK_T_OP_MS * 3, __FILE__, __LINE__);
    if (open && !ipcm_check_failed(ctx))
        IPCM_CHECK_OP_(ctx, ipcm_ledger_finish(ctx, lg, sent), ==, 0, );
    if (lg)
        ipcm_ledger_free(lg);
    if (!lg)
        ipcm_check_failf(ctx, __FILE__, __LINE__, "no shared memory for the ledger");
}

/* Pipe shape: this process sends, the peer echoes every message, sizes from 0 up. */
static void frag_pipe(struct ipcm_check_ctx *ctx, struct ipcm_link *l, unsigned per, size_t max)
{
    struct ipcm_process p;
    struct ipcm_check_end e = {0};
    int r = ipcm_check_spawn_end(ctx, &p, "echo", l, IPCM_ROLE_B, frag_echo, NULL);
    bool open = r == 0 && ipcm_check_end_open(ctx, l, IPCM_ROLE_A, &e, __FILE__, __LINE__);
    ipcm_link_destroy(l);
    if (r < 0)
        ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "spawn echo", r, 0);
    unsigned char *out = malloc(max ? max : 1);
    uint64_t st = ctx->seed;
    for (unsigned i = 0; open && out && i < per && !ipcm_check_failed(ctx); i++) {
        size_t n = frag_size(&st, i, 0, max);
        ipcm_check_phase(ctx, "message %u of %zu B, fragmented", i, n);
        ipcm_payload_make(out, n, 0, i);
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(e.c, out, n, IPCM_CHECK_T_OP_MS), ==, (ssize_t)n, break);
        ssize_t got = ipcm_chan_recv(e.c, e.buf, e.max, IPCM_CHECK_T_OP_MS);
        uint32_t prod = 0;
        uint64_t seq = i;
        atomic_fetch_add(&ctx->sh->messages, 1);
        IPCM_CHECK_OP_(ctx, got, ==, (ssize_t)n, break);
        if (ipcm_payload_check(e.buf, n, &prod, &seq) < 0 || seq != i ||
            memcmp(e.buf, out, n) != 0) {
            atomic_fetch_add(&ctx->sh->corrupt, 1);
            ipcm_check_failf(ctx, __FILE__, __LINE__, "message %u of %zu B not reassembled", i, n);
        }
    }
    free(out);
    ipcm_check_end_close(&e);
    if (r == 0)
        ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS * 3, __FILE__, __LINE__);
}

void ipcm_check_fragmented(struct ipcm_check_ctx *ctx, unsigned rmax, unsigned wmax, uint64_t seed)
{
    /* Sizes around and above PIPE_BUF reach the non-atomic frame path as well. */
    size_t max = ctx->lim->max_msg < 9000 ? ctx->lim->max_msg : 9000;
    unsigned per = ctx->quick ? 40 : 150;
    if (!ipcm_frame_test_short_io) {
        ipcm_check_naf(ctx, "%s", IPCM_CHECK_NO_SHORT_IO);
        return;
    }
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, max, 0);
    if (!l)
        return;
    /* Armed before the peers fork, so both sides cut their I/O. */
    IPCM_CHECK_GE(ctx, ipcm_frame_test_short_io(rmax, wmax, seed), 0);
    if (ctx->shape == IPCM_SHAPE_QUEUE)
        frag_queue(ctx, l, per, max);
    else
        frag_pipe(ctx, l, per, max);
    /* The hook must have acted here: at least two reads per message (header, payload). */
    int cut = ipcm_frame_test_short_io(0, 0, 0);
    IPCM_CHECK(ctx, cut >= (int)per * 2, "the I/O hook cut only %d reads and writes short", cut);
}
