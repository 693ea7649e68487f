/* SPDX-License-Identifier: MIT */
/*
 * shm.c - shared-memory ring backend: a variable-size byte log per direction in one
 * memfd mapping, futex event counts for blocking, robust locks for crash tolerance.
 *
 * Layout. One MAP_SHARED mapping of a memfd (MFD_CLOEXEC; the fd is closed as soon as
 * it is mapped, so nothing ever appears in /dev/shm and nothing outlives the last
 * process). It holds one control block per direction (one for a queue, two for a pipe)
 * and then each direction's data region (a power of two of bytes, page-aligned). Every
 * control block is split into 128-byte blocks so that producer-owned, consumer-owned
 * and waiter-owned words never share a line: identity (read-mostly: magic, version,
 * sizes, broken, end-of-stream flags), producer (tail, last producer CPU), producer
 * lock, consumer (head, last consumer CPU), consumer lock, and two wait blocks (futex
 * epoch + waiter count for "not empty" and "not full"). Each lock has a block of its
 * own because the other side reads (and spins on) the position next door: a lock word
 * there would cost a cache-line transfer per lock operation. No pointers are stored in
 * shared memory: positions are 64-bit byte counts (position & (cap - 1) is the offset),
 * which never wrap in practice; all arithmetic is on differences, so they may.
 *
 * Records. [8-byte header: u32 length (bit 31: padding), u32 check][payload], padded to
 * 8 bytes. A record never straddles the end of the region: a producer first writes a
 * padding record over the rest of it. check mixes the record's position with its length
 * word, so a stale or scribbled header is recognised.
 *
 * Algorithm. The log [head, tail) holds committed records; [tail, head + cap) is free.
 * Producers are serialised by a process-shared robust lock (the producer lock), and
 * consumers by another (the consumer lock). Each is biased (bias.c): an end that took it
 * uncontended 64 times in a row keeps it and then enters with a plain store and load,
 * no atomic read-modify-write, so a lone producer or consumer pays what an SPSC ring
 * does; another end revokes the bias with membarrier(2) and waits for the owner to step
 * out, which it notices by the kernel's robust-futex report if the owner died. The pipe
 * shape takes the same locks: each of its ends is opened by one process only (a robust
 * "end lock", held for the life of the end, refuses a second open with -EBUSY), but an
 * end inherited over fork can still be used by two processes at once, and without the
 * locks both would take the same record (duplicates, then a broken ring). A lone user
 * holds the bias, so an SPSC pipe pays a plain store and load per message. A put, under
 * the producer lock: read tail, read head (acquire; a private cached copy is used until
 * the ring looks full), write the optional padding record, the header and the payload
 * into free space, then publish with ONE store of the new tail. A get, under the consumer lock: read head,
 * read tail (acquire; cached until the ring looks empty), validate and copy out the
 * record(s), then publish with ONE store of the new head. Each critical section thus has
 * a single linearisation point, and everything it wrote before it lies in space nobody
 * else reads. That is what makes crashes cheap: a process killed at any step either
 * published or did not, and the shared state is whole either way.
 *
 * Crash tolerance (recovery driven by confirmed death, never by elapsed time). A dead
 * lock owner is reported by the kernel's robust-futex list processing, which runs even on
 * SIGKILL: the next locker gets EOWNERDEAD, marks the lock consistent and simply carries
 * on (the state is whole, see above); it also wakes every waiter, in case the dead owner
 * died between its publish and its wake. A producer killed before its tail store leaves
 * only unpublished bytes, which the next producer overwrites: consumers never see a
 * partial record and the space is regained at once. A consumer killed before its head
 * store leaves the record in place and the next consumer delivers it (exactly once among
 * the processes whose recv returned). A slow but live owner (SIGSTOP) keeps its lock:
 * the others wait until their own deadline and get -ETIMEDOUT; nobody is robbed. Liveness
 * never rests on pids: end-of-stream and peer death come from the life pipes of util.c
 * (POLLHUP once every holder of a side's token has closed it or died). Their state is in
 * the kernel, so a dead process cannot corrupt it; the last clean closer also sets a flag
 * in the segment so that the hot paths need no system call. Waiters sleep in slices of
 * SHM_TICK_NS and look at the life pipes between slices, so a dead peer is noticed within
 * a tick even if it died without waking anyone.
 *
 * Containment. Everything read from shared memory is checked before use: the distance
 * tail - head must not exceed cap and both must be 8-aligned; a header's check word must
 * match its position; a length must be at most max_msg (a private copy taken at open)
 * and the record must lie inside both [head, tail) and the region; padding must run to
 * the exact end of the region. Anything else sets `broken`, wakes everyone, and every
 * later call returns -ENOTRECOVERABLE: never a read or write outside the mapping.
 *
 * Blocking. A bounded, adaptive spin (skipped when there is one CPU or when the peer
 * last ran on this very CPU, where spinning only delays it; polls spaced out while a
 * one-way stream keeps arriving at once, see shm_spin), then an event count: the
 * waiter reads the epoch, increments the waiter count and sets `armed` (seq_cst),
 * re-checks the ring and only then calls FUTEX_WAIT(epoch, seen) without
 * FUTEX_PRIVATE_FLAG (the kernel keys a shared futex by page, so mapping addresses may
 * differ). A waker publishes its tail or head with a seq_cst store, then loads the
 * waiter count and `armed` (seq_cst); only if both are set does it disarm (exchange),
 * bump the epoch and FUTEX_WAKE one sleeper, so the uncontended path makes no system
 * call, nor do the publishes made while a woken sleeper is still on its way to a CPU.
 * A woken sleeper re-arms if others still sleep. A dead sleeper leaves the count high,
 * which costs at most one needless wake per disarm. Deadlines are computed once; a
 * wake-up or EINTR never restarts them.
 *
 * poll(2). A receiving end's pollfd is an epoll instance over an eventfd per direction
 * (made at create, inherited like the mapping) and the senders' life pipe; a sender
 * writes the eventfd only while a receiver has armed it for a sleep (see "poll(2) on a
 * ring" below), so an awake poller costs the stream no system call.
 *
 * Asymmetric fences (queue shape). A seq_cst store drains the store buffer, so each put
 * would wait for its own payload's cache misses. An end that streams one way therefore
 * switches to release stores and a compiler barrier (shm_choose_publish), after raising
 * its side's `light` flag with a seq_cst exchange, and the other half of the waker/waiter
 * handshake below moves to the waiters: one that sees the flag runs
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) after registering and before re-checking
 * the ring, so every CPU running a process of the ring executes a full barrier and
 * either the re-check sees the publish or the publisher's load of the waiter count sees
 * the waiter (the argument of (3), with the publisher's fence supplied by the waiter). A
 * waiter that saw the flag clear registered before it was raised; the publisher's fence
 * after raising it orders its later loads of the waiter count after that registration.
 * Request/response traffic keeps seq_cst publishes, and its sleepers need no membarrier
 * (which halved an 8-worker pool's throughput on 2 CPUs). The creator records in the
 * segment whether membarrier works; an end that cannot register refuses to open. The
 * pipe shape keeps seq_cst publishes: its round trips are faster with them (250 against
 * 270 ns across CPUs) and its sleepers never need membarrier (6.4 against 7.2 us).
 *
 * Memory ordering. (1) Payload and header stores precede the tail store, which is a
 * release (or seq_cst) store; consumers load tail with acquire before reading the record:
 * the record is visible whole. (2) Consumers copy out before the head store (release);
 * producers load head with acquire before writing into the freed space: no producer
 * overwrites bytes still being read. (3) Lost wake-ups: the waiter's seq_cst increment of
 * the waiter count precedes its seq_cst re-load of tail (or head); the waker's seq_cst
 * store of tail (or head) precedes its seq_cst load of the count. In the single total
 * order of seq_cst operations one of the two loads sees the other side's store, so either
 * the waiter does not sleep or the waker wakes it; the epoch read before the increment
 * makes a wake that lands before FUTEX_WAIT return at once. The same argument holds
 * for `armed`: the waiter stores it (seq_cst) before re-loading the ring, the waker
 * loads it after its publish; a waker that saw it clear published before the waiter
 * looked. A sleeper left unwoken by a disarm race (two sleepers, two quick publishes)
 * is awake again within SHM_TICK_NS: a delay, never a hang. (4) Lock hand-over orders
 * successive producers (and consumers); own-side positions are still loaded with acquire
 * so that the order is also visible to ThreadSanitizer in the threads-mode test.
 * Every atomic in the segment is static_asserted (and checked at create) to be lock-free.
 */
