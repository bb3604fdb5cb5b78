/* Initial data for an empty MediTrack database: the default person, and on
 * request the reference's four demo medications. Used by the start-up
 * sequence (SEED_ON_EMPTY, SEED_DEMO_DATA) and by `meditrack seed`. A
 * database that holds data of its users (any medication or dose, or a person
 * besides the default one) is never touched.
 * Owner: the store module; all SQL of seeding lives in store/seed.c. */
#ifndef MT_STORE_SEED_H
#define MT_STORE_SEED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

/* The default person created on an empty database (the reference's
 * "Default User", after its first/last name split). */
#define STORE_SEED_FIRST_NAME "Default"
#define STORE_SEED_LAST_NAME "User"
/* Number of demo medications (the reference's add_seed_data revision). */
#define STORE_SEED_N_DEMO 4

struct store_seed_request {
    /* Create the default person when the database holds no person, no
     * medication and no dose at all. */
    bool default_person;
    /* Add the demo medications for the default person when the database holds
     * no medication, no dose and no person other than the default one (the
     * migrations create the default person, so a new database qualifies).
     * Creates the default person first when there is no person. */
    bool demo_data;
};

struct store_seed_result {
    /* What the database held before seeding. */
    int64_t persons, medications, doses;
    bool person_created;
    int64_t person_id;       /* the default person's id when something was created, else 0 */
    int medications_created; /* 0 or STORE_SEED_N_DEMO */
    bool demo_refused;       /* demo_data was asked for, but the database has data */
};

/* Seeds c's database as req asks, in one write transaction (retried on
 * MT_EDB_RETRY). The caller should hold the migration lock so that
 * concurrent start-ups cannot both find the database empty. Fails with
 * MT_ENOTFOUND when the persons, medications or doses table is missing (the
 * database is not migrated), MT_EDB otherwise; the transaction is then rolled
 * back and nothing was written. out is filled on success. */
int store_seed(struct db_conn *c, const struct store_seed_request *req,
               struct store_seed_result *out, struct mt_err *err);

#endif
