/* The dosing rules as pure arithmetic over instants (no SQL, no clock):
 * whether a dose at an instant breaks a medication's maximum per calendar
 * day or per 24 hours, its minimum interval, or an ingredient's maximum per
 * 24 hours, and the earliest instant from which every rule allows one.
 * store/doses.c loads the doses and calls these inside its transaction;
 * tests/unit/test_rules.c checks the boundaries. Internal to src/store. */
#ifndef MT_STORE_RULES_H
#define MT_STORE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tz.h"
#include "store/dosing.h"

#define RULES_DAY_US (INT64_C(86400) * 1000000)

/* A dose that contains an ingredient: when, and how much of it in the
 * limit's scale (store_qty value); incomparable when its unit cannot be
 * compared with the limit's (such a dose fills its 24 hours). */
struct rules_amount {
    int64_t at;
    int64_t amount;
    bool incomparable;
};

struct rules_ingredient {
    const char *name; /* for the verdict */
    const char *unit; /* the limit's unit, for the verdict */
    double per_unit;  /* scale values per one of that unit */
    int64_t limit;    /* the maximum per 24 hours */
    int64_t dose;     /* this medication's amount per dose */
    bool dose_incomparable;
    const struct rules_amount *taken; /* the person's doses of it, any order */
    size_t n_taken;
};

struct rules_med {
    int64_t max_doses;
    bool rolling;         /* max per any 24 hours, else per local calendar day */
    int64_t interval_us;  /* 0: none */
    struct mt_tz tz;      /* calendar days are local days of this zone (DST included) */
    const int64_t *taken; /* the medication's taken doses, any order */
    size_t n_taken;
    const struct rules_ingredient *ing;
    size_t n_ing;
};

/* The verdict of the rules on a dose at t: rule, broken and the
 * ingredient fields of v (max_doses and min_interval_minutes are copied;
 * has_next and next_us are left alone). */
void rules_check(const struct rules_med *m, int64_t t, struct store_verdict *v);

/* Sets v->has_next and v->next_us: the earliest instant at or after from at
 * which every rule allows a dose (none: has_next false). */
void rules_next(const struct rules_med *m, int64_t from, struct store_verdict *v);

#endif
