/* Admission control for heavy requests (the PDF form and the dose-history
 * exports): at most a few run at once, a few more wait briefly for a turn,
 * and the rest are answered 503 with Retry-After at once, so that heavy work
 * can exhaust neither memory nor the database and never holds every HTTP
 * worker. The limiter itself knows no HTTP (tests/unit/test_heavy.c drives it
 * with threads); api_heavy_begin and api_heavy_end apply one process-wide
 * limiter. Used by the operation runner (api/operation.c) for the
 * operations the table marks heavy. */
#ifndef MT_API_HEAVY_H
#define MT_API_HEAVY_H

#include <pthread.h>

#include "core/config.h"
#include "core/err.h"

struct api_heavy_waiter;

/* A counting semaphore with a bounded first-come first-served queue. Fill
 * with api_heavy_init; release with api_heavy_release once nobody uses it. */
struct api_heavy {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when a turn is handed over; on CLOCK_MONOTONIC */
    int running;       /* turns taken */
    int waiting;       /* callers in the queue */
    struct api_heavy_waiter *head, *tail; /* the queue, oldest first */
};

/* How much heavy work one limiter lets in. */
struct api_heavy_limits {
    int running; /* turns at once, >= 1 */
    int waiting; /* callers that may wait for a turn, >= 0; more are refused at once */
    int wait_ms; /* how long each may wait, >= 0 */
};

void api_heavy_init(struct api_heavy *h);
void api_heavy_release(struct api_heavy *h);

/* Takes a turn: at once when one is free and nobody waits, else by queueing
 * for up to lim->wait_ms when fewer than lim->waiting are queued already;
 * turns given back go to the queue in arrival order, so a newcomer never
 * overtakes a waiter. Returns 0 (call api_heavy_leave when done), or -1 with
 * MT_EUNAVAIL when the queue was full or no turn came in time. */
int api_heavy_enter(struct api_heavy *h, const struct api_heavy_limits *lim, struct mt_err *err);
/* Gives a turn back: to the oldest waiter, if any. */
void api_heavy_leave(struct api_heavy *h);

/* The limits that cfg asks for: HEAVY_CONCURRENCY turns and as many waiting,
 * for up to HEAVY_QUEUE_WAIT_MS, both cut so that running and waiting heavy
 * requests together leave at least one of the HTTP_THREADS workers free for
 * everything else (a server with one worker still makes one PDF at a time).
 * cfg NULL: the defaults (2, 2, 3000 ms). */
struct api_heavy_limits api_heavy_limits(const struct mt_config *cfg);

/* Takes a turn of the process-wide limiter with cfg's limits (NULL: the
 * defaults). Returns 0 (call api_heavy_end when the work is done), or -1
 * with MT_EUNAVAIL and *retry_s, the seconds after which a refused client
 * may come back. */
int api_heavy_begin(const struct mt_config *cfg, int *retry_s, struct mt_err *err);
void api_heavy_end(void);

#endif
