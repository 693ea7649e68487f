/* SPDX-License-Identifier: MIT */
/*
 * cmd_plot.c - `ipcmark plot RESULTS.json [-o DIR]`: load the results files, have
 * harness/report/plot_data.c write the gnuplot data, then run scripts/plot.gp for PNG
 * and SVG.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot_data.h"
#include "results_read.h"

static const char plot_usage[] =
    "usage: ipcmark plot RESULTS.json [MORE.json ...] [-o DIR]\n"
    "\n"
    "Draw the comparison plots of a results file with gnuplot, as PNG and SVG in DIR\n"
    "(default results/plots): throughput vs message size (messages/s: tput_size, GB/s:\n"
    "tput_gbs; a case that did not run is marked with its reason), latency percentile\n"
    "spectrum with the spread of the repetitions, throughput vs producers x consumers\n"
    "(categories), pool tasks/s vs workers (chunk size and the python-mp reference's\n"
    "date in the title), throughput vs CPU per message, and the synchronization modes:\n"
    "lock hand-off round trip per implementation (sync_handoff), increments/s against\n"
    "processes (sync_contended), barrier round time against parties (sync_barrier).\n"
    "Each axis says whether higher or lower is better. A plot without data in the file\n"
    "is skipped. The data files (*.dat) stay beside the images.\n"
    "Several files are drawn as one: their cases are merged (no key may repeat) and the\n"
    "title's host and date are the first file's, e.g. a pool run with the python-mp\n"
    "reference of scripts/pool_python.py: ipcmark plot pool.json python.json\n"
    "The script is plot.gp, found beside the binary: ../share/ipcmark/ when installed,\n"
    "the source tree's scripts/ from a build tree ($IPCMARK_PLOT_GP overrides both).\n";

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

/* The most files one plot merges; far more than a run and its references need. */
#define PLOT_MAX_FILES 16

/* One invocation, as the command line gave it. */
struct plot_args {
    const char *files[PLOT_MAX_FILES];
    int nfiles;
    const char *dir;
    char sources[1024]; /* the files as one string, for messages (and to rerun the command) */
    char ref_date[64];  /* created_utc of the first file with python-mp cases ("" if none) */
};

/* Note when r was made if it holds the python-mp reference (and no earlier file did). */
static void note_reference(struct plot_args *a, const struct ipcm_results *r)
{
    if (a->ref_date[0])
        return;
    for (size_t i = 0; i < r->ncases; i++)
        if (strcmp(r->cases[i].backend, "python-mp") == 0) {
            snprintf(a->ref_date, sizeof(a->ref_date), "%s",
                     r->created_utc[0] ? r->created_utc : "(date unknown)");
            return;
        }
}

/*
 * Load files[0..n) into one result set: the first file's header (host, date) and the
 * cases of all of them. Prints why on failure.
 */
static int load_all(struct plot_args *a, struct ipcm_results **out)
{
    const char *const *files = a->files;
    int n = a->nfiles;
    struct ipcm_results *more = NULL;
    char err[256];
    int e;

    if ((e = ipcm_results_load(files[0], out, err, sizeof(err))) < 0) {
        fprintf(stderr, "ipcmark plot: %s: %s\n", files[0], err);
        return e;
    }
    note_reference(a, *out);
    for (int i = 1; i < n; i++) {
        if ((e = ipcm_results_load(files[i], &more, err, sizeof(err))) < 0) {
            fprintf(stderr, "ipcmark plot: %s: %s\n", files[i], err);
            break;
        }
        note_reference(a, more);
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

/* Returns 0 to plot, -1 after --help, or an exit code (a usage error, printed). */
static int parse_args(int argc, char **argv, struct plot_args *a)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    char buf[8];
    int c;

    ipcm_getopt_begin();
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(plot_usage, stdout);
            return -1;
        }
        if (c == ':')
            return ipcm_usage_error("plot", "%s: missing DIR",
                                    ipcm_optname(argc, argv, buf, sizeof(buf)));
        if (c != 'o')
            return ipcm_option_error("plot", c, argc, argv);
        a->dir = optarg;
    }
    if (argc - optind > PLOT_MAX_FILES)
        return ipcm_usage_error("plot", "unexpected argument '%s': at most %d files",
                                argv[optind + PLOT_MAX_FILES], PLOT_MAX_FILES);
    if (optind == argc)
        return ipcm_usage_error("plot", "want RESULTS.json (try --help)");
    if (strlen(a->dir) > 3000)
        return ipcm_usage_error("plot", "-o: path too long");
    for (a->nfiles = 0; optind < argc; a->nfiles++, optind++) {
        size_t l = strlen(a->sources);
        a->files[a->nfiles] = argv[optind];
        snprintf(a->sources + l, sizeof(a->sources) - l, "%s%s", a->nfiles ? " " : "",
                 argv[optind]);
    }
    return 0;
}

