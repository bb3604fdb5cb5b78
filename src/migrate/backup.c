/* Safety copies of a SQLite file before the engine or the take-over changes
 * it: "<file>.backup-<from>-to-<to>-<UTC time>" written with SQLite's
 * online backup, and the rotation that keeps the newest few. Used by
 * apply.c before a run and by schema/rebuild.c before a take-over. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/mig_int.h"

struct backup_file {
    char *path;
    struct timespec mtime;
};

static int cmp_backup(const void *a, const void *b)
{
    const struct backup_file *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
    return strcmp(y->path, x->path);
}

int mig_sqlite_safety_copy(struct db_conn *c, const char *from, const char *to, char **path,
                           char **dest, struct mt_err *err)
{
    *dest = NULL;
    if (mig_sqlite_path(c, path, err) < 0)
        return -1;
    if (!*path)
        return 0;
    char stamp[40];
    mig_utc_stamp(stamp, sizeof(stamp));
    char *name = mt_xasprintf("%s.backup-%s-to-%s-%s", *path, from, to, stamp);
    if (db_sqlite_backup(c, name, err) < 0) {
        free(name);
        return -1;
    }
    *dest = name;
    return 0;
}

/* Deletes all but the newest keep copies "<db>.backup-*" of db. */
static void prune_backups(struct mig_run *r, const char *db, int keep)
{
    const char *slash = strrchr(db, '/');
    char *dir = slash ? mt_xstrndup(db, (size_t)(slash - db)) : mt_xstrdup(".");
    if (!*dir) {
        free(dir);
        dir = mt_xstrdup("/");
    }
    char *prefix = mt_xasprintf("%s.backup-", slash ? slash + 1 : db);
    DIR *dh = opendir(dir);
    struct backup_file *v = NULL;
    size_t n = 0;
    struct dirent *e;
    while (dh && (e = readdir(dh)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char *p = mt_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        v = mt_xreallocarray(v, n + 1, sizeof *v);
        v[n].path = p;
        v[n].mtime = st.st_mtim;
        n++;
    }
    if (dh)
        closedir(dh);
    if (n)
        qsort(v, n, sizeof(*v), cmp_backup);
    for (size_t i = 0; i < n; i++) {
        if ((int)i >= keep && unlink(v[i].path) == 0)
            mig_logf(r->o, MT_LOG_INFO, "Removed old safety copy %s", v[i].path);
        free(v[i].path);
    }
    free(v);
    free(prefix);
    free(dir);
}

int mig_backup_before(struct mig_run *r, const char *from, const char *to, struct mt_err *err)
{
    if (r->d != DB_SQLITE || !r->o->backup)
        return 0;
    struct mt_strlist tables;
    if (db_tables(r->c, &tables, err) < 0)
        return -1;
    size_t ntables = 0;
    for (size_t i = 0; i < tables.n; i++)
        if (strcmp(tables.items[i], "alembic_version") != 0 &&
            strcmp(tables.items[i], MIG_AUDIT_TABLE) != 0 &&
            strcmp(tables.items[i], "sqlite_sequence") != 0)
            ntables++;
    mt_strlist_release(&tables);
    if (ntables == 0)
        return 0; /* no data yet: nothing to lose */
    char *path, *dest;
    int rc =
        mig_sqlite_safety_copy(r->c, from ? from : "base", to ? to : "base", &path, &dest, err);
    if (rc == 0 && dest) {
        mig_logf(r->o, MT_LOG_INFO, "Safety copy of %s written to %s", path, dest);
        prune_backups(r, path, r->o->backup_keep > 0 ? r->o->backup_keep : 1);
    } else if (rc < 0) {
        mt_err_wrap(err, "safety copy before migrating (BACKUP_BEFORE_MIGRATE=false skips it)");
    }
    free(dest);
    free(path);
    return rc;
}
