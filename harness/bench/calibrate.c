/* SPDX-License-Identifier: MIT */
/*
 * calibrate.c - measure the limits every figure is read against (see calibrate.h).
 * The line round trip is the floor of any cross-CPU hand-off; memcpy bandwidth is the
 * ceiling of any copying transport; a minimal ring streaming across CPUs is the ceiling of
 * any bulk transport between them. On a VM both move with the host's placement of the
 * vCPUs, so they are measured at the start and the end of every run.
 */
#include "calibrate.h"

#include "base.h"
#include "crew.h"
#include "hist.h"
#include "ipcmark.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_TRIALS 5

struct line_shared {
    _Alignas(64) volatile int64_t flag; /* the bounced line: odd = A's turn done */
    _Alignas(64) volatile int stop;
    double trial_ns[LINE_TRIALS];
    int ok;
};

struct line_arg {
    struct line_shared *sh;
    int cpu;
    unsigned budget_ms;
};

/* One side of a probe: a worker and its argument (both sides' arguments are one type). */
struct probe_side {
    const char *name;
    ipcm_worker_fn fn;
    const void *arg;
};

/*
 * Run a probe's two sides as one crew, `first` spawned before `second` so it is there
 * when the other starts, and join both within join_ms. The sides end each other (a
 * shared flag, or end-of-file), so only a side that hangs is killed at the deadline;
 * the probe's own `ok` says whether it measured. parent_fds (nfds of them) are the
 * parent's copies of the probe's pipes, closed once both sides hold theirs.
 * Returns 0 or -errno from a spawn.
 */
static int probe_run(struct probe_side first, struct probe_side second, size_t arg_len, int join_ms,
                     int *parent_fds, unsigned nfds)
{
    struct ipcm_crew crew = IPCM_CREW_INIT;
    int r = ipcm_crew_init(&crew, 2);
    if (r == 0)
        r = ipcm_crew_spawn(&crew, first.name, first.fn, first.arg, arg_len);
    if (r == 0)
        r = ipcm_crew_spawn(&crew, second.name, second.fn, second.arg, arg_len);
    for (unsigned i = 0; i < nfds; i++)
        ipcm_close_fd(&parent_fds[i]);
    if (r == 0)
        ipcm_crew_join(&crew, join_ms, NULL, 0);
    ipcm_crew_stop(&crew);
    return r;
}

/* Side B: answer every odd value with the next even one. */
static int line_b(const void *varg, size_t len)
{
    const struct line_arg *a = varg;
    struct line_shared *sh = a->sh;
    (void)len;
    if (ipcm_pin_self(a->cpu) < 0)
        return 1;
    /* A gives up after a long stall; B outlives it by a margin, then leaves on its own. */
    uint64_t deadline = ipcm_now_ns() + ipcm_ms_to_ns(a->budget_ms) * 8 + 3 * IPCM_NS_PER_S;
    unsigned spins = 0;
    while (!sh->stop) {
        int64_t v = __atomic_load_n(&sh->flag, __ATOMIC_ACQUIRE);
        if (v & 1) {
            __atomic_store_n(&sh->flag, v + 1, __ATOMIC_RELEASE);
            continue;
        }
        ipcm_cpu_relax();
        if (++spins % 4096 == 0 && ipcm_now_ns() > deadline)
            return 1;
    }
    return 0;
}

/* Side A: time round trips in trials of budget / LINE_TRIALS. */
static int line_a(const void *varg, size_t len)
{
    const struct line_arg *a = varg;
    struct line_shared *sh = a->sh;
    (void)len;
    if (ipcm_pin_self(a->cpu) < 0) {
        sh->stop = 1;
        return 1;
    }
    uint64_t trial_ns = ipcm_ms_to_ns(a->budget_ms) / (LINE_TRIALS + 1);
    /* On a loaded host the other side may be descheduled for a while; a round trip that
     * takes longer than this means B is not running at all. */
    const uint64_t stall_ns = IPCM_NS_PER_S / 2;
    int64_t v = 0;
    for (int t = -1; t < LINE_TRIALS; t++) { /* trial -1 warms up */
        uint64_t t0 = ipcm_now_ns(), now = t0, n = 0;
        while (now - t0 < trial_ns) {
            bool slow = false; /* a stalled round trip: look at the clock sooner */
            for (int k = 0; k < 256 && !slow; k++, n++) {
                __atomic_store_n(&sh->flag, v + 1, __ATOMIC_RELEASE);
                unsigned spins = 0;
                uint64_t w0 = 0;
                while (__atomic_load_n(&sh->flag, __ATOMIC_ACQUIRE) != v + 2) {
                    ipcm_cpu_relax();
                    if (++spins % 65536 == 0) {
                        uint64_t w = ipcm_now_ns();
                        slow = true;
                        if (!w0)
                            w0 = w;
                        else if (w - w0 > stall_ns) {
                            sh->stop = 1;
                            return 1;
                        }
                    }
                }
                v += 2;
            }
            now = ipcm_now_ns();
        }
        if (t >= 0)
            sh->trial_ns[t] = (double)(now - t0) / (double)n;
    }
    sh->ok = 1;
    sh->stop = 1;
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static bool cpu_usable(int cpu)
{
    cpu_set_t set;
    if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(set), &set) < 0)
        return false;
    return CPU_ISSET(cpu, &set);
}

