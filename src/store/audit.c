/* The audit trail's SQL and its hash chain: appending a row under the lock
 * of the chain's head record (or many, for an import, 64 to a multi-row
 * INSERT built from constant pieces), listing rows with filters, verifying
 * the whole chain from the first row to the head record, and the summary an
 * export carries. The canonical serialisation hashed for each row is
 * written here and documented in docs/audit.md; SHA-256 is libsodium's. */
#include "store/audit.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/store_int.h"

static const char sql_head[] = "SELECT seq, hash FROM audit_head WHERE id = 1";
static const char sql_head_lock[] = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";
static const char sql_insert[] =
    "INSERT INTO audit_log (seq, created_at, actor, actor_id, action, entity, entity_id, "
    "person_id, before_json, after_json, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_move_head[] = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1";
/* PostgreSQL chains the row on the server, in one statement that takes the
 * head's lock (FOR UPDATE: after waiting for it, the newest head is read),
 * appends the row with its hash and moves the head; it goes in one round
 * trip with the COMMIT (db_exec_later), so the lock is held for no round
 * trip at all, only while the server runs the two. The hash is
 * store_audit_hash's serialisation (docs/audit.md) in SQL, over the UTF-8
 * bytes; audit verify recomputes it in C. A missing head (or one whose hash
 * is not 64 characters) leaves seq NULL, which the NOT NULL constraint
 * refuses, so the transaction fails rather than write no row. */
/* clang-format off */
#define PG_FIELD(x)                                                                                \
    "CASE WHEN " x " IS NULL THEN '-\n' "                                                          \
    "ELSE octet_length(convert_to(" x ", 'UTF8')) || ':' || " x " || '\n' END"
#define PG_HASHED                                                                                  \
    "encode(sha256(convert_to('meditrack-audit-v1\n' || "                                          \
    PG_FIELD("h.hash") " || "                                                                      \
    PG_FIELD("CAST(h.seq + 1 AS text)") " || "                                                     \
    PG_FIELD("v.created_at") " || "                                                                \
    PG_FIELD("v.actor") " || "                                                                     \
    PG_FIELD("CAST(v.actor_id AS text)") " || "                                                    \
    PG_FIELD("v.action") " || "                                                                    \
    PG_FIELD("v.entity") " || "                                                                    \
    PG_FIELD("CAST(v.entity_id AS text)") " || "                                                   \
    PG_FIELD("CAST(v.person_id AS text)") " || "                                                   \
    PG_FIELD("v.before_json") " || "                                                               \
    PG_FIELD("v.after_json") ", 'UTF8')), 'hex')"
/* clang-format on */
static const char sql_append_pg[] =
    "WITH v AS (SELECT CAST(? AS text) AS created_at, CAST(? AS text) AS actor, "
    "CAST(? AS bigint) AS actor_id, CAST(? AS text) AS action, CAST(? AS text) AS entity, "
    "CAST(? AS bigint) AS entity_id, CAST(? AS bigint) AS person_id, "
    "CAST(? AS text) AS before_json, CAST(? AS text) AS after_json), "
    "h AS (SELECT seq, hash FROM audit_head WHERE id = 1 AND length(hash) = 64 FOR UPDATE), "
    "ins AS (INSERT INTO audit_log (seq, created_at, actor, actor_id, action, entity, "
    "entity_id, person_id, before_json, after_json, prev_hash, hash) "
    "SELECT h.seq + 1, CAST(v.created_at AS timestamptz), v.actor, v.actor_id, v.action, "
    "v.entity, v.entity_id, v.person_id, v.before_json, v.after_json, h.hash, " PG_HASHED " "
    "FROM v LEFT JOIN h ON true RETURNING seq, hash) "
    "UPDATE audit_head SET seq = ins.seq, hash = ins.hash FROM ins WHERE audit_head.id = 1";

#define ROW_COLS                                                                                   \
    "seq, created_at, actor, actor_id, action, entity, entity_id, person_id, before_json, "        \
    "after_json, prev_hash, hash"
static const char sql_verify[] = "SELECT " ROW_COLS " FROM audit_log WHERE seq > ? ORDER BY seq";

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_start(void)
{
    /* SHA-256 needs no initialisation, but libsodium asks for it before
     * any use; it is idempotent and thread-safe. Its only failure (no
     * entropy source) cannot affect hashing. */
    if (sodium_init() < 0)
        return;
}

