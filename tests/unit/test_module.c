/* Unit tests of src/core/module.c and of the three modules the binary loads.
 * This program is linked as the binary is and, like every test program,
 * loads the real modules of the build tree through the binary's seams
 * (tests/build_modules.c points the loader there): the PDF module renders a
 * form through report_pdf_render and is shut down again (which once raced
 * pango's helper threads, see src/report/pdf.c), and db_driver_get hands out
 * the PostgreSQL and MariaDB drivers. Every way of failing gives MT_EUNAVAIL
 * with a message that says what was wrong, and is remembered: no such file
 * (the directories tried are listed; the default search starts in this
 * program's own directory, where the fake modules of fake_module.c sit), a
 * file that is not a shared object, a shared object without the export, a
 * module of another build, under another name, with a table of another size.
 * Concurrent first loads all get the one table. A child process checks the
 * seams without any module on disk. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"
#include "core/module.h"
#include "db/db_int.h"
#include "report/pdf_module.h"

#ifndef MT_BUILD_ROOT
#error "MT_BUILD_ROOT must name the build tree (meson.build)"
#endif

/* The table of fake_module.c's modules. */
struct fake_table {
    int value;
};

static bool contains(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

/* A fresh module descriptor, as a seam would declare it (each load is once
 * per descriptor, so every case needs its own). */
static struct mt_module fake(const char *file)
{
    struct mt_module m = MT_MODULE_INIT(file, struct fake_table);
    return m;
}

static void test_missing(void)
{
    mt_module_set_dir("/nonexistent-module-dir");
    struct mt_module m = fake("meditrack-none.so");
    struct mt_err err = {0};
    CHECK(mt_module_get(&m, &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK_STR(err.msg, "module meditrack-none.so is not installed (looked in "
                       "/nonexistent-module-dir)");
    CHECK(mt_module_loaded(&m) == NULL);

    /* The default search: this program's directory, ../lib/meditrack, the
     * installed location. None of them has this file. */
    mt_module_set_dir(NULL);
    struct mt_module d = fake("meditrack-none.so");
    mt_err_clear(&err);
    CHECK(mt_module_get(&d, &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(contains(err.msg, MT_BUILD_ROOT "/tests/unit, "));
    CHECK(contains(err.msg, MT_BUILD_ROOT "/tests/lib/meditrack"));
    /* The installed location comes last; a long build path may push it past
     * the end of the message. */
    if (strlen(err.msg) < sizeof(err.msg) - 1)
        CHECK(contains(err.msg, MT_MODULE_DIR));
    mt_module_set_dir(MT_BUILD_ROOT);
}

/* A file that is not a shared object; the failure is remembered, so a second
 * call says the same even after the file is gone. */
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
    mt_module_set_dir(dir);
    struct mt_module m = fake("junk.so");
    struct mt_err err = {0};
    CHECK(mt_module_get(&m, &err) == NULL);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(contains(err.msg, "cannot load module"));
    CHECK(contains(err.msg, path));
    unlink(path);
    rmdir(dir);
    struct mt_err again = {0};
    CHECK(mt_module_get(&m, &again) == NULL);
    CHECK_EQ(again.code, MT_EUNAVAIL);
    CHECK_STR(again.msg, err.msg);
    CHECK(mt_module_get(&m, NULL) == NULL); /* err may be NULL */
    mt_module_set_dir(MT_BUILD_ROOT);
}

/* The fake modules sit next to this program: the default search finds them
 * there, and refuses each for its own reason. */
static void test_refused(void)
{
    static const struct {
        const char *file, *why;
    } cases[] = {
        {"fake-stamp.so", "was built from other sources (stamp not-" MT_MODULE_STAMP
                          ", this program " MT_MODULE_STAMP ")"},
        {"fake-name.so", "holds the module fake-other.so, not fake-name.so"},
        {"fake-size.so", "has a table of 8 bytes, this program needs 4"},
        {"fake-none.so", "is not a meditrack module (it has no mt_module_export)"},
    };
    mt_module_set_dir(NULL);
    for (size_t i = 0; i < MT_ARRAY_LEN(cases); i++) {
        struct mt_module m = fake(cases[i].file);
        struct mt_err err = {0};
        CHECK(mt_module_get(&m, &err) == NULL);
        CHECK_EQ(err.code, MT_EUNAVAIL);
        CHECK(contains(err.msg, MT_BUILD_ROOT "/tests/unit/"));
        CHECK(contains(err.msg, cases[i].why));
        if (!contains(err.msg, cases[i].why))
            fprintf(stderr, "  %s: %s\n", cases[i].file, err.msg);
    }
    mt_module_set_dir(MT_BUILD_ROOT);
}

enum { THREADS = 8 };

static struct mt_module shared_fake = MT_MODULE_INIT("fake-good.so", struct fake_table);
static pthread_barrier_t start_line;

static void *first_load(void *arg)
{
    pthread_barrier_wait(&start_line);
    *(const void **)arg = mt_module_get(&shared_fake, NULL);
    return NULL;
}

/* Threads that ask at the same moment all get the one table of one load. */
static void test_concurrent_first_loads(void)
{
    mt_module_set_dir(MT_BUILD_ROOT "/tests/unit");
    pthread_t t[THREADS];
    const void *got[THREADS] = {0};
    pthread_barrier_init(&start_line, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, first_load, &got[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start_line);
    const struct fake_table *table = got[0];
    CHECK(table != NULL);
    if (table)
        CHECK_EQ(table->value, 42);
    for (int i = 1; i < THREADS; i++)
        CHECK(got[i] == got[0]);
    CHECK(mt_module_loaded(&shared_fake) == got[0]);
    mt_module_set_dir(MT_BUILD_ROOT);
}

/* The real PDF module through the binary's seam, then shut down: the font
 * map must be gone before cairo's caches are reset (run several times, this
 * used to abort in cairo's _cairo_hash_table_destroy about one run in three). */
static void test_pdf_module(void)
{
    const struct report_med med = {.name = "Ibuprofen", .dosage = "200 mg", .max_doses = 2};
    const struct report_form form = {
        .title = "Module Test Medication Log",
        .first_day = {2026, 11, 29},
        .n_days = 1,
        .meds = &med,
        .n_meds = 1,
    };
    report_pdf_warm();
    struct mt_buf out;
    mt_buf_init(&out, REPORT_PDF_MAX);
    struct mt_err err = {0};
    CHECK_EQ(report_pdf_render(&form, &out, &err), 0);
    if (err.msg[0])
        fprintf(stderr, "%s\n", err.msg);
    CHECK(out.len > 5 && memcmp(out.data, "%PDF-", 5) == 0);
    mt_buf_release(&out);
    report_pdf_shutdown();
}

static void test_driver_modules(void)
{
    struct mt_err err = {0};
    const struct db_driver *pg = db_driver_get(DB_POSTGRES, &err);
    CHECK(pg != NULL);
    if (pg) {
        CHECK_EQ(pg->dialect, DB_POSTGRES);
        CHECK_STR(pg->impl_name, "PostgresqlImpl");
    }
    const struct db_driver *my = db_driver_get(DB_MYSQL, &err);
    CHECK(my != NULL);
    if (my) {
        CHECK_EQ(my->dialect, DB_MYSQL);
        CHECK_STR(my->impl_name, "MySQLImpl");
    }
    if (!pg || !my)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(db_driver_get(DB_POSTGRES, NULL) == pg); /* loaded once */
    const struct db_driver *lite = db_driver_get(DB_SQLITE, &err);
    CHECK(lite != NULL && lite->dialect == DB_SQLITE);
}

/* In a child (the parent's modules are loaded already, and loads are once
 * per process): with no module anywhere, the PDF seam fails with MT_EUNAVAIL
 * every time and writes nothing, shutting down is a no-op, and a driver
 * module's absence is MT_EINVAL (waiting cannot help) naming the module. */
static int seams_without_modules(void)
{
    mt_module_set_dir("/nonexistent-module-dir");
    const struct report_med med = {.name = "Aspirin", .dosage = "100 mg", .max_doses = 1};
    const struct report_form form = {
        .title = "Seam", .first_day = {2026, 11, 29}, .n_days = 1, .meds = &med, .n_meds = 1};
    struct mt_buf out;
    mt_buf_init(&out, REPORT_PDF_MAX);
    for (int i = 0; i < 2; i++) {
        struct mt_err err = {0};
        CHECK_EQ(report_pdf_render(&form, &out, &err), -1);
        CHECK_EQ(err.code, MT_EUNAVAIL);
        CHECK(contains(err.msg, "module meditrack-pdf.so is not installed"));
    }
    CHECK_EQ(out.len, 0);
    mt_buf_release(&out);
    report_pdf_warm();     /* says nothing: the first request reports it */
    report_pdf_shutdown(); /* nothing was loaded: nothing to do */
    struct mt_err err = {0};
    CHECK(db_driver_get(DB_MYSQL, &err) == NULL);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK_STR(err.msg, "mysql is not supported by this installation: module meditrack-mysql.so "
                       "is not installed (looked in /nonexistent-module-dir)");
    return check_failed; /* the failed checks themselves went to stderr */
}

static void test_seams_without_modules(void)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(seams_without_modules() == 0 ? 0 : 1);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    test_missing();
    test_not_a_module();
    test_refused();
    test_concurrent_first_loads();
    test_seams_without_modules();
    test_pdf_module();
    test_driver_modules();
    return check_report();
}
