/* The runner of API operations (see operation.h): it takes a routed request
 * through access control (api/auth.h), validation, the heavy-work limiter and the database pool to
 * the operation's handler, and it is the one place where an operation's failures become replies: a
 * failed validation (422 / 400 / 413), a handler's error (through http_reply_err, with the
 * reference's 400 for a refused business rule), a stream cut short, and the 503s the server words
 * itself. Handlers never answer an error on their own. */
#include "api/operation.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/actor.h"
#include "api/auth.h"
#include "api/heavy.h"
#include "api/validate.h"
#include "core/log.h"
#include "db/db.h"
#include "store/dosing.h"

/* validate.c's 413 text, serialised in advance: a body whose parsed form
 * filled the request's memory leaves no memory to build the reply in. */
static const char body_too_large[] = "{\"detail\":\"Request body is too large to process\"}";

static void request_of(struct api_request *q, struct http_req *r)
{
    q->arena = r->arena;
    q->params = r->params;
    q->n_params = r->n_params;
    q->query = r->query;
    q->n_query = r->n_query;
    q->content_type = http_header(r, "Content-Type");
    q->body = r->body;
    q->body_len = r->body ? r->body_len : 0;
}

/* A request that failed validation; releases v. */
static void answer_invalid(struct http_req *r, struct api_vctx *v)
{
    if (v->status == 422)
        http_reply_json(r, 422, api_vctx_take_body(v));
    else if (v->status == 413)
        http_reply_raw(r, 413, "application/json", body_too_large, sizeof(body_too_large) - 1);
    else
        http_reply_detail(r, v->status ? v->status : 400, v->detail ? v->detail : "Bad Request");
    api_vctx_release(v);
}

/* A handler's failure, or the runner's own. */
static void answer_failure(struct http_req *r, const struct mt_err *err)
{
    const struct api_op *op = r->op;
    /* Once a streamed reply has begun its status has left: the stream is
     * cut short (http_stream_abort answers normally when nothing left). */
    if (r->streaming) {
        http_stream_abort(r, err);
        return;
    }
    /* The reference answers a refused business rule (the last person, the
     * daily maximum) with 400 and its detail. */
    if (err->code == MT_ECONFLICT) {
        http_reply_detail(r, op && op->conflict ? op->conflict : 400, err->msg);
        return;
    }
    http_reply_err(r, err);
}

int api_reply_done(struct api_call *call, int rc)
{
    if (rc == 0)
        http_reply_empty(call->r, call->op->status);
    return rc;
}

int api_reply_unavailable(struct http_req *r, const char *detail, int retry_s)
{
    if (retry_s > 0) {
        const char *after = mt_arena_printf(r->arena, "%d", retry_s);
        http_add_header(r, "Retry-After", after ? after : "1");
    }
    http_reply_detail(r, 503, detail);
    return 0;
}

/* ---- idempotency keys (issue 15) ----------------------------------------------------------- */

/* The request's Idempotency-Key: 1 to 255 visible ASCII characters, bare
 * or as a quoted string (the header is a structured-field string in the
 * IETF draft). NULL when there is none; "" when it is malformed. */
static const char *idem_key(struct http_req *r)
{
    const char *v = http_header(r, "Idempotency-Key");
    if (!v)
        return NULL;
    size_t len = strlen(v);
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        v++;
        len -= 2;
    }
    if (len == 0 || len > 255)
        return "";
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '"')
            return "";
    const char *key = mt_arena_strndup(r->arena, v, len);
    return key ? key : "";
}

/* The hex SHA-256 of what makes the request this request: method, path,
 * query and body. */
static void fingerprint(struct http_req *r, char out[65])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    const char *parts[] = {r->method, "\n", r->path, "\n"};
    for (size_t i = 0; i < MT_ARRAY_LEN(parts); i++)
        crypto_hash_sha256_update(&st, (const unsigned char *)parts[i], strlen(parts[i]));
    for (size_t i = 0; i < r->n_query; i++) {
        const char *name = r->query[i].name ? r->query[i].name : "";
        const char *value = r->query[i].value ? r->query[i].value : "";
        crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name) + 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)value, strlen(value) + 1);
    }
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    if (r->body)
        crypto_hash_sha256_update(&st, (const unsigned char *)r->body, r->body_len);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, 65, digest, sizeof(digest));
}

struct idem_run {
    struct api_call *call;
    struct store_idem k;
    bool found, same;
    int status;
    const char *body;
    size_t len;
};

/* In one transaction: the key is claimed (or its first response found),
 * the handler does its work, and its response is stored with the key, so
 * that the work and the response commit together or not at all. */
static int idem_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct idem_run *x = vctx;
    struct http_req *r = x->call->r;
    if (store_idem_claim(c, r->arena, &x->k, &x->found, &x->same, &x->status, &x->body, &x->len,
                         err) < 0)
        return -1;
    if (x->found)
        return 0;
    if (x->call->op->handler(x->call, err) < 0)
        return -1;
    if (r->streaming)
        return mt_fail(err, MT_EINTERNAL, "a streamed reply cannot be kept for an idempotency key");
    /* A server's own refusal (503: busy, out of memory) is not the
     * request's answer: a retry should try again. */
    if (r->status >= 500)
        return store_idem_forget(c, &x->k, err);
    return store_idem_save(c, &x->k, r->status, r->has_body ? r->resp_body : NULL,
                           r->has_body ? r->resp_len : 0, err);
}

/* A POST with an Idempotency-Key: the first response for the key (per
 * owner, for 24 hours), whichever process gave it. */