int ipcm_calibrate_line_rtt(int cpu_a, int cpu_b, unsigned budget_ms, double *rtt_ns)
{
    *rtt_ns = NAN;
    if (cpu_a == cpu_b || !cpu_usable(cpu_a) || !cpu_usable(cpu_b))
        return -EINVAL;
    struct line_shared *sh = ipcm_shared_alloc(sizeof(*sh));
    if (!sh)
        return -errno;
    memset(sh, 0, sizeof(*sh));
    struct line_arg aa = {sh, cpu_a, budget_ms}, ab = {sh, cpu_b, budget_ms};
    int r = probe_run((struct probe_side){"calibrate line B", line_b, &ab},
                      (struct probe_side){"calibrate line A", line_a, &aa}, sizeof(aa),
                      (int)budget_ms * 8 + 3000, NULL, 0);
    if (r == 0 && !sh->ok)
        r = -ETIMEDOUT;
    if (r == 0) {
        qsort(sh->trial_ns, LINE_TRIALS, sizeof(double), cmp_double);
        *rtt_ns = sh->trial_ns[LINE_TRIALS / 2];
    }
    ipcm_shared_free(sh, sizeof(*sh));
    return r;
}

struct rawpipe_shared {
    struct ipcm_hist hist;
    int ok;
};

struct rawpipe_arg {
    struct rawpipe_shared *sh;
    int cpu;
    int rfd, wfd;     /* this side's ends */
    int close_fds[2]; /* the other side's ends, closed in this process */
    uint64_t budget_ns;
};

static int full_io(int fd, void *buf, size_t len, bool rd)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = rd ? read(fd, (char *)buf + done, len - done)
                       : write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Side B: echo until end-of-file. */
static int rawpipe_b(const void *varg, size_t len)
{
    const struct rawpipe_arg *a = varg;
    uint64_t v;
    (void)len;
    close(a->close_fds[0]);
    close(a->close_fds[1]);
    if (ipcm_pin_self(a->cpu) < 0)
        return 1;
    while (full_io(a->rfd, &v, sizeof(v), true) == 0)
        if (full_io(a->wfd, &v, sizeof(v), false) < 0)
            return 1;
    return 0;
}

/* Side A: time each round trip as the latency mode does, after a short warm-up. */
static int rawpipe_a(const void *varg, size_t len)
{
    const struct rawpipe_arg *a = varg;
    (void)len;
    close(a->close_fds[0]);
    close(a->close_fds[1]);
    if (ipcm_pin_self(a->cpu) < 0)
        return 1;
    uint64_t start = ipcm_now_ns(), now = start, v = 0;
    for (uint64_t i = 0; now - start < a->budget_ns; i++) {
        uint64_t t0 = ipcm_now_ns(), back;
        if (full_io(a->wfd, &i, sizeof(i), false) < 0 ||
            full_io(a->rfd, &back, sizeof(back), true) < 0 || back != i)
            return 1;
        now = ipcm_now_ns();
        if (i >= 50) /* warm-up */
            ipcm_hist_record(&a->sh->hist, now - t0);
        v++;
    }
    a->sh->ok = v > 50;
    return 0;
}

