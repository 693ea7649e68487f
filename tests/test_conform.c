/* SPDX-License-Identifier: MIT */
/*
 * test_conform.c - the conformance table (harness/check) under libcheck: one TCase per
 * case id that applies to $IPCM_BACKEND, so `ipcmark check` and ctest count the same
 * cases. CK_RUN_CASE=<id> selects one; IPCM_CHECK_SEED replays a seed.
 */
#include "testutil.h"

#include "conform.h"

#include <stdio.h>
#include <stdlib.h>

static struct ipcm_check_env env;
static const struct ipcm_check_case *cases[512];

static void run_case(int i)
{
    struct ipcm_check_result res;
    ipcm_check_run(cases[i], &env, &res);
    if (res.outcome == IPCM_CHECK_NA)
        fprintf(stderr, "%s: n/a at run time: %s\n", cases[i]->id, res.message);
    ck_assert_msg(res.outcome == IPCM_CHECK_PASS || res.outcome == IPCM_CHECK_NA,
                  "%s [%s] %s: %s (seed %llu)", cases[i]->id, ipcm_backend_name(env.be),
                  ipcm_check_outcome_name(res.outcome), res.message, (unsigned long long)env.seed);
}

START_TEST(conformance_case)
{
    run_case(_i);
}
END_TEST

static Suite *conform_suite(void)
{
    Suite *s = suite_create("conform");
    const struct ipcm_backend *be = ipcm_test_backend();
    if (!be)
        return s; /* no tests: ipcm_test_run reports "skipped" */
    const char *seed = getenv("IPCM_CHECK_SEED");
    ipcm_check_env_init(&env, be, seed ? strtoull(seed, NULL, 10) : 20240601u,
                        getenv("IPCM_CHECK_QUICK") != NULL);
    int n = 0;
    for (size_t i = 0; i < ipcm_check_count() && n < 512; i++) {
        const struct ipcm_check_case *c = ipcm_check_at(i);
        char why[256];
        /* Only applicable, implemented cases become tests; the rest are listed by
         * `ipcmark check` as n/a or not yet implemented, never counted as passed. */
        if (!c->fn || ipcm_check_applies(c, &env, why, sizeof(why)))
            continue;
        cases[n] = c;
        TCase *tc = tcase_create(c->id);
        /* The runner's watchdog fires first; libcheck's timeout is the backstop. */
        tcase_set_timeout(tc, (double)c->timeout_ms / 1000.0 + 5.0);
        tcase_add_loop_test(tc, conformance_case, n, n + 1);
        suite_add_tcase(s, tc);
        n++;
    }
    return s;
}

int main(void)
{
    return ipcm_test_run(conform_suite());
}
