import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '@cupo/stack';
import { apiClient, createRoom, createSection, day, startTestStack, token, waitForTerminal, type TestStack } from './support.js';
import { lacking, titleNeeding } from '@cupo/stack';
import { SIZES, audit, chromiumBinary, focused, launchBrowser, mainText, openPage, pageThrough, trouble, type Size } from './ui-support.js';

/** Without a browser every test here is skipped, and the summary says what would enable them. */
const suite = lacking(chromiumBinary) ? describe.skip : describe;

/**
 * The web UI in a real browser: Debian's Chromium (make test installs it if missing) driven
 * by playwright-core against the whole system, every journey at desktop (1280×900) and phone
 * (390×844) size. Each page is checked by axe-core, for sideways scrolling and (on a phone)
 * 44 px tap targets, and kept as a screenshot in test-results/screenshots/.
 */
let stack: TestStack;
let browser: Browser;
let api: ReturnType<typeof apiClient>;
let admin: string;

beforeAll(async () => {
  if (lacking(chromiumBinary)) return;
  stack = await startTestStack('ui', {
    replicas: { inventory: 1, booking: 2, enrollment: 2, worker: 1 },
    serviceEnv: { gateway: { DEV_LOGIN_ENABLED: 'true' } },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('ui-admin', 'admin');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const dayName = (date: string) =>
  new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).format(
    new Date(`${date}T00:00:00Z`),
  );

/** expect.poll with room for a shared machine: each look is quick, but work may queue. */
const eventually = <T>(look: () => Promise<T> | T, options: { timeout?: number } = {}) =>
  expect.poll(look, { timeout: 10_000, ...options });

/** What a screen reader says for a night of the calendar. */
const nightName = (page: Page, date: string) => page.locator(`.night[data-date="${date}"]`).evaluate((button) => button.textContent);

/** Fills a date input the way a user's picker does (the change event the UI listens to). */
async function setDate(page: Page, selector: string, value: string) {
  await page.locator(selector).fill(value);
  await page.locator(selector).dispatchEvent('change');
}

/** Holds a student's row lock, which every seat step of their requests takes first: their requests stay open until `release`. */
async function holdStudent(id: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = stack.enrollmentDb.begin(async (tx) => {
    await tx`SELECT 1 FROM students WHERE id = ${id} FOR UPDATE`;
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await holder;
  };
}

suite.each(SIZES)(titleNeeding('the web UI at $name size ($width×$height)', chromiumBinary), (size: Size) => {
  const tag = size.name === 'desktop' ? 'D' : 'P';

  it('17.3, 17.4: a guest searches by dates, picks nights on the calendar, books, is told the truth, and cancels after being asked', async () => {
    await createRoom(api, { name: `Garden ${tag}`, total_quantity: 2, open_days: 30 });
    const last = await createRoom(api, { name: `Attic ${tag}`, total_quantity: 1, open_days: 30 });
    const other = await token(`other-${tag}`, 'guest');
    expect(
      (await api('POST', '/api/bookings', { token: other, body: { room_id: last.id, check_in: day(6), check_out: day(7) } })).status,
    ).toBe(201);
    const { page, go } = await openPage(browser, stack.gatewayUrl, size, { sub: `guest-${tag}`, role: 'guest' });

    await go(`#/rooms?in=${day(3)}&out=${day(5)}`);
    const card = page.locator('.card', { hasText: `Garden ${tag}` });
    await eventually(() => card.innerText()).toContain('Free for all 2 nights (2 units left)');
    await eventually(() => page.locator('.card', { hasText: `Attic ${tag}` }).innerText()).toContain('Free for all 2 nights');
    await audit(page, 'rooms-search', size);

    await card.getByRole('link', { name: `Choose Garden ${tag}` }).click();
    await page.locator('.calendar').waitFor();
    expect(await page.locator('.weekday').allInnerTexts()).toEqual(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
    expect(await page.locator('.calendar-title').innerText()).toMatch(/^[A-Z][a-z]+ \d{4}/);
    expect(await nightName(page, day(35))).toBe(`${dayName(day(35))}: Closed (not on sale)`);
    expect(await page.locator('#check_in').getAttribute('min')).toBe(day(0));
    expect(await page.locator('#check_in').getAttribute('max')).toBe(day(29));
    expect(await page.locator('#check_out').getAttribute('max')).toBe(day(30));
    // Nights are picked by clicking: the first night, then the last.
    await page.locator(`.night[data-date="${day(3)}"]`).click();
    await page.locator(`.night[data-date="${day(4)}"]`).click();
    expect(await page.locator('#check_in').inputValue()).toBe(day(3));
    expect(await page.locator('#check_out').inputValue()).toBe(day(5));
    expect(await page.locator('.night[aria-pressed="true"]').count()).toBe(2);
    expect(await page.locator('#stay-summary').innerText()).toBe(`Your stay: ${dayName(day(3))} → ${dayName(day(5))}, 2 nights.`);

    // A bad range is said once, in words.
    await setDate(page, '#check_out', day(3));
    await page.getByRole('button', { name: /^Book/ }).click();
    await eventually(() => page.locator('#book-result').innerText()).toBe('Check-out must be after check-in.');
    expect((await mainText(page)).split('Check-out must be after').length).toBe(2);

    await setDate(page, '#check_in', day(3));
    await setDate(page, '#check_out', day(5));
    await page.getByRole('button', { name: 'Book 2 nights' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toContain(
      `Booked Garden ${tag}: ${dayName(day(3))} → ${dayName(day(5))}, 2 nights.`,
    );
    expect(await page.locator('#book-result a').innerText()).toBe('See My bookings');
    expect(await focused(page)).toBe('book-result');
    await eventually(() => page.locator(`.night[data-date="${day(3)}"]`).innerText()).toContain('1 left');
    await audit(page, 'room-booked', size);

    // Nights the guest already holds: asked first, nothing sent on "no"; then the last unit too.
    await page.getByRole('button', { name: 'Book 2 nights' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toContain(
      `You already hold Garden ${tag} on ${dayName(day(3))} – ${dayName(day(4))}. Book another unit?`,
    );
    await page.getByRole('button', { name: 'Do not book' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toBe('Nothing was booked.');
    await page.getByRole('button', { name: 'Book 2 nights' }).click();
    await page.getByRole('button', { name: 'Book another unit' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toContain('Booked');
    await page.getByRole('button', { name: 'Book 2 nights' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toBe(
      `You already hold the last unit of Garden ${tag} on ${dayName(day(3))} – ${dayName(day(4))}: see My bookings.`,
    );
    // Nights not on sale.
    await setDate(page, '#check_in', day(31));
    await setDate(page, '#check_out', day(32));
    await page.getByRole('button', { name: 'Book 1 night' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toBe(
      `Garden ${tag} is not on sale on ${dayName(day(31))}. Choose other dates.`,
    );

    // A night sold out before the guest looked: sold out, not "someone else just took it".
    await go(`#/rooms?room=${last.id}&in=${day(6)}&out=${day(7)}`);
    await page.locator('.calendar').waitFor();
    expect(await nightName(page, day(6))).toBe(`${dayName(day(6))}: Sold out, in your stay`);
    expect(await page.locator(`.night[data-date="${day(6)}"]`).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Book 1 night' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toBe(
      `Attic ${tag} is sold out on ${dayName(day(6))}. Choose other dates or another room.`,
    );
    // A night that was free when the guest looked and is taken meanwhile: someone else just took it.
    await page.locator(`.night[data-date="${day(8)}"]`).click();
    expect(
      (await api('POST', '/api/bookings', { token: other, body: { room_id: last.id, check_in: day(8), check_out: day(9) } })).status,
    ).toBe(201);
    await page.getByRole('button', { name: 'Book 1 night' }).click();
    await eventually(() => page.locator('#book-result').innerText()).toBe(
      `Someone else just took Attic ${tag} on ${dayName(day(8))}. The calendar now shows what is left.`,
    );
    expect(await page.locator(`.night[data-date="${day(8)}"]`).innerText()).toContain('Sold out');

    // My bookings: names and dates; cancel asks first, and "keep" changes nothing.
    await go('#/bookings');
    const row = page.locator('tbody tr').first();
    await eventually(() => row.innerText()).toContain(`Garden ${tag}`);
    expect(await row.innerText()).toContain(`${dayName(day(3))} → ${dayName(day(5))}, 2 nights`);
    expect(await row.innerText()).toContain('Confirmed');
    await row.getByRole('button', { name: /^Cancel/ }).click();
    await page.getByRole('button', { name: 'Keep the booking' }).click();
    await eventually(() => page.locator('#bookings-result').innerText()).toContain('Kept');
    expect(await row.innerText()).toContain('Confirmed');
    await row.getByRole('button', { name: /^Cancel/ }).click();
    await audit(page, 'bookings-confirm-cancel', size);
    await page.getByRole('button', { name: 'Yes, cancel the booking' }).click();
    await eventually(() => page.locator('#bookings-result').innerText()).toContain(`Cancelled Garden ${tag}`);
    expect(await page.locator('tbody tr').first().innerText()).toContain('Cancelled');
    expect(await focused(page)).toBe('bookings-result');
    await audit(page, 'bookings', size);
  });

  it('17.1, 17.2: a student finds sections by name, day, time and seats, sees clashes before sending, and keeps a request’s live status across pages', async () => {
    const student = size.name === 'desktop' ? 'RA0011' : 'RA0012';
    const one = `UI-ONE-${tag}`;
    await createSection(api, { code: one, course: `ONE${tag}`, capacity: 1, schedule: [{ day: 'thu', start: '18:00', end: '19:00' }] });
    // G-ELC108-E has one seat: taken, so it shows as full.
    if (size.name === 'desktop') {
      const taken = await api('POST', '/api/enrollments', {
        token: await token('RA0049', 'student'),
        body: { term: '1-2025', sections: ['G-ELC108-E'] },
      });
      await waitForTerminal(api, [taken.body.request_id], admin);
    }
    const { page, go } = await openPage(browser, stack.gatewayUrl, size, { sub: student, role: 'student' });
    await go('#/enroll');
    await page.locator('#s-G-MAT101-A').waitFor();
    expect(await page.locator('label[for="s-G-MAT101-A"]').innerText()).toContain('Calculus I');
    const full = page.locator('li.section', { has: page.locator('#s-G-ELC108-E') });
    expect(await full.innerText()).toContain('Full');
    expect(await page.locator('#s-G-ELC108-E').isDisabled()).toBe(true);
    await audit(page, 'enroll', size);

    const count = () => page.locator('#match-count').innerText();
    const total = Number((await count()).split(' of ')[1]!.split(' ')[0]);
    await page.getByLabel('Course', { exact: true }).fill('calc');
    await eventually(count).toBe(`2 of ${total} sections`);
    await page.getByLabel('Course', { exact: true }).fill('');
    await page.getByLabel('Day', { exact: true }).selectOption('fri');
    expect(await page.locator('#sections li').allInnerTexts()).toEqual([expect.stringContaining('Programming I')]);
    await page.getByLabel('Day', { exact: true }).selectOption('');
    await page.getByLabel('Time', { exact: true }).selectOption('evening');
    expect((await page.locator('#sections li').allInnerTexts()).every((t) => t.includes('18:00'))).toBe(true);
    await page.getByLabel('Time', { exact: true }).selectOption('');
    await page.getByLabel('Only with seats left').check();
    expect(await page.locator('#s-G-ELC108-E').count()).toBe(0);
    await page.getByLabel('Only with seats left').uncheck();

    // Clashes are flagged before sending, and the submit button stays in view.
    await page.locator('label[for="s-G-MAT101-A"]').click();
    await page.locator('label[for="s-G-FIS101-B"]').click();
    await eventually(() => page.locator('#selection').innerText()).toContain(
      'Calculus I (G-MAT101-A) and Physics I (G-FIS101-B) both meet on Monday and Wednesday, 09:30–10:40.',
    );
    expect(await page.locator('#enroll-button').isDisabled()).toBe(true);
    await page.locator(`label[for="s-${one}"]`).scrollIntoViewIfNeeded();
    const button = await page.locator('#enroll-button').boundingBox();
    expect(button!.y + button!.height).toBeLessThanOrEqual(size.height);
    expect(button!.y).toBeGreaterThanOrEqual(0);
    await audit(page, 'enroll-clash', size);
    // On a phone the pinned selection starts folded.
    if (size.name === 'phone') await page.locator('#selection summary').click();
    await page.getByRole('button', { name: 'Remove Physics I (G-FIS101-B)' }).click();
    await page.locator('label[for="s-G-PRG101-A"]').click();

    // The request stays open while the student's row is held: its status is the server's.
    const release = await holdStudent(student);
    try {
      await page.getByRole('button', { name: 'Submit request for 2 sections' }).click();
      await eventually(() => page.locator('#requests').innerText()).toMatch(/Waiting in line|In progress/);
      expect(await focused(page)).toBe('enroll-result');
      await go('#/bookings');
      await go('#/courses');
      await eventually(() => page.locator('#requests').innerText()).toMatch(/Waiting in line|In progress/);
      expect(await page.locator('#requests').innerText()).toContain('Calculus I (G-MAT101-A)');
    } finally {
      await release();
    }
    await eventually(() => page.locator('#requests .request-status').first().innerText(), { timeout: 15_000 }).toBe('Enrolled');
    expect(await page.locator('#requests').innerText()).toContain('Programming I (G-PRG101-A): Enrolled');

    // A refused request says why in words, and which section was never tried.
    await go('#/enroll');
    await page.locator(`label[for="s-${one}"]`).click();
    await page.locator('label[for="s-G-HUM110-A"]').click();
    const rival = await api('POST', '/api/enrollments', {
      token: await token(`RA00${size.name === 'desktop' ? 21 : 22}`, 'student'),
      body: { term: '1-2025', sections: [one] },
    });
    await waitForTerminal(api, [rival.body.request_id], admin);
    await page.getByRole('button', { name: 'Submit request for 2 sections' }).click();
    await eventually(() => page.locator('#requests').innerText(), { timeout: 15_000 }).toContain(
      `Not enrolled: ONE${tag} (${one}) has no seats left.`,
    );
    expect(await page.locator('#requests').innerText()).toContain(
      'Technical Writing (G-HUM110-A): Not tried: the request stopped before it',
    );
    await audit(page, 'enroll-refused', size);

    // My courses: the timetable, and Drop asks first.
    await go('#/courses');
    const timetable = page.locator('table.timetable');
    await timetable.waitFor();
    expect(await timetable.locator('caption').innerText()).toBe('Timetable, First semester 2025');
    const nine = timetable.locator('tr', { has: page.locator('th', { hasText: '09:00' }) });
    expect(await nine.locator('td.class').count()).toBe(2);
    expect(await nine.innerText()).toContain('Calculus I');
    await audit(page, 'courses', size);
    await page.getByRole('button', { name: 'Drop Calculus I (G-MAT101-A)' }).click();
    await page.getByRole('button', { name: 'Keep it' }).click();
    expect(await page.locator('#enrolled').innerText()).toContain('Calculus I');
    await page.getByRole('button', { name: 'Drop Calculus I (G-MAT101-A)' }).click();
    await page.getByRole('button', { name: 'Yes, drop it' }).click();
    await eventually(() => page.locator('#courses-result').innerText()).toBe('Dropped Calculus I (G-MAT101-A). Its seat is free again.');
    expect(await page.locator('#enrolled').innerText()).not.toContain('Calculus I');
    expect(await focused(page)).toBe('courses-result');
  });

  it('17.5: reports are tables with totals and only their fields, download as CSV, and are still there on return', async () => {
    const { page, go } = await openPage(browser, stack.gatewayUrl, size, { sub: `reporter-${tag}`, role: 'admin' });
    await go('#/reports');
    await page.getByLabel('Report').selectOption('occupancy_report');
    await page.getByRole('button', { name: 'Run report' }).click();
    const table = page.locator('#report-table');
    await table.waitFor({ timeout: 15_000 });
    expect(await table.locator('thead th').allInnerTexts()).toEqual(['Room', 'Type', 'Room-nights on sale', 'Sold', 'Occupancy']);
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => (c as HTMLElement).innerText)));
    const totals = (await table.locator('tfoot tr > *').allInnerTexts()).map((t) => t.trim());
    expect(totals[0]).toBe('All rooms');
    expect(Number(totals[2])).toBe(rows.reduce((sum, r) => sum + Number(r[2]), 0));
    expect(Number(totals[3])).toBe(rows.reduce((sum, r) => sum + Number(r[3]), 0));
    expect(totals[4]).toMatch(/^\d+\.\d %$/);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download as CSV' }).click();
    const csv = readFileSync((await (await download).path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('Room,Type,Room-nights on sale,Sold,Occupancy');
    expect(csv).toContain(`All rooms,,${totals[2]},${totals[3]},${totals[4]}`);
    await audit(page, 'report-occupancy', size);
    // Coming back shows the last report again.
    await go('#/rooms');
    await go('#/reports');
    await eventually(() => page.locator('#report-table caption').innerText()).toMatch(/^Occupancy from/);

    await page.getByLabel('Report').selectOption('room_search');
    await page.getByLabel('Free units at least').fill('2');
    await page.getByRole('button', { name: 'Run report' }).click();
    await eventually(() => page.locator('#report-table caption').innerText()).toMatch(/^Rooms with at least 2 free every night/);
    expect(await page.locator('#report-table thead th').allInnerTexts()).toEqual(['Room', 'Type', 'Free units on its fullest night']);
    const fewest = await page.locator('#report-table tbody td.number').allInnerTexts();
    expect(fewest.length).toBeGreaterThan(0);
    expect(fewest.every((n) => Number(n) >= 2)).toBe(true);

    await page.getByLabel('Report').selectOption('section_roster');
    await page.getByLabel('Section').selectOption('G-PRG101-A');
    await page.getByRole('button', { name: 'Run report' }).click();
    await eventually(() => page.locator('#report-table caption').innerText()).toBe('Roster of Programming I (G-PRG101-A)');
    expect(await page.locator('#report-table thead th').allInnerTexts()).toEqual(['Student id', 'Name', 'E-mail', 'Enrolled on']);
    expect(await page.locator('#report-table tfoot').innerText()).toMatch(/\d+ students?/);
    await audit(page, 'report-roster', size);
  });

  it('17.6: an admin onboards from a pasted list or a CSV file and follows it in words at one request a second, resuming after leaving', async () => {
    await api('PUT', '/api/admin/config', {
      token: admin,
      body: { batch_size: 5, rate_limit_directory_per_min: 3000, rate_limit_lms_per_min: 3000, rate_limit_email_per_min: 3000 },
    });
    const graph = stack.providers!.graph;
    const slow = (latencyMs: number) =>
      fetch(`${graph}/_config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs }) });
    const { page, go } = await openPage(browser, stack.gatewayUrl, size, { sub: `admin-${tag}`, role: 'admin' });
    await go('#/admin');
    await page.locator('#ingest-progress').waitFor();
    await audit(page, 'admin-onboarding', size);
    const lines = Array.from({ length: 12 }, (_, i) => `UI${tag}${i},Ui Student ${i},ui${tag.toLowerCase()}${i}@example.edu`);
    const csv = `id,name,email\n${lines.join('\n')}\n`;
    await page.getByLabel('Students, one a line: id, name, e-mail').fill(`${csv}BAD ID,No Mail,\n`);
    await eventually(() => page.locator('#list-check').innerText()).toContain('Line 14: “BAD ID” is not a student id');
    expect(await page.getByRole('button', { name: 'Onboard these students' }).isDisabled()).toBe(true);
    if (size.name === 'desktop') await page.getByLabel('Students, one a line: id, name, e-mail').fill(csv);
    else {
      await page.getByLabel('Students, one a line: id, name, e-mail').fill('');
      await page.getByLabel('Or a CSV file').setInputFiles({ name: 'students.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    }
    await eventually(() => page.locator('#list-check').innerText()).toBe('12 students ready.');

    await slow(600);
    const calls: { at: number; path: string }[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/api/')) calls.push({ at: Date.now(), path });
    });
    const phases: string[] = [];
    let returned = 0;
    try {
      await page.getByRole('button', { name: 'Onboard these students' }).click();
      await eventually(() =>
        page
          .locator('#ingest-phase')
          .innerText()
          .catch(() => ''),
      ).toMatch(/^Onboarding 12 new students: \d+ of 12 done/);
      // Leave and come back: the newest ingest still at work is found again.
      await go('#/admin/tasks');
      await go('#/admin');
      returned = Date.now();
      while (Date.now() - returned < 30_000) {
        const text = await page
          .locator('#ingest-phase')
          .innerText()
          .catch(() => '');
        if (text && phases.at(-1) !== text) phases.push(text);
        if (text.startsWith('Finished')) break;
        await page.waitForTimeout(100);
      }
    } finally {
      await slow(0);
    }
    // Following costs one request a second: only the progress summary, at least a second apart.
    const following = calls.filter((c) => c.at > returned + 500);
    expect(new Set(following.map((c) => c.path.replace(/[0-9a-f-]{36}/, '{id}')))).toEqual(
      new Set(['/api/admin/onboarding/{id}/progress']),
    );
    expect(following.length, 'progress looks while following').toBeGreaterThanOrEqual(2);
    for (let i = 1; i < following.length; i++) expect(following[i]!.at - following[i - 1]!.at).toBeGreaterThanOrEqual(950);
    expect(phases.at(-1)).toBe('Finished: 12 of 12 new students onboarded.');
    for (const phase of phases.slice(0, -1)) expect(phase).toMatch(/^Onboarding 12 new students: ([0-9]|1[01]) of 12 done\.$/);
    expect(await page.locator('progress[aria-label="Students onboarded"]').getAttribute('value')).toBe('12');
    expect(await focused(page)).not.toBe('ingest-phase');
    await audit(page, 'admin-onboarded', size);

    // From the student-information source (30 students; the second run finds nobody new).
    await page.getByRole('button', { name: 'Ingest new students from the student-information source' }).click();
    await eventually(
      () =>
        page
          .locator('#ingest-phase')
          .innerText()
          .catch(() => ''),
      { timeout: 30_000 },
    ).toMatch(
      size.name === 'desktop' ? /^Finished: 30 of 30 new students onboarded\.$/ : /^Finished: nobody new \(30 students already known\)\.$/,
    );
    expect(await focused(page)).toBe('ingest-phase');
  });

  it('17.6: tasks and sagas are counted and paged with filters and readable times; purge asks and reports; settings speak plainly', async () => {
    const { page, go } = await openPage(browser, stack.gatewayUrl, size, { sub: `admin-${tag}`, role: 'admin' });
    const summary = (await api('GET', '/api/admin/tasks/summary', { token: admin })).body;
    const paging = await pageThrough(page, stack.gatewayUrl, '/api/admin/tasks', 20);
    await go('#/admin/tasks');
    await page.getByLabel('Type', { exact: true }).selectOption('workflow');
    await page.getByLabel('Status', { exact: true }).selectOption('completed');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/#\/admin\/tasks\?type=workflow&status=completed$/);
    const shown = page.locator('#tasks-shown');
    await eventually(() => shown.innerText()).toBe(`Showing 20 of ${summary.workflow.completed} tasks.`);
    expect(await page.locator('#tasks tr').count()).toBe(20);
    expect(await page.locator('#tasks tr td:nth-child(4)').first().innerText()).toMatch(/^\d{1,2} [A-Z][a-z]{2}, \d{2}:\d{2}$/);
    await page.getByRole('button', { name: 'Load more tasks' }).click();
    await eventually(() => shown.innerText()).toBe(`Showing 40 of ${summary.workflow.completed} tasks.`);
    expect(paging.served.slice(-2)).toEqual(['0+20', '20+20']);
    await audit(page, 'admin-tasks', size);
    await page.unrouteAll();

    await go('#/admin/sagas');
    await page.getByLabel('Status', { exact: true }).selectOption('completed');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/#\/admin\/sagas\?status=completed$/);
    await eventually(() => page.locator('#sagas-shown').innerText()).toMatch(/^Showing \d+ of \d+ sagas\.$/);
    expect(await page.locator('#saga-counts').innerText()).toMatch(/^Sagas: \d+ running, .*\d+ completed/);
    expect(await page.locator('#sagas tr').first().innerText()).toMatch(/Student RA\d{4}\s+Completed\s+Checks: done/);
    await audit(page, 'admin-sagas', size);
    await page.getByLabel('Age').selectOption('0');
    await page.getByRole('button', { name: 'Purge' }).click();
    await page.getByRole('button', { name: 'Keep them' }).click();
    await eventually(() => page.locator('#purge-result').innerText()).toBe('Nothing was purged.');
    await page.getByRole('button', { name: 'Purge' }).click();
    await page.getByRole('button', { name: 'Yes, purge' }).click();
    await eventually(() => page.locator('#purge-result').innerText()).toMatch(/^Purged \d+ completed sagas? of any age\.$/);
    expect((await api('GET', '/api/ops/sagas?status=completed', { token: admin })).body).toEqual([]);

    await go('#/admin/settings');
    await page.getByLabel('Batch size').fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await eventually(() => page.locator('#config-result').innerText()).toBe('Batch size must be at least 1.');
    await audit(page, 'admin-settings', size);
  });

  it('15.1: an admin sets the nightly ingest schedule, is told plainly when it cannot be read, and turns it off', async () => {
    const { page, go } = await openPage(browser, stack.gatewayUrl, size, { sub: `admin-${tag}`, role: 'admin' });
    const schedule = async () => (await api('GET', '/api/admin/config', { token: admin })).body.ingest_schedule;
    await go('#/admin/settings');
    await page.getByLabel('Schedule (cron)').fill('0 25 * * *');
    await page.getByLabel('Time zone').fill('America/Argentina/Cordoba');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await eventually(() => page.locator('#config-result').innerText()).toMatch(/^Schedule \(cron\) .*23/);
    expect(await schedule()).toBeNull();

    await page.getByLabel('Schedule (cron)').fill('0 2 * * *');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await eventually(() => page.locator('#config-result').innerText()).toBe('Saved. Workers use the new settings from their next call.');
    expect(await schedule()).toEqual({ cron: '0 2 * * *', time_zone: 'America/Argentina/Cordoba' });
    await go('#/admin');
    await go('#/admin/settings');
    await eventually(() => page.getByLabel('Schedule (cron)').inputValue()).toBe('0 2 * * *');
    expect(await page.getByLabel('Time zone').inputValue()).toBe('America/Argentina/Cordoba');
    await audit(page, 'admin-settings-schedule', size);

    await page.getByLabel('Schedule (cron)').fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await eventually(() => page.locator('#config-result').innerText()).toBe('Saved. Workers use the new settings from their next call.');
    expect(await schedule()).toBeNull();
  });

  it('17.6: a circuit breaker can be reset only while it is not closed, and the reset says what it did', async () => {
    const { page, go } = await openPage(browser, stack.gatewayUrl, size, { sub: `admin-${tag}`, role: 'admin' });
    await go('#/admin/health');
    await eventually(() => page.locator('#overall').innerText()).toBe('Everything is working.');
    expect(await page.getByRole('button', { name: /^Reset/ }).count()).toBe(0);
    // One more enrollment replica, reaching its database through a proxy that is then cut.
    const url = new URL(stack.databaseUrls.enrollment);
    const proxy = await new TcpProxy({ host: url.hostname, port: Number(url.port) }).start();
    const replica = await stack.startReplica('enrollment', {
      DATABASE_URL: proxy.rewrite(stack.databaseUrls.enrollment),
      DATABASE_CIRCUIT_RECOVERY_TIMEOUT: '120',
    });
    try {
      proxy.refuse(true);
      await expect
        .poll(
          async () => {
            await Promise.all(Array.from({ length: 6 }, () => api('GET', '/api/sections/G-MAT101-A')));
            return (await api('GET', '/api/ops/circuit-breakers', { token: admin })).body.circuit_breakers.postgres.state;
          },
          { timeout: 20_000 },
        )
        .toBe('open');
      proxy.refuse(false);
      await go('#/admin/health');
      await eventually(() => page.locator('#overall').innerText()).toMatch(/^Some dependencies are failing/);
      const reset = page.getByRole('button', { name: 'Reset: Databases (PostgreSQL)' });
      expect(await page.getByRole('button', { name: /^Reset/ }).count()).toBe(1);
      await audit(page, 'admin-health-open', size);
      await reset.click();
      await eventually(() => page.locator('#breaker-result').innerText()).toMatch(
        /^Reset Databases \(PostgreSQL\) on 7 processes: now working\.$/,
      );
      expect(await page.getByRole('button', { name: /^Reset/ }).count()).toBe(0);
    } finally {
      proxy.refuse(false);
      replica.child.kill('SIGTERM');
      await proxy.close();
    }
  });

  it('17.7: each role sees only its pages, signing in returns to the page, sign-out works, and leaving mid-poll raises no error', async () => {
    const { page, go } = await openPage(browser, stack.gatewayUrl, size);
    const nav = () => page.locator('#nav a').allInnerTexts();
    await go('#/rooms');
    expect(await nav()).toEqual(['Rooms']);
    await go('#/bookings');
    expect(await mainText(page)).toContain('Sign in to see this page.');
    await audit(page, 'signin', size);
    await page.getByLabel('User id').fill(`walker-${tag}`);
    await page.getByLabel('Role').selectOption('guest');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/#\/bookings$/);
    await eventually(() => page.locator('main h2').innerText()).toBe('My bookings');
    expect(await nav()).toEqual(['Rooms', 'My bookings', 'Reports']);
    await go('#/admin');
    expect(await page.locator('main h2').innerText()).toBe('Not available to you');
    await audit(page, 'not-for-you', size);
    await go('#/enroll');
    expect(await page.locator('main h2').innerText()).toBe('Not available to you');
    await go('#/reports');
    expect(await page.getByLabel('Report').locator('option').allInnerTexts()).toEqual(['Occupancy', 'Rooms free over dates']);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await eventually(nav).toEqual(['Rooms']);
    await page.waitForURL(/#\/rooms$/);
    expect(await page.evaluate(() => localStorage.getItem('cupo.session'))).toBeNull();

    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('User id').fill(`RA00${size.name === 'desktop' ? 31 : 32}`);
    await page.getByLabel('Role').selectOption('student');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/#\/rooms$/);
    expect(await nav()).toEqual(['Rooms', 'My bookings', 'Enroll', 'My courses', 'Reports']);
    // Leaving a page while its request is followed: nothing is painted late, nothing thrown.
    const release = await holdStudent(`RA00${size.name === 'desktop' ? 31 : 32}`);
    try {
      await go('#/enroll');
      await page.locator('label[for="s-G-HUM110-A"]').click();
      await page.getByRole('button', { name: 'Submit request for 1 section' }).click();
      await eventually(() => page.locator('#requests').innerText()).toMatch(/Waiting in line|In progress/);
      await page.getByRole('link', { name: 'Rooms' }).click();
      await page.waitForTimeout(1500);
    } finally {
      await release();
    }
    await page.waitForTimeout(500);
    expect(await page.locator('main h2').innerText()).toBe('Rooms');
    expect(trouble.pageErrors).toEqual([]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('User id').fill(`boss-${tag}`);
    await page.getByLabel('Role').selectOption('admin');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/#\/rooms$/);
    expect(await nav()).toEqual(['Rooms', 'Bookings', 'Reports', 'Admin']);
  });
});

suite(titleNeeding('the web UI, whatever the size', chromiumBinary), () => {
  it('gives the last room-night to exactly one of two racing browsers; the other is told someone else just took it', async () => {
    const room = await createRoom(api, { name: 'Last Unit', total_quantity: 1 });
    const pages = await Promise.all(
      SIZES.map(async (size, i) => (await openPage(browser, stack.gatewayUrl, size, { sub: `racer-${i}`, role: 'guest' })).page),
    );
    for (const page of pages) {
      await page.goto(`${stack.gatewayUrl}/#/rooms?room=${room.id}&in=${day(10)}&out=${day(11)}`);
      await page.locator('.calendar').waitFor();
    }
    await Promise.all(pages.map((page) => page.getByRole('button', { name: 'Book 1 night' }).click()));
    const results = await Promise.all(
      pages.map(async (page) => {
        await eventually(() => page.locator('#book-result').innerText(), { timeout: 10_000 }).toMatch(/^(Booked|Someone else)/);
        return page.locator('#book-result').innerText();
      }),
    );
    expect(results.filter((r) => r.startsWith('Booked'))).toHaveLength(1);
    expect(results.filter((r) => r.startsWith(`Someone else just took Last Unit on ${dayName(day(10))}`))).toHaveLength(1);
  });

  it('waits out a 429 as its Retry-After asks, and signs in from the keyboard alone', async () => {
    const { page, go } = await openPage(browser, stack.gatewayUrl, SIZES[0], { sub: 'patient-admin', role: 'admin' });
    const seen: number[] = [];
    let refused = false;
    await page.route('**/api/admin/config', async (route) => {
      seen.push(Date.now());
      if (refused) return route.continue();
      refused = true;
      await route.fulfill({
        status: 429,
        contentType: 'application/problem+json',
        headers: { 'retry-after': '2' },
        body: JSON.stringify({
          type: 'urn:cupo:problem:rate-limited',
          title: 'Too Many Requests',
          status: 429,
          detail: 'Too many requests',
          code: 'RATE_LIMITED',
        }),
      });
    });
    await go('#/admin/settings');
    await eventually(() => page.locator('#status').innerText()).toBe('The server asked us to slow down; trying again in 2 s.');
    await page.getByLabel('Batch size').waitFor();
    expect(seen).toHaveLength(2);
    expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(2000);

    const { page: keys } = await openPage(browser, stack.gatewayUrl, SIZES[0]);
    await keys.goto(`${stack.gatewayUrl}/#/signin`);
    await keys.getByLabel('User id').focus();
    await keys.keyboard.press('Control+A');
    await keys.keyboard.type('keyboard-admin');
    await keys.keyboard.press('Tab');
    await keys.keyboard.press('ArrowDown');
    await keys.keyboard.press('ArrowDown');
    await keys.keyboard.press('Tab');
    await keys.keyboard.press('Enter');
    await keys.waitForURL(/#\/admin$/);
  });

  it('loads no missing file (the favicon included) and throws no uncaught error on any page', () => {
    expect(trouble.missingFiles).toEqual([]);
    expect(trouble.pageErrors).toEqual([]);
  });
});