int ipcm_calibrate_raw_pipe(int cpu_a, int cpu_b, unsigned budget_ms, double *p50_ns)
{
    int ab[2] = {-1, -1}, ba[2] = {-1, -1}, r = 0;
    *p50_ns = NAN;
    if (!cpu_usable(cpu_a) || !cpu_usable(cpu_b))
        return -EINVAL;
    struct rawpipe_shared *sh = ipcm_shared_alloc(sizeof(*sh));
    if (!sh)
        return -errno;
    ipcm_hist_init(&sh->hist);
    if (pipe2(ab, O_CLOEXEC) < 0 || pipe2(ba, O_CLOEXEC) < 0) {
        r = -errno;
        goto out;
    }
    struct rawpipe_arg aa = {sh, cpu_a, ba[0], ab[1], {ab[0], ba[1]}, ipcm_ms_to_ns(budget_ms)};
    struct rawpipe_arg bb = {sh, cpu_b, ab[0], ba[1], {ab[1], ba[0]}, 0};
    /* Our copies must go once both sides hold theirs, or B would never see end-of-file. */
    int fds[4] = {ab[0], ab[1], ba[0], ba[1]};
    ab[0] = ab[1] = ba[0] = ba[1] = -1;
    r = probe_run((struct probe_side){"calibrate pipe B", rawpipe_b, &bb},
                  (struct probe_side){"calibrate pipe A", rawpipe_a, &aa}, sizeof(aa),
                  (int)budget_ms * 8 + 3000, fds, 4);
    if (r == 0 && !sh->ok)
        r = -ETIMEDOUT;
    else if (r == 0)
        *p50_ns = (double)ipcm_hist_value_at_percentile(&sh->hist, 50.0);
out:
    for (int i = 0; i < 2; i++) {
        ipcm_close_fd(&ab[i]);
        ipcm_close_fd(&ba[i]);
    }
    ipcm_shared_free(sh, sizeof(*sh));
    return r;
}

int ipcm_calibrate_memcpy(size_t bytes, unsigned budget_ms, double *gbs)
{
    *gbs = NAN;
    unsigned char *src = NULL, *dst = NULL;
    if (posix_memalign((void **)&src, 4096, bytes) || posix_memalign((void **)&dst, 4096, bytes)) {
        free(src);
        return -ENOMEM;
    }
    memset(src, 0x5a, bytes);
    memset(dst, 0xa5, bytes);
    uint64_t trial_ns = ipcm_ms_to_ns(budget_ms) / 5;
    double rate[5];
    for (int t = -1; t < 5; t++) {
        uint64_t t0 = ipcm_now_ns(), now = t0, n = 0;
        while (now - t0 < trial_ns) {
            for (int k = 0; k < 16; k++, n++) {
                memcpy(dst, src, bytes);
                __asm__ volatile("" ::"r"(dst) : "memory"); /* keep every copy */
            }
            now = ipcm_now_ns();
        }
        if (t >= 0)
            rate[t] = (double)bytes * (double)n / (double)(now - t0);
    }
    qsort(rate, 5, sizeof(double), cmp_double);
    *gbs = rate[2];
    free(src);
    free(dst);
    return 0;
}

/* ---------------------------------------------------------------- cross-CPU stream */

#define STREAM_MSG ((size_t)64 << 10)
#define STREAM_RING ((size_t)4 << 20) /* several L2s: records are read from L3, not a core */

struct stream_shared {
    _Alignas(128) _Atomic uint64_t tail; /* bytes published by the producer */
    _Alignas(128) _Atomic uint64_t head; /* bytes released by the consumer */
    _Alignas(128) _Atomic int stop;
    _Atomic int ok;
    double gbs;
    _Alignas(4096) unsigned char ring[STREAM_RING];
};

struct stream_arg {
    struct stream_shared *sh;
    int cpu;
    uint64_t budget_ns;
};

/* Producer: copy a record in whenever there is room. */
static int stream_put(const void *varg, size_t len)
{
    const struct stream_arg *a = varg;
    struct stream_shared *sh = a->sh;
    (void)len;
    unsigned char *buf = malloc(STREAM_MSG);
    if (!buf || ipcm_pin_self(a->cpu) < 0) {
        free(buf);
        return 1;
    }
    memset(buf, 0x3c, STREAM_MSG);
    for (uint64_t t = 0; !atomic_load_explicit(&sh->stop, memory_order_relaxed);) {
        if (t - atomic_load_explicit(&sh->head, memory_order_acquire) > STREAM_RING - STREAM_MSG) {
            ipcm_cpu_relax();
            continue;
        }
        memcpy(sh->ring + t % STREAM_RING, buf, STREAM_MSG);
        t += STREAM_MSG;
        atomic_store_explicit(&sh->tail, t, memory_order_release);
    }
    free(buf);
    return 0;
}

