/* SPDX-License-Identifier: MIT */
/*
 * test_shm.c - the shm ring's own cases (CONFORMANCE.md group K): kills at every step of
 * a put and a get, waiters killed in their wait, slow peers, counter wrap, corruption.
 */
#include "testing.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXMSG 65536u
#define HDR 12u /* id, seq, len */

static const struct ipcm_backend *be(void)
{
    const struct ipcm_backend *b = ipcm_backend_find("shm");
    ck_assert_ptr_nonnull(b);
    return b;
}

static struct ipcm_link *mk(enum ipcm_shape shape, size_t max_msg, unsigned depth)
{
    struct ipcm_config cfg = {.max_msg = max_msg, .depth = depth};
    struct ipcm_link *l;
    ck_assert_int_eq(ipcm_link_create(be(), shape, &cfg, &l), 0);
    return l;
}

/* Self-checking payload: id, sequence, length, then bytes derived from all three. */
static void fill(unsigned char *b, uint32_t id, uint32_t seq, size_t len)
{
    uint32_t h[3] = {id, seq, (uint32_t)len};
    memcpy(b, h, len < HDR ? len : HDR);
    for (size_t i = HDR; i < len; i++)
        b[i] = (unsigned char)(id * 31u + seq * 7u + i);
}

/* Returns true if b[0..n) is a whole message; *id and *seq from its header. */
static bool check(const unsigned char *b, size_t n, uint32_t *id, uint32_t *seq)
{
    uint32_t h[3];
    if (n < HDR)
        return false;
    memcpy(h, b, HDR);
    if (h[2] != n)
        return false;
    for (size_t i = HDR; i < n; i++)
        if (b[i] != (unsigned char)(h[0] * 31u + h[1] * 7u + i))
            return false;
    *id = h[0];
    *seq = h[1];
    return true;
}

static size_t msg_size(uint32_t seq)
{
    static const size_t sizes[] = {HDR, 13, 63, 64, 65, 1000, 4095, 4096, 4097, 30000, MAXMSG};
    return sizes[seq % (sizeof(sizes) / sizeof(sizes[0]))];
}

struct warg {
    struct ipcm_link *l;
    enum ipcm_role role;
    uint32_t id, count;
    enum ipcm_shm_point point; /* armed after count messages */
    int sig;
    int timeout_ms;
    bool small; /* every message HDR bytes: many fit, so the end earns its lock's bias */
};

static int producer(const void *arg, size_t len)
{
    const struct warg *a = arg;
    struct ipcm_chan *c;
    unsigned char *buf = malloc(MAXMSG);
    (void)len;
    if (!buf || ipcm_chan_open(a->l, a->role, &c) < 0)
        return 99;
    for (uint32_t s = 0; s < a->count + (a->point ? 1 : 0); s++) {
        if (s == a->count && a->point)
            ipcm_shm_test_kill_at(a->point, a->sig);
        size_t n = a->small ? HDR : msg_size(s);
        fill(buf, a->id, s, n);
        if (ipcm_chan_send(c, buf, n, 10000) != (ssize_t)n)
            return 1;
    }
    ipcm_chan_close(c);
    free(buf);
    return 0;
}

/* Receives count messages (checked), then, if armed, dies in the next receive. */
static int consumer(const void *arg, size_t len)
{
    const struct warg *a = arg;
    struct ipcm_chan *c;
    unsigned char *buf = malloc(MAXMSG);
    uint32_t id, seq;
    (void)len;
    if (!buf || ipcm_chan_open(a->l, a->role, &c) < 0)
        return 99;
    for (uint32_t s = 0; s < a->count; s++) {
        ssize_t n = ipcm_chan_recv(c, buf, MAXMSG, 10000);
        if (n < 0 || !check(buf, (size_t)n, &id, &seq))
            return 1;
    }
    if (a->point) {
        ipcm_shm_test_kill_at(a->point, a->sig);
        ipcm_chan_recv(c, buf, MAXMSG, a->timeout_ms ? a->timeout_ms : -1);
    }
    ipcm_chan_close(c);
    free(buf);
    return 0;
}

static void spawn(struct ipcm_process *p, ipcm_worker_fn fn, const struct warg *a)
{
    ck_assert_int_eq(ipcm_process_spawn(p, "shm test", fn, a, sizeof(*a)), 0);
}

static void join_ok(struct ipcm_process *p)
{
    struct ipcm_exit ex;
    ck_assert_int_eq(ipcm_process_join(p, 20000, &ex), 0);
    ck_assert_msg(ipcm_exit_ok(&ex), "worker: code %d signal %d", ex.code, ex.signal);
}

static void join_killed(struct ipcm_process *p, int sig)
{
    struct ipcm_exit ex;
    ck_assert_int_eq(ipcm_process_join(p, 20000, &ex), 0);
    ck_assert_msg(ex.signal == sig, "worker: code %d signal %d", ex.code, ex.signal);
}

