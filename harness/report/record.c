/* SPDX-License-Identifier: MIT */
/*
 * record.c - the parts of the results record shared by its writer, its reader and
 * compare: case keys and their order, status names, owned samples.
 */
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ipcm_rr_status_name(enum ipcm_rr_status s)
{
    return s == IPCM_RR_OK ? "ok" : s == IPCM_RR_SKIPPED ? "skipped" : "failed";
}

int ipcm_rr_samples_dup(const double *v, size_t n, double **out)
{
    *out = NULL;
    if (!n)
        return 0;
    *out = malloc(n * sizeof(**out));
    if (!*out)
        return -ENOMEM;
    memcpy(*out, v, n * sizeof(**out));
    return 0;
}

int ipcm_rr_stat_set(struct ipcm_rr_stat *st, const struct ipcm_summary *s, const double *samples,
                     size_t n)
{
    st->present = true;
    st->median = s->median;
    st->min = s->min;
    st->max = s->max;
    st->mad = s->mad;
    st->ci_lo = s->ci_lo;
    st->ci_hi = s->ci_hi;
    st->ci_level = s->ci_level;
    st->nsamples = 0;
    if (ipcm_rr_samples_dup(samples, n, &st->samples) < 0)
        return -ENOMEM;
    st->nsamples = n;
    return 0;
}

const char *ipcm_rr_case_key(const struct ipcm_rr_case *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%s/%llu/%ux%u/w%u/%s%s%s", c->mode, c->backend,
             c->shape[0] ? c->shape : "-", (unsigned long long)c->size, c->producers, c->consumers,
             c->workers, c->placement[0] ? c->placement : "-", c->start_method[0] ? "/" : "",
             c->start_method);
    return buf;
}

int ipcm_rr_case_cmp(const struct ipcm_rr_case *a, const struct ipcm_rr_case *b)
{
    int r;
    if ((r = strcmp(a->mode, b->mode)) || (r = strcmp(a->backend, b->backend)) ||
        (r = strcmp(a->shape, b->shape)))
        return r;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    if (a->producers != b->producers)
        return a->producers < b->producers ? -1 : 1;
    if (a->consumers != b->consumers)
        return a->consumers < b->consumers ? -1 : 1;
    if (a->workers != b->workers)
        return a->workers < b->workers ? -1 : 1;
    if ((r = strcmp(a->placement, b->placement)))
        return r;
    return strcmp(a->start_method, b->start_method);
}

static void free_case(struct ipcm_rr_case *c)
{
    free(c->msgs_per_s.samples);
    free(c->bytes_per_s.samples);
    free(c->tasks_per_s.samples);
    free(c->cpu_ns_per_msg.samples);
    free(c->csw_per_msg.samples);
    free(c->cpus_busy.samples);
    free(c->latency_ns.p50_samples);
    free(c->latency_ns.p99_samples);
    free(c->oneway_ns.p50_samples);
    free(c->oneway_ns.p99_samples);
}

void ipcm_record_fini(struct ipcm_results *r)
{
    for (size_t i = 0; i < r->ncases; i++)
        free_case(&r->cases[i]);
    free(r->cases);
    r->cases = NULL;
    r->ncases = 0;
}

void ipcm_results_free(struct ipcm_results *r)
{
    if (!r)
        return;
    ipcm_record_fini(r);
    free(r);
}
