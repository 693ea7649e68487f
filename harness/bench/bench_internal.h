/* SPDX-License-Identifier: MIT */
/*
 * bench_internal.h - what the files of harness/bench/ share and nobody else uses: the
 * verified message format and the failure reason of a repetition.
 */
#ifndef IPCM_HARNESS_BENCH_INTERNAL_H
#define IPCM_HARNESS_BENCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The message format every benchmark moves, so that each message is verified on receipt:
 *   bytes 0..7   tag: sequence (bits 0..39), producer id (bits 40..47), and in the compact
 *                form a 16-bit check (bits 48..63)
 *   full form (size >= IPCM_MSG_FULL = 24):
 *   bytes 8..15  send timestamp in ns (CLOCK_MONOTONIC; the intended send time in
 *                open-loop runs; 0 when not stamped)
 *   bytes 16..23 XXH3-64 of bytes 24.. seeded with tag and timestamp (with
 *                ipcm_msg_verify(false), of bytes 24..24+IPCM_MSG_SAMPLE only)
 *   bytes 24..   payload, written afresh by the producer for every message (a byte
 *                pattern plus a word unique to the message every 256 bytes, which
 *                every check compares: a torn, spliced or stale message fails)
 *   compact form (8 <= size < 24): the check is XXH3 of bytes 8.. seeded with the tag.
 */
#define IPCM_MSG_MIN 8u
#define IPCM_MSG_FULL 24u
#define IPCM_MSG_MAX_PRODUCERS 255u /* == IPCM_BENCH_MAX_PRODUCERS */
#define IPCM_MSG_SEQ_MASK ((UINT64_C(1) << 40) - 1)
#define IPCM_MSG_STAMP_STRIDE 256u /* bytes between per-message words in the payload */

#define IPCM_MSG_SAMPLE 256u /* bytes hashed by the stamps-only check */

/* Choose full (XXH3 of every byte) or stamps-only verification for this process and
 * the workers it forks. */
void ipcm_msg_verify(bool full);
/* Write a whole message of size bytes into buf (size >= IPCM_MSG_MIN). */
void ipcm_msg_fill(void *buf, size_t size, unsigned producer, uint64_t seq, uint64_t send_ns);
/*
 * Check a received message of len bytes that should be `size` long. On success sets
 * *producer, *seq and *send_ns (0 in the compact form) and returns 0; -EBADMSG if it
 * is corrupt (wrong length or checksum).
 */
int ipcm_msg_check(const void *buf, size_t len, size_t size, unsigned *producer, uint64_t *seq,
                   uint64_t *send_ns);

/* Fill rep->reason (printf-style). Returns err, so `return rep_fail(rep, -E, ...)`. */
struct ipcm_bench_rep;
/*
 * ipcm_bench_join_ms - the backstop deadline for joining one repetition's workers. Each
 * operation already has its own timeout (p->timeout_ms), so this only catches a worker
 * that loops without blocking: a timed run gets its duration twice, a counted run 10 ms
 * a message (a loaded 2-CPU host has taken 5 ms a cross-CPU round trip), within an hour.
 */
struct ipcm_bench_params;
int ipcm_bench_join_ms(const struct ipcm_bench_params *p);

int ipcm_bench_fail(struct ipcm_bench_rep *rep, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * CPU cost of a worker in the timed region (bench_cpu.c). Each worker marks at its start
 * gate and takes the difference at its end (ipcm_bench_cpu_since, getrusage RUSAGE_SELF:
 * the workers are single-threaded processes), stores it in its result slot, and the
 * parent sums the slots into the repetition (ipcm_bench_cpu_add). valid is false where
 * the figure could not be read; the parent then reports no CPU figures for the case.
 */
struct ipcm_bench_cpu {
    uint64_t cpu_ns; /* user + system */
    uint64_t csw;    /* voluntary + involuntary context switches */
    bool valid;
};
void ipcm_bench_cpu_mark(struct ipcm_bench_cpu *m);
void ipcm_bench_cpu_since(const struct ipcm_bench_cpu *start, struct ipcm_bench_cpu *out);
/* A process that is not this one (a pool worker, a child of this one): its CPU clock
 * (clock_getcpuclockid) and /proc/PID/status switches so far; subtract two readings. */
void ipcm_bench_cpu_of_pid(pid_t pid, struct ipcm_bench_cpu *m);
void ipcm_bench_cpu_add(struct ipcm_bench_rep *rep, const struct ipcm_bench_cpu *d);

#endif /* IPCM_HARNESS_BENCH_INTERNAL_H */