/*
 * Receive up to `most` messages, or until an error (-EPIPE at end-of-stream), checking
 * every message; per-id counts and in-order sequences. Returns 0 after `most`, or the error.
 */
static int drain_n(struct ipcm_chan *c, uint32_t *count, unsigned nids, uint64_t most,
                   int timeout_ms)
{
    unsigned char *buf = malloc(MAXMSG);
    uint32_t id, seq;
    ssize_t n = 0;
    ck_assert_ptr_nonnull(buf);
    for (uint64_t i = 0; i < most && (n = ipcm_chan_recv(c, buf, MAXMSG, timeout_ms)) >= 0; i++) {
        ck_assert_msg(check(buf, (size_t)n, &id, &seq), "corrupt message of %zd B", n);
        ck_assert_uint_lt(id, nids);
        ck_assert_uint_eq(seq, count[id]); /* no loss, no duplicate, in order */
        count[id]++;
    }
    free(buf);
    return n < 0 ? (int)n : 0;
}

static int drain(struct ipcm_chan *c, uint32_t *count, unsigned nids, int timeout_ms)
{
    return drain_n(c, count, nids, UINT64_MAX, timeout_ms);
}

/* Large messages get a ring of four L2 caches by default; a depth the caller gives wins. */
START_TEST(bulk_ring_sized_by_cache_unless_depth_given)
{
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    uint64_t want = l2 > 0 ? 4 * (uint64_t)l2 : (uint64_t)4 << 20;
    struct ipcm_shm_stats st;
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 0);
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_ge(st.cap, want < ((uint64_t)256 << 20) ? want : (uint64_t)256 << 20);
    ipcm_link_destroy(l);
    l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 2);
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_eq(st.cap, (uint64_t)256 << 10); /* two 64 KiB records, the minimum */
    ipcm_link_destroy(l);
    l = mk(IPCM_SHAPE_QUEUE, 64, 0);
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_eq(st.cap, (uint64_t)256 << 10); /* small messages: no bulk sizing */
    ipcm_link_destroy(l);
}
END_TEST

/* ---------------------------------------------------------------- basics */

START_TEST(sizes_wrap_and_end_of_stream)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 4);
    struct ipcm_process p[2];
    struct ipcm_chan *c;
    uint32_t count[2] = {0, 0};
    for (uint32_t i = 0; i < 2; i++)
        spawn(&p[i], producer,
              &(struct warg){.l = l, .role = IPCM_ROLE_SEND, .id = i, .count = 500});
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_RECV, &c), 0);
    ipcm_link_destroy(l);
    ck_assert_int_eq(drain(c, count, 2, 10000), -EPIPE);
    ck_assert_uint_eq(count[0], 500);
    ck_assert_uint_eq(count[1], 500);
    ipcm_chan_close(c);
    join_ok(&p[0]);
    join_ok(&p[1]);
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
}
END_TEST

START_TEST(zero_length_and_oversize)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 1024, 4);
    struct ipcm_chan *c;
    char buf[1025] = {0};
    struct ipcm_shm_stats st;
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_BOTH, &c), 0);
    ck_assert_int_eq(ipcm_chan_send(c, buf, 0, 0), 0);
    ck_assert_int_eq(ipcm_chan_send(c, buf, 1025, 0), -EMSGSIZE);
    ck_assert_int_eq(c->be->send(c, buf, 1025, 0), -EMSGSIZE); /* the backend's own check */
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_eq(st.tail - st.head, 8); /* only the empty message's header */
    ck_assert_int_eq(ipcm_chan_recv(c, buf, 1024, 0), 0);
    ck_assert_int_eq(ipcm_chan_recv(c, buf, 1024, 0), -EAGAIN);
    ipcm_shm_test_close_shared(c);
    ipcm_link_destroy(l);
}
END_TEST

START_TEST(timeouts_and_full_ring)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
    struct ipcm_chan *c;
    static char buf[4096];
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), 0);
    ipcm_link_destroy(l);
    ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), 0), -EAGAIN);
    uint64_t t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), 150), -ETIMEDOUT);
    uint64_t dt = ipcm_now_ns() - t0;
    ck_assert_uint_ge(dt, 150000000u);
    ck_assert_uint_lt(dt, 1000000000u);
    unsigned n = 0;
    while (ipcm_chan_send(c, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf))
        n++;
    ck_assert_uint_ge(n, 4);
    ck_assert_int_eq(ipcm_chan_send(c, buf, sizeof(buf), 0), -EAGAIN);
    t0 = ipcm_now_ns();
    ck_assert_int_eq(ipcm_chan_send(c, buf, sizeof(buf), 150), -ETIMEDOUT);
    ck_assert_uint_ge(ipcm_now_ns() - t0, 150000000u);
    /* Capacity is whole again once drained. */
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(ipcm_chan_send(c, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    ipcm_chan_close(c);
}
END_TEST

START_TEST(layout_and_atomics_checked)
{
    ck_assert(ipcm_shm_test_lock_free());
    static const enum ipcm_shm_field bad[] = {IPCM_SHM_F_MAGIC, IPCM_SHM_F_VERSION,
                                              IPCM_SHM_F_ENDIAN, IPCM_SHM_F_CAP};
    for (unsigned i = 0; i < 4; i++) {
        struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
        struct ipcm_chan *c;
        ck_assert_int_eq(ipcm_shm_test_poke(l, 0, bad[i], 12345), 0);
        ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), -EPROTO);
        ipcm_link_destroy(l);
    }
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
}
END_TEST

