/* Tests of the access-control store (src/store/auth_*.c) against the dialect
 * of MT_TEST_DATABASE_URL, in a database of its own upgraded to head: the
 * setup claim (also raced by several connections), accounts with their
 * login rules, grants and the last-administrator rule, passwords ending
 * sessions, sessions and API tokens with expiry, idleness, revocation and
 * disabled accounts, the throttle counted atomically by concurrent
 * connections, the sweep, and what the foreign keys do when a person or an
 * account goes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/mtime.h"
#include "core/secret.h"
#include "db/db.h"
#include "dbcheck.h"
#include "migrate/migrate.h"
#include "schema/schema.h"
#include "store/auth.h"
#include "store/store.h"

#define SEC INT64_C(1000000)
#define HOUR (3600 * SEC)

static char *test_url;
static struct mt_arena *A;

static struct db_conn *open_conn(void)
{
    return open_or_exit(test_url);
}

static int64_t count(struct db_conn *c, const char *sql, int64_t id)
{
    int64_t v = -1;
    struct db_param p[] = {DB_INT(id)};
    MUST(db_query_int(c, sql, p, id ? 1 : 0, &v, NULL, &E));
    return v;
}

static int64_t new_person(struct db_conn *c, const char *first)
{
    struct store_person_fields f = {.first_name = first};
    struct store_person p = {0};
    MUST(store_person_create(c, NULL, A, &f, &p, &E));
    return p.id;
}

static void hash_of(const char *secret, char out[MT_SECRET_HASH_HEX])
{
    mt_secret_hash(secret, out);
}

/* The delay the auth API uses: free for ten failures, then 2^(n-10) s,
 * at most 15 minutes. */
static int64_t lock_for(int64_t failures)
{
    if (failures <= 10)
        return 0;
    int64_t s = failures - 10 >= 10 ? 900 : INT64_C(1) << (failures - 10);
    return (s > 900 ? 900 : s) * SEC;
}

/* ---- setup ---------------------------------------------------------------------------------- */

struct claim_thread {
    char secret[MT_SECRET_MAX];
    const char *login;
    int rc;
    enum mt_code code;
};

static void *claim_run(void *arg)
{
    struct claim_thread *t = arg;
    struct db_conn *c = NULL;
    struct mt_err err = {0};
    struct mt_arena *a = mt_arena_new(1 << 20);
    t->rc = db_open_url(test_url, &c, &err);
    if (t->rc == 0) {
        char h[MT_SECRET_HASH_HEX];
        hash_of(t->secret, h);
        struct store_account_fields f = {.login = t->login, .role = STORE_ROLE_VIEWER};
        struct store_account acc;
        t->rc = store_setup_claim(c, a, h, mt_now_us(), &f, &acc, &err);
        db_close(c);
    }
    t->code = err.code;
    mt_arena_free(a);
    return NULL;
}

static void test_setup(struct db_conn *c)
{
    bool pending = false;
    MUST(store_setup_pending(c, &pending, &E));
    CHECK(pending);
    int64_t now = mt_now_us();
    char expired[MT_SECRET_MAX], h[MT_SECRET_HASH_HEX];
    CHECK(mt_secret_random(MT_SECRET_SETUP_PREFIX, expired, sizeof(expired)) == 0);
    hash_of(expired, h);
    MUST(store_setup_token_add(c, h, now - SEC, &E));
    struct store_account_fields f = {.login = "Root",
                                     .display_name = "The Admin",
                                     .role = STORE_ROLE_VIEWER,
                                     .password_hash = "$argon2id$x"};
    struct store_account acc;
    MUST_FAIL_TEXT(store_setup_claim(c, A, h, now, &f, &acc, &E), MT_ENOTFOUND,
                   "Invalid or expired setup token");
    char unknown[MT_SECRET_HASH_HEX];
    hash_of("mtsetup_never-issued", unknown);
    MUST_FAIL_TEXT(store_setup_claim(c, A, unknown, now, &f, &acc, &E), MT_ENOTFOUND,
                   "Invalid or expired setup token");

    /* Three replicas, three tokens, three claims at once: one admin. */
    struct claim_thread t[3] = {{.login = "first"}, {.login = "second"}, {.login = "third"}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        CHECK(mt_secret_random(MT_SECRET_SETUP_PREFIX, t[i].secret, sizeof(t[i].secret)) == 0);
        hash_of(t[i].secret, h);
        MUST(store_setup_token_add(c, h, now + 24 * HOUR, &E));
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, claim_run, &t[i]);
    int won = 0, refused = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        won += t[i].rc == 0;
        refused += t[i].rc < 0 && t[i].code == MT_ECONFLICT;
    }
    CHECK_EQ(won, 1);
    CHECK_EQ(refused, 2);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM accounts", 0), 1);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_setup_tokens", 0), 0);
    MUST(store_setup_pending(c, &pending, &E));
    CHECK(!pending);

    /* The winner is an enabled administrator, whatever it asked for. */
    struct store_account *all = NULL;
    size_t n = 0;
    MUST(store_accounts_list(c, A, &all, &n, &E));
    CHECK_EQ(n, 1);
    if (n == 1) {
        CHECK_EQ(all[0].role, STORE_ROLE_ADMIN);
        CHECK(all[0].enabled);
        CHECK(!all[0].has_password);
    }
    /* A token issued after setup cannot create a second admin. */
    hash_of(t[0].secret, h);
    MUST(store_setup_token_add(c, h, now + HOUR, &E));
    MUST_FAIL_TEXT(store_setup_claim(c, A, h, now, &f, &acc, &E), MT_ECONFLICT,
                   "Setup is already complete");
}

