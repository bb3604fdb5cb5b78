/* The dosing rules over instants (see rules.h). Windows of 24 hours are
 * half-open, [s, s + 24 h): a dose exactly 24 hours after another is in a
 * different window, and a dose exactly min_interval_minutes after another
 * is allowed. A dose breaks a window rule when some window that contains
 * it would hold too much; the fullest such window starts at one of the
 * earlier doses within 24 hours, or at the dose itself, so only those
 * starts are tried. */
#include "store/rules.h"

#include <stdlib.h>

#include "core/err.h"
#include "core/mtime.h"

/* The local calendar day that contains t. */
static struct mt_window day_of(const struct rules_med *m, int64_t t)
{
    struct mt_date d = mt_tz_local_date(m->tz, t);
    return mt_tz_day_window(m->tz, d, d);
}

static int64_t count_in(const int64_t *at, size_t n, int64_t start, int64_t end)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += at[i] >= start && at[i] < end;
    return k;
}

/* The most doses of at[] in a 24-hour window that contains t. */
static int64_t fullest_count(const int64_t *at, size_t n, int64_t t)
{
    int64_t best = count_in(at, n, t, t + RULES_DAY_US);
    for (size_t i = 0; i < n; i++) {
        if (at[i] > t - RULES_DAY_US && at[i] <= t) {
            int64_t k = count_in(at, n, at[i], at[i] + RULES_DAY_US);
            if (k > best)
                best = k;
        }
    }
    return best;
}

/* The amount of an ingredient in [start, end); an incomparable dose counts
 * as more than the limit. */
static int64_t sum_in(const struct rules_ingredient *g, int64_t start, int64_t end)
{
    int64_t s = 0;
    for (size_t i = 0; i < g->n_taken; i++) {
        const struct rules_amount *x = &g->taken[i];
        if (x->at < start || x->at >= end)
            continue;
        int64_t add = x->incomparable ? g->limit + 1 : x->amount;
        s = s > INT64_MAX - add ? INT64_MAX : s + add;
    }
    return s;
}

static int64_t fullest_sum(const struct rules_ingredient *g, int64_t t)
{
    int64_t best = sum_in(g, t, t + RULES_DAY_US);
    for (size_t i = 0; i < g->n_taken; i++) {
        int64_t s0 = g->taken[i].at;
        if (s0 > t - RULES_DAY_US && s0 <= t) {
            int64_t k = sum_in(g, s0, s0 + RULES_DAY_US);
            if (k > best)
                best = k;
        }
    }
    return best;
}

static void broke(struct store_verdict *v, enum store_rule r)
{
    if (v->rule == STORE_RULE_NONE)
        v->rule = r;
    v->broken |= STORE_RULE_BIT(r);
}

void rules_check(const struct rules_med *m, int64_t t, struct store_verdict *v)
{
    v->rule = STORE_RULE_NONE;
    v->broken = 0;
    v->max_doses = m->max_doses;
    v->min_interval_minutes = m->interval_us / (60 * INT64_C(1000000));
    v->ingredient = NULL;
    v->unit = NULL;
    v->taken = v->dose = v->limit = 0;
    if (!m->rolling) {
        struct mt_window w = day_of(m, t);
        if (count_in(m->taken, m->n_taken, w.start_us, w.end_us) >= m->max_doses)
            broke(v, STORE_RULE_DAY_MAX);
    } else if (fullest_count(m->taken, m->n_taken, t) >= m->max_doses) {
        broke(v, STORE_RULE_ROLLING_MAX);
    }
    if (m->interval_us > 0) {
        for (size_t i = 0; i < m->n_taken; i++) {
            int64_t gap = m->taken[i] > t ? m->taken[i] - t : t - m->taken[i];
            if (gap < m->interval_us) {
                broke(v, STORE_RULE_INTERVAL);
                break;
            }
        }
    }
    for (size_t i = 0; i < m->n_ing; i++) {
        const struct rules_ingredient *g = &m->ing[i];
        int64_t taken = fullest_sum(g, t);
        bool over = g->dose_incomparable || taken > g->limit || g->dose > g->limit - taken;
        if (!over)
            continue;
        if (!(v->broken & STORE_RULE_BIT(STORE_RULE_INGREDIENT))) {
            v->ingredient = g->name;
            v->unit = g->unit;
            v->taken = (double)(taken > g->limit + 1 ? g->limit + 1 : taken) / g->per_unit;
            v->dose = (double)g->dose / g->per_unit;
            v->limit = (double)g->limit / g->per_unit;
        }
        broke(v, STORE_RULE_INGREDIENT);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Adds t to the candidates when it is at or after from. */
static void candidate(int64_t *c, size_t *n, int64_t from, int64_t t)
{
    if (t >= from && mt_instant_valid(t))
        c[(*n)++] = t;
}

void rules_next(const struct rules_med *m, int64_t from, struct store_verdict *v)
{
    /* A rule stops blocking only where a dose leaves a window (24 hours
     * after it), where an interval ends, or where a calendar day ends; so
     * the first allowed instant is from itself or one of those. */
    size_t cap = 1 + 2 * m->n_taken;
    for (size_t i = 0; i < m->n_ing; i++)
        cap += m->ing[i].n_taken;
    cap *= 3;
    int64_t *c = mt_xmalloc(cap * sizeof(*c));
    size_t n = 0;
    candidate(c, &n, from, from);
    for (size_t i = 0; i < m->n_taken; i++) {
        candidate(c, &n, from, m->taken[i] + RULES_DAY_US);
        if (m->interval_us > 0)
            candidate(c, &n, from, m->taken[i] + m->interval_us);
    }
    for (size_t i = 0; i < m->n_ing; i++)
        for (size_t k = 0; k < m->ing[i].n_taken; k++)
            candidate(c, &n, from, m->ing[i].taken[k].at + RULES_DAY_US);
    if (!m->rolling) {
        /* The next day, and the one after (a dose recorded for later today
         * can fill the day after a candidate's). */
        size_t lo = 0;
        for (int pass = 0; pass < 2; pass++) {
            size_t hi = n;
            for (size_t i = lo; i < hi; i++)
                candidate(c, &n, from, day_of(m, c[i]).end_us);
            lo = hi;
        }
    }
    qsort(c, n, sizeof(*c), cmp_i64);
    v->has_next = false;
    struct store_verdict probe;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && c[i] == c[i - 1])
            continue;
        rules_check(m, c[i], &probe);
        if (probe.rule == STORE_RULE_NONE) {
            v->has_next = true;
            v->next_us = c[i];
            break;
        }
    }
    free(c);
}
