/* IANA time zones read from the zoneinfo files (see tz.h): the TZif reader
 * (RFC 8536, version 2 and later: the 64-bit block and the footer), the
 * POSIX TZ rule of the footer for instants after the last transition, the
 * per-process cache, and local time in both directions. */
#include "core/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

/* A zone file larger than this is not a zone file (the largest in tzdata
 * are a few KiB). */
#define TZIF_MAX_BYTES (256 * 1024)

/* One side of a POSIX TZ rule: the day (Jn, n or Mm.w.d) and the local time
 * of the change, in seconds (may be negative or past 24 h in version 3). */
struct rule_day {
    char kind; /* 'J' (1..365, no leap day), 'D' (0..365), 'M' */
    int n, m, w, d;
    int secs;
};

/* The footer: standard offset, and when has_dst the daylight offset with
 * its start and end. Offsets in seconds east of UTC. */
struct posix_rule {
    bool present;
    int std_off;
    bool has_dst;
    int dst_off;
    struct rule_day start, end;
};

struct mt_zone {
    char name[MT_TZ_NAME_MAX + 1];
    size_t n_trans;
    int64_t *trans; /* seconds, ascending */
    int *trans_off; /* offset in effect from trans[i] on */
    int first_off;  /* before the first transition */
    struct posix_rule rule;
    struct mt_zone *next; /* the cache's list */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mt_zone *cache;

struct mt_tz mt_tz_fixed(int js_offset_min)
{
    return (struct mt_tz){.zone = NULL, .fixed_min = js_offset_min};
}

bool mt_tz_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > MT_TZ_NAME_MAX)
        return false;
    size_t part = 0;
    bool dots_only = true;
    for (size_t i = 0; i <= len; i++) {
        char c = name[i];
        if (c == '/' || c == '\0') {
            if (part == 0 || dots_only)
                return false;
            part = 0;
            dots_only = true;
            continue;
        }
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '+' || c == '.';
        if (!ok)
            return false;
        if (c != '.')
            dots_only = false;
        part++;
    }
    return true;
}

/* Big-endian readers over a bounded buffer. */
struct rd {
    const unsigned char *p;
    size_t len, at;
    bool bad;
};

