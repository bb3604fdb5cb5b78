/* GET /api/v1/persons/{person_id}/fhir: a person's record for a doctor as a
 * FHIR R4 Bundle of type collection (docs/reports.md, "FHIR"): the Patient,
 * a Medication and a MedicationStatement per medication (also per deleted
 * medication whose doses fall in the range), and a MedicationAdministration
 * per dose in the range. Every entry's fullUrl is a urn:uuid derived from
 * the row's id (the same row always gets the same UUID on one
 * installation) and every reference points at one of them, so the bundle
 * resolves inside itself. The administrations are streamed from the
 * database like the dose export; everything is read from one snapshot.
 * Heavy work (api/heavy.h); access control will make it a "read,
 * person-scoped" operation. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/jsonw.h"
#include "api/row_json.h"
#include "api/validate.h"
#include "core/log.h"
#include "store/portable.h"
#include "store/reports.h"

#define CHUNK ((size_t)32 << 10)
#define STATEMENT_MS (10 * 60 * 1000)
#define FALLBACK_MAX ((size_t)64 << 20)
#define UUID_URN_LEN 46 /* "urn:uuid:" + 36 + NUL */

/* ---- deterministic UUIDs ------------------------------------------------------------------- */

/* The namespace of this installation's UUIDs: a hash of SECRET_KEY, so
 * that two installations do not give their person 1 the same UUID, and a
 * UUID reveals nothing of the id behind it. */
static void uuid_namespace(const struct http_req *r, unsigned char ns[32])
{
    static const char label[] = "meditrack fhir uuid namespace v1";
    const char *secret =
        r->app && r->app->cfg && r->app->cfg->secret_key ? r->app->cfg->secret_key : "";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label));
    crypto_generichash_update(&st, (const unsigned char *)secret, strlen(secret));
    crypto_generichash_final(&st, ns, 32);
}

/* "urn:uuid:..." of a name ("Patient/7"): a name-based UUID in the manner
 * of RFC 9562's version 8 (BLAKE2b keyed with the namespace, where version
 * 5 would use SHA-1), with the version and variant bits set. */
static char *uuid_urn(const unsigned char ns[32], const char *name, char out[UUID_URN_LEN])
{
    unsigned char b[16];
    crypto_generichash(b, sizeof(b), (const unsigned char *)name, strlen(name), ns, 32);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x80);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    memcpy(p, "urn:uuid:", 9);
    p += 9;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0xF];
    }
    *p = '\0';
    return out;
}

static char *urn_of_id(const unsigned char ns[32], const char *type, int64_t id,
                       char out[UUID_URN_LEN])
{
    char name[64];
    snprintf(name, sizeof(name), "%s/%lld", type, (long long)id);
    return uuid_urn(ns, name, out);
}

/* A deleted medication is known by its person and its name; NULL when the
 * arena is full. Made once per deleted medication, never per dose. */
static char *urn_of_deleted(struct mt_arena *a, const unsigned char ns[32], const char *type,
                            int64_t person_id, const char *med_name, char out[UUID_URN_LEN])
{
    const char *name =
        mt_arena_printf(a, "%s/deleted/%lld/%s", type, (long long)person_id, med_name);
    return name ? uuid_urn(ns, name, out) : NULL;
}

/* ---- the bundle ----------------------------------------------------------------------------- */

struct bundle {
    struct http_req *r;
    struct api_jw w;
    unsigned char ns[32];
    const struct store_person *person;
    const char *person_name;
    char patient[UUID_URN_LEN];
    const struct store_medication *meds; /* id order */
    size_t n_meds;
    const char **deleted;               /* strcmp order */
    char (*deleted_urns)[UUID_URN_LEN]; /* their Medication entries, in the same order */
    size_t n_deleted;
    bool started;
    int64_t skipped; /* doses whose medication is not in the bundle */
};

static int flush(struct bundle *b, struct mt_err *err)
{
    if (b->w.failed)
        return mt_fail(err, MT_ELIMIT,
                       "FHIR bundle: a resource is larger than the request's memory");
    if (b->w.len == 0)
        return 0;
    if (http_stream_write(b->r, b->w.data, b->w.len, err) < 0)
        return -1;
    api_jw_reset(&b->w);
    return 0;
}

