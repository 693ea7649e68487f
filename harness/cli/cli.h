/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the sub-commands of the ipcmark tool share: exit codes, argument
 * parsing helpers and the sub-command entry points.
 */
#ifndef IPCM_HARNESS_CLI_H
#define IPCM_HARNESS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcmark.h"

/* Exit codes of the tool (docs/DESIGN.md §5). */
enum ipcm_exit_code {
    IPCM_EXIT_OK = 0,
    IPCM_EXIT_FAIL = 1,  /* a failed check or a detected regression */
    IPCM_EXIT_USAGE = 2, /* bad command line */
    IPCM_EXIT_ENV = 3,   /* the environment cannot run the request */
};

/* True when err is a limit of this environment (file size, descriptors, memory, a
 * system-wide table) rather than a fault of the code that met it. */
bool ipcm_err_environmental(int err);

/* ipcm_find_script - a data file (e.g. "plot.gp") named by $env_var, else beside the
 * running binary (installed, then the build tree) into buf; NULL if none, with the
 * places looked at in `looked` for the error message. */
const char *ipcm_find_script(const char *name, const char *env_var, char *buf, size_t len,
                             char *looked, size_t looked_len);

/* The report formats of compare and ab (--format). */
enum ipcm_format { FMT_TABLE, FMT_MARKDOWN, FMT_JSON };
/* ipcm_format_arg - "table", "markdown" or "json" into *out. Returns 0 or -EINVAL. */
int ipcm_format_arg(const char *s, enum ipcm_format *out);

/* ipcm_parse_rate - a rate in messages per second: "5000", "50k", "2M", with an optional
 * "/s"; (0, 1e9]. Returns 0 or -EINVAL. */
int ipcm_parse_rate(const char *s, double *rate);

/* ipcm_file_strerror - the cause of a failed file write, naming RLIMIT_FSIZE for EFBIG. */
const char *ipcm_file_strerror(int err);

/* ipcm_output_probe - before any work: can a result file be written at path (NULL: not
 * asked for)? Returns 0, or IPCM_EXIT_USAGE after "cannot write OPTION PATH: cause". */
int ipcm_output_probe(const char *cmd, const char *option, const char *path);

/* Print "ipcmark <cmd>: <message>" on stderr. Returns IPCM_EXIT_USAGE. */
int ipcm_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * ipcm_parse_size - a byte count with an optional binary suffix ("64", "64K", "1M",
 * via libbsd expand_number). Returns 0 or -EINVAL.
 */
int ipcm_parse_size(const char *s, uint64_t *out);
/* ipcm_parse_count - a plain non-negative integer in [min, max] (libbsd strtonum). */
int ipcm_parse_count(const char *s, long long min, long long max, long long *out);
/*
 * ipcm_parse_list - a comma list of sizes (sizes = true) or counts into out[max].
 * Returns the number of items, or -EINVAL (a bad or empty item: "64,,4K", "64,"),
 * -E2BIG (too many).
 */
int ipcm_parse_list(const char *s, bool sizes, uint64_t *out, size_t max);
/*
 * ipcm_parse_backends - "all" or a comma list of backend names into out[max], each
 * backend once (a repeated name is dropped). Returns the number of backends, or
 * -ENOENT with *bad pointing at the unknown name (a static copy).
 */
int ipcm_parse_backends(const char *s, const struct ipcm_backend **out, size_t max,
                        const char **bad);

/*
 * ipcm_backends_arg - the value of -b/--backends ("all" or a comma list) into out[max]:
 * the one place that parses it, so every command names the valid backends the same
 * way. On an unknown name prints "ipcmark <cmd>: unknown backend 'X' (valid: ..., all)";
 * a name given twice runs once, with a note on stderr.
 * An item with a '/' is a plugin's path; a name no built-in has is looked up on the
 * plugin path; "all" adds every plugin found there. A plugin that exists but will not
 * load gets one line and is left out: ipcm_plugin_failed is set and main() turns a 0
 * exit into 3 (RULINGS 2); when nothing else was asked for, ipcm_plugin_only_failed is
 * set and -IPCM_EXIT_ENV returned.
 * Returns the number of backends, or -IPCM_EXIT_USAGE after printing the error.
 */
extern bool ipcm_plugin_failed;
/* The value of -b when none is given: "all" of the built-ins only, no plugin (RULINGS 3:
 * plugins run when named). Compared by address, so a typed "-b all" adds the plugins. */
extern const char ipcm_backends_default[];
extern bool ipcm_plugin_only_failed;
int ipcm_backends_arg(const char *cmd, const char *s, const struct ipcm_backend **out, size_t max);

/*
 * ipcm_mode_arg - the value of --mode: the canonical name of a bench mode, or NULL after
 * printing "ipcmark <cmd>: unknown mode 'X' (valid: ...)".
 */
const char *ipcm_mode_arg(const char *cmd, const char *s);

/*
 * Option parsing: every command loops over getopt_long(3) with an optstring that starts
 * with ':' (a missing argument returns ':', an unknown option '?'), after
 * ipcm_getopt_begin(), which also silences getopt's own messages.
 */
void ipcm_getopt_begin(void);
/*
 * ipcm_optname - the option getopt_long just rejected, as the user typed it ("--bogus",
 * "--mode", "-x"), in buf or in argv. Call it right after getopt_long returned '?' or ':'.
 */
const char *ipcm_optname(int argc, char **argv, char *buf, size_t len);
/*
 * ipcm_option_error - the usage error for getopt_long's '?' or ':' (c):
 * "unknown option 'X' (try --help)" or "X needs an argument". Returns IPCM_EXIT_USAGE.
 */
int ipcm_option_error(const char *cmd, int c, int argc, char **argv);

/* Human-readable size: 65536 -> "64K". Returns buf. */
const char *ipcm_format_size(uint64_t bytes, char *buf, size_t len);

/* Sub-commands: each gets argv starting at its own name and returns an exit code. */
int ipcm_cmd_list(int argc, char **argv);
int ipcm_cmd_serve(int argc, char **argv);
int ipcm_cmd_selftest(int argc, char **argv);
int ipcm_cmd_bench(int argc, char **argv);
/* ipcm_cmd_bench_remote - `bench --remote HOST:PORT` (cmd_bench_remote.c). */
int ipcm_cmd_bench_remote(int argc, char **argv);
/* The short benchmark of the default `ipcmark` run: table, ranking, results/ files. */
int ipcm_cmd_bench_default(char *json_path, size_t len);
int ipcm_cmd_check(int argc, char **argv);
int ipcm_cmd_compare(int argc, char **argv);
/* `ipcmark ab`: the paired A/B gate (cmd_ab.c). */
int ipcm_cmd_ab(int argc, char **argv);
int ipcm_cmd_plot(int argc, char **argv);
/* `ipcmark advise`: which backend for one workload and goal (cmd_advise.c). */
int ipcm_cmd_advise(int argc, char **argv);

#endif /* IPCM_HARNESS_CLI_H */
