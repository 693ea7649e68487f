/* SPDX-License-Identifier: MIT */
/*
 * cmd_check.c - `ipcmark check`: the conformance catalogue on every selected backend;
 * a matrix and a summary line on stdout (on stderr when a report is written to stdout,
 * "-"), and the JSON and JUnit XML reports (written by harness/report/check_report.c
 * from rows this file fills).
 */
#include "cli.h"
#include "conform.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_report.h"

#define MAX_BACKENDS 16

struct run {
    const struct ipcm_check_case **cases;
    size_t ncases;
    const struct ipcm_backend *be[MAX_BACKENDS];
    size_t nbe;
    const char *names[MAX_BACKENDS];    /* the backends' names, for the reports */
    struct ipcm_check_result *res;      /* ncases x nbe */
    struct ipcm_check_report_row *rows; /* res as the report part sees it */
    bool *omit; /* ncases x nbe: the case concerns other backends only (IPCM_CHECK_SCOPED) */
    uint64_t seed;
    bool quick;
    double total_s;
    FILE *out; /* the table: stdout, or stderr when a report goes to stdout ("-") */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcmark check [-b LIST] [--case GLOB] [--list] [--quick] [--seed N]\n"
               "                     [--json FILE] [--junit FILE] [--help]\n\n"
               "Run the conformance catalogue (docs/CONFORMANCE.md §5) on each backend. Every\n"
               "case runs in its own process group under a watchdog; the outcome is pass, FAIL,\n"
               "HANG (watchdog expired), n/a (with the capability or limit that rules it out) or\n"
               "env (a limit of this environment ran out before the case could run, named with\n"
               "the command that raises it; counted apart, never as a failure).\n\n"
               "  -b, --backends LIST  comma list of backends, or 'all' (default)\n"
               "  -c, --case GLOB      only cases whose id matches (comma list of globs)\n"
               "  -l, --list           list the cases and exit\n"
               "  -q, --quick          the quick subset with smaller counts (< 30 s)\n"
               "  -s, --seed N         seed for random sizes and kill points (printed; replays)\n"
               "  -j, --json FILE      per case and backend: outcome, duration, counts, message\n"
               "  -u, --junit FILE     JUnit XML, one testcase per case and backend\n"
               "                       FILE '-' is stdout (one of the two at most); the table\n"
               "                       then goes to stderr\n\n"
               "Exit: 0 nothing failed, 1 a case failed or hung, 2 usage error, 3 nothing\n"
               "failed but no case could run for a limit of the environment (env only).\n");
}

static void shapes_str(unsigned s, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", s & IPCM_CHECK_Q ? "Q" : "", s & IPCM_CHECK_QP ? "" : "-",
             s & IPCM_CHECK_P ? "P" : "");
}

/* For a scoped case, "  [only: a,b]": the selected backends it concerns. */
static void scope_str(const struct run *r, const struct ipcm_check_env *envs,
                      const struct ipcm_check_case *c, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!(c->flags & IPCM_CHECK_SCOPED))
        return;
    size_t off = (size_t)snprintf(buf, len, "  [only:");
    const char *sep = " ";
    for (size_t b = 0; b < r->nbe && off < len; b++)
        if (ipcm_check_concerns(c, &envs[b])) {
            off += (size_t)snprintf(buf + off, len - off, "%s%s", sep, r->names[b]);
            sep = ",";
        }
    if (off < len)
        snprintf(buf + off, len - off, "%s]", *sep == ' ' ? " none of the selected backends" : "");
}

static void list_cases(const struct run *r)
{
    struct ipcm_check_env envs[MAX_BACKENDS];
    for (size_t b = 0; b < r->nbe; b++)
        ipcm_check_env_init(&envs[b], r->be[b], r->seed, r->quick);
    fprintf(r->out, "%-44s %4s %-3s %-5s %s\n", "case", "num", "shp", "quick", "summary");
    for (size_t i = 0; i < r->ncases; i++) {
        const struct ipcm_check_case *c = r->cases[i];
        char sh[8], scope[160];
        shapes_str(c->shapes, sh, sizeof(sh));
        scope_str(r, envs, c, scope, sizeof(scope));
        fprintf(r->out, "%-44s %4u %-3s %-5s %s%s%s\n", c->id, c->num, sh,
               (c->flags & IPCM_CHECK_QUICK) ? "yes" : "", c->summary,
               c->fn ? "" : (c->na ? "  [n/a]" : "  [not yet implemented]"), scope);
    }
    fprintf(r->out, "%zu cases; [only: ...] marks a case about one mechanism, listed and run for\n"
                    "the backends it names alone (the others omit it, not n/a)\n",
            r->ncases);
}

