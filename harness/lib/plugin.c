/* SPDX-License-Identifier: MIT */
/*
 * plugin.c - backends from shared objects: load one by path or find one by name on the
 * plugin path (RULINGS 4), check its table against the ABI, remember its file and hash.
 */
#include "ipcmark.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
/* Inlined: libipcmark.a then needs no -lxxhash in the programs that link it. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base.h"
#include "ipcmark_backend.h"

#define MAX_PLUGINS 32

/* One loaded plugin. The object stays loaded for the life of the process: links and
 * children may hold its ops, so nothing is ever unloaded. */
struct plugin {
    struct ipcm_backend be; /* the plugin's table, ops past its struct_size NULL */
    char path[PATH_MAX];    /* realpath of the file */
    uint64_t hash;          /* XXH3-64 of the file's bytes */
};

static struct plugin plugins[MAX_PLUGINS];
static size_t nplugins;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* XXH3-64 of the file at path into *out. Returns 0 or -errno. */
static int hash_file(const char *path, uint64_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || st.st_size <= 0) {
        int err = st.st_size <= 0 ? -ENOEXEC : -errno;
        close(fd);
        return err;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -errno;
    *out = XXH3_64bits(p, (size_t)st.st_size);
    munmap(p, (size_t)st.st_size);
    return 0;
}

static bool name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 31)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* The ops every backend needs, then the ones its capability bits require. Returns the
 * name of the first missing op, or NULL. */
static const char *missing_op(const struct ipcm_backend *be)
{
    const struct {
        bool need;
        bool set;
        const char *name;
    } ops[] = {
        {true, be->limits != NULL, "limits"},
        {true, be->create != NULL, "create"},
        {true, be->open != NULL, "open"},
        {true, be->send != NULL, "send"},
        {true, be->recv != NULL, "recv"},
        {true, be->shutdown != NULL, "shutdown"},
        {true, be->close != NULL, "close"},
        {true, be->destroy != NULL, "destroy"},
        {be->caps & IPCM_CAP_POLLFD, be->pollfd != NULL, "pollfd (caps: pollfd)"},
        {be->caps & IPCM_CAP_QSIZE, be->qsize != NULL, "qsize (caps: qsize)"},
        {be->caps & IPCM_CAP_FDPASS, be->send_fd != NULL, "send_fd (caps: fd-passing)"},
        {be->caps & IPCM_CAP_FDPASS, be->recv_fd != NULL, "recv_fd (caps: fd-passing)"},
        {be->caps & IPCM_CAP_EXEC, be->handover_export != NULL, "handover_export (caps: exec)"},
        {be->caps & IPCM_CAP_EXEC, be->handover_attach != NULL, "handover_attach (caps: exec)"},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (ops[i].need && !ops[i].set)
            return ops[i].name;
    return NULL;
}

/* Check the table the entry point returned; copy it into *p. Returns 0 or -errno with
 * the reason set (naming the file). Called with the lock held. */
static int check_table(const char *path, const struct ipcm_backend *t, struct plugin *p)
{
    if (t->abi > IPCM_BACKEND_ABI)
        return ipcm_reason_set(-EPROTO, "%s: plugin ABI %d is newer than this ipcmark's %d", path,
                               t->abi, IPCM_BACKEND_ABI);
    if (t->abi < IPCM_BACKEND_ABI_MIN)
        return ipcm_reason_set(-EPROTO, "%s: plugin ABI %d is older than the oldest supported, %d",
                               path, t->abi, IPCM_BACKEND_ABI_MIN);
    if (t->struct_size < IPCM_BACKEND_SIZE_V1)
        return ipcm_reason_set(-EINVAL, "%s: backend table of %u bytes, smaller than ABI %d's %zu",
                               path, t->struct_size, t->abi, (size_t)IPCM_BACKEND_SIZE_V1);
    /* SQLite-style: what the plugin's header did not have stays NULL. */
    memset(&p->be, 0, sizeof(p->be));
    memcpy(&p->be, t, t->struct_size < sizeof(p->be) ? t->struct_size : sizeof(p->be));
    if (!name_ok(p->be.name))
        return ipcm_reason_set(-EINVAL, "%s: backend name %s%s%s is not [a-z0-9_]{1,31}", path,
                               p->be.name ? "'" : "", p->be.name ? p->be.name : "NULL",
                               p->be.name ? "'" : "");
    const char *op = missing_op(&p->be);
    if (op)
        return ipcm_reason_set(-EINVAL, "%s: backend '%s' leaves op %s NULL", path, p->be.name, op);
    for (size_t i = 0; i < nplugins; i++)
        if (strcmp(plugins[i].be.name, p->be.name) == 0)
            return ipcm_reason_set(-EEXIST, "%s: backend name '%s' is already loaded from %s", path,
                                   p->be.name, plugins[i].path);
    if (!p->be.summary)
        p->be.summary = "(plugin)";
    return 0;
}

/* dlopen path, find the entry point, check and record its table. Lock held. */
static int load_locked(const char *path, const struct ipcm_backend **out)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return ipcm_reason_set(-errno, "%s: %s", path, strerror(errno));
    for (size_t i = 0; i < nplugins; i++)
        if (strcmp(plugins[i].path, real) == 0) {
            *out = &plugins[i].be;
            return 0;
        }
    if (nplugins == MAX_PLUGINS)
        return ipcm_reason_set(-EMFILE, "%s: more than %d plugins", path, MAX_PLUGINS);
    struct plugin *p = &plugins[nplugins];
    int err = hash_file(real, &p->hash);
    if (err < 0)
        return ipcm_reason_set(err == -ENOEXEC ? -ENOEXEC : err, "%s: not a shared object (%s)",
                               path, strerror(-err));
    void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return ipcm_reason_set(-ENOEXEC, "%s: not a loadable shared object (%s)", path, dlerror());
    ipcm_backend_plugin_v1_fn *entry;
    *(void **)&entry = dlsym(h, IPCM_BACKEND_PLUGIN_SYMBOL);
    if (!entry) {
        dlclose(h);
        return ipcm_reason_set(-ENOEXEC, "%s: no entry point %s (not an ipcmark plugin)", path,
                               IPCM_BACKEND_PLUGIN_SYMBOL);
    }
    const char *why = NULL;
    const struct ipcm_backend *t = entry(IPCM_BACKEND_ABI, &why);
    if (!t)
        err = ipcm_reason_set(-ENOSYS, "%s: the plugin refused to load: %s", path,
                              why ? why : "no reason given");
    else
        err = check_table(path, t, p);
    if (err < 0) {
        dlclose(h);
        return err;
    }
    snprintf(p->path, sizeof(p->path), "%s", real);
    nplugins++;
    *out = &p->be;
    return 0;
}