static void reference(struct api_jw *w, const char *key, const char *urn, const char *display)
{
    api_jw_key(w, key);
    api_jw_obj(w);
    api_jw_str_at(w, "reference", urn);
    if (display)
        api_jw_str_at(w, "display", display);
    api_jw_obj_end(w);
}

/* An entry's start: its fullUrl and the resource's type. */
static void entry_begin(struct api_jw *w, const char *urn, const char *type)
{
    api_jw_obj(w);
    api_jw_str_at(w, "fullUrl", urn);
    api_jw_key(w, "resource");
    api_jw_obj(w);
    api_jw_str_at(w, "resourceType", type);
}

static void entry_end(struct api_jw *w)
{
    api_jw_obj_end(w);
    api_jw_obj_end(w);
}

static void write_patient(struct bundle *b)
{
    struct api_jw *w = &b->w;
    const struct store_person *p = b->person;
    entry_begin(w, b->patient, "Patient");
    api_jw_key(w, "name");
    api_jw_arr(w);
    api_jw_obj(w);
    api_jw_str_at(w, "text", b->person_name);
    if (p->last_name && p->last_name[0])
        api_jw_str_at(w, "family", p->last_name);
    if (p->first_name[0]) {
        api_jw_key(w, "given");
        api_jw_arr(w);
        api_jw_str(w, p->first_name);
        api_jw_arr_end(w);
    }
    api_jw_obj_end(w);
    api_jw_arr_end(w);
    if (p->date_of_birth)
        api_jw_str_at(w, "birthDate", p->date_of_birth);
    entry_end(w);
}

static void write_medication(struct bundle *b, const char *urn, const char *name)
{
    struct api_jw *w = &b->w;
    entry_begin(w, urn, "Medication");
    api_jw_key(w, "code");
    api_jw_obj(w);
    api_jw_str_at(w, "text", name);
    api_jw_obj_end(w);
    entry_end(w);
}

/* The dosage text: "dosage, frequency" and the instructions. */
static const char *dosage_text(struct mt_arena *a, const struct store_medication *m)
{
    if (m->instructions && m->instructions[0])
        return mt_arena_printf(a, "%s, %s. %s", m->dosage, m->frequency, m->instructions);
    return mt_arena_printf(a, "%s, %s", m->dosage, m->frequency);
}

/* What a person takes. A schedule, when medications have one, becomes the
 * dosage's timing (Timing.repeat) here. */
static void write_statement(struct bundle *b, const struct store_medication *m)
{
    struct api_jw *w = &b->w;
    char urn[UUID_URN_LEN], med[UUID_URN_LEN];
    entry_begin(w, urn_of_id(b->ns, "MedicationStatement", m->id, urn), "MedicationStatement");
    api_jw_str_at(w, "status", "active");
    reference(w, "medicationReference", urn_of_id(b->ns, "Medication", m->id, med), m->name);
    reference(w, "subject", b->patient, b->person_name);
    if (m->created_at.present && m->created_at.parsed) {
        api_jw_key(w, "effectivePeriod");
        api_jw_obj(w);
        api_jw_time_at(w, "start", &m->created_at);
        api_jw_obj_end(w);
    }
    api_jw_key(w, "dosage");
    api_jw_arr(w);
    api_jw_obj(w);
    const char *text = dosage_text(b->r->arena, m);
    api_jw_str_at(w, "text", text ? text : m->dosage);
    if (m->instructions && m->instructions[0])
        api_jw_str_at(w, "patientInstruction", m->instructions);
    if (m->max_doses_per_day > 0) {
        /* At most max_doses_per_day doses per day. */
        api_jw_key(w, "maxDosePerPeriod");
        api_jw_obj(w);
        api_jw_key(w, "numerator");
        api_jw_obj(w);
        api_jw_int_at(w, "value", m->max_doses_per_day);
        api_jw_obj_end(w);
        api_jw_key(w, "denominator");
        api_jw_obj(w);
        api_jw_int_at(w, "value", 1);
        api_jw_str_at(w, "unit", "day");
        api_jw_str_at(w, "system", "http://unitsofmeasure.org");
        api_jw_str_at(w, "code", "d");
        api_jw_obj_end(w);
        api_jw_obj_end(w);
    }
    api_jw_obj_end(w);
    api_jw_arr_end(w);
    entry_end(w);
}

