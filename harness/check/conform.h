/* SPDX-License-Identifier: MIT */
/*
 * conform.h - the conformance suite: one table of cases (CONFORMANCE.md §5) that drives
 * both `ipcmark check` and the libcheck runs (tests/test_conform.c), the runner that
 * executes a case in its own process group under a watchdog, and the helpers cases use.
 *
 * Adding a group of cases (one catalogue group per file):
 *   1. write harness/check/cases_<group>.c defining
 *          const struct ipcm_check_case ipcm_check_cases_GROUP[] = { {...}, ..., {0} };
 *      (zero-terminated; ids "<area>.<fact>", the catalogue number in .num);
 *   2. declare it in the "groups" block at the end of this header;
 *   3. add one line to groups[] in runner.c and the file to harness/check/CMakeLists.txt.
 *   A case registered before it is written has fn (and na) NULL and reports "todo".
 * Nothing else changes: `ipcmark check --list`, the matrix, JSON/JUnit and the ctest
 * runs all read the table.
 */
#ifndef IPCM_HARNESS_CHECK_CONFORM_H
#define IPCM_HARNESS_CHECK_CONFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcmark.h"

/* Shapes a case runs on (the runner calls the case once per shape that applies). */
#define IPCM_CHECK_Q (1u << 0) /* queue shape */
#define IPCM_CHECK_P (1u << 1) /* pipe shape */
#define IPCM_CHECK_QP (IPCM_CHECK_Q | IPCM_CHECK_P)

/* Case flags. */
#define IPCM_CHECK_QUICK (1u << 0) /* part of `ipcmark check --quick` */
/* The case concerns only the backends that declare its caps and that its applies hook
 * accepts (one mechanism's specifics: mq priorities, the shm ring): another backend
 * omits it from its list, its matrix column and its reports, instead of showing n/a. */
#define IPCM_CHECK_SCOPED (1u << 1)
/* The property checked is one a library-buffered backend (IPCM_CAP_LIB_BUFFERED) does not
 * keep: acknowledged messages surviving the sender's death, an exact depth, an end used
 * across fork. On such a backend a FAIL or HANG is reported as n/a with what was seen. */
#define IPCM_CHECK_LIBBUF (1u << 4)

/* The timeout of a case's single send or receive: far beyond any healthy wait, so only
 * a lost wake-up or a hang runs into it. */
#define IPCM_CHECK_T_OP_MS 10000
/* How late a timed wait may return on a loaded machine (early: 100 ms at most). */
#define IPCM_CHECK_SLACK_MS 2000

/* How a case ended. */
enum ipcm_check_outcome {
    IPCM_CHECK_PASS,
    IPCM_CHECK_FAIL, /* a check failed, a worker failed, or the case leaked */
    IPCM_CHECK_HANG, /* the watchdog expired; the case's process group was killed */
    IPCM_CHECK_NA,   /* does not apply: the reason names the capability or limit */
    IPCM_CHECK_TODO, /* registered but not yet implemented (never counted as passed) */
    IPCM_CHECK_ENV,  /* could not run: a limit of the environment (named) ran out first */
};

/* Integrity counts of a case (self-checking payloads). */
struct ipcm_check_counts {
    long long messages;   /* messages verified */
    long long lost;       /* sent with an OK return, never received */
    long long duplicated; /* received more than once */
    long long reordered;  /* a producer's messages out of order at one consumer */
    long long corrupt;    /* bad checksum, wrong length (torn or truncated) */
};

/* The outcome of one case on one backend, as the runner reports it. */
struct ipcm_check_result {
    enum ipcm_check_outcome outcome;
    double duration_s;
    struct ipcm_check_counts counts;
    char message[512]; /* FAIL: "file:line: expr: a vs b"; HANG: last phase; NA: reason */
};

/* What a suite run is about: one backend, its limits, the seed. */
struct ipcm_check_env {
    const struct ipcm_backend *be;
    struct ipcm_limits lim;
    int lim_err; /* < 0: the backend cannot run here (every case n/a) */
    uint32_t caps;
    uint64_t seed;
    bool quick;           /* smaller message counts and iterations */
    double timeout_scale; /* watchdog multiplier (CK_TIMEOUT_MULTIPLIER) */
};

