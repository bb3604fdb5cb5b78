/* Reading timestamps and dates: one scanner for every text form the program
 * accepts (mt_scan_timestamp), used for the values databases return
 * (mt_parse_timestamp, and db_canon_timestamp in the database layer), for
 * strict dates, and for the lax date validation of the reference's API
 * (pydantic's speedate), whose error messages and their order it keeps so
 * that our 422 answers are the ones its clients already know. */
#include "core/mtime.h"

#include <stdlib.h>
#include <string.h>

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
/* Ours: speedate reads year 0, which no stored value may have. */
static const char e_year_range[] = "year 0 is out of range";

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

/* ---- the scanner ------------------------------------------------------------------- */

/* What tells the forms of enum mt_timestamp_form apart. Everything else (the
 * grammar, the order of the checks) is the same for all of them. */
struct form_rules {
    const char *seps;       /* bytes that may separate the date from the time */
    bool time_required;     /* a date alone is not a timestamp */
    int min_year;           /* 1 for stored values; speedate reads year 0 */
    int max_second;         /* 60 admits a leap second */
    bool zone_minutes_last; /* "+HH" and "+HH:" may end the text without minutes */
    int max_zone_hour;      /* databases never write more than 23; speedate checks it */
    bool unicode_minus;     /* U+2212 MINUS SIGN as a zone sign (ISO 8601) */
};

static const struct form_rules form_rules[] = {
    [MT_TS_STORED] = {"Tt ", false, 1, 60, true, 99, false},
    [MT_TS_SPEEDATE] = {"Tt _", true, 0, 59, false, 23, true},
};

/* speedate's Date::parse_bytes_partial: the first 10 bytes as YYYY-MM-DD. */
static const char *scan_date(const char *s, size_t len, int min_year, struct mt_date *out)
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
    if (y < min_year)
        return e_year_range;
    out->year = y;
    out->month = m;
    out->day = d;
    return NULL;
}

/* "[:SS[(.|,)digits]]" after the minutes; the fraction's first six digits
 * count, the others are dropped. */
static const char *scan_seconds(const char *s, size_t len, size_t *i, const struct form_rules *r,
                                struct mt_timestamp_text *out)
{
    if (*i >= len || s[*i] != ':')
        return NULL;
    (*i)++;
    out->has_second = true;
    out->second = take_digits(s, len, i, 2);
    if (out->second < 0)
        return e_second;
    if (out->second > r->max_second)
        return e_second_range;
    if (*i >= len || (s[*i] != '.' && s[*i] != ','))
        return NULL;
    out->mark = s[(*i)++];
    int usec = 0;
    for (; *i < len && is_digit(s[*i]); (*i)++) {
        if (out->digits < 6)
            usec = usec * 10 + (s[*i] - '0');
        out->digits++;
    }
    if (out->digits == 0)
        return e_fraction_missing;
    for (int n = out->digits; n < 6; n++)
        usec *= 10;
    out->usec = usec;
    return NULL;
}

/* "Z" or a sign and "HH[[:]MM]" at s[*i]; a text that ends before it has no
 * zone. */
static const char *scan_zone(const char *s, size_t len, size_t *i, const struct form_rules *r,
                             struct mt_timestamp_text *out)
{
    size_t at = *i;
    if (at >= len)
        return NULL;
    if (s[at] == 'Z' || s[at] == 'z') {
        (*i)++;
    } else {
        int sign = 1;
        size_t sign_len = 0;
        if (s[at] == '+' || s[at] == '-') {
            sign = s[at] == '-' ? -1 : 1;
            sign_len = 1;
        } else if (r->unicode_minus && len - at >= 3 && (unsigned char)s[at] == 0xE2 &&
                   (unsigned char)s[at + 1] == 0x88 && (unsigned char)s[at + 2] == 0x92) {
            sign = -1;
            sign_len = 3;
        }
        if (!sign_len)
            return e_tz_sign;
        *i += sign_len;
        int th = take_digits(s, len, i, 2);
        if (th < 0)
            return e_tz_hour;
        if (*i < len && s[*i] == ':')
            (*i)++;
        int tm = 0;
        if (*i < len || !r->zone_minutes_last) {
            tm = take_digits(s, len, i, 2);
            if (tm < 0)
                return e_tz_minute;
            if (tm > 59)
                return e_tz_minute_range;
        }
        if (th > r->max_zone_hour)
            return e_tz_range;
        out->zone_min = sign * (th * 60 + tm);
    }
    out->zone_at = at;
    out->zone_len = *i - at;
    return NULL;
}

/* speedate's time-and-offset parser from position i to the end of s. */
static const char *scan_time(const char *s, size_t len, size_t i, const struct form_rules *r,
                             struct mt_timestamp_text *out)
{
    if (len - i < 5)
        return e_too_short;
    out->hour = take_digits(s, len, &i, 2);
    if (out->hour < 0)
        return e_hour;
    if (s[i++] != ':')
        return e_time_sep;
    out->minute = take_digits(s, len, &i, 2);
    if (out->minute < 0)
        return e_minute;
    if (out->hour > 23)
        return e_hour_range;
    if (out->minute > 59)
        return e_minute_range;
    const char *e = scan_seconds(s, len, &i, r, out);
    if (!e)
        e = scan_zone(s, len, &i, r, out);
    if (!e && i < len)
        e = e_extra;
    return e;
}

const char *mt_scan_timestamp(const char *s, size_t len, enum mt_timestamp_form form,
                              struct mt_timestamp_text *out)
{
    const struct form_rules *r = &form_rules[form];
    *out = (struct mt_timestamp_text){0};
    const char *e = scan_date(s, len, r->min_year, &out->date);
    if (e)
        return e;
    if (len == 10 && !r->time_required)
        return NULL;
    if (len < 11 || !s[10] || !strchr(r->seps, s[10]))
        return e_dt_sep;
    out->has_time = true;
    out->sep = s[10];
    return scan_time(s, len, 11, r, out);
}

int mt_parse_timestamp(const char *s, size_t len, int64_t *out)
{
    struct mt_timestamp_text t;
    if (mt_scan_timestamp(s, len, MT_TS_STORED, &t))
        return -1;
    int64_t sod = (int64_t)t.hour * 3600 + t.minute * 60 + t.second;
    int64_t zone = (int64_t)t.zone_min * 60;
    *out = mt_date_to_days(t.date) * MT_USEC_PER_DAY + (sod - zone) * MT_USEC_PER_SEC + t.usec;
    return 0;
}

int mt_parse_date(const char *s, size_t len, struct mt_date *out)
{
    struct mt_date d;
    if (len != 10 || scan_date(s, len, form_rules[MT_TS_STORED].min_year, &d))
        return -1;
    *out = d;
    return 0;
}

/* ---- speedate-compatible date validation ---------------------------------------------- */

struct dt {
    struct mt_date date;
    int hour, minute, second, usec;
};

static const char *datetime_rfc3339(const char *s, size_t len, struct dt *out)
{
    struct mt_timestamp_text t;
    const char *e = mt_scan_timestamp(s, len, MT_TS_SPEEDATE, &t);
    if (e)
        return e;
    *out = (struct dt){t.date, t.hour, t.minute, t.second, t.usec};
    return NULL;
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
    if (mt_parse_date(s, len, &d) == 0) {
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