/* One field of the canonical serialisation: "<length>:<bytes>\n", or "-\n"
 * for NULL, so that no content can imitate a field boundary. */
static void hash_field(crypto_hash_sha256_state *st, const char *s, size_t len)
{
    if (!s) {
        crypto_hash_sha256_update(st, (const unsigned char *)"-\n", 2);
        return;
    }
    char head[32];
    int n = snprintf(head, sizeof(head), "%zu:", len);
    crypto_hash_sha256_update(st, (const unsigned char *)head, (unsigned long long)n);
    crypto_hash_sha256_update(st, (const unsigned char *)s, len);
    crypto_hash_sha256_update(st, (const unsigned char *)"\n", 1);
}

static void hash_text(crypto_hash_sha256_state *st, const char *s)
{
    hash_field(st, s, s ? strlen(s) : 0);
}

/* An integer field; 0 is NULL for the optional ids. */
static void hash_int(crypto_hash_sha256_state *st, int64_t v, bool null_if_zero)
{
    if (null_if_zero && v == 0) {
        hash_field(st, NULL, 0);
        return;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
    hash_field(st, buf, (size_t)n);
}

void store_audit_hash(const struct store_audit_row *row, int64_t created_us, char out[65])
{
    pthread_once(&sodium_once, sodium_start);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    static const char magic[] = "meditrack-audit-v1\n";
    crypto_hash_sha256_update(&st, (const unsigned char *)magic, sizeof(magic) - 1);
    hash_text(&st, row->prev_hash);
    hash_int(&st, row->seq, false);
    char at[MT_TIME_BUF];
    hash_text(&st, mt_format_db(created_us, at, sizeof(at)));
    hash_text(&st, row->actor);
    hash_int(&st, row->actor_id, true);
    hash_text(&st, row->action);
    hash_text(&st, row->entity);
    hash_int(&st, row->entity_id, true);
    hash_int(&st, row->person_id, true);
    hash_text(&st, row->before_json);
    hash_text(&st, row->after_json);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, 65, digest, sizeof(digest));
}

static struct db_param opt_int(int64_t v)
{
    return v ? DB_INT(v) : DB_NULL;
}

/* PostgreSQL's append: see sql_append_pg. */
static int append_pg(struct db_conn *c, const char *actor, int64_t actor_id, const char *action,
                     const char *entity, int64_t entity_id, int64_t person_id,
                     const char *before_json, const char *after_json, struct mt_err *err)
{
    char at[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(mt_now_us(), at),
                           DB_TEXT(actor),
                           opt_int(actor_id),
                           DB_TEXT(action),
                           DB_TEXT(entity),
                           opt_int(entity_id),
                           opt_int(person_id),
                           DB_TEXT(before_json),
                           DB_TEXT(after_json)};
    return db_exec_later(c, sql_append_pg, p, MT_ARRAY_LEN(p), err);
}

