/* SPDX-License-Identifier: MIT */
/*
 * cmd_check.c - `ipcmark check`: the conformance catalogue on every selected backend;
 * a matrix on stdout, a summary line, JSON (jansson) and JUnit XML reports.
 */
#include "cli.h"
#include "conform.h"

#include <limits.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_BACKENDS 16

struct run {
    const struct ipcm_check_case **cases;
    size_t ncases;
    const struct ipcm_backend *be[MAX_BACKENDS];
    size_t nbe;
    struct ipcm_check_result *res; /* ncases x nbe */
    uint64_t seed;
    bool quick;
    double total_s;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ipcmark check [-b LIST] [--case GLOB] [--list] [--quick] [--seed N]\n"
            "                     [--json FILE] [--junit FILE] [--help]\n\n"
            "Run the conformance catalogue (CONFORMANCE.md §5) on each backend. Every case\n"
            "runs in its own process group under a watchdog; the outcome is pass, FAIL,\n"
            "HANG (watchdog expired) or n/a (with the capability or limit that rules it out).\n\n"
            "  -b, --backends LIST  comma list of backends, or 'all' (default)\n"
            "  -c, --case GLOB      only cases whose id matches (comma list of globs)\n"
            "  -l, --list           list the cases and exit\n"
            "  -q, --quick          the quick subset with smaller counts (< 30 s)\n"
            "  -s, --seed N         seed for random sizes and kill points (printed; replays)\n"
            "  -j, --json FILE      per case and backend: outcome, duration, counts, message\n"
            "  -u, --junit FILE     JUnit XML, one testcase per case and backend\n\n"
            "Exit: 0 nothing failed, 1 a case failed or hung, 2 usage error.\n");
}

static void shapes_str(unsigned s, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", s & IPCM_CHECK_Q ? "Q" : "", s & IPCM_CHECK_QP ? "" : "-",
             s & IPCM_CHECK_P ? "P" : "");
}

static void list_cases(const struct run *r)
{
    printf("%-44s %4s %-3s %-5s %s\n", "case", "num", "shp", "quick", "summary");
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_check_case *c = r->cases[i];
        char sh[8];
        shapes_str(c->shapes, sh, sizeof(sh));
        printf("%-44s %4u %-3s %-5s %s%s\n", c->id, c->num, sh,
               (c->flags & IPCM_CHECK_QUICK) ? "yes" : "", c->summary,
               c->fn ? "" : (c->na ? "  [n/a]" : "  [not yet implemented]"));
    }
    printf("%zu cases\n", r->ncases);
}

static const char *cell(const struct ipcm_check_result *res)
{
    return res->outcome == IPCM_CHECK_TODO ? "todo" : ipcm_check_outcome_name(res->outcome);
}

static void print_matrix(const struct run *r)
{
    printf("%-44s", "case");
    for (size_t b = 0; b < r->nbe; b++)
        printf(" %-11s", ipcm_backend_name(r->be[b]));
    putchar('\n');
    for (size_t i = 0; i < r->ncases; i++) {
        printf("%-44s", r->cases[i]->id);
        for (size_t b = 0; b < r->nbe; b++)
            printf(" %-11s", cell(&r->res[i * r->nbe + b]));
        putchar('\n');
    }
    /* Why each failure failed, then why each n/a does not apply (grouped). */
    bool hdr = false;
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t b = 0; b < r->nbe; b++) {
            const struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            if (x->outcome != IPCM_CHECK_FAIL && x->outcome != IPCM_CHECK_HANG)
                continue;
            if (!hdr)
                printf("\nfailures:\n");
            hdr = true;
            printf("  %s %s [%s]: %s\n", ipcm_check_outcome_name(x->outcome), r->cases[i]->id,
                   ipcm_backend_name(r->be[b]), x->message);
        }
    hdr = false;
    for (size_t i = 0; i < r->ncases; i++) {
        for (size_t b = 0; b < r->nbe; b++) {
            const struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            if (x->outcome != IPCM_CHECK_NA)
                continue;
            /* Print a reason once per case, with the backends it holds for. */
            bool seen = false;
            for (size_t k = 0; k < b; k++) {
                const struct ipcm_check_result *y = &r->res[i * r->nbe + k];
                if (y->outcome == IPCM_CHECK_NA && strcmp(y->message, x->message) == 0)
                    seen = true;
            }
            if (seen)
                continue;
            if (!hdr)
                printf("\nnot applicable:\n");
            hdr = true;
            printf("  %s [", r->cases[i]->id);
            const char *sep = "";
            for (size_t k = b; k < r->nbe; k++) {
                const struct ipcm_check_result *y = &r->res[i * r->nbe + k];
                if (y->outcome == IPCM_CHECK_NA && strcmp(y->message, x->message) == 0) {
                    printf("%s%s", sep, ipcm_backend_name(r->be[k]));
                    sep = ",";
                }
            }
            printf("]: %s\n", x->message);
        }
    }
}

