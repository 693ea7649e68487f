/* SPDX-License-Identifier: MIT */
/*
 * pool_exec.c - the pool's exec start method: a worker is a separate program (it links
 * the library and calls ipcm_pool_worker_main with its task function), started with
 * fork + execve and handed its two queues as tokens. The parent's side of the pool is
 * the same as with fork; only how a worker starts and where its function lives differ.
 */
#include "pool_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a worker needs besides its queues: slot, message sizes, recycling quota. */
#define POOL_ENV "IPCMARK_POOL"

extern char **environ;

int pool_spawn_exec(struct ipcm_pool *p, unsigned slot, struct ipcm_link *tl, struct ipcm_link *rl)
{
    static const char var[] = POOL_ENV "=";
    struct pool_worker *w = &p->w[slot];
    char *const *base = p->start.envp ? p->start.envp : environ;
    char *const dflt[] = {(char *)p->start.path, NULL};
    char pool_env[128];
    size_t n = 0, k = 0;

    snprintf(pool_env, sizeof(pool_env), "%sslot=%u,max_msg=%zu,max_task=%zu,quota=%u", var, slot,
             p->max_msg, p->max_task, p->opt.max_tasks_per_worker);
    while (base && base[n])
        n++;
    char **envp = calloc(n + 2, sizeof(*envp));
    if (!envp)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (strncmp(base[i], var, sizeof(var) - 1) != 0)
            envp[k++] = base[i];
    envp[k] = pool_env;
    const struct ipcm_handover ends[2] = {{tl, IPCM_ROLE_RECV}, {rl, IPCM_ROLE_SEND}};
    int r = ipcm_process_spawn_exec(&w->proc, p->start.path, p->start.argv ? p->start.argv : dflt,
                                    envp, ends, 2);
    free(envp);
    return r;
}

int ipcm_pool_worker_main(int argc, char **argv, ipcm_task_fn fn)
{
    struct ipcm_pool p;
    struct ipcm_chan *tc = NULL, *rc = NULL;
    unsigned slot, quota;
    size_t max_msg, max_task;
    const char *env = getenv(POOL_ENV);

    (void)argc;
    (void)argv;
    if (!fn || !env ||
        sscanf(env, "slot=%u,max_msg=%zu,max_task=%zu,quota=%u", &slot, &max_msg, &max_task,
               &quota) != 4 ||
        max_task >= max_msg)
        return 99;
    /* Only the fields a worker reads: sizes and the recycling quota. */
    memset(&p, 0, sizeof(p));
    p.max_msg = max_msg;
    p.max_task = max_task;
    p.opt.max_tasks_per_worker = quota;
    if (ipcm_chan_attach_env(0, &tc) < 0 || ipcm_chan_attach_env(1, &rc) < 0) {
        ipcm_chan_close(tc);
        return 99;
    }
    return pool_worker_run(&p, slot, tc, rc, fn);
}
