/* The append-only, tamper-evident audit trail (docs/audit.md): every change
 * to persons, medications, rules, doses, accounts and grants appends one row
 * of audit_log in the transaction that makes the change, and each row
 * carries the SHA-256 of the previous row's hash and its own canonical
 * content, so that `meditrack audit verify` can name the first row that was
 * altered, removed or moved. Appends are serialised on the chain's head row
 * (audit_head), so the chain stays linear across processes. Owner: the
 * store module; used by the other store files, the API (GET
 * /api/v1/audit) and the CLI (`meditrack audit verify`). */
#ifndef MT_STORE_AUDIT_H
#define MT_STORE_AUDIT_H

#include "store/store.h"

/* The hash before the first row: 64 zeros. */
#define STORE_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Appends one audit row: actor (NULL: anonymous) did action ("create",
 * "update", "delete", "record", "override", "skip", "correct",
 * "entered_in_error", ...) to entity ("person", "medication", "dose",
 * "ingredient_limit", "account", "grant", ...) number entity_id (0: none),
 * which concerns person person_id (0: none); before_json and after_json are
 * the entity's JSON before and after the change (NULL: none, e.g. before a
 * create), stored and hashed byte for byte. Must run inside the caller's
 * write transaction (MT_EINTERNAL otherwise), and should be its last
 * statement: it locks the chain's head row until the commit, which every
 * other writer then waits for. On PostgreSQL the row is chained by the
 * server and sent with the COMMIT (db_exec_later), so a failure to append
 * is reported by the commit. */
int store_audit_append(struct db_conn *c, const struct store_actor *actor, const char *action,
                       const char *entity, int64_t entity_id, int64_t person_id,
                       const char *before_json, const char *after_json, struct mt_err *err);

/* Many rows appended by one transaction, for the portable import, which
 * adds thousands of persons, medications and doses at once: the head
 * record is locked and read once (at the first row, and held until the
 * commit, as store_audit_append holds it), the rows are hashed here and
 * inserted STORE_AUDIT_BATCH to a statement, and the head record is moved
 * once at the end. The chain is exactly the one store_audit_append would
 * have made. Use: init, add (any number), finish, then always release. */
enum { STORE_AUDIT_BATCH = 64 };
struct store_audit_batch {
    struct db_conn *c;
    struct store_actor actor; /* borrowed name */
    bool begun;               /* the head record is locked and read */
    int64_t seq;              /* the last row's seq */
    char hash[65];            /* the last row's hash */
    int64_t rows;             /* rows added so far */
    size_t n;                 /* rows waiting for their INSERT */
    struct {
        int64_t seq, created_us, entity_id, person_id;
        const char *action, *entity; /* static strings */
        char *after_json;            /* malloc'ed, owned here */
        char prev[65], hash[65];
    } pending[STORE_AUDIT_BATCH];
};

/* actor NULL: anonymous. Touches no database. */
void store_audit_batch_init(struct store_audit_batch *b, struct db_conn *c,
                            const struct store_actor *actor);
/* One row (as store_audit_append's arguments, with no before_json):
 * after_json is malloc'ed and taken over, also on failure. Must run inside
 * the caller's write transaction. */
int store_audit_batch_add(struct store_audit_batch *b, const char *action, const char *entity,
                          int64_t entity_id, int64_t person_id, char *after_json,
                          struct mt_err *err);
/* Inserts the rows still waiting and moves the head record to the last. */
int store_audit_batch_finish(struct store_audit_batch *b, struct mt_err *err);
/* Frees what is still waiting (after a failure); safe after finish. */
void store_audit_batch_release(struct store_audit_batch *b);

/* What an export tells of the trail: its head record (seq 0 and 64 zeros
 * when empty) and how many rows it holds, in the caller's snapshot. */
int store_audit_summary(struct db_conn *c, int64_t *head_seq, char head_hash[65], int64_t *rows,
                        struct mt_err *err);

/* One row of the trail. Strings live in the arena of the call that read
 * it; NULL for SQL NULL. */
struct store_audit_row {
    int64_t seq;
    struct store_time created_at;
    const char *actor;
    int64_t actor_id; /* 0: none */
    const char *action, *entity;
    int64_t entity_id; /* 0: none */
    int64_t person_id; /* 0: none */
    const char *before_json, *after_json;
    const char *prev_hash, *hash;
};

struct store_audit_filter {
    int64_t person_id;  /* 0: any */
    const char *entity; /* NULL: any */
    int64_t entity_id;  /* 0: any */
    bool has_from, has_to;
    int64_t from_us, to_us; /* created_at in [from, to) */
    int64_t skip, limit;
};

/* The rows that match f, newest first. */
int store_audit_list(struct db_conn *c, struct mt_arena *a, const struct store_audit_filter *f,
                     struct store_audit_row **out, size_t *n, struct mt_err *err);

/* What `audit verify` found. ok false: bad_seq is the first row that does
 * not hold (0 when the chain's head record is what is wrong) and problem
 * says what is wrong with it. */
struct store_audit_verdict {
    bool ok;
    int64_t rows;     /* rows that hold, from the first */
    int64_t head_seq; /* the last row's seq (0: empty) */
    char head_hash[65];
    int64_t bad_seq;
    char problem[320];
};

/* Recomputes the whole chain, oldest first, with the rows streamed (memory
 * stays flat however long the trail), and compares it with the head
 * record. Fails only when the database does (the verdict is in *out). */
int store_audit_verify(struct db_conn *c, struct store_audit_verdict *out, struct mt_err *err);

/* The stored hash of row seq into out (65 bytes); *found false when there
 * is no such row. For checking an anchor exported earlier. */
int store_audit_row_hash(struct db_conn *c, int64_t seq, char out[65], bool *found,
                         struct mt_err *err);

/* The hex SHA-256 of a row: of prev_hash and the canonical serialisation of
 * the row's content (docs/audit.md gives the exact bytes). out holds 65
 * bytes. For the verification and its tests. */
void store_audit_hash(const struct store_audit_row *row, int64_t created_us, char out[65]);

#endif
