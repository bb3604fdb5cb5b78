/* The report routes: GET /api/v1/reports/medications/pdf/{date}, the
 * printable tracking form (the reference's parameters and answers, plus
 * `paper` and `prefill`), and GET /api/v1/reports/doses.csv | doses.json,
 * a person's dose history over a range of local days. Parameters are
 * checked first (422 in FastAPI's shape); then the request waits for its
 * turn under the heavy-work limiter (api/heavy.c: 503 with Retry-After when
 * none comes); then the person and medications are looked up (404) and
 * store rows are turned into a src/report document. The PDF is built whole
 * in a malloc'ed buffer with a fixed ceiling that the request arena frees;
 * the exports stream from the database to the client in chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/heavy.h"
#include "api/resources.h"
#include "core/log.h"
#include "report/report.h"
#include "store/reports.h"

/* Ceiling of an export where the server cannot stream and the body is
 * collected in memory first; a longer history is then refused with 503 (the
 * limit is the server's) and a hint. A streaming server has no ceiling. */
#define EXPORT_MAX ((size_t)16 << 20)
/* The database statement limit of a streamed export (see export_doses). */
#define EXPORT_STATEMENT_MS (10 * 60 * 1000)
/* Export bytes are handed to the server in chunks of about this size: large
 * enough that the cost per write disappears, small enough that memory
 * stays flat however long the history. */
#define EXPORT_CHUNK ((size_t)32 << 10)
/* Ceiling of one chunk: a flush follows each row past EXPORT_CHUNK, so only
 * a single row of absurd size can reach it. */
#define EXPORT_CHUNK_MAX ((size_t)4 << 20)

/* ---- the tracking form ------------------------------------------------------------------- */

/* The prefilled doses being gathered from the store's rows. */
struct dose_sink {
    struct mt_arena *arena;
    const struct store_report *data;
    struct mt_date first;
    size_t n_days;
    int tz;
    struct report_dose *items;
    size_t n, cap;
};

