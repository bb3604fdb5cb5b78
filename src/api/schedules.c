/* What is due and how it went (issue 16, docs/schedules.md): the slots of a
 * person's day with their status and the dose that satisfied each, the
 * adherence of a date range (counts, percentages, streaks, a per-day
 * series), and the calendar feed (a token per person, created once and
 * revocable, and the iCalendar text it opens). Slots come from
 * core/schedule.c (expansion in the person's zone, and the matching rule);
 * the doses and schedules from the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/jsonin.h"
#include "api/row_json.h"
#include "api/schedules.h"
#include "api/validate.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/secret.h"
#include "store/reminders.h"
#include "store/schedules.h"

/* Scratch memory for the slots and doses of one medication over a range
 * (a year of 24 slots a day is 280 KB of slots; its doses somewhat more). */
#define SCRATCH_MAX (32u * 1024u * 1024u)
/* Memory for a person's doses over a range, read at once (a few dozen bytes
 * a dose: about two million doses). */
#define DOSES_MAX (64u * 1024u * 1024u)
/* The calendar feed covers these days around today. */
#define ICS_PAST_DAYS 7
#define ICS_FUTURE_DAYS 30
/* The prefix of calendar-feed tokens, so that secret scanners know them. */
#define CALENDAR_TOKEN_PREFIX "mtc_"

/* ---- slots of a range ---------------------------------------------------------------------- */

/* The matching rule's two durations, from the configuration. */
static void match_params(const struct http_req *r, int64_t *window_us, int64_t *late_us)
{
    const struct mt_config *cfg = r->app ? r->app->cfg : NULL;
    int64_t w = cfg ? cfg->slot_window_minutes : 60;
    int64_t l = cfg ? cfg->slot_late_max_minutes : 240;
    *window_us = w * 60 * MT_USEC_PER_SEC;
    *late_us = l * 60 * MT_USEC_PER_SEC;
}

/* The first and last slot of schedule sc on the local days d0..d1 in zone
 * z; false when it has none there. */
static bool slot_bounds(const struct mt_schedule *sc, struct mt_tz z, int64_t d0, int64_t d1,
                        int64_t *first_us, int64_t *last_us)
{
    struct mt_slot one[MT_SCHED_MAX_TIMES];
    int64_t d = d0;
    int k = 0;
    for (; d <= d1; d++) {
        k = mt_schedule_expand(sc, z, mt_date_from_days(d), one);
        if (k > 0)
            break;
    }
    if (k <= 0)
        return false;
    *first_us = one[0].at_us;
    for (int64_t e = d1; e >= d; e--) {
        k = mt_schedule_expand(sc, z, mt_date_from_days(e), one);
        if (k > 0) {
            *last_us = one[k - 1].at_us;
            return true;
        }
    }
    return false;
}

/* The slots of one medication, of its schedule as in force (sc), matched
 * against its doses rows[0..nrows)
 * (the rows of its person's read, already cut to this medication), of
 * which only those in w count: the window its own dose query used to
 * have. Scratch memory comes from a per-medication arena. */
static int med_slots(const struct store_scheduled *med, const struct mt_schedule *sc,
                     struct mt_tz z, int64_t d0, int64_t d1, int64_t window_us, int64_t late_us,
                     int64_t now, const struct store_sched_dose *rows, size_t nrows,
                     const struct store_window *w, api_slot_fn fn, void *ctx, struct mt_err *err)
{
    size_t ndays = (size_t)(d1 - d0 + 1);
    struct mt_arena *scratch = mt_arena_new(SCRATCH_MAX);
    struct mt_slot_match *slots =
        mt_arena_calloc(scratch, ndays * MT_SCHED_MAX_TIMES, sizeof(*slots));
    size_t *days = mt_arena_calloc(scratch, ndays * MT_SCHED_MAX_TIMES, sizeof(*days));
    struct mt_dose_mark *marks = nrows ? mt_arena_calloc(scratch, nrows, sizeof(*marks)) : NULL;
    size_t *mark_row = nrows ? mt_arena_calloc(scratch, nrows, sizeof(*mark_row)) : NULL;
    unsigned char *used = mt_arena_alloc(scratch, nrows + 1);
    int rc = 0;
    if (!slots || !days || (nrows && (!marks || !mark_row)) || !used) {
        rc = mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        goto out;
    }
    size_t n = 0;
    for (int64_t d = d0; d <= d1; d++) {
        struct mt_slot one[MT_SCHED_MAX_TIMES];
        int k = mt_schedule_expand(sc, z, mt_date_from_days(d), one);
        for (int i = 0; i < k; i++) {
            slots[n] = (struct mt_slot_match){.at_us = one[i].at_us, .minute = one[i].minute};
            days[n++] = (size_t)(d - d0);
        }
    }
    size_t nm = 0;
    for (size_t i = 0; i < nrows; i++) {
        const struct store_sched_dose *r = &rows[i];
        if (!r->parsed || r->taken_at_us < w->start_us || r->taken_at_us >= w->end_us)
            continue;
        marks[nm] = (struct mt_dose_mark){r->taken_at_us, r->skipped};
        mark_row[nm++] = i;
    }
    mt_slots_match(slots, n, marks, nm, window_us, late_us, now, used);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (days[i] == 0 || days[i] == ndays - 1)
            continue;
        struct api_slot s = {.med = med,
                             .day = days[i] - 1,
                             .at_us = slots[i].at_us,
                             .minute = slots[i].minute,
                             .status = slots[i].status,
                             .late_until_us = slots[i].late_end_us};
        if (slots[i].dose >= 0) {
            const struct store_sched_dose *r = &rows[mark_row[slots[i].dose]];
            s.dose_id = r->dose_id;
            s.dose_at_us = r->taken_at_us;
        }
        rc = fn(ctx, &s, err);
    }