/* ---- accounts ------------------------------------------------------------------------------- */

static int64_t P1, P2, P3;

static int64_t make_account(struct db_conn *c, const char *login, enum store_role role,
                            bool has_person, int64_t person)
{
    struct store_account_fields f = {.login = login,
                                     .role = role,
                                     .enabled = true,
                                     .has_person = has_person,
                                     .person_id = person,
                                     .password_hash = "$argon2id$v=19$m=65536,t=3,p=1$x$y"};
    struct store_account acc = {0};
    MUST(store_account_create(c, NULL, A, &f, &acc, &E));
    return acc.id;
}

static void test_names(void)
{
    enum store_role r;
    enum store_scope s;
    CHECK(store_role_parse("carer", &r) == 0 && r == STORE_ROLE_CARER);
    CHECK(store_role_parse("Admin", &r) == -1);
    CHECK(store_role_parse("", &r) == -1);
    CHECK(store_role_parse(NULL, &r) == -1);
    CHECK_STR(store_role_name(STORE_ROLE_VIEWER), "viewer");
    CHECK_STR(store_role_name((enum store_role)9), "unknown");
    CHECK(store_scope_parse("write", &s) == 0 && s == STORE_SCOPE_WRITE);
    CHECK(store_scope_parse("all", &s) == -1);
    CHECK_STR(store_scope_name(STORE_SCOPE_ADMIN), "admin");
    CHECK(STORE_ROLE_ADMIN > STORE_ROLE_CARER && STORE_ROLE_CARER > STORE_ROLE_VIEWER);
}

static void test_accounts(struct db_conn *c)
{
    struct store_account acc;
    struct store_account_fields f = {.login = "Maria.Garcia@Home",
                                     .display_name = "Mar\xc3\xad"
                                                     "a Garc\xc3\xad"
                                                     "a",
                                     .role = STORE_ROLE_CARER,
                                     .enabled = true,
                                     .has_person = true,
                                     .person_id = P1,
                                     .password_hash = "$argon2id$v=19$m=65536,t=3,p=1$s$h"};
    MUST(store_account_create(c, NULL, A, &f, &acc, &E));
    CHECK_STR(acc.login, "maria.garcia@home");
    CHECK_STR(acc.display_name, "Mar\xc3\xad"
                                "a Garc\xc3\xad"
                                "a");
    CHECK_EQ(acc.role, STORE_ROLE_CARER);
    CHECK(acc.enabled && acc.has_password && acc.has_person && acc.person_id == P1);
    CHECK_EQ(acc.n_persons, 1);
    CHECK(acc.created_at.present && !acc.updated_at.present);
    int64_t maria = acc.id;

    MUST_FAIL_TEXT(store_account_create(c, NULL, A, &f, &acc, &E), MT_ECONFLICT,
                   "Login already taken");
    f.login = "MARIA.GARCIA@HOME";
    MUST_FAIL_TEXT(store_account_create(c, NULL, A, &f, &acc, &E), MT_ECONFLICT,
                   "Login already taken");
    static const char *const bad[] = {
        "",           "with space",
        "semi;colon", "t\xc3\xa4st",
        "tab\tx",     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad); i++) {
        f.login = bad[i];
        MUST_FAIL_TEXT(store_account_create(c, NULL, A, &f, &acc, &E), MT_EINVAL, "invalid login");
    }
    f.login = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 64 */
    f.has_person = false;
    MUST(store_account_create(c, NULL, A, &f, &acc, &E));
    CHECK_EQ(strlen(acc.login), 64);
    CHECK_STR(acc.display_name, "Mar\xc3\xad"
                                "a Garc\xc3\xad"
                                "a");
    f.login = "ghost";
    f.has_person = true;
    f.person_id = 999999;
    MUST_FAIL_TEXT(store_account_create(c, NULL, A, &f, &acc, &E), MT_ENOTFOUND,
                   "Person not found");
    f.has_person = false;
    f.role = (enum store_role)7;
    MUST_FAIL_TEXT(store_account_create(c, NULL, A, &f, &acc, &E), MT_EINVAL, "role");
    f.role = STORE_ROLE_VIEWER;
    /* 255 characters of two bytes each fit; 256 do not. */
    char name[600];
    for (int i = 0; i < 256; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 2);
    name[512] = '\0';
    f.display_name = name;
    MUST_FAIL_TEXT(store_account_create(c, NULL, A, &f, &acc, &E), MT_EINVAL, "too long");
    name[510] = '\0';
    f.display_name = "bad \xff byte";
    MUST_FAIL_TEXT(store_account_create(c, NULL, A, &f, &acc, &E), MT_EINVAL, "UTF-8");
    f.display_name = name;
    f.login = "longname";
    MUST(store_account_create(c, NULL, A, &f, &acc, &E));
    CHECK_STR(acc.display_name, name);
    /* No display name: the login; no password: a proxy-only account. */
    f.login = "proxy.only";
    f.display_name = NULL;
    f.password_hash = NULL;
    MUST(store_account_create(c, NULL, A, &f, &acc, &E));
    CHECK_STR(acc.display_name, "proxy.only");
    CHECK(!acc.has_password);

    /* Reading back. */
    struct store_account got;
    const char *hash = "unset";
    MUST(store_account_by_login(c, A, "Maria.GARCIA@home", &got, &hash, &E));
    CHECK_EQ(got.id, maria);
    CHECK_STR(hash, "$argon2id$v=19$m=65536,t=3,p=1$s$h");
    CHECK(got.created_at.parsed && got.created_at.us > 0);
    MUST(store_account_by_login(c, A, "proxy.only", &got, &hash, &E));
    CHECK(hash == NULL);
    MUST_FAIL_TEXT(store_account_by_login(c, A, "nobody", &got, &hash, &E), MT_ENOTFOUND,
                   "Account not found");
    MUST_FAIL_TEXT(store_account_by_login(c, A, "no body", &got, &hash, &E), MT_EINVAL, NULL);
    MUST(store_account_get(c, A, maria, &got, &E));
    CHECK_STR(got.login, "maria.garcia@home");
    CHECK(got.n_persons == 1 && got.persons[0] == P1);
    MUST_FAIL_TEXT(store_account_get(c, A, 987654, &got, &E), MT_ENOTFOUND, "Account not found");
    MUST_FAIL_TEXT(store_account_get(c, A, INT64_C(1) << 40, &got, &E), MT_ENOTFOUND, NULL);

    struct store_account *list = NULL;
    size_t n = 0;
    MUST(store_accounts_list(c, A, &list, &n, &E));
    CHECK_EQ(n, 5); /* the setup's admin and the four above */
    for (size_t i = 1; i < n; i++)
        CHECK(strcmp(list[i - 1].login, list[i].login) < 0);
    for (size_t i = 0; i < n; i++)
        if (list[i].id == maria)
            CHECK(list[i].n_persons == 1 && list[i].persons[0] == P1);
}

