/* SPDX-License-Identifier: MIT */
/* A backend must not see the library: with the backends' include path this must fail. */
#include "ipcmark.h"

int ipcm_layering_probe(void);
int ipcm_layering_probe(void)
{
    return 0;
}
