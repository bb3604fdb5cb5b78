/* Applying a plan online: upgrade, downgrade and stamp under the migration
 * lock, and `db check`'s comparison of the chain with the audit table (the
 * --sql output is offline.c's, safety copies are backup.c's). On SQLite and PostgreSQL a revision
 * runs in one transaction together with its alembic_version update and audit row. Where DDL commits
 * implicitly (MariaDB) or a revision says `transactional: false`, the engine records progress in
 * the audit table before and after every statement, so that a run killed half-way is resumed at the
 * right statement by the next run, or reported exactly; data statements there run in one
 * transaction with their progress record, so they happen exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "migrate/mig_int.h"

static const char *show(const char *id)
{
    return id ? id : "";
}

const char *mig_step_sql(const struct mig_run *r, const struct mig_step *s)
{
    return s->upgrade ? s->rev->up[r->d] : s->rev->down[r->d];
}

static const char *pre_hook(const struct mig_step *s)
{
    return s->upgrade ? s->rev->pre_upgrade : s->rev->pre_downgrade;
}

static const char *post_hook(const struct mig_step *s)
{
    return s->upgrade ? s->rev->post_upgrade : s->rev->post_downgrade;
}

int mig_units_build(const struct mig_run *r, const struct mig_step *s, struct mig_units *u,
                    struct mt_err *err)
{
    memset(u, 0, sizeof(*u));
    if (db_split_sql(mig_step_sql(r, s), &u->stmts, err) < 0)
        return mt_err_wrap(err, "revision %s (%s SQL for %s)", s->rev->id,
                           s->upgrade ? "up" : "down", db_dialect_name(r->d));
    u->v = mt_xcalloc(u->stmts.n + 2, sizeof(*u->v));
    if (pre_hook(s))
        u->v[u->n++].hook = pre_hook(s);
    for (size_t i = 0; i < u->stmts.n; i++)
        u->v[u->n++].sql = u->stmts.items[i];
    if (post_hook(s))
        u->v[u->n++].hook = post_hook(s);
    return 0;
}

void mig_units_release(struct mig_units *u)
{
    free(u->v);
    mt_strlist_release(&u->stmts);
}

static int run_unit(struct mig_run *r, const struct mig_step *s, const struct mig_unit *u,
                    struct mt_err *err)
{
    if (u->hook) {
        mig_hook_fn fn = mig_hook_find(u->hook);
        if (!fn)
            return mt_fail(err, MT_EINTERNAL, "hook %s is not registered", u->hook);
        if (fn(r->c, s->rev, s->upgrade, err) < 0)
            return mt_err_wrap(err, "hook %s", u->hook);
        return 0;
    }
    if (db_exec(r->c, u->sql, err) < 0)
        return mt_err_wrap(err, "%s %s -> %s", s->upgrade ? "upgrade" : "downgrade", show(s->from),
                           show(s->to));
    return 0;
}

static void audit_init(struct mig_run *r, const struct mig_step *s, struct mig_audit *a,
                       char *started, size_t started_size, char *sum, size_t nunits)
{
    memset(a, 0, sizeof(*a));
    mig_utc_now(started, started_size);
    mig_checksum(mig_step_sql(r, s), sum);
    a->revision = s->rev->id;
    a->from_revision = (char *)(s->from ? s->from : "");
    a->direction = s->upgrade ? "upgrade" : "downgrade";
    a->started_at = started;
    a->checksum = sum;
    a->host = r->host;
    a->pid = r->pid;
    a->success = -1;
    a->duration_ms = -1;
    a->stmt_total = (int64_t)nunits;
    a->stmt_running = -1;
    a->attempts = 1;
}

static int fk_check(struct mig_run *r, const struct mig_step *s, struct mt_err *err)
{
    struct db_stmt *st;
    if (db_query(r->c, "PRAGMA foreign_key_check", NULL, 0, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1) {
        const char *table = db_col_text(st, 0, NULL), *parent = db_col_text(st, 2, NULL);
        mt_fail(err, MT_ECONFLICT,
                "%s %s -> %s breaks a foreign key: row %lld of %s refers to a missing row of %s",
                s->upgrade ? "upgrade" : "downgrade", show(s->from), show(s->to),
                (long long)db_col_int(st, 1), table ? table : "?", parent ? parent : "?");
        rc = -1;
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

static void sqlite_fk(struct mig_run *r, bool on)
{
    if (r->d != DB_SQLITE)
        return;
    struct mt_err e = {0};
    if (db_exec(r->c, on ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF", &e) < 0)
        mig_logf(r->o, MT_LOG_WARN, "setting foreign_keys failed: %s", e.msg);
}

static void log_running(struct mig_run *r, const struct mig_step *s)
{
    mig_logf(r->o, MT_LOG_INFO, "Running %s %s -> %s, %s", s->upgrade ? "upgrade" : "downgrade",
             show(s->from), show(s->to), s->rev->message);
}

static void log_done(struct mig_run *r, const struct mig_step *s, int64_t t0)
{
    int64_t us = mt_mono_us() - t0;
    mig_logf(r->o, MT_LOG_INFO, "Finished %s %s -> %s in %lld.%03lld ms",
             s->upgrade ? "upgrade" : "downgrade", show(s->from), show(s->to),
             (long long)(us / 1000), (long long)(us % 1000));
}

/* Ends the audit row a of a run started at t0: finished now (the time's
 * text goes into finished, size bytes), successfully or not. */
