/* The SQL of browser sessions and API tokens (store/auth.h): both are found
 * by the hex SHA-256 of their secret together with their account in one
 * query, checked against the time the caller gives (expiry, idleness,
 * revocation, a disabled account), and listed newest first. Also the sweep
 * that removes what has expired. */
#include <string.h>

#include "store/audit.h"
#include "store/auth_int.h"

#define SESSION_COLS                                                                               \
    "s.id, s.account_id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.address"
#define SESSION_NCOLS 7
#define TOKEN_COLS                                                                                 \
    "t.id, t.account_id, a.login, t.name, t.prefix, t.scope, t.person_id, t.created_at, "          \
    "t.expires_at, t.last_used_at, t.revoked_at"
#define TOKEN_NCOLS 11

static const char sql_session_insert[] =
    "INSERT INTO auth_sessions (account_id, token_hash, created_at, last_seen_at, expires_at, "
    "user_agent, address) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_session_insert_pg[] =
    "INSERT INTO auth_sessions (account_id, token_hash, created_at, last_seen_at, expires_at, "
    "user_agent, address) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_session_lookup[] =
    "SELECT " SESSION_COLS ", " AUTH_ACCOUNT_COLS " FROM auth_sessions s "
    "JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?";
static const char sql_session_forget[] = "DELETE FROM auth_sessions WHERE id = ?";
static const char sql_session_touch[] = "UPDATE auth_sessions SET last_seen_at = ? WHERE id = ?";
static const char sql_sessions_list[] =
    "SELECT " SESSION_COLS " FROM auth_sessions s "
    "WHERE s.account_id = ? ORDER BY s.created_at DESC, s.id DESC";
static const char sql_session_delete[] =
    "DELETE FROM auth_sessions WHERE id = ? AND account_id = ?";
static const char sql_sweep_sessions[] =
    "DELETE FROM auth_sessions WHERE expires_at <= ? OR last_seen_at < ?";
static const char sql_sweep_expired[] = "DELETE FROM auth_sessions WHERE expires_at <= ?";
static const char sql_sweep_setup[] = "DELETE FROM auth_setup_tokens WHERE expires_at <= ?";
static const char sql_sweep_throttle[] = "DELETE FROM auth_throttle WHERE last_failure_at < ? AND "
                                         "(locked_until IS NULL OR locked_until <= ?)";

static const char sql_token_insert[] =
    "INSERT INTO api_tokens (account_id, name, token_hash, prefix, scope, person_id, created_at, "
    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_token_insert_pg[] =
    "INSERT INTO api_tokens (account_id, name, token_hash, prefix, scope, person_id, created_at, "
    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_token_lookup[] =
    "SELECT " TOKEN_COLS ", " AUTH_ACCOUNT_COLS " FROM api_tokens t "
    "JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = ? AND t.revoked_at IS NULL";
static const char sql_token_touch[] = "UPDATE api_tokens SET last_used_at = ? WHERE id = ?";
static const char sql_tokens_all[] = "SELECT " TOKEN_COLS " FROM api_tokens t "
                                     "JOIN accounts a ON a.id = t.account_id "
                                     "ORDER BY t.created_at DESC, t.id DESC";
static const char sql_tokens_of[] = "SELECT " TOKEN_COLS " FROM api_tokens t "
                                    "JOIN accounts a ON a.id = t.account_id "
                                    "WHERE t.account_id = ? ORDER BY t.created_at DESC, t.id DESC";
static const char sql_token_revoke[] =
    "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
static const char sql_token_revoke_of[] =
    "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND account_id = ?";

static const char no_session[] = "Invalid or expired session";
static const char no_token[] = "Invalid or expired token";

/* A stored time that cannot be read counts as passed: the row is then
 * refused rather than kept for ever. */
static bool passed(const struct store_time *t, int64_t now_us)
{
    return !t->parsed || t->us <= now_us;
}

/* ---- sessions ------------------------------------------------------------------------------- */

static int read_session(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_session *s = item;
    bool oom = false;
    s->id = db_col_int(st, 0);
    s->account_id = db_col_int(st, 1);
    s->created_at = store_col_time(st, 2, a, &oom);
    s->last_seen_at = store_col_time(st, 3, a, &oom);
    s->expires_at = store_col_time(st, 4, a, &oom);
    s->user_agent = store_col_text(st, 5, a, &oom);
    s->address = store_col_text(st, 6, a, &oom);
    return oom ? store_oom(err) : 0;
}