#include "bias.h"
#include "internal.h"
#include "testing.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef IPCM_TESTING
#include <signal.h>
#include <stdlib.h>
#endif

#define SHM_MAGIC 0x6d687369u /* "ishm" */
#define SHM_VERSION 4u
#define SHM_ENDIAN 0x01020304u
#define SHM_LINE 128u /* adjacent-line prefetch pairs 64-byte lines */
#define SHM_ALIGN 8u  /* record alignment */
#define SHM_REC_HDR 8u
#define SHM_PAD_FLAG 0x80000000u
#define SHM_RING_MIN ((uint64_t)256 << 10)
#define SHM_RING_MAX ((uint64_t)256 << 20)
#define SHM_MSG_MAX ((size_t)64 << 20) /* a max-size record fits twice in SHM_RING_MAX */
#define SHM_MSG_DEFAULT ((size_t)1 << 20)
#define SHM_DEPTH_DEFAULT 16u
#define SHM_TICK_NS (20 * IPCM_NS_PER_MS) /* a sleeper looks for dead peers this often */
#define SHM_SPIN_MAX_NS 20000u            /* below a cross-CPU futex wake-up on this kind of VM */
#define SHM_SPIN_MIN_NS 500u
#define SHM_GAP_FAST_NS 200u   /* a wait this short: the peer streams right behind us */
#define SHM_GAP_SLOW_NS 2000u  /* a wait this long: a request/response; poll back to back */
#define SHM_GAP_MAX_NS 400u    /* the widest spacing of polls (added latency, at most) */
#define SHM_LIGHT_AFTER 256u   /* one-way messages before an end publishes light */
#define SHM_BULK_MIN 4096u     /* records this large make a stream "bulk" (shm_hold) */
#define SHM_HOLD_MAX_NS 20000u /* the longest a bulk consumer lets its backlog build */
#define SHM_L2_DEFAULT ((uint64_t)1 << 20)
#define SHM_HUP_EVERY 1024u /* a sender polls for dead receivers every this many sends */
#define SHM_NO_CPU UINT32_MAX

/* Internal only: the ring is empty (get) or full (put); the caller waits and retries. */
#define SHM_WOULD_WAIT (-EINPROGRESS)

/* Reasons stored in `broken`. */
enum {
    SHM_BROKEN_POS = 1,
    SHM_BROKEN_HDR,
    SHM_BROKEN_LEN,
    SHM_BROKEN_PAD,
    SHM_BROKEN_MAGIC,
    SHM_BROKEN_LOCK
};

/* The segment is shared between processes: its atomics must not fall back to a lock. */
static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
              "64-bit atomics must be lock-free");
static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4,
              "atomics must have the size of their type (no embedded lock)");

#define RLX memory_order_relaxed
#define ACQ memory_order_acquire
#define REL memory_order_release
#define SC memory_order_seq_cst

struct shm_wait {
    _Atomic uint32_t epoch;   /* the futex word */
    _Atomic uint32_t waiters; /* registered sleepers; a dead one only costs a wake call */
    _Atomic uint32_t armed;   /* a sleeper wants the next publish to wake someone */
    _Atomic uint32_t poll;    /* not_empty: a poller wants the next publish to signal efd */
};

/* One direction's control block. */
struct shm_ctl {
    /* identity: written at create, read-mostly after */
    _Atomic uint32_t magic; /* stored last, with release, when initialised */
    uint32_t version;
    uint32_t endian;
    uint32_t ctl_size;
    uint64_t cap;
    uint64_t max_msg;
    uint64_t data_off;
    uint64_t map_len;
    _Atomic uint32_t broken;
    _Atomic uint32_t no_senders; /* every sender token is gone (set by whoever sees it) */
    _Atomic uint32_t no_receivers;
    _Atomic uint64_t recoveries;
    uint32_t fences;           /* membarrier works: publishes may use light fences (internal.h) */
    _Atomic uint32_t light[2]; /* [0] some tail, [1] some head publish has been light */
    /* producer: the consumer reads tail (and spins on it), so the producer lock, which
     * a lone producer takes and drops every put, lives on a line of its own: otherwise
     * every lock operation would pull the line back from a spinning consumer */
    alignas(SHM_LINE) _Atomic uint64_t tail;
    _Atomic uint32_t prod_cpu;
    struct ipcm_bias wlock; /* aligned: each part has a line of its own */
    /* consumer (same split) */
    alignas(SHM_LINE) _Atomic uint64_t head;
    _Atomic uint32_t cons_cpu;
    struct ipcm_bias rlock;
    alignas(SHM_LINE) struct shm_wait not_empty;
    alignas(SHM_LINE) struct shm_wait not_full;
};

struct shm_map {
    struct shm_ctl dir[2];
    alignas(SHM_LINE) pthread_mutex_t end_lock[2]; /* pipe shape: ends A and B */
};

static_assert(offsetof(struct shm_ctl, head) - offsetof(struct shm_ctl, tail) >= SHM_LINE,
              "producer and consumer words must not share a line pair");
static_assert(sizeof(struct shm_ctl) % SHM_LINE == 0, "control blocks are line-aligned");
static_assert(offsetof(struct shm_ctl, wlock) - offsetof(struct shm_ctl, tail) >= SHM_LINE &&
                  offsetof(struct shm_ctl, rlock) - offsetof(struct shm_ctl, head) >= SHM_LINE,
              "a lock must not share a line pair with the position it guards");

struct shm_link {
    struct shm_map *map;
    size_t map_len;
    unsigned ndirs;
    struct ipcm_life life[2];
    /* The memfd behind map, kept (O_CLOEXEC) until an end opens, so that the link can be
     * handed to an exec'd program (shm_handover_export); valid while has_memfd. */
    int memfd;
    bool has_memfd;
    int efd[2]; /* per direction: the eventfd behind a receiver's pollfd (shm_poll_*) */
};

/* One direction as one end sees it. */
struct shm_end {
    struct shm_ctl *k; /* NULL: the role does not use this direction */
    unsigned char *data;
    uint64_t cap, mask, max_msg;
    int tok;                   /* our side's token (a life pipe write end), -1 after shutdown */
    int watch;                 /* read end whose POLLHUP means the other side is gone */
    int mine;                  /* read end of our own side's pipe: were we the last? */
    bool locked;               /* take the producer/consumer lock per operation */
    bool spin;                 /* more than one CPU */
    bool fences;               /* the segment's asymmetric fences (shm_ctl.fences) */
    bool light;                /* this end publishes with a light fence now (shm_choose_publish) */
    uint32_t streak;           /* messages this end moved while its thread went no other way */
    struct ipcm_bias_end bias; /* our standing with the lock of our side */
    uint64_t cached;           /* producer: a head seen; consumer: a tail seen */
    uint32_t spin_ns;
    uint32_t hup_countdown;
    uint32_t last_cpu;
    uint32_t gap;        /* pauses between two polls of the peer's position (shm_spin) */
    bool sends;          /* the producer side of its direction */
    uint64_t other_seen; /* this thread's messages the other way at our last one */
    bool hold;           /* consumer of a bulk stream: let the backlog build (shm_hold) */
    uint64_t hold_bytes; /* the backlog it waits for */
    uint64_t last_len;   /* length of the last record taken */
    int efd;             /* the direction's eventfd: senders signal it, receivers clear it */
    int epfd;            /* receiver: the pollfd (epoll over efd and watch), made on demand */
    bool polled;         /* receiver: pollfd was handed out; keep it level (shm_poll_settle) */
    bool explicit_arm;   /* receiver: the caller arms around its sleeps (shm_ready) */
    bool parmed;         /* receiver: we set not_empty.poll and no sender has taken it since */
    uint32_t owed;       /* receiver: signals a sender owes efd (took the flag) not yet read */
};

struct shm_chan {
    struct shm_map *map;
    size_t map_len;
    bool owns_map;
    int end_lock; /* index of the end lock held, or -1 */
    struct shm_end tx, rx;
};

/*
 * Kill points (testing.h): shm_at(p) names a step of a put or a get. Only the testing
 * build (IPCM_TESTING, the library the tests link) can stop a process there; in the
 * library users link it is no code at all, so the hot path carries no load or branch
 * for the tests.
 */
#ifdef IPCM_TESTING
static enum ipcm_shm_point shm_kill_point; /* per process: a test arms it after fork */
static int shm_kill_sig;

static inline void shm_at(enum ipcm_shm_point p)
{
    if (__builtin_expect(shm_kill_point == p, 0) && p != IPCM_SHM_AT_NONE)
        raise(shm_kill_sig);
}
#else
#define shm_at(p) ((void)0)
#endif

