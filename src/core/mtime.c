/* Instants, local days and their text forms: the single place where MediTrack
 * turns "now", a date and a timezone offset into UTC intervals, and where
 * timestamps are printed and read. The lax date parser mirrors speedate, the
 * library behind the reference's validation, closely enough that our 422
 * messages are the ones its clients already know. */
#include "core/mtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* speedate: |timestamp| above this is in milliseconds. */
#define MS_WATERSHED INT64_C(20000000000)
/* speedate's supported range of Unix timestamps (1600-01-01 .. 9999-12-31T23:59:59). */
#define UNIX_1600 INT64_C(-11676096000)
#define UNIX_9999 INT64_C(253402300799)

/* speedate's error messages (its ParseError documentation strings). */
static const char e_too_short[] = "input is too short";
static const char e_extra[] = "unexpected extra characters at the end of the input";
static const char e_dt_sep[] = "invalid datetime separator, expected `T`, `t`, `_` or space";
static const char e_date_sep[] = "invalid date separator, expected `-`";
static const char e_year[] = "invalid character in year";
static const char e_month[] = "invalid character in month";
static const char e_day[] = "invalid character in day";
static const char e_time_sep[] = "invalid time separator, expected `:`";
static const char e_hour[] = "invalid character in hour";
static const char e_minute[] = "invalid character in minute";
static const char e_second[] = "invalid character in second";
static const char e_tz_sign[] = "invalid timezone sign";
static const char e_tz_hour[] = "invalid timezone hour";
static const char e_tz_minute[] = "invalid timezone minute";
static const char e_tz_minute_range[] = "timezone minute value is outside expected range of 0-59";
static const char e_tz_range[] = "timezone offset must be less than 24 hours";
static const char e_month_range[] = "month value is outside expected range of 1-12";
static const char e_day_range[] = "day value is outside expected range";
static const char e_hour_range[] = "hour value is outside expected range of 0-23";
static const char e_minute_range[] = "minute value is outside expected range of 0-59";
static const char e_second_range[] = "second value is outside expected range of 0-59";
static const char e_fraction_missing[] = "second fraction digits missing after `.`";
static const char e_too_small[] = "dates before 1600 are not supported as unix timestamps";
static const char e_too_large[] = "dates after 9999 are not supported as unix timestamps";

int64_t mt_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * MT_USEC_PER_SEC + ts.tv_nsec / 1000;
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

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* n digits at s[*i], advancing *i; -1 when a character is not a digit or the
 * text ends. */
static int take_digits(const char *s, size_t len, size_t *i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || !is_digit(s[*i]))
            return -1;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    return v;
}

int mt_parse_date(const char *s, size_t len, struct mt_date *out)
{
    size_t i = 0;
    if (len != 10)
        return -1;
    int y = take_digits(s, len, &i, 4);
    if (y < 0 || s[i++] != '-')
        return -1;
    int m = take_digits(s, len, &i, 2);
    if (m < 0 || s[i++] != '-')
        return -1;
    int d = take_digits(s, len, &i, 2);
    if (d < 0 || !mt_date_valid(y, m, d))
        return -1;
    out->year = y;
    out->month = m;
    out->day = d;
    return 0;
}

int mt_parse_timestamp(const char *s, size_t len, int64_t *out)
{
    struct mt_date d;
    if (len < 10 || mt_parse_date(s, 10, &d) < 0)
        return -1;
    size_t i = 10;
    int64_t sod = 0, usec = 0, tz = 0;
    if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        int h = take_digits(s, len, &i, 2);
        if (h < 0 || h > 23 || i >= len || s[i++] != ':')
            return -1;
        int mi = take_digits(s, len, &i, 2);
        if (mi < 0 || mi > 59)
            return -1;
        int sec = 0;
        if (i < len && s[i] == ':') {
            i++;
            sec = take_digits(s, len, &i, 2);
            if (sec < 0 || sec > 60)
                return -1;
            if (i < len && (s[i] == '.' || s[i] == ',')) {
                i++;
                int n = 0;
                while (i < len && is_digit(s[i])) {
                    if (n < 6) {
                        usec = usec * 10 + (s[i] - '0');
                        n++;
                    }
                    i++;
                }
                if (n == 0)
                    return -1;
                for (; n < 6; n++)
                    usec *= 10;
            }
        }
        sod = (int64_t)h * 3600 + mi * 60 + sec;
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i++] == '-' ? -1 : 1;
            int th = take_digits(s, len, &i, 2);
            int tm = 0;
            if (th < 0)
                return -1;
            if (i < len && s[i] == ':')
                i++;
            if (i < len) {
                tm = take_digits(s, len, &i, 2);
                if (tm < 0 || tm > 59)
                    return -1;
            }
            tz = sign * ((int64_t)th * 3600 + tm * 60);
        }
    }
    if (i != len)
        return -1;
    *out = mt_date_to_days(d) * MT_USEC_PER_DAY + (sod - tz) * MT_USEC_PER_SEC + usec;
    return 0;
}

