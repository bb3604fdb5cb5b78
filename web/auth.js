// Access control in the UI: asks the server whether it has accounts and who
// is signed in (GET /auth/status), shows the first-run page (setup token) and
// the sign-in page, the account menu in the header with sign out, and sends
// the browser back to sign-in, with the page to return to, when a session
// ends. The server enforces every rule; the UI only leaves out what the
// signed-in role could not do anyway.

import * as api from './api.js';
import { $, announce, showFormErrors } from './dom.js';
import { capabilities, state } from './state.js';

/** The server's minimum password length in characters (Unicode code points);
 *  its 422 answer stays the last word. */
export const PASSWORD_MIN = 10;

const FLASH_KEY = 'meditrack.flash';
const OWNER_KEY = 'meditrack.owner';

const ROLE_NAMES = { admin: 'Administrator', carer: 'Carer', viewer: 'Viewer' };
export const roleName = (role) => ROLE_NAMES[role] || role || '';

// ---- messages carried across a page load --------------------------------

/** Keeps msg for the next page of this tab (sign-in, sign-out, first run). */
export function flash(msg) {
    try {
        sessionStorage.setItem(FLASH_KEY, msg);
    } catch (e) {
        // No storage: the message is lost, the page still works.
    }
}

/** The message kept by flash(), once. */
export function takeFlash() {
    try {
        const msg = sessionStorage.getItem(FLASH_KEY);
        sessionStorage.removeItem(FLASH_KEY);
        return msg || '';
    } catch (e) {
        return '';
    }
}

/**
 * Removes what this browser keeps of the household's data (the offline copy,
 * names of deleted medications) when an account signs out, and when another
 * account than the last one signs in: on a shared device one account must not
 * see another's data offline.
 */
export function forgetLocalData(keepOwner = null) {
    try {
        for (const k of Object.keys(localStorage)) if (k.startsWith('meditrack.')) localStorage.removeItem(k);
        if (keepOwner !== null) localStorage.setItem(OWNER_KEY, String(keepOwner));
    } catch (e) {
        // No storage: there is nothing to forget either.
    }
}

function adoptAccount(account) {
    let owner = null;
    try {
        owner = localStorage.getItem(OWNER_KEY);
    } catch (e) {
        owner = null;
    }
    if (owner !== String(account.id)) forgetLocalData(account.id);
}

// ---- who is signed in -----------------------------------------------------

/** Sets the signed-in account and what its role lets the UI offer. */
export function setAccount(account) {
    state.account = account || null;
    state.can = capabilities(state.account);
    renderAccountMenu();
}

/**
 * Asks the server whether it has access control and who this browser is.
 * A server without the endpoint (404) has none. When the server cannot be
 * reached, state.auth.known stays false and the caller shows what it can.
 */
export async function loadAuth() {
    try {
        const s = await api.authStatus();
        state.auth = { known: true, enabled: !!(s && s.auth), setupRequired: !!(s && s.auth && s.setup_required) };
        if (s && s.csrf_header) api.setCsrfHeader(s.csrf_header);
        setAccount(state.auth.enabled ? s.account : null);
    } catch (e) {
        if (e.status === 404) {
            state.auth = { known: true, enabled: false, setupRequired: false };
            setAccount(null);
        } else if (!e.unreachable) {
            announce(`Could not ask the server who is signed in: ${e.message}`, 'error');
        }
    }
}

/** A path of this app to return to after signing in; '/' for anything else
 *  (another site, a protocol-relative URL, the sign-in page itself). */