/* A medication taken off the list: only its name and doses are known. */
static int write_deleted_statement(struct bundle *b, size_t i, struct mt_err *err)
{
    struct api_jw *w = &b->w;
    char urn[UUID_URN_LEN];
    if (!urn_of_deleted(b->r->arena, b->ns, "MedicationStatement", b->person->id, b->deleted[i],
                        urn))
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    entry_begin(w, urn, "MedicationStatement");
    api_jw_str_at(w, "status", "completed");
    reference(w, "medicationReference", b->deleted_urns[i], b->deleted[i]);
    reference(w, "subject", b->patient, b->person_name);
    entry_end(w);
    return 0;
}

static int cmp_med(const void *key, const void *item)
{
    int64_t id = *(const int64_t *)key;
    const struct store_medication *m = item;
    return id < m->id ? -1 : id > m->id;
}

static int cmp_name(const void *key, const void *item)
{
    return strcmp((const char *)key, *(const char *const *)item);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A dose's status (taken, skipped, entered in error) will map to
 * completed, not-done and entered-in-error here. */
static int write_administration(const struct store_report_dose *d, void *ctx, struct mt_err *err)
{
    struct bundle *b = ctx;
    struct api_jw *w = &b->w;
    char urn[UUID_URN_LEN], med[UUID_URN_LEN], when[MT_TIME_BUF];
    const struct store_medication *m = NULL;
    if (d->deleted) {
        const char **name =
            bsearch(d->medication_name, b->deleted, b->n_deleted, sizeof(*b->deleted), cmp_name);
        if (!name) {
            b->skipped++;
            return 0;
        }
        memcpy(med, b->deleted_urns[name - b->deleted], UUID_URN_LEN);
    } else {
        m = bsearch(&d->medication_id, b->meds, b->n_meds, sizeof(*b->meds), cmp_med);
        if (!m) {
            b->skipped++;
            return 0;
        }
        urn_of_id(b->ns, "Medication", m->id, med);
    }
    entry_begin(w, urn_of_id(b->ns, "MedicationAdministration", d->id, urn),
                "MedicationAdministration");
    /* A skipped dose was not given; one entered in error never reaches
     * here (the store leaves it out of every view). */
    api_jw_str_at(w, "status", d->status == STORE_SKIPPED ? "not-done" : "completed");
    reference(w, "medicationReference", med, d->medication_name);
    reference(w, "subject", b->patient, b->person_name);
    api_jw_str_at(w, "effectiveDateTime", mt_format_iso(d->taken_us, when, sizeof(when)));
    if (m && m->dosage[0]) {
        api_jw_key(w, "dosage");
        api_jw_obj(w);
        api_jw_str_at(w, "text", m->dosage);
        api_jw_obj_end(w);
    }
    entry_end(w);
    if (w->failed || w->len >= CHUNK)
        return flush(b, err);
    return 0;
}

static int bundle_in_snapshot(struct bundle *b, struct db_conn *c, const struct api_in_fhir *in,
                              struct mt_err *err)
{
    struct http_req *r = b->r;
    struct store_person *person = mt_arena_alloc(r->arena, sizeof(*person));
    if (!person)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    if (store_person_get(c, r->arena, in->person_id.value, person, err) < 0)
        return -1;
    b->person = person;
    b->person_name = store_person_name(r->arena, person);
    if (!b->person_name)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");

    struct mt_tz tz = api_tz(r, &in->tz);
    /* The person's own zone, when set, bounds their days (issue 16). */
    struct mt_tz own;
    struct mt_err unknown = {0};
    if (!in->tz.set && person->timezone && mt_tz_load(person->timezone, &own, &unknown) == 0)
        tz = own;
    struct store_window win = {MT_INSTANT_MIN, MT_INSTANT_MAX};
    if (in->start.set)
        win.start_us = api_day_window(in->start.value, in->start.value, tz).start_us;
    if (in->end.set)
        win.end_us = api_day_window(in->end.value, in->end.value, tz).end_us;

    struct store_medication *meds;
    size_t n_meds;
    struct store_window none = {0, 0};
    /* The person was checked against the caller's grants: no filter. */
    if (store_meds_list(c, r->arena, NULL, true, person->id, &none, 0, INT64_MAX, &meds, &n_meds,
                        err) < 0)
        return -1;
    b->meds = meds;
    b->n_meds = n_meds;
    const char **deleted;
    size_t n_deleted;
    if (store_deleted_names(c, r->arena, person->id, &win, &deleted, &n_deleted, err) < 0)
        return -1;
    if (n_deleted)
        qsort(deleted, n_deleted, sizeof(*deleted), cmp_names);
    b->deleted = deleted;
    b->n_deleted = n_deleted;
    b->deleted_urns = mt_arena_calloc(r->arena, n_deleted ? n_deleted : 1, UUID_URN_LEN);
    if (!b->deleted_urns)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    for (size_t i = 0; i < n_deleted; i++)
        if (!urn_of_deleted(r->arena, b->ns, "Medication", person->id, deleted[i],
                            b->deleted_urns[i]))
            return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");

    if (http_stream_begin(r, 200, "application/fhir+json; fhirVersion=4.0", FALLBACK_MAX, err) < 0)
        return -1;
    b->started = true;
    struct api_jw *w = &b->w;
    char now[MT_TIME_BUF];
    api_jw_obj(w);
    api_jw_str_at(w, "resourceType", "Bundle");
    api_jw_str_at(w, "type", "collection");
    api_jw_str_at(w, "timestamp", mt_format_iso(mt_now_us(), now, sizeof(now)));
    api_jw_key(w, "entry");
    api_jw_arr(w);
    urn_of_id(b->ns, "Patient", person->id, b->patient);
    write_patient(b);
    char urn[UUID_URN_LEN];
    for (size_t i = 0; i < n_meds; i++)
        write_medication(b, urn_of_id(b->ns, "Medication", meds[i].id, urn), meds[i].name);
    for (size_t i = 0; i < n_deleted; i++)
        write_medication(b, b->deleted_urns[i], deleted[i]);
    for (size_t i = 0; i < n_meds; i++)
        write_statement(b, &meds[i]);
    for (size_t i = 0; i < n_deleted; i++)
        if (write_deleted_statement(b, i, err) < 0)
            return -1;
    if (flush(b, err) < 0)
        return -1;
    size_t unreadable = 0;
    if (store_report_doses(c, r->arena, NULL, true, person->id, STORE_VIEW_HISTORY, &win,
                           write_administration, b, &unreadable, err) < 0)
        return -1;
    if (unreadable || b->skipped)
        mt_log(MT_LOG_WARN,
               "fhir: doses left out unreadable_taken_at=%zu medication_not_in_bundle=%lld",
               unreadable, (long long)b->skipped);
    api_jw_arr_end(w);
    api_jw_obj_end(w);
    return flush(b, err);
}

int api_person_fhir(struct api_call *call, struct mt_err *err)
{
    const struct api_in_fhir *in = call->in;
    struct http_req *r = call->r;
    /* Another person's record is "not found", as everywhere. */
    if (api_who_person(call->who, in->person_id.value, err) < 0)
        return -1;
    struct bundle *b = mt_arena_calloc(r->arena, 1, sizeof(*b));
    const char *disposition =
        mt_arena_printf(r->arena, "attachment; filename=\"meditrack-fhir-person%lld.json\"",
                        (long long)in->person_id.value);
    if (!b || !disposition)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    b->r = r;
    uuid_namespace(r, b->ns);
    api_jw_init(&b->w, r->arena, 2 * CHUNK);
    const struct mt_config *cfg = r->app ? r->app->cfg : NULL;
    int lock_ms =
        cfg ? (cfg->db_lock_timeout ? cfg->db_lock_timeout : cfg->db_statement_timeout) : 0;
    if (db_set_timeouts(call->db, STATEMENT_MS, lock_ms, err) < 0)
        return -1;
    http_add_header(r, "Content-Disposition", disposition);
    http_add_header(r, "Cache-Control", "no-store");
    if (store_snapshot_begin(call->db, err) < 0)
        return -1;
    int rc = bundle_in_snapshot(b, call->db, in, err);
    store_snapshot_end(call->db);
    if (rc == 0)
        rc = http_stream_end(r, err);
    return rc;
}

void api_fhir_range_rule(const struct api_request *q, void *vin, struct api_vctx *v)
{
    const struct api_in_fhir *in = vin;
    if (!in->start.set || !in->end.set || mt_date_cmp(in->start.value, in->end.value) <= 0)
        return;
    const char *end = api_request_query(q, "end");
    api_vctx_add(v, "value_error", json_pack("[s,s]", "query", "end"),
                 "Value error, \"end\" must not be before \"start\"",
                 api_json_text(end, strlen(end)), json_pack("{s:{}}", "error"));
}
