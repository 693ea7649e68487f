/* SPDX-License-Identifier: MIT */
/*
 * test_shm_threads.c - the shm ring between threads of one process: an MPMC stress with
 * exactly-once and per-producer-order checks, and a pipe-shape ping-pong. Built with
 * -DIPCM_SANITIZE=thread it is the ring's memory-ordering check (ThreadSanitizer).
 */
#include "testing.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NPROD 4
#define NCONS 4
#define PER_PROD 20000u
#define MAXMSG 16384u /* the largest any shape uses */
#define HDR 12u

/* The stress runs in shapes: all against all, and one to one (where each end holds its
 * lock's bias throughout, so the biased paths run under the sanitizer), with small
 * messages and with large ones (a lone consumer of a bulk stream holds back, shm_hold). */
static const struct {
    unsigned prod, cons;
    size_t max_msg;
} shapes[] = {{NPROD, NCONS, 2048}, {1, 1, 2048}, {2, 1, 2048}, {1, 1, MAXMSG}};
static unsigned nprod, ncons;
static size_t max_msg;

static struct ipcm_link *link_;
static _Atomic uint8_t seen[NPROD][PER_PROD];
static _Atomic unsigned long delivered;

static size_t size_of(uint32_t id, uint32_t seq)
{
    return HDR + (seq * 2654435761u + id * 97u) % (max_msg - HDR + 1);
}

static void fill(unsigned char *b, uint32_t id, uint32_t seq, size_t len)
{
    uint32_t h[3] = {id, seq, (uint32_t)len};
    memcpy(b, h, HDR);
    for (size_t i = HDR; i < len; i++)
        b[i] = (unsigned char)(id * 31u + seq * 7u + i);
}

/* libcheck reports every passing assertion through a pipe: hot loops count failures
 * in plain code and assert once. */
static _Atomic unsigned long failures;

static void *prod_main(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    struct ipcm_chan *c;
    unsigned char buf[MAXMSG];
    if (ipcm_shm_test_open_shared(link_, IPCM_ROLE_SEND, &c) < 0) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    for (uint32_t s = 0; s < PER_PROD; s++) {
        size_t n = size_of(id, s);
        fill(buf, id, s, n);
        if (ipcm_chan_send(c, buf, n, -1) != (ssize_t)n)
            atomic_fetch_add(&failures, 1);
        /* With more producers than one, pause now and then: the others get runs of
         * uncontended puts, earn the bias and lose it again. */
        if (nprod > 1 && s % 2000 == 1999)
            sched_yield();
    }
    ipcm_shm_test_close_shared(c);
    return NULL;
}

static bool bad_message(const unsigned char *buf, ssize_t n, int64_t *last)
{
    uint32_t h[3];
    if (n < (ssize_t)HDR)
        return true;
    memcpy(h, buf, HDR);
    if (h[0] >= nprod || h[1] >= PER_PROD || h[2] != (uint32_t)n ||
        (size_t)n != size_of(h[0], h[1]))
        return true;
    for (size_t i = HDR; i < (size_t)n; i++)
        if (buf[i] != (unsigned char)(h[0] * 31u + h[1] * 7u + i))
            return true;
    /* Order per producer as one consumer sees it; exactly once overall. */
    if ((int64_t)h[1] <= last[h[0]])
        return true;
    last[h[0]] = h[1];
    return atomic_exchange(&seen[h[0]][h[1]], 1) != 0;
}

static void *cons_main(void *arg)
{
    struct ipcm_chan *c;
    unsigned char buf[MAXMSG];
    int64_t last[NPROD];
    (void)arg;
    for (int i = 0; i < NPROD; i++)
        last[i] = -1;
    if (ipcm_shm_test_open_shared(link_, IPCM_ROLE_RECV, &c) < 0) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, buf, MAXMSG, -1);
        if (n == 0)
            break; /* the stop message */
        if (bad_message(buf, n, last)) {
            atomic_fetch_add(&failures, 1);
            if (n < 0)
                break;
            continue;
        }
        atomic_fetch_add(&delivered, 1);
    }
    ipcm_shm_test_close_shared(c);
    return NULL;
}

