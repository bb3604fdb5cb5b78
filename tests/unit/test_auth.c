/* Unit tests of the rules of access control (src/api/auth_rules.c) that
 * need no database: what roles and token scopes allow, the client address
 * behind trusted proxies (the rightmost X-Forwarded-For entry no trusted
 * proxy wrote), the scheme a trusted proxy reports, the CSRF rule, and
 * the person filter of handlers. tests/http/t080-auth.py checks the same
 * rules end to end. */
#include "../check.h"
#include "api/auth.h"
#include "core/arena.h"
#include "core/config.h"

static struct mt_config cfg;
static struct app app;
static struct mt_arena *arena;

static struct http_req req(const char *method, const char *peer, const struct http_kv *h, size_t n)
{
    struct http_req r = {0};
    r.arena = arena;
    r.app = &app;
    r.method = method;
    r.path = "/api/v1/persons/";
    r.peer = peer;
    r.req_headers = h;
    r.n_req_headers = n;
    return r;
}

static struct api_principal who(enum store_role role, enum store_scope scope,
                                enum api_auth_method method)
{
    struct api_principal p = {0};
    p.method = method;
    p.signed_in = true;
    p.account.role = role;
    p.scope = scope;
    return p;
}

static void test_permissions(void)
{
    static const enum api_perm all[] = {API_PUBLIC, API_SELF,   API_READ,
                                        API_RECORD, API_MANAGE, API_ADMIN};
    /* The strongest permission each combination allows, in the order of
     * all[]. */
    struct {
        enum store_role role;
        enum store_scope scope;
        size_t strongest;
    } cases[] = {
        {STORE_ROLE_VIEWER, STORE_SCOPE_ADMIN, 2}, {STORE_ROLE_CARER, STORE_SCOPE_ADMIN, 4},
        {STORE_ROLE_ADMIN, STORE_SCOPE_ADMIN, 5},  {STORE_ROLE_ADMIN, STORE_SCOPE_WRITE, 4},
        {STORE_ROLE_ADMIN, STORE_SCOPE_READ, 2},   {STORE_ROLE_CARER, STORE_SCOPE_READ, 2},
        {STORE_ROLE_VIEWER, STORE_SCOPE_WRITE, 2},
    };
    for (size_t c = 0; c < MT_ARRAY_LEN(cases); c++) {
        struct api_principal p = who(cases[c].role, cases[c].scope, API_AUTH_TOKEN);
        for (size_t i = 0; i < MT_ARRAY_LEN(all); i++)
            CHECK(api_perm_allows(&p, all[i]) == (i <= cases[c].strongest));
        CHECK(!api_perm_allows(&p, API_PERM_UNSET));
    }
    struct api_principal nobody = {0};
    CHECK(api_perm_allows(&nobody, API_PUBLIC));
    CHECK(!api_perm_allows(&nobody, API_SELF));
    struct api_principal open = {.method = API_AUTH_OPEN};
    CHECK(api_perm_allows(&open, API_ADMIN));
    CHECK_STR(api_perm_name(API_MANAGE), "MANAGE");
    CHECK_STR(api_perm_name(API_PERM_UNSET), "UNSET");
}

static void test_client_addr(void)
{
    /* TRUSTED_PROXIES=10.0.0.0/8,::1 (set in main). */
    struct http_kv xff[] = {{"X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.2"}};
    struct http_req r = req("GET", "10.0.0.1", xff, 1);
    CHECK_STR(api_client_addr(&r), "203.0.113.7");
    r = req("GET", "192.0.2.1", xff, 1);
    CHECK_STR(api_client_addr(&r), "192.0.2.1");
    struct http_kv only_proxies[] = {{"X-Forwarded-For", "10.9.9.9,10.0.0.2"}};
    r = req("GET", "::1", only_proxies, 1);
    CHECK_STR(api_client_addr(&r), "10.9.9.9");
    struct http_kv junk[] = {{"X-Forwarded-For", "not-an-address, 10.0.0.2"}};
    r = req("GET", "10.0.0.1", junk, 1);
    CHECK_STR(api_client_addr(&r), "10.0.0.2");
    r = req("GET", "10.0.0.1", NULL, 0);
    CHECK_STR(api_client_addr(&r), "10.0.0.1");

    struct http_kv https[] = {{"X-Forwarded-Proto", " HTTPS , http"}};
    r = req("GET", "10.0.0.1", https, 1);
    CHECK(api_request_secure(&r));
    r = req("GET", "192.0.2.1", https, 1);
    CHECK(!api_request_secure(&r));
    r.tls = true;
    CHECK(api_request_secure(&r));
}

