/* Canonical row values and table checksums: what a column holds whatever
 * each engine calls it (copy_class_of), one text per value that is the
 * same on SQLite, PostgreSQL and MariaDB for the same data (integers in
 * decimal, booleans 0/1, instants in UTC to the microsecond, text byte for
 * byte), and the SHA-256 of a table's rows in that form. The copy, its
 * verification, the backups' manifests and the restore all sum tables here,
 * so that a sum computed on one engine can be compared with one computed on
 * another (docs/backup.md, "Checksums"). */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "copy/copy_int.h"
#include "core/mtime.h"
#include "core/str.h"

bool copy_engine_table(const char *table)
{
    static const char *const engine[] = {"alembic_version", MIG_AUDIT_TABLE, COPY_BACKUP_LOG_TABLE,
                                         COPY_MANIFEST_TABLE, "sqlite_sequence"};
    for (size_t i = 0; i < MT_ARRAY_LEN(engine); i++)
        if (strcmp(table, engine[i]) == 0)
            return true;
    return false;
}

/* ---- classes ---------------------------------------------------------------- */

/* The first word of a type ("character varying(255)" -> "character"), in w. */
static void first_word(const char *type, char *w, size_t cap)
{
    size_t n = 0;
    while (type[n] && type[n] != '(' && type[n] != ' ' && n + 1 < cap) {
        w[n] = type[n];
        n++;
    }
    w[n] = '\0';
}

