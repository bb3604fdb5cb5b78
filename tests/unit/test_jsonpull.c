/* Unit tests for src/api/jsonpull.c, the pull reader behind the portable
 * import: the token stream of a document, strings and their escapes
 * (surrogate pairs, refused lone surrogates, control characters, bytes that
 * are not UTF-8), numbers (integers that fit, others as doubles, the
 * grammar's refusals), skipping values, the error positions, the nesting
 * limit, and the same tokens read from a file in blocks as from memory. */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "api/jsonpull.h"

static struct api_jpull *reader(const char *text)
{
    struct api_jpull *p = malloc(sizeof(*p));
    api_jp_init_mem(p, text, strlen(text));
    return p;
}

static void done(struct api_jpull *p)
{
    api_jp_release(p);
    free(p);
}

/* The tokens of text, as letters: { } [ ] k s i n t f 0 (null) . (end), x (error). */
static void tokens(const char *text, char *out, size_t cap)
{
    static const char letters[] = {
        [API_JT_ERROR] = 'x', [API_JT_END] = '.',     [API_JT_OBJ] = '{',  [API_JT_OBJ_END] = '}',
        [API_JT_ARR] = '[',   [API_JT_ARR_END] = ']', [API_JT_KEY] = 'k',  [API_JT_STR] = 's',
        [API_JT_INT] = 'i',   [API_JT_NUM] = 'n',     [API_JT_TRUE] = 't', [API_JT_FALSE] = 'f',
        [API_JT_NULL] = '0'};
    struct api_jpull *p = reader(text);
    size_t n = 0;
    for (;;) {
        enum api_jtok t = api_jp_next(p);
        if (n + 1 < cap)
            out[n++] = letters[t];
        if (t == API_JT_END || t == API_JT_ERROR)
            break;
    }
    out[n] = '\0';
    done(p);
}

static void expect_tokens(const char *text, const char *want)
{
    char got[128];
    tokens(text, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "  %s: got %s, want %s\n", text, got, want);
    CHECK(strcmp(got, want) == 0);
}

static void test_structure(void)
{
    expect_tokens("{}", "{}.");
    expect_tokens(" [ ] ", "[].");
    expect_tokens("{\"a\":1,\"b\":[true,false,null,\"x\",1.5]}", "{kik[tf0sn]}.");
    expect_tokens("[[],{},[{}]]", "[[]{}[{}]].");
    expect_tokens("\"alone\"", "s.");
    expect_tokens("{\"a\":1,}", "{kix");
    expect_tokens("[1,]", "[ix");
    expect_tokens("[1 2]", "[ix");
    expect_tokens("{\"a\" 1}", "{x");
    expect_tokens("{1:2}", "{x");
    expect_tokens("[1]]", "[i]x");
    expect_tokens("[1] x", "[i]x");
    expect_tokens("", "x");
    expect_tokens("[tru]", "[x");
    expect_tokens("[nul", "[x");
    expect_tokens("{\"a\":[1,2", "{k[iix");
}

static void test_strings(void)
{
    struct api_jpull *p = reader("[\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\ud83d\\udc8a\"]");
    CHECK_EQ(api_jp_next(p), API_JT_ARR);
    CHECK_EQ(api_jp_next(p), API_JT_STR);
    CHECK(p->str_len == 11 && memcmp(p->str, "a\"b\\c/\b\f\n\r\t", 11) == 0);
    CHECK_EQ(api_jp_next(p), API_JT_STR);
    CHECK(strcmp(p->str, "\xC3\xA9\xF0\x9F\x92\x8A") == 0);
    done(p);
    p = reader("\"a\\u0000b\"");
    CHECK_EQ(api_jp_next(p), API_JT_STR);
    CHECK(p->str_len == 3 && p->str[1] == '\0');
    done(p);
    expect_tokens("\"\\ud83d\"", "x");
    expect_tokens("\"\\udc8a\"", "x");
    expect_tokens("\"\\ud83dx\"", "x");
    expect_tokens("\"\\x\"", "x");
    expect_tokens("\"\\u12g4\"", "x");
    expect_tokens("\"tab\there\"", "x");
    expect_tokens("\"\xC3\"", "x");
    expect_tokens("\"\xED\xA0\x80\"", "x");
    expect_tokens("\"open", "x");
}