out:
    mt_arena_free(scratch);
    return rc;
}

/* Matches the slots of meds[first..end), which belong to one person, with
 * that person's doses read in one query over the union of the
 * medications' windows; each medication then keeps only the rows of its
 * own window. */
static int person_slots(struct api_call *call, const struct store_scheduled *meds, size_t first,
                        size_t end, struct mt_tz z, int64_t d0, int64_t d1, int64_t now,
                        api_slot_fn fn, void *ctx, struct mt_err *err)
{
    int64_t window_us, late_us;
    match_params(call->r, &window_us, &late_us);
    int64_t reach = late_us > window_us ? late_us : window_us;
    struct mt_arena *a = mt_arena_new(DOSES_MAX);
    struct store_window *win = mt_arena_calloc(a, end - first, sizeof(*win));
    bool *has = mt_arena_calloc(a, end - first, sizeof(*has));
    int rc = 0;
    if (!win || !has) {
        rc = mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        goto out;
    }
    /* A schedule without start_date begins on the local day its
     * medication was created: the days before it were never scheduled
     * (the worker planned no reminder for them) and are not missed. */
    struct mt_schedule *eff = mt_arena_alloc(a, (end - first) * sizeof(*eff));
    if (!eff) {
        rc = mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        goto out;
    }
    for (size_t i = first; i < end; i++) {
        struct mt_schedule *sc = &eff[i - first];
        *sc = meds[i].sched;
        if (meds[i].valid && !sc->has_start && meds[i].created_at_us > 0) {
            sc->has_start = true;
            sc->start = mt_tz_local_date(z, meds[i].created_at_us);
        }
    }
    struct store_window all = {INT64_MAX, INT64_MIN};
    for (size_t i = first; i < end; i++) {
        int64_t lo, hi;
        if (!meds[i].valid || !slot_bounds(&eff[i - first], z, d0, d1, &lo, &hi))
            continue;
        struct store_window *w = &win[i - first];
        *w = (struct store_window){.start_us = mt_instant_clamp(lo - window_us),
                                   .end_us = mt_instant_clamp(hi + reach + 1)};
        has[i - first] = true;
        all.start_us = w->start_us < all.start_us ? w->start_us : all.start_us;
        all.end_us = w->end_us > all.end_us ? w->end_us : all.end_us;
    }
    if (all.start_us > all.end_us)
        goto out;
    struct store_sched_dose *rows = NULL;
    size_t nrows = 0, at = 0;
    if (store_schedule_doses(call->db, a, meds[first].person_id, &all, &rows, &nrows, err) < 0) {
        rc = -1;
        goto out;
    }
    for (size_t i = first; i < end && rc == 0; i++) {
        if (!has[i - first])
            continue;
        /* Both are in medication id order: the rows of meds[i] are the
         * run that starts where the earlier medications' ended. */
        int64_t id = meds[i].medication_id;
        while (at < nrows && rows[at].medication_id < id)
            at++;
        size_t run = at;
        while (run < nrows && rows[run].medication_id == id)
            run++;
        rc = med_slots(&meds[i], &eff[i - first], z, d0, d1, window_us, late_us, now, rows + at,
                       run - at, &win[i - first], fn, ctx, err);
        at = run;
    }
out:
    mt_arena_free(a);
    return rc;
}

