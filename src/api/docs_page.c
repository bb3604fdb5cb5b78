/* GET /docs (and /redoc): the API's operations as a static HTML page,
 * written once from the operation table (api/operations.c): for each
 * operation, grouped by tag, its method, path, summary, parameters, body
 * and statuses, beside a link to the machine-readable /openapi.json. The
 * page has no scripts (its Content-Security-Policy allows none) and loads
 * nothing from elsewhere. */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "core/buf.h"

static const char page_head[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>MediTrack API</title>\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;"
    "color:#222}\n"
    "h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}\n"
    ".op{border:1px solid #ddd;border-radius:6px;margin:.5rem 0;padding:.5rem .75rem}\n"
    ".m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}\n"
    ".get{color:#1769aa}.post{color:#2e7d32}.put{color:#b26a00}.delete{color:#c62828}\n"
    "code{background:#f4f4f4;padding:0 .25rem}small{color:#666}ul{margin:.25rem 0}\n"
    "</style></head><body>\n"
    "<h1>MediTrack API</h1>\n"
    "<p>The machine-readable description is <a href=\"/openapi.json\">/openapi.json</a> "
    "(OpenAPI 3.1). Timestamps are UTC with a Z designator; a day is the local day of "
    "<code>timezone_offset</code> (JavaScript sign). Collection paths also answer without "
    "their trailing slash.</p>\n";

/* Text as HTML: the five characters with a meaning escaped. */
static void put_text(struct mt_buf *b, const char *s)
{
    static const char specials[] = "&<>\"'";
    static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    for (; *s; s++) {
        const char *hit = strchr(specials, *s);
        if (hit)
            mt_buf_adds(b, entities[hit - specials]);
        else
            mt_buf_addc(b, *s);
    }
}

static void put_param(struct mt_buf *b, const struct api_param *p)
{
    static const char *const where[] = {
        [API_PATH] = "path", [API_QUERY] = "query", [API_BODY] = "body"};
    mt_buf_adds(b, "<li><code>");
    put_text(b, p->name);
    mt_buf_addf(b, "</code> (%s%s)", where[p->where],
                p->where == API_PATH || p->required ? ", required" : "");
    if (p->doc) {
        mt_buf_adds(b, ": ");
        put_text(b, p->doc);
    }
    mt_buf_adds(b, "</li>\n");
}

static void put_operation(struct mt_buf *b, const struct http_route *rt, bool auth)
{
    const struct api_op *op = rt->op;
    char method[8];
    size_t k = 0;
    for (; rt->method[k] && k + 1 < sizeof(method); k++)
        method[k] = (char)tolower((unsigned char)rt->method[k]);
    method[k] = '\0';
    mt_buf_addf(b, "<div class=\"op\"><span class=\"m %s\">%s</span> <code>", method, method);
    put_text(b, rt->pattern);
    mt_buf_adds(b, "</code> <small>");
    put_text(b, op->summary);
    mt_buf_adds(b, "</small>\n<ul>\n");
    for (const struct api_param *p = op->params; p->name; p++)
        put_param(b, p);
    if (auth)
        mt_buf_addf(b, "<li>permission %s</li>\n", api_perm_name(op->perm));
    mt_buf_addf(b, "<li>answers %d", op->status);
    if (op->errors && op->errors[0]) {
        mt_buf_adds(b, "; errors ");
        put_text(b, op->errors);
    }
    mt_buf_adds(b, op->params[0].name ? ", 422</li>\n</ul></div>\n" : "</li>\n</ul></div>\n");
}

static struct mt_buf page;
static bool page_built;
static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether the page describes route i: with AUTH=off (auth false) the
 * access-control operations do not exist. */
static bool described(size_t i, bool auth)
{
    const struct api_op *op = api_routes[i].op;
    return op && (auth || !op->auth_api);
}

/* The page, built once and kept for the life of the process; with auth it
 * also names each operation's permission. */
static void build_page(bool auth)
{
    mt_buf_init(&page, 0);
    mt_buf_adds(&page, page_head);
    /* One section per tag, in the order the table first names it. */
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct api_op *op = api_routes[i].op;
        bool first = described(i, auth);
        for (size_t j = 0; first && j < i; j++)
            if (described(j, auth) && strcmp(api_routes[j].op->tag, op->tag) == 0)
                first = false;
        if (!first)
            continue;
        mt_buf_adds(&page, "<h2>");
        put_text(&page, op->tag);
        mt_buf_adds(&page, "</h2>\n");
        for (size_t j = i; j < api_n_routes; j++)
            if (described(j, auth) && strcmp(api_routes[j].op->tag, op->tag) == 0)
                put_operation(&page, &api_routes[j], auth);
    }
    mt_buf_adds(&page, "</body></html>\n");
}

void api_docs(struct http_req *r)
{
    pthread_mutex_lock(&page_lock);
    if (!page_built) {
        build_page(r->app && r->app->cfg && r->app->cfg->auth);
        page_built = true;
    }
    pthread_mutex_unlock(&page_lock);
    /* The page is static HTML with one inline style sheet and no scripts. */
    http_add_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                    "frame-ancestors 'none'");
    http_reply_raw(r, 200, "text/html; charset=utf-8", page.data, page.len);
}
