/* SPDX-License-Identifier: MIT */
/*
 * cases_signals.c - conformance group D (CONFORMANCE.md §5, 45-48): EINTR storms
 * against blocked calls, with a SIGUSR1 handler installed without SA_RESTART.
 * Registered; the bodies are not written yet (reported "not yet implemented").
 */
#include "check.h"

const struct ipcm_check_case ipcm_check_cases_signals[] = {
    {"signals.eintr_blocked_recv", 45, "200 SIGUSR1 (no SA_RESTART) during a blocked recv",
     IPCM_CHECK_QP, 0, 0, 30000, NULL, NULL, NULL},
    {"signals.eintr_during_large_send", 46, "signals every ms during a large, slow-read send",
     IPCM_CHECK_QP, 0, 0, 30000, NULL, NULL, NULL},
    {"signals.eintr_blocked_send_full", 48, "signals during a send blocked on a full channel",
     IPCM_CHECK_QP, 0, 0, 30000, NULL, NULL, NULL},
    {0},
};
