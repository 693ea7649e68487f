/* SPDX-License-Identifier: MIT */
/*
 * cli.c - argument parsing helpers shared by the sub-commands: sizes with suffixes
 * (libbsd expand_number), bounded integers (libbsd strtonum), lists, backends and
 * bench modes, and the getopt_long(3) conventions of every command.
 */
#include "cli.h"

#include "outfile.h"

#include <errno.h>
#include <getopt.h>
#include <libutil.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int ipcm_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ipcmark%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return IPCM_EXIT_USAGE;
}

int ipcm_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -EINVAL;
    /* expand_number takes K, M, G... as powers of 1024, and bare numbers. */
    if (expand_number(s, out) < 0)
        return -EINVAL;
    return 0;
}

int ipcm_parse_count(const char *s, long long min, long long max, long long *out)
{
    const char *err = NULL;
    long long v = strtonum(s, min, max, &err);
    if (err)
        return -EINVAL;
    *out = v;
    return 0;
}

int ipcm_parse_list(const char *s, bool sizes, uint64_t *out, size_t max)
{
    char *copy = strdup(s), *rest = copy;
    int n = 0;
    if (!copy)
        return -ENOMEM;
    /* strsep, not strtok: "64,,4K" has an empty item, which is an error, not nothing. */
    for (char *tok; (tok = strsep(&rest, ",")) != NULL;) {
        uint64_t v;
        long long c;
        if ((size_t)n >= max) {
            n = -E2BIG;
            break;
        }
        if (sizes ? ipcm_parse_size(tok, &v) < 0
                  : (ipcm_parse_count(tok, 0, 1000000000LL, &c) < 0 || ((v = (uint64_t)c), 0))) {
            n = -EINVAL;
            break;
        }
        out[n++] = v;
    }
    if (n == 0)
        n = -EINVAL;
    free(copy);
    return n;
}

int ipcm_parse_backends(const char *s, const struct ipcm_backend **out, size_t max,
                        const char **bad)
{
    static char badname[64];
    int n = 0;

    if (strcmp(s, "all") == 0) {
        for (size_t i = 0; i < ipcm_backend_count() && (size_t)n < max; i++)
            out[n++] = ipcm_backend_at(i);
        return n;
    }
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -ENOMEM;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const struct ipcm_backend *be = ipcm_backend_find(tok);
        if (!be) {
            snprintf(badname, sizeof(badname), "%s", tok);
            *bad = badname;
            n = -ENOENT;
            break;
        }
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup = dup || out[k] == be;
        if (!dup && (size_t)n < max)
            out[n++] = be;
    }
    free(copy);
    if (n == 0) {
        *bad = "";
        n = -ENOENT;
    }
    return n;
}

/* "-b pipe,pipe" runs pipe once (ipcm_parse_backends drops repeats): say so on stderr. */
static void note_duplicates(const char *cmd, const char *s)
{
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return;
    const char *seen[64];
    size_t n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup = dup || strcmp(seen[k], tok) == 0;
        if (dup)
            fprintf(stderr, "ipcmark %s: note: backend '%s' named more than once; it runs once\n",
                    cmd, tok);
        else if (n < sizeof(seen) / sizeof(seen[0]))
            seen[n++] = tok;
    }
    free(copy);
}

bool ipcm_plugin_failed;
bool ipcm_plugin_only_failed;

/* A plugin that would not load: its one line, and the run goes on without it (exit 3). */
static void plugin_failed(const char *cmd, int err)
{
    const char *why = ipcm_last_error(err);
    fprintf(stderr, "ipcmark %s: %s\n", cmd, why ? why : ipcm_strerror(err));
    ipcm_plugin_failed = true;
}

static bool is_builtin_name(const char *name)
{
    const struct ipcm_backend *b = ipcm_backend_find(name);
    return b && !ipcm_backend_plugin_path(b);
}

/* "all" on the command line: the built-ins, then every plugin on the plugin path whose
 * name no built-in has (RULINGS 3: plugins run when named or with -b all). */
static void add_scanned(const char *path, const struct ipcm_backend *be, int err, void *arg)
{
    struct {
        const char *cmd;
        const struct ipcm_backend **out;
        size_t max, n;
    } *a = arg;
    if (err < 0) {
        plugin_failed(a->cmd, err);
        return;
    }
    if (is_builtin_name(ipcm_backend_name(be))) {
        fprintf(stderr,
                "ipcmark %s: note: plugin %s is not run by 'all': it has the name of a "
                "built-in backend\n",
                a->cmd, path);
        return;
    }
    if (a->n < a->max)
        a->out[a->n++] = be;
}