static void test_updates_and_grants(struct db_conn *c)
{
    struct store_account acc, got;
    /* The admin the setup race made (any of its three logins). */
    int64_t root = 0;
    struct store_account *list = NULL;
    size_t n = 0;
    MUST(store_accounts_list(c, A, &list, &n, &E));
    for (size_t i = 0; i < n; i++)
        if (list[i].role == STORE_ROLE_ADMIN)
            root = list[i].id;
    CHECK(root > 0);

    /* The only enabled admin may be neither demoted, nor disabled, nor
     * deleted. */
    struct store_account_fields f = {.set_role = true, .role = STORE_ROLE_CARER};
    MUST_FAIL_TEXT(store_account_update(c, NULL, A, root, &f, &acc, &E), MT_ECONFLICT,
                   "The last administrator cannot be disabled or demoted");
    f = (struct store_account_fields){.set_enabled = true, .enabled = false};
    MUST_FAIL_TEXT(store_account_update(c, NULL, A, root, &f, &acc, &E), MT_ECONFLICT,
                   "last administrator");
    MUST_FAIL_TEXT(store_account_delete(c, NULL, root, &E), MT_ECONFLICT, "last administrator");
    /* A no-op change of the only admin is fine and touches nothing. */
    f = (struct store_account_fields){.set_role = true, .role = STORE_ROLE_ADMIN};
    MUST(store_account_update(c, NULL, A, root, &f, &acc, &E));
    CHECK(!acc.updated_at.present);

    int64_t boss = make_account(c, "boss", STORE_ROLE_ADMIN, false, 0);
    f = (struct store_account_fields){.set_enabled = true, .enabled = false};
    MUST(store_account_update(c, NULL, A, boss, &f, &acc, &E));
    CHECK(!acc.enabled);
    /* A disabled admin does not count as one. */
    f = (struct store_account_fields){.set_role = true, .role = STORE_ROLE_VIEWER};
    MUST_FAIL_TEXT(store_account_update(c, NULL, A, root, &f, &acc, &E), MT_ECONFLICT,
                   "last administrator");
    f = (struct store_account_fields){.set_enabled = true, .enabled = true};
    MUST(store_account_update(c, NULL, A, boss, &f, &acc, &E));
    f = (struct store_account_fields){.set_role = true, .role = STORE_ROLE_VIEWER};
    MUST(store_account_update(c, NULL, A, root, &f, &acc, &E));
    CHECK_EQ(acc.role, STORE_ROLE_VIEWER);
    CHECK(acc.updated_at.present);
    f.role = STORE_ROLE_ADMIN;
    MUST(store_account_update(c, NULL, A, root, &f, &acc, &E));

    /* Display name: set, and back to the login with an empty one. */
    int64_t carer = make_account(c, "carer", STORE_ROLE_CARER, true, P1);
    f = (struct store_account_fields){.set_display_name = true, .display_name = "C\xc3\xa4rer"};
    MUST(store_account_update(c, NULL, A, carer, &f, &acc, &E));
    CHECK_STR(acc.display_name, "C\xc3\xa4rer");
    f.display_name = "";
    MUST(store_account_update(c, NULL, A, carer, &f, &acc, &E));
    CHECK_STR(acc.display_name, "carer");
    MUST_FAIL_TEXT(store_account_update(c, NULL, A, 999999, &f, &acc, &E), MT_ENOTFOUND, NULL);

    /* A new own person is granted; the former stays granted. */
    f = (struct store_account_fields){.set_person = true, .has_person = true, .person_id = P2};
    MUST(store_account_update(c, NULL, A, carer, &f, &acc, &E));
    CHECK(acc.has_person && acc.person_id == P2);
    CHECK(acc.n_persons == 2 && acc.persons[0] == P1 && acc.persons[1] == P2);
    f.person_id = 424242;
    MUST_FAIL_TEXT(store_account_update(c, NULL, A, carer, &f, &acc, &E), MT_ENOTFOUND,
                   "Person not found");
    f = (struct store_account_fields){.set_person = true, .has_person = false};
    MUST(store_account_update(c, NULL, A, carer, &f, &acc, &E));
    CHECK(!acc.has_person);
    f = (struct store_account_fields){.set_person = true, .has_person = true, .person_id = P2};
    MUST(store_account_update(c, NULL, A, carer, &f, &acc, &E));

    /* Grants. */
    MUST(store_grant_add(c, NULL, carer, P3, &E));
    MUST(store_grant_add(c, NULL, carer, P3, &E));
    MUST(store_account_get(c, A, carer, &got, &E));
    CHECK(got.n_persons == 3 && got.persons[2] == P3);
    MUST_FAIL_TEXT(store_grant_add(c, NULL, carer, 777777, &E), MT_ENOTFOUND, "Person not found");
    MUST_FAIL_TEXT(store_grant_add(c, NULL, 777777, P1, &E), MT_ENOTFOUND, "Account not found");
    MUST(store_grant_remove(c, NULL, carer, P1, &E));
    MUST(store_grant_remove(c, NULL, carer, P1, &E));
    MUST_FAIL_TEXT(store_grant_remove(c, NULL, carer, P2, &E), MT_ECONFLICT, "own person");
    MUST_FAIL_TEXT(store_grant_remove(c, NULL, carer, 777777, &E), MT_ENOTFOUND,
                   "Person not found");
    MUST(store_account_get(c, A, carer, &got, &E));
    CHECK(got.n_persons == 2 && got.persons[0] == P2 && got.persons[1] == P3);
    int64_t ids[] = {P1, P1};
    MUST(store_grants_set(c, NULL, carer, ids, 2, &E));
    MUST(store_account_get(c, A, carer, &got, &E));
    CHECK(got.n_persons == 2 && got.persons[0] == P1 && got.persons[1] == P2);
    int64_t bad_ids[] = {P3, 555555};
    MUST_FAIL_TEXT(store_grants_set(c, NULL, carer, bad_ids, 2, &E), MT_ENOTFOUND,
                   "Person not found");
    MUST(store_account_get(c, A, carer, &got, &E));
    CHECK_EQ(got.n_persons, 2); /* unchanged: all or nothing */
    MUST(store_grants_set(c, NULL, carer, NULL, 0, &E));
    MUST(store_account_get(c, A, carer, &got, &E));
    CHECK(got.n_persons == 1 && got.persons[0] == P2);

    /* Deleting a person: the account loses it as own person and grant. */
    int64_t gone = new_person(c, "Temporary");
    MUST(store_grant_add(c, NULL, carer, gone, &E));
    f = (struct store_account_fields){.set_person = true, .has_person = true, .person_id = gone};
    MUST(store_account_update(c, NULL, A, carer, &f, &acc, &E));
    MUST(store_person_delete(c, NULL, A, gone, &E));
    MUST(store_account_get(c, A, carer, &got, &E));
    CHECK(!got.has_person);
    CHECK(got.n_persons == 1 && got.persons[0] == P2);
}

