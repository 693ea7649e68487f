/* SPDX-License-Identifier: MIT */
/*
 * check_report.c - the conformance run as files: JSON with jansson, JUnit XML by hand
 * (the format is small, and its escaping rules are the only subtle part).
 */
#include "check_report.h"

#include "outfile.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "ipcmark.h"

struct ipcm_check_tally ipcm_check_report_tally(const struct ipcm_check_report *r, size_t b)
{
    struct ipcm_check_tally t = {0};
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t k = 0; k < r->nbackends; k++) {
            if ((b != IPCM_CHECK_REPORT_ALL && k != b) || r->rows[i * r->nbackends + k].omitted)
                continue;
            switch (r->rows[i * r->nbackends + k].outcome) {
            case IPCM_CHECK_REPORT_PASS: t.pass++; break;
            case IPCM_CHECK_REPORT_FAIL: t.fail++; break;
            case IPCM_CHECK_REPORT_HANG: t.hang++; break;
            case IPCM_CHECK_REPORT_NA: t.na++; break;
            case IPCM_CHECK_REPORT_TODO: t.todo++; break;
            case IPCM_CHECK_REPORT_ENV: t.env++; break;
            }
        }
    return t;
}

static const char *outcome_json(enum ipcm_check_report_outcome o)
{
    switch (o) {
    case IPCM_CHECK_REPORT_PASS: return "pass";
    case IPCM_CHECK_REPORT_FAIL: return "fail";
    case IPCM_CHECK_REPORT_HANG: return "hang";
    case IPCM_CHECK_REPORT_NA: return "n/a";
    case IPCM_CHECK_REPORT_ENV: return "env";
    case IPCM_CHECK_REPORT_TODO: break;
    }
    return "not_implemented";
}

static json_t *row_json(const struct ipcm_check_report_row *x, const char *backend)
{
    return json_pack("{s:s, s:i, s:s, s:s, s:f, s:s, s:{s:I, s:I, s:I, s:I, s:I}}", "case",
                     x->case_id, "num", (int)x->num, "backend", backend, "outcome",
                     outcome_json(x->outcome), "duration_s", x->duration_s, "message", x->message,
                     "counts", "messages", (json_int_t)x->messages, "lost", (json_int_t)x->lost,
                     "duplicated", (json_int_t)x->duplicated, "reordered", (json_int_t)x->reordered,
                     "corrupt", (json_int_t)x->corrupt);
}

int ipcm_check_report_write_json(const struct ipcm_check_report *r, const char *path)
{
    json_t *root = json_object(), *results = json_array(), *bes = json_array();
    struct ipcm_check_tally t = ipcm_check_report_tally(r, IPCM_CHECK_REPORT_ALL);
    for (size_t b = 0; b < r->nbackends; b++)
        json_array_append_new(bes, json_string(r->backends[b]));
    json_object_set_new(root, "schema", json_string("ipcmark-check/1"));
    json_object_set_new(root, "version", json_string(IPCM_VERSION));
    json_object_set_new(root, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(root, "quick", json_boolean(r->quick));
    json_object_set_new(root, "duration_s", json_real(r->duration_s));
    json_object_set_new(root, "backends", bes);
    json_object_set_new(root, "summary",
                        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "passed", t.pass, "failed",
                                  t.fail + t.hang, "hung", t.hang, "not_applicable", t.na,
                                  "not_implemented", t.todo, "environment", t.env));
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t b = 0; b < r->nbackends; b++)
            if (!r->rows[i * r->nbackends + b].omitted)
                json_array_append_new(results,
                                      row_json(&r->rows[i * r->nbackends + b], r->backends[b]));
    json_object_set_new(root, "results", results);
    struct ipcm_outfile out;
    int err = ipcm_outfile_open(&out, path);
    if (err == 0) {
        json_dumpf(root, out.f, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        err = ipcm_outfile_commit(&out);
    }
    json_decref(root);
    return err;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* XML 1.0 forbids most control characters even when escaped. */
            if (ch < 0x20 && ch != '\t' && ch != '\n')
                fputc('?', f);
            else
                fputc(ch, f);
        }
    }
}

static void junit_testcase(FILE *f, const struct ipcm_check_report_row *x, const char *backend)
{
    fprintf(f, "    <testcase classname=\"conform.%s\" name=\"", backend);
    xml_escape(f, x->case_id);
    fprintf(f, "\" time=\"%.3f\"", x->duration_s);
    if (x->outcome == IPCM_CHECK_REPORT_PASS) {
        fprintf(f, "/>\n");
        return;
    }
    const char *tag = x->outcome == IPCM_CHECK_REPORT_FAIL || x->outcome == IPCM_CHECK_REPORT_HANG
                          ? "failure"
                          : "skipped";
    fprintf(f, ">\n      <%s message=\"", tag);
    if (x->outcome == IPCM_CHECK_REPORT_HANG)
        fputs("HANG: ", f);
    if (x->outcome == IPCM_CHECK_REPORT_ENV)
        fputs("environment: ", f);
    if (x->outcome == IPCM_CHECK_REPORT_TODO)
        fputs("not yet implemented", f);
    else
        xml_escape(f, x->message);
    fprintf(f, "\"%s/>\n    </testcase>\n",
            x->outcome == IPCM_CHECK_REPORT_HANG ? " type=\"HANG\"" : "");
}

/* The rows listed for backend column b (b < nbackends), or in all (IPCM_CHECK_REPORT_ALL). */
static size_t listed(const struct ipcm_check_report *r, size_t b)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t k = 0; k < r->nbackends; k++)
            if ((b == IPCM_CHECK_REPORT_ALL || k == b) && !r->rows[i * r->nbackends + k].omitted)
                n++;
    return n;
}

int ipcm_check_report_write_junit(const struct ipcm_check_report *r, const char *path)
{
    struct ipcm_outfile out;
    int err = ipcm_outfile_open(&out, path);
    if (err < 0)
        return err;
    FILE *f = out.f;
    struct ipcm_check_tally all = ipcm_check_report_tally(r, IPCM_CHECK_REPORT_ALL);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"ipcmark check\" tests=\"%zu\" failures=\"%d\" skipped=\"%d\" "
            "time=\"%.3f\">\n",
            listed(r, IPCM_CHECK_REPORT_ALL), all.fail + all.hang, all.na + all.todo + all.env,
            r->duration_s);
    for (size_t b = 0; b < r->nbackends; b++) {
        struct ipcm_check_tally t = ipcm_check_report_tally(r, b);
        double secs = 0;
        for (size_t i = 0; i < r->ncases; i++)
            secs += r->rows[i * r->nbackends + b].duration_s;
        fprintf(f,
                "  <testsuite name=\"conform.%s\" tests=\"%zu\" failures=\"%d\" "
                "skipped=\"%d\" time=\"%.3f\">\n",
                r->backends[b], listed(r, b), t.fail + t.hang, t.na + t.todo + t.env, secs);
        fprintf(f, "    <properties><property name=\"seed\" value=\"%llu\"/></properties>\n",
                (unsigned long long)r->seed);
        for (size_t i = 0; i < r->ncases; i++)
            if (!r->rows[i * r->nbackends + b].omitted)
                junit_testcase(f, &r->rows[i * r->nbackends + b], r->backends[b]);
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    return ipcm_outfile_commit(&out);
}
