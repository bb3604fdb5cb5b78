/* The SQL of seeding an empty database: counting what is there, creating the
 * default person and the demo medications. Called through store_seed() by the
 * start-up sequence and `meditrack seed` (src/cli/seed.c). */
#include "store/seed.h"
#include "store/audit.h"
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* The demo medications are the four rows the reference's add_seed_data
 * revision (588f4ae43933) put into every new database. */
static const struct demo_medication {
    const char *name;
    const char *dosage;
    const char *frequency;
    int max_doses_per_day;
    const char *instructions;
} demo_medications[STORE_SEED_N_DEMO] = {
    {"Lisinopril", "10mg", "Once daily", 1, "Take with food in the morning"},
    {"Ibuprofen", "200mg", "Every 6 hours as needed", 4, "Take with food or milk"},
    {"Vitamin D", "1000 IU", "Once daily", 1, "Take with a meal"},
    {"Amoxicillin", "500mg", "Every 8 hours", 3, "Complete full course of treatment"},
};

struct seed_tx {
    const struct store_seed_request *req;
    struct store_seed_result *out;
    char now[64]; /* UTC "YYYY-MM-DD HH:MM:SS.ffffff", the same for every row */
};

static void utc_now_text(char *dst, size_t cap)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(dst, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static int count_rows(struct db_conn *c, const char *table, const char *sql, int64_t *n,
                      struct mt_err *err)
{
    bool exists = false;
    if (db_table_exists(c, table, &exists, err) < 0)
        return -1;
    if (!exists)
        return mt_fail(err, MT_ENOTFOUND,
                       "table %s does not exist: the database is not migrated (run `meditrack db "
                       "upgrade head`)",
                       table);
    return db_query_int(c, sql, NULL, 0, n, NULL, err);
}

static int insert_default_person(struct db_conn *c, const char *now, int64_t *id,
                                 struct mt_err *err)
{
    struct db_param p[] = {DB_TEXT(STORE_SEED_FIRST_NAME), DB_TEXT(STORE_SEED_LAST_NAME),
                           DB_BOOL(true), DB_TEXT(now)};
    return store_insert_id(
        c,
        "INSERT INTO persons (first_name, last_name, is_default, created_at) VALUES (?, ?, ?, ?)",
        "INSERT INTO persons (first_name, last_name, is_default, created_at) VALUES (?, ?, ?, ?) "
        "RETURNING id",
        p, MT_ARRAY_LEN(p), id, err);
}

/* Seeding is done by the program itself, not by an account. */
static const struct store_actor seed_actor = {0, "system"};

/* The audit row of a seeded row, where the database has the audit trail
 * (revision 8c4d2b7e1f05; `meditrack seed` may run on an older one). */
static int audit_seeded(struct db_conn *c, bool audited, const char *entity, int64_t id,
                        int64_t person_id, char *after, struct mt_err *err)
{
    if (!audited) {
        free(after);
        return 0;
    }
    return store_audit_change(c, &seed_actor, "create", entity, id, person_id, NULL, after, err);
}

static int insert_demo_medications(struct db_conn *c, bool audited, int64_t person_id,
                                   const char *now, struct mt_err *err)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(demo_medications); i++) {
        const struct demo_medication *m = &demo_medications[i];
        struct db_param p[] = {DB_INT(person_id),
                               DB_TEXT(m->name),
                               DB_TEXT(m->dosage),
                               DB_TEXT(m->frequency),
                               DB_INT(m->max_doses_per_day),
                               DB_TEXT(m->instructions),
                               DB_TEXT(now)};
        int64_t id = 0;
        if (store_insert_id(
                c,
                "INSERT INTO medications (person_id, name, dosage, frequency, "
                "max_doses_per_day, instructions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                "INSERT INTO medications (person_id, name, dosage, frequency, "
                "max_doses_per_day, instructions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                p, MT_ARRAY_LEN(p), &id, err) < 0)
            return -1;
        struct store_medication row = {.id = id,
                                       .person_id = person_id,
                                       .name = m->name,
                                       .dosage = m->dosage,
                                       .frequency = m->frequency,
                                       .max_doses_per_day = m->max_doses_per_day,
                                       .instructions = m->instructions};
        if (audit_seeded(c, audited, "medication", id, person_id, store_json_med(&row), err) < 0)
            return -1;
    }
    return 0;
}

static int default_person_id(struct db_conn *c, int64_t *id, bool *found, struct mt_err *err)
{
    return db_query_int(c, "SELECT id FROM persons WHERE is_default ORDER BY id LIMIT 1", NULL, 0,
                        id, found, err);
}

/* The transaction body; db_tx_run may run it again after a retryable error,
 * so it starts from a clean result each time. */
static int seed_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct seed_tx *t = ctx;
    struct store_seed_result *out = t->out;
    memset(out, 0, sizeof(*out));

    if (count_rows(c, "persons", "SELECT COUNT(*) FROM persons", &out->persons, err) < 0 ||
        count_rows(c, "medications", "SELECT COUNT(*) FROM medications", &out->medications, err) <
            0 ||
        count_rows(c, "doses", "SELECT COUNT(*) FROM doses", &out->doses, err) < 0)
        return -1;
    bool no_history = out->medications == 0 && out->doses == 0;

    int64_t person = 0;
    bool has_default = false;
    if (out->persons > 0 && default_person_id(c, &person, &has_default, err) < 0)
        return -1;
    bool only_default = out->persons == 0 || (out->persons == 1 && has_default);

    bool want_person = (t->req->default_person || t->req->demo_data) && out->persons == 0;
    bool want_demo = t->req->demo_data;
    if (want_demo && !(no_history && only_default)) {
        out->demo_refused = true;
        want_demo = false;
        want_person = t->req->default_person && out->persons == 0;
    }
    if (!no_history)
        want_person = false; /* medications or doses without a person: leave them alone */

    bool audited = false;
    if ((want_person || want_demo) && db_table_exists(c, "audit_head", &audited, err) < 0)
        return -1;
    if (want_person) {
        if (insert_default_person(c, t->now, &person, err) < 0)
            return -1;
        struct store_person row = {.id = person,
                                   .first_name = STORE_SEED_FIRST_NAME,
                                   .last_name = STORE_SEED_LAST_NAME,
                                   .is_default = true};
        if (audit_seeded(c, audited, "person", person, person, store_json_person(&row), err) < 0)
            return -1;
        out->person_created = true;
        out->person_id = person;
    }
    if (want_demo) {
        if (insert_demo_medications(c, audited, person, t->now, err) < 0)
            return -1;
        out->medications_created = STORE_SEED_N_DEMO;
        out->person_id = person;
    }
    return 0;
}

int store_seed(struct db_conn *c, const struct store_seed_request *req,
               struct store_seed_result *out, struct mt_err *err)
{
    struct seed_tx t = {.req = req, .out = out};
    utc_now_text(t.now, sizeof(t.now));
    return db_tx_run(c, true, seed_tx, &t, err);
}
