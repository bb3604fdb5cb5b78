/* GET /api/v1/export and POST /api/v1/import: the portable record over HTTP
 * (docs/export-format.md). The export streams the document that
 * api_export_write writes straight to the client; the import reads the
 * request body as it arrived (within MAX_BODY_BYTES; the command line has
 * no such limit) through api_import_run and answers its preview or outcome.
 * Both are heavy work (api/heavy.h). Access control will make both "admin"
 * operations.
 *
 * The import words its own refusals, because the document's problems need
 * more than a detail string: a 422 in the API's validation shape whose loc
 * is the JSON path of the first problem, a 400 with the line and column of
 * a JSON syntax error, and a 409 that lists the conflicting persons. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/actor.h"
#include "api/handlers.h"
#include "api/portable.h"
#include "core/log.h"
#include "db/db.h"

/* The statement limit of a streamed export, as for the dose export: the
 * statement stays open while a slow client reads. */
#define EXPORT_STATEMENT_MS (10 * 60 * 1000)
/* Where the server cannot stream, the body is collected up to this size. */
#define EXPORT_FALLBACK_MAX ((size_t)64 << 20)

struct http_sink {
    struct http_req *r;
};

static int sink_begin(void *ctx, struct mt_err *err)
{
    struct http_sink *s = ctx;
    return http_stream_begin(s->r, 200, "application/json", EXPORT_FALLBACK_MAX, err);
}

static int sink_write(void *ctx, const char *data, size_t len, struct mt_err *err)
{
    struct http_sink *s = ctx;
    return http_stream_write(s->r, data, len, err);
}

int api_record_export(struct api_call *call, struct mt_err *err)
{
    const struct api_in_record_export *in = call->in;
    struct http_req *r = call->r;
    char day[16];
    struct mt_date today = mt_local_date(mt_now_us(), 0);
    mt_format_date(today, day, sizeof(day));
    const char *disposition =
        in->person_id.set
            ? mt_arena_printf(r->arena,
                              "attachment; filename=\"meditrack-export-person%lld-%s.json\"",
                              (long long)in->person_id.value, day)
            : mt_arena_printf(r->arena, "attachment; filename=\"meditrack-export-%s.json\"", day);
    if (!disposition)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    const struct mt_config *cfg = r->app ? r->app->cfg : NULL;
    int lock_ms =
        cfg ? (cfg->db_lock_timeout ? cfg->db_lock_timeout : cfg->db_statement_timeout) : 0;
    if (db_set_timeouts(call->db, EXPORT_STATEMENT_MS, lock_ms, err) < 0)
        return -1;
    http_add_header(r, "Content-Disposition", disposition);
    http_add_header(r, "Cache-Control", "no-store");
    struct http_sink sink = {r};
    struct api_export_out out = {sink_begin, sink_write, &sink};
    struct api_export_counts counts;
    if (api_export_write(call->db, r->arena, in->person_id.set, in->person_id.value, &out, &counts,
                         err) < 0)
        return -1;
    if (counts.unreadable_times)
        mt_log(MT_LOG_WARN,
               "export: timestamps the database could not read were exported as null "
               "count=%lld",
               (long long)counts.unreadable_times);
    if (counts.unreadable_schedules)
        mt_log(MT_LOG_WARN,
               "export: stored schedules that do not read back were exported as null count=%lld",
               (long long)counts.unreadable_schedules);
    return http_stream_end(r, err);
}

/* ---- the import ------------------------------------------------------------------------------ */

static json_t *path_loc(const struct api_import_path *p)
{
    json_t *loc = json_array();
    json_array_append_new(loc, json_string("body"));
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(loc, p->seg[i].key[0] ? json_string(p->seg[i].key)
                                                    : json_integer(p->seg[i].index));
    return loc;
}

static json_t *path_json(const struct api_import_path *p)
{
    char buf[512];
    return json_string(api_import_path_text(p, buf, sizeof(buf)));
}

static json_t *notes_json(const struct api_import_note *notes, size_t n, bool conflicts)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "path", path_json(&notes[i].path));
        if (conflicts)
            json_object_set_new(o, "existing_person_id", json_integer(notes[i].existing_id));
        json_object_set_new(o, "message", json_string(notes[i].msg));
        json_array_append_new(list, o);
    }
    return list;
}

