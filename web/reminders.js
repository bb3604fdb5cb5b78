// The reminders page of a person (issue 16, docs/reminders.md): the
// person's notification channels (ntfy, Gotify, webhook, e-mail: add,
// delete, "Send a test" with its outcome; tokens and secrets are sent once
// and shown only as "set"), the signed-in carer's or administrator's own
// channels for escalations, the reminder settings (repeats, quiet hours,
// escalation), the calendar feed (a link shown once with a copy button,
// revoke) and the notification log. Viewers see everything and change
// nothing: no forms, no buttons that change or send.

import * as api from './api.js';
import { $, announce, confirmDialog, h, showFormErrors, srOnly } from './dom.js';
import { browserZone } from './due.js';
import { personName, selectedPerson, state } from './state.js';
import { fmtInstant } from './time.js';

const TYPES = {
    ntfy: { name: 'ntfy', url: 'Topic URL', urlHint: 'For example https://ntfy.sh/your-topic.', token: 'optional' },
    gotify: { name: 'Gotify', url: 'Server URL', urlHint: 'The Gotify server, for example https://gotify.example.org.', token: 'required' },
    webhook: { name: 'Webhook', url: 'URL', urlHint: 'Receives a signed JSON POST (X-MediTrack-Signature, HMAC-SHA256).', secret: true },
    email: { name: 'E-mail', to: true },
};
const KIND_TEXT = { reminder: 'Reminder', repeat: 'Repeat', escalation: 'Escalation', test: 'Test' };
const DELIVERY_STATUS = { pending: 'Pending', sending: 'Sending', sent: 'Sent', failed: 'Failed', missed: 'Missed' };

let personId = null;
let channels = { person: [], me: [] };
const testOutcome = new Map(); // channel id -> { ok, text }

function setError(sel, msg) {
    const box = $(sel);
    box.textContent = msg || '';
    box.hidden = !msg;
}

function mayChangeOwn() {
    // Account channels exist with access control only, for the roles that
    // receive escalations (carers and administrators).
    return !!state.account && (state.account.role === 'carer' || state.account.role === 'admin');
}

// ---- channels -----------------------------------------------------------------------

function channelTarget(c) {
    return c.type === 'email' ? c.to || '' : c.url || '';
}

function channelRow(c, owner) {
    const t = TYPES[c.type] || { name: c.type };
    const facts = [];
    if (c.type === 'gotify' || c.type === 'ntfy') facts.push(c.has_secret ? 'Token: set' : 'Token: none');
    if (c.type === 'webhook') facts.push(c.has_secret ? 'Secret: set' : 'Secret: none');
    if (!c.enabled) facts.push('Disabled');
    facts.push(`Added ${fmtInstant(c.created_at)}`);
    const out = testOutcome.get(c.id);
    const label = ` the ${t.name} channel ${channelTarget(c)}`;
    const canChange = owner === 'me' ? mayChangeOwn() : state.can.manage;
    return h(
        'li',
        { class: 'row channel-row', dataset: { channelId: c.id, type: c.type } },
        h(
            'div',
            { class: 'row-info' },
            h('span', { class: 'badge' }, t.name),
            h('span', { class: 'row-title channel-target' }, channelTarget(c)),
            h('span', { class: 'row-facts muted' }, facts.join(' · ')),
            out ? h('p', { class: `test-outcome ${out.ok ? 'is-ok' : 'is-failed'}`, role: 'status' }, out.text) : null,
        ),
        canChange
            ? h(
                  'div',
                  { class: 'row-actions' },
                  h('button', { type: 'button', class: 'btn btn-small btn-test', disabled: !state.online, onclick: (ev) => sendTest(c, owner, ev.currentTarget) }, 'Send a test', srOnly(` to${label}`)),
                  h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', disabled: !state.online, onclick: () => removeChannel(c, owner) }, 'Delete', srOnly(label)),
              )
            : null,
    );
}

