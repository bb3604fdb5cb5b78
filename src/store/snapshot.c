/* The snapshots the audit trail keeps of a row before and after a change:
 * compact JSON of its columns under our own names, written once by jansson
 * and then stored and hashed byte for byte (store/audit.c), plus small
 * column helpers the dosing files share. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/auth.h"
#include "store/dosing.h"
#include "store/store_int.h"

static json_t *time_json(const struct store_time *t)
{
    if (!t->present)
        return json_null();
    if (!t->parsed)
        return json_string(t->raw ? t->raw : "");
    char buf[MT_TIME_BUF];
    return json_string(mt_format_iso(t->us, buf, sizeof(buf)));
}

static json_t *text_json(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *id_json(int64_t id)
{
    return id ? json_integer((json_int_t)id) : json_null();
}

/* Serialises and releases j. Decimal amounts are written with at most 15
 * significant digits, so 0.1 reads 0.1. */
static char *dump(json_t *j)
{
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(j);
    return s;
}

char *store_json_person(const struct store_person *p)
{
    if (!p)
        return NULL;
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer((json_int_t)p->id));
    json_object_set_new(j, "first_name", text_json(p->first_name));
    json_object_set_new(j, "last_name", text_json(p->last_name));
    json_object_set_new(j, "date_of_birth", text_json(p->date_of_birth));
    json_object_set_new(j, "notes", text_json(p->notes));
    json_object_set_new(j, "is_default", json_boolean(p->is_default));
    /* Issue 16; only when set, so that the snapshots of persons without a
     * zone of their own keep their earlier form. */
    if (p->timezone)
        json_object_set_new(j, "timezone", json_string(p->timezone));
    return dump(j);
}

char *store_json_med(const struct store_medication *m)
{
    if (!m)
        return NULL;
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer((json_int_t)m->id));
    json_object_set_new(j, "person_id", json_integer((json_int_t)m->person_id));
    json_object_set_new(j, "name", text_json(m->name));
    json_object_set_new(j, "dosage", text_json(m->dosage));
    json_object_set_new(j, "frequency", text_json(m->frequency));
    json_object_set_new(j, "max_doses_per_day", json_integer((json_int_t)m->max_doses_per_day));
    json_object_set_new(j, "instructions", text_json(m->instructions));
    json_object_set_new(j, "limit_window",
                        json_string(m->rolling_24h ? "rolling_24h" : "calendar_day"));
    json_object_set_new(j, "min_interval_minutes", id_json(m->min_interval_minutes));
    json_object_set_new(j, "dose_amount",
                        m->has_dose_amount ? json_real(m->dose_amount) : json_null());
    json_object_set_new(j, "dose_unit", text_json(m->dose_unit));
    json_t *ing = json_array();
    for (size_t i = 0; i < m->n_ingredients; i++)
        json_array_append_new(ing,
                              json_pack("{s:s, s:f, s:s}", "name", m->ingredients[i].name, "amount",
                                        m->ingredients[i].amount, "unit", m->ingredients[i].unit));
    json_object_set_new(j, "ingredients", ing);
    /* Issue 16; only when scheduled, as for a person's zone. */
    if (m->has_schedule)
        json_object_set_new(j, "schedule", mt_schedule_to_json(&m->schedule));
    return dump(j);
}

char *store_json_dose(const struct store_dose *d)
{
    if (!d)
        return NULL;
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer((json_int_t)d->id));
    json_object_set_new(j, "medication_id",
                        d->has_medication ? json_integer((json_int_t)d->medication_id)
                                          : json_null());
    json_object_set_new(j, "medication_name", text_json(d->medication_name));
    json_object_set_new(j, "person_id", id_json(d->person_id));
    json_object_set_new(j, "taken_at", time_json(&d->taken_at));
    json_object_set_new(j, "status", json_string(store_status_name(d->status)));
    json_object_set_new(j, "status_reason", text_json(d->status_reason));
    json_object_set_new(j, "note", text_json(d->note));
    json_object_set_new(j, "recorded_by", text_json(d->recorded_by));
    json_object_set_new(j, "override_rule", text_json(d->override_rule));
    json_object_set_new(j, "override_reason", text_json(d->override_reason));
    return dump(j);
}

char *store_json_limit(const struct store_limit *l)
{
    if (!l)
        return NULL;
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer((json_int_t)l->id));
    json_object_set_new(j, "person_id", json_integer((json_int_t)l->person_id));
    json_object_set_new(j, "name", text_json(l->name));
    json_object_set_new(j, "max_per_24h", json_real(l->max_per_24h));
    json_object_set_new(j, "unit", text_json(l->unit));
    return dump(j);
}

char *store_json_account(const struct store_account *a)
{
    if (!a)
        return NULL;
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer((json_int_t)a->id));
    json_object_set_new(j, "login", text_json(a->login));
    json_object_set_new(j, "display_name", text_json(a->display_name));
    json_object_set_new(j, "role", json_string(store_role_name(a->role)));
    json_object_set_new(j, "enabled", json_boolean(a->enabled));
    json_object_set_new(j, "person_id", a->has_person ? id_json(a->person_id) : json_null());
    json_object_set_new(j, "has_password", json_boolean(a->has_password));
    json_t *ids = json_array();
    for (size_t i = 0; i < a->n_persons; i++)
        json_array_append_new(ids, json_integer((json_int_t)a->persons[i]));
    json_object_set_new(j, "persons", ids);
    return dump(j);
}

char *store_json_token(const struct store_token *t)
{
    if (!t)
        return NULL;
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer((json_int_t)t->id));
    json_object_set_new(j, "account_id", json_integer((json_int_t)t->account_id));
    json_object_set_new(j, "name", text_json(t->name));
    json_object_set_new(j, "prefix", text_json(t->prefix));
    json_object_set_new(j, "scope", json_string(store_scope_name(t->scope)));
    json_object_set_new(j, "person_id", t->has_person ? id_json(t->person_id) : json_null());
    json_object_set_new(j, "expires_at", time_json(&t->expires_at));
    json_object_set_new(j, "revoked_at", time_json(&t->revoked_at));
    return dump(j);
}

int store_audit_change(struct db_conn *c, const struct store_actor *actor, const char *action,
                       const char *entity, int64_t entity_id, int64_t person_id, char *before,
                       char *after, struct mt_err *err)
{
    int rc = store_audit_append(c, actor, action, entity, entity_id, person_id, before, after, err);
    free(before);
    free(after);
    return rc;
}

int store_audit_update(struct db_conn *c, const struct store_actor *actor, const char *entity,
                       int64_t entity_id, int64_t person_id, char *before, char *after,
                       struct mt_err *err)
{
    if (before && after && strcmp(before, after) == 0) {
        free(before);
        free(after);
        return 0;
    }
    return store_audit_change(c, actor, "update", entity, entity_id, person_id, before, after, err);
}

double store_col_number(struct db_stmt *st, int i, bool *has)
{
    *has = !db_col_null(st, i);
    return *has ? db_col_double(st, i) : 0.0;
}

const char *store_sql_latest(struct db_conn *c, const char *sql, const char *mysql_sql)
{
    return db_conn_dialect(c) == DB_MYSQL ? mysql_sql : sql;
}
