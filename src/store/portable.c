/* The SQL of the portable export and import and of the FHIR bundle's extra
 * reads (store/portable.h): the whole record as one streamed statement in
 * document order, the inserts of an import with fresh ids, and the names of
 * a person's deleted medications. Every value is bound; the only text built
 * here is the multi-row dose INSERT, from constant pieces. */
#include "store/portable.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/schedules.h"
#include "store/store_int.h"

/* ---- snapshots ------------------------------------------------------------------------------ */

int store_snapshot_begin(struct db_conn *c, struct mt_err *err)
{
    return db_begin_snapshot(c, err);
}

void store_snapshot_end(struct db_conn *c)
{
    struct mt_err ignored;
    db_rollback(c, &ignored);
}

/* ---- the export ----------------------------------------------------------------------------- */

/* The record in document order as one statement, so that it is one
 * snapshot on every dialect and the client holds one row at a time. Every
 * branch has the same columns:
 *   0 part (0: the persons' tree, 1: doses of deleted medications)
 *   1 person id (0 for a deleted medication's dose without a person)
 *   2 medication id (0 on a person's row)   3 kind (enum store_export_kind)
 *   4 0 when taken_at is NULL, else 1 (NULLs sort alike on every dialect)
 *   5 taken_at   6 dose id   7-10 texts   11 an integer   12 date of birth
 *   13 created_at (a dose's recorded_at)   14 updated_at
 *   15 a deleted medication's dose's person   16 a dose ingredient's key
 *   17 a word (limit_window, status)   18 min_interval_minutes
 *   19 an amount   20 a unit   21-23 texts (21: a person's zone)
 * A dose with several ingredients in its snapshot comes as one row per
 * ingredient (the LEFT JOIN), in key order (16), one after the other.
 * New columns of a kind join its branch, NULL in the others, and its read
 * function below. Every dose is exported, whatever its status. */
/* The persons' branch comes first and fills every column with a value of
 * the column's type (repeating its own where it has nothing to say: the
 * reader ignores those), since PostgreSQL types a UNION's columns pair by
 * pair from the left and would make two NULLs text, which a later
 * timestamp cannot join. */
#define EXPORT_PERSONS                                                                             \
    "SELECT 0, p.id, 0, 0, 0, p.created_at, 0, p.first_name, p.last_name, p.notes, p.first_name, " \
    "CASE WHEN p.is_default THEN 1 ELSE 0 END, p.date_of_birth, p.created_at, p.updated_at, "      \
    "p.id, p.first_name, p.first_name, p.id, 0.5, p.first_name, p.timezone, p.first_name, "        \
    "p.first_name FROM persons p"
#define EXPORT_MEDS                                                                                \
    "SELECT 0, m.person_id, m.id, 1, 0, NULL, 0, m.name, m.dosage, m.frequency, m.instructions, "  \
    "m.max_doses_per_day, NULL, m.created_at, m.updated_at, NULL, NULL, m.limit_window, "          \
    "m.min_interval_minutes, m.dose_amount, m.dose_unit, NULL, NULL, NULL FROM medications m"
#define DOSE_COLS                                                                                  \
    "CASE WHEN d.taken_at IS NULL THEN 0 ELSE 1 END, d.taken_at, d.id, d.medication_name, "        \
    "d.status_reason, d.note, d.recorded_by, 0, NULL, d.recorded_at, d.updated_at, "               \
    "d.person_id, di.name_key, d.status, NULL, di.amount, di.unit, d.override_rule, "              \
    "d.override_reason, di.name "
#define EXPORT_DOSES                                                                               \
    "SELECT 0, m.person_id, m.id, 2, " DOSE_COLS                                                   \
    "FROM doses d JOIN medications m ON m.id = d.medication_id "                                   \
    "LEFT JOIN dose_ingredients di ON di.dose_id = d.id"
#define EXPORT_DELETED                                                                             \
    "SELECT 1, COALESCE(d.person_id, 0), 0, 3, " DOSE_COLS                                         \
    "FROM doses d LEFT JOIN dose_ingredients di ON di.dose_id = d.id "                             \
    "WHERE d.medication_id IS NULL"
#define EXPORT_ORDER " ORDER BY 1, 2, 3, 4, 5, 6, 7, 17"

