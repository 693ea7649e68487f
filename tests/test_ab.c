/* SPDX-License-Identifier: MIT */
/*
 * test_ab.c - the paired A/B gate: the signed-rank interval against tables, the plan of
 * looks, the sequential decision on synthetic per-round ratios (A/A false alarms on a
 * fixed seed set, a 10% shift detected), the round bookkeeping and its renderings.
 */
#include "ab.h"
#include "results_read.h"
#include "signrank.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ signed rank */

START_TEST(signrank_cdf_matches_tables)
{
    /* n = 10: P(T+ <= 8) = 25/1024, P(T+ <= 9) = 33/1024 (the 0.05 two-sided critical
     * value 8 of the Wilcoxon tables). */
    ck_assert_double_eq_tol(ipcm_signrank_cdf(10, 8), 25.0 / 1024, 1e-12);
    ck_assert_double_eq_tol(ipcm_signrank_cdf(10, 9), 33.0 / 1024, 1e-12);
    ck_assert_double_eq_tol(ipcm_signrank_cdf(5, 0), 1.0 / 32, 1e-12);
    ck_assert_double_eq(ipcm_signrank_cdf(5, -1), 0);
    ck_assert_double_eq(ipcm_signrank_cdf(5, 15), 1);
    /* Symmetric: P(T+ <= k) = P(T+ >= M - k). */
    ck_assert_double_eq_tol(ipcm_signrank_cdf(12, 20), 1 - ipcm_signrank_cdf(12, 78 - 21), 1e-12);
    /* The normal branch (n > 200) agrees with the exact one at its edge within 0.002. */
    double e = ipcm_signrank_cdf(200, 8000), nrm = ipcm_signrank_cdf(201, 8000 + 100);
    ck_assert_msg(fabs(e - nrm) < 0.01, "%g vs %g", e, nrm);
    ck_assert_uint_eq(ipcm_signrank_min_n(0.95), 6);
    ck_assert_uint_eq(ipcm_signrank_min_n(0.99), 8);
}
END_TEST

START_TEST(signrank_interval_of_one_to_ten)
{
    double d[10];
    struct ipcm_signrank_ci ci;
    for (int i = 0; i < 10; i++)
        d[i] = i + 1;
    ck_assert_int_eq(ipcm_signrank_ci(d, 10, 0.95, &ci), 0);
    /* 55 Walsh averages; k = 9: the 9th smallest is 3, the 9th largest 8. */
    ck_assert_double_eq(ci.estimate, 5.5);
    ck_assert_double_eq(ci.lo, 3);
    ck_assert_double_eq(ci.hi, 8);
    ck_assert_double_eq_tol(ci.level, 1 - 50.0 / 1024, 1e-12);
    ck_assert(ci.exact);
    /* Too few for the level: an open interval, never a false precision. */
    ck_assert_int_eq(ipcm_signrank_ci(d, 5, 0.95, &ci), 0);
    ck_assert(isinf(ci.lo) && isinf(ci.hi));
    ck_assert_double_eq(ci.level, 0);
    d[3] = NAN;
    ck_assert_int_eq(ipcm_signrank_ci(d, 10, 0.95, &ci), -EINVAL);
    ck_assert_int_eq(ipcm_signrank_ci(d, 0, 0.95, &ci), -EINVAL);
    ck_assert_int_eq(ipcm_signrank_ci(d, 3, 1.0, &ci), -EINVAL);
}
END_TEST

/* xorshift64*: the same numbers on every machine. */
static uint64_t rng_state;
static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double gauss(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

START_TEST(signrank_interval_covers_at_its_level)
{
    /* 2000 samples of 15 from a symmetric law: a 90% interval misses the centre about
     * 200 times; binomial 3-sigma band around its achieved level. */
    struct ipcm_signrank_ci ci;
    double d[15];
    int miss = 0, n = 2000;
    rng_state = 42;
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < 15; i++)
            d[i] = 0.3 + gauss();
        ck_assert_int_eq(ipcm_signrank_ci(d, 15, 0.90, &ci), 0);
        miss += !(ci.lo <= 0.3 && 0.3 <= ci.hi);
    }
    double want = (1 - ci.level) * n, sd = sqrt(want);
    ck_assert_msg(fabs(miss - want) < 3 * sd, "missed %d, want %.0f", miss, want);
}
END_TEST