static void audit_end(struct mig_audit *a, int64_t t0, char *finished, size_t size, int success)
{
    mig_utc_now(finished, size);
    a->finished_at = finished;
    a->duration_ms = (mt_mono_us() - t0) / 1000;
    a->success = success;
}

/* Records a failed transactional attempt after its rollback (best effort:
 * the original error is what the caller reports). */
static void audit_failure(struct mig_run *r, struct mig_audit *a, int64_t t0,
                          const struct mt_err *cause)
{
    char finished[40];
    audit_end(a, t0, finished, sizeof(finished), 0);
    a->error = (char *)cause->msg;
    struct mt_err e = {0};
    if (mig_audit_insert(r->c, a, &e) < 0)
        mig_logf(r->o, MT_LOG_WARN, "could not record the failure in %s: %s", MIG_AUDIT_TABLE,
                 e.msg);
    a->finished_at = NULL;
    a->error = NULL;
}

/* One revision in one transaction with its version update and audit row. */
static int apply_transactional(struct mig_run *r, const struct mig_step *s, struct mt_err *err)
{
    struct mig_units u;
    if (mig_units_build(r, s, &u, err) < 0)
        return -1;
    struct mig_audit a;
    char started[40], finished[40], sum[MIG_CHECKSUM_LEN];
    audit_init(r, s, &a, started, sizeof(started), sum, u.n);
    int64_t t0 = mt_mono_us();
    log_running(r, s);
    /* Pragmas are no-ops inside a transaction, so this comes before BEGIN:
     * table rebuilds must not cascade deletes or trip half-way checks. */
    sqlite_fk(r, false);
    mig_crash_point(r);
    int rc = db_begin_immediate(r->c, err);
    for (size_t i = 0; rc == 0 && i < u.n; i++) {
        mig_crash_point(r);
        rc = run_unit(r, s, &u.v[i], err);
    }
    if (rc == 0) {
        mig_crash_point(r);
        rc = mig_version_set(r->c, s->from, s->to, err);
    }
    if (rc == 0 && r->d == DB_SQLITE)
        rc = fk_check(r, s, err);
    if (rc == 0) {
        audit_end(&a, t0, finished, sizeof(finished), 1);
        a.stmt_done = (int64_t)u.n;
        rc = mig_audit_insert(r->c, &a, err);
        a.finished_at = NULL;
    }
    if (rc == 0) {
        mig_crash_point(r);
        rc = db_commit(r->c, err);
    }
    if (rc < 0) {
        struct mt_err e = {0};
        if (db_in_tx(r->c))
            db_rollback(r->c, &e);
        sqlite_fk(r, true);
        a.stmt_done = 0;
        audit_failure(r, &a, t0, err);
        mig_units_release(&u);
        return -1;
    }
    mig_crash_point(r);
    sqlite_fk(r, true);
    log_done(r, s, t0);
    mig_units_release(&u);
    return 0;
}

