// The administrators' "Accounts" page: every account with its role, state
// and the persons it may see; add an account (username, display name, role,
// password, own person, granted persons), edit one (role, enabled, grants,
// display name, own person), set a new password, delete one; and every
// account's API tokens, each revocable.

import * as api from './api.js';
import { PASSWORD_MIN, formError, passwordProblem, roleName, setAccount } from './auth.js';
import { tokenRow } from './account.js';
import { $, announce, confirmDialog, h, openDialog, showFormErrors, srOnly } from './dom.js';
import { actions, personName, state } from './state.js';

let accounts = [];
let persons = [];
let editing = null;   // account in the account dialog, null = a new one
let resetting = null; // account in the password dialog

function setError(sel, msg) {
    const box = $(sel);
    box.textContent = msg || '';
    box.hidden = !msg;
}

function nameOfPerson(id) {
    const p = persons.find((x) => x.id === id);
    return p ? personName(p) : `person ${id}`;
}

const accountName = (a) => a.display_name || a.username;
const isSelf = (a) => !!state.account && a.id === state.account.id;

// ---- the list -------------------------------------------------------------------

function accountRow(a) {
    const name = accountName(a);
    const granted = (a.persons || []).map(nameOfPerson);
    const sees = a.role === 'admin' ? 'sees every person' : granted.length ? `sees ${granted.join(', ')}` : 'sees no one yet';
    const facts = [
        `username ${a.username}`,
        sees,
        a.person_id !== null && a.person_id !== undefined ? `is ${nameOfPerson(a.person_id)}` : null,
        a.has_password === false ? 'signs in through single sign-on only' : null,
    ].filter(Boolean);
    const self = isSelf(a);
    return h(
        'li',
        { class: a.enabled ? 'row' : 'row is-inactive', dataset: { accountId: a.id } },
        h(
            'div',
            { class: 'row-info' },
            h('span', { class: 'row-title' }, name),
            h('span', { class: 'badge' }, roleName(a.role)),
            a.enabled ? null : h('span', { class: 'badge badge-off' }, 'Disabled'),
            self ? h('span', { class: 'badge' }, 'You') : null,
            h('span', { class: 'muted row-facts' }, facts.join(', ')),
        ),
        h(
            'div',
            { class: 'row-actions' },
            h('button', { type: 'button', class: 'btn btn-small', onclick: () => openAccountForm(a) }, 'Edit', srOnly(` ${name}`)),
            // Your own password is changed under "Your account", with the current one.
            self ? null : h('button', { type: 'button', class: 'btn btn-small', onclick: () => openReset(a) }, 'Set password', srOnly(` of ${name}`)),
            self ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => removeAccount(a) }, 'Delete', srOnly(` ${name}`)),
        ),
    );
}

function renderAccounts() {
    $('#accounts-list').replaceChildren(...accounts.map(accountRow));
}

async function loadAccounts() {
    setError('#accounts-error', '');
    try {
        const [list, ps] = await Promise.all([api.listAccounts(), api.listPersons()]);
        accounts = list || [];
        persons = ps || [];
        renderAccounts();
    } catch (e) {
        setError('#accounts-error', `Could not load the accounts: ${e.message}`);
    }
}

function focusAccountRow(id) {
    const btn = document.querySelector(`#accounts-list [data-account-id="${id}"] button`);
    (btn || $('#add-account')).focus();
}

// ---- add and edit ------------------------------------------------------------------

function grantBoxes(checked, own) {
    return persons.map((p) => {
        const id = `acc-grant-${p.id}`;
        const isOwn = own !== null && p.id === own;
        return h(
            'div',
            { class: 'field field-check' },
            h('input', { type: 'checkbox', id, name: 'persons', value: p.id, checked: checked.has(p.id) || isOwn, disabled: isOwn }),
            h('label', { for: id }, personName(p), isOwn ? h('span', { class: 'optional' }, ' (own person, always)') : null),
        );
    });
}

function ownPersonValue(form) {
    const v = form.elements.person_id.value;
    return v ? Number(v) : null;
}

/** Redraws the grant boxes (the own person is always granted) and hides
 *  them for administrators, who see every person anyway. */
function syncGrants(form) {
    const checked = new Set(
        [...form.querySelectorAll('#acc-grants-list input:checked:not(:disabled)')].map((i) => Number(i.value)),
    );
    const own = ownPersonValue(form);
    $('#acc-grants-list').replaceChildren(
        ...(persons.length ? grantBoxes(checked, own) : [h('p', { class: 'hint' }, 'No persons exist yet.')]),
    );
    const admin = form.elements.role.value === 'admin';
    $('#acc-grants').hidden = admin;
    $('#acc-admin-note').hidden = !admin;
}

function openAccountForm(a) {
    const form = $('#account-form');
    editing = a || null;
    form.reset();
    showFormErrors(form, null);
    $('#account-dialog-title').textContent = a ? `Edit ${accountName(a)}` : 'Add account';
    const user = form.elements.username;
    user.value = a ? a.username : '';
    user.readOnly = !!a;
    $('#acc-enabled-field').hidden = !a;
    $('#acc-password-fields').hidden = !!a;
    $('#acc-password-hint').textContent = `At least ${PASSWORD_MIN} characters. Leave both empty only for an account that signs in through your single sign-on proxy.`;
    form.elements.display_name.value = a ? a.display_name || '' : '';
    form.elements.role.value = a ? a.role : 'viewer';
    form.elements.enabled.checked = a ? !!a.enabled : true;
    $('#acc-person').replaceChildren(
        h('option', { value: '' }, 'None'),
        ...persons.map((p) => h('option', { value: p.id }, personName(p))),
    );
    form.elements.person_id.value = a && a.person_id !== null && a.person_id !== undefined ? String(a.person_id) : '';
    const granted = new Set(a ? a.persons || [] : []);
    $('#acc-grants-list').replaceChildren(...grantBoxes(granted, ownPersonValue(form)));
    syncGrants(form);
    openDialog($('#account-dialog'), a ? '#acc-display' : '#acc-username');
}

