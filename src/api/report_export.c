/* GET /api/v1/reports/doses.csv and doses.json: a person's dose history
 * over a range of local days, streamed from the database to the client in
 * chunks so that memory stays flat however long the history (CSV rows by
 * src/report's CSV writer, JSON by the streaming JSON writer). The
 * operations are heavy: the runner lets them in under the heavy-work
 * limiter (api/heavy.h). Also the rule that the range is not reversed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/jsonw.h"
#include "api/schedules.h"
#include "api/validate.h"
#include "core/log.h"
#include "report/report.h"
#include "store/reports.h"

/* Ceiling of an export where the server cannot stream and the body is
 * collected in memory first; a longer history is then refused with 503 (the
 * limit is the server's) and a hint. A streaming server has no ceiling. */
#define EXPORT_MAX ((size_t)16 << 20)
/* The database statement limit of a streamed export (see export). */
#define EXPORT_STATEMENT_MS (10 * 60 * 1000)
/* Export bytes are handed to the server in chunks of about this size: large
 * enough that the cost per write disappears, small enough that memory
 * stays flat however long the history. */
#define EXPORT_CHUNK ((size_t)32 << 10)
/* Ceiling of one CSV chunk: a flush follows each row past EXPORT_CHUNK, so
 * only a single row of absurd size can reach it. */
#define EXPORT_CHUNK_MAX ((size_t)4 << 20)

enum export_format { EXPORT_CSV, EXPORT_JSON };

/* The export being written: the rows go into a chunk that is handed to the
 * server whenever it passes EXPORT_CHUNK, CSV into a malloc'ed buffer and
 * JSON through the streaming writer (api/jsonw.h), which keeps its place in
 * the document from one chunk to the next. The reply starts (status,
 * headers, the CSV header row or the JSON document's head) with the first
 * row, or after the query when there is none, so that a failure before any
 * row still gets a proper error reply. */
struct export_sink {
    struct http_req *r;
    const struct api_in_export *in;
    enum export_format format;
    const struct store_person *person;
    const char *name; /* the person's display name */
    struct mt_tz zone; /* each dose's local date and time: its offset at the time */
    int tz;            /* the offset now, JavaScript sign: the document's timezone_offset */
    struct mt_buf *csv; /* CSV: the current chunk */
    struct api_jw json; /* JSON: the current chunk */
    bool started;       /* http_stream_begin succeeded */
    /* With adherence=true (issue 16): the slots that doses satisfied, by
     * dose id, and the range's adherence. */
    bool adherence;
    struct dose_slot *slots;
    size_t n_slots, cap_slots;
    struct api_adherence adh;
};

/* The columns after "deleted" came with issue 15 (docs/reports.md): skipped
 * doses are listed with their status, and a dose given despite a dosing
 * rule names the rules it broke and why. */
static const char csv_header[] = "date,local_time,taken_at_utc,medication,dosage,deleted,status,"
                                 "status_reason,override_rule,override_reason,note,recorded_by\r\n";

/* With adherence=true, two more columns (docs/schedules.md). */
static const char csv_header_adherence[] =
    "date,local_time,taken_at_utc,medication,dosage,deleted,status,status_reason,override_rule,"
    "override_reason,note,recorded_by,slot_at_utc,slot_status\r\n";

/* The slot a dose satisfied. */
struct dose_slot {
    int64_t dose_id;
    int64_t slot_us;
    enum mt_slot_status status;
};

static int keep_dose_slot(void *vctx, const struct api_slot *sl, struct mt_err *err)
{
    struct export_sink *s = vctx;
    if (!sl->dose_id)
        return 0;
    if (s->n_slots == s->cap_slots) {
        size_t cap = s->cap_slots ? s->cap_slots * 2 : 64;
        struct dose_slot *grown = mt_arena_calloc(s->r->arena, cap, sizeof(*grown));
        if (!grown)
            return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        if (s->n_slots)
            memcpy(grown, s->slots, s->n_slots * sizeof(*grown));
        s->slots = grown;
        s->cap_slots = cap;
    }
    s->slots[s->n_slots++] = (struct dose_slot){sl->dose_id, sl->at_us, sl->status};
    return 0;
}