/* A hook scribbles shared state while an end is in use: calls fail, nothing crashes. */
START_TEST(corruption_contained)
{
    static const struct {
        enum ipcm_shm_field f;
        uint64_t v;
    } cases[] = {{IPCM_SHM_F_MAGIC, 0},
                 {IPCM_SHM_F_TAIL, 1ull << 40},
                 {IPCM_SHM_F_TAIL, 4},
                 {IPCM_SHM_F_HEAD, 8},
                 {IPCM_SHM_F_REC_LEN, 0x7fffffff},
                 {IPCM_SHM_F_REC_LEN, 3},
                 {IPCM_SHM_F_HEAD, (uint64_t)-4096}};
    static char buf[4096];
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
        struct ipcm_chan *c;
        struct ipcm_shm_stats st;
        ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_BOTH, &c), 0);
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(ipcm_chan_send(c, buf, 100, 0), 100);
        ck_assert_int_eq(ipcm_shm_test_poke(l, 0, cases[i].f, cases[i].v), 0);
        ssize_t r = ipcm_chan_recv(c, buf, sizeof(buf), 0);
        if (r >= 0) /* e.g. a head moved to another record boundary: next ops must see it */
            r = ipcm_chan_recv(c, buf, sizeof(buf), 0);
        ck_assert_msg(r == -ENOTRECOVERABLE, "case %u: recv gave %zd", i, r);
        ck_assert_int_eq(ipcm_chan_send(c, buf, 10, 0), -ENOTRECOVERABLE);
        ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), -1), -ENOTRECOVERABLE);
        ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
        ck_assert(st.broken != 0 || cases[i].f == IPCM_SHM_F_MAGIC);
        ipcm_shm_test_close_shared(c);
        ipcm_link_destroy(l);
    }
}
END_TEST

/* ---------------------------------------------------------------- death */

/* The state letter of a process from /proc (R, S, T, Z...), or '?'. */
static char proc_state(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return '?';
    char *r = fgets(line, sizeof(line), f);
    fclose(f);
    char *e = r ? strrchr(line, ')') : NULL;
    return e && e[1] && e[2] ? e[2] : '?';
}

START_TEST(peer_killed_while_blocked)
{
    /* A consumer blocked forever on an empty ring: its only producer is killed. */
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
    struct ipcm_process p;
    struct ipcm_chan *c;
    static char buf[4096];
    spawn(&p, producer,
          &(struct warg){.l = l,
                         .role = IPCM_ROLE_SEND,
                         .id = 0,
                         .count = 1,
                         .point = IPCM_SHM_AT_PUT_HEADER,
                         .sig = SIGSTOP});
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_RECV, &c), 0);
    ipcm_link_destroy(l);
    ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), 5000), HDR);
    uint64_t t0 = ipcm_now_ns();
    ipcm_process_kill(&p, SIGKILL);
    ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), -1), -EPIPE);
    ck_assert_uint_lt(ipcm_now_ns() - t0, 1000000000u);
    join_killed(&p, SIGKILL);
    ipcm_chan_close(c);

    /* A producer blocked on a full ring: its only consumer is killed. */
    l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
    spawn(&p, consumer,
          &(struct warg){.l = l,
                         .role = IPCM_ROLE_RECV,
                         .count = 0,
                         .point = IPCM_SHM_AT_WAIT_DATA,
                         .sig = SIGSTOP});
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_SEND, &c), 0);
    ipcm_link_destroy(l);
    /* Fill only once it sleeps, or it would take a message and leave. */
    for (int i = 0; i < 500 && proc_state(p.pid) != 'T'; i++)
        usleep(10000);
    ck_assert_int_eq(proc_state(p.pid), 'T');
    ssize_t r;
    while ((r = ipcm_chan_send(c, buf, sizeof(buf), 0)) > 0)
        ;
    ck_assert_int_eq(r, -EAGAIN);
    t0 = ipcm_now_ns();
    ipcm_process_kill(&p, SIGKILL);
    ck_assert_int_eq(ipcm_chan_send(c, buf, sizeof(buf), -1), -EPIPE);
    ck_assert_uint_lt(ipcm_now_ns() - t0, 1000000000u);
    join_killed(&p, SIGKILL);
    ipcm_chan_close(c);
}
END_TEST

