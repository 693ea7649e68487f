/* SPDX-License-Identifier: MIT */
/* process_args.c - Python's Process(target=f, args=(name,)): one process per name says
 * hello with its pid; the parent joins each and reports how it ended, as exitcode does. */
#include <ipcmark.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_NAMES 32

struct task {
    bool crash; /* --crash NAME */
    char name[200];
};

static int hello(const void *arg, size_t len)
{
    const struct task *t = arg; /* the spawn copied it into this process */
    (void)len;
    printf("Hello %s from pid %d\n", t->name, (int)getpid());
    fflush(stdout); /* a worker leaves with _exit: nothing buffered survives */
    if (t->crash) {
        /* --crash: die by a signal; no core file, which would only litter the cwd */
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
        abort();
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *defaults[] = {"Bob", "Alice", "Eve"}, *names[MAX_NAMES];
    char crash[MAX_NAMES] = {0};
    int n = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        int c = strcmp(argv[i], "--crash") == 0;
        if ((c && ++i == argc) || argv[i][0] == '-' || n == MAX_NAMES || !argv[i][0]) {
            fprintf(stderr, "usage: process_args [[--crash] NAME]... (at most %d names)\n",
                    MAX_NAMES);
            return 2;
        }
        crash[n] = (char)c;
        names[n++] = argv[i];
    }
    for (; argc == 1 && n < 3; n++)
        names[n] = defaults[n];
    struct ipcm_process p[MAX_NAMES];
    for (int i = 0; i < n; i++) {
        struct task t = {.crash = crash[i]};
        snprintf(t.name, sizeof(t.name), "%s", names[i]);
        int r = ipcm_process_spawn(&p[i], names[i], hello, &t, sizeof(t));
        if (r < 0) {
            fprintf(stderr, "process_args: spawn %s: %s\n", names[i], ipcm_error_text(r));
            while (i-- > 0)
                ipcm_process_stop(&p[i], 5000, NULL);
            return 1;
        }
    }
    for (int i = 0; i < n; i++) { /* Process.join(), then Process.exitcode */
        struct ipcm_exit ex;
        pid_t pid = p[i].pid;
        int r = ipcm_process_join(&p[i], 10000, &ex);
        if (r < 0) {
            fprintf(stderr, "process_args: join %s: %s\n", names[i], ipcm_strerror(r));
            ipcm_process_stop(&p[i], 0, &ex);
            failed = 1;
            continue;
        }
        char how[64];
        int exitcode = ex.signal ? -ex.signal : ex.code; /* Python's convention */
        printf("%s (pid %d): exitcode %d, %s\n", names[i], (int)pid, exitcode,
               ipcm_exit_describe(&ex, how, sizeof(how)));
        failed |= crash[i] ? ex.signal == 0 : !ipcm_exit_ok(&ex);
    }
    return failed;
}
