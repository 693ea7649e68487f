/* SPDX-License-Identifier: MIT */
/* The throwaway shared library's own unit: all its code comes from libipcmark.a. */
typedef int ipcm_exports_probe_unit;
