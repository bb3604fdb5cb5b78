/* The SQL of accounts and their grants (store/auth.h): create, read, list,
 * partial update, delete, passwords, and the persons each account may see.
 * Writes that could remove the last enabled administrator lock the accounts
 * first, so that two concurrent demotions cannot both pass the check. */
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "store/audit.h"
#include "store/auth_int.h"

static const char sql_get[] = "SELECT " AUTH_ACCOUNT_COLS " FROM accounts a WHERE a.id = ?";
static const char sql_get_lock[] =
    "SELECT " AUTH_ACCOUNT_COLS " FROM accounts a WHERE a.id = ? FOR UPDATE";
static const char sql_by_login[] = "SELECT " AUTH_ACCOUNT_COLS " FROM accounts a WHERE a.login = ?";
static const char sql_list[] = "SELECT " AUTH_ACCOUNT_COLS " FROM accounts a ORDER BY a.login";
static const char sql_grants_of[] =
    "SELECT person_id FROM account_persons WHERE account_id = ? ORDER BY person_id";
static const char sql_grants_all[] =
    "SELECT account_id, person_id FROM account_persons ORDER BY account_id, person_id";
static const char sql_count[] = "SELECT COUNT(*) FROM accounts";
static const char sql_login_taken[] = "SELECT COUNT(*) FROM accounts WHERE login = ?";
static const char sql_insert[] =
    "INSERT INTO accounts (login, display_name, password_hash, role, enabled, person_id, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_insert_pg[] =
    "INSERT INTO accounts (login, display_name, password_hash, role, enabled, person_id, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_grant[] =
    "INSERT INTO account_persons (account_id, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING";
static const char sql_grant_my[] = "INSERT INTO account_persons (account_id, person_id) "
                                   "VALUES (?, ?) ON DUPLICATE KEY UPDATE person_id = person_id";
static const char sql_ungrant[] =
    "DELETE FROM account_persons WHERE account_id = ? AND person_id = ?";
static const char sql_ungrant_all[] = "DELETE FROM account_persons WHERE account_id = ?";
static const char sql_other_admins[] =
    "SELECT COUNT(*) FROM accounts WHERE role = ? AND enabled = ? AND id <> ?";
static const char sql_update[] = "UPDATE accounts SET display_name = ?, role = ?, enabled = ?, "
                                 "person_id = ?, updated_at = ? WHERE id = ?";
static const char sql_set_password[] =
    "UPDATE accounts SET password_hash = ?, updated_at = ? WHERE id = ?";
static const char sql_rehash[] = "UPDATE accounts SET password_hash = ? WHERE id = ?";
static const char sql_end_sessions[] = "DELETE FROM auth_sessions WHERE account_id = ? AND id <> ?";
static const char sql_delete_sessions[] = "DELETE FROM auth_sessions WHERE account_id = ?";
static const char sql_delete_tokens[] = "DELETE FROM api_tokens WHERE account_id = ?";
static const char sql_delete[] = "DELETE FROM accounts WHERE id = ?";

static const char not_found[] = "Account not found";
static const char last_admin[] = "The last administrator cannot be disabled or demoted";

/* ---- names --------------------------------------------------------------------------------- */

static const char *const role_names[] = {
    [STORE_ROLE_VIEWER] = "viewer", [STORE_ROLE_CARER] = "carer", [STORE_ROLE_ADMIN] = "admin"};
static const char *const scope_names[] = {
    [STORE_SCOPE_READ] = "read", [STORE_SCOPE_WRITE] = "write", [STORE_SCOPE_ADMIN] = "admin"};

static bool role_valid(enum store_role r)
{
    return r >= STORE_ROLE_VIEWER && r <= STORE_ROLE_ADMIN;
}

const char *store_role_name(enum store_role r)
{
    return r >= STORE_ROLE_VIEWER && r <= STORE_ROLE_ADMIN ? role_names[r] : "unknown";
}

int store_role_parse(const char *s, enum store_role *out)
{
    for (int r = STORE_ROLE_VIEWER; s && r <= STORE_ROLE_ADMIN; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            *out = (enum store_role)r;
            return 0;
        }
    }
    return -1;
}

const char *store_scope_name(enum store_scope s)
{
    return s >= STORE_SCOPE_READ && s <= STORE_SCOPE_ADMIN ? scope_names[s] : "unknown";
}

