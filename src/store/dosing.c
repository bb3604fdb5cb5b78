/* Recording a dose under the dosing rules, and a medication's state for its
 * views: the SQL that loads what the rules count (the medication's taken
 * doses around the instant, the person's ingredient limits and the doses
 * that contained those ingredients), the locks that make the check and the
 * insert one atomic step on every dialect and across processes, and the
 * insert of the dose with its ingredients' snapshot and its audit row. The
 * arithmetic itself is store/rules.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dosing.h"
#include "store/rules.h"
#include "store/store_int.h"

/* Whether the medication has ingredients comes with its row, so that the
 * common case (none) costs no statement more. */
#define MED_RULE_COLS                                                                              \
    "SELECT m.person_id, m.max_doses_per_day, m.limit_window, m.min_interval_minutes, m.name, "    \
    "EXISTS (SELECT 1 FROM medication_ingredients i WHERE i.medication_id = m.id) "                \
    "FROM medications m WHERE m.id = ?"
static const char sql_med[] = MED_RULE_COLS;
static const char sql_med_lock[] = MED_RULE_COLS " FOR UPDATE";
static const char sql_person_lock[] = "SELECT id FROM persons WHERE id = ? FOR UPDATE";
static const char sql_taken[] = "SELECT taken_at FROM doses WHERE medication_id = ? AND "
                                "status = 'taken' AND taken_at >= ? AND taken_at < ?";
static const char sql_taken_mysql[] =
    "SELECT taken_at FROM doses WHERE medication_id = ? AND status = 'taken' AND "
    "taken_at >= ? AND taken_at < ? LOCK IN SHARE MODE";
static const char sql_limits[] =
    "SELECT name_key, name, max_per_24h, unit FROM ingredient_limits WHERE person_id = ?";
static const char sql_limits_mysql[] = "SELECT name_key, name, max_per_24h, unit FROM "
                                       "ingredient_limits WHERE person_id = ? LOCK IN SHARE MODE";
/* The person's taken doses that contained the ingredient, whatever their
 * medication (also a deleted one): the snapshot taken when each was
 * recorded says how much. */
static const char sql_ing_taken[] =
    "SELECT d.taken_at, di.amount, di.unit FROM dose_ingredients di JOIN doses d ON "
    "d.id = di.dose_id WHERE d.person_id = ? AND d.status = 'taken' AND di.name_key = ? AND "
    "d.taken_at >= ? AND d.taken_at < ?";
static const char sql_ing_taken_mysql[] =
    "SELECT d.taken_at, di.amount, di.unit FROM dose_ingredients di JOIN doses d ON "
    "d.id = di.dose_id WHERE d.person_id = ? AND d.status = 'taken' AND di.name_key = ? AND "
    "d.taken_at >= ? AND d.taken_at < ? LOCK IN SHARE MODE";
static const char sql_insert[] =
    "INSERT INTO doses (medication_id, taken_at, person_id, status, status_reason, note, "
    "recorded_by, recorded_by_id, recorded_at, override_rule, override_reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_insert_pg[] =
    "INSERT INTO doses (medication_id, taken_at, person_id, status, status_reason, note, "
    "recorded_by, recorded_by_id, recorded_at, override_rule, override_reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

const char *store_rule_word(enum store_rule r)
{
    switch (r) {
    case STORE_RULE_DAY_MAX:
    case STORE_RULE_ROLLING_MAX:
        return "window_full";
    case STORE_RULE_INTERVAL:
        return "interval";
    case STORE_RULE_INGREDIENT:
        return "ingredient_limit";
    case STORE_RULE_NONE:
        break;
    }
    return NULL;
}

/* A medication's rules as its row states them. */
struct med_rules {
    int64_t id, person_id, max_doses, interval_minutes;
    bool rolling;
    bool has_ingredients;
    const char *name;
};

/* ---- loading what the rules count ----------------------------------------------------------- */

/* The instants [lo, hi) whose doses can matter for a dose at t and for the
 * next allowed instant from `from`: the windows around either, the
 * interval on both sides, and the calendar days after them. */
