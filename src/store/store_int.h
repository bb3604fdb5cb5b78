/* Helpers shared by the files of src/store that implement store.h: copying
 * columns into the caller's arena, timestamps as bound text, growing result
 * arrays, generated ids, and the few statements whose text differs by
 * dialect (row locks). Included only by the files of src/store. */
#ifndef MT_STORE_STORE_INT_H
#define MT_STORE_STORE_INT_H

#include "store/store.h"

/* The text of column i copied into a (NULL for SQL NULL). Sets *oom when the
 * arena is full. */
const char *store_col_text(struct db_stmt *st, int i, struct mt_arena *a, bool *oom);
/* A timestamp column (see struct store_time). */
struct store_time store_col_time(struct db_stmt *st, int i, struct mt_arena *a, bool *oom);
/* A DATE column as "YYYY-MM-DD" (NULL for SQL NULL). */
const char *store_col_date(struct db_stmt *st, int i, struct mt_arena *a, bool *oom);

/* The timestamp text s (len bytes; NULL for SQL NULL) as a struct
 * store_time whose raw, when the text does not parse, is s itself
 * (borrowed: valid as long as s). */
struct store_time store_time_of(const char *s, size_t len);
/* How many of the len bytes of a DATE column's text s are its date: a
 * value stored with a time part (by another tool) keeps only "YYYY-MM-DD". */
size_t store_date_len(const char *s, size_t len);

/* Writes the database text of instant us into buf (MT_TIME_BUF bytes) and
 * returns a text parameter pointing to it. */
struct db_param store_time_param(int64_t us, char *buf);
/* The current instant, whole seconds (created_at / updated_at). */
int64_t store_now_seconds(void);

/* Makes room for one more element in an arena array of elem bytes each:
 * *items holds *n elements in *cap slots; grows by doubling. Returns -1
 * (MT_ELIMIT) when the arena is full. */
int store_grow(struct mt_arena *a, void **items, size_t *cap, size_t n, size_t elem,
               struct mt_err *err);

/* Reads the current row of st into item, one element of the caller's array
 * (strings are copied into a). Returns 0, or -1 with err set. */
typedef int (*store_row_fn)(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err);

/* Runs sql with the np parameters p and reads every row with read into an
 * array of elem-byte elements allocated from a (it lives as long as a).
 * Sets *out and *n only on success; -1 with err set (MT_ELIMIT when the
 * arena is full) otherwise. */
int store_query_rows(struct db_conn *c, struct mt_arena *a, const char *sql,
                     const struct db_param *p, size_t np, size_t elem, store_row_fn read,
                     void **out, size_t *n, struct mt_err *err);

/* True when both are NULL or both hold the same text: "did this nullable
 * column change?". */
bool store_same_text(const char *a, const char *b);

/* One editable column of a partial update (PATCH): the request's value when
 * it gives one (set), and where the row's current value is, in the caller's
 * row struct. A column is text (text points to the row's field) or an
 * integer (num does); make them with STORE_EDIT_TEXT and STORE_EDIT_INT. */
struct store_edit {
    bool set;
    const char *text_value;
    const char **text;
    int64_t num_value;
    int64_t *num;
};
#define STORE_EDIT_TEXT(set_, value_, field_)                                                      \
    ((struct store_edit){.set = (set_), .text_value = (value_), .text = (field_)})
#define STORE_EDIT_INT(set_, value_, field_)                                                       \
    ((struct store_edit){.set = (set_), .num_value = (value_), .num = (field_)})
/* Most columns one store_update_row may edit. */
enum { STORE_EDIT_MAX = 8 };

/* The partial update of a row just read (and locked), as the reference's
 * ORM did it: the values the request sets replace the row's, and when none
 * of them really changes, no UPDATE runs and updated_at stays. Otherwise
 * runs sql, "UPDATE t SET c1 = ?, ..., cn = ?, updated_at = ? WHERE id = ?"
 * with the n columns of e in order, then writes the new values into the row
 * and the current time into *updated_at. Text values are not copied: they
 * must live as long as the row (the request's arena). */
int store_update_row(struct db_conn *c, const char *sql, const struct store_edit *e, size_t n,
                     int64_t id, struct store_time *updated_at, struct mt_err *err);

/* MT_ENOTFOUND "Person not found" unless person_id is a person. With lock
 * (inside a write transaction) the person's row stays locked until it ends
 * on PostgreSQL and MariaDB; SQLite's write transaction already excludes
 * every other writer. */
int store_person_exists(struct db_conn *c, int64_t person_id, bool lock, struct mt_err *err);

/* MT_ELIMIT for a full arena. */
int store_oom(struct mt_err *err);

/* Runs an INSERT and gives the generated id: sql_returning (the same
 * statement with "RETURNING id") on PostgreSQL, sql and the last insert id
 * elsewhere. */
int store_insert_id(struct db_conn *c, const char *sql, const char *sql_returning,
                    const struct db_param *p, size_t n, int64_t *id, struct mt_err *err);

