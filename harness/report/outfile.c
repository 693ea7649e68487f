/* SPDX-License-Identifier: MIT */
/* outfile.c - result files written through a temporary file and a rename. */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "<dir of path>/.<base of path>.XXXXXX" in tmp. Returns 0 or -ENAMETOOLONG. */
static int temp_name(const char *path, char *tmp, size_t len)
{
    char d[4096], b[4096];
    if (strlen(path) >= sizeof(d))
        return -ENAMETOOLONG;
    strcpy(d, path);
    strcpy(b, path);
    int n = snprintf(tmp, len, "%s/.%s.XXXXXX", dirname(d), basename(b));
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* True when path exists and is something other than a regular file or a folder. */
static bool is_special(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

static int is_dir_err(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? -EISDIR : 0;
}

/* "-" names stdout (RULINGS 8). */
static bool is_stdout(const char *path)
{
    return strcmp(path, "-") == 0;
}

int ipcm_outfile_probe(const char *path)
{
    char tmp[4096];
    int r;
    if (!path[0])
        return -ENOENT;
    if (is_stdout(path)) {
        int fl = fcntl(STDOUT_FILENO, F_GETFL);
        return fl >= 0 && (fl & O_ACCMODE) != O_RDONLY ? 0 : -EBADF;
    }
    if ((r = is_dir_err(path)) < 0)
        return r;
    if (is_special(path))
        return access(path, W_OK) == 0 ? 0 : -errno;
    if ((r = temp_name(path, tmp, sizeof(tmp))) < 0)
        return r;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    close(fd);
    unlink(tmp);
    return 0;
}

int ipcm_outfile_open(struct ipcm_outfile *o, const char *path)
{
    int r;
    memset(o, 0, sizeof(*o));
    if (strlen(path) >= sizeof(o->path))
        return -ENAMETOOLONG;
    strcpy(o->path, path);
    if (is_stdout(path)) {
        o->f = stdout;
        o->to_stdout = true;
        errno = 0;
        return 0;
    }
    if ((r = is_dir_err(path)) < 0)
        return r;
    if (is_special(path)) {
        o->f = fopen(path, "we");
        if (!o->f)
            return -errno;
        errno = 0;
        return 0;
    }
    if ((r = temp_name(path, o->tmp, sizeof(o->tmp))) < 0)
        return r;
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* mkostemp makes the file 0600; a result file is as readable as any other output. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    o->f = fdopen(fd, "w");
    if (!o->f) {
        r = -errno;
        close(fd);
        unlink(o->tmp);
        return r;
    }
    errno = 0; /* what a write sets from here on is the cause commit reports */
    return 0;
}

int ipcm_outfile_commit(struct ipcm_outfile *o)
{
    int err = 0;
    /* fflush reports a full disk or a file-size limit with errno; ferror alone would
     * lose the cause of an earlier failed write, so flush first and read errno then. */
    if (fflush(o->f) != 0 || ferror(o->f))
        err = errno ? -errno : -EIO;
    if (o->to_stdout) { /* a pipe's reader decides when it is done: nothing to close */
        o->f = NULL;
        return err;
    }
    if (!err && o->tmp[0] && fsync(fileno(o->f)) != 0)
        err = -errno;
    if (fclose(o->f) != 0 && !err)
        err = -errno;
    o->f = NULL;
    if (o->tmp[0]) {
        if (!err && rename(o->tmp, o->path) != 0)
            err = -errno;
        if (err)
            unlink(o->tmp);
    }
    return err;
}

void ipcm_outfile_abort(struct ipcm_outfile *o)
{
    if (o->f && !o->to_stdout)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp[0])
        unlink(o->tmp);
}
