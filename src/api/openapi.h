/* The OpenAPI document of the API as data, for api/openapi.c (which serves
 * it) and tests/unit/test_openapi.c (which checks it against the route
 * table). Internal to src/api. */
#ifndef MT_API_OPENAPI_H
#define MT_API_OPENAPI_H

#include <jansson.h>

/* A new OpenAPI 3.1 document describing every operation and schema; version
 * is the API version to report (NULL: "1.0.0"). The caller owns the
 * reference; NULL when memory ran out. */
json_t *api_openapi_doc(const char *version);

#endif