export function safeNext(raw) {
    if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return '/';
    const path = raw.split(/[?#]/)[0];
    if (path === '/signin' || path === '/setup') return '/';
    return raw;
}

/** The sign-in page's URL that returns to `here` afterwards. */
export function signinUrl(here) {
    const next = safeNext(here);
    return next === '/' ? '/signin' : `/signin?next=${encodeURIComponent(next)}`;
}

let leaving = false;

/** A 401 from the API: the session ended (expired, revoked, password changed
 *  elsewhere). Goes to the sign-in page, which returns here afterwards. */
function sessionEnded() {
    if (leaving || !state.auth.enabled) return;
    leaving = true;
    flash('Your session has ended. Please sign in again.');
    window.location.replace(signinUrl(window.location.pathname + window.location.search));
}

// ---- passwords --------------------------------------------------------------

/** Why a new password (typed twice) cannot be used, or '' when it can. */
export function passwordProblem(pw, again) {
    if ([...pw].length < PASSWORD_MIN) return `The password needs at least ${PASSWORD_MIN} characters.`;
    if (pw !== again) return 'The two passwords are not the same.';
    return '';
}

/** A form error naming the fields to mark. */
export function formError(message, ...fields) {
    const err = new Error(message);
    err.fields = Object.fromEntries(fields.map((f) => [f, 'invalid']));
    return err;
}

function focusFirstInvalid(form) {
    const first = form.querySelector('[aria-invalid=true]');
    if (first) first.focus();
}

// ---- the sign-in page ----------------------------------------------------------

let signinNext = '/';
let lockedUntil = 0;
let lockTimer = 0;

export function showSignin() {
    const q = new URLSearchParams(window.location.search);
    signinNext = safeNext(q.get('next'));
    const note = $('#signin-note');
    const msg = takeFlash();
    note.textContent = msg;
    note.hidden = !msg;
    document.title = 'Sign in – MediTrack';
    $('#signin-username').focus();
}

function lockMessage(secs) {
    return `Too many failed sign-ins. Try again in ${secs} s.`;
}

async function submitSignin(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.getAttribute('aria-disabled') === 'true') return;
    const wait = Math.ceil((lockedUntil - Date.now()) / 1000);
    if (wait > 0) {
        showFormErrors(form, new Error(lockMessage(wait)));
        return;
    }
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    if (!username || !password) {
        showFormErrors(form, formError('Please enter your username and password.', ...(username ? [] : ['username']), ...(password ? [] : ['password'])));
        focusFirstInvalid(form);
        return;
    }
    submit.setAttribute('aria-disabled', 'true');
    try {
        const account = await api.login(username, password);
        adoptAccount(account);
        flash(`Signed in as ${account.display_name || account.username}.`);
        leaving = true;
        window.location.replace(signinNext);
        return;
    } catch (e) {
        if (e.status === 429) {
            const secs = Math.max(1, e.retryAfter || 1);
            lockedUntil = Date.now() + secs * 1000;
            showFormErrors(form, new Error(lockMessage(secs)));
            clearTimeout(lockTimer);
            lockTimer = setTimeout(() => {
                const box = form.querySelector('.form-error');
                if (!box.hidden && box.textContent.startsWith('Too many')) box.textContent = 'You can try to sign in again now.';
            }, secs * 1000);
        } else if (e.status === 401) {
            showFormErrors(form, formError(e.message || 'Invalid username or password', 'password'));
            form.elements.password.value = '';
            form.elements.password.focus();
        } else if (e.unreachable) {
            showFormErrors(form, new Error('The MediTrack server cannot be reached. Try again when it is back.'));
        } else {
            showFormErrors(form, e);
        }
    } finally {
        submit.removeAttribute('aria-disabled');
    }
}

// ---- the first-run page -------------------------------------------------------

export function showSetup() {
    document.title = 'Set up – MediTrack';
    const msg = takeFlash();
    if (msg) announce(msg);
    $('#setup-token').focus();
}

async function submitSetup(ev) {
    ev.preventDefault();
    const form = ev.target;
    const submit = form.querySelector('[type=submit]');
    if (submit.getAttribute('aria-disabled') === 'true') return;
    const v = (n) => form.elements[n].value;
    const body = { setup_token: v('setup_token').trim(), username: v('username').trim(), password: v('password') };
    const display = v('display_name').trim();
    if (display) body.display_name = display;
    const missing = ['setup_token', 'username'].filter((k) => !body[k]);
    let err = null;
    if (missing.length) err = formError('Please enter the setup token and a username.', ...missing);
    else {
        const why = passwordProblem(body.password, v('password2'));
        if (why) err = formError(why, 'password', 'password2');
    }
    if (err) {
        showFormErrors(form, err);
        focusFirstInvalid(form);
        return;
    }
    submit.setAttribute('aria-disabled', 'true');
    try {
        const account = await api.setup(body);
        adoptAccount(account);
        flash(`Welcome, ${account.display_name || account.username}: your administrator account is ready.`);
        leaving = true;
        window.location.replace('/');
        return;
    } catch (e) {
        if (e.status === 409) {
            flash('Setup is already complete. Sign in with your account.');
            leaving = true;
            window.location.replace('/signin');
            return;
        }
        if (e.status === 400) {
            showFormErrors(form, formError(e.message, 'setup_token'));
            form.elements.setup_token.focus();
        } else {
            showFormErrors(form, e.unreachable ? new Error('The MediTrack server cannot be reached. Try again when it is back.') : e);
            focusFirstInvalid(form);
        }
    } finally {
        submit.removeAttribute('aria-disabled');
    }
}

// ---- the account menu -----------------------------------------------------------

function renderAccountMenu() {
    const acc = state.account;
    $('#account-menu').hidden = !acc;
    if (!acc) {
        closeMenu(false);
        return;
    }
    $('#account-name').textContent = acc.display_name || acc.username;
    $('#account-login').textContent = acc.username;
    $('#account-role').textContent = roleName(acc.role);
    $('#nav-accounts-item').hidden = !state.can.admin;
    const proxy = acc.auth_method === 'proxy';
    $('#sign-out').hidden = proxy;
    $('#proxy-note').hidden = !proxy;
}

/** Marks the menu's link to the page shown (aria-current). */
export function markCurrentPage(view) {
    const links = { home: '#nav-home', account: '#nav-account', accounts: '#nav-accounts' };
    for (const [v, sel] of Object.entries(links)) {
        const a = $(sel);
        if (v === view) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
    }
}

function openMenu() {
    $('#account-panel').hidden = false;
    $('#account-button').setAttribute('aria-expanded', 'true');
}

function closeMenu(focusButton) {
    const panel = $('#account-panel');
    if (panel.hidden) return;
    panel.hidden = true;
    $('#account-button').setAttribute('aria-expanded', 'false');
    if (focusButton) $('#account-button').focus();
}

async function signOut() {
    try {
        await api.logout();
    } catch (e) {
        if (e.unreachable) {
            announce('You cannot sign out while the server cannot be reached: it must end the session.', 'error');
            return;
        }
        // Any other answer (401: the session had already ended) still signs out here.
    }
    forgetLocalData();
    flash('You are signed out.');
    leaving = true;
    window.location.replace('/signin');
}

export function initAuth() {
    api.onSignedOut(sessionEnded);
    for (const el of document.querySelectorAll('[data-password-hint]')) el.textContent = `At least ${PASSWORD_MIN} characters.`;
    $('#signin-form').addEventListener('submit', submitSignin);
    $('#setup-form').addEventListener('submit', submitSetup);
    const menu = $('#account-menu');
    $('#account-button').addEventListener('click', () => {
        if ($('#account-panel').hidden) openMenu();
        else closeMenu(false);
    });
    menu.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape' && !$('#account-panel').hidden) {
            ev.preventDefault();
            closeMenu(true);
        }
    });
    // The menu closes when focus or a click goes elsewhere, and after a choice.
    menu.addEventListener('focusout', (ev) => {
        if (ev.relatedTarget && !menu.contains(ev.relatedTarget)) closeMenu(false);
    });
    document.addEventListener('click', (ev) => {
        if (!menu.contains(ev.target)) closeMenu(false);
    });
    for (const a of document.querySelectorAll('#account-panel a')) a.addEventListener('click', () => closeMenu(false));
    $('#sign-out').addEventListener('click', signOut);
}
