/* Finding and opening meditrack's loadable modules (see module.h): the
 * directory of the executable first, so that a build tree and an unpacked
 * tarball work without installing, then the installed layouts. Used by the
 * PDF shim (src/report/pdf_load.c) and the driver loader
 * (src/db/drivers_load.c). */
#include "core/module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifndef MT_VERSION
#define MT_VERSION "0.0.0"
#endif
#ifndef MT_MODULE_DIR
#define MT_MODULE_DIR ""
#endif
#ifndef MT_MODULE_LIBDIR
#define MT_MODULE_LIBDIR "lib"
#endif

enum { MAX_DIRS = 4 };

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

/* Opens dir/file when it exists. Returns 1 with *out set, 0 when there is
 * no such file, -1 (err filled) when the file is there but unusable. */
static int open_in(const char *dir, const char *file, void **out, struct mt_err *err)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof(path) || access(path, F_OK) != 0)
        return 0;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return mt_fail(err, MT_EUNAVAIL, "cannot load module %s: %s", path,
                       why ? why : "unknown error");
    }
    const char *version = dlsym(h, MT_MODULE_VERSION_SYMBOL);
    if (!version || strcmp(version, MT_VERSION) != 0) {
        mt_fail(err, MT_EUNAVAIL, "module %s is of version %s, this program is %s", path,
                version ? version : "unknown", MT_VERSION);
        dlclose(h);
        return -1;
    }
    *out = h;
    return 1;
}

const void *mt_module_symbol_in(const char *const *dirs, size_t n, const char *file,
                                const char *symbol, struct mt_err *err)
{
    void *h = NULL;
    char tried[sizeof(err->msg)] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && !h; i++) {
        int rc = open_in(dirs[i], file, &h, err);
        if (rc < 0)
            return NULL;
        if (rc == 0 && used < sizeof(tried)) {
            int w = snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", dirs[i]);
            used = w < 0 ? sizeof(tried) : used + (size_t)w;
        }
    }
    if (!h) {
        mt_fail(err, MT_EUNAVAIL, "module %s is not installed (looked in %s)", file,
                n ? tried : "no directory");
        return NULL;
    }
    /* The handle is deliberately never closed: the module's code and tables
     * are used until the process exits. */
    const void *sym = dlsym(h, symbol);
    if (!sym) {
        mt_fail(err, MT_EUNAVAIL, "module %s has no symbol %s", file, symbol);
        return NULL;
    }
    return sym;
}

const void *mt_module_symbol(const char *file, const char *symbol, struct mt_err *err)
{
    char self[PATH_MAX], up[PATH_MAX], multiarch[PATH_MAX];
    const char *dirs[MAX_DIRS];
    size_t n = 0;
    if (exe_dir(self, sizeof(self))) {
        dirs[n++] = self;
        /* The executable's path is real (no symlinks), so its parent can be
         * taken lexically: /usr/local/bin -> /usr/local. */
        size_t plen = (size_t)(strrchr(self, '/') - self);
        int w = snprintf(up, sizeof(up), "%.*s/lib/meditrack", (int)plen, self);
        if (w > 0 && (size_t)w < sizeof(up))
            add_dir(dirs, &n, up);
        /* <prefix>/bin and <prefix>/<libdir>/meditrack moved together, with
         * a libdir such as lib/x86_64-linux-gnu (Debian's multiarch). */
        if (MT_MODULE_LIBDIR[0] != '/') {
            w = snprintf(multiarch, sizeof(multiarch), "%.*s/%s/meditrack", (int)plen, self,
                         MT_MODULE_LIBDIR);
            if (w > 0 && (size_t)w < sizeof(multiarch))
                add_dir(dirs, &n, multiarch);
        }
    }
    if (MT_MODULE_DIR[0])
        add_dir(dirs, &n, MT_MODULE_DIR);
    return mt_module_symbol_in(dirs, n, file, symbol, err);
}
