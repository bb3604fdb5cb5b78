// Local calendar days and times for the UI. Days are 'YYYY-MM-DD' strings in
// the browser's time zone; instants from the server are ISO-8601 in UTC (with
// `Z` or an offset; a value without one is read as UTC, as the server stores
// instants in UTC).

const pad = (n) => String(n).padStart(2, '0');

/** 'YYYY-MM-DD' of a Date in local time. */
export function dayOf(date) {
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function today() {
    return dayOf(new Date());
}

/** A Date at local noon of a day (safe from daylight-saving edges). */
export function noonOf(day) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d, 12, 0, 0);
}

export function addDays(day, n) {
    const d = noonOf(day);
    d.setDate(d.getDate() + n);
    return dayOf(d);
}

/** True for a well-formed, existing calendar day. */
export function isDay(s) {
    if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
    return dayOf(noonOf(s)) === s;
}

/** 'HH:MM' of a Date in local time. */
export function hhmmOf(date) {
    return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Parses a server timestamp into a Date; null when it cannot be read. */
export function parseInstant(s) {
    if (typeof s !== 'string') return null;
    const m = INSTANT.exec(s.trim());
    if (!m) return null;
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    let t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, ms);
    const zone = m[8];
    if (zone && zone.toUpperCase() !== 'Z') {
        const sign = zone[0] === '-' ? -1 : 1;
        const digits = zone.slice(1).replace(':', '');
        const mins = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
        t -= sign * mins * 60000;
    }
    return new Date(t);
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
const longDayFmt = new Intl.DateTimeFormat(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
});

const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
});

/** Day and time of a server timestamp in the user's locale; '' for none. */
export function fmtInstant(s) {
    const d = parseInstant(s);
    return d ? dateTimeFmt.format(d) : '';
}

/** Local clock time of an instant, in the user's locale. */
export const fmtTime = (date) => timeFmt.format(date);
/** Short day name ('Sat, 28 Nov') of a 'YYYY-MM-DD' day. */
export const fmtDay = (day) => dayFmt.format(noonOf(day));
/** Long day name of a 'YYYY-MM-DD' day. */
export const fmtLongDay = (day) => longDayFmt.format(noonOf(day));

/** 'today', 'yesterday' or the short day name, relative to `now` (a day). */
export function relativeDay(day, now) {
    if (day === now) return 'today';
    if (day === addDays(now, -1)) return 'yesterday';
    return `on ${fmtDay(day)}`;
}

/** Milliseconds from now until the next local midnight (at least 1 s). */
export function msUntilMidnight() {
    const now = new Date();
    const next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 0, 0, 1);
    return Math.max(1000, next.getTime() - now.getTime());
}
