// Reports: asked for, followed while the worker computes them, shown as tables with totals
// and offered as CSV. The last report is remembered (its id; the server keeps the answer),
// so it is still there when the user comes back.

import { api, everything } from '../api.js';
import { addDays, momentText, today } from '../dates.js';
import { $, busy, download, focusOn, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { again, done, poll } from '../poll.js';
import { session } from '../session.js';
import { explain } from '../words.js';
import { REPORT_TYPES, reportTable } from './report-tables.js';
import { toCsv } from '../csv.js';

const lastKey = () => `cupo.report.${session().sub}`;

export async function reportsView(main) {
  const admin = session().role === 'admin';
  render(
    main,
    html`<h2>Reports</h2>
      <form id="report" class="row" novalidate>
        <div><label for="type">Report</label><select id="type">${REPORT_TYPES.filter((t) => admin || !t.admin).map((t) => html`<option value="${t.value}">${t.label}</option>`)}</select></div>
        <div data-for="occupancy_report room_search"><label for="from">From</label><input type="date" id="from" value="${addDays(today(), 1)}"></div>
        <div data-for="occupancy_report room_search"><label for="to">To</label><input type="date" id="to" value="${addDays(today(), 8)}"></div>
        <div data-for="room_search"><label for="min_available">Free units at least</label><input type="number" id="min_available" min="1" step="1" value="1" inputmode="numeric"></div>
        <div data-for="section_roster"><label for="section">Section</label><select id="section"></select></div>
        <div><button type="submit" id="report-button">Run report</button></div>
      </form>
      <div id="report-result"></div>`,
  );
  const names = new Map();
  const showFields = () => {
    const type = $('#type', main).value;
    main.querySelectorAll('[data-for]').forEach((field) => (field.hidden = !field.dataset.for.split(' ').includes(type)));
  };
  on($('#type', main), 'change', showFields);
  showFields();
  const result = $('#report-result', main);
  // Only the report asked for last is followed; an older look that returns late is dropped.
  let latest = 0;
  const follow = async (id, { announce }) => {
    const mine = ++latest;
    const view = await poll(
      async () => {
        if (mine !== latest) return done(null);
        const answer = await api('GET', `/api/queries/${id}`);
        if (answer.status === 404) return done(null);
        if (!answer.ok) return again(answer);
        if (answer.body.status === 'pending') {
          render(result, html`<p id="report-status">Working on it…</p><progress aria-label="Report progress"></progress>`);
          return again();
        }
        return done(answer.body);
      },
      { every: [0, 300, 600, 1000] },
    );
    if (view && mine === latest) show(view, announce);
  };
  const show = (view, announce) => {
    if (view.status === 'failed')
      return notice(result, 'bad', `The report could not be made: ${explain({ body: view.error })}`, { focus: announce });
    const table = reportTable(view, names);
    render(
      result,
      html`<p id="report-status" class="hint">Report made ${momentText(view.processed_at ?? view.created_at)}.</p>
        ${table.markup}
        <p><button type="button" class="secondary" id="csv">Download as CSV</button></p>`,
    );
    on($('#csv', result), 'click', () => download(`${view.type}-${view.created_at.slice(0, 10)}.csv`, toCsv(table.rows, table.columns)));
    if (announce) focusOn($('caption', result));
  };
  on($('#report', main), 'submit', async (event) => {
    event.preventDefault();
    const type = $('#type', main).value;
    const params =
      type === 'section_roster'
        ? { section: $('#section', main).value }
        : {
            from: $('#from', main).value,
            to: $('#to', main).value,
            ...(type === 'room_search' ? { min_available: Number($('#min_available', main).value) } : {}),
          };
    if (params.from !== undefined && !(params.to > params.from))
      return notice(result, 'bad', '“To” must be after “From”.', { focus: true });
    const button = $('#report-button', main);
    busy(button, true);
    const accepted = await api('POST', '/api/queries', { body: { type, params } });
    busy(button, false);
    if (accepted.status !== 202) return notice(result, 'bad', explain(accepted), { focus: true });
    localStorage.setItem(lastKey(), accepted.body.query_id);
    await follow(accepted.body.query_id, { announce: true });
  });
  if (admin) {
    const terms = await everything('/api/terms');
    const open = terms.ok ? terms.body.filter((t) => t.open) : [];
    const sections = (await Promise.all(open.map((t) => everything(`/api/sections?term=${encodeURIComponent(t.code)}`)))).flatMap((a) =>
      a.ok ? a.body : [],
    );
    sections.forEach((s) => names.set(s.code, `${s.course_name} (${s.code})`));
    render(
      $('#section', main),
      sections.map((s) => html`<option value="${s.code}">${s.course_name} (${s.code})</option>`),
    );
  }
  const last = localStorage.getItem(lastKey());
  if (last) await follow(last, { announce: false });
}
