// The adherence page of a person (issue 16, docs/schedules.md): over a
// range of local days (GET /persons/{id}/adherence?from=&to=), the totals
// and each medication's slots taken on time, late, missed, skipped and
// pending, as counts and percentages, with streaks; and a chart of the days
// drawn as SVG (no charting library). The chart is an image with a text
// alternative, and the same numbers are in tables, so nothing depends on
// seeing it or on telling its colours apart.

import * as api from './api.js';
import { $, announce, h, showFormErrors } from './dom.js';
import { personName, selectedPerson } from './state.js';
import { addDays, fmtDay, isDay, today } from './time.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
// Bottom to top in each day's bar; the legend and the tables use the same
// words.
const SERIES = [
    ['taken', 'On time'],
    ['late', 'Late'],
    ['skipped', 'Skipped'],
    ['missed', 'Missed'],
    ['pending', 'Pending'],
];
const MAX_DAYS = 366;

let personId = null;

function svg(tag, attrs = {}, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
    for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
}

const pct = (v) => (v === null || v === undefined ? '–' : `${Number(v).toFixed(Number.isInteger(Number(v)) ? 0 : 1)}%`);
const days = (n) => `${n} day${n === 1 ? '' : 's'}`;

/** One day's counts in words: "2 on time, 1 late". */
function dayText(d) {
    const parts = SERIES.filter(([k]) => d[k]).map(([k, label]) => `${d[k]} ${label.toLowerCase()}`);
    return parts.length ? parts.join(', ') : 'nothing scheduled';
}

/**
 * The days as stacked bars: one bar per day, its height the day's slots, in
 * parts per status. role="img" with a title and a description that says
 * what it shows; each bar has its own title (a tooltip) with the numbers.
 */
