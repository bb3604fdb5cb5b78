/* The reminder worker (remind.h): one thread per `serve` process. Every
 * planning round (once a second of real time) it expands the schedules into
 * reminder slots from a little before the last round to a bounded time
 * ahead, lets the database drop what another replica planned already,
 * closes slots that a dose or skip satisfies, plans due repeats and
 * escalations, and marks what the horizon left behind as missed. Between
 * rounds it claims due deliveries under a lease and sends them one at a
 * time, recording each outcome or scheduling a retry with exponential
 * backoff. The clock is mt_now_us (the test clock when one is set); waits
 * are real time, scaled so that the worker keeps up with a fast clock. */
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/schedule.h"
#include "remind/remind_int.h"
#include "store/schedules.h"

/* Real milliseconds between planning rounds, and the longest sleep between
 * claims (a delivery falls due at most this late, in real time). */
enum { PLAN_EVERY_MS = 1000, CLAIM_EVERY_MS = 100 };
/* Deliveries claimed at once, and attempts before a delivery is failed. */
enum { CLAIM_BATCH = 8, MAX_ATTEMPTS = 6 };
/* Backoff after a failed attempt: 30 s, 1, 2, 4, 8 min, ... at most 1 h
 * (server clock). */
#define BACKOFF_FIRST_US (INT64_C(30) * MT_USEC_PER_SEC)
#define BACKOFF_MAX_US (INT64_C(3600) * MT_USEC_PER_SEC)
#define MINUTE_US (INT64_C(60) * MT_USEC_PER_SEC)
/* A round's memory: schedules, slots, doses. */
#define ROUND_ARENA (16u << 20)

struct remind_worker {
    struct remind_ctx ctx;
    struct db_pool *pool;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_bool stop;
    char owner[64]; /* lease_owner: host, pid and a random tag */
    bool first_round;
    int64_t last_plan_now_us;
    uint64_t next_plan_ms; /* monotonic */
    uint64_t quiet_log_until_ms;
};

/* Clock time that passes while the worker waits `ms` of real time. */
static int64_t clock_span_us(const struct remind_ctx *ctx, int64_t ms)
{
    return (int64_t)((double)ms * 1000.0 * ctx->clock_speed);
}

/* The zone of a person: their own, else the server's. */
static struct mt_tz person_zone(const struct remind_ctx *ctx, const char *name)
{
    struct mt_tz z = ctx->server_zone;
    struct mt_err err = {0};
    if (name && name[0] && mt_tz_load(name, &z, &err) < 0)
        z = ctx->server_zone;
    return z;
}

/* Whether now is inside the quiet hours [start, end) of zone z (which may
 * run over midnight); *end_us gets the instant they end. */
static bool in_quiet(struct mt_tz z, const char *start, const char *end, int64_t now_us,
                     int64_t *end_us)
{
    /* The API refuses bounds that are not "HH:MM"; a hand-edited row with
     * one means no quiet hours. */
    int qs = start ? mt_parse_hhmm(start, strlen(start)) : -1;
    int qe = end ? mt_parse_hhmm(end, strlen(end)) : -1;
    if (qs < 0 || qe < 0 || qs == qe)
        return false;
    int64_t local_us = now_us + (int64_t)mt_tz_offset_at(z, now_us) * MT_USEC_PER_SEC;
    int m = (int)(mt_floor_mod(local_us, MT_USEC_PER_DAY) / MINUTE_US);
    bool quiet = qs < qe ? (m >= qs && m < qe) : (m >= qs || m < qe);
    if (!quiet)
        return false;
    struct mt_date d = mt_tz_local_date(z, now_us);
    int64_t e = mt_tz_local_to_instant(z, d, qe / 60, qe % 60);
    if (e <= now_us)
        e = mt_tz_local_to_instant(z, mt_date_from_days(mt_date_to_days(d) + 1), qe / 60, qe % 60);
    *end_us = e;
    return true;
}

/* ---- planning ---- */

