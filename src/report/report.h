/* Printable documents made from data the caller has already gathered: the
 * medication tracking form as PDF (cairo + pango, real text in Unicode
 * fonts) and RFC 4180 CSV fields for the dose-history export. The module
 * knows nothing of HTTP or SQL: api/report_form.c and api/report_export.c
 * fill the structs below from store/ rows and send what comes out. Depends on core only. Owner: the
 * report module. */
#ifndef MT_REPORT_REPORT_H
#define MT_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mtime.h"

/* ---- the tracking form ------------------------------------------------------------------- */

enum report_paper { REPORT_LETTER, REPORT_A4 };

/* Longest form the renderer accepts, in days (the API allows 1..7). */
#define REPORT_MAX_DAYS 31
/* Ceiling of a rendered PDF; beyond it rendering fails with MT_ELIMIT. */
#define REPORT_PDF_MAX ((size_t)16 << 20)

/* One medication row of the form. Strings are borrowed; they may be any
 * bytes (invalid UTF-8 and control characters are shown replaced). */
struct report_med {
    const char *name;         /* never NULL */
    const char *dosage;       /* never NULL, may be empty */
    const char *frequency;    /* NULL or empty: not shown */
    const char *instructions; /* NULL or empty: not shown */
    const char *owner;        /* NULL: not shown (forms for one person) */
    const char *rules;        /* the dosing rules beyond the daily maximum, in words;
                               * NULL or empty: not shown */
    const char *schedule;     /* the schedule and its recent adherence, in words (issue 16);
                               * NULL or empty: not shown */
    int max_doses;            /* slots per day; clamped to 1..REPORT_MAX_SLOTS */
};

#define REPORT_MAX_SLOTS 20

/* A recorded dose to print (prefilled forms). */
struct report_dose {
    size_t day;       /* index of its local day in the form, < n_days */
    bool deleted;     /* of a deleted medication: listed by name */
    size_t med;       /* index into meds when !deleted */
    const char *name; /* the deleted medication's name when deleted */
    int minute;       /* local time, minutes after midnight, 0..1439 */
    bool overridden;  /* given despite a dosing rule: the time is marked "*" */
};

struct report_form {
    const char *title;        /* "<Person> Medication Log"; PDF title too */
    struct mt_date first_day; /* the form covers first_day .. first_day + n_days - 1 */
    size_t n_days;            /* 1..REPORT_MAX_DAYS */
    enum report_paper paper;
    bool prefill; /* print doses (and say so when a day has none) */
    const struct report_med *meds;
    size_t n_meds;
    const struct report_dose *doses; /* in time order within each day */
    size_t n_doses;
    int64_t generated_us; /* footer: "Generated ..." */
    int tz_offset;        /* of the footer time, minutes, JavaScript sign */
};

/* The three report_pdf_* functions below are the renderer pdf.c, which is
 * the loadable module meditrack-pdf.so, reached through pdf_load.c: it is
 * opened on first use, so every function may also fail with MT_EUNAVAIL (the
 * module is missing or unusable; the message says why). */

/* Renders f as a PDF document and appends it to out (which the caller owns;
 * its ceiling should be at least REPORT_PDF_MAX). Every day starts a page
 * headed by its date; a day whose rows do not fit continues on the next
 * page. Pages carry "Page i of n" and the generation time. Thread-safe:
 * renders are serialised on one shared font map. Fails with MT_EINVAL for
 * a form outside the limits above, MT_ELIMIT when out hits its ceiling,
 * MT_EINTERNAL when cairo reports an error. */
int report_pdf_render(const struct report_form *f, struct mt_buf *out, struct mt_err *err);

/* Loads the fonts once, so that the first request does not pay for it.
 * Optional; report_pdf_render does it on first use. */
void report_pdf_warm(void);

/* Drops the shared font map and cairo's and fontconfig's caches, so that
 * leak checkers see a clean exit. No render may run or follow. */
void report_pdf_shutdown(void);

/* "UTC", "UTC-05:00", "UTC+05:30" for a JavaScript-sign offset. buf should
 * hold 16 bytes. Returns buf. */
char *report_utc_offset(int tz_offset, char *buf, size_t cap);

/* ---- CSV (RFC 4180) ---------------------------------------------------------------------- */

/* Appends one field of a record: a comma first unless first is true; the
 * value is quoted when it holds a comma, a double quote, CR, LF, or starts
 * or ends with white space, with inner quotes doubled. A value that starts
 * with = + - @ TAB or CR, which a spreadsheet would evaluate as a formula,
 * is written with a leading apostrophe (inside the quotes when it needs
 * them), which spreadsheets show as text. Otherwise s may hold any bytes
 * and is kept as is (len of them; NULL appends an empty field). */
void report_csv_field(struct mt_buf *b, bool first, const char *s, size_t len);
/* Ends a record with CRLF. */
void report_csv_end(struct mt_buf *b);

#endif
