/* SPDX-License-Identifier: MIT */
/* The library must not see the conformance suite: with its include path this must fail. */
#include "conform.h"

int ipcm_layering_probe(void);
int ipcm_layering_probe(void)
{
    return 0;
}
