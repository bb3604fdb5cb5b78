/* The web front end: GET/HEAD requests that no API route takes. By default
 * the UI embedded in the binary at build time (web/, by api/embed_web.py) is
 * served with its content type and a strong ETag computed at build time
 * (If-None-Match answers 304); with STATIC_DIR naming a directory (for
 * working on the UI without rebuilding) the files come from disk instead:
 * opened beneath the directory only (openat2 with RESOLVE_BENEATH, so `..`,
 * decoded dots and symlinks pointing out all fail; a realpath check where the
 * kernel lacks openat2), served from a memory map with their content type,
 * ETag and Last-Modified (If-None-Match and If-Modified-Since answer 304).
 * Either way a directory is served by its index.html, and any other unknown
 * non-API path by the root index.html (the single-page app's router takes it
 * from there). STATIC_DIR=none serves no UI at all; then, and always under
 * /api/, the answer is the reference's JSON 404. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api/handlers.h"
#include "api/web_embedded.h"
#include "core/log.h"

/* The directory, opened once and kept for the life of the process. */
static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;
static int dir_fd = -1;
static char *dir_real; /* realpath of the directory, for the fallback check */
static bool dir_tried;

static int static_dir(const char *path)
{
    pthread_mutex_lock(&dir_lock);
    if (!dir_tried) {
        dir_tried = true;
        dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
            mt_log(MT_LOG_WARN, "static: cannot open STATIC_DIR: %s", strerror(errno));
        else
            dir_real = realpath(path, NULL);
    }
    pthread_mutex_unlock(&dir_lock);
    return dir_fd;
}

/* Opens rel (no leading '/') beneath the directory; -1 when it is not there
 * or would leave it. */
static int open_beneath(int dfd, const char *rel)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS)
        return (int)fd;
    /* Kernels before 5.6: resolve, then require the result inside. */
    if (!dir_real)
        return -1;
    char *full = mt_xasprintf("%s/%s", dir_real, rel);
    char *real = realpath(full, NULL);
    free(full);
    if (!real)
        return -1;
    size_t n = strlen(dir_real);
    int out = -1;
    if (strncmp(real, dir_real, n) == 0 && (real[n] == '/' || real[n] == '\0'))
        out = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    free(real);
    return out;
}

/* Content types by extension, as Python's mimetypes gives them (text types
 * with charset=utf-8, as Starlette sends them); unknown: text/plain. */
static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"xml", "text/xml; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
};

static const char *content_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        for (size_t i = 0; i < MT_ARRAY_LEN(types); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "text/plain; charset=utf-8";
}

static void not_found(struct http_req *r)
{
    http_reply_detail(r, 404, "Not Found");
}

/* True when a comma-separated If-None-Match list holds etag (or "*"). */
static bool etag_matches(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        size_t len = strcspn(p, ",");
        size_t tlen = len;
        while (tlen && (p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
            tlen--;
        if ((tlen == 1 && p[0] == '*') || (tlen == elen && strncmp(p, etag, elen) == 0))
            return true;
        p += len;
    }
    return false;
}

/* Parses an HTTP date (RFC 1123 form); -1 when it is not one. */
static time_t http_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return (time_t)-1;
    return timegm(&tm);
}

/* A memory map that lives until the request's arena is freed. */
struct mapping {
    void *p;
    size_t n;
};

static void unmap(void *ctx)
{
    struct mapping *m = ctx;
    munmap(m->p, m->n);
}

/* The cache validators of a static answer (modified may be NULL: the
 * embedded files have no meaningful modification time). "no-cache" makes
 * browsers revalidate every time (a cheap 304), so a new version of the web
 * UI is seen at once after an upgrade while unchanged files are never sent
 * twice; the UI has no content-hashed file names that a long max-age would
 * need. */
static void add_validators(struct http_req *r, const char *etag, const char *modified)
{
    http_add_header(r, "ETag", etag);
    if (modified)
        http_add_header(r, "Last-Modified", modified);
    http_add_header(r, "Cache-Control", "no-cache");
}

