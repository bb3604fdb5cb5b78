/* The one loader of meditrack's loadable modules. Only the parts whose
 * libraries cost a short command more to load than the command itself takes
 * are modules: the PDF form (cairo, pango, fontconfig, glib), the PostgreSQL
 * driver (libpq with OpenSSL, Kerberos, LDAP), the MariaDB driver
 * (libmariadb) and TLS (GnuTLS); README.md has the figures. Everything else
 * is linked into the binary. A module exports one checked table and calls
 * back into the binary (core, db helpers), which exports its symbols for
 * that. The binary's seams (report/pdf_load.c, db/drivers.c, api/tls.c) and
 * the test programs load modules through this file only. Owner: core. */
#ifndef MT_CORE_MODULE_H
#define MT_CORE_MODULE_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/err.h"
#include "core/module_stamp.h" /* generated: MT_MODULE_STAMP */

/* The one symbol a module exports (modules are built with hidden
 * visibility). The loader checks every field before it hands out table. */
struct mt_module_export {
    const char *stamp; /* MT_MODULE_STAMP of the build that made the module */
    const char *file;  /* the file name it is built as, e.g. "meditrack-pdf.so" */
    size_t size;       /* sizeof the table */
    const void *table; /* the module's function table (static storage) */
};

#define MT_MODULE_EXPORT_SYMBOL "mt_module_export"

/* Defines a module's export; used once, at file scope, in the module's own
 * source: MT_MODULE_EXPORT("meditrack-pdf.so", report_pdf_module); */
#define MT_MODULE_EXPORT(file_, table_)                                                            \
    __attribute__((visibility("default"))) const struct mt_module_export mt_module_export = {      \
        .stamp = MT_MODULE_STAMP, .file = (file_), .size = sizeof(table_), .table = &(table_)}

/* A module as a seam of the binary declares it: one static object per module,
 * initialised with MT_MODULE_INIT. The other fields belong to the loader. */
struct mt_module {
    const char *file;  /* file name, no directory: "meditrack-pdf.so" */
    size_t size;       /* sizeof the table the seam expects */
    atomic_int state;  /* not tried, loaded or failed; set once */
    const void *table; /* when loaded */
    struct mt_err err; /* when failed: why */
};

#define MT_MODULE_INIT(file_, table_type)                                                          \
    {                                                                                              \
        .file = (file_), .size = sizeof(table_type)                                                \
    }

/* Returns m's table, opening the module on the first call; concurrent first
 * callers wait for that one load. The result is valid for the life of the
 * process (a module is never closed). A failure is remembered: every later
 * call fails at once with the same error, without touching the disk.
 *
 * The module is looked for, in order, in the directory of the running
 * executable (its real path, from /proc/self/exe), in <its parent>/lib/meditrack,
 * in <its parent>/<libdir>/meditrack (libdir as configured, e.g.
 * lib/x86_64-linux-gnu: a moved install tree), and in the directory chosen at
 * build time (MT_MODULE_DIR: <prefix>/<libdir>/meditrack); only in the
 * directory given to mt_module_set_dir when one is. It is opened with
 * RTLD_NOW, so an unresolved symbol fails here and not in the middle of a
 * request. Fails with MT_EUNAVAIL: the file is in none of the directories (the
 * message lists them), the dynamic linker cannot load it (its reason), it is
 * not a meditrack module, it was built from other sources than this program
 * (the stamps differ), it is another module under this name, or its table
 * has another size. err may be NULL. Thread-safe. */
const void *mt_module_get(struct mt_module *m, struct mt_err *err);

/* m's table if the module is loaded already, else NULL; never loads. For
 * shutdown paths that have nothing to do when the module was never used. */
const void *mt_module_loaded(struct mt_module *m);

/* Makes the loads that start after this call look in dir only (NULL: back to
 * the default directories above). For test programs, which run from
 * subdirectories of the build tree and must open the modules that this build
 * made (tests/build_modules.c). dir is copied. */
void mt_module_set_dir(const char *dir);

#endif
