/* SPDX-License-Identifier: MIT */
/*
 * plot_data.c - the gnuplot data of `ipcmark plot`: for each plot, the slice of the
 * sweep it draws, one .dat file per series, and the word lists of params.gp.
 */
#include "plot_data.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results_read.h"

/* The word lists and notes handed to plot.gp through params.gp. */
struct plot_params {
    FILE *f;
    const char *dir;
    int nfiles;
    const char *ref_date; /* created_utc of the file the python-mp cases came from, or NULL */
};

/* Lowest and highest of n per-repetition values; both y when there are none. */
static void sample_range(const double *v, size_t n, double y, double *lo, double *hi)
{
    *lo = *hi = y;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || v[i] < *lo)
            *lo = v[i];
        if (i == 0 || v[i] > *hi)
            *hi = v[i];
    }
}

/* A size as a person writes it: 64 B, 4 KiB, 1 MiB (exact powers of 1024 only). */
static const char *size_text(unsigned long long b, char *buf, size_t len)
{
    if (b >= 1048576 && b % 1048576 == 0)
        snprintf(buf, len, "%llu MiB", b / 1048576);
    else if (b >= 1024 && b % 1024 == 0)
        snprintf(buf, len, "%llu KiB", b / 1024);
    else
        snprintf(buf, len, "%llu B", b);
    return buf;
}

static int cmp_ptr(const void *a, const void *b,
                   int (*less)(const struct ipcm_rr_case *, const struct ipcm_rr_case *))
{
    const struct ipcm_rr_case *const *x = a, *const *y = b;
    return less(*x, *y);
}

/*
 * Series order: by series name (backend, then placement, or what series_name gives),
 * then the x value set by the caller. The python-mp reference comes last, so the key
 * lists the backends under test together. A series' cases must be adjacent: its file is
 * opened once.
 */
static unsigned long long (*g_xkey)(const struct ipcm_rr_case *);
static void (*g_series)(const struct ipcm_rr_case *, char *, size_t);

