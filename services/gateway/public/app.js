// Cupo's web UI: plain ES modules, no framework, no CDN. Every action calls the public API
// (openapi.yaml) with the signed-in user's token; long-running things show their progress.
const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const session = () => JSON.parse(sessionStorage.getItem('cupo.session') || 'null');

const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown when the user has moved to another page while a request was out: its view stops. */
class LeftPage extends Error {}
let pageId = 0;

async function api(method, path, body) {
  const startedOn = pageId;
  const headers = { 'content-type': 'application/json' };
  const s = session();
  if (s) headers.authorization = `Bearer ${s.token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  // A view still loading when the user moved on must not paint over the new page.
  if (startedOn !== pageId) throw new LeftPage();
  let data;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = text; }
  // Lists come a page at a time; the next page is named in `Link: <…>; rel="next"`.
  const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') || '')?.[1];
  return { status: response.status, ok: response.ok, body: data, next };
}

/** A whole list, page after page (at most `maxPages` of 200): for views that show all of it. */
async function apiAll(path, maxPages = 25) {
  let response = await api('GET', `${path}${path.includes('?') ? '&' : '?'}limit=200`);
  const items = [];
  for (let pages = 1; response.ok; pages++) {
    items.push(...response.body);
    if (!response.next || pages >= maxPages) break;
    response = await api('GET', response.next);
  }
  return response.ok ? { ...response, body: items } : response;
}

/** A problem+json answer as a sentence: what happened, and what to do about it. */
function explain(response) {
  const p = response.body || {};
  const advice = {
    401: 'Sign in again.',
    403: 'Your role cannot do this.',
    409: 'Someone else got there first; the figures below are fresh.',
    503: 'A part of the system is busy or down; try again in a moment.',
    504: 'The system took too long to answer; try again.',
  }[response.status] || '';
  const fields = (p.errors || []).map((e) => `${e.path}: ${e.message}`).join('; ');
  return `${p.detail || p.title || `Error ${response.status}`}${fields ? ` (${fields})` : ''}. ${advice}`.trim();
}

function notice(target, kind, text) {
  target.innerHTML = `<div class="notice ${kind}" role="${kind === 'bad' ? 'alert' : 'status'}">${esc(text)}</div>`;
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute('aria-busy', String(on));
}

function setStatus(text) {
  statusLine.textContent = text;
}

// --- Sign in ---------------------------------------------------------------------------

function signInView() {
  const s = session();
  main.innerHTML = `
    <h2>Sign in (development)</h2>
    <p>Pick who you are. The token comes from the gateway's development sign-in, which is off unless enabled.</p>
    <form id="signin">
      <label for="sub">User id</label>
      <input id="sub" name="sub" required value="${esc(s?.sub || 'guest-1')}" autocomplete="username">
      <label for="role">Role</label>
      <select id="role" name="role">
        ${['guest', 'student', 'admin'].map((r) => `<option ${s?.role === r ? 'selected' : ''}>${r}</option>`).join('')}
      </select>
      <div><button type="submit">Sign in</button></div>
    </form>
    <div id="signin-result"></div>`;
  document.getElementById('signin').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const response = await api('POST', '/api/dev/token', { sub: form.get('sub'), role: form.get('role') });
    if (!response.ok) return notice(document.getElementById('signin-result'), 'bad', explain(response));
    sessionStorage.setItem('cupo.session', JSON.stringify(response.body));
    renderWho();
    location.hash = response.body.role === 'student' ? '#/sections' : response.body.role === 'admin' ? '#/admin' : '#/rooms';
  });
}

function renderWho() {
  const s = session();
  document.getElementById('whoami').textContent = s ? `${s.sub} (${s.role})` : 'Sign in';
}

// --- Rooms and bookings ------------------------------------------------------------------

async function roomsView() {
  main.innerHTML = '<h2>Rooms</h2><p>Loading rooms…</p>';
  const rooms = await apiAll('/api/rooms');
  if (!rooms.ok) return notice(main, 'bad', explain(rooms));
  main.innerHTML = `
    <h2>Rooms</h2>
    <label for="room">Room</label>
    <select id="room">${rooms.body.map((r) => `<option value="${r.id}">${esc(r.name)} — ${esc(r.type)} (${r.total_quantity} units)</option>`).join('')}</select>
    <h3>Nightly availability (next 30 nights)</h3>
    <div id="calendar" class="calendar" aria-live="polite"></div>
    <form id="book" class="row">
      <div><label for="check_in">Check-in</label><input type="date" id="check_in" required value="${day(1)}" min="${day(0)}"></div>
      <div><label for="check_out">Check-out</label><input type="date" id="check_out" required value="${day(2)}" min="${day(1)}"></div>
      <div><button type="submit" id="book-button">Book</button></div>
    </form>
    <div id="book-result"></div>`;
  const select = document.getElementById('room');
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  if (params.get('room')) select.value = params.get('room');
  const refresh = async () => {
    const calendar = document.getElementById('calendar');
    const response = await api('GET', `/api/rooms/${select.value}/availability?from=${day(0)}&to=${day(30)}`);
    if (!response.ok) return notice(calendar, 'bad', explain(response));
    calendar.innerHTML = response.body
      .map((n) => `<div class="${n.available ? '' : 'none'}" data-date="${n.date}"><strong>${n.date.slice(5)}</strong><br>${n.available}/${n.total} free</div>`)
      .join('');
  };
  select.addEventListener('change', refresh);
  await refresh();
  document.getElementById('book').addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = document.getElementById('book-button');
    const result = document.getElementById('book-result');
    if (!session()) return notice(result, 'bad', 'Sign in to book.');
    busy(button, true);
    notice(result, '', 'Booking…');
    const response = await api('POST', '/api/bookings', {
      room_id: Number(select.value),
      check_in: document.getElementById('check_in').value,
      check_out: document.getElementById('check_out').value,
    });
    busy(button, false);
    if (response.status === 201) notice(result, 'ok', `Booked: ${response.body.nights} night(s), booking ${response.body.id}.`);
    else if (response.status === 409) notice(result, 'bad', `Not available: someone else just took it. ${explain(response)}`);
    else notice(result, 'bad', explain(response));
    await refresh();
  });
}

async function bookingsView() {
  main.innerHTML = '<h2>My bookings</h2><p>Loading…</p>';
  const response = await apiAll('/api/bookings');
  if (!response.ok) return notice(main, 'bad', explain(response));
  main.innerHTML = `<h2>My bookings</h2><div id="bookings-result"></div>
    <table><thead><tr><th>Room</th><th>Stay</th><th>Status</th><th></th></tr></thead><tbody>
    ${response.body.map((b) => `<tr><td>${b.room_id}</td><td>${b.check_in} → ${b.check_out}</td><td>${b.status}</td>
      <td>${b.status === 'confirmed' ? `<button class="secondary" data-cancel="${b.id}">Cancel</button>` : ''}</td></tr>`).join('') || '<tr><td colspan="4">No bookings yet.</td></tr>'}
    </tbody></table>`;
  main.querySelectorAll('[data-cancel]').forEach((button) =>
    button.addEventListener('click', async () => {
      busy(button, true);
      const cancelled = await api('POST', `/api/bookings/${button.dataset.cancel}/cancel`);
      if (!cancelled.ok) return notice(document.getElementById('bookings-result'), 'bad', explain(cancelled));
      await bookingsView();
      notice(document.getElementById('bookings-result'), 'ok', 'Cancelled: the nights are free again.');
    }),
  );
}

// --- Enrollment ----------------------------------------------------------------------------

const scheduleText = (schedule) => schedule.map((m) => `${m.day} ${m.start}–${m.end}`).join(', ') || '—';

async function sectionsView() {
  main.innerHTML = '<h2>Enroll</h2><p>Loading sections…</p>';
  const terms = await apiAll('/api/terms');
  if (!terms.ok) return notice(main, 'bad', explain(terms));
  const open = terms.body.filter((t) => t.open);
  main.innerHTML = `
    <h2>Enroll</h2>
    <label for="term">Term</label>
    <select id="term">${open.map((t) => `<option value="${esc(t.code)}">${esc(t.name)} (${esc(t.code)})</option>`).join('')}</select>
    <form id="enroll">
      <table><caption class="skip">Sections</caption>
        <thead><tr><th scope="col">Choose</th><th scope="col">Section</th><th scope="col">Course</th><th scope="col">Seats left</th><th scope="col">Schedule</th></tr></thead>
        <tbody id="sections"></tbody></table>
      <button type="submit" id="enroll-button">Submit request</button>
    </form>
    <div id="enroll-result" aria-live="polite"></div>`;
  const term = document.getElementById('term');
  const load = async () => {
    const sections = await apiAll(`/api/sections?term=${encodeURIComponent(term.value)}`);
    document.getElementById('sections').innerHTML = sections.body
      .map((s) => `<tr><td><input type="checkbox" id="s-${esc(s.code)}" value="${esc(s.code)}" aria-label="Choose ${esc(s.code)}"></td>
        <td><label for="s-${esc(s.code)}">${esc(s.code)}</label></td><td>${esc(s.course)}</td><td>${s.capacity - s.enrolled} of ${s.capacity}</td><td>${esc(scheduleText(s.schedule))}</td></tr>`)
      .join('');
  };
  term.addEventListener('change', load);
  await load();
  document.getElementById('enroll').addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = document.getElementById('enroll-result');
    const chosen = [...main.querySelectorAll('#sections input:checked')].map((i) => i.value);
    if (chosen.length === 0) return notice(result, 'bad', 'Choose at least one section.');
    const button = document.getElementById('enroll-button');
    busy(button, true);
    const accepted = await api('POST', '/api/enrollments', { term: term.value, sections: chosen });
    if (accepted.status !== 202) {
      busy(button, false);
      return notice(result, 'bad', explain(accepted));
    }
    const steps = { queued: 1, processing: 2, completed: 3, failed: 3 };
    for (let i = 0; i < 150; i++) {
      const view = await api('GET', accepted.body.status_url);
      if (!view.ok) { notice(result, 'bad', explain(view)); break; }
      const v = view.body;
      result.innerHTML = `<p>Request <code>${esc(v.request_id)}</code>: <strong id="request-status">${esc(v.status)}</strong></p>
        <progress max="3" value="${steps[v.status]}" aria-label="Request progress">${v.status}</progress>
        <ul>${v.sections.map((s) => `<li>${esc(s.code)}: ${esc(s.status)}${s.error ? ` — ${esc(s.error.detail)}` : ''}</li>`).join('')}</ul>
        ${v.status === 'failed' ? `<div class="notice bad" role="alert">${esc(v.error.detail)} (${esc(v.error.code)}). Nothing was kept: choose other sections and try again.</div>` : ''}
        ${v.status === 'completed' ? '<div class="notice ok" role="status">Enrolled in every section.</div>' : ''}`;
      if (v.status === 'completed' || v.status === 'failed') break;
      await sleep(200);
    }
    busy(button, false);
    await load();
  });
}

// --- Reports ---------------------------------------------------------------------------------

function reportsView() {
  main.innerHTML = `
    <h2>Reports</h2>
    <form id="report" class="row">
      <div><label for="type">Report</label>
        <select id="type"><option value="occupancy_report">Occupancy</option><option value="room_search">Room search</option>${session()?.role === 'admin' ? '<option value="section_roster">Section roster</option>' : ''}</select></div>
      <div><label for="from">From</label><input type="date" id="from" value="${day(1)}"></div>
      <div><label for="to">To</label><input type="date" id="to" value="${day(8)}"></div>
      <div><label for="section">Section (roster)</label><input id="section" value="G-ELC108-E"></div>
      <div><button type="submit" id="report-button">Run report</button></div>
    </form>
    <div id="report-result" aria-live="polite"></div>`;
  document.getElementById('report').addEventListener('submit', async (event) => {
    event.preventDefault();
    const type = document.getElementById('type').value;
    const params = type === 'section_roster'
      ? { section: document.getElementById('section').value }
      : { from: document.getElementById('from').value, to: document.getElementById('to').value };
    const result = document.getElementById('report-result');
    const button = document.getElementById('report-button');
    busy(button, true);
    const accepted = await api('POST', '/api/queries', { type, params });
    if (accepted.status !== 202) {
      busy(button, false);
      return notice(result, 'bad', explain(accepted));
    }
    for (let i = 0; i < 150; i++) {
      const view = await api('GET', accepted.body.status_url);
      const v = view.body;
      result.innerHTML = `<p>Report <strong id="report-status">${esc(v.status)}</strong></p><progress ${v.status === 'pending' ? '' : 'value="1" max="1"'} aria-label="Report progress"></progress>`;
      if (v.status === 'completed') result.innerHTML += `<pre>${esc(JSON.stringify(v.result, null, 2))}</pre>`;
      if (v.status === 'failed') result.innerHTML += `<div class="notice bad" role="alert">${esc(v.error.detail)}</div>`;
      if (v.status !== 'pending') break;
      await sleep(200);
    }
    busy(button, false);
  });
}

// --- Admin -----------------------------------------------------------------------------------

async function adminView() {
  main.innerHTML = `
    <h2>Admin</h2>
    <section aria-labelledby="ingest-h"><h3 id="ingest-h">Onboarding</h3>
      <button id="ingest">Ingest new students from the student-information source</button>
      <div id="ingest-progress" aria-live="polite"></div></section>
    <section aria-labelledby="config-h"><h3 id="config-h">Settings</h3><form id="config" class="row"></form><div id="config-result"></div></section>
    <section aria-labelledby="tasks-h"><h3 id="tasks-h">Tasks</h3>
      <div class="row">
        <div><label for="task-type">Type</label><select id="task-type"><option value="">any</option><option>ingest</option><option>batch</option><option>workflow</option></select></div>
        <div><label for="task-status">Status</label><select id="task-status"><option value="">any</option><option>pending</option><option>running</option><option>completed</option><option>failed</option></select></div>
        <div><label><input type="checkbox" id="task-stuck"> Only stuck</label></div>
        <div><button class="secondary" id="tasks-refresh">Show</button></div>
      </div><div id="tasks"></div></section>
    <section aria-labelledby="breakers-h"><h3 id="breakers-h">Circuit breakers</h3><div id="breakers"></div></section>
    <section aria-labelledby="sagas-h"><h3 id="sagas-h">Sagas</h3><div id="sagas"></div></section>`;
  await Promise.all([loadConfig(), loadTasks(), loadBreakers(), loadSagas()]);
  document.getElementById('tasks-refresh').addEventListener('click', loadTasks);
  document.getElementById('ingest').addEventListener('click', runIngest);
}

async function loadConfig() {
  const form = document.getElementById('config');
  const config = await api('GET', '/api/admin/config');
  if (!config.ok) return notice(form, 'bad', explain(config));
  const labels = { batch_size: 'Batch size', rate_limit_directory_per_min: 'Directory calls/min', rate_limit_lms_per_min: 'LMS calls/min', rate_limit_email_per_min: 'E-mails/min' };
  form.innerHTML = Object.entries(config.body)
    .map(([k, v]) => `<div><label for="cfg-${k}">${labels[k] || k}</label><input type="number" min="1" step="1" required id="cfg-${k}" name="${k}" value="${v}"></div>`)
    .join('') + '<div><button type="submit">Save settings</button></div>';
  form.onsubmit = async (event) => {
    event.preventDefault();
    const body = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, Number(v)]));
    const saved = await api('PUT', '/api/admin/config', body);
    notice(document.getElementById('config-result'), saved.ok ? 'ok' : 'bad', saved.ok ? 'Saved.' : explain(saved));
  };
}

function taskRow(t) {
  return `<tr><td>${esc(t.type)}</td><td>${esc(t.status)} ${t.stuck ? '<span class="badge stuck">stuck</span>' : ''}</td>
    <td>${esc(t.student_id || '')}</td><td>${t.entity_count}</td><td>${esc(t.started_at || '')}</td>
    <td>${esc((t.details.warnings || []).concat(t.details.errors || []).join('; '))}</td>
    <td>${t.status === 'failed' ? `<button class="secondary" data-retry="${esc(t.id)}" aria-label="Retry ${esc(t.type)} ${esc(t.student_id || t.id)}">Retry</button>` : ''}</td></tr>`;
}

async function loadTasks() {
  const query = new URLSearchParams();
  const type = document.getElementById('task-type').value;
  const status = document.getElementById('task-status').value;
  if (type) query.set('type', type);
  if (status) query.set('status', status);
  if (document.getElementById('task-stuck').checked) query.set('stuck', 'true');
  query.set('limit', '50');
  const tasks = await api('GET', `/api/admin/tasks?${query}`);
  const target = document.getElementById('tasks');
  if (!tasks.ok) return notice(target, 'bad', explain(tasks));
  target.innerHTML = `<table><thead><tr><th>Type</th><th>Status</th><th>Student</th><th>Entities</th><th>Started</th><th>Notes</th><th></th></tr></thead>
    <tbody>${tasks.body.map(taskRow).join('') || '<tr><td colspan="7">No tasks.</td></tr>'}</tbody></table>`;
  // A failed task runs again with fresh attempts (what had succeeded is found, not redone).
  target.querySelectorAll('[data-retry]').forEach((button) =>
    button.addEventListener('click', async () => {
      busy(button, true);
      const retried = await api('POST', `/api/admin/tasks/${button.dataset.retry}/retry`);
      if (!retried.ok) return notice(target, 'bad', explain(retried));
      await loadTasks();
    }),
  );
}

async function runIngest() {
  const button = document.getElementById('ingest');
  const target = document.getElementById('ingest-progress');
  busy(button, true);
  const accepted = await api('POST', '/api/admin/onboarding/ingest', {});
  if (accepted.status !== 202) {
    busy(button, false);
    return notice(target, 'bad', explain(accepted));
  }
  const id = accepted.body.task_id;
  for (let i = 0; i < 600; i++) {
    const ingest = (await api('GET', `/api/admin/tasks/${id}`)).body;
    const batches = (await apiAll(`/api/admin/tasks?type=batch&parent_id=${id}`)).body || [];
    const done = batches.filter((b) => b.status === 'completed' || b.status === 'failed').length;
    const workflows = (await Promise.all(batches.map(async (b) => (await apiAll(`/api/admin/tasks?type=workflow&parent_id=${b.id}`)).body || []))).flat();
    const finished = workflows.filter((w) => w.status === 'completed' || w.status === 'failed');
    const failed = workflows.filter((w) => w.status === 'failed').length;
    const warned = finished.filter((w) => (w.details.warnings || []).length > 0).length;
    const ended = ingest.status === 'failed' || (ingest.status === 'completed' && done === batches.length);
    target.innerHTML = `<p>Ingest: <strong>${esc(ingest.status)}</strong>${ingest.details.new !== undefined ? ` — ${ingest.details.new} new of ${ingest.details.received}` : ''}</p>
      <p>Batches: <span id="batches-done">${done}</span> of ${batches.length} done</p>
      <progress max="${Math.max(1, batches.length)}" value="${done}" aria-label="Batches done"></progress>
      <p>Workflows: <span id="workflows-done">${finished.length}</span> of ${workflows.length} finished (${failed} failed, ${warned} with warnings)</p>
      <progress max="${Math.max(1, workflows.length)}" value="${finished.length}" aria-label="Workflows finished"></progress>
      ${ended ? `<div class="notice ${ingest.status === 'failed' ? 'bad' : 'ok'}" role="status" id="ingest-done">${ingest.status === 'failed' ? esc(ingest.details.error) : 'Onboarding finished.'}</div>` : ''}`;
    if (ended) break;
    await sleep(300);
  }
  busy(button, false);
  await loadTasks();
}

async function loadBreakers() {
  const target = document.getElementById('breakers');
  const report = await api('GET', '/api/ops/circuit-breakers');
  if (!report.ok) return notice(target, 'bad', explain(report));
  target.innerHTML = `<p>Overall: <strong>${esc(report.body.overall_health)}</strong></p><table><thead><tr><th>Breaker</th><th>State</th><th>Failures</th><th></th></tr></thead><tbody>
    ${Object.entries(report.body.circuit_breakers).map(([name, b]) => `<tr><td>${esc(name)}</td><td>${esc(b.state)}</td><td>${b.failure_count}</td>
      <td><button class="secondary" data-reset="${esc(name)}">Reset</button></td></tr>`).join('')}</tbody></table>`;
  target.querySelectorAll('[data-reset]').forEach((button) =>
    button.addEventListener('click', async () => {
      const reset = await api('POST', `/api/ops/circuit-breakers/${button.dataset.reset}/reset`);
      if (!reset.ok) return notice(target, 'bad', explain(reset));
      await loadBreakers();
    }),
  );
}

async function loadSagas() {
  const target = document.getElementById('sagas');
  const sagas = await api('GET', '/api/ops/sagas?limit=20');
  if (!sagas.ok) return notice(target, 'bad', explain(sagas));
  target.innerHTML = `<table><thead><tr><th>Saga</th><th>Status</th><th>Steps</th></tr></thead><tbody>
    ${sagas.body.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.status)}</td><td>${s.steps.map((st) => `${esc(st.name)}: ${esc(st.status)}`).join(', ')}</td></tr>`).join('') || '<tr><td colspan="3">No sagas.</td></tr>'}</tbody></table>`;
}

// --- Routing ---------------------------------------------------------------------------------

const views = { '#/signin': signInView, '#/rooms': roomsView, '#/bookings': bookingsView, '#/sections': sectionsView, '#/reports': reportsView, '#/admin': adminView };

async function route() {
  pageId += 1;
  const path = location.hash.split('?')[0] || '#/rooms';
  const view = views[path] || roomsView;
  document.querySelectorAll('nav a').forEach((a) => a.setAttribute('aria-current', a.getAttribute('href') === path ? 'page' : 'false'));
  if (!session() && path !== '#/signin' && path !== '#/rooms') return signInView();
  setStatus('');
  try {
    await view();
  } catch (error) {
    if (error instanceof LeftPage) return;
    notice(main, 'bad', `Something went wrong: ${error.message}. Reload the page.`);
  }
  main.focus();
}

window.addEventListener('hashchange', route);
// An action (a poll, a save) still running when the user left its page just stops.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof LeftPage) event.preventDefault();
});
renderWho();
route();
