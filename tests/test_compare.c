/* SPDX-License-Identifier: MIT */
/*
 * test_compare.c - the regression gate: Mann-Whitney p-values against known values,
 * verdicts on synthetic samples, the results reader on a corpus of malformed files.
 */
#include "compare.h"
#include "mannwhitney.h"
#include "results_read.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *data_dir(void)
{
    const char *d = getenv("IPCM_TEST_DATA");
    return d ? d : "tests/data";
}

/* ------------------------------------------------------------ Mann-Whitney U */

START_TEST(mwu_five_vs_five_fully_separated_is_2_over_252)
{
    double x[] = {1, 2, 3, 4, 5}, y[] = {6, 7, 8, 9, 10};
    struct ipcm_mwu t;
    ck_assert_int_eq(ipcm_mwu_test(x, 5, y, 5, &t), 0);
    ck_assert(t.exact);
    ck_assert_double_eq_tol(t.p, 2.0 / 252.0, 1e-12);
    ck_assert_double_eq(t.u, 0);
    /* Symmetric: swapping the samples gives the same two-sided p. */
    ck_assert_int_eq(ipcm_mwu_test(y, 5, x, 5, &t), 0);
    ck_assert_double_eq_tol(t.p, 2.0 / 252.0, 1e-12);
    ck_assert_double_eq(t.u, 25);
}
END_TEST

START_TEST(mwu_exact_matches_tables)
{
    struct ipcm_mwu t;
    /* n = m = 4, U = 1: P(U <= 1) = 2/70, two-sided 4/70 (Mann & Whitney 1947 table). */
    double a[] = {1, 2, 3, 5}, b[] = {4, 6, 7, 8};
    ck_assert_int_eq(ipcm_mwu_test(a, 4, b, 4, &t), 0);
    ck_assert_double_eq(t.u, 1);
    ck_assert_double_eq_tol(t.p, 4.0 / 70.0, 1e-12);
    /* n = 3, m = 3 fully separated: 2/20. */
    double c[] = {1, 2, 3}, d[] = {4, 5, 6};
    ck_assert_int_eq(ipcm_mwu_test(c, 3, d, 3, &t), 0);
    ck_assert_double_eq_tol(t.p, 0.1, 1e-12);
    double e[] = {1, 3, 5, 7}, f[] = {2, 4, 6, 8};
    ck_assert_int_eq(ipcm_mwu_test(e, 4, f, 4, &t), 0);
    /* Alternating: U = 6 against a mean of 8; P(U in 7..9) = 22/70, so p = 48/70. */
    ck_assert_double_eq(t.u, 6);
    ck_assert_double_eq_tol(t.p, 48.0 / 70.0, 1e-12);
}
END_TEST

/* Brute force over all C(n, k) splits: the definition the DP must agree with. */
static double brute_p(const double *x, size_t nx, const double *y, size_t ny)
{
    size_t n = nx + ny;
    double all[16], rank[16];
    for (size_t i = 0; i < nx; i++)
        all[i] = x[i];
    for (size_t i = 0; i < ny; i++)
        all[nx + i] = y[i];
    for (size_t i = 0; i < n; i++) {
        double less = 0, eq = 0;
        for (size_t j = 0; j < n; j++) {
            less += all[j] < all[i];
            eq += all[j] == all[i];
        }
        rank[i] = less + (eq + 1) / 2.0;
    }
    double obs = 0, mean = nx * (n + 1) / 2.0;
    for (size_t i = 0; i < nx; i++)
        obs += rank[i];
    double hit = 0, tot = 0;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if ((size_t)__builtin_popcount(mask) != nx)
            continue;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            if (mask & (1u << i))
                s += rank[i];
        tot++;
        hit += fabs(s - mean) >= fabs(obs - mean) - 1e-9;
    }
    return hit / tot;
}

START_TEST(mwu_ties_match_brute_force_permutation)
{
    double x[] = {1, 2, 2, 3, 5, 5}, y[] = {2, 3, 5, 6, 6, 7};
    struct ipcm_mwu t;
    ck_assert_int_eq(ipcm_mwu_test(x, 6, y, 6, &t), 0);
    ck_assert(t.ties);
    ck_assert_double_eq_tol(t.p, brute_p(x, 6, y, 6), 1e-12);
    /* A second shape: unequal sizes, heavy ties. */
    double u[] = {1, 1, 1, 2}, v[] = {1, 2, 2, 2, 3, 3, 3};
    ck_assert_int_eq(ipcm_mwu_test(u, 4, v, 7, &t), 0);
    ck_assert_double_eq_tol(t.p, brute_p(u, 4, v, 7), 1e-12);
    /* Everything tied: no evidence at all. */
    double w[] = {4, 4, 4}, z[] = {4, 4, 4};
    ck_assert_int_eq(ipcm_mwu_test(w, 3, z, 3, &t), 0);
    ck_assert_double_eq_tol(t.p, 1.0, 1e-12);
}
END_TEST