/* Test 106: a producer dies after each step of a put; the ring stays whole. */
/*
 * Producer 0 sends `warm` messages, then dies at step `at` inside its next put. With
 * small messages it sends enough first to hold the producer lock's bias when it dies.
 */
static void producer_dies(enum ipcm_shm_point at, uint32_t warm, bool small)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 4);
    struct ipcm_process p[3];
    struct ipcm_chan *c;
    struct ipcm_shm_stats st;
    uint32_t count[3] = {0};

    spawn(&p[0], producer,
          &(struct warg){.l = l,
                         .role = IPCM_ROLE_SEND,
                         .id = 0,
                         .count = warm,
                         .point = at,
                         .sig = SIGKILL,
                         .small = small});
    join_killed(&p[0], SIGKILL);
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    if (small)
        ck_assert_msg(st.prod_bias & 1, "bias generation %u", st.prod_bias);
    /* Producer 1 needs the section the dead one held; producer 2 too. */
    spawn(&p[1], producer, &(struct warg){.l = l, .role = IPCM_ROLE_SEND, .id = 1, .count = 40});
    spawn(&p[2], producer, &(struct warg){.l = l, .role = IPCM_ROLE_SEND, .id = 2, .count = 40});
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_RECV, &c), 0);
    /* The message being put is delivered only if the commit happened. */
    uint32_t sent0 = warm + (at == IPCM_SHM_AT_PUT_COMMITTED ? 1 : 0);
    ck_assert_int_eq(drain_n(c, count, 3, sent0 + 80, 10000), 0);
    join_ok(&p[1]);
    join_ok(&p[2]);
    ck_assert_int_eq(drain_n(c, count, 3, 1, 0), -EAGAIN); /* and nothing more */
    ck_assert_uint_eq(count[0], sent0);
    ck_assert_uint_eq(count[1], 40);
    ck_assert_uint_eq(count[2], 40);
    /* The survivors took over from a dead holder, through the mutex or the bias. */
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_ge(st.recoveries, 1);
    ipcm_shm_test_close_shared(c);
    ipcm_link_destroy(l);
}

START_TEST(producer_dies_at_each_step)
{
    producer_dies((enum ipcm_shm_point)_i, 7, false);
}
END_TEST

START_TEST(biased_producer_dies_at_each_step)
{
    producer_dies((enum ipcm_shm_point)_i, 300, true);
}
END_TEST

/* Full capacity is regained after a producer died mid-put. */
START_TEST(capacity_regained_after_dead_producer)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
    struct ipcm_process p;
    struct ipcm_chan *c;
    static char buf[4096];
    spawn(&p, producer,
          &(struct warg){.l = l,
                         .role = IPCM_ROLE_SEND,
                         .id = 0,
                         .count = 3,
                         .point = IPCM_SHM_AT_PUT_HALF,
                         .sig = SIGKILL});
    join_killed(&p, SIGKILL);
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_BOTH, &c), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(ipcm_chan_recv(c, buf, sizeof(buf), 0), 0);
    ck_assert_int_eq(ipcm_chan_recv(c, buf, sizeof(buf), 0), -EAGAIN);
    struct ipcm_shm_stats st;
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_eq(st.head, st.tail);
    uint64_t n = 0;
    while (ipcm_chan_send(c, buf, 4088, 0) == 4088)
        n++;
    ck_assert_uint_ge(n, st.cap / 4096 - 1); /* all of it, less one padding at the wrap */
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_ge(st.recoveries, 1);
    ipcm_shm_test_close_shared(c);
    ipcm_link_destroy(l);
}
END_TEST

/* The consumer takes `warm` messages, then dies at step `at` of its next get. */
static void consumer_dies(enum ipcm_shm_point at, uint32_t warm, bool small)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 4);
    struct ipcm_process p;
    struct ipcm_chan *c;
    struct ipcm_shm_stats st;
    uint32_t count[1] = {0};
    unsigned char *buf = malloc(MAXMSG);

    spawn(&p, consumer,
          &(struct warg){.l = l, .role = IPCM_ROLE_RECV, .count = warm, .point = at,
                         .sig = SIGKILL});
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_BOTH, &c), 0);
    for (uint32_t s = 0; s < warm + 15; s++) {
        size_t n = small ? HDR : msg_size(s);
        fill(buf, 0, s, n);
        ck_assert_int_eq(ipcm_chan_send(c, buf, n, 10000), (ssize_t)n);
        if (s == warm + 4)
            join_killed(&p, SIGKILL);
    }
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    if (small)
        ck_assert_msg(st.cons_bias & 1, "bias generation %u", st.cons_bias);
    /* The dead consumer took 0..warm-1 and died holding warm: the rest come here. */
    count[0] = warm;
    ck_assert_int_eq(drain_n(c, count, 1, 15, 5000), 0);
    ck_assert_int_eq(drain_n(c, count, 1, 1, 0), -EAGAIN);
    ck_assert_uint_eq(count[0], warm + 15);
    ipcm_shm_test_close_shared(c);
    ipcm_link_destroy(l);
    free(buf);
}