/* The preview (dry run), the outcome, or the 409's body. */
static json_t *outcome_json(const struct api_import_result *res, bool dry_run)
{
    json_t *o = json_object();
    json_object_set_new(o, "dry_run", json_boolean(dry_run));
    json_object_set_new(o, "imported", json_boolean(res->imported));
    json_object_set_new(o, "version", json_integer(res->version));
    json_object_set_new(o, "target_was_empty", json_boolean(res->target_empty));
    json_object_set_new(o, res->imported ? "created" : "to_create",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "persons", (json_int_t)res->persons,
                                  "medications", (json_int_t)res->medications, "doses",
                                  (json_int_t)res->doses, "deleted_medication_doses",
                                  (json_int_t)res->deleted_doses, "ingredient_limits",
                                  (json_int_t)res->limits));
    json_object_set_new(o, "conflicts", notes_json(res->conflicts, res->n_conflicts, true));
    json_object_set_new(o, "conflicts_total", json_integer(res->total_conflicts));
    json_object_set_new(o, "warnings", notes_json(res->warnings, res->n_warnings, false));
    json_object_set_new(o, "warnings_total", json_integer(res->total_warnings));
    if (res->imported) {
        json_t *ids = json_array();
        for (size_t i = 0; i < res->n_mapped; i++)
            json_array_append_new(ids, json_pack("{s:I,s:I}", "document_id",
                                                 (json_int_t)res->mapped[i].document_id, "id",
                                                 (json_int_t)res->mapped[i].id));
        json_object_set_new(o, "person_ids", ids);
    }
    return o;
}

static void answer(struct http_req *r, const struct api_import_result *res, bool dry_run)
{
    switch (res->fault) {
    case API_IMPORT_OK:
        http_reply_json(r, 200, outcome_json(res, dry_run));
        return;
    case API_IMPORT_SYNTAX: {
        char detail[400];
        snprintf(detail, sizeof(detail), "The body is not valid JSON: %s at line %lld, column %lld",
                 res->msg, (long long)res->line, (long long)res->column);
        http_reply_detail(r, 400, detail);
        return;
    }
    case API_IMPORT_INVALID:
    case API_IMPORT_NEWER: {
        char where[512];
        json_t *e =
            json_pack("{s:s,s:o,s:s,s:s}", "type", res->type, "loc", path_loc(&res->where), "msg",
                      res->msg, "path", api_import_path_text(&res->where, where, sizeof(where)));
        http_reply_json(r, 422, json_pack("{s:[o]}", "detail", e));
        return;
    }
    case API_IMPORT_CONFLICT: {
        json_t *o = outcome_json(res, dry_run);
        json_object_set_new(o, "detail", json_string(res->msg));
        http_reply_json(r, 409, o);
        return;
    }
    }
}

/* True for no content type or a JSON one (application/json,
 * application/...+json, any parameters). */
static bool json_content(const char *ct)
{
    if (!ct)
        return true;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    while (n && (*ct == ' ' || *ct == '\t')) {
        ct++;
        n--;
    }
    if (n >= 16 && strncasecmp(ct, "application/json", 16) == 0 && n == 16)
        return true;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

int api_record_import(struct api_call *call, struct mt_err *err)
{
    const struct api_in_record_import *in = call->in;
    struct http_req *r = call->r;
    if (!json_content(http_header(r, "Content-Type"))) {
        http_reply_detail(r, 415, "Send the export document as application/json");
        return 0;
    }
    if (!r->body || r->body_len == 0) {
        http_reply_detail(r, 400, "The request has no body: send an export document");
        return 0;
    }
    struct api_import_src src = {.data = r->body, .len = r->body_len, .file = NULL};
    struct api_import_result *res = mt_xmalloc(sizeof(*res));
    bool dry_run = in->dry_run.value != 0;
    enum api_import_conflict mode = in->on_conflict.value == 1 ? API_IMPORT_ADD : API_IMPORT_REFUSE;
    /* The audit rows of the import name who imports (anonymous with
     * AUTH=off). */
    struct store_actor actor = api_actor(call);
    int rc = api_import_run(call->db, &actor, &src, dry_run, mode, res, err);
    if (rc == 0) {
        if (res->imported)
            mt_log(MT_LOG_INFO, "import: persons=%lld medications=%lld doses=%lld deleted=%lld",
                   (long long)res->persons, (long long)res->medications, (long long)res->doses,
                   (long long)res->deleted_doses);
        answer(r, res, dry_run);
    }
    free(res);
    return rc;
}
