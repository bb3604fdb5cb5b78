/* Unit tests of src/api/heavy.c: the limits derived from the configuration,
 * and the limiter under real threads: turns up to the limit, a bounded queue
 * refused at once beyond it, a queue wait that runs out, a waiter that gets
 * the turn given back, and no newcomer overtaking a waiter. */
#include <pthread.h>
#include <time.h>

#include "../check.h"
#include "api/heavy.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The counters, read under the limiter's lock (other threads change them). */
static int waiting_of(struct api_heavy *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->waiting;
    pthread_mutex_unlock(&h->mu);
    return n;
}

static int running_of(struct api_heavy *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->running;
    pthread_mutex_unlock(&h->mu);
    return n;
}

static void test_limits(void)
{
    struct mt_config cfg = {.http_threads = 4, .heavy_concurrency = 2, .heavy_queue_wait_ms = 3000};
    struct api_heavy_limits lim = api_heavy_limits(&cfg);
    /* Four workers: one only does I/O (server.c), one is always left for
     * ordinary requests, two may run reports. */
    CHECK_EQ(lim.running, 2);
    CHECK_EQ(lim.waiting, 0);
    CHECK_EQ(lim.wait_ms, 3000);
    cfg.http_threads = 8;
    lim = api_heavy_limits(&cfg);
    CHECK_EQ(lim.running, 2);
    CHECK_EQ(lim.waiting, 2);
    cfg.heavy_concurrency = 16;
    lim = api_heavy_limits(&cfg);
    CHECK_EQ(lim.running, 6);
    CHECK_EQ(lim.waiting, 0);
    cfg.http_threads = 1;
    lim = api_heavy_limits(&cfg);
    CHECK_EQ(lim.running, 1);
    CHECK_EQ(lim.waiting, 0);
    cfg.http_threads = 2;
    cfg.heavy_concurrency = 1;
    lim = api_heavy_limits(&cfg);
    CHECK_EQ(lim.running, 1);
    CHECK_EQ(lim.waiting, 0);
    lim = api_heavy_limits(NULL);
    CHECK_EQ(lim.running, 2);
    CHECK_EQ(lim.waiting, 2);
    CHECK_EQ(lim.wait_ms, 3000);
}

/* A thread that asks for a turn, records the answer, holds the turn for
 * hold_ms and gives it back. */
struct taker {
    struct api_heavy *h;
    struct api_heavy_limits lim;
    int hold_ms;
    int rc;
    enum mt_code code;
    double got_at; /* ms since start when the answer came */
    double start;
};

static void *take(void *arg)
{
    struct taker *t = arg;
    struct mt_err err;
    mt_err_clear(&err);
    t->rc = api_heavy_enter(t->h, &t->lim, &err);
    t->code = err.code;
    t->got_at = now_ms() - t->start;
    if (t->rc == 0) {
        sleep_ms(t->hold_ms);
        api_heavy_leave(t->h);
    }
    return NULL;
}

static void test_turns(void)
{
    struct api_heavy h;
    api_heavy_init(&h);
    struct mt_err err;
    struct api_heavy_limits lim = {.running = 2, .waiting = 1, .wait_ms = 100};

    /* Two turns at once; a third caller may wait, a fourth is refused at
     * once; the waiter gives up after wait_ms. */
    mt_err_clear(&err);
    CHECK_EQ(api_heavy_enter(&h, &lim, &err), 0);
    CHECK_EQ(api_heavy_enter(&h, &lim, &err), 0);
    CHECK_EQ(running_of(&h), 2);
    struct taker waiter = {.h = &h, .lim = lim, .start = now_ms()};
    pthread_t t;
    pthread_create(&t, NULL, take, &waiter);
    while (waiting_of(&h) == 0)
        sleep_ms(1);
    double t0 = now_ms();
    mt_err_clear(&err);
    CHECK_EQ(api_heavy_enter(&h, &lim, &err), -1);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(now_ms() - t0 < 50);
    pthread_join(t, NULL);
    CHECK_EQ(waiter.rc, -1);
    CHECK_EQ(waiter.code, MT_EUNAVAIL);
    CHECK(waiter.got_at >= 95 && waiter.got_at < 2000);
    CHECK_EQ(waiting_of(&h), 0);

    /* A waiter gets the turn that is given back before its wait ends. */
    lim.wait_ms = 5000;
    waiter = (struct taker){.h = &h, .lim = lim, .start = now_ms()};
    pthread_create(&t, NULL, take, &waiter);
    while (waiting_of(&h) == 0)
        sleep_ms(1);
    sleep_ms(30);
    api_heavy_leave(&h);
    pthread_join(t, NULL);
    CHECK_EQ(waiter.rc, 0);
    CHECK(waiter.got_at >= 25 && waiter.got_at < 2000);
    CHECK_EQ(running_of(&h), 1);

    /* Without a queue (waiting 0 or wait_ms 0), a busy limiter refuses at
     * once. */
    struct api_heavy_limits one = {.running = 1, .waiting = 0, .wait_ms = 1000};
    mt_err_clear(&err);
    CHECK_EQ(api_heavy_enter(&h, &one, &err), -1);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    struct api_heavy_limits nowait = {.running = 1, .waiting = 5, .wait_ms = 0};
    CHECK_EQ(api_heavy_enter(&h, &nowait, &err), -1);
    api_heavy_leave(&h);
    CHECK_EQ(running_of(&h), 0);
    api_heavy_release(&h);
}

