/* SPDX-License-Identifier: MIT */
/*
 * runner.c - the conformance case table and its runner: each case runs in a forked
 * process group under a watchdog (expiry: killpg, reported HANG), then hygiene is
 * checked (descriptors, named IPC objects of every process the case spawned).
 */
#include "conform.h"

#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

/* Every group, in catalogue order. Adding a group is one line here (see conform.h). */
static const struct ipcm_check_case *const groups[] = {
    ipcm_check_cases_delivery, ipcm_check_cases_blocking, ipcm_check_cases_close,
    ipcm_check_cases_signals,  ipcm_check_cases_faults,   ipcm_check_cases_hygiene,
    ipcm_check_cases_poll,     ipcm_check_cases_pool,     ipcm_check_cases_backend,
    ipcm_check_cases_sync,
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

size_t ipcm_check_count(void)
{
    size_t n = 0;
    for (size_t g = 0; g < NGROUPS; g++)
        for (const struct ipcm_check_case *c = groups[g]; c->id; c++)
            n++;
    return n;
}

const struct ipcm_check_case *ipcm_check_at(size_t i)
{
    for (size_t g = 0; g < NGROUPS; g++)
        for (const struct ipcm_check_case *c = groups[g]; c->id; c++)
            if (i-- == 0)
                return c;
    return NULL;
}

const struct ipcm_check_case *ipcm_check_find(const char *id)
{
    for (size_t i = 0; i < ipcm_check_count(); i++)
        if (strcmp(ipcm_check_at(i)->id, id) == 0)
            return ipcm_check_at(i);
    return NULL;
}

const char *ipcm_check_outcome_name(enum ipcm_check_outcome o)
{
    switch (o) {
    case IPCM_CHECK_PASS: return "pass";
    case IPCM_CHECK_FAIL: return "FAIL";
    case IPCM_CHECK_HANG: return "HANG";
    case IPCM_CHECK_NA: return "n/a";
    case IPCM_CHECK_TODO: return "todo";
    case IPCM_CHECK_ENV: return "env";
    }
    return "?";
}

void ipcm_check_env_init(struct ipcm_check_env *env, const struct ipcm_backend *be, uint64_t seed,
                         bool quick)
{
    memset(env, 0, sizeof(*env));
    env->be = be;
    env->caps = ipcm_backend_caps(be);
    env->lim_err = ipcm_backend_limits(be, &env->lim);
    env->seed = seed;
    env->quick = quick;
    env->timeout_scale = 1.0;
    /* Sanitizer builds set this for libcheck; our watchdogs honour it too. */
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    if (m && atof(m) >= 1.0)
        env->timeout_scale = atof(m);
}

static const char *cap_name(uint32_t bit)
{
    switch (bit) {
    case IPCM_CAP_DUPLEX: return "IPCM_CAP_DUPLEX";
    case IPCM_CAP_NATIVE_MSG: return "IPCM_CAP_NATIVE_MSG";
    case IPCM_CAP_POLLFD: return "IPCM_CAP_POLLFD";
    case IPCM_CAP_NAMED: return "IPCM_CAP_NAMED";
    case IPCM_CAP_SPINS: return "IPCM_CAP_SPINS";
    case IPCM_CAP_STREAM: return "IPCM_CAP_STREAM";
    case IPCM_CAP_QSIZE: return "IPCM_CAP_QSIZE";
    case IPCM_CAP_FDPASS: return "IPCM_CAP_FDPASS";
    case IPCM_CAP_CROSS_HOST: return "IPCM_CAP_CROSS_HOST";
    case IPCM_CAP_EXEC: return "IPCM_CAP_EXEC";
    case IPCM_CAP_PRIORITY: return "IPCM_CAP_PRIORITY";
    case IPCM_CAP_READY: return "IPCM_CAP_READY";
    case IPCM_CAP_LIB_BUFFERED: return "IPCM_CAP_LIB_BUFFERED";
    }
    return "an unnamed capability";
}

/* Why the backend's caps (then the applies hook) rule case c out, or NULL. */
static const char *caps_or_hook(const struct ipcm_check_case *c, const struct ipcm_check_env *env,
                                char *why, size_t len)
{
    uint32_t missing = c->caps & ~env->caps;
    if (missing) {
        snprintf(why, len, "backend does not declare %s", cap_name(missing & -missing));
        return why;
    }
    if (c->applies)
        return c->applies(env, why, len);
    return NULL;
}

bool ipcm_check_concerns(const struct ipcm_check_case *c, const struct ipcm_check_env *env)
{
    char why[256];
    return !(c->flags & IPCM_CHECK_SCOPED) || !caps_or_hook(c, env, why, sizeof(why));
}

const char *ipcm_check_applies(const struct ipcm_check_case *c, const struct ipcm_check_env *env,
                               char *why, size_t len)
{
    /* Scope first: a case about another mechanism is not this backend's n/a. */
    if ((c->flags & IPCM_CHECK_SCOPED) && caps_or_hook(c, env, why, len)) {
        char scope[200];
        snprintf(scope, sizeof(scope), "%s", why);
        snprintf(why, len, "concerns other backends only (%s)", scope);
        return why;
    }
    if (env->lim_err < 0) {
        snprintf(why, len, "backend unavailable on this host: %s", ipcm_strerror(env->lim_err));
        return why;
    }
    if (c->na)
        return c->na;
    return caps_or_hook(c, env, why, len);
}

/* Remove and count entries "ipcmark-<pid>-*" in dir; names go into list. */
static int sweep_names(const char *dir, pid_t pid, char *list, size_t len)
{
    char prefix[40];
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    snprintf(prefix, sizeof(prefix), "ipcmark-%ld-", (long)pid);
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        size_t used = strlen(list);
        snprintf(list + used, len - used, "%s%s/%s", used ? ", " : "", dir, e->d_name);
        char name[300];
        snprintf(name, sizeof(name), "/%s", e->d_name);
        /* Remove what the case left so one leak does not fail every later case. */
        if (strcmp(dir, "/dev/mqueue") == 0)
            mq_unlink(name);
        else
            shm_unlink(name);
        n++;
    }
    closedir(d);
    return n;
}