struct slot_list {
    struct store_plan_slot *v;
    size_t n, cap;
};

static void slot_add(struct slot_list *l, int64_t person, int64_t med, int64_t at)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        l->v = mt_xreallocarray(l->v, cap, sizeof(*l->v));
        l->cap = cap;
    }
    l->v[l->n++] = (struct store_plan_slot){person, med, at};
}

/* The slots of every schedule in [from_us, to_us]. */
static int expand_all(struct remind_worker *w, struct db_conn *c, struct mt_arena *a,
                      int64_t from_us, int64_t to_us, struct slot_list *out, struct mt_err *err)
{
    struct store_scheduled *meds = NULL;
    size_t n = 0;
    if (store_schedules_list(c, a, false, 0, &meds, &n, err) < 0)
        return -1;
    /* The list comes ordered by person: each person's zone is looked up
     * once, for their first medication. */
    struct mt_tz z = w->ctx.server_zone;
    bool have_zone = false;
    int64_t zone_of = 0;
    for (size_t i = 0; i < n; i++) {
        if (!meds[i].valid)
            continue;
        if (!have_zone || meds[i].person_id != zone_of) {
            z = person_zone(&w->ctx, meds[i].timezone);
            zone_of = meds[i].person_id;
            have_zone = true;
        }
        int64_t first = mt_date_to_days(mt_tz_local_date(z, from_us));
        int64_t last = mt_date_to_days(mt_tz_local_date(z, to_us));
        for (int64_t day = first; day <= last; day++) {
            struct mt_slot slots[MT_SCHED_MAX_TIMES];
            int k = mt_schedule_expand(&meds[i].sched, z, mt_date_from_days(day), slots);
            /* A slot before the schedule's last change (or the person's
             * zone's) belongs to no version that existed at its time: it is
             * never planned, so a restart or a new schedule does not send
             * reminders for times that did not exist then. */
            for (int j = 0; j < k; j++)
                if (slots[j].at_us >= from_us && slots[j].at_us <= to_us &&
                    slots[j].at_us >= meds[i].updated_at_us)
                    slot_add(out, meds[i].person_id, meds[i].medication_id, slots[j].at_us);
        }
    }
    return 0;
}

/* Closes the open slots that a dose or skip row satisfies, by the matching
 * rule of the due view (mt_slots_match, docs/schedules.md) over each
 * medication's sequence of slots, closed ones included: each row satisfies
 * at most one slot, so one dose never closes two slots (a slot taken on
 * time or late is "done", a skipped one "skipped"). */
static int close_satisfied(struct remind_worker *w, struct db_conn *c,
                           struct store_open_slot *const *s, size_t n,
                           const struct store_slot_dose *d, size_t nd, int64_t now,
                           struct mt_err *err)
{
    int64_t win = w->ctx.slot_window_minutes * MINUTE_US;
    int64_t late = (int64_t)w->ctx.cfg->slot_late_max_minutes * MINUTE_US;
    struct mt_slot_match *m = mt_xreallocarray(NULL, n ? n : 1, sizeof(*m));
    struct mt_dose_mark *marks = mt_xreallocarray(NULL, nd ? nd : 1, sizeof(*marks));
    unsigned char *used = mt_xmalloc(nd ? nd : 1);
    int rc = 0;
    size_t j = 0;
    /* Both lists are ordered by medication, then time: one medication's
     * slots [i, e) and rows [j, k) at a time. */
    for (size_t i = 0, e; i < n && rc == 0; i = e) {
        int64_t med = s[i]->medication_id;
        for (e = i; e < n && s[e]->medication_id == med; e++)
            m[e - i] = (struct mt_slot_match){.at_us = s[e]->slot_at_us, .dose = -1};
        while (j < nd && d[j].medication_id < med)
            j++;
        size_t k = j;
        for (; k < nd && d[k].medication_id == med; k++)
            marks[k - j] =
                (struct mt_dose_mark){.at_us = d[k].taken_at_us, .skipped = d[k].skipped};
        mt_slots_match(m, e - i, marks, k - j, win, late, now, used);
        j = k;
        for (size_t x = i; x < e && rc == 0; x++) {
            enum mt_slot_status st = m[x - i].status;
            if (st != MT_SLOT_TAKEN && st != MT_SLOT_LATE && st != MT_SLOT_SKIPPED)
                continue;
            if (strcmp(s[x]->state, "open") != 0 && strcmp(s[x]->state, "snoozed") != 0)
                continue;
            const char *to = st == MT_SLOT_SKIPPED ? "skipped" : "done";
            rc = store_remind_slot_close(c, s[x]->id, to, err);
            /* The follow-ups of this round see the slot closed without
             * reading it again (if another replica changed it first, it is
             * not open either way). */
            if (rc == 0)
                s[x]->state = to;
        }
    }
    free(used);
    free(marks);
    free(m);
    return rc;
}

