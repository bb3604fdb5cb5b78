/* /api/v1/auth: the caller's own access (docs/auth.md): status, first-run
 * setup with the one-time token, sign-in with its throttle, sign-out, the
 * account, its password, sessions and API tokens; and the start-up duties
 * of access control (the setup token, the warning of an open API). A failed
 * sign-in costs the same and reads the same whether the account is
 * unknown, disabled or the password wrong; failures are counted per login
 * and per client address in the database, so that replicas share them. */
#include <stdio.h>
#include <string.h>

#include "api/actor.h"
#include "api/auth.h"
#include "api/handlers.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/secret.h"
#include "db/db.h"

/* The throttle (docs/auth.md): after LOGIN_FREE failures of a login in a
 * row, each further one locks it for 2^(n - LOGIN_FREE) seconds, at most
 * LOCK_MAX_S. A client address gets more free failures, since a household
 * shares one behind its router. */
#define LOGIN_FREE 10
#define ADDR_FREE 50
#define LOCK_MAX_S 900
/* A setup token is valid this long. */
#define SETUP_VALID_US (24 * 3600 * MT_USEC_PER_SEC)
/* Expired sessions and stale throttle rows are swept at most this often. */
#define SWEEP_EVERY_NS (3600ull * 1000000000ull)

static const char m_bad_login[] = "Invalid username or password";
static const char m_throttled[] = "Too many failed sign-ins: try again later";

/* ---- the throttle ---- */

static int64_t lock_after(int64_t failures, int64_t free_n)
{
    if (failures < free_n)
        return 0;
    int64_t shift = failures - free_n;
    int64_t s = shift >= 10 ? LOCK_MAX_S : (int64_t)1 << shift;
    return (s > LOCK_MAX_S ? LOCK_MAX_S : s) * MT_USEC_PER_SEC;
}

static int64_t login_lock_us(int64_t failures)
{
    return lock_after(failures, LOGIN_FREE);
}

static int64_t addr_lock_us(int64_t failures)
{
    return lock_after(failures, ADDR_FREE);
}

/* The two throttle keys of a sign-in attempt, and the locks its claims
 * set (0: none). */
struct throttle_keys {
    char login[128];
    char addr[128];
    int64_t login_claim_us, addr_claim_us;
};

