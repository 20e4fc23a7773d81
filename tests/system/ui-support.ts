import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { expect } from 'vitest';
import { externalTool } from '@cupo/stack';
import { token } from './support.js';

/** What the browser tests need beside the system: Chromium, axe-core, screenshots, page checks. */

export const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export const SIZES = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;
export type Size = (typeof SIZES)[number];

/** The browser `make test` found or installed (a variable, PATH, or Debian's); absent: the tests are skipped. */
export const chromiumBinary = externalTool('chromium');

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: chromiumBinary.path!,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Uncaught errors and failed loads of the UI's own files, across every page of the run. */
export const trouble = { pageErrors: [] as string[], missingFiles: [] as string[] };

/**
 * A browser page at `size`, signed in as `sub` (a token in the UI's storage, as its sign-in
 * leaves it) or anonymous. Uncaught errors and 404s of non-API files are collected.
 */
export async function openPage(browser: Browser, base: string, size: Size, who?: { sub: string; role: 'guest' | 'student' | 'admin' }) {
  const context: BrowserContext = await browser.newContext({ viewport: { width: size.width, height: size.height }, acceptDownloads: true });
  if (who) {
    const session = JSON.stringify({ token: await token(who.sub, who.role), sub: who.sub, role: who.role });
    await context.addInitScript((value) => {
      if (!localStorage.getItem('cupo.session')) localStorage.setItem('cupo.session', value);
    }, session);
  }
  const page = await context.newPage();
  page.on('pageerror', (error) => trouble.pageErrors.push(`${size.name} ${page.url()}: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() === 404 && !new URL(response.url()).pathname.startsWith('/api/')) trouble.missingFiles.push(response.url());
  });
  const go = async (hash: string) => {
    if (page.url() === `${base}/${hash}`) await page.reload();
    else await page.goto(`${base}/${hash}`);
    await page.waitForFunction((want) => document.querySelector('main')?.dataset.page === want, hash);
  };
  return { page, context, go };
}

/** Text of the page's main region. */
export const mainText = (page: Page) => page.locator('main').innerText();

/**
 * Checks a page as a user meets it, then keeps a screenshot: axe-core finds no violation; the
 * page does not scroll sideways; on a phone every control is at least 44 px square (a checkbox
 * by its label); no raw ids or error codes show.
 */
export async function audit(page: Page, name: string, size: Size): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('main [aria-busy="true"]'));
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await (
      window as unknown as {
        axe: { run: (c: Document, o: unknown) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> };
      }
    ).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `axe on ${name} (${size.name})`).toEqual([]);
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(widths[0], `${name} (${size.name}) scrolls sideways`).toBeLessThanOrEqual(widths[1]!);
  if (size.name === 'phone') {
    const small = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, summary')]
        .filter(
          (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden' && el.getBoundingClientRect().left >= 0,
        )
        .map((el) => {
          const target = el.matches('input[type="checkbox"], input[type="radio"]') ? ((el.closest('li, .check') as HTMLElement) ?? el) : el;
          const box = target.getBoundingClientRect();
          return { what: el.outerHTML.slice(0, 90), width: Math.round(box.width), height: Math.round(box.height) };
        })
        .filter((t) => t.width < 44 || t.height < 44),
    );
    expect(small, `tap targets under 44 px on ${name}`).toEqual([]);
  }
  const text = await mainText(page);
  expect(text, `a raw id on ${name}`).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}/);
  expect(text, `a raw error code on ${name}`).not.toMatch(/\b[A-Z]{2,}_[A-Z_]{2,}\b/);
  await page.screenshot({ path: join(SHOTS, `${name}-${size.name}.png`), fullPage: true });
}

/** The element that has focus, as text (for "focus moved to the message" checks). */
export const focused = (page: Page) => page.evaluate(() => document.activeElement?.closest('[id]')?.id ?? document.activeElement?.tagName);

/**
 * Serves a list endpoint a few items per page, as the contract pages lists (`Link: <…>;
 * rel="next"`), whatever page size the gateway uses: the whole list is read from the real
 * gateway (following its own Links) and handed out `size` at a time. It shows the UI reads a
 * list page by page through Link, never assuming one answer holds it all.
 */
export async function pageThrough(page: Page, base: string, pathname: string, size: number): Promise<{ served: string[] }> {
  const served: string[] = [];
  await page.route(
    (url) => url.pathname === pathname,
    async (route: Route) => {
      const url = new URL(route.request().url());
      const offset = Number(url.searchParams.get('cursor')?.replace('test-', '') ?? 0);
      url.searchParams.delete('cursor');
      const all: unknown[] = [];
      let next: string | undefined = `${url.pathname}${url.search}`;
      while (next) {
        const real = await route.fetch({ url: `${base}${next}` });
        all.push(...((await real.json()) as unknown[]));
        next = /<([^>]+)>;\s*rel="next"/.exec(real.headers()['link'] ?? '')?.[1];
      }
      const items = all.slice(offset, offset + size);
      served.push(`${offset}+${items.length}`);
      url.searchParams.set('cursor', `test-${offset + size}`);
      await route.fulfill({
        status: 200,
        contentType: 'application/json',
        headers: offset + size < all.length ? { link: `<${url.pathname}${url.search}>; rel="next"` } : {},
        body: JSON.stringify(items),
      });
    },
  );
  return { served };
}