/* Test 108: a consumer dies holding a record; it is redelivered, nothing else changes. */
START_TEST(consumer_dies_mid_read)
{
    consumer_dies((enum ipcm_shm_point)_i, 5, false);
}
END_TEST

START_TEST(biased_consumer_dies_mid_read)
{
    consumer_dies((enum ipcm_shm_point)_i, 300, true);
}
END_TEST

/* Test 109: processes killed while waiting (for data, for space) leave no stale state. */
START_TEST(waiters_killed_in_wait)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
    struct ipcm_process p[4];
    struct ipcm_chan *c;
    struct ipcm_shm_stats st;
    static char buf[4096];

    for (int i = 0; i < 3; i++)
        spawn(&p[i], consumer,
              &(struct warg){.l = l,
                             .role = IPCM_ROLE_RECV,
                             .count = 0,
                             .point = IPCM_SHM_AT_WAIT_DATA,
                             .sig = SIGKILL});
    for (int i = 0; i < 3; i++)
        join_killed(&p[i], SIGKILL);
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_eq(st.data_waiters, 3); /* stale, and harmless */
    spawn(&p[3], consumer, &(struct warg){.l = l, .role = IPCM_ROLE_RECV, .count = 1});
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_SEND, &c), 0);
    usleep(50000); /* let the new consumer fall asleep */
    uint64_t t0 = ipcm_now_ns();
    fill((unsigned char *)buf, 0, 0, 100);
    ck_assert_int_eq(ipcm_chan_send(c, buf, 100, 1000), 100);
    join_ok(&p[3]);
    ck_assert_uint_lt(ipcm_now_ns() - t0, 500000000u);

    /* Producers killed while waiting for space (not even a smallest message fits). */
    while (ipcm_chan_send(c, buf, sizeof(buf), 0) > 0)
        ;
    while (ipcm_chan_send(c, buf, HDR, 0) > 0)
        ;
    for (int i = 0; i < 3; i++)
        spawn(&p[i], producer,
              &(struct warg){.l = l,
                             .role = IPCM_ROLE_SEND,
                             .id = 1,
                             .count = 0,
                             .point = IPCM_SHM_AT_WAIT_SPACE,
                             .sig = SIGKILL});
    for (int i = 0; i < 3; i++)
        join_killed(&p[i], SIGKILL);
    ipcm_shm_test_close_shared(c);
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_BOTH, &c), 0);
    while (ipcm_chan_recv(c, buf, sizeof(buf), 0) >= 0)
        ;
    ck_assert_int_eq(ipcm_chan_send(c, buf, 100, 0), 100);
    ipcm_shm_test_close_shared(c);
    ipcm_link_destroy(l);
}
END_TEST

/* A stopped producer (mid-put, lock held) is slow, not dead: nobody takes its space. */
START_TEST(stopped_producer_not_robbed)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 4);
    struct ipcm_process p[2];
    struct ipcm_chan *c;
    uint32_t count[2] = {0}, id, seq;
    unsigned char *buf = malloc(MAXMSG);
    spawn(&p[0], producer,
          &(struct warg){.l = l,
                         .role = IPCM_ROLE_SEND,
                         .id = 0,
                         .count = 3,
                         .point = IPCM_SHM_AT_PUT_HALF,
                         .sig = SIGSTOP});
    spawn(&p[1], producer, &(struct warg){.l = l, .role = IPCM_ROLE_SEND, .id = 1, .count = 20});
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_BOTH, &c), 0);
    ipcm_link_destroy(l);
    for (int i = 0; i < 500 && proc_state(p[0].pid) != 'T'; i++)
        usleep(10000);
    ck_assert_int_eq(proc_state(p[0].pid), 'T');
    /* Everything committed arrives; its half-written record never does. */
    ssize_t n;
    while ((n = ipcm_chan_recv(c, buf, MAXMSG, 200)) >= 0) {
        ck_assert(check(buf, (size_t)n, &id, &seq));
        ck_assert_uint_eq(seq, count[id]);
        count[id]++;
    }
    ck_assert_int_eq(n, -ETIMEDOUT);
    ck_assert_uint_eq(count[0], 3);
    /* Its lock is not stolen either: other producers wait until their deadline. */
    ck_assert_int_eq(ipcm_chan_send(c, buf, 100, 200), -ETIMEDOUT);
    kill(p[0].pid, SIGCONT);
    ipcm_chan_shutdown(c);
    ck_assert_int_eq(drain(c, count, 2, 5000), -EPIPE);
    /* The resumed producer finishes its put (a 4th message) and exits cleanly. */
    ck_assert_uint_eq(count[0], 4);
    ck_assert_uint_eq(count[1], 20);
    join_ok(&p[0]);
    join_ok(&p[1]);
    ipcm_chan_close(c);
    free(buf);
}
END_TEST