static void keys_of(struct http_req *r, const char *login, struct throttle_keys *k)
{
    /* The raw text is bounded (the column is 200 characters) and lower-cased
     * as logins are. */
    size_t o = (size_t)snprintf(k->login, sizeof(k->login), "login:");
    for (const char *p = login; *p && o + 1 < sizeof(k->login) && o < 6 + STORE_LOGIN_MAX; p++)
        k->login[o++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    k->login[o] = '\0';
    snprintf(k->addr, sizeof(k->addr), "addr:%s", api_client_addr(r));
    k->login_claim_us = k->addr_claim_us = 0;
}

/* Claims the attempt on both keys (store_throttle_claim): *wait_s is the
 * seconds until the first refusing key is free, 0 when the attempt may go
 * on. A claim on the login refused by the address is lifted again. */
static int throttle_claim(struct db_conn *c, struct throttle_keys *k, int64_t now,
                          int64_t *wait_s, struct mt_err *err)
{
    struct store_throttle a, b;
    bool login_ok = false, addr_ok = false;
    *wait_s = 0;
    if (store_throttle_claim(c, k->login, now, login_lock_us, &login_ok, &a, err) < 0)
        return -1;
    if (login_ok) {
        k->login_claim_us = a.locked_until_us;
        if (store_throttle_claim(c, k->addr, now, addr_lock_us, &addr_ok, &b, err) < 0)
            return -1;
        if (addr_ok) {
            k->addr_claim_us = b.locked_until_us;
            return 0;
        }
        if (store_throttle_release(c, k->login, k->login_claim_us, err) < 0)
            return -1;
        a = b;
    }
    *wait_s = (a.locked_until_us - now + MT_USEC_PER_SEC - 1) / MT_USEC_PER_SEC;
    if (*wait_s < 1)
        *wait_s = 1;
    return 0;
}

/* After a right password: the login's failures are forgotten and the
 * address's claim lifted (its failures stand: they may be someone else's). */
static int throttle_success(struct db_conn *c, const struct throttle_keys *k, struct mt_err *err)
{
    if (store_throttle_clear(c, k->login, err) < 0)
        return -1;
    return store_throttle_release(c, k->addr, k->addr_claim_us, err);
}

/* Counts a failure against both keys and logs it (and a lock it starts). */
static int throttle_fail(struct http_req *r, struct db_conn *c, const struct throttle_keys *k,
                         const char *shown, struct mt_err *err)
{
    int64_t now = mt_now_us();
    struct store_throttle a, b;
    if (store_throttle_fail(c, k->login, now, login_lock_us, &a, err) < 0 ||
        store_throttle_fail(c, k->addr, now, addr_lock_us, &b, err) < 0)
        return -1;
    const char *addr = api_client_addr(r);
    mt_log(MT_LOG_WARN, "auth: sign-in failed login=%s addr=%s failures=%lld", shown, addr,
           (long long)a.failures);
    char until[MT_TIME_BUF];
    if (a.locked_until_us > now)
        mt_log(MT_LOG_WARN, "auth: locked login=%s until=%s", shown,
               mt_format_iso(a.locked_until_us, until, sizeof(until)));
    if (b.locked_until_us > now)
        mt_log(MT_LOG_WARN, "auth: locked addr=%s until=%s", addr,
               mt_format_iso(b.locked_until_us, until, sizeof(until)));
    return 0;
}

/* ---- helpers ---- */

static void sweep_now_and_then(struct db_conn *c, const struct mt_config *cfg)
{
    static _Atomic unsigned long long last_ns;
    unsigned long long now = mt_mono_ns(), prev = last_ns;
    if (prev && now - prev < SWEEP_EVERY_NS)
        return;
    last_ns = now;
    struct mt_err err = {0};
    if (store_auth_sweep(c, mt_now_us(), (int64_t)cfg->session_idle_timeout * MT_USEC_PER_SEC,
                         &err) < 0)
        mt_log(MT_LOG_WARN, "auth: sweep of expired sessions failed: %s", err.msg);
}

/* The account with auth_method, for /me and /status. */
static json_t *me_json(const struct api_principal *who)
{
    json_t *j = api_account_json(&who->account);
    const char *method = who->method == API_AUTH_TOKEN   ? "token"
                         : who->method == API_AUTH_PROXY ? "proxy"
                                                         : "session";
    json_object_set_new(j, "auth_method", json_string(method));
    return j;
}

/* ---- status, setup, sign-in, sign-out ---- */

int api_auth_status(struct api_call *call, struct mt_err *err)
{
    const struct mt_config *cfg = call->r->app->cfg;
    bool pending = false;
    /* With AUTH=off the answer needs no database (the operation takes no
     * connection of its own, no_db). */
    if (cfg->auth) {
        struct db_conn *c = http_db(call->r, err);
        if (!c || store_setup_pending(c, &pending, err) < 0)
            return -1;
    }
    json_t *j = json_pack("{s:b, s:b, s:o, s:s}", "auth", cfg->auth, "setup_required", pending,
                          "account", call->who->signed_in ? me_json(call->who) : json_null(),
                          "csrf_header", API_CSRF_HEADER);
    http_reply_json(call->r, call->op->status, j);
    return 0;
}

int api_auth_setup(struct api_call *call, struct mt_err *err)
{
    const struct api_in_setup *in = call->in;
    struct http_req *r = call->r;
    bool pending = false;
    if (store_setup_pending(call->db, &pending, err) < 0)
        return -1;
    if (!pending)
        return mt_fail(err, MT_ECONFLICT, "Setup is already complete");
    const char *why = NULL;
    if (mt_password_acceptable(in->password.value, &why) < 0)
        return mt_fail(err, MT_EINVAL, "%s", why ? why : "Password not acceptable");
    char token_hash[65], pw_hash[256];
    mt_secret_hash(in->setup_token.value, token_hash);
    if (mt_password_hash(in->password.value, pw_hash, sizeof(pw_hash), err) < 0)
        return -1;
    struct store_account_fields f = {
        .login = in->username.value,
        .display_name = in->display_name.set ? in->display_name.value : NULL,
        .role = STORE_ROLE_ADMIN,
        .enabled = true,
        .password_hash = pw_hash,
    };
    struct store_account acc;
    if (store_setup_claim(call->db, r->arena, token_hash, mt_now_us(), &f, &acc, err) < 0) {
        if (err->code == MT_ENOTFOUND) {
            mt_log(MT_LOG_WARN, "auth: setup refused (invalid or expired token) addr=%s",
                   api_client_addr(r));
            return mt_fail(err, MT_EINVAL, "Invalid or expired setup token");
        }
        return -1;
    }
    mt_log(MT_LOG_INFO, "auth: account created login=%s role=admin by=setup addr=%s", acc.login,
           api_client_addr(r));
    int64_t session = 0;
    if (api_session_begin(call, &acc, &session, err) < 0)
        return -1;
    http_reply_json(r, call->op->status, api_account_json(&acc));
    return 0;
}

int api_auth_login(struct api_call *call, struct mt_err *err)
{
    const struct api_in_login *in = call->in;
    struct http_req *r = call->r;
    struct db_conn *c = call->db;
    sweep_now_and_then(c, r->app->cfg);
    const char *shown = api_log_login(r, in->username.value);
    struct throttle_keys keys;
    keys_of(r, in->username.value, &keys);
    int64_t wait_s = 0;
    if (throttle_claim(c, &keys, mt_now_us(), &wait_s, err) < 0)
        return -1;
    if (wait_s > 0) {
        mt_log(MT_LOG_INFO, "auth: sign-in refused while locked login=%s addr=%s", shown,
               api_client_addr(r));
        return api_reply_refusal(r, 429, m_throttled, wait_s);
    }

    struct store_account acc;
    const char *hash = NULL;
    struct mt_err lookup = {0};
    bool found = store_account_by_login(c, r->arena, in->username.value, &acc, &hash, &lookup) == 0;
    if (!found && lookup.code != MT_ENOTFOUND && lookup.code != MT_EINVAL) {
        *err = lookup;
        return -1;
    }
    /* The verification runs in every case (against a dummy hash of the
     * same cost when there is no account or no password), so that the
     * answer's time says nothing about which case it was. */
    bool match = mt_password_verify(found ? hash : NULL, in->password.value) == 0;
    if (!(found && hash && match && acc.enabled)) {
        if (throttle_fail(r, c, &keys, shown, err) < 0)
            return -1;
        /* Every 401 names a scheme (RFC 9110, 15.5.2). */
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"meditrack\"");
        return api_reply_refusal(r, 401, m_bad_login, 0);
    }
    if (throttle_success(c, &keys, err) < 0)
        return -1;
    if (mt_password_needs_rehash(hash)) {
        char fresh[256];
        struct mt_err e2 = {0};
        if (mt_password_hash(in->password.value, fresh, sizeof(fresh), &e2) < 0 ||
            store_account_rehash(c, acc.id, fresh, &e2) < 0)
            mt_log(MT_LOG_WARN, "auth: password hash of login=%s not upgraded: %s", acc.login,
                   e2.msg);
        else
            mt_log(MT_LOG_INFO, "auth: password hash upgraded login=%s", acc.login);
    }
    int64_t session = 0;
    if (api_session_begin(call, &acc, &session, err) < 0)
        return -1;
    mt_log(MT_LOG_INFO, "auth: sign-in ok login=%s addr=%s", acc.login, api_client_addr(r));
    http_reply_json(r, call->op->status, api_account_json(&acc));
    return 0;
}

