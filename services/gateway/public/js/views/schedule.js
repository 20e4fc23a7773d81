// Weekly schedules: which sections clash, and the timetable grid (weekday × hour).

import { WEEKDAYS, WEEKDAY_NAMES, WEEKDAY_SHORT } from '../dates.js';
import { html } from '../html.js';

const minutes = (time) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));

/** Pairs of items whose meetings overlap: [{a, b, times: [{day, from, to}]}], a pair once. */
export function clashes(items) {
  const found = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const times = [];
      for (const m of items[i].schedule) {
        for (const n of items[j].schedule) {
          if (m.day === n.day && m.start < n.end && n.start < m.end) {
            times.push({ day: m.day, from: m.start > n.start ? m.start : n.start, to: m.end < n.end ? m.end : n.end });
          }
        }
      }
      if (times.length) found.push({ a: items[i], b: items[j], times });
    }
  }
  return found;
}

/** "A and B both meet on Monday and Wednesday, 09:30–10:40." */
export function clashText(clash, label) {
  const sameTime = clash.times.every((t) => t.from === clash.times[0].from && t.to === clash.times[0].to);
  const days = clash.times.map((t) => WEEKDAY_NAMES[t.day]);
  const when = sameTime
    ? `${days.length > 1 ? `${days.slice(0, -1).join(', ')} and ${days.at(-1)}` : days[0]}, ${clash.times[0].from}–${clash.times[0].to}`
    : clash.times.map((t) => `${WEEKDAY_NAMES[t.day]} ${t.from}–${t.to}`).join(' and ');
  return `${label(clash.a)} and ${label(clash.b)} both meet on ${when}.`;
}

/**
 * The timetable: one column per weekday (Monday to Friday, and the weekend days that have
 * classes), one row per hour; a class spans the rows of the hours it covers.
 * `items` are [{title, detail, schedule}].
 */
export function timetableMarkup(items, caption) {
  const meetings = items.flatMap((item) => item.schedule.map((m) => ({ ...m, item })));
  const days = WEEKDAYS.filter((d) => !['sat', 'sun'].includes(d) || meetings.some((m) => m.day === d));
  const first = meetings.length ? Math.min(...meetings.map((m) => Math.floor(minutes(m.start) / 60))) : 8;
  const last = meetings.length ? Math.max(...meetings.map((m) => Math.ceil(minutes(m.end) / 60))) : 17;
  // Per day, blocks of meetings whose hours touch, each drawn as one cell spanning its hours.
  const blocks = new Map(days.map((d) => [d, []]));
  for (const m of meetings.sort((x, y) => x.start.localeCompare(y.start))) {
    const from = Math.floor(minutes(m.start) / 60);
    const to = Math.ceil(minutes(m.end) / 60);
    const dayBlocks = blocks.get(m.day);
    const open = dayBlocks?.at(-1);
    if (!dayBlocks) continue;
    if (open && from < open.to) {
      open.to = Math.max(open.to, to);
      open.meetings.push(m);
    } else dayBlocks.push({ from, to, meetings: [m] });
  }
  const rows = [];
  for (let hour = first; hour < last; hour++) {
    const cells = days.map((day) => {
      const block = blocks.get(day).find((b) => b.from <= hour && hour < b.to);
      if (!block) return html`<td></td>`;
      if (block.from !== hour) return '';
      return html`<td rowspan="${block.to - block.from}" class="class">${block.meetings.map(
        (m) =>
          html`<div><strong>${m.item.title}</strong> <span>${m.start}–${m.end}</span> <span class="detail">${m.item.detail}</span></div>`,
      )}</td>`;
    });
    rows.push(html`<tr><th scope="row">${String(hour).padStart(2, '0')}:00</th>${cells}</tr>`);
  }
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0"><table class="timetable">
    <caption>${caption}</caption>
    <thead><tr><th scope="col"><span class="visually-hidden">Time</span></th>${days.map(
      (d) => html`<th scope="col"><abbr title="${WEEKDAY_NAMES[d]}">${WEEKDAY_SHORT[d]}</abbr></th>`,
    )}</tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}
