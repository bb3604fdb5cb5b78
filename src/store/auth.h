/* The store of access control: accounts with a role, their grants to
 * persons, browser sessions, API tokens, the shared throttle of failed
 * sign-ins and the one-time setup tokens, on SQLite, PostgreSQL and MariaDB
 * (revision 5d2e8c1a9f37, docs/auth.md). Secrets never reach this layer in
 * clear: sessions, tokens and setup tokens are stored and looked up by the
 * hex SHA-256 of the secret (core/secret.h), passwords as argon2id strings.
 *
 * Ownership and failures as in store.h: rows live in the caller's arena;
 * MT_ENOTFOUND for what does not exist (or is expired, revoked or disabled:
 * a caller cannot tell which, on purpose), MT_ECONFLICT for a refused rule
 * with a detail text the API answers as 400/409, MT_EDB* from the database.
 * Every change of an account, its password, its grants or its API tokens
 * appends its audit row (store/audit.h) in its own transaction, as actor
 * (NULL: anonymous); hashes and secrets never enter the trail. Sessions,
 * the throttle and rehashes are not audited: they are the system's
 * bookkeeping, not a person's change. Owner: the store module. */
#ifndef MT_STORE_AUTH_H
#define MT_STORE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Roles, weakest first, so that "at least carer" is role >= STORE_ROLE_CARER.
 * Stored as the words "viewer", "carer", "admin". */
enum store_role { STORE_ROLE_VIEWER = 1, STORE_ROLE_CARER = 2, STORE_ROLE_ADMIN = 3 };
/* A token's scope, weakest first; stored as "read", "write", "admin". */
enum store_scope { STORE_SCOPE_READ = 1, STORE_SCOPE_WRITE = 2, STORE_SCOPE_ADMIN = 3 };

const char *store_role_name(enum store_role r);
/* 0 and *out for "viewer" / "carer" / "admin"; -1 for anything else. */
int store_role_parse(const char *s, enum store_role *out);
const char *store_scope_name(enum store_scope s);
int store_scope_parse(const char *s, enum store_scope *out);

/* Logins are 1-64 characters of [a-z0-9._@-], kept in lower case: the
 * store lower-cases what it is given and refuses anything else with
 * MT_EINVAL. */
#define STORE_LOGIN_MAX 64
/* Copies login into out in lower case, the form the store keeps; MT_EINVAL
 * (a message for the user that quotes login only when it is printable) for
 * anything else. For callers that need the stored form before an account
 * exists: the command line, throttle keys. */
int store_login_normalize(const char *login, char out[STORE_LOGIN_MAX + 1], struct mt_err *err);

struct store_account {
    int64_t id;
    const char *login;
    const char *display_name; /* never NULL: the login when none was given */
    enum store_role role;
    bool enabled;
    bool has_person; /* the account's own person */
    int64_t person_id;
    bool has_password;     /* false for accounts that only sign in through the proxy */
    int64_t *persons;      /* the persons granted (the own person included), ascending */
    size_t n_persons;
    struct store_time created_at, updated_at;
};

/* Fields to write; for an update, set_* says which. password_hash is an
 * argon2id string (core/secret.h), or NULL for no password. */
struct store_account_fields {
    bool set_display_name, set_role, set_enabled, set_person;
    const char *login; /* create only */
    const char *display_name;
    enum store_role role;
    bool enabled;
    bool has_person;
    int64_t person_id;
    const char *password_hash; /* create only; store_account_set_password otherwise */
};

int store_account_count(struct db_conn *c, int64_t *n, struct mt_err *err);
/* MT_ECONFLICT "Login already taken"; MT_ENOTFOUND "Person not found" for an
 * own person that does not exist. The own person is also granted. */
int store_account_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                         const struct store_account_fields *f, struct store_account *out,
                         struct mt_err *err);
int store_account_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_account *out,
                      struct mt_err *err);
/* Also gives the stored password hash (NULL when none) in *hash. Disabled
 * accounts are returned too (the caller decides). */
