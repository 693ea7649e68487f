/* SPDX-License-Identifier: MIT */
/*
 * cmd_compare.c - `ipcmark compare BASELINE.json CURRENT.json`: the CI regression gate.
 * Exit 0 no regression, 1 regression (or a newly failed case), 2 usage or input error.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static const char compare_usage[] =
    "usage: ipcmark compare BASELINE.json CURRENT.json [--threshold PCT] [--alpha P]\n"
    "                       [--format table|markdown|json] [--export gbench|bencher FILE]\n"
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
    "  --export K FILE  also write CURRENT as Google Benchmark JSON (gbench) or Bencher\n"
    "                   Metric Format (bencher) to FILE ('-' for stdout)\n"
    "\n"
    "Exit status: 0 no regression, 1 regression or a case that now fails, 2 usage or\n"
    "input error (unreadable, corrupt or incompatible file).\n";

enum fmt { FMT_TABLE, FMT_MARKDOWN, FMT_JSON };

/* "--name VALUE" or "--name=VALUE"; advances *i past what it consumed. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
    size_t n = strlen(name);
    *matched = false;
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=') {
        *matched = true;
        return argv[*i] + n + 1;
    }
    if (argv[*i][n] != '\0')
        return NULL;
    *matched = true;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

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

static int do_export(const char *kind, const char *path, const struct ipcm_results *r)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
    int e;
    if (!f) {
        fprintf(stderr, "ipcmark compare: --export %s: %s: %s\n", kind, path, strerror(errno));
        return -errno;
    }
    e = strcmp(kind, "gbench") == 0 ? ipcm_export_gbench(r, f) : ipcm_export_bencher(r, f);
    if (f != stdout && fclose(f) != 0 && e == 0)
        e = -EIO;
    if (e < 0)
        fprintf(stderr, "ipcmark compare: --export %s: %s: %s\n", kind, path, strerror(-e));
    return e;
}

int ipcm_cmd_compare(int argc, char **argv)
{
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05};
    const char *files[2] = {NULL, NULL}, *export_kind = NULL, *export_path = NULL;
    struct ipcm_results *base = NULL, *cur = NULL;
    struct ipcm_cmp_report *rep = NULL;
    enum fmt fmt = FMT_TABLE;
    int nfiles = 0, rc = IPCM_EXIT_USAGE, r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool m;
        double d;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(compare_usage, stdout);
            return IPCM_EXIT_OK;
        }
        if ((v = opt_value(argc, argv, &i, "--threshold", &m)), m) {
            if (parse_double(v, 0, 1000, &d) < 0)
                return ipcm_usage_error("compare",
                                        "--threshold '%s': want a percentage in "
                                        "(0, 1000]",
                                        v ? v : "");
            o.threshold = d / 100.0;
        } else if ((v = opt_value(argc, argv, &i, "--alpha", &m)), m) {
            if (parse_double(v, 0, 0.999999, &d) < 0)
                return ipcm_usage_error("compare",
                                        "--alpha '%s': want a probability in "
                                        "(0, 1)",
                                        v ? v : "");
            o.alpha = d;
        } else if ((v = opt_value(argc, argv, &i, "--format", &m)), m) {
            if (v && strcmp(v, "table") == 0)
                fmt = FMT_TABLE;
            else if (v && strcmp(v, "markdown") == 0)
                fmt = FMT_MARKDOWN;
            else if (v && strcmp(v, "json") == 0)
                fmt = FMT_JSON;
            else
                return ipcm_usage_error("compare",
                                        "--format '%s': want table, markdown or "
                                        "json",
                                        v ? v : "");
        } else if ((v = opt_value(argc, argv, &i, "--export", &m)), m) {
            if (!v || (strcmp(v, "gbench") != 0 && strcmp(v, "bencher") != 0))
                return ipcm_usage_error("compare", "--export '%s': want gbench or bencher",
                                        v ? v : "");
            if (i + 1 >= argc)
                return ipcm_usage_error("compare", "--export %s: missing FILE", v);
            export_kind = v;
            export_path = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return ipcm_usage_error("compare", "unknown option '%s' (try --help)", a);
        } else {
            if (nfiles == 2)
                return ipcm_usage_error("compare",
                                        "unexpected argument '%s': want exactly "
                                        "BASELINE.json CURRENT.json",
                                        a);
            files[nfiles++] = a;
        }
    }
    if (nfiles != 2)
        return ipcm_usage_error("compare", "want BASELINE.json CURRENT.json (try --help)");
    o.base_label = files[0];
    o.cur_label = files[1];

    if (load(files[0], &base) < 0 || load(files[1], &cur) < 0)
        goto out;
    r = ipcm_compare(base, cur, &o, &rep);
    if (r < 0) {
        fprintf(stderr, "ipcmark compare: %s\n", strerror(-r));
        goto out;
    }
    if (fmt == FMT_MARKDOWN)
        r = ipcm_cmp_write_markdown(rep, stdout);
    else if (fmt == FMT_JSON)
        r = ipcm_cmp_write_json(rep, stdout);
    else
        r = ipcm_cmp_write_table(rep, stdout);
    if (r < 0) {
        fprintf(stderr, "ipcmark compare: writing the report: %s\n", strerror(-r));
        goto out;
    }
    if (export_kind && do_export(export_kind, export_path, cur) < 0)
        goto out;
    rc = ipcm_cmp_failed(rep) ? IPCM_EXIT_FAIL : IPCM_EXIT_OK;
out:
    ipcm_cmp_report_free(rep);
    ipcm_results_free(base);
    ipcm_results_free(cur);
    return rc;
}
