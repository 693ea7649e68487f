/* SPDX-License-Identifier: MIT */
/*
 * shmem.c - Python's SharedMemory, Value and Array (contracts in ipcmark.h): shared blocks,
 * anonymous (memfd) or named (/dev/shm), handed to an exec'd program by a token, and
 * typed shared bytes with an optional Lock of the synchronization layer.
 */
#include "ipcmark.h"

#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct ipcm_shm {
    void *ptr;
    size_t size;
    int fd;
    char *name; /* "/name", NULL when anonymous */
};

#define SHM_TOKEN_PREFIX "ipcm-shm:fd="

/* ---------------------------------------------------------------- checks */

/* POSIX shm_open's rules, checked here so the caller learns which one (glibc says only
 * EINVAL, or worse, accepts "/a/b" on some systems). */
static int check_name(const char *name)
{
    if (!name)
        return ipcm_reason_set(-EINVAL, "shm: name is NULL");
    if (name[0] != '/')
        return ipcm_reason_set(-EINVAL, "shm: name \"%.64s\" must start with '/'", name);
    size_t len = strlen(name + 1);
    if (len == 0 || strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
        return ipcm_reason_set(-EINVAL, "shm: name \"%s\" names no file under /dev/shm", name);
    if (strchr(name + 1, '/'))
        return ipcm_reason_set(-EINVAL, "shm: name \"%.64s\" has a '/' after the first byte",
                               name);
    if (len > NAME_MAX)
        return ipcm_reason_set(-EINVAL, "shm: name is %zu bytes after its '/'; the limit is "
                                        "NAME_MAX (%d)", len, NAME_MAX);
    return 0;
}

/* The limits a size can break before anything is created. */
static int check_size(size_t size, const char *what)
{
    if (size == 0)
        return ipcm_reason_set(-EINVAL, "%s: size 0: a shared block holds at least one byte",
                               what);
    if (size > PTRDIFF_MAX)
        return ipcm_reason_set(-EFBIG, "%s: size %zu is over PTRDIFF_MAX (%td)", what, size,
                               (ptrdiff_t)PTRDIFF_MAX);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && size / (size_t)page >= (size_t)pages)
        return ipcm_reason_set(-ENOMEM, "%s: size %zu B is over the physical memory (%llu B)",
                               what, size, (unsigned long long)pages * (unsigned long long)page);
    return 0;
}

/* ---------------------------------------------------------------- blocks */

/* Map fd's first size bytes into a new handle, which takes over fd (closed on failure). */
static int shm_map(int fd, size_t size, const char *name, struct ipcm_shm **out)
{
    struct ipcm_shm *b = calloc(1, sizeof(*b));
    char *nm = name ? strdup(name) : NULL;
    void *p = MAP_FAILED;
    if (b && (!name || nm))
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = b && (!name || nm) ? -errno : -ENOMEM;
        free(nm);
        free(b);
        close(fd);
        return ipcm_reason_limit(err, "shm: mmap");
    }
    *b = (struct ipcm_shm){.ptr = p, .size = size, .fd = fd, .name = nm};
    *out = b;
    return 0;
}

/*
 * Reserve size bytes of fd: fallocate makes a full tmpfs fail here, with ENOSPC, rather
 * than kill the first process that touches a page it could not get (SIGBUS). The free
 * space is checked first, because tmpfs allocates page by page before it gives up.
 */
static int shm_reserve(int fd, size_t size, const char *where)
{
    struct statvfs vfs;
    if (fstatvfs(fd, &vfs) == 0 && vfs.f_blocks > 0) { /* a memfd's mount has no size */
        unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        if (size > avail)
            return ipcm_reason_set(-ENOSPC, "shm: size %zu B is over the free space of %s "
                                            "(%llu B)", size, where, avail);
    }
    if (fallocate(fd, 0, 0, (off_t)size) == 0)
        return 0;
    int err = -errno;
    if (err == -EOPNOTSUPP || err == -ENOSYS) /* not tmpfs: sizing is enough */
        return ftruncate(fd, (off_t)size) == 0 ? 0 : ipcm_reason_limit(-errno, "shm: ftruncate");
    if (err == -ENOSPC)
        return ipcm_reason_set(err, "shm: %s has no room for %zu B (its tmpfs size, or "
                                    "memory, is used up)", where, size);
    return ipcm_reason_limit(err, "shm: fallocate");
}

int ipcm_shm_create(struct ipcm_shm **out, size_t size)
{
    *out = NULL;
    ipcm_reason_clear();
    int r = check_size(size, "shm: create");
    if (r < 0)
        return r;
    int fd = memfd_create("ipcmark-shm", MFD_CLOEXEC);
    if (fd < 0)
        return ipcm_reason_limit(-errno, "shm: memfd_create");
    r = shm_reserve(fd, size, "memory");
    if (r < 0) {
        close(fd);
        return r;
    }
    return shm_map(fd, size, NULL, out);
}

