/* SPDX-License-Identifier: MIT */
/*
 * cmd_plot.c - `ipcmark plot RESULTS.json [-o DIR]`: extract one gnuplot data file per
 * plot and series from a results file, then run scripts/plot.gp for PNG and SVG.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results_read.h"

#ifndef IPCM_SCRIPTS_DIR
#define IPCM_SCRIPTS_DIR "scripts"
#endif
#ifndef IPCM_SHARE_DIR
#define IPCM_SHARE_DIR "/usr/local/share/ipcmark"
#endif

static const char plot_usage[] =
    "usage: ipcmark plot RESULTS.json [MORE.json ...] [-o DIR]\n"
    "\n"
    "Draw the comparison plots of a results file with gnuplot, as PNG and SVG in DIR\n"
    "(default results/plots): throughput vs message size, latency percentile spectrum,\n"
    "throughput vs producers x consumers, pool tasks/s vs workers. A plot without data\n"
    "in the file is skipped. The data files (*.dat) stay beside the images.\n"
    "Several files are drawn as one: their cases are merged (no key may repeat) and the\n"
    "title's host and date are the first file's, e.g. a pool run with the python-mp\n"
    "reference of scripts/pool_python.py: ipcmark plot pool.json python.json\n"
    "The script is scripts/plot.gp ($IPCMARK_PLOT_GP overrides its path).\n";

/* The word lists and notes handed to plot.gp through params.gp. */
struct plot_params {
    FILE *f;
    const char *dir;
    int nfiles;
};

static int cmp_ptr(const void *a, const void *b,
                   int (*less)(const struct ipcm_rr_case *, const struct ipcm_rr_case *))
{
    const struct ipcm_rr_case *const *x = a, *const *y = b;
    return less(*x, *y);
}

/*
 * Series order: by backend, then placement, then the x value set by the caller. The
 * python-mp reference comes last, so the key lists the backends under test together.
 */
static unsigned long long (*g_xkey)(const struct ipcm_rr_case *);

static int by_series_then_x(const struct ipcm_rr_case *a, const struct ipcm_rr_case *b)
{
    int ra = strcmp(a->backend, "python-mp") == 0, rb = strcmp(b->backend, "python-mp") == 0;
    if (ra != rb)
        return ra - rb;
    int r = strcmp(a->backend, b->backend);
    if (r)
        return r;
    if ((r = strcmp(a->placement, b->placement)))
        return r;
    unsigned long long xa = g_xkey(a), xb = g_xkey(b);
    return (xa > xb) - (xa < xb);
}

static int qsort_series(const void *a, const void *b)
{
    return cmp_ptr(a, b, by_series_then_x);
}

static unsigned long long x_size(const struct ipcm_rr_case *c)
{
    return c->size;
}
static unsigned long long x_pxc(const struct ipcm_rr_case *c)
{
    /* Total parties first, then producers: 1x1, 1x2, 2x1, 2x2, 4x2, ... */
    return ((unsigned long long)c->producers * c->consumers << 40) |
           ((unsigned long long)c->producers << 20) | c->consumers;
}
static unsigned long long x_workers(const struct ipcm_rr_case *c)
{
    return c->workers;
}

/*
 * Open one data file per series and append its name and title to the word lists.
 * Names are [A-Za-z0-9._+-] (the reader enforces it), so they are safe in file names
 * and in gnuplot strings.
 */
static FILE *open_series(struct plot_params *pp, const char *plot, const char *series, char *files,
                         char *titles, size_t len)
{
    char name[160], path[4096];
    snprintf(name, sizeof(name), "%s-%s.dat", plot, series);
    for (char *c = name; *c; c++)
        if (*c == ',')
            *c = '_';
    snprintf(path, sizeof(path), "%s/%s", pp->dir, name);
    FILE *f = fopen(path, "we");
    if (!f)
        return NULL;
    size_t fl = strlen(files), tl = strlen(titles);
    snprintf(files + fl, len - fl, "%s%s", fl ? " " : "", name);
    snprintf(titles + tl, len - tl, "%s%s", tl ? " " : "", series);
    pp->nfiles++;
    return f;
}

/*
 * Write the series of one plot: the cases that sel accepts (one group chosen by the
 * caller), sorted by series and x, one file per series. row writes one data line.
 * series_name gives the series a case belongs to. Returns the number of series.
 */