int store_audit_append(struct db_conn *c, const struct store_actor *actor, const char *action,
                       const char *entity, int64_t entity_id, int64_t person_id,
                       const char *before_json, const char *after_json, struct mt_err *err)
{
    if (!db_in_tx(c))
        return mt_fail(err, MT_EINTERNAL, "audit row for %s %s outside a transaction", action,
                       entity);
    /* The head record is locked until the commit: appends from every
     * process take their turn, so each row's predecessor is the row before
     * it in seq order. (SQLite: the write transaction already excludes
     * every other writer.) */
    if (db_conn_dialect(c) == DB_POSTGRES)
        return append_pg(c, actor && actor->name ? actor->name : STORE_ANONYMOUS_NAME,
                         actor ? actor->id : 0, action, entity, entity_id, person_id, before_json,
                         after_json, err);
    struct db_stmt *st;
    if (db_query(c, store_sql_locking(c, sql_head, sql_head_lock, sql_head_lock), NULL, 0, &st,
                 err) < 0)
        return -1;
    int rc = db_next(st, err);
    int64_t seq = 0;
    char prev[65] = "";
    if (rc == 1) {
        seq = db_col_int(st, 0);
        size_t len = 0;
        const char *h = db_col_text(st, 1, &len);
        if (h && len == 64)
            memcpy(prev, h, 65);
        else
            rc = mt_fail(err, MT_EDB, "audit_head holds no valid hash: run meditrack audit verify");
    }
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_EDB,
                       "the audit trail's head record (audit_head) is missing: run meditrack "
                       "audit verify");
    struct store_audit_row row = {
        .seq = seq + 1,
        .actor = actor && actor->name ? actor->name : STORE_ANONYMOUS_NAME,
        .actor_id = actor ? actor->id : 0,
        .action = action,
        .entity = entity,
        .entity_id = entity_id,
        .person_id = person_id,
        .before_json = before_json,
        .after_json = after_json,
        .prev_hash = prev,
    };
    int64_t now = mt_now_us();
    char hash[65], at[MT_TIME_BUF];
    store_audit_hash(&row, now, hash);
    struct db_param p[] = {
        DB_INT(row.seq),      store_time_param(now, at), DB_TEXT(row.actor), opt_int(row.actor_id),
        DB_TEXT(action),      DB_TEXT(entity),           opt_int(entity_id), opt_int(person_id),
        DB_TEXT(before_json), DB_TEXT(after_json),       DB_TEXT(prev),      DB_TEXT(hash)};
    if (store_exec(c, sql_insert, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    struct db_param h[] = {DB_INT(row.seq), DB_TEXT(hash)};
    return store_exec(c, sql_move_head, h, 2, err);
}

/* ---- many rows in one transaction ----------------------------------------------------- */

#define INSERT_HEAD                                                                                \
    "INSERT INTO audit_log (seq, created_at, actor, actor_id, action, entity, entity_id, "         \
    "person_id, before_json, after_json, prev_hash, hash) VALUES "
#define INSERT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
enum { INSERT_PARAMS = 12 };
static const char sql_count[] = "SELECT COUNT(*) FROM audit_log";

void store_audit_batch_init(struct store_audit_batch *b, struct db_conn *c,
                            const struct store_actor *actor)
{
    memset(b, 0, sizeof(*b));
    b->c = c;
    b->actor.id = actor ? actor->id : 0;
    b->actor.name = actor && actor->name ? actor->name : STORE_ANONYMOUS_NAME;
}

/* Locks the head record until the commit and reads where the chain ends. */
static int batch_begin(struct store_audit_batch *b, struct mt_err *err)
{
    if (!db_in_tx(b->c))
        return mt_fail(err, MT_EINTERNAL, "audit rows outside a transaction");
    struct db_stmt *st;
    if (db_query(b->c, store_sql_locking(b->c, sql_head, sql_head_lock, sql_head_lock), NULL, 0,
                 &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1) {
        size_t len = 0;
        const char *h = db_col_text(st, 1, &len);
        b->seq = db_col_int(st, 0);
        if (h && len == 64)
            memcpy(b->hash, h, 65);
        else
            rc = mt_fail(err, MT_EDB, "audit_head holds no valid hash: run meditrack audit verify");
    }
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_EDB,
                       "the audit trail's head record (audit_head) is missing: run meditrack "
                       "audit verify");
    b->begun = true;
    return 0;
}

static int batch_flush(struct store_audit_batch *b, struct mt_err *err)
{
    if (b->n == 0)
        return 0;
    struct db_param p[STORE_AUDIT_BATCH * INSERT_PARAMS];
    char at[STORE_AUDIT_BATCH][MT_TIME_BUF];
    struct mt_buf sql;
    mt_buf_init(&sql, 16384);
    mt_buf_adds(&sql, INSERT_HEAD);
    for (size_t i = 0; i < b->n; i++) {
        struct db_param *q = &p[i * INSERT_PARAMS];
        q[0] = DB_INT(b->pending[i].seq);
        q[1] = store_time_param(b->pending[i].created_us, at[i]);
        q[2] = DB_TEXT(b->actor.name);
        q[3] = opt_int(b->actor.id);
        q[4] = DB_TEXT(b->pending[i].action);
        q[5] = DB_TEXT(b->pending[i].entity);
        q[6] = opt_int(b->pending[i].entity_id);
        q[7] = opt_int(b->pending[i].person_id);
        q[8] = DB_NULL;
        q[9] = DB_TEXT(b->pending[i].after_json);
        q[10] = DB_TEXT(b->pending[i].prev);
        q[11] = DB_TEXT(b->pending[i].hash);
        mt_buf_adds(&sql, i ? ", " INSERT_ROW : INSERT_ROW);
    }
    int rc = sql.failed ? mt_fail(err, MT_EINTERNAL, "audit rows: statement too long")
                        : store_exec(b->c, sql.data, p, b->n * INSERT_PARAMS, err);
    mt_buf_release(&sql);
    for (size_t i = 0; i < b->n; i++) {
        free(b->pending[i].after_json);
        b->pending[i].after_json = NULL;
    }
    b->n = 0;
    return rc;
}

int store_audit_batch_add(struct store_audit_batch *b, const char *action, const char *entity,
                          int64_t entity_id, int64_t person_id, char *after_json,
                          struct mt_err *err)
{
    if (!b->begun && batch_begin(b, err) < 0) {
        free(after_json);
        return -1;
    }
    if (b->n == STORE_AUDIT_BATCH && batch_flush(b, err) < 0) {
        free(after_json);
        return -1;
    }
    struct store_audit_row row = {
        .seq = b->seq + 1,
        .actor = b->actor.name,
        .actor_id = b->actor.id,
        .action = action,
        .entity = entity,
        .entity_id = entity_id,
        .person_id = person_id,
        .before_json = NULL,
        .after_json = after_json,
        .prev_hash = b->hash,
    };
    int64_t now = mt_now_us();
    char hash[65];
    store_audit_hash(&row, now, hash);
    size_t i = b->n++;
    b->pending[i].seq = row.seq;
    b->pending[i].created_us = now;
    b->pending[i].entity_id = entity_id;
    b->pending[i].person_id = person_id;
    b->pending[i].action = action;
    b->pending[i].entity = entity;
    b->pending[i].after_json = after_json;
    memcpy(b->pending[i].prev, b->hash, 65);
    memcpy(b->pending[i].hash, hash, 65);
    b->seq = row.seq;
    memcpy(b->hash, hash, 65);
    b->rows++;
    return 0;
}

int store_audit_batch_finish(struct store_audit_batch *b, struct mt_err *err)
{
    if (!b->begun)
        return 0;
    if (batch_flush(b, err) < 0)
        return -1;
    struct db_param h[] = {DB_INT(b->seq), DB_TEXT(b->hash)};
    return store_exec(b->c, sql_move_head, h, 2, err);
}

void store_audit_batch_release(struct store_audit_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->pending[i].after_json);
        b->pending[i].after_json = NULL;
    }
    b->n = 0;
}

