/* Unit tests of src/core/tz.c: zone names, the days around both changes of
 * daylight saving time in New York and Berlin (23- and 25-hour days, the
 * skipped and the repeated hour), fixed offsets behaving exactly like
 * mtime.c, and the offsets of several zones from 1900 to 2100 compared with
 * the C library's localtime_r (which this single-threaded test may point at
 * a zone with TZ), past 2037 where only the footer rule of the TZif file
 * applies. Also the test clock of mtime.c. */
#include "core/tz.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return (mt_date_to_days((struct mt_date){y, mo, d}) * 86400 + h * 3600 + mi * 60) *
           MT_USEC_PER_SEC;
}

static struct mt_tz zone(const char *name)
{
    struct mt_tz z = mt_tz_fixed(0);
    struct mt_err err = {0};
    int rc = mt_tz_load(name, &z, &err);
    CHECK_EQ(rc, 0);
    if (rc < 0)
        fprintf(stderr, "%s\n", err.msg);
    return z;
}

static void test_names(void)
{
    CHECK(mt_tz_name_ok("Europe/Berlin"));
    CHECK(mt_tz_name_ok("America/Argentina/Buenos_Aires"));
    CHECK(mt_tz_name_ok("Etc/GMT+5"));
    CHECK(!mt_tz_name_ok(""));
    CHECK(!mt_tz_name_ok("../etc/passwd"));
    CHECK(!mt_tz_name_ok("/etc/passwd"));
    CHECK(!mt_tz_name_ok("Europe//Berlin"));
    CHECK(!mt_tz_name_ok("Europe/Berlin/"));
    CHECK(!mt_tz_name_ok("Europe/.."));
    CHECK(!mt_tz_name_ok("Europe/Ber lin"));
    struct mt_tz z;
    struct mt_err err = {0};
    CHECK_EQ(mt_tz_load("Mars/Olympus_Mons", &z, &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK(strstr(err.msg, "Mars/Olympus_Mons") != NULL);
    /* A directory, and a file that is not TZif. */
    CHECK_EQ(mt_tz_load("America", &z, &err), -1);
    CHECK_EQ(mt_tz_load("zone1970.tab", &z, &err), -1);
    struct mt_tz a = zone("Europe/Berlin"), b = zone("Europe/Berlin");
    CHECK(a.zone == b.zone);
    char buf[16];
    CHECK_STR(mt_tz_name(a, buf, sizeof(buf)), "Europe/Berlin");
    CHECK_STR(mt_tz_name(mt_tz_fixed(300), buf, sizeof(buf)), "UTC-05:00");
    CHECK_STR(mt_tz_name(mt_tz_fixed(-330), buf, sizeof(buf)), "UTC+05:30");
}

static void test_new_york(void)
{
    struct mt_tz ny = zone("America/New_York");
    /* 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z). */
    struct mt_date spring = {2026, 3, 8}, fall = {2026, 11, 1};
    struct mt_window w = mt_tz_day_window(ny, spring, spring);
    CHECK_EQ(w.start_us, utc(2026, 3, 8, 5, 0));
    CHECK_EQ(w.end_us, utc(2026, 3, 9, 4, 0));
    CHECK_EQ((w.end_us - w.start_us) / (3600 * MT_USEC_PER_SEC), 23);
    CHECK_EQ(mt_tz_local_to_instant(ny, spring, 1, 59), utc(2026, 3, 8, 6, 59));
    CHECK_EQ(mt_tz_local_to_instant(ny, spring, 3, 0), utc(2026, 3, 8, 7, 0));
    /* 02:30 does not exist: read with EST, it is 03:30 EDT. */
    CHECK_EQ(mt_tz_local_to_instant(ny, spring, 2, 30), utc(2026, 3, 8, 7, 30));
    CHECK_EQ(mt_tz_local_to_instant(ny, spring, 8, 0), utc(2026, 3, 8, 12, 0));
    /* 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:30 is the first. */
    w = mt_tz_day_window(ny, fall, fall);
    CHECK_EQ(w.start_us, utc(2026, 11, 1, 4, 0));
    CHECK_EQ(w.end_us, utc(2026, 11, 2, 5, 0));
    CHECK_EQ((w.end_us - w.start_us) / (3600 * MT_USEC_PER_SEC), 25);
    CHECK_EQ(mt_tz_local_to_instant(ny, fall, 1, 30), utc(2026, 11, 1, 5, 30));
    CHECK_EQ(mt_tz_local_to_instant(ny, fall, 8, 0), utc(2026, 11, 1, 13, 0));
    CHECK_EQ(mt_tz_offset_at(ny, utc(2026, 11, 1, 5, 59)), -4 * 3600);
    CHECK_EQ(mt_tz_offset_at(ny, utc(2026, 11, 1, 6, 0)), -5 * 3600);
    struct mt_date d = mt_tz_local_date(ny, utc(2026, 11, 2, 4, 59));
    CHECK_EQ(d.day, 1);
    d = mt_tz_local_date(ny, utc(2026, 11, 2, 5, 0));
    CHECK_EQ(d.day, 2);
    /* Beyond the table of the file: only the footer's rule knows. */
    CHECK_EQ(mt_tz_offset_at(ny, utc(2090, 7, 1, 12, 0)), -4 * 3600);
    CHECK_EQ(mt_tz_offset_at(ny, utc(2090, 12, 1, 12, 0)), -5 * 3600);
    w = mt_tz_day_window(ny, (struct mt_date){2090, 3, 12}, (struct mt_date){2090, 3, 12});
    CHECK_EQ((w.end_us - w.start_us) / (3600 * MT_USEC_PER_SEC), 23);
}

static void test_berlin(void)
{
    struct mt_tz be = zone("Europe/Berlin");
    /* 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST ->
     * 02:00 CET (01:00Z). */
    struct mt_date spring = {2026, 3, 29}, fall = {2026, 10, 25};
    struct mt_window w = mt_tz_day_window(be, spring, spring);
    CHECK_EQ(w.start_us, utc(2026, 3, 28, 23, 0));
    CHECK_EQ(w.end_us, utc(2026, 3, 29, 22, 0));
    w = mt_tz_day_window(be, fall, fall);
    CHECK_EQ(w.start_us, utc(2026, 10, 24, 22, 0));
    CHECK_EQ(w.end_us, utc(2026, 10, 25, 23, 0));
    CHECK_EQ(mt_tz_local_to_instant(be, spring, 2, 30), utc(2026, 3, 29, 1, 30));
    CHECK_EQ(mt_tz_local_to_instant(be, fall, 2, 30), utc(2026, 10, 25, 0, 30));
    CHECK_EQ(mt_tz_local_to_instant(be, fall, 20, 0), utc(2026, 10, 25, 19, 0));
    /* A week's window across the change. */
    w = mt_tz_day_window(be, (struct mt_date){2026, 3, 23}, (struct mt_date){2026, 3, 29});
    CHECK_EQ(w.end_us - w.start_us, (7 * 24 - 1) * 3600 * MT_USEC_PER_SEC);
}

static void test_fixed(void)
{
    for (int off = -840; off <= 720; off += 45) {
        struct mt_tz f = mt_tz_fixed(off);
        struct mt_date d = {2026, 5, 17};
        struct mt_window a = mt_tz_day_window(f, d, d), b = mt_day_window(d, d, off);
        CHECK_EQ(a.start_us, b.start_us);
        CHECK_EQ(a.end_us, b.end_us);
        CHECK_EQ(mt_tz_local_to_instant(f, d, 8, 15), mt_local_to_instant(d, 8, 15, off));
        CHECK_EQ(mt_tz_offset_at(f, 0), -off * 60);
    }
    /* The ends of the calendar are clamped as mt_day_window clamps them. */
    struct mt_tz be = zone("Europe/Berlin");
    struct mt_date first = {1, 1, 1}, last = {9999, 12, 31};
    struct mt_window w = mt_tz_day_window(be, first, last);
    CHECK(mt_instant_valid(w.start_us));
    CHECK(mt_instant_valid(w.end_us));
}

/* Our offsets against the C library's, hour by hour at a stride. */
static void compare_libc(const char *name)
{
    struct mt_tz z = zone(name);
    setenv("TZ", name, 1);
    tzset();
    int bad = 0;
    for (int64_t t = utc(1901, 1, 1, 0, 0) / MT_USEC_PER_SEC;
         t < utc(2100, 1, 1, 0, 0) / MT_USEC_PER_SEC; t += 3 * 3600 + 17 * 60) {
        time_t tt = (time_t)t;
        struct tm tm;
        localtime_r(&tt, &tm);
        if (mt_tz_offset_at(z, t * MT_USEC_PER_SEC) != tm.tm_gmtoff && bad++ < 3)
            fprintf(stderr, "%s at %lld: ours %d, libc %ld\n", name, (long long)t,
                    mt_tz_offset_at(z, t * MT_USEC_PER_SEC), tm.tm_gmtoff);
    }
    CHECK_EQ(bad, 0);
}

static void test_clock(void)
{
    int64_t start = utc(2026, 3, 8, 6, 0);
    mt_clock_set(start, 3600.0);
    CHECK(mt_clock_is_test());
    int64_t a = mt_now_us();
    CHECK(a >= start && a < start + 600 * MT_USEC_PER_SEC);
    usleep(20000);
    /* 20 ms at 3600 times is 72 s of test time. */
    int64_t b = mt_now_us();
    CHECK(b - a >= 70 * MT_USEC_PER_SEC);
    CHECK(mt_real_now_us() > utc(2020, 1, 1, 0, 0));
}

int main(void)
{
    if (access(MT_ZONEINFO_DIR "/Europe/Berlin", R_OK) != 0) {
        fprintf(stderr, "SKIP: no zone files in %s (install tzdata)\n", MT_ZONEINFO_DIR);
        return 77;
    }
    test_names();
    test_new_york();
    test_berlin();
    test_fixed();
    static const char *const zones[] = {
        "America/New_York", "Europe/Berlin",     "Australia/Sydney",
        "Asia/Kolkata",     "America/Sao_Paulo", "Africa/Casablanca",
        "Pacific/Chatham",  "Europe/Dublin",     "UTC"};
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
        compare_libc(zones[i]);
    test_clock();
    return check_report();
}