static void span(const struct med_rules *m, struct mt_tz tz, int64_t t, int64_t from, int64_t *lo,
                 int64_t *hi)
{
    int64_t reach = RULES_DAY_US;
    int64_t interval = m->interval_minutes * 60 * INT64_C(1000000);
    if (interval > reach)
        reach = interval;
    int64_t early = t < from ? t : from;
    int64_t late = t > from ? t : from;
    struct mt_date d = mt_tz_local_date(tz, early);
    int64_t day_start = mt_tz_day_window(tz, d, d).start_us;
    *lo = mt_instant_clamp((day_start < early - reach ? day_start : early - reach));
    *hi = mt_instant_clamp(late + reach + 3 * RULES_DAY_US);
}

struct time_list {
    struct mt_arena *a;
    int64_t *at;
    size_t n, cap;
};

static int add_taken(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct time_list *l = ctx;
    size_t len = 0;
    const char *s = db_col_text(st, 0, &len);
    int64_t us;
    /* A time that cannot be read counts nowhere, as in every day count. */
    if (!s || mt_parse_timestamp(s, len, &us) < 0)
        return 0;
    if (store_grow(l->a, (void **)&l->at, &l->cap, l->n, sizeof(*l->at), err) < 0)
        return -1;
    l->at[l->n++] = us;
    return 0;
}

struct amount_list {
    struct mt_arena *a;
    const struct store_qty *limit;
    struct rules_amount *items;
    size_t n, cap;
};

static int add_amount(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct amount_list *l = ctx;
    size_t len = 0;
    const char *s = db_col_text(st, 0, &len);
    int64_t us;
    if (!s || mt_parse_timestamp(s, len, &us) < 0)
        return 0;
    if (store_grow(l->a, (void **)&l->items, &l->cap, l->n, sizeof(*l->items), err) < 0)
        return -1;
    bool has = false;
    double amount = store_col_number(st, 1, &has);
    const char *unit = db_col_text(st, 2, NULL);
    struct store_qty q;
    struct rules_amount *x = &l->items[l->n++];
    x->at = us;
    x->amount = 0;
    x->incomparable = true;
    if (has && store_qty_make(amount, unit ? unit : "", &q) == 0 &&
        store_qty_comparable(&q, l->limit)) {
        x->amount = q.value;
        x->incomparable = false;
    }
    return 0;
}

struct limit_row {
    const char *key, *name, *unit;
    double max;
};

static int read_limit_row(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct limit_row *r = item;
    bool oom = false, has = false;
    r->key = store_col_text(st, 0, a, &oom);
    r->name = store_col_text(st, 1, a, &oom);
    r->max = store_col_number(st, 2, &has);
    r->unit = store_col_text(st, 3, a, &oom);
    if (!oom && (!r->key || !r->name || !r->unit))
        r->key = r->name = r->unit = "";
    return oom ? store_oom(err) : 0;
}

/* Fills *rm with everything the rules need for a dose of m at t and for
 * the next instant from `from`: ings are the medication's ingredients. */
static int load_rules(struct db_conn *c, struct mt_arena *a, const struct med_rules *m,
                      struct mt_tz tz,
                      const struct store_ingredient *ings, size_t n_ings, int64_t t, int64_t from,
                      struct rules_med *rm, struct mt_err *err)
{
    memset(rm, 0, sizeof(*rm));
    rm->max_doses = m->max_doses;
    rm->rolling = m->rolling;
    rm->interval_us = m->interval_minutes * 60 * INT64_C(1000000);
    rm->tz = tz;
    int64_t lo, hi;
    span(m, tz, t, from, &lo, &hi);
    char lo_buf[MT_TIME_BUF], hi_buf[MT_TIME_BUF];
    struct db_param lo_p = store_time_param(lo, lo_buf), hi_p = store_time_param(hi, hi_buf);
    struct db_param p[] = {DB_INT(m->id), lo_p, hi_p};
    struct time_list own = {.a = a};
    if (db_query_each(c, store_sql_latest(c, sql_taken, sql_taken_mysql), p, 3, add_taken, &own,
                      err) < 0)
        return -1;
    rm->taken = own.at;
    rm->n_taken = own.n;
    if (n_ings == 0)
        return 0;