/* The directory, params.gp and the data files. Returns 0 or an exit code (printed). */
static int write_data(const struct plot_args *a, const struct ipcm_results *r,
                      int nplot[IPCM_PLOT_COUNT])
{
    int e;
    if ((e = mkdir_p(a->dir)) < 0) {
        fprintf(stderr, "ipcmark plot: %s: %s\n", a->dir, strerror(-e));
        return IPCM_EXIT_ENV;
    }
    if ((e = ipcm_plot_data_write(r, a->dir, a->sources, a->ref_date, nplot)) < 0) {
        fprintf(stderr, "ipcmark plot: %s/params.gp: %s\n", a->dir, strerror(-e));
        return IPCM_EXIT_ENV;
    }
    for (int i = 0; i < IPCM_PLOT_COUNT; i++)
        if (nplot[i] < 0) {
            fprintf(stderr, "ipcmark plot: writing %s data: %s\n", ipcm_plot_name(i),
                    strerror(-nplot[i]));
            return IPCM_EXIT_ENV;
        }
    return 0;
}

/* Run gnuplot on the data (when it is there) and say what was drawn. Returns the exit code. */
static int draw(const struct plot_args *a, const int nplot[IPCM_PLOT_COUNT])
{
    char path[4096], sbuf[4096], looked[8192];
    const char *script;
    int e, rc = IPCM_EXIT_OK;

    if (!in_path("gnuplot")) {
        printf("ipcmark plot: gnuplot is not installed, so no plots were drawn. Install it\n"
               "(Debian/Ubuntu: apt-get install gnuplot-nox; Fedora: dnf install gnuplot)\n"
               "and run: ipcmark plot %s -o %s\n"
               "The data files are already in %s/ (*.dat) for any other plotting tool.\n",
               a->sources, a->dir, a->dir);
        return IPCM_EXIT_OK;
    }
    script =
        ipcm_find_script("plot.gp", "IPCMARK_PLOT_GP", sbuf, sizeof(sbuf), looked, sizeof(looked));
    if (!script) {
        fprintf(stderr, "ipcmark plot: plot.gp not found (looked at %s)\n", looked);
        return IPCM_EXIT_ENV;
    }
    if ((e = run_gnuplot(a->dir, script)) != 0) {
        fprintf(stderr, "ipcmark plot: gnuplot %s failed (%s %d)\n", script,
                e < 0 ? strerror(-e) : "exit status", e);
        return IPCM_EXIT_ENV;
    }
    for (int i = 0; i < IPCM_PLOT_COUNT; i++) {
        const char *name = ipcm_plot_name(i);
        /* An image left from an earlier file would pass for this file's plot. */
        if (nplot[i] == 0)
            for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof(path), "%s/%s.%s", a->dir, name, k ? "svg" : "png");
                unlink(path);
            }
        snprintf(path, sizeof(path), "%s/%s.png", a->dir, name);
        if (nplot[i] > 0 && access(path, F_OK) != 0) {
            /* A plot.gp older than this binary draws fewer plots than it has data for. */
            fprintf(stderr, "ipcmark plot: %s drew no %s.png (is it older than ipcmark?)\n",
                    script, name);
            rc = IPCM_EXIT_ENV;
        } else if (nplot[i] > 0)
            printf("%s/%s.png  %s/%s.svg  (%d series)\n", a->dir, name, a->dir, name, nplot[i]);
        else
            printf("%s: skipped, no data in %s\n", name, a->sources);
    }
    return rc;
}

int ipcm_cmd_plot(int argc, char **argv)
{
    struct plot_args a = {.dir = "results/plots"};
    struct ipcm_results *r = NULL;
    int nplot[IPCM_PLOT_COUNT] = {0};
    int rc = parse_args(argc, argv, &a);

    if (rc < 0)
        return IPCM_EXIT_OK; /* --help */
    if (rc > 0)
        return rc;
    if (load_all(&a, &r) < 0)
        return IPCM_EXIT_USAGE;
    rc = write_data(&a, r, nplot);
    ipcm_results_free(r);
    if (rc != 0)
        return rc;
    bool any = false;
    for (int i = 0; i < IPCM_PLOT_COUNT; i++)
        any = any || nplot[i] > 0;
    if (!any) {
        printf("ipcmark plot: %s has no case with data to plot; nothing drawn\n", a.sources);
        return IPCM_EXIT_OK;
    }
    return draw(&a, nplot);
}
