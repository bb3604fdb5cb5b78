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

static int add_table(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    const char *name = db_col_text(st, 0, NULL);
    if (name)
        mt_strlist_push(ctx, name);
    return 0;
}

int db_tables(struct db_conn *c, struct mt_strlist *out, struct mt_err *err)
{
    struct mt_strlist l = {0};
    if (db_query_each(c, c->drv->sql_tables, NULL, 0, add_table, &l, err) < 0) {
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

/* Runs the driver's catalog query sql for table, one row at a time. */
static int each_of_table(struct db_conn *c, const char *sql, const char *table, db_row_fn row,
                         void *ctx, struct mt_err *err)
{
    struct db_param p = db_text(table);
    return db_query_each(c, sql, &p, 1, row, ctx, err);
}

/* The lists being built, with the table they describe. */
struct column_list {
    struct db_column *v;
    size_t n, cap;
};
struct index_list {
    const char *table;
    struct db_index *v;
    size_t n, cap;
};
struct fkey_list {
    const char *table;
    struct db_fkey *v;
    size_t n, cap;
};

static int add_column(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct column_list *l = ctx;
    l->v = mt_xgrow(l->v, l->n, &l->cap, sizeof *l->v);
    struct db_column *col = &l->v[l->n++];
    col->name = col_dup(st, 0);
    col->type = col_dup(st, 1);
    if (!col->type)
        col->type = mt_xstrdup("");
    lower_ascii(col->type);
    col->notnull = db_col_int(st, 2) != 0;
    col->dflt = col_dup(st, 3);
    col->pk = db_col_int(st, 4) != 0;
    return 0;
}

int db_columns(struct db_conn *c, const char *table, struct db_column **out, size_t *n,
               struct mt_err *err)
{
    struct column_list l = {0};
    if (each_of_table(c, c->drv->sql_columns, table, add_column, &l, err) < 0) {
        db_columns_free(l.v, l.n);
        return -1;
    }
    *out = l.v;
    *n = l.n;
    return 0;
}

/* One row per column of an index, the index's rows in order. */
static int add_index_column(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct index_list *l = ctx;
    const char *name = db_col_text(st, 0, NULL);
    if (!name)
        name = "";
    if (l->n == 0 || strcmp(l->v[l->n - 1].name, name) != 0) {
        l->v = mt_xgrow(l->v, l->n, &l->cap, sizeof *l->v);
        l->v[l->n++] = (struct db_index){
            .name = mt_xstrdup(name),
            .table = mt_xstrdup(l->table),
            .unique = db_col_int(st, 1) != 0,
        };
    }
    struct db_index *cur = &l->v[l->n - 1];
    char *col = col_dup(st, 2);
    cur->columns = mt_xreallocarray(cur->columns, cur->n_columns + 1, sizeof *cur->columns);
    cur->columns[cur->n_columns++] = col ? col : mt_xstrdup("(expression)");
    return 0;
}

int db_indexes(struct db_conn *c, const char *table, struct db_index **out, size_t *n,
               struct mt_err *err)
{
    struct index_list l = {.table = table};
    if (each_of_table(c, c->drv->sql_indexes, table, add_index_column, &l, err) < 0) {
        db_indexes_free(l.v, l.n);
        return -1;
    }
    *out = l.v;
    *n = l.n;
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

static int add_fkey(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct fkey_list *l = ctx;
    l->v = mt_xgrow(l->v, l->n, &l->cap, sizeof *l->v);
    struct db_fkey *f = &l->v[l->n++];
    f->name = col_dup(st, 0);
    f->table = mt_xstrdup(l->table);
    f->column = col_dup(st, 1);
    f->ref_table = col_dup(st, 2);
    f->ref_column = col_dup(st, 3);
    f->on_delete = col_dup(st, 4);
    if (!f->on_delete)
        f->on_delete = mt_xstrdup("NO ACTION");
    upper_ascii(f->on_delete);
    return 0;
}

int db_fkeys(struct db_conn *c, const char *table, struct db_fkey **out, size_t *n,
             struct mt_err *err)
{
    struct fkey_list l = {.table = table};
    int rc = each_of_table(c, c->drv->sql_fkeys, table, add_fkey, &l, err);
    /* Resolved once the catalog query is over: resolving runs queries. */
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        if (!l.v[i].ref_column && l.v[i].ref_table)
            rc = resolve_ref_column(c, &l.v[i], err);
    }
    if (rc < 0) {
        db_fkeys_free(l.v, l.n);
        return -1;
    }
    *out = l.v;
    *n = l.n;
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