static int backends_all(const char *cmd, const struct ipcm_backend **out, size_t max)
{
    int n = ipcm_parse_backends("all", out, max, &(const char *){NULL});
    struct {
        const char *cmd;
        const struct ipcm_backend **out;
        size_t max, n;
    } a = {cmd, out, max, (size_t)n};
    ipcm_backend_plugin_scan(add_scanned, &a);
    return (int)a.n;
}

/*
 * One item of -b: a path (any '/'), a built-in, or a plugin on the plugin path. Returns
 * 0 with *be; 1 when a plugin would not load (printed, skipped); -IPCM_EXIT_USAGE after
 * printing the error (unknown name, no such file).
 */
static int resolve(const char *cmd, const char *tok, const struct ipcm_backend **be)
{
    char valid[256] = "";
    int err;
    if (strchr(tok, '/')) {
        if ((err = ipcm_backend_load(tok, be)) == 0)
            return 0;
        if (err == -ENOENT || err == -ENOTDIR)
            return -ipcm_usage_error(cmd, "plugin '%s' does not exist", tok);
        plugin_failed(cmd, err);
        return 1;
    }
    if ((*be = ipcm_backend_find(tok)) != NULL)
        return 0;
    if ((err = ipcm_backend_plugin_find(tok, be)) == 0)
        return 0;
    if (err != -ENOENT) {
        plugin_failed(cmd, err);
        return 1;
    }
    for (size_t i = 0, l = 0; i < ipcm_backend_count(); i++, l = strlen(valid))
        snprintf(valid + l, sizeof(valid) - l, "%s, ", ipcm_backend_name(ipcm_backend_at(i)));
    return -ipcm_usage_error(cmd,
                             "unknown backend '%s' (valid: %sall, a plugin's path, or "
                             "a plugin name on %s)",
                             tok, valid, ipcm_backend_plugin_path_list());
}

/* RULINGS 5: a plugin may carry a built-in's name only when that built-in is not in the
 * same run; then it runs under that name, with a note. */
static int check_clash(const char *cmd, const struct ipcm_backend **out, int n)
{
    for (int i = 0; i < n; i++) {
        const char *path = ipcm_backend_plugin_path(out[i]);
        if (!path || !is_builtin_name(ipcm_backend_name(out[i])))
            continue;
        for (int k = 0; k < n; k++)
            if (k != i && strcmp(ipcm_backend_name(out[k]), ipcm_backend_name(out[i])) == 0)
                return -ipcm_usage_error(cmd,
                                         "plugin %s and the built-in backend are both "
                                         "named '%s': run them in separate runs",
                                         path, ipcm_backend_name(out[i]));
        fprintf(stderr, "ipcmark %s: note: backend '%s' is the plugin %s, not the built-in\n", cmd,
                ipcm_backend_name(out[i]), path);
    }
    return n;
}

const char ipcm_backends_default[] = "all";

int ipcm_backends_arg(const char *cmd, const char *s, const struct ipcm_backend **out, size_t max)
{
    int n = 0, failed = 0;
    if (s == ipcm_backends_default) /* no -b: the built-ins (RULINGS 3) */
        return ipcm_parse_backends("all", out, max, &(const char *){NULL});
    if (strcmp(s, "all") == 0)
        return backends_all(cmd, out, max);
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -ipcm_usage_error(cmd, "-b '%s': %s", s, strerror(ENOMEM));
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const struct ipcm_backend *be;
        int r = resolve(cmd, tok, &be);
        if (r < 0) {
            free(copy);
            return r;
        }
        failed += r;
        bool dup = false;
        for (int k = 0; r == 0 && k < n; k++)
            dup = dup || out[k] == be;
        if (r == 0 && !dup && (size_t)n < max)
            out[n++] = be;
    }
    free(copy);
    if (n == 0 && !failed)
        return -ipcm_usage_error(cmd, "unknown backend '' (-b needs a name)");
    if (n == 0) {
        /* Every backend asked for was a plugin that would not load: exit 3, not 2. */
        ipcm_plugin_only_failed = true;
        return -IPCM_EXIT_ENV;
    }
    note_duplicates(cmd, s);
    return check_clash(cmd, out, n);
}

const char *ipcm_mode_arg(const char *cmd, const char *s)
{
    const struct ipcm_bench_mode *m = ipcm_bench_mode_find(s);
    char valid[256] = "";
    if (m)
        return m->name;
    for (size_t i = 0, l = 0; ipcm_bench_mode_at(i); i++, l = strlen(valid))
        snprintf(valid + l, sizeof(valid) - l, "%s%s", i ? ", " : "", ipcm_bench_mode_at(i)->name);
    ipcm_usage_error(cmd, "unknown mode '%s' (valid: %s)", s, valid);
    return NULL;
}