/* Wait for pid until deadline_ns; true if it was reaped (status filled). */
static bool wait_until(pid_t pid, uint64_t deadline_ns, int *status)
{
    int pfd = ipcm_pidfd_open(pid);
    bool done = false;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            done = true;
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
        uint64_t now = ipcm_now_ns();
        if (now >= deadline_ns)
            break;
        int left = (int)((deadline_ns - now) / IPCM_NS_PER_MS) + 1;
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            poll(&p, 1, left);
        } else {
            ipcm_sleep_ms(left < 5 ? left : 5);
        }
    }
    if (pfd >= 0)
        close(pfd);
    return done;
}

/* The body of the case process. */
static void case_main(const struct ipcm_check_case *c, const struct ipcm_check_env *env,
                      struct ipcm_check_shared *sh)
{
    struct ipcm_check_ctx ctx = {
        .env = env,
        .be = env->be,
        .lim = &env->lim,
        .caps = env->caps,
        .seed = env->seed ^ XXH3_64bits(c->id, strlen(c->id)),
        .quick = env->quick,
        .sh = sh,
    };
    sigset_t none;

    /* The suite's signal rules: SIGPIPE at its default disposition (a backend that
     * forgets MSG_NOSIGNAL kills the case), nothing blocked, no inherited handlers. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    for (int s = 0; s < 2; s++) {
        unsigned bit = s == 0 ? IPCM_CHECK_Q : IPCM_CHECK_P;
        if (!(c->shapes & bit))
            continue;
        ctx.shape = s == 0 ? IPCM_SHAPE_QUEUE : IPCM_SHAPE_PIPE;
        ipcm_check_phase(&ctx, "%s shape: start", s == 0 ? "queue" : "pipe");
        int fds = ipcm_fd_count();
        c->fn(&ctx);
        if (ipcm_check_failed(&ctx) || atomic_load(&sh->na))
            break;
        /* Hygiene inside the case process: every worker joined, every end closed. */
        int kids = ipcm_check_child_count();
        if (kids != 0) {
            ipcm_check_failf(&ctx, __FILE__, __LINE__, "%s shape: %d child process(es) left",
                             s == 0 ? "queue" : "pipe", kids);
            break;
        }
        int now = ipcm_fd_count();
        if (now != fds) {
            ipcm_check_failf(&ctx, __FILE__, __LINE__,
                             "%s shape: open descriptors %d before, %d after (leak)",
                             s == 0 ? "queue" : "pipe", fds, now);
            break;
        }
    }
}

