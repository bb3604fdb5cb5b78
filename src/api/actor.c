/* The actor of a request (see actor.h). Access control is built in
 * parallel (issue 14); its request authentication attaches the account to
 * the request, and these functions are where the dosing code reads it.
 * Until the two are merged every request is anonymous, which is exactly
 * what AUTH=off means. */
#include "api/actor.h"

#include <string.h>
#include <strings.h>

struct store_actor api_actor(const struct api_call *call)
{
    (void)call;
    /* NEEDSWORK: with access control merged (branch wip-auth-api, whose
     * runner puts the principal in call->who), return the signed-in
     * account and keep anonymous for AUTH=off:
     *     if (call->who && call->who->signed_in)
     *         return (struct store_actor){call->who->account.id, call->who->account.login};
     */
    return (struct store_actor){.id = 0, .name = STORE_ANONYMOUS_NAME};
}

bool api_may_override(const struct api_call *call)
{
    /* NEEDSWORK: with access control merged, true only for the roles
     * carer and admin, and never for a read-only token; AUTH=off: true:
     *     const struct api_principal *w = call->who;
     *     return !w || !w->signed_in ||
     *            (w->account.role >= STORE_ROLE_CARER && w->scope >= STORE_SCOPE_WRITE);
     */
    (void)call;
    return true;
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