/*
 * Memory shared between the runner, the case process and every worker it spawns, so
 * a worker's failure and the last phase before a hang survive the process.
 */
#define IPCM_CHECK_MAX_PIDS 512
struct ipcm_check_shared {
    atomic_int failures;
    atomic_int env; /* limits of the environment met (ipcm_check_envf), counted in failures */
    atomic_int na;  /* a case declared itself not applicable at run time */
    char message[512];
    char env_message[512]; /* the first limit met */
    char phase[128];
    _Atomic long long messages, lost, duplicated, reordered, corrupt;
    atomic_int npids;
    pid_t pids[IPCM_CHECK_MAX_PIDS]; /* every process the case spawned (name sweep) */
};

/* What a case function sees. */
struct ipcm_check_ctx {
    const struct ipcm_check_env *env;
    const struct ipcm_backend *be;
    const struct ipcm_limits *lim;
    uint32_t caps;
    enum ipcm_shape shape; /* the shape of this call */
    uint64_t seed;         /* per case: env seed mixed with the case id */
    bool quick;
    struct ipcm_check_shared *sh;
};

typedef void (*ipcm_check_fn)(struct ipcm_check_ctx *ctx);
/* Returns NULL when the case applies, else a static reason or one written into why. */
typedef const char *(*ipcm_check_applies_fn)(const struct ipcm_check_env *env, char *why,
                                             size_t len);

struct ipcm_check_case {
    const char *id;                /* stable, dotted: "order.fifo_single_producer" */
    unsigned num;                  /* CONFORMANCE.md §5 number */
    const char *summary;           /* one line */
    unsigned shapes;               /* IPCM_CHECK_Q / _P */
    uint32_t caps;                 /* IPCM_CAP_* the backend must declare */
    unsigned flags;                /* IPCM_CHECK_QUICK */
    int timeout_ms;                /* watchdog bound for the whole case (all shapes) */
    ipcm_check_fn fn;              /* NULL: not yet implemented */
    const char *na;                /* non-NULL: never applies here, for this reason */
    ipcm_check_applies_fn applies; /* optional run-time applicability (limits) */
};

/* ---------------------------------------------------------------- the table */

size_t ipcm_check_count(void);
const struct ipcm_check_case *ipcm_check_at(size_t i);
const struct ipcm_check_case *ipcm_check_find(const char *id);

/* ---------------------------------------------------------------- the runner */

/*
 * ipcm_check_env_init - prepare a run on be: read its limits, set the seed.
 * timeout_scale comes from $CK_TIMEOUT_MULTIPLIER (sanitizer builds) when set.
 */
void ipcm_check_env_init(struct ipcm_check_env *env, const struct ipcm_backend *be, uint64_t seed,
                         bool quick);
/*
 * ipcm_check_applies - NULL if case c applies to env, else the reason (the missing
 * capability, the limit, or the API the library lacks), written into why if needed.
 */
const char *ipcm_check_applies(const struct ipcm_check_case *c, const struct ipcm_check_env *env,
                               char *why, size_t len);
/*
 * ipcm_check_run - run case c on env in a forked process group under its watchdog,
 * then check hygiene (descriptors of this process, /dev/shm and /dev/mqueue names of
 * every process the case spawned, children). Fills *res; never hangs.
 * Returns: 0, or -errno if the case process could not be started (res says FAIL).
 */
int ipcm_check_run(const struct ipcm_check_case *c, const struct ipcm_check_env *env,
                   struct ipcm_check_result *res);
/*
 * ipcm_check_concerns - whether case c concerns env's backend at all: always, unless the
 * case is IPCM_CHECK_SCOPED and the backend lacks its caps or its applies hook says no.
 * A case that does not concern a backend is left out of that backend's list (and
 * ipcm_check_applies gives the reason, so a direct run reports n/a).
 */
bool ipcm_check_concerns(const struct ipcm_check_case *c, const struct ipcm_check_env *env);
/* Whether id matches globs, a comma list of fnmatch(3) patterns (NULL/empty: all). */
bool ipcm_check_match(const char *id, const char *globs);
/* "pass", "FAIL", "HANG", "n/a", "todo", "env". */
const char *ipcm_check_outcome_name(enum ipcm_check_outcome o);

