/* SPDX-License-Identifier: MIT */
/*
 * cases_pool.c - conformance group H (CONFORMANCE.md §5, 49 and 69-91): the process
 * pool over the backend under test. Case 91 (every case on every backend) is the
 * runner's own matrix; its limit half is `pool.per_backend_matrix` below.
 */
#include "conform.h"

#include "base.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define POOL_TMO 20000

enum pool_act {
    PA_NONE,
    PA_FAIL,
    PA_SIGKILL,
    PA_SIGSEGV,
    PA_ABORT,
    PA_EXIT99,
    PA_SLEEP,
    PA_PID,
    PA_HUGE,
    PA_BIGERR
};

struct pool_in {
    uint32_t x, act, ms, pad;
};

static uint32_t pool_f(uint32_t x)
{
    return x * 2654435761u + 11;
}

static int pool_task(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    struct pool_in t;
    uint32_t y;
    if (in_len < sizeof(t))
        return -EINVAL;
    memcpy(&t, in, sizeof(t));
    switch ((enum pool_act)t.act) {
    case PA_FAIL: return -EDOM;
    case PA_SIGKILL: raise(SIGKILL); break;
    case PA_SIGSEGV:
        /* Die by the signal itself, even under ASan, which would trap it. */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        break;
    case PA_ABORT: abort();
    case PA_EXIT99: _exit(99);
    case PA_SLEEP: ipcm_sleep_ms((int)t.ms); break;
    case PA_PID: y = (uint32_t)getpid(); goto put;
    case PA_HUGE: *out_len = out_cap + 1; return 0;
    case PA_BIGERR:
        /* A failing task with a large payload (bpo-23992: 1 MiB errors). */
        memset(out, 'e', out_cap);
        *out_len = out_cap;
        return -EDOM;
    case PA_NONE: break;
    }
    y = pool_f(t.x);
put:
    memcpy(out, &y, sizeof(y));
    *out_len = sizeof(y);
    return 0;
}

struct pool_inputs {
    struct pool_in *t;
    struct ipcm_pool_buf *b;
    struct ipcm_pool_result *r;
    size_t n;
};

static bool inputs_new(struct pool_inputs *in, size_t n)
{
    in->n = n;
    in->t = calloc(n + 1, sizeof(*in->t));
    in->b = calloc(n + 1, sizeof(*in->b));
    in->r = calloc(n + 1, sizeof(*in->r));
    for (size_t i = 0; in->t && in->b && i < n; i++) {
        in->t[i] = (struct pool_in){.x = (uint32_t)i};
        in->b[i] = (struct ipcm_pool_buf){&in->t[i], sizeof(in->t[i])};
    }
    return in->t && in->b && in->r;
}

static void inputs_free(struct pool_inputs *in)
{
    ipcm_pool_results_free(in->r, in->n);
    free(in->t);
    free(in->b);
    free(in->r);
}

/* Every result with status 0 equals the serial value. Returns the first bad index or -1. */
static long inputs_bad(const struct pool_inputs *in)
{
    for (size_t i = 0; i < in->n; i++) {
        uint32_t y = 0;
        if (in->r[i].status != 0)
            continue;
        if (in->r[i].len == sizeof(y))
            memcpy(&y, in->r[i].data, sizeof(y));
        if (in->r[i].len != sizeof(y) || y != pool_f(in->t[i].x))
            return (long)i;
    }
    return -1;
}

static struct ipcm_pool *pool_up(struct ipcm_check_ctx *ctx, unsigned workers,
                                 const struct ipcm_pool_options *opt)
{
    struct ipcm_pool *p = NULL;
    int r = ipcm_pool_create(&p, workers, ctx->be, opt);
    if (r < 0 && ipcm_check_env_reason(r))
        ipcm_check_envf(ctx, "pool_create(%u): %s", workers, ipcm_check_env_reason(r));
    else if (r < 0)
        ipcm_check_failf(ctx, __FILE__, __LINE__, "pool_create(%u): %s", workers, ipcm_strerror(r));
    return p;
}

static void pool_down(struct ipcm_check_ctx *ctx, struct ipcm_pool *p)
{
    ipcm_pool_close(p);
    int r = ipcm_pool_join(p, ipcm_check_scaled_ms(ctx, POOL_TMO));
    ipcm_pool_destroy(p);
    if (r < 0)
        ipcm_check_failf(ctx, __FILE__, __LINE__, "close+join: %s", ipcm_strerror(r));
}

/* 49: SIGUSR1 every millisecond, from a handler installed without SA_RESTART, at the
 * process that runs maps and then close + join: every interrupted wait must resume
 * against its deadline (no -EINTR, no lost or wrong result). */
struct eintr_shared {
    _Atomic int stop;
    _Atomic long hits;
};

static struct eintr_shared *g_eintr;

