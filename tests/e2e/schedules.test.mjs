// Schedules, reminders and adherence of issue 16 in the web UI, end to end in
// headless chromium against a real `meditrack serve` with AUTH=on, the test
// clock (ALLOW_TEST_CLOCK=true, TEST_CLOCK_START) and a local HTTP receiver
// (tests/lib/notify-receiver.py), all started by t050-ui.sh. The browser's
// clock is set to the server's instant, so "today" and "now" agree. Covers:
// the person's time zone (the browser's offered), the schedule editor's
// round trip (times, every day, weekdays, every N days, dates, as needed),
// today's slots in due order with a missed, a late, a taken and pending
// slots, Take and Skip from the list, Snooze from the list, channels (webhook with its secret set
// and never shown, a failing ntfy, e-mail refused without SMTP) with "Send a
// test" against the receiver, reminder settings, the notification log, the
// calendar link (shown once, copied, fetched, revoked), the adherence page
// with its SVG chart and tables, a carer's own channel, and a viewer who sees
// it all without edit controls. axe on every view; at 360 px nothing wider
// than the screen. Ends with "N passed, N failed".
//
// Usage: node schedules.test.mjs --base URL --scenario desktop|phone-kolkata --server-log FILE
//                                --clock ISO-INSTANT --receiver URL [--label sqlite] [--shots DIR]

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
    shiftDay,
    signIn,
    signOut,
    waitText,
    zoneParts as zonePartsIn,
} from './lib.mjs';

const args = parseArgs(process.argv);
if (!SCENARIOS[args.scenario] || !args.base || !args['server-log'] || !args.clock || !args.receiver) {
    console.log(`usage: node schedules.test.mjs --base URL --scenario ${Object.keys(SCENARIOS).join('|')} --server-log FILE --clock ISO --receiver URL`);
    console.log('0 passed, 1 failed');
    process.exit(2);
}
const BASE = args.base.replace(/\/$/, '');
const RECV = args.receiver.replace(/\/$/, '');
const LOG = args['server-log'];
const S = SCENARIOS[args.scenario];
const CLOCK = Date.parse(args.clock);

const { ctx, page, jsErrors, check, shot, axeCheck, noHorizontalScroll, abort, finish } = await openBrowser({
    scenario: args.scenario,
    label: args.label,
    shots: args.shots,
    prefix: 'schedules-',
});
// The page's clock starts where the server's test clock starts and runs on.
await page.clock.install({ time: new Date(CLOCK) });
await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });

const PW = { admin: 'schedules admin password', carer: 'schedules carer password', viewer: 'schedules viewer password' };
const HOOK_SECRET = 'ui-hook-secret-Wq7';
const NTFY_TOKEN = 'tk_carer_Lm3x';

const api = nodeApi(BASE);
const { pageFetch, pageOk } = pageApi(page);

const records = async () => (await api('GET', `${RECV}/_records`)).json.records;
const visible = (sel) => page.locator(sel).isVisible();
const card = (name) => medCard(page, name);
const medByName = async (name) => (await pageOk('GET', `/api/v1/medications/?person_id=${ids.person}`)).find((m) => m.name === name);

/** Local day and HH:MM of an instant in the scenario's zone (computed in
 *  node, independently of the page). */
const zoneParts = (instant) => zonePartsIn(S.timezoneId, instant);
const at = (minutes) => zoneParts(CLOCK + minutes * 60000).hhmm;
const DAY = zoneParts(CLOCK).day;

// Slots relative to "now" (the clock's start), all on the same local day in
// both scenarios: Metformin 6 h and 3 h ago and in 2 h; Vitamin D 2 h ago
// and in 30 minutes.
const MET = [at(-360), at(-180), at(120)];
const VIT = [at(-120), at(30)];

async function showPerson() {
    await page.goto(`${BASE}/?person=${ids.person}`);
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    await eventually(async () => (await page.locator('#person-select option:checked').innerText()) === 'Grace Hopper', 'Grace to be shown');
}

async function dueRows() {
    return page.locator('#due-list .due-row').evaluateAll((rows) =>
        rows.map((r) => ({
            time: r.querySelector('.due-time').textContent.trim(),
            name: r.querySelector('.due-name').textContent.trim(),
            status: r.querySelector('.due-status').textContent.trim(),
            buttons: [...r.querySelectorAll('button')].map((b) => b.textContent.trim()),
        })),
    );
}

async function openReminders() {
    await page.click('#link-reminders');
    await page.locator('#reminders-view').waitFor({ state: 'visible' });
    await waitText(page.locator('#reminders-heading'), /^Reminders for Grace Hopper$/, 'the reminders heading');
}

const ids = {};