static int write_plot(struct plot_params *pp, const char *plot, const struct ipcm_results *r,
                      bool (*sel)(const struct ipcm_rr_case *, const void *), const void *arg,
                      unsigned long long (*xkey)(const struct ipcm_rr_case *),
                      void (*series_name)(const struct ipcm_rr_case *, char *, size_t),
                      void (*row)(FILE *, const struct ipcm_rr_case *))
{
    const struct ipcm_rr_case **v = calloc(r->ncases ? r->ncases : 1, sizeof(*v));
    char files[4096] = "", titles[4096] = "", cur[128] = "", name[128];
    size_t n = 0;
    int nseries = 0;
    FILE *f = NULL;

    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < r->ncases; i++)
        if (r->cases[i].status == IPCM_RR_OK && sel(&r->cases[i], arg))
            v[n++] = &r->cases[i];
    g_xkey = xkey;
    qsort(v, n, sizeof(*v), qsort_series);
    for (size_t i = 0; i < n; i++) {
        series_name(v[i], name, sizeof(name));
        if (!f || strcmp(name, cur) != 0) {
            if (f)
                fclose(f);
            snprintf(cur, sizeof(cur), "%s", name);
            f = open_series(pp, plot, name, files, titles, sizeof(files));
            if (!f) {
                free(v);
                return -errno;
            }
            nseries++;
        }
        row(f, v[i]);
    }
    if (f)
        fclose(f);
    free(v);
    fprintf(pp->f, "%s_files = '%s'\n%s_titles = '%s'\n", plot, files, plot, titles);
    return nseries;
}

static void name_backend(const struct ipcm_rr_case *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", c->backend);
}

static void name_backend_placement(const struct ipcm_rr_case *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", c->backend, c->placement[0] ? "," : "", c->placement);
}

/* ------------------------------------------------ throughput vs message size */

/* One plot draws one slice of the sweep: a shape, P x C and placement. */
struct group {
    const char *shape, *placement;
    unsigned producers, consumers, workers;
    uint64_t size;
};

static bool is_tput(const struct ipcm_rr_case *c)
{
    return strcmp(c->mode, "throughput") == 0 && c->msgs_per_s.present;
}

static bool sel_tput_size(const struct ipcm_rr_case *c, const void *arg)
{
    const struct group *g = arg;
    return is_tput(c) && strcmp(c->shape, g->shape) == 0 &&
           strcmp(c->placement, g->placement) == 0 && c->producers == g->producers &&
           c->consumers == g->consumers;
}

static bool sel_tput_pxc(const struct ipcm_rr_case *c, const void *arg)
{
    const struct group *g = arg;
    return is_tput(c) && strcmp(c->shape, g->shape) == 0 &&
           strcmp(c->placement, g->placement) == 0 && c->size == g->size;
}

static bool sel_latency(const struct ipcm_rr_case *c, const void *arg)
{
    const struct group *g = arg;
    return strcmp(c->mode, "latency") == 0 && c->latency_ns.present && c->size == g->size;
}

static bool sel_pool(const struct ipcm_rr_case *c, const void *arg)
{
    const struct group *g = arg;
    return strcmp(c->mode, "pool") == 0 && c->tasks_per_s.present && c->size == g->size;
}

static void row_rate(FILE *f, unsigned long long x, const struct ipcm_rr_stat *s)
{
    fprintf(f, "%llu %.6g %.6g %.6g\n", x, s->median, s->min, s->max);
}

static void row_tput_size(FILE *f, const struct ipcm_rr_case *c)
{
    row_rate(f, c->size, &c->msgs_per_s);
}

static void row_tput_pxc(FILE *f, const struct ipcm_rr_case *c)
{
    /* x is a category; plot.gp places it by its label's rank in pxc_labels. */
    fprintf(f, "%ux%u %.6g %.6g %.6g\n", c->producers, c->consumers, c->msgs_per_s.median,
            c->msgs_per_s.min, c->msgs_per_s.max);
}

static void row_pool(FILE *f, const struct ipcm_rr_case *c)
{
    row_rate(f, c->workers, &c->tasks_per_s);
}

static void row_latency(FILE *f, const struct ipcm_rr_case *c)
{
    /* x = 1 / (1 - p): 2 for p50, 10 for p90, 100 for p99, 1000 for p99.9. */
    const struct ipcm_rr_latency *l = &c->latency_ns;
    const double x[] = {2, 10, 100, 1000}, y[] = {l->p50, l->p90, l->p99, l->p999};
    for (int i = 0; i < 4; i++)
        if (y[i] > 0)
            fprintf(f, "%g %.6g\n", x[i], y[i]);
}