static int by_series_then_x(const struct ipcm_rr_case *a, const struct ipcm_rr_case *b)
{
    int ra = strcmp(a->backend, "python-mp") == 0, rb = strcmp(b->backend, "python-mp") == 0;
    if (ra != rb)
        return ra - rb;
    char na[128], nb[128];
    g_series(a, na, sizeof(na));
    g_series(b, nb, sizeof(nb));
    int r = strcmp(na, nb);
    if (r)
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
    g_series = series_name;
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

/* The percentiles drawn, as x = 1 / (1 - p): 2 for p50, 10 for p90, 100 for p99, 1000 for
 * p99.9. */
static const double lat_x[4] = {2, 10, 100, 1000};

static void latency_points(const struct ipcm_rr_latency *l, double y[4])
{
    y[0] = l->p50;
    y[1] = l->p90;
    y[2] = l->p99;
    y[3] = l->p999;
}

static void row_latency(FILE *f, const struct ipcm_rr_case *c)
{
    /* Bars: the lowest and highest repetition where the file has per-repetition values
     * (p50, p99); the other percentiles come from the merged histogram alone. */
    const struct ipcm_rr_latency *l = &c->latency_ns;
    const double *s[4] = {l->p50_samples, NULL, l->p99_samples, NULL};
    const size_t ns[4] = {l->np50, 0, l->np99, 0};
    double y[4], lo, hi;
    latency_points(l, y);
    for (int i = 0; i < 4; i++) {
        if (y[i] <= 0)
            continue;
        sample_range(s[i], ns[i], y[i], &lo, &hi);
        fprintf(f, "%g %.6g %.6g %.6g\n", lat_x[i], y[i], lo, hi);
    }
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

/* ------------------------------------------------------------- the four plots */

/* The first lines of params.gp: provenance, the subtitle, the backends' order. */
static void write_header(FILE *f, const struct ipcm_results *r, const char *sources)
{
    /* Strings from the file are sanitised by the reader: no quotes, no backslashes. */
    /* A newline in a file name would end the comment and run the rest as gnuplot. */
    fprintf(f, "# written by ipcmark plot from ");
    for (const char *c = sources; *c; c++)
        fputc((unsigned char)*c < 0x20 ? '_' : *c, f);
    fputc('\n', f);
    /* host.kernel may be a whole uname -a line: keep "Linux <release>" for the title. */
    char kernel[64];
    const char *kv = r->kernel[0] ? r->kernel : "?";
    if (strncmp(kv, "Linux ", 6) == 0)
        kv += 6;
    snprintf(kernel, sizeof(kernel), "%.*s", (int)strcspn(kv, " "), kv);
    fprintf(f, "subtitle = '%s%s%s, %ld CPUs, Linux %s, %s'\n", r->hostname,
            r->hostname[0] ? ": " : "", r->cpu_model[0] ? r->cpu_model : "unknown CPU",
            r->cpus_online, kernel, r->created_utc[0] ? r->created_utc : "date unknown");

    /* Every backend keeps its colour, dash and point type across the four plots. */
    fprintf(f, "backends = '");
    for (size_t i = 0, n = 0; i < r->ncases; i++) {
        bool seen = strcmp(r->cases[i].backend, "python-mp") == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(r->cases[j].backend, r->cases[i].backend) == 0;
        if (!seen && n++ < 64)
            fprintf(f, "%s%s", n > 1 ? " " : "", r->cases[i].backend);
    }
    fprintf(f, "'\n");
}

/* A throughput case of group g's slice that did not run (skipped or failed). */
static bool sel_tput_not_run(const struct ipcm_rr_case *c, const struct group *g)
{
    return c->status != IPCM_RR_OK && strcmp(c->mode, "throughput") == 0 &&
           strcmp(c->shape, g->shape) == 0 && strcmp(c->placement, g->placement) == 0 &&
           c->producers == g->producers && c->consumers == g->consumers;
}

/* The most not-run points one plot explains; the rest are counted. */
#define PLOT_MAX_NOTES 6

/*
 * P_skip_n, and for k = 1..n P_skip_xk (the message size) and P_skip_tk ("mqueue, 64 KiB:
 * skipped: <the reason in the results file>"), so the plot says why a point is missing.
 */
static void write_not_run(struct plot_params *pp, const char *plot, const struct ipcm_results *r,
                          const struct group *g)
{
    int k = 0, more = 0;
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        char sz[32];
        if (!sel_tput_not_run(c, g))
            continue;
        if (k == PLOT_MAX_NOTES) {
            more++;
            continue;
        }
        k++;
        /* The reader sanitised backend and reason: no quotes, no backslashes. */
        fprintf(pp->f, "%s_skip_x%d = %llu\n%s_skip_t%d = '%s, %s: %s: %.110s'\n", plot, k,
                (unsigned long long)c->size, plot, k, c->backend,
                size_text(c->size, sz, sizeof(sz)), ipcm_rr_status_name(c->status),
                c->reason[0] ? c->reason : "no reason recorded");
    }
    fprintf(pp->f, "%s_skip_n = %d\n%s_skip_more = %d\n", plot, k, plot, more);
}

static void write_group_note(struct plot_params *pp, const char *plot, const struct group *g)
{
    fprintf(pp->f, "%s_note = '%s, %u producer%s x %u consumer%s, %s'\n", plot, g->shape,
            g->producers, g->producers == 1 ? "" : "s", g->consumers,
            g->consumers == 1 ? "" : "s", g->placement);
}

static int plot_tput_size(struct plot_params *pp, const struct ipcm_results *r)
{
    struct group g = {0};
    int n;
    if (!pick_group(r, is_tput, sel_tput_size, x_size, &g) ||
        distinct(r, sel_tput_size, &g, x_size) < 2)
        return 0;
    n = write_plot(pp, "tput_size", r, sel_tput_size, &g, x_size, name_backend, row_tput_size);
    write_group_note(pp, "tput_size", &g);
    write_not_run(pp, "tput_size", r, &g);
    return n;
}

/* Bytes per second: the file's bytes_per_s, else msgs/s x size (the same figure). */
static void row_tput_bytes(FILE *f, const struct ipcm_rr_case *c)
{
    const struct ipcm_rr_stat *m = &c->msgs_per_s;
    double k = (double)c->size;
    if (c->bytes_per_s.present)
        row_rate(f, c->size, &c->bytes_per_s);
    else
        fprintf(f, "%llu %.6g %.6g %.6g\n", (unsigned long long)c->size, m->median * k,
                m->min * k, m->max * k);
}

/* The same slice as tput_size, in GB/s: where the bytes, not the messages, saturate. */
static int plot_tput_gbs(struct plot_params *pp, const struct ipcm_results *r)
{
    struct group g = {0};
    int n;
    if (!pick_group(r, is_tput, sel_tput_size, x_size, &g) ||
        distinct(r, sel_tput_size, &g, x_size) < 2)
        return 0;
    n = write_plot(pp, "tput_gbs", r, sel_tput_size, &g, x_size, name_backend, row_tput_bytes);
    write_group_note(pp, "tput_gbs", &g);
    write_not_run(pp, "tput_gbs", r, &g);
    return n;
}

static int plot_latency(struct plot_params *pp, const struct ipcm_results *r)
{
    struct group g = {0};
    double xmax = 0;
    int n;
    if (!pick_group(r, is_latency, sel_latency, x_one, &g))
        return 0;
    /* The smallest message size with latency data: the classic ping-pong. */
    for (size_t i = 0; i < r->ncases; i++)
        if (r->cases[i].status == IPCM_RR_OK && is_latency(&r->cases[i]) &&
            r->cases[i].size < g.size)
            g.size = r->cases[i].size;
    n = write_plot(pp, "latency", r, sel_latency, &g, x_size, name_backend_placement, row_latency);
    /* The highest percentile any series has: the x axis ends there (no empty column). */
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        double y[4];
        if (c->status != IPCM_RR_OK || !sel_latency(c, &g))
            continue;
        latency_points(&c->latency_ns, y);
        for (int k = 0; k < 4; k++)
            if (y[k] > 0 && lat_x[k] > xmax)
                xmax = lat_x[k];
    }
    fprintf(pp->f, "latency_note = '%llu-byte messages'\nlatency_xmax = %g\n",
            (unsigned long long)g.size, xmax);
    return n;
}

