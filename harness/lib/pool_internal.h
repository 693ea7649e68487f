/* SPDX-License-Identifier: MIT */
/*
 * pool_internal.h - what the pool's files share: the wire format, the pool's structs and
 * the functions one pool file calls in another. Private: only pool*.c include it.
 */
#ifndef IPCM_HARNESS_POOL_INTERNAL_H
#define IPCM_HARNESS_POOL_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "ipcmark.h"

/* ---------------------------------------------------------------- wire format (pool_wire.c) */

/*
 * Wire format (same host, native byte order): a message is one or more frames; a frame
 * is a 32-byte header, then `count` items of an 8-byte item header and the bytes. Task
 * items carry {len, 0}; result items {status, len}. A task frame never crosses a chunk
 * boundary; a chunk too large for one message goes as several frames. The results of
 * one task frame come back in one or more result frames, the last flagged POOL_LAST.
 */
#define POOL_MAGIC 0x504f4f00u /* "POO" + kind */
#define POOL_TASK (POOL_MAGIC | 1u)
#define POOL_RESULT (POOL_MAGIC | 2u)
#define POOL_READY (POOL_MAGIC | 3u)
#define POOL_EXIT (POOL_MAGIC | 4u) /* close: finish what is queued, then exit */
#define POOL_LAST 1u                /* the last result frame of a task frame */
#define POOL_HDR 32u
#define POOL_ITEM 8u

struct pool_hdr {
    uint32_t type;
    uint32_t job;
    uint64_t start; /* index of the first item */
    uint32_t count; /* items in this message */
    uint32_t flags; /* POOL_LAST; for READY, the initializer's status */
    uint64_t fn;    /* task function (workers are forks: the address is valid there) */
};
_Static_assert(sizeof(struct pool_hdr) == POOL_HDR, "pool header is 32 bytes");

struct pool_item {
    int32_t status;
    uint32_t len;
};
_Static_assert(sizeof(struct pool_item) == POOL_ITEM, "pool item header is 8 bytes");

/* ---------------------------------------------------------------- state */

enum pool_state { POOL_STARTING, POOL_RUNNING, POOL_CLOSED, POOL_TERMINATED };
enum worker_state { W_EMPTY, W_STARTING, W_READY, W_DONE };
enum task_state { T_PENDING, T_DONE, T_LOST };

/* A task message in flight to one worker; results come back in this order. */
struct pool_flight {
    uint32_t job;
    uint32_t count;
    uint32_t delivered; /* results already received (a split result) */
    size_t start;
};

struct pool_worker {
    struct ipcm_process proc; /* pid 0 when the slot is empty */
    struct ipcm_chan *task;   /* our sending end of its task queue */
    struct ipcm_chan *result; /* our receiving end of its result queue */
    enum worker_state state;
    bool result_eof;
    int chan_err;          /* why we killed it, if we did (a broken channel) */
    unsigned start_deaths; /* replacements in a row that died before they were ready */
    unsigned sent;         /* task messages sent (recycling) */
    unsigned head, nflight;
    struct pool_flight *flight; /* ring of depth entries */
};

struct pool_job {
    uint32_t id;
    ipcm_task_fn fn;
    const struct ipcm_pool_buf *in;
    size_t n, chunk, next, done;
    size_t prefix;                /* results 0..prefix-1 are all in (pool_job_prefix) */
    uint8_t *tstate;              /* enum task_state per input */
    struct ipcm_pool_result *out; /* ordered, or NULL */
    ipcm_pool_result_cb cb;
    void *cb_arg;
    bool stop;
    int err; /* what stopped it (death, timeout, callback), or 0 */
    size_t nfail;
    size_t fail_index;
    int fail_status;
};

struct ipcm_pool {
    const struct ipcm_backend *be;
    struct ipcm_pool_options opt;
    enum pool_state state;
    unsigned nworkers, depth, rr;
    size_t max_msg, max_task;
    int broken;    /* a replacement could not start: its error, else 0 */
    int start_err; /* the first failure while creating */
    bool in_callback;
    uint32_t next_job;
    struct pool_job *job;
    struct ipcm_pool_async *async; /* an asynchronous map still running, or NULL */
    struct pool_worker *w;
    unsigned char *sbuf, *rbuf;
    struct pollfd *pfd;
    unsigned *pfd_slot;
    struct ipcm_pool_error err;
    struct ipcm_pool_info info;
    char limit_source[96];
    struct ipcm_pool_start start; /* how workers start (fork unless create_start said) */
    /* The collector's wait (pool_poll): CPUs online (0: not read yet), and when the
     * pidfds were last looked at while results flowed without a system call. */
    unsigned ncpus;
    uint32_t spin_ns; /* the collector's adaptive spin budget (0: not set yet) */
    uint64_t reap_ns;
    uint64_t no_yield_until; /* a yield lost the CPU for long: sleep instead until then */
    uint64_t no_yield_ns;    /* how long the next such pause lasts (doubles, 0: not set) */
};

/* What a new worker is given (copied by fork). */
struct pool_spawn_arg {
    struct ipcm_pool *pool;
    unsigned slot;
    struct ipcm_link *task, *result;
};

