/* Who is acting on a request, and what they may do beyond the operation's
 * own permission: the one place the dosing code asks (issue 15). Access
 * control (issue 14) attaches the signed-in account or token to the
 * request; until that is wired here, and whenever AUTH=off, the actor is
 * anonymous and may override a dosing rule, as the reference let anyone do
 * anything. Also whether a client asked for the extended JSON fields.
 * Internal to src/api. */
#ifndef MT_API_ACTOR_H
#define MT_API_ACTOR_H

#include <stdbool.h>

#include "api/operation.h"
#include "store/store.h"

/* The account (id, login) acting on the request, or anonymous (id 0,
 * "anonymous") when nobody signed in is the right answer: AUTH=off. The
 * name lives as long as the request. */
struct store_actor api_actor(const struct api_call *call);

/* Whether the caller may record a dose despite a dosing rule: carers and
 * admins may, viewers and read-only tokens may not. With AUTH=off, anyone. */
bool api_may_override(const struct api_call *call);

/* The owner of the request's idempotency keys: "anonymous", or
 * "account:<id>". In the request's arena (NULL when it is full). */
const char *api_idem_owner(const struct api_call *call);

/* The request header a client sends to get the dosing fields in the
 * reference's JSON shapes (medications, doses, the daily summary,
 * refusals); without it those shapes stay exactly the reference's. */
#define API_FIELDS_HEADER "X-MediTrack-Fields"
#define API_FIELDS_EXTENDED "extended"

/* True when the request carries API_FIELDS_HEADER: extended. */
bool api_extended(struct http_req *r);

#endif
