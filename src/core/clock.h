/* The monotonic clock, in the forms the program needs: nanoseconds and
 * milliseconds for deadlines and durations, and an absolute timespec for
 * pthread_cond_timedwait on a condition variable set to CLOCK_MONOTONIC.
 * Header-only; used by the HTTP server, the connection pool and the
 * heavy-work limiter. */
#ifndef MT_CORE_CLOCK_H
#define MT_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mt_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mt_mono_ms(void)
{
    return mt_mono_ns() / 1000000u;
}

/* The instant ms milliseconds from now, for pthread_cond_timedwait. */
static inline struct timespec mt_mono_after_ms(uint64_t ms)
{
    uint64_t ns = mt_mono_ns() + ms * 1000000u;
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    return ts;
}

#endif
