/* Backups and restores: `meditrack backup` writes one SQLite file at the
 * source's revision (SQLite's online backup API for a SQLite source, a
 * snapshot copy for the servers) and stores a manifest in it (revision,
 * time, source, rows and checksum of every table, the latest audit hash);
 * `meditrack restore` checks a file against its manifest and copies it into
 * an empty database of any engine through the copy engine. The scheduler
 * of `meditrack serve` calls copy_backup too. docs/backup.md describes the
 * file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "copy/copy_int.h"
#include "core/clock.h"
#include "core/log.h"

/* What a manifest says it is; restore refuses other formats and versions. */
#define MANIFEST_FORMAT "meditrack-backup"
#define MANIFEST_VERSION 1
#define BACKUP_PREFIX "meditrack-backup-"

void copy_utc_now(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void copy_quiet_log(void *ctx, enum mt_log_level level, const char *line)
{
    (void)ctx;
    mt_log(level >= MT_LOG_WARN ? level : MT_LOG_DEBUG, "%s", line);
}

void copy_backup_result_release(struct copy_backup_result *r)
{
    if (!r)
        return;
    free(r->file);
    free(r->revision);
    free(r->audit_hash);
    memset(r, 0, sizeof *r);
}

void copy_restore_result_release(struct copy_restore_result *r)
{
    if (!r)
        return;
    free(r->revision);
    free(r->created_at);
    copy_report_release(&r->copy);
    memset(r, 0, sizeof *r);
}

char *copy_backup_default_name(const char *dir)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    return mt_xasprintf("%s/" BACKUP_PREFIX "%04d%02d%02dT%02d%02d%02d.%03ldZ.db",
                        dir && *dir ? dir : ".", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* mkdir -p of the directory that holds path. */
static int make_parent(const char *path, struct mt_err *err)
{
    char *dir = mt_xstrdup(path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; *p && rc == 0; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                rc = mt_fail(err, errno == EACCES || errno == EROFS ? MT_EPERM : MT_EINVAL,
                             "cannot create directory %s: %s", dir, strerror(errno));
            *p = '/';
        }
        if (rc == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
            rc = mt_fail(err, errno == EACCES || errno == EROFS ? MT_EPERM : MT_EINVAL,
                         "cannot create directory %s: %s", dir, strerror(errno));
    }
    free(dir);
    return rc;
}

/* Removes a SQLite file and what SQLite and the migration lock keep beside it. */
static void remove_sqlite_file(const char *path)
{
    static const char *const tails[] = {"", "-wal", "-shm", "-journal", "-migrate.lock"};
    for (size_t i = 0; i < MT_ARRAY_LEN(tails); i++) {
        char *p = mt_xasprintf("%s%s", path, tails[i]);
        unlink(p);
        free(p);
    }
}

static int open_sqlite_file(const char *path, struct db_conn **out, struct mt_err *err)
{
    struct db_url u;
    memset(&u, 0, sizeof u);
    u.dialect = DB_SQLITE;
    u.path = mt_xstrdup(path);
    int rc = db_open(&u, out, err);
    db_url_release(&u);
    return rc;
}

/* ---- the manifest ----------------------------------------------------------------- */

/* The data tables of c: every table but the engines'. */
static int data_tables(struct db_conn *c, struct mt_strlist *out, struct mt_err *err)
{
    struct mt_strlist all;
    if (db_tables(c, &all, err) < 0)
        return -1;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < all.n; i++)
        if (!copy_engine_table(all.items[i]))
            mt_strlist_push(out, all.items[i]);
    mt_strlist_release(&all);
    return 0;
}

/* The head of the audit chain (revision 8c4d2b7e1f05, docs/audit.md): the
 * number and hash of its last row, as `meditrack audit head` prints them.
 * The manifest keeps them, so that a later rewrite of the whole chain in
 * the live database shows against any backup (`audit verify --anchor`). */
struct audit_point {
    bool present; /* the database has the chain's tables */
    int64_t seq;  /* 0: the chain is empty */
    char *hash;   /* malloc'ed when present */
};

#define AUDIT_LOG_TABLE "audit_log"
#define AUDIT_HEAD_TABLE "audit_head"

static int audit_point_read(struct db_conn *c, const struct mt_strlist *tables,
                            struct audit_point *out, struct mt_err *err)
{
    memset(out, 0, sizeof *out);
    if (!mt_strlist_has(tables, AUDIT_LOG_TABLE) || !mt_strlist_has(tables, AUDIT_HEAD_TABLE))
        return 0;
    struct db_stmt *st;
    if (db_query(c, "SELECT seq, hash FROM " AUDIT_HEAD_TABLE " WHERE id = 1", NULL, 0, &st, err) <
        0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1) {
        size_t len = 0;
        const char *h = db_col_text(st, 1, &len);
        out->seq = db_col_int(st, 0);
        out->hash = mt_xstrndup(h ? h : "", h ? len : 0);
        out->present = true;
    }
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ECONFLICT, "the audit chain has no head record (table %s is empty)",
                       AUDIT_HEAD_TABLE);
    return 0;
}