static int cmp_person(const void *key, const void *item)
{
    int64_t id = *(const int64_t *)key;
    int64_t other = ((const struct store_remind_person *)item)->person_id;
    return id < other ? -1 : id > other;
}

/* Repeats and escalations that fell due. */
static int plan_follow_ups(struct remind_worker *w, struct db_conn *c, struct mt_arena *a,
                           const struct store_open_slot *s, size_t n, int64_t from, int64_t now,
                           struct mt_err *err)
{
    /* The settings and zones of the persons of the slots in [from, now]
     * are read once for the round, in one query, and only when a slot
     * needs them. */
    struct store_remind_person *persons = NULL;
    struct mt_tz *zones = NULL;
    bool *zoned = NULL;
    size_t np = 0;
    bool loaded = false;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strcmp(s[i].state, "open") != 0 || s[i].slot_at_us > now || s[i].slot_at_us < from)
            continue;
        if (!loaded) {
            if (store_remind_persons(c, a, from, now, &persons, &np, err) < 0)
                return -1;
            zones = mt_arena_calloc(a, np + 1, sizeof(*zones));
            zoned = mt_arena_calloc(a, np + 1, sizeof(*zoned));
            if (!zones || !zoned)
                return mt_fail(err, MT_ELIMIT, "a planning round ran out of memory");
            loaded = true;
        }
        const struct store_remind_person *p =
            np ? bsearch(&s[i].person_id, persons, np, sizeof(*persons), cmp_person) : NULL;
        if (!p) /* deleted since the slots were read: its slots go with it */
            continue;
        size_t k = (size_t)(p - persons);
        if (!zoned[k]) {
            zones[k] = person_zone(&w->ctx, p->timezone);
            zoned[k] = true;
        }
        int64_t quiet_end;
        bool quiet = in_quiet(zones[k], p->rs.quiet_start, p->rs.quiet_end, now, &quiet_end);
        /* The next repeat: at the end of a snooze that put off a reminder
         * already sent, else every repeat_minutes after the last one went
         * out, up to max_repeats, and only while no earlier one waits to
         * be sent: a reminder held for quiet hours or a snooze (or
         * retried) keeps its due_at, and timing from it would send a
         * repeat together with it. */
        int64_t due = -1;
        int64_t every = p->rs.has_repeat ? p->rs.repeat_minutes * MINUTE_US : 0;
        int64_t last = s[i].has_sent ? s[i].last_sent_us : s[i].last_due_us;
        if (s[i].unsent)
            due = -1;
        else if (s[i].has_snooze && s[i].snoozed_until_us > last)
            due = s[i].snoozed_until_us;
        else if (every > 0 && s[i].repeats_sent < p->rs.max_repeats)
            due = last + every;
        /* Nagging waits for the end of quiet hours; after a long pause
         * (a restart) one repeat goes out now, not one per missed step. */
        if (due >= 0 && due <= now && !quiet) {
            if (every > 0 && now - due > every)
                due = now;
            rc = store_remind_plan_repeat(c, s[i].id, s[i].repeats_sent + 1, due, err);
        }
        if (rc == 0 && p->rs.has_escalate && !s[i].escalated) {
            /* From the slot, or from the end of a snooze past it: a person
             * who put the reminder off has answered it for that long. */
            int64_t from_us = s[i].slot_at_us;
            if (s[i].has_snooze && s[i].snoozed_until_us > from_us)
                from_us = s[i].snoozed_until_us;
            int64_t at = from_us + p->rs.escalate_after_minutes * MINUTE_US;
            if (at <= now)
                rc = store_remind_plan_escalation(c, s[i].id, s[i].person_id, at, err);
        }
    }
    return rc;
}

