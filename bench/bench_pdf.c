/* In-process timing of the PDF renderer (src/report/pdf.c) for bench/pdf.sh:
 * a 7-day form for 20 medications, blank and prefilled with 3 doses per
 * medication per day, rendered RUNS times after one warm-up render. Prints
 * the median, minimum and maximum wall time per render, the median CPU time
 * (which other processes on a busy machine do not inflate) and the size of
 * the document. Usage: bench_pdf [RUNS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"

#define N_MEDS 20
#define N_DAYS 7

static double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Renders f runs times; prints one line of figures. Returns 0 or -1. */
static int bench(const char *label, const struct report_form *f, int runs)
{
    double *t = calloc((size_t)runs, sizeof(double));
    double *cpu = calloc((size_t)runs, sizeof(double));
    if (!t || !cpu) {
        free(t);
        free(cpu);
        return -1;
    }
    struct mt_buf out;
    mt_buf_init(&out, REPORT_PDF_MAX);
    struct mt_err err = {0};
    size_t bytes = 0;
    for (int i = -1; i < runs; i++) { /* run -1 is the warm-up */
        mt_buf_reset(&out);
        double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
        if (report_pdf_render(f, &out, &err) < 0) {
            fprintf(stderr, "bench_pdf: %s\n", err.msg);
            free(t);
            free(cpu);
            mt_buf_release(&out);
            return -1;
        }
        if (i >= 0) {
            t[i] = now_ms(CLOCK_MONOTONIC) - t0;
            cpu[i] = now_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
        }
        bytes = out.len;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
    printf("%-28s wall median %6.2f ms  min %6.2f  max %6.2f | cpu median %6.2f ms | %d runs, "
           "%zu bytes\n",
           label, t[runs / 2], t[0], t[runs - 1], cpu[runs / 2], runs, bytes);
    free(t);
    free(cpu);
    mt_buf_release(&out);
    return 0;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 31;
    if (runs < 1 || runs > 100000)
        runs = 31;
    static struct report_med meds[N_MEDS];
    static char names[N_MEDS][48];
    for (int i = 0; i < N_MEDS; i++) {
        snprintf(names[i], sizeof(names[i]), "Medication %02d (Ελληνικά, 日本語)", i + 1);
        meds[i] = (struct report_med){.name = names[i],
                                      .dosage = "250 mg",
                                      .frequency = "Three times daily",
                                      .instructions = "Take with a full glass of water, after "
                                                      "meals. Do not crush.",
                                      .max_doses = 3};
    }
    static struct report_dose doses[N_DAYS * N_MEDS * 3];
    size_t n = 0;
    for (size_t d = 0; d < N_DAYS; d++)
        for (int slot = 0; slot < 3; slot++)
            for (size_t m = 0; m < N_MEDS; m++)
                doses[n++] = (struct report_dose){
                    .day = d, .med = m, .minute = 7 * 60 + slot * 360 + (int)m};
    struct report_form f = {
        .title = "Ελένη 山田 Medication Log",
        .first_day = {2026, 11, 23},
        .n_days = N_DAYS,
        .meds = meds,
        .n_meds = N_MEDS,
        .generated_us = INT64_C(1795957200) * 1000000,
        .tz_offset = 300,
    };
    int rc = bench("7 days x 20 meds, blank", &f, runs);
    f.prefill = true;
    f.doses = doses;
    f.n_doses = n;
    rc |= bench("7 days x 20 meds, prefilled", &f, runs);
    report_pdf_shutdown();
    return rc ? 1 : 0;
}