/* The slots of each valid medication of meds on the local days from..to in
 * zone z, matched against its doses (taken and skipped) as of now, handed
 * to fn medication by medication, each in time order. The day before and
 * the day after are expanded and matched too, so that a dose just across
 * midnight and the late window of a day's last slot come out as they do
 * when that neighbouring day is asked for. The doses are read once per
 * person (meds come ordered by person), not once per medication. */
int api_meds_slots(struct api_call *call, const struct store_scheduled *meds, size_t n,
                   struct mt_tz z, struct mt_date from, struct mt_date to, int64_t now,
                   api_slot_fn fn, void *ctx, struct mt_err *err)
{
    int64_t d0 = mt_date_to_days(from) - 1, d1 = mt_date_to_days(to) + 1;
    for (size_t i = 0, e; i < n; i = e) {
        for (e = i + 1; e < n && meds[e].person_id == meds[i].person_id; e++)
            ;
        if (person_slots(call, meds, i, e, z, d0, d1, now, fn, ctx, err) < 0)
            return -1;
    }
    return 0;
}

/* The person's zone and scheduled medications; MT_ENOTFOUND "Person not
 * found" for a person who does not exist or whom the caller may not see. */
int api_person_schedule(struct api_call *call, int64_t person_id, struct mt_tz *z,
                        struct store_scheduled **meds, size_t *n, struct mt_err *err)
{
    const char *tz_name = NULL;
    if (api_who_person(call->who, person_id, err) < 0 ||
        store_person_timezone(call->db, call->r->arena, person_id, &tz_name, err) < 0)
        return -1;
    *z = api_zone_named(call->r, tz_name);
    return store_schedules_list(call->db, call->r->arena, true, person_id, meds, n, err);
}

static void set_time(json_t *o, const char *key, int64_t us)
{
    char buf[MT_TIME_BUF];
    json_object_set_new(o, key,
                        us ? json_string(mt_format_iso(us, buf, sizeof(buf))) : json_null());
}

static void set_date(json_t *o, const char *key, struct mt_date d)
{
    char buf[16];
    json_object_set_new(o, key, json_string(mt_format_date(d, buf, sizeof(buf))));
}

static void set_zone(json_t *o, struct mt_tz z)
{
    char buf[32];
    api_zone_name(z, buf, sizeof(buf));
    json_object_set_new(o, "timezone", json_string(buf));
}

/* ---- GET /api/v1/persons/{person_id}/due/{date} --------------------------------------------- */

struct due_ctx {
    struct mt_arena *a;
    struct api_slot *items;
    size_t n, cap;
};

static int collect(void *vctx, const struct api_slot *s, struct mt_err *err)
{
    struct due_ctx *x = vctx;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        struct api_slot *grown = mt_arena_calloc(x->a, cap, sizeof(*grown));
        if (!grown)
            return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        if (x->n)
            memcpy(grown, x->items, x->n * sizeof(*grown));
        x->items = grown;
        x->cap = cap;
    }
    x->items[x->n++] = *s;
    return 0;
}

static int cmp_slot_out(const void *a, const void *b)
{
    const struct api_slot *x = a, *y = b;
    if (x->at_us != y->at_us)
        return x->at_us < y->at_us ? -1 : 1;
    if (x->med->medication_id != y->med->medication_id)
        return x->med->medication_id < y->med->medication_id ? -1 : 1;
    return 0;
}

static int cmp_reminder(const void *a, const void *b)
{
    const struct store_slot_reminder *x = a, *y = b;
    if (x->medication_id != y->medication_id)
        return x->medication_id < y->medication_id ? -1 : 1;
    return x->slot_at_us < y->slot_at_us ? -1 : x->slot_at_us > y->slot_at_us;
}

/* The reminder planned for a slot, from the person's reminders in
 * cmp_reminder's order (store_remind_person_slots sorts them so); NULL when
 * the worker planned none (yet). */
static const struct store_slot_reminder *
reminder_of(const struct api_slot *s, const struct store_slot_reminder *rem, size_t nrem)
{
    struct store_slot_reminder key = {.medication_id = s->med->medication_id,
                                      .slot_at_us = s->at_us};
    return nrem ? bsearch(&key, rem, nrem, sizeof(*rem), cmp_reminder) : NULL;
}

