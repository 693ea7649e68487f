/* SPDX-License-Identifier: MIT */
/*
 * crew.c - spawn, start gate, join against one deadline and name the worker that failed
 * (see crew.h): the sequence every benchmark, probe and self-test wrote out by hand.
 */
#include "crew.h"

#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int ipcm_crew_init(struct ipcm_crew *c, unsigned n)
{
    *c = (struct ipcm_crew)IPCM_CREW_INIT;
    if (n == 0)
        return -EINVAL;
    if (!(c->m = calloc(n, sizeof(*c->m))))
        return -ENOMEM;
    int r = ipcm_gate_create(&c->gate);
    if (r < 0) {
        free(c->m);
        c->m = NULL;
        return r;
    }
    c->cap = n;
    return 0;
}

int ipcm_crew_spawn(struct ipcm_crew *c, const char *name, ipcm_worker_fn fn, const void *arg,
                    size_t arg_len)
{
    if (c->n >= c->cap)
        return -ENOSPC;
    struct ipcm_crew_member *m = &c->m[c->n];
    int r = ipcm_process_spawn(&m->proc, name, fn, arg, arg_len);
    if (r < 0)
        return r;
    m->pid = m->proc.pid;
    c->n++;
    return 0;
}

/* Kill and reap every worker still running; those that ended on their own keep their
 * status, so a worker that died before the gate can still be named. */
static void crew_kill_all(struct ipcm_crew *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        struct ipcm_crew_member *m = &c->m[i];
        if (m->proc.pid <= 0)
            continue;
        if (ipcm_process_join(&m->proc, 0, &m->ex) == -ETIMEDOUT) {
            m->killed = true;
            if (ipcm_process_stop(&m->proc, 0, &m->ex) < 0)
                continue;
        }
        m->ended = m->proc.pid == 0;
    }
}

int ipcm_crew_start(struct ipcm_crew *c, int timeout_ms)
{
    int r = ipcm_gate_open(&c->gate, c->n, timeout_ms);
    if (r < 0)
        crew_kill_all(c);
    return r;
}

int ipcm_crew_join(struct ipcm_crew *c, int timeout_ms, char *why, size_t whylen)
{
    struct ipcm_deadline d;

    ipcm_deadline_init(&d, timeout_ms);
    c->failed = -1;
    for (unsigned i = 0; i < c->n; i++) {
        struct ipcm_crew_member *m = &c->m[i];
        if (m->proc.pid <= 0)
            continue;
        int r = ipcm_process_join(&m->proc, ipcm_deadline_left_ms(&d), &m->ex);
        if (r == -ETIMEDOUT) {
            m->killed = true;
            r = ipcm_process_stop(&m->proc, 0, &m->ex);
        }
        m->ended = r == 0;
    }
    for (unsigned i = 0; i < c->n && c->failed < 0; i++)
        if (c->m[i].ended && !ipcm_exit_ok(&c->m[i].ex))
            c->failed = (int)i;
    if (c->failed < 0)
        return 0;
    const struct ipcm_crew_member *m = &c->m[c->failed];
    if (why && whylen) {
        char how[48];
        snprintf(why, whylen, "worker '%s' (pid %ld) %s%s", m->proc.name, (long)m->pid,
                 ipcm_exit_describe(&m->ex, how, sizeof(how)), m->killed ? " at the deadline" : "");
    }
    return m->killed ? -ETIMEDOUT : -EPROTO;
}

void ipcm_crew_stop(struct ipcm_crew *c)
{
    crew_kill_all(c);
    ipcm_gate_destroy(&c->gate);
    free(c->m);
    *c = (struct ipcm_crew)IPCM_CREW_INIT;
}
