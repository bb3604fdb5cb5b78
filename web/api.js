// The MediTrack HTTP API as seen by the web UI: one function per operation the
// UI uses, each sending the browser's UTC offset where the server takes one.
// Every failure becomes an ApiError that says whether the server answered
// (with its `detail` message) or could not be reached at all. Requests go
// with the session cookie (same origin only); unsafe ones carry the header
// the server's cross-site request check asks for, and a 401 from an
// operation that needs a signed-in account is reported to onSignedOut.
// Every API request asks for the dosing fields (X-MediTrack-Fields:
// extended, docs/dosing.md); recording requests carry an Idempotency-Key
// made per tap and are retried with the same key when the answer is lost.

const API = '/api/v1';
const TIMEOUT_MS = 15000;
// The server refuses a POST/PUT/PATCH/DELETE authenticated by the session
// cookie unless it carries this header (a cross-site form cannot set it) and
// a same-origin Origin, which the browser adds to every fetch() that is not a
// GET or HEAD. GET /auth/status names the header; the value is fixed.
let csrfHeader = 'X-Requested-With';
const CSRF_VALUE = 'MediTrack';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// Asks the server for the dosing fields (next_allowed_at, blocked_by, the
// rules, dose status) after the reference's fields.
const FIELDS_HEADER = 'X-MediTrack-Fields';
const FIELDS_VALUE = 'extended';
// Waits before the automatic retries of a request that carries an
// Idempotency-Key and got no answer: the server replays its first answer, so
// a retry can never record a second dose.
const RETRY_DELAYS_MS = [700, 2000];

/** An error from the API. `unreachable` is true when no answer came back (or a
 *  proxy said the server is gone); `fields` maps body field names to messages
 *  for 422 validation errors. */
export class ApiError extends Error {
    constructor(status, message, { unreachable = false, fields = {}, retryAfter = 0, body = null } = {}) {
        super(message);
        this.body = body; // the parsed error body (a refusal's rule, next_allowed_at, ...)
        this.name = 'ApiError';
        this.status = status;
        this.unreachable = unreachable;
        this.fields = fields;
        this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
    }
}

const listeners = new Set();
let signedOutHandler = null;

/** Registers fn() called when the server answers 401 to a request that
 *  needed a signed-in account: the session ended or was revoked. */
export function onSignedOut(fn) {
    signedOutHandler = fn;
}

/** Uses the header name the server announced for its cross-site check. */
export function setCsrfHeader(name) {
    if (typeof name === 'string' && /^[A-Za-z0-9-]+$/.test(name)) csrfHeader = name;
}

/** Registers fn(ok: boolean) called after every request: true when the server
 *  answered, false when it could not be reached. */
export function onReachability(fn) {
    listeners.add(fn);
}

function report(ok) {
    for (const fn of listeners) fn(ok);
}

/** The browser's offset from UTC in minutes with JavaScript's sign
 *  (300 = UTC-5), as the API expects in `timezone_offset`. */
export function offsetNow() {
    return new Date().getTimezoneOffset();
}

/** The offset in force at a local wall time of a given day (YYYY-MM-DD and
 *  HH:MM); differs from offsetNow() across a daylight-saving change. */
export function offsetAt(day, hhmm = '12:00') {
    const [y, m, d] = day.split('-').map(Number);
    const [hh, mm] = hhmm.split(':').map(Number);
    return new Date(y, m - 1, d, hh, mm).getTimezoneOffset();
}

/** The offset that defines a local calendar day for the server: the current
 *  one for today, the one at noon of that day otherwise. */
export function offsetForDay(day, today) {
    return day === today ? offsetNow() : offsetAt(day);
}

function fieldName(loc) {
    if (!Array.isArray(loc)) return '';
    const parts = loc.filter((p) => p !== 'body' && p !== 'query' && p !== 'path');
    return parts.length ? String(parts[parts.length - 1]) : '';
}

