/* Unit tests of src/core/mtime.c: calendar arithmetic, local days for
 * JavaScript-style offsets around midnight, day windows clamped at the ends
 * of the calendar, the text forms, and the
 * speedate-compatible lax date parser against the reference's samples. */
#include "core/mtime.h"

#include <string.h>

#include "../check.h"

static int64_t at(int y, int mo, int d, int h, int mi, int s, int us)
{
    struct mt_date dt = {y, mo, d};
    return mt_date_to_days(dt) * MT_USEC_PER_DAY + ((int64_t)h * 3600 + mi * 60 + s) * 1000000 + us;
}

static const char *iso(int64_t t)
{
    static char buf[MT_TIME_BUF];
    return mt_format_iso(t, buf, sizeof(buf));
}

static const char *ymd(struct mt_date d)
{
    static char buf[MT_TIME_BUF];
    return mt_format_date(d, buf, sizeof(buf));
}

static void test_calendar(void)
{
    CHECK_EQ(mt_date_to_days((struct mt_date){1970, 1, 1}), 0);
    CHECK_EQ(mt_date_to_days((struct mt_date){1970, 1, 2}), 1);
    CHECK_EQ(mt_date_to_days((struct mt_date){1969, 12, 31}), -1);
    CHECK_EQ(mt_date_to_days((struct mt_date){2000, 3, 1}), 11017);
    CHECK_STR(ymd(mt_date_from_days(11016)), "2000-02-29");
    CHECK_STR(ymd(mt_date_from_days(-719162)), "0001-01-01");
    for (int64_t d = -800000; d < 3000000; d += 997) {
        struct mt_date x = mt_date_from_days(d);
        CHECK_EQ(mt_date_to_days(x), d);
    }
    CHECK(mt_date_valid(2024, 2, 29));
    CHECK(!mt_date_valid(2023, 2, 29));
    CHECK(!mt_date_valid(1900, 2, 29));
    CHECK(mt_date_valid(2000, 2, 29));
    CHECK(!mt_date_valid(2024, 13, 1));
    CHECK(!mt_date_valid(2024, 4, 31));
    CHECK_EQ(mt_floor_div(-1, 86400), -1);
    CHECK_EQ(mt_floor_mod(-1, 86400), 86399);
}

static void test_format(void)
{
    CHECK_STR(iso(at(2026, 11, 29, 17, 27, 44, 0)), "2026-11-29T17:27:44Z");
    CHECK_STR(iso(at(2026, 11, 29, 17, 27, 44, 966514)), "2026-11-29T17:27:44.966514Z");
    CHECK_STR(iso(at(2026, 11, 29, 17, 27, 44, 5)), "2026-11-29T17:27:44.000005Z");
    CHECK_STR(iso(-1), "1969-12-31T23:59:59.999999Z");
    char buf[MT_TIME_BUF];
    CHECK_STR(mt_format_db(at(2026, 1, 2, 3, 4, 5, 60), buf, sizeof(buf)),
              "2026-01-02 03:04:05.000060");
    CHECK_STR(mt_format_db(at(2026, 1, 2, 3, 4, 5, 0), buf, sizeof(buf)), "2026-01-02 03:04:05");
}