/* The index of medication id in data->meds (id order), or -1. */
static long med_index(const struct store_report *data, int64_t id)
{
    size_t lo = 0, hi = data->n_meds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (data->meds[mid].id == id)
            return (long)mid;
        if (data->meds[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int collect_dose(const struct store_report_dose *d, void *vctx, struct mt_err *err)
{
    struct dose_sink *s = vctx;
    struct report_dose rd = {0};
    int64_t local = d->taken_us - (int64_t)s->tz * 60 * MT_USEC_PER_SEC;
    int64_t day = mt_floor_div(local, MT_USEC_PER_DAY) - mt_date_to_days(s->first);
    if (day < 0 || (uint64_t)day >= s->n_days)
        return 0;
    rd.day = (size_t)day;
    rd.minute = (int)(mt_floor_mod(local, MT_USEC_PER_DAY) / (60 * MT_USEC_PER_SEC));
    rd.deleted = d->deleted;
    if (d->deleted) {
        rd.name = mt_arena_strdup(s->arena, d->medication_name);
        if (!rd.name)
            return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    } else {
        /* A medication added after the list was read is not on the form. */
        long i = med_index(s->data, d->medication_id);
        if (i < 0)
            return 0;
        rd.med = (size_t)i;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64, bytes;
        if (!mt_size_mul(cap, sizeof(*s->items), &bytes))
            return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        struct report_dose *grown = mt_arena_alloc(s->arena, bytes);
        if (!grown)
            return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        if (s->n)
            memcpy(grown, s->items, s->n * sizeof(*s->items));
        s->items = grown;
        s->cap = cap;
    }
    s->items[s->n++] = rd;
    return 0;
}

static void release_buf(void *ctx)
{
    mt_buf_release(ctx);
}

/* A malloc'ed output buffer with ceiling max that lives until the request
 * completes. NULL (answered) when the arena refuses the bookkeeping. */
static struct mt_buf *request_buf(struct http_req *r, size_t max)
{
    struct mt_buf *b = mt_arena_alloc(r->arena, sizeof(*b));
    if (!b) {
        http_reply_detail(r, 503, "Request exceeds the server's memory limit");
        return NULL;
    }
    mt_buf_init(b, max);
    if (mt_arena_on_free(r->arena, release_buf, b) < 0) {
        mt_buf_release(b);
        http_reply_detail(r, 503, "Request exceeds the server's memory limit");
        return NULL;
    }
    return b;
}

/* The medication rows of the form; on a household-wide form each row names
 * its person. */
static int form_meds(struct http_req *r, struct db_conn *c, const struct store_report *data,
                     struct report_med **out, struct mt_err *err)
{
    struct store_report_owner *owners = NULL;
    size_t n_owners = 0;
    if (!data->has_person && store_report_owners(c, r->arena, &owners, &n_owners, err) < 0)
        return -1;
    struct report_med *meds = mt_arena_calloc(r->arena, data->n_meds, sizeof(*meds));
    if (!meds)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    for (size_t i = 0; i < data->n_meds; i++) {
        const struct store_medication *m = &data->meds[i];
        meds[i] = (struct report_med){
            .name = m->name ? m->name : "",
            .dosage = m->dosage ? m->dosage : "",
            .frequency = m->frequency,
            .instructions = m->instructions,
            .max_doses = (int)(m->max_doses_per_day < 0                  ? 0
                               : m->max_doses_per_day > REPORT_MAX_SLOTS ? REPORT_MAX_SLOTS
                                                                         : m->max_doses_per_day),
        };
        for (size_t k = 0; n_owners > 1 && k < n_owners; k++)
            if (owners[k].id == m->person_id)
                meds[i].owner = owners[k].name;
    }
    *out = meds;
    return 0;
}

static int build_form(struct http_req *r, struct db_conn *c, const struct api_in_pdf *in,
                      const struct api_in_pdf_opts *o, struct report_form *f, struct mt_err *err)
{
    struct store_report data;
    if (store_report_data(c, r->arena, in->has_person, in->person_id, &data, err) < 0)
        return -1;
    memset(f, 0, sizeof(*f));
    f->tz_offset = api_tz_minutes(r, &in->tz);
    f->first_day = in->date;
    f->n_days = (size_t)in->days;
    f->paper = o->a4 ? REPORT_A4 : REPORT_LETTER;
    f->prefill = o->prefill;
    f->generated_us = mt_now_us();
    f->title = data.has_person ? mt_arena_printf(r->arena, "%s Medication Log",
                                                 store_person_name(r->arena, &data.person))
                               : "Medication Log";
    if (!f->title)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    struct report_med *meds = NULL;
    if (form_meds(r, c, &data, &meds, err) < 0)
        return -1;
    f->meds = meds;
    f->n_meds = data.n_meds;
    if (!o->prefill)
        return 0;

    struct mt_date last = mt_date_from_days(mt_date_to_days(in->date) + in->days - 1);
    struct store_window w = api_day_window(in->date, last, f->tz_offset);
    struct dose_sink sink = {.arena = r->arena,
                             .data = &data,
                             .first = in->date,
                             .n_days = f->n_days,
                             .tz = f->tz_offset};
    size_t unreadable = 0;
    if (store_report_doses(c, in->has_person, in->person_id, &w, collect_dose, &sink, &unreadable,
                           err) < 0)
        return -1;
    if (unreadable)
        mt_log(MT_LOG_WARN, "report: skipped doses with unreadable taken_at count=%zu", unreadable);
    f->doses = sink.items;
    f->n_doses = sink.n;
    return 0;
}

/* The validated parameters of a form request. */
struct pdf_job {
    struct api_in_pdf in;
    struct api_in_pdf_opts o;
};

/* Runs under the heavy-work limiter: the form is drawn in memory (it needs
 * all of its data before the first page is complete). */
static void pdf_form(struct http_req *r, void *ctx)
{
    const struct pdf_job *job = ctx;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct report_form f;
    struct mt_err err;
    mt_err_clear(&err);
    if (build_form(r, c, &job->in, &job->o, &f, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    struct mt_buf *pdf = request_buf(r, REPORT_PDF_MAX);
    if (!pdf)
        return;
    if (report_pdf_render(&f, pdf, &err) < 0) {
        if (err.code == MT_EUNAVAIL) {
            /* The PDF module (meditrack-pdf.so) is missing or unusable; the
             * log says which and why, the rest of the API is unaffected. */
            mt_log(MT_LOG_ERROR, "report: PDF forms are unavailable: %s", err.msg);
            http_reply_detail(r, 503, "PDF reports are not available on this server");
            return;
        }
        http_reply_err(r, &err);
        return;
    }
    char date[16];
    const char *disposition =
        mt_arena_printf(r->arena, "attachment; filename=medication_tracking_%s.pdf",
                        mt_format_date(job->in.date, date, sizeof(date)));
    if (!disposition) {
        http_reply_detail(r, 503, "Request exceeds the server's memory limit");
        return;
    }
    http_add_header(r, "Content-Disposition", disposition);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_raw(r, 200, "application/pdf", pdf->data, pdf->len);
}

void api_report_pdf(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct pdf_job job;
    api_request_init(&q, r);
    api_vctx_init(&v);
    /* The reference's parameters first, then ours, as FastAPI lists them;
     * api_in_pdf_opts fails as well when api_in_pdf did. */
    api_in_pdf(&q, &job.in, &v);
    if (api_invalid(r, api_in_pdf_opts(&q, &job.o, &v), &v))
        return;
    api_heavy_run(r, pdf_form, &job);
}

/* ---- dose-history export ----------------------------------------------------------------- */

enum export_format { EXPORT_CSV, EXPORT_JSON };

/* The validated parameters of an export request. */
struct export_job {
    enum export_format format;
    struct api_in_export in;
};

/* The export being written: the rows go into a chunk that is handed to the
 * server whenever it passes EXPORT_CHUNK, CSV into a malloc'ed buffer and
 * JSON through the streaming writer (api/jsonw.h), which keeps its place in
 * the document from one chunk to the next. The reply starts (status,
 * headers, the CSV header row or the JSON document's head) with the first
 * row, or after the query when there is none, so that a failure before any
 * row still gets a proper error reply. */
struct export_sink {
    struct http_req *r;
    const struct export_job *job;
    const struct store_person *person;
    const char *name; /* the person's display name */
    int tz;
    struct mt_buf *csv; /* CSV: the current chunk */
    struct api_jw json; /* JSON: the current chunk */
    bool started;       /* http_stream_begin succeeded */
};

static const char csv_header[] = "date,local_time,taken_at_utc,medication,dosage,deleted\r\n";

/* The JSON document's head, up to the opening of its "doses" array. */
static void json_head(struct export_sink *s)
{
    const struct api_in_export *in = &s->job->in;
    char from[16], to[16], off[16];
    struct api_jw *w = &s->json;
    api_jw_obj(w);
    api_jw_int_at(w, "person_id", s->person->id);
    api_jw_str_at(w, "person_name", s->name);
    api_jw_str_at(w, "from", mt_format_date(in->from, from, sizeof(from)));
    api_jw_str_at(w, "to", mt_format_date(in->to, to, sizeof(to)));
    api_jw_int_at(w, "timezone_offset", s->tz);
    api_jw_str_at(w, "utc_offset", report_utc_offset(s->tz, off, sizeof(off)));
    api_jw_key(w, "doses");
    api_jw_arr(w);
}

/* Sends the reply's head: status, headers, and the document's opening. */
static int export_start(struct export_sink *s, struct mt_err *err)
{
    const struct api_in_export *in = &s->job->in;
    bool csv = s->job->format == EXPORT_CSV;
    char from[16], to[16];
    const char *disposition = mt_arena_printf(
        s->r->arena, "attachment; filename=\"meditrack-doses-person%lld-%s-to-%s.%s\"",
        (long long)in->person_id, mt_format_date(in->from, from, sizeof(from)),
        mt_format_date(in->to, to, sizeof(to)), csv ? "csv" : "json");
    if (!disposition)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    if (csv)
        mt_buf_adds(s->csv, csv_header);
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
    bool csv = s->job->format == EXPORT_CSV;
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
    int64_t local = d->taken_us - (int64_t)s->tz * 60 * MT_USEC_PER_SEC;
    struct mt_date day = mt_date_from_days(mt_floor_div(local, MT_USEC_PER_DAY));
    int64_t sec = mt_floor_mod(local, MT_USEC_PER_DAY) / MT_USEC_PER_SEC;
    char date[16], time[16], iso[MT_TIME_BUF];
    mt_format_date(day, date, sizeof(date));
    snprintf(time, sizeof(time), "%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60),
             (int)(sec % 60));
    mt_format_iso(d->taken_us, iso, sizeof(iso));

    size_t chunk;
    if (s->job->format == EXPORT_CSV) {
        report_csv_field(s->csv, true, date, strlen(date));
        report_csv_field(s->csv, false, time, strlen(time));
        report_csv_field(s->csv, false, iso, strlen(iso));
        report_csv_field(s->csv, false, d->medication_name, strlen(d->medication_name));
        report_csv_field(s->csv, false, d->dosage, d->dosage ? strlen(d->dosage) : 0);
        report_csv_field(s->csv, false, d->deleted ? "true" : "false", d->deleted ? 4 : 5);
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
        api_jw_obj_end(w);
        chunk = w->failed ? EXPORT_CHUNK : w->len;
    }
    if (chunk >= EXPORT_CHUNK)
        return export_flush(s, err);
    return 0;
}

/* Runs under the heavy-work limiter. */
static void export_doses(struct http_req *r, void *ctx)
{
    const struct export_job *job = ctx;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct mt_err err;
    mt_err_clear(&err);
    struct store_person person;
    if (store_person_get(c, r->arena, job->in.person_id, &person, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    struct export_sink sink = {.r = r, .job = job, .person = &person};
    sink.name = store_person_name(r->arena, &person);
    if (job->format == EXPORT_CSV)
        sink.csv = request_buf(r, EXPORT_CHUNK_MAX);
    else
        api_jw_init(&sink.json, r->arena, EXPORT_CHUNK);
    if ((job->format == EXPORT_CSV && !sink.csv) || !sink.name) {
        if (!sink.name)
            http_reply_detail(r, 503, "Request exceeds the server's memory limit");
        return;
    }
    sink.tz = api_tz_minutes(r, &job->in.tz);
    struct store_window w = api_day_window(job->in.from, job->in.to, sink.tz);

    /* The statement stays open while the rows stream to the client, so
     * DB_STATEMENT_TIMEOUT (meant for ordinary requests) would cut a long
     * export to a slow reader; it gets a generous limit of its own, which
     * the pool resets when the connection returns. Lock waits keep theirs. */
    const struct mt_config *cfg = r->app ? r->app->cfg : NULL;
    int lock_ms =
        cfg ? (cfg->db_lock_timeout ? cfg->db_lock_timeout : cfg->db_statement_timeout) : 0;
    if (db_set_timeouts(c, EXPORT_STATEMENT_MS, lock_ms, &err) < 0) {
        http_reply_err(r, &err);
        return;
    }
    size_t unreadable = 0;
    int rc =
        store_report_doses(c, true, job->in.person_id, &w, export_row, &sink, &unreadable, &err);
    if (unreadable)
        mt_log(MT_LOG_WARN, "report: skipped doses with unreadable taken_at count=%zu", unreadable);
    if (rc == 0 && !sink.started)
        rc = export_start(&sink, &err);
    if (rc == 0 && job->format == EXPORT_JSON) {
        api_jw_arr_end(&sink.json);
        api_jw_obj_end(&sink.json);
    }
    if (rc == 0)
        rc = export_flush(&sink, &err);
    if (rc == 0)
        rc = http_stream_end(r, &err);
    if (rc == 0)
        return;
    /* Before the reply started the client gets an ordinary error reply;
     * after, the response can only be cut short (and the log says why). */
    if (!sink.started)
        http_reply_err(r, &err);
    else
        http_stream_abort(r, &err);
}

static void export_request(struct http_req *r, enum export_format format)
{
    struct api_request q;
    struct api_vctx v;
    struct export_job job = {.format = format};
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_export(&q, &job.in, &v), &v))
        return;
    api_heavy_run(r, export_doses, &job);
}

void api_report_doses_csv(struct http_req *r)
{
    export_request(r, EXPORT_CSV);
}

void api_report_doses_json(struct http_req *r)
{
    export_request(r, EXPORT_JSON);
}