static const char sql_export_all[] = EXPORT_PERSONS
    " UNION ALL " EXPORT_MEDS " UNION ALL " EXPORT_DOSES " UNION ALL " EXPORT_DELETED EXPORT_ORDER;
static const char sql_export_person[] = EXPORT_PERSONS
    " WHERE p.id = ? UNION ALL " EXPORT_MEDS " WHERE m.person_id = ? UNION ALL " EXPORT_DOSES
    " WHERE m.person_id = ? UNION ALL " EXPORT_DELETED " AND d.person_id = ?" EXPORT_ORDER;

/* The medications' ingredients and the persons' limits, read before the
 * walk (in the same snapshot) in the walk's order: by person, then by
 * medication (a person's medications need not have the lowest ids). */
#define INGREDIENTS                                                                                \
    "SELECT m.person_id, i.medication_id, i.name, i.amount, i.unit FROM medication_ingredients i " \
    "JOIN medications m ON m.id = i.medication_id"
#define INGREDIENTS_ORDER " ORDER BY m.person_id, i.medication_id, i.position"
static const char sql_ingredients_all[] = INGREDIENTS INGREDIENTS_ORDER;
static const char sql_ingredients_person[] = INGREDIENTS " WHERE m.person_id = ?" INGREDIENTS_ORDER;
#define LIMIT_COLS "l.id, l.person_id, l.name, l.max_per_24h, l.unit, l.created_at, l.updated_at"
static const char sql_limits_all[] =
    "SELECT " LIMIT_COLS " FROM ingredient_limits l ORDER BY l.person_id, l.name_key";
static const char sql_limits_person[] =
    "SELECT " LIMIT_COLS " FROM ingredient_limits l WHERE l.person_id = ? "
    "ORDER BY l.person_id, l.name_key";

/* A timestamp column read without copying (raw is borrowed). */
static struct store_time col_time(struct db_stmt *st, int i)
{
    size_t len = 0;
    const char *s = db_col_text(st, i, &len);
    return store_time_of(s, len);
}

/* A DATE column as "YYYY-MM-DD" in buf (a value stored with a time part,
 * by another tool, keeps its date), or NULL. */