START_TEST(mpmc_threads_exactly_once_in_order)
{
    pthread_t p[NPROD], q[NCONS];
    struct ipcm_shm_stats st;
    nprod = shapes[_i].prod;
    ncons = shapes[_i].cons;
    max_msg = shapes[_i].max_msg;
    struct ipcm_config cfg = {.max_msg = max_msg, .depth = 8};
    atomic_store(&failures, 0);
    atomic_store(&delivered, 0);
    memset(seen, 0, sizeof(seen));
    ck_assert_int_eq(ipcm_link_create(ipcm_backend_find("shm"), IPCM_SHAPE_QUEUE, &cfg, &link_), 0);
    for (uintptr_t i = 0; i < ncons; i++)
        ck_assert_int_eq(pthread_create(&q[i], NULL, cons_main, NULL), 0);
    for (uintptr_t i = 0; i < nprod; i++)
        ck_assert_int_eq(pthread_create(&p[i], NULL, prod_main, (void *)i), 0);
    for (unsigned i = 0; i < nprod; i++)
        pthread_join(p[i], NULL);
    /* A lone producer held the bias (a generation of 1 or more) and left cleanly. */
    ck_assert_int_eq(ipcm_shm_test_stats(link_, 0, &st), 0);
    if (nprod == 1)
        ck_assert_uint_ge(st.prod_bias, 1);
    struct ipcm_chan *c;
    ck_assert_int_eq(ipcm_shm_test_open_shared(link_, IPCM_ROLE_SEND, &c), 0);
    for (unsigned i = 0; i < ncons; i++)
        ck_assert_int_eq(ipcm_chan_send(c, "", 0, -1), 0);
    ipcm_shm_test_close_shared(c);
    for (unsigned i = 0; i < ncons; i++)
        pthread_join(q[i], NULL);
    ck_assert_int_eq(ipcm_shm_test_stats(link_, 0, &st), 0);
    if (ncons == 1)
        ck_assert_uint_ge(st.cons_bias, 1);
    ck_assert_uint_eq(atomic_load(&failures), 0);
    ck_assert_uint_eq(atomic_load(&delivered), (unsigned long)nprod * PER_PROD);
    unsigned long missing = 0;
    for (unsigned i = 0; i < nprod; i++)
        for (uint32_t s = 0; s < PER_PROD; s++)
            missing += !atomic_load(&seen[i][s]);
    ck_assert_uint_eq(missing, 0);
    ipcm_link_destroy(link_);
}
END_TEST

#define ROUNDS 20000u

static void *echo_main(void *arg)
{
    struct ipcm_chan *c = arg;
    unsigned char buf[MAXMSG];
    for (uint32_t r = 0; r < ROUNDS; r++) {
        ssize_t n = ipcm_chan_recv(c, buf, MAXMSG, -1);
        if (n < 0 || ipcm_chan_send(c, buf, (size_t)n, -1) != n) {
            atomic_fetch_add(&failures, 1);
            break;
        }
    }
    return NULL;
}

START_TEST(pipe_threads_ping_pong)
{
    max_msg = 2048;
    struct ipcm_config cfg = {.max_msg = max_msg, .depth = 4};
    struct ipcm_chan *a, *b;
    unsigned char out[MAXMSG], in[MAXMSG];
    pthread_t t;
    ck_assert_int_eq(ipcm_link_create(ipcm_backend_find("shm"), IPCM_SHAPE_PIPE, &cfg, &link_), 0);
    ck_assert_int_eq(ipcm_shm_test_open_shared(link_, IPCM_ROLE_A, &a), 0);
    ck_assert_int_eq(ipcm_shm_test_open_shared(link_, IPCM_ROLE_B, &b), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, echo_main, b), 0);
    unsigned long bad = 0;
    for (uint32_t r = 0; r < ROUNDS && !bad; r++) {
        size_t n = size_of(0, r);
        fill(out, 0, r, n);
        bad += ipcm_chan_send(a, out, n, -1) != (ssize_t)n;
        bad += ipcm_chan_recv(a, in, MAXMSG, -1) != (ssize_t)n || memcmp(in, out, n) != 0;
    }
    ck_assert_uint_eq(bad, 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(atomic_load(&failures), 0);
    ipcm_shm_test_close_shared(a);
    ipcm_shm_test_close_shared(b);
    ipcm_link_destroy(link_);
}
END_TEST

static Suite *shm_threads_suite(void)
{
    Suite *s = suite_create("shm_threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, mpmc_threads_exactly_once_in_order, 0,
                        (int)(sizeof(shapes) / sizeof(shapes[0])));
    tcase_add_test(tc, pipe_threads_ping_pong);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(shm_threads_suite());
}
