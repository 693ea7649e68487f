/* SPDX-License-Identifier: MIT */
/*
 * test_shmem.c - shared blocks, Value and Array (ipcmark.h, harness/lib/shmem.c):
 * anonymous blocks across fork, named blocks by name, a block handed to an exec'd
 * program by token, a lock-free counter and a locked Array under contention, the
 * validation of names and sizes, and that nothing stays in /dev/shm or in the
 * descriptor table on any path, a SIGKILL included.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXEC_HELPER "--attach-token"

/* Wait for pid; its exit status, or -1 if it did not exit normally. */
static int reap(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run fn(arg) in n children at once; true if every one exited 0. */
static bool in_children(unsigned n, int (*fn)(unsigned i, void *arg), void *arg)
{
    pid_t pid[16];
    ck_assert_uint_le(n, 16);
    for (unsigned i = 0; i < n; i++) {
        pid[i] = fork();
        ck_assert_int_ge(pid[i], 0);
        if (pid[i] == 0)
            _exit(fn(i, arg));
    }
    bool ok = true;
    for (unsigned i = 0; i < n; i++)
        ok &= reap(pid[i]) == 0;
    return ok;
}

/* The reason recorded for err contains word. */
static void assert_reason(int err, const char *word)
{
    const char *why = ipcm_last_error(err);
    ck_assert_msg(why && strstr(why, word), "reason for %s: \"%s\", want \"%s\" in it",
                  ipcm_err_name(err), why ? why : "(none)", word);
}

static void assert_clean(int fds0)
{
    ck_assert_int_eq(ipcm_test_fd_count(), fds0);
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
}

START_TEST(anonymous_block_is_shared_across_fork)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_shm *b = NULL;
    ck_assert_int_eq(ipcm_shm_create(&b, 10000), 0);
    ck_assert_uint_eq(ipcm_shm_size(b), 10000);
    ck_assert_ptr_null(ipcm_shm_name(b));
    ck_assert_int_eq(ipcm_shm_unlink(b), 0); /* nothing to unlink */
    unsigned char *p = ipcm_shm_ptr(b);
    ck_assert_int_eq(p[0] | p[9999], 0); /* zero-filled */
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (unsigned i = 0; i < 10000; i++)
            p[i] = (unsigned char)(i * 7);
        _exit(0);
    }
    ck_assert_int_eq(reap(pid), 0);
    for (unsigned i = 0; i < 10000; i++)
        ck_assert_uint_eq(p[i], (unsigned char)(i * 7));
    ipcm_shm_close(b);
    ipcm_shm_close(NULL);
    assert_clean(fds0);
}
END_TEST