/* Runs one unit with progress records around it; a hook or data statement
 * runs inside a transaction that also stores its progress. */
static int unit_with_progress(struct mig_run *r, const struct mig_step *s,
                              const struct mig_unit *un, struct mig_audit *a, size_t i,
                              struct mt_err *err)
{
    bool wrap = un->hook || mig_sql_is_dml(un->sql);
    a->stmt_running = (int64_t)i;
    if (mig_audit_update(r->c, a, err) < 0)
        return -1;
    mig_crash_point(r);
    if (wrap) {
        /* A data statement or hook happens exactly once: it commits together
         * with the record that it is done. */
        if (db_begin(r->c, err) < 0)
            return -1;
        if (run_unit(r, s, un, err) < 0)
            goto fail;
        a->stmt_done = (int64_t)i + 1;
        a->stmt_running = -1;
        if (mig_audit_update(r->c, a, err) < 0)
            goto fail;
        mig_crash_point(r);
        if (db_in_tx(r->c) && db_commit(r->c, err) < 0)
            goto fail;
    } else {
        if (run_unit(r, s, un, err) < 0)
            return -1;
        mig_crash_point(r);
        a->stmt_done = (int64_t)i + 1;
        a->stmt_running = -1;
        if (mig_audit_update(r->c, a, err) < 0)
            return -1;
    }
    mig_crash_point(r);
    return 0;
fail:
    a->stmt_done = (int64_t)i;
    a->stmt_running = (int64_t)i;
    if (db_in_tx(r->c)) {
        struct mt_err e = {0};
        db_rollback(r->c, &e);
    }
    return -1;
}

/* One revision statement by statement with progress records; prev is the
 * interrupted run of the same step to resume, or NULL. */
