/* SPDX-License-Identifier: MIT */
/*
 * test_results.c - the result writers: the JSON parses back with jansson and carries
 * the DESIGN.md §7 fields, the team's reader (compare/plot) accepts it, the CSV has one
 * row per case; and a tiny real run verifies every message it moved.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "results.h"
#include "results_read.h"

static struct ipcm_bench_case cases[3];
static struct ipcm_bench_run run = {cases, 3};

/* count samples with min, p50, p90, p99, p999, max and mean v[0..6]. */
static void set_latency(struct ipcm_bench_latency *l, uint64_t count, const double v[7])
{
    *l = (struct ipcm_bench_latency){.count = count,
                                     .min = v[0],
                                     .p50 = v[1],
                                     .p90 = v[2],
                                     .p99 = v[3],
                                     .p999 = v[4],
                                     .max = v[5],
                                     .mean = v[6]};
}

/* Three synthetic cases: throughput ok, latency ok, throughput skipped; converted into
 * the record the way a bench run is (ipcm_bench_record). */
static void make_record(struct ipcm_results *r)
{
    const struct ipcm_backend *pipe = ipcm_backend_find("pipe");
    ck_assert_ptr_nonnull(pipe);
    memset(cases, 0, sizeof(cases));
    ipcm_record_init(r);
    struct ipcm_calibration *cal = r->calibration.at;
    cal[0] = (struct ipcm_calibration){.line_rtt_ns = 66.0,
                                       .cpu_a = 0,
                                       .cpu_b = 1,
                                       .memcpy_64k_gbs = 57.0,
                                       .stream_64k_gbs = 30.0,
                                       .raw_pipe_same_ns = 5000,
                                       .raw_pipe_cross_ns = 40000,
                                       .timer_overhead_ns = 20.0,
                                       .timer_resolution_ns = 1};
    cal[1] = cal[0];
    cal[1].line_rtt_ns = 67.0;
    cal[1].memcpy_64k_gbs = 56.0;
    r->calibration.have_end = true;

    struct ipcm_bench_case *t = &cases[0];
    t->mode = &ipcm_bench_mode_throughput;
    t->params = (struct ipcm_bench_params){
        .be = pipe, .shape = IPCM_SHAPE_QUEUE, .size = 64, .producers = 2, .consumers = 2};
    t->status = IPCM_CASE_OK;
    t->repetitions = 5;
    for (int i = 0; i < 5; i++) {
        t->msgs_per_s[i] = 1e6 + i * 1e4;
        t->bytes_per_s[i] = t->msgs_per_s[i] * 64;
    }
    ipcm_stats_summarize(t->msgs_per_s, 5, &t->msgs);
    ipcm_stats_summarize(t->bytes_per_s, 5, &t->bytes);
    t->has_cpu = true;
    for (int i = 0; i < 5; i++) {
        t->cpu_ns_per_msg[i] = 900 + i * 10;
        t->csw_per_msg[i] = 0.5;
        t->cpus_busy[i] = 1.9;
    }
    ipcm_stats_summarize(t->cpu_ns_per_msg, 5, &t->cpu_ns);
    ipcm_stats_summarize(t->csw_per_msg, 5, &t->csw);
    ipcm_stats_summarize(t->cpus_busy, 5, &t->busy);
    t->has_latency = true;
    t->latency_kind = "one-way";
    set_latency(&t->latency, 100, (const double[7]){1000, 2000, 3000, 4000, 5000, 6000, 2100});
    t->verified.messages = 5000000;

    struct ipcm_bench_case *l = &cases[1];
    l->mode = &ipcm_bench_mode_latency;
    l->params = (struct ipcm_bench_params){.be = pipe,
                                           .shape = IPCM_SHAPE_PIPE,
                                           .size = 64,
                                           .placement = IPCM_PLACE_CROSS_CPU,
                                           .cpus = {0, 1},
                                           .ncpus = 2};
    l->status = IPCM_CASE_OK;
    l->repetitions = 3;
    l->has_latency = true;
    l->latency_kind = "round-trip";
    set_latency(&l->latency, 3000,
                (const double[7]){40000, 45000, 50000, 60000, 90000, 200000, 46000});
    memcpy(l->latency.p50_samples, (const double[3]){44000, 45000, 46000}, 3 * sizeof(double));
    memcpy(l->latency.p99_samples, (const double[3]){59000, 60000, 61000}, 3 * sizeof(double));
    l->verified.messages = 3000;

    struct ipcm_bench_case *s = &cases[2];
    s->mode = &ipcm_bench_mode_throughput;
    s->params = (struct ipcm_bench_params){
        .be = pipe, .shape = IPCM_SHAPE_QUEUE, .size = 1u << 30, .producers = 1, .consumers = 1};
    s->status = IPCM_CASE_SKIPPED;
    snprintf(s->reason, sizeof(s->reason), "1073741824 B exceeds the largest message, \"x\"");
    ck_assert_int_eq(ipcm_bench_record(&run, r), 0);
}

