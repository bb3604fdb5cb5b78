/* The copy engine behind `meditrack db copy`, the backups of server
 * databases and `meditrack restore`: creates the target's schema through
 * the migration engine, reads every table of the source from one snapshot
 * in foreign-key order, writes it in batches of multi-row INSERTs (one
 * transaction per batch), moves the target's id generators past the copied
 * ids, and reads the target back to compare row counts and checksums.
 * Nothing here names a MediTrack table: tables and columns come from
 * introspection, so tables added by later revisions are copied as well.
 * Their names are the only text spliced into SQL, always quoted as
 * identifiers (copy_quote_ident); every value is a bound parameter. */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/copy_int.h"
#include "core/clock.h"
#include "core/log.h"

void copy_options_init(struct copy_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 5000;
    o->lock_timeout = 60;
}

void copy_report_init(struct copy_report *r)
{
    memset(r, 0, sizeof *r);
}

void copy_report_release(struct copy_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->tables[i].name);
    free(r->tables);
    free(r->revision);
    mt_strlist_release(&r->notes);
    memset(r, 0, sizeof *r);
}

/* ---- the source ------------------------------------------------------------- */

int copy_source_revision(struct db_conn *src, const struct mig_chain *ch, bool require_head,
                         char **rev, struct mt_err *err)
{
    struct mig_check chk;
    if (mig_check_run(src, ch, &chk, err) < 0) {
        if (err->code == MT_ECONFLICT)
            mt_err_wrap(err, "the source database is at a revision this program does not know "
                             "(made by a newer version?)");
        return -1;
    }
    int rc = 0;
    const struct mig_revision *head = mig_chain_head(ch);
    if (chk.interrupted)
        rc = mt_fail(err, MT_ECONFLICT,
                     "the source database has an interrupted migration run (see `meditrack db "
                     "current -v`): finish it with `meditrack db upgrade` first");
    else if (!chk.current)
        rc = mt_fail(err, MT_ECONFLICT,
                     "the source database has no schema (it is at base): run `meditrack db "
                     "upgrade` on it first");
    else if (require_head && chk.n_pending)
        rc = mt_fail(err, MT_ECONFLICT,
                     "the source database is at revision %s, not at head %s (%zu pending): run "
                     "`meditrack db upgrade` on it first",
                     chk.current, head ? head->id : "?", chk.n_pending);
    if (rc == 0)
        *rev = mt_xstrdup(chk.current);
    mig_check_release(&chk);
    return rc;
}

static bool same_text(const char *a, const char *b, const char *dflt)
{
    return strcmp(a ? a : dflt, b ? b : dflt) == 0;
}

bool copy_same_database(const struct db_url *a, const struct db_url *b)
{
    if (a->dialect != b->dialect)
        return false;
    if (a->dialect == DB_SQLITE) {
        if (!a->path || !b->path)
            return false;
        char *ra = realpath(a->path, NULL), *rb = realpath(b->path, NULL);
        bool same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a->path, b->path) == 0;
        free(ra);
        free(rb);
        return same;
    }
    int dport = a->dialect == DB_POSTGRES ? 5432 : 3306;
    return same_text(a->host, b->host, "localhost") &&
           (a->port ? a->port : dport) == (b->port ? b->port : dport) &&
           same_text(a->dbname, b->dbname, "") && same_text(a->unix_socket, b->unix_socket, "");
}

/* The revision checked before may have changed until the snapshot began
 * (a server upgrading the source meanwhile): the snapshot's is the one that
 * counts, and the target was made at rev. */
static int check_snapshot_revision(struct db_conn *src, const char *rev, struct mt_err *err)
{
    char *now = NULL;
    if (mig_current(src, &now, err) < 0)
        return -1;
    int rc = 0;
    if (!now || strcmp(now, rev) != 0)
        rc = mt_fail(err, MT_ECONFLICT,
                     "the source went from revision %s to %s while the copy began: run it again",
                     rev, now ? now : "base");
    free(now);
    return rc;
}

/* ---- the run ------------------------------------------------------------------ */

