// The dosing rules of issue 15 as the UI shows them (docs/dosing.md): a
// medication's rules in words, when its next dose is allowed and why, how a
// dose was marked (skipped, given despite a rule, entered in error,
// corrected), and the two small dialogs the recording and correcting views
// share: one that asks for a reason (override, skip, entered in error) and
// the correction of a dose's time and note.

import { $, h, openDialog, showFormErrors } from './dom.js';
import { dayOf, fmtDay, fmtTime, hhmmOf, parseInstant, today } from './time.js';

/** "4 hours", "90 minutes", "1 day" for a number of minutes. */
export function fmtMinutes(min) {
    const n = Number(min);
    if (!Number.isFinite(n) || n <= 0) return '';
    const plural = (v, word) => `${v} ${word}${v === 1 ? '' : 's'}`;
    if (n % 1440 === 0) return plural(n / 1440, 'day');
    if (n % 60 === 0) return plural(n / 60, 'hour');
    if (n > 60) return `${Math.floor(n / 60)} h ${n % 60} min`;
    return plural(n, 'minute');
}

/** An amount as the server sends it (a number), without trailing zeros. */
export function fmtAmount(v) {
    const n = Number(v);
    return Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : String(v);
}

/** "paracetamol 500 mg, caffeine 65 mg". */
export function ingredientsText(list) {
    return (list || []).map((i) => `${i.name} ${fmtAmount(i.amount)} ${i.unit}`).join(', ');
}

/** True when a medication has a rule beyond the reference's daily maximum. */
export function hasRules(med) {
    return (
        med.limit_window === 'rolling_24h' ||
        !!med.min_interval_minutes ||
        med.dose_amount != null ||
        (Array.isArray(med.ingredients) && med.ingredients.length > 0)
    );
}

/** The rules of a medication in words, one string per rule. */
export function rulesText(med) {
    const out = [];
    const max = med.max_doses_per_day;
    out.push(med.limit_window === 'rolling_24h' ? `At most ${max} in any 24 hours` : `At most ${max} per calendar day`);
    if (med.min_interval_minutes) out.push(`at least ${fmtMinutes(med.min_interval_minutes)} between doses`);
    if (med.dose_amount != null) out.push(`${fmtAmount(med.dose_amount)} ${med.dose_unit || ''} per dose`.replace(/ +per/, ' per'));
    if (Array.isArray(med.ingredients) && med.ingredients.length) out.push(`contains ${ingredientsText(med.ingredients)}`);
    return out;
}

/** Why a dose is not allowed now, from `blocked_by` (or a refusal's `rule`). */
export function blockedReason(med, rule) {
    switch (rule) {
        case 'interval':
            return med.min_interval_minutes
                ? `the minimum time of ${fmtMinutes(med.min_interval_minutes)} between doses`
                : 'the minimum time between doses';
        case 'window_full':
            return med.limit_window === 'rolling_24h'
                ? `the maximum of ${med.max_doses_per_day} doses in any 24 hours is reached`
                : `the daily maximum of ${med.max_doses_per_day} doses is reached`;
        case 'ingredient_limit': {
            const names = (med.ingredients || []).map((i) => i.name).join(', ');
            return names ? `the 24-hour limit of an ingredient (${names}) is reached` : 'an ingredient limit is reached';
        }
        default:
            return rule ? `a dosing rule (${rule})` : '';
    }
}

/** "14:30", "tomorrow at 00:00" or "Tue, 8 Dec at 09:00": a local instant
 *  relative to today. */
export function fmtWhen(date) {
    const d = dayOf(date);
    const now = today();
    if (d === now) return `at ${fmtTime(date)}`;
    const tomorrow = new Date();
    tomorrow.setDate(tomorrow.getDate() + 1);
    if (d === dayOf(tomorrow)) return `tomorrow at ${fmtTime(date)}`;
    return `on ${fmtDay(d)} at ${fmtTime(date)}`;
}

/**
 * The "next dose" line of a medication shown for today: null when a dose may
 * be taken now (or the server sent no dosing fields), else { when, text,
 * reason } where `when` is the local time the next dose is allowed (null
 * when none will be).
 */
export function nextDose(med) {
    if (!med || !med.blocked_by) return null;
    const at = parseInstant(med.next_allowed_at);
    const reason = blockedReason(med, med.blocked_by);
    const text = at ? `Next dose allowed ${fmtWhen(at)}` : 'No further dose allowed for now';
    return { when: at, text, reason };
}

/** True when a refusal from the server is one by a dosing rule (which an
 *  override may pass), not another kind of 400. */
export function isRuleRefusal(e) {
    if (!e || e.status !== 400) return false;
    const b = e.body || {};
    return !!(b.rule || b.blocked_by) || /^Maximum doses \(\d+\) taken/.test(e.message || '');
}

/** The marks of a dose in words, for lists: e.g. ['Skipped: asleep']. */
export function doseMarks(dose) {
    const marks = [];
    if (dose.status === 'skipped') marks.push({ kind: 'skipped', text: `Skipped${dose.status_reason ? `: ${dose.status_reason}` : ''}` });
    if (dose.status === 'entered_in_error') {
        marks.push({ kind: 'error', text: `Entered in error${dose.status_reason ? `: ${dose.status_reason}` : ''}` });
    }
    if (dose.override_rule) {
        const rules = dose.override_rule.split(',').map((r) => RULE_NAMES[r] || r).join(', ');
        marks.push({ kind: 'override', text: `Given despite a rule (${rules})${dose.override_reason ? `: ${dose.override_reason}` : ''}` });
    }
    if (dose.updated_at && dose.status !== 'entered_in_error') marks.push({ kind: 'corrected', text: 'Corrected' });
    return marks;
}