START_TEST(named_block_attach_by_name_and_unlink)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_shm *b = NULL, *c = NULL;
    ck_assert_int_eq(ipcm_shm_create_named(&b, NULL, 5000), 0);
    const char *name = ipcm_shm_name(b);
    char prefix[40];
    snprintf(prefix, sizeof(prefix), "/ipcmark-%ld-", (long)getpid());
    ck_assert_msg(strncmp(name, prefix, strlen(prefix)) == 0, "made name %s", name);
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 1);
    strcpy(ipcm_shm_ptr(b), "from the parent");

    /* A child that never inherited the handle attaches by name and answers. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct ipcm_shm *a = NULL;
        if (ipcm_shm_attach(&a, name) != 0 || ipcm_shm_size(a) != 5000 ||
            strcmp(ipcm_shm_ptr(a), "from the parent") != 0)
            _exit(1);
        strcpy((char *)ipcm_shm_ptr(a) + 100, "from the child");
        ipcm_shm_close(a);
        _exit(0);
    }
    ck_assert_int_eq(reap(pid), 0);
    ck_assert_str_eq((char *)ipcm_shm_ptr(b) + 100, "from the child");

    /* The same name again is Python's FileExistsError. */
    ck_assert_int_eq(ipcm_shm_create_named(&c, name, 10), -EEXIST);
    ck_assert_ptr_null(c);

    /* A second attachment in this process survives the unlink; a new one fails. */
    ck_assert_int_eq(ipcm_shm_attach(&c, name), 0);
    ck_assert_int_eq(ipcm_shm_unlink(b), 0);
    ck_assert_int_eq(ipcm_test_named_leftovers(getpid()), 0);
    ck_assert_str_eq((char *)ipcm_shm_ptr(c) + 100, "from the child");
    struct ipcm_shm *d = NULL;
    ck_assert_int_eq(ipcm_shm_attach(&d, name), -ENOENT);
    ck_assert_ptr_null(d);
    assert_reason(-ENOENT, "unlinked");
    ck_assert_int_eq(ipcm_shm_unlink(c), -ENOENT);
    ipcm_shm_close(c);
    ipcm_shm_close(b);

    /* A name the user chose. */
    char mine[64];
    snprintf(mine, sizeof(mine), "/ipcmark-%ld-chosen", (long)getpid());
    ck_assert_int_eq(ipcm_shm_create_named(&b, mine, 1), 0);
    ck_assert_str_eq(ipcm_shm_name(b), mine);
    ck_assert_int_eq(ipcm_shm_unlink(b), 0);
    ipcm_shm_close(b);
    assert_clean(fds0);
}
END_TEST

/* The exec'd helper (main with EXEC_HELPER): attach the token, check, answer, and check
 * the descriptor does not go further. Exit codes say which step failed. */
static int exec_helper(const char *token)
{
    struct ipcm_shm *b = NULL;
    if (ipcm_shm_attach_token(&b, token) != 0)
        return 10;
    if (strcmp(ipcm_shm_ptr(b), "before exec") != 0)
        return 11;
    int fl = fcntl(ipcm_shm_fd(b), F_GETFD);
    if (fl < 0 || !(fl & FD_CLOEXEC))
        return 12;
    strcpy((char *)ipcm_shm_ptr(b) + 64, "after exec");
    ipcm_shm_close(b);
    return 0;
}

static void token_round_trip(struct ipcm_shm *b)
{
    char token[IPCM_SHM_TOKEN_MAX];
    ck_assert_int_gt(ipcm_shm_token(b, token, sizeof(token)), 0);
    strcpy(ipcm_shm_ptr(b), "before exec");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* What a spawner does for the descriptors it hands over: keep them across exec. */
        int fd = ipcm_shm_fd(b);
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
        char *argv[] = {"test_shmem", EXEC_HELPER, token, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    ck_assert_int_eq(reap(pid), 0);
    ck_assert_str_eq((char *)ipcm_shm_ptr(b) + 64, "after exec");
    /* The parent's descriptor stayed O_CLOEXEC: only the child cleared it. */
    ck_assert(fcntl(ipcm_shm_fd(b), F_GETFD) & FD_CLOEXEC);
}

START_TEST(token_attach_after_exec)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_shm *b = NULL;
    ck_assert_int_eq(ipcm_shm_create(&b, 4096), 0);
    char token[IPCM_SHM_TOKEN_MAX], small[8];
    int n = ipcm_shm_token(b, token, sizeof(token));
    ck_assert_int_eq(n, (int)strlen(token));
    char want[64];
    snprintf(want, sizeof(want), "ipcm-shm:fd=%d,size=4096", ipcm_shm_fd(b));
    ck_assert_str_eq(token, want);
    ck_assert_int_eq(ipcm_shm_token(b, small, sizeof(small)), -ERANGE);
    ck_assert_str_eq(small, "");
    token_round_trip(b); /* anonymous */
    ipcm_shm_close(b);

    ck_assert_int_eq(ipcm_shm_create_named(&b, NULL, 300), 0);
    token_round_trip(b); /* named: the same token works */
    ck_assert_int_eq(ipcm_shm_unlink(b), 0);
    ipcm_shm_close(b);

    /* Tokens that are wrong, and a descriptor that was not handed over. */
    static const char *bad[] = {"", "ipcm-shm:", "ipcm-shm:fd=,size=1", "ipcm-shm:fd=3",
                                "ipcm-shm:fd=3,size=", "ipcm-shm:fd=3,size=0",
                                "ipcm-shm:fd=3,size=10x", "ipcm-shm:fd=99999999999,size=1",
                                "ipcm-shm:fd=-1,size=1", "ipcm-pipe:fd=3,size=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ipcm_shm_attach_token(&b, bad[i]) == -EINVAL, "token \"%s\"", bad[i]);
        ck_assert_ptr_null(b);
        assert_reason(-EINVAL, "token");
    }
    ck_assert_int_eq(ipcm_shm_attach_token(&b, NULL), -EINVAL);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    close(fd); /* a descriptor number known to be closed */
    snprintf(token, sizeof(token), "ipcm-shm:fd=%d,size=1", fd);
    ck_assert_int_eq(ipcm_shm_attach_token(&b, token), -EBADF);
    assert_reason(-EBADF, "not open");
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* open, but no block */
    snprintf(token, sizeof(token), "ipcm-shm:fd=%d,size=1", fd);
    ck_assert_int_eq(ipcm_shm_attach_token(&b, token), -EINVAL);
    close(fd);
    ck_assert_int_eq(ipcm_shm_create(&b, 100), 0);
    assert_clean(fds0 + 1);
    /* A token that claims more than the block has. */
    snprintf(token, sizeof(token), "ipcm-shm:fd=%d,size=4096", ipcm_shm_fd(b));
    struct ipcm_shm *c = NULL;
    ck_assert_int_eq(ipcm_shm_attach_token(&c, token), -EINVAL);
    ipcm_shm_close(b);
    assert_clean(fds0);
}
END_TEST