/* The P x C categories of group g in x order, for the x axis of tput_pxc. */
static void pxc_labels(const struct ipcm_results *r, const struct group *g, char *labels,
                       size_t len)
{
    const struct ipcm_rr_case **v = calloc(r->ncases, sizeof(*v));
    size_t n = 0;
    labels[0] = '\0';
    for (size_t i = 0; v && i < r->ncases; i++)
        if (r->cases[i].status == IPCM_RR_OK && sel_tput_pxc(&r->cases[i], g))
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
        snprintf(labels + l, len - l, "%s%ux%u", l ? " " : "", v[i]->producers, v[i]->consumers);
    }
    free(v);
}

static int plot_tput_pxc(struct plot_params *pp, const struct ipcm_results *r)
{
    struct group g = {0};
    char labels[2048];
    int n;
    if (!pick_group(r, is_tput, sel_tput_pxc, x_pxc, &g) ||
        distinct(r, sel_tput_pxc, &g, x_pxc) < 2)
        return 0;
    n = write_plot(pp, "tput_pxc", r, sel_tput_pxc, &g, x_pxc, name_backend, row_tput_pxc);
    pxc_labels(r, &g, labels, sizeof(labels));
    fprintf(pp->f, "pxc_labels = '%s'\n", labels);
    fprintf(pp->f, "tput_pxc_note = '%s, %llu-byte messages, %s'\n", g.shape,
            (unsigned long long)g.size, g.placement);
    return n;
}

/* The chunk sizes of the pool cases drawn (python-mp's own are not recorded). */
static void pool_chunks(const struct ipcm_results *r, const struct group *g, char *buf, size_t len)
{
    unsigned seen[8];
    size_t n = 0, l;
    bool unknown = false;
    buf[0] = '\0';
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        bool dup = false;
        if (c->status != IPCM_RR_OK || !sel_pool(c, g) || strcmp(c->backend, "python-mp") == 0)
            continue;
        if (!c->has_chunk) {
            unknown = true;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            dup = dup || seen[k] == c->chunk;
        if (dup || n == 8)
            continue;
        seen[n++] = c->chunk;
        l = strlen(buf);
        if (c->chunk)
            snprintf(buf + l, len - l, "%s%u", n > 1 ? ", " : "chunk ", c->chunk);
        else
            snprintf(buf + l, len - l, "%schunk as CPython: ceil(tasks / (4 x workers))",
                     n > 1 ? ", " : "");
    }
    if (unknown) {
        l = strlen(buf);
        snprintf(buf + l, len - l, "%schunk size not recorded", n ? ", " : "");
    }
}

