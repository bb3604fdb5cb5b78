/* The SQL of the failed sign-in throttle and of the one-time setup tokens
 * (store/auth.h). A failure is counted by one upsert per dialect, so that
 * replicas sharing the database never lose a count; the setup claim checks
 * the token and the absence of accounts under the accounts lock and creates
 * the first administrator in the same transaction, so that two replicas
 * cannot both create one. */
#include <string.h>

#include "core/secret.h"
#include "store/auth_int.h"

/* Throttle keys longer than this (a client may send a very long login) are
 * shortened to fit throttle_key VARCHAR(200): their head, ":" and the hex
 * SHA-256 of the whole key, so different keys stay different. */
#define KEY_MAX 200
#define KEY_HEAD (KEY_MAX - 1 - (MT_SECRET_HASH_HEX - 1))

static const char sql_throttle_get[] =
    "SELECT failures, locked_until FROM auth_throttle WHERE throttle_key = ?";
/* One statement counts the failure: a new row, or one more failure in a
 * row, or (after STORE_THROTTLE_FORGET_US without any) the first again.
 * SET reads the old row on SQLite and PostgreSQL; MariaDB assigns left to
 * right, so failures is computed before last_failure_at changes. */
static const char sql_throttle_fail[] =
    "INSERT INTO auth_throttle (throttle_key, failures, last_failure_at, locked_until) "
    "VALUES (?, 1, ?, NULL) ON CONFLICT (throttle_key) DO UPDATE SET "
    "failures = CASE WHEN auth_throttle.last_failure_at < ? THEN 1 "
    "ELSE auth_throttle.failures + 1 END, last_failure_at = excluded.last_failure_at";
static const char sql_throttle_fail_my[] =
    "INSERT INTO auth_throttle (throttle_key, failures, last_failure_at, locked_until) "
    "VALUES (?, 1, ?, NULL) ON DUPLICATE KEY UPDATE "
    "failures = IF(last_failure_at < ?, 1, failures + 1), "
    "last_failure_at = VALUES(last_failure_at)";
static const char sql_throttle_count[] =
    "SELECT failures FROM auth_throttle WHERE throttle_key = ?";
static const char sql_throttle_lock[] =
    "UPDATE auth_throttle SET locked_until = ? WHERE throttle_key = ?";
static const char sql_throttle_clear[] = "DELETE FROM auth_throttle WHERE throttle_key = ?";
static const char sql_throttle_row[] =
    "SELECT failures, locked_until, last_failure_at FROM auth_throttle WHERE throttle_key = ?";
static const char sql_throttle_row_lock[] = "SELECT failures, locked_until, last_failure_at "
                                            "FROM auth_throttle WHERE throttle_key = ? FOR UPDATE";
static const char sql_throttle_release[] =
    "UPDATE auth_throttle SET locked_until = NULL WHERE throttle_key = ? AND locked_until <= ?";

static const char sql_setup_add[] =
    "INSERT INTO auth_setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)";
static const char sql_setup_find[] =
    "SELECT expires_at FROM auth_setup_tokens WHERE token_hash = ?";
static const char sql_setup_clear[] = "DELETE FROM auth_setup_tokens";
static const char sql_count[] = "SELECT COUNT(*) FROM accounts";
static const char sql_count_my[] = "SELECT COUNT(*) FROM accounts FOR UPDATE";

/* ---- throttle ------------------------------------------------------------------------------- */

/* The key as stored: key itself, or its shortened form (see KEY_MAX), cut
 * at a character boundary. */
static const char *stored_key(const char *key, char buf[KEY_MAX + 1])
{
    size_t n = strlen(key);
    if (n <= KEY_MAX)
        return key;
    size_t head = KEY_HEAD;
    while (head > 0 && ((unsigned char)key[head] & 0xc0) == 0x80)
        head--;
    char hex[MT_SECRET_HASH_HEX];
    mt_secret_hash(key, hex);
    memcpy(buf, key, head);
    buf[head] = ':';
    memcpy(buf + head + 1, hex, sizeof(hex));
    return buf;
}

/* An instant column; 0 for NULL or an unreadable value. */
static int64_t col_instant(struct db_stmt *st, int i)
{
    size_t len = 0;
    const char *s = db_col_text(st, i, &len);
    int64_t us = 0;
    return s && mt_parse_timestamp(s, len, &us) == 0 ? us : 0;
}