static const char *col_date(struct db_stmt *st, int i, char *buf, size_t cap)
{
    size_t len = 0;
    const char *s = db_col_text(st, i, &len);
    if (!s)
        return NULL;
    len = store_date_len(s, len);
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

static void read_person(struct db_stmt *st, struct store_person *p, char *dob, size_t dob_cap)
{
    p->id = db_col_int(st, 1);
    p->first_name = db_col_text(st, 7, NULL);
    if (!p->first_name)
        p->first_name = "";
    p->last_name = db_col_text(st, 8, NULL);
    p->notes = db_col_text(st, 9, NULL);
    p->is_default = db_col_int(st, 11) != 0;
    p->date_of_birth = col_date(st, 12, dob, dob_cap);
    p->created_at = col_time(st, 13);
    p->updated_at = col_time(st, 14);
    p->medication_count = -1;
    p->timezone = db_col_text(st, 21, NULL);
}

static void read_medication(struct db_stmt *st, struct store_medication *m)
{
    m->person_id = db_col_int(st, 1);
    m->id = db_col_int(st, 2);
    m->name = db_col_text(st, 7, NULL);
    m->dosage = db_col_text(st, 8, NULL);
    m->frequency = db_col_text(st, 9, NULL);
    m->instructions = db_col_text(st, 10, NULL);
    m->max_doses_per_day = db_col_int(st, 11);
    m->created_at = col_time(st, 13);
    m->updated_at = col_time(st, 14);
    m->doses_in_day = -1;
    m->last_taken_at = (struct store_time){false, false, 0, NULL};
    const char *window = db_col_text(st, 17, NULL);
    m->rolling_24h = window && strcmp(window, "rolling_24h") == 0;
    m->min_interval_minutes = db_col_null(st, 18) ? 0 : db_col_int(st, 18);
    m->dose_amount = store_col_number(st, 19, &m->has_dose_amount);
    m->dose_unit = db_col_text(st, 20, NULL);
    /* NOT NULL columns; an old database may still hold a NULL. */
    if (!m->name)
        m->name = "";
    if (!m->dosage)
        m->dosage = "";
    if (!m->frequency)
        m->frequency = "";
}

static enum store_dose_status col_status(struct db_stmt *st, int i)
{
    const char *s = db_col_text(st, i, NULL);
    if (s && strcmp(s, "skipped") == 0)
        return STORE_SKIPPED;
    if (s && strcmp(s, "entered_in_error") == 0)
        return STORE_ENTERED_IN_ERROR;
    return STORE_TAKEN;
}

static void read_dose(struct db_stmt *st, enum store_export_kind kind, struct store_export_dose *d)
{
    d->id = db_col_int(st, 6);
    d->has_medication = kind == STORE_EXPORT_DOSE;
    d->medication_id = d->has_medication ? db_col_int(st, 2) : 0;
    if (d->has_medication) {
        d->has_person = true;
        d->person_id = db_col_int(st, 1);
    } else {
        d->has_person = !db_col_null(st, 15);
        d->person_id = d->has_person ? db_col_int(st, 15) : 0;
    }
    d->medication_name = db_col_text(st, 7, NULL);
    d->taken_at = col_time(st, 5);
    d->status = col_status(st, 17);
    d->status_reason = db_col_text(st, 8, NULL);
    d->note = db_col_text(st, 9, NULL);
    d->recorded_by = db_col_text(st, 10, NULL);
    d->recorded_at = col_time(st, 13);
    d->updated_at = col_time(st, 14);
    d->override_rule = db_col_text(st, 21, NULL);
    d->override_reason = db_col_text(st, 22, NULL);
    d->ingredient.name = db_col_text(st, 23, NULL);
    d->ingredient.unit = db_col_text(st, 20, NULL);
    bool has_amount = false;
    d->ingredient.amount = store_col_number(st, 19, &has_amount);
    d->has_ingredient = d->ingredient.name && d->ingredient.unit && has_amount;
}

/* What the walk holds besides the cursor: the ingredients and limits read
 * before it, consumed in the walk's order. */
struct extras {
    struct mt_arena *a;
    struct store_ingredient *ings;
    int64_t *ing_person, *ing_med; /* the person and medication of each ingredient */
    size_t n_ings, cap_ings, next_ing;
    struct store_limit *limits;
    size_t n_limits, cap_limits, next_limit;
    /* The scheduled medications, by person and medication (the walk's
     * order). */
    struct store_scheduled *scheds;
    size_t n_scheds, next_sched;
};

static int add_ingredient(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct extras *e = ctx;
    if (e->n_ings == e->cap_ings) {
        size_t cap = e->cap_ings ? 2 * e->cap_ings : 64;
        struct store_ingredient *ings = mt_arena_calloc(e->a, cap, sizeof(*ings));
        int64_t *persons = mt_arena_calloc(e->a, cap, sizeof(*persons));
        int64_t *meds = mt_arena_calloc(e->a, cap, sizeof(*meds));
        if (!ings || !persons || !meds)
            return store_oom(err);
        if (e->n_ings) {
            memcpy(ings, e->ings, e->n_ings * sizeof(*ings));
            memcpy(persons, e->ing_person, e->n_ings * sizeof(*persons));
            memcpy(meds, e->ing_med, e->n_ings * sizeof(*meds));
        }
        e->ings = ings;
        e->ing_person = persons;
        e->ing_med = meds;
        e->cap_ings = cap;
    }
    bool oom = false, has = false;
    struct store_ingredient *g = &e->ings[e->n_ings];
    e->ing_person[e->n_ings] = db_col_int(st, 0);
    e->ing_med[e->n_ings] = db_col_int(st, 1);
    g->name = store_col_text(st, 2, e->a, &oom);
    g->amount = store_col_number(st, 3, &has);
    g->unit = store_col_text(st, 4, e->a, &oom);
    if (oom)
        return store_oom(err);
    if (!g->name)
        g->name = "";
    if (!g->unit)
        g->unit = "";
    e->n_ings++;
    return 0;
}

static int add_limit(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct extras *e = ctx;
    if (e->n_limits == e->cap_limits) {
        size_t cap = e->cap_limits ? 2 * e->cap_limits : 16;
        struct store_limit *l = mt_arena_calloc(e->a, cap, sizeof(*l));
        if (!l)
            return store_oom(err);
        if (e->n_limits)
            memcpy(l, e->limits, e->n_limits * sizeof(*l));
        e->limits = l;
        e->cap_limits = cap;
    }
    bool oom = false, has = false;
    struct store_limit *l = &e->limits[e->n_limits];
    l->id = db_col_int(st, 0);
    l->person_id = db_col_int(st, 1);
    l->name = store_col_text(st, 2, e->a, &oom);
    l->max_per_24h = store_col_number(st, 3, &has);
    l->unit = store_col_text(st, 4, e->a, &oom);
    l->created_at = store_col_time(st, 5, e->a, &oom);
    l->updated_at = store_col_time(st, 6, e->a, &oom);
    if (oom)
        return store_oom(err);
    if (!l->name)
        l->name = "";
    if (!l->unit)
        l->unit = "";
    e->n_limits++;
    return 0;
}

static int read_extras(struct db_conn *c, bool has_person, int64_t person_id, struct extras *e,
                       struct mt_err *err)
{
    struct db_param p[] = {DB_INT(person_id)};
    size_t n = has_person ? 1 : 0;
    if (db_query_each(c, has_person ? sql_ingredients_person : sql_ingredients_all, p, n,
                      add_ingredient, e, err) < 0)
        return -1;
    if (db_query_each(c, has_person ? sql_limits_person : sql_limits_all, p, n, add_limit, e, err) <
        0)
        return -1;
    return store_schedules_list(c, e->a, has_person, person_id, &e->scheds, &e->n_scheds, err);
}

/* Whether ingredient i belongs to a medication the walk has passed:
 * (person, medication) orders both the walk and the ingredients. */
static bool ingredient_before(const struct extras *e, size_t i, const struct store_medication *m)
{
    return e->ing_person[i] < m->person_id ||
           (e->ing_person[i] == m->person_id && e->ing_med[i] < m->id);
}

/* The ingredients of medication m (those of the medications before it in
 * the walk were consumed already). */
static void attach_ingredients(struct extras *e, struct store_medication *m)
{
    while (e->next_ing < e->n_ings && ingredient_before(e, e->next_ing, m))
        e->next_ing++;
    size_t first = e->next_ing;
    while (e->next_ing < e->n_ings && e->ing_person[e->next_ing] == m->person_id &&
           e->ing_med[e->next_ing] == m->id)
        e->next_ing++;
    m->ingredients = e->next_ing > first ? &e->ings[first] : NULL;
    m->n_ingredients = e->next_ing - first;
}

/* Whether schedule s belongs to a medication the walk has passed (the
 * schedules are in the walk's order, as the ingredients are). */
static bool schedule_before(const struct store_scheduled *s, const struct store_medication *m)
{
    return s->person_id < m->person_id ||
           (s->person_id == m->person_id && s->medication_id < m->id);
}

/* The schedule of the medication of row (none: as needed). A schedule
 * whose stored columns do not read back is flagged, never guessed at. */
static void attach_schedule(struct extras *e, struct store_export_row *row)
{
    const struct store_medication *m = &row->med;
    while (e->next_sched < e->n_scheds && schedule_before(&e->scheds[e->next_sched], m))
        e->next_sched++;
    if (e->next_sched == e->n_scheds)
        return;
    const struct store_scheduled *s = &e->scheds[e->next_sched];
    if (s->person_id != m->person_id || s->medication_id != m->id)
        return;
    e->next_sched++;
    row->med.has_schedule = s->valid;
    if (s->valid)
        row->med.schedule = s->sched;
    row->schedule_unreadable = !s->valid;
}

static void attach_limits(struct extras *e, struct store_export_row *row)
{
    while (e->next_limit < e->n_limits && e->limits[e->next_limit].person_id < row->person.id)
        e->next_limit++;
    size_t first = e->next_limit;
    while (e->next_limit < e->n_limits && e->limits[e->next_limit].person_id == row->person.id)
        e->next_limit++;
    row->limits = e->next_limit > first ? &e->limits[first] : NULL;
    row->n_limits = e->next_limit - first;
}

static int walk_rows(struct db_conn *c, bool has_person, int64_t person_id, struct extras *e,
                     store_export_fn fn, void *ctx, struct mt_err *err)
{
    struct db_param p[] = {DB_INT(person_id), DB_INT(person_id), DB_INT(person_id),
                           DB_INT(person_id)};
    struct db_stmt *st;
    if (db_query_stream(c, has_person ? sql_export_person : sql_export_all, p, has_person ? 4 : 0,
                        &st, err) < 0)
        return -1;
    /* The dose of the previous row, to tell a further ingredient of it. */
    int64_t last_dose = 0;
    int rc = db_next(st, err);
    while (rc == 1) {
        struct store_export_row row;
        char dob[16];
        memset(&row, 0, sizeof(row));
        row.kind = (enum store_export_kind)db_col_int(st, 3);
        switch (row.kind) {
        case STORE_EXPORT_PERSON:
            read_person(st, &row.person, dob, sizeof(dob));
            attach_limits(e, &row);
            last_dose = 0;
            break;
        case STORE_EXPORT_MEDICATION:
            read_medication(st, &row.med);
            attach_ingredients(e, &row.med);
            attach_schedule(e, &row);
            last_dose = 0;
            break;
        case STORE_EXPORT_DOSE:
        case STORE_EXPORT_DELETED_DOSE:
            read_dose(st, row.kind, &row.dose);
            row.dose.more_ingredient = row.dose.id == last_dose;
            last_dose = row.dose.id;
            break;
        }
        int stop = fn(&row, ctx, err);
        if (stop) {
            rc = stop < 0 ? -1 : stop;
            break;
        }
        rc = db_next(st, err);
    }
    db_done(st);
    return rc < 0 ? -1 : rc;
}

int store_export_walk(struct db_conn *c, bool has_person, int64_t person_id, store_export_fn fn,
                      void *ctx, struct mt_err *err)
{
    if (has_person && !store_id_ok(c, person_id))
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    /* The ingredients and limits of a household are a few rows each; the
     * arena only bounds a database that holds absurdly many. */
    struct extras e = {.a = mt_arena_new((size_t)64 << 20)};
    int rc = read_extras(c, has_person, person_id, &e, err);
    if (rc == 0)
        rc = walk_rows(c, has_person, person_id, &e, fn, ctx, err);
    mt_arena_free(e.a);
    return rc;
}

/* ---- the import ----------------------------------------------------------------------------- */

static const char sql_existing[] =
    "SELECT id, first_name, last_name, date_of_birth FROM persons ORDER BY id";

struct existing_list {
    struct store_import_existing *items;
    size_t n, cap;
};

static char *dup_col(struct db_stmt *st, int i)
{
    size_t len = 0;
    const char *s = db_col_text(st, i, &len);
    return s ? mt_xstrndup(s, len) : NULL;
}

static int add_existing(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    (void)err;
    struct existing_list *l = ctx;
    l->items = mt_xgrow(l->items, l->n, &l->cap, sizeof(*l->items));
    struct store_import_existing *e = &l->items[l->n++];
    char dob[16];
    const char *d = col_date(st, 3, dob, sizeof(dob));
    e->id = db_col_int(st, 0);
    e->first_name = dup_col(st, 1);
    if (!e->first_name)
        e->first_name = mt_xstrdup("");
    e->last_name = dup_col(st, 2);
    e->date_of_birth = d ? mt_xstrdup(d) : NULL;
    return 0;
}

int store_import_existing(struct db_conn *c, struct store_import_existing **out, size_t *n,
                          struct mt_err *err)
{
    struct existing_list l = {NULL, 0, 0};
    if (db_query_each(c, sql_existing, NULL, 0, add_existing, &l, err) < 0) {
        store_import_existing_free(l.items, l.n);
        return -1;
    }
    *out = l.items;
    *n = l.n;
    return 0;
}

void store_import_existing_free(struct store_import_existing *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].first_name);
        free(p[i].last_name);
        free(p[i].date_of_birth);
    }
    free(p);
}

