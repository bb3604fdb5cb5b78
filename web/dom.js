// Small DOM helpers shared by the views: an element builder that never parses
// HTML (user text is always set as text), screen-reader announcements, and
// modal dialogs that give focus back to what opened them.

/**
 * Builds an element: h('button', { type: 'button', onclick: fn }, 'Text', child).
 * Attributes starting with "on" become listeners; `class`, `text`, `hidden`,
 * `disabled` and boolean values are handled; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
}

/** Text that only screen readers read (e.g. the medication a button acts on). */
export const srOnly = (text) => h('span', { class: 'visually-hidden' }, text);

export const $ = (sel, root = document) => root.querySelector(sel);

let announceTimer = 0;

/** Says msg through the polite live region (and shows it in the status bar). */
export function announce(msg, kind = 'info') {
    // Outside an open modal dialog everything is inert (and not announced), so
    // the message goes to a live region inside the topmost open dialog.
    const top = [...document.querySelectorAll('dialog[open]')].pop();
    let live = $('#live');
    if (top) {
        live = top.querySelector('.dialog-live');
        if (!live) {
            live = h('div', { class: 'dialog-live visually-hidden', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
            top.append(live);
        }
    }
    const bar = $('#status-bar');
    live.textContent = '';
    // A fresh text node after a tick makes repeated messages heard again.
    setTimeout(() => {
        live.textContent = msg;
    }, 30);
    bar.textContent = msg;
    bar.dataset.kind = kind;
    bar.hidden = false;
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => {
        bar.hidden = true;
    }, kind === 'error' ? 10000 : 4000);
}

/** Opens a <dialog> modally; focus returns to the opener when it closes. */
export function openDialog(dialog, focusSel) {
    const opener = document.activeElement;
    const restore = () => {
        dialog.removeEventListener('close', restore);
        if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    };
    dialog.addEventListener('close', restore);
    dialog.showModal();
    const first = focusSel ? dialog.querySelector(focusSel) : null;
    if (first) first.focus();
}

/**
 * Asks a yes/no question in the confirm dialog. Resolves true when the user
 * confirms. `action` is the text of the confirming button.
 */
export function confirmDialog(title, message, action = 'Delete') {
    const dialog = $('#confirm-dialog');
    $('#confirm-title').textContent = title;
    $('#confirm-message').textContent = message;
    $('#confirm-ok').textContent = action;
    return new Promise((resolve) => {
        const done = () => {
            dialog.removeEventListener('close', done);
            resolve(dialog.returnValue === 'ok');
        };
        dialog.returnValue = '';
        dialog.addEventListener('close', done);
        openDialog(dialog, '#confirm-cancel');
    });
}

/** Shows field messages from an ApiError (or a plain message) inside a form. */
export function showFormErrors(form, err) {
    const box = form.querySelector('.form-error');
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    if (!err) {
        box.hidden = true;
        box.textContent = '';
        return;
    }
    box.textContent = err.message || String(err);
    box.hidden = false;
    for (const name of Object.keys(err.fields || {})) {
        const input = form.elements.namedItem(name);
        if (input && input.setAttribute) input.setAttribute('aria-invalid', 'true');
    }
}
