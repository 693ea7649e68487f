/* SPDX-License-Identifier: MIT */
/*
 * cases_hygiene.c - conformance group F (CONFORMANCE.md §5, 58-64): descriptors,
 * resource limits and the fork model. Limits are lowered inside the case process only
 * (rlimits are per process), and restored before anything else is checked.
 */
#include "conform.h"

#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Highest open descriptor number of this process. */
static int max_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    int top = -1;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && atoi(e->d_name) > top && atoi(e->d_name) != dirfd(d))
            top = atoi(e->d_name);
    closedir(d);
    return top;
}

/* One message through a queue end that both sends and receives, or through a pipe
 * end with an echoing peer. */
static bool roundtrip(struct ipcm_check_ctx *ctx, struct ipcm_chan *c, uint64_t seq)
{
    unsigned char buf[128];
    uint32_t p = 0;
    uint64_t s = 0;
    ipcm_payload_make(buf, 100, 1, seq);
    ssize_t n = ipcm_chan_send(c, buf, 100, IPCM_CHECK_T_OP_MS);
    if (n != 100) {
        ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "send", n, 100);
        return false;
    }
    n = ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
    if (n != 100 || ipcm_payload_check(buf, 100, &p, &s) != 0 || s != seq) {
        ipcm_check_failf(ctx, __FILE__, __LINE__, "round trip %llu: got %zd B, seq %llu",
                         (unsigned long long)seq, n, (unsigned long long)s);
        return false;
    }
    atomic_fetch_add(&ctx->sh->messages, 1);
    return true;
}

struct hargs {
    struct ipcm_check_ctx *ctx;
    struct ipcm_link *l;
    struct ipcm_chan *c; /* inherited, already used end */
    _Atomic int *out;
    uint64_t seq;
    bool spawn_grandchild;
};

/* Echo every message back on pipe end B until end-of-stream. */
static int w_echo(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    (void)arg;
    return ipcm_check_echo(ctx, e, 3 * IPCM_CHECK_T_OP_MS);
}

/* ---------------------------------------------------------------- 58 */

static int w_count_fds(const void *arg, size_t len)
{
    const struct hargs *a = arg;
    (void)len;
    atomic_store(a->out, ipcm_fd_count());
    return 0;
}

static int child_fds(struct ipcm_check_ctx *ctx, _Atomic int *out)
{
    struct hargs a = {.ctx = ctx, .out = out};
    struct ipcm_process p = {0};
    atomic_store(out, -1);
    if (ipcm_check_spawn(ctx, &p, "fdcount", w_count_fds, &a, sizeof(a)) < 0)
        return -1;
    if (!ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__))
        return -1;
    return atomic_load(out);
}

static void no_fd_growth(struct ipcm_check_ctx *ctx)
{
    _Atomic int *out = ipcm_shared_alloc(64);
    IPCM_CHECK(ctx, out != NULL, "mmap");
    int base = ipcm_fd_count();
    int child0 = child_fds(ctx, out);
    int cycles = ctx->quick ? 200 : 1000;
    bool q = ctx->shape == IPCM_SHAPE_QUEUE;
    ipcm_check_phase(ctx, "%d create/destroy cycles", cycles);
    for (int i = 0; i < cycles && !ipcm_check_failed(ctx); i++) {
        struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 128, 4);
        if (!l)
            break;
        /* Every other cycle opens an end too, so both teardown paths are counted. */
        if (i % 2) {
            struct ipcm_chan *c = NULL;
            int r = ipcm_chan_open(l, q ? IPCM_ROLE_BOTH : IPCM_ROLE_A, &c);
            if (r < 0)
                ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "open", r, 0);
            if (c && q && i % 10 == 1)
                roundtrip(ctx, c, (uint64_t)i);
            ipcm_chan_close(c);
        }
        ipcm_link_destroy(l);
    }
    int now = ipcm_fd_count();
    int child1 = child_fds(ctx, out);
    ipcm_shared_free(out, 64);
    if (ipcm_check_failed(ctx))
        return;
    IPCM_CHECK(ctx, now == base, "parent: %d descriptors before %d cycles, %d after", base, cycles,
               now);
    IPCM_CHECK(ctx, child1 == child0, "a fresh child: %d descriptors before, %d after", child0,
               child1);
}