int store_account_by_login(struct db_conn *c, struct mt_arena *a, const char *login,
                           struct store_account *out, const char **hash, struct mt_err *err);
/* Login order. */
int store_accounts_list(struct db_conn *c, struct mt_arena *a, struct store_account **out,
                        size_t *n, struct mt_err *err);
/* Refuses (MT_ECONFLICT "The last administrator cannot be disabled or
 * demoted") a change that would leave no enabled admin; disabling an
 * account ends its sessions. */
int store_account_update(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                         int64_t id,
                         const struct store_account_fields *f, struct store_account *out,
                         struct mt_err *err);
/* Same rule as update for the last admin; deletes sessions, tokens, grants. */
int store_account_delete(struct db_conn *c, const struct store_actor *actor, int64_t id,
                         struct mt_err *err);
/* Sets the hash and ends every session of the account except keep_session
 * (0: all) in one transaction. */
int store_account_set_password(struct db_conn *c, const struct store_actor *actor, int64_t id,
                               const char *hash, int64_t keep_session, struct mt_err *err);
/* Replaces the hash only (an upgrade of its parameters at sign-in). */
int store_account_rehash(struct db_conn *c, int64_t id, const char *hash, struct mt_err *err);
/* Grants are idempotent; MT_ENOTFOUND for an unknown account or person. */
int store_grant_add(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                    int64_t person_id, struct mt_err *err);
int store_grant_remove(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                       int64_t person_id, struct mt_err *err);
/* Replaces the account's grants with ids (the own person stays granted). */
int store_grants_set(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                     const int64_t *ids, size_t n, struct mt_err *err);

/* A browser session. The secret is the cookie value; hash is its hex
 * SHA-256. */
struct store_session {
    int64_t id;
    int64_t account_id;
    struct store_time created_at, last_seen_at, expires_at;
    const char *user_agent; /* NULL: none */
    const char *address;
};
int store_session_create(struct db_conn *c, int64_t account_id, const char *hash, int64_t expires_us,
                         const char *user_agent, const char *address, int64_t *id,
                         struct mt_err *err);
/* The live session with that hash and its (enabled) account: MT_ENOTFOUND
 * when there is none, it passed expires_at, it was idle longer than idle_us
 * (its row is then deleted), or the account is disabled. */
int store_session_lookup(struct db_conn *c, struct mt_arena *a, const char *hash, int64_t now_us,
                         int64_t idle_us, struct store_session *session,
                         struct store_account *account, struct mt_err *err);
/* Moves last_seen_at to now_us (callers do it at most once a minute). */
int store_session_touch(struct db_conn *c, int64_t id, int64_t now_us, struct mt_err *err);
/* Newest first. */
int store_sessions_list(struct db_conn *c, struct mt_arena *a, int64_t account_id,
                        struct store_session **out, size_t *n, struct mt_err *err);
/* MT_ENOTFOUND unless the session belongs to account_id. */
int store_session_delete(struct db_conn *c, int64_t account_id, int64_t id, struct mt_err *err);
/* Removes expired and idle sessions, expired setup tokens and stale
 * throttle rows (run now and then by any replica). */
int store_auth_sweep(struct db_conn *c, int64_t now_us, int64_t idle_us, struct mt_err *err);

/* An API token. prefix is the first characters of the secret, shown in
 * lists so that a person can tell tokens apart. */
struct store_token {
    int64_t id;
    int64_t account_id;
    const char *login; /* the account's, for lists */
    const char *name;
    const char *prefix;
    enum store_scope scope;
    bool has_person; /* restricted to one person */
    int64_t person_id;
    struct store_time created_at, expires_at, last_used_at, revoked_at; /* present when set */
};
struct store_token_fields {
    int64_t account_id;
    const char *name;
    const char *hash;
    const char *prefix;
    enum store_scope scope;
    bool has_person;
    int64_t person_id;
    bool has_expiry;
    int64_t expires_us;
};
/* MT_ENOTFOUND "Person not found" for an unknown person. */
int store_token_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                       const struct store_token_fields *f, struct store_token *out,
                       struct mt_err *err);