static bool word_in(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

/* SQLite takes any text as a type; its affinity rules look for substrings
 * ("INT" anywhere means integer). The names our drivers canonicalize
 * (TIMESTAMP, DATETIME) and BOOLEAN are checked before them. */
static enum copy_class sqlite_class(const char *t)
{
    if (strstr(t, "bool"))
        return COPY_BOOL;
    if (strstr(t, "timestamp") || strstr(t, "datetime"))
        return COPY_TIMESTAMP;
    if (strncmp(t, "date", 4) == 0)
        return COPY_DATE;
    if (strncmp(t, "time", 4) == 0)
        return COPY_TIME;
    if (strstr(t, "json"))
        return COPY_JSON;
    if (strstr(t, "int"))
        return COPY_INT;
    if (strstr(t, "char") || strstr(t, "clob") || strstr(t, "text"))
        return COPY_TEXT;
    if (strstr(t, "blob"))
        return COPY_BLOB;
    if (strstr(t, "real") || strstr(t, "floa") || strstr(t, "doub"))
        return COPY_FLOAT;
    if (strstr(t, "numeric") || strstr(t, "decimal"))
        return COPY_DECIMAL;
    return COPY_TEXT;
}

enum copy_class copy_class_of(enum db_dialect d, const char *type)
{
    if (!type)
        return COPY_TEXT;
    if (d == DB_SQLITE)
        return sqlite_class(type);
    char w[32];
    first_word(type, w, sizeof w);
    static const char *const ints[] = {"integer",   "int",       "bigint",      "smallint",
                                       "mediumint", "int2",      "int4",        "int8",
                                       "serial",    "bigserial", "smallserial", "year"};
    static const char *const blobs[] = {"bytea",    "blob",   "tinyblob", "mediumblob",
                                        "longblob", "binary", "varbinary"};
    if (strcmp(w, "boolean") == 0 || strcmp(w, "bool") == 0)
        return COPY_BOOL;
    if (strcmp(w, "tinyint") == 0)
        return d == DB_MYSQL && strncmp(type, "tinyint(1)", 10) == 0 ? COPY_BOOL : COPY_INT;
    if (word_in(w, ints, MT_ARRAY_LEN(ints)))
        return COPY_INT;
    if (strncmp(w, "timestamp", 9) == 0 || strcmp(w, "datetime") == 0)
        return COPY_TIMESTAMP;
    if (strcmp(w, "date") == 0)
        return COPY_DATE;
    /* A time with a zone is a different thing on every engine: kept as text. */
    if (strcmp(w, "time") == 0)
        return strstr(type, "with time zone") ? COPY_TEXT : COPY_TIME;
    if (strcmp(w, "json") == 0 || strcmp(w, "jsonb") == 0)
        return COPY_JSON;
    if (word_in(w, blobs, MT_ARRAY_LEN(blobs)))
        return COPY_BLOB;
    if (strcmp(w, "numeric") == 0 || strcmp(w, "decimal") == 0)
        return COPY_DECIMAL;
    /* PostgreSQL's real and MariaDB's FLOAT hold single precision; MariaDB's
     * REAL is a DOUBLE, PostgreSQL's float without a precision is double. */
    if (strcmp(w, "float4") == 0 || (d == DB_POSTGRES && strcmp(w, "real") == 0) ||
        (d == DB_MYSQL && strcmp(w, "float") == 0))
        return COPY_FLOAT4;
    if (strcmp(w, "double") == 0 || strcmp(w, "float8") == 0 || strcmp(w, "float") == 0 ||
        strcmp(w, "real") == 0)
        return COPY_FLOAT;
    return COPY_TEXT;
}

/* Character types: ordered byte-wise when they are a key. */
static bool char_type(enum db_dialect d, const char *type)
{
    if (d == DB_SQLITE)
        return strstr(type, "char") || strstr(type, "clob") || strstr(type, "text");
    char w[32];
    first_word(type, w, sizeof w);
    static const char *const chars[] = {"character",  "varchar",  "char",     "text", "tinytext",
                                        "mediumtext", "longtext", "nvarchar", "nchar"};
    return word_in(w, chars, MT_ARRAY_LEN(chars));
}

static bool is_pair(enum copy_class a, enum copy_class b, enum copy_class x, enum copy_class y)
{
    return (a == x && b == y) || (a == y && b == x);
}

enum copy_class copy_class_merge(enum copy_class a, enum copy_class b)
{
    if (a == b || b == COPY_TEXT)
        return a;
    if (a == COPY_TEXT)
        return b;
    if (is_pair(a, b, COPY_INT, COPY_BOOL))
        return COPY_BOOL;
    if (a == COPY_INT)
        return b == COPY_FLOAT || b == COPY_FLOAT4 || b == COPY_DECIMAL ? b : COPY_TEXT;
    if (b == COPY_INT)
        return a == COPY_FLOAT || a == COPY_FLOAT4 || a == COPY_DECIMAL ? a : COPY_TEXT;
    if (is_pair(a, b, COPY_FLOAT, COPY_FLOAT4))
        return COPY_FLOAT4;
    if (is_pair(a, b, COPY_DATE, COPY_TIMESTAMP))
        return COPY_TIMESTAMP;
    /* No common reading: both sides compare the text their driver gives. */
    return COPY_TEXT;
}

const char *copy_class_name(enum copy_class c)
{
    static const char *const names[] = {
        [COPY_TEXT] = "text",   [COPY_INT] = "integer",   [COPY_BOOL] = "boolean",
        [COPY_FLOAT] = "float", [COPY_FLOAT4] = "float4", [COPY_DECIMAL] = "decimal",
        [COPY_DATE] = "date",   [COPY_TIME] = "time",     [COPY_TIMESTAMP] = "timestamp",
        [COPY_BLOB] = "blob",   [COPY_JSON] = "json",
    };
    return (size_t)c < MT_ARRAY_LEN(names) ? names[c] : "?";
}

/* ---- tables ------------------------------------------------------------------ */

void copy_table_release(struct copy_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    free(t->cols);
    free(t->key);
    free(t->name);
    memset(t, 0, sizeof *t);
}

static const struct db_column *find_column(const struct db_column *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i].name, name) == 0)
            return &cols[i];
    /* MariaDB column names are case-insensitive. */
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(cols[i].name, name) == 0)
            return &cols[i];
    return NULL;
}

static int cmp_col(const void *a, const void *b)
{
    return strcmp(((const struct copy_col *)a)->name, ((const struct copy_col *)b)->name);
}

