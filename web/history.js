// The dose history dialog: every recorded dose of one medication (or of a
// deleted medication, looked up by name), newest first, grouped by local day.
// Each dose says in words how it is marked (skipped, given despite a rule,
// corrected, entered in error) and who recorded it. Roles that may record
// doses correct a dose's time or note, mark it entered in error with a
// reason, or delete it; administrators open the audit history of a dose or
// of the medication, and may show the doses entered in error (which the
// dose lists leave out; they come from the audit trail).

import * as api from './api.js';
import { openAudit } from './audit.js';
import { $, announce, confirmDialog, h, openDialog, srOnly } from './dom.js';
import { askReason, doseMarks, editDose, markBadges } from './dosing.js';
import { actions, state } from './state.js';
import { dayOf, fmtLongDay, fmtTime, parseInstant } from './time.js';

let current = null; // { kind: 'med'|'deleted', med?, name }

function setError(msg) {
    const box = $('#history-error');
    box.textContent = msg || '';
    box.hidden = !msg;
}

/** The buttons of one dose for the roles that may use them. */
function doseActions(dose, label) {
    const out = [];
    const offline = !state.online;
    if (state.can.record && dose.status !== 'entered_in_error') {
        out.push(
            h('button', { type: 'button', class: 'btn btn-small', disabled: offline, onclick: () => correct(dose, label) }, 'Edit', srOnly(` dose at ${label}`)),
            h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', disabled: offline, onclick: () => enteredInError(dose, label) }, 'Mark in error…', srOnly(` dose at ${label}`)),
        );
        if (dose.status !== 'skipped') {
            out.push(h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', disabled: offline, onclick: () => removeDose(dose, label) }, 'Delete', srOnly(` dose at ${label}`)));
        }
    }
    if (state.can.admin) {
        out.push(h('button', { type: 'button', class: 'btn btn-small btn-quiet', disabled: offline, onclick: () => openAudit({ entity: 'dose', entity_id: dose.id }, `Changes to the dose at ${label}`) }, 'Changes', srOnly(` to the dose at ${label}`)));
    }
    return out;
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
                        const label = `${t}${day === 'unknown' ? '' : ` on ${fmtLongDay(day)}`}`;
                        const marks = doseMarks(dose);
                        const status = dose.status || 'taken';
                        const facts = [];
                        if (dose.note) facts.push(`Note: ${dose.note}`);
                        if (dose.recorded_by) facts.push(`recorded by ${dose.recorded_by}`);
                        return h(
                            'li',
                            { class: `history-row is-${status.replace(/_/g, '-')}${dose.override_rule ? ' is-override' : ''}`, dataset: { doseId: dose.id, status } },
                            h(
                                'div',
                                { class: 'history-info' },
                                h('time', { datetime: when ? when.toISOString() : dose.taken_at }, t),
                                markBadges(marks),
                                facts.length ? h('span', { class: 'history-facts' }, facts.join(' · ')) : null,
                            ),
                            h('div', { class: 'row-actions' }, doseActions(dose, label)),
                        );
                    }),
                ),
            ),
        );
    }
    body.replaceChildren(...sections);
}

/** Doses of this medication entered in error, from the audit trail (the
 *  dose lists leave them out): the newest snapshot of each. */
async function errorDoses() {
    if (current.kind !== 'med') return [];
    const rows = await api.auditTrail({ entity: 'dose', person_id: current.med.person_id, limit: 1000 });
    const out = new Map();
    for (const r of rows || []) {
        const a = r.after;
        if (r.action !== 'entered_in_error' || !a || a.medication_id !== current.med.id || out.has(a.id)) continue;
        out.set(a.id, { ...a, updated_at: r.created_at });
    }
    return [...out.values()];
}

async function load() {
    setError('');
    $('#history-body').replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    const tools = $('#history-tools');
    tools.hidden = !(state.can.admin && current.kind === 'med');
    const showErrors = !tools.hidden && $('#history-show-errors').checked;
    try {
        const doses =
            current.kind === 'med' ? await api.doseHistory(current.med.id) : await api.deletedMedicationDoses(current.name);
        let list = doses || [];
        let voided = 0;
        if (showErrors) {
            const extra = await errorDoses();
            voided = extra.length;
            list = [...list, ...extra].sort((a, b) => (parseInstant(b.taken_at) || 0) - (parseInstant(a.taken_at) || 0));
        }
        render(list);
        const taken = list.filter((d) => !d.status || d.status === 'taken').length;
        const skipped = list.filter((d) => d.status === 'skipped').length;
        let note = current.kind === 'deleted' ? 'This medication was deleted; its doses are kept. ' : '';
        note += `${taken} ${taken === 1 ? 'dose' : 'doses'} recorded`;
        if (skipped) note += `, ${skipped} skipped`;
        if (showErrors) note += `, ${voided} entered in error`;
        note += ', newest first. Times are in your time zone.';
        $('#history-note').textContent = note;
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

/** Reloads the list and the page after a change, keeping focus in the dialog. */
async function afterChange() {
    await load();
    const first = $('#history-body button');
    ($('#history-dialog').open && first ? first : $('#history-title')).focus();
    await actions.refresh();
}

async function correct(dose, label) {
    const ok = await editDose(dose, `Correct the dose of ${current.name} at ${label}`, async (changes) => {
        await api.correctDose(dose.id, changes);
    });
    if (!ok) return;
    announce(`The dose at ${label} was corrected.`);
    await afterChange();
}

async function enteredInError(dose, label) {
    const ok = await askReason({
        title: 'Mark this dose as entered in error?',
        message: `The dose of ${current.name} at ${label} leaves every count and list. It stays in the record and the audit history.`,
        label: 'Reason (required)',
        action: 'Mark in error',
        danger: true,
        submit: async (reason) => {
            await api.markEnteredInError(dose.id, reason);
        },
    });
    if (!ok) return;
    announce(`The dose at ${label} was marked as entered in error.`);
    await afterChange();
}

async function removeDose(dose, label) {
    const ok = await confirmDialog('Delete this dose?', `The dose of ${current.name} at ${label} will be removed.`, 'Delete dose');
    if (!ok) return;
    try {
        await api.deleteDose(dose.id);
        announce(`Dose at ${label} deleted.`);
    } catch (e) {
        setError(e.message);
        return;
    }
    await afterChange();
}

export function openMedicationHistory(med) {
    current = { kind: 'med', med, name: med.name };
    $('#history-title').textContent = `Dose history: ${med.name} ${med.dosage}`;
    $('#history-show-errors').checked = false;
    openDialog($('#history-dialog'), 'button[value=close]');
    load();
}

export function openDeletedHistory(name) {
    current = { kind: 'deleted', name };
    $('#history-title').textContent = `Dose history: ${name} (deleted)`;
    $('#history-show-errors').checked = false;
    openDialog($('#history-dialog'), 'button[value=close]');
    load();
}

export function initHistory() {
    $('#history-title').setAttribute('tabindex', '-1');
    $('#history-show-errors').addEventListener('change', () => load());
    $('#history-med-audit').addEventListener('click', () => {
        if (current && current.kind === 'med') {
            openAudit({ entity: 'medication', entity_id: current.med.id }, `Changes to ${current.med.name}`);
        }
    });
}
