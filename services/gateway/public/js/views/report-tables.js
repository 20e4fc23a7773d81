// Each report type as a table with its totals and only the columns it needs, and the same
// rows as CSV for download.

import { dayName, momentText } from '../dates.js';
import { html } from '../html.js';

const percent = (share) => `${(share * 100).toFixed(1)} %`;

const TYPES = {
  occupancy_report: {
    title: (v) => `Occupancy from ${dayName(v.params.from)} to ${dayName(v.params.to)}`,
    rows: (r) => r.rooms,
    columns: [
      { key: 'name', label: 'Room' },
      { key: 'type', label: 'Type' },
      { key: 'room_nights', label: 'Room-nights on sale', number: true },
      { key: 'sold', label: 'Sold', number: true },
      { key: 'occupancy', label: 'Occupancy', number: true, show: percent },
    ],
    totals: (r) => ({ name: 'All rooms', type: '', room_nights: r.room_nights, sold: r.sold, occupancy: r.occupancy }),
  },
  room_search: {
    title: (v) =>
      `Rooms with at least ${v.params.min_available ?? 1} free every night from ${dayName(v.params.from)} to ${dayName(v.params.to)}`,
    rows: (r) => r.rooms,
    columns: [
      { key: 'name', label: 'Room' },
      { key: 'type', label: 'Type' },
      { key: 'min_available', label: 'Free units on its fullest night', number: true },
    ],
    totals: (r) => ({ name: `${r.rooms.length} ${r.rooms.length === 1 ? 'room' : 'rooms'}`, type: '', min_available: '' }),
  },
  section_roster: {
    title: (v, names) => `Roster of ${names.get(v.params.section) ?? v.params.section}`,
    rows: (r) => r.students.map((s) => ({ ...s, enrolled_on: momentText(s.enrolled_at) })),
    columns: [
      { key: 'student_id', label: 'Student id' },
      { key: 'name', label: 'Name' },
      { key: 'email', label: 'E-mail' },
      { key: 'enrolled_on', label: 'Enrolled on' },
    ],
    totals: (r) => ({ student_id: `${r.count} ${r.count === 1 ? 'student' : 'students'}`, name: '', email: '', enrolled_on: '' }),
  },
};

export const REPORT_TYPES = [
  { value: 'occupancy_report', label: 'Occupancy' },
  { value: 'room_search', label: 'Rooms free over dates' },
  { value: 'section_roster', label: 'Section roster', admin: true },
];

/** The table of a completed report, and its rows and columns for CSV. `names` maps codes to names. */
export function reportTable(view, names = new Map()) {
  const type = TYPES[view.type];
  if (!type) return { markup: html`<p>This report cannot be shown.</p>`, rows: [], columns: [] };
  const rows = type.rows(view.result);
  const totals = type.totals(view.result);
  const cell = (c, row, tag = 'td') =>
    tag === 'th'
      ? html`<th scope="row">${row[c.key]}</th>`
      : html`<td class="${c.number ? 'number' : ''}">${c.show && row[c.key] !== '' ? c.show(row[c.key]) : row[c.key]}</td>`;
  const line = (row) => type.columns.map((c, i) => cell(c, row, i === 0 ? 'th' : 'td'));
  const markup = html`<div class="table-wrap" role="region" aria-label="${type.title(view, names)}" tabindex="0"><table id="report-table">
    <caption>${type.title(view, names)}</caption>
    <thead><tr>${type.columns.map((c) => html`<th scope="col" class="${c.number ? 'number' : ''}">${c.label}</th>`)}</tr></thead>
    <tbody>${rows.length ? rows.map((row) => html`<tr>${line(row)}</tr>`) : html`<tr><td colspan="${type.columns.length}">Nothing to show.</td></tr>`}</tbody>
    <tfoot><tr class="totals">${line(totals)}</tr></tfoot>
  </table></div>`;
  const csvRows = [...rows, totals].map((row) =>
    Object.fromEntries(type.columns.map((c) => [c.key, c.show && row[c.key] !== '' ? c.show(row[c.key]) : row[c.key]])),
  );
  return { markup, rows: csvRows, columns: type.columns, title: type.title(view, names) };
}
