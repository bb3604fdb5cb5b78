// Medication cards of the selected person and day: dosage, frequency,
// instructions, "X of Y taken", the last dose, a one-tap "Take now" that
// records one dose per tap (busy from the tap until the card shows the new
// count, the second click of a double tap ignored, disabled at the daily
// maximum), recording at a chosen time (never in the future), an undo for a
// just recorded dose, and add / edit / delete of medications. Recording is
// offered only to roles that may record doses, editing only to roles that may
// manage medications (state.can).

import * as api from './api.js';
import { $, announce, confirmDialog, h, openDialog, showFormErrors, srOnly } from './dom.js';
import { openMedicationHistory } from './history.js';
import { rememberDeleted } from './deleted.js';
import { actions, isToday, selectedPerson, state } from './state.js';
import { fmtDay, fmtTime, hhmmOf, parseInstant, relativeDay, today } from './time.js';

const UNDO_MS = 30000;

const cards = new Map(); // medication id -> MedCard
// Medication ids with a dose being recorded: from the tap until the reload
// after the answer has been drawn. Kept by id, not on the card, so that a card
// drawn anew meanwhile (e.g. after switching persons and back) is busy too.
const recording = new Set();
const undos = new Map(); // medication id -> { doseId, when: Date, timer }
let editingMed = null;   // medication being edited, null = new

