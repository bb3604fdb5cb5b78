/* The limiter of heavy requests (api/heavy.h): a mutex, a condition variable
 * and two counters, plus one process-wide instance that the operation runner
 * (api/operation.c) runs PDF forms and exports under. The instance is made on first use; its limits
 * come from the configuration of each request, which is the same for the
 * life of the process. */
#include "api/heavy.h"
#include "core/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>

enum {
    DEFAULT_CONCURRENCY = 2,
    DEFAULT_WAIT_MS = 3000,
};

void api_heavy_init(struct api_heavy *h)
{
    mt_cond_init_monotonic(&h->cv);
    pthread_mutex_init(&h->mu, NULL);
    h->running = 0;
    h->waiting = 0;
    h->head = NULL;
    h->tail = NULL;
}

void api_heavy_release(struct api_heavy *h)
{
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}

/* A caller in the queue; lives on its own stack while it waits. */
struct api_heavy_waiter {
    struct api_heavy_waiter *next;
    bool granted; /* a turn was handed over to it (and counted in running) */
};

static void queue_remove(struct api_heavy *h, struct api_heavy_waiter *w)
{
    struct api_heavy_waiter **pp = &h->head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = w->next;
    if (h->tail == w)
        h->tail = prev;
}

int api_heavy_enter(struct api_heavy *h, const struct api_heavy_limits *lim, struct mt_err *err)
{
    pthread_mutex_lock(&h->mu);
    if (h->running < lim->running && !h->head) {
        h->running++;
        pthread_mutex_unlock(&h->mu);
        return 0;
    }
    if (h->waiting >= lim->waiting || lim->wait_ms <= 0) {
        int running = h->running, waiting = h->waiting;
        pthread_mutex_unlock(&h->mu);
        return mt_fail(err, MT_EUNAVAIL, "busy: %d running, %d waiting", running, waiting);
    }
    struct api_heavy_waiter self = {NULL, false};
    if (h->tail)
        h->tail->next = &self;
    else
        h->head = &self;
    h->tail = &self;
    h->waiting++;
    struct timespec deadline = mt_mono_after_ms((uint64_t)lim->wait_ms);
    int rc = 0;
    while (!self.granted && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&h->cv, &h->mu, &deadline);
    /* A turn handed over just as the wait ran out is still taken. */
    if (!self.granted) {
        queue_remove(h, &self);
        h->waiting--;
    }
    int running = h->running, waiting = h->waiting;
    pthread_mutex_unlock(&h->mu);
    if (self.granted)
        return 0;
    return mt_fail(err, MT_EUNAVAIL, "busy: no turn within %d ms (%d running, %d waiting)",
                   lim->wait_ms, running, waiting);
}

void api_heavy_leave(struct api_heavy *h)
{
    pthread_mutex_lock(&h->mu);
    struct api_heavy_waiter *w = h->head;
    if (w) {
        /* The turn passes straight to the oldest waiter: running stays the
         * same, and nobody can take it in between. */
        h->head = w->next;
        if (!h->head)
            h->tail = NULL;
        h->waiting--;
        w->granted = true;
        pthread_cond_broadcast(&h->cv);
    } else {
        h->running--;
    }
    pthread_mutex_unlock(&h->mu);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

struct api_heavy_limits api_heavy_limits(const struct mt_config *cfg)
{
    if (!cfg)
        return (struct api_heavy_limits){DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY, DEFAULT_WAIT_MS};
    /* The HTTP server runs database handlers on all its workers but one
     * (server.c, at least two workers); heavy requests, running or queued,
     * may hold all of those but one more, so that ordinary requests always
     * find a worker too. */
    int workers = cfg->http_threads > 1 ? cfg->http_threads : 2;
    int spare = workers - 2;
    if (spare < 1)
        spare = 1;
    struct api_heavy_limits lim;
    lim.running = min_int(cfg->heavy_concurrency, spare);
    lim.waiting = min_int(cfg->heavy_concurrency, spare - lim.running);
    lim.wait_ms = cfg->heavy_queue_wait_ms;
    return lim;
}

/* ---- the process-wide limiter ---- */

static struct api_heavy process_heavy;
static pthread_once_t process_heavy_once = PTHREAD_ONCE_INIT;

static void process_heavy_init(void)
{
    api_heavy_init(&process_heavy);
}

int api_heavy_begin(const struct mt_config *cfg, int *retry_s, struct mt_err *err)
{
    pthread_once(&process_heavy_once, process_heavy_init);
    struct api_heavy_limits lim = api_heavy_limits(cfg);
    if (api_heavy_enter(&process_heavy, &lim, err) == 0)
        return 0;
    /* A client may come back once the queue it missed has had time to
     * drain: about one queue wait, at least a second. */
    int secs = (lim.wait_ms + 999) / 1000;
    *retry_s = secs < 1 ? 1 : secs;
    return -1;
}

void api_heavy_end(void)
{
    api_heavy_leave(&process_heavy);
}