void ipcm_getopt_begin(void)
{
    /* Commands run one after another in the default suite: start each argv afresh. */
    optind = 1;
    opterr = 0;
}

const char *ipcm_optname(int argc, char **argv, char *buf, size_t len)
{
    const char *prev = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    const char *next = optind < argc ? argv[optind] : "";

    /* optopt is 0 for an unknown long option, which getopt_long has stepped over. */
    if (!optopt || (strncmp(prev, "--", 2) == 0 && strchr(prev, '=')))
        return prev;
    /* A short option inside a cluster ("-qx") is not stepped over yet: prev is older. */
    bool in_cluster = next[0] == '-' && next[1] != '-' && strchr(next + 1, optopt);
    if (!in_cluster && strncmp(prev, "--", 2) == 0)
        return prev;
    snprintf(buf, len, "-%c", optopt);
    return buf;
}

int ipcm_option_error(const char *cmd, int c, int argc, char **argv)
{
    char buf[8];
    const char *name = ipcm_optname(argc, argv, buf, sizeof(buf));
    if (c == ':')
        return ipcm_usage_error(cmd, "%s needs an argument", name);
    return ipcm_usage_error(cmd, "unknown option '%s' (try --help)", name);
}

const char *ipcm_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const unit[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, "%llu%s", (unsigned long long)bytes, unit[u]);
    return buf;
}

bool ipcm_err_environmental(int err)
{
    switch (-err) {
    case EFBIG:  /* RLIMIT_FSIZE */
    case EMFILE: /* RLIMIT_NOFILE, or RLIMIT_MSGQUEUE for mq_open */
    case ENFILE: /* fs.file-max */
    case ENOSPC: /* fs.mqueue.queues_max, a full /dev/shm */
    case ENOMEM: /* RLIMIT_AS, RLIMIT_MEMLOCK */
    case ENOSYS: /* the mechanism is missing here */ return true;
    default: return false;
    }
}

int ipcm_output_probe(const char *cmd, const char *option, const char *path)
{
    int r = path ? ipcm_outfile_probe(path) : 0;
    if (r < 0)
        return ipcm_usage_error(cmd, "cannot write %s %s: %s", option, path, ipcm_file_strerror(r));
    return 0;
}

const char *ipcm_file_strerror(int err)
{
    /* strerror's "File too large" does not say which limit; ours names RLIMIT_FSIZE. */
    return err == -EFBIG ? ipcm_strerror(err) : strerror(-err);
}

/*
 * Data files (gnuplot scripts) are found relative to the running binary, so a moved
 * prefix or a moved build still works: the installed data folder (../share/ipcmark from
 * bin), then the source tree's scripts folder from the build tree. CMake computes both.
 */
#ifndef IPCM_REL_SHARE_DIR
#define IPCM_REL_SHARE_DIR "../share/ipcmark"
#endif
#ifndef IPCM_REL_SCRIPTS_DIR
#define IPCM_REL_SCRIPTS_DIR "scripts"
#endif

/* The folder of the running binary (/proc/self/exe, links resolved); false if unreadable. */
static bool exe_dir(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return false;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return true;
}

const char *ipcm_find_script(const char *name, const char *env_var, char *buf, size_t len,
                             char *looked, size_t looked_len)
{
    const char *env = getenv(env_var);
    char dir[2048];
    if (env && *env) {
        snprintf(looked, looked_len, "$%s=%s", env_var, env);
        return access(env, R_OK) == 0 ? env : NULL;
    }
    if (!exe_dir(dir, sizeof(dir))) {
        snprintf(looked, looked_len, "/proc/self/exe unreadable; set $%s", env_var);
        return NULL;
    }
    const char *rel[] = {IPCM_REL_SHARE_DIR, IPCM_REL_SCRIPTS_DIR};
    looked[0] = '\0';
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        snprintf(buf, len, "%s/%s/%s", dir, rel[i], name);
        if (access(buf, R_OK) == 0)
            return buf;
        size_t used = strlen(looked);
        snprintf(looked + used, looked_len - used, "%s%s", used ? ", " : "", buf);
    }
    return NULL;
}

int ipcm_parse_rate(const char *s, double *rate)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M')
        v *= 1e6, end++;
    if (strcmp(end, "/s") == 0)
        end += 2;
    if (errno || end == s || *end || !(v > 0) || v > 1e9)
        return -EINVAL;
    *rate = v;
    return 0;
}

int ipcm_format_arg(const char *s, enum ipcm_format *out)
{
    static const char *const names[] = {
        [FMT_TABLE] = "table", [FMT_MARKDOWN] = "markdown", [FMT_JSON] = "json"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum ipcm_format)i;
            return 0;
        }
    return -EINVAL;
}