int copy_table_describe(struct db_conn *c, const char *table, struct db_conn *other,
                        struct copy_table *out, struct mt_err *err)
{
    memset(out, 0, sizeof *out);
    struct db_column *cc = NULL, *oc = NULL;
    size_t nc = 0, no = 0;
    if (db_columns(c, table, &cc, &nc, err) < 0)
        return -1;
    if (other && db_columns(other, table, &oc, &no, err) < 0) {
        db_columns_free(cc, nc);
        return -1;
    }
    int rc = 0;
    if (nc == 0) {
        rc = mt_fail(err, MT_ENOTFOUND, "table %s does not exist", table);
        goto out;
    }
    out->name = mt_xstrdup(table);
    out->cols = mt_xcalloc(nc, sizeof *out->cols);
    enum db_dialect dc = db_conn_dialect(c);
    for (size_t i = 0; i < nc; i++) {
        struct copy_col *col = &out->cols[out->ncols++];
        col->name = mt_xstrdup(cc[i].name);
        col->cls = copy_class_of(dc, cc[i].type);
        col->chars = char_type(dc, cc[i].type);
        if (!other)
            continue;
        const struct db_column *o = find_column(oc, no, cc[i].name);
        if (!o) {
            rc = mt_fail(err, MT_ECONFLICT,
                         "column %s.%s has no place in the target, whose %s has no such column "
                         "(were columns added by hand?)",
                         table, cc[i].name, no ? "table" : "schema");
            goto out;
        }
        enum db_dialect d2 = db_conn_dialect(other);
        col->cls = copy_class_merge(col->cls, copy_class_of(d2, o->type));
        col->chars = col->chars && char_type(d2, o->type);
    }
    qsort(out->cols, out->ncols, sizeof *out->cols, cmp_col);
    /* The order key: the primary key of the side rows are written to (the
     * same as the source's at one revision), in column-name order. */
    const struct db_column *kc = other ? oc : cc;
    size_t nk = other ? no : nc;
    out->key = mt_xcalloc(out->ncols, sizeof *out->key);
    for (size_t i = 0; i < out->ncols; i++) {
        const struct db_column *k = find_column(kc, nk, out->cols[i].name);
        if (k && k->pk)
            out->key[out->nkey++] = i;
    }
    /* Integers, booleans and character keys come in the same order from
     * every engine when character keys are compared byte-wise. */
    out->ordered = out->nkey > 0;
    for (size_t i = 0; i < out->nkey; i++) {
        const struct copy_col *k = &out->cols[out->key[i]];
        if (!(k->cls == COPY_INT || k->cls == COPY_BOOL || (k->cls == COPY_TEXT && k->chars)))
            out->ordered = false;
    }
    out->id_col = out->nkey == 1 && out->cols[out->key[0]].cls == COPY_INT ? (int)out->key[0] : -1;
out:
    if (rc < 0)
        copy_table_release(out);
    db_columns_free(cc, nc);
    db_columns_free(oc, no);
    return rc;
}

void copy_quote_ident(struct mt_buf *b, enum db_dialect d, const char *name)
{
    char q = d == DB_MYSQL ? '`' : '"';
    mt_buf_addc(b, q);
    for (const char *p = name; *p; p++) {
        if (*p == q)
            mt_buf_addc(b, q);
        mt_buf_addc(b, *p);
    }
    mt_buf_addc(b, q);
}

char *copy_select_sql(enum db_dialect d, const struct copy_table *t)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    mt_buf_adds(&b, "SELECT ");
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            mt_buf_adds(&b, ", ");
        copy_quote_ident(&b, d, t->cols[i].name);
    }
    mt_buf_adds(&b, " FROM ");
    copy_quote_ident(&b, d, t->name);
    for (size_t i = 0; t->ordered && i < t->nkey; i++) {
        const struct copy_col *k = &t->cols[t->key[i]];
        mt_buf_adds(&b, i ? ", " : " ORDER BY ");
        bool bytes = k->cls == COPY_TEXT && k->chars;
        if (d == DB_MYSQL && bytes)
            mt_buf_adds(&b, "BINARY ");
        copy_quote_ident(&b, d, k->name);
        if (d == DB_POSTGRES && bytes)
            mt_buf_adds(&b, " COLLATE \"C\"");
        if (d == DB_SQLITE && bytes)
            mt_buf_adds(&b, " COLLATE BINARY");
        /* SQLite and MariaDB sort NULL first; PostgreSQL last by default. */
        if (d == DB_POSTGRES)
            mt_buf_adds(&b, " NULLS FIRST");
    }
    return mt_buf_detach(&b, NULL);
}

/* ---- values ------------------------------------------------------------------- */

/* The value itself is not quoted: it may be health data (a name in the
 * wrong column), which messages and logs never carry. */
static int bad_value(struct mt_err *err, const char *table, const char *column, const char *what,
                     const char *p, size_t len)
{
    (void)p;
    return mt_fail(err, MT_ECONFLICT,
                   "%s.%s holds a value (%zu bytes) that is not %s, so no other engine could "
                   "store it as it is",
                   table, column, len, what);
}