static const unsigned char *take(struct rd *r, size_t n)
{
    if (r->bad || n > r->len - r->at) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *p = r->p + r->at;
    r->at += n;
    return p;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The six counts of a TZif header, in file order. */
struct counts {
    uint32_t isut, isstd, leap, time, type, chr;
};

static bool read_header(struct rd *r, char *version, struct counts *c)
{
    const unsigned char *h = take(r, 44);
    if (!h || memcmp(h, "TZif", 4) != 0)
        return false;
    *version = (char)h[4];
    c->isut = be32(h + 20);
    c->isstd = be32(h + 24);
    c->leap = be32(h + 28);
    c->time = be32(h + 32);
    c->type = be32(h + 36);
    c->chr = be32(h + 40);
    /* RFC 8536: at least one type; the counts of the indicators are 0 or
     * typecnt. Bounding them keeps every size below well within size_t. */
    return c->type >= 1 && c->type <= 256 && c->time <= 100000 && c->leap <= 10000 &&
           c->chr <= 100000 && (c->isut == 0 || c->isut == c->type) &&
           (c->isstd == 0 || c->isstd == c->type);
}

static size_t block_size(const struct counts *c, size_t tsize)
{
    return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chr +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* POSIX TZ text: "<+03>-3", "EST5EDT,M3.2.0,M11.1.0", ... */
struct tzp {
    const char *s;
    bool bad;
};

static void skip_name(struct tzp *p)
{
    if (*p->s == '<') {
        const char *e = strchr(p->s, '>');
        if (!e || e - p->s < 4) {
            p->bad = true;
            return;
        }
        p->s = e + 1;
        return;
    }
    const char *b = p->s;
    while ((*p->s >= 'A' && *p->s <= 'Z') || (*p->s >= 'a' && *p->s <= 'z'))
        p->s++;
    if (p->s - b < 3)
        p->bad = true;
}

static int read_num(struct tzp *p, int max)
{
    if (*p->s < '0' || *p->s > '9') {
        p->bad = true;
        return 0;
    }
    int v = 0;
    while (*p->s >= '0' && *p->s <= '9') {
        v = v * 10 + (*p->s - '0');
        if (v > max) {
            p->bad = true;
            return 0;
        }
        p->s++;
    }
    return v;
}

/* [+-]hh[:mm[:ss]] in seconds (sign as written). */
static int read_hms(struct tzp *p, int max_hours)
{
    int sign = 1;
    if (*p->s == '+' || *p->s == '-')
        sign = *p->s++ == '-' ? -1 : 1;
    int secs = read_num(p, max_hours) * 3600;
    if (*p->s == ':') {
        p->s++;
        secs += read_num(p, 59) * 60;
        if (*p->s == ':') {
            p->s++;
            secs += read_num(p, 59);
        }
    }
    return sign * secs;
}

static void read_rule_day(struct tzp *p, struct rule_day *d)
{
    if (*p->s == 'J') {
        p->s++;
        d->kind = 'J';
        d->n = read_num(p, 365);
        if (d->n < 1)
            p->bad = true;
    } else if (*p->s == 'M') {
        p->s++;
        d->kind = 'M';
        d->m = read_num(p, 12);
        if (*p->s++ != '.')
            p->bad = true;
        d->w = read_num(p, 5);
        if (*p->s++ != '.')
            p->bad = true;
        d->d = read_num(p, 6);
        if (d->m < 1 || d->w < 1)
            p->bad = true;
    } else {
        d->kind = 'D';
        d->n = read_num(p, 365);
    }
    d->secs = 7200;
    if (!p->bad && *p->s == '/') {
        p->s++;
        d->secs = read_hms(p, 167);
    }
}

static bool parse_posix(const char *s, struct posix_rule *r)
{
    struct tzp p = {.s = s};
    memset(r, 0, sizeof(*r));
    skip_name(&p);
    if (p.bad)
        return false;
    /* POSIX offsets count west of UTC: EST5 is UTC-5. */
    r->std_off = -read_hms(&p, 24);
    if (p.bad)
        return false;
    r->present = true;
    if (*p.s == '\0')
        return true;
    skip_name(&p);
    if (p.bad)
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p.s && *p.s != ',')
        r->dst_off = -read_hms(&p, 24);
    if (*p.s == '\0') {
        /* No rule: POSIX leaves it to the implementation; the US rules are
         * what the C library assumes. */
        r->start = (struct rule_day){.kind = 'M', .m = 3, .w = 2, .d = 0, .secs = 7200};
        r->end = (struct rule_day){.kind = 'M', .m = 11, .w = 1, .d = 0, .secs = 7200};
        return !p.bad;
    }
    if (*p.s++ != ',')
        return false;
    read_rule_day(&p, &r->start);
    if (p.bad || *p.s++ != ',')
        return false;
    read_rule_day(&p, &r->end);
    return !p.bad && *p.s == '\0';
}

/* Days since the epoch of a rule's day in year y. */
static int64_t rule_days(const struct rule_day *d, int y)
{
    int64_t jan1 = mt_date_to_days((struct mt_date){y, 1, 1});
    switch (d->kind) {
    case 'J': {
        /* 1..365, February 29 never counted. */
        int64_t n = d->n - 1;
        if (mt_leap_year(y) && d->n >= 60)
            n++;
        return jan1 + n;
    }
    case 'D':
        return jan1 + d->n;
    default: {
        int64_t first = mt_date_to_days((struct mt_date){y, d->m, 1});
        int wd = (int)mt_floor_mod(first + 4, 7); /* 1970-01-01 was a Thursday */
        int day = 1 + (d->d - wd + 7) % 7 + (d->w - 1) * 7;
        while (day > mt_days_in_month(y, d->m))
            day -= 7;
        return first + day - 1;
    }
    }
}

static int rule_offset(const struct posix_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int y = mt_date_from_days(mt_floor_div(t + r->std_off, 86400)).year;
    /* The start is given in standard time, the end in daylight time. A
     * change near New Year can belong to the neighbouring year, so the
     * years around are looked at as well. */
    for (int k = -1; k <= 1; k++) {
        int yy = y + k;
        if (yy < 1 || yy > 9999)
            continue;
        int64_t start = rule_days(&r->start, yy) * 86400 + r->start.secs - r->std_off;
        int64_t end = rule_days(&r->end, yy) * 86400 + r->end.secs - r->dst_off;
        if (start < end) {
            if (t >= start && t < end)
                return r->dst_off;
        } else if (k == 0 && (t < end || t >= start)) {
            return r->dst_off;
        }
    }
    return r->std_off;
}

/* Parses a TZif file's bytes into z (name set by the caller). */
static bool parse_tzif(const unsigned char *buf, size_t len, struct mt_zone *z)
{
    struct rd r = {.p = buf, .len = len};
    char version;
    struct counts c;
    if (!read_header(&r, &version, &c))
        return false;
    size_t tsize = 4;
    if (version >= '2') {
        /* Skip the 32-bit block: the 64-bit one after it is complete. */
        if (!take(&r, block_size(&c, 4)) || !read_header(&r, &version, &c))
            return false;
        tsize = 8;
    }
    const unsigned char *times = take(&r, (size_t)c.time * tsize);
    const unsigned char *idx = take(&r, c.time);
    const unsigned char *types = take(&r, (size_t)c.type * 6);
    take(&r, c.chr + (size_t)c.leap * (tsize + 4) + c.isstd + c.isut);
    if (r.bad)
        return false;
    z->n_trans = c.time;
    z->trans = mt_xcalloc(c.time ? c.time : 1, sizeof(*z->trans));
    z->trans_off = mt_xcalloc(c.time ? c.time : 1, sizeof(*z->trans_off));
    for (size_t i = 0; i < c.time; i++) {
        z->trans[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= c.type || (i && z->trans[i] <= z->trans[i - 1]))
            return false;
        z->trans_off[i] = (int32_t)be32(types + 6 * idx[i]);
    }
    z->first_off = (int32_t)be32(types);
    if (tsize == 8 && r.at < len && buf[r.at] == '\n') {
        const char *foot = (const char *)buf + r.at + 1;
        const char *nl = memchr(foot, '\n', len - r.at - 1);
        if (nl && nl > foot && nl - foot < 128) {
            char text[128];
            memcpy(text, foot, (size_t)(nl - foot));
            text[nl - foot] = '\0';
            if (!parse_posix(text, &z->rule))
                return false;
        }
    }
    return true;
}

static void zone_free(struct mt_zone *z)
{
    free(z->trans);
    free(z->trans_off);
    free(z);
}

static struct mt_zone *zone_read(const char *name, struct mt_err *err)
{
    struct mt_zone *z = mt_xcalloc(1, sizeof(*z));
    snprintf(z->name, sizeof(z->name), "%s", name);
    char path[sizeof(MT_ZONEINFO_DIR) + MT_TZ_NAME_MAX + 2];
    snprintf(path, sizeof(path), "%s/%s", MT_ZONEINFO_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (strcmp(name, "UTC") == 0) {
            /* No zone files at all: UTC needs none. */
            z->trans = mt_xcalloc(1, sizeof(*z->trans));
            z->trans_off = mt_xcalloc(1, sizeof(*z->trans_off));
            return z;
        }
        zone_free(z);
        mt_fail(err, MT_EINVAL, "unknown time zone \"%s\" (no file %s)", name, path);
        return NULL;
    }
    unsigned char *buf = mt_xmalloc(TZIF_MAX_BYTES);
    size_t len = fread(buf, 1, TZIF_MAX_BYTES, f);
    bool too_long = len == TZIF_MAX_BYTES;
    fclose(f);
    bool ok = !too_long && parse_tzif(buf, len, z);
    free(buf);
    if (!ok) {
        zone_free(z);
        mt_fail(err, MT_EINVAL, "unknown time zone \"%s\" (%s is not a zone file)", name, path);
        return NULL;
    }
    return z;
}

int mt_tz_load(const char *name, struct mt_tz *out, struct mt_err *err)
{
    char q[MT_QUOTE_SIZE];
    if (!mt_tz_name_ok(name))
        return mt_fail(err, MT_EINVAL,
                       "unknown time zone %s: expected an IANA name such as "
                       "Europe/Berlin",
                       mt_quote(q, sizeof(q), name, strlen(name)));
    pthread_mutex_lock(&cache_lock);
    struct mt_zone *z = cache;
    while (z && strcmp(z->name, name) != 0)
        z = z->next;
    if (!z) {
        /* Read under the lock: it happens once per zone for the life of
         * the process, and nobody waits on it twice. */
        z = zone_read(name, err);
        if (z) {
            z->next = cache;
            cache = z;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (!z)
        return -1;
    *out = (struct mt_tz){.zone = z, .fixed_min = 0};
    return 0;
}

const char *mt_tz_name(struct mt_tz z, char *buf, size_t cap)
{
    if (z.zone)
        return z.zone->name;
    int east = -z.fixed_min, a = east < 0 ? -east : east;
    snprintf(buf, cap, "UTC%c%02d:%02d", east < 0 ? '-' : '+', a / 60, a % 60);
    return buf;
}

static int zone_offset(const struct mt_zone *z, int64_t t)
{
    if (z->n_trans == 0 || t < z->trans[0])
        return z->n_trans == 0 && z->rule.present ? rule_offset(&z->rule, t) : z->first_off;
    if (t >= z->trans[z->n_trans - 1] && z->rule.present)
        return rule_offset(&z->rule, t);
    size_t lo = 0, hi = z->n_trans; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->trans_off[lo];
}

int mt_tz_offset_at(struct mt_tz z, int64_t t_us)
{
    if (!z.zone)
        return -z.fixed_min * 60;
    return zone_offset(z.zone, mt_floor_div(t_us, MT_USEC_PER_SEC));
}

struct mt_date mt_tz_local_date(struct mt_tz z, int64_t t_us)
{
    if (!z.zone)
        return mt_local_date(t_us, z.fixed_min);
    int64_t local = t_us + (int64_t)mt_tz_offset_at(z, t_us) * MT_USEC_PER_SEC;
    return mt_date_from_days(mt_floor_div(local, MT_USEC_PER_DAY));
}

int64_t mt_tz_local_to_instant(struct mt_tz z, struct mt_date d, int hour, int minute)
{
    if (!z.zone)
        return mt_local_to_instant(d, hour, minute, z.fixed_min);
    int64_t local = mt_date_to_days(d) * 86400 + hour * 3600 + minute * 60;
    /* No zone changes its offset twice within two days, so the offsets a
     * day before and a day after are the only candidates. */
    int before = zone_offset(z.zone, local - 86400 - 86400);
    int after = zone_offset(z.zone, local + 86400);
    int64_t t_before = local - before, t_after = local - after;
    bool ok_before = zone_offset(z.zone, t_before) == before;
    bool ok_after = zone_offset(z.zone, t_after) == after;
    int64_t t;
    if (ok_before && ok_after)
        t = t_before < t_after ? t_before : t_after; /* twice: the first */
    else if (ok_after)
        t = t_after;
    else
        t = t_before; /* skipped, or no candidate fits: the offset before */
    return t * MT_USEC_PER_SEC;
}

struct mt_window mt_tz_day_window(struct mt_tz z, struct mt_date first, struct mt_date last)
{
    if (!z.zone)
        return mt_day_window(first, last, z.fixed_min);
    if (mt_date_cmp(last, first) < 0)
        last = mt_date_from_days(mt_date_to_days(first) - 1);
    struct mt_date after = mt_date_from_days(mt_date_to_days(last) + 1);
    struct mt_window w = {
        .start_us = mt_instant_clamp(mt_tz_local_to_instant(z, first, 0, 0)),
        .end_us = mt_instant_clamp(mt_tz_local_to_instant(z, after, 0, 0)),
    };
    return w;
}