function renderChannels(owner) {
    const list = $(owner === 'me' ? '#my-channels-list' : '#channels-list');
    const items = channels[owner];
    if (!items.length) {
        list.replaceChildren(h('li', { class: 'empty' }, owner === 'me' ? 'You have no channels yet.' : 'No channels yet: no reminders are sent.'));
        return;
    }
    list.replaceChildren(...items.map((c) => channelRow(c, owner)));
}

async function loadChannels(owner) {
    const err = owner === 'me' ? '#my-channels-error' : '#channels-error';
    setError(err, '');
    try {
        channels[owner] = (await api.listChannels(owner === 'me' ? 'me' : personId)) || [];
    } catch (e) {
        channels[owner] = [];
        setError(err, e.message);
    }
    renderChannels(owner);
}

async function sendTest(c, owner, btn) {
    if (btn.getAttribute('aria-busy') === 'true') return;
    btn.setAttribute('aria-busy', 'true');
    btn.setAttribute('aria-disabled', 'true');
    testOutcome.set(c.id, { ok: true, text: 'Sending a test…' });
    try {
        const r = await api.testChannel(c.id);
        const ok = r && r.status === 'sent';
        testOutcome.set(c.id, { ok, text: ok ? 'Test sent.' : `Test failed: ${(r && r.detail) || 'no reason given'}.` });
        announce(ok ? `The test to ${channelTarget(c)} was sent.` : `The test to ${channelTarget(c)} failed: ${(r && r.detail) || ''}`, ok ? 'info' : 'error');
    } catch (e) {
        testOutcome.set(c.id, { ok: false, text: `Test not sent: ${e.message}` });
        announce(`The test was not sent: ${e.message}`, 'error');
    }
    renderChannels(owner);
    const again = document.querySelector(`[data-channel-id="${c.id}"] .btn-test`);
    if (again) again.focus();
    loadLog();
}

async function removeChannel(c, owner) {
    const t = TYPES[c.type] || { name: c.type };
    const ok = await confirmDialog(`Delete the ${t.name} channel?`, `${channelTarget(c)} will get no more reminders. Its deliveries leave the log.`, 'Delete channel');
    if (!ok) return;
    try {
        await api.deleteChannel(c.id);
        announce(`The ${t.name} channel was deleted.`);
    } catch (e) {
        announce(`Could not delete the channel: ${e.message}`, 'error');
    }
    testOutcome.delete(c.id);
    await loadChannels(owner);
    $(owner === 'me' ? '#my-channels-heading' : '#channels-heading').focus();
    loadLog();
}

