/* The offline mode (--sql): instead of running a plan, prints the SQL that
 * would run it, as Alembic's offline mode does, with each revision's
 * transaction, its alembic_version update, what a downgrade drops, and a
 * warning where a hook (C code) would run. Used by apply.c's upgrade,
 * downgrade and stamp when o->sql_out is set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mig_int.h"

static const char *const impl_names[MIG_N_DIALECTS] = {
    [DB_SQLITE] = "SQLiteImpl",
    [DB_POSTGRES] = "PostgresqlImpl",
    [DB_MYSQL] = "MySQLImpl",
};

static const char *show(const char *id)
{
    return id ? id : "";
}

static void offline_stmt(FILE *f, const char *sql)
{
    size_t n = strlen(sql);
    while (n && (sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == '\t' ||
                 sql[n - 1] == '\r' || sql[n - 1] == ';'))
        n--;
    fprintf(f, "%.*s;\n\n", (int)n, sql);
}

static void offline_version(FILE *f, const char *from, const char *to)
{
    /* Ids are checked to be [0-9A-Za-z_] when the chain is loaded, so they
     * can stand in a literal here: this text is printed, never executed by us. */
    if (!from && to)
        fprintf(f, "INSERT INTO alembic_version (version_num) VALUES ('%s');\n\n", to);
    else if (from && !to)
        fprintf(f, "DELETE FROM alembic_version WHERE alembic_version.version_num = '%s';\n\n",
                from);
    else if (from && to)
        fprintf(f,
                "UPDATE alembic_version SET version_num='%s' WHERE "
                "alembic_version.version_num = '%s';\n\n",
                to, from);
}

static void offline_context(const struct mig_options *o, bool transactional)
{
    mig_logf(o, MT_LOG_INFO, "Context impl %s.", impl_names[o->sql_dialect]);
    mig_logf(o, MT_LOG_INFO, "Generating static SQL");
    mig_logf(o, MT_LOG_INFO, "Will assume %s DDL.",
             transactional ? "transactional" : "non-transactional");
}

/* Splits "FROM:TO" (FROM may be empty = base) or a plain TO. */
static int offline_range(const struct mig_chain *ch, const char *target, bool need_from,
                         const char *dflt, const struct mig_revision **from,
                         const struct mig_revision **to, struct mt_err *err)
{
    const char *colon = target ? strchr(target, ':') : NULL;
    *from = NULL;
    if (!colon) {
        if (need_from)
            return mt_fail(err, MT_EINVAL,
                           "downgrade with --sql needs FROM:TO (for example head:base)");
        return mig_resolve(ch, target ? target : dflt, NULL, to, err);
    }
    if (colon != target) {
        char *f = mt_xstrndup(target, (size_t)(colon - target));
        int rc = mig_resolve(ch, f, NULL, from, err);
        free(f);
        if (rc < 0)
            return -1;
    }
    return mig_resolve(ch, *colon + 1 ? colon + 1 : dflt, (*from) ? (*from)->id : NULL, to, err);
}

int mig_offline_migrate(const struct mig_chain *ch, const char *target, bool upgrade,
                        const struct mig_options *o, struct mt_err *err)
{
    const struct mig_revision *from, *to;
    if (offline_range(ch, target, !upgrade, upgrade ? "head" : "base", &from, &to, err) < 0)
        return -1;
    struct mig_plan plan;
    if (mig_plan_make(ch, from ? from->id : NULL, to ? to->id : NULL, upgrade, &plan, err) < 0)
        return -1;
    struct mig_run r;
    mig_run_init(&r, NULL, ch, o);
    FILE *f = o->sql_out;
    bool dialect_tx = r.d != DB_MYSQL;
    offline_context(o, dialect_tx);
    int rc = 0;
    if (upgrade && !from)
        fprintf(f, "%s;\n\n", MIG_ALEMBIC_VERSION_DDL);
    for (size_t i = 0; i < plan.n && rc == 0; i++) {
        const struct mig_step *s = &plan.steps[i];
        struct mig_units u;
        if (mig_units_build(&r, s, &u, err) < 0) {
            rc = -1;
            break;
        }
        bool tx = dialect_tx && s->rev->transactional;
        mig_logf(o, MT_LOG_INFO, "Running %s %s -> %s, %s", upgrade ? "upgrade" : "downgrade",
                 show(s->from), show(s->to), s->rev->message);
        fprintf(f, "-- Running %s %s -> %s\n\n", upgrade ? "upgrade" : "downgrade", show(s->from),
                show(s->to));
        if (!upgrade) {
            struct mt_strlist drops;
            mig_sql_drops(mig_step_sql(&r, s), &drops);
            for (size_t k = 0; k < drops.n; k++)
                fprintf(f, "-- drops %s\n", drops.items[k]);
            if (drops.n)
                fprintf(f, "\n");
            mt_strlist_release(&drops);
        }
        if (tx && r.d == DB_SQLITE)
            fprintf(f, "PRAGMA foreign_keys=OFF;\n\n");
        if (tx)
            fprintf(f, "BEGIN;\n\n");
        for (size_t k = 0; k < u.n; k++) {
            if (u.v[k].hook) {
                fprintf(f,
                        "-- WARNING: hook %s runs here when meditrack applies this revision; "
                        "it is C code and not part of this script\n\n",
                        u.v[k].hook);
                mig_logf(o, MT_LOG_WARN, "revision %s: hook %s is not part of the SQL output",
                         s->rev->id, u.v[k].hook);
            } else {
                offline_stmt(f, u.v[k].sql);
            }
        }
        offline_version(f, s->from, s->to);
        if (tx && r.d == DB_SQLITE)
            fprintf(f, "PRAGMA foreign_key_check;\n\n");
        if (tx)
            fprintf(f, "COMMIT;\n\n");
        if (tx && r.d == DB_SQLITE)
            fprintf(f, "PRAGMA foreign_keys=ON;\n\n");
        mig_units_release(&u);
    }
    if (rc == 0 && !upgrade && !to)
        fprintf(f, "DROP TABLE alembic_version;\n\n");
    mig_plan_release(&plan);
    if (rc == 0 && fflush(f) != 0)
        rc = mt_fail(err, MT_EINVAL, "writing the SQL failed: %s", strerror(errno));
    return rc;
}

int mig_offline_stamp(const struct mig_chain *ch, const char *target, bool purge,
                      const struct mig_options *o, struct mt_err *err)
{
    const struct mig_revision *from, *to;
    if (offline_range(ch, target, false, "head", &from, &to, err) < 0)
        return -1;
    offline_context(o, o->sql_dialect != DB_MYSQL);
    FILE *f = o->sql_out;
    if (!from && !purge)
        fprintf(f, "%s;\n\n", MIG_ALEMBIC_VERSION_DDL);
    if (purge) {
        fprintf(f, "DELETE FROM alembic_version;\n\n");
        offline_version(f, NULL, to ? to->id : NULL);
    } else {
        offline_version(f, from ? from->id : NULL, to ? to->id : NULL);
    }
    if (fflush(f) != 0)
        return mt_fail(err, MT_EINVAL, "writing the SQL failed: %s", strerror(errno));
    return 0;
}