START_TEST(mwu_normal_approximation_for_large_samples)
{
    double x[40], y[40];
    struct ipcm_mwu t;
    for (int i = 0; i < 40; i++) {
        x[i] = i;
        y[i] = i + 100;
    }
    ck_assert_int_eq(ipcm_mwu_test(x, 40, y, 40, &t), 0);
    ck_assert(!t.exact);
    ck_assert(t.p < 1e-10);
    /* Same values: p = 1 (z clipped at 0 by the continuity correction). */
    ck_assert_int_eq(ipcm_mwu_test(x, 40, x, 40, &t), 0);
    ck_assert_double_eq_tol(t.p, 1.0, 1e-9);
    /* n = m = 30 with a known z: U = 450 - 150 -> compare with erfc directly. */
    for (int i = 0; i < 30; i++) {
        x[i] = 2 * i;
        y[i] = 2 * i + 11; /* y shifted by 5.5 ranks' worth */
    }
    ck_assert_int_eq(ipcm_mwu_test(x, 30, y, 30, &t), 0);
    double mu = 450, sd = sqrt(30.0 * 30 * 61 / 12);
    ck_assert_double_eq_tol(t.p, erfc((fabs(t.u - mu) - 0.5) / sd / sqrt(2)), 1e-12);
}
END_TEST

START_TEST(mwu_min_p_and_bad_input)
{
    struct ipcm_mwu t;
    double x[] = {1, NAN};
    ck_assert_double_eq_tol(ipcm_mwu_min_p(3, 3), 0.1, 1e-12);
    ck_assert_double_eq_tol(ipcm_mwu_min_p(4, 4), 2.0 / 70, 1e-12);
    ck_assert_double_eq_tol(ipcm_mwu_min_p(5, 5), 2.0 / 252, 1e-12);
    ck_assert_double_eq(ipcm_mwu_min_p(1, 1), 1.0);
    ck_assert_int_eq(ipcm_mwu_test(x, 2, x, 1, &t), -EINVAL);
    ck_assert_int_eq(ipcm_mwu_test(x, 0, x, 1, &t), -EINVAL);
}
END_TEST

/* --------------------------------------------------------- compare verdicts */

