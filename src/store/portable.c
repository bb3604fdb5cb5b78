/* The SQL of the portable export and import and of the FHIR bundle's extra
 * reads (store/portable.h): the whole record as one streamed statement in
 * document order, the inserts of an import with fresh ids, and the names of
 * a person's deleted medications. Every value is bound; the only text built
 * here is the multi-row dose INSERT, from constant pieces. */
#include "store/portable.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
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
 *   13 created_at   14 updated_at   15 a deleted medication's dose's person
 * New columns of a kind (dosing rules, dose status) join its branch, NULL
 * in the others, and its read function below. Until the format carries a
 * dose's status, only taken doses are exported: a skipped dose or one
 * entered in error must not come back as taken on the target. */
/* The persons' branch comes first and fills every column with a value of
 * the column's type (repeating its own where it has nothing to say: the
 * reader ignores those), since PostgreSQL types a UNION's columns pair by
 * pair from the left and would make two NULLs text, which a later
 * timestamp cannot join. */
#define EXPORT_PERSONS                                                                             \
    "SELECT 0, p.id, 0, 0, 0, p.created_at, 0, p.first_name, p.last_name, p.notes, p.first_name, " \
    "CASE WHEN p.is_default THEN 1 ELSE 0 END, p.date_of_birth, p.created_at, p.updated_at, p.id " \
    "FROM persons p"
#define EXPORT_MEDS                                                                                \
    "SELECT 0, m.person_id, m.id, 1, 0, NULL, 0, m.name, m.dosage, m.frequency, m.instructions, "  \
    "m.max_doses_per_day, NULL, m.created_at, m.updated_at, NULL FROM medications m"
#define EXPORT_DOSES                                                                               \
    "SELECT 0, m.person_id, m.id, 2, CASE WHEN d.taken_at IS NULL THEN 0 ELSE 1 END, d.taken_at, " \
    "d.id, d.medication_name, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL "                        \
    "FROM doses d JOIN medications m ON m.id = d.medication_id AND d.status = 'taken'"
#define EXPORT_DELETED                                                                             \
    "SELECT 1, COALESCE(d.person_id, 0), 0, 3, CASE WHEN d.taken_at IS NULL THEN 0 ELSE 1 END, "   \
    "d.taken_at, d.id, d.medication_name, NULL, NULL, NULL, 0, NULL, NULL, NULL, d.person_id "     \
    "FROM doses d WHERE d.medication_id IS NULL AND d.status = 'taken'"
#define EXPORT_ORDER " ORDER BY 1, 2, 3, 4, 5, 6, 7"

static const char sql_export_all[] = EXPORT_PERSONS
    " UNION ALL " EXPORT_MEDS " UNION ALL " EXPORT_DOSES " UNION ALL " EXPORT_DELETED EXPORT_ORDER;
static const char sql_export_person[] = EXPORT_PERSONS
    " WHERE p.id = ? UNION ALL " EXPORT_MEDS " WHERE m.person_id = ? UNION ALL " EXPORT_DOSES
    " WHERE m.person_id = ? UNION ALL " EXPORT_DELETED " AND d.person_id = ?" EXPORT_ORDER;

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
    /* NOT NULL columns; an old database may still hold a NULL. */
    if (!m->name)
        m->name = "";
    if (!m->dosage)
        m->dosage = "";
    if (!m->frequency)
        m->frequency = "";
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
}