static void audit_point_release(struct audit_point *p)
{
    free(p->hash);
    memset(p, 0, sizeof *p);
}

/* Rows and checksum of every data table of c, as a JSON array; adds the
 * rows to *rows. */
static int sum_tables(struct db_conn *c, const struct mt_strlist *tables, json_t *arr,
                      int64_t *rows, struct mt_err *err)
{
    for (size_t i = 0; i < tables->n; i++) {
        struct copy_table d;
        if (copy_table_describe(c, tables->items[i], NULL, &d, err) < 0)
            return -1;
        int64_t n = 0;
        char sum[COPY_SUM_LEN];
        int rc = copy_table_sum(c, &d, NULL, NULL, &n, sum, err);
        copy_table_release(&d);
        if (rc < 0)
            return -1;
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s}", "name", tables->items[i], "rows",
                                             (json_int_t)n, "sha256", sum));
        *rows += n;
    }
    return 0;
}

static int write_manifest(struct db_conn *c, json_t *m, struct mt_err *err)
{
    if (db_exec(c,
                "CREATE TABLE " COPY_MANIFEST_TABLE " (id INTEGER NOT NULL PRIMARY KEY CHECK (id "
                "= 1), format INTEGER NOT NULL, created_at VARCHAR(40) NOT NULL, revision "
                "VARCHAR(32) NOT NULL, manifest TEXT NOT NULL)",
                err) < 0)
        return -1;
    char *text = json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    struct db_param p[] = {
        DB_INT(MANIFEST_VERSION), DB_TEXT(json_string_value(json_object_get(m, "created_at"))),
        DB_TEXT(json_string_value(json_object_get(m, "revision"))), DB_TEXT(text)};
    int rc = db_query(c,
                      "INSERT INTO " COPY_MANIFEST_TABLE
                      " (id, format, created_at, revision, manifest) VALUES (1, ?, ?, ?, ?)",
                      p, 4, NULL, err);
    free(text);
    return rc;
}

/* ---- backup ------------------------------------------------------------------------ */

/* Everything after the data is in the partial file bk: checks its revision,
 * sums its tables, stores the manifest, and leaves it as one file. */
static int finish_backup(struct db_conn *bk, struct db_conn *src, const char *rev,
                         const char *method, uint64_t t0, struct copy_backup_result *out,
                         struct mt_err *err)
{
    char *at = NULL;
    if (mig_current(bk, &at, err) < 0)
        return -1;
    bool same = at && strcmp(at, rev) == 0;
    free(at);
    if (!same)
        return mt_fail(err, MT_EINTERNAL, "the backup is not at the source's revision %s", rev);
    struct mt_strlist tables;
    if (data_tables(bk, &tables, err) < 0)
        return -1;
    json_t *arr = json_array();
    struct audit_point ap = {0};
    int rc = sum_tables(bk, &tables, arr, &out->rows, err);
    if (rc == 0)
        rc = audit_point_read(bk, &tables, &ap, err);
    out->tables = tables.n;
    mt_strlist_release(&tables);
    if (rc < 0) {
        json_decref(arr);
        return -1;
    }
    char now[40];
    copy_utc_now(now, sizeof now);
    char *label = mt_xstrdup(db_conn_label(src));
    out->duration_ms = (int64_t)(mt_mono_ms() - t0);
    json_t *m =
        json_pack("{s:s, s:i, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:o, s:o, s:o, s:o, s:I}",
                  "format", MANIFEST_FORMAT, "version", MANIFEST_VERSION, "created_at", now,
                  "revision", rev, "source", "dialect", db_dialect_name(db_conn_dialect(src)),
                  "database", label, "method", method, "checksum",
                  "sha256 of canonical rows (meditrack-rows-v1)", "tables", arr, "audit_hash",
                  ap.present ? json_string(ap.hash) : json_null(), "audit_seq",
                  ap.present ? json_integer((json_int_t)ap.seq) : json_null(), "audit",
                  ap.present ? json_pack("{s:s, s:s}", "table", AUDIT_LOG_TABLE, "head",
                                         AUDIT_HEAD_TABLE)
                             : json_null(),
                  "duration_ms", (json_int_t)out->duration_ms);
    free(label);
    rc = m ? write_manifest(bk, m, err) : mt_fail(err, MT_EINTERNAL, "cannot build the manifest");
    json_decref(m);
    /* One self-contained file (no -wal beside it) that any SQLite opens. */
    if (rc == 0)
        rc = db_exec(bk, "PRAGMA journal_mode = DELETE", err);
    if (rc == 0 && ap.present) {
        out->audit_hash = ap.hash;
        out->audit_seq = ap.seq;
        ap.hash = NULL;
    }
    audit_point_release(&ap);
    return rc;
}

