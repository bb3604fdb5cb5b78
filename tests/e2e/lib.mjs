// The small harness of the browser tests that drive MediTrack in Debian's
// headless chromium through playwright-core: scenarios (screen size, time
// zone), checks that print "ok - ..." / "not ok - ...: why", polling helpers,
// axe-core, screenshots and the 360 px width check. A test module calls
// openBrowser() once and finish() at the end.

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
 * noHorizontalScroll(), the page's script errors, and finish().
 */
export async function openBrowser({ scenario, label, shots, prefix = '' }) {
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