/* A results document with one throughput case per backend name, samples as given. */
static struct ipcm_results *doc(const char *backend, const double *s, size_t n, const char *cpu)
{
    char samples[2048] = "", buf[4096], err[256];
    size_t o = 0;
    struct ipcm_results *r;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(samples + o, sizeof(samples) - o, "%s%.6f", i ? "," : "", s[i]);
    snprintf(buf, sizeof(buf),
             "{\"schema\":\"ipcmark-results/1\",\"host\":{\"cpu_model\":\"%s\","
             "\"cpus_online\":2,\"kernel\":\"6.1\"},\"cases\":[{\"mode\":\"throughput\","
             "\"backend\":\"%s\",\"shape\":\"queue\",\"size\":64,\"producers\":1,"
             "\"consumers\":1,\"workers\":0,\"placement\":\"unpinned\",\"status\":\"ok\","
             "\"repetitions\":%zu,\"msgs_per_s\":{\"median\":%f,\"samples\":[%s]}}]}",
             cpu, backend, n, n ? s[n / 2] : 0.0, samples);
    ck_assert_msg(ipcm_results_parse(buf, strlen(buf), &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

/* Samples around centre with a fixed relative jitter pattern (deterministic). */
static void fill(double *v, size_t n, double centre, double jitter)
{
    static const double pat[] = {-1.0, 0.5, -0.25, 1.0, 0.0, -0.5, 0.75, 0.25, -0.75, 0.1};
    for (size_t i = 0; i < n; i++)
        v[i] = centre * (1 + jitter * pat[i % 10]);
}

static enum ipcm_cmp_verdict verdict_for(double base_c, double cur_c, double jitter, size_t n,
                                         double *p)
{
    double b[16], c[16];
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05};
    struct ipcm_cmp_report *rep;
    fill(b, n, base_c, jitter);
    fill(c, n, cur_c, jitter);
    /* Different orders, so identical distributions do not mean identical vectors. */
    for (size_t i = 0; i < n / 2; i++) {
        double t = c[i];
        c[i] = c[n - 1 - i];
        c[n - 1 - i] = t;
    }
    struct ipcm_results *rb = doc("pipe", b, n, "cpu"), *rc = doc("pipe", c, n, "cpu");
    ck_assert_int_eq(ipcm_compare(rb, rc, &o, &rep), 0);
    ck_assert_uint_eq(rep->nrows, 1);
    enum ipcm_cmp_verdict v = rep->rows[0].verdict;
    if (p)
        *p = rep->rows[0].p;
    /* The gate fails on a regression, and on a comparison that judged nothing. */
    ck_assert_int_eq(ipcm_cmp_failed(rep), v == IPCM_V_REGRESSION || v == IPCM_V_INSUFFICIENT);
    ck_assert_int_eq(ipcm_cmp_insufficient(rep), v == IPCM_V_INSUFFICIENT);
    ipcm_cmp_report_free(rep);
    ipcm_results_free(rb);
    ipcm_results_free(rc);
    return v;
}

START_TEST(identical_distributions_are_no_regression)
{
    double p;
    ck_assert_int_eq(verdict_for(1e6, 1e6, 0.03, 5, &p), IPCM_V_UNCHANGED);
    ck_assert(p > 0.5);
    ck_assert_int_eq(verdict_for(1e6, 1e6, 0.03, 9, NULL), IPCM_V_UNCHANGED);
}
END_TEST

START_TEST(twenty_percent_slower_with_5_repetitions_is_a_regression)
{
    double p;
    ck_assert_int_eq(verdict_for(1e6, 0.8e6, 0.03, 5, &p), IPCM_V_REGRESSION);
    ck_assert_double_eq_tol(p, 2.0 / 252.0, 1e-12);
    /* And the mirror image is an improvement, not a regression. */
    ck_assert_int_eq(verdict_for(0.8e6, 1e6, 0.03, 5, NULL), IPCM_V_IMPROVEMENT);
}
END_TEST

START_TEST(two_percent_shift_is_not_reported_at_default_threshold)
{
    double p;
    /* Tight samples make a 2% shift significant; it is still within 10%. */
    ck_assert_int_eq(verdict_for(1e6, 0.98e6, 0.002, 5, &p), IPCM_V_UNCHANGED);
    ck_assert(p < 0.05);
}
END_TEST

START_TEST(spread_wider_than_threshold_is_too_noisy)
{
    /* 30% jitter: a 12% shift cannot be judged against that noise. */
    ck_assert_int_eq(verdict_for(1e6, 0.88e6, 0.30, 9, NULL), IPCM_V_NOISY);
    /* But a drop far beyond the noise is still caught. */
    ck_assert_int_eq(verdict_for(1e6, 0.1e6, 0.15, 9, NULL), IPCM_V_REGRESSION);
}
END_TEST

START_TEST(three_repetitions_are_insufficient_not_unchanged)
{
    /* Min p for 3 vs 3 is 0.1 > 0.05: even a 50% drop cannot be significant. */
    ck_assert_int_eq(verdict_for(1e6, 0.5e6, 0.01, 3, NULL), IPCM_V_INSUFFICIENT);
    ck_assert_int_eq(verdict_for(1e6, 1e6, 0.01, 3, NULL), IPCM_V_INSUFFICIENT);
    /* Four each is the least that can reach 0.05 (2/70 = 0.029). */
    ck_assert_int_eq(verdict_for(1e6, 0.5e6, 0.01, 4, NULL), IPCM_V_REGRESSION);
}
END_TEST

START_TEST(one_slower_repetition_or_only_skipped_cases_fail_the_gate)
{
    double s[5], slow[1] = {0.5e6};
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05};
    struct ipcm_cmp_report *rep;
    fill(s, 5, 1e6, 0.01);
    /* One repetition 50% slower: the U test cannot judge it, so the gate must not pass. */
    struct ipcm_results *a = doc("pipe", s, 5, "cpu"), *b = doc("pipe", slow, 1, "cpu");
    ck_assert_int_eq(ipcm_compare(a, b, &o, &rep), 0);
    ck_assert(ipcm_cmp_insufficient(rep));
    ck_assert(ipcm_cmp_failed(rep));
    ipcm_cmp_report_free(rep);
    ipcm_results_free(b);
    /* Every current case skipped: nothing judged either. */
    b = doc("pipe", s, 5, "cpu");
    b->cases[0].status = IPCM_RR_SKIPPED;
    ck_assert_int_eq(ipcm_compare(a, b, &o, &rep), 0);
    ck_assert(ipcm_cmp_insufficient(rep));
    ck_assert(ipcm_cmp_failed(rep));
    ipcm_cmp_report_free(rep);
    /* And the same file against itself passes. */
    ck_assert_int_eq(ipcm_compare(a, a, &o, &rep), 0);
    ck_assert(!ipcm_cmp_insufficient(rep));
    ck_assert(!ipcm_cmp_failed(rep));
    ipcm_cmp_report_free(rep);
    ipcm_results_free(a);
    ipcm_results_free(b);
}
END_TEST

START_TEST(new_missing_failed_and_host_are_reported)
{
    double s[5];
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05};
    struct ipcm_cmp_report *rep;
    fill(s, 5, 1e6, 0.01);
    struct ipcm_results *a = doc("pipe", s, 5, "cpu A"), *b = doc("shm", s, 5, "cpu B");
    ck_assert_int_eq(ipcm_compare(a, b, &o, &rep), 0);
    ck_assert_uint_eq(rep->nadded, 1);
    ck_assert_str_eq(rep->added[0]->backend, "shm");
    ck_assert_uint_eq(rep->nmissing, 1);
    ck_assert_str_eq(rep->missing[0]->backend, "pipe");
    ck_assert_uint_eq(rep->cases_compared, 0);
    ck_assert(rep->host_differs);
    /* Nothing in both files: the gate cannot say "no regression" (insufficient data). */
    ck_assert(ipcm_cmp_insufficient(rep));
    ck_assert(ipcm_cmp_failed(rep));
    ipcm_cmp_report_free(rep);

