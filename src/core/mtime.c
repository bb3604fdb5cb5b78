/* Instants, local days and the text forms they are printed in: the single
 * place where MediTrack turns "now", a date and a timezone offset into UTC
 * intervals. Reading timestamps and dates back is mtime_parse.c's job. */
#include "core/mtime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

/* The test clock (ALLOW_TEST_CLOCK): set once by mt_clock_set before any
 * thread starts and only read afterwards, so it needs no lock. */
static bool test_clock;
static int64_t test_start_us;
static uint64_t test_mono_ns;
static double test_speed = 1.0;

void mt_clock_set(int64_t start_us, double speed)
{
    test_start_us = start_us;
    test_speed = speed;
    test_mono_ns = mt_mono_ns();
    test_clock = true;
}

bool mt_clock_is_test(void)
{
    return test_clock;
}

int64_t mt_real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * MT_USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t mt_now_us(void)
{
    if (!test_clock)
        return mt_real_now_us();
    /* Elapsed time is measured on the monotonic clock, so the test clock
     * runs evenly whatever happens to the wall clock meanwhile. */
    double elapsed_us = (double)(mt_mono_ns() - test_mono_ns) / 1000.0 * test_speed;
    return mt_instant_clamp(test_start_us + (int64_t)elapsed_us);
}

int64_t mt_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t mt_floor_mod(int64_t a, int64_t b)
{
    return a - mt_floor_div(a, b) * b;
}

bool mt_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int mt_days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && mt_leap_year(year))
        return 29;
    return days[month - 1];
}

bool mt_date_valid(int year, int month, int day)
{
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= mt_days_in_month(year, month);
}

/* Civil-from-days arithmetic on 400-year eras of 146097 days, counted from
 * 0000-03-01 so that the leap day ends each year. */
int64_t mt_date_to_days(struct mt_date d)
{
    int64_t y = d.year - (d.month <= 2 ? 1 : 0);
    int64_t era = mt_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (d.month + 9) % 12; /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct mt_date mt_date_from_days(int64_t days)
{
    int64_t z = days + 719468;
    int64_t era = mt_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    struct mt_date d;
    d.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    d.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    d.year = (int)(yoe + era * 400 + (d.month <= 2 ? 1 : 0));
    return d;
}

int mt_date_cmp(struct mt_date a, struct mt_date b)
{
    if (a.year != b.year)
        return a.year < b.year ? -1 : 1;
    if (a.month != b.month)
        return a.month < b.month ? -1 : 1;
    if (a.day != b.day)
        return a.day < b.day ? -1 : 1;
    return 0;
}

/* JavaScript's getTimezoneOffset(): local = UTC - offset minutes. */
struct mt_date mt_local_date(int64_t t_us, int tz_offset_min)
{
    int64_t local = t_us - (int64_t)tz_offset_min * 60 * MT_USEC_PER_SEC;
    return mt_date_from_days(mt_floor_div(local, MT_USEC_PER_DAY));
}

bool mt_instant_valid(int64_t t_us)
{
    return t_us >= MT_INSTANT_MIN && t_us <= MT_INSTANT_MAX;
}

int64_t mt_instant_clamp(int64_t t_us)
{
    return t_us < MT_INSTANT_MIN ? MT_INSTANT_MIN : t_us > MT_INSTANT_MAX ? MT_INSTANT_MAX : t_us;
}

struct mt_window mt_day_window(struct mt_date first, struct mt_date last, int tz_offset_min)
{
    /* No overflow: days stay within a few million for any int year the
     * callers hold, and the offset within a day. */
    int64_t shift = (int64_t)tz_offset_min * 60 * MT_USEC_PER_SEC;
    int64_t start = mt_date_to_days(first) * MT_USEC_PER_DAY + shift;
    int64_t end = (mt_date_to_days(last) + 1) * MT_USEC_PER_DAY + shift;
    if (end < start)
        end = start;
    struct mt_window w = {mt_instant_clamp(start), mt_instant_clamp(end)};
    return w;
}

int64_t mt_local_to_instant(struct mt_date d, int hour, int minute, int tz_offset_min)
{
    int64_t local = mt_date_to_days(d) * MT_USEC_PER_DAY +
                    ((int64_t)hour * 3600 + (int64_t)minute * 60) * MT_USEC_PER_SEC;
    return local + (int64_t)tz_offset_min * 60 * MT_USEC_PER_SEC;
}

/* Splits an instant into its UTC date, seconds of the day and microseconds. */
static void split_instant(int64_t t_us, struct mt_date *d, int *sec_of_day, int *usec)
{
    int64_t days = mt_floor_div(t_us, MT_USEC_PER_DAY);
    int64_t rem = t_us - days * MT_USEC_PER_DAY;
    *d = mt_date_from_days(days);
    *sec_of_day = (int)(rem / MT_USEC_PER_SEC);
    *usec = (int)(rem % MT_USEC_PER_SEC);
}

/* Writes v as exactly n decimal digits (v is non-negative and fits). */
static char *put_digits(char *p, int64_t v, int n)
{
    for (int k = n - 1; k >= 0; k--) {
        p[k] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Formats without printf: this runs for every timestamp of every response. */
static char *format_instant(int64_t t_us, char sep, const char *suffix, char *buf, size_t cap)
{
    struct mt_date d;
    int sod, usec;
    /* Clamping the instant, not the year: 10000-01-01 must not read as
     * 9999-01-01, which would put it before the end of 9999. */
    split_instant(mt_instant_clamp(t_us), &d, &sod, &usec);
    char tmp[MT_TIME_BUF];
    char *p = tmp;
    p = put_digits(p, d.year, 4);
    *p++ = '-';
    p = put_digits(p, d.month, 2);
    *p++ = '-';
    p = put_digits(p, d.day, 2);
    *p++ = sep;
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    if (usec) {
        *p++ = '.';
        p = put_digits(p, usec, 6);
    }
    for (const char *q = suffix; *q; q++)
        *p++ = *q;
    *p = '\0';
    if (cap) {
        size_t n = (size_t)(p - tmp);
        if (n >= cap)
            n = cap - 1;
        memcpy(buf, tmp, n);
        buf[n] = '\0';
    }
    return buf;
}

char *mt_format_iso(int64_t t_us, char *buf, size_t cap)
{
    return format_instant(t_us, 'T', "Z", buf, cap);
}

char *mt_format_db(int64_t t_us, char *buf, size_t cap)
{
    return format_instant(t_us, ' ', "", buf, cap);
}

char *mt_format_date(struct mt_date d, char *buf, size_t cap)
{
    if (cap)
        snprintf(buf, cap, "%04d-%02d-%02d", d.year, d.month, d.day);
    return buf;
}