/* A reminder's id and state; snoozed_until only while it is snoozed (the
 * column keeps the end of a past snooze after the slot reopened). A snooze
 * that has ended is open, as the worker makes it at its next round. */
static json_t *reminder_json(const struct store_slot_reminder *m, int64_t now_us)
{
    if (!m)
        return json_null();
    bool was_snoozed = strcmp(m->state, "snoozed") == 0;
    bool snoozed = was_snoozed && m->has_snooze && m->snoozed_until_us > now_us;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)m->id));
    json_object_set_new(o, "state", json_string(was_snoozed && !snoozed ? "open" : m->state));
    set_time(o, "snoozed_until", snoozed ? m->snoozed_until_us : 0);
    return o;
}

static json_t *slot_json(const struct api_slot *s, const struct store_slot_reminder *m,
                         int64_t now_us)
{
    char hm[8];
    json_t *o = json_object();
    json_object_set_new(o, "medication_id", json_integer((json_int_t)s->med->medication_id));
    json_object_set_new(o, "medication_name", json_string(s->med->medication_name));
    set_time(o, "slot_at", s->at_us);
    json_object_set_new(o, "local_time", json_string(mt_schedule_hhmm(s->minute, hm, sizeof(hm))));
    json_object_set_new(o, "status", json_string(mt_slot_status_name(s->status)));
    json_object_set_new(o, "dose_id",
                        s->dose_id ? json_integer((json_int_t)s->dose_id) : json_null());
    set_time(o, "taken_at", s->dose_id ? s->dose_at_us : 0);
    set_time(o, "late_until", s->late_until_us);
    json_object_set_new(o, "reminder", reminder_json(m, now_us));
    return o;
}

int api_due(struct api_call *call, struct mt_err *err)
{
    const struct api_in_due *in = call->in;
    struct mt_tz z;
    struct store_scheduled *meds = NULL;
    size_t n = 0;
    if (api_person_schedule(call, in->person_id.value, &z, &meds, &n, err) < 0)
        return -1;
    struct due_ctx x = {.a = call->r->arena};
    int64_t now = mt_now_us();
    if (api_meds_slots(call, meds, n, z, in->date.value, in->date.value, now, collect, &x, err) < 0)
        return -1;
    if (x.n)
        qsort(x.items, x.n, sizeof(*x.items), cmp_slot_out);
    /* The planned reminders of the day's slots, in one query over the
     * person's first to last slot (none when there are no slots). */
    struct store_slot_reminder *rem = NULL;
    size_t nrem = 0;
    if (x.n &&
        store_remind_person_slots(call->db, call->r->arena, in->person_id.value, x.items[0].at_us,
                                  x.items[x.n - 1].at_us, &rem, &nrem, err) < 0)
        return -1;
    json_t *o = json_object();
    json_object_set_new(o, "person_id", json_integer((json_int_t)in->person_id.value));
    set_date(o, "date", in->date.value);
    set_zone(o, z);
    struct store_window w = api_day_window(in->date.value, in->date.value, z);
    set_time(o, "day_start", w.start_us);
    set_time(o, "day_end", w.end_us);
    json_t *slots = json_array();
    for (size_t i = 0; i < x.n; i++)
        json_array_append_new(slots,
                              slot_json(&x.items[i], reminder_of(&x.items[i], rem, nrem), now));
    json_object_set_new(o, "slots", slots);
    http_reply_json(call->r, 200, o);
    return 0;
}

/* ---- GET /api/v1/persons/{person_id}/adherence ----------------------------------------------- */

/* The most days one request may ask for. */
#define ADHERENCE_MAX_DAYS 366

/* How a day went: it has slots, one was missed or skipped, one is still
 * pending. */
enum { DAY_HAS = 1, DAY_BAD = 2, DAY_PENDING = 4 };

static void tally_add(struct api_tally *t, const struct api_slot *s)
{
    t->count[s->status]++;
    unsigned char *d = &t->days[s->day];
    *d |= DAY_HAS;
    if (s->status == MT_SLOT_MISSED || s->status == MT_SLOT_SKIPPED)
        *d |= DAY_BAD;
    else if (s->status == MT_SLOT_PENDING)
        *d |= DAY_PENDING;
    if (t->day_count)
        t->day_count[s->day * 5 + s->status]++;
}

struct tally_ctx {
    struct api_adherence *a;
    api_slot_fn fn; /* also hands each slot on, when set */
    void *fn_ctx;
};

