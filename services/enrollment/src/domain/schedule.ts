import type { Meeting } from '@cupo/contracts';

/** Two meetings overlap when they share a day and their half-open intervals [start, end) meet. */
export function meetingsOverlap(a: Meeting, b: Meeting): boolean {
  return a.day === b.day && a.start < b.end && b.start < a.end;
}

export interface Scheduled {
  code: string;
  schedule: readonly Meeting[];
}

export interface Overlap {
  a: string;
  b: string;
  when: string;
}

/** The first overlap between `section` and any of `others`, if there is one. */
export function firstOverlap(section: Scheduled, others: readonly Scheduled[]): Overlap | undefined {
  for (const other of others) {
    if (other.code === section.code) continue;
    for (const m of section.schedule) {
      for (const n of other.schedule) {
        if (meetingsOverlap(m, n)) {
          const start = m.start > n.start ? m.start : n.start;
          const end = m.end < n.end ? m.end : n.end;
          return { a: section.code, b: other.code, when: `${m.day} ${start}-${end}` };
        }
      }
    }
  }
  return undefined;
}

/** The first overlap among sections asked for together, in request order. */
export function overlapWithin(sections: readonly Scheduled[]): Overlap | undefined {
  for (let i = 1; i < sections.length; i++) {
    const found = firstOverlap(sections[i]!, sections.slice(0, i));
    if (found) return found;
  }
  return undefined;
}