static int cmp_plan(const void *pa, const void *pb)
{
    const struct store_plan_slot *a = pa, *b = pb;
    if (a->medication_id != b->medication_id)
        return a->medication_id < b->medication_id ? -1 : 1;
    return a->slot_at_us < b->slot_at_us ? -1 : a->slot_at_us > b->slot_at_us;
}

/* Removes the planned future slots that the schedules, as they are now,
 * no longer give (a changed or removed schedule). */
static int unplan_stale(struct db_conn *c, const struct store_open_slot *s, size_t n,
                        struct slot_list *list, int64_t now, int64_t to, bool *gone,
                        struct mt_err *err)
{
    /* qsort and bsearch want a non-null array even for no elements. */
    if (list->n > 0)
        qsort(list->v, list->n, sizeof(*list->v), cmp_plan);
    for (size_t i = 0; i < n; i++) {
        struct store_plan_slot key = {.medication_id = s[i].medication_id,
                                      .slot_at_us = s[i].slot_at_us};
        if (s[i].slot_at_us <= now || s[i].slot_at_us > to || strcmp(s[i].state, "open") != 0 ||
            (list->n > 0 && bsearch(&key, list->v, list->n, sizeof(*list->v), cmp_plan)))
            continue;
        if (store_remind_slot_unplan(c, s[i].id, now, &gone[i], err) < 0)
            return -1;
    }
    return 0;
}

static int plan_round(struct remind_worker *w, struct db_conn *c, int64_t now, struct mt_err *err)
{
    int64_t horizon = (int64_t)w->ctx.cfg->reminder_horizon_minutes * MINUTE_US;
    /* Ahead far enough that the next rounds find every slot planned even
     * with a fast test clock; behind a little more than the last round, or
     * on the first round the whole horizon and a day (a restart catches up,
     * and what is older than the horizon is planned as missed). */
    int64_t ahead = 5 * MINUTE_US + 3 * clock_span_us(&w->ctx, PLAN_EVERY_MS);
    int64_t from =
        w->first_round ? now - horizon - 24 * 60 * MINUTE_US : w->last_plan_now_us - 2 * ahead;
    int64_t to = now + ahead;
    int64_t win = w->ctx.slot_window_minutes * MINUTE_US;
    struct mt_arena *a = mt_arena_new(ROUND_ARENA);
    struct slot_list list = {0};
    /* The matching starts a late window before the horizon, so that a dose
     * is matched as the due view matches it and not to a later slot
     * because the one it belongs to lies outside the range read. */
    int64_t match_from =
        now - horizon - win - (int64_t)w->ctx.cfg->slot_late_max_minutes * MINUTE_US;
    int64_t read_to = to > now + win ? to : now + win;
    struct store_open_slot *slots = NULL;
    struct store_slot_dose *doses = NULL;
    struct store_open_slot **matched = NULL;
    bool *gone = NULL;
    size_t ns = 0, nd = 0, nm = 0;
    int rc = expand_all(w, c, a, from, to, &list, err);
    if (rc == 0)
        rc = store_remind_plan_slots(c, list.v, list.n, now - horizon, err);
    if (rc == 0)
        rc = store_remind_housekeep(c, now, now - horizon, now - horizon, to, err);
    /* One read of the slots serves the whole round: the stale future slots
     * (unplanned below, their pending deliveries with them), the matching
     * of doses, and the follow-ups, which see the states this round set. */
    if (rc == 0)
        rc = store_remind_slots(c, a, match_from, read_to, &slots, &ns, err);
    if (rc == 0) {
        gone = mt_arena_calloc(a, ns + 1, sizeof(*gone));
        matched = mt_arena_calloc(a, ns + 1, sizeof(*matched));
        if (!gone || !matched)
            rc = mt_fail(err, MT_ELIMIT, "a planning round ran out of memory");
    }
    if (rc == 0)
        rc = unplan_stale(c, slots, ns, &list, now, to, gone, err);
    free(list.v);
    if (rc == 0)
        rc = store_remind_doses(c, a, match_from - win, now, &doses, &nd, err);
    if (rc == 0) {
        for (size_t i = 0; i < ns; i++)
            if (!gone[i] && slots[i].slot_at_us <= now + win)
                matched[nm++] = &slots[i];
        rc = close_satisfied(w, c, matched, nm, doses, nd, now, err);
    }
    if (rc == 0)
        rc = plan_follow_ups(w, c, a, slots, ns, now - horizon, now, err);
    mt_arena_free(a);
    if (rc == 0) {
        w->first_round = false;
        w->last_plan_now_us = now;
    }
    return rc;
}