function chart(data, titleId, descId) {
    const list = data.days || [];
    // As wide as its place on the page, so its text is drawn at its real
    // size on a phone as on a desktop.
    const room = $('#adherence-body').clientWidth - 30;
    const W = Math.round(Math.max(300, Math.min(760, room > 0 ? room : 640)));
    const H = 220;
    const left = 34;
    const right = 8;
    const top = 10;
    const bottom = 28;
    const plotW = W - left - right;
    const plotH = H - top - bottom;
    // The scale runs to a whole number of steps of whole doses, so every
    // grid line is a round number.
    const most = Math.max(1, ...list.map((d) => d.slots || 0));
    const stepSize = Math.max(1, Math.ceil(most / 4));
    const ticks = Math.ceil(most / stepSize);
    const maxSlots = stepSize * ticks;
    const step = plotW / Math.max(1, list.length);
    const barW = Math.max(1, Math.min(40, step * 0.7));
    const t = data.totals || {};
    const desc = `${list.length} days from ${fmtDay(data.from)} to ${fmtDay(data.to)}: ${t.slots || 0} scheduled doses, ${t.taken || 0} on time, ${t.late || 0} late, ${t.missed || 0} missed, ${t.skipped || 0} skipped, ${t.pending || 0} pending. The table “Day by day” below has each day’s numbers.`;
    const root = svg(
        'svg',
        { class: 'adh-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, preserveAspectRatio: 'xMidYMid meet', focusable: 'false' },
        svg('title', { id: titleId }, 'Scheduled doses per day by outcome'),
        svg('desc', { id: descId }, desc),
    );
    // Horizontal grid with the number of doses.
    for (let i = 0; i <= ticks; i++) {
        const v = stepSize * i;
        const y = top + plotH - (plotH * v) / maxSlots;
        root.append(svg('line', { class: 'adh-grid', x1: left, x2: W - right, y1: y, y2: y }));
        root.append(svg('text', { class: 'adh-axis', x: left - 6, y: y + 4, 'text-anchor': 'end' }, String(v)));
    }
    list.forEach((d, i) => {
        const x = left + step * i + (step - barW) / 2;
        const g = svg('g', { class: 'adh-day', 'data-date': d.date }, svg('title', {}, `${fmtDay(d.date)}: ${dayText(d)}`));
        let y = top + plotH;
        for (const [k] of SERIES) {
            const n = d[k] || 0;
            if (!n) continue;
            const hgt = (plotH * n) / maxSlots;
            y -= hgt;
            g.append(svg('rect', { class: `adh-bar adh-${k}`, x: x.toFixed(2), y: y.toFixed(2), width: barW.toFixed(2), height: hgt.toFixed(2), 'data-status': k, 'data-count': n }));
        }
        root.append(g);
    });
    // Day labels: the first, the last and a few between (they must not overlap).
    const every = Math.max(1, Math.ceil(list.length / Math.max(2, Math.floor(plotW / 70))));
    list.forEach((d, i) => {
        if (i % every !== 0 && i !== list.length - 1) return;
        if (i !== list.length - 1 && list.length - 1 - i < every / 2) return;
        const x = left + step * i + step / 2;
        root.append(svg('text', { class: 'adh-axis', x: x.toFixed(2), y: H - 8, 'text-anchor': 'middle' }, d.date.slice(5)));
    });
    return root;
}

function legend() {
    return h(
        'ul',
        { class: 'adh-legend', 'aria-label': 'Legend' },
        ...SERIES.map(([k, label]) => h('li', {}, h('span', { class: `adh-swatch adh-${k}`, 'aria-hidden': 'true' }), label)),
    );
}

/** A scrolling frame for a wide table: keyboard users can scroll it too. */
function tableFrame(label, table) {
    return h('div', { class: 'table-frame', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}

function medsTable(data) {
    const head = ['Medication', 'Scheduled', 'On time', 'Late', 'Missed', 'Skipped', 'Pending', 'Taken (on time or late)', 'Current streak', 'Longest streak'];
    const row = (name, m) =>
        h(
            'tr',
            { dataset: { medId: m.medication_id ?? 'total' } },
            h('th', { scope: 'row' }, name),
            h('td', {}, String(m.slots)),
            h('td', {}, `${m.taken} (${pct(m.taken_pct)})`),
            h('td', {}, `${m.late} (${pct(m.late_pct)})`),
            h('td', {}, `${m.missed} (${pct(m.missed_pct)})`),
            h('td', {}, `${m.skipped} (${pct(m.skipped_pct)})`),
            h('td', {}, String(m.pending)),
            h('td', {}, pct(m.adherence_pct)),
            h('td', {}, days(m.current_streak)),
            h('td', {}, days(m.longest_streak)),
        );
    const t = data.totals;
    return h(
        'table',
        { class: 'adh-table', id: 'adh-meds-table' },
        h('caption', {}, 'Each medication (percentages of the doses no longer pending)'),
        h('thead', {}, h('tr', {}, ...head.map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, ...(data.medications || []).map((m) => row(m.medication_name, m))),
        h('tfoot', {}, row('All medications', t)),
    );
}

function daysTable(data) {
    return h(
        'table',
        { class: 'adh-table', id: 'adh-days-table' },
        h('caption', {}, 'Day by day'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, 'Scheduled'), ...SERIES.map(([, label]) => h('th', { scope: 'col' }, label)))),
        h(
            'tbody',
            {},
            ...(data.days || []).map((d) =>
                h('tr', { dataset: { date: d.date } }, h('th', { scope: 'row' }, fmtDay(d.date)), h('td', {}, String(d.slots)), ...SERIES.map(([k]) => h('td', {}, String(d[k] || 0)))),
            ),
        ),
    );
}

function render(data) {
    const body = $('#adherence-body');
    const t = data.totals || {};
    if (!t.slots) {
        body.replaceChildren(h('p', { class: 'empty', id: 'adh-empty' }, `No scheduled doses from ${fmtDay(data.from)} to ${fmtDay(data.to)}. Adherence counts medications with a schedule (times of day).`));
        return `No scheduled doses in this range.`;
    }
    const headline = t.adherence_pct === null || t.adherence_pct === undefined
        ? `${t.slots} scheduled doses, none due yet.`
        : `${pct(t.adherence_pct)} taken (on time or late) of ${t.due} doses due.`;
    const facts = `${t.taken} on time, ${t.late} late, ${t.missed} missed, ${t.skipped} skipped, ${t.pending} pending. Current streak ${days(t.current_streak)}, longest ${days(t.longest_streak)} (days with every dose taken).`;
    body.replaceChildren(
        h(
            'section',
            { class: 'card', 'aria-labelledby': 'adh-summary-heading' },
            h('h2', { id: 'adh-summary-heading' }, `${fmtDay(data.from)} to ${fmtDay(data.to)}`),
            h('p', { class: 'adh-headline', id: 'adh-headline' }, headline),
            h('p', { id: 'adh-facts' }, facts),
            data.timezone ? h('p', { class: 'hint' }, `Days of ${data.timezone}; a dose counts as on time within ${data.slot_window_minutes} minutes of its time.`) : null,
        ),
        h(
            'section',
            { class: 'card', 'aria-labelledby': 'adh-chart-heading' },
            h('h2', { id: 'adh-chart-heading' }, 'Per day'),
            h('figure', { class: 'adh-figure' }, chart(data, 'adh-chart-title', 'adh-chart-desc'), h('figcaption', {}, legend())),
            h('details', { class: 'adh-days' }, h('summary', {}, 'Day by day as a table'), tableFrame('Day by day', daysTable(data))),
        ),
        h('section', { class: 'card', 'aria-labelledby': 'adh-meds-heading' }, h('h2', { id: 'adh-meds-heading' }, 'Per medication'), tableFrame('Each medication', medsTable(data))),
    );
    return headline;
}

async function load() {
    const form = $('#adherence-form');
    const from = form.elements.from.value;
    const to = form.elements.to.value;
    const fields = {};
    if (!isDay(from)) fields.from = 'x';
    if (!isDay(to) || (isDay(from) && to < from)) fields.to = 'x';
    if (!fields.from && !fields.to && addDays(from, MAX_DAYS - 1) < to) fields.to = 'x';
    if (Object.keys(fields).length) {
        showFormErrors(form, Object.assign(new Error(`Please choose a first and a last day, at most ${MAX_DAYS} days apart, the last not before the first.`), { fields }));
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    showFormErrors(form, null);
    const q = new URLSearchParams({ person: String(personId), from, to });
    window.history.replaceState(null, '', `/adherence?${q}`);
    const body = $('#adherence-body');
    body.setAttribute('aria-busy', 'true');
    try {
        const data = await api.adherence(personId, from, to);
        announce(render(data));
    } catch (e) {
        body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `Could not load the adherence: ${e.message}`));
    } finally {
        body.setAttribute('aria-busy', 'false');
    }
}

/** Shows the adherence page of the selected person (range from the URL, else the last 30 days). */
export async function openAdherencePage() {
    const p = selectedPerson();
    personId = p ? p.id : null;
    $('#adherence-heading').textContent = p ? `Adherence of ${personName(p)}` : 'Adherence';
    document.title = p ? `Adherence – ${personName(p)} – MediTrack` : 'Adherence – MediTrack';
    const form = $('#adherence-form');
    const q = new URLSearchParams(window.location.search);
    const now = today();
    form.elements.to.value = isDay(q.get('to')) ? q.get('to') : now;
    form.elements.from.value = isDay(q.get('from')) ? q.get('from') : addDays(form.elements.to.value, -29);
    if (!p) {
        $('#adherence-body').replaceChildren(h('p', { class: 'empty' }, 'No person to show.'));
        return;
    }
    await load();
}

export function initAdherence() {
    $('#adherence-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        load();
    });
    for (const b of document.querySelectorAll('[data-range-days]')) {
        b.addEventListener('click', () => {
            const n = Number(b.dataset.rangeDays);
            const form = $('#adherence-form');
            form.elements.to.value = today();
            form.elements.from.value = addDays(today(), -(n - 1));
            load();
        });
    }
}
