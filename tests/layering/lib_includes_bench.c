/* SPDX-License-Identifier: MIT */
/* The library (and the report part) must not see the benchmarks: this must fail. */
#include "bench.h"

int ipcm_layering_probe(void);
int ipcm_layering_probe(void)
{
    return 0;
}
