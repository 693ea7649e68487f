/* SPDX-License-Identifier: MIT */
/*
 * test_faulty.c - the conformance suite must FAIL a broken backend: a wrapper that
 * drops, reorders or tears every Nth message (backends/faulty.c) over $IPCM_BACKEND
 * (default pipe). A check that cannot fail would let these pass.
 */
#include "testutil.h"

#include "conform.h"
#include "faulty.h"

#include <stdio.h>
#include <string.h>

static const struct ipcm_backend *inner(void)
{
    const struct ipcm_backend *be = ipcm_test_backend();
    return be ? be : ipcm_backend_find("pipe");
}

/* Run case id on the wrapped backend and return the result. */
static struct ipcm_check_result run_on(const struct ipcm_backend *be, const char *id)
{
    struct ipcm_check_env env;
    struct ipcm_check_result res;
    const struct ipcm_check_case *c = ipcm_check_find(id);
    ck_assert_ptr_nonnull(c);
    ipcm_check_env_init(&env, be, 7, true);
    ipcm_check_run(c, &env, &res);
    return res;
}

START_TEST(healthy_backend_passes_fifo)
{
    struct ipcm_check_result r = run_on(inner(), "order.fifo_single_producer");
    ck_assert_msg(r.outcome == IPCM_CHECK_PASS, "%s", r.message);
}
END_TEST

START_TEST(dropping_every_1000th_message_fails_fifo)
{
    struct ipcm_check_result r =
        run_on(ipcm_faulty_wrap(inner(), IPCM_FAULTY_DROP, 1000), "order.fifo_single_producer");
    ck_assert_int_eq(r.outcome, IPCM_CHECK_FAIL);
    ck_assert_int_gt(r.counts.lost, 0);
    ck_assert_msg(strstr(r.message, "lost") != NULL, "%s", r.message);
}
END_TEST

START_TEST(reordering_every_1000th_message_fails_fifo_and_mpmc)
{
    const struct ipcm_backend *be = ipcm_faulty_wrap(inner(), IPCM_FAULTY_REORDER, 1000);
    struct ipcm_check_result r = run_on(be, "order.fifo_single_producer");
    ck_assert_int_eq(r.outcome, IPCM_CHECK_FAIL);
    ck_assert_int_gt(r.counts.reordered, 0);
    r = run_on(be, "order.mpmc_exactly_once");
    ck_assert_int_eq(r.outcome, IPCM_CHECK_FAIL);
}
END_TEST

START_TEST(tearing_messages_fails_roundtrip_and_large_mpmc)
{
    const struct ipcm_backend *be = ipcm_faulty_wrap(inner(), IPCM_FAULTY_TEAR, 3);
    struct ipcm_check_result r = run_on(be, "delivery.roundtrip_sizes");
    ck_assert_int_eq(r.outcome, IPCM_CHECK_FAIL);
    ck_assert_int_gt(r.counts.corrupt, 0);
    r = run_on(be, "delivery.mpmc_large_not_torn");
    ck_assert_int_eq(r.outcome, IPCM_CHECK_FAIL);
    ck_assert_int_gt(r.counts.corrupt, 0);
}
END_TEST

static Suite *faulty_suite(void)
{
    Suite *s = suite_create("faulty");
    TCase *tc = tcase_create("suite_catches_broken_backends");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, healthy_backend_passes_fifo);
    tcase_add_test(tc, dropping_every_1000th_message_fails_fifo);
    tcase_add_test(tc, reordering_every_1000th_message_fails_fifo_and_mpmc);
    tcase_add_test(tc, tearing_messages_fails_roundtrip_and_large_mpmc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(faulty_suite());
}
