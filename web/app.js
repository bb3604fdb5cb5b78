// Entry point of the MediTrack web UI: asks the server who is signed in and
// shows the page of the URL (medications at /, /account, /accounts, or the
// sign-in and first-run pages when the server wants an account); on the
// medications page loads persons and the selected person's medications and
// daily summary for the selected local day, draws every view from `state`,
// keeps the URL (?person=&day=) in step so a reload shows the same screen,
// follows local midnight, refreshes while visible, and keeps showing the last
// known state when the server cannot be reached. The scheduled slots of the
// shown day come with them (due.js); /reminders and /adherence are pages of
// the selected person (reminders.js, adherence.js).

import { initAccount, openAccountPage } from './account.js';
import { initAdherence, openAdherencePage } from './adherence.js';
import { initAdmin, openAccountsPage } from './admin.js';
import * as api from './api.js';
import { initAudit } from './audit.js';
import { initAuth, loadAuth, markCurrentPage, safeNext, setAccount, showSetup, showSignin, signinUrl, takeFlash } from './auth.js';
import { initConnectivity } from './connectivity.js';
import { renderLog, initLog } from './dailylog.js';
import { initDeleted, renderDeleted } from './deleted.js';
import { $, announce, h } from './dom.js';
import { initDosing } from './dosing.js';
import { renderDue } from './due.js';
import { initHistory } from './history.js';
import { initLimits } from './limits.js';
import { initMeds, renderMeds } from './meds.js';
import { initPersons, orderedPersons, renderPersonPicker, renderPersonsList } from './persons.js';
import { initReminders, openRemindersPage } from './reminders.js';
import { initScheduleEditor } from './schedule.js';
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
    const url = `/${s ? `?${s}` : ''}`;
    if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, '', url);
    // The menu's way back to the medications returns to this person and day.
    $('#nav-home').setAttribute('href', url);
    for (const sel of ['#reminders-back', '#adherence-back']) $(sel).setAttribute('href', url);
    const pq = state.personId !== null ? `?person=${state.personId}` : '';
    $('#link-reminders').setAttribute('href', `/reminders${pq}`);
    $('#link-adherence').setAttribute('href', `/adherence${pq}`);
}

// ---- last known state, shown only while the server cannot be reached -----

function saveSnapshot() {
    const acc = state.account;
    const snap = {
        savedAt: new Date().toISOString(),
        // Whose view this is: shown offline only to the same account, and
        // its role keeps edit controls away from a viewer's offline copy.
        account: acc ? { id: acc.id, username: acc.username, display_name: acc.display_name, role: acc.role } : null,
        persons: state.persons,
        personId: state.personId,
        day: state.day,
        meds: state.meds,
        summary: state.summary,
        due: state.due,
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
    const owner = snap.account ? snap.account.id : null;
    if (state.auth.known && owner !== (state.account ? state.account.id : null)) return false;
    if (!state.auth.known && snap.account) setAccount(snap.account);
    state.persons = snap.persons;
    state.personId = snap.personId;
    state.meds = Array.isArray(snap.meds) ? snap.meds : [];
    state.summary = snap.summary || null;
    state.due = snap.due || null;
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
    // Started without the server: learn who is signed in once it answers.
    if (!state.auth.known && state.online) {
        await loadAuth();
        if (state.auth.known && state.auth.enabled && (state.auth.setupRequired || !state.account)) {
            route();
            return;
        }
    }
    if (state.view !== 'home') return;
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
            state.due = null;
        } else {
            const [meds, summary, due] = await Promise.all([
                api.listMedications(state.personId, state.day, today()),
                api.dailySummary(state.day, today(), state.personId),
                // A server without schedules (404) shows no slots; an
                // unreachable one is handled with the rest.
                api.dueSlots(state.personId, state.day).catch((e) => {
                    if (e.unreachable || e.status === 401) throw e;
                    return null;
                }),
            ]);
            if (gen !== generation) return;
            state.meds = meds;
            state.summary = summary;
            state.due = due;
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
                state.due = null;
                state.shownKey = null;
            }
        } else if (e.status !== 401) {
            // (A 401 has already sent the browser to the sign-in page.)
            announce(`Could not load: ${e.message}`, 'error');
        }
    }
    render();
}

// ---- drawing -------------------------------------------------------------

function render() {
    if (state.view !== 'home') return;
    const p = selectedPerson();
    const hasPersons = state.persons.length > 0;
    const loading = $('#loading');
    loading.hidden = state.loaded;
    loading.textContent = state.online ? 'Loading…' : 'Nothing to show yet: the server cannot be reached.';
    // Only administrators add persons; others wait for a grant.
    $('#welcome').hidden = !(state.loaded && !hasPersons && state.can.admin);
    $('#no-persons').hidden = !(state.loaded && !hasPersons && !state.can.admin);
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
    renderDue();
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
    if (PERSON_PAGES.has(state.view)) {
        // The person's page stays, now of the other person.
        window.history.replaceState(null, '', `${window.location.pathname}?person=${id}`);
        await openPersonPage(state.view);
        const p = selectedPerson();
        if (p) announce(`Showing ${personName(p)}.`);
        return;
    }
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
        if (state.view === 'home') refresh();
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
        if (document.visibilityState === 'visible' && state.view === 'home') {
            followClock();
            if (state.online) refresh({ persons: true });
        }
    });
    setInterval(() => {
        if (document.visibilityState === 'visible' && state.online && state.view === 'home') refresh({ persons: true });
    }, REFRESH_MS);
    scheduleMidnight();
}