static int plot_pool(struct plot_params *pp, const struct ipcm_results *r)
{
    struct group g = {0};
    char chunks[256];
    bool ref = false;
    int n;
    if (!pick_group(r, is_pool, sel_pool, x_workers, &g))
        return 0;
    n = write_plot(pp, "pool", r, sel_pool, &g, x_workers, name_backend, row_pool);
    pool_chunks(r, &g, chunks, sizeof(chunks));
    for (size_t i = 0; i < r->ncases; i++)
        ref = ref || (r->cases[i].status == IPCM_RR_OK && sel_pool(&r->cases[i], &g) &&
                      strcmp(r->cases[i].backend, "python-mp") == 0);
    fprintf(pp->f, "pool_note = '%llu-byte tasks%s%s", (unsigned long long)g.size,
            chunks[0] ? ", " : "", chunks);
    if (ref)
        fprintf(pp->f, "; python-mp reference measured %s",
                pp->ref_date && pp->ref_date[0] ? pp->ref_date : "(date unknown)");
    fprintf(pp->f, "'\n");
    return n;
}

/* Every throughput or pool case with a CPU cost: where it sits against the frontier. */
static bool sel_tput_cpu(const struct ipcm_rr_case *c, const void *arg)
{
    (void)arg;
    return c->cpu_ns_per_msg.present && (c->msgs_per_s.present || c->tasks_per_s.present) &&
           (strcmp(c->mode, "throughput") == 0 || strcmp(c->mode, "pool") == 0);
}

static unsigned long long x_cpu(const struct ipcm_rr_case *c)
{
    return (unsigned long long)c->cpu_ns_per_msg.median;
}

/* x: CPU ns per message (min, max of repetitions), y: rate; the case named by the label. */
static void row_tput_cpu(FILE *f, const struct ipcm_rr_case *c)
{
    const struct ipcm_rr_stat *y = c->msgs_per_s.present ? &c->msgs_per_s : &c->tasks_per_s;
    const struct ipcm_rr_stat *x = &c->cpu_ns_per_msg;
    fprintf(f, "%.6g %.6g %.6g %.6g %.6g %.6g ", x->median, y->median, x->min, x->max, y->min,
            y->max);
    if (c->workers)
        fprintf(f, "%s/%llu/w%u\n", c->mode, (unsigned long long)c->size, c->workers);
    else
        fprintf(f, "%llu/%ux%u\n", (unsigned long long)c->size, c->producers, c->consumers);
}

static int plot_tput_cpu(struct plot_params *pp, const struct ipcm_results *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases; i++)
        n += r->cases[i].status == IPCM_RR_OK && sel_tput_cpu(&r->cases[i], NULL);
    if (!n)
        return 0;
    return write_plot(pp, "tput_cpu", r, sel_tput_cpu, NULL, x_cpu, name_backend, row_tput_cpu);
}

/* ------------------------------------------------------------- synchronization */

static bool is_sync_handoff(const struct ipcm_rr_case *c)
{
    return strcmp(c->mode, "sync") == 0 && c->latency_ns.present;
}

static bool sel_sync_handoff(const struct ipcm_rr_case *c, const void *arg)
{
    (void)arg;
    return is_sync_handoff(c);
}

/* The implementations (a sync case's "backend") in the order of the file: categories. */
static char g_impls[2048];

static unsigned long long x_impl(const struct ipcm_rr_case *c)
{
    /* The implementation's rank in g_impls (names are single words). */
    unsigned long long k = 0;
    size_t n = strlen(c->backend);
    for (const char *p = g_impls; *p; k++) {
        size_t w = strcspn(p, " ");
        if (w == n && strncmp(p, c->backend, n) == 0)
            return k;
        p += w + (p[w] == ' ');
    }
    return k;
}

static void name_placement(const struct ipcm_rr_case *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", c->placement[0] ? c->placement : "unpinned");
}

/* x: the implementation (a category), y: p50 round trip, bars: min-max of the
 * per-repetition p50. */