int store_scope_parse(const char *s, enum store_scope *out)
{
    for (int k = STORE_SCOPE_READ; s && k <= STORE_SCOPE_ADMIN; k++) {
        if (strcmp(s, scope_names[k]) == 0) {
            *out = (enum store_scope)k;
            return 0;
        }
    }
    return -1;
}

/* ---- shared helpers (auth_int.h) ------------------------------------------------------------ */

static bool login_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
           ch == '@' || ch == '-';
}

int store_login_normalize(const char *login, char out[STORE_LOGIN_MAX + 1], struct mt_err *err)
{
    size_t n = login ? strlen(login) : 0;
    bool ok = n >= 1 && n <= STORE_LOGIN_MAX;
    for (size_t i = 0; i < n && ok; i++) {
        char ch = login[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        ok = login_char(ch);
        out[i] = ch;
    }
    if (!ok) {
        char q[MT_QUOTE_SIZE];
        return mt_fail(err, MT_EINVAL,
                       "invalid login %s: use 1 to %d of the characters a-z, 0-9, '.', '_', '@' "
                       "and '-'",
                       mt_quote(q, sizeof(q), login ? login : "", n), STORE_LOGIN_MAX);
    }
    out[n] = '\0';
    return 0;
}

size_t auth_text_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

bool auth_text_valid(const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0, n; i < len; i += n) {
        n = mt_utf8_seq(s + i, len - i);
        if (n == 0)
            return false;
    }
    return true;
}

const char *auth_text_clean(struct mt_arena *a, const char *s, size_t max, bool *oom)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    char *out = mt_arena_alloc(a, len + 1);
    if (!out) {
        *oom = true;
        return NULL;
    }
    size_t o = 0, chars = 0;
    for (size_t i = 0, n; i < len && chars < max; i += n, chars++) {
        n = mt_utf8_seq(s + i, len - i);
        unsigned char b = (unsigned char)s[i];
        if (n == 0 || (n == 1 && (b < 0x20 || b == 0x7f))) {
            /* One '?' for each byte that is not text. */
            n = 1;
            out[o++] = '?';
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

int auth_read_account(struct db_stmt *st, int first, struct mt_arena *a, struct store_account *out,
                      const char **hash, struct mt_err *err)
{
    bool oom = false;
    memset(out, 0, sizeof(*out));
    out->id = db_col_int(st, first);
    out->login = store_col_text(st, first + 1, a, &oom);
    out->display_name = store_col_text(st, first + 2, a, &oom);
    size_t len = 0;
    const char *role = db_col_text(st, first + 3, &len);
    char role_buf[16] = "";
    if (role && len < sizeof(role_buf))
        memcpy(role_buf, role, len + 1);
    out->enabled = db_col_int(st, first + 4) != 0;
    out->has_person = !db_col_null(st, first + 5);
    out->person_id = out->has_person ? db_col_int(st, first + 5) : 0;
    const char *h = store_col_text(st, first + 6, a, &oom);
    out->has_password = h != NULL;
    if (hash)
        *hash = h;
    out->created_at = store_col_time(st, first + 7, a, &oom);
    out->updated_at = store_col_time(st, first + 8, a, &oom);
    if (oom)
        return store_oom(err);
    if (!out->login)
        out->login = "";
    if (!out->display_name)
        out->display_name = out->login;
    /* The column's CHECK allows only the three words. */
    if (store_role_parse(role_buf, &out->role) < 0)
        return mt_fail(err, MT_EDB, "account %lld has an unknown role", (long long)out->id);
    return 0;
}

int auth_load_persons(struct db_conn *c, struct mt_arena *a, struct store_account *out,
                      struct mt_err *err)
{
    struct db_param p[] = {DB_INT(out->id)};
    struct db_stmt *st;
    if (db_query(c, sql_grants_of, p, 1, &st, err) < 0)
        return -1;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = db_next(st, err)) == 1) {
        void *items = ids;
        if (store_grow(a, &items, &cap, n, sizeof(*ids), err) < 0) {
            rc = -1;
            break;
        }
        ids = items;
        ids[n++] = db_col_int(st, 0);
    }
    db_done(st);
    if (rc < 0)
        return -1;
    out->persons = ids;
    out->n_persons = n;
    return 0;
}