static int apply_progress(struct mig_run *r, const struct mig_step *s, struct mig_audit *prev,
                          struct mt_err *err)
{
    struct mig_units u;
    if (mig_units_build(r, s, &u, err) < 0)
        return -1;
    struct mig_audit a;
    char started[40], finished[40], sum[MIG_CHECKSUM_LEN];
    audit_init(r, s, &a, started, sizeof(started), sum, u.n);
    int64_t t0 = mt_mono_us();
    size_t start = 0;
    int rc = 0;
    if (prev) {
        if (!prev->checksum || strcmp(prev->checksum, sum) != 0 ||
            prev->stmt_total != (int64_t)u.n) {
            rc = mt_fail(err, MT_ECONFLICT,
                         "the interrupted %s of %s (run %lld) used different SQL (checksum %s, "
                         "%lld steps) than this chain (%s, %zu steps): it cannot be resumed; "
                         "repair the database by hand, then run `db stamp`",
                         prev->direction, prev->revision, (long long)prev->id,
                         prev->checksum ? prev->checksum : "none", (long long)prev->stmt_total, sum,
                         u.n);
            mig_units_release(&u);
            return rc;
        }
        a.id = prev->id;
        a.started_at = prev->started_at;
        a.attempts = prev->attempts + 1;
        a.stmt_done = prev->stmt_done;
        start = (size_t)prev->stmt_done;
        log_running(r, s);
        bool unsure = prev->stmt_running >= 0 && prev->stmt_running == prev->stmt_done &&
                      start < u.n && !u.v[start].hook && !mig_sql_is_dml(u.v[start].sql);
        if (unsure)
            mig_logf(r->o, MT_LOG_WARN,
                     "Resuming %s %s -> %s: step %lld of %zu was started by pid %lld on %s but "
                     "not confirmed; running it again (such steps must be safe to repeat)",
                     a.direction, show(s->from), show(s->to), (long long)start + 1, u.n,
                     (long long)prev->pid, prev->host ? prev->host : "?");
        else
            mig_logf(r->o, MT_LOG_WARN,
                     "Resuming %s %s -> %s at step %lld of %zu (stopped run by pid %lld on %s)",
                     a.direction, show(s->from), show(s->to), (long long)start + 1, u.n,
                     (long long)prev->pid, prev->host ? prev->host : "?");
    } else {
        log_running(r, s);
        rc = mig_audit_insert(r->c, &a, err);
    }
    sqlite_fk(r, false);
    for (size_t i = start; rc == 0 && i < u.n; i++) {
        mig_crash_point(r);
        rc = unit_with_progress(r, s, &u.v[i], &a, i, err);
    }
    if (rc == 0) {
        mig_crash_point(r);
        rc = db_begin(r->c, err);
    }
    if (rc == 0) {
        rc = mig_version_set(r->c, s->from, s->to, err);
        if (rc == 0 && r->d == DB_SQLITE)
            rc = fk_check(r, s, err);
        if (rc == 0) {
            audit_end(&a, t0, finished, sizeof(finished), 1);
            a.stmt_running = -1;
            rc = mig_audit_update(r->c, &a, err);
            a.finished_at = NULL;
        }
        if (rc == 0) {
            mig_crash_point(r);
            rc = db_commit(r->c, err);
        } else {
            struct mt_err e = {0};
            if (db_in_tx(r->c))
                db_rollback(r->c, &e);
        }
    }
    sqlite_fk(r, true);
    if (rc < 0) {
        /* The row stays unfinished (success NULL): the next run resumes or
         * reports it. Keep the reason with it. */
        struct mt_err e = {0};
        a.success = -1;
        a.error = err->msg;
        if (a.id > 0 && mig_audit_update(r->c, &a, &e) < 0)
            mig_logf(r->o, MT_LOG_WARN, "could not record the failure in %s: %s", MIG_AUDIT_TABLE,
                     e.msg);
        mig_units_release(&u);
        return -1;
    }
    mig_crash_point(r);
    log_done(r, s, t0);
    mig_units_release(&u);
    return 0;
}

/* ---- online --------------------------------------------------------------- */

static void log_context(struct mig_run *r)
{
    mig_logf(r->o, MT_LOG_INFO, "Context impl %s.", db_impl_name(r->c));
    mig_logf(r->o, MT_LOG_INFO, "Will assume %s DDL.",
             db_transactional_ddl(r->c) ? "transactional" : "non-transactional");
}

/* Reads the current revision and refuses one the chain does not know. */
static int read_current(struct mig_run *r, char **cur, struct mt_err *err)
{
    if (mig_current(r->c, cur, err) < 0)
        return -1;
    if (*cur && !mig_chain_find(r->ch, *cur)) {
        mt_fail(err, MT_ECONFLICT,
                "the database is at revision %s, which the migrations (%s) do not know; "
                "nothing was changed (is this binary older than the database?)",
                *cur, r->ch->source);
        free(*cur);
        *cur = NULL;
        return -1;
    }
    return 0;
}

static int check_hooks(const struct mig_plan *p, struct mt_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        const char *names[] = {pre_hook(&p->steps[i]), post_hook(&p->steps[i])};
        for (size_t k = 0; k < 2; k++)
            if (names[k] && !mig_hook_find(names[k]))
                return mt_fail(err, MT_EINVAL,
                               "revision %s needs hook %s, which this program does not provide",
                               p->steps[i].rev->id, names[k]);
    }
    return 0;
}