int api_auth_logout(struct api_call *call, struct mt_err *err)
{
    const struct api_principal *who = call->who;
    struct http_req *r = call->r;
    if (who->method == API_AUTH_SESSION) {
        struct mt_err e2 = {0};
        if (store_session_delete(call->db, who->account.id, who->session_id, &e2) < 0 &&
            e2.code != MT_ENOTFOUND) {
            *err = e2;
            return -1;
        }
        api_auth_forget(r->app->auth, who->account.id, false);
        mt_log(MT_LOG_INFO, "auth: sign-out login=%s addr=%s", who->account.login,
               api_client_addr(r));
    }
    api_session_clear_cookie(r);
    return api_reply_done(call, 0);
}

/* ---- the account ---- */

int api_auth_me(struct api_call *call, struct mt_err *err)
{
    (void)err;
    http_reply_json(call->r, call->op->status, me_json(call->who));
    return 0;
}

int api_auth_password(struct api_call *call, struct mt_err *err)
{
    struct store_actor actor = api_actor(call);
    const struct api_in_password *in = call->in;
    const struct api_principal *who = call->who;
    struct http_req *r = call->r;
    struct db_conn *c = call->db;
    if (!who->account.has_password)
        return mt_fail(err, MT_EINVAL,
                       "This account signs in through the proxy and has no "
                       "password");
    /* Guessing the current password is throttled as sign-ins are. */
    struct throttle_keys keys;
    keys_of(r, who->account.login, &keys);
    int64_t wait_s = 0;
    if (throttle_claim(c, &keys, mt_now_us(), &wait_s, err) < 0)
        return -1;
    if (wait_s > 0)
        return api_reply_refusal(r, 429, m_throttled, wait_s);
    struct store_account acc;
    const char *hash = NULL;
    if (store_account_by_login(c, r->arena, who->account.login, &acc, &hash, err) < 0)
        return -1;
    if (mt_password_verify(hash, in->current_password.value) != 0) {
        if (throttle_fail(r, c, &keys, acc.login, err) < 0)
            return -1;
        return mt_fail(err, MT_EINVAL, "Current password is incorrect");
    }
    if (throttle_success(c, &keys, err) < 0)
        return -1;
    const char *why = NULL;
    if (mt_password_acceptable(in->new_password.value, &why) < 0)
        return mt_fail(err, MT_EINVAL, "%s", why ? why : "Password not acceptable");
    char fresh[256];
    if (mt_password_hash(in->new_password.value, fresh, sizeof(fresh), err) < 0)
        return -1;
    int64_t keep = who->method == API_AUTH_SESSION ? who->session_id : 0;
    if (store_account_set_password(c, &actor, acc.id, fresh, keep, err) < 0)
        return -1;
    api_auth_forget(r->app->auth, acc.id, false);
    mt_log(MT_LOG_INFO, "auth: account changed login=%s password=set by=self", acc.login);
    return api_reply_done(call, 0);
}

