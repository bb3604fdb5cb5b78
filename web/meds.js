// Medication cards of the selected person and day: dosage, frequency,
// instructions, "X of Y taken", the last dose, a one-tap "Take now" that
// records one dose per tap (busy from the tap until the card shows the new
// count, the second click of a double tap ignored, disabled at the daily
// maximum), recording at a chosen time (never in the future), an undo for a
// just recorded dose, and add / edit / delete of medications. Recording is
// offered only to roles that may record doses, editing only to roles that may
// manage medications (state.can). The dosing rules (docs/dosing.md): each
// card says when the next dose is allowed and why, a refusal by a rule is
// shown on its card with "Record anyway" (a reason is required) for the
// roles that may override, a dose can be recorded as skipped with a reason,
// every tap sends its own Idempotency-Key, and the editor sets the rules and
// the active ingredients. The editor also sets the medication's schedule
// (schedule.js), which the card states in words.

import * as api from './api.js';
import { $, announce, confirmDialog, h, openDialog, showFormErrors, srOnly } from './dom.js';
import { askReason, blockedReason, fmtAmount, hasRules, isRuleRefusal, nextDose, rulesText } from './dosing.js';
import { openMedicationHistory } from './history.js';
import { rememberDeleted } from './deleted.js';
import { fillSchedule, readSchedule, scheduleText } from './schedule.js';
import { actions, isToday, selectedPerson, state } from './state.js';
import { fmtDay, fmtTime, hhmmOf, parseInstant, relativeDay, today } from './time.js';

const UNDO_MS = 30000;
// The most ingredient rows the server takes per medication.
const MAX_INGREDIENTS = 20;