int copy_backup(struct db_conn *src, const struct mig_chain *ch, const char *path,
                const struct copy_options *o, struct copy_backup_result *out, struct mt_err *err)
{
    memset(out, 0, sizeof *out);
    uint64_t t0 = mt_mono_ms();
    struct stat sb;
    if (stat(path, &sb) == 0)
        return mt_fail(err, MT_ECONFLICT, "%s exists: a backup never replaces a file", path);
    char *rev = NULL;
    if (copy_source_revision(src, ch, false, &rev, err) < 0)
        return -1;
    if (make_parent(path, err) < 0) {
        free(rev);
        return -1;
    }
    char *partial = mt_xasprintf("%s.partial", path);
    remove_sqlite_file(partial); /* a leftover of a backup that died */
    struct db_conn *bk = NULL;
    const char *method;
    int rc;
    if (db_conn_dialect(src) == DB_SQLITE) {
        /* The online backup API copies every page as of one moment, while
         * writers go on. */
        method = "sqlite-online-backup";
        rc = db_sqlite_backup(src, partial, err);
        if (rc == 0)
            rc = open_sqlite_file(partial, &bk, err);
    } else {
        method = "snapshot-copy";
        rc = open_sqlite_file(partial, &bk, err);
        if (rc == 0) {
            struct copy_report rep;
            copy_report_init(&rep);
            rc = copy_run(src, bk, ch, rev, o, &rep, err);
            copy_report_release(&rep);
        }
    }
    if (rc == 0)
        rc = finish_backup(bk, src, rev, method, t0, out, err);
    if (bk)
        db_close(bk);
    if (rc == 0 && rename(partial, path) < 0)
        rc = mt_fail(err, errno == EACCES ? MT_EPERM : MT_EINVAL, "cannot rename %s to %s: %s",
                     partial, path, strerror(errno));
    remove_sqlite_file(partial);
    if (rc == 0) {
        char *lock = mt_xasprintf("%s-migrate.lock", path);
        unlink(lock);
        free(lock);
        out->file = mt_xstrdup(path);
        out->revision = rev;
        out->duration_ms = (int64_t)(mt_mono_ms() - t0);
    } else {
        free(rev);
        copy_backup_result_release(out);
    }
    free(partial);
    return rc;
}

static int cmp_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

void copy_backup_prune(const char *dir, int keep)
{
    DIR *dh = opendir(dir && *dir ? dir : ".");
    if (!dh) {
        mt_log(MT_LOG_WARN, "backup: cannot list %s to prune old backups: %s", dir,
               strerror(errno));
        return;
    }
    struct mt_strlist names = {0};
    struct dirent *e;
    size_t plen = strlen(BACKUP_PREFIX);
    while ((e = readdir(dh)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > plen + 3 && strncmp(e->d_name, BACKUP_PREFIX, plen) == 0 &&
            strcmp(e->d_name + n - 3, ".db") == 0)
            mt_strlist_push(&names, e->d_name);
    }
    closedir(dh);
    /* The names carry their UTC time, so name order is time order. */
    if (names.n)
        qsort(names.items, names.n, sizeof *names.items, cmp_desc);
    for (size_t i = keep > 0 ? (size_t)keep : 1; i < names.n; i++) {
        char *p = mt_xasprintf("%s/%s", dir && *dir ? dir : ".", names.items[i]);
        if (unlink(p) == 0)
            mt_log(MT_LOG_INFO, "backup: removed old backup %s (BACKUP_KEEP=%d)", p, keep);
        else
            mt_log(MT_LOG_WARN, "backup: cannot remove old backup %s: %s", p, strerror(errno));
        free(p);
    }
    mt_strlist_release(&names);
}