static int cmp_dose_slot(const void *a, const void *b)
{
    const struct dose_slot *x = a, *y = b;
    return x->dose_id < y->dose_id ? -1 : x->dose_id > y->dose_id;
}

/* The slot dose id satisfied, or NULL. */
static const struct dose_slot *slot_of(const struct export_sink *s, int64_t id)
{
    struct dose_slot key = {.dose_id = id};
    return s->n_slots ? bsearch(&key, s->slots, s->n_slots, sizeof(key), cmp_dose_slot) : NULL;
}

/* Appends one optional text field (NULL: empty). */
static void csv_opt(struct mt_buf *b, const char *s)
{
    report_csv_field(b, false, s, s ? strlen(s) : 0);
}

/* The JSON document's head, up to the opening of its "doses" array. */
static void json_head(struct export_sink *s)
{
    const struct api_in_export *in = s->in;
    char from[16], to[16], off[16];
    struct api_jw *w = &s->json;
    api_jw_obj(w);
    api_jw_int_at(w, "person_id", s->person->id);
    api_jw_str_at(w, "person_name", s->name);
    api_jw_str_at(w, "from", mt_format_date(in->from.value, from, sizeof(from)));
    api_jw_str_at(w, "to", mt_format_date(in->to.value, to, sizeof(to)));
    api_jw_int_at(w, "timezone_offset", s->tz);
    api_jw_str_at(w, "utc_offset", report_utc_offset(s->tz, off, sizeof(off)));
    api_jw_key(w, "doses");
    api_jw_arr(w);
}

/* Sends the reply's head: status, headers, and the document's opening. */
static int export_start(struct export_sink *s, struct mt_err *err)
{
    const struct api_in_export *in = s->in;
    bool csv = s->format == EXPORT_CSV;
    char from[16], to[16];
    const char *disposition = mt_arena_printf(
        s->r->arena, "attachment; filename=\"meditrack-doses-person%lld-%s-to-%s.%s\"",
        (long long)in->person_id.value, mt_format_date(in->from.value, from, sizeof(from)),
        mt_format_date(in->to.value, to, sizeof(to)), csv ? "csv" : "json");
    if (!disposition)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    if (csv)
        mt_buf_adds(s->csv, s->adherence ? csv_header_adherence : csv_header);
    else
        json_head(s);
    http_add_header(s->r, "Content-Disposition", disposition);
    http_add_header(s->r, "Cache-Control", "no-store");
    if (http_stream_begin(s->r, 200,
                          csv ? "text/csv; charset=utf-8; header=present" : "application/json",
                          EXPORT_MAX, err) < 0)
        return -1;
    s->started = true;
    return 0;
}

/* Hands the chunk to the server. */
static int export_flush(struct export_sink *s, struct mt_err *err)
{
    bool csv = s->format == EXPORT_CSV;
    if (csv ? s->csv->failed : s->json.failed)
        return mt_fail(err, MT_ELIMIT, "export: a dose row is larger than the chunk ceiling");
    const char *data = csv ? s->csv->data : s->json.data;
    size_t len = csv ? s->csv->len : s->json.len;
    if (len == 0)
        return 0;
    if (http_stream_write(s->r, data, len, err) < 0) {
        if (err->code == MT_ELIMIT)
            mt_fail(err, MT_ELIMIT,
                    "The export is larger than %zu MiB: choose a shorter date range",
                    EXPORT_MAX >> 20);
        return -1;
    }
    if (csv)
        mt_buf_reset(s->csv);
    else
        api_jw_reset(&s->json);
    return 0;
}

