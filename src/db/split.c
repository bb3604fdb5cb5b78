/* Splits SQL scripts (migration files, db_exec arguments) into single
 * statements on top-level semicolons, and provides the small lexer that
 * postgres.c also uses to find `?` placeholders outside quotes. It knows
 * '...' strings (E'...' with backslash escapes), "..." identifiers, `...`
 * identifiers, -- line comments and block comments, $$ / $tag$ bodies, and the
 * BEGIN ... END bodies of CREATE TRIGGER / PROCEDURE / FUNCTION / EVENT. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db_int.h"

bool db_sql_ident_char(char ch)
{
    unsigned char u = (unsigned char)ch;
    return isalnum(u) || ch == '_' || ch == '$' || u >= 0x80;
}

/* Scans a quoted token whose delimiter q is doubled to escape itself; with
 * backslashes, a backslash escapes the next byte (PostgreSQL E'...'). */
static int skip_quoted(const char *s, size_t len, size_t i, char q, bool backslashes, size_t *end)
{
    size_t j = i + 1;
    while (j < len) {
        if (backslashes && s[j] == '\\') {
            j += 2;
            continue;
        }
        if (s[j] == q) {
            if (j + 1 < len && s[j + 1] == q) {
                j += 2;
                continue;
            }
            *end = j + 1;
            return 1;
        }
        j++;
    }
    return -1;
}

/* PostgreSQL nests block comments; MariaDB does not, but nested comments do
 * not occur in our scripts, so one rule serves both. */
static int skip_block_comment(const char *s, size_t len, size_t i, size_t *end)
{
    size_t j = i + 2;
    int depth = 1;
    while (j + 1 < len) {
        if (s[j] == '*' && s[j + 1] == '/') {
            depth--;
            j += 2;
            if (depth == 0) {
                *end = j;
                return 1;
            }
            continue;
        }
        if (s[j] == '/' && s[j + 1] == '*') {
            depth++;
            j += 2;
            continue;
        }
        j++;
    }
    return -1;
}

/* $tag$ ... $tag$ where tag is empty or an identifier not starting with a
 * digit ($1 is a positional parameter, not a tag). */
static int skip_dollar(const char *s, size_t len, size_t i, size_t *end)
{
    size_t j = i + 1;
    if (i > 0 && db_sql_ident_char(s[i - 1]))
        return 0;
    if (j < len && isdigit((unsigned char)s[j]))
        return 0;
    while (j < len && s[j] != '$') {
        if (!db_sql_ident_char(s[j]))
            return 0;
        j++;
    }
    if (j >= len)
        return 0;
    size_t taglen = j - i + 1;
    for (size_t k = j + 1; k + taglen <= len; k++) {
        if (s[k] == '$' && memcmp(s + k, s + i, taglen) == 0) {
            *end = k + taglen;
            return 1;
        }
    }
    return -1;
}

int db_sql_skip(const char *s, size_t len, size_t i, size_t *end, const char **what)
{
    char ch = s[i];
    int rc;
    *what = "";
    switch (ch) {
    case '\'': {
        bool e = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                 (i < 2 || !db_sql_ident_char(s[i - 2]));
        *what = "string";
        return skip_quoted(s, len, i, '\'', e, end);
    }
    case '"':
        *what = "quoted identifier";
        return skip_quoted(s, len, i, '"', false, end);
    case '`':
        *what = "backquoted identifier";
        return skip_quoted(s, len, i, '`', false, end);
    case '-':
        if (i + 1 < len && s[i + 1] == '-') {
            const char *nl = memchr(s + i, '\n', len - i);
            *end = nl ? (size_t)(nl - s) + 1 : len;
            return 1;
        }
        return 0;
    case '/':
        if (i + 1 < len && s[i + 1] == '*') {
            *what = "comment";
            return skip_block_comment(s, len, i, end);
        }
        return 0;
    case '$':
        rc = skip_dollar(s, len, i, end);
        if (rc < 0)
            *what = "dollar-quoted body";
        return rc;
    default:
        return 0;
    }
}