static void on_usr1_count(int sig)
{
    (void)sig;
    if (g_eintr)
        atomic_fetch_add(&g_eintr->hits, 1);
}

struct firer_arg {
    struct eintr_shared *sh;
    pid_t target;
};

static int w_fire_usr1(const void *arg, size_t len)
{
    const struct firer_arg *a = arg;
    (void)len;
    for (int i = 0; i < 60000 && !atomic_load(&a->sh->stop); i++) {
        kill(a->target, SIGUSR1);
        ipcm_sleep_ms(1);
    }
    return 0;
}

static void eintr_during_join(struct ipcm_check_ctx *ctx)
{
    struct eintr_shared *sh = ipcm_shared_alloc(sizeof(*sh));
    IPCM_CHECK(ctx, sh != NULL, "out of memory");
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1_count;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupted calls fail with EINTR */
    g_eintr = sh;
    sigaction(SIGUSR1, &sa, &old);
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct firer_arg fa = {.sh = sh, .target = getpid()};
    struct ipcm_process firer = {0};
    int rs = p ? ipcm_check_spawn(ctx, &firer, "firer", w_fire_usr1, &fa, sizeof(fa)) : -1;
    for (int round = 0; p && rs == 0 && round < 10 && !ipcm_check_failed(ctx); round++) {
        struct pool_inputs in;
        IPCM_CHECK(ctx, inputs_new(&in, 2000), "out of memory");
        int r = ipcm_pool_map(p, pool_task, in.b, in.n, 1, in.r, POOL_TMO);
        long bad = inputs_bad(&in);
        inputs_free(&in);
        IPCM_CHECK_EQ(ctx, r, 0);
        IPCM_CHECK_EQ(ctx, bad, -1);
    }
    if (p) {
        ipcm_pool_close(p);
        int r = ipcm_pool_join(p, ipcm_check_scaled_ms(ctx, POOL_TMO));
        ipcm_pool_destroy(p);
        IPCM_CHECK_EQ(ctx, r, 0);
    }
    atomic_store(&sh->stop, 1);
    ipcm_check_join(ctx, &firer, 10000, __FILE__, __LINE__);
    sigaction(SIGUSR1, &old, NULL);
    g_eintr = NULL;
    long hits = atomic_load(&sh->hits);
    ipcm_shared_free(sh, sizeof(*sh));
    IPCM_CHECK(ctx, hits > 0, "no signal landed during the maps (%ld)", hits);
}

/* 69 */
static void map_matches_serial(struct ipcm_check_ctx *ctx)
{
    static const size_t ns[] = {0, 1, 10, 100, 1000};
    struct ipcm_pool *p = pool_up(ctx, 3, NULL);
    if (!p)
        return;
    for (size_t k = 0; k < 5; k++) {
        const size_t chunks[] = {0, 1, 7, 20, ns[k] ? ns[k] : 1, ns[k] + 5};
        for (size_t c = 0; c < 6; c++) {
            struct pool_inputs in;
            ipcm_check_phase(ctx, "n %zu chunk %zu", ns[k], chunks[c]);
            IPCM_CHECK(ctx, inputs_new(&in, ns[k]), "out of memory");
            int r = ipcm_pool_map(p, pool_task, in.b, in.n, chunks[c], in.r, POOL_TMO);
            long bad = inputs_bad(&in);
            size_t notok = 0;
            for (size_t i = 0; i < in.n; i++)
                notok += in.r[i].status != 0;
            inputs_free(&in);
            IPCM_CHECK_EQ(ctx, r, 0);
            IPCM_CHECK_EQ(ctx, bad, -1);
            IPCM_CHECK_EQ(ctx, notok, 0);
        }
    }
    pool_down(ctx, p);
}

/* 70 */
static void default_chunksize_rule(struct ipcm_check_ctx *ctx)
{
    IPCM_CHECK_EQ(ctx, ipcm_pool_default_chunk(0, 4), 0);
    IPCM_CHECK_EQ(ctx, ipcm_pool_default_chunk(17, 4), 2);
    IPCM_CHECK_EQ(ctx, ipcm_pool_default_chunk(1000, 2), 125);
    IPCM_CHECK_EQ(ctx, ipcm_pool_default_chunk(1001, 2), 126);
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct ipcm_pool_info info;
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK(ctx, inputs_new(&in, 1001), "out of memory");
    int r = ipcm_pool_map(p, pool_task, in.b, in.n, 0, in.r, POOL_TMO);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, r, 0);
    ipcm_pool_info(p, &info);
    IPCM_CHECK_EQ(ctx, info.last_chunk_size, 126);
    /* An empty input returns at once; chunk sizes are unsigned, 0 meaning the default
     * (so "chunksize <= 0 rejected" becomes: no negative size can be expressed). */
    IPCM_CHECK_EQ(ctx, ipcm_pool_map(p, pool_task, NULL, 0, 0, NULL, POOL_TMO), 0);
    pool_down(ctx, p);
}

