/* The report routes: GET /api/v1/reports/medications/pdf/{date}, the
 * printable tracking form (the reference's parameters and answers, plus
 * `paper` and `prefill`), and GET /api/v1/reports/doses.csv | doses.json,
 * a person's dose history over a range of local days. Parameters are
 * checked first (422 in FastAPI's shape), then the person and medications
 * (404), then store rows are turned into a src/report document. The
 * document is built in a malloc'ed buffer with a fixed ceiling that the
 * request arena frees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/resources.h"
#include "core/log.h"
#include "report/report.h"
#include "store/reports.h"

/* Ceiling of an export; a longer history is refused with 413 and a hint. */
#define EXPORT_MAX ((size_t)16 << 20)

/* ---- parameters beyond the reference's (FastAPI-shaped 422s) --------------------------- */

/* Appends an error about query parameter name, keys in FastAPI's order.
 * input NULL: JSON null. Steals ctx (may be NULL). */
static void add_error(struct api_vctx *v, const char *type, const char *name, const char *msg,
                      const char *input, json_t *ctx)
{
    if (!v->errors)
        v->errors = json_array();
    json_t *e = json_object();
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "loc", json_pack("[s,s]", "query", name));
    json_object_set_new(e, "msg", json_string(msg));
    json_object_set_new(e, "input", input ? api_str_json(input) : json_null());
    if (ctx)
        json_object_set_new(e, "ctx", ctx);
    json_array_append_new(v->errors, e);
    v->status = 422;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* pydantic's lax text -> int: white space around it, a sign, digits with
 * single underscores between them, and an optional "." followed by zeros.
 * *big is set for a value beyond 64 bits (its sign in *out: -1 or 1). */
static bool text_int(const char *s, int64_t *out, bool *big)
{
    size_t len = strlen(s);
    while (len && is_space(s[0])) {
        s++;
        len--;
    }
    while (len && is_space(s[len - 1]))
        len--;
    const char *dot = memchr(s, '.', len);
    if (dot) {
        for (const char *p = dot + 1; p < s + len; p++)
            if (*p != '0')
                return false;
        len = (size_t)(dot - s);
    }
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i >= len || s[i] < '0' || s[i] > '9' || s[len - 1] == '_')
        return false;
    uint64_t mag = 0;
    *big = false;
    for (; i < len; i++) {
        if (s[i] == '_') {
            if (s[i - 1] == '_')
                return false;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (UINT64_MAX - d) / 10)
            *big = true;
        else
            mag = mag * 10 + d;
    }
    if (mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        *big = true;
    if (*big)
        *out = neg ? -1 : 1;
    else
        *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

static void bound_error(struct api_vctx *v, const char *name, const char *input, const char *op,
                        int64_t bound)
{
    static const struct {
        const char *op, *type, *words;
    } kinds[] = {{"ge", "greater_than_equal", "greater than or equal to"},
                 {"gt", "greater_than", "greater than"},
                 {"le", "less_than_equal", "less than or equal to"},
                 {"lt", "less_than", "less than"}};
    size_t k = 0;
    while (k + 1 < MT_ARRAY_LEN(kinds) && strcmp(kinds[k].op, op) != 0)
        k++;
    char msg[96];
    snprintf(msg, sizeof(msg), "Input should be %s %lld", kinds[k].words, (long long)bound);
    json_t *ctx = json_object();
    json_object_set_new(ctx, op, json_integer(bound));
    add_error(v, kinds[k].type, name, msg, input, ctx);
}

/* An integer query parameter within [lo, hi] (lo_op/hi_op say whether the
 * bound is inclusive, as pydantic reports it). Returns true when *out is
 * valid; a missing value is an error only when required. */
static bool param_int(struct api_vctx *v, struct http_req *r, const char *name, bool required,
                      const char *lo_op, int64_t lo, const char *hi_op, int64_t hi, int64_t *out,
                      bool *present)
{
    const char *s = http_query(r, name);
    *present = s != NULL;
    if (!s) {
        if (required)
            add_error(v, "missing", name, "Field required", NULL, NULL);
        return !required;
    }
    bool big;
    if (!text_int(s, out, &big)) {
        add_error(v, "int_parsing", name,
                  "Input should be a valid integer, unable to parse string as an integer", s, NULL);
        return false;
    }
    bool lo_bad = big ? *out < 0 : (strcmp(lo_op, "ge") == 0 ? *out < lo : *out <= lo);
    bool hi_bad = big ? *out > 0 : (hi_op && (strcmp(hi_op, "le") == 0 ? *out > hi : *out >= hi));
    if (hi_bad) {
        bound_error(v, name, s, hi_op ? hi_op : "le", hi_op ? hi : INT64_MAX);
        return false;
    }
    if (lo_bad) {
        bound_error(v, name, s, lo_op, lo);
        return false;
    }
    return true;
}

/* A date query parameter, pydantic's lax way (as the API's path dates). */
static bool param_date(struct api_vctx *v, struct http_req *r, const char *name,
                       struct mt_date *out)
{
    const char *s = http_query(r, name);
    if (!s) {
        add_error(v, "missing", name, "Field required", NULL, NULL);
        return false;
    }
    const char *reason = NULL;
    switch (mt_pydate_from_str(s, strlen(s), out, &reason)) {
    case MT_PYDATE_OK:
        return true;
    case MT_PYDATE_INEXACT:
        add_error(v, "date_from_datetime_inexact", name,
                  "Datetimes provided to dates should have zero time - e.g. be exact dates", s,
                  NULL);
        return false;
    case MT_PYDATE_PARSING:
        break;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "Input should be a valid date or datetime, %s", reason);
    add_error(v, "date_from_datetime_parsing", name, msg, s, json_pack("{s:s}", "error", reason));
    return false;
}

/* A boolean query parameter: the words pydantic accepts, in any case. */
static bool param_bool(struct api_vctx *v, struct http_req *r, const char *name, bool *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    const char *s = http_query(r, name);
    *out = false;
    if (!s)
        return true;
    for (size_t i = 0; i < MT_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0)
            return true;
    }
    add_error(v, "bool_parsing", name, "Input should be a valid boolean, unable to interpret input",
              s, NULL);
    return false;
}

