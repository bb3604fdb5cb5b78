/* The one rule for instants and days (docs: api.md, decision 3). Instants are
 * microseconds since the Unix epoch in UTC; a day is the local calendar day
 * given by a JavaScript-style timezone offset in minutes (300 = UTC-5, -600 =
 * UTC+10), as the half-open UTC interval [local 00:00, next local 00:00).
 * Also here: the text forms the database and the API use, and the lax date
 * parsing of the reference's validation library (pydantic / speedate) so that
 * our 422 answers match it. Owner: core. No allocation anywhere. */
#ifndef MT_CORE_MTIME_H
#define MT_CORE_MTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT_USEC_PER_SEC INT64_C(1000000)
#define MT_USEC_PER_DAY (INT64_C(86400) * MT_USEC_PER_SEC)
/* Offsets are accepted strictly inside (-MT_TZ_LIMIT, MT_TZ_LIMIT) minutes. */
#define MT_TZ_LIMIT 1440
/* Buffer size that fits every text this module writes. */
#define MT_TIME_BUF 40

struct mt_date {
    int year;  /* 1..9999 for every value this module produces from valid input */
    int month; /* 1..12 */
    int day;   /* 1..31 */
};

/* The server's "now" with microseconds: the wall clock (CLOCK_REALTIME),
 * unless the test clock is set. Every "now" of the API, the store and the
 * reminders goes through it, so that a test can make a day pass in seconds. */
int64_t mt_now_us(void);
/* The wall clock, whatever the test clock says (for logs and deadlines that
 * must follow real time). */
int64_t mt_real_now_us(void);
/* Starts the test clock (ALLOW_TEST_CLOCK=true, docs/configuration.md): from
 * now on mt_now_us is start_us plus the real time elapsed since this call
 * times speed (> 0). Call it once at start-up, before any thread exists: the
 * state is then only read, so no lock is needed. */
void mt_clock_set(int64_t start_us, double speed);
/* True once mt_clock_set has run. */
bool mt_clock_is_test(void);

/* Floor division and modulo (the result of mt_floor_mod has b's sign). */
int64_t mt_floor_div(int64_t a, int64_t b);
int64_t mt_floor_mod(int64_t a, int64_t b);

/* Gregorian calendar. */
bool mt_leap_year(int year);
int mt_days_in_month(int year, int month);
bool mt_date_valid(int year, int month, int day);
/* Days since 1970-01-01 (negative before). */
int64_t mt_date_to_days(struct mt_date d);
struct mt_date mt_date_from_days(int64_t days);
/* Compares two dates: <0, 0, >0. */
int mt_date_cmp(struct mt_date a, struct mt_date b);

/* The instants every supported database stores and compares, and so the only
 * ones this program sends to one: 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999999Z (PostgreSQL refuses year 0, MariaDB's DATETIME
 * ends with 9999, and SQLite compares the text, which has four year digits). */
#define MT_INSTANT_MIN (INT64_C(-62135596800) * MT_USEC_PER_SEC)
#define MT_INSTANT_MAX (INT64_C(253402300800) * MT_USEC_PER_SEC - 1)

/* A half-open interval of instants, [start_us, end_us). */
struct mt_window {
    int64_t start_us, end_us;
};

/* True when t lies in [MT_INSTANT_MIN, MT_INSTANT_MAX]. */
bool mt_instant_valid(int64_t t_us);
/* t moved into [MT_INSTANT_MIN, MT_INSTANT_MAX]. */
int64_t mt_instant_clamp(int64_t t_us);

/* The local calendar date of instant t in the zone tz_offset (JS sign). */
struct mt_date mt_local_date(int64_t t_us, int tz_offset_min);
/* The one computation of day windows, for every endpoint: the UTC interval
 * from local midnight starting day `first` to local midnight after day `last`
 * in the zone tz_offset_min (JS sign), clamped once to the representable
 * instants. Valid dates (years 1 to 9999) at any offset give bounds that
 * every database accepts: 0001-01-01 east of UTC starts at MT_INSTANT_MIN
 * (the part of the day before year 1 holds no instant anyway), 9999-12-31
 * west of UTC ends at MT_INSTANT_MAX (so only that very last microsecond,
 * which no dose can have since doses are never in the future, is outside).
 * Dates beyond year 9999 are clamped the same way. last before first gives
 * an empty window at first's start. */
struct mt_window mt_day_window(struct mt_date first, struct mt_date last, int tz_offset_min);
/* The instant of local wall time d hh:mm in the zone tz_offset, unclamped:
 * check it with mt_instant_valid before storing it (0001-01-01 00:00 east of
 * UTC lies in year 0). */
