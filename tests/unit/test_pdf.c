/* Unit tests of src/report/pdf.c: renders forms to files and reads them back
 * with poppler-utils (pdfinfo, pdftotext, pdftoppm): page counts per day and
 * per paper size, dates, names in Latin, Greek, Cyrillic and Japanese,
 * prefilled times, extra doses, deleted medications, hostile text (invalid
 * UTF-8, control characters, very long strings) and refused forms. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "report/report.h"

static char dir[] = "/tmp/test_pdf.XXXXXX";

/* Runs cmd and returns its standard output (malloc'ed), NULL on failure. */
static char *run(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    struct mt_buf b;
    mt_buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        mt_buf_add(&b, chunk, n);
    int st = pclose(f);
    if (status)
        *status = st;
    return mt_buf_detach(&b, NULL);
}

/* Renders f into dir/name.pdf; returns 0 when rendering succeeded. */
static int render_file(const struct report_form *f, const char *name, struct mt_err *err)
{
    struct mt_buf out;
    mt_buf_init(&out, REPORT_PDF_MAX);
    int rc = report_pdf_render(f, &out, err);
    if (rc == 0) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s.pdf", dir, name);
        FILE *fp = fopen(path, "wb");
        CHECK(fp != NULL);
        if (fp) {
            CHECK(fwrite(out.data, 1, out.len, fp) == out.len);
            fclose(fp);
        }
        CHECK(out.len > 4 && memcmp(out.data, "%PDF-", 5) == 0);
    }
    mt_buf_release(&out);
    return rc;
}

static int page_count(const char *name)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "pdfinfo '%s/%s.pdf' 2>&1", dir, name);
    char *out = run(cmd, NULL);
    int pages = -1;
    const char *p = out ? strstr(out, "Pages:") : NULL;
    if (p)
        pages = atoi(p + 6);
    free(out);
    return pages;
}

static char *text_of(const char *name)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 '%s/%s.pdf' - 2>&1", dir, name);
    return run(cmd, NULL);
}

/* The text of page `page` (1-based). */
static char *page_text(const char *name, int page)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 -f %d -l %d '%s/%s.pdf' - 2>&1", page, page,
             dir, name);
    return run(cmd, NULL);
}

static bool has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

static const struct report_med meds[] = {
    {.name = "Aspirin",
     .dosage = "150mg",
     .frequency = "Twice daily",
     .instructions = "Take with food",
     .max_doses = 2},
    {.name = "Ελένη's Vitamin D", .dosage = "1000 IU", .frequency = "Once daily", .max_doses = 1},
    {.name = "Мелатонин", .dosage = "3mg", .instructions = NULL, .max_doses = 3},
    {.name = "服薬テスト", .dosage = "5 ml", .frequency = "毎日", .max_doses = 6},
};

static void test_basic(void)
{
    struct report_form f = {
        .title = "山田 花子 Medication Log",
        .first_day = {2026, 11, 29},
        .n_days = 3,
        .paper = REPORT_LETTER,
        .meds = meds,
        .n_meds = 4,
        .generated_us = INT64_C(1795957200) * 1000000, /* 2026-11-29 13:00:00 UTC */
        .tz_offset = 300,
    };
    struct mt_err err = {0};
    CHECK_EQ(render_file(&f, "basic", &err), 0);
    CHECK_EQ(page_count("basic"), 3);
    char *t = text_of("basic");
    CHECK(has(t, "山田 花子 Medication Log"));
    CHECK(has(t, "2026-11-29"));
    CHECK(has(t, "2026-11-30"));
    CHECK(has(t, "2026-12-01"));
    CHECK(has(t, "Sunday"));
    CHECK(has(t, "Aspirin"));
    CHECK(has(t, "150mg"));
    CHECK(has(t, "Take with food"));
    CHECK(has(t, "Ελένη's Vitamin D"));
    CHECK(has(t, "Мелатонин"));
    CHECK(has(t, "服薬テスト"));
    CHECK(has(t, "Page 1 of 3"));
    CHECK(has(t, "Page 3 of 3"));
    CHECK(has(t, "Generated 2026-11-29 08:00 UTC-05:00"));
    CHECK(!has(t, "No doses were recorded"));
    free(t);
    char *p2 = page_text("basic", 2);
    CHECK(has(p2, "2026-11-30"));
    CHECK(!has(p2, "2026-11-29 ("));
    CHECK(has(p2, "Day 2 of 3"));
    free(p2);

    char cmd[512];
    int st = -1;
    snprintf(cmd, sizeof(cmd), "pdftoppm -r 30 -png '%s/basic.pdf' '%s/basic-page' 2>&1", dir, dir);
    char *out = run(cmd, &st);
    CHECK_EQ(st, 0);
    CHECK(out && out[0] == '\0');
    free(out);
    for (int i = 1; i <= 3; i++) {
        char png[300];
        snprintf(png, sizeof(png), "%s/basic-page-%d.png", dir, i);
        CHECK(access(png, R_OK) == 0);
    }
}