static int count_cb(size_t index, int status, const void *data, size_t len, void *arg)
{
    unsigned char *seen = arg;
    (void)data, (void)len;
    seen[index] += status == 0 ? 1 : 100;
    return 0;
}

/* 71: imap's order is map's; unordered yields each index once. No lazy imap (inputs
 * are an array), so "bounded consumption of an infinite input" has no subject. */
static void imap_ordered_and_bounded(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 3, NULL);
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK(ctx, inputs_new(&in, 1000), "out of memory");
    unsigned char *seen = calloc(in.n, 1);
    int r = ipcm_pool_map_unordered(p, pool_task, in.b, in.n, 1, count_cb, seen, POOL_TMO);
    size_t bad = 0;
    for (size_t i = 0; i < in.n; i++)
        bad += seen[i] != 1;
    free(seen);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, r, 0);
    IPCM_CHECK_EQ(ctx, bad, 0);
    pool_down(ctx, p);
}

/* 72 */
static void worker_exception_propagates(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct ipcm_pool_error e;
    if (!p)
        return;
    for (int round = 0; round < 2; round++) {
        struct pool_inputs in;
        IPCM_CHECK(ctx, inputs_new(&in, 50), "out of memory");
        in.t[23].act = PA_FAIL;
        int r = ipcm_pool_map(p, pool_task, in.b, in.n, round ? 0 : 1, in.r, POOL_TMO);
        int st = in.r[23].status;
        long bad = inputs_bad(&in);
        inputs_free(&in);
        ipcm_pool_last_error(p, &e);
        IPCM_CHECK_EQ(ctx, r, -EREMOTEIO);
        IPCM_CHECK_EQ(ctx, e.index, 23);
        IPCM_CHECK_EQ(ctx, e.task_status, -EDOM);
        IPCM_CHECK_EQ(ctx, st, -EDOM);
        IPCM_CHECK_EQ(ctx, bad, -1);
    }
    pool_down(ctx, p);
}

/* 76: an input stream of 20 that fails at index fail_at (-EBADMSG). */
struct failing_stream {
    size_t fail_at;
    struct pool_in t;
};

static int failing_next(size_t index, struct ipcm_pool_buf *in, void *arg)
{
    struct failing_stream *s = arg;
    if (index == s->fail_at)
        return -EBADMSG;
    if (index >= 20)
        return 0;
    s->t = (struct pool_in){.x = (uint32_t)index};
    *in = (struct ipcm_pool_buf){&s->t, sizeof(s->t)};
    return 1;
}

/* Results in order and correct: counts them, or -1 at the first that is not. */
static int count_in_order(size_t index, int status, const void *data, size_t len, void *arg)
{
    long *n = arg;
    uint32_t y = 0;
    if (len == sizeof(y))
        memcpy(&y, data, len);
    if (*n < 0 || index != (size_t)*n || status != 0 || y != pool_f((uint32_t)index))
        *n = -1;
    else
        (*n)++;
    return 0;
}

/* 76 */
static void input_iterable_raises(struct ipcm_check_ctx *ctx)
{
    static const size_t at[] = {0, 3, 7}, chunks[] = {1, 2, 4};
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    if (!p)
        return;
    for (int round = 0; round < 2 && !ipcm_check_failed(ctx); round++) /* reusable: twice */
        for (size_t a = 0; a < 3; a++)
            for (size_t c = 0; c < 3; c++) {
                struct failing_stream st = {.fail_at = at[a]};
                long got = 0;
                int r = ipcm_pool_imap(p, pool_task, failing_next, &st, chunks[c], 0,
                                       count_in_order, &got, POOL_TMO);
                IPCM_CHECK_EQ(ctx, r, -EBADMSG);
                /* Python's imap: the complete chunks before the failing one, then the error. */
                IPCM_CHECK_EQ(ctx, got, (long)(at[a] / chunks[c] * chunks[c]));
            }
    pool_down(ctx, p);
}

/* 73 */
static void errors_do_not_block_join(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK(ctx, inputs_new(&in, 64), "out of memory");
    for (size_t i = 0; i < in.n; i++)
        in.t[i].act = PA_BIGERR;
    int r = ipcm_pool_map(p, pool_task, in.b, in.n, 1, in.r, POOL_TMO);
    size_t failed = 0;
    for (size_t i = 0; i < in.n; i++)
        failed += in.r[i].status == -EDOM;
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, r, -EREMOTEIO);
    IPCM_CHECK_EQ(ctx, failed, 64); /* every task ran: no fail-fast */
    pool_down(ctx, p);
}

