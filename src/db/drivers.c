/* The drivers table: SQLite is built into the binary; PostgreSQL and MariaDB
 * are the loadable modules meditrack-postgresql.so (libpq) and
 * meditrack-mysql.so (libmariadb), opened through src/core/module.h on the
 * first connection of their dialect, so that a process working on SQLite
 * never loads libpq, libmariadb, OpenSSL or Kerberos (README.md has the
 * figures). The binary and the test programs use this same table. */
#include "core/module.h"
#include "db/db_int.h"

/* One line per dialect: a built-in driver or the module that holds it. */
struct slot {
    const struct db_driver *builtin;
    struct mt_module module; /* when not built in */
};

static struct slot slots[] = {
    [DB_SQLITE] = {.builtin = &db_sqlite_driver},
    [DB_POSTGRES] = {.module = MT_MODULE_INIT("meditrack-postgresql.so", struct db_driver)},
    [DB_MYSQL] = {.module = MT_MODULE_INIT("meditrack-mysql.so", struct db_driver)},
};

const struct db_driver *db_driver_get(enum db_dialect d, struct mt_err *err)
{
    if ((size_t)d >= MT_ARRAY_LEN(slots)) {
        mt_fail(err, MT_EINVAL, "unsupported database dialect %d", (int)d);
        return NULL;
    }
    struct slot *s = &slots[d];
    if (s->builtin)
        return s->builtin;
    struct mt_err why;
    const struct db_driver *drv = mt_module_get(&s->module, &why);
    if (!drv) {
        /* Like an unknown dialect, and unlike a server that is down, waiting
         * cannot fix this: MT_EINVAL ends a start-up's wait at once. */
        if (err) {
            *err = why;
            mt_err_wrap(err, "%s is not supported by this installation", db_dialect_name(d));
            err->code = MT_EINVAL;
        }
        return NULL;
    }
    return drv;
}