int store_import_in_tx(struct db_conn *c, db_tx_fn fn, void *ctx, struct mt_err *err)
{
    return store_write_tx(c, fn, ctx, err);
}

int store_import_lock(struct db_conn *c, struct mt_err *err)
{
    return store_lock_persons(c, err);
}

#define PERSON_INSERT                                                                              \
    "INSERT INTO persons (first_name, last_name, date_of_birth, notes, is_default, created_at, "   \
    "updated_at, timezone) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
static const char sql_person[] = PERSON_INSERT;
static const char sql_person_pg[] = PERSON_INSERT " RETURNING id";
static const char sql_limit[] =
    "INSERT INTO ingredient_limits (person_id, name, name_key, max_per_24h, unit, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_limit_pg[] =
    "INSERT INTO ingredient_limits (person_id, name, name_key, max_per_24h, unit, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
#define MED_INSERT                                                                                 \
    "INSERT INTO medications (person_id, name, dosage, frequency, max_doses_per_day, "             \
    "instructions, created_at, updated_at, limit_window, min_interval_minutes, dose_amount, "      \
    "dose_unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
static const char sql_med[] = MED_INSERT;
static const char sql_med_pg[] = MED_INSERT " RETURNING id";
#define DOSE_INSERT                                                                                \
    "INSERT INTO doses (medication_id, person_id, medication_name, taken_at, status, "             \
    "status_reason, note, recorded_by, recorded_at, override_rule, override_reason, updated_at) "  \
    "VALUES "
