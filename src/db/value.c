/* Values between the program and the drivers: text parameters, and the
 * conversions every driver applies to what its server returns (doubles as
 * the shortest text that reads back the same, timestamps in the one
 * canonical UTC form, numbers read from text columns). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mtime.h"
#include "db/db_int.h"

struct db_param db_text(const char *s)
{
    if (!s)
        return DB_NULL;
    return DB_TEXTN(s, strlen(s));
}

/* The zone designators a UTC value may carry: PostgreSQL's timestamptz in
 * a UTC session ends in "+00"; other tools write "Z" or "+00:00". */
static bool utc_designator(const char *z, size_t n)
{
    return (n == 1 && z[0] == 'Z') || (n == 3 && memcmp(z, "+00", 3) == 0) ||
           (n == 6 && memcmp(z, "+00:00", 6) == 0);
}

size_t db_canon_timestamp(const char *in, size_t n, char *out)
{
    struct mt_timestamp_text t;
    if (mt_scan_timestamp(in, n, MT_TS_STORED, &t) || !t.has_second ||
        (t.sep != ' ' && t.sep != 'T') || (t.mark && t.mark != '.') || t.digits > 9 ||
        (t.zone_len && !utc_designator(in + t.zone_at, t.zone_len)))
        return 0;
    int len;
    if (t.usec)
        len = snprintf(out, DB_TS_MAX, "%04d-%02d-%02d %02d:%02d:%02d.%06d", t.date.year,
                       t.date.month, t.date.day, t.hour, t.minute, t.second, t.usec);
    else
        len = snprintf(out, DB_TS_MAX, "%04d-%02d-%02d %02d:%02d:%02d", t.date.year, t.date.month,
                       t.date.day, t.hour, t.minute, t.second);
    return len > 0 && len < DB_TS_MAX ? (size_t)len : 0;
}

int64_t db_text_to_i64(const char *s)
{
    if (!s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s)
        return 0;
    if (errno == 0 && (*end == '\0' || (*end != '.' && *end != 'e' && *end != 'E')))
        return (int64_t)v;
    double d = strtod(s, NULL);
    if (isnan(d))
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

double db_text_to_double(const char *s)
{
    return s ? strtod(s, NULL) : 0.0;
}
