/* Shared objects that look like modules but are not right, for
 * test_module.c, which must see each refused with its own reason; one
 * variant per build (FAKE_VARIANT, tests/unit/meson.build): 1 another
 * build's stamp, 2 another module's name, 3 a table of another size, 4 no
 * export at all, 5 a well-formed module (for the concurrent first loads). */
#include "core/module.h"

/* The table test_module.c expects; the wrong-size variant has a larger one. */
struct fake_table {
    int value;
};
struct fake_big_table {
    int value;
    int more;
};

#if FAKE_VARIANT == 1
static const struct fake_table table = {42};
__attribute__((visibility("default"))) const struct mt_module_export mt_module_export = {
    .stamp = "not-" MT_MODULE_STAMP, .file = "fake-stamp.so", .size = sizeof(table), .table = &table};
#elif FAKE_VARIANT == 2
static const struct fake_table table = {42};
MT_MODULE_EXPORT("fake-other.so", table);
#elif FAKE_VARIANT == 3
static const struct fake_big_table table = {42, 43};
MT_MODULE_EXPORT("fake-size.so", table);
#elif FAKE_VARIANT == 4
__attribute__((visibility("default"))) const int fake_value = 42;
#elif FAKE_VARIANT == 5
static const struct fake_table table = {42};
MT_MODULE_EXPORT("fake-good.so", table);
#else
#error "FAKE_VARIANT must be 1..5"
#endif