struct run {
    struct db_conn *src, *dst;
    enum db_dialect ds, dd;
    const struct copy_options *o;
    struct copy_report *rep;
    struct copy_table *tables; /* in copy order */
    size_t n;
};

static bool excluded(const struct copy_options *o, const char *t)
{
    if (copy_engine_table(t))
        return true;
    for (size_t i = 0; o->exclude && o->exclude[i]; i++)
        if (strcmp(o->exclude[i], t) == 0)
            return true;
    return false;
}

static int count_rows(struct db_conn *c, const char *table, int64_t *n, struct mt_err *err)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    mt_buf_adds(&b, "SELECT COUNT(*) FROM ");
    copy_quote_ident(&b, db_conn_dialect(c), table);
    int rc = db_query_int(c, b.data, NULL, 0, n, NULL, err);
    mt_buf_release(&b);
    return rc;
}

/* Runs a statement naming table (spliced as a quoted identifier). */
static int exec_on_table(struct db_conn *c, const char *before, const char *table,
                         const char *after, struct mt_err *err)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    mt_buf_adds(&b, before);
    copy_quote_ident(&b, db_conn_dialect(c), table);
    mt_buf_adds(&b, after);
    int rc = db_exec(c, b.data, err);
    mt_buf_release(&b);
    return rc;
}

/* True for a table that --force may drop: one the source has, the engines'
 * own, and the leftovers of interrupted rebuilds. */
static bool droppable(const struct mt_strlist *src_tables, const char *t)
{
    return mt_strlist_has(src_tables, t) || copy_engine_table(t) ||
           strncmp(t, "_alembic_tmp_", 13) == 0 || strncmp(t, "_mt_", 4) == 0;
}

/* --force: drops the target's tables that this copy would write, with
 * foreign-key checks off where the engine has them, so that the order does
 * not matter; other tables are left alone and named. */
/* A URL can name one database in ways copy_same_database cannot see
 * (another host name for the same server, a bind mount): before --force
 * drops anything, a table made on the target must not appear on the
 * source. */
static int refuse_same_database(struct run *r, struct mt_err *err)
{
    unsigned char rnd[8];
    if (sodium_init() < 0)
        return mt_fail(err, MT_EINTERNAL, "libsodium did not initialise");
    randombytes_buf(rnd, sizeof rnd);
    char name[64] = "meditrack_copy_probe_";
    sodium_bin2hex(name + strlen(name), sizeof name - strlen(name), rnd, sizeof rnd);
    if (exec_on_table(r->dst, "CREATE TABLE ", name, " (x INTEGER)", err) < 0)
        return mt_err_wrap(err, "checking that the target is not the source");
    bool same = false;
    int rc = db_table_exists(r->src, name, &same, err);
    struct mt_err ignored;
    exec_on_table(r->dst, "DROP TABLE ", name, "", &ignored);
    if (rc == 0 && same)
        rc = mt_fail(err, MT_ECONFLICT,
                     "the target is the source database itself (under another name): nothing "
                     "was dropped");
    return rc;
}

static int drop_target(struct run *r, const struct mt_strlist *have, struct mt_err *err)
{
    if (refuse_same_database(r, err) < 0)
        return -1;
    struct mt_strlist src_tables;
    if (db_tables(r->src, &src_tables, err) < 0)
        return -1;
    int rc = 0;
    if (r->dd == DB_MYSQL)
        rc = db_exec(r->dst, "SET FOREIGN_KEY_CHECKS = 0", err);
    else if (r->dd == DB_SQLITE)
        rc = db_exec(r->dst, "PRAGMA foreign_keys = OFF", err);
    for (size_t i = 0; rc == 0 && i < have->n; i++) {
        const char *t = have->items[i];
        if (!droppable(&src_tables, t)) {
            mt_strlist_pushf(&r->rep->notes,
                             "left alone: table %s of the target (not one this "
                             "copy writes)",
                             t);
            continue;
        }
        int64_t rows = 0;
        rc = count_rows(r->dst, t, &rows, err);
        if (rc == 0)
            rc = exec_on_table(r->dst, "DROP TABLE IF EXISTS ", t,
                               r->dd == DB_POSTGRES ? " CASCADE" : "", err);
        if (rc == 0)
            mt_strlist_pushf(&r->rep->notes, "dropped: table %s of the target (%lld rows)", t,
                             (long long)rows);
    }
    struct mt_err ignored;
    if (r->dd == DB_MYSQL)
        db_exec(r->dst, "SET FOREIGN_KEY_CHECKS = 1", &ignored);
    else if (r->dd == DB_SQLITE)
        db_exec(r->dst, "PRAGMA foreign_keys = ON", &ignored);
    mt_strlist_release(&src_tables);
    return rc;
}