/* ---------------------------------------------------------------- 59 */

/* One create under the current limit: 0, or the error with nothing left behind. */
static int create_counted(struct ipcm_check_ctx *ctx, struct ipcm_link **out, int *leaked)
{
    struct ipcm_config cfg = {.max_msg = 128, .depth = 4};
    int before = ipcm_fd_count();
    int err = ipcm_link_create(ctx->be, ctx->shape, &cfg, out);
    *leaked = err < 0 ? ipcm_fd_count() - before : 0;
    return err;
}

static void fd_limit_clear_error(struct ipcm_check_ctx *ctx)
{
    struct rlimit old, low;
    IPCM_CHECK_EQ(ctx, getrlimit(RLIMIT_NOFILE, &old), 0);
    struct ipcm_link *links[64];
    int n = 0, err = 0, leaked = 0, nfill = 0, fill[256];
    /* Plug the holes below the highest open fd, so the limit leaves exactly the room
     * we mean to leave. */
    int top = max_fd();
    while (nfill < 256) {
        int fd = dup(0);
        if (fd < 0 || fd > top) {
            if (fd >= 0)
                close(fd);
            break;
        }
        fill[nfill++] = fd;
    }
    low = old;
    low.rlim_cur = (rlim_t)top + 1 + 24;
    if (low.rlim_cur > old.rlim_cur) {
        /* The room the case needs above the highest open descriptor is not there. */
        ipcm_check_envf(ctx,
                        "needs RLIMIT_NOFILE %d (descriptors up to %d are open), the limit is "
                        "%llu; raise it: `ulimit -n 1024`",
                        (int)low.rlim_cur, top, (unsigned long long)old.rlim_cur);
        goto out;
    }
    if (setrlimit(RLIMIT_NOFILE, &low) < 0) {
        ipcm_check_failf(ctx, __FILE__, __LINE__, "cannot set RLIMIT_NOFILE %d", (int)low.rlim_cur);
        goto out;
    }
    ipcm_check_phase(ctx, "creating under RLIMIT_NOFILE %d", (int)low.rlim_cur);
    while (n < 64 && (err = create_counted(ctx, &links[n], &leaked)) == 0)
        n++;
    if (n == 64 && ipcm_fd_count() <= top + 1) {
        /* The backend's channels hold no descriptor (only a transient one while
         * created): with no descriptor free at all, create fails cleanly or works. */
        low.rlim_cur = (rlim_t)max_fd() + 1;
        setrlimit(RLIMIT_NOFILE, &low);
        struct ipcm_link *l = NULL;
        err = create_counted(ctx, &l, &leaked);
        ipcm_link_destroy(l);
        if (err == 0)
            err = -EMFILE, leaked = 0; /* needs none at all: nothing to refuse */
    }
    setrlimit(RLIMIT_NOFILE, &old);
    if (err != -EMFILE && err != -ENFILE) {
        ipcm_check_failf(ctx, __FILE__, __LINE__, "create at the fd limit (%d made): %s (%s)", n,
                         ipcm_strerror(err), ipcm_err_name(err));
        goto out;
    }
    IPCM_CHECK_OP_(ctx, leaked, ==, 0, goto out);
    /* Earlier channels still work (with the limit restored, so peers can start). */
    for (int i = 0; i < n && !ipcm_check_failed(ctx); i++) {
        struct ipcm_chan *c = NULL;
        struct ipcm_process echo = {0};
        int r = 0;
        if (ctx->shape == IPCM_SHAPE_PIPE)
            r = ipcm_check_spawn_end(ctx, &echo, "echo", links[i], IPCM_ROLE_B, w_echo, NULL);
        if (r == 0)
            r = ipcm_chan_open(links[i],
                               ctx->shape == IPCM_SHAPE_PIPE ? IPCM_ROLE_A : IPCM_ROLE_BOTH, &c);
        if (r < 0)
            ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "open an earlier channel", r, 0);
        else
            roundtrip(ctx, c, (uint64_t)i);
        ipcm_chan_close(c);
        if (echo.pid > 0)
            ipcm_check_join(ctx, &echo, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
    }
out:
    setrlimit(RLIMIT_NOFILE, &old);
    for (int i = 0; i < n; i++)
        ipcm_link_destroy(links[i]);
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
}