static bool param_paper(struct api_vctx *v, struct http_req *r, enum report_paper *out)
{
    const char *s = http_query(r, "paper");
    *out = REPORT_LETTER;
    if (!s || strcmp(s, "letter") == 0)
        return true;
    if (strcmp(s, "a4") == 0) {
        *out = REPORT_A4;
        return true;
    }
    add_error(v, "literal_error", "paper", "Input should be 'letter' or 'a4'", s,
              json_pack("{s:s}", "expected", "'letter' or 'a4'"));
    return false;
}

/* ---- the tracking form ------------------------------------------------------------------- */

struct pdf_opts {
    enum report_paper paper;
    bool prefill;
};

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
        http_reply_detail(r, 413, "Request exceeds the server's memory limit");
        return NULL;
    }
    mt_buf_init(b, max);
    if (mt_arena_on_free(r->arena, release_buf, b) < 0) {
        mt_buf_release(b);
        http_reply_detail(r, 413, "Request exceeds the server's memory limit");
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
                      const struct pdf_opts *o, struct report_form *f, struct mt_err *err)
{
    struct store_report data;
    if (store_report_data(c, r->arena, in->has_person, in->person_id, &data, err) < 0)
        return -1;
    memset(f, 0, sizeof(*f));
    f->tz_offset = api_tz_minutes(r, &in->tz);
    f->first_day = in->date;
    f->n_days = (size_t)in->days;
    f->paper = o->paper;
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
    struct store_window w;
    int64_t unused;
    mt_local_day(in->date, f->tz_offset, &w.start_us, &unused);
    mt_local_day(last, f->tz_offset, &unused, &w.end_us);
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

void api_report_pdf(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_pdf in;
    struct pdf_opts o;
    api_request_init(&q, r);
    api_vctx_init(&v);
    int rc = api_in_pdf(&q, &in, &v);
    /* The reference's parameters first, then ours, as FastAPI lists them. */
    bool ok = param_paper(&v, r, &o.paper);
    ok = param_bool(&v, r, "prefill", &o.prefill) && ok;
    if (api_invalid(r, rc == 0 && ok && v.status == 0 ? 0 : -1, &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct report_form f;
    struct mt_err err;
    mt_err_clear(&err);
    if (build_form(r, c, &in, &o, &f, &err) < 0) {
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
                        mt_format_date(in.date, date, sizeof(date)));
    if (!disposition) {
        http_reply_detail(r, 413, "Request exceeds the server's memory limit");
        return;
    }
    http_add_header(r, "Content-Disposition", disposition);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_raw(r, 200, "application/pdf", pdf->data, pdf->len);
}

/* ---- dose-history export ----------------------------------------------------------------- */

enum export_format { EXPORT_CSV, EXPORT_JSON };

struct export_in {
    int64_t person_id;
    struct mt_date from, to;
    struct api_tz tz;
};

static int export_params(struct http_req *r, struct export_in *in, struct api_vctx *v)
{
    bool present;
    memset(in, 0, sizeof(*in));
    param_int(v, r, "person_id", true, "ge", 1, NULL, 0, &in->person_id, &present);
    bool dates = param_date(v, r, "from", &in->from);
    dates = param_date(v, r, "to", &in->to) && dates;
    int64_t tz = 0;
    if (param_int(v, r, "timezone_offset", false, "gt", -MT_TZ_LIMIT, "lt", MT_TZ_LIMIT, &tz,
                  &present)) {
        in->tz.given = present;
        in->tz.minutes = (int)tz;
    }
    if (dates && mt_date_cmp(in->from, in->to) > 0) {
        char msg[96], from[16];
        snprintf(msg, sizeof(msg), "Value error, \"to\" must not be before \"from\" (%s)",
                 mt_format_date(in->from, from, sizeof(from)));
        add_error(v, "value_error", "to", msg, http_query(r, "to"), json_pack("{s:{}}", "error"));
    }
    return v->status ? -1 : 0;
}

/* What every row needs, and the output. */
struct export_sink {
    enum export_format format;
    int tz;
    size_t rows;
    struct mt_buf *out;
};

static const char csv_header[] = "date,local_time,taken_at_utc,medication,dosage,deleted\r\n";

static int export_row(const struct store_report_dose *d, void *vctx, struct mt_err *err)
{
    struct export_sink *s = vctx;
    int64_t local = d->taken_us - (int64_t)s->tz * 60 * MT_USEC_PER_SEC;
    struct mt_date day = mt_date_from_days(mt_floor_div(local, MT_USEC_PER_DAY));
    int64_t sec = mt_floor_mod(local, MT_USEC_PER_DAY) / MT_USEC_PER_SEC;
    char date[16], time[16], iso[MT_TIME_BUF];
    mt_format_date(day, date, sizeof(date));
    snprintf(time, sizeof(time), "%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60),
             (int)(sec % 60));
    mt_format_iso(d->taken_us, iso, sizeof(iso));

    if (s->format == EXPORT_CSV) {
        report_csv_field(s->out, true, date, strlen(date));
        report_csv_field(s->out, false, time, strlen(time));
        report_csv_field(s->out, false, iso, strlen(iso));
        report_csv_field(s->out, false, d->medication_name, strlen(d->medication_name));
        report_csv_field(s->out, false, d->dosage, d->dosage ? strlen(d->dosage) : 0);
        report_csv_field(s->out, false, d->deleted ? "true" : "false", d->deleted ? 4 : 5);
        report_csv_end(s->out);
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(d->id));
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "local_time", json_string(time));
        json_object_set_new(o, "taken_at", json_string(iso));
        json_object_set_new(o, "medication_id",
                            d->deleted ? json_null() : json_integer(d->medication_id));
        json_object_set_new(o, "medication_name", api_str_json(d->medication_name));
        json_object_set_new(o, "dosage", api_str_json(d->dosage));
        json_object_set_new(o, "deleted", json_boolean(d->deleted));
        if (s->rows)
            mt_buf_addc(s->out, ',');
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!text)
            return mt_fail(err, MT_EINTERNAL, "export: a row could not be serialised");
        mt_buf_adds(s->out, text);
        free(text);
    }
    s->rows++;
    if (s->out->failed)
        return mt_fail(err, MT_ELIMIT,
                       "The export is larger than %zu MiB: choose a shorter date range",
                       EXPORT_MAX >> 20);
    return 0;
}

