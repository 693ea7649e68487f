/* SPDX-License-Identifier: MIT */
/*
 * test_msg.c - the benchmark's verified message format: what each verification mode
 * catches (a check that cannot fail would verify nothing).
 */
#include "bench_internal.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static const size_t sizes[] = {8, 23, 24, 64, 300, 4096, 65536};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int check(const void *b, size_t len)
{
    unsigned producer;
    uint64_t seq, ts;
    return ipcm_msg_check(b, len, len, &producer, &seq, &ts);
}

static void roundtrip(bool full)
{
    ipcm_msg_verify(full);
    for (size_t i = 0; i < NSIZES; i++) {
        unsigned char *b = malloc(sizes[i]);
        unsigned producer;
        uint64_t seq, ts;
        ipcm_msg_fill(b, sizes[i], 7, 12345, 999);
        ck_assert_int_eq(ipcm_msg_check(b, sizes[i], sizes[i], &producer, &seq, &ts), 0);
        ck_assert_uint_eq(producer, 7);
        ck_assert_uint_eq(seq, 12345);
        ck_assert_uint_eq(ts, sizes[i] >= IPCM_MSG_FULL ? 999 : 0);
        /* A message of the wrong length is corrupt, whatever it holds. */
        ck_assert_int_lt(ipcm_msg_check(b, sizes[i], sizes[i] + 1, &producer, &seq, &ts), 0);
        free(b);
    }
}

START_TEST(messages_round_trip_in_both_modes)
{
    roundtrip(true);
    roundtrip(false);
}
END_TEST

/* Message A's first half followed by message B's second half: a torn delivery. */
static void splice_detected(bool full)
{
    ipcm_msg_verify(full);
    for (size_t i = 0; i < NSIZES; i++) {
        size_t n = sizes[i];
        unsigned char *a = malloc(n), *b = malloc(n);
        ipcm_msg_fill(a, n, 1, 100, 5);
        ipcm_msg_fill(b, n, 1, 101, 5);
        memcpy(a + n / 2, b + n / 2, n - n / 2);
        ck_assert_msg(check(a, n) < 0, "splice at %zu of %zu B not caught (full=%d)", n / 2, n,
                      full);
        free(a);
        free(b);
    }
}

START_TEST(torn_and_spliced_messages_are_caught_in_both_modes)
{
    splice_detected(true);
    splice_detected(false);
}
END_TEST

START_TEST(stale_payload_under_a_fresh_header_is_caught_in_both_modes)
{
    for (int full = 0; full < 2; full++) {
        ipcm_msg_verify(full);
        size_t n = 65536;
        unsigned char *a = malloc(n), *b = malloc(n);
        ipcm_msg_fill(a, n, 3, 7, 0);
        ipcm_msg_fill(b, n, 3, 8, 0);
        memcpy(b + 4096, a + 4096, n - 4096); /* the tail of an earlier message */
        ck_assert_int_lt(check(b, n), 0);
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(full_mode_catches_any_flipped_byte)
{
    ipcm_msg_verify(true);
    for (size_t i = 0; i < NSIZES; i++) {
        size_t n = sizes[i];
        unsigned char *a = malloc(n);
        for (size_t pos = 0; pos < n; pos += n / 7 + 1) {
            ipcm_msg_fill(a, n, 2, 55, 1);
            a[pos] ^= 0x40;
            ck_assert_msg(check(a, n) < 0, "flip at %zu of %zu B not caught", pos, n);
        }
        free(a);
    }
}
END_TEST

static Suite *msg_suite(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("msg");
    tcase_add_test(tc, messages_round_trip_in_both_modes);
    tcase_add_test(tc, torn_and_spliced_messages_are_caught_in_both_modes);
    tcase_add_test(tc, stale_payload_under_a_fresh_header_is_caught_in_both_modes);
    tcase_add_test(tc, full_mode_catches_any_flipped_byte);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(msg_suite());
}