/* ------------------------------------------------------------ plan and decision */

START_TEST(plan_splits_alpha_over_looks_and_cases)
{
    struct ipcm_ab_plan p;
    ck_assert_int_eq(ipcm_ab_plan_make(40, 6, 0.05, &p), 0);
    /* Four looks would need 11 rounds at the first (min_n 9 at 1 - 0.1/24): three. */
    ck_assert_uint_eq(p.nlooks, 3);
    ck_assert_uint_eq(p.look[0], 14);
    ck_assert_uint_eq(p.look[2], 40);
    ck_assert_double_eq_tol(p.level, 1 - 2 * 0.05 / 18, 1e-12);
    ck_assert_uint_le(p.min_n + 2, p.look[0]);
    ck_assert_int_eq(ipcm_ab_plan_make(100, 2, 0.05, &p), 0);
    ck_assert_uint_eq(p.nlooks, 4);
    ck_assert_uint_eq(p.look[0], 25);
    ck_assert_uint_eq(p.look[3], 100);
    /* Few rounds: fewer looks, the first still at 8 or more. */
    ck_assert_int_eq(ipcm_ab_plan_make(20, 6, 0.05, &p), 0);
    ck_assert_uint_eq(p.nlooks, 2);
    ck_assert_uint_eq(p.look[0], 10);
    ck_assert_uint_eq(p.look[1], 20);
    ck_assert_int_eq(ipcm_ab_plan_make(5, 6, 0.05, &p), 0);
    ck_assert_uint_eq(p.nlooks, 1);
    ck_assert_uint_eq(p.look[0], 5);
    ck_assert_int_eq(ipcm_ab_plan_make(0, 6, 0.05, &p), -EINVAL);
    ck_assert_int_eq(ipcm_ab_plan_make(10, 0, 0.05, &p), -EINVAL);
    ck_assert_int_eq(ipcm_ab_plan_make(10, 1, 0.5, &p), -EINVAL);
}
END_TEST

START_TEST(judge_follows_the_interval)
{
    double d[30];
    struct ipcm_signrank_ci ci;
    enum ipcm_ab_verdict v;
    rng_state = 7;
    for (int i = 0; i < 30; i++) /* 10% costlier, 3% noise */
        d[i] = log(1.10) + 0.03 * gauss();
    ck_assert_int_eq(ipcm_ab_judge(d, 30, 0.05, 0.99, &ci, &v), 0);
    ck_assert_int_eq(v, IPCM_AB_REGRESSION);
    for (int i = 0; i < 30; i++)
        d[i] = -d[i];
    ck_assert_int_eq(ipcm_ab_judge(d, 30, 0.05, 0.99, &ci, &v), 0);
    ck_assert_int_eq(v, IPCM_AB_IMPROVEMENT);
    for (int i = 0; i < 30; i++) /* no change, 1% noise: inside +-5% */
        d[i] = 0.01 * gauss();
    ck_assert_int_eq(ipcm_ab_judge(d, 30, 0.05, 0.99, &ci, &v), 0);
    ck_assert_int_eq(v, IPCM_AB_UNCHANGED);
    for (int i = 0; i < 30; i++) /* 1% costlier, significant, but not half the threshold */
        d[i] = 0.01 + 0.001 * gauss();
    ck_assert_int_eq(ipcm_ab_judge(d, 30, 0.05, 0.99, &ci, &v), 0);
    ck_assert_int_eq(v, IPCM_AB_UNCHANGED);
    for (int i = 0; i < 10; i++) /* no change, 30% noise: undecidable yet */
        d[i] = 0.3 * gauss();
    ck_assert_int_eq(ipcm_ab_judge(d, 10, 0.05, 0.99, &ci, &v), 0);
    ck_assert_int_eq(v, IPCM_AB_PENDING);
}
END_TEST

/*
 * One whole sequential comparison on synthetic rounds: ncases cases, each round's log
 * cost ratio = shift + order effect (+d when A runs first, -d when B does: what A B /
 * B A alternation turns into symmetric noise) + noise (Gaussian, or with one round in
 * ten an outlier of 5 sigma). Returns the verdicts counted.
 */
struct sim {
    size_t rounds, ncases;
    double shift, sigma, order, threshold, alpha;
    bool outliers;
};