/* The JSON document around the rows: the head object is serialised by
 * jansson and left open ("...,\"doses\":["), so that the rows can be
 * written one at a time instead of as one large tree. */
static void json_head(struct mt_buf *out, const struct store_person *p, const char *name,
                      const struct export_in *in, int tz)
{
    char from[16], to[16], off[16];
    json_t *head =
        json_pack("{s:I, s:o, s:s, s:s, s:i, s:s}", "person_id", (json_int_t)p->id, "person_name",
                  api_str_json(name), "from", mt_format_date(in->from, from, sizeof(from)), "to",
                  mt_format_date(in->to, to, sizeof(to)), "timezone_offset", tz, "utc_offset",
                  report_utc_offset(tz, off, sizeof(off)));
    char *text = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(head);
    size_t len = text ? strlen(text) : 0;
    if (len < 2) {
        out->failed = true;
        free(text);
        return;
    }
    mt_buf_add(out, text, len - 1); /* without the closing brace */
    mt_buf_adds(out, ",\"doses\":[");
    free(text);
}

static void export_doses(struct http_req *r, enum export_format format)
{
    struct export_in in;
    struct api_vctx v;
    api_vctx_init(&v);
    if (api_invalid(r, export_params(r, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct mt_err err;
    mt_err_clear(&err);
    struct store_person person;
    if (store_person_get(c, r->arena, in.person_id, &person, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    const char *name = store_person_name(r->arena, &person);
    struct mt_buf *out = request_buf(r, EXPORT_MAX);
    if (!out || !name) {
        if (!name)
            http_reply_detail(r, 413, "Request exceeds the server's memory limit");
        return;
    }
    int tz = api_tz_minutes(r, &in.tz);
    struct store_window w;
    int64_t unused;
    mt_local_day(in.from, tz, &w.start_us, &unused);
    mt_local_day(in.to, tz, &unused, &w.end_us);

    if (format == EXPORT_CSV)
        mt_buf_adds(out, csv_header);
    else
        json_head(out, &person, name, &in, tz);
    struct export_sink sink = {.format = format, .tz = tz, .out = out};
    size_t unreadable = 0;
    if (store_report_doses(c, true, in.person_id, &w, export_row, &sink, &unreadable, &err) < 0) {
        if (err.code == MT_ELIMIT)
            http_reply_detail(r, 413, err.msg);
        else
            http_reply_err(r, &err);
        return;
    }
    if (unreadable)
        mt_log(MT_LOG_WARN, "report: skipped doses with unreadable taken_at count=%zu", unreadable);
    if (format == EXPORT_JSON)
        mt_buf_adds(out, "]}");
    if (out->failed) {
        http_reply_detail(r, 413, "The export is too large: choose a shorter date range");
        return;
    }
    char from[16], to[16];
    const char *disposition = mt_arena_printf(
        r->arena, "attachment; filename=\"meditrack-doses-person%lld-%s-to-%s.%s\"",
        (long long)in.person_id, mt_format_date(in.from, from, sizeof(from)),
        mt_format_date(in.to, to, sizeof(to)), format == EXPORT_CSV ? "csv" : "json");
    if (!disposition) {
        http_reply_detail(r, 413, "Request exceeds the server's memory limit");
        return;
    }
    http_add_header(r, "Content-Disposition", disposition);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_raw(r, 200,
                   format == EXPORT_CSV ? "text/csv; charset=utf-8; header=present"
                                        : "application/json",
                   out->data, out->len);
}

void api_report_doses_csv(struct http_req *r)
{
    export_doses(r, EXPORT_CSV);
}

void api_report_doses_json(struct http_req *r)
{
    export_doses(r, EXPORT_JSON);
}