static int tally_slot(void *vctx, const struct api_slot *s, struct mt_err *err)
{
    struct tally_ctx *x = vctx;
    tally_add(&x->a->total, s);
    tally_add(&x->a->per[s->med - x->a->meds], s);
    return x->fn ? x->fn(x->fn_ctx, s, err) : 0;
}

int api_adherence_of(struct api_call *call, struct mt_tz z, const struct store_scheduled *meds,
                     size_t n, struct mt_date from, struct mt_date to, api_slot_fn fn, void *ctx,
                     struct api_adherence *out, struct mt_err *err)
{
    struct mt_arena *a = call->r->arena;
    memset(out, 0, sizeof(*out));
    int64_t span = mt_date_to_days(to) - mt_date_to_days(from);
    out->ndays = span < 0 ? 0 : (size_t)span + 1;
    out->meds = meds;
    out->n = n;
    out->per = n ? mt_arena_calloc(a, n, sizeof(*out->per)) : NULL;
    out->total.days = mt_arena_calloc(a, out->ndays + 1, 1);
    out->total.day_count = mt_arena_calloc(a, out->ndays * 5 + 1, sizeof(int64_t));
    if ((n && !out->per) || !out->total.days || !out->total.day_count)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    if (span < 0)
        return 0;
    int64_t now = mt_now_us();
    struct tally_ctx x = {.a = out, .fn = fn, .fn_ctx = ctx};
    for (size_t i = 0; i < n; i++) {
        out->per[i].days = mt_arena_calloc(a, out->ndays, 1);
        if (!out->per[i].days)
            return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    }
    return api_meds_slots(call, meds, n, z, from, to, now, tally_slot, &x, err);
}

/* A day counts for a streak when every slot of it was taken, on time or
 * late; days without slots, and days with a slot still pending (today), do
 * not break one. */
static void streaks(const unsigned char *days, size_t n, int64_t *current, int64_t *longest)
{
    int64_t run = 0, best = 0;
    for (size_t i = 0; i < n; i++) {
        if (days[i] & DAY_BAD)
            run = 0;
        else if (days[i] == DAY_HAS)
            run++;
        if (run > best)
            best = run;
    }
    *longest = best;
    int64_t cur = 0;
    for (size_t i = n; i-- > 0;) {
        if (days[i] & DAY_BAD)
            break;
        if (days[i] == DAY_HAS)
            cur++;
    }
    *current = cur;
}

/* A percentage of the due slots with one decimal (rounded half up), or
 * null when nothing was due. */
static void jw_pct(struct api_jw *w, const char *key, int64_t part, int64_t whole)
{
    api_jw_key(w, key);
    if (whole <= 0)
        api_jw_null(w);
    else
        api_jw_amount(w, (double)((part * 1000 + whole / 2) / whole) / 10.0);
}

/* The members of one tally: counts, percentages, streaks. */
static void jw_stats(struct api_jw *w, const struct api_tally *t, size_t ndays)
{
    const int64_t *c = t->count;
    int64_t slots = c[0] + c[1] + c[2] + c[3] + c[4];
    int64_t due = slots - c[MT_SLOT_PENDING];
    api_jw_int_at(w, "slots", slots);
    api_jw_int_at(w, "taken", c[MT_SLOT_TAKEN]);
    api_jw_int_at(w, "late", c[MT_SLOT_LATE]);
    api_jw_int_at(w, "missed", c[MT_SLOT_MISSED]);
    api_jw_int_at(w, "skipped", c[MT_SLOT_SKIPPED]);
    api_jw_int_at(w, "pending", c[MT_SLOT_PENDING]);
    api_jw_int_at(w, "due", due);
    jw_pct(w, "taken_pct", c[MT_SLOT_TAKEN], due);
    jw_pct(w, "late_pct", c[MT_SLOT_LATE], due);
    jw_pct(w, "missed_pct", c[MT_SLOT_MISSED], due);
    jw_pct(w, "skipped_pct", c[MT_SLOT_SKIPPED], due);
    jw_pct(w, "adherence_pct", c[MT_SLOT_TAKEN] + c[MT_SLOT_LATE], due);
    int64_t current, longest;
    streaks(t->days, ndays, &current, &longest);
    api_jw_int_at(w, "current_streak", current);
    api_jw_int_at(w, "longest_streak", longest);
}