/* 74 */
static void unencodable_argument(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct ipcm_pool_info info;
    struct ipcm_pool_error e;
    if (!p)
        return;
    ipcm_pool_info(p, &info);
    unsigned char *big = calloc(1, info.max_task_bytes + 1);
    struct pool_in t = {.x = 3};
    struct ipcm_pool_buf b[2] = {{&t, sizeof(t)}, {big, info.max_task_bytes + 1}};
    struct ipcm_pool_result r[2];
    int rc = ipcm_pool_map(p, pool_task, b, 2, 1, r, POOL_TMO);
    free(big);
    ipcm_pool_last_error(p, &e);
    IPCM_CHECK_EQ(ctx, rc, -EMSGSIZE);
    IPCM_CHECK_EQ(ctx, e.index, 1);
    IPCM_CHECK(ctx, strstr(e.what, "at most") != NULL, "error does not name the limit: %s", e.what);
    IPCM_CHECK_EQ(ctx, ipcm_pool_map(p, pool_task, b, 1, 1, r, POOL_TMO), 0);
    ipcm_pool_results_free(r, 1);
    pool_down(ctx, p);
}

/* 75 */
static void unencodable_result(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct ipcm_pool_info info;
    if (!p)
        return;
    for (int k = 0; k < 20; k++) {
        struct pool_in t = {.x = 1, .act = PA_HUGE};
        struct ipcm_pool_result r;
        IPCM_CHECK_EQ(ctx, ipcm_pool_apply(p, pool_task, &t, sizeof(t), &r, POOL_TMO), -EREMOTEIO);
        IPCM_CHECK_EQ(ctx, r.status, -EMSGSIZE);
        ipcm_pool_results_free(&r, 1);
    }
    ipcm_pool_info(p, &info);
    IPCM_CHECK_EQ(ctx, info.workers_started, 2); /* worker count unchanged */
    pool_down(ctx, p);
}

/* 77, 78, 80: one crash kind, with tasks of size task_len. */
static void crash_one(struct ipcm_check_ctx *ctx, enum pool_act act, int sig, int code,
                      size_t task_len)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct ipcm_pool_error e;
    if (!p)
        return;
    size_t n = 30;
    unsigned char *buf = calloc(n, task_len);
    struct ipcm_pool_buf *b = calloc(n, sizeof(*b));
    struct ipcm_pool_result *r = calloc(n, sizeof(*r));
    IPCM_CHECK(ctx, buf && b && r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct pool_in t = {.x = (uint32_t)i, .act = i == 12 ? act : PA_NONE};
        memcpy(buf + i * task_len, &t, sizeof(t));
        b[i] = (struct ipcm_pool_buf){buf + i * task_len, task_len};
    }
    uint64_t t0 = ipcm_now_ns();
    int rc = ipcm_pool_map(p, pool_task, b, n, 1, r, POOL_TMO);
    uint64_t dt = ipcm_ns_since(t0);
    int st12 = r[12].status;
    ipcm_pool_results_free(r, n);
    ipcm_pool_last_error(p, &e);
    IPCM_CHECK_EQ(ctx, rc, -EPIPE);
    IPCM_CHECK_LT(ctx, dt, 10 * IPCM_NS_PER_S);
    IPCM_CHECK_EQ(ctx, st12, -EPIPE);
    IPCM_CHECK_GT(ctx, e.pid, 0);
    IPCM_CHECK_EQ(ctx, e.exit.signal, sig);
    IPCM_CHECK_EQ(ctx, e.exit.code, code);
    /* Replaced: the next map works. */
    for (size_t i = 0; i < n; i++)
        memset(buf + i * task_len + 4, 0, 4);
    IPCM_CHECK_EQ(ctx, ipcm_pool_map(p, pool_task, b, n, 0, r, POOL_TMO), 0);
    ipcm_pool_results_free(r, n);
    free(buf);
    free(b);
    free(r);
    pool_down(ctx, p);
}

static void worker_killed_mid_task(struct ipcm_check_ctx *ctx)
{
    crash_one(ctx, PA_SIGKILL, SIGKILL, -1, sizeof(struct pool_in));
}

static void worker_failure_matrix(struct ipcm_check_ctx *ctx)
{
    crash_one(ctx, PA_SIGSEGV, SIGSEGV, -1, sizeof(struct pool_in));
    if (ipcm_check_failed(ctx))
        return;
    crash_one(ctx, PA_ABORT, SIGABRT, -1, sizeof(struct pool_in));
    if (ipcm_check_failed(ctx))
        return;
    crash_one(ctx, PA_EXIT99, 0, 99, sizeof(struct pool_in));
}

static void crash_with_large_task_in_flight(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool_options o = {0};
    struct ipcm_pool *p = pool_up(ctx, 1, &o);
    struct ipcm_pool_info info;
    if (!p)
        return;
    ipcm_pool_info(p, &info);
    pool_down(ctx, p);
    crash_one(ctx, PA_SIGKILL, SIGKILL, -1, info.max_task_bytes);
}