/* ---- sending ---- */

static void local_hhmm(struct mt_tz z, int64_t t_us, char out[8])
{
    int64_t local = t_us + (int64_t)mt_tz_offset_at(z, t_us) * MT_USEC_PER_SEC;
    int m = (int)(mt_floor_mod(local, MT_USEC_PER_DAY) / MINUTE_US);
    mt_schedule_hhmm(m, out, 8);
}

/* The texts of a delivery, in a. */
static void compose(struct remind_worker *w, struct mt_arena *a, const struct store_send *d,
                    struct notify_message *m)
{
    const char *med = d->medication_name ? d->medication_name : "your medication";
    const char *who = d->person_name && d->person_name[0] ? d->person_name : "Someone";
    const char *dosage = d->dosage ? d->dosage : "";
    char at[8];
    local_hhmm(person_zone(&w->ctx, d->person_timezone), d->slot_at_us, at);
    if (strcmp(d->kind, "escalation") == 0) {
        m->title = mt_arena_printf(a, "%s has not taken %s", who, med);
        m->body =
            mt_arena_printf(a, "%s %s was due at %s and is not recorded yet.", med, dosage, at);
        m->priority = 5;
        m->tags = "warning";
    } else if (strcmp(d->kind, "repeat") == 0) {
        m->title = mt_arena_printf(a, "Still due: %s", med);
        m->body = mt_arena_printf(a, "%s: %s %s was due at %s and is not recorded yet.", who, med,
                                  dosage, at);
        m->priority = 4;
        m->tags = "pill,alarm_clock";
    } else {
        m->title = mt_arena_printf(a, "Time for %s", med);
        m->body = mt_arena_printf(a, "%s: %s %s at %s.", who, med, dosage, at);
        m->priority = 4;
        m->tags = "pill";
    }
    char slot_at[MT_TIME_BUF];
    json_t *ev =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:I}", "kind", d->kind, "delivery_id",
                  (json_int_t)d->id, "slot_id", (json_int_t)d->slot_id, "person_id",
                  (json_int_t)d->person_id, "medication_id", (json_int_t)d->medication_id,
                  "slot_at", mt_format_iso(d->slot_at_us, slot_at, sizeof(slot_at)), "seq",
                  (json_int_t)d->seq, "channel_id", (json_int_t)d->channel_id);
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    m->event_json = text ? mt_arena_strdup(a, text) : NULL;
    free(text);
    /* A snooze link, where the server knows its public address: snoozes
     * for the repeat interval (else 15 minutes), valid for the horizon. */
    const char *base = w->ctx.cfg->public_url;
    if (w->ctx.has_key && base && base[0] && strcmp(d->kind, "escalation") != 0) {
        int64_t snooze_min = d->has_repeat && d->repeat_minutes > 0 ? d->repeat_minutes : 15;
        int64_t expires =
            d->slot_at_us / MT_USEC_PER_SEC + (int64_t)w->ctx.cfg->reminder_horizon_minutes * 60;
        char sig[NOTIFY_LINK_SIG_BUF];
        notify_link_sign(&w->ctx.key, d->slot_id, snooze_min, expires, sig);
        size_t bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
            bl--;
        m->action_url = mt_arena_printf(a,
                                        "%.*s/api/v1/reminders/%" PRId64 "/snooze?minutes=%" PRId64
                                        "&expires=%" PRId64 "&sig=%s",
                                        (int)bl, base, d->slot_id, snooze_min, expires, sig);
        m->action_label = mt_arena_printf(a, "Snooze %" PRId64 " min", snooze_min);
    }
}