    /* A case that now fails is a regression of the gate. */
    b->cases[0].status = IPCM_RR_FAILED;
    snprintf(b->cases[0].backend, sizeof(b->cases[0].backend), "pipe");
    ck_assert_int_eq(ipcm_compare(a, b, &o, &rep), 0);
    ck_assert_uint_eq(rep->count[IPCM_V_FAILED], 1);
    ck_assert(ipcm_cmp_failed(rep));
    ipcm_cmp_report_free(rep);

    o.alpha = 1.5;
    ck_assert_int_eq(ipcm_compare(a, b, &o, &rep), -EINVAL);
    ipcm_results_free(a);
    ipcm_results_free(b);
}
END_TEST

/* One unchanged case between two runs whose host.calibration is given as JSON text. */
static struct ipcm_cmp_report *cal_compare(const char *base_cal, const char *cur_cal,
                                           struct ipcm_results **rb, struct ipcm_results **rc)
{
    const char *cal[2] = {base_cal, cur_cal};
    struct ipcm_results **out[2] = {rb, rc};
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05};
    struct ipcm_cmp_report *rep;
    char buf[2048], err[256];
    for (int k = 0; k < 2; k++) {
        snprintf(buf, sizeof(buf),
                 "{\"schema\":\"ipcmark-results/1\",\"host\":{\"cpu_model\":\"cpu\","
                 "\"cpus_online\":2,\"kernel\":\"6.1\",\"calibration\":%s},\"cases\":[{"
                 "\"mode\":\"pool\",\"backend\":\"pipe\",\"size\":8,\"workers\":2,"
                 "\"status\":\"ok\",\"tasks_per_s\":{\"median\":100,"
                 "\"samples\":[99,100,101,100,102]}}]}",
                 cal[k]);
        ck_assert_msg(ipcm_results_parse(buf, strlen(buf), out[k], err, sizeof(err)) == 0, "%s",
                      err);
    }
    ck_assert_int_eq(ipcm_compare(*rb, *rc, &o, &rep), 0);
    return rep;
}

static bool rendered_has(const struct ipcm_cmp_report *rep,
                         int (*render)(const struct ipcm_cmp_report *, FILE *), const char *what)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(render(rep, f), 0);
    fclose(f);
    bool has = strstr(text, what) != NULL;
    free(text);
    return has;
}

