/* Unit tests of src/api/jsonin.c: the values it builds, Python's error
 * messages and character positions (the expected values were taken from
 * CPython 3.11's json module), duplicate keys, the byte order mark, nesting
 * and encoding limits, big integers, truth values, and the jansson copy. */
#include "api/jsonin.h"

#include <stdlib.h>
#include <string.h>

#include "../check.h"

static struct mt_arena *arena;

static struct api_jresult parse(const char *doc)
{
    struct api_jresult r;
    api_json_parse(arena, doc, strlen(doc), &r);
    return r;
}

static void decode_error(const char *doc, const char *msg, size_t pos)
{
    struct api_jresult r = parse(doc);
    CHECK_EQ(r.status, API_JSON_DECODE);
    if (r.status == API_JSON_DECODE) {
        CHECK_STR(r.msg, msg);
        CHECK_EQ(r.pos, pos);
        if (strcmp(r.msg, msg) != 0 || r.pos != pos)
            fprintf(stderr, "  document: %s\n", doc);
    }
}

static void test_errors(void)
{
    decode_error("{\"first_name\":", "Expecting value", 14);
    decode_error("{\"a\": 1,}", "Expecting property name enclosed in double quotes", 8);
    decode_error("[1 2]", "Expecting ',' delimiter", 3);
    decode_error("{\"a\" 1}", "Expecting ':' delimiter", 5);
    decode_error("{a:1}", "Expecting property name enclosed in double quotes", 1);
    decode_error("\"abc", "Unterminated string starting at", 0);
    decode_error("{\"a\":\"\\q\"}", "Invalid \\escape", 6);
    decode_error("{\"a\":\"x\ty\"}", "Invalid control character at", 7);
    decode_error("{} x", "Extra data", 3);
    decode_error("", "Expecting value", 0);
    decode_error("  ", "Expecting value", 2);
    decode_error("[1,]", "Expecting value", 3);
    decode_error("{\"\xc3\xa9\":tru}", "Expecting value", 5); /* positions count characters */
    decode_error("01", "Extra data", 1);
    decode_error("-", "Expecting value", 0);
    decode_error("1.", "Extra data", 1);
    decode_error("{\"a\":\"\\u12x4\"}", "Invalid \\uXXXX escape", 7);
    /* Python extensions refused here (decision 5). */
    decode_error("{\"a\": NaN}", "Expecting value", 6);
    decode_error("[Infinity]", "Expecting value", 1);
    decode_error("[-Infinity]", "Expecting value", 1);
    decode_error("[1e400]", "Expecting value", 1);
}