static const char *cell(const struct ipcm_check_result *res)
{
    return res->outcome == IPCM_CHECK_TODO ? "todo" : ipcm_check_outcome_name(res->outcome);
}

static void print_grouped(const struct run *r, enum ipcm_check_outcome o, const char *title);

static void print_matrix(const struct run *r)
{
    fprintf(r->out, "%-44s", "case");
    for (size_t b = 0; b < r->nbe; b++)
        fprintf(r->out, " %-11s", ipcm_backend_name(r->be[b]));
    fputc('\n', r->out);
    for (size_t i = 0; i < r->ncases; i++) {
        fprintf(r->out, "%-44s", r->cases[i]->id);
        for (size_t b = 0; b < r->nbe; b++)
            fprintf(r->out, " %-11s",
                    r->omit[i * r->nbe + b] ? "-" : cell(&r->res[i * r->nbe + b]));
        fputc('\n', r->out);
    }
    /* Why each failure failed, then why each n/a does not apply (grouped). */
    bool hdr = false;
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t b = 0; b < r->nbe; b++) {
            const struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            if (r->omit[i * r->nbe + b] ||
                (x->outcome != IPCM_CHECK_FAIL && x->outcome != IPCM_CHECK_HANG))
                continue;
            if (!hdr)
                fprintf(r->out, "\nfailures:\n");
            hdr = true;
            fprintf(r->out, "  %s %s [%s]: %s\n", ipcm_check_outcome_name(x->outcome), r->cases[i]->id,
                   ipcm_backend_name(r->be[b]), x->message);
        }
    print_grouped(r, IPCM_CHECK_ENV, "environment limits (the case could not run here)");
    print_grouped(r, IPCM_CHECK_NA, "not applicable");
    for (size_t i = 0; i < r->ncases * r->nbe; i++)
        if (r->omit[i]) {
            fprintf(r->out, "\n- : the case concerns another mechanism (not listed there)\n");
            break;
        }
}

/* Whether cell (i, b) has outcome o and is listed (not omitted by scope). */
static bool listed_as(const struct run *r, size_t i, size_t b, enum ipcm_check_outcome o)
{
    return !r->omit[i * r->nbe + b] && r->res[i * r->nbe + b].outcome == o;
}

/* Why each case of outcome o has it, once per case and reason, with its backends. */
static void print_grouped(const struct run *r, enum ipcm_check_outcome o, const char *title)
{
    bool hdr = false;
    for (size_t i = 0; i < r->ncases; i++) {
        for (size_t b = 0; b < r->nbe; b++) {
            const struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            if (!listed_as(r, i, b, o))
                continue;
            /* Print a reason once per case, with the backends it holds for. */
            bool seen = false;
            for (size_t k = 0; k < b; k++) {
                const struct ipcm_check_result *y = &r->res[i * r->nbe + k];
                if (listed_as(r, i, k, o) && strcmp(y->message, x->message) == 0)
                    seen = true;
            }
            if (seen)
                continue;
            if (!hdr)
                fprintf(r->out, "\n%s:\n", title);
            hdr = true;
            fprintf(r->out, "  %s [", r->cases[i]->id);
            const char *sep = "";
            for (size_t k = b; k < r->nbe; k++) {
                const struct ipcm_check_result *y = &r->res[i * r->nbe + k];
                if (listed_as(r, i, k, o) && strcmp(y->message, x->message) == 0) {
                    fprintf(r->out, "%s%s", sep, ipcm_backend_name(r->be[k]));
                    sep = ",";
                }
            }
            fprintf(r->out, "]: %s\n", x->message);
        }
    }
}

/* The options of one invocation; the run itself keeps seed and quick. */
struct check_args {
    const char *belist, *glob, *json, *junit;
    bool list;
};