START_TEST(calibration_difference_warns_without_changing_verdicts)
{
    static const char quiet[] = "{\"line_rtt_ns\":[60,62],\"memcpy_64k_gbs\":[50,51],"
                                "\"raw_pipe_rtt_same_cpu_ns\":[5000,5100],"
                                "\"raw_pipe_rtt_cross_cpu_ns\":[20000,null],"
                                "\"changed\":false,\"busy\":false}";
    /* Within 10% of quiet on every figure. */
    static const char near[] = "{\"line_rtt_ns\":[63,64],\"memcpy_64k_gbs\":[48,49],"
                               "\"raw_pipe_rtt_same_cpu_ns\":[5200,5200],"
                               "\"raw_pipe_rtt_cross_cpu_ns\":[21000,21000]}";
    /* The cache line twice as slow: another machine, or a loaded one. */
    static const char slow[] = "{\"line_rtt_ns\":[120,124],\"memcpy_64k_gbs\":[50,51],"
                               "\"raw_pipe_rtt_same_cpu_ns\":[5000,5100],"
                               "\"raw_pipe_rtt_cross_cpu_ns\":[20000,20000]}";
    static const char busy[] = "{\"line_rtt_ns\":[60,62],\"changed\":true,"
                               "\"changed_reason\":\"memcpy 64 KiB 30 GB/s at start\","
                               "\"busy\":true}";
    struct ipcm_results *a, *b;
    struct ipcm_cmp_report *rep;

    rep = cal_compare(quiet, near, &a, &b);
    ck_assert(!rep->machine_differs);
    ck_assert_str_eq(rep->machine_why, "");
    ck_assert(!rendered_has(rep, ipcm_cmp_write_table, "machine, not the build"));
    ipcm_cmp_report_free(rep);
    ipcm_results_free(a);
    ipcm_results_free(b);

    rep = cal_compare(quiet, slow, &a, &b);
    ck_assert(rep->machine_differs);
    ck_assert_msg(strstr(rep->machine_why, "cache-line round trip") != NULL, "%s",
                  rep->machine_why);
    ck_assert(strstr(rep->machine_why, "memcpy") == NULL);
    /* A warning only: the unchanged case stays unchanged and the gate passes. */
    ck_assert_uint_eq(rep->nrows, 1);
    ck_assert_int_eq(rep->rows[0].verdict, IPCM_V_UNCHANGED);
    ck_assert(!ipcm_cmp_failed(rep));
    ck_assert(rendered_has(rep, ipcm_cmp_write_table, "warning: the machine, not the build"));
    ck_assert(rendered_has(rep, ipcm_cmp_write_markdown, "**Warning:** the machine, not the"));
    ck_assert(rendered_has(rep, ipcm_cmp_write_json, "\"machine_may_explain\": true"));
    ipcm_cmp_report_free(rep);
    ipcm_results_free(a);
    ipcm_results_free(b);

    /* The cross-CPU stream limit moving alone is a machine difference too. */
    static const char stream_fast[] = "{\"line_rtt_ns\":[60,62],\"stream_64k_gbs\":[30,31]}";
    static const char stream_slow[] = "{\"line_rtt_ns\":[60,62],\"stream_64k_gbs\":[11,12]}";
    rep = cal_compare(stream_fast, stream_slow, &a, &b);
    ck_assert(rep->machine_differs);
    ck_assert_msg(strstr(rep->machine_why, "cross-CPU stream") != NULL, "%s", rep->machine_why);
    ipcm_cmp_report_free(rep);
    ipcm_results_free(a);
    ipcm_results_free(b);

    /* The writer's own flags warn even with the figures alike; either side counts. */
    rep = cal_compare(busy, quiet, &a, &b);
    ck_assert(rep->machine_differs);
    ck_assert(strstr(rep->machine_why, "baseline run found its machine busy") != NULL);
    ck_assert(strstr(rep->machine_why, "30 GB/s") != NULL);
    ipcm_cmp_report_free(rep);
    ipcm_results_free(a);
    ipcm_results_free(b);

    /* Files without calibration (older writers) compare as before, with no warning. */
    rep = cal_compare("null", "null", &a, &b);
    ck_assert(!rep->machine_differs);
    ck_assert(rendered_has(rep, ipcm_cmp_write_json, "\"machine_may_explain\": false"));
    ipcm_cmp_report_free(rep);
    ipcm_results_free(a);
    ipcm_results_free(b);

    /* A malformed calibration is an input error like any other field. */
    char err[256];
    const char *bad = "{\"schema\":\"ipcmark-results/1\",\"host\":{\"calibration\":"
                      "{\"line_rtt_ns\":\"fast\"}},\"cases\":[]}";
    ck_assert_int_eq(ipcm_results_parse(bad, strlen(bad), &a, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "host.calibration.line_rtt_ns") != NULL, "%s", err);
}
END_TEST

