/* The seam between the binary and the PDF module (meditrack-pdf.so): pdf.c
 * is built into the module, whose exported table (core/module.h) is a
 * struct report_pdf_ops; the binary and the test programs reach it through
 * pdf_load.c, which loads the module on first use. Callers only see
 * report.h. Included by src/report only. */
#ifndef MT_REPORT_PDF_MODULE_H
#define MT_REPORT_PDF_MODULE_H

#include "report/report.h"

#define REPORT_PDF_MODULE "meditrack-pdf.so"

/* Same contracts as report_pdf_render, report_pdf_warm and
 * report_pdf_shutdown in report.h. */
struct report_pdf_ops {
    int (*render)(const struct report_form *f, struct mt_buf *out, struct mt_err *err);
    void (*warm)(void);
    void (*shutdown)(void);
};

#endif