/* Many threads against a limit of 3 with a queue of 3: never more than 3
 * turns at once, every caller answered, and turns keep flowing. */
enum { CROWD = 24 };

struct crowd {
    struct api_heavy *h;
    pthread_mutex_t mu;
    int inside, max_inside, admitted, refused;
};

static void *crowd_member(void *arg)
{
    struct crowd *c = arg;
    struct api_heavy_limits lim = {.running = 3, .waiting = 3, .wait_ms = 2000};
    struct mt_err err;
    mt_err_clear(&err);
    int rc = api_heavy_enter(c->h, &lim, &err);
    pthread_mutex_lock(&c->mu);
    if (rc == 0) {
        c->admitted++;
        c->inside++;
        if (c->inside > c->max_inside)
            c->max_inside = c->inside;
    } else {
        c->refused++;
    }
    pthread_mutex_unlock(&c->mu);
    if (rc == 0) {
        sleep_ms(20);
        pthread_mutex_lock(&c->mu);
        c->inside--;
        pthread_mutex_unlock(&c->mu);
        api_heavy_leave(c->h);
    }
    return NULL;
}

static void test_crowd(void)
{
    struct api_heavy h;
    api_heavy_init(&h);
    struct crowd c = {.h = &h};
    pthread_mutex_init(&c.mu, NULL);
    pthread_t t[CROWD];
    for (int i = 0; i < CROWD; i++)
        pthread_create(&t[i], NULL, crowd_member, &c);
    for (int i = 0; i < CROWD; i++)
        pthread_join(t[i], NULL);
    CHECK(c.max_inside <= 3);
    CHECK(c.admitted >= 3);
    CHECK_EQ(c.admitted + c.refused, CROWD);
    CHECK_EQ(running_of(&h), 0);
    CHECK_EQ(waiting_of(&h), 0);
    pthread_mutex_destroy(&c.mu);
    api_heavy_release(&h);
}

/* A newcomer does not take a freed turn from under a waiter. */
static void test_no_overtaking(void)
{
    struct api_heavy h;
    api_heavy_init(&h);
    struct api_heavy_limits lim = {.running = 1, .waiting = 2, .wait_ms = 3000};
    struct mt_err err;
    mt_err_clear(&err);
    CHECK_EQ(api_heavy_enter(&h, &lim, &err), 0);
    struct taker waiter = {.h = &h, .lim = lim, .hold_ms = 50, .start = now_ms()};
    pthread_t t;
    pthread_create(&t, NULL, take, &waiter);
    while (waiting_of(&h) == 0)
        sleep_ms(1);
    /* Give the turn back and ask at once: the waiter must get it, the
     * newcomer queues behind it (and gets it when the waiter is done). */
    api_heavy_leave(&h);
    struct api_heavy_limits brief = {.running = 1, .waiting = 2, .wait_ms = 3000};
    double t0 = now_ms();
    CHECK_EQ(api_heavy_enter(&h, &brief, &err), 0);
    pthread_join(t, NULL);
    CHECK_EQ(waiter.rc, 0);
    CHECK(now_ms() - t0 >= 40);
    api_heavy_leave(&h);
    api_heavy_release(&h);
}

int main(void)
{
    test_limits();
    test_turns();
    test_crowd();
    test_no_overtaking();
    return check_report();
}