static int count_10000(unsigned i, void *arg)
{
    (void)i;
    for (int k = 0; k < 10000; k++)
        if (ipcm_counter_add(arg, 1, NULL) != 0)
            return 1;
    return 0;
}

START_TEST(counter_is_exact_across_processes)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_value *v = NULL;
    ck_assert_int_eq(ipcm_value_create(&v, sizeof(int64_t), false), 0);
    ck_assert_uint_eq(ipcm_value_size(v), sizeof(int64_t));
    ck_assert(in_children(4, count_10000, v));
    int64_t now = -1;
    ck_assert_int_eq(ipcm_counter_add(v, 0, &now), 0);
    ck_assert_int_eq(now, 40000);
    ck_assert_int_eq(*(int64_t *)ipcm_value_ptr(v), 40000);
    ck_assert_int_eq(ipcm_counter_add(v, -40001, &now), 0);
    ck_assert_int_eq(now, -1);
    ck_assert_int_eq(ipcm_value_lock(v, 0), -ENOLCK);
    ck_assert_int_eq(ipcm_value_unlock(v), -ENOLCK);
    ipcm_value_destroy(v);
    ck_assert_int_eq(ipcm_value_create(&v, 4, true), 0);
    ck_assert_int_eq(ipcm_counter_add(v, 1, NULL), -EINVAL); /* too small for a counter */
    ck_assert_int_eq(ipcm_counter_add(NULL, 1, NULL), -EINVAL);
    ipcm_value_destroy(v);
    ipcm_value_destroy(NULL);
    assert_clean(fds0);
}
END_TEST

/* An element no single store writes: a torn copy shows two different bytes. */
struct wide {
    unsigned char b[8192];
};