/* Refuses or clears a target with tables, then creates its schema at rev
 * through the migration engine (so that it is an ordinary tracked database). */
static int prepare_target(struct run *r, const struct mig_chain *ch, const char *rev,
                          struct mt_err *err)
{
    struct mt_strlist have;
    if (db_tables(r->dst, &have, err) < 0)
        return -1;
    int rc = 0;
    if (have.n && !r->o->force) {
        rc = mt_fail(err, MT_ECONFLICT,
                     "the target database is not empty: it has %zu table%s (%s%s); copy into an "
                     "empty database, or add --force to drop the tables this copy writes",
                     have.n, have.n == 1 ? "" : "s", have.items[0], have.n > 1 ? ", ..." : "");
    } else if (have.n) {
        rc = drop_target(r, &have, err);
    }
    mt_strlist_release(&have);
    if (rc < 0)
        return -1;
    struct mig_options mo;
    mig_options_init(&mo);
    mo.backup = false; /* the target holds nothing of value: it was empty or --force */
    mo.lock_timeout = r->o->lock_timeout;
    mo.log = r->o->log;
    mo.log_ctx = r->o->log_ctx;
    if (mig_upgrade(r->dst, ch, rev, &mo, err) < 0)
        return mt_err_wrap(err, "creating the target's schema");
    char *now = NULL;
    if (mig_current(r->dst, &now, err) < 0)
        return -1;
    if (!now || strcmp(now, rev) != 0)
        rc = mt_fail(err, MT_EINTERNAL, "the target is at %s after creating its schema, not at %s",
                     now ? now : "base", rev);
    free(now);
    return rc;
}

/* Orders the tables so that every table comes after those its foreign keys
 * refer to (on the target, where the rows must fit). A cycle is broken in
 * name order and said in the notes. */
static int order_tables(struct run *r, struct mt_err *err)
{
    size_t n = r->n;
    bool *deps = mt_xcalloc(n * n + 1, sizeof *deps); /* deps[i*n+j]: i refers to j */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct db_fkey *fk;
        size_t nfk;
        if ((rc = db_fkeys(r->dst, r->tables[i].name, &fk, &nfk, err)) < 0)
            break;
        for (size_t k = 0; k < nfk; k++)
            for (size_t j = 0; j < n; j++)
                if (j != i && fk[k].ref_table && strcmp(fk[k].ref_table, r->tables[j].name) == 0)
                    deps[i * n + j] = true;
        db_fkeys_free(fk, nfk);
    }
    if (rc < 0) {
        free(deps);
        return -1;
    }
    struct copy_table *out = mt_xcalloc(n + 1, sizeof *out);
    bool *done = mt_xcalloc(n + 1, sizeof *done);
    for (size_t placed = 0; placed < n;) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++) {
            if (done[i])
                continue;
            bool ready = true;
            for (size_t j = 0; j < n && ready; j++)
                if (deps[i * n + j] && !done[j])
                    ready = false;
            if (ready)
                pick = i;
        }
        if (pick == n) {
            for (pick = 0; done[pick]; pick++)
                ;
            mt_strlist_pushf(&r->rep->notes,
                             "foreign keys form a cycle through table %s: copied in name order",
                             r->tables[pick].name);
        }
        done[pick] = true;
        out[placed++] = r->tables[pick];
    }
    free(done);
    free(deps);
    free(r->tables);
    r->tables = out;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tables to copy: the source's (but the engines' and excluded ones)
 * that the target has after its schema was made, described on both sides. */
