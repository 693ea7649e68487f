/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - what the libcheck suites share: the runner, the backend under test
 * and hygiene probes (open fds, named IPC objects, child processes).
 */
#ifndef IPCM_TESTS_TESTUTIL_H
#define IPCM_TESTS_TESTUTIL_H

#include <check.h>

#include "ipcmark.h"

/* Exit status ctest reads as "skipped". */
#define IPCM_TEST_SKIP 77

/*
 * ipcm_test_run - run a suite and return 0 (all passed), 1 (a failure) or 77 (the
 * backend under test is unavailable here). TAP output when CK_TAP_LOG_FILE_NAME is set.
 */
int ipcm_test_run(Suite *s);

/* The backend named by $IPCM_BACKEND (NULL if unset or unknown). */
const struct ipcm_backend *ipcm_test_backend(void);

/* Number of open file descriptors in this process. */
int ipcm_test_fd_count(void);
/* Number of entries under /dev/shm and /dev/mqueue whose name starts "ipcmark-<pid>". */
int ipcm_test_named_leftovers(pid_t pid);
/* Number of children of this process (any state, zombies included). */
int ipcm_test_child_count(void);

/* The sync implementation of loop test i (asserts that it exists). */
const struct ipcm_sync_impl *ipcm_test_sync_impl(int i);
/* Fork a child that runs fn(s) and exits with its value; returns its pid (asserted). */
pid_t ipcm_test_fork_sync(int (*fn)(struct ipcm_sync *s), struct ipcm_sync *s);
/* Reap pid (asserted): its exit status, or 128 + the signal that ended it. */
int ipcm_test_wait_exit(pid_t pid);

/* The pool suites' hygiene. ipcm_test_fds_mark is a checked fixture's setup: it records
 * this process's fd count, which ipcm_test_fds_marked returns. */
void ipcm_test_fds_mark(void);
int ipcm_test_fds_marked(void);
/* ipcm_pool_create on be, asserted to succeed. */
struct ipcm_pool *ipcm_test_pool_new(unsigned workers, const struct ipcm_backend *be,
                                     const struct ipcm_pool_options *opt);
/* Close, join (within timeout_ms), destroy, and assert that no worker, no fd beyond the
 * mark and no named object is left. */
void ipcm_test_pool_done(struct ipcm_pool *p, int timeout_ms);

/* Four threads each open an end of s (a Lock or an RLock) and n times take it depth
 * levels deep (the first within 10 s, the others at once), bump a shared counter and
 * give every level back. Asserts that no thread failed, that none was ever inside with
 * another and that no increment was lost. */
void ipcm_test_lock_excludes_threads(struct ipcm_sync *s, long n, int depth);

#endif /* IPCM_TESTS_TESTUTIL_H */