/* ---------------------------------------------------------------- 60 */

static void mq_rlimit_clear_error(struct ipcm_check_ctx *ctx)
{
    struct rlimit old, zero;
    IPCM_CHECK_EQ(ctx, getrlimit(RLIMIT_MSGQUEUE, &old), 0);
    zero = old;
    zero.rlim_cur = 0; /* below any queue's footprint */
    IPCM_CHECK_EQ(ctx, setrlimit(RLIMIT_MSGQUEUE, &zero), 0);
    struct ipcm_config cfg = {.max_msg = 128, .depth = 4};
    struct ipcm_link *l = NULL;
    int before = ipcm_fd_count();
    int err = ipcm_link_create(ctx->be, ctx->shape, &cfg, &l);
    int after = ipcm_fd_count();
    setrlimit(RLIMIT_MSGQUEUE, &old);
    if (err == 0) {
        /* IPCM_CAP_NAMED says a name exists, not which kind: objects under /dev/shm
         * are not charged to RLIMIT_MSGQUEUE, so the limit has nothing to refuse. */
        ipcm_link_destroy(l);
        ipcm_check_naf(ctx, "the backend's named objects are not charged to RLIMIT_MSGQUEUE "
                            "(create succeeded with it at 0)");
        return;
    }
    IPCM_CHECK(ctx, l == NULL, "a refused create returned a link");
    IPCM_CHECK(ctx, err == -EMFILE, "create with RLIMIT_MSGQUEUE 0: %s (%s), want EMFILE",
               ipcm_strerror(err), ipcm_err_name(err));
    /* The errno is also RLIMIT_NOFILE's: the reason must name the limit that ran out. */
    const char *why = ipcm_last_error(err);
    IPCM_CHECK(ctx, why && strstr(why, "RLIMIT_MSGQUEUE") && !strstr(why, "RLIMIT_NOFILE"),
               "the reason for EMFILE does not name RLIMIT_MSGQUEUE: %s", why ? why : "(none)");
    IPCM_CHECK(ctx, after == before, "the refused create left %d descriptor(s)", after - before);
    /* With the limit back, creation works again. */
    l = ipcm_check_link(ctx, ctx->shape, 128, 4);
    IPCM_CHECK(ctx, l != NULL, "create after restoring RLIMIT_MSGQUEUE");
    ipcm_link_destroy(l);
}

/* ---------------------------------------------------------------- 61 */

/* Uses the inherited, already used end; the first level also forks a grandchild that
 * uses it in turn. Uses are sequential: an end is one process's at a time. */
static int w_use_inherited(const void *arg, size_t len)
{
    const struct hargs *a = arg;
    (void)len;
    IPCM_WCHECK(a->ctx, roundtrip(a->ctx, a->c, a->seq), "child round trip");
    if (a->spawn_grandchild) {
        struct hargs g = *a;
        struct ipcm_process p = {0};
        g.seq = a->seq + 1;
        g.spawn_grandchild = false;
        IPCM_WCHECK_EQ(
            a->ctx, ipcm_check_spawn(a->ctx, &p, "grandchild", w_use_inherited, &g, sizeof(g)), 0);
        IPCM_WCHECK(a->ctx, ipcm_check_join(a->ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__),
                    "grandchild");
        IPCM_WCHECK(a->ctx, roundtrip(a->ctx, a->c, a->seq + 2), "child after grandchild");
    }
    return 0;
}