struct session_create_ctx {
    struct mt_arena *a;
    int64_t account_id;
    const char *hash;
    int64_t expires_us;
    const char *user_agent, *address;
    int64_t *id;
};

static int session_create_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct session_create_ctx *x = vctx;
    struct store_account acc;
    if (auth_fetch_account(c, x->a, x->account_id, false, &acc, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF], exp_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct db_param p[] = {DB_INT(x->account_id),
                           DB_TEXT(x->hash),
                           store_time_param(now, now_buf),
                           DB_TEXT(now_buf),
                           store_time_param(x->expires_us, exp_buf),
                           DB_TEXT(x->user_agent),
                           DB_TEXT(x->address)};
    return store_insert_id(c, sql_session_insert, sql_session_insert_pg, p, MT_ARRAY_LEN(p), x->id,
                           err);
}

int store_session_create(struct db_conn *c, int64_t account_id, const char *hash,
                         int64_t expires_us, const char *user_agent, const char *address,
                         int64_t *id, struct mt_err *err)
{
    struct session_create_ctx x = {
        mt_arena_new(256 * 1024), account_id, hash, expires_us, NULL, NULL, id};
    if (!x.a)
        return store_oom(err);
    /* Both come from the client: kept as text, cut to what their columns
     * hold. */
    bool oom = false;
    x.user_agent = auth_text_clean(x.a, user_agent, AUTH_TEXT_MAX, &oom);
    x.address = auth_text_clean(x.a, address, AUTH_ADDRESS_MAX, &oom);
    int rc = oom ? store_oom(err) : store_write_tx(c, session_create_tx, &x, err);
    mt_arena_free(x.a);
    return rc;
}

int store_session_lookup(struct db_conn *c, struct mt_arena *a, const char *hash, int64_t now_us,
                         int64_t idle_us, struct store_session *session,
                         struct store_account *account, struct mt_err *err)
{
    struct db_param p[] = {DB_TEXT(hash)};
    struct db_stmt *st;
    if (db_query(c, sql_session_lookup, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1 && (read_session(st, a, session, err) < 0 ||
                    auth_read_account(st, SESSION_NCOLS, a, account, NULL, err) < 0))
        rc = -1;
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, no_session);
    bool idle = idle_us > 0 &&
                (!session->last_seen_at.parsed || session->last_seen_at.us < now_us - idle_us);
    if (passed(&session->expires_at, now_us) || idle) {
        struct db_param id[] = {DB_INT(session->id)};
        if (store_exec(c, sql_session_forget, id, 1, err) < 0)
            return -1;
        return mt_fail(err, MT_ENOTFOUND, no_session);
    }
    if (!account->enabled)
        return mt_fail(err, MT_ENOTFOUND, no_session);
    return auth_load_persons(c, a, account, err);
}

int store_session_touch(struct db_conn *c, int64_t id, int64_t now_us, struct mt_err *err)
{
    char now_buf[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(now_us, now_buf), DB_INT(id)};
    /* A session that ended meanwhile has nothing to touch: not an error. */
    return store_id_ok(c, id) ? store_exec(c, sql_session_touch, p, 2, err) : 0;
}

int store_sessions_list(struct db_conn *c, struct mt_arena *a, int64_t account_id,
                        struct store_session **out, size_t *n, struct mt_err *err)
{
    if (!store_id_ok(c, account_id)) {
        *out = NULL;
        *n = 0;
        return 0;
    }
    struct db_param p[] = {DB_INT(account_id)};
    void *items;
    if (store_query_rows(c, a, sql_sessions_list, p, 1, sizeof(**out), read_session, &items, n,
                         err) < 0)
        return -1;
    *out = items;
    return 0;
}

int store_session_delete(struct db_conn *c, int64_t account_id, int64_t id, struct mt_err *err)
{
    if (!store_id_ok(c, id) || !store_id_ok(c, account_id))
        return mt_fail(err, MT_ENOTFOUND, "Session not found");
    struct db_param p[] = {DB_INT(id), DB_INT(account_id)};
    if (store_exec(c, sql_session_delete, p, 2, err) < 0)
        return -1;
    return db_changes(c) > 0 ? 0 : mt_fail(err, MT_ENOTFOUND, "Session not found");
}

