/* SPDX-License-Identifier: MIT */
/*
 * sync_flock.c - Locks on a private file: open-file-description locks (fcntl(2)
 * F_OFD_SETLKW, "ofd") and flock(2) ("flock"). Both belong to an open file description,
 * not to a process or thread, and the kernel drops them when the description's last
 * descriptor closes: a holder that dies releases its Lock (robust, but silent: the next
 * acquirer gets 0, not -EOWNERDEAD, so IPCM_SYNC_CAP_OWNER_DEAD is not declared). A
 * stopped holder keeps it. Lock only: no Event, Barrier or Semaphore.
 *
 * The file: memfd_create(2), no name in any filesystem, gone with its last descriptor.
 * Its descriptor is inherited by fork at the same number; each END opens its own
 * description by reopening /proc/self/fd/N, because fork shares descriptions: a child
 * using the creator's description would hold the creator's Lock. An end belongs to one
 * thread (ipcmark.h), so two threads, two ends, two descriptions: they exclude each other.
 * A process forked while one of its ends holds the Lock shares that hold (the
 * description) until it closes the inherited descriptor or exits.
 *
 * Timeouts: neither F_OFD_SETLKW nor flock(2) takes one. Forever waits block in the
 * kernel; a finite wait polls the non-blocking form, yielding for the first SPIN_NS and
 * then sleeping NAP_MIN_NS doubling to NAP_MAX_NS, never past the deadline. A timer
 * signal would wake a blocked call at the deadline exactly, but a library may not take
 * a signal (and its handler) from the program that links it; polling costs a finite
 * wait up to NAP_MAX_NS of extra latency after a release.
 */
#include "sync_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPIN_NS (50 * IPCM_NS_PER_US)
#define NAP_MIN_NS (50 * IPCM_NS_PER_US)
#define NAP_MAX_NS (2 * IPCM_NS_PER_MS)

struct fl_shared {
    int fd; /* the memfd, at this number in every process forked after create */
};

struct fl_end {
    int fd; /* this end's own description */
};

static struct fl_end *fl_end(struct ipcm_sync_end *e)
{
    return (struct fl_end *)e->priv;
}

static bool fl_is_ofd(const struct ipcm_sync_end *e);

static int fl_create(struct ipcm_sync *s)
{
    int fd = memfd_create("ipcmark-sync", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    ((struct fl_shared *)s->sh)->fd = fd;
    return 0;
}

static void fl_destroy(struct ipcm_sync *s)
{
    close(((struct fl_shared *)s->sh)->fd);
}

static int fl_open(struct ipcm_sync_end *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", ((struct fl_shared *)e->s->sh)->fd);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ipcm_reason_set(-ENOENT,
                                                 "%s: open %s: no /proc, or the file's descriptor "
                                                 "was closed in this process",
                                                 e->s->impl->name, path)
                               : -errno;
    fl_end(e)->fd = fd;
    return 0;
}

static void fl_close(struct ipcm_sync_end *e)
{
    close(fl_end(e)->fd); /* drops a Lock this description still holds */
}

/* One lock or unlock call: 0, or -errno (EAGAIN: held by another description). */
static int fl_op(struct ipcm_sync_end *e, bool lock, bool wait)
{
    int fd = fl_end(e)->fd, r;
    if (fl_is_ofd(e)) {
        struct flock fl = {.l_type = lock ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET};
        r = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    } else {
        r = flock(fd, (lock ? LOCK_EX : LOCK_UN) | (wait ? 0 : LOCK_NB));
    }
    if (r == 0)
        return 0;
    return errno == EACCES || errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static int fl_acquire(struct ipcm_sync_end *e, const struct ipcm_deadline *d)
{
    int r;
    if (d->timeout_ms < 0) {
        while ((r = fl_op(e, true, true)) == -EINTR)
            ;
        return r;
    }
    uint64_t t0 = 0, nap = 0;
    for (;;) {
        if ((r = fl_op(e, true, false)) != -EAGAIN && r != -EINTR)
            return r;
        if (d->timeout_ms == 0 || ipcm_deadline_expired(d))
            return ipcm_deadline_err(d);
        uint64_t now = ipcm_now_ns();
        if (!t0)
            t0 = now;
        if (now - t0 < SPIN_NS) {
            sched_yield();
            continue;
        }
        nap = nap ? (nap * 2 < NAP_MAX_NS ? nap * 2 : NAP_MAX_NS) : NAP_MIN_NS;
        uint64_t left = d->at_ns > now ? d->at_ns - now : 0;
        ipcm_sleep_ns(nap < left ? nap : left);
    }
}

static int fl_release(struct ipcm_sync_end *e)
{
    return fl_op(e, false, false);
}

#define FL_IMPL(id, nm, sum)                                                                       \
    const struct ipcm_sync_impl id = {                                                             \
        .name = nm,                                                                                \
        .summary = sum,                                                                            \
        .caps = IPCM_SYNC_CAP_LOCK,                                                                \
        .shared_size = sizeof(struct fl_shared),                                                   \
        .end_size = sizeof(struct fl_end),                                                         \
        .create = fl_create,                                                                       \
        .destroy = fl_destroy,                                                                     \
        .open = fl_open,                                                                           \
        .close = fl_close,                                                                         \
        .lock_acquire = fl_acquire,                                                                \
        .lock_release = fl_release,                                                                \
    }

FL_IMPL(ipcm_sync_impl_ofd, "ofd",
        "OFD locks (fcntl F_OFD_SETLKW) on a memfd, one description per end: released when "
        "a holder dies, without EOWNERDEAD; finite waits poll");
FL_IMPL(ipcm_sync_impl_flock, "flock",
        "flock(2) on a memfd, one description per end: released when a holder dies, "
        "without EOWNERDEAD; finite waits poll");

static bool fl_is_ofd(const struct ipcm_sync_end *e)
{
    return e->s->impl == &ipcm_sync_impl_ofd;
}
