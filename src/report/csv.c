/* CSV fields and records as RFC 4180 defines them, for the dose-history
 * export: CRLF line ends, fields quoted only when they need it, quotes
 * doubled. The bytes of a value are kept as they are, so a reader gets back
 * exactly what was stored. */
#include "report/report.h"

#include <string.h>

static bool needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return false;
    /* Spreadsheets trim unquoted white space at the edges; quoting keeps it. */
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
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
    if (!s)
        return;
    if (!needs_quotes(s, len)) {
        mt_buf_add(b, s, len);
        return;
    }
    mt_buf_addc(b, '"');
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