/* Copy a payload. The testing build may stop halfway through, at kill point half. */
static inline void shm_copy(void *dst, const void *src, size_t len, enum ipcm_shm_point half)
{
#ifdef IPCM_TESTING
    if (shm_kill_point == half) {
        memcpy(dst, src, len / 2);
        shm_at(half);
        memcpy((char *)dst + len / 2, (const char *)src + len / 2, len - len / 2);
        return;
    }
#else
    (void)half;
#endif
    if (len)
        memcpy(dst, src, len);
}

static uint64_t shm_pow2(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static uint64_t shm_align(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Bytes a record of len payload bytes takes: header, payload, padding to SHM_ALIGN. */
static uint64_t shm_rec_size(uint64_t len)
{
    return shm_align(SHM_REC_HDR + len, SHM_ALIGN);
}

static uint32_t shm_check(uint64_t pos, uint32_t word)
{
    uint64_t x = (pos >> 3) ^ ((uint64_t)word << 29) ^ 0x9e3779b97f4a7c15ull;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

static void shm_put_hdr(unsigned char *p, uint64_t pos, uint32_t word)
{
    uint32_t h[2] = {word, shm_check(pos, word)};
    memcpy(p, h, sizeof(h));
}

/* Messages this thread sent [0] and received [1] on any shm channel. */
static _Thread_local uint64_t shm_thread_ops[2];

/* This thread moved messages the other way since this end's last one: it is in a
 * conversation (request/response), not a one-way stream. */
static inline bool shm_talking(const struct shm_end *e)
{
    return shm_thread_ops[e->sends ? 1 : 0] != e->other_seen;
}

/* What one ipcm_cpu_relax() costs here (25 ns on this VM, a few ns on some CPUs). */
static uint32_t shm_pause_ns = 25;
static pthread_once_t shm_pause_once = PTHREAD_ONCE_INIT;

static void shm_pause_calibrate(void)
{
    uint64_t t0 = ipcm_now_ns();
    for (unsigned i = 0; i < 1000; i++)
        ipcm_cpu_relax();
    uint64_t ns = (ipcm_ns_since(t0) + 999) / 1000;
    shm_pause_ns = ns ? (uint32_t)(ns < 1000 ? ns : 1000) : 1;
}

/* ---------------------------------------------------------------- futex waits */

static void shm_futex_wait(_Atomic uint32_t *w, uint32_t seen, uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / IPCM_NS_PER_S),
                          .tv_nsec = (long)(ns % IPCM_NS_PER_S)};
    /* Shared futex (no FUTEX_PRIVATE_FLAG): waiters live in other processes. Every
     * outcome (woken, value changed, timeout, EINTR) just sends the caller round its
     * loop, which re-checks the ring and its deadline. */
    syscall(SYS_futex, w, FUTEX_WAIT, seen, &ts, NULL, 0);
}

static void shm_futex_wake(_Atomic uint32_t *w, int n)
{
    syscall(SYS_futex, w, FUTEX_WAKE, n, NULL, NULL, 0);
}

/*
 * After a seq_cst publish: wake one sleeper if one is armed. Disarming on the wake means
 * that while the woken sleeper is still being scheduled (tens of microseconds across
 * vCPUs) later publishes make no system call; the woken one re-arms for any others.
 */
static inline void shm_notify(struct shm_wait *w)
{
    if (atomic_load_explicit(&w->waiters, SC) != 0 && atomic_load_explicit(&w->armed, SC) &&
        atomic_exchange_explicit(&w->armed, 0, SC)) {
        atomic_fetch_add_explicit(&w->epoch, 1, SC);
        shm_futex_wake(&w->epoch, 1);
    }
}

static void shm_notify_all(struct shm_wait *w)
{
    atomic_fetch_add_explicit(&w->epoch, 1, SC);
    shm_futex_wake(&w->epoch, INT_MAX);
}

static int shm_mark_broken(struct shm_ctl *k, uint32_t why)
{
    uint32_t zero = 0;
    atomic_compare_exchange_strong(&k->broken, &zero, why);
    shm_notify_all(&k->not_empty);
    shm_notify_all(&k->not_full);
    return -ENOTRECOVERABLE;
}

static inline bool shm_is_broken(const struct shm_ctl *k)
{
    return atomic_load_explicit(&k->broken, RLX) != 0 ||
           atomic_load_explicit(&k->magic, RLX) != SHM_MAGIC;
}

/* ---------------------------------------------------------------- poll(2) on a ring */

/*
 * A receiving end's pollfd is an epoll instance over the direction's eventfd and the
 * senders' life pipe (POLLHUP: end-of-stream, even after a SIGKILL). The eventfd costs a
 * system call only around a real sleep in poll(2): a receiver that may sleep sets
 * not_empty.poll (seq_cst) and then re-checks the ring; a sender loads the flag (seq_cst)
 * after its publish and writes the eventfd only if the flag is set and it wins the
 * exchange that clears it, and only while its record is still unread (a receiver
 * that took it and then armed for the next must not be told of it). This is argument
 * (3) below with the flag for the waiter count: either the re-check sees the record or
 * the sender signals; a light publisher's
 * fence is supplied by the receiver's membarrier, as for sleepers. A sender that won the
 * exchange owes one write: the receiver counts it (owed) and reads it back before it
 * arms again, so a write that lands late costs at most one spurious wake-up, never a
 * stuck readable fd. Two modes: a caller that arms around its sleeps (shm_ready, the
 * pool) pays nothing while it is awake; one that only polls gets a level fd
 * (shm_poll_settle), at a write and a read per burst of messages.
 */
static void shm_poll_notify(const struct shm_end *e, uint64_t end)
{
    _Atomic uint32_t *f = &e->k->not_empty.poll;
    if (!atomic_load_explicit(f, SC))
        return;
    /* The receiver took our record already (it armed after taking it): a signal now
     * would only make its fd readable over an empty ring. */
    if ((int64_t)(end - atomic_load_explicit(&e->k->head, SC)) <= 0)
        return;
    if (atomic_exchange_explicit(f, 0, SC)) {
        uint64_t one = 1;
        /* EAGAIN only if the counter is saturated: readable anyway. */
        if (write(e->efd, &one, sizeof(one)) < 0)
            return;
    }
}

/* recv would not block: a record, end-of-stream the segment records, or a broken ring. */
static bool shm_rx_ready(const struct shm_end *e, memory_order mo)
{
    const struct shm_ctl *k = e->k;
    return atomic_load_explicit(&k->tail, mo) != atomic_load_explicit(&k->head, RLX) ||
           atomic_load_explicit(&k->no_senders, RLX) || shm_is_broken(k);
}

/* Read back the writes senders owe this end (each took the flag from us). */
static void shm_poll_collect(struct shm_end *e)
{
    if (e->parmed && !atomic_load_explicit(&e->k->not_empty.poll, SC)) {
        e->parmed = false;
        e->owed++;
    }
    if (e->owed) {
        uint64_t v = 0;
        if (read(e->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
            e->owed = v >= e->owed ? 0 : e->owed - (uint32_t)v;
    }
}

/* Take the flag back. A sender that took it first owes a write. */
static void shm_poll_disarm(struct shm_end *e)
{
    if (e->parmed && !atomic_exchange_explicit(&e->k->not_empty.poll, 0, SC))
        e->owed++;
    e->parmed = false;
}

/* Arm the eventfd for a sleep in poll(2). Returns true (still armed) if the ring turned
 * out ready after all. */
static bool shm_poll_arm(struct shm_end *e)
{
    shm_poll_collect(e);
    if (!e->parmed) {
        atomic_store_explicit(&e->k->not_empty.poll, 1, SC);
        e->parmed = true;
    }
    if (e->fences && atomic_load_explicit(&e->k->light[0], SC))
        ipcm_fence_heavy(); /* stands in for a light publisher's fence */
    return shm_rx_ready(e, SC);
}

/* Level mode: after this end found the ring empty or left it so, make the pollfd
 * readable exactly when recv would not block. */
static void shm_poll_settle(struct shm_end *e)
{
    if (!e->polled || e->explicit_arm || !shm_poll_arm(e))
        return;
    /* Ready after all: the fd must say so. Whoever takes the flag writes. */
    if (atomic_exchange_explicit(&e->k->not_empty.poll, 0, SC)) {
        uint64_t one = 1;
        if (write(e->efd, &one, sizeof(one)) < 0) {
            /* saturated: readable anyway */
        }
    }
    e->parmed = false;
    e->owed++;
}

/* ---------------------------------------------------------------- limits, layout */

static int shm_limits(struct ipcm_limits *out)
{
    memset(out, 0, sizeof(*out));
    out->max_msg = SHM_MSG_MAX;
    out->default_msg = SHM_MSG_DEFAULT;
    out->max_depth = 0; /* bounded by bytes: the ring holds depth max-size messages */
    out->default_depth = SHM_DEPTH_DEFAULT;
    out->buffer_bytes = SHM_RING_MAX;
    snprintf(out->max_msg_source, sizeof(out->max_msg_source),
             "shm ring: %llu MiB per direction at most, a message at most a quarter",
             (unsigned long long)(SHM_RING_MAX >> 20));
    return 0;
}

/* One core's L2 cache in bytes. */
static uint64_t shm_l2_bytes(void)
{
    long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return v > 0 ? (uint64_t)v : SHM_L2_DEFAULT;
}

static uint64_t shm_ring_bytes(const struct ipcm_config *cfg, bool default_depth)
{
    uint64_t rec = shm_rec_size(cfg->max_msg);
    uint64_t want = (uint64_t)cfg->depth * cfg->max_msg;
    /* Bulk messages, unless the caller chose a depth: room for a backlog of one L2
     * (shm_hold) and three times as much for the producer to write into. Pages are only
     * allocated as the ring first goes round. */
    if (default_depth && cfg->max_msg >= SHM_BULK_MIN && want < 4 * shm_l2_bytes())
        want = 4 * shm_l2_bytes();
    if (want < 2 * rec)
        want = 2 * rec; /* an empty ring always fits a max-size record after padding */
    if (want < SHM_RING_MIN)
        want = SHM_RING_MIN;
    want = shm_pow2(want);
    return want > SHM_RING_MAX ? SHM_RING_MAX : want;
}

static bool shm_atomics_lock_free(const struct shm_ctl *k)
{
    return atomic_is_lock_free(&k->tail) && atomic_is_lock_free(&k->head) &&
           atomic_is_lock_free(&k->recoveries) && atomic_is_lock_free(&k->magic) &&
           atomic_is_lock_free(&k->not_empty.epoch);
}

/* Drop this process's copy of the link; unmap unless an end took the mapping over. */
static void shm_link_release(struct shm_link *sl, bool unmap)
{
    for (unsigned d = 0; d < 2; d++) {
        struct ipcm_life *lf = &sl->life[d];
        struct shm_ctl *k = sl->map && d < sl->ndirs ? &sl->map->dir[d] : NULL;
        /* Drop this copy's tokens first; if that made a side empty, say so in the
         * segment and wake the other side, which may be asleep. */
        ipcm_close_fd(&lf->senders[1]);
        ipcm_close_fd(&lf->receivers[1]);
        if (k && atomic_load(&k->magic) == SHM_MAGIC) {
            if (ipcm_life_hup(lf->senders[0])) {
                atomic_store(&k->no_senders, 1);
                shm_notify_all(&k->not_empty);
            }
            if (ipcm_life_hup(lf->receivers[0])) {
                atomic_store(&k->no_receivers, 1);
                shm_notify_all(&k->not_full);
            }
        }
        ipcm_life_close(lf);
        ipcm_close_fd(&sl->efd[d]);
    }
    if (sl->map && unmap)
        munmap(sl->map, sl->map_len);
    sl->map = NULL;
    if (sl->has_memfd)
        ipcm_close_fd(&sl->memfd);
    sl->has_memfd = false;
}

static void shm_destroy(struct ipcm_link *l)
{
    shm_link_release(l->priv, true);
}

static int shm_create(struct ipcm_link *l)
{
    struct shm_link *sl = l->priv;
    uint64_t ring = shm_ring_bytes(&l->cfg, l->default_depth);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t ctl = shm_align(sizeof(struct shm_map), page);
    int err = 0, fd;

    sl->ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    for (unsigned d = 0; d < 2; d++) {
        ipcm_life_init(&sl->life[d]);
        sl->efd[d] = -1;
    }
    if (l->cfg.max_msg > SHM_MSG_MAX || 2 * shm_rec_size(l->cfg.max_msg) > ring)
        return -EMSGSIZE;
    sl->map_len = ctl + sl->ndirs * ring;
    /* A memfd, not a name under /dev/shm: nothing to unlink, nothing to leak. The
     * mapping is inherited through fork; the fd is not needed once mapped. */
    fd = memfd_create("ipcmark-shm", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)sl->map_len) == 0)
        p = mmap(NULL, sl->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    err = p == MAP_FAILED ? -errno : 0;
    if (err) {
        ipcm_close_fd(&fd);
        return err;
    }
    sl->map = p;
    sl->memfd = fd;
    sl->has_memfd = true;
    for (unsigned d = 0; d < sl->ndirs; d++) {
        struct shm_ctl *k = &sl->map->dir[d];
        if (!shm_atomics_lock_free(k)) {
            err = -ENOTSUP;
            goto fail;
        }
        k->version = SHM_VERSION;
        k->endian = SHM_ENDIAN;
        k->ctl_size = (uint32_t)sizeof(struct shm_map);
        k->cap = ring;
        k->max_msg = l->cfg.max_msg;
        k->data_off = ctl + d * ring;
        k->map_len = sl->map_len;
        atomic_init(&k->prod_cpu, SHM_NO_CPU);
        atomic_init(&k->cons_cpu, SHM_NO_CPU);
        k->fences = ipcm_fence_register() == 0;
        if ((err = ipcm_bias_init(&k->wlock)) < 0 || (err = ipcm_bias_init(&k->rlock)) < 0 ||
            (err = ipcm_life_create(&sl->life[d])) < 0)
            goto fail;
        /* Signalled only while a receiver sleeps in poll(2) (shm_poll_notify). */
        if ((sl->efd[d] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
            err = -errno;
            goto fail;
        }
    }
    for (unsigned e = 0; e < 2; e++)
        if ((err = ipcm_robust_init(&sl->map->end_lock[e])) < 0)
            goto fail;
    /* Openers check the magic: it goes last, so nobody uses a half-built header. */
    for (unsigned d = 0; d < sl->ndirs; d++)
        atomic_store_explicit(&sl->map->dir[d].magic, SHM_MAGIC, REL);
    return 0;
fail:
    shm_link_release(sl, true);
    return err;
}

/* Validate a direction's identity block against the mapping before trusting it. */
static int shm_validate(const struct shm_ctl *k, size_t map_len, size_t max_msg)
{
    if (atomic_load_explicit(&k->magic, ACQ) != SHM_MAGIC || k->version != SHM_VERSION ||
        k->endian != SHM_ENDIAN || k->ctl_size != sizeof(struct shm_map) || k->map_len != map_len)
        return -EPROTO;
    if (k->cap < SHM_RING_MIN || k->cap > SHM_RING_MAX || (k->cap & (k->cap - 1)) ||
        k->data_off < sizeof(struct shm_map) || k->data_off > map_len ||
        map_len - k->data_off < k->cap || k->max_msg != max_msg ||
        2 * shm_rec_size(k->max_msg) > k->cap)
        return -EPROTO;
    return 0;
}

static int shm_dup(int fd, int *out)
{
    *out = -1;
    if (fd < 0)
        return 0;
    *out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return *out < 0 ? -errno : 0;
}

static void shm_end_close_fds(struct shm_end *e)
{
    ipcm_close_fd(&e->tok);
    ipcm_close_fd(&e->watch);
    ipcm_close_fd(&e->mine);
    ipcm_close_fd(&e->efd);
    ipcm_close_fd(&e->epfd);
}

static int shm_end_init(struct shm_end *e, struct shm_map *map, size_t map_len,
                        const struct ipcm_life *lf, int efd, unsigned d, bool sends,
                        size_t max_msg)
{
    struct shm_ctl *k = &map->dir[d];
    int err;

    e->tok = e->watch = e->mine = e->efd = e->epfd = -1;
    if ((err = shm_validate(k, map_len, max_msg)) < 0)
        return err;
    e->k = k;
    e->data = (unsigned char *)map + k->data_off;
    e->cap = k->cap;
    e->mask = k->cap - 1;
    e->max_msg = k->max_msg;
    e->spin = ipcm_cpus_online() > 1;
    e->spin_ns = SHM_SPIN_MAX_NS;
    e->hup_countdown = 1; /* the first send looks */
    e->last_cpu = SHM_NO_CPU;
    e->cached = sends ? atomic_load(&k->head) : atomic_load(&k->tail);
    ipcm_bias_end_init(&e->bias);
    pthread_once(&shm_pause_once, shm_pause_calibrate);
    e->sends = sends;
    e->hold_bytes = shm_l2_bytes() < e->cap / 2 ? shm_l2_bytes() : e->cap / 2;
    e->fences = k->fences != 0;
    /* Light-fenced publishes are safe only if every party can run the heavy fence. */
    if (e->fences && !e->bias.fences) {
        err = -ENOSYS;
        goto fail;
    }
    if ((err = shm_dup(efd, &e->efd)) < 0)
        goto fail;
    if (sends) {
        if ((err = shm_dup(lf->senders[1], &e->tok)) < 0 ||
            (err = shm_dup(lf->receivers[0], &e->watch)) < 0 ||
            (err = shm_dup(lf->senders[0], &e->mine)) < 0)
            goto fail;
    } else {
        if ((err = shm_dup(lf->receivers[1], &e->tok)) < 0 ||
            (err = shm_dup(lf->senders[0], &e->watch)) < 0 ||
            (err = shm_dup(lf->receivers[0], &e->mine)) < 0)
            goto fail;
    }
    return 0;
fail:
    shm_end_close_fds(e);
    e->k = NULL;
    return err;
}

static void shm_chan_release(struct shm_chan *sc)
{
    if (sc->tx.k)
        ipcm_bias_end_release(&sc->tx.k->wlock, &sc->tx.bias);
    if (sc->rx.k)
        ipcm_bias_end_release(&sc->rx.k->rlock, &sc->rx.bias);
    shm_end_close_fds(&sc->tx);
    shm_end_close_fds(&sc->rx);
    sc->tx.k = sc->rx.k = NULL;
    if (sc->end_lock >= 0)
        ipcm_robust_unlock(&sc->map->end_lock[sc->end_lock]);
    sc->end_lock = -1;
    if (sc->owns_map && sc->map)
        munmap(sc->map, sc->map_len);
    sc->map = NULL;
}

/* Open an end on the link's mapping; the link keeps its own copy (see shm_attach). */
static int shm_open_end(struct ipcm_chan *c)
{
    struct shm_link *sl = c->link->priv;
    struct shm_chan *sc = c->priv;
    int tx, rx, err = 0;

    sc->end_lock = -1;
    sc->tx.tok = sc->tx.watch = sc->tx.mine = sc->tx.efd = sc->tx.epfd = -1;
    sc->rx.tok = sc->rx.watch = sc->rx.mine = sc->rx.efd = sc->rx.epfd = -1;
    if (!sl->map)
        return -EBADF;
    ipcm_role_dirs(c->role, &tx, &rx);
    sc->map = sl->map;
    sc->map_len = sl->map_len;
    if (c->link->shape == IPCM_SHAPE_PIPE) {
        /* One process per end: then each direction has one producer and one consumer
         * and needs no per-message lock. The end lock is held for the end's life; a
         * dead previous holder (EOWNERDEAD) simply hands it over. */
        int e = c->role == IPCM_ROLE_A ? 0 : 1;
        int r = pthread_mutex_trylock(&sc->map->end_lock[e]);
        if (r == EOWNERDEAD)
            ipcm_robust_consistent(&sc->map->end_lock[e]);
        else if (r)
            return r == EBUSY ? -EBUSY : -r;
        sc->end_lock = e;
    }
    if (tx >= 0 && (err = shm_end_init(&sc->tx, sc->map, sc->map_len, &sl->life[tx], sl->efd[tx],
                                       (unsigned)tx, true, c->max_msg)) < 0)
        goto fail;
    if (rx >= 0 && (err = shm_end_init(&sc->rx, sc->map, sc->map_len, &sl->life[rx], sl->efd[rx],
                                       (unsigned)rx, false, c->max_msg)) < 0)
        goto fail;
    /* Both shapes: a pipe end inherited over fork may be used by two processes at once. */
    sc->tx.locked = sc->rx.locked = true;
    /* Light-fenced publishes help streams through a queue; a pipe's ping-pong is faster
     * with the seq_cst store, which leaves the store buffer at once (measured: 250 ns
     * against 270-280 ns round trip across CPUs), and its sleepers then skip the heavy
     * fence (6.4 against 7.2 us on one CPU). Both ends of a direction agree: same shape. */
    if (c->link->shape == IPCM_SHAPE_PIPE)
        sc->tx.fences = sc->rx.fences = false;
    return 0;
fail:
    sc->owns_map = false;
    shm_chan_release(sc);
    return err;
}

static int shm_attach(struct ipcm_chan *c)
{
    struct shm_chan *sc = c->priv;
    int err = shm_open_end(c);

    if (err < 0)
        return err;
    /* The end owns the mapping now; the link's descriptors go, so that this process
     * holds exactly the tokens of its role (end-of-stream depends on it). */
    sc->owns_map = true;
    shm_link_release(c->link->priv, false);
    return 0;
}

/* ---------------------------------------------------------------- locks, liveness */

static void shm_recovered(struct shm_ctl *k)
{
    atomic_fetch_add(&k->recoveries, 1);
    /* The dead owner may have published and died before waking anyone. */
    shm_notify_all(&k->not_empty);
    shm_notify_all(&k->not_full);
}

struct shm_dl {
    struct ipcm_deadline d;
    int timeout_ms;
    bool set;
};

static const struct ipcm_deadline *shm_dl(struct shm_dl *x)
{
    if (!x->set) {
        ipcm_deadline_init(&x->d, x->timeout_ms);
        x->set = true;
    }
    return &x->d;
}

/* Nanoseconds left (UINT64_MAX: forever), 0 when expired or try-once. */
static uint64_t shm_dl_left_ns(struct shm_dl *x)
{
    const struct ipcm_deadline *d = shm_dl(x);
    if (d->timeout_ms <= 0)
        return d->timeout_ms < 0 ? UINT64_MAX : 0;
    uint64_t now = ipcm_now_ns();
    return now >= d->at_ns ? 0 : d->at_ns - now;
}

/* Enter our side's critical section: under our bias with no atomic read-modify-write,
 * else through the mutex (bias.h). */
static inline int shm_lock(struct shm_end *e, struct ipcm_bias *b, struct shm_dl *dl)
{
    if (!e->locked || ipcm_bias_enter_fast(b, &e->bias))
        return 0;
    int r = ipcm_bias_enter_slow(b, &e->bias, shm_dl(dl), e->spin);
    if (r == 1) {
        /* A holder died inside. Each section publishes with one store: the state is
         * whole, so carry on. */
        shm_recovered(e->k);
        return 0;
    }
    if (r == -ENOTRECOVERABLE)
        return shm_mark_broken(e->k, SHM_BROKEN_LOCK);
    return r;
}

static inline void shm_unlock(struct shm_end *e, struct ipcm_bias *b)
{
    if (e->locked)
        ipcm_bias_leave(b, &e->bias);
}

/*
 * How this end publishes its next record. A seq_cst store (the waker's half of the
 * handshake with sleepers, shm_sleep) drains the store buffer; an end that streams one
 * way (SHM_LIGHT_AFTER messages with its thread going no other way) switches to a
 * release store and a compiler barrier, after raising its side's `light` flag with a
 * seq_cst exchange: from then on sleepers of the other side run the heavy fence that
 * stands in for the publisher's. An end in a conversation (its thread also went the
 * other way) goes back to seq_cst. So a request/response pattern (a pool: 8 workers on
 * 2 CPUs sleep all the time) never makes its sleepers pay for membarrier, which halved
 * its throughput here, and a stream pays for no fence (64 B: 13.8 -> 16 M msg/s).
 */
static inline void shm_choose_publish(struct shm_end *e)
{
    bool talking = shm_talking(e);
    e->other_seen = shm_thread_ops[e->sends ? 1 : 0];
    if (!e->fences)
        return;
    if (talking) {
        e->streak = 0;
        e->light = false;
        return;
    }
    if (e->light || ++e->streak < SHM_LIGHT_AFTER)
        return;
    /* An exchange even when the flag is up already: a full barrier, so that a sleeper
     * that read it clear (and so registered before it was raised) is seen by our later
     * loads of the waiter count. */
    atomic_exchange_explicit(&e->k->light[e->sends ? 0 : 1], 1, SC);
    e->light = true;
}

/* Tell the other side which CPU this end runs on (shm_spin, shm_hold read it), storing
 * only when it changed: the word shares a line with the position the peer polls. */
static inline void shm_note_cpu(struct shm_end *e, _Atomic uint32_t *shared)
{
    int cpu = sched_getcpu();
    if (cpu >= 0 && (uint32_t)cpu != e->last_cpu) {
        e->last_cpu = (uint32_t)cpu;
        atomic_store_explicit(shared, (uint32_t)cpu, RLX);
    }
}

/* The commit of a put or get: one store (see shm_choose_publish). */
static inline void shm_publish(const struct shm_end *e, _Atomic uint64_t *pos, uint64_t v)
{
    if (e->light) {
        atomic_store_explicit(pos, v, REL);
        ipcm_fence_light();
    } else {
        atomic_store_explicit(pos, v, SC);
    }
}

/* Is the other side of this end's direction gone: every receiver (for a sender) or
 * every sender (for a receiver)? Whoever sees it first records it in the segment. */
static bool shm_peers_gone(struct shm_end *e)
{
    _Atomic uint32_t *gone = e->sends ? &e->k->no_receivers : &e->k->no_senders;
    if (atomic_load_explicit(gone, ACQ))
        return true;
    if (!ipcm_life_hup(e->watch))
        return false;
    atomic_store(gone, 1);
    return true;
}

/*
 * Spin until *w moves away from seen, for at most the end's adaptive budget. Returns
 * true when it moved (or the ring broke: the caller looks).
 *
 * Every poll of the peer's position pulls its cache line over here, and the peer's next
 * publish has to pull it back. When a wait ends almost at once, the peer is streaming
 * right behind us and back-to-back polls make it pay a line transfer per record; so
 * the polls are spaced out (up to SHM_GAP_MAX_NS apart), letting it publish several
 * records per transfer: 64 B streams went from 15-16 to 21-22 M msg/s here. Only a
 * thread that moves messages one way spaces its polls: one that also went the other way
 * since this end's last message (shm_talking) waits for an answer and polls back to
 * back (a round trip across CPUs doubled to 510 ns otherwise). So does a long wait or a
 * sleep.
 */
static bool shm_spin(struct shm_end *e, _Atomic uint64_t *w, uint64_t seen,
                     _Atomic uint32_t *peer_cpu)
{
    if (!e->spin)
        return false;
    int me = sched_getcpu();
    /* The peer last ran here: spinning would only keep it off the CPU it needs. */
    if (me >= 0 && (uint32_t)me == atomic_load_explicit(peer_cpu, RLX))
        return false;
    bool talking = shm_talking(e);
    if (talking)
        e->gap = 0;
    uint64_t start = 0;
    uint32_t pauses = 0, next_clock = 64;
    for (;;) {
        if (atomic_load_explicit(w, RLX) != seen) {
            if (e->spin_ns < SHM_SPIN_MAX_NS)
                e->spin_ns *= 2;
            uint64_t waited = (uint64_t)pauses * shm_pause_ns;
            if (waited <= SHM_GAP_FAST_NS && !talking) {
                uint32_t most = SHM_GAP_MAX_NS / shm_pause_ns;
                e->gap = e->gap * 2 + 1 < most ? e->gap * 2 + 1 : most;
            } else if (waited > SHM_GAP_SLOW_NS) {
                e->gap = 0;
            }
            /* A lone consumer that caught up with a one-way stream of large records. */
            e->hold = !e->sends && !talking && waited <= SHM_HOLD_MAX_NS &&
                      e->last_len >= SHM_BULK_MIN && (!e->locked || e->bias.biased);
            return true;
        }
        for (uint32_t g = 0; g <= e->gap; g++)
            ipcm_cpu_relax();
        pauses += e->gap + 1;
        if (pauses >= next_clock) {
            next_clock = pauses + 64;
            uint64_t now = ipcm_now_ns();
            if (!start) {
                start = now;
            } else if (now - start >= e->spin_ns) {
                if (e->spin_ns > SHM_SPIN_MIN_NS)
                    e->spin_ns /= 2;
                e->gap = 0;
                e->hold = false;
                return false;
            }
            if (atomic_load_explicit(&e->k->broken, RLX))
                return true;
        }
    }
}

/* Sleep on w until its epoch moves, the slice ends or the deadline passes. */
static int shm_sleep(const struct shm_end *e, struct shm_wait *w, _Atomic uint64_t *pos,
                     uint64_t seen, struct shm_dl *dl)
{
    /* The publishers we wait for: producers (tail) or consumers (head). */
    _Atomic uint32_t *light = &e->k->light[e->sends ? 1 : 0];
    uint64_t left = shm_dl_left_ns(dl);
    if (left == 0)
        return ipcm_deadline_err(shm_dl(dl));
    uint32_t ep = atomic_load_explicit(&w->epoch, ACQ);
    atomic_fetch_add_explicit(&w->waiters, 1, SC);
    atomic_store_explicit(&w->armed, 1, SC);
    if (e->fences && atomic_load_explicit(light, SC))
        ipcm_fence_heavy(); /* stands in for a light publisher's fence */
    if (atomic_load_explicit(pos, SC) == seen) {
        shm_at(e->sends ? IPCM_SHM_AT_WAIT_SPACE : IPCM_SHM_AT_WAIT_DATA);
        shm_futex_wait(&w->epoch, ep, left < SHM_TICK_NS ? left : SHM_TICK_NS);
    }
    /* Others still asleep: the next publish must wake one of them. */
    if (atomic_fetch_sub_explicit(&w->waiters, 1, SC) > 1)
        atomic_store_explicit(&w->armed, 1, SC);
    return 0;
}

/* ---------------------------------------------------------------- send */

/* Returns len, SHM_WOULD_WAIT when full (head seen in *seen), or -errno. */
static ssize_t shm_put(struct shm_end *e, const void *buf, size_t len, struct shm_dl *dl,
                       uint64_t *seen)
{
    struct shm_ctl *k = e->k;
    int r;

    if ((r = shm_lock(e, &k->wlock, dl)) < 0)
        return r;
    uint64_t t = atomic_load_explicit(&k->tail, ACQ);
    uint64_t rec = shm_rec_size(len);
    uint64_t off = t & e->mask;
    uint64_t pad = off + rec > e->cap ? e->cap - off : 0;
    uint64_t need = pad + rec;
    uint64_t h = e->cached;
    if (t - h > e->cap - need) {
        h = atomic_load_explicit(&k->head, ACQ);
        if (t - h > e->cap || ((t | h) & (SHM_ALIGN - 1))) {
            shm_unlock(e, &k->wlock);
            return shm_mark_broken(k, SHM_BROKEN_POS);
        }
        e->cached = h;
        if (t - h > e->cap - need) {
            shm_unlock(e, &k->wlock);
            *seen = h;
            return SHM_WOULD_WAIT;
        }
    }
    shm_at(IPCM_SHM_AT_PUT_RESERVED);
    if (pad)
        shm_put_hdr(e->data + off, t, SHM_PAD_FLAG | (uint32_t)pad);
    uint64_t p = t + pad;
    unsigned char *dst = e->data + (p & e->mask);
    shm_put_hdr(dst, p, (uint32_t)len);
    shm_at(IPCM_SHM_AT_PUT_HEADER);
    shm_copy(dst + SHM_REC_HDR, buf, len, IPCM_SHM_AT_PUT_HALF);
    shm_at(IPCM_SHM_AT_PUT_PAYLOAD);
    shm_note_cpu(e, &k->prod_cpu);
    shm_choose_publish(e);
    shm_publish(e, &k->tail, t + need); /* the commit */
    shm_at(IPCM_SHM_AT_PUT_COMMITTED);
    shm_unlock(e, &k->wlock);
    /* The poller first: a futex wake takes microseconds, in which a spinning or woken
     * receiver could take the record and arm for the next one, which our signal would
     * then announce too early. */
    shm_poll_notify(e, t + need);
    shm_notify(&k->not_empty);
    shm_thread_ops[0]++;
    return (ssize_t)len;
}

static ssize_t shm_send(struct ipcm_chan *c, const void *buf, size_t len, int timeout_ms)
{
    struct shm_chan *sc = c->priv;
    struct shm_end *e = &sc->tx;
    struct shm_dl dl = {.timeout_ms = timeout_ms};
    uint64_t seen = 0;

    if (!e->k || e->tok < 0)
        return -EBADF;
    if (shm_is_broken(e->k))
        return -ENOTRECOVERABLE;
    if (len > e->max_msg)
        return -EMSGSIZE;
    /* A receiver that closed cleanly set the flag; a killed one is caught by a poll
     * every SHM_HUP_EVERY sends and whenever we would wait. */
    if (atomic_load_explicit(&e->k->no_receivers, RLX))
        return -EPIPE;
    if (--e->hup_countdown == 0) {
        e->hup_countdown = SHM_HUP_EVERY;
        if (shm_peers_gone(e))
            return -EPIPE;
    }
    for (;;) {
        ssize_t r = shm_put(e, buf, len, &dl, &seen);
        if (r != SHM_WOULD_WAIT)
            return r;
        if (dl.timeout_ms != 0 && shm_spin(e, &e->k->head, seen, &e->k->cons_cpu))
            continue;
        if (shm_is_broken(e->k))
            return -ENOTRECOVERABLE;
        if (shm_peers_gone(e))
            return -EPIPE;
        if ((r = shm_sleep(e, &e->k->not_full, &e->k->head, seen, &dl)) < 0)
            return r;
    }
}

/* ---------------------------------------------------------------- recv */

/* Returns the length, SHM_WOULD_WAIT when empty (head in *seen), or -errno. */
static ssize_t shm_get(struct shm_end *e, void *buf, struct shm_dl *dl, uint64_t *seen)
{
    struct shm_ctl *k = e->k;
    uint32_t w[2];
    int r;

    if ((r = shm_lock(e, &k->rlock, dl)) < 0)
        return r;
    uint64_t h = atomic_load_explicit(&k->head, ACQ);
    uint64_t t = e->cached;
    if (t == h || t - h > e->cap) {
        t = atomic_load_explicit(&k->tail, ACQ);
        e->cached = t;
        if (t == h) {
            shm_unlock(e, &k->rlock);
            *seen = h;
            return SHM_WOULD_WAIT;
        }
    }
    uint64_t avail = t - h;
    uint32_t why = 0;
    if (avail > e->cap || ((t | h) & (SHM_ALIGN - 1))) {
        why = SHM_BROKEN_POS;
        goto broken;
    }
    uint64_t off = h & e->mask;
    memcpy(w, e->data + off, sizeof(w));
    if (w[1] != shm_check(h, w[0])) {
        why = SHM_BROKEN_HDR;
        goto broken;
    }
    if (w[0] & SHM_PAD_FLAG) {
        /* Padding runs to the end of the region and is published with the record
         * that follows it, so a record must come next. */
        uint64_t pad = w[0] & ~SHM_PAD_FLAG;
        if (pad != e->cap - off || pad >= avail) {
            why = SHM_BROKEN_PAD;
            goto broken;
        }
        h += pad;
        avail -= pad;
        off = 0;
        memcpy(w, e->data, sizeof(w));
        if (w[1] != shm_check(h, w[0]) || (w[0] & SHM_PAD_FLAG)) {
            why = SHM_BROKEN_HDR;
            goto broken;
        }
    }
    uint64_t len = w[0], rec = shm_rec_size(len);
    if (len > e->max_msg || rec > avail || off + rec > e->cap) {
        why = SHM_BROKEN_LEN;
        goto broken;
    }
    shm_at(IPCM_SHM_AT_GET_CLAIMED);
    shm_copy(buf, e->data + off + SHM_REC_HDR, len, IPCM_SHM_AT_GET_HALF);
    shm_at(IPCM_SHM_AT_GET_COPIED);
    shm_note_cpu(e, &k->cons_cpu);
    shm_choose_publish(e);
    shm_publish(e, &k->head, h + rec);
    shm_unlock(e, &k->rlock);
    shm_notify(&k->not_full);
    shm_thread_ops[1]++;
    e->last_len = len;
    return (ssize_t)len;
broken:
    shm_unlock(e, &k->rlock);
    return shm_mark_broken(k, why);
}

/*
 * A lone consumer that keeps catching up with a stream of large records reads each one
 * right after the producer wrote it, from the producer's L2 cache, while the producer
 * writes the next: both then crawl through cross-core snoops (8-11 GB/s at 4 and 64 KiB
 * here, against 24-39 GB/s when the records come from L3). So before each get it lets
 * the backlog grow to one L2, waiting at most SHM_HOLD_MAX_NS: the lines it then reads
 * have left the producer's L2 (half an L2 was not always enough here). The cost is that
 * backlog as latency on a bulk stream (about 35 us at 30 GB/s), and nothing on anything
 * else: a thread that also sends, a slow stream, small records, or several consumers
 * (shm_spin decides). A producer that stops moving ends the mode.
 */
static void shm_hold(struct shm_end *e)
{
    struct shm_ctl *k = e->k;
    int me = sched_getcpu();
    /* The producer last ran here (unpinned processes move): waiting would only keep it
     * off the CPU it needs. */
    if (me >= 0 && (uint32_t)me == atomic_load_explicit(&k->prod_cpu, RLX)) {
        e->hold = false;
        return;
    }
    uint64_t h = atomic_load_explicit(&k->head, RLX);
    uint64_t t0 = atomic_load_explicit(&k->tail, RLX), start = 0;
    for (unsigned i = 0;; i++) {
        uint64_t t = atomic_load_explicit(&k->tail, RLX);
        if (t - h >= e->hold_bytes || atomic_load_explicit(&k->no_senders, RLX) || shm_is_broken(k))
            return;
        for (unsigned g = 0; g < 16; g++)
            ipcm_cpu_relax(); /* polls far apart: the producer owns the tail line meanwhile */
        if ((i & 7) == 0) {
            uint64_t now = ipcm_now_ns();
            if (!start) {
                start = now;
            } else if (now - start >= SHM_HOLD_MAX_NS) {
                if (atomic_load_explicit(&k->tail, RLX) == t0)
                    e->hold = false;
                return;
            }
        }
    }
}

static ssize_t shm_recv(struct ipcm_chan *c, void *buf, size_t cap, int timeout_ms)
{
    struct shm_chan *sc = c->priv;
    struct shm_end *e = sc->rx.k ? &sc->rx : NULL;
    struct shm_dl dl = {.timeout_ms = timeout_ms};
    bool eof = false, slept = false;
    uint64_t seen = 0;

    (void)cap; /* the harness guarantees cap >= max_msg >= any valid record */
    if (!e)
        return -EBADF;
    if (e->hold && timeout_ms != 0)
        shm_hold(e);
    for (;;) {
        if (shm_is_broken(e->k))
            return -ENOTRECOVERABLE;
        ssize_t r = shm_get(e, buf, &dl, &seen);
        if (r != SHM_WOULD_WAIT) {
            if (__builtin_expect(e->polled, 0) && r >= 0 && !shm_rx_ready(e, ACQ))
                shm_poll_settle(e);
            return r;
        }
        /* Every sender was gone before this empty look: nothing more can come. */
        if (eof)
            return -EPIPE;
        if (dl.timeout_ms != 0 && shm_spin(e, &e->k->tail, seen, &e->k->prod_cpu))
            continue;
        /* A sender that closed cleanly set no_senders; only a killed one needs the life
         * pipe, a system call: a blocking wait looks after its first slice (a tick),
         * so a pool worker that sleeps between batches makes one call, not two. */
        if ((dl.timeout_ms == 0 || slept) ? shm_peers_gone(e)
                                          : atomic_load_explicit(&e->k->no_senders, ACQ)) {
            eof = true; /* look once more: the ring may hold their last words */
            continue;
        }
        if ((r = shm_sleep(e, &e->k->not_empty, &e->k->tail, seen, &dl)) < 0) {
            shm_poll_settle(e);
            return r;
        }
        slept = true;
    }
}

/* ---------------------------------------------------------------- pollfd, ready */

static int shm_pollfd(const struct ipcm_chan *c)
{
    struct shm_chan *sc = c->priv;
    struct shm_end *e = &sc->rx;

    if (!e->k || e->efd < 0)
        return -EBADF;
    if (e->epfd < 0) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0)
            return -errno;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = e->efd};
        int r = epoll_ctl(ep, EPOLL_CTL_ADD, e->efd, &ev);
        if (r == 0 && e->watch >= 0) {
            ev.data.fd = e->watch;
            r = epoll_ctl(ep, EPOLL_CTL_ADD, e->watch, &ev);
        }
        if (r < 0) {
            r = -errno;
            close(ep);
            return r;
        }
        e->epfd = ep;
    }
    e->polled = true;
    shm_poll_settle(e);
    return e->epfd;
}