#define DOSE_VALUES "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
enum { DOSE_PARAMS = 12 };

/* Scratch memory for the name keys of one row's ingredients. */
#define SCRATCH ((size_t)1 << 20)

static struct db_param time_param(struct store_import_time t, char *buf)
{
    return t.present ? store_time_param(t.us, buf) : DB_NULL;
}

static struct store_time time_value(struct store_import_time t)
{
    return (struct store_time){t.present, t.present, t.us, NULL};
}

int store_import_person(struct db_conn *c, struct store_audit_batch *audit,
                        const struct store_import_person_row *p, int64_t *id, struct mt_err *err)
{
    char dob[16], created[MT_TIME_BUF], updated[MT_TIME_BUF];
    const char *dob_text = p->has_dob ? mt_format_date(p->dob, dob, sizeof(dob)) : NULL;
    struct db_param v[] = {DB_TEXT(p->first_name),
                           DB_TEXT(p->last_name),
                           DB_TEXT(dob_text),
                           DB_TEXT(p->notes),
                           DB_BOOL(p->is_default),
                           time_param(p->created_at, created),
                           time_param(p->updated_at, updated),
                           DB_TEXT(p->timezone)};
    if (store_insert_id(c, sql_person, sql_person_pg, v, MT_ARRAY_LEN(v), id, err) < 0)
        return -1;
    struct store_person row = {
        .id = *id,
        .first_name = p->first_name,
        .last_name = p->last_name,
        .date_of_birth = dob_text,
        .notes = p->notes,
        .is_default = p->is_default,
        .created_at = time_value(p->created_at),
        .updated_at = time_value(p->updated_at),
        .medication_count = -1,
        .timezone = p->timezone,
    };
    return store_audit_batch_add(audit, "import", "person", *id, *id, store_json_person(&row), err);
}