/* Answers r with the open regular file fd (closed here). */
static void serve_file(struct http_req *r, int fd, const char *name)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        not_found(r);
        return;
    }
    long long mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    const char *etag = mt_arena_printf(r->arena, "\"%llx-%llx\"", mtime_ns, (long long)st.st_size);
    struct tm tm;
    gmtime_r(&st.st_mtim.tv_sec, &tm);
    char *modified = mt_arena_alloc(r->arena, 40);
    if (!etag || !modified) {
        close(fd);
        struct mt_err err;
        mt_fail(&err, MT_ELIMIT, "Request exceeds the server's memory limit");
        http_reply_err(r, &err);
        return;
    }
    strftime(modified, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);

    const char *inm = http_header(r, "If-None-Match");
    const char *ims = http_header(r, "If-Modified-Since");
    bool fresh = inm ? etag_matches(inm, etag)
                     : (ims && http_date(ims) != (time_t)-1 && http_date(ims) >= st.st_mtim.tv_sec);
    if (fresh) {
        close(fd);
        http_reply_empty(r, 304);
        r->content_type = NULL;
        add_validators(r, etag, modified);
        return;
    }

    const char *body = "";
    size_t len = (size_t)st.st_size;
    if (len > 0) {
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        struct mapping *m = mt_arena_alloc(r->arena, sizeof(*m));
        if (p == MAP_FAILED || !m || mt_arena_on_free(r->arena, unmap, m) < 0) {
            if (p != MAP_FAILED)
                munmap(p, len);
            close(fd);
            struct mt_err err;
            mt_fail(&err, MT_EINTERNAL, "static: cannot map a file");
            http_reply_err(r, &err);
            return;
        }
        m->p = p;
        m->n = len;
        body = p;
    }
    close(fd);
    http_reply_raw(r, 200, content_type(name), body, len);
    add_validators(r, etag, modified);
}

/* Only plain segments: no "..", no ".", no empty name at the end of a file. */
static bool safe_path(const char *path)
{
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (memchr(p, '\\', len))
            return false;
        p += len;
    }
    return true;
}

/* Serves path (safe_path holds) from the directory dir. */
static void serve_from_dir(struct http_req *r, const char *dir, const char *path)
{
    int dfd = static_dir(dir);
    if (dfd < 0) {
        not_found(r);
        return;
    }
    const char *rel = path;
    while (*rel == '/')
        rel++;
    int fd = *rel ? open_beneath(dfd, rel) : open_beneath(dfd, ".");
    const char *name = rel;
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            /* A directory is served by its index.html. */
            const char *index = mt_arena_printf(r->arena, "%s%sindex.html", rel,
                                                *rel && rel[strlen(rel) - 1] != '/' ? "/" : "");
            close(fd);
            fd = index ? open_beneath(dfd, index) : -1;
            name = "index.html";
        }
    }
    if (fd < 0) {
        /* The single-page app's own routes. */
        fd = open_beneath(dfd, "index.html");
        name = "index.html";
    }
    if (fd < 0) {
        not_found(r);
        return;
    }
    serve_file(r, fd, name);
}

static int cmp_web_file(const void *key, const void *elem)
{
    const struct api_web_file *f = elem;
    return strcmp(key, f->path);
}

static const struct api_web_file *web_find(const char *name)
{
    return bsearch(name, api_web_files, api_web_n_files, sizeof(api_web_files[0]), cmp_web_file);
}

/* Serves path (safe_path holds) from the UI embedded in the binary: the file
 * itself, a directory's index.html, or the root index.html. */
static void serve_embedded(struct http_req *r, const char *path)
{
    const char *rel = path;
    while (*rel == '/')
        rel++;
    size_t n = strlen(rel);
    const struct api_web_file *f = n && rel[n - 1] != '/' ? web_find(rel) : NULL;
    if (!f && n) {
        const char *index =
            mt_arena_printf(r->arena, "%s%sindex.html", rel, rel[n - 1] != '/' ? "/" : "");
        if (!index) {
            struct mt_err err;
            mt_fail(&err, MT_ELIMIT, "Request exceeds the server's memory limit");
            http_reply_err(r, &err);
            return;
        }
        f = web_find(index);
    }
    if (!f)
        f = web_find("index.html");
    /* embed_web.py refuses to build without an index.html. */
    assert(f);

    const char *inm = http_header(r, "If-None-Match");
    if (inm && etag_matches(inm, f->etag)) {
        http_reply_empty(r, 304);
        r->content_type = NULL;
        add_validators(r, f->etag, NULL);
        return;
    }
    http_reply_raw(r, 200, content_type(f->path), f->data, f->len);
    add_validators(r, f->etag, NULL);
}

void api_static(struct http_req *r)
{
    const char *dir =
        r->app && r->app->cfg && r->app->cfg->static_dir ? r->app->cfg->static_dir : "";
    const char *path = r->path ? r->path : "/";
    /* The router keeps /api/ away already; this stays true on its own. */
    bool api = strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
    if (api || strcmp(dir, "none") == 0 || !safe_path(path)) {
        not_found(r);
        return;
    }
    if (*dir)
        serve_from_dir(r, dir, path);
    else
        serve_embedded(r, path);
}
