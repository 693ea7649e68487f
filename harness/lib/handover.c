/* SPDX-License-Identifier: MIT */
/*
 * handover.c - links handed to programs started with execve: tokens out (in the
 * parent), ends in (in the exec'd program). The backend's handover ops describe and
 * rebuild its kernel objects; this file adds what every backend shares (name, shape,
 * role, sizes) and the library's checks, so a backend sees only well-formed calls.
 */
#include "handover.h"

#include "base.h"
#include "ipcmark_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAGIC "ipcm1"

static const struct {
    enum ipcm_role role;
    const char *name;
} role_names[] = {
    {IPCM_ROLE_SEND, "send"}, {IPCM_ROLE_RECV, "recv"}, {IPCM_ROLE_BOTH, "both"},
    {IPCM_ROLE_A, "a"},       {IPCM_ROLE_B, "b"},
};

static const char *role_name(enum ipcm_role role)
{
    for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (role_names[i].role == role)
            return role_names[i].name;
    return NULL;
}

static bool role_fits(enum ipcm_shape shape, enum ipcm_role role)
{
    if (shape == IPCM_SHAPE_QUEUE)
        return role == IPCM_ROLE_SEND || role == IPCM_ROLE_RECV || role == IPCM_ROLE_BOTH;
    return role == IPCM_ROLE_A || role == IPCM_ROLE_B;
}

int ipcm_handover_token(const struct ipcm_link *l, enum ipcm_role role, char *buf, size_t len,
                        int *fds, size_t *nfds)
{
    const struct ipcm_backend *be = l->be;
    char payload[IPCM_TOKEN_MAX];

    *nfds = 0;
    if (!(be->caps & IPCM_CAP_EXEC) || !be->handover_export)
        return -ENOTSUP;
    if (!role_fits(l->shape, role) || !role_name(role))
        return -EINVAL;
    if (l->opened)
        return -EBADF; /* open closed what the other roles need */
    size_t n = IPCM_HANDOVER_MAX_FDS;
    int r = be->handover_export(l, payload, sizeof(payload), fds, &n);
    if (r < 0)
        return r;
    *nfds = n;
    for (const char *c = payload; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,=._-", *c))
            return -EPROTO; /* a backend's payload broke the contract: no ':' or space */
    int k = snprintf(buf, len, TOKEN_MAGIC ":%s:%c:%s:%zu:%u:%s", be->name,
                     l->shape == IPCM_SHAPE_PIPE ? 'p' : 'q', role_name(role), l->cfg.max_msg,
                     l->cfg.depth, payload);
    return k < 0 || (size_t)k >= len ? -ENOSPC : 0;
}

int ipcm_link_export_token(const struct ipcm_link *l, enum ipcm_role role, char *buf, size_t len)
{
    int fds[IPCM_HANDOVER_MAX_FDS];
    size_t n;
    if (!l || !buf)
        return -EINVAL;
    return ipcm_handover_token(l, role, buf, len, fds, &n);
}

/* The next ':'-terminated field of *s, copied into out (len bytes). */
static int field(const char **s, char *out, size_t len)
{
    const char *end = strchr(*s, ':');
    if (!end || (size_t)(end - *s) >= len || end == *s)
        return -EINVAL;
    memcpy(out, *s, (size_t)(end - *s));
    out[end - *s] = '\0';
    *s = end + 1;
    return 0;
}

static int parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || v > max || *s == '-')
        return -EINVAL;
    *out = v;
    return 0;
}

int ipcm_chan_attach_token(const char *token, struct ipcm_chan **out)
{
    char magic[8], name[64], shape[4], role[8], msg[24], depth[16];
    unsigned long long max_msg, dep;
    const struct ipcm_backend *be;
    const char *s = token;
    enum ipcm_role r_role = IPCM_ROLE_SEND;
    bool found = false;

    if (!out)
        return -EINVAL;
    *out = NULL;
    ipcm_reason_clear();
    if (!token || strlen(token) >= IPCM_TOKEN_MAX)
        return -EINVAL;
    if (field(&s, magic, sizeof(magic)) || strcmp(magic, TOKEN_MAGIC) ||
        field(&s, name, sizeof(name)) || field(&s, shape, sizeof(shape)) ||
        field(&s, role, sizeof(role)) || field(&s, msg, sizeof(msg)) ||
        field(&s, depth, sizeof(depth)) || parse_size(msg, SIZE_MAX, &max_msg) ||
        parse_size(depth, UINT32_MAX, &dep) || strchr(s, ':') || strchr(s, ' '))
        return -EINVAL;
    if (strcmp(shape, "q") && strcmp(shape, "p"))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (strcmp(role_names[i].name, role) == 0) {
            r_role = role_names[i].role;
            found = true;
        }
    if (!found)
        return -EINVAL;
    be = ipcm_backend_find(name);
    if (!be && ipcm_backend_plugin_find(name, &be) < 0)
        be = NULL;
    if (!be)
        return -ENOENT;
    if (!(be->caps & IPCM_CAP_EXEC) || !be->handover_attach)
        return -ENOTSUP;

    struct ipcm_link *l = calloc(1, sizeof(*l) + be->link_priv);
    if (!l)
        return -ENOMEM;
    l->be = be;
    l->shape = shape[0] == 'p' ? IPCM_SHAPE_PIPE : IPCM_SHAPE_QUEUE;
    l->cfg.max_msg = (size_t)max_msg;
    l->cfg.depth = (unsigned)dep;
    l->priv = l + 1;
    int err = be->handover_attach(l, s);
    if (err < 0) {
        free(l); /* the backend made nothing: destroy is not called */
        return err;
    }
    err = ipcm_chan_open(l, r_role, out);
    if (err < 0) {
        ipcm_link_destroy(l);
        return err;
    }
    (*out)->owned_link = l;
    return 0;
}

int ipcm_chan_attach_env(unsigned index, struct ipcm_chan **out)
{
    char tok[IPCM_TOKEN_MAX];
    const char *s = getenv(IPCM_LINK_ENV);

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!s)
        return -ENOENT;
    for (unsigned i = 0;; i++) {
        while (*s == ' ')
            s++;
        if (!*s)
            return -ENOENT;
        size_t n = strcspn(s, " ");
        if (i == index) {
            if (n >= sizeof(tok))
                return -EINVAL;
            memcpy(tok, s, n);
            tok[n] = '\0';
            return ipcm_chan_attach_token(tok, out);
        }
        s += n;
    }
}
