/* The actor of a request (see actor.h): the account access control
 * attached to the request (api/auth.h, call->who), or anonymous, which is
 * what every request is with AUTH=off. */
#include "api/actor.h"

#include <string.h>
#include <strings.h>

#include "api/auth.h"

struct store_actor api_actor(const struct api_call *call)
{
    if (call->who && call->who->signed_in)
        return (struct store_actor){.id = call->who->account.id,
                                    .name = call->who->account.login};
    return (struct store_actor){.id = 0, .name = STORE_ANONYMOUS_NAME};
}

bool api_may_override(const struct api_call *call)
{
    /* Carers and admins, never through a read-only token; the recording
     * operations already require RECORD, which says the same (AUTH=off:
     * everyone). */
    return api_perm_allows(call->who, API_RECORD);
}

const char *api_idem_owner(const struct api_call *call)
{
    struct store_actor a = api_actor(call);
    if (a.id == 0)
        return STORE_ANONYMOUS_NAME;
    return mt_arena_printf(call->r->arena, "account:%lld", (long long)a.id);
}

bool api_extended(struct http_req *r)
{
    const char *v = http_header(r, API_FIELDS_HEADER);
    if (!v)
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(API_FIELDS_EXTENDED);
    if (strncasecmp(v, API_FIELDS_EXTENDED, n) != 0)
        return false;
    for (v += n; *v; v++)
        if (*v != ' ' && *v != '\t')
            return false;
    return true;
}
