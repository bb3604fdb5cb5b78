// The UI's state, in one object that every view reads: who is signed in and
// what their role lets them do, which page, person and day is shown, what the
// server last said about them, and whether the server is reachable. `actions`
// is filled by app.js so views can ask for a reload without importing the app
// module.

import { today } from './time.js';

export const state = {
    persons: [],          // PersonWithStats from the server
    personId: null,       // selected person
    day: today(),         // selected local day, 'YYYY-MM-DD'
    followToday: true,    // the view moves to the new day at local midnight
    meds: [],             // MedicationWithDoses for personId and day
    summary: null,        // daily summary for personId and day
    due: null,            // scheduled slots of personId on day (GET /persons/{id}/due/{day})
    personMeds: [],       // medications of personId, for the reminders page's names
    online: true,         // false while the server cannot be reached
    staleSince: null,     // Date of the shown data when it came from the snapshot
    loaded: false,        // a first answer (or snapshot) has been shown
    loadedAt: null,       // Date of the last successful load
    shownKey: null,       // 'personId|day' that meds and summary belong to
    view: 'home',         // page shown: home, signin, setup, account, accounts, reminders, adherence
    auth: {
        known: false,     // the server said whether it has accounts (GET /auth/status)
        enabled: false,   // AUTH=on: requests need a session or a token
        setupRequired: false, // no account exists yet: the first-run page
    },
    account: null,        // the signed-in account (Account JSON), null when none
    // What the UI offers. Everything with AUTH=off; by role otherwise (the
    // server decides in the end; this only hides what would be refused).
    can: { record: true, manage: true, admin: true, override: true },
};

export const actions = {
    /** Reloads persons (when asked) and the data of the selected person and day. */
    refresh: async () => {},
    /** Selects another person (id) and reloads. */
    selectPerson: async () => {},
    /** Redraws everything from `state` without asking the server. */
    render: () => {},
    /** Shows the page of an in-app path ('/', '/account', '/accounts'). */
    navigate: () => {},
};

/** What an account's role lets the UI offer (docs/auth.md, permissions):
 *  viewers read; carers also record doses (and override a dosing rule with a
 *  reason, docs/dosing.md) and manage medications; admins also manage persons
 *  and accounts and read the audit trail. No account (AUTH=off): everything. */
export function capabilities(account) {
    if (!account) return { record: true, manage: true, admin: true, override: true };
    const role = account.role;
    return {
        record: role === 'carer' || role === 'admin',
        manage: role === 'carer' || role === 'admin',
        admin: role === 'admin',
        override: role === 'carer' || role === 'admin',
    };
}

export function selectedPerson() {
    return state.persons.find((p) => p.id === state.personId) || null;
}

export function isToday() {
    return state.day === today();
}

/** Display name of a person: the server's computed name, else first + last. */
export function personName(p) {
    if (!p) return '';
    return p.name || [p.first_name, p.last_name].filter(Boolean).join(' ');
}
