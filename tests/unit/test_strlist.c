/* Unit tests of src/core/strlist.c: copies and owned strings, growth past
 * the first allocation, lookups, and release leaving a reusable empty list. */
#include "../check.h"
#include "core/err.h"
#include "core/strlist.h"

static void test_push_and_grow(void)
{
    struct mt_strlist l = {0};
    CHECK(!mt_strlist_has(&l, ""));
    char word[16];
    for (int i = 0; i < 100; i++) {
        snprintf(word, sizeof word, "w%d", i);
        mt_strlist_push(&l, word);
    }
    /* The list kept copies: the buffer's last contents are in one item only. */
    CHECK_EQ(l.n, 100);
    CHECK(l.cap >= l.n);
    CHECK_STR(l.items[0], "w0");
    CHECK_STR(l.items[57], "w57");
    CHECK_STR(l.items[99], "w99");
    CHECK(mt_strlist_has(&l, "w42"));
    CHECK(!mt_strlist_has(&l, "w100"));
    CHECK(!mt_strlist_has(&l, "w"));
    mt_strlist_release(&l);
    CHECK_EQ(l.n, 0);
    CHECK_EQ(l.cap, 0);
    CHECK(l.items == NULL);
    /* A released list is empty and usable again. */
    mt_strlist_push(&l, "again");
    CHECK_EQ(l.n, 1);
    CHECK_STR(l.items[0], "again");
    mt_strlist_release(&l);
}

static void test_push_forms(void)
{
    struct mt_strlist l;
    mt_strlist_init(&l);
    mt_strlist_push_n(&l, "abcdef", 3);
    mt_strlist_push_n(&l, "", 0);
    mt_strlist_push_owned(&l, mt_xstrdup("owned"));
    mt_strlist_pushf(&l, "table %s: %d rows", "doses", 12);
    CHECK_EQ(l.n, 4);
    CHECK_STR(l.items[0], "abc");
    CHECK_STR(l.items[1], "");
    CHECK_STR(l.items[2], "owned");
    CHECK_STR(l.items[3], "table doses: 12 rows");
    CHECK(mt_strlist_has(&l, ""));
    mt_strlist_release(&l);
    mt_strlist_release(NULL);
}

int main(void)
{
    test_push_and_grow();
    test_push_forms();
    return check_report();
}