static int shm_ready(struct ipcm_chan *c, int how)
{
    struct shm_chan *sc = c->priv;
    struct shm_end *e = &sc->rx;

    if (!e->k)
        return -EBADF;
    e->explicit_arm = true;
    switch (how) {
    case IPCM_READY_PEEK: return shm_rx_ready(e, ACQ);
    case IPCM_READY_ARM:
        if (shm_rx_ready(e, ACQ))
            return 1;
        if (!shm_poll_arm(e))
            return 0;
        shm_poll_disarm(e);
        return 1;
    case IPCM_READY_DISARM: shm_poll_disarm(e); return 0;
    default: return -EINVAL;
    }
}

/* ---------------------------------------------------------------- close */

static int shm_shutdown(struct ipcm_chan *c)
{
    struct shm_chan *sc = c->priv;
    struct shm_end *e = &sc->tx;

    if (!e->k || e->tok < 0)
        return 0;
    ipcm_close_fd(&e->tok);
    /* The last sender to leave cleanly tells receivers at once, so they need not wait
     * for a tick to notice. */
    if (ipcm_life_hup(e->mine)) {
        atomic_store(&e->k->no_senders, 1);
        shm_notify_all(&e->k->not_empty);
    }
    return 0;
}

static void shm_close(struct ipcm_chan *c)
{
    struct shm_chan *sc = c->priv;
    struct shm_end *e = &sc->rx;

    shm_shutdown(c);
    if (e->k && e->tok >= 0) {
        ipcm_close_fd(&e->tok);
        if (ipcm_life_hup(e->mine)) {
            atomic_store(&e->k->no_receivers, 1);
            shm_notify_all(&e->k->not_full);
        }
    }
    shm_chan_release(sc);
}

