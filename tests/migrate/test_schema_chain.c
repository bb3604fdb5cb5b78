/* MediTrack's embedded revision chain as the schema module expects it: the
 * reference's five revisions with their ids, down-revisions and messages,
 * then ours up to the head 3a7c5e9b1d42, every dialect's SQL present, every
 * hook named by a revision registered by schema_register, the take-over
 * planning nothing on a database without MediTrack tables or on a chain that
 * is not MediTrack's, and refusing a table that someone else named like one
 * of the access-control tables. */
#include <string.h>

#include "check.h"
#include "db/db.h"
#include "migrate/migrate.h"
#include "schema/schema.h"

static const struct {
    const char *id, *down, *message;
} expected[] = {
    {"f4162eb18a25", NULL, "Initial migration - create medications and doses tables"},
    {"588f4ae43933", "f4162eb18a25", "add_seed_data"},
    {"35bddb769482", "588f4ae43933", "Add person model and relationship to medications"},
    {"03586fa62d43", "35bddb769482", "modify_dose_medication_relationship"},
    {"d9c3da4e9c05", "03586fa62d43", "split_name_into_first_and_last_name"},
    {"44fcd0160844", "d9c3da4e9c05", NULL},
    {"2574915efc76", "44fcd0160844", NULL},
    {"ab48726466af", "2574915efc76", NULL},
    {"5d2e8c1a9f37", "ab48726466af", "accounts, grants, sessions and API tokens"},
    {"8c4d2b7e1f05", "5d2e8c1a9f37",
     "dosing rules, ingredient limits, dose corrections, idempotency keys, audit trail"},
    {"3a7c5e9b1d42", "8c4d2b7e1f05", "schedules, channels and reminders"},
};

static void check_chain(const struct mig_chain *ch)
{
    CHECK(ch->n >= MT_ARRAY_LEN(expected));
    for (size_t i = 0; i < MT_ARRAY_LEN(expected) && i < ch->n; i++) {
        const struct mig_revision *r = &ch->revs[i];
        CHECK_STR(r->id, expected[i].id);
        if (expected[i].down)
            CHECK_STR(r->down_revision, expected[i].down);
        else
            CHECK(r->down_revision == NULL);
        if (expected[i].message)
            CHECK_STR(r->message, expected[i].message);
        for (int d = 0; d < MIG_N_DIALECTS; d++) {
            CHECK(r->up[d] != NULL);
            CHECK(r->down[d] != NULL);
        }
        const char *hooks[] = {r->pre_upgrade, r->post_upgrade, r->pre_downgrade,
                               r->post_downgrade};
        for (size_t k = 0; k < MT_ARRAY_LEN(hooks); k++)
            if (hooks[k])
                CHECK(mig_hook_find(hooks[k]) != NULL);
    }
    /* The revisions that may be the first to run on an old database repair
     * rows that break foreign keys before anything else. */
    for (size_t i = 1; i < 6 && i < ch->n; i++)
        CHECK(ch->revs[i].pre_upgrade && strcmp(ch->revs[i].pre_upgrade, SCHEMA_REPAIR_HOOK) == 0);
    /* So does the one that adds doses.person_id and its foreign key. */
    const struct mig_revision *ab48 = mig_chain_find(ch, "ab48726466af");
    CHECK(ab48 && ab48->pre_upgrade && strcmp(ab48->pre_upgrade, SCHEMA_REPAIR_HOOK) == 0);
    /* The access-control tables are new and reference only persons, whose
     * rows the repairs of ab48726466af already made consistent: no hook. */
    const struct mig_revision *auth = mig_chain_find(ch, "5d2e8c1a9f37");
    CHECK(auth && auth->pre_upgrade == NULL);
    /* The dosing revision adds columns with defaults and new tables only:
     * no hook either. */
    const struct mig_revision *dosing = mig_chain_find(ch, "8c4d2b7e1f05");
    CHECK(dosing && dosing->pre_upgrade == NULL);
    /* Neither does the one of schedules and reminders (a nullable column
     * and new tables), which is the head. */
    const struct mig_revision *sched = mig_chain_find(ch, "3a7c5e9b1d42");
    CHECK(sched && sched->pre_upgrade == NULL && mig_chain_head(ch) == sched);
}