static bool is_comment_at(const char *s, size_t len, size_t i)
{
    return (s[i] == '-' && i + 1 < len && s[i + 1] == '-') ||
           (s[i] == '/' && i + 1 < len && s[i + 1] == '*');
}

static bool word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static int line_of(const char *s, size_t pos)
{
    int line = 1;
    for (size_t k = 0; k < pos; k++)
        line += s[k] == '\n';
    return line;
}

/* State of the statement being scanned. */
struct split_state {
    size_t start;     /* offset of the statement's first byte */
    bool content;     /* something other than blanks and comments seen */
    int words;        /* words seen so far in this statement */
    bool create;      /* the first word was CREATE */
    bool paren;       /* a '(' was seen: no more looking for TRIGGER etc. */
    bool block;       /* a body with BEGIN ... END may follow */
    int depth;        /* BEGIN/CASE nesting inside such a body */
    bool pending_end; /* an END was seen; the next word says what it closes */
};

static void on_word(struct split_state *st, const char *w, size_t n)
{
    st->words++;
    if (st->words == 1) {
        st->create = word_is(w, n, "CREATE");
        return;
    }
    if (st->create && !st->block && !st->paren && st->words <= 8 &&
        (word_is(w, n, "TRIGGER") || word_is(w, n, "PROCEDURE") || word_is(w, n, "FUNCTION") ||
         word_is(w, n, "EVENT"))) {
        st->block = true;
        return;
    }
    if (!st->block)
        return;
    if (st->pending_end) {
        /* END IF / END LOOP / END WHILE / END REPEAT close blocks that never
         * counted; END CASE closes a CASE; any other END closes a BEGIN. */
        st->pending_end = false;
        if (word_is(w, n, "IF") || word_is(w, n, "LOOP") || word_is(w, n, "WHILE") ||
            word_is(w, n, "REPEAT"))
            return;
        st->depth--;
        if (word_is(w, n, "CASE"))
            return;
    }
    if (word_is(w, n, "END"))
        st->pending_end = st->depth > 0;
    else if (word_is(w, n, "BEGIN") || word_is(w, n, "CASE"))
        st->depth++;
}

/* Applies an END that no word followed. */
static void settle_end(struct split_state *st)
{
    if (st->pending_end) {
        st->pending_end = false;
        st->depth--;
    }
}

/* Appends s[from..to) without its surrounding white space. */
static void emit(struct mt_strlist *out, const char *s, size_t from, size_t to)
{
    while (from < to && isspace((unsigned char)s[from]))
        from++;
    while (to > from && isspace((unsigned char)s[to - 1]))
        to--;
    mt_strlist_push_n(out, s + from, to - from);
}

int db_split_sql(const char *sql, struct mt_strlist *out, struct mt_err *err)
{
    size_t len = strlen(sql);
    struct split_state st = {0};
    struct mt_strlist res = {0};
    size_t i = 0;

    while (i < len) {
        size_t end;
        const char *what;
        int rc = db_sql_skip(sql, len, i, &end, &what);
        if (rc < 0) {
            mt_strlist_release(&res);
            return mt_fail(err, MT_EINVAL, "unterminated %s starting on line %d", what,
                           line_of(sql, i));
        }
        if (rc > 0) {
            if (!is_comment_at(sql, len, i))
                st.content = true;
            i = end;
            continue;
        }
        char ch = sql[i];
        if (ch == ';')
            settle_end(&st);
        if (ch == ';' && st.depth == 0) {
            if (st.content)
                emit(&res, sql, st.start, i);
            st = (struct split_state){.start = i + 1};
            i++;
            continue;
        }
        if (!isspace((unsigned char)ch))
            st.content = true;
        if (ch == '(')
            st.paren = true;
        if ((isalpha((unsigned char)ch) || ch == '_') &&
            (i == 0 || !db_sql_ident_char(sql[i - 1]))) {
            size_t w = i;
            while (i < len && db_sql_ident_char(sql[i]) && sql[i] != '$')
                i++;
            on_word(&st, sql + w, i - w);
            continue;
        }
        i++;
    }
    if (st.content)
        emit(&res, sql, st.start, len);
    *out = res;
    return 0;
}