    struct db_param pp[] = {DB_INT(m->person_id)};
    void *items = NULL;
    size_t n_limits = 0;
    if (store_query_rows(c, a, store_sql_latest(c, sql_limits, sql_limits_mysql), pp, 1,
                         sizeof(struct limit_row), read_limit_row, &items, &n_limits, err) < 0)
        return -1;
    const struct limit_row *limits = items;
    struct rules_ingredient *g = mt_arena_calloc(a, n_ings, sizeof(*g));
    if (!g)
        return store_oom(err);
    size_t n = 0;
    for (size_t i = 0; i < n_ings; i++) {
        char *key = store_name_key(a, ings[i].name);
        if (!key)
            return store_oom(err);
        const struct limit_row *lim = NULL;
        for (size_t k = 0; k < n_limits && !lim; k++)
            if (strcmp(limits[k].key, key) == 0)
                lim = &limits[k];
        if (!lim)
            continue;
        struct store_qty *lq = mt_arena_alloc(a, sizeof(*lq));
        struct store_qty dq;
        if (!lq)
            return store_oom(err);
        if (store_qty_make(lim->max, lim->unit, lq) < 0)
            continue;
        struct rules_ingredient *x = &g[n++];
        x->name = lim->name;
        x->unit = lim->unit;
        x->per_unit = store_qty_per_unit(lim->unit);
        x->limit = lq->value;
        x->dose_incomparable =
            store_qty_make(ings[i].amount, ings[i].unit, &dq) < 0 || !store_qty_comparable(&dq, lq);
        x->dose = x->dose_incomparable ? 0 : dq.value;
        struct amount_list l = {.a = a, .limit = lq};
        struct db_param ip[] = {DB_INT(m->person_id), DB_TEXT(key), lo_p, hi_p};
        if (db_query_each(c, store_sql_latest(c, sql_ing_taken, sql_ing_taken_mysql), ip, 4,
                          add_amount, &l, err) < 0)
            return -1;
        x->taken = l.items;
        x->n_taken = l.n;
    }
    rm->ing = g;
    rm->n_ing = n;
    return 0;
}

/* ---- a medication's state ------------------------------------------------------------------ */

int store_med_verdict(struct db_conn *c, struct mt_arena *a, const struct store_medication *m,
                      int64_t now_us, struct mt_tz tz, struct store_verdict *out,
                      struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    struct med_rules r = {.id = m->id,
                          .person_id = m->person_id,
                          .max_doses = m->max_doses_per_day,
                          .interval_minutes = m->min_interval_minutes,
                          .rolling = m->rolling_24h,
                          .name = m->name};
    struct rules_med rm;
    if (load_rules(c, a, &r, tz, m->ingredients, m->n_ingredients, now_us, now_us, &rm, err) < 0)
        return -1;
    rules_check(&rm, now_us, out);
    if (out->rule != STORE_RULE_NONE)
        rules_next(&rm, now_us, out);
    return 0;
}

/* ---- recording ---------------------------------------------------------------------------- */

struct record_ctx {
    struct mt_arena *a;
    const struct store_record_req *req;
    struct store_record_out *out;
};

/* The rules' words for every rule in broken, comma-separated. */
static const char *rule_list(struct mt_arena *a, unsigned broken)
{
    static const enum store_rule order[] = {STORE_RULE_DAY_MAX, STORE_RULE_ROLLING_MAX,
                                            STORE_RULE_INTERVAL, STORE_RULE_INGREDIENT};
    char buf[96] = "";
    size_t o = 0;
    const char *last = NULL;
    for (size_t i = 0; i < MT_ARRAY_LEN(order); i++) {
        if (!(broken & STORE_RULE_BIT(order[i])))
            continue;
        const char *w = store_rule_word(order[i]);
        if (last && strcmp(last, w) == 0)
            continue;
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? "," : "", w);
        last = w;
    }
    return mt_arena_strdup(a, buf);
}

