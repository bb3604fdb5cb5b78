/* Finding, opening and checking meditrack's loadable modules (see module.h):
 * the directory of the executable first, so that a build tree and an
 * unpacked tarball work without installing, then the installed layouts. One
 * mutex serialises the loads; a loaded or failed module is then read without
 * it. Used by the PDF seam (src/report/pdf_load.c), the drivers table
 * (src/db/drivers.c), the TLS seam (src/api/tls.c) and, through them, the
 * test programs. */
#include "core/module.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifndef MT_MODULE_DIR
#define MT_MODULE_DIR ""
#endif
#ifndef MT_MODULE_LIBDIR
#define MT_MODULE_LIBDIR "lib"
#endif

enum { MAX_DIRS = 4 };
enum { NOT_TRIED, LOADED, FAILED }; /* struct mt_module's state */

/* Serialises loads and guards only_dir. pthread_once would serialise per
 * module but cannot pass the module to its routine; loads are rare (once per
 * module and process), so one mutex for all of them costs nothing. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char only_dir[PATH_MAX]; /* mt_module_set_dir's; empty: the defaults */

/* The directory of the running executable, symlinks resolved (the kernel
 * gives the real path, so the `alembic` symlink finds the binary's modules).
 * Without /proc (a bare chroot), the path the program was executed by,
 * resolved with realpath. buf must hold PATH_MAX bytes. False when neither
 * works. */
static bool exe_dir(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n > 0 && (size_t)n < cap - 1) {
        buf[n] = '\0';
    } else {
        const char *execfn = (const char *)getauxval(AT_EXECFN);
        if (cap < PATH_MAX || !execfn || !realpath(execfn, buf))
            return false;
    }
    char *slash = strrchr(buf, '/');
    if (!slash)
        return false;
    if (slash == buf)
        slash[1] = '\0'; /* the executable is in / */
    else
        *slash = '\0';
    return true;
}

/* Appends dir to dirs[*n] unless it is there already. */
static void add_dir(const char **dirs, size_t *n, const char *dir)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(dirs[i], dir) == 0)
            return;
    if (*n < MAX_DIRS)
        dirs[(*n)++] = dir;
}

/* The directories to search, into dirs (MAX_DIRS); the strings live in
 * space (3 * PATH_MAX bytes). Returns how many. Called with lock held. */
static size_t search_dirs(const char **dirs, char (*space)[PATH_MAX])
{
    size_t n = 0;
    if (only_dir[0]) {
        dirs[n++] = only_dir;
        return n;
    }
    char *self = space[0], *up = space[1], *multiarch = space[2];
    if (exe_dir(self, PATH_MAX)) {
        dirs[n++] = self;
        /* The executable's path is real (no symlinks), so its parent can be
         * taken lexically: /usr/local/bin -> /usr/local. */
        size_t plen = (size_t)(strrchr(self, '/') - self);
        int w = snprintf(up, PATH_MAX, "%.*s/lib/meditrack", (int)plen, self);
        if (w > 0 && w < PATH_MAX)
            add_dir(dirs, &n, up);
        /* <prefix>/bin and <prefix>/<libdir>/meditrack moved together, with
         * a libdir such as lib/x86_64-linux-gnu (Debian's multiarch). */
        if (MT_MODULE_LIBDIR[0] != '/') {
            w = snprintf(multiarch, PATH_MAX, "%.*s/%s/meditrack", (int)plen, self,
                         MT_MODULE_LIBDIR);
            if (w > 0 && w < PATH_MAX)
                add_dir(dirs, &n, multiarch);
        }
    }
    if (MT_MODULE_DIR[0])
        add_dir(dirs, &n, MT_MODULE_DIR);
    return n;
}

/* Checks the export of the module at path against what m expects. */
static const void *check_export(const struct mt_module *m, const char *path,
                                const struct mt_module_export *ex, struct mt_err *err)
{
    if (!ex) {
        mt_fail(err, MT_EUNAVAIL, "%s is not a meditrack module (it has no %s)", path,
                MT_MODULE_EXPORT_SYMBOL);
        return NULL;
    }
    if (!ex->stamp || strcmp(ex->stamp, MT_MODULE_STAMP) != 0) {
        mt_fail(err, MT_EUNAVAIL,
                "module %s was built from other sources (stamp %s, this program %s)", path,
                ex->stamp ? ex->stamp : "none", MT_MODULE_STAMP);
        return NULL;
    }
    if (!ex->file || strcmp(ex->file, m->file) != 0) {
        mt_fail(err, MT_EUNAVAIL, "%s holds the module %s, not %s", path,
                ex->file ? ex->file : "(unnamed)", m->file);
        return NULL;
    }
    if (ex->size != m->size || !ex->table) {
        mt_fail(err, MT_EUNAVAIL, "module %s has a table of %zu bytes, this program needs %zu",
                path, ex->table ? ex->size : 0, m->size);
        return NULL;
    }
    return ex->table;
}

/* Opens m->file from the first directory that has it. Called with lock
 * held. A module that is refused is not closed either: its libraries'
 * constructors have run, and libraries such as glib are not safe to unload. */
static const void *load(const struct mt_module *m, struct mt_err *err)
{
    char space[3][PATH_MAX];
    const char *dirs[MAX_DIRS];
    size_t n = search_dirs(dirs, space);
    char tried[sizeof(err->msg)] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        int w = snprintf(path, sizeof(path), "%s/%s", dirs[i], m->file);
        if (w < 0 || (size_t)w >= sizeof(path) || access(path, F_OK) != 0) {
            if (used < sizeof(tried)) {
                w = snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", dirs[i]);
                used = w < 0 ? sizeof(tried) : used + (size_t)w;
            }
            continue;
        }
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *why = dlerror();
            mt_fail(err, MT_EUNAVAIL, "cannot load module %s: %s", path,
                    why ? why : "unknown error");
            return NULL;
        }
        return check_export(m, path, dlsym(h, MT_MODULE_EXPORT_SYMBOL), err);
    }
    mt_fail(err, MT_EUNAVAIL, "module %s is not installed (looked in %s)", m->file,
            n ? tried : "no directory");
    return NULL;
}

const void *mt_module_get(struct mt_module *m, struct mt_err *err)
{
    /* The acquire load pairs with the release store below, so that table and
     * err, written before it, are complete for whoever sees the new state. */
    if (atomic_load_explicit(&m->state, memory_order_acquire) == NOT_TRIED) {
        pthread_mutex_lock(&lock);
        if (atomic_load_explicit(&m->state, memory_order_relaxed) == NOT_TRIED) {
            m->table = load(m, &m->err);
            atomic_store_explicit(&m->state, m->table ? LOADED : FAILED, memory_order_release);
        }
        pthread_mutex_unlock(&lock);
    }
    if (!m->table && err)
        *err = m->err;
    return m->table;
}

const void *mt_module_loaded(struct mt_module *m)
{
    return atomic_load_explicit(&m->state, memory_order_acquire) == LOADED ? m->table : NULL;
}

void mt_module_set_dir(const char *dir)
{
    pthread_mutex_lock(&lock);
    snprintf(only_dir, sizeof(only_dir), "%s", dir ? dir : "");
    pthread_mutex_unlock(&lock);
}
