/* SPDX-License-Identifier: MIT */
/* The library must not see the benchmarks: with the library's include path this must fail. */
#include "bench.h"

int ipcm_layering_probe(void);
int ipcm_layering_probe(void)
{
    return 0;
}
