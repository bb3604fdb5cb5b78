/* report_pdf_* with the renderer linked in rather than loaded: the same
 * table the module exports (pdf.c), called directly. tests/unit/test_pdf.c
 * and bench/bench_pdf.c use this, so they exercise the renderer without a
 * module on disk; the binary uses pdf_load.c. */
#include "report/pdf_module.h"

int report_pdf_render(const struct report_form *f, struct mt_buf *out, struct mt_err *err)
{
    return report_pdf_module.render(f, out, err);
}

void report_pdf_warm(void)
{
    report_pdf_module.warm();
}

void report_pdf_shutdown(void)
{
    report_pdf_module.shutdown();
}
