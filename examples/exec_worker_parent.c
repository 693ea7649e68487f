/* SPDX-License-Identifier: MIT */
/*
 * exec_worker_parent.c - Python's "spawn" start method in C: start the separate program
 * exec_worker (found beside this one) with execve, hand it one end of a pipe-shape link,
 * and then run a pool whose workers are that program.
 *   exec_worker_parent [-b BACKEND] [WORKER]
 * prints the worker's greeting and the squares of 1..10 computed in exec'd workers.
 */
#include <ipcmark.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The worker program: the argument, else exec_worker in this program's directory. */
static int worker_path(const char *arg, char *path, size_t len)
{
    if (arg)
        return snprintf(path, len, "%s", arg) < (int)len ? 0 : -ENAMETOOLONG;
    ssize_t n = readlink("/proc/self/exe", path, len - 1);
    if (n < 0)
        return -errno;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    return snprintf(path + dir, len - dir, "exec_worker") < (int)(len - dir) ? 0 : -ENAMETOOLONG;
}

/* One exec'd process, one pipe end handed over by token: greet it and print the reply. */
static int greet(const struct ipcm_backend *be, const char *path)
{
    struct ipcm_config cfg = {.max_msg = 128};
    struct ipcm_link *l = NULL;
    struct ipcm_chan *a = NULL;
    struct ipcm_process p = {0};
    struct ipcm_exit ex = {0};
    char *const argv[] = {"exec_worker", "echo", NULL};
    char buf[128];
    ssize_t r = ipcm_link_create(be, IPCM_SHAPE_PIPE, &cfg, &l);
    if (r >= 0) {
        const struct ipcm_handover end = {l, IPCM_ROLE_B};
        r = ipcm_process_spawn_exec(&p, path, argv, NULL, &end, 1);
    }
    if (r >= 0)
        r = ipcm_chan_open(l, IPCM_ROLE_A, &a);
    ipcm_link_destroy(l);
    if (r >= 0 && (r = ipcm_chan_send(a, "hello", 5, 5000)) >= 0 &&
        (r = ipcm_chan_recv(a, buf, sizeof(buf), 5000)) >= 0) {
        /* The pid differs from run to run: print whether it is the one spawn gave. */
        buf[r < (ssize_t)sizeof(buf) ? r : (ssize_t)sizeof(buf) - 1] = '\0';
        char *from = strstr(buf, ", from pid ");
        long pid = from ? atol(from + strlen(", from pid ")) : 0;
        printf("worker says: '%.*s' from %s\n", from ? (int)(from - buf) : (int)r, buf,
               pid == (long)p.pid ? "the pid spawn returned" : "another pid");
    }
    ipcm_chan_close(a);
    int jr = p.pid ? ipcm_process_stop(&p, 5000, &ex) : 0;
    if (r >= 0 && (jr < 0 || !ipcm_exit_ok(&ex)))
        r = -ECHILD;
    return r < 0 ? (int)r : 0;
}

/* A pool whose workers are exec'd programs: the squares of 1..10. */
static int squares(const struct ipcm_backend *be, const char *path)
{
    enum { N = 10 };
    char *const argv[] = {"exec_worker", "pool", NULL};
    const struct ipcm_pool_start start = {.method = IPCM_START_EXEC, .path = path, .argv = argv};
    struct ipcm_pool *pool;
    struct ipcm_pool_buf in[N];
    struct ipcm_pool_result out[N];
    uint64_t x[N];
    for (int i = 0; i < N; i++) {
        x[i] = (uint64_t)i + 1;
        in[i] = (struct ipcm_pool_buf){&x[i], sizeof(x[i])};
    }
    int r = ipcm_pool_create_start(&pool, 2, be, NULL, &start);
    if (r < 0)
        return r;

    /* The function argument is not called in exec'd workers (their program's runs). */
    r = ipcm_pool_map(pool, NULL, in, N, 0, out, 10000);
    if (r == 0) {
        printf("squares:");
        for (int i = 0; i < N; i++) {
            uint64_t y = 0;
            memcpy(&y, out[i].data, sizeof(y));
            printf(" %llu", (unsigned long long)y);
        }
        printf("\n");
    }
    ipcm_pool_results_free(out, r == 0 ? N : 0);
    ipcm_pool_close(pool);
    ipcm_pool_join(pool, 10000);
    ipcm_pool_destroy(pool);
    return r;
}

int main(int argc, char **argv)
{
    const char *backend = "pipe";
    char path[PATH_MAX];
    int opt;
    opterr = 0;
    while ((opt = getopt(argc, argv, "b:")) != -1) {
        if (opt != 'b') {
            fprintf(stderr, "usage: exec_worker_parent [-b BACKEND] [WORKER]\n");
            return 2;
        }
        backend = optarg;
    }
    const struct ipcm_backend *be = ipcm_backend_find(backend);
    if (!be || optind + 1 < argc) {
        fprintf(stderr, "exec_worker_parent: unknown backend '%s' or extra arguments\n", backend);
        return 2;
    }
    int r = worker_path(optind < argc ? argv[optind] : NULL, path, sizeof(path));
    if (r == 0)
        r = greet(be, path);
    fflush(stdout);
    if (r == 0)
        r = squares(be, path);
    if (r < 0)
        fprintf(stderr, "exec_worker_parent: %s: %s\n", backend, ipcm_error_text(r));
    return r < 0;
}