int auth_fetch_account(struct db_conn *c, struct mt_arena *a, int64_t id, bool lock,
                       struct store_account *out, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    const char *sql = lock ? store_sql_locking(c, sql_get, sql_get_lock, sql_get_lock) : sql_get;
    struct db_param p[] = {DB_INT(id)};
    struct db_stmt *st;
    if (db_query(c, sql, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1)
        rc = auth_read_account(st, 0, a, out, NULL, err) < 0 ? -1 : 1;
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    return auth_load_persons(c, a, out, err);
}

int auth_lock_accounts(struct db_conn *c, struct mt_err *err)
{
    switch (db_conn_dialect(c)) {
    case DB_POSTGRES:
        /* Blocks other writers of accounts (and itself), never plain reads. */
        return store_exec(c, "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", NULL, 0, err);
    case DB_MYSQL:
        /* A locking read of every row also locks the gaps: inserts wait. */
        return store_exec(c, "SELECT id FROM accounts FOR UPDATE", NULL, 0, err);
    case DB_SQLITE:
        break;
    }
    return 0;
}

int auth_grant_insert(struct db_conn *c, int64_t account_id, int64_t person_id, struct mt_err *err)
{
    struct db_param p[] = {DB_INT(account_id), DB_INT(person_id)};
    return store_exec(c, store_sql_locking(c, sql_grant, sql_grant, sql_grant_my), p, 2, err);
}

/* The display name to store: the given one, or the login when none. */
static int display_name(const char *given, const char *login, const char **out, struct mt_err *err)
{
    if (!given || !*given) {
        *out = login;
        return 0;
    }
    if (!auth_text_valid(given))
        return mt_fail(err, MT_EINVAL, "the display name is not valid UTF-8 text");
    if (auth_text_chars(given) > AUTH_TEXT_MAX)
        return mt_fail(err, MT_EINVAL, "the display name is too long: at most %d characters",
                       AUTH_TEXT_MAX);
    *out = given;
    return 0;
}

int auth_account_insert(struct db_conn *c, struct mt_arena *a, const struct store_account_fields *f,
                        enum store_role role, struct store_account *out, struct mt_err *err)
{
    char login_buf[STORE_LOGIN_MAX + 1];
    if (store_login_normalize(f->login, login_buf, err) < 0)
        return -1;
    const char *login = mt_arena_strdup(a, login_buf);
    if (!login)
        return store_oom(err);
    const char *name = login;
    if (display_name(f->display_name, login, &name, err) < 0)
        return -1;
    int64_t taken = 0;
    struct db_param lp[] = {DB_TEXT(login)};
    if (db_query_int(c, sql_login_taken, lp, 1, &taken, NULL, err) < 0)
        return -1;
    if (taken > 0)
        return mt_fail(err, MT_ECONFLICT, "Login already taken");
    if (f->has_person && store_person_exists(c, f->person_id, false, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct db_param p[] = {DB_TEXT(login),
                           DB_TEXT(name),
                           DB_TEXT(f->password_hash),
                           DB_TEXT(store_role_name(role)),
                           DB_BOOL(f->enabled),
                           f->has_person ? DB_INT(f->person_id) : DB_NULL,
                           store_time_param(now, now_buf)};
    int64_t id = 0;
    if (store_insert_id(c, sql_insert, sql_insert_pg, p, MT_ARRAY_LEN(p), &id, err) < 0) {
        /* Another writer took the login between the check and the insert. */
        if (err->code == MT_ECONFLICT)
            return mt_fail(err, MT_ECONFLICT, "Login already taken");
        return -1;
    }
    if (f->has_person && auth_grant_insert(c, id, f->person_id, err) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    out->id = id;
    out->login = login;
    out->display_name = name;
    out->role = role;
    out->enabled = f->enabled;
    out->has_person = f->has_person;
    out->person_id = f->has_person ? f->person_id : 0;
    out->has_password = f->password_hash != NULL;
    if (f->has_person) {
        int64_t *ids = mt_arena_alloc(a, sizeof(*ids));
        if (!ids)
            return store_oom(err);
        ids[0] = f->person_id;
        out->persons = ids;
        out->n_persons = 1;
    }
    out->created_at = (struct store_time){true, true, now, NULL};
    out->updated_at = (struct store_time){false, false, 0, NULL};
    return 0;
}

/* ---- accounts ------------------------------------------------------------------------------ */

int store_account_count(struct db_conn *c, int64_t *n, struct mt_err *err)
{
    return db_query_int(c, sql_count, NULL, 0, n, NULL, err);
}

int auth_audit_account(struct db_conn *c, const struct store_actor *actor, const char *action,
                       const struct store_account *before, const struct store_account *after,
                       struct mt_err *err)
{
    const struct store_account *acc = after ? after : before;
    return store_audit_change(c, actor, action, "account", acc->id,
                              acc->has_person ? acc->person_id : 0, store_json_account(before),
                              store_json_account(after), err);
}

struct create_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    const struct store_account_fields *f;
    struct store_account *out;
};

static int create_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct create_ctx *x = vctx;
    if (auth_account_insert(c, x->a, x->f, x->f->role, x->out, err) < 0)
        return -1;
    return auth_audit_account(c, x->actor, "create", NULL, x->out, err);
}

int store_account_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                         const struct store_account_fields *f, struct store_account *out,
                         struct mt_err *err)
{
    if (!role_valid(f->role))
        return mt_fail(err, MT_EINVAL, "invalid role");
    struct create_ctx x = {actor, a, f, out};
    return store_write_tx(c, create_tx, &x, err);
}

int store_account_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_account *out,
                      struct mt_err *err)
{
    return auth_fetch_account(c, a, id, false, out, err);
}