/* A whole decimal integer without sign tricks ("+1", " 1", "1.0" are not). */
static bool parse_int(const char *p, size_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    char tmp[24];
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    size_t i = tmp[0] == '-' ? 1 : 0;
    if (!tmp[i])
        return false;
    for (size_t k = i; tmp[k]; k++)
        if (!isdigit((unsigned char)tmp[k]))
            return false;
    errno = 0;
    char *end;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_real(const char *p, size_t len, double *out)
{
    if (len == 0 || len > 60)
        return false;
    char tmp[64];
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    if (isspace((unsigned char)tmp[0]))
        return false;
    char *end;
    double d = strtod(tmp, &end);
    if (*end)
        return false;
    *out = d;
    return true;
}

/* The same for a single-precision value: engines print such a column with
 * as few digits as read back to the same float, and the sum must too. */
static void format_float(double d, char *buf, size_t cap)
{
    float f = (float)d;
    if (isnan(f) || isinf(f)) {
        mt_format_double(d, buf, cap);
        return;
    }
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, cap, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            return;
    }
}

/* A decimal number without its leading zeros, trailing fraction zeros and
 * the sign of zero: "-0012.3400" -> "-12.34" (PostgreSQL prints numeric
 * with its scale, SQLite as the number it stored). */
static bool canon_decimal(const char *p, size_t len, char *buf, size_t cap)
{
    double d;
    if (!parse_real(p, len, &d))
        return false;
    if (memchr(p, 'e', len) || memchr(p, 'E', len) || isnan(d) || isinf(d)) {
        mt_format_double(d, buf, cap);
        return true;
    }
    bool neg = len && p[0] == '-';
    size_t i = neg || (len && p[0] == '+') ? 1 : 0;
    while (i + 1 < len && p[i] == '0' && p[i + 1] != '.')
        i++;
    size_t end = len;
    if (memchr(p + i, '.', end - i)) {
        while (end > i && p[end - 1] == '0')
            end--;
        if (end > i && p[end - 1] == '.')
            end--;
    }
    if (end - i + 2 > cap)
        return false;
    bool zero = true;
    for (size_t k = i; k < end; k++)
        if (p[k] >= '1' && p[k] <= '9')
            zero = false;
    size_t n = 0;
    if (neg && !zero)
        buf[n++] = '-';
    if (end == i || p[i] == '.')
        buf[n++] = '0';
    memcpy(buf + n, p + i, end - i);
    buf[n + end - i] = '\0';
    return true;
}