static void test_values(void)
{
    struct api_jresult r = parse(" {\"a\": [1, -2, 3.5, \"x\\u00e9\\ud83d\\ude00\", true, false, "
                                 "null, {}], \"b\": -9223372036854775808} ");
    CHECK_EQ(r.status, API_JSON_OK);
    const struct api_json *a = api_json_get(r.value, "a");
    CHECK(a && a->type == API_J_ARRAY && a->v.list.n == 8);
    if (a && a->v.list.n == 8) {
        CHECK_EQ(a->v.list.items[0]->v.i, 1);
        CHECK_EQ(a->v.list.items[1]->v.i, -2);
        CHECK(a->v.list.items[2]->type == API_J_REAL && a->v.list.items[2]->v.d == 3.5);
        CHECK_STR(a->v.list.items[3]->v.s.p, "x\xc3\xa9\xf0\x9f\x98\x80");
        CHECK(a->v.list.items[4]->type == API_J_TRUE);
        CHECK(a->v.list.items[6]->type == API_J_NULL);
        CHECK(a->v.list.items[7]->type == API_J_OBJECT && a->v.list.items[7]->v.list.n == 0);
    }
    const struct api_json *b = api_json_get(r.value, "b");
    CHECK(b && b->type == API_J_INT && b->v.i == INT64_MIN);

    r = parse("[9223372036854775807, 9223372036854775808, -9223372036854775809]");
    CHECK_EQ(r.status, API_JSON_OK);
    if (r.status == API_JSON_OK) {
        CHECK(r.value->v.list.items[0]->type == API_J_INT);
        CHECK(r.value->v.list.items[1]->type == API_J_BIGINT &&
              !r.value->v.list.items[1]->v.big.negative);
        CHECK(r.value->v.list.items[2]->type == API_J_BIGINT &&
              r.value->v.list.items[2]->v.big.negative);
    }

    /* Duplicate keys: the last value wins, the first position stays. */
    r = parse("{\"k\": 1, \"z\": 2, \"k\": 3}");
    CHECK_EQ(r.status, API_JSON_OK);
    CHECK_EQ(api_json_get(r.value, "k")->v.i, 3);
    json_t *j = api_json_to_jansson(r.value);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(text, "{\"k\":3,\"z\":2}");
    free(text);
    json_decref(j);

    /* A lone surrogate becomes U+FFFD; NUL is kept as text. */
    r = parse("\"a\\ud800b\\u0000c\"");
    CHECK_EQ(r.status, API_JSON_OK);
    CHECK_EQ(r.value->v.s.len, 7);
    CHECK(memcmp(r.value->v.s.p,
                 "a\xef\xbf\xbd"
                 "b\0c",
                 7) == 0);

    /* A UTF-8 byte order mark is skipped, as Python does for bytes. */
    r = parse("\xef\xbb\xbf{\"a\": 1}");
    CHECK_EQ(r.status, API_JSON_OK);
}

static void test_limits(void)
{
    char *deep = malloc(2 * 5000 + 1);
    memset(deep, '[', 5000);
    memset(deep + 5000, ']', 5000);
    deep[10000] = '\0';
    CHECK_EQ(parse(deep).status, API_JSON_BROKEN);
    memset(deep, '[', 800);
    memset(deep + 800, ']', 800);
    deep[1600] = '\0';
    CHECK_EQ(parse(deep).status, API_JSON_OK);
    free(deep);
    CHECK_EQ(parse("\"\xff\"").status, API_JSON_BROKEN);
    CHECK_EQ(parse("\"\xed\xa0\x80\"").status, API_JSON_BROKEN); /* an encoded surrogate */
    CHECK_EQ(parse("\"\xc0\xaf\"").status, API_JSON_BROKEN);     /* an overlong form */
    CHECK(api_utf8_valid("\xf0\x9f\x98\x80", 4));
    CHECK(!api_utf8_valid("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */

    /* A small arena: the parse reports that memory ran out. */
    struct mt_arena *tiny = mt_arena_new(256);
    struct api_jresult r;
    const char *doc = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]";
    api_json_parse(tiny, doc, strlen(doc), &r);
    CHECK_EQ(r.status, API_JSON_NOMEM);
    mt_arena_free(tiny);
}

static void test_truthy(void)
{
    const char *falsy[] = {"null", "false", "0", "0.0", "\"\"", "[]", "{}"};
    const char *truthy[] = {
        "true", "1", "-1", "0.5", "\"x\"", "[0]", "{\"a\":0}", "1e30", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++)
        CHECK(!api_json_truthy(parse(falsy[i]).value));
    for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++)
        CHECK(api_json_truthy(parse(truthy[i]).value));
    CHECK(!api_json_truthy(NULL));
}

static void test_text(void)
{
    json_t *j = api_json_text("ok\xff\xc3", 4);
    CHECK_STR(json_string_value(j), "ok\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
    j = api_json_text("caf\xc3\xa9", 5);
    CHECK_STR(json_string_value(j), "caf\xc3\xa9");
    json_decref(j);
}

int main(void)
{
    arena = mt_arena_new(16u << 20);
    test_errors();
    test_values();
    test_limits();
    test_truthy();
    test_text();
    mt_arena_free(arena);
    return check_report();
}