/** Turns a FastAPI-style error body into a readable message and field map. */
function describeError(status, body) {
    const fields = {};
    if (body && typeof body.detail === 'string') return { message: body.detail, fields };
    if (body && Array.isArray(body.detail)) {
        const msgs = body.detail.map((e) => {
            const f = fieldName(e && e.loc);
            const msg = (e && e.msg) || 'invalid value';
            if (f && !fields[f]) fields[f] = msg;
            return f ? `${f.replace(/_/g, ' ')}: ${msg}` : msg;
        });
        return { message: msgs.join('; '), fields };
    }
    return { message: `The server answered ${status}.`, fields };
}

/** Seconds in a Retry-After header (a number or an HTTP date); 0 when absent. */
function retryAfterSeconds(value) {
    if (!value) return 0;
    if (/^\d+$/.test(value.trim())) return Number(value.trim());
    const t = Date.parse(value);
    return Number.isNaN(t) ? 0 : Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

/**
 * A fresh Idempotency-Key: a random UUID. crypto.randomUUID() exists only in
 * secure contexts (HTTPS or localhost); a server reached by plain HTTP on the
 * home network gets one built from crypto.getRandomValues(), which exists
 * everywhere.
 */
export function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends one request; with `idempotencyKey` it carries that key and, when no
 * answer comes back (the network failed, or a proxy said the server is
 * gone), it is sent again with the same key up to RETRY_DELAYS_MS.length
 * times. The server answers a repeated key with its first answer, so the
 * dose of one tap is recorded once however often it is sent.
 */
async function request(method, path, opts = {}) {
    const key = opts.idempotencyKey;
    for (let attempt = 0; ; attempt++) {
        try {
            return await requestOnce(method, path, opts);
        } catch (e) {
            if (!key || !e.unreachable || attempt >= RETRY_DELAYS_MS.length) throw e;
        }
        await wait(RETRY_DELAYS_MS[attempt]);
    }
}

/**
 * Sends one request once. `query` values that are null/undefined are left out.
 * `as` is 'json' (default) or 'blob'. Resolves to the parsed body (null for
 * 204) or { blob, type, filename } for 'blob'. `signin` false: a 401 is this
 * operation's own answer (a wrong password), not the end of the session.
 */
async function requestOnce(method, path, { query, body, as = 'json', base = API, signin = true, idempotencyKey } = {}) {
    const url = new URL(base + path, window.location.origin);
    if (query) {
        for (const [k, v] of Object.entries(query)) {
            if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
        }
    }
    const init = {
        method,
        headers: { Accept: as === 'blob' ? '*/*' : 'application/json' },
        cache: 'no-store',
        credentials: 'same-origin',
    };
    if (!SAFE_METHODS.has(method)) init.headers[csrfHeader] = CSRF_VALUE;
    if (base === API) init.headers[FIELDS_HEADER] = FIELDS_VALUE;
    if (idempotencyKey) init.headers['Idempotency-Key'] = idempotencyKey;
    if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    init.signal = ctrl.signal;
    let res;
    try {
        res = await fetch(url, init);
    } catch (e) {
        report(false);
        throw new ApiError(0, 'The MediTrack server could not be reached.', { unreachable: true });
    } finally {
        clearTimeout(timer);
    }
    if (res.status === 502 || res.status === 503 || res.status === 504) {
        report(false);
        throw new ApiError(res.status, 'The MediTrack server is not answering right now.', { unreachable: true });
    }
    report(true);
    if (!res.ok) {
        let parsed = null;
        try {
            parsed = await res.json();
        } catch (e) {
            parsed = null;
        }
        const { message, fields } = describeError(res.status, parsed);
        if (res.status === 401 && signin) {
            if (signedOutHandler) signedOutHandler();
            throw new ApiError(401, 'You are signed out. Please sign in again.');
        }
        throw new ApiError(res.status, message, {
            fields,
            retryAfter: res.status === 429 ? retryAfterSeconds(res.headers.get('Retry-After')) : 0,
            body: parsed,
        });
    }
    if (res.status === 204) return null;
    if (as === 'blob') {
        const disp = res.headers.get('Content-Disposition') || '';
        const m = /filename="?([^";]+)"?/i.exec(disp);
        return { blob: await res.blob(), type: res.headers.get('Content-Type') || '', filename: m ? m[1] : '' };
    }
    const text = await res.text();
    return text ? JSON.parse(text) : null;
}