/* [-]H:MM[:SS[.f]] as [-]HH:MM:SS[.ffffff]. */
static bool canon_time(const char *p, size_t len, char *buf, size_t cap)
{
    size_t i = 0;
    bool neg = len && p[0] == '-';
    if (neg)
        i++;
    int h = 0, m = 0, s = 0, us = 0, hd = 0;
    while (i < len && isdigit((unsigned char)p[i]) && hd < 3)
        h = h * 10 + (p[i++] - '0'), hd++;
    if (hd == 0 || i + 3 > len || p[i] != ':' || !isdigit((unsigned char)p[i + 1]) ||
        !isdigit((unsigned char)p[i + 2]))
        return false;
    m = (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
    i += 3;
    if (i < len) {
        if (i + 3 > len || p[i] != ':' || !isdigit((unsigned char)p[i + 1]) ||
            !isdigit((unsigned char)p[i + 2]))
            return false;
        s = (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
        i += 3;
        if (i < len) {
            if (p[i] != '.' || i + 1 >= len)
                return false;
            int digits = 0;
            for (i++; i < len; i++, digits++) {
                if (!isdigit((unsigned char)p[i]))
                    return false;
                if (digits < 6)
                    us = us * 10 + (p[i] - '0');
            }
            for (; digits < 6; digits++)
                us *= 10;
        }
    }
    if (m > 59 || s > 59)
        return false;
    if (us)
        snprintf(buf, cap, "%s%02d:%02d:%02d.%06d", neg ? "-" : "", h, m, s, us);
    else
        snprintf(buf, cap, "%s%02d:%02d:%02d", neg ? "-" : "", h, m, s);
    return true;
}

static int read_bool(const char *p, size_t len, int64_t *out)
{
    static const char *const yes[] = {"1", "t", "true"}, *const no[] = {"0", "f", "false"};
    for (size_t i = 0; i < MT_ARRAY_LEN(yes); i++) {
        if (strlen(yes[i]) == len && strncasecmp(p, yes[i], len) == 0) {
            *out = 1;
            return 0;
        }
        if (strlen(no[i]) == len && strncasecmp(p, no[i], len) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static void set_canon(struct copy_field *f, const char *text)
{
    f->p = f->buf;
    f->len = strlen(text);
    if (text != f->buf)
        memmove(f->buf, text, f->len + 1);
}

int copy_field_read(struct db_stmt *st, int i, enum copy_class cls, const char *table,
                    const char *column, struct copy_field *f, struct mt_err *err)
{
    memset(f, 0, sizeof *f);
    if (db_col_null(st, i)) {
        f->null = true;
        return 0;
    }
    size_t len = 0;
    const char *p = db_col_text(st, i, &len);
    if (!p) {
        f->null = true;
        return 0;
    }
    f->p = p;
    f->len = len;
    switch (cls) {
    case COPY_TEXT:
    case COPY_BLOB:
        return 0;
    case COPY_JSON: {
        json_error_t je;
        json_t *j = json_loadb(p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (j) {
            f->canon = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
            json_decref(j);
        }
        return 0;
    }
    case COPY_INT:
        if (!parse_int(p, len, &f->i))
            return bad_value(err, table, column, "an integer", p, len);
        snprintf(f->buf, sizeof f->buf, "%lld", (long long)f->i);
        set_canon(f, f->buf);
        return 0;
    case COPY_BOOL:
        if (read_bool(p, len, &f->i) < 0)
            return bad_value(err, table, column, "a boolean (0 or 1)", p, len);
        set_canon(f, f->i ? "1" : "0");
        return 0;
    case COPY_FLOAT:
    case COPY_FLOAT4:
        if (!parse_real(p, len, &f->d))
            return bad_value(err, table, column, "a number", p, len);
        if (cls == COPY_FLOAT4)
            format_float(f->d, f->buf, sizeof f->buf);
        else
            mt_format_double(f->d, f->buf, sizeof f->buf);
        set_canon(f, f->buf);
        return 0;
    case COPY_DECIMAL:
        if (!canon_decimal(p, len, f->buf, sizeof f->buf))
            return bad_value(err, table, column, "a decimal number", p, len);
        set_canon(f, f->buf);
        return 0;
    case COPY_DATE: {
        struct mt_timestamp_text t;
        if (mt_scan_timestamp(p, len, MT_TS_STORED, &t) ||
            (t.has_time && (t.hour || t.minute || t.second || t.usec || t.zone_len)))
            return bad_value(err, table, column, "a date (YYYY-MM-DD)", p, len);
        mt_format_date(t.date, f->buf, sizeof f->buf);
        set_canon(f, f->buf);
        return 0;
    }
    case COPY_TIME:
        if (!canon_time(p, len, f->buf, sizeof f->buf))
            return bad_value(err, table, column, "a time of day (HH:MM:SS)", p, len);
        set_canon(f, f->buf);
        return 0;
    case COPY_TIMESTAMP: {
        /* As an instant: a naive value is UTC (docs/schema.md 4.5), a zone
         * is applied, a date alone is its midnight. */
        int64_t us;
        if (mt_parse_timestamp(p, len, &us) < 0)
            return bad_value(err, table, column, "a timestamp", p, len);
        mt_format_db(us, f->buf, sizeof f->buf);
        set_canon(f, f->buf);
        return 0;
    }
    }
    return 0;
}

void copy_field_release(struct copy_field *f)
{
    free(f->canon);
    f->canon = NULL;
}

static void add_escaped(struct mt_buf *row, const char *p, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (p[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        mt_buf_add(row, p + run, i - run);
        mt_buf_adds(row, esc);
        run = i + 1;
    }
    mt_buf_add(row, p + run, len - run);
}

void copy_field_canon(const struct copy_field *f, enum copy_class cls, struct mt_buf *row)
{
    if (f->null) {
        mt_buf_adds(row, "\\N");
        return;
    }
    if (cls == COPY_BLOB) {
        static const char hex[] = "0123456789abcdef";
        mt_buf_adds(row, "\\x");
        for (size_t i = 0; i < f->len; i++) {
            unsigned char c = (unsigned char)f->p[i];
            char two[2] = {hex[c >> 4], hex[c & 15]};
            mt_buf_add(row, two, 2);
        }
        return;
    }
    if (cls == COPY_JSON && f->canon) {
        add_escaped(row, f->canon, strlen(f->canon));
        return;
    }
    add_escaped(row, f->p, f->len);
}

int copy_canon_row(struct db_stmt *st, const struct copy_table *t, struct mt_buf *row,
                   struct mt_err *err)
{
    for (size_t i = 0; i < t->ncols; i++) {
        struct copy_field f;
        if (copy_field_read(st, (int)i, t->cols[i].cls, t->name, t->cols[i].name, &f, err) < 0)
            return -1;
        if (i)
            mt_buf_addc(row, '\t');
        copy_field_canon(&f, t->cols[i].cls, row);
        copy_field_release(&f);
    }
    mt_buf_addc(row, '\n');
    return 0;
}

/* ---- checksums ------------------------------------------------------------------ */

struct copy_sum {
    crypto_hash_sha256_state h;
    bool ordered;
    unsigned char (*dig)[crypto_hash_sha256_BYTES];
    size_t n, cap;
    int64_t rows;
};

/* The version of the canonical form; a change to it must change this. */
#define SUM_HEADER "meditrack-rows-v1\n"

struct copy_sum *copy_sum_new(const struct copy_table *t)
{
    /* sodium_init is idempotent and thread-safe; the hash needs no more. */
    if (sodium_init() < 0)
        mt_log(MT_LOG_WARN, "libsodium did not initialise; hashing goes on regardless");
    struct copy_sum *s = mt_xcalloc(1, sizeof *s);
    s->ordered = t->ordered;
    crypto_hash_sha256_init(&s->h);
    crypto_hash_sha256_update(&s->h, (const unsigned char *)SUM_HEADER, strlen(SUM_HEADER));
    for (size_t i = 0; i < t->ncols; i++) {
        const char *name = t->cols[i].name;
        crypto_hash_sha256_update(&s->h, (const unsigned char *)name, strlen(name));
        crypto_hash_sha256_update(&s->h, (const unsigned char *)(i + 1 < t->ncols ? "\t" : "\n"),
                                  1);
    }
    return s;
}

void copy_sum_row(struct copy_sum *s, const char *row, size_t len)
{
    s->rows++;
    if (s->ordered) {
        crypto_hash_sha256_update(&s->h, (const unsigned char *)row, len);
        return;
    }
    s->dig = mt_xgrow(s->dig, s->n, &s->cap, sizeof *s->dig);
    crypto_hash_sha256(s->dig[s->n++], (const unsigned char *)row, len);
}

static int cmp_digest(const void *a, const void *b)
{
    return memcmp(a, b, crypto_hash_sha256_BYTES);
}

void copy_sum_finish(struct copy_sum *s, char hex[COPY_SUM_LEN], int64_t *rows)
{
    if (!s->ordered && s->n) {
        qsort(s->dig, s->n, sizeof *s->dig, cmp_digest);
        for (size_t i = 0; i < s->n; i++)
            crypto_hash_sha256_update(&s->h, s->dig[i], sizeof s->dig[i]);
    }
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&s->h, out);
    sodium_bin2hex(hex, COPY_SUM_LEN, out, sizeof out);
    *rows = s->rows;
    copy_sum_free(s);
}

void copy_sum_free(struct copy_sum *s)
{
    if (!s)
        return;
    free(s->dig);
    free(s);
}

int copy_table_sum(struct db_conn *c, const struct copy_table *t, copy_progress_fn progress,
                   void *ctx, int64_t *rows, char hex[COPY_SUM_LEN], struct mt_err *err)
{
    char *sql = copy_select_sql(db_conn_dialect(c), t);
    struct db_stmt *st;
    int rc = db_query_stream(c, sql, NULL, 0, &st, err);
    free(sql);
    if (rc < 0)
        return -1;
    struct copy_sum *s = copy_sum_new(t);
    struct mt_buf row;
    mt_buf_init(&row, 0);
    while ((rc = db_next(st, err)) == 1) {
        mt_buf_reset(&row);
        if (copy_canon_row(st, t, &row, err) < 0) {
            rc = -1;
            break;
        }
        copy_sum_row(s, row.data, row.len);
        if (progress && s->rows % 20000 == 0)
            progress(ctx, "verify", t->name, s->rows, -1);
    }
    db_done(st);
    mt_buf_release(&row);
    if (rc < 0) {
        copy_sum_free(s);
        return -1;
    }
    copy_sum_finish(s, hex, rows);
    return 0;
}
