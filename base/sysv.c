/* SPDX-License-Identifier: MIT */
/*
 * sysv.c - the System V journal (base.h): ids of msg/sem/shm objects created below a
 * runner, swept with IPC_RMID after a case, at exit, and by a guard after a SIGKILL.
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

/* A slot holds kind << 32 | id, or 0 when free (kinds start at 1, ids are >= 0). */
struct sysv_journal {
    _Atomic uint32_t hiwater; /* slots at or above this index were never used */
    _Atomic uint64_t slot[IPCM_SYSV_JOURNAL_MAX];
};

static struct sysv_journal *journal; /* inherited through fork, like the mapping */
static pid_t owner = -1;             /* the process that called init first */
static pid_t guard = -1;             /* its guard, a child of owner */
static int guard_wr = -1;            /* the token: the guard sweeps once every copy is closed */

static uint64_t pack(enum ipcm_sysv_kind kind, int id)
{
    return (uint64_t)kind << 32 | (uint32_t)id;
}

static int rmid(uint64_t v)
{
    int id = (int)(uint32_t)v, r = -1;
    switch ((enum ipcm_sysv_kind)(v >> 32)) {
    case IPCM_SYSV_MSG: r = msgctl(id, IPC_RMID, NULL); break;
    case IPCM_SYSV_SEM: r = semctl(id, 0, IPC_RMID); break;
    case IPCM_SYSV_SHM: r = shmctl(id, IPC_RMID, NULL); break;
    default: errno = EINVAL;
    }
    return r < 0 ? -errno : 0;
}

/*
 * The guard: a child in a session (and so a process group) of its own, so that neither
 * killpg of ipcmark's group (timeout(1), a watchdog) nor the terminal's ^C reaches it.
 * It holds the read end of a pipe whose write end every process of the tree inherits,
 * and nothing else: a copy of a channel's descriptor would keep that channel's
 * end-of-stream from ever coming. POLLHUP means the whole tree is gone: sweep, exit.
 * Only system calls here: the parent may have had threads when it forked.
 */
static void guard_main(int rd)
{
    setsid();
    close_range(0, (unsigned)rd - 1, 0);
    close_range((unsigned)rd + 1, ~0u, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    prctl(PR_SET_NAME, "ipcmark-guard");
    for (;;) {
        struct pollfd p = {.fd = rd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
        if (p.revents & (POLLHUP | POLLERR))
            break;
        if (p.revents & POLLIN) { /* nobody writes; drain anything that does */
            char b[64];
            if (read(rd, b, sizeof(b)) <= 0)
                break;
        }
    }
    ipcm_sysv_sweep();
    _exit(0);
}

/*
 * At the owner's exit the tree is done: sweep here, then stop and reap the guard, so a
 * finished run leaves no process behind (the guard of a killed run is reaped by init).
 * Children inherit exit handlers: only the owner acts.
 */
static void journal_end(void)
{
    if (getpid() != owner)
        return;
    ipcm_sysv_sweep();
    if (guard > 0) {
        kill(guard, SIGKILL);
        waitpid(guard, NULL, 0);
        guard = -1;
    }
    if (guard_wr >= 0)
        close(guard_wr);
    guard_wr = -1;
}

static void guard_start(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0)
        guard_main(p[0]);
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return;
    }
    guard = pid;
    guard_wr = p[1];
}

int ipcm_sysv_journal_init(void)
{
    if (journal)
        return 0;
    journal = ipcm_shared_alloc(sizeof(*journal));
    if (!journal)
        return -ENOMEM;
    owner = getpid();
    guard_start();
    atexit(journal_end);
    return 0;
}

bool ipcm_sysv_journal_active(void)
{
    return journal != NULL;
}

int ipcm_sysv_record(enum ipcm_sysv_kind kind, int id)
{
    if (kind < IPCM_SYSV_MSG || kind > IPCM_SYSV_SHM || id < 0)
        return -EINVAL;
    if (!journal)
        return 0;
    uint64_t v = pack(kind, id);
    for (uint32_t i = 0; i < IPCM_SYSV_JOURNAL_MAX; i++) {
        uint64_t free_slot = 0;
        if (atomic_compare_exchange_strong(&journal->slot[i], &free_slot, v)) {
            uint32_t hw = atomic_load(&journal->hiwater);
            while (hw < i + 1 && !atomic_compare_exchange_weak(&journal->hiwater, &hw, i + 1))
                ;
            return 0;
        }
    }
    return -ENOSPC;
}

int ipcm_sysv_remove(enum ipcm_sysv_kind kind, int id)
{
    uint64_t v = pack(kind, id);
    /* Remove first, then forget: a process killed between the two leaves an entry the
     * sweep removes again (EINVAL, harmless: the kernel hands out ids cyclically), never
     * an object nobody knows about. */
    int r = rmid(v);
    if (journal) {
        uint32_t hw = atomic_load(&journal->hiwater);
        for (uint32_t i = 0; i < hw; i++) {
            uint64_t want = v;
            if (atomic_compare_exchange_strong(&journal->slot[i], &want, 0))
                break;
        }
    }
    return r == -EINVAL || r == -EIDRM ? 0 : r;
}

unsigned ipcm_sysv_sweep(void)
{
    unsigned n = 0;
    if (!journal)
        return 0;
    uint32_t hw = atomic_load(&journal->hiwater);
    for (uint32_t i = 0; i < hw; i++) {
        uint64_t v = atomic_exchange(&journal->slot[i], 0);
        if (v && rmid(v) == 0)
            n++;
    }
    return n;
}