static void use_after_fork(struct ipcm_check_ctx *ctx)
{
    bool q = ctx->shape == IPCM_SHAPE_QUEUE;
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 128, 8);
    struct ipcm_process echo = {0}, child = {0};
    struct ipcm_chan *c = NULL;
    if (!l)
        return;
    struct hargs a = {.ctx = ctx, .l = l};
    int r = q ? 0 : ipcm_check_spawn_end(ctx, &echo, "echo", l, IPCM_ROLE_B, w_echo, NULL);
    if (r == 0)
        r = ipcm_chan_open(l, q ? IPCM_ROLE_BOTH : IPCM_ROLE_A, &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    /* Use first, so whatever a backend sets up lazily exists before the fork. */
    if (!roundtrip(ctx, c, 0) || !roundtrip(ctx, c, 1))
        goto out;
    a.c = c;
    a.seq = 10;
    a.spawn_grandchild = true;
    r = ipcm_check_spawn(ctx, &child, "child", w_use_inherited, &a, sizeof(a));
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    if (!ipcm_check_join(ctx, &child, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__))
        goto out;
    /* The parent's end still works, and nothing the children sent is seen twice. */
    if (!roundtrip(ctx, c, 20))
        goto out;
    unsigned char buf[128];
    if (q)
        IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), 0), ==, -EAGAIN, goto out);
out:
    ipcm_chan_close(c);
    if (child.pid > 0)
        ipcm_check_reap(&child, 0, NULL);
    if (echo.pid > 0)
        ipcm_check_join(ctx, &echo, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
}

/* ---------------------------------------------------------------- 61, shared */

/*
 * One pipe end used by two processes at once: the end's opener and a child that
 * inherited it over fork both send (as producers 0 and 1), and on the other end both
 * receive. Every message must arrive exactly once (shm's pipe ends once took no lock,
 * and two receivers took the same record: duplicates, then a broken ring).
 */
struct shared_args {
    struct ipcm_ledger *lg;
    uint64_t per;             /* messages per producer */
    struct ipcm_check_end *e; /* the opener's end, inherited by the twin */
};

static int shared_send_n(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, uint32_t producer,
                         uint64_t per)
{
    for (uint64_t i = 0; i < per; i++)
        IPCM_WCHECK_EQ(ctx, ipcm_check_send_payload(e, 64, producer, i, IPCM_CHECK_T_OP_MS), 64);
    return 0;
}

struct shared_twin {
    struct ipcm_check_ctx *ctx;
    const struct shared_args *a;
    bool sends;
};

/* The twin: uses the inherited end and exits without closing it (the opener owns it). */
static int w_shared_twin(const void *arg, size_t len)
{
    const struct shared_twin *t = arg;
    (void)len;
    if (t->sends)
        return shared_send_n(t->ctx, t->a->e, 1, t->a->per);
    ssize_t r = ipcm_check_consume(t->ctx, t->a->e, t->a->lg);
    IPCM_WCHECK_EQ(t->ctx, r, -EPIPE);
    return 0;
}

/* The opener of an end: starts its twin, does the same work, and joins it. */
static int shared_side(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg,
                       bool sends)
{
    struct shared_args a = *(const struct shared_args *)arg;
    struct shared_twin t = {.ctx = ctx, .a = &a, .sends = sends};
    struct ipcm_process twin = {0};
    a.e = e;
    IPCM_WCHECK_EQ(ctx, ipcm_check_spawn(ctx, &twin, "twin", w_shared_twin, &t, sizeof(t)), 0);
    int code = 0;
    if (sends) {
        code = shared_send_n(ctx, e, 0, a.per);
    } else {
        ssize_t r = ipcm_check_consume(ctx, e, a.lg);
        if (r != -EPIPE)
            ipcm_check_fail_cmp(ctx, __FILE__, __LINE__, "consume", r, -EPIPE), code = 1;
    }
    if (!ipcm_check_join(ctx, &twin, 60000, __FILE__, __LINE__))
        code = 1;
    return code;
}

