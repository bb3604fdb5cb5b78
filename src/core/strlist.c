/* The list of malloc'ed strings (struct mt_strlist) that the database layer,
 * the migration engine and the take-over build their results in. Growth
 * doubles the array and checks the size arithmetic, so a list can never wrap
 * around to a small allocation. */
#include "core/strlist.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void mt_strlist_init(struct mt_strlist *l)
{
    l->items = NULL;
    l->n = 0;
    l->cap = 0;
}

void mt_strlist_release(struct mt_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    mt_strlist_init(l);
}

void mt_strlist_push_owned(struct mt_strlist *l, char *s)
{
    l->items = mt_xgrow(l->items, l->n, &l->cap, sizeof *l->items);
    l->items[l->n++] = s;
}

void mt_strlist_push(struct mt_strlist *l, const char *s)
{
    mt_strlist_push_owned(l, mt_xstrdup(s));
}

void mt_strlist_push_n(struct mt_strlist *l, const char *s, size_t len)
{
    mt_strlist_push_owned(l, mt_xstrndup(s, len));
}

void mt_strlist_pushf(struct mt_strlist *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mt_strlist_push_owned(l, mt_xvasprintf(fmt, ap));
    va_end(ap);
}

bool mt_strlist_has(const struct mt_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i], s) == 0)
            return true;
    }
    return false;
}
