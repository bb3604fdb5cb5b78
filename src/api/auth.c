/* Who asks (see auth.h): the trusted proxy's header, a bearer API token or
 * the session cookie, each looked up by the SHA-256 of the secret through a
 * small in-memory cache whose entries live one second, so that a busy
 * client does not reach the database on every request while a revocation
 * by any replica is honoured within a second (and at once in the process
 * that made it, which drops its entries). last_used_at / last_seen_at are
 * moved at most once a minute. */
#include "api/auth.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cidr.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/str.h"

/* How long a cached look-up is believed. */
#define CACHE_TTL_NS (1000u * 1000u * 1000u)
/* Direct-mapped: a slot per hash prefix; a collision only costs a miss. */
#define CACHE_SLOTS 1024
/* last_used_at / last_seen_at are moved when they are older than this. */
#define TOUCH_EVERY_US (60 * MT_USEC_PER_SEC)
/* "mts_" / "mtt_" and 43 base64url characters (core/secret.h). */
#define SECRET_BODY_LEN 43

/* A cached look-up: the account (strings copied with malloc) and what the
 * credential adds to it. */
struct cached {
    bool used;
    char key[65];
    uint64_t at_ns;
    enum api_auth_method method;
    struct store_account account;
    enum store_scope scope;
    int64_t session_id, token_id;
    bool token_has_person;
    int64_t token_person_id;
};

struct api_auth {
    struct mt_cidr *proxies;
    size_t n_proxies;
    pthread_mutex_t lock;
    struct cached slots[CACHE_SLOTS];
};

/* ---- life cycle ---- */

int api_auth_new(const struct mt_config *cfg, struct api_auth **out, struct mt_err *err)
{
    if (mt_secret_init(err) < 0)
        return -1;
    struct api_auth *a = mt_xcalloc(1, sizeof(*a));
    a->proxies =
        mt_xcalloc(cfg->n_trusted_proxies ? cfg->n_trusted_proxies : 1, sizeof(*a->proxies));
    for (size_t i = 0; i < cfg->n_trusted_proxies; i++) {
        const char *s = cfg->trusted_proxies[i];
        if (mt_cidr_parse(s, strlen(s), &a->proxies[a->n_proxies], err) < 0) {
            free(a->proxies);
            free(a);
            return mt_err_wrap(err, "invalid TRUSTED_PROXIES");
        }
        a->n_proxies++;
    }
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return 0;
}

static void account_free(struct store_account *acc)
{
    free((char *)acc->login);
    free((char *)acc->display_name);
    free(acc->persons);
    free((char *)acc->created_at.raw);
    free((char *)acc->updated_at.raw);
    memset(acc, 0, sizeof(*acc));
}

static void slot_clear(struct cached *c)
{
    if (c->used)
        account_free(&c->account);
    memset(c, 0, sizeof(*c));
}

void api_auth_free(struct api_auth *auth)
{
    if (!auth)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        slot_clear(&auth->slots[i]);
    pthread_mutex_destroy(&auth->lock);
    free(auth->proxies);
    free(auth);
}

/* ---- the cache ---- */

static char *dup_or_null(const char *s)
{
    return s ? mt_xstrdup(s) : NULL;
}

/* A deep copy of src with malloc (into the cache). */
static void account_copy_heap(struct store_account *dst, const struct store_account *src)
{
    *dst = *src;
    dst->login = dup_or_null(src->login);
    dst->display_name = dup_or_null(src->display_name);
    dst->created_at.raw = dup_or_null(src->created_at.raw);
    dst->updated_at.raw = dup_or_null(src->updated_at.raw);
    dst->persons = NULL;
    if (src->n_persons) {
        dst->persons = mt_xreallocarray(NULL, src->n_persons, sizeof(*dst->persons));
        memcpy(dst->persons, src->persons, src->n_persons * sizeof(*dst->persons));
    }
}