/* Records the outcome and logs it (ids only). */
static void finish(struct remind_worker *w, struct db_conn *c, const struct store_send *d,
                   const char *status, int64_t next_us, bool attempts_back, const char *why)
{
    struct mt_err err = {0};
    bool held = false;
    if (store_remind_finish(c, d->id, w->owner, status, mt_now_us(), next_us, attempts_back, why,
                            &held, &err) < 0) {
        mt_log(MT_LOG_WARN, "reminders: cannot record delivery %" PRId64 ": %s", d->id, err.msg);
        return;
    }
    if (!held)
        mt_log(MT_LOG_WARN,
               "reminders: delivery %" PRId64 " was taken over by another replica (lease expired)",
               d->id);
    else if (strcmp(status, "sent") == 0)
        mt_log(MT_LOG_INFO, "reminders: sent delivery=%" PRId64 " kind=%s channel=%" PRId64, d->id,
               d->kind, d->channel_id);
    else if (strcmp(status, "pending") != 0 || !attempts_back)
        mt_log(MT_LOG_WARN, "reminders: delivery=%" PRId64 " channel=%" PRId64 " %s: %s", d->id,
               d->channel_id, status, why ? why : "");
}

/* Whether the delivery is a reminder or repeat of a slot snoozed until
 * after now. */
static bool snoozed_ahead(const struct store_send *d, int64_t now_us)
{
    bool nag = strcmp(d->kind, "reminder") == 0 || strcmp(d->kind, "repeat") == 0;
    return nag && d->has_slot && d->slot_state && strcmp(d->slot_state, "snoozed") == 0 &&
           d->has_snooze && d->snoozed_until_us > now_us;
}

/* Whether the delivery's slot still wants reminding: open, or snoozed
 * until a time that has come (the planner reopens it at its next round). */
static bool slot_open(const struct store_send *d, int64_t now_us)
{
    if (!d->slot_state)
        return false;
    if (strcmp(d->slot_state, "open") == 0)
        return true;
    return strcmp(d->slot_state, "snoozed") == 0 && d->has_snooze && d->snoozed_until_us <= now_us;
}

/* The lease of a claim, in server clock time: it covers a send
 * (NOTIFY_TIMEOUT) twice over, so a replica that dies mid-send is taken
 * over after it. */
static int64_t lease_span_us(const struct remind_worker *w)
{
    int64_t lease_ms = (int64_t)w->ctx.cfg->notify_timeout * 2000 + 5000;
    return clock_span_us(&w->ctx, lease_ms);
}

/* Renews the lease of d just before its send. A claim takes a batch, sent
 * one after another, so the later ones of a batch to slow receivers would
 * otherwise go out after the lease stamped at claim time ran out, while
 * another replica sends them too. False (and nothing is sent) when the
 * delivery is no longer ours. */
