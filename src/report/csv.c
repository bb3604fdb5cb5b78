/* CSV fields and records as RFC 4180 defines them, for the dose-history
 * export: CRLF line ends, fields quoted only when they need it, quotes
 * doubled. The bytes of a value are kept as they are, except that a value a
 * spreadsheet would take for a formula gets a leading apostrophe, so that
 * opening an export never runs what someone typed as a medication name. */
#include "report/report.h"

#include <string.h>

/* Spreadsheets (Excel, LibreOffice Calc, Google Sheets) evaluate a cell that
 * starts with = + - or @, and some strip a leading TAB or CR first; this is
 * OWASP's list for CSV injection. */
static bool looks_like_formula(const char *s, size_t len)
{
    return len > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                       s[0] == '\r');
}

/* Whether a field needs double quotes. prefixed: an apostrophe goes
 * before s, so s[0] is not at the edge of the field. */
static bool needs_quotes(const char *s, size_t len, bool prefixed)
{
    /* Spreadsheets trim unquoted white space at the edges; quoting keeps it. */
    if (!prefixed && (s[0] == ' ' || s[0] == '\t'))
        return true;
    if (s[len - 1] == ' ' || s[len - 1] == '\t')
        return true;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return false;
}

void report_csv_field(struct mt_buf *b, bool first, const char *s, size_t len)
{
    if (!first)
        mt_buf_addc(b, ',');
    if (!s || len == 0)
        return;
    bool prefixed = looks_like_formula(s, len);
    if (!needs_quotes(s, len, prefixed)) {
        if (prefixed)
            mt_buf_addc(b, '\'');
        mt_buf_add(b, s, len);
        return;
    }
    mt_buf_addc(b, '"');
    if (prefixed)
        mt_buf_addc(b, '\'');
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) {
            mt_buf_add(b, p, (size_t)(end - p));
            break;
        }
        mt_buf_add(b, p, (size_t)(q - p) + 1);
        mt_buf_addc(b, '"');
        p = q + 1;
    }
    mt_buf_addc(b, '"');
}

void report_csv_end(struct mt_buf *b)
{
    mt_buf_add(b, "\r\n", 2);
}
