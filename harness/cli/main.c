/* SPDX-License-Identifier: MIT */
/*
 * main.c - the ipcmark command line: a table of sub-commands. The only place (with
 * the sub-command files) that prints errors and chooses exit codes.
 */
#include "cli.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct ipcm_command {
    const char *name;
    const char *summary;
    int (*fn)(int argc, char **argv);
    bool journal; /* runs backends: System V ids are journaled (base.h) */
};

static const struct ipcm_command commands[] = {
    {"list", "backends, capabilities and this host's limits", ipcm_cmd_list, false},
    {"selftest", "a short round trip on every backend and shape", ipcm_cmd_selftest, true},
    {"bench", "verified throughput and latency per backend, size, placement", ipcm_cmd_bench, true},
    {"check", "conformance suite: every case on every backend", ipcm_cmd_check, true},
    {"compare", "regression gate: two results files, significance and threshold", ipcm_cmd_compare,
     false},
    {"ab", "paired regression gate: two builds interleaved, per-round ratios", ipcm_cmd_ab, false},
    {"advise", "which backend for a workload: ranked, with margin, CPU and limits", ipcm_cmd_advise,
     true},
    {"serve", "the far end of `bench --remote`: serve remote runs on ADDR:PORT", ipcm_cmd_serve,
     false},
    {"plot", "gnuplot comparison plots (PNG, SVG) from a results file", ipcm_cmd_plot, false},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcmark [--help] [--version] [COMMAND [ARGS]]\n\n"
               "Measure and verify inter-process communication mechanisms on this host.\n"
               "Without a command, runs the default suite.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nEach command takes --help. Exit codes: 0 ok, 1 failed check or regression,\n"
               "2 usage error, 3 environment error.\n");
}

/* The default suite: what a user wants to see first on a new host. Each part runs
 * even if an earlier one found a failure; the exit code reports the worst. */
static int default_suite(void)
{
    char *list_argv[] = {"list", NULL};
    char *self_argv[] = {"selftest", NULL};
    char *check_argv[] = {"check", "--quick", NULL};
    char json[128] = "";
    int worst = ipcm_cmd_list(1, list_argv);
    if (worst != IPCM_EXIT_OK)
        return worst;
    printf("\n== selftest\n");
    int r = ipcm_cmd_selftest(1, self_argv);
    worst = r > worst ? r : worst;
    printf("\n== conformance (quick; `ipcmark check` runs the whole catalogue)\n");
    fflush(stdout);
    r = ipcm_cmd_check(2, check_argv);
    worst = r > worst ? r : worst;
    printf("\n== benchmark\n");
    fflush(stdout);
    r = ipcm_cmd_bench_default(json, sizeof(json));
    worst = r > worst ? r : worst;
    if (json[0]) {
        /* Each run's plots in a folder named after its results file, so two runs in one
         * folder never overwrite each other's. */
        char dir[160];
        snprintf(dir, sizeof(dir), "%.*s-plots", (int)(strlen(json) - strlen(".json")), json);
        char *plot_argv[] = {"plot", json, "-o", dir, NULL};
        printf("\n== plots\n");
        fflush(stdout);
        r = ipcm_cmd_plot(4, plot_argv);
        worst = r > worst ? r : worst;
    }
    printf("\nnext: `ipcmark check` runs the whole catalogue; `ipcmark bench --help` measures\n"
           "your own workload; `ipcmark compare BASE.json NEW.json` is the regression gate.\n");
    return worst;
}

/*
 * What a hostile environment does to a process before it runs a line of ours:
 * - a closed stdin, stdout or stderr would let the next descriptor we open (a channel)
 *   take its number, and a printf would then write into a channel: park /dev/null there;
 * - a file-size limit (ulimit -f) raises SIGXFSZ on the shm ring's ftruncate or a result
 *   file's write, killing us silently: ignore it, so the call fails with EFBIG and the
 *   error names RLIMIT_FSIZE.
 */
static void survive_environment(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int nfd = open("/dev/null", O_RDWR);
            if (nfd >= 0 && nfd != fd) /* cannot happen: open takes the lowest free number */
                close(nfd);
        }
    signal(SIGXFSZ, SIG_IGN);
}

/* Workers show their role in ps ("-ipcmark: consumer-0"); libbsd-ctor, linked into
 * this program only, initialises setproctitle. The library changes no title itself. */
static void show_title(const char *name)
{
    setproctitle("-ipcmark: %s", name);
}

/* The commands that run backends get the System V journal (base.h): its guard removes
 * what a killed run leaves, and the exit of this process what a finished one does. */
static void sysv_journal(void)
{
    ipcm_sysv_journal_init();
}

int main(int argc, char **argv)
{
    survive_environment();
    ipcm_process_set_title(show_title);
    if (argc < 2) {
        sysv_journal();
        return default_suite();
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return IPCM_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ipcmark %s\n", IPCM_VERSION);
        return IPCM_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0) {
            if (commands[i].journal)
                sysv_journal();
            int rc = commands[i].fn(argc - 1, argv + 1);
            /* A plugin that would not load (RULINGS 2): 1 before 3 before 0. */
            if (ipcm_plugin_only_failed && rc == IPCM_EXIT_USAGE)
                return IPCM_EXIT_ENV;
            return ipcm_plugin_failed && rc == IPCM_EXIT_OK ? IPCM_EXIT_ENV : rc;
        }
    if (cmd[0] == '-')
        return ipcm_usage_error(NULL, "unknown option '%s' (try --help)", cmd);
    return ipcm_usage_error(NULL, "unknown command '%s' (try --help)", cmd);
}
