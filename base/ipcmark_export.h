/* SPDX-License-Identifier: MIT */
/*
 * ipcmark_export.h - the one export macro. libipcmark is built with hidden visibility;
 * only declarations marked IPCM_API are exported from the shared library.
 */
#ifndef IPCM_BASE_IPCMARK_EXPORT_H
#define IPCM_BASE_IPCMARK_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define IPCM_API __attribute__((visibility("default")))
#else
#define IPCM_API
#endif

#endif /* IPCM_BASE_IPCMARK_EXPORT_H */
