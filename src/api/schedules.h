/* The slots of a person's schedules as the API computes them (api/schedules.c):
 * expanded in the person's zone, matched against the doses by the rule of
 * core/schedule.h, and tallied into adherence, for the due and adherence
 * operations, the calendar feed and the dose-history export. Internal to
 * src/api. */
#ifndef MT_API_SCHEDULES_H
#define MT_API_SCHEDULES_H

#include "api/jsonw.h"
#include "api/operation.h"
#include "core/schedule.h"
#include "store/schedules.h"

/* A slot of one of the days asked for, matched. */
struct api_slot {
    const struct store_scheduled *med;
    size_t day; /* 0 for the first day of the range */
    int64_t at_us;
    short minute;
    enum mt_slot_status status;
    int64_t late_until_us;
    int64_t dose_id; /* the dose (or skip row) that satisfied it; 0: none */
    int64_t dose_at_us;
};

typedef int (*api_slot_fn)(void *ctx, const struct api_slot *s, struct mt_err *err);

/* The slots of each valid medication of meds (ordered by person, as
 * store_schedules_list gives them) on the local days from..to in zone z,
 * matched as of now against its doses, handed to fn medication by
 * medication in the order of meds, each in time order. One dose query per
 * person. */
int api_meds_slots(struct api_call *call, const struct store_scheduled *meds, size_t n,
                   struct mt_tz z, struct mt_date from, struct mt_date to, int64_t now,
                   api_slot_fn fn, void *ctx, struct mt_err *err);

/* The person's zone (their own, else the server's) and scheduled
 * medications (in the request's arena); MT_ENOTFOUND "Person not found" for
 * a person who does not exist or whom the caller may not see. */
int api_person_schedule(struct api_call *call, int64_t person_id, struct mt_tz *z,
                        struct store_scheduled **meds, size_t *n, struct mt_err *err);

/* Counts by enum mt_slot_status and how each day went. */
struct api_tally {
    int64_t count[5];
    unsigned char *days; /* one per day of the range */
    int64_t *day_count;  /* days * 5 counts, only in the totals */
};

/* The adherence of a range: totals and one tally per medication. */
struct api_adherence {
    size_t ndays, n;
    const struct store_scheduled *meds;
    struct api_tally total;
    struct api_tally *per;
};

/* Tallies the slots of meds over the local days from..to (in the request's
 * arena); each slot is also handed to fn when fn is not NULL. */
int api_adherence_of(struct api_call *call, struct mt_tz z, const struct store_scheduled *meds,
                     size_t n, struct mt_date from, struct mt_date to, api_slot_fn fn, void *ctx,
                     struct api_adherence *out, struct mt_err *err);

/* Writes the members "totals" and "medications" (counts, percentages of
 * the due slots, streaks) into the object being written. */
void api_jw_adherence(struct api_jw *w, const struct api_adherence *a);

/* A zone's name as the schedule answers give it ("UTC" for the server's
 * default fixed offset 0). */
void api_zone_name(struct mt_tz z, char *buf, size_t cap);

#endif