static json_t *field(json_t *o, const char *path)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    ck_assert_msg(o != NULL, "missing field %s", path);
    return o;
}

/* The reader compare and plot use accepts what we write. */
static void reader_accepts(const char *path)
{
    struct ipcm_results *rr = NULL;
    char why[256] = "";
    ck_assert_msg(ipcm_results_load(path, &rr, why, sizeof(why)) == 0, "reader: %s", why);
    ck_assert_uint_eq(rr->ncases, 3);
    ck_assert(rr->cases[0].msgs_per_s.present);
    ck_assert(rr->cases[1].latency_ns.present);
    /* The CPU cost travels too, with its samples; a case without it reads as absent. */
    ck_assert(rr->cases[0].cpu_ns_per_msg.present);
    ck_assert_double_eq_tol(rr->cases[0].cpu_ns_per_msg.median, 920, 1e-9);
    ck_assert_uint_eq(rr->cases[0].cpu_ns_per_msg.nsamples, 5);
    ck_assert_double_eq_tol(rr->cases[0].cpus_busy.median, 1.9, 1e-9);
    ck_assert_double_eq_tol(rr->cases[0].csw_per_msg.median, 0.5, 1e-9);
    ck_assert(!rr->cases[1].cpu_ns_per_msg.present);
    ipcm_results_free(rr);
}