static int export_row(const struct store_report_dose *d, void *vctx, struct mt_err *err)
{
    struct export_sink *s = vctx;
    if (!s->started && export_start(s, err) < 0)
        return -1;
    int64_t local = d->taken_us + (int64_t)mt_tz_offset_at(s->zone, d->taken_us) * MT_USEC_PER_SEC;
    struct mt_date day = mt_date_from_days(mt_floor_div(local, MT_USEC_PER_DAY));
    int64_t sec = mt_floor_mod(local, MT_USEC_PER_DAY) / MT_USEC_PER_SEC;
    char date[16], time[16], iso[MT_TIME_BUF];
    mt_format_date(day, date, sizeof(date));
    snprintf(time, sizeof(time), "%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60),
             (int)(sec % 60));
    mt_format_iso(d->taken_us, iso, sizeof(iso));
    const struct dose_slot *slot = s->adherence ? slot_of(s, d->id) : NULL;
    char slot_iso[MT_TIME_BUF];
    if (slot)
        mt_format_iso(slot->slot_us, slot_iso, sizeof(slot_iso));

    size_t chunk;
    if (s->format == EXPORT_CSV) {
        report_csv_field(s->csv, true, date, strlen(date));
        report_csv_field(s->csv, false, time, strlen(time));
        report_csv_field(s->csv, false, iso, strlen(iso));
        report_csv_field(s->csv, false, d->medication_name, strlen(d->medication_name));
        report_csv_field(s->csv, false, d->dosage, d->dosage ? strlen(d->dosage) : 0);
        report_csv_field(s->csv, false, d->deleted ? "true" : "false", d->deleted ? 4 : 5);
        csv_opt(s->csv, store_status_name(d->status));
        csv_opt(s->csv, d->status_reason);
        csv_opt(s->csv, d->override_rule);
        csv_opt(s->csv, d->override_reason);
        csv_opt(s->csv, d->note);
        csv_opt(s->csv, d->recorded_by);
        if (s->adherence) {
            csv_opt(s->csv, slot ? slot_iso : NULL);
            csv_opt(s->csv, slot ? mt_slot_status_name(slot->status) : NULL);
        }
        report_csv_end(s->csv);
        chunk = s->csv->failed ? EXPORT_CHUNK : s->csv->len;
    } else {
        struct api_jw *w = &s->json;
        api_jw_obj(w);
        api_jw_int_at(w, "id", d->id);
        api_jw_str_at(w, "date", date);
        api_jw_str_at(w, "local_time", time);
        api_jw_str_at(w, "taken_at", iso);
        api_jw_key(w, "medication_id");
        if (d->deleted)
            api_jw_null(w);
        else
            api_jw_int(w, d->medication_id);
        api_jw_str_at(w, "medication_name", d->medication_name);
        api_jw_str_at(w, "dosage", d->dosage);
        api_jw_bool_at(w, "deleted", d->deleted);
        api_jw_str_at(w, "status", store_status_name(d->status));
        api_jw_str_at(w, "status_reason", d->status_reason);
        api_jw_str_at(w, "override_rule", d->override_rule);
        api_jw_str_at(w, "override_reason", d->override_reason);
        api_jw_str_at(w, "note", d->note);
        api_jw_str_at(w, "recorded_by", d->recorded_by);
        if (s->adherence) {
            api_jw_str_at(w, "slot_at", slot ? slot_iso : NULL);
            api_jw_str_at(w, "slot_status", slot ? mt_slot_status_name(slot->status) : NULL);
        }
        api_jw_obj_end(w);
        chunk = w->failed ? EXPORT_CHUNK : w->len;
    }
    if (chunk >= EXPORT_CHUNK)
        return export_flush(s, err);
    return 0;
}