const cards = new Map(); // medication id -> MedCard
// Medication ids with a dose being recorded: from the tap until the reload
// after the answer has been drawn. Kept by id, not on the card, so that a card
// drawn anew meanwhile (e.g. after switching persons and back) is busy too.
const recording = new Set();
const undos = new Map(); // medication id -> { doseId, when: Date, timer }
// Medication id -> { detail, rule, retry(rec) } of the last refusal by a
// dosing rule, shown on the card until a dose is recorded or it is dismissed.
const refusals = new Map();
let editingMed = null;   // medication being edited, null = new
let nextTimer = 0;       // reloads when the earliest next_allowed_at comes

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
        this.rulesEl = h('p', { class: 'med-rules', hidden: true });
        this.scheduleEl = h('p', { class: 'med-schedule', hidden: true });
        this.nextEl = h('p', { class: 'med-next', hidden: true });
        this.refusalEl = h('div', { class: 'med-refusal', hidden: true });
        this.overrideBtn = h('button', { type: 'button', class: 'btn btn-override', onclick: () => this.overrideNow() }, 'Record anyway…');
        this.overrideLabel = srOnly('');
        this.overrideBtn.append(this.overrideLabel);

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
        this.skipBtn = h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.skip() }, 'Skip…');
        this.skipLabel = srOnly('');
        this.skipBtn.append(this.skipLabel);
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
                this.rulesEl,
                this.scheduleEl,
                this.meter,
                this.countEl,
                this.lastEl,
                this.limitEl,
                this.nextEl,
                this.refusalEl,
                this.primary,
                this.undoSlot,
                h('div', { class: 'med-secondary' }, this.historyBtn, this.skipBtn, this.editBtn, this.deleteBtn),
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
        const rolling = med.limit_window === 'rolling_24h';
        this.limitEl.textContent = !full ? '' : rolling ? `Maximum of ${max} in any 24 hours reached.` : `Daily maximum of ${max} reached.`;
        const rules = hasRules(med) ? rulesText(med) : [];
        this.rulesEl.hidden = rules.length === 0;
        this.rulesEl.textContent = rules.length ? `Rules: ${rules.join(' · ')}.` : '';
        const sched = scheduleText(med.schedule);
        this.scheduleEl.hidden = !sched;
        this.scheduleEl.textContent = sched ? `${sched}.` : '';
        // When the next dose is allowed (and why) is about now: shown for today.
        const next = onToday ? nextDose(med) : null;
        this.nextEl.hidden = !next;
        this.nextEl.replaceChildren();
        if (next) {
            this.nextEl.append(h('strong', { class: 'next-when' }, `${next.text}.`));
            // The reached daily maximum already says why in the line above.
            const said = full && med.blocked_by === 'window_full';
            if (!said) this.nextEl.append(' ', h('span', { class: 'next-why' }, `Why: ${next.reason}.`));
        }
        // Blocked now: the server's verdict when it sent one, else the
        // reference's daily maximum.
        const blocked = onToday && ('blocked_by' in med ? !!med.blocked_by : full);
        // A day's form is closed at a calendar-day maximum only; other rules
        // depend on the time, which the server checks.
        const dayFull = full && !rolling;
        this.renderRefusal();

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
        this.skipBtn.hidden = !state.can.record;
        this.skipBtn.disabled = offline;
        this.skipLabel.textContent = ` a dose of ${med.name}`;
        this.overrideLabel.textContent = ` a dose of ${med.name}`;

        // In flight: aria-disabled (focus stays on the button); taps are ignored via `recording`.
        this.takeBtn.disabled = (onToday ? blocked : full) || offline;
        this.recordBtn.disabled = dayFull || offline;
        this.setBusy(recording.has(this.id));
        this.timeInput.disabled = dayFull || offline;
        this.timeInput.max = onToday ? hhmmOf(new Date()) : '';

        // Today: "Take now" plus an optional earlier time; other days: a time.
        // Nothing for a role that only reads.
        this.primary.hidden = !state.can.record;
        if (!state.can.record) {
            this.primary.replaceChildren();
        } else if (onToday) {
            if (this.recordForm.parentNode !== this.recordDetails) this.recordDetails.append(this.recordForm);
            // Blocked now: those who may override are offered it beside the
            // disabled button (the reason is asked for in a dialog).
            const offer = blocked && state.can.override;
            this.overrideBtn.disabled = offline;
            this.primary.replaceChildren(this.takeBtn, offer ? this.overrideBtn : '', this.recordDetails);
        } else {
            this.primary.replaceChildren(this.recordForm);
        }
        this.renderUndo();
        if (hadFocus && this.takeBtn.disabled) this.countEl.focus();
    }

    /** The last refusal by a dosing rule, with "Record anyway" for those who may. */
    renderRefusal() {
        const r = refusals.get(this.id);
        if (!r || !state.can.record) {
            this.refusalEl.hidden = true;
            this.refusalEl.replaceChildren();
            return;
        }
        this.refusalEl.hidden = false;
        this.refusalEl.replaceChildren(
            h('p', { class: 'refusal-title' }, h('strong', {}, 'Not recorded. '), r.detail),
            h(
                'div',
                { class: 'refusal-actions' },
                state.can.override &&
                    h('button', { type: 'button', class: 'btn btn-small btn-override', disabled: !state.online, onclick: () => this.overrideRefused() }, 'Record anyway…', srOnly(` the refused dose of ${this.med.name}`)),
                h('button', { type: 'button', class: 'btn btn-small btn-quiet', onclick: () => this.dismissRefusal() }, 'Dismiss', srOnly(` the message about ${this.med.name}`)),
            ),
        );
    }

    dismissRefusal() {
        refusals.delete(this.id);
        this.renderRefusal();
        (this.takeBtn.isConnected && !this.takeBtn.disabled ? this.takeBtn : this.heading).focus();
    }

    /**
     * Runs one tap's recording: `send(med, rec)` with a fresh Idempotency-Key
     * in rec.key (the API layer reuses it for its automatic retries). A
     * refusal by a dosing rule is kept for the card, with `retry` able to send
     * the same request again as an override.
     */
    async recordTap(send, describe) {
        // The failure is thrown only after the reload (which recordOnce does
        // after a successful send), so a refused card shows its new state.
        let failure = null;
        await this.recordOnce(async (med) => {
            try {
                const dose = await send(med, { key: api.newIdempotencyKey() });
                refusals.delete(med.id);
                offerUndo(med, dose);
                announce(describe(dose));
            } catch (e) {
                if (isRuleRefusal(e)) {
                    refusals.set(med.id, { detail: e.message, rule: (e.body && e.body.rule) || 'window_full', send, describe });
                }
                failure = e;
            }
        });
        if (failure) throw failure;
    }

    /** "Record anyway" after a refusal: the same request with override=true. */
    async overrideRefused() {
        const r = refusals.get(this.id);
        if (!r) return;
        await this.askOverride(r.detail, (med, rec) => r.send(med, rec), r.describe);
    }

    /** "Record anyway" of a medication that is blocked now: a dose now. */
    async overrideNow() {
        const med = this.med;
        const next = nextDose(med);
        const why = next
            ? `${next.text}. Why: ${next.reason}.`
            : `Not allowed now: ${blockedReason(med, med.blocked_by || 'window_full')}.`;
        await this.askOverride(why, (m, rec) => api.takeDoseNow(m.id, rec), (dose) => `${med.name} taken at ${fmtTime(parseInstant(dose.taken_at) || new Date())} despite a dosing rule.`);
    }

    async askOverride(why, send, describe) {
        const med = this.med;
        const ok = await askReason({
            title: `Record ${med.name} anyway?`,
            message: `${why} The dose is stored with your reason and marked as given despite a rule.`,
            label: 'Reason (required)',
            action: 'Record anyway',
            submit: async (reason) => {
                // One confirmed override is one tap: its own key.
                const dose = await send(med, { key: api.newIdempotencyKey(), override: true, reason });
                refusals.delete(med.id);
                offerUndo(med, dose);
                announce(describe(dose));
            },
        });
        if (ok) {
            await actions.refresh();
            const c = cards.get(this.id) || this;
            c.heading.focus();
        }
    }

    /** Records a skipped dose of the shown day with a reason. */
    async skip() {
        const med = this.med;
        const day = state.day;
        const now = today();
        const ok = await askReason({
            title: `Skip a dose of ${med.name}`,
            message: 'A skipped dose counts as not taken and is shown in the history with its reason.',
            label: 'Reason (required)',
            action: 'Record skipped dose',
            time: day === now ? hhmmOf(new Date()) : '08:00',
            submit: async (reason, hhmm) => {
                const [y, m, d] = day.split('-').map(Number);
                const [hh, mm] = hhmm.split(':').map(Number);
                const at = new Date(y, m - 1, d, hh, mm);
                if (at.getTime() > Date.now()) throw new Error('A dose cannot be skipped in the future.');
                await api.skipDose(med.id, reason, at.toISOString(), api.newIdempotencyKey());
                announce(`A skipped dose of ${med.name} at ${hhmm} ${relativeDay(day, now)} was recorded.`);
            },
        });
        if (ok) await actions.refresh();
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
        try {
            await this.recordTap(
                (med, rec) => api.takeDoseNow(med.id, rec),
                (dose) => `${this.med.name} taken at ${fmtTime(parseInstant(dose.taken_at) || new Date())}.`,
            );
        } catch (e) {
            announce(e.unreachable ? 'Not recorded: the server cannot be reached.' : `Not recorded: ${e.message}`, 'error');
        }
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
        try {
            await this.recordTap(
                (med, rec) => api.recordDoseAt(med.id, day, hhmm, rec),
                () => `${this.med.name} recorded at ${hhmm} ${relativeDay(day, now)}.`,
            );
            if (day === now) this.recordDetails.open = false;
        } catch (e) {
            // A refusal by a rule is shown on the card (with Record anyway).
            if (!isRuleRefusal(e)) err(e.message);
            announce(`Not recorded: ${e.message}`, 'error');
        }
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
    $('#open-limits').disabled = !state.online || !p;
    $('#open-limits').hidden = !p;
    scheduleNextAllowed();
}

