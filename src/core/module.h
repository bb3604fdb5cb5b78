/* Loadable modules: the parts of meditrack that need large libraries (the PDF
 * form with cairo and pango, the PostgreSQL driver with libpq, the MariaDB
 * driver with libmariadb) are shared objects that the binary opens on first
 * use, so that a process which never needs them never loads, relocates and
 * initialises those libraries. A module calls back into the binary (core,
 * db helpers), which exports its symbols for that. Owner: core. */
#ifndef MT_CORE_MODULE_H
#define MT_CORE_MODULE_H

#include <stddef.h>

#include "core/err.h"

/* Every module defines this symbol as MT_VERSION (src/core/module_tag.c); a
 * module of another version is refused rather than trusted with our structs. */
#define MT_MODULE_VERSION_SYMBOL "mt_module_version"
extern const char mt_module_version[]; /* defined in modules only */

/* Returns the address of the exported `symbol` of module `file` (a file name
 * such as "meditrack-pdf.so", no directory). The module is looked for, in
 * order, in the directory of the running executable (its real path, from
 * /proc/self/exe), in <its parent>/lib/meditrack, in <its
 * parent>/<libdir>/meditrack (libdir as configured, e.g.
 * lib/x86_64-linux-gnu: a moved install tree), and in the directory chosen
 * at build time (MT_MODULE_DIR: <prefix>/<libdir>/meditrack).
 * It is opened with RTLD_NOW, so an unresolved symbol fails here and not in
 * the middle of a request, and it stays loaded for the life of the process.
 * The result points into the module (static storage).
 *
 * Thread-safe, but it opens the file on every call: callers keep the result
 * (under pthread_once). Fails with MT_EUNAVAIL: the file is in none of the
 * directories (the message lists them), or it could not be loaded (the
 * dynamic linker's reason), or it lacks the symbol or is of another version. */
const void *mt_module_symbol(const char *file, const char *symbol, struct mt_err *err);

/* Like mt_module_symbol, but looks only in the n directories dirs[] (tests
 * and tools that know where their modules are). */
const void *mt_module_symbol_in(const char *const *dirs, size_t n, const char *file,
                                const char *symbol, struct mt_err *err);

#endif
