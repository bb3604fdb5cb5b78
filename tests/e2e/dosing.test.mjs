// The dosing rules of issue 15 in the web UI, end to end in headless chromium
// against a real `meditrack serve` with AUTH=on on a fresh database (started
// by t050-ui.sh): the medication editor's rules and ingredients, a person's
// ingredient limits, "next dose allowed at" and why, a refusal and an
// override with a reason, corrections (time, entered in error), a skipped
// dose, the audit history for an administrator, what a viewer and a carer
// are offered, and one dose for a tap whose answer was lost and retried
// with the same Idempotency-Key. axe on every view; at 360 px nothing wider
// than the screen. Ends with "N passed, N failed".
//
// Usage: node dosing.test.mjs --base http://127.0.0.1:PORT --scenario desktop|phone-kolkata
//                             --server-log FILE [--label sqlite] [--shots DIR]

import {
    SCENARIOS,
    assert,
    eventually,
    medCard,
    nodeApi,
    openBrowser,
    pageApi,
    parseArgs,
    setUpAdmin,
    signIn,
    signOut,
    waitText,
    zoneParts as zonePartsIn,
} from './lib.mjs';

const args = parseArgs(process.argv);
if (!SCENARIOS[args.scenario] || !args.base || !args['server-log']) {
    console.log(`usage: node dosing.test.mjs --base URL --scenario ${Object.keys(SCENARIOS).join('|')} --server-log FILE`);
    console.log('0 passed, 1 failed');
    process.exit(2);
}
const BASE = args.base.replace(/\/$/, '');
const LOG = args['server-log'];
const S = SCENARIOS[args.scenario];

const { ctx, page, jsErrors, check, shot, axeCheck, noHorizontalScroll, abort, finish } = await openBrowser({
    scenario: args.scenario,
    label: args.label,
    shots: args.shots,
    prefix: 'dosing-',
});

