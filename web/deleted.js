// "Previously recorded medications": deleted medications whose doses the
// server keeps. The API has no list of them, so the names come from the daily
// summary of the shown day (entries with is_deleted) and from the deletions
// made in this browser (remembered per person); any other name can be looked
// up by hand. The doses themselves always come from the server.

import { $, h } from './dom.js';
import { openDeletedHistory } from './history.js';
import { state } from './state.js';

const KEY = 'meditrack.deleted.v1';

function load() {
    try {
        const v = JSON.parse(localStorage.getItem(KEY) || '{}');
        return v && typeof v === 'object' ? v : {};
    } catch (e) {
        return {};
    }
}

/** Remembers that a medication of a person was deleted here. */
export function rememberDeleted(personId, name) {
    const all = load();
    const list = Array.isArray(all[personId]) ? all[personId] : [];
    if (!list.includes(name)) list.push(name);
    all[personId] = list;
    try {
        localStorage.setItem(KEY, JSON.stringify(all));
    } catch (e) {
        // Storage full or disabled: the name can still be looked up by hand.
    }
}

const SUFFIX = ' (deleted)';

/** Names to show for the selected person, live medication names left out. */
export function deletedNames() {
    const names = new Set();
    const remembered = load()[state.personId];
    if (Array.isArray(remembered)) for (const n of remembered) names.add(n);
    for (const m of (state.summary && state.summary.medications) || []) {
        if (!m.is_deleted) continue;
        const n = m.medication_name || '';
        names.add(n.endsWith(SUFFIX) ? n.slice(0, -SUFFIX.length) : n);
    }
    for (const m of state.meds) names.delete(m.name);
    names.delete('');
    return [...names].sort((a, b) => a.localeCompare(b));
}

let shownKey = '';

export function renderDeleted() {
    const names = deletedNames();
    $('#deleted-empty').hidden = names.length > 0;
    const key = JSON.stringify([names, state.online]);
    if (key === shownKey) return; // unchanged: keep the buttons (and focus) as they are
    shownKey = key;
    $('#deleted-list').replaceChildren(
        ...names.map((name) =>
            h(
                'li',
                { class: 'deleted-row' },
                h('span', {}, name),
                h('button', { type: 'button', class: 'btn btn-small', disabled: !state.online, onclick: () => openDeletedHistory(name) }, 'Show doses', h('span', { class: 'visually-hidden' }, ` of ${name}`)),
            ),
        ),
    );
}

export function initDeleted() {
    $('#deleted-lookup').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const input = $('#deleted-name');
        const name = input.value.trim();
        if (!name) {
            input.setAttribute('aria-invalid', 'true');
            input.focus();
            return;
        }
        input.removeAttribute('aria-invalid');
        openDeletedHistory(name);
    });
}