int ipcm_shm_create_named(struct ipcm_shm **out, const char *name, size_t size)
{
    char made[48];
    *out = NULL;
    ipcm_reason_clear();
    if (!name) { /* Python's random name, with the prefix ipcmark's sweeps look for */
        uint64_t nonce = ((uint64_t)arc4random() << 32) | arc4random();
        snprintf(made, sizeof(made), "/ipcmark-%ld-%016" PRIx64, (long)getpid(), nonce);
        name = made;
    }
    int r = check_name(name);
    if (r == 0)
        r = check_size(size, "shm: create");
    if (r < 0)
        return r;
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = -errno;
        if (r == -EEXIST)
            return ipcm_reason_set(r, "shm: %.64s exists already in /dev/shm", name);
        return ipcm_reason_limit(r, "shm: shm_open");
    }
    r = shm_reserve(fd, size, "/dev/shm");
    if (r == 0)
        r = shm_map(fd, size, name, out); /* closes fd on failure */
    else
        close(fd);
    if (r < 0)
        shm_unlink(name); /* ours (O_EXCL): nothing may stay behind */
    return r;
}

int ipcm_shm_attach(struct ipcm_shm **out, const char *name)
{
    *out = NULL;
    ipcm_reason_clear();
    int r = check_name(name);
    if (r < 0)
        return r;
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        if (r == -ENOENT)
            return ipcm_reason_set(r, "shm: no block %.64s in /dev/shm (never created, or "
                                      "unlinked)", name);
        return ipcm_reason_limit(r, "shm: shm_open");
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0) {
        close(fd);
        return ipcm_reason_set(-EINVAL, "shm: %.64s has size 0 (not sized by its creator yet)",
                               name);
    }
    return shm_map(fd, (size_t)st.st_size, name, out);
}

int ipcm_shm_token(const struct ipcm_shm *b, char *buf, size_t len)
{
    if (!b || b->fd < 0)
        return -EBADF;
    int n = snprintf(buf, len, SHM_TOKEN_PREFIX "%d,size=%zu", b->fd, b->size);
    if (n < 0 || (size_t)n >= len) {
        if (len)
            buf[0] = '\0';
        return -ERANGE;
    }
    return n;
}

/* A decimal number at *s up to a non-digit; false unless at least one digit fits in max. */
static bool parse_num(const char **s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    const char *p = *s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (p == *s)
        return false;
    *s = p;
    *out = v;
    return true;
}

int ipcm_shm_attach_token(struct ipcm_shm **out, const char *token)
{
    unsigned long long fd, size;
    *out = NULL;
    ipcm_reason_clear();
    const char *p = token;
    if (!p || strncmp(p, SHM_TOKEN_PREFIX, strlen(SHM_TOKEN_PREFIX)) != 0)
        return ipcm_reason_set(-EINVAL, "shm: token \"%.64s\" does not start with \""
                                        SHM_TOKEN_PREFIX "\"", p ? p : "(null)");
    p += strlen(SHM_TOKEN_PREFIX);
    if (!parse_num(&p, INT_MAX, &fd) || strncmp(p, ",size=", 6) != 0 ||
        (p += 6, !parse_num(&p, PTRDIFF_MAX, &size)) || *p != '\0' || size == 0)
        return ipcm_reason_set(-EINVAL, "shm: token \"%.64s\" is not \"" SHM_TOKEN_PREFIX
                                        "<fd>,size=<bytes>\"", token);
    int flags = fcntl((int)fd, F_GETFD);
    if (flags < 0)
        return ipcm_reason_set(-EBADF, "shm: descriptor %llu of the token is not open here "
                                       "(it was not kept open across exec)", fd);
    struct stat st;
    if (fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size < size)
        return ipcm_reason_set(-EINVAL, "shm: descriptor %llu is not a shared block of at "
                                        "least %llu B", fd, size);
    fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC); /* it goes no further */
    return shm_map((int)fd, (size_t)size, NULL, out);
}

void *ipcm_shm_ptr(const struct ipcm_shm *b)
{
    return b ? b->ptr : NULL;
}

size_t ipcm_shm_size(const struct ipcm_shm *b)
{
    return b ? b->size : 0;
}

const char *ipcm_shm_name(const struct ipcm_shm *b)
{
    return b ? b->name : NULL;
}

int ipcm_shm_fd(const struct ipcm_shm *b)
{
    return b ? b->fd : -1;
}

void ipcm_shm_close(struct ipcm_shm *b)
{
    if (!b)
        return;
    munmap(b->ptr, b->size);
    ipcm_close_fd(&b->fd);
    free(b->name);
    free(b);
}

