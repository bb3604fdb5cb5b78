/* The administrators' side of access control: /api/v1/accounts (list,
 * create, get, change, delete, with person grants) and /api/v1/tokens
 * (every account's API tokens, and revoking any of them), plus the JSON
 * shapes of accounts and tokens that auth_api.c shares. Every change is
 * logged with the account's login, never a secret, and drops the cached
 * look-ups of the account so that it takes effect at once. */
#include <ctype.h>
#include <string.h>

#include "api/actor.h"
#include "api/auth.h"
#include "api/handlers.h"
#include "core/log.h"
#include "core/secret.h"

/* The order of the choices is the order of the enums, weakest first. */
const char *const api_role_choices[] = {"viewer", "carer", "admin", NULL};
const char *const api_scope_choices[] = {"read", "write", "admin", NULL};

/* ---- JSON ---- */

json_t *api_time_json(const struct store_time *t)
{
    if (!t->present)
        return json_null();
    if (!t->parsed)
        return json_string(t->raw ? t->raw : "");
    char buf[MT_TIME_BUF];
    return json_string(mt_format_iso(t->us, buf, sizeof(buf)));
}

json_t *api_account_json(const struct store_account *a)
{
    json_t *persons = json_array();
    for (size_t i = 0; i < a->n_persons; i++)
        json_array_append_new(persons, json_integer(a->persons[i]));
    return json_pack("{s:I, s:s, s:s, s:s, s:b, s:o, s:o, s:b, s:o, s:o}", "id", (json_int_t)a->id,
                     "username", a->login, "display_name",
                     a->display_name ? a->display_name : a->login, "role", store_role_name(a->role),
                     "enabled", a->enabled, "person_id",
                     a->has_person ? json_integer(a->person_id) : json_null(), "persons", persons,
                     "has_password", a->has_password, "created_at", api_time_json(&a->created_at),
                     "updated_at", api_time_json(&a->updated_at));
}

json_t *api_token_json(const struct store_token *t, bool with_owner)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)t->id, "name",
        t->name ? t->name : "", "prefix", t->prefix ? t->prefix : "", "scope",
        store_scope_name(t->scope), "person_id",
        t->has_person ? json_integer(t->person_id) : json_null(), "created_at",
        api_time_json(&t->created_at), "expires_at", api_time_json(&t->expires_at), "last_used_at",
        api_time_json(&t->last_used_at), "revoked_at", api_time_json(&t->revoked_at));
    if (j && with_owner) {
        json_object_set_new(j, "account_id", json_integer(t->account_id));
        json_object_set_new(j, "username", json_string(t->login ? t->login : ""));
    }
    return j;
}

int api_reply_refusal(struct http_req *r, int status, const char *detail, int64_t retry_s)
{
    if (retry_s > 0) {
        const char *after = mt_arena_printf(r->arena, "%lld", (long long)retry_s);
        http_add_header(r, "Retry-After", after ? after : "1");
    }
    http_reply_detail(r, status, detail);
    return 0;
}

const char *api_log_login(struct http_req *r, const char *login)
{
    size_t len = login ? strlen(login) : 0;
    if (len == 0 || len > STORE_LOGIN_MAX)
        return "(invalid)";
    char *out = mt_arena_strdup(r->arena, login);
    if (!out)
        return "(invalid)";
    for (char *p = out; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
        if (!(isalnum((unsigned char)*p) || strchr("._@-", *p)))
            return "(invalid)";
    }
    return out;
}

/* ---- /api/v1/accounts ---- */

int api_accounts_list(struct api_call *call, struct mt_err *err)
{
    struct store_account *items = NULL;
    size_t n = 0;
    if (store_accounts_list(call->db, call->r->arena, &items, &n, err) < 0)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, api_account_json(&items[i]));
    http_reply_json(call->r, call->op->status, list);
    return 0;
}

/* The argon2id hash of the password an administrator sets, after the
 * password rules, into *hash (in a); *hash is NULL when the request sets
 * none. 0, or -1 with err. */
static int hash_new_password(struct mt_arena *a, const struct api_text *pw, const char **hash,
                             struct mt_err *err)
{
    *hash = NULL;
    if (!pw->set || !pw->value)
        return 0;
    const char *why = NULL;
    if (mt_password_acceptable(pw->value, &why) < 0)
        return mt_fail(err, MT_EINVAL, "%s", why ? why : "Password not acceptable");
    char buf[256];
    if (mt_password_hash(pw->value, buf, sizeof(buf), err) < 0)
        return -1;
    *hash = mt_arena_strdup(a, buf);
    if (!*hash)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    return 0;
}

/* The grants a request asks for, sorted and without duplicates, so that a
 * repeated id is one grant, into *grants (in a; NULL when *n is 0). 0, or
 * -1 (MT_ELIMIT) when the arena is full. */
static int grant_ids(struct mt_arena *a, const struct api_ids *ids, int64_t **grants, size_t *n,
                     struct mt_err *err)
{
    *n = 0;
    *grants = NULL;
    if (!ids->set || ids->n == 0)
        return 0;
    int64_t *out = mt_arena_calloc(a, ids->n, sizeof(*out));
    if (!out)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    for (size_t i = 0; i < ids->n; i++) {
        size_t k = *n;
        while (k > 0 && out[k - 1] > ids->values[i])
            k--;
        if (k > 0 && out[k - 1] == ids->values[i])
            continue;
        memmove(out + k + 1, out + k, (*n - k) * sizeof(*out));
        out[k] = ids->values[i];
        (*n)++;
    }
    *grants = out;
    return 0;
}

