/* Time zones as people live them: IANA zones read from the system's zoneinfo
 * files (TZif, RFC 8536, with the POSIX TZ rule of their footer for instants
 * past the table), and the fixed offsets of TIMEZONE_OFFSET and
 * timezone_offset, behind one value type. Used by the API's day windows, the
 * schedules and the reminders; see docs/timezones.md.
 *
 * Why not localtime_r with TZ: the C library keeps one process-wide zone,
 * and changing it per request (setenv + tzset) races with every other
 * thread. Zones here are parsed once into immutable tables, cached for the
 * life of the process behind a mutex, and then read without any lock. */
#ifndef MT_CORE_TZ_H
#define MT_CORE_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mtime.h"

/* Where the zone files are (Debian's tzdata package). */
#define MT_ZONEINFO_DIR "/usr/share/zoneinfo"
/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define MT_TZ_NAME_MAX 64

struct mt_zone; /* a loaded IANA zone; immutable, lives until the process ends */

/* A zone: an IANA zone when zone is set, else the fixed offset fixed_min
 * (minutes with JavaScript's sign: 300 = UTC-5). A small value: copy it. */
struct mt_tz {
    const struct mt_zone *zone;
    int fixed_min;
};

/* The fixed zone of a JavaScript-style offset in minutes. */
struct mt_tz mt_tz_fixed(int js_offset_min);

/* Loads (once; later calls return the cached zone) the IANA zone name, e.g.
 * "Europe/Berlin" or "UTC". MT_EINVAL for a name that is not a zone name or
 * whose file is missing or not a valid TZif file (err quotes the name).
 * "UTC" works even without the zone files. Thread-safe. */
int mt_tz_load(const char *name, struct mt_tz *out, struct mt_err *err);

/* Whether name could be a zone name at all (letters, digits, '_', '-', '+'
 * and '/' between non-empty parts, no "." or ".." part): checked before any
 * file is opened. */
bool mt_tz_name_ok(const char *name);

/* The name of z: the IANA name, or "UTC+HH:MM" for a fixed zone. Static or
 * z's storage, or buf (at least 16 bytes) for fixed zones. */
const char *mt_tz_name(struct mt_tz z, char *buf, size_t cap);

/* The offset east of UTC, in seconds, at instant t_us. */
int mt_tz_offset_at(struct mt_tz z, int64_t t_us);

/* The local calendar date of instant t_us in z. */
struct mt_date mt_tz_local_date(struct mt_tz z, int64_t t_us);

/* The instant of the local wall time d hh:mm:00 in z, unclamped. A time
 * that does not exist (skipped when clocks go forward) is read with the
 * offset before the change, so 02:30 on the day New York springs forward
 * is 03:30 EDT; a time that exists twice (clocks go back) is the first of
 * them. For a fixed zone this is mt_local_to_instant exactly. */
int64_t mt_tz_local_to_instant(struct mt_tz z, struct mt_date d, int hour, int minute);

/* The instants from local midnight of first to local midnight after last,
 * clamped like mt_day_window (which it is, exactly, for a fixed zone): 23
 * or 25 hours long across a change of daylight saving time. */
struct mt_window mt_tz_day_window(struct mt_tz z, struct mt_date first, struct mt_date last);

#endif