static int w_shared_sender(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    return shared_side(ctx, e, arg, true);
}

static int w_shared_receiver(struct ipcm_check_ctx *ctx, struct ipcm_check_end *e, const void *arg)
{
    return shared_side(ctx, e, arg, false);
}

static void shared_end_concurrent(struct ipcm_check_ctx *ctx)
{
    struct shared_args a = {.per = ctx->quick ? 20000 : 100000};
    struct ipcm_process tx = {0}, rx = {0};
    a.lg = ipcm_ledger_new(2, a.per);
    IPCM_CHECK(ctx, a.lg != NULL, "cannot map the ledger");
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_PIPE, 64, 0);
    if (!l) {
        ipcm_ledger_free(a.lg);
        return;
    }
    ipcm_check_phase(ctx, "two senders on end A, two receivers on end B, %llu messages each",
                     (unsigned long long)a.per);
    int r = ipcm_check_spawn_end(ctx, &rx, "receiver", l, IPCM_ROLE_B, w_shared_receiver, &a);
    if (r == 0)
        r = ipcm_check_spawn_end(ctx, &tx, "sender", l, IPCM_ROLE_A, w_shared_sender, &a);
    ipcm_link_destroy(l);
    if (tx.pid > 0)
        ipcm_check_join(ctx, &tx, 120000, __FILE__, __LINE__);
    if (rx.pid > 0)
        ipcm_check_join(ctx, &rx, ipcm_check_failed(ctx) ? 1000 : 120000, __FILE__, __LINE__);
    uint64_t sent[2] = {a.per, a.per};
    if (ipcm_check_failed(ctx))
        sent[0] = sent[1] = 0;
    long long bad = ipcm_ledger_finish(ctx, a.lg, sent);
    ipcm_ledger_free(a.lg);
    if (ipcm_check_failed(ctx))
        return;
    IPCM_CHECK(ctx, bad == 0 && atomic_load(&ctx->sh->corrupt) == 0,
               "one end in two processes: lost %lld, duplicated %lld, corrupt %lld",
               (long long)atomic_load(&ctx->sh->lost), (long long)atomic_load(&ctx->sh->duplicated),
               (long long)atomic_load(&ctx->sh->corrupt));
}

/* ---------------------------------------------------------------- 64 */

#define FD_WORD 0x66640000u

/* End B: take two descriptors and write a word into each; miss a third for want of a
 * free descriptor number; then be handed a message where a descriptor is expected, and
 * a descriptor where a message is expected. */
