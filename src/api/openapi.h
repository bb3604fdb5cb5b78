/* The OpenAPI document of the API as data, for api/openapi.c (which serves
 * it) and tests/unit/test_openapi.c (which checks it against the route
 * table). Internal to src/api. */
#ifndef MT_API_OPENAPI_H
#define MT_API_OPENAPI_H

#include <jansson.h>
#include <stdbool.h>

/* A new OpenAPI 3.1 document describing every operation and schema; version
 * is the API version to report (NULL: "1.0.0"). With auth (AUTH=on) it
 * also describes the access-control operations, each operation's
 * permission (x-permission) and the two security schemes; without, it is
 * the document of the open API, exactly as before access control existed.
 * The caller owns the reference; NULL when memory ran out. */
json_t *api_openapi_doc(const char *version, bool auth);

#endif