/* Results being packed into one message: frames of {header, items}. */
struct pool_out {
    unsigned char *buf;
    size_t len;     /* bytes used */
    size_t hdr_pos; /* where the open frame's header goes */
    struct pool_hdr h;
    bool open;
};

/* ---------------------------------------------------------------- pool_wire.c */

/* Read the frame header at *pos of buf[0..len) and step past it. Returns 0; -EPROTO
 * (too short). */
int pool_wire_hdr(const unsigned char *buf, size_t len, size_t *pos, struct pool_hdr *h);
/* Read the item at *pos: its header into *it and its bytes' address into *data; step
 * past both. Returns 0; -EPROTO (the item runs past len). */
int pool_wire_item(const unsigned char *buf, size_t len, size_t *pos, struct pool_item *it,
                   const unsigned char **data);
/* Write a frame of header only (READY with the initializer's status, EXIT) at buf.
 * Returns its length, POOL_HDR. */
size_t pool_wire_control(unsigned char *buf, uint32_t type, int status);
/*
 * Pack the tasks of job from *next on into buf (max_msg bytes): at most max_frames task
 * frames, each recorded in fr[], a frame never crossing a chunk's end. Returns how many
 * frames (0: none fit) and sets *len to the bytes used and *next past the packed tasks.
 */
unsigned pool_wire_pack_tasks(const struct pool_job *job, unsigned char *buf, size_t max_msg,
                              unsigned max_frames, struct pool_flight *fr, size_t *next,
                              size_t *len);
/* Whether o, in a message of max_msg bytes, has room for one more result of olen bytes
 * (item false: for none), counting the header of a frame still to open. */
bool pool_out_fits(const struct pool_out *o, bool item, size_t olen, size_t max_msg);
/* Open a result frame for job starting at index start, unless one is open. */
void pool_out_open(struct pool_out *o, uint32_t job, uint64_t start);
/* Append one result to the open frame. */
void pool_out_add(struct pool_out *o, int status, const void *data, size_t len);
/* Write the open frame's header into the buffer; flags it POOL_LAST when last. */
void pool_out_close(struct pool_out *o, bool last);

/* ---------------------------------------------------------------- pool_worker.c */

/* The body of a worker process (ipcm_process_spawn's fn; arg is a pool_spawn_arg).
 * Returns the exit code: 0 clean, 1 initializer failed, 2 channel error, 99 setup. */
int pool_worker_main(const void *arg, size_t len);
/* The worker loop over ends already open (an exec'd worker's): runs fn on every task
 * (NULL: the function each frame names, a fork's), closes both ends, returns the exit
 * code as pool_worker_main. */
int pool_worker_run(const struct ipcm_pool *p, unsigned slot, struct ipcm_chan *tc,
                    struct ipcm_chan *rc, ipcm_task_fn fn);

/* ---------------------------------------------------------------- pool_exec.c */

/* Start the worker of slot as the exec'd program p->start.path, handing it the task
 * queue tl (to receive) and the result queue rl (to send). Returns as
 * ipcm_process_spawn_exec. */
int pool_spawn_exec(struct ipcm_pool *p, unsigned slot, struct ipcm_link *tl, struct ipcm_link *rl);

/* ---------------------------------------------------------------- pool_sched.c */

/* Start a worker in an empty slot; it reports READY later. Returns 0 or -errno. */
int pool_spawn(struct ipcm_pool *p, unsigned slot);
/* Close the parent's ends of a worker's channels. */
void pool_worker_close_chans(struct pool_worker *w);
/* Wait at most timeout_ms for results or deaths and handle them. Returns 0 or -errno. */
int pool_poll(struct ipcm_pool *p, int timeout_ms);
/* Validate a map; ordered results start -ECANCELED. Returns 0, 1 (nothing to do) or
 * -errno. On 0 job->tstate is allocated: the caller frees it. */
int pool_job_prepare(struct ipcm_pool *p, struct pool_job *job, size_t chunk_size);
/* Check the inputs, reap what died while idle and make job the current one. */
int pool_job_start(struct ipcm_pool *p, struct pool_job *job);
/* Dispatch and collect until done, stopped, `until` results in order are in, or
 * timeout_ms passes (-ETIMEDOUT; a later step carries on). */
int pool_job_step(struct ipcm_pool *p, struct pool_job *job, size_t until, int timeout_ms);
/* The job is over (r: how the last step ended): settle statuses and the error. */
int pool_job_finish(struct ipcm_pool *p, struct pool_job *job, int r);
/* How many results, from index 0 on, are in. */
size_t pool_job_prefix(struct pool_job *job);

/* ---------------------------------------------------------------- pool.c */

/* Record what the current call failed with (ipcm_pool_last_error), clearing the rest. */
void pool_set_error(struct ipcm_pool *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- pool_async.c */

/* Cancel a running asynchronous map: pending tasks end -ECANCELED, late results are
 * dropped, and the pool is free for the next map. */
void pool_async_cancel(struct ipcm_pool_async *a);

#endif /* IPCM_HARNESS_POOL_INTERNAL_H */
