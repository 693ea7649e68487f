/* SPDX-License-Identifier: MIT */
/*
 * cmd_selftest.c - `ipcmark selftest`: a short, verified round trip on every backend
 * and shape, so a new host shows at a glance which mechanisms work.
 */
#include "cli.h"

#include "base.h"
#include "crew.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELFTEST_MSGS 2000u
#define SELFTEST_SIZE 64u
#define SELFTEST_TIMEOUT_MS 5000

struct selftest_arg {
    struct ipcm_link *link;
};

/* Pipe shape: end B echoes every message until end-of-stream. */
static int echo_worker(const void *arg, size_t len)
{
    const struct selftest_arg *a = arg;
    struct ipcm_chan *c;
    (void)len;
    if (ipcm_chan_open(a->link, IPCM_ROLE_B, &c) < 0)
        return 99;
    size_t cap = ipcm_chan_max_msg(c);
    char *buf = malloc(cap);
    int code = 0;
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, buf, cap, SELFTEST_TIMEOUT_MS);
        if (n == -EPIPE)
            break;
        if (n < 0 || ipcm_chan_send(c, buf, (size_t)n, SELFTEST_TIMEOUT_MS) != n) {
            code = 1;
            break;
        }
    }
    free(buf);
    ipcm_chan_close(c);
    return code;
}

/* Queue shape: a producer sends sequence numbers, then closes. */
static int producer_worker(const void *arg, size_t len)
{
    const struct selftest_arg *a = arg;
    struct ipcm_chan *c;
    unsigned char msg[SELFTEST_SIZE];
    (void)len;
    if (ipcm_chan_open(a->link, IPCM_ROLE_SEND, &c) < 0)
        return 99;
    memset(msg, 0xab, sizeof(msg));
    for (uint32_t i = 0; i < SELFTEST_MSGS; i++) {
        memcpy(msg, &i, sizeof(i));
        if (ipcm_chan_send(c, msg, sizeof(msg), SELFTEST_TIMEOUT_MS) < 0) {
            ipcm_chan_close(c);
            return 1;
        }
    }
    ipcm_chan_close(c);
    return 0;
}

static int run_pipe(struct ipcm_link *l, struct ipcm_chan *c, char *detail, size_t dlen)
{
    size_t cap = ipcm_chan_max_msg(c);
    char *buf = malloc(cap);
    unsigned char msg[SELFTEST_SIZE];
    int r = 0;
    uint64_t t0 = ipcm_now_ns();
    (void)l;
    memset(msg, 0x5a, sizeof(msg));
    for (uint32_t i = 0; i < SELFTEST_MSGS && r == 0; i++) {
        memcpy(msg, &i, sizeof(i));
        ssize_t n = ipcm_chan_send(c, msg, sizeof(msg), SELFTEST_TIMEOUT_MS);
        if (n >= 0)
            n = ipcm_chan_recv(c, buf, cap, SELFTEST_TIMEOUT_MS);
        if (n < 0)
            r = (int)n;
        else if (n != (ssize_t)sizeof(msg) || memcmp(buf, msg, sizeof(msg)) != 0)
            r = -EPROTO;
    }
    uint64_t dt = ipcm_ns_since(t0);
    if (r == 0)
        snprintf(detail, dlen, "%u round trips of %u B, mean %.1f us", SELFTEST_MSGS, SELFTEST_SIZE,
                 (double)dt / SELFTEST_MSGS / (double)IPCM_NS_PER_US);
    free(buf);
    return r;
}

static int run_queue(struct ipcm_chan *c, char *detail, size_t dlen)
{
    size_t cap = ipcm_chan_max_msg(c);
    char *buf = malloc(cap);
    uint32_t expect = 0;
    int r = 0;
    uint64_t t0 = ipcm_now_ns();
    for (;;) {
        ssize_t n = ipcm_chan_recv(c, buf, cap, SELFTEST_TIMEOUT_MS);
        if (n == -EPIPE)
            break;
        uint32_t seq;
        if (n < 0) {
            r = (int)n;
            break;
        }
        memcpy(&seq, buf, sizeof(seq));
        if (n != SELFTEST_SIZE || seq != expect++) {
            r = -EPROTO;
            break;
        }
    }
    if (r == 0 && expect != SELFTEST_MSGS)
        r = -EPROTO;
    uint64_t dt = ipcm_ns_since(t0);
    if (r == 0)
        snprintf(detail, dlen, "%u messages of %u B in order, then end-of-stream, %.2f M msg/s",
                 SELFTEST_MSGS, SELFTEST_SIZE, SELFTEST_MSGS / ipcm_ns_to_s(dt) / 1e6);
    free(buf);
    return r;
}