struct tally {
    int pass, fail, hang, na, todo;
};

static struct tally count(const struct run *r, size_t be_only, bool one_be)
{
    struct tally t = {0};
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t b = 0; b < r->nbe; b++) {
            if (one_be && b != be_only)
                continue;
            switch (r->res[i * r->nbe + b].outcome) {
            case IPCM_CHECK_PASS: t.pass++; break;
            case IPCM_CHECK_FAIL: t.fail++; break;
            case IPCM_CHECK_HANG: t.hang++; break;
            case IPCM_CHECK_NA: t.na++; break;
            case IPCM_CHECK_TODO: t.todo++; break;
            }
        }
    return t;
}

static int write_json(const struct run *r, const char *path)
{
    json_t *root = json_object(), *results = json_array(), *bes = json_array();
    struct tally t = count(r, 0, false);
    for (size_t b = 0; b < r->nbe; b++)
        json_array_append_new(bes, json_string(ipcm_backend_name(r->be[b])));
    json_object_set_new(root, "schema", json_string("ipcmark-check/1"));
    json_object_set_new(root, "version", json_string(IPCM_VERSION));
    json_object_set_new(root, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(root, "quick", json_boolean(r->quick));
    json_object_set_new(root, "duration_s", json_real(r->total_s));
    json_object_set_new(root, "backends", bes);
    json_object_set_new(root, "summary",
                        json_pack("{s:i, s:i, s:i, s:i, s:i}", "passed", t.pass, "failed",
                                  t.fail + t.hang, "hung", t.hang, "not_applicable", t.na,
                                  "not_implemented", t.todo));
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t b = 0; b < r->nbe; b++) {
            const struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            const char *outcome = x->outcome == IPCM_CHECK_PASS   ? "pass"
                                  : x->outcome == IPCM_CHECK_FAIL ? "fail"
                                  : x->outcome == IPCM_CHECK_HANG ? "hang"
                                  : x->outcome == IPCM_CHECK_NA   ? "n/a"
                                                                  : "not_implemented";
            json_t *o = json_pack(
                "{s:s, s:i, s:s, s:s, s:f, s:s, s:{s:I, s:I, s:I, s:I, s:I}}", "case",
                r->cases[i]->id, "num", (int)r->cases[i]->num, "backend",
                ipcm_backend_name(r->be[b]), "outcome", outcome, "duration_s", x->duration_s,
                "message", x->message, "counts", "messages", (json_int_t)x->counts.messages,
                "lost", (json_int_t)x->counts.lost, "duplicated",
                (json_int_t)x->counts.duplicated, "reordered", (json_int_t)x->counts.reordered,
                "corrupt", (json_int_t)x->counts.corrupt);
            json_array_append_new(results, o);
        }
    json_object_set_new(root, "results", results);
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_decref(root);
    return rc == 0 ? 0 : -EIO;
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

static int write_junit(const struct run *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    struct tally all = count(r, 0, false);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"ipcmark check\" tests=\"%zu\" failures=\"%d\" skipped=\"%d\" "
               "time=\"%.3f\">\n",
            r->ncases * r->nbe, all.fail + all.hang, all.na + all.todo, r->total_s);
    for (size_t b = 0; b < r->nbe; b++) {
        struct tally t = count(r, b, true);
        double secs = 0;
        for (size_t i = 0; i < r->ncases; i++)
            secs += r->res[i * r->nbe + b].duration_s;
        fprintf(f, "  <testsuite name=\"conform.%s\" tests=\"%zu\" failures=\"%d\" "
                   "skipped=\"%d\" time=\"%.3f\">\n",
                ipcm_backend_name(r->be[b]), r->ncases, t.fail + t.hang, t.na + t.todo, secs);
        fprintf(f, "    <properties><property name=\"seed\" value=\"%llu\"/></properties>\n",
                (unsigned long long)r->seed);
        for (size_t i = 0; i < r->ncases; i++) {
            const struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            fprintf(f, "    <testcase classname=\"conform.%s\" name=\"", ipcm_backend_name(r->be[b]));
            xml_escape(f, r->cases[i]->id);
            fprintf(f, "\" time=\"%.3f\"", x->duration_s);
            if (x->outcome == IPCM_CHECK_PASS) {
                fprintf(f, "/>\n");
                continue;
            }
            const char *tag = x->outcome == IPCM_CHECK_FAIL || x->outcome == IPCM_CHECK_HANG
                                  ? "failure"
                                  : "skipped";
            fprintf(f, ">\n      <%s message=\"", tag);
            if (x->outcome == IPCM_CHECK_HANG)
                fputs("HANG: ", f);
            if (x->outcome == IPCM_CHECK_TODO)
                fputs("not yet implemented", f);
            else
                xml_escape(f, x->message);
            fprintf(f, "\"%s/>\n    </testcase>\n",
                    x->outcome == IPCM_CHECK_HANG ? " type=\"HANG\"" : "");
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    return fclose(f) == 0 ? 0 : -errno;
}

int ipcm_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"backends", required_argument, NULL, 'b'}, {"case", required_argument, NULL, 'c'},
        {"list", no_argument, NULL, 'l'},           {"quick", no_argument, NULL, 'q'},
        {"seed", required_argument, NULL, 's'},     {"json", required_argument, NULL, 'j'},
        {"junit", required_argument, NULL, 'u'},    {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *belist = "all", *glob = NULL, *json = NULL, *junit = NULL;
    bool list = false, seeded = false;
    struct run r = {0};
    int o;

    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "b:c:lqs:j:u:h", opts, NULL)) != -1) {
        switch (o) {
        case 'b': belist = optarg; break;
        case 'c': glob = optarg; break;
        case 'l': list = true; break;
        case 'q': r.quick = true; break;
        case 's': {
            const char *err = NULL;
            r.seed = (uint64_t)strtonum(optarg, 0, LLONG_MAX, &err);
            if (err)
                return ipcm_usage_error("check", "bad --seed '%s' (%s)", optarg, err);
            seeded = true;
            break;
        }
        case 'j': json = optarg; break;
        case 'u': junit = optarg; break;
        case 'h': usage(stdout); return IPCM_EXIT_OK;
        default:
            return ipcm_usage_error("check", "unknown or incomplete option '%s' (try --help)",
                                    argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ipcm_usage_error("check", "unexpected argument '%s' (try --help)", argv[optind]);
    const char *bad = NULL;
    int nbe = ipcm_parse_backends(belist, r.be, MAX_BACKENDS, &bad);
    if (nbe < 0)
        return ipcm_usage_error("check", "unknown backend '%s' (see ipcmark list)", bad);
    r.nbe = (size_t)nbe;
    if (!seeded)
        r.seed = ((uint64_t)arc4random() << 32 | arc4random()) & (uint64_t)LLONG_MAX;

    r.cases = calloc(ipcm_check_count(), sizeof(*r.cases));
    if (!r.cases)
        return IPCM_EXIT_ENV;
    for (size_t i = 0; i < ipcm_check_count(); i++) {
        const struct ipcm_check_case *c = ipcm_check_at(i);
        if (!ipcm_check_match(c->id, glob))
            continue;
        if (r.quick && !(c->flags & IPCM_CHECK_QUICK))
            continue;
        r.cases[r.ncases++] = c;
    }
    if (r.ncases == 0) {
        free(r.cases);
        return ipcm_usage_error("check", "no case matches '%s' (try --list)", glob ? glob : "");
    }
    if (list) {
        list_cases(&r);
        free(r.cases);
        return IPCM_EXIT_OK;
    }

    r.res = calloc(r.ncases * r.nbe, sizeof(*r.res));
    if (!r.res) {
        free(r.cases);
        return IPCM_EXIT_ENV;
    }
    printf("ipcmark check: %zu cases x %zu backends, seed %llu%s\n\n", r.ncases, r.nbe,
           (unsigned long long)r.seed, r.quick ? ", quick" : "");
    fflush(stdout);
    bool tty = isatty(STDERR_FILENO);
    uint64_t t0 = ipcm_now_ns();
    for (size_t b = 0; b < r.nbe; b++) {
        struct ipcm_check_env env;
        ipcm_check_env_init(&env, r.be[b], r.seed, r.quick);
        for (size_t i = 0; i < r.ncases; i++) {
            struct ipcm_check_result *x = &r.res[i * r.nbe + b];
            if (tty)
                fprintf(stderr, "\r\033[K[%zu/%zu] %s %s", b * r.ncases + i + 1,
                        r.ncases * r.nbe, ipcm_backend_name(r.be[b]), r.cases[i]->id);
            ipcm_check_run(r.cases[i], &env, x);
        }
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    r.total_s = (double)(ipcm_now_ns() - t0) / 1e9;

    print_matrix(&r);
    struct tally t = count(&r, 0, false);
    printf("\n%d passed, %d failed, %d n/a", t.pass, t.fail + t.hang, t.na + t.todo);
    if (t.hang || t.todo)
        printf(" (%d of the failures HANG, %d of the n/a not yet implemented)", t.hang, t.todo);
    printf("; seed %llu; %.1f s\n", (unsigned long long)r.seed, r.total_s);

    int rc = t.fail + t.hang ? IPCM_EXIT_FAIL : IPCM_EXIT_OK;
    if (json && write_json(&r, json) < 0) {
        fprintf(stderr, "ipcmark check: cannot write %s\n", json);
        rc = IPCM_EXIT_ENV;
    }
    if (junit && write_junit(&r, junit) < 0) {
        fprintf(stderr, "ipcmark check: cannot write %s: %s\n", junit, strerror(errno));
        rc = IPCM_EXIT_ENV;
    }
    free(r.res);
    free(r.cases);
    return rc;
}