/* ---- restore ------------------------------------------------------------------------ */

/* Copies the file at from to a new temporary file (*to, malloc'ed), so that
 * the backup itself is only ever read (it may be read-only, or on a medium
 * that must not change). */
static int temp_copy(const char *from, char **to, struct mt_err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return mt_fail(err, errno == ENOENT ? MT_ENOTFOUND : MT_EPERM, "cannot read %s: %s", from,
                       strerror(errno));
    char *tmp = mt_xstrdup(P_tmpdir "/meditrack-restore-XXXXXX");
    int out = mkstemp(tmp);
    if (out < 0) {
        int e = errno;
        close(in);
        free(tmp);
        return mt_fail(err, MT_EPERM, "cannot create a temporary file in %s: %s", P_tmpdir,
                       strerror(e));
    }
    char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = mt_fail(err, MT_EPERM, "cannot read %s: %s", from, strerror(errno));
            break;
        }
        for (ssize_t w = 0; w < n && rc == 0;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno != EINTR)
                rc = mt_fail(err, errno == ENOSPC ? MT_ENOSPC : MT_EPERM, "cannot write %s: %s",
                             tmp, strerror(errno));
            else if (k > 0)
                w += k;
        }
        if (rc < 0)
            break;
    }
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = mt_fail(err, MT_EPERM, "cannot write %s: %s", tmp, strerror(errno));
    if (rc < 0) {
        unlink(tmp);
        free(tmp);
        return -1;
    }
    *to = tmp;
    return 0;
}

/* Reads the manifest of bk (a new reference in *out). */
static int read_manifest(struct db_conn *bk, const char *file, json_t **out, struct mt_err *err)
{
    bool exists = false;
    if (db_table_exists(bk, COPY_MANIFEST_TABLE, &exists, err) < 0)
        return mt_err_wrap(err, "%s is not a readable SQLite database", file);
    if (!exists)
        return mt_fail(err, MT_ECONFLICT,
                       "%s is not a meditrack backup: it has no table " COPY_MANIFEST_TABLE, file);
    char *text = NULL;
    if (db_query_text(bk, "SELECT manifest FROM " COPY_MANIFEST_TABLE " WHERE id = 1", NULL, 0,
                      &text, err) < 0)
        return -1;
    json_error_t je;
    json_t *m = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    const char *format = json_string_value(json_object_get(m, "format"));
    json_int_t version = json_integer_value(json_object_get(m, "version"));
    if (!m || !format || strcmp(format, MANIFEST_FORMAT) != 0 ||
        !json_is_string(json_object_get(m, "revision")) ||
        !json_is_array(json_object_get(m, "tables"))) {
        json_decref(m);
        return mt_fail(err, MT_ECONFLICT,
                       "%s is not a meditrack backup: its manifest is unreadable", file);
    }
    if (version != MANIFEST_VERSION) {
        json_decref(m);
        return mt_fail(err, MT_ECONFLICT,
                       "%s has a manifest of version %lld, which this program does not read (made "
                       "by a newer version?)",
                       file, (long long)version);
    }
    *out = m;
    return 0;
}

/* Checks every table of bk against the manifest m: the same tables, and
 * for each the same rows and checksum; then the audit hash. */