const PW = { admin: 'dosing admin password', carer: 'dosing carer password', viewer: 'dosing viewer password' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The dose requests the page sends, with their headers.
const doseRequests = [];
page.on('request', (r) => {
    const u = new URL(r.url());
    if (r.method() === 'POST' && /^\/api\/v1\/doses\/medications\/\d+\/(dose|skip)/.test(u.pathname)) {
        doseRequests.push({ path: u.pathname, headers: r.headers(), body: r.postData() });
    }
});

const api = nodeApi(BASE);
const { pageFetch, pageOk } = pageApi(page);

const visible = (sel) => page.locator(sel).isVisible();
const card = (name) => medCard(page, name);
const countOf = (name) => card(name).locator('.med-count');
const medByName = async (name) => (await pageOk('GET', `/api/v1/medications/?person_id=${ids.person}`)).find((m) => m.name === name);
const dosesOf = (id) => pageOk('GET', `/api/v1/doses/medications/${id}/doses`);

/** Local day and HH:MM of an instant in the scenario's zone (computed in
 *  node, independently of the page). */
const zoneParts = (instant) => zonePartsIn(S.timezoneId, instant);

/** A regular expression for HH:MM as the page's locale may write it (24 h or 12 h). */
function timeRe(hhmm) {
    const [hh, mm] = hhmm.split(':');
    const h12 = String(((Number(hh) + 11) % 12) + 1).padStart(2, '0');
    return `(${hh}:${mm}|${h12}:${mm}\\s?[ap]\\.?m\\.?)`;
}

/** Shows the test's person (the database may hold a default person too). */
async function showPerson() {
    await page.goto(`${BASE}/?person=${ids.person}`);
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    await eventually(async () => (await page.locator('#person-select option:checked').innerText()) === 'Ada Lovelace', 'Ada to be shown');
}

async function openHistory(name) {
    await card(name).locator('button', { hasText: 'History' }).click();
    const dlg = page.locator('#history-dialog');
    await dlg.waitFor({ state: 'visible' });
    return dlg;
}

async function closeDialog(sel) {
    await page.click(`${sel} button[value=close]`);
    await page.locator(sel).waitFor({ state: 'hidden' });
}

const ids = {};

try {
    await check('an administrator (setup token from the log), a person, a carer and a viewer', async () => {
        await setUpAdmin(page, BASE, LOG, 'admin', PW.admin);
        const p = await pageOk('POST', '/api/v1/persons/', { first_name: 'Ada', last_name: 'Lovelace' }, 201);
        ids.person = p.id;
        for (const role of ['carer', 'viewer']) {
            await pageOk('POST', '/api/v1/accounts/', { username: role, role, password: PW[role], persons: [p.id] }, 201);
        }
        await showPerson();
    });

    await check('medication editor: rules and ingredients (add, remove rows) are saved', async () => {
        await page.click('#add-med');
        await page.locator('#med-dialog').waitFor({ state: 'visible' });
        assert(!(await page.locator('#med-rules').evaluate((d) => d.open)), 'the rules are open for a new medication');
        await page.fill('#med-name', 'Paracetamol');
        await page.fill('#med-dosage', '500 mg');
        await page.fill('#med-frequency', 'When needed');
        await page.fill('#med-max', '4');
        await page.click('#med-rules-summary');
        await page.selectOption('#med-window', 'rolling_24h');
        await page.fill('#med-interval', '240');
        await page.fill('#med-amount', '500');
        await page.fill('#med-unit', 'mg');
        for (const [name, amount, unit] of [['paracetamol', '500', 'mg'], ['caffeine', '65', 'mg']]) {
            await page.click('#add-ingredient');
            const row = page.locator('#med-ingredients .ingredient-row').last();
            assert(await row.locator('[name=ing_name]').evaluate((el) => el === document.activeElement), 'focus is not in the new row');
            await row.getByLabel('Ingredient', { exact: true }).fill(name);
            await row.getByLabel('Amount').fill(amount);
            await row.getByLabel('Unit').fill(unit);
        }
        // A row without an amount is refused on the page.
        await page.locator('#med-ingredients .ingredient-row').last().getByLabel('Amount').fill('');
        await page.click('#med-form button[type=submit]');
        await waitText(page.locator('#med-form .form-error'), /a name, a positive amount and a unit for each ingredient/, 'the row message');
        await page.locator('#med-ingredients .ingredient-row').last().getByLabel('Amount').fill('65');
        await shot('editor-rules', true);
        await axeCheck('medication editor with rules and ingredients');
        await noHorizontalScroll('medication editor');
        await page.locator('#med-ingredients .ingredient-row').last().getByRole('button', { name: /Remove ingredient 2 \(caffeine\)/ }).click();
        assert((await page.locator('#med-ingredients .ingredient-row').count()) === 1, 'the caffeine row is still there');
        await page.click('#med-form button[type=submit]');
        await page.locator('#med-dialog').waitFor({ state: 'hidden' });
        await card('Paracetamol').waitFor({ state: 'visible' });
        const m = await medByName('Paracetamol');
        ids.para = m.id;
        assert(m.limit_window === 'rolling_24h' && m.min_interval_minutes === 240 && m.dose_amount === 500 && m.dose_unit === 'mg', `server: ${JSON.stringify(m)}`);
        assert(JSON.stringify(m.ingredients) === JSON.stringify([{ name: 'paracetamol', amount: 500, unit: 'mg' }]), `ingredients ${JSON.stringify(m.ingredients)}`);
        await waitText(card('Paracetamol').locator('.med-rules'), /At most 4 in any 24 hours · at least 4 hours between doses · 500 mg per dose · contains paracetamol 500 mg/, 'the rules on the card');
    });

    await check('medication editor: the saved rules come back, and a change is saved', async () => {
        await card('Paracetamol').locator('button', { hasText: 'Edit' }).click();
        await page.locator('#med-dialog').waitFor({ state: 'visible' });
        assert(await page.locator('#med-rules').evaluate((d) => d.open), 'the rules are closed for a medication that has some');
        assert((await page.inputValue('#med-window')) === 'rolling_24h', 'limit window not filled in');
        assert((await page.inputValue('#med-interval')) === '240', 'interval not filled in');
        assert((await page.inputValue('#med-amount')) === '500' && (await page.inputValue('#med-unit')) === 'mg', 'amount not filled in');
        const rows = page.locator('#med-ingredients .ingredient-row');
        assert((await rows.count()) === 1 && (await rows.first().getByLabel('Ingredient', { exact: true }).inputValue()) === 'paracetamol', 'ingredients not filled in');
        await page.fill('#med-interval', '180');
        await page.click('#med-form button[type=submit]');
        await page.locator('#med-dialog').waitFor({ state: 'hidden' });
        await waitText(card('Paracetamol').locator('.med-rules'), /at least 3 hours between doses/, 'the new interval on the card');
        assert((await medByName('Paracetamol')).min_interval_minutes === 180, 'the server kept the old interval');
    });

    await check('ingredient limits of the person: add one', async () => {
        await page.click('#open-limits');
        await page.locator('#limits-dialog').waitFor({ state: 'visible' });
        await page.fill('#limit-name', 'paracetamol');
        await page.fill('#limit-max', '4000');
        await page.fill('#limit-unit', 'mg');
        await page.click('#limit-form button[type=submit]');
        await waitText(page.locator('#limits-list'), /paracetamol: at most 4000 mg in 24 hours/, 'the limit in the list');
        const limits = await pageOk('GET', `/api/v1/persons/${ids.person}/ingredient-limits/`);
        assert(limits.length === 1 && limits[0].max_per_24h === 4000 && limits[0].unit === 'mg', `server: ${JSON.stringify(limits)}`);
        await axeCheck('ingredient limits dialog');
        await noHorizontalScroll('ingredient limits dialog');
        await closeDialog('#limits-dialog');
    });

    await check('Take now: "next dose allowed at" in local time and why; Record anyway offered', async () => {
        await card('Paracetamol').locator('.btn-take').click();
        await waitText(countOf('Paracetamol'), /^1 of 4 taken today$/, 'the count');
        const [dose] = await dosesOf(ids.para);
        const next = new Date(Date.parse(dose.taken_at) + 180 * 60000);
        const p = zoneParts(next);
        const when = p.day === zoneParts(new Date()).day ? 'at' : 'tomorrow at';
        const c = card('Paracetamol');
        await waitText(c.locator('.med-next'), new RegExp(`^Next dose allowed ${when} ${timeRe(p.hhmm)}\\.\\s+Why: the minimum time of 3 hours between doses\\.$`, 'i'), 'the next-dose line');
        assert(await c.locator('.btn-take').isDisabled(), 'Take now is enabled while blocked');
        assert(await c.locator('.med-actions .btn-override').isVisible(), 'no Record anyway for an administrator');
        const req = doseRequests.find((r) => r.path === `/api/v1/doses/medications/${ids.para}/dose`);
        assert(req && UUID.test(req.headers['idempotency-key'] || ''), `Idempotency-Key ${req && req.headers['idempotency-key']}`);
        assert(req.headers['x-meditrack-fields'] === 'extended', 'the dosing fields were not asked for');
        await shot('next-allowed');
        await axeCheck('a blocked medication');
        await noHorizontalScroll('a blocked medication');
    });

    await check('an ingredient limit across medications: the card says when and why', async () => {
        // Paracetamol's dose (500 mg of paracetamol) and this one (3600 mg) together pass the 4000 mg limit.
        await pageOk('POST', '/api/v1/medications/', {
            person_id: ids.person, name: 'Cold remedy', dosage: '1 sachet', frequency: 'When needed', max_doses_per_day: 4,
            ingredients: [{ name: 'Paracetamol', amount: 3600, unit: 'mg' }],
        }, 201);
        await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
        const c = card('Cold remedy');
        await c.waitFor({ state: 'visible' });
        const [dose] = await dosesOf(ids.para);
        const p = zoneParts(new Date(Date.parse(dose.taken_at) + 24 * 3600000));
        await waitText(c.locator('.med-next'), new RegExp(`^Next dose allowed tomorrow at ${timeRe(p.hhmm)}\\.\\s+Why: the 24-hour limit of an ingredient \\(Paracetamol\\) is reached\\.$`, 'i'), 'the next-dose line');
        assert(await c.locator('.btn-take').isDisabled(), 'Take now is enabled past the ingredient limit');
    });

    await check('a refusal is explained on the card, then recorded anyway with a reason', async () => {
        const m = await pageOk('POST', '/api/v1/medications/', {
            person_id: ids.person, name: 'Ibuprofen', dosage: '200 mg', frequency: 'When needed', max_doses_per_day: 3, min_interval_minutes: 60,
        }, 201);
        ids.ibu = m.id;
        await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
        await card('Ibuprofen').waitFor({ state: 'visible' });
        await waitText(countOf('Ibuprofen'), /^0 of 3 taken today$/, 'the count');
        // Someone else records a dose meanwhile: the card does not know yet.
        await pageOk('POST', `/api/v1/doses/medications/${ids.ibu}/dose`, { timezone_offset: await page.evaluate(() => new Date().getTimezoneOffset()) }, 201);
        await card('Ibuprofen').locator('.btn-take').click();
        const refusal = card('Ibuprofen').locator('.med-refusal');
        await waitText(refusal, /Not recorded\. Minimum interval of 60 minutes between doses not reached\. Next dose allowed at/, 'the refusal');
        await waitText(countOf('Ibuprofen'), /^1 of 3 taken today$/, 'the count after the refusal');
        await refusal.getByRole('button', { name: /Record anyway/ }).click();
        await page.locator('#reason-dialog').waitFor({ state: 'visible' });
        await waitText(page.locator('#reason-message'), /Minimum interval of 60 minutes/, 'the rule in the dialog');
        await page.click('#reason-submit');
        await waitText(page.locator('#reason-form .form-error'), /Please give a reason/, 'an empty reason refused');
        assert((await page.getAttribute('#reason-text', 'aria-invalid')) === 'true', 'the reason is not marked');
        await shot('override-dialog');
        await axeCheck('override dialog');
        await noHorizontalScroll('override dialog');
        await page.fill('#reason-text', 'Pain came back; the doctor agreed');
        await page.click('#reason-submit');
        await page.locator('#reason-dialog').waitFor({ state: 'hidden' });
        await waitText(countOf('Ibuprofen'), /^2 of 3 taken today$/, 'the count after the override');
        await refusal.waitFor({ state: 'hidden' });
        const doses = await dosesOf(ids.ibu);
        const over = doses.find((d) => d.override_rule);
        assert(doses.length === 2 && over && over.override_rule === 'interval' && over.override_reason === 'Pain came back; the doctor agreed', `server: ${JSON.stringify(doses)}`);
        ids.overDose = over.id;
        ids.plainDose = doses.find((d) => !d.override_rule).id;
    });

    await check('history: the override is marked in words; edit a dose’s time', async () => {
        const dlg = await openHistory('Ibuprofen');
        await eventually(async () => (await dlg.locator('.history-row').count()) === 2, 'two doses in the history');
        await waitText(dlg.locator(`.history-row[data-dose-id="${ids.overDose}"] .mark-override`), /^Given despite a rule \(minimum interval\): Pain came back; the doctor agreed$/, 'the override mark');
        const plain = (await dosesOf(ids.ibu)).find((d) => d.id === ids.plainDose);
        const earlier = new Date(Date.parse(plain.taken_at) - 10 * 60000);
        const p = zoneParts(earlier);
        await dlg.locator(`.history-row[data-dose-id="${ids.plainDose}"]`).getByRole('button', { name: /^Edit/ }).click();
        await page.locator('#dose-edit-dialog').waitFor({ state: 'visible' });
        await page.fill('#dose-edit-day', p.day);
        await page.fill('#dose-edit-time', p.hhmm);
        await page.fill('#dose-edit-note', 'Given before breakfast');
        await axeCheck('dose correction dialog');
        await page.click('#dose-edit-form button[type=submit]');
        await page.locator('#dose-edit-dialog').waitFor({ state: 'hidden' });
        const want = new Date(Math.floor(earlier.getTime() / 60000) * 60000).getTime();
        const row = dlg.locator(`.history-row[data-dose-id="${ids.plainDose}"]`);
        await waitText(row, new RegExp(`${timeRe(p.hhmm)}[\\s\\S]*Corrected[\\s\\S]*Note: Given before breakfast`), 'the corrected row');
        const now = (await dosesOf(ids.ibu)).find((d) => d.id === ids.plainDose);
        assert(Date.parse(now.taken_at) === want && now.note === 'Given before breakfast', `server: ${JSON.stringify(now)}`);
        await shot('history-marks');
        await axeCheck('history with marks');
        await noHorizontalScroll('history dialog');
    });

    await check('mark a dose in error with a reason: it leaves the list and the count drops', async () => {
        const dlg = page.locator('#history-dialog');
        await dlg.locator(`.history-row[data-dose-id="${ids.overDose}"]`).getByRole('button', { name: /^Mark in error/ }).click();
        await page.locator('#reason-dialog').waitFor({ state: 'visible' });
        await page.fill('#reason-text', 'Recorded for the wrong person');
        await page.click('#reason-submit');
        await page.locator('#reason-dialog').waitFor({ state: 'hidden' });
        await eventually(async () => (await dlg.locator('.history-row').count()) === 1, 'one dose left in the history');
        await waitText(countOf('Ibuprofen'), /^1 of 3 taken today$/, 'the count on the card');
        const doses = await dosesOf(ids.ibu);
        assert(doses.length === 1 && doses[0].id === ids.plainDose, `server list: ${JSON.stringify(doses)}`);
        // Administrators may show it again, marked.
        await page.check('#history-show-errors');
        await eventually(async () => (await dlg.locator('.history-row').count()) === 2, 'the dose entered in error shown again');
        await waitText(dlg.locator(`.history-row[data-dose-id="${ids.overDose}"] .mark-error`), /^Entered in error: Recorded for the wrong person$/, 'the in-error mark');
        await axeCheck('history with a dose entered in error');
        await page.uncheck('#history-show-errors');
        await eventually(async () => (await dlg.locator('.history-row').count()) === 1, 'hidden again');
    });

    await check('audit history of a dose and of a medication (administrator)', async () => {
        const dlg = page.locator('#history-dialog');
        await dlg.locator(`.history-row[data-dose-id="${ids.plainDose}"]`).getByRole('button', { name: /^Changes/ }).click();
        const audit = page.locator('#audit-dialog');
        await audit.waitFor({ state: 'visible' });
        await eventually(async () => (await audit.locator('.audit-row').count()) === 2, 'two changes of the dose');
        const corrected = audit.locator('.audit-row[data-action="correct"]');
        await waitText(corrected, /Dose corrected · by admin/, 'who corrected it');
        await waitText(corrected, /Time: .* → .*/, 'the time before and after');
        await waitText(corrected, /Note: none → Given before breakfast/, 'the note before and after');
        await waitText(audit.locator('.audit-row[data-action="record"]'), /Dose recorded · by admin/, 'the recording');
        await shot('audit-dose');
        await axeCheck('audit history of a dose');
        await noHorizontalScroll('audit history');
        await closeDialog('#audit-dialog');
        await closeDialog('#history-dialog');
        await openHistory('Paracetamol');
        await page.click('#history-med-audit');
        await audit.waitFor({ state: 'visible' });
        await waitText(audit.locator('.audit-row[data-action="update"]'), /Changed \(medication\) · by admin[\s\S]*Minimum time between doses: 4 hours → 3 hours/, 'the rule change');
        await waitText(audit.locator('.audit-row[data-action="create"]'), /Created \(medication\)[\s\S]*Ingredients: paracetamol 500 mg/, 'the creation');
        await closeDialog('#audit-dialog');
        await closeDialog('#history-dialog');
    });

    await check('record a skipped dose with a reason: shown in the history, not counted', async () => {
        await card('Paracetamol').getByRole('button', { name: /^Skip/ }).click();
        await page.locator('#reason-dialog').waitFor({ state: 'visible' });
        assert(/^\d\d:\d\d$/.test(await page.inputValue('#reason-time')), 'the time is not prefilled');
        await page.fill('#reason-text', 'Asleep');
        await page.click('#reason-submit');
        await page.locator('#reason-dialog').waitFor({ state: 'hidden' });
        await waitText(countOf('Paracetamol'), /^1 of 4 taken today$/, 'the count stays');
        const doses = await dosesOf(ids.para);
        assert(doses.some((d) => d.status === 'skipped' && d.status_reason === 'Asleep'), `server: ${JSON.stringify(doses)}`);
        const dlg = await openHistory('Paracetamol');
        await waitText(dlg.locator('.history-row[data-status="skipped"] .mark-skipped'), /^Skipped: Asleep$/, 'the skipped mark');
        await waitText(page.locator('#history-note'), /1 dose recorded, 1 skipped/, 'the history note');
        await closeDialog('#history-dialog');
    });

    await check('Idempotency-Key: a tap whose answer was lost is retried with the same key and records one dose', async () => {
        const m = await pageOk('POST', '/api/v1/medications/', {
            person_id: ids.person, name: 'Vitamin C', dosage: '250 mg', frequency: 'Daily', max_doses_per_day: 5,
        }, 201);
        await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
        await card('Vitamin C').waitFor({ state: 'visible' });
        const url = new RegExp(`/api/v1/doses/medications/${m.id}/dose$`);
        const seen = [];
        let lost = 0;
        const handler = async (route) => {
            seen.push(route.request().headers()['idempotency-key']);
            if (lost === 0) {
                // The server records the dose, but its answer never reaches the page.
                lost++;
                const resp = await route.fetch();
                assert(resp.status() === 201, `first request answered ${resp.status()}`);
                await route.abort('connectionreset');
                return;
            }
            const resp = await route.fetch();
            seen.push(`replayed:${resp.headers()['idempotent-replayed'] || ''}`);
            await route.fulfill({ response: resp });
        };
        await ctx.route(url, handler);
        try {
            await card('Vitamin C').locator('.btn-take').click();
            await waitText(countOf('Vitamin C'), /^1 of 5 taken today$/, 'the count after the retried tap');
            await eventually(() => seen.length >= 3, 'the retry');
        } finally {
            await ctx.unroute(url, handler);
        }
        assert(seen.length === 3 && UUID.test(seen[0]) && seen[0] === seen[1], `keys sent: ${seen.join(', ')}`);
        assert(seen[2] === 'replayed:true', `the retry was not answered from the first request (${seen[2]})`);
        assert((await dosesOf(m.id)).length === 1, 'the server stored more than one dose');
        // The next tap is a new dose with a new key.
        await card('Vitamin C').locator('.btn-take').click();
        await waitText(countOf('Vitamin C'), /^2 of 5 taken today$/, 'the count after a second tap');
        const keys = doseRequests.filter((r) => url.test(r.path)).map((r) => r.headers['idempotency-key']);
        assert(new Set(keys).size === 2, `keys of two taps: ${keys.join(', ')}`);
        await page.locator('#conn-banner').waitFor({ state: 'hidden', timeout: 15000 });
    });

    await check('a viewer sees when the next dose is allowed, but no recording, override, correction or audit', async () => {
        await signOut(page);
        await signIn(page, BASE, 'viewer', PW.viewer);
        await showPerson();
        const c = card('Paracetamol');
        await waitText(c.locator('.med-next'), /^Next dose allowed/, 'the next-dose line');
        assert((await c.locator('.btn-take, .btn-override').count()) === 0, 'the viewer is offered Take now or Record anyway');
        for (const label of ['Skip', 'Edit', 'Delete']) {
            assert(!(await c.getByRole('button', { name: new RegExp(`^${label}`) }).isVisible()), `the viewer is offered ${label}`);
        }
        const dlg = await openHistory('Paracetamol');
        await eventually(async () => (await dlg.locator('.history-row').count()) === 2, 'the history');
        assert((await dlg.locator('.history-row button').count()) === 0, 'the viewer is offered dose buttons');
        assert(!(await visible('#history-tools')), 'the viewer is offered the audit history');
        await axeCheck('viewer’s history');
        await closeDialog('#history-dialog');
        await page.click('#open-limits');
        await waitText(page.locator('#limits-list'), /paracetamol: at most 4000 mg/, 'the limits');
        assert(!(await visible('#limit-form')) && (await page.locator('#limits-list button').count()) === 0, 'the viewer may change limits');
        await closeDialog('#limits-dialog');
        assert(!(await visible('#add-med')), 'the viewer may add medications');
        const r = await pageFetch('GET', '/api/v1/audit/');
        assert(r.status === 403, `the audit trail answered ${r.status} to a viewer`);
        await shot('viewer');
        await axeCheck('viewer’s dashboard');
    });

    await check('a carer may record anyway and correct doses, but sees no audit history', async () => {
        await signOut(page);
        await signIn(page, BASE, 'carer', PW.carer);
        await showPerson();
        const c = card('Paracetamol');
        await c.locator('.med-actions .btn-override').waitFor({ state: 'visible' });
        const dlg = await openHistory('Ibuprofen');
        await eventually(async () => (await dlg.locator('.history-row').count()) === 1, 'the history');
        assert(await dlg.locator('.history-row').getByRole('button', { name: /^Edit/ }).isVisible(), 'the carer cannot correct a dose');
        assert((await dlg.locator('.history-row').getByRole('button', { name: /^Changes/ }).count()) === 0, 'the carer is offered the audit history');
        assert(!(await visible('#history-tools')), 'the carer is offered the audit tools');
        await closeDialog('#history-dialog');
    });

    await check('no uncaught script errors during the run', async () => {
        assert(jsErrors.length === 0, jsErrors.slice(0, 5).join('; '));
    });
} catch (e) {
    abort(e);
}
await finish();
