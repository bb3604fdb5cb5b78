/* Access control in the HTTP API (docs/auth.md): who asks (a trusted
 * proxy's header, a bearer API token or a session cookie, looked up
 * through a one-second in-memory cache), what each permission lets them do,
 * which persons' data they see, the CSRF rule for cookie-authenticated
 * writes, and the session cookie. The operation runner (api/operation.c)
 * authenticates every request and checks the operation's permission;
 * handlers read the result from call->who and scope their data with the
 * helpers below. The store of accounts is store/auth.h. Internal to src/api. */
#ifndef MT_API_AUTH_H
#define MT_API_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "api/operation.h"
#include "store/auth.h"

/* The session cookie's name (docs/auth.md). */
#define API_SESSION_COOKIE "meditrack_session"
/* The header the web UI sets on every write (the CSRF rule's custom header). */
#define API_CSRF_HEADER "X-Requested-With"
#define API_CSRF_VALUE "MediTrack"

enum api_auth_method {
    API_AUTH_NONE,    /* nobody signed in */
    API_AUTH_OPEN,    /* AUTH=off: the open API */
    API_AUTH_SESSION, /* the session cookie */
    API_AUTH_TOKEN,   /* Authorization: Bearer mtt_... */
    API_AUTH_PROXY,   /* AUTH_PROXY_HEADER from a trusted proxy */
};

/* Who asks. Strings and arrays live in the request's arena. */
struct api_principal {
    enum api_auth_method method;
    bool signed_in;               /* an account (session, token or proxy) */
    struct store_account account; /* when signed_in */
    enum store_scope scope;       /* a token's scope; STORE_SCOPE_ADMIN (no cap) otherwise */
    int64_t session_id;           /* API_AUTH_SESSION */
    int64_t token_id;             /* API_AUTH_TOKEN */
    bool token_has_person;        /* API_AUTH_TOKEN restricted to one person */
    int64_t token_person_id;
    struct store_person_filter see; /* the persons whose data it sees */
};

/* The process-wide state of access control: the trusted proxies, parsed,
 * and the cache of token, session and proxy look-ups. Owned by cli/serve.c
 * through struct app. */
struct api_auth;

/* Parses cfg's TRUSTED_PROXIES (already checked by the configuration) and
 * sets up the cache. Free with api_auth_free (NULL is accepted). */
int api_auth_new(const struct mt_config *cfg, struct api_auth **out, struct mt_err *err);
void api_auth_free(struct api_auth *auth);

/* The start-up duties, once the database is migrated: with AUTH=off a
 * warning when HOST is not a loopback address; with AUTH=on the sweep of
 * expired rows and, when no account exists, a new setup token, logged (the
 * one secret the server ever logs, on purpose). Failures are logged, never
 * fatal: an operator can always run `meditrack user add`. */
void api_auth_start(struct app *app);

/* The outcome of looking at a request's credentials. */
enum api_authn {
    API_AUTHN_OK,   /* who is signed in */
    API_AUTHN_NONE, /* no credentials were given */
    API_AUTHN_BAD,  /* credentials were given and refused (unknown, expired, revoked,
                     * disabled, malformed) */
};

/* Fills who from r's credentials, in the order of the design: a trusted
 * proxy's header, then a bearer token (a bad one is refused even when a
 * cookie is there too), then the session cookie. With AUTH=off who is the
 * open principal and the answer API_AUTHN_OK. Returns the outcome, or -1
 * with err filled when the database could not be asked. May take r's
 * database connection (http_db). */
int api_authenticate(struct http_req *r, struct api_principal *who, enum api_authn *out,
                     struct mt_err *err);

/* Whether who's role and token scope allow p. */
bool api_perm_allows(const struct api_principal *who, enum api_perm p);
/* The permission's name: "PUBLIC", "SELF", ... ("UNSET" for none). */
const char *api_perm_name(enum api_perm p);

/* The CSRF rule: an unsafe method authenticated by the session cookie needs
 * the custom header and a same-origin Origin (or Referer). true when r
 * passes (or the rule does not apply). */
bool api_csrf_ok(struct http_req *r, const struct api_principal *who);

/* Whether addr (a peer address) is one of TRUSTED_PROXIES; false without
 * auth. */
bool api_auth_trusts(const struct api_auth *auth, const char *addr);

/* The client's address for throttling and logs: the peer, or behind a
 * trusted proxy the rightmost X-Forwarded-For address that is not one. In
 * r's arena (or r->peer). */
const char *api_client_addr(struct http_req *r);
/* Whether the request reached the client's proxy over HTTPS (or came over
 * TLS itself): the cookie is then Secure and the origin https. */
bool api_request_secure(struct http_req *r);

/* ---- person scoping, for handlers ---- */

/* The filter for store lists: what who sees. Borrowed from who. */
const struct store_person_filter *api_who_sees(const struct api_principal *who);
/* 0 when who sees person id, else MT_ENOTFOUND "Person not found" (the
 * reference's answer for a person that does not exist, on purpose). */
int api_who_person(const struct api_principal *who, int64_t id, struct mt_err *err);
/* 0 when the medication exists and who sees its person, else MT_ENOTFOUND
 * "Medication not found". Asks the database only when who does not see
 * everyone. */
int api_who_med(struct api_call *call, int64_t id, struct mt_err *err);
/* The same for a dose ("Dose not found"); a dose that names no person is
 * seen only by those who see everyone. */
int api_who_dose(struct api_call *call, int64_t id, struct mt_err *err);

/* ---- sessions and the cache, for the auth endpoints ---- */

/* Starts a session for account (its secret goes into the Set-Cookie header
 * of r only) and fills *id. */
int api_session_begin(struct api_call *call, const struct store_account *account, int64_t *id,
                      struct mt_err *err);
/* Adds the Set-Cookie header that clears the session cookie. */
void api_session_clear_cookie(struct http_req *r);
/* The hash of the request's session cookie (a string of 64 hex digits in
 * r's arena), NULL when there is none. */
const char *api_session_cookie_hash(struct http_req *r);
/* Drops every cached look-up of the account (all: every entry), so that a
 * revocation, a logout or a changed account takes effect at once in this
 * process (other replicas see it when their entry expires, within a
 * second). */
void api_auth_forget(struct api_auth *auth, int64_t account_id, bool all);

/* ---- replies of the access-control API (api/accounts.c) ---- */

/* The Account object of docs/auth.md. New reference. */
json_t *api_account_json(const struct store_account *a);
/* A token as its owner sees it; with_owner adds account_id and username
 * (the administrators' list). New reference. */
json_t *api_token_json(const struct store_token *t, bool with_owner);
/* A timestamp as the API writes it: null, ISO 8601 with Z, or the stored
 * text when it could not be read. New reference. */
json_t *api_time_json(const struct store_time *t);

/* Answers a refusal that has no mt_code of its own (401 for a failed
 * sign-in, 429 while throttled): {"detail": detail}, with Retry-After when
 * retry_s > 0. Returns 0: r is answered (a handler may end with it). */
int api_reply_refusal(struct http_req *r, int status, const char *detail, int64_t retry_s);

/* A login as it may appear in the log: the text when it is a valid login
 * (lower-cased), else "(invalid)", so that no client text can forge log
 * lines. In r's arena. */
const char *api_log_login(struct http_req *r, const char *login);

#endif
