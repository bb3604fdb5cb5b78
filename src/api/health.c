/* The health endpoints. GET /health: the app-level liveness answer of the
 * reference, {"status":"healthy","version":...}, without touching the
 * database (while the server is still starting, server.c answers 503 for
 * it instead). GET /api/v1/health: the reference's component report
 * (database, api), with the database checked on a pooled connection as
 * requests use it: first a trivial query timed by the client (a frozen
 * server), then a query on one of MediTrack's tables (a database without
 * the schema answers SELECT 1 while every request fails), each within
 * DB_HEALTH_TIMEOUT, as is the wait for the connection. The database
 * component's details also name the dialect and the schema revision
 * (current and head), so that a deployment can see a pending migration. A
 * database that cannot be used is 503 "unhealthy", one whose storage is
 * full "degraded", each with the reference's detail "Health check failed:
 * ..." beside the report and Retry-After; the driver's message goes to the
 * log only. With AUTH=on the report is for administrators: anyone else
 * gets only its "status", with the same status code. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "core/log.h"
#include "db/db.h"
#include "migrate/migrate.h"

/* The head revision of the migrations this binary runs, read once. */
static pthread_mutex_t head_lock = PTHREAD_MUTEX_INITIALIZER;
static bool head_loaded;
static char head_id[MIG_ID_MAX + 1];

static const char *head_revision(const struct mt_config *cfg)
{
    pthread_mutex_lock(&head_lock);
    if (!head_loaded) {
        struct mig_chain *ch = NULL;
        struct mt_err err;
        mt_err_clear(&err);
        if (mig_chain_load(cfg, &ch, &err) == 0) {
            const struct mig_revision *h = mig_chain_head(ch);
            if (h)
                snprintf(head_id, sizeof(head_id), "%s", h->id);
            mig_chain_free(ch);
        } else {
            mt_log(MT_LOG_WARN, "health: cannot load the migration chain: %s", err.msg);
        }
        head_loaded = true;
    }
    pthread_mutex_unlock(&head_lock);
    return head_id[0] ? head_id : NULL;
}

/* The api component, the same in every answer. New reference. */
static json_t *api_component(const struct mt_config *cfg)
{
    char now[MT_TIME_BUF];
    mt_format_iso(mt_now_us(), now, sizeof(now));
    return json_pack("{s:s, s:s, s:{s:s, s:s}}", "component", "api", "status", "healthy", "details",
                     "timestamp", now, "environment", cfg->environment);
}

/* The database's details when a connection answered: dialect and schema
 * revision (current and head). New reference. */
static json_t *db_details(struct db_conn *c, const struct mt_config *cfg)
{
    struct mt_err err;
    mt_err_clear(&err);
    char *current = NULL;
    if (mig_current(c, &current, &err) < 0) {
        mt_log(MT_LOG_WARN, "health: cannot read the schema revision: %s", err.msg);
        current = NULL;
    }
    const char *head = head_revision(cfg);
    json_t *d = json_object();
    json_object_set_new(d, "dialect", json_string(db_dialect_name(db_conn_dialect(c))));
    json_object_set_new(d, "revision", current ? json_string(current) : json_null());
    json_object_set_new(d, "head", head ? json_string(head) : json_null());
    json_object_set_new(d, "up_to_date",
                        json_boolean(current && head && strcmp(current, head) == 0));
    free(current);
    return d;
}

/* Answers the report body, or only its "status" to a caller who may not
 * see the rest (AUTH=on, not an administrator). Steals body. */
static void reply_report(struct api_call *call, int code, json_t *body)
{
    if (body && !api_perm_allows(call->who, API_ADMIN)) {
        json_t *brief = json_pack("{s:O}", "status", json_object_get(body, "status"));
        json_decref(body);
        body = brief;
    }
    http_reply_json(call->r, code, body);
}

/* 503 with the component report, the database marked status ("unhealthy":
 * it cannot be used; "degraded": it reads but cannot store), and the
 * reference's "detail" text for clients that only read that. Steals
 * details. */
static void reply_failed(struct api_call *call, const char *status, const char *what,
                         json_t *details)
{
    struct http_req *r = call->r;
    const struct mt_config *cfg = r->app->cfg;
    json_object_set_new(details, "error", json_string(what));
    json_t *body = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:o}, o]}", "detail",
                             mt_arena_printf(r->arena, "Health check failed: %s", what), "status",
                             status, "version", cfg->version, "components", "component", "database",
                             "status", status, "details", details, api_component(cfg));
    http_add_header(r, "Retry-After", "1");
    reply_report(call, 503, body);
}

/* 503 "unhealthy" for a database that answered the connection but not
 * the query (what names the step for the log, where err's text goes).
 * Returns 0: r is answered. */
static int reply_unusable(struct api_call *call, struct db_conn *c, const char *what,
                          const struct mt_err *err)
{
    mt_log(MT_LOG_WARN, "health: %s: %s", what, err->msg);
    json_t *d = json_pack("{s:s}", "dialect", db_dialect_name(db_conn_dialect(c)));
    reply_failed(call, "unhealthy",
                 err->code == MT_ETIMEOUT ? "database not answering" : "database query failed", d);
    return 0;
}

int api_health(struct api_call *call, struct mt_err *err)
{
    http_reply_json(
        call->r, call->op->status,
        json_pack("{s:s, s:s}", "status", "healthy", "version", call->r->app->cfg->version));
    return 0;
}

/* The database's failures are part of the report, so they never reach the
 * runner: this operation takes its own connection (no_db), with its own
 * short wait. */
int api_health_v1(struct api_call *call, struct mt_err *unused)
{
    struct http_req *r = call->r;
    const struct mt_config *cfg = r->app->cfg;
    int timeout_ms = cfg->db_health_timeout > 0 ? cfg->db_health_timeout : 2000;
    struct mt_err err;
    mt_err_clear(&err);
    /* Every step has the health check's own short limit, so that a stuck
     * database or a pool taken by stuck requests is reported, not waited
     * for. */
    struct db_conn *c = http_db_within(r, timeout_ms, &err);
    if (!c) {
        mt_log(MT_LOG_WARN, "health: no database connection: %s", err.msg);
        reply_failed(call, "unhealthy", "database unavailable", json_object());
        return 0;
    }
    if (db_ping(c, timeout_ms, &err) < 0)
        return reply_unusable(call, c, "the database did not answer", &err);
    /* A query on a table the API reads, under the health check's own
     * limits (the pool restores the request limits when the connection
     * returns). */
    if (db_set_timeouts(c, timeout_ms, timeout_ms, &err) < 0 ||
        db_query(c, "SELECT id FROM persons WHERE id = 0", NULL, 0, NULL, &err) < 0)
        return reply_unusable(call, c, "the database cannot serve requests", &err);
    if (db_storage_full(c)) {
        json_t *d = db_details(c, cfg);
        json_object_set_new(d, "storage", json_string("full"));
        reply_failed(call, "degraded", "database storage full, writes fail", d);
        return 0;
    }
    json_t *body = json_pack("{s:s, s:s, s:[{s:s, s:s, s:o}, o]}", "status", "healthy", "version",
                             cfg->version, "components", "component", "database", "status",
                             "healthy", "details", db_details(c, cfg), api_component(cfg));
    reply_report(call, call->op->status, body);
    return 0;
}
