/* SPDX-License-Identifier: MIT */
/*
 * crew.h - a crew of worker processes run as one: spawn each, release them together
 * through a start gate, join them all against one deadline and name the first that
 * failed. Internal to the harness (bench, check, cli): not part of ipcmark.h, not exported.
 */
#ifndef IPCM_HARNESS_LIB_CREW_H
#define IPCM_HARNESS_LIB_CREW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ipcmark.h"

/* One worker of a crew. Read ex once ipcm_crew_join (or a failed start) has returned. */
struct ipcm_crew_member {
    struct ipcm_process proc;
    pid_t pid;           /* as spawned; kept after the reap, for messages */
    struct ipcm_exit ex; /* how it ended, when `ended` */
    bool ended;          /* reaped with a known status */
    bool killed;         /* still running at the deadline, so the crew killed it */
};

/*
 * A crew. Workers that wait for the start call ipcm_gate_worker(&crew->gate, ...), with
 * the gate's address passed in their argument (fork copies it). Set a crew to
 * IPCM_CREW_INIT where it is declared, so ipcm_crew_stop is safe on every path.
 */
struct ipcm_crew {
    struct ipcm_gate gate;
    struct ipcm_crew_member *m; /* cap entries, the first n spawned */
    unsigned cap, n;
    int failed; /* after a failed join: index of the first failed worker (spawn order) */
};

#define IPCM_CREW_INIT                                                                             \
    {                                                                                              \
        .gate = {{-1, -1}, {-1, -1}}, .failed = -1                                                 \
    }

/*
 * ipcm_crew_init - room for n workers and the start gate.
 * Returns: 0; -EINVAL (n is 0); -ENOMEM; -EMFILE/-ENFILE from pipe2. On failure the
 * crew holds nothing, and ipcm_crew_stop is a no-op.
 */
int ipcm_crew_init(struct ipcm_crew *c, unsigned n);
/*
 * ipcm_crew_spawn - fork the next worker: fn(arg, arg_len) under `name` (see
 * ipcm_process_spawn). Returns: 0; -ENOSPC (n workers already); -EAGAIN/-ENOMEM (fork).
 */
int ipcm_crew_spawn(struct ipcm_crew *c, const char *name, ipcm_worker_fn fn, const void *arg,
                    size_t arg_len);
/*
 * ipcm_crew_start - wait until every spawned worker has reported at the gate, at most
 * timeout_ms (< 0: forever), then release them all at once. On failure every worker is
 * killed and reaped (a worker that died on its own keeps its status in ex).
 * Returns: 0; -ETIMEDOUT (a worker never reported); -EPIPE (a worker died first); -errno.
 */
int ipcm_crew_start(struct ipcm_crew *c, int timeout_ms);
/*
 * ipcm_crew_join - wait for every worker against one deadline, timeout_ms from now
 * (< 0: forever); kill and reap those still running when it passes. Exit statuses go
 * into m[i].ex. A worker that cannot be waited for (already reaped elsewhere) is skipped.
 * why (whylen bytes, may be NULL) names the first failed worker in spawn order, e.g.
 * "worker 'bench ping' (pid 812) killed by SIGKILL at the deadline"; c->failed is its index.
 * Returns: 0 (every worker exited 0); -ETIMEDOUT (that worker was killed at the
 * deadline); -EPROTO (it exited non-zero or died of a signal).
 */
int ipcm_crew_join(struct ipcm_crew *c, int timeout_ms, char *why, size_t whylen);
/*
 * ipcm_crew_stop - kill and reap any worker still running, close the gate and free the
 * crew; it is then back at IPCM_CREW_INIT. Idempotent.
 */
void ipcm_crew_stop(struct ipcm_crew *c);

#endif /* IPCM_HARNESS_LIB_CREW_H */
