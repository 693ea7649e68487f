/* SPDX-License-Identifier: MIT */
/*
 * outfile.h - result files written safely: into a temporary file in the target's folder,
 * then renamed over the target, so an old result survives a full disk, a file-size
 * limit or a crash; and an output path tried before a run, so a typo costs no run.
 * Errors are the real -errno (-ENOSPC, -EFBIG, -EACCES, -ENOENT, -EISDIR, -EROFS).
 * The path "-" is stdout, written directly: no temporary file, no rename (RULINGS 8).
 */
#ifndef IPCM_HARNESS_REPORT_OUTFILE_H
#define IPCM_HARNESS_REPORT_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

struct ipcm_outfile {
    FILE *f;         /* write here between open and commit */
    char path[4096]; /* the target */
    char tmp[4096];  /* the temporary file, "" when writing the target directly */
    bool to_stdout;  /* the target is "-": f is stdout, flushed but never closed */
};

/*
 * ipcm_outfile_probe - can a result be written at path? Creates and removes a temporary
 * file beside it (the only sure test: permissions, a read-only or full file system, a
 * missing folder). "-": stdout must be open for writing. Returns 0; -EISDIR (path is a
 * folder); -EBADF (path "-" and stdout closed or read-only); -errno.
 */
int ipcm_outfile_probe(const char *path);
/*
 * ipcm_outfile_open - start writing path. An existing target that is not a regular file
 * (/dev/null, a FIFO) is written directly, never replaced. Returns 0 or -errno.
 */
int ipcm_outfile_open(struct ipcm_outfile *o, const char *path);
/*
 * ipcm_outfile_commit - flush, sync and rename into place; on any error the temporary
 * file is removed and the target is untouched. Returns 0 or the -errno of the first
 * failed write, flush or rename.
 */
int ipcm_outfile_commit(struct ipcm_outfile *o);
/* ipcm_outfile_abort - drop what was written; the target is untouched. */
void ipcm_outfile_abort(struct ipcm_outfile *o);

#endif /* IPCM_HARNESS_REPORT_OUTFILE_H */