static int array_worker(unsigned i, void *arg)
{
    struct ipcm_array *a = arg;
    struct wide w;
    for (int k = 0; k < 2000; k++) {
        /* Several elements at once under the Lock; get/set inside do not re-take it. */
        int64_t x, y;
        if (ipcm_array_lock(a, 10000) != 0)
            return 1;
        if (ipcm_array_lock(a, 0) != -EDEADLK)
            return 2;
        ipcm_array_get(a, 0, &w, 0);
        memcpy(&x, w.b, sizeof(x));
        ipcm_array_get(a, 1, &w, 0);
        memcpy(&y, w.b, sizeof(y));
        x++, y++;
        memset(w.b, 0, sizeof(w.b));
        memcpy(w.b, &x, sizeof(x));
        ipcm_array_set(a, 0, &w, 0);
        memcpy(w.b, &y, sizeof(y));
        ipcm_array_set(a, 1, &w, 0);
        if (ipcm_array_unlock(a) != 0)
            return 3;
        /* One element alone: set takes the Lock itself, get never sees it torn. */
        memset(w.b, (int)(i * 50 + (unsigned)k % 50), sizeof(w.b));
        if (ipcm_array_set(a, 2, &w, 10000) != 0)
            return 4;
        for (int g = 0; g < 3; g++) {
            if (ipcm_array_get(a, 2, &w, 10000) != 0)
                return 4;
            if (memcmp(w.b, w.b + 1, sizeof(w.b) - 1) != 0)
                return 5;
        }
    }
    return 0;
}

START_TEST(array_with_lock_under_contention)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_array *a = NULL;
    ck_assert_int_eq(ipcm_array_create(&a, sizeof(struct wide), 3, true), 0);
    ck_assert_uint_eq(ipcm_array_len(a), 3);
    ck_assert(in_children(4, array_worker, a));
    struct wide w;
    int64_t x, y;
    ck_assert_int_eq(ipcm_array_get(a, 0, &w, 1000), 0);
    memcpy(&x, w.b, sizeof(x));
    ck_assert_int_eq(ipcm_array_get(a, 1, &w, 1000), 0);
    memcpy(&y, w.b, sizeof(y));
    ck_assert_int_eq(x, 4 * 2000);
    ck_assert_int_eq(y, 4 * 2000);
    ck_assert_int_eq(ipcm_array_get(a, 3, &w, 0), -ERANGE); /* Python's IndexError */
    ck_assert_int_eq(ipcm_array_set(a, (size_t)-1, &w, 0), -ERANGE);
    ck_assert_int_eq(ipcm_array_unlock(a), -EPERM);
    ck_assert_ptr_eq(ipcm_array_ptr(a), (void *)ipcm_array_ptr(a));
    ipcm_array_destroy(a);

    /* Without a Lock: the same calls, no Lock to take. */
    ck_assert_int_eq(ipcm_array_create(&a, sizeof(int), 10, false), 0);
    int seven = 7, got = 0;
    ck_assert_int_eq(ipcm_array_set(a, 9, &seven, 0), 0);
    ck_assert_int_eq(ipcm_array_get(a, 9, &got, 0), 0);
    ck_assert_int_eq(got, 7);
    ck_assert_int_eq(((int *)ipcm_array_ptr(a))[9], 7);
    ck_assert_int_eq(ipcm_array_lock(a, 0), -ENOLCK);
    ipcm_array_destroy(a);
    ipcm_array_destroy(NULL);
    assert_clean(fds0);
}
END_TEST

static void *lock_and_add(void *arg)
{
    struct ipcm_value *v = arg;
    for (int k = 0; k < 5000; k++) {
        if (ipcm_value_lock(v, 10000) != 0)
            return "lock";
        (*(volatile int64_t *)ipcm_value_ptr(v))++; /* a plain read-modify-write */
        if (ipcm_value_unlock(v) != 0)
            return "unlock";
    }
    return NULL;
}

/* One handle, shared by the threads of a process and copied into children. */
static int threads_in_child(unsigned i, void *arg)
{
    (void)i;
    pthread_t t[2];
    void *why[2];
    for (int k = 0; k < 2; k++)
        if (pthread_create(&t[k], NULL, lock_and_add, arg) != 0)
            return 1;
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], &why[k]);
    return why[0] || why[1] ? 2 : 0;
}

