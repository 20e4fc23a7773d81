// Sagas (enrollment requests' durable plans): counts by status, the list a page at a time
// with a status filter, and a purge of finished ones that asks first and says what it did.

import { api } from '../api.js';
import { momentText, plural } from '../dates.js';
import { $, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { SAGA_STATUS, STEP_NAME, STEP_STATUS } from '../words.js';
import { askThenSend } from './ask.js';
import { filteredRows } from './paged.js';

const STATUSES = Object.keys(SAGA_STATUS);
const FINISHED = ['completed', 'compensated', 'failed'];
const AGES = [
  { seconds: 0, label: 'of any age' },
  { seconds: 3600, label: 'older than an hour' },
  { seconds: 86_400, label: 'older than a day' },
  { seconds: 604_800, label: 'older than a week' },
];

const stepText = (step) =>
  `${STEP_NAME[step.name.split(':')[0]] ?? step.name}${step.section ? ` ${step.section}` : ''}: ${STEP_STATUS[step.status] ?? step.status}`;

const row = (s) => html`<tr>
  <th scope="row">${s.name.replace(/^enrollment_/, 'Student ')}</th>
  <td>${SAGA_STATUS[s.status] ?? s.status}</td>
  <td>${s.steps.map(stepText).join(' · ')}</td>
  <td>${momentText(s.started_at)}</td><td>${momentText(s.finished_at)}</td></tr>`;

export async function sagasView(target, { params }) {
  const status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
  const option = (value, label, current) => html`<option value="${value}" ${value === current ? 'selected' : ''}>${label}</option>`;
  render(
    target,
    html`<p id="saga-counts"></p>
      <form id="saga-filter" class="row">
        <div><label for="saga-status">Status</label><select id="saga-status">${option('', 'Any status', status)}${STATUSES.map((s) => option(s, SAGA_STATUS[s], status))}</select></div>
        <div><button type="submit" class="secondary">Show</button></div>
      </form>
      <p id="sagas-shown" role="status"></p>
      <div class="table-wrap" role="region" aria-label="Sagas" tabindex="0"><table>
        <thead><tr><th scope="col">Request of</th><th scope="col">Status</th><th scope="col">Steps</th><th scope="col">Started</th><th scope="col">Finished</th></tr></thead>
        <tbody id="sagas"></tbody></table></div>
      <div id="sagas-more"></div>
      <h3 id="purge-h">Purge finished sagas</h3>
      <form id="purge" class="row" aria-labelledby="purge-h">
        <div><label for="purge-status">Which</label><select id="purge-status">${FINISHED.map((s) => option(s, SAGA_STATUS[s], 'completed'))}</select></div>
        <div><label for="purge-age">Age</label><select id="purge-age">${AGES.map((a) => option(String(a.seconds), a.label, '3600'))}</select></div>
        <div><button type="submit" class="danger" id="purge-button">Purge</button></div>
      </form>
      <div id="purge-result"></div>`,
  );
  on($('#saga-filter', target), 'submit', (event) => {
    event.preventDefault();
    const chosen = $('#saga-status', target).value;
    location.hash = `#/admin/sagas${chosen ? `?status=${chosen}` : ''}`;
  });
  on($('#purge', target), 'submit', async (event) => {
    event.preventDefault();
    const which = $('#purge-status', target).value;
    const age = AGES.find((a) => String(a.seconds) === $('#purge-age', target).value);
    const result = $('#purge-result', target);
    const answer = await askThenSend(result, $('#purge-button', target), {
      question: `Delete every ${SAGA_STATUS[which].toLowerCase()} saga ${age.label}? This cannot be undone.`,
      yes: 'Yes, purge',
      no: 'Keep them',
      kept: 'Nothing was purged.',
      send: () => api('DELETE', `/api/ops/sagas?status=${which}&older_than_seconds=${age.seconds}`),
    });
    if (!answer) return;
    // Drawn again, so the counts and the list no longer show what was purged.
    await sagasView(target, { params });
    notice(
      $('#purge-result', target),
      'ok',
      `Purged ${plural(answer.body.purged, `${SAGA_STATUS[which].toLowerCase()} saga`)} ${age.label}.`,
      { focus: true },
    );
  });
  const stats = await api('GET', '/api/ops/stats');
  const counts = stats.ok ? stats.body.sagas : undefined;
  if (counts)
    render($('#saga-counts', target), `Sagas: ${STATUSES.map((s) => `${counts[s] ?? 0} ${SAGA_STATUS[s].toLowerCase()}`).join(', ')}.`);
  const loadMore = filteredRows(target, 'sagas', {
    url: `/api/ops/sagas${status ? `?status=${status}` : ''}`,
    row,
    columns: 5,
    total: counts ? (status ? counts[status] : STATUSES.reduce((sum, s) => sum + (counts[s] ?? 0), 0)) : undefined,
  });
  await loadMore();
}