static int plan_tables(struct run *r, struct mt_err *err)
{
    struct mt_strlist st, dt;
    if (db_tables(r->src, &st, err) < 0)
        return -1;
    if (db_tables(r->dst, &dt, err) < 0) {
        mt_strlist_release(&st);
        return -1;
    }
    if (st.n)
        qsort(st.items, st.n, sizeof *st.items, cmp_name);
    int rc = 0;
    r->tables = mt_xcalloc(st.n + 1, sizeof *r->tables);
    for (size_t i = 0; i < st.n && rc == 0; i++) {
        const char *t = st.items[i];
        if (excluded(r->o, t))
            continue;
        if (!mt_strlist_has(&dt, t)) {
            mt_strlist_pushf(&r->rep->notes,
                             "skipped: table %s of the source (the migrations do not create it, "
                             "so it is not MediTrack's)",
                             t);
            continue;
        }
        rc = copy_table_describe(r->src, t, r->dst, &r->tables[r->n], err);
        if (rc == 0)
            r->n++;
    }
    for (size_t i = 0; i < dt.n && rc == 0; i++)
        if (!excluded(r->o, dt.items[i]) && !mt_strlist_has(&st, dt.items[i]))
            mt_strlist_pushf(&r->rep->notes, "left empty: table %s (the source has none)",
                             dt.items[i]);
    mt_strlist_release(&st);
    mt_strlist_release(&dt);
    if (rc < 0)
        return -1;
    return order_tables(r, err);
}

/* Rows a revision may have put into a new database (reference data) would
 * collide with the source's: the source's rows are the truth. */
static int clear_seeded(struct run *r, struct mt_err *err)
{
    for (size_t k = r->n; k-- > 0;) {
        const char *t = r->tables[k].name;
        int64_t rows;
        if (count_rows(r->dst, t, &rows, err) < 0)
            return -1;
        if (rows == 0)
            continue;
        if (exec_on_table(r->dst, "DELETE FROM ", t, "", err) < 0)
            return -1;
        mt_strlist_pushf(&r->rep->notes,
                         "cleared: %lld rows the migrations put into %s (replaced by the source's)",
                         (long long)rows, t);
    }
    return 0;
}

/* ---- one table ------------------------------------------------------------------ */

/* A value waiting in a batch; bytes live in the batch's data buffer. */
struct bval {
    enum db_type type;
    int64_t i;
    double d;
    size_t off, len;
};

struct batch {
    struct run *r;
    const struct copy_table *t;
    struct bval *v; /* rows * ncols */
    size_t rows, cap_rows;
    struct mt_buf data;
    struct db_param *params;
    size_t per_stmt;  /* rows per INSERT */
    char *sql_full;   /* INSERT for per_stmt rows */
    char *sql_tail;   /* INSERT for the last, shorter statement */
    size_t tail_rows; /* rows sql_tail was built for */
};

/* One multi-row INSERT of `rows` rows into the target table. */
static char *insert_sql(const struct run *r, const struct copy_table *t, size_t rows)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    mt_buf_adds(&b, "INSERT INTO ");
    copy_quote_ident(&b, r->dd, t->name);
    mt_buf_adds(&b, " (");
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            mt_buf_adds(&b, ", ");
        copy_quote_ident(&b, r->dd, t->cols[i].name);
    }
    mt_buf_adds(&b, ")");
    /* Ids are copied as they are, also into identity columns that would
     * generate their own (harmless for the other columns). */
    if (r->dd == DB_POSTGRES)
        mt_buf_adds(&b, " OVERRIDING SYSTEM VALUE");
    mt_buf_adds(&b, " VALUES ");
    for (size_t k = 0; k < rows; k++) {
        mt_buf_adds(&b, k ? ", (" : "(");
        for (size_t i = 0; i < t->ncols; i++)
            mt_buf_adds(&b, i ? ", ?" : "?");
        mt_buf_addc(&b, ')');
    }
    return mt_buf_detach(&b, NULL);
}