int store_import_limits(struct db_conn *c, struct store_audit_batch *audit, int64_t person_id,
                        const struct store_import_limit_row *l, size_t n, struct mt_err *err)
{
    struct mt_arena *a = mt_arena_new(SCRATCH);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char created[MT_TIME_BUF], updated[MT_TIME_BUF];
        char *key = store_name_key(a, l[i].name);
        if (!key) {
            rc = store_oom(err);
            break;
        }
        struct db_param v[] = {DB_INT(person_id),
                               DB_TEXT(l[i].name),
                               DB_TEXT(key),
                               DB_DOUBLE(l[i].max_per_24h),
                               DB_TEXT(l[i].unit),
                               time_param(l[i].created_at, created),
                               time_param(l[i].updated_at, updated)};
        int64_t id = 0;
        rc = store_insert_id(c, sql_limit, sql_limit_pg, v, MT_ARRAY_LEN(v), &id, err);
        if (rc < 0)
            break;
        struct store_limit row = {
            .id = id,
            .person_id = person_id,
            .name = l[i].name,
            .max_per_24h = l[i].max_per_24h,
            .unit = l[i].unit,
            .created_at = time_value(l[i].created_at),
            .updated_at = time_value(l[i].updated_at),
        };
        rc = store_audit_batch_add(audit, "import", "ingredient_limit", id, person_id,
                                   store_json_limit(&row), err);
    }
    mt_arena_free(a);
    return rc;
}