/* ---------------------------------------------------------------- test hooks */

#ifdef IPCM_TESTING
extern const struct ipcm_backend ipcm_backend_shm;

void ipcm_shm_test_kill_at(enum ipcm_shm_point point, int sig)
{
    shm_kill_sig = sig;
    shm_kill_point = point;
}

static struct shm_ctl *shm_test_ctl(const struct ipcm_link *l, unsigned dir)
{
    const struct shm_link *sl;

    if (!l || l->be != &ipcm_backend_shm)
        return NULL;
    sl = l->priv;
    if (!sl->map || dir >= sl->ndirs)
        return NULL;
    return &sl->map->dir[dir];
}

int ipcm_shm_test_poke(struct ipcm_link *l, unsigned dir, enum ipcm_shm_field f, uint64_t v)
{
    struct shm_ctl *k = shm_test_ctl(l, dir);
    if (!k)
        return -EINVAL;
    switch (f) {
    case IPCM_SHM_F_MAGIC: atomic_store(&k->magic, (uint32_t)v); break;
    case IPCM_SHM_F_VERSION: k->version = (uint32_t)v; break;
    case IPCM_SHM_F_ENDIAN: k->endian = (uint32_t)v; break;
    case IPCM_SHM_F_CAP: k->cap = v; break;
    case IPCM_SHM_F_HEAD: atomic_store(&k->head, v); break;
    case IPCM_SHM_F_TAIL: atomic_store(&k->tail, v); break;
    case IPCM_SHM_F_REC_LEN: {
        uint64_t h = atomic_load(&k->head), cap = k->cap;
        if (cap < SHM_RING_MIN || (cap & (cap - 1)) || k->data_off > k->map_len ||
            k->map_len - k->data_off < cap)
            return -EINVAL;
        uint32_t w = (uint32_t)v;
        unsigned char *base = (unsigned char *)((const struct shm_link *)l->priv)->map;
        memcpy(base + k->data_off + (h & (cap - 1)), &w, sizeof(w));
        break;
    }
    case IPCM_SHM_F_EPOCHS:
        atomic_store(&k->not_empty.epoch, (uint32_t)v);
        atomic_store(&k->not_full.epoch, (uint32_t)v);
        break;
    default: return -EINVAL;
    }
    return 0;
}