int api_auth_sessions(struct api_call *call, struct mt_err *err)
{
    const struct api_principal *who = call->who;
    struct store_session *items = NULL;
    size_t n = 0;
    if (store_sessions_list(call->db, call->r->arena, who->account.id, &items, &n, err) < 0)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_session *s = &items[i];
        bool current = who->method == API_AUTH_SESSION && who->session_id == s->id;
        json_array_append_new(
            list,
            json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:b}", "id", (json_int_t)s->id, "created_at",
                      api_time_json(&s->created_at), "last_seen_at",
                      api_time_json(&s->last_seen_at), "expires_at", api_time_json(&s->expires_at),
                      "user_agent", s->user_agent ? json_string(s->user_agent) : json_null(),
                      "address", s->address ? json_string(s->address) : json_null(), "current",
                      current));
    }
    http_reply_json(call->r, call->op->status, list);
    return 0;
}

int api_auth_session_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    const struct api_principal *who = call->who;
    if (store_session_delete(call->db, who->account.id, in->id.value, err) < 0) {
        if (err->code == MT_ENOTFOUND)
            mt_fail(err, MT_ENOTFOUND, "Session not found");
        return -1;
    }
    api_auth_forget(call->r->app->auth, who->account.id, false);
    mt_log(MT_LOG_INFO, "auth: session ended login=%s", who->account.login);
    return api_reply_done(call, 0);
}

/* ---- API tokens ---- */

int api_auth_tokens(struct api_call *call, struct mt_err *err)
{
    struct store_token *items = NULL;
    size_t n = 0;
    if (store_tokens_list(call->db, call->r->arena, call->who->account.id, &items, &n, err) < 0)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, api_token_json(&items[i], false));
    http_reply_json(call->r, call->op->status, list);
    return 0;
}

/* The strongest scope an account's role permits. */
static enum store_scope role_scope(enum store_role r)
{
    return r == STORE_ROLE_ADMIN   ? STORE_SCOPE_ADMIN
           : r == STORE_ROLE_CARER ? STORE_SCOPE_WRITE
                                   : STORE_SCOPE_READ;
}