static void log_plan(struct mig_run *r, const struct mig_plan *p, const char *from, const char *to,
                     bool upgrade)
{
    if (!p->n)
        return;
    char list[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < p->n && len + MIG_ID_MAX + 8 < sizeof(list); i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                                p->steps[i].rev->id);
    if (len + MIG_ID_MAX + 8 >= sizeof(list))
        snprintf(list + len, sizeof(list) - len, ", ...");
    mig_logf(r->o, MT_LOG_INFO, "Plan: %s %s -> %s, %zu revision%s: %s",
             upgrade ? "upgrade" : "downgrade", from ? from : "base", to ? to : "base", p->n,
             p->n == 1 ? "" : "s", list);
    if (upgrade)
        return;
    for (size_t i = 0; i < p->n; i++) {
        struct mt_strlist drops;
        mig_sql_drops(mig_step_sql(r, &p->steps[i]), &drops);
        if (drops.n) {
            char items[700] = "";
            size_t il = 0;
            for (size_t k = 0; k < drops.n && il + 1 < sizeof(items); k++)
                il += (size_t)snprintf(items + il, sizeof(items) - il, "%s%s", k ? ", " : "",
                                       drops.items[k]);
            mig_logf(r->o, MT_LOG_WARN, "Downgrade %s -> %s will drop %s", p->steps[i].from,
                     show(p->steps[i].to), items);
        }
        mt_strlist_release(&drops);
    }
}

/* An interrupted run must be the first step of this plan, or nothing runs. */
static int match_interrupted(const struct mig_chain *ch, const struct mig_plan *p,
                             const struct mig_audit *prev, struct mt_err *err)
{
    if (!prev)
        return 0;
    if (p->n) {
        const struct mig_step *s = &p->steps[0];
        if (strcmp(prev->revision, s->rev->id) == 0 &&
            strcmp(prev->direction, s->upgrade ? "upgrade" : "downgrade") == 0 &&
            strcmp(prev->from_revision, show(s->from)) == 0)
            return 0;
    }
    bool up = strcmp(prev->direction, "upgrade") == 0;
    const struct mig_revision *rev = mig_chain_find(ch, prev->revision);
    const char *target =
        up ? prev->revision : (rev && rev->down_revision ? rev->down_revision : "base");
    return mt_fail(err, MT_ECONFLICT,
                   "the %s of %s was interrupted after %lld of %lld steps (run %lld, pid %lld "
                   "on %s); finish it with `db %s %s`, or repair the database and run `db "
                   "stamp`; its error: %s",
                   prev->direction, prev->revision, (long long)prev->stmt_done,
                   (long long)prev->stmt_total, (long long)prev->id, (long long)prev->pid,
                   prev->host ? prev->host : "?", up ? "upgrade" : "downgrade", target,
                   prev->error ? prev->error : "none (the process was killed)");
}

static int migrate_locked(struct mig_run *r, const char *target, bool upgrade, struct mt_err *err)
{
    const struct mig_options *o = r->o;
    mig_preflight_fn pf = mig_get_preflight();
    if (upgrade && o->run_preflight && pf && pf(r->c, r->ch, o, err) < 0)
        return -1;
    char *cur = NULL;
    if (read_current(r, &cur, err) < 0)
        return -1;
    const struct mig_revision *to;
    struct mig_plan plan = {0};
    struct mig_audit *prev = NULL;
    int rc = mig_resolve(r->ch, target ? target : (upgrade ? "head" : "base"), cur, &to, err);
    if (rc == 0)
        rc = mig_plan_make(r->ch, cur, to ? to->id : NULL, upgrade, &plan, err);
    if (rc == 0)
        rc = mig_audit_unfinished(r->c, &prev, err);
    if (rc == 0)
        rc = match_interrupted(r->ch, &plan, prev, err);
    if (rc == 0)
        rc = check_hooks(&plan, err);
    if (rc == 0) {
        log_context(r);
        log_plan(r, &plan, cur, to ? to->id : NULL, upgrade);
    }
    if (rc == 0 && plan.n)
        rc = mig_backup_before(r, cur, to ? to->id : NULL, err);
    if (rc == 0 && plan.n) {
        /* On MariaDB these CREATE TABLEs commit on their own; they come
         * before any revision so that no revision shares their commit. */
        rc = mig_version_table_ensure(r->c, err);
        if (rc == 0)
            rc = mig_audit_ensure(r->c, err);
    }
    for (size_t i = 0; rc == 0 && i < plan.n; i++) {
        const struct mig_step *s = &plan.steps[i];
        bool tx = s->rev->transactional && db_transactional_ddl(r->c);
        if (i == 0 && prev)
            rc = apply_progress(r, s, prev, err);
        else if (tx)
            rc = apply_transactional(r, s, err);
        else
            rc = apply_progress(r, s, NULL, err);
    }
    mig_audit_free(prev, prev ? 1 : 0);
    mig_plan_release(&plan);
    free(cur);
    return rc;
}

