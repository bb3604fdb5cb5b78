/* CORS for the HTTP core, answering exactly as the reference's middleware
 * (Starlette CORSMiddleware with the configured origins, credentials allowed,
 * all methods and all headers). Internal to src/api: server.c calls it for
 * every request that carries an Origin header. */
#ifndef MT_API_CORS_H
#define MT_API_CORS_H

#include <stdbool.h>

#include "api/http.h"
#include "core/config.h"

/* True for a preflight: OPTIONS with both Origin and
 * Access-Control-Request-Method. Such a request is answered by
 * cors_preflight before routing, whatever its path. */
bool cors_is_preflight(struct http_req *r);

/* Answers a preflight: 200 "OK" (text/plain) with the allow-* headers, or 400
 * "Disallowed CORS origin" (and/or "method") with the same headers. */
void cors_preflight(struct http_req *r, const struct mt_config *cfg);

/* Adds the response headers of an actual request with an Origin header to the
 * reply already built in r; does nothing without Origin. */
void cors_add_simple(struct http_req *r, const struct mt_config *cfg);

#endif