static void simulate(const struct sim *s, size_t count[IPCM_AB_NVERDICTS])
{
    struct ipcm_ab_opts o = {.threshold = s->threshold, .alpha = s->alpha};
    struct ipcm_ab_run *run = calloc(1, sizeof(*run));
    ck_assert_ptr_nonnull(run);
    ipcm_ab_init(run, &o);
    run->ncases = s->ncases;
    for (size_t c = 0; c < s->ncases; c++) {
        run->cases[c].logr = malloc(IPCM_AB_MAX_ROUNDS * sizeof(double));
        ck_assert_ptr_nonnull(run->cases[c].logr);
    }
    ck_assert_int_eq(ipcm_ab_plan_make(s->rounds, s->ncases, s->alpha, &run->plan), 0);
    int done = 0;
    while (!done && run->measured < s->rounds) {
        for (size_t c = 0; c < s->ncases; c++) {
            double noise = s->sigma * gauss();
            if (s->outliers && uniform() < 0.1)
                noise *= 5;
            double order = run->measured % 2 ? -s->order : s->order;
            run->cases[c].logr[run->measured] = s->shift + order + noise;
        }
        run->measured++;
        done = ipcm_ab_look(run, false);
        ck_assert_int_ge(done, 0);
    }
    if (!done)
        ck_assert_int_ge(ipcm_ab_look(run, true), 0);
    ck_assert_uint_le(run->looks_done, run->plan.nlooks);
    for (int v = 0; v < IPCM_AB_NVERDICTS; v++)
        count[v] += run->count[v];
    ck_assert_uint_eq(run->count[IPCM_AB_PENDING], 0);
    ipcm_ab_fini(run);
    free(run);
}

/*
 * A/A: 400 comparisons of 6 cases, 40 rounds, 5% noise with outliers and an order
 * effect larger than the threshold. The bound (alpha 0.05 per comparison, Bonferroni)
 * allows 20 comparisons with a false regression; we require no more than that, and
 * report the count. A gate that calls regressions on noise fails here.
 */
static int aa_alarms(const struct sim *s, int runs, size_t total[IPCM_AB_NVERDICTS])
{
    int alarms = 0;
    for (int seed = 1; seed <= runs; seed++) {
        size_t count[IPCM_AB_NVERDICTS] = {0};
        rng_state = 0x9E3779B97F4A7C15ull * (uint64_t)seed;
        simulate(s, count);
        alarms += count[IPCM_AB_REGRESSION] + count[IPCM_AB_IMPROVEMENT] > 0;
        for (int v = 0; v < IPCM_AB_NVERDICTS; v++)
            total[v] += count[v];
    }
    printf("A/A (noise %.0f%%, order effect %.0f%%%s): %d of %d comparisons with a false "
           "alarm; %zu cases unchanged, %zu undecided\n",
           100 * s->sigma, 100 * s->order, s->outliers ? ", outliers" : "", alarms, runs,
           total[IPCM_AB_UNCHANGED], total[IPCM_AB_UNDECIDED]);
    return alarms;
}

START_TEST(aa_false_alarms_stay_below_alpha)
{
    /* Hard: noise at the threshold, one round in ten a 5-sigma outlier, and an order
     * effect beyond the threshold. Few cases can be decided; none may be called. */
    struct sim hard = {.rounds = 40,
                       .ncases = 6,
                       .sigma = 0.05,
                       .order = 0.08,
                       .threshold = 0.05,
                       .alpha = 0.05,
                       .outliers = true};
    size_t total[IPCM_AB_NVERDICTS] = {0};
    ck_assert_int_le(aa_alarms(&hard, 400, total), (int)(0.05 * 400));
    /* Moderate: 2% noise, 3% order effect. The gate must still speak: most A/A cases
     * end "unchanged", and no more than alpha of the comparisons raise an alarm. */
    struct sim mod = {
        .rounds = 40, .ncases = 6, .sigma = 0.02, .order = 0.03, .threshold = 0.05, .alpha = 0.05};
    memset(total, 0, sizeof(total));
    ck_assert_int_le(aa_alarms(&mod, 400, total), (int)(0.05 * 400));
    ck_assert_uint_gt(total[IPCM_AB_UNCHANGED], 9 * total[IPCM_AB_UNDECIDED]);
}
END_TEST