int ipcm_shm_test_set_positions(struct ipcm_link *l, uint64_t pos, uint32_t epoch)
{
    const struct shm_link *sl;
    if (!shm_test_ctl(l, 0) || (pos & (SHM_ALIGN - 1)))
        return -EINVAL;
    sl = l->priv;
    for (unsigned d = 0; d < sl->ndirs; d++) {
        struct shm_ctl *k = &sl->map->dir[d];
        if (atomic_load(&k->head) != atomic_load(&k->tail))
            return -EINVAL;
        atomic_store(&k->head, pos);
        atomic_store(&k->tail, pos);
        atomic_store(&k->not_empty.epoch, epoch);
        atomic_store(&k->not_full.epoch, epoch);
    }
    return 0;
}

int ipcm_shm_test_stats(const struct ipcm_link *l, unsigned dir, struct ipcm_shm_stats *out)
{
    struct shm_ctl *k = shm_test_ctl(l, dir);
    if (!k)
        return -EINVAL;
    out->head = atomic_load(&k->head);
    out->tail = atomic_load(&k->tail);
    out->cap = k->cap;
    out->max_msg = k->max_msg;
    out->data_waiters = atomic_load(&k->not_empty.waiters);
    out->space_waiters = atomic_load(&k->not_full.waiters);
    out->broken = atomic_load(&k->broken);
    out->recoveries = atomic_load(&k->recoveries);
    out->prod_bias = atomic_load(&k->wlock.gen);
    out->cons_bias = atomic_load(&k->rlock.gen);
    return 0;
}

