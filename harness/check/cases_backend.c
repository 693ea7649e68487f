/* SPDX-License-Identifier: MIT */
/*
 * cases_backend.c - conformance groups I, J and K (CONFORMANCE.md §5, 92-112):
 * mechanism specifics, expressed through capabilities and limits, never names. The K
 * (shm ring internals) ids are listed here and covered by the shm engineer's test_shm.
 */
#include "check.h"

#define SHM_NA "shm ring internals (needs backends/testing.h hooks): covered by test_shm"
#define K(id, num, summary) {id, num, summary, IPCM_CHECK_Q, 0, 0, 10000, NULL, SHM_NA, NULL}

const struct ipcm_check_case ipcm_check_cases_backend[] = {
    {"backend.mq_priority_order", 92, "priorities 0,5,5,2,31 arrive 31,5,5,2,0", IPCM_CHECK_Q, 0,
     0, 10000, NULL, "API: ipcm_chan_send has no message priority", NULL},
    {"backend.mq_priority_range", 93, "priority MQ_PRIO_MAX is refused", IPCM_CHECK_Q, 0, 0,
     10000, NULL, "API: ipcm_chan_send has no message priority", NULL},
    {"backend.recv_buffer_rule", 94, "a receive buffer below max_msg is -EMSGSIZE, never confused",
     IPCM_CHECK_QP, 0, 0, 10000, NULL, NULL, NULL},
    {"backend.defaults_and_ceilings", 95, "default depth/size reported; over the ceiling refused",
     IPCM_CHECK_Q, 0, 0, 10000, NULL, NULL, NULL},
    {"backend.mq_realtime_deadline", 96, "absolute CLOCK_REALTIME deadlines recomputed",
     IPCM_CHECK_Q, 0, 0, 10000, NULL,
     "API deadlines are relative and monotonic; timing is blocking.empty_get_timeout", NULL},
    {"backend.mq_name_lifecycle", 97, "unlink while open, recreate, exclusive collision",
     IPCM_CHECK_Q, 0, 0, 10000, NULL, "API: names are internal to a backend; none to reopen",
     NULL},
    {"backend.empty_vs_eof", 98, "zero-length records differ from end-of-stream",
     IPCM_CHECK_QP, IPCM_CAP_NATIVE_MSG, 0, 10000, NULL, NULL, NULL},
    {"backend.record_size_boundary", 99, "the declared max tracks the buffer; one more refused",
     IPCM_CHECK_QP, IPCM_CAP_NATIVE_MSG, 0, 10000, NULL, NULL, NULL},
    {"backend.datagram_queue_depth", 100, "queue depth model of a bound datagram receiver",
     IPCM_CHECK_Q, 0, 0, 10000, NULL,
     "no backend uses a bound datagram receiver; capacity is limits.capacity_declared", NULL},
    {"backend.stream_framing_under_fragmentation", 101, "1-byte reads, 3-byte writes reassemble",
     IPCM_CHECK_QP, IPCM_CAP_STREAM, 0, 10000, NULL,
     "needs a backend hook that shrinks each I/O (none in backends/testing.h)", NULL},
    K("shm.concurrent_open_or_create", 102, "racing open-or-create with kills"),
    K("shm.layout_validation", 103, "wrong magic/version/size/endianness refused"),
    K("shm.atomics_lock_free", 104, "every shared atomic is lock-free"),
    K("shm.producer_dies_at_each_step", 106, "producer killed at each put step"),
    K("shm.consumer_dies_mid_read", 108, "consumer killed between claim and release"),
    K("shm.waiters_die_in_wait", 109, "waiters killed in wait; new waiter wakes"),
    K("shm.lock_owner_dies", 110, "EOWNERDEAD handled, never silently unrecoverable"),
    K("shm.counter_wraparound", 111, "positions and epochs near 2^32 / 2^64"),
    K("shm.corruption_contained", 112, "scribbled header: BROKEN, no out-of-bounds access"),
    {0},
};