/* 79: per-worker task queues: a worker killed while it receives breaks only its own
 * queue, which the pool discards. Kill workers repeatedly while maps run. */
static void worker_dies_while_reading_task(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct ipcm_pool_info info;
    if (!p)
        return;
    ipcm_pool_info(p, &info);
    size_t n = 40, sz = info.max_task_bytes;
    unsigned char *buf = calloc(n, sz);
    struct ipcm_pool_buf *b = calloc(n, sizeof(*b));
    struct ipcm_pool_result *r = calloc(n, sizeof(*r));
    IPCM_CHECK(ctx, buf && b && r, "out of memory");
    for (size_t i = 0; i < n; i++)
        b[i] = (struct ipcm_pool_buf){buf + i * sz, sz};
    for (int round = 0; round < 5; round++) {
        pid_t victim = ipcm_pool_worker_pid(p, (unsigned)round % 2);
        if (victim > 0)
            kill(victim, SIGKILL);
        int rc = ipcm_pool_map(p, pool_task, b, n, 1, r, POOL_TMO);
        ipcm_pool_results_free(r, n);
        IPCM_CHECK(ctx, rc == 0 || rc == -EPIPE, "map after a kill: %s", ipcm_strerror(rc));
    }
    IPCM_CHECK_EQ(ctx, ipcm_pool_map(p, pool_task, b, n, 1, r, POOL_TMO), 0);
    ipcm_pool_results_free(r, n);
    free(buf);
    free(b);
    free(r);
    pool_down(ctx, p);
}

static int abandon_cb(size_t index, int status, const void *data, size_t len, void *arg)
{
    (void)index, (void)status, (void)data, (void)len, (void)arg;
    return -ECANCELED;
}

/* 81 */
static void terminate_busy_pool(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK(ctx, inputs_new(&in, 10000), "out of memory");
    for (size_t i = 0; i < in.n; i++)
        in.t[i] = (struct pool_in){.x = (uint32_t)i, .act = PA_SLEEP, .ms = i ? 1000 : 1};
    int rc = ipcm_pool_map_unordered(p, pool_task, in.b, in.n, 1, abandon_cb, NULL, POOL_TMO);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, -ECANCELED);
    uint64_t t0 = ipcm_now_ns();
    IPCM_CHECK_EQ(ctx, ipcm_pool_terminate(p), 0);
    IPCM_CHECK_EQ(ctx, ipcm_pool_join(p, POOL_TMO), 0);
    IPCM_CHECK_LT(ctx, ipcm_ns_since(t0), 3 * IPCM_NS_PER_S);
    IPCM_CHECK_EQ(ctx, ipcm_check_child_count(), 0);
    ipcm_pool_destroy(p);
}

/* 82 */
static void close_join_drains(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool_options recycle = {.max_tasks_per_worker = 1};
    for (int k = 0; k < 2; k++) {
        struct ipcm_pool *p = pool_up(ctx, 2, k ? &recycle : NULL);
        struct pool_inputs in;
        if (!p)
            return;
        IPCM_CHECK(ctx, inputs_new(&in, 40), "out of memory");
        int rc = ipcm_pool_map(p, pool_task, in.b, in.n, 1, in.r, POOL_TMO);
        long bad = inputs_bad(&in);
        inputs_free(&in);
        IPCM_CHECK_EQ(ctx, rc, 0);
        IPCM_CHECK_EQ(ctx, bad, -1);
        IPCM_CHECK_EQ(ctx, ipcm_pool_close(p), 0);
        IPCM_CHECK_EQ(ctx, ipcm_pool_join(p, POOL_TMO), 0);
        ipcm_pool_destroy(p);
        IPCM_CHECK_EQ(ctx, ipcm_check_child_count(), 0);
    }
}

/* 83 */
static void use_after_close_or_terminate(struct ipcm_check_ctx *ctx)
{
    struct pool_in t = {.x = 1};
    struct ipcm_pool_result r;
    for (int k = 0; k < 2; k++) {
        struct ipcm_pool *p = pool_up(ctx, 1, NULL);
        if (!p)
            return;
        if (k)
            ipcm_pool_terminate(p);
        else
            ipcm_pool_close(p);
        IPCM_CHECK_EQ(ctx, ipcm_pool_apply(p, pool_task, &t, sizeof(t), &r, POOL_TMO), -ESHUTDOWN);
        IPCM_CHECK_EQ(ctx, ipcm_pool_apply(p, pool_task, &t, sizeof(t), &r, POOL_TMO), -ESHUTDOWN);
        IPCM_CHECK_EQ(ctx, ipcm_pool_join(p, POOL_TMO), 0);
        ipcm_pool_destroy(p);
    }
}