static void test_prefill(void)
{
    const struct report_dose doses[] = {
        {.day = 0, .med = 0, .minute = 8 * 60 + 5},
        {.day = 0, .med = 3, .minute = 9 * 60},
        {.day = 0, .deleted = true, .name = "Ibuprofen", .minute = 10 * 60 + 30},
        {.day = 0, .med = 0, .minute = 13 * 60 + 45},
        {.day = 0, .med = 0, .minute = 21 * 60 + 59}, /* beyond the 2 slots */
        {.day = 0, .deleted = true, .name = "Ibuprofen", .minute = 18 * 60},
        {.day = 0, .deleted = true, .name = "Old \"Drops\"", .minute = 19 * 60 + 1},
        {.day = 1, .med = 1, .minute = 7 * 60 + 7},
    };
    struct report_form f = {
        .title = "Alice Example Medication Log",
        .first_day = {2026, 12, 31},
        .n_days = 3,
        .paper = REPORT_A4,
        .prefill = true,
        .meds = meds,
        .n_meds = 4,
        .doses = doses,
        .n_doses = MT_ARRAY_LEN(doses),
        .generated_us = INT64_C(1795957200) * 1000000,
        .tz_offset = -330,
    };
    struct mt_err err = {0};
    CHECK_EQ(render_file(&f, "prefill", &err), 0);
    CHECK_EQ(page_count("prefill"), 3);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "pdfinfo '%s/prefill.pdf'", dir);
    char *info = run(cmd, NULL);
    CHECK(has(info, "595.276 x 841.89") || has(info, "595.28 x 841.89") || has(info, "(A4)"));
    CHECK(has(info, "Alice Example Medication Log"));
    free(info);

    char *p1 = page_text("prefill", 1);
    CHECK(has(p1, "2026-12-31"));
    CHECK(has(p1, "08:05"));
    CHECK(has(p1, "13:45"));
    CHECK(has(p1, "09:00"));
    CHECK(has(p1, "Also recorded: 21:59"));
    CHECK(has(p1, "Ibuprofen (deleted): 10:30, 18:00"));
    CHECK(has(p1, "Old \"Drops\" (deleted): 19:01"));
    CHECK(has(p1, "Generated 2026-11-29 18:30 UTC+05:30"));
    CHECK(!has(p1, "07:07"));
    free(p1);
    char *p2 = page_text("prefill", 2);
    CHECK(has(p2, "2027-01-01"));
    CHECK(has(p2, "Friday"));
    CHECK(has(p2, "07:07"));
    CHECK(!has(p2, "Ibuprofen"));
    free(p2);
    char *p3 = page_text("prefill", 3);
    CHECK(has(p3, "No doses were recorded on this day."));
    free(p3);
}

/* Many medications: a day continues on further pages, each headed by its
 * date, and the page numbers count them all. */
static void test_overflow(void)
{
    struct report_med many[40];
    char names[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "Medicine %02d", i + 1);
        many[i] = (struct report_med){.name = names[i],
                                      .dosage = "10 mg",
                                      .instructions = "Swallow whole with a glass of water.",
                                      .max_doses = 1 + i % 20};
    }
    struct report_form f = {
        .title = "Medication Log",
        .first_day = {2024, 2, 28},
        .n_days = 2,
        .meds = many,
        .n_meds = 40,
        .generated_us = 0,
        .tz_offset = 0,
    };
    struct mt_err err = {0};
    CHECK_EQ(render_file(&f, "overflow", &err), 0);
    int pages = page_count("overflow");
    CHECK(pages >= 4 && pages % 2 == 0);
    char *t = text_of("overflow");
    CHECK(has(t, "Medicine 01"));
    CHECK(has(t, "Medicine 40"));
    CHECK(has(t, "2024-02-29"));
    CHECK(has(t, "(continued)"));
    CHECK(has(t, "Generated 1970-01-01 00:00 UTC"));
    char last[32];
    snprintf(last, sizeof(last), "Page %d of %d", pages, pages);
    CHECK(has(t, last));
    free(t);
}

