/* SPDX-License-Identifier: MIT */
/*
 * test_pool_lazy.c - the pool's lazy maps and completion callbacks on the backend named
 * by $IPCM_BACKEND: imap equals the serial map in order, imap_unordered gives every
 * index once, an input stream that fails mid-way (CONFORMANCE case 76), a stream of ten
 * million inputs in flat memory, and map_async's done/failed callbacks.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_MS 20000

static const struct ipcm_backend *be;
static uint32_t f_serial(uint32_t x)
{
    return x * 2654435761u + 7;
}

/* in: a uint32_t x; out: f_serial(x), or -EDOM for x == FAIL_X. */
#define FAIL_X 0xdeadbeefu
static int task(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
    uint32_t x, y;
    if (in_len != sizeof(x) || out_cap < sizeof(y))
        return -EINVAL;
    memcpy(&x, in, sizeof(x));
    if (x == FAIL_X)
        return -EDOM;
    y = f_serial(x);
    memcpy(out, &y, sizeof(y));
    *out_len = sizeof(y);
    return 0;
}

/* An input stream: x = index, n of them, failing (-EBADMSG) at index fail_at; the input
 * at index poison is FAIL_X (its task fails). Zero poison means none. */
struct stream {
    size_t n, fail_at, poison;
    uint32_t x; /* the bytes handed out last (the pool copies them) */
    size_t pulled;
};

static int next(size_t index, struct ipcm_pool_buf *in, void *arg)
{
    struct stream *s = arg;
    ck_assert_uint_eq(index, s->pulled); /* asked for in order, each once */
    if (index == s->fail_at)
        return -EBADMSG;
    if (index >= s->n)
        return 0;
    s->pulled++;
    s->x = s->poison && index == s->poison ? FAIL_X : (uint32_t)index;
    *in = (struct ipcm_pool_buf){&s->x, sizeof(s->x)};
    return 1;
}

/* What came back: the count, the order, the values. */
struct seen {
    size_t count, next_index; /* next_index: the index an ordered map must give next */
    unsigned char *hit;       /* per index, for unordered (may be NULL) */
    size_t nhit;
    bool ordered, bad;
};

static int on_result(size_t index, int status, const void *data, size_t len, void *arg)
{
    struct seen *s = arg;
    uint32_t y;
    if (s->ordered && index != s->next_index)
        s->bad = true;
    s->next_index = index + 1;
    if (status != 0 || len != sizeof(y))
        s->bad = true;
    else {
        memcpy(&y, data, sizeof(y));
        s->bad |= y != f_serial((uint32_t)index);
    }
    if (s->hit && index < s->nhit)
        s->bad |= s->hit[index]++ != 0;
    s->count++;
    return 0;
}