static void batch_init(struct batch *b, struct run *r, const struct copy_table *t)
{
    memset(b, 0, sizeof *b);
    b->r = r;
    b->t = t;
    b->cap_rows = (size_t)(r->o->batch > 0 ? r->o->batch : 5000);
    b->v = mt_xreallocarray(NULL, b->cap_rows * t->ncols, sizeof *b->v);
    b->params = mt_xreallocarray(NULL, b->cap_rows * t->ncols, sizeof *b->params);
    mt_buf_init(&b->data, 0);
    size_t per = db_max_params(r->dst) / t->ncols;
    if (per > 1000)
        per = 1000;
    if (per > b->cap_rows)
        per = b->cap_rows;
    b->per_stmt = per ? per : 1;
    b->sql_full = insert_sql(r, t, b->per_stmt);
}

static void batch_release(struct batch *b)
{
    free(b->v);
    free(b->params);
    free(b->sql_full);
    free(b->sql_tail);
    mt_buf_release(&b->data);
}

/* Keeps f as the value of column ci of the batch's current row. */
static void batch_keep(struct batch *b, size_t ci, const struct copy_field *f)
{
    struct bval *v = &b->v[b->rows * b->t->ncols + ci];
    enum copy_class cls = b->t->cols[ci].cls;
    memset(v, 0, sizeof *v);
    if (f->null) {
        v->type = DB_T_NULL;
        return;
    }
    switch (cls) {
    case COPY_INT:
        v->type = DB_T_INT;
        v->i = f->i;
        return;
    case COPY_BOOL:
        v->type = DB_T_BOOL;
        v->i = f->i;
        return;
    case COPY_FLOAT:
    case COPY_FLOAT4:
        v->type = DB_T_DOUBLE;
        v->d = f->d;
        return;
    default:
        break;
    }
    v->type = cls == COPY_BLOB ? DB_T_BLOB : DB_T_TEXT;
    v->off = b->data.len;
    v->len = f->len;
    mt_buf_add(&b->data, f->p, f->len);
}

/* Bytes of values one INSERT may carry: well below MariaDB's smallest
 * max_allowed_packet in use (4 MiB in older servers), so that rows with long
 * texts go in smaller statements instead of failing. */
#define STMT_BYTES_MAX (2u << 20)

/* How many rows from row on go into the next INSERT. */
static size_t rows_for_statement(const struct batch *b, size_t row)
{
    size_t nc = b->t->ncols, k = 0, bytes = 0;
    while (row + k < b->rows && k < b->per_stmt) {
        size_t rb = 0;
        for (size_t i = 0; i < nc; i++)
            rb += b->v[(row + k) * nc + i].len + 16;
        if (k > 0 && bytes + rb > STMT_BYTES_MAX)
            break;
        bytes += rb;
        k++;
    }
    return k;
}

static int insert_batch(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct batch *b = ctx;
    size_t nc = b->t->ncols;
    for (size_t row = 0; row < b->rows;) {
        size_t k = rows_for_statement(b, row);
        const char *sql = b->sql_full;
        if (k != b->per_stmt) {
            if (!b->sql_tail || b->tail_rows != k) {
                free(b->sql_tail);
                b->sql_tail = insert_sql(b->r, b->t, k);
                b->tail_rows = k;
            }
            sql = b->sql_tail;
        }
        if (db_query(c, sql, b->params + row * nc, k * nc, NULL, err) < 0)
            return -1;
        row += k;
    }
    return 0;
}

static int batch_flush(struct batch *b, struct mt_err *err)
{
    if (b->rows == 0)
        return 0;
    const struct run *r = b->r;
    if (r->o->cancel && atomic_load(r->o->cancel))
        return mt_fail(err, MT_ECONFLICT, "cancelled");
    if (b->data.failed)
        return mt_fail(err, MT_ELIMIT, "a batch of %s is too large to hold", b->t->name);
    for (size_t i = 0; i < b->rows * b->t->ncols; i++) {
        const struct bval *v = &b->v[i];
        struct db_param *p = &b->params[i];
        switch (v->type) {
        case DB_T_NULL:
            *p = DB_NULL;
            break;
        case DB_T_INT:
            *p = DB_INT(v->i);
            break;
        case DB_T_BOOL:
            *p = DB_BOOL(v->i != 0);
            break;
        case DB_T_DOUBLE:
            *p = DB_DOUBLE(v->d);
            break;
        case DB_T_BLOB:
            *p = DB_BLOB(b->data.data + v->off, v->len);
            break;
        case DB_T_TEXT:
            *p = DB_TEXTN(b->data.data + v->off, v->len);
            break;
        }
    }
    if (db_tx_run(r->dst, true, insert_batch, b, err) < 0)
        return mt_err_wrap(err, "writing %zu rows of %s", b->rows, b->t->name);
    b->rows = 0;
    mt_buf_reset(&b->data);
    return 0;
}

