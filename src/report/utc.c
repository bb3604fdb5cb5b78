/* The "UTC+05:30" label that the PDF footer and the dose-history export
 * both print. It lives in the binary, not in the PDF module, because the
 * CSV and JSON exports need it without loading cairo. */
#include "report/report.h"

#include <stdio.h>

char *report_utc_offset(int tz_offset, char *buf, size_t cap)
{
    /* JavaScript's sign: 300 is five hours behind UTC. */
    int east = -tz_offset;
    if (east == 0) {
        snprintf(buf, cap, "UTC");
        return buf;
    }
    int a = east < 0 ? -east : east;
    snprintf(buf, cap, "UTC%c%02d:%02d", east < 0 ? '-' : '+', a / 60, a % 60);
    return buf;
}
