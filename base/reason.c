/* SPDX-License-Identifier: MIT */
/*
 * reason.c - why the last call of this thread failed: a thread-local line naming the limit
 * of the environment that ran out, checked against the limits and what is in use.
 */
#include "base.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Thread-local: a pool or a benchmark may fail in two threads at once, and a reason
 * must explain the error of the thread that asks. */
static _Thread_local struct {
    int err; /* the negative errno the text explains; 0: none */
    char text[384];
} last;

void ipcm_reason_clear(void)
{
    last.err = 0;
    last.text[0] = '\0';
}

int ipcm_reason_set(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last.text, sizeof(last.text), fmt, ap);
    va_end(ap);
    last.err = err;
    return err;
}

const char *ipcm_reason_get(int err)
{
    return err < 0 && last.err == err ? last.text : NULL;
}

/* "8 MiB", "unlimited": an rlimit as people read it. */
static const char *fmt_bytes(rlim_t v, char *buf, size_t len)
{
    if (v == RLIM_INFINITY)
        snprintf(buf, len, "unlimited");
    else if (v >= (1u << 20) && v % (1u << 20) == 0)
        snprintf(buf, len, "%llu MiB", (unsigned long long)(v >> 20));
    else
        snprintf(buf, len, "%llu bytes", (unsigned long long)v);
    return buf;
}

/*
 * EMFILE from any call but mq_open (whose backend explains it first: RLIMIT_MSGQUEUE) is
 * the descriptor table: RLIMIT_NOFILE. No descriptor need be missing by the time we
 * look, since the caller closed what it had opened before it failed.
 */
static int reason_nofile(int err, const char *op)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return err;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= rl.rlim_cur)
        return ipcm_reason_set(err,
                               "%s: RLIMIT_NOFILE is used up (%llu descriptors, the hard limit "
                               "too); raise it as root: `prlimit --nofile=65536 --pid $$`",
                               op, (unsigned long long)rl.rlim_cur);
    unsigned long long to = rl.rlim_max == RLIM_INFINITY ? 65536ull : rl.rlim_max;
    return ipcm_reason_set(err,
                           "%s: RLIMIT_NOFILE is used up (%llu descriptors); raise it: "
                           "`ulimit -n %llu`",
                           op, (unsigned long long)rl.rlim_cur, to);
}

/* ENOMEM names an address-space limit only where one is set; plain memory
 * exhaustion is no limit a command raises. */
static int reason_nomem(int err, const char *op)
{
    static const struct {
        int res;
        const char *name, *flag;
    } lims[] = {{RLIMIT_AS, "RLIMIT_AS", "-v"}, {RLIMIT_DATA, "RLIMIT_DATA", "-d"}};
    char b[32];
    for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
        rlim_t cur;
        if (ipcm_rlimit_cur(lims[i].res, &cur) == 0 && cur != RLIM_INFINITY)
            return ipcm_reason_set(err,
                                   "%s: out of memory under %s (%s); raise it: `ulimit %s "
                                   "unlimited`",
                                   op, lims[i].name, fmt_bytes(cur, b, sizeof(b)), lims[i].flag);
    }
    return err;
}

int ipcm_reason_limit(int err, const char *op)
{
    rlim_t cur;
    char b[32];
    if (err >= 0 || ipcm_reason_get(err))
        return err;
    switch (-err) {
    case EMFILE: return reason_nofile(err, op);
    case ENFILE:
        return ipcm_reason_set(err,
                               "%s: the system's open-file table is full (fs.file-max = %ld); "
                               "raise it: `sysctl -w fs.file-max=<more>`",
                               op, ipcm_sysctl_long("/proc/sys/fs/file-max"));
    case ENOMEM: return reason_nomem(err, op);
    case EFBIG:
        if (ipcm_rlimit_cur(RLIMIT_FSIZE, &cur) == 0 && cur != RLIM_INFINITY)
            return ipcm_reason_set(err,
                                   "%s: file larger than RLIMIT_FSIZE (%s); raise it: "
                                   "`ulimit -f unlimited`",
                                   op, fmt_bytes(cur, b, sizeof(b)));
        return err;
    default: return err;
    }
}

/* The pids limit of this process's cgroup (v2), or -1 where there is none. */
static long cgroup_pids_max(void)
{
    char line[512], path[640];
    long v = -1;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, sizeof(path), "/sys/fs/cgroup%s/pids.max", line + 3);
            v = ipcm_sysctl_long(path); /* "max" does not parse: -1 */
        }
    fclose(f);
    return v;
}

int ipcm_reason_fork(int err)
{
    rlim_t cur;
    if (err != -EAGAIN)
        return ipcm_reason_limit(err, "fork");
    ipcm_reason_clear();
    /* Privileged processes are not held to RLIMIT_NPROC (CAP_SYS_RESOURCE). */
    if (geteuid() != 0 && ipcm_rlimit_cur(RLIMIT_NPROC, &cur) == 0 && cur != RLIM_INFINITY)
        return ipcm_reason_set(err,
                               "fork: RLIMIT_NPROC is used up (%llu processes for uid %ld); "
                               "raise it: `ulimit -u unlimited`",
                               (unsigned long long)cur, (long)getuid());
    long pids = cgroup_pids_max();
    if (pids >= 0)
        return ipcm_reason_set(err,
                               "fork: the cgroup's process limit is used up (pids.max = %ld); "
                               "raise it in the cgroup (`systemd-run --scope -p TasksMax=...`)",
                               pids);
    return ipcm_reason_set(err,
                           "fork: the kernel refused a new process (kernel.threads-max = %ld, "
                           "kernel.pid_max = %ld)",
                           ipcm_sysctl_long("/proc/sys/kernel/threads-max"),
                           ipcm_sysctl_long("/proc/sys/kernel/pid_max"));
}
