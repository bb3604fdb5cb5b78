// MediTrack service worker: keeps a copy of the application shell (HTML, CSS,
// JavaScript modules, manifest, icons) so the app opens without the server.
// The shell is fetched network-first with revalidation (ETag), so a new
// version is used as soon as the server has it; the copy is only a fallback.
// API answers are never cached or served from here: they pass straight
// through to the network.

const CACHE = 'meditrack-shell-v4';
const SHELL = [
    '/',
    '/index.html',
    '/styles.css',
    '/app.js',
    '/account.js',
    '/adherence.js',
    '/admin.js',
    '/api.js',
    '/audit.js',
    '/auth.js',
    '/connectivity.js',
    '/dailylog.js',
    '/deleted.js',
    '/dom.js',
    '/dosing.js',
    '/due.js',
    '/history.js',
    '/limits.js',
    '/meds.js',
    '/persons.js',
    '/reminders.js',
    '/schedule.js',
    '/state.js',
    '/time.js',
    '/manifest.webmanifest',
    '/icons/icon.svg',
    '/icons/icon-192.png',
    '/icons/icon-512.png',
    '/icons/icon-maskable-512.png',
];
const NETWORK_TIMEOUT_MS = 5000;

self.addEventListener('install', (event) => {
    event.waitUntil(
        caches
            .open(CACHE)
            .then((cache) => cache.addAll(SHELL.map((u) => new Request(u, { cache: 'no-cache' }))))
            .then(() => self.skipWaiting()),
    );
});

self.addEventListener('activate', (event) => {
    event.waitUntil(
        caches
            .keys()
            .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
            .then(() => self.clients.claim()),
    );
});

function isApi(url) {
    return (
        url.pathname.startsWith('/api/') ||
        url.pathname === '/health' ||
        url.pathname === '/openapi.json' ||
        url.pathname.startsWith('/docs') ||
        url.pathname.startsWith('/redoc')
    );
}

/** fetch() that gives up after NETWORK_TIMEOUT_MS so a hanging network falls back quickly. */
function fetchWithTimeout(url) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), NETWORK_TIMEOUT_MS);
    return fetch(url, { cache: 'no-cache', credentials: 'same-origin', signal: ctrl.signal }).finally(() =>
        clearTimeout(timer),
    );
}

async function shellFirstNetwork(request, cacheKey) {
    const cache = await caches.open(CACHE);
    try {
        const res = await fetchWithTimeout(request.url);
        if (res.ok && res.type === 'basic') await cache.put(cacheKey, res.clone());
        return res;
    } catch (e) {
        const hit = await cache.match(cacheKey, { ignoreSearch: true });
        if (hit) return hit;
        throw e;
    }
}

self.addEventListener('fetch', (event) => {
    const req = event.request;
    if (req.method !== 'GET') return;
    const url = new URL(req.url);
    if (url.origin !== self.location.origin || isApi(url)) return; // never API data
    if (req.mode === 'navigate') {
        // Every page of the app is the same shell (the server does the same).
        event.respondWith(shellFirstNetwork(req, '/index.html'));
        return;
    }
    if (SHELL.includes(url.pathname)) {
        event.respondWith(shellFirstNetwork(req, url.pathname));
    }
});
