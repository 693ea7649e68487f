/* SPDX-License-Identifier: MIT */
/*
 * pool_wire.c - the pool's wire format: reading frames and items, packing task frames
 * (chunk splitting) and result frames. No I/O: the callers send and receive.
 */
#include "pool_internal.h"

#include <errno.h>
#include <string.h>

int pool_wire_hdr(const unsigned char *buf, size_t len, size_t *pos, struct pool_hdr *h)
{
    if (len - *pos < POOL_HDR)
        return -EPROTO;
    memcpy(h, buf + *pos, POOL_HDR);
    *pos += POOL_HDR;
    return 0;
}

int pool_wire_item(const unsigned char *buf, size_t len, size_t *pos, struct pool_item *it,
                   const unsigned char **data)
{
    if (*pos + POOL_ITEM > len)
        return -EPROTO;
    memcpy(it, buf + *pos, POOL_ITEM);
    /* The length comes from another process: never trust it past the message's end. */
    if (it->len > len - *pos - POOL_ITEM)
        return -EPROTO;
    *data = buf + *pos + POOL_ITEM;
    *pos += POOL_ITEM + it->len;
    return 0;
}

size_t pool_wire_control(unsigned char *buf, uint32_t type, int status)
{
    struct pool_hdr h = {.type = type, .flags = (uint32_t)status};
    memcpy(buf, &h, POOL_HDR);
    return POOL_HDR;
}

/* Pack tasks [next, chunk_end) of job into one frame at buf + pos, as many as fit in
 * max_msg. Returns the number packed (the header is written by the caller). */
static uint32_t pack_frame_items(const struct pool_job *job, unsigned char *buf, size_t max_msg,
                                 size_t *pos, size_t next, size_t chunk_end)
{
    uint32_t count = 0;
    for (size_t i = next; i < chunk_end; i++) {
        size_t need = POOL_ITEM + job->in[i].len;
        if (*pos + need > max_msg)
            break;
        struct pool_item it = {.len = (uint32_t)job->in[i].len};
        memcpy(buf + *pos, &it, POOL_ITEM);
        if (it.len)
            memcpy(buf + *pos + POOL_ITEM, job->in[i].data, it.len);
        *pos += need;
        count++;
    }
    return count;
}

unsigned pool_wire_pack_tasks(const struct pool_job *job, unsigned char *buf, size_t max_msg,
                              unsigned max_frames, struct pool_flight *fr, size_t *next,
                              size_t *len)
{
    unsigned nframes = 0;
    size_t pos = 0;

    while (nframes < max_frames && *next < job->n && pos + POOL_HDR < max_msg) {
        size_t chunk_end = (*next / job->chunk + 1) * job->chunk;
        size_t hpos = pos;
        if (chunk_end > job->n)
            chunk_end = job->n;
        pos += POOL_HDR;
        uint32_t count = pack_frame_items(job, buf, max_msg, &pos, *next, chunk_end);
        if (count == 0 || (count < chunk_end - *next && nframes > 0)) {
            /* Split a chunk only when it does not fit an empty message: else it goes
             * whole in the next one. */
            pos = hpos;
            break;
        }
        struct pool_hdr h = {.type = POOL_TASK,
                             .job = job->id,
                             .start = *next,
                             .count = count,
                             .fn = (uint64_t)(uintptr_t)job->fn};
        memcpy(buf + hpos, &h, POOL_HDR);
        fr[nframes++] = (struct pool_flight){.job = job->id, .start = *next, .count = count};
        *next += count;
    }
    *len = pos;
    return nframes;
}

bool pool_out_fits(const struct pool_out *o, bool item, size_t olen, size_t max_msg)
{
    size_t need = (o->open ? 0 : POOL_HDR) + (item ? POOL_ITEM + olen : 0);
    return o->len + need <= max_msg;
}

void pool_out_open(struct pool_out *o, uint32_t job, uint64_t start)
{
    if (o->open)
        return;
    o->h = (struct pool_hdr){.type = POOL_RESULT, .job = job, .start = start};
    o->hdr_pos = o->len;
    o->len += POOL_HDR;
    o->open = true;
}

void pool_out_add(struct pool_out *o, int status, const void *data, size_t len)
{
    struct pool_item res = {.status = status, .len = (uint32_t)len};
    memcpy(o->buf + o->len, &res, POOL_ITEM);
    memcpy(o->buf + o->len + POOL_ITEM, data, len);
    o->len += POOL_ITEM + len;
    o->h.count++;
}

void pool_out_close(struct pool_out *o, bool last)
{
    if (last)
        o->h.flags = POOL_LAST;
    if (o->open)
        memcpy(o->buf + o->hdr_pos, &o->h, POOL_HDR);
    o->open = false;
}
