// People of the household: the person picker in the header (default person
// first), the "People" dialog (add, edit, set default, delete, with the
// server's rules shown as its messages; administrators only), and the
// first-run welcome form. A person's time zone (IANA name; schedules and
// reminders follow it) is offered the browser's zone as the suggestion.

import * as api from './api.js';
import { $, announce, confirmDialog, h, openDialog, showFormErrors, srOnly } from './dom.js';
import { browserZone, currentZoneName } from './due.js';
import { actions, personName, state } from './state.js';

let editingId = null; // person being edited in the person dialog, null = new

/** Persons with the default one first, otherwise in the server's order. */
export function orderedPersons() {
    const def = state.persons.filter((p) => p.is_default);
    return def.concat(state.persons.filter((p) => !p.is_default));
}

// Lists are rebuilt only when what they show changed, so a periodic refresh
// never pulls focus away from a button the user is on.
let pickerKey = '';
let listKey = '';

export function renderPersonPicker() {
    const picker = $('#person-picker');
    const select = $('#person-select');
    picker.hidden = state.persons.length === 0;
    $('#manage-persons').disabled = !state.online;
    $('#manage-persons').hidden = !state.can.admin;
    const key = JSON.stringify([orderedPersons().map((p) => [p.id, personName(p)]), state.personId]);
    if (key === pickerKey) return;
    pickerKey = key;
    select.replaceChildren(
        ...orderedPersons().map((p) =>
            h('option', { value: p.id, selected: p.id === state.personId }, personName(p)),
        ),
    );
    if (state.personId !== null) select.value = String(state.personId);
}

function medsLabel(n) {
    return n === 1 ? '1 medication' : `${n} medications`;
}

export function renderPersonsList() {
    const list = $('#persons-list');
    const offline = !state.online;
    const key = JSON.stringify([orderedPersons().map((p) => [p.id, personName(p), p.is_default, p.medication_count, p.timezone]), offline]);
    if (key === listKey && list.children.length) return;
    listKey = key;
    list.replaceChildren(
        ...orderedPersons().map((p) => {
            const name = personName(p);
            return h(
                'li',
                { class: 'person-row', dataset: { personId: p.id } },
                h(
                    'div',
                    { class: 'person-info' },
                    h('span', { class: 'person-name' }, name),
                    p.is_default ? h('span', { class: 'badge' }, 'Default') : null,
                    h('span', { class: 'muted' }, medsLabel(p.medication_count ?? 0)),
                    p.timezone ? h('span', { class: 'muted person-zone' }, p.timezone) : null,
                ),
                h(
                    'div',
                    { class: 'row-actions' },
                    h('button', { type: 'button', class: 'btn btn-small', disabled: offline, onclick: () => openPersonForm(p) }, 'Edit', srOnly(` ${name}`)),
                    p.is_default
                        ? null
                        : h('button', { type: 'button', class: 'btn btn-small', disabled: offline, onclick: () => makeDefault(p) }, 'Make default', srOnly(` (${name})`)),
                    h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', disabled: offline, onclick: () => removePerson(p) }, 'Delete', srOnly(` ${name}`)),
                ),
            );
        }),
    );
}

/** Puts focus back on a person's row after the list was rebuilt. */
function focusPersonRow(id) {
    const btn = document.querySelector(`#persons-list [data-person-id="${id}"] button`);
    if (btn) btn.focus();
    else $('#add-person').focus();
}

function personsError(msg) {
    const box = $('#persons-error');
    box.textContent = msg || '';
    box.hidden = !msg;
}

async function makeDefault(p) {
    personsError('');
    try {
        await api.setDefaultPerson(p.id);
        announce(`${personName(p)} is now the default person.`);
        await actions.refresh({ persons: true });
        renderPersonsList();
        focusPersonRow(p.id);
    } catch (e) {
        personsError(e.message);
    }
}

async function removePerson(p) {
    personsError('');
    const name = personName(p);
    const n = p.medication_count ?? 0;
    const ok = await confirmDialog(
        `Delete ${name}?`,
        `${name} and ${medsLabel(n)} with all their recorded doses will be removed. This cannot be undone.`,
        'Delete person',
    );
    if (!ok) return;
    try {
        await api.deletePerson(p.id);
        announce(`${name} was deleted.`);
        if (state.personId === p.id) state.personId = null;
        await actions.refresh({ persons: true });
        renderPersonsList();
        $('#add-person').focus();
    } catch (e) {
        personsError(e.message);
        announce(e.message, 'error');
    }
}

