/* Unit tests of src/core/module.c and of the four modules the binary loads.
 * This program is linked as the binary is (tests/unit/meson.build), so each
 * real module of the build tree must open against it, carry this build's
 * version and export its table (the PDF module also renders a form, and the
 * shim report_pdf_render finds no module next to this program);
 * and every way of failing gives MT_EUNAVAIL with a message that says what
 * was wrong: no such file (the directories tried are listed), a file that is
 * not a shared object, a module of another version (tests/unit/fake_module.c,
 * which also sits next to this program and so proves that the executable's
 * own directory is searched), a missing symbol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "api/server_module.h"
#include "core/module.h"
#include "db/db_int.h"
#include "report/pdf_module.h"

#ifndef BUILD_ROOT
#error "BUILD_ROOT must name the build tree (tests/unit/meson.build)"
#endif

static const char *const build_dirs[] = {BUILD_ROOT};

static bool contains(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

static void test_missing(void)
{
    struct mt_err err = {0};
    const char *const dirs[] = {"/nonexistent-a", "/nonexistent-b"};
    CHECK(mt_module_symbol_in(dirs, 2, "meditrack-none.so", "x", &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(contains(err.msg, "meditrack-none.so is not installed"));
    CHECK(contains(err.msg, "/nonexistent-a, /nonexistent-b"));

    /* The default search: the executable's directory, ../lib/meditrack, the
     * installed location. None of them has this file. */
    mt_err_clear(&err);
    CHECK(mt_module_symbol("meditrack-none.so", "x", &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(contains(err.msg, "/lib/meditrack"));
    /* The installed location comes last; a long build path may push it past
     * the end of the message. */
    if (strlen(err.msg) < sizeof(err.msg) - 1)
        CHECK(contains(err.msg, MT_MODULE_DIR));
}

static void test_not_a_module(void)
{
    char dir[] = "/tmp/test_module.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[64];
    snprintf(path, sizeof(path), "%s/junk.so", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not an ELF file\n", f);
        fclose(f);
    }
    struct mt_err err = {0};
    const char *const dirs[] = {dir};
    CHECK(mt_module_symbol_in(dirs, 1, "junk.so", "x", &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(contains(err.msg, "cannot load module"));
    CHECK(contains(err.msg, path));
    unlink(path);
    rmdir(dir);
}

static void test_other_version(void)
{
    /* fake-module.so is built next to this program: the default search finds
     * it there, and refuses it. */
    struct mt_err err = {0};
    CHECK(mt_module_symbol("fake-module.so", "fake_module_value", &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(contains(err.msg, "is of version not-" MT_VERSION));
}

static void test_missing_symbol(void)
{
    struct mt_err err = {0};
    CHECK(mt_module_symbol_in(build_dirs, 1, REPORT_PDF_MODULE, "no_such_symbol", &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(contains(err.msg, "has no symbol no_such_symbol"));
}

static void test_pdf_module(void)
{
    struct mt_err err = {0};
    const struct report_pdf_ops *ops =
        mt_module_symbol_in(build_dirs, 1, REPORT_PDF_MODULE, REPORT_PDF_SYMBOL, &err);
    CHECK(ops != NULL);
    if (!ops) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ(ops->abi, REPORT_PDF_ABI);
    const struct report_med med = {.name = "Ibuprofen", .dosage = "200 mg", .max_doses = 2};
    const struct report_form form = {
        .title = "Module Test Medication Log",
        .first_day = {2026, 11, 29},
        .n_days = 1,
        .meds = &med,
        .n_meds = 1,
    };
    ops->warm();
    struct mt_buf out;
    mt_buf_init(&out, REPORT_PDF_MAX);
    CHECK_EQ(ops->render(&form, &out, &err), 0);
    CHECK(out.len > 5 && memcmp(out.data, "%PDF-", 5) == 0);
    mt_buf_release(&out);
    ops->shutdown();
}

static void test_driver_modules(void)
{
    struct mt_err err = {0};
    const struct db_driver *pg =
        mt_module_symbol_in(build_dirs, 1, "meditrack-postgresql.so", "db_postgres_driver", &err);
    CHECK(pg != NULL);
    if (pg) {
        CHECK_EQ(pg->dialect, DB_POSTGRES);
        CHECK_STR(pg->impl_name, "PostgresqlImpl");
    }
    const struct db_driver *my =
        mt_module_symbol_in(build_dirs, 1, "meditrack-mysql.so", "db_mysql_driver", &err);
    CHECK(my != NULL);
    if (my) {
        CHECK_EQ(my->dialect, DB_MYSQL);
        CHECK_STR(my->impl_name, "MySQLImpl");
    }
    if (!pg || !my)
        fprintf(stderr, "%s\n", err.msg);
}

static void test_http_module(void)
{
    struct mt_err err = {0};
    const struct http_server_ops *ops =
        mt_module_symbol_in(build_dirs, 1, HTTP_SERVER_MODULE, HTTP_SERVER_SYMBOL, &err);
    CHECK(ops != NULL);
    if (!ops) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ(ops->abi, HTTP_SERVER_ABI);
    CHECK(ops->start && ops->port && ops->set_ready && ops->stop && ops->free);
}

/* The binary's shim, with no module next to this program: a clear
 * MT_EUNAVAIL, every time (the failure is remembered). */
static void test_pdf_shim_without_module(void)
{
    if (access(MT_MODULE_DIR "/" REPORT_PDF_MODULE, F_OK) == 0) {
        printf("(skipped the shim check: a module is installed in %s)\n", MT_MODULE_DIR);
        return;
    }
    const struct report_med med = {.name = "Aspirin", .dosage = "100 mg", .max_doses = 1};
    const struct report_form form = {
        .title = "Shim", .first_day = {2026, 11, 29}, .n_days = 1, .meds = &med, .n_meds = 1};
    struct mt_buf out;
    mt_buf_init(&out, REPORT_PDF_MAX);
    for (int i = 0; i < 2; i++) {
        struct mt_err err = {0};
        CHECK_EQ(report_pdf_render(&form, &out, &err), -1);
        CHECK_EQ(err.code, MT_EUNAVAIL);
        CHECK(contains(err.msg, "meditrack-pdf.so is not installed"));
    }
    CHECK_EQ(out.len, 0);
    mt_buf_release(&out);
    report_pdf_shutdown(); /* nothing was loaded: nothing to do */
}

int main(void)
{
    test_missing();
    test_not_a_module();
    test_other_version();
    test_missing_symbol();
    test_pdf_module();
    test_driver_modules();
    test_http_module();
    test_pdf_shim_without_module();
    return check_report();
}