/* One row; *env is set when the channel could not even be made for a limit of this
 * environment (a file-size or descriptor limit), which is not the backend's fault. */
static int selftest_one(const struct ipcm_backend *be, enum ipcm_shape shape, char *detail,
                        size_t dlen, bool *env)
{
    struct ipcm_config cfg = {.max_msg = 4096, .depth = 0};
    struct ipcm_crew crew = IPCM_CREW_INIT;
    struct ipcm_link *l;
    struct ipcm_chan *c = NULL;
    int r = ipcm_link_create(be, shape, &cfg, &l);
    if (r < 0) {
        *env = ipcm_err_environmental(r);
        return r;
    }
    struct selftest_arg a = {.link = l};
    if ((r = ipcm_crew_init(&crew, 1)) == 0)
        r = ipcm_crew_spawn(&crew, shape == IPCM_SHAPE_PIPE ? "selftest echo" : "selftest producer",
                            shape == IPCM_SHAPE_PIPE ? echo_worker : producer_worker, &a,
                            sizeof(a));
    if (r < 0) {
        ipcm_crew_stop(&crew);
        ipcm_link_destroy(l);
        return r;
    }
    r = ipcm_chan_open(l, shape == IPCM_SHAPE_PIPE ? IPCM_ROLE_A : IPCM_ROLE_RECV, &c);
    ipcm_link_destroy(l);
    if (r == 0)
        r = shape == IPCM_SHAPE_PIPE ? run_pipe(l, c, detail, dlen) : run_queue(c, detail, dlen);
    ipcm_chan_close(c);
    if (ipcm_crew_join(&crew, SELFTEST_TIMEOUT_MS, NULL, 0) < 0 && r == 0) {
        char why[48];
        snprintf(detail, dlen, "worker failed: %s",
                 ipcm_exit_describe(&crew.m[0].ex, why, sizeof(why)));
        r = -EPROTO;
    }
    ipcm_crew_stop(&crew);
    return r;
}

int ipcm_cmd_selftest(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c, failed = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: ipcmark selftest\n\nA short verified round trip on every backend "
                   "and shape.\n");
            return IPCM_EXIT_OK;
        }
        return ipcm_usage_error("selftest", "unknown option (try --help)");
    }
    if (optind < argc)
        return ipcm_usage_error("selftest", "unexpected argument '%s' (try --help)", argv[optind]);
    int unavailable = 0;
    printf("%-11s %-6s %-5s %s\n", "backend", "shape", "result", "detail");
    for (size_t i = 0; i < ipcm_backend_count(); i++) {
        const struct ipcm_backend *be = ipcm_backend_at(i);
        for (int s = 0; s < 2; s++) {
            char detail[160] = "";
            bool env = false;
            int r = selftest_one(be, (enum ipcm_shape)s, detail, sizeof(detail), &env);
            if (r < 0 && !detail[0])
                snprintf(detail, sizeof(detail), "%s (%s)", ipcm_error_text(r), ipcm_err_name(r));
            printf("%-11s %-6s %-5s %s\n", ipcm_backend_name(be), s ? "pipe" : "queue",
                   r == 0 ? "ok"
                   : env  ? "n/a"
                          : "FAIL",
                   detail);
            failed += r < 0 && !env;
            unavailable += env;
        }
    }
    /* Exit codes: a failure first, then "could not run everything here" (3). */
    return failed ? IPCM_EXIT_FAIL : unavailable ? IPCM_EXIT_ENV : IPCM_EXIT_OK;
}