/* Consumer: copy each record out, timed after a warm-up lap of the ring. */
static int stream_get(const void *varg, size_t len)
{
    const struct stream_arg *a = varg;
    struct stream_shared *sh = a->sh;
    (void)len;
    unsigned char *buf = malloc(STREAM_MSG);
    if (!buf || ipcm_pin_self(a->cpu) < 0) {
        atomic_store(&sh->stop, 1);
        free(buf);
        return 1;
    }
    uint64_t h = 0, t0 = 0, h0 = 0, give_up = ipcm_now_ns() + a->budget_ns + IPCM_NS_PER_S;
    for (uint64_t n = 0;; n++) {
        uint64_t spins = 0;
        while (atomic_load_explicit(&sh->tail, memory_order_acquire) == h) {
            ipcm_cpu_relax();
            if (++spins % 65536 == 0 && ipcm_now_ns() > give_up) {
                atomic_store(&sh->stop, 1); /* the producer never ran */
                free(buf);
                return 1;
            }
        }
        memcpy(buf, sh->ring + h % STREAM_RING, STREAM_MSG);
        __asm__ volatile("" ::"r"(buf) : "memory");
        h += STREAM_MSG;
        atomic_store_explicit(&sh->head, h, memory_order_release);
        if (n == STREAM_RING / STREAM_MSG) {
            t0 = ipcm_now_ns();
            h0 = h;
        } else if (t0 && (n & 15) == 0 && ipcm_now_ns() - t0 >= a->budget_ns) {
            sh->gbs = (double)(h - h0) / (double)(ipcm_now_ns() - t0);
            break;
        }
    }
    atomic_store(&sh->ok, 1);
    atomic_store(&sh->stop, 1);
    free(buf);
    return 0;
}

int ipcm_calibrate_stream(int cpu_a, int cpu_b, unsigned budget_ms, double *gbs)
{
    *gbs = NAN;
    if (cpu_a == cpu_b || !cpu_usable(cpu_a) || !cpu_usable(cpu_b))
        return -EINVAL;
    struct stream_shared *sh = ipcm_shared_alloc(sizeof(*sh));
    if (!sh)
        return -errno;
    memset(sh, 0, sizeof(*sh)); /* fault the ring in before the clock */
    uint64_t budget_ns = ipcm_ms_to_ns(budget_ms);
    struct stream_arg ap = {sh, cpu_a, budget_ns}, ac = {sh, cpu_b, budget_ns};
    int r = probe_run((struct probe_side){"calibrate stream get", stream_get, &ac},
                      (struct probe_side){"calibrate stream put", stream_put, &ap}, sizeof(ac),
                      (int)budget_ms * 4 + 3000, NULL, 0);
    if (r == 0 && !atomic_load(&sh->ok))
        r = -ETIMEDOUT;
    if (r == 0)
        *gbs = sh->gbs;
    ipcm_shared_free(sh, sizeof(*sh));
    return r;
}

int ipcm_calibrate_timer(double *overhead_ns, uint64_t *resolution_ns)
{
    struct timespec res;
    enum { N = 100000 };
    uint64_t sink = 0, t0 = ipcm_now_ns();
    for (int i = 0; i < N; i++)
        sink += ipcm_now_ns();
    uint64_t t1 = ipcm_now_ns();
    __asm__ volatile("" ::"r"(sink));
    *overhead_ns = (double)(t1 - t0) / N;
    *resolution_ns = clock_getres(CLOCK_MONOTONIC, &res) == 0
                         ? (uint64_t)res.tv_sec * IPCM_NS_PER_S + (uint64_t)res.tv_nsec
                         : 0;
    return 0;
}

int ipcm_calibrate(struct ipcm_calibration *out)
{
    cpu_set_t set;
    memset(out, 0, sizeof(*out));
    out->cpu_a = out->cpu_b = -1;
    out->line_rtt_ns = out->raw_pipe_same_ns = out->raw_pipe_cross_ns = NAN;
    out->stream_64k_gbs = NAN;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        for (int i = 0; i < CPU_SETSIZE; i++)
            if (CPU_ISSET(i, &set)) {
                if (out->cpu_a < 0)
                    out->cpu_a = i;
                else if (out->cpu_b < 0)
                    out->cpu_b = i;
            }
    if (out->cpu_b >= 0)
        ipcm_calibrate_line_rtt(out->cpu_a, out->cpu_b, 150, &out->line_rtt_ns);
    ipcm_calibrate_memcpy(65536, 100, &out->memcpy_64k_gbs);
    if (out->cpu_b >= 0)
        ipcm_calibrate_stream(out->cpu_a, out->cpu_b, 60, &out->stream_64k_gbs);
    if (out->cpu_a >= 0)
        ipcm_calibrate_raw_pipe(out->cpu_a, out->cpu_a, 40, &out->raw_pipe_same_ns);
    if (out->cpu_b >= 0)
        ipcm_calibrate_raw_pipe(out->cpu_a, out->cpu_b, 40, &out->raw_pipe_cross_ns);
    ipcm_calibrate_timer(&out->timer_overhead_ns, &out->timer_resolution_ns);
    return 0;
}