static struct ipcm_results *load_data(const char *name)
{
    char path[512], err[256];
    struct ipcm_results *r;
    snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
    ck_assert_msg(ipcm_results_load(path, &r, err, sizeof(err)) == 0, "%s: %s", path, err);
    return r;
}

START_TEST(synthetic_files_flag_exactly_the_slowed_backend)
{
    struct ipcm_results *base = load_data("synthetic_base.json");
    struct ipcm_results *same = load_data("synthetic_same.json");
    struct ipcm_results *slow = load_data("synthetic_pipe_slow.json");
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05};
    struct ipcm_cmp_report *rep;

    ck_assert_int_eq(ipcm_compare(base, same, &o, &rep), 0);
    ck_assert(!ipcm_cmp_failed(rep));
    ck_assert_uint_gt(rep->metrics_compared, 50);
    ipcm_cmp_report_free(rep);

    ck_assert_int_eq(ipcm_compare(base, slow, &o, &rep), 0);
    ck_assert(ipcm_cmp_failed(rep));
    size_t pipe_tested = 0, pipe_flagged = 0;
    for (size_t i = 0; i < rep->nrows; i++) {
        const struct ipcm_cmp_row *row = &rep->rows[i];
        if (row->verdict == IPCM_V_REGRESSION)
            ck_assert_str_eq(row->cur->backend, "pipe");
        if (strcmp(row->cur->backend, "pipe") == 0 && row->tested) {
            pipe_tested++;
            pipe_flagged += row->verdict == IPCM_V_REGRESSION;
        }
    }
    ck_assert_uint_gt(pipe_tested, 0);
    ck_assert_uint_eq(pipe_flagged, pipe_tested);

    /* Every renderer and export produces output; the JSON ones are valid JSON. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(ipcm_cmp_write_markdown(rep, f), 0);
    fclose(f);
    ck_assert(strstr(buf, "| Case |") && strstr(buf, "REGRESSION"));
    free(buf);
    int (*jsonw[])(const struct ipcm_results *, FILE *) = {ipcm_export_gbench, ipcm_export_bencher,
                                                           NULL};
    for (int k = 0; k < 3; k++) {
        json_error_t je;
        f = open_memstream(&buf, &len);
        ck_assert_int_eq(k < 2 ? jsonw[k](slow, f) : ipcm_cmp_write_json(rep, f), 0);
        fclose(f);
        json_t *j = json_loadb(buf, len, 0, &je);
        ck_assert_msg(j != NULL, "output %d is not JSON: %s", k, je.text);
        /* These files predate the CPU figures: Google Benchmark needs a cpu_time, and
         * none is made up (cpu_cost_* tests cover a file that has them). */
        if (k == 0)
            ck_assert_uint_eq(json_array_size(json_object_get(j, "benchmarks")), 0);
        if (k == 1)
            ck_assert(json_object_get(j, "throughput/pipe/queue/64/1x1/w0/unpinned"));
        if (k == 2)
            ck_assert(json_is_true(json_object_get(j, "regression")));
        json_decref(j);
        free(buf);
    }
    ipcm_cmp_report_free(rep);
    ipcm_results_free(base);
    ipcm_results_free(same);
    ipcm_results_free(slow);
}
END_TEST

/* ---------------------------------------------------------------- CPU cost */