bool ipcm_shm_test_lock_free(void)
{
    static struct shm_ctl probe;
    return shm_atomics_lock_free(&probe);
}

int ipcm_shm_test_open_shared(struct ipcm_link *l, enum ipcm_role role, struct ipcm_chan **out)
{
    struct ipcm_chan *c;
    int err;

    *out = NULL;
    if (!l || l->be != &ipcm_backend_shm)
        return -EINVAL;
    c = calloc(1, sizeof(*c) + sizeof(struct shm_chan));
    if (!c)
        return -ENOMEM;
    c->be = l->be;
    c->link = l;
    c->role = role;
    c->max_msg = l->cfg.max_msg;
    c->priv = c + 1;
    if ((err = shm_open_end(c)) < 0) {
        free(c);
        return err;
    }
    *out = c;
    return 0;
}

void ipcm_shm_test_close_shared(struct ipcm_chan *c)
{
    if (!c)
        return;
    shm_close(c);
    free(c);
}
#endif /* IPCM_TESTING */

/* ---------------------------------------------------------------- exec hand-over */

/* The mapping's memfd and the life pipes travel as descriptors (the library clears
 * close-on-exec in the child alone); the exec'd program maps the memfd again, and open
 * validates the segment's header as it does after fork. */
#define SHM_HANDOVER_N 11 /* memfd, 2 x 4 life pipes, 2 eventfds */
static int shm_handover_export(const struct ipcm_link *l, char *buf, size_t len, int *fds,
                               size_t *nfds)
{
    const struct shm_link *sl = l->priv;
    int v[SHM_HANDOVER_N] = {sl->has_memfd ? sl->memfd : -1};
    for (unsigned d = 0; d < 2; d++) {
        ipcm_life_handover_vals(&sl->life[d], v + 1 + 4 * d);
        v[9 + d] = sl->efd[d]; /* a poller's wake-up: the exec'd side signals it too */
    }
    if (v[0] < 0)
        return -EBADF;
    return ipcm_handover_export(v, SHM_HANDOVER_N, buf, len, fds, nfds);
}

