/* SPDX-License-Identifier: MIT */
/*
 * testutil.c - runner and hygiene probes shared by the test suites.
 */
#include "testutil.h"

#include "base.h"
#include "conform.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int ipcm_test_run(Suite *s)
{
    /* As the CLI does: System V ids a test leaves (a killed worker, a child that
     * outlived every user) are removed when this process exits (base.h). */
    ipcm_sysv_journal_init();
    SRunner *sr = srunner_create(s);
    const char *tap = getenv("CK_TAP_LOG_FILE_NAME");
    if (tap)
        srunner_set_tap(sr, tap);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    if (failed)
        return 1;
    return run == 0 ? IPCM_TEST_SKIP : 0;
}

const struct ipcm_backend *ipcm_test_backend(void)
{
    const char *name = getenv("IPCM_BACKEND");
    return name ? ipcm_backend_find(name) : NULL;
}

static int count_dir(const char *path, const char *prefix)
{
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (!prefix || strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int ipcm_test_fd_count(void)
{
    return ipcm_fd_count(); /* one probe for ctest and `ipcmark check` alike */
}

int ipcm_test_named_leftovers(pid_t pid)
{
    char prefix[40];
    snprintf(prefix, sizeof(prefix), "ipcmark-%ld-", (long)pid);
    return count_dir("/dev/shm", prefix) + count_dir("/dev/mqueue", prefix);
}

int ipcm_test_child_count(void)
{
    return ipcm_check_child_count();
}

const struct ipcm_sync_impl *ipcm_test_sync_impl(int i)
{
    const struct ipcm_sync_impl *im = ipcm_sync_impl_at((size_t)i);
    ck_assert_ptr_nonnull(im);
    return im;
}

pid_t ipcm_test_fork_sync(int (*fn)(struct ipcm_sync *s), struct ipcm_sync *s)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn(s));
    return pid;
}

int ipcm_test_wait_exit(pid_t pid)
{
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int fds_marked;

void ipcm_test_fds_mark(void)
{
    fds_marked = ipcm_test_fd_count();
}

int ipcm_test_fds_marked(void)
{
    return fds_marked;
}

struct ipcm_pool *ipcm_test_pool_new(unsigned workers, const struct ipcm_backend *be,
                                     const struct ipcm_pool_options *opt)
{
    struct ipcm_pool *p = NULL;
    int r = ipcm_pool_create(&p, workers, be, opt);
    ck_assert_msg(r == 0, "pool_create: %s", ipcm_strerror(r));
    return p;
}

void ipcm_test_pool_done(struct ipcm_pool *p, int timeout_ms)
{
    ck_assert_int_eq(ipcm_pool_close(p), 0);
    ck_assert_int_eq(ipcm_pool_join(p, timeout_ms), 0);
    ipcm_pool_destroy(p);
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ck_assert_int_eq(ipcm_test_fd_count(), fds_marked);
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
}

struct lock_counter {
    struct ipcm_sync *s;
    long n;
    int depth;
    atomic_int inside;
    long value;
    int bad;
};

static void *lock_count_thread(void *arg)
{
    struct lock_counter *c = arg;
    struct ipcm_sync_end *e;
    if (ipcm_sync_open(c->s, &e))
        return (void *)1;
    for (long i = 0; i < c->n; i++) {
        for (int d = 0; d < c->depth; d++)
            if (ipcm_lock_acquire(e, d ? 0 : 10000) != 0)
                return (void *)1;
        if (atomic_fetch_add(&c->inside, 1) != 0)
            c->bad = 1;
        c->value++;
        atomic_fetch_sub(&c->inside, 1);
        for (int d = 0; d < c->depth; d++)
            if (ipcm_lock_release(e) != 0)
                return (void *)1;
    }
    ipcm_sync_close(e);
    return NULL;
}

void ipcm_test_lock_excludes_threads(struct ipcm_sync *s, long n, int depth)
{
    struct lock_counter c = {.s = s, .n = n, .depth = depth};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, lock_count_thread, &c), 0);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        ck_assert_ptr_null(ret);
    }
    ck_assert_int_eq(c.bad, 0);
    ck_assert_int_eq(c.value, 4 * n);
}