static int run_idempotent(struct api_call *call, const char *key, struct mt_err *err)
{
    struct http_req *r = call->r;
    if (!key[0]) {
        http_reply_detail(r, 400,
                          "Invalid Idempotency-Key header: 1 to 255 visible ASCII characters");
        return 0;
    }
    char fp[65];
    fingerprint(r, fp);
    struct idem_run x = {.call = call,
                         .k = {.owner = api_idem_owner(call), .key = key, .fingerprint = fp}};
    if (!x.k.owner)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    if (db_tx_run(call->db, true, idem_tx, &x, err) < 0)
        return -1;
    if (!x.found)
        return 0;
    if (!x.same) {
        http_reply_detail(r, 422, "Idempotency-Key was already used for a different request");
        return 0;
    }
    http_add_header(r, "Idempotent-Replayed", "true");
    if (x.len == 0)
        http_reply_empty(r, x.status);
    else
        http_reply_raw(r, x.status, "application/json", x.body, x.len);
    return 0;
}

static int run_handler(struct http_req *r, const struct api_op *op, const void *in,
                       const struct api_principal *who, struct mt_err *err)
{
    struct api_call call = {.r = r, .op = op, .in = in, .db = NULL, .who = who};
    if (!op->no_db) {
        call.db = http_db(r, err);
        if (!call.db)
            return -1;
    }
    const char *key = !op->no_db && strcmp(r->method, "POST") == 0 ? idem_key(r) : NULL;
    if (key)
        return run_idempotent(&call, key, err);
    return op->handler(&call, err);
}

/* Heavy operations wait for a turn before they take a connection, so that
 * queued reports hold none. */
static int run_heavy(struct http_req *r, const struct api_op *op, const void *in,
                     const struct api_principal *who, struct mt_err *err)
{
    /* A connection taken to authenticate is not held while waiting. */
    http_db_release(r);
    int retry_s = 1;
    if (api_heavy_begin(r->app ? r->app->cfg : NULL, &retry_s, err) < 0) {
        mt_log(MT_LOG_INFO, "report refused: %s", err->msg);
        return api_reply_unavailable(r, "The server is busy with other reports: try again shortly",
                                     retry_s);
    }
    int rc = run_handler(r, op, in, who, err);
    api_heavy_end();
    return rc;
}

/* Access control before anything else looks at the request (docs/auth.md):
 * who asks, whether the operation's permission lets them, and the CSRF
 * rule. false when r was answered (401, 403, or the database's failure). */
static bool authorize(struct http_req *r, const struct api_op *op, struct api_principal *who)
{
    struct mt_err err;
    mt_err_clear(&err);
    if (op->perm == API_PERM_UNSET) {
        /* tests/unit/test_operations.c keeps this from happening. */
        mt_fail(&err, MT_EINTERNAL, "operation %s declares no permission", op->op_id);
        answer_failure(r, &err);
        return false;
    }
    bool open = !r->app || !r->app->cfg || !r->app->cfg->auth;
    enum api_authn res = API_AUTHN_NONE;
    memset(who, 0, sizeof(*who));
    if (open || op->perm != API_PUBLIC || op->identify) {
        if (api_authenticate(r, who, &res, &err) < 0) {
            if (op->perm != API_PUBLIC) {
                answer_failure(r, &err);
                return false;
            }
            /* A public answer does not wait for the database's verdict. */
            mt_log(MT_LOG_WARN, "auth: credentials not checked: %s", err.msg);
            memset(who, 0, sizeof(*who));
            res = API_AUTHN_NONE;
        }
    }
    if (res != API_AUTHN_OK && op->perm != API_PUBLIC) {
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"meditrack\"");
        http_reply_detail(r, 401, "Not authenticated");
        return false;
    }
    /* A read token reads, whatever the operation's permission allows its
     * account: no change at all, not even to the account itself (sessions,
     * tokens, password) or its own channels. Public operations stay open. */
    bool read_token_writes = who->method == API_AUTH_TOKEN && who->scope == STORE_SCOPE_READ &&
                             op->perm != API_PUBLIC && strcmp(r->method, "GET") != 0 &&
                             strcmp(r->method, "HEAD") != 0;
    if (!api_perm_allows(who, op->perm) || read_token_writes) {
        http_reply_detail(r, 403, "Not enough permissions");
        return false;
    }
    if (!api_csrf_ok(r, who)) {
        mt_log(MT_LOG_INFO, "auth: cross-site request refused login=%s addr=%s",
               who->account.login ? who->account.login : "-", api_client_addr(r));
        http_reply_detail(r, 403, "Cross-site request refused");
        return false;
    }
    return true;
}

void api_op_run(struct http_req *r)
{
    const struct api_op *op = r->op;
    struct mt_err err;
    mt_err_clear(&err);
    if (!op) {
        mt_fail(&err, MT_EINTERNAL, "route %s serves no operation", r->route ? r->route : "?");
        answer_failure(r, &err);
        return;
    }
    struct api_principal who;
    if (!authorize(r, op, &who))
        return;
    void *in = mt_arena_alloc(r->arena, op->in_size ? op->in_size : 1);
    if (!in) {
        mt_fail(&err, MT_ELIMIT, "Request exceeds the server's memory limit");
        answer_failure(r, &err);
        return;
    }
    struct api_request q;
    request_of(&q, r);
    struct api_vctx v;
    api_vctx_init(&v);
    if (api_validate(op, &q, in, &v) < 0) {
        answer_invalid(r, &v);
        return;
    }
    api_vctx_release(&v);
    int rc = op->heavy ? run_heavy(r, op, in, &who, &err) : run_handler(r, op, in, &who, &err);
    if (rc < 0)
        answer_failure(r, &err);
}