/* ---------------------------------------------------------------- recording */

/* Record a failure (the first one's text is kept). Safe in workers. */
void ipcm_check_failf(struct ipcm_check_ctx *ctx, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Record that the case could not go on because the environment lacks a resource (the
 * reason must name the limit): counted as a failure inside the case, so it stops as
 * after any failure, and the runner reports the case IPCM_CHECK_ENV, not FAIL, with the
 * first limit met (and the first failure, when that came first: in a case of several
 * processes, a consequence of the limit can be recorded before it). Safe in workers.
 */
void ipcm_check_envf(struct ipcm_check_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * ipcm_check_env_reason - the reason the library recorded for err (ipcm_last_error), when
 * err is a limit of the environment (RLIMIT_NOFILE, RLIMIT_MSGQUEUE, ...); for an EMFILE
 * or ENFILE it did not explain (the case's own pipe2, pidfd_open), RLIMIT_NOFILE or
 * fs.file-max; else NULL. The failure helpers below use it: a check that failed on such an error
 * records the limit with ipcm_check_envf instead of a failure.
 */
const char *ipcm_check_env_reason(long long err);
/* ipcm_check_env_fds - if no descriptor can be opened now, record RLIMIT_NOFILE as the
 * environment's limit (what: the step that needed one) and return true. */
bool ipcm_check_env_fds(struct ipcm_check_ctx *ctx, const char *what);
/* Record that the case does not apply after all, with the reason. */
void ipcm_check_naf(struct ipcm_check_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Name the step the case is in, shown if the watchdog fires. */
void ipcm_check_phase(struct ipcm_check_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Format a value for a failure message: negative errno values get their name. */
const char *ipcm_check_fmt_val(long long v, char *buf, size_t len);
void ipcm_check_fail_cmp(struct ipcm_check_ctx *ctx, const char *file, int line, const char *expr,
                         long long a, long long b);
bool ipcm_check_failed(const struct ipcm_check_ctx *ctx);

/*
 * Checks that record instead of aborting: both values, file and line are kept, and
 * the calling function returns (IPCM_CHECK_*: from a void case function; IPCM_WCHECK_*:
 * with 1 from a worker body, whose exit status the case then checks too).
 */
#define IPCM_CHECK_OP_(ctx, a, op, b, ret)                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (!(a_ op b_)) {                                                                         \
            ipcm_check_fail_cmp((ctx), __FILE__, __LINE__, #a " " #op " " #b, a_, b_);             \
            ret;                                                                                   \
        }                                                                                          \
    } while (0)
#define IPCM_CHECK_EQ(ctx, a, b) IPCM_CHECK_OP_(ctx, a, ==, b, return )
#define IPCM_CHECK_NE(ctx, a, b) IPCM_CHECK_OP_(ctx, a, !=, b, return )
#define IPCM_CHECK_LE(ctx, a, b) IPCM_CHECK_OP_(ctx, a, <=, b, return )
#define IPCM_CHECK_LT(ctx, a, b) IPCM_CHECK_OP_(ctx, a, <, b, return )
#define IPCM_CHECK_GE(ctx, a, b) IPCM_CHECK_OP_(ctx, a, >=, b, return )
#define IPCM_CHECK_GT(ctx, a, b) IPCM_CHECK_OP_(ctx, a, >, b, return )
#define IPCM_WCHECK_EQ(ctx, a, b) IPCM_CHECK_OP_(ctx, a, ==, b, return 1)
#define IPCM_WCHECK_GE(ctx, a, b) IPCM_CHECK_OP_(ctx, a, >=, b, return 1)
#define IPCM_WCHECK_LE(ctx, a, b) IPCM_CHECK_OP_(ctx, a, <=, b, return 1)
/* A condition with a formatted message. */
#define IPCM_CHECK(ctx, cond, ...)                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ipcm_check_failf((ctx), __FILE__, __LINE__, __VA_ARGS__);                              \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define IPCM_WCHECK(ctx, cond, ...)                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ipcm_check_failf((ctx), __FILE__, __LINE__, __VA_ARGS__);                              \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)
/* Succeeds when a worker exited 0; else records how it ended. */
#define IPCM_CHECK_JOIN(ctx, proc, timeout_ms)                                                     \
    do {                                                                                           \
        if (!ipcm_check_join((ctx), (proc), (timeout_ms), __FILE__, __LINE__))                     \
            return;                                                                                \
    } while (0)

/* ---------------------------------------------------------------- helpers */

/* Spawn a worker and record its pid for the name sweep. Returns 0 or -errno. */
int ipcm_check_spawn(struct ipcm_check_ctx *ctx, struct ipcm_process *p, const char *name,
                     ipcm_worker_fn fn, const void *arg, size_t len);
/* Join within timeout_ms (scaled); on timeout kill it. False (and a failure) unless exit 0. */
bool ipcm_check_join(struct ipcm_check_ctx *ctx, struct ipcm_process *p, int timeout_ms,
                     const char *file, int line);
/* Wait for p to end (any status) and reap it; SIGKILL after timeout_ms. */
void ipcm_check_reap(struct ipcm_process *p, int timeout_ms, struct ipcm_exit *ex);
/*
 * ipcm_check_spawn_noted - spawn a worker that says when it is ready by writing one byte:
 * make the pipe note[] first (a member of *arg, so the worker inherits both ends; it
 * closes note[0] and writes to note[1]), then keep only the read end here.
 * Returns: 0; -errno from pipe2 or the spawn, with both ends closed (-1).
 */
int ipcm_check_spawn_noted(struct ipcm_check_ctx *ctx, struct ipcm_process *p, const char *name,
                           ipcm_worker_fn fn, const void *arg, size_t len, int note[2]);
/* Wait for the one byte on a note's read end (EINTR-safe); false if it closed first. */
bool ipcm_check_wait_note(int fd);
/* The watchdog-scaled form of a timeout for the case's own waits. */
int ipcm_check_scaled_ms(const struct ipcm_check_ctx *ctx, int ms);

/* Create a link of the case's shape; records a failure on error. */
struct ipcm_link *ipcm_check_link(struct ipcm_check_ctx *ctx, enum ipcm_shape shape, size_t max_msg,
                                  unsigned depth);
/* The role of "this side" and "the other side" for the case's shape: SEND/RECV or A/B. */
enum ipcm_role ipcm_check_tx_role(enum ipcm_shape s);
enum ipcm_role ipcm_check_rx_role(enum ipcm_shape s);

/* Deterministic random numbers (splitmix64). */
uint64_t ipcm_check_rand(uint64_t *state);
/* Number of children of this process (any state). */
int ipcm_check_child_count(void);

/*
 * Self-checking payloads. A message of at least IPCM_PAYLOAD_HDR bytes carries a magic,
 * its producer id, sequence number, length and an XXH3 checksum of the body (seeded by
 * the header fields), so loss, duplication, reordering, tearing and truncation are
 * told apart. Shorter messages carry a pattern derived from (producer, seq, length).
 */
#define IPCM_PAYLOAD_HDR 32u
void ipcm_payload_make(void *buf, size_t len, uint32_t producer, uint64_t seq);
/*
 * ipcm_payload_check - verify a received message of n bytes. For n < IPCM_PAYLOAD_HDR
 * the expected producer/seq must be passed in *producer and *seq.
 * Returns: 0; -EPROTO (bad magic or checksum: corrupt or torn); -EMSGSIZE (the length
 * recorded differs from n: truncated or merged).
 */
int ipcm_payload_check(const void *buf, size_t n, uint32_t *producer, uint64_t *seq);

/*
 * A delivery ledger in shared memory: how often each (producer, seq) arrived, so the
 * case can count lost and duplicated messages across consumer processes.
 */
struct ipcm_ledger {
    unsigned nprod;
    uint64_t nseq;
    size_t bytes;
    _Atomic unsigned char seen[]; /* nprod * nseq */
};
struct ipcm_ledger *ipcm_ledger_new(unsigned nprod, uint64_t nseq);
void ipcm_ledger_free(struct ipcm_ledger *lg);
/*
 * Verify and record one received message: checksum, then per-consumer order (last[]
 * holds this consumer's last seq per producer, initialised to UINT64_MAX), then the
 * count. Corrupt/duplicate/reordered messages are counted in ctx. Returns false if the
 * message was bad.
 */
bool ipcm_ledger_take(struct ipcm_check_ctx *ctx, struct ipcm_ledger *lg, const void *buf, size_t n,
                      uint64_t *last);
/*
 * Count lost messages: for producer p, every seq below sent[p] must have arrived once
 * (sent[p]: messages whose send returned OK). Adds to ctx's counts and returns the
 * number lost + duplicated.
 */
long long ipcm_ledger_finish(struct ipcm_check_ctx *ctx, struct ipcm_ledger *lg,
                             const uint64_t *sent);

/*
 * A peer process: opens role on l, sends nsend payload messages of size bytes (producer
 * 9, seq 0..), then stays attached until released, then closes its end and exits 0.
 */
struct ipcm_check_peer {
    struct ipcm_process proc;
    int ctl; /* closing it releases the peer */
};
int ipcm_check_peer_start(struct ipcm_check_ctx *ctx, struct ipcm_link *l, enum ipcm_role role,
                          unsigned nsend, size_t size, struct ipcm_check_peer *peer);
/* Release the peer and join it (a failure is recorded if it did not exit 0). */
bool ipcm_check_peer_release(struct ipcm_check_ctx *ctx, struct ipcm_check_peer *peer);

/*
 * ipcm_check_open_pair - a new link of shape (max_msg bytes) whose end `theirs` a peer
 * holds (ipcm_check_peer_start: it sends nsend payloads of size bytes, then waits to be
 * released) and whose end `mine` is opened here; the link itself is destroyed at once.
 * Returns this side's end, or NULL after recording a failure. *peer can be released
 * either way.
 */
struct ipcm_chan *ipcm_check_open_pair(struct ipcm_check_ctx *ctx, enum ipcm_shape shape,
                                       size_t max_msg, enum ipcm_role mine, enum ipcm_role theirs,
                                       unsigned nsend, size_t size, struct ipcm_check_peer *peer);
/* The usual pair on the case's shape: this side receives, the peer sends. */
struct ipcm_chan *ipcm_check_with_peer(struct ipcm_check_ctx *ctx, size_t max_msg, unsigned nsend,
                                       size_t size, struct ipcm_check_peer *peer);
/*
 * ipcm_check_open_alone - a new link of shape (max_msg, depth) with one end opened here
 * and no peer: a queue end that both sends and receives, or pipe end A. The link itself
 * is destroyed at once. Returns the end, or NULL after recording a failure.
 */
struct ipcm_chan *ipcm_check_open_alone(struct ipcm_check_ctx *ctx, enum ipcm_shape shape,
                                        size_t max_msg, unsigned depth);

/*
 * What a worker body holds: its end and a buffer of the end's max_msg + 1 bytes (one
 * more, so a body can also offer a message one byte too long).
 */
struct ipcm_check_end {
    struct ipcm_chan *c;
    unsigned char *buf;
    size_t max; /* ipcm_chan_max_msg(c) */
};
/*
 * ipcm_check_end_open - open role on l and allocate the buffer. On failure, records it
 * at file:line (the caller's) and leaves nothing open. Returns true on success.
 */
bool ipcm_check_end_open(struct ipcm_check_ctx *ctx, struct ipcm_link *l, enum ipcm_role role,
                         struct ipcm_check_end *e, const char *file, int line);
/* In a worker body: open the end into *e, or return 1 (the failure is recorded). */
#define IPCM_WCHECK_OPEN(ctx, l, role, e)                                                          \
    do {                                                                                           \
        if (!ipcm_check_end_open((ctx), (l), (role), (e), __FILE__, __LINE__))                     \
            return 1;                                                                              \
    } while (0)
/* Free the buffer and close the end. */
void ipcm_check_end_close(struct ipcm_check_end *e);
/* A worker body that util.c gives an open end; returns the worker's exit code. */
typedef int (*ipcm_check_body_fn)(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e,
                                  const void *arg);
/*
 * ipcm_check_spawn_end - spawn a worker that opens role on l (ipcm_check_end_open),
 * runs body(ctx, &end, arg) and closes the end again; arg is the caller's, inherited
 * through fork. Returns 0 or -errno (as ipcm_check_spawn).
 */
int ipcm_check_spawn_end(struct ipcm_check_ctx *ctx, struct ipcm_process *p, const char *name,
                         struct ipcm_link *l, enum ipcm_role role, ipcm_check_body_fn body,
                         const void *arg);
/* Make the payload (producer, seq) of size bytes in e's buffer and send it within
 * timeout_ms. Returns what ipcm_chan_send returned. */
ssize_t ipcm_check_send_payload(struct ipcm_check_end *e, size_t size, uint32_t producer,
                                uint64_t seq, int timeout_ms);
/*
 * ipcm_check_consume - receive on e until end-of-stream, verifying each message into lg
 * with this consumer's own per-producer order (ipcm_ledger_take).
 * Returns: -EPIPE at end-of-stream; else the first other error of recv, or -ENOMEM.
 */
ssize_t ipcm_check_consume(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e,
                           struct ipcm_ledger *lg);
/*
 * ipcm_check_echo - send each message received on e straight back, until end-of-stream
 * (each receive waits up to recv_timeout_ms). Returns 0, or 1 after recording a failure
 * (a worker's exit code).
 */
int ipcm_check_echo(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, int recv_timeout_ms);

/*
 * np producers x nc consumers over one new link of the given shape, depth and max_msg;
 * each producer sends per messages (fixed size max_msg, or random sizes up to it when
 * random_sizes), consumers verify into a ledger; lost/duplicated/reordered/corrupt must
 * all be zero. The calling process holds no end.
 */
void ipcm_check_mpmc(struct ipcm_check_ctx *ctx, enum ipcm_shape shape, unsigned np, unsigned nc,
                     uint64_t per, size_t max_msg, unsigned depth, bool random_sizes);

/*
 * The stream backends' I/O-shrinking hook (backends/testing.h), defined only in the test
 * build of the backends (libipcmark_testing, which the ctest conformance runs link). A
 * weak reference: NULL in the shipped ipcmark, whose cases that need it report n/a.
 */
__attribute__((weak, visibility("hidden"))) extern int
ipcm_frame_test_short_io(unsigned rmax, unsigned wmax, uint64_t seed);
/* The n/a reason of a case that needs the hook where it is absent. */
#define IPCM_CHECK_NO_SHORT_IO                                                                     \
    "needs the test build's I/O hook (ipcm_frame_test_short_io in libipcmark_testing): runs "      \
    "in ctest's conform.<backend>, not in the shipped ipcmark"

/*
 * ipcm_check_fragmented - cases 31 and 101: with the I/O hook armed (every read at most
 * rmax bytes, every write at most wmax; exactly, or 1..max at random when seed is not 0),
 * queue shape: two producers send messages of 32 B up to min(max_msg, 9000) to this
 * process; pipe shape: this process sends sizes from 0 up and a peer echoes each. Every
 * message must reassemble exactly (ledger / byte comparison), and the hook must have cut
 * I/O short in this process. n/a (at run time) where the hook is absent.
 */
void ipcm_check_fragmented(struct ipcm_check_ctx *ctx, unsigned rmax, unsigned wmax, uint64_t seed);

/* ---------------------------------------------------------------- groups */

extern const struct ipcm_check_case ipcm_check_cases_delivery[]; /* A */
extern const struct ipcm_check_case ipcm_check_cases_blocking[]; /* B */
extern const struct ipcm_check_case ipcm_check_cases_close[];    /* C */
extern const struct ipcm_check_case ipcm_check_cases_signals[];  /* D */
extern const struct ipcm_check_case ipcm_check_cases_faults[];   /* E */
extern const struct ipcm_check_case ipcm_check_cases_hygiene[];  /* F */
extern const struct ipcm_check_case ipcm_check_cases_poll[];     /* G */
extern const struct ipcm_check_case ipcm_check_cases_pool[];     /* H */
extern const struct ipcm_check_case ipcm_check_cases_backend[];  /* I, J, K */
extern const struct ipcm_check_case ipcm_check_cases_sync[];     /* S (issue 17) */

#endif /* IPCM_HARNESS_CHECK_CONFORM_H */
