// The daily log of the selected person and day: every dose in time order,
// copy as plain text, the printable tracking form (the PDF route of the
// API) for 1 to 7 days from the shown day, and the person's record for a
// doctor as a FHIR R4 bundle (a download link).

import * as api from './api.js';
import { deletedNames } from './deleted.js';
import { $, announce, h } from './dom.js';
import { personName, selectedPerson, state } from './state.js';
import { fmtLongDay, fmtTime, parseInstant, today } from './time.js';

/** The doses of the day as { when: Date, label, deleted } in time order. */
export function logEntries() {
    const dosage = new Map(state.meds.map((m) => [m.id, m.dosage]));
    const out = [];
    for (const m of (state.summary && state.summary.medications) || []) {
        const d = m.medication_id !== null && dosage.get(m.medication_id);
        const label = d ? `${m.medication_name} ${d}` : m.medication_name;
        for (const t of m.dose_times || []) {
            const when = parseInstant(t);
            if (when) out.push({ when, label, deleted: !!m.is_deleted });
        }
    }
    out.sort((a, b) => a.when - b.when);
    return out;
}

/** The log as text for the clipboard. */
export function logText() {
    const p = selectedPerson();
    const lines = [`MediTrack daily log: ${personName(p)}`, fmtLongDay(state.day), ''];
    const entries = logEntries();
    if (!entries.length) lines.push('No doses recorded.');
    for (const e of entries) lines.push(`${fmtTime(e.when)}  ${e.label}`);
    const meds = (state.summary && state.summary.medications) || [];
    if (meds.length) {
        lines.push('', 'Totals:');
        for (const m of meds) {
            lines.push(m.is_deleted ? `- ${m.medication_name}: ${m.doses_taken}` : `- ${m.medication_name}: ${m.doses_taken} of ${m.max_doses}`);
        }
    }
    return lines.join('\n') + '\n';
}

export function renderLog() {
    const entries = logEntries();
    $('#log-empty').hidden = entries.length > 0;
    $('#log-list').replaceChildren(
        ...entries.map((e) =>
            h('li', { class: e.deleted ? 'log-row is-deleted' : 'log-row' }, h('time', { datetime: e.when.toISOString() }, fmtTime(e.when)), ' ', h('span', {}, e.label)),
        ),
    );
    // A summary scoped to one person lists that person's doses of deleted
    // medications, but not those deleted before the server recorded whose
    // each dose is (they belong to no one until `meditrack db assign-doses`);
    // say where they are.
    const meds = (state.summary && state.summary.medications) || [];
    const gone = meds.some((m) => m.is_deleted) ? [] : deletedNames();
    const note = $('#log-deleted-note');
    note.hidden = gone.length === 0;
    note.textContent = gone.length
        ? `Doses of deleted medications (${gone.join(', ')}) are not listed here; open them under “Previously recorded medications”.`
        : '';
    const p = selectedPerson();
    $('#log-heading').textContent = p ? `Daily log of ${p.first_name}` : 'Daily log';
    $('#print-form').disabled = !state.online || !p;
    $('#copy-log').disabled = !p;
    const fhir = $('#fhir-link');
    fhir.hidden = !p;
    if (p) {
        fhir.href = api.fhirBundleUrl(p.id);
        fhir.download = `meditrack-fhir-person${p.id}.json`;
    }
}

async function copyLog() {
    const text = logText();
    const area = $('#log-text');
    try {
        await navigator.clipboard.writeText(text);
        area.hidden = true;
        announce('The daily log was copied as text.');
    } catch (e) {
        // No clipboard access: show the text selected so it can be copied by hand.
        area.value = text;
        area.hidden = false;
        area.focus();
        area.select();
        announce('Copying is not allowed here: the text is shown and selected, press Ctrl+C to copy it.');
    }
}

async function printForm() {
    const btn = $('#print-form');
    const p = selectedPerson();
    if (!p || btn.disabled) return;
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    const days = Number($('#form-days').value) || 1;
    try {
        const res = await api.trackingForm(state.day, today(), p.id, days);
        if (!/application\/pdf/i.test(res.type)) throw new Error(`the server sent ${res.type || 'something'} instead of a PDF`);
        const url = URL.createObjectURL(res.blob);
        const name = res.filename || `medication_tracking_${state.day}.pdf`;
        const a = h('a', { href: url, download: name, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        announce(`Tracking form ${name} is ready. Open it to print.`);
    } catch (e) {
        const why = e.status === 501 ? 'this server cannot make tracking forms yet' : e.message;
        announce(`No tracking form: ${why}.`, 'error');
    } finally {
        btn.removeAttribute('aria-busy');
        btn.disabled = !state.online;
    }
}

export function initLog() {
    $('#copy-log').addEventListener('click', copyLog);
    $('#print-form').addEventListener('click', printForm);
}