int ipcm_shm_unlink(struct ipcm_shm *b)
{
    if (!b)
        return -EINVAL;
    if (!b->name)
        return 0;
    return shm_unlink(b->name) == 0 ? 0 : -errno;
}

int ipcm_shm_sweep(pid_t pid)
{
    char prefix[40];
    int n = 0;
    DIR *d = opendir("/dev/shm");
    if (!d || pid <= 0) {
        if (d)
            closedir(d);
        return 0;
    }
    snprintf(prefix, sizeof(prefix), "ipcmark-%ld-", (long)pid);
    for (struct dirent *e; (e = readdir(d));) {
        char name[NAME_MAX + 2];
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(name, sizeof(name), "/%s", e->d_name);
        n += shm_unlink(name) == 0;
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- Value and Array */

/*
 * An end of the Lock belongs to one thread, while a handle is shared by the threads of a
 * process and copied into every child. So the handle keeps one end, for the first thread
 * of a process that takes the Lock (claimed by a compare-and-swap of one word holding its
 * pid and tid); other threads open an end for each hold and close it after. Opening an
 * end costs about a hundred times an uncontended hold (a table search and a robust
 * mutex), so the common case, one thread per process, keeps it. A child sees its
 * parent's pid in the word and claims it anew; the copy of the parent's end it inherited
 * is left alone (closing it could release the parent's hold). Only the holder writes
 * held and held_by; held_by is read atomically by other threads that ask whether they
 * hold the Lock.
 */
struct ipcm_value {
    void *ptr;
    size_t size;
    struct ipcm_sync *lock; /* NULL: created without one */
    struct ipcm_sync_end *held;
    uint64_t held_by; /* pid << 32 | tid of the holder in this process; 0: none */
    uint64_t kept_by;             /* pid << 32 | tid of the thread kept is for; 0: none */
    struct ipcm_sync_end *kept;   /* read and written only by that thread */
};

/*
 * The calling thread, as pid << 32 | tid. getpid and gettid are system calls (glibc
 * caches neither), ten of which would cost more than the whole hold, so each thread
 * keeps its own; a fork's child forgets the one it inherited.
 */
static __thread uint64_t me_cached;
static pthread_once_t me_once = PTHREAD_ONCE_INIT;

static void me_forget(void)
{
    me_cached = 0;
}

static void me_init(void)
{
    pthread_atfork(NULL, NULL, me_forget);
}

static uint64_t me(void)
{
    if (!me_cached) {
        pthread_once(&me_once, me_init); /* before the first fork that must reset it */
        me_cached = (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)gettid();
    }
    return me_cached;
}

/* This thread's end: the kept one, or a new one. */
static int end_get(struct ipcm_value *v, struct ipcm_sync_end **e)
{
    if (__atomic_load_n(&v->kept_by, __ATOMIC_ACQUIRE) == me()) {
        *e = v->kept;
        return 0;
    }
    return ipcm_sync_open(v->lock, e);
}

/* Done with e (not held): keep it if no thread of this process has one kept, else close. */
static void end_put(struct ipcm_value *v, struct ipcm_sync_end *e)
{
    uint64_t mine = me(), was = __atomic_load_n(&v->kept_by, __ATOMIC_ACQUIRE);
    if (was == mine)
        return; /* e is the kept one */
    if ((was >> 32) != (mine >> 32) && /* none, or the parent's: claim it */
        __atomic_compare_exchange_n(&v->kept_by, &was, mine, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        v->kept = e;
        return;
    }
    ipcm_sync_close(e);
}

struct ipcm_array {
    struct ipcm_value v; /* first: an array is a value with elements */
    size_t elem_size, n;
};

static int value_init(struct ipcm_value *v, size_t size, bool lock)
{
    int r = check_size(size, "value: create");
    if (r < 0)
        return r;
    v->size = size;
    v->ptr = ipcm_shared_alloc(size);
    if (!v->ptr)
        return ipcm_reason_limit(-errno, "value: mmap");
    if (lock) {
        r = ipcm_sync_create(ipcm_sync_impl_at(0), IPCM_SYNC_LOCK, 0, &v->lock);
        if (r < 0) {
            ipcm_shared_free(v->ptr, size);
            return r;
        }
    }
    return 0;
}

static bool value_held_here(const struct ipcm_value *v)
{
    return __atomic_load_n(&v->held_by, __ATOMIC_RELAXED) == me();
}

int ipcm_value_create(struct ipcm_value **out, size_t size, bool lock)
{
    *out = NULL;
    ipcm_reason_clear();
    struct ipcm_value *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    int r = value_init(v, size, lock);
    if (r < 0) {
        free(v);
        return r;
    }
    *out = v;
    return 0;
}

void *ipcm_value_ptr(const struct ipcm_value *v)
{
    return v ? v->ptr : NULL;
}

size_t ipcm_value_size(const struct ipcm_value *v)
{
    return v ? v->size : 0;
}

int ipcm_value_lock(struct ipcm_value *v, int timeout_ms)
{
    if (!v)
        return -EINVAL;
    if (!v->lock)
        return -ENOLCK;
    if (value_held_here(v))
        return -EDEADLK;
    struct ipcm_sync_end *e;
    int r = end_get(v, &e);
    if (r < 0)
        return r;
    r = ipcm_lock_acquire(e, timeout_ms);
    if (r < 0 && r != -EOWNERDEAD) {
        end_put(v, e);
        return r;
    }
    v->held = e;
    __atomic_store_n(&v->held_by, me(), __ATOMIC_RELAXED);
    return r;
}

int ipcm_value_unlock(struct ipcm_value *v)
{
    if (!v)
        return -EINVAL;
    if (!v->lock)
        return -ENOLCK;
    if (!value_held_here(v))
        return -EPERM;
    struct ipcm_sync_end *e = v->held;
    v->held = NULL;
    __atomic_store_n(&v->held_by, 0, __ATOMIC_RELAXED);
    int r = ipcm_lock_release(e);
    end_put(v, e);
    return r;
}

static void value_fini(struct ipcm_value *v)
{
    if (v->lock && value_held_here(v))
        ipcm_value_unlock(v);
    if ((__atomic_load_n(&v->kept_by, __ATOMIC_ACQUIRE) >> 32) == (me() >> 32))
        ipcm_sync_close(v->kept); /* another thread's: its slot waits for that thread's end */
    ipcm_sync_destroy(v->lock);
    ipcm_shared_free(v->ptr, v->size);
}

void ipcm_value_destroy(struct ipcm_value *v)
{
    if (!v)
        return;
    value_fini(v);
    free(v);
}

int ipcm_counter_add(struct ipcm_value *v, int64_t delta, int64_t *now)
{
    if (!v || v->size < sizeof(int64_t))
        return -EINVAL;
    int64_t after = __atomic_add_fetch((int64_t *)v->ptr, delta, __ATOMIC_SEQ_CST);
    if (now)
        *now = after;
    return 0;
}

int ipcm_array_create(struct ipcm_array **out, size_t elem_size, size_t n, bool lock)
{
    *out = NULL;
    ipcm_reason_clear();
    if (elem_size == 0 || n == 0)
        return ipcm_reason_set(-EINVAL, "array: %s 0: an array holds at least one byte",
                               n ? "elem_size" : "n");
    if (elem_size > PTRDIFF_MAX / n)
        return ipcm_reason_set(-EFBIG, "array: %zu elements of %zu B are over PTRDIFF_MAX",
                               n, elem_size);
    struct ipcm_array *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    int r = value_init(&a->v, elem_size * n, lock);
    if (r < 0) {
        free(a);
        return r;
    }
    a->elem_size = elem_size;
    a->n = n;
    *out = a;
    return 0;
}

size_t ipcm_array_len(const struct ipcm_array *a)
{
    return a ? a->n : 0;
}

void *ipcm_array_ptr(const struct ipcm_array *a)
{
    return a ? a->v.ptr : NULL;
}

/* Copy element i to or from buf under the Lock (unless this thread holds it already). */
static int array_copy(struct ipcm_array *a, size_t i, void *buf, bool set, int timeout_ms)
{
    if (!a || !buf)
        return -EINVAL;
    if (i >= a->n)
        return -ERANGE;
    int r = 0;
    bool take = a->v.lock && !value_held_here(&a->v);
    if (take) {
        r = ipcm_value_lock(&a->v, timeout_ms);
        if (r < 0 && r != -EOWNERDEAD)
            return r;
    }
    char *el = (char *)a->v.ptr + i * a->elem_size;
    if (set)
        memcpy(el, buf, a->elem_size);
    else
        memcpy(buf, el, a->elem_size);
    if (take)
        ipcm_value_unlock(&a->v);
    return r;
}

int ipcm_array_get(struct ipcm_array *a, size_t i, void *buf, int timeout_ms)
{
    return array_copy(a, i, buf, false, timeout_ms);
}

int ipcm_array_set(struct ipcm_array *a, size_t i, const void *buf, int timeout_ms)
{
    return array_copy(a, i, (void *)buf, true, timeout_ms); /* only read */
}

int ipcm_array_lock(struct ipcm_array *a, int timeout_ms)
{
    return a ? ipcm_value_lock(&a->v, timeout_ms) : -EINVAL;
}

int ipcm_array_unlock(struct ipcm_array *a)
{
    return a ? ipcm_value_unlock(&a->v) : -EINVAL;
}

void ipcm_array_destroy(struct ipcm_array *a)
{
    if (!a)
        return;
    value_fini(&a->v);
    free(a);
}
