import { describe, expect, it } from 'vitest';
// The web UI's modules that need no browser: its escaping, its words, its CSV and its booking messages.
// @ts-expect-error plain ES modules, no types
import { html } from '../public/js/html.js';
// @ts-expect-error plain ES modules, no types
import { parseStudents, toCsv } from '../public/js/csv.js';
// @ts-expect-error plain ES modules, no types
import { explain } from '../public/js/words.js';
// @ts-expect-error plain ES modules, no types
import { availabilityProblem, rangeProblem, refusalMessage } from '../public/js/views/stay.js';
// @ts-expect-error plain ES modules, no types
import { addDays, today } from '../public/js/dates.js';

describe('the web UI’s html template', () => {
  it('escapes every value, in text and in quoted attributes, and keeps nested templates as markup', () => {
    const name = `<img src=x onerror="alert(1)">'&`;
    const fragment = html`<p title="${name}">${name}${html`<b>${name}</b>`}${[html`<i>1</i>`, '<u>']}</p>`;
    expect(String(fragment)).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;' +
        '<b>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;</b><i>1</i>&lt;u&gt;</p>',
    );
    expect(String(html`${undefined}${null}${false}${0}`)).toBe('0');
  });
});

describe('the web UI’s words', () => {
  it('says a bad field once, in plain words, instead of the detail and the fields again', () => {
    const answer = {
      status: 400,
      body: {
        code: 'VALIDATION_FAILED',
        detail: 'check_out: must be after check_in',
        errors: [{ path: 'check_out', message: 'must be after check_in' }],
      },
    };
    expect(explain(answer)).toBe('Check-out must be after check-in.');
    expect(explain({ status: 400, body: { errors: [{ path: 'batch_size', message: 'Too small: expected number to be >0' }] } })).toBe(
      'Batch size must be at least 1.',
    );
    expect(explain({ status: 403, body: { code: 'FORBIDDEN', detail: 'This needs the role admin' } })).toBe('Your role cannot do this.');
  });
});

describe('the web UI’s CSV', () => {
  it('reads students with a header in any order, quotes, and names each line it cannot use', () => {
    const { students, problems } = parseStudents('email,id,name\n"a@x.edu",RA1,"Lovelace, Ada"\nb@x.edu,RA2,\n,RA3,Cy\nc@x.edu,RA1,Dup\n');
    expect(students).toEqual([{ id: 'RA1', name: 'Lovelace, Ada', email: 'a@x.edu' }]);
    expect(problems).toEqual(['Line 3: the name is missing.', 'Line 4: “” is not an e-mail address.', 'Line 5: RA1 is listed twice.']);
  });

  it('writes a header line and quotes what needs it', () => {
    expect(
      toCsv(
        [{ a: 'x,y', b: 'say "hi"' }],
        [
          { key: 'a', label: 'A' },
          { key: 'b', label: 'B' },
        ],
      ),
    ).toBe('A,B\r\n"x,y","say ""hi"""\r\n');
  });
});

describe('the web UI’s booking messages', () => {
  const night = (offset: number, total: number, available: number) => ({ date: addDays(today(), offset), total, available });
  const stay = { roomName: 'Attic', roomId: 7, checkIn: addDays(today(), 1), checkOut: addDays(today(), 2) };

  it('checks the range first', () => {
    expect(rangeProblem(stay.checkIn, stay.checkIn)).toBe('Check-out must be after check-in.');
    expect(rangeProblem(addDays(today(), -1), stay.checkOut)).toBe('Check-in cannot be in the past.');
    expect(rangeProblem(stay.checkIn, addDays(stay.checkIn, 31))).toBe('A stay can be at most 30 nights.');
  });

  it('tells nights not on sale, held by the guest, and sold out apart before asking', () => {
    const held = [{ status: 'confirmed', room_id: 7, check_in: stay.checkIn, check_out: stay.checkOut }];
    expect(availabilityProblem({ ...stay, nights: [night(1, 0, 0)], bookings: [] }).kind).toBe('closed');
    expect(availabilityProblem({ ...stay, nights: [night(1, 1, 0)], bookings: held }).kind).toBe('held');
    expect(availabilityProblem({ ...stay, nights: [night(1, 2, 1)], bookings: held })).toMatchObject({ kind: 'held', canProceed: true });
    expect(availabilityProblem({ ...stay, nights: [night(1, 1, 0)], bookings: [] }).kind).toBe('sold');
    expect(availabilityProblem({ ...stay, nights: [night(1, 1, 1)], bookings: [] })).toBeNull();
  });

  it('says someone else just took it only when the night was free a moment before', () => {
    const refused = [stay.checkIn];
    const args = { ...stay, refused, after: [night(1, 1, 0)], bookings: [] };
    expect(refusalMessage({ ...args, before: [night(1, 1, 1)] })).toMatch(/^Someone else just took Attic on /);
    expect(refusalMessage({ ...args, before: [night(1, 1, 0)] })).toMatch(/^Attic is sold out on /);
    expect(refusalMessage({ ...args, before: [night(1, 1, 1)], after: [night(1, 0, 0)] })).toMatch(/^Attic is not on sale on /);
    const mine = [{ status: 'confirmed', room_id: 7, check_in: stay.checkIn, check_out: stay.checkOut }];
    expect(refusalMessage({ ...args, before: [night(1, 1, 1)], bookings: mine })).toMatch(/^You already hold the last unit of Attic/);
  });
});