int store_audit_summary(struct db_conn *c, int64_t *head_seq, char head_hash[65], int64_t *rows,
                        struct mt_err *err)
{
    *head_seq = 0;
    memcpy(head_hash, STORE_AUDIT_GENESIS, 65);
    struct db_stmt *st;
    if (db_query(c, sql_head, NULL, 0, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1) {
        size_t len = 0;
        const char *h = db_col_text(st, 1, &len);
        *head_seq = db_col_int(st, 0);
        if (h && len == 64)
            memcpy(head_hash, h, 65);
    }
    db_done(st);
    if (rc < 0)
        return -1;
    bool found = false;
    return db_query_int(c, sql_count, NULL, 0, rows, &found, err);
}

/* ---- listing ----------------------------------------------------------------------------- */

static int read_row(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_audit_row *r = item;
    bool oom = false;
    r->seq = db_col_int(st, 0);
    r->created_at = store_col_time(st, 1, a, &oom);
    r->actor = store_col_text(st, 2, a, &oom);
    r->actor_id = db_col_int(st, 3);
    r->action = store_col_text(st, 4, a, &oom);
    r->entity = store_col_text(st, 5, a, &oom);
    r->entity_id = db_col_int(st, 6);
    r->person_id = db_col_int(st, 7);
    r->before_json = store_col_text(st, 8, a, &oom);
    r->after_json = store_col_text(st, 9, a, &oom);
    r->prev_hash = store_col_text(st, 10, a, &oom);
    r->hash = store_col_text(st, 11, a, &oom);
    return oom ? store_oom(err) : 0;
}

int store_audit_list(struct db_conn *c, struct mt_arena *a, const struct store_audit_filter *f,
                     struct store_audit_row **out, size_t *n, struct mt_err *err)
{
    *out = NULL;
    *n = 0;
    if ((f->person_id && !store_id_ok(c, f->person_id)))
        return 0;
    /* Only constant fragments are joined: the values are bound. */
    char sql[512];
    size_t o = (size_t)snprintf(sql, sizeof(sql), "SELECT " ROW_COLS " FROM audit_log WHERE 1 = 1");
    struct db_param p[7];
    size_t np = 0;
    char from[MT_TIME_BUF], to[MT_TIME_BUF];
    if (f->person_id) {
        o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND person_id = ?");
        p[np++] = DB_INT(f->person_id);
    }
    if (f->entity) {
        o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND entity = ?");
        p[np++] = DB_TEXT(f->entity);
    }
    if (f->entity_id) {
        o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND entity_id = ?");
        p[np++] = DB_INT(f->entity_id);
    }
    if (f->has_from) {
        o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND created_at >= ?");
        p[np++] = store_time_param(mt_instant_clamp(f->from_us), from);
    }
    if (f->has_to) {
        o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND created_at < ?");
        p[np++] = store_time_param(mt_instant_clamp(f->to_us), to);
    }
    o += (size_t)snprintf(sql + o, sizeof(sql) - o, " ORDER BY seq DESC LIMIT ? OFFSET ?");
    if (o >= sizeof(sql))
        return mt_fail(err, MT_EINTERNAL, "audit query too long");
    p[np++] = DB_INT(f->limit);
    p[np++] = DB_INT(f->skip);
    void *items;
    if (store_query_rows(c, a, sql, p, np, sizeof(**out), read_row, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

/* ---- verification ------------------------------------------------------------------------ */

struct verify_ctx {
    struct store_audit_verdict *v;
    int64_t cursor;   /* the last row checked */
    char prev[65];    /* its stored hash */
    bool stop;        /* a bad row was found */
    int64_t new_rows; /* rows read in this pass */
};

static void bad(struct verify_ctx *x, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad(struct verify_ctx *x, int64_t seq, const char *fmt, ...)
{
    x->v->ok = false;
    x->v->bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->v->problem, sizeof(x->v->problem), fmt, ap);
    va_end(ap);
    x->stop = true;
}

/* Copies a borrowed column into buf, or NULL for SQL NULL. */
static const char *col(struct db_stmt *st, int i)
{
    return db_col_null(st, i) ? NULL : db_col_text(st, i, NULL);
}

static int verify_row(struct db_stmt *st, void *vctx, struct mt_err *err)
{
    (void)err;
    struct verify_ctx *x = vctx;
    if (x->stop)
        return 0;
    struct store_audit_row r = {
        .seq = db_col_int(st, 0),
        .actor = col(st, 2),
        .actor_id = db_col_null(st, 3) ? 0 : db_col_int(st, 3),
        .action = col(st, 4),
        .entity = col(st, 5),
        .entity_id = db_col_null(st, 6) ? 0 : db_col_int(st, 6),
        .person_id = db_col_null(st, 7) ? 0 : db_col_int(st, 7),
        .before_json = col(st, 8),
        .after_json = col(st, 9),
        .prev_hash = x->prev,
    };
    const char *stored_prev = col(st, 10);
    const char *stored_hash = col(st, 11);
    x->new_rows++;
    if (r.seq != x->cursor + 1) {
        if (x->cursor + 1 == r.seq - 1)
            bad(x, x->cursor + 1, "row %" PRId64 " is missing (removed)", x->cursor + 1);
        else
            bad(x, x->cursor + 1, "rows %" PRId64 " to %" PRId64 " are missing (removed)",
                x->cursor + 1, r.seq - 1);
        return 0;
    }
    size_t at_len = 0;
    const char *at = db_col_text(st, 1, &at_len);
    int64_t at_us = 0;
    if (!at || mt_parse_timestamp(at, at_len, &at_us) < 0) {
        bad(x, r.seq, "row %" PRId64 " has no readable time: altered", r.seq);
        return 0;
    }
    bool links = stored_prev && strcmp(stored_prev, x->prev) == 0;
    char want[65];
    if (!links && stored_prev)
        r.prev_hash = stored_prev;
    store_audit_hash(&r, at_us, want);
    bool holds = stored_hash && strcmp(stored_hash, want) == 0;
    if (links && !holds) {
        bad(x, r.seq, "row %" PRId64 " was altered: its content does not match its hash", r.seq);
        return 0;
    }
    if (!links && holds && x->cursor == 0) {
        bad(x, r.seq, "row %" PRId64 " does not start the chain: rows before it were removed",
            r.seq);
        return 0;
    }
    if (!links && holds) {
        /* The row is intact as it was written, so the row before it was
         * rewritten afterwards (with a fresh hash of its own). */
        bad(x, x->cursor,
            "row %" PRId64 " was altered: row %" PRId64 " was chained to a different version of it",
            x->cursor, r.seq);
        return 0;
    }
    if (!links) {
        bad(x, r.seq,
            "row %" PRId64 " does not match its hash and does not follow row %" PRId64
            ": it was altered or moved, or a row before it was removed",
            r.seq, x->cursor);
        return 0;
    }
    x->cursor = r.seq;
    x->v->rows++;
    memcpy(x->prev, stored_hash, 65);
    return 0;
}

int store_audit_verify(struct db_conn *c, struct store_audit_verdict *out, struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    out->ok = true;
    struct verify_ctx x = {.v = out};
    memcpy(x.prev, STORE_AUDIT_GENESIS, 65);
    /* Rows appended while the check runs are checked too: each pass reads
     * the rows after the last one checked, until the head record names
     * that row. */
    for (;;) {
        x.new_rows = 0;
        struct db_param p[] = {DB_INT(x.cursor)};
        struct db_stmt *st;
        if (db_query_stream(c, sql_verify, p, 1, &st, err) < 0)
            return -1;
        int rc = db_next(st, err);
        while (rc == 1 && !x.stop) {
            verify_row(st, &x, err);
            rc = db_next(st, err);
        }
        db_done(st);
        if (rc < 0)
            return -1;
        out->head_seq = x.cursor;
        memcpy(out->head_hash, x.prev, 65);
        if (x.stop)
            return 0;
        if (db_query(c, sql_head, NULL, 0, &st, err) < 0)
            return -1;
        rc = db_next(st, err);
        int64_t head_seq = rc == 1 ? db_col_int(st, 0) : 0;
        char head_hash[65] = "";
        if (rc == 1) {
            size_t len = 0;
            const char *h = db_col_text(st, 1, &len);
            if (h && len == 64)
                memcpy(head_hash, h, 65);
        }
        db_done(st);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            bad(&x, 0, "the head record (audit_head) is missing");
            return 0;
        }
        if (head_seq == x.cursor) {
            if (strcmp(head_hash, x.prev) != 0)
                bad(&x, 0,
                    "the head record (audit_head) was altered: its hash is not row %" PRId64 "'s",
                    x.cursor);
            return 0;
        }
        if (head_seq < x.cursor) {
            bad(&x, 0,
                "the head record (audit_head) was altered: it names row %" PRId64
                " but the trail goes on to row %" PRId64,
                head_seq, x.cursor);
            return 0;
        }
        if (x.new_rows == 0) {
            if (head_seq == x.cursor + 1)
                bad(&x, x.cursor + 1, "row %" PRId64 " is missing (removed)", x.cursor + 1);
            else
                bad(&x, x.cursor + 1, "rows %" PRId64 " to %" PRId64 " are missing (removed)",
                    x.cursor + 1, head_seq);
            return 0;
        }
    }
}

int store_audit_row_hash(struct db_conn *c, int64_t seq, char out[65], bool *found,
                         struct mt_err *err)
{
    char *h = NULL;
    struct db_param p[] = {DB_INT(seq)};
    *found = false;
    if (db_query_text(c, "SELECT hash FROM audit_log WHERE seq = ?", p, 1, &h, err) < 0)
        return -1;
    if (h) {
        *found = true;
        snprintf(out, 65, "%s", h);
        free(h);
    }
    return 0;
}
