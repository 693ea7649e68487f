/* SPDX-License-Identifier: MIT */
/* exec_task.h - the task the exec start tests run: in the exec'd pool worker
 * (exec_helper pool) and serially in the test, to compare the two. */
#ifndef IPCM_TESTS_EXEC_TASK_H
#define IPCM_TESTS_EXEC_TASK_H

#include <stdint.h>
#include <string.h>

static inline uint32_t exec_task_value(uint32_t x)
{
    return x * 2654435761u + 7;
}

/* A uint32 in, its image out. */
static inline int exec_task(const void *in, size_t in_len, void *out, size_t out_cap,
                            size_t *out_len)
{
    uint32_t x;
    if (in_len != sizeof(x) || out_cap < sizeof(x))
        return -22; /* -EINVAL */
    memcpy(&x, in, sizeof(x));
    x = exec_task_value(x);
    memcpy(out, &x, sizeof(x));
    *out_len = sizeof(x);
    return 0;
}

#endif /* IPCM_TESTS_EXEC_TASK_H */