static int shm_handover_attach(struct ipcm_link *l, const char *payload)
{
    struct shm_link *sl = l->priv;
    int v[SHM_HANDOVER_N];
    struct stat st;
    int r = ipcm_handover_import(payload, v, SHM_HANDOVER_N);
    if (r == 0 && (v[0] < 0 || fstat(v[0], &st) < 0 || st.st_size < (off_t)sizeof(struct shm_map)))
        r = -EINVAL;
    if (r < 0)
        return r;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, v[0], 0);
    if (p == MAP_FAILED)
        return -errno;
    sl->map = p;
    sl->map_len = (size_t)st.st_size;
    sl->ndirs = l->shape == IPCM_SHAPE_PIPE ? 2 : 1;
    sl->memfd = v[0];
    sl->has_memfd = true;
    for (unsigned d = 0; d < 2; d++) {
        ipcm_life_handover_set(&sl->life[d], v + 1 + 4 * d);
        sl->efd[d] = v[9 + d];
    }
    return 0;
}

const struct ipcm_backend ipcm_backend_shm = {
    .abi = IPCM_BACKEND_ABI,
    .name = "shm",
    .summary = "shared-memory ring (memfd), futex waits, robust locks; crash-tolerant MPMC",
    .caps = IPCM_CAP_NATIVE_MSG | IPCM_CAP_SPINS | IPCM_CAP_POLLFD | IPCM_CAP_READY |
            IPCM_CAP_EXEC,
    .link_priv = sizeof(struct shm_link),
    .chan_priv = sizeof(struct shm_chan),
    .limits = shm_limits,
    .create = shm_create,
    .open = shm_attach, /* shm_open is POSIX's */
    .send = shm_send,
    .recv = shm_recv,
    .shutdown = shm_shutdown,
    .close = shm_close,
    .destroy = shm_destroy,
    .pollfd = shm_pollfd,
    .handover_export = shm_handover_export,
    .handover_attach = shm_handover_attach,
    .ready = shm_ready,
};
