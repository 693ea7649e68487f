/* SPDX-License-Identifier: MIT */
/*
 * testing.h - test-only hooks into backends (fault injection, layout pokes, threads mode).
 * On the include path of tests only; never used by the harness or the CLI. The hooks
 * exist only in the testing build of the backends (IPCM_TESTING, SQLite's SQLITE_TEST
 * pattern): tests link libipcmark_testing, users link libipcmark, which has none.
 */
#ifndef IPCM_BACKENDS_TESTING_H
#define IPCM_BACKENDS_TESTING_H

#include <stdbool.h>
#include <stdint.h>

#include "ipcmark_backend.h"

/*
 * Named steps of a put and a get on the shm ring (shm.c names them in both builds).
 * After ipcm_shm_test_kill_at(point, sig) the calling process raises sig (SIGKILL, or
 * SIGSTOP for the slow-peer tests) when it reaches that step; 0 disarms. Per process,
 * so a test arms it in a child after fork.
 */
enum ipcm_shm_point {
    IPCM_SHM_AT_NONE = 0,
    IPCM_SHM_AT_PUT_RESERVED,  /* producer lock held, space found, nothing written */
    IPCM_SHM_AT_PUT_HEADER,    /* record header written */
    IPCM_SHM_AT_PUT_HALF,      /* half the payload copied */
    IPCM_SHM_AT_PUT_PAYLOAD,   /* whole payload copied, not committed */
    IPCM_SHM_AT_PUT_COMMITTED, /* tail published, lock still held, nobody woken */
    IPCM_SHM_AT_GET_CLAIMED,   /* consumer lock held, record header validated */
    IPCM_SHM_AT_GET_HALF,      /* half the payload copied out */
    IPCM_SHM_AT_GET_COPIED,    /* whole payload copied out, head not yet released */
    IPCM_SHM_AT_WAIT_DATA,     /* registered as a waiter for data, about to sleep */
    IPCM_SHM_AT_WAIT_SPACE,    /* registered as a waiter for space, about to sleep */
    IPCM_SHM_AT_COUNT
};

#ifdef IPCM_TESTING
void ipcm_shm_test_kill_at(enum ipcm_shm_point point, int sig);

/* Fields a test may overwrite in direction dir of a link's shared segment. */
enum ipcm_shm_field {
    IPCM_SHM_F_MAGIC,
    IPCM_SHM_F_VERSION,
    IPCM_SHM_F_ENDIAN,
    IPCM_SHM_F_CAP,
    IPCM_SHM_F_HEAD,
    IPCM_SHM_F_TAIL,
    IPCM_SHM_F_REC_LEN, /* the length word of the record at head */
    IPCM_SHM_F_EPOCHS,  /* both futex epochs of the direction */
};
/* Returns 0, or -EINVAL (not an shm link, bad dir or field, link already opened). */
int ipcm_shm_test_poke(struct ipcm_link *l, unsigned dir, enum ipcm_shm_field f, uint64_t v);

/* Start an unused link at byte position pos (multiple of 8) and futex epoch epoch. */
int ipcm_shm_test_set_positions(struct ipcm_link *l, uint64_t pos, uint32_t epoch);

struct ipcm_shm_stats {
    uint64_t head, tail, cap, max_msg;
    uint32_t data_waiters, space_waiters;
    uint32_t broken;               /* reason code, 0 when healthy */
    uint64_t recoveries;           /* locks taken over from dead owners */
    uint32_t prod_bias, cons_bias; /* lock generations: odd while an end holds the bias */
};
/* A snapshot of direction dir as seen through the link's mapping. Returns 0 or -EINVAL. */
int ipcm_shm_test_stats(const struct ipcm_link *l, unsigned dir, struct ipcm_shm_stats *out);

/* True when every atomic type the ring keeps in shared memory is lock-free here. */
bool ipcm_shm_test_lock_free(void);

/*
 * Threads mode: open an end that borrows the link's mapping and duplicates its
 * descriptors, leaving the link intact, so several threads of one process can each
 * open an end of one link. Close such ends with ipcm_shm_test_close_shared before
 * destroying the link.
 */
int ipcm_shm_test_open_shared(struct ipcm_link *l, enum ipcm_role role, struct ipcm_chan **out);
void ipcm_shm_test_close_shared(struct ipcm_chan *c);

/*
 * ipcm_frame_test_short_io - arm the stream backends' I/O-shrinking hook (frame.c: pipe,
 * fifo, unix, tcp) in this process and the children it forks afterwards: every read then
 * moves at most rmax bytes and every write at most wmax (exactly that many when seed is
 * 0, else 1..max chosen per call from seed), so each frame is written and read in pieces
 * (CONFORMANCE.md cases 31 and 101). A pipe's write end leaves packet mode while armed.
 * Arm it before forking the peers, so both sides of a link shrink. (0, 0) disarms.
 * Returns the number of reads and writes it cut short in this process since it was last
 * armed (so a test can see it acted), or -EINVAL (only one of the two is 0, or a max
 * reaches the 8-byte header).
 * The conformance cases reach it through a weak reference (conform.h): the shipped
 * library has no such symbol, and there they report n/a.
 */
int ipcm_frame_test_short_io(unsigned rmax, unsigned wmax, uint64_t seed);
#endif /* IPCM_TESTING */

#endif /* IPCM_BACKENDS_TESTING_H */
