/* SPDX-License-Identifier: MIT */
/*
 * faulty.h - a deliberately broken backend wrapper (test builds only), so the tests
 * can prove the conformance suite catches loss, reordering and torn messages.
 */
#ifndef IPCM_BACKENDS_FAULTY_H
#define IPCM_BACKENDS_FAULTY_H

#include "ipcmark_backend.h"

enum ipcm_faulty_mode {
    IPCM_FAULTY_DROP,    /* every Nth send reports success but sends nothing */
    IPCM_FAULTY_REORDER, /* every Nth message is held back and sent after the next */
    IPCM_FAULTY_TEAR,    /* every Nth message has one byte flipped in its middle */
};

/*
 * ipcm_faulty_wrap - a backend that behaves like inner except for the fault. One
 * wrapper at a time (static storage); the send counter is per process.
 */
const struct ipcm_backend *ipcm_faulty_wrap(const struct ipcm_backend *inner,
                                            enum ipcm_faulty_mode mode, unsigned every);

#endif /* IPCM_BACKENDS_FAULTY_H */