int64_t mt_local_to_instant(struct mt_date d, int hour, int minute, int tz_offset_min);

/* "YYYY-MM-DDTHH:MM:SS[.ffffff]Z": the API's form. The fraction is printed,
 * always with 6 digits, only when it is not zero. Returns buf. cap should be
 * MT_TIME_BUF; a shorter buffer gets a truncated, NUL-terminated text. An
 * instant outside the representable range (only a corrupt stored value can
 * be) is printed as the nearest bound, MT_INSTANT_MIN or MT_INSTANT_MAX, so
 * the text is always a real, ordered timestamp. */
char *mt_format_iso(int64_t t_us, char *buf, size_t cap);
/* "YYYY-MM-DD HH:MM:SS[.ffffff]": the form bound to and read from the
 * database (UTC, no designator). Returns buf. */
char *mt_format_db(int64_t t_us, char *buf, size_t cap);
/* "YYYY-MM-DD". Returns buf. */
char *mt_format_date(struct mt_date d, char *buf, size_t cap);

/* The text forms of a timestamp that mt_scan_timestamp reads. Both are
 * "YYYY-MM-DD" <sep> "HH:MM[:SS[(.|,)f...]]" (any number of fraction digits,
 * the first six count) and a zone "Z" or sign "HH[[:]MM]"; they differ in: */
enum mt_timestamp_form {
    /* As databases store and return timestamps: years 1-9999, a date alone
     * allowed, <sep> 'T', 't' or ' ', a leap second (:60) allowed, zone
     * minutes optional at the end ("+00"). */
    MT_TS_STORED,
    /* RFC 3339 as the reference's validation library (speedate) reads it:
     * year 0 allowed, a time required, <sep> also '_', seconds up to 59,
     * zone minutes required, zone hours up to 23, U+2212 as a minus sign. */
    MT_TS_SPEEDATE,
};

/* A timestamp text taken apart by mt_scan_timestamp. Fields of parts that
 * are absent are 0. */
struct mt_timestamp_text {
    struct mt_date date;
    bool has_time; /* false: a date alone */
    char sep;      /* the byte between date and time */
    int hour, minute, second;
    bool has_second; /* ":SS" was written */
    char mark;       /* '.' or ',' before the fraction; 0: no fraction */
    int digits;      /* fraction digits written */
    int usec;        /* the first six of them, as microseconds */
    int zone_min;    /* offset east of UTC in minutes; 0 for "Z" or no zone */
    size_t zone_at;  /* where the zone is written in the text */
    size_t zone_len; /* its length; 0: no zone (a naive value, read as UTC) */
};

/* The one timestamp parser: reads the whole of the len bytes at s as form.
 * Returns NULL, or why s is not such a text (speedate's message, checked in
 * speedate's order; static storage), *out then being unspecified. */
const char *mt_scan_timestamp(const char *s, size_t len, enum mt_timestamp_form form,
                              struct mt_timestamp_text *out);

/* Reads a timestamp as a database returns it (MT_TS_STORED). A value
 * without a designator (legacy naive values) is taken as UTC. Returns 0, or
 * -1 when s is not such a text (out untouched). */
int mt_parse_timestamp(const char *s, size_t len, int64_t *out);
/* Reads a strict "YYYY-MM-DD" (a valid date). Returns 0 or -1. */
int mt_parse_date(const char *s, size_t len, struct mt_date *out);

/* Lax date validation as the reference's API did it (pydantic's `date` type
 * in lax mode, built on speedate). The result is one of: */
enum mt_pydate {
    MT_PYDATE_OK,      /* *out holds the date */
    MT_PYDATE_PARSING, /* *reason holds speedate's message: "input is too short", ... */
    MT_PYDATE_INEXACT, /* a datetime whose time is not 00:00:00 */
};
/* From a string: "YYYY-MM-DD"; a datetime "YYYY-MM-DD[T t _ space]HH:MM[:SS[.f]]
 * [Z|±HH[:]MM]" with a zero time; a decimal integer or float read as a Unix
 * timestamp (seconds, or milliseconds beyond 2e10) at exact midnight. *reason
 * points to static storage. */
enum mt_pydate mt_pydate_from_str(const char *s, size_t len, struct mt_date *out,
                                  const char **reason);
/* From a JSON number read as a Unix timestamp, as above. */
enum mt_pydate mt_pydate_from_int(int64_t v, struct mt_date *out, const char **reason);
enum mt_pydate mt_pydate_from_double(double v, struct mt_date *out, const char **reason);

#endif