static bool renew_lease(struct remind_worker *w, struct db_conn *c, const struct store_send *d,
                        int64_t now)
{
    struct mt_err err = {0};
    bool held = false;
    if (store_remind_renew(c, d->id, w->owner, now + lease_span_us(w), &held, &err) < 0) {
        mt_log(MT_LOG_WARN, "reminders: cannot renew the lease of delivery %" PRId64 ": %s", d->id,
               err.msg);
        return false;
    }
    if (!held)
        mt_log(MT_LOG_WARN,
               "reminders: delivery %" PRId64 " not sent here: another replica took it over "
               "(lease expired before its turn)",
               d->id);
    return held;
}

/* Gives a claimed delivery back without counting its attempt. */
static void release(struct remind_worker *w, struct db_conn *c, int64_t id)
{
    struct mt_err err = {0};
    if (store_remind_release(c, id, w->owner, &err) < 0)
        mt_log(MT_LOG_WARN, "reminders: cannot release delivery %" PRId64 ": %s", id, err.msg);
    else
        mt_log(MT_LOG_INFO, "reminders: delivery %" PRId64 " released at shutdown", id);
}

static void process(struct remind_worker *w, struct db_conn *c, int64_t id)
{
    struct mt_arena *a = mt_arena_new(1u << 20);
    struct mt_err err = {0};
    struct store_send d;
    if (store_remind_load(c, a, id, &d, &err) < 0) {
        if (err.code != MT_ENOTFOUND)
            mt_log(MT_LOG_WARN, "reminders: cannot read delivery %" PRId64 ": %s", id, err.msg);
        mt_arena_free(a);
        return;
    }
    int64_t now = mt_now_us();
    int64_t horizon = (int64_t)w->ctx.cfg->reminder_horizon_minutes * MINUTE_US;
    int64_t quiet_end = 0;
    if (d.due_us < now - horizon) {
        finish(w, c, &d, "missed", now, false,
               "not sent: older than REMINDER_HORIZON_MINUTES when it could be sent");
    } else if (snoozed_ahead(&d, now)) {
        /* Snoozed before it went out (from the due list, ahead of its
         * time): it goes out when the snooze ends, as the one reminder,
         * rather than being dropped for a repeat later. */
        finish(w, c, &d, "pending", d.snoozed_until_us, true, "held: the reminder is snoozed");
    } else if (d.has_slot && !slot_open(&d, now)) {
        const char *why =
            mt_arena_printf(a, "not sent: the slot is %s", d.slot_state ? d.slot_state : "gone");
        finish(w, c, &d, "missed", now, false, why);
    } else if (!d.channel_enabled) {
        finish(w, c, &d, "missed", now, false, "not sent: the channel is disabled");
    } else if (d.has_slot && in_quiet(person_zone(&w->ctx, d.person_timezone), d.quiet_start,
                                      d.quiet_end, now, &quiet_end)) {
        finish(w, c, &d, "pending", quiet_end, true, "held for quiet hours");
    } else if (!renew_lease(w, c, &d, now)) {
        /* Another replica took it over (or the lease cannot be renewed):
         * sending it here as well would deliver it twice. */
    } else {
        struct remind_secrets s;
        struct notify_target t;
        int rc = remind_open_secrets(&w->ctx, d.secret_sealed, &s, &err);
        if (rc == 0) {
            rc = remind_target(d.channel_type, d.url, d.email_to, &s, &t, &err);
            if (rc == 0) {
                struct notify_settings ns;
                struct notify_message m = {.sent_at_s = mt_real_now_us() / MT_USEC_PER_SEC};
                remind_settings(&w->ctx, &ns);
                ns.cancel = &w->stop;
                compose(w, a, &d, &m);
                rc = notify_send(&ns, &t, &m, &err);
            }
            remind_secrets_release(&s);
        }
        now = mt_now_us();
        if (rc == 0) {
            finish(w, c, &d, "sent", now, false, NULL);
        } else if (atomic_load(&w->stop)) {
            /* Cancelled by the shutdown: not the receiver's failure, so no
             * attempt is counted and no backoff applies; another replica
             * (or this one after its restart) sends it. */
            release(w, c, d.id);
        } else if (err.code == MT_EINVAL || d.attempts >= MAX_ATTEMPTS) {
            finish(w, c, &d, "failed", now, false, err.msg);
        } else {
            int64_t back = BACKOFF_FIRST_US;
            for (int64_t i = 1; i < d.attempts && back < BACKOFF_MAX_US; i++)
                back *= 2;
            if (back > BACKOFF_MAX_US)
                back = BACKOFF_MAX_US;
            finish(w, c, &d, "pending", now + back, false, err.msg);
        }
    }
    mt_arena_free(a);
}