/* Picks the statement for the connection's dialect: sqlite_sql on SQLite,
 * locking_sql (with FOR UPDATE or similar) on PostgreSQL and MariaDB. */
const char *store_sql_locking(struct db_conn *c, const char *sqlite_sql, const char *pg_sql,
                              const char *mysql_sql);

/* Serialises the writers of the persons table inside a write transaction:
 * nothing on SQLite (the transaction already holds the write lock), a table
 * lock on PostgreSQL, and locking every row (and the gaps) on MariaDB. */
int store_lock_persons(struct db_conn *c, struct mt_err *err);

/* False when id cannot be a row id of c's tables: INTEGER ids are 32 bits
 * on PostgreSQL and MariaDB (binding a larger value there would be an error,
 * not "no such row"). */
bool store_id_ok(struct db_conn *c, int64_t id);

/* db_tx_run(c, true, fn, ...) for the API's writes. On SQLite the writers of
 * this process queue in the driver (db_begin_immediate), which hands over at
 * once where SQLite's busy handler would poll with growing sleeps. */
int store_write_tx(struct db_conn *c, db_tx_fn fn, void *ctx, struct mt_err *err);

/* ---- person filters (struct store_person_filter) ----

 * A filter that lets some persons through, not all: the statement then
 * needs the filtered variant. */
bool store_filtered(const struct store_person_filter *f);

/* sql with every "{persons}" replaced by one placeholder per id of f ("?, ?,
 * ?"), or by NULL when f lists none (IN (NULL) matches no row). The text
 * spliced in is ours, never a value. In a; NULL with MT_ELIMIT when the
 * arena is full. */
const char *store_sql_persons(struct mt_arena *a, const char *sql,
                              const struct store_person_filter *f, struct mt_err *err);

/* A growing parameter list for such statements, in a. */
struct store_params {
    struct db_param *p;
    size_t n, cap;
};
/* Room for cap parameters; -1 with MT_ELIMIT when the arena is full. */
int store_params_init(struct store_params *sp, struct mt_arena *a, size_t cap, struct mt_err *err);
/* Adds one value (the caller sized the list). */
void store_params_add(struct store_params *sp, struct db_param v);
/* Adds f's ids, for one "{persons}". */
void store_params_ids(struct store_params *sp, const struct store_person_filter *f);

/* Runs a statement that returns no rows. */
int store_exec(struct db_conn *c, const char *sql, const struct db_param *p, size_t n,
               struct mt_err *err);

/* ---- ingredient rows (store/ingredients.c) ---------------------------------------------- */

/* Inserts the n ingredients g of a medication at positions 0 to n-1 (the
 * caller removed any old ones). Two with the same match key are
 * MT_ECONFLICT "Ingredient NAME is listed twice". Keys are made in a. */
int store_med_ingredients_insert(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                                 const struct store_ingredient *g, size_t n, struct mt_err *err);
/* Inserts the snapshot of what a dose contained (which later ingredient
 * totals count whatever becomes of the medication), n ingredients g, inside
 * the caller's transaction (db_exec_later: a failure may be reported by
 * the transaction's next statement). Keys are made in a. */
int store_dose_ingredients_insert(struct db_conn *c, struct mt_arena *a, int64_t dose_id,
                                  const struct store_ingredient *g, size_t n, struct mt_err *err);

/* ---- the audit trail's snapshots (store/snapshot.c) -------------------------------------- */

/* A row as the audit trail keeps it, before or after a change: compact
 * JSON text of the row's columns (our names), malloc'ed; the caller frees
 * it. NULL for a NULL row. Medications include their ingredients when
 * loaded. */
struct store_limit;
char *store_json_person(const struct store_person *p);
char *store_json_med(const struct store_medication *m);
char *store_json_dose(const struct store_dose *d);
char *store_json_limit(const struct store_limit *l);
struct store_account;
struct store_token;
/* Accounts and tokens without any secret: no password hash, no token hash. */
char *store_json_account(const struct store_account *a);
char *store_json_token(const struct store_token *t);

/* Appends the audit row of a change (store_audit_append) with the two
 * snapshots, which it frees. */
int store_audit_change(struct db_conn *c, const struct store_actor *actor, const char *action,
                       const char *entity, int64_t entity_id, int64_t person_id, char *before,
                       char *after, struct mt_err *err);

/* The "update" row of a partial update (store_update_row), as
 * store_audit_change, but none when the two snapshots are the same: a
 * request that changes nothing writes no audit row either. Frees both. */
int store_audit_update(struct db_conn *c, const struct store_actor *actor, const char *entity,
                       int64_t entity_id, int64_t person_id, char *before, char *after,
                       struct mt_err *err);

/* A numeric column (NUMERIC / DECIMAL) as a double; *has false for NULL. */
double store_col_number(struct db_stmt *st, int i, bool *has);

/* The shared-lock form of a read on MariaDB (LOCK IN SHARE MODE), whose
 * plain reads in a transaction see its first snapshot rather than the
 * latest commits; the plain text elsewhere. */
const char *store_sql_latest(struct db_conn *c, const char *sql, const char *mysql_sql);

#endif
