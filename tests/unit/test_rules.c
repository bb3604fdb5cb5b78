/* Unit test of the dosing rules as arithmetic (src/store/rules.c) and of
 * the amounts and names they compare (src/store/units.c): each rule at its
 * boundaries (a dose exactly at the interval and a microsecond before, the
 * edge of a 24-hour window, a local calendar day west of UTC and across
 * daylight saving time in America/New_York), ingredient
 * totals with converted units, and the earliest allowed instant. The same
 * boundaries are checked end to end by tests/http/t090-dosing-rules.py. */
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "core/arena.h"
#include "store/rules.h"

#define MIN (INT64_C(60) * 1000000)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2026-03-10T00:00:00Z */
#define T0 (INT64_C(1773100800) * 1000000)

static struct store_verdict check_at(const struct rules_med *m, int64_t t)
{
    struct store_verdict v;
    memset(&v, 0, sizeof(v));
    rules_check(m, t, &v);
    return v;
}

static void interval(void)
{
    int64_t taken[] = {T0 + 8 * HOUR};
    struct rules_med m = {.max_doses = 20, .interval_us = 240 * MIN, .taken = taken, .n_taken = 1};
    CHECK_EQ(check_at(&m, T0 + 12 * HOUR).rule, STORE_RULE_NONE);
    CHECK_EQ(check_at(&m, T0 + 12 * HOUR - 1).rule, STORE_RULE_INTERVAL);
    CHECK_EQ(check_at(&m, T0 + 4 * HOUR).rule, STORE_RULE_NONE);
    CHECK_EQ(check_at(&m, T0 + 4 * HOUR + 1).rule, STORE_RULE_INTERVAL);
    struct store_verdict v = check_at(&m, T0 + 9 * HOUR);
    CHECK_EQ(v.min_interval_minutes, 240);
    rules_next(&m, T0 + 9 * HOUR, &v);
    CHECK(v.has_next && v.next_us == T0 + 12 * HOUR);
}

static void rolling(void)
{
    int64_t taken[] = {T0 + 10 * HOUR, T0 + 12 * HOUR};
    struct rules_med m = {.max_doses = 2, .rolling = true, .taken = taken, .n_taken = 2};
    CHECK_EQ(check_at(&m, T0 + DAY + 10 * HOUR).rule, STORE_RULE_NONE);
    CHECK_EQ(check_at(&m, T0 + DAY + 10 * HOUR - 1).rule, STORE_RULE_ROLLING_MAX);
    /* No reset at midnight. */
    CHECK_EQ(check_at(&m, T0 + DAY + MIN).rule, STORE_RULE_ROLLING_MAX);
    /* A dose between the two, earlier in time, fills a window too. */
    CHECK_EQ(check_at(&m, T0 + 11 * HOUR).rule, STORE_RULE_ROLLING_MAX);
    struct store_verdict v = check_at(&m, T0 + 20 * HOUR);
    rules_next(&m, T0 + 20 * HOUR, &v);
    CHECK(v.has_next && v.next_us == T0 + DAY + 10 * HOUR);
}

static void calendar_day(void)
{
    /* UTC-5: the local day 2026-03-10 is [05:00Z, next 05:00Z). */
    int64_t taken[] = {T0 + 5 * HOUR};
    struct rules_med m = {.max_doses = 1, .tz = mt_tz_fixed(300), .taken = taken, .n_taken = 1};
    CHECK_EQ(check_at(&m, T0 + DAY + 5 * HOUR - 1).rule, STORE_RULE_DAY_MAX);
    CHECK_EQ(check_at(&m, T0 + DAY + 5 * HOUR).rule, STORE_RULE_NONE);
    CHECK_EQ(check_at(&m, T0 + 5 * HOUR - 1).rule, STORE_RULE_NONE);
    struct store_verdict v = check_at(&m, T0 + 6 * HOUR);
    CHECK(v.broken == STORE_RULE_BIT(STORE_RULE_DAY_MAX));
    rules_next(&m, T0 + 6 * HOUR, &v);
    CHECK(v.has_next && v.next_us == T0 + DAY + 5 * HOUR);
    /* A maximum of 0 never allows a dose. */
    m.max_doses = 0;
    m.n_taken = 0;
    v = check_at(&m, T0);
    rules_next(&m, T0, &v);
    CHECK(v.rule == STORE_RULE_DAY_MAX && !v.has_next);
}

/* The local days of an IANA zone across daylight saving time: in New York
 * 2026-03-08 has 23 hours, [05:00Z, next 04:00Z), and 2026-11-01 has 25,
 * [04:00Z, next 05:00Z). A day's maximum holds to its real end. */
