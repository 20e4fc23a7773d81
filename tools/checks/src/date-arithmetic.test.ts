import { describe, expect, it } from 'vitest';
import { MAX_NIGHTS, addDays, daysBetween, nightsBetween } from '../../../packages/contracts/src/dates.js';
import * as ui from '../../../services/gateway/public/js/dates.js';
import { MAX_NIGHTS as UI_MAX_NIGHTS } from '../../../services/gateway/public/js/views/stay.js';
import { filesUnder, read } from './sources.js';

/**
 * Calendar arithmetic lives in packages/contracts/src/dates.ts only (addDays, daysBetween,
 * nightsFrom, isoDateOf, MAX_NIGHTS…): eight hand-rolled copies and two 30-night limits had
 * grown before. The web UI's scripts (plain browser JavaScript, services/gateway/public) and
 * the k6 scripts (load-tests/, run by k6, not Node) cannot import it and keep their own.
 */
const HOME = 'packages/contracts/src/dates.ts';

const RAW: [string, RegExp][] = [
  ['milliseconds per day', /86_?400_?000|24\s*\*\s*60\s*\*\s*60\s*\*\s*1_?000/],
  ['a date cut from an ISO timestamp', /toISOString\(\)\s*\.\s*(slice|substring)\(0,\s*10\)|toISOString\(\)\s*\.\s*split\(['"]T['"]\)/],
  ['Date setters and day getters', /\.(set|get)(UTC)?(Date|FullYear|Month)\(/],
  ['Date.UTC', /Date\.UTC\(/],
  ['a nights limit of its own', /MAX_\w*NIGHTS\s*=|\.max\(30\)/],
];

const sources = ['packages', 'services', 'tools', 'tests'].flatMap((dir) =>
  filesUnder(dir, (path) => /\.(ts|js|mjs|cjs)$/.test(path) && !path.includes('/gateway/public/')),
);

describe('date arithmetic', () => {
  it('is done only in contracts/dates.ts', () => {
    const copies = sources
      .filter((path) => path !== HOME)
      .flatMap((path) =>
        read(path)
          .split('\n')
          .flatMap((line, i) => RAW.filter(([, pattern]) => pattern.test(line)).map(([what]) => `${path}:${i + 1}: ${what}`)),
      );
    expect(copies).toEqual([]);
  });

  it('is looked for where it used to be copied', () => {
    expect(sources).toContain(HOME);
    expect(sources).toContain('services/booking/src/domain/stay.ts');
    expect(sources).toContain('tests/system/support.ts');
    expect(RAW.some(([, pattern]) => pattern.test(read(HOME)))).toBe(true);
  });

  it('in the web UI, which cannot import it, agrees with it', () => {
    expect(UI_MAX_NIGHTS).toBe(MAX_NIGHTS);
    for (const [from, to] of [
      ['2028-02-27', '2028-03-02'],
      ['2030-12-30', '2031-01-02'],
      ['2030-03-29', '2030-04-01'],
      ['2030-01-05', '2030-01-04'],
    ] as const) {
      expect(ui.daysBetween(from, to)).toBe(daysBetween(from, to));
      expect(ui.nightsOf(from, to)).toEqual(nightsBetween(from, to));
      expect(ui.addDays(from, 3)).toBe(addDays(from, 3));
    }
  });
});