static int w_fd_receiver(const void *arg, size_t len)
{
    const struct hargs *a = arg;
    struct ipcm_chan *c;
    unsigned char buf[128];
    (void)len;
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_open(a->l, IPCM_ROLE_B, &c), 0);
    for (uint32_t i = 0; i < 2; i++) {
        int fd = -1;
        IPCM_WCHECK_EQ(a->ctx, ipcm_chan_recv_fd(c, &fd, IPCM_CHECK_T_OP_MS), 0);
        IPCM_WCHECK_EQ(a->ctx, fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        uint32_t word = FD_WORD + i;
        IPCM_WCHECK_EQ(a->ctx, write(fd, &word, sizeof(word)), (ssize_t)sizeof(word));
        close(fd);
    }
    /* RLIMIT_NOFILE down to the lowest free number: no descriptor can be installed. */
    struct rlimit old, low;
    int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
    IPCM_WCHECK_GE(a->ctx, lowest, 0);
    close(lowest);
    IPCM_WCHECK_EQ(a->ctx, getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    IPCM_WCHECK_EQ(a->ctx, setrlimit(RLIMIT_NOFILE, &low), 0);
    int fd = -1, got = ipcm_chan_recv_fd(c, &fd, IPCM_CHECK_T_OP_MS);
    IPCM_WCHECK_EQ(a->ctx, setrlimit(RLIMIT_NOFILE, &old), 0);
    IPCM_WCHECK_EQ(a->ctx, got, -EMFILE);
    int before = ipcm_fd_count();
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_recv_fd(c, &fd, IPCM_CHECK_T_OP_MS), -EBADMSG);
    IPCM_WCHECK_EQ(a->ctx, fd, -1);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), -EBADMSG);
    IPCM_WCHECK_EQ(a->ctx, ipcm_fd_count(), before); /* nothing was installed */
    /* Done: the parent now checks that no copy of its pipe's write end is left here. */
    ipcm_payload_make(buf, 100, 2, 0);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_send(c, buf, 100, IPCM_CHECK_T_OP_MS), 100);
    IPCM_WCHECK_EQ(a->ctx, ipcm_chan_recv(c, buf, sizeof(buf), 3 * IPCM_CHECK_T_OP_MS), -EPIPE);
    ipcm_chan_close(c);
    return 0;
}

static void fd_passing(struct ipcm_check_ctx *ctx)
{
    struct ipcm_link *l = ipcm_check_link(ctx, IPCM_SHAPE_PIPE, 128, 4);
    struct ipcm_process p = {0};
    struct ipcm_chan *c = NULL;
    int pp[2] = {-1, -1}, high = -1;
    unsigned char buf[128];
    if (!l)
        return;
    struct hargs a = {.ctx = ctx, .l = l};
    int r = ipcm_check_spawn(ctx, &p, "fd receiver", w_fd_receiver, &a, sizeof(a));
    if (r == 0)
        r = ipcm_chan_open(l, IPCM_ROLE_A, &c);
    ipcm_link_destroy(l);
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, pipe2(pp, O_CLOEXEC), ==, 0, goto out);
    high = fcntl(pp[1], F_DUPFD_CLOEXEC, 300); /* Python issue 11657: fds above 256 */
    struct rlimit nofile;
    if (high < 0 && getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur <= 300) {
        ipcm_check_envf(ctx,
                        "needs descriptor number 300, RLIMIT_NOFILE is %llu; raise it: `ulimit "
                        "-n 1024`",
                        (unsigned long long)nofile.rlim_cur);
        goto out;
    }
    IPCM_CHECK_OP_(ctx, high, >=, 300, goto out);
    ipcm_check_phase(ctx, "two descriptors, one numbered %d", high);
    IPCM_CHECK_OP_(ctx, ipcm_chan_send_fd(c, pp[1], IPCM_CHECK_T_OP_MS), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_send_fd(c, high, IPCM_CHECK_T_OP_MS), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_send_fd(c, pp[1], IPCM_CHECK_T_OP_MS), ==, 0,
                   goto out); /* -EMFILE there */
    ipcm_close_fd(&pp[1]);
    ipcm_close_fd(&high);
    for (uint32_t i = 0; i < 2; i++) {
        uint32_t word = 0;
        IPCM_CHECK_OP_(ctx, read(pp[0], &word, sizeof(word)), ==, (ssize_t)sizeof(word), goto out);
        IPCM_CHECK_OP_(ctx, word, ==, FD_WORD + i, goto out);
    }
    ipcm_check_phase(ctx, "a message where a descriptor is expected, and the reverse");
    ipcm_payload_make(buf, 100, 1, 0);
    IPCM_CHECK_OP_(ctx, ipcm_chan_send(c, buf, 100, IPCM_CHECK_T_OP_MS), ==, 100, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_send_fd(c, pp[0], IPCM_CHECK_T_OP_MS), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_recv(c, buf, sizeof(buf), IPCM_CHECK_T_OP_MS), ==, 100, goto out);
    /* Every copy of the write end is closed now, the receiver's included: EOF. */
    IPCM_CHECK_OP_(ctx, read(pp[0], buf, 1), ==, 0, goto out);
    IPCM_CHECK_OP_(ctx, ipcm_chan_send_fd(c, -1, IPCM_CHECK_T_OP_MS), ==, -EBADF, goto out);
    atomic_fetch_add(&ctx->sh->messages, 4);