function openPersonForm(p) {
    const dialog = $('#person-dialog');
    const form = $('#person-form');
    editingId = p ? p.id : null;
    $('#person-title').textContent = p ? `Edit ${personName(p)}` : 'Add person';
    form.reset();
    showFormErrors(form, null);
    if (p) {
        form.elements.first_name.value = p.first_name || '';
        form.elements.last_name.value = p.last_name || '';
        form.elements.date_of_birth.value = p.date_of_birth || '';
        form.elements.notes.value = p.notes || '';
    }
    // A new person starts in this device's zone; a person without one
    // follows the server's until one is set.
    const own = browserZone();
    form.elements.timezone.value = p ? p.timezone || '' : own;
    $('#person-tz-hint').textContent = `An IANA name such as Europe/Berlin; schedules and reminders follow it. Empty: the server’s zone.${own ? ` This device is in ${own}.` : ''}`;
    $('#person-tz-use').hidden = !own;
    $('#person-tz-use').replaceChildren(`Use this device’s zone`, srOnly(own ? ` (${own})` : ''));
    fillZoneList();
    openDialog(dialog, '#person-first');
}

/** Reads a person form; throws a message when the first name is missing. */
function personPayload(form, forUpdate) {
    const get = (n) => (form.elements[n] ? form.elements[n].value.trim() : '');
    const first = get('first_name');
    if (!first) {
        const err = new Error('Please enter a first name.');
        err.fields = { first_name: 'required' };
        throw err;
    }
    const body = { first_name: first };
    for (const k of ['last_name', 'date_of_birth', 'notes', 'timezone']) {
        if (!form.elements[k]) continue;
        const v = get(k);
        if (v) body[k] = v;
        else if (forUpdate) body[k] = null;
    }
    return body;
}

async function submitPerson(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.disabled) return;
    let body;
    try {
        body = personPayload(form, editingId !== null);
    } catch (e) {
        showFormErrors(form, e);
        form.elements.first_name.focus();
        return;
    }
    submit.disabled = true;
    try {
        if (editingId !== null) {
            await api.updatePerson(editingId, body);
            announce(`${body.first_name} was saved.`);
        } else {
            const created = await api.createPerson(body);
            state.personId = created.id;
            announce(`${personName(created)} was added and is now shown.`);
        }
        $('#person-dialog').close();
        await actions.refresh({ persons: true });
        if ($('#persons-dialog').open) {
            renderPersonsList();
            focusPersonRow(editingId !== null ? editingId : state.personId);
        }
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        submit.disabled = false;
    }
}

async function submitWelcome(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.disabled) return;
    let body;
    try {
        body = personPayload(form, false);
    } catch (e) {
        showFormErrors(form, e);
        form.elements.first_name.focus();
        return;
    }
    submit.disabled = true;
    try {
        const created = await api.createPerson(body);
        state.personId = created.id;
        form.reset();
        showFormErrors(form, null);
        announce(`${personName(created)} was added. Now add a medication.`);
        await actions.refresh({ persons: true });
        $('#add-med').focus();
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        submit.disabled = false;
    }
}

/** The zones the browser knows, as suggestions for the time-zone field (once). */
function fillZoneList() {
    const list = $('#tz-list');
    if (list.children.length || typeof Intl.supportedValuesOf !== 'function') return;
    let zones = [];
    try {
        zones = Intl.supportedValuesOf('timeZone');
    } catch (e) {
        zones = [];
    }
    const names = [...new Set(zones.map(currentZoneName))].sort();
    list.replaceChildren(...names.map((z) => h('option', { value: z })));
}

export function initPersons() {
    $('#person-tz-use').addEventListener('click', () => {
        const input = $('#person-tz');
        input.value = browserZone();
        input.focus();
    });
    $('#person-select').addEventListener('change', (ev) => actions.selectPerson(Number(ev.target.value)));
    $('#manage-persons').addEventListener('click', () => {
        personsError('');
        renderPersonsList();
        openDialog($('#persons-dialog'), '#add-person');
    });
    $('#add-person').addEventListener('click', () => openPersonForm(null));
    $('#person-form').addEventListener('submit', submitPerson);
    $('#person-dialog [data-close]').addEventListener('click', () => $('#person-dialog').close());
    $('#welcome-form').addEventListener('submit', submitWelcome);
}