class MedCard {
    constructor(med) {
        this.id = med.id;
        const hid = `med-${med.id}-name`;
        this.nameEl = h('span', { class: 'med-name' });
        this.dosageEl = h('span', { class: 'med-dosage' });
        this.heading = h('h3', { id: hid, tabindex: '-1' }, this.nameEl, ' ', this.dosageEl);
        this.freqEl = h('p', { class: 'med-frequency' });
        this.instrEl = h('p', { class: 'med-instructions' });
        this.meterFill = h('span', { class: 'meter-fill' });
        this.meter = h('div', { class: 'meter', 'aria-hidden': 'true' }, this.meterFill);
        this.countEl = h('p', { class: 'med-count', tabindex: '-1' });
        this.lastEl = h('p', { class: 'med-last muted' });
        this.limitEl = h('p', { class: 'med-limit', hidden: true });

        this.takeBtn = h('button', { type: 'button', class: 'btn btn-primary btn-take', onclick: (ev) => this.takeNow(ev) }, 'Take now');
        this.takeLabel = srOnly('');
        this.takeBtn.append(this.takeLabel);

        const timeId = `med-${med.id}-time`;
        this.timeInput = h('input', { type: 'time', id: timeId, name: 'time', required: true });
        this.timeLabel = h('label', { for: timeId }, 'Time');
        // The second click of a double click must not submit the form again.
        this.recordBtn = h('button', { type: 'submit', class: 'btn', onclick: (ev) => ignoreRepeatClick(ev) }, 'Record dose');
        this.recordLabel = srOnly('');
        this.recordBtn.append(this.recordLabel);
        this.recordError = h('p', { class: 'form-error', role: 'alert', hidden: true });
        this.recordForm = h(
            'form',
            { class: 'record-at', novalidate: true, onsubmit: (ev) => this.recordAt(ev) },
            h('div', { class: 'field field-inline' }, this.timeLabel, this.timeInput),
            this.recordBtn,
            this.recordError,
        );
        this.recordSummary = h('summary', {}, 'Record an earlier time today');
        this.recordDetails = h('details', { class: 'record-details' }, this.recordSummary);

        this.undoSlot = h('div', { class: 'undo-slot', hidden: true });

        this.historyBtn = h('button', { type: 'button', class: 'btn btn-small', onclick: () => openMedicationHistory(this.med) }, 'History');
        this.editBtn = h('button', { type: 'button', class: 'btn btn-small', onclick: () => openMedForm(this.med) }, 'Edit');
        this.deleteBtn = h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => removeMedication(this.med) }, 'Delete');
        this.historyLabel = srOnly('');
        this.editLabel = srOnly('');
        this.deleteLabel = srOnly('');
        this.historyBtn.append(this.historyLabel);
        this.editBtn.append(this.editLabel);
        this.deleteBtn.append(this.deleteLabel);

        this.primary = h('div', { class: 'med-actions' });
        this.el = h(
            'li',
            { class: 'med-card card', dataset: { medId: med.id } },
            h(
                'article',
                { 'aria-labelledby': hid },
                this.heading,
                this.freqEl,
                this.instrEl,
                this.meter,
                this.countEl,
                this.lastEl,
                this.limitEl,
                this.primary,
                this.undoSlot,
                h('div', { class: 'med-secondary' }, this.historyBtn, this.editBtn, this.deleteBtn),
            ),
        );
        this.update(med);
    }

    update(med) {
        this.med = med;
        const hadFocus = document.activeElement === this.takeBtn;
        const taken = med.doses_taken_today ?? 0;
        const max = med.max_doses_per_day;
        const full = taken >= max;
        const onToday = isToday();
        const now = today();
        const offline = !state.online;

        this.el.classList.toggle('is-full', full);
        this.nameEl.textContent = med.name;
        this.dosageEl.textContent = med.dosage;
        this.freqEl.textContent = med.frequency;
        this.instrEl.textContent = med.instructions || '';
        this.instrEl.hidden = !med.instructions;
        this.meterFill.style.width = `${Math.min(100, Math.round((100 * taken) / Math.max(1, max)))}%`;
        this.countEl.textContent = `${taken} of ${max} taken ${relativeDay(state.day, now)}`;
        const last = parseInstant(med.last_taken_at);
        this.lastEl.textContent = last
            ? `Last taken at ${fmtTime(last)}${onToday ? '' : ` on ${fmtDay(state.day)}`}`
            : onToday ? 'Not taken yet today' : 'No dose recorded that day';
        this.limitEl.hidden = !full;
        this.limitEl.textContent = full ? `Daily maximum of ${max} reached.` : '';

        const name = ` ${med.name}`;
        this.takeLabel.textContent = name;
        this.recordLabel.textContent = ` of ${med.name}`;
        this.historyLabel.textContent = ` of ${med.name}`;
        this.editLabel.textContent = name;
        this.deleteLabel.textContent = name;
        this.editBtn.disabled = offline;
        this.deleteBtn.disabled = offline;
        this.editBtn.hidden = !state.can.manage;
        this.deleteBtn.hidden = !state.can.manage;
        this.historyBtn.disabled = offline;

        // In flight: aria-disabled (focus stays on the button); taps are ignored via `recording`.
        this.takeBtn.disabled = full || offline;
        this.recordBtn.disabled = full || offline;
        this.setBusy(recording.has(this.id));
        this.timeInput.disabled = full || offline;
        this.timeInput.max = onToday ? hhmmOf(new Date()) : '';

        // Today: "Take now" plus an optional earlier time; other days: a time.
        // Nothing for a role that only reads.
        this.primary.hidden = !state.can.record;
        if (!state.can.record) {
            this.primary.replaceChildren();
        } else if (onToday) {
            if (this.recordForm.parentNode !== this.recordDetails) this.recordDetails.append(this.recordForm);
            this.primary.replaceChildren(this.takeBtn, this.recordDetails);
        } else {
            this.primary.replaceChildren(this.recordForm);
        }
        this.renderUndo();
        if (hadFocus && this.takeBtn.disabled) this.countEl.focus();
    }

    renderUndo() {
        const u = undos.get(this.id);
        if (!u || !state.can.record) {
            this.undoSlot.hidden = true;
            this.undoSlot.replaceChildren();
            return;
        }
        this.undoSlot.hidden = false;
        this.undoSlot.replaceChildren(
            h('span', {}, `Dose recorded at ${fmtTime(u.when)}.`),
            ' ',
            h('button', { type: 'button', class: 'btn btn-small btn-undo', disabled: !state.online, onclick: () => undo(this.id) }, 'Undo', srOnly(` dose of ${this.med.name} at ${fmtTime(u.when)}`)),
        );
    }

    /** Marks Take now and Record dose busy (aria-disabled, focus stays) or not. */
    setBusy(busy) {
        for (const b of [this.takeBtn, this.recordBtn]) {
            if (busy) b.setAttribute('aria-disabled', 'true');
            else b.removeAttribute('aria-disabled');
        }
        if (busy) this.takeBtn.setAttribute('aria-busy', 'true');
        else this.takeBtn.removeAttribute('aria-busy');
    }

    /**
     * Runs `send` (which records a dose) unless one is already being recorded
     * for this medication. The guard is taken synchronously, before any await,
     * and held until the reload after the answer has been drawn: a fast server
     * can answer before the second tap of a double tap arrives, and that tap
     * must not find the button ready again with the old count on it.
     */
    async recordOnce(send) {
        const id = this.id;
        if (recording.has(id)) return;
        recording.add(id);
        this.setBusy(true);
        try {
            await send(this.med);
            await actions.refresh();
        } finally {
            recording.delete(id);
            // The card may have been drawn anew meanwhile; update the shown one.
            const c = cards.get(id) || this;
            c.update(c.med);
        }
    }

    async takeNow(ev) {
        // One tap, one dose: the second click of a double click or double tap
        // (detail 2, 3, ...) belongs to the same gesture; keyboard and
        // assistive-technology activations have detail 0 or 1.
        if (ignoreRepeatClick(ev) || this.takeBtn.disabled) return;
        await this.recordOnce(async (med) => {
            try {
                const dose = await api.takeDoseNow(med.id);
                offerUndo(med, dose);
                const when = parseInstant(dose.taken_at) || new Date();
                announce(`${med.name} taken at ${fmtTime(when)}.`);
            } catch (e) {
                announce(e.unreachable ? 'Not recorded: the server cannot be reached.' : `Not recorded: ${e.message}`, 'error');
            }
        });
    }

    async recordAt(ev) {
        ev.preventDefault();
        if (recording.has(this.id) || this.recordBtn.disabled) return;
        const hhmm = this.timeInput.value;
        const err = (msg) => {
            this.recordError.textContent = msg;
            this.recordError.hidden = !msg;
            if (msg) this.timeInput.setAttribute('aria-invalid', 'true');
            else this.timeInput.removeAttribute('aria-invalid');
        };
        if (!/^\d{2}:\d{2}$/.test(hhmm)) {
            err('Please enter the time the dose was taken.');
            this.timeInput.focus();
            return;
        }
        const day = state.day;
        const now = today();
        if (day > now || (day === now && hhmm > hhmmOf(new Date()))) {
            err('Doses cannot be recorded in the future.');
            this.timeInput.focus();
            return;
        }
        err('');
        await this.recordOnce(async (med) => {
            try {
                const dose = await api.recordDoseAt(med.id, day, hhmm);
                offerUndo(med, dose);
                announce(`${med.name} recorded at ${hhmm} ${relativeDay(day, now)}.`);
                if (day === now) this.recordDetails.open = false;
            } catch (e) {
                err(e.message);
                announce(`Not recorded: ${e.message}`, 'error');
            }
        });
    }
}