int ipcm_backend_load(const char *path, const struct ipcm_backend **out)
{
    *out = NULL;
    ipcm_reason_clear();
    pthread_mutex_lock(&lock);
    int err = load_locked(path, out);
    pthread_mutex_unlock(&lock);
    return err;
}

/* The folders searched for a plugin by name, in order, joined by ':' into buf. */
static void plugin_dirs(char *buf, size_t len)
{
    const char *env = getenv("IPCMARK_PLUGIN_PATH");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    size_t off = 0;
    buf[0] = '\0';
    if (env && *env)
        off += (size_t)snprintf(buf, len, "%s:", env);
    if (off < len)
        off += (size_t)snprintf(buf + off, len - off, "%s:", IPCM_PLUGIN_DIR);
    if (n > 0 && off < len) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        /* The build tree (build/plugins beside build/ipcmark), then an installed tree. */
        snprintf(buf + off, len - off, "%s/plugins:%s/../lib/ipcmark/plugins", exe, exe);
    }
}

const char *ipcm_backend_plugin_path_list(void)
{
    static _Thread_local char buf[3 * PATH_MAX];
    plugin_dirs(buf, sizeof(buf));
    return buf;
}

int ipcm_backend_plugin_find(const char *name, const struct ipcm_backend **out)
{
    char dirs[3 * PATH_MAX], file[2 * PATH_MAX];
    char *save = NULL;
    *out = NULL;
    if (!name_ok(name))
        return -ENOENT;
    plugin_dirs(dirs, sizeof(dirs));
    /* Empty items are skipped: "a::b" never means the current directory (RULINGS 4). */
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (d[0] != '/')
            continue; /* a relative folder would depend on the current directory */
        snprintf(file, sizeof(file), "%s/libipcm_%s.so", d, name);
        if (access(file, F_OK) != 0)
            continue;
        int err = ipcm_backend_load(file, out);
        if (err == 0 && strcmp((*out)->name, name) != 0) {
            const char *got = (*out)->name;
            *out = NULL;
            return ipcm_reason_set(-EINVAL, "%s: defines backend '%s', not '%s'", file, got, name);
        }
        return err;
    }
    return -ENOENT;
}

int ipcm_backend_plugin_scan(void (*fn)(const char *path, const struct ipcm_backend *be, int err,
                                        void *arg),
                             void *arg)
{
    char dirs[3 * PATH_MAX], file[2 * PATH_MAX], seen[8][PATH_MAX];
    char *save = NULL;
    size_t nseen = 0;
    int count = 0;
    plugin_dirs(dirs, sizeof(dirs));
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char real[PATH_MAX];
        bool dup = false;
        if (d[0] != '/' || !realpath(d, real))
            continue;
        for (size_t k = 0; k < nseen; k++)
            dup = dup || strcmp(seen[k], real) == 0;
        DIR *dir = dup ? NULL : opendir(real);
        if (!dir)
            continue;
        if (nseen < 8)
            snprintf(seen[nseen++], PATH_MAX, "%s", real);
        for (struct dirent *e; (e = readdir(dir)) != NULL;) {
            size_t l = strlen(e->d_name);
            if (strncmp(e->d_name, "libipcm_", 8) != 0 || l < 12 ||
                strcmp(e->d_name + l - 3, ".so") != 0)
                continue;
            const struct ipcm_backend *be;
            snprintf(file, sizeof(file), "%s/%s", real, e->d_name);
            int err = ipcm_backend_load(file, &be);
            fn(file, err < 0 ? NULL : be, err, arg);
            count++;
        }
        closedir(dir);
    }
    return count;
}

/* The plugin record of be, or NULL for a built-in. */
static const struct plugin *plugin_of(const struct ipcm_backend *be)
{
    for (size_t i = 0; i < MAX_PLUGINS; i++)
        if (be == &plugins[i].be)
            return &plugins[i];
    return NULL;
}

const char *ipcm_backend_plugin_path(const struct ipcm_backend *be)
{
    const struct plugin *p = plugin_of(be);
    return p ? p->path : NULL;
}

uint64_t ipcm_backend_plugin_hash(const struct ipcm_backend *be)
{
    const struct plugin *p = plugin_of(be);
    return p ? p->hash : 0;
}

const struct ipcm_backend *ipcm_backend_plugin_at(size_t i)
{
    pthread_mutex_lock(&lock);
    const struct ipcm_backend *be = i < nplugins ? &plugins[i].be : NULL;
    pthread_mutex_unlock(&lock);
    return be;
}
