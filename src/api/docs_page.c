/* GET /docs (and /redoc): a self-contained HTML page about the API that
 * points to its machine-readable description, /openapi.json (api/openapi.c).
 * It loads nothing from elsewhere. */
#include "api/handlers.h"

static const char docs_html[] =
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
    "code{background:#f4f4f4;padding:0 .25rem}small{color:#666}\n"
    "details pre{background:#f7f7f7;padding:.5rem;overflow:auto}\n"
    "</style></head><body>\n"
    "<h1>MediTrack API</h1>\n"
    "<p>The machine-readable description is <a href=\"/openapi.json\">/openapi.json</a> "
    "(OpenAPI 3.1).</p>\n"
    "<div id=\"ops\">Loading&hellip;</div>\n"
    "<script>\n"
    "fetch('/openapi.json').then(function(r){return r.json();}).then(function(doc){\n"
    "  var root=document.getElementById('ops');root.textContent='';\n"
    "  var byTag={};\n"
    "  Object.keys(doc.paths).forEach(function(p){\n"
    "    Object.keys(doc.paths[p]).forEach(function(m){\n"
    "      var op=doc.paths[p][m];var t=(op.tags||['other'])[0];\n"
    "      (byTag[t]=byTag[t]||[]).push({m:m,p:p,op:op});});});\n"
    "  Object.keys(byTag).forEach(function(t){\n"
    "    var h=document.createElement('h2');h.textContent=t;root.appendChild(h);\n"
    "    byTag[t].forEach(function(e){\n"
    "      var d=document.createElement('div');d.className='op';\n"
    "      var m=document.createElement('span');m.className='m '+e.m;m.textContent=e.m;\n"
    "      var c=document.createElement('code');c.textContent=e.p;\n"
    "      var s=document.createElement('small');s.textContent=' '+(e.op.summary||'');\n"
    "      var det=document.createElement('details');var sum=document.createElement('summary');\n"
    "      sum.textContent='details';var pre=document.createElement('pre');\n"
    "      pre.textContent=JSON.stringify(e.op,null,2);det.appendChild(sum);det.appendChild(pre);\n"
    "      d.appendChild(m);d.appendChild(c);d.appendChild(s);d.appendChild(det);\n"
    "      root.appendChild(d);});});\n"
    "}).catch(function(e){document.getElementById('ops').textContent="
    "'Could not load /openapi.json: '+e;});\n"
    "</script>\n"
    "</body></html>\n";

void api_docs(struct http_req *r)
{
    /* The page is static HTML with one inline style sheet and no scripts. */
    http_add_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                    "frame-ancestors 'none'");
    http_reply_raw(r, 200, "text/html; charset=utf-8", docs_html, sizeof(docs_html) - 1);
}