/** Reloads when the earliest next_allowed_at of today's cards comes, so a
 *  button blocked by the interval opens at that time without a tap. */
function scheduleNextAllowed() {
    clearTimeout(nextTimer);
    if (!isToday()) return;
    const times = state.meds.map((m) => parseInstant(m.next_allowed_at)).filter(Boolean).map((d) => d.getTime());
    if (!times.length) return;
    const ms = Math.min(...times) - Date.now() + 1000;
    // Timers beyond a day are not kept (the midnight roll-over reloads
    // anyway); at least 5 s apart, so a browser clock behind the server's
    // cannot make it reload in a tight loop while the server still says no.
    if (ms > 0 && ms < 86400000) nextTimer = setTimeout(() => actions.refresh(), Math.max(ms, 5000));
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
        form.elements.limit_window.value = med.limit_window === 'rolling_24h' ? 'rolling_24h' : 'calendar_day';
        form.elements.min_interval_minutes.value = med.min_interval_minutes ?? '';
        form.elements.dose_amount.value = med.dose_amount != null ? fmtAmount(med.dose_amount) : '';
        form.elements.dose_unit.value = med.dose_unit || '';
    } else {
        form.elements.max_doses_per_day.value = 1;
    }
    setIngredientRows((med && med.ingredients) || []);
    const p = selectedPerson();
    const zone = p && p.timezone ? p.timezone : 'the server’s time zone (the person has none set)';
    fillSchedule(med ? med.schedule : null, p && p.timezone ? `${p.timezone}, the person’s time zone` : zone);
    // The rules are open when the medication has any.
    $('#med-rules').open = !!(med && hasRules(med));
    openDialog($('#med-dialog'), '#med-name');
}

