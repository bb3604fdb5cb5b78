/* Schema introspection for the migration engine and the take-over: runs
 * each driver's catalog queries (struct db_driver's sql_tables ...
 * sql_fkeys) and builds the same lists on every dialect: tables, columns,
 * indexes and foreign keys of the current database or schema. */
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

static void lower_ascii(char *s)
{
    for (; s && *s; s++) {
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    }
}

static void upper_ascii(char *s)
{
    for (; s && *s; s++) {
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
    }
}

int db_tables(struct db_conn *c, struct mt_strlist *out, struct mt_err *err)
{
    struct db_stmt *st;
    struct mt_strlist l = {0};
    if (db_query(c, c->drv->sql_tables, NULL, 0, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        const char *name = db_col_text(st, 0, NULL);
        if (name)
            mt_strlist_push(&l, name);
        rc = db_next(st, err);
    }
    db_done(st);
    if (rc < 0) {
        mt_strlist_release(&l);
        return -1;
    }
    *out = l;
    return 0;
}

int db_table_exists(struct db_conn *c, const char *table, bool *exists, struct mt_err *err)
{
    struct mt_strlist l;
    if (db_tables(c, &l, err) < 0)
        return -1;
    *exists = mt_strlist_has(&l, table);
    mt_strlist_release(&l);
    return 0;
}

static char *col_dup(struct db_stmt *st, int i)
{
    size_t len;
    const char *p = db_col_text(st, i, &len);
    return p ? mt_xstrndup(p, len) : NULL;
}

int db_columns(struct db_conn *c, const char *table, struct db_column **out, size_t *n,
               struct mt_err *err)
{
    struct db_stmt *st;
    struct db_param p = db_text(table);
    struct db_column *cols = NULL;
    size_t count = 0;
    if (db_query(c, c->drv->sql_columns, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        cols = mt_xrealloc(cols, (count + 1) * sizeof *cols);
        struct db_column *col = &cols[count++];
        col->name = col_dup(st, 0);
        col->type = col_dup(st, 1);
        if (!col->type)
            col->type = mt_xstrdup("");
        lower_ascii(col->type);
        col->notnull = db_col_int(st, 2) != 0;
        col->dflt = col_dup(st, 3);
        col->pk = db_col_int(st, 4) != 0;
        rc = db_next(st, err);
    }
    db_done(st);
    if (rc < 0) {
        db_columns_free(cols, count);
        return -1;
    }
    *out = cols;
    *n = count;
    return 0;
}

int db_indexes(struct db_conn *c, const char *table, struct db_index **out, size_t *n,
               struct mt_err *err)
{
    struct db_stmt *st;
    struct db_param p = db_text(table);
    struct db_index *ix = NULL;
    size_t count = 0;
    if (db_query(c, c->drv->sql_indexes, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        const char *name = db_col_text(st, 0, NULL);
        if (!name)
            name = "";
        if (count == 0 || strcmp(ix[count - 1].name, name) != 0) {
            ix = mt_xrealloc(ix, (count + 1) * sizeof *ix);
            ix[count] = (struct db_index){
                .name = mt_xstrdup(name),
                .table = mt_xstrdup(table),
                .unique = db_col_int(st, 1) != 0,
            };
            count++;
        }
        struct db_index *cur = &ix[count - 1];
        char *col = col_dup(st, 2);
        cur->columns = mt_xrealloc(cur->columns, (cur->n_columns + 1) * sizeof *cur->columns);
        cur->columns[cur->n_columns++] = col ? col : mt_xstrdup("(expression)");
        rc = db_next(st, err);
    }
    db_done(st);
    if (rc < 0) {
        db_indexes_free(ix, count);
        return -1;
    }
    *out = ix;
    *n = count;
    return 0;
}

/* SQLite leaves the referenced column out when a foreign key names only the
 * table: it then means that table's primary key. */
static int resolve_ref_column(struct db_conn *c, struct db_fkey *fk, struct mt_err *err)
{
    struct db_column *cols;
    size_t n;
    if (db_columns(c, fk->ref_table, &cols, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n && !fk->ref_column; i++) {
        if (cols[i].pk)
            fk->ref_column = mt_xstrdup(cols[i].name);
    }
    db_columns_free(cols, n);
    if (!fk->ref_column)
        fk->ref_column = mt_xstrdup("rowid");
    return 0;
}

int db_fkeys(struct db_conn *c, const char *table, struct db_fkey **out, size_t *n,
             struct mt_err *err)
{
    struct db_stmt *st;
    struct db_param p = db_text(table);
    struct db_fkey *fk = NULL;
    size_t count = 0;
    if (db_query(c, c->drv->sql_fkeys, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        fk = mt_xrealloc(fk, (count + 1) * sizeof *fk);
        struct db_fkey *f = &fk[count++];
        f->name = col_dup(st, 0);
        f->table = mt_xstrdup(table);
        f->column = col_dup(st, 1);
        f->ref_table = col_dup(st, 2);
        f->ref_column = col_dup(st, 3);
        f->on_delete = col_dup(st, 4);
        if (!f->on_delete)
            f->on_delete = mt_xstrdup("NO ACTION");
        upper_ascii(f->on_delete);
        rc = db_next(st, err);
    }
    db_done(st);
    for (size_t i = 0; i < count && rc >= 0; i++) {
        if (!fk[i].ref_column && fk[i].ref_table && resolve_ref_column(c, &fk[i], err) < 0)
            rc = -1;
    }
    if (rc < 0) {
        db_fkeys_free(fk, count);
        return -1;
    }
    *out = fk;
    *n = count;
    return 0;
}

void db_columns_free(struct db_column *cols, size_t n)
{
    for (size_t i = 0; cols && i < n; i++) {
        free(cols[i].name);
        free(cols[i].type);
        free(cols[i].dflt);
    }
    free(cols);
}

void db_indexes_free(struct db_index *ix, size_t n)
{
    for (size_t i = 0; ix && i < n; i++) {
        free(ix[i].name);
        free(ix[i].table);
        for (size_t k = 0; k < ix[i].n_columns; k++)
            free(ix[i].columns[k]);
        free(ix[i].columns);
    }
    free(ix);
}

void db_fkeys_free(struct db_fkey *fk, size_t n)
{
    for (size_t i = 0; fk && i < n; i++) {
        free(fk[i].name);
        free(fk[i].table);
        free(fk[i].column);
        free(fk[i].ref_table);
        free(fk[i].ref_column);
        free(fk[i].on_delete);
    }
    free(fk);
}