/* What one online run does while it holds the migration lock. */
typedef int (*locked_fn)(struct mig_run *r, const char *target, bool flag, struct mt_err *err);

/* Takes the migration lock of c, runs fn, and gives the lock back. */
static int run_locked(struct db_conn *c, const struct mig_chain *ch, const struct mig_options *o,
                      locked_fn fn, const char *target, bool flag, struct mt_err *err)
{
    if (!c)
        return mt_fail(err, MT_EINTERNAL, "no connection");
    struct mig_run r;
    mig_run_init(&r, c, ch, o);
    if (mig_lock_acquire(c, o->lock_timeout, o->log, o->log_ctx, err) < 0)
        return -1;
    int rc = fn(&r, target, flag, err);
    mig_lock_release(c);
    return rc;
}

static int migrate(struct db_conn *c, const struct mig_chain *ch, const char *target, bool upgrade,
                   const struct mig_options *o, struct mt_err *err)
{
    if (o->sql_out)
        return mig_offline_migrate(ch, target, upgrade, o, err);
    return run_locked(c, ch, o, migrate_locked, target, upgrade, err);
}

int mig_upgrade(struct db_conn *c, const struct mig_chain *ch, const char *target,
                const struct mig_options *o, struct mt_err *err)
{
    return migrate(c, ch, target, true, o, err);
}

int mig_downgrade(struct db_conn *c, const struct mig_chain *ch, const char *target,
                  const struct mig_options *o, struct mt_err *err)
{
    return migrate(c, ch, target, false, o, err);
}

/* ---- stamp -------------------------------------------------------------------- */

static int stamp_locked(struct mig_run *r, const char *target, bool purge, struct mt_err *err)
{
    char *cur = NULL;
    struct mt_strlist rows = {0};
    if (purge) {
        if (mig_current_all(r->c, &rows, err) < 0)
            return -1;
        if (rows.n == 1 && mig_chain_find(r->ch, rows.items[0]))
            cur = mt_xstrdup(rows.items[0]);
    } else if (read_current(r, &cur, err) < 0) {
        return -1;
    }
    const struct mig_revision *to;
    struct mig_audit *prev = NULL;
    int rc = mig_resolve(r->ch, target ? target : "head", cur, &to, err);
    if (rc == 0)
        rc = mig_audit_unfinished(r->c, &prev, err);
    if (rc == 0) {
        log_context(r);
        mig_logf(r->o, MT_LOG_INFO, "Running stamp_revision %s -> %s", show(cur), to ? to->id : "");
    }
    if (rc == 0)
        rc = mig_version_table_ensure(r->c, err);
    if (rc == 0)
        rc = mig_audit_ensure(r->c, err);
    if (rc == 0)
        rc = db_begin(r->c, err);
    if (rc == 0) {
        if (purge) {
            rc = db_exec(r->c, "DELETE FROM alembic_version", err);
            if (rc == 0)
                rc = mig_version_set(r->c, NULL, to ? to->id : NULL, err);
        } else if ((cur == NULL) != (to == NULL) || (cur && strcmp(cur, to->id) != 0)) {
            rc = mig_version_set(r->c, cur, to ? to->id : NULL, err);
        }
        char now[40];
        mig_utc_now(now, sizeof(now));
        if (rc == 0 && prev) {
            char *msg = mt_xasprintf("abandoned: the database was stamped to %s at %s",
                                     to ? to->id : "base", now);
            free(prev->error);
            prev->success = 0;
            prev->error = msg;
            rc = mig_audit_update(r->c, prev, err);
            if (rc == 0)
                mig_logf(r->o, MT_LOG_WARN,
                         "The interrupted %s of %s (run %lld) is marked abandoned", prev->direction,
                         prev->revision, (long long)prev->id);
        }
        if (rc == 0) {
            struct mig_audit a = {
                .revision = (char *)(to ? to->id : ""),
                .from_revision = (char *)show(cur),
                .direction = "stamp",
                .started_at = now,
                .finished_at = now,
                .duration_ms = 0,
                .host = r->host,
                .pid = r->pid,
                .success = 1,
                .stmt_running = -1,
                .attempts = 1,
            };
            rc = mig_audit_insert(r->c, &a, err);
        }
        if (rc == 0)
            rc = db_commit(r->c, err);
        if (rc < 0 && db_in_tx(r->c)) {
            struct mt_err e = {0};
            db_rollback(r->c, &e);
        }
    }
    mig_audit_free(prev, prev ? 1 : 0);
    mt_strlist_release(&rows);
    free(cur);
    return rc;
}

