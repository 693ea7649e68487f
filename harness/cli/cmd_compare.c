/* SPDX-License-Identifier: MIT */
/*
 * cmd_compare.c - `ipcmark compare BASELINE.json CURRENT.json`: the CI regression gate.
 * Exit 0 no regression, 1 regression (or a newly failed case, or insufficient data), 2
 * usage or input error.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "outfile.h"

static const char compare_usage[] =
    "usage: ipcmark compare BASELINE.json CURRENT.json [--threshold PCT] [--alpha P]\n"
    "                       [--format table|markdown|json] [--export gbench|bencher FILE]\n"
    "                       [--trust-machine] [--fail-on-missing] [--allow-path-change]\n"
    "\n"
    "Match the cases of two results files by key and judge each metric (throughput,\n"
    "pool tasks/s, latency p50 and p99). A change is a regression only when it is worse\n"
    "than the threshold AND significant over the repetitions (two-sided Mann-Whitney U,\n"
    "exact for small samples). Cases whose own spread exceeds the threshold are reported\n"
    "as too noisy; too few repetitions (fewer than 4 each at alpha 0.05) as insufficient.\n"
    "\n"
    "  --threshold PCT  smallest change that counts, in percent (default 10)\n"
    "  --alpha P        significance level (default 0.05)\n"
    "  --format F       table (default), markdown (for a CI summary) or json\n"
    "  --trust-machine  give plain verdicts even when the two runs' calibrations differ\n"
    "                   beyond the threshold (otherwise such regressions read 'machine\n"
    "                   changed', counted like too noisy: use `ipcmark ab` to decide them)\n"
    "  --export K FILE  also write CURRENT as Google Benchmark JSON (gbench) or Bencher\n"
    "                   Metric Format (bencher) to FILE; '-': the export alone on stdout\n"
    "                   (the report then goes to stderr), e.g. for `bencher run`\n"
    "  --fail-on-missing\n"
    "                   a case of BASELINE absent from CURRENT fails the gate (by\n"
    "                   default it is listed as missing and the gate passes)\n"
    "  --allow-path-change\n"
    "                   compare a remote run (`bench --remote`) with a local one, or a\n"
    "                   forward remote run with a --reverse one; refused otherwise\n"
    "\n"
    "Exit status: 0 no regression; 1 regression, a case that now fails, a missing case\n"
    "with --fail-on-missing, or insufficient data (no case in both files, only skipped\n"
    "cases, or too few repetitions anywhere for the U test: a gate that judged nothing\n"
    "does not pass, or a remote run against a local one without --allow-path-change:\n"
    "one line says both paths); 2 usage or input error (unreadable, corrupt, incompatible or not "
    "a\n"
    "regular file, an --export FILE that cannot be written).\n";

enum {
    OPT_THRESHOLD = 256,
    OPT_ALPHA,
    OPT_FORMAT,
    OPT_EXPORT,
    OPT_TRUST_MACHINE,
    OPT_FAIL_ON_MISSING,
    OPT_ALLOW_PATH_CHANGE
};

/* One invocation, as the command line gave it. */
struct compare_args {
    struct ipcm_cmp_opts o;
    const char *files[2];
    enum ipcm_format fmt;
    const char *export_kind, *export_path;
};

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end || !isfinite(d) || d <= lo || d > hi)
        return -EINVAL;
    *out = d;
    return 0;
}

/*
 * One option and its value v ("" when the command line ends before it). --export takes
 * a second word, FILE, which getopt_long leaves at argv[optind]. Returns 0 or an exit code.
 */
static int compare_option(int c, const char *v, int argc, char **argv, struct compare_args *a)
{
    double d;
    switch (c) {
    case OPT_THRESHOLD:
        if (parse_double(v, 0, 1000, &d) < 0)
            return ipcm_usage_error("compare", "--threshold '%s': want a percentage in (0, 1000]",
                                    v);
        a->o.threshold = d / 100.0;
        break;
    case OPT_ALPHA:
        if (parse_double(v, 0, 0.999999, &d) < 0)
            return ipcm_usage_error("compare", "--alpha '%s': want a probability in (0, 1)", v);
        a->o.alpha = d;
        break;
    case OPT_FORMAT:
        if (ipcm_format_arg(v, &a->fmt) < 0)
            return ipcm_usage_error("compare", "--format '%s': want table, markdown or json", v);
        break;
    case OPT_EXPORT:
        if (strcmp(v, "gbench") != 0 && strcmp(v, "bencher") != 0)
            return ipcm_usage_error("compare", "--export '%s': want gbench or bencher", v);
        if (optind >= argc)
            return ipcm_usage_error("compare", "--export %s: missing FILE", v);
        a->export_kind = v;
        a->export_path = argv[optind++];
        break;
    case OPT_FAIL_ON_MISSING: a->o.fail_on_missing = true; break;
    case OPT_ALLOW_PATH_CHANGE: a->o.allow_path_change = true; break;
    }
    return 0;
}

