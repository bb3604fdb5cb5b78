/* The rules of access control once it is known who asks (see auth.h):
 * what a role and a token scope allow, the CSRF rule for cookie-borne
 * writes, the client's address and scheme behind a trusted proxy, which
 * persons' data a caller sees, and the session cookie. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/jsonin.h"
#include "core/buf.h"
#include "core/cidr.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/str.h"

/* ---- permissions ---- */

const char *api_perm_name(enum api_perm p)
{
    switch (p) {
    case API_PUBLIC:
        return "PUBLIC";
    case API_SELF:
        return "SELF";
    case API_READ:
        return "READ";
    case API_RECORD:
        return "RECORD";
    case API_MANAGE:
        return "MANAGE";
    case API_ADMIN:
        return "ADMIN";
    case API_PERM_UNSET:
        break;
    }
    return "UNSET";
}

/* The strongest permission of a role, and of a token scope (the enum's
 * order is the order of strength). */
static enum api_perm role_cap(enum store_role r)
{
    switch (r) {
    case STORE_ROLE_ADMIN:
        return API_ADMIN;
    case STORE_ROLE_CARER:
        return API_MANAGE;
    case STORE_ROLE_VIEWER:
        return API_READ;
    }
    return API_PERM_UNSET;
}

static enum api_perm scope_cap(enum store_scope s)
{
    switch (s) {
    case STORE_SCOPE_ADMIN:
        return API_ADMIN;
    case STORE_SCOPE_WRITE:
        return API_MANAGE;
    case STORE_SCOPE_READ:
        return API_READ;
    }
    return API_PERM_UNSET;
}

bool api_perm_allows(const struct api_principal *who, enum api_perm p)
{
    if (p == API_PERM_UNSET)
        return false;
    if (p == API_PUBLIC || who->method == API_AUTH_OPEN)
        return true;
    if (!who->signed_in)
        return false;
    enum api_perm cap = role_cap(who->account.role);
    enum api_perm sc = scope_cap(who->scope);
    if (sc < cap)
        cap = sc;
    /* A token restricted to one person never administers: accounts and
     * all tokens would reach every person. */
    if (who->method == API_AUTH_TOKEN && who->token_has_person && cap > API_MANAGE)
        cap = API_MANAGE;
    return p <= cap;
}

/* ---- the client behind a trusted proxy ---- */

static bool trusted(struct http_req *r, const char *addr)
{
    return r->app && api_auth_trusts(r->app->auth, addr);
}

const char *api_client_addr(struct http_req *r)
{
    const char *peer = r->peer ? r->peer : "-";
    if (!trusted(r, peer))
        return peer;
    /* Repeated X-Forwarded-For lines are one list (RFC 9110, 5.3): some
     * proxies add a line of their own instead of appending to the
     * client's, and reading only the first would believe the client. */
    struct mt_buf joined;
    mt_buf_init(&joined, 0);
    for (size_t i = 0; i < r->n_req_headers; i++) {
        if (strcasecmp(r->req_headers[i].name, "X-Forwarded-For") != 0)
            continue;
        if (joined.len)
            mt_buf_adds(&joined, ", ");
        mt_buf_adds(&joined, r->req_headers[i].value);
    }
    const char *xff = joined.len ? mt_arena_strndup(r->arena, joined.data, joined.len) : NULL;
    mt_buf_release(&joined);
    if (!xff)
        return peer;
    /* From the right: the first address no trusted proxy wrote is the
     * client; anything left of it may be forged by the client. */
    const char *end = xff + strlen(xff);
    const char *leftmost = NULL;
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        struct mt_str item = mt_str_trim((struct mt_str){start, (size_t)(end - start)});
        char *addr =
            item.len && item.len < 64 ? mt_arena_strndup(r->arena, item.p, item.len) : NULL;
        struct mt_cidr parsed;
        if (!addr || !mt_addr_parse(addr, &parsed))
            return leftmost ? leftmost : peer;
        if (!trusted(r, addr))
            return addr;
        leftmost = addr;
        end = start > xff ? start - 1 : xff;
    }
    return leftmost ? leftmost : peer;
}

bool api_request_secure(struct http_req *r)
{
    if (r->tls)
        return true;
    if (!trusted(r, r->peer ? r->peer : ""))
        return false;
    const char *proto = http_header(r, "X-Forwarded-Proto");
    if (!proto)
        return false;
    struct mt_str p = mt_str_trim(mt_str_c(proto));
    /* A chain of proxies may list several; the first is the client's. */
    size_t len = 0;
    while (len < p.len && p.p[len] != ',')
        len++;
    return mt_str_ieq(mt_str_trim((struct mt_str){p.p, len}), "https");
}

/* ---- CSRF ---- */