/* Returns 0 to go on, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct run *r, struct check_args *a)
{
    static const struct option opts[] = {
        {"backends", required_argument, NULL, 'b'},
        {"case", required_argument, NULL, 'c'},
        {"list", no_argument, NULL, 'l'},
        {"quick", no_argument, NULL, 'q'},
        {"seed", required_argument, NULL, 's'},
        {"json", required_argument, NULL, 'j'},
        {"junit", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool seeded = false;
    char buf[8];
    int o;

    ipcm_getopt_begin();
    while ((o = getopt_long(argc, argv, ":b:c:lqs:j:u:h", opts, NULL)) != -1) {
        switch (o) {
        case 'b': a->belist = optarg; break;
        case 'c': a->glob = optarg; break;
        case 'l': a->list = true; break;
        case 'q': r->quick = true; break;
        case 's': {
            const char *err = NULL;
            r->seed = (uint64_t)strtonum(optarg, 0, LLONG_MAX, &err);
            if (err)
                return ipcm_usage_error("check", "bad --seed '%s' (%s)", optarg, err);
            seeded = true;
            break;
        }
        case 'j': a->json = optarg; break;
        case 'u': a->junit = optarg; break;
        case 'h': usage(stdout); return -1;
        default:
            return ipcm_usage_error("check", "unknown or incomplete option '%s' (try --help)",
                                    ipcm_optname(argc, argv, buf, sizeof(buf)));
        }
    }
    if (optind < argc)
        return ipcm_usage_error("check", "unexpected argument '%s' (try --help)", argv[optind]);
    int nbe = ipcm_backends_arg("check", a->belist, r->be, MAX_BACKENDS);
    if (nbe < 0)
        return IPCM_EXIT_USAGE;
    r->nbe = (size_t)nbe;
    for (size_t b = 0; b < r->nbe; b++)
        r->names[b] = ipcm_backend_name(r->be[b]);
    if (!seeded)
        r->seed = ((uint64_t)arc4random() << 32 | arc4random()) & (uint64_t)LLONG_MAX;
    return 0;
}

/* The cases that glob and --quick select into r->cases. Returns 0 or an exit code. */
static int select_cases(struct run *r, const char *glob)
{
    r->cases = calloc(ipcm_check_count(), sizeof(*r->cases));
    if (!r->cases)
        return IPCM_EXIT_ENV;
    for (size_t i = 0; i < ipcm_check_count(); i++) {
        const struct ipcm_check_case *c = ipcm_check_at(i);
        if (!ipcm_check_match(c->id, glob))
            continue;
        if (r->quick && !(c->flags & IPCM_CHECK_QUICK))
            continue;
        r->cases[r->ncases++] = c;
    }
    if (r->ncases == 0)
        return ipcm_usage_error("check", "no case matches '%s' (try --list)", glob ? glob : "");
    return 0;
}