int store_auth_sweep(struct db_conn *c, int64_t now_us, int64_t idle_us, struct mt_err *err)
{
    char now_buf[MT_TIME_BUF], idle_buf[MT_TIME_BUF], forget_buf[MT_TIME_BUF];
    struct db_param s[] = {store_time_param(now_us, now_buf),
                           store_time_param(now_us - idle_us, idle_buf)};
    struct db_param t[] = {DB_TEXT(now_buf)};
    struct db_param h[] = {store_time_param(now_us - STORE_THROTTLE_FORGET_US, forget_buf),
                           DB_TEXT(now_buf)};
    /* Three independent deletes: each may run alone, in any order. Without
     * an idle limit only the absolute expiry ends a session. */
    if (store_exec(c, idle_us > 0 ? sql_sweep_sessions : sql_sweep_expired, s, idle_us > 0 ? 2 : 1,
                   err) < 0 ||
        store_exec(c, sql_sweep_setup, t, 1, err) < 0 ||
        store_exec(c, sql_sweep_throttle, h, 2, err) < 0)
        return -1;
    return 0;
}

/* ---- API tokens ----------------------------------------------------------------------------- */

static int read_token(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_token *t = item;
    bool oom = false;
    t->id = db_col_int(st, 0);
    t->account_id = db_col_int(st, 1);
    t->login = store_col_text(st, 2, a, &oom);
    t->name = store_col_text(st, 3, a, &oom);
    t->prefix = store_col_text(st, 4, a, &oom);
    size_t len = 0;
    const char *scope = db_col_text(st, 5, &len);
    char scope_buf[8] = "";
    if (scope && len < sizeof(scope_buf))
        memcpy(scope_buf, scope, len + 1);
    t->has_person = !db_col_null(st, 6);
    t->person_id = t->has_person ? db_col_int(st, 6) : 0;
    t->created_at = store_col_time(st, 7, a, &oom);
    t->expires_at = store_col_time(st, 8, a, &oom);
    t->last_used_at = store_col_time(st, 9, a, &oom);
    t->revoked_at = store_col_time(st, 10, a, &oom);
    if (oom)
        return store_oom(err);
    if (!t->login)
        t->login = "";
    if (!t->name)
        t->name = "";
    if (!t->prefix)
        t->prefix = "";
    /* The column's CHECK allows only the three words. */
    if (store_scope_parse(scope_buf, &t->scope) < 0)
        return mt_fail(err, MT_EDB, "API token %lld has an unknown scope", (long long)t->id);
    return 0;
}

struct token_create_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    const struct store_token_fields *f;
    struct store_token *out;
};

static int token_create_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct token_create_ctx *x = vctx;
    const struct store_token_fields *f = x->f;
    struct store_account acc;
    if (auth_fetch_account(c, x->a, f->account_id, false, &acc, err) < 0)
        return -1;
    if (f->has_person && store_person_exists(c, f->person_id, false, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF], exp_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct db_param p[] = {DB_INT(f->account_id),
                           DB_TEXT(f->name),
                           DB_TEXT(f->hash),
                           DB_TEXT(f->prefix),
                           DB_TEXT(store_scope_name(f->scope)),
                           f->has_person ? DB_INT(f->person_id) : DB_NULL,
                           store_time_param(now, now_buf),
                           f->has_expiry ? store_time_param(f->expires_us, exp_buf) : DB_NULL};
    struct store_token *o = x->out;
    memset(o, 0, sizeof(*o));
    if (store_insert_id(c, sql_token_insert, sql_token_insert_pg, p, MT_ARRAY_LEN(p), &o->id, err) <
        0)
        return -1;
    o->account_id = f->account_id;
    o->login = acc.login;
    o->name = mt_arena_strdup(x->a, f->name);
    o->prefix = mt_arena_strdup(x->a, f->prefix);
    if (!o->name || !o->prefix)
        return store_oom(err);
    o->scope = f->scope;
    o->has_person = f->has_person;
    o->person_id = f->has_person ? f->person_id : 0;
    o->created_at = (struct store_time){true, true, now, NULL};
    if (f->has_expiry)
        o->expires_at = (struct store_time){true, true, f->expires_us, NULL};
    return store_audit_change(c, x->actor, "create", "token", o->id, o->person_id, NULL,
                              store_json_token(o), err);
}