out:
    ipcm_chan_close(c); /* the receiver sees end-of-stream and exits */
    ipcm_close_fd(&pp[0]);
    ipcm_close_fd(&pp[1]);
    ipcm_close_fd(&high);
    ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
    if (p.pid > 0)
        ipcm_check_reap(&p, 0, NULL);
}

/* ---------------------------------------------------------------- 62, exec */

/*
 * The exec'd helper of case 62 is this same program (/proc/self/exe) started with
 * IPCMARK_CHECK_EXEC_HELPER set: before main, this constructor attaches the ends the
 * case handed over (IPCMARK_LINK: the end to read, then, for a queue, the end to reply
 * on), echoes every message until end-of-stream and exits. Any program that links the
 * check suite (ipcmark, test_conform) can so serve as its own helper, as a Python
 * "spawn" child re-imports its parent's main module.
 */
#define EXEC_HELPER_ENV "IPCMARK_CHECK_EXEC_HELPER"

static int exec_helper_echo(void)
{
    struct ipcm_chan *in = NULL, *out = NULL;
    unsigned char buf[256];
    int code = 1;

    if (ipcm_chan_attach_env(0, &in) < 0)
        return 2;
    if (ipcm_chan_attach_env(1, &out) == -ENOENT)
        out = in; /* a pipe end replies on itself */
    if (out && ipcm_chan_max_msg(in) <= sizeof(buf))
        for (;;) {
            ssize_t n = ipcm_chan_recv(in, buf, sizeof(buf), 20000);
            if (n == -EPIPE) {
                code = 0;
                break;
            }
            if (n < 0 || ipcm_chan_send(out, buf, (size_t)n, 20000) != n)
                break;
        }
    if (out != in)
        ipcm_chan_close(out);
    ipcm_chan_close(in);
    return code;
}

__attribute__((constructor)) static void exec_helper_hook(void)
{
    if (getenv(EXEC_HELPER_ENV))
        _exit(exec_helper_echo());
}

extern char **environ;

