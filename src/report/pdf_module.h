/* The seam between the binary and the PDF module (meditrack-pdf.so): pdf.c
 * is built into the module, which exports one table of these functions.
 * The binary reaches it through pdf_load.c (dlopen on the first PDF
 * request); tests and bench_pdf link pdf.c directly through pdf_link.c.
 * Either way callers only see report.h. Included by src/report only. */
#ifndef MT_REPORT_PDF_MODULE_H
#define MT_REPORT_PDF_MODULE_H

#include "report/report.h"

/* Bump when struct report_form, report_med, report_dose or this table
 * change shape, so that a stale module is refused instead of misread. */
#define REPORT_PDF_ABI 1

#define REPORT_PDF_MODULE "meditrack-pdf.so"
#define REPORT_PDF_SYMBOL "report_pdf_module"

/* Same contracts as report_pdf_render, report_pdf_warm and
 * report_pdf_shutdown in report.h. */
struct report_pdf_ops {
    unsigned abi; /* REPORT_PDF_ABI of the build that made the module */
    int (*render)(const struct report_form *f, struct mt_buf *out, struct mt_err *err);
    void (*warm)(void);
    void (*shutdown)(void);
};

/* Defined in pdf.c: the module's one export. */
extern const struct report_pdf_ops report_pdf_module;

#endif