START_TEST(value_lock_excludes_threads_and_processes)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_value *v = NULL;
    ck_assert_int_eq(ipcm_value_create(&v, sizeof(int64_t), true), 0);
    /* Held across a fork: the child is another holder-to-be, not this one. */
    ck_assert_int_eq(ipcm_value_lock(v, 0), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(ipcm_value_lock(v, 50) == -ETIMEDOUT && ipcm_value_unlock(v) == -EPERM ? 0 : 1);
    ck_assert_int_eq(reap(pid), 0);
    ck_assert_int_eq(ipcm_value_unlock(v), 0);
    ck_assert(in_children(3, threads_in_child, v));
    ck_assert_int_eq(*(int64_t *)ipcm_value_ptr(v), 3 * 2 * 5000);
    ipcm_value_destroy(v);
    assert_clean(fds0);
}
END_TEST

START_TEST(value_lock_holder_killed_is_reported)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_value *v = NULL;
    ck_assert_int_eq(ipcm_value_create(&v, 64, true), 0);
    int ready[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (ipcm_value_lock(v, 1000) != 0)
            _exit(1);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    ck_assert_int_eq(ipcm_value_lock(v, 0), -EAGAIN);
    kill(pid, SIGKILL);
    ck_assert_int_eq(reap(pid), -1);
    ck_assert_int_eq(ipcm_value_lock(v, 5000), -EOWNERDEAD);
    ck_assert_int_eq(ipcm_value_lock(v, 0), -EDEADLK);
    ck_assert_int_eq(ipcm_value_unlock(v), 0);
    ck_assert_int_eq(ipcm_value_unlock(v), -EPERM);
    ck_assert_int_eq(ipcm_value_lock(v, 0), 0);
    ipcm_value_destroy(v); /* held: destroy releases it */
    close(ready[0]);
    close(ready[1]);
    assert_clean(fds0);
}
END_TEST