static int export(struct api_call *call, enum export_format format, struct mt_err *err)
{
    const struct api_in_export *in = call->in;
    struct http_req *r = call->r;
    struct store_person person;
    if (api_who_person(call->who, in->person_id.value, err) < 0 ||
        store_person_get(call->db, r->arena, in->person_id.value, &person, err) < 0)
        return -1;
    struct export_sink sink = {.r = r, .in = in, .format = format, .person = &person};
    sink.name = store_person_name(r->arena, &person);
    if (!sink.name)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    if (format == EXPORT_CSV) {
        sink.csv = http_request_buf(r, EXPORT_CHUNK_MAX, err);
        if (!sink.csv)
            return -1;
    } else {
        api_jw_init(&sink.json, r->arena, EXPORT_CHUNK);
    }
    /* The person's zone unless the request names an offset: the days are
     * its real local days, and each dose's local time is at the offset of
     * its own instant, so a range across a change of daylight saving time
     * is right on both sides of it. timezone_offset names the offset now. */
    if (api_person_tz(call, in->person_id.value, &in->tz, &sink.zone, err) < 0)
        return -1;
    sink.tz = api_zone_minutes_now(sink.zone);
    /* The slots are matched before the rows stream (the statement then
     * holds the connection), over the same local days. */
    sink.adherence = in->adherence.set && in->adherence.value;
    if (sink.adherence) {
        struct store_scheduled *meds = NULL;
        size_t n = 0;
        struct mt_tz person_zone;
        if (api_person_schedule(call, in->person_id.value, &person_zone, &meds, &n, err) < 0 ||
            api_adherence_of(call, sink.zone, meds, n, in->from.value, in->to.value, keep_dose_slot,
                             &sink, &sink.adh, err) < 0)
            return -1;
        if (sink.n_slots)
            qsort(sink.slots, sink.n_slots, sizeof(*sink.slots), cmp_dose_slot);
    }
    struct store_window w = api_day_window(in->from.value, in->to.value, sink.zone);

    /* The statement stays open while the rows stream to the client, so
     * DB_STATEMENT_TIMEOUT (meant for ordinary requests) would cut a long
     * export to a slow reader; it gets a generous limit of its own, which
     * the pool resets when the connection returns. Lock waits keep theirs. */
    const struct mt_config *cfg = r->app ? r->app->cfg : NULL;
    int lock_ms =
        cfg ? (cfg->db_lock_timeout ? cfg->db_lock_timeout : cfg->db_statement_timeout) : 0;
    if (db_set_timeouts(call->db, EXPORT_STATEMENT_MS, lock_ms, err) < 0)
        return -1;
    size_t unreadable = 0;
    int rc = store_report_doses(call->db, r->arena, api_who_sees(call->who), true,
                                in->person_id.value, STORE_VIEW_HISTORY, &w, export_row, &sink,
                                &unreadable, err);
    if (unreadable)
        mt_log(MT_LOG_WARN, "report: skipped doses with unreadable taken_at count=%zu", unreadable);
    if (rc == 0 && !sink.started)
        rc = export_start(&sink, err);
    if (rc == 0 && format == EXPORT_JSON) {
        api_jw_arr_end(&sink.json);
        if (sink.adherence) {
            char zone[32];
            api_zone_name(sink.zone, zone, sizeof(zone));
            api_jw_key(&sink.json, "adherence");
            api_jw_obj(&sink.json);
            api_jw_str_at(&sink.json, "timezone", zone);
            api_jw_adherence(&sink.json, &sink.adh);
            api_jw_obj_end(&sink.json);
        }
        api_jw_obj_end(&sink.json);
    }
    if (rc == 0)
        rc = export_flush(&sink, err);
    if (rc == 0)
        rc = http_stream_end(r, err);
    /* A failure after the reply started can only cut it short: the runner
     * does so (and logs why). */
    return rc;
}

int api_export_csv(struct api_call *call, struct mt_err *err)
{
    return export(call, EXPORT_CSV, err);
}

int api_export_json(struct api_call *call, struct mt_err *err)
{
    return export(call, EXPORT_JSON, err);
}

void api_export_range_rule(const struct api_request *q, void *vin, struct api_vctx *v)
{
    const struct api_in_export *in = vin;
    if (!in->from.set || !in->to.set)
        return;
    /* Slots are matched in memory: with adherence, a year at most. */
    if (in->adherence.set && in->adherence.value &&
        mt_date_to_days(in->to.value) - mt_date_to_days(in->from.value) >= 366) {
        const char *flag = api_request_query(q, "adherence");
        api_vctx_add(v, "value_error", json_pack("[s,s]", "query", "adherence"),
                     "Value error, adherence covers at most 366 days from \"from\" to \"to\"",
                     api_json_text(flag, strlen(flag)), json_pack("{s:{}}", "error"));
        return;
    }
    if (mt_date_cmp(in->from.value, in->to.value) <= 0)
        return;
    char msg[96], from[16];
    int n = snprintf(msg, sizeof(msg), "Value error, \"to\" must not be before \"from\" (%s)",
                     mt_format_date(in->from.value, from, sizeof(from)));
    const char *to = api_request_query(q, "to");
    api_vctx_add(
        v, "value_error", json_pack("[s,s]", "query", "to"),
        n > 0 && (size_t)n < sizeof(msg) ? msg : "Value error, \"to\" must not be before \"from\"",
        api_json_text(to, strlen(to)), json_pack("{s:{}}", "error"));
}
