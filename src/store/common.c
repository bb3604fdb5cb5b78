/* The plumbing every store file shares: columns into the arena, timestamps
 * as database text, arena arrays, generated ids and dialect-chosen locking
 * statements. The statements here are constants; values are always bound. */
#include "store/store_int.h"

#include <string.h>

static const char sql_person_exists[] = "SELECT id FROM persons WHERE id = ?";
static const char sql_person_lock[] = "SELECT id FROM persons WHERE id = ? FOR UPDATE";

int store_person_exists(struct db_conn *c, int64_t person_id, bool lock, struct mt_err *err)
{
    if (!store_id_ok(c, person_id))
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    struct db_param p[] = {DB_INT(person_id)};
    int64_t id = 0;
    bool found = false;
    const char *sql = lock && db_conn_dialect(c) != DB_SQLITE ? sql_person_lock : sql_person_exists;
    if (db_query_int(c, sql, p, 1, &id, &found, err) < 0)
        return -1;
    return found ? 0 : mt_fail(err, MT_ENOTFOUND, "Person not found");
}

int store_oom(struct mt_err *err)
{
    return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
}

const char *store_col_text(struct db_stmt *st, int i, struct mt_arena *a, bool *oom)
{
    size_t len = 0;
    const char *s = db_col_text(st, i, &len);
    if (!s)
        return NULL;
    char *copy = mt_arena_strndup(a, s, len);
    if (!copy)
        *oom = true;
    return copy;
}

struct store_time store_time_of(const char *s, size_t len)
{
    struct store_time t = {false, false, 0, NULL};
    if (!s)
        return t;
    t.present = true;
    if (mt_parse_timestamp(s, len, &t.us) == 0)
        t.parsed = true;
    else
        t.raw = s;
    return t;
}

struct store_time store_col_time(struct db_stmt *st, int i, struct mt_arena *a, bool *oom)
{
    size_t len = 0;
    const char *s = db_col_text(st, i, &len);
    struct store_time t = store_time_of(s, len);
    if (t.raw) {
        t.raw = mt_arena_strndup(a, s, len);
        if (!t.raw)
            *oom = true;
    }
    return t;
}

size_t store_date_len(const char *s, size_t len)
{
    struct mt_date d;
    /* Dates stored by other tools may carry a time part; the API shows the date. */
    return len > 10 && mt_parse_date(s, 10, &d) == 0 ? 10 : len;
}

const char *store_col_date(struct db_stmt *st, int i, struct mt_arena *a, bool *oom)
{
    size_t len = 0;
    const char *s = db_col_text(st, i, &len);
    if (!s)
        return NULL;
    char *copy = mt_arena_strndup(a, s, store_date_len(s, len));
    if (!copy)
        *oom = true;
    return copy;
}

struct db_param store_time_param(int64_t us, char *buf)
{
    mt_format_db(us, buf, MT_TIME_BUF);
    return DB_TEXT(buf);
}

int64_t store_now_seconds(void)
{
    int64_t now = mt_now_us();
    return now - mt_floor_mod(now, MT_USEC_PER_SEC);
}

int store_grow(struct mt_arena *a, void **items, size_t *cap, size_t n, size_t elem,
               struct mt_err *err)
{
    if (n < *cap)
        return 0;
    size_t new_cap = *cap ? *cap * 2 : 16;
    size_t bytes;
    if (!mt_size_mul(new_cap, elem, &bytes))
        return store_oom(err);
    void *p = mt_arena_alloc(a, bytes);
    if (!p)
        return store_oom(err);
    if (n)
        memcpy(p, *items, n * elem);
    *items = p;
    *cap = new_cap;
    return 0;
}

/* The arena array store_query_rows is filling. */
struct rows {
    struct mt_arena *a;
    size_t elem;
    store_row_fn read;
    void *items;
    size_t n, cap;
};

static int add_row(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct rows *r = ctx;
    if (store_grow(r->a, &r->items, &r->cap, r->n, r->elem, err) < 0 ||
        r->read(st, r->a, (char *)r->items + r->n * r->elem, err) < 0)
        return -1;
    r->n++;
    return 0;
}

int store_query_rows(struct db_conn *c, struct mt_arena *a, const char *sql,
                     const struct db_param *p, size_t np, size_t elem, store_row_fn read,
                     void **out, size_t *n, struct mt_err *err)
{
    struct rows r = {.a = a, .elem = elem, .read = read};
    if (db_query_each(c, sql, p, np, add_row, &r, err) < 0)
        return -1;
    *out = r.items;
    *n = r.n;
    return 0;
}

bool store_same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

int store_update_row(struct db_conn *c, const char *sql, const struct store_edit *e, size_t n,
                     int64_t id, struct store_time *updated_at, struct mt_err *err)
{
    struct db_param p[STORE_EDIT_MAX + 2];
    if (n > STORE_EDIT_MAX)
        return mt_fail(err, MT_EINTERNAL, "an update of %zu columns (at most %d)", n,
                       STORE_EDIT_MAX);
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        if (e[i].text) {
            const char *v = e[i].set ? e[i].text_value : *e[i].text;
            changed = changed || !store_same_text(v, *e[i].text);
            p[i] = DB_TEXT(v);
        } else {
            int64_t v = e[i].set ? e[i].num_value : *e[i].num;
            changed = changed || v != *e[i].num;
            p[i] = DB_INT(v);
        }
    }
    if (!changed)
        return 0;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    p[n] = store_time_param(now, now_buf);
    p[n + 1] = DB_INT(id);
    if (store_exec(c, sql, p, n + 2, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!e[i].set)
            continue;
        if (e[i].text)
            *e[i].text = e[i].text_value;
        else
            *e[i].num = e[i].num_value;
    }
    *updated_at = (struct store_time){true, true, now, NULL};
    return 0;
}

