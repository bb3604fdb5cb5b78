// The audit history dialog (administrators only; GET /api/v1/audit, see
// docs/audit.md): the changes to one dose or one medication, newest first,
// each with its time, who made it, what was done, and the fields it changed
// as "before → after" in words, 100 at a time.

import * as api from './api.js';
import { $, h, openDialog } from './dom.js';
import { fmtAmount, fmtMinutes, ingredientsText, RULE_NAMES } from './dosing.js';
import { fmtInstant } from './time.js';

const PAGE = 100;
let filter = null; // the query of the open dialog
let shown = 0;

const ACTIONS = {
    create: 'Created',
    update: 'Changed',
    delete: 'Deleted',
    set_default: 'Made the default',
    record: 'Dose recorded',
    override: 'Dose recorded despite a rule',
    skip: 'Dose recorded as skipped',
    correct: 'Dose corrected',
    entered_in_error: 'Marked as entered in error',
};

// Field names in words; fields not named here are not shown (ids, hashes).
const FIELDS = {
    name: 'Name',
    first_name: 'First name',
    last_name: 'Last name',
    date_of_birth: 'Date of birth',
    notes: 'Notes',
    is_default: 'Default person',
    dosage: 'Dosage',
    frequency: 'Frequency',
    max_doses_per_day: 'Maximum doses',
    instructions: 'Instructions',
    limit_window: 'Maximum counts',
    min_interval_minutes: 'Minimum time between doses',
    dose_amount: 'Amount per dose',
    dose_unit: 'Unit',
    ingredients: 'Ingredients',
    medication_name: 'Medication',
    taken_at: 'Time',
    status: 'Status',
    status_reason: 'Reason',
    note: 'Note',
    recorded_by: 'Recorded by',
    override_rule: 'Rule overridden',
    override_reason: 'Reason for the override',
    max_per_24h: 'Maximum per 24 hours',
    unit: 'Unit',
};

const STATUS = { taken: 'taken', skipped: 'skipped', entered_in_error: 'entered in error' };

/** One field's value in words. */
function valueText(field, v) {
    if (v === null || v === undefined || v === '') return 'none';
    switch (field) {
        case 'taken_at':
            return fmtInstant(v) || String(v);
        case 'limit_window':
            return v === 'rolling_24h' ? 'in any 24 hours' : 'per calendar day';
        case 'min_interval_minutes':
            return fmtMinutes(v);
        case 'ingredients':
            return Array.isArray(v) && v.length ? ingredientsText(v) : 'none';
        case 'status':
            return STATUS[v] || String(v);
        case 'override_rule':
            return String(v).split(',').map((r) => RULE_NAMES[r] || r).join(', ');
        case 'is_default':
            return v ? 'yes' : 'no';
        case 'dose_amount':
        case 'max_per_24h':
            return fmtAmount(v);
        default:
            return typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
}

/** The lines of one entry: the changed fields of an update, the values of
 *  a creation or a deletion. */
function changeLines(e) {
    const before = e.before && typeof e.before === 'object' ? e.before : null;
    const after = e.after && typeof e.after === 'object' ? e.after : null;
    const lines = [];
    const keys = Object.keys(FIELDS).filter((k) => (before && k in before) || (after && k in after));
    for (const k of keys) {
        const b = before ? before[k] : undefined;
        const a = after ? after[k] : undefined;
        if (before && after) {
            if (JSON.stringify(b) === JSON.stringify(a)) continue;
            lines.push({ field: FIELDS[k], text: `${valueText(k, b)} → ${valueText(k, a)}`, from: valueText(k, b), to: valueText(k, a) });
        } else {
            const v = after ? a : b;
            if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) continue;
            lines.push({ field: FIELDS[k], text: valueText(k, v) });
        }
    }
    return lines;
}

function entryItem(e) {
    const lines = changeLines(e);
    const what = `${ACTIONS[e.action] || e.action}${e.entity && !/^Dose/.test(ACTIONS[e.action] || '') ? ` (${e.entity.replace(/_/g, ' ')})` : ''}`;
    return h(
        'li',
        { class: 'audit-row', dataset: { seq: e.seq, action: e.action } },
        h(
            'p',
            { class: 'audit-head' },
            h('time', { datetime: e.created_at }, fmtInstant(e.created_at) || e.created_at),
            ' · ',
            h('strong', { class: 'audit-action' }, what),
            ' · by ',
            h('span', { class: 'audit-actor' }, e.actor || 'unknown'),
        ),
        lines.length
            ? h(
                  'ul',
                  { class: 'audit-changes' },
                  lines.map((l) =>
                      h('li', {}, h('span', { class: 'audit-field' }, `${l.field}: `), l.from !== undefined ? `${l.from} → ${l.to}` : l.text),
                  ),
              )
            : null,
    );
}

async function loadPage() {
    const list = $('#audit-list');
    const more = $('#audit-more');
    const err = $('#audit-error');
    more.disabled = true;
    try {
        const rows = (await api.auditTrail({ ...filter, skip: shown, limit: PAGE })) || [];
        list.append(...rows.map(entryItem));
        shown += rows.length;
        more.hidden = rows.length < PAGE;
        $('#audit-note').textContent = shown
            ? `${shown} ${shown === 1 ? 'change' : 'changes'}${more.hidden ? '' : ' so far'}, newest first. Times are in your time zone.`
            : 'No changes are recorded (the history starts when the server was upgraded to keep one).';
        err.hidden = true;
    } catch (e) {
        err.textContent = e.status === 403 ? 'Only administrators can see the audit history.' : e.message;
        err.hidden = false;
    } finally {
        more.disabled = false;
    }
}

/** Opens the audit history of what `q` names ({entity, entity_id} or {person_id}). */
export function openAudit(q, title) {
    filter = q;
    shown = 0;
    $('#audit-title').textContent = title;
    $('#audit-list').replaceChildren();
    $('#audit-note').textContent = 'Loading…';
    $('#audit-more').hidden = true;
    $('#audit-error').hidden = true;
    openDialog($('#audit-dialog'), 'button[value=close]');
    loadPage();
}

export function initAudit() {
    $('#audit-more').addEventListener('click', () => loadPage());
}
