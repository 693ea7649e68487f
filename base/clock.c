/* SPDX-License-Identifier: MIT */
/* clock.c - CLOCK_MONOTONIC time, unit conversions and deadlines. */
#include "base.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

uint64_t ipcm_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * IPCM_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t ipcm_ms_to_ns(long long ms)
{
    return ms > 0 ? (uint64_t)ms * IPCM_NS_PER_MS : 0;
}

int ipcm_ns_to_ms_ceil(uint64_t ns)
{
    uint64_t ms = (ns + IPCM_NS_PER_MS - 1) / IPCM_NS_PER_MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

uint64_t ipcm_ns_since(uint64_t t0_ns)
{
    uint64_t now = ipcm_now_ns();
    return now > t0_ns ? now - t0_ns : 0;
}

int ipcm_ms_since(uint64_t t0_ns)
{
    uint64_t ms = ipcm_ns_since(t0_ns) / IPCM_NS_PER_MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

double ipcm_ns_to_s(uint64_t ns)
{
    return (double)ns / (double)IPCM_NS_PER_S;
}

void ipcm_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / IPCM_NS_PER_S), (long)(ns % IPCM_NS_PER_S)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void ipcm_sleep_ms(int ms)
{
    ipcm_sleep_ns(ipcm_ms_to_ns(ms));
}

void ipcm_deadline_init(struct ipcm_deadline *d, int timeout_ms)
{
    d->timeout_ms = timeout_ms;
    d->at_ns = timeout_ms > 0 ? ipcm_now_ns() + ipcm_ms_to_ns(timeout_ms) : 0;
}

int ipcm_deadline_left_ms(const struct ipcm_deadline *d)
{
    if (d->timeout_ms <= 0)
        return d->timeout_ms < 0 ? -1 : 0;
    uint64_t now = ipcm_now_ns();
    if (now >= d->at_ns)
        return 0;
    /* Round up so a wait never ends a fraction of a millisecond early. */
    return ipcm_ns_to_ms_ceil(d->at_ns - now);
}

bool ipcm_deadline_expired(const struct ipcm_deadline *d)
{
    return d->timeout_ms >= 0 && ipcm_deadline_left_ms(d) == 0;
}

int ipcm_deadline_err(const struct ipcm_deadline *d)
{
    return d->timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
}
