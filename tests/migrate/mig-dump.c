/* Test helper for the migration scripts (tests/migrate/t*.sh): prints a
 * canonical description of a database through the db layer, so that the
 * scripts compare schemas and data the same way on every dialect.
 *   mig-dump URL schema       tables (without the engine's own), columns,
 *                             indexes, foreign keys, then every row
 *   mig-dump URL audit        the audit table: revision direction success ...
 *   mig-dump URL query SQL    the rows of SQL, columns separated by |
 *   mig-dump URL exec SQL     runs SQL (one or more statements)
 *   mig-dump URL rows         every row of every table but the engines',
 *                             one line "table|column=value|..." per row with
 *                             the columns in name order, values escaped (\\,
 *                             \n, \t, \r, NULL as \N), unsorted: the copy
 *                             tests sort and compare them across engines */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "migrate/migrate.h"

static int print_rows(struct db_conn *c, const char *sql, const char *prefix, struct mt_err *err)
{
    struct db_stmt *st;
    if (db_query(c, sql, NULL, 0, &st, err) < 0)
        return -1;
    int rc;
    while ((rc = db_next(st, err)) == 1) {
        fputs(prefix, stdout);
        for (int i = 0; i < db_col_count(st); i++) {
            const char *v = db_col_text(st, i, NULL);
            printf("%s%s", i ? "|" : "", v ? v : "NULL");
        }
        putchar('\n');
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

static bool engine_table(const char *t)
{
    return strcmp(t, "alembic_version") == 0 || strcmp(t, MIG_AUDIT_TABLE) == 0 ||
           strcmp(t, "sqlite_sequence") == 0;
}

static int dump_schema(struct db_conn *c, struct mt_err *err)
{
    struct mt_strlist tables;
    if (db_tables(c, &tables, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < tables.n; i++) {
        const char *t = tables.items[i];
        if (engine_table(t))
            continue;
        printf("table %s\n", t);
        struct db_column *cols;
        size_t n;
        if ((rc = db_columns(c, t, &cols, &n, err)) < 0)
            break;
        for (size_t k = 0; k < n; k++)
            printf("  column %s %s%s%s%s%s\n", cols[k].name, cols[k].type,
                   cols[k].notnull ? " not null" : "", cols[k].pk ? " pk" : "",
                   cols[k].dflt ? " default " : "", cols[k].dflt ? cols[k].dflt : "");
        db_columns_free(cols, n);
        struct db_index *ix;
        if ((rc = db_indexes(c, t, &ix, &n, err)) < 0)
            break;
        for (size_t k = 0; k < n; k++) {
            printf("  index %s%s (", ix[k].name, ix[k].unique ? " unique" : "");
            for (size_t j = 0; j < ix[k].n_columns; j++)
                printf("%s%s", j ? ", " : "", ix[k].columns[j]);
            printf(")\n");
        }
        db_indexes_free(ix, n);
        struct db_fkey *fk;
        if ((rc = db_fkeys(c, t, &fk, &n, err)) < 0)
            break;
        for (size_t k = 0; k < n; k++)
            printf("  fkey %s -> %s(%s) on delete %s\n", fk[k].column, fk[k].ref_table,
                   fk[k].ref_column ? fk[k].ref_column : "",
                   fk[k].on_delete ? fk[k].on_delete : "");
        db_fkeys_free(fk, n);
        char sql[300], prefix[200];
        snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", t);
        snprintf(prefix, sizeof(prefix), "  row ");
        rc = print_rows(c, sql, prefix, err);
    }
    mt_strlist_release(&tables);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_escaped(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (v[i]) {
        case '\\':
            fputs("\\\\", stdout);
            break;
        case '\n':
            fputs("\\n", stdout);
            break;
        case '\t':
            fputs("\\t", stdout);
            break;
        case '\r':
            fputs("\\r", stdout);
            break;
        default:
            /* Other control bytes (a blob's NUL) as \xHH, so that a shell
             * reading the lines loses nothing. */
            if ((unsigned char)v[i] < 0x20)
                printf("\\x%02x", (unsigned char)v[i]);
            else
                putchar(v[i]);
        }
    }
}

/* Every data row through db_col_text only (the db layer's canonical reading
 * of booleans and timestamps), independent of the copy module's own
 * canonical form, which is what the copy tests check. */
static int dump_rows(struct db_conn *c, struct mt_err *err)
{
    struct mt_strlist tables;
    if (db_tables(c, &tables, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < tables.n; i++) {
        const char *t = tables.items[i];
        if (engine_table(t) || strcmp(t, "meditrack_backup_log") == 0 ||
            strcmp(t, "meditrack_backup_manifest") == 0)
            continue;
        struct db_column *cols;
        size_t n;
        if ((rc = db_columns(c, t, &cols, &n, err)) < 0)
            break;
        char **names = calloc(n + 1, sizeof *names);
        for (size_t k = 0; k < n; k++)
            names[k] = cols[k].name;
        qsort(names, n, sizeof *names, cmp_str);
        char sql[4096];
        size_t used = (size_t)snprintf(sql, sizeof sql, "SELECT ");
        for (size_t k = 0; k < n && used < sizeof sql; k++)
            used +=
                (size_t)snprintf(sql + used, sizeof sql - used, "%s%s", k ? ", " : "", names[k]);
        if (used < sizeof sql)
            snprintf(sql + used, sizeof sql - used, " FROM %s", t);
        struct db_stmt *st;
        if ((rc = db_query(c, sql, NULL, 0, &st, err)) == 0) {
            while ((rc = db_next(st, err)) == 1) {
                printf("%s", t);
                for (size_t k = 0; k < n; k++) {
                    size_t len = 0;
                    const char *v = db_col_text(st, (int)k, &len);
                    printf("|%s=", names[k]);
                    if (!v)
                        fputs("\\N", stdout);
                    else
                        print_escaped(v, len);
                }
                putchar('\n');
            }
            db_done(st);
        }
        free(names);
        db_columns_free(cols, n);
    }
    mt_strlist_release(&tables);
    return rc < 0 ? -1 : 0;
}

static int dump_audit(struct db_conn *c, struct mt_err *err)
{
    struct mig_audit *a;
    size_t n;
    if (mig_audit_list(c, &a, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        printf("%s %s %s success=%d steps=%lld/%lld attempts=%lld\n", a[i].direction,
               a[i].from_revision[0] ? a[i].from_revision : "base",
               a[i].revision[0] ? a[i].revision : "base", a[i].success, (long long)a[i].stmt_done,
               (long long)a[i].stmt_total, (long long)a[i].attempts);
    mig_audit_free(a, n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mig-dump URL schema|audit|rows|query SQL|exec SQL\n");
        return 2;
    }
    struct mt_err err = {0};
    struct db_conn *c;
    if (db_open_url(argv[1], &c, &err) < 0) {
        fprintf(stderr, "mig-dump: %s\n", err.msg);
        return 1;
    }
    int rc;
    if (strcmp(argv[2], "schema") == 0)
        rc = dump_schema(c, &err);
    else if (strcmp(argv[2], "audit") == 0)
        rc = dump_audit(c, &err);
    else if (strcmp(argv[2], "rows") == 0)
        rc = dump_rows(c, &err);
    else if (strcmp(argv[2], "query") == 0 && argc == 4)
        rc = print_rows(c, argv[3], "", &err);
    else if (strcmp(argv[2], "exec") == 0 && argc == 4)
        rc = db_exec(c, argv[3], &err);
    else
        rc = mt_fail(&err, MT_EINVAL, "unknown mode %s", argv[2]);
    if (rc < 0)
        fprintf(stderr, "mig-dump: %s\n", err.msg);
    db_close(c);
    return rc < 0 ? 1 : 0;
}