function accountPayload(form) {
    const v = (n) => form.elements[n].value;
    const body = { role: v('role') };
    const display = v('display_name').trim();
    if (display) body.display_name = display;
    body.person_id = ownPersonValue(form);
    body.persons = [...form.querySelectorAll('#acc-grants-list input:checked')].map((i) => Number(i.value));
    if (editing) {
        body.enabled = form.elements.enabled.checked;
        return body;
    }
    body.username = v('username').trim();
    if (!body.username) throw formError('Please enter a username.', 'username');
    const pw = v('password');
    const again = v('password2');
    if (pw || again) {
        const why = passwordProblem(pw, again);
        if (why) throw formError(why, 'password', 'password2');
        body.password = pw;
    }
    if (body.person_id === null) delete body.person_id;
    return body;
}

async function submitAccount(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.disabled) return;
    let body;
    try {
        body = accountPayload(form);
    } catch (e) {
        showFormErrors(form, e);
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    submit.disabled = true;
    try {
        let saved;
        if (editing) {
            saved = await api.updateAccount(editing.id, body);
            announce(`${accountName(saved)} was saved.`);
        } else {
            saved = await api.createAccount(body);
            announce(`The account ${saved.username} was added as ${roleName(saved.role).toLowerCase()}.`);
        }
        $('#account-dialog').close();
        if (isSelf(saved)) {
            setAccount({ ...state.account, ...saved });
            if (!state.can.admin) {
                actions.navigate('/');
                return;
            }
        }
        await loadAccounts();
        focusAccountRow(saved.id);
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        submit.disabled = false;
    }
}

// ---- password and delete -----------------------------------------------------------

function openReset(a) {
    resetting = a;
    const form = $('#reset-form');
    form.reset();
    showFormErrors(form, null);
    $('#reset-title').textContent = `New password for ${accountName(a)}`;
    openDialog($('#reset-dialog'), '#reset-password');
}

async function submitReset(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.disabled || !resetting) return;
    const pw = form.elements.password.value;
    const why = passwordProblem(pw, form.elements.password2.value);
    if (why) {
        showFormErrors(form, formError(why, 'password', 'password2'));
        form.elements.password.focus();
        return;
    }
    submit.disabled = true;
    try {
        await api.updateAccount(resetting.id, { password: pw });
        form.reset();
        $('#reset-dialog').close();
        announce(`${accountName(resetting)} has a new password and was signed out everywhere.`);
        await loadAccounts();
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        submit.disabled = false;
    }
}

async function removeAccount(a) {
    const name = accountName(a);
    const ok = await confirmDialog(
        `Delete the account ${name}?`,
        `${name} (${a.username}) can no longer sign in; their sessions and API tokens end. The persons and doses they recorded stay.`,
        'Delete account',
    );
    if (!ok) return;
    try {
        await api.deleteAccount(a.id);
        announce(`The account ${name} was deleted.`);
    } catch (e) {
        setError('#accounts-error', e.message);
        announce(e.message, 'error');
    }
    await Promise.all([loadAccounts(), loadAllTokens()]);
    $('#accounts-list-heading').focus();
}

// ---- every account's tokens ------------------------------------------------------------

function ownerOf(t) {
    if (t.username || t.login) return t.username || t.login;
    const a = accounts.find((x) => x.id === t.account_id);
    return a ? a.username : `account ${t.account_id}`;
}

async function loadAllTokens() {
    setError('#all-tokens-error', '');
    try {
        const list = (await api.listAllTokens()) || [];
        const rows = list.map((t) => tokenRow(t, { owner: ownerOf(t), nameOf: nameOfPerson, onRevoke: revokeAny }));
        $('#all-tokens-list').replaceChildren(...(rows.length ? rows : [h('li', { class: 'empty' }, 'No account has an API token.')]));
    } catch (e) {
        setError('#all-tokens-error', `Could not load the tokens: ${e.message}`);
    }
}

async function revokeAny(t) {
    const ok = await confirmDialog(`Revoke the token ${t.name} of ${ownerOf(t)}?`, 'Whatever uses it will be refused from now on. This cannot be undone.', 'Revoke token');
    if (!ok) return;
    try {
        await api.revokeAnyToken(t.id);
        announce(`The token ${t.name} was revoked.`);
    } catch (e) {
        setError('#all-tokens-error', e.message);
    }
    await loadAllTokens();
    $('#all-tokens-heading').focus();
}

// ---- the page ------------------------------------------------------------------------

export async function openAccountsPage() {
    document.title = 'Accounts – MediTrack';
    await loadAccounts();
    await loadAllTokens();
}

export function initAdmin() {
    $('#add-account').addEventListener('click', () => openAccountForm(null));
    $('#account-form').addEventListener('submit', submitAccount);
    $('#account-form').addEventListener('change', (ev) => {
        if (ev.target.name === 'role' || ev.target.name === 'person_id') syncGrants(ev.currentTarget);
    });
    $('#account-dialog [data-close]').addEventListener('click', () => $('#account-dialog').close());
    $('#reset-form').addEventListener('submit', submitReset);
    $('#reset-dialog [data-close]').addEventListener('click', () => $('#reset-dialog').close());
}
