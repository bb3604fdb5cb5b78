/* GET /api/v1/reports/medications/pdf/{date}: the printable medication
 * tracking form, with the reference's parameters and answers plus `paper`
 * and `prefill`. The operation is heavy: the runner lets it in under the
 * heavy-work limiter (api/heavy.h). The person and medications are looked
 * up (404), store rows become a src/report form, and the PDF is drawn
 * whole in a malloc'ed buffer with a fixed ceiling that the request arena
 * frees (a form needs all of its data before its first page is
 * complete). */
#include <string.h>

#include "api/auth.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/jsonw.h"
#include "api/schedules.h"
#include "core/log.h"
#include "report/report.h"
#include "store/reports.h"

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
    rd.overridden = d->override_rule != NULL;
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

/* A medication's rules beyond the reference's daily maximum (which the
 * boxes show), in words for the form: "At most 4 doses in any 24 hours ·
 * at least 4 hours apart · 500 mg per dose · contains paracetamol 500 mg".
 * NULL for a medication with none, so that its row is the reference's. */
static const char *rules_text(struct mt_arena *a, const struct store_medication *m)
{
    struct mt_buf b;
    mt_buf_init(&b, 4096);
    const char *sep = "";
    if (m->rolling_24h) {
        mt_buf_addf(&b, "At most %lld dose%s in any 24 hours", (long long)m->max_doses_per_day,
                    m->max_doses_per_day == 1 ? "" : "s");
        sep = " \xC2\xB7 ";
    }
    if (m->min_interval_minutes > 0) {
        int64_t min = m->min_interval_minutes;
        if (min % 60 == 0)
            mt_buf_addf(&b, "%s%s%lld hour%s apart", sep, sep[0] ? "at least " : "At least ",
                        (long long)(min / 60), min == 60 ? "" : "s");
        else
            mt_buf_addf(&b, "%s%s%lld minutes apart", sep, sep[0] ? "at least " : "At least ",
                        (long long)min);
        sep = " \xC2\xB7 ";
    }
    if (m->has_dose_amount) {
        struct api_jw w;
        api_jw_init(&w, a, 24);
        api_jw_amount(&w, m->dose_amount);
        mt_buf_addf(&b, "%s%.*s %s per dose", sep, (int)w.len, w.failed ? "" : w.data,
                    m->dose_unit ? m->dose_unit : "");
        sep = " \xC2\xB7 ";
    }
    for (size_t i = 0; i < m->n_ingredients; i++) {
        struct api_jw w;
        api_jw_init(&w, a, 24);
        api_jw_amount(&w, m->ingredients[i].amount);
        mt_buf_addf(&b, "%s%s %.*s %s",
                    i        ? ", "
                    : sep[0] ? " \xC2\xB7 contains "
                             : "Contains ",
                    m->ingredients[i].name, (int)w.len, w.failed ? "" : w.data,
                    m->ingredients[i].unit);
    }
    const char *out = b.len && !b.failed ? mt_arena_strdup(a, b.data) : NULL;
    mt_buf_release(&b);
    return out;
}

/* The medication rows of the form; on a household-wide form each row names
 * its person. */
