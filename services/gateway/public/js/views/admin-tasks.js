// Tasks: counts by type and status, the list a page at a time with filters kept in the
// address (so they survive a reload), readable times, and Retry on failed ones.

import { api } from '../api.js';
import { durationText, momentText } from '../dates.js';
import { $, busy, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { explain, TASK_STATUS, TASK_TYPE } from '../words.js';
import { filteredRows } from './paged.js';

const TYPES = ['ingest', 'batch', 'workflow'];
const STATUSES = ['pending', 'running', 'completed', 'failed'];

function subject(t) {
  const d = t.details ?? {};
  if (t.type === 'workflow') return d.student?.name ? `${d.student.name} (${t.student_id})` : (t.student_id ?? '');
  if (t.type === 'batch') return `Batch ${d.index ?? ''} of ${t.entity_count} students`;
  return d.source === 'request'
    ? `A list of ${d.received ?? '?'} students`
    : `The student-information source${d.received !== undefined ? ` (${d.received} read)` : ''}`;
}

function row(t) {
  const notes = [...(t.details?.errors ?? []), ...(t.details?.warnings ?? []), ...(t.details?.error ? [t.details.error] : [])];
  return html`<tr data-task="${t.id}">
    <td>${TASK_TYPE[t.type]}</td>
    <td>${TASK_STATUS[t.status]}${t.stuck ? html` <span class="badge stuck">stuck</span>` : ''}</td>
    <th scope="row">${subject(t)}</th>
    <td>${momentText(t.created_at)}</td>
    <td>${durationText(t.started_at, t.finished_at)}</td>
    <td>${notes.join('; ')}</td>
    <td>${t.status === 'failed' ? html`<button type="button" class="secondary" data-retry="${t.id}" aria-label="Retry ${TASK_TYPE[t.type]} ${subject(t)}">Retry</button>` : ''}</td>
  </tr>`;
}

/** How many tasks the filter matches, from the summary (undefined when it cannot tell). */
function matching(summary, filter) {
  if (filter.stuck) return filter.type || filter.status ? undefined : summary.stuck;
  const types = filter.type ? [filter.type] : TYPES;
  return types.reduce((sum, type) => sum + (filter.status ? summary[type][filter.status] : summary[type].total), 0);
}

export async function tasksView(target, { params }) {
  const filter = { type: params.get('type') ?? '', status: params.get('status') ?? '', stuck: params.get('stuck') === 'true' };
  const option = (value, label, current) => html`<option value="${value}" ${value === current ? 'selected' : ''}>${label}</option>`;
  render(
    target,
    html`<div id="task-counts"></div>
      <form id="task-filter" class="row">
        <div><label for="task-type">Type</label><select id="task-type" name="type">${option('', 'Any type', filter.type)}${TYPES.map((t) => option(t, TASK_TYPE[t], filter.type))}</select></div>
        <div><label for="task-status">Status</label><select id="task-status" name="status">${option('', 'Any status', filter.status)}${STATUSES.map((s) => option(s, TASK_STATUS[s], filter.status))}</select></div>
        <div class="check"><input type="checkbox" id="task-stuck" name="stuck" ${filter.stuck ? 'checked' : ''}><label for="task-stuck">Only stuck</label></div>
        <div><button type="submit" class="secondary">Show</button></div>
      </form>
      <p id="tasks-shown" role="status"></p><div id="tasks-result"></div>
      <div class="table-wrap" role="region" aria-label="Tasks" tabindex="0"><table>
        <thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">What</th><th scope="col">Created</th>
          <th scope="col">Took</th><th scope="col">Notes</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody id="tasks"></tbody></table></div>
      <div id="tasks-more"></div>`,
  );
  on($('#task-filter', target), 'submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const query = new URLSearchParams([...form].filter(([, v]) => v).map(([k, v]) => [k, k === 'stuck' ? 'true' : v]));
    location.hash = `#/admin/tasks${query.size ? `?${query}` : ''}`;
  });
  const query = new URLSearchParams(
    Object.entries(filter)
      .filter(([, v]) => v)
      .map(([k, v]) => [k, String(v)]),
  );
  const summary = await api('GET', '/api/admin/tasks/summary');
  if (summary.ok) {
    const s = summary.body;
    render(
      $('#task-counts', target),
      html`<div class="table-wrap" role="region" aria-label="Task counts" tabindex="0"><table class="counts"><caption>All tasks</caption>
        <thead><tr><th scope="col">Type</th>${STATUSES.map((st) => html`<th scope="col" class="number">${TASK_STATUS[st]}</th>`)}<th scope="col" class="number">Total</th></tr></thead>
        <tbody>${TYPES.map((t) => html`<tr><th scope="row">${TASK_TYPE[t]}</th>${STATUSES.map((st) => html`<td class="number">${s[t][st]}</td>`)}<td class="number">${s[t].total}</td></tr>`)}</tbody>
      </table></div><p>Stuck: ${s.stuck}</p>`,
    );
  }
  const loadMore = filteredRows(target, 'tasks', {
    url: `/api/admin/tasks${query.size ? `?${query}` : ''}`,
    row,
    columns: 7,
    total: summary.ok ? matching(summary.body, filter) : undefined,
  });
  on(target, 'click', async (event) => {
    const retry = event.target.closest('[data-retry]');
    if (!retry) return;
    busy(retry, true);
    const answer = await api('POST', `/api/admin/tasks/${retry.dataset.retry}/retry`);
    if (!answer.ok) {
      busy(retry, false);
      return notice($('#tasks-result', target), 'bad', explain(answer), { focus: true });
    }
    notice($('#tasks-result', target), 'ok', 'Running it again; what had succeeded is found, not redone.', { focus: true });
    retry.remove();
  });
  await loadMore();
}
