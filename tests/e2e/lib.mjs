// The small harness of the browser tests that drive MediTrack in Debian's
// headless chromium through playwright-core: scenarios (screen size, time
// zone), checks that print "ok - ..." / "not ok - ...: why", polling helpers,
// axe-core, screenshots and the 360 px width check, plus what the tests
// share around the page: requests from node and from the page, signing in
// and out, the first administrator, and calendar facts in a zone computed
// in node. A test module calls openBrowser() once and finish() at the end.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const SCENARIOS = {
    desktop: { viewport: { width: 1280, height: 800 }, timezoneId: 'UTC', locale: 'en-GB', phone: false },
    'phone-kolkata': { viewport: { width: 360, height: 740 }, timezoneId: 'Asia/Kolkata', locale: 'en-IN', phone: true },
    'phone-la': { viewport: { width: 360, height: 740 }, timezoneId: 'America/Los_Angeles', locale: 'en-US', phone: true },
};

const CHROMIUM_FLAGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

/** --name value pairs of the command line. */
export function parseArgs(argv) {
    const out = { label: 'e2e', shots: join(process.cwd(), 'screenshots') };
    for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
    return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function assert(cond, msg) {
    if (!cond) throw new Error(msg);
}

/** Polls fn until it returns a truthy value; throws with `what` on timeout. */
export async function eventually(fn, what, timeout = 10000) {
    const end = Date.now() + timeout;
    let last = null;
    let value;
    while (Date.now() < end) {
        try {
            value = await fn();
            if (value) return value;
        } catch (e) {
            last = e;
        }
        await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}${last ? ` (${last.message.split('\n')[0]})` : ''}`);
}

/** Waits until the locator's text matches re. */
export async function waitText(locator, re, what) {
    let seen = '';
    try {
        return await eventually(async () => {
            seen = (await locator.innerText({ timeout: 1000 })).trim();
            return re.test(seen);
        }, what);
    } catch (e) {
        throw new Error(`${what}: expected ${re}, saw "${seen}"`);
    }
}

/**
 * Starts chromium for a scenario and returns the test's tools: the context
 * and page, check() (counts and prints), shot(), axeCheck(),
 * noHorizontalScroll(), the page's script errors, and finish(). context
 * adds options of the browser context (e.g. acceptDownloads).
 */
export async function openBrowser({ scenario, label, shots, prefix = '', context = {} }) {
    const S = SCENARIOS[scenario];
    const tag = `[${label}/${prefix}${scenario}]`;
    let passed = 0;
    let failed = 0;
    mkdirSync(shots, { recursive: true });
    const profile = mkdtempSync(join(tmpdir(), 'meditrack-e2e-'));
    const ctx = await chromium.launchPersistentContext(profile, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: S.viewport,
        timezoneId: S.timezoneId,
        locale: S.locale,
        isMobile: S.phone,
        hasTouch: S.phone,
        deviceScaleFactor: 1,
        serviceWorkers: 'allow',
        ...context,
    });
    ctx.setDefaultTimeout(10000);
    const page = ctx.pages()[0] || (await ctx.newPage());
    const jsErrors = [];
    page.on('pageerror', (e) => jsErrors.push(e.message));

    async function check(name, fn) {
        const t0 = Date.now();
        try {
            await fn();
            passed++;
            console.log(`ok - ${tag} ${name} (${Date.now() - t0} ms)`);
        } catch (e) {
            failed++;
            const msg = String((e && e.message) || e).split('\n').slice(0, 3).join(' | ');
            console.log(`not ok - ${tag} ${name}: ${msg}`);
        }
    }

    let shotNo = 0;
    async function shot(name, fullPage = false) {
        shotNo++;
        const file = join(shots, `${label}-${prefix}${scenario}-${String(shotNo).padStart(2, '0')}-${name}.png`);
        // The transient status message would cover what the picture is about.
        await page.screenshot({ path: file, fullPage, style: '#status-bar { display: none !important; }' });
        return file;
    }

    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    async function axeCheck(what) {
        // The page's Content-Security-Policy allows no inline script, rightly,
        // so axe is evaluated through the DevTools protocol, which CSP does not govern.
        if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
        const result = await page.evaluate(() =>
            window.axe.run(document, {
                runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
            }),
        );
        const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        assert(
            bad.length === 0,
            `${what}: ${bad.map((v) => `${v.id} (${v.impact}) at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`).join('; ')}`,
        );
    }

    async function noHorizontalScroll(what) {
        if (!S.phone) return;
        const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        assert(w[0] <= w[1], `${what}: page is ${w[0]} px wide on a ${w[1]} px screen`);
    }

    /** Counts a failure that stopped the run. */
    function abort(e) {
        failed++;
        console.log(`not ok - ${tag} the run stopped: ${e.message}`);
    }

    async function finish() {
        await ctx.close().catch(() => {});
        rmSync(profile, { recursive: true, force: true });
        console.log(`${passed} passed, ${failed} failed`);
        process.exit(failed ? 1 : 0);
    }

    return { S, ctx, page, jsErrors, check, shot, axeCheck, noHorizontalScroll, abort, finish };
}

// ---- around the page ---------------------------------------------------------

/**
 * A request function for requests from node, without the page's session:
 * api(method, path or absolute URL, body) answers { status, json (null when
 * the body is not JSON), text, headers, type }.
 */
export function nodeApi(base, headers = {}) {
    return async function api(method, url, body) {
        const init = { method, headers: { ...headers } };
        if (body !== undefined) {
            init.headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        const res = await fetch(url.startsWith('http') ? url : base + url, init);
        const text = await res.text();
        let json = null;
        try {
            json = text ? JSON.parse(text) : null;
        } catch (e) {
            json = null;
        }
        return { status: res.status, json, text, headers: res.headers, type: res.headers.get('content-type') || '' };
    };
}

/**
 * Requests from the page, with its session cookie, the CSRF header on unsafe
 * methods (as the UI sends it) and the given headers (by default the
 * dosing fields): pageFetch(method, path, body) answers { status, json, text };
 * pageOk(method, path, body, want = 200) answers the JSON or throws.
 */
export function pageApi(page, headers = { 'X-MediTrack-Fields': 'extended' }) {
    function pageFetch(method, path, body) {
        return page.evaluate(
            async ([m, p, b, h]) => {
                const init = { method: m, headers: { ...h } };
                if (m !== 'GET') init.headers['X-Requested-With'] = 'MediTrack';
                if (b !== null) {
                    init.headers['Content-Type'] = 'application/json';
                    init.body = JSON.stringify(b);
                }
                const res = await fetch(p, init);
                const text = await res.text();
                let json = null;
                try {
                    json = text ? JSON.parse(text) : null;
                } catch (e) {
                    json = null;
                }
                return { status: res.status, json, text };
            },
            [method, path, body === undefined ? null : body, headers],
        );
    }
    async function pageOk(method, path, body, want = 200) {
        const r = await pageFetch(method, path, body);
        assert(r.status === want, `${method} ${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
        return r.json;
    }
    return { pageFetch, pageOk };
}

/** Signs in through the sign-in page and waits for the account menu. */
export async function signIn(page, base, username, password) {
    await page.goto(`${base}/signin`);
    await page.locator('#signin-view').waitFor({ state: 'visible' });
    await page.fill('#signin-username', username);
    await page.fill('#signin-password', password);
    await page.click('#signin-form button[type=submit]');
    await page.locator('#account-menu').waitFor({ state: 'visible' });
}

/** Signs out through the account panel and waits for the sign-in page. */
export async function signOut(page) {
    if (!(await page.locator('#account-panel').isVisible())) await page.click('#account-button');
    await page.click('#sign-out');
    await page.locator('#signin-view').waitFor({ state: 'visible' });
}

/**
 * The first administrator of an AUTH=on server: the setup token from the
 * server's log (the last one written), POST /api/v1/auth/setup, then signed
 * in on the page.
 */
export async function setUpAdmin(page, base, log, username, password) {
    const token = await eventually(() => {
        const m = readFileSync(log, 'utf8').match(/mtsetup_[A-Za-z0-9_-]{20,}/g);
        return m && m[m.length - 1];
    }, 'a setup token in the server log');
    const r = await nodeApi(base)('POST', '/api/v1/auth/setup', { setup_token: token, username, password });
    assert(r.status === 200 || r.status === 201, `setup answered ${r.status} ${r.text}`);
    await signIn(page, base, username, password);
}

/** The medication card of the dashboard with this exact name. */
export function medCard(page, name) {
    const literal = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return page.locator('.med-card').filter({ has: page.locator('.med-name', { hasText: new RegExp(`^${literal}$`) }) });
}

/** Local day "YYYY-MM-DD" and "HH:MM" of an instant (a Date or milliseconds)
 *  in timeZone, computed in node, independently of the page's own code. */
export function zoneParts(timeZone, instant) {
    const f = new Intl.DateTimeFormat('en-CA', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
    });
    const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
    return { day: `${p.year}-${p.month}-${p.day}`, hhmm: `${p.hour}:${p.minute}` };
}

/** The day n days after day ("YYYY-MM-DD"; n may be negative). */
export function shiftDay(day, n) {
    const d = new Date(`${day}T12:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
}