int store_account_by_login(struct db_conn *c, struct mt_arena *a, const char *login,
                           struct store_account *out, const char **hash, struct mt_err *err)
{
    char buf[STORE_LOGIN_MAX + 1];
    if (store_login_normalize(login, buf, err) < 0)
        return -1;
    struct db_param p[] = {DB_TEXT(buf)};
    struct db_stmt *st;
    if (db_query(c, sql_by_login, p, 1, &st, err) < 0)
        return -1;
    const char *h = NULL;
    int rc = db_next(st, err);
    if (rc == 1)
        rc = auth_read_account(st, 0, a, out, &h, err) < 0 ? -1 : 1;
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    if (auth_load_persons(c, a, out, err) < 0)
        return -1;
    if (hash)
        *hash = h;
    return 0;
}

static int read_account_row(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    return auth_read_account(st, 0, a, item, NULL, err);
}

/* One grant of the list query. */
struct grant {
    int64_t account_id, person_id;
};

static int read_grant_row(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct grant *g = item;
    g->account_id = db_col_int(st, 0);
    g->person_id = db_col_int(st, 1);
    return 0;
}

int store_accounts_list(struct db_conn *c, struct mt_arena *a, struct store_account **out,
                        size_t *n, struct mt_err *err)
{
    void *accounts, *grants;
    size_t n_accounts, n_grants;
    if (store_query_rows(c, a, sql_list, NULL, 0, sizeof(struct store_account), read_account_row,
                         &accounts, &n_accounts, err) < 0 ||
        store_query_rows(c, a, sql_grants_all, NULL, 0, sizeof(struct grant), read_grant_row,
                         &grants, &n_grants, err) < 0)
        return -1;
    struct store_account *acc = accounts;
    const struct grant *g = grants;
    for (size_t i = 0; i < n_accounts; i++) {
        /* The grants are in account order: binary search for the first. */
        size_t lo = 0, hi = n_grants;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (g[mid].account_id < acc[i].id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        while (end < n_grants && g[end].account_id == acc[i].id)
            end++;
        if (end == lo)
            continue;
        int64_t *ids = mt_arena_calloc(a, end - lo, sizeof(*ids));
        if (!ids)
            return store_oom(err);
        for (size_t k = lo; k < end; k++)
            ids[k - lo] = g[k].person_id;
        acc[i].persons = ids;
        acc[i].n_persons = end - lo;
    }
    *out = acc;
    *n = n_accounts;
    return 0;
}

/* MT_ECONFLICT when account cur is the only enabled administrator: it may
 * not stop being one. */
static int keep_an_admin(struct db_conn *c, const struct store_account *cur, struct mt_err *err)
{
    if (cur->role != STORE_ROLE_ADMIN || !cur->enabled)
        return 0;
    int64_t others = 0;
    struct db_param p[] = {DB_TEXT(store_role_name(STORE_ROLE_ADMIN)), DB_BOOL(true),
                           DB_INT(cur->id)};
    if (db_query_int(c, sql_other_admins, p, 3, &others, NULL, err) < 0)
        return -1;
    return others > 0 ? 0 : mt_fail(err, MT_ECONFLICT, last_admin);
}

struct update_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t id;
    const struct store_account_fields *f;
    struct store_account *out;
};