static void calendar_day_dst(void)
{
    struct mt_tz ny;
    struct mt_err err = {0};
    /* tzdata is a dependency (scripts/setup.sh): a zone that does not load
     * is a failure, not a reason to skip the days that matter most. */
    if (mt_tz_load("America/New_York", &ny, &err) < 0) {
        printf("cannot load America/New_York: %s\n", err.msg);
        CHECK(0);
        return;
    }
    const int64_t s = 1000000;
    int64_t spring[] = {INT64_C(1772947800) * s}; /* 2026-03-08 00:30 EST */
    struct rules_med m = {.max_doses = 1, .tz = ny, .taken = spring, .n_taken = 1};
    int64_t next_day = INT64_C(1773028800) * s; /* 2026-03-09 00:00 EDT */
    CHECK_EQ(check_at(&m, next_day - 1).rule, STORE_RULE_DAY_MAX);
    CHECK_EQ(check_at(&m, next_day).rule, STORE_RULE_NONE);
    struct store_verdict v = check_at(&m, spring[0] + HOUR);
    rules_next(&m, spring[0] + HOUR, &v);
    CHECK(v.has_next && v.next_us == next_day);
    int64_t autumn[] = {INT64_C(1793507400) * s}; /* 2026-11-01 00:30 EDT */
    m.taken = autumn;
    next_day = INT64_C(1793595600) * s; /* 2026-11-02 00:00 EST, 25 hours on */
    CHECK_EQ(check_at(&m, next_day - 1).rule, STORE_RULE_DAY_MAX);
    CHECK_EQ(check_at(&m, next_day).rule, STORE_RULE_NONE);
    v = check_at(&m, autumn[0] + HOUR);
    rules_next(&m, autumn[0] + HOUR, &v);
    CHECK(v.has_next && v.next_us == next_day);
}

static void ingredients(void)
{
    struct store_qty limit, dose, half_g, ml;
    CHECK_EQ(store_qty_make(1000, "mg", &limit), 0);
    CHECK_EQ(store_qty_make(500, " MG ", &dose), 0);
    CHECK_EQ(store_qty_make(0.5, "g", &half_g), 0);
    CHECK_EQ(store_qty_make(5, "ml", &ml), 0);
    CHECK(store_qty_comparable(&limit, &half_g) && half_g.value == dose.value);
    CHECK(!store_qty_comparable(&limit, &ml));
    CHECK(store_qty_make(-1, "mg", &ml) < 0 && store_qty_make(2e6, "mg", &ml) < 0);
    struct rules_amount taken[] = {{T0 + 8 * HOUR, dose.value, false},
                                   {T0 + 9 * HOUR, half_g.value, false}};
    struct rules_ingredient g = {.name = "paracetamol",
                                 .unit = "mg",
                                 .per_unit = store_qty_per_unit("mg"),
                                 .limit = limit.value,
                                 .dose = dose.value,
                                 .taken = taken,
                                 .n_taken = 2};
    struct rules_med m = {.max_doses = 20, .ing = &g, .n_ing = 1};
    struct store_verdict v = check_at(&m, T0 + 10 * HOUR);
    CHECK_EQ(v.rule, STORE_RULE_INGREDIENT);
    CHECK(v.taken == 1000 && v.dose == 500 && v.limit == 1000 && strcmp(v.unit, "mg") == 0);
    /* 24 h after the first, only the second is in the window: 500 + 500 fits. */
    CHECK_EQ(check_at(&m, T0 + DAY + 8 * HOUR).rule, STORE_RULE_NONE);
    CHECK_EQ(check_at(&m, T0 + DAY + 8 * HOUR - 1).rule, STORE_RULE_INGREDIENT);
    rules_next(&m, T0 + 10 * HOUR, &v);
    CHECK(v.has_next && v.next_us == T0 + DAY + 8 * HOUR);
    /* A dose that cannot be compared blocks its own 24 hours. */
    taken[1].incomparable = true;
    CHECK_EQ(check_at(&m, T0 + DAY + 8 * HOUR).rule, STORE_RULE_INGREDIENT);
    CHECK_EQ(check_at(&m, T0 + DAY + 9 * HOUR).rule, STORE_RULE_NONE);
    /* One dose above the limit is never allowed. */
    g.dose = limit.value + 1;
    g.n_taken = 0;
    v = check_at(&m, T0);
    rules_next(&m, T0, &v);
    CHECK(v.rule == STORE_RULE_INGREDIENT && !v.has_next);
}

static void names(void)
{
    struct mt_arena *a = mt_arena_new(4096);
    CHECK_STR(store_name_key(a, "  Paracetamol \t Extra  "), "paracetamol extra");
    CHECK_STR(store_name_key(a, "Ibuprofen"), "ibuprofen");
    CHECK_STR(store_name_key(a, "Co\xC3\xAFne"), "co\xC3\xAFne");
    mt_arena_free(a);
}

static void several(void)
{
    int64_t taken[] = {T0 + 10 * HOUR};
    struct rules_med m = {
        .max_doses = 1, .rolling = true, .interval_us = 6 * HOUR, .taken = taken, .n_taken = 1};
    struct store_verdict v = check_at(&m, T0 + 11 * HOUR);
    CHECK_EQ(v.rule, STORE_RULE_ROLLING_MAX);
    CHECK(v.broken ==
          (STORE_RULE_BIT(STORE_RULE_ROLLING_MAX) | STORE_RULE_BIT(STORE_RULE_INTERVAL)));
    CHECK_STR(store_rule_word(v.rule), "window_full");
    CHECK_STR(store_rule_word(STORE_RULE_INTERVAL), "interval");
    rules_next(&m, T0 + 11 * HOUR, &v);
    CHECK(v.has_next && v.next_us == T0 + DAY + 10 * HOUR);
}

int main(void)
{
    interval();
    rolling();
    calendar_day();
    calendar_day_dst();
    ingredients();
    names();
    several();
    return check_report();
}