/**
 * True (and the click's default action cancelled) for the second and later
 * clicks of a double click or double tap, which the browser counts in
 * `detail`; such a click is part of the gesture that already acted.
 */
function ignoreRepeatClick(ev) {
    if (!ev || !(ev.detail > 1)) return false;
    ev.preventDefault();
    return true;
}

function offerUndo(med, dose) {
    const old = undos.get(med.id);
    if (old) clearTimeout(old.timer);
    const entry = {
        doseId: dose.id,
        when: parseInstant(dose.taken_at) || new Date(),
        timer: setTimeout(() => {
            if (undos.get(med.id) === entry) {
                undos.delete(med.id);
                const card = cards.get(med.id);
                if (card) card.renderUndo();
            }
        }, UNDO_MS),
    };
    undos.set(med.id, entry);
}

async function undo(medId) {
    const u = undos.get(medId);
    const card = cards.get(medId);
    if (!u) return;
    clearTimeout(u.timer);
    undos.delete(medId);
    try {
        await api.deleteDose(u.doseId);
        announce(`Dose of ${card ? card.med.name : 'the medication'} at ${fmtTime(u.when)} was undone.`);
    } catch (e) {
        announce(e.status === 404 ? 'That dose was already deleted.' : `Could not undo: ${e.message}`, 'error');
    }
    await actions.refresh();
    const c = cards.get(medId);
    if (c) (c.takeBtn.isConnected && !c.takeBtn.disabled ? c.takeBtn : c.heading).focus();
}

