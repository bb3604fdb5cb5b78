/* The request handlers of the API, one block per src/api/<resource>.c file.
 * routes.c maps methods and paths to them; nothing else calls them. */
#ifndef MT_API_HANDLERS_H
#define MT_API_HANDLERS_H

#include "api/http.h"

/* health.c */
void api_health(struct http_req *r);

#endif