/* A deep copy of src into the arena; false when it is full. */
static bool account_copy_arena(struct mt_arena *a, struct store_account *dst,
                               const struct store_account *src)
{
    *dst = *src;
    dst->login = src->login ? mt_arena_strdup(a, src->login) : NULL;
    dst->display_name = src->display_name ? mt_arena_strdup(a, src->display_name) : NULL;
    dst->created_at.raw = src->created_at.raw ? mt_arena_strdup(a, src->created_at.raw) : NULL;
    dst->updated_at.raw = src->updated_at.raw ? mt_arena_strdup(a, src->updated_at.raw) : NULL;
    dst->persons = NULL;
    if (src->n_persons) {
        dst->persons = mt_arena_calloc(a, src->n_persons, sizeof(*dst->persons));
        if (!dst->persons)
            return false;
        memcpy(dst->persons, src->persons, src->n_persons * sizeof(*dst->persons));
    }
    return (dst->login || !src->login) && (dst->display_name || !src->display_name) &&
           (dst->created_at.raw || !src->created_at.raw) &&
           (dst->updated_at.raw || !src->updated_at.raw);
}

static size_t slot_of(const char *key)
{
    /* The key is a SHA-256 in hex: its first digits are as good as any. */
    size_t h = 0;
    for (int i = 0; i < 8 && key[i]; i++)
        h = h * 16 + (size_t)(mt_hex_digit(key[i]) & 15);
    return h % CACHE_SLOTS;
}

/* Copies a fresh entry for key into who (in r's arena). */
static bool cache_get(struct api_auth *auth, struct http_req *r, const char *key,
                      struct api_principal *who)
{
    bool hit = false;
    pthread_mutex_lock(&auth->lock);
    struct cached *c = &auth->slots[slot_of(key)];
    if (c->used && strcmp(c->key, key) == 0 && mt_mono_ns() - c->at_ns < CACHE_TTL_NS &&
        account_copy_arena(r->arena, &who->account, &c->account)) {
        who->method = c->method;
        who->scope = c->scope;
        who->session_id = c->session_id;
        who->token_id = c->token_id;
        who->token_has_person = c->token_has_person;
        who->token_person_id = c->token_person_id;
        hit = true;
    }
    pthread_mutex_unlock(&auth->lock);
    return hit;
}

static void cache_put(struct api_auth *auth, const char *key, const struct api_principal *who)
{
    pthread_mutex_lock(&auth->lock);
    struct cached *c = &auth->slots[slot_of(key)];
    slot_clear(c);
    c->used = true;
    snprintf(c->key, sizeof(c->key), "%s", key);
    c->at_ns = mt_mono_ns();
    c->method = who->method;
    account_copy_heap(&c->account, &who->account);
    c->scope = who->scope;
    c->session_id = who->session_id;
    c->token_id = who->token_id;
    c->token_has_person = who->token_has_person;
    c->token_person_id = who->token_person_id;
    pthread_mutex_unlock(&auth->lock);
}

void api_auth_forget(struct api_auth *auth, int64_t account_id, bool all)
{
    if (!auth)
        return;
    pthread_mutex_lock(&auth->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cached *c = &auth->slots[i];
        if (c->used && (all || c->account.id == account_id))
            slot_clear(c);
    }
    pthread_mutex_unlock(&auth->lock);
}

/* ---- what who sees ---- */

/* The persons of an account, narrowed to a token's person. */
static void settle(struct http_req *r, struct api_principal *who)
{
    who->signed_in = true;
    who->see.all = who->account.role == STORE_ROLE_ADMIN;
    who->see.ids = who->account.persons;
    who->see.n = who->account.n_persons;
    if (who->method == API_AUTH_TOKEN && who->token_has_person) {
        bool granted = store_filter_has(&who->see, who->token_person_id);
        int64_t *one = mt_arena_alloc(r->arena, sizeof(*one));
        who->see.all = false;
        who->see.ids = one;
        who->see.n = granted && one ? 1 : 0;
        if (one)
            *one = who->token_person_id;
    }
}

/* ---- credentials ---- */

bool api_auth_trusts(const struct api_auth *auth, const char *addr)
{
    return auth && auth->n_proxies && addr &&
           mt_cidr_list_contains(auth->proxies, auth->n_proxies, addr);
}

