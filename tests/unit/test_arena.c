/* Unit tests of src/core/arena.c: alignment, chunking without overlap, the
 * byte ceiling, and cleanups running last-registered-first. */
#include <stdint.h>

#include "../check.h"
#include "core/arena.h"

static void test_alloc(void)
{
    struct mt_arena *a = mt_arena_new(1 << 20);
    CHECK(a != NULL);
    CHECK_EQ(mt_arena_used(a), 0);
    unsigned char *p[500];
    for (int i = 0; i < 500; i++) {
        size_t n = (size_t)(1 + i % 37);
        p[i] = mt_arena_alloc(a, n);
        CHECK(p[i] != NULL);
        CHECK_EQ((uintptr_t)p[i] % 8, 0);
        memset(p[i], i & 0xff, n);
    }
    /* No allocation overlapped another. */
    int bad = 0;
    for (int i = 0; i < 500; i++)
        for (size_t k = 0; k < (size_t)(1 + i % 37); k++)
            bad += p[i][k] != (unsigned char)(i & 0xff);
    CHECK_EQ(bad, 0);

    /* A block bigger than a chunk gets its own. */
    unsigned char *big = mt_arena_alloc(a, 100000);
    CHECK(big != NULL);
    memset(big, 0xab, 100000);
    unsigned char *after = mt_arena_alloc(a, 16);
    CHECK(after != NULL);
    memset(after, 1, 16);
    CHECK(big[99999] == 0xab);

    char *s = mt_arena_strdup(a, "hello");
    CHECK_STR(s, "hello");
    char *t = mt_arena_strndup(a, "hello world", 5);
    CHECK_STR(t, "hello");
    char *u = mt_arena_printf(a, "%s-%d", "id", 7);
    CHECK_STR(u, "id-7");
    int *z = mt_arena_calloc(a, 10, sizeof(int));
    CHECK(z != NULL);
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += z[i];
    CHECK_EQ(sum, 0);
    CHECK(mt_arena_alloc(a, 0) != NULL);
    mt_arena_free(a);
    mt_arena_free(NULL);
}

static void test_ceiling(void)
{
    struct mt_arena *a = mt_arena_new(1000);
    CHECK(mt_arena_alloc(a, 512) != NULL);
    CHECK_EQ(mt_arena_used(a), 512);
    CHECK(mt_arena_alloc(a, 600) == NULL);
    CHECK_EQ(mt_arena_used(a), 512);
    CHECK(mt_arena_alloc(a, 488) != NULL);
    CHECK_EQ(mt_arena_used(a), 1000);
    CHECK(mt_arena_alloc(a, 1) == NULL);
    CHECK(mt_arena_strdup(a, "x") == NULL);
    CHECK(mt_arena_printf(a, "%d", 1) == NULL);
    mt_arena_free(a);

    a = mt_arena_new(1 << 20);
    CHECK(mt_arena_alloc(a, SIZE_MAX) == NULL);
    CHECK(mt_arena_alloc(a, SIZE_MAX - 3) == NULL);
    CHECK(mt_arena_calloc(a, SIZE_MAX / 2, 4) == NULL);
    CHECK(mt_arena_alloc(a, (1 << 20) + 1) == NULL);
    CHECK(mt_arena_alloc(a, 1 << 20) != NULL);
    CHECK_EQ(mt_arena_used(a), 1 << 20);
    mt_arena_free(a);

    /* Sizes are rounded to the alignment and counted as such. */
    a = mt_arena_new(16);
    CHECK(mt_arena_alloc(a, 1) != NULL);
    CHECK_EQ(mt_arena_used(a), 8);
    CHECK(mt_arena_alloc(a, 9) == NULL);
    CHECK(mt_arena_alloc(a, 8) != NULL);
    mt_arena_free(a);
}

static int order[8];
static int n_order;

static void record(void *ctx)
{
    order[n_order++] = *(int *)ctx;
}

static void test_cleanups(void)
{
    static int ids[3] = {1, 2, 3};
    n_order = 0;
    struct mt_arena *a = mt_arena_new(4096);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(mt_arena_on_free(a, record, &ids[i]), 0);
    CHECK_EQ(n_order, 0);
    mt_arena_free(a);
    CHECK_EQ(n_order, 3);
    CHECK_EQ(order[0], 3);
    CHECK_EQ(order[1], 2);
    CHECK_EQ(order[2], 1);

    /* A cleanup takes room under the ceiling; at the ceiling it is refused
     * and the ones registered before still run. */
    n_order = 0;
    a = mt_arena_new(64);
    CHECK_EQ(mt_arena_on_free(a, record, &ids[0]), 0);
    CHECK(mt_arena_alloc(a, 64 - mt_arena_used(a)) != NULL);
    CHECK_EQ(mt_arena_on_free(a, record, &ids[1]), -1);
    mt_arena_free(a);
    CHECK_EQ(n_order, 1);
    CHECK_EQ(order[0], 1);

    /* A cleanup can free heap memory the request owned. */
    a = mt_arena_new(4096);
    void *heap = malloc(100);
    CHECK_EQ(mt_arena_on_free(a, free, heap), 0);
    mt_arena_free(a);
}

int main(void)
{
    test_alloc();
    test_ceiling();
    test_cleanups();
    return check_report();
}
