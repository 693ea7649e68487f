/* SPDX-License-Identifier: MIT */
/*
 * fuzz_results_read.c - libFuzzer target: the results reader on arbitrary bytes, then
 * compare, every renderer and both exports on whatever it accepts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compare.h"
#include "results_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render(const struct ipcm_results *base, const struct ipcm_results *cur, FILE *out)
{
    struct ipcm_cmp_opts o = {.threshold = 0.10, .alpha = 0.05, .base_label = "b"};
    struct ipcm_cmp_report *rep;
    if (ipcm_compare(base, cur, &o, &rep) < 0)
        return;
    ipcm_cmp_write_table(rep, out);
    ipcm_cmp_write_markdown(rep, out);
    ipcm_cmp_write_json(rep, out);
    (void)ipcm_cmp_failed(rep);
    ipcm_cmp_report_free(rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    struct ipcm_results *r, *half;
    char err[256];

    if (!sink)
        sink = fopen("/dev/null", "w");
    if (ipcm_results_parse((const char *)data, size, &r, err, sizeof(err)) < 0)
        return 0;
    /* Against itself (every case matched) and against a file with only the first
     * half of its cases (new and missing lists). */
    render(r, r, sink);
    if (ipcm_results_parse((const char *)data, size, &half, err, sizeof(err)) == 0) {
        half->ncases /= 2;
        render(half, r, sink);
        half->ncases = r->ncases; /* so free releases every case */
        ipcm_results_free(half);
    }
    ipcm_export_gbench(r, sink);
    ipcm_export_bencher(r, sink);
    ipcm_results_free(r);
    return 0;
}
