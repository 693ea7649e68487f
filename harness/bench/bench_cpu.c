/* SPDX-License-Identifier: MIT */
/*
 * bench_cpu.c - the CPU a worker spends in the timed region (user + system time and
 * context switches), read from its CPU clock and getrusage at its start gate and at its end.
 */
#include "bench.h"
#include "bench_internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The CPU time from the process's CPU clock (the scheduler's exact runtime), not from
 * getrusage: its user and system halves are apportioned from tick samples and each kept
 * monotonic, so their sum can lag and then jump by milliseconds, 7-16% of a 50 ms run
 * (the per-round spread `ab` saw, against 1.7-8% for the same runs' wall time). */
void ipcm_bench_cpu_mark(struct ipcm_bench_cpu *m)
{
    struct rusage ru;
    struct timespec ts;
    memset(m, 0, sizeof(*m));
    if (getrusage(RUSAGE_SELF, &ru) < 0 || clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
        return;
    m->cpu_ns = (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
    m->csw = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
    m->valid = true;
}

void ipcm_bench_cpu_since(const struct ipcm_bench_cpu *start, struct ipcm_bench_cpu *out)
{
    struct ipcm_bench_cpu now;
    ipcm_bench_cpu_mark(&now);
    if (!start->valid || !now.valid) {
        memset(out, 0, sizeof(*out));
        return;
    }
    out->cpu_ns = now.cpu_ns > start->cpu_ns ? now.cpu_ns - start->cpu_ns : 0;
    out->csw = now.csw > start->csw ? now.csw - start->csw : 0;
    out->valid = true;
}

/* The context switches of process pid, from /proc/PID/status; false if unreadable. */
static bool proc_csw(pid_t pid, uint64_t *csw)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    unsigned long long v;
    int seen = 0;
    *csw = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1) {
            *csw += v;
            seen++;
        }
    }
    fclose(f);
    return seen == 2;
}

void ipcm_bench_cpu_of_pid(pid_t pid, struct ipcm_bench_cpu *m)
{
    clockid_t cid;
    struct timespec ts;
    memset(m, 0, sizeof(*m));
    if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &ts) < 0)
        return;
    m->cpu_ns = (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
    m->valid = proc_csw(pid, &m->csw);
}

void ipcm_bench_cpu_add(struct ipcm_bench_rep *rep, const struct ipcm_bench_cpu *d)
{
    if (!d->valid) {
        rep->cpu_missing = true;
        return;
    }
    rep->cpu_parts++;
    rep->cpu_ns += d->cpu_ns;
    rep->csw += d->csw;
}