/* Returns 0 to compare, -1 after --help, or an exit code (a usage error, printed). */
static int parse_args(int argc, char **argv, struct compare_args *a)
{
    static const struct option opts[] = {
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"export", required_argument, NULL, OPT_EXPORT},
        {"trust-machine", no_argument, NULL, OPT_TRUST_MACHINE},
        {"fail-on-missing", no_argument, NULL, OPT_FAIL_ON_MISSING},
        {"allow-path-change", no_argument, NULL, OPT_ALLOW_PATH_CHANGE},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c, r;

    ipcm_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(compare_usage, stdout);
            return -1;
        }
        if (c == OPT_TRUST_MACHINE) {
            a->o.trust_machine = true;
            continue;
        }
        /* A value missing at the end reads as an empty one: "--alpha '': want ...". */
        if (c == ':' && optopt >= OPT_THRESHOLD)
            r = compare_option(optopt, "", argc, argv, a);
        else if (c == ':' || c == '?')
            r = ipcm_option_error("compare", '?', argc, argv);
        else
            r = compare_option(c, optarg, argc, argv, a);
        if (r)
            return r;
    }
    if (argc - optind > 2)
        return ipcm_usage_error("compare",
                                "unexpected argument '%s': want exactly BASELINE.json "
                                "CURRENT.json",
                                argv[optind + 2]);
    if (argc - optind != 2)
        return ipcm_usage_error("compare", "want BASELINE.json CURRENT.json (try --help)");
    a->files[0] = argv[optind];
    a->files[1] = argv[optind + 1];
    return 0;
}

static int load(const char *path, struct ipcm_results **out)
{
    char err[256];
    int r = ipcm_results_load(path, out, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ipcmark compare: %s: %s\n", path, err);
        if (r == -EPROTO)
            fprintf(stderr,
                    "ipcmark compare: %s is not a results file this version can "
                    "compare (incompatible schema)\n",
                    path);
    }
    return r;
}

/* The export, through a temporary file and a rename (or straight to stdout for "-"). */
static int do_export(const char *kind, const char *path, const struct ipcm_results *r)
{
    struct ipcm_outfile out;
    int e = ipcm_outfile_open(&out, path);
    if (e == 0) {
        e = strcmp(kind, "gbench") == 0 ? ipcm_export_gbench(r, out.f)
                                        : ipcm_export_bencher(r, out.f);
        if (e < 0)
            ipcm_outfile_abort(&out);
        else
            e = ipcm_outfile_commit(&out);
    }
    if (e < 0)
        fprintf(stderr, "ipcmark compare: --export %s: cannot write %s: %s\n", kind, path,
                ipcm_file_strerror(e));
    return e;
}

/* Load, compare, write the report and the export. Returns the exit code. */
static int run_compare(struct compare_args *a)
{
    struct ipcm_results *base = NULL, *cur = NULL;
    struct ipcm_cmp_report *rep = NULL;
    int rc = IPCM_EXIT_USAGE, r;

    a->o.base_label = a->files[0];
    a->o.cur_label = a->files[1];
    if (load(a->files[0], &base) < 0 || load(a->files[1], &cur) < 0)
        goto out;
    /* A remote run and a local one measure different things (RULINGS 13): no verdict
     * without being asked. Exit 1, like a compare with no comparable cases. */
    char why[256];
    if (!a->o.allow_path_change && ipcm_cmp_path_differs(base, cur, why, sizeof(why))) {
        fprintf(stderr,
                "ipcmark compare: refused: different path, %s (--allow-path-change to compare "
                "anyway)\n",
                why);
        rc = IPCM_EXIT_FAIL;
        goto out;
    }
    r = ipcm_compare(base, cur, &a->o, &rep);
    if (r < 0) {
        fprintf(stderr, "ipcmark compare: %s\n", strerror(-r));
        goto out;
    }
    /* With --export K -, stdout is the export's alone (it pipes into `bencher run`). */
    FILE *f = a->export_path && strcmp(a->export_path, "-") == 0 ? stderr : stdout;
    if (a->fmt == FMT_MARKDOWN)
        r = ipcm_cmp_write_markdown(rep, f);
    else if (a->fmt == FMT_JSON)
        r = ipcm_cmp_write_json(rep, f);
    else
        r = ipcm_cmp_write_table(rep, f);
    if (r < 0) {
        fprintf(stderr, "ipcmark compare: writing the report: %s\n", strerror(-r));
        goto out;
    }
    if (a->export_kind && do_export(a->export_kind, a->export_path, cur) < 0)
        goto out;
    rc = ipcm_cmp_failed(rep) ? IPCM_EXIT_FAIL : IPCM_EXIT_OK;
out:
    ipcm_cmp_report_free(rep);
    ipcm_results_free(base);
    ipcm_results_free(cur);
    return rc;
}

int ipcm_cmd_compare(int argc, char **argv)
{
    struct compare_args a = {.o = {.threshold = 0.10, .alpha = 0.05}, .fmt = FMT_TABLE};
    int r = parse_args(argc, argv, &a);
    if (r < 0)
        return IPCM_EXIT_OK; /* --help */
    if (r > 0)
        return r;
    if (a.export_path && (r = ipcm_output_probe("compare", "--export", a.export_path)))
        return r; /* before reading anything: a typo costs no work */
    return run_compare(&a);
}
