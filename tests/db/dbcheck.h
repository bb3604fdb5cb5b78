/* What the database test programs share: MUST and MUST_FAIL over the
 * program's error E, a database of the program's own (tests/lib/fresh-db),
 * so that the other tests of the suite running at the same time cannot
 * disturb it, and a connection the program cannot go on without. One
 * program includes it once, as it does check.h. */
#ifndef MT_TESTS_DB_DBCHECK_H
#define MT_TESTS_DB_DBCHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "db/db.h"

static struct mt_err E;

/* Runs a call that takes &E and must succeed. */
#define MUST(expr)                                                                                 \
    do {                                                                                           \
        mt_err_clear(&E);                                                                          \
        int must_rc_ = (expr);                                                                     \
        check_total++;                                                                             \
        if (must_rc_ < 0) {                                                                        \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, E.msg);           \
        }                                                                                          \
    } while (0)

/* Runs a call that takes &E and must fail with want_code, and with a
 * message containing text (NULL: any). */
#define MUST_FAIL_TEXT(expr, want_code, text)                                                      \
    do {                                                                                           \
        mt_err_clear(&E);                                                                          \
        int must_rc_ = (expr);                                                                     \
        check_total++;                                                                             \
        const char *must_text_ = (text);                                                           \
        if (must_rc_ >= 0 || E.code != (want_code) ||                                              \
            (must_text_ && !strstr(E.msg, must_text_))) {                                          \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s: rc %d, code %s (\"%s\"), wanted %s\n", __FILE__, __LINE__, \
                    #expr, must_rc_, mt_code_name(E.code), E.msg, mt_code_name(want_code));        \
        }                                                                                          \
    } while (0)
#define MUST_FAIL(expr, want_code) MUST_FAIL_TEXT(expr, want_code, NULL)

/* A new database named after tag, from tests/lib/fresh-db when MT_TEST_ROOT
 * is set; fallback (MT_TEST_DATABASE_URL) otherwise or when that fails.
 * The caller frees the result. */
static inline char *private_db_url(const char *tag, const char *fallback)
{
    const char *root = getenv("MT_TEST_ROOT");
    if (!root || !*root)
        return strdup(fallback);
    char cmd[1024];
    int len = snprintf(cmd, sizeof cmd, "'%s/tests/lib/fresh-db' %s", root, tag);
    /* A root the quoting cannot hold, or too long: the suite's database. */
    if (strchr(root, '\'') || len < 0 || (size_t)len >= sizeof cmd)
        return strdup(fallback);
    FILE *f = popen(cmd, "r");
    char line[1024] = "";
    bool got = f && fgets(line, sizeof line, f) != NULL;
    if (!f || pclose(f) != 0 || !got) {
        fprintf(stderr, "fresh-db failed; using MT_TEST_DATABASE_URL\n");
        return strdup(fallback);
    }
    line[strcspn(line, "\r\n")] = '\0';
    return strdup(line);
}

/* A connection to url; the program exits when there is none. */
static inline struct db_conn *open_or_exit(const char *url)
{
    struct db_conn *c = NULL;
    MUST(db_open_url(url, &c, &E));
    if (!c) {
        fprintf(stderr, "cannot go on without a connection\n");
        exit(1);
    }
    return c;
}

#endif