static int terminate_cb(size_t index, int status, const void *data, size_t len, void *arg)
{
    (void)index, (void)status, (void)data, (void)len;
    return ipcm_pool_terminate(arg) == -EDEADLK ? 0 : -EPROTO;
}

/* 84 */
static void terminate_from_callback(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK(ctx, inputs_new(&in, 20), "out of memory");
    int rc = ipcm_pool_map_unordered(p, pool_task, in.b, in.n, 1, terminate_cb, p, POOL_TMO);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, 0);
    pool_down(ctx, p);
}

/* 85: no async API; a map's timeout is the nearest thing: it returns in time and the
 * pool stays usable (late results are discarded). */
static void async_get_timeout(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = pool_up(ctx, 2, NULL);
    struct ipcm_pool_async *a = NULL;
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK(ctx, inputs_new(&in, 4), "out of memory");
    for (size_t i = 0; i < in.n; i++)
        in.t[i] = (struct pool_in){.x = (uint32_t)i, .act = PA_SLEEP, .ms = 500};
    ipcm_check_phase(ctx, "map_async, then a wait of 100 ms");
    int rc = ipcm_pool_map_async(p, pool_task, in.b, in.n, 1, in.r, &a);
    uint64_t t0 = ipcm_now_ns();
    int w = rc == 0 ? ipcm_pool_async_wait(a, 100) : rc;
    uint64_t dt = ipcm_ns_since(t0);
    bool ready = ipcm_pool_async_ready(a);
    /* The tasks keep running: a later wait has every result. */
    int later = rc == 0 ? ipcm_pool_async_wait(a, POOL_TMO) : rc;
    long bad = inputs_bad(&in);
    ipcm_pool_async_free(a);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, 0);
    IPCM_CHECK_EQ(ctx, w, -ETIMEDOUT);
    IPCM_CHECK(ctx, !ready, "ready after 100 ms of 1 s of work");
    IPCM_CHECK_GE(ctx, dt, 90 * IPCM_NS_PER_MS);
    IPCM_CHECK_LT(ctx, dt, 2 * IPCM_NS_PER_S);
    IPCM_CHECK_EQ(ctx, later, 0);
    IPCM_CHECK_EQ(ctx, bad, -1);
    ipcm_check_phase(ctx, "a plain map's timeout, then a map on the same pool");
    IPCM_CHECK(ctx, inputs_new(&in, 4), "out of memory");
    for (size_t i = 0; i < in.n; i++)
        in.t[i] = (struct pool_in){.x = (uint32_t)i, .act = PA_SLEEP, .ms = 500};
    rc = ipcm_pool_map(p, pool_task, in.b, in.n, 1, in.r, 100);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, -ETIMEDOUT);
    IPCM_CHECK(ctx, inputs_new(&in, 30), "out of memory");
    rc = ipcm_pool_map(p, pool_task, in.b, in.n, 1, in.r, POOL_TMO);
    bad = inputs_bad(&in);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, 0);
    IPCM_CHECK_EQ(ctx, bad, -1);
    pool_down(ctx, p);
}

/* 86 */
static void worker_recycling(struct ipcm_check_ctx *ctx)
{
    const unsigned maxes[] = {1, 10};
    for (int k = 0; k < 2; k++) {
        struct ipcm_pool_options o = {.max_tasks_per_worker = maxes[k]};
        struct ipcm_pool *p = pool_up(ctx, 2, &o);
        struct ipcm_pool_info info;
        struct pool_inputs in;
        if (!p)
            return;
        IPCM_CHECK(ctx, inputs_new(&in, 60), "out of memory");
        int rc = ipcm_pool_map(p, pool_task, in.b, in.n, 1, in.r, POOL_TMO);
        long bad = inputs_bad(&in);
        inputs_free(&in);
        IPCM_CHECK_EQ(ctx, rc, 0);
        IPCM_CHECK_EQ(ctx, bad, -1);
        ipcm_pool_info(p, &info);
        IPCM_CHECK_GE(ctx, info.workers_started, 60 / maxes[k]);
        IPCM_CHECK_EQ(ctx, info.workers_died, 0);
        pool_down(ctx, p);
    }
}

