/* SPDX-License-Identifier: MIT */
/*
 * cases_poll.c - conformance group G (CONFORMANCE.md §5, 65-68): pollfd-based waiting,
 * for backends that declare IPCM_CAP_POLLFD. Registered; bodies not written yet.
 */
#include "check.h"

const struct ipcm_check_case ipcm_check_cases_poll[] = {
    {"poll.does_not_consume", 65, "polling from a second process never takes or splits",
     IPCM_CHECK_QP, IPCM_CAP_POLLFD, 0, 30000, NULL, NULL, NULL},
    {"poll.idempotent", 66, "poll, poll, recv, poll: true, true, false", IPCM_CHECK_QP,
     IPCM_CAP_POLLFD, 0, 20000, NULL, NULL, NULL},
    {"poll.wait_many", 67, "poll over several channels and pidfds returns the ready set",
     IPCM_CHECK_QP, IPCM_CAP_POLLFD, 0, 30000, NULL, NULL, NULL},
    {"poll.invalid_handle", 68, "pollfd on a send-only or NULL end is an error",
     IPCM_CHECK_QP, IPCM_CAP_POLLFD, 0, 10000, NULL, NULL, NULL},
    {0},
};
