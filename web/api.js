// The MediTrack HTTP API as seen by the web UI: one function per operation the
// UI uses, each sending the browser's UTC offset where the server takes one.
// Every failure becomes an ApiError that says whether the server answered
// (with its `detail` message) or could not be reached at all. Requests go
// with the session cookie (same origin only); unsafe ones carry the header
// the server's cross-site request check asks for, and a 401 from an
// operation that needs a signed-in account is reported to onSignedOut.

const API = '/api/v1';
const TIMEOUT_MS = 15000;
// The server refuses a POST/PUT/PATCH/DELETE authenticated by the session
// cookie unless it carries this header (a cross-site form cannot set it) and
// a same-origin Origin, which the browser adds to every fetch() that is not a
// GET or HEAD. GET /auth/status names the header; the value is fixed.
let csrfHeader = 'X-Requested-With';
const CSRF_VALUE = 'MediTrack';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** An error from the API. `unreachable` is true when no answer came back (or a
 *  proxy said the server is gone); `fields` maps body field names to messages
 *  for 422 validation errors. */
export class ApiError extends Error {
    constructor(status, message, { unreachable = false, fields = {}, retryAfter = 0 } = {}) {
        super(message);
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
 * Sends one request. `query` values that are null/undefined are left out.
 * `as` is 'json' (default) or 'blob'. Resolves to the parsed body (null for
 * 204) or { blob, type, filename } for 'blob'. `signin` false: a 401 is this
 * operation's own answer (a wrong password), not the end of the session.
 */
async function request(method, path, { query, body, as = 'json', base = API, signin = true } = {}) {
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

// Doses.
export const takeDoseNow = (medId) =>
    request('POST', `/doses/medications/${medId}/dose`, { body: { timezone_offset: offsetNow() } });
export const recordDoseAt = (medId, day, hhmm) =>
    request('POST', `/doses/medications/${medId}/dose/${day}`, {
        query: { time: hhmm, timezone_offset: offsetAt(day, hhmm) },
    });
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