int store_export_walk(struct db_conn *c, bool has_person, int64_t person_id, store_export_fn fn,
                      void *ctx, struct mt_err *err)
{
    struct db_param p[] = {DB_INT(person_id), DB_INT(person_id), DB_INT(person_id),
                           DB_INT(person_id)};
    if (has_person && !store_id_ok(c, person_id))
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    struct db_stmt *st;
    if (db_query_stream(c, has_person ? sql_export_person : sql_export_all, p, has_person ? 4 : 0,
                        &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        struct store_export_row row;
        char dob[16];
        memset(&row, 0, sizeof(row));
        row.kind = (enum store_export_kind)db_col_int(st, 3);
        switch (row.kind) {
        case STORE_EXPORT_PERSON:
            read_person(st, &row.person, dob, sizeof(dob));
            break;
        case STORE_EXPORT_MEDICATION:
            read_medication(st, &row.med);
            break;
        case STORE_EXPORT_DOSE:
        case STORE_EXPORT_DELETED_DOSE:
            read_dose(st, row.kind, &row.dose);
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

static const char sql_person[] =
    "INSERT INTO persons (first_name, last_name, date_of_birth, notes, is_default, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_person_pg[] =
    "INSERT INTO persons (first_name, last_name, date_of_birth, notes, is_default, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_med[] =
    "INSERT INTO medications (person_id, name, dosage, frequency, max_doses_per_day, "
    "instructions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_med_pg[] =
    "INSERT INTO medications (person_id, name, dosage, frequency, max_doses_per_day, "
    "instructions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
#define DOSE_INSERT                                                                                \
    "INSERT INTO doses (medication_id, person_id, medication_name, taken_at) VALUES "
#define DOSE_VALUES "(?, ?, ?, ?)"
enum { DOSE_PARAMS = 4 };

static struct db_param time_param(struct store_import_time t, char *buf)
{
    return t.present ? store_time_param(t.us, buf) : DB_NULL;
}

int store_import_person(struct db_conn *c, const struct store_import_person_row *p, int64_t *id,
                        struct mt_err *err)
{
    char dob[16], created[MT_TIME_BUF], updated[MT_TIME_BUF];
    struct db_param v[] = {DB_TEXT(p->first_name),
                           DB_TEXT(p->last_name),
                           p->has_dob ? DB_TEXT(mt_format_date(p->dob, dob, sizeof(dob))) : DB_NULL,
                           DB_TEXT(p->notes),
                           DB_BOOL(p->is_default),
                           time_param(p->created_at, created),
                           time_param(p->updated_at, updated)};
    return store_insert_id(c, sql_person, sql_person_pg, v, MT_ARRAY_LEN(v), id, err);
}

int store_import_medication(struct db_conn *c, const struct store_import_medication_row *m,
                            int64_t *id, struct mt_err *err)
{
    char created[MT_TIME_BUF], updated[MT_TIME_BUF];
    struct db_param v[] = {DB_INT(m->person_id),
                           DB_TEXT(m->name),
                           DB_TEXT(m->dosage),
                           DB_TEXT(m->frequency),
                           DB_INT(m->max_doses_per_day),
                           DB_TEXT(m->instructions),
                           time_param(m->created_at, created),
                           time_param(m->updated_at, updated)};
    return store_insert_id(c, sql_med, sql_med_pg, v, MT_ARRAY_LEN(v), id, err);
}

/* The text of the INSERT of n doses, built once from constant pieces (no
 * value is ever part of it) and kept for the life of the process. */
static const char *dose_insert_sql(size_t n)
{
    static char *texts[STORE_IMPORT_DOSE_BATCH + 1];
    static const char single[] = DOSE_INSERT DOSE_VALUES;
    if (n == 1)
        return single;
    /* Only STORE_IMPORT_DOSE_BATCH is ever asked for besides 1; the text is
     * made under no lock, so it is made at most once per thread race and
     * the loser's copy is kept too (a few bytes, never freed). */
    char *t = __atomic_load_n(&texts[n], __ATOMIC_ACQUIRE);
    if (t)
        return t;
    struct mt_buf b;
    mt_buf_init(&b, 4096);
    mt_buf_adds(&b, DOSE_INSERT);
    for (size_t i = 0; i < n; i++) {
        if (i)
            mt_buf_adds(&b, ", ");
        mt_buf_adds(&b, DOSE_VALUES);
    }
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

int store_import_doses(struct db_conn *c, const struct store_import_dose_row *d, size_t n,
                       struct mt_err *err)
{
    if (n == 0 || n > STORE_IMPORT_DOSE_BATCH)
        return mt_fail(err, MT_EINTERNAL, "a dose batch of %zu rows", n);
    struct db_param p[STORE_IMPORT_DOSE_BATCH * DOSE_PARAMS];
    char times[STORE_IMPORT_DOSE_BATCH][MT_TIME_BUF];
    size_t per = n == STORE_IMPORT_DOSE_BATCH ? n : 1;
    for (size_t start = 0; start < n; start += per) {
        for (size_t i = 0; i < per; i++) {
            const struct store_import_dose_row *r = &d[start + i];
            struct db_param *q = &p[i * DOSE_PARAMS];
            q[0] = r->has_medication ? DB_INT(r->medication_id) : DB_NULL;
            q[1] = r->has_person ? DB_INT(r->person_id) : DB_NULL;
            q[2] = DB_TEXT(r->medication_name);
            q[3] = time_param(r->taken_at, times[i]);
        }
        if (store_exec(c, dose_insert_sql(per), p, per * DOSE_PARAMS, err) < 0)
            return -1;
    }
    return 0;
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