/*
 * A producer that holds the bias and is stopped inside its put keeps its section: a
 * revoker waits until its deadline, and so does the next locker after it; once the
 * producer resumes and leaves, the section is free.
 */
START_TEST(biased_stopped_producer_not_robbed)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 4);
    struct ipcm_process p;
    struct ipcm_chan *c;
    struct ipcm_shm_stats st;
    uint32_t count[2] = {0};
    unsigned char buf[HDR];
    spawn(&p, producer,
          &(struct warg){.l = l,
                         .role = IPCM_ROLE_SEND,
                         .id = 0,
                         .count = 300,
                         .point = IPCM_SHM_AT_PUT_HALF,
                         .sig = SIGSTOP,
                         .small = true});
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_BOTH, &c), 0);
    for (int i = 0; i < 500 && proc_state(p.pid) != 'T'; i++)
        usleep(10000);
    ck_assert_int_eq(proc_state(p.pid), 'T');
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_msg(st.prod_bias & 1, "bias generation %u", st.prod_bias);
    ck_assert_int_eq(drain_n(c, count, 2, 300, 5000), 0);
    ck_assert_int_eq(drain_n(c, count, 2, 1, 100), -ETIMEDOUT);
    fill(buf, 1, 0, HDR);
    ck_assert_int_eq(ipcm_chan_send(c, buf, HDR, 200), -ETIMEDOUT); /* revokes, waits */
    ck_assert_int_eq(ipcm_chan_send(c, buf, HDR, 200), -ETIMEDOUT); /* still inside */
    kill(p.pid, SIGCONT);
    ck_assert_int_eq(ipcm_chan_send(c, buf, HDR, 5000), HDR);
    ck_assert_int_eq(drain_n(c, count, 2, 2, 5000), 0);
    join_ok(&p);
    ck_assert_int_eq(drain_n(c, count, 2, 1, 0), -EAGAIN);
    ck_assert_uint_eq(count[0], 301); /* it finished the put it was stopped in */
    ck_assert_uint_eq(count[1], 1);
    ipcm_shm_test_close_shared(c);
    ipcm_link_destroy(l);
}
END_TEST

/* An owner that holds the bias and sits idle never blocks another producer. */
START_TEST(bias_revoked_from_idle_owner)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, 4096, 4);
    struct ipcm_chan *a, *b, *r;
    struct ipcm_shm_stats st;
    unsigned char buf[4096];
    uint32_t id, seq;
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_SEND, &a), 0);
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_SEND, &b), 0);
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_RECV, &r), 0);
    for (uint32_t s = 0; s < 200; s++) {
        fill(buf, 0, s, HDR);
        ck_assert_int_eq(ipcm_chan_send(a, buf, HDR, 0), HDR);
        ck_assert_int_eq(ipcm_chan_recv(r, buf, sizeof(buf), 0), HDR);
    }
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_msg(st.prod_bias & 1, "bias generation %u", st.prod_bias);
    fill(buf, 1, 0, HDR);
    ck_assert_int_eq(ipcm_chan_send(b, buf, HDR, 0), HDR); /* try-once: no waiting */
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_msg(!(st.prod_bias & 1), "bias generation %u", st.prod_bias);
    fill(buf, 0, 200, HDR);
    ck_assert_int_eq(ipcm_chan_send(a, buf, HDR, 0), HDR); /* a notices, takes the mutex */
    ck_assert_int_eq(ipcm_chan_recv(r, buf, sizeof(buf), 0), HDR);
    ck_assert(check(buf, HDR, &id, &seq));
    ck_assert(id == 1 && seq == 0);
    ck_assert_int_eq(ipcm_chan_recv(r, buf, sizeof(buf), 0), HDR);
    ck_assert(check(buf, HDR, &id, &seq));
    ck_assert(id == 0 && seq == 200);
    ipcm_shm_test_close_shared(a);
    ipcm_shm_test_close_shared(b);
    ipcm_shm_test_close_shared(r);
    ipcm_link_destroy(l);
}
END_TEST

