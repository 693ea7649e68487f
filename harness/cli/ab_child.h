/* SPDX-License-Identifier: MIT */
/*
 * ab_child.h - `ipcmark ab` runs each build as a child process: one command with a
 * deadline, its output in files, its end described in words. Private to the CLI.
 */
#ifndef IPCM_HARNESS_CLI_AB_CHILD_H
#define IPCM_HARNESS_CLI_AB_CHILD_H

#include <stdbool.h>
#include <stddef.h>

/* How a child ended. */
struct ab_exit {
    bool ran;       /* it was started and waited for */
    bool timed_out; /* killed at the deadline (SIGTERM, then SIGKILL after 2 s) */
    bool stopped;   /* killed because this process was asked to stop (SIGINT, SIGTERM) */
    int status;     /* exit status when it exited, else -1 */
    int signal;     /* the signal that ended it, else 0 */
    double seconds; /* wall time */
};

/*
 * ab_child_run - run argv[0] with argv (execv: a path, no PATH search) with stdout
 * into out_path and stderr into err_path (both truncated; "/dev/null" to drop), and
 * wait at most timeout_ms. The child gets PR_SET_PDEATHSIG SIGTERM, so it does not
 * outlive us. Returns 0 (see *ex), or -errno when it could not be started.
 */
int ab_child_run(char *const argv[], const char *out_path, const char *err_path, int timeout_ms,
                 struct ab_exit *ex);

/* ab_child_describe - "exited with status 3", "killed by signal 11 (Segmentation fault)",
 * "did not finish within 120 s", with the first line of err_path when there is one. */
const char *ab_child_describe(const struct ab_exit *ex, int timeout_ms, const char *err_path,
                              char *buf, size_t len);

/* ab_first_line - the first non-empty line of a file (at most len - 1 bytes), or "". */
const char *ab_first_line(const char *path, char *buf, size_t len);

/* ab_stop_requested - a SIGINT, SIGTERM or SIGHUP arrived since ab_trap_signals. */
bool ab_stop_requested(void);
/* ab_trap_signals - note those signals instead of dying, so temporary files go. */
void ab_trap_signals(void);

#endif /* IPCM_HARNESS_CLI_AB_CHILD_H */