/* Reads t from the source's snapshot, sums it, and writes it in batches. */
static int copy_table(struct run *r, const struct copy_table *t, struct copy_table_report *tr,
                      struct mt_err *err)
{
    int64_t total = 0;
    if (count_rows(r->src, t->name, &total, err) < 0)
        return -1;
    char *sql = copy_select_sql(r->ds, t);
    struct db_stmt *st;
    int rc = db_query_stream(r->src, sql, NULL, 0, &st, err);
    free(sql);
    if (rc < 0)
        return -1;
    struct batch b;
    batch_init(&b, r, t);
    struct copy_sum *sum = copy_sum_new(t);
    struct mt_buf row;
    mt_buf_init(&row, 0);
    int64_t done = 0;
    uint64_t last_report = mt_mono_ms();
    while ((rc = db_next(st, err)) == 1) {
        mt_buf_reset(&row);
        for (size_t i = 0; i < t->ncols && rc == 1; i++) {
            struct copy_field f;
            if (copy_field_read(st, (int)i, t->cols[i].cls, t->name, t->cols[i].name, &f, err) <
                0) {
                rc = -1;
                break;
            }
            if (i)
                mt_buf_addc(&row, '\t');
            copy_field_canon(&f, t->cols[i].cls, &row);
            batch_keep(&b, i, &f);
            copy_field_release(&f);
        }
        if (rc < 0)
            break;
        mt_buf_addc(&row, '\n');
        copy_sum_row(sum, row.data, row.len);
        done++;
        if (++b.rows == b.cap_rows) {
            if (batch_flush(&b, err) < 0) {
                rc = -1;
                break;
            }
            if (r->o->progress && done < total && mt_mono_ms() - last_report >= 500) {
                r->o->progress(r->o->progress_ctx, "copy", t->name, done, total);
                last_report = mt_mono_ms();
            }
        }
    }
    db_done(st);
    if (rc == 0 && batch_flush(&b, err) < 0)
        rc = -1;
    batch_release(&b);
    mt_buf_release(&row);
    if (rc < 0) {
        copy_sum_free(sum);
        return -1;
    }
    copy_sum_finish(sum, tr->sum, &tr->rows);
    if (r->o->progress)
        r->o->progress(r->o->progress_ctx, "copy", t->name, done, done);
    return 0;
}

/* ---- id generators ---------------------------------------------------------------- */

/* The next id the source would have given (0: unknown), so that ids of
 * rows deleted at the end are not handed out again by the target. */
static int source_next_id(struct run *r, const struct copy_table *t, int64_t *next,
                          struct mt_err *err)
{
    *next = 0;
    const char *col = t->cols[t->id_col].name;
    bool found = false;
    int64_t v = 0;
    if (r->ds == DB_POSTGRES) {
        char *seq = NULL;
        struct db_param p[] = {DB_TEXT(t->name), DB_TEXT(col)};
        if (db_query_text(r->src, "SELECT pg_get_serial_sequence(quote_ident(?), ?)", p, 2, &seq,
                          err) < 0)
            return -1;
        if (seq) {
            struct db_param q = DB_TEXT(seq);
            int rc = db_query_int(r->src, "SELECT pg_sequence_last_value(CAST(? AS regclass))", &q,
                                  1, &v, &found, err);
            free(seq);
            if (rc < 0)
                return -1;
            if (found)
                *next = v + 1;
        }
        return 0;
    }
    if (r->ds == DB_MYSQL) {
        struct db_param p = DB_TEXT(t->name);
        if (db_query_int(r->src,
                         "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA "
                         "= DATABASE() AND TABLE_NAME = ?",
                         &p, 1, &v, &found, err) < 0)
            return -1;
        if (found)
            *next = v;
        return 0;
    }
    int64_t has = 0;
    if (db_query_int(r->src, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_sequence'",
                     NULL, 0, &has, NULL, err) < 0)
        return -1;
    if (!has)
        return 0;
    struct db_param p = DB_TEXT(t->name);
    if (db_query_int(r->src, "SELECT seq FROM sqlite_sequence WHERE name = ?", &p, 1, &v, &found,
                     err) < 0)
        return -1;
    if (found)
        *next = v + 1;
    return 0;
}

