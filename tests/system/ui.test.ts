import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalTool, lacking, titleNeeding } from '@cupo/stack';
import { apiClient, createRoom, createSection, day, startTestStack, token, type TestStack } from './support.js';

/**
 * The web UI in a real browser: Chromium or Chrome (make test finds one, or installs Debian's
 * on Debian as root) driven by playwright-core against the whole system. Screenshots of each
 * page are kept in test-results/screenshots/. Without a browser the tests are skipped, saying
 * how to enable them (and vitest runs no hook of a file whose every test is skipped).
 */
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const chromiumBinary = externalTool('chromium');
let stack: TestStack;
let browser: Browser;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startTestStack('ui', {
    replicas: { inventory: 2, booking: 2, enrollment: 2, worker: 2 },
    serviceEnv: { gateway: { DEV_LOGIN_ENABLED: 'true' } },
  });
  api = apiClient(stack.gatewayUrl);
  browser = await chromium.launch({
    executablePath: chromiumBinary.path!,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function signedIn(sub: string, role: 'guest' | 'student' | 'admin', viewport = { width: 1100, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${stack.gatewayUrl}/#/signin`);
  await page.getByLabel('User id').fill(sub);
  await page.getByLabel('Role').selectOption(role);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction(() => location.hash !== '#/signin');
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe.skipIf(lacking(chromiumBinary))(titleNeeding('the web UI in Chromium', chromiumBinary), () => {
  it('lets a guest book a room and cancel it', async () => {
    const room = await createRoom(api, { name: 'UI Double', total_quantity: 2 });
    const page = await signedIn('ui-guest', 'guest');
    await page.goto(`${stack.gatewayUrl}/#/rooms?room=${room.id}`);
    await page.getByLabel('Room').selectOption(String(room.id));
    await expect.poll(() => page.locator(`.calendar [data-date="${day(3)}"]`).textContent(), { timeout: 10_000 }).toContain('2/2 free');
    await page.getByLabel('Check-in').fill(day(3));
    await page.getByLabel('Check-out').fill(day(5));
    await page.getByRole('button', { name: 'Book' }).click();
    await expect.poll(() => page.locator('#book-result').textContent(), { timeout: 10_000 }).toContain('Booked: 2 night(s)');
    await expect.poll(() => page.locator(`.calendar [data-date="${day(3)}"]`).textContent(), { timeout: 10_000 }).toContain('1/2 free');
    await shot(page, 'rooms-booked');

    await page.goto(`${stack.gatewayUrl}/#/bookings`);
    await page.getByRole('button', { name: 'Cancel' }).first().click();
    await expect.poll(() => page.locator('#bookings-result').textContent(), { timeout: 10_000 }).toContain('Cancelled');
    await expect.poll(() => page.locator('tbody').textContent(), { timeout: 10_000 }).toContain('cancelled');
    await shot(page, 'bookings-cancelled');
  });

  it('gives the last room-night to exactly one of two racing browsers; the other sees the conflict', async () => {
    const room = await createRoom(api, { name: 'UI Last Unit', total_quantity: 1 });
    const pages = await Promise.all([signedIn('racer-a', 'guest'), signedIn('racer-b', 'guest', { width: 390, height: 844 })]);
    for (const page of pages) {
      await page.goto(`${stack.gatewayUrl}/#/rooms?room=${room.id}`);
      await page.getByLabel('Room').selectOption(String(room.id));
      await page.getByLabel('Check-in').fill(day(6));
      await page.getByLabel('Check-out').fill(day(7));
    }
    await Promise.all(pages.map((page) => page.getByRole('button', { name: 'Book' }).click()));
    const results = await Promise.all(
      pages.map(async (page) => {
        await expect.poll(() => page.locator('#book-result').textContent(), { timeout: 10_000 }).toMatch(/Booked|Not available/);
        return (await page.locator('#book-result').textContent()) ?? '';
      }),
    );
    expect(results.filter((r) => r.startsWith('Booked'))).toHaveLength(1);
    const loser = pages[results.findIndex((r) => r.startsWith('Not available'))]!;
    expect(await loser.locator('#book-result').textContent()).toContain('someone else just took it');
    await expect.poll(() => loser.locator(`.calendar [data-date="${day(6)}"]`).textContent(), { timeout: 10_000 }).toContain('0/1 free');
    await shot(pages[0]!, 'race-a');
    await shot(pages[1]!, 'race-b-phone');
  });

  it('lets a student enroll in two sections and see the result', async () => {
    await createSection(api, { code: 'UI-A', course: 'UIA', capacity: 5, schedule: [{ day: 'mon', start: '13:00', end: '14:00' }] });
    await createSection(api, { code: 'UI-B', course: 'UIB', capacity: 5, schedule: [{ day: 'tue', start: '13:00', end: '14:00' }] });
    const page = await signedIn('RA0021', 'student');
    await page.goto(`${stack.gatewayUrl}/#/sections`);
    await page.getByLabel('Choose UI-A').check();
    await page.getByLabel('Choose UI-B').check();
    await page.getByRole('button', { name: 'Submit request' }).click();
    await expect.poll(() => page.locator('#request-status').textContent(), { timeout: 15_000 }).toBe('completed');
    expect(await page.locator('#enroll-result').textContent()).toContain('UI-A: enrolled');
    expect(await page.locator('#enroll-result').textContent()).toContain('UI-B: enrolled');
    await shot(page, 'enrollment-completed');
  });

  it('shows a report’s progress and its result', async () => {
    const page = await signedIn('ui-reporter', 'guest');
    await page.goto(`${stack.gatewayUrl}/#/reports`);
    await page.getByLabel('Report').selectOption('occupancy_report');
    await page.getByRole('button', { name: 'Run report' }).click();
    await expect.poll(() => page.locator('#report-status').textContent(), { timeout: 15_000 }).toBe('completed');
    expect(await page.locator('#report-result pre').textContent()).toContain('room_nights');
    await shot(page, 'report-completed');
  });

  it('lets an admin run an ingest and follow it to the end', async () => {
    const admin = await token('ui-admin', 'admin');
    await api('PUT', '/api/admin/config', {
      token: admin,
      body: { batch_size: 10, rate_limit_directory_per_min: 3000, rate_limit_lms_per_min: 3000, rate_limit_email_per_min: 3000 },
    });
    const page = await signedIn('ui-admin', 'admin');
    await page.goto(`${stack.gatewayUrl}/#/admin`);
    await expect.poll(() => page.locator('#breakers').textContent(), { timeout: 10_000 }).toContain('healthy');
    await page.getByRole('button', { name: /Ingest new students/ }).click();
    await expect.poll(() => page.locator('#ingest-done').textContent(), { timeout: 30_000 }).toContain('Onboarding finished');
    expect(await page.locator('#ingest-progress').textContent()).toMatch(/30 new of 30/);
    expect(await page.locator('#batches-done').textContent()).toBe('3');
    expect(await page.locator('#workflows-done').textContent()).toBe('30');
    await page.getByLabel('Type').selectOption('workflow');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.locator('#tasks tbody tr').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(30);
    await shot(page, 'admin-onboarding');
  });

  it('labels every form control, and signs in from the keyboard alone', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${stack.gatewayUrl}/#/signin`);
    await page.getByLabel('User id').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('keyboard-admin');
    await page.keyboard.press('Tab');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/admin');
    for (const view of ['#/signin', '#/rooms', '#/bookings', '#/sections', '#/reports', '#/admin']) {
      await page.goto(`${stack.gatewayUrl}/${view}`);
      await page.waitForTimeout(400);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('main input, main select, main textarea')]
          .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      expect({ view, unlabelled }).toEqual({ view, unlabelled: [] });
    }
    await shot(page, 'admin-keyboard');
  });
});
