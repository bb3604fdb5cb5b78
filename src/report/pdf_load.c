/* report_pdf_* as callers have them: a thin seam over the PDF module
 * (meditrack-pdf.so), which core/module.h opens on the first PDF request,
 * once per process, so that start-up, the CLI and the JSON API never load
 * cairo, pango, glib or fontconfig. When the module is missing or unusable,
 * every PDF request fails with MT_EUNAVAIL saying why; the rest of the
 * program is unaffected. The binary, tests/unit/test_pdf.c and bench_pdf all
 * go through here. */
#include "core/module.h"
#include "report/pdf_module.h"

static struct mt_module pdf_module = MT_MODULE_INIT(REPORT_PDF_MODULE, struct report_pdf_ops);

int report_pdf_render(const struct report_form *f, struct mt_buf *out, struct mt_err *err)
{
    const struct report_pdf_ops *ops = mt_module_get(&pdf_module, err);
    return ops ? ops->render(f, out, err) : -1;
}

void report_pdf_warm(void)
{
    /* A missing module shows on the first PDF request, where it is reported. */
    const struct report_pdf_ops *ops = mt_module_get(&pdf_module, NULL);
    if (ops)
        ops->warm();
}

void report_pdf_shutdown(void)
{
    /* Nothing to drop when no form was ever made: do not load it for that. */
    const struct report_pdf_ops *ops = mt_module_loaded(&pdf_module);
    if (ops)
        ops->shutdown();
}
