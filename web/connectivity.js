// Notices when the MediTrack server cannot be reached, says so in a banner
// (with what is still shown and since when), retries on its own with a
// growing pause (2 s up to 30 s), and reloads everything once it answers.

import { health, onReachability } from './api.js';
import { $, announce } from './dom.js';
import { actions, state } from './state.js';
import { fmtTime } from './time.js';

const FIRST_DELAY = 2000;
const MAX_DELAY = 30000;

let delay = FIRST_DELAY;
let retryTimer = 0;
let tickTimer = 0;
let nextAt = 0;
let checking = false;

function bannerText() {
    const secs = Math.max(0, Math.ceil((nextAt - Date.now()) / 1000));
    const when = state.loadedAt ? ` Showing what was known at ${fmtTime(state.loadedAt)}.` : '';
    const retry = checking ? ' Trying again now…' : ` Trying again in ${secs} s.`;
    return `The MediTrack server cannot be reached.${when} Recording is paused until it is back.${retry}`;
}

function renderBanner() {
    const banner = $('#conn-banner');
    banner.hidden = state.online;
    if (!state.online) $('#conn-text').textContent = bannerText();
}

function schedule() {
    clearTimeout(retryTimer);
    nextAt = Date.now() + delay;
    retryTimer = setTimeout(checkNow, delay);
    delay = Math.min(delay * 2, MAX_DELAY);
    clearInterval(tickTimer);
    tickTimer = setInterval(renderBanner, 1000);
    renderBanner();
}

async function checkNow() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    checking = true;
    renderBanner();
    try {
        await health();
    } catch (e) {
        // health() reports the failure through onReachability.
    } finally {
        checking = false;
        if (!state.online && !retryTimer) schedule();
    }
}

function setOffline() {
    if (state.online) {
        state.online = false;
        delay = FIRST_DELAY;
        document.body.classList.add('is-offline');
        actions.render();
    }
    if (!retryTimer && !checking) schedule();
    renderBanner();
}

function setOnline() {
    if (state.online) return;
    state.online = true;
    clearTimeout(retryTimer);
    clearInterval(tickTimer);
    retryTimer = 0;
    delay = FIRST_DELAY;
    document.body.classList.remove('is-offline');
    renderBanner();
    announce('Connected to the MediTrack server again.');
    actions.refresh({ persons: true });
}

export function initConnectivity() {
    onReachability((ok) => (ok ? setOnline() : setOffline()));
    $('#conn-retry').addEventListener('click', () => {
        delay = FIRST_DELAY;
        checkNow();
    });
    window.addEventListener('online', () => {
        if (!state.online) checkNow();
    });
}