int store_import_medication(struct db_conn *c, struct store_audit_batch *audit,
                            const struct store_import_medication_row *m, int64_t *id,
                            struct mt_err *err)
{
    char created[MT_TIME_BUF], updated[MT_TIME_BUF];
    struct db_param v[] = {DB_INT(m->person_id),
                           DB_TEXT(m->name),
                           DB_TEXT(m->dosage),
                           DB_TEXT(m->frequency),
                           DB_INT(m->max_doses_per_day),
                           DB_TEXT(m->instructions),
                           time_param(m->created_at, created),
                           time_param(m->updated_at, updated),
                           DB_TEXT(m->rolling_24h ? "rolling_24h" : "calendar_day"),
                           m->min_interval_minutes ? DB_INT(m->min_interval_minutes) : DB_NULL,
                           m->has_dose_amount ? DB_DOUBLE(m->dose_amount) : DB_NULL,
                           DB_TEXT(m->dose_unit)};
    if (store_insert_id(c, sql_med, sql_med_pg, v, MT_ARRAY_LEN(v), id, err) < 0)
        return -1;
    struct mt_arena *a = mt_arena_new(SCRATCH);
    int rc = store_med_ingredients_insert(c, a, *id, m->ingredients, m->n_ingredients, err);
    mt_arena_free(a);
    if (rc < 0)
        return -1;
    /* The schedule's own updated_at is the import's time: nothing reads it
     * back, and the document does not carry it (the API's form has none). */
    if (m->schedule && store_schedule_put(c, *id, m->schedule, err) < 0)
        return -1;
    struct store_medication row = {
        .id = *id,
        .person_id = m->person_id,
        .name = m->name,
        .dosage = m->dosage,
        .frequency = m->frequency,
        .max_doses_per_day = m->max_doses_per_day,
        .instructions = m->instructions,
        .created_at = time_value(m->created_at),
        .updated_at = time_value(m->updated_at),
        .doses_in_day = -1,
        .rolling_24h = m->rolling_24h,
        .min_interval_minutes = m->min_interval_minutes,
        .has_dose_amount = m->has_dose_amount,
        .dose_amount = m->dose_amount,
        .dose_unit = m->dose_unit,
        /* The snapshot only reads the list. */
        .ingredients = (struct store_ingredient *)m->ingredients,
        .n_ingredients = m->n_ingredients,
        .has_schedule = m->schedule != NULL,
    };
    if (m->schedule)
        row.schedule = *m->schedule;
    return store_audit_batch_add(audit, "import", "medication", *id, m->person_id,
                                 store_json_med(&row), err);
}

/* The text of the INSERT of n doses, built once from constant pieces (no
 * value is ever part of it) and kept for the life of the process. Every
 * engine returns the new ids (SQLite since 3.35, MariaDB since 10.5). */