int store_write_tx(struct db_conn *c, db_tx_fn fn, void *ctx, struct mt_err *err)
{
    return db_tx_run(c, true, fn, ctx, err);
}

bool store_id_ok(struct db_conn *c, int64_t id)
{
    return db_conn_dialect(c) == DB_SQLITE || (id >= INT32_MIN && id <= INT32_MAX);
}

int store_exec(struct db_conn *c, const char *sql, const struct db_param *p, size_t n,
               struct mt_err *err)
{
    return db_query(c, sql, p, n, NULL, err);
}

int store_insert_id(struct db_conn *c, const char *sql, const char *sql_returning,
                    const struct db_param *p, size_t n, int64_t *id, struct mt_err *err)
{
    if (db_conn_dialect(c) == DB_POSTGRES) {
        bool found = false;
        if (db_query_int(c, sql_returning, p, n, id, &found, err) < 0)
            return -1;
        if (!found)
            return mt_fail(err, MT_EDB, "insert returned no id");
        return 0;
    }
    if (db_query(c, sql, p, n, NULL, err) < 0)
        return -1;
    *id = db_last_insert_id(c, err);
    return *id > 0 ? 0 : mt_fail(err, MT_EDB, "insert returned no id");
}

const char *store_sql_locking(struct db_conn *c, const char *sqlite_sql, const char *pg_sql,
                              const char *mysql_sql)
{
    switch (db_conn_dialect(c)) {
    case DB_POSTGRES:
        return pg_sql;
    case DB_MYSQL:
        return mysql_sql;
    case DB_SQLITE:
        break;
    }
    return sqlite_sql;
}

int store_lock_persons(struct db_conn *c, struct mt_err *err)
{
    switch (db_conn_dialect(c)) {
    case DB_POSTGRES:
        /* Blocks other writers of persons (and itself), never plain reads. */
        return store_exec(c, "LOCK TABLE persons IN SHARE ROW EXCLUSIVE MODE", NULL, 0, err);
    case DB_MYSQL:
        /* A locking read of every row also locks the gaps: concurrent inserts wait. */
        return store_exec(c, "SELECT id FROM persons FOR UPDATE", NULL, 0, err);
    case DB_SQLITE:
        break;
    }
    return 0;
}

/* ---- person filters ---- */

bool store_filter_has(const struct store_person_filter *f, int64_t id)
{
    if (!f || f->all)
        return true;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->ids[mid] == id)
            return true;
        if (f->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool store_filtered(const struct store_person_filter *f)
{
    return f && !f->all;
}

const char *store_sql_persons(struct mt_arena *a, const char *sql,
                              const struct store_person_filter *f, struct mt_err *err)
{
    static const char marker[] = "{persons}";
    const size_t mlen = sizeof(marker) - 1;
    size_t n = f && !f->all ? f->n : 0;
    size_t k = 0;
    for (const char *s = strstr(sql, marker); s; s = strstr(s + mlen, marker))
        k++;
    /* "?, " per id, or "NULL", per marker. */
    size_t each = n ? 3 * n : 4;
    size_t len = strlen(sql), bytes;
    char *out = NULL;
    if (mt_size_mul(each, k, &bytes) && mt_size_add(bytes, len + 1, &bytes))
        out = mt_arena_alloc(a, bytes);
    if (!out) {
        store_oom(err);
        return NULL;
    }
    char *o = out;
    const char *s = sql;
    for (const char *m = strstr(s, marker); m; m = strstr(s, marker)) {
        memcpy(o, s, (size_t)(m - s));
        o += m - s;
        if (n == 0) {
            memcpy(o, "NULL", 4);
            o += 4;
        }
        for (size_t i = 0; i < n; i++) {
            if (i) {
                memcpy(o, ", ", 2);
                o += 2;
            }
            *o++ = '?';
        }
        s = m + mlen;
    }
    size_t rest = strlen(s);
    memcpy(o, s, rest + 1);
    return out;
}

int store_params_init(struct store_params *sp, struct mt_arena *a, size_t cap, struct mt_err *err)
{
    sp->n = 0;
    sp->cap = cap;
    sp->p = mt_arena_calloc(a, cap ? cap : 1, sizeof(*sp->p));
    return sp->p ? 0 : store_oom(err);
}

void store_params_add(struct store_params *sp, struct db_param v)
{
    /* The callers count their parameters before they add them. */
    if (sp->n < sp->cap)
        sp->p[sp->n++] = v;
}

void store_params_ids(struct store_params *sp, const struct store_person_filter *f)
{
    for (size_t i = 0; f && !f->all && i < f->n; i++)
        store_params_add(sp, DB_INT(f->ids[i]));
}
