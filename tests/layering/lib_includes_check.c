/* SPDX-License-Identifier: MIT */
/* The library (and the report part) must not see the conformance suite: this must fail. */
#include "conform.h"

int ipcm_layering_probe(void);
int ipcm_layering_probe(void)
{
    return 0;
}
