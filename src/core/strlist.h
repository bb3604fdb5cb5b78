/* A growable list of malloc'ed strings: the statements of a script, the
 * tables of a database, the lines of a plan. Used by db/, migrate/, schema/
 * and cli/; short-lived code only (it allocates with mt_x*, which abort on
 * failure, so no request may decide its length). */
#ifndef MT_CORE_STRLIST_H
#define MT_CORE_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* n strings in items[0..n-1], each malloc'ed and owned by the list. A list
 * set to all zeros ({0}) is a valid empty list; items may then be NULL. */
struct mt_strlist {
    char **items;
    size_t n;
    size_t cap; /* slots allocated in items */
};

/* Empties l without freeing anything (for a list whose memory is garbage). */
void mt_strlist_init(struct mt_strlist *l);
/* Frees every string and the array, leaving l empty and ready for reuse.
 * NULL is allowed. */
void mt_strlist_release(struct mt_strlist *l);

/* Appends a copy of the NUL-terminated s. */
void mt_strlist_push(struct mt_strlist *l, const char *s);
/* Appends a copy of the len bytes at s (which need not be NUL-terminated). */
void mt_strlist_push_n(struct mt_strlist *l, const char *s, size_t len);
/* Appends s itself: the list takes it over and frees it on release. */
void mt_strlist_push_owned(struct mt_strlist *l, char *s);
/* Appends a printf-formatted string. */
void mt_strlist_pushf(struct mt_strlist *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when the list holds a string equal to s. */
bool mt_strlist_has(const struct mt_strlist *l, const char *s);

#endif
