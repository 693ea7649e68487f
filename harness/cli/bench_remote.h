/* SPDX-License-Identifier: MIT */
/*
 * bench_remote.h - the remote run shared by `bench --remote` and `advise --remote`
 * (cmd_bench_remote.c): connect to an `ipcmark serve`, run the cases whose backend can
 * cross hosts with their far side there, record both hosts and the path.
 */
#ifndef IPCM_BENCH_REMOTE_H
#define IPCM_BENCH_REMOTE_H

#include "ipcmark.h"
#include "remote.h"
#include "results.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ipcm_remote_plan {
    const char *cmd;    /* "bench" or "advise": the prefix of its error lines */
    const char *remote; /* HOST:PORT */
    const struct ipcm_remote_key *key;
    const struct ipcm_backend *const *be; /* selected; the local-only ones are skipped */
    int nbe;
    const enum ipcm_remote_mode *modes; /* IPCM_RM_LATENCY and/or IPCM_RM_THROUGHPUT */
    size_t nmodes;
    const uint64_t *sizes;
    size_t nsizes;
    uint64_t lat_messages, tp_messages; /* per repetition */
    uint64_t repeat;                    /* 1..100 */
    int timeout_ms;
    bool reverse; /* the server produces (throughput) and times (latency) */
};

/* ipcm_remote_skip_reason - why be cannot run with its far side on a server, or NULL. */
const char *ipcm_remote_skip_reason(const struct ipcm_backend *be);

/*
 * ipcm_remote_bench - calibrate here, connect, run p's cases into res (initialised here
 * in every case: the caller writes it, then ipcm_record_fini and json_decref of
 * res->remote_json), calibrate again. The table lines go to out, the one-line reason of
 * a failed connection to stderr. Returns the exit code (RULINGS 2).
 */
int ipcm_remote_bench(const struct ipcm_remote_plan *p, struct ipcm_results *res, FILE *out);

#endif /* IPCM_BENCH_REMOTE_H */
