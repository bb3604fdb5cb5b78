// Renders the PNG app icons of the web UI (web/icons/*.png) from their SVG
// sources with Debian's chromium, so the PNGs are never drawn by hand. Run
// after changing an SVG: node tests/e2e/make-icons.mjs (after setup.sh).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const icons = join(here, '..', '..', 'web', 'icons');
const jobs = [
    { svg: 'icon.svg', png: 'icon-192.png', size: 192 },
    { svg: 'icon.svg', png: 'icon-512.png', size: 512 },
    { svg: 'icon-maskable.svg', png: 'icon-maskable-512.png', size: 512 },
];

const profile = mkdtempSync(join(tmpdir(), 'meditrack-icons-'));
const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
    const page = await ctx.newPage();
    for (const j of jobs) {
        const svg = readFileSync(join(icons, j.svg), 'utf8');
        const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
        await page.setViewportSize({ width: j.size, height: j.size });
        await page.setContent(
            `<style>html,body{margin:0;background:transparent}</style><img src="${src}" width="${j.size}" height="${j.size}">`,
        );
        await page.waitForFunction(() => document.images[0].complete);
        const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: j.size, height: j.size } });
        writeFileSync(join(icons, j.png), png);
        console.log(`wrote web/icons/${j.png} (${png.length} bytes)`);
    }
} finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
}
