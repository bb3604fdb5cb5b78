/* Unit tests of src/core/parse.c: integers (empty, junk, signs, the int64
 * edges and one past them, ranges, unterminated input) and booleans. */
#include <stdint.h>

#include "../check.h"
#include "core/parse.h"

static int64_t ok_i64(const char *s)
{
    int64_t v = -1;
    struct mt_err err = {0};
    int rc = mt_parse_i64(s, strlen(s), INT64_MIN, INT64_MAX, &v, &err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(err.code, MT_OK);
    return v;
}

static void bad_i64(const char *s)
{
    int64_t v = 12345;
    struct mt_err err = {0};
    int rc = mt_parse_i64(s, strlen(s), INT64_MIN, INT64_MAX, &v, &err);
    CHECK_EQ(rc, -1);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK_EQ(v, 12345); /* untouched on failure */
    CHECK(strstr(err.msg, "expected an integer") != NULL);
    if (rc == 0)
        fprintf(stderr, "  accepted \"%s\"\n", s);
}

static void test_integers(void)
{
    CHECK_EQ(ok_i64("0"), 0);
    CHECK_EQ(ok_i64("42"), 42);
    CHECK_EQ(ok_i64("-42"), -42);
    CHECK_EQ(ok_i64("+7"), 7);
    CHECK_EQ(ok_i64("-0"), 0);
    CHECK_EQ(ok_i64("007"), 7);
    CHECK(ok_i64("9223372036854775807") == INT64_MAX);
    CHECK(ok_i64("-9223372036854775808") == INT64_MIN);

    bad_i64("");
    bad_i64("+");
    bad_i64("-");
    bad_i64(" 1");
    bad_i64("1 ");
    bad_i64("1a");
    bad_i64("abc");
    bad_i64("--1");
    bad_i64("+-1");
    bad_i64("-+1");
    bad_i64("0x10");
    bad_i64("1.5");
    bad_i64("1e3");
    bad_i64("9223372036854775808");
    bad_i64("-9223372036854775809");
    bad_i64("99999999999999999999");
    bad_i64("18446744073709551616");
    bad_i64("٣"); /* a non-ASCII digit */
}

static void test_ranges_and_messages(void)
{
    int64_t v = 5;
    struct mt_err err = {0};
    CHECK_EQ(mt_parse_i64("0", 1, 1, 65535, &v, &err), -1);
    CHECK_EQ(v, 5);
    CHECK_STR(err.msg, "expected an integer from 1 to 65535, got \"0\"");
    CHECK_EQ(mt_parse_i64("65536", 5, 1, 65535, &v, &err), -1);
    CHECK_EQ(mt_parse_i64("65535", 5, 1, 65535, &v, &err), 0);
    CHECK_EQ(v, 65535);
    CHECK_EQ(mt_parse_i64("-840", 4, -840, 720, &v, &err), 0);
    CHECK_EQ(v, -840);
    CHECK_EQ(mt_parse_i64("abc", 3, 1, 10, &v, &err), -1);
    CHECK_STR(err.msg, "expected an integer from 1 to 10, got \"abc\"");
    /* The user's value is quoted safely: escaped and cut. */
    CHECK_EQ(mt_parse_i64("a\"b\n", 4, 1, 10, &v, &err), -1);
    CHECK_STR(err.msg, "expected an integer from 1 to 10, got \"a\\\"b\\n\"");
    char longv[300];
    memset(longv, '9', sizeof(longv));
    CHECK_EQ(mt_parse_i64(longv, sizeof(longv), 1, 10, &v, &err), -1);
    CHECK(strstr(err.msg, "...\"") != NULL);
    CHECK(strlen(err.msg) < 120);
    /* NULL err is allowed. */
    CHECK_EQ(mt_parse_i64("x", 1, 0, 1, &v, NULL), -1);
    CHECK_EQ(mt_parse_i64(NULL, 0, 0, 1, &v, NULL), -1);
}

static void test_length_not_nul(void)
{
    const char digits[] = {'1', '2', '3', '4', '5', '6'};
    int64_t v = 0;
    struct mt_err err = {0};
    CHECK_EQ(mt_parse_i64(digits, 3, 0, 1000, &v, &err), 0);
    CHECK_EQ(v, 123);
    CHECK_EQ(mt_parse_i64("12x", 2, 0, 1000, &v, &err), 0);
    CHECK_EQ(v, 12);
    CHECK_EQ(mt_parse_i64("12", 0, 0, 1000, &v, &err), -1);
}

static void test_bools(void)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "TRUE", "Yes", "ON"};
    static const char *const no[] = {"false", "0", "no", "off", "FALSE", "No", "Off"};
    static const char *const bad[] = {"", "2", "t", "truee", " true", "y", "nope", "-1"};
    for (size_t i = 0; i < MT_ARRAY_LEN(yes); i++) {
        bool b = false;
        CHECK_EQ(mt_parse_bool(yes[i], strlen(yes[i]), &b, NULL), 0);
        CHECK(b);
        CHECK_EQ(mt_parse_bool(no[i], strlen(no[i]), &b, NULL), 0);
        CHECK(!b);
    }
    for (size_t i = 0; i < MT_ARRAY_LEN(bad); i++) {
        bool b = true;
        struct mt_err err = {0};
        CHECK_EQ(mt_parse_bool(bad[i], strlen(bad[i]), &b, &err), -1);
        CHECK(b);
        CHECK_EQ(err.code, MT_EINVAL);
        CHECK(strstr(err.msg, "expected true/false") != NULL);
    }
    bool b = false;
    CHECK_EQ(mt_parse_bool("truex", 4, &b, NULL), 0);
    CHECK(b);
}

int main(void)
{
    test_integers();
    test_ranges_and_messages();
    test_length_not_nul();
    test_bools();
    return check_report();
}