/* ---- passwords, sessions and tokens -----------------------------------------------------------
 */

static int64_t session(struct db_conn *c, int64_t account, const char *secret, int64_t expires_us)
{
    char h[MT_SECRET_HASH_HEX];
    hash_of(secret, h);
    int64_t id = 0;
    MUST(store_session_create(c, account, h, expires_us, "test-agent/1.0", "192.0.2.1", &id, &E));
    return id;
}

static void test_sessions(struct db_conn *c)
{
    int64_t now = mt_now_us();
    int64_t viewer = make_account(c, "viewer", STORE_ROLE_VIEWER, true, P3);
    int64_t s1 = session(c, viewer, "mts_one", now + HOUR);
    int64_t s2 = session(c, viewer, "mts_two", now + HOUR);
    CHECK(s1 > 0 && s2 > s1);
    struct store_session s;
    struct store_account acc;
    char h[MT_SECRET_HASH_HEX];
    hash_of("mts_one", h);
    MUST(store_session_lookup(c, A, h, now, 3600 * SEC, &s, &acc, &E));
    CHECK_EQ(s.id, s1);
    CHECK_EQ(acc.id, viewer);
    CHECK(acc.n_persons == 1 && acc.persons[0] == P3);
    CHECK_STR(s.user_agent, "test-agent/1.0");
    CHECK_STR(s.address, "192.0.2.1");
    hash_of("mts_unknown", h);
    MUST_FAIL_TEXT(store_session_lookup(c, A, h, now, HOUR, &s, &acc, &E), MT_ENOTFOUND, NULL);
    MUST_FAIL_TEXT(store_session_create(c, 999999, h, now + HOUR, NULL, NULL, &s1, &E),
                   MT_ENOTFOUND, "Account not found");

    /* Past its absolute expiry, or idle too long: refused, and gone. */
    hash_of("mts_one", h);
    MUST_FAIL_TEXT(store_session_lookup(c, A, h, now + 2 * HOUR, 0, &s, &acc, &E), MT_ENOTFOUND,
                   NULL);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE id = ?", s1), 0);
    hash_of("mts_two", h);
    MUST(store_session_touch(c, s2, now + 10 * SEC, &E));
    MUST(store_session_lookup(c, A, h, now + 20 * SEC, 15 * SEC, &s, &acc, &E));
    CHECK(s.last_seen_at.parsed && s.last_seen_at.us == now + 10 * SEC);
    MUST_FAIL_TEXT(store_session_lookup(c, A, h, now + 30 * SEC, 15 * SEC, &s, &acc, &E),
                   MT_ENOTFOUND, NULL);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE id = ?", s2), 0);
    MUST(store_session_touch(c, s2, now, &E)); /* gone: nothing to touch */

    /* Client text is cut to its column: 300 characters of user agent. */
    char ua[700];
    for (int i = 0; i < 300; i++)
        memcpy(ua + 2 * i, "\xc3\xbc", 2);
    ua[600] = '\0';
    hash_of("mts_long", h);
    int64_t s3 = 0;
    MUST(store_session_create(c, viewer, h, now + HOUR, ua, "2001:db8::1", &s3, &E));
    MUST(store_session_lookup(c, A, h, now, HOUR, &s, &acc, &E));
    CHECK(s.user_agent && strlen(s.user_agent) == 510);
    /* Bytes that are not text become '?': PostgreSQL would refuse them. */
    hash_of("mts_bytes", h);
    int64_t s5 = 0;
    MUST(store_session_create(c, viewer, h, now + HOUR,
                              "\xff\xfe"
                              "Bot\n\xc3\xa4",
                              "::1\t", &s5, &E));
    MUST(store_session_lookup(c, A, h, now, HOUR, &s, &acc, &E));
    CHECK_STR(s.user_agent, "??Bot?\xc3\xa4");
    CHECK_STR(s.address, "::1?");
    MUST(store_session_delete(c, viewer, s5, &E));

    /* Listing newest first; deleting only one's own. */
    int64_t s4 = session(c, viewer, "mts_four", now + HOUR);
    struct store_session *list = NULL;
    size_t n = 0;
    MUST(store_sessions_list(c, A, viewer, &list, &n, &E));
    CHECK_EQ(n, 2);
    if (n == 2)
        CHECK(list[0].id == s4 && list[1].id == s3);
    int64_t other = make_account(c, "other", STORE_ROLE_VIEWER, false, 0);
    MUST_FAIL_TEXT(store_session_delete(c, other, s4, &E), MT_ENOTFOUND, "Session not found");
    MUST(store_session_delete(c, viewer, s4, &E));
    MUST_FAIL_TEXT(store_session_delete(c, viewer, s4, &E), MT_ENOTFOUND, NULL);

    /* A new password ends every session but the one kept. */
    int64_t k1 = session(c, viewer, "mts_keep", now + HOUR);
    session(c, viewer, "mts_end", now + HOUR);
    MUST(store_account_set_password(c, NULL, viewer, "$argon2id$new", k1, &E));
    MUST(store_sessions_list(c, A, viewer, &list, &n, &E));
    CHECK(n == 1 && list[0].id == k1);
    const char *hash = NULL;
    MUST(store_account_by_login(c, A, "viewer", &acc, &hash, &E));
    CHECK_STR(hash, "$argon2id$new");
    CHECK(acc.updated_at.present);
    MUST(store_account_set_password(c, NULL, viewer, "$argon2id$newer", 0, &E));
    MUST(store_sessions_list(c, A, viewer, &list, &n, &E));
    CHECK_EQ(n, 0);
    MUST_FAIL_TEXT(store_account_set_password(c, NULL, 999999, "$argon2id$x", 0, &E), MT_ENOTFOUND,
                   NULL);
    MUST(store_account_rehash(c, viewer, "$argon2id$rehashed", &E));
    MUST(store_account_by_login(c, A, "viewer", &acc, &hash, &E));
    CHECK_STR(hash, "$argon2id$rehashed");
    MUST_FAIL_TEXT(store_account_rehash(c, 999999, "$argon2id$x", &E), MT_ENOTFOUND, NULL);

    /* Disabling ends the sessions; a disabled account's session is refused. */
    int64_t d = session(c, viewer, "mts_disabled", now + HOUR);
    struct store_account_fields f = {.set_enabled = true, .enabled = false};
    MUST(store_account_update(c, NULL, A, viewer, &f, &acc, &E));
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE id = ?", d), 0);
    session(c, viewer, "mts_after", now + HOUR);
    hash_of("mts_after", h);
    MUST_FAIL_TEXT(store_session_lookup(c, A, h, now, HOUR, &s, &acc, &E), MT_ENOTFOUND, NULL);
    f.enabled = true;
    MUST(store_account_update(c, NULL, A, viewer, &f, &acc, &E));
    MUST(store_session_lookup(c, A, h, now, HOUR, &s, &acc, &E));
}