int api_auth_token_create(struct api_call *call, struct mt_err *err)
{
    struct store_actor actor = api_actor(call);
    const struct api_in_token_new *in = call->in;
    const struct api_principal *who = call->who;
    struct http_req *r = call->r;
    enum store_scope scope = (enum store_scope)(in->scope.value + 1);
    /* Tokens are made by a person signed in, never by another token: a
     * leaked token must not be able to mint one that outlives it or
     * survives its revocation. */
    if (who->method == API_AUTH_TOKEN) {
        http_reply_detail(r, 403, "API tokens cannot create tokens: sign in to create one");
        return 0;
    }
    /* A token never gets more than its maker has (the role), and a token
     * for one person is never an admin token (api_perm_allows). */
    if (in->person_id.set && in->person_id.value > 0 && scope == STORE_SCOPE_ADMIN)
        return mt_fail(err, MT_EINVAL, "A token restricted to one person cannot have the admin "
                                       "scope: use write");
    if (scope > role_scope(who->account.role) || scope > who->scope)
        return mt_fail(err, MT_EINVAL, "Scope %s exceeds what this account may grant",
                       store_scope_name(scope));
    bool has_person = in->person_id.set && in->person_id.value > 0;
    int64_t person = in->person_id.value;
    if (has_person && api_who_person(who, person, err) < 0)
        return -1;
    char secret[MT_SECRET_MAX], hash[MT_SECRET_HASH_HEX], prefix[MT_SECRET_SHOWN_PREFIX + 1];
    if (mt_secret_random("mtt_", secret, sizeof(secret)) < 0)
        return mt_fail(err, MT_EINTERNAL, "no random bytes for a token");
    mt_secret_hash(secret, hash);
    mt_secret_shown_prefix(secret, prefix);
    struct store_token_fields f = {
        .account_id = who->account.id,
        .name = in->name.value,
        .hash = hash,
        .prefix = prefix,
        .scope = scope,
        .has_person = has_person,
        .person_id = person,
        .has_expiry = in->expires_days.set && in->expires_days.value > 0,
        .expires_us = mt_now_us() + in->expires_days.value * MT_USEC_PER_DAY,
    };
    struct store_token tok;
    if (store_token_create(call->db, &actor, r->arena, &f, &tok, err) < 0)
        return -1;
    mt_log(MT_LOG_INFO, "auth: token created id=%lld login=%s scope=%s", (long long)tok.id,
           who->account.login, store_scope_name(tok.scope));
    json_t *j = api_token_json(&tok, false);
    json_object_set_new(j, "token", json_string(secret));
    http_reply_json(r, call->op->status, j);
    return 0;
}

int api_auth_token_revoke(struct api_call *call, struct mt_err *err)
{
    struct store_actor actor = api_actor(call);
    const struct api_in_id *in = call->in;
    const struct api_principal *who = call->who;
    if (store_token_revoke(call->db, &actor, who->account.id, in->id.value, err) < 0) {
        if (err->code == MT_ENOTFOUND)
            mt_fail(err, MT_ENOTFOUND, "Token not found");
        return -1;
    }
    api_auth_forget(call->r->app->auth, who->account.id, false);
    mt_log(MT_LOG_INFO, "auth: token revoked id=%lld login=%s", (long long)in->id.value,
           who->account.login);
    return api_reply_done(call, 0);
}

/* ---- start-up ---- */

static bool loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
           strncmp(host, "127.", 4) == 0 || strcmp(host, "ip6-localhost") == 0;
}

void api_auth_start(struct app *app)
{
    const struct mt_config *cfg = app->cfg;
    if (!cfg->auth) {
        if (!loopback(cfg->host))
            mt_log(MT_LOG_WARN,
                   "AUTH=off and HOST=%s: anyone who can reach this server can read and change "
                   "every record. Use AUTH=on (docs/auth.md) unless the network is trusted",
                   cfg->host);
        return;
    }
    struct mt_err err = {0};
    struct db_conn *c = db_pool_get(app->pool, 10000, &err);
    if (!c) {
        mt_log(MT_LOG_WARN, "auth: start-up checks skipped: %s", err.msg);
        return;
    }
    sweep_now_and_then(c, cfg);
    int64_t n = 0;
    if (store_account_count(c, &n, &err) < 0) {
        mt_log(MT_LOG_WARN, "auth: cannot count accounts: %s", err.msg);
    } else if (n == 0) {
        char secret[128], hash[65], until[MT_TIME_BUF];
        int64_t expires = mt_now_us() + SETUP_VALID_US;
        if (mt_secret_random("mtsetup_", secret, sizeof(secret)) < 0) {
            mt_log(MT_LOG_WARN, "auth: no random bytes for a setup token");
        } else {
            mt_secret_hash(secret, hash);
            if (store_setup_token_add(c, hash, expires, &err) < 0)
                mt_log(MT_LOG_WARN, "auth: cannot store a setup token: %s", err.msg);
            else
                /* The one secret the server logs, on purpose (docs/auth.md). */
                mt_log(MT_LOG_WARN,
                       "first run: no account exists. Open the web UI and use setup token %s "
                       "(valid until %s), or run: meditrack user add NAME --role admin",
                       secret, mt_format_iso(expires, until, sizeof(until)));
        }
    }
    db_pool_put(app->pool, c);
}