// Persons.
export const listPersons = () => request('GET', '/persons/', { query: { limit: 1000 } });
export const createPerson = (p) => request('POST', '/persons/', { body: p });
export const updatePerson = (id, p) => request('PUT', `/persons/${id}`, { body: p });
export const deletePerson = (id) => request('DELETE', `/persons/${id}`);
export const setDefaultPerson = (id) => request('PUT', `/persons/${id}/set-default`);

// Medications; `day` is the local calendar day whose dose counts come back.
export const listMedications = (personId, day, today) =>
    request('GET', '/medications/', {
        query: { person_id: personId, date: day, timezone_offset: offsetForDay(day, today), limit: 1000 },
    });
export const createMedication = (m) => request('POST', '/medications/', { body: m });
export const updateMedication = (id, m) => request('PUT', `/medications/${id}`, { body: m });
export const deleteMedication = (id) => request('DELETE', `/medications/${id}`);

// Doses. `rec` of the recording operations: { key } the tap's
// Idempotency-Key, and { override: true, reason } to record despite a rule.
function overrideBody(rec) {
    return rec && rec.override ? { override: true, override_reason: rec.reason } : null;
}
export const takeDoseNow = (medId, rec = {}) =>
    request('POST', `/doses/medications/${medId}/dose`, {
        body: { timezone_offset: offsetNow(), ...overrideBody(rec) },
        idempotencyKey: rec.key,
    });
export const recordDoseAt = (medId, day, hhmm, rec = {}) =>
    request('POST', `/doses/medications/${medId}/dose/${day}`, {
        query: { time: hhmm, timezone_offset: offsetAt(day, hhmm) },
        body: overrideBody(rec) || undefined,
        idempotencyKey: rec.key,
    });
export const skipDose = (medId, reason, takenAt, key) =>
    request('POST', `/doses/medications/${medId}/skip`, {
        body: { reason, taken_at: takenAt || null },
        idempotencyKey: key,
    });
export const correctDose = (id, changes) => request('PATCH', `/doses/${id}`, { body: changes });
export const markEnteredInError = (id, reason) =>
    request('POST', `/doses/${id}/entered-in-error`, { body: { reason } });
export const deleteDose = (id) => request('DELETE', `/doses/${id}`);
export const doseHistory = (medId) =>
    request('GET', `/doses/medications/${medId}/doses`, { query: { limit: 1000 } });
export const deletedMedicationDoses = (name) =>
    request('GET', `/doses/deleted-medications/by-name/${encodeURIComponent(name)}/doses`, {
        query: { limit: 1000 },
    });
export const dailySummary = (day, today, personId) =>
    request('GET', `/doses/daily-summary/${day}`, {
        query: { timezone_offset: offsetForDay(day, today), person_id: personId },
    });

// Ingredient limits of a person (maximum per rolling 24 hours).
export const listLimits = (personId) => request('GET', `/persons/${personId}/ingredient-limits/`);
export const setLimit = (personId, l) => request('POST', `/persons/${personId}/ingredient-limits/`, { body: l });
export const deleteLimit = (personId, id) => request('DELETE', `/persons/${personId}/ingredient-limits/${id}`);

// The audit trail (administrators): `filter` holds entity, entity_id,
// person_id, skip, limit.
export const auditTrail = (filter) => request('GET', '/audit/', { query: filter });

