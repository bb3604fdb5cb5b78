/* The monotonic clock, in the forms the program needs: nanoseconds,
 * microseconds and milliseconds for deadlines and durations, condition
 * variables that wait on it, and an absolute timespec for
 * pthread_cond_timedwait on them. Header-only; every deadline and duration
 * of the program is measured with it (setting the wall clock must not make
 * a wait last hours or not at all). */
#ifndef MT_CORE_CLOCK_H
#define MT_CORE_CLOCK_H

#include <pthread.h>
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

/* Signed, for differences and deadlines in microseconds. */
static inline int64_t mt_mono_us(void)
{
    return (int64_t)(mt_mono_ns() / 1000u);
}

/* Initialises cv to measure its timed waits on the monotonic clock. */
static inline void mt_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
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