static int update_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct update_ctx *x = vctx;
    const struct store_account_fields *f = x->f;
    struct store_account cur;
    if (auth_lock_accounts(c, err) < 0 || auth_fetch_account(c, x->a, x->id, true, &cur, err) < 0)
        return -1;
    const char *name = cur.display_name;
    if (f->set_display_name && display_name(f->display_name, cur.login, &name, err) < 0)
        return -1;
    enum store_role role = f->set_role ? f->role : cur.role;
    bool enabled = f->set_enabled ? f->enabled : cur.enabled;
    bool has_person = f->set_person ? f->has_person : cur.has_person;
    int64_t person = f->set_person ? (f->has_person ? f->person_id : 0) : cur.person_id;
    bool person_changed = has_person != cur.has_person || person != cur.person_id;
    if ((role != STORE_ROLE_ADMIN || !enabled) && keep_an_admin(c, &cur, err) < 0)
        return -1;
    if (person_changed && has_person && store_person_exists(c, person, false, err) < 0)
        return -1;
    bool changed = strcmp(name, cur.display_name) != 0 || role != cur.role ||
                   enabled != cur.enabled || person_changed;
    if (changed) {
        char now_buf[MT_TIME_BUF];
        struct db_param p[] = {DB_TEXT(name),
                               DB_TEXT(store_role_name(role)),
                               DB_BOOL(enabled),
                               has_person ? DB_INT(person) : DB_NULL,
                               store_time_param(store_now_seconds(), now_buf),
                               DB_INT(x->id)};
        if (store_exec(c, sql_update, p, MT_ARRAY_LEN(p), err) < 0)
            return -1;
    }
    /* A new own person is granted; the former one stays granted until an
     * administrator revokes it. */
    if (person_changed && has_person && auth_grant_insert(c, x->id, person, err) < 0)
        return -1;
    if (cur.enabled && !enabled) {
        struct db_param id[] = {DB_INT(x->id)};
        if (store_exec(c, sql_delete_sessions, id, 1, err) < 0)
            return -1;
    }
    if (!changed) {
        *x->out = cur;
        return 0;
    }
    if (auth_fetch_account(c, x->a, x->id, false, x->out, err) < 0)
        return -1;
    return auth_audit_account(c, x->actor, "update", &cur, x->out, err);
}

int store_account_update(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                         int64_t id, const struct store_account_fields *f,
                         struct store_account *out, struct mt_err *err)
{
    if (f->set_role && !role_valid(f->role))
        return mt_fail(err, MT_EINVAL, "invalid role");
    struct update_ctx x = {actor, a, id, f, out};
    return store_write_tx(c, update_tx, &x, err);
}

/* The scratch arena of the writes that read an account but give none back
 * (its grants included: a household's accounts have few). */
#define SCRATCH_BYTES (256 * 1024)

struct delete_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t id;
};

static int delete_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct delete_ctx *x = vctx;
    struct store_account cur;
    if (auth_lock_accounts(c, err) < 0 || auth_fetch_account(c, x->a, x->id, true, &cur, err) < 0 ||
        keep_an_admin(c, &cur, err) < 0)
        return -1;
    /* The foreign keys would cascade; the deletes say what goes, also on a
     * SQLite connection whose foreign keys are off. */
    struct db_param id[] = {DB_INT(x->id)};
    if (store_exec(c, sql_delete_sessions, id, 1, err) < 0 ||
        store_exec(c, sql_delete_tokens, id, 1, err) < 0 ||
        store_exec(c, sql_ungrant_all, id, 1, err) < 0 || store_exec(c, sql_delete, id, 1, err) < 0)
        return -1;
    return auth_audit_account(c, x->actor, "delete", &cur, NULL, err);
}

int store_account_delete(struct db_conn *c, const struct store_actor *actor, int64_t id,
                         struct mt_err *err)
{
    struct delete_ctx x = {actor, mt_arena_new(SCRATCH_BYTES), id};
    if (!x.a)
        return store_oom(err);
    int rc = store_write_tx(c, delete_tx, &x, err);
    mt_arena_free(x.a);
    return rc;
}

struct password_ctx {
    const struct store_actor *actor;
    int64_t id;
    const char *hash;
    int64_t keep;
};

static int password_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct password_ctx *x = vctx;
    char now_buf[MT_TIME_BUF];
    struct db_param p[] = {DB_TEXT(x->hash), store_time_param(store_now_seconds(), now_buf),
                           DB_INT(x->id)};
    if (store_exec(c, sql_set_password, p, 3, err) < 0)
        return -1;
    if (db_changes(c) == 0)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param s[] = {DB_INT(x->id), DB_INT(x->keep)};
    if (store_exec(c, sql_end_sessions, s, 2, err) < 0)
        return -1;
    /* The row says that the password changed, never what to. */
    return store_audit_append(c, x->actor, "set_password", "account", x->id, 0, NULL, NULL, err);
}