/* ---- speedate-compatible parsing ------------------------------------------------------ */

struct dt {
    struct mt_date date;
    int hour, minute, second, usec;
};

/* speedate's Date::parse_bytes_partial: the first 10 bytes as YYYY-MM-DD. */
static const char *date_partial(const char *s, size_t len, struct mt_date *out)
{
    size_t i = 0;
    if (len < 10)
        return e_too_short;
    int y = take_digits(s, len, &i, 4);
    if (y < 0)
        return e_year;
    if (s[i++] != '-')
        return e_date_sep;
    int m = take_digits(s, len, &i, 2);
    if (m < 0)
        return e_month;
    if (s[i++] != '-')
        return e_date_sep;
    int d = take_digits(s, len, &i, 2);
    if (d < 0)
        return e_day;
    if (m < 1 || m > 12)
        return e_month_range;
    if (d < 1 || d > mt_days_in_month(y, m))
        return e_day_range;
    out->year = y;
    out->month = m;
    out->day = d;
    return NULL;
}

/* speedate's time-and-offset parser from position i to the end of s, with
 * fractions beyond 6 digits truncated (pydantic's lax date path). */
static const char *time_part(const char *s, size_t len, size_t i, struct dt *out)
{
    if (len - i < 5)
        return e_too_short;
    int h = take_digits(s, len, &i, 2);
    if (h < 0)
        return e_hour;
    if (s[i++] != ':')
        return e_time_sep;
    int m = take_digits(s, len, &i, 2);
    if (m < 0)
        return e_minute;
    if (h > 23)
        return e_hour_range;
    if (m > 59)
        return e_minute_range;
    int sec = 0, usec = 0;
    if (i < len && s[i] == ':') {
        i++;
        sec = take_digits(s, len, &i, 2);
        if (sec < 0)
            return e_second;
        if (sec > 59)
            return e_second_range;
        if (i < len && (s[i] == '.' || s[i] == ',')) {
            i++;
            int n = 0;
            while (i < len && is_digit(s[i])) {
                if (n < 6) {
                    usec = usec * 10 + (s[i] - '0');
                    n++;
                }
                i++;
            }
            if (n == 0)
                return e_fraction_missing;
            for (; n < 6; n++)
                usec *= 10;
        }
    }
    if (i < len) {
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else {
            size_t sign_len = 0;
            if (s[i] == '+' || s[i] == '-')
                sign_len = 1;
            else if (len - i >= 3 && (unsigned char)s[i] == 0xE2 &&
                     (unsigned char)s[i + 1] == 0x88 && (unsigned char)s[i + 2] == 0x92)
                sign_len = 3; /* U+2212 MINUS SIGN, accepted by ISO 8601 */
            if (!sign_len)
                return e_tz_sign;
            i += sign_len;
            int th = take_digits(s, len, &i, 2);
            if (th < 0)
                return e_tz_hour;
            if (i < len && s[i] == ':')
                i++;
            int tm = take_digits(s, len, &i, 2);
            if (tm < 0)
                return e_tz_minute;
            if (tm > 59)
                return e_tz_minute_range;
            if (th > 23)
                return e_tz_range;
        }
    }
    if (i < len)
        return e_extra;
    out->hour = h;
    out->minute = m;
    out->second = sec;
    out->usec = usec;
    return NULL;
}