void api_jw_adherence(struct api_jw *w, const struct api_adherence *a)
{
    api_jw_key(w, "totals");
    api_jw_obj(w);
    jw_stats(w, &a->total, a->ndays);
    api_jw_obj_end(w);
    api_jw_key(w, "medications");
    api_jw_arr(w);
    for (size_t i = 0; i < a->n; i++) {
        api_jw_obj(w);
        api_jw_int_at(w, "medication_id", a->meds[i].medication_id);
        api_jw_str_at(w, "medication_name", a->meds[i].medication_name);
        jw_stats(w, &a->per[i], a->ndays);
        api_jw_obj_end(w);
    }
    api_jw_arr_end(w);
}

void api_zone_name(struct mt_tz z, char *buf, size_t cap)
{
    /* The server's default zone is the fixed offset 0: call it UTC. */
    char own[32];
    snprintf(buf, cap, "%s", !z.zone && z.fixed_min == 0 ? "UTC" : mt_tz_name(z, own, sizeof(own)));
}

void api_adherence_rule(const struct api_request *q, void *vin, struct api_vctx *v)
{
    const struct api_in_adherence *in = vin;
    if (!in->from.set || !in->to.set)
        return;
    int64_t span = mt_date_to_days(in->to.value) - mt_date_to_days(in->from.value);
    if (span >= 0 && span < ADHERENCE_MAX_DAYS)
        return;
    const char *to = api_request_query(q, "to");
    api_vctx_add(v, "value_error", json_pack("[s,s]", "query", "to"),
                 span < 0 ? "Value error, \"to\" must not be before \"from\""
                          : "Value error, at most 366 days from \"from\" to \"to\"",
                 api_json_text(to, strlen(to)), json_pack("{s:{}}", "error"));
}

int api_adherence(struct api_call *call, struct mt_err *err)
{
    const struct api_in_adherence *in = call->in;
    struct mt_tz z;
    struct store_scheduled *meds = NULL;
    size_t n = 0;
    struct api_adherence a;
    if (api_person_schedule(call, in->person_id.value, &z, &meds, &n, err) < 0 ||
        api_adherence_of(call, z, meds, n, in->from.value, in->to.value, NULL, NULL, &a, err) < 0)
        return -1;
    char buf[32];
    int64_t window_us, late_us;
    match_params(call->r, &window_us, &late_us);
    struct api_jw w;
    api_jw_init(&w, call->r->arena, 1024 + a.ndays * 96 + n * 400);
    api_jw_obj(&w);
    api_jw_int_at(&w, "person_id", in->person_id.value);
    api_jw_str_at(&w, "from", mt_format_date(in->from.value, buf, sizeof(buf)));
    api_jw_str_at(&w, "to", mt_format_date(in->to.value, buf, sizeof(buf)));
    api_zone_name(z, buf, sizeof(buf));
    api_jw_str_at(&w, "timezone", buf);
    api_jw_int_at(&w, "slot_window_minutes", window_us / (60 * MT_USEC_PER_SEC));
    api_jw_adherence(&w, &a);
    api_jw_key(&w, "days");
    api_jw_arr(&w);
    int64_t first = mt_date_to_days(in->from.value);
    for (size_t d = 0; d < a.ndays; d++) {
        const int64_t *c = &a.total.day_count[d * 5];
        api_jw_obj(&w);
        api_jw_str_at(&w, "date",
                      mt_format_date(mt_date_from_days(first + (int64_t)d), buf, sizeof(buf)));
        api_jw_int_at(&w, "slots", c[0] + c[1] + c[2] + c[3] + c[4]);
        api_jw_int_at(&w, "taken", c[MT_SLOT_TAKEN]);
        api_jw_int_at(&w, "late", c[MT_SLOT_LATE]);
        api_jw_int_at(&w, "missed", c[MT_SLOT_MISSED]);
        api_jw_int_at(&w, "skipped", c[MT_SLOT_SKIPPED]);
        api_jw_int_at(&w, "pending", c[MT_SLOT_PENDING]);
        api_jw_obj_end(&w);
    }
    api_jw_arr_end(&w);
    api_jw_obj_end(&w);
    return api_reply_jw(call->r, 200, &w);
}

/* ---- the calendar feed ------------------------------------------------------------------- */

/* The feed's address as the client reached this server (the Host it sent,
 * https when the request came over TLS or through a trusted proxy that
 * says so). */
static const char *feed_url(struct http_req *r, int64_t person_id, const char *token)
{
    const char *host = http_header(r, "Host");
    return mt_arena_printf(r->arena, "%s://%s/api/v1/persons/%lld/calendar.ics?token=%s",
                           api_request_secure(r) ? "https" : "http", host ? host : "localhost",
                           (long long)person_id, token);
}

