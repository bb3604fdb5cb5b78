// Entry point of the MediTrack web UI: loads persons and the selected
// person's medications and daily summary for the selected local day, draws
// every view from `state`, keeps the URL (?person=&day=) in step so a reload
// shows the same screen, follows local midnight, refreshes while visible, and
// keeps showing the last known state when the server cannot be reached.

import * as api from './api.js';
import { initConnectivity } from './connectivity.js';
import { renderLog, initLog } from './dailylog.js';
import { initDeleted, renderDeleted } from './deleted.js';
import { $, announce, h } from './dom.js';
import { initHistory } from './history.js';
import { initMeds, renderMeds } from './meds.js';
import { initPersons, orderedPersons, renderPersonPicker, renderPersonsList } from './persons.js';
import { actions, isToday, personName, selectedPerson, state } from './state.js';
import { addDays, fmtLongDay, fmtTime, isDay, msUntilMidnight, today } from './time.js';

const SNAPSHOT_KEY = 'meditrack.snapshot.v1';
const REFRESH_MS = 60000;

// ---- URL <-> state -------------------------------------------------------

function readUrl() {
    const q = new URLSearchParams(window.location.search);
    const person = Number(q.get('person'));
    if (Number.isInteger(person) && person > 0) state.personId = person;
    const day = q.get('day');
    if (isDay(day) && day <= today()) {
        state.day = day;
        state.followToday = day === today();
    }
}

function writeUrl() {
    const q = new URLSearchParams();
    if (state.personId !== null) q.set('person', String(state.personId));
    if (!isToday()) q.set('day', state.day);
    const s = q.toString();
    const url = window.location.pathname + (s ? `?${s}` : '');
    if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, '', url);
}

// ---- last known state, shown only while the server cannot be reached -----

function saveSnapshot() {
    const snap = {
        savedAt: new Date().toISOString(),
        persons: state.persons,
        personId: state.personId,
        day: state.day,
        meds: state.meds,
        summary: state.summary,
    };
    try {
        localStorage.setItem(SNAPSHOT_KEY, JSON.stringify(snap));
    } catch (e) {
        // No storage: nothing to show offline, the app still works online.
    }
}

function restoreSnapshot() {
    let snap = null;
    try {
        snap = JSON.parse(localStorage.getItem(SNAPSHOT_KEY) || 'null');
    } catch (e) {
        snap = null;
    }
    if (!snap || snap.day !== state.day || !Array.isArray(snap.persons)) return false;
    if (state.personId !== null && snap.personId !== state.personId) return false;
    state.persons = snap.persons;
    state.personId = snap.personId;
    state.meds = Array.isArray(snap.meds) ? snap.meds : [];
    state.summary = snap.summary || null;
    state.shownKey = `${snap.personId}|${snap.day}`;
    state.staleSince = new Date(snap.savedAt);
    state.loadedAt = state.staleSince;
    state.loaded = true;
    return true;
}

// ---- loading -------------------------------------------------------------

let generation = 0;
let needPersons = true;

function choosePerson() {
    if (state.persons.some((p) => p.id === state.personId)) return;
    const first = orderedPersons()[0];
    state.personId = first ? first.id : null;
}

async function refresh({ persons = false } = {}) {
    if (persons) needPersons = true;
    const gen = ++generation;
    try {
        if (needPersons || !state.persons.length) {
            const list = await api.listPersons();
            if (gen !== generation) return;
            state.persons = list;
            needPersons = false;
        }
        choosePerson();
        if (state.personId === null) {
            state.meds = [];
            state.summary = null;
        } else {
            const [meds, summary] = await Promise.all([
                api.listMedications(state.personId, state.day, today()),
                api.dailySummary(state.day, today(), state.personId),
            ]);
            if (gen !== generation) return;
            state.meds = meds;
            state.summary = summary;
        }
        state.shownKey = `${state.personId}|${state.day}`;
        state.loaded = true;
        state.loadedAt = new Date();
        state.staleSince = null;
        saveSnapshot();
    } catch (e) {
        if (gen !== generation) return;
        if (e.unreachable) {
            if (!state.loaded) restoreSnapshot();
            // Never show one day's or person's data under another's title.
            if (state.shownKey !== `${state.personId}|${state.day}`) {
                state.meds = [];
                state.summary = null;
                state.shownKey = null;
            }
        } else {
            announce(`Could not load: ${e.message}`, 'error');
        }
    }
    render();
}

