/* Idempotency keys (issue 15): the first response to a POST that carried an
 * Idempotency-Key, stored per owner in the transaction that did the work,
 * so that a retried or doubled request gets that response instead of
 * doing the work again, on any process that shares the database. The key
 * row is claimed with an insert that ignores a duplicate: a second request
 * with the same key waits on the first one's row until that transaction
 * ends, then finds its response. Keys are forgotten after 24 hours. */
#include <stdatomic.h>
#include <string.h>

#include "store/dosing.h"
#include "store/store_int.h"

static const char sql_forget[] =
    "DELETE FROM idempotency_keys WHERE owner = ? AND idem_key = ? AND created_at < ?";
static const char sql_purge[] = "DELETE FROM idempotency_keys WHERE created_at < ?";
static const char sql_claim_sqlite[] =
    "INSERT OR IGNORE INTO idempotency_keys (owner, idem_key, fingerprint, created_at) "
    "VALUES (?, ?, ?, ?)";
static const char sql_claim_pg[] =
    "INSERT INTO idempotency_keys (owner, idem_key, fingerprint, created_at) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (owner, idem_key) DO NOTHING";
static const char sql_claim_mysql[] =
    "INSERT IGNORE INTO idempotency_keys (owner, idem_key, fingerprint, created_at) "
    "VALUES (?, ?, ?, ?)";
static const char sql_read[] = "SELECT fingerprint, status, response FROM idempotency_keys "
                               "WHERE owner = ? AND idem_key = ?";
/* MariaDB: a plain read would see the transaction's snapshot, which may
 * predate the first request's commit. */
static const char sql_read_mysql[] = "SELECT fingerprint, status, response FROM idempotency_keys "
                                     "WHERE owner = ? AND idem_key = ? LOCK IN SHARE MODE";
static const char sql_save[] =
    "UPDATE idempotency_keys SET status = ?, response = ? WHERE owner = ? AND idem_key = ?";

/* When this process last purged expired keys (microseconds). */
static _Atomic int64_t last_purge;

int store_idem_claim(struct db_conn *c, struct mt_arena *a, const struct store_idem *k, bool *found,
                     bool *same, int *status, const char **body, size_t *len, struct mt_err *err)
{
    *found = false;
    *same = false;
    int64_t now = mt_now_us();
    char cut_buf[MT_TIME_BUF], now_buf[MT_TIME_BUF];
    struct db_param cut = store_time_param(now - STORE_IDEM_TTL_US, cut_buf);
    /* Expired keys go: this one at once, all of them once a minute. */
    int64_t last = atomic_load(&last_purge);
    if (now - last > 60 * INT64_C(1000000) &&
        atomic_compare_exchange_strong(&last_purge, &last, now)) {
        if (store_exec(c, sql_purge, &cut, 1, err) < 0)
            return -1;
    } else {
        struct db_param f[] = {DB_TEXT(k->owner), DB_TEXT(k->key), cut};
        /* Sent with the claim where the driver can (db_exec_later). */
        if (db_exec_later(c, sql_forget, f, 3, err) < 0)
            return -1;
    }
    struct db_param p[] = {DB_TEXT(k->owner), DB_TEXT(k->key), DB_TEXT(k->fingerprint),
                           store_time_param(now, now_buf)};
    const char *claim = store_sql_locking(c, sql_claim_sqlite, sql_claim_pg, sql_claim_mysql);
    if (store_exec(c, claim, p, 4, err) < 0)
        return -1;
    if (db_changes(c) > 0)
        return 0;
    struct db_stmt *st;
    if (db_query(c, store_sql_latest(c, sql_read, sql_read_mysql), p, 2, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    bool oom = false;
    if (rc == 1) {
        const char *fp = db_col_text(st, 0, NULL);
        *found = true;
        *same = fp && strcmp(fp, k->fingerprint) == 0;
        *status = (int)db_col_int(st, 1);
        size_t n = 0;
        const char *b = db_col_text(st, 2, &n);
        *body = b ? mt_arena_strndup(a, b, n) : "";
        *len = b ? n : 0;
        oom = b && !*body;
    }
    db_done(st);
    if (rc < 0)
        return -1;
    if (oom)
        return store_oom(err);
    /* The row was there for the insert and gone for the read: it expired
     * and was purged in between. Retrying the transaction claims it. */
    if (rc == 0)
        return mt_fail(err, MT_EDB_RETRY, "idempotency key vanished while claimed");
    return 0;
}

int store_idem_save(struct db_conn *c, const struct store_idem *k, int status, const char *body,
                    size_t len, struct mt_err *err)
{
    struct db_param p[] = {DB_INT(status), DB_TEXTN(body ? body : "", body ? len : 0),
                           DB_TEXT(k->owner), DB_TEXT(k->key)};
    /* The transaction's last statement: sent with the COMMIT where the
     * driver can. */
    return db_exec_later(c, sql_save, p, 4, err);
}

int store_idem_forget(struct db_conn *c, const struct store_idem *k, struct mt_err *err)
{
    struct db_param p[] = {DB_TEXT(k->owner), DB_TEXT(k->key)};
    return store_exec(c, "DELETE FROM idempotency_keys WHERE owner = ? AND idem_key = ?", p, 2,
                      err);
}