static bool unsafe_method(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

/* The scheme://host[:port] part of an Origin or Referer value. */
static struct mt_str origin_of(const char *v)
{
    struct mt_str s = mt_str_trim(mt_str_c(v));
    const char *sep = NULL;
    for (size_t i = 0; i + 2 < s.len; i++) {
        if (s.p[i] == ':' && s.p[i + 1] == '/' && s.p[i + 2] == '/') {
            sep = s.p + i + 3;
            break;
        }
    }
    if (!sep)
        return (struct mt_str){NULL, 0};
    size_t len = (size_t)(sep - s.p);
    while (len < s.len && s.p[len] != '/' && s.p[len] != '?' && s.p[len] != '#')
        len++;
    return (struct mt_str){s.p, len};
}

bool api_csrf_ok(struct http_req *r, const struct api_principal *who)
{
    /* A browser sends the session cookie, and the proxy's own sign-on
     * cookie that makes it add its header, with cross-site requests too:
     * both need the custom header and a same-origin Origin. A bearer token
     * is never sent by a browser on its own. */
    if ((who->method != API_AUTH_SESSION && who->method != API_AUTH_PROXY) ||
        !unsafe_method(r->method))
        return true;
    const char *xrw = http_header(r, API_CSRF_HEADER);
    if (!xrw || !mt_str_ieq(mt_str_trim(mt_str_c(xrw)), API_CSRF_VALUE))
        return false;
    const char *src = http_header(r, "Origin");
    if (!src)
        src = http_header(r, "Referer");
    if (!src)
        return false;
    struct mt_str origin = origin_of(src);
    /* The request's own origin: its scheme and the host it was sent to (a
     * trusted proxy may name the host it was asked for). */
    const char *host = NULL;
    if (trusted(r, r->peer ? r->peer : ""))
        host = http_header(r, "X-Forwarded-Host");
    if (!host)
        host = http_header(r, "Host");
    if (!origin.p || !host)
        return false;
    struct mt_str h = mt_str_trim(mt_str_c(host));
    char own[320];
    int n = snprintf(own, sizeof(own), "%s://%.*s", api_request_secure(r) ? "https" : "http",
                     (int)(h.len < 256 ? h.len : 256), h.p);
    if (n < 0 || (size_t)n >= sizeof(own) || h.len >= 256)
        return false;
    return origin.len == (size_t)n && strncasecmp(origin.p, own, origin.len) == 0;
}

/* ---- what a caller sees ---- */

const struct store_person_filter *api_who_sees(const struct api_principal *who)
{
    return &who->see;
}

int api_who_person(const struct api_principal *who, int64_t id, struct mt_err *err)
{
    return store_filter_has(&who->see, id) ? 0 : mt_fail(err, MT_ENOTFOUND, "Person not found");
}

int api_who_med(struct api_call *call, int64_t id, struct mt_err *err)
{
    if (call->who->see.all)
        return 0;
    int64_t person = 0;
    if (store_med_person(call->db, id, &person, err) < 0)
        return -1;
    return store_filter_has(&call->who->see, person)
               ? 0
               : mt_fail(err, MT_ENOTFOUND, "Medication not found");
}

int api_who_dose(struct api_call *call, int64_t id, struct mt_err *err)
{
    if (call->who->see.all)
        return 0;
    bool has = false;
    int64_t person = 0;
    if (store_dose_person(call->db, id, &has, &person, err) < 0)
        return -1;
    return has && store_filter_has(&call->who->see, person)
               ? 0
               : mt_fail(err, MT_ENOTFOUND, "Dose not found");
}

/* ---- the session cookie ---- */

/* What a session notes of its browser: the User-Agent, printable ASCII
 * only, at most 255 characters (the column), so that no byte a client
 * sends can upset a database. NULL when there is none. */
static const char *user_agent(struct http_req *r)
{
    const char *ua = http_header(r, "User-Agent");
    if (!ua || !*ua)
        return NULL;
    char *out = mt_arena_strndup(r->arena, ua, 255);
    if (!out)
        return NULL;
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return out;
}

static void set_cookie(struct http_req *r, const char *value, long max_age)
{
    const char *c = mt_arena_printf(
        r->arena, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s", API_SESSION_COOKIE, value,
        max_age, api_request_secure(r) ? "; Secure" : "");
    if (c)
        http_add_header(r, "Set-Cookie", c);
}

int api_session_begin(struct api_call *call, const struct store_account *account, int64_t *id,
                      struct mt_err *err)
{
    struct http_req *r = call->r;
    const struct mt_config *cfg = r->app->cfg;
    char secret[128], hash[65];
    if (mt_secret_random("mts_", secret, sizeof(secret)) < 0)
        return mt_fail(err, MT_EINTERNAL, "no random bytes for a session");
    mt_secret_hash(secret, hash);
    int64_t expires = mt_now_us() + (int64_t)cfg->session_max_age * MT_USEC_PER_SEC;
    const char *addr = api_client_addr(r);
    char addr_col[65];
    snprintf(addr_col, sizeof(addr_col), "%s", addr);
    if (store_session_create(call->db, account->id, hash, expires, user_agent(r), addr_col, id,
                             err) < 0)
        return -1;
    set_cookie(r, secret, cfg->session_max_age);
    return 0;
}

void api_session_clear_cookie(struct http_req *r)
{
    set_cookie(r, "", 0);
}