/* A 10% slowdown in 5% noise is found in nearly every comparison, never as unchanged. */
START_TEST(ten_percent_shift_is_detected)
{
    struct sim s = {.rounds = 40,
                    .ncases = 6,
                    .sigma = 0.05,
                    .order = 0.08,
                    .shift = log(1.10),
                    .threshold = 0.05,
                    .alpha = 0.05};
    size_t total[IPCM_AB_NVERDICTS] = {0};
    int runs = 200;
    for (int seed = 1; seed <= runs; seed++) {
        rng_state = 0xD1B54A32D192ED03ull * (uint64_t)seed;
        simulate(&s, total);
    }
    printf("10%% shift: %zu of %zu cases a regression, %zu undecided, %zu unchanged\n",
           total[IPCM_AB_REGRESSION], (size_t)runs * s.ncases, total[IPCM_AB_UNDECIDED],
           total[IPCM_AB_UNCHANGED]);
    ck_assert_uint_ge(total[IPCM_AB_REGRESSION], (size_t)(0.95 * runs * s.ncases));
    ck_assert_uint_eq(total[IPCM_AB_IMPROVEMENT], 0);
}
END_TEST

/* ------------------------------------------------------------ rounds and output */

/* A results document: throughput cases for the named backends, one repetition each. */
static struct ipcm_results *doc(const char *const *be, const double *rate, const char *status,
                                size_t n)
{
    char buf[8192], err[256];
    size_t o = (size_t)snprintf(buf, sizeof(buf),
                                "{\"schema\":\"ipcmark-results/1\",\"host\":{\"cpu_model\":\"c\","
                                "\"cpus_online\":2,\"kernel\":\"6.1\"},\"cases\":[");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o,
                              "%s{\"mode\":\"throughput\",\"backend\":\"%s\",\"shape\":\"queue\","
                              "\"size\":64,\"producers\":1,\"consumers\":1,\"workers\":0,"
                              "\"placement\":\"unpinned\",\"status\":\"%s\",\"reason\":\"r\","
                              "\"repetitions\":1,\"msgs_per_s\":{\"median\":%f,"
                              "\"samples\":[%f]}}",
                              i ? "," : "", be[i], i == 0 ? status : "ok", rate[i], rate[i]);
    snprintf(buf + o, sizeof(buf) - o, "]}");
    struct ipcm_results *r;
    ck_assert_msg(ipcm_results_parse(buf, strlen(buf), &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

static bool rendered_has(const struct ipcm_ab_run *run,
                         int (*render)(const struct ipcm_ab_run *, FILE *), const char *what)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(render(run, f), 0);
    fclose(f);
    bool has = strstr(text, what) != NULL;
    if (!has)
        fprintf(stderr, "--- wanted '%s' in:\n%s\n", what, text);
    free(text);
    return has;
}

/* 30 rounds: pipe 20% slower in current, shm the same; a warm-up round first. */
START_TEST(rounds_give_verdicts_and_every_round_in_json)
{
    static const char *const be[] = {"pipe", "shm"};
    struct ipcm_ab_opts o = {
        .threshold = 0.05, .alpha = 0.05, .budget_s = 60, .warmup_rounds = 1, .max_rounds = 200};
    struct ipcm_ab_run *run = calloc(1, sizeof(*run));
    char err[256];
    ipcm_ab_init(run, &o);
    rng_state = 3;
    for (size_t i = 0; i < 31; i++) {
        double noise = 1 + 0.02 * gauss();
        double b[] = {1e5 * noise, 2e6 * noise}, c[] = {1e5 / 1.2 * noise, 2e6 * noise};
        struct ipcm_results *rb = doc(be, b, "ok", 2), *rc = doc(be, c, "ok", 2);
        struct ipcm_ab_round r = {.base_first = i % 2 == 0, .warmup = i == 0};
        ck_assert_int_eq(ipcm_ab_add_round(run, &r, rb, rc, err, sizeof(err)), 0);
        ipcm_results_free(rb);
        ipcm_results_free(rc);
        if (i == 0)
            ck_assert_int_eq(ipcm_ab_plan_make(30, ipcm_ab_active(run), 0.05, &run->plan), 0);
        else if (ipcm_ab_look(run, false) == 1)
            break;
    }
    ck_assert_int_eq(run->cases[0].verdict, IPCM_AB_REGRESSION);
    ck_assert_double_eq_tol(exp(run->cases[0].ci.estimate), 1.2, 0.01);
    ck_assert_int_eq(run->cases[1].verdict, IPCM_AB_UNCHANGED);
    ck_assert(ipcm_ab_failed(run));
    ck_assert(rendered_has(run, ipcm_ab_write_table, "REGRESSION"));
    ck_assert(rendered_has(run, ipcm_ab_write_markdown, "| `throughput/pipe/queue/64/1x1/w0/"));
    ck_assert(rendered_has(run, ipcm_ab_write_json, "\"schema\": \"ipcmark-ab/1\""));
    ck_assert(rendered_has(run, ipcm_ab_write_json, "\"ratio\": 1.2"));
    ck_assert(rendered_has(run, ipcm_ab_write_plot_data, "round throughput/shm/"));
    ipcm_ab_fini(run);
    free(run);
}
END_TEST

START_TEST(failed_skipped_and_changed_cases)
{
    static const char *const be[] = {"pipe", "shm"}, *const one[] = {"pipe"};
    struct ipcm_ab_opts o = {.threshold = 0.05, .alpha = 0.05};
    struct ipcm_ab_run *run = calloc(1, sizeof(*run));
    double v[] = {1e5, 1e6};
    char err[256];
    struct ipcm_ab_round r = {.warmup = true};
    ipcm_ab_init(run, &o);
    /* pipe failed in current (ok in baseline): FAILED; shm absent from the baseline. */
    struct ipcm_results *rb = doc(one, v, "ok", 1), *rc = doc(be, v, "failed", 2);
    ck_assert_int_eq(ipcm_ab_add_round(run, &r, rb, rc, err, sizeof(err)), 0);
    ck_assert_int_eq(run->cases[0].verdict, IPCM_AB_FAILED);
    ck_assert_int_eq(run->cases[1].verdict, IPCM_AB_SKIPPED);
    ck_assert_ptr_nonnull(strstr(run->cases[1].note, "not in the baseline"));
    ck_assert_uint_eq(ipcm_ab_active(run), 0);
    ck_assert(ipcm_ab_failed(run));
    ipcm_results_free(rc);
    /* A later round of current with fewer cases is refused, never silently judged. */
    rc = doc(one, v, "ok", 1);
    ck_assert_int_eq(ipcm_ab_add_round(run, &r, rb, rc, err, sizeof(err)), -EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "ran 1 cases"));
    ipcm_results_free(rb);
    ipcm_results_free(rc);
    ipcm_ab_fini(run);
    free(run);
}
END_TEST