static int check_against_manifest(struct db_conn *bk, const char *file, json_t *m,
                                  struct mt_err *err)
{
    struct mt_strlist tables;
    if (data_tables(bk, &tables, err) < 0)
        return -1;
    json_t *arr = json_object_get(m, "tables");
    int rc = 0;
    if (json_array_size(arr) != tables.n)
        rc = mt_fail(err, MT_ECONFLICT,
                     "backup %s is damaged: it has %zu tables, its manifest lists %zu", file,
                     tables.n, json_array_size(arr));
    for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *want = json_string_value(json_object_get(e, "sha256"));
        json_int_t want_rows = json_integer_value(json_object_get(e, "rows"));
        if (!name || !want || !mt_strlist_has(&tables, name)) {
            rc = mt_fail(err, MT_ECONFLICT,
                         "backup %s is damaged: its manifest lists a table it does not have", file);
            break;
        }
        struct copy_table d;
        if ((rc = copy_table_describe(bk, name, NULL, &d, err)) < 0)
            break;
        int64_t rows = 0;
        char sum[COPY_SUM_LEN];
        rc = copy_table_sum(bk, &d, NULL, NULL, &rows, sum, err);
        copy_table_release(&d);
        if (rc == 0 && (rows != want_rows || strcmp(sum, want) != 0))
            rc = mt_fail(err, MT_ECONFLICT,
                         "backup %s is damaged: table %s has %lld rows and checksum %.12s..., its "
                         "manifest says %lld rows and %.12s...",
                         file, name, (long long)rows, sum, (long long)want_rows, want);
    }
    struct audit_point ap = {0};
    if (rc == 0)
        rc = audit_point_read(bk, &tables, &ap, err);
    const char *want_hash = json_string_value(json_object_get(m, "audit_hash"));
    json_t *want_seq = json_object_get(m, "audit_seq");
    bool same = want_hash ? ap.present && strcmp(want_hash, ap.hash) == 0 &&
                                (!json_is_integer(want_seq) ||
                                 json_integer_value(want_seq) == (json_int_t)ap.seq)
                          : !ap.present;
    if (rc == 0 && !same)
        rc = mt_fail(err, MT_ECONFLICT,
                     "backup %s is damaged: its audit chain's head is not the manifest's", file);
    audit_point_release(&ap);
    mt_strlist_release(&tables);
    return rc;
}

int copy_restore(const char *file, struct db_conn *dst, const struct mig_chain *ch,
                 const struct copy_options *o, struct copy_restore_result *out, struct mt_err *err)
{
    memset(out, 0, sizeof *out);
    copy_report_init(&out->copy);
    char *tmp = NULL;
    if (temp_copy(file, &tmp, err) < 0)
        return -1;
    struct db_conn *bk = NULL;
    json_t *m = NULL;
    char *at = NULL, *rev = NULL;
    int rc = open_sqlite_file(tmp, &bk, err);
    if (rc < 0)
        mt_err_wrap(err, "%s is not a readable SQLite database", file);
    if (rc == 0)
        rc = read_manifest(bk, file, &m, err);
    if (rc == 0) {
        out->revision = mt_xstrdup(json_string_value(json_object_get(m, "revision")));
        const char *created = json_string_value(json_object_get(m, "created_at"));
        out->created_at = mt_xstrdup(created ? created : "");
        rc = mig_current(bk, &at, err);
    }
    if (rc == 0 && (!at || strcmp(at, out->revision) != 0))
        rc = mt_fail(err, MT_ECONFLICT,
                     "backup %s is damaged: it is at revision %s, its manifest says %s", file,
                     at ? at : "base", out->revision);
    if (rc == 0 && !mig_chain_find(ch, out->revision))
        rc = mt_fail(err, MT_ECONFLICT,
                     "backup %s is at revision %s, which this program does not know (it was made "
                     "by a newer version: restore it with that one)",
                     file, out->revision);
    if (rc == 0)
        rc = check_against_manifest(bk, file, m, err);
    const struct mig_revision *head = mig_chain_head(ch);
    if (rc == 0 && head && strcmp(head->id, out->revision) != 0) {
        /* An older backup is brought to head on the temporary copy, by the
         * same revisions (and repairs) an upgrade in place would run. */
        struct mig_options mo;
        mig_options_init(&mo);
        mo.backup = false;
        mo.log = o ? o->log : NULL;
        mo.log_ctx = o ? o->log_ctx : NULL;
        rc = mig_upgrade(bk, ch, "head", &mo, err);
        if (rc < 0)
            mt_err_wrap(err, "upgrading the backup from %s to head", out->revision);
        out->upgraded = rc == 0;
    }
    if (rc == 0)
        rc = copy_source_revision(bk, ch, true, &rev, err);
    if (rc == 0)
        rc = copy_run(bk, dst, ch, rev, o, &out->copy, err);
    json_decref(m);
    free(at);
    free(rev);
    if (bk)
        db_close(bk);
    remove_sqlite_file(tmp);
    free(tmp);
    return rc;
}