let ingredientSeq = 0;

/** One row of the ingredient list: name, amount, unit and Remove. */
function ingredientRow(ing) {
    const n = ++ingredientSeq;
    const id = (f) => `ing-${n}-${f}`;
    const input = (f, attrs) => h('input', { id: id(f), name: `ing_${f}`, autocomplete: 'off', ...attrs });
    const row = h(
        'li',
        { class: 'ingredient-row' },
        h('div', { class: 'field' }, h('label', { for: id('name') }, 'Ingredient'), input('name', { value: ing.name || '' })),
        h('div', { class: 'field field-amount' }, h('label', { for: id('amount') }, 'Amount'), input('amount', { type: 'number', min: '0', step: 'any', inputmode: 'decimal', value: ing.amount != null ? fmtAmount(ing.amount) : '' })),
        h('div', { class: 'field field-unit' }, h('label', { for: id('unit') }, 'Unit'), input('unit', { maxlength: '32', value: ing.unit || '' })),
    );
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => removeIngredient(row) }, 'Remove', srOnly(''));
    row.append(remove);
    return row;
}

/** Names each row's Remove button after its ingredient for screen readers. */
function labelIngredientRows() {
    const rows = [...$('#med-ingredients').children];
    rows.forEach((row, i) => {
        const name = row.querySelector('[name=ing_name]').value.trim();
        row.querySelector('button .visually-hidden').textContent = ` ingredient ${i + 1}${name ? ` (${name})` : ''}`;
    });
    $('#add-ingredient').disabled = rows.length >= MAX_INGREDIENTS;
}

function setIngredientRows(list) {
    $('#med-ingredients').replaceChildren(...list.map(ingredientRow));
    labelIngredientRows();
}

function addIngredient() {
    const row = ingredientRow({});
    $('#med-ingredients').append(row);
    labelIngredientRows();
    row.querySelector('input').focus();
}