/* The live (not revoked, not expired) token with that hash and its enabled
 * account; MT_ENOTFOUND otherwise. */
int store_token_lookup(struct db_conn *c, struct mt_arena *a, const char *hash, int64_t now_us,
                       struct store_token *token, struct store_account *account,
                       struct mt_err *err);
int store_token_touch(struct db_conn *c, int64_t id, int64_t now_us, struct mt_err *err);
/* Of one account (account_id > 0) or of all, newest first, revoked ones
 * included (revoked_at present). */
int store_tokens_list(struct db_conn *c, struct mt_arena *a, int64_t account_id,
                      struct store_token **out, size_t *n, struct mt_err *err);
/* Sets revoked_at; MT_ENOTFOUND unless it exists, is not revoked yet, and
 * belongs to account_id (account_id 0: any account, for admins and the CLI). */
int store_token_revoke(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                       int64_t id, struct mt_err *err);

/* The throttle of failed sign-ins, shared by replicas. A key is
 * "login:<login>" or "addr:<address>". Failures count "in a row" while
 * they come less than STORE_THROTTLE_FORGET_US apart: after a quiet day
 * the next failure counts as the first again, and the sweep removes the
 * rows that have been quiet that long (and are not locked). */
#define STORE_THROTTLE_FORGET_US (INT64_C(86400) * 1000000)
struct store_throttle {
    int64_t failures;        /* in a row, since the last success or expiry */
    int64_t locked_until_us; /* 0: not locked */
};
/* The key's state (zeros when it has no row). */
int store_throttle_get(struct db_conn *c, const char *key, struct store_throttle *out,
                       struct mt_err *err);
/* Counts one more failure atomically and locks the key until
 * now_us + delay, where delay is lock_us(failures) of the new count (0: no
 * lock). The new state goes to *out. */
int store_throttle_fail(struct db_conn *c, const char *key, int64_t now_us,
                        int64_t (*lock_us)(int64_t failures), struct store_throttle *out,
                        struct mt_err *err);
int store_throttle_clear(struct db_conn *c, const char *key, struct mt_err *err);
/* Claims one attempt atomically, before a password is checked: refused
 * (*granted false, the lock in *out) while the key is locked; otherwise
 * granted, and when one more failure would lock the key (lock_us(failures
 * + 1) > 0), the key is locked that long right now, so that concurrent
 * attempts on any replica are refused instead of all being checked at the
 * moment a lock expires. The attempt's failure (store_throttle_fail) sets
 * the real lock; its success releases the claim (store_throttle_release
 * with *out's locked_until_us) or clears the key. */
int store_throttle_claim(struct db_conn *c, const char *key, int64_t now_us,
                         int64_t (*lock_us)(int64_t failures), bool *granted,
                         struct store_throttle *out, struct mt_err *err);
/* Lifts a claim's lock of until_us (0: none), unless a later failure has
 * set a longer one meanwhile. */
int store_throttle_release(struct db_conn *c, const char *key, int64_t until_us,
                           struct mt_err *err);

/* One-time setup tokens: any replica that starts with no account adds one
 * and prints its secret; the first valid one claimed creates the first
 * administrator and removes them all. */
int store_setup_token_add(struct db_conn *c, const char *hash, int64_t expires_us,
                          struct mt_err *err);
/* Atomically: the token is valid at now_us and there is no account yet;
 * then creates the admin described by f (role forced to admin) and deletes
 * every setup token. MT_ENOTFOUND "Invalid or expired setup token" when the
 * token is not valid; MT_ECONFLICT "Setup is already complete" when an
 * account exists. */
int store_setup_claim(struct db_conn *c, struct mt_arena *a, const char *hash, int64_t now_us,
                      const struct store_account_fields *f, struct store_account *out,
                      struct mt_err *err);
/* Whether a first administrator is still to be created. */
int store_setup_pending(struct db_conn *c, bool *pending, struct mt_err *err);

#endif