static void test_csrf(void)
{
    struct api_principal session = who(STORE_ROLE_ADMIN, STORE_SCOPE_ADMIN, API_AUTH_SESSION);
    struct api_principal token = who(STORE_ROLE_ADMIN, STORE_SCOPE_ADMIN, API_AUTH_TOKEN);
    struct http_kv good[] = {{"Host", "meds.local:8000"},
                             {"X-Requested-With", "MediTrack"},
                             {"Origin", "http://meds.local:8000"}};
    struct http_req r = req("POST", "192.0.2.1", good, 3);
    CHECK(api_csrf_ok(&r, &session));
    r.method = "GET";
    struct http_kv none[] = {{"Host", "meds.local:8000"}};
    r = req("GET", "192.0.2.1", none, 1);
    CHECK(api_csrf_ok(&r, &session));
    r = req("DELETE", "192.0.2.1", none, 1);
    CHECK(!api_csrf_ok(&r, &session));
    CHECK(api_csrf_ok(&r, &token));
    struct http_kv other_port[] = {{"Host", "meds.local:8000"},
                                   {"X-Requested-With", "MediTrack"},
                                   {"Origin", "http://meds.local:8001"}};
    r = req("PUT", "192.0.2.1", other_port, 3);
    CHECK(!api_csrf_ok(&r, &session));
    struct http_kv referer[] = {{"Host", "meds.local:8000"},
                                {"X-Requested-With", "meditrack"},
                                {"Referer", "http://meds.local:8000/persons?x=1"}};
    r = req("PATCH", "192.0.2.1", referer, 3);
    CHECK(api_csrf_ok(&r, &session));
    struct http_kv null_origin[] = {
        {"Host", "meds.local:8000"}, {"X-Requested-With", "MediTrack"}, {"Origin", "null"}};
    r = req("POST", "192.0.2.1", null_origin, 3);
    CHECK(!api_csrf_ok(&r, &session));
    struct http_kv longer[] = {{"Host", "meds.local"},
                               {"X-Requested-With", "MediTrack"},
                               {"Origin", "http://meds.local.evil.example"}};
    r = req("POST", "192.0.2.1", longer, 3);
    CHECK(!api_csrf_ok(&r, &session));
}

static void test_filter(void)
{
    int64_t ids[] = {2, 5, 9};
    struct store_person_filter f = {.all = false, .ids = ids, .n = 3};
    CHECK(store_filter_has(&f, 5));
    CHECK(!store_filter_has(&f, 4));
    CHECK(!store_filter_has(&f, 10));
    CHECK(store_filter_has(NULL, 4));
    struct api_principal p = {.see = f};
    struct mt_err err = {0};
    CHECK_EQ(api_who_person(&p, 9, &err), 0);
    CHECK_EQ(api_who_person(&p, 3, &err), -1);
    CHECK(err.code == MT_ENOTFOUND && strcmp(err.msg, "Person not found") == 0);
}

int main(void)
{
    mt_config_load_defaults(&cfg);
    /* The loader's own list type: replace the empty default. */
    free(cfg.trusted_proxies);
    static char *proxies[] = {"10.0.0.0/8", "::1", NULL};
    char **list = malloc(sizeof(proxies));
    for (size_t i = 0; i < 3; i++)
        list[i] = proxies[i] ? strdup(proxies[i]) : NULL;
    cfg.trusted_proxies = list;
    cfg.n_trusted_proxies = 2;
    app.cfg = &cfg;
    struct mt_err err = {0};
    CHECK_EQ(api_auth_new(&cfg, &app.auth, &err), 0);
    arena = mt_arena_new(1u << 20);
    test_permissions();
    test_client_addr();
    test_csrf();
    test_filter();
    mt_arena_free(arena);
    api_auth_free(app.auth);
    mt_config_release(&cfg);
    return check_report();
}