/* 87 */
static void size_validation_and_scale(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool *p = (struct ipcm_pool *)1;
    IPCM_CHECK_EQ(ctx, ipcm_pool_create(&p, 0, ctx->be, NULL), -EINVAL);
    IPCM_CHECK(ctx, p == NULL, "pool set on failure");
    /* 200 workers need ~3 fds each in the parent; raise the soft limit if we can. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
        rl.rlim_cur = 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int r = ipcm_pool_create(&p, 200, ctx->be, NULL);
    if (r == -EMFILE || r == -ENFILE || r == -ENOSPC || r == -ENOMEM) {
        ipcm_check_naf(ctx,
                       "200 workers exceed a host limit on %s: %s (per-worker queues; "
                       "e.g. RLIMIT_MSGQUEUE, fs.mqueue.queues_max)",
                       ipcm_backend_name(ctx->be), ipcm_strerror(r));
        return;
    }
    IPCM_CHECK_EQ(ctx, r, 0);
    struct pool_inputs in;
    IPCM_CHECK(ctx, inputs_new(&in, 1000), "out of memory");
    int rc = ipcm_pool_map(p, pool_task, in.b, in.n, 0, in.r, POOL_TMO);
    long bad = inputs_bad(&in);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, 0);
    IPCM_CHECK_EQ(ctx, bad, -1);
    pool_down(ctx, p);
}

static int init_fail_2(unsigned worker, void *arg)
{
    (void)arg;
    return worker == 2 ? -EACCES : 0;
}

/* 88 and 89 (failing initializer) */
static void partial_start_failure_no_leak(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool_options o = {.initializer = init_fail_2};
    struct ipcm_pool *p = NULL;
    int fds = ipcm_fd_count();
    IPCM_CHECK_EQ(ctx, ipcm_pool_create(&p, 5, ctx->be, &o), -EACCES);
    IPCM_CHECK(ctx, p == NULL, "pool set on failure");
    IPCM_CHECK_EQ(ctx, ipcm_check_child_count(), 0);
    IPCM_CHECK_EQ(ctx, ipcm_fd_count(), fds);
}

static int *init_runs; /* shared: how many initializers ran */
static int init_here;

static int init_count(unsigned worker, void *arg)
{
    (void)worker, (void)arg;
    init_here++;
    __atomic_fetch_add(init_runs, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int init_probe(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    (void)in, (void)in_len, (void)out_cap;
    memcpy(out, &init_here, sizeof(init_here));
    *out_len = sizeof(init_here);
    return 0;
}

/* 89 */
static void initializer(struct ipcm_check_ctx *ctx)
{
    init_runs = ipcm_shared_alloc(sizeof(*init_runs));
    IPCM_CHECK(ctx, init_runs != NULL, "mmap");
    struct ipcm_pool_options o = {.initializer = init_count};
    struct ipcm_pool *p = pool_up(ctx, 3, &o);
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK_EQ(ctx, __atomic_load_n(init_runs, __ATOMIC_SEQ_CST), 3);
    IPCM_CHECK(ctx, inputs_new(&in, 30), "out of memory");
    int rc = ipcm_pool_map(p, init_probe, in.b, in.n, 1, in.r, POOL_TMO);
    size_t bad = 0;
    for (size_t i = 0; i < in.n; i++)
        bad += in.r[i].status != 0 || *(int *)in.r[i].data != 1;
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, 0);
    IPCM_CHECK_EQ(ctx, bad, 0);
    pool_down(ctx, p);
    ipcm_shared_free(init_runs, sizeof(*init_runs));
    partial_start_failure_no_leak(ctx);
}

static int exiter(const void *arg, size_t len)
{
    struct ipcm_check_ctx *ctx = *(struct ipcm_check_ctx *const *)arg;
    struct ipcm_pool *p = NULL;
    (void)len;
    int r = ipcm_pool_create(&p, 3, ctx->be, NULL);
    if (r < 0 && ipcm_check_env_reason(r))
        ipcm_check_envf(ctx, "pool_create(3): %s", ipcm_check_env_reason(r));
    if (r < 0)
        return 99;
    return 0; /* exits with the pool open: its workers must go too (PDEATHSIG, EOF) */
}

/* 90 */
static void exit_without_close(struct ipcm_check_ctx *ctx)
{
    struct ipcm_process pr;
    IPCM_CHECK_EQ(ctx, ipcm_check_spawn(ctx, &pr, "pool exiter", exiter, &ctx, sizeof(ctx)), 0);
    IPCM_CHECK_JOIN(ctx, &pr, 10000);
    /* Its workers were its children; they are reparented and must die promptly. */
    ipcm_sleep_ms(200);
}

/* 91: limits. A chunk larger than a message is split; one task larger is -EMSGSIZE. */
static void per_backend_matrix(struct ipcm_check_ctx *ctx)
{
    struct ipcm_pool_options o = {.max_msg = 1024};
    struct ipcm_pool *p = pool_up(ctx, 2, &o);
    struct pool_inputs in;
    if (!p)
        return;
    IPCM_CHECK(ctx, inputs_new(&in, 500), "out of memory");
    int rc = ipcm_pool_map(p, pool_task, in.b, in.n, 200, in.r, POOL_TMO);
    long bad = inputs_bad(&in);
    inputs_free(&in);
    IPCM_CHECK_EQ(ctx, rc, 0);
    IPCM_CHECK_EQ(ctx, bad, -1);
    pool_down(ctx, p);
    if (!ipcm_check_failed(ctx))
        unencodable_argument(ctx);
}

const struct ipcm_check_case ipcm_check_cases_pool[] = {
    {"pool.eintr_during_join", 49, "signals during close/join and a blocking map", IPCM_CHECK_Q, 0,
     0, 60000, eintr_during_join, NULL, NULL},
    {"pool.map_matches_serial", 69, "map equals serial map for n and chunksize variants",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 60000, map_matches_serial, NULL, NULL},
    {"pool.default_chunksize_rule", 70, "default chunksize is ceil(n / (4 x workers))",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 30000, default_chunksize_rule, NULL, NULL},
    {"pool.imap_ordered_and_bounded", 71, "unordered results: every index exactly once",
     IPCM_CHECK_Q, 0, 0, 30000, imap_ordered_and_bounded, NULL, NULL},
    {"pool.worker_exception_propagates", 72, "a task's error names its index; pool reusable",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 30000, worker_exception_propagates, NULL, NULL},
    {"pool.errors_do_not_block_join", 73, "large errors from every task; close+join completes",
     IPCM_CHECK_Q, 0, 0, 60000, errors_do_not_block_join, NULL, NULL},
    {"pool.unencodable_argument", 74, "an input over the message limit: -EMSGSIZE naming it",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 30000, unencodable_argument, NULL, NULL},
    {"pool.unencodable_result", 75, "a result over the limit: per-task -EMSGSIZE, same workers",
     IPCM_CHECK_Q, 0, 0, 30000, unencodable_result, NULL, NULL},
    {"pool.input_iterable_raises", 76, "the input stream fails: imap gives whole chunks, then it",
     IPCM_CHECK_Q, 0, 0, 30000, input_iterable_raises, NULL, NULL},
    {"pool.worker_killed_mid_task", 77, "SIGKILL mid-task: -EPIPE naming worker, replaced",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 30000, worker_killed_mid_task, NULL, NULL},
    {"pool.worker_failure_matrix", 78, "SIGSEGV, abort, _exit(99): each reported with status",
     IPCM_CHECK_Q, 0, 0, 60000, worker_failure_matrix, NULL, NULL},
    {"pool.worker_dies_while_reading_task", 79, "workers killed around large receives: no hang",
     IPCM_CHECK_Q, 0, 0, 60000, worker_dies_while_reading_task, NULL, NULL},
    {"pool.crash_with_large_task_in_flight", 80, "crash while max-size tasks are written: error",
     IPCM_CHECK_Q, 0, 0, 60000, crash_with_large_task_in_flight, NULL, NULL},
    {"pool.terminate_busy_pool", 81, "terminate with 10,000 1 s tasks queued returns in bound",
     IPCM_CHECK_Q, 0, IPCM_CHECK_QUICK, 30000, terminate_busy_pool, NULL, NULL},
    {"pool.close_join_drains", 82, "close then join completes, also recycling every task",
     IPCM_CHECK_Q, 0, 0, 60000, close_join_drains, NULL, NULL},
    {"pool.use_after_close_or_terminate", 83, "map after close/terminate: -ESHUTDOWN", IPCM_CHECK_Q,
     0, IPCM_CHECK_QUICK, 30000, use_after_close_or_terminate, NULL, NULL},
    {"pool.terminate_from_callback", 84, "terminate from a callback is refused (-EDEADLK)",
     IPCM_CHECK_Q, 0, 0, 30000, terminate_from_callback, NULL, NULL},
    {"pool.async_get_timeout", 85,
     "map_async: a wait times out, the tasks run on, a later wait has all", IPCM_CHECK_Q, 0, 0,
     30000, async_get_timeout, NULL, NULL},
    {"pool.worker_recycling", 86, "maxtasks 1 and 10: correct results, fresh workers", IPCM_CHECK_Q,
     0, 0, 60000, worker_recycling, NULL, NULL},
    {"pool.size_validation_and_scale", 87, "0 workers rejected; 200 workers map 1,000 items",
     IPCM_CHECK_Q, 0, 0, 120000, size_validation_and_scale, NULL, NULL},
    {"pool.partial_start_failure_no_leak", 88, "3rd of 5 workers fails to start: all reaped",
     IPCM_CHECK_Q, 0, 0, 30000, partial_start_failure_no_leak, NULL, NULL},
    {"pool.initializer", 89, "initializer once per worker; a failing one is a create error",
     IPCM_CHECK_Q, 0, 0, 30000, initializer, NULL, NULL},
    {"pool.exit_without_close", 90, "exit with a pool open: returns, workers go with it",
     IPCM_CHECK_Q, 0, 0, 30000, exit_without_close, NULL, NULL},
    {"pool.per_backend_matrix", 91, "chunks over the message limit split; oversize -EMSGSIZE",
     IPCM_CHECK_Q, 0, 0, 60000, per_backend_matrix, NULL, NULL},
    {0},
};
