// The dose history dialog: every recorded dose of one medication (or of a
// deleted medication, looked up by name), newest first, grouped by local day,
// with deletion of a single dose for the roles that may record doses.

import * as api from './api.js';
import { $, announce, confirmDialog, h, openDialog, srOnly } from './dom.js';
import { actions, state } from './state.js';
import { dayOf, fmtLongDay, fmtTime, parseInstant } from './time.js';

let current = null; // { kind: 'med'|'deleted', med?, name }

function setError(msg) {
    const box = $('#history-error');
    box.textContent = msg || '';
    box.hidden = !msg;
}

function render(doses) {
    const body = $('#history-body');
    if (!doses.length) {
        body.replaceChildren(h('p', { class: 'empty' }, 'No doses recorded.'));
        return;
    }
    const groups = new Map();
    for (const d of doses) {
        const when = parseInstant(d.taken_at);
        const key = when ? dayOf(when) : 'unknown';
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push({ dose: d, when });
    }
    const sections = [];
    let gi = 0;
    for (const [day, items] of groups) {
        const hid = `history-day-${gi++}`;
        sections.push(
            h(
                'section',
                { class: 'history-day', 'aria-labelledby': hid },
                h('h3', { id: hid }, day === 'unknown' ? 'Unknown day' : fmtLongDay(day)),
                h(
                    'ul',
                    { class: 'history-list' },
                    items.map(({ dose, when }) => {
                        const t = when ? fmtTime(when) : dose.taken_at;
                        return h(
                            'li',
                            { class: 'history-row', dataset: { doseId: dose.id } },
                            h('time', { datetime: when ? when.toISOString() : dose.taken_at }, t),
                            state.can.record && h(
                                'button',
                                { type: 'button', class: 'btn btn-small btn-danger-quiet', disabled: !state.online, onclick: () => removeDose(dose, when) },
                                'Delete',
                                srOnly(` dose at ${t}${day === 'unknown' ? '' : ` on ${fmtLongDay(day)}`}`),
                            ),
                        );
                    }),
                ),
            ),
        );
    }
    body.replaceChildren(...sections);
}

async function load() {
    setError('');
    $('#history-body').replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
        const doses =
            current.kind === 'med' ? await api.doseHistory(current.med.id) : await api.deletedMedicationDoses(current.name);
        render(doses || []);
        const n = (doses || []).length;
        $('#history-note').textContent =
            (current.kind === 'deleted' ? 'This medication was deleted; its doses are kept. ' : '') +
            `${n} ${n === 1 ? 'dose' : 'doses'} recorded, newest first. Times are in your time zone.`;
    } catch (e) {
        if (e.status === 404 && current.kind === 'deleted') {
            render([]);
            $('#history-note').textContent = `No doses are recorded for a deleted medication named “${current.name}”.`;
        } else {
            $('#history-body').replaceChildren();
            setError(e.message);
        }
    }
}

async function removeDose(dose, when) {
    const label = when ? `${fmtTime(when)} on ${fmtLongDay(dayOf(when))}` : dose.taken_at;
    const ok = await confirmDialog('Delete this dose?', `The dose of ${current.name} at ${label} will be removed.`, 'Delete dose');
    if (!ok) return;
    try {
        await api.deleteDose(dose.id);
        announce(`Dose at ${label} deleted.`);
    } catch (e) {
        setError(e.message);
        return;
    }
    await load();
    const first = $('#history-body button');
    ($('#history-dialog').open && first ? first : $('#history-title')).focus();
    await actions.refresh();
}

export function openMedicationHistory(med) {
    current = { kind: 'med', med, name: med.name };
    $('#history-title').textContent = `Dose history: ${med.name} ${med.dosage}`;
    openDialog($('#history-dialog'), 'button[value=close]');
    load();
}

export function openDeletedHistory(name) {
    current = { kind: 'deleted', name };
    $('#history-title').textContent = `Dose history: ${name} (deleted)`;
    openDialog($('#history-dialog'), 'button[value=close]');
    load();
}

export function initHistory() {
    $('#history-title').setAttribute('tabindex', '-1');
}
