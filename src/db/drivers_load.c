/* The drivers table of the binary: SQLite is built in; PostgreSQL and
 * MariaDB are loadable modules (meditrack-postgresql.so with libpq,
 * meditrack-mysql.so with libmariadb), opened on the first connection of
 * their dialect, so that a process working on SQLite never loads libpq,
 * libmariadb, OpenSSL, GnuTLS or Kerberos. A module that cannot be opened
 * is remembered: every later connection of that dialect fails at once with
 * the same message (MT_EINVAL, as for an unknown dialect: waiting for the
 * server cannot help), without touching the disk again. */
#include <pthread.h>
#include <stdbool.h>

#include "core/module.h"
#include "db/db_int.h"

struct slot {
    const char *file;   /* NULL: built in */
    const char *symbol; /* the driver table's name in the module */
    const struct db_driver *drv;
    bool tried;
    struct mt_err err; /* why drv is NULL after a try */
};

/* One line per dialect. Guarded by lock. */
static struct slot slots[] = {
    [DB_SQLITE] = {.drv = &db_sqlite_driver},
    [DB_POSTGRES] = {.file = "meditrack-postgresql.so", .symbol = "db_postgres_driver"},
    [DB_MYSQL] = {.file = "meditrack-mysql.so", .symbol = "db_mysql_driver"},
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

const struct db_driver *db_driver_get(enum db_dialect d, struct mt_err *err)
{
    if ((size_t)d >= MT_ARRAY_LEN(slots)) {
        mt_fail(err, MT_EINVAL, "unsupported database dialect %d", (int)d);
        return NULL;
    }
    struct slot *s = &slots[d];
    pthread_mutex_lock(&lock);
    if (!s->drv && !s->tried) {
        s->tried = true;
        const struct db_driver *drv = mt_module_symbol(s->file, s->symbol, &s->err);
        if (drv && drv->dialect != d) {
            mt_fail(&s->err, MT_EINVAL, "module %s holds the driver of another dialect", s->file);
        } else if (!drv) {
            /* Like an unknown dialect, and unlike a server that is down,
             * waiting cannot fix this: MT_EINVAL ends a start-up's wait. */
            mt_err_wrap(&s->err, "%s is not supported by this installation", db_dialect_name(d));
            s->err.code = MT_EINVAL;
        } else {
            s->drv = drv;
        }
    }
    const struct db_driver *drv = s->drv;
    if (!drv && err)
        *err = s->err;
    pthread_mutex_unlock(&lock);
    return drv;
}