int mig_stamp(struct db_conn *c, const struct mig_chain *ch, const char *target, bool purge,
              const struct mig_options *o, struct mt_err *err)
{
    if (o->sql_out)
        return mig_offline_stamp(ch, target, purge, o, err);
    return run_locked(c, ch, o, stamp_locked, target, purge, err);
}

/* ---- check ----------------------------------------------------------------- */

int mig_check_run(struct db_conn *c, const struct mig_chain *ch, struct mig_check *out,
                  struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    struct mig_run r;
    struct mig_options o;
    mig_options_init(&o);
    mig_run_init(&r, c, ch, &o);
    if (read_current(&r, &out->current, err) < 0)
        return -1;
    long pos = mig_chain_pos(ch, out->current);
    out->n_pending = (size_t)((long)ch->n - 1 - pos);
    out->pending = mt_xcalloc(out->n_pending + 1, sizeof(*out->pending));
    for (size_t i = 0; i < out->n_pending; i++)
        out->pending[i] = &ch->revs[pos + 1 + (long)i];
    struct mig_audit *rows;
    size_t n;
    if (mig_audit_list(c, &rows, &n, err) < 0) {
        mig_check_release(out);
        return -1;
    }
    out->mismatches = mt_xcalloc((size_t)(pos + 2), sizeof(*out->mismatches));
    for (long i = 0; i <= pos; i++) {
        const struct mig_revision *rev = &ch->revs[i];
        const struct mig_audit *last = NULL;
        for (size_t k = 0; k < n; k++)
            if (rows[k].success == 1 && strcmp(rows[k].direction, "upgrade") == 0 &&
                strcmp(rows[k].revision, rev->id) == 0)
                last = &rows[k];
        char expected[MIG_CHECKSUM_LEN];
        mig_checksum(rev->up[db_conn_dialect(c)], expected);
        if (last && last->checksum && strcmp(last->checksum, expected) != 0) {
            struct mig_mismatch *m = &out->mismatches[out->n_mismatches++];
            m->rev = rev;
            m->recorded = mt_xstrdup(last->checksum);
            memcpy(m->expected, expected, sizeof(expected));
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (rows[k].success != -1 || out->interrupted)
            continue;
        out->interrupted = mt_xcalloc(1, sizeof(*out->interrupted));
        *out->interrupted = rows[k];
        memset(&rows[k], 0, sizeof(rows[k]));
    }
    mig_audit_free(rows, n);
    return 0;
}

void mig_check_release(struct mig_check *r)
{
    free(r->current);
    free(r->pending);
    for (size_t i = 0; i < r->n_mismatches; i++)
        free(r->mismatches[i].recorded);
    free(r->mismatches);
    mig_audit_free(r->interrupted, r->interrupted ? 1 : 0);
    memset(r, 0, sizeof(*r));
}