/* One pipe case with its rate and, when cpu_ns > 0, its CPU time per message. */
static struct ipcm_results *doc_cpu(double rate, double cpu_ns)
{
    char buf[1024], cpu[128] = "", err[256];
    if (cpu_ns > 0)
        snprintf(cpu, sizeof(cpu), ",\"cpu_ns_per_msg\":{\"median\":%f,\"samples\":[%f]}", cpu_ns,
                 cpu_ns);
    snprintf(buf, sizeof(buf),
             "{\"schema\":\"ipcmark-results/1\",\"host\":{\"cpu_model\":\"c\",\"cpus_online\":2,"
             "\"kernel\":\"6.1\"},\"cases\":[{\"mode\":\"throughput\",\"backend\":\"pipe\","
             "\"shape\":\"queue\",\"size\":64,\"producers\":1,\"consumers\":1,\"workers\":0,"
             "\"placement\":\"custom\",\"status\":\"ok\",\"reason\":\"\",\"repetitions\":1,"
             "\"msgs_per_s\":{\"median\":%f,\"samples\":[%f]}%s}]}",
             rate, rate, cpu);
    struct ipcm_results *r;
    ck_assert_msg(ipcm_results_parse(buf, strlen(buf), &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

/* 30 rounds where the current build's wall rate is 30% lower (another process shared its
 * CPU) at the same CPU time per message; base_cpu 0: a baseline that records no CPU. */
static enum ipcm_ab_verdict judge_contended(bool cpu, double base_cpu, char *metric, size_t len)
{
    struct ipcm_ab_opts o = {.threshold = 0.05, .alpha = 0.05, .cpu = cpu};
    struct ipcm_ab_run *run = calloc(1, sizeof(*run));
    char err[256];
    ipcm_ab_init(run, &o);
    rng_state = 5;
    for (size_t i = 0; i < 31; i++) {
        double noise = 1 + 0.01 * gauss();
        struct ipcm_results *rb = doc_cpu(4e5 * noise, base_cpu * noise);
        struct ipcm_results *rc = doc_cpu(4e5 / 1.3 * noise, 2500 * noise);
        struct ipcm_ab_round r = {.warmup = i == 0};
        ck_assert_int_eq(ipcm_ab_add_round(run, &r, rb, rc, err, sizeof(err)), 0);
        ipcm_results_free(rb);
        ipcm_results_free(rc);
        if (i == 0)
            ck_assert_int_eq(ipcm_ab_plan_make(30, 1, 0.05, &run->plan), 0);
        else if (ipcm_ab_look(run, i == 30) == 1)
            break;
    }
    enum ipcm_ab_verdict v = run->cases[0].verdict;
    snprintf(metric, len, "%s", run->cases[0].metric);
    ipcm_ab_fini(run);
    free(run);
    return v;
}

START_TEST(cpu_metric_judges_cpu_time)
{
    char metric[16];
    ck_assert_int_eq(judge_contended(true, 2500, metric, sizeof(metric)), IPCM_AB_UNCHANGED);
    ck_assert_str_eq(metric, "cpu/msg");
    ck_assert_int_eq(judge_contended(false, 2500, metric, sizeof(metric)), IPCM_AB_REGRESSION);
    ck_assert_str_eq(metric, "msgs/s");
    /* A baseline without CPU figures pairs with nothing: no ratio, never a verdict. */
    ck_assert_int_eq(judge_contended(true, 0, metric, sizeof(metric)), IPCM_AB_UNDECIDED);
}
END_TEST

START_TEST(nothing_decided_fails_the_gate)
{
    struct ipcm_ab_run *run = calloc(1, sizeof(*run));
    struct ipcm_ab_opts o = {.threshold = 0.05, .alpha = 0.05};
    ipcm_ab_init(run, &o);
    run->ncases = 1;
    run->cases[0].logr = calloc(IPCM_AB_MAX_ROUNDS, sizeof(double));
    ck_assert_int_eq(ipcm_ab_plan_make(40, 1, 0.05, &run->plan), 0);
    for (int i = 0; i < 3; i++) /* the budget ran out after 3 rounds */
        run->cases[0].logr[run->measured++] = 0.5 * (i - 1);
    ck_assert_int_eq(ipcm_ab_look(run, true), 1);
    ck_assert_int_eq(run->cases[0].verdict, IPCM_AB_UNDECIDED);
    ck_assert(ipcm_ab_nothing_decided(run));
    ck_assert(ipcm_ab_failed(run));
    ck_assert(rendered_has(run, ipcm_ab_write_table, "insufficient data"));
    ipcm_ab_fini(run);
    free(run);
}
END_TEST

static Suite *ab_suite(void)
{
    Suite *s = suite_create("ab");
    TCase *sr = tcase_create("signrank"), *seq = tcase_create("sequential"),
          *rd = tcase_create("rounds");
    tcase_add_test(sr, signrank_cdf_matches_tables);
    tcase_add_test(sr, signrank_interval_of_one_to_ten);
    tcase_add_test(sr, signrank_interval_covers_at_its_level);
    tcase_add_test(seq, plan_splits_alpha_over_looks_and_cases);
    tcase_add_test(seq, judge_follows_the_interval);
    tcase_add_test(seq, aa_false_alarms_stay_below_alpha);
    tcase_add_test(seq, ten_percent_shift_is_detected);
    tcase_set_timeout(seq, 60);
    tcase_add_test(rd, rounds_give_verdicts_and_every_round_in_json);
    tcase_add_test(rd, failed_skipped_and_changed_cases);
    tcase_add_test(rd, nothing_decided_fails_the_gate);
    tcase_add_test(rd, cpu_metric_judges_cpu_time);
    suite_add_tcase(s, sr);
    suite_add_tcase(s, seq);
    suite_add_tcase(s, rd);
    return s;
}

int main(void)
{
    return ipcm_test_run(ab_suite());
}