static const char *dose_insert_sql(size_t n)
{
    static char *texts[STORE_IMPORT_DOSE_BATCH + 1];
    /* The text is made under no lock, so it is made at most once per
     * thread race and the loser's copy is freed. */
    char *t = __atomic_load_n(&texts[n], __ATOMIC_ACQUIRE);
    if (t)
        return t;
    struct mt_buf b;
    mt_buf_init(&b, 16384);
    mt_buf_adds(&b, DOSE_INSERT);
    for (size_t i = 0; i < n; i++) {
        if (i)
            mt_buf_adds(&b, ", ");
        mt_buf_adds(&b, DOSE_VALUES);
    }
    mt_buf_adds(&b, " RETURNING id");
    t = mt_xstrdup(b.data);
    mt_buf_release(&b);
    char *expected = NULL;
    if (!__atomic_compare_exchange_n(&texts[n], &expected, t, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        free(t);
        return expected;
    }
    return t;
}

struct dose_ids {
    int64_t ids[STORE_IMPORT_DOSE_BATCH];
    size_t n;
};

static int add_dose_id(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct dose_ids *x = ctx;
    if (x->n == STORE_IMPORT_DOSE_BATCH)
        return mt_fail(err, MT_EDB, "the dose INSERT returned more ids than rows");
    x->ids[x->n++] = db_col_int(st, 0);
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The snapshot of what each dose contained, and its audit row. */
static int dose_details(struct db_conn *c, struct store_audit_batch *audit, struct mt_arena *a,
                        const struct store_import_dose_row *r, int64_t id, struct mt_err *err)
{
    if (store_dose_ingredients_insert(c, a, id, r->ingredients, r->n_ingredients, err) < 0)
        return -1;
    struct store_dose row = {
        .id = id,
        .has_medication = r->has_medication,
        .medication_id = r->medication_id,
        .medication_name = r->medication_name,
        .taken_at = time_value(r->taken_at),
        .status = r->status,
        .status_reason = r->status_reason,
        .note = r->note,
        .recorded_by = r->recorded_by,
        .recorded_at = time_value(r->recorded_at),
        .override_rule = r->override_rule,
        .override_reason = r->override_reason,
        .updated_at = time_value(r->updated_at),
        .person_id = r->has_person ? r->person_id : 0,
    };
    return store_audit_batch_add(audit, "import", "dose", id, row.person_id, store_json_dose(&row),
                                 err);
}

int store_import_doses(struct db_conn *c, struct store_audit_batch *audit,
                       const struct store_import_dose_row *d, size_t n, struct mt_err *err)
{
    if (n == 0 || n > STORE_IMPORT_DOSE_BATCH)
        return mt_fail(err, MT_EINTERNAL, "a dose batch of %zu rows", n);
    struct db_param p[STORE_IMPORT_DOSE_BATCH * DOSE_PARAMS];
    char times[STORE_IMPORT_DOSE_BATCH][3][MT_TIME_BUF];
    for (size_t i = 0; i < n; i++) {
        const struct store_import_dose_row *r = &d[i];
        struct db_param *q = &p[i * DOSE_PARAMS];
        q[0] = r->has_medication ? DB_INT(r->medication_id) : DB_NULL;
        q[1] = r->has_person ? DB_INT(r->person_id) : DB_NULL;
        q[2] = DB_TEXT(r->medication_name);
        q[3] = time_param(r->taken_at, times[i][0]);
        q[4] = DB_TEXT(store_status_name(r->status));
        q[5] = DB_TEXT(r->status_reason);
        q[6] = DB_TEXT(r->note);
        q[7] = DB_TEXT(r->recorded_by);
        q[8] = time_param(r->recorded_at, times[i][1]);
        q[9] = DB_TEXT(r->override_rule);
        q[10] = DB_TEXT(r->override_reason);
        q[11] = time_param(r->updated_at, times[i][2]);
    }
    struct dose_ids ids = {.n = 0};
    if (db_query_each(c, dose_insert_sql(n), p, n * DOSE_PARAMS, add_dose_id, &ids, err) < 0)
        return -1;
    if (ids.n != n)
        return mt_fail(err, MT_EDB, "the dose INSERT returned %zu ids for %zu rows", ids.n, n);
    /* Every engine numbers the rows of one INSERT in the order of its
     * VALUES, but none promises to return them in that order: sorted, the
     * ids pair with the rows. */
    qsort(ids.ids, n, sizeof(ids.ids[0]), cmp_id);
    struct mt_arena *a = mt_arena_new(SCRATCH);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = dose_details(c, audit, a, &d[i], ids.ids[i], err);
    mt_arena_free(a);
    return rc;
}

/* ---- the FHIR bundle ------------------------------------------------------------------------ */

static const char sql_deleted_names[] =
    "SELECT DISTINCT d.medication_name FROM doses d WHERE d.medication_id IS NULL "
    "AND d.medication_name IS NOT NULL AND d.person_id = ? AND d.taken_at >= ? AND d.taken_at < ? "
    "AND d.status <> 'entered_in_error' ORDER BY 1";

static int read_name(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    bool oom = false;
    const char **name = item;
    *name = store_col_text(st, 0, a, &oom);
    return oom ? store_oom(err) : 0;
}

int store_deleted_names(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                        const struct store_window *w, const char ***out, size_t *n,
                        struct mt_err *err)
{
    char start[MT_TIME_BUF], end[MT_TIME_BUF];
    struct db_param p[] = {DB_INT(person_id), store_time_param(w->start_us, start),
                           store_time_param(w->end_us, end)};
    void *items;
    if (store_query_rows(c, a, sql_deleted_names, p, 3, sizeof(**out), read_name, &items, n, err) <
        0)
        return -1;
    *out = items;
    return 0;
}
