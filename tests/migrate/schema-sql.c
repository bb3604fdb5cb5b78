/* Test helper for the schema take-over scripts (tests/migrate/t1NN-schema-*.py):
 * runs SQL through the db layer with bound parameters and prints results as
 * JSON, so that the scripts read rows (timestamps normalised to UTC text by
 * the drivers) and table shapes the same way on every dialect.
 *   schema-sql URL query SQL [PARAMS]   rows as a JSON array of arrays (text or null)
 *   schema-sql URL exec SQL [PARAMS]    one statement with PARAMS, or a script
 *   schema-sql URL shape                {"table": {"columns": [...], "indexes": [...],
 *                                        "fkeys": [...]}} for every table
 * PARAMS is a JSON array of strings, integers, booleans and nulls. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

static int bind_params(const char *text, struct db_param **out, size_t *n, json_t **keep,
                       struct mt_err *err)
{
    json_error_t jerr;
    json_t *a = json_loads(text, 0, &jerr);
    if (!a || !json_is_array(a)) {
        json_decref(a);
        return mt_fail(err, MT_EINVAL, "PARAMS must be a JSON array: %s", jerr.text);
    }
    size_t len = json_array_size(a);
    struct db_param *p = calloc(len ? len : 1, sizeof(*p));
    if (!p)
        abort();
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        if (json_is_string(v))
            p[i] = DB_TEXTN(json_string_value(v), json_string_length(v));
        else if (json_is_integer(v))
            p[i] = DB_INT(json_integer_value(v));
        else if (json_is_boolean(v))
            p[i] = DB_BOOL(json_is_true(v));
        else if (json_is_null(v))
            p[i] = DB_NULL;
        else if (json_is_real(v))
            p[i] = DB_DOUBLE(json_real_value(v));
        else {
            free(p);
            json_decref(a);
            return mt_fail(err, MT_EINVAL, "PARAMS[%zu] has an unsupported type", i);
        }
    }
    *out = p;
    *n = len;
    *keep = a;
    return 0;
}

static int query(struct db_conn *c, const char *sql, const struct db_param *p, size_t n,
                 struct mt_err *err)
{
    struct db_stmt *st;
    if (db_query(c, sql, p, n, &st, err) < 0)
        return -1;
    json_t *rows = json_array();
    int rc = db_next(st, err);
    for (; rc == 1; rc = db_next(st, err)) {
        json_t *row = json_array();
        for (int i = 0; i < db_col_count(st); i++) {
            size_t len = 0;
            const char *v = db_col_text(st, i, &len);
            json_array_append_new(row, v ? json_stringn(v, len) : json_null());
        }
        json_array_append_new(rows, row);
    }
    db_done(st);
    if (rc == 0) {
        char *s = json_dumps(rows, JSON_COMPACT | JSON_ENSURE_ASCII);
        puts(s);
        free(s);
    }
    json_decref(rows);
    return rc < 0 ? -1 : 0;
}

static int shape(struct db_conn *c, struct mt_err *err)
{
    struct mt_strlist tables;
    if (db_tables(c, &tables, err) < 0)
        return -1;
    json_t *out = json_object();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < tables.n; i++) {
        const char *t = tables.items[i];
        json_t *tj = json_object(), *cols = json_array(), *ixs = json_array(), *fks = json_array();
        json_object_set_new(tj, "columns", cols);
        json_object_set_new(tj, "indexes", ixs);
        json_object_set_new(tj, "fkeys", fks);
        json_object_set_new(out, t, tj);
        struct db_column *col;
        size_t n;
        if ((rc = db_columns(c, t, &col, &n, err)) < 0)
            break;
        for (size_t k = 0; k < n; k++)
            json_array_append_new(cols, json_pack("{s:s, s:s, s:b, s:s?, s:b}", "name", col[k].name,
                                                  "type", col[k].type, "notnull", col[k].notnull,
                                                  "default", col[k].dflt, "pk", col[k].pk));
        db_columns_free(col, n);
        struct db_index *ix;
        if ((rc = db_indexes(c, t, &ix, &n, err)) < 0)
            break;
        for (size_t k = 0; k < n; k++) {
            json_t *names = json_array();
            for (size_t j = 0; j < ix[k].n_columns; j++)
                json_array_append_new(names, json_string(ix[k].columns[j]));
            json_array_append_new(ixs, json_pack("{s:s, s:b, s:o}", "name", ix[k].name, "unique",
                                                 ix[k].unique, "columns", names));
        }
        db_indexes_free(ix, n);
        struct db_fkey *fk;
        if ((rc = db_fkeys(c, t, &fk, &n, err)) < 0)
            break;
        for (size_t k = 0; k < n; k++)
            json_array_append_new(fks, json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "name",
                                                 fk[k].name, "column", fk[k].column, "ref_table",
                                                 fk[k].ref_table, "ref_column", fk[k].ref_column,
                                                 "on_delete", fk[k].on_delete));
        db_fkeys_free(fk, n);
    }
    mt_strlist_release(&tables);
    if (rc == 0) {
        char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        puts(s);
        free(s);
    }
    json_decref(out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: schema-sql URL query|exec SQL [PARAMS] | schema-sql URL shape\n");
        return 2;
    }
    struct mt_err err = {0};
    struct db_conn *c;
    if (db_open_url(argv[1], &c, &err) < 0) {
        fprintf(stderr, "schema-sql: %s\n", err.msg);
        return 1;
    }
    struct db_param *p = NULL;
    size_t n = 0;
    json_t *keep = NULL;
    int rc = 0;
    if (argc == 5)
        rc = bind_params(argv[4], &p, &n, &keep, &err);
    if (rc < 0) {
        /* reported below */
    } else if (strcmp(argv[2], "query") == 0 && argc >= 4) {
        rc = query(c, argv[3], p, n, &err);
    } else if (strcmp(argv[2], "exec") == 0 && argc == 5) {
        rc = db_query(c, argv[3], p, n, NULL, &err);
    } else if (strcmp(argv[2], "exec") == 0 && argc == 4) {
        rc = db_exec(c, argv[3], &err);
    } else if (strcmp(argv[2], "shape") == 0 && argc == 3) {
        rc = shape(c, &err);
    } else {
        rc = mt_fail(&err, MT_EINVAL, "unknown mode \"%s\"", argv[2]);
    }
    if (rc < 0)
        fprintf(stderr, "schema-sql: %s\n", err.msg);
    free(p);
    json_decref(keep);
    db_close(c);
    return rc < 0 ? 1 : 0;
}