static int form_meds(struct http_req *r, struct db_conn *c, const struct store_person_filter *see,
                     const struct store_report *data, struct report_med **out, struct mt_err *err)
{
    struct store_report_owner *owners = NULL;
    size_t n_owners = 0;
    if (!data->has_person && store_report_owners(c, r->arena, see, &owners, &n_owners, err) < 0)
        return -1;
    struct report_med *meds = mt_arena_calloc(r->arena, data->n_meds, sizeof(*meds));
    if (!meds)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    for (size_t i = 0; i < data->n_meds; i++) {
        struct store_medication *m = &data->meds[i];
        if (store_med_ingredients(c, r->arena, m, err) < 0)
            return -1;
        meds[i] = (struct report_med){
            .name = m->name ? m->name : "",
            .dosage = m->dosage ? m->dosage : "",
            .frequency = m->frequency,
            .instructions = m->instructions,
            .rules = rules_text(r->arena, m),
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

/* Days of adherence a form shows: those before its first day. */
#define FORM_ADHERENCE_DAYS 30

/* A schedule in words: "Scheduled 08:00, 20:00 daily", "... on Mon, Fri",
 * "... every 3 days from 2026-11-01", with its end date. */
static void schedule_words(struct mt_buf *b, const struct mt_schedule *s)
{
    static const char *const days[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    char hm[8], date[16];
    mt_buf_adds(b, "Scheduled ");
    for (int i = 0; i < s->ntimes; i++)
        mt_buf_addf(b, "%s%s", i ? ", " : "", mt_schedule_hhmm(s->minutes[i], hm, sizeof(hm)));
    if (s->days == MT_SCHED_DAILY) {
        mt_buf_adds(b, " daily");
    } else if (s->days == MT_SCHED_EVERY_N) {
        mt_buf_addf(b, " every %d days", s->every_n);
    } else {
        const char *sep = " on ";
        for (int k = 0; k < 7; k++) {
            if (s->weekdays & (1u << k)) {
                mt_buf_addf(b, "%s%s", sep, days[k]);
                sep = ", ";
            }
        }
    }
    if (s->has_start)
        mt_buf_addf(b, " from %s", mt_format_date(s->start, date, sizeof(date)));
    if (s->has_end)
        mt_buf_addf(b, " until %s", mt_format_date(s->end, date, sizeof(date)));
}

/* The schedule and the adherence of the FORM_ADHERENCE_DAYS before the
 * form's first day, in words, for every scheduled medication of the form
 * (each in its person's zone); medications without a schedule keep the
 * reference's row. */
static int schedule_texts(struct api_call *call, const struct store_report *data,
                          struct report_med *meds, struct mt_date first, struct mt_err *err)
{
    struct mt_arena *a = call->r->arena;
    struct mt_date from = mt_date_from_days(mt_date_to_days(first) - FORM_ADHERENCE_DAYS);
    struct mt_date to = mt_date_from_days(mt_date_to_days(first) - 1);
    char from_s[16], to_s[16];
    mt_format_date(from, from_s, sizeof(from_s));
    mt_format_date(to, to_s, sizeof(to_s));
    for (size_t i = 0; i < data->n_meds; i++) {
        int64_t pid = data->meds[i].person_id;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = data->meds[k].person_id == pid;
        if (seen)
            continue;
        struct mt_tz z;
        struct store_scheduled *sched = NULL;
        size_t n = 0;
        struct api_adherence adh;
        if (api_person_schedule(call, pid, &z, &sched, &n, err) < 0)
            return -1;
        if (n == 0)
            continue;
        if (api_adherence_of(call, z, sched, n, from, to, NULL, NULL, &adh, err) < 0)
            return -1;
        for (size_t j = 0; j < n; j++) {
            if (!sched[j].valid)
                continue;
            size_t row = 0;
            while (row < data->n_meds && data->meds[row].id != sched[j].medication_id)
                row++;
            if (row == data->n_meds)
                continue;
            struct mt_buf b;
            mt_buf_init(&b, 4096);
            schedule_words(&b, &sched[j].sched);
            const int64_t *c = adh.per[j].count;
            int64_t due =
                c[MT_SLOT_TAKEN] + c[MT_SLOT_LATE] + c[MT_SLOT_MISSED] + c[MT_SLOT_SKIPPED];
            if (due > 0)
                mt_buf_addf(
                    &b,
                    " \xC2\xB7 %s to %s: %lld%% taken (%lld on time, %lld late, %lld "
                    "missed, %lld skipped)",
                    from_s, to_s,
                    (long long)((100 * (c[MT_SLOT_TAKEN] + c[MT_SLOT_LATE]) + due / 2) / due),
                    (long long)c[MT_SLOT_TAKEN], (long long)c[MT_SLOT_LATE],
                    (long long)c[MT_SLOT_MISSED], (long long)c[MT_SLOT_SKIPPED]);
            meds[row].schedule = b.failed ? NULL : mt_arena_strdup(a, b.data);
            mt_buf_release(&b);
        }
    }
    return 0;
}

static int build_form(struct api_call *call, const struct api_in_form *in, struct report_form *f,
                      struct mt_err *err)
{
    struct http_req *r = call->r;
    struct db_conn *c = call->db;
    /* Everyone is everyone the caller may see. */
    const struct store_person_filter *see = api_who_sees(call->who);
    /* person_id=0 is "everyone", as in the reference. */
    bool has_person = in->person_id.set && in->person_id.value != 0;
    struct store_report data;
    if (store_report_data(c, r->arena, see, has_person, in->person_id.value, &data, err) < 0)
        return -1;
    memset(f, 0, sizeof(*f));
    f->tz_offset = api_tz_minutes(r, &in->tz);
    f->first_day = in->date.value;
    f->n_days = (size_t)in->days.value;
    f->paper = in->paper.value == API_PAPER_A4 ? REPORT_A4 : REPORT_LETTER;
    f->prefill = in->prefill.value != 0;
    f->generated_us = mt_now_us();
    f->title = data.has_person ? mt_arena_printf(r->arena, "%s Medication Log",
                                                 store_person_name(r->arena, &data.person))
                               : "Medication Log";
    if (!f->title)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    struct report_med *meds = NULL;
    if (form_meds(r, c, see, &data, &meds, err) < 0 ||
        schedule_texts(call, &data, meds, in->date.value, err) < 0)
        return -1;
    f->meds = meds;
    f->n_meds = data.n_meds;
    if (!f->prefill)
        return 0;

    struct mt_date first = in->date.value;
    struct mt_date last = mt_date_from_days(mt_date_to_days(first) + in->days.value - 1);
    /* NEEDSWORK: the form places doses on days by one offset (the one in
     * effect now), so in a zone with daylight saving time a form spanning
     * the change is off by an hour on one side of it. */
    struct store_window w = api_day_window(first, last, mt_tz_fixed(f->tz_offset));
    struct dose_sink sink = {
        .arena = r->arena, .data = &data, .first = first, .n_days = f->n_days, .tz = f->tz_offset};
    size_t unreadable = 0;
    if (store_report_doses(c, r->arena, see, has_person, in->person_id.value, STORE_VIEW_TAKEN, &w,
                           collect_dose,
                           &sink, &unreadable, err) < 0)
        return -1;
    if (unreadable)
        mt_log(MT_LOG_WARN, "report: skipped doses with unreadable taken_at count=%zu", unreadable);
    f->doses = sink.items;
    f->n_doses = sink.n;
    return 0;
}

int api_report_form(struct api_call *call, struct mt_err *err)
{
    const struct api_in_form *in = call->in;
    struct http_req *r = call->r;
    struct report_form f;
    if (build_form(call, in, &f, err) < 0)
        return -1;
    struct mt_buf *pdf = http_request_buf(r, REPORT_PDF_MAX, err);
    if (!pdf)
        return -1;
    if (report_pdf_render(&f, pdf, err) < 0) {
        if (err->code != MT_EUNAVAIL)
            return -1;
        /* The PDF module (meditrack-pdf.so) is missing or unusable: the
         * log says which and why; the rest of the API is unaffected. */
        mt_log(MT_LOG_ERROR, "report: PDF forms are unavailable: %s", err->msg);
        return api_reply_unavailable(r, "PDF reports are not available on this server", 0);
    }
    char date[16];
    const char *disposition =
        mt_arena_printf(r->arena, "attachment; filename=medication_tracking_%s.pdf",
                        mt_format_date(in->date.value, date, sizeof(date)));
    if (!disposition)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    http_add_header(r, "Content-Disposition", disposition);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_raw(r, call->op->status, "application/pdf", pdf->data, pdf->len);
    return 0;
}