int store_throttle_get(struct db_conn *c, const char *key, struct store_throttle *out,
                       struct mt_err *err)
{
    char buf[KEY_MAX + 1];
    struct db_param p[] = {DB_TEXT(stored_key(key, buf))};
    struct db_stmt *st;
    if (db_query(c, sql_throttle_get, p, 1, &st, err) < 0)
        return -1;
    *out = (struct store_throttle){0, 0};
    int rc = db_next(st, err);
    if (rc == 1) {
        out->failures = db_col_int(st, 0);
        /* An unreadable time locks nothing: the next failure sets a new one. */
        out->locked_until_us = col_instant(st, 1);
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

struct fail_ctx {
    const char *key;
    int64_t now_us;
    int64_t (*lock_us)(int64_t failures);
    struct store_throttle *out;
};

static int fail_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct fail_ctx *x = vctx;
    char now_buf[MT_TIME_BUF], cut_buf[MT_TIME_BUF], until_buf[MT_TIME_BUF];
    struct db_param p[] = {DB_TEXT(x->key), store_time_param(x->now_us, now_buf),
                           store_time_param(x->now_us - STORE_THROTTLE_FORGET_US, cut_buf)};
    const char *sql =
        store_sql_locking(c, sql_throttle_fail, sql_throttle_fail, sql_throttle_fail_my);
    if (store_exec(c, sql, p, 3, err) < 0)
        return -1;
    /* The upsert holds the row until the commit: this reads our own count. */
    int64_t failures = 0;
    bool found = false;
    struct db_param k[] = {DB_TEXT(x->key)};
    if (db_query_int(c, sql_throttle_count, k, 1, &failures, &found, err) < 0)
        return -1;
    if (!found)
        return mt_fail(err, MT_EDB, "the throttle row vanished inside its transaction");
    int64_t delay = x->lock_us ? x->lock_us(failures) : 0;
    int64_t until = delay > 0 ? mt_instant_clamp(x->now_us + delay) : 0;
    struct db_param l[] = {delay > 0 ? store_time_param(until, until_buf) : DB_NULL,
                           DB_TEXT(x->key)};
    if (store_exec(c, sql_throttle_lock, l, 2, err) < 0)
        return -1;
    *x->out = (struct store_throttle){failures, until};
    return 0;
}

int store_throttle_fail(struct db_conn *c, const char *key, int64_t now_us,
                        int64_t (*lock_us)(int64_t failures), struct store_throttle *out,
                        struct mt_err *err)
{
    char buf[KEY_MAX + 1];
    struct fail_ctx x = {stored_key(key, buf), now_us, lock_us, out};
    return store_write_tx(c, fail_tx, &x, err);
}

struct claim_attempt_ctx {
    const char *key;
    int64_t now_us;
    int64_t (*lock_us)(int64_t failures);
    bool *granted;
    struct store_throttle *out;
};

static int claim_attempt_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct claim_attempt_ctx *x = vctx;
    struct db_param p[] = {DB_TEXT(x->key)};
    struct db_stmt *st;
    const char *sql =
        store_sql_locking(c, sql_throttle_row, sql_throttle_row_lock, sql_throttle_row_lock);
    if (db_query(c, sql, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    int64_t failures = 0, locked = 0, last = 0;
    if (rc == 1) {
        failures = db_col_int(st, 0);
        locked = col_instant(st, 1);
        last = col_instant(st, 2);
    }
    db_done(st);
    if (rc < 0)
        return -1;
    *x->out = (struct store_throttle){failures, 0};
    *x->granted = true;
    if (rc == 0)
        return 0;
    if (locked > x->now_us) {
        x->out->locked_until_us = locked;
        *x->granted = false;
        return 0;
    }
    /* After a quiet day the next failure counts as the first again. */
    if (last < x->now_us - STORE_THROTTLE_FORGET_US)
        failures = 0;
    int64_t delay = x->lock_us ? x->lock_us(failures + 1) : 0;
    if (delay <= 0)
        return 0;
    int64_t until = mt_instant_clamp(x->now_us + delay);
    char until_buf[MT_TIME_BUF];
    struct db_param l[] = {store_time_param(until, until_buf), DB_TEXT(x->key)};
    if (store_exec(c, sql_throttle_lock, l, 2, err) < 0)
        return -1;
    x->out->locked_until_us = until;
    return 0;
}

int store_throttle_claim(struct db_conn *c, const char *key, int64_t now_us,
                         int64_t (*lock_us)(int64_t failures), bool *granted,
                         struct store_throttle *out, struct mt_err *err)
{
    char buf[KEY_MAX + 1];
    struct claim_attempt_ctx x = {stored_key(key, buf), now_us, lock_us, granted, out};
    return store_write_tx(c, claim_attempt_tx, &x, err);
}

int store_throttle_release(struct db_conn *c, const char *key, int64_t until_us,
                           struct mt_err *err)
{
    if (until_us <= 0)
        return 0;
    char buf[KEY_MAX + 1], until_buf[MT_TIME_BUF];
    struct db_param p[] = {DB_TEXT(stored_key(key, buf)), store_time_param(until_us, until_buf)};
    return store_exec(c, sql_throttle_release, p, 2, err);
}

int store_throttle_clear(struct db_conn *c, const char *key, struct mt_err *err)
{
    char buf[KEY_MAX + 1];
    struct db_param p[] = {DB_TEXT(stored_key(key, buf))};
    return store_exec(c, sql_throttle_clear, p, 1, err);
}

/* ---- setup tokens --------------------------------------------------------------------------- */

int store_setup_token_add(struct db_conn *c, const char *hash, int64_t expires_us,
                          struct mt_err *err)
{
    char now_buf[MT_TIME_BUF], exp_buf[MT_TIME_BUF];
    struct db_param p[] = {DB_TEXT(hash), store_time_param(store_now_seconds(), now_buf),
                           store_time_param(expires_us, exp_buf)};
    return store_exec(c, sql_setup_add, p, 3, err);
}

struct claim_ctx {
    struct mt_arena *a;
    const char *hash;
    int64_t now_us;
    const struct store_account_fields *f;
    struct store_account *out;
};

static int claim_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct claim_ctx *x = vctx;
    int64_t accounts = 0;
    if (auth_lock_accounts(c, err) < 0 ||
        db_query_int(c, store_sql_locking(c, sql_count, sql_count, sql_count_my), NULL, 0,
                     &accounts, NULL, err) < 0)
        return -1;
    if (accounts > 0)
        return mt_fail(err, MT_ECONFLICT, "Setup is already complete");
    struct db_param p[] = {DB_TEXT(x->hash)};
    struct db_stmt *st;
    if (db_query(c, sql_setup_find, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    bool valid = false;
    if (rc == 1) {
        size_t len = 0;
        const char *exp = db_col_text(st, 0, &len);
        int64_t us = 0;
        valid = exp && mt_parse_timestamp(exp, len, &us) == 0 && us > x->now_us;
    }
    db_done(st);
    if (rc < 0)
        return -1;
    if (!valid)
        return mt_fail(err, MT_ENOTFOUND, "Invalid or expired setup token");
    /* The first account is an enabled administrator, whatever f says. */
    struct store_account_fields f = *x->f;
    f.enabled = true;
    if (auth_account_insert(c, x->a, &f, STORE_ROLE_ADMIN, x->out, err) < 0 ||
        store_exec(c, sql_setup_clear, NULL, 0, err) < 0)
        return -1;
    /* Whoever held the setup token becomes this account: it is the actor. */
    struct store_actor self = {x->out->id, x->out->login};
    return auth_audit_account(c, &self, "create", NULL, x->out, err);
}

int store_setup_claim(struct db_conn *c, struct mt_arena *a, const char *hash, int64_t now_us,
                      const struct store_account_fields *f, struct store_account *out,
                      struct mt_err *err)
{
    struct claim_ctx x = {a, hash, now_us, f, out};
    return store_write_tx(c, claim_tx, &x, err);
}

int store_setup_pending(struct db_conn *c, bool *pending, struct mt_err *err)
{
    int64_t n = 0;
    if (db_query_int(c, sql_count, NULL, 0, &n, NULL, err) < 0)
        return -1;
    *pending = n == 0;
    return 0;
}