// ---- drawing -------------------------------------------------------------

function render() {
    const p = selectedPerson();
    const hasPersons = state.persons.length > 0;
    const loading = $('#loading');
    loading.hidden = state.loaded;
    loading.textContent = state.online ? 'Loading…' : 'Nothing to show yet: the server cannot be reached.';
    $('#welcome').hidden = !(state.loaded && !hasPersons);
    $('#dashboard').hidden = !hasPersons;
    renderPersonPicker();
    if ($('#persons-dialog').open) renderPersonsList();
    if (!hasPersons) {
        document.title = 'MediTrack';
        writeUrl();
        return;
    }
    const now = today();
    const dayText = state.day === now ? `Today, ${fmtLongDay(state.day)}` : fmtLongDay(state.day);
    $('#page-title').replaceChildren(
        h('span', { class: 'title-person' }, personName(p)),
        ' ',
        h('span', { class: 'title-day' }, dayText),
    );
    document.title = `${personName(p)} – MediTrack`;
    const input = $('#day-input');
    input.max = now;
    if (input.value !== state.day) input.value = state.day;
    $('#next-day').disabled = state.day >= now;
    $('#today-btn').disabled = state.day === now;
    const stale = $('#stale-note');
    stale.hidden = !state.staleSince;
    stale.textContent = state.staleSince
        ? `Offline copy saved at ${fmtTime(state.staleSince)}; it may be out of date.`
        : '';
    renderMeds();
    renderLog();
    renderDeleted();
    writeUrl();
}

// ---- navigation ----------------------------------------------------------

function setDay(day) {
    const now = today();
    if (!isDay(day)) {
        $('#day-input').value = state.day;
        return;
    }
    if (day > now) {
        announce('Future days cannot be chosen: doses are only recorded for today and earlier.', 'error');
        day = now;
    }
    state.day = day;
    state.followToday = day === now;
    $('#day-input').value = day;
    refresh();
}

async function selectPerson(id) {
    if (!state.persons.some((p) => p.id === id)) return;
    state.personId = id;
    await refresh();
    const p = selectedPerson();
    if (p) announce(`Showing ${personName(p)}.`);
}

// Moves "today" along at local midnight (and when the tab wakes up later).
let shownToday = today();
function followClock() {
    const now = today();
    if (now !== shownToday) {
        shownToday = now;
        if (state.followToday) state.day = now;
        refresh();
    }
}

function scheduleMidnight() {
    setTimeout(() => {
        followClock();
        scheduleMidnight();
    }, msUntilMidnight());
}

function initNavigation() {
    $('#prev-day').addEventListener('click', () => setDay(addDays(state.day, -1)));
    $('#next-day').addEventListener('click', () => setDay(addDays(state.day, 1)));
    $('#today-btn').addEventListener('click', () => setDay(today()));
    $('#day-input').addEventListener('change', (ev) => setDay(ev.target.value));
    document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') {
            followClock();
            if (state.online) refresh({ persons: true });
        }
    });
    setInterval(() => {
        if (document.visibilityState === 'visible' && state.online) refresh({ persons: true });
    }, REFRESH_MS);
    scheduleMidnight();
}

function registerServiceWorker() {
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
        // Without a service worker the app works, it is just not installable.
    });
}

actions.refresh = refresh;
actions.selectPerson = selectPerson;
actions.render = render;

readUrl();
initConnectivity();
initPersons();
initMeds();
initHistory();
initLog();
initDeleted();
initNavigation();
registerServiceWorker();
refresh({ persons: true });
