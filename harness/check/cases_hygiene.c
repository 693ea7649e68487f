/* SPDX-License-Identifier: MIT */
/*
 * cases_hygiene.c - conformance group F (CONFORMANCE.md §5, 58-64): descriptors and
 * limits. Registered; bodies not written yet except where noted n/a.
 */
#include "check.h"

const struct ipcm_check_case ipcm_check_cases_hygiene[] = {
    {"hygiene.no_fd_growth", 58, "create/destroy many channels: fds back to baseline",
     IPCM_CHECK_QP, 0, 0, 60000, NULL, NULL, NULL},
    {"hygiene.fd_limit_clear_error", 59, "lowered RLIMIT_NOFILE: -EMFILE, nothing half-created",
     IPCM_CHECK_QP, 0, 0, 30000, NULL, NULL, NULL},
    {"hygiene.mq_rlimit_clear_error", 60, "lowered RLIMIT_MSGQUEUE: a clear limit error",
     IPCM_CHECK_Q, 0, 0, 30000, NULL, NULL, NULL},
    {"hygiene.use_after_fork", 61, "use, fork, use from both and from a grandchild",
     IPCM_CHECK_QP, 0, 0, 30000, NULL, NULL, NULL},
    {"hygiene.exec_reattach", 62, "a fork+exec'd helper re-attaches", IPCM_CHECK_QP, 0, 0, 10000,
     NULL, "API: ipcm_process_spawn forks only (no exec start mode); fds are O_CLOEXEC", NULL},
    {"hygiene.fd_passing", 64, "pass an fd (also above 256) over the channel", IPCM_CHECK_P, 0,
     0, 10000, NULL, "API: channels carry bytes only (no SCM_RIGHTS)", NULL},
    {0},
};