/* Test 111: positions near 2^32 and 2^64, epochs near 2^32: no loss, no stall. */
START_TEST(counter_wraparound)
{
    static const uint64_t starts[] = {(1ull << 32) - 4096, (uint64_t)0 - 200008};
    for (unsigned i = 0; i < 2; i++) {
        struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 4);
        struct ipcm_process p[2];
        struct ipcm_chan *c;
        uint32_t count[2] = {0};
        ck_assert_int_eq(ipcm_shm_test_set_positions(l, starts[i], UINT32_MAX - 3), 0);
        for (uint32_t k = 0; k < 2; k++)
            spawn(&p[k], producer,
                  &(struct warg){.l = l, .role = IPCM_ROLE_SEND, .id = k, .count = 300});
        ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_RECV, &c), 0);
        ipcm_link_destroy(l);
        ck_assert_int_eq(drain(c, count, 2, 10000), -EPIPE);
        ck_assert_uint_eq(count[0], 300);
        ck_assert_uint_eq(count[1], 300);
        join_ok(&p[0]);
        join_ok(&p[1]);
        ipcm_chan_close(c);
    }
}
END_TEST

START_TEST(pipe_shape_ends_exclusive)
{
    struct ipcm_link *l = mk(IPCM_SHAPE_PIPE, 4096, 4);
    struct ipcm_chan *a, *a2, *b;
    char buf[4096];
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_A, &a), 0);
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_A, &a2), -EBUSY);
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_B, &b), 0);
    ck_assert_int_eq(ipcm_chan_send(a, "ping", 4, 0), 4);
    ck_assert_int_eq(ipcm_chan_recv(b, buf, sizeof(buf), 0), 4);
    ck_assert_int_eq(ipcm_chan_send(b, "pong!", 5, 0), 5);
    ck_assert_int_eq(ipcm_chan_recv(a, buf, sizeof(buf), 0), 5);
    ck_assert_int_eq(ipcm_chan_recv(a, buf, sizeof(buf), 0), -EAGAIN);
    ipcm_shm_test_close_shared(a);
    ipcm_shm_test_close_shared(b);
    ipcm_link_destroy(l);
}
END_TEST

/* ---------------------------------------------------------------- kill soak */

/*
 * Random producers and consumers are SIGKILLed at random steps or random times while
 * the parent also consumes. Whatever arrives anywhere must be whole; afterwards the ring
 * must serve a clean exchange at full capacity. IPCM_SHM_SEED=<n> replays a run.
 */
static int soak_consumer(const void *arg, size_t len)
{
    const struct warg *a = arg;
    struct ipcm_chan *c;
    unsigned char *buf = malloc(MAXMSG);
    uint32_t id, seq;
    (void)len;
    if (!buf || ipcm_chan_open(a->l, IPCM_ROLE_RECV, &c) < 0)
        return 99;
    ipcm_shm_test_kill_at(a->point, SIGKILL);
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, buf, MAXMSG, 5000);
        if (n == -EPIPE || n == -ETIMEDOUT)
            break;
        if (n < 0 || !check(buf, (size_t)n, &id, &seq))
            return 1;
    }
    ipcm_chan_close(c);
    return 0;
}

static int soak_producer(const void *arg, size_t len)
{
    const struct warg *a = arg;
    struct ipcm_chan *c;
    unsigned char *buf = malloc(MAXMSG);
    (void)len;
    if (!buf || ipcm_chan_open(a->l, IPCM_ROLE_SEND, &c) < 0)
        return 99;
    for (uint32_t s = 0; s < a->count; s++) {
        if (s == a->count / 2)
            ipcm_shm_test_kill_at(a->point, SIGKILL);
        size_t n = a->small ? HDR : msg_size(s * 7 + a->id);
        fill(buf, a->id, s, n);
        ssize_t r = ipcm_chan_send(c, buf, n, 5000);
        if (r != (ssize_t)n)
            return r == -EPIPE ? 0 : 1;
    }
    ipcm_chan_close(c);
    return 0;
}