int store_account_set_password(struct db_conn *c, const struct store_actor *actor, int64_t id,
                               const char *hash, int64_t keep_session, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct password_ctx x = {actor, id, hash, store_id_ok(c, keep_session) ? keep_session : 0};
    return store_write_tx(c, password_tx, &x, err);
}

int store_account_rehash(struct db_conn *c, int64_t id, const char *hash, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param p[] = {DB_TEXT(hash), DB_INT(id)};
    if (store_exec(c, sql_rehash, p, 2, err) < 0)
        return -1;
    return db_changes(c) > 0 ? 0 : mt_fail(err, MT_ENOTFOUND, not_found);
}

/* ---- grants -------------------------------------------------------------------------------- */

enum grant_change { GRANT_ADD, GRANT_REMOVE, GRANT_SET };

struct grant_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t account_id;
    const int64_t *ids;
    size_t n;
    enum grant_change what;
};

/* The grant change itself, on the locked account acc. */
static int apply_grants(struct db_conn *c, const struct grant_ctx *x, const struct store_account *acc,
                        struct mt_err *err)
{
    for (size_t i = 0; i < x->n; i++)
        if (store_person_exists(c, x->ids[i], false, err) < 0)
            return -1;
    bool own = acc->has_person;
    int64_t own_id = acc->person_id;
    struct db_param id[] = {DB_INT(x->account_id)};
    switch (x->what) {
    case GRANT_ADD:
        return auth_grant_insert(c, x->account_id, x->ids[0], err);
    case GRANT_REMOVE: {
        if (own && own_id == x->ids[0])
            return mt_fail(err, MT_ECONFLICT,
                           "The account's own person cannot be revoked; change its person "
                           "first");
        struct db_param p[] = {DB_INT(x->account_id), DB_INT(x->ids[0])};
        return store_exec(c, sql_ungrant, p, 2, err);
    }
    case GRANT_SET:
        if (store_exec(c, sql_ungrant_all, id, 1, err) < 0)
            return -1;
        for (size_t i = 0; i < x->n; i++)
            if (auth_grant_insert(c, x->account_id, x->ids[i], err) < 0)
                return -1;
        return own ? auth_grant_insert(c, x->account_id, own_id, err) : 0;
    }
    return mt_fail(err, MT_EINTERNAL, "unknown grant change");
}

static bool same_persons(const struct store_account *a, const struct store_account *b)
{
    if (a->n_persons != b->n_persons)
        return false;
    for (size_t i = 0; i < a->n_persons; i++)
        if (a->persons[i] != b->persons[i])
            return false;
    return true;
}

static int grant_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct grant_ctx *x = vctx;
    static const char *const action[] = {[GRANT_ADD] = "grant", [GRANT_REMOVE] = "revoke",
                                         [GRANT_SET] = "set_grants"};
    struct store_account before, after;
    /* The account's row lock orders concurrent changes of its grants. */
    if (auth_fetch_account(c, x->a, x->account_id, true, &before, err) < 0 ||
        apply_grants(c, x, &before, err) < 0 ||
        auth_fetch_account(c, x->a, x->account_id, false, &after, err) < 0)
        return -1;
    /* Grants are idempotent: a change that changed nothing leaves no row. */
    if (same_persons(&before, &after))
        return 0;
    return store_audit_change(c, x->actor, action[x->what], "grant", x->account_id,
                              x->what == GRANT_SET ? 0 : x->ids[0], store_json_account(&before),
                              store_json_account(&after), err);
}

static int change_grants(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                         const int64_t *ids, size_t n, enum grant_change what, struct mt_err *err)
{
    struct grant_ctx x = {actor, mt_arena_new(SCRATCH_BYTES), account_id, ids, n, what};
    if (!x.a)
        return store_oom(err);
    int rc = store_write_tx(c, grant_tx, &x, err);
    mt_arena_free(x.a);
    return rc;
}

int store_grant_add(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                    int64_t person_id, struct mt_err *err)
{
    return change_grants(c, actor, account_id, &person_id, 1, GRANT_ADD, err);
}

int store_grant_remove(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                       int64_t person_id, struct mt_err *err)
{
    return change_grants(c, actor, account_id, &person_id, 1, GRANT_REMOVE, err);
}

int store_grants_set(struct db_conn *c, const struct store_actor *actor, int64_t account_id,
                     const int64_t *ids, size_t n, struct mt_err *err)
{
    return change_grants(c, actor, account_id, ids, n, GRANT_SET, err);
}