/** The add-a-channel form of an owner ('person' or 'me'); its fields follow the type. */
function channelForm(owner) {
    const p = owner === 'me' ? 'my-ch' : 'ch';
    const id = (f) => `${p}-${f}`;
    const field = (f, label, input, hint) =>
        h('div', { class: 'field', id: id(`${f}-field`) }, h('label', { for: id(f) }, label), input, hint ? h('p', { class: 'hint', id: id(`${f}-hint`) }, hint) : null);
    const type = h(
        'select',
        { id: id('type'), name: 'type' },
        ...Object.entries(TYPES).map(([k, t]) => h('option', { value: k }, k === 'webhook' ? 'Webhook (signed JSON POST)' : t.name)),
    );
    const form = h(
        'form',
        { class: 'form channel-form', id: id('form'), novalidate: true },
        h('h3', {}, 'Add a channel'),
        field('type', 'Type', type),
        field('url', 'URL', h('input', { id: id('url'), name: 'url', type: 'url', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': id('url-hint') }), ' '),
        field('token', 'Token', h('input', { id: id('token'), name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': id('token-hint') }), ' '),
        field('secret', 'Shared secret', h('input', { id: id('secret'), name: 'secret', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': id('secret-hint') }), 'The receiver checks the signature of each POST with it. Stored encrypted, never shown again.'),
        field('to', 'E-mail address', h('input', { id: id('to'), name: 'to', type: 'email', autocomplete: 'off', spellcheck: 'false' })),
        h('p', { class: 'form-error', role: 'alert', hidden: true }),
        h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add channel')),
    );
    const sync = () => {
        const t = TYPES[type.value];
        $(`#${id('url-field')}`, form).hidden = !t.url;
        $(`#${id('token-field')}`, form).hidden = !t.token;
        $(`#${id('secret-field')}`, form).hidden = !t.secret;
        $(`#${id('to-field')}`, form).hidden = !t.to;
        if (t.url) {
            $(`label[for=${id('url')}]`, form).textContent = t.url;
            $(`#${id('url-hint')}`, form).textContent = t.urlHint;
        }
        if (t.token) {
            $(`label[for=${id('token')}]`, form).replaceChildren(t.token === 'required' ? 'Application token' : 'Access token ', t.token === 'required' ? '' : h('span', { class: 'optional' }, '(optional)'));
            $(`#${id('token-hint')}`, form).textContent = 'Stored encrypted, never shown again.';
        }
    };
    type.addEventListener('change', sync);
    form.addEventListener('submit', (ev) => submitChannel(ev, owner));
    sync();
    return form;
}

async function submitChannel(ev, owner) {
    ev.preventDefault();
    const form = ev.target;
    const btn = form.querySelector('[type=submit]');
    if (btn.disabled) return;
    const type = form.elements.type.value;
    const t = TYPES[type];
    const v = (n) => form.elements[n].value.trim();
    const body = { type };
    const fields = {};
    if (t.url) {
        body.url = v('url');
        if (!/^https?:\/\/[^\s/]+/i.test(body.url)) fields.url = 'an http(s) URL';
    }
    if (t.token && v('token')) body.token = v('token');
    if (t.token === 'required' && !body.token) fields.token = 'required';
    if (t.secret) {
        body.secret = v('secret');
        if (!body.secret) fields.secret = 'required';
    }
    if (t.to) {
        body.to = v('to');
        if (!/^[^\s@,;<>]+@[^\s@,;<>]+$/.test(body.to)) fields.to = 'one address';
    }
    if (Object.keys(fields).length) {
        const names = { url: 'an http:// or https:// URL', token: 'the application token', secret: 'the shared secret', to: 'one e-mail address' };
        showFormErrors(form, Object.assign(new Error(`Please enter ${Object.keys(fields).map((k) => names[k]).join(', ')}.`), { fields }));
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    btn.disabled = true;
    try {
        await api.createChannel(owner === 'me' ? 'me' : personId, body);
        // The secrets leave the page: they are never shown again.
        form.reset();
        form.elements.type.dispatchEvent(new Event('change'));
        showFormErrors(form, null);
        announce(`The ${t.name} channel was added.`);
        await loadChannels(owner);
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        btn.disabled = false;
    }
}

// ---- reminder settings ----------------------------------------------------------------

function settingsText(s) {
    const parts = [];
    parts.push(s.repeat_minutes ? `Repeated every ${s.repeat_minutes} minutes, at most ${s.max_repeats} times` : 'Not repeated');
    parts.push(s.quiet_start && s.quiet_end ? `quiet from ${s.quiet_start} to ${s.quiet_end}` : 'no quiet hours');
    parts.push(s.escalate_after_minutes ? `carers told after ${s.escalate_after_minutes} minutes` : 'carers not told');
    return `${parts.join('; ')}.`;
}

function fillSettings(s) {
    const form = $('#rsettings-form');
    form.elements.repeat_minutes.value = s.repeat_minutes ?? '';
    form.elements.max_repeats.value = s.max_repeats ?? '';
    form.elements.quiet_start.value = s.quiet_start || '';
    form.elements.quiet_end.value = s.quiet_end || '';
    form.elements.escalate_after_minutes.value = s.escalate_after_minutes ?? '';
    $('#rsettings-text').textContent = settingsText(s);
}

async function loadSettings() {
    const form = $('#rsettings-form');
    showFormErrors(form, null);
    form.hidden = !state.can.manage;
    try {
        fillSettings(await api.reminderSettings(personId));
    } catch (e) {
        $('#rsettings-text').textContent = `The settings could not be loaded: ${e.message}`;
    }
}

async function submitSettings(ev) {
    ev.preventDefault();
    const form = ev.target;
    const btn = form.querySelector('[type=submit]');
    if (btn.disabled) return;
    const num = (n) => (form.elements[n].value.trim() === '' ? null : Number(form.elements[n].value));
    const body = {
        repeat_minutes: num('repeat_minutes'),
        quiet_start: form.elements.quiet_start.value || null,
        quiet_end: form.elements.quiet_end.value || null,
        escalate_after_minutes: num('escalate_after_minutes'),
    };
    const max = num('max_repeats');
    if (max !== null) body.max_repeats = max;
    const fields = {};
    const wants = [];
    if (body.repeat_minutes !== null && !(Number.isInteger(body.repeat_minutes) && body.repeat_minutes >= 1 && body.repeat_minutes <= 1440)) {
        fields.repeat_minutes = 'x';
        wants.push('repeats every 1 to 1440 minutes');
    }
    if (max !== null && !(Number.isInteger(max) && max >= 0 && max <= 100)) {
        fields.max_repeats = 'x';
        wants.push('0 to 100 repeats');
    }
    if (!body.quiet_start !== !body.quiet_end || (body.quiet_start && body.quiet_start === body.quiet_end)) {
        fields[body.quiet_start ? 'quiet_end' : 'quiet_start'] = 'x';
        wants.push('both quiet-hour times (different) or neither');
    }
    if (body.escalate_after_minutes !== null && !(Number.isInteger(body.escalate_after_minutes) && body.escalate_after_minutes >= 1 && body.escalate_after_minutes <= 10080)) {
        fields.escalate_after_minutes = 'x';
        wants.push('an escalation delay of 1 to 10080 minutes');
    }
    if (wants.length) {
        showFormErrors(form, Object.assign(new Error(`Please enter ${wants.join(', ')}.`), { fields }));
        form.querySelector('[aria-invalid=true]').focus();
        return;
    }
    btn.disabled = true;
    try {
        fillSettings(await api.setReminderSettings(personId, body));
        showFormErrors(form, null);
        announce('The reminder settings were saved.');
    } catch (e) {
        showFormErrors(form, e);
    } finally {
        btn.disabled = false;
    }
}

// ---- the calendar feed -------------------------------------------------------------------

async function createCalendar() {
    const btn = $('#calendar-create');
    if (btn.disabled) return;
    btn.disabled = true;
    try {
        const t = await api.createCalendarToken(personId);
        const url = t.url || new URL(t.path, window.location.origin).href;
        $('#calendar-url').value = url;
        $('#calendar-result').hidden = false;
        announce('A new calendar link was made. Copy it now: it is shown only this once.');
        $('#calendar-url').focus();
        $('#calendar-url').select();
    } catch (e) {
        announce(`No calendar link: ${e.message}`, 'error');
    } finally {
        btn.disabled = !state.online;
    }
}

async function revokeCalendar() {
    const ok = await confirmDialog('Revoke the calendar link?', 'Calendars subscribed to it stop getting the schedule. You can create a new link afterwards.', 'Revoke link');
    if (!ok) return;
    hideCalendarUrl();
    try {
        await api.revokeCalendarToken(personId);
        announce('The calendar link was revoked.');
    } catch (e) {
        announce(e.status === 404 ? 'There was no calendar link to revoke.' : `Could not revoke: ${e.message}`, e.status === 404 ? 'info' : 'error');
    }
    $('#calendar-revoke').focus();
}

function hideCalendarUrl() {
    $('#calendar-url').value = '';
    $('#calendar-result').hidden = true;
}

async function copyCalendar() {
    const input = $('#calendar-url');
    try {
        await navigator.clipboard.writeText(input.value);
        announce('The calendar link was copied. Add it to your calendar as a subscription.');
    } catch (e) {
        input.focus();
        input.select();
        announce('Copying is not allowed here: the link is selected, press Ctrl+C to copy it.');
    }
}

// ---- the notification log ------------------------------------------------------------------

function deliveryRow(d, medName, channelText) {
    const when = d.sent_at || d.due_at || d.created_at;
    const kind = KIND_TEXT[d.kind] || d.kind;
    const slot = d.slot ? `${medName(d.slot.medication_id)} at ${fmtInstant(d.slot.slot_at)}` : 'test message';
    const facts = [`${channelText(d)}`, slot, `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`];
    return h(
        'li',
        { class: 'row notif-row', dataset: { status: d.status, kind: d.kind, channelId: d.channel_id } },
        h(
            'div',
            { class: 'row-info' },
            h('time', { datetime: when }, fmtInstant(when)),
            h('span', { class: 'row-title' }, kind),
            h('span', { class: `mark delivery-${d.status}` }, DELIVERY_STATUS[d.status] || d.status),
            h('span', { class: 'row-facts muted' }, facts.join(' · ')),
            d.last_error ? h('span', { class: 'row-facts' }, `Reason: ${d.last_error}`) : null,
        ),
    );
}

async function loadLog() {
    setError('#notif-error', '');
    const list = $('#notif-list');
    let rows;
    try {
        rows = (await api.notifications(100)) || [];
    } catch (e) {
        setError('#notif-error', e.message);
        list.replaceChildren();
        return;
    }
    const mine = new Set(channels.me.map((c) => c.id));
    const theirs = new Map(channels.person.map((c) => [c.id, c]));
    const shown = rows.filter((d) => (d.slot && d.slot.person_id === personId) || d.channel_person_id === personId || theirs.has(d.channel_id) || mine.has(d.channel_id));
    const meds = new Map((state.personMeds || []).map((m) => [m.id, m.name]));
    const medName = (id) => meds.get(id) || `medication ${id}`;
    const channelText = (d) => {
        const t = TYPES[d.channel_type] || { name: d.channel_type || 'channel' };
        return mine.has(d.channel_id) ? `${t.name} (your channel)` : t.name;
    };
    if (!shown.length) {
        list.replaceChildren(h('li', { class: 'empty' }, 'Nothing sent yet.'));
        return;
    }
    list.replaceChildren(...shown.map((d) => deliveryRow(d, medName, channelText)));
}

// ---- the page --------------------------------------------------------------------------------

/** Shows the reminders page of the selected person. */
export async function openRemindersPage() {
    const p = selectedPerson();
    setError('#reminders-error', '');
    personId = p ? p.id : null;
    testOutcome.clear();
    hideCalendarUrl();
    $('#reminders-heading').textContent = p ? `Reminders for ${personName(p)}` : 'Reminders';
    document.title = p ? `Reminders – ${personName(p)} – MediTrack` : 'Reminders – MediTrack';
    if (!p) {
        setError('#reminders-error', 'No person to show.');
        return;
    }
    const zone = p.timezone || '';
    $('#reminders-zone').textContent = zone
        ? `Reminders follow ${p.first_name}’s time zone, ${zone}.`
        : `${p.first_name} has no time zone of their own: reminders follow the server’s zone${browserZone() ? ` (this device is in ${browserZone()})` : ''}.`;
    const manage = state.can.manage;
    $('#channel-form-slot').replaceChildren(manage ? channelForm('person') : '');
    const own = mayChangeOwn();
    $('#my-channels-card').hidden = !own;
    $('#my-channel-form-slot').replaceChildren(own ? channelForm('me') : '');
    $('#calendar-actions').hidden = !manage;
    $('#calendar-viewer-note').hidden = manage;
    for (const b of ['#calendar-create', '#calendar-revoke']) $(b).disabled = !state.online;
    // Channel addresses carry credentials (an ntfy topic is one): the
    // server lists them to carers and administrators only.
    const loads = [loadSettings()];
    if (manage) loads.push(loadChannels('person'));
    else {
        channels.person = [];
        $('#channels-list').replaceChildren(h('li', { class: 'empty' }, 'Channels are shown to carers and administrators.'));
    }
    if (own) loads.push(loadChannels('me'));
    else channels.me = [];
    await Promise.all(loads);
    await loadLog();
}

export function initReminders() {
    $('#rsettings-form').addEventListener('submit', submitSettings);
    $('#calendar-create').addEventListener('click', createCalendar);
    $('#calendar-revoke').addEventListener('click', revokeCalendar);
    $('#calendar-copy').addEventListener('click', copyCalendar);
    $('#notif-reload').addEventListener('click', loadLog);
}
