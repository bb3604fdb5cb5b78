/* Planning and the small services around it: the steps between two
 * revisions, run options, the hook registry and pre-flight callback that
 * src/schema/ plugs into, logging through the options, clocks, and the light
 * SQL scanning the engine needs (is a statement DML, what a script drops). */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "migrate/mig_int.h"

int mig_plan_make(const struct mig_chain *ch, const char *from, const char *to, bool upgrade,
                  struct mig_plan *out, struct mt_err *err)
{
    long a = mig_chain_pos(ch, from), b = mig_chain_pos(ch, to);
    if (a == -2)
        return mt_fail(err, MT_ENOTFOUND, "no such revision \"%s\"", from);
    if (b == -2)
        return mt_fail(err, MT_ENOTFOUND, "no such revision \"%s\"", to);
    if (upgrade && b < a)
        return mt_fail(err, MT_EINVAL,
                       "%s is below the current revision %s: not an upgrade target (use "
                       "downgrade)",
                       to ? to : "base", from);
    if (!upgrade && b > a)
        return mt_fail(err, MT_EINVAL,
                       "%s is above the current revision %s: not a downgrade target (use upgrade)",
                       to, from ? from : "base");
    size_t n = (size_t)(upgrade ? b - a : a - b);
    out->n = n;
    out->steps = n ? mt_xcalloc(n, sizeof(*out->steps)) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct mig_step *s = &out->steps[i];
        long pos = upgrade ? a + 1 + (long)i : a - (long)i;
        s->rev = &ch->revs[pos];
        s->upgrade = upgrade;
        if (upgrade) {
            s->from = s->rev->down_revision;
            s->to = s->rev->id;
        } else {
            s->from = s->rev->id;
            s->to = s->rev->down_revision;
        }
    }
    return 0;
}

void mig_plan_release(struct mig_plan *p)
{
    free(p->steps);
    p->steps = NULL;
    p->n = 0;
}

/* ---- hooks and the pre-flight callback ---------------------------------- */

#define MAX_HOOKS 64
static struct {
    char *name;
    mig_hook_fn fn;
} hooks[MAX_HOOKS];
static size_t n_hooks;
static mig_preflight_fn preflight;

int mig_hook_register(const char *name, mig_hook_fn fn)
{
    if (!name || !*name || !fn)
        return -1;
    for (size_t i = 0; i < n_hooks; i++)
        if (strcmp(hooks[i].name, name) == 0) {
            hooks[i].fn = fn;
            return 0;
        }
    if (n_hooks == MAX_HOOKS)
        return -1;
    hooks[n_hooks].name = mt_xstrdup(name);
    hooks[n_hooks].fn = fn;
    n_hooks++;
    return 0;
}

mig_hook_fn mig_hook_find(const char *name)
{
    for (size_t i = 0; name && i < n_hooks; i++)
        if (strcmp(hooks[i].name, name) == 0)
            return hooks[i].fn;
    return NULL;
}

void mig_set_preflight(mig_preflight_fn fn)
{
    preflight = fn;
}

mig_preflight_fn mig_get_preflight(void)
{
    return preflight;
}

/* ---- options ------------------------------------------------------------- */

void mig_options_init(struct mig_options *o)
{
    memset(o, 0, sizeof(*o));
    o->lock_timeout = 60;
    o->backup = true;
    o->backup_keep = 3;
    o->run_preflight = true;
}

void mig_options_from_config(struct mig_options *o, const struct mt_config *cfg)
{
    mig_options_init(o);
    if (!cfg)
        return;
    o->lock_timeout = cfg->migrate_lock_timeout;
    o->backup = cfg->backup_before_migrate;
}

/* ---- logging, clocks, crash points -------------------------------------- */

static void vlog_with(mig_log_fn fn, void *ctx, enum mt_log_level level, const char *fmt,
                      va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (fn)
        fn(ctx, level, line);
    else
        mt_log(level, "%s", line);
}

void mig_log_with(mig_log_fn fn, void *ctx, enum mt_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_with(fn, ctx, level, fmt, ap);
    va_end(ap);
}

void mig_logf(const struct mig_options *o, enum mt_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_with(o->log, o->log_ctx, level, fmt, ap);
    va_end(ap);
}

int64_t mig_now_ms(void)
{
    return (int64_t)mt_mono_ms();
}

/* The current UTC time with milliseconds, with the date's '-' and the
 * time's ':' or (for file names) without. */
static void utc_text(char *buf, size_t size, bool separators)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    const char *dash = separators ? "-" : "", *colon = separators ? ":" : "";
    snprintf(buf, size, "%04d%s%02d%s%02dT%02d%s%02d%s%02d.%03ldZ", tm.tm_year + 1900, dash,
             tm.tm_mon + 1, dash, tm.tm_mday, tm.tm_hour, colon, tm.tm_min, colon, tm.tm_sec,
             ts.tv_nsec / 1000000);
}

void mig_utc_now(char *buf, size_t size)
{
    utc_text(buf, size, true);
}

void mig_utc_stamp(char *buf, size_t size)
{
    utc_text(buf, size, false);
}

void mig_run_init(struct mig_run *r, struct db_conn *c, const struct mig_chain *ch,
                  const struct mig_options *o)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->ch = ch;
    r->o = o;
    r->d = c ? db_conn_dialect(c) : o->sql_dialect;
    if (gethostname(r->host, sizeof(r->host)) != 0)
        snprintf(r->host, sizeof(r->host), "unknown");
    r->host[sizeof(r->host) - 1] = '\0';
    r->pid = (int64_t)getpid();
}