int api_calendar_token_create(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (api_who_person(call->who, in->id.value, err) < 0)
        return -1;
    char token[MT_SECRET_MAX], hash[MT_SECRET_HASH_HEX];
    if (mt_secret_random(CALENDAR_TOKEN_PREFIX, token, sizeof(token)) < 0)
        return mt_fail(err, MT_EINTERNAL, "no randomness for a calendar token");
    mt_secret_hash(token, hash);
    if (store_calendar_token_set(call->db, in->id.value, hash, err) < 0)
        return -1;
    const char *url = feed_url(call->r, in->id.value, token);
    if (!url)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    json_t *o = json_object();
    json_object_set_new(o, "person_id", json_integer((json_int_t)in->id.value));
    json_object_set_new(o, "token", json_string(token));
    json_object_set_new(o, "url", json_string(url));
    json_object_set_new(o, "path", json_string(strstr(url, "/api/v1/")));
    http_reply_json(call->r, 201, o);
    return 0;
}

int api_calendar_token_revoke(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    bool had = false;
    if (api_who_person(call->who, in->id.value, err) < 0 ||
        store_calendar_token_delete(call->db, in->id.value, &had, err) < 0)
        return -1;
    if (!had)
        return mt_fail(err, MT_ENOTFOUND, "Calendar token not found");
    http_reply_empty(call->r, 204);
    return 0;
}

/* iCalendar text (RFC 5545): lines end with CRLF and are folded so that
 * none is longer than 75 octets (a continuation starts with a space), never
 * inside a UTF-8 sequence. */
static void ics_line(struct mt_buf *b, const char *line)
{
    size_t len = strlen(line), at = 0, room = 75;
    while (len - at > room) {
        size_t cut = at + room;
        while (cut > at && ((unsigned char)line[cut] & 0xC0) == 0x80)
            cut--;
        mt_buf_add(b, line + at, cut - at);
        mt_buf_adds(b, "\r\n ");
        at = cut;
        room = 74; /* the leading space counts */
    }
    mt_buf_add(b, line + at, len - at);
    mt_buf_adds(b, "\r\n");
}

/* Text escaped as a TEXT value: backslash, semicolon, comma and newlines. */
static void ics_escape(struct mt_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\':
        case ';':
        case ',':
            mt_buf_addc(b, '\\');
            mt_buf_addc(b, *s);
            break;
        case '\n':
            mt_buf_adds(b, "\\n");
            break;
        case '\r':
            break;
        default:
            mt_buf_addc(b, (unsigned char)*s < 0x20 ? ' ' : *s);
        }
    }
}

/* "YYYYMMDDTHHMMSSZ". */
static const char *ics_time(int64_t us, char *buf, size_t cap)
{
    struct mt_date d = mt_date_from_days(mt_floor_div(us, MT_USEC_PER_DAY));
    int64_t s = mt_floor_mod(us, MT_USEC_PER_DAY) / MT_USEC_PER_SEC;
    snprintf(buf, cap, "%04d%02d%02dT%02d%02d%02dZ", d.year, d.month, d.day, (int)(s / 3600),
             (int)(s / 60 % 60), (int)(s % 60));
    return buf;
}

struct ics_ctx {
    struct mt_buf line; /* one unfolded line at a time */
    struct mt_buf out;
    int64_t person_id;
    const char *stamp;
};

static void ics_put(struct ics_ctx *x)
{
    ics_line(&x->out, x->line.data);
    mt_buf_reset(&x->line);
}

