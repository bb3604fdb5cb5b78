// A medication's schedule in the UI (issue 16, docs/schedules.md): the
// editor in the medication dialog (as needed, or times of day on every day,
// chosen weekdays or every N days, with start and end dates), reading it back
// into the API's `schedule` value (null for as needed), and the schedule in
// words for the medication card.

import { $, h, srOnly } from './dom.js';
import { fmtDay } from './time.js';

// The API's weekday names, Monday first (the order the server answers in).
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const WEEKDAY_NAMES = {
    mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday', sun: 'Sunday',
};
// The server takes at most 24 times per schedule.
const MAX_TIMES = 24;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** "08:00 and 20:00", "08:00, 13:00 and 20:00". */
function listText(items) {
    if (items.length <= 1) return items.join('');
    return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The days of a schedule in words: "every day", "on Monday and Wednesday",
 *  "every 3 days". */
export function daysText(days) {
    if (!days || days === 'daily') return 'every day';
    if (Array.isArray(days)) return `on ${listText(days.map((d) => WEEKDAY_NAMES[d] || d))}`;
    if (typeof days === 'object' && days.every_n_days) {
        return days.every_n_days === 1 ? 'every day' : `every ${days.every_n_days} days`;
    }
    return '';
}

/** A schedule in words for the card: "Scheduled at 08:00 and 20:00, every
 *  day, from Tue, 10 Mar until Fri, 20 Mar". '' for as needed. */
export function scheduleText(s) {
    if (!s || !Array.isArray(s.times) || !s.times.length) return '';
    let text = `Scheduled at ${listText(s.times)}, ${daysText(s.days)}`;
    if (s.start_date) text += `, from ${fmtDay(s.start_date)}`;
    if (s.end_date) text += ` until ${fmtDay(s.end_date)}`;
    return text;
}

// ---- the editor -------------------------------------------------------------

let timeSeq = 0;

function timeRow(value) {
    const n = ++timeSeq;
    const id = `sched-time-${n}`;
    const input = h('input', { id, name: 'sched_time', type: 'time', value: value || '', required: true });
    const label = h('label', { for: id }, 'Time');
    const row = h('li', { class: 'time-row' }, h('div', { class: 'field field-inline' }, label, input));
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => removeTime(row) }, 'Remove', srOnly(''));
    row.append(remove);
    return row;
}

/** Numbers the time rows for screen readers ("Time 2", "Remove time 2 (20:00)"). */
function labelTimeRows() {
    const rows = [...$('#sched-time-list').children];
    rows.forEach((row, i) => {
        const v = row.querySelector('input').value;
        row.querySelector('label').textContent = `Time ${i + 1}`;
        row.querySelector('button .visually-hidden').textContent = ` time ${i + 1}${v ? ` (${v})` : ''}`;
        // The last time cannot go: "as needed" is how a schedule is removed.
        row.querySelector('button').hidden = rows.length === 1;
    });
    $('#sched-add-time').disabled = rows.length >= MAX_TIMES;
}

function addTime() {
    const list = $('#sched-time-list');
    const row = timeRow('');
    list.append(row);
    labelTimeRows();
    row.querySelector('input').focus();
}

function removeTime(row) {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    labelTimeRows();
    (next ? next.querySelector('input') : $('#sched-add-time')).focus();
}

/** Shows the parts of the editor the chosen kinds need. */
function syncEditor() {
    const form = $('#med-form');
    const scheduled = form.elements.sched_kind.value === 'times';
    $('#sched-body').hidden = !scheduled;
    const days = form.elements.sched_days.value;
    $('#sched-weekdays').hidden = days !== 'weekdays';
    $('#sched-every-field').hidden = days !== 'every';
}

/** Fills the editor from a medication's schedule (null: as needed). */
export function fillSchedule(s, zoneText) {
    const form = $('#med-form');
    const scheduled = !!(s && Array.isArray(s.times) && s.times.length);
    form.elements.sched_kind.value = scheduled ? 'times' : 'none';
    const times = scheduled ? s.times : ['08:00'];
    $('#sched-time-list').replaceChildren(...times.map(timeRow));
    labelTimeRows();
    const days = scheduled ? s.days : 'daily';
    let kind = 'daily';
    if (Array.isArray(days)) kind = 'weekdays';
    else if (days && typeof days === 'object' && days.every_n_days) kind = 'every';
    form.elements.sched_days.value = kind;
    for (const d of WEEKDAYS) form.elements[`sched_${d}`].checked = kind === 'weekdays' && days.includes(d);
    form.elements.sched_every.value = kind === 'every' ? String(days.every_n_days) : '';
    form.elements.sched_start.value = (scheduled && s.start_date) || '';
    form.elements.sched_end.value = (scheduled && s.end_date) || '';
    $('#sched-zone-hint').textContent = `Times of day in ${zoneText}.`;
    for (const el of form.querySelectorAll('#med-schedule [aria-invalid]')) el.removeAttribute('aria-invalid');
    syncEditor();
}

/**
 * Reads the editor into the API's `schedule`: null for as needed, else
 * {times, days, start_date, end_date}. Throws an Error whose message says
 * what to fix (the wrong inputs are marked aria-invalid).
 */
export function readSchedule(form) {
    const marks = [];
    const wants = [];
    for (const el of form.querySelectorAll('#med-schedule [aria-invalid]')) el.removeAttribute('aria-invalid');
    if (form.elements.sched_kind.value !== 'times') return { schedule: null, marks };
    const inputs = [...form.querySelectorAll('#sched-time-list input')];
    const times = [];
    let badTime = false;
    for (const input of inputs) {
        const v = input.value.slice(0, 5);
        if (!HHMM.test(v) || times.includes(v)) {
            badTime = true;
            marks.push(input);
        } else times.push(v);
    }
    if (badTime) wants.push('each time of day once (HH:MM)');
    const kind = form.elements.sched_days.value;
    let days = 'daily';
    if (kind === 'weekdays') {
        days = WEEKDAYS.filter((d) => form.elements[`sched_${d}`].checked);
        if (!days.length) {
            wants.push('at least one weekday');
            marks.push(form.elements.sched_mon);
        }
    } else if (kind === 'every') {
        const n = Number(form.elements.sched_every.value);
        if (!Number.isInteger(n) || n < 1 || n > 366) {
            wants.push('every 1 to 366 days');
            marks.push(form.elements.sched_every);
        }
        days = { every_n_days: n };
    }
    const start = form.elements.sched_start.value || null;
    const end = form.elements.sched_end.value || null;
    if (kind === 'every' && !start) {
        wants.push('a start date (every N days counts from it)');
        marks.push(form.elements.sched_start);
    }
    if (start && end && end < start) {
        wants.push('an end date that is not before the start date');
        marks.push(form.elements.sched_end);
    }
    if (wants.length) {
        const err = new Error(`Please enter ${wants.join(', ')} in the schedule.`);
        err.scheduleMarks = marks;
        throw err;
    }
    times.sort();
    return { schedule: { times, days, start_date: start, end_date: end }, marks };
}

export function initScheduleEditor() {
    const form = $('#med-form');
    for (const el of form.querySelectorAll('[name=sched_kind], [name=sched_days]')) el.addEventListener('change', syncEditor);
    $('#sched-add-time').addEventListener('click', addTime);
    $('#sched-time-list').addEventListener('input', labelTimeRows);
}
