/* Doses without a person: from ab48726466af on every dose names the person
 * who took it, but doses whose medication was deleted before that revision
 * carry no trace of their person, so they stay NULL and appear in no
 * person's summary, form or export. This file finds them, grouped by the
 * deleted medication's name, for `meditrack db check`, and gives them to a
 * person for `meditrack db assign-doses` (src/cli/assign.c). */
#include <stdlib.h>
#include <string.h>

#include "schema/schema_int.h"

/* The doses this file is about: unlinked, and without a person (or with one
 * that does not exist, which only a database written with its foreign keys
 * off can hold). A linked dose without a person (written by an older
 * version during an upgrade) belongs to its medication's person and is left
 * alone. */
#define UNOWNED                                                                                    \
    "medication_id IS NULL AND (person_id IS NULL OR NOT EXISTS (SELECT 1 FROM persons p "         \
    "WHERE p.id = doses.person_id))"

static const char sql_groups[] =
    "SELECT medication_name, COUNT(*), MIN(taken_at), MAX(taken_at) FROM doses "
    "WHERE " UNOWNED " GROUP BY medication_name ORDER BY medication_name";
static const char sql_ids_named[] =
    "SELECT id FROM doses WHERE " UNOWNED " AND medication_name = ? ORDER BY id LIMIT ?";
static const char sql_ids_unnamed[] =
    "SELECT id FROM doses WHERE " UNOWNED " AND medication_name IS NULL ORDER BY id LIMIT ?";
static const char sql_persons[] = "SELECT id, first_name, last_name FROM persons ORDER BY id";
static const char sql_person[] = "SELECT first_name, last_name FROM persons WHERE id = ?";
static const char sql_count_named[] =
    "SELECT COUNT(*) FROM doses WHERE " UNOWNED " AND medication_name = ?";
static const char sql_assign_named[] =
    "UPDATE doses SET person_id = ? WHERE " UNOWNED " AND medication_name = ?";
static const char sql_assign_id[] = "UPDATE doses SET person_id = ? WHERE id = ? AND " UNOWNED;
static const char sql_count_id[] = "SELECT COUNT(*) FROM doses WHERE id = ? AND " UNOWNED;
static const char sql_dose_state[] = "SELECT person_id, medication_id FROM doses WHERE id = ?";

/* Whether doses has person_id (the database is at ab48726466af or later).
 * A database without MediTrack's tables has no doses at all. */
static int has_dose_person(struct db_conn *c, bool *yes, struct mt_err *err)
{
    struct st_scan s;
    int rc = st_scan_load(c, false, &s, err);
    *yes = rc == 0 && s.t[ST_DOSES].exists && st_has(&s, ST_DOSES, "person_id");
    st_scan_release(&s);
    return rc;
}

/* A copy of column i as text, NULL for SQL NULL. */
static char *col_dup(struct db_stmt *st, int i)
{
    const char *v = db_col_text(st, i, NULL);
    return v ? mt_xstrdup(v) : NULL;
}

/* "first last", or first alone; malloc'ed. */
static char *person_name(struct db_stmt *st, int first)
{
    const char *f = db_col_text(st, first, NULL);
    const char *l = db_col_text(st, first + 1, NULL);
    if (l && *l)
        return mt_xasprintf("%s %s", f ? f : "", l);
    return mt_xstrdup(f ? f : "");
}

