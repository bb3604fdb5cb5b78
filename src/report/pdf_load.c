/* report_pdf_* as the binary has them: a thin shim over the PDF module
 * (meditrack-pdf.so), which is opened on the first PDF request, once per
 * process (pthread_once), so that start-up, the CLI and the JSON API never
 * load cairo, pango, glib or fontconfig. When the module is missing or
 * unusable, every PDF request fails with MT_EUNAVAIL saying why; the rest of
 * the program is unaffected. Tests link pdf_link.c instead. */
#include <pthread.h>
#include <stdatomic.h>

#include "core/module.h"
#include "report/pdf_module.h"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* Set by load() only; NULL when loading failed (load_err says why). Atomic
 * so that report_pdf_shutdown can tell whether the module was ever loaded
 * without loading it. */
static _Atomic(const struct report_pdf_ops *) loaded;
static struct mt_err load_err; /* written by load() only */

static void load(void)
{
    const struct report_pdf_ops *ops =
        mt_module_symbol(REPORT_PDF_MODULE, REPORT_PDF_SYMBOL, &load_err);
    if (ops && ops->abi != REPORT_PDF_ABI) {
        mt_fail(&load_err, MT_EUNAVAIL, "module %s has report interface %u, this program needs %u",
                REPORT_PDF_MODULE, ops->abi, (unsigned)REPORT_PDF_ABI);
        return;
    }
    atomic_store(&loaded, ops);
}

/* The module's table, loading it on first use; NULL with err filled. */
static const struct report_pdf_ops *ops_get(struct mt_err *err)
{
    pthread_once(&load_once, load);
    const struct report_pdf_ops *ops = atomic_load(&loaded);
    if (!ops && err)
        *err = load_err;
    return ops;
}

int report_pdf_render(const struct report_form *f, struct mt_buf *out, struct mt_err *err)
{
    const struct report_pdf_ops *ops = ops_get(err);
    return ops ? ops->render(f, out, err) : -1;
}

void report_pdf_warm(void)
{
    /* A missing module shows on the first PDF request, where it is reported. */
    const struct report_pdf_ops *ops = ops_get(NULL);
    if (ops)
        ops->warm();
}

void report_pdf_shutdown(void)
{
    const struct report_pdf_ops *ops = atomic_load(&loaded);
    if (ops)
        ops->shutdown();
}