/* Count distinct values of key among the accepted cases (n is small: O(n^2) is fine). */
static size_t distinct(const struct ipcm_results *r,
                       bool (*sel)(const struct ipcm_rr_case *, const void *), const void *arg,
                       unsigned long long (*key)(const struct ipcm_rr_case *))
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        bool seen = false;
        if (c->status != IPCM_RR_OK || !sel(c, arg))
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = r->cases[j].status == IPCM_RR_OK && sel(&r->cases[j], arg) &&
                   key(&r->cases[j]) == key(c);
        n += !seen;
    }
    return n;
}

/*
 * The slice of the sweep to draw: among the groups that the cases form, the one with
 * the most distinct x values; ties go to the smallest P x C, then the smallest size.
 */
static bool pick_group(const struct ipcm_results *r, bool (*is_mode)(const struct ipcm_rr_case *),
                       bool (*sel)(const struct ipcm_rr_case *, const void *),
                       unsigned long long (*xkey)(const struct ipcm_rr_case *), struct group *best)
{
    size_t best_n = 0;
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        if (c->status != IPCM_RR_OK || !is_mode(c))
            continue;
        struct group g = {c->shape, c->placement, c->producers, c->consumers, c->workers, c->size};
        size_t n = distinct(r, sel, &g, xkey);
        if (n > best_n ||
            (n == best_n && (g.producers * g.consumers < best->producers * best->consumers ||
                             g.size < best->size))) {
            best_n = n;
            *best = g;
        }
    }
    return best_n > 0;
}

static bool is_latency(const struct ipcm_rr_case *c)
{
    return strcmp(c->mode, "latency") == 0 && c->latency_ns.present;
}

static bool is_pool(const struct ipcm_rr_case *c)
{
    return strcmp(c->mode, "pool") == 0 && c->tasks_per_s.present;
}

static unsigned long long x_one(const struct ipcm_rr_case *c)
{
    (void)c;
    return 0;
}

/* ----------------------------------------------------------- running gnuplot */

static bool in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];
    if (!path)
        path = "/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", prog);
        if (access(buf, X_OK) == 0)
            return true;
        p += n + (e ? 1 : 0);
    }
    return false;
}

static const char *find_script(char *buf, size_t len)
{
    const char *env = getenv("IPCMARK_PLOT_GP");
    if (env && *env)
        return access(env, R_OK) == 0 ? env : NULL;
    snprintf(buf, len, "%s/plot.gp", IPCM_SCRIPTS_DIR);
    if (access(buf, R_OK) == 0)
        return buf;
    snprintf(buf, len, "%s/plot.gp", IPCM_SHARE_DIR);
    if (access(buf, R_OK) == 0)
        return buf;
    return NULL;
}