/* Sets the target's generator for t's id column so that the next id is
 * next; *what says what was moved (NULL when the column has none). */
static int target_set_next(struct run *r, const struct copy_table *t, int64_t next,
                           const char **what, struct mt_err *err)
{
    *what = NULL;
    const char *col = t->cols[t->id_col].name;
    if (r->dd == DB_POSTGRES) {
        char *seq = NULL;
        struct db_param p[] = {DB_TEXT(t->name), DB_TEXT(col)};
        if (db_query_text(r->dst, "SELECT pg_get_serial_sequence(quote_ident(?), ?)", p, 2, &seq,
                          err) < 0)
            return -1;
        if (!seq)
            return 0;
        /* setval(s, n, true): the next nextval gives n + 1; a sequence may
         * not be set below 1, hence is_called false for a fresh start. */
        struct db_param q[] = {DB_TEXT(seq), DB_INT(next > 1 ? next - 1 : 1), DB_BOOL(next > 1)};
        int rc = db_query(r->dst, "SELECT setval(CAST(? AS regclass), ?, ?)", q, 3, NULL, err);
        free(seq);
        *what = "sequence";
        return rc;
    }
    if (r->dd == DB_MYSQL) {
        int64_t has = 0;
        struct db_param p[] = {DB_TEXT(t->name), DB_TEXT(col)};
        if (db_query_int(r->dst,
                         "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                         "DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ? AND EXTRA LIKE "
                         "'%auto_increment%'",
                         p, 2, &has, NULL, err) < 0)
            return -1;
        if (!has)
            return 0;
        /* ALTER TABLE takes no parameters: the number is ours, formatted here. */
        char tail[48];
        snprintf(tail, sizeof tail, " AUTO_INCREMENT = %lld", (long long)next);
        *what = "AUTO_INCREMENT";
        return exec_on_table(r->dst, "ALTER TABLE ", t->name, tail, err);
    }
    /* SQLite: a rowid table hands out max + 1 by itself; only AUTOINCREMENT
     * tables remember more, in sqlite_sequence. */
    int64_t autoinc = 0;
    struct db_param p = DB_TEXT(t->name);
    if (db_query_int(r->dst,
                     "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ? AND "
                     "upper(sql) LIKE '%AUTOINCREMENT%'",
                     &p, 1, &autoinc, NULL, err) < 0)
        return -1;
    if (!autoinc)
        return 0;
    struct db_param q[] = {DB_INT(next - 1), DB_TEXT(t->name)};
    if (db_query(r->dst, "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", q, 2, NULL, err) < 0)
        return -1;
    if (db_changes(r->dst) == 0 && next > 1) {
        struct db_param ins[] = {DB_TEXT(t->name), DB_INT(next - 1)};
        if (db_query(r->dst, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", ins, 2, NULL,
                     err) < 0)
            return -1;
    }
    *what = "sqlite_sequence";
    return 0;
}