static void copy_counts(struct ipcm_check_result *res, const struct ipcm_check_shared *sh)
{
    res->counts.messages = atomic_load(&sh->messages);
    res->counts.lost = atomic_load(&sh->lost);
    res->counts.duplicated = atomic_load(&sh->duplicated);
    res->counts.reordered = atomic_load(&sh->reordered);
    res->counts.corrupt = atomic_load(&sh->corrupt);
}

/* Fork the case process: its own process group, dying with the runner. Returns its pid
 * or -errno. */
static pid_t start_case(const struct ipcm_check_case *c, const struct ipcm_check_env *env,
                        struct ipcm_check_shared *sh)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return ipcm_reason_fork(-errno);
    if (pid == 0) {
        /* Its own process group, so the watchdog can kill the case and every worker. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
        case_main(c, env, sh);
        fflush(NULL);
        _exit(0);
    }
    setpgid(pid, pid); /* also here: no race with the watchdog's killpg */
    return pid;
}

/* The outcome of a case process that ended (reaped, with status) or hung past bound_ns. */
static void judge(struct ipcm_check_result *res, const struct ipcm_check_shared *sh, bool reaped,
                  int status, uint64_t bound_ns)
{
    if (!reaped) {
        res->outcome = IPCM_CHECK_HANG;
        snprintf(res->message, sizeof(res->message), "watchdog: no result after %.1f s (%s)",
                 ipcm_ns_to_s(bound_ns), sh->phase);
    } else if (atomic_load(&sh->env) > 0) {
        /* A case that met a limit of the environment could not run as written: no
         * verdict on the backend. What failed with it is shown, not judged. */
        res->outcome = IPCM_CHECK_ENV;
        if (strcmp(sh->message, sh->env_message) == 0)
            snprintf(res->message, sizeof(res->message), "%s", sh->env_message);
        else
            snprintf(res->message, sizeof(res->message), "%.280s (first failure: %.200s)",
                     sh->env_message, sh->message);
    } else if (atomic_load(&sh->failures) > 0) {
        res->outcome = IPCM_CHECK_FAIL;
        snprintf(res->message, sizeof(res->message), "%s", sh->message);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        res->outcome = IPCM_CHECK_FAIL;
        if (WIFSIGNALED(status))
            snprintf(res->message, sizeof(res->message), "case process killed by SIG%s (%s)",
                     sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
                     sh->phase);
        else
            snprintf(res->message, sizeof(res->message), "case process exited %d (%s)",
                     WEXITSTATUS(status), sh->phase);
    } else if (atomic_load(&sh->na)) {
        res->outcome = IPCM_CHECK_NA;
        snprintf(res->message, sizeof(res->message), "%s", sh->message);
    } else {
        res->outcome = IPCM_CHECK_PASS;
    }
}

/* Remove the named objects of the case process pid and of every worker it spawned; a
 * leftover fails a case that had passed (or did not apply). */
static void sweep_case_names(struct ipcm_check_result *res, const struct ipcm_check_shared *sh,
                             pid_t pid)
{
    char left[400] = "";
    int nleft = 0;
    int npids = atomic_load(&sh->npids);
    for (int i = -1; i < npids && i < IPCM_CHECK_MAX_PIDS; i++) {
        pid_t p = i < 0 ? pid : sh->pids[i];
        nleft += sweep_names("/dev/mqueue", p, left, sizeof(left));
        nleft += sweep_names("/dev/shm", p, left, sizeof(left));
    }
    if (nleft && (res->outcome == IPCM_CHECK_PASS || res->outcome == IPCM_CHECK_NA ||
                  res->outcome == IPCM_CHECK_ENV)) {
        res->outcome = IPCM_CHECK_FAIL;
        snprintf(res->message, sizeof(res->message), "hygiene: %d named object(s) left: %s", nleft,
                 left);
    }
}