static void test_parse_timestamp(void)
{
    int64_t t = 0;
    const char *ok[] = {"2026-11-29 17:27:44",       "2026-11-29T17:27:44",
                        "2026-11-29 17:27:44Z",      "2026-11-29 17:27:44+00",
                        "2026-11-29 17:27:44+00:00", "2026-11-29 19:27:44+02:00",
                        "2026-11-29 12:27:44-0500",  "2026-11-29 12:27:44-05"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        t = 0;
        CHECK_EQ(mt_parse_timestamp(ok[i], strlen(ok[i]), &t), 0);
        CHECK_EQ(t, at(2026, 11, 29, 17, 27, 44, 0));
    }
    const char *frac = "2025-05-16 20:58:24.475918";
    CHECK_EQ(mt_parse_timestamp(frac, strlen(frac), &t), 0);
    CHECK_STR(iso(t), "2025-05-16T20:58:24.475918Z");
    const char *frac9 = "2025-05-16 20:58:24.4759181234";
    CHECK_EQ(mt_parse_timestamp(frac9, strlen(frac9), &t), 0);
    CHECK_STR(iso(t), "2025-05-16T20:58:24.475918Z");
    const char *frac1 = "2025-05-16 20:58:24.5";
    CHECK_EQ(mt_parse_timestamp(frac1, strlen(frac1), &t), 0);
    CHECK_STR(iso(t), "2025-05-16T20:58:24.500000Z");
    const char *date_only = "2025-05-16";
    CHECK_EQ(mt_parse_timestamp(date_only, strlen(date_only), &t), 0);
    CHECK_STR(iso(t), "2025-05-16T00:00:00Z");
    const char *bad[] = {"",
                         "2025-05-16x",
                         "2025-13-01 00:00:00",
                         "2025-05-16 24:00:00",
                         "2025-05-16 10:00:00.",
                         "yesterday",
                         "2025-05-16 10:00:00+"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(mt_parse_timestamp(bad[i], strlen(bad[i]), &t), -1);
}

/* The scanner's parts and the two forms' differences. */
static void test_scan_timestamp(void)
{
    struct mt_timestamp_text t;
    const char *full = "2025-05-16T20:58:24,4759181234-05:00";
    CHECK(mt_scan_timestamp(full, strlen(full), MT_TS_STORED, &t) == NULL);
    CHECK_STR(ymd(t.date), "2025-05-16");
    CHECK(t.has_time && t.has_second);
    CHECK_EQ(t.sep, 'T');
    CHECK_EQ(t.hour, 20);
    CHECK_EQ(t.minute, 58);
    CHECK_EQ(t.second, 24);
    CHECK_EQ(t.mark, ',');
    CHECK_EQ(t.digits, 10);
    CHECK_EQ(t.usec, 475918);
    CHECK_EQ(t.zone_min, -300);
    CHECK_EQ(t.zone_at, 30);
    CHECK_EQ(t.zone_len, 6);
    const char *hm = "2025-05-16 20:58";
    CHECK(mt_scan_timestamp(hm, strlen(hm), MT_TS_STORED, &t) == NULL);
    CHECK(t.has_time && !t.has_second && t.zone_len == 0 && t.mark == 0);
    CHECK(mt_scan_timestamp("2025-05-16", 10, MT_TS_STORED, &t) == NULL);
    CHECK(!t.has_time);

    /* What only stored values may have: a leap second, zone minutes left
     * out, no time at all. */
    const char *leap = "2016-12-31 23:59:60";
    CHECK(mt_scan_timestamp(leap, strlen(leap), MT_TS_STORED, &t) == NULL);
    CHECK_STR(mt_scan_timestamp(leap, strlen(leap), MT_TS_SPEEDATE, &t),
              "second value is outside expected range of 0-59");
    const char *pg = "2026-11-29 10:00:00+00";
    CHECK(mt_scan_timestamp(pg, strlen(pg), MT_TS_STORED, &t) == NULL);
    CHECK_EQ(t.zone_len, 3);
    CHECK_STR(mt_scan_timestamp(pg, strlen(pg), MT_TS_SPEEDATE, &t), "invalid timezone minute");
    CHECK_STR(mt_scan_timestamp("2025-05-16", 10, MT_TS_SPEEDATE, &t),
              "invalid datetime separator, expected `T`, `t`, `_` or space");
    CHECK_STR(mt_scan_timestamp("0000-01-01", 10, MT_TS_STORED, &t), "year 0 is out of range");

    /* What only speedate reads: year 0, '_', U+2212 as a minus sign. */
    const char *y0 = "0000-01-01T00:00";
    CHECK(mt_scan_timestamp(y0, strlen(y0), MT_TS_SPEEDATE, &t) == NULL);
    CHECK_EQ(t.date.year, 0);
    const char *under = "2026-11-29_10:00";
    CHECK(mt_scan_timestamp(under, strlen(under), MT_TS_SPEEDATE, &t) == NULL);
    CHECK(mt_scan_timestamp(under, strlen(under), MT_TS_STORED, &t) != NULL);
    const char *minus = "2026-11-29T10:00:00\xe2\x88\x92" "05:30";
    CHECK(mt_scan_timestamp(minus, strlen(minus), MT_TS_SPEEDATE, &t) == NULL);
    CHECK_EQ(t.zone_min, -330);
    CHECK_STR(mt_scan_timestamp(minus, strlen(minus), MT_TS_STORED, &t), "invalid timezone sign");
}

/* The examples are the ones the reference server was observed to give. */
static void test_local_days(void)
{
    int64_t now = at(2026, 11, 29, 17, 27, 44, 0);
    CHECK_STR(ymd(mt_local_date(now, 0)), "2026-11-29");
    CHECK_STR(ymd(mt_local_date(now, 300)), "2026-11-29");
    CHECK_STR(ymd(mt_local_date(now, -600)), "2026-11-30"); /* UTC+10: 03:27 next day */
    CHECK_STR(ymd(mt_local_date(at(2026, 11, 29, 4, 59, 59, 999999), 300)), "2026-11-28");
    CHECK_STR(ymd(mt_local_date(at(2026, 11, 29, 5, 0, 0, 0), 300)), "2026-11-29");
    CHECK_STR(ymd(mt_local_date(at(2026, 11, 28, 18, 29, 59, 0), -330)), "2026-11-28");
    CHECK_STR(ymd(mt_local_date(at(2026, 11, 28, 18, 30, 0, 0), -330)), "2026-11-29");

    struct mt_window w =
        mt_day_window((struct mt_date){2026, 11, 29}, (struct mt_date){2026, 11, 29}, 300);
    CHECK_STR(iso(w.start_us), "2026-11-29T05:00:00Z");
    CHECK_STR(iso(w.end_us), "2026-11-30T05:00:00Z");
    w = mt_day_window((struct mt_date){2026, 11, 29}, (struct mt_date){2026, 11, 29}, -600);
    CHECK_STR(iso(w.start_us), "2026-11-28T14:00:00Z");
    CHECK_STR(iso(w.end_us), "2026-11-29T14:00:00Z");
    w = mt_day_window((struct mt_date){2026, 11, 29}, (struct mt_date){2026, 11, 29}, -330);
    CHECK_STR(iso(w.start_us), "2026-11-28T18:30:00Z");
    w = mt_day_window((struct mt_date){2026, 11, 29}, (struct mt_date){2026, 11, 29}, 0);
    CHECK_STR(iso(w.start_us), "2026-11-29T00:00:00Z");
    CHECK_EQ(w.end_us - w.start_us, MT_USEC_PER_DAY);
    /* Several days: from the first local midnight to the one after the last. */
    w = mt_day_window((struct mt_date){2026, 11, 25}, (struct mt_date){2026, 11, 29}, 300);
    CHECK_STR(iso(w.start_us), "2026-11-25T05:00:00Z");
    CHECK_STR(iso(w.end_us), "2026-11-30T05:00:00Z");
    /* last before first: empty, at first's start. */
    w = mt_day_window((struct mt_date){2026, 11, 29}, (struct mt_date){2026, 11, 28}, 0);
    CHECK_EQ(w.end_us, w.start_us);

    CHECK_STR(iso(mt_local_to_instant((struct mt_date){2026, 11, 28}, 20, 15, 300)),
              "2026-11-29T01:15:00Z");
    CHECK_STR(iso(mt_local_to_instant((struct mt_date){2026, 11, 28}, 8, 30, 0)),
              "2026-11-28T08:30:00Z");
    CHECK_STR(iso(mt_local_to_instant((struct mt_date){2026, 1, 1}, 0, 0, -600)),
              "2025-12-31T14:00:00Z");
}

/* The one window computation at the ends of the calendar (issue 12, finding
 * 8): every offset from -1440 to +1440 minutes, bounds always representable
 * and in order, and exactly the local day wherever that is representable. */
static void test_window_edges(void)
{
    const struct mt_date first = {1, 1, 1}, last = {9999, 12, 31};
    for (int tz = -1440; tz <= 1440; tz++) {
        int64_t shift = (int64_t)tz * 60 * MT_USEC_PER_SEC;
        struct mt_window w = mt_day_window(first, first, tz);
        CHECK(mt_instant_valid(w.start_us) && mt_instant_valid(w.end_us));
        /* At -1440 the whole local day lies before year 1: empty. */
        CHECK(w.start_us < w.end_us || (tz == -1440 && w.start_us == w.end_us));
        CHECK_EQ(w.start_us, tz < 0 ? MT_INSTANT_MIN : MT_INSTANT_MIN + shift);
        CHECK_EQ(w.end_us, MT_INSTANT_MIN + MT_USEC_PER_DAY + shift);

        w = mt_day_window(last, last, tz);
        CHECK(mt_instant_valid(w.start_us) && mt_instant_valid(w.end_us));
        CHECK(w.start_us < w.end_us || (tz == 1440 && w.start_us == w.end_us));
        CHECK_EQ(w.start_us,
                 tz == 1440 ? MT_INSTANT_MAX : MT_INSTANT_MAX + 1 - MT_USEC_PER_DAY + shift);
        CHECK_EQ(w.end_us, tz >= 0 ? MT_INSTANT_MAX : MT_INSTANT_MAX + 1 + shift);

        /* The whole calendar in one window. */
        w = mt_day_window(first, last, tz);
        CHECK(mt_instant_valid(w.start_us) && mt_instant_valid(w.end_us));
        CHECK(w.start_us < w.end_us);
    }
    char buf[MT_TIME_BUF];
    struct mt_window w = mt_day_window(first, first, -600);
    CHECK_STR(mt_format_db(w.start_us, buf, sizeof(buf)), "0001-01-01 00:00:00");
    CHECK_STR(mt_format_db(w.end_us, buf, sizeof(buf)), "0001-01-01 14:00:00");
    w = mt_day_window(first, first, 1440);
    CHECK_STR(mt_format_db(w.start_us, buf, sizeof(buf)), "0001-01-02 00:00:00");
    w = mt_day_window(last, last, 600);
    CHECK_STR(mt_format_db(w.start_us, buf, sizeof(buf)), "9999-12-31 10:00:00");
    CHECK_STR(mt_format_db(w.end_us, buf, sizeof(buf)), "9999-12-31 23:59:59.999999");
    w = mt_day_window(last, last, -1440);
    CHECK_STR(mt_format_db(w.start_us, buf, sizeof(buf)), "9999-12-30 00:00:00");
    CHECK_STR(mt_format_db(w.end_us, buf, sizeof(buf)), "9999-12-31 00:00:00");

    /* Leap days: 29 February of a leap year is one whole day, in any zone. */
    static const struct mt_date leap[] = {{4, 2, 29}, {2000, 2, 29}, {2024, 2, 29}, {9996, 2, 29}};
    for (size_t i = 0; i < sizeof(leap) / sizeof(leap[0]); i++) {
        for (int tz = -1440; tz <= 1440; tz += 60) {
            w = mt_day_window(leap[i], leap[i], tz);
            CHECK_EQ(w.end_us - w.start_us, MT_USEC_PER_DAY);
            CHECK(ymd(mt_local_date(w.start_us, tz)) != NULL &&
                  mt_date_cmp(mt_local_date(w.start_us, tz), leap[i]) == 0);
            CHECK(mt_date_cmp(mt_local_date(w.end_us, tz),
                              mt_date_from_days(mt_date_to_days(leap[i]) + 1)) == 0);
        }
    }
    w = mt_day_window((struct mt_date){2024, 2, 28}, (struct mt_date){2024, 3, 1}, 0);
    CHECK_EQ(w.end_us - w.start_us, 3 * MT_USEC_PER_DAY);
    w = mt_day_window((struct mt_date){2023, 2, 28}, (struct mt_date){2023, 3, 1}, 0);
    CHECK_EQ(w.end_us - w.start_us, 2 * MT_USEC_PER_DAY);

    /* Dates past 9999 (a 7-day form from 9999-12-31) clamp like the rest. */
    w = mt_day_window(last, (struct mt_date){10000, 1, 6}, 0);
    CHECK_EQ(w.end_us, MT_INSTANT_MAX);

    /* Clamping and the printed bounds. */
    CHECK(mt_instant_valid(MT_INSTANT_MIN) && mt_instant_valid(MT_INSTANT_MAX));
    CHECK(!mt_instant_valid(MT_INSTANT_MIN - 1) && !mt_instant_valid(MT_INSTANT_MAX + 1));
    CHECK_EQ(mt_instant_clamp(INT64_MIN), MT_INSTANT_MIN);
    CHECK_EQ(mt_instant_clamp(INT64_MAX), MT_INSTANT_MAX);
    CHECK_EQ(mt_instant_clamp(0), 0);
    CHECK_STR(iso(MT_INSTANT_MIN), "0001-01-01T00:00:00Z");
    CHECK_STR(iso(MT_INSTANT_MAX), "9999-12-31T23:59:59.999999Z");
    /* Out of range prints the nearest bound, never a wrong date such as
     * 9999-01-01 for 10000-01-01 or 0000-12-31 for year 0. */
    CHECK_STR(iso(at(10000, 1, 1, 10, 0, 0, 0)), "9999-12-31T23:59:59.999999Z");
    CHECK_STR(iso(MT_INSTANT_MIN - 3600 * MT_USEC_PER_SEC), "0001-01-01T00:00:00Z");
    CHECK(!mt_instant_valid(mt_local_to_instant(first, 0, 0, -600)));
    CHECK(mt_instant_valid(mt_local_to_instant(first, 10, 0, -600)));
}

static void pydate_ok(const char *in, const char *want)
{
    struct mt_date d = {0, 0, 0};
    const char *reason = NULL;
    enum mt_pydate rc = mt_pydate_from_str(in, strlen(in), &d, &reason);
    CHECK_EQ(rc, MT_PYDATE_OK);
    if (rc == MT_PYDATE_OK)
        CHECK_STR(ymd(d), want);
    else
        fprintf(stderr, "  input %s: %s\n", in, reason ? reason : "inexact");
}

static void pydate_err(const char *in, const char *want)
{
    struct mt_date d;
    const char *reason = NULL;
    enum mt_pydate rc = mt_pydate_from_str(in, strlen(in), &d, &reason);
    CHECK_EQ(rc, MT_PYDATE_PARSING);
    if (rc == MT_PYDATE_PARSING)
        CHECK_STR(reason, want);
    else
        fprintf(stderr, "  input %s: unexpected result %d\n", in, (int)rc);
}

static void pydate_inexact(const char *in)
{
    struct mt_date d;
    const char *reason = NULL;
    CHECK_EQ(mt_pydate_from_str(in, strlen(in), &d, &reason), MT_PYDATE_INEXACT);
}

static void test_pydate(void)
{
    pydate_ok("1980-05-06", "1980-05-06");
    pydate_ok("1990-01-02T00:00:00", "1990-01-02");
    pydate_ok("2024-01-01T00:00", "2024-01-01");
    pydate_ok("2024-01-01T00:00:00Z", "2024-01-01");
    pydate_ok("2024-01-01 00:00:00+05:30", "2024-01-01");
    pydate_ok("2024-01-01_00:00:00.000", "2024-01-01");
    pydate_ok("0", "1970-01-01");
    pydate_ok("86400", "1970-01-02");
    pydate_ok("-0", "1970-01-01");
    pydate_ok("86400.0", "1970-01-02");
    pydate_ok("2024-02-29", "2024-02-29");
    pydate_inexact("1990-01-02T10:00:00");
    pydate_inexact("1700000000");
    pydate_inexact("20240101");
    pydate_inexact("2024-01-01T00:00:00.1234567");
    pydate_err("not-a-date", "invalid character in year");
    pydate_err("2020-13-01", "month value is outside expected range of 1-12");
    pydate_err("2024-02-30", "day value is outside expected range");
    pydate_err("2023-02-29", "day value is outside expected range");
    pydate_err("bad", "input is too short");
    pydate_err("yesterday", "input is too short");
    pydate_err("2024-1-1", "input is too short");
    pydate_err("2024-01-01x", "invalid datetime separator, expected `T`, `t`, `_` or space");
    pydate_err("2024-01-01T24:00", "hour value is outside expected range of 0-23");
    pydate_err("2012X04-23", "invalid date separator, expected `-`");
    pydate_err("2012-ab-23", "invalid character in month");
    pydate_err("2012-04-ab", "invalid character in day");
    pydate_err("2012-04-23T00:60:00", "minute value is outside expected range of 0-59");
    pydate_err("2012-04-23T00:00:60", "second value is outside expected range of 0-59");
    pydate_err("2012-04-23T00X00:00", "invalid time separator, expected `:`");
    pydate_err("2012-04-23T00:00:00X", "invalid timezone sign");
    pydate_err("2012-04-23T00:00:00+", "invalid timezone hour");
    pydate_err("2012-04-23T00:00:00+00:60",
               "timezone minute value is outside expected range of 0-59");
    pydate_err("2012-04-23T00:00:00+24:00", "timezone offset must be less than 24 hours");
    pydate_err("2012-04-23T00:00:00.", "second fraction digits missing after `.`");
    pydate_err("2012-04-23T00:00:00Zextra", "unexpected extra characters at the end of the input");
    pydate_err("2012-04-23T00:00:00+23", "invalid timezone minute");
    pydate_err("2024-01-01T", "input is too short");
    pydate_err("99999999999999999999", "invalid date separator, expected `-`");
    pydate_err("", "input is too short");

    struct mt_date d;
    const char *reason = NULL;
    CHECK_EQ(mt_pydate_from_int(0, &d, &reason), MT_PYDATE_OK);
    CHECK_STR(ymd(d), "1970-01-01");
    CHECK_EQ(mt_pydate_from_int(1654560000, &d, &reason), MT_PYDATE_OK);
    CHECK_STR(ymd(d), "2022-06-07");
    CHECK_EQ(mt_pydate_from_int(1654560000000, &d, &reason), MT_PYDATE_OK);
    CHECK_STR(ymd(d), "2022-06-07");
    CHECK_EQ(mt_pydate_from_int(1, &d, &reason), MT_PYDATE_INEXACT);
    CHECK_EQ(mt_pydate_from_int(INT64_MAX, &d, &reason), MT_PYDATE_PARSING);
    CHECK_STR(reason, "dates after 9999 are not supported as unix timestamps");
    CHECK_EQ(mt_pydate_from_int(INT64_MIN, &d, &reason), MT_PYDATE_PARSING);
    CHECK_EQ(mt_pydate_from_double(86400.0, &d, &reason), MT_PYDATE_OK);
    CHECK_STR(ymd(d), "1970-01-02");
    CHECK_EQ(mt_pydate_from_double(86400.5, &d, &reason), MT_PYDATE_INEXACT);
    CHECK_EQ(mt_pydate_from_double(1e300, &d, &reason), MT_PYDATE_PARSING);
}

static void test_parse_date(void)
{
    struct mt_date d;
    CHECK_EQ(mt_parse_date("2026-11-29", 10, &d), 0);
    CHECK_STR(ymd(d), "2026-11-29");
    CHECK_EQ(mt_parse_date("2026-11-31", 10, &d), -1);
    CHECK_EQ(mt_parse_date("2026-11-3", 9, &d), -1);
    CHECK_EQ(mt_parse_date("0000-01-01", 10, &d), -1);
}

int main(void)
{
    test_calendar();
    test_format();
    test_parse_timestamp();
    test_scan_timestamp();
    test_local_days();
    test_window_edges();
    test_pydate();
    test_parse_date();
    return check_report();
}