/* A database where someone else already has a table called accounts: the
 * access-control revision would keep it (CREATE TABLE IF NOT EXISTS) and its
 * downgrade would drop it, so the take-over refuses before anything runs.
 * A table with exactly MediTrack's columns is taken as ours. */
static void check_foreign_auth_table(const struct mig_chain *ch)
{
    struct mt_err err = {0};
    struct db_conn *c = NULL;
    if (db_open_url("sqlite:///:memory:", &c, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        CHECK(0);
        return;
    }
    /* The in-memory database is the process's: start without the tables of
     * check_fresh_plan. */
    CHECK(db_exec(c, "DROP TABLE IF EXISTS medications; DROP TABLE IF EXISTS household_notes",
                  &err) == 0);
    CHECK(db_exec(c, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, iban TEXT, balance REAL)",
                  &err) == 0);
    struct schema_plan p;
    CHECK(schema_plan_make(c, ch, &p, &err) < 0);
    CHECK_EQ(err.code, MT_ECONFLICT);
    CHECK(strstr(err.msg, SCHEMA_REFUSED) == err.msg);
    CHECK(strstr(err.msg, "accounts") != NULL);
    schema_plan_release(&p);

    CHECK(db_exec(c,
                  "DROP TABLE accounts; CREATE TABLE accounts (id INTEGER PRIMARY KEY, login "
                  "VARCHAR(64), display_name VARCHAR(255), password_hash VARCHAR(255), role "
                  "VARCHAR(16), enabled BOOLEAN, person_id INTEGER, created_at DATETIME, "
                  "updated_at DATETIME)",
                  &err) == 0);
    mt_err_clear(&err);
    CHECK(schema_plan_make(c, ch, &p, &err) == 0);
    CHECK(p.applies);
    CHECK(!p.has_tables);
    CHECK(p.target == NULL);
    bool said = false;
    for (size_t i = 0; i < p.found.n; i++)
        said = said || strstr(p.found.items[i], "table accounts: the access-control table");
    CHECK(said);
    schema_plan_release(&p);
    db_close(c);
}

static void check_fresh_plan(const struct mig_chain *ch)
{
    struct mt_err err = {0};
    struct db_conn *c = NULL;
    if (db_open_url("sqlite:///:memory:", &c, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK(db_exec(c, "CREATE TABLE household_notes (id INTEGER PRIMARY KEY, note TEXT)", &err) ==
          0);
    struct schema_plan p;
    CHECK(schema_plan_make(c, ch, &p, &err) == 0);
    CHECK(p.applies);
    CHECK(!p.tracked);
    CHECK(!p.has_tables);
    CHECK(p.target == NULL);
    CHECK_EQ(p.steps, 0);
    schema_plan_release(&p);

    /* A chain that is not MediTrack's (here: only its first revision) is
     * left to the engine alone. */
    struct mig_chain partial = {.revs = ch->revs, .n = 1, .source = ch->source};
    CHECK(db_exec(c,
                  "CREATE TABLE medications (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                  "dosage VARCHAR NOT NULL, frequency VARCHAR NOT NULL, max_doses_per_day "
                  "INTEGER NOT NULL)",
                  &err) == 0);
    CHECK(schema_plan_make(c, &partial, &p, &err) == 0);
    CHECK(!p.applies);
    CHECK(p.target == NULL);
    schema_plan_release(&p);

    /* The same table with MediTrack's chain: untracked, stamped at the
     * data-only revision, with the missing table and columns added. */
    CHECK(schema_plan_make(c, ch, &p, &err) == 0);
    CHECK(p.applies && p.has_tables && !p.tracked);
    CHECK_STR(p.target, "588f4ae43933");
    CHECK(p.steps != 0);
    schema_plan_release(&p);
    db_close(c);
}

int main(void)
{
    struct mt_err err = {0};
    CHECK(schema_register(&err) == 0);
    CHECK(schema_register(&err) == 0); /* again: harmless */
    struct mig_chain *ch = NULL;
    if (mig_chain_load_embedded(&ch, &err) < 0) {
        fprintf(stderr, "embedded chain: %s\n", err.msg);
        CHECK(0);
        return check_report();
    }
    check_chain(ch);
    check_fresh_plan(ch);
    check_foreign_auth_table(ch);
    mig_chain_free(ch);
    return check_report();
}