int ipcm_check_run(const struct ipcm_check_case *c, const struct ipcm_check_env *env,
                   struct ipcm_check_result *res)
{
    char why[256];
    memset(res, 0, sizeof(*res));

    const char *na = ipcm_check_applies(c, env, why, sizeof(why));
    if (na) {
        res->outcome = IPCM_CHECK_NA;
        snprintf(res->message, sizeof(res->message), "%s", na);
        return 0;
    }
    if (!c->fn) {
        res->outcome = IPCM_CHECK_TODO;
        snprintf(res->message, sizeof(res->message), "not yet implemented");
        return 0;
    }

    /* Before counting descriptors: the journal's guard token stays open. */
    ipcm_sysv_journal_init();
    int fds_before = ipcm_fd_count();
    struct ipcm_check_shared *sh = ipcm_shared_alloc(sizeof(*sh));
    if (!sh) {
        res->outcome = IPCM_CHECK_FAIL;
        snprintf(res->message, sizeof(res->message), "runner: cannot map shared state");
        return -ENOMEM;
    }
    uint64_t t0 = ipcm_now_ns();
    pid_t pid = start_case(c, env, sh);
    if (pid < 0) {
        /* A fork the host refuses (RLIMIT_NPROC, pids.max) is the environment's limit. */
        const char *limit = ipcm_last_error((int)pid);
        ipcm_shared_free(sh, sizeof(*sh));
        res->outcome = limit ? IPCM_CHECK_ENV : IPCM_CHECK_FAIL;
        snprintf(res->message, sizeof(res->message), "runner: %s",
                 limit ? limit : strerror((int)-pid));
        return (int)pid;
    }

    int status = 0;
    uint64_t bound = ipcm_ms_to_ns((long long)((double)c->timeout_ms * env->timeout_scale));
    bool reaped = wait_until(pid, t0 + bound, &status);
    if (!reaped) {
        killpg(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    /* Workers die with the case (PDEATHSIG); make sure of it before sweeping names. */
    killpg(pid, SIGKILL);
    res->duration_s = ipcm_ns_to_s(ipcm_ns_since(t0));
    copy_counts(res, sh);
    judge(res, sh, reaped, status, bound);
    /* RULINGS 1: what a library-buffered backend disclaims (IPCM_CAP_LIB_BUFFERED) is
     * observed, not judged: the case ran, and what it saw is the reason of its n/a. */
    if ((c->flags & IPCM_CHECK_LIBBUF) && (env->caps & IPCM_CAP_LIB_BUFFERED) &&
        (res->outcome == IPCM_CHECK_FAIL || res->outcome == IPCM_CHECK_HANG)) {
        char seen[sizeof(res->message)];
        snprintf(seen, sizeof(seen), "%s", res->message);
        res->outcome = IPCM_CHECK_NA;
        snprintf(res->message, sizeof(res->message),
                 "not declared (library-buffered backend); observed: %.400s", seen);
    }
    sweep_case_names(res, sh, pid);
    /* System V ids have no attach count: what a killed worker (or a child that
     * inherited a link and outlived its last user) still held is removed here. */
    ipcm_sysv_sweep();
    ipcm_shared_free(sh, sizeof(*sh));

    int fds_after = ipcm_fd_count();
    if (fds_after != fds_before && res->outcome != IPCM_CHECK_FAIL) {
        res->outcome = IPCM_CHECK_FAIL;
        snprintf(res->message, sizeof(res->message),
                 "hygiene: runner descriptors %d before, %d after", fds_before, fds_after);
    }
    return 0;
}

bool ipcm_check_match(const char *id, const char *globs)
{
    if (!globs || !*globs)
        return true;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", globs);
    char *save = NULL;
    for (char *g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save))
        if (fnmatch(g, id, 0) == 0)
            return true;
    return false;
}