/* Every case on every backend, with a progress line on a terminal. */
static void run_all(struct run *r)
{
    bool tty = isatty(STDERR_FILENO);
    uint64_t t0 = ipcm_now_ns();
    for (size_t b = 0; b < r->nbe; b++) {
        struct ipcm_check_env env;
        ipcm_check_env_init(&env, r->be[b], r->seed, r->quick);
        for (size_t i = 0; i < r->ncases; i++) {
            struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            /* A case about another mechanism is not run here, nor listed. */
            r->omit[i * r->nbe + b] = !ipcm_check_concerns(r->cases[i], &env);
            if (r->omit[i * r->nbe + b])
                continue;
            if (tty)
                fprintf(stderr, "\r\033[K[%zu/%zu] %s %s", b * r->ncases + i + 1,
                        r->ncases * r->nbe, ipcm_backend_name(r->be[b]), r->cases[i]->id);
            ipcm_check_run(r->cases[i], &env, x);
        }
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    r->total_s = (double)(ipcm_now_ns() - t0) / 1e9;
}

static enum ipcm_check_report_outcome report_outcome(enum ipcm_check_outcome o)
{
    switch (o) {
    case IPCM_CHECK_PASS: return IPCM_CHECK_REPORT_PASS;
    case IPCM_CHECK_FAIL: return IPCM_CHECK_REPORT_FAIL;
    case IPCM_CHECK_HANG: return IPCM_CHECK_REPORT_HANG;
    case IPCM_CHECK_NA: return IPCM_CHECK_REPORT_NA;
    case IPCM_CHECK_ENV: return IPCM_CHECK_REPORT_ENV;
    case IPCM_CHECK_TODO: break;
    }
    return IPCM_CHECK_REPORT_TODO;
}

/* The results as the report part's neutral rows (r->rows, allocated with r->res). */
static struct ipcm_check_report to_report(const struct run *r)
{
    for (size_t i = 0; i < r->ncases; i++)
        for (size_t b = 0; b < r->nbe; b++) {
            const struct ipcm_check_result *x = &r->res[i * r->nbe + b];
            r->rows[i * r->nbe + b] = (struct ipcm_check_report_row){
                .case_id = r->cases[i]->id,
                .num = r->cases[i]->num,
                .outcome = report_outcome(x->outcome),
                .duration_s = x->duration_s,
                .message = x->message,
                .messages = x->counts.messages,
                .lost = x->counts.lost,
                .duplicated = x->counts.duplicated,
                .reordered = x->counts.reordered,
                .corrupt = x->counts.corrupt,
                .omitted = r->omit[i * r->nbe + b],
            };
        }
    return (struct ipcm_check_report){.backends = r->names,
                                      .nbackends = r->nbe,
                                      .ncases = r->ncases,
                                      .rows = r->rows,
                                      .seed = r->seed,
                                      .quick = r->quick,
                                      .duration_s = r->total_s};
}

/* The summary line; returns the exit code the outcomes call for. */
static int print_summary(const struct ipcm_check_report *rep, FILE *out)
{
    struct ipcm_check_tally t = ipcm_check_report_tally(rep, IPCM_CHECK_REPORT_ALL);
    fprintf(out, "\n%d passed, %d failed, %d n/a", t.pass, t.fail + t.hang, t.na + t.todo);
    if (t.env)
        fprintf(out, ", %d could not run (environment limits)", t.env);
    if (t.hang || t.todo)
        fprintf(out, " (%d of the failures HANG, %d of the n/a not yet implemented)", t.hang, t.todo);
    fprintf(out, "; seed %llu; %.1f s\n", (unsigned long long)rep->seed, rep->duration_s);
    if (t.fail + t.hang)
        return IPCM_EXIT_FAIL;
    /* RULINGS 2: cases skipped for the environment alone do not change a 0, unless
     * nothing at all could run. */
    return t.env && !t.pass ? IPCM_EXIT_ENV : IPCM_EXIT_OK;
}

/* --json and --junit; returns rc, or IPCM_EXIT_ENV when a file cannot be written. */
static int write_reports(const struct ipcm_check_report *rep, const struct check_args *a, int rc)
{
    int e;
    if (a->json && (e = ipcm_check_report_write_json(rep, a->json)) < 0) {
        fprintf(stderr, "ipcmark check: cannot write %s: %s\n", a->json, ipcm_file_strerror(e));
        rc = IPCM_EXIT_ENV;
    }
    if (a->junit && (e = ipcm_check_report_write_junit(rep, a->junit)) < 0) {
        fprintf(stderr, "ipcmark check: cannot write %s: %s\n", a->junit, ipcm_file_strerror(e));
        rc = IPCM_EXIT_ENV;
    }
    return rc;
}

int ipcm_cmd_check(int argc, char **argv)
{
    struct check_args a = {.belist = ipcm_backends_default};
    struct run r = {0};
    int rc = parse_args(argc, argv, &r, &a);
    if (rc < 0)
        return IPCM_EXIT_OK; /* --help */
    if (rc > 0)
        return rc;
    /* RULINGS 8: at most one report on stdout, and then the table goes to stderr. */
    bool json_out = a.json && strcmp(a.json, "-") == 0;
    bool junit_out = a.junit && strcmp(a.junit, "-") == 0;
    if (json_out && junit_out)
        return ipcm_usage_error("check", "--json - and --junit -: at most one output may be stdout");
    r.out = json_out || junit_out ? stderr : stdout;
    if ((rc = ipcm_output_probe("check", "--json", a.json)) ||
        (rc = ipcm_output_probe("check", "--junit", a.junit)))
        return rc;
    if ((rc = select_cases(&r, a.glob)) != 0)
        goto out;
    if (a.list) {
        list_cases(&r);
        goto out;
    }
    r.res = calloc(r.ncases * r.nbe, sizeof(*r.res));
    r.rows = calloc(r.ncases * r.nbe, sizeof(*r.rows));
    r.omit = calloc(r.ncases * r.nbe, sizeof(*r.omit));
    if (!r.res || !r.rows || !r.omit) {
        rc = IPCM_EXIT_ENV;
        goto out;
    }
    fprintf(r.out, "ipcmark check: %zu cases x %zu backends, seed %llu%s\n\n", r.ncases, r.nbe,
            (unsigned long long)r.seed, r.quick ? ", quick" : "");
    fflush(r.out);
    run_all(&r);
    print_matrix(&r);
    struct ipcm_check_report rep = to_report(&r);
    rc = write_reports(&rep, &a, print_summary(&rep, r.out));
    fflush(r.out);
out:
    free(r.omit);
    free(r.rows);
    free(r.res);
    free(r.cases);
    return rc;
}