/* Claims and sends until nothing is due (or a stop is asked for). */
static int send_due(struct remind_worker *w, struct db_conn *c, struct mt_err *err)
{
    while (!atomic_load(&w->stop)) {
        int64_t ids[CLAIM_BATCH];
        size_t n = 0;
        int64_t now = mt_now_us();
        if (store_remind_claim(c, w->owner, now, now + lease_span_us(w), ids, CLAIM_BATCH, &n,
                               err) < 0)
            return -1;
        if (n == 0)
            return 0;
        /* After a stop the rest of the batch is given back, not sent. */
        for (size_t i = 0; i < n; i++) {
            if (atomic_load(&w->stop))
                release(w, c, ids[i]);
            else
                process(w, c, ids[i]);
        }
    }
    return 0;
}

static void sleep_ms(struct remind_worker *w, uint64_t ms)
{
    pthread_mutex_lock(&w->lock);
    struct timespec until = mt_mono_after_ms(ms);
    while (!atomic_load(&w->stop) && pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0) {
    }
    pthread_mutex_unlock(&w->lock);
}

static void *run(void *arg)
{
    struct remind_worker *w = arg;
    uint64_t error_until_ms = 0;
    while (!atomic_load(&w->stop)) {
        struct mt_err err = {0};
        struct db_conn *c = db_pool_get(w->pool, 1000, &err);
        int rc = c ? 0 : -1;
        bool any = false;
        if (rc == 0)
            rc = store_channels_any(c, &any, &err);
        if (rc == 0 && any && mt_mono_ms() >= w->next_plan_ms) {
            rc = plan_round(w, c, mt_now_us(), &err);
            w->next_plan_ms = mt_mono_ms() + PLAN_EVERY_MS;
        }
        if (rc == 0 && any)
            rc = send_due(w, c, &err);
        if (c)
            db_pool_put(w->pool, c);
        if (rc < 0) {
            /* One line per failure streak second, not one per attempt. */
            if (mt_mono_ms() >= error_until_ms)
                mt_log(MT_LOG_WARN, "reminders: %s (retrying)", err.msg);
            error_until_ms = mt_mono_ms() + 30000;
            sleep_ms(w, 1000);
            continue;
        }
        sleep_ms(w, any ? CLAIM_EVERY_MS : PLAN_EVERY_MS);
    }
    return NULL;
}

struct remind_worker *remind_worker_start(const struct remind_ctx *ctx, struct db_pool *pool,
                                          struct mt_err *err)
{
    struct remind_worker *w = mt_xmalloc(sizeof(*w));
    memset(w, 0, sizeof(*w));
    w->ctx = *ctx;
    w->pool = pool;
    w->first_round = true;
    atomic_init(&w->stop, false);
    pthread_mutex_init(&w->lock, NULL);
    mt_cond_init_monotonic(&w->wake);
    char host[40] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    char tag[16] = "";
    unsigned long r = (unsigned long)(mt_real_now_us() ^ ((int64_t)getpid() << 20));
    snprintf(tag, sizeof(tag), "%06lx", r & 0xffffff);
    snprintf(w->owner, sizeof(w->owner), "%.40s:%ld:%s", host, (long)getpid(), tag);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        mt_fail(err, MT_EINTERNAL, "cannot start the reminder worker thread");
        return NULL;
    }
    return w;
}

void remind_worker_request_stop(struct remind_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stop, true);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void remind_worker_free(struct remind_worker *w)
{
    if (!w)
        return;
    remind_worker_request_stop(w);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