static void exec_reattach(struct ipcm_check_ctx *ctx)
{
    bool q = ctx->shape == IPCM_SHAPE_QUEUE;
    struct ipcm_link *l = ipcm_check_link(ctx, ctx->shape, 128, 8);
    struct ipcm_link *back = q && l ? ipcm_check_link(ctx, IPCM_SHAPE_QUEUE, 128, 8) : NULL;
    struct ipcm_chan *tx = NULL, *rx = NULL;
    struct ipcm_process p = {0};
    char **envp = NULL;
    size_t n_env = 0;

    if (!l || (q && !back))
        goto out;
    while (environ[n_env])
        n_env++;
    envp = calloc(n_env + 2, sizeof(*envp));
    IPCM_CHECK_OP_(ctx, envp != NULL, ==, true, goto out);
    memcpy(envp, environ, n_env * sizeof(*envp));
    envp[n_env] = EXEC_HELPER_ENV "=1";
    const struct ipcm_handover ends[2] = {{l, q ? IPCM_ROLE_RECV : IPCM_ROLE_B},
                                          {back, IPCM_ROLE_SEND}};
    char *const argv[] = {"ipcmark-exec-helper", NULL};
    int r = ipcm_process_spawn_exec(&p, "/proc/self/exe", argv, envp, ends, q ? 2 : 1);
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    r = ipcm_chan_open(l, q ? IPCM_ROLE_SEND : IPCM_ROLE_A, &tx);
    IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    if (q) {
        r = ipcm_chan_open(back, IPCM_ROLE_RECV, &rx);
        IPCM_CHECK_OP_(ctx, r, ==, 0, goto out);
    }
    /* Messages go through the exec'd helper and back, whole and in order. */
    for (uint64_t seq = 0; seq < 100; seq++) {
        unsigned char buf[128];
        uint32_t prod = 0;
        uint64_t got = ~0ull;
        size_t len = IPCM_PAYLOAD_HDR + (size_t)(seq % 90);
        ipcm_payload_make(buf, len, 1, seq);
        IPCM_CHECK_OP_(ctx, ipcm_chan_send(tx, buf, len, IPCM_CHECK_T_OP_MS), ==, (ssize_t)len,
                       goto out);
        ssize_t n = ipcm_chan_recv(q ? rx : tx, buf, sizeof(buf), IPCM_CHECK_T_OP_MS);
        IPCM_CHECK_OP_(ctx, n, ==, (ssize_t)len, goto out);
        IPCM_CHECK_OP_(ctx, ipcm_payload_check(buf, (size_t)n, &prod, &got), ==, 0, goto out);
        IPCM_CHECK_OP_(ctx, got, ==, seq, goto out);
        atomic_fetch_add(&ctx->sh->messages, 1);
    }
    /* End-of-stream reaches the helper across the exec: it exits 0. */
    IPCM_CHECK_OP_(ctx, ipcm_chan_shutdown(tx), ==, 0, goto out);
    ipcm_check_join(ctx, &p, IPCM_CHECK_T_OP_MS, __FILE__, __LINE__);
out:
    ipcm_chan_close(tx);
    ipcm_chan_close(rx);
    ipcm_link_destroy(l);
    ipcm_link_destroy(back);
    free(envp);
    if (p.pid > 0)
        ipcm_check_reap(&p, 0, NULL);
}

/* ---------------------------------------------------------------- table */

const struct ipcm_check_case ipcm_check_cases_hygiene[] = {
    {"hygiene.no_fd_growth", 58, "create/destroy many channels: fds back to baseline",
     IPCM_CHECK_QP, 0, 0, 60000, no_fd_growth, NULL, NULL},
    {"hygiene.fd_limit_clear_error", 59, "lowered RLIMIT_NOFILE: -EMFILE, nothing half-created",
     IPCM_CHECK_QP, 0, IPCM_CHECK_QUICK, 30000, fd_limit_clear_error, NULL, NULL},
    {"hygiene.mq_rlimit_clear_error", 60, "lowered RLIMIT_MSGQUEUE: a clear limit error",
     IPCM_CHECK_Q, IPCM_CAP_NAMED, IPCM_CHECK_SCOPED, 30000, mq_rlimit_clear_error, NULL, NULL},
    {"hygiene.use_after_fork", 61, "use, fork, use from both and from a grandchild", IPCM_CHECK_QP,
     0, IPCM_CHECK_QUICK | IPCM_CHECK_LIBBUF, 30000, use_after_fork, NULL, NULL},
    {"hygiene.shared_end_concurrent", 61,
     "one pipe end used by two processes at once (inherited over fork): exactly once", IPCM_CHECK_P,
     0, IPCM_CHECK_LIBBUF, 240000, shared_end_concurrent, NULL, NULL},
    {"hygiene.exec_reattach", 62, "a fork+exec'd helper re-attaches (token hand-over)",
     IPCM_CHECK_QP, IPCM_CAP_EXEC, IPCM_CHECK_QUICK, 10000, exec_reattach, NULL, NULL},
    {"hygiene.fd_passing", 64, "pass an fd (also above 256) over the channel", IPCM_CHECK_P,
     IPCM_CAP_FDPASS, IPCM_CHECK_QUICK, 10000, fd_passing, NULL, NULL},
    {0},
};
