/* The web UI as embedded in the binary at build time: the table that
 * src/api/embed_web.py generates from web/ (web_embedded.c in the build
 * directory) and api/static.c serves when STATIC_DIR is empty. */
#ifndef MT_API_WEB_EMBEDDED_H
#define MT_API_WEB_EMBEDDED_H

#include <stddef.h>

/* One file of web/. Everything is static, read-only data of the program. */
struct api_web_file {
    const char *path;          /* below web/, without a leading '/': "icons/icon.svg" */
    const unsigned char *data; /* the file's bytes (followed by a NUL not counted in len) */
    size_t len;
    const char *etag; /* strong, quoted: "\"<128 bits of SHA-256 in hex>\"" */
};

/* Sorted by path in strcmp order; always holds "index.html". */
extern const struct api_web_file api_web_files[];
extern const size_t api_web_n_files;

#endif