START_TEST(random_kill_soak)
{
    const char *env = getenv("IPCM_SHM_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : (unsigned)(ipcm_now_ns() ^ getpid());
    printf("shm kill soak: IPCM_SHM_SEED=%u\n", seed);
    fflush(stdout);
    srandom(seed);
    struct ipcm_link *l = mk(IPCM_SHAPE_QUEUE, MAXMSG, 4);
    struct ipcm_chan *c;
    unsigned char *buf = malloc(MAXMSG);
    uint32_t id, seq;
    ck_assert_int_eq(ipcm_shm_test_open_shared(l, IPCM_ROLE_RECV, &c), 0);
    uint64_t end = ipcm_now_ns() + 3000000000ull;
    unsigned rounds = 0;
    while (ipcm_now_ns() < end) {
        struct ipcm_process p[4];
        /* Every other round streams many small messages: ends earn their lock's bias,
         * lose it to the others and die holding it. */
        bool small = random() % 2;
        for (int i = 0; i < 4; i++) {
            /* Half the workers die at a random named step, some at a random time. */
            enum ipcm_shm_point at = IPCM_SHM_AT_NONE;
            if (random() % 2)
                at = i < 2 ? (enum ipcm_shm_point)(IPCM_SHM_AT_PUT_RESERVED + random() % 5)
                           : (enum ipcm_shm_point)(IPCM_SHM_AT_GET_CLAIMED + random() % 4);
            struct warg a = {.l = l,
                             .id = (uint32_t)i,
                             .count = (small ? 500 : 50) + (uint32_t)(random() % 200),
                             .point = at,
                             .small = small};
            spawn(&p[i], i < 2 ? soak_producer : soak_consumer, &a);
        }
        /* The parent consumes too, until the producers are done or dead. */
        uint64_t stop = ipcm_now_ns() + 300000000ull;
        int victim = (int)(random() % 5), kill_after = (int)(random() % 100);
        for (int k = 0; ipcm_now_ns() < stop; k++) {
            ssize_t n = ipcm_chan_recv(c, buf, MAXMSG, 20);
            if (n >= 0)
                ck_assert_msg(check(buf, (size_t)n, &id, &seq), "seed %u: corrupt", seed);
            else
                ck_assert_msg(n == -ETIMEDOUT, "seed %u: recv %zd", seed, n);
            if (k == kill_after && victim < 4)
                ipcm_process_kill(&p[victim], SIGKILL);
        }
        for (int i = 0; i < 4; i++) {
            struct ipcm_exit ex;
            ipcm_process_stop(&p[i], 50, &ex);
            ck_assert_msg(ex.code <= 0, "seed %u: worker %d exit %d", seed, i, ex.code);
        }
        rounds++;
    }
    /* Survivors' state is whole: drain, then the full capacity serves a clean run. */
    while (ipcm_chan_recv(c, buf, MAXMSG, 0) >= 0)
        ;
    struct ipcm_shm_stats st;
    ck_assert_int_eq(ipcm_shm_test_stats(l, 0, &st), 0);
    ck_assert_uint_eq(st.broken, 0);
    ck_assert_uint_eq(st.head, st.tail);
    printf("shm kill soak: lock bias granted or revoked %u times (producers), %u (consumers); "
           "%llu dead holders recovered\n",
           st.prod_bias, st.cons_bias, (unsigned long long)st.recoveries);
    ipcm_shm_test_close_shared(c);
    struct ipcm_process p;
    spawn(&p, producer, &(struct warg){.l = l, .role = IPCM_ROLE_SEND, .id = 0, .count = 200});
    uint32_t count[1] = {0};
    ck_assert_int_eq(ipcm_chan_open(l, IPCM_ROLE_RECV, &c), 0);
    ipcm_link_destroy(l);
    ck_assert_int_eq(drain(c, count, 1, 5000), -EPIPE);
    ck_assert_uint_eq(count[0], 200);
    join_ok(&p);
    ipcm_chan_close(c);
    free(buf);
    printf("shm kill soak: %u rounds, seed %u\n", rounds, seed);
}
END_TEST

static Suite *shm_suite(void)
{
    Suite *s = suite_create("shm");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sizes_wrap_and_end_of_stream);
    tcase_add_test(tc, zero_length_and_oversize);
    tcase_add_test(tc, timeouts_and_full_ring);
    tcase_add_test(tc, bulk_ring_sized_by_cache_unless_depth_given);
    tcase_add_test(tc, layout_and_atomics_checked);
    tcase_add_test(tc, corruption_contained);
    tcase_add_test(tc, pipe_shape_ends_exclusive);
    tcase_add_test(tc, bias_revoked_from_idle_owner);
    suite_add_tcase(s, tc);
    tc = tcase_create("death");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, peer_killed_while_blocked);
    tcase_add_loop_test(tc, producer_dies_at_each_step, IPCM_SHM_AT_PUT_RESERVED,
                        IPCM_SHM_AT_PUT_COMMITTED + 1);
    tcase_add_test(tc, capacity_regained_after_dead_producer);
    tcase_add_loop_test(tc, biased_producer_dies_at_each_step, IPCM_SHM_AT_PUT_RESERVED,
                        IPCM_SHM_AT_PUT_COMMITTED + 1);
    tcase_add_loop_test(tc, consumer_dies_mid_read, IPCM_SHM_AT_GET_CLAIMED,
                        IPCM_SHM_AT_GET_COPIED + 1);
    tcase_add_loop_test(tc, biased_consumer_dies_mid_read, IPCM_SHM_AT_GET_CLAIMED,
                        IPCM_SHM_AT_GET_COPIED + 1);
    tcase_add_test(tc, waiters_killed_in_wait);
    tcase_add_test(tc, stopped_producer_not_robbed);
    tcase_add_test(tc, biased_stopped_producer_not_robbed);
    tcase_add_test(tc, counter_wraparound);
    tcase_add_test(tc, random_kill_soak);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(shm_suite());
}