START_TEST(imap_equals_the_serial_map_in_order)
{
    static const size_t ns[] = {0, 1, 7, 1000};
    static const size_t chunks[] = {0, 1, 3, 16};
    static const size_t windows[] = {0, 1, 5, 64};
    struct ipcm_pool *p = ipcm_test_pool_new(3, be, NULL);
    for (size_t a = 0; a < 4; a++)
        for (size_t c = 0; c < 4; c++)
            for (size_t w = 0; w < 4; w++) {
                struct stream st = {.n = ns[a], .fail_at = SIZE_MAX};
                struct seen s = {.ordered = true};
                int r = ipcm_pool_imap(p, task, next, &st, chunks[c], windows[w], on_result, &s,
                                       TIMEOUT_MS);
                ck_assert_msg(r == 0, "n %zu chunk %zu window %zu: %s", ns[a], chunks[c],
                              windows[w], ipcm_strerror(r));
                ck_assert_uint_eq(s.count, ns[a]);
                ck_assert_msg(!s.bad, "n %zu chunk %zu window %zu: wrong value or order", ns[a],
                              chunks[c], windows[w]);
            }
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(imap_unordered_gives_every_index_once)
{
    struct ipcm_pool *p = ipcm_test_pool_new(3, be, NULL);
    struct stream st = {.n = 2000, .fail_at = SIZE_MAX};
    struct seen s = {.hit = calloc(2000, 1), .nhit = 2000};
    ck_assert_int_eq(ipcm_pool_imap_unordered(p, task, next, &st, 4, 40, on_result, &s, TIMEOUT_MS),
                     0);
    ck_assert_uint_eq(s.count, 2000);
    ck_assert(!s.bad);
    for (size_t i = 0; i < 2000; i++)
        ck_assert_uint_eq(s.hit[i], 1);
    free(s.hit);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* Case 76: the stream fails at index k: the complete chunks before k, in order, then
 * the stream's error; the pool is reusable (run twice). */
START_TEST(imap_stream_failing_midway_gives_the_whole_chunks_before_it)
{
    static const size_t at[] = {0, 3, 7}, chunks[] = {1, 2, 4};
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    for (int twice = 0; twice < 2; twice++)
        for (size_t a = 0; a < 3; a++)
            for (size_t c = 0; c < 3; c++) {
                struct stream st = {.n = 100, .fail_at = at[a]};
                struct seen s = {.ordered = true};
                int r = ipcm_pool_imap(p, task, next, &st, chunks[c], 0, on_result, &s, TIMEOUT_MS);
                ck_assert_int_eq(r, -EBADMSG);
                ck_assert_uint_eq(s.count, at[a] / chunks[c] * chunks[c]);
                ck_assert(!s.bad);
            }
    struct stream ok = {.n = 50, .fail_at = SIZE_MAX};
    struct seen s = {.ordered = true};
    ck_assert_int_eq(ipcm_pool_imap(p, task, next, &ok, 2, 0, on_result, &s, TIMEOUT_MS), 0);
    ck_assert_uint_eq(s.count, 50);
    ck_assert(!s.bad);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* A task's error is its result's status, and the stream goes on. */
static int count_status(size_t index, int status, const void *data, size_t len, void *arg)
{
    (void)data, (void)len;
    size_t *failed = arg;
    if (status == -EDOM) {
        ck_assert_uint_eq(index, 777);
        (*failed)++;
    }
    return 0;
}

START_TEST(imap_task_error_is_a_status_and_the_stream_goes_on)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct stream st = {.n = 1000, .fail_at = SIZE_MAX, .poison = 777};
    size_t failed = 0;
    ck_assert_int_eq(ipcm_pool_imap(p, task, next, &st, 8, 256, count_status, &failed, TIMEOUT_MS),
                     0);
    ck_assert_uint_eq(failed, 1);
    ck_assert_uint_eq(st.pulled, 1000);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer holds freed blocks in a quarantine of up to 256 MiB before reuse, so
 * the resident size grows under it whatever the pool keeps (CI saw +368 MiB). Its count
 * of live heap bytes leaves the quarantine out and still counts anything kept per task. */
#define MEM_WHAT "live heap"
/* From libasan (its header, sanitizer/allocator_interface.h, is not in Debian's gcc). */
size_t __sanitizer_get_current_allocated_bytes(void);
static long mem_kib(void)
{
    return (long)(__sanitizer_get_current_allocated_bytes() / 1024);
}
#else
#define MEM_WHAT "VmRSS"
static long mem_kib(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}
#endif

/* Counts results, and samples the memory at the mark-th and at the last, inside the map
 * (after it returns, what it kept is freed and a live-heap count would not see it). */
struct rss_seen {
    size_t count, mark, last;
    long at_mark, at_last;
};

static int rss_result(size_t index, int status, const void *data, size_t len, void *arg)
{
    (void)data, (void)len;
    struct rss_seen *s = arg;
    ck_assert_int_eq(status, 0);
    ck_assert_uint_eq(index, s->count);
    if (++s->count == s->mark)
        s->at_mark = mem_kib();
    if (s->count == s->last)
        s->at_last = mem_kib();
    return 0;
}

/* $IPCM_LAZY_BIG inputs (ten million in the slow test): the parent's resident memory (its
 * live heap under AddressSanitizer) after the first tenth and at the last result differ by less
 * than 8 MiB (an input or a result kept per task would be 4 B x 90% of them, 7+ MiB at
 * two million, 36 MiB at ten). */
START_TEST(imap_of_millions_of_inputs_keeps_memory_flat)
{
    size_t n = strtoul(getenv("IPCM_LAZY_BIG"), NULL, 10);
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    struct stream st = {.n = n, .fail_at = SIZE_MAX};
    struct rss_seen s = {.mark = n / 10, .last = n};
    ck_assert_uint_ge(n, 1000000);
    ck_assert_int_eq(ipcm_pool_imap(p, task, next, &st, 500, 0, rss_result, &s, -1), 0);
    long end = s.at_last;
    ck_assert_uint_eq(s.count, n);
    ck_assert_msg(s.at_mark > 0 && end > 0, "no " MEM_WHAT);
    printf("imap of %zu inputs: " MEM_WHAT " %ld KiB at %zu, %ld KiB at the last result\n", n,
           s.at_mark, s.mark, end);
    ck_assert_msg(end - s.at_mark < 8192, MEM_WHAT " grew by %ld KiB from input %zu to %zu",
                  end - s.at_mark, s.mark, n);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

/* ------------------------------------------------------------ completion callbacks */

struct told {
    int done, failed, result, pool_call;
    struct ipcm_pool *p;
};

static void on_done(int result, void *arg)
{
    struct told *t = arg;
    t->done++;
    t->result = result;
    t->pool_call = ipcm_pool_close(t->p); /* refused while the map settles */
}

static void on_failed(int result, void *arg)
{
    struct told *t = arg;
    t->failed++;
    t->result = result;
}

START_TEST(map_async_callbacks_run_once_in_the_waiting_call)
{
    struct ipcm_pool *p = ipcm_test_pool_new(2, be, NULL);
    uint32_t x[64];
    struct ipcm_pool_buf in[64];
    struct ipcm_pool_result out[64];
    for (uint32_t i = 0; i < 64; i++) {
        x[i] = i;
        in[i] = (struct ipcm_pool_buf){&x[i], sizeof(x[i])};
    }
    struct ipcm_pool_async *a;
    struct told t = {.p = p};
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in, 64, 1, out, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_on_done(a, on_done, on_failed, &t), 0);
    ck_assert_int_eq(ipcm_pool_async_on_done(a, on_done, on_failed, &t), -EALREADY);
    ck_assert_int_eq(ipcm_pool_async_wait(a, TIMEOUT_MS), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, TIMEOUT_MS), 0);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(t.failed, 0);
    ck_assert_int_eq(t.pool_call, -EDEADLK);
    ipcm_pool_async_free(a);
    ipcm_pool_results_free(out, 64);

    /* A failing task: failed(-EREMOTEIO); set after the end: told at once. */
    x[5] = FAIL_X;
    struct told f = {.p = p};
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in, 64, 4, out, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, TIMEOUT_MS), -EREMOTEIO);
    ck_assert_int_eq(f.failed, 0);
    ck_assert_int_eq(ipcm_pool_async_on_done(a, on_done, on_failed, &f), 0);
    ck_assert_int_eq(f.failed, 1);
    ck_assert_int_eq(f.result, -EREMOTEIO);
    ck_assert_int_eq(f.done, 0);
    ipcm_pool_async_free(a);
    ipcm_pool_results_free(out, 64);

    /* Freed while running: failed(-ECANCELED), from inside free. */
    struct told c = {.p = p};
    ck_assert_int_eq(ipcm_pool_map_async(p, task, in, 64, 1, out, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_on_done(a, NULL, on_failed, &c), 0);
    bool over = ipcm_pool_async_ready(a);
    ipcm_pool_async_free(a);
    ck_assert_int_eq(c.failed, over ? 0 : 1);
    if (!over)
        ck_assert_int_eq(c.result, -ECANCELED);
    ipcm_pool_results_free(out, 64);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

START_TEST(apply_async_callback_gets_the_result)
{
    struct ipcm_pool *p = ipcm_test_pool_new(1, be, NULL);
    uint32_t x = 41;
    struct ipcm_pool_result out;
    struct ipcm_pool_async *a;
    struct told t = {.p = p};
    ck_assert_int_eq(ipcm_pool_apply_async(p, task, &x, sizeof(x), &out, &a), 0);
    ck_assert_int_eq(ipcm_pool_async_on_done(a, on_done, on_failed, &t), 0);
    ck_assert_int_eq(ipcm_pool_async_wait(a, TIMEOUT_MS), 0);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(t.result, 0);
    ipcm_pool_async_free(a);
    ipcm_pool_results_free(&out, 1);
    ipcm_test_pool_done(p, TIMEOUT_MS);
}
END_TEST

static Suite *lazy_suite(void)
{
    Suite *s = suite_create("pool_lazy");
    TCase *tc = tcase_create("lazy");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, ipcm_test_fds_mark, NULL);
    tcase_add_test(tc, imap_equals_the_serial_map_in_order);
    tcase_add_test(tc, imap_unordered_gives_every_index_once);
    tcase_add_test(tc, imap_stream_failing_midway_gives_the_whole_chunks_before_it);
    tcase_add_test(tc, imap_task_error_is_a_status_and_the_stream_goes_on);
    tcase_add_test(tc, map_async_callbacks_run_once_in_the_waiting_call);
    tcase_add_test(tc, apply_async_callback_gets_the_result);
    suite_add_tcase(s, tc);
    /* Millions of tasks: on one backend (IPCM_LAZY_BIG=N), not once per backend. */
    if (getenv("IPCM_LAZY_BIG")) {
        TCase *big = tcase_create("big");
        tcase_set_timeout(big, 600);
        tcase_add_checked_fixture(big, ipcm_test_fds_mark, NULL);
        tcase_add_test(big, imap_of_millions_of_inputs_keeps_memory_flat);
        suite_add_tcase(s, big);
    }
    return s;
}

int main(void)
{
    struct ipcm_limits lim;
    be = ipcm_test_backend();
    if (!be || ipcm_backend_limits(be, &lim) < 0)
        return IPCM_TEST_SKIP;
    return ipcm_test_run(lazy_suite());
}