static int ics_event(void *vctx, const struct api_slot *s, struct mt_err *err)
{
    (void)err;
    struct ics_ctx *x = vctx;
    char t[32], end[32];
    mt_buf_adds(&x->line, "BEGIN:VEVENT");
    ics_put(x);
    mt_buf_addf(&x->line, "UID:slot-%lld-%lld-%s@meditrack", (long long)x->person_id,
                (long long)s->med->medication_id, ics_time(s->at_us, t, sizeof(t)));
    ics_put(x);
    mt_buf_addf(&x->line, "DTSTAMP:%s", x->stamp);
    ics_put(x);
    mt_buf_addf(&x->line, "DTSTART:%s", ics_time(s->at_us, t, sizeof(t)));
    ics_put(x);
    mt_buf_addf(&x->line, "DTEND:%s",
                ics_time(s->at_us + 15 * 60 * MT_USEC_PER_SEC, end, sizeof(end)));
    ics_put(x);
    mt_buf_adds(&x->line, "SUMMARY:");
    ics_escape(&x->line, s->med->medication_name);
    if (s->med->dosage[0]) {
        mt_buf_adds(&x->line, " (");
        ics_escape(&x->line, s->med->dosage);
        mt_buf_adds(&x->line, ")");
    }
    ics_put(x);
    char hm[8];
    mt_buf_addf(&x->line, "DESCRIPTION:Scheduled dose at %s local time",
                mt_schedule_hhmm(s->minute, hm, sizeof(hm)));
    ics_put(x);
    mt_buf_adds(&x->line, "TRANSP:TRANSPARENT");
    ics_put(x);
    mt_buf_adds(&x->line, "BEGIN:VALARM");
    ics_put(x);
    mt_buf_adds(&x->line, "ACTION:DISPLAY");
    ics_put(x);
    mt_buf_adds(&x->line, "TRIGGER:PT0M");
    ics_put(x);
    mt_buf_adds(&x->line, "DESCRIPTION:");
    ics_escape(&x->line, s->med->medication_name);
    ics_put(x);
    mt_buf_adds(&x->line, "END:VALARM");
    ics_put(x);
    mt_buf_adds(&x->line, "END:VEVENT");
    ics_put(x);
    return 0;
}

int api_calendar_ics(struct api_call *call, struct mt_err *err)
{
    const struct api_in_calendar *in = call->in;
    int64_t person_id = in->person_id.value;
    /* Every refusal is the same 404, so that the feed does not tell which
     * persons exist or have a token. */
    const char *stored = NULL;
    if (store_calendar_token_hash(call->db, call->r->arena, person_id, &stored, err) < 0)
        return -1;
    char hash[MT_SECRET_HASH_HEX];
    const char *token = in->token.set ? in->token.value : NULL;
    if (token && strlen(token) < MT_SECRET_MAX)
        mt_secret_hash(token, hash);
    else
        hash[0] = '\0';
    if (!stored || !hash[0] || !mt_secret_equal(stored, hash))
        return mt_fail(err, MT_ENOTFOUND, "Calendar not found");
    struct mt_tz z;
    struct store_scheduled *meds = NULL;
    size_t n = 0;
    if (api_person_tz(call, person_id, &(struct api_int){0}, &z, err) < 0 ||
        store_schedules_list(call->db, call->r->arena, true, person_id, &meds, &n, err) < 0)
        return -1;
    int64_t now = mt_now_us();
    int64_t today = mt_date_to_days(mt_tz_local_date(z, now));
    char stamp[32];
    struct ics_ctx x = {.person_id = person_id, .stamp = ics_time(now, stamp, sizeof(stamp))};
    mt_buf_init(&x.line, 64 * 1024);
    mt_buf_init(&x.out, 16u * 1024u * 1024u);
    static const char *const head[] = {"BEGIN:VCALENDAR",
                                       "VERSION:2.0",
                                       "PRODID:-//MediTrack//Schedules//EN",
                                       "CALSCALE:GREGORIAN",
                                       "METHOD:PUBLISH",
                                       "X-WR-CALNAME:Medications",
                                       "REFRESH-INTERVAL;VALUE=DURATION:PT1H"};
    for (size_t i = 0; i < MT_ARRAY_LEN(head); i++)
        ics_line(&x.out, head[i]);
    int rc = api_meds_slots(call, meds, n, z, mt_date_from_days(today - ICS_PAST_DAYS),
                            mt_date_from_days(today + ICS_FUTURE_DAYS), now, ics_event, &x, err);
    ics_line(&x.out, "END:VCALENDAR");
    char *body = NULL;
    if (rc == 0 && (x.out.failed || x.line.failed))
        rc = mt_fail(err, MT_ELIMIT, "Response exceeds the server's memory limit");
    if (rc == 0) {
        body = mt_arena_strndup(call->r->arena, x.out.data, x.out.len);
        if (!body)
            rc = mt_fail(err, MT_ELIMIT, "Response exceeds the server's memory limit");
    }
    size_t len = x.out.len;
    mt_buf_release(&x.line);
    mt_buf_release(&x.out);
    if (rc < 0)
        return -1;
    http_add_header(call->r, "Cache-Control", "private, max-age=300");
    http_reply_raw(call->r, 200, "text/calendar; charset=utf-8", body, len);
    return 0;
}