/* gnuplot params.gp SCRIPT, run inside dir so the data files are found by name. */
static int run_gnuplot(const char *dir, const char *script)
{
    char abs_script[4096];
    if (!realpath(script, abs_script))
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        if (chdir(dir) < 0)
            _exit(126);
        execlp("gnuplot", "gnuplot", "params.gp", abs_script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0777) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static const char *plots[] = {"tput_size", "latency", "tput_pxc", "pool"};

/* The most files one plot merges; far more than a run and its references need. */
#define PLOT_MAX_FILES 16

/*
 * Load files[0..n) into one result set: the first file's header (host, date) and the
 * cases of all of them. Prints why on failure.
 */
static int load_all(const char *const *files, int n, struct ipcm_results **out)
{
    struct ipcm_results *more = NULL;
    char err[256];
    int e;

    if ((e = ipcm_results_load(files[0], out, err, sizeof(err))) < 0) {
        fprintf(stderr, "ipcmark plot: %s: %s\n", files[0], err);
        return e;
    }
    for (int i = 1; i < n; i++) {
        if ((e = ipcm_results_load(files[i], &more, err, sizeof(err))) < 0) {
            fprintf(stderr, "ipcmark plot: %s: %s\n", files[i], err);
            break;
        }
        if ((e = ipcm_results_merge(*out, more, err, sizeof(err))) < 0) {
            fprintf(stderr, "ipcmark plot: %s: cannot draw it with the files before it: %s\n",
                    files[i], err);
            break;
        }
        ipcm_results_free(more);
        more = NULL;
    }
    ipcm_results_free(more);
    if (e < 0) {
        ipcm_results_free(*out);
        *out = NULL;
    }
    return e;
}

int ipcm_cmd_plot(int argc, char **argv)
{
    const char *files[PLOT_MAX_FILES], *dir = "results/plots", *script;
    struct ipcm_results *r = NULL;
    struct plot_params pp = {0};
    char path[4096], sbuf[4096], file[1024] = "";
    int rc = IPCM_EXIT_USAGE, nplot[4] = {0}, e, nfiles = 0;
    struct group g = {0};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(plot_usage, stdout);
            return IPCM_EXIT_OK;
        } else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc)
                return ipcm_usage_error("plot", "%s: missing DIR", argv[i]);
            dir = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ipcm_usage_error("plot", "unknown option '%s' (try --help)", argv[i]);
        } else if (nfiles == PLOT_MAX_FILES) {
            return ipcm_usage_error("plot", "unexpected argument '%s': at most %d files", argv[i],
                                    PLOT_MAX_FILES);
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!nfiles)
        return ipcm_usage_error("plot", "want RESULTS.json (try --help)");
    if (strlen(dir) > 3000)
        return ipcm_usage_error("plot", "-o: path too long");
    /* The files as one string, for the messages below (and for rerunning the command). */
    for (int i = 0; i < nfiles; i++) {
        size_t l = strlen(file);
        snprintf(file + l, sizeof(file) - l, "%s%s", i ? " " : "", files[i]);
    }
    if (load_all(files, nfiles, &r) < 0)
        return IPCM_EXIT_USAGE;
    if ((e = mkdir_p(dir)) < 0) {
        fprintf(stderr, "ipcmark plot: %s: %s\n", dir, strerror(-e));
        rc = IPCM_EXIT_ENV;
        goto out;
    }
    snprintf(path, sizeof(path), "%s/params.gp", dir);
    pp.dir = dir;
    pp.f = fopen(path, "we");
    if (!pp.f) {
        fprintf(stderr, "ipcmark plot: %s: %s\n", path, strerror(errno));
        rc = IPCM_EXIT_ENV;
        goto out;
    }
    /* Strings from the file are sanitised by the reader: no quotes, no backslashes. */
    /* A newline in a file name would end the comment and run the rest as gnuplot. */
    fprintf(pp.f, "# written by ipcmark plot from ");
    for (const char *c = file; *c; c++)
        fputc((unsigned char)*c < 0x20 ? '_' : *c, pp.f);
    fputc('\n', pp.f);
    /* host.kernel may be a whole uname -a line: keep "Linux <release>" for the title. */
    char kernel[64];
    const char *kv = r->kernel[0] ? r->kernel : "?";
    if (strncmp(kv, "Linux ", 6) == 0)
        kv += 6;
    snprintf(kernel, sizeof(kernel), "%.*s", (int)strcspn(kv, " "), kv);
    fprintf(pp.f, "subtitle = '%s%s%s, %ld CPUs, Linux %s, %s'\n", r->hostname,
            r->hostname[0] ? ": " : "", r->cpu_model[0] ? r->cpu_model : "unknown CPU",
            r->cpus_online, kernel, r->created_utc[0] ? r->created_utc : "date unknown");

    /* Every backend keeps its colour, dash and point type across the four plots. */
    fprintf(pp.f, "backends = '");
    for (size_t i = 0, n = 0; i < r->ncases; i++) {
        bool seen = strcmp(r->cases[i].backend, "python-mp") == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(r->cases[j].backend, r->cases[i].backend) == 0;
        if (!seen && n++ < 64)
            fprintf(pp.f, "%s%s", n > 1 ? " " : "", r->cases[i].backend);
    }
    fprintf(pp.f, "'\n");

    memset(&g, 0, sizeof(g));
    if (pick_group(r, is_tput, sel_tput_size, x_size, &g) &&
        distinct(r, sel_tput_size, &g, x_size) >= 2) {
        nplot[0] =
            write_plot(&pp, "tput_size", r, sel_tput_size, &g, x_size, name_backend, row_tput_size);
        fprintf(pp.f, "tput_size_note = '%s, %u producer%s x %u consumer%s, %s'\n", g.shape,
                g.producers, g.producers == 1 ? "" : "s", g.consumers, g.consumers == 1 ? "" : "s",
                g.placement);
    }
    memset(&g, 0, sizeof(g));
    if (pick_group(r, is_latency, sel_latency, x_one, &g)) {
        /* The smallest message size with latency data: the classic ping-pong. */
        for (size_t i = 0; i < r->ncases; i++)
            if (r->cases[i].status == IPCM_RR_OK && is_latency(&r->cases[i]) &&
                r->cases[i].size < g.size)
                g.size = r->cases[i].size;
        nplot[1] = write_plot(&pp, "latency", r, sel_latency, &g, x_size, name_backend_placement,
                              row_latency);
        fprintf(pp.f, "latency_note = '%llu-byte messages'\n", (unsigned long long)g.size);
    }
    memset(&g, 0, sizeof(g));
    if (pick_group(r, is_tput, sel_tput_pxc, x_pxc, &g) &&
        distinct(r, sel_tput_pxc, &g, x_pxc) >= 2) {
        nplot[2] =
            write_plot(&pp, "tput_pxc", r, sel_tput_pxc, &g, x_pxc, name_backend, row_tput_pxc);
        /* The categories in x order, for the x axis. */
        char labels[2048] = "";
        const struct ipcm_rr_case **v = calloc(r->ncases, sizeof(*v));
        size_t n = 0;
        for (size_t i = 0; v && i < r->ncases; i++)
            if (r->cases[i].status == IPCM_RR_OK && sel_tput_pxc(&r->cases[i], &g))
                v[n++] = &r->cases[i];
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (x_pxc(v[j]) < x_pxc(v[i])) {
                    const struct ipcm_rr_case *t = v[i];
                    v[i] = v[j];
                    v[j] = t;
                }
        for (size_t i = 0; i < n; i++) {
            if (i && x_pxc(v[i]) == x_pxc(v[i - 1]))
                continue;
            size_t l = strlen(labels);
            snprintf(labels + l, sizeof(labels) - l, "%s%ux%u", l ? " " : "", v[i]->producers,
                     v[i]->consumers);
        }
        free(v);
        fprintf(pp.f, "pxc_labels = '%s'\n", labels);
        fprintf(pp.f, "tput_pxc_note = '%s, %llu-byte messages, %s'\n", g.shape,
                (unsigned long long)g.size, g.placement);
    }
    memset(&g, 0, sizeof(g));
    if (pick_group(r, is_pool, sel_pool, x_workers, &g)) {
        nplot[3] = write_plot(&pp, "pool", r, sel_pool, &g, x_workers, name_backend, row_pool);
        fprintf(pp.f, "pool_note = '%llu-byte tasks'\n", (unsigned long long)g.size);
    }
    if (fclose(pp.f) != 0) {
        fprintf(stderr, "ipcmark plot: %s: %s\n", path, strerror(errno));
        pp.f = NULL;
        rc = IPCM_EXIT_ENV;
        goto out;
    }
    pp.f = NULL;
    for (int i = 0; i < 4; i++)
        if (nplot[i] < 0) {
            fprintf(stderr, "ipcmark plot: writing %s data: %s\n", plots[i], strerror(-nplot[i]));
            rc = IPCM_EXIT_ENV;
            goto out;
        }
    if (!nplot[0] && !nplot[1] && !nplot[2] && !nplot[3]) {
        printf("ipcmark plot: %s has no case with data to plot; nothing drawn\n", file);
        rc = IPCM_EXIT_OK;
        goto out;
    }
    if (!in_path("gnuplot")) {
        printf("ipcmark plot: gnuplot is not installed, so no plots were drawn. Install it\n"
               "(Debian/Ubuntu: apt-get install gnuplot-nox; Fedora: dnf install gnuplot)\n"
               "and run: ipcmark plot %s -o %s\n"
               "The data files are already in %s/ (*.dat) for any other plotting tool.\n",
               file, dir, dir);
        rc = IPCM_EXIT_OK;
        goto out;
    }
    script = find_script(sbuf, sizeof(sbuf));
    if (!script) {
        fprintf(stderr, "ipcmark plot: plot.gp not found (looked in $IPCMARK_PLOT_GP, %s, %s)\n",
                IPCM_SCRIPTS_DIR, IPCM_SHARE_DIR);
        rc = IPCM_EXIT_ENV;
        goto out;
    }
    e = run_gnuplot(dir, script);
    if (e != 0) {
        fprintf(stderr, "ipcmark plot: gnuplot %s failed (%s %d)\n", script,
                e < 0 ? strerror(-e) : "exit status", e);
        rc = IPCM_EXIT_ENV;
        goto out;
    }
    for (int i = 0; i < 4; i++) {
        /* An image left from an earlier file would pass for this file's plot. */
        if (nplot[i] == 0)
            for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof(path), "%s/%s.%s", dir, plots[i], k ? "svg" : "png");
                unlink(path);
            }
        if (nplot[i] > 0)
            printf("%s/%s.png  %s/%s.svg  (%d series)\n", dir, plots[i], dir, plots[i], nplot[i]);
        else
            printf("%s: skipped, no data in %s\n", plots[i], file);
    }
    rc = IPCM_EXIT_OK;
out:
    if (pp.f)
        fclose(pp.f);
    ipcm_results_free(r);
    return rc;
}
