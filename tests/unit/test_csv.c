/* Unit tests of src/report/csv.c: RFC 4180 quoting (commas, quotes, CR, LF,
 * edge white space), empty and NULL fields, bytes kept verbatim, values a
 * spreadsheet would evaluate neutralised with a leading apostrophe, and
 * records ending in CRLF. */
#include "../check.h"
#include "report/report.h"

static const char *row(struct mt_buf *b, const char *const *fields, size_t n)
{
    mt_buf_reset(b);
    for (size_t i = 0; i < n; i++)
        report_csv_field(b, i == 0, fields[i], fields[i] ? strlen(fields[i]) : 0);
    report_csv_end(b);
    return b->data;
}

int main(void)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);

    const char *plain[] = {"2026-11-29", "08:15:00", "Aspirin", "150mg", "false"};
    CHECK_STR(row(&b, plain, 5), "2026-11-29,08:15:00,Aspirin,150mg,false\r\n");

    const char *tricky[] = {"a,b", "say \"hi\"", "two\nlines", "cr\rhere", "\"", ""};
    CHECK_STR(row(&b, tricky, 6),
              "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\",\"\"\"\",\r\n");

    /* A leading TAB also starts a formula in some spreadsheets: after the
     * apostrophe it is no longer at the edge, so no quotes are needed. */
    const char *edges[] = {" lead", "trail ", "\tTab", "in side"};
    CHECK_STR(row(&b, edges, 4), "\" lead\",\"trail \",'\tTab,in side\r\n");

    const char *nulls[] = {NULL, "x", NULL};
    CHECK_STR(row(&b, nulls, 3), ",x,\r\n");

    const char *utf8[] = {"Ελένη", "服薬, 朝", "=1+2"};
    CHECK_STR(row(&b, utf8, 3), "Ελένη,\"服薬, 朝\",'=1+2\r\n");

    /* Formula injection (OWASP's list): = + - @ TAB CR at the start get an
     * apostrophe, which spreadsheets show as text; quoting still follows
     * RFC 4180, with the apostrophe inside the quotes. */
    const char *formulas[] = {"=HYPERLINK(\"http://x.invalid\",\"click\")",
                              "+1",
                              "-2",
                              "@SUM(A1:A9)",
                              "\tx",
                              "\rcr",
                              "=1,2",
                              "- ",
                              "-"};
    CHECK_STR(row(&b, formulas, 9),
              "\"'=HYPERLINK(\"\"http://x.invalid\"\",\"\"click\"\")\",'+1,'-2,'@SUM(A1:A9),'\tx,"
              "\"'\rcr\",\"'=1,2\",\"'- \",'-\r\n");
    /* Only the first byte counts; these are left alone. */
    const char *inner[] = {"a=b", "1+1", "x-y", "me@example.org", "'quoted", " =1", "２"};
    CHECK_STR(row(&b, inner, 7), "a=b,1+1,x-y,me@example.org,'quoted,\" =1\",２\r\n");
    /* An empty value stays empty; a formula after a NUL byte is data. */
    mt_buf_reset(&b);
    report_csv_field(&b, true, "=x", 0);
    CHECK_EQ(b.len, 0);
    report_csv_field(&b, true, "\0=1", 3);
    CHECK_EQ(b.len, 3);

    /* Length-delimited: an embedded NUL byte is kept, not a terminator. */
    mt_buf_reset(&b);
    report_csv_field(&b, true, "a\0b", 3);
    CHECK_EQ(b.len, 3);
    CHECK(memcmp(b.data, "a\0b", 3) == 0);

    /* The ceiling of the buffer is honoured and reported once. */
    struct mt_buf small;
    mt_buf_init(&small, 8);
    report_csv_field(&small, true, "0123456789", 10);
    CHECK(small.failed);
    mt_buf_release(&small);

    mt_buf_release(&b);
    return check_report();
}