export function renderMeds() {
    const list = $('#med-list');
    const empty = $('#meds-empty');
    const seen = new Set();
    const els = [];
    for (const med of state.meds) {
        seen.add(med.id);
        let card = cards.get(med.id);
        if (card) card.update(med);
        else {
            card = new MedCard(med);
            cards.set(med.id, card);
        }
        els.push(card.el);
    }
    for (const [id, card] of cards) {
        if (!seen.has(id)) {
            card.el.remove();
            cards.delete(id);
        }
    }
    // Re-append in order without recreating (keeps focus inside cards).
    els.forEach((el, i) => {
        if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
    });
    const p = selectedPerson();
    empty.hidden = state.meds.length > 0;
    if (!p) empty.textContent = '';
    else if (state.shownKey === null) empty.textContent = 'This day cannot be shown while the server cannot be reached.';
    else if (state.can.manage) empty.textContent = `No medications for ${p.first_name} yet. Use “Add medication” to add one.`;
    else empty.textContent = `No medications for ${p.first_name} yet.`;
    $('#add-med').disabled = !state.online || !p;
    $('#add-med').hidden = !state.can.manage;
}

function openMedForm(med) {
    const form = $('#med-form');
    editingMed = med || null;
    form.reset();
    showFormErrors(form, null);
    $('#med-title').textContent = med ? `Edit ${med.name}` : 'Add medication';
    if (med) {
        form.elements.name.value = med.name;
        form.elements.dosage.value = med.dosage;
        form.elements.frequency.value = med.frequency;
        form.elements.max_doses_per_day.value = med.max_doses_per_day;
        form.elements.instructions.value = med.instructions || '';
    } else {
        form.elements.max_doses_per_day.value = 1;
    }
    openDialog($('#med-dialog'), '#med-name');
}

function medPayload(form) {
    const v = (n) => form.elements[n].value.trim();
    const fields = {};
    const body = { name: v('name'), dosage: v('dosage'), frequency: v('frequency') };
    for (const k of ['name', 'dosage', 'frequency']) if (!body[k]) fields[k] = 'required';
    const max = Number(v('max_doses_per_day'));
    if (!Number.isInteger(max) || max < 1 || max > 20) fields.max_doses_per_day = 'between 1 and 20';
    body.max_doses_per_day = max;
    const instr = v('instructions');
    body.instructions = instr || null;
    if (Object.keys(fields).length) {
        const names = { name: 'a name', dosage: 'a dosage', frequency: 'a frequency', max_doses_per_day: 'a maximum between 1 and 20' };
        const err = new Error(`Please enter ${Object.keys(fields).map((k) => names[k]).join(', ')}.`);
        err.fields = fields;
        throw err;
    }
    return body;
}

async function submitMed(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.disabled) return;
    let body;
    try {
        body = medPayload(form);
    } catch (e) {
        showFormErrors(form, e);
        const first = form.querySelector('[aria-invalid=true]');
        if (first) first.focus();
        return;
    }
    submit.disabled = true;
    try {
        if (editingMed) {
            await api.updateMedication(editingMed.id, body);
            announce(`${body.name} was saved.`);
        } else {
            if (!body.instructions) delete body.instructions;
            await api.createMedication({ person_id: state.personId, ...body });
            announce(`${body.name} was added.`);
        }
        $('#med-dialog').close();
        await actions.refresh({ persons: true });
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        submit.disabled = false;
    }
}

async function removeMedication(med) {
    const ok = await confirmDialog(
        `Delete ${med.name}?`,
        `${med.name} will no longer be shown. Its recorded doses are kept and stay visible under “Previously recorded medications”.`,
        'Delete medication',
    );
    if (!ok) return;
    try {
        await api.deleteMedication(med.id);
        rememberDeleted(med.person_id, med.name);
        undos.delete(med.id);
        announce(`${med.name} was deleted. Its dose history is kept.`);
    } catch (e) {
        announce(`Could not delete ${med.name}: ${e.message}`, 'error');
    }
    await actions.refresh({ persons: true });
    $('#meds-heading').focus();
}

export function initMeds() {
    $('#add-med').addEventListener('click', () => openMedForm(null));
    $('#med-form').addEventListener('submit', submitMed);
    $('#med-dialog [data-close]').addEventListener('click', () => $('#med-dialog').close());
    $('#meds-heading').setAttribute('tabindex', '-1');
}