static int read_med_rules(struct db_conn *c, struct mt_arena *a, int64_t id, struct med_rules *m,
                          struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    struct db_param p[] = {DB_INT(id)};
    struct db_stmt *st;
    /* The medication row is locked first (SQLite: the write transaction is
     * the one writer), so two requests cannot both count below a limit. */
    if (db_query(c, store_sql_locking(c, sql_med, sql_med_lock, sql_med_lock), p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    bool oom = false;
    if (rc == 1) {
        size_t len = 0;
        const char *window = db_col_text(st, 2, &len);
        m->id = id;
        m->person_id = db_col_int(st, 0);
        m->max_doses = db_col_int(st, 1);
        m->rolling = window && strcmp(window, "rolling_24h") == 0;
        m->interval_minutes = db_col_int(st, 3);
        m->name = store_col_text(st, 4, a, &oom);
        m->has_ingredients = db_col_int(st, 5) != 0;
    }
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    return oom ? store_oom(err) : 0;
}

static int insert_dose(struct db_conn *c, struct record_ctx *x, const struct med_rules *m,
                       const char *override_rule, struct mt_err *err)
{
    const struct store_record_req *req = x->req;
    struct store_dose *d = &x->out->dose;
    char at[MT_TIME_BUF], rec[MT_TIME_BUF];
    int64_t now = mt_now_us();
    enum store_dose_status status = req->skip ? STORE_SKIPPED : STORE_TAKEN;
    const char *by = req->actor.name ? req->actor.name : STORE_ANONYMOUS_NAME;
    struct db_param p[] = {DB_INT(m->id),
                           store_time_param(req->taken_us, at),
                           DB_INT(m->person_id),
                           DB_TEXT(store_status_name(status)),
                           DB_TEXT(req->skip ? req->reason : NULL),
                           DB_TEXT(req->note),
                           DB_TEXT(by),
                           req->actor.id ? DB_INT(req->actor.id) : DB_NULL,
                           store_time_param(now, rec),
                           DB_TEXT(override_rule),
                           DB_TEXT(override_rule ? req->override_reason : NULL)};
    int64_t id = 0;
    if (store_insert_id(c, sql_insert, sql_insert_pg, p, MT_ARRAY_LEN(p), &id, err) < 0)
        return -1;
    memset(d, 0, sizeof(*d));
    d->id = id;
    d->has_medication = true;
    d->medication_id = m->id;
    d->taken_at = (struct store_time){true, true, req->taken_us, NULL};
    d->status = status;
    d->status_reason = req->skip ? req->reason : NULL;
    d->note = req->note;
    d->recorded_by = by;
    d->recorded_at = (struct store_time){true, true, now, NULL};
    d->override_rule = override_rule;
    d->override_reason = override_rule ? req->override_reason : NULL;
    d->person_id = m->person_id;
    return 0;
}

static int lock_person(struct db_conn *c, int64_t person_id, struct mt_err *err)
{
    if (db_conn_dialect(c) == DB_SQLITE)
        return 0;
    struct db_param p[] = {DB_INT(person_id)};
    return store_exec(c, sql_person_lock, p, 1, err);
}

static int record_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct record_ctx *x = vctx;
    const struct store_record_req *req = x->req;
    struct store_record_out *out = x->out;
    memset(out, 0, sizeof(*out));
    struct med_rules m;
    if (read_med_rules(c, x->a, req->medication_id, &m, err) < 0)
        return -1;
    const char *override_rule = NULL;
    struct store_medication ing = {.id = m.id};
    if (!req->skip) {
        if (m.has_ingredients && store_med_ingredients(c, x->a, &ing, err) < 0)
            return -1;
        /* Totals of an ingredient span the person's medications, so the
         * person is locked too, after the medication as every recording
         * does: two doses of different medications cannot both fit. */
        if (ing.n_ingredients && lock_person(c, m.person_id, err) < 0)
            return -1;
        struct rules_med rm;
        if (load_rules(c, x->a, &m, req->tz, ing.ingredients, ing.n_ingredients, req->taken_us,
                       req->now_us, &rm, err) < 0)
            return -1;
        rules_check(&rm, req->taken_us, &out->verdict);
        if (out->verdict.rule != STORE_RULE_NONE) {
            rules_next(&rm, req->now_us, &out->verdict);
            if (!req->override) {
                out->refused = true;
                return 0;
            }
            override_rule = rule_list(x->a, out->verdict.broken);
            if (!override_rule)
                return store_oom(err);
        }
    }
    if (insert_dose(c, x, &m, override_rule, err) < 0 ||
        store_dose_ingredients_insert(c, x->a, out->dose.id, ing.ingredients, ing.n_ingredients,
                                      err) < 0)
        return -1;
    const char *action = req->skip ? "skip" : override_rule ? "override" : "record";
    return store_audit_change(c, &req->actor, action, "dose", out->dose.id, m.person_id, NULL,
                              store_json_dose(&out->dose), err);
}

int store_dose_record(struct db_conn *c, struct mt_arena *a, const struct store_record_req *req,
                      struct store_record_out *out, struct mt_err *err)
{
    struct record_ctx x = {a, req, out};
    return store_write_tx(c, record_tx, &x, err);
}