function registerServiceWorker() {
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
        // Without a service worker the app works, it is just not installable.
    });
}

// ---- pages -------------------------------------------------------------------

const PAGES = {
    '/': 'home',
    '/account': 'account',
    '/accounts': 'accounts',
    '/signin': 'signin',
    '/setup': 'setup',
    '/reminders': 'reminders',
    '/adherence': 'adherence',
};
// Pages about the selected person: the person picker stays in the header.
const PERSON_PAGES = new Set(['reminders', 'adherence']);
const PAGE_SECTIONS = {
    signin: '#signin-view',
    setup: '#setup-view',
    account: '#account-view',
    accounts: '#accounts-view',
    reminders: '#reminders-view',
    adherence: '#adherence-view',
};

/** The page a path shows: unknown paths are the medications page. */
function pageOf(path) {
    return PAGES[path] || 'home';
}

/** Shows the sections of one page and hides the others'. */
function showPage(view) {
    for (const [v, sel] of Object.entries(PAGE_SECTIONS)) $(sel).hidden = v !== view;
    if (view !== 'home') {
        for (const sel of ['#loading', '#welcome', '#no-persons', '#dashboard']) $(sel).hidden = true;
        if (!PERSON_PAGES.has(view)) $('#person-picker').hidden = true;
    }
}

/** The heading a page's focus goes to after an in-app navigation. */
function pageHeading(view) {
    if (view === 'home') {
        return ['#page-title', '#welcome-heading', '#no-persons-heading'].map((s) => $(s)).find((el) => el.offsetParent !== null) || $('#main');
    }
    return $(`${PAGE_SECTIONS[view]} h1`);
}

/**
 * Shows the page the URL names, or the one the server's state requires: the
 * first-run page while no account exists, the sign-in page (which returns to
 * the URL afterwards) without a session. Without access control the account
 * pages are not there. `focus`: move focus to the page's heading (an in-app
 * navigation, where no page load tells a screen reader the page changed).
 */
async function route({ focus = false } = {}) {
    const a = state.auth;
    const here = window.location.pathname + window.location.search;
    let view = pageOf(window.location.pathname);
    if (a.known && a.enabled && a.setupRequired) {
        view = 'setup';
        if (window.location.pathname !== '/setup') window.history.replaceState(null, '', '/setup');
    } else if (a.known && a.enabled && !state.account) {
        view = 'signin';
        if (window.location.pathname !== '/signin') window.history.replaceState(null, '', signinUrl(here));
    } else if (view === 'signin' || view === 'setup') {
        const next = view === 'signin' ? safeNext(new URLSearchParams(window.location.search).get('next')) : '/';
        window.history.replaceState(null, '', next);
        view = pageOf(new URL(next, window.location.origin).pathname);
    }
    if ((view === 'account' && !state.account) || (view === 'accounts' && !(state.account && state.can.admin))) view = 'home';
    if (view === 'home' && window.location.pathname !== '/') {
        window.history.replaceState(null, '', `/${window.location.search}`);
    }
    state.view = view;
    showPage(view);
    markCurrentPage(view);
    if (view === 'signin') {
        showSignin();
        return;
    }
    if (view === 'setup') {
        showSetup();
        return;
    }
    const msg = takeFlash();
    if (msg) announce(msg);
    if (view === 'account') await openAccountPage();
    else if (view === 'accounts') await openAccountsPage();
    else if (PERSON_PAGES.has(view)) await openPersonPage(view);
    else {
        readUrl();
        await refresh({ persons: true });
    }
    if (focus) {
        const heading = pageHeading(view);
        if (heading) heading.focus();
    }
}

/**
 * Shows the reminders or adherence page of the person in the URL (else the
 * selected or first one), loading the persons and that person's medications
 * (for names) when they are not known yet.
 */
async function openPersonPage(view) {
    const person = Number(new URLSearchParams(window.location.search).get('person'));
    if (Number.isInteger(person) && person > 0) state.personId = person;
    try {
        if (!state.persons.length || needPersons) {
            state.persons = await api.listPersons();
            needPersons = false;
        }
        choosePerson();
        state.personMeds = state.personId !== null ? await api.listMedications(state.personId, today(), today()) : [];
    } catch (e) {
        if (e.status !== 401) announce(`Could not load: ${e.message}`, 'error');
    }
    renderPersonPicker();
    writePersonLinks();
    if (view === 'reminders') await openRemindersPage();
    else await openAdherencePage();
}

/** The links back to the medications keep the person. */
function writePersonLinks() {
    const url = state.personId !== null ? `/?person=${state.personId}` : '/';
    for (const sel of ['#reminders-back', '#adherence-back', '#nav-home']) $(sel).setAttribute('href', url);
}

/** An in-app link: the page changes without a page load. */
async function navigate(url) {
    window.history.pushState(null, '', url);
    await route({ focus: true });
}

function initPages() {
    document.addEventListener('click', (ev) => {
        const a = ev.target.closest && ev.target.closest('a[data-nav]');
        if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
        ev.preventDefault();
        navigate(a.getAttribute('href'));
    });
    window.addEventListener('popstate', () => route({ focus: true }));
}

async function start() {
    await loadAuth();
    await route();
}

actions.refresh = refresh;
actions.selectPerson = selectPerson;
actions.render = render;
actions.navigate = navigate;

initAuth();
initPages();
initAccount();
initAdmin();
initConnectivity();
initPersons();
initMeds();
initDosing();
initHistory();
initAudit();
initLimits();
initScheduleEditor();
initReminders();
initAdherence();
initLog();
initDeleted();
initNavigation();
registerServiceWorker();
start();