/* Whether s is prefix and SECRET_BODY_LEN base64url characters. */
static bool secret_shape(const char *s, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (len != pl + SECRET_BODY_LEN || strncmp(s, prefix, pl) != 0)
        return false;
    for (size_t i = pl; i < len; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* The value of cookie name in r's Cookie header (in the arena), or NULL. */
static const char *cookie_value(struct http_req *r, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->n_req_headers; i++) {
        if (strcasecmp(r->req_headers[i].name, "Cookie") != 0)
            continue;
        const char *s = r->req_headers[i].value;
        while (*s) {
            while (*s == ' ' || *s == ';')
                s++;
            const char *end = strchr(s, ';');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            while (len && s[len - 1] == ' ')
                len--;
            if (len > nl && s[nl] == '=' && strncmp(s, name, nl) == 0)
                return mt_arena_strndup(r->arena, s + nl + 1, len - nl - 1);
            s += len;
            while (*s && *s != ';')
                s++;
        }
    }
    return NULL;
}

const char *api_session_cookie_hash(struct http_req *r)
{
    const char *v = cookie_value(r, API_SESSION_COOKIE);
    if (!v || !secret_shape(v, strlen(v), "mts_"))
        return NULL;
    char *hash = mt_arena_alloc(r->arena, 65);
    if (hash)
        mt_secret_hash(v, hash);
    return hash;
}

static int64_t age_us(const struct store_time *t, int64_t now)
{
    return t->present && t->parsed ? now - t->us : INT64_MAX;
}

/* The first step of every way in: the answer cached under key, or the
 * request's connection to look it up with. 1 for a cache hit (who filled,
 * *out API_AUTHN_OK), 0 with *c set for a lookup, -1 when no connection can
 * be had. */
static int cached_or_db(struct http_req *r, const char *key, struct api_principal *who,
                        enum api_authn *out, struct db_conn **c, struct mt_err *err)
{
    if (cache_get(r->app->auth, r, key, who)) {
        *out = API_AUTHN_OK;
        return 1;
    }
    *c = http_db(r, err);
    return *c ? 0 : -1;
}

/* A lookup by credential that failed with e: no such credential is a bad
 * one (0, *out API_AUTHN_BAD); anything else is the request's error (-1). */
static int lookup_failed(const struct mt_err *e, enum api_authn *out, struct mt_err *err)
{
    if (e->code != MT_ENOTFOUND) {
        *err = *e;
        return -1;
    }
    *out = API_AUTHN_BAD;
    return 0;
}

/* The last step of every way in: who is the caller, cached under key. */
static int found(struct http_req *r, const char *key, const struct api_principal *who,
                 enum api_authn *out)
{
    cache_put(r->app->auth, key, who);
    *out = API_AUTHN_OK;
    return 0;
}

static int by_token(struct http_req *r, const char *secret, size_t len, struct api_principal *who,
                    enum api_authn *out, struct mt_err *err)
{
    if (!secret_shape(secret, len, "mtt_")) {
        *out = API_AUTHN_BAD;
        return 0;
    }
    char hash[65];
    char *copy = mt_arena_strndup(r->arena, secret, len);
    if (!copy)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    mt_secret_hash(copy, hash);
    struct db_conn *c = NULL;
    int rc = cached_or_db(r, hash, who, out, &c, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    int64_t now = mt_now_us();
    struct store_token tok;
    struct mt_err e2 = {0};
    if (store_token_lookup(c, r->arena, hash, now, &tok, &who->account, &e2) < 0)
        return lookup_failed(&e2, out, err);
    if (age_us(&tok.last_used_at, now) >= TOUCH_EVERY_US &&
        store_token_touch(c, tok.id, now, &e2) < 0)
        mt_log(MT_LOG_WARN, "auth: could not note the use of token id=%lld: %s", (long long)tok.id,
               e2.msg);
    who->method = API_AUTH_TOKEN;
    who->scope = tok.scope;
    who->token_id = tok.id;
    who->token_has_person = tok.has_person;
    who->token_person_id = tok.person_id;
    return found(r, hash, who, out);
}

static int by_session(struct http_req *r, const char *hash, struct api_principal *who,
                      enum api_authn *out, struct mt_err *err)
{
    struct db_conn *c = NULL;
    int rc = cached_or_db(r, hash, who, out, &c, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    const struct mt_config *cfg = r->app->cfg;
    int64_t now = mt_now_us();
    struct store_session s;
    struct mt_err e2 = {0};
    if (store_session_lookup(c, r->arena, hash, now,
                             (int64_t)cfg->session_idle_timeout * MT_USEC_PER_SEC, &s,
                             &who->account, &e2) < 0)
        return lookup_failed(&e2, out, err);
    if (age_us(&s.last_seen_at, now) >= TOUCH_EVERY_US &&
        store_session_touch(c, s.id, now, &e2) < 0)
        mt_log(MT_LOG_WARN, "auth: could not note the use of a session of login=%s: %s",
               who->account.login, e2.msg);
    who->method = API_AUTH_SESSION;
    who->scope = STORE_SCOPE_ADMIN;
    who->session_id = s.id;
    return found(r, hash, who, out);
}

/* ---- the proxy ---- */

/* Whether the groups header (comma- or space-separated) names group. */
static bool has_group(const char *groups, const char *group)
{
    if (!groups || !*group)
        return false;
    size_t gl = strlen(group);
    const char *s = groups;
    while (*s) {
        while (*s == ',' || *s == ' ' || *s == '\t')
            s++;
        size_t len = strcspn(s, ", \t");
        if (len == gl && strncmp(s, group, len) == 0)
            return true;
        s += len;
    }
    return false;
}

/* The strongest role the proxy's groups map to; 0 for none. *mapped says
 * whether a mapping is configured at all. */
static int proxy_role(struct http_req *r, bool *mapped)
{
    const struct mt_config *cfg = r->app->cfg;
    *mapped = *cfg->auth_proxy_groups_header &&
              (*cfg->auth_proxy_admin_group || *cfg->auth_proxy_carer_group ||
               *cfg->auth_proxy_viewer_group);
    if (!*mapped)
        return 0;
    const char *groups = http_header(r, cfg->auth_proxy_groups_header);
    if (has_group(groups, cfg->auth_proxy_admin_group))
        return STORE_ROLE_ADMIN;
    if (has_group(groups, cfg->auth_proxy_carer_group))
        return STORE_ROLE_CARER;
    if (has_group(groups, cfg->auth_proxy_viewer_group))
        return STORE_ROLE_VIEWER;
    return 0;
}

/* Creates the account of a proxy user whose groups map to role, or lets
 * the roles of groups rule a proxy-only account. */
static int proxy_account(struct http_req *r, struct db_conn *c, const char *login, int role,
                         bool mapped, struct api_principal *who, enum api_authn *out,
                         struct mt_err *err)
{
    const char *addr = api_client_addr(r);
    const char *hash = NULL;
    struct mt_err e2 = {0};
    /* The audit trail names the proxy as the actor of what it causes. */
    const struct store_actor proxy = {0, "proxy"};
    int rc = store_account_by_login(c, r->arena, login, &who->account, &hash, &e2);
    if (rc < 0 && e2.code == MT_ENOTFOUND && role) {
        struct store_account_fields f = {.login = login,
                                         .display_name = login,
                                         .role = (enum store_role)role,
                                         .enabled = true,
                                         .set_display_name = true,
                                         .set_role = true,
                                         .set_enabled = true};
        mt_err_clear(&e2);
        rc = store_account_create(c, &proxy, r->arena, &f, &who->account, &e2);
        if (rc == 0)
            mt_log(MT_LOG_INFO, "auth: account created login=%s role=%s by=proxy addr=%s",
                   who->account.login, store_role_name(who->account.role), addr);
        else if (e2.code == MT_ECONFLICT) /* another replica created it just now */
            rc = store_account_by_login(c, r->arena, login, &who->account, &hash, &e2);
    }
    if (rc < 0) {
        if (e2.code == MT_EDB || e2.code == MT_EDB_RETRY || e2.code == MT_ETIMEOUT ||
            e2.code == MT_EUNAVAIL || e2.code == MT_ELIMIT || e2.code == MT_ENOSPC) {
            *err = e2;
            return -1;
        }
        mt_log(MT_LOG_INFO, "auth: proxy sign-in refused login=%s addr=%s: %s",
               api_log_login(r, login), addr,
               e2.code == MT_ENOTFOUND ? "no such account" : "not a valid login");
        *out = API_AUTHN_BAD;
        return 0;
    }
    if (!who->account.enabled) {
        *out = API_AUTHN_BAD;
        return 0;
    }
    /* Groups rule the accounts that only the proxy signs in; an account
     * with a password was made by an administrator, whose role stands. */
    if (mapped && !who->account.has_password && (int)who->account.role != role) {
        if (!role) {
            mt_log(MT_LOG_INFO, "auth: proxy sign-in refused login=%s addr=%s: no mapped group",
                   api_log_login(r, login), addr);
            *out = API_AUTHN_BAD;
            return 0;
        }
        struct store_account_fields f = {.set_role = true, .role = (enum store_role)role};
        struct store_account changed;
        if (store_account_update(c, &proxy, r->arena, who->account.id, &f, &changed, &e2) == 0) {
            mt_log(MT_LOG_INFO, "auth: account changed login=%s role=%s by=proxy groups",
                   changed.login, store_role_name(changed.role));
            who->account = changed;
        } else {
            mt_log(MT_LOG_WARN, "auth: role of login=%s not changed to its groups' %s: %s",
                   api_log_login(r, login),
                   store_role_name((enum store_role)role), e2.msg);
        }
    }
    *out = API_AUTHN_OK;
    return 0;
}

static int by_proxy(struct http_req *r, const char *user, struct api_principal *who,
                    enum api_authn *out, struct mt_err *err)
{
    struct mt_str u = mt_str_trim(mt_str_c(user));
    if (u.len == 0 || u.len > STORE_LOGIN_MAX) {
        *out = API_AUTHN_BAD;
        return 0;
    }
    char *login = mt_arena_strndup(r->arena, u.p, u.len);
    if (!login)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    for (char *p = login; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    bool mapped = false;
    int role = proxy_role(r, &mapped);
    /* The cache key covers what the answer depends on: login and role. */
    char *keytext = mt_arena_printf(r->arena, "proxy\n%s\n%d", login, role);
    if (!keytext)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    char key[65];
    mt_secret_hash(keytext, key);
    struct db_conn *c = NULL;
    int rc = cached_or_db(r, key, who, out, &c, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (proxy_account(r, c, login, role, mapped, who, out, err) < 0)
        return -1;
    if (*out != API_AUTHN_OK)
        return 0;
    who->method = API_AUTH_PROXY;
    who->scope = STORE_SCOPE_ADMIN;
    return found(r, key, who, out);
}

/* ---- the order of the design ---- */

int api_authenticate(struct http_req *r, struct api_principal *who, enum api_authn *out,
                     struct mt_err *err)
{
    memset(who, 0, sizeof(*who));
    const struct mt_config *cfg = r->app ? r->app->cfg : NULL;
    if (!cfg || !cfg->auth) {
        who->method = API_AUTH_OPEN;
        who->scope = STORE_SCOPE_ADMIN;
        who->see.all = true;
        *out = API_AUTHN_OK;
        return 0;
    }
    who->method = API_AUTH_NONE;
    *out = API_AUTHN_NONE;
    struct api_auth *auth = r->app->auth;
    if (!auth)
        return mt_fail(err, MT_EINTERNAL, "access control is not set up");
    int rc = 0;
    const char *user = *cfg->auth_proxy_header ? http_header(r, cfg->auth_proxy_header) : NULL;
    const char *authz = http_header(r, "Authorization");
    if (user && api_auth_trusts(auth, r->peer)) {
        rc = by_proxy(r, user, who, out, err);
    } else if (authz && strncasecmp(authz, "Bearer", 6) == 0 &&
               (authz[6] == ' ' || authz[6] == '\0')) {
        struct mt_str t = mt_str_trim(mt_str_c(authz + 6));
        rc = by_token(r, t.p, t.len, who, out, err);
    } else if (cookie_value(r, API_SESSION_COOKIE)) {
        const char *hash = api_session_cookie_hash(r);
        if (hash)
            rc = by_session(r, hash, who, out, err);
        else
            *out = API_AUTHN_BAD;
    }
    if (rc < 0)
        return -1;
    if (*out == API_AUTHN_OK) {
        settle(r, who);
    } else {
        memset(who, 0, sizeof(*who));
        who->method = API_AUTH_NONE;
    }
    return 0;
}
