// The scheduled slots of the shown day (issue 16, docs/schedules.md), from
// GET /persons/{id}/due/{date}, ordered by due time: each slot's local time
// in the person's zone, the medication and its status as a text badge
// (Taken, Late, Missed, Skipped, Pending; never colour alone), and for the
// roles that record doses "Take" (a pending slot of today, one
// Idempotency-Key per tap), "Skip…" with a reason (a missed slot, or a
// pending one within the hour) and "Snooze…" (10, 30 or 60 minutes, on a
// pending slot whose reminder is open or snoozed: docs/reminders.md)
// straight from the list; a snoozed reminder shows "snoozed until HH:MM".

import * as api from './api.js';
import { $, announce, h, srOnly } from './dom.js';
import { askReason } from './dosing.js';
import { actions, isToday, selectedPerson, state } from './state.js';
import { fmtDay, fmtTime, parseInstant } from './time.js';

// A skip is recorded at the slot's time, or now when the slot is still
// ahead; the matching rule takes it for the slot within SLOT_WINDOW_MINUTES
// (60 by default), so a skip is offered from an hour before the slot.
const SKIP_AHEAD_MS = 60 * 60000;

export const STATUS_TEXT = {
    taken: 'Taken',
    late: 'Late',
    missed: 'Missed',
    skipped: 'Skipped',
    pending: 'Pending',
};

// Slots with a tap in flight ("medication|slot_at"): the button stays busy
// until the reload after the answer has been drawn.
const busy = new Set();
let renderedKey = '';
// The slot whose snooze choices are shown ("medication|slot_at"), or ''.
let snoozeOpen = '';
// The snooze lengths offered, in minutes.
const SNOOZE_CHOICES = [10, 30, 60];

// Browsers name some zones by the older identifiers ICU keeps (CLDR's
// canonical ids); the tz database has renamed them. The current names are
// suggested, since a server whose tz data lacks the old links (Debian's
// tzdata-legacy) would refuse the old ones.
const CURRENT_ZONE_NAMES = {
    'Africa/Asmera': 'Africa/Asmara',
    'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
    'America/Catamarca': 'America/Argentina/Catamarca',
    'America/Cordoba': 'America/Argentina/Cordoba',
    'America/Jujuy': 'America/Argentina/Jujuy',
    'America/Mendoza': 'America/Argentina/Mendoza',
    'America/Coral_Harbour': 'America/Atikokan',
    'America/Godthab': 'America/Nuuk',
    'America/Indianapolis': 'America/Indiana/Indianapolis',
    'America/Louisville': 'America/Kentucky/Louisville',
    'Asia/Calcutta': 'Asia/Kolkata',
    'Asia/Dacca': 'Asia/Dhaka',
    'Asia/Katmandu': 'Asia/Kathmandu',
    'Asia/Rangoon': 'Asia/Yangon',
    'Asia/Saigon': 'Asia/Ho_Chi_Minh',
    'Asia/Thimbu': 'Asia/Thimphu',
    'Atlantic/Faeroe': 'Atlantic/Faroe',
    'Europe/Kiev': 'Europe/Kyiv',
    'Pacific/Enderbury': 'Pacific/Kanton',
    'Pacific/Ponape': 'Pacific/Pohnpei',
    'Pacific/Truk': 'Pacific/Chuuk',
};

/** The current tz-database name of a zone the browser names. */
export function currentZoneName(zone) {
    return CURRENT_ZONE_NAMES[zone] || zone;
}

/** The browser's own IANA zone ('' when the browser does not say). */
export function browserZone() {
    try {
        return currentZoneName(Intl.DateTimeFormat().resolvedOptions().timeZone || '');
    } catch (e) {
        return '';
    }
}

function slotKey(s) {
    return `${s.medication_id}|${s.slot_at}`;
}

/** HH:MM (24 hours) of an instant in a zone, as the slots' own times are
 *  written; the browser's local time when the zone is unknown to it. */