static const char *datetime_rfc3339(const char *s, size_t len, struct dt *out)
{
    const char *e = date_partial(s, len, &out->date);
    if (e)
        return e;
    if (len < 11 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ' && s[10] != '_'))
        return e_dt_sep;
    return time_part(s, len, 11, out);
}

/* The UTC date and time of sec seconds (and usec, 0-999999, microseconds)
 * since the epoch, or the error for an instant outside years 1600-9999. */
static const char *datetime_from_unix(int64_t sec, int64_t usec, struct dt *out)
{
    if (sec < UNIX_1600)
        return e_too_small;
    if (sec > UNIX_9999)
        return e_too_large;
    int64_t days = mt_floor_div(sec, 86400);
    int64_t sod = sec - days * 86400;
    out->date = mt_date_from_days(days);
    out->hour = (int)(sod / 3600);
    out->minute = (int)(sod / 60 % 60);
    out->second = (int)(sod % 60);
    out->usec = (int)usec;
    return NULL;
}

/* speedate's DateTime::from_timestamp: seconds, or milliseconds beyond the
 * watershed, plus a microsecond fraction. */
static const char *datetime_from_timestamp(int64_t ts, int64_t usec, struct dt *out)
{
    if (ts == INT64_MIN)
        return e_too_small;
    int64_t sec = ts;
    if ((ts < 0 ? -ts : ts) > MS_WATERSHED) {
        sec = ts / 1000;
        int64_t ms_us = ts % 1000 * 1000;
        if (ms_us < 0) {
            sec -= 1;
            ms_us += 1000000;
        }
        usec += ms_us;
    }
    if (usec >= 1000000) {
        sec += usec / 1000000;
        usec %= 1000000;
    }
    return datetime_from_unix(sec, usec, out);
}

/* floor() without libm, for the bounded values used here. */
static double floor_d(double v)
{
    double t = (double)(int64_t)v;
    return t > v ? t - 1.0 : t;
}

static const char *datetime_from_double(double v, struct dt *out)
{
    if (v != v)
        return "NaN values not permitted";
    double mag = v < 0 ? -v : v;
    double norm = mag > (double)MS_WATERSHED ? v / 1000.0 : v;
    if (!(norm >= (double)UNIX_1600 - 1.0))
        return e_too_small;
    if (!(norm <= (double)UNIX_9999 + 1.0))
        return e_too_large;
    double fl = floor_d(norm);
    int64_t sec = (int64_t)fl;
    int64_t usec = (int64_t)floor_d((norm - fl) * 1e6 + 0.5);
    if (usec >= 1000000) {
        sec += 1;
        usec -= 1000000;
    }
    return datetime_from_unix(sec, usec, out);
}

/* speedate's float_parse_bytes: 1 = integer in *iv, 2 = float in *dv, 0 = not
 * a number. */
static int number_parse(const char *s, size_t len, int64_t *iv, double *dv)
{
    bool has_dot = false;
    for (size_t k = 0; k < len; k++)
        if (s[k] == '.')
            has_dot = true;
    if (has_dot) {
        /* Decimal floats only: [sign] digits "." digits [e[sign]digits], at
         * least one digit in the mantissa. */
        char tmp[64];
        size_t i = 0, digits = 0;
        if (len >= sizeof(tmp))
            return 0;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < len && is_digit(s[i])) {
            i++;
            digits++;
        }
        if (i < len && s[i] == '.')
            i++;
        while (i < len && is_digit(s[i])) {
            i++;
            digits++;
        }
        if (!digits)
            return 0;
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            if (i < len && (s[i] == '+' || s[i] == '-'))
                i++;
            size_t ed = 0;
            while (i < len && is_digit(s[i])) {
                i++;
                ed++;
            }
            if (!ed)
                return 0;
        }
        if (i != len)
            return 0;
        for (size_t k = 0; k < len; k++)
            tmp[k] = s[k];
        tmp[len] = '\0';
        *dv = strtod(tmp, NULL);
        return 2;
    }
    size_t i = 0;
    bool neg = false;
    if (len && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= len)
        return 0;
    int64_t v = 0;
    for (; i < len; i++) {
        if (!is_digit(s[i]))
            return 0;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *iv = neg ? -v : v;
    return 1;
}

static enum mt_pydate date_of(const struct dt *v, struct mt_date *out, const char **reason)
{
    if (v->hour || v->minute || v->second || v->usec)
        return MT_PYDATE_INEXACT;
    if (v->date.year < 1) {
        *reason = "year 0 is out of range";
        return MT_PYDATE_PARSING;
    }
    *out = v->date;
    return MT_PYDATE_OK;
}

enum mt_pydate mt_pydate_from_str(const char *s, size_t len, struct mt_date *out,
                                  const char **reason)
{
    struct mt_date d;
    if (len == 10 && !date_partial(s, len, &d) && d.year >= 1) {
        *out = d;
        return MT_PYDATE_OK;
    }
    struct dt v;
    const char *e = datetime_rfc3339(s, len, &v);
    if (e) {
        int64_t iv;
        double dv;
        int kind = number_parse(s, len, &iv, &dv);
        const char *ne = NULL;
        if (kind == 1)
            ne = datetime_from_timestamp(iv, 0, &v);
        else if (kind == 2)
            ne = datetime_from_double(dv, &v);
        if (!kind) {
            *reason = e;
            return MT_PYDATE_PARSING;
        }
        if (ne) {
            *reason = ne;
            return MT_PYDATE_PARSING;
        }
    }
    return date_of(&v, out, reason);
}

enum mt_pydate mt_pydate_from_int(int64_t iv, struct mt_date *out, const char **reason)
{
    struct dt v;
    const char *e = datetime_from_timestamp(iv, 0, &v);
    if (e) {
        *reason = e;
        return MT_PYDATE_PARSING;
    }
    return date_of(&v, out, reason);
}

enum mt_pydate mt_pydate_from_double(double dv, struct mt_date *out, const char **reason)
{
    struct dt v;
    const char *e = datetime_from_double(dv, &v);
    if (e) {
        *reason = e;
        return MT_PYDATE_PARSING;
    }
    return date_of(&v, out, reason);
}