static const char *who_login(const struct api_call *call)
{
    return call->who->signed_in && call->who->account.login ? call->who->account.login : "-";
}

int api_account_create(struct api_call *call, struct mt_err *err)
{
    struct store_actor actor = api_actor(call);
    const struct api_in_account *in = call->in;
    struct http_req *r = call->r;
    const char *hash;
    if (hash_new_password(r->arena, &in->password, &hash, err) < 0)
        return -1;
    struct store_account_fields f = {
        .login = in->username.value,
        .display_name = in->display_name.set ? in->display_name.value : NULL,
        .role = (enum store_role)(in->role.value + 1),
        .enabled = true,
        .has_person = in->person_id.set && in->person_id.value > 0,
        .person_id = in->person_id.value,
        .password_hash = hash,
    };
    struct store_account acc;
    if (store_account_create(call->db, &actor, r->arena, &f, &acc, err) < 0)
        return -1;
    size_t n;
    int64_t *ids;
    if (grant_ids(r->arena, &in->persons, &ids, &n, err) < 0)
        return -1;
    if (n && (store_grants_set(call->db, &actor, acc.id, ids, n, err) < 0 ||
              store_account_get(call->db, r->arena, acc.id, &acc, err) < 0)) {
        /* Grants of a person that does not exist: the account is not kept
         * half made. */
        struct mt_err undo = {0};
        if (store_account_delete(call->db, &actor, acc.id, &undo) < 0)
            mt_log(MT_LOG_ERROR, "auth: account login=%s left without its grants: %s", acc.login,
                   undo.msg);
        return -1;
    }
    mt_log(MT_LOG_INFO, "auth: account created login=%s role=%s by=%s", acc.login,
           store_role_name(acc.role), who_login(call));
    http_reply_json(r, call->op->status, api_account_json(&acc));
    return 0;
}

int api_account_get(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    struct store_account acc;
    if (store_account_get(call->db, call->r->arena, in->id.value, &acc, err) < 0)
        return -1;
    http_reply_json(call->r, call->op->status, api_account_json(&acc));
    return 0;
}

int api_account_update(struct api_call *call, struct mt_err *err)
{
    struct store_actor actor = api_actor(call);
    const struct api_in_account *in = call->in;
    struct http_req *r = call->r;
    struct store_account acc;
    if (store_account_get(call->db, r->arena, in->id.value, &acc, err) < 0)
        return -1;
    const char *hash;
    if (hash_new_password(r->arena, &in->password, &hash, err) < 0)
        return -1;
    struct store_account_fields f = {
        .set_display_name = in->display_name.set && in->display_name.value,
        .set_role = in->role.set,
        .set_enabled = in->enabled.set,
        .set_person = in->person_id.set,
        .display_name = in->display_name.value,
        .role = (enum store_role)(in->role.value + 1),
        .enabled = in->enabled.value != 0,
        .has_person = in->person_id.set && in->person_id.value > 0,
        .person_id = in->person_id.value,
    };
    bool fields = f.set_display_name || f.set_role || f.set_enabled || f.set_person;
    if (fields && store_account_update(call->db, &actor, r->arena, acc.id, &f, &acc, err) < 0)
        return -1;
    if (in->persons.set) {
        size_t n;
        int64_t *ids;
        if (grant_ids(r->arena, &in->persons, &ids, &n, err) < 0 ||
            store_grants_set(call->db, &actor, acc.id, ids, n, err) < 0)
            return -1;
    }
    /* A password set by an administrator ends every session of the
     * account. */
    if (hash && store_account_set_password(call->db, &actor, acc.id, hash, 0, err) < 0)
        return -1;
    api_auth_forget(r->app->auth, acc.id, false);
    if (store_account_get(call->db, r->arena, acc.id, &acc, err) < 0)
        return -1;
    mt_log(MT_LOG_INFO, "auth: account %s login=%s role=%s%s by=%s",
           f.set_enabled && !f.enabled ? "disabled" : "changed", acc.login,
           store_role_name(acc.role), hash ? " password=set" : "", who_login(call));
    http_reply_json(r, call->op->status, api_account_json(&acc));
    return 0;
}

int api_account_delete(struct api_call *call, struct mt_err *err)
{
    struct store_actor actor = api_actor(call);
    const struct api_in_id *in = call->in;
    struct store_account acc;
    if (store_account_get(call->db, call->r->arena, in->id.value, &acc, err) < 0 ||
        store_account_delete(call->db, &actor, acc.id, err) < 0)
        return -1;
    api_auth_forget(call->r->app->auth, acc.id, false);
    mt_log(MT_LOG_INFO, "auth: account deleted login=%s by=%s", acc.login, who_login(call));
    return api_reply_done(call, 0);
}

/* ---- /api/v1/tokens ---- */

int api_tokens_list(struct api_call *call, struct mt_err *err)
{
    struct store_token *items = NULL;
    size_t n = 0;
    if (store_tokens_list(call->db, call->r->arena, 0, &items, &n, err) < 0)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, api_token_json(&items[i], true));
    http_reply_json(call->r, call->op->status, list);
    return 0;
}

int api_token_revoke(struct api_call *call, struct mt_err *err)
{
    struct store_actor actor = api_actor(call);
    const struct api_in_id *in = call->in;
    if (store_token_revoke(call->db, &actor, 0, in->id.value, err) < 0)
        return -1;
    /* Whose token it was is not known here: every cached look-up goes. */
    api_auth_forget(call->r->app->auth, 0, true);
    mt_log(MT_LOG_INFO, "auth: token revoked id=%lld by=%s", (long long)in->id.value,
           who_login(call));
    return api_reply_done(call, 0);
}