static void test_tokens(struct db_conn *c)
{
    int64_t now = mt_now_us();
    struct store_account acc;
    MUST(store_account_by_login(c, A, "carer", &acc, NULL, &E));
    int64_t carer = acc.id;
    MUST(store_account_by_login(c, A, "viewer", &acc, NULL, &E));
    int64_t viewer = acc.id;
    char secret[MT_SECRET_MAX], h[MT_SECRET_HASH_HEX], prefix[MT_SECRET_SHOWN_PREFIX + 1];
    CHECK(mt_secret_random(MT_SECRET_TOKEN_PREFIX, secret, sizeof(secret)) == 0);
    hash_of(secret, h);
    mt_secret_shown_prefix(secret, prefix);
    struct store_token_fields f = {.account_id = carer,
                                   .name = "Home Assistant \xf0\x9f\x8f\xa0",
                                   .hash = h,
                                   .prefix = prefix,
                                   .scope = STORE_SCOPE_READ,
                                   .has_person = true,
                                   .person_id = P2};
    struct store_token t, got;
    MUST(store_token_create(c, NULL, A, &f, &t, &E));
    CHECK(t.id > 0);
    CHECK_STR(t.login, "carer");
    CHECK_STR(t.prefix, prefix);
    CHECK(t.created_at.present && !t.expires_at.present && !t.revoked_at.present);
    MUST(store_token_lookup(c, A, h, now, &got, &acc, &E));
    CHECK(got.id == t.id && got.scope == STORE_SCOPE_READ && got.has_person && got.person_id == P2);
    CHECK_STR(got.name, "Home Assistant \xf0\x9f\x8f\xa0");
    CHECK_EQ(acc.id, carer);
    CHECK(!got.last_used_at.present);
    MUST(store_token_touch(c, t.id, now + 5 * SEC, &E));
    MUST(store_token_lookup(c, A, h, now, &got, &acc, &E));
    CHECK(got.last_used_at.parsed && got.last_used_at.us == now + 5 * SEC);

    /* Refused: unknown person, unknown account, bad fields. */
    char h2[MT_SECRET_HASH_HEX];
    hash_of("mtt_second", h2);
    f.hash = h2;
    f.person_id = 888888;
    MUST_FAIL_TEXT(store_token_create(c, NULL, A, &f, &t, &E), MT_ENOTFOUND, "Person not found");
    f.has_person = false;
    f.account_id = 888888;
    MUST_FAIL_TEXT(store_token_create(c, NULL, A, &f, &t, &E), MT_ENOTFOUND, "Account not found");
    f.account_id = viewer;
    f.name = "";
    MUST_FAIL_TEXT(store_token_create(c, NULL, A, &f, &t, &E), MT_EINVAL, "name");
    f.name = "expiring";
    f.scope = (enum store_scope)0;
    MUST_FAIL_TEXT(store_token_create(c, NULL, A, &f, &t, &E), MT_EINVAL, "scope");
    f.scope = STORE_SCOPE_WRITE;
    f.has_expiry = true;
    f.expires_us = now + HOUR;
    MUST(store_token_create(c, NULL, A, &f, &t, &E));
    int64_t expiring = t.id;
    CHECK(t.expires_at.present && t.expires_at.us == now + HOUR);
    MUST(store_token_lookup(c, A, h2, now, &got, &acc, &E));
    MUST_FAIL_TEXT(store_token_lookup(c, A, h2, now + HOUR, &got, &acc, &E), MT_ENOTFOUND, NULL);

    /* Lists: of one account, of all; newest first, revoked ones included. */
    struct store_token *list = NULL;
    size_t n = 0;
    MUST(store_tokens_list(c, A, viewer, &list, &n, &E));
    CHECK(n == 1 && list[0].id == expiring && strcmp(list[0].login, "viewer") == 0);
    MUST(store_tokens_list(c, A, 0, &list, &n, &E));
    CHECK_EQ(n, 2);
    if (n == 2)
        CHECK(list[0].id == expiring && list[1].scope == STORE_SCOPE_READ);

    /* Revoking: only the owner (or anyone with account 0), only once. */
    MUST_FAIL_TEXT(store_token_revoke(c, NULL, viewer, list[1].id, &E), MT_ENOTFOUND,
                   "Token not found");
    MUST(store_token_revoke(c, NULL, carer, list[1].id, &E));
    MUST_FAIL_TEXT(store_token_revoke(c, NULL, 0, list[1].id, &E), MT_ENOTFOUND, NULL);
    MUST_FAIL_TEXT(store_token_lookup(c, A, h, now, &got, &acc, &E), MT_ENOTFOUND, NULL);
    MUST(store_token_revoke(c, NULL, 0, expiring, &E));
    MUST(store_tokens_list(c, A, 0, &list, &n, &E));
    CHECK(n == 2 && list[0].revoked_at.present && list[1].revoked_at.present);

    /* A disabled account's tokens stop working, and work again after. */
    hash_of("mtt_third", h);
    f = (struct store_token_fields){.account_id = viewer,
                                    .name = "third",
                                    .hash = h,
                                    .prefix = "mtt_third",
                                    .scope = STORE_SCOPE_ADMIN};
    MUST(store_token_create(c, NULL, A, &f, &t, &E));
    struct store_account_fields af = {.set_enabled = true, .enabled = false};
    MUST(store_account_update(c, NULL, A, viewer, &af, &acc, &E));
    MUST_FAIL_TEXT(store_token_lookup(c, A, h, now, &got, &acc, &E), MT_ENOTFOUND, NULL);
    af.enabled = true;
    MUST(store_account_update(c, NULL, A, viewer, &af, &acc, &E));
    MUST(store_token_lookup(c, A, h, now, &got, &acc, &E));

    /* Deleting an account removes its sessions, tokens and grants. */
    MUST(store_grant_add(c, NULL, viewer, P1, &E));
    session(c, viewer, "mts_last", now + HOUR);
    MUST(store_account_delete(c, NULL, viewer, &E));
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE account_id = ?", viewer), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM api_tokens WHERE account_id = ?", viewer), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM account_persons WHERE account_id = ?", viewer), 0);
    MUST_FAIL_TEXT(store_account_delete(c, NULL, viewer, &E), MT_ENOTFOUND, NULL);
}

