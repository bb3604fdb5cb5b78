/* How every command opens its database: DATABASE_URL parsed once, with the
 * database settings of the configuration that are not part of the URL
 * (SQLITE_BUSY_TIMEOUT) applied, so that serve, init, seed and the db
 * commands all wait for locks the same way. */
#include "cli/start.h"

int cli_db_url(const struct mt_config *cfg, struct db_url *out, struct mt_err *err)
{
    if (db_url_parse(cfg->database_url ? cfg->database_url : "", out, err) < 0)
        return -1;
    out->busy_timeout_ms = cfg->sqlite_busy_timeout;
    return 0;
}

int cli_db_open(const struct mt_config *cfg, struct db_conn **out, struct mt_err *err)
{
    struct db_url u;
    if (cli_db_url(cfg, &u, err) < 0)
        return -1;
    int rc = db_open(&u, out, err);
    db_url_release(&u);
    return rc;
}