/* One throughput case of pipe with five repetitions of msgs/s and CPU ns per message. */
static struct ipcm_results *cpu_doc(const double msgs[5], const double cpu[5])
{
    char buf[2048], err[256];
    struct ipcm_results *r;
    snprintf(buf, sizeof(buf),
             "{\"schema\":\"ipcmark-results/1\",\"host\":{\"cpu_model\":\"cpu\","
             "\"cpus_online\":2,\"kernel\":\"6.1\"},\"cases\":[{\"mode\":\"throughput\","
             "\"backend\":\"pipe\",\"shape\":\"queue\",\"size\":64,\"producers\":1,"
             "\"consumers\":1,\"workers\":0,\"placement\":\"unpinned\",\"status\":\"ok\","
             "\"repetitions\":5,\"msgs_per_s\":{\"median\":%f,\"samples\":[%f,%f,%f,%f,%f]},"
             "\"cpu_ns_per_msg\":{\"median\":%f,\"samples\":[%f,%f,%f,%f,%f]}}]}",
             msgs[2], msgs[0], msgs[1], msgs[2], msgs[3], msgs[4], cpu[2], cpu[0], cpu[1], cpu[2],
             cpu[3], cpu[4]);
    ck_assert_msg(ipcm_results_parse(buf, strlen(buf), &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

START_TEST(cpu_cost_regression_is_a_regression)
{
    const double msgs[5] = {1.00e6, 1.01e6, 1.02e6, 1.03e6, 1.04e6};
    const double cpu[5] = {1000, 1010, 1020, 1030, 1040};
    const double dearer[5] = {1500, 1510, 1520, 1530, 1540};
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05};
    struct ipcm_cmp_report *rep;
    struct ipcm_results *b = cpu_doc(msgs, cpu), *c = cpu_doc(msgs, dearer);

    /* Same throughput, 50% more CPU per message: the gate fails on the CPU row alone. */
    ck_assert_int_eq(ipcm_compare(b, c, &o, &rep), 0);
    ck_assert(ipcm_cmp_failed(rep));
    int cpu_rows = 0;
    for (size_t i = 0; i < rep->nrows; i++) {
        const struct ipcm_cmp_row *row = &rep->rows[i];
        if (row->metric == IPCM_CMP_CPU) {
            cpu_rows++;
            ck_assert_int_eq(row->verdict, IPCM_V_REGRESSION);
        } else {
            ck_assert_int_eq(row->verdict, IPCM_V_UNCHANGED);
        }
    }
    ck_assert_int_eq(cpu_rows, 1);
    ck_assert_str_eq(ipcm_cmp_metric_name(IPCM_CMP_CPU), "cpu/msg");
    ipcm_cmp_report_free(rep);
    /* And the mirror image (cheaper) passes. */
    ck_assert_int_eq(ipcm_compare(c, b, &o, &rep), 0);
    ck_assert(!ipcm_cmp_failed(rep));
    ipcm_cmp_report_free(rep);
    ipcm_results_free(b);
    ipcm_results_free(c);
}
END_TEST

START_TEST(cpu_cost_is_gbench_cpu_time)
{
    const double msgs[5] = {1.00e6, 1.01e6, 1.02e6, 1.03e6, 1.04e6};
    const double cpu[5] = {1900, 1910, 1920, 1930, 1940};
    struct ipcm_results *r = cpu_doc(msgs, cpu);
    char *buf = NULL;
    size_t len = 0;
    json_error_t je;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(ipcm_export_gbench(r, f), 0);
    fclose(f);
    json_t *j = json_loadb(buf, len, 0, &je);
    ck_assert_msg(j != NULL, "%s", je.text);
    json_t *list = json_object_get(j, "benchmarks");
    /* Five repetitions, then mean, median, stddev and cv, as Google Benchmark writes them. */
    ck_assert_uint_eq(json_array_size(list), 9);
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(list, i);
        double real = json_number_value(json_object_get(e, "real_time"));
        double cpu_time = json_number_value(json_object_get(e, "cpu_time"));
        /* real_time is ns per message of wall time; cpu_time the measured CPU. */
        ck_assert_double_eq_tol(cpu_time, cpu[i], 1e-6);
        ck_assert_double_eq_tol(real, 1e9 / msgs[i], 1e-3);
        ck_assert(cpu_time != real);
        ck_assert_str_eq(json_string_value(json_object_get(e, "run_type")), "iteration");
        ck_assert_int_eq(json_integer_value(json_object_get(e, "repetition_index")), (int)i);
    }
    const char *agg[4] = {"mean", "median", "stddev", "cv"};
    /* CPU: mean 1920, median 1920, sample stddev sqrt(250) = 15.81, cv 15.81 / 1920. */
    const double cpu_agg[4] = {1920, 1920, sqrt(250.0), sqrt(250.0) / 1920};
    for (int a = 0; a < 4; a++) {
        json_t *e = json_array_get(list, 5 + (size_t)a);
        ck_assert_str_eq(json_string_value(json_object_get(e, "run_type")), "aggregate");
        ck_assert_str_eq(json_string_value(json_object_get(e, "aggregate_name")), agg[a]);
        ck_assert_str_eq(json_string_value(json_object_get(e, "aggregate_unit")),
                         a == 3 ? "percentage" : "time");
        ck_assert_int_eq(json_integer_value(json_object_get(e, "iterations")), 5);
        ck_assert_double_eq_tol(json_number_value(json_object_get(e, "cpu_time")), cpu_agg[a],
                                1e-6);
    }
    json_decref(j);
    free(buf);
    ipcm_results_free(r);
}
END_TEST

/* ------------------------------------------------------------------ reader */

START_TEST(reader_rejects_every_file_of_the_bad_corpus)
{
    char dir[512];
    int n = 0;
    snprintf(dir, sizeof(dir), "%s/bad", data_dir());
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    for (struct dirent *e; (e = readdir(d));) {
        char path[1024], err[256] = "";
        struct ipcm_results *r = (void *)1;
        if (!strstr(e->d_name, ".json"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int rc = ipcm_results_load(path, &r, err, sizeof(err));
        ck_assert_msg(rc == -EINVAL || rc == -EPROTO || rc == -E2BIG, "%s: returned %d (%s)",
                      e->d_name, rc, err);
        ck_assert_ptr_null(r);
        ck_assert_msg(err[0] != '\0', "%s: no message", e->d_name);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 30);
}
END_TEST

START_TEST(reader_limits_and_errors)
{
    char err[256];
    struct ipcm_results *r;
    ck_assert_int_eq(ipcm_results_load("/nonexistent/x.json", &r, err, sizeof(err)), -ENOENT);
    ck_assert_int_eq(ipcm_results_load("/", &r, err, sizeof(err)), -EISDIR);
    ck_assert_int_eq(ipcm_results_parse("{}", IPCM_RR_MAX_FILE_BYTES + 1u, &r, err, sizeof(err)),
                     -EFBIG);
    const char *v2 = "{\"schema\":\"ipcmark-results/2\",\"cases\":[]}";
    ck_assert_int_eq(ipcm_results_parse(v2, strlen(v2), &r, err, sizeof(err)), -EPROTO);
    ck_assert(strstr(err, "ipcmark-results/2") != NULL);
    /* A NULL message buffer is allowed. */
    ck_assert_int_eq(ipcm_results_parse("[", 1, &r, NULL, 0), -EINVAL);
    /* Minimal valid file: no cases. */
    const char *empty = "{\"schema\":\"ipcmark-results/1\",\"cases\":[]}";
    ck_assert_int_eq(ipcm_results_parse(empty, strlen(empty), &r, err, sizeof(err)), 0);
    ck_assert_uint_eq(r->ncases, 0);
    ipcm_results_free(r);
    ipcm_results_free(NULL);
}
END_TEST

static Suite *compare_suite(void)
{
    Suite *s = suite_create("compare");
    TCase *mwu = tcase_create("mannwhitney"), *cmp = tcase_create("compare"),
          *rd = tcase_create("reader");
    tcase_add_test(mwu, mwu_five_vs_five_fully_separated_is_2_over_252);
    tcase_add_test(mwu, mwu_exact_matches_tables);
    tcase_add_test(mwu, mwu_ties_match_brute_force_permutation);
    tcase_add_test(mwu, mwu_normal_approximation_for_large_samples);
    tcase_add_test(mwu, mwu_min_p_and_bad_input);
    tcase_add_test(cmp, identical_distributions_are_no_regression);
    tcase_add_test(cmp, twenty_percent_slower_with_5_repetitions_is_a_regression);
    tcase_add_test(cmp, two_percent_shift_is_not_reported_at_default_threshold);
    tcase_add_test(cmp, spread_wider_than_threshold_is_too_noisy);
    tcase_add_test(cmp, three_repetitions_are_insufficient_not_unchanged);
    tcase_add_test(cmp, new_missing_failed_and_host_are_reported);
    tcase_add_test(cmp, one_slower_repetition_or_only_skipped_cases_fail_the_gate);
    tcase_add_test(cmp, synthetic_files_flag_exactly_the_slowed_backend);
    tcase_add_test(cmp, cpu_cost_regression_is_a_regression);
    tcase_add_test(cmp, cpu_cost_is_gbench_cpu_time);
    tcase_add_test(cmp, calibration_difference_warns_without_changing_verdicts);
    tcase_add_test(rd, reader_rejects_every_file_of_the_bad_corpus);
    tcase_add_test(rd, reader_limits_and_errors);
    suite_add_tcase(s, mwu);
    suite_add_tcase(s, cmp);
    suite_add_tcase(s, rd);
    return s;
}

int main(void)
{
    return ipcm_test_run(compare_suite());
}