/* ---- throttle and sweep --------------------------------------------------------------------- */

struct fail_thread {
    int rounds;
    int errors;
};

static void *fail_run(void *arg)
{
    struct fail_thread *t = arg;
    struct db_conn *c = NULL;
    struct mt_err err = {0};
    if (db_open_url(test_url, &c, &err) < 0) {
        t->errors = t->rounds;
        return NULL;
    }
    for (int i = 0; i < t->rounds; i++) {
        struct store_throttle st;
        if (store_throttle_fail(c, "addr:198.51.100.9", mt_now_us(), lock_for, &st, &err) < 0) {
            fprintf(stderr, "throttle: %s\n", err.msg);
            t->errors++;
        }
    }
    db_close(c);
    return NULL;
}

static void test_throttle(struct db_conn *c)
{
    int64_t now = mt_now_us();
    struct store_throttle st;
    MUST(store_throttle_get(c, "login:nobody", &st, &E));
    CHECK(st.failures == 0 && st.locked_until_us == 0);
    for (int i = 1; i <= 12; i++) {
        MUST(store_throttle_fail(c, "login:maria", now, lock_for, &st, &E));
        CHECK_EQ(st.failures, i);
        CHECK_EQ(st.locked_until_us, i <= 10 ? 0 : now + lock_for(i));
    }
    MUST(store_throttle_get(c, "login:maria", &st, &E));
    CHECK(st.failures == 12 && st.locked_until_us == now + 4 * SEC);
    /* Without a lock function nothing is locked. */
    MUST(store_throttle_fail(c, "login:maria", now, NULL, &st, &E));
    CHECK(st.failures == 13 && st.locked_until_us == 0);
    MUST(store_throttle_clear(c, "login:maria", &E));
    MUST(store_throttle_get(c, "login:maria", &st, &E));
    CHECK_EQ(st.failures, 0);

    /* After a quiet day the next failure is the first again. */
    MUST(store_throttle_fail(c, "login:slow", now, lock_for, &st, &E));
    MUST(store_throttle_fail(c, "login:slow", now + HOUR, lock_for, &st, &E));
    CHECK_EQ(st.failures, 2);
    MUST(store_throttle_fail(c, "login:slow", now + 26 * HOUR, lock_for, &st, &E));
    CHECK_EQ(st.failures, 1);

    /* A key longer than its column is shortened, still told apart. */
    char long_a[400], long_b[400];
    memset(long_a, 'a', sizeof(long_a) - 1);
    long_a[sizeof(long_a) - 1] = '\0';
    memcpy(long_b, long_a, sizeof(long_a));
    long_b[300] = 'b';
    MUST(store_throttle_fail(c, long_a, now, lock_for, &st, &E));
    MUST(store_throttle_fail(c, long_a, now, lock_for, &st, &E));
    MUST(store_throttle_fail(c, long_b, now, lock_for, &st, &E));
    CHECK_EQ(st.failures, 1);
    MUST(store_throttle_get(c, long_a, &st, &E));
    CHECK_EQ(st.failures, 2);

    /* Four connections failing at once lose no count. */
    struct fail_thread t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct fail_thread){.rounds = 15};
        pthread_create(&th[i], NULL, fail_run, &t[i]);
    }
    int errors = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        errors += t[i].errors;
    }
    CHECK_EQ(errors, 0);
    MUST(store_throttle_get(c, "addr:198.51.100.9", &st, &E));
    CHECK_EQ(st.failures, 60);
    CHECK(st.locked_until_us > 0);
}