void mig_crash_point(struct mig_run *r)
{
    r->crash_points++;
    if (r->o->crash_at > 0 && r->crash_points == r->o->crash_at) {
        fflush(NULL);
        raise(SIGKILL);
    }
}

/* ---- SQL scanning ---------------------------------------------------------- */

/* A word token of a script, or punctuation; comments and string literals are
 * skipped. The scanner only needs to find keywords and identifiers. */
struct token {
    char text[130];
    bool word;
};

static const char *skip_blank(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

/* Reads the next token at p into t; returns the position after it, or NULL at
 * the end. Quoted identifiers ("x", `x`) become words without their quotes. */
static const char *next_token(const char *p, struct token *t)
{
    p = skip_blank(p);
    if (!*p)
        return NULL;
    size_t n = 0;
    t->word = false;
    if (isalnum((unsigned char)*p) || *p == '_') {
        t->word = true;
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '$') {
            if (n + 1 < sizeof(t->text))
                t->text[n++] = *p;
            p++;
        }
    } else if (*p == '"' || *p == '`') {
        char q = *p++;
        t->word = true;
        while (*p && *p != q) {
            if (n + 1 < sizeof(t->text))
                t->text[n++] = *p;
            p++;
        }
        if (*p)
            p++;
    } else if (*p == '\'') {
        p++;
        while (*p) {
            if (*p == '\'' && p[1] == '\'') {
                p += 2;
                continue;
            }
            if (*p == '\'')
                break;
            p++;
        }
        if (*p)
            p++;
        t->text[n++] = '\'';
    } else {
        t->text[n++] = *p++;
    }
    t->text[n] = '\0';
    return p;
}

static bool kw(const struct token *t, const char *word)
{
    return t->word && strcasecmp(t->text, word) == 0;
}

bool mig_sql_is_dml(const char *sql)
{
    struct token t;
    if (!next_token(sql, &t))
        return false;
    static const char *const dml[] = {"INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH"};
    for (size_t i = 0; i < MT_ARRAY_LEN(dml); i++)
        if (kw(&t, dml[i]))
            return true;
    return false;
}

/* Reads an optional IF EXISTS and the following name into name. Returns the
 * position after it, or NULL. */
static const char *read_name(const char *p, char *name, size_t size)
{
    struct token t;
    p = next_token(p, &t);
    if (p && kw(&t, "IF")) {
        p = next_token(p, &t);
        if (p && kw(&t, "EXISTS"))
            p = next_token(p, &t);
    }
    if (!p || !t.word)
        return NULL;
    snprintf(name, size, "%s", t.text);
    return p;
}

void mig_sql_drops(const char *sql, struct mt_strlist *out)
{
    memset(out, 0, sizeof(*out));
    struct mt_strlist stmts = {0};
    struct mt_err err = {0};
    if (db_split_sql(sql, &stmts, &err) < 0)
        return;
    for (size_t i = 0; i < stmts.n; i++) {
        struct token t;
        const char *p = next_token(stmts.items[i], &t);
        if (!p)
            continue;
        char name[130], col[130], item[300];
        if (kw(&t, "DROP")) {
            p = next_token(p, &t);
            if (p && kw(&t, "TABLE")) {
                /* DROP TABLE a, b drops both. */
                while (p && (p = read_name(p, name, sizeof(name))) != NULL) {
                    snprintf(item, sizeof(item), "table %s", name);
                    mt_strlist_push(out, item);
                    const char *q = next_token(p, &t);
                    if (!q || strcmp(t.text, ",") != 0)
                        break;
                    p = q;
                }
            }
            continue;
        }
        if (!kw(&t, "ALTER"))
            continue;
        p = next_token(p, &t);
        if (!p || !kw(&t, "TABLE"))
            continue;
        p = next_token(p, &t);
        if (p && kw(&t, "ONLY"))
            p = next_token(p, &t);
        if (!p || !t.word)
            continue;
        snprintf(name, sizeof(name), "%s", t.text);
        /* Each "DROP [COLUMN] c" clause; DROP CONSTRAINT/INDEX/KEY/... drop no data. */
        for (p = next_token(p, &t); p; p = next_token(p, &t)) {
            if (!kw(&t, "DROP"))
                continue;
            const char *q = next_token(p, &t);
            if (!q)
                break;
            static const char *const other[] = {"CONSTRAINT", "INDEX",      "KEY",       "PRIMARY",
                                                "FOREIGN",    "CHECK",      "DEFAULT",   "NOT",
                                                "IDENTITY",   "EXPRESSION", "PARTITION", "UNIQUE"};
            bool skip = false;
            for (size_t k = 0; k < MT_ARRAY_LEN(other); k++)
                skip = skip || kw(&t, other[k]);
            if (skip) {
                p = q;
                continue;
            }
            const char *r =
                kw(&t, "COLUMN") ? read_name(q, col, sizeof(col)) : read_name(p, col, sizeof(col));
            if (!r)
                break;
            snprintf(item, sizeof(item), "column %s.%s", name, col);
            mt_strlist_push(out, item);
            p = r;
        }
    }
    mt_strlist_release(&stmts);
}