function zoneTime(date, zone) {
    try {
        return new Intl.DateTimeFormat('en-GB', { timeZone: zone || undefined, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
    } catch (e) {
        return fmtTime(date);
    }
}

/** Whether the slot's reminder may still be snoozed. */
function snoozable(s) {
    const r = s.reminder;
    return s.status === 'pending' && !!r && (r.state === 'open' || r.state === 'snoozed');
}

function snoozeText(s, zone) {
    const r = s.reminder;
    const until = r && r.state === 'snoozed' ? parseInstant(r.snoozed_until) : null;
    return until && s.status === 'pending' ? `reminder snoozed until ${zoneTime(until, zone)}` : '';
}

function detailText(s, zone) {
    const taken = parseInstant(s.taken_at);
    switch (s.status) {
        case 'taken':
            return taken ? `taken at ${zoneTime(taken, zone)}` : '';
        case 'late':
            return taken ? `taken late, at ${zoneTime(taken, zone)}` : 'taken late';
        case 'skipped':
            return 'skipped';
        case 'missed':
            return 'not taken';
        case 'pending': {
            const until = parseInstant(s.late_until);
            return until ? `can be taken until ${zoneTime(until, zone)}` : '';
        }
        default:
            return '';
    }
}

async function take(s) {
    const key = slotKey(s);
    if (busy.has(key)) return;
    busy.add(key);
    render();
    try {
        const dose = await api.takeDoseNow(s.medication_id, { key: api.newIdempotencyKey() });
        announce(`${s.medication_name} (${s.local_time}) taken at ${fmtTime(parseInstant(dose.taken_at) || new Date())}.`);
    } catch (e) {
        announce(e.unreachable ? 'Not recorded: the server cannot be reached.' : `Not recorded: ${e.message}`, 'error');
    }
    try {
        await actions.refresh();
    } finally {
        busy.delete(key);
        renderedKey = '';
        render();
        focusSlot(key);
    }
}

async function skip(s) {
    const slotAt = parseInstant(s.slot_at);
    const ok = await askReason({
        title: `Skip the ${s.local_time} dose of ${s.medication_name}`,
        message: 'The slot is marked as skipped; the reason is kept in the history.',
        label: 'Reason (required)',
        action: 'Record skipped dose',
        submit: async (reason) => {
            // A slot still ahead is skipped "now" by the server's clock
            // (null), which a browser clock running ahead cannot put in
            // the future.
            const at = slotAt && slotAt.getTime() <= Date.now() ? slotAt.toISOString() : null;
            await api.skipDose(s.medication_id, reason, at, api.newIdempotencyKey());
            announce(`The ${s.local_time} dose of ${s.medication_name} was recorded as skipped.`);
        },
    });
    if (ok) {
        await actions.refresh();
        renderedKey = '';
        render();
        focusSlot(slotKey(s));
    }
}

async function snooze(s, minutes) {
    const key = slotKey(s);
    if (busy.has(key)) return;
    busy.add(key);
    snoozeOpen = '';
    render();
    try {
        // The slot belongs to the person of the list on screen, whoever the
        // picker shows by now.
        const out = await api.snoozeReminder(state.due.person_id, s.reminder.id, minutes);
        const until = parseInstant(out.snoozed_until);
        announce(`The reminder for the ${s.local_time} dose of ${s.medication_name} is snoozed until ${until ? zoneTime(until, (state.due && state.due.timezone) || '') : 'later'}.`);
    } catch (e) {
        announce(e.unreachable ? 'Not snoozed: the server cannot be reached.' : `Not snoozed: ${e.message}`, 'error');
    }
    try {
        await actions.refresh();
    } finally {
        busy.delete(key);
        renderedKey = '';
        render();
        focusSlot(key);
    }
}

function toggleSnooze(s) {
    const key = slotKey(s);
    snoozeOpen = snoozeOpen === key ? '' : key;
    renderedKey = '';
    render();
    const row = [...document.querySelectorAll('#due-list .due-row')].find((r) => r.dataset.key === key);
    const target = row && row.querySelector(snoozeOpen ? '.due-snooze-choice' : '.due-snooze');
    if (target) target.focus();
}

/** Focus back on a slot's row (its first button, else its time) after a redraw. */
function focusSlot(key) {
    const row = [...document.querySelectorAll('#due-list .due-row')].find((r) => r.dataset.key === key);
    if (!row) return;
    const target = row.querySelector('button:not([disabled])') || row.querySelector('.due-time');
    if (target) target.focus();
}

function slotRow(s, now, zone) {
    const slotAt = parseInstant(s.slot_at);
    const key = slotKey(s);
    const canAct = state.can.record && state.online;
    const onToday = isToday();
    const actionsEl = h('div', { class: 'due-actions' });
    if (state.can.record) {
        const label = ` the ${s.local_time} dose of ${s.medication_name}`;
        if (s.status === 'pending' && onToday) {
            const b = h('button', { type: 'button', class: 'btn btn-small btn-primary due-take', disabled: !canAct, onclick: () => take(s) }, 'Take', srOnly(label));
            if (busy.has(key)) {
                b.setAttribute('aria-disabled', 'true');
                b.setAttribute('aria-busy', 'true');
            }
            actionsEl.append(b);
        }
        const skippable = s.status === 'missed' || (s.status === 'pending' && slotAt && slotAt.getTime() - SKIP_AHEAD_MS <= now);
        if (skippable) {
            actionsEl.append(h('button', { type: 'button', class: 'btn btn-small due-skip', disabled: !canAct, onclick: () => skip(s) }, 'Skip…', srOnly(label)));
        }
        if (snoozable(s)) {
            const open = snoozeOpen === key;
            const choicesId = `due-snooze-${s.medication_id}-${s.reminder.id}`;
            const toggle = h('button', { type: 'button', class: 'btn btn-small due-snooze', disabled: !canAct || busy.has(key), 'aria-expanded': open ? 'true' : 'false', 'aria-controls': choicesId, onclick: () => toggleSnooze(s) }, 'Snooze…', srOnly(` the reminder for${label}`));
            actionsEl.append(toggle);
            if (open) {
                actionsEl.append(
                    h(
                        'div',
                        { class: 'due-snooze-choices', id: choicesId, role: 'group', 'aria-label': `Snooze the reminder for${label}` },
                        ...SNOOZE_CHOICES.map((m) => h('button', { type: 'button', class: 'btn btn-small due-snooze-choice', disabled: !canAct, dataset: { minutes: String(m) }, onclick: () => snooze(s, m) }, `${m} min`)),
                    ),
                );
            }
        }
    }
    const detail = detailText(s, zone);
    const snoozed = snoozeText(s, zone);
    return h(
        'li',
        { class: `due-row due-${s.status}`, dataset: { status: s.status, key, medId: s.medication_id } },
        h('time', { class: 'due-time', datetime: s.slot_at, tabindex: '-1' }, s.local_time),
        h(
            'div',
            { class: 'due-info' },
            h('span', { class: 'due-name' }, s.medication_name),
            h('span', { class: `mark due-status status-${s.status}` }, STATUS_TEXT[s.status] || s.status),
            detail ? h('span', { class: 'due-detail' }, detail) : null,
            snoozed ? h('span', { class: 'due-detail due-snoozed' }, snoozed) : null,
        ),
        actionsEl.children.length ? actionsEl : null,
    );
}

/** Draws the shown day's slots; the section is hidden when there are none. */
export function renderDue() {
    render();
}

function render() {
    const section = $('#due-section');
    const d = state.due;
    const slots = d && Array.isArray(d.slots) ? d.slots : [];
    section.hidden = slots.length === 0;
    if (!slots.length) {
        renderedKey = '';
        return;
    }
    const p = selectedPerson();
    const zone = d.timezone || '';
    // Redraw only when something shown changed, so a periodic refresh never
    // takes focus from a button.
    const key = JSON.stringify([slots, state.can, state.online, state.day, [...busy], snoozeOpen, Math.floor(Date.now() / 60000)]);
    if (key === renderedKey) return;
    renderedKey = key;
    $('#due-heading').textContent = isToday() ? 'Due today' : `Due on ${fmtDay(state.day)}`;
    const own = browserZone();
    const note = $('#due-zone');
    note.textContent = zone && zone !== own && zone !== 'UTC' ? `Times are ${p ? `${p.first_name}’s` : 'the person’s'} local times (${zone}).` : '';
    note.hidden = !note.textContent;
    const counts = {};
    for (const s of slots) counts[s.status] = (counts[s.status] || 0) + 1;
    $('#due-summary').textContent = ['taken', 'late', 'missed', 'skipped', 'pending']
        .filter((k) => counts[k])
        .map((k) => `${counts[k]} ${STATUS_TEXT[k].toLowerCase()}`)
        .join(', ');
    // Rows come in the server's order: by due time, then medication.
    const now = Date.now();
    const had = document.activeElement && document.activeElement.closest && document.activeElement.closest('#due-list .due-row');
    const hadKey = had ? had.dataset.key : null;
    $('#due-list').replaceChildren(...slots.map((s) => slotRow(s, now, zone)));
    if (hadKey) focusSlot(hadKey);
}