static void test_sweep(struct db_conn *c)
{
    int64_t now = mt_now_us();
    int64_t admin = make_account(c, "sweeper", STORE_ROLE_VIEWER, false, 0);
    int64_t live = session(c, admin, "mts_live", now + 10 * HOUR);
    int64_t expired = session(c, admin, "mts_expired", now - SEC);
    int64_t idle = session(c, admin, "mts_idle", now + 10 * HOUR);
    MUST(store_session_touch(c, live, now, &E));
    MUST(store_session_touch(c, idle, now - 3 * HOUR, &E));
    char h[MT_SECRET_HASH_HEX];
    MUST(db_query(c, "DELETE FROM auth_setup_tokens", NULL, 0, NULL, &E));
    hash_of("mtsetup_old", h);
    MUST(store_setup_token_add(c, h, now - SEC, &E));
    hash_of("mtsetup_new", h);
    MUST(store_setup_token_add(c, h, now + HOUR, &E));
    struct store_throttle st;
    MUST(store_throttle_fail(c, "addr:stale", now - 30 * HOUR, NULL, &st, &E));
    MUST(store_throttle_fail(c, "addr:recent", now - HOUR, NULL, &st, &E));
    MUST(store_auth_sweep(c, now, 2 * HOUR, &E));
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE id = ?", live), 1);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE id = ?", expired), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE id = ?", idle), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_setup_tokens", 0), 1);
    MUST(store_throttle_get(c, "addr:stale", &st, &E));
    CHECK_EQ(st.failures, 0);
    MUST(store_throttle_get(c, "addr:recent", &st, &E));
    CHECK_EQ(st.failures, 1);
    /* Without an idle limit only the absolute expiry counts. */
    MUST(store_session_touch(c, live, now - 50 * HOUR, &E));
    MUST(store_auth_sweep(c, now, 0, &E));
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM auth_sessions WHERE id = ?", live), 1);
}