int store_token_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                       const struct store_token_fields *f, struct store_token *out,
                       struct mt_err *err)
{
    if (!f->name || !*f->name)
        return mt_fail(err, MT_EINVAL, "a token needs a name");
    if (!auth_text_valid(f->name))
        return mt_fail(err, MT_EINVAL, "the token name is not valid UTF-8 text");
    if (auth_text_chars(f->name) > AUTH_TEXT_MAX)
        return mt_fail(err, MT_EINVAL, "the token name is too long: at most %d characters",
                       AUTH_TEXT_MAX);
    if (!f->prefix || strlen(f->prefix) > AUTH_PREFIX_MAX)
        return mt_fail(err, MT_EINVAL, "a token prefix has at most %d characters", AUTH_PREFIX_MAX);
    if (!f->hash || strlen(f->hash) != 64)
        return mt_fail(err, MT_EINVAL, "a token hash is a hex SHA-256");
    if (f->scope < STORE_SCOPE_READ || f->scope > STORE_SCOPE_ADMIN)
        return mt_fail(err, MT_EINVAL, "invalid scope");
    struct token_create_ctx x = {actor, a, f, out};
    return store_write_tx(c, token_create_tx, &x, err);
}

int store_token_lookup(struct db_conn *c, struct mt_arena *a, const char *hash, int64_t now_us,
                       struct store_token *token, struct store_account *account, struct mt_err *err)
{
    struct db_param p[] = {DB_TEXT(hash)};
    struct db_stmt *st;
    if (db_query(c, sql_token_lookup, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1 && (read_token(st, a, token, err) < 0 ||
                    auth_read_account(st, TOKEN_NCOLS, a, account, NULL, err) < 0))
        rc = -1;
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0 || (token->expires_at.present && passed(&token->expires_at, now_us)) ||
        !account->enabled)
        return mt_fail(err, MT_ENOTFOUND, no_token);
    return auth_load_persons(c, a, account, err);
}

int store_token_touch(struct db_conn *c, int64_t id, int64_t now_us, struct mt_err *err)
{
    char now_buf[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(now_us, now_buf), DB_INT(id)};
    return store_id_ok(c, id) ? store_exec(c, sql_token_touch, p, 2, err) : 0;
}

int store_tokens_list(struct db_conn *c, struct mt_arena *a, int64_t account_id,
                      struct store_token **out, size_t *n, struct mt_err *err)
{
    if (account_id > 0 && !store_id_ok(c, account_id)) {
        *out = NULL;
        *n = 0;
        return 0;
    }
    struct db_param p[] = {DB_INT(account_id)};
    void *items;
    if (store_query_rows(c, a, account_id > 0 ? sql_tokens_of : sql_tokens_all, p,
                         account_id > 0 ? 1 : 0, sizeof(**out), read_token, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

struct token_revoke_ctx {
    const struct store_actor *actor;
    int64_t account_id, id;
};

static int token_revoke_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct token_revoke_ctx *x = vctx;
    char now_buf[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(store_now_seconds(), now_buf), DB_INT(x->id),
                           DB_INT(x->account_id)};
    if (store_exec(c, x->account_id > 0 ? sql_token_revoke_of : sql_token_revoke, p,
                   x->account_id > 0 ? 3 : 2, err) < 0)
        return -1;
    if (db_changes(c) == 0)
        return mt_fail(err, MT_ENOTFOUND, "Token not found");
    return store_audit_append(c, x->actor, "revoke", "token", x->id, 0, NULL, NULL, err);
}

int store_token_revoke(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                       int64_t id, struct mt_err *err)
{
    if (!store_id_ok(c, id) || !store_id_ok(c, account_id))
        return mt_fail(err, MT_ENOTFOUND, "Token not found");
    struct token_revoke_ctx x = {actor, account_id, id};
    return store_write_tx(c, token_revoke_tx, &x, err);
}
