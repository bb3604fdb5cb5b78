/* Helpers shared by the files that implement store/auth.h: reading an
 * account row and its grants, creating an account inside a transaction (the
 * setup claim does it too), the lock that serialises the writers of
 * accounts, and the checks of logins and lengths. Included only by
 * src/store/auth_*.c. */
#ifndef MT_STORE_AUTH_INT_H
#define MT_STORE_AUTH_INT_H

#include "store/auth.h"
#include "store/store_int.h"

/* The columns auth_read_account reads, from accounts aliased "a". */
#define AUTH_ACCOUNT_COLS                                                                          \
    "a.id, a.login, a.display_name, a.role, a.enabled, a.person_id, a.password_hash, "             \
    "a.created_at, a.updated_at"
#define AUTH_ACCOUNT_NCOLS 9

/* Longest display names, token names and user agents, in characters (the
 * columns are VARCHAR(255), which MariaDB counts in characters). */
#define AUTH_TEXT_MAX 255
/* Longest client address kept with a session (VARCHAR(64)). */
#define AUTH_ADDRESS_MAX 64
/* Longest token prefix (VARCHAR(16)). */
#define AUTH_PREFIX_MAX 16

/* Reads the AUTH_ACCOUNT_COLS of the current row, starting at column first,
 * into out (strings in a; persons left empty). hash (may be NULL) gets the
 * stored password hash, NULL when there is none. */
int auth_read_account(struct db_stmt *st, int first, struct mt_arena *a, struct store_account *out,
                      const char **hash, struct mt_err *err);
/* Fills out->persons and out->n_persons with the account's grants. */
int auth_load_persons(struct db_conn *c, struct mt_arena *a, struct store_account *out,
                      struct mt_err *err);
/* The account with that id, grants included, read with sql (one of the
 * statements of auth_accounts.c: plain or locking). MT_ENOTFOUND "Account
 * not found". */
/* Appends the audit row of a change of an account (entity "account"):
 * snapshots without any secret (store_json_account); before or after is
 * NULL for a create or a delete. */
int auth_audit_account(struct db_conn *c, const struct store_actor *actor, const char *action,
                       const struct store_account *before, const struct store_account *after,
                       struct mt_err *err);

int auth_fetch_account(struct db_conn *c, struct mt_arena *a, int64_t id, bool lock,
                       struct store_account *out, struct mt_err *err);

/* Creates the account described by f with the given role in the caller's
 * transaction (the own person is granted too). The errors of
 * store_account_create. */
int auth_account_insert(struct db_conn *c, struct mt_arena *a, const struct store_account_fields *f,
                        enum store_role role, struct store_account *out, struct mt_err *err);

/* Serialises the writers of accounts inside a write transaction: nothing on
 * SQLite (the transaction holds the write lock), a table lock on
 * PostgreSQL, a locking read of every row (and the gaps) on MariaDB. */
int auth_lock_accounts(struct db_conn *c, struct mt_err *err);

/* Grants the person to the account; nothing happens when it already is. */
int auth_grant_insert(struct db_conn *c, int64_t account_id, int64_t person_id, struct mt_err *err);

/* The number of UTF-8 characters of s (bytes that do not continue one). */
size_t auth_text_chars(const char *s);
/* Whether s is well-formed UTF-8 (PostgreSQL refuses anything else). */
bool auth_text_valid(const char *s);
/* A copy of s in a, cut to at most max characters, with every byte that is
 * not UTF-8 text or is a control character replaced by '?': for what a
 * client sends (user agent, address), which is kept, not refused. NULL for
 * NULL; *oom set when the arena is full. */
const char *auth_text_clean(struct mt_arena *a, const char *s, size_t max, bool *oom);

#endif