static void test_numbers(void)
{
    struct api_jpull *p = reader("[0, -7, 9223372036854775807, 9223372036854775808, 1e2, -0.5]");
    CHECK_EQ(api_jp_next(p), API_JT_ARR);
    CHECK_EQ(api_jp_next(p), API_JT_INT);
    CHECK_EQ(p->i, 0);
    CHECK_EQ(api_jp_next(p), API_JT_INT);
    CHECK_EQ(p->i, -7);
    CHECK_EQ(api_jp_next(p), API_JT_INT);
    CHECK(p->i == INT64_MAX);
    CHECK_EQ(api_jp_next(p), API_JT_NUM);
    CHECK_EQ(api_jp_next(p), API_JT_NUM);
    CHECK(p->d == 100.0);
    CHECK_EQ(api_jp_next(p), API_JT_NUM);
    CHECK(p->d == -0.5);
    done(p);
    expect_tokens("[01]", "[ix");
    expect_tokens("[1.]", "[x");
    expect_tokens("[.5]", "[x");
    expect_tokens("[1e]", "[x");
    expect_tokens("[-]", "[x");
    expect_tokens("[+1]", "[x");
    expect_tokens("[NaN]", "[x");
    expect_tokens("[Infinity]", "[x");
}

static void test_skip_and_positions(void)
{
    struct api_jpull *p = reader("{\"skip\":{\"a\":[1,{\"b\":[]}]},\"next\":2}");
    CHECK_EQ(api_jp_next(p), API_JT_OBJ);
    CHECK_EQ(api_jp_next(p), API_JT_KEY);
    CHECK(api_jp_skip(p, api_jp_next(p)));
    CHECK_EQ(api_jp_next(p), API_JT_KEY);
    CHECK(strcmp(p->str, "next") == 0);
    CHECK_EQ(api_jp_next(p), API_JT_INT);
    CHECK_EQ(api_jp_next(p), API_JT_OBJ_END);
    CHECK_EQ(api_jp_next(p), API_JT_END);
    CHECK_EQ(api_jp_next(p), API_JT_END);
    done(p);

    p = reader("{\n  \"a\": 1,\n  \"b\": tru\n}");
    enum api_jtok t;
    do
        t = api_jp_next(p);
    while (t != API_JT_ERROR && t != API_JT_END);
    CHECK_EQ(t, API_JT_ERROR);
    CHECK_EQ(p->err_line, 3);
    CHECK_EQ(p->err_column, 11);
    CHECK(strstr(p->msg, "literal") != NULL);
    CHECK_EQ(api_jp_next(p), API_JT_ERROR);
    done(p);

    char deep[API_JP_MAX_DEPTH * 2 + 8];
    memset(deep, '[', API_JP_MAX_DEPTH + 1);
    deep[API_JP_MAX_DEPTH + 1] = '\0';
    p = reader(deep);
    for (int i = 0; i < API_JP_MAX_DEPTH; i++)
        CHECK_EQ(api_jp_next(p), API_JT_ARR);
    CHECK_EQ(api_jp_next(p), API_JT_ERROR);
    CHECK(strstr(p->msg, "deeply") != NULL);
    done(p);
}

/* A document longer than the reader's block, with strings across block
 * boundaries: the same tokens from a file as from memory. */
static void test_file(void)
{
    size_t n = 20000;
    char *text = malloc(n * 16 + 16);
    size_t len = 0;
    text[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "%s\"s%zu\\u00e9\"", i ? "," : "", i);
    text[len++] = ']';
    text[len] = '\0';
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) {
        free(text);
        return;
    }
    fwrite(text, 1, len, f);
    rewind(f);
    struct api_jpull *a = reader(text);
    struct api_jpull *b = malloc(sizeof(*b));
    api_jp_init_file(b, f);
    size_t same = 0, tokens_read = 0;
    for (;;) {
        enum api_jtok ta = api_jp_next(a), tb = api_jp_next(b);
        tokens_read++;
        if (ta == tb && (ta != API_JT_STR || strcmp(a->str, b->str) == 0))
            same++;
        if (ta == API_JT_END || ta == API_JT_ERROR || tb == API_JT_END || tb == API_JT_ERROR)
            break;
    }
    CHECK_EQ(same, tokens_read);
    CHECK_EQ(tokens_read, n + 3);
    done(a);
    done(b);
    fclose(f);
    free(text);
}

int main(void)
{
    test_structure();
    test_strings();
    test_numbers();
    test_skip_and_positions();
    test_file();
    return check_report();
}
