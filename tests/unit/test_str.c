/* Unit tests of src/core/str.c: string views, ASCII comparisons, trimming,
 * and mt_quote (escaping, cutting, never splitting a UTF-8 sequence). */
#include "../check.h"
#include "core/str.h"

static void test_str(void)
{
    struct mt_str get = MT_STR_LIT("GET");
    CHECK_EQ(get.len, 3);
    CHECK(mt_str_eq(get, "GET"));
    CHECK(!mt_str_eq(get, "GETS"));
    CHECK(!mt_str_eq(get, "get"));
    CHECK(mt_str_ieq(get, "get"));
    CHECK(!mt_str_ieq(get, "ge"));
    struct mt_str part = {"hello world", 5};
    CHECK(mt_str_eq(part, "hello"));
    struct mt_str t = mt_str_trim(mt_str_c("  \t x y \r\n"));
    CHECK(mt_str_eq(t, "x y"));
    CHECK_EQ(mt_str_trim(mt_str_c("   ")).len, 0);
    CHECK_EQ(mt_str_c(NULL).len, 0);
    CHECK(mt_str_eq(mt_str_c(""), ""));

    char q[MT_QUOTE_SIZE];
    CHECK_STR(mt_quote(q, sizeof(q), "25:00", 5), "\"25:00\"");
    CHECK_STR(mt_quote(q, sizeof(q), "a\"b\\c\n\t\x01", 8), "\"a\\\"b\\\\c\\n\\t\\x01\"");
    CHECK_STR(mt_quote(q, sizeof(q), "", 0), "\"\"");
    char small[10];
    CHECK_STR(mt_quote(small, sizeof(small), "abcdefghij", 10), "\"abcd...\"");
    CHECK_STR(mt_quote(small, sizeof(small), "abcd", 4), "\"abcd\"");
    /* A cut never splits a UTF-8 sequence: "abc" + e-acute (2 bytes). */
    CHECK_STR(mt_quote(small, sizeof(small), "abc\xc3\xa9xyz", 8), "\"abc...\"");
    char longv[200];
    memset(longv, 'z', sizeof(longv));
    mt_quote(q, sizeof(q), longv, sizeof(longv));
    CHECK(strlen(q) < sizeof(q));
    CHECK(strcmp(q + strlen(q) - 4, "...\"") == 0);
}

static void test_hex(void)
{
    CHECK_EQ(mt_hex_digit('0'), 0);
    CHECK_EQ(mt_hex_digit('9'), 9);
    CHECK_EQ(mt_hex_digit('a'), 10);
    CHECK_EQ(mt_hex_digit('F'), 15);
    const char bad[] = {'g', 'G', '/', ':', '@', '`', ' ', '\0', (char)0xff};
    for (size_t i = 0; i < sizeof(bad); i++)
        CHECK_EQ(mt_hex_digit(bad[i]), -1);
}

static void test_utf8(void)
{
    CHECK_EQ(mt_utf8_seq("a", 1), 1);
    CHECK_EQ(mt_utf8_seq("\xc3\xa4x", 3), 2);
    CHECK_EQ(mt_utf8_seq("\xe2\x82\xac", 3), 3);
    CHECK_EQ(mt_utf8_seq("\xf0\x9f\x94\x91", 4), 4);
    CHECK_EQ(mt_utf8_seq("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
    CHECK_EQ(mt_utf8_seq("\xc3\xa4", 1), 0);         /* cut short */
    CHECK_EQ(mt_utf8_seq("\xa4", 1), 0);             /* a continuation byte */
    CHECK_EQ(mt_utf8_seq("\xc0\xaf", 2), 0);         /* overlong "/" */
    CHECK_EQ(mt_utf8_seq("\xe0\x80\xaf", 3), 0);     /* overlong "/" */
    CHECK_EQ(mt_utf8_seq("\xed\xa0\x80", 3), 0);     /* surrogate */
    CHECK_EQ(mt_utf8_seq("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
    CHECK_EQ(mt_utf8_seq("\xff", 1), 0);
    CHECK_EQ(mt_utf8_seq("\xc3(", 2), 0);
}

int main(void)
{
    test_str();
    test_hex();
    test_utf8();
    return check_report();
}