/* Text that is not valid UTF-8, control characters and huge strings render
 * without breaking the layout. */
static void test_hostile_text(void)
{
    static char huge[20000];
    for (size_t i = 0; i + 1 < sizeof(huge); i++)
        huge[i] = (char)('a' + i % 26);
    huge[sizeof(huge) - 1] = '\0';
    const struct report_med odd[] = {
        {.name = "Bad \xC3\x28 bytes\nand a newline", .dosage = "\x01\x02", .max_doses = 0},
        {.name = huge,
         .dosage = huge,
         .frequency = huge,
         .instructions = huge,
         .owner = huge,
         .max_doses = 99},
    };
    struct report_form f = {
        .title = "Tab\there \xFF",
        .first_day = {9999, 12, 31},
        .n_days = 1,
        .meds = odd,
        .n_meds = 2,
        .generated_us = 0,
    };
    struct mt_err err = {0};
    CHECK_EQ(render_file(&f, "hostile", &err), 0);
    CHECK_EQ(page_count("hostile"), 1);
    char *t = text_of("hostile");
    CHECK(has(t, "Bad"));
    CHECK(has(t, "and a newline"));
    CHECK(has(t, "9999-12-31"));
    free(t);
}

static void test_refused(void)
{
    struct report_dose bad_dose = {.day = 5, .med = 0, .minute = 0};
    struct report_form f = {
        .title = "x",
        .first_day = {2026, 1, 1},
        .n_days = 0,
        .meds = meds,
        .n_meds = 1,
    };
    struct mt_buf out;
    mt_buf_init(&out, REPORT_PDF_MAX);
    struct mt_err err = {0};
    CHECK_EQ(report_pdf_render(&f, &out, &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    f.n_days = REPORT_MAX_DAYS + 1;
    CHECK_EQ(report_pdf_render(&f, &out, &err), -1);
    f.n_days = 2;
    f.doses = &bad_dose;
    f.n_doses = 1;
    CHECK_EQ(report_pdf_render(&f, &out, &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    f.doses = NULL;
    f.n_doses = 0;
    f.first_day.month = 13;
    CHECK_EQ(report_pdf_render(&f, &out, &err), -1);
    CHECK_EQ(out.len, 0);
    /* A ceiling too small for the document: MT_ELIMIT, not a crash. */
    f.first_day.month = 1;
    struct mt_buf small;
    mt_buf_init(&small, 1000);
    CHECK_EQ(report_pdf_render(&f, &small, &err), -1);
    CHECK_EQ(err.code, MT_ELIMIT);
    mt_buf_release(&small);
    mt_buf_release(&out);
}

static void test_utc_offset(void)
{
    char b[16];
    CHECK_STR(report_utc_offset(0, b, sizeof(b)), "UTC");
    CHECK_STR(report_utc_offset(300, b, sizeof(b)), "UTC-05:00");
    CHECK_STR(report_utc_offset(-330, b, sizeof(b)), "UTC+05:30");
    CHECK_STR(report_utc_offset(-600, b, sizeof(b)), "UTC+10:00");
    CHECK_STR(report_utc_offset(1439, b, sizeof(b)), "UTC-23:59");
}

int main(void)
{
    int st = -1;
    char *v = run("pdftotext -v 2>&1 && pdfinfo -v 2>&1 && pdftoppm -v 2>&1", &st);
    free(v);
    if (st != 0)
        SKIP("poppler-utils (pdftotext, pdfinfo, pdftoppm) are not installed");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    report_pdf_warm();
    test_utc_offset();
    test_basic();
    test_prefill();
    test_overflow();
    test_hostile_text();
    test_refused();
    report_pdf_shutdown();

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (check_failed == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