START_TEST(bad_names_and_sizes_are_refused_with_a_reason)
{
    int fds0 = ipcm_test_fd_count();
    struct ipcm_shm *b = NULL;
    char longname[NAME_MAX + 3];
    longname[0] = '/';
    memset(longname + 1, 'x', NAME_MAX + 1);
    longname[NAME_MAX + 2] = '\0';
    static const struct {
        const char *name, *why;
    } bad[] = {{"noslash", "start with '/'"}, {"/a/b", "'/' after"}, {"/", "no file"},
               {"/.", "no file"},           {"/..", "no file"},    {"", "start with"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(ipcm_shm_create_named(&b, bad[i].name, 10), -EINVAL);
        assert_reason(-EINVAL, bad[i].why);
        ck_assert_int_eq(ipcm_shm_attach(&b, bad[i].name), -EINVAL);
        ck_assert_ptr_null(b);
    }
    ck_assert_int_eq(ipcm_shm_create_named(&b, longname, 10), -EINVAL);
    assert_reason(-EINVAL, "NAME_MAX");
    longname[NAME_MAX + 1] = '\0'; /* exactly NAME_MAX: allowed */
    ck_assert_int_eq(ipcm_shm_create_named(&b, longname, 10), 0);
    ck_assert_int_eq(ipcm_shm_unlink(b), 0);
    ipcm_shm_close(b);
    b = NULL;
    ck_assert_int_eq(ipcm_shm_attach(&b, NULL), -EINVAL);

    /* Sizes: 0, over PTRDIFF_MAX, over the memory, over /dev/shm's free space. */
    ck_assert_int_eq(ipcm_shm_create(&b, 0), -EINVAL);
    assert_reason(-EINVAL, "size 0");
    ck_assert_int_eq(ipcm_shm_create_named(&b, NULL, 0), -EINVAL);
    ck_assert_int_eq(ipcm_shm_create(&b, SIZE_MAX), -EFBIG);
    assert_reason(-EFBIG, "PTRDIFF_MAX");
    size_t phys = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
    ck_assert_int_eq(ipcm_shm_create(&b, phys), -ENOMEM);
    assert_reason(-ENOMEM, "physical memory");
    struct statvfs vfs;
    ck_assert_int_eq(statvfs("/dev/shm", &vfs), 0);
    size_t over = (size_t)vfs.f_bavail * vfs.f_frsize + (1u << 20);
    int r = ipcm_shm_create_named(&b, NULL, over);
    if (over < phys) {
        ck_assert_int_eq(r, -ENOSPC);
        assert_reason(-ENOSPC, "free space of /dev/shm");
    } else {
        ck_assert_int_eq(r, -ENOMEM); /* /dev/shm is larger than the memory */
    }
    ck_assert_ptr_null(b);

    struct ipcm_value *v = NULL;
    struct ipcm_array *a = NULL;
    ck_assert_int_eq(ipcm_value_create(&v, 0, true), -EINVAL);
    ck_assert_int_eq(ipcm_value_create(&v, SIZE_MAX, false), -EFBIG);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(ipcm_array_create(&a, 0, 4, true), -EINVAL);
    assert_reason(-EINVAL, "elem_size 0");
    ck_assert_int_eq(ipcm_array_create(&a, 4, 0, true), -EINVAL);
    ck_assert_int_eq(ipcm_array_create(&a, SIZE_MAX / 2, 4, true), -EFBIG);
    ck_assert_ptr_null(a);
    assert_clean(fds0);
}
END_TEST

START_TEST(nothing_left_after_a_sigkill)
{
    int fds0 = ipcm_test_fd_count();
    int ready[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    char c;

    /* An attached child killed: the creator unlinks as usual. */
    struct ipcm_shm *b = NULL;
    ck_assert_int_eq(ipcm_shm_create_named(&b, NULL, 4096), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct ipcm_shm *a = NULL;
        if (ipcm_shm_attach(&a, ipcm_shm_name(b)) != 0)
            _exit(1);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    kill(pid, SIGKILL);
    ck_assert_int_eq(reap(pid), -1);
    ck_assert_int_eq(ipcm_shm_unlink(b), 0);
    ipcm_shm_close(b);

    /* The creator killed before it unlinked: its parent sweeps by pid. */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct ipcm_shm *a = NULL;
        if (ipcm_shm_create_named(&a, NULL, 4096) != 0)
            _exit(1);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    kill(pid, SIGKILL);
    ck_assert_int_eq(reap(pid), -1);
    ck_assert_int_eq(ipcm_test_named_leftovers(pid), 1);
    ck_assert_int_eq(ipcm_shm_sweep(pid), 1);
    ck_assert_int_eq(ipcm_test_named_leftovers(pid), 0);
    ck_assert_int_eq(ipcm_shm_sweep(pid), 0);

    /* An anonymous block whose other holder is killed: nothing to clean at all. */
    ck_assert_int_eq(ipcm_shm_create(&b, 4096), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    kill(pid, SIGKILL);
    ck_assert_int_eq(reap(pid), -1);
    ipcm_shm_close(b);
    close(ready[0]);
    close(ready[1]);
    assert_clean(fds0);
}
END_TEST

static Suite *shmem_suite(void)
{
    Suite *s = suite_create("shmem");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, anonymous_block_is_shared_across_fork);
    tcase_add_test(tc, named_block_attach_by_name_and_unlink);
    tcase_add_test(tc, token_attach_after_exec);
    tcase_add_test(tc, counter_is_exact_across_processes);
    tcase_add_test(tc, array_with_lock_under_contention);
    tcase_add_test(tc, value_lock_excludes_threads_and_processes);
    tcase_add_test(tc, value_lock_holder_killed_is_reported);
    tcase_add_test(tc, bad_names_and_sizes_are_refused_with_a_reason);
    tcase_add_test(tc, nothing_left_after_a_sigkill);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], EXEC_HELPER) == 0)
        return exec_helper(argv[2]);
    return ipcm_test_run(shmem_suite());
}
