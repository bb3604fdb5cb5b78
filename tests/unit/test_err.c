/* Unit tests of src/core/err.c: error filling and wrapping, the checked
 * allocation helpers and overflow-checked sizes. */
#include <stdint.h>

#include "../check.h"
#include "core/err.h"

static void test_errors(void)
{
    struct mt_err err = {0};
    CHECK_EQ(mt_fail(&err, MT_ENOTFOUND, "person %lld does not exist", 42LL), -1);
    CHECK_EQ(err.code, MT_ENOTFOUND);
    CHECK_STR(err.msg, "person 42 does not exist");
    CHECK_EQ(mt_err_wrap(&err, "cannot delete dose %d", 7), -1);
    CHECK_EQ(err.code, MT_ENOTFOUND);
    CHECK_STR(err.msg, "cannot delete dose 7: person 42 does not exist");
    mt_err_clear(&err);
    CHECK_EQ(err.code, MT_OK);
    CHECK_STR(err.msg, "");
    CHECK_EQ(mt_fail(NULL, MT_EINVAL, "x"), -1);

    /* Long messages are cut, never overflow. */
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mt_fail(&err, MT_EINVAL, "%s", big);
    CHECK_EQ(strlen(err.msg), sizeof(err.msg) - 1);
    mt_err_wrap(&err, "context");
    CHECK(strncmp(err.msg, "context: xxx", 12) == 0);
    CHECK_EQ(strlen(err.msg), sizeof(err.msg) - 1);

    CHECK_STR(mt_code_name(MT_ENOTFOUND), "not found");
    CHECK_STR(mt_code_name(MT_EDB_RETRY), "database busy");
    CHECK_STR(mt_code_name(MT_ETIMEOUT), "database timeout");
    CHECK_STR(mt_code_name(MT_ENOSPC), "storage full");
    CHECK_STR(mt_code_name(MT_EPERM), "permission denied");
}

static void test_sizes_and_alloc(void)
{
    size_t out = 7;
    CHECK(mt_size_add(1, 2, &out));
    CHECK_EQ(out, 3);
    CHECK(!mt_size_add(SIZE_MAX, 1, &out));
    CHECK_EQ(out, 3);
    CHECK(mt_size_mul(0, SIZE_MAX, &out));
    CHECK_EQ(out, 0);
    CHECK(!mt_size_mul(SIZE_MAX / 2 + 1, 2, &out));
    CHECK(mt_size_mul(1 << 20, 1 << 10, &out));
    CHECK_EQ(out, 1 << 30);

    char *s = mt_xasprintf("%s=%d", "port", 8000);
    CHECK_STR(s, "port=8000");
    free(s);
    s = mt_xstrndup("abcdef", 3);
    CHECK_STR(s, "abc");
    free(s);
    s = mt_xstrndup("ab", 10);
    CHECK_STR(s, "ab");
    free(s);
    int *z = mt_xcalloc(4, sizeof(int));
    CHECK(z[0] == 0 && z[3] == 0);
    z = mt_xrealloc(z, 100 * sizeof(int));
    z[99] = 1;
    z = mt_xreallocarray(z, 200, sizeof(int));
    CHECK_EQ(z[99], 1);
    z[199] = 2;
    free(z);
}

/* mt_xgrow doubles only when the array is full and keeps what it holds. */
static void test_grow(void)
{
    long *v = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 100; n++) {
        v = mt_xgrow(v, n, &cap, sizeof *v);
        CHECK(cap > n);
        v[n] = (long)n * 3;
    }
    CHECK_EQ(cap, 128);
    CHECK_EQ(v[0], 0);
    CHECK_EQ(v[99], 297);
    long *same = mt_xgrow(v, 100, &cap, sizeof *v);
    CHECK(same == v);
    CHECK_EQ(cap, 128);
    free(v);
}

int main(void)
{
    test_errors();
    test_sizes_and_alloc();
    test_grow();
    return check_report();
}