function removeIngredient(row) {
    const list = $('#med-ingredients');
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    labelIngredientRows();
    // Focus stays in the list (the next row's name), else on Add ingredient.
    (next ? next.querySelector('input') : $('#add-ingredient')).focus();
    if (!list.children.length) announce('No ingredients left.');
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
    // The dosing rules (docs/dosing.md): empty fields mean no rule.
    body.limit_window = v('limit_window') === 'rolling_24h' ? 'rolling_24h' : 'calendar_day';
    const interval = v('min_interval_minutes');
    body.min_interval_minutes = null;
    if (interval) {
        const n = Number(interval);
        if (!Number.isInteger(n) || n < 1 || n > 10080) fields.min_interval_minutes = 'between 1 and 10080';
        else body.min_interval_minutes = n;
    }
    const amount = v('dose_amount');
    const unit = v('dose_unit');
    body.dose_amount = null;
    body.dose_unit = null;
    if (amount || unit) {
        const n = Number(amount);
        if (!amount || !Number.isFinite(n) || n <= 0) fields.dose_amount = 'a positive amount';
        if (!unit) fields.dose_unit = 'a unit';
        body.dose_amount = n;
        body.dose_unit = unit;
    }
    const ingredients = [];
    let badRow = false;
    for (const row of form.querySelectorAll('.ingredient-row')) {
        const get = (f) => row.querySelector(`[name=ing_${f}]`);
        const ing = { name: get('name').value.trim(), amount: get('amount').value.trim(), unit: get('unit').value.trim() };
        // A row left wholly empty is ignored, not an error.
        if (!ing.name && !ing.amount && !ing.unit) continue;
        const n = Number(ing.amount);
        const bad = { name: !ing.name, amount: !ing.amount || !Number.isFinite(n) || n <= 0, unit: !ing.unit };
        for (const f of ['name', 'amount', 'unit']) {
            if (bad[f]) get(f).setAttribute('aria-invalid', 'true');
            else get(f).removeAttribute('aria-invalid');
        }
        if (bad.name || bad.amount || bad.unit) badRow = true;
        ingredients.push({ name: ing.name, amount: n, unit: ing.unit });
    }
    body.ingredients = ingredients;
    // The schedule (null: as needed); its own message when it is incomplete.
    let scheduleError = null;
    try {
        body.schedule = readSchedule(form).schedule;
    } catch (e) {
        scheduleError = e;
    }
    if (Object.keys(fields).length || badRow || scheduleError) {
        const names = {
            name: 'a name',
            dosage: 'a dosage',
            frequency: 'a frequency',
            max_doses_per_day: 'a maximum between 1 and 20',
            min_interval_minutes: 'a minimum time between 1 and 10080 minutes',
            dose_amount: 'a positive amount per dose',
            dose_unit: 'the unit of the amount per dose',
        };
        const wants = Object.keys(fields).map((k) => names[k]);
        if (badRow) wants.push('a name, a positive amount and a unit for each ingredient');
        const err = new Error([wants.length ? `Please enter ${wants.join(', ')}.` : '', scheduleError ? scheduleError.message : ''].filter(Boolean).join(' '));
        err.fields = fields;
        err.scheduleMarks = scheduleError ? scheduleError.scheduleMarks : [];
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
        // showFormErrors clears every mark; the ingredient rows mark their own.
        const rowMarks = [...form.querySelectorAll('.ingredient-row [aria-invalid]'), ...(e.scheduleMarks || [])];
        showFormErrors(form, e);
        for (const el of rowMarks) el.setAttribute('aria-invalid', 'true');
        const first = form.querySelector('[aria-invalid=true]');
        if (first) {
            if (first.closest('#med-rules')) $('#med-rules').open = true;
            first.focus();
        }
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
        // A server's complaint about a rule field opens the rules.
        if (Object.keys(e.fields || {}).some((f) => /^(limit_window|min_interval_minutes|dose_|ingredients)/.test(f))) $('#med-rules').open = true;
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
    $('#add-ingredient').addEventListener('click', addIngredient);
    $('#med-ingredients').addEventListener('input', (ev) => {
        if (ev.target.name === 'ing_name') labelIngredientRows();
    });
    $('#meds-heading').setAttribute('tabindex', '-1');
}
