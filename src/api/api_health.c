/* GET /api/v1/health: the reference's component report (database, api),
 * with the database checked by a query on a pooled connection. The database
 * component's details also name the dialect and the schema revision
 * (current and head), so that a deployment can see a pending migration. A
 * failing database is 500 "Health check failed: ...", as in the reference,
 * without the driver's message (it is logged). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
#include "core/log.h"
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

static void reply_failed(struct http_req *r, const char *what)
{
    http_reply_detail(r, 500, mt_arena_printf(r->arena, "Health check failed: %s", what));
}

void api_health_v1(struct http_req *r)
{
    const struct mt_config *cfg = r->app->cfg;
    struct mt_err err;
    mt_err_clear(&err);
    struct db_conn *c = http_db(r, &err);
    if (!c) {
        mt_log(MT_LOG_WARN, "health: no database connection: %s", err.msg);
        reply_failed(r, "database unavailable");
        return;
    }
    int64_t one = 0;
    if (db_query_int(c, "SELECT 1", NULL, 0, &one, NULL, &err) < 0 || one != 1) {
        mt_log(MT_LOG_WARN, "health: database query failed: %s", err.msg);
        reply_failed(r, "database query failed");
        return;
    }
    char *current = NULL;
    if (mig_current(c, &current, &err) < 0) {
        mt_log(MT_LOG_WARN, "health: cannot read the schema revision: %s", err.msg);
        current = NULL;
    }
    const char *head = head_revision(cfg);
    json_t *db_details = json_object();
    json_object_set_new(db_details, "dialect", json_string(db_dialect_name(db_conn_dialect(c))));
    json_object_set_new(db_details, "revision", current ? json_string(current) : json_null());
    json_object_set_new(db_details, "head", head ? json_string(head) : json_null());
    json_object_set_new(db_details, "up_to_date",
                        json_boolean(current && head && strcmp(current, head) == 0));
    free(current);

    char now[MT_TIME_BUF];
    mt_format_iso(mt_now_us(), now, sizeof(now));
    json_t *body =
        json_pack("{s:s, s:s, s:[{s:s, s:s, s:o}, {s:s, s:s, s:{s:s, s:s}}]}", "status", "healthy",
                  "version", cfg->version, "components", "component", "database", "status",
                  "healthy", "details", db_details, "component", "api", "status", "healthy",
                  "details", "timestamp", now, "environment", cfg->environment);
    api_reply_json(r, 200, body);
}