// The printable tracking form (PDF) for `days` days from `day`.
export const trackingForm = (day, today, personId, days) =>
    request('GET', `/reports/medications/pdf/${day}`, {
        query: { person_id: personId, timezone_offset: offsetForDay(day, today), days },
        as: 'blob',
    });

// A person's medications and doses as a FHIR R4 Bundle (application/fhir+json),
// offered as a plain download link.
export const fhirBundleUrl = (personId) => `${API}/persons/${encodeURIComponent(personId)}/fhir`;

// Access control (docs/auth.md). status, setup and login are public; their
// 401 or 4xx answers are shown on their page.
export const authStatus = () => request('GET', '/auth/status', { signin: false });
export const setup = (b) => request('POST', '/auth/setup', { body: b, signin: false });
export const login = (username, password) =>
    request('POST', '/auth/login', { body: { username, password }, signin: false });
export const logout = () => request('POST', '/auth/logout', { signin: false });
export const me = () => request('GET', '/auth/me');
// A 401 here may mean a wrong current password; the caller tells that from
// an ended session.
export const changePassword = (current, next) =>
    request('POST', '/auth/password', { body: { current_password: current, new_password: next }, signin: false });
export const listSessions = () => request('GET', '/auth/sessions');
export const revokeSession = (id) => request('DELETE', `/auth/sessions/${id}`);
export const listOwnTokens = () => request('GET', '/auth/tokens');
export const createToken = (t) => request('POST', '/auth/tokens', { body: t });
export const revokeOwnToken = (id) => request('DELETE', `/auth/tokens/${id}`);

// Administration of accounts and of every account's tokens.
export const listAccounts = () => request('GET', '/accounts');
export const createAccount = (a) => request('POST', '/accounts', { body: a });
export const updateAccount = (id, a) => request('PATCH', `/accounts/${id}`, { body: a });
export const deleteAccount = (id) => request('DELETE', `/accounts/${id}`);
export const listAllTokens = () => request('GET', '/tokens');
export const revokeAnyToken = (id) => request('DELETE', `/tokens/${id}`);

// Liveness, used to notice that the server is back.
export const health = () => request('GET', '/health', { base: '' });

// Schedules, what is due, adherence and the calendar feed (issue 16,
// docs/schedules.md). `day` is a local date of the person's zone.
export const dueSlots = (personId, day) => request('GET', `/persons/${personId}/due/${day}`);
// Snoozes the reminder of a due slot (its reminder.id) for `minutes` from now.
export const snoozeReminder = (personId, slotId, minutes) =>
    request('POST', `/persons/${personId}/reminders/${slotId}/snooze`, { body: { minutes } });
export const adherence = (personId, from, to) =>
    request('GET', `/persons/${personId}/adherence`, { query: { from, to } });
export const createCalendarToken = (personId) => request('POST', `/persons/${personId}/calendar-token`);
export const revokeCalendarToken = (personId) => request('DELETE', `/persons/${personId}/calendar-token`);

// Reminders (docs/reminders.md): channels of a person or of the signed-in
// account (owner 'me'), their test message, a person's reminder settings and
// the delivery log. Channel secrets are sent once and never come back.
const channelsPath = (owner) => (owner === 'me' ? '/auth/me/channels' : `/persons/${owner}/channels`);
export const listChannels = (owner) => request('GET', channelsPath(owner));
export const createChannel = (owner, c) => request('POST', channelsPath(owner), { body: c });
export const deleteChannel = (id) => request('DELETE', `/channels/${id}`);
export const testChannel = (id) => request('POST', `/channels/${id}/test`);
export const reminderSettings = (personId) => request('GET', `/persons/${personId}/reminder-settings`);
export const setReminderSettings = (personId, s) =>
    request('PUT', `/persons/${personId}/reminder-settings`, { body: s });
export const notifications = (limit = 100) => request('GET', '/notifications', { query: { limit } });
