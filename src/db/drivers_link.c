/* The drivers table of test programs: all three drivers linked in, so that
 * the db and migrate suites need no module on disk. The binary uses
 * drivers_load.c, which opens the PostgreSQL and MariaDB drivers as modules. */
#include "db/db_int.h"

/* One line per dialect. */
static const struct db_driver *const drivers[] = {
    [DB_SQLITE] = &db_sqlite_driver,
    [DB_POSTGRES] = &db_postgres_driver,
    [DB_MYSQL] = &db_mysql_driver,
};

const struct db_driver *db_driver_get(enum db_dialect d, struct mt_err *err)
{
    if ((size_t)d >= MT_ARRAY_LEN(drivers) || !drivers[d]) {
        mt_fail(err, MT_EINVAL, "unsupported database dialect %d", (int)d);
        return NULL;
    }
    return drivers[d];
}
