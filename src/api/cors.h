/* CORS for the HTTP core: none unless CORS_ORIGINS lists origins; "*"
 * without credentials; credentials only for origins listed explicitly (see
 * cors.c). Internal to src/api: server.c calls it for every request that
 * carries an Origin header. */
#ifndef MT_API_CORS_H
#define MT_API_CORS_H

#include <stdbool.h>

#include "api/http.h"
#include "core/config.h"

/* True for a preflight: OPTIONS with both Origin and
 * Access-Control-Request-Method. Such a request is answered by
 * cors_preflight before routing, whatever its path. */
bool cors_is_preflight(struct http_req *r);

/* True when CORS_ORIGINS lists anything: otherwise no CORS header is sent
 * and a preflight is an ordinary OPTIONS request. */
bool cors_enabled(const struct mt_config *cfg);

/* Answers a preflight: 200 "OK" (text/plain) with the allow-* headers, or 400
 * "Disallowed CORS origin" (and/or "method") with the same headers. */
void cors_preflight(struct http_req *r, const struct mt_config *cfg);

/* Adds the response headers of an actual request with an Origin header to the
 * reply already built in r; does nothing without Origin. */
void cors_add_simple(struct http_req *r, const struct mt_config *cfg);

#endif