START_TEST(json_round_trips_with_the_schema_fields)
{
    struct ipcm_results r;
    make_record(&r);
    json_t *cfgj = json_pack("{s:s}", "mode", "throughput");
    r.config = cfgj;
    char path[] = "/tmp/ipcm-test-results-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(ipcm_record_write_json(&r, path), 0);

    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    ck_assert_msg(root != NULL, "%s", err.text);
    ck_assert_str_eq(json_string_value(field(root, "schema")), "ipcmark-results/1");
    ck_assert(json_is_string(field(root, "tool.version")));
    ck_assert(json_is_string(field(root, "tool.git")));
    ck_assert(json_is_string(field(root, "created_utc")));
    ck_assert(json_is_string(field(root, "host.kernel")));
    ck_assert(json_is_string(field(root, "host.cpu_model")));
    ck_assert(json_is_integer(field(root, "host.cpus_online")));
    const char *limits[] = {"pipe_buf", "pipe_max_size", "mqueue_msg_max", "mqueue_msgsize_max",
                            "wmem_max"};
    json_t *lim = field(root, "host.limits");
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
        ck_assert_msg(json_object_get(lim, limits[i]), "host.limits.%s", limits[i]);
    json_t *rtt = field(root, "host.calibration.line_rtt_ns");
    ck_assert_uint_eq(json_array_size(rtt), 2);
    ck_assert(json_real_value(json_array_get(rtt, 0)) == 66.0);
    ck_assert_uint_eq(json_array_size(field(root, "host.calibration.memcpy_64k_gbs")), 2);
    json_t *stream = field(root, "host.calibration.stream_64k_gbs");
    ck_assert_uint_eq(json_array_size(stream), 2);
    ck_assert(json_real_value(json_array_get(stream, 0)) == 30.0);
    ck_assert(json_is_string(field(root, "build.compiler")));
    ck_assert(json_is_string(field(root, "build.flags")));
    ck_assert(json_is_string(field(root, "build.type")));
    ck_assert_str_eq(json_string_value(field(root, "timer.clock")), "CLOCK_MONOTONIC");
    ck_assert(json_is_number(field(root, "timer.overhead_ns")));
    ck_assert_str_eq(json_string_value(field(root, "config.mode")), "throughput");

    json_t *cs = field(root, "cases");
    ck_assert_uint_eq(json_array_size(cs), 3);
    json_t *t = json_array_get(cs, 0);
    const char *keys[] = {"mode",      "backend",     "shape",      "size",        "producers",
                          "consumers", "workers",     "placement",  "cpus",        "status",
                          "reason",    "repetitions", "msgs_per_s", "bytes_per_s", "verified"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_msg(json_object_get(t, keys[i]), "cases[0].%s", keys[i]);
    ck_assert_str_eq(json_string_value(field(t, "shape")), "queue");
    ck_assert_str_eq(json_string_value(field(t, "placement")), "unpinned");
    ck_assert_int_eq(json_integer_value(field(t, "producers")), 2);
    json_t *m = field(t, "msgs_per_s");
    ck_assert(json_real_value(field(m, "median")) == 1.02e6);
    ck_assert_uint_eq(json_array_size(field(m, "ci95")), 2);
    ck_assert_uint_eq(json_array_size(field(m, "samples")), 5);
    ck_assert(json_is_number(field(m, "mad")));
    ck_assert_uint_eq(json_array_size(field(t, "cpu_ns_per_msg.samples")), 5);
    ck_assert(json_real_value(field(t, "cpus_busy.median")) == 1.9);
    ck_assert(json_is_number(field(t, "csw_per_msg.max")));
    ck_assert_int_eq(json_integer_value(field(t, "verified.lost")), 0);
    ck_assert_int_eq(json_integer_value(field(t, "verified.messages")), 5000000);

    json_t *l = json_array_get(cs, 1);
    ck_assert_str_eq(json_string_value(field(l, "placement")), "cross-cpu");
    ck_assert_uint_eq(json_array_size(field(l, "cpus")), 2);
    const char *lk[] = {"min", "p50", "p90", "p99", "p999", "max", "mean", "p50_samples"};
    for (size_t i = 0; i < sizeof(lk) / sizeof(lk[0]); i++)
        ck_assert_msg(json_object_get(field(l, "latency_ns"), lk[i]), "latency_ns.%s", lk[i]);
    ck_assert(json_real_value(field(l, "latency_ns.p50")) == 45000);

    json_t *s = json_array_get(cs, 2);
    ck_assert_str_eq(json_string_value(field(s, "status")), "skipped");
    ck_assert(strstr(json_string_value(field(s, "reason")), "exceeds") != NULL);
    ck_assert_ptr_null(json_object_get(s, "msgs_per_s"));

    reader_accepts(path);

    json_decref(root);
    json_decref(cfgj);
    ipcm_record_fini(&r);
    unlink(path);
}
END_TEST

START_TEST(csv_has_a_header_and_one_row_per_case)
{
    struct ipcm_results r;
    make_record(&r);
    char path[] = "/tmp/ipcm-test-csv-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(ipcm_record_write_csv(&r, path), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int rows = 0, header_cols = 0;
    while (fgets(line, sizeof(line), f)) {
        int cols = 1, quoted = 0;
        for (char *p = line; *p; p++) {
            if (*p == '"')
                quoted = !quoted;
            else if (*p == ',' && !quoted)
                cols++;
        }
        if (rows == 0) {
            header_cols = cols;
            ck_assert(strncmp(line, "mode,backend,shape,size_bytes,", 30) == 0);
            /* Units in the names: no bare msgs_min or lost. */
            ck_assert(strstr(line, ",msgs_per_s_min,") && !strstr(line, ",msgs_min,"));
            ck_assert(strstr(line, ",lost_messages,") && strstr(line, ",cpu_ns_per_msg_max,"));
        } else {
            ck_assert_int_eq(cols, header_cols);
        }
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 4);
    ipcm_record_fini(&r);
    unlink(path);
}
END_TEST

START_TEST(ranking_names_the_best_and_the_margin)
{
    struct ipcm_results r;
    make_record(&r);
    struct ipcm_rank rk[8];
    size_t n = ipcm_record_rank(&r, rk, 8);
    ck_assert_uint_ge(n, 1);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(rk[i].best, "pipe");
    ipcm_record_fini(&r);
}
END_TEST

START_TEST(a_tiny_real_run_verifies_every_message)
{
    struct ipcm_bench_config cfg;
    struct ipcm_bench_run out = {0};
    ipcm_bench_config_defaults(&cfg);
    cfg.backends[0] = ipcm_backend_find("pipe");
    cfg.nbackends = 1;
    cfg.sizes[0] = 8, cfg.sizes[1] = 100, cfg.sizes[2] = 4096;
    cfg.nsizes = 3;
    cfg.producers[0] = 2;
    cfg.consumers[0] = 2;
    cfg.messages = 3000;
    cfg.duration_ns = 0;
    cfg.repeat = 2;
    cfg.warmup_ns = 0;
    ck_assert_int_eq(ipcm_bench_run(&cfg, &out), 0);
    cfg.mode = "latency";
    cfg.messages = 200;
    cfg.nsizes = 1;
    ck_assert_int_eq(ipcm_bench_run(&cfg, &out), 0);
    ck_assert_uint_ge(out.ncases, 4);
    for (size_t i = 0; i < out.ncases; i++) {
        const struct ipcm_bench_case *c = &out.cases[i];
        ck_assert_msg(c->status == IPCM_CASE_OK, "case %zu: %s", i, c->reason);
        ck_assert_uint_eq(c->repetitions, 2);
        ck_assert_uint_eq(c->verified.lost + c->verified.duplicated + c->verified.reordered +
                              c->verified.corrupt,
                          0);
        if (c->mode == &ipcm_bench_mode_throughput)
            ck_assert_uint_eq(c->verified.messages, 2 * 3000);
        else
            ck_assert_uint_eq(c->latency.count, 2 * 200);
        /* Every case has its CPU cost: some CPU per message, and never more CPUs busy
         * than it has participants (4 in 2x2, 2 ends in latency), plus rounding. */
        unsigned parts = c->mode == &ipcm_bench_mode_throughput ? 4 : 2;
        ck_assert_msg(c->has_cpu, "case %zu has no CPU figures", i);
        ck_assert(c->cpu_ns.median > 0);
        ck_assert(c->busy.median > 0 && c->busy.median <= parts * 1.05);
        ck_assert(c->csw.median >= 0);
    }
    ck_assert_int_eq(ipcm_test_child_count(), 0);
    ipcm_bench_run_free(&out);
}
END_TEST

START_TEST(oversized_and_undersized_messages_are_skipped_with_the_limit_named)
{
    struct ipcm_bench_config cfg;
    struct ipcm_bench_run out = {0};
    ipcm_bench_config_defaults(&cfg);
    cfg.backends[0] = ipcm_backend_find("pipe");
    cfg.nbackends = 1;
    cfg.sizes[0] = 4, cfg.sizes[1] = UINT64_C(1) << 30;
    cfg.nsizes = 2;
    cfg.messages = 10;
    cfg.repeat = 1;
    ck_assert_int_eq(ipcm_bench_run(&cfg, &out), 0);
    ck_assert_uint_eq(out.ncases, 2);
    ck_assert_int_eq(out.cases[0].status, IPCM_CASE_SKIPPED);
    ck_assert_int_eq(out.cases[1].status, IPCM_CASE_SKIPPED);
    ck_assert(strstr(out.cases[1].reason, "pipe-max-size") != NULL);
    ipcm_bench_run_free(&out);
}
END_TEST

static Suite *results_suite(void)
{
    Suite *s = suite_create("results");
    TCase *tc = tcase_create("results");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, json_round_trips_with_the_schema_fields);
    tcase_add_test(tc, csv_has_a_header_and_one_row_per_case);
    tcase_add_test(tc, ranking_names_the_best_and_the_margin);
    tcase_add_test(tc, a_tiny_real_run_verifies_every_message);
    tcase_add_test(tc, oversized_and_undersized_messages_are_skipped_with_the_limit_named);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ipcm_test_run(results_suite());
}