static int read_ids(struct db_conn *c, struct schema_unowned_group *g, struct mt_err *err)
{
    struct db_param p[2];
    size_t np = 0;
    if (g->medication_name)
        p[np++] = DB_TEXT(g->medication_name);
    p[np++] = DB_INT(SCHEMA_UNOWNED_IDS);
    struct db_stmt *st;
    if (db_query(c, g->medication_name ? sql_ids_named : sql_ids_unnamed, p, np, &st, err) < 0)
        return -1;
    g->ids = mt_xcalloc(SCHEMA_UNOWNED_IDS, sizeof(*g->ids));
    int rc = db_next(st, err);
    while (rc == 1 && g->n_ids < SCHEMA_UNOWNED_IDS) {
        g->ids[g->n_ids++] = db_col_int(st, 0);
        rc = db_next(st, err);
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

/* The report being read, and the slots of the array a row reader fills. */
struct unowned_reader {
    struct schema_unowned *u;
    size_t cap;
};

static int add_group(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct unowned_reader *r = ctx;
    struct schema_unowned *u = r->u;
    u->groups = mt_xgrow(u->groups, u->n_groups, &r->cap, sizeof *u->groups);
    struct schema_unowned_group *g = &u->groups[u->n_groups++];
    memset(g, 0, sizeof(*g));
    g->medication_name = col_dup(st, 0);
    g->count = db_col_int(st, 1);
    g->first_taken = col_dup(st, 2);
    g->last_taken = col_dup(st, 3);
    u->total += g->count;
    return 0;
}

static int add_person(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct unowned_reader *r = ctx;
    struct schema_unowned *u = r->u;
    u->persons = mt_xgrow(u->persons, u->n_persons, &r->cap, sizeof *u->persons);
    struct schema_person_ref *p = &u->persons[u->n_persons++];
    p->id = db_col_int(st, 0);
    p->name = person_name(st, 1);
    return 0;
}

int schema_unowned_doses(struct db_conn *c, struct schema_unowned *out, struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    if (has_dose_person(c, &out->applies, err) < 0)
        return -1;
    if (!out->applies)
        return 0;
    struct unowned_reader groups = {out, 0};
    if (db_query_each(c, sql_groups, NULL, 0, add_group, &groups, err) < 0)
        return -1;
    if (out->total == 0)
        return 0;
    for (size_t i = 0; i < out->n_groups; i++)
        if (read_ids(c, &out->groups[i], err) < 0)
            return -1;
    struct unowned_reader persons = {out, 0};
    return db_query_each(c, sql_persons, NULL, 0, add_person, &persons, err);
}

void schema_unowned_release(struct schema_unowned *u)
{
    for (size_t i = 0; i < u->n_groups; i++) {
        free(u->groups[i].medication_name);
        free(u->groups[i].first_taken);
        free(u->groups[i].last_taken);
        free(u->groups[i].ids);
    }
    free(u->groups);
    for (size_t i = 0; i < u->n_persons; i++)
        free(u->persons[i].name);
    free(u->persons);
    memset(u, 0, sizeof(*u));
}

/* ---- assigning ---------------------------------------------------------------------------- */

struct assign_ctx {
    const struct schema_assign *a;
    int64_t assigned;
};

/* The reason a listed dose cannot be assigned, for the message. */
static int dose_refused(struct db_conn *c, int64_t id, struct mt_err *err)
{
    struct db_param p = DB_INT(id);
    struct db_stmt *st;
    if (db_query(c, sql_dose_state, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    bool owned = rc == 1 && !db_col_null(st, 0); /* by a person who exists: see UNOWNED */
    bool linked = rc == 1 && !db_col_null(st, 1);
    db_done(st);
    if (rc < 0)
        return -1;
    return mt_fail(err, MT_ECONFLICT, "dose %lld %s; nothing was changed", (long long)id,
                   rc == 0  ? "does not exist"
                   : owned  ? "already belongs to a person"
                   : linked ? "belongs to its medication's person (the medication still exists)"
                            : "cannot be assigned");
}

static int assign_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct assign_ctx *x = vctx;
    const struct schema_assign *a = x->a;
    x->assigned = 0;
    if (a->medication_name) {
        struct db_param p[] = {DB_INT(a->person_id), DB_TEXT(a->medication_name)};
        if (a->dry_run)
            return db_query_int(c, sql_count_named, p + 1, 1, &x->assigned, NULL, err);
        if (db_query(c, sql_assign_named, p, 2, NULL, err) < 0)
            return -1;
        x->assigned = db_changes(c);
        return 0;
    }
    for (size_t i = 0; i < a->n_dose_ids; i++) {
        struct db_param p[] = {DB_INT(a->person_id), DB_INT(a->dose_ids[i])};
        /* A dry run changes nothing: it only checks every dose. */
        if (a->dry_run) {
            int64_t n = 0;
            if (db_query_int(c, sql_count_id, p + 1, 1, &n, NULL, err) < 0)
                return -1;
            if (n == 0)
                return dose_refused(c, a->dose_ids[i], err);
            x->assigned++;
            continue;
        }
        if (db_query(c, sql_assign_id, p, 2, NULL, err) < 0)
            return -1;
        if (db_changes(c) == 0)
            return dose_refused(c, a->dose_ids[i], err);
        x->assigned++;
    }
    return 0;
}

int schema_assign_doses(struct db_conn *c, const struct schema_assign *a, int64_t *assigned,
                        char **person, struct mt_err *err)
{
    *assigned = 0;
    *person = NULL;
    bool applies = false;
    if (has_dose_person(c, &applies, err) < 0)
        return -1;
    if (!applies)
        return mt_fail(err, MT_EINVAL,
                       "doses has no person_id column: the database is older than revision "
                       "ab48726466af (run `meditrack db upgrade` first)");
    struct db_param p = DB_INT(a->person_id);
    struct db_stmt *st;
    if (db_query(c, sql_person, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1)
        *person = person_name(st, 0);
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, "person %lld does not exist", (long long)a->person_id);
    struct assign_ctx x = {a, 0};
    if (db_tx_run(c, true, assign_tx, &x, err) < 0) {
        free(*person);
        *person = NULL;
        return -1;
    }
    *assigned = x.assigned;
    return 0;
}
