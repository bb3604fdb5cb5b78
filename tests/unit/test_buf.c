/* Unit tests of src/core/buf.c: invariants (data never NULL, always
 * NUL-terminated), growth, the ceiling and the failed flag, detach. */
#include <stdint.h>

#include "../check.h"
#include "core/buf.h"

static void test_init_and_append(void)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    CHECK(b.data != NULL);
    CHECK_STR(b.data, "");
    CHECK_EQ(b.len, 0);
    CHECK(!b.failed);
    mt_buf_adds(&b, "hello");
    mt_buf_addc(&b, ' ');
    mt_buf_addf(&b, "%s %d", "world", 42);
    CHECK_STR(b.data, "hello world 42");
    CHECK_EQ(b.len, 14);
    mt_buf_add(&b, "a\0b", 3);
    CHECK_EQ(b.len, 17);
    CHECK(b.data[15] == '\0' && b.data[16] == 'b' && b.data[17] == '\0');
    mt_buf_release(&b);
    CHECK(b.data != NULL);
    CHECK_EQ(b.len, 0);
}

static void test_growth(void)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        mt_buf_addc(&b, (char)('a' + i % 26));
    CHECK_EQ(b.len, 10000);
    CHECK(b.data[9999] == 'a' + 9999 % 26);
    CHECK(b.data[10000] == '\0');
    /* A long formatted append that does not fit the current capacity. */
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mt_buf_addf(&b, "[%s]", big);
    CHECK_EQ(b.len, 10000 + 5001);
    CHECK(b.data[10000] == '[' && b.data[b.len - 1] == ']');
    CHECK(!b.failed);
    mt_buf_release(&b);
}

static void test_ceiling(void)
{
    struct mt_buf b;
    mt_buf_init(&b, 10);
    mt_buf_adds(&b, "hello");
    CHECK(!b.failed);
    mt_buf_adds(&b, "world!");
    CHECK(b.failed);
    CHECK_EQ(b.len, 10);
    CHECK_STR(b.data, "helloworld");
    CHECK(b.cap <= 11);
    /* After a failure nothing more is appended, so the text stays a prefix. */
    mt_buf_adds(&b, "x");
    mt_buf_addf(&b, "%d", 1);
    CHECK_STR(b.data, "helloworld");
    mt_buf_reset(&b);
    CHECK(!b.failed);
    CHECK_STR(b.data, "");
    mt_buf_addf(&b, "%d", 123456789);
    CHECK_STR(b.data, "123456789");
    CHECK(!b.failed);
    mt_buf_addf(&b, "%d", 12);
    CHECK(b.failed);
    CHECK_STR(b.data, "1234567891");
    mt_buf_release(&b);

    /* Exactly at the ceiling is fine. */
    mt_buf_init(&b, 4);
    mt_buf_adds(&b, "abcd");
    CHECK(!b.failed);
    CHECK_STR(b.data, "abcd");
    mt_buf_release(&b);

    /* A formatted append into an empty buffer that is larger than the ceiling. */
    mt_buf_init(&b, 3);
    mt_buf_addf(&b, "%s", "abcdef");
    CHECK(b.failed);
    CHECK_STR(b.data, "abc");
    mt_buf_release(&b);
}

static void test_detach(void)
{
    struct mt_buf b;
    mt_buf_init(&b, 100);
    size_t len = 99;
    char *empty = mt_buf_detach(&b, &len);
    CHECK_STR(empty, "");
    CHECK_EQ(len, 0);
    free(empty);
    mt_buf_adds(&b, "keep me");
    char *s = mt_buf_detach(&b, &len);
    CHECK_STR(s, "keep me");
    CHECK_EQ(len, 7);
    CHECK_STR(b.data, "");
    CHECK_EQ(b.max, 100);
    free(s);
    mt_buf_release(&b);
}

int main(void)
{
    test_init_and_append();
    test_growth();
    test_ceiling();
    test_detach();
    return check_report();
}
