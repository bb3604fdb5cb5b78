// "Your account": who you are signed in as, changing your password, the
// sessions signed in to your account (this one marked; revoke the others),
// and your API tokens: create one (name, scope, person, expiry) and see its
// secret once, with a copy button, list them and revoke them.

import * as api from './api.js';
import { formError, passwordProblem, roleName, setAccount } from './auth.js';
import { $, announce, confirmDialog, h, openDialog, showFormErrors, srOnly } from './dom.js';
import { personName, state } from './state.js';
import { fmtInstant, parseInstant } from './time.js';

const SCOPES = [
    ['read', 'Read'],
    ['write', 'Write'],
    ['admin', 'Admin'],
];

let persons = []; // persons this account may see, for names and the token form

function setError(sel, msg) {
    const box = $(sel);
    box.textContent = msg || '';
    box.hidden = !msg;
}

function personLabel(id) {
    if (id === null || id === undefined) return 'every person you may see';
    const p = persons.find((x) => x.id === id);
    return p ? personName(p) : `person ${id}`;
}

/** A short description of a browser from its User-Agent ("Firefox on Android"). */
export function describeAgent(ua) {
    if (!ua) return 'Unknown browser';
    const browsers = [
        [/Edg\//, 'Edge'],
        [/Firefox\//, 'Firefox'],
        [/(Chromium|Chrome)\//, 'Chrome'],
        [/Safari\//, 'Safari'],
        [/^curl\//, 'curl'],
    ];
    const systems = [
        [/Android/, 'Android'],
        [/iPhone|iPad/, 'iOS'],
        [/Windows/, 'Windows'],
        [/Mac OS X|Macintosh/, 'macOS'],
        [/CrOS/, 'ChromeOS'],
        [/Linux/, 'Linux'],
    ];
    const b = browsers.find(([re]) => re.test(ua));
    const s = systems.find(([re]) => re.test(ua));
    if (!b) return ua.length > 60 ? `${ua.slice(0, 60)}…` : ua;
    return s ? `${b[1]} on ${s[1]}` : b[1];
}

// ---- summary and password ---------------------------------------------------------

function renderSummary(acc) {
    const granted = (acc.persons || []).map(personLabel);
    const who = acc.role === 'admin' ? 'You see every person.' : granted.length ? `You see ${granted.join(', ')}.` : 'No person is shared with you yet.';
    $('#account-summary').replaceChildren(
        'Signed in as ',
        h('strong', {}, acc.display_name || acc.username),
        ` (username ${acc.username}), role `,
        h('strong', {}, roleName(acc.role)),
        `. ${who}`,
    );
    const proxyOnly = acc.has_password === false;
    $('#password-form').hidden = proxyOnly;
    $('#password-proxy-note').hidden = !proxyOnly;
}

async function submitPassword(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.disabled) return;
    const current = form.elements.current_password.value;
    const next = form.elements.new_password.value;
    let err = null;
    if (!current) err = formError('Please enter your current password.', 'current_password');
    else {
        const why = passwordProblem(next, form.elements.new_password2.value);
        if (why) err = formError(why, 'new_password', 'new_password2');
    }
    if (err) {
        showFormErrors(form, err);
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    submit.disabled = true;
    try {
        await api.changePassword(current, next);
        form.reset();
        showFormErrors(form, null);
        announce('Your password was changed. Every other session of your account was signed out.');
        await loadSessions();
    } catch (e) {
        if (e.status === 401) {
            // Either the current password is wrong or the session ended; a
            // request that needs the session tells which (and on a 401 goes
            // to the sign-in page).
            try {
                await api.me();
            } catch (e2) {
                if (e2.status === 401) return;
            }
        }
        if (e.status === 400 || e.status === 401 || e.status === 403) {
            e.fields = { ...e.fields, current_password: 'invalid' };
            showFormErrors(form, e);
            form.elements.current_password.focus();
        } else {
            showFormErrors(form, e);
        }
    } finally {
        submit.disabled = false;
    }
}

// ---- sessions -----------------------------------------------------------------------

function sessionRow(s) {
    const what = describeAgent(s.user_agent);
    const facts = [
        `Signed in on ${fmtInstant(s.created_at)}`,
        s.last_seen_at ? `last active ${fmtInstant(s.last_seen_at)}` : null,
        s.address ? `from ${s.address}` : null,
        `ends by ${fmtInstant(s.expires_at)}`,
    ].filter(Boolean);
    return h(
        'li',
        { class: 'row', dataset: { sessionId: s.id } },
        h(
            'div',
            { class: 'row-info' },
            h('span', { class: 'row-title' }, what),
            s.current ? h('span', { class: 'badge' }, 'This browser') : null,
            h('span', { class: 'muted row-facts' }, facts.join(', ')),
        ),
        h(
            'div',
            { class: 'row-actions' },
            s.current
                ? null
                : h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => revokeSession(s, what) }, 'Revoke', srOnly(` session of ${what}, signed in ${fmtInstant(s.created_at)}`)),
        ),
    );
}

async function loadSessions() {
    setError('#sessions-error', '');
    try {
        const list = await api.listSessions();
        $('#sessions-list').replaceChildren(...(list || []).map(sessionRow));
    } catch (e) {
        setError('#sessions-error', `Could not load the sessions: ${e.message}`);
    }
}

async function revokeSession(s, what) {
    const ok = await confirmDialog('Revoke this session?', `${what} (signed in ${fmtInstant(s.created_at)}) will be signed out.`, 'Revoke session');
    if (!ok) return;
    try {
        await api.revokeSession(s.id);
        announce(`The session of ${what} was revoked.`);
    } catch (e) {
        setError('#sessions-error', e.status === 404 ? 'That session had already ended.' : e.message);
    }
    await loadSessions();
    $('#sessions-heading').focus();
}

// ---- tokens ---------------------------------------------------------------------------

/** Status words of a token: revoked, expired, or when it expires. */
export function tokenState(t) {
    if (t.revoked_at) return { live: false, text: `revoked ${fmtInstant(t.revoked_at)}` };
    if (t.expires_at) {
        const end = parseInstant(t.expires_at);
        if (end && end.getTime() <= Date.now()) return { live: false, text: `expired ${fmtInstant(t.expires_at)}` };
        return { live: true, text: `expires ${fmtInstant(t.expires_at)}` };
    }
    return { live: true, text: 'does not expire' };
}

/** One row of a token list; `owner` adds the account's name (admin list). */
export function tokenRow(t, { owner = null, nameOf = personLabel, onRevoke }) {
    const st = tokenState(t);
    const facts = [
        `${t.prefix}…`,
        `scope ${t.scope}`,
        t.person_id !== null && t.person_id !== undefined ? `only ${nameOf(t.person_id)}` : null,
        `created ${fmtInstant(t.created_at)}`,
        t.last_used_at ? `last used ${fmtInstant(t.last_used_at)}` : 'never used',
        st.text,
    ].filter(Boolean);
    return h(
        'li',
        { class: st.live ? 'row' : 'row is-inactive', dataset: { tokenId: t.id } },
        h(
            'div',
            { class: 'row-info' },
            h('span', { class: 'row-title' }, t.name),
            owner ? h('span', { class: 'badge' }, owner) : null,
            st.live ? null : h('span', { class: 'badge badge-off' }, t.revoked_at ? 'Revoked' : 'Expired'),
            h('span', { class: 'muted row-facts' }, facts.join(', ')),
        ),
        h(
            'div',
            { class: 'row-actions' },
            t.revoked_at
                ? null
                : h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => onRevoke(t) }, 'Revoke', srOnly(` token ${t.name}`)),
        ),
    );
}

async function loadTokens() {
    setError('#tokens-error', '');
    try {
        const list = (await api.listOwnTokens()) || [];
        const rows = list.map((t) => tokenRow(t, { onRevoke: revokeToken }));
        $('#tokens-list').replaceChildren(...(rows.length ? rows : [h('li', { class: 'empty' }, 'You have no API tokens.')]));
    } catch (e) {
        setError('#tokens-error', `Could not load the tokens: ${e.message}`);
    }
}

async function revokeToken(t) {
    const ok = await confirmDialog(`Revoke the token ${t.name}?`, 'Whatever uses it will be refused from now on. This cannot be undone.', 'Revoke token');
    if (!ok) return;
    try {
        await api.revokeOwnToken(t.id);
        announce(`The token ${t.name} was revoked.`);
    } catch (e) {
        setError('#tokens-error', e.message);
    }
    await loadTokens();
    $('#tokens-heading').focus();
}

function fillTokenForm() {
    const role = state.account ? state.account.role : 'viewer';
    const allowed = role === 'admin' ? SCOPES : role === 'carer' ? SCOPES.slice(0, 2) : SCOPES.slice(0, 1);
    const scope = $('#token-scope');
    const was = scope.value;
    scope.replaceChildren(...allowed.map(([v, label]) => h('option', { value: v }, label)));
    if (allowed.some(([v]) => v === was)) scope.value = was;
    const person = $('#token-person');
    const pwas = person.value;
    person.replaceChildren(
        h('option', { value: '' }, 'Every person I may see'),
        ...persons.map((p) => h('option', { value: p.id }, `Only ${personName(p)}`)),
    );
    if ([...person.options].some((o) => o.value === pwas)) person.value = pwas;
}

async function submitToken(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.disabled) return;
    const name = form.elements.name.value.trim();
    const days = form.elements.expires_days.value.trim();
    let err = null;
    if (!name) err = formError('Please give the token a name.', 'name');
    else if (days && !(/^\d+$/.test(days) && Number(days) >= 1 && Number(days) <= 3650)) err = formError('The expiry must be a number of days from 1 to 3650, or empty.', 'expires_days');
    if (err) {
        showFormErrors(form, err);
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    const body = { name, scope: form.elements.scope.value };
    if (form.elements.person_id.value) body.person_id = Number(form.elements.person_id.value);
    if (days) body.expires_days = Number(days);
    submit.disabled = true;
    try {
        const t = await api.createToken(body);
        form.reset();
        fillTokenForm();
        showFormErrors(form, null);
        showNewToken(t);
        await loadTokens();
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        submit.disabled = false;
    }
}

/** Shows a new token's secret, once, in a dialog; closing it forgets it. */
export function showNewToken(t) {
    const dlg = $('#token-dialog');
    const input = $('#token-value');
    input.value = t.token;
    $('#token-value-name').textContent = `“${t.name}”`;
    openDialog(dlg, '#token-value');
    input.select();
}

async function copyToken() {
    const input = $('#token-value');
    try {
        await navigator.clipboard.writeText(input.value);
        announce('The token was copied. Paste it where it is needed now.');
    } catch (e) {
        input.focus();
        input.select();
        announce('Copying is not allowed here: the token is selected, press Ctrl+C to copy it.');
    }
}

// ---- the page -------------------------------------------------------------------------

/** Shows the page: fresh account data, sessions and tokens. */
export async function openAccountPage() {
    document.title = 'Your account – MediTrack';
    fillTokenForm();
    try {
        const [acc, list] = await Promise.all([api.me(), api.listPersons()]);
        persons = list || [];
        setAccount({ ...state.account, ...acc });
        renderSummary(state.account);
    } catch (e) {
        if (state.account) renderSummary(state.account);
        announce(`Could not load your account: ${e.message}`, 'error');
    }
    fillTokenForm();
    await Promise.all([loadSessions(), loadTokens()]);
}

export function initAccount() {
    $('#password-form').addEventListener('submit', submitPassword);
    $('#token-form').addEventListener('submit', submitToken);
    $('#token-copy').addEventListener('click', copyToken);
    // The secret leaves the page with the dialog, however it is closed, and
    // before the dialog is hidden: Done clears it itself; Escape fires
    // "cancel" before the dialog closes (the "close" event comes a task
    // later, and covers any other way of closing).
    const forget = () => {
        $('#token-value').value = '';
    };
    $('#token-done').addEventListener('click', () => {
        forget();
        $('#token-dialog').close();
    });
    $('#token-dialog').addEventListener('cancel', forget);
    $('#token-dialog').addEventListener('close', forget);
}