try {
    await check('administrator, and a person added with this device’s time zone offered', async () => {
        await setUpAdmin(page, BASE, LOG, 'admin', PW.admin);
        await page.goto(`${BASE}/`);
        // A fresh database may hold a default person; without one, the
        // first person comes through the welcome form. Grace through People.
        await eventually(async () => (await visible('#welcome')) || (await visible('#dashboard')), 'the welcome or the dashboard');
        if (await visible('#welcome')) {
            await page.fill('#welcome-first', 'First');
            await page.click('#welcome-form button[type=submit]');
        }
        await page.locator('#dashboard').waitFor({ state: 'visible' });
        await page.click('#manage-persons');
        await page.locator('#persons-dialog').waitFor({ state: 'visible' });
        await page.click('#add-person');
        await page.locator('#person-dialog').waitFor({ state: 'visible' });
        assert((await page.inputValue('#person-tz')) === S.timezoneId, `the zone suggested is "${await page.inputValue('#person-tz')}"`);
        await waitText(page.locator('#person-tz-hint'), new RegExp(`This device is in ${S.timezoneId.replace('/', '\\/')}`), 'the hint');
        await page.fill('#person-first', 'Grace');
        await page.fill('#person-last', 'Hopper');
        await axeCheck('person dialog with the time zone');
        await noHorizontalScroll('person dialog');
        await page.click('#person-form button[type=submit]');
        await page.locator('#person-dialog').waitFor({ state: 'hidden' });
        await page.click('#persons-dialog button[value=close]');
        const persons = await pageOk('GET', '/api/v1/persons/');
        const grace = persons.find((p) => p.first_name === 'Grace');
        assert(grace && grace.timezone === S.timezoneId, `server: ${JSON.stringify(grace)}`);
        ids.person = grace.id;
        for (const role of ['carer', 'viewer']) {
            await pageOk('POST', '/api/v1/accounts/', { username: role, role, password: PW[role], persons: [grace.id] }, 201);
        }
        await showPerson();
    });

    await check('schedule editor: times of day, every day — saved as the schedule', async () => {
        await page.click('#add-med');
        await page.locator('#med-dialog').waitFor({ state: 'visible' });
        assert(await page.isChecked('#sched-none'), 'a new medication is not "as needed"');
        assert(!(await visible('#sched-body')), 'the times are shown for "as needed"');
        await page.fill('#med-name', 'Metformin');
        await page.fill('#med-dosage', '500 mg');
        await page.fill('#med-frequency', 'Three times a day');
        await page.fill('#med-max', '4');
        await page.check('#sched-times');
        await page.locator('#sched-body').waitFor({ state: 'visible' });
        await waitText(page.locator('#sched-zone-hint'), new RegExp(S.timezoneId.replace('/', '\\/')), 'the zone of the times');
        // The first row is there; fill it, then add two (out of order).
        await page.fill('#sched-time-list li:nth-child(1) input', MET[2]);
        for (const t of [MET[0], MET[1]]) {
            await page.click('#sched-add-time');
            const row = page.locator('#sched-time-list .time-row').last();
            assert(await row.locator('input').evaluate((el) => el === document.activeElement), 'focus is not in the new time');
            await row.locator('input').fill(t);
        }
        // A repeated time is refused on the page.
        await page.click('#sched-add-time');
        await page.locator('#sched-time-list .time-row').last().locator('input').fill(MET[0]);
        await page.click('#med-form button[type=submit]');
        await waitText(page.locator('#med-form .form-error'), /each time of day once/, 'the repeated time refused');
        await page.locator('#sched-time-list .time-row').last().getByRole('button', { name: /Remove time 4/ }).click();
        assert(await page.isChecked('#sched-daily'), 'every day is not the default');
        await shot('editor-schedule', true);
        await axeCheck('medication editor with a schedule');
        await noHorizontalScroll('medication editor with a schedule');
        await page.click('#med-form button[type=submit]');
        await page.locator('#med-dialog').waitFor({ state: 'hidden' });
        const m = await medByName('Metformin');
        ids.met = m.id;
        const want = { times: [...MET].sort(), days: 'daily', start_date: null, end_date: null };
        assert(JSON.stringify(m.schedule) === JSON.stringify(want), `server: ${JSON.stringify(m.schedule)}, wanted ${JSON.stringify(want)}`);
        await waitText(card('Metformin').locator('.med-schedule'), /^Scheduled at .* every day\.$/, 'the schedule on the card');
    });

    await check('schedule editor: weekdays with dates, then every N days, then as needed (round trip)', async () => {
        await page.click('#add-med');
        await page.fill('#med-name', 'Iron');
        await page.fill('#med-dosage', '1 tablet');
        await page.fill('#med-frequency', 'Twice a week');
        await page.check('#sched-times');
        await page.fill('#sched-time-list li:nth-child(1) input', '09:15');
        await page.check('#sched-on-weekdays');
        await page.locator('#sched-weekdays').waitFor({ state: 'visible' });
        await page.click('#med-form button[type=submit]');
        await waitText(page.locator('#med-form .form-error'), /at least one weekday/, 'no weekday refused');
        await page.check('#sched-wed');
        await page.check('#sched-mon');
        await page.fill('#sched-start', '2026-04-01');
        await page.fill('#sched-end', '2026-03-31');
        await page.click('#med-form button[type=submit]');
        await waitText(page.locator('#med-form .form-error'), /not before the start date/, 'an end before the start refused');
        assert((await page.getAttribute('#sched-end', 'aria-invalid')) === 'true', 'the end date is not marked');
        await page.fill('#sched-end', '2026-06-30');
        await page.click('#med-form button[type=submit]');
        await page.locator('#med-dialog').waitFor({ state: 'hidden' });
        let m = await medByName('Iron');
        ids.iron = m.id;
        let want = { times: ['09:15'], days: ['mon', 'wed'], start_date: '2026-04-01', end_date: '2026-06-30' };
        assert(JSON.stringify(m.schedule) === JSON.stringify(want), `server: ${JSON.stringify(m.schedule)}`);
        await waitText(card('Iron').locator('.med-schedule'), /^Scheduled at 09:15, on Monday and Wednesday, from .* until .*\.$/, 'the weekdays on the card');
        // Back into the editor: everything is filled in as saved.
        await card('Iron').locator('button', { hasText: 'Edit' }).click();
        await page.locator('#med-dialog').waitFor({ state: 'visible' });
        assert(await page.isChecked('#sched-times') && await page.isChecked('#sched-on-weekdays'), 'the kind is not filled in');
        assert(await page.isChecked('#sched-mon') && await page.isChecked('#sched-wed') && !(await page.isChecked('#sched-tue')), 'the weekdays are not filled in');
        assert((await page.inputValue('#sched-time-list li:nth-child(1) input')) === '09:15', 'the time is not filled in');
        assert((await page.inputValue('#sched-start')) === '2026-04-01' && (await page.inputValue('#sched-end')) === '2026-06-30', 'the dates are not filled in');
        await page.check('#sched-on-every');
        await page.fill('#sched-every', '2');
        await page.fill('#sched-start', '');
        await page.click('#med-form button[type=submit]');
        await waitText(page.locator('#med-form .form-error'), /a start date/, 'every N days without a start refused');
        await page.fill('#sched-start', '2026-04-02');
        await page.click('#med-form button[type=submit]');
        await page.locator('#med-dialog').waitFor({ state: 'hidden' });
        m = await medByName('Iron');
        want = { times: ['09:15'], days: { every_n_days: 2 }, start_date: '2026-04-02', end_date: '2026-06-30' };
        assert(JSON.stringify(m.schedule) === JSON.stringify(want), `server: ${JSON.stringify(m.schedule)}`);
        await waitText(card('Iron').locator('.med-schedule'), /every 2 days/, 'every 2 days on the card');
        await card('Iron').locator('button', { hasText: 'Edit' }).click();
        assert((await page.inputValue('#sched-every')) === '2' && (await page.isChecked('#sched-on-every')), 'every N days not filled in');
        await page.check('#sched-none');
        await page.click('#med-form button[type=submit]');
        await page.locator('#med-dialog').waitFor({ state: 'hidden' });
        m = await medByName('Iron');
        assert(m.schedule === null, `as needed saved as ${JSON.stringify(m.schedule)}`);
        await card('Iron').locator('.med-schedule').waitFor({ state: 'hidden' });
    });

    await check('today’s view: slots by due time, late and missed marked in words', async () => {
        const vit = await pageOk('POST', '/api/v1/medications/', {
            person_id: ids.person, name: 'Vitamin D', dosage: '1000 IU', frequency: 'Twice a day', max_doses_per_day: 3,
            schedule: { times: VIT, days: 'daily' },
        }, 201);
        ids.vit = vit.id;
        const tz = await page.evaluate(() => new Date().getTimezoneOffset());
        // Metformin 90 minutes after its second slot (late); Vitamin D 10
        // minutes after its first (on time).
        await pageOk('POST', `/api/v1/doses/medications/${ids.met}/dose/${DAY}?time=${encodeURIComponent(at(-90))}&timezone_offset=${tz}`, undefined, 201);
        await pageOk('POST', `/api/v1/doses/medications/${ids.vit}/dose/${DAY}?time=${encodeURIComponent(at(-110))}&timezone_offset=${tz}`, undefined, 201);
        await showPerson();
        await page.locator('#due-section').waitFor({ state: 'visible' });
        await waitText(page.locator('#due-heading'), /^Due today$/, 'the heading');
        const want = [
            [MET[0], 'Metformin', 'Missed'],
            [MET[1], 'Metformin', 'Late'],
            [VIT[0], 'Vitamin D', 'Taken'],
            [VIT[1], 'Vitamin D', 'Pending'],
            [MET[2], 'Metformin', 'Pending'],
        ];
        const rows = await eventually(async () => {
            const r = await dueRows();
            return r.length === 5 && r;
        }, 'five slots');
        const got = rows.map((r) => [r.time, r.name, r.status]);
        assert(JSON.stringify(got) === JSON.stringify(want), `rows ${JSON.stringify(got)}, wanted ${JSON.stringify(want)}`);
        const api = await pageOk('GET', `/api/v1/persons/${ids.person}/due/${DAY}`);
        assert(JSON.stringify(api.slots.map((s) => [s.local_time, s.medication_name, s.status])) === JSON.stringify(want.map(([t, n, st]) => [t, n, st.toLowerCase()])), `the server: ${JSON.stringify(api.slots)}`);
        await waitText(page.locator('#due-list .due-row[data-status="late"] .due-detail'), /^taken late, at /, 'the late detail');
        await waitText(page.locator('#due-list .due-row[data-status="missed"] .due-detail'), /^not taken$/, 'the missed detail');
        await waitText(page.locator('#due-summary'), /^1 taken, 1 late, 1 missed, 2 pending$/, 'the summary');
        // Take is offered for pending slots, Skip for the missed one and
        // for a slot due within the hour.
        assert(JSON.stringify(rows.map((r) => r.buttons)) === JSON.stringify([['Skip… the ' + MET[0] + ' dose of Metformin'], [], [], ['Take the ' + VIT[1] + ' dose of Vitamin D', 'Skip… the ' + VIT[1] + ' dose of Vitamin D'], ['Take the ' + MET[2] + ' dose of Metformin']]), `buttons ${JSON.stringify(rows.map((r) => r.buttons))}`);
        await shot('due-today');
        await axeCheck('today’s slots');
        await noHorizontalScroll('today’s slots');
    });

    await check('Take from the list closes the slot due in 30 minutes; Skip with a reason marks the missed one', async () => {
        const [sent] = await Promise.all([
            page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/v1/doses/medications/${ids.vit}/dose`)),
            page.locator('#due-list .due-row[data-status="pending"]').first().getByRole('button', { name: /^Take/ }).click(),
        ]);
        assert(/^[0-9a-f-]{36}$/.test(sent.headers()['idempotency-key'] || ''), 'no Idempotency-Key on Take');
        await eventually(async () => (await dueRows())[3].status === 'Taken', 'the Vitamin D slot taken');
        await page.locator('#due-list .due-row[data-status="missed"]').getByRole('button', { name: /^Skip/ }).click();
        await page.locator('#reason-dialog').waitFor({ state: 'visible' });
        assert(!(await visible('#reason-time-field')), 'the slot’s skip asks for a time');
        await page.fill('#reason-text', 'Felt sick in the morning');
        await page.click('#reason-submit');
        await page.locator('#reason-dialog').waitFor({ state: 'hidden' });
        await eventually(async () => (await dueRows())[0].status === 'Skipped', 'the missed slot skipped');
        const slots = (await pageOk('GET', `/api/v1/persons/${ids.person}/due/${DAY}`)).slots.map((s) => s.status);
        assert(JSON.stringify(slots) === JSON.stringify(['skipped', 'late', 'taken', 'taken', 'pending']), `server: ${slots}`);
        const skips = (await pageOk('GET', `/api/v1/doses/medications/${ids.met}/doses`)).filter((d) => d.status === 'skipped');
        assert(skips.length === 1 && skips[0].status_reason === 'Felt sick in the morning', `skips: ${JSON.stringify(skips)}`);
    });

    await check('channels: a signed webhook added (secret shown only as set) and its test reaches the receiver', async () => {
        await api('POST', `${RECV}/_control`, { secrets: { '/ui-hook': HOOK_SECRET } });
        await api('POST', `${RECV}/_control`, { path: '/ui-fail', mode: 'fail' });
        await openReminders();
        await waitText(page.locator('#reminders-zone'), new RegExp(`time zone, ${S.timezoneId.replace('/', '\\/')}`), 'the zone');
        await waitText(page.locator('#channels-list'), /No channels yet/, 'no channels');
        await page.selectOption('#ch-type', 'webhook');
        assert(await visible('#ch-secret') && !(await visible('#ch-to')) && !(await visible('#ch-token')), 'the webhook fields');
        await page.fill('#ch-url', `${RECV}/ui-hook`);
        await page.click('#ch-form button[type=submit]');
        await waitText(page.locator('#ch-form .form-error'), /the shared secret/, 'a missing secret refused');
        await page.fill('#ch-secret', HOOK_SECRET);
        await page.click('#ch-form button[type=submit]');
        const row = page.locator('#channels-list .channel-row[data-type="webhook"]');
        await waitText(row, /Secret: set/, 'the channel with its secret set');
        assert((await page.inputValue('#ch-secret')) === '' && (await page.inputValue('#ch-url')) === '', 'the form kept the secret');
        assert(!(await page.content()).includes(HOOK_SECRET), 'the secret is still in the page');
        const list = await pageOk('GET', `/api/v1/persons/${ids.person}/channels`);
        assert(list.length === 1 && list[0].has_secret === true && !JSON.stringify(list).includes(HOOK_SECRET), `server: ${JSON.stringify(list)}`);
        ids.hook = list[0].id;
        await row.getByRole('button', { name: /^Send a test/ }).click();
        await waitText(row.locator('.test-outcome'), /^Test sent\.$/, 'the test outcome');
        const got = await eventually(async () => (await records()).find((r) => r.path === '/ui-hook' && JSON.parse(r.body).kind === 'test'), 'the test at the receiver');
        assert(got.hmac === 'ok', `the receiver checked the signature: ${got.hmac}`);
        await shot('channels');
        await axeCheck('reminders page with a channel');
        await noHorizontalScroll('reminders page');
    });

    await check('channels: a failing receiver is reported; e-mail without SMTP is refused with the server’s reason', async () => {
        await page.selectOption('#ch-type', 'ntfy');
        assert(await visible('#ch-url') && await visible('#ch-token') && !(await visible('#ch-secret')), 'the ntfy fields');
        await page.fill('#ch-url', `${RECV}/ui-fail`);
        await page.click('#ch-form button[type=submit]');
        const row = page.locator('#channels-list .channel-row[data-type="ntfy"]');
        await waitText(row, /Token: none/, 'the ntfy channel');
        await row.getByRole('button', { name: /^Send a test/ }).click();
        await waitText(row.locator('.test-outcome'), /^Test failed: .+/, 'the failure');
        await page.selectOption('#ch-type', 'email');
        await page.fill('#ch-to', 'grace@example.org');
        await page.click('#ch-form button[type=submit]');
        await waitText(page.locator('#ch-form .form-error'), /SMTP_URL/, 'the server’s reason');
        // Delete the failing channel.
        await row.getByRole('button', { name: /^Delete/ }).click();
        await page.click('#confirm-ok');
        await row.waitFor({ state: 'detached' });
        const list = await pageOk('GET', `/api/v1/persons/${ids.person}/channels`);
        assert(list.length === 1 && list[0].type === 'webhook', `server: ${JSON.stringify(list)}`);
    });

    await check('notification log: the test is listed as sent', async () => {
        await page.click('#notif-reload');
        const row = page.locator(`#notif-list .notif-row[data-kind="test"][data-channel-id="${ids.hook}"]`);
        await waitText(row, /Test[\s\S]*Sent[\s\S]*Webhook[\s\S]*test message/, 'the test in the log');
        const log = await pageOk('GET', '/api/v1/notifications?limit=1000');
        assert(log.some((d) => d.kind === 'test' && d.channel_id === ids.hook && d.status === 'sent'), `server log: ${JSON.stringify(log).slice(0, 400)}`);
    });

    await check('snooze from the list: a pending slot with a planned reminder is snoozed for 30 minutes; a viewer sees it without controls; Skip from the list closes it', async () => {
        // A slot two to three minutes ahead (the worker plans five minutes
        // ahead, and never a slot before its schedule existed).
        const nowMs = await page.evaluate(() => Date.now());
        const slotHhmm = zoneParts(Math.ceil(nowMs / 60000) * 60000 + 2 * 60000).hhmm;
        const zinc = await pageOk('POST', '/api/v1/medications/', {
            person_id: ids.person, name: 'Zinc', dosage: '10 mg', frequency: 'Once a day', max_doses_per_day: 2,
            schedule: { times: [slotHhmm], days: 'daily' },
        }, 201);
        ids.zinc = zinc.id;
        const zincSlot = async () => (await pageOk('GET', `/api/v1/persons/${ids.person}/due/${DAY}`)).slots.find((x) => x.medication_id === ids.zinc);
        const planned = await eventually(async () => {
            const x = await zincSlot();
            return x && x.reminder && x.reminder.state === 'open' && x;
        }, 'the Zinc reminder planned', 20000);
        await showPerson();
        const row = page.locator(`#due-list .due-row[data-med-id="${ids.zinc}"]`);
        const toggle = row.getByRole('button', { name: new RegExp(`^Snooze… the reminder for the ${slotHhmm} dose of Zinc$`) });
        await toggle.waitFor({ state: 'visible' });
        assert((await toggle.getAttribute('aria-expanded')) === 'false', 'the snooze choices start open');
        // Only the pending slot with a reminder offers it.
        const others = await page.locator(`#due-list .due-row:not([data-med-id="${ids.zinc}"]) .due-snooze`).count();
        assert(others === 0, `${others} other rows offer Snooze`);
        await toggle.click();
        assert((await toggle.getAttribute('aria-expanded')) === 'true', 'the toggle does not say it is open');
        const choices = await row.locator('.due-snooze-choice').allInnerTexts();
        assert(JSON.stringify(choices) === JSON.stringify(['10 min', '30 min', '60 min']), `choices ${JSON.stringify(choices)}`);
        assert(await row.locator('.due-snooze-choice').first().evaluate((el) => el === document.activeElement), 'focus did not move to the first choice');
        await axeCheck('today’s slots with the snooze choices');
        await noHorizontalScroll('today’s slots with the snooze choices');
        await shot('due-snooze-choices');
        const [sent] = await Promise.all([
            page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/v1/persons/${ids.person}/reminders/${planned.reminder.id}/snooze`)),
            row.getByRole('button', { name: /^30 min$/ }).click(),
        ]);
        assert(JSON.stringify(sent.postDataJSON()) === JSON.stringify({ minutes: 30 }), `sent ${sent.postData()}`);
        const snoozed = await eventually(async () => {
            const x = await zincSlot();
            return x && x.reminder.state === 'snoozed' && x;
        }, 'the server to hold the snooze');
        const until = zoneParts(Date.parse(snoozed.reminder.snoozed_until)).hhmm;
        await waitText(row.locator('.due-snoozed'), new RegExp(`^reminder snoozed until ${until}$`), 'the snooze in the row');
        const minutes = (Date.parse(snoozed.reminder.snoozed_until) - nowMs) / 60000;
        assert(minutes > 28 && minutes < 34, `snoozed for ${minutes} minutes`);
        assert(!(await row.locator('.due-snooze-choice').count()), 'the choices stay open after the snooze');
        await shot('due-snoozed');
        // A viewer sees the snooze, and no Snooze, Skip or Take.
        await signOut(page);
        await signIn(page, BASE, 'viewer', PW.viewer);
        await showPerson();
        await waitText(row.locator('.due-snoozed'), new RegExp(`^reminder snoozed until ${until}$`), 'the snooze for the viewer');
        assert((await row.locator('button').count()) === 0, 'the viewer is offered buttons on the snoozed slot');
        await signOut(page);
        await signIn(page, BASE, 'admin', PW.admin);
        await showPerson();
        // Skip from the list: the reason is asked, the slot is skipped, and
        // the worker closes its reminder.
        await row.getByRole('button', { name: new RegExp(`^Skip… the ${slotHhmm} dose of Zinc$`) }).click();
        await page.locator('#reason-dialog').waitFor({ state: 'visible' });
        await page.fill('#reason-text', 'Out of zinc');
        await page.click('#reason-submit');
        await page.locator('#reason-dialog').waitFor({ state: 'hidden' });
        await eventually(async () => (await row.locator('.due-status').textContent()).trim() === 'Skipped', 'the Zinc slot skipped');
        assert((await row.locator('.due-snooze').count()) === 0 && (await row.locator('.due-snoozed').count()) === 0, 'a skipped slot still offers or shows the snooze');
        await eventually(async () => (await zincSlot()).reminder.state === 'skipped', 'the reminder closed as skipped');
        const skips = (await pageOk('GET', `/api/v1/doses/medications/${ids.zinc}/doses`)).filter((d) => d.status === 'skipped');
        assert(skips.length === 1 && skips[0].status_reason === 'Out of zinc', `skips: ${JSON.stringify(skips)}`);
        // Zinc goes, so that the later views count the slots they did.
        await pageOk('DELETE', `/api/v1/medications/${ids.zinc}`, undefined, 204);
        await showPerson();
        await openReminders();
    });

    await check('reminder settings: repeats, quiet hours and escalation saved', async () => {
        await page.fill('#rs-repeat', '10');
        await page.fill('#rs-max', '2');
        await page.fill('#rs-quiet-start', '22:00');
        await page.click('#rsettings-form button[type=submit]');
        await waitText(page.locator('#rsettings-form .form-error'), /both quiet-hour times/, 'half the quiet hours refused');
        await page.fill('#rs-quiet-end', '07:00');
        await page.fill('#rs-escalate', '30');
        await page.click('#rsettings-form button[type=submit]');
        await waitText(page.locator('#rsettings-text'), /^Repeated every 10 minutes, at most 2 times; quiet from 22:00 to 07:00; carers told after 30 minutes\.$/, 'the saved settings');
        const s = await pageOk('GET', `/api/v1/persons/${ids.person}/reminder-settings`);
        assert(s.repeat_minutes === 10 && s.max_repeats === 2 && s.quiet_start === '22:00' && s.quiet_end === '07:00' && s.escalate_after_minutes === 30, `server: ${JSON.stringify(s)}`);
    });

    await check('calendar feed: the link is shown once, copied, subscribed to, and revoked', async () => {
        await page.click('#calendar-create');
        await page.locator('#calendar-result').waitFor({ state: 'visible' });
        const url = await page.inputValue('#calendar-url');
        assert(new RegExp(`^${BASE.replace(/[.]/g, '\\.')}/api/v1/persons/${ids.person}/calendar\\.ics\\?token=mtc_[A-Za-z0-9_-]{43}$`).test(url), `the link ${url}`);
        await page.click('#calendar-copy');
        const copied = await eventually(() => page.evaluate(() => navigator.clipboard.readText()), 'the clipboard');
        assert(copied === url, `copied "${copied}"`);
        await axeCheck('calendar link shown');
        await noHorizontalScroll('calendar link shown');
        const feed = await api('GET', url);
        assert(feed.status === 200 && /^text\/calendar/.test(feed.type) && feed.text.startsWith('BEGIN:VCALENDAR') && feed.text.includes('SUMMARY:Metformin'), `feed ${feed.status} ${feed.type} ${feed.text.slice(0, 200)}`);
        // Reloading the page does not show it again.
        await page.reload();
        await page.locator('#reminders-view').waitFor({ state: 'visible' });
        assert(!(await visible('#calendar-result')) && (await page.inputValue('#calendar-url')) === '', 'the link is shown again');
        await page.click('#calendar-revoke');
        await page.click('#confirm-ok');
        await eventually(async () => (await api('GET', url)).status === 404, 'the revoked link answering 404');
    });

    await check('adherence page: counts, percentages, streaks and an SVG chart with a text alternative', async () => {
        await page.click('#reminders-back');
        await page.locator('#dashboard').waitFor({ state: 'visible' });
        await page.click('#link-adherence');
        await page.locator('#adherence-view').waitFor({ state: 'visible' });
        await waitText(page.locator('#adherence-heading'), /^Adherence of Grace Hopper$/, 'the heading');
        await page.fill('#adh-from', shiftDay(DAY, -6));
        await page.fill('#adh-to', DAY);
        await page.click('#adherence-form button[type=submit]');
        const data = await pageOk('GET', `/api/v1/persons/${ids.person}/adherence?from=${shiftDay(DAY, -6)}&to=${DAY}`);
        const pct = (v) => `${Number(v).toFixed(Number.isInteger(Number(v)) ? 0 : 1)}%`;
        await waitText(page.locator('#adh-headline'), new RegExp(`^${pct(data.totals.adherence_pct).replace('.', '\\.')} taken \\(on time or late\\) of ${data.totals.due} doses due\\.$`), 'the headline');
        await waitText(page.locator('#adh-facts'), new RegExp(`^${data.totals.taken} on time, ${data.totals.late} late, ${data.totals.missed} missed, ${data.totals.skipped} skipped, ${data.totals.pending} pending\\. Current streak ${data.totals.current_streak} days?, longest ${data.totals.longest_streak}`), 'the facts');
        // The table per medication has the server's numbers.
        const met = data.medications.find((m) => m.medication_id === ids.met);
        const cells = await page.locator(`#adh-meds-table tbody tr[data-med-id="${ids.met}"] > *`).allInnerTexts();
        assert(cells[0] === 'Metformin' && cells[1] === String(met.slots) && cells[3].startsWith(`${met.late} (`) && cells[5].startsWith(`${met.skipped} (`) && cells[6] === String(met.pending), `row ${JSON.stringify(cells)} vs ${JSON.stringify(met)}`);
        // The chart: an image with a title and a description, a bar per day,
        // today's bar in parts per outcome.
        const svg = page.locator('svg.adh-chart');
        assert((await svg.getAttribute('role')) === 'img', 'the chart is not an image');
        assert((await svg.locator('title').first().textContent()) === 'Scheduled doses per day by outcome', 'no title');
        assert(/scheduled doses/.test(await page.locator('#adh-chart-desc').textContent()), 'no description');
        assert((await svg.locator('g.adh-day').count()) === 7, `${await svg.locator('g.adh-day').count()} days drawn`);
        const bars = await svg.locator(`g.adh-day[data-date="${DAY}"] rect`).evaluateAll((rs) => Object.fromEntries(rs.map((r) => [r.dataset.status, Number(r.dataset.count)])));
        const today = data.days.find((d) => d.date === DAY);
        for (const k of ['taken', 'late', 'missed', 'skipped', 'pending']) {
            assert((bars[k] || 0) === today[k], `today’s ${k}: drawn ${bars[k] || 0}, server ${today[k]}`);
        }
        assert(bars.skipped === 1 && bars.late === 1 && bars.taken >= 2 && bars.pending === 1, `today’s bar ${JSON.stringify(bars)}`);
        // The same numbers as a table.
        await page.click('.adh-days summary');
        const dayCells = await page.locator(`#adh-days-table tr[data-date="${DAY}"] td`).allInnerTexts();
        assert(dayCells.join(',') === [today.slots, today.taken, today.late, today.skipped, today.missed, today.pending].join(','), `day row ${dayCells}`);
        await shot('adherence', true);
        await axeCheck('adherence page');
        await noHorizontalScroll('adherence page');
    });

    await check('a carer adds their own channel for escalations and tests it', async () => {
        await signOut(page);
        await signIn(page, BASE, 'carer', PW.carer);
        await showPerson();
        await openReminders();
        await page.locator('#my-channels-card').waitFor({ state: 'visible' });
        await page.selectOption('#my-ch-type', 'ntfy');
        await page.fill('#my-ch-url', `${RECV}/carer-ntfy`);
        await page.fill('#my-ch-token', NTFY_TOKEN);
        await page.click('#my-ch-form button[type=submit]');
        const row = page.locator('#my-channels-list .channel-row[data-type="ntfy"]');
        await waitText(row, /Token: set/, 'the carer’s channel');
        await row.getByRole('button', { name: /^Send a test/ }).click();
        await waitText(row.locator('.test-outcome'), /^Test sent\.$/, 'the test outcome');
        const got = await eventually(async () => (await records()).find((r) => r.path === '/carer-ntfy'), 'the carer’s test at the receiver');
        assert(got.headers.authorization === `Bearer ${NTFY_TOKEN}`, 'the token was not sent');
        const mine = await pageOk('GET', '/api/v1/auth/me/channels');
        assert(mine.length === 1 && mine[0].has_secret && !JSON.stringify(mine).includes(NTFY_TOKEN), `server: ${JSON.stringify(mine)}`);
        // The carer manages the person's channels too.
        assert(await visible('#ch-form'), 'the carer cannot add a channel of the person');
        await axeCheck('carer’s reminders page');
        await noHorizontalScroll('carer’s reminders page');
    });

    await check('a viewer sees slots, channels, settings, log and adherence, with no edit controls', async () => {
        await signOut(page);
        await signIn(page, BASE, 'viewer', PW.viewer);
        await showPerson();
        const rows = await eventually(async () => {
            const r = await dueRows();
            return r.length === 5 && r;
        }, 'the slots');
        assert(rows.every((r) => r.buttons.length === 0), `the viewer is offered ${JSON.stringify(rows.map((r) => r.buttons))}`);
        assert(!(await visible('#add-med')) && !(await card('Metformin').locator('button', { hasText: 'Edit' }).isVisible()), 'the viewer may edit medications');
        await openReminders();
        await waitText(page.locator('#channels-list'), /shown to carers and administrators/, 'no channel addresses for a viewer');
        assert((await page.locator('#channels-list button').count()) === 0, 'the viewer is offered channel buttons');
        assert(!(await visible('#ch-form')) && !(await visible('#my-channels-card')), 'the viewer is offered a channel form');
        assert(!(await visible('#rsettings-form')), 'the viewer is offered the settings form');
        await waitText(page.locator('#rsettings-text'), /^Repeated every 10 minutes/, 'the settings in words');
        assert(!(await visible('#calendar-create')) && !(await visible('#calendar-revoke')), 'the viewer is offered the calendar link');
        await waitText(page.locator('#notif-list'), /Test/, 'the log');
        await shot('viewer-reminders', true);
        await axeCheck('viewer’s reminders page');
        await page.click('#reminders-back');
        await page.click('#link-adherence');
        await page.locator('svg.adh-chart').waitFor({ state: 'visible' });
        await axeCheck('viewer’s adherence page');
    });

    await check('no uncaught script errors during the run', async () => {
        assert(jsErrors.length === 0, jsErrors.slice(0, 5).join('; '));
    });
} catch (e) {
    abort(e);
}
await finish();