static int move_sequences(struct run *r, struct mt_err *err)
{
    for (size_t k = 0; k < r->n; k++) {
        const struct copy_table *t = &r->tables[k];
        if (t->id_col < 0)
            continue;
        int64_t src_next, max = 0;
        bool any = false;
        if (source_next_id(r, t, &src_next, err) < 0)
            return -1;
        struct mt_buf b;
        mt_buf_init(&b, 0);
        mt_buf_adds(&b, "SELECT MAX(");
        copy_quote_ident(&b, r->dd, t->cols[t->id_col].name);
        mt_buf_adds(&b, ") FROM ");
        copy_quote_ident(&b, r->dd, t->name);
        int rc = db_query_int(r->dst, b.data, NULL, 0, &max, &any, err);
        mt_buf_release(&b);
        if (rc < 0)
            return -1;
        int64_t next = any && max < INT64_MAX ? max + 1 : 1;
        if (src_next > next)
            next = src_next;
        const char *what;
        if (target_set_next(r, t, next, &what, err) < 0)
            return mt_err_wrap(err, "moving the id generator of %s", t->name);
        if (what)
            mt_strlist_pushf(&r->rep->notes, "%s of %s.%s: next id %lld", what, t->name,
                             t->cols[t->id_col].name, (long long)next);
    }
    return 0;
}

/* ---- verification ------------------------------------------------------------------ */

static int verify(struct run *r, struct mt_err *err)
{
    uint64_t t0 = mt_mono_ms();
    r->rep->verified = true;
    const char *first_bad = NULL;
    for (size_t k = 0; k < r->n; k++) {
        struct copy_table_report *tr = &r->rep->tables[k];
        if (copy_table_sum(r->dst, &r->tables[k], r->o->progress, r->o->progress_ctx,
                           &tr->target_rows, tr->target_sum, err) < 0)
            return mt_err_wrap(err, "reading %s back from the target", tr->name);
        tr->match = tr->rows == tr->target_rows && strcmp(tr->sum, tr->target_sum) == 0;
        if (!tr->match && !first_bad)
            first_bad = tr->name;
        if (!tr->match)
            r->rep->verified = false;
    }
    r->rep->verify_ms = (int64_t)(mt_mono_ms() - t0);
    if (first_bad)
        return mt_fail(err, MT_ECONFLICT,
                       "verification failed: table %s of the target differs from the source's "
                       "snapshot (rows or checksum)",
                       first_bad);
    return 0;
}

int copy_run(struct db_conn *src, struct db_conn *dst, const struct mig_chain *ch, const char *rev,
             const struct copy_options *o, struct copy_report *report, struct mt_err *err)
{
    struct copy_options dflt;
    if (!o) {
        copy_options_init(&dflt);
        o = &dflt;
    }
    struct run r = {.src = src,
                    .dst = dst,
                    .ds = db_conn_dialect(src),
                    .dd = db_conn_dialect(dst),
                    .o = o,
                    .rep = report};
    uint64_t t0 = mt_mono_ms();
    free(report->revision);
    report->revision = mt_xstrdup(rev);
    /* The target's migration lock is held throughout, so that a server
     * starting on it waits instead of migrating or seeding meanwhile. */
    if (mig_lock_acquire(dst, o->lock_timeout, o->log, o->log_ctx, err) < 0)
        return mt_err_wrap(err, "the target's migration lock");
    int rc = prepare_target(&r, ch, rev, err);
    bool snap = false;
    if (rc == 0) {
        rc = db_begin_snapshot(src, err); /* every table as of one moment */
        snap = rc == 0;
    }
    if (rc == 0)
        rc = check_snapshot_revision(src, rev, err);
    if (rc == 0)
        rc = plan_tables(&r, err);
    if (rc == 0)
        rc = clear_seeded(&r, err);
    if (rc == 0) {
        report->tables = mt_xcalloc(r.n + 1, sizeof *report->tables);
        for (size_t k = 0; k < r.n && rc == 0; k++) {
            struct copy_table_report *tr = &report->tables[report->n++];
            tr->name = mt_xstrdup(r.tables[k].name);
            rc = copy_table(&r, &r.tables[k], tr, err);
            report->rows += tr->rows;
        }
    }
    if (rc == 0)
        rc = move_sequences(&r, err);
    if (snap) {
        struct mt_err ignored;
        db_rollback(src, &ignored);
    }
    mig_lock_release(dst);
    report->copy_ms = (int64_t)(mt_mono_ms() - t0);
    if (rc == 0)
        rc = verify(&r, err);
    for (size_t k = 0; k < r.n; k++)
        copy_table_release(&r.tables[k]);
    free(r.tables);
    return rc;
}