static void row_sync_handoff(FILE *f, const struct ipcm_rr_case *c)
{
    const struct ipcm_rr_latency *l = &c->latency_ns;
    double lo, hi;
    sample_range(l->p50_samples, l->np50, l->p50, &lo, &hi);
    fprintf(f, "%s %.6g %.6g %.6g\n", c->backend, l->p50, lo, hi);
}

static int plot_sync_handoff(struct plot_params *pp, const struct ipcm_results *r)
{
    size_t n = 0;
    g_impls[0] = '\0';
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_rr_case *c = &r->cases[i];
        if (c->status != IPCM_RR_OK || !is_sync_handoff(c))
            continue;
        n++;
        /* A new name only: " name " within " list ". */
        char probe[IPCM_RR_NAME_LEN + 2], list[sizeof(g_impls) + 2];
        snprintf(probe, sizeof(probe), " %s ", c->backend);
        snprintf(list, sizeof(list), " %s ", g_impls);
        if (strstr(list, probe))
            continue;
        size_t l = strlen(g_impls);
        snprintf(g_impls + l, sizeof(g_impls) - l, "%s%s", l ? " " : "", c->backend);
    }
    if (!n)
        return 0;
    int ns = write_plot(pp, "sync_handoff", r, sel_sync_handoff, NULL, x_impl, name_placement,
                        row_sync_handoff);
    fprintf(pp->f, "sync_impls = '%s'\n", g_impls);
    return ns;
}

static bool sel_sync_contended(const struct ipcm_rr_case *c, const void *arg)
{
    (void)arg;
    return strcmp(c->mode, "sync-contended") == 0 && c->tasks_per_s.present;
}

static int plot_sync_contended(struct plot_params *pp, const struct ipcm_results *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases; i++)
        n += r->cases[i].status == IPCM_RR_OK && sel_sync_contended(&r->cases[i], NULL);
    if (!n)
        return 0;
    return write_plot(pp, "sync_contended", r, sel_sync_contended, NULL, x_workers, name_backend,
                      row_pool);
}

static bool sel_sync_barrier(const struct ipcm_rr_case *c, const void *arg)
{
    (void)arg;
    return strcmp(c->mode, "sync-barrier") == 0 && c->latency_ns.present;
}

/* x: parties, y: p50 round time, bars: min-max of the per-repetition p50. */
static void row_sync_barrier(FILE *f, const struct ipcm_rr_case *c)
{
    const struct ipcm_rr_latency *l = &c->latency_ns;
    double lo, hi;
    sample_range(l->p50_samples, l->np50, l->p50, &lo, &hi);
    fprintf(f, "%u %.6g %.6g %.6g\n", c->workers, l->p50, lo, hi);
}

static int plot_sync_barrier(struct plot_params *pp, const struct ipcm_results *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases; i++)
        n += r->cases[i].status == IPCM_RR_OK && sel_sync_barrier(&r->cases[i], NULL);
    if (!n)
        return 0;
    return write_plot(pp, "sync_barrier", r, sel_sync_barrier, NULL, x_workers, name_backend,
                      row_sync_barrier);
}

static const struct {
    const char *name;
    int (*write)(struct plot_params *pp, const struct ipcm_results *r);
} plots[IPCM_PLOT_COUNT] = {
    {"tput_size", plot_tput_size},       {"latency", plot_latency},
    {"tput_pxc", plot_tput_pxc},         {"pool", plot_pool},
    {"tput_cpu", plot_tput_cpu},         {"tput_gbs", plot_tput_gbs},
    {"sync_handoff", plot_sync_handoff}, {"sync_contended", plot_sync_contended},
    {"sync_barrier", plot_sync_barrier},
};

const char *ipcm_plot_name(int i)
{
    return plots[i].name;
}

int ipcm_plot_data_write(const struct ipcm_results *r, const char *dir, const char *sources,
                         const char *ref_date, int nseries[IPCM_PLOT_COUNT])
{
    struct plot_params pp = {.dir = dir, .ref_date = ref_date};
    char path[4096];

    snprintf(path, sizeof(path), "%s/params.gp", dir);
    pp.f = fopen(path, "we");
    if (!pp.f)
        return -errno;
    write_header(pp.f, r, sources);
    for (int i = 0; i < IPCM_PLOT_COUNT; i++)
        nseries[i] = plots[i].write(&pp, r);
    return fclose(pp.f) == 0 ? 0 : -errno;
}