export const RULE_NAMES = {
    interval: 'minimum interval',
    window_full: 'maximum reached',
    ingredient_limit: 'ingredient limit',
};

// ---- the reason dialog -------------------------------------------------------

let reasonSubmit = null; // async (reason, hhmm) => void of the open dialog

/**
 * Asks for a reason (required) and runs `submit(reason, hhmm)` with it; the
 * dialog stays open and shows the error when submit throws. `time`: also
 * ask for a time of the shown day (skipped doses), prefilled with it.
 * Resolves true when submit succeeded, false when the dialog was cancelled.
 */
export function askReason({ title, message, label, action, danger = false, time = null, submit }) {
    const dialog = $('#reason-dialog');
    const form = $('#reason-form');
    form.reset();
    showFormErrors(form, null);
    $('#reason-title').textContent = title;
    $('#reason-message').textContent = message || '';
    $('#reason-message').hidden = !message;
    $('#reason-label').textContent = label;
    const ok = $('#reason-submit');
    ok.textContent = action;
    ok.className = danger ? 'btn btn-danger' : 'btn btn-primary';
    $('#reason-time-field').hidden = time === null;
    $('#reason-time').disabled = time === null;
    if (time !== null) $('#reason-time').value = time;
    return new Promise((resolve) => {
        let done = false;
        reasonSubmit = async (reason, hhmm) => {
            await submit(reason, hhmm);
            done = true;
        };
        const closed = () => {
            dialog.removeEventListener('close', closed);
            reasonSubmit = null;
            resolve(done);
        };
        dialog.addEventListener('close', closed);
        openDialog(dialog, '#reason-text');
    });
}

async function onReasonSubmit(ev) {
    ev.preventDefault();
    const form = ev.target;
    const btn = $('#reason-submit');
    if (btn.disabled || !reasonSubmit) return;
    const reason = form.elements.reason.value.trim();
    const timeField = $('#reason-time');
    const hhmm = timeField.disabled ? null : timeField.value;
    if (!reason) {
        showFormErrors(form, Object.assign(new Error('Please give a reason.'), { fields: { reason: 'required' } }));
        form.elements.reason.focus();
        return;
    }
    if (!timeField.disabled && !/^\d{2}:\d{2}$/.test(hhmm || '')) {
        showFormErrors(form, Object.assign(new Error('Please enter a time.'), { fields: { time: 'required' } }));
        timeField.focus();
        return;
    }
    btn.disabled = true;
    try {
        await reasonSubmit(reason, hhmm);
        $('#reason-dialog').close();
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        btn.disabled = false;
    }
}

// ---- correcting a dose ---------------------------------------------------------

let editSubmit = null;

/**
 * Opens the correction of a dose: its local day and time and its note.
 * `submit(changes)` gets the fields that changed ({taken_at, note}); resolves
 * true when it succeeded.
 */
export function editDose(dose, title, submit) {
    const dialog = $('#dose-edit-dialog');
    const form = $('#dose-edit-form');
    form.reset();
    showFormErrors(form, null);
    $('#dose-edit-title').textContent = title;
    const when = parseInstant(dose.taken_at) || new Date();
    form.elements.day.value = dayOf(when);
    form.elements.day.max = today();
    form.elements.time.value = hhmmOf(when);
    form.elements.note.value = dose.note || '';
    const original = { day: dayOf(when), time: hhmmOf(when), note: dose.note || '' };
    return new Promise((resolve) => {
        let done = false;
        editSubmit = async (v) => {
            const changes = {};
            if (v.day !== original.day || v.time !== original.time) {
                const [y, m, d] = v.day.split('-').map(Number);
                const [hh, mm] = v.time.split(':').map(Number);
                const at = new Date(y, m - 1, d, hh, mm);
                if (at.getTime() > Date.now()) throw new Error('A dose cannot be moved into the future.');
                changes.taken_at = at.toISOString();
            }
            if (v.note !== original.note) changes.note = v.note || null;
            if (Object.keys(changes).length) await submit(changes);
            done = true;
        };
        const closed = () => {
            dialog.removeEventListener('close', closed);
            editSubmit = null;
            resolve(done);
        };
        dialog.addEventListener('close', closed);
        openDialog(dialog, '#dose-edit-time');
    });
}

async function onEditSubmit(ev) {
    ev.preventDefault();
    const form = ev.target;
    const btn = form.querySelector('[type=submit]');
    if (btn.disabled || !editSubmit) return;
    const v = { day: form.elements.day.value, time: form.elements.time.value, note: form.elements.note.value.trim() };
    const fields = {};
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v.day)) fields.day = 'required';
    if (!/^\d{2}:\d{2}$/.test(v.time)) fields.time = 'required';
    if (Object.keys(fields).length) {
        showFormErrors(form, Object.assign(new Error('Please enter the day and the time the dose was taken.'), { fields }));
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    btn.disabled = true;
    try {
        await editSubmit(v);
        $('#dose-edit-dialog').close();
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        btn.disabled = false;
    }
}

export function initDosing() {
    $('#reason-form').addEventListener('submit', onReasonSubmit);
    $('#reason-dialog [data-close]').addEventListener('click', () => $('#reason-dialog').close());
    $('#dose-edit-form').addEventListener('submit', onEditSubmit);
    $('#dose-edit-dialog [data-close]').addEventListener('click', () => $('#dose-edit-dialog').close());
}

/** A list of marks as elements: a text badge per mark (never colour alone). */
export function markBadges(marks) {
    return marks.map((m) => h('span', { class: `mark mark-${m.kind}` }, m.text));
}