int main(void)
{
    const char *url = getenv("MT_TEST_DATABASE_URL");
    const char *want = getenv("MT_TEST_DIALECT");
    if (!url || !*url) {
        if (want && *want) {
            fprintf(stderr, "MT_TEST_DIALECT=%s but MT_TEST_DATABASE_URL is not set\n", want);
            return 1;
        }
        SKIP("MT_TEST_DATABASE_URL is not set (run through scripts/run-tests.sh)");
    }
    test_url = private_db_url("test_auth", url);
    mt_log_setup(MT_LOG_WARN, MT_LOG_TEXT);
    MUST(mt_secret_init(&E));
    MUST(schema_register(&E));
    struct mig_chain *ch = NULL;
    MUST(mig_chain_load_embedded(&ch, &E));
    struct db_conn *c = open_conn();
    printf("dialect %s\n", db_dialect_name(db_conn_dialect(c)));
    struct mig_options o;
    mig_options_init(&o);
    o.backup = false;
    MUST(mig_upgrade(c, ch, "head", &o, &E));
    mig_chain_free(ch);
    if (check_failed) {
        db_close(c);
        return check_report();
    }
    A = mt_arena_new(16 << 20);
    P1 = new_person(c, "Mar\xc3\xad"
                       "a");
    P2 = new_person(c, "John");
    P3 = new_person(c, "\xd0\x97\xd0\xbe\xd1\x8f");

    test_names();
    test_setup(c);
    test_accounts(c);
    test_updates_and_grants(c);
    test_sessions(c);
    test_tokens(c);
    test_throttle(c);
    test_sweep(c);

    mt_arena_free(A);
    db_close(c);
    free(test_url);
    return check_report();
}
