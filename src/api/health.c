/* GET /health: the app-level liveness answer of the reference,
 * {"status":"healthy","version":...}, without touching the database (the
 * database check is GET /api/v1/health). While the server is still starting,
 * server.c answers 503 for it instead. */
#include "api/handlers.h"

void api_health(struct http_req *r)
{
    http_reply_json(r, 200,
                    json_pack("{s:s, s:s}", "status", "healthy", "version", r->app->cfg->version));
}
