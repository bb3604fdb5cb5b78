// The ingredient limits of the selected person (docs/dosing.md, "Ingredient
// limits across medications"): the most of an active ingredient they may
// take in any 24 hours across all their medications. Everyone who sees the
// person sees the limits; the roles that manage medications add, replace
// and delete them.

import * as api from './api.js';
import { $, announce, confirmDialog, h, openDialog, showFormErrors, srOnly } from './dom.js';
import { fmtAmount } from './dosing.js';
import { actions, personName, selectedPerson, state } from './state.js';

let personId = null; // the person of the open dialog

function setError(msg) {
    const box = $('#limits-error');
    box.textContent = msg || '';
    box.hidden = !msg;
}

function render(limits) {
    const list = $('#limits-list');
    if (!limits.length) {
        list.replaceChildren(h('li', { class: 'empty' }, 'No ingredient limits yet.'));
        return;
    }
    list.replaceChildren(
        ...limits.map((l) => {
            const text = `${l.name}: at most ${fmtAmount(l.max_per_24h)} ${l.unit} in 24 hours`;
            return h(
                'li',
                { class: 'row limit-row', dataset: { limitId: l.id } },
                h('span', { class: 'row-title' }, text),
                state.can.manage &&
                    h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', disabled: !state.online, onclick: () => remove(l) }, 'Delete', srOnly(` the limit of ${l.name}`)),
            );
        }),
    );
}

async function load() {
    setError('');
    try {
        render((await api.listLimits(personId)) || []);
    } catch (e) {
        $('#limits-list').replaceChildren();
        setError(e.message);
    }
}

async function remove(l) {
    const ok = await confirmDialog(`Delete the limit of ${l.name}?`, `Doses containing ${l.name} will no longer be limited for this person.`, 'Delete limit');
    if (!ok) return;
    try {
        await api.deleteLimit(personId, l.id);
        announce(`The limit of ${l.name} was deleted.`);
    } catch (e) {
        setError(e.message);
        return;
    }
    await load();
    $('#limit-name').focus();
    await actions.refresh();
}

async function submit(ev) {
    ev.preventDefault();
    const form = ev.target;
    const btn = form.querySelector('[type=submit]');
    if (btn.disabled) return;
    const name = form.elements.name.value.trim();
    const max = Number(form.elements.max_per_24h.value);
    const unit = form.elements.unit.value.trim();
    const fields = {};
    if (!name) fields.name = 'required';
    if (!form.elements.max_per_24h.value || !Number.isFinite(max) || max <= 0) fields.max_per_24h = 'positive';
    if (!unit) fields.unit = 'required';
    if (Object.keys(fields).length) {
        showFormErrors(form, Object.assign(new Error('Please enter the ingredient, a positive maximum and its unit.'), { fields }));
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    btn.disabled = true;
    try {
        await api.setLimit(personId, { name, max_per_24h: max, unit });
        showFormErrors(form, null);
        form.reset();
        announce(`The limit of ${name} was saved.`);
        await load();
        await actions.refresh();
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        btn.disabled = false;
    }
}

function openLimits() {
    const p = selectedPerson();
    if (!p) return;
    personId = p.id;
    $('#limits-title').textContent = `Ingredient limits of ${personName(p)}`;
    $('#limit-form').hidden = !state.can.manage;
    $('#limit-form').reset();
    showFormErrors($('#limit-form'), null);
    $('#limits-list').replaceChildren(h('li', { class: 'muted' }, 'Loading…'));
    openDialog($('#limits-dialog'), state.can.manage ? '#limit-name' : 'button[value=close]');
    load();
}

export function initLimits() {
    $('#open-limits').addEventListener('click', openLimits);
    $('#limit-form').addEventListener('submit', submit);
}
